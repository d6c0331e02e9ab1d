/*
 * The allow-lists (DESIGN §7) a CMS passes before OpenSSL decrypts or
 * verifies it. Sealed: exactly the AuthEnvelopedData that reg_seal_bytes produces, checked
 * on the DER (already known to be its own exact re-encoding) with the
 * bounded DER reader. OpenSSL 3.0 has no accessor for the content
 * encryption algorithm, and its rarely used paths are where its bugs live:
 * AES key wrap with padding (id-aes*-wrap-pad) writes 8 bytes past a heap
 * buffer on its error path, so a recipient naming it must never reach
 * CMS_decrypt.
 *
 *   ContentInfo { id-smime-ct-authEnvelopedData, [0] AuthEnvelopedData {
 *     version 0, (no originatorInfo), SET SIZE(1) OF RecipientInfo,
 *     EncryptedContentInfo { contentType, aes-256-gcm { nonce(12), 16 },
 *                            [0] ciphertext },
 *     (no authAttrs), mac OCTET STRING(16), (no unauthAttrs) } }
 *
 * The RecipientInfo matches the identity's key:
 *   EC:  kari [1] { version 3, [0] { [1] originatorKey { id-ecPublicKey,
 *        BIT STRING: uncompressed point as long as the identity's } },
 *        (no ukm), dhSinglePass-stdDH-sha256kdf-scheme { id-aes256-wrap },
 *        SEQUENCE SIZE(1) OF { IssuerAndSerialNumber, OCTET STRING(40) } }
 *   RSA: ktri { version 0, IssuerAndSerialNumber,
 *        rsaesOaep { sha256, mgf1 sha256 }, OCTET STRING(modulus length) }
 */
#include "registrar/reg_internal.h"

#include <string.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "der/der.h"

#define GCM_NONCE_LEN 12u
#define GCM_TAG_LEN 16u
#define WRAPPED_CEK_LEN 40u   /* AES-256 key wrap (RFC 3394) of a 32-byte key */

/* 1.2.840.113549.1.9.16.1.23 id-ct-authEnvelopedData (RFC 5083), contents. */
static const uint8_t oid_auth_enveloped[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17
};
/* 2.16.840.1.101.3.4.1.46 aes-256-gcm (RFC 5084), contents. */
static const uint8_t oid_aes256_gcm[] = {
	0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e
};
/* AlgorithmIdentifier { dhSinglePass-stdDH-sha256kdf-scheme, { id-aes256-wrap } }. */
static const uint8_t alg_kari[] = {
	0x30, 0x15, 0x06, 0x06, 0x2b, 0x81, 0x04, 0x01, 0x0b, 0x01, 0x30, 0x0b,
	0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2d
};
/* AlgorithmIdentifier { id-ecPublicKey } (no parameters), as OpenSSL writes it. */
static const uint8_t alg_ec_originator[] = {
	0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
};
/* AlgorithmIdentifier { rsaesOaep, { [0] sha256, [1] mgf1 { sha256 } } }. */
static const uint8_t alg_ktri[] = {
	0x30, 0x38, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x07, 0x30, 0x2b, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09,
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0b, 0x06,
	0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
};

/* Refuse with why as the reason. */
#define REFUSE(w) do { *why = (w); return LETHE_ERR_FORMAT; } while (0)

/* True when v holds exactly want[0..n). */
static bool
bytes_are(lbytes v, const uint8_t *want, size_t n)
{
	return v.len == n && memcmp(v.data, want, n) == 0;
}

/* Consume one element that must be exactly want[0..n) (header included). */
static bool
read_exact(der_reader *r, const uint8_t *want, size_t n)
{
	lbytes whole;

	return der_read_any(r, NULL, NULL, &whole) == LETHE_OK && bytes_are(whole, want, n);
}

/* Consume an INTEGER that must equal v. */
static bool
read_version(der_reader *r, int64_t v)
{
	int64_t got;

	return der_read_int64(r, &got) == LETHE_OK && got == v;
}

/* Consume an OCTET STRING of exactly n bytes. */
static bool
read_octets_len(der_reader *r, size_t n)
{
	lbytes v;

	return der_read_octets(r, &v) == LETHE_OK && v.len == n;
}

/* Consume an IssuerAndSerialNumber (the issuer Name and serial are not read). */
static bool
read_issuer_serial(der_reader *r)
{
	der_reader ias, name;
	uint32_t tag;

	return der_read(r, DER_SEQUENCE, &ias) == LETHE_OK &&
	    der_read(&ias, DER_SEQUENCE, &name) == LETHE_OK &&
	    der_read_any(&ias, &tag, NULL, NULL) == LETHE_OK && tag == DER_INTEGER &&
	    der_at_end(&ias);
}

