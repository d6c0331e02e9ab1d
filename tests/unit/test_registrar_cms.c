/* CMS signing, verification, sealed keys and certificate identity rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pkcs12.h>

#include "reg_test_pki.h"
#include "registrar/registrar.h"

static rtp_pki *pki;

static const uint8_t content[] = "registration-content-0123456789";

/* The first occurrence of needle in hay, or NULL. */
static uint8_t *
find(uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

static int
setup(void **state)
{
	(void)state;
	pki = rtp_pki_new((int64_t)time(NULL));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rtp_pki_free(pki);
	return 0;
}

/* Sign content as c with ct. */
static uint8_t *
sign_as(const rtp_cert *c, enum reg_content_type ct, size_t *len)
{
	reg_identity *id = rtp_identity(c);
	uint8_t *der = NULL;

	assert_int_equal(reg_sign(id, ct, content, sizeof(content), &der, len), LETHE_OK);
	reg_identity_free(id);
	return der;
}

/* Verify der against the realm CA at now; return the verdict. */
static enum reg_result
verify_with(const uint8_t *der, size_t len, enum reg_content_type ct, X509_STORE *anchors,
    const char *pin, int64_t now, reg_verified *v)
{
	const char *pins[1] = { pin };
	reg_trust trust = { anchors, pin != NULL ? pins : NULL, pin != NULL ? 1 : 0 };
	enum reg_result result = REG_INTERNAL;

	assert_int_equal(reg_verify(der, len, ct, &trust, now, v, &result), LETHE_OK);
	return result;
}

static void
test_sign_verify_good(void **state)
{
	X509_STORE *anchors = rtp_store(&pki->ca);
	reg_verified v;
	char spki[REG_SPKI_HEX_LEN + 1];
	size_t len;
	uint8_t *der = sign_as(&pki->server_san, REG_CT_REQUEST, &len);

	(void)state;
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_OK);
	assert_int_equal(v.content_len, sizeof(content));
	assert_memory_equal(v.content, content, sizeof(content));
	assert_false(v.pinned);
	assert_int_equal(X509_cmp(v.signer, pki->server_san.cert), 0);
	assert_int_equal(reg_spki_sha256_hex(pki->server_san.cert, spki), LETHE_OK);
	assert_string_equal(v.signer_spki, spki);
	reg_verified_clear(&v);
	assert_null(v.content);
	free(der);

	/* RSA signer with a DNS SAN and clientAuth. */
	der = sign_as(&pki->server_dns, REG_CT_REQUEST, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_OK);
	reg_verified_clear(&v);
	free(der);

	/* The KDC signs replies and key requests. */
	der = sign_as(&pki->kdc, REG_CT_REPLY, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REPLY, anchors, NULL, pki->now, &v),
	    REG_OK);
	reg_verified_clear(&v);
	free(der);
	X509_STORE_free(anchors);
}

