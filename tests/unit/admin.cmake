# lethe-admin's helpers, compiled into the test (they are not in liblethe).
lethe_unit_test(test_admin test_admin.c
  ${PROJECT_SOURCE_DIR}/src/admin/util.c ${PROJECT_SOURCE_DIR}/src/admin/keys.c)
