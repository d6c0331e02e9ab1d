/*
 * lethe-admin init: the realm CA and the KDC's certificate (OpenSSL X.509).
 * Keys are EC P-256; certificates are signed with ECDSA-SHA256.
 */
#include "admin/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/file.h"
#include "base/wipe.h"
#include "der/der.h"
#include "krb5/krb5.h"

#define CA_DAYS   3650
#define KDC_DAYS  365
#define PKINIT_SAN_OID "1.3.6.1.5.2.2"     /* id-pkinit-san, RFC 4556 */
#define KRB_NT_SRV_INST_TYPE 2

void
admin_pki_clear(admin_pki *pki)
{
	if (pki->ca_key_pem != NULL)
		lethe_wipe(pki->ca_key_pem, strlen(pki->ca_key_pem));
	if (pki->kdc_key_pem != NULL)
		lethe_wipe(pki->kdc_key_pem, strlen(pki->kdc_key_pem));
	free(pki->ca_cert_pem);
	free(pki->ca_key_pem);
	free(pki->kdc_cert_pem);
	free(pki->kdc_key_pem);
	memset(pki, 0, sizeof(*pki));
}

/* The memory BIO's contents as a NUL-terminated heap string. */
static lethe_status
bio_to_string(BIO *bio, char **out)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);

	*out = NULL;
	ENSURE(len > 0 && data != NULL, LETHE_ERR_CRYPTO);
	*out = malloc((size_t)len + 1);
	ENSURE(*out != NULL, LETHE_ERR_NOMEM);
	memcpy(*out, data, (size_t)len);
	(*out)[len] = '\0';
	return LETHE_OK;
}

static lethe_status
cert_to_pem(X509 *cert, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	lethe_status rc = LETHE_ERR_CRYPTO;

	if (bio != NULL && PEM_write_bio_X509(bio, cert) == 1)
		rc = bio_to_string(bio, out);
	BIO_free(bio);
	return rc;
}

/* PKCS#8 PEM of a private key; the BIO is wiped by BIO_free (secure mem not needed). */
static lethe_status
key_to_pem(EVP_PKEY *key, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	lethe_status rc = LETHE_ERR_CRYPTO;

	if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL) == 1)
		rc = bio_to_string(bio, out);
	if (bio != NULL) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0 && data != NULL)
			lethe_wipe(data, (size_t)len);
	}
	BIO_free(bio);
	return rc;
}

static lethe_status
ec_key_generate(EVP_PKEY **out)
{
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return *out != NULL ? LETHE_OK : LETHE_ERR_CRYPTO;
}

/* Add extension nid with an OpenSSL value string, issuer and subject as given. */
static lethe_status
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	ENSURE(ext != NULL, LETHE_ERR_CRYPTO);
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? LETHE_OK : LETHE_ERR_CRYPTO;
}

/* A 128-bit random positive serial number. */
static lethe_status
set_serial(X509 *cert)
{
	BIGNUM *bn = BN_new();
	lethe_status rc = LETHE_ERR_CRYPTO;

	if (bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL)
		rc = LETHE_OK;
	BN_free(bn);
	return rc;
}

/* A certificate for key named cn, valid days from now, without extensions yet. */
static lethe_status
new_cert(EVP_PKEY *key, const char *cn, const char *org, long days, X509 **out)
{
	X509 *cert = X509_new();
	X509_NAME *name;
	lethe_status rc = LETHE_ERR_CRYPTO;

	*out = NULL;
	ENSURE(cert != NULL, LETHE_ERR_NOMEM);
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    set_serial(cert) != LETHE_OK ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL ||
	    X509_set_pubkey(cert, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)org, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		goto cleanup;
	*out = cert;
	cert = NULL;
	rc = LETHE_OK;
cleanup:
	X509_free(cert);
	return rc;
}

