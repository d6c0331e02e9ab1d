/* Unit tests for src/kmp key derivation and message HMACs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_kmp_frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmp/kmp_kdf.h"

/* ---- helpers ---- */

static void
assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	uint8_t want[64];

	assert_int_equal(unhex(hex, want, sizeof(want)), len);
	assert_memory_equal(got, want, len);
}

/* Fixed test keys: session key aes128 00..0f, subkey 10.. (key length). */
static void
session_key(kc_key *k)
{
	uint8_t b[16];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	assert_int_equal(kc_key_init(k, KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96,
	    lbytes_make(b, sizeof(b))), LETHE_OK);
}

static void
subkey(kc_key *k, int32_t enctype)
{
	const kc_enctype *e;
	uint8_t b[32];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0x10 + i);
	assert_int_equal(kc_enctype_lookup(enctype, &e), LETHE_OK);
	assert_int_equal(kc_key_init(k, enctype, lbytes_make(b, e->key_len)),
	    LETHE_OK);
}

static bool
all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* ---- regression vectors ----
 * Computed once with this code and cross-checked with MIT Kerberos's
 * krb5_c_prfplus (libk5crypto) on the same key, label and context. */

static void
test_hmac_key_vectors(void **state)
{
	kc_key sk, sub, sub20;
	kmp_hmac_key h;
	(void)state;

	session_key(&sk);
	subkey(&sub, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96);
	subkey(&sub20, KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192);
	assert_int_equal(kmp_hmac_key_derive(&sk, KMP_HMAC_AP_REQUEST, &h),
	    LETHE_OK);
	assert_int_equal(h.usage, KMP_HMAC_AP_REQUEST);
	assert_hex(h.bytes, 20, "ed7e962c4b7232f09fee20bc8f20bac914f4e49a");
	assert_int_equal(kmp_hmac_key_derive(&sub, KMP_HMAC_AP_REPLY, &h),
	    LETHE_OK);
	assert_hex(h.bytes, 20, "a2f7ddda022e4e1fb8fd8f315b647604f6b5033d");
	assert_int_equal(kmp_hmac_key_derive(&sub, KMP_HMAC_SA_RECOVERED, &h),
	    LETHE_OK);
	assert_hex(h.bytes, 20, "0a00bcbfb9c2e95f54bf6b45823116dd4aad1b6b");
	assert_int_equal(kmp_hmac_key_derive(&sub, KMP_HMAC_REKEY, &h),
	    LETHE_OK);
	assert_hex(h.bytes, 20, "345ea885264f4181494f58f5630fe8b646dd3a35");
	assert_int_equal(kmp_hmac_key_derive(&sub20, KMP_HMAC_AP_REPLY, &h),
	    LETHE_OK);
	assert_hex(h.bytes, 20, "6f543937a462a58015f1fc608adabf06d7f02c6c");
	kmp_hmac_key_clear(&h);
	assert_true(all_zero(h.bytes, sizeof(h.bytes)));
	kc_key_clear(&sk);
	kc_key_clear(&sub);
	kc_key_clear(&sub20);
}

