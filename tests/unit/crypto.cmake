# src/crypto: RFC vectors and API behaviour.
lethe_unit_test(test_crypto_vectors test_crypto_vectors.c)
lethe_unit_test(test_crypto_api test_crypto_api.c)
lethe_unit_test(test_crypto_random test_crypto_random.c)
