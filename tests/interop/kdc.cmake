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

# The offline password-cracking attacks (AS-REQ as krbtgt or a service for a
# user, Kerberoasting with kvno) against lethe-kdc; MIT kinit -k still works.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET krb5_tool)
  lethe_interop_test(kdc_roast kdc_roast.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:krb5_tool>)
  set_tests_properties(interop.kdc_roast PROPERTIES TIMEOUT 120)
endif()
