/*
 * The registrar service of lethe-kdc (src/registrar/service.h) against a
 * real temporary store and a PKI made at test time: one success and one
 * refusal per result code, each refusal leaving the store exactly as it
 * was (generation, audit and agents identical); then the listener over
 * loopback (framing faults, a slow client, a full exchange) and the
 * key-request queue (rate limit, delivery to an agent's callback).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "der/der.h"
#include "registrar/registrar.h"
#include "registrar/service.h"
#include "store/store.h"

#define REALM "LETHE.TEST"
#define SERVER "host/server.lethe.test@LETHE.TEST"
#define DAY (24 * 3600L)

/* ------------------------------------------------------------ a test PKI */

typedef struct tcert {
	X509 *cert;
	EVP_PKEY *key;
} tcert;

static void
tcert_free(tcert *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	memset(c, 0, sizeof(*c));
}

/* DER of KRB5PrincipalName for "a/b@REALM" (RFC 4556 §3.2.2), name type 2. */
static void
principal_der(const char *c1, const char *c2, const char *realm, uint8_t **out, size_t *len)
{
	der_writer w;
	size_t whole, pn, names, f;

	der_writer_init(&w, 4096);
	whole = der_mark(&w);
	pn = der_mark(&w);
	f = der_mark(&w);
	names = der_mark(&w);
	assert_int_equal(der_put_gstring(&w, c2, strlen(c2)), LETHE_OK);
	assert_int_equal(der_put_gstring(&w, c1, strlen(c1)), LETHE_OK);
	assert_int_equal(der_wrap(&w, names, DER_SEQUENCE), LETHE_OK);
	assert_int_equal(der_wrap(&w, f, DER_CTX(1)), LETHE_OK);
	assert_int_equal(der_put_ctx_int64(&w, 0, 2), LETHE_OK);
	assert_int_equal(der_wrap(&w, pn, DER_SEQUENCE), LETHE_OK);
	assert_int_equal(der_wrap(&w, pn, DER_CTX(1)), LETHE_OK);
	assert_int_equal(der_put_ctx_gstring(&w, 0, realm, strlen(realm)), LETHE_OK);
	assert_int_equal(der_wrap(&w, whole, DER_SEQUENCE), LETHE_OK);
	assert_int_equal(der_writer_take(&w, out, len), LETHE_OK);
	der_writer_free(&w);
}

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* subjectAltName: id-pkinit-san c1/c2@realm when c1 is set, dNSName dns when set. */
static void
add_san(X509 *cert, const char *c1, const char *c2, const char *realm, const char *dns)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn;

	if (c1 != NULL) {
		uint8_t *der;
		size_t len;
		const unsigned char *p;
		ASN1_TYPE *value;
		principal_der(c1, c2, realm, &der, &len);
		p = der;
		value = d2i_ASN1_TYPE(NULL, &p, (long)len);
		assert_non_null(value);
		gn = GENERAL_NAME_new();
		assert_int_equal(GENERAL_NAME_set0_othername(gn, OBJ_txt2obj("1.3.6.1.5.2.2", 1),
		    value), 1);
		sk_GENERAL_NAME_push(names, gn);
		free(der);
	}
	if (dns != NULL) {
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
		ASN1_STRING_set(ia5, dns, (int)strlen(dns));
		gn = GENERAL_NAME_new();
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		sk_GENERAL_NAME_push(names, gn);
	}
	assert_int_equal(X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0,
	    X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(names);
}

typedef struct cert_spec {
	const char *cn;
	const tcert *issuer;            /* NULL: self-signed */
	bool ca;
	long not_before;                /* seconds from now */
	long not_after;
	const char *c1, *c2, *realm;    /* id-pkinit-san, or c1 NULL */
	const char *dns;                /* dNSName or NULL */
} cert_spec;

static void
make_cert(const cert_spec *s, tcert *out)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_get_subject_name(cert);
	BIGNUM *bn = BN_new();

	out->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(out->key);
	assert_int_equal(X509_set_version(cert, X509_VERSION_3), 1);
	BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(cert), s->not_before);
	X509_gmtime_adj(X509_getm_notAfter(cert), s->not_after);
	X509_set_pubkey(cert, out->key);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Lethe test",
	    -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1,
	    -1, 0);
	X509_set_issuer_name(cert, s->issuer != NULL ? X509_get_subject_name(s->issuer->cert) :
	    name);
	if (s->ca) {
		add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(cert, cert, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(cert, cert, NID_key_usage, "critical,digitalSignature,keyAgreement");
	}
	if (s->c1 != NULL || s->dns != NULL)
		add_san(cert, s->c1, s->c2, s->realm, s->dns);
	assert_true(X509_sign(cert, s->issuer != NULL ? s->issuer->key : out->key,
	    EVP_sha256()) > 0);
	out->cert = cert;
}

static char *
cert_pem(X509 *cert)
{
	char *pem;
	size_t len;

	assert_int_equal(reg_cert_to_pem(cert, &pem, &len), LETHE_OK);
	return pem;
}

static char *
key_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	out = calloc(1, (size_t)len + 1);
	memcpy(out, data, (size_t)len);
	BIO_free(bio);
	return out;
}

/* A signer identity for c, its issuer's certificate appended as the chain. */
static reg_identity *
identity_of(const tcert *c, const tcert *issuer)
{
	char *cp = cert_pem(c->cert), *kp = key_pem(c->key), *both;
	char *ip = issuer != NULL ? cert_pem(issuer->cert) : NULL;
	reg_identity *id = NULL;

	both = calloc(1, strlen(cp) + (ip != NULL ? strlen(ip) : 0) + 1);
	strcpy(both, cp);
	if (ip != NULL)
		strcat(both, ip);
	assert_int_equal(reg_identity_from_pem(both, strlen(both), kp, strlen(kp), &id), LETHE_OK);
	free(cp);
	free(kp);
	free(ip);
	free(both);
	return id;
}

/* ------------------------------------------------------------ the fixture */

typedef struct fx {
	char dir[512];
	char db[600];
	store_master_key mk;
	store *st;                      /* the test's own handle */
	reg_service *svc;
	tcert ca, kdc, srv;
	reg_identity *srv_id;
	X509_STORE *ca_store;           /* verifies the KDC's replies */
	int64_t now;
} fx;

