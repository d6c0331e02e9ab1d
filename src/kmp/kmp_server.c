/* The KMP server role: Wake Up/Rekey, nonce-first AP Request handling (kmp_role.h). */
#include "kmp/kmp_role.h"
#include "base/wipe.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/log.h"

#define SRV_TRIGGER_MAX 512u    /* Wake Up / Rekey: 50 + 255 + 1 + 4 + 65 < 512 */
#define SRV_DIGEST_LEN  32u     /* SHA-256 of an answered AP-REQ */
#define SRV_MIN_SPI     256u

enum peer_state {
	PS_IDLE,                /* nothing in progress */
	PS_WAKING,              /* Wake Up/Rekey sent, nonce outstanding */
	PS_AWAIT_RECOVERED,     /* AP Reply sent, new SA pending */
};

typedef struct srv_peer {
	bool in_use;
	bool woken;                     /* operator asked: keep it keyed */
	bool state_unknown;             /* woken with a Wake Up: the client may have
	                                   lost its SA, so retries are Wake Ups too */
	kmp_peer peer;
	enum peer_state state;
	uint32_t nonce;                 /* outstanding trigger nonce */
	uint8_t trigger[SRV_TRIGGER_MAX];       /* resent unchanged */
	size_t trigger_len;
	uint32_t tries;
	uint32_t interval_ms;
	int64_t next_ms;                /* next retransmission or give-up */
	uint32_t rekey_spi;             /* server SPI announced in a Rekey, or 0 */
	int64_t recovered_deadline_ms;
	int64_t next_rekey_ms;          /* INT64_MAX when not woken */
	bool reestablish;               /* the live SA: the client re-keys it */
	bool pending_reestablish;
	/* the last answer, resent for an identical AP Request */
	uint8_t *reply;
	size_t reply_len;
	uint32_t answered_nonce;
	uint8_t answered_digest[SRV_DIGEST_LEN];
	kc_key *pending_subkey;
	kmp_sa pending;
	kc_key *subkey;                 /* subkey of the live SA (Rekey HMAC) */
	kmp_sa sa;
} srv_peer;

struct kmp_server {
	kmp_server_config cfg;
	char *principal;
	uint8_t engine_id[KMP_ENGINE_ID_MAX];
	uint8_t user_name[KMP_USER_NAME_MAX];
	kmp_io io;
	acc_ctx *acc;
	kmp_nonce_table nonces;
	srv_peer *peers;
	size_t npeers;
	kmp_peer_index index;           /* address -> peers[] slot */
	uint64_t ci_tokens_ms;          /* token bucket, in token-milliseconds */
	int64_t ci_last_ms;
	bool ci_started;
	kmp_server_stats st;
	uint8_t *buf;                   /* KMP_MAX_MSG_LEN, outgoing messages */
};

static const kmp_suites default_ipsec = { 3, {
	{ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128 },
	{ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_3DES },
	{ KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_AES_CBC_128 } } };
static const kmp_suites default_snmp = { 2, {
	{ KMP_SNMP_AUTH_HMAC_SHA1_96, KMP_SNMP_PRIV_NONE },
	{ KMP_SNMP_AUTH_HMAC_MD5_96, KMP_SNMP_PRIV_NONE } } };

/* ------------------------------------------------------------- helpers */