static void
test_verify_refusals(void **state)
{
	X509_STORE *anchors = rtp_store(&pki->ca);
	reg_verified v;
	size_t len;
	uint8_t *der = sign_as(&pki->server_san, REG_CT_REQUEST, &len);
	uint8_t *copy = malloc(len + 1);
	uint8_t *at;

	(void)state;
	assert_non_null(copy);
	/* Tampered content: same structure, one byte of the content changed. */
	memcpy(copy, der, len);
	at = find(copy, len, content, sizeof(content));
	assert_non_null(at);
	at[3] ^= 0x01;
	assert_int_equal(verify_with(copy, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_BAD_SIGNATURE);
	assert_null(v.content);
	assert_null(v.signer);
	/* Wrong content type. */
	assert_int_equal(verify_with(der, len, REG_CT_KEY_REQUEST, anchors, NULL, pki->now,
	    &v), REG_MALFORMED);
	/* Trailing byte, truncation, garbage, oversized. */
	memcpy(copy, der, len);
	copy[len] = 0;
	assert_int_equal(verify_with(copy, len + 1, REG_CT_REQUEST, anchors, NULL, pki->now,
	    &v), REG_MALFORMED);
	assert_int_equal(verify_with(der, len - 1, REG_CT_REQUEST, anchors, NULL, pki->now,
	    &v), REG_MALFORMED);
	assert_int_equal(verify_with(content, sizeof(content), REG_CT_REQUEST, anchors, NULL,
	    pki->now, &v), REG_MALFORMED);
	assert_int_equal(verify_with(der, 0, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_MALFORMED);
	assert_int_equal(verify_with(der, REG_MAX_MESSAGE + 1, REG_CT_REQUEST, anchors, NULL,
	    pki->now, &v), REG_TOO_BIG);
	/* No anchors at all. */
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, NULL, NULL, pki->now, &v),
	    REG_UNTRUSTED);
	/* Before the certificate's notBefore. */
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL,
	    pki->now - 7200, &v), REG_CERT_EXPIRED);
	/* A request-only signer may not sign a reply (EKU). */
	free(der);
	der = sign_as(&pki->server_san, REG_CT_REPLY, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REPLY, anchors, NULL, pki->now, &v),
	    REG_UNTRUSTED);
	free(der);
	/* And the KDC may not sign a request. */
	der = sign_as(&pki->kdc, REG_CT_REQUEST, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_UNTRUSTED);
	free(der);
	/* keyUsage without digitalSignature. */
	der = sign_as(&pki->no_sig_ku, REG_CT_REQUEST, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_UNTRUSTED);
	free(der);
	free(copy);
	X509_STORE_free(anchors);
}

static void
test_verify_untrusted_expired_pinned(void **state)
{
	X509_STORE *anchors = rtp_store(&pki->ca);
	reg_verified v;
	char pin[REG_SPKI_HEX_LEN + 1];
	size_t len;
	uint8_t *der = sign_as(&pki->untrusted, REG_CT_REQUEST, &len);

	(void)state;
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_UNTRUSTED);
	/* Pinned (upper-case hex accepted): no chain needed. */
	assert_int_equal(reg_spki_sha256_hex(pki->untrusted.cert, pin), LETHE_OK);
	for (char *p = pin; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, NULL, pin, pki->now, &v),
	    REG_OK);
	assert_true(v.pinned);
	assert_memory_equal(v.content, content, sizeof(content));
	reg_verified_clear(&v);
	/* Another certificate's pin does not help. */
	assert_int_equal(reg_spki_sha256_hex(pki->other.cert, pin), LETHE_OK);
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, pin, pki->now, &v),
	    REG_UNTRUSTED);
	free(der);

	der = sign_as(&pki->expired, REG_CT_REQUEST, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_CERT_EXPIRED);
	/* The verification time is the caller's: five days ago it was valid. */
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL,
	    pki->now - 5 * 86400, &v), REG_OK);
	reg_verified_clear(&v);
	free(der);
	X509_STORE_free(anchors);
}

/* DER of the key management OIDs the sealing must use. */
static const uint8_t oid_rsaes_oaep[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x01, 0x07 };
static const uint8_t oid_ecdh_sha256kdf[] = { 0x06, 0x06, 0x2b, 0x81, 0x04, 0x01,
	0x0b, 0x01 };
static const uint8_t oid_aes256_gcm[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x01, 0x2e };

