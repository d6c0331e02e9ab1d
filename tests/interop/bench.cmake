# lethe-bench's register, verify and kmp modes, a few requests each
# (bench/reg.sh sets up a realm and lethe-kdc's registrar).
if(TARGET lethe-bench AND TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(bench_smoke bench_smoke.sh $<TARGET_FILE:lethe-bench>)
  set_tests_properties(interop.bench_smoke PROPERTIES TIMEOUT 600)
endif()

# lethe-bench --shape mit sends what MIT kinit sends (captured and compared
# by tshark), against MIT's krb5kdc and lethe-kdc.
if(TARGET lethe-bench AND TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(bench_shape bench_shape.sh $<TARGET_FILE:lethe-bench>
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.bench_shape PROPERTIES TIMEOUT 300)
endif()
