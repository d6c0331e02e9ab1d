/* The DER codecs of the registration messages (registrar.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "der/der.h"
#include "krb5/krb5.h"
#include "registrar/registrar.h"
#include "registrar/ticket.h"

#define T0 1700000000   /* 2023-11-14T22:13:20Z */

static void
fill(uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v + i);
}

static void
sample_request(reg_request *r)
{
	static const uint8_t sealed[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };

	memset(r, 0, sizeof(*r));
	strcpy(r->principal, "HTTP/www.example.com@EXAMPLE.COM");
	fill(r->nonce, REG_NONCE_LEN, 0x10);
	r->timestamp = T0;
	r->has_answers = true;
	fill(r->answers, REG_NONCE_LEN, 0x80);
	r->has_callback = true;
	strcpy(r->callback, "192.0.2.7:7464");
	r->nkeys = 2;
	r->keys[0] = (reg_key_window){ 7, 18, T0 + 4200, T0 + 40200 };
	r->keys[1] = (reg_key_window){ 7, 17, T0 + 4200, T0 + 40200 };
	r->sealed_keys = lbytes_make(sealed, sizeof(sealed));
}

/* The exact DER of a KeyRequest for "host/h@R", nonce 00..0f, T0. */
static const uint8_t key_request_der[] = {
	0x30, 0x42,
	0xa0, 0x03, 0x1b, 0x01, 'R',
	0xa1, 0x14, 0x30, 0x12, 0xa0, 0x03, 0x02, 0x01, 0x03,
	0xa1, 0x0b, 0x30, 0x09, 0x1b, 0x04, 'h', 'o', 's', 't', 0x1b, 0x01, 'h',
	0xa2, 0x12, 0x04, 0x10,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0xa3, 0x11, 0x18, 0x0f,
	'2', '0', '2', '3', '1', '1', '1', '4', '2', '2', '1', '3', '2', '0', 'Z',
};

static void
test_key_request_exact_bytes(void **state)
{
	reg_key_request kr, back;
	uint8_t *der = NULL;
	size_t len = 0;

	(void)state;
	memset(&kr, 0, sizeof(kr));
	strcpy(kr.principal, "host/h@R");
	fill(kr.nonce, REG_NONCE_LEN, 0);
	kr.timestamp = T0;
	assert_int_equal(reg_key_request_encode(&kr, &der, &len), LETHE_OK);
	assert_int_equal(len, sizeof(key_request_der));
	assert_memory_equal(der, key_request_der, len);
	assert_int_equal(reg_key_request_decode(der, len, &back), LETHE_OK);
	assert_string_equal(back.principal, "host/h@R");
	assert_memory_equal(back.nonce, kr.nonce, REG_NONCE_LEN);
	assert_int_equal(back.timestamp, T0);
	free(der);
}

static void
test_key_request_negatives(void **state)
{
	uint8_t buf[sizeof(key_request_der) + 1];
	reg_key_request kr;

	(void)state;
	/* Every truncation fails. */
	for (size_t n = 0; n < sizeof(key_request_der); n++)
		assert_int_not_equal(reg_key_request_decode(key_request_der, n, &kr),
		    LETHE_OK);
	/* Trailing byte. */
	memcpy(buf, key_request_der, sizeof(key_request_der));
	buf[sizeof(key_request_der)] = 0;
	assert_int_equal(reg_key_request_decode(buf, sizeof(buf), &kr),
	    LETHE_ERR_DER_TRAILING);
	/* Wrong outer tag. */
	memcpy(buf, key_request_der, sizeof(key_request_der));
	buf[0] = 0x31;
	assert_int_equal(reg_key_request_decode(buf, sizeof(key_request_der), &kr),
	    LETHE_ERR_DER_TAG);
	/* Name type 1 for a two-component name: not what the encoder writes. */
	memcpy(buf, key_request_der, sizeof(key_request_der));
	buf[15] = 0x01;
	assert_int_equal(reg_key_request_decode(buf, sizeof(key_request_der), &kr),
	    LETHE_ERR_DER_VALUE);
	assert_string_equal(kr.principal, "");
}

