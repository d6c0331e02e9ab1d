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

# Issue 4 across rotations: gss-client -> gss-server and curl --negotiate ->
# Apache reading the keytab of `lethe-agent run` (rotation 4 s), and one agent
# registering with two lethe-kdc, each with its own store.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  foreach(t agent_rotation agent_apache agent_two_kdcs)
    lethe_interop_test(${t} ${t}.sh
      $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
    set_tests_properties(interop.${t} PROPERTIES TIMEOUT 180)
  endforeach()
endif()

# Expired temporary keys leave the store: lethe-agent rotating every 2 s for
# 30 s, then lethe-admin audit shows no expired key and neither the .db nor
# the -wal file holds any of their sealed bytes.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(agent_purge agent_purge.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.agent_purge PROPERTIES TIMEOUT 240)
endif()

# One service rotated 1000 times by `lethe-agent once` (kvno past 255) while
# lethe-admin changes are served at once; MIT kvno, klist -k and kvno -k see
# the newest kvno in the agent's keytab (32-bit kvno trailer).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(agent_rotation_many agent_rotation_many.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.agent_rotation_many PROPERTIES TIMEOUT 1500)
endif()

# A KDC outage longer than the agent's overlap: once lethe-kdc returns, MIT
# kvno gets a ticket at once (the grace key past use_until, ending by its
# accept_until), the agent registers its new key within its urgent retry,
# and key_grace = no restores the refusal.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(agent_outage agent_outage.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.agent_outage PROPERTIES TIMEOUT 180)
endif()

# Key requests before the newest key's use_until ([registrar] keyreq_lead),
# the answer matched by the registrar, and lethe-admin request-key.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(agent_keyreq agent_keyreq.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.agent_keyreq PROPERTIES TIMEOUT 120)
endif()
