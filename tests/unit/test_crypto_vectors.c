/*
 * Known-answer tests for src/crypto, byte for byte:
 *  - RFC 3962 Appendix B: PBKDF2 outputs and AES keys (128/256) for all
 *    seven inputs; the six CBC-CTS vectors (key "chicken teriyaki").
 *  - RFC 8009 Appendix A: string-to-key, Kc/Ke/Ki derivation, the eight
 *    encryptions with given confounders, both checksums, both PRFs.
 *  - MIT krb5 test data (lib/crypto/crypto_tests): t_decrypt ciphertexts
 *    and t_cksums checksums for 17/18 (the RFCs give none for the
 *    RFC 3962 message format), t_prf PRF values, t_cf2 KRB-FX-CF2 keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#define MAXBUF 256

/* Decode hex (spaces ignored) into out; returns the byte count. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p != '\0'; p++) {
		int v = 0;
		if (*p == ' ')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			v = *p - 'A' + 10;
		else
			fail_msg("bad hex digit in test data");
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < cap);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	return n;
}

static void
assert_hex_equal(const uint8_t *got, size_t got_len, const char *want_hex)
{
	uint8_t want[MAXBUF];
	size_t want_len = unhex(want_hex, want, sizeof(want));

	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
}

static void
key_from_hex(kc_key *key, int32_t enctype, const char *hex)
{
	uint8_t b[KC_MAX_KEY_LEN];
	size_t n = unhex(hex, b, sizeof(b));

	assert_int_equal(kc_key_init(key, enctype, lbytes_make(b, n)), LETHE_OK);
}

/* ---- RFC 3962 Appendix B: PBKDF2 and string-to-key ------------------- */

static const char sixty_four_x[] =
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
static const char sixty_five_x[] =
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
static const uint8_t salt_5[] = { 0x12, 0x34, 0x56, 0x78, 0x78, 0x56, 0x34, 0x12 };
static const uint8_t g_clef[] = { 0xf0, 0x9d, 0x84, 0x9e };

struct s2k_vector {
	uint32_t iterations;
	lbytes password;
	lbytes salt;
	const char *pbkdf2_256;         /* the 128-bit output is its prefix */
	const char *key128;
	const char *key256;
};

static const struct s2k_vector rfc3962_s2k[] = {
	{ 1, LBYTES_LIT("password"), LBYTES_LIT("ATHENA.MIT.EDUraeburn"),
	  "cd ed b5 28 1b b2 f8 01 56 5a 11 22 b2 56 35 15"
	  "0a d1 f7 a0 4b b9 f3 a3 33 ec c0 e2 e1 f7 08 37",
	  "42 26 3c 6e 89 f4 fc 28 b8 df 68 ee 09 79 9f 15",
	  "fe 69 7b 52 bc 0d 3c e1 44 32 ba 03 6a 92 e6 5b"
	  "bb 52 28 09 90 a2 fa 27 88 39 98 d7 2a f3 01 61" },
	{ 2, LBYTES_LIT("password"), LBYTES_LIT("ATHENA.MIT.EDUraeburn"),
	  "01 db ee 7f 4a 9e 24 3e 98 8b 62 c7 3c da 93 5d"
	  "a0 53 78 b9 32 44 ec 8f 48 a9 9e 61 ad 79 9d 86",
	  "c6 51 bf 29 e2 30 0a c2 7f a4 69 d6 93 bd da 13",
	  "a2 e1 6d 16 b3 60 69 c1 35 d5 e9 d2 e2 5f 89 61"
	  "02 68 56 18 b9 59 14 b4 67 c6 76 22 22 58 24 ff" },
	{ 1200, LBYTES_LIT("password"), LBYTES_LIT("ATHENA.MIT.EDUraeburn"),
	  "5c 08 eb 61 fd f7 1e 4e 4e c3 cf 6b a1 f5 51 2b"
	  "a7 e5 2d db c5 e5 14 2f 70 8a 31 e2 e6 2b 1e 13",
	  "4c 01 cd 46 d6 32 d0 1e 6d be 23 0a 01 ed 64 2a",
	  "55 a6 ac 74 0a d1 7b 48 46 94 10 51 e1 e8 b0 a7"
	  "54 8d 93 b0 ab 30 a8 bc 3f f1 62 80 38 2b 8c 2a" },
	{ 5, LBYTES_LIT("password"), { salt_5, sizeof(salt_5) },
	  "d1 da a7 86 15 f2 87 e6 a1 c8 b1 20 d7 06 2a 49"
	  "3f 98 d2 03 e6 be 49 a6 ad f4 fa 57 4b 6e 64 ee",
	  "e9 b2 3d 52 27 37 47 dd 5c 35 cb 55 be 61 9d 8e",
	  "97 a4 e7 86 be 20 d8 1a 38 2d 5e bc 96 d5 90 9c"
	  "ab cd ad c8 7c a4 8f 57 45 04 15 9f 16 c3 6e 31" },
	{ 1200, { (const uint8_t *)sixty_four_x, 64 },
	  LBYTES_LIT("pass phrase equals block size"),
	  "13 9c 30 c0 96 6b c3 2b a5 5f db f2 12 53 0a c9"
	  "c5 ec 59 f1 a4 52 f5 cc 9a d9 40 fe a0 59 8e d1",
	  "59 d1 bb 78 9a 82 8b 1a a5 4e f9 c2 88 3f 69 ed",
	  "89 ad ee 36 08 db 8b c7 1f 1b fb fe 45 94 86 b0"
	  "56 18 b7 0c ba e2 20 92 53 4e 56 c5 53 ba 4b 34" },
	{ 1200, { (const uint8_t *)sixty_five_x, 65 },
	  LBYTES_LIT("pass phrase exceeds block size"),
	  "9c ca d6 d4 68 77 0c d5 1b 10 e6 a6 87 21 be 61"
	  "1a 8b 4d 28 26 01 db 3b 36 be 92 46 91 5e c8 2a",
	  "cb 80 05 dc 5f 90 17 9a 7f 02 10 4c 00 18 75 1d",
	  "d7 8c 5c 9c b8 72 a8 c9 da d4 69 7f 0b b5 b2 d2"
	  "14 96 c8 2b eb 2c ae da 21 12 fc ee a0 57 40 1b" },
	{ 50, { g_clef, sizeof(g_clef) }, LBYTES_LIT("EXAMPLE.COMpianist"),
	  "6b 9c f2 6d 45 45 5a 43 a5 b8 bb 27 6a 40 3b 39"
	  "e7 fe 37 a0 c4 1e 02 c2 81 ff 30 69 e1 e9 4f 52",
	  "f1 49 c1 f2 e1 54 a7 34 52 d4 3e 7f e6 2a 56 e5",
	  "4b 6d 98 39 f8 44 06 df 1f 09 cc 16 6d b4 b8 3c"
	  "57 18 48 b7 84 a3 d6 bd c3 46 58 9a 3e 39 3f 9e" },
};

