/* At-rest encryption of key blobs: HKDF-SHA256 and AES-256-GCM (OpenSSL EVP). */
#include "base/wipe.h"
#include "store/store_internal.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define SEAL_VERSION   0x01
#define SEAL_NONCE_LEN 12u
#define SEAL_TAG_LEN   16u

static const char seal_info[] = "lethe store v1: key-encryption key";
static const char check_info[] = "lethe store v1: master key check value";
static const char key_aad_label[] = "lethe store v1: key";
static const char cred_aad_label[] = "lethe store v1: credential";
static const char history_aad_label[] = "lethe store v4: password history";

/* HKDF-SHA256(ikm, salt, info) into out[0..out_len). */
static lethe_status
hkdf_sha256(lbytes ikm, lbytes salt, const char *info, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5];
	lethe_status rc = LETHE_ERR_CRYPTO;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		goto cleanup;
	kctx = EVP_KDF_CTX_new(kdf);
	if (kctx == NULL)
		goto cleanup;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm.data, ikm.len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt.data, salt.len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
		goto cleanup;
	rc = LETHE_OK;
cleanup:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

lethe_status
store_derive_keys(const store_master_key *mk, lbytes kdf_salt,
    uint8_t seal_key[STORE_SEAL_KEY_LEN], uint8_t check[STORE_CHECK_LEN])
{
	lbytes ikm = lbytes_make(mk->bytes, sizeof(mk->bytes));
	lethe_status rc;

	ENSURE(kdf_salt.len == STORE_KDF_SALT_LEN, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, hkdf_sha256(ikm, kdf_salt, seal_info, seal_key,
	    STORE_SEAL_KEY_LEN));
	GUARD_GOTO(rc, hkdf_sha256(ikm, kdf_salt, check_info, check,
	    STORE_CHECK_LEN));
cleanup:
	if (rc != LETHE_OK) {
		lethe_wipe(seal_key, STORE_SEAL_KEY_LEN);
		lethe_wipe(check, STORE_CHECK_LEN);
	}
	return rc;
}

size_t
store_sealed_len(size_t n)
{
	return 1 + SEAL_NONCE_LEN + n + SEAL_TAG_LEN;
}

lethe_status
store_seal(const uint8_t key[STORE_SEAL_KEY_LEN], lbytes aad, lbytes pt,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *nonce = out + 1, *ct = out + 1 + SEAL_NONCE_LEN;
	int n = 0;
	lethe_status rc = LETHE_ERR_CRYPTO;

	*out_len = 0;
	ENSURE(pt.len <= STORE_MAX_PEM_LEN && aad.len <= INT32_MAX,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(out_cap >= store_sealed_len(pt.len), LETHE_ERR_INVALID_ARG);
	out[0] = SEAL_VERSION;
	if (RAND_bytes(nonce, SEAL_NONCE_LEN) != 1)
		goto cleanup;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad.data, (int)aad.len) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, pt.data, (int)pt.len) != 1 ||
	    (size_t)n != pt.len ||
	    EVP_EncryptFinal_ex(ctx, ct + pt.len, &n) != 1 || n != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
	    ct + pt.len) != 1)
		goto cleanup;
	*out_len = store_sealed_len(pt.len);
	rc = LETHE_OK;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != LETHE_OK)
		lethe_wipe(out, out_cap);
	return rc;
}

lethe_status
store_unseal(const uint8_t key[STORE_SEAL_KEY_LEN], lbytes aad, lbytes blob,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const uint8_t *nonce, *ct, *tag;
	size_t ct_len;
	int n = 0;
	lethe_status rc = LETHE_ERR_CRYPTO;

	*out_len = 0;
	ENSURE(blob.len >= store_sealed_len(0) && blob.data[0] == SEAL_VERSION,
	    LETHE_ERR_FORMAT);
	ct_len = blob.len - store_sealed_len(0);
	ENSURE(ct_len <= out_cap && ct_len <= STORE_MAX_PEM_LEN, LETHE_ERR_TOO_BIG);
	ENSURE(aad.len <= INT32_MAX, LETHE_ERR_INVALID_ARG);
	nonce = blob.data + 1;
	ct = nonce + SEAL_NONCE_LEN;
	tag = ct + ct_len;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad.data, (int)aad.len) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1 ||
	    (size_t)n != ct_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
	    (void *)tag) != 1)
		goto cleanup;
	if (EVP_DecryptFinal_ex(ctx, out + ct_len, &n) != 1) {
		rc = LETHE_ERR_BAD_INTEGRITY;
		goto cleanup;
	}
	*out_len = ct_len;
	rc = LETHE_OK;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != LETHE_OK)
		lethe_wipe(out, out_cap);
	return rc;
}

/* label || NUL || be32(len(name)) || name into buf; *len receives the total. */
static lethe_status
aad_named(const char *label, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	size_t label_len = strlen(label) + 1;
	size_t name_len = strnlen(name, STORE_MAX_NAME_LEN + 1);

	ENSURE(name_len <= STORE_MAX_NAME_LEN, LETHE_ERR_INVALID_ARG);
	ENSURE(cap >= label_len + 4 + name_len, LETHE_ERR_INVALID_ARG);
	memcpy(buf, label, label_len);
	lethe_store_be32(buf + label_len, (uint32_t)name_len);
	memcpy(buf + label_len + 4, name, name_len);
	*len = label_len + 4 + name_len;
	return LETHE_OK;
}

/* aad_named(label, name), then be32(kvno) || be32(enctype). */
static lethe_status
aad_named_key(const char *label, const char *name, uint32_t kvno, int32_t enctype,
    uint8_t *buf, size_t cap, size_t *len)
{
	size_t n;

	GUARD(aad_named(label, name, buf, cap, &n));
	ENSURE(cap - n >= 8, LETHE_ERR_INVALID_ARG);
	lethe_store_be32(buf + n, kvno);
	lethe_store_be32(buf + n + 4, (uint32_t)enctype);
	*len = n + 8;
	return LETHE_OK;
}

lethe_status
store_key_aad(const char *name, uint32_t kvno, int32_t enctype, uint8_t *buf,
    size_t cap, size_t *len)
{
	return aad_named_key(key_aad_label, name, kvno, enctype, buf, cap, len);
}

lethe_status
store_history_aad(const char *name, uint32_t kvno, int32_t enctype, uint8_t *buf,
    size_t cap, size_t *len)
{
	return aad_named_key(history_aad_label, name, kvno, enctype, buf, cap, len);
}

lethe_status
store_cred_aad(const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	return aad_named(cred_aad_label, name, buf, cap, len);
}
