/* Test certificates for the lethe-agent tests. */
#include "test_agent_pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* A credential named cn issued by issuer (NULL: self-signed CA). */
static int
make_cred(test_cred *c, const char *cn, const test_cred *issuer, const char *san)
{
	X509_NAME *name;
	static long serial = 1;

	c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	c->cert = X509_new();
	if (c->key == NULL || c->cert == NULL)
		return -1;
	name = X509_get_subject_name(c->cert);
	if (X509_set_version(c->cert, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(c->cert), serial++) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(c->cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(c->cert), 86400L * 30) == NULL ||
	    X509_set_pubkey(c->cert, c->key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		return -1;
	if (issuer == NULL) {
		if (X509_set_issuer_name(c->cert, name) != 1 ||
		    add_ext(c->cert, c->cert, NID_basic_constraints,
		    "critical,CA:TRUE") != 0 ||
		    add_ext(c->cert, c->cert, NID_key_usage,
		    "critical,keyCertSign,cRLSign") != 0 ||
		    add_ext(c->cert, c->cert, NID_subject_key_identifier, "hash") != 0)
			return -1;
		return X509_sign(c->cert, c->key, EVP_sha256()) > 0 ? 0 : -1;
	}
	if (X509_set_issuer_name(c->cert, X509_get_subject_name(issuer->cert)) != 1 ||
	    add_ext(c->cert, issuer->cert, NID_basic_constraints, "CA:FALSE") != 0 ||
	    add_ext(c->cert, issuer->cert, NID_authority_key_identifier,
	    "keyid:always") != 0 ||
	    (san != NULL && add_ext(c->cert, issuer->cert, NID_subject_alt_name,
	    san) != 0))
		return -1;
	return X509_sign(c->cert, issuer->key, EVP_sha256()) > 0 ? 0 : -1;
}

int
test_pki_make(test_pki *pki)
{
	memset(pki, 0, sizeof(*pki));
	if (make_cred(&pki->ca, "Test realm CA", NULL, NULL) != 0 ||
	    make_cred(&pki->kdc, "kdc1.example.com", &pki->ca, "DNS:kdc1.example.com") != 0 ||
	    make_cred(&pki->kdc2, "kdc2.example.com", &pki->ca, "DNS:kdc2.example.com") != 0 ||
	    make_cred(&pki->server, "www.example.com", &pki->ca, "DNS:www.example.com") != 0 ||
	    make_cred(&pki->rogue_ca, "Test realm CA", NULL, NULL) != 0 ||
	    make_cred(&pki->rogue, "kdc1.example.com", &pki->rogue_ca, NULL) != 0)
		return -1;
	return 0;
}

static void
cred_free(test_cred *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
}

void
test_pki_free(test_pki *pki)
{
	cred_free(&pki->ca);
	cred_free(&pki->kdc);
	cred_free(&pki->kdc2);
	cred_free(&pki->server);
	cred_free(&pki->rogue_ca);
	cred_free(&pki->rogue);
}

int
test_pki_write_cert(const char *path, X509 *cert)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (fp == NULL)
		return -1;
	ok = PEM_write_X509(fp, cert);
	return fclose(fp) == 0 && ok == 1 ? 0 : -1;
}

int
test_pki_write_key(const char *path, EVP_PKEY *key, unsigned mode)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (fp == NULL)
		return -1;
	ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(fp) != 0 || ok != 1)
		return -1;
	return chmod(path, (mode_t)mode);
}

static char *
bio_text(BIO *bio)
{
	char *data = NULL, *out = NULL;
	long len = BIO_get_mem_data(bio, &data);

	if (len > 0 && (out = malloc((size_t)len + 1)) != NULL) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(bio);
	return out;
}

char *
test_pki_cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1) {
		BIO_free(bio);
		return NULL;
	}
	return bio_text(bio);
}

char *
test_pki_key_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio == NULL ||
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return NULL;
	}
	return bio_text(bio);
}
