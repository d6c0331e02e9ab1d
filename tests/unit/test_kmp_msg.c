/* Unit tests for src/kmp codec: sample capture frames, round trips, negatives. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_kmp_frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmp/kmp.h"

#define FRAME_COUNT 10

static const char CMS[] = "cms/cms1.example.net@EXAMPLE.NET";
static const char PROV[] = "mtaprovsrvr/prov1.example.net@EXAMPLE.NET";

/* ---- helpers ---- */

static void
assert_lbytes_str(lbytes b, const char *s)
{
	assert_int_equal(b.len, strlen(s));
	assert_memory_equal(b.data, s, b.len);
}

static void
assert_lbytes_hex(lbytes b, const char *hex)
{
	uint8_t want[64];
	size_t n = unhex(hex, want, sizeof(want));

	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
}

/* Decode must fail with rc and fault. */
static void
assert_refused(const uint8_t *buf, size_t len, lethe_status rc, kmp_fault fault)
{
	kmp_msg m;

	assert_int_equal(kmp_decode(buf, len, &m), rc);
	assert_int_equal(m.fault, fault);
}

/* decode -> encode must give the same bytes. */
static void
assert_reencodes(const uint8_t *buf, size_t len)
{
	uint8_t out[FRAME_MAX];
	size_t out_len = 0, need = 0;
	kmp_msg m;

	assert_int_equal(kmp_decode(buf, len, &m), LETHE_OK);
	assert_int_equal(m.fault, KMP_FAULT_NONE);
	assert_int_equal(kmp_encoded_len(&m, &need), LETHE_OK);
	assert_int_equal(need, len);
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &out_len), LETHE_OK);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, buf, len);
	/* One byte short of room: refused, nothing claimed written. */
	assert_int_equal(kmp_encode(&m, out, len - 1, &out_len),
	    LETHE_ERR_TOO_BIG);
}

static void
decode_frame(int number, uint8_t *buf, size_t *len, kmp_msg *m)
{
	*len = load_frame(number, buf);
	assert_int_equal(kmp_decode(buf, *len, m), LETHE_OK);
	assert_int_equal(m->version, KMP_VERSION);
}

/* ---- sample capture: exact field values ---- */

static void
test_frame01_wake_up_ipsec(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	(void)state;

	decode_frame(1, buf, &len, &m);
	assert_int_equal(len, 40);
	assert_int_equal(m.kmmid, KMP_WAKE_UP);
	assert_int_equal(m.doi, KMP_DOI_IPSEC);
	assert_int_equal(m.u.wake_up.server_nonce, 0x1a2b3c4du);
	assert_lbytes_str(m.u.wake_up.principal, CMS);
}

static void
test_frame02_ap_request_ipsec(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	const kmp_ap_request *r = &m.u.ap_request;
	(void)state;

	decode_frame(2, buf, &len, &m);
	assert_int_equal(len, 338);
	assert_int_equal(m.kmmid, KMP_AP_REQUEST);
	assert_int_equal(m.doi, KMP_DOI_IPSEC);
	assert_ptr_equal(r->ap_req.data, buf + 3);
	assert_int_equal(r->ap_req.data[0], 0x6e);
	/* 338 = 29 + K + A(4) + 2n(6) */
	assert_int_equal(r->ap_req.len, 338 - 29 - 4 - 6);
	assert_int_equal(r->server_nonce, 0x1a2b3c4du);
	assert_int_equal(r->asd.spi, 0x0000c001u);
	assert_int_equal(r->suites.count, 3);
	assert_int_equal(r->suites.suite[0].auth, KMP_IPSEC_AUTH_HMAC_SHA1_96);
	assert_int_equal(r->suites.suite[0].enc, KMP_IPSEC_ENC_AES_CBC_128);
	assert_int_equal(r->suites.suite[1].auth, KMP_IPSEC_AUTH_HMAC_SHA1_96);
	assert_int_equal(r->suites.suite[1].enc, KMP_IPSEC_ENC_3DES);
	assert_int_equal(r->suites.suite[2].auth, KMP_IPSEC_AUTH_HMAC_MD5_96);
	assert_int_equal(r->suites.suite[2].enc, KMP_IPSEC_ENC_NULL);
	assert_true(r->reestablish);
	assert_memory_equal(r->hmac, buf + len - 20, 20);
}

