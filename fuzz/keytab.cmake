lethe_fuzz_target(fuzz_keytab fuzz_keytab.c)