static void
test_sa_key_vectors(void **state)
{
	const kmp_suite sha_3des = { KMP_IPSEC_AUTH_HMAC_SHA1_96,
	    KMP_IPSEC_ENC_3DES };
	const kmp_suite sha_des = { KMP_SNMP_AUTH_HMAC_SHA1_96,
	    KMP_SNMP_PRIV_DES_CBC };
	kmp_ipsec_keys ik;
	kmp_snmp_keys sn;
	kc_key sub;
	(void)state;

	subkey(&sub, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96);
	assert_int_equal(kmp_ipsec_keys_derive(&sub, sha_3des, &ik), LETHE_OK);
	assert_int_equal(ik.enc_len, 24);
	assert_int_equal(ik.auth_len, 20);
	assert_hex(ik.client_inbound.enc, 24,
	    "752cccffa853d9c8deb264710d6f41a3dcaa7a538b809ef9");
	assert_hex(ik.client_inbound.auth, 20,
	    "69f8152d2a9675c3bb9709a4b767fc6ab64594ca");
	assert_hex(ik.server_inbound.enc, 24,
	    "45bc2c25e54e82ef7e3462248bdc8c737bc42c52b2350d37");
	assert_hex(ik.server_inbound.auth, 20,
	    "53203b3c2e4c3eec99b4a638e2f99edf9f350b5f");
	assert_int_equal(kmp_snmp_keys_derive(&sub, sha_des, &sn), LETHE_OK);
	assert_int_equal(sn.auth_len, 20);
	assert_int_equal(sn.priv_len, 16);
	assert_hex(sn.auth_key, 20, "71f02c6e875715e2416f736d755fdf4c581b632a");
	assert_hex(sn.priv_key, 16, "5a2d6f419a342a058f415120eaed8155");
	kmp_ipsec_keys_clear(&ik);
	kmp_snmp_keys_clear(&sn);
	assert_true(all_zero((const uint8_t *)&ik, sizeof(ik)));
	assert_true(all_zero((const uint8_t *)&sn, sizeof(sn)));
	kc_key_clear(&sub);
}

/* ---- agreement and separation ---- */

/* Client and server hold separate copies of the same subkey. */
static void
test_both_sides_agree(void **state)
{
	const kmp_suite suite = { KMP_IPSEC_AUTH_HMAC_SHA1_96,
	    KMP_IPSEC_ENC_AES_CBC_128 };
	const int32_t enctypes[] = { 17, 18, 19, 20 };
	kmp_ipsec_keys a, b;
	kmp_hmac_key ha, hb;
	kc_key client, server;
	(void)state;

	for (size_t i = 0; i < 4; i++) {
		subkey(&client, enctypes[i]);
		subkey(&server, enctypes[i]);
		assert_int_equal(kmp_ipsec_keys_derive(&client, suite, &a),
		    LETHE_OK);
		assert_int_equal(kmp_ipsec_keys_derive(&server, suite, &b),
		    LETHE_OK);
		assert_memory_equal(&a, &b, sizeof(a));
		for (int u = KMP_HMAC_AP_REQUEST; u <= KMP_HMAC_REKEY; u++) {
			assert_int_equal(kmp_hmac_key_derive(&client,
			    (kmp_hmac_usage)u, &ha), LETHE_OK);
			assert_int_equal(kmp_hmac_key_derive(&server,
			    (kmp_hmac_usage)u, &hb), LETHE_OK);
			assert_memory_equal(ha.bytes, hb.bytes, 20);
		}
		kc_key_clear(&client);
		kc_key_clear(&server);
	}
}