static void
test_frame03_ap_reply_ipsec(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	const kmp_ap_reply *r = &m.u.ap_reply;
	(void)state;

	decode_frame(3, buf, &len, &m);
	assert_int_equal(len, 131);
	assert_int_equal(m.kmmid, KMP_AP_REPLY);
	assert_int_equal(m.doi, KMP_DOI_IPSEC);
	assert_int_equal(r->ap_rep.data[0], 0x6f);
	assert_int_equal(r->ap_rep.len, 131 - 36 - 4);
	assert_int_equal(r->asd.spi, 0x0000b001u);
	assert_int_equal(r->suite.auth, KMP_IPSEC_AUTH_HMAC_SHA1_96);
	assert_int_equal(r->suite.enc, KMP_IPSEC_ENC_AES_CBC_128);
	assert_int_equal(r->lifetime, 7u * 24 * 3600);
	assert_int_equal(r->grace_period, 600);
	assert_true(r->reestablish);
	assert_true(r->ack_required);
	assert_lbytes_hex(lbytes_make(r->hmac, 20),
	    "92ede0179dbff525d4065b3323588d7569421362");
}

static void
test_frame04_sa_recovered_ipsec(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	(void)state;

	decode_frame(4, buf, &len, &m);
	assert_int_equal(len, 23);
	assert_int_equal(m.kmmid, KMP_SA_RECOVERED);
	assert_int_equal(m.doi, KMP_DOI_IPSEC);
	assert_memory_equal(m.u.sa_recovered.hmac, buf + 3, 20);
}

static void
test_frame05_rekey(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	const kmp_rekey *r = &m.u.rekey;
	(void)state;

	decode_frame(5, buf, &len, &m);
	assert_int_equal(len, 89);
	assert_int_equal(m.kmmid, KMP_REKEY);
	assert_int_equal(m.doi, KMP_DOI_IPSEC);
	assert_int_equal(r->server_nonce, 0x5e6f7081u);
	assert_lbytes_str(r->principal, CMS);
	assert_int_equal(r->timestamp, 1735733100);    /* 2025-01-01 12:05:00Z */
	assert_int_equal(r->spi, 0x0000b002u);
	assert_int_equal(r->suites.count, 1);
	assert_int_equal(r->suites.suite[0].auth, KMP_IPSEC_AUTH_HMAC_SHA1_96);
	assert_int_equal(r->suites.suite[0].enc, KMP_IPSEC_ENC_AES_CBC_128);
	assert_int_equal(r->lifetime, 604800);
	assert_int_equal(r->grace_period, 600);
	assert_false(r->reestablish);
	assert_memory_equal(r->hmac, buf + len - 20, 20);
}

static void
test_frame06_error_reply(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	(void)state;

	decode_frame(6, buf, &len, &m);
	assert_int_equal(len, 97);
	assert_int_equal(m.kmmid, KMP_ERROR_REPLY);
	assert_int_equal(m.doi, KMP_DOI_IPSEC);
	assert_ptr_equal(m.u.error_reply.krb_error.data, buf + 3);
	assert_int_equal(m.u.error_reply.krb_error.len, 94);
	assert_int_equal(m.u.error_reply.krb_error.data[0], 0x7e);
}

static void
test_frame07_wake_up_snmp(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	(void)state;

	decode_frame(7, buf, &len, &m);
	assert_int_equal(len, 49);
	assert_int_equal(m.kmmid, KMP_WAKE_UP);
	assert_int_equal(m.doi, KMP_DOI_SNMPV3);
	assert_int_equal(m.u.wake_up.server_nonce, 0x0badcafeu);
	assert_lbytes_str(m.u.wake_up.principal, PROV);
}

