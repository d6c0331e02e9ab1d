/* Tests of the bounded DER reader and the backward DER writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "der/der.h"

#define READER(name, ...)                                                \
	static const uint8_t name##_bytes[] = { __VA_ARGS__ };           \
	der_reader name;                                                 \
	der_reader_init(&name, name##_bytes, sizeof(name##_bytes))

static void
assert_written(const der_writer *w, const uint8_t *expect, size_t len)
{
	lbytes got = der_written(w);
	assert_int_equal(der_writer_status(w), LETHE_OK);
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, expect, len);
}

/* ------------------------------------------------------------ headers */

static void
test_short_and_long_lengths(void **state)
{
	uint8_t buf[3 + 200];
	der_reader r, c;
	(void)state;

	buf[0] = DER_OCTET_STRING;
	buf[1] = 0x81;
	buf[2] = 200;
	memset(buf + 3, 0x5a, 200);
	der_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_OK);
	assert_int_equal(der_remaining(&c), 200);
	assert_true(der_at_end(&r));

	/* 0x81 followed by a value below 128 is not minimal. */
	buf[2] = 100;
	der_reader_init(&r, buf, 3 + 100);
	assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_LENGTH);
	assert_int_equal(der_remaining(&r), 103);    /* cursor unchanged */
}

static void
test_bad_lengths_refused(void **state)
{
	der_reader c;
	(void)state;
	{ READER(r, 0x04, 0x80, 0x00, 0x00);          /* indefinite */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_LENGTH); }
	{ READER(r, 0x04, 0x82, 0x00, 0x81);          /* leading zero octet */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_LENGTH); }
	{ READER(r, 0x04, 0x85, 1, 0, 0, 0, 0);       /* five length octets */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_LENGTH); }
	{ READER(r, 0x04, 0x84, 0x80, 0, 0, 0);       /* over DER_MAX_LENGTH */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_LENGTH); }
	{ READER(r, 0x04, 0x05, 1, 2, 3);             /* longer than the input */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_TRUNCATED); }
	{ READER(r, 0x04, 0x83, 0x01, 0x00);          /* length octets cut */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_TRUNCATED); }
	{ READER(r, 0x04);                            /* tag only */
	  assert_int_equal(der_read(&r, DER_OCTET_STRING, &c), LETHE_ERR_DER_TRUNCATED); }
	der_reader empty;
	der_reader_init(&empty, NULL, 0);
	assert_int_equal(der_read(&empty, DER_OCTET_STRING, &c), LETHE_ERR_DER_TRUNCATED);
}

static void
test_tags(void **state)
{
	uint32_t tag = 0;
	der_reader c;
	(void)state;
	{ READER(r, 0x7e, 0x00);                      /* [APPLICATION 30] */
	  assert_int_equal(der_peek_tag(&r, &tag), LETHE_OK);
	  assert_int_equal(tag, DER_APP(30));
	  assert_true(der_next_is(&r, DER_APP(30)));
	  assert_false(der_next_is(&r, DER_APP(29)));
	  assert_int_equal(der_read(&r, DER_CTX(30), &c), LETHE_ERR_DER_TAG);
	  assert_int_equal(der_read(&r, DER_APP(30), &c), LETHE_OK); }
	{ READER(r, 0xbf, 0x81, 0x00, 0x00);          /* [128] constructed, high form */
	  assert_int_equal(der_read(&r, DER_CTX(128), &c), LETHE_OK); }
	{ READER(r, 0xbf, 0x05, 0x00);                /* high form for a low number */
	  assert_int_equal(der_peek_tag(&r, &tag), LETHE_ERR_DER_TAG); }
	{ READER(r, 0xbf, 0x80, 0x81, 0x00, 0x00);    /* leading zero septet */
	  assert_int_equal(der_peek_tag(&r, &tag), LETHE_ERR_DER_TAG); }
	{ READER(r, 0xbf, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00); /* over 29 bits */
	  assert_int_equal(der_peek_tag(&r, &tag), LETHE_ERR_DER_TAG); }
	{ READER(r, 0xbf, 0x81);                      /* cut inside the tag */
	  assert_int_equal(der_peek_tag(&r, &tag), LETHE_ERR_DER_TRUNCATED); }
}

