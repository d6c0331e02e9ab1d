/* Helpers shared by the krb5 unit tests (header-only, static). */
#ifndef LETHE_TEST_KRB5_UTIL_H
#define LETHE_TEST_KRB5_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "krb5/krb5.h"

#define ARENA_BUDGET (1u << 20)
#define WRITER_MAX (1u << 20)

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define LB(s) LBYTES_LIT(s)

/* A decoder with a type-erased output, for the generic negative tests. */
typedef lethe_status (*any_decoder)(lethe_arena *a, const uint8_t *data, size_t len, void *out);

/* Large enough, and aligned, for any krb_* structure. */
typedef union any_out {
	krb_kdc_req kdc_req;
	krb_kdc_rep kdc_rep;
	krb_enc_kdc_rep_part enc_kdc_rep_part;
	krb_enc_ticket_part enc_ticket_part;
	krb_authenticator authenticator;
	krb_error error;
	krb_safe safe;
	max_align_t align;
} any_out;

static inline void
assert_lbytes_equal(lbytes got, lbytes want)
{
	assert_int_equal(got.len, want.len);
	if (want.len != 0)
		assert_memory_equal(got.data, want.data, want.len);
}

static inline void
assert_lbytes_str(lbytes got, const char *want)
{
	assert_lbytes_equal(got, lbytes_make(want, strlen(want)));
}

static inline void
assert_written(const der_writer *w, const uint8_t *want, size_t len)
{
	lbytes got = der_written(w);

	assert_int_equal(der_writer_status(w), LETHE_OK);
	if (got.len != len) {
		for (size_t i = 0; i < got.len; i++)
			fprintf(stderr, "%02x%s", got.data[i], (i % 16 == 15) ? "\n" : " ");
		fprintf(stderr, "\n");
	}
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, want, len);
}

/* Fresh heap copy of data[0..len) so that ASan catches any read past len. */
static inline uint8_t *
exact_copy(const uint8_t *data, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	assert_non_null(p);
	if (len)
		memcpy(p, data, len);
	return p;
}

/*
 * Decoding every proper prefix of a valid encoding must fail; the full
 * encoding must succeed; the encoding plus one byte must fail with
 * LETHE_ERR_DER_TRAILING.
 */
static inline void
check_truncations_and_trailing(any_decoder dec, const uint8_t *data, size_t len)
{
	lethe_arena a;
	any_out out;
	uint8_t *buf;

	lethe_arena_init(&a, ARENA_BUDGET);
	for (size_t n = 0; n < len; n++) {
		buf = exact_copy(data, n);
		assert_int_not_equal(dec(&a, buf, n, &out), LETHE_OK);
		free(buf);
		lethe_arena_reset(&a);
	}
	buf = exact_copy(data, len);
	assert_int_equal(dec(&a, buf, len, &out), LETHE_OK);
	free(buf);
	buf = malloc(len + 1);
	assert_non_null(buf);
	memcpy(buf, data, len);
	buf[len] = 0x00;
	assert_int_equal(dec(&a, buf, len + 1, &out), LETHE_ERR_DER_TRAILING);
	free(buf);
	lethe_arena_free(&a);
}

/* Every single-byte corruption must decode or fail cleanly (run under ASan). */
static inline void
check_mutations(any_decoder dec, const uint8_t *data, size_t len)
{
	static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	lethe_arena a;
	any_out out;
	uint8_t *buf = exact_copy(data, len);

	lethe_arena_init(&a, ARENA_BUDGET);
	for (size_t i = 0; i < len; i++) {
		uint8_t saved = buf[i];
		for (size_t v = 0; v < sizeof(values); v++) {
			buf[i] = values[v];
			(void)dec(&a, buf, len, &out);
			lethe_arena_reset(&a);
		}
		buf[i] = saved ^ 0x20;    /* flips constructed bit on a tag */
		(void)dec(&a, buf, len, &out);
		lethe_arena_reset(&a);
		buf[i] = saved;
	}
	free(buf);
	lethe_arena_free(&a);
}

/* Read LETHE_TEST_DATA/krb5/name into a fresh heap buffer. */
static inline uint8_t *
load_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("LETHE_TEST_DATA");
	char path[1024];
	FILE *f;
	uint8_t *buf;
	long size;

	assert_non_null(dir);
	assert_true(snprintf(path, sizeof(path), "%s/krb5/%s", dir, name) < (int)sizeof(path));
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size > 0);
	rewind(f);
	buf = malloc((size_t)size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

#endif
