/*
 * CMS for the registration protocol, with OpenSSL's CMS API only:
 * signer identities, SignedData signing and verification, and the
 * AuthEnvelopedData (AES-256-GCM) that seals keys to the KDC. A sealed
 * CMS is opened only when it has exactly the shape we seal
 * (reg_cms_allow.c).
 */
#include "base/file.h"
#include "base/wipe.h"
#include "registrar/registrar.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "registrar/reg_internal.h"

/* One UUID arc (ITU-T X.667) for every Lethe OID; see docs/registration.md. */
#define LETHE_ARC "2.25.277744589795350331030697172985689738597"
#define OID_PKINIT_KP_CLIENT "1.3.6.1.5.2.3.4"
#define OID_PKINIT_KP_KDC "1.3.6.1.5.2.3.5"

struct reg_identity {
	X509 *cert;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

const char *
reg_content_type_oid(enum reg_content_type ct)
{
	switch (ct) {
	case REG_CT_REQUEST:
		return LETHE_ARC ".1.1";
	case REG_CT_REPLY:
		return LETHE_ARC ".1.2";
	case REG_CT_KEY_REQUEST:
		return LETHE_ARC ".1.3";
	case REG_CT_SEALED_KEYS:
		return LETHE_ARC ".1.4";
	case REG_CT_TICKET:
		return LETHE_ARC ".1.5";
	}
	return NULL;
}

ASN1_OBJECT *
regi_content_type_obj(enum reg_content_type ct)
{
	const char *oid = reg_content_type_oid(ct);

	return oid == NULL ? NULL : OBJ_txt2obj(oid, 1);
}

/* ------------------------------------------------------------ identities */

void
reg_identity_free(reg_identity *id)
{
	if (id == NULL)
		return;
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key);
	free(id);
}

X509 *
reg_identity_cert(const reg_identity *id)
{
	return id->cert;
}

/* Refuse to prompt: an encrypted PEM key fails to load. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Take cert, chain and key into a new identity; the key must match. */
static lethe_status
identity_take(X509 **cert, STACK_OF(X509) **chain, EVP_PKEY **key, reg_identity **out)
{
	reg_identity *id;

	ENSURE(*cert != NULL && *key != NULL, LETHE_ERR_FORMAT);
	ENSURE(X509_check_private_key(*cert, *key) == 1, LETHE_ERR_FORMAT);
	id = calloc(1, sizeof(*id));
	ENSURE(id != NULL, LETHE_ERR_NOMEM);
	id->chain = *chain != NULL ? *chain : sk_X509_new_null();
	if (id->chain == NULL) {
		free(id);
		return LETHE_ERR_NOMEM;
	}
	id->cert = *cert;
	id->key = *key;
	*cert = NULL;
	*chain = NULL;
	*key = NULL;
	*out = id;
	return LETHE_OK;
}

