# PacketCable key management codec (H3).
lethe_fuzz_target(fuzz_kmp_msg fuzz_kmp_msg.c)