static store *
open_store(fx *f)
{
	store *st = NULL;

	assert_int_equal(store_open(f->db, &f->mk, &st, NULL, 0, NULL), LETHE_OK);
	return st;
}

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	store_realm_policy p;
	char *ca_pem, *kdc_cert, *kdc_key;
	cert_spec ca = { "Lethe test CA", NULL, true, -DAY, 30 * DAY, NULL, NULL, NULL, NULL };
	cert_spec kdc = { "krbtgt/LETHE.TEST@LETHE.TEST", NULL, false, -DAY, 30 * DAY,
	    "krbtgt", REALM, REALM, NULL };
	cert_spec srv = { "server", NULL, false, -DAY, 30 * DAY, "host", "server.lethe.test",
	    REALM, NULL };
	const char *tmp = getenv("TMPDIR");
	store *svc_st;

	log_init("test_reg_service", LETHE_LOG_STDERR, LETHE_LOG_WARN);
	f->now = (int64_t)time(NULL);
	snprintf(f->dir, sizeof(f->dir), "%s/lethe-regsvc.XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	assert_int_equal(store_master_key_generate(&f->mk), LETHE_OK);
	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->st, NULL, 0, NULL), LETHE_OK);
	make_cert(&ca, &f->ca);
	kdc.issuer = &f->ca;
	make_cert(&kdc, &f->kdc);
	srv.issuer = &f->ca;
	make_cert(&srv, &f->srv);
	f->srv_id = identity_of(&f->srv, &f->ca);
	ca_pem = cert_pem(f->ca.cert);
	kdc_cert = cert_pem(f->kdc.cert);
	kdc_key = key_pem(f->kdc.key);
	assert_int_equal(store_credential_put(f->st, STORE_CRED_KDC, lbytes_make(kdc_cert,
	    strlen(kdc_cert)), lbytes_make(kdc_key, strlen(kdc_key)), f->now + 30 * DAY), LETHE_OK);
	assert_int_equal(store_anchor_add(f->st, "realm-ca", lbytes_make(ca_pem, strlen(ca_pem))),
	    LETHE_OK);
	assert_int_equal(reg_trust_add_pem(&f->ca_store, ca_pem, strlen(ca_pem)), LETHE_OK);
	free(ca_pem);
	free(kdc_cert);
	OPENSSL_cleanse(kdc_key, strlen(kdc_key));
	free(kdc_key);
	svc_st = open_store(f);
	assert_int_equal(reg_service_new(svc_st, &f->svc), LETHE_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;
	char cmd[700];

	reg_service_free(f->svc);
	store_close(f->st);
	reg_identity_free(f->srv_id);
	tcert_free(&f->ca);
	tcert_free(&f->kdc);
	tcert_free(&f->srv);
	X509_STORE_free(f->ca_store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ requests */

#define PEER "127.0.0.1:40000"  /* the TCP peer the requests come from */

typedef struct spec {
	const char *principal;
	int64_t timestamp;
	uint8_t nonce[REG_NONCE_LEN];
	reg_key_window keys[REG_MAX_KEYS];
	size_t nkeys;
	reg_sealed_keys sealed;
	X509 *seal_to;
	const reg_identity *signer;
	const char *callback;
} spec;

/* One aes256 key, kvno 7, used for an hour, accepted ten hours more. */
static void
spec_default(fx *f, spec *s)
{
	memset(s, 0, sizeof(*s));
	s->principal = SERVER;
	s->timestamp = f->now;
	assert_int_equal(RAND_bytes(s->nonce, sizeof(s->nonce)), 1);
	s->keys[0] = (reg_key_window){ 7, 18, f->now + 3600, f->now + 3600 + 10 * 3600 };
	s->nkeys = 1;
	s->sealed.keys[0].kvno = 7;
	s->sealed.keys[0].enctype = 18;
	memset(s->sealed.keys[0].key, 0x5a, 32);
	s->sealed.keys[0].key_len = 32;
	s->sealed.nkeys = 1;
	s->seal_to = f->kdc.cert;
	s->signer = f->srv_id;
	s->callback = "127.0.0.1:9";
}

static void
make_request(const spec *s, uint8_t **der, size_t *len)
{
	reg_request r;
	uint8_t *sealed = NULL, *content = NULL;
	size_t sealed_len = 0, content_len = 0;

	memset(&r, 0, sizeof(r));
	snprintf(r.principal, sizeof(r.principal), "%s", s->principal);
	memcpy(r.nonce, s->nonce, sizeof(r.nonce));
	r.timestamp = s->timestamp;
	if (s->callback != NULL) {
		r.has_callback = true;
		snprintf(r.callback, sizeof(r.callback), "%s", s->callback);
	}
	memcpy(r.keys, s->keys, sizeof(r.keys));
	r.nkeys = s->nkeys;
	assert_int_equal(reg_seal_keys(s->seal_to, &s->sealed, &sealed, &sealed_len), LETHE_OK);
	r.sealed_keys = lbytes_make(sealed, sealed_len);
	assert_int_equal(reg_request_encode(&r, &content, &content_len), LETHE_OK);
	assert_int_equal(reg_sign(s->signer, REG_CT_REQUEST, content, content_len, der, len),
	    LETHE_OK);
	free(sealed);
	free(content);
}

/* ------------------------------------------------------------ store state */

static void
append(char **buf, size_t *len, const char *fmt, ...) LETHE_PRINTF(3, 4);

static void
append(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char line[2048];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(line));
	*buf = realloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, line, (size_t)n + 1);
	*len += (size_t)n;
}

/* The generation, the audit and the agents rows as one text. */
static char *
store_state(fx *f)
{
	store_audit_report *r = NULL;
	store_agents *agents = NULL;
	uint64_t gen;
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(store_generation(f->st, &gen), LETHE_OK);
	assert_int_equal(store_audit(f->st, f->now, &r), LETHE_OK);
	append(&buf, &len, "gen=%llu ltsk=%zu\n", (unsigned long long)gen,
	    r->long_term_service_keys);
	for (size_t i = 0; i < r->nprincipals; i++) {
		const store_audit_principal *p = &r->principals[i];
		append(&buf, &len, "%s kind=%d attr=%u\n", p->name, (int)p->kind, p->attributes);
		for (size_t j = 0; j < p->nkeys; j++) {
			const store_audit_key *k = &p->keys[j];
			append(&buf, &len, " %u/%d %d %lld %lld %lld %s\n", k->kvno, (int)k->enctype,
			    (int)k->kind, (long long)k->registered_at, (long long)k->use_until,
			    (long long)k->accept_until, k->registered_by ? k->registered_by : "-");
		}
	}
	store_audit_report_free(r);
	assert_int_equal(store_agent_list(f->st, &agents), LETHE_OK);
	for (size_t i = 0; i < agents->count; i++)
		append(&buf, &len, "agent %s %s %s %lld\n", agents->entries[i].principal,
		    agents->entries[i].callback ? agents->entries[i].callback : "-",
		    agents->entries[i].spki_sha256,
		    (long long)agents->entries[i].last_registered_at);
	store_agents_free(agents);
	return buf;
}