/* Every certificate of PEM text: the first into *first, the rest into *rest. */
static lethe_status
read_cert_chain(const char *pem, size_t len, X509 **first, STACK_OF(X509) **rest)
{
	BIO *bio;
	X509 *c;
	lethe_status rc = LETHE_OK;

	ENSURE(len <= INT32_MAX, LETHE_ERR_TOO_BIG);
	bio = BIO_new_mem_buf(pem, (int)len);
	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	*first = PEM_read_bio_X509(bio, NULL, no_password, NULL);
	ENSURE_GOTO(rc, *first != NULL, LETHE_ERR_FORMAT);
	*rest = sk_X509_new_null();
	ENSURE_GOTO(rc, *rest != NULL, LETHE_ERR_NOMEM);
	while ((c = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
		if (sk_X509_push(*rest, c) <= 0) {
			X509_free(c);
			ENSURE_GOTO(rc, false, LETHE_ERR_NOMEM);
		}
	}
cleanup:
	ERR_clear_error();      /* the loop ends on a "no start line" error */
	BIO_free(bio);
	return rc;
}

lethe_status
reg_identity_from_pem(const char *cert_pem, size_t cert_len, const char *key_pem,
    size_t key_len, reg_identity **out)
{
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	lethe_status rc;

	*out = NULL;
	ENSURE(cert_pem != NULL && key_pem != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(key_len <= INT32_MAX, LETHE_ERR_TOO_BIG);
	GUARD_GOTO(rc, read_cert_chain(cert_pem, cert_len, &cert, &chain));
	bio = BIO_new_mem_buf(key_pem, (int)key_len);
	ENSURE_GOTO(rc, bio != NULL, LETHE_ERR_NOMEM);
	key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	ENSURE_GOTO(rc, key != NULL, LETHE_ERR_FORMAT);
	rc = identity_take(&cert, &chain, &key, out);
cleanup:
	ERR_clear_error();
	BIO_free(bio);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	return rc;
}

lethe_status
reg_identity_load_pem(const char *cert_path, const char *key_path, reg_identity **out)
{
	uint8_t *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	lethe_status rc;

	*out = NULL;
	GUARD_GOTO(rc, lethe_file_read(cert_path, REGI_MAX_FILE, &cert, &cert_len));
	GUARD_GOTO(rc, lethe_file_read(key_path, REGI_MAX_FILE, &key, &key_len));
	rc = reg_identity_from_pem((const char *)cert, cert_len, (const char *)key,
	    key_len, out);
cleanup:
	reg_free_secret(cert, cert_len);
	reg_free_secret(key, key_len);
	return rc;
}

lethe_status
reg_identity_load_pkcs12(const char *path, const char *password, reg_identity **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	lethe_status rc;

	*out = NULL;
	GUARD_GOTO(rc, lethe_file_read(path, REGI_MAX_FILE, &data, &len));
	ENSURE_GOTO(rc, len <= INT32_MAX, LETHE_ERR_TOO_BIG);
	p = data;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	ENSURE_GOTO(rc, p12 != NULL, LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, PKCS12_parse(p12, password != NULL ? password : "", &key, &cert,
	    &chain) == 1, LETHE_ERR_FORMAT);
	rc = identity_take(&cert, &chain, &key, out);
cleanup:
	ERR_clear_error();
	PKCS12_free(p12);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	reg_free_secret(data, len);
	return rc;
}

/* ------------------------------------------------------------ signing */

/* Wipe a SignedData's content inside cms (a signed ticket holds a session key). */
static void
wipe_signed_content(CMS_ContentInfo *cms)
{
	ASN1_OCTET_STRING **content = cms != NULL ? CMS_get0_content(cms) : NULL;

	if (content != NULL && *content != NULL && ASN1_STRING_length(*content) > 0)
		lethe_wipe((void *)(uintptr_t)ASN1_STRING_get0_data(*content),
		    (size_t)ASN1_STRING_length(*content));
}

/* i2d of a ContentInfo into a fresh malloc'd buffer. */
static lethe_status
cms_to_der(CMS_ContentInfo *cms, uint8_t **out, size_t *out_len)
{
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	uint8_t *copy;

	ENSURE(n > 0, LETHE_ERR_CRYPTO);
	copy = malloc((size_t)n);
	if (copy != NULL)
		memcpy(copy, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);   /* it may hold a secret content */
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	*out = copy;
	*out_len = (size_t)n;
	return LETHE_OK;
}

lethe_status
reg_sign(const reg_identity *id, enum reg_content_type ct, const uint8_t *content,
    size_t len, uint8_t **out, size_t *out_len)
{
	const unsigned flags = CMS_BINARY | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	ASN1_OBJECT *oid = NULL;
	BIO *bio = NULL;
	lethe_status rc = LETHE_ERR_CRYPTO;

	*out = NULL;
	*out_len = 0;
	ENSURE(id != NULL && (content != NULL || len == 0), LETHE_ERR_INVALID_ARG);
	ENSURE(len <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	oid = regi_content_type_obj(ct);
	ENSURE_GOTO(rc, oid != NULL, LETHE_ERR_INVALID_ARG);
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	ENSURE_GOTO(rc, cms != NULL, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, CMS_set1_eContentType(cms, oid) == 1, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, CMS_add1_signer(cms, id->cert, id->key, EVP_sha256(), flags) != NULL,
	    LETHE_ERR_CRYPTO);
	for (int i = 0; i < sk_X509_num(id->chain); i++)
		ENSURE_GOTO(rc, CMS_add1_cert(cms, sk_X509_value(id->chain, i)) == 1,
		    LETHE_ERR_CRYPTO);
	bio = BIO_new_mem_buf(content != NULL ? content : (const uint8_t *)"", (int)len);
	ENSURE_GOTO(rc, bio != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, CMS_final(cms, bio, NULL, flags) == 1, LETHE_ERR_CRYPTO);
	rc = cms_to_der(cms, out, out_len);
cleanup:
	ERR_clear_error();
	BIO_free(bio);
	wipe_signed_content(cms);
	CMS_ContentInfo_free(cms);
	ASN1_OBJECT_free(oid);
	return rc;
}

lethe_status
reg_identity_dup(const reg_identity *id, reg_identity **out)
{
	reg_identity *copy;

	*out = NULL;
	ENSURE(id != NULL, LETHE_ERR_INVALID_ARG);
	copy = calloc(1, sizeof(*copy));
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	copy->chain = X509_chain_up_ref(id->chain);
	if (copy->chain == NULL || X509_up_ref(id->cert) != 1) {
		sk_X509_pop_free(copy->chain, X509_free);
		free(copy);
		return LETHE_ERR_NOMEM;
	}
	copy->cert = id->cert;
	if (EVP_PKEY_up_ref(id->key) != 1) {
		copy->key = NULL;
		reg_identity_free(copy);
		return LETHE_ERR_NOMEM;
	}
	copy->key = id->key;
	*out = copy;
	return LETHE_OK;
}

/* ------------------------------------------------------------ verifying */

void
reg_verified_clear(reg_verified *v)
{
	if (v == NULL)
		return;
	free(v->content);
	X509_free(v->signer);
	memset(v, 0, sizeof(*v));
}

/*
 * Parse der[0..len) as a ContentInfo of type nid with eContentType ct,
 * and insist the input is exactly its DER re-encoding.
 */
static lethe_status
parse_cms(const uint8_t *der, size_t len, int nid, enum reg_content_type ct,
    CMS_ContentInfo **out)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms;
	unsigned char *again = NULL;
	ASN1_OBJECT *want = NULL;
	const ASN1_OBJECT *got;
	int n;
	lethe_status rc = LETHE_OK;

	ENSURE(len > 0 && len <= REG_MAX_MESSAGE, LETHE_ERR_FORMAT);
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	ENSURE(cms != NULL, LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, p == der + len, LETHE_ERR_FORMAT);
	n = i2d_CMS_ContentInfo(cms, &again);
	ENSURE_GOTO(rc, n > 0 && (size_t)n == len && memcmp(again, der, len) == 0,
	    LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, OBJ_obj2nid(CMS_get0_type(cms)) == nid, LETHE_ERR_FORMAT);
	want = regi_content_type_obj(ct);
	ENSURE_GOTO(rc, want != NULL, LETHE_ERR_INVALID_ARG);
	got = CMS_get0_eContentType(cms);
	ENSURE_GOTO(rc, got != NULL && OBJ_cmp(got, want) == 0, LETHE_ERR_FORMAT);
	*out = cms;
	cms = NULL;
cleanup:
	OPENSSL_free(again);
	ASN1_OBJECT_free(want);
	CMS_ContentInfo_free(cms);
	return rc;
}

lethe_status
reg_peek_content(const uint8_t *der, size_t len, enum reg_content_type ct, uint8_t **out,
    size_t *out_len)
{
	CMS_ContentInfo *cms = NULL;
	ASN1_OCTET_STRING **content;
	uint8_t *copy;
	int n;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	ENSURE(der != NULL, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, parse_cms(der, len, NID_pkcs7_signed, ct, &cms));
	content = CMS_get0_content(cms);
	ENSURE_GOTO(rc, content != NULL && *content != NULL, LETHE_ERR_FORMAT);
	n = ASN1_STRING_length(*content);
	ENSURE_GOTO(rc, n > 0, LETHE_ERR_FORMAT);
	copy = malloc((size_t)n);
	ENSURE_GOTO(rc, copy != NULL, LETHE_ERR_NOMEM);
	memcpy(copy, ASN1_STRING_get0_data(*content), (size_t)n);
	*out = copy;
	*out_len = (size_t)n;
cleanup:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	return rc;
}

/* The single signer's certificate (a new reference), found among the CMS certs. */
static lethe_status
signed_data_signer(CMS_ContentInfo *cms, X509 **signer)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	ASN1_OCTET_STRING **content = CMS_get0_content(cms);
	CMS_SignerInfo *si;
	X509 *cert = NULL;
	const char *why = NULL;

	ENSURE(content != NULL && *content != NULL, LETHE_ERR_FORMAT);
	ENSURE(sis != NULL && sk_CMS_SignerInfo_num(sis) == 1, LETHE_ERR_FORMAT);
	ENSURE(CMS_set1_signers_certs(cms, NULL, 0) == 1, LETHE_ERR_FORMAT);
	si = sk_CMS_SignerInfo_value(sis, 0);
	CMS_SignerInfo_get0_algs(si, NULL, &cert, NULL, NULL);
	ENSURE(cert != NULL, LETHE_ERR_FORMAT);
	if (regi_signed_allowed(si, cert, &why) != LETHE_OK) {
		log_debug("signed CMS refused before verification: %s", why);
		return LETHE_ERR_FORMAT;
	}
	ENSURE(X509_up_ref(cert) == 1, LETHE_ERR_CRYPTO);
	*signer = cert;
	return LETHE_OK;
}

/* Check the signature and content digest; copy the content out. */
static lethe_status
check_signature(CMS_ContentInfo *cms, uint8_t **content, size_t *content_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;
	lethe_status rc = LETHE_OK;

	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, CMS_verify(cms, NULL, NULL, NULL, bio,
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1, LETHE_ERR_BAD_INTEGRITY);
	n = BIO_get_mem_data(bio, &data);
	ENSURE_GOTO(rc, n >= 0 && (size_t)n <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	*content = malloc(n > 0 ? (size_t)n : 1);
	ENSURE_GOTO(rc, *content != NULL, LETHE_ERR_NOMEM);
	if (n > 0)
		memcpy(*content, data, (size_t)n);
	*content_len = (size_t)n;
cleanup:
	if (data != NULL && n > 0)
		lethe_wipe(data, (size_t)n);
	BIO_free(bio);
	return rc;
}

/* True when hex is among the pins (compared ignoring case). */
static bool
spki_pinned(const reg_trust *trust, const char *hex)
{
	for (size_t i = 0; i < trust->npins; i++) {
		if (trust->pins[i] != NULL && strlen(trust->pins[i]) == REG_SPKI_HEX_LEN &&
		    strncasecmp(trust->pins[i], hex, REG_SPKI_HEX_LEN) == 0)
			return true;
	}
	return false;
}

/* Verify signer's chain to the anchors at now, into *result. */
static lethe_status
check_chain(CMS_ContentInfo *cms, X509 *signer, X509_STORE *anchors, int64_t now,
    enum reg_result *result)
{
	STACK_OF(X509) *certs = NULL;
	X509_STORE_CTX *ctx = NULL;
	int err;
	lethe_status rc = LETHE_OK;

	*result = REG_UNTRUSTED;
	if (anchors == NULL)
		return LETHE_OK;
	certs = CMS_get1_certs(cms);
	ctx = X509_STORE_CTX_new();
	ENSURE_GOTO(rc, ctx != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, X509_STORE_CTX_init(ctx, anchors, signer, certs) == 1,
	    LETHE_ERR_CRYPTO);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
	if (X509_verify_cert(ctx) == 1) {
		*result = REG_OK;
	} else {
		err = X509_STORE_CTX_get_error(ctx);
		if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)
			*result = REG_CERT_EXPIRED;
	}
cleanup:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/* True when eku holds the dotted OID text oid. */
static bool
eku_has(EXTENDED_KEY_USAGE *eku, const char *oid)
{
	char buf[64];

	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		if (OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(eku, i), 1) > 0 &&
		    strcmp(buf, oid) == 0)
			return true;
	}
	return false;
}