static void
srv_log(kmp_server *srv, const char *event, const kmp_peer *peer,
    const char *what)
{
	log_event ev;
	char name[96];

	kmp_peer_name(&srv->io, peer, name, sizeof(name));
	log_event_begin(&ev, event);
	log_event_str(&ev, "peer", name);
	if (what != NULL)
		log_event_str(&ev, "detail", what);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

/* An AP Request refused: the acceptor's reason and its words (no secrets). */
static void
log_refusal(kmp_server *srv, const kmp_peer *peer, const acc_error *err)
{
	log_event ev;
	char name[96];

	kmp_peer_name(&srv->io, peer, name, sizeof(name));
	log_event_begin(&ev, "kmp_ap_req_refused");
	log_event_str(&ev, "peer", name);
	log_event_str(&ev, "detail", acc_reason_str(err->reason));
	log_event_str(&ev, "text", err->text);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

static void
srv_send(kmp_server *srv, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	if (srv->io.send(srv->io.ctx, to, msg, len) != LETHE_OK) {
		srv->st.send_failures++;
		srv_log(srv, "kmp_send_failed", to, NULL);
	}
}

static srv_peer *
peer_find(kmp_server *srv, const kmp_peer *peer)
{
	uint32_t i = kmp_peer_index_find(&srv->index, peer);

	return i != KMP_PEER_NONE ? &srv->peers[i] : NULL;
}

static void
peer_forget_reply(srv_peer *p)
{
	free(p->reply);
	p->reply = NULL;
	p->reply_len = 0;
}

static void
peer_drop_pending(srv_peer *p)
{
	kc_key_free(p->pending_subkey);
	p->pending_subkey = NULL;
	kmp_sa_clear(&p->pending);
}

static void
peer_clear(kmp_server *srv, srv_peer *p)
{
	peer_forget_reply(p);
	peer_drop_pending(p);
	kc_key_free(p->subkey);
	if (p->sa.live && srv->st.sas_live > 0)
		srv->st.sas_live--;
	kmp_sa_clear(&p->sa);
	lethe_wipe(p, sizeof(*p));
}

/* An idle, SA-less client-initiated record may be recycled. */
static bool
peer_reclaimable(const srv_peer *p)
{
	return !p->woken && p->state == PS_IDLE && !p->sa.live;
}

static lethe_status
peer_get(kmp_server *srv, const kmp_peer *peer, srv_peer **out)
{
	srv_peer *p = peer_find(srv, peer), *spare = NULL;
	uint32_t slot;
	size_t i;

	if (p == NULL) {
		for (i = 0; i < srv->npeers && spare == NULL; i++)
			if (!srv->peers[i].in_use)
				spare = &srv->peers[i];
		for (i = 0; i < srv->npeers && spare == NULL; i++)
			if (peer_reclaimable(&srv->peers[i]))
				spare = &srv->peers[i];
		ENSURE(spare != NULL, LETHE_ERR_TOO_BIG);
		slot = (uint32_t)(spare - srv->peers);
		if (spare->in_use) {
			kmp_peer_index_remove(&srv->index, slot);
			peer_clear(srv, spare);
		}
		memset(spare, 0, sizeof(*spare));
		GUARD(kmp_peer_index_add(&srv->index, peer, slot));
		spare->in_use = true;
		spare->peer = *peer;
		spare->next_rekey_ms = INT64_MAX;
		p = spare;
	}
	*out = p;
	return LETHE_OK;
}

static lethe_status
random_spi(kmp_server *srv, uint32_t *out)
{
	uint8_t b[4];
	uint32_t v;
	size_t i;
	int tries;

	for (tries = 0; tries < 16; tries++) {
		GUARD(srv->io.random(srv->io.ctx, b, sizeof(b)));
		v = lethe_load_be32(b);
		if (v < SRV_MIN_SPI)
			continue;
		for (i = 0; i < srv->npeers; i++) {
			const srv_peer *p = &srv->peers[i];
			if (p->in_use && (p->sa.in.spi == v ||
			    p->pending.in.spi == v || p->rekey_spi == v))
				break;
		}
		if (i == srv->npeers) {
			*out = v;
			return LETHE_OK;
		}
	}
	return LETHE_ERR_CRYPTO;
}

static uint32_t
wake_interval(const kmp_server *srv, uint32_t interval)
{
	uint64_t next = (uint64_t)interval * 2;

	return next > srv->cfg.wake_max_ms ? srv->cfg.wake_max_ms : (uint32_t)next;
}

/* Time from the first send to the give-up: every interval, retries + 1 of them. */
static int64_t
wake_window_ms(const kmp_server *srv)
{
	int64_t total = 0;
	uint32_t iv = srv->cfg.wake_nom_ms, i;

	for (i = 0; i <= srv->cfg.wake_retries; i++) {
		total += iv;
		iv = wake_interval(srv, iv);
	}
	return total;
}

/* ------------------------------------------------------------- setup */

static lethe_status
check_config(const kmp_server_config *c)
{
	size_t i;

	ENSURE(c->principal != NULL && c->principal[0] != '\0' &&
	    strlen(c->principal) <= KMP_MAX_PRINCIPAL_LEN, LETHE_ERR_INVALID_ARG);
	ENSURE(c->doi == KMP_DOI_IPSEC || c->doi == KMP_DOI_SNMPV3,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(c->grace_s < c->lifetime_s, LETHE_ERR_INVALID_ARG);
	ENSURE(c->offered.count >= 1 && c->offered.count <= KMP_MAX_SUITES,
	    LETHE_ERR_INVALID_ARG);
	for (i = 0; i < c->offered.count; i++)
		ENSURE(kmp_sa_suite_supported(c->doi, c->offered.suite[i]),
		    LETHE_ERR_INVALID_ARG);
	ENSURE(c->wake_retries < 1024 && c->wake_nom_ms <= c->wake_max_ms,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(c->max_clients <= KMP_NONCE_TABLE_MAX, LETHE_ERR_INVALID_ARG);
	if (c->doi == KMP_DOI_SNMPV3) {
		ENSURE(c->snmp.engine_id.len >= KMP_ENGINE_ID_MIN &&
		    c->snmp.engine_id.len <= KMP_ENGINE_ID_MAX, LETHE_ERR_INVALID_ARG);
		ENSURE(c->snmp.user_name.len >= KMP_USER_NAME_MIN &&
		    c->snmp.user_name.len <= KMP_USER_NAME_MAX, LETHE_ERR_INVALID_ARG);
	}
	return LETHE_OK;
}

static void
apply_defaults(kmp_server_config *c)
{
	if (c->offered.count == 0)
		c->offered = c->doi == KMP_DOI_SNMPV3 ? default_snmp : default_ipsec;
	if (c->lifetime_s == 0)
		c->lifetime_s = KMP_SRV_LIFETIME;
	if (c->grace_s == 0)
		c->grace_s = c->lifetime_s > KMP_SRV_GRACE ? KMP_SRV_GRACE :
		    c->lifetime_s / 2;
	if (c->wake_nom_ms == 0) {
		c->wake_nom_ms = KMP_SRV_WAKE_NOM_MS;
		c->wake_retries = KMP_SRV_WAKE_RETRIES;
	}
	if (c->wake_max_ms == 0)
		c->wake_max_ms = c->wake_nom_ms > KMP_SRV_WAKE_MAX_MS ?
		    c->wake_nom_ms : KMP_SRV_WAKE_MAX_MS;
	if (c->recovered_ms == 0)
		c->recovered_ms = KMP_SRV_RECOVERED_MS;
	if (c->max_clients == 0)
		c->max_clients = KMP_SRV_MAX_CLIENTS;
	if (c->ci_rate == 0)
		c->ci_rate = KMP_SRV_CI_RATE;
	if (c->ci_burst == 0)
		c->ci_burst = KMP_SRV_CI_BURST;
}

lethe_status
kmp_server_new(const kmp_server_config *cfg, const kmp_io *io, acc_ctx *acc,
    kmp_server **out)
{
	kmp_server *srv = NULL;
	lethe_status rc;

	ENSURE(cfg != NULL && io != NULL && io->send != NULL &&
	    io->random != NULL && io->unix_time != NULL && acc != NULL &&
	    out != NULL, LETHE_ERR_INVALID_ARG);
	srv = calloc(1, sizeof(*srv));
	ENSURE(srv != NULL, LETHE_ERR_NOMEM);
	srv->cfg = *cfg;
	apply_defaults(&srv->cfg);
	GUARD_GOTO(rc, check_config(&srv->cfg));
	srv->principal = strdup(cfg->principal);
	srv->buf = malloc(KMP_MAX_MSG_LEN);
	srv->peers = calloc(srv->cfg.max_clients, sizeof(*srv->peers));
	ENSURE_GOTO(rc, srv->principal != NULL && srv->buf != NULL &&
	    srv->peers != NULL, LETHE_ERR_NOMEM);
	srv->cfg.principal = srv->principal;
	srv->npeers = srv->cfg.max_clients;
	if (srv->cfg.doi == KMP_DOI_SNMPV3) {
		memcpy(srv->engine_id, cfg->snmp.engine_id.data, cfg->snmp.engine_id.len);
		memcpy(srv->user_name, cfg->snmp.user_name.data, cfg->snmp.user_name.len);
		srv->cfg.snmp.engine_id = lbytes_make(srv->engine_id, cfg->snmp.engine_id.len);
		srv->cfg.snmp.user_name = lbytes_make(srv->user_name, cfg->snmp.user_name.len);
	}
	GUARD_GOTO(rc, kmp_nonce_table_init(&srv->nonces, srv->cfg.max_clients));
	GUARD_GOTO(rc, kmp_peer_index_init(&srv->index, srv->cfg.max_clients));
	srv->io = *io;
	srv->acc = acc;
	srv->ci_tokens_ms = (uint64_t)srv->cfg.ci_burst * 1000;
	*out = srv;
	srv = NULL;
cleanup:
	kmp_server_free(srv);
	return rc;
}

void
kmp_server_free(kmp_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; srv->peers != NULL && i < srv->npeers; i++)
		if (srv->peers[i].in_use)
			peer_clear(srv, &srv->peers[i]);
	free(srv->peers);
	kmp_nonce_table_free(&srv->nonces);
	kmp_peer_index_free(&srv->index);
	if (srv->buf != NULL)
		lethe_wipe(srv->buf, KMP_MAX_MSG_LEN);
	free(srv->buf);
	free(srv->principal);
	free(srv);
}

void
kmp_server_stats_get(const kmp_server *srv, kmp_server_stats *out)
{
	*out = srv->st;
}

kmp_sa *
kmp_server_sa(kmp_server *srv, const kmp_peer *peer)
{
	srv_peer *p = peer_find(srv, peer);

	return p != NULL && p->sa.live ? &p->sa : NULL;
}

/* ------------------------------------------------------ Wake Up, Rekey */

static lethe_status
build_wake_up(kmp_server *srv, srv_peer *p)
{
	kmp_msg m;

	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_WAKE_UP;
	m.doi = srv->cfg.doi;
	m.u.wake_up.server_nonce = p->nonce;
	m.u.wake_up.principal = lbytes_make(srv->principal, strlen(srv->principal));
	return kmp_encode(&m, p->trigger, sizeof(p->trigger), &p->trigger_len);
}

/* Rekey: authenticated with the live SA's subkey, announces a new server SPI. */
static lethe_status
build_rekey(kmp_server *srv, srv_peer *p)
{
	kmp_hmac_key key;
	kmp_msg m;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	memset(&m, 0, sizeof(m));
	GUARD_GOTO(rc, random_spi(srv, &p->rekey_spi));
	m.kmmid = KMP_REKEY;
	m.doi = KMP_DOI_IPSEC;
	m.u.rekey.server_nonce = p->nonce;
	m.u.rekey.principal = lbytes_make(srv->principal, strlen(srv->principal));
	m.u.rekey.timestamp = srv->io.unix_time(srv->io.ctx);
	m.u.rekey.spi = p->rekey_spi;
	m.u.rekey.suites = srv->cfg.offered;
	m.u.rekey.lifetime = srv->cfg.lifetime_s;
	m.u.rekey.grace_period = srv->cfg.grace_s;
	m.u.rekey.reestablish = srv->cfg.reestablish;
	GUARD_GOTO(rc, kmp_encode(&m, p->trigger, sizeof(p->trigger), &p->trigger_len));
	GUARD_GOTO(rc, kmp_hmac_key_derive(p->subkey, KMP_HMAC_REKEY, &key));
	rc = kmp_hmac_seal(&key, p->trigger, p->trigger_len);
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

static lethe_status
start_trigger(kmp_server *srv, srv_peer *p, bool allow_rekey, int64_t now_ms)
{
	bool rekey = allow_rekey && srv->cfg.doi == KMP_DOI_IPSEC && p->sa.live &&
	    p->subkey != NULL;

	GUARD(kmp_nonce_fresh(&srv->io, &p->nonce));
	peer_forget_reply(p);           /* a new exchange: old duplicates are stale */
	p->rekey_spi = 0;
	GUARD(rekey ? build_rekey(srv, p) : build_wake_up(srv, p));
	GUARD(kmp_nonce_put(&srv->nonces, &p->peer, p->nonce,
	    now_ms + wake_window_ms(srv), now_ms));
	if (p->state == PS_AWAIT_RECOVERED)
		peer_drop_pending(p);
	p->state = PS_WAKING;
	p->tries = 0;
	p->interval_ms = srv->cfg.wake_nom_ms;
	p->next_ms = now_ms + p->interval_ms;
	srv->st.wakeups_sent++;
	srv_log(srv, rekey ? "kmp_rekey_sent" : "kmp_wakeup_sent", &p->peer, NULL);
	srv_send(srv, &p->peer, p->trigger, p->trigger_len);
	return LETHE_OK;
}

lethe_status
kmp_server_wake(kmp_server *srv, const kmp_peer *peer, int64_t now_ms)
{
	srv_peer *p;

	GUARD(peer_get(srv, peer, &p));
	p->woken = true;
	p->state_unknown = false;
	return start_trigger(srv, p, true, now_ms);
}

lethe_status
kmp_server_wake_up(kmp_server *srv, const kmp_peer *peer, int64_t now_ms)
{
	srv_peer *p;

	GUARD(peer_get(srv, peer, &p));
	p->woken = true;
	p->state_unknown = true;
	return start_trigger(srv, p, false, now_ms);
}

/* ------------------------------------------------------------ timers */

/*
 * When the server re-keys a woken client's live SA: when grace seconds
 * remain, or, when the client agreed to re-establish it itself, half-way
 * through the grace period (a fallback should the client not do it).
 */
static int64_t
rekey_time(const kmp_server *srv, const srv_peer *p)
{
	if (!p->reestablish)
		return p->sa.rekey_ms;
	return p->sa.rekey_ms + (int64_t)srv->cfg.grace_s * 500;
}

static void
promote_pending(kmp_server *srv, srv_peer *p)
{
	if (p->sa.live && srv->st.sas_live > 0)
		srv->st.sas_live--;
	kmp_sa_clear(&p->sa);
	kc_key_free(p->subkey);
	p->sa = p->pending;
	p->subkey = p->pending_subkey;
	p->pending_subkey = NULL;
	p->reestablish = p->pending_reestablish;
	kmp_sa_clear(&p->pending);
	srv->st.sas_live++;
	p->state = PS_IDLE;
	p->state_unknown = false;       /* an exchange completed: the client holds this SA */
	p->next_rekey_ms = p->woken ? rekey_time(srv, p) : INT64_MAX;
}

static void
tick_waking(kmp_server *srv, srv_peer *p, int64_t now_ms)
{
	if (p->tries < srv->cfg.wake_retries) {
		p->tries++;
		p->interval_ms = wake_interval(srv, p->interval_ms);
		p->next_ms = now_ms + p->interval_ms;
		srv->st.wakeup_retransmits++;
		srv_send(srv, &p->peer, p->trigger, p->trigger_len);
		return;
	}
	kmp_nonce_drop(&srv->nonces, &p->peer);
	p->state = PS_IDLE;
	p->rekey_spi = 0;
	srv->st.wakeups_given_up++;
	/* Try again one back-off window later while the old SA lasts. */
	if (p->sa.live)
		p->next_rekey_ms = now_ms + wake_window_ms(srv);
	srv_log(srv, "kmp_wakeup_gave_up", &p->peer, NULL);
}

static void
tick_peer(kmp_server *srv, srv_peer *p, int64_t now_ms)
{
	if (p->state == PS_WAKING && p->next_ms <= now_ms)
		tick_waking(srv, p, now_ms);
	if (p->state == PS_AWAIT_RECOVERED && p->recovered_deadline_ms <= now_ms) {
		peer_drop_pending(p);
		p->state = PS_IDLE;
		srv_log(srv, "kmp_no_sa_recovered", &p->peer, NULL);
		if (p->sa.live && p->woken)
			p->next_rekey_ms = now_ms + wake_window_ms(srv);
	}
	if (p->sa.live && p->sa.expires_ms <= now_ms) {
		kmp_sa_clear(&p->sa);
		kc_key_free(p->subkey);
		p->subkey = NULL;
		if (srv->st.sas_live > 0)
			srv->st.sas_live--;
		srv_log(srv, "kmp_sa_expired", &p->peer, NULL);
	}
	if (p->woken && p->state == PS_IDLE && p->next_rekey_ms <= now_ms) {
		p->next_rekey_ms = INT64_MAX;
		srv->st.rekeys++;
		if (start_trigger(srv, p, !p->state_unknown, now_ms) != LETHE_OK)
			p->next_rekey_ms = now_ms + wake_window_ms(srv);
	}
}

void
kmp_server_tick(kmp_server *srv, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < srv->npeers; i++)
		if (srv->peers[i].in_use)
			tick_peer(srv, &srv->peers[i], now_ms);
	kmp_nonce_expire(&srv->nonces, now_ms);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t
kmp_server_next_deadline(const kmp_server *srv)
{
	int64_t next = INT64_MAX;
	size_t i;

	for (i = 0; i < srv->npeers; i++) {
		const srv_peer *p = &srv->peers[i];
		if (!p->in_use)
			continue;
		if (p->state == PS_WAKING)
			next = min64(next, p->next_ms);
		if (p->state == PS_AWAIT_RECOVERED)
			next = min64(next, p->recovered_deadline_ms);
		if (p->sa.live)
			next = min64(next, p->sa.expires_ms);
		if (p->woken && p->state == PS_IDLE)
			next = min64(next, p->next_rekey_ms);
	}
	return next;
}

/* ---------------------------------------------------------- AP Request */

/* Token bucket for client-initiated requests: ci_rate per second, ci_burst deep. */
static bool
ci_allowed(kmp_server *srv, int64_t now_ms)
{
	uint64_t cap = (uint64_t)srv->cfg.ci_burst * 1000;

	if (srv->ci_started && now_ms > srv->ci_last_ms) {
		uint64_t add = (uint64_t)(now_ms - srv->ci_last_ms) * srv->cfg.ci_rate;
		srv->ci_tokens_ms = add >= cap - srv->ci_tokens_ms ? cap :
		    srv->ci_tokens_ms + add;
	}
	srv->ci_started = true;
	srv->ci_last_ms = now_ms;
	if (srv->ci_tokens_ms < 1000)
		return false;
	srv->ci_tokens_ms -= 1000;
	return true;
}

static lethe_status
digest_of(lbytes data, uint8_t out[SRV_DIGEST_LEN])
{
	unsigned int len = 0;

	ENSURE(EVP_Digest(data.data, data.len, out, &len, EVP_sha256(), NULL) == 1 &&
	    len == SRV_DIGEST_LEN, LETHE_ERR_CRYPTO);
	return LETHE_OK;
}

/* The identical AP Request answered last time: resend the AP Reply, no crypto. */
static bool
resend_duplicate(kmp_server *srv, srv_peer *p, const kmp_ap_request *req)
{
	uint8_t d[SRV_DIGEST_LEN];

	if (p == NULL || p->reply == NULL || p->answered_nonce != req->server_nonce)
		return false;
	if (digest_of(req->ap_req, d) != LETHE_OK ||
	    CRYPTO_memcmp(d, p->answered_digest, sizeof(d)) != 0)
		return false;
	srv->st.duplicates_resent++;
	srv_send(srv, &p->peer, p->reply, p->reply_len);
	return true;
}

static bool
answer_with_error(acc_reason reason)
{
	switch (reason) {
	case ACC_SKEW:
	case ACC_TKT_EXPIRED:
	case ACC_TKT_NYV:
	case ACC_BADKEYVER:
	case ACC_NOT_US:
	case ACC_ETYPE:
		return true;
	default:
		return false;
	}
}

static void
send_error_reply(kmp_server *srv, const kmp_peer *peer, const acc_verified *v,
    int32_t code, const char *text)
{
	der_writer w;
	kmp_msg m;
	size_t len;

	der_writer_init(&w, KMP_MAX_MSG_LEN);
	if (acc_krb_error_build(srv->acc, v, code, text, &w) == LETHE_OK) {
		memset(&m, 0, sizeof(m));
		m.kmmid = KMP_ERROR_REPLY;
		m.doi = srv->cfg.doi;
		m.u.error_reply.krb_error = der_written(&w);
		if (kmp_encode(&m, srv->buf, KMP_MAX_MSG_LEN, &len) == LETHE_OK) {
			srv->st.error_replies++;
			srv_send(srv, peer, srv->buf, len);
		}
	}
	der_writer_free(&w);
}

/* The first suite of ours (our preference) the client also offers. */
static bool
pick_suite(const kmp_server *srv, const kmp_suites *theirs, kmp_suite *out)
{
	size_t i, j;

	for (i = 0; i < srv->cfg.offered.count; i++)
		for (j = 0; j < theirs->count; j++)
			if (srv->cfg.offered.suite[i].auth == theirs->suite[j].auth &&
			    srv->cfg.offered.suite[i].enc == theirs->suite[j].enc) {
				*out = srv->cfg.offered.suite[i];
				return true;
			}
	return false;
}

/* Everything one accepted AP Request needs on its way to the AP Reply. */
typedef struct srv_exchange {
	acc_verified v;
	kc_key *subkey;
	kmp_suite suite;
	uint32_t server_spi;
	bool reestablish;               /* both sides want the client to re-key */
	der_writer ap_rep;
} srv_exchange;

static lethe_status
build_ap_reply(kmp_server *srv, srv_exchange *x, size_t *out_len)
{
	kmp_hmac_key key;
	kmp_msg m;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	memset(&m, 0, sizeof(m));
	GUARD_GOTO(rc, acc_ap_rep_build(srv->acc, &x->v, x->subkey,
	    &x->v.seq_number, &x->ap_rep));
	m.kmmid = KMP_AP_REPLY;
	m.doi = srv->cfg.doi;
	m.u.ap_reply.ap_rep = der_written(&x->ap_rep);
	if (srv->cfg.doi == KMP_DOI_IPSEC)
		m.u.ap_reply.asd.spi = x->server_spi;
	else
		m.u.ap_reply.asd.snmp = srv->cfg.snmp;
	m.u.ap_reply.suite = x->suite;
	m.u.ap_reply.lifetime = srv->cfg.lifetime_s;
	m.u.ap_reply.grace_period = srv->cfg.grace_s;
	m.u.ap_reply.reestablish = x->reestablish;
	m.u.ap_reply.ack_required = srv->cfg.ack_required;
	GUARD_GOTO(rc, kmp_encode(&m, srv->buf, KMP_MAX_MSG_LEN, out_len));
	GUARD_GOTO(rc, kmp_hmac_key_derive(x->subkey, KMP_HMAC_AP_REPLY, &key));
	rc = kmp_hmac_seal(&key, srv->buf, *out_len);
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

static lethe_status
check_request_hmac(acc_verified *v, const uint8_t *msg, size_t len)
{
	kmp_hmac_key key;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	GUARD_GOTO(rc, kmp_hmac_key_derive(v->session_key, KMP_HMAC_AP_REQUEST, &key));
	rc = kmp_hmac_verify(&key, msg, len);
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

/* Cache the reply for duplicates and install the new SA (pending or live). */
static lethe_status
complete_exchange(kmp_server *srv, srv_peer *p, srv_exchange *x,
    const kmp_ap_request *req, size_t reply_len, int64_t now_ms)
{
	uint32_t client_spi = srv->cfg.doi == KMP_DOI_IPSEC ? req->asd.spi : 0;

	peer_forget_reply(p);
	GUARD(digest_of(req->ap_req, p->answered_digest));
	p->reply = malloc(reply_len);
	ENSURE(p->reply != NULL, LETHE_ERR_NOMEM);
	memcpy(p->reply, srv->buf, reply_len);
	p->reply_len = reply_len;
	p->answered_nonce = req->server_nonce;
	peer_drop_pending(p);
	GUARD(kmp_sa_install(&p->pending, KMP_SIDE_SERVER, srv->cfg.doi, x->suite,
	    x->subkey, client_spi, x->server_spi, now_ms, srv->cfg.lifetime_s,
	    srv->cfg.grace_s));
	p->pending_subkey = x->subkey;
	p->pending_reestablish = x->reestablish;
	x->subkey = NULL;
	p->rekey_spi = 0;
	if (srv->cfg.ack_required) {
		p->state = PS_AWAIT_RECOVERED;
		p->recovered_deadline_ms = now_ms + srv->cfg.recovered_ms;
	} else {
		promote_pending(srv, p);
	}
	return LETHE_OK;
}

static lethe_status
new_subkey(int32_t enctype, kc_key **out)
{
	kc_key tmp;
	lethe_status rc;

	memset(&tmp, 0, sizeof(tmp));
	GUARD_GOTO(rc, kc_key_generate(&tmp, enctype));
	rc = kc_key_new(enctype, kc_key_bytes(&tmp), out);
cleanup:
	kc_key_clear(&tmp);
	return rc;
}

/* Verify, pick, answer: the part of an accepted exchange that can fail. */
static lethe_status
answer_ap_request(kmp_server *srv, srv_peer *p, srv_exchange *x,
    const kmp_ap_request *req, int64_t now_ms)
{
	size_t reply_len;

	if (srv->cfg.doi == KMP_DOI_IPSEC) {
		x->server_spi = p->rekey_spi;
		if (x->server_spi == 0)
			GUARD(random_spi(srv, &x->server_spi));
	}
	x->reestablish = srv->cfg.reestablish && req->reestablish;
	GUARD(new_subkey(kc_key_enctype(x->v.session_key), &x->subkey));
	GUARD(build_ap_reply(srv, x, &reply_len));
	if (req->server_nonce != KMP_NONCE_CLIENT_INITIATED)
		kmp_nonce_drop(&srv->nonces, &p->peer);
	GUARD(complete_exchange(srv, p, x, req, reply_len, now_ms));
	srv_send(srv, &p->peer, p->reply, p->reply_len);
	return LETHE_OK;
}

static void
log_accepted(kmp_server *srv, const srv_peer *p, const srv_exchange *x,
    const kmp_ap_request *req)
{
	log_event ev;
	char name[96];

	kmp_peer_name(&srv->io, &p->peer, name, sizeof(name));
	log_event_begin(&ev, "kmp_ap_request_accepted");
	log_event_str(&ev, "peer", name);
	log_event_str(&ev, "detail",
	    req->server_nonce == KMP_NONCE_CLIENT_INITIATED ? "client-initiated" :
	    "server-initiated");
	log_event_uint(&ev, "kvno", x->v.kvno);
	log_event_uint(&ev, "reestablish", x->reestablish ? 1 : 0);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

/* The AP Request's nonce matched (or is client-initiated and allowed). */
static void
serve_ap_request(kmp_server *srv, srv_peer *p, const uint8_t *msg, size_t len,
    const kmp_ap_request *req, int64_t now_ms)
{
	srv_exchange x;
	acc_error err;

	memset(&x, 0, sizeof(x));
	memset(&err, 0, sizeof(err));
	der_writer_init(&x.ap_rep, KMP_MAX_MSG_LEN);
	if (acc_verify_ap_req(srv->acc, req->ap_req.data, req->ap_req.len, &x.v,
	    &err) != LETHE_OK) {
		log_refusal(srv, &p->peer, &err);
		if (answer_with_error(err.reason))
			send_error_reply(srv, &p->peer, &x.v, err.code, err.text);
		else
			srv->st.dropped_other++;
		goto cleanup;
	}
	if (!x.v.has_seq_number || check_request_hmac(&x.v, msg, len) != LETHE_OK ||
	    (srv->cfg.doi == KMP_DOI_IPSEC && req->asd.spi < SRV_MIN_SPI)) {
		srv->st.dropped_other++;
		srv_log(srv, "kmp_ap_request_dropped", &p->peer, "hmac, seq or spi");
		goto cleanup;
	}
	if (!pick_suite(srv, &req->suites, &x.suite)) {
		send_error_reply(srv, &p->peer, &x.v, KRB_ERR_GENERIC,
		    "no common ciphersuite");
		goto cleanup;
	}
	if (answer_ap_request(srv, p, &x, req, now_ms) != LETHE_OK) {
		srv->st.dropped_other++;
		srv_log(srv, "kmp_ap_reply_failed", &p->peer, NULL);
		goto cleanup;
	}
	srv->st.ap_requests_accepted++;
	log_accepted(srv, p, &x, req);
cleanup:
	kc_key_free(x.subkey);
	der_writer_free(&x.ap_rep);
	acc_verified_clear(&x.v);
}

static void
handle_ap_request(kmp_server *srv, const kmp_peer *peer, const uint8_t *msg,
    size_t len, const kmp_ap_request *req, int64_t now_ms)
{
	srv_peer *p = peer_find(srv, peer);

	if (resend_duplicate(srv, p, req))
		return;
	if (req->server_nonce == KMP_NONCE_CLIENT_INITIATED) {
		if (!ci_allowed(srv, now_ms)) {
			srv->st.dropped_rate++;
			return;
		}
		if (p == NULL && peer_get(srv, peer, &p) != LETHE_OK) {
			srv->st.dropped_other++;
			return;
		}
	} else if (p == NULL || p->state != PS_WAKING ||
	    kmp_nonce_match(&srv->nonces, peer, req->server_nonce, now_ms) != LETHE_OK) {
		/* The patent's DoS defence: no Kerberos, no HMAC, no reply. */
		srv->st.dropped_nonce++;
		return;
	}
	serve_ap_request(srv, p, msg, len, req, now_ms);
}

/* -------------------------------------------------------- SA Recovered */

static void
handle_recovered(kmp_server *srv, const kmp_peer *peer, const uint8_t *msg,
    size_t len)
{
	srv_peer *p = peer_find(srv, peer);
	kmp_hmac_key key;
	lethe_status rc = LETHE_ERR_NOT_FOUND;

	memset(&key, 0, sizeof(key));
	if (p != NULL && p->state == PS_AWAIT_RECOVERED) {
		rc = kmp_hmac_key_derive(p->pending_subkey, KMP_HMAC_SA_RECOVERED, &key);
		if (rc == LETHE_OK)
			rc = kmp_hmac_verify(&key, msg, len);
	}
	kmp_hmac_key_clear(&key);
	if (rc != LETHE_OK) {
		srv->st.dropped_other++;
		return;
	}
	promote_pending(srv, p);
	srv->st.sa_recovered++;
	srv_log(srv, "kmp_sa_recovered", peer, NULL);
}

void
kmp_server_receive(kmp_server *srv, const kmp_peer *peer, const uint8_t *msg,
    size_t len, int64_t now_ms)
{
	kmp_msg m;

	if (kmp_decode(msg, len, &m) != LETHE_OK || m.doi != srv->cfg.doi) {
		srv->st.dropped_other++;
		return;
	}
	switch (m.kmmid) {
	case KMP_AP_REQUEST:
		handle_ap_request(srv, peer, msg, len, &m.u.ap_request, now_ms);
		break;
	case KMP_SA_RECOVERED:
		handle_recovered(srv, peer, msg, len);
		break;
	default:
		srv->st.dropped_other++;
		break;
	}
}
