/*
 * Unit tests for src/store/mit_dump.c: MIT's kdb5_util dump records and
 * master key stash. The fixture is a real record and stash made by MIT
 * krb5 1.20 (kadmin.local addprinc alice "correct horse", then cpw
 * -keepold "'pw2'", quotes included); its keys must decrypt to what string-to-key makes of
 * those passwords. Malformed records fail with a line and a reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "store/mit_dump.h"

static const char alice_record[] =
    "princ\t38\t16\t4\t6\t0\talice@LETHE.TEST\t128\t36000\t604800\t0\t0\t"
    "0\t0\t0\t3\t24\t12345c010000000000000000000000000000000200000000\t2\t"
    "26\tda23166b726f6f742f61646d696e404c455448452e5445535400\t8\t2\t0100"
    "\t1\t4\tda23166b\t1\t2\t18\t62\t200006eb1219e982043f3ffd52d7deff6caf"
    "583781e354d275b62311a20703c5f5a874353a542604395881c716c96865258a8c1d"
    "86943a7e82c6ca2b769b\t1\t2\t17\t46\t10005b99830d4854cbc2ef311f586cca"
    "d86921343945040986286ee97434cc32103cbfbd0bf709f27b912502d97a\t1\t2\t"
    "20\t62\t20000b8b37711cb4efd4886f24ea640321b269b14d6113e2d5b21d944302"
    "a9a5b52934373a7cd27d41306d082f1e88ff5a861efc6db55fb28611b5706575\t1\t"
    "2\t19\t46\t10008b34e16e178db7bdf0f942069e6768915a1c3b2d799a712c9dbc7"
    "55e87f72524cabd966fbd40ab61957e8f6c\t1\t1\t18\t62\t200027c6401a9ef0b"
    "9b5bee6d0147405ede9d0077dec87f4c36613231b9854c39259f6b4ab06a839c4850"
    "fd6473299db9558a26d604d73812f036a7e5a2f\t1\t1\t17\t46\t1000001abc4b9"
    "59500a2021304024f7888adf31759ca93a7d0a01786ce64dcd238ff7abe22ff133b2"
    "dbd80f6bc0a\t-1;\n";

/* The stash kdb5_util create -s wrote for that realm (a keytab). */
static const char stash_hex[] =
    "0502000000450002000a4c455448452e5445535400014b00014d000000016b1623d9"
    "01001200207799f319294ca50b1f7ad0e8fdfdefb27ebfc441153fb400ce9291e477"
    "d1c9fd00000001";

#define HEADER "kdb5_util load_dump version 7\n"
#define POLICY_18 "policy\tlax\t0\t0\t6\t1\t1\t0\t0\t0\t0\n"
#define POLICY_111 "policy\tstrict\t0\t0\t8\t2\t3\t0\t5\t60\t600\t0\t0\t0\t-\t1\t7\t2\t0102\n"

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* header + parts, as one malloc'd buffer (exact length: ASan sees overreads). */
static uint8_t *
dump_of(const char *a, const char *b, const char *c, size_t *len)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	uint8_t *buf = malloc(la + lb + lc + 1);

	assert_non_null(buf);
	memcpy(buf, a, la);
	if (b != NULL)
		memcpy(buf + la, b, lb);
	if (c != NULL)
		memcpy(buf + la + lb, c, lc);
	*len = la + lb + lc;
	return buf;
}

typedef struct seen {
	size_t princs, policies;
	char names[4][64];
	size_t nnames;
	uint32_t attributes;
	size_t nkeys, ntl;
	uint32_t kvno_first, kvno_last;
	int32_t enctype_first;
	size_t policy_fields[4];
	size_t lines[4];
} seen;

static lethe_status
collect(void *ctx, const mit_record *rec)
{
	seen *s = ctx;

	if (s->nnames < 4)
		s->lines[s->nnames] = rec->line;
	if (rec->kind == MIT_RECORD_POLICY) {
		if (s->nnames < 4) {
			snprintf(s->names[s->nnames], 64, "%s", rec->policy.name);
			s->policy_fields[s->nnames++] = rec->policy.nfields;
		}
		s->policies++;
		return LETHE_OK;
	}
	if (s->nnames < 4)
		snprintf(s->names[s->nnames++], 64, "%s", rec->princ.name);
	s->princs++;
	s->attributes = rec->princ.attributes;
	s->nkeys = rec->princ.nkeys;
	s->ntl = rec->princ.ntl;
	if (rec->princ.nkeys > 0) {
		s->kvno_first = rec->princ.keys[0].kvno;
		s->enctype_first = rec->princ.keys[0].type[0];
		s->kvno_last = rec->princ.keys[rec->princ.nkeys - 1].kvno;
	}
	return LETHE_OK;
}

