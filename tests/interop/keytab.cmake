# kt_tool: a test helper that reads and writes keytabs with src/keytab.
add_executable(kt_tool kt_tool.c)
target_link_libraries(kt_tool PRIVATE lethe)

lethe_interop_test(keytab_mit keytab_mit.sh $<TARGET_FILE:kt_tool>)
