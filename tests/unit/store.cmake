lethe_unit_test(test_store test_store.c)

# The PostgreSQL backend against a real server the wrapper starts (skipped,
# exit 77, when none is installed).
add_executable(test_store_pg test_store_pg.c)
target_link_libraries(test_store_pg PRIVATE lethe PkgConfig::CMOCKA)
add_test(NAME unit.test_store_pg
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/store_pg_run.sh $<TARGET_FILE:test_store_pg>)
set_tests_properties(unit.test_store_pg PROPERTIES
  LABELS unit SKIP_RETURN_CODE 77 TIMEOUT 120
  ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=stdout")
lethe_unit_test(test_mit_dump test_mit_dump.c)
