/*
 * The registrar's checks (docs/registration.md, "check order"): every
 * check runs before anything is stored; the keys, the nonce and the
 * agent record then go in one store transaction; every answer, refusal
 * or not, is a RegistrationReply signed with the KDC's credential.
 *
 * The realm policy, registration policy, rules, trust anchors and the
 * KDC credential are cached and read again when the store's generation
 * changes (a registration changes it too). The parsed credential and
 * anchors are kept across such a reload when the store's bytes for them
 * are unchanged (same SHA-256), so a registration does not cost the next
 * one a PEM parse of the KDC key and of every anchor.
 */
#include "registrar/service.h"
#include "base/wipe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "registrar/registrar.h"

/* What the checks read from the store, valid for one generation. */
typedef struct svc_cache {
	store_realm_policy realm;
	store_reg_policy policy;
	store_reg_rules *rules;
	X509_STORE *anchors;            /* NULL: no trust anchor */
	const char **pins;              /* views into rules (kind spki) */
	size_t npins;
	reg_identity *kdc;
	uint8_t anchors_sha256[SHA256_DIGEST_LENGTH];   /* of the stored anchors */
	uint8_t kdc_sha256[SHA256_DIGEST_LENGTH];       /* of the stored credential */
	bool anchors_reused;            /* anchors and kdc are borrowed from the */
	bool kdc_reused;                /* previous cache until the load succeeds */
} svc_cache;

/* A KeyRequest this service signed: what an answering registration must name. */
typedef struct sent_keyreq {
	char principal[STORE_MAX_NAME_LEN + 1];
	uint8_t nonce[REG_NONCE_LEN];
	int64_t expires;                /* 0: free */
} sent_keyreq;

#define SENT_KEYREQS 64u                /* remembered, oldest replaced */
#define SENT_KEYREQ_SECONDS 600         /* an answer counts this long */

struct reg_service {
	store *st;
	uint64_t generation;
	svc_cache cache;
	sent_keyreq sent[SENT_KEYREQS];
	size_t sent_next;
	unsigned max_principals_per_key;
};

/* One request on its way through the checks. */
typedef struct reg_check {
	reg_service *svc;
	const char *peer;               /* "addr:port" of the TCP peer, or NULL */
	int64_t now;
	const uint8_t *der;
	size_t der_len;
	bool decoded;                   /* req holds the request, its signer verified */
	bool already;                   /* the same keys were stored before */
	reg_request req;
	reg_verified v;
	reg_sealed_keys sealed;
	int result;
	char text[REG_MAX_TEXT_LEN + 1];
	const char *key_request;        /* answersKeyRequest: NULL, "answered", "unknown" */
} reg_check;

/* ------------------------------------------------------------ the cache */

static void
cache_clear(svc_cache *c)
{
	store_reg_rules_free(c->rules);
	X509_STORE_free(c->anchors);
	free(c->pins);
	reg_identity_free(c->kdc);
	memset(c, 0, sizeof(*c));
}

/* SHA-256 over n (length, bytes) pairs, so that no two lists hash alike by accident. */
static lethe_status
digest_parts(const lbytes *parts, size_t n, uint8_t out[SHA256_DIGEST_LENGTH])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	lethe_status rc = LETHE_ERR_CRYPTO;
	uint8_t len[8];

	ENSURE(ctx != NULL, LETHE_ERR_NOMEM);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		for (size_t b = 0; b < sizeof(len); b++)
			len[b] = (uint8_t)((uint64_t)parts[i].len >> (56 - 8 * b));
		if (EVP_DigestUpdate(ctx, len, sizeof(len)) != 1 ||
		    (parts[i].len != 0 && EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1))
			goto cleanup;
	}
	if (EVP_DigestFinal_ex(ctx, out, NULL) == 1)
		rc = LETHE_OK;
cleanup:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static lethe_status
anchors_digest(const store_anchors *list, uint8_t out[SHA256_DIGEST_LENGTH])
{
	lbytes *parts;
	lethe_status rc;

	ENSURE(list->count <= SIZE_MAX / 2 / sizeof(*parts) - 1, LETHE_ERR_TOO_BIG);
	parts = calloc(2 * list->count + 1, sizeof(*parts));
	ENSURE(parts != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < list->count; i++) {
		parts[2 * i] = lbytes_make(list->entries[i].name, strlen(list->entries[i].name));
		parts[2 * i + 1] = lbytes_make(list->entries[i].cert_pem,
		    list->entries[i].cert_pem_len);
	}
	rc = digest_parts(parts, 2 * list->count, out);
	free(parts);
	return rc;
}

/* The anchors: prev's parsed store when the stored ones are unchanged. */
static lethe_status
cache_load_anchors(store *st, const svc_cache *prev, svc_cache *c)
{
	store_anchors *list = NULL;
	lethe_status rc;

	GUARD(store_anchor_list(st, &list));
	GUARD_GOTO(rc, anchors_digest(list, c->anchors_sha256));
	if (prev != NULL && prev->kdc != NULL && CRYPTO_memcmp(prev->anchors_sha256,
	    c->anchors_sha256, sizeof(c->anchors_sha256)) == 0) {
		c->anchors = prev->anchors;
		c->anchors_reused = true;
		goto cleanup;
	}
	for (size_t i = 0; i < list->count; i++) {
		rc = reg_trust_add_pem(&c->anchors, list->entries[i].cert_pem,
		    list->entries[i].cert_pem_len);
		if (rc != LETHE_OK)
			log_warnx("registrar: trust anchor %s: %s (skipped)", list->entries[i].name,
			    lethe_status_str(rc));
	}
	rc = LETHE_OK;
cleanup:
	store_anchors_free(list);
	return rc;
}

