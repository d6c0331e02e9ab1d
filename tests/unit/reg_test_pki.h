/*
 * A test PKI built in memory with OpenSSL at test time, for the
 * registrar tests (test_registrar_*.c) and reusable by the registrar
 * service tests (test_reg_service.c): link reg_test_pki.c beside them.
 *
 * rtp_pki_new() makes, for realm R (all valid from now - 1 h for 30 days
 * unless said otherwise):
 *   ca          realm CA (EC P-256), self-signed, the trust anchor
 *   other_ca    a CA nobody trusts (EC P-256)
 *   kdc         KDC certificate from ca, EC, like `lethe-admin init`'s:
 *               KU digitalSignature+keyAgreement, EKU id-pkinit-KPKdc +
 *               serverAuth, id-pkinit-san krbtgt/R@R
 *   kdc_rsa     the same with an RSA 2048 key
 *   server_san  EC, id-pkinit-san RTP_PRINCIPAL (HTTP/www.example.com@R),
 *               KU digitalSignature, EKU id-pkinit-KPClientAuth
 *   server_dns  RSA, dNSName www.example.com, EKU clientAuth
 *   expired     EC, id-pkinit-san RTP_PRINCIPAL, expired a day ago
 *   other       EC, id-pkinit-san HTTP/other.example.com@R
 *   untrusted   EC, from other_ca, id-pkinit-san RTP_PRINCIPAL
 *   no_sig_ku   EC, id-pkinit-san RTP_PRINCIPAL, KU keyEncipherment only
 */
#ifndef LETHE_TESTS_REG_TEST_PKI_H
#define LETHE_TESTS_REG_TEST_PKI_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "registrar/registrar.h"

#define RTP_REALM "EXAMPLE.COM"
#define RTP_HOST "www.example.com"
#define RTP_PRINCIPAL "HTTP/www.example.com@EXAMPLE.COM"
#define RTP_OTHER_PRINCIPAL "HTTP/other.example.com@EXAMPLE.COM"

typedef struct rtp_cert {
	X509 *cert;
	EVP_PKEY *key;
	char *cert_pem;         /* the certificate, then its issuing CA */
	char *key_pem;          /* PKCS#8 PEM */
} rtp_cert;

typedef struct rtp_pki {
	int64_t now;
	rtp_cert ca, other_ca;
	rtp_cert kdc, kdc_rsa;
	rtp_cert server_san, server_dns, expired, other, untrusted, no_sig_ku;
} rtp_pki;

/* Build the PKI above for "now" (seconds since 1970). Aborts on failure. */
rtp_pki *rtp_pki_new(int64_t now);

void rtp_pki_free(rtp_pki *p);

/* An identity (cert + chain + key) for c. Aborts on failure. */
reg_identity *rtp_identity(const rtp_cert *c);

/* A new X509_STORE trusting only ca. Aborts on failure. */
X509_STORE *rtp_store(const rtp_cert *ca);

#endif
