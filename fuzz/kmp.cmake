# PacketCable key management codec .
lethe_fuzz_target(fuzz_kmp_msg fuzz_kmp_msg.c)

# The role engines' receive paths: server with a Wake Up out, client with an
# exchange pending; no decryption unless the nonce matches.
lethe_fuzz_target(fuzz_kmp_roles fuzz_kmp_roles.c)
