/* The in-memory test PKI of reg_test_pki.h. */
#include "reg_test_pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "der/der.h"
#include "krb5/krb5.h"

#define DAY 86400

static void
must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "reg_test_pki: %s failed\n", what);
		abort();
	}
}

static char *
bio_string(BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	char *s = malloc((size_t)n + 1);

	must(s != NULL && n >= 0, "bio_string");
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

static EVP_PKEY *
new_key(bool rsa)
{
	EVP_PKEY *k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	must(k != NULL, "keygen");
	return k;
}

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	must(ext != NULL && X509_add_ext(cert, ext, -1) == 1, "add_ext");
	X509_EXTENSION_free(ext);
}

/* subjectAltName with an id-pkinit-san for principal and/or a dNSName. */
static void
add_san(X509 *cert, const char *principal, const char *dns)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn;

	must(names != NULL, "names");
	if (principal != NULL) {
		lethe_arena arena;
		krb_principal_name name;
		lbytes realm = { NULL, 0 };
		der_writer w;
		size_t m, m1;
		const unsigned char *p;
		ASN1_TYPE *value;

		lethe_arena_init(&arena, 8192);
		must(krb_principal_parse(&arena, principal, strlen(principal), realm,
		    &name, &realm) == LETHE_OK, "parse");
		der_writer_init(&w, 4096);
		m = der_mark(&w);
		m1 = der_mark(&w);
		krb_encode_principal_name(&w, &name);
		der_wrap(&w, m1, DER_CTX(1));
		der_put_ctx_gstring(&w, 0, realm.data, realm.len);
		der_wrap(&w, m, DER_SEQUENCE);
		must(der_writer_status(&w) == LETHE_OK, "der");
		p = der_written(&w).data;
		value = d2i_ASN1_TYPE(NULL, &p, (long)der_written(&w).len);
		gn = GENERAL_NAME_new();
		must(value != NULL && gn != NULL && GENERAL_NAME_set0_othername(gn,
		    OBJ_txt2obj("1.3.6.1.5.2.2", 1), value) == 1, "othername");
		must(sk_GENERAL_NAME_push(names, gn) > 0, "push");
		der_writer_free(&w);
		lethe_arena_free(&arena);
	}
	if (dns != NULL) {
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		gn = GENERAL_NAME_new();
		must(s != NULL && gn != NULL && ASN1_STRING_set(s, dns, -1) == 1, "dns");
		GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		must(sk_GENERAL_NAME_push(names, gn) > 0, "push");
	}
	must(X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, 0) == 1, "san");
	GENERAL_NAMES_free(names);
}

/* What one certificate should look like. */
typedef struct cert_spec {
	const char *cn;
	bool rsa;
	bool is_ca;
	int64_t not_before, not_after;
	const char *principal, *dns;    /* SANs, may be NULL */
	const char *ku, *eku;           /* extension values, may be NULL */
} cert_spec;

static void
set_times(X509 *x, int64_t nb, int64_t na)
{
	must(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL, "times");
}

static void
finish_pems(rtp_cert *c, const rtp_cert *issuer)
{
	BIO *bio = BIO_new(BIO_s_mem());

	must(bio != NULL && PEM_write_bio_X509(bio, c->cert) == 1, "pem");
	if (issuer != NULL)
		must(PEM_write_bio_X509(bio, issuer->cert) == 1, "pem chain");
	c->cert_pem = bio_string(bio);
	BIO_free(bio);
	bio = BIO_new(BIO_s_mem());
	must(bio != NULL && PEM_write_bio_PrivateKey(bio, c->key, NULL, NULL, 0, NULL,
	    NULL) == 1, "key pem");
	c->key_pem = bio_string(bio);
	BIO_free(bio);
}

static void
make_cert(rtp_cert *c, const cert_spec *s, const rtp_cert *issuer)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	must(x != NULL && name != NULL, "x509");
	c->key = new_key(s->rsa);
	must(X509_set_version(x, 2) == 1, "version");
	must(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) == 1, "serial");
	must(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)RTP_REALM, -1, -1, 0) == 1 &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)s->cn, -1, -1, 0) == 1, "name");
	must(X509_set_subject_name(x, name) == 1, "subject");
	must(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->cert) :
	    name) == 1, "issuer");
	set_times(x, s->not_before, s->not_after);
	must(X509_set_pubkey(x, c->key) == 1, "pubkey");
	add_ext(x, issuer != NULL ? issuer->cert : x, NID_basic_constraints,
	    s->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (s->ku != NULL)
		add_ext(x, x, NID_key_usage, s->ku);
	if (s->eku != NULL)
		add_ext(x, x, NID_ext_key_usage, s->eku);
	add_ext(x, x, NID_subject_key_identifier, "hash");
	if (s->principal != NULL || s->dns != NULL)
		add_san(x, s->principal, s->dns);
	must(X509_sign(x, issuer != NULL ? issuer->key : c->key, EVP_sha256()) > 0, "sign");
	c->cert = x;
	X509_NAME_free(name);
	finish_pems(c, issuer);
}

