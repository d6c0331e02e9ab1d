/* The SA and Lethe's SA test channel (see kmp_sa.h). */
#include "kmp/kmp_sa.h"
#include "base/wipe.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "kmp/kmp_kdf.h"

#define SA_MIN_SPI 256u         /* RFC 4303 §2.1: 1..255 reserved, 0 never */

static lethe_status
ipsec_algs(kmp_suite suite, kmp_sa_algs *out)
{
	switch (suite.auth) {
	case KMP_IPSEC_AUTH_HMAC_MD5_96:
		out->mac = KMP_SA_MAC_HMAC_MD5_96;
		out->auth_key_len = 16;
		break;
	case KMP_IPSEC_AUTH_HMAC_SHA1_96:
		out->mac = KMP_SA_MAC_HMAC_SHA1_96;
		out->auth_key_len = 20;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	switch (suite.enc) {
	case KMP_IPSEC_ENC_3DES:
		out->cipher = KMP_SA_CIPHER_3DES_CBC;
		out->enc_key_len = 24;
		break;
	case KMP_IPSEC_ENC_AES_CBC_128:
		out->cipher = KMP_SA_CIPHER_AES128_CBC;
		out->enc_key_len = 16;
		break;
	case KMP_IPSEC_ENC_NULL:
		out->cipher = KMP_SA_CIPHER_NULL;
		out->enc_key_len = 0;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	return LETHE_OK;
}

static lethe_status
snmp_algs(kmp_suite suite, kmp_sa_algs *out)
{
	switch (suite.auth) {
	case KMP_SNMP_AUTH_HMAC_MD5_96:
		out->mac = KMP_SA_MAC_HMAC_MD5_96;
		out->auth_key_len = 16;
		break;
	case KMP_SNMP_AUTH_HMAC_SHA1_96:
		out->mac = KMP_SA_MAC_HMAC_SHA1_96;
		out->auth_key_len = 20;
		break;
	default:
		return LETHE_ERR_UNSUPPORTED;
	}
	/* CBC-DES (0x21) would need OpenSSL's legacy provider. */
	ENSURE(suite.enc == KMP_SNMP_PRIV_NONE, LETHE_ERR_UNSUPPORTED);
	out->cipher = KMP_SA_CIPHER_NULL;
	out->enc_key_len = 0;
	return LETHE_OK;
}

lethe_status
kmp_sa_suite_algs(kmp_doi doi, kmp_suite suite, kmp_sa_algs *out)
{
	memset(out, 0, sizeof(*out));
	if (doi == KMP_DOI_IPSEC)
		return ipsec_algs(suite, out);
	if (doi == KMP_DOI_SNMPV3)
		return snmp_algs(suite, out);
	return LETHE_ERR_UNSUPPORTED;
}

bool
kmp_sa_suite_supported(kmp_doi doi, kmp_suite suite)
{
	kmp_sa_algs algs;

	return kmp_sa_suite_algs(doi, suite, &algs) == LETHE_OK;
}

static const EVP_CIPHER *
sa_cipher(enum kmp_sa_cipher c)
{
	switch (c) {
	case KMP_SA_CIPHER_AES128_CBC:
		return EVP_aes_128_cbc();
	case KMP_SA_CIPHER_3DES_CBC:
		return EVP_des_ede3_cbc();
	case KMP_SA_CIPHER_NULL:
		break;
	}
	return NULL;
}

static size_t
sa_iv_len(const kmp_sa *sa)
{
	const EVP_CIPHER *c = sa_cipher(sa->algs.cipher);

	return c == NULL ? 0 : (size_t)EVP_CIPHER_get_iv_length(c);
}

static size_t
sa_block_len(const kmp_sa *sa)
{
	const EVP_CIPHER *c = sa_cipher(sa->algs.cipher);

	return c == NULL ? 1 : (size_t)EVP_CIPHER_get_block_size(c);
}

static lethe_status
sa_dir_set(kmp_sa_dir *d, const kmp_sa_algs *algs, uint32_t spi, lbytes enc,
    lbytes auth)
{
	ENSURE(spi >= SA_MIN_SPI, LETHE_ERR_INVALID_ARG);
	ENSURE(enc.len == algs->enc_key_len, LETHE_ERR_INVALID_ARG);
	ENSURE(auth.len == algs->auth_key_len, LETHE_ERR_INVALID_ARG);
	d->spi = spi;
	if (enc.len > 0)
		memcpy(d->enc_key, enc.data, enc.len);
	memcpy(d->auth_key, auth.data, auth.len);
	return LETHE_OK;
}

lethe_status
kmp_sa_init(kmp_sa *sa, kmp_doi doi, kmp_suite suite,
    uint32_t out_spi, lbytes out_enc, lbytes out_auth,
    uint32_t in_spi, lbytes in_enc, lbytes in_auth,
    int64_t now_ms, uint32_t lifetime_s, uint32_t grace_s)
{
	lethe_status rc;

	memset(sa, 0, sizeof(*sa));
	GUARD(kmp_sa_suite_algs(doi, suite, &sa->algs));
	sa->doi = doi;
	sa->suite = suite;
	GUARD_GOTO(rc, sa_dir_set(&sa->out, &sa->algs, out_spi, out_enc, out_auth));
	GUARD_GOTO(rc, sa_dir_set(&sa->in, &sa->algs, in_spi, in_enc, in_auth));
	sa->established_ms = now_ms;
	sa->expires_ms = now_ms + (int64_t)lifetime_s * 1000;
	sa->rekey_ms = grace_s >= lifetime_s ? now_ms :
	    sa->expires_ms - (int64_t)grace_s * 1000;
	sa->live = true;
	return LETHE_OK;
cleanup:
	kmp_sa_clear(sa);
	return rc;
}

void
kmp_sa_clear(kmp_sa *sa)
{
	lethe_wipe(sa, sizeof(*sa));
	sa->live = false;
}

lethe_status
kmp_sa_protected_len(const kmp_sa *sa, size_t plain_len, size_t *out_len)
{
	size_t block = sa_block_len(sa);
	size_t body = plain_len;

	ENSURE(sa->live, LETHE_ERR_INVALID_ARG);
	ENSURE(plain_len <= KMP_SA_MAX_PAYLOAD, LETHE_ERR_TOO_BIG);
	if (block > 1)
		body = (plain_len / block + 1) * block;  /* PKCS#7 always pads */
	*out_len = KMP_SA_HEADER_LEN + sa_iv_len(sa) + body + KMP_SA_ICV_LEN;
	return LETHE_OK;
}

/* icv = first 12 bytes of HMAC(auth_key, data). */
static lethe_status
sa_icv(const kmp_sa *sa, const kmp_sa_dir *d, lbytes data,
    uint8_t icv[KMP_SA_ICV_LEN])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	const char *md = sa->algs.mac == KMP_SA_MAC_HMAC_MD5_96 ? "MD5" : "SHA1";
	lethe_status rc = LETHE_OK;

	if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, d->auth_key,
	    sa->algs.auth_key_len, data.data, data.len, mac, sizeof(mac),
	    &mac_len) == NULL || mac_len < KMP_SA_ICV_LEN)
		rc = LETHE_ERR_CRYPTO;
	else
		memcpy(icv, mac, KMP_SA_ICV_LEN);
	lethe_wipe(mac, sizeof(mac));
	return rc;
}

