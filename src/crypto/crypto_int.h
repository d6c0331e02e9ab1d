/*
 * Internals of src/crypto, shared by its files and by its unit tests
 * (which check the building blocks against RFC vectors). Not for other
 * layers.
 */
#ifndef LETHE_CRYPTO_CRYPTO_INT_H
#define LETHE_CRYPTO_CRYPTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "crypto/crypto.h"

enum kc_cipher_id {
	KC_CIPHER_AES128 = 0,
	KC_CIPHER_AES256,
	KC_CIPHER_COUNT
};

enum kc_md_id {
	KC_MD_SHA1 = 0,
	KC_MD_SHA256,
	KC_MD_SHA384,
	KC_MD_COUNT
};

/* The private half of an enctype table entry. */
typedef struct kc_etype_impl {
	kc_enctype pub;
	enum kc_cipher_id cipher;
	enum kc_md_id md;
	bool sha2;                      /* RFC 8009 profile (else RFC 3962) */
	size_t ki_len;                  /* Ki and Kc bytes */
} kc_etype_impl;

/* Table entry for number, or NULL. */
const kc_etype_impl *kc_impl(int32_t number);

/* Process-wide algorithms, fetched once (kc_algs_get fails if any is missing). */
typedef struct kc_algs {
	EVP_CIPHER *cts[KC_CIPHER_COUNT];
	EVP_MAC *hmac;
	EVP_MD *md[KC_MD_COUNT];
	EVP_KDF *krb5kdf;
	EVP_KDF *kbkdf;
	EVP_KDF *pbkdf2;
} kc_algs;

lethe_status kc_algs_get(const kc_algs **out);

/* The calling thread's reusable contexts (created on first use). */
lethe_status kc_thread_cts(enum kc_cipher_id cipher, EVP_CIPHER_CTX **out);
lethe_status kc_thread_hmac(enum kc_md_id md, EVP_MAC_CTX **out);
/*
 * This thread's HMAC context for md keyed with key, ready for updates. 64
 * keyed contexts are kept per thread (in 2-way sets picked by the key's
 * address, checked against a copy of its bytes in constant time): a key used again
 * restarts its context instead of hashing its pads again. The copies are
 * wiped when a slot is reused and at thread exit.
 */
lethe_status kc_thread_hmac_keyed(enum kc_md_id md, const uint8_t *key, size_t key_len,
    EVP_MAC_CTX **out);
/* This thread's KRB5KDF context with cipher's CBC set (the key and constant come per call). */
lethe_status kc_thread_krb5kdf(enum kc_cipher_id cipher, EVP_KDF_CTX **out);

/* OpenSSL names of the ids above. */
const char *kc_md_name(enum kc_md_id md);
const char *kc_cbc_name(enum kc_cipher_id cipher);
size_t kc_md_len(enum kc_md_id md);

/*
 * AES-CBC-CTS, CS3 variant (Kerberos), zero IV, one shot, len >= 16.
 * key is 16 or 32 bytes to match cipher. in == out is allowed.
 */
lethe_status kc_cts(enum kc_cipher_id cipher, const uint8_t *key, bool encrypt,
    const uint8_t *in, size_t len, uint8_t *out);

/* Full-length HMAC of a|b (either may be empty) into out (kc_md_len bytes). */
lethe_status kc_hmac(enum kc_md_id md, const uint8_t *key, size_t key_len,
    lbytes a, lbytes b, uint8_t *out);

/* PBKDF2-HMAC over md. */
lethe_status kc_pbkdf2(enum kc_md_id md, lbytes password, lbytes salt,
    uint32_t iterations, uint8_t *out, size_t out_len);

/* RFC 3961 DK(key, constant) for AES: KRB5KDF, out_len == key length. */
lethe_status kc_dk_krb5kdf(enum kc_cipher_id cipher, const uint8_t *key,
    lbytes constant, uint8_t *out, size_t out_len);

/* RFC 8009 KDF-HMAC-SHA2(key, label, context, k = out_len * 8): KBKDF. */
lethe_status kc_kdf_hmac_sha2(enum kc_md_id md, const uint8_t *key,
    size_t key_len, lbytes label, lbytes context, uint8_t *out, size_t out_len);

/* Internal derived-key kind for DK(key, "prf") of enctypes 17/18. */
#define KC_DK_PRF 0x00

/*
 * The derived key of kind (KC_DK_*) for usage: from key's cache, else
 * derived (and cached when a slot is free). *dk points into the cache or
 * into scratch; the caller wipes scratch after use.
 */
lethe_status kc_derived_key(kc_key *key, uint32_t usage, uint8_t kind,
    uint8_t scratch[KC_MAX_KEY_LEN], const uint8_t **dk, size_t *dk_len);

#endif