static lethe_status
cache_load_rules(store *st, svc_cache *c)
{
	GUARD(store_reg_rule_list(st, &c->rules));
	if (c->rules->count == 0)
		return LETHE_OK;
	c->pins = calloc(c->rules->count, sizeof(*c->pins));
	ENSURE(c->pins != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < c->rules->count; i++) {
		if (c->rules->entries[i].kind == STORE_ID_SPKI)
			c->pins[c->npins++] = c->rules->entries[i].identity;
	}
	return LETHE_OK;
}

/* The KDC credential: prev's parsed identity when the stored one is unchanged. */
static lethe_status
cache_load_kdc(store *st, const svc_cache *prev, svc_cache *c)
{
	store_credential *cred = NULL;
	lbytes parts[2];
	lethe_status rc;

	GUARD(store_credential_get(st, STORE_CRED_KDC, &cred));
	parts[0] = lbytes_make(cred->cert_pem, cred->cert_pem_len);
	parts[1] = lbytes_make(cred->key_pem, cred->key_pem_len);
	GUARD_GOTO(rc, digest_parts(parts, 2, c->kdc_sha256));
	if (prev != NULL && prev->kdc != NULL && CRYPTO_memcmp(prev->kdc_sha256,
	    c->kdc_sha256, sizeof(c->kdc_sha256)) == 0) {
		c->kdc = prev->kdc;
		c->kdc_reused = true;
		goto cleanup;
	}
	rc = reg_identity_from_pem(cred->cert_pem, cred->cert_pem_len, (const char *)cred->key_pem,
	    cred->key_pem_len, &c->kdc);
cleanup:
	store_credential_free(cred);
	return rc;
}

/* Drop the references borrowed from the previous cache (not freed here). */
static void
cache_unborrow(svc_cache *c)
{
	if (c->anchors_reused)
		c->anchors = NULL;
	if (c->kdc_reused)
		c->kdc = NULL;
	c->anchors_reused = false;
	c->kdc_reused = false;
}

/*
 * Read everything for a new cache into *out. What it reuses from prev
 * (may be NULL) moves to *out on success, and stays in prev on failure.
 */
static lethe_status
cache_load(store *st, svc_cache *prev, svc_cache *out)
{
	svc_cache c;
	lethe_status rc;

	memset(&c, 0, sizeof(c));
	GUARD_GOTO(rc, store_realm_policy_get(st, &c.realm));
	GUARD_GOTO(rc, store_reg_policy_get(st, &c.policy));
	GUARD_GOTO(rc, cache_load_rules(st, &c));
	GUARD_GOTO(rc, cache_load_anchors(st, prev, &c));
	GUARD_GOTO(rc, cache_load_kdc(st, prev, &c));
	if (c.anchors_reused)
		prev->anchors = NULL;
	if (c.kdc_reused)
		prev->kdc = NULL;
	c.anchors_reused = false;
	c.kdc_reused = false;
	*out = c;
	memset(&c, 0, sizeof(c));
cleanup:
	cache_unborrow(&c);
	cache_clear(&c);
	return rc;
}

/* Reload the cache if the store changed; on failure keep the old one. */
static lethe_status
svc_refresh(reg_service *svc)
{
	svc_cache fresh;
	uint64_t gen;
	lethe_status rc;

	rc = store_generation(svc->st, &gen);
	if (rc != LETHE_OK && svc->cache.kdc != NULL) {
		/* The checks that need the store refuse with TRY_LATER, signed. */
		log_warnx("registrar: the store is unavailable (%s); registrations are "
		    "refused with TRY_LATER until it is back", store_errmsg(svc->st));
		return LETHE_OK;
	}
	GUARD(rc);
	if (gen == svc->generation && svc->cache.kdc != NULL)
		return LETHE_OK;
	rc = cache_load(svc->st, &svc->cache, &fresh);
	if (rc != LETHE_OK) {
		log_warnx("registrar: reading policy and credentials: %s (%s)",
		    lethe_status_str(rc), store_errmsg(svc->st));
		return svc->cache.kdc != NULL ? LETHE_OK : rc;
	}
	cache_clear(&svc->cache);
	svc->cache = fresh;
	svc->generation = gen;
	return LETHE_OK;
}

lethe_status
reg_service_new(store *st, reg_service **out)
{
	reg_service *svc;
	lethe_status rc;

	*out = NULL;
	if (st == NULL)
		return LETHE_ERR_INVALID_ARG;
	svc = calloc(1, sizeof(*svc));
	if (svc == NULL) {
		store_close(st);
		return LETHE_ERR_NOMEM;
	}
	svc->st = st;
	svc->max_principals_per_key = REG_DEFAULT_MAX_PRINCIPALS_PER_KEY;
	if ((rc = svc_refresh(svc)) != LETHE_OK) {
		reg_service_free(svc);
		return rc;
	}
	*out = svc;
	return LETHE_OK;
}

void
reg_service_set_max_principals_per_key(reg_service *svc, unsigned n)
{
	svc->max_principals_per_key = n > 0 ? n : REG_DEFAULT_MAX_PRINCIPALS_PER_KEY;
}

void
reg_service_free(reg_service *svc)
{
	if (svc == NULL)
		return;
	cache_clear(&svc->cache);
	store_close(svc->st);
	free(svc);
}

/* ------------------------------------------------------------ helpers */

static int fail(reg_check *chk, int result, const char *fmt, ...) LETHE_PRINTF(3, 4);

/* Record a refusal (the first one wins) and return its code. */
static int
fail(reg_check *chk, int result, const char *fmt, ...)
{
	va_list ap;

	chk->result = result;
	va_start(ap, fmt);
	vsnprintf(chk->text, sizeof(chk->text), fmt, ap);
	va_end(ap);
	return result;
}

/*
 * Refuse after a failed store call: TRY_LATER when the store is
 * unreachable (the agent retries), else INTERNAL.
 */
