/* Test certificates for the lethe-agent tests: a CA, a KDC, a server, a rogue. */
#ifndef TEST_AGENT_PKI_H
#define TEST_AGENT_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct test_cred {
	EVP_PKEY *key;
	X509 *cert;
} test_cred;

typedef struct test_pki {
	test_cred ca;           /* the realm CA (kdc_ca) */
	test_cred kdc;          /* the KDC, signed by ca */
	test_cred kdc2;         /* a second KDC, signed by ca */
	test_cred server;       /* a server, signed by ca: not a KDC */
	test_cred rogue_ca;     /* an unrelated CA */
	test_cred rogue;        /* "kdc" signed by rogue_ca */
} test_pki;

/* Make every credential (EC P-256). 0 on success. */
int test_pki_make(test_pki *pki);

void test_pki_free(test_pki *pki);

/* Write cert (and its chain up to but excluding the CA) / key as PEM files. */
int test_pki_write_cert(const char *path, X509 *cert);
int test_pki_write_key(const char *path, EVP_PKEY *key, unsigned mode);

/* PEM text of cert / key; caller frees. */
char *test_pki_cert_pem(X509 *cert);
char *test_pki_key_pem(EVP_PKEY *key);

#endif