/*
 * keyUsage, when present, must allow digitalSignature. extendedKeyUsage,
 * when present, must hold anyExtendedKeyUsage or, for a request, clientAuth
 * or id-pkinit-KPClientAuth; for a KDC message, serverAuth or id-pkinit-KPKdc.
 */
static bool
usage_allowed(X509 *signer, enum reg_content_type ct)
{
	uint32_t flags = X509_get_extension_flags(signer);
	EXTENDED_KEY_USAGE *eku;
	bool ok;

	if ((flags & EXFLAG_INVALID) != 0)
		return false;
	if ((flags & EXFLAG_KUSAGE) != 0 &&
	    (X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE) == 0)
		return false;
	if ((flags & EXFLAG_XKUSAGE) == 0)
		return true;
	eku = X509_get_ext_d2i(signer, NID_ext_key_usage, NULL, NULL);
	if (eku == NULL)
		return false;
	ok = eku_has(eku, "2.5.29.37.0");
	if (ct == REG_CT_REQUEST)
		ok = ok || eku_has(eku, "1.3.6.1.5.5.7.3.2") || eku_has(eku, OID_PKINIT_KP_CLIENT);
	else
		ok = ok || eku_has(eku, "1.3.6.1.5.5.7.3.1") || eku_has(eku, OID_PKINIT_KP_KDC);
	EXTENDED_KEY_USAGE_free(eku);
	return ok;
}

