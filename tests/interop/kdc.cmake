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
endif()

# The offline password-cracking attacks (AS-REQ as krbtgt or a service for a
# user, Kerberoasting with kvno) against lethe-kdc; MIT kinit -k still works.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET krb5_tool)
  lethe_interop_test(kdc_roast kdc_roast.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:krb5_tool>)
  set_tests_properties(interop.kdc_roast PROPERTIES TIMEOUT 120)
endif()

# One realm on three lethe-kdc sharing a real PostgreSQL (started by the
# script): a TGT from one KDC is good at the others, lethe-admin changes and
# agent registrations are served by all three (LISTEN/NOTIFY).
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(store_pg_kdcs store_pg_kdcs.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>)
  set_tests_properties(interop.store_pg_kdcs PROPERTIES TIMEOUT 300)
endif()
