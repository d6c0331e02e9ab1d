lethe_unit_test(test_store test_store.c)
