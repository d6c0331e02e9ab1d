/*
 * String-to-key: PBKDF2 then DK(tkey, "kerberos") (RFC 3962 §4), or for
 * RFC 8009 PBKDF2-HMAC-SHA2 over enctype-name|0x00|salt then
 * KDF-HMAC-SHA2(tkey, "kerberos"). Also the default salt.
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>

static const uint8_t no_bytes[1];

lethe_status
kc_salt_default(lbytes realm, const lbytes *components, size_t ncomponents,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t total = realm.len;
	size_t pos;

	ENSURE(ncomponents == 0 || components != NULL, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < ncomponents; i++) {
		ENSURE(components[i].len <= SIZE_MAX - total, LETHE_ERR_TOO_BIG);
		total += components[i].len;
	}
	*out_len = total;
	ENSURE(out_cap >= total, LETHE_ERR_TOO_BIG);
	ENSURE(total == 0 || out != NULL, LETHE_ERR_INVALID_ARG);
	if (realm.len > 0)
		memcpy(out, realm.data, realm.len);
	pos = realm.len;
	for (size_t i = 0; i < ncomponents; i++) {
		if (components[i].len > 0)
			memcpy(out + pos, components[i].data, components[i].len);
		pos += components[i].len;
	}
	return LETHE_OK;
}

lethe_status
kc_pbkdf2(enum kc_md_id md, lbytes password, lbytes salt, uint32_t iterations,
    uint8_t *out, size_t out_len)
{
	const kc_algs *a;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[6];
	uint64_t iter = iterations;
	int pkcs5 = 1;          /* no SP 800-132 lower bounds: RFC vectors use 1 */
	lethe_status rc;

	ENSURE(iterations > 0 && out_len > 0, LETHE_ERR_INVALID_ARG);
	GUARD(kc_algs_get(&a));
	kctx = EVP_KDF_CTX_new(a->pbkdf2);
	ENSURE(kctx != NULL, LETHE_ERR_NOMEM);
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(password.len > 0 ? password.data : no_bytes), password.len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(salt.len > 0 ? salt.data : no_bytes), salt.len);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iter);
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)kc_md_name(md), 0);
	params[4] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5);
	params[5] = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, out_len, params) == 1 ?
	    LETHE_OK : LETHE_ERR_CRYPTO;
	EVP_KDF_CTX_free(kctx);
	return rc;
}

/* The PBKDF2 iteration count from s2kparams (empty: the default). */
static lethe_status
s2k_iterations(const kc_etype_impl *e, lbytes params, uint32_t *out)
{
	uint32_t iter;

	if (params.len == 0) {
		*out = e->pub.default_iterations;
		return LETHE_OK;
	}
	ENSURE(params.len == 4, LETHE_ERR_FORMAT);
	iter = lethe_load_be32(params.data);
	/* RFC 3962: zero means 2^32, far beyond any sane bound. */
	ENSURE(iter != 0, LETHE_ERR_FORMAT);
	ENSURE(iter <= KC_MAX_ITERATIONS, LETHE_ERR_TOO_BIG);
	*out = iter;
	return LETHE_OK;
}

/* RFC 8009 salt: enctype-name | 0x00 | salt, on the heap (not hot path). */
static lethe_status
sha2_saltp(const kc_etype_impl *e, lbytes salt, uint8_t **out, size_t *out_len)
{
	size_t name_len = strlen(e->pub.name);
	uint8_t *buf;

	ENSURE(salt.len <= SIZE_MAX - name_len - 1, LETHE_ERR_TOO_BIG);
	buf = malloc(name_len + 1 + salt.len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	memcpy(buf, e->pub.name, name_len);
	buf[name_len] = 0x00;
	if (salt.len > 0)
		memcpy(buf + name_len + 1, salt.data, salt.len);
	*out = buf;
	*out_len = name_len + 1 + salt.len;
	return LETHE_OK;
}

lethe_status
kc_string_to_key(kc_key *key, int32_t enctype, lbytes password, lbytes salt,
    lbytes params)
{
	const kc_etype_impl *e = kc_impl(enctype);
	uint8_t tkey[KC_MAX_KEY_LEN];
	uint8_t final[KC_MAX_KEY_LEN];
	uint8_t *saltp = NULL;
	size_t saltp_len = 0;
	uint32_t iter;
	size_t len;
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	GUARD(s2k_iterations(e, params, &iter));
	len = e->pub.key_len;
	if (!e->sha2) {
		GUARD_GOTO(rc, kc_pbkdf2(e->md, password, salt, iter, tkey, len));
		GUARD_GOTO(rc, kc_dk_krb5kdf(e->cipher, tkey,
		    LBYTES_LIT("kerberos"), final, len));
	} else {
		GUARD_GOTO(rc, sha2_saltp(e, salt, &saltp, &saltp_len));
		GUARD_GOTO(rc, kc_pbkdf2(e->md, password,
		    lbytes_make(saltp, saltp_len), iter, tkey, len));
		GUARD_GOTO(rc, kc_kdf_hmac_sha2(e->md, tkey, len,
		    LBYTES_LIT("kerberos"), lbytes_make(NULL, 0), final, len));
	}
	rc = kc_random_to_key(key, enctype, lbytes_make(final, len));
cleanup:
	free(saltp);
	lethe_wipe(tkey, sizeof(tkey));
	lethe_wipe(final, sizeof(final));
	return rc;
}
