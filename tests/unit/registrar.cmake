# The registration protocol library (src/registrar/registrar.h).
# reg_test_pki.c builds a test PKI at run time; the registrar service
# tests link it too.
lethe_unit_test(test_registrar_msg test_registrar_msg.c)
lethe_unit_test(test_registrar_cms test_registrar_cms.c reg_test_pki.c)
lethe_unit_test(test_registrar_net test_registrar_net.c)

# H4: registrar service (src/registrar/service.h): reg_service, the
# listener and the key-request queue, against a real temporary store.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_reg_service.c)
  lethe_unit_test(test_reg_service test_reg_service.c)
  set_tests_properties(unit.test_reg_service PROPERTIES TIMEOUT 120)
endif()
