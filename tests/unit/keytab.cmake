lethe_unit_test(test_keytab test_keytab.c)
