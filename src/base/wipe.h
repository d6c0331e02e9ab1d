/*
 * Wiping secrets. Every wipe of Lethe's own goes through lethe_wipe so that
 * sanitizer builds can check its bounds: OPENSSL_cleanse is assembly that
 * AddressSanitizer cannot see, so a wipe past the end of a buffer (ours or
 * OpenSSL's) would silently corrupt the heap.
 */
#ifndef LETHE_BASE_WIPE_H
#define LETHE_BASE_WIPE_H

#include <stddef.h>

/*
 * Zero p[0..n) in a way the compiler cannot remove. OPENSSL_cleanse in
 * ordinary builds; in LETHE_SANITIZE builds lethe_wipe_checked, so ASan
 * reports an out-of-bounds wipe. p may be NULL when n is 0.
 */
void lethe_wipe(void *p, size_t n);

/*
 * Zero p[0..n) with memset called through a volatile function pointer: not
 * optimised away, and the memset is the sanitizer's checked one. The
 * OPENSSL_cleanse interposer of fuzz and test binaries (cleanse_interpose.c)
 * calls it too.
 */
void lethe_wipe_checked(void *p, size_t n);

#endif