static void
seal_open(const rtp_cert *recipient, const uint8_t *km_oid, size_t km_oid_len)
{
	reg_sealed_keys keys, back;
	reg_identity *id = rtp_identity(recipient);
	uint8_t *der = NULL;
	size_t len = 0;

	memset(&keys, 0, sizeof(keys));
	keys.nkeys = 2;
	keys.keys[0] = (reg_sealed_key){ 9, 18, { 0 }, 32 };
	keys.keys[1] = (reg_sealed_key){ 9, 17, { 0 }, 16 };
	for (size_t i = 0; i < 32; i++)
		keys.keys[0].key[i] = (uint8_t)(0xa0 + i);
	memset(keys.keys[1].key, 0x5a, 16);
	assert_int_equal(reg_seal_keys(recipient->cert, &keys, &der, &len), LETHE_OK);
	assert_null(find(der, len, keys.keys[0].key, 32));
	assert_non_null(find(der, len, km_oid, km_oid_len));
	assert_non_null(find(der, len, oid_aes256_gcm, sizeof(oid_aes256_gcm)));
	assert_int_equal(reg_open_keys(der, len, id, &back), LETHE_OK);
	assert_int_equal(back.nkeys, 2);
	assert_memory_equal(&back.keys[0], &keys.keys[0], sizeof(keys.keys[0]));
	assert_memory_equal(&back.keys[1], &keys.keys[1], sizeof(keys.keys[1]));
	reg_sealed_keys_clear(&back);
	/* Tampered ciphertext: the GCM tag fails. */
	der[len - 40] ^= 0x01;
	assert_int_not_equal(reg_open_keys(der, len, id, &back), LETHE_OK);
	assert_int_equal(back.nkeys, 0);
	free(der);
	reg_identity_free(id);
}

static void
test_seal_open(void **state)
{
	(void)state;
	seal_open(&pki->kdc, oid_ecdh_sha256kdf, sizeof(oid_ecdh_sha256kdf));
	seal_open(&pki->kdc_rsa, oid_rsaes_oaep, sizeof(oid_rsaes_oaep));
}

/* Bytes sealed as a ticket open as a ticket, and as nothing else. */
static void
test_seal_open_bytes(void **state)
{
	static const uint8_t ticket[] = { 0x63, 0x05, 0x30, 0x03, 0x02, 0x01, 0x07 };
	reg_identity *id = rtp_identity(&pki->server_san);
	reg_sealed_keys keys;
	uint8_t *der = NULL, *back = NULL;
	size_t len = 0, back_len = 0;

	(void)state;
	assert_int_equal(reg_seal_bytes(pki->server_san.cert, REG_CT_TICKET, ticket,
	    sizeof(ticket), &der, &len), LETHE_OK);
	assert_null(find(der, len, ticket, sizeof(ticket)));
	assert_int_equal(reg_open_bytes(der, len, REG_CT_TICKET, id, &back, &back_len),
	    LETHE_OK);
	assert_int_equal(back_len, sizeof(ticket));
	assert_memory_equal(back, ticket, sizeof(ticket));
	reg_free_secret(back, back_len);
	/* The content type is bound: a ticket is not sealed keys, nor the reverse. */
	assert_int_equal(reg_open_bytes(der, len, REG_CT_SEALED_KEYS, id, &back, &back_len),
	    LETHE_ERR_FORMAT);
	assert_null(back);
	assert_int_equal(reg_open_keys(der, len, id, &keys), LETHE_ERR_FORMAT);
	assert_int_equal(reg_open_bytes(der, len, REG_CT_REPLY, id, &back, &back_len),
	    LETHE_ERR_INVALID_ARG);
	free(der);
	assert_int_equal(reg_seal_bytes(pki->server_san.cert, REG_CT_TICKET, ticket, 0, &der,
	    &len), LETHE_ERR_INVALID_ARG);
	assert_null(der);
	reg_identity_free(id);
}

