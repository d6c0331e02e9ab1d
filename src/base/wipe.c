/* lethe_wipe: the one function through which Lethe wipes secrets. */
#include "base/wipe.h"

#include <string.h>

#include <openssl/crypto.h>

/* volatile: the compiler may not assume the target and drop a "dead" store. */
static void *(*volatile wipe_memset)(void *, int, size_t) = memset;

void
lethe_wipe_checked(void *p, size_t n)
{
	if (p != NULL && n > 0)
		wipe_memset(p, 0, n);
}

void
lethe_wipe(void *p, size_t n)
{
#ifdef LETHE_SANITIZE
	lethe_wipe_checked(p, n);
#else
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
#endif
}
