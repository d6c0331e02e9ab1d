# PacketCable key management: codec and key derivation (H3).
lethe_unit_test(test_kmp_msg test_kmp_msg.c)
lethe_unit_test(test_kmp_kdf test_kmp_kdf.c)