static void
test_keys_distinct(void **state)
{
	const kmp_suite sha_3des = { KMP_IPSEC_AUTH_HMAC_SHA1_96,
	    KMP_IPSEC_ENC_3DES };
	const kmp_suite sha_aes = { KMP_IPSEC_AUTH_HMAC_SHA1_96,
	    KMP_IPSEC_ENC_AES_CBC_128 };
	const kmp_suite snmp = { KMP_SNMP_AUTH_HMAC_SHA1_96,
	    KMP_SNMP_PRIV_DES_CBC };
	const uint8_t *k[10];
	kmp_hmac_key h[4];
	kmp_ipsec_keys ik, ik_aes;
	kmp_snmp_keys sn;
	kc_key sub, other;
	(void)state;

	subkey(&sub, KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128);
	for (int u = 0; u < 4; u++) {
		assert_int_equal(kmp_hmac_key_derive(&sub,
		    (kmp_hmac_usage)(KMP_HMAC_AP_REQUEST + u), &h[u]), LETHE_OK);
		k[u] = h[u].bytes;
	}
	assert_int_equal(kmp_ipsec_keys_derive(&sub, sha_3des, &ik), LETHE_OK);
	assert_int_equal(kmp_snmp_keys_derive(&sub, snmp, &sn), LETHE_OK);
	k[4] = ik.client_inbound.enc;
	k[5] = ik.client_inbound.auth;
	k[6] = ik.server_inbound.enc;
	k[7] = ik.server_inbound.auth;
	k[8] = sn.auth_key;
	k[9] = sn.priv_key;
	/* Compare 16-byte prefixes: every key is at least that long. */
	for (int i = 0; i < 10; i++)
		for (int j = i + 1; j < 10; j++)
			assert_memory_not_equal(k[i], k[j], 16);
	/* The suite is bound in: AES keys are not a prefix of 3DES keys. */
	assert_int_equal(kmp_ipsec_keys_derive(&sub, sha_aes, &ik_aes),
	    LETHE_OK);
	assert_memory_not_equal(ik.client_inbound.enc,
	    ik_aes.client_inbound.enc, 16);
	assert_memory_not_equal(ik.client_inbound.auth,
	    ik_aes.client_inbound.auth, 20);
	/* Another subkey gives other keys. */
	session_key(&other);
	assert_int_equal(kmp_hmac_key_derive(&other, KMP_HMAC_AP_REQUEST, &h[1]),
	    LETHE_OK);
	assert_memory_not_equal(h[0].bytes, h[1].bytes, 20);
	kmp_ipsec_keys_clear(&ik);
	kmp_ipsec_keys_clear(&ik_aes);
	kmp_snmp_keys_clear(&sn);
	kc_key_clear(&sub);
	kc_key_clear(&other);
}

static void
test_suite_lengths(void **state)
{
	static const struct {
		uint8_t auth, enc;
		lethe_status rc;
		size_t enc_len, auth_len;
	} ipsec[] = {
		{ 0x02, 0x03, LETHE_OK, 24, 20 },
		{ 0x01, 0x0c, LETHE_OK, 16, 16 },
		{ 0x02, 0x0b, LETHE_OK, 0, 20 },
		{ 0x01, 0x04, LETHE_ERR_UNSUPPORTED, 0, 0 },   /* RC5 */
		{ 0x01, 0x07, LETHE_ERR_UNSUPPORTED, 0, 0 },   /* Blowfish */
		{ 0x03, 0x0c, LETHE_ERR_UNSUPPORTED, 0, 0 },
		{ 0x22, 0x21, LETHE_ERR_UNSUPPORTED, 0, 0 },   /* SNMPv3 codes */
	};
	static const struct {
		uint8_t auth, priv;
		lethe_status rc;
		size_t auth_len, priv_len;
	} snmp[] = {
		{ 0x21, 0x20, LETHE_OK, 16, 0 },
		{ 0x22, 0x21, LETHE_OK, 20, 16 },
		{ 0x22, 0x22, LETHE_ERR_UNSUPPORTED, 0, 0 },
		{ 0x02, 0x0c, LETHE_ERR_UNSUPPORTED, 0, 0 },   /* IPsec codes */
	};
	size_t a, b;
	kmp_ipsec_keys ik;
	kmp_snmp_keys sn;
	kc_key sub;
	(void)state;

	subkey(&sub, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96);
	for (size_t i = 0; i < sizeof(ipsec) / sizeof(ipsec[0]); i++) {
		kmp_suite s = { ipsec[i].auth, ipsec[i].enc };

		assert_int_equal(kmp_ipsec_suite_key_lens(s, &a, &b),
		    ipsec[i].rc);
		assert_int_equal(kmp_ipsec_keys_derive(&sub, s, &ik),
		    ipsec[i].rc);
		if (ipsec[i].rc != LETHE_OK) {
			assert_true(all_zero((const uint8_t *)&ik, sizeof(ik)));
			continue;
		}
		assert_int_equal(a, ipsec[i].enc_len);
		assert_int_equal(b, ipsec[i].auth_len);
		assert_int_equal(ik.enc_len, a);
		/* Unused bytes stay zero; used ones are not all zero. */
		assert_true(all_zero(ik.client_inbound.enc + a,
		    KMP_IPSEC_ENC_KEY_MAX - a));
		assert_true(all_zero(ik.server_inbound.auth + b,
		    KMP_IPSEC_AUTH_KEY_MAX - b));
		assert_false(all_zero(ik.server_inbound.auth, b));
		kmp_ipsec_keys_clear(&ik);
	}
	for (size_t i = 0; i < sizeof(snmp) / sizeof(snmp[0]); i++) {
		kmp_suite s = { snmp[i].auth, snmp[i].priv };

		assert_int_equal(kmp_snmp_suite_key_lens(s, &a, &b),
		    snmp[i].rc);
		assert_int_equal(kmp_snmp_keys_derive(&sub, s, &sn),
		    snmp[i].rc);
		if (snmp[i].rc != LETHE_OK) {
			assert_true(all_zero((const uint8_t *)&sn, sizeof(sn)));
			continue;
		}
		assert_int_equal(a, snmp[i].auth_len);
		assert_int_equal(b, snmp[i].priv_len);
		assert_true(all_zero(sn.priv_key + b, KMP_SNMP_PRIV_KEY_MAX - b));
		assert_true(all_zero(sn.auth_key + a, KMP_SNMP_AUTH_KEY_MAX - a));
		kmp_snmp_keys_clear(&sn);
	}
	kc_key_clear(&sub);
}