#define NVEC(a) (sizeof(a) / sizeof((a)[0]))

static void
iterations_param(uint32_t iter, uint8_t out[4])
{
	out[0] = (uint8_t)(iter >> 24);
	out[1] = (uint8_t)(iter >> 16);
	out[2] = (uint8_t)(iter >> 8);
	out[3] = (uint8_t)iter;
}

/* The first bytes of a hex string, decoded (static buffer). */
static const uint8_t *
want_prefix(const char *hex)
{
	static uint8_t buf[MAXBUF];

	unhex(hex, buf, sizeof(buf));
	return buf;
}

static size_t
mac_len_of(int32_t enctype)
{
	const kc_enctype *e;

	assert_int_equal(kc_enctype_lookup(enctype, &e), LETHE_OK);
	return e->mac_len;
}

static void
test_rfc3962_pbkdf2(void **state)
{
	uint8_t out[32];
	(void)state;
	for (size_t i = 0; i < NVEC(rfc3962_s2k); i++) {
		const struct s2k_vector *v = &rfc3962_s2k[i];
		assert_int_equal(kc_pbkdf2(KC_MD_SHA1, v->password, v->salt,
		    v->iterations, out, 32), LETHE_OK);
		assert_hex_equal(out, 32, v->pbkdf2_256);
		/* The 128-bit output is a separate PBKDF2 run of 16 bytes. */
		assert_int_equal(kc_pbkdf2(KC_MD_SHA1, v->password, v->salt,
		    v->iterations, out, 16), LETHE_OK);
		assert_memory_equal(out, want_prefix(v->pbkdf2_256), 16);
	}
}

static void
test_rfc3962_string_to_key(void **state)
{
	kc_key key;
	uint8_t params[4];
	(void)state;
	for (size_t i = 0; i < NVEC(rfc3962_s2k); i++) {
		const struct s2k_vector *v = &rfc3962_s2k[i];
		iterations_param(v->iterations, params);
		assert_int_equal(kc_string_to_key(&key,
		    KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96, v->password, v->salt,
		    lbytes_make(params, 4)), LETHE_OK);
		assert_int_equal(kc_key_enctype(&key), 17);
		assert_hex_equal(kc_key_bytes(&key).data, kc_key_bytes(&key).len,
		    v->key128);
		assert_int_equal(kc_string_to_key(&key,
		    KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96, v->password, v->salt,
		    lbytes_make(params, 4)), LETHE_OK);
		assert_hex_equal(kc_key_bytes(&key).data, kc_key_bytes(&key).len,
		    v->key256);
		kc_key_clear(&key);
	}
}

/* ---- RFC 3962 Appendix B: AES-CBC-CTS, zero IV ---------------------- */

static const char cts_key[] = "63 68 69 63 6b 65 6e 20 74 65 72 69 79 61 6b 69";
static const char cts_plain[] =
    "I would like the General Gau's Chicken, please, and wonton soup.";