static int
fail_store(reg_check *chk)
{
	if (store_error_kind(chk->svc->st) == STORE_E_UNAVAILABLE)
		return fail(chk, REG_TRY_LATER, "the KDC's store is unavailable for now; "
		    "try again later");
	return fail(chk, REG_INTERNAL, "the KDC's store failed; try again later");
}

static int64_t
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The realm part of a canonical name (after the last unescaped '@'). */
static const char *
realm_of(const char *principal)
{
	const char *at = NULL;

	for (const char *p = principal; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '@')
			at = p;
	}
	return at != NULL ? at + 1 : "";
}

static bool
enctype_allowed(const store_reg_policy *p, int32_t enctype)
{
	for (size_t i = 0; i < p->ntk_enctypes; i++) {
		if (p->tk_enctypes[i] == enctype)
			return true;
	}
	return false;
}

static void
enctype_list_text(const store_reg_policy *p, char *out, size_t cap)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->ntk_enctypes && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%d", i ? " " : "",
		    (int)p->tk_enctypes[i]);
}

/* ------------------------------------------------------------ the checks */

/* size, CMS structure, signature, chain or pin; then the content's DER. */
static int
check_signed(reg_check *chk)
{
	const svc_cache *c = &chk->svc->cache;
	reg_trust trust = { c->anchors, c->pins, c->npins };
	enum reg_result verdict;
	lethe_status rc;

	if (chk->der_len > REG_MAX_MESSAGE)
		return fail(chk, REG_TOO_BIG, "request of %zu bytes is over the limit of %u bytes",
		    chk->der_len, REG_MAX_MESSAGE);
	rc = reg_verify(chk->der, chk->der_len, REG_CT_REQUEST, &trust, chk->now, &chk->v,
	    &verdict);
	if (rc != LETHE_OK)
		return fail(chk, REG_INTERNAL, "the KDC could not check the signature; try again");
	switch (verdict) {
	case REG_OK:
		break;
	case REG_TOO_BIG:
		return fail(chk, REG_TOO_BIG, "request over the limit of %u bytes",
		    REG_MAX_MESSAGE);
	case REG_BAD_SIGNATURE:
		return fail(chk, REG_BAD_SIGNATURE,
		    "the signature does not verify with the certificate sent");
	case REG_CERT_EXPIRED:
		return fail(chk, REG_CERT_EXPIRED,
		    "the signing certificate or its chain is expired or not yet valid; renew it");
	case REG_UNTRUSTED:
		return fail(chk, REG_UNTRUSTED,
		    "the certificate does not chain to a trust anchor of realm %s and its key is "
		    "not pinned (lethe-admin trust add, or allow --spki)", c->realm.realm);
	default:
		return fail(chk, REG_MALFORMED,
		    "not a Lethe registration request (DER CMS SignedData of a "
		    "RegistrationRequest)");
	}
	rc = reg_request_decode(chk->v.content, chk->v.content_len, &chk->req);
	if (rc != LETHE_OK)
		return fail(chk, REG_MALFORMED, "the registration request does not decode: %s",
		    lethe_status_str(rc));
	chk->decoded = true;
	return REG_OK;
}

/* The SAN types a rule may name, as reg_cert_san_texts writes them. */
static const char *const san_types[] = { "DNS", "principal", "email", "URI", "IP" };

/* True when s is a bare host name: letters, digits, '-' and '.' only. */
static bool
host_syntax(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return false;
	}
	return true;
}

/*
 * The type of a rule's SAN identity (an entry of san_types, "pkinit" read
 * as "principal", any case) and its value; a bare host name, as older
 * rules were written, is a DNS name. NULL when the identity names no
 * known type (it then matches nothing).
 */
static const char *
san_rule_type(const char *identity, const char **value)
{
	const char *colon = strchr(identity, ':');
	size_t n = colon != NULL ? (size_t)(colon - identity) : 0;

	*value = colon != NULL ? colon + 1 : identity;
	if (colon == NULL)
		return host_syntax(identity) ? "DNS" : NULL;
	if (n == 6 && strncasecmp(identity, "pkinit", 6) == 0)
		return "principal";
	for (size_t i = 0; i < sizeof(san_types) / sizeof(san_types[0]); i++) {
		if (strlen(san_types[i]) == n && strncasecmp(identity, san_types[i], n) == 0)
			return san_types[i];
	}
	return NULL;
}

/*
 * A rule's SAN identity ("DNS:www.example.com", "principal:a/b@R", ...)
 * matches a SAN text of the same type and value; DNS names ignore ASCII
 * case. A value of another SAN type never matches.
 */
static bool
san_matches(const char *identity, const char *san)
{
	const char *value, *type = san_rule_type(identity, &value);
	size_t tlen = type != NULL ? strlen(type) : 0;

	if (type == NULL || strncmp(san, type, tlen) != 0 || san[tlen] != ':')
		return false;
	if (strcmp(type, "DNS") == 0)
		return strcasecmp(value, san + tlen + 1) == 0;
	return strcmp(value, san + tlen + 1) == 0;
}

bool
reg_san_identity_typed(const char *identity)
{
	const char *value;

	return identity != NULL && strchr(identity, ':') != NULL &&
	    san_rule_type(identity, &value) != NULL && *value != '\0';
}

/* A callback a rule must name: canonical host (store_callback_parse) and port. */
typedef struct callback_want {
	char host[STORE_CALLBACK_HOST_MAX];
	uint16_t port;
} callback_want;

/*
 * Does an explicit rule (of kind only, 0: any) let the signer register for
 * the principal, and, when cb is not NULL, name that callback host?
 */
