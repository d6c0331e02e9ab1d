# PacketCable key management codec: kmp_tool writes a full exchange in
# both DOIs (real Kerberos parts, keyed HMACs); tshark must dissect it.
add_executable(kmp_tool kmp_tool.c)
target_link_libraries(kmp_tool PRIVATE lethe)
lethe_interop_test(kmp_tshark kmp_tshark.sh $<TARGET_FILE:kmp_tool>)


# lethe-kmp server and client against a real lethe-kdc, both DOIs, both initiators.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-kmp)
  lethe_interop_test(kmp_exchange kmp_exchange.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-kmp>)
  set_tests_properties(interop.kmp_exchange PROPERTIES TIMEOUT 180)
endif()

# The kmp server's key rotated by lethe-agent while lethe-kmp servers run;
# exchanges in both DOIs and both directions before and after; re-establish.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent AND TARGET lethe-kmp)
  lethe_interop_test(kmp_rotation kmp_rotation.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>
    $<TARGET_FILE:lethe-kmp>)
  set_tests_properties(interop.kmp_rotation PROPERTIES TIMEOUT 180)
endif()

# A live capture of lethe-kmp exchanges decodes in tshark (pktc, kerberos).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-kmp)
  lethe_interop_test(kmp_capture kmp_capture.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-kmp>)
  set_tests_properties(interop.kmp_capture PROPERTIES TIMEOUT 120)
endif()

# lethe-kmp attacked by an independent peer (kmp_peer.py): spoofed Wake Ups
# to a live client; a lost SA Recovered; a replayed and random-nonce AP
# Request flood to a live server (nonce drops, zero decryptions).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-kmp)
  lethe_interop_test(kmp_attack kmp_attack.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-kmp>)
  set_tests_properties(interop.kmp_attack PROPERTIES TIMEOUT 180)
endif()

# A kmp server whose agent stopped past use_until: public-key tickets from
# the KDC, refused without --cert/--key, opened with the agent's identity;
# acc_cms_tool's ticket sealed with a padded key wrap refused unopened.
add_executable(acc_cms_tool acc_cms_tool.c cms_wrap_pad.c)
target_link_libraries(acc_cms_tool PRIVATE lethe)
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent AND TARGET lethe-kmp)
  lethe_interop_test(kmp_pubkey kmp_pubkey.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>
    $<TARGET_FILE:lethe-kmp> $<TARGET_FILE:acc_cms_tool>)
  set_tests_properties(interop.kmp_pubkey PROPERTIES TIMEOUT 120)
endif()

# --xfrm-out of a live server and client for every IPsec suite: mode 0600,
# ip-xfrm names and key lengths, one side's in line is the other's out line.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-kmp)
  lethe_interop_test(kmp_xfrm kmp_xfrm.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-kmp>)
  set_tests_properties(interop.kmp_xfrm PROPERTIES TIMEOUT 120)
endif()

# lethe-kmp -c: a configuration file for both roles, flags over it.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-kmp)
  lethe_interop_test(kmp_config kmp_config.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-kmp>)
  set_tests_properties(interop.kmp_config PROPERTIES TIMEOUT 180)
endif()