static void
test_frame08_ap_request_snmp(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	const kmp_ap_request *r = &m.u.ap_request;
	(void)state;

	decode_frame(8, buf, &len, &m);
	assert_int_equal(len, 376);
	assert_int_equal(m.kmmid, KMP_AP_REQUEST);
	assert_int_equal(m.doi, KMP_DOI_SNMPV3);
	assert_int_equal(r->ap_req.data[0], 0x6e);
	/* A = 1 + 11 + 4 + 4 + 1 + 14 = 35, 2n = 4 */
	assert_int_equal(r->ap_req.len, 376 - 29 - 35 - 4);
	assert_int_equal(r->server_nonce, 0x0badcafeu);
	assert_lbytes_hex(r->asd.snmp.engine_id, "8000118b03001018000002");
	assert_int_equal(r->asd.snmp.engine_boots, 3);
	assert_int_equal(r->asd.snmp.engine_time, 120);
	assert_lbytes_str(r->asd.snmp.user_name, "MTA-Prov-Admin");
	assert_int_equal(r->suites.count, 2);
	assert_int_equal(r->suites.suite[0].auth, KMP_SNMP_AUTH_HMAC_SHA1_96);
	assert_int_equal(r->suites.suite[0].enc, KMP_SNMP_PRIV_DES_CBC);
	assert_int_equal(r->suites.suite[1].auth, KMP_SNMP_AUTH_HMAC_MD5_96);
	assert_int_equal(r->suites.suite[1].enc, KMP_SNMP_PRIV_NONE);
	assert_false(r->reestablish);
	assert_lbytes_hex(lbytes_make(r->hmac, 20),
	    "68148f208efff87a399cc9d77e1ab83b94762a42");
}

static void
test_frame09_ap_reply_snmp(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	const kmp_ap_reply *r = &m.u.ap_reply;
	(void)state;

	decode_frame(9, buf, &len, &m);
	assert_int_equal(len, 161);
	assert_int_equal(m.kmmid, KMP_AP_REPLY);
	assert_int_equal(m.doi, KMP_DOI_SNMPV3);
	assert_int_equal(r->ap_rep.data[0], 0x6f);
	assert_lbytes_hex(r->asd.snmp.engine_id, "8000118b0470726f7631");
	assert_int_equal(r->asd.snmp.engine_boots, 1);
	assert_int_equal(r->asd.snmp.engine_time, 4000);
	assert_lbytes_str(r->asd.snmp.user_name, "MTA-Prov-Admin");
	assert_int_equal(r->suite.auth, KMP_SNMP_AUTH_HMAC_SHA1_96);
	assert_int_equal(r->suite.enc, KMP_SNMP_PRIV_DES_CBC);
	assert_int_equal(r->lifetime, 3600);
	assert_int_equal(r->grace_period, 300);
	assert_false(r->reestablish);
	assert_true(r->ack_required);
}

static void
test_frame10_sa_recovered_snmp(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	kmp_msg m;
	(void)state;

	decode_frame(10, buf, &len, &m);
	assert_int_equal(len, 23);
	assert_int_equal(m.kmmid, KMP_SA_RECOVERED);
	assert_int_equal(m.doi, KMP_DOI_SNMPV3);
}

/* ---- round trips ---- */

static void
test_frames_reencode_exactly(void **state)
{
	uint8_t buf[FRAME_MAX];
	int i;
	(void)state;

	for (i = 1; i <= FRAME_COUNT; i++)
		assert_reencodes(buf, load_frame(i, buf));
	/* Error Reply in the SNMPv3 DOI too. */
	load_frame(6, buf);
	buf[1] = KMP_DOI_SNMPV3;
	assert_reencodes(buf, 97);
}

/* Build every message from fields, both DOIs; encode, decode, re-encode. */
static void
roundtrip_struct(const kmp_msg *in)
{
	uint8_t a[FRAME_MAX], b[FRAME_MAX];
	size_t alen = 0, blen = 0;
	kmp_msg back;

	assert_int_equal(kmp_encode(in, a, sizeof(a), &alen), LETHE_OK);
	assert_int_equal(kmp_decode(a, alen, &back), LETHE_OK);
	assert_int_equal(back.kmmid, in->kmmid);
	assert_int_equal(back.doi, in->doi);
	assert_int_equal(kmp_encode(&back, b, sizeof(b), &blen), LETHE_OK);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
}