static void
test_request_round_trip(void **state)
{
	reg_request r, back;
	uint8_t *der = NULL, *again = NULL;
	size_t len = 0, len2 = 0;

	(void)state;
	sample_request(&r);
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_OK);
	assert_int_equal(reg_request_decode(der, len, &back), LETHE_OK);
	assert_string_equal(back.principal, r.principal);
	assert_memory_equal(back.nonce, r.nonce, REG_NONCE_LEN);
	assert_int_equal(back.timestamp, T0);
	assert_true(back.has_answers);
	assert_memory_equal(back.answers, r.answers, REG_NONCE_LEN);
	assert_true(back.has_callback);
	assert_string_equal(back.callback, "192.0.2.7:7464");
	assert_int_equal(back.nkeys, 2);
	assert_memory_equal(back.keys, r.keys, sizeof(r.keys[0]) * 2);
	assert_int_equal(back.sealed_keys.len, r.sealed_keys.len);
	assert_memory_equal(back.sealed_keys.data, r.sealed_keys.data, r.sealed_keys.len);
	assert_int_equal(reg_request_encode(&back, &again, &len2), LETHE_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(again, der, len);
	free(der);
	free(again);

	/* Without the optional fields, one-component principal. */
	r.has_answers = false;
	r.has_callback = false;
	strcpy(r.principal, "svc@EXAMPLE.COM");
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_OK);
	assert_int_equal(reg_request_decode(der, len, &back), LETHE_OK);
	assert_false(back.has_answers);
	assert_false(back.has_callback);
	assert_string_equal(back.principal, "svc@EXAMPLE.COM");
	assert_int_equal(reg_request_encode(&back, &again, &len2), LETHE_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(again, der, len);
	free(der);
	free(again);
}

static void
test_request_encode_refuses(void **state)
{
	reg_request r;
	uint8_t *der = NULL;
	size_t len = 0;

	(void)state;
	sample_request(&r);
	r.nkeys = REG_MAX_KEYS + 1;
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
	assert_null(der);
	sample_request(&r);
	r.nkeys = 0;
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
	sample_request(&r);
	strcpy(r.principal, "no-realm");
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
	sample_request(&r);
	r.sealed_keys.len = 0;
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
	sample_request(&r);
	memset(r.callback, 'a', sizeof(r.callback));     /* not NUL-terminated */
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
}

/* Encode r with nkeys windows bypassing the encoder's bound, via raw DER edits. */
static void
test_request_decode_negatives(void **state)
{
	reg_request r, back;
	uint8_t *der = NULL, *buf;
	size_t len = 0;
	lethe_status rc;

	(void)state;
	sample_request(&r);
	assert_int_equal(reg_request_encode(&r, &der, &len), LETHE_OK);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(reg_request_decode(der, n, &back), LETHE_OK);
	buf = malloc(len + 1);
	assert_non_null(buf);
	memcpy(buf, der, len);
	buf[len] = 0x00;
	assert_int_equal(reg_request_decode(buf, len + 1, &back), LETHE_ERR_DER_TRAILING);
	/* Oversized input refused before parsing. */
	rc = reg_request_decode(der, REG_MAX_MESSAGE + 1, &back);
	assert_int_equal(rc, LETHE_ERR_TOO_BIG);
	free(buf);
	free(der);
}

/* Build a KeyRequest-like SEQUENCE with a nonce of nonce_len bytes. */
static void
test_nonce_17_bytes(void **state)
{
	uint8_t bad[sizeof(key_request_der) + 1];
	reg_key_request kr;

	(void)state;
	/* Grow the nonce OCTET STRING from 16 to 17 bytes. */
	memcpy(bad, key_request_der, 33);          /* up to the nonce header */
	bad[1] = 0x43;                            /* outer length + 1 */
	bad[30] = 0x13;                           /* [2] length + 1 */
	bad[32] = 0x11;                           /* OCTET STRING length 17 */
	memcpy(bad + 33, key_request_der + 33, 16);
	bad[49] = 0xff;
	memcpy(bad + 50, key_request_der + 49, sizeof(key_request_der) - 49);
	assert_int_equal(key_request_der[30], 0x12);
	assert_int_equal(reg_key_request_decode(bad, sizeof(bad), &kr), LETHE_ERR_DER_VALUE);
}

