# Logging, configuration and the KDC network loop.
lethe_unit_test(test_log ${CMAKE_CURRENT_LIST_DIR}/test_log.c)
lethe_unit_test(test_conf ${CMAKE_CURRENT_LIST_DIR}/test_conf.c)
lethe_unit_test(test_net ${CMAKE_CURRENT_LIST_DIR}/test_net.c)
set_tests_properties(unit.test_net PROPERTIES TIMEOUT 60)
