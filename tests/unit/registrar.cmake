# The registration protocol library (src/registrar/registrar.h).
# reg_test_pki.c builds a test PKI at run time; the registrar service
# tests link it too.
lethe_unit_test(test_registrar_msg test_registrar_msg.c)
lethe_unit_test(test_registrar_cms test_registrar_cms.c reg_test_pki.c)
lethe_unit_test(test_registrar_net test_registrar_net.c)

# The registrar service (src/registrar/service.h) against a real temporary
# store: every refusal code leaves the store unchanged; listener; key requests.
lethe_unit_test(test_reg_service test_reg_service.c)
set_tests_properties(unit.test_reg_service PROPERTIES TIMEOUT 120)