static lethe_status
make_ca(EVP_PKEY *ca_key, const char *realm, X509 **out)
{
	char cn[STORE_MAX_REALM_LEN + 32];
	X509 *ca = NULL;
	lethe_status rc;

	snprintf(cn, sizeof(cn), "Lethe realm CA %s", realm);
	GUARD_GOTO(rc, new_cert(ca_key, cn, realm, CA_DAYS, &ca));
	ENSURE_GOTO(rc, X509_set_issuer_name(ca, X509_get_subject_name(ca)) == 1,
	    LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:1"));
	GUARD_GOTO(rc, add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign"));
	GUARD_GOTO(rc, add_ext(ca, ca, NID_subject_key_identifier, "hash"));
	ENSURE_GOTO(rc, X509_sign(ca, ca_key, EVP_sha256()) > 0, LETHE_ERR_CRYPTO);
	*out = ca;
	ca = NULL;
cleanup:
	X509_free(ca);
	return rc;
}

/*
 * DER of KRB5PrincipalName { realm [0] Realm, principalName [1]
 * PrincipalName } (RFC 4556 §3.2.2).
 */
static lethe_status
principal_der(const char *realm, const krb_principal_name *name, uint8_t **out,
    size_t *out_len)
{
	der_writer w;
	size_t whole, field;
	lethe_status rc;

	der_writer_init(&w, 4096);
	whole = der_mark(&w);
	field = der_mark(&w);
	(void)krb_encode_principal_name(&w, name);
	(void)der_wrap(&w, field, DER_CTX(1));
	(void)der_put_ctx_gstring(&w, 0, realm, strlen(realm));
	(void)der_wrap(&w, whole, DER_SEQUENCE);
	rc = der_writer_status(&w);
	if (rc == LETHE_OK)
		rc = der_writer_take(&w, out, out_len);
	der_writer_free(&w);
	return rc;
}

/* KRB5PrincipalName DER of krbtgt/REALM@REALM. */
static lethe_status
krbtgt_principal_der(const char *realm, uint8_t **out, size_t *out_len)
{
	lbytes comps[2] = { LBYTES_LIT("krbtgt"), lbytes_make(realm, strlen(realm)) };
	krb_principal_name name = { KRB_NT_SRV_INST_TYPE, comps, 2 };

	return principal_der(realm, &name, out, out_len);
}

/* A GENERAL_NAME otherName id-pkinit-san holding der[0..der_len). */
static lethe_status
pkinit_san_from_der(const uint8_t *der, size_t der_len, GENERAL_NAME **out)
{
	const unsigned char *p = der;
	ASN1_TYPE *value = NULL;
	ASN1_OBJECT *oid = NULL;
	GENERAL_NAME *gn = NULL;
	lethe_status rc = LETHE_ERR_CRYPTO;

	*out = NULL;
	value = d2i_ASN1_TYPE(NULL, &p, (long)der_len);
	oid = OBJ_txt2obj(PKINIT_SAN_OID, 1);
	gn = GENERAL_NAME_new();
	if (value == NULL || oid == NULL || gn == NULL ||
	    GENERAL_NAME_set0_othername(gn, oid, value) != 1)
		goto cleanup;
	oid = NULL;
	value = NULL;
	*out = gn;
	gn = NULL;
	rc = LETHE_OK;
cleanup:
	GENERAL_NAME_free(gn);
	ASN1_OBJECT_free(oid);
	ASN1_TYPE_free(value);
	return rc;
}

/* A GENERAL_NAME otherName id-pkinit-san naming krbtgt/REALM@REALM. */
static lethe_status
pkinit_san(const char *realm, GENERAL_NAME **out)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	lethe_status rc;

	*out = NULL;
	GUARD(krbtgt_principal_der(realm, &der, &der_len));
	rc = pkinit_san_from_der(der, der_len, out);
	free(der);
	return rc;
}

/* A GENERAL_NAME dNSName. */
static lethe_status
dns_san(const char *host, GENERAL_NAME **out)
{
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();

	*out = NULL;
	if (ia5 == NULL || gn == NULL ||
	    ASN1_STRING_set(ia5, host, (int)strlen(host)) != 1) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(gn);
		return LETHE_ERR_CRYPTO;
	}
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	*out = gn;
	return LETHE_OK;
}

/* subjectAltName: id-pkinit-san krbtgt/REALM@REALM and dNSName host. */
static lethe_status
add_kdc_san(X509 *cert, const char *realm, const char *host)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = NULL;
	lethe_status rc = LETHE_ERR_CRYPTO;

	ENSURE(names != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, pkinit_san(realm, &gn));
	ENSURE_GOTO(rc, sk_GENERAL_NAME_push(names, gn) > 0, LETHE_ERR_NOMEM);
	gn = NULL;
	GUARD_GOTO(rc, dns_san(host, &gn));
	ENSURE_GOTO(rc, sk_GENERAL_NAME_push(names, gn) > 0, LETHE_ERR_NOMEM);
	gn = NULL;
	ENSURE_GOTO(rc, X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0,
	    X509V3_ADD_DEFAULT) == 1, LETHE_ERR_CRYPTO);
