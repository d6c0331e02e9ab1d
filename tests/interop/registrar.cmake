# The registrar of lethe-kdc end to end: reg_tool registers a temporary key
# with certificates from lethe-admin, MIT kvno gets a ticket under it.
add_executable(reg_tool reg_tool.c cms_wrap_pad.c)
target_link_libraries(reg_tool PRIVATE lethe)

if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(registrar_kdc registrar_kdc.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:reg_tool>)
  set_tests_properties(interop.registrar_kdc PROPERTIES TIMEOUT 180)
endif()

# Attacks on the binding of registrations: a relayed reply to another
# request, garbage frames, callbacks on other hosts, host-name spellings and
# the cap per key, SAN rules of the wrong type.
if(TARGET lethe-kdc AND TARGET lethe-admin AND TARGET lethe-agent)
  lethe_interop_test(registrar_bind registrar_bind.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:lethe-agent>
    $<TARGET_FILE:reg_tool>)
  set_tests_properties(interop.registrar_bind PROPERTIES TIMEOUT 180)
endif()

# The sealed-CMS allow-list from outside: a padded key wrap is refused unopened.
if(TARGET lethe-kdc AND TARGET lethe-admin)
  lethe_interop_test(registrar_cms_allow registrar_cms_allow.sh
    $<TARGET_FILE:lethe-kdc> $<TARGET_FILE:lethe-admin> $<TARGET_FILE:reg_tool>)
  set_tests_properties(interop.registrar_cms_allow PROPERTIES TIMEOUT 120)
endif()
