# lethe-kdc against unmodified MIT Kerberos clients, in a realm made by lethe-admin.
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(kdc_mit_clients kdc_mit_clients.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.kdc_mit_clients PROPERTIES TIMEOUT 300)
endif()

# tshark decodes a capture of MIT clients talking to lethe-kdc.
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(kdc_tshark kdc_tshark.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.kdc_tshark PROPERTIES TIMEOUT 120)
endif()

# curl --negotiate against Apache mod_auth_gssapi with a keytab from lethe-admin.
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(kdc_apache kdc_apache.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.kdc_apache PROPERTIES TIMEOUT 120)
endif()

# Read-your-writes: every lethe-admin change is served by the very next MIT
# request (refresh_interval 60 s, so only the immediate path passes); an
# AS-REQ flood for unknown names costs no more KDC CPU than a known name's.
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(kdc_fresh kdc_fresh.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.kdc_fresh PROPERTIES TIMEOUT 600)
  lethe_interop_test(kdc_fresh_flood kdc_fresh_flood.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>)
  set_tests_properties(interop.kdc_fresh_flood PROPERTIES TIMEOUT 300)
  # The same on a PostgreSQL store shared by two KDCs: lethe-admin writes
  # through the URI, the client asks the KDC that only NOTIFY tells.
  lethe_interop_test(kdc_fresh_pg kdc_fresh.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> postgresql)
  set_tests_properties(interop.kdc_fresh_pg PROPERTIES TIMEOUT 900)
endif()

# The offline password-cracking attacks (AS-REQ as krbtgt or a service for a
# user, Kerberoasting with kvno) against lethe-kdc; MIT kinit -k still works.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET krb5_tool)
  lethe_interop_test(kdc_roast kdc_roast.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:krb5_tool>)
  set_tests_properties(interop.kdc_roast PROPERTIES TIMEOUT 120)
endif()

# The JDK's own Kerberos client, keytab reader (kvno past 255) and GSS
# acceptor against lethe-kdc.
find_program(LETHE_JAVA java)
if(TARGET lethe-kdc AND TARGET lethe-admin AND LETHE_JAVA)
  lethe_interop_test(java_interop java_interop.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>
    ${CMAKE_CURRENT_SOURCE_DIR}/JavaKerberos.java)
  set_tests_properties(interop.java_interop PROPERTIES TIMEOUT 600)
endif()

# Attacks on pre-authentication and ticket flags: an AS-REQ recorded on the
# path and sent again (KRB_AP_ERR_REPEAT), wrong passwords until lockout
# (KDC_ERR_CLIENT_REVOKED, then served again), and kinit -R keeping INITIAL.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET krb5_tool)
  lethe_interop_test(kdc_preauth_guard kdc_preauth_guard.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:krb5_tool>)
  set_tests_properties(interop.kdc_preauth_guard PROPERTIES TIMEOUT 180)
endif()

# Unauthenticated resource exhaustion, each flood with legitimate traffic
# beside it: garbage datagrams get no answer (MIT kinit over UDP still
# works); 600 half-framed TCP connections (MIT kinit over TCP still works);
# 200 idle registrar connections (lethe-agent once still registers); idle
# sockets on lethe-agent's KeyRequest port (the key request still lands).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  foreach(mode udp kdc_tcp registrar agent)
    lethe_interop_test(dos_${mode} dos.sh ${mode}
      $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
    set_tests_properties(interop.dos_${mode} PROPERTIES TIMEOUT 120)
  endforeach()
endif()

# One realm on three lethe-kdc sharing a real PostgreSQL (started by the
# script): a TGT from one KDC is good at the others, lethe-admin changes and
# agent registrations are served by all three (LISTEN/NOTIFY).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(store_pg_kdcs store_pg_kdcs.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.store_pg_kdcs PROPERTIES TIMEOUT 300)
  # lethe-admin migrate: an SQLite realm into an empty PostgreSQL database,
  # then served from there with the old passwords, keytabs and agent key.
  lethe_interop_test(store_pg_migrate store_pg_migrate.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.store_pg_migrate PROPERTIES TIMEOUT 300)
endif()

# PostgreSQL availability (real servers started by the scripts): an agent
# registering the same key with two KDCs of one store; the store down
# (pg_ctl stop -m immediate) while the KDCs answer, TRY_LATER, the agent's
# retry landing once it is back; kill -9 of a primary with a synchronous
# standby, promoted, under a stream of registrations (multi-host URI).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(store_pg_outage store_pg_outage.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>
    $<TARGET_FILE:reg_tool>)
  set_tests_properties(interop.store_pg_outage PROPERTIES TIMEOUT 400)
endif()
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(store_pg_failover store_pg_failover.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:reg_tool>)
  set_tests_properties(interop.store_pg_failover PROPERTIES TIMEOUT 600)
endif()

# Batched request lines: none lost when lethe-kdc is stopped under load.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-bench)
  lethe_interop_test(kdc_log_batch kdc_log_batch.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-bench>)
  set_tests_properties(interop.kdc_log_batch PROPERTIES TIMEOUT 600)
endif()

# The kpasswd service and password policy against MIT kpasswd and kinit, and
# MIT's set-password client (libkrb5 through dlopen).
add_executable(lethe-kpasswd-mit-tool kpasswd_mit_tool.c)
target_link_libraries(lethe-kpasswd-mit-tool PRIVATE ${CMAKE_DL_LIBS})
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(kdc_kpasswd kdc_kpasswd.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin>
    $<TARGET_FILE:lethe-kpasswd-mit-tool>)
  set_tests_properties(interop.kdc_kpasswd PROPERTIES TIMEOUT 300)
endif()