static lethe_status
rule_allows(reg_check *chk, enum store_identity_kind only, const callback_want *cb,
    bool *allowed)
{
	const store_reg_rules *rules = chk->svc->cache.rules;
	char *subject = NULL, **sans = NULL;
	size_t nsans = 0;
	lethe_status rc;

	*allowed = false;
	GUARD_GOTO(rc, reg_cert_subject_text(chk->v.signer, &subject));
	GUARD_GOTO(rc, reg_cert_san_texts(chk->v.signer, &sans, &nsans));
	for (size_t i = 0; i < rules->count && !*allowed; i++) {
		const store_reg_rule *r = &rules->entries[i];
		bool id_ok = false;
		if ((only != 0 && r->kind != only) ||
		    !store_pattern_match(r->pattern, chk->req.principal) ||
		    (cb != NULL && !store_callbacks_permit(r->callbacks, cb->host, cb->port)))
			continue;
		if (r->kind == STORE_ID_SPKI)
			id_ok = strcmp(r->identity, chk->v.signer_spki) == 0;
		else if (r->kind == STORE_ID_SUBJECT)
			id_ok = strcmp(r->identity, subject) == 0;
		for (size_t j = 0; r->kind == STORE_ID_SAN && j < nsans && !id_ok; j++)
			id_ok = san_matches(r->identity, sans[j]);
		*allowed = id_ok;
	}
cleanup:
	free(subject);
	reg_strings_free(sans, nsans);
	return rc;
}

/*
 * A key accepted by its pin must be pinned for this principal; otherwise
 * its chain must verify like any other certificate.
 */
static int
check_pin(reg_check *chk)
{
	const svc_cache *c = &chk->svc->cache;
	reg_trust chain_only = { c->anchors, NULL, 0 };
	reg_verified again;
	enum reg_result verdict;
	bool pinned_here;

	if (!chk->v.pinned)
		return REG_OK;
	if (rule_allows(chk, STORE_ID_SPKI, NULL, &pinned_here) != LETHE_OK)
		return fail(chk, REG_INTERNAL, "the KDC could not read the signer's certificate");
	if (pinned_here)
		return REG_OK;
	memset(&again, 0, sizeof(again));
	if (reg_verify(chk->der, chk->der_len, REG_CT_REQUEST, &chain_only, chk->now, &again,
	    &verdict) != LETHE_OK)
		return fail(chk, REG_INTERNAL, "the KDC could not check the signature; try again");
	reg_verified_clear(&again);
	if (verdict == REG_CERT_EXPIRED)
		return fail(chk, REG_CERT_EXPIRED,
		    "the signing certificate or its chain is expired or not yet valid; renew it");
	if (verdict != REG_OK)
		return fail(chk, REG_UNTRUSTED, "the signing key is pinned for other principals "
		    "than %s and its certificate does not chain to a trust anchor",
		    chk->req.principal);
	chk->v.pinned = false;
	return REG_OK;
}

/*
 * Split a canonical name into its first component, its second (when
 * there are exactly two) and its realm: *svc and *host point into buf
 * (cap bytes), escapes left as they are. False when it has not exactly
 * two components.
 */
static bool
split_two(const char *principal, char *buf, size_t cap, const char **svc, const char **host)
{
	size_t len = strlen(principal), slash = 0, at = 0, nslash = 0;

	if (len >= cap)
		return false;
	memcpy(buf, principal, len + 1);
	for (size_t i = 0; i < len && at == 0; i++) {
		if (buf[i] == '\\' && i + 1 < len)
			i++;
		else if (buf[i] == '/')
			slash = i, nslash++;
		else if (buf[i] == '@')
			at = i;
	}
	if (nslash != 1 || at == 0)
		return false;
	buf[slash] = '\0';
	buf[at] = '\0';
	*svc = buf;
	*host = buf + slash + 1;
	return true;
}

/*
 * A host-based service (svc/host, svc in the policy's DNS services) must
 * name its host canonically: lower case, no trailing dot, no escape. A
 * DNS SAN ignores case, so otherwise one certificate would make a new
 * principal of every spelling (host/WWW.x, host/www.x., ...).
 */
static int
check_host_name(reg_check *chk)
{
	const store_reg_policy *pol = &chk->svc->cache.policy;
	char buf[REG_MAX_NAME_LEN + 1];
	const char *svc, *host;
	size_t n;

	if (!split_two(chk->req.principal, buf, sizeof(buf), &svc, &host) ||
	    !store_reg_policy_dns_service(pol, svc))
		return REG_OK;
	n = strlen(host);
	for (size_t i = 0; i < n; i++) {
		if ((host[i] >= 'A' && host[i] <= 'Z') || host[i] == '\\')
			n = 0;
	}
	if (n == 0 || host[n - 1] == '.')
		return fail(chk, REG_WRONG_PRINCIPAL, "%.200s: write the host name of a host-based "
		    "service in lower case without a trailing dot", chk->req.principal);
	return REG_OK;
}

/* The certificate names the principal, and policy lets it register. */
static int
check_identity(reg_check *chk)
{
	const store_reg_policy *pol = &chk->svc->cache.policy;
	enum reg_name_match match = REG_NAME_NONE;
	bool ruled;

	if (check_pin(chk) != REG_OK || check_host_name(chk) != REG_OK)
		return chk->result;
	if (reg_cert_names_principal(chk->v.signer, chk->req.principal, pol->dns_services,
	    &match) != LETHE_OK)
		return fail(chk, REG_MALFORMED, "principal %s cannot be parsed",
		    chk->req.principal);
	if (rule_allows(chk, 0, NULL, &ruled) != LETHE_OK)
		return fail(chk, REG_INTERNAL, "the KDC could not read the signer's certificate");
	if (ruled)
		return REG_OK;          /* a pinned key always gets here: check_pin */
	if (match == REG_NAME_NONE)
		return fail(chk, REG_WRONG_PRINCIPAL,
		    "the certificate does not name %s (no id-pkinit-san, nor a DNS SAN for a "
		    "service in \"%s\"), and no rule allows it (lethe-admin allow)",
		    chk->req.principal, pol->dns_services);
	if (!pol->auto_enrol)
		return fail(chk, REG_NOT_ALLOWED,
		    "auto-enrolment is off in realm %s and no rule lets this certificate register "
		    "for %s (lethe-admin allow)", chk->svc->cache.realm.realm, chk->req.principal);
	return REG_OK;
}

