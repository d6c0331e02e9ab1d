/*
 * PacketCable KMP key derivation (Lethe's RFC 6113 PRF+ profile, see
 * kmp_kdf.h and docs/kmp.md) and HMAC-SHA-1 message authentication.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "kmp/kmp_kdf.h"
#include "base/wipe.h"

#define KMP_LABEL_MAX 64        /* longest label + NUL separator + context */

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
}

/* key_len bytes of PRF+(base, label || 0x00 || context) into out. */
static lethe_status
kdf(kc_key *base, const char *label, const uint8_t *context,
    size_t context_len, uint8_t *out, size_t key_len)
{
	uint8_t input[KMP_LABEL_MAX];
	size_t label_len = strlen(label);

	ENSURE(base != NULL && kc_key_enctype(base) != 0, LETHE_ERR_INVALID_ARG);
	ENSURE(label_len < sizeof(input) &&
	    context_len <= sizeof(input) - label_len - 1, LETHE_ERR_INVALID_ARG);
	if (key_len == 0)
		return LETHE_OK;
	memcpy(input, label, label_len);
	input[label_len] = 0x00;
	if (context_len > 0)
		memcpy(input + label_len + 1, context, context_len);
	return kc_prf_plus(base, lbytes_make(input, label_len + 1 + context_len),
	    out, key_len);
}

lethe_status
kmp_hmac_usage_for(kmp_kmmid kmmid, kmp_hmac_usage *out)
{
	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	switch (kmmid) {
	case KMP_AP_REQUEST:
		*out = KMP_HMAC_AP_REQUEST;
		return LETHE_OK;
	case KMP_AP_REPLY:
		*out = KMP_HMAC_AP_REPLY;
		return LETHE_OK;
	case KMP_SA_RECOVERED:
		*out = KMP_HMAC_SA_RECOVERED;
		return LETHE_OK;
	case KMP_REKEY:
		*out = KMP_HMAC_REKEY;
		return LETHE_OK;
	case KMP_WAKE_UP:
	case KMP_ERROR_REPLY:
		break;
	}
	return LETHE_ERR_UNSUPPORTED;
}

static const char *
hmac_label(kmp_hmac_usage usage)
{
	switch (usage) {
	case KMP_HMAC_AP_REQUEST:
		return KMP_LABEL_AP_REQUEST_HMAC;
	case KMP_HMAC_AP_REPLY:
		return KMP_LABEL_AP_REPLY_HMAC;
	case KMP_HMAC_SA_RECOVERED:
		return KMP_LABEL_SA_RECOVERED_HMAC;
	case KMP_HMAC_REKEY:
		return KMP_LABEL_REKEY_HMAC;
	}
	return NULL;
}