static const struct {
	size_t len;
	const char *cipher;
} rfc3962_cts[] = {
	{ 17, "c6 35 35 68 f2 bf 8c b4 d8 a5 80 36 2d a7 ff 7f 97" },
	{ 31, "fc 00 78 3e 0e fd b2 c1 d4 45 d4 c8 ef f7 ed 22"
	      "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5" },
	{ 32, "39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5 a8"
	      "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84" },
	{ 47, "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84"
	      "b3 ff fd 94 0c 16 a1 8c 1b 55 49 d2 f8 38 02 9e"
	      "39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5" },
	{ 48, "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84"
	      "9d ad 8b bb 96 c4 cd c0 3b c1 03 e1 a1 94 bb d8"
	      "39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5 a8" },
	{ 64, "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84"
	      "39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5 a8"
	      "48 07 ef e8 36 ee 89 a5 26 73 0d bc 2f 7b c8 40"
	      "9d ad 8b bb 96 c4 cd c0 3b c1 03 e1 a1 94 bb d8" },
};

static void
test_rfc3962_cts(void **state)
{
	uint8_t key[16];
	uint8_t out[64];
	uint8_t back[64];
	(void)state;
	assert_int_equal(unhex(cts_key, key, sizeof(key)), 16);
	assert_int_equal(strlen(cts_plain), 64);
	for (size_t i = 0; i < NVEC(rfc3962_cts); i++) {
		size_t len = rfc3962_cts[i].len;
		assert_int_equal(kc_cts(KC_CIPHER_AES128, key, true,
		    (const uint8_t *)cts_plain, len, out), LETHE_OK);
		assert_hex_equal(out, len, rfc3962_cts[i].cipher);
		assert_int_equal(kc_cts(KC_CIPHER_AES128, key, false, out, len,
		    back), LETHE_OK);
		assert_memory_equal(back, cts_plain, len);
		/* In place gives the same bytes. */
		memcpy(back, cts_plain, len);
		assert_int_equal(kc_cts(KC_CIPHER_AES128, key, true, back, len,
		    back), LETHE_OK);
		assert_memory_equal(back, out, len);
	}
	/* Under one block there is nothing to steal from: refused. */
	assert_int_equal(kc_cts(KC_CIPHER_AES128, key, true,
	    (const uint8_t *)cts_plain, 15, out), LETHE_ERR_INVALID_ARG);
}

/* ---- RFC 8009 Appendix A --------------------------------------------- */

static const char base19[] = "37 05 D9 60 80 C1 77 28 A0 E8 00 EA B6 E0 D2 3C";
static const char base20[] =
    "6D 40 4D 37 FA F7 9F 9D F0 D3 35 68 D3 20 66 98"
    "00 EB 48 36 47 2E A8 A0 26 D1 6B 71 82 46 0C 52";

static void
test_rfc8009_string_to_key(void **state)
{
	uint8_t salt[64];
	size_t salt_len;
	uint8_t params[4] = { 0x00, 0x00, 0x80, 0x00 };        /* 32768 */
	kc_key key;
	(void)state;
	salt_len = unhex("10 DF 9D D7 83 E5 BC 8A CE A1 73 0E 74 35 5F 61",
	    salt, sizeof(salt));
	memcpy(salt + salt_len, "ATHENA.MIT.EDUraeburn", 21);
	salt_len += 21;

	assert_int_equal(kc_string_to_key(&key,
	    KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128, LBYTES_LIT("password"),
	    lbytes_make(salt, salt_len), lbytes_make(params, 4)), LETHE_OK);
	assert_hex_equal(key.bytes, key.len,
	    "08 9B CA 48 B1 05 EA 6E A7 7C A5 D2 F3 9D C5 E7");
	/* 32768 is the default for 19/20: empty s2kparams, same key. */
	assert_int_equal(kc_string_to_key(&key,
	    KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128, LBYTES_LIT("password"),
	    lbytes_make(salt, salt_len), lbytes_make(NULL, 0)), LETHE_OK);
	assert_hex_equal(key.bytes, key.len,
	    "08 9B CA 48 B1 05 EA 6E A7 7C A5 D2 F3 9D C5 E7");

	assert_int_equal(kc_string_to_key(&key,
	    KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192, LBYTES_LIT("password"),
	    lbytes_make(salt, salt_len), lbytes_make(params, 4)), LETHE_OK);
	assert_hex_equal(key.bytes, key.len,
	    "45 BD 80 6D BF 6A 83 3A 9C FF C1 C9 45 89 A2 22"
	    "36 7A 79 BC 21 C4 13 71 89 06 E9 F5 78 A7 84 67");
	kc_key_clear(&key);
}