static void
test_derive_refusals(void **state)
{
	kmp_hmac_key h;
	kmp_ipsec_keys ik;
	kc_key empty;
	(void)state;

	memset(&empty, 0, sizeof(empty));
	assert_int_equal(kmp_hmac_key_derive(&empty, KMP_HMAC_AP_REPLY, &h),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_hmac_key_derive(NULL, KMP_HMAC_AP_REPLY, &h),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_hmac_key_derive(&empty, (kmp_hmac_usage)0, &h),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_ipsec_keys_derive(&empty, (kmp_suite){ 2, 0x0c },
	    &ik), LETHE_ERR_INVALID_ARG);
	assert_true(all_zero((const uint8_t *)&ik, sizeof(ik)));
}

/* ---- message HMACs ---- */

/* RFC 2202 test case 1 for HMAC-SHA-1. */
static void
test_hmac_rfc2202(void **state)
{
	kmp_hmac_key key;
	uint8_t mac[20];
	(void)state;

	memset(key.bytes, 0x0b, sizeof(key.bytes));
	key.usage = KMP_HMAC_AP_REPLY;
	assert_int_equal(kmp_hmac_compute(&key, LBYTES_LIT("Hi There"), mac),
	    LETHE_OK);
	assert_hex(mac, 20, "b617318655057264e28bc0b6fb378c8ef146be00");
}

/* The sample capture's HMACs use key 0x0b x 20 over KMMID..HMAC. */
static void
test_sample_frames_verify(void **state)
{
	static const int frames[] = { 2, 3, 4, 5, 8, 9, 10 };
	uint8_t buf[FRAME_MAX];
	kmp_hmac_key key;
	size_t len;
	(void)state;

	memset(key.bytes, 0x0b, sizeof(key.bytes));
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		len = load_frame(frames[i], buf);
		assert_int_equal(kmp_hmac_usage_for((kmp_kmmid)buf[0],
		    &key.usage), LETHE_OK);
		assert_int_equal(kmp_hmac_verify(&key, buf, len), LETHE_OK);
		/* Re-sealing gives the same bytes. */
		memset(buf + len - 20, 0, 20);
		assert_int_equal(kmp_hmac_verify(&key, buf, len),
		    LETHE_ERR_BAD_INTEGRITY);
		assert_int_equal(kmp_hmac_seal(&key, buf, len), LETHE_OK);
		assert_int_equal(kmp_hmac_verify(&key, buf, len), LETHE_OK);
	}
}