static void
test_parse_real_record(void **state)
{
	seen s = { 0 };
	mit_dump_error err;
	size_t len;
	uint8_t *buf = dump_of(HEADER, alice_record, POLICY_18 POLICY_111, &len);

	(void)state;
	assert_int_equal(mit_dump_parse(buf, len, collect, &s, &err), LETHE_OK);
	assert_int_equal(s.princs, 1);
	assert_int_equal(s.policies, 2);
	assert_string_equal(s.names[0], "alice@LETHE.TEST");
	assert_string_equal(s.names[1], "lax");
	assert_string_equal(s.names[2], "strict");
	assert_int_equal(s.policy_fields[1], 9);
	assert_int_equal(s.policy_fields[2], 17);
	assert_int_equal(s.lines[0], 2);
	assert_int_equal(s.lines[2], 4);
	assert_int_equal(s.attributes, MIT_REQUIRES_PRE_AUTH);
	assert_int_equal(s.ntl, 4);
	assert_int_equal(s.nkeys, 6);
	assert_int_equal(s.kvno_first, 2);
	assert_int_equal(s.enctype_first, 18);
	assert_int_equal(s.kvno_last, 1);
	free(buf);
}

/* The keys decrypt to string-to-key of the passwords MIT was given. */
typedef struct decrypt_ctx {
	mit_stash *stash;
	size_t checked;
} decrypt_ctx;

static lethe_status
decrypt_cb(void *ctx, const mit_record *rec)
{
	decrypt_ctx *d = ctx;
	const mit_principal *p = &rec->princ;
	uint32_t mkvno = 0;

	if (rec->kind != MIT_RECORD_PRINCIPAL)
		return LETHE_OK;
	assert_int_equal(mit_principal_mkvno(p, d->stash, &mkvno), LETHE_OK);
	assert_int_equal(mkvno, 1);
	for (size_t i = 0; i < p->nkeys; i++) {
		const mit_key_data *kd = &p->keys[i];
		const char *pw = kd->kvno == 2 ? "'pw2'" : "correct horse";
		uint8_t key[64];
		size_t key_len = 0;
		kc_key want;

		assert_int_equal(mit_key_decrypt(&d->stash->keys[0], kd, key,
		    sizeof(key), &key_len), LETHE_OK);
		assert_int_equal(kc_string_to_key(&want, kd->type[0],
		    lbytes_make(pw, strlen(pw)),
		    lbytes_make("LETHE.TESTalice", 15), lbytes_make(NULL, 0)),
		    LETHE_OK);
		assert_int_equal(key_len, kc_key_bytes(&want).len);
		assert_memory_equal(key, kc_key_bytes(&want).data, key_len);
		kc_key_clear(&want);
		d->checked++;
	}
	return LETHE_OK;
}

static void
test_decrypt_keys(void **state)
{
	uint8_t raw[128];
	size_t raw_len = unhex(stash_hex, raw, sizeof(raw)), len;
	mit_stash stash;
	decrypt_ctx d = { &stash, 0 };
	uint8_t *buf = dump_of(HEADER, alice_record, NULL, &len);

	(void)state;
	assert_int_equal(mit_stash_parse(raw, raw_len, NULL, &stash), LETHE_OK);
	assert_int_equal(stash.count, 1);
	assert_int_equal(stash.keys[0].kvno, 1);
	assert_string_equal(stash.realm, "LETHE.TEST");
	assert_int_equal(mit_dump_parse(buf, len, decrypt_cb, &d, NULL), LETHE_OK);
	assert_int_equal(d.checked, 6);
	mit_stash_clear(&stash);

	/* A stash of another realm's name holds no K/M we asked for. */
	assert_int_equal(mit_stash_parse(raw, raw_len, "OTHER.TEST", &stash),
	    LETHE_ERR_FORMAT);
	free(buf);
}