/* The content of an untrusted signer's message can be read, only by peeking. */
static void
test_peek_content(void **state)
{
	X509_STORE *anchors = rtp_store(&pki->ca);
	reg_verified v;
	uint8_t *der, *seen = NULL;
	size_t len, seen_len = 0;

	(void)state;
	der = sign_as(&pki->untrusted, REG_CT_REQUEST, &len);
	assert_int_equal(verify_with(der, len, REG_CT_REQUEST, anchors, NULL, pki->now, &v),
	    REG_UNTRUSTED);
	reg_verified_clear(&v);
	assert_int_equal(reg_peek_content(der, len, REG_CT_REQUEST, &seen, &seen_len),
	    LETHE_OK);
	assert_int_equal(seen_len, sizeof(content));
	assert_memory_equal(seen, content, sizeof(content));
	free(seen);
	/* Another content type, a truncated message, sealed keys: no content. */
	assert_int_equal(reg_peek_content(der, len, REG_CT_REPLY, &seen, &seen_len),
	    LETHE_ERR_FORMAT);
	assert_null(seen);
	assert_int_equal(reg_peek_content(der, len - 1, REG_CT_REQUEST, &seen, &seen_len),
	    LETHE_ERR_FORMAT);
	free(der);
	X509_STORE_free(anchors);
}

static void
test_open_wrong_key(void **state)
{
	reg_sealed_keys keys, back;
	reg_identity *other_ec = rtp_identity(&pki->server_san);
	reg_identity *other_rsa = rtp_identity(&pki->kdc_rsa);
	reg_identity *kdc = rtp_identity(&pki->kdc);
	uint8_t *der = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;

	(void)state;
	memset(&keys, 0, sizeof(keys));
	keys.nkeys = 1;
	keys.keys[0] = (reg_sealed_key){ 3, 17, { 1, 2, 3 }, 16 };
	assert_int_equal(reg_seal_keys(pki->kdc.cert, &keys, &der, &len), LETHE_OK);
	assert_int_equal(reg_open_keys(der, len, other_ec, &back), LETHE_ERR_BAD_INTEGRITY);
	/* An RSA key opens only key transport: a kari recipient is refused unread. */
	assert_int_equal(reg_open_keys(der, len, other_rsa, &back), LETHE_ERR_FORMAT);
	assert_int_equal(back.nkeys, 0);
	assert_int_equal(reg_open_keys(der, len - 1, kdc, &back), LETHE_ERR_FORMAT);
	/* A SignedData is not sealed keys. */
	assert_int_equal(reg_sign(kdc, REG_CT_SEALED_KEYS, content, sizeof(content), &sig,
	    &sig_len), LETHE_OK);
	assert_int_equal(reg_open_keys(sig, sig_len, kdc, &back), LETHE_ERR_FORMAT);
	/* Invalid keys are not sealed. */
	keys.keys[0].key_len = 0;
	free(der);
	der = NULL;
	assert_int_equal(reg_seal_keys(pki->kdc.cert, &keys, &der, &len),
	    LETHE_ERR_INVALID_ARG);
	assert_null(der);
	free(sig);
	reg_identity_free(other_ec);
	reg_identity_free(other_rsa);
	reg_identity_free(kdc);
}

