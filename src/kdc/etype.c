/* Enctype choices: reply key, session key, and the key that encrypts a ticket. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "kdc/kdc_int.h"
#include "registrar/registrar.h"

struct etype_name {
	int32_t etype;
	const char *name;
};

static const struct etype_name etype_names[] = {
	{ 17, "aes128-cts-hmac-sha1-96" },
	{ 18, "aes256-cts-hmac-sha1-96" },
	{ 19, "aes128-cts-hmac-sha256-128" },
	{ 20, "aes256-cts-hmac-sha384-192" },
	{ 16, "des3-cbc-sha1" },
	{ 23, "arcfour-hmac" },
	{ 25, "camellia128-cts-cmac" },
	{ 26, "camellia256-cts-cmac" },
};

const char *
kdc_enctype_name(int32_t etype)
{
	for (size_t i = 0; i < sizeof(etype_names) / sizeof(etype_names[0]); i++) {
		if (etype_names[i].etype == etype)
			return etype_names[i].name;
	}
	return NULL;
}

bool
kdc_policy_allows(const store_realm_policy *pol, int32_t etype)
{
	for (size_t i = 0; i < pol->nenctypes && i < STORE_MAX_ENCTYPES; i++) {
		if (pol->enctypes[i] == etype)
			return true;
	}
	return false;
}

/* Position of etype in the policy's preference order (smaller is preferred). */
static size_t
policy_rank(const store_realm_policy *pol, int32_t etype)
{
	for (size_t i = 0; i < pol->nenctypes && i < STORE_MAX_ENCTYPES; i++) {
		if (pol->enctypes[i] == etype)
			return i;
	}
	return SIZE_MAX;
}

bool
kdc_key_in_use(const kdc_key *k, int64_t now)
{
	if (k->kind != STORE_KEY_TEMPORARY)
		return true;
	return k->use_until > now && (k->accept_until == 0 || k->accept_until > now);
}

const kdc_key *
kdc_usable_key(const kdc_request *r, const kdc_principal *p, int32_t etype)
{
	if (!kdc_policy_allows(r->policy, etype))
		return NULL;
	/* Keys come newest kvno first: the first one in use wins. */
	for (size_t i = 0; i < p->nkeys; i++) {
		const kdc_key *k = &p->keys[i];
		if (k->enctype == etype && kdc_key_in_use(k, r->now))
			return k;
	}
	return NULL;
}

void
kdc_etype_list_str(const krb_kdc_req_body *b, char *buf, size_t cap)
{
	size_t used = 0, n = b->n_etypes < KDC_LOG_ETYPES ? b->n_etypes : KDC_LOG_ETYPES;
	char num[1 + LOG_INT_MAX];
	size_t w;

	if (cap == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		w = 0;
		if (i > 0)
			num[w++] = ',';
		w += log_fmt_int(num + w, b->etypes[i]);
		if (w >= cap - used) {
			/* cut short, as snprintf did */
			memcpy(buf + used, num, cap - used - 1);
			buf[cap - 1] = '\0';
			return;
		}
		memcpy(buf + used, num, w + 1);
		used += w;
	}
	if (b->n_etypes > n)
		snprintf(buf + used, cap - used, ",...");
	else if (n == 0)
		snprintf(buf, cap, "none");
}

int32_t
kdc_choose_reply_key(kdc_request *r, const kdc_principal *client, const kdc_key **out)
{
	const krb_kdc_req_body *b = &r->req.body;
	char list[KDC_ETYPE_LIST_MAX];

	*out = NULL;
	for (size_t i = 0; i < b->n_etypes; i++) {
		const kdc_key *k = kdc_usable_key(r, client, b->etypes[i]);
		if (k != NULL) {
			*out = k;
			r->reply_etype = k->enctype;
			return 0;
		}
	}
	kdc_etype_list_str(&r->req.body, list, sizeof(list));
	return kdc_fail(r, KDC_ERR_ETYPE_NOSUPP,
	    "the client has no key of any requested enctype the realm allows (requested: %s)",
	    list);
}

/*
 * True when server holds a key of etype usable now: in use, or, when the
 * ticket goes under a grace key, one past use_until but still accepted.
 */
static bool
server_serves(const kdc_request *r, const kdc_principal *server, int32_t etype)
{
	if (kdc_usable_key(r, server, etype) != NULL)
		return true;
	if (!r->grace_key || !kdc_policy_allows(r->policy, etype))
		return false;
	for (size_t i = 0; i < server->nkeys; i++) {
		const kdc_key *k = &server->keys[i];
		if (k->enctype == etype && k->kind == STORE_KEY_TEMPORARY &&
		    k->accept_until > r->now)
			return true;
	}
	return false;
}

int32_t
kdc_choose_session_etype(kdc_request *r, const kdc_principal *server, int32_t *out)
{
	const krb_kdc_req_body *b = &r->req.body;
	char list[KDC_ETYPE_LIST_MAX];

	*out = 0;
	for (size_t i = 0; i < b->n_etypes; i++) {
		int32_t et = b->etypes[i];
		/* A public-key ticket's server (a liblethe acceptor) takes any enctype. */
		bool served = r->ticket_etype == REG_ENCTYPE_PUBKEY_TICKET ?
		    kdc_policy_allows(r->policy, et) : server_serves(r, server, et);
		if (kdc_enctype_usable(et) && served) {
			*out = et;
			r->session_etype = et;
			return 0;
		}
	}
	kdc_etype_list_str(&r->req.body, list, sizeof(list));
	return kdc_fail(r, KDC_ERR_ETYPE_NOSUPP,
	    "the service supports none of the requested session key enctypes (requested: %s)",
	    list);
}

