# The registration protocol library (src/registrar/registrar.h).
# reg_test_pki.c builds a test PKI at run time; the registrar service
# tests link it too.
lethe_unit_test(test_registrar_msg test_registrar_msg.c)
lethe_unit_test(test_registrar_cms test_registrar_cms.c reg_test_pki.c)
lethe_unit_test(test_registrar_net test_registrar_net.c)
# The sealed-CMS allow-list, and the fuzz finding it closes (the regression
# input lives in the fuzz corpus; the fuzz target's identity is shared).
# With the OPENSSL_cleanse interposer ASan sees OpenSSL's wipes here too.
lethe_unit_test(test_registrar_cms_allow test_registrar_cms_allow.c reg_test_pki.c)
target_link_libraries(test_registrar_cms_allow PRIVATE lethe_cleanse_interpose)
target_include_directories(test_registrar_cms_allow PRIVATE ${PROJECT_SOURCE_DIR}/fuzz)
target_compile_definitions(test_registrar_cms_allow PRIVATE
  FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/corpus")

# The registrar service (src/registrar/service.h) against a real temporary
# store: every refusal code leaves the store unchanged; listener; key requests.
lethe_unit_test(test_reg_service test_reg_service.c)
set_tests_properties(unit.test_reg_service PROPERTIES TIMEOUT 120)