static void
test_depth_bound(void **state)
{
	uint8_t buf[2 * (DER_MAX_DEPTH + 1)];
	der_reader r, inner;
	(void)state;

	/* DER_MAX_DEPTH + 1 nested empty-ended SEQUENCEs. */
	for (size_t i = 0; i <= DER_MAX_DEPTH; i++) {
		buf[2 * i] = 0x30;
		buf[2 * i + 1] = (uint8_t)(2 * (DER_MAX_DEPTH - i));
	}
	der_reader_init(&r, buf, sizeof(buf));
	lethe_status rc = LETHE_OK;
	unsigned levels = 0;
	while (rc == LETHE_OK && !der_at_end(&r)) {
		rc = der_read(&r, DER_SEQUENCE, &inner);
		if (rc == LETHE_OK) {
			levels++;
			r = inner;
		}
	}
	assert_int_equal(rc, LETHE_ERR_DER_DEPTH);
	assert_int_equal(levels, DER_MAX_DEPTH);
}

static void
test_read_any_whole_and_trailing(void **state)
{
	uint32_t tag;
	der_reader c;
	lbytes whole;
	(void)state;
	READER(r, 0x30, 0x03, 0x02, 0x01, 0x07, 0x05, 0x00);
	assert_int_equal(der_read_any(&r, &tag, &c, &whole), LETHE_OK);
	assert_int_equal(tag, DER_SEQUENCE);
	assert_int_equal(whole.len, 5);
	assert_ptr_equal(whole.data, r_bytes);
	assert_int_equal(der_finish(&r), LETHE_ERR_DER_TRAILING);
	int32_t v;
	assert_int_equal(der_read_int32(&c, &v), LETHE_OK);
	assert_int_equal(v, 7);
	assert_int_equal(der_finish(&c), LETHE_OK);
}

static void
test_truncation_at_every_length(void **state)
{
	/* SEQUENCE { [0] INTEGER 5, [1] OCTET STRING "abc" } */
	static const uint8_t full[] = { 0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x05,
					0xa1, 0x05, 0x04, 0x03, 'a', 'b', 'c' };
	(void)state;
	for (size_t len = 0; len <= sizeof(full); len++) {
		der_reader r, seq;
		int32_t v = 0;
		lbytes s;
		lethe_status rc;
		der_reader_init(&r, full, len);
		rc = der_read(&r, DER_SEQUENCE, &seq);
		if (rc == LETHE_OK)
			rc = der_ctx_int32(&seq, 0, &v);
		if (rc == LETHE_OK)
			rc = der_ctx_octets(&seq, 1, &s);
		if (rc == LETHE_OK)
			rc = der_finish(&seq);
		if (len == sizeof(full)) {
			assert_int_equal(rc, LETHE_OK);
			assert_int_equal(v, 5);
			assert_int_equal(s.len, 3);
			assert_memory_equal(s.data, "abc", 3);
		} else {
			assert_int_equal(rc, LETHE_ERR_DER_TRUNCATED);
		}
	}
}

/* ------------------------------------------------------------ values */

static void
test_integers_read(void **state)
{
	int64_t v;
	int32_t v32;
	uint32_t u32;
	(void)state;
	{ READER(r, 0x02, 0x01, 0x00); assert_int_equal(der_read_int64(&r, &v), LETHE_OK); assert_true(v == 0); }
	{ READER(r, 0x02, 0x01, 0x80); assert_int_equal(der_read_int64(&r, &v), LETHE_OK); assert_true(v == -128); }
	{ READER(r, 0x02, 0x02, 0x00, 0x80); assert_int_equal(der_read_int64(&r, &v), LETHE_OK); assert_true(v == 128); }
	{ READER(r, 0x02, 0x02, 0xff, 0x7f); assert_int_equal(der_read_int64(&r, &v), LETHE_OK); assert_true(v == -129); }
	{ READER(r, 0x02, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0);
	  assert_int_equal(der_read_int64(&r, &v), LETHE_OK); assert_true(v == INT64_MIN); }
	{ READER(r, 0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff);
	  assert_int_equal(der_read_uint32(&r, &u32), LETHE_OK); assert_true(u32 == UINT32_MAX); }
	/* Non-minimal, empty, too long, out of range: refused, cursor kept. */
	{ READER(r, 0x02, 0x02, 0x00, 0x01); assert_int_equal(der_read_int64(&r, &v), LETHE_ERR_DER_VALUE);
	  assert_int_equal(der_remaining(&r), 4); }
	{ READER(r, 0x02, 0x02, 0xff, 0x80); assert_int_equal(der_read_int64(&r, &v), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x02, 0x00); assert_int_equal(der_read_int64(&r, &v), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0);
	  assert_int_equal(der_read_int64(&r, &v), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x02, 0x05, 0x00, 0x80, 0, 0, 0);
	  assert_int_equal(der_read_int32(&r, &v32), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x02, 0x01, 0xff); assert_int_equal(der_read_uint32(&r, &u32), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x04, 0x01, 0x01); assert_int_equal(der_read_int64(&r, &v), LETHE_ERR_DER_TAG); }
}

