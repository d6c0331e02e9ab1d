# PacketCable key management codec .
lethe_fuzz_target(fuzz_kmp_msg fuzz_kmp_msg.c)
