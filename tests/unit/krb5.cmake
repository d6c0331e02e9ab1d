lethe_unit_test(test_krb5_types test_krb5_types.c)
lethe_unit_test(test_krb5_msgs test_krb5_msgs.c)
lethe_unit_test(test_krb5_mit test_krb5_mit.c)