static void
test_struct_roundtrip_all(void **state)
{
	uint8_t f2[FRAME_MAX], f3[FRAME_MAX], f6[FRAME_MAX];
	kmp_msg req, rep, err, m;
	kmp_doi doi;
	(void)state;

	/* Kerberos bytes from the sample capture. */
	assert_int_equal(kmp_decode(f2, load_frame(2, f2), &req), LETHE_OK);
	assert_int_equal(kmp_decode(f3, load_frame(3, f3), &rep), LETHE_OK);
	assert_int_equal(kmp_decode(f6, load_frame(6, f6), &err), LETHE_OK);
	for (doi = KMP_DOI_IPSEC; doi <= KMP_DOI_SNMPV3; doi++) {
		memset(&m, 0, sizeof(m));
		m.doi = doi;
		m.kmmid = KMP_WAKE_UP;
		m.u.wake_up.server_nonce = 0xffffffffu;
		m.u.wake_up.principal = LBYTES_LIT("a@B");
		roundtrip_struct(&m);

		memset(&m, 0, sizeof(m));
		m.doi = doi;
		m.kmmid = KMP_AP_REQUEST;
		m.u.ap_request.ap_req = req.u.ap_request.ap_req;
		m.u.ap_request.server_nonce = KMP_NONCE_CLIENT_INITIATED;
		m.u.ap_request.asd.spi = 256;
		m.u.ap_request.asd.snmp.engine_id = LBYTES_LIT("\x80\x00\x11\x8b\x04");
		m.u.ap_request.asd.snmp.engine_boots = 0x7fffffffu;
		m.u.ap_request.asd.snmp.engine_time = 0;
		m.u.ap_request.asd.snmp.user_name = LBYTES_LIT("u");
		m.u.ap_request.suites.count = KMP_MAX_SUITES;
		m.u.ap_request.reestablish = true;
		memset(m.u.ap_request.hmac, 0xa5, KMP_HMAC_LEN);
		roundtrip_struct(&m);

		memset(&m, 0, sizeof(m));
		m.doi = doi;
		m.kmmid = KMP_AP_REPLY;
		m.u.ap_reply.ap_rep = rep.u.ap_reply.ap_rep;
		m.u.ap_reply.asd.spi = 0xffffffffu;
		m.u.ap_reply.asd.snmp.engine_id = LBYTES_LIT(
		    "0123456789abcdef0123456789abcdef");
		m.u.ap_reply.asd.snmp.user_name = LBYTES_LIT(
		    "0123456789abcdef0123456789abcdef");
		m.u.ap_reply.suite.auth = 0x22;
		m.u.ap_reply.suite.enc = 0x21;
		m.u.ap_reply.lifetime = 0xffffffffu;
		m.u.ap_reply.ack_required = true;
		roundtrip_struct(&m);

		memset(&m, 0, sizeof(m));
		m.doi = doi;
		m.kmmid = KMP_SA_RECOVERED;
		memset(m.u.sa_recovered.hmac, 0x5a, KMP_HMAC_LEN);
		roundtrip_struct(&m);

		memset(&m, 0, sizeof(m));
		m.doi = doi;
		m.kmmid = KMP_ERROR_REPLY;
		m.u.error_reply.krb_error = err.u.error_reply.krb_error;
		roundtrip_struct(&m);
	}
	memset(&m, 0, sizeof(m));
	m.doi = KMP_DOI_IPSEC;
	m.kmmid = KMP_REKEY;
	m.u.rekey.server_nonce = 1;
	m.u.rekey.principal = LBYTES_LIT("cms/x@Y");
	m.u.rekey.timestamp = 2524607999;
	m.u.rekey.spi = 0x12345678u;
	m.u.rekey.suites.count = 2;
	m.u.rekey.suites.suite[1].auth = 0x02;
	m.u.rekey.lifetime = 1;
	m.u.rekey.grace_period = 2;
	roundtrip_struct(&m);
	/* The same Rekey in the SNMPv3 DOI cannot be encoded. */
	m.doi = KMP_DOI_SNMPV3;
	assert_int_equal(kmp_encoded_len(&m, &(size_t){ 0 }),
	    LETHE_ERR_INVALID_ARG);
}

/* ---- negatives ---- */

static void
test_truncated_at_every_length(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len, cut;
	kmp_msg m;
	int i;
	(void)state;

	for (i = 1; i <= FRAME_COUNT; i++) {
		len = load_frame(i, buf);
		for (cut = 0; cut < len; cut++) {
			lethe_status rc = kmp_decode(buf, cut, &m);

			assert_int_not_equal(rc, LETHE_OK);
			assert_int_not_equal(m.fault, KMP_FAULT_NONE);
			/* Only a Wake Up cut inside its principal is not
			 * plain truncation: its NUL is missing. */
			if (buf[0] == KMP_WAKE_UP && cut >= 7)
				assert_int_equal(m.fault, KMP_FAULT_PRINCIPAL);
			else if (buf[0] != KMP_REKEY)
				assert_int_equal(m.fault, KMP_FAULT_TRUNCATED);
		}
	}
	/* NULL with length 0 is a truncated message, not a crash. */
	assert_refused(NULL, 0, LETHE_ERR_DER_TRUNCATED, KMP_FAULT_TRUNCATED);
}

