/*
 * Kerberos crypto: the RFC 3961 framework for the AES enctypes
 * aes128/aes256-cts-hmac-sha1-96 (17, 18; RFC 3962) and
 * aes128-cts-hmac-sha256-128 / aes256-cts-hmac-sha384-192 (19, 20;
 * RFC 8009), on OpenSSL 3 EVP only.
 *
 * Public names start with kc_. Every fallible function returns a
 * lethe_status: LETHE_ERR_ETYPE_NOSUPP / LETHE_ERR_CKSUM_NOSUPP for an
 * unknown type, LETHE_ERR_BAD_INTEGRITY when a MAC or checksum does not
 * verify (also for a ciphertext too short to hold confounder and MAC),
 * LETHE_ERR_INVALID_ARG for a broken contract (bad key length, output
 * buffer too small), LETHE_ERR_CRYPTO when OpenSSL fails.
 *
 * Threads: OpenSSL algorithms are fetched once per process; cipher and
 * HMAC contexts are kept per thread and freed when the thread exits.
 * Heap: with a key's derived keys cached, encrypt/decrypt/checksum
 * allocate nothing themselves and the CTS cipher re-keys in place; but
 * OpenSSL 3.0 re-keying an HMAC context allocates internally (about five
 * small blocks per MAC). Deriving a key (first use of a usage) and
 * string-to-key allocate an EVP_KDF context.
 */
#ifndef LETHE_CRYPTO_CRYPTO_H
#define LETHE_CRYPTO_CRYPTO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"

/* Encryption types (IANA numbers). */
#define KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96      17
#define KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96      18
#define KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128   19
#define KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192   20

/* Checksum types (IANA numbers). */
#define KC_CKSUMTYPE_HMAC_SHA1_96_AES128        15
#define KC_CKSUMTYPE_HMAC_SHA1_96_AES256        16
#define KC_CKSUMTYPE_HMAC_SHA256_128_AES128     19
#define KC_CKSUMTYPE_HMAC_SHA384_192_AES256     20

#define KC_MAX_KEY_LEN          32      /* longest protocol key */
#define KC_MAX_MAC_LEN          24      /* longest truncated HMAC */
#define KC_MAX_CKSUM_LEN        24
#define KC_MAX_PRF_LEN          48
#define KC_BLOCK_LEN            16      /* AES block */
#define KC_CONFOUNDER_LEN       16
#define KC_MAX_ITERATIONS       0x1000000u /* PBKDF2 cap (as MIT) */
#define KC_MAX_PEPPER_LEN       1024    /* KRB-FX-CF2 pepper bound */

/* Key usage derivation constants (RFC 3961 §5.3). */
#define KC_DK_ENCRYPTION        0xAA    /* Ke */
#define KC_DK_INTEGRITY         0x55    /* Ki */
#define KC_DK_CHECKSUM          0x99    /* Kc */

/* One encryption type. Entries are static; never free them. */
typedef struct kc_enctype {
	int32_t number;                 /* IANA enctype number */
	const char *name;               /* MIT name, e.g. "aes256-cts-hmac-sha1-96" */
	size_t key_len;                 /* protocol key bytes */
	size_t random_len;              /* random-to-key input bytes */
	size_t mac_len;                 /* HMAC bytes appended to a ciphertext */
	size_t prf_len;                 /* pseudo-random output bytes */
	int32_t cksumtype;              /* mandatory checksum type */
	uint32_t default_iterations;    /* PBKDF2 count for empty s2kparams */
} kc_enctype;

/* One keyed checksum type; usable only with keys of its enctype. */
typedef struct kc_cksumtype {
	int32_t number;
	const char *name;               /* e.g. "hmac-sha1-96-aes256" */
	int32_t enctype;
	size_t len;                     /* checksum bytes */
} kc_cksumtype;

/*
 * Derived-key cache: a fixed array of slots inside the key, each filled
 * at most once and published with one atomic word (lock-free, no heap):
 * state 0 = empty, 1 = being filled, else READY|usage<<8|kind. A thread
 * claims an empty slot with compare-and-swap, writes the bytes, then
 * stores the tag with release order; readers load the tag with acquire
 * order and use the bytes only when the tag matches, so ready bytes never
 * change until kc_key_clear(). When no slot is free (or a slot is being
 * filled), the derived key is computed into a stack buffer instead:
 * slower, never wrong. Two threads missing the same usage at once may
 * cache it twice; that only wastes a slot.
 */