/* Verify a reply with the realm CA and decode it. */
static void
open_reply(fx *f, const uint8_t *der, size_t len, reg_reply *rep)
{
	reg_trust trust = { f->ca_store, NULL, 0 };
	reg_verified v;
	enum reg_result verdict;

	assert_int_equal(reg_verify(der, len, REG_CT_REPLY, &trust, f->now, &v, &verdict),
	    LETHE_OK);
	assert_int_equal(verdict, REG_OK);
	assert_int_equal(reg_reply_decode(v.content, v.content_len, rep), LETHE_OK);
	reg_verified_clear(&v);
}

/* The reply must be bound to der: its principal, kvnos and digest. */
static void
expect_bound(const reg_reply *rep, const uint8_t *der, size_t len, const char *principal)
{
	uint8_t digest[REG_DIGEST_LEN];

	assert_true(rep->has_binding);
	assert_string_equal(rep->principal, principal);
	assert_true(rep->nkvnos >= 1);
	assert_int_equal(reg_request_digest(der, len, digest), LETHE_OK);
	assert_memory_equal(rep->request_sha256, digest, REG_DIGEST_LEN);
}

/*
 * Handle der; the outcome must carry code and the store stay unchanged.
 * With nonce, the reply is signed, echoes it and is bound to der (for
 * principal); without, it is the unsigned 7-byte RegistrationError.
 */
static void
expect_refusal_for(fx *f, const uint8_t *der, size_t len, int code, const uint8_t *nonce,
    const char *principal)
{
	char *before = store_state(f), *after;
	int32_t unsigned_code = 0;
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	reg_outcome o;
	reg_reply rep;

	assert_int_equal(reg_service_handle(f->svc, PEER, der, len, f->now, &reply, &reply_len,
	    &o), LETHE_OK);
	if (o.result != code)
		print_error("expected %s, got %s: %s\n", reg_result_str(code),
		    reg_result_str(o.result), o.text);
	assert_int_equal(o.result, code);
	assert_false(o.stored);
	assert_true(strlen(o.text) > 10);
	if (nonce == NULL) {
		assert_int_equal(reply_len, 7);
		assert_int_equal(reg_error_decode(reply, reply_len, &unsigned_code), LETHE_OK);
		assert_int_equal(unsigned_code, code);
	} else {
		open_reply(f, reply, reply_len, &rep);
		assert_int_equal(rep.result, code);
		assert_string_equal(rep.text, o.text);
		assert_memory_equal(rep.nonce, nonce, REG_NONCE_LEN);
		assert_false(rep.has_granted);
		expect_bound(&rep, der, len, principal);
	}
	after = store_state(f);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(reply);
}

static void
expect_refusal(fx *f, const uint8_t *der, size_t len, int code, const uint8_t *nonce)
{
	expect_refusal_for(f, der, len, code, nonce, SERVER);
}

/*
 * echoed: a signed reply carrying the request's nonce, bound to it (its
 * signer was verified); else the unsigned error (BAD_SIGNATURE,
 * UNTRUSTED, CERT_EXPIRED, MALFORMED, TOO_BIG: nothing unverified is
 * echoed or signed).
 */
static void
expect_spec_refusal_echo(fx *f, const spec *s, int code, bool echoed)
{
	uint8_t *der;
	size_t len;

	make_request(s, &der, &len);
	expect_refusal_for(f, der, len, code, echoed ? s->nonce : NULL, s->principal);
	free(der);
}

static void
expect_spec_refusal(fx *f, const spec *s, int code)
{
	expect_spec_refusal_echo(f, s, code, true);
}

/* Handle s and expect success; the reply is checked; stored: new keys went in. */
static void
expect_ok_stored(fx *f, const spec *s, bool stored)
{
	uint8_t *der, *reply = NULL;
	size_t len, reply_len = 0;
	reg_outcome o;
	reg_reply rep;

	make_request(s, &der, &len);
	assert_int_equal(reg_service_handle(f->svc, PEER, der, len, f->now, &reply, &reply_len,
	    &o), LETHE_OK);
	if (o.result != REG_OK)
		print_error("expected OK, got %s: %s\n", reg_result_str(o.result), o.text);
	assert_int_equal(o.result, REG_OK);
	assert_int_equal(o.stored, stored);
	open_reply(f, reply, reply_len, &rep);
	assert_int_equal(rep.result, REG_OK);
	assert_memory_equal(rep.nonce, s->nonce, REG_NONCE_LEN);
	assert_int_equal(rep.server_time, f->now);
	assert_true(rep.has_granted);
	assert_int_equal(rep.ngranted, s->nkeys);
	assert_memory_equal(rep.granted, s->keys, sizeof(s->keys[0]) * s->nkeys);
	expect_bound(&rep, der, len, s->principal);
	assert_int_equal(rep.nkvnos, s->nkeys);
	for (size_t i = 0; i < s->nkeys; i++)
		assert_int_equal(rep.kvnos[i], s->keys[i].kvno);
	free(der);
	free(reply);
}

static void
expect_ok(fx *f, const spec *s)
{
	expect_ok_stored(f, s, true);
}

/* ------------------------------------------------------------ service tests */

static void
test_register_ok(void **state)
{
	fx *f = *state;
	store_principal *p = NULL;
	store_agent *a = NULL;
	char spki[REG_SPKI_HEX_LEN + 1];
	uint64_t gen0, gen1;
	spec s;

	assert_int_equal(store_generation(f->st, &gen0), LETHE_OK);
	spec_default(f, &s);
	expect_ok(f, &s);
	assert_int_equal(store_generation(f->st, &gen1), LETHE_OK);
	assert_true(gen1 > gen0);
	assert_int_equal(reg_spki_sha256_hex(f->srv.cert, spki), LETHE_OK);
	assert_int_equal(store_principal_get(f->st, SERVER, &p), LETHE_OK);
	assert_int_equal(p->kind, STORE_KIND_AGENT);
	assert_int_equal(p->nkeys, 1);
	assert_int_equal(p->keys[0].kvno, 7);
	assert_int_equal(p->keys[0].enctype, 18);
	assert_int_equal(p->keys[0].kind, STORE_KEY_TEMPORARY);
	assert_int_equal(p->keys[0].key_len, 32);
	assert_memory_equal(p->keys[0].key, s.sealed.keys[0].key, 32);
	assert_int_equal(p->keys[0].registered_at, f->now);
	assert_int_equal(p->keys[0].use_until, f->now + 3600);
	assert_int_equal(p->keys[0].accept_until, f->now + 11 * 3600);
	assert_string_equal(p->keys[0].registered_by, spki);
	store_principal_free(p);
	assert_int_equal(store_agent_get(f->st, SERVER, &a), LETHE_OK);
	assert_string_equal(a->callback, "127.0.0.1:9");
	assert_string_equal(a->spki_sha256, spki);
	store_agent_free(a);
}