lethe_status
kmp_hmac_key_derive(kc_key *base, kmp_hmac_usage usage, kmp_hmac_key *out)
{
	const char *label = hmac_label(usage);
	lethe_status rc;

	ENSURE(label != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	rc = kdf(base, label, NULL, 0, out->bytes, sizeof(out->bytes));
	if (rc != LETHE_OK) {
		kmp_hmac_key_clear(out);
		return rc;
	}
	out->usage = usage;
	return LETHE_OK;
}

void
kmp_hmac_key_clear(kmp_hmac_key *key)
{
	if (key != NULL)
		lethe_wipe(key, sizeof(*key));
}

lethe_status
kmp_hmac_compute(const kmp_hmac_key *key, lbytes data,
    uint8_t out[KMP_HMAC_LEN])
{
	static const uint8_t empty[1];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	lethe_status rc = LETHE_ERR_CRYPTO;

	ENSURE(key != NULL && out != NULL && (data.data != NULL ||
	    data.len == 0), LETHE_ERR_INVALID_ARG);
	ENSURE(pthread_once(&hmac_once, hmac_fetch) == 0 && hmac_alg != NULL,
	    LETHE_ERR_CRYPTO);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_MAC_CTX_new(hmac_alg);
	ENSURE_GOTO(rc, ctx != NULL, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, EVP_MAC_init(ctx, key->bytes, sizeof(key->bytes),
	    params) == 1, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, EVP_MAC_update(ctx, data.len > 0 ? data.data : empty,
	    data.len) == 1, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, EVP_MAC_final(ctx, out, &out_len, KMP_HMAC_LEN) == 1 &&
	    out_len == KMP_HMAC_LEN, LETHE_ERR_CRYPTO);
	rc = LETHE_OK;
cleanup:
	EVP_MAC_CTX_free(ctx);
	if (rc != LETHE_OK)
		lethe_wipe(out, KMP_HMAC_LEN);
	return rc;
}

/* The covered range of msg, after checking key belongs to its KMMID. */
static lethe_status
hmac_range_for_key(const kmp_hmac_key *key, const uint8_t *msg, size_t len,
    lbytes *covered, lbytes *mac)
{
	kmp_hmac_usage usage;

	ENSURE(key != NULL && msg != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(kmp_hmac_range(msg, len, covered, mac));
	GUARD(kmp_hmac_usage_for((kmp_kmmid)msg[0], &usage));
	ENSURE(usage == key->usage, LETHE_ERR_INVALID_ARG);
	return LETHE_OK;
}

lethe_status
kmp_hmac_seal(const kmp_hmac_key *key, uint8_t *msg, size_t len)
{
	uint8_t mac[KMP_HMAC_LEN];
	lbytes covered, field;

	GUARD(hmac_range_for_key(key, msg, len, &covered, &field));
	GUARD(kmp_hmac_compute(key, covered, mac));
	memcpy(msg + len - KMP_HMAC_LEN, mac, KMP_HMAC_LEN);
	lethe_wipe(mac, sizeof(mac));
	return LETHE_OK;
}

lethe_status
kmp_hmac_verify(const kmp_hmac_key *key, const uint8_t *msg, size_t len)
{
	uint8_t mac[KMP_HMAC_LEN];
	lbytes covered, field;
	lethe_status rc;

	GUARD(hmac_range_for_key(key, msg, len, &covered, &field));
	GUARD_GOTO(rc, kmp_hmac_compute(key, covered, mac));
	rc = CRYPTO_memcmp(mac, field.data, KMP_HMAC_LEN) == 0 ? LETHE_OK :
	    LETHE_ERR_BAD_INTEGRITY;
cleanup:
	lethe_wipe(mac, sizeof(mac));
	return rc;
}

lethe_status
kmp_ipsec_suite_key_lens(kmp_suite suite, size_t *enc_len, size_t *auth_len)
{
	size_t enc, auth;

	ENSURE(enc_len != NULL && auth_len != NULL, LETHE_ERR_INVALID_ARG);
	switch (suite.enc) {
	case KMP_IPSEC_ENC_3DES:
		enc = 24;
		break;
	case KMP_IPSEC_ENC_AES_CBC_128:
		enc = 16;
		break;
	case KMP_IPSEC_ENC_NULL:
		enc = 0;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	switch (suite.auth) {
	case KMP_IPSEC_AUTH_HMAC_MD5_96:
		auth = 16;
		break;
	case KMP_IPSEC_AUTH_HMAC_SHA1_96:
		auth = 20;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	*enc_len = enc;
	*auth_len = auth;
	return LETHE_OK;
}

lethe_status
kmp_snmp_suite_key_lens(kmp_suite suite, size_t *auth_len, size_t *priv_len)
{
	size_t auth, priv;

	ENSURE(auth_len != NULL && priv_len != NULL, LETHE_ERR_INVALID_ARG);
	switch (suite.enc) {
	case KMP_SNMP_PRIV_NONE:
		priv = 0;
		break;
	case KMP_SNMP_PRIV_DES_CBC:
		priv = 16;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	switch (suite.auth) {
	case KMP_SNMP_AUTH_HMAC_MD5_96:
		auth = 16;
		break;
	case KMP_SNMP_AUTH_HMAC_SHA1_96:
		auth = 20;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	*auth_len = auth;
	*priv_len = priv;
	return LETHE_OK;
}

static lethe_status
ipsec_dir_derive(kc_key *subkey, const uint8_t ctx[2], const char *enc_label,
    const char *auth_label, const kmp_ipsec_keys *lens, kmp_ipsec_dir_keys *out)
{
	GUARD(kdf(subkey, enc_label, ctx, 2, out->enc, lens->enc_len));
	return kdf(subkey, auth_label, ctx, 2, out->auth, lens->auth_len);
}

lethe_status
kmp_ipsec_keys_derive(kc_key *subkey, kmp_suite suite, kmp_ipsec_keys *out)
{
	const uint8_t ctx[2] = { suite.auth, suite.enc };
	lethe_status rc;

	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	GUARD(kmp_ipsec_suite_key_lens(suite, &out->enc_len, &out->auth_len));
	out->suite = suite;
	GUARD_GOTO(rc, ipsec_dir_derive(subkey, ctx,
	    KMP_LABEL_IPSEC_CLIENT_IN_ENC, KMP_LABEL_IPSEC_CLIENT_IN_AUTH, out,
	    &out->client_inbound));
	GUARD_GOTO(rc, ipsec_dir_derive(subkey, ctx,
	    KMP_LABEL_IPSEC_SERVER_IN_ENC, KMP_LABEL_IPSEC_SERVER_IN_AUTH, out,
	    &out->server_inbound));
cleanup:
	if (rc != LETHE_OK)
		kmp_ipsec_keys_clear(out);
	return rc;
}

void
kmp_ipsec_keys_clear(kmp_ipsec_keys *keys)
{
	if (keys != NULL)
		lethe_wipe(keys, sizeof(*keys));
}

lethe_status
kmp_snmp_keys_derive(kc_key *subkey, kmp_suite suite, kmp_snmp_keys *out)
{
	const uint8_t ctx[2] = { suite.auth, suite.enc };
	lethe_status rc;

	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	GUARD(kmp_snmp_suite_key_lens(suite, &out->auth_len, &out->priv_len));
	out->suite = suite;
	GUARD_GOTO(rc, kdf(subkey, KMP_LABEL_SNMP_AUTH, ctx, 2, out->auth_key,
	    out->auth_len));
	GUARD_GOTO(rc, kdf(subkey, KMP_LABEL_SNMP_PRIV, ctx, 2, out->priv_key,
	    out->priv_len));
cleanup:
	if (rc != LETHE_OK)
		kmp_snmp_keys_clear(out);
	return rc;
}

void
kmp_snmp_keys_clear(kmp_snmp_keys *keys)
{
	if (keys != NULL)
		lethe_wipe(keys, sizeof(*keys));
}
