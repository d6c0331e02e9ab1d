# lethe-bench's register, verify and kmp modes (src/bench/bench_modes.h):
# behaviour only, never timing. Paths are relative to this file so the
# list also works when included from elsewhere.
set(_bench_src ${CMAKE_CURRENT_LIST_DIR}/../../src/bench)
lethe_unit_test(test_bench_modes
  ${CMAKE_CURRENT_LIST_DIR}/test_bench_modes.c
  ${CMAKE_CURRENT_LIST_DIR}/reg_test_pki.c
  ${_bench_src}/bench_util.c ${_bench_src}/bench_hist.c ${_bench_src}/bench_ticket.c
  ${_bench_src}/bench_reg.c ${_bench_src}/bench_verify.c ${_bench_src}/bench_kmp.c)
set_tests_properties(unit.test_bench_modes PROPERTIES TIMEOUT 120)

# The acceptor's check of the KDC signature inside public-key tickets
# (made with the verify mode's fixture).
lethe_unit_test(test_acc_pubkey_sig
  ${CMAKE_CURRENT_LIST_DIR}/test_acc_pubkey_sig.c
  ${_bench_src}/bench_util.c ${_bench_src}/bench_hist.c ${_bench_src}/bench_ticket.c
  ${_bench_src}/bench_reg.c ${_bench_src}/bench_verify.c ${_bench_src}/bench_kmp.c)
set_tests_properties(unit.test_acc_pubkey_sig PROPERTIES TIMEOUT 120)
