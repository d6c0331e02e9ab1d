lethe_interop_test(admin_cli admin_cli.sh $<TARGET_FILE:lethe-admin>)

# An MIT realm (kadmin.local, kdb5_util dump) imported by lethe-admin
# import-mit and served by lethe-kdc to MIT kinit and kvno.
if(TARGET lethe-kdc)
  lethe_interop_test(admin_import_mit admin_import_mit.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.admin_import_mit PROPERTIES TIMEOUT 300)
endif()