/* kari (contents of [1]) for an EC identity whose public point is point_len bytes. */
static lethe_status
check_kari(der_reader *ri, size_t point_len, const char **why)
{
	der_reader orig, okey, reks, rek;
	lbytes bits;

	if (!read_version(ri, 3))
		REFUSE("key agreement recipient is not version 3");
	if (der_read(ri, DER_CTX(0), &orig) != LETHE_OK ||
	    der_read(&orig, DER_CTX(1), &okey) != LETHE_OK || !der_at_end(&orig))
		REFUSE("key agreement originator is not an ephemeral public key");
	if (!read_exact(&okey, alg_ec_originator, sizeof(alg_ec_originator)))
		REFUSE("originator key is not id-ecPublicKey without parameters");
	/* BIT STRING: 0 unused bits, then an uncompressed point. */
	if (der_read_any(&okey, NULL, NULL, &bits) != LETHE_OK || bits.len != point_len + 3 ||
	    bits.data[0] != DER_BIT_STRING || bits.data[2] != 0 || bits.data[3] != 0x04 ||
	    !der_at_end(&okey))
		REFUSE("originator key is not an uncompressed point on the identity's curve");
	if (der_next_is(ri, DER_CTX(1)))
		REFUSE("key agreement carries user keying material");
	if (!read_exact(ri, alg_kari, sizeof(alg_kari)))
		REFUSE("key agreement is not dhSinglePass-stdDH-sha256kdf with id-aes256-wrap");
	if (der_read(ri, DER_SEQUENCE, &reks) != LETHE_OK || !der_at_end(ri))
		REFUSE("malformed key agreement recipient");
	if (der_read(&reks, DER_SEQUENCE, &rek) != LETHE_OK || !der_at_end(&reks))
		REFUSE("key agreement recipient does not hold exactly one encrypted key");
	if (!read_issuer_serial(&rek) || !read_octets_len(&rek, WRAPPED_CEK_LEN) ||
	    !der_at_end(&rek))
		REFUSE("encrypted key is not a 40-byte AES-256 key wrap by issuer and serial");
	return LETHE_OK;
}

/* ktri (contents of the SEQUENCE) for an RSA identity of modulus_len bytes. */
static lethe_status
check_ktri(der_reader *ri, size_t modulus_len, const char **why)
{
	if (!read_version(ri, 0) || !read_issuer_serial(ri))
		REFUSE("key transport recipient is not version 0 by issuer and serial");
	if (!read_exact(ri, alg_ktri, sizeof(alg_ktri)))
		REFUSE("key transport is not RSAES-OAEP with SHA-256 and MGF1-SHA-256");
	if (!read_octets_len(ri, modulus_len) || !der_at_end(ri))
		REFUSE("encrypted key is not as long as the identity's RSA modulus");
	return LETHE_OK;
}

/* The one RecipientInfo in set, of the kind key (the identity's) can open. */
static lethe_status
check_recipient(der_reader *set, EVP_PKEY *key, const char **why)
{
	der_reader ri;
	uint8_t *pub = NULL;
	size_t pub_len;
	lethe_status rc;

	if (EVP_PKEY_is_a(key, "EC")) {
		if (der_read(set, DER_CTX(1), &ri) != LETHE_OK || !der_at_end(set))
			REFUSE("not exactly one key agreement (kari) recipient");
		pub_len = EVP_PKEY_get1_encoded_public_key(key, &pub);
		OPENSSL_free(pub);
		if (pub_len == 0)
			REFUSE("the identity's EC key has no public point");
		rc = check_kari(&ri, pub_len, why);
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		if (der_read(set, DER_SEQUENCE, &ri) != LETHE_OK || !der_at_end(set))
			REFUSE("not exactly one key transport (ktri) recipient");
		if (EVP_PKEY_get_size(key) <= 0)
			REFUSE("the identity's RSA key has no size");
		rc = check_ktri(&ri, (size_t)EVP_PKEY_get_size(key), why);
	} else {
		REFUSE("the identity's key is neither EC nor RSA");
	}
	return rc;
}