#define KC_KEY_CACHE_SLOTS      8

typedef struct kc_dk_slot {
	atomic_uint_least64_t state;
	uint8_t bytes[KC_MAX_KEY_LEN];
} kc_dk_slot;

/*
 * A protocol key with its derived-key cache. Fields are private.
 * kc_key_init/kc_key_copy/kc_key_clear must not run concurrently with any
 * other use of the same key; every other function may be called on one
 * key from many threads at once (the KDC's workers share keys from a
 * snapshot). Operations take a non-const kc_key because they may fill the
 * cache. Do not copy a kc_key with = or memcpy: use kc_key_copy().
 */
typedef struct kc_key {
	int32_t enctype;                /* 0 when empty */
	uint32_t len;
	uint8_t bytes[KC_MAX_KEY_LEN];
	kc_dk_slot cache[KC_KEY_CACHE_SLOTS];
} kc_key;

/* Fetch the OpenSSL algorithms now (otherwise done on first use). */
lethe_status kc_init(void);

/* Free the calling thread's EVP contexts now (else done at thread exit). */
void kc_thread_cleanup(void);

/* --- Enctype and checksum type tables --------------------------------- */

/* The enctype numbered number, or LETHE_ERR_ETYPE_NOSUPP. */
lethe_status kc_enctype_lookup(int32_t number, const kc_enctype **out);

/* The enctype named name (MIT names and aliases, case-insensitive). */
lethe_status kc_enctype_lookup_name(const char *name, const kc_enctype **out);

/* True when number is one of the enctypes above. */
bool kc_enctype_supported(int32_t number);

/* The checksum type numbered number, or LETHE_ERR_CKSUM_NOSUPP. */
lethe_status kc_cksumtype_lookup(int32_t number, const kc_cksumtype **out);

/* --- Keys --------------------------------------------------------------- */

/* Make key hold bytes as a key of enctype (bytes.len must be key_len). */
lethe_status kc_key_init(kc_key *key, int32_t enctype, lbytes bytes);

/*
 * len random bytes from RAND_priv_bytes, drawn through a per-thread pool
 * (one OpenSSL call per 512 bytes; bytes wiped from the pool as handed out).
 */
lethe_status kc_random_bytes(uint8_t *out, size_t len);

/* A fresh random key of enctype (kc_random_bytes). */
lethe_status kc_key_generate(kc_key *key, int32_t enctype);

/* RFC 3961 random-to-key (identity for AES); random.len == random_len. */
lethe_status kc_random_to_key(kc_key *key, int32_t enctype, lbytes random);

/* Copy src's enctype and bytes into dst, with an empty cache. */
void kc_key_copy(kc_key *dst, const kc_key *src);

/* Wipe the key and its cache (lethe_wipe); the key becomes empty. */
void kc_key_clear(kc_key *key);

/* Heap variants of kc_key_init / kc_key_clear. kc_key_free(NULL) is a no-op. */
lethe_status kc_key_new(int32_t enctype, lbytes bytes, kc_key **out);
void kc_key_free(kc_key *key);

/* The key's enctype number (0 when empty). */
int32_t kc_key_enctype(const kc_key *key);

/* A view of the key bytes (secret: never log it). Valid while key lives. */
lbytes kc_key_bytes(const kc_key *key);

/*
 * Derive and cache Ke, Ki and Kc for usage now, so that the first message
 * pays nothing. LETHE_ERR_TOO_BIG when the cache has no room for all
 * three (the key stays fully usable).
 */
lethe_status kc_key_prederive(kc_key *key, uint32_t usage);

/* --- String-to-key --------------------------------------------------- */

/*
 * The default salt: realm followed by every name component, no
 * separators. Writes it to out when it fits and always sets *out_len to
 * the salt length; LETHE_ERR_TOO_BIG when out_cap is too small (call with
 * out NULL, out_cap 0 to learn the length).
 */