/* The checks after the structure: signature, trust, usage. */
static lethe_status
verify_parsed(CMS_ContentInfo *cms, enum reg_content_type ct, const reg_trust *trust,
    int64_t now, reg_verified *v, enum reg_result *result)
{
	lethe_status rc;

	rc = signed_data_signer(cms, &v->signer);
	if (rc == LETHE_ERR_FORMAT) {
		*result = REG_MALFORMED;
		return LETHE_OK;
	}
	GUARD(rc);
	rc = check_signature(cms, &v->content, &v->content_len);
	if (rc == LETHE_ERR_BAD_INTEGRITY) {
		*result = REG_BAD_SIGNATURE;
		return LETHE_OK;
	}
	GUARD(rc);
	GUARD(reg_spki_sha256_hex(v->signer, v->signer_spki));
	if (spki_pinned(trust, v->signer_spki)) {
		v->pinned = true;
		*result = REG_OK;
		return LETHE_OK;
	}
	GUARD(check_chain(cms, v->signer, trust->anchors, now, result));
	if (*result == REG_OK && !usage_allowed(v->signer, ct))
		*result = REG_UNTRUSTED;
	return LETHE_OK;
}

lethe_status
reg_verify(const uint8_t *der, size_t len, enum reg_content_type expected,
    const reg_trust *trust, int64_t now, reg_verified *v, enum reg_result *result)
{
	CMS_ContentInfo *cms = NULL;
	char spki[REG_SPKI_HEX_LEN + 1];
	lethe_status rc = LETHE_OK;

	memset(v, 0, sizeof(*v));
	*result = REG_INTERNAL;
	ENSURE(trust != NULL && (der != NULL || len == 0), LETHE_ERR_INVALID_ARG);
	ENSURE(reg_content_type_oid(expected) != NULL, LETHE_ERR_INVALID_ARG);
	if (len > REG_MAX_MESSAGE) {
		*result = REG_TOO_BIG;
		return LETHE_OK;
	}
	rc = parse_cms(der, len, NID_pkcs7_signed, expected, &cms);
	if (rc == LETHE_ERR_FORMAT) {
		*result = REG_MALFORMED;
		rc = LETHE_OK;
		goto cleanup;
	}
	GUARD_GOTO(rc, rc);
	rc = verify_parsed(cms, expected, trust, now, v, result);
cleanup:
	ERR_clear_error();
	wipe_signed_content(cms);
	CMS_ContentInfo_free(cms);
	if (rc != LETHE_OK || *result != REG_OK) {
		memcpy(spki, v->signer_spki, sizeof(spki));
		if (v->content != NULL)
			lethe_wipe(v->content, v->content_len);
		reg_verified_clear(v);
		/* Who signed, for the refusal's log, once the signature verified. */
		if (rc == LETHE_OK && (*result == REG_UNTRUSTED || *result == REG_CERT_EXPIRED))
			memcpy(v->signer_spki, spki, sizeof(spki));
	}
	return rc;
}

