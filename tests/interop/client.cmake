# The client library and lethe-bench against MIT's krb5kdc.
lethe_interop_test(client_mit_kdc client_mit_kdc.sh
  $<TARGET_FILE:lethe-client> $<TARGET_FILE:lethe-bench>)
set_tests_properties(interop.client_mit_kdc PROPERTIES TIMEOUT 300)