cleanup:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return rc;
}

static lethe_status
make_kdc_cert(EVP_PKEY *kdc_key, X509 *ca, EVP_PKEY *ca_key, const char *realm,
    const char *host, X509 **out)
{
	char cn[2 * STORE_MAX_REALM_LEN + 16];
	X509 *cert = NULL;
	lethe_status rc;

	snprintf(cn, sizeof(cn), "krbtgt/%s@%s", realm, realm);
	GUARD_GOTO(rc, new_cert(kdc_key, cn, realm, KDC_DAYS, &cert));
	ENSURE_GOTO(rc, X509_set_issuer_name(cert, X509_get_subject_name(ca)) == 1,
	    LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE"));
	GUARD_GOTO(rc, add_ext(cert, ca, NID_key_usage,
	    "critical,digitalSignature,keyAgreement"));
	/* id-pkinit-KPKdc (RFC 4556) and TLS server authentication. */
	GUARD_GOTO(rc, add_ext(cert, ca, NID_ext_key_usage,
	    "1.3.6.1.5.2.3.5,serverAuth"));
	GUARD_GOTO(rc, add_kdc_san(cert, realm, host));
	GUARD_GOTO(rc, add_ext(cert, ca, NID_subject_key_identifier, "hash"));
	GUARD_GOTO(rc, add_ext(cert, ca, NID_authority_key_identifier, "keyid:always"));
	ENSURE_GOTO(rc, X509_sign(cert, ca_key, EVP_sha256()) > 0, LETHE_ERR_CRYPTO);
	*out = cert;
	cert = NULL;
cleanup:
	X509_free(cert);
	return rc;
}

/* Seconds since 1970 of a certificate's notAfter. */
static lethe_status
not_after(X509 *cert, int64_t *out)
{
	struct tm tm;

	ENSURE(ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1, LETHE_ERR_CRYPTO);
	*out = (int64_t)timegm(&tm);
	return LETHE_OK;
}

/* The subject in RFC 2253 form, cut to cap. */
static lethe_status
subject_text(X509 *cert, char *buf, size_t cap)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	lethe_status rc = LETHE_ERR_CRYPTO;

	if (bio != NULL && X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (len = BIO_get_mem_data(bio, &data)) >= 0) {
		snprintf(buf, cap, "%.*s", (int)len, data != NULL ? data : "");
		rc = LETHE_OK;
	}
	BIO_free(bio);
	return rc;
}

/* The KDC chain PEM: leaf then CA. */
static lethe_status
chain_pem(const char *leaf, const char *ca, char **out)
{
	size_t a = strlen(leaf), b = strlen(ca);

	*out = malloc(a + b + 1);
	ENSURE(*out != NULL, LETHE_ERR_NOMEM);
	memcpy(*out, leaf, a);
	memcpy(*out + a, ca, b + 1);
	return LETHE_OK;
}

lethe_status
admin_pki_generate(const char *realm, const char *kdc_host, admin_pki *out)
{
	EVP_PKEY *ca_key = NULL, *kdc_key = NULL;
	X509 *ca = NULL, *kdc = NULL;
	char *kdc_leaf = NULL;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	GUARD_GOTO(rc, ec_key_generate(&ca_key));
	GUARD_GOTO(rc, ec_key_generate(&kdc_key));
	GUARD_GOTO(rc, make_ca(ca_key, realm, &ca));
	GUARD_GOTO(rc, make_kdc_cert(kdc_key, ca, ca_key, realm, kdc_host, &kdc));
	GUARD_GOTO(rc, cert_to_pem(ca, &out->ca_cert_pem));
	GUARD_GOTO(rc, key_to_pem(ca_key, &out->ca_key_pem));
	GUARD_GOTO(rc, cert_to_pem(kdc, &kdc_leaf));
	GUARD_GOTO(rc, chain_pem(kdc_leaf, out->ca_cert_pem, &out->kdc_cert_pem));
	GUARD_GOTO(rc, key_to_pem(kdc_key, &out->kdc_key_pem));
	GUARD_GOTO(rc, not_after(ca, &out->ca_not_after));
	GUARD_GOTO(rc, not_after(kdc, &out->kdc_not_after));
	GUARD_GOTO(rc, subject_text(kdc, out->kdc_subject, sizeof(out->kdc_subject)));
cleanup:
	if (rc != LETHE_OK)
		admin_pki_clear(out);
	free(kdc_leaf);
	X509_free(ca);
	X509_free(kdc);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(kdc_key);
	return rc;
}