/* ------------------------------------------------------------ sealing */

/*
 * SHA-256 for the recipient's key management: RSA-OAEP with SHA-256
 * (ktri), or the X9.63 KDF with SHA-256 for ECDH (kari).
 */
static lethe_status
set_recipient_params(CMS_RecipientInfo *ri, bool rsa)
{
	EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);

	ENSURE(pctx != NULL, LETHE_ERR_CRYPTO);
	if (!rsa)
		return EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) > 0 ? LETHE_OK :
		    LETHE_ERR_CRYPTO;
	ENSURE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0,
	    LETHE_ERR_CRYPTO);
	ENSURE(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0, LETHE_ERR_CRYPTO);
	return LETHE_OK;
}

lethe_status
reg_seal_bytes(X509 *recipient, enum reg_content_type ct, const uint8_t *plain, size_t len,
    uint8_t **out, size_t *out_len)
{
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	ASN1_OBJECT *oid = NULL;
	EVP_PKEY *pub;
	BIO *bio = NULL;
	bool rsa;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	ENSURE(recipient != NULL && plain != NULL && len > 0, LETHE_ERR_INVALID_ARG);
	ENSURE(ct == REG_CT_SEALED_KEYS || ct == REG_CT_TICKET, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	pub = X509_get0_pubkey(recipient);
	ENSURE(pub != NULL, LETHE_ERR_INVALID_ARG);
	rsa = EVP_PKEY_is_a(pub, "RSA");
	ENSURE(rsa || EVP_PKEY_is_a(pub, "EC"), LETHE_ERR_UNSUPPORTED);
	oid = regi_content_type_obj(ct);
	ENSURE_GOTO(rc, oid != NULL, LETHE_ERR_NOMEM);
	cms = CMS_AuthEnvelopedData_create(EVP_aes_256_gcm());
	ENSURE_GOTO(rc, cms != NULL, LETHE_ERR_CRYPTO);
	/* The ciphertext travels inside (create() defaults to detached). */
	ENSURE_GOTO(rc, CMS_set_detached(cms, 0) == 1, LETHE_ERR_CRYPTO);
	ri = CMS_add1_recipient_cert(cms, recipient, CMS_KEY_PARAM);
	ENSURE_GOTO(rc, ri != NULL, LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, set_recipient_params(ri, rsa));
	ENSURE_GOTO(rc, CMS_set1_eContentType(cms, oid) == 1, LETHE_ERR_CRYPTO);
	bio = BIO_new_mem_buf(plain, (int)len);
	ENSURE_GOTO(rc, bio != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, CMS_final(cms, bio, NULL, CMS_BINARY) == 1, LETHE_ERR_CRYPTO);
	rc = cms_to_der(cms, out, out_len);
cleanup:
	ERR_clear_error();
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	ASN1_OBJECT_free(oid);
	return rc;
}

lethe_status
reg_sign_and_seal(const reg_identity *signer, X509 *recipient, enum reg_content_type ct,
    const uint8_t *plain, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *signed_der = NULL;
	size_t signed_len = 0;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	ENSURE(signer != NULL && recipient != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(reg_sign(signer, ct, plain, len, &signed_der, &signed_len));
	rc = reg_seal_bytes(recipient, ct, signed_der, signed_len, out, out_len);
	reg_free_secret(signed_der, signed_len);
	return rc;
}

lethe_status
reg_seal_keys(X509 *recipient, const reg_sealed_keys *keys, uint8_t **out,
    size_t *out_len)
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	ENSURE(recipient != NULL && keys != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(reg_sealed_keys_encode(keys, &plain, &plain_len));
	rc = reg_seal_bytes(recipient, REG_CT_SEALED_KEYS, plain, plain_len, out, out_len);
	reg_free_secret(plain, plain_len);
	return rc;
}

/* Decrypt cms with the identity into a copy *out (secret). */
static lethe_status
open_parsed(CMS_ContentInfo *cms, const reg_identity *id, uint8_t **out, size_t *out_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	uint8_t *copy;
	long n = 0;
	lethe_status rc = LETHE_OK;

	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, CMS_decrypt(cms, id->key, id->cert, NULL, bio, CMS_BINARY) == 1,
	    LETHE_ERR_BAD_INTEGRITY);
	n = BIO_get_mem_data(bio, &data);
	ENSURE_GOTO(rc, n > 0 && data != NULL, LETHE_ERR_DER_TRUNCATED);
	copy = malloc((size_t)n);
	ENSURE_GOTO(rc, copy != NULL, LETHE_ERR_NOMEM);
	memcpy(copy, data, (size_t)n);
	*out = copy;
	*out_len = (size_t)n;
cleanup:
	if (data != NULL && n > 0)
		lethe_wipe(data, (size_t)n);
	BIO_free(bio);
	return rc;
}

lethe_status
reg_open_bytes(const uint8_t *der, size_t len, enum reg_content_type ct,
    const reg_identity *id, uint8_t **out, size_t *out_len)
{
	CMS_ContentInfo *cms = NULL;
	const char *why = NULL;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	ENSURE(id != NULL && (der != NULL || len == 0), LETHE_ERR_INVALID_ARG);
	ENSURE(ct == REG_CT_SEALED_KEYS || ct == REG_CT_TICKET, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	GUARD_GOTO(rc, parse_cms(der, len, NID_id_smime_ct_authEnvelopedData, ct, &cms));
	rc = regi_sealed_allowed(der, len, id->key, &why);
	if (rc != LETHE_OK) {
		log_debug("sealed CMS refused before decryption: %s", why);
		goto cleanup;
	}
	rc = open_parsed(cms, id, out, out_len);
cleanup:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	return rc;
}

lethe_status
reg_open_keys(const uint8_t *der, size_t len, const reg_identity *id,
    reg_sealed_keys *out)
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	GUARD(reg_open_bytes(der, len, REG_CT_SEALED_KEYS, id, &plain, &plain_len));
	rc = reg_sealed_keys_decode(plain, plain_len, out);
	reg_free_secret(plain, plain_len);
	if (rc != LETHE_OK)
		reg_sealed_keys_clear(out);
	return rc;
}