/* EncryptedContentInfo: eContentType, aes-256-gcm { 12-byte nonce, 16 }, [0] ciphertext. */
static lethe_status
check_content(der_reader *eci, const char **why)
{
	der_reader alg, params, ct;
	lbytes oid;
	int64_t icv;

	if (der_read_oid(eci, &oid) != LETHE_OK)
		REFUSE("malformed encrypted content");
	if (der_read(eci, DER_SEQUENCE, &alg) != LETHE_OK ||
	    der_read_oid(&alg, &oid) != LETHE_OK ||
	    !bytes_are(oid, oid_aes256_gcm, sizeof(oid_aes256_gcm)) ||
	    der_read(&alg, DER_SEQUENCE, &params) != LETHE_OK || !der_at_end(&alg))
		REFUSE("content encryption is not AES-256-GCM");
	if (!read_octets_len(&params, GCM_NONCE_LEN) || der_read_int64(&params, &icv) != LETHE_OK ||
	    icv != GCM_TAG_LEN || !der_at_end(&params))
		REFUSE("AES-256-GCM parameters are not a 12-byte nonce and a 16-byte tag");
	/* encryptedContent [0] IMPLICIT OCTET STRING, present: the ciphertext travels inside. */
	if (der_read(eci, DER_CTX_PRIM(0), &ct) != LETHE_OK || !der_at_end(eci))
		REFUSE("the ciphertext is not inside the message");
	return LETHE_OK;
}

lethe_status
regi_sealed_allowed(const uint8_t *der, size_t len, EVP_PKEY *key, const char **why)
{
	der_reader top, ci, explicit0, aed, set, eci;
	lbytes oid;

	*why = NULL;
	der_reader_init(&top, der, len);
	if (der_read(&top, DER_SEQUENCE, &ci) != LETHE_OK || der_finish(&top) != LETHE_OK ||
	    der_read_oid(&ci, &oid) != LETHE_OK ||
	    !bytes_are(oid, oid_auth_enveloped, sizeof(oid_auth_enveloped)) ||
	    der_read(&ci, DER_CTX(0), &explicit0) != LETHE_OK || !der_at_end(&ci) ||
	    der_read(&explicit0, DER_SEQUENCE, &aed) != LETHE_OK || !der_at_end(&explicit0))
		REFUSE("not an AuthEnvelopedData");
	if (!read_version(&aed, 0))
		REFUSE("AuthEnvelopedData is not version 0");
	if (der_read(&aed, DER_SET, &set) != LETHE_OK)
		REFUSE("AuthEnvelopedData carries originator information");
	GUARD(check_recipient(&set, key, why));
	if (der_read(&aed, DER_SEQUENCE, &eci) != LETHE_OK)
		REFUSE("malformed AuthEnvelopedData");
	GUARD(check_content(&eci, why));
	if (!read_octets_len(&aed, GCM_TAG_LEN) || !der_at_end(&aed))
		REFUSE("AuthEnvelopedData carries attributes or a MAC that is not 16 bytes");
	return LETHE_OK;
}

/* ------------------------------------------------------------ signed data */

/* AlgorithmIdentifier { sha256 } (no parameters). */
static const uint8_t alg_sha256[] = {
	0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
};
/* AlgorithmIdentifier { ecdsa-with-SHA256 } (no parameters). */
static const uint8_t alg_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
};
/* AlgorithmIdentifier { rsaEncryption, NULL }: PKCS#1 v1.5, as OpenSSL's CMS writes it. */
static const uint8_t alg_rsa_pkcs1[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00
};

/* True when alg's DER is exactly want[0..n). */
static bool
alg_is(const X509_ALGOR *alg, const uint8_t *want, size_t n)
{
	unsigned char *der = NULL;
	int len = alg != NULL ? i2d_X509_ALGOR(alg, &der) : -1;
	bool same = len > 0 && (size_t)len == n && memcmp(der, want, n) == 0;

	OPENSSL_free(der);
	return same;
}

lethe_status
regi_signed_allowed(CMS_SignerInfo *si, X509 *signer, const char **why)
{
	X509_ALGOR *dig = NULL, *sig = NULL;
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(signer);

	*why = NULL;
	if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) != 1 || issuer == NULL)
		REFUSE("the signer is not named by issuer and serial");
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	if (!alg_is(dig, alg_sha256, sizeof(alg_sha256)))
		REFUSE("the signer's digest is not SHA-256");
	if (pub != NULL && EVP_PKEY_is_a(pub, "EC")) {
		if (!alg_is(sig, alg_ecdsa_sha256, sizeof(alg_ecdsa_sha256)))
			REFUSE("an EC signer's signature is not ecdsa-with-SHA256");
	} else if (pub != NULL && EVP_PKEY_is_a(pub, "RSA")) {
		if (!alg_is(sig, alg_rsa_pkcs1, sizeof(alg_rsa_pkcs1)))
			REFUSE("an RSA signer's signature is not PKCS#1 v1.5");
	} else {
		REFUSE("the signer's key is neither EC nor RSA");
	}
	/* Signed attributes (content type, digest, time) always; unsigned ones never. */
	if (CMS_signed_get_attr_count(si) <= 0 || CMS_unsigned_get_attr_count(si) > 0)
		REFUSE("the signer's attributes are not the ones Lethe signs");
	return LETHE_OK;
}
