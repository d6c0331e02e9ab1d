/*
 * Certificates as identities: loading, trust stores, SPKI pins, and the
 * rules by which a certificate names a Kerberos principal.
 */
#include "registrar/registrar.h"
#include "base/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "der/der.h"
#include "krb5/krb5.h"
#include "registrar/reg_internal.h"

#define OID_PKINIT_SAN "1.3.6.1.5.2.2"
#define NAME_ARENA_BUDGET (8u * REG_MAX_NAME_LEN + 4096u)

/* ------------------------------------------------------------ loading */

lethe_status
reg_cert_from_pem(const char *pem, size_t len, X509 **out)
{
	BIO *bio;

	*out = NULL;
	ENSURE(pem != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= INT32_MAX, LETHE_ERR_TOO_BIG);
	bio = BIO_new_mem_buf(pem, (int)len);
	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	*out = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return *out != NULL ? LETHE_OK : LETHE_ERR_FORMAT;
}

lethe_status
reg_cert_load_pem(const char *path, X509 **out)
{
	uint8_t *data = NULL;
	size_t len = 0;
	lethe_status rc;

	*out = NULL;
	GUARD(lethe_file_read(path, REGI_MAX_FILE, &data, &len));
	rc = reg_cert_from_pem((const char *)data, len, out);
	reg_free_secret(data, len);
	return rc;
}

lethe_status
reg_cert_to_pem(X509 *cert, char **out, size_t *out_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *copy;
	long n;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	*out_len = 0;
	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, PEM_write_bio_X509(bio, cert) == 1, LETHE_ERR_CRYPTO);
	n = BIO_get_mem_data(bio, &data);
	ENSURE_GOTO(rc, n > 0 && data != NULL, LETHE_ERR_CRYPTO);
	copy = malloc((size_t)n + 1);
	ENSURE_GOTO(rc, copy != NULL, LETHE_ERR_NOMEM);
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*out = copy;
	*out_len = (size_t)n;
cleanup:
	BIO_free(bio);
	return rc;
}

lethe_status
reg_trust_add_pem(X509_STORE **store, const char *pem, size_t len)
{
	X509_STORE *st = *store;
	BIO *bio;
	X509 *c;
	size_t added = 0;
	lethe_status rc = LETHE_OK;

	ENSURE(pem != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= INT32_MAX, LETHE_ERR_TOO_BIG);
	bio = BIO_new_mem_buf(pem, (int)len);
	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	if (st == NULL)
		st = X509_STORE_new();
	ENSURE_GOTO(rc, st != NULL, LETHE_ERR_NOMEM);
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_cert(st, c);

		X509_free(c);
		ENSURE_GOTO(rc, ok == 1, LETHE_ERR_CRYPTO);
		added++;
	}
	ENSURE_GOTO(rc, added != 0, LETHE_ERR_FORMAT);
	*store = st;
	st = NULL;
cleanup:
	ERR_clear_error();
	BIO_free(bio);
	if (st != *store)
		X509_STORE_free(st);
	return rc;
}

lethe_status
reg_trust_add_file(X509_STORE **store, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	lethe_status rc;

	GUARD(lethe_file_read(path, REGI_MAX_FILE, &data, &len));
	rc = reg_trust_add_pem(store, (const char *)data, len);
	reg_free_secret(data, len);
	return rc;
}

lethe_status
reg_spki_sha256_hex(X509 *cert, char out[REG_SPKI_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *der = NULL;
	unsigned char md[32];
	unsigned int md_len = 0;
	int n;

	out[0] = '\0';
	ENSURE(cert != NULL, LETHE_ERR_INVALID_ARG);
	n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	ENSURE(n > 0, LETHE_ERR_CRYPTO);
	n = EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL);
	OPENSSL_free(der);
	ENSURE(n == 1 && md_len == sizeof(md), LETHE_ERR_CRYPTO);
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[REG_SPKI_HEX_LEN] = '\0';
	return LETHE_OK;
}

/* ------------------------------------------------------------ SANs */

/* *out = a copy of in in the arena. */
static lethe_status
arena_copy(lethe_arena *arena, lbytes in, lbytes *out)
{
	uint8_t *copy = lethe_arena_alloc(arena, in.len + 1);

	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	if (in.len != 0)
		memcpy(copy, in.data, in.len);
	*out = lbytes_make(copy, in.len);
	return LETHE_OK;
}

/* Replace name's component views with arena copies. */
static lethe_status
copy_components(lethe_arena *arena, krb_principal_name *name)
{
	lbytes *comps = lethe_arena_calloc(arena, name->n_components + 1, sizeof(*comps));

	ENSURE(comps != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < name->n_components; i++)
		GUARD(arena_copy(arena, name->components[i], &comps[i]));
	name->components = comps;
	return LETHE_OK;
}