static void
test_one_byte_longer(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	int i;
	(void)state;

	for (i = 1; i <= FRAME_COUNT; i++) {
		len = load_frame(i, buf);
		buf[len] = 0x00;
		assert_refused(buf, len + 1, LETHE_ERR_DER_TRAILING,
		    KMP_FAULT_TRAILING);
		buf[len] = 0x6e;
		assert_refused(buf, len + 1, LETHE_ERR_DER_TRAILING,
		    KMP_FAULT_TRAILING);
	}
}

static void
test_bad_header(void **state)
{
	static const uint8_t bad_kmmid[] = { 0x00, 0x07, 0x08, 0x7f, 0xff };
	static const uint8_t bad_doi[] = { 0x00, 0x03, 0x10, 0xff };
	static const uint8_t bad_version[] = { 0x00, 0x01, 0x11, 0x20, 0x0f };
	uint8_t buf[FRAME_MAX];
	size_t len, i;
	(void)state;

	len = load_frame(1, buf);
	for (i = 0; i < sizeof(bad_kmmid); i++) {
		buf[0] = bad_kmmid[i];
		assert_refused(buf, len, LETHE_ERR_UNSUPPORTED, KMP_FAULT_KMMID);
	}
	buf[0] = KMP_WAKE_UP;
	for (i = 0; i < sizeof(bad_doi); i++) {
		buf[1] = bad_doi[i];
		assert_refused(buf, len, LETHE_ERR_UNSUPPORTED, KMP_FAULT_DOI);
	}
	buf[1] = KMP_DOI_IPSEC;
	for (i = 0; i < sizeof(bad_version); i++) {
		buf[2] = bad_version[i];
		assert_refused(buf, len, LETHE_ERR_UNSUPPORTED,
		    KMP_FAULT_VERSION);
	}
	buf[2] = KMP_VERSION;
	assert_reencodes(buf, len);
}

static void
test_snmp_rekey_refused(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	(void)state;

	len = load_frame(5, buf);
	buf[1] = KMP_DOI_SNMPV3;
	assert_refused(buf, len, LETHE_ERR_UNSUPPORTED, KMP_FAULT_DOI_MESSAGE);
}

static void
test_principal_rules(void **state)
{
	uint8_t buf[FRAME_MAX], big[300];
	size_t len;
	(void)state;

	len = load_frame(1, buf);
	/* Missing NUL: principal runs to the end of the datagram. */
	buf[len - 1] = 'X';
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_PRINCIPAL);
	/* Empty principal. */
	buf[7] = 0x00;
	assert_refused(buf, 8, LETHE_ERR_FORMAT, KMP_FAULT_PRINCIPAL);
	/* Control character and space inside. */
	len = load_frame(1, buf);
	buf[10] = 0x01;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_PRINCIPAL);
	buf[10] = ' ';
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_PRINCIPAL);
	/* 255 bytes + NUL accepted, 256 refused. */
	memcpy(big, buf, 7);
	memset(big + 7, 'a', 256);
	big[7 + 255] = 0x00;
	assert_reencodes(big, 7 + 256);
	big[7 + 255] = 'a';
	big[7 + 256] = 0x00;
	assert_refused(big, 7 + 257, LETHE_ERR_FORMAT, KMP_FAULT_PRINCIPAL);
	/* Rekey without the NUL fails too (fields then misparse). */
	len = load_frame(5, buf);
	buf[7 + strlen(CMS)] = 'X';
	assert_int_not_equal(kmp_decode(buf, len, &(kmp_msg){ 0 }), LETHE_OK);
}

/* Offset of the ciphersuite count in an IPsec AP Request. */
static size_t
ap_request_count_offset(const uint8_t *buf, size_t len)
{
	kmp_msg m;

	assert_int_equal(kmp_decode(buf, len, &m), LETHE_OK);
	return 3 + m.u.ap_request.ap_req.len + 4 + 4;
}

