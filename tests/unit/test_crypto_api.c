/*
 * Behaviour of the src/crypto API: tables, key objects, round trips, and
 * every refusal (flipped bits, truncation, wrong usage, wrong key, wrong
 * types, small buffers), the derived-key cache and its use from threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/crypto_int.h"

static const int32_t all_enctypes[] = { 17, 18, 19, 20 };
#define NENC (sizeof(all_enctypes) / sizeof(all_enctypes[0]))

static const kc_enctype *
enctype(int32_t number)
{
	const kc_enctype *e = NULL;

	assert_int_equal(kc_enctype_lookup(number, &e), LETHE_OK);
	return e;
}

/* A fixed key of enctype whose bytes are seed, seed+1, ... */
static void
fixed_key(kc_key *key, int32_t number, uint8_t seed)
{
	uint8_t b[KC_MAX_KEY_LEN];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(seed + i);
	assert_int_equal(kc_key_init(key, number,
	    lbytes_make(b, enctype(number)->key_len)), LETHE_OK);
}

/* ---- tables ------------------------------------------------------------ */

static void
test_enctype_table(void **state)
{
	const kc_enctype *e;
	const kc_cksumtype *c;
	(void)state;
	e = enctype(17);
	assert_string_equal(e->name, "aes128-cts-hmac-sha1-96");
	assert_int_equal(e->key_len, 16);
	assert_int_equal(e->random_len, 16);
	assert_int_equal(e->mac_len, 12);
	assert_int_equal(e->prf_len, 16);
	assert_int_equal(e->cksumtype, 15);
	assert_int_equal(e->default_iterations, 4096);
	e = enctype(18);
	assert_string_equal(e->name, "aes256-cts-hmac-sha1-96");
	assert_int_equal(e->key_len, 32);
	assert_int_equal(e->mac_len, 12);
	assert_int_equal(e->cksumtype, 16);
	e = enctype(19);
	assert_string_equal(e->name, "aes128-cts-hmac-sha256-128");
	assert_int_equal(e->key_len, 16);
	assert_int_equal(e->mac_len, 16);
	assert_int_equal(e->prf_len, 32);
	assert_int_equal(e->cksumtype, 19);
	assert_int_equal(e->default_iterations, 32768);
	e = enctype(20);
	assert_string_equal(e->name, "aes256-cts-hmac-sha384-192");
	assert_int_equal(e->key_len, 32);
	assert_int_equal(e->mac_len, 24);
	assert_int_equal(e->prf_len, 48);
	assert_int_equal(e->cksumtype, 20);

	assert_int_equal(kc_enctype_lookup_name("AES256-CTS-HMAC-SHA1-96", &e),
	    LETHE_OK);
	assert_int_equal(e->number, 18);
	assert_int_equal(kc_enctype_lookup_name("aes128-sha2", &e), LETHE_OK);
	assert_int_equal(e->number, 19);
	assert_int_equal(kc_enctype_lookup_name("aes256-cts", &e), LETHE_OK);
	assert_int_equal(e->number, 18);
	assert_int_equal(kc_enctype_lookup_name("des-cbc-crc", &e),
	    LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kc_enctype_lookup_name("", &e), LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kc_enctype_lookup(23, &e), LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kc_enctype_lookup(0, &e), LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kc_enctype_lookup(-1, &e), LETHE_ERR_ETYPE_NOSUPP);
	assert_true(kc_enctype_supported(20));
	assert_false(kc_enctype_supported(16));

	assert_int_equal(kc_cksumtype_lookup(16, &c), LETHE_OK);
	assert_string_equal(c->name, "hmac-sha1-96-aes256");
	assert_int_equal(c->enctype, 18);
	assert_int_equal(c->len, 12);
	assert_int_equal(kc_cksumtype_lookup(20, &c), LETHE_OK);
	assert_int_equal(c->len, 24);
	assert_int_equal(kc_cksumtype_lookup(14, &c), LETHE_ERR_CKSUM_NOSUPP);
}

