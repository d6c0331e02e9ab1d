/* Unit tests for src/keytab: principal strings, codec, model, atomic save. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keytab/keytab.h"

/* ---- helpers ---- */

static void
parse_princ(const char *text, kt_principal *p)
{
	assert_int_equal(kt_principal_parse(text, strlen(text), NULL, p),
	    LETHE_OK);
}

static void
assert_unparses_to(const kt_principal *p, const char *expected)
{
	char *s = NULL;

	assert_int_equal(kt_principal_unparse(p, &s), LETHE_OK);
	assert_string_equal(s, expected);
	free(s);
}

static void
assert_buf_equal(kt_buf b, const void *expected, size_t len)
{
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, expected, len);
}

/* Decode lowercase hex into out (out_len bytes); fails the test on bad input. */
static void
unhex(const char *hex, uint8_t *out, size_t out_len)
{
	assert_int_equal(strlen(hex), out_len * 2);
	for (size_t i = 0; i < out_len; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
add_entry(kt_keytab *kt, const char *princ, uint32_t kvno, int32_t enctype,
    uint32_t timestamp, const char *keyhex)
{
	kt_principal p;
	uint8_t key[KT_MAX_KEY_LEN];
	size_t key_len = strlen(keyhex) / 2;

	parse_princ(princ, &p);
	unhex(keyhex, key, key_len);
	assert_int_equal(kt_add(kt, &p, kvno, enctype, timestamp,
	    lbytes_make(key, key_len)), LETHE_OK);
	kt_principal_clear(&p);
}

/* Parse a copy of exactly len bytes, so ASan sees any read past the end. */
static lethe_status
parse_exact(const uint8_t *buf, size_t len, kt_keytab **out)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	lethe_status rc;

	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, buf, len);
	rc = kt_parse(len > 0 ? copy : NULL, len, out);
	free(copy);
	return rc;
}

static void
assert_parse_fails(const uint8_t *buf, size_t len, lethe_status expected)
{
	kt_keytab *kt = (kt_keytab *)&kt;     /* must be reset to NULL */

	assert_int_equal(parse_exact(buf, len, &kt), expected);
	assert_null(kt);
}

/* Several principals, kvnos and enctypes, each case once. */
static kt_keytab *
build_varied(void)
{
	kt_keytab *kt = NULL;

	assert_int_equal(kt_new(&kt), LETHE_OK);
	add_entry(kt, "host/server.example.test@EXAMPLE.TEST", 1, 17, 100,
	    "00112233445566778899aabbccddeeff");
	add_entry(kt, "host/server.example.test@EXAMPLE.TEST", 255, 18, 200,
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	add_entry(kt, "HTTP/web.example.test/extra@EXAMPLE.TEST", 256, 19, 300,
	    "ffeeddccbbaa99887766554433221100");
	add_entry(kt, "a\\/b\\@c/x@OTHER.TEST", 300, 20, 0xffffffffu,
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f");
	add_entry(kt, "alice@EXAMPLE.TEST", 0xffffffffu, -128, 0,
	    "0f0e0d0c0b0a09080706050403020100");
	return kt;
}

/* ---- principal strings ---- */

static void
test_principal_parse_plain(void **state)
{
	kt_principal p;
	(void)state;

	parse_princ("host/server.example.test@EXAMPLE.TEST", &p);
	assert_int_equal(p.ncomponents, 2);
	assert_buf_equal(p.components[0], "host", 4);
	assert_buf_equal(p.components[1], "server.example.test", 19);
	assert_buf_equal(p.realm, "EXAMPLE.TEST", 12);
	assert_int_equal(p.name_type, KT_NT_PRINCIPAL);
	assert_unparses_to(&p, "host/server.example.test@EXAMPLE.TEST");
	kt_principal_clear(&p);

	assert_int_equal(kt_principal_parse("alice", 5, "D.TEST", &p), LETHE_OK);
	assert_int_equal(p.ncomponents, 1);
	assert_buf_equal(p.realm, "D.TEST", 6);
	assert_unparses_to(&p, "alice@D.TEST");
	kt_principal_clear(&p);

	/* Empty components are allowed, as in MIT. */
	parse_princ("/@R", &p);
	assert_int_equal(p.ncomponents, 2);
	assert_int_equal(p.components[0].len, 0);
	assert_int_equal(p.components[1].len, 0);
	assert_unparses_to(&p, "/@R");
	kt_principal_clear(&p);
}

static void
test_principal_escapes(void **state)
{
	static const char text[] = "a\\/b\\@c\\\\d\\n\\t\\b\\0e\\q/x@R\\/E\\@";
	static const uint8_t comp0[] = { 'a', '/', 'b', '@', 'c', '\\', 'd',
	    '\n', '\t', '\b', '\0', 'e', 'q' };
	kt_principal p;
	(void)state;

	parse_princ(text, &p);
	assert_int_equal(p.ncomponents, 2);
	assert_buf_equal(p.components[0], comp0, sizeof(comp0));
	assert_buf_equal(p.components[1], "x", 1);
	assert_buf_equal(p.realm, "R/E@", 4);
	/* "\q" is just "q", so it unparses without the backslash. */
	assert_unparses_to(&p, "a\\/b\\@c\\\\d\\n\\t\\b\\0eq/x@R\\/E\\@");
	kt_principal_clear(&p);
}

static void
test_principal_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"a\\",          /* trailing backslash */
		"a@b@c",        /* two realms */
		"a@b/c",        /* separator in the realm */
		"a@",           /* empty realm */
		"alice",        /* no realm and no default */
	};
	kt_principal p;
	char many[3 * 40];
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kt_principal_parse(bad[i], strlen(bad[i]), NULL,
		    &p), LETHE_ERR_FORMAT);
		assert_null(p.components);
	}
	/* A raw NUL inside the text. */
	assert_int_equal(kt_principal_parse("a\0b@R", 5, NULL, &p),
	    LETHE_ERR_FORMAT);
	/* "\" followed by a raw NUL. */
	assert_int_equal(kt_principal_parse("a\\\0@R", 5, NULL, &p),
	    LETHE_ERR_FORMAT);
	/* 33 components: one over KT_MAX_COMPONENTS. */
	many[0] = '\0';
	for (int i = 0; i < 33; i++)
		strcat(many, i == 0 ? "c" : "/c");
	strcat(many, "@R");
	assert_int_equal(kt_principal_parse(many, strlen(many), NULL, &p),
	    LETHE_ERR_TOO_BIG);
	/* 32 are fine. */
	assert_int_equal(kt_principal_parse(many + 2, strlen(many + 2), NULL, &p),
	    LETHE_OK);
	assert_int_equal(p.ncomponents, 32);
	kt_principal_clear(&p);
}

