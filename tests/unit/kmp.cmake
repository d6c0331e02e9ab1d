# PacketCable key management: codec and key derivation .
lethe_unit_test(test_kmp_msg test_kmp_msg.c)
lethe_unit_test(test_kmp_kdf test_kmp_kdf.c)

# The roles: nonce table, server and client engines, the SA test channel.
lethe_unit_test(test_kmp_sa test_kmp_sa.c test_kmp_roles_fixture.c)
lethe_unit_test(test_kmp_server test_kmp_server.c test_kmp_roles_fixture.c)
lethe_unit_test(test_kmp_client test_kmp_client.c test_kmp_roles_fixture.c)
lethe_unit_test(test_kmp_reestablish test_kmp_reestablish.c test_kmp_roles_fixture.c)

# An IPsec SA as `ip xfrm state add` words: exact text per suite, the 0600 file.
lethe_unit_test(test_kmp_xfrm test_kmp_xfrm.c)