static int
check_realm_and_time(reg_check *chk)
{
	const store_realm_policy *realm = &chk->svc->cache.realm;
	int64_t delta = chk->req.timestamp - chk->now;

	if (strcmp(realm_of(chk->req.principal), realm->realm) != 0)
		return fail(chk, REG_WRONG_REALM, "%s is not of realm %s, which this KDC serves",
		    chk->req.principal, realm->realm);
	if (delta > realm->clock_skew || -delta > realm->clock_skew)
		return fail(chk, REG_SKEW,
		    "the request's time is %lld s %s the KDC's clock (allowed %lld s)",
		    (long long)(delta < 0 ? -delta : delta), delta < 0 ? "behind" : "ahead of",
		    (long long)realm->clock_skew);
	return REG_OK;
}

static int
check_nonce_and_principal(reg_check *chk)
{
	store_principal *p = NULL;
	bool seen = false;
	lethe_status rc;
	int result = REG_OK;

	if (store_nonce_seen(chk->svc->st, chk->req.nonce, chk->now, &seen) != LETHE_OK)
		return fail_store(chk);
	if (seen)
		return fail(chk, REG_REPLAY,
		    "this nonce was seen before: send a new request with a fresh nonce");
	rc = store_principal_get(chk->svc->st, chk->req.principal, &p);
	if (rc == LETHE_ERR_NOT_FOUND)
		return REG_OK;
	if (rc != LETHE_OK)
		return fail_store(chk);
	/*
	 * A kvno in use is no refusal yet: the same keys again are a repeat
	 * (an agent registering with each KDC of a shared store), which the
	 * store tells apart, with the keys unsealed, in its transaction.
	 */
	if (p->kind == STORE_KIND_USER || p->kind == STORE_KIND_KRBTGT)
		result = fail(chk, REG_NOT_ALLOWED, "%s is a %s principal: it takes no temporary "
		    "keys", chk->req.principal, store_principal_kind_name(p->kind));
	store_principal_free(p);
	return result;
}

/*
 * One signing key (SPKI) registers for at most max_principals_per_key
 * principals (agents rows): a certificate whose SANs allow many names
 * cannot fill the store. Registering again for a principal it already
 * holds does not count.
 */
static int
check_principal_cap(reg_check *chk)
{
	unsigned cap = chk->svc->max_principals_per_key;
	store_agents *all = NULL;
	store_agent *mine = NULL;
	size_t held = 0;
	bool here = false;
	lethe_status rc;

	/* The common case, a key registering again for its principal: no list. */
	rc = store_agent_get(chk->svc->st, chk->req.principal, &mine);
	if (rc == LETHE_OK)
		here = strcmp(mine->spki_sha256, chk->v.signer_spki) == 0;
	store_agent_free(mine);
	if (rc != LETHE_OK && rc != LETHE_ERR_NOT_FOUND)
		return fail_store(chk);
	if (here)
		return REG_OK;
	if (store_agent_list(chk->svc->st, &all) != LETHE_OK)
		return fail_store(chk);
	for (size_t i = 0; i < all->count; i++) {
		if (strcmp(all->entries[i].spki_sha256, chk->v.signer_spki) != 0)
			continue;
		held++;
	}
	store_agents_free(all);
	if (held >= cap)
		return fail(chk, REG_POLICY, "this certificate's key already registers for %zu "
		    "principals, the most one key may (registrar max_principals_per_key = %u)",
		    held, cap);
	return REG_OK;
}

/* The address of a (numeric) endpoint, IPv4-mapped IPv6 read as IPv4. */
static bool
endpoint_host(const lethe_sockaddr *a, uint8_t out[16], size_t *len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->ss.ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)&a->ss)->sin_addr, 4);
		*len = 4;
		return true;
	}
	if (a->ss.ss_family != AF_INET6)
		return false;
	memcpy(out, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
	*len = 16;
	if (memcmp(out, mapped, sizeof(mapped)) == 0) {
		memmove(out, out + 12, 4);
		*len = 4;
	}
	return true;
}

/*
 * The KDC connects to a callback when anyone asks for a ticket of a
 * service without a key in use, so a callback may only name the host the
 * registration came from (its TCP peer; any port), or a host an allow rule
 * covering this signer and principal names (lethe-admin allow --callback):
 * otherwise a registrant could make the KDC connect anywhere (SSRF).
 */
static int
check_callback(reg_check *chk)
{
	lethe_sockaddr cb, from;
	callback_want want;
	uint8_t a[16], b[16];
	size_t alen = 0, blen = 0;
	bool ruled = false;

	if (!chk->req.has_callback)
		return REG_OK;
	if (reg_parse_endpoint(chk->req.callback, &cb) != LETHE_OK ||
	    !endpoint_host(&cb, a, &alen) ||
	    store_callback_parse(chk->req.callback, want.host, &want.port) != LETHE_OK)
		return fail(chk, REG_POLICY, "callback \"%.100s\" is not a numeric host:port",
		    chk->req.callback);
	if (chk->peer != NULL && reg_parse_endpoint(chk->peer, &from) == LETHE_OK &&
	    endpoint_host(&from, b, &blen) && alen == blen && memcmp(a, b, alen) == 0)
		return REG_OK;
	if (rule_allows(chk, 0, &want, &ruled) != LETHE_OK)
		return fail(chk, REG_INTERNAL, "the KDC could not read the signer's certificate");
	if (ruled)
		return REG_OK;
	return fail(chk, REG_POLICY, "callback %.60s is not on the address this request "
	    "came from (%.60s): the KDC calls back only the registering host, or a host an "
	    "allow rule names (lethe-admin allow --callback)",
	    chk->req.callback, chk->peer != NULL ? chk->peer : "unknown");
}