/* A second kvno with two enctypes, a DNS SAN identity, then a new kvno. */
static void
test_register_dns_san_two_enctypes(void **state)
{
	fx *f = *state;
	cert_spec cs = { "www", &f->ca, false, -DAY, DAY, NULL, NULL, NULL, "WWW.lethe.test" };
	store_principal *p = NULL;
	tcert web;
	spec s;

	make_cert(&cs, &web);
	spec_default(f, &s);
	s.principal = "HTTP/www.lethe.test@LETHE.TEST";
	s.signer = identity_of(&web, &f->ca);
	s.keys[1] = (reg_key_window){ 7, 17, f->now + 60, f->now + 120 };
	s.nkeys = 2;
	s.sealed.keys[1] = (reg_sealed_key){ .kvno = 7, .enctype = 17, .key_len = 16 };
	memset(s.sealed.keys[1].key, 0x33, 16);
	s.sealed.nkeys = 2;
	expect_ok(f, &s);
	assert_int_equal(store_principal_get(f->st, s.principal, &p), LETHE_OK);
	assert_int_equal(p->nkeys, 2);
	store_principal_free(p);
	reg_identity_free((reg_identity *)s.signer);
	tcert_free(&web);
}

/* Handle s, expect success, and return the certificate that signed the reply. */
static X509 *
ok_reply_signer(fx *f, const spec *s)
{
	reg_trust trust = { f->ca_store, NULL, 0 };
	uint8_t *der, *reply = NULL;
	size_t len, reply_len = 0;
	reg_outcome o;
	reg_verified v;
	enum reg_result verdict;
	X509 *signer;

	make_request(s, &der, &len);
	assert_int_equal(reg_service_handle(f->svc, PEER, der, len, f->now, &reply, &reply_len,
	    &o), LETHE_OK);
	if (o.result != REG_OK)
		print_error("expected OK, got %s: %s\n", reg_result_str(o.result), o.text);
	assert_int_equal(o.result, REG_OK);
	assert_int_equal(reg_verify(reply, reply_len, REG_CT_REPLY, &trust, f->now, &v,
	    &verdict), LETHE_OK);
	assert_int_equal(verdict, REG_OK);
	signer = v.signer;
	assert_int_equal(X509_up_ref(signer), 1);
	reg_verified_clear(&v);
	free(der);
	free(reply);
	return signer;
}

/*
 * Registrations in a row (each changes the store's generation) keep being
 * answered by the KDC credential; once the stored credential is replaced,
 * the next request is opened and answered with the new one, and keys
 * sealed to the old certificate are refused.
 */
static void
test_kdc_credential_replaced(void **state)
{
	fx *f = *state;
	cert_spec cs = { "krbtgt/LETHE.TEST@LETHE.TEST", NULL, false, -DAY, 30 * DAY,
	    "krbtgt", REALM, REALM, NULL };
	char *cp, *kp;
	tcert kdc2;
	X509 *signer;
	spec s;

	for (uint32_t kvno = 7; kvno < 10; kvno++) {
		spec_default(f, &s);
		s.keys[0].kvno = kvno;
		s.sealed.keys[0].kvno = kvno;
		signer = ok_reply_signer(f, &s);
		assert_int_equal(X509_cmp(signer, f->kdc.cert), 0);
		X509_free(signer);
	}
	cs.issuer = &f->ca;
	make_cert(&cs, &kdc2);
	cp = cert_pem(kdc2.cert);
	kp = key_pem(kdc2.key);
	assert_int_equal(store_credential_put(f->st, STORE_CRED_KDC, lbytes_make(cp, strlen(cp)),
	    lbytes_make(kp, strlen(kp)), f->now + 30 * DAY), LETHE_OK);
	/* Sealed to the old certificate: no longer opens. */
	spec_default(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 10;
	expect_spec_refusal(f, &s, REG_SEALED_KEYS);
	/* Sealed to the new one: stored, and answered by it. */
	s.seal_to = kdc2.cert;
	assert_int_equal(RAND_bytes(s.nonce, sizeof(s.nonce)), 1);
	signer = ok_reply_signer(f, &s);
	assert_int_equal(X509_cmp(signer, kdc2.cert), 0);
	assert_int_not_equal(X509_cmp(signer, f->kdc.cert), 0);
	X509_free(signer);
	free(cp);
	OPENSSL_cleanse(kp, strlen(kp));
	free(kp);
	tcert_free(&kdc2);
}

/* A trust anchor added to the store is used at once; removed, it is no longer. */
static void
test_anchor_added_then_removed(void **state)
{
	fx *f = *state;
	cert_spec ocs = { "Other CA", NULL, true, -DAY, DAY, NULL, NULL, NULL, NULL };
	cert_spec cs = { "server", NULL, false, -DAY, DAY, "host", "server.lethe.test", REALM,
	    NULL };
	tcert other, srv;
	reg_identity *id;
	char *pem;
	spec s;

	make_cert(&ocs, &other);
	cs.issuer = &other;
	make_cert(&cs, &srv);
	id = identity_of(&srv, &other);
	spec_default(f, &s);
	s.signer = id;
	expect_spec_refusal_echo(f, &s, REG_UNTRUSTED, false);
	pem = cert_pem(other.cert);
	assert_int_equal(store_anchor_add(f->st, "other", lbytes_make(pem, strlen(pem))), LETHE_OK);
	expect_ok(f, &s);
	/* The realm CA is still trusted too, after the registration's reload. */
	spec_default(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 8;
	expect_ok(f, &s);
	assert_int_equal(store_anchor_remove(f->st, "other"), LETHE_OK);
	spec_default(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 9;
	s.signer = id;
	expect_spec_refusal_echo(f, &s, REG_UNTRUSTED, false);
	reg_identity_free(id);
	free(pem);
	tcert_free(&other);
	tcert_free(&srv);
}

static void
test_malformed(void **state)
{
	fx *f = *state;
	uint8_t junk[300];
	spec s;
	uint8_t *der;
	size_t len;

	memset(junk, 0x30, sizeof(junk));
	expect_refusal(f, junk, sizeof(junk), REG_MALFORMED, NULL);
	expect_refusal(f, junk, 0, REG_MALFORMED, NULL);
	/* A signed request cut short. */
	spec_default(f, &s);
	make_request(&s, &der, &len);
	expect_refusal(f, der, len - 1, REG_MALFORMED, NULL);
	free(der);
}

static void
test_oversized(void **state)
{
	fx *f = *state;
	uint8_t *big = calloc(1, REG_MAX_MESSAGE + 1);

	expect_refusal(f, big, REG_MAX_MESSAGE + 1, REG_TOO_BIG, NULL);
	free(big);
}

/* Flip one bit of the signed content (inside the nonce) after signing. */
static void
test_bad_signature(void **state)
{
	fx *f = *state;
	uint8_t *der, *hit;
	size_t len;
	spec s;

	spec_default(f, &s);
	make_request(&s, &der, &len);
	hit = NULL;
	for (size_t i = 0; i + sizeof(s.nonce) <= len && hit == NULL; i++) {
		if (memcmp(der + i, s.nonce, sizeof(s.nonce)) == 0)
			hit = der + i;
	}
	assert_non_null(hit);
	hit[3] ^= 1;
	/* Unverified: an unsigned error, nothing of the request echoed. */
	expect_refusal(f, der, len, REG_BAD_SIGNATURE, NULL);
	free(der);
}

static void
test_untrusted(void **state)
{
	fx *f = *state;
	cert_spec ocs = { "Other CA", NULL, true, -DAY, DAY, NULL, NULL, NULL, NULL };
	cert_spec cs = { "server", NULL, false, -DAY, DAY, "host", "server.lethe.test", REALM,
	    NULL };
	tcert other, srv;
	spec s;

	make_cert(&ocs, &other);
	cs.issuer = &other;
	make_cert(&cs, &srv);
	spec_default(f, &s);
	s.signer = identity_of(&srv, &other);
	expect_spec_refusal_echo(f, &s, REG_UNTRUSTED, false);
	reg_identity_free((reg_identity *)s.signer);
	tcert_free(&other);
	tcert_free(&srv);
}

static void
test_cert_expired(void **state)
{
	fx *f = *state;
	cert_spec cs = { "server", &f->ca, false, -10 * DAY, -DAY, "host", "server.lethe.test",
	    REALM, NULL };
	tcert old;
	spec s;

	make_cert(&cs, &old);
	spec_default(f, &s);
	s.signer = identity_of(&old, &f->ca);
	expect_spec_refusal_echo(f, &s, REG_CERT_EXPIRED, false);
	reg_identity_free((reg_identity *)s.signer);
	tcert_free(&old);
}

static void
test_wrong_principal(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	s.principal = "host/other.lethe.test@LETHE.TEST";
	expect_spec_refusal(f, &s, REG_WRONG_PRINCIPAL);
	/* A DNS SAN names only services in the policy's list. */
	s.principal = "imap/server.lethe.test@LETHE.TEST";
	expect_spec_refusal(f, &s, REG_WRONG_PRINCIPAL);
}

/* Auto-enrolment off: a rule is needed; with one (subject DN), it passes. */
static void
test_rule_needed(void **state)
{
	fx *f = *state;
	store_reg_policy pol;
	char *subject = NULL;
	spec s;

	assert_int_equal(store_reg_policy_get(f->st, &pol), LETHE_OK);
	pol.auto_enrol = false;
	assert_int_equal(store_reg_policy_set(f->st, &pol), LETHE_OK);
	spec_default(f, &s);
	expect_spec_refusal(f, &s, REG_NOT_ALLOWED);
	/* A rule for other principals does not help. */
	assert_int_equal(reg_cert_subject_text(f->srv.cert, &subject), LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SUBJECT, subject, "HTTP/*", NULL),
	    LETHE_OK);
	spec_default(f, &s);
	expect_spec_refusal(f, &s, REG_NOT_ALLOWED);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SUBJECT, subject, "host/*@" REALM,
	    NULL), LETHE_OK);
	spec_default(f, &s);
	expect_ok(f, &s);
	/* The rule also lets it register for a principal its certificate does not name. */
	spec_default(f, &s);
	s.principal = "host/else.lethe.test@LETHE.TEST";
	expect_ok(f, &s);
	free(subject);
}

