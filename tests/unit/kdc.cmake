# The KDC core: times and flags policy, snapshot, AS, TGS, the request handler.
# test_kdc_fixture.c holds the in-memory realm and the client side they share.
lethe_unit_test(test_kdc_ticket test_kdc_ticket.c)
lethe_unit_test(test_kdc_snapshot test_kdc_snapshot.c test_kdc_fixture.c)
lethe_unit_test(test_kdc_as test_kdc_as.c test_kdc_fixture.c)
lethe_unit_test(test_kdc_tgs test_kdc_tgs.c test_kdc_fixture.c)
lethe_unit_test(test_kdc_tkeys test_kdc_tkeys.c test_kdc_fixture.c)
lethe_unit_test(test_kdc_pubkey test_kdc_pubkey.c test_kdc_fixture.c reg_test_pki.c)
lethe_unit_test(test_kdc_guard test_kdc_guard.c test_kdc_fixture.c)
lethe_unit_test(test_kdc_dispatch test_kdc_dispatch.c test_kdc_fixture.c)
lethe_unit_test(test_kdc_kpasswd test_kdc_kpasswd.c)
set_tests_properties(unit.test_kdc_dispatch PROPERTIES TIMEOUT 300)