static void
test_hmac_flip_every_bit(void **state)
{
	uint8_t buf[FRAME_MAX];
	kmp_hmac_key key, wrong;
	kc_key sub;
	size_t len;
	(void)state;

	subkey(&sub, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96);
	assert_int_equal(kmp_hmac_key_derive(&sub, KMP_HMAC_AP_REPLY, &key),
	    LETHE_OK);
	len = load_frame(3, buf);
	assert_int_equal(kmp_hmac_seal(&key, buf, len), LETHE_OK);
	assert_int_equal(kmp_hmac_verify(&key, buf, len), LETHE_OK);
	for (size_t bit = 0; bit < 8 * len; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(kmp_hmac_verify(&key, buf, len), LETHE_OK);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(kmp_hmac_verify(&key, buf, len), LETHE_OK);
	/* Wrong key of the right usage. */
	wrong = key;
	wrong.bytes[19] ^= 1;
	assert_int_equal(kmp_hmac_verify(&wrong, buf, len),
	    LETHE_ERR_BAD_INTEGRITY);
	/* A key of another usage is refused before any MAC work. */
	assert_int_equal(kmp_hmac_key_derive(&sub, KMP_HMAC_SA_RECOVERED,
	    &wrong), LETHE_OK);
	assert_int_equal(kmp_hmac_verify(&wrong, buf, len),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_hmac_seal(&wrong, buf, len),
	    LETHE_ERR_INVALID_ARG);
	/* Messages without an HMAC, and too short ones. */
	len = load_frame(1, buf);
	assert_int_equal(kmp_hmac_seal(&key, buf, len), LETHE_ERR_UNSUPPORTED);
	len = load_frame(3, buf);
	assert_int_equal(kmp_hmac_verify(&key, buf, 22),
	    LETHE_ERR_DER_TRUNCATED);
	kmp_hmac_key_clear(&key);
	kmp_hmac_key_clear(&wrong);
	kc_key_clear(&sub);
}

static void
test_hmac_usage_for(void **state)
{
	kmp_hmac_usage u;
	(void)state;

	assert_int_equal(kmp_hmac_usage_for(KMP_AP_REQUEST, &u), LETHE_OK);
	assert_int_equal(u, KMP_HMAC_AP_REQUEST);
	assert_int_equal(kmp_hmac_usage_for(KMP_AP_REPLY, &u), LETHE_OK);
	assert_int_equal(u, KMP_HMAC_AP_REPLY);
	assert_int_equal(kmp_hmac_usage_for(KMP_SA_RECOVERED, &u), LETHE_OK);
	assert_int_equal(u, KMP_HMAC_SA_RECOVERED);
	assert_int_equal(kmp_hmac_usage_for(KMP_REKEY, &u), LETHE_OK);
	assert_int_equal(u, KMP_HMAC_REKEY);
	assert_int_equal(kmp_hmac_usage_for(KMP_WAKE_UP, &u),
	    LETHE_ERR_UNSUPPORTED);
	assert_int_equal(kmp_hmac_usage_for(KMP_ERROR_REPLY, &u),
	    LETHE_ERR_UNSUPPORTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_key_vectors),
		cmocka_unit_test(test_sa_key_vectors),
		cmocka_unit_test(test_both_sides_agree),
		cmocka_unit_test(test_keys_distinct),
		cmocka_unit_test(test_suite_lengths),
		cmocka_unit_test(test_derive_refusals),
		cmocka_unit_test(test_hmac_rfc2202),
		cmocka_unit_test(test_sample_frames_verify),
		cmocka_unit_test(test_hmac_flip_every_bit),
		cmocka_unit_test(test_hmac_usage_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