/* A SAN rule (bare DNS name, any case) lets a certificate register for others. */
static void
test_san_rule(void **state)
{
	fx *f = *state;
	cert_spec cs = { "www", &f->ca, false, -DAY, DAY, NULL, NULL, NULL, "WWW.lethe.test" };
	tcert web;
	spec s;

	make_cert(&cs, &web);
	spec_default(f, &s);
	s.principal = "HTTP/app.lethe.test@LETHE.TEST";
	s.signer = identity_of(&web, &f->ca);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SAN, "DNS:nope.lethe.test", "*",
	    NULL), LETHE_OK);
	expect_spec_refusal(f, &s, REG_WRONG_PRINCIPAL);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SAN, "www.lethe.test", "HTTP/*",
	    NULL), LETHE_OK);
	expect_ok(f, &s);
	reg_identity_free((reg_identity *)s.signer);
	tcert_free(&web);
}

/* A SAN rule matches its SAN type only: a bare principal name matches nothing. */
static void
test_san_rule_type(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	s.principal = "host/else.lethe.test@LETHE.TEST";
	/* the value of the server's id-pkinit-san, bare, and under another type */
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SAN, SERVER, "host/else*", NULL),
	    LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SAN, "email:" SERVER, "host/else*",
	    NULL), LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SAN, "DNS:" SERVER, "host/else*",
	    NULL), LETHE_OK);
	expect_spec_refusal(f, &s, REG_WRONG_PRINCIPAL);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SAN, "pkinit:" SERVER, "host/else*",
	    NULL), LETHE_OK);
	spec_default(f, &s);
	s.principal = "host/else.lethe.test@LETHE.TEST";
	expect_ok(f, &s);
}

/* Host names are canonical; one key registers for a bounded number of principals. */
static void
test_host_case_and_cap(void **state)
{
	static const char *const spellings[] = { "host/SERVER.lethe.test@LETHE.TEST",
		"host/server.lethe.test.@LETHE.TEST", "host/Server.Lethe.Test@LETHE.TEST" };
	fx *f = *state;
	char *subject = NULL;
	spec s;

	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		spec_default(f, &s);
		s.principal = spellings[i];
		expect_spec_refusal(f, &s, REG_WRONG_PRINCIPAL);
	}
	reg_service_set_max_principals_per_key(f->svc, 2);
	assert_int_equal(reg_cert_subject_text(f->srv.cert, &subject), LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SUBJECT, subject, "host/*", NULL),
	    LETHE_OK);
	free(subject);
	spec_default(f, &s);
	expect_ok(f, &s);
	spec_default(f, &s);
	s.principal = "host/b.lethe.test@LETHE.TEST";
	expect_ok(f, &s);
	spec_default(f, &s);
	s.principal = "host/c.lethe.test@LETHE.TEST";
	expect_spec_refusal(f, &s, REG_POLICY);
	/* A principal it holds takes new keys. */
	spec_default(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 8;
	expect_ok(f, &s);
}