static void
test_principal_eq(void **state)
{
	kt_principal a, b, c, d;
	(void)state;

	parse_princ("host/h@R", &a);
	parse_princ("host/h@R", &b);
	parse_princ("host/h@S", &c);
	parse_princ("host/h/i@R", &d);
	b.name_type = 3;                        /* name types are not compared */
	assert_true(kt_principal_eq(&a, &b));
	assert_false(kt_principal_eq(&a, &c));
	assert_false(kt_principal_eq(&a, &d));
	kt_principal_clear(&a);
	kt_principal_clear(&b);
	kt_principal_clear(&c);
	kt_principal_clear(&d);
}

/* ---- encoding ---- */

static void
test_serialize_exact_bytes(void **state)
{
	static const uint8_t expected[] = {
		0x05, 0x02,
		/* record 1: host/h@R.T, name type 3, kvno 5, enctype 17 */
		0x00, 0x00, 0x00, 0x31,
		0x00, 0x02,                             /* components */
		0x00, 0x03, 'R', '.', 'T',
		0x00, 0x04, 'h', 'o', 's', 't',
		0x00, 0x01, 'h',
		0x00, 0x00, 0x00, 0x03,                 /* name type */
		0x01, 0x02, 0x03, 0x04,                 /* timestamp */
		0x05,                                   /* 8-bit kvno */
		0x00, 0x11,                             /* enctype */
		0x00, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0x00, 0x00, 0x00, 0x05,                 /* 32-bit kvno */
		/* record 2: u@R.T, kvno 300, enctype -128 */
		0x00, 0x00, 0x00, 0x2b,
		0x00, 0x01,
		0x00, 0x03, 'R', '.', 'T',
		0x00, 0x01, 'u',
		0x00, 0x00, 0x00, 0x01,
		0xff, 0xff, 0xff, 0xfe,
		0x00,                                   /* 300 > 255: 0 */
		0xff, 0x80,
		0x00, 0x10, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
		0x00, 0x00, 0x01, 0x2c,
	};
	kt_keytab *kt = NULL, *back = NULL;
	kt_principal p;
	uint8_t *image = NULL;
	size_t image_len = 0;
	(void)state;

	assert_int_equal(kt_new(&kt), LETHE_OK);
	parse_princ("host/h@R.T", &p);
	p.name_type = 3;
	assert_int_equal(kt_add(kt, &p, 5, 17, 0x01020304u,
	    lbytes_make(expected + 35, 16)), LETHE_OK);
	kt_principal_clear(&p);
	add_entry(kt, "u@R.T", 300, -128, 0xfffffffeu,
	    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");

	assert_int_equal(kt_serialize(kt, &image, &image_len), LETHE_OK);
	assert_int_equal(image_len, sizeof(expected));
	assert_memory_equal(image, expected, sizeof(expected));

	/* And back: every field as written. */
	assert_int_equal(parse_exact(expected, sizeof(expected), &back), LETHE_OK);
	assert_int_equal(kt_count(back), 2);
	assert_int_equal(kt_entry_at(back, 0)->principal.name_type, 3);
	assert_int_equal(kt_entry_at(back, 0)->kvno, 5);
	assert_int_equal(kt_entry_at(back, 1)->kvno, 300);
	assert_int_equal(kt_entry_at(back, 1)->enctype, -128);
	assert_int_equal(kt_entry_at(back, 1)->timestamp, 0xfffffffeu);
	assert_true(kt_entry_eq(kt_entry_at(back, 0), kt_entry_at(kt, 0)));
	assert_true(kt_entry_eq(kt_entry_at(back, 1), kt_entry_at(kt, 1)));
	assert_null(kt_entry_at(back, 2));

	kt_image_free(image, image_len);
	kt_free(back);
	kt_free(kt);
}

static void
test_round_trip(void **state)
{
	kt_keytab *kt = build_varied(), *back = NULL;
	uint8_t *image = NULL, *image2 = NULL;
	size_t image_len = 0, image2_len = 0;
	(void)state;

	assert_int_equal(kt_count(kt), 5);
	assert_int_equal(kt_serialize(kt, &image, &image_len), LETHE_OK);
	assert_int_equal(parse_exact(image, image_len, &back), LETHE_OK);
	assert_int_equal(kt_count(back), kt_count(kt));
	for (size_t i = 0; i < kt_count(kt); i++)
		assert_true(kt_entry_eq(kt_entry_at(kt, i), kt_entry_at(back, i)));
	assert_int_equal(kt_entry_at(back, 2)->principal.ncomponents, 3);
	assert_int_equal(kt_entry_at(back, 3)->kvno, 300);
	assert_int_equal(kt_entry_at(back, 4)->kvno, 0xffffffffu);

	/* A changed key byte is noticed by kt_entry_eq. */
	kt_entry_at(back, 0)->key.data[15] ^= 1;
	assert_false(kt_entry_eq(kt_entry_at(kt, 0), kt_entry_at(back, 0)));
	kt_entry_at(back, 0)->key.data[15] ^= 1;

	assert_int_equal(kt_serialize(back, &image2, &image2_len), LETHE_OK);
	assert_int_equal(image2_len, image_len);
	assert_memory_equal(image2, image, image_len);

	kt_image_free(image, image_len);
	kt_image_free(image2, image2_len);
	kt_free(back);
	kt_free(kt);
}

static void
test_empty_keytab(void **state)
{
	static const uint8_t empty[] = { 0x05, 0x02 };
	kt_keytab *kt = NULL;
	uint8_t *image = NULL;
	size_t image_len = 0;
	(void)state;

	assert_int_equal(kt_new(&kt), LETHE_OK);
	assert_int_equal(kt_serialize(kt, &image, &image_len), LETHE_OK);
	assert_int_equal(image_len, 2);
	assert_memory_equal(image, empty, 2);
	kt_image_free(image, image_len);
	kt_free(kt);
	assert_int_equal(parse_exact(empty, 2, &kt), LETHE_OK);
	assert_int_equal(kt_count(kt), 0);
	kt_free(kt);
}

/* The file MIT ktutil wrote (see data/keytab/README.md). */
static void
test_parse_mit_sample(void **state)
{
	static const struct {
		const char *principal;
		uint32_t kvno;
		int32_t enctype;
		const char *key;
	} want[] = {
		{ "host/server.example.test@EXAMPLE.TEST", 3, 18,
		  "1013bb13e8fe09dead7241fea8f70bccdb35db022ed22363404cb8a7821acf2a" },
		{ "host/server.example.test@EXAMPLE.TEST", 3, 17,
		  "8485bb4761d15cf130cbfce5d5fc810f" },
		{ "alice@EXAMPLE.TEST", 300, 19,
		  "00112233445566778899aabbccddeeff" },
		{ "HTTP/web.example.test@EXAMPLE.TEST", 7, 20,
		  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" },
		{ "we\\@ird/x@EXAMPLE.TEST", 1, 17,
		  "ffeeddccbbaa99887766554433221100" },
	};
	const char *data = getenv("LETHE_TEST_DATA");
	char path[4096];
	kt_keytab *kt = NULL;
	(void)state;

	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/keytab/mit_sample.keytab", data);
	assert_int_equal(kt_load(path, &kt), LETHE_OK);
	assert_int_equal(kt_count(kt), 5);
	for (size_t i = 0; i < 5; i++) {
		const kt_entry *e = kt_entry_at(kt, i);
		uint8_t key[32];
		size_t key_len = strlen(want[i].key) / 2;

		assert_unparses_to(&e->principal, want[i].principal);
		assert_int_equal(e->principal.name_type, KT_NT_PRINCIPAL);
		assert_int_equal(e->kvno, want[i].kvno);
		assert_int_equal(e->enctype, want[i].enctype);
		assert_int_equal(e->timestamp, 0x6b045839u);
		unhex(want[i].key, key, key_len);
		assert_buf_equal(e->key, key, key_len);
	}
	kt_free(kt);
}

/* Offsets where a record ends in a hole-free image (2 is the first). */
static size_t
record_ends(const uint8_t *image, size_t len, size_t *ends, size_t max)
{
	size_t n = 0, pos = 2;

	ends[n++] = pos;
	while (pos < len && n < max) {
		uint32_t rl = (uint32_t)image[pos] << 24 |
		    (uint32_t)image[pos + 1] << 16 |
		    (uint32_t)image[pos + 2] << 8 | image[pos + 3];
		pos += 4 + rl;
		ends[n++] = pos;
	}
	assert_int_equal(pos, len);
	return n;
}

static void
test_truncated_everywhere(void **state)
{
	kt_keytab *kt = build_varied(), *back = NULL;
	uint8_t *image = NULL;
	size_t image_len = 0, ends[16], nends;
	(void)state;

	assert_int_equal(kt_serialize(kt, &image, &image_len), LETHE_OK);
	nends = record_ends(image, image_len, ends, 16);
	assert_int_equal(nends, 6);
	for (size_t len = 0; len < image_len; len++) {
		size_t complete = SIZE_MAX;

		for (size_t i = 0; i < nends; i++)
			if (ends[i] == len)
				complete = i;
		back = (kt_keytab *)&back;
		if (complete == SIZE_MAX) {
			lethe_status rc = parse_exact(image, len, &back);

			assert_int_equal(rc, LETHE_ERR_FORMAT);
			assert_null(back);
			continue;
		}
		/* Cut between records: a valid keytab with the first entries. */
		assert_int_equal(parse_exact(image, len, &back), LETHE_OK);
		assert_int_equal(kt_count(back), complete);
		for (size_t i = 0; i < complete; i++)
			assert_true(kt_entry_eq(kt_entry_at(back, i),
			    kt_entry_at(kt, i)));
		kt_free(back);
	}
	kt_image_free(image, image_len);
	kt_free(kt);
}

static void
test_bad_version(void **state)
{
	static const uint8_t v501[] = { 0x05, 0x01 };
	static const uint8_t v503[] = { 0x05, 0x03 };
	static const uint8_t v402[] = { 0x04, 0x02 };
	static const uint8_t one[] = { 0x05 };
	uint8_t huge_hdr[2] = { 0x05, 0x02 };
	kt_keytab *kt = NULL;
	(void)state;

	assert_parse_fails(v501, sizeof(v501), LETHE_ERR_UNSUPPORTED);
	assert_parse_fails(v503, sizeof(v503), LETHE_ERR_FORMAT);
	assert_parse_fails(v402, sizeof(v402), LETHE_ERR_FORMAT);
	assert_parse_fails(one, sizeof(one), LETHE_ERR_FORMAT);
	assert_parse_fails(NULL, 0, LETHE_ERR_FORMAT);
	/* The size bound is checked before anything is read. */
	assert_int_equal(kt_parse(huge_hdr, (size_t)KT_MAX_FILE_SIZE + 1, &kt),
	    LETHE_ERR_TOO_BIG);
	assert_null(kt);
}

/*
 * A one-entry image of "h@R" (kvno 7, enctype 17, 4-byte key) with the
 * 32-bit kvno trailer; offsets of its fields are named below.
 */
static const uint8_t one_entry[] = {
	0x05, 0x02,
	0x00, 0x00, 0x00, 0x1d,                 /* 2: record length 29 */
	0x00, 0x01,                             /* 6: components */
	0x00, 0x01, 'R',                        /* 8: realm */
	0x00, 0x01, 'h',                        /* 11: component */
	0x00, 0x00, 0x00, 0x01,                 /* 14: name type */
	0x00, 0x00, 0x00, 0x09,                 /* 18: timestamp */
	0x07,                                   /* 22: 8-bit kvno */
	0x00, 0x11,                             /* 23: enctype */
	0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd,     /* 25: key */
	0x00, 0x00, 0x00, 0x07,                 /* 31: 32-bit kvno */
};
#define OFF_RECLEN 2
#define OFF_NCOMPS 6
#define OFF_REALM  8
#define OFF_COMP   11
#define OFF_KEY    25
#define OFF_KVNO32 31
#define REC_LEN    29

/* one_entry with the big-endian value v (width bytes) at off. */
static void
patched(uint8_t *out, size_t off, uint32_t v, size_t width)
{
	memcpy(out, one_entry, sizeof(one_entry));
	for (size_t i = 0; i < width; i++)
		out[off + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static void
test_lengths_past_bounds(void **state)
{
	uint8_t buf[sizeof(one_entry) + 64];
	kt_keytab *kt = NULL;
	(void)state;

	assert_int_equal(parse_exact(one_entry, sizeof(one_entry), &kt), LETHE_OK);
	assert_int_equal(kt_count(kt), 1);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 7);
	kt_free(kt);

	/* Record length one past the end of the file. */
	patched(buf, OFF_RECLEN, REC_LEN + 1, 4);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	patched(buf, OFF_RECLEN, 0x7fffffffu, 4);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	patched(buf, OFF_RECLEN, 0x80000000u, 4);       /* INT32_MIN */
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	/*
	 * Record shortened so the key ends past it; the file holds the
	 * bytes, so only the record bound catches it.
	 */
	patched(buf, OFF_RECLEN, OFF_KEY + 2 + 3 - 6, 4);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	/* Realm and component lengths past the record. */
	patched(buf, OFF_REALM, 40, 2);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	patched(buf, OFF_COMP, 30, 2);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	/* Key length past the record. */
	patched(buf, OFF_KEY, 9, 2);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
	/* More components than the record can hold. */
	patched(buf, OFF_NCOMPS, 20, 2);
	assert_parse_fails(buf, sizeof(one_entry), LETHE_ERR_FORMAT);
}

/*
 * A valid one-entry image whose realm, single component and key have the
 * given lengths (filled with 'r', 'c' and 0x5a). Returns its length.
 */
static size_t
build_sized(uint8_t *buf, size_t cap, size_t realm_len, size_t comp_len,
    size_t key_len)
{
	size_t rec = 2 + 2 + realm_len + 2 + comp_len + 4 + 4 + 1 + 2 + 2 +
	    key_len + 4;
	uint8_t *p = buf;

	assert_true(6 + rec <= cap);
	*p++ = 0x05;
	*p++ = 0x02;
	*p++ = 0;
	*p++ = (uint8_t)(rec >> 16);
	*p++ = (uint8_t)(rec >> 8);
	*p++ = (uint8_t)rec;
	*p++ = 0;
	*p++ = 1;                                       /* one component */
	*p++ = (uint8_t)(realm_len >> 8);
	*p++ = (uint8_t)realm_len;
	memset(p, 'r', realm_len);
	p += realm_len;
	*p++ = (uint8_t)(comp_len >> 8);
	*p++ = (uint8_t)comp_len;
	memset(p, 'c', comp_len);
	p += comp_len;
	memcpy(p, "\0\0\0\x01" "\0\0\0\x02" "\x03" "\0\x11", 11);
	p += 11;
	*p++ = (uint8_t)(key_len >> 8);
	*p++ = (uint8_t)key_len;
	memset(p, 0x5a, key_len);
	p += key_len;
	memcpy(p, "\0\0\0\x03", 4);
	p += 4;
	assert_int_equal((size_t)(p - buf), 6 + rec);
	return 6 + rec;
}

static void
test_absurd_counts(void **state)
{
	uint8_t buf[sizeof(one_entry)], big[4096];
	size_t n;
	kt_keytab *kt = NULL;
	(void)state;

	patched(buf, OFF_NCOMPS, 0, 2);
	assert_parse_fails(buf, sizeof(buf), LETHE_ERR_FORMAT);
	patched(buf, OFF_NCOMPS, 0xffff, 2);
	assert_parse_fails(buf, sizeof(buf), LETHE_ERR_TOO_BIG);
	patched(buf, OFF_NCOMPS, KT_MAX_COMPONENTS + 1, 2);
	assert_parse_fails(buf, sizeof(buf), LETHE_ERR_TOO_BIG);
	patched(buf, OFF_REALM, 0, 2);                  /* empty realm */
	assert_parse_fails(buf, sizeof(buf), LETHE_ERR_FORMAT);
	patched(buf, OFF_REALM, 0xffff, 2);             /* past the record */
	assert_parse_fails(buf, sizeof(buf), LETHE_ERR_FORMAT);
	patched(buf, OFF_KEY, 0, 2);                    /* empty key */
	assert_parse_fails(buf, sizeof(buf), LETHE_ERR_FORMAT);

	/* Names and keys at their bounds parse; one byte more is refused. */
	n = build_sized(big, sizeof(big), KT_MAX_NAME_LEN, KT_MAX_NAME_LEN,
	    KT_MAX_KEY_LEN);
	assert_int_equal(parse_exact(big, n, &kt), LETHE_OK);
	assert_int_equal(kt_entry_at(kt, 0)->principal.realm.len, KT_MAX_NAME_LEN);
	assert_int_equal(kt_entry_at(kt, 0)->principal.components[0].len,
	    KT_MAX_NAME_LEN);
	assert_int_equal(kt_entry_at(kt, 0)->key.len, KT_MAX_KEY_LEN);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 3);
	kt_free(kt);
	n = build_sized(big, sizeof(big), KT_MAX_NAME_LEN + 1, 1, 16);
	assert_parse_fails(big, n, LETHE_ERR_TOO_BIG);
	n = build_sized(big, sizeof(big), 1, KT_MAX_NAME_LEN + 1, 16);
	assert_parse_fails(big, n, LETHE_ERR_TOO_BIG);
	n = build_sized(big, sizeof(big), 1, 1, KT_MAX_KEY_LEN + 1);
	assert_parse_fails(big, n, LETHE_ERR_TOO_BIG);
}

static void
test_holes_and_end_mark(void **state)
{
	uint8_t buf[128];
	size_t n = 0;
	kt_keytab *kt = NULL, *ref = NULL;
	(void)state;

	assert_int_equal(parse_exact(one_entry, sizeof(one_entry), &ref), LETHE_OK);
	/* version, hole of 8, the record, hole of 3, end mark, junk */
	memcpy(buf, one_entry, 2);
	n = 2;
	memcpy(buf + n, "\xff\xff\xff\xf8" "\0\0\0\0\0\0\0\0", 12);
	n += 12;
	memcpy(buf + n, one_entry + 2, sizeof(one_entry) - 2);
	n += sizeof(one_entry) - 2;
	memcpy(buf + n, "\xff\xff\xff\xfd" "\0\0\0", 7);
	n += 7;
	memcpy(buf + n, "\0\0\0\0" "junk", 8);
	n += 8;
	assert_int_equal(parse_exact(buf, n, &kt), LETHE_OK);
	assert_int_equal(kt_count(kt), 1);
	assert_true(kt_entry_eq(kt_entry_at(kt, 0), kt_entry_at(ref, 0)));
	kt_free(kt);

	/* A hole that runs past the end of the file. */
	memcpy(buf, one_entry, 2);
	memcpy(buf + 2, "\xff\xff\xff\xf0" "\0\0\0\0", 8);
	assert_parse_fails(buf, 10, LETHE_ERR_FORMAT);
	/* A hole that ends exactly at the end is fine. */
	memcpy(buf + 2, "\xff\xff\xff\xfc" "\0\0\0\0", 8);
	assert_int_equal(parse_exact(buf, 10, &kt), LETHE_OK);
	assert_int_equal(kt_count(kt), 0);
	kt_free(kt);
	kt_free(ref);
}

static void
test_kvno_trailer(void **state)
{
	uint8_t buf[sizeof(one_entry) + 3];
	kt_keytab *kt = NULL;
	(void)state;

	/* No trailer: the 8-bit kvno. */
	patched(buf, OFF_RECLEN, REC_LEN - 4, 4);
	assert_int_equal(parse_exact(buf, sizeof(one_entry) - 4, &kt), LETHE_OK);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 7);
	kt_free(kt);
	/* Trailer zero: zero fill, the 8-bit kvno stands. */
	patched(buf, OFF_KVNO32, 0, 4);
	assert_int_equal(parse_exact(buf, sizeof(one_entry), &kt), LETHE_OK);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 7);
	kt_free(kt);
	/* Non-zero trailer wins. */
	patched(buf, OFF_KVNO32, 300, 4);
	assert_int_equal(parse_exact(buf, sizeof(one_entry), &kt), LETHE_OK);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 300);
	kt_free(kt);
	/* Only three bytes after the key: not a trailer, ignored. */
	patched(buf, OFF_RECLEN, REC_LEN - 1, 4);
	buf[OFF_KVNO32] = 0x12;
	assert_int_equal(parse_exact(buf, sizeof(one_entry) - 1, &kt), LETHE_OK);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 7);
	kt_free(kt);
	/* Bytes after the trailer are ignored. */
	patched(buf, OFF_RECLEN, REC_LEN + 3, 4);
	memcpy(buf + OFF_KVNO32, "\0\0\x01\x2c" "xyz", 7);
	assert_int_equal(parse_exact(buf, sizeof(buf), &kt), LETHE_OK);
	assert_int_equal(kt_count(kt), 1);
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 300);
	kt_free(kt);
}