/* Read a whole PEM file (at most STORE_MAX_PEM_LEN bytes) into a string. */
lethe_status
admin_read_pem_file(const char *path, char **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	GUARD(lethe_file_read(path, STORE_MAX_PEM_LEN, &buf, &len));
	ENSURE_GOTO(rc, len > 0, LETHE_ERR_TOO_BIG);
	ENSURE_GOTO(rc, memchr(buf, '\0', len) == NULL, LETHE_ERR_FORMAT);
	*out = (char *)buf;
	buf = NULL;
cleanup:
	if (buf != NULL) {
		lethe_wipe(buf, len);
		free(buf);
	}
	return rc;
}

lethe_status
admin_pki_import(const char *cert_file, const char *key_file, admin_pki *out)
{
	BIO *bio = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	GUARD_GOTO(rc, admin_read_pem_file(cert_file, &out->kdc_cert_pem));
	GUARD_GOTO(rc, admin_read_pem_file(key_file, &out->kdc_key_pem));
	bio = BIO_new_mem_buf(out->kdc_cert_pem, -1);
	ENSURE_GOTO(rc, bio != NULL, LETHE_ERR_NOMEM);
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ENSURE_GOTO(rc, cert != NULL, LETHE_ERR_FORMAT);
	BIO_free(bio);
	bio = BIO_new_mem_buf(out->kdc_key_pem, -1);
	ENSURE_GOTO(rc, bio != NULL, LETHE_ERR_NOMEM);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	ENSURE_GOTO(rc, key != NULL, LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, X509_check_private_key(cert, key) == 1, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, not_after(cert, &out->kdc_not_after));
	GUARD_GOTO(rc, subject_text(cert, out->kdc_subject, sizeof(out->kdc_subject)));
cleanup:
	if (rc != LETHE_OK)
		admin_pki_clear(out);
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

/* ------------------------------------------------------------ issue-cert */

/* subjectAltName: id-pkinit-san for p, and dNSName dns when not NULL. */
static lethe_status
add_server_san(X509 *cert, const kt_principal *p, const char *dns)
{
	lbytes comps[8];
	krb_principal_name name;
	char realm[STORE_MAX_REALM_LEN + 1];
	GENERAL_NAMES *names = NULL;
	GENERAL_NAME *gn = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	lethe_status rc;

	ENSURE(p->ncomponents > 0 && p->ncomponents <= 8 &&
	    p->realm.len <= STORE_MAX_REALM_LEN, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < p->ncomponents; i++)
		comps[i] = lbytes_make(p->components[i].data, p->components[i].len);
	name = (krb_principal_name){ p->name_type, comps, p->ncomponents };
	memcpy(realm, p->realm.data, p->realm.len);
	realm[p->realm.len] = '\0';
	names = sk_GENERAL_NAME_new_null();
	ENSURE(names != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, principal_der(realm, &name, &der, &der_len));
	GUARD_GOTO(rc, pkinit_san_from_der(der, der_len, &gn));
	ENSURE_GOTO(rc, sk_GENERAL_NAME_push(names, gn) > 0, LETHE_ERR_NOMEM);
	gn = NULL;
	if (dns != NULL) {
		GUARD_GOTO(rc, dns_san(dns, &gn));
		ENSURE_GOTO(rc, sk_GENERAL_NAME_push(names, gn) > 0, LETHE_ERR_NOMEM);
		gn = NULL;
	}
	ENSURE_GOTO(rc, X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0,
	    X509V3_ADD_DEFAULT) == 1, LETHE_ERR_CRYPTO);
cleanup:
	free(der);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return rc;
}