/* The old stash format: enctype, length (little-endian), key; kvno 1. */
static void
test_old_stash_and_wrong_key(void **state)
{
	uint8_t raw[128], old[6 + 32], key[64];
	size_t raw_len = unhex(stash_hex, raw, sizeof(raw)), key_len = 0;
	mit_stash ks, os;
	mit_key_data kd = { 0 };
	uint8_t enc[62];

	(void)state;
	assert_int_equal(mit_stash_parse(raw, raw_len, "LETHE.TEST", &ks), LETHE_OK);
	old[0] = 18; old[1] = 0; old[2] = 32; old[3] = old[4] = old[5] = 0;
	memcpy(old + 6, kc_key_bytes(&ks.keys[0].key).data, 32);
	assert_int_equal(mit_stash_parse(old, sizeof(old), NULL, &os), LETHE_OK);
	assert_int_equal(os.keys[0].kvno, 1);
	assert_string_equal(os.realm, "");
	assert_memory_equal(kc_key_bytes(&os.keys[0].key).data,
	    kc_key_bytes(&ks.keys[0].key).data, 32);
	/* Truncated, over-long, unknown enctype. */
	assert_int_equal(mit_stash_parse(old, sizeof(old) - 1, NULL, &os), LETHE_ERR_FORMAT);
	assert_int_equal(mit_stash_parse(old, 5, NULL, &os), LETHE_ERR_FORMAT);
	old[0] = 16;
	assert_int_equal(mit_stash_parse(old, sizeof(old), NULL, &os),
	    LETHE_ERR_ETYPE_NOSUPP);

	/* A key of kvno 1 from the fixture under a wrong master key. */
	unhex("200027c6401a9ef0b9b5bee6d0147405ede9d0077dec87f4c36613231b9854c3"
	    "9259f6b4ab06a839c4850fd6473299db9558a26d604d73812f036a7e5a2f",
	    enc, sizeof(enc));
	kd.ver = 1;
	kd.kvno = 1;
	kd.type[0] = 18;
	kd.data[0] = lbytes_make(enc, sizeof(enc));
	assert_int_equal(mit_key_decrypt(&ks.keys[0], &kd, key, sizeof(key),
	    &key_len), LETHE_OK);
	assert_int_equal(key_len, 32);
	enc[20] ^= 1;
	assert_int_equal(mit_key_decrypt(&ks.keys[0], &kd, key, sizeof(key),
	    &key_len), LETHE_ERR_BAD_INTEGRITY);
	enc[20] ^= 1;
	kd.data[0] = lbytes_make(enc, 1);
	assert_int_equal(mit_key_decrypt(&ks.keys[0], &kd, key, sizeof(key),
	    &key_len), LETHE_ERR_FORMAT);
	mit_stash_clear(&ks);
	mit_stash_clear(&os);
}

static lethe_status
count_cb(void *ctx, const mit_record *rec)
{
	(void)rec;
	(*(size_t *)ctx)++;
	return LETHE_OK;
}

/* Every prefix of a valid dump: OK at a record boundary, else a clean error. */
static void
test_every_prefix(void **state)
{
	size_t len, records;
	uint8_t *full = dump_of(HEADER, alice_record, POLICY_111, &len);
	size_t boundary1 = strlen(HEADER), boundary2 = boundary1 + strlen(alice_record);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n + 1);
		mit_dump_error err;
		lethe_status rc;

		assert_non_null(cut);
		memcpy(cut, full, n);
		records = 0;
		rc = mit_dump_parse(cut, n, count_cb, &records, &err);
		if (n == boundary1 || n == boundary2) {
			assert_int_equal(rc, LETHE_OK);
		} else {
			assert_int_equal(rc, LETHE_ERR_FORMAT);
			assert_true(err.text[0] != '\0');
			assert_true(err.line >= 1 && err.line <= 3);
		}
		free(cut);
	}
	free(full);
}

/* One malformed dump: its status, the line and words of the error. */
static void
expect_error(const char *text, lethe_status want, size_t line, const char *words)
{
	size_t len = strlen(text), records = 0;
	uint8_t *buf = malloc(len + 1);
	mit_dump_error err;

	assert_non_null(buf);
	memcpy(buf, text, len);
	assert_int_equal(mit_dump_parse(buf, len, count_cb, &records, &err), want);
	if (strstr(err.text, words) == NULL || err.line != line)
		fail_msg("for %.40s...: got line %zu \"%s\", want line %zu \"%s\"",
		    text, err.line, err.text, line, words);
	free(buf);
}

#define P0 "princ\t38\t6\t0\t0\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
#define KEY1 "1\t1\t18\t4\t0a0b0c0d\t"