/* ---- the model ---- */

/* P: kvno 3/17, 5/17, 5/18, 4/18; Q: 9/17. */
static kt_keytab *
build_find_sample(void)
{
	kt_keytab *kt = NULL;

	assert_int_equal(kt_new(&kt), LETHE_OK);
	add_entry(kt, "svc/p@R", 3, 17, 1, "03");
	add_entry(kt, "svc/p@R", 5, 17, 1, "05");
	add_entry(kt, "svc/p@R", 5, 18, 1, "55");
	add_entry(kt, "svc/p@R", 4, 18, 1, "04");
	add_entry(kt, "svc/q@R", 9, 17, 1, "09");
	return kt;
}

static uint8_t
find_key(const kt_keytab *kt, const char *princ, uint32_t kvno, int32_t enctype)
{
	kt_principal p;
	const kt_entry *e = NULL;
	lethe_status rc;

	parse_princ(princ, &p);
	rc = kt_find(kt, &p, kvno, enctype, &e);
	kt_principal_clear(&p);
	if (rc == LETHE_ERR_NOT_FOUND) {
		assert_null(e);
		return 0;
	}
	assert_int_equal(rc, LETHE_OK);
	assert_int_equal(e->key.len, 1);
	return e->key.data[0];
}

static void
test_find(void **state)
{
	kt_keytab *kt = build_find_sample();
	(void)state;

	assert_int_equal(find_key(kt, "svc/p@R", 0, 17), 0x05);   /* highest */
	assert_int_equal(find_key(kt, "svc/p@R", 0, 18), 0x55);
	assert_int_equal(find_key(kt, "svc/p@R", 0, 0), 0x05);    /* first of kvno 5 */
	assert_int_equal(find_key(kt, "svc/p@R", 3, 17), 0x03);   /* exact */
	assert_int_equal(find_key(kt, "svc/p@R", 4, 0), 0x04);
	assert_int_equal(find_key(kt, "svc/q@R", 0, 0), 0x09);
	/* NOT_FOUND: enctype mismatch, kvno absent, other principal/realm. */
	assert_int_equal(find_key(kt, "svc/p@R", 3, 18), 0);
	assert_int_equal(find_key(kt, "svc/p@R", 0, 19), 0);
	assert_int_equal(find_key(kt, "svc/p@R", 6, 0), 0);
	assert_int_equal(find_key(kt, "svc/p@S", 0, 0), 0);
	assert_int_equal(find_key(kt, "svc/r@R", 0, 0), 0);
	assert_int_equal(find_key(kt, "svc@R", 0, 0), 0);
	kt_free(kt);
}