/* The callback may only name the host the request came from. */
static void
test_callback_peer_only(void **state)
{
	fx *f = *state;
	store_agent *a = NULL;
	spec s;

	spec_default(f, &s);
	s.callback = "127.0.0.2:9";
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.callback = "[::1]:9";
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.callback = "127.0.0.1:7000";          /* any port of the peer */
	expect_ok(f, &s);
	assert_int_equal(store_agent_get(f->st, SERVER, &a), LETHE_OK);
	assert_string_equal(a->callback, "127.0.0.1:7000");
	store_agent_free(a);
}

/*
 * A callback on another host needs a rule covering the signer and the
 * principal that names that host (and port, when the rule gives one).
 */
static void
test_callback_by_rule(void **state)
{
	fx *f = *state;
	store_agent *a = NULL;
	spec s;

	/* A rule for other principals names the host: not enough. */
	assert_int_equal(store_reg_rule_add_callbacks(f->st, STORE_ID_SAN, "pkinit:" SERVER,
	    "host/else*", "127.0.0.2", NULL), LETHE_OK);
	spec_default(f, &s);
	s.callback = "127.0.0.2:9";
	expect_spec_refusal(f, &s, REG_POLICY);
	assert_int_equal(store_reg_rule_add_callbacks(f->st, STORE_ID_SAN, "pkinit:" SERVER, "*",
	    "127.0.0.2:9 [::1]", NULL), LETHE_OK);
	spec_default(f, &s);
	s.callback = "127.0.0.2:10";            /* the rule names port 9 only */
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.callback = "127.0.0.3:9";
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.callback = "[::ffff:127.0.0.2]:9";    /* the same host, IPv4-mapped */
	expect_ok(f, &s);
	spec_default(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 8;
	s.callback = "[0:0::1]:4444";           /* any port of [::1] */
	expect_ok(f, &s);
	assert_int_equal(store_agent_get(f->st, SERVER, &a), LETHE_OK);
	assert_string_equal(a->callback, "[0:0::1]:4444");
	store_agent_free(a);
}

/* A self-signed key pinned for "host" services: only the signature is checked. */
static void
test_pinned_key(void **state)
{
	fx *f = *state;
	cert_spec cs = { "pinned", NULL, false, -DAY, DAY, NULL, NULL, NULL, NULL };
	char spki[REG_SPKI_HEX_LEN + 1];
	tcert self;
	spec s;

	make_cert(&cs, &self);
	assert_int_equal(reg_spki_sha256_hex(self.cert, spki), LETHE_OK);
	spec_default(f, &s);
	s.signer = identity_of(&self, NULL);
	expect_spec_refusal_echo(f, &s, REG_UNTRUSTED, false);
	reg_identity_free((reg_identity *)s.signer);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SPKI, spki, "HTTP/*", NULL),
	    LETHE_OK);
	spec_default(f, &s);
	s.signer = identity_of(&self, NULL);
	expect_spec_refusal_echo(f, &s, REG_UNTRUSTED, true);   /* read by its pin */
	reg_identity_free((reg_identity *)s.signer);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SPKI, spki, "host/*", NULL),
	    LETHE_OK);
	spec_default(f, &s);
	s.signer = identity_of(&self, NULL);
	expect_ok(f, &s);
	reg_identity_free((reg_identity *)s.signer);
	tcert_free(&self);
}

static void
test_wrong_realm(void **state)
{
	fx *f = *state;
	cert_spec cs = { "server", &f->ca, false, -DAY, DAY, "host", "server.lethe.test",
	    "OTHER.TEST", NULL };
	tcert other;
	spec s;

	make_cert(&cs, &other);
	spec_default(f, &s);
	s.principal = "host/server.lethe.test@OTHER.TEST";
	s.signer = identity_of(&other, &f->ca);
	expect_spec_refusal(f, &s, REG_WRONG_REALM);
	reg_identity_free((reg_identity *)s.signer);
	tcert_free(&other);
}

static void
test_stale_timestamp(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	s.timestamp = f->now - STORE_DEFAULT_SKEW - 1;
	expect_spec_refusal(f, &s, REG_SKEW);
	s.timestamp = f->now + STORE_DEFAULT_SKEW + 1;
	expect_spec_refusal(f, &s, REG_SKEW);
}

static void
test_replay(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	expect_ok(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 8;
	expect_spec_refusal(f, &s, REG_REPLAY);
}

static void
test_kvno_reused(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	expect_ok(f, &s);
	spec_default(f, &s);            /* fresh nonce, same kvno 7 */
	s.keys[0].enctype = s.sealed.keys[0].enctype = 17;
	s.sealed.keys[0].key_len = 16;
	expect_spec_refusal(f, &s, REG_KVNO_EXISTS);
}

/*
 * The same key under the same kvno again (an agent registering with each
 * KDC of a shared store): OK with the same grant, nothing stored; another
 * key under it: KVNO_EXISTS.
 */
static void
test_kvno_repeated(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	expect_ok(f, &s);
	spec_default(f, &s);            /* fresh nonce, same kvno 7 and key */
	expect_ok_stored(f, &s, false);
	spec_default(f, &s);
	s.sealed.keys[0].key[31] ^= 0x80;
	expect_spec_refusal(f, &s, REG_KVNO_EXISTS);
}

/* A principal whose live keys and the new ones exceed 256: POLICY. */
static void
test_too_many_keys(void **state)
{
	fx *f = *state;
	static store_key keys[255];
	spec s;

	spec_default(f, &s);
	expect_ok(f, &s);               /* the principal, with kvno 7 */
	for (size_t i = 0; i < 255; i++) {
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].kvno = 100 + (uint32_t)i;
		keys[i].enctype = 18;
		memset(keys[i].key, 0x33, 32);
		keys[i].key_len = 32;
		keys[i].kind = STORE_KEY_TEMPORARY;
		keys[i].use_until = keys[i].accept_until = f->now + 7200;
	}
	assert_int_equal(store_keys_add(f->st, SERVER, keys, 255), LETHE_OK);
	spec_default(f, &s);
	s.keys[0].kvno = s.sealed.keys[0].kvno = 8;
	expect_spec_refusal(f, &s, REG_POLICY);
}

static void
test_user_principal_refused(void **state)
{
	fx *f = *state;
	store_principal u = { 0 };
	store_reg_policy pol;
	char *subject = NULL;
	spec s;

	u.name = "alice@" REALM;
	u.kind = STORE_KIND_USER;
	u.attributes = STORE_ATTR_DEFAULT_USER;
	assert_int_equal(store_principal_add(f->st, &u), LETHE_OK);
	assert_int_equal(store_reg_policy_get(f->st, &pol), LETHE_OK);
	assert_int_equal(reg_cert_subject_text(f->srv.cert, &subject), LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->st, STORE_ID_SUBJECT, subject, "*", NULL),
	    LETHE_OK);
	spec_default(f, &s);
	s.principal = "alice@" REALM;
	expect_spec_refusal(f, &s, REG_NOT_ALLOWED);
	free(subject);
}