static void
assert_derived(kc_key *key, uint32_t usage, uint8_t kind, const char *want)
{
	uint8_t scratch[KC_MAX_KEY_LEN];
	const uint8_t *dk;
	size_t dk_len;

	assert_int_equal(kc_derived_key(key, usage, kind, scratch, &dk,
	    &dk_len), LETHE_OK);
	assert_hex_equal(dk, dk_len, want);
}

static void
test_rfc8009_key_derivation(void **state)
{
	kc_key key;
	(void)state;
	key_from_hex(&key, KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128, base19);
	for (int pass = 0; pass < 2; pass++) {  /* derived, then cached */
		assert_derived(&key, 2, KC_DK_CHECKSUM,
		    "B3 1A 01 8A 48 F5 47 76 F4 03 E9 A3 96 32 5D C3");
		assert_derived(&key, 2, KC_DK_ENCRYPTION,
		    "9B 19 7D D1 E8 C5 60 9D 6E 67 C3 E3 7C 62 C7 2E");
		assert_derived(&key, 2, KC_DK_INTEGRITY,
		    "9F DA 0E 56 AB 2D 85 E1 56 9A 68 86 96 C2 6A 6C");
	}
	key_from_hex(&key, KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192, base20);
	for (int pass = 0; pass < 2; pass++) {
		assert_derived(&key, 2, KC_DK_CHECKSUM,
		    "EF 57 18 BE 86 CC 84 96 3D 8B BB 50 31 E9 F5 C4"
		    "BA 41 F2 8F AF 69 E7 3D");
		assert_derived(&key, 2, KC_DK_ENCRYPTION,
		    "56 AB 22 BE E6 3D 82 D7 BC 52 27 F6 77 3F 8E A7"
		    "A5 EB 1C 82 51 60 C3 83 12 98 0C 44 2E 5C 7E 49");
		assert_derived(&key, 2, KC_DK_INTEGRITY,
		    "69 B1 65 14 E3 CD 8E 56 B8 20 10 D5 C7 30 12 B6"
		    "22 C4 D0 0F FC 23 ED 1F");
	}
	kc_key_clear(&key);
}

static const struct {
	int32_t enctype;
	const char *plain;
	const char *confounder;
	const char *cipher;             /* ciphertext | HMAC */
} rfc8009_enc[] = {
	{ 19, "", "7E 58 95 EA F2 67 24 35 BA D8 17 F5 45 A3 71 48",
	  "EF 85 FB 89 0B B8 47 2F 4D AB 20 39 4D CA 78 1D"
	  "AD 87 7E DA 39 D5 0C 87 0C 0D 5A 0A 8E 48 C7 18" },
	{ 19, "00 01 02 03 04 05",
	  "7B CA 28 5E 2F D4 13 0F B5 5B 1A 5C 83 BC 5B 24",
	  "84 D7 F3 07 54 ED 98 7B AB 0B F3 50 6B EB 09 CF"
	  "B5 54 02 CE F7 E6 87 7C E9 9E 24 7E 52 D1 6E D4"
	  "42 1D FD F8 97 6C" },
	{ 19, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
	  "56 AB 21 71 3F F6 2C 0A 14 57 20 0F 6F A9 94 8F",
	  "35 17 D6 40 F5 0D DC 8A D3 62 87 22 B3 56 9D 2A"
	  "E0 74 93 FA 82 63 25 40 80 EA 65 C1 00 8E 8F C2"
	  "95 FB 48 52 E7 D8 3E 1E 7C 48 C3 7E EB E6 B0 D3" },
	{ 19, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
	      "10 11 12 13 14",
	  "A7 A4 E2 9A 47 28 CE 10 66 4F B6 4E 49 AD 3F AC",
	  "72 0F 73 B1 8D 98 59 CD 6C CB 43 46 11 5C D3 36"
	  "C7 0F 58 ED C0 C4 43 7C 55 73 54 4C 31 C8 13 BC"
	  "E1 E6 D0 72 C1 86 B3 9A 41 3C 2F 92 CA 9B 83 34"
	  "A2 87 FF CB FC" },
	{ 20, "", "F7 64 E9 FA 15 C2 76 47 8B 2C 7D 0C 4E 5F 58 E4",
	  "41 F5 3F A5 BF E7 02 6D 91 FA F9 BE 95 91 95 A0"
	  "58 70 72 73 A9 6A 40 F0 A0 19 60 62 1A C6 12 74"
	  "8B 9B BF BE 7E B4 CE 3C" },
	{ 20, "00 01 02 03 04 05",
	  "B8 0D 32 51 C1 F6 47 14 94 25 6F FE 71 2D 0B 9A",
	  "4E D7 B3 7C 2B CA C8 F7 4F 23 C1 CF 07 E6 2B C7"
	  "B7 5F B3 F6 37 B9 F5 59 C7 F6 64 F6 9E AB 7B 60"
	  "92 23 75 26 EA 0D 1F 61 CB 20 D6 9D 10 F2" },
	{ 20, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F",
	  "53 BF 8A 0D 10 52 65 D4 E2 76 42 86 24 CE 5E 63",
	  "BC 47 FF EC 79 98 EB 91 E8 11 5C F8 D1 9D AC 4B"
	  "BB E2 E1 63 E8 7D D3 7F 49 BE CA 92 02 77 64 F6"
	  "8C F5 1F 14 D7 98 C2 27 3F 35 DF 57 4D 1F 93 2E"
	  "40 C4 FF 25 5B 36 A2 66" },
	{ 20, "00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
	      "10 11 12 13 14",
	  "76 3E 65 36 7E 86 4F 02 F5 51 53 C7 E3 B5 8A F1",
	  "40 01 3E 2D F5 8E 87 51 95 7D 28 78 BC D2 D6 FE"
	  "10 1C CF D5 56 CB 1E AE 79 DB 3C 3E E8 64 29 F2"
	  "B2 A6 02 AC 86 FE F6 EC B6 47 D6 29 5F AE 07 7A"
	  "1F EB 51 75 08 D2 C1 6B 41 92 E0 1F 62" },
};