static void
test_identity_loading(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], cert_path[600], key_path[600], p12_path[600];
	reg_identity *id = NULL;
	PKCS12 *p12;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/lethe-reg-XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(p12_path, sizeof(p12_path), "%s/id.p12", dir);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	fputs(pki->server_san.cert_pem, f);
	fclose(f);
	f = fopen(key_path, "w");
	assert_non_null(f);
	fputs(pki->server_san.key_pem, f);
	fclose(f);
	assert_int_equal(reg_identity_load_pem(cert_path, key_path, &id), LETHE_OK);
	assert_int_equal(X509_cmp(reg_identity_cert(id), pki->server_san.cert), 0);
	reg_identity_free(id);
	/* A key that does not match the certificate. */
	assert_int_equal(reg_identity_from_pem(pki->server_san.cert_pem,
	    strlen(pki->server_san.cert_pem), pki->kdc.key_pem, strlen(pki->kdc.key_pem),
	    &id), LETHE_ERR_FORMAT);
	assert_null(id);
	assert_int_equal(reg_identity_from_pem("junk", 4, pki->kdc.key_pem,
	    strlen(pki->kdc.key_pem), &id), LETHE_ERR_FORMAT);
	assert_int_equal(reg_identity_load_pem(cert_path, "/nonexistent/key.pem", &id),
	    LETHE_ERR_IO);

	p12 = PKCS12_create("s3cret", "www", pki->server_dns.key, pki->server_dns.cert,
	    NULL, 0, 0, 0, 0, 0);
	assert_non_null(p12);
	f = fopen(p12_path, "wb");
	assert_non_null(f);
	assert_int_equal(i2d_PKCS12_fp(f, p12), 1);
	fclose(f);
	PKCS12_free(p12);
	assert_int_equal(reg_identity_load_pkcs12(p12_path, "s3cret", &id), LETHE_OK);
	assert_int_equal(X509_cmp(reg_identity_cert(id), pki->server_dns.cert), 0);
	reg_identity_free(id);
	assert_int_equal(reg_identity_load_pkcs12(p12_path, "wrong", &id), LETHE_ERR_FORMAT);
	assert_null(id);
	assert_int_equal(reg_identity_load_pkcs12(cert_path, "s3cret", &id), LETHE_ERR_FORMAT);

	unlink(cert_path);
	unlink(key_path);
	unlink(p12_path);
	rmdir(dir);
}

static enum reg_name_match
names(X509 *cert, const char *principal, const char *services)
{
	enum reg_name_match m = (enum reg_name_match)99;

	assert_int_equal(reg_cert_names_principal(cert, principal, services, &m), LETHE_OK);
	return m;
}

static void
test_names_principal(void **state)
{
	enum reg_name_match m;

	(void)state;
	assert_int_equal(names(pki->server_san.cert, RTP_PRINCIPAL, "host HTTP"),
	    REG_NAME_PKINIT_SAN);
	/* The PKINIT SAN does not depend on the DNS service list. */
	assert_int_equal(names(pki->server_san.cert, RTP_PRINCIPAL, NULL),
	    REG_NAME_PKINIT_SAN);
	assert_int_equal(names(pki->server_san.cert, "HTTP/www.example.com@OTHER.COM",
	    "host HTTP"), REG_NAME_NONE);
	assert_int_equal(names(pki->server_san.cert, RTP_OTHER_PRINCIPAL, "host HTTP"),
	    REG_NAME_NONE);
	assert_int_equal(names(pki->server_san.cert, "http/www.example.com@EXAMPLE.COM",
	    "host HTTP"), REG_NAME_NONE);

	assert_int_equal(names(pki->server_dns.cert, RTP_PRINCIPAL, "host HTTP"),
	    REG_NAME_DNS_SAN);
	assert_int_equal(names(pki->server_dns.cert, "HTTP/WWW.Example.COM@EXAMPLE.COM",
	    "host HTTP"), REG_NAME_DNS_SAN);
	assert_int_equal(names(pki->server_dns.cert, "host/www.example.com@ANY.REALM",
	    "host, HTTP"), REG_NAME_DNS_SAN);
	/* Service not in the list; wrong host; not two components. */
	assert_int_equal(names(pki->server_dns.cert, RTP_PRINCIPAL, "host"), REG_NAME_NONE);
	assert_int_equal(names(pki->server_dns.cert, RTP_PRINCIPAL, ""), REG_NAME_NONE);
	assert_int_equal(names(pki->server_dns.cert, RTP_PRINCIPAL, "HTTPS"), REG_NAME_NONE);
	assert_int_equal(names(pki->server_dns.cert, RTP_OTHER_PRINCIPAL, "host HTTP"),
	    REG_NAME_NONE);
	assert_int_equal(names(pki->server_dns.cert, "HTTP/www.example.com/x@EXAMPLE.COM",
	    "host HTTP"), REG_NAME_NONE);
	assert_int_equal(names(pki->server_dns.cert, "www.example.com@EXAMPLE.COM",
	    "host HTTP www.example.com"), REG_NAME_NONE);
	/* A certificate without SANs names nobody. */
	assert_int_equal(names(pki->ca.cert, RTP_PRINCIPAL, "host HTTP"), REG_NAME_NONE);
	assert_int_equal(reg_cert_names_principal(pki->server_san.cert, "", "HTTP", &m),
	    LETHE_ERR_FORMAT);
	assert_int_equal(reg_cert_names_principal(pki->server_san.cert, "HTTP/x", "HTTP",
	    &m), LETHE_ERR_FORMAT);
}