static void
test_bad_enctype(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	s.keys[0].enctype = s.sealed.keys[0].enctype = 23;
	s.sealed.keys[0].key_len = 16;
	expect_spec_refusal(f, &s, REG_POLICY);
}

static void
test_window_too_long(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	s.keys[0].use_until = f->now + STORE_DEFAULT_MAX_USE_WINDOW + 1;
	s.keys[0].accept_until = s.keys[0].use_until + 3600;
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.keys[0].accept_until = s.keys[0].use_until + STORE_DEFAULT_MAX_LIFE +
	    STORE_DEFAULT_SKEW + 1;
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.keys[0].use_until = f->now;
	expect_spec_refusal(f, &s, REG_POLICY);
	spec_default(f, &s);
	s.keys[0].accept_until = s.keys[0].use_until - 1;
	expect_spec_refusal(f, &s, REG_POLICY);
}

static void
test_sealed_mismatch(void **state)
{
	fx *f = *state;
	spec s;

	spec_default(f, &s);
	s.sealed.keys[0].kvno = 8;              /* sealed list differs from the clear one */
	expect_spec_refusal(f, &s, REG_SEALED_KEYS);
	spec_default(f, &s);
	s.sealed.keys[0].key_len = 16;          /* wrong length for aes256 */
	expect_spec_refusal(f, &s, REG_SEALED_KEYS);
	spec_default(f, &s);
	s.seal_to = f->srv.cert;                /* not sealed to the KDC */
	expect_spec_refusal(f, &s, REG_SEALED_KEYS);
	spec_default(f, &s);
	s.sealed.keys[1] = s.sealed.keys[0];    /* one key more than listed */
	s.sealed.keys[1].kvno = 9;
	s.sealed.nkeys = 2;
	expect_spec_refusal(f, &s, REG_SEALED_KEYS);
}

/* ------------------------------------------------------------ listener */

typedef struct lfx {
	fx *f;
	reg_listener *l;
	reg_keyreq *q;
	lethe_sockaddr addr;
	int stored_calls;
} lfx;

static void
on_stored(void *ctx)
{
	((lfx *)ctx)->stored_calls++;
}

static void
listener_start(fx *f, lfx *lf, unsigned timeout_ms)
{
	reg_listen_config cfg;
	struct sockaddr_in *sin;

	memset(lf, 0, sizeof(*lf));
	lf->f = f;
	assert_int_equal(reg_keyreq_new(30, &lf->q), LETHE_OK);
	reg_listen_config_defaults(&cfg);
	sin = (struct sockaddr_in *)&cfg.addr.ss;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg.addr.len = sizeof(*sin);
	cfg.max_conns = 4;
	cfg.timeout_ms = timeout_ms;
	cfg.svc = f->svc;
	cfg.keyreq = lf->q;
	cfg.on_stored = on_stored;
	cfg.on_stored_ctx = lf;
	assert_int_equal(reg_listener_new(&cfg, &lf->l), LETHE_OK);
	lf->addr = cfg.addr;
	((struct sockaddr_in *)&lf->addr.ss)->sin_port = htons(reg_listener_port(lf->l));
	assert_int_equal(reg_listener_start(lf->l), LETHE_OK);
}

static void
listener_stop(lfx *lf, reg_listen_stats *st)
{
	reg_listener_stop(lf->l);
	reg_listener_stats_get(lf->l, st);
	reg_listener_free(lf->l);
	reg_keyreq_free(lf->q);
}

static int
connect_to(const lethe_sockaddr *a)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&a->ss, a->len), 0);
	return fd;
}

/* Wait (at most 5 s) for fd to be readable; return what recv gives. */
static ssize_t
recv_wait(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 5000), 1);
	return recv(fd, buf, cap, 0);
}

static void
test_listen_exchange(void **state)
{
	fx *f = *state;
	uint8_t *der, *reply = NULL;
	size_t len, reply_len = 0;
	reg_listen_stats st;
	reg_reply rep;
	lfx lf;
	spec s;

	listener_start(f, &lf, 5000);
	spec_default(f, &s);
	make_request(&s, &der, &len);
	assert_int_equal(reg_client_exchange_addr(&lf.addr, der, len, 5000, &reply, &reply_len),
	    LETHE_OK);
	listener_stop(&lf, &st);
	open_reply(f, reply, reply_len, &rep);
	assert_int_equal(rep.result, REG_OK);
	assert_memory_equal(rep.nonce, s.nonce, REG_NONCE_LEN);
	assert_int_equal(lf.stored_calls, 1);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.replies, 1);
	assert_int_equal(st.bad_frames, 0);
	free(der);
	free(reply);
}