static void
test_add_rejects(void **state)
{
	kt_keytab *kt = build_find_sample();
	kt_principal p, empty = { 0 };
	uint8_t key[KT_MAX_KEY_LEN + 1] = { 1 };
	(void)state;

	parse_princ("svc/p@R", &p);
	assert_int_equal(kt_add(kt, &p, 5, 17, 0, lbytes_make(key, 16)),
	    LETHE_ERR_INVALID_ARG);                     /* duplicate */
	assert_int_equal(kt_add(kt, &p, 6, 0, 0, lbytes_make(key, 16)),
	    LETHE_ERR_INVALID_ARG);                     /* enctype 0 */
	assert_int_equal(kt_add(kt, &p, 6, 70000, 0, lbytes_make(key, 16)),
	    LETHE_ERR_INVALID_ARG);                     /* not 16-bit */
	assert_int_equal(kt_add(kt, &p, 6, 17, 0, lbytes_make(key, 0)),
	    LETHE_ERR_INVALID_ARG);                     /* empty key */
	assert_int_equal(kt_add(kt, &p, 6, 17, 0, lbytes_make(key, sizeof(key))),
	    LETHE_ERR_TOO_BIG);
	assert_int_equal(kt_add(kt, &empty, 6, 17, 0, lbytes_make(key, 16)),
	    LETHE_ERR_INVALID_ARG);                     /* no realm */
	assert_int_equal(kt_count(kt), 5);
	/* Same kvno, other enctype: fine. */
	assert_int_equal(kt_add(kt, &p, 5, 19, 0, lbytes_make(key, KT_MAX_KEY_LEN)),
	    LETHE_OK);
	assert_int_equal(kt_count(kt), 6);
	kt_principal_clear(&p);
	kt_free(kt);
}