rtp_pki *
rtp_pki_new(int64_t now)
{
	rtp_pki *p = calloc(1, sizeof(*p));
	int64_t nb = now - 3600, na = now + 30 * DAY;
	const char *client_eku = "1.3.6.1.5.2.3.4";

	must(p != NULL, "calloc");
	p->now = now;
	make_cert(&p->ca, &(cert_spec){ "Realm CA", false, true, now - 30 * DAY, na, NULL, NULL,
	    "critical,keyCertSign,cRLSign", NULL }, NULL);
	make_cert(&p->other_ca, &(cert_spec){ "Other CA", false, true, now - 30 * DAY, na, NULL,
	    NULL, "critical,keyCertSign,cRLSign", NULL }, NULL);
	make_cert(&p->kdc, &(cert_spec){ "krbtgt", false, false, nb, na,
	    "krbtgt/" RTP_REALM "@" RTP_REALM, "kdc.example.com",
	    "critical,digitalSignature,keyAgreement", "1.3.6.1.5.2.3.5,serverAuth" },
	    &p->ca);
	make_cert(&p->kdc_rsa, &(cert_spec){ "krbtgt rsa", true, false, nb, na,
	    "krbtgt/" RTP_REALM "@" RTP_REALM, NULL,
	    "critical,digitalSignature,keyEncipherment", "1.3.6.1.5.2.3.5,serverAuth" },
	    &p->ca);
	make_cert(&p->server_san, &(cert_spec){ "www san", false, false, nb, na,
	    RTP_PRINCIPAL, NULL, "critical,digitalSignature", client_eku }, &p->ca);
	make_cert(&p->server_dns, &(cert_spec){ "www dns", true, false, nb, na, NULL,
	    RTP_HOST, "critical,digitalSignature", "clientAuth" }, &p->ca);
	make_cert(&p->expired, &(cert_spec){ "www expired", false, false, now - 10 * DAY,
	    now - DAY, RTP_PRINCIPAL, NULL, "critical,digitalSignature", NULL }, &p->ca);
	make_cert(&p->other, &(cert_spec){ "other", false, false, nb, na,
	    RTP_OTHER_PRINCIPAL, NULL, "critical,digitalSignature", NULL }, &p->ca);
	make_cert(&p->untrusted, &(cert_spec){ "www untrusted", false, false, nb, na,
	    RTP_PRINCIPAL, NULL, "critical,digitalSignature", NULL }, &p->other_ca);
	make_cert(&p->no_sig_ku, &(cert_spec){ "www no sig", false, false, nb, na,
	    RTP_PRINCIPAL, NULL, "critical,keyEncipherment", NULL }, &p->ca);
	return p;
}

static void
cert_clear(rtp_cert *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

void
rtp_pki_free(rtp_pki *p)
{
	if (p == NULL)
		return;
	cert_clear(&p->ca);
	cert_clear(&p->other_ca);
	cert_clear(&p->kdc);
	cert_clear(&p->kdc_rsa);
	cert_clear(&p->server_san);
	cert_clear(&p->server_dns);
	cert_clear(&p->expired);
	cert_clear(&p->other);
	cert_clear(&p->untrusted);
	cert_clear(&p->no_sig_ku);
	free(p);
}

reg_identity *
rtp_identity(const rtp_cert *c)
{
	reg_identity *id = NULL;

	must(reg_identity_from_pem(c->cert_pem, strlen(c->cert_pem), c->key_pem,
	    strlen(c->key_pem), &id) == LETHE_OK, "identity");
	return id;
}

X509_STORE *
rtp_store(const rtp_cert *ca)
{
	X509_STORE *st = NULL;

	must(reg_trust_add_pem(&st, ca->cert_pem, strlen(ca->cert_pem)) == LETHE_OK,
	    "store");
	return st;
}
