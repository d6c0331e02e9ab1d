lethe_interop_test(admin_cli admin_cli.sh $<TARGET_FILE:lethe-admin>)