static void
test_rfc8009_encryption(void **state)
{
	kc_key key;
	uint8_t plain[64], conf[16], out[MAXBUF], back[MAXBUF];
	size_t plain_len, out_len, back_len, want_len;
	(void)state;
	for (size_t i = 0; i < NVEC(rfc8009_enc); i++) {
		key_from_hex(&key, rfc8009_enc[i].enctype,
		    rfc8009_enc[i].enctype == 19 ? base19 : base20);
		plain_len = unhex(rfc8009_enc[i].plain, plain, sizeof(plain));
		assert_int_equal(unhex(rfc8009_enc[i].confounder, conf,
		    sizeof(conf)), 16);
		assert_int_equal(kc_encrypt_len(key.enctype, plain_len,
		    &want_len), LETHE_OK);
		assert_int_equal(kc_encrypt_with_confounder(&key, 2,
		    lbytes_make(conf, 16), lbytes_make(plain, plain_len), out,
		    want_len, &out_len), LETHE_OK);
		assert_int_equal(out_len, want_len);
		assert_hex_equal(out, out_len, rfc8009_enc[i].cipher);
		assert_int_equal(kc_decrypt(&key, 2, lbytes_make(out, out_len),
		    back, out_len - mac_len_of(key.enctype), &back_len),
		    LETHE_OK);
		assert_int_equal(back_len, plain_len);
		assert_memory_equal(back, plain, plain_len);
		kc_key_clear(&key);
	}
}

static void
test_rfc8009_checksums(void **state)
{
	kc_key key;
	uint8_t data[32], out[KC_MAX_CKSUM_LEN];
	size_t data_len, out_len;
	(void)state;
	data_len = unhex("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"
	    "10 11 12 13 14", data, sizeof(data));

	key_from_hex(&key, KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128, base19);
	assert_int_equal(kc_checksum_make(&key,
	    KC_CKSUMTYPE_HMAC_SHA256_128_AES128, 2, lbytes_make(data, data_len),
	    out, sizeof(out), &out_len), LETHE_OK);
	assert_hex_equal(out, out_len,
	    "D7 83 67 18 66 43 D6 7B 41 1C BA 91 39 FC 1D EE");
	assert_int_equal(kc_checksum_verify(&key,
	    KC_CKSUMTYPE_HMAC_SHA256_128_AES128, 2, lbytes_make(data, data_len),
	    lbytes_make(out, out_len)), LETHE_OK);

	key_from_hex(&key, KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192, base20);
	assert_int_equal(kc_checksum_make(&key,
	    KC_CKSUMTYPE_HMAC_SHA384_192_AES256, 2, lbytes_make(data, data_len),
	    out, sizeof(out), &out_len), LETHE_OK);
	assert_hex_equal(out, out_len,
	    "45 EE 79 15 67 EE FC A3 7F 4A C1 E0 22 2D E8 0D"
	    "43 C3 BF A0 66 99 67 2A");
	assert_int_equal(kc_checksum_verify(&key,
	    KC_CKSUMTYPE_HMAC_SHA384_192_AES256, 2, lbytes_make(data, data_len),
	    lbytes_make(out, out_len)), LETHE_OK);
	kc_key_clear(&key);
}

static void
test_rfc8009_prf(void **state)
{
	kc_key key;
	uint8_t out[KC_MAX_PRF_LEN];
	size_t out_len;
	(void)state;
	key_from_hex(&key, KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128, base19);
	assert_int_equal(kc_prf(&key, LBYTES_LIT("test"), out, sizeof(out),
	    &out_len), LETHE_OK);
	assert_hex_equal(out, out_len,
	    "9D 18 86 16 F6 38 52 FE 86 91 5B B8 40 B4 A8 86"
	    "FF 3E 6B B0 F8 19 B4 9B 89 33 93 D3 93 85 42 95");
	key_from_hex(&key, KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192, base20);
	assert_int_equal(kc_prf(&key, LBYTES_LIT("test"), out, sizeof(out),
	    &out_len), LETHE_OK);
	assert_hex_equal(out, out_len,
	    "98 01 F6 9A 36 8C 2B F6 75 E5 95 21 E1 77 D9 A0"
	    "7F 67 EF E1 CF DE 8D 3C 8D 6F 6A 02 56 E3 B1 7D"
	    "B3 C1 B6 2A D1 B8 55 33 60 D1 73 67 EB 15 14 D2");
	kc_key_clear(&key);
}