static void
sample_reply(reg_reply *r)
{
	memset(r, 0, sizeof(*r));
	fill(r->nonce, REG_NONCE_LEN, 0x40);
	r->result = REG_OK;
	strcpy(r->text, "registered kvno 7 (\xc3\xa9t\xc3\xa9)");
	r->server_time = T0 + 1;
	r->has_granted = true;
	r->ngranted = 1;
	r->granted[0] = (reg_key_window){ 7, 18, T0 + 4200, T0 + 40200 };
}

static void
test_reply_round_trip(void **state)
{
	reg_reply r, back;
	uint8_t *der = NULL, *again = NULL;
	size_t len = 0, len2 = 0;

	(void)state;
	sample_reply(&r);
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_OK);
	assert_int_equal(reg_reply_decode(der, len, &back), LETHE_OK);
	assert_memory_equal(back.nonce, r.nonce, REG_NONCE_LEN);
	assert_int_equal(back.result, REG_OK);
	assert_string_equal(back.text, r.text);
	assert_int_equal(back.server_time, T0 + 1);
	assert_true(back.has_granted);
	assert_int_equal(back.ngranted, 1);
	assert_memory_equal(&back.granted[0], &r.granted[0], sizeof(r.granted[0]));
	assert_int_equal(reg_reply_encode(&back, &again, &len2), LETHE_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(again, der, len);
	free(der);
	free(again);

	/* A refusal without granted windows; an empty granted list differs. */
	r.result = REG_REPLAY;
	r.has_granted = false;
	r.ngranted = 0;
	strcpy(r.text, "nonce seen");
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_OK);
	assert_int_equal(reg_reply_decode(der, len, &back), LETHE_OK);
	assert_int_equal(back.result, REG_REPLAY);
	assert_false(back.has_granted);
	r.has_granted = true;
	assert_int_equal(reg_reply_encode(&r, &again, &len2), LETHE_OK);
	assert_int_equal(len2, len + 4);            /* [4] { SEQUENCE {} } */
	assert_int_equal(reg_reply_decode(again, len2, &back), LETHE_OK);
	assert_true(back.has_granted);
	assert_int_equal(back.ngranted, 0);
	free(der);
	free(again);
}

static void
test_reply_negatives(void **state)
{
	reg_reply r, back;
	uint8_t *der = NULL;
	size_t len = 0;

	(void)state;
	sample_reply(&r);
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_OK);
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(reg_reply_decode(der, n, &back), LETHE_OK);
	free(der);
	/* Invalid UTF-8 in text is refused by the encoder. */
	strcpy(r.text, "\xc3");
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
	/* A text that fills the array without its NUL. */
	memset(r.text, 'x', sizeof(r.text));
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
	sample_reply(&r);
	r.ngranted = REG_MAX_KEYS + 1;
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_ERR_INVALID_ARG);
}

static void
sample_sealed(reg_sealed_keys *k, size_t n)
{
	memset(k, 0, sizeof(*k));
	k->nkeys = n;           /* may exceed REG_MAX_KEYS: only the first 8 are set */
	for (size_t i = 0; i < n && i < REG_MAX_KEYS; i++) {
		k->keys[i].kvno = 7;
		k->keys[i].enctype = (int32_t)(17 + i % 2);
		k->keys[i].key_len = i % 2 ? 32 : 16;
		fill(k->keys[i].key, k->keys[i].key_len, (uint8_t)(i * 32));
	}
}