/* True when a beats b as the ticket key: newer kvno, then preferred enctype. */
static bool
better_service_key(const store_realm_policy *pol, const kdc_key *a, const kdc_key *b)
{
	if (b == NULL)
		return true;
	if (a->kvno != b->kvno)
		return a->kvno > b->kvno;
	return policy_rank(pol, a->enctype) < policy_rank(pol, b->enctype);
}

/* The best key of kind among server's keys in use at r->now, or NULL. */
static const kdc_key *
best_service_key(const kdc_request *r, const kdc_principal *server, enum store_key_kind kind)
{
	const kdc_key *best = NULL;

	for (size_t i = 0; i < server->nkeys; i++) {
		const kdc_key *k = &server->keys[i];
		if (k->kind != kind || !kdc_policy_allows(r->policy, k->enctype) ||
		    !kdc_key_in_use(k, r->now))
			continue;
		if (better_service_key(r->policy, k, best))
			best = k;
	}
	return best;
}

/* True when server's keys come from an agent (it has, or had, temporary keys). */
static bool
agent_managed(const kdc_principal *server)
{
	if (server->kind == STORE_KIND_AGENT)
		return true;
	for (size_t i = 0; i < server->nkeys; i++) {
		if (server->keys[i].kind == STORE_KEY_TEMPORARY)
			return true;
	}
	return false;
}

void
kdc_set_key_policy(kdc *k, int64_t lead, bool grace)
{
	k->keyreq_lead = lead > 0 ? lead : 0;
	k->key_grace = grace;
}

/* The newest use_until among server's temporary keys (0: none). */
static int64_t
last_use_until(const kdc_principal *server)
{
	int64_t last = 0;

	for (size_t i = 0; i < server->nkeys; i++) {
		const kdc_key *k = &server->keys[i];
		if (k->kind == STORE_KEY_TEMPORARY && k->use_until > last)
			last = k->use_until;
	}
	return last;
}

/*
 * The grace key: the best temporary key past use_until whose accept_until
 * (which every temporary key has; 0 would mean none) is still ahead, the
 * agent's keytab still holding it. NULL when there is none.
 */
static const kdc_key *
grace_service_key(const kdc_request *r, const kdc_principal *server)
{
	const kdc_key *best = NULL;

	for (size_t i = 0; i < server->nkeys; i++) {
		const kdc_key *k = &server->keys[i];
		if (k->kind != STORE_KEY_TEMPORARY || k->accept_until <= r->now ||
		    !kdc_policy_allows(r->policy, k->enctype))
			continue;
		if (better_service_key(r->policy, k, best))
			best = k;
	}
	return best;
}

/* One warning per ticket issued under a key past its use_until. */
static void
log_grace(const kdc_request *r, const kdc_principal *server, const kdc_key *k)
{
	log_event ev;

	log_event_begin(&ev, "key_grace");
	log_event_str(&ev, "service", server->name);
	log_event_uint(&ev, "kvno", k->kvno);
	log_event_int(&ev, "use_until", k->use_until);
	log_event_int(&ev, "accept_until", k->accept_until);
	log_event_int(&ev, "past_use_until", r->now - k->use_until);
	log_event_str(&ev, "note", "no key in use: ticket under the newest key past "
	    "use_until, ending by its accept_until; a key request was sent");
	log_event_emit(&ev, LETHE_LOG_WARN);
}

int32_t
kdc_choose_service_key(kdc_request *r, const kdc_principal *server, const kdc_key **out,
    int64_t *cap)
{
	const kdc_key *best;
	char when[32];

	*out = NULL;
	*cap = KDC_TIME_INFINITY;
	/* DESIGN §2: the newest temporary key within use_until, ... */
	best = best_service_key(r, server, STORE_KEY_TEMPORARY);
	if (best != NULL) {
		/* ... asking the agent for the next one when it ends soon (no
		 * newer key is registered: best is the newest in use). */
		if (best->use_until - r->now <= r->kdc->keyreq_lead)
			kdc_request_key(r->kdc, server->name);
		if (best->accept_until != 0)
			*cap = best->accept_until;
		*out = best;
		r->ticket_etype = best->enctype;
		return 0;
	}
	/* ... else ask the agent for a fresh one; meanwhile, if policy allows,
	 * a ticket sealed to the service's public key, else a classic key. */
	if (agent_managed(server))
		kdc_request_key(r->kdc, server->name);
	if (server->pubkey != NULL && kdc_key_in_use(server->pubkey, r->now)) {
		*cap = server->pubkey->accept_until;
		*out = server->pubkey;
		r->ticket_etype = REG_ENCTYPE_PUBKEY_TICKET;
		return 0;
	}
	best = server->classic_key_allowed ?
	    best_service_key(r, server, STORE_KEY_LONG_TERM) : NULL;
	if (best != NULL) {
		*out = best;
		r->ticket_etype = best->enctype;
		return 0;
	}
	/* Rather than refuse: the newest key the agent still accepts (its
	 * KDC was unreachable, or its registrations failed, past use_until). */
	best = r->kdc->key_grace ? grace_service_key(r, server) : NULL;
	if (best != NULL) {
		log_grace(r, server, best);
		r->grace_key = true;
		*cap = best->accept_until;
		*out = best;
		r->ticket_etype = best->enctype;
		return 0;
	}
	if (agent_managed(server)) {
		kdc_time_str(last_use_until(server), when, sizeof(when));
		return kdc_fail(r, KDC_ERR_S_PRINCIPAL_UNKNOWN,
		    "service %s has no current key: its temporary keys were usable until %s; "
		    "a key request was sent to its agent", server->name, when);
	}
	return kdc_fail(r, KDC_ERR_S_PRINCIPAL_UNKNOWN,
	    "service %s has no key of an enctype the realm allows", server->name);
}
