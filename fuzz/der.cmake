lethe_fuzz_target(fuzz_der fuzz_der.c)
