# PacketCable key management codec (H3): kmp_tool writes a full exchange in
# both DOIs (real Kerberos parts, keyed HMACs); tshark must dissect it.
add_executable(kmp_tool kmp_tool.c)
target_link_libraries(kmp_tool PRIVATE lethe)
lethe_interop_test(kmp_tshark kmp_tshark.sh $<TARGET_FILE:kmp_tool>)