static void
test_remove(void **state)
{
	kt_keytab *kt = build_find_sample();
	kt_principal p, q;
	size_t removed = 99;
	(void)state;

	parse_princ("svc/p@R", &p);
	parse_princ("svc/q@R", &q);
	assert_int_equal(kt_remove_kvno(kt, &p, 5, &removed), LETHE_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(kt_count(kt), 3);
	/* Order of the rest is kept. */
	assert_int_equal(kt_entry_at(kt, 0)->kvno, 3);
	assert_int_equal(kt_entry_at(kt, 1)->kvno, 4);
	assert_int_equal(kt_entry_at(kt, 2)->kvno, 9);
	assert_int_equal(find_key(kt, "svc/p@R", 0, 0), 0x04);
	assert_int_equal(kt_remove_kvno(kt, &p, 5, &removed), LETHE_OK);
	assert_int_equal(removed, 0);
	/* Q's kvno 9 is not P's. */
	assert_int_equal(kt_remove_kvno(kt, &p, 9, NULL), LETHE_OK);
	assert_int_equal(kt_count(kt), 3);

	assert_int_equal(kt_remove_below(kt, &p, 0, &removed), LETHE_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(kt_remove_below(kt, &p, 4, &removed), LETHE_OK);
	assert_int_equal(removed, 1);                   /* kvno 3 */
	assert_int_equal(kt_count(kt), 2);
	assert_int_equal(find_key(kt, "svc/p@R", 3, 0), 0);
	assert_int_equal(find_key(kt, "svc/p@R", 4, 18), 0x04);
	assert_int_equal(kt_remove_below(kt, &q, 0xffffffffu, &removed), LETHE_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(kt_count(kt), 1);
	assert_int_equal(find_key(kt, "svc/q@R", 0, 0), 0);
	kt_principal_clear(&p);
	kt_principal_clear(&q);
	kt_free(kt);
}

/* ---- files ---- */

typedef struct scratch {
	char dir[256];
	char path[512];
} scratch;

static void
scratch_make(scratch *s)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(s->dir, sizeof(s->dir), "%s/lethe-kt-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/krb5.keytab", s->dir);
}

/* Names in dir other than . and .., sorted, joined with ','. */
static void
list_dir(const char *dir, char *out, size_t out_size)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 &&
		    strcmp(names[i]->d_name, "..") != 0) {
			if (out[0] != '\0')
				strncat(out, ",", out_size - strlen(out) - 1);
			strncat(out, names[i]->d_name, out_size - strlen(out) - 1);
		}
		free(names[i]);
	}
	free(names);
}