/* ---- MIT krb5 known answers for the RFC 3962 message format ---------- */

static const struct {
	int32_t enctype;
	const char *plain;
	uint32_t usage;
	const char *key;
	const char *cipher;
} mit_decrypt[] = {
	{ 17, "", 0, "5A 5C 0F 0B A5 4F 38 28 B2 19 5E 66 CA 24 A2 89",
	  "49 FF 8E 11 C1 73 D9 58 3A 32 54 FB E7 B1 F1 DF"
	  "36 C5 38 E8 41 67 84 A1 67 2E 66 76" },
	{ 17, "1", 1, "98 45 0E 3F 3B AA 13 F5 C9 9B EB 93 69 81 B0 6F",
	  "F8 67 42 F5 37 B3 5D C2 17 4A 4D BA A9 20 FA F9"
	  "04 20 90 B0 65 E1 EB B1 CA D9 A6 53 94" },
	{ 17, "9 bytesss", 2, "90 62 43 0C 8C DA 33 88 92 2E 6D 6A 50 9F 5B 7A",
	  "68 FB 96 79 60 1F 45 C7 88 57 B2 BF 82 0F D6 E5"
	  "3E CA 8D 42 FD 4B 1D 70 24 A0 92 05 AB B7 CD 2E"
	  "C2 6C 35 5D 2F" },
	{ 17, "13 bytes byte", 3,
	  "03 3E E6 50 2C 54 FD 23 E2 77 91 E9 87 98 38 27",
	  "EC 36 6D 03 27 A9 33 BF 49 33 0E 65 0E 49 BC 6B"
	  "97 46 37 FE 80 BF 53 2F E5 17 95 B4 80 97 18 E6"
	  "19 47 24 DB 94 8D 1F D6 37" },
	{ 17, "30 bytes bytes bytes bytes byt", 4,
	  "DC EE B7 0B 3D E7 65 62 E6 89 22 6C 76 42 91 48",
	  "C9 60 81 03 2D 5D 8E EB 7E 32 B4 08 9F 78 9D 0F"
	  "AA 48 1D EA 74 C0 F9 7C BF 31 46 DD FC F8 E8 00"
	  "15 6E CB 53 2F C2 03 E3 0F F6 00 B6 3B 35 09 39"
	  "FE CE 51 0F 02 D7 FF 1E 7B AC" },
	{ 18, "", 0,
	  "17 F2 75 F2 95 4F 2E D1 F9 0C 37 7B A7 F4 D6 A3"
	  "69 AA 01 36 E0 BF 0C 92 7A D6 13 3C 69 37 59 A9",
	  "E5 09 4C 55 EE 7B 38 26 2E 2B 04 42 80 B0 69 37"
	  "9A 95 BF 95 BD 83 76 FB 32 81 B4 35" },
	{ 18, "1", 1,
	  "B9 47 7E 1F F0 32 9C 00 50 E2 0C E6 C7 2D 2D FF"
	  "27 E8 FE 54 1A B0 95 44 29 A9 CB 5B 4F 7B 1E 2A",
	  "40 61 50 B9 7A EB 76 D4 3B 36 B6 2C C1 EC DF BE"
	  "6F 40 E9 57 55 E0 BE B5 C2 78 25 F3 A4" },
	{ 18, "9 bytesss", 2,
	  "B1 AE 4C D8 46 2A FF 16 77 05 3C C9 27 9A AC 30"
	  "B7 96 FB 81 CE 21 47 4D D3 DD BC FE A4 EC 76 D7",
	  "09 95 7A A2 5F CA F8 8F 7B 39 E4 40 6E 63 30 12"
	  "D5 FE A2 18 53 F6 47 8D A7 06 5C AE F4 1F D4 54"
	  "A4 08 24 EE C5" },
	{ 18, "13 bytes byte", 3,
	  "E5 A7 2B E9 B7 92 6C 12 25 BA FE F9 C1 87 2E 7B"
	  "A4 CD B2 B1 78 93 D8 4A BD 90 AC DD 87 64 D9 66",
	  "D8 F1 AA FE EC 84 58 7C C3 E7 00 A7 74 E5 66 51"
	  "A6 D6 93 E1 74 EC 44 73 B5 E6 D9 6F 80 29 7A 65"
	  "3F B8 18 AD 89 3E 71 9F 96" },
	{ 18, "30 bytes bytes bytes bytes byt", 4,
	  "F1 C7 95 E9 24 8A 09 33 8D 82 C3 F8 D5 B5 67 04"
	  "0B 01 10 73 68 45 04 13 47 23 5B 14 04 23 13 98",
	  "D1 13 7A 4D 63 4C FE CE 92 4D BC 3B F6 79 06 48"
	  "BD 5C FF 7D E0 E7 B9 94 60 21 1D 0D AE F3 D7 9A"
	  "29 5C 68 88 58 F3 B3 4B 9C BD 6E EB AE 81 DA F6"
	  "B7 34 D4 D4 98 B6 71 4F 1C 1D" },
};