static void
test_suite_counts(void **state)
{
	uint8_t buf[FRAME_MAX], big[FRAME_MAX];
	size_t len, off, blen;
	(void)state;

	len = load_frame(2, buf);
	off = ap_request_count_offset(buf, len);
	assert_int_equal(buf[off], 3);
	/* Count beyond the bytes. */
	buf[off] = 0xff;
	assert_refused(buf, len, LETHE_ERR_DER_TRUNCATED, KMP_FAULT_TRUNCATED);
	buf[off] = 15;  /* needs 30 bytes, 27 remain */
	assert_refused(buf, len, LETHE_ERR_DER_TRUNCATED, KMP_FAULT_TRUNCATED);
	buf[off] = 0;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_SUITES);
	/* 33 entries present: above KMP_MAX_SUITES. */
	memcpy(big, buf, off);
	big[off] = KMP_MAX_SUITES + 1;
	memset(big + off + 1, 0x02, 2 * (KMP_MAX_SUITES + 1));
	blen = off + 1 + 2 * (KMP_MAX_SUITES + 1);
	big[blen++] = 0x01;
	memset(big + blen, 0, KMP_HMAC_LEN);
	blen += KMP_HMAC_LEN;
	assert_refused(big, blen, LETHE_ERR_TOO_BIG, KMP_FAULT_SUITES);
	/* 32 entries: accepted and re-encoded exactly. */
	big[off] = KMP_MAX_SUITES;
	memmove(big + off + 1 + 2 * KMP_MAX_SUITES,
	    big + off + 1 + 2 * (KMP_MAX_SUITES + 1), 1 + KMP_HMAC_LEN);
	assert_reencodes(big, blen - 2);
	/* AP Reply must carry exactly one suite. */
	len = load_frame(3, buf);
	off = len - 20 - 10 - 3;
	assert_int_equal(buf[off], 1);
	buf[off] = 2;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_SUITES);
	buf[off] = 0;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_SUITES);
}

static void
test_flags(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	(void)state;

	len = load_frame(3, buf);       /* ... reestablish, ack, hmac */
	buf[len - 21] = 2;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_FLAG);
	buf[len - 21] = 1;
	buf[len - 22] = 0xff;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_FLAG);
	len = load_frame(2, buf);
	buf[len - 21] = 0x80;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_FLAG);
	len = load_frame(5, buf);
	buf[len - 21] = 3;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_FLAG);
}

static void
test_kerberos_element(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len;
	(void)state;

	/* Wrong outer tag in each carrying message. */
	len = load_frame(2, buf);
	buf[3] = 0x6f;
	assert_refused(buf, len, LETHE_ERR_DER_TAG, KMP_FAULT_KERBEROS);
	len = load_frame(3, buf);
	buf[3] = 0x6e;
	assert_refused(buf, len, LETHE_ERR_DER_TAG, KMP_FAULT_KERBEROS);
	len = load_frame(6, buf);
	buf[3] = 0x30;
	assert_refused(buf, len, LETHE_ERR_DER_TAG, KMP_FAULT_KERBEROS);
	/* Error Reply's inner SEQUENCE replaced by another tag. */
	len = load_frame(6, buf);
	assert_int_equal(buf[5], 0x30);
	buf[5] = 0x31;
	assert_refused(buf, len, LETHE_ERR_DER_TAG, KMP_FAULT_KERBEROS);
	/* Indefinite length. */
	len = load_frame(6, buf);
	buf[4] = 0x80;
	assert_int_not_equal(kmp_decode(buf, len, &(kmp_msg){ 0 }), LETHE_OK);
	/* Outer length claiming more than the datagram holds. */
	len = load_frame(6, buf);
	buf[4] = 0x7f;
	assert_refused(buf, len, LETHE_ERR_DER_TRUNCATED, KMP_FAULT_TRUNCATED);
}