static void
test_texts(void **state)
{
	char *subject = NULL, *pem = NULL;
	char **sans = NULL;
	size_t n = 0, pem_len = 0;
	char a[REG_SPKI_HEX_LEN + 1], b[REG_SPKI_HEX_LEN + 1];
	X509 *back = NULL;

	(void)state;
	assert_int_equal(reg_cert_subject_text(pki->server_san.cert, &subject), LETHE_OK);
	assert_string_equal(subject, "CN=www san,O=EXAMPLE.COM");
	free(subject);
	assert_int_equal(reg_cert_san_texts(pki->kdc.cert, &sans, &n), LETHE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(sans[0], "principal:krbtgt/EXAMPLE.COM@EXAMPLE.COM");
	assert_string_equal(sans[1], "DNS:kdc.example.com");
	reg_strings_free(sans, n);
	assert_int_equal(reg_cert_san_texts(pki->ca.cert, &sans, &n), LETHE_OK);
	assert_int_equal(n, 0);
	assert_null(sans);

	assert_int_equal(reg_cert_to_pem(pki->other.cert, &pem, &pem_len), LETHE_OK);
	assert_int_equal(strlen(pem), pem_len);
	assert_int_equal(reg_cert_from_pem(pem, pem_len, &back), LETHE_OK);
	assert_int_equal(X509_cmp(back, pki->other.cert), 0);
	assert_int_equal(reg_spki_sha256_hex(back, a), LETHE_OK);
	assert_int_equal(reg_spki_sha256_hex(pki->other.cert, b), LETHE_OK);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), REG_SPKI_HEX_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), REG_SPKI_HEX_LEN);
	assert_int_equal(reg_spki_sha256_hex(pki->server_san.cert, b), LETHE_OK);
	assert_string_not_equal(a, b);
	X509_free(back);
	free(pem);
	assert_int_equal(reg_cert_from_pem("nope", 4, &back), LETHE_ERR_FORMAT);
	assert_null(back);
}

static void
test_trust_store(void **state)
{
	X509_STORE *st = NULL;

	(void)state;
	assert_int_equal(reg_trust_add_pem(&st, "no pem", 6), LETHE_ERR_FORMAT);
	assert_null(st);
	assert_int_equal(reg_trust_add_pem(&st, pki->ca.cert_pem, strlen(pki->ca.cert_pem)),
	    LETHE_OK);
	assert_non_null(st);
	assert_int_equal(reg_trust_add_pem(&st, pki->other_ca.cert_pem,
	    strlen(pki->other_ca.cert_pem)), LETHE_OK);
	/* Both anchors now verify: the "untrusted" signer chains to other_ca. */
	{
		reg_verified v;
		size_t len;
		uint8_t *der = sign_as(&pki->untrusted, REG_CT_REQUEST, &len);

		assert_int_equal(verify_with(der, len, REG_CT_REQUEST, st, NULL, pki->now, &v),
		    REG_OK);
		reg_verified_clear(&v);
		free(der);
	}
	X509_STORE_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify_good),
		cmocka_unit_test(test_verify_refusals),
		cmocka_unit_test(test_verify_untrusted_expired_pinned),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_seal_open_bytes),
		cmocka_unit_test(test_peek_content),
		cmocka_unit_test(test_open_wrong_key),
		cmocka_unit_test(test_identity_loading),
		cmocka_unit_test(test_names_principal),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_trust_store),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
