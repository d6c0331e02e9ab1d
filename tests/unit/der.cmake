lethe_unit_test(test_der test_der.c)
