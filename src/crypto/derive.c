/*
 * Key derivation: RFC 3961 DK through EVP_KDF "KRB5KDF" (enctypes 17/18),
 * RFC 8009 KDF-HMAC-SHA2 through EVP_KDF "KBKDF" in counter mode (19/20),
 * and the per-key derived-key cache described in crypto.h.
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#define SLOT_EMPTY      UINT64_C(0)
#define SLOT_FILLING    UINT64_C(1)
#define SLOT_READY      (UINT64_C(1) << 63)

static const uint8_t no_bytes[1];

lethe_status
kc_dk_krb5kdf(enum kc_cipher_id cipher, const uint8_t *key, lbytes constant,
    uint8_t *out, size_t out_len)
{
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[3];
	size_t key_len = cipher == KC_CIPHER_AES128 ? 16 : 32;

	ENSURE(out_len == key_len && constant.len > 0, LETHE_ERR_INVALID_ARG);
	GUARD(kc_thread_krb5kdf(cipher, &kctx));
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, key_len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_CONSTANT,
	    (void *)constant.data, constant.len);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_KDF_derive(kctx, out, out_len, params) == 1 ? LETHE_OK : LETHE_ERR_CRYPTO;
}

lethe_status
kc_kdf_hmac_sha2(enum kc_md_id md, const uint8_t *key, size_t key_len,
    lbytes label, lbytes context, uint8_t *out, size_t out_len)
{
	const kc_algs *a;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[7];
	size_t n = 0;
	lethe_status rc;

	/* One HMAC block: RFC 8009 never asks for more than the digest. */
	ENSURE(out_len > 0 && out_len <= kc_md_len(md), LETHE_ERR_INVALID_ARG);
	GUARD(kc_algs_get(&a));
	kctx = EVP_KDF_CTX_new(a->kbkdf);
	ENSURE(kctx != NULL, LETHE_ERR_NOMEM);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
	    (char *)"COUNTER", 0);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
	    (char *)OSSL_MAC_NAME_HMAC, 0);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)kc_md_name(md), 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, key_len);
	/* KBKDF: salt is the label, info the context; L and 0x00 separator on. */
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(label.len > 0 ? label.data : no_bytes), label.len);
	if (context.len > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(
		    OSSL_KDF_PARAM_INFO, (void *)context.data, context.len);
	params[n] = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, out_len, params) == 1 ?
	    LETHE_OK : LETHE_ERR_CRYPTO;
	EVP_KDF_CTX_free(kctx);
	return rc;
}

static size_t
dk_len_of(const kc_etype_impl *e, uint8_t kind)
{
	if (kind == KC_DK_ENCRYPTION || kind == KC_DK_PRF)
		return e->pub.key_len;
	return e->ki_len;
}

/* Compute the derived key of kind for usage into out (dk_len_of bytes). */
static lethe_status
derive_raw(const kc_etype_impl *e, const kc_key *key, uint32_t usage,
    uint8_t kind, uint8_t *out)
{
	uint8_t constant[5];
	size_t len = dk_len_of(e, kind);

	if (kind == KC_DK_PRF) {
		/* DK(key, "prf"), RFC 3962 §5.3; RFC 8009 has no PRF key. */
		ENSURE(!e->sha2, LETHE_ERR_INVALID_ARG);
		return kc_dk_krb5kdf(e->cipher, key->bytes, LBYTES_LIT("prf"),
		    out, len);
	}
	lethe_store_be32(constant, usage);
	constant[4] = kind;
	if (e->sha2)
		return kc_kdf_hmac_sha2(e->md, key->bytes, key->len,
		    lbytes_make(constant, sizeof(constant)), lbytes_make(NULL, 0),
		    out, len);
	return kc_dk_krb5kdf(e->cipher, key->bytes,
	    lbytes_make(constant, sizeof(constant)), out, len);
}

static uint64_t
slot_tag(uint32_t usage, uint8_t kind)
{
	return SLOT_READY | (uint64_t)usage << 8 | kind;
}

static const uint8_t *
cache_find(kc_key *key, uint64_t tag)
{
	for (size_t i = 0; i < KC_KEY_CACHE_SLOTS; i++) {
		uint64_t st = atomic_load_explicit(&key->cache[i].state,
		    memory_order_acquire);
		if (st == tag)
			return key->cache[i].bytes;
	}
	return NULL;
}

static kc_dk_slot *
cache_claim(kc_key *key)
{
	for (size_t i = 0; i < KC_KEY_CACHE_SLOTS; i++) {
		uint64_t expected = SLOT_EMPTY;
		if (atomic_compare_exchange_strong_explicit(&key->cache[i].state,
		    &expected, SLOT_FILLING, memory_order_acq_rel,
		    memory_order_relaxed))
			return &key->cache[i];
	}
	return NULL;
}

lethe_status
kc_derived_key(kc_key *key, uint32_t usage, uint8_t kind,
    uint8_t scratch[KC_MAX_KEY_LEN], const uint8_t **dk, size_t *dk_len)
{
	const kc_etype_impl *e = kc_impl(key->enctype);
	uint64_t tag = slot_tag(usage, kind);
	const uint8_t *hit;
	kc_dk_slot *slot;
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_INVALID_ARG);       /* empty key */
	*dk_len = dk_len_of(e, kind);
	hit = cache_find(key, tag);
	if (hit != NULL) {
		*dk = hit;
		return LETHE_OK;
	}
	slot = cache_claim(key);
	if (slot == NULL) {
		/* Cache full or busy: derive for this call only. */
		GUARD(derive_raw(e, key, usage, kind, scratch));
		*dk = scratch;
		return LETHE_OK;
	}
	rc = derive_raw(e, key, usage, kind, slot->bytes);
	if (rc != LETHE_OK) {
		lethe_wipe(slot->bytes, sizeof(slot->bytes));
		atomic_store_explicit(&slot->state, SLOT_EMPTY,
		    memory_order_release);
		return rc;
	}
	atomic_store_explicit(&slot->state, tag, memory_order_release);
	*dk = slot->bytes;
	return LETHE_OK;
}