static void
test_mit_decrypt_sha1(void **state)
{
	kc_key key;
	uint8_t cipher[MAXBUF], out[MAXBUF], again[MAXBUF];
	size_t cipher_len, out_len, again_len;
	(void)state;
	for (size_t i = 0; i < NVEC(mit_decrypt); i++) {
		key_from_hex(&key, mit_decrypt[i].enctype, mit_decrypt[i].key);
		cipher_len = unhex(mit_decrypt[i].cipher, cipher, sizeof(cipher));
		assert_int_equal(kc_decrypt(&key, mit_decrypt[i].usage,
		    lbytes_make(cipher, cipher_len), out, sizeof(out), &out_len),
		    LETHE_OK);
		assert_int_equal(out_len, strlen(mit_decrypt[i].plain));
		assert_memory_equal(out, mit_decrypt[i].plain, out_len);
		/* Re-encrypting with the recovered confounder gives the same
		 * bytes: the confounder is the CTS decryption's first block. */
		{
			uint8_t full[MAXBUF];
			size_t n = cipher_len - 12;
			uint8_t scratch[KC_MAX_KEY_LEN];
			const uint8_t *ke;
			size_t ke_len;
			const kc_etype_impl *e = kc_impl(key.enctype);
			assert_int_equal(kc_derived_key(&key,
			    mit_decrypt[i].usage, KC_DK_ENCRYPTION, scratch, &ke,
			    &ke_len), LETHE_OK);
			assert_int_equal(kc_cts(e->cipher, ke, false, cipher, n,
			    full), LETHE_OK);
			assert_int_equal(kc_encrypt_with_confounder(&key,
			    mit_decrypt[i].usage, lbytes_make(full, 16),
			    lbytes_make(out, out_len), again, sizeof(again),
			    &again_len), LETHE_OK);
			assert_int_equal(again_len, cipher_len);
			assert_memory_equal(again, cipher, cipher_len);
		}
		kc_key_clear(&key);
	}
}

static void
test_mit_checksums_sha1(void **state)
{
	kc_key key;
	uint8_t out[KC_MAX_CKSUM_LEN];
	size_t out_len;
	(void)state;
	key_from_hex(&key, 17, "90 62 43 0C 8C DA 33 88 92 2E 6D 6A 50 9F 5B 7A");
	assert_int_equal(kc_checksum_make(&key, KC_CKSUMTYPE_HMAC_SHA1_96_AES128,
	    3, LBYTES_LIT("eight nine ten eleven twelve thirteen"), out,
	    sizeof(out), &out_len), LETHE_OK);
	assert_hex_equal(out, out_len, "01 A4 B0 88 D4 56 28 F6 94 66 14 E3");

	key_from_hex(&key, 18,
	    "B1 AE 4C D8 46 2A FF 16 77 05 3C C9 27 9A AC 30"
	    "B7 96 FB 81 CE 21 47 4D D3 DD BC FE A4 EC 76 D7");
	assert_int_equal(kc_checksum_make(&key, KC_CKSUMTYPE_HMAC_SHA1_96_AES256,
	    4, LBYTES_LIT("fourteen"), out, sizeof(out), &out_len), LETHE_OK);
	assert_hex_equal(out, out_len, "E0 87 39 E3 27 9E 29 03 EC 8E 38 36");
	assert_int_equal(kc_checksum_verify(&key,
	    KC_CKSUMTYPE_HMAC_SHA1_96_AES256, 4, LBYTES_LIT("fourteen"),
	    lbytes_make(out, out_len)), LETHE_OK);
	kc_key_clear(&key);
}

/* MIT t_prf / t_cf2: keys are string-to-key(s, salt s), default params. */
static void
s2k_self_salted(kc_key *key, int32_t enctype, const char *s)
{
	lbytes b = lbytes_make(s, strlen(s));

	assert_int_equal(kc_string_to_key(key, enctype, b, b,
	    lbytes_make(NULL, 0)), LETHE_OK);
}