/* The whole file at path into buf; returns its length. */
static size_t
read_file(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0 && (size_t)n < cap);
	close(fd);
	return (size_t)n;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
scratch_remove(scratch *s)
{
	char names[1024], *save = NULL, full[1024];

	list_dir(s->dir, names, sizeof(names));
	for (char *n = strtok_r(names, ",", &save); n != NULL;
	    n = strtok_r(NULL, ",", &save)) {
		snprintf(full, sizeof(full), "%s/%s", s->dir, n);
		if (unlink(full) != 0)
			assert_int_equal(rmdir(full), 0);
	}
	assert_int_equal(rmdir(s->dir), 0);
}

static void
test_save_atomic(void **state)
{
	kt_keytab *kt = build_varied(), *back = NULL;
	uint8_t *image = NULL, disk[4096];
	size_t image_len = 0;
	char names[1024];
	struct stat st;
	mode_t old_umask = umask(0);            /* 0600 must not come from umask */
	scratch s;
	(void)state;

	scratch_make(&s);
	assert_int_equal(kt_serialize(kt, &image, &image_len), LETHE_OK);

	/* New file. */
	assert_int_equal(kt_save(kt, s.path), LETHE_OK);
	assert_int_equal(lstat(s.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	list_dir(s.dir, names, sizeof(names));
	assert_string_equal(names, "krb5.keytab");
	assert_int_equal(read_file(s.path, disk, sizeof(disk)), image_len);
	assert_memory_equal(disk, image, image_len);
	assert_int_equal(kt_load(s.path, &back), LETHE_OK);
	assert_int_equal(kt_count(back), kt_count(kt));
	for (size_t i = 0; i < kt_count(kt); i++)
		assert_true(kt_entry_eq(kt_entry_at(kt, i), kt_entry_at(back, i)));
	kt_free(back);

	/* Replacing an existing 0644 file. */
	write_file(s.path, "old contents", 0644);
	umask(077);
	assert_int_equal(kt_save(kt, s.path), LETHE_OK);
	assert_int_equal(stat(s.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(read_file(s.path, disk, sizeof(disk)), image_len);
	assert_memory_equal(disk, image, image_len);
	list_dir(s.dir, names, sizeof(names));
	assert_string_equal(names, "krb5.keytab");

	umask(old_umask);
	kt_image_free(image, image_len);
	scratch_remove(&s);
	kt_free(kt);
}

static void
test_save_replaces_symlink(void **state)
{
	kt_keytab *kt = build_varied();
	char other[600];
	uint8_t disk[64];
	struct stat st;
	scratch s;
	(void)state;

	scratch_make(&s);
	snprintf(other, sizeof(other), "%s/other", s.dir);
	write_file(other, "precious", 0644);
	assert_int_equal(symlink("other", s.path), 0);
	assert_int_equal(kt_save(kt, s.path), LETHE_OK);
	assert_int_equal(lstat(s.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(read_file(other, disk, sizeof(disk)), 8);
	assert_memory_equal(disk, "precious", 8);
	scratch_remove(&s);
	kt_free(kt);
}

/* The original file as it was, and nothing else in the directory. */
static void
assert_untouched(const scratch *s, const char *expected_names)
{
	uint8_t disk[64];
	char names[1024];

	assert_int_equal(read_file(s->path, disk, sizeof(disk)), 12);
	assert_memory_equal(disk, "old contents", 12);
	list_dir(s->dir, names, sizeof(names));
	assert_string_equal(names, expected_names);
}

static void
test_save_failures(void **state)
{
	kt_keytab *kt = build_varied();
	char path[1024], longname[251];
	scratch s;
	(void)state;

	scratch_make(&s);
	write_file(s.path, "old contents", 0644);

	/* Directory missing. */
	snprintf(path, sizeof(path), "%s/missing/krb5.keytab", s.dir);
	assert_int_equal(kt_save(kt, path), LETHE_ERR_IO);
	assert_untouched(&s, "krb5.keytab");

	/* No file name. */
	snprintf(path, sizeof(path), "%s/", s.dir);
	assert_int_equal(kt_save(kt, path), LETHE_ERR_INVALID_ARG);

	/* Rename fails (target is a directory): the written temp file goes. */
	snprintf(path, sizeof(path), "%s/adir", s.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/adir/sub", s.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/adir", s.dir);
	assert_int_equal(kt_save(kt, path), LETHE_ERR_IO);
	assert_untouched(&s, "adir,krb5.keytab");
	snprintf(path, sizeof(path), "%s/adir/sub", s.dir);
	assert_int_equal(rmdir(path), 0);

	/* Temp name too long to create: nothing is created. */
	memset(longname, 'k', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/%s", s.dir, longname);
	assert_int_equal(kt_save(kt, path), LETHE_ERR_IO);
	assert_untouched(&s, "adir,krb5.keytab");

	/* Directory not writable (root ignores the mode, so only as a user). */
	if (geteuid() != 0) {
		assert_int_equal(chmod(s.dir, 0500), 0);
		assert_int_equal(kt_save(kt, s.path), LETHE_ERR_IO);
		assert_int_equal(chmod(s.dir, 0700), 0);
		assert_untouched(&s, "adir,krb5.keytab");
	}
	scratch_remove(&s);
	kt_free(kt);
}

/* st of path: a regular 0600 file of uid and gid holding image. */
static void
assert_saved_as(const scratch *s, uid_t uid, gid_t gid, const uint8_t *image,
    size_t image_len)
{
	uint8_t disk[4096];
	char names[1024];
	struct stat st;

	assert_int_equal(lstat(s->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(read_file(s->path, disk, sizeof(disk)), image_len);
	assert_memory_equal(disk, image, image_len);
	list_dir(s->dir, names, sizeof(names));
	assert_string_equal(names, "krb5.keytab");
}

static void
test_save_owned(void **state)
{
	kt_keytab *kt = build_varied();
	uint8_t *image = NULL;
	size_t image_len = 0;
	mode_t old_umask = umask(0);
	scratch s;
	(void)state;

	scratch_make(&s);
	assert_int_equal(kt_serialize(kt, &image, &image_len), LETHE_OK);
	write_file(s.path, "old contents", 0644);

	/* Our own uid and gid: always allowed; replaces a 0644 file. */
	assert_int_equal(kt_save_owned(kt, s.path, geteuid(), getegid()), LETHE_OK);
	assert_saved_as(&s, geteuid(), getegid(), image, image_len);
	assert_int_equal(kt_save_owned(kt, s.path, KT_OWNER_KEEP, getegid()),
	    LETHE_OK);
	assert_saved_as(&s, geteuid(), getegid(), image, image_len);

	if (geteuid() == 0) {
		/* Root hands the file to others, the owner before the rename. */
		assert_int_equal(kt_save_owned(kt, s.path, 4242, 4343), LETHE_OK);
		assert_saved_as(&s, 4242, 4343, image, image_len);
		/* KEEP: a new file, so root's uid; only the group given. */
		assert_int_equal(kt_save_owned(kt, s.path, KT_OWNER_KEEP, 4444),
		    LETHE_OK);
		assert_saved_as(&s, 0, 4444, image, image_len);
		assert_int_equal(kt_save_owned(kt, s.path, 4545, KT_GROUP_KEEP),
		    LETHE_OK);
		assert_saved_as(&s, 4545, getegid(), image, image_len);
	} else {
		/* A user may not give a file away: refused, nothing changed. */
		write_file(s.path, "old contents", 0644);
		assert_int_equal(kt_save_owned(kt, s.path, 0, KT_GROUP_KEEP),
		    LETHE_ERR_IO);
		assert_untouched(&s, "krb5.keytab");
	}
	/* Both KEEP: kt_save(), the process's own ids. */
	assert_int_equal(kt_save_owned(kt, s.path, KT_OWNER_KEEP, KT_GROUP_KEEP),
	    LETHE_OK);
	assert_saved_as(&s, geteuid(), getegid(), image, image_len);

	umask(old_umask);
	kt_image_free(image, image_len);
	scratch_remove(&s);
	kt_free(kt);
}

static void
test_save_owned_failures(void **state)
{
	kt_keytab *kt = build_varied();
	char path[1024];
	scratch s;
	(void)state;

	scratch_make(&s);
	write_file(s.path, "old contents", 0644);
	snprintf(path, sizeof(path), "%s/missing/krb5.keytab", s.dir);
	assert_int_equal(kt_save_owned(kt, path, geteuid(), getegid()),
	    LETHE_ERR_IO);
	snprintf(path, sizeof(path), "%s/", s.dir);
	assert_int_equal(kt_save_owned(kt, path, geteuid(), getegid()),
	    LETHE_ERR_INVALID_ARG);
	snprintf(path, sizeof(path), "%s/..", s.dir);
	assert_int_equal(kt_save_owned(kt, path, geteuid(), getegid()),
	    LETHE_ERR_INVALID_ARG);
	assert_untouched(&s, "krb5.keytab");
	/* Rename onto a non-empty directory fails: the temp file goes. */
	snprintf(path, sizeof(path), "%s/adir", s.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/adir/sub", s.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/adir", s.dir);
	assert_int_equal(kt_save_owned(kt, path, geteuid(), getegid()),
	    LETHE_ERR_IO);
	assert_untouched(&s, "adir,krb5.keytab");
	snprintf(path, sizeof(path), "%s/adir/sub", s.dir);
	assert_int_equal(rmdir(path), 0);
	scratch_remove(&s);
	kt_free(kt);
}

static void
test_load_failures(void **state)
{
	kt_keytab *kt = (kt_keytab *)&kt;
	char path[600];
	int fd;
	scratch s;
	(void)state;

	scratch_make(&s);
	assert_int_equal(kt_load(s.path, &kt), LETHE_ERR_NOT_FOUND);
	assert_null(kt);
	assert_int_equal(kt_load(s.dir, &kt), LETHE_ERR_IO);
	write_file(s.path, "\x05\x02\x7f", 0600);        /* cut record length */
	assert_int_equal(kt_load(s.path, &kt), LETHE_ERR_FORMAT);
	assert_null(kt);
	/* Over the size bound: a sparse file, refused before reading. */
	snprintf(path, sizeof(path), "%s/big", s.dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)KT_MAX_FILE_SIZE + 1), 0);
	close(fd);
	assert_int_equal(kt_load(path, &kt), LETHE_ERR_TOO_BIG);
	assert_null(kt);
	scratch_remove(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_parse_plain),
		cmocka_unit_test(test_principal_escapes),
		cmocka_unit_test(test_principal_parse_malformed),
		cmocka_unit_test(test_principal_eq),
		cmocka_unit_test(test_serialize_exact_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_keytab),
		cmocka_unit_test(test_parse_mit_sample),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_lengths_past_bounds),
		cmocka_unit_test(test_absurd_counts),
		cmocka_unit_test(test_holes_and_end_mark),
		cmocka_unit_test(test_kvno_trailer),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_save_atomic),
		cmocka_unit_test(test_save_replaces_symlink),
		cmocka_unit_test(test_save_failures),
		cmocka_unit_test(test_load_failures),
		cmocka_unit_test(test_save_owned),
		cmocka_unit_test(test_save_owned_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