static int
check_window(reg_check *chk, const reg_key_window *w)
{
	const svc_cache *c = &chk->svc->cache;
	int64_t accept_max = c->realm.max_life + c->realm.clock_skew;
	char list[64];

	if (!enctype_allowed(&c->policy, w->enctype)) {
		enctype_list_text(&c->policy, list, sizeof(list));
		return fail(chk, REG_POLICY,
		    "enctype %d is not allowed for temporary keys (allowed: %s)", (int)w->enctype,
		    list);
	}
	if (w->use_until <= chk->now)
		return fail(chk, REG_POLICY, "kvno %u: use_until is not in the future",
		    (unsigned)w->kvno);
	if (w->use_until - chk->now > c->policy.max_use_window)
		return fail(chk, REG_POLICY, "kvno %u: use window of %lld s is over the maximum "
		    "of %lld s", (unsigned)w->kvno, (long long)(w->use_until - chk->now),
		    (long long)c->policy.max_use_window);
	if (w->accept_until < w->use_until)
		return fail(chk, REG_POLICY, "kvno %u: accept_until is before use_until",
		    (unsigned)w->kvno);
	if (w->accept_until - w->use_until > accept_max)
		return fail(chk, REG_POLICY, "kvno %u: accept_until is %lld s after use_until, "
		    "over the realm's maximum ticket life plus skew (%lld s)", (unsigned)w->kvno,
		    (long long)(w->accept_until - w->use_until), (long long)accept_max);
	return REG_OK;
}

static int
check_windows(reg_check *chk)
{
	for (size_t i = 0; i < chk->req.nkeys; i++) {
		for (size_t j = 0; j < i; j++) {
			if (chk->req.keys[j].kvno == chk->req.keys[i].kvno &&
			    chk->req.keys[j].enctype == chk->req.keys[i].enctype)
				return fail(chk, REG_POLICY, "kvno %u enctype %d is listed twice",
				    (unsigned)chk->req.keys[i].kvno, (int)chk->req.keys[i].enctype);
		}
		if (check_window(chk, &chk->req.keys[i]) != REG_OK)
			return chk->result;
	}
	return REG_OK;
}

/* The sealed key for (kvno, enctype), or NULL. */
static const reg_sealed_key *
sealed_find(const reg_sealed_keys *s, uint32_t kvno, int32_t enctype)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		if (s->keys[i].kvno == kvno && s->keys[i].enctype == enctype)
			return &s->keys[i];
	}
	return NULL;
}

static int
check_sealed(reg_check *chk)
{
	const kc_enctype *et;
	const reg_sealed_key *k;
	lethe_status rc;

	rc = reg_open_keys(chk->req.sealed_keys.data, chk->req.sealed_keys.len,
	    chk->svc->cache.kdc, &chk->sealed);
	if (rc != LETHE_OK)
		return fail(chk, REG_SEALED_KEYS, "the sealed keys do not open with the KDC's key "
		    "(%s): seal them to the KDC certificate (lethe-admin export-kdc-cert)",
		    lethe_status_str(rc));
	if (chk->sealed.nkeys != chk->req.nkeys)
		return fail(chk, REG_SEALED_KEYS, "%zu sealed keys for %zu listed keys",
		    chk->sealed.nkeys, chk->req.nkeys);
	for (size_t i = 0; i < chk->req.nkeys; i++) {
		const reg_key_window *w = &chk->req.keys[i];
		k = sealed_find(&chk->sealed, w->kvno, w->enctype);
		if (k == NULL)
			return fail(chk, REG_SEALED_KEYS, "no sealed key for kvno %u enctype %d",
			    (unsigned)w->kvno, (int)w->enctype);
		if (kc_enctype_lookup(w->enctype, &et) != LETHE_OK)
			return fail(chk, REG_POLICY, "enctype %d is not supported by this KDC",
			    (int)w->enctype);
		if (k->key_len != et->key_len)
			return fail(chk, REG_SEALED_KEYS, "kvno %u: a key of enctype %d is %zu bytes, "
			    "not %zu", (unsigned)w->kvno, (int)w->enctype, k->key_len, et->key_len);
	}
	return REG_OK;
}

/* ------------------------------------------------------------ storing */

static int
map_store_outcome(reg_check *chk, enum store_reg_outcome o)
{
	switch (o) {
	case STORE_REG_OK:
		return REG_OK;
	case STORE_REG_ALREADY:
		chk->already = true;
		return REG_OK;
	case STORE_REG_REPLAY:
		return fail(chk, REG_REPLAY,
		    "this nonce was seen before: send a new request with a fresh nonce");
	case STORE_REG_KVNO_EXISTS:
		return fail(chk, REG_KVNO_EXISTS, "%s already has one of these kvnos: register "
		    "under a kvno it never used", chk->req.principal);
	case STORE_REG_NOT_ALLOWED:
		return fail(chk, REG_NOT_ALLOWED, "%s is a user or krbtgt principal: it takes no "
		    "temporary keys", chk->req.principal);
	case STORE_REG_TOO_MANY_KEYS:
		return fail(chk, REG_POLICY, "principal %s holds too many live keys; wait for "
		    "old keys to expire", chk->req.principal);
	}
	return fail(chk, REG_INTERNAL, "the KDC's store gave an unknown answer");
}