lethe_status kc_salt_default(lbytes realm, const lbytes *components,
    size_t ncomponents, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * RFC 3962 / RFC 8009 string-to-key into key. params are the s2kparams:
 * empty for the enctype's default, else a 4-byte big-endian PBKDF2
 * iteration count (LETHE_ERR_FORMAT if malformed or zero,
 * LETHE_ERR_TOO_BIG above KC_MAX_ITERATIONS). No lower bound is applied.
 */
lethe_status kc_string_to_key(kc_key *key, int32_t enctype, lbytes password,
    lbytes salt, lbytes params);

/* --- Encryption ------------------------------------------------------- */

/* Ciphertext bytes for plain_len plaintext bytes. */
lethe_status kc_encrypt_len(int32_t enctype, size_t plain_len, size_t *cipher_len);

/* Plaintext bytes in a ciphertext of cipher_len (BAD_INTEGRITY if too short). */
lethe_status kc_plain_len(int32_t enctype, size_t cipher_len, size_t *plain_len);

/*
 * Encrypt plain for usage with a fresh random confounder: out receives
 * E(Ke, confounder|plain) followed by the truncated HMAC (RFC 3961
 * simplified profile for 17/18, RFC 8009 for 19/20); the cipher state is
 * the all-zero IV. out_cap >= kc_encrypt_len(); out must not overlap plain.
 */
lethe_status kc_encrypt(kc_key *key, uint32_t usage, lbytes plain,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* kc_encrypt with a given 16-byte confounder. For test vectors only. */
lethe_status kc_encrypt_with_confounder(kc_key *key, uint32_t usage,
    lbytes confounder, lbytes plain, uint8_t *out, size_t out_cap,
    size_t *out_len);

/*
 * Decrypt and verify cipher for usage; the plaintext is left at out[0]
 * and its length in *out_len. out must hold cipher.len - mac_len bytes
 * (the confounder is decrypted there, then dropped): cipher.len always
 * suffices. out must not overlap cipher. For 19/20 the MAC is checked
 * before anything is decrypted. On any error out holds nothing useful
 * (wiped). Wrong key, wrong usage, a flipped bit or a short ciphertext
 * all give LETHE_ERR_BAD_INTEGRITY.
 */
lethe_status kc_decrypt(kc_key *key, uint32_t usage, lbytes cipher,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* --- Checksums -------------------------------------------------------- */

/*
 * Keyed checksum of data with Kc for usage. cksumtype must belong to the
 * key's enctype (else LETHE_ERR_CKSUM_NOSUPP). out_cap >= its len.
 */
lethe_status kc_checksum_make(kc_key *key, int32_t cksumtype, uint32_t usage,
    lbytes data, uint8_t *out, size_t out_cap, size_t *out_len);

/* LETHE_OK when cksum is the checksum of data (constant-time compare). */
lethe_status kc_checksum_verify(kc_key *key, int32_t cksumtype, uint32_t usage,
    lbytes data, lbytes cksum);

/* --- Pseudo-random function and KRB-FX-CF2 ------------------------------ */

/*
 * RFC 3961 PRF of input (RFC 3962 §5.3 for 17/18, RFC 8009 §5 for 19/20);
 * writes prf_len bytes. out_cap >= prf_len.
 */
lethe_status kc_prf(kc_key *key, lbytes input, uint8_t *out, size_t out_cap,
    size_t *out_len);

/*
 * RFC 6113 PRF+: PRF(key, 1|input) | PRF(key, 2|input) | ... truncated
 * to out_len bytes (at most 255 PRF blocks). input.len <= KC_MAX_PEPPER_LEN.
 */
lethe_status kc_prf_plus(kc_key *key, lbytes input, uint8_t *out, size_t out_len);

/*
 * RFC 6113 §5.1 KRB-FX-CF2: out = random-to-key(PRF+(key1, pepper1) XOR
 * PRF+(key2, pepper2)), of key1's enctype.
 */
lethe_status kc_cf2(kc_key *key1, lbytes pepper1, kc_key *key2, lbytes pepper2,
    kc_key *out);

#endif