static void
test_lengths(void **state)
{
	size_t n;
	(void)state;
	assert_int_equal(kc_encrypt_len(17, 10, &n), LETHE_OK);
	assert_int_equal(n, 10 + 16 + 12);
	assert_int_equal(kc_encrypt_len(20, 0, &n), LETHE_OK);
	assert_int_equal(n, 16 + 24);
	assert_int_equal(kc_encrypt_len(99, 0, &n), LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kc_encrypt_len(19, SIZE_MAX - 5, &n), LETHE_ERR_TOO_BIG);
	assert_int_equal(kc_plain_len(19, 32, &n), LETHE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(kc_plain_len(19, 31, &n), LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kc_plain_len(18, 100, &n), LETHE_OK);
	assert_int_equal(n, 100 - 28);
	assert_int_equal(kc_plain_len(7, 100, &n), LETHE_ERR_ETYPE_NOSUPP);
}

/* ---- keys -------------------------------------------------------------- */

static void
test_key_lifecycle(void **state)
{
	static const uint8_t zeros[KC_MAX_KEY_LEN];
	uint8_t b[KC_MAX_KEY_LEN] = { 1, 2, 3 };
	kc_key key, copy, other;
	kc_key *heap = NULL;
	uint8_t buf[64];
	size_t n;
	(void)state;

	assert_int_equal(kc_key_init(&key, 99, lbytes_make(b, 16)),
	    LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kc_key_init(&key, 17, lbytes_make(b, 32)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_key_init(&key, 18, lbytes_make(b, 16)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_random_to_key(&key, 20, lbytes_make(b, 31)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_key_new(17, lbytes_make(b, 15), &heap),
	    LETHE_ERR_INVALID_ARG);
	assert_null(heap);

	assert_int_equal(kc_key_init(&key, 18, lbytes_make(b, 32)), LETHE_OK);
	assert_int_equal(kc_key_enctype(&key), 18);
	assert_int_equal(kc_key_bytes(&key).len, 32);
	assert_memory_equal(kc_key_bytes(&key).data, b, 32);
	assert_int_equal(kc_key_prederive(&key, 3), LETHE_OK);

	kc_key_copy(&copy, &key);
	assert_int_equal(kc_key_enctype(&copy), 18);
	assert_memory_equal(copy.bytes, b, 32);
	for (size_t i = 0; i < KC_KEY_CACHE_SLOTS; i++)
		assert_int_equal(atomic_load(&copy.cache[i].state), 0);

	kc_key_clear(&key);
	assert_int_equal(kc_key_enctype(&key), 0);
	assert_int_equal(kc_key_bytes(&key).len, 0);
	assert_memory_equal(key.bytes, zeros, sizeof(zeros));
	for (size_t i = 0; i < KC_KEY_CACHE_SLOTS; i++) {
		assert_int_equal(atomic_load(&key.cache[i].state), 0);
		assert_memory_equal(key.cache[i].bytes, zeros, sizeof(zeros));
	}
	/* A cleared key is refused, never used as an all-zero key. */
	assert_int_equal(kc_encrypt(&key, 1, LBYTES_LIT("x"), buf, sizeof(buf),
	    &n), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_decrypt(&key, 1, lbytes_make(buf, 40), buf,
	    sizeof(buf), &n), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_prf(&key, LBYTES_LIT("x"), buf, sizeof(buf), &n),
	    LETHE_ERR_INVALID_ARG);

	assert_int_equal(kc_key_generate(&key, 20), LETHE_OK);
	assert_int_equal(kc_key_generate(&other, 20), LETHE_OK);
	assert_int_equal(kc_key_bytes(&key).len, 32);
	assert_memory_not_equal(key.bytes, other.bytes, 32);
	assert_int_equal(kc_key_generate(&other, 3), LETHE_ERR_ETYPE_NOSUPP);

	assert_int_equal(kc_key_new(19, lbytes_make(b, 16), &heap), LETHE_OK);
	assert_int_equal(kc_key_enctype(heap), 19);
	kc_key_free(heap);
	kc_key_free(NULL);
	kc_key_clear(&key);
	kc_key_clear(&copy);
}

/* ---- encryption ---------------------------------------------------------- */

static void
test_round_trip_all_lengths(void **state)
{
	uint8_t plain[80], cipher[128], back[128];
	size_t cipher_len, back_len, want;
	kc_key key;
	(void)state;
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7 + 1);
	for (size_t k = 0; k < NENC; k++) {
		fixed_key(&key, all_enctypes[k], 0x40);
		for (size_t len = 0; len <= sizeof(plain); len++) {
			assert_int_equal(kc_encrypt_len(all_enctypes[k], len,
			    &want), LETHE_OK);
			assert_int_equal(kc_encrypt(&key, 5,
			    lbytes_make(plain, len), cipher, want, &cipher_len),
			    LETHE_OK);
			assert_int_equal(cipher_len, want);
			assert_int_equal(kc_decrypt(&key, 5,
			    lbytes_make(cipher, cipher_len), back, cipher_len,
			    &back_len), LETHE_OK);
			assert_int_equal(back_len, len);
			assert_memory_equal(back, plain, len);
		}
		kc_key_clear(&key);
	}
}

static void
test_confounder_is_random(void **state)
{
	uint8_t c1[64], c2[64];
	size_t n1, n2;
	kc_key key;
	(void)state;
	fixed_key(&key, 18, 1);
	assert_int_equal(kc_encrypt(&key, 1, LBYTES_LIT("same"), c1, sizeof(c1),
	    &n1), LETHE_OK);
	assert_int_equal(kc_encrypt(&key, 1, LBYTES_LIT("same"), c2, sizeof(c2),
	    &n2), LETHE_OK);
	assert_int_equal(n1, n2);
	assert_memory_not_equal(c1, c2, n1);
	kc_key_clear(&key);
}

static void
test_flipped_bits(void **state)
{
	uint8_t cipher[96], bad[96], out[96];
	size_t n, out_len;
	kc_key key;
	(void)state;
	for (size_t k = 0; k < NENC; k++) {
		fixed_key(&key, all_enctypes[k], 9);
		assert_int_equal(kc_encrypt(&key, 7,
		    LBYTES_LIT("a message of forty bytes, give or take."),
		    cipher, sizeof(cipher), &n), LETHE_OK);
		/* Every bit of every byte: confounder, body, stolen block, MAC. */
		for (size_t i = 0; i < n; i++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(bad, cipher, n);
				bad[i] ^= (uint8_t)(1u << bit);
				memset(out, 0xEE, sizeof(out));
				assert_int_equal(kc_decrypt(&key, 7,
				    lbytes_make(bad, n), out, sizeof(out),
				    &out_len), LETHE_ERR_BAD_INTEGRITY);
			}
		}
		/* Nothing of the plaintext is left behind on failure. */
		for (size_t i = 0; i < n - enctype(all_enctypes[k])->mac_len; i++)
			assert_int_equal(out[i], 0);
		assert_int_equal(kc_decrypt(&key, 7, lbytes_make(cipher, n), out,
		    sizeof(out), &out_len), LETHE_OK);
		kc_key_clear(&key);
	}
}

static void
test_truncated_and_extended(void **state)
{
	uint8_t cipher[96], out[96];
	size_t n, out_len;
	kc_key key;
	(void)state;
	for (size_t k = 0; k < NENC; k++) {
		size_t min = KC_CONFOUNDER_LEN + enctype(all_enctypes[k])->mac_len;
		fixed_key(&key, all_enctypes[k], 3);
		assert_int_equal(kc_encrypt(&key, 11, LBYTES_LIT("twenty bytes long!!"),
		    cipher, sizeof(cipher), &n), LETHE_OK);
		for (size_t len = 0; len < n; len++) {
			/* Exact-size heap copies let ASan catch any over-read. */
			uint8_t *part = test_malloc(len > 0 ? len : 1);
			memcpy(part, cipher, len);
			assert_int_equal(kc_decrypt(&key, 11,
			    lbytes_make(part, len), out, sizeof(out), &out_len),
			    LETHE_ERR_BAD_INTEGRITY);
			if (len >= min)         /* suffix dropped instead */
				assert_int_equal(kc_decrypt(&key, 11,
				    lbytes_make(cipher + n - len, len), out,
				    sizeof(out), &out_len),
				    LETHE_ERR_BAD_INTEGRITY);
			test_free(part);
		}
		cipher[n] = 0;  /* one byte appended */
		assert_int_equal(kc_decrypt(&key, 11, lbytes_make(cipher, n + 1),
		    out, sizeof(out), &out_len), LETHE_ERR_BAD_INTEGRITY);
		kc_key_clear(&key);
	}
}

static void
test_wrong_usage_and_key(void **state)
{
	uint8_t cipher[64], out[64];
	size_t n, out_len;
	kc_key key, other, other_type;
	(void)state;
	for (size_t k = 0; k < NENC; k++) {
		int32_t et = all_enctypes[k];
		fixed_key(&key, et, 20);
		fixed_key(&other, et, 21);
		assert_int_equal(kc_encrypt(&key, 3, LBYTES_LIT("secret"), cipher,
		    sizeof(cipher), &n), LETHE_OK);
		assert_int_equal(kc_decrypt(&key, 4, lbytes_make(cipher, n), out,
		    sizeof(out), &out_len), LETHE_ERR_BAD_INTEGRITY);
		assert_int_equal(kc_decrypt(&key, 3 | 0x100, lbytes_make(cipher, n),
		    out, sizeof(out), &out_len), LETHE_ERR_BAD_INTEGRITY);
		assert_int_equal(kc_decrypt(&other, 3, lbytes_make(cipher, n), out,
		    sizeof(out), &out_len), LETHE_ERR_BAD_INTEGRITY);
		/* Same key bytes under the other profile of the same size. */
		fixed_key(&other_type, et == 17 ? 19 : et == 19 ? 17 :
		    et == 18 ? 20 : 18, 20);
		assert_int_equal(kc_decrypt(&other_type, 3, lbytes_make(cipher, n),
		    out, sizeof(out), &out_len), LETHE_ERR_BAD_INTEGRITY);
		assert_int_equal(kc_decrypt(&key, 3, lbytes_make(cipher, n), out,
		    sizeof(out), &out_len), LETHE_OK);
		assert_int_equal(out_len, 6);
		assert_memory_equal(out, "secret", 6);
		kc_key_clear(&key);
		kc_key_clear(&other);
		kc_key_clear(&other_type);
	}
}

static void
test_small_buffers(void **state)
{
	uint8_t cipher[64], out[64];
	uint8_t conf[KC_CONFOUNDER_LEN] = { 0 };
	size_t n, out_len;
	kc_key key;
	(void)state;
	fixed_key(&key, 19, 5);
	/* encrypt needs 16 + 5 + 16 = 37 bytes */
	assert_int_equal(kc_encrypt(&key, 1, LBYTES_LIT("hello"), cipher, 36, &n),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_encrypt(&key, 1, LBYTES_LIT("hello"), cipher, 37, &n),
	    LETHE_OK);
	assert_int_equal(n, 37);
	/* decrypt needs cipher.len - mac_len = 21 bytes */
	assert_int_equal(kc_decrypt(&key, 1, lbytes_make(cipher, n), out, 20,
	    &out_len), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kc_decrypt(&key, 1, lbytes_make(cipher, n), out, 21,
	    &out_len), LETHE_OK);
	assert_int_equal(out_len, 5);
	assert_int_equal(kc_encrypt_with_confounder(&key, 1,
	    lbytes_make(conf, 15), LBYTES_LIT("x"), cipher, sizeof(cipher), &n),
	    LETHE_ERR_INVALID_ARG);
	kc_key_clear(&key);
}

/* ---- checksums ----------------------------------------------------------- */

static void
test_checksum_refusals(void **state)
{
	uint8_t sum[KC_MAX_CKSUM_LEN], bad[KC_MAX_CKSUM_LEN + 1];
	size_t n;
	kc_key key, other;
	(void)state;
	for (size_t k = 0; k < NENC; k++) {
		int32_t et = all_enctypes[k];
		int32_t ct = enctype(et)->cksumtype;
		fixed_key(&key, et, 30);
		fixed_key(&other, et, 31);
		assert_int_equal(kc_checksum_make(&key, ct, 17, LBYTES_LIT("data"),
		    sum, sizeof(sum), &n), LETHE_OK);
		assert_int_equal(n, enctype(et)->mac_len);
		assert_int_equal(kc_checksum_verify(&key, ct, 17,
		    LBYTES_LIT("data"), lbytes_make(sum, n)), LETHE_OK);
		assert_int_equal(kc_checksum_verify(&key, ct, 17,
		    LBYTES_LIT("Data"), lbytes_make(sum, n)),
		    LETHE_ERR_BAD_INTEGRITY);
		assert_int_equal(kc_checksum_verify(&key, ct, 18,
		    LBYTES_LIT("data"), lbytes_make(sum, n)),
		    LETHE_ERR_BAD_INTEGRITY);
		assert_int_equal(kc_checksum_verify(&other, ct, 17,
		    LBYTES_LIT("data"), lbytes_make(sum, n)),
		    LETHE_ERR_BAD_INTEGRITY);
		for (size_t i = 0; i < n; i++) {
			memcpy(bad, sum, n);
			bad[i] ^= 0x80;
			assert_int_equal(kc_checksum_verify(&key, ct, 17,
			    LBYTES_LIT("data"), lbytes_make(bad, n)),
			    LETHE_ERR_BAD_INTEGRITY);
		}
		assert_int_equal(kc_checksum_verify(&key, ct, 17,
		    LBYTES_LIT("data"), lbytes_make(sum, n - 1)),
		    LETHE_ERR_BAD_INTEGRITY);
		memcpy(bad, sum, n);
		bad[n] = 0;
		assert_int_equal(kc_checksum_verify(&key, ct, 17,
		    LBYTES_LIT("data"), lbytes_make(bad, n + 1)),
		    LETHE_ERR_BAD_INTEGRITY);
		/* A checksum type of another enctype, or unknown. */
		assert_int_equal(kc_checksum_make(&key, ct == 15 ? 16 : 15, 17,
		    LBYTES_LIT("data"), sum, sizeof(sum), &n),
		    LETHE_ERR_CKSUM_NOSUPP);
		assert_int_equal(kc_checksum_verify(&key, 8, 17,
		    LBYTES_LIT("data"), lbytes_make(sum, 12)),
		    LETHE_ERR_CKSUM_NOSUPP);
		assert_int_equal(kc_checksum_make(&key, ct, 17, LBYTES_LIT("data"),
		    sum, enctype(et)->mac_len - 1, &n), LETHE_ERR_INVALID_ARG);
		kc_key_clear(&key);
		kc_key_clear(&other);
	}
}

/* ---- string-to-key ------------------------------------------------------- */

static void
test_salt_default(void **state)
{
	const lbytes comps[] = { LBYTES_LIT("host"), LBYTES_LIT("a.example.com") };
	uint8_t out[64];
	size_t n = 0;
	(void)state;
	assert_int_equal(kc_salt_default(LBYTES_LIT("EXAMPLE.COM"), comps, 2,
	    out, sizeof(out), &n), LETHE_OK);
	assert_int_equal(n, 28);
	assert_memory_equal(out, "EXAMPLE.COMhosta.example.com", 28);
	assert_int_equal(kc_salt_default(LBYTES_LIT("EXAMPLE.COM"), comps, 2,
	    NULL, 0, &n), LETHE_ERR_TOO_BIG);
	assert_int_equal(n, 28);
	assert_int_equal(kc_salt_default(LBYTES_LIT("EXAMPLE.COM"), comps, 2,
	    out, 27, &n), LETHE_ERR_TOO_BIG);
	assert_int_equal(kc_salt_default(LBYTES_LIT("R"), NULL, 0, out,
	    sizeof(out), &n), LETHE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(kc_salt_default(LBYTES_LIT("R"), NULL, 1, out,
	    sizeof(out), &n), LETHE_ERR_INVALID_ARG);
}

static void
test_s2k_params(void **state)
{
	static const uint8_t p4096[] = { 0, 0, 0x10, 0 };
	static const uint8_t p0[] = { 0, 0, 0, 0 };
	static const uint8_t p3[] = { 0, 0x10, 0 };
	static const uint8_t phuge[] = { 0x01, 0, 0, 1 };
	kc_key a, b;
	(void)state;
	assert_int_equal(kc_string_to_key(&a, 17, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT"), lbytes_make(NULL, 0)), LETHE_OK);
	assert_int_equal(kc_string_to_key(&b, 17, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT"), lbytes_make(p4096, 4)), LETHE_OK);
	assert_memory_equal(a.bytes, b.bytes, 16);     /* 4096 is the default */
	assert_int_equal(kc_string_to_key(&b, 17, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT!"), lbytes_make(p4096, 4)), LETHE_OK);
	assert_memory_not_equal(a.bytes, b.bytes, 16);
	assert_int_equal(kc_string_to_key(&b, 17, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT"), lbytes_make(p0, 4)), LETHE_ERR_FORMAT);
	assert_int_equal(kc_string_to_key(&b, 17, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT"), lbytes_make(p3, 3)), LETHE_ERR_FORMAT);
	assert_int_equal(kc_string_to_key(&b, 19, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT"), lbytes_make(phuge, 4)), LETHE_ERR_TOO_BIG);
	assert_int_equal(kc_string_to_key(&b, 5, LBYTES_LIT("pw"),
	    LBYTES_LIT("SALT"), lbytes_make(NULL, 0)), LETHE_ERR_ETYPE_NOSUPP);
	/* Empty password and salt are legal inputs. */
	assert_int_equal(kc_string_to_key(&b, 20, lbytes_make(NULL, 0),
	    lbytes_make(NULL, 0), lbytes_make(p4096, 4)), LETHE_OK);
	assert_int_equal(kc_key_bytes(&b).len, 32);
	kc_key_clear(&a);
	kc_key_clear(&b);
}

/* ---- PRF and CF2 --------------------------------------------------------- */

static void
test_prf_plus_and_cf2(void **state)
{
	uint8_t big[1 + KC_MAX_PEPPER_LEN];
	uint8_t p1[96], p2[96], block[KC_MAX_PRF_LEN], msg[8];
	size_t n;
	kc_key a, b, ab, ba, again;
	(void)state;
	for (size_t k = 0; k < NENC; k++) {
		int32_t et = all_enctypes[k];
		size_t prf_len = enctype(et)->prf_len;
		fixed_key(&a, et, 50);
		fixed_key(&b, et, 60);
		/* PRF+ is PRF(1|in) | PRF(2|in) | ... */
		assert_int_equal(kc_prf_plus(&a, LBYTES_LIT("pep"), p1, 96),
		    LETHE_OK);
		for (uint8_t i = 1; (size_t)(i - 1) * prf_len < 96; i++) {
			size_t off = (size_t)(i - 1) * prf_len;
			size_t take = 96 - off < prf_len ? 96 - off : prf_len;
			msg[0] = i;
			memcpy(msg + 1, "pep", 3);
			assert_int_equal(kc_prf(&a, lbytes_make(msg, 4), block,
			    sizeof(block), &n), LETHE_OK);
			assert_memory_equal(p1 + off, block, take);
		}
		assert_int_equal(kc_prf_plus(&a, lbytes_make(big,
		    KC_MAX_PEPPER_LEN + 1), p1, 16), LETHE_ERR_TOO_BIG);
		assert_int_equal(kc_prf_plus(&a, LBYTES_LIT("x"), big,
		    255 * prf_len + 1), LETHE_ERR_TOO_BIG);
		assert_int_equal(kc_prf(&a, LBYTES_LIT("x"), block, prf_len - 1,
		    &n), LETHE_ERR_INVALID_ARG);

		/* CF2 = PRF+(a, p1) XOR PRF+(b, p2), key1's enctype. */
		assert_int_equal(kc_cf2(&a, LBYTES_LIT("p1"), &b,
		    LBYTES_LIT("p2"), &ab), LETHE_OK);
		assert_int_equal(kc_cf2(&a, LBYTES_LIT("p1"), &b,
		    LBYTES_LIT("p2"), &again), LETHE_OK);
		assert_int_equal(kc_cf2(&b, LBYTES_LIT("p1"), &a,
		    LBYTES_LIT("p2"), &ba), LETHE_OK);
		assert_memory_equal(ab.bytes, again.bytes, ab.len);
		assert_memory_not_equal(ab.bytes, ba.bytes, ab.len);
		assert_int_equal(kc_prf_plus(&a, LBYTES_LIT("p1"), p1, ab.len),
		    LETHE_OK);
		assert_int_equal(kc_prf_plus(&b, LBYTES_LIT("p2"), p2, ab.len),
		    LETHE_OK);
		for (size_t i = 0; i < ab.len; i++)
			p1[i] ^= p2[i];
		assert_memory_equal(ab.bytes, p1, ab.len);
		assert_int_equal(kc_key_enctype(&ab), et);
		kc_key_clear(&a);
		kc_key_clear(&b);
		kc_key_clear(&ab);
		kc_key_clear(&ba);
		kc_key_clear(&again);
	}
	/* Mixed enctypes: the result has key1's enctype and length. */
	fixed_key(&a, 18, 1);
	fixed_key(&b, 19, 2);
	assert_int_equal(kc_cf2(&a, LBYTES_LIT("x"), &b, LBYTES_LIT("y"), &ab),
	    LETHE_OK);
	assert_int_equal(kc_key_enctype(&ab), 18);
	assert_int_equal(ab.len, 32);
	kc_key_clear(&a);
	kc_key_clear(&b);
	kc_key_clear(&ab);
}

/* ---- derived-key cache ---------------------------------------------------- */

static void
test_cache_full_still_correct(void **state)
{
	uint8_t cipher[64], out[64];
	size_t n, out_len;
	kc_key key, fresh;
	(void)state;
	fixed_key(&key, 20, 70);
	/* 8 slots: two usages fit (6 slots), the third does not. */
	assert_int_equal(kc_key_prederive(&key, 1), LETHE_OK);
	assert_int_equal(kc_key_prederive(&key, 2), LETHE_OK);
	assert_int_equal(kc_key_prederive(&key, 3), LETHE_ERR_TOO_BIG);
	for (size_t i = 0; i < KC_KEY_CACHE_SLOTS; i++)
		assert_int_not_equal(atomic_load(&key.cache[i].state), 0);
	/* Usages beyond the cache work, and match a fresh key's results. */
	for (uint32_t usage = 1; usage <= 12; usage++) {
		uint8_t conf[16] = { (uint8_t)usage };
		uint8_t c2[64];
		size_t n2;
		fixed_key(&fresh, 20, 70);
		assert_int_equal(kc_encrypt_with_confounder(&key, usage,
		    lbytes_make(conf, 16), LBYTES_LIT("cache"), cipher,
		    sizeof(cipher), &n), LETHE_OK);
		assert_int_equal(kc_encrypt_with_confounder(&fresh, usage,
		    lbytes_make(conf, 16), LBYTES_LIT("cache"), c2, sizeof(c2),
		    &n2), LETHE_OK);
		assert_int_equal(n, n2);
		assert_memory_equal(cipher, c2, n);
		assert_int_equal(kc_decrypt(&key, usage, lbytes_make(cipher, n),
		    out, sizeof(out), &out_len), LETHE_OK);
		kc_key_clear(&fresh);
	}
	kc_key_clear(&key);
}

struct worker {
	kc_key *key;
	uint32_t usage;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t cipher[128], out[128], sum[KC_MAX_CKSUM_LEN];
	size_t n, out_len, sum_len;
	int32_t ct = enctype(w->key->enctype)->cksumtype;

	for (int i = 0; i < 300; i++) {
		uint32_t usage = w->usage + (uint32_t)(i % 6);
		if (kc_encrypt(w->key, usage, LBYTES_LIT("shared key, many threads"),
		    cipher, sizeof(cipher), &n) != LETHE_OK ||
		    kc_decrypt(w->key, usage, lbytes_make(cipher, n), out,
		    sizeof(out), &out_len) != LETHE_OK ||
		    out_len != 24 || memcmp(out, "shared key, many threads", 24) != 0)
			w->failures++;
		if (kc_checksum_make(w->key, ct, usage, LBYTES_LIT("d"), sum,
		    sizeof(sum), &sum_len) != LETHE_OK ||
		    kc_checksum_verify(w->key, ct, usage, LBYTES_LIT("d"),
		    lbytes_make(sum, sum_len)) != LETHE_OK)
			w->failures++;
		/* Cross-thread: another usage must not verify. */
		if (kc_decrypt(w->key, usage + 100, lbytes_make(cipher, n), out,
		    sizeof(out), &out_len) != LETHE_ERR_BAD_INTEGRITY)
			w->failures++;
	}
	kc_thread_cleanup();
	return NULL;
}

static void
test_threads_share_key(void **state)
{
	enum { NTHREADS = 4 };
	pthread_t tids[NTHREADS];
	struct worker w[NTHREADS];
	kc_key key;
	(void)state;
	for (size_t k = 0; k < NENC; k++) {
		fixed_key(&key, all_enctypes[k], 80);
		for (int i = 0; i < NTHREADS; i++) {
			w[i] = (struct worker){ &key, (uint32_t)(1 + i % 2), 0 };
			assert_int_equal(pthread_create(&tids[i], NULL,
			    worker_main, &w[i]), 0);
		}
		for (int i = 0; i < NTHREADS; i++) {
			assert_int_equal(pthread_join(tids[i], NULL), 0);
			assert_int_equal(w[i].failures, 0);
		}
		kc_key_clear(&key);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enctype_table),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_key_lifecycle),
		cmocka_unit_test(test_round_trip_all_lengths),
		cmocka_unit_test(test_confounder_is_random),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_wrong_usage_and_key),
		cmocka_unit_test(test_small_buffers),
		cmocka_unit_test(test_checksum_refusals),
		cmocka_unit_test(test_salt_default),
		cmocka_unit_test(test_s2k_params),
		cmocka_unit_test(test_prf_plus_and_cf2),
		cmocka_unit_test(test_cache_full_still_correct),
		cmocka_unit_test(test_threads_share_key),
	};
	int rc;

	assert_int_equal(kc_init(), LETHE_OK);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	kc_thread_cleanup();
	return rc;
}