/*
 * Decode the KRB5PrincipalName of an id-pkinit-san otherName value into
 * name/realm (arena memory). LETHE_ERR_NOT_FOUND when gn is not one.
 */
static lethe_status
pkinit_san_name(const GENERAL_NAME *gn, lethe_arena *arena, krb_principal_name *name,
    lbytes *realm)
{
	ASN1_OBJECT *want;
	unsigned char *der = NULL;
	der_reader r, seq, inner;
	int n, same;
	lethe_status rc = LETHE_OK;

	ENSURE(gn->type == GEN_OTHERNAME && gn->d.otherName != NULL, LETHE_ERR_NOT_FOUND);
	want = OBJ_txt2obj(OID_PKINIT_SAN, 1);
	ENSURE(want != NULL, LETHE_ERR_NOMEM);
	same = OBJ_cmp(gn->d.otherName->type_id, want) == 0;
	ASN1_OBJECT_free(want);
	ENSURE(same, LETHE_ERR_NOT_FOUND);
	ENSURE(gn->d.otherName->value != NULL, LETHE_ERR_FORMAT);
	n = i2d_ASN1_TYPE(gn->d.otherName->value, &der);
	ENSURE(n > 0, LETHE_ERR_FORMAT);
	der_reader_init(&r, der, (size_t)n);
	GUARD_GOTO(rc, der_read(&r, DER_SEQUENCE, &seq));
	GUARD_GOTO(rc, der_finish(&r));
	GUARD_GOTO(rc, der_ctx_gstring(&seq, 0, realm));
	GUARD_GOTO(rc, der_ctx(&seq, 1, &inner));
	GUARD_GOTO(rc, krb_read_principal_name(&inner, arena, name));
	GUARD_GOTO(rc, der_finish(&inner));
	GUARD_GOTO(rc, der_finish(&seq));
	/* realm and components point into der: copy them before it goes. */
	GUARD_GOTO(rc, arena_copy(arena, *realm, realm));
	GUARD_GOTO(rc, copy_components(arena, name));
cleanup:
	OPENSSL_free(der);
	if (rc != LETHE_OK && rc != LETHE_ERR_NOMEM)
		rc = LETHE_ERR_FORMAT;
	return rc;
}

/* The dNSName of gn as a view, or false. */
static bool
dns_name(const GENERAL_NAME *gn, lbytes *out)
{
	if (gn->type != GEN_DNS || gn->d.dNSName == NULL)
		return false;
	*out = lbytes_make(ASN1_STRING_get0_data(gn->d.dNSName),
	    (size_t)ASN1_STRING_length(gn->d.dNSName));
	return true;
}

/* True when the blank-separated list holds word exactly. */
static bool
list_has(const char *list, lbytes word)
{
	const char *p = list;

	if (list == NULL || word.len == 0)
		return false;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == word.len && memcmp(p, word.data, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* ASCII case-insensitive equality; no wildcard, no NUL inside. */
static bool
host_eq(lbytes a, lbytes b)
{
	if (a.len != b.len || a.len == 0 || memchr(a.data, '\0', a.len) != NULL)
		return false;
	if (memchr(a.data, '*', a.len) != NULL)
		return false;
	return strncasecmp((const char *)a.data, (const char *)b.data, a.len) == 0;
}

/* Does one SAN name the principal? */
static enum reg_name_match
san_matches(const GENERAL_NAME *gn, const krb_principal_name *want, lbytes want_realm,
    const char *dns_services, lethe_arena *arena)
{
	krb_principal_name name;
	lbytes realm, host;

	if (pkinit_san_name(gn, arena, &name, &realm) == LETHE_OK) {
		if (krb_principal_realm_eq(&name, realm, want, want_realm))
			return REG_NAME_PKINIT_SAN;
		return REG_NAME_NONE;
	}
	if (dns_name(gn, &host) && want->n_components == 2 &&
	    list_has(dns_services, want->components[0]) &&
	    host_eq(host, want->components[1]))
		return REG_NAME_DNS_SAN;
	return REG_NAME_NONE;
}

lethe_status
reg_cert_names_principal(X509 *cert, const char *principal, const char *dns_services,
    enum reg_name_match *out)
{
	GENERAL_NAMES *sans = NULL;
	lethe_arena arena;
	krb_principal_name want;
	lbytes realm = { NULL, 0 };
	lethe_status rc;

	*out = REG_NAME_NONE;
	ENSURE(cert != NULL && principal != NULL, LETHE_ERR_INVALID_ARG);
	lethe_arena_init(&arena, NAME_ARENA_BUDGET);
	ENSURE_GOTO(rc, strlen(principal) <= REG_MAX_NAME_LEN, LETHE_ERR_FORMAT);
	GUARD_GOTO(rc, krb_principal_parse(&arena, principal, strlen(principal), realm,
	    &want, &realm));
	ENSURE_GOTO(rc, realm.len != 0, LETHE_ERR_FORMAT);
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; i < sk_GENERAL_NAME_num(sans) && *out == REG_NAME_NONE; i++)
		*out = san_matches(sk_GENERAL_NAME_value(sans, i), &want, realm,
		    dns_services, &arena);
cleanup:
	ERR_clear_error();
	GENERAL_NAMES_free(sans);
	lethe_arena_free(&arena);
	return rc;
}

/* ------------------------------------------------------------ texts */

lethe_status
reg_cert_subject_text(X509 *cert, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *copy;
	long n;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0, LETHE_ERR_CRYPTO);
	n = BIO_get_mem_data(bio, &data);
	ENSURE_GOTO(rc, n >= 0, LETHE_ERR_CRYPTO);
	copy = malloc((size_t)n + 1);
	ENSURE_GOTO(rc, copy != NULL, LETHE_ERR_NOMEM);
	if (n > 0)
		memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*out = copy;
cleanup:
	BIO_free(bio);
	return rc;
}