static void
test_gtime_read(void **state)
{
	int64_t t;
	(void)state;
#define GT(s) 0x18, 0x0f, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], \
	s[8], s[9], s[10], s[11], s[12], s[13], s[14]
	{ READER(r, GT("19700101000000Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_OK); assert_true(t == 0); }
	{ READER(r, GT("20261123142427Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_OK);
	  assert_true(t == 1795443867LL); }
	{ READER(r, GT("20240229235959Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_OK);
	  assert_true(t == 1709251199LL); }
	{ READER(r, GT("19691231235959Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_OK); assert_true(t == -1); }
	{ READER(r, GT("20230229000000Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_ERR_DER_VALUE); }
	{ READER(r, GT("20231301000000Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_ERR_DER_VALUE); }
	{ READER(r, GT("20230101240000Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_ERR_DER_VALUE); }
	{ READER(r, GT("20230101000000z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_ERR_DER_VALUE); }
	{ READER(r, GT("2023010100000+Z")); assert_int_equal(der_read_gtime(&r, &t), LETHE_ERR_DER_VALUE); }
	/* Fractional seconds are not KerberosTime. */
	{ READER(r, 0x18, 0x11, '2', '0', '2', '3', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', '.', '5', 'Z');
	  assert_int_equal(der_read_gtime(&r, &t), LETHE_ERR_DER_VALUE); }
#undef GT
}

static void
test_bits_bool_strings(void **state)
{
	uint32_t f;
	bool b;
	lbytes s;
	(void)state;
	{ READER(r, 0x03, 0x05, 0x00, 0x40, 0x81, 0x00, 0x10);
	  assert_int_equal(der_read_bits32(&r, &f), LETHE_OK); assert_int_equal(f, 0x40810010); }
	{ READER(r, 0x03, 0x02, 0x07, 0x80);         /* one bit: bit 0 set */
	  assert_int_equal(der_read_bits32(&r, &f), LETHE_OK); assert_int_equal(f, 0x80000000u); }
	{ READER(r, 0x03, 0x02, 0x04, 0xff);         /* unused bits masked */
	  assert_int_equal(der_read_bits32(&r, &f), LETHE_OK); assert_int_equal(f, 0xf0000000u); }
	{ READER(r, 0x03, 0x06, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a); /* 40 bits */
	  assert_int_equal(der_read_bits32(&r, &f), LETHE_OK); assert_int_equal(f, 0x12345678u); }
	{ READER(r, 0x03, 0x01, 0x00); assert_int_equal(der_read_bits32(&r, &f), LETHE_OK); assert_int_equal(f, 0); }
	{ READER(r, 0x03, 0x01, 0x03); assert_int_equal(der_read_bits32(&r, &f), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x03, 0x02, 0x08, 0x00); assert_int_equal(der_read_bits32(&r, &f), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x01, 0x01, 0xff); assert_int_equal(der_read_bool(&r, &b), LETHE_OK); assert_true(b); }
	{ READER(r, 0x01, 0x01, 0x01); assert_int_equal(der_read_bool(&r, &b), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x1b, 0x03, 'a', 'b', 'c');
	  assert_int_equal(der_read_gstring(&r, &s), LETHE_OK); assert_int_equal(s.len, 3); }
	{ READER(r, 0x06, 0x03, 0x2b, 0x06, 0x01); assert_int_equal(der_read_oid(&r, &s), LETHE_OK); }
	{ READER(r, 0x06, 0x02, 0x2b, 0x86); assert_int_equal(der_read_oid(&r, &s), LETHE_ERR_DER_VALUE); }
	{ READER(r, 0x06, 0x02, 0x80, 0x01); assert_int_equal(der_read_oid(&r, &s), LETHE_ERR_DER_VALUE); }
}

static void
test_ctx_fields(void **state)
{
	int32_t v = 42;
	bool present = true;
	lbytes s;
	(void)state;
	{ READER(r, 0xa2, 0x03, 0x02, 0x01, 0x09);
	  assert_int_equal(der_ctx_int32_opt(&r, 1, &v, &present), LETHE_OK);
	  assert_false(present); assert_int_equal(v, 42);
	  assert_int_equal(der_ctx_int32_opt(&r, 2, &v, &present), LETHE_OK);
	  assert_true(present); assert_int_equal(v, 9); assert_true(der_at_end(&r)); }
	/* Extra element inside the [n] wrapper: refused, cursor kept. */
	{ READER(r, 0xa0, 0x05, 0x02, 0x01, 0x09, 0x05, 0x00);
	  assert_int_equal(der_ctx_int32(&r, 0, &v), LETHE_ERR_DER_TRAILING);
	  assert_int_equal(der_remaining(&r), 7); }
	{ READER(r, 0xa0, 0x03, 0x04, 0x01, 0x09);  /* wrong inner type */
	  assert_int_equal(der_ctx_int32(&r, 0, &v), LETHE_ERR_DER_TAG); }
	{ READER(r, 0xa0, 0x03, 0x04, 0x01, 0x09);
	  assert_int_equal(der_ctx_octets_opt(&r, 0, &s, &present), LETHE_OK);
	  assert_true(present); assert_int_equal(s.data[0], 0x09); }
	{ READER(r, 0x80, 0x01, 0x09);              /* primitive [0] is not explicit */
	  assert_int_equal(der_ctx_int32(&r, 0, &v), LETHE_ERR_DER_TAG); }
}

/* ------------------------------------------------------------ writer */

static void
test_writer_sequence_backwards(void **state)
{
	der_writer w;
	size_t seq, f;
	(void)state;
	static const uint8_t expect[] = { 0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x05,
					  0xa1, 0x05, 0x04, 0x03, 'a', 'b', 'c' };

	der_writer_init(&w, 1024);
	seq = der_mark(&w);
	f = der_mark(&w);
	der_put_octets(&w, "abc", 3);
	der_wrap(&w, f, DER_CTX(1));
	der_put_ctx_int64(&w, 0, 5);
	der_wrap(&w, seq, DER_SEQUENCE);
	assert_written(&w, expect, sizeof(expect));

	uint8_t *out = NULL;
	size_t out_len = 0;
	assert_int_equal(der_writer_take(&w, &out, &out_len), LETHE_OK);
	assert_int_equal(out_len, sizeof(expect));
	assert_memory_equal(out, expect, out_len);
	assert_int_equal(der_mark(&w), 0);
	free(out);
	der_writer_free(&w);
}

static void
test_writer_integers_exact(void **state)
{
	static const struct { int64_t v; uint8_t enc[10]; size_t len; } cases[] = {
		{ 0, { 0x02, 0x01, 0x00 }, 3 },
		{ 127, { 0x02, 0x01, 0x7f }, 3 },
		{ 128, { 0x02, 0x02, 0x00, 0x80 }, 4 },
		{ 256, { 0x02, 0x02, 0x01, 0x00 }, 4 },
		{ -1, { 0x02, 0x01, 0xff }, 3 },
		{ -128, { 0x02, 0x01, 0x80 }, 3 },
		{ -129, { 0x02, 0x02, 0xff, 0x7f }, 4 },
		{ 4294967295LL, { 0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff }, 7 },
		{ INT64_MIN, { 0x02, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 10 },
		{ INT64_MAX, { 0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 10 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		der_writer w;
		der_reader r;
		int64_t back;
		der_writer_init(&w, 64);
		der_put_int64(&w, cases[i].v);
		assert_written(&w, cases[i].enc, cases[i].len);
		lbytes got = der_written(&w);
		der_reader_init(&r, got.data, got.len);
		assert_int_equal(der_read_int64(&r, &back), LETHE_OK);
		assert_true(back == cases[i].v);
		der_writer_free(&w);
	}
}

static void
test_writer_long_length_and_high_tag(void **state)
{
	uint8_t content[300];
	der_writer w;
	(void)state;
	memset(content, 0x11, sizeof(content));

	der_writer_init(&w, 4096);
	der_put_octets(&w, content, 200);
	lbytes got = der_written(&w);
	assert_int_equal(got.len, 203);
	assert_int_equal(got.data[0], 0x04);
	assert_int_equal(got.data[1], 0x81);
	assert_int_equal(got.data[2], 200);
	der_writer_reset(&w);
	der_put_octets(&w, content, 300);
	got = der_written(&w);
	assert_int_equal(got.len, 304);
	assert_int_equal(got.data[1], 0x82);
	assert_int_equal(got.data[2], 0x01);
	assert_int_equal(got.data[3], 0x2c);
	der_writer_reset(&w);
	size_t m = der_mark(&w);
	der_wrap(&w, m, DER_CTX(128));
	static const uint8_t high[] = { 0xbf, 0x81, 0x00, 0x00 };
	assert_written(&w, high, sizeof(high));
	der_writer_free(&w);
}

static void
test_writer_time_bits_strings(void **state)
{
	der_writer w;
	(void)state;
	static const uint8_t t[] = { 0x18, 0x0f, '2', '0', '2', '6', '1', '1', '2', '3',
				     '1', '4', '2', '4', '2', '7', 'Z' };
	static const uint8_t bits[] = { 0x03, 0x05, 0x00, 0x40, 0x81, 0x00, 0x10 };
	static const uint8_t gs[] = { 0x1b, 0x02, 'h', 'i' };
	static const uint8_t tb[] = { 0x01, 0x01, 0xff };

	der_writer_init(&w, 256);
	assert_int_equal(der_put_gtime(&w, 1795443867LL), LETHE_OK);
	assert_written(&w, t, sizeof(t));
	der_writer_reset(&w);
	der_put_bits32(&w, 0x40810010);
	assert_written(&w, bits, sizeof(bits));
	der_writer_reset(&w);
	der_put_gstring(&w, "hi", 2);
	assert_written(&w, gs, sizeof(gs));
	der_writer_reset(&w);
	der_put_bool(&w, true);
	assert_written(&w, tb, sizeof(tb));
	der_writer_reset(&w);
	/* Out of KerberosTime range: refused and sticky. */
	assert_int_equal(der_put_gtime(&w, 253402300800LL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(der_put_bool(&w, true), LETHE_ERR_INVALID_ARG);
	der_writer_free(&w);
}

static void
test_writer_gtime_round_trip(void **state)
{
	static const int64_t times[] = { 0, -1, 951782400LL /* 2000-02-29 */,
					 -62167219200LL, 253402300799LL, 1795443867LL };
	(void)state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		der_writer w;
		der_reader r;
		int64_t back;
		der_writer_init(&w, 64);
		assert_int_equal(der_put_gtime(&w, times[i]), LETHE_OK);
		lbytes got = der_written(&w);
		der_reader_init(&r, got.data, got.len);
		assert_int_equal(der_read_gtime(&r, &back), LETHE_OK);
		assert_true(back == times[i]);
		der_writer_free(&w);
	}
}

static void
test_writer_growth_and_limit(void **state)
{
	der_writer w;
	uint8_t chunk[100];
	(void)state;
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;

	der_writer_init(&w, 1000);
	for (int i = 0; i < 9; i++)
		assert_int_equal(der_put_raw(&w, chunk, sizeof(chunk)), LETHE_OK);
	lbytes got = der_written(&w);
	assert_int_equal(got.len, 900);
	for (size_t i = 0; i < got.len; i++)
		assert_int_equal(got.data[i], (uint8_t)(i % 100));
	assert_int_equal(der_put_raw(&w, chunk, 101), LETHE_ERR_TOO_BIG);
	assert_int_equal(der_put_raw(&w, chunk, 1), LETHE_ERR_TOO_BIG);  /* sticky */
	assert_int_equal(der_written(&w).len, 900);
	uint8_t *out = NULL;
	size_t out_len;
	assert_int_equal(der_writer_take(&w, &out, &out_len), LETHE_ERR_TOO_BIG);
	assert_null(out);
	der_writer_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_and_long_lengths),
		cmocka_unit_test(test_bad_lengths_refused),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_read_any_whole_and_trailing),
		cmocka_unit_test(test_truncation_at_every_length),
		cmocka_unit_test(test_integers_read),
		cmocka_unit_test(test_gtime_read),
		cmocka_unit_test(test_bits_bool_strings),
		cmocka_unit_test(test_ctx_fields),
		cmocka_unit_test(test_writer_sequence_backwards),
		cmocka_unit_test(test_writer_integers_exact),
		cmocka_unit_test(test_writer_long_length_and_high_tag),
		cmocka_unit_test(test_writer_time_bits_strings),
		cmocka_unit_test(test_writer_gtime_round_trip),
		cmocka_unit_test(test_writer_growth_and_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