/* CBC with PKCS#7 padding, encrypt (enc = 1) or decrypt (enc = 0). */
static lethe_status
sa_cbc(const kmp_sa *sa, const kmp_sa_dir *d, int enc, const uint8_t *iv,
    lbytes in, uint8_t *out, size_t *out_len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	lethe_status rc = LETHE_OK;

	ENSURE(ctx != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, in.len <= KMP_SA_MAX_PAYLOAD + KMP_SA_MAX_IV,
	    LETHE_ERR_TOO_BIG);
	ENSURE_GOTO(rc, EVP_CipherInit_ex2(ctx, sa_cipher(sa->algs.cipher),
	    d->enc_key, iv, enc, NULL) == 1, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, EVP_CipherUpdate(ctx, out, &n1, in.data,
	    (int)in.len) == 1, LETHE_ERR_CRYPTO);
	/* A bad pad after a good icv: the peer holds our keys but is broken. */
	ENSURE_GOTO(rc, EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1,
	    enc ? LETHE_ERR_CRYPTO : LETHE_ERR_FORMAT);
	*out_len = (size_t)n1 + (size_t)n2;
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

lethe_status
kmp_sa_protect(kmp_sa *sa, lbytes plain, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	size_t need, iv_len = sa_iv_len(sa), body_len;
	uint8_t *iv = out + KMP_SA_HEADER_LEN;
	uint8_t *body = iv + iv_len;
	lethe_status rc;

	GUARD(kmp_sa_protected_len(sa, plain.len, &need));
	ENSURE(need <= out_cap, LETHE_ERR_TOO_BIG);
	ENSURE(sa->out_seq < UINT32_MAX, LETHE_ERR_TOO_BIG);
	lethe_store_be32(out, sa->out.spi);
	lethe_store_be32(out + 4, sa->out_seq + 1);
	if (iv_len > 0) {
		GUARD(kc_random_bytes(iv, iv_len));
		GUARD(sa_cbc(sa, &sa->out, 1, iv, plain, body, &body_len));
	} else {
		if (plain.len > 0)
			memcpy(body, plain.data, plain.len);
		body_len = plain.len;
	}
	ENSURE(KMP_SA_HEADER_LEN + iv_len + body_len + KMP_SA_ICV_LEN == need,
	    LETHE_ERR_CRYPTO);
	rc = sa_icv(sa, &sa->out, lbytes_make(out, need - KMP_SA_ICV_LEN),
	    out + need - KMP_SA_ICV_LEN);
	if (rc != LETHE_OK) {
		lethe_wipe(out, need);
		return rc;
	}
	sa->out_seq++;
	*out_len = need;
	return LETHE_OK;
}

/* LETHE_OK when seq is neither too old nor already seen. */
static lethe_status
sa_window_check(const kmp_sa *sa, uint32_t seq)
{
	uint32_t back;

	ENSURE(seq != 0, LETHE_ERR_BAD_INTEGRITY);
	if (seq > sa->in_top)
		return LETHE_OK;
	back = sa->in_top - seq;
	ENSURE(back < KMP_SA_WINDOW, LETHE_ERR_BAD_INTEGRITY);
	ENSURE((sa->in_bitmap & ((uint64_t)1 << back)) == 0,
	    LETHE_ERR_BAD_INTEGRITY);
	return LETHE_OK;
}

static void
sa_window_accept(kmp_sa *sa, uint32_t seq)
{
	uint32_t shift;

	if (seq > sa->in_top) {
		shift = seq - sa->in_top;
		sa->in_bitmap = shift >= KMP_SA_WINDOW ? 0 : sa->in_bitmap << shift;
		sa->in_bitmap |= 1;
		sa->in_top = seq;
	} else {
		sa->in_bitmap |= (uint64_t)1 << (sa->in_top - seq);
	}
}

lethe_status
kmp_sa_unprotect(kmp_sa *sa, const uint8_t *msg, size_t len, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t icv[KMP_SA_ICV_LEN];
	size_t iv_len = sa_iv_len(sa), block = sa_block_len(sa), body_len;
	uint32_t seq;
	lbytes body;

	ENSURE(sa->live, LETHE_ERR_INVALID_ARG);
	ENSURE(len >= KMP_SA_HEADER_LEN + iv_len + KMP_SA_ICV_LEN,
	    LETHE_ERR_FORMAT);
	body_len = len - KMP_SA_HEADER_LEN - iv_len - KMP_SA_ICV_LEN;
	ENSURE(body_len <= KMP_SA_MAX_PAYLOAD + KMP_SA_MAX_IV, LETHE_ERR_TOO_BIG);
	ENSURE(block == 1 || (body_len > 0 && body_len % block == 0),
	    LETHE_ERR_FORMAT);
	ENSURE(lethe_load_be32(msg) == sa->in.spi, LETHE_ERR_NOT_FOUND);
	seq = lethe_load_be32(msg + 4);
	GUARD(sa_window_check(sa, seq));
	GUARD(sa_icv(sa, &sa->in, lbytes_make(msg, len - KMP_SA_ICV_LEN), icv));
	ENSURE(CRYPTO_memcmp(icv, msg + len - KMP_SA_ICV_LEN,
	    KMP_SA_ICV_LEN) == 0, LETHE_ERR_BAD_INTEGRITY);
	body = lbytes_make(msg + KMP_SA_HEADER_LEN + iv_len, body_len);
	ENSURE(out_cap >= body_len, LETHE_ERR_TOO_BIG);
	if (iv_len > 0) {
		GUARD(sa_cbc(sa, &sa->in, 0, msg + KMP_SA_HEADER_LEN, body, out,
		    out_len));
	} else {
		if (body_len > 0)
			memcpy(out, body.data, body_len);
		*out_len = body_len;
	}
	sa_window_accept(sa, seq);
	return LETHE_OK;
}

static lethe_status
install_ipsec(kmp_sa *sa, enum kmp_side side, kmp_suite suite, kc_key *subkey,
    uint32_t client_spi, uint32_t server_spi, int64_t now_ms,
    uint32_t lifetime_s, uint32_t grace_s)
{
	kmp_ipsec_keys keys;
	const kmp_ipsec_dir_keys *to_client, *to_server;
	lethe_status rc;

	memset(&keys, 0, sizeof(keys));
	GUARD_GOTO(rc, kmp_ipsec_keys_derive(subkey, suite, &keys));
	to_client = &keys.client_inbound;
	to_server = &keys.server_inbound;
	if (side == KMP_SIDE_CLIENT)
		rc = kmp_sa_init(sa, KMP_DOI_IPSEC, suite,
		    server_spi, lbytes_make(to_server->enc, keys.enc_len),
		    lbytes_make(to_server->auth, keys.auth_len),
		    client_spi, lbytes_make(to_client->enc, keys.enc_len),
		    lbytes_make(to_client->auth, keys.auth_len),
		    now_ms, lifetime_s, grace_s);
	else
		rc = kmp_sa_init(sa, KMP_DOI_IPSEC, suite,
		    client_spi, lbytes_make(to_client->enc, keys.enc_len),
		    lbytes_make(to_client->auth, keys.auth_len),
		    server_spi, lbytes_make(to_server->enc, keys.enc_len),
		    lbytes_make(to_server->auth, keys.auth_len),
		    now_ms, lifetime_s, grace_s);
cleanup:
	kmp_ipsec_keys_clear(&keys);
	return rc;
}

static lethe_status
install_snmp(kmp_sa *sa, enum kmp_side side, kmp_suite suite, kc_key *subkey,
    int64_t now_ms, uint32_t lifetime_s, uint32_t grace_s)
{
	kmp_snmp_keys keys;
	lbytes priv, auth;
	uint32_t out_spi, in_spi;
	lethe_status rc;

	memset(&keys, 0, sizeof(keys));
	GUARD_GOTO(rc, kmp_snmp_keys_derive(subkey, suite, &keys));
	priv = lbytes_make(keys.priv_key, keys.priv_len);
	auth = lbytes_make(keys.auth_key, keys.auth_len);
	out_spi = side == KMP_SIDE_CLIENT ? KMP_SA_SNMP_TO_SERVER : KMP_SA_SNMP_TO_CLIENT;
	in_spi = side == KMP_SIDE_CLIENT ? KMP_SA_SNMP_TO_CLIENT : KMP_SA_SNMP_TO_SERVER;
	rc = kmp_sa_init(sa, KMP_DOI_SNMPV3, suite, out_spi, priv, auth,
	    in_spi, priv, auth, now_ms, lifetime_s, grace_s);
cleanup:
	kmp_snmp_keys_clear(&keys);
	return rc;
}

lethe_status
kmp_sa_install(kmp_sa *sa, enum kmp_side side, kmp_doi doi, kmp_suite suite,
    kc_key *subkey, uint32_t client_spi, uint32_t server_spi, int64_t now_ms,
    uint32_t lifetime_s, uint32_t grace_s)
{
	ENSURE(kmp_sa_suite_supported(doi, suite), LETHE_ERR_UNSUPPORTED);
	if (doi == KMP_DOI_IPSEC)
		return install_ipsec(sa, side, suite, subkey, client_spi,
		    server_spi, now_ms, lifetime_s, grace_s);
	return install_snmp(sa, side, suite, subkey, now_ms, lifetime_s,
	    grace_s);
}