void
reg_strings_free(char **s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

/* "prefix" + value[0..len) as a new string; NULL for NUL bytes, length or memory. */
static char *
prefixed(const char *prefix, const void *value, size_t len)
{
	size_t plen = strlen(prefix);
	char *s;

	if (len > REG_MAX_NAME_LEN || memchr(value, '\0', len) != NULL)
		return NULL;
	s = malloc(plen + len + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, prefix, plen);
	memcpy(s + plen, value, len);
	s[plen + len] = '\0';
	return s;
}

/* "IP:" text of an iPAddress (4 or 16 bytes), else NULL. */
static char *
ip_text(const ASN1_OCTET_STRING *ip)
{
	const unsigned char *b = ASN1_STRING_get0_data(ip);
	char buf[64];
	size_t off;

	if (ASN1_STRING_length(ip) == 4) {
		snprintf(buf, sizeof(buf), "IP:%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
		return strdup(buf);
	}
	if (ASN1_STRING_length(ip) != 16)
		return NULL;
	off = (size_t)snprintf(buf, sizeof(buf), "IP:");
	for (int i = 0; i < 16; i += 2)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%x",
		    i == 0 ? "" : ":", (unsigned)(b[i] << 8 | b[i + 1]));
	return strdup(buf);
}

/* The text of one SAN, or NULL when its kind is skipped or malformed. */
static char *
san_text(const GENERAL_NAME *gn)
{
	lethe_arena arena;
	krb_principal_name name;
	lbytes realm;
	char buf[REG_MAX_NAME_LEN + 1];
	size_t len;
	char *s = NULL;
	const ASN1_STRING *str = NULL;
	const char *prefix = NULL;

	switch (gn->type) {
	case GEN_DNS:
		str = gn->d.dNSName, prefix = "DNS:";
		break;
	case GEN_EMAIL:
		str = gn->d.rfc822Name, prefix = "email:";
		break;
	case GEN_URI:
		str = gn->d.uniformResourceIdentifier, prefix = "URI:";
		break;
	case GEN_IPADD:
		return ip_text(gn->d.iPAddress);
	case GEN_OTHERNAME:
		lethe_arena_init(&arena, NAME_ARENA_BUDGET);
		if (pkinit_san_name(gn, &arena, &name, &realm) == LETHE_OK &&
		    krb_principal_unparse(&name, realm, buf, sizeof(buf), &len) == LETHE_OK)
			s = prefixed("principal:", buf, len);
		lethe_arena_free(&arena);
		return s;
	default:
		return NULL;
	}
	return prefixed(prefix, ASN1_STRING_get0_data(str), (size_t)ASN1_STRING_length(str));
}

lethe_status
reg_cert_san_texts(X509 *cert, char ***out, size_t *n)
{
	GENERAL_NAMES *sans;
	char **list = NULL;
	size_t count = 0;
	int total;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	*n = 0;
	ENSURE(cert != NULL, LETHE_ERR_INVALID_ARG);
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	total = sk_GENERAL_NAME_num(sans);
	if (total <= 0)
		goto cleanup;
	list = calloc((size_t)total, sizeof(*list));
	ENSURE_GOTO(rc, list != NULL, LETHE_ERR_NOMEM);
	for (int i = 0; i < total; i++) {
		char *s = san_text(sk_GENERAL_NAME_value(sans, i));

		if (s != NULL)
			list[count++] = s;
	}
	if (count == 0) {
		free(list);
		list = NULL;
	}
	*out = list;
	*n = count;
	list = NULL;
cleanup:
	GENERAL_NAMES_free(sans);
	reg_strings_free(list, count);
	return rc;
}