static void
test_mit_prf_sha1(void **state)
{
	static const uint8_t in17[] = { 0x01, 0x61 };
	static const uint8_t in18[] = { 0x02, 0x62 };
	kc_key key;
	uint8_t out[KC_MAX_PRF_LEN];
	size_t out_len;
	(void)state;
	s2k_self_salted(&key, 17, "key1");
	assert_int_equal(kc_prf(&key, lbytes_make(in17, 2), out, sizeof(out),
	    &out_len), LETHE_OK);
	assert_hex_equal(out, out_len, "77B39A37A868920F2A51F9DD150C5717");
	s2k_self_salted(&key, 18, "key2");
	assert_int_equal(kc_prf(&key, lbytes_make(in18, 2), out, sizeof(out),
	    &out_len), LETHE_OK);
	assert_hex_equal(out, out_len, "0D674DD0F9A6806525A4D92E828BD15A");
	kc_key_clear(&key);
}

static void
test_mit_cf2(void **state)
{
	static const struct {
		int32_t enctype;
		const char *want;
	} cases[] = {
		{ 17, "97df97e4b798b29eb31ed7280287a92a" },
		{ 18, "4d6ca4e629785c1f01baf55e2e548566"
		      "b9617ae3a96868c337cb93b5e72b1c7b" },
		/* MIT 1.19+ t_cf2.expected, as quoted by a third-party suite. */
		{ 19, "edd02a39d2dbde31611c16e610be062c" },
		{ 20, "67f6ea530aea85a37dcbb23349ea52dc"
		      "c61ca8493ff557252327fd8304341584" },
	};
	kc_key k1, k2, out;
	(void)state;
	for (size_t i = 0; i < NVEC(cases); i++) {
		s2k_self_salted(&k1, cases[i].enctype, "key1");
		s2k_self_salted(&k2, cases[i].enctype, "key2");
		assert_int_equal(kc_cf2(&k1, LBYTES_LIT("a"), &k2,
		    LBYTES_LIT("b"), &out), LETHE_OK);
		assert_int_equal(kc_key_enctype(&out), cases[i].enctype);
		assert_hex_equal(out.bytes, out.len, cases[i].want);
	}
	kc_key_clear(&k1);
	kc_key_clear(&k2);
	kc_key_clear(&out);
}

/* kc_hmac of msg under key, checked against OpenSSL's one-shot EVP_Q_mac. */
static void
check_hmac(enum kc_md_id md, const uint8_t *key, size_t key_len, const char *msg)
{
	uint8_t got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	size_t want_len = 0;
	char both[256];

	assert_int_equal(kc_hmac(md, key, key_len, lbytes_make(msg, strlen(msg)),
	    lbytes_make("|b", 2), got), LETHE_OK);
	snprintf(both, sizeof(both), "%s|b", msg);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, kc_md_name(md), NULL, key, key_len,
	    (const unsigned char *)both, strlen(both), want, sizeof(want), &want_len));
	assert_int_equal(want_len, kc_md_len(md));
	assert_memory_equal(got, want, want_len);
}

/*
 * kc_hmac keeps keyed contexts per thread, found by the key's address: a
 * different key at the same address, the same key again, another digest
 * with the same key, and more keys than slots all give the right HMAC.
 */
static void
test_hmac_keyed_contexts(void **state)
{
	static uint8_t keys[80][32];
	uint8_t key[32];
	(void)state;

	memset(key, 0xa5, sizeof(key));
	check_hmac(KC_MD_SHA1, key, 16, "first");
	check_hmac(KC_MD_SHA1, key, 16, "again");
	key[7] ^= 1;                    /* another key at the same address */
	check_hmac(KC_MD_SHA1, key, 16, "changed");
	check_hmac(KC_MD_SHA1, key, 32, "longer");
	check_hmac(KC_MD_SHA256, key, 32, "other digest");
	check_hmac(KC_MD_SHA384, key, 24, "sha384");
	key[7] ^= 1;
	check_hmac(KC_MD_SHA1, key, 16, "back");
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < 80; i++) {
			memset(keys[i], (int)i, sizeof(keys[i]));
			keys[i][31] = (uint8_t)round;
			check_hmac(i % 2 ? KC_MD_SHA256 : KC_MD_SHA1, keys[i], 32, "many");
		}
	}
	check_hmac(KC_MD_SHA1, key, 0, "empty key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3962_pbkdf2),
		cmocka_unit_test(test_hmac_keyed_contexts),
		cmocka_unit_test(test_rfc3962_string_to_key),
		cmocka_unit_test(test_rfc3962_cts),
		cmocka_unit_test(test_rfc8009_string_to_key),
		cmocka_unit_test(test_rfc8009_key_derivation),
		cmocka_unit_test(test_rfc8009_encryption),
		cmocka_unit_test(test_rfc8009_checksums),
		cmocka_unit_test(test_rfc8009_prf),
		cmocka_unit_test(test_mit_decrypt_sha1),
		cmocka_unit_test(test_mit_checksums_sha1),
		cmocka_unit_test(test_mit_prf_sha1),
		cmocka_unit_test(test_mit_cf2),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	kc_thread_cleanup();
	return rc;
}