static int
commit(reg_check *chk)
{
	store_key keys[REG_MAX_KEYS];
	store_registration r;
	enum store_reg_outcome o = STORE_REG_OK;
	char *cert_pem = NULL;
	size_t cert_pem_len = 0;
	int64_t base = chk->req.timestamp > chk->now ? chk->req.timestamp : chk->now;
	lethe_status rc;

	memset(keys, 0, sizeof(keys));
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < chk->req.nkeys; i++) {
		const reg_key_window *w = &chk->req.keys[i];
		const reg_sealed_key *k = sealed_find(&chk->sealed, w->kvno, w->enctype);
		keys[i].kvno = w->kvno;
		keys[i].enctype = w->enctype;
		memcpy(keys[i].key, k->key, k->key_len);
		keys[i].key_len = k->key_len;
		keys[i].kind = STORE_KEY_TEMPORARY;
		keys[i].use_until = w->use_until;
		keys[i].accept_until = w->accept_until;
	}
	if (reg_cert_to_pem(chk->v.signer, &cert_pem, &cert_pem_len) != LETHE_OK)
		cert_pem_len = 0;
	r.principal = chk->req.principal;
	memcpy(r.nonce, chk->req.nonce, STORE_NONCE_LEN);
	r.now = chk->now;
	r.nonce_expires_at = base + chk->svc->cache.realm.clock_skew + 1;
	r.keys = keys;
	r.nkeys = chk->req.nkeys;
	r.registered_by = chk->v.signer_spki;
	r.callback = chk->req.has_callback ? chk->req.callback : NULL;
	r.cert_pem = lbytes_make(cert_pem, cert_pem_len);
	rc = store_register_keys(chk->svc->st, &r, &o);
	lethe_wipe(keys, sizeof(keys));
	free(cert_pem);
	if (rc != LETHE_OK) {
		log_warnx("registrar: storing keys of %s: %s (%s)", chk->req.principal,
		    lethe_status_str(rc), store_errmsg(chk->svc->st));
		return fail_store(chk);
	}
	return map_store_outcome(chk, o);
}

/*
 * Match the request's answersKeyRequest, if any, with the KeyRequests
 * this service sent to that principal within SENT_KEYREQ_SECONDS; a match
 * is consumed. The claim grants nothing, so an unknown one (expired,
 * another KDC's, lethe-admin's, or made up) is only logged as such.
 */
static void
note_answer(reg_check *chk)
{
	reg_service *svc = chk->svc;

	if (!chk->req.has_answers)
		return;
	chk->key_request = "unknown";
	for (size_t i = 0; i < SENT_KEYREQS; i++) {
		sent_keyreq *k = &svc->sent[i];
		if (k->expires > chk->now && strcmp(k->principal, chk->req.principal) == 0 &&
		    CRYPTO_memcmp(k->nonce, chk->req.answers, REG_NONCE_LEN) == 0) {
			memset(k, 0, sizeof(*k));
			chk->key_request = "answered";
			return;
		}
	}
}

static void
run_checks(reg_check *chk)
{
	if (check_signed(chk) != REG_OK || check_identity(chk) != REG_OK ||
	    check_realm_and_time(chk) != REG_OK || check_nonce_and_principal(chk) != REG_OK ||
	    check_callback(chk) != REG_OK || check_principal_cap(chk) != REG_OK ||
	    check_windows(chk) != REG_OK || check_sealed(chk) != REG_OK || commit(chk) != REG_OK)
		return;
	chk->result = REG_OK;
	note_answer(chk);
	snprintf(chk->text, sizeof(chk->text), "registered %zu key%s for %.200s", chk->req.nkeys,
	    chk->req.nkeys == 1 ? "" : "s", chk->req.principal);
}

/* ------------------------------------------------------------ replies and logs */

/*
 * The reply for chk's verdict: a request whose signer was verified and
 * whose content decoded gets a RegistrationReply signed by the KDC and
 * bound to it (its nonce, principal, kvnos and the SHA-256 of its bytes);
 * anything else gets a 7-byte unsigned RegistrationError (DESIGN §7:
 * nothing unauthenticated gets a signature).
 */
static lethe_status
make_reply(reg_service *svc, const reg_check *chk, uint8_t **out, size_t *out_len)
{
	reg_reply rep;
	uint8_t *der = NULL;
	size_t der_len = 0;
	lethe_status rc;

	if (!chk->decoded)
		return reg_error_encode(chk->result, out, out_len);
	memset(&rep, 0, sizeof(rep));
	memcpy(rep.nonce, chk->req.nonce, REG_NONCE_LEN);
	rep.has_binding = true;
	memcpy(rep.principal, chk->req.principal, sizeof(rep.principal));
	for (size_t i = 0; i < chk->req.nkeys; i++)
		rep.kvnos[i] = chk->req.keys[i].kvno;
	rep.nkvnos = chk->req.nkeys;
	GUARD(reg_request_digest(chk->der, chk->der_len, rep.request_sha256));
	rep.result = chk->result;
	snprintf(rep.text, sizeof(rep.text), "%s", chk->text);
	rep.server_time = chk->now;
	if (chk->result == REG_OK) {
		rep.has_granted = true;
		memcpy(rep.granted, chk->req.keys, sizeof(rep.granted[0]) * chk->req.nkeys);
		rep.ngranted = chk->req.nkeys;
	}
	GUARD(reg_reply_encode(&rep, &der, &der_len));
	rc = reg_sign(svc->cache.kdc, REG_CT_REPLY, der, der_len, out, out_len);
	free(der);
	return rc;
}

static void
fill_outcome(const reg_check *chk, int64_t started, reg_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = chk->result;
	out->stored = chk->result == REG_OK && !chk->already;
	if (chk->decoded) {
		snprintf(out->principal, sizeof(out->principal), "%s", chk->req.principal);
		for (size_t i = 0; i < chk->req.nkeys && i < STORE_MAX_REG_KEYS; i++)
			out->kvnos[out->nkvnos++] = chk->req.keys[i].kvno;
	}
	snprintf(out->signer_spki, sizeof(out->signer_spki), "%s", chk->v.signer_spki);
	snprintf(out->text, sizeof(out->text), "%s", chk->text);
	if (chk->key_request != NULL)
		snprintf(out->key_request, sizeof(out->key_request), "%s", chk->key_request);
	out->usec = (uint64_t)(monotonic_usec() - started);
}

