# Running Lethe as a service: systemd's sd_notify protocol (Type=notify units).
if(LETHE_SYSTEMD AND TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(kdc_notify kdc_notify.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.kdc_notify PROPERTIES TIMEOUT 180)
endif()

if(LETHE_SYSTEMD AND TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(agent_notify agent_notify.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.agent_notify PROPERTIES TIMEOUT 180)
endif()
