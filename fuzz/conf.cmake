lethe_fuzz_target(fuzz_conf ${CMAKE_CURRENT_LIST_DIR}/fuzz_conf.c)