/* A stream that ends inside a frame: closed without an answer, nothing stored. */
static void
test_listen_truncated(void **state)
{
	fx *f = *state;
	uint8_t frame[14] = { 0, 0, 0, 100, 0x30, 0x62 }, buf[16];
	char *before = store_state(f), *after;
	reg_listen_stats st;
	lfx lf;
	int fd;

	listener_start(f, &lf, 5000);
	fd = connect_to(&lf.addr);
	assert_int_equal(send(fd, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	shutdown(fd, SHUT_WR);
	assert_int_equal(recv_wait(fd, buf, sizeof(buf)), 0);
	close(fd);
	listener_stop(&lf, &st);
	assert_int_equal(st.bad_frames, 1);
	assert_int_equal(st.replies, 0);
	assert_int_equal(lf.stored_calls, 0);
	after = store_state(f);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* An oversized length is refused (signed TOO_BIG) before any body is read. */
static void
test_listen_oversized(void **state)
{
	fx *f = *state;
	uint8_t hdr[4] = { 0, 1, 0, 1 }, *reply = NULL;
	size_t reply_len = 0;
	char *before = store_state(f), *after;
	reg_listen_stats st;
	int32_t code = 0;
	lfx lf;
	int fd;

	listener_start(f, &lf, 5000);
	fd = connect_to(&lf.addr);
	assert_int_equal(send(fd, hdr, sizeof(hdr), 0), 4);
	assert_int_equal(reg_read_frame(fd, REG_MAX_MESSAGE, 5000, &reply, &reply_len), LETHE_OK);
	close(fd);
	/* Unsigned: nothing unauthenticated gets a signature. */
	assert_int_equal(reg_error_decode(reply, reply_len, &code), LETHE_OK);
	assert_int_equal(code, REG_TOO_BIG);
	/* A zero length is MALFORMED. */
	free(reply);
	memset(hdr, 0, sizeof(hdr));
	fd = connect_to(&lf.addr);
	assert_int_equal(send(fd, hdr, sizeof(hdr), 0), 4);
	assert_int_equal(reg_read_frame(fd, REG_MAX_MESSAGE, 5000, &reply, &reply_len), LETHE_OK);
	close(fd);
	assert_int_equal(reg_error_decode(reply, reply_len, &code), LETHE_OK);
	assert_int_equal(code, REG_MALFORMED);
	free(reply);
	listener_stop(&lf, &st);
	assert_int_equal(st.bad_frames, 2);
	after = store_state(f);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A client that sends two bytes and waits is dropped by the deadline. */
static void
test_listen_slow_client(void **state)
{
	fx *f = *state;
	uint8_t buf[16];
	struct timespec t0, t1;
	reg_listen_stats st;
	long ms;
	lfx lf;
	int fd;

	listener_start(f, &lf, 300);
	fd = connect_to(&lf.addr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(send(fd, "\0\0", 2, 0), 2);
	assert_int_equal(recv_wait(fd, buf, sizeof(buf)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 250 && ms < 3000);
	close(fd);
	listener_stop(&lf, &st);
	assert_int_equal(st.timed_out, 1);
	assert_int_equal(st.replies, 0);
}

/*
 * Beyond max_conns (4 here), a newcomer takes the slot of the client that
 * has waited longest (all are from 127.0.0.1): idle sockets cannot lock
 * registrations out.
 */
static void
test_listen_full(void **state)
{
	fx *f = *state;
	reg_listen_stats st;
	uint8_t buf[16];
	int fds[4], extra;
	lfx lf;

	listener_start(f, &lf, 5000);
	for (int i = 0; i < 4; i++) {
		fds[i] = connect_to(&lf.addr);
		for (int k = 0; k < 100; k++) {        /* accepted in this order */
			reg_listener_stats_get(lf.l, &st);
			if (st.accepted == (uint64_t)i + 1)
				break;
			usleep(20000);
		}
		assert_int_equal(st.accepted, i + 1);
	}
	extra = connect_to(&lf.addr);
	assert_int_equal(recv_wait(fds[0], buf, sizeof(buf)), 0);
	for (int k = 0; k < 100; k++) {
		reg_listener_stats_get(lf.l, &st);
		if (st.accepted == 5)
			break;
		usleep(20000);
	}
	assert_int_equal(st.evicted, 1);
	/* the newcomer is served: an empty frame earns its refusal */
	assert_int_equal(send(extra, "\0\0\0\0", 4, 0), 4);
	assert_true(recv_wait(extra, buf, sizeof(buf)) > 0);
	close(extra);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	listener_stop(&lf, &st);
	assert_int_equal(st.refused_full, 0);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.timed_out, 0);
}

/* ------------------------------------------------------------ key requests */

static void
test_keyreq_rate_limit(void **state)
{
	reg_keyreq *q;
	reg_keyreq_stats st;
	char name[64];

	(void)state;
	assert_int_equal(reg_keyreq_new(30, &q), LETHE_OK);
	reg_keyreq_send(q, "a/b@R");
	reg_keyreq_send(q, "a/b@R");
	reg_keyreq_send(q, "c/d@R");
	reg_keyreq_send(q, "");
	reg_keyreq_stats_get(q, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.rate_limited, 1);
	assert_true(reg_keyreq_next(q, name, sizeof(name)));
	assert_string_equal(name, "a/b@R");
	assert_true(reg_keyreq_next(q, name, sizeof(name)));
	assert_string_equal(name, "c/d@R");
	assert_false(reg_keyreq_next(q, name, sizeof(name)));
	reg_keyreq_send(q, "a/b@R");            /* still within the interval */
	assert_false(reg_keyreq_next(q, name, sizeof(name)));
	for (unsigned i = 0; i < REG_KEYREQ_QUEUE + 5; i++) {
		snprintf(name, sizeof(name), "s%u/h@R", i);
		reg_keyreq_send(q, name);
	}
	reg_keyreq_stats_get(q, &st);
	assert_int_equal(st.queue_full, 5);
	reg_keyreq_free(q);
}

/* A registered agent's callback gets one signed KeyRequest for two asks. */
static void
test_keyreq_delivered(void **state)
{
	fx *f = *state;
	struct sockaddr_in agent = { .sin_family = AF_INET };
	socklen_t alen = sizeof(agent);
	reg_trust trust = { f->ca_store, NULL, 0 };
	char callback[64];
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	reg_verified v;
	enum reg_result verdict;
	reg_key_request kr;
	reg_listen_stats st;
	struct pollfd p;
	lfx lf;
	int lfd, cfd;
	spec s;

	agent.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&agent, sizeof(agent)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&agent, &alen), 0);
	snprintf(callback, sizeof(callback), "127.0.0.1:%u", (unsigned)ntohs(agent.sin_port));
	spec_default(f, &s);
	s.callback = callback;
	expect_ok(f, &s);
	listener_start(f, &lf, 5000);
	reg_keyreq_send(lf.q, SERVER);
	reg_keyreq_send(lf.q, SERVER);
	reg_keyreq_send(lf.q, "host/nobody.lethe.test@LETHE.TEST");
	p = (struct pollfd){ .fd = lfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(reg_read_frame(cfd, REG_MAX_MESSAGE, 5000, &msg, &msg_len), LETHE_OK);
	close(cfd);
	assert_int_equal(reg_verify(msg, msg_len, REG_CT_KEY_REQUEST, &trust, f->now, &v,
	    &verdict), LETHE_OK);
	assert_int_equal(verdict, REG_OK);
	assert_int_equal(reg_key_request_decode(v.content, v.content_len, &kr), LETHE_OK);
	assert_string_equal(kr.principal, SERVER);
	assert_true(kr.timestamp >= f->now && kr.timestamp <= f->now + 60);
	reg_verified_clear(&v);
	free(msg);
	/* Wait (bounded) for the one without an agent to be counted. */
	for (int i = 0; i < 100; i++) {
		reg_listener_stats_get(lf.l, &st);
		if (st.keyreqs_failed == 1 && st.keyreqs_sent == 1)
			break;
		usleep(50000);
	}
	listener_stop(&lf, &st);
	assert_int_equal(st.keyreqs_sent, 1);
	assert_int_equal(st.keyreqs_failed, 1);
	/* No second connection came for the rate-limited ask. */
	p = (struct pollfd){ .fd = lfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 200), 0);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_dns_san_two_enctypes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kdc_credential_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchor_added_then_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_principal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_needed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_san_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_san_rule_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_case_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_peer_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_by_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_realm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvno_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvno_repeated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_principal_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_enctype, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_slow_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_full, setup, teardown),
		cmocka_unit_test(test_keyreq_rate_limit),
		cmocka_unit_test_setup_teardown(test_keyreq_delivered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