static void
test_asd_rules(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len, off;
	kmp_msg m;
	(void)state;

	/* SPI below 256 (IPsec AP Reply). */
	len = load_frame(3, buf);
	assert_int_equal(kmp_decode(buf, len, &m), LETHE_OK);
	off = 3 + m.u.ap_reply.ap_rep.len;
	memset(buf + off, 0, 4);
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_ASD);
	buf[off + 3] = 0xff;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_ASD);
	buf[off + 2] = 0x01;
	buf[off + 3] = 0x00;
	assert_int_equal(kmp_decode(buf, len, &m), LETHE_OK);
	assert_int_equal(m.u.ap_reply.asd.spi, 256);
	/* SNMPv3: engine ID length 4, user name length 0, boots > 2^31-1. */
	len = load_frame(8, buf);
	assert_int_equal(kmp_decode(buf, len, &m), LETHE_OK);
	off = 3 + m.u.ap_request.ap_req.len + 4;
	assert_int_equal(buf[off], 11);
	buf[off] = 4;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_ASD);
	len = load_frame(8, buf);
	buf[off + 1 + 11] = 0x80;       /* engine boots high byte */
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_ASD);
	len = load_frame(8, buf);
	assert_int_equal(buf[off + 1 + 11 + 8], 14);
	buf[off + 1 + 11 + 8] = 0;
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_ASD);
	buf[off + 1 + 11 + 8] = 200;
	assert_refused(buf, len, LETHE_ERR_DER_TRUNCATED, KMP_FAULT_TRUNCATED);
}

static void
test_rekey_timestamp(void **state)
{
	uint8_t buf[FRAME_MAX];
	size_t len, off;
	(void)state;

	len = load_frame(5, buf);
	off = 7 + strlen(CMS) + 1;
	assert_memory_equal(buf + off, "250101120500Z", 13);
	memcpy(buf + off, "250230120500Z", 13);     /* 30 February */
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_TIMESTAMP);
	memcpy(buf + off, "250101120500z", 13);
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_TIMESTAMP);
	memcpy(buf + off, "2501011205 0Z", 13);
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_TIMESTAMP);
	memcpy(buf + off, "250101240000Z", 13);
	assert_refused(buf, len, LETHE_ERR_FORMAT, KMP_FAULT_TIMESTAMP);
	memcpy(buf + off, "240229235959Z", 13);     /* leap day */
	assert_reencodes(buf, len);
}

static void
test_timestamp_functions(void **state)
{
	static const struct {
		int64_t t;
		const char *s;
	} v[] = {
		{ 0, "700101000000Z" },
		{ 1735733100, "250101120500Z" },
		{ -631152000, "500101000000Z" },
		{ -1, "691231235959Z" },
		{ 946684799, "991231235959Z" },
		{ 946684800, "000101000000Z" },
		{ 951782400, "000229000000Z" },
		{ 2524607999, "491231235959Z" },
	};
	uint8_t out[KMP_TIMESTAMP_LEN];
	int64_t t;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(kmp_timestamp_format(v[i].t, out), LETHE_OK);
		assert_memory_equal(out, v[i].s, KMP_TIMESTAMP_LEN);
		assert_int_equal(kmp_timestamp_parse(out, &t), LETHE_OK);
		assert_int_equal(t, v[i].t);
	}
	assert_int_equal(kmp_timestamp_format(-631152001, out),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_timestamp_format(2524608000, out),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_timestamp_parse((const uint8_t *)"010229000000Z",
	    &t), LETHE_ERR_FORMAT);
	assert_int_equal(kmp_timestamp_parse((const uint8_t *)"251301000000Z",
	    &t), LETHE_ERR_FORMAT);
	assert_int_equal(kmp_timestamp_parse((const uint8_t *)"250100000000Z",
	    &t), LETHE_ERR_FORMAT);
	assert_int_equal(kmp_timestamp_parse((const uint8_t *)"250101235960Z",
	    &t), LETHE_ERR_FORMAT);
}

static void
test_too_big(void **state)
{
	uint8_t *buf = calloc(1, KMP_MAX_MSG_LEN + 1);
	(void)state;

	assert_non_null(buf);
	buf[0] = KMP_ERROR_REPLY;
	buf[1] = KMP_DOI_IPSEC;
	buf[2] = KMP_VERSION;
	assert_refused(buf, KMP_MAX_MSG_LEN + 1, LETHE_ERR_TOO_BIG,
	    KMP_FAULT_TOO_BIG);
	free(buf);
}

