# krb5_tool: a test helper that decodes, prints and re-encodes Kerberos
# messages with src/krb5, and writes sample encodings of each message type.
add_executable(krb5_tool krb5_tool.c)
target_link_libraries(krb5_tool PRIVATE lethe)

lethe_interop_test(krb5_mit_capture krb5_mit_capture.sh $<TARGET_FILE:krb5_tool>)
lethe_interop_test(krb5_tshark krb5_tshark.sh $<TARGET_FILE:krb5_tool>)
