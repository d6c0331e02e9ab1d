# lethe-agent against lethe-kdc's registrar, with MIT clients checking tickets.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(agent_kdc agent_kdc.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.agent_kdc PROPERTIES TIMEOUT 180)
endif()

# A service whose agent stopped: public-key tickets (liblethe acceptor), then
# none, then a fresh key; audit shows no long-term service key.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent AND TARGET lethe-client)
  lethe_interop_test(agent_pubkey agent_pubkey.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>
    $<TARGET_FILE:lethe-client>)
  set_tests_properties(interop.agent_pubkey PROPERTIES TIMEOUT 120)
endif()