static void
test_encode_refusals(void **state)
{
	uint8_t f2[FRAME_MAX], out[FRAME_MAX];
	size_t len, n = 0;
	kmp_msg m, req;
	(void)state;

	len = load_frame(2, f2);
	assert_int_equal(kmp_decode(f2, len, &req), LETHE_OK);
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_WAKE_UP;
	m.doi = KMP_DOI_IPSEC;
	m.u.wake_up.principal = LBYTES_LIT("a\0b");
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m.u.wake_up.principal = LBYTES_LIT("");
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m.doi = 3;
	m.u.wake_up.principal = LBYTES_LIT("a@B");
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m.doi = KMP_DOI_IPSEC;
	m.kmmid = 7;
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);

	m = req;
	m.u.ap_request.suites.count = 0;
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m.u.ap_request.suites.count = KMP_MAX_SUITES + 1;
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m = req;
	m.u.ap_request.asd.spi = 255;
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	/* Kerberos bytes with a trailing byte, or missing. */
	m = req;
	m.u.ap_request.ap_req.len++;
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m.u.ap_request.ap_req = (lbytes){ NULL, 0 };
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	/* SNMPv3 engine ID too short. */
	m = req;
	m.doi = KMP_DOI_SNMPV3;
	m.u.ap_request.asd.snmp.engine_id = LBYTES_LIT("1234");
	m.u.ap_request.asd.snmp.user_name = LBYTES_LIT("u");
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n),
	    LETHE_ERR_INVALID_ARG);
	m.u.ap_request.asd.snmp.engine_id = LBYTES_LIT("12345");
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &n), LETHE_OK);
	assert_int_equal(n, len - 4 + 1 + 5 + 8 + 1 + 1);
}

static void
test_hmac_range(void **state)
{
	uint8_t buf[FRAME_MAX];
	lbytes covered, mac;
	size_t len;
	int i;
	(void)state;

	for (i = 1; i <= FRAME_COUNT; i++) {
		len = load_frame(i, buf);
		if (!kmp_has_hmac((kmp_kmmid)buf[0])) {
			assert_int_equal(kmp_hmac_range(buf, len, &covered,
			    &mac), LETHE_ERR_UNSUPPORTED);
			continue;
		}
		assert_int_equal(kmp_hmac_range(buf, len, &covered, &mac),
		    LETHE_OK);
		assert_ptr_equal(covered.data, buf);
		assert_int_equal(covered.len, len - 20);
		assert_ptr_equal(mac.data, buf + len - 20);
		assert_int_equal(mac.len, 20);
	}
	buf[0] = KMP_SA_RECOVERED;
	assert_int_equal(kmp_hmac_range(buf, 22, &covered, &mac),
	    LETHE_ERR_DER_TRUNCATED);
	assert_int_equal(kmp_hmac_range(buf, 0, &covered, &mac),
	    LETHE_ERR_DER_TRUNCATED);
	buf[0] = 0x09;
	assert_int_equal(kmp_hmac_range(buf, 23, &covered, &mac),
	    LETHE_ERR_UNSUPPORTED);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(kmp_kmmid_name(KMP_REKEY), "Rekey");
	assert_string_equal(kmp_kmmid_name((kmp_kmmid)0), "unknown");
	assert_string_equal(kmp_doi_name(KMP_DOI_SNMPV3), "SNMPv3");
	assert_string_equal(kmp_doi_name((kmp_doi)9), "unknown");
	assert_string_equal(kmp_fault_name(KMP_FAULT_TIMESTAMP), "bad timestamp");
	assert_string_equal(kmp_fault_name((kmp_fault)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame01_wake_up_ipsec),
		cmocka_unit_test(test_frame02_ap_request_ipsec),
		cmocka_unit_test(test_frame03_ap_reply_ipsec),
		cmocka_unit_test(test_frame04_sa_recovered_ipsec),
		cmocka_unit_test(test_frame05_rekey),
		cmocka_unit_test(test_frame06_error_reply),
		cmocka_unit_test(test_frame07_wake_up_snmp),
		cmocka_unit_test(test_frame08_ap_request_snmp),
		cmocka_unit_test(test_frame09_ap_reply_snmp),
		cmocka_unit_test(test_frame10_sa_recovered_snmp),
		cmocka_unit_test(test_frames_reencode_exactly),
		cmocka_unit_test(test_struct_roundtrip_all),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_one_byte_longer),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_snmp_rekey_refused),
		cmocka_unit_test(test_principal_rules),
		cmocka_unit_test(test_suite_counts),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_kerberos_element),
		cmocka_unit_test(test_asd_rules),
		cmocka_unit_test(test_rekey_timestamp),
		cmocka_unit_test(test_timestamp_functions),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_hmac_range),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
