# src/crypto: decryption and checksum verification of hostile bytes.
lethe_fuzz_target(fuzz_crypto_decrypt fuzz_crypto_decrypt.c)