static void
log_outcome(const char *peer, const reg_outcome *o)
{
	char kvnos[STORE_MAX_REG_KEYS * 11 + 1] = "";
	size_t used = 0;
	log_event ev;

	for (size_t i = 0; i < o->nkvnos; i++)
		used += (size_t)snprintf(kvnos + used, sizeof(kvnos) - used, "%s%u", i ? "," : "",
		    (unsigned)o->kvnos[i]);
	log_event_begin(&ev, "reg_request");
	log_event_str(&ev, "peer", peer != NULL ? peer : "-");
	log_event_str(&ev, "principal", o->principal[0] != '\0' ? o->principal : "-");
	log_event_str(&ev, "kvnos", o->nkvnos > 0 ? kvnos : "-");
	log_event_str(&ev, "result", reg_result_str(o->result));
	log_event_str(&ev, "signer", o->signer_spki[0] != '\0' ? o->signer_spki : "-");
	if (o->key_request[0] != '\0')
		log_event_str(&ev, "key_request", o->key_request);
	if (o->result != REG_OK)
		log_event_str(&ev, "reason", o->text);
	log_event_uint(&ev, "usec", o->usec);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

static void
check_clear(reg_check *chk)
{
	reg_verified_clear(&chk->v);
	reg_sealed_keys_clear(&chk->sealed);
	lethe_wipe(&chk->req, sizeof(chk->req));
}

/* Answer chk (already run or refused) and log it. */
static lethe_status
finish(reg_service *svc, reg_check *chk, const char *peer, int64_t started, uint8_t **reply,
    size_t *reply_len, reg_outcome *outcome)
{
	lethe_status rc;

	fill_outcome(chk, started, outcome);
	rc = make_reply(svc, chk, reply, reply_len);
	outcome->usec = (uint64_t)(monotonic_usec() - started);
	log_outcome(peer, outcome);
	if (rc != LETHE_OK)
		log_warnx("registrar: cannot sign the reply to %s: %s", peer != NULL ? peer : "-",
		    lethe_status_str(rc));
	return rc;
}

lethe_status
reg_service_handle(reg_service *svc, const char *peer, const uint8_t *req, size_t req_len,
    int64_t now, uint8_t **reply, size_t *reply_len, reg_outcome *outcome)
{
	int64_t started = monotonic_usec();
	reg_check chk;
	lethe_status rc;

	*reply = NULL;
	*reply_len = 0;
	memset(outcome, 0, sizeof(*outcome));
	GUARD(svc_refresh(svc));
	memset(&chk, 0, sizeof(chk));
	chk.svc = svc;
	chk.peer = peer;
	chk.now = now;
	chk.der = req;
	chk.der_len = req_len;
	if (req == NULL || req_len == 0)
		fail(&chk, REG_MALFORMED, "empty request");
	else
		run_checks(&chk);
	rc = finish(svc, &chk, peer, started, reply, reply_len, outcome);
	check_clear(&chk);
	return rc;
}

lethe_status
reg_service_refuse(reg_service *svc, const char *peer, int result, const char *text,
    int64_t now, uint8_t **reply, size_t *reply_len, reg_outcome *outcome)
{
	int64_t started = monotonic_usec();
	reg_check chk;
	lethe_status rc;

	*reply = NULL;
	*reply_len = 0;
	memset(outcome, 0, sizeof(*outcome));
	ENSURE(result > REG_OK && result < REG_RESULT_COUNT, LETHE_ERR_INVALID_ARG);
	GUARD(svc_refresh(svc));
	memset(&chk, 0, sizeof(chk));
	chk.svc = svc;
	chk.now = now;
	fail(&chk, result, "%s", text != NULL ? text : reg_result_str(result));
	rc = finish(svc, &chk, peer, started, reply, reply_len, outcome);
	check_clear(&chk);
	return rc;
}

/* ------------------------------------------------------------ key requests */

/* Remember kr's nonce for the registration that answers it. */
static void
remember_sent(reg_service *svc, const reg_key_request *kr, int64_t now)
{
	sent_keyreq *k = &svc->sent[svc->sent_next];

	svc->sent_next = (svc->sent_next + 1) % SENT_KEYREQS;
	snprintf(k->principal, sizeof(k->principal), "%s", kr->principal);
	memcpy(k->nonce, kr->nonce, REG_NONCE_LEN);
	k->expires = now + SENT_KEYREQ_SECONDS;
}

lethe_status
reg_service_key_request(reg_service *svc, const char *principal, int64_t now, uint8_t **msg,
    size_t *msg_len, lethe_sockaddr *dest)
{
	store_agent *agent = NULL;
	reg_key_request kr;
	uint8_t *der = NULL;
	size_t der_len = 0;
	lethe_status rc = LETHE_OK;

	*msg = NULL;
	*msg_len = 0;
	GUARD(svc_refresh(svc));
	GUARD(store_agent_get(svc->st, principal, &agent));
	ENSURE_GOTO(rc, agent->callback != NULL && agent->callback[0] != '\0',
	    LETHE_ERR_NOT_FOUND);
	GUARD_GOTO(rc, reg_parse_endpoint(agent->callback, dest));
	memset(&kr, 0, sizeof(kr));
	ENSURE_GOTO(rc, strlen(principal) < sizeof(kr.principal), LETHE_ERR_INVALID_ARG);
	snprintf(kr.principal, sizeof(kr.principal), "%s", principal);
	ENSURE_GOTO(rc, RAND_bytes(kr.nonce, sizeof(kr.nonce)) == 1, LETHE_ERR_CRYPTO);
	kr.timestamp = now;
	GUARD_GOTO(rc, reg_key_request_encode(&kr, &der, &der_len));
	GUARD_GOTO(rc, reg_sign(svc->cache.kdc, REG_CT_KEY_REQUEST, der, der_len, msg, msg_len));
	remember_sent(svc, &kr, now);
cleanup:
	free(der);
	store_agent_free(agent);
	return rc;
}