static void
test_sealed_keys_round_trip(void **state)
{
	reg_sealed_keys k, back;
	uint8_t *der = NULL, *again = NULL;
	size_t len = 0, len2 = 0;

	(void)state;
	sample_sealed(&k, REG_MAX_KEYS);
	assert_int_equal(reg_sealed_keys_encode(&k, &der, &len), LETHE_OK);
	assert_int_equal(reg_sealed_keys_decode(der, len, &back), LETHE_OK);
	assert_int_equal(back.nkeys, REG_MAX_KEYS);
	for (size_t i = 0; i < REG_MAX_KEYS; i++) {
		assert_int_equal(back.keys[i].kvno, 7);
		assert_int_equal(back.keys[i].enctype, k.keys[i].enctype);
		assert_int_equal(back.keys[i].key_len, k.keys[i].key_len);
		assert_memory_equal(back.keys[i].key, k.keys[i].key, k.keys[i].key_len);
	}
	assert_int_equal(reg_sealed_keys_encode(&back, &again, &len2), LETHE_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(again, der, len);
	reg_sealed_keys_clear(&back);
	assert_int_equal(back.nkeys, 0);
	assert_int_equal(back.keys[0].key[1], 0);
	reg_free_secret(der, len);
	reg_free_secret(again, len2);
}

static void
test_sealed_keys_nine_keys(void **state)
{
	reg_sealed_keys k, back;
	uint8_t *der = NULL, *nine;
	size_t len = 0, one_len;
	der_writer w;
	lbytes body;

	(void)state;
	sample_sealed(&k, REG_MAX_KEYS + 1);
	assert_int_equal(reg_sealed_keys_encode(&k, &der, &len), LETHE_ERR_INVALID_ARG);
	/* Hand-build nine entries: eight encoded, the first repeated. */
	sample_sealed(&k, REG_MAX_KEYS);
	assert_int_equal(reg_sealed_keys_encode(&k, &der, &len), LETHE_OK);
	assert_int_equal(der[0], 0x30);
	assert_true(der[1] & 0x80);                 /* long form length */
	{
		size_t hdr = 2 + (der[1] & 0x7f);
		body = lbytes_make(der + hdr, len - hdr);
	}
	one_len = 2 + body.data[1];                 /* first SealedKey, short form */
	der_writer_init(&w, REG_MAX_MESSAGE);
	der_put_raw(&w, body.data, body.len);
	der_put_raw(&w, body.data, one_len);
	der_wrap(&w, 0, DER_SEQUENCE);
	assert_int_equal(der_writer_status(&w), LETHE_OK);
	nine = (uint8_t *)der_written(&w).data;
	assert_int_equal(reg_sealed_keys_decode(nine, der_written(&w).len, &back),
	    LETHE_ERR_TOO_BIG);
	assert_int_equal(back.nkeys, 0);
	der_writer_free(&w);
	reg_free_secret(der, len);

	/* An empty list and a zero-length key are malformed. */
	{
		static const uint8_t empty[] = { 0x30, 0x00 };
		static const uint8_t zero_key[] = { 0x30, 0x10, 0x30, 0x0e,
			0xa0, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x03, 0x02, 0x01, 0x11,
			0xa2, 0x02, 0x04, 0x00 };

		assert_int_equal(reg_sealed_keys_decode(empty, sizeof(empty), &back),
		    LETHE_ERR_DER_VALUE);
		assert_int_equal(reg_sealed_keys_decode(zero_key, sizeof(zero_key), &back),
		    LETHE_ERR_DER_VALUE);
	}
}

static void
test_request_nine_windows(void **state)
{
	reg_reply r, back;
	uint8_t *der = NULL;
	size_t len = 0;
	der_writer w;

	(void)state;
	/* A reply whose granted list holds nine windows, built by hand. */
	sample_reply(&r);
	r.ngranted = REG_MAX_KEYS;
	for (size_t i = 0; i < REG_MAX_KEYS; i++)
		r.granted[i] = r.granted[0];
	assert_int_equal(reg_reply_encode(&r, &der, &len), LETHE_OK);
	assert_int_equal(reg_reply_decode(der, len, &back), LETHE_OK);
	assert_int_equal(back.ngranted, REG_MAX_KEYS);
	free(der);
	{
		size_t m = 0, mk;

		der_writer_init(&w, REG_MAX_MESSAGE);
		for (size_t i = 0; i < REG_MAX_KEYS + 1; i++) {
			mk = der_mark(&w);
			der_put_ctx_gtime(&w, 3, T0);
			der_put_ctx_gtime(&w, 2, T0);
			der_put_ctx_int64(&w, 1, 18);
			der_put_ctx_uint32(&w, 0, (uint32_t)i);
			der_wrap(&w, mk, DER_SEQUENCE);
		}
		der_wrap(&w, m, DER_SEQUENCE);
		der_wrap(&w, m, DER_CTX(4));
		der_put_ctx_gtime(&w, 3, T0);
		mk = der_mark(&w);
		der_put_raw(&w, "x", 1);
		der_wrap(&w, mk, DER_UTF8_STRING);
		der_wrap(&w, mk, DER_CTX(2));
		der_put_ctx_int64(&w, 1, 0);
		der_put_ctx_octets(&w, 0, r.nonce, REG_NONCE_LEN);
		der_wrap(&w, m, DER_SEQUENCE);
		assert_int_equal(der_writer_status(&w), LETHE_OK);
		assert_int_equal(reg_reply_decode(der_written(&w).data, der_written(&w).len,
		    &back), LETHE_ERR_TOO_BIG);
		der_writer_free(&w);
	}
}

static void
test_result_names(void **state)
{
	(void)state;
	assert_string_equal(reg_result_str(REG_OK), "OK");
	assert_string_equal(reg_result_str(REG_SEALED_KEYS), "SEALED_KEYS");
	assert_string_equal(reg_result_str(REG_INTERNAL), "INTERNAL");
	assert_string_equal(reg_result_str(REG_RESULT_COUNT), "UNKNOWN");
	assert_string_equal(reg_result_str(-1), "UNKNOWN");
	assert_int_equal(REG_WRONG_REALM, 13);
	assert_string_equal(reg_content_type_oid(REG_CT_REPLY),
	    "2.25.277744589795350331030697172985689738597.1.2");
	assert_null(reg_content_type_oid((enum reg_content_type)9));
}

/* A public-key ticket's content opens only for the server it was sealed for. */
static void
test_ticket_binding(void **state)
{
	static const uint8_t part[] = { 0x63, 0x03, 0x02, 0x01, 0x05 };   /* stands in */
	lbytes a_comp[2] = { { (const uint8_t *)"HTTP", 4 }, { (const uint8_t *)"a.x", 3 } };
	lbytes b_comp[2] = { { (const uint8_t *)"HTTP", 4 }, { (const uint8_t *)"b.x", 3 } };
	krb_principal_name a = { 3, a_comp, 2 }, b = { 3, b_comp, 2 };
	lbytes realm = { (const uint8_t *)"X", 1 }, other = { (const uint8_t *)"Y", 1 }, got, sealed;
	lethe_arena arena;
	der_writer w;

	(void)state;
	lethe_arena_init(&arena, 4096);
	der_writer_init(&w, 4096);
	der_put_raw(&w, part, sizeof(part));
	assert_int_equal(reg_ticket_bind(&w, 0, realm, &a), LETHE_OK);
	assert_int_equal(der_writer_status(&w), LETHE_OK);
	got = der_written(&w);
	sealed = got;
	assert_int_equal(reg_ticket_unbind(sealed.data, sealed.len, realm, &a, &arena, &got),
	    LETHE_OK);
	assert_int_equal(got.len, sizeof(part));
	assert_memory_equal(got.data, part, sizeof(part));
	assert_int_equal(reg_ticket_unbind(sealed.data, sealed.len, realm, &b, &arena, &got),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(reg_ticket_unbind(sealed.data, sealed.len, other, &a, &arena, &got),
	    LETHE_ERR_BAD_INTEGRITY);
	/* A bare EncTicketPart (an older KDC's) is not the bound content. */
	assert_int_not_equal(reg_ticket_unbind(part, sizeof(part), realm, &a, &arena, &got),
	    LETHE_OK);
	der_writer_free(&w);
	lethe_arena_free(&arena);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_binding),
		cmocka_unit_test(test_key_request_exact_bytes),
		cmocka_unit_test(test_key_request_negatives),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_encode_refuses),
		cmocka_unit_test(test_request_decode_negatives),
		cmocka_unit_test(test_nonce_17_bytes),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_reply_negatives),
		cmocka_unit_test(test_sealed_keys_round_trip),
		cmocka_unit_test(test_sealed_keys_nine_keys),
		cmocka_unit_test(test_request_nine_windows),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
