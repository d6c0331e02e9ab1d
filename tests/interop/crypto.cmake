# src/crypto against MIT Kerberos: string-to-key compared with ktutil, and
# encryption, checksums, PRF and CF2 compared with MIT's libk5crypto.
add_executable(lethe-s2k-tool s2k_tool.c)
target_link_libraries(lethe-s2k-tool PRIVATE lethe)
lethe_interop_test(crypto_ktutil crypto_ktutil.sh $<TARGET_FILE:lethe-s2k-tool>)

add_executable(lethe-crypto-mit-check crypto_mit_tool.c)
target_link_libraries(lethe-crypto-mit-check PRIVATE lethe ${CMAKE_DL_LIBS})
lethe_interop_test(crypto_mit_lib crypto_mit_lib.sh
  $<TARGET_FILE:lethe-crypto-mit-check>)