/* The CA's certificate and private key from their PEM. */
static lethe_status
load_ca(const char *cert_pem, const uint8_t *key_pem, size_t key_len,
    X509 **ca, EVP_PKEY **ca_key)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	lethe_status rc = LETHE_ERR_FORMAT;

	*ca = NULL;
	*ca_key = NULL;
	ENSURE(bio != NULL && key_len <= INT32_MAX, LETHE_ERR_NOMEM);
	*ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	bio = BIO_new_mem_buf(key_pem, (int)key_len);
	if (bio != NULL && *ca != NULL)
		*ca_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (*ca != NULL && *ca_key != NULL && X509_check_private_key(*ca, *ca_key) == 1)
		rc = LETHE_OK;
	if (rc != LETHE_OK) {
		X509_free(*ca);
		EVP_PKEY_free(*ca_key);
		*ca = NULL;
		*ca_key = NULL;
	}
	return rc;
}

static lethe_status
make_server_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key,
    const admin_issue_req *req, X509 **out)
{
	char org[STORE_MAX_REALM_LEN + 1];
	X509 *cert = NULL;
	lethe_status rc;

	snprintf(org, sizeof(org), "%.*s", (int)req->principal->realm.len,
	    (const char *)req->principal->realm.data);
	GUARD_GOTO(rc, new_cert(key, req->cn, org, req->days, &cert));
	ENSURE_GOTO(rc, X509_set_issuer_name(cert, X509_get_subject_name(ca)) == 1,
	    LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE"));
	GUARD_GOTO(rc, add_ext(cert, ca, NID_key_usage, "critical,digitalSignature"));
	/* id-pkinit-KPClientAuth (RFC 4556) and TLS client authentication. */
	GUARD_GOTO(rc, add_ext(cert, ca, NID_ext_key_usage,
	    "1.3.6.1.5.2.3.4,clientAuth"));
	GUARD_GOTO(rc, add_server_san(cert, req->principal, req->dns));
	GUARD_GOTO(rc, add_ext(cert, ca, NID_subject_key_identifier, "hash"));
	GUARD_GOTO(rc, add_ext(cert, ca, NID_authority_key_identifier, "keyid:always"));
	ENSURE_GOTO(rc, X509_sign(cert, ca_key, EVP_sha256()) > 0, LETHE_ERR_CRYPTO);
	*out = cert;
	cert = NULL;
cleanup:
	X509_free(cert);
	return rc;
}

lethe_status
admin_pki_issue(const store_credential *ca_cred, const admin_issue_req *req,
    char **cert_pem, char **key_pem, int64_t *cert_not_after)
{
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *cert = NULL;
	lethe_status rc;

	*cert_pem = NULL;
	*key_pem = NULL;
	ENSURE(req->days > 0 && req->days <= CA_DAYS, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, load_ca(ca_cred->cert_pem, ca_cred->key_pem,
	    ca_cred->key_pem_len, &ca, &ca_key));
	GUARD_GOTO(rc, ec_key_generate(&key));
	GUARD_GOTO(rc, make_server_cert(key, ca, ca_key, req, &cert));
	GUARD_GOTO(rc, cert_to_pem(cert, cert_pem));
	GUARD_GOTO(rc, key_to_pem(key, key_pem));
	GUARD_GOTO(rc, not_after(cert, cert_not_after));
cleanup:
	if (rc != LETHE_OK) {
		free(*cert_pem);
		*cert_pem = NULL;
		if (*key_pem != NULL) {
			lethe_wipe(*key_pem, strlen(*key_pem));
			free(*key_pem);
			*key_pem = NULL;
		}
	}
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return rc;
}

lethe_status
admin_pem_check_ca(const char *pem, char **normalised)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = NULL;
	lethe_status rc = LETHE_ERR_FORMAT;

	*normalised = NULL;
	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (cert == NULL)
		goto cleanup;
	rc = LETHE_ERR_INVALID_ARG;
	if (X509_check_ca(cert) < 1)
		goto cleanup;
	rc = cert_to_pem(cert, normalised);
cleanup:
	BIO_free(bio);
	X509_free(cert);
	return rc;
}

void
admin_pem_subject(const char *pem, char *buf, size_t cap)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	if (cert == NULL || subject_text(cert, buf, cap) != LETHE_OK)
		snprintf(buf, cap, "?");
	X509_free(cert);
	BIO_free(bio);
}