static void
test_malformed(void **state)
{
	(void)state;
	expect_error("", LETHE_ERR_FORMAT, 1, "not a kdb5_util dump");
	expect_error("hello\n", LETHE_ERR_FORMAT, 1, "not a kdb5_util dump");
	expect_error("kdb5_util load_dump version 6\n", LETHE_ERR_FORMAT, 1,
	    "is not supported");
	expect_error("ipropx 1 2 3 4\n", LETHE_ERR_FORMAT, 1, "iprop dump");
	expect_error(HEADER "krbtgt\t1\n", LETHE_ERR_FORMAT, 2,
	    "unknown record type \"krbtgt\"");
	/* A valid record, then errors on line 3. */
	expect_error(HEADER P0 "-1;\n" "princ\tx", LETHE_ERR_FORMAT, 3,
	    "entry length: not a number");
	expect_error(HEADER "princ\t38\t0\t0\t0\t0\t\t", LETHE_ERR_FORMAT, 2,
	    "name length: 0 out of range");
	expect_error(HEADER "princ\t38\t99\t0\t0\t0\tu@R.EX\t", LETHE_ERR_FORMAT, 2,
	    "ends inside the name");
	expect_error(HEADER "princ\t38\t6\t100000\t0\t0\tu@R.EX\t", LETHE_ERR_TOO_BIG,
	    2, "tl_data");
	expect_error(HEADER "princ\t38\t6\t0\t1\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    "3\t1\t-1;\n", LETHE_ERR_FORMAT, 2, "key_data version: 3 out of range");
	expect_error(HEADER "princ\t38\t6\t0\t1\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    "1\t1\t18\t4\t0a0b0c\t-1;\n", LETHE_ERR_FORMAT, 2,
	    "key data: 6 hex digits for length 4");
	expect_error(HEADER "princ\t38\t6\t0\t1\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    "1\t1\t18\t4\t0a0b0c0z\t-1;\n", LETHE_ERR_FORMAT, 2, "key data: not hex");
	expect_error(HEADER "princ\t38\t6\t0\t1\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    "1\t70000\t-1;\n", LETHE_ERR_FORMAT, 2, "kvno: 70000 out of range");
	expect_error(HEADER "princ\t38\t6\t0\t1\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    KEY1 "-1\t;\n", LETHE_ERR_FORMAT, 2, "e_data: unexpected byte 0x09");
	expect_error(HEADER "princ\t38\t6\t0\t1\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    KEY1 "-1;x\n", LETHE_ERR_FORMAT, 2, "the end of the record");
	expect_error(HEADER "princ\t38\t6\t1\t0\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    "8\t0\t0100\t-1;\n", LETHE_ERR_FORMAT, 2,
	    "tl_data contents: length 0 but the data is not -1");
	expect_error(HEADER "princ\t38\t6\t0\t0\t0\tu@R.EX\t0\t0\t0\t99999999999\t;\n",
	    LETHE_ERR_FORMAT, 2, "expiration: 99999999999 out of range");
	expect_error(HEADER "princ\t38\t6\t0\t0\t0\tu@R.EX\t0\t0\t0\t-5\t;\n",
	    LETHE_ERR_FORMAT, 2, "expiration: not a number");
	expect_error(HEADER "princ\t38\t6\t0\t0\t0\tu@R.EX\t0\t0\t0\t0\t0\t0\t0\t0\t"
	    "-1", LETHE_ERR_FORMAT, 2, "no ';' ends the record");
	/* A name holding a newline counts as a line, as MIT counts it. */
	expect_error(HEADER "princ\t38\t7\t0\t0\t0\tu\n@R.EX\tz;\n", LETHE_ERR_FORMAT, 3,
	    "attributes: not a number");
	expect_error(HEADER "policy\tp\t1\t2\n", LETHE_ERR_FORMAT, 2,
	    "the record ends after policy field");
	expect_error(HEADER "policy\tp\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-\t0\tjunk\n",
	    LETHE_ERR_FORMAT, 2, "bytes after its fields");
	expect_error(HEADER "policy\tp\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t-\t2\t1\t0\t-1\n",
	    LETHE_ERR_FORMAT, 2, "the record ends after tl_data");
	expect_error(HEADER "policy\tp\t0\t0\t0\t0\t0\t0\t0\t0\t0", LETHE_ERR_FORMAT, 2,
	    "no newline ends the policy record");
	expect_error(HEADER "policy\tp;q\t0\t0\n", LETHE_ERR_FORMAT, 2,
	    "the record ends after policy field");
	expect_error(HEADER "policy\tnotab\n", LETHE_ERR_FORMAT, 2,
	    "policy name empty");
}

/* KRB5_TL_MKVNO names the master key; absent, the stash's lowest kvno. */
static void
test_mkvno(void **state)
{
	mit_stash st = { 0 };
	uint8_t two[2] = { 3, 0 }, bad[3] = { 1, 0, 0 };
	mit_tl_data tl = { MIT_TL_MKVNO, { two, 2 } };
	mit_principal p = { .tl = &tl, .ntl = 1 };
	uint32_t kvno = 0;

	(void)state;
	st.count = 2;
	st.keys[0].kvno = 5;
	st.keys[1].kvno = 2;
	assert_int_equal(mit_principal_mkvno(&p, &st, &kvno), LETHE_OK);
	assert_int_equal(kvno, 3);
	p.ntl = 0;
	assert_int_equal(mit_principal_mkvno(&p, &st, &kvno), LETHE_OK);
	assert_int_equal(kvno, 2);
	tl.data = lbytes_make(bad, 3);
	p.ntl = 1;
	assert_int_equal(mit_principal_mkvno(&p, &st, &kvno), LETHE_ERR_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_real_record),
		cmocka_unit_test(test_decrypt_keys),
		cmocka_unit_test(test_old_stash_and_wrong_key),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mkvno),
	};

	assert_int_equal(kc_init(), LETHE_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
