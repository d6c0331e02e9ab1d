/*
 * What the KDC's fuzz targets (fuzz_kdc_dispatch, fuzz_kpasswd) share: a
 * fixed clock, key bytes of a fixed pattern (so seeds stay valid), and
 * writing seed files. Define FUZZ_TARGET ("fuzz_x") before including.
 */
#ifndef LETHE_FUZZ_KDC_COMMON_H
#define LETHE_FUZZ_KDC_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/bytes.h"
#include "der/der.h"

#define NOW INT64_C(1700000000)

static inline void
die(const char *what)
{
	fprintf(stderr, FUZZ_TARGET ": %s\n", what);
	abort();
}

/* The KDC's clock (kdc_clock_fn): always NOW and a half. */
static inline void
fixed_clock(void *ctx, int64_t *sec, int32_t *usec)
{
	(void)ctx;
	*sec = NOW;
	*usec = 500000;
}

/* Key bytes of (seed, etype) into buf: a fixed pattern. */
static inline lbytes
pattern(uint8_t seed, int32_t etype, uint8_t *buf)
{
	size_t len = (etype == 17 || etype == 19) ? 16 : 32;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 13u + (uint32_t)etype + i);
	return lbytes_make(buf, len);
}

/* What w holds, in a heap buffer the caller frees; w is left empty. */
static inline lbytes
take(der_writer *w)
{
	uint8_t *p;
	size_t len;

	if (der_writer_take(w, &p, &len) != LETHE_OK)
		die("encoding failed");
	return lbytes_make(p, len);
}

/* Write b to dir/name. */
static inline void
write_seed(const char *dir, const char *name, lbytes b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0)
		die("cannot write a seed");
}

#endif
