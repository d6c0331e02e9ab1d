/* The KMP client role: answers Wake Up/Rekey, client-initiated exchanges (kmp_role.h). */
#include "kmp/kmp_role.h"
#include "base/wipe.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/log.h"

#define CLI_MIN_SPI 256u

enum cli_state {
	CS_IDLE,
	CS_SOLICITED,           /* answered a Wake Up/Rekey; until deadline */
	CS_UNSOLICITED,         /* client-initiated; retransmitting */
};

struct kmp_client {
	kmp_client_config cfg;
	uint8_t engine_id[KMP_ENGINE_ID_MAX];
	uint8_t user_name[KMP_USER_NAME_MAX];
	char config_principal[KMP_MAX_PRINCIPAL_LEN + 1];
	/* Principals a Wake Up/Rekey may name (principal first, if any). */
	char accepted[KMP_CLI_MAX_PRINCIPALS][KMP_MAX_PRINCIPAL_LEN + 1];
	size_t n_accepted;
	kmp_io io;
	enum cli_state state;
	bool lapsed;                    /* the last exchange's timer ran out */
	char principal[KMP_MAX_PRINCIPAL_LEN + 1];      /* of this exchange */
	uint32_t server_nonce;
	uint32_t client_nonce;          /* our nonce: the authenticator's seq-number */
	uint32_t my_spi;
	kcl_cred cred;
	char cred_principal[KMP_MAX_PRINCIPAL_LEN + 1];  /* cred is for it */
	bool have_cred;
	bool refresh_cred;              /* an Error Reply asked for a new ticket */
	kcl_ap_state ap;
	int64_t deadline_ms;
	uint32_t interval_ms;
	uint32_t retries_done;
	kc_key *subkey;                 /* of the live SA: keys Rekey HMACs */
	kmp_sa sa;
	/* Re-establish agreed for the live SA: we re-key it at sa.rekey_ms. */
	bool sa_reestablish;
	char sa_principal[KMP_MAX_PRINCIPAL_LEN + 1];
	kmp_client_stats st;
	uint8_t *buf;
};

static void
cli_log(kmp_client *cli, const char *event, const char *detail)
{
	log_event ev;

	log_event_begin(&ev, event);
	if (cli->principal[0] != '\0')
		log_event_str(&ev, "server", cli->principal);
	if (detail != NULL)
		log_event_str(&ev, "detail", detail);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

static lethe_status
random32(kmp_client *cli, uint32_t *out)
{
	uint8_t b[4];

	GUARD(cli->io.random(cli->io.ctx, b, sizeof(b)));
	*out = lethe_load_be32(b);
	return LETHE_OK;
}

static lethe_status
random_spi(kmp_client *cli, uint32_t *out)
{
	int tries;

	for (tries = 0; tries < 16; tries++) {
		GUARD(random32(cli, out));
		if (*out >= CLI_MIN_SPI && !(cli->sa.live && cli->sa.in.spi == *out))
			return LETHE_OK;
	}
	return LETHE_ERR_CRYPTO;
}

/* ------------------------------------------------------------- setup */

static void
apply_defaults(kmp_client_config *c)
{
	size_t i, n = 0;
	static const kmp_suite ipsec[] = {
		{ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128 },
		{ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_3DES },
		{ KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_AES_CBC_128 },
		{ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_NULL } };
	static const kmp_suite snmp[] = {
		{ KMP_SNMP_AUTH_HMAC_SHA1_96, KMP_SNMP_PRIV_NONE },
		{ KMP_SNMP_AUTH_HMAC_MD5_96, KMP_SNMP_PRIV_NONE } };
	const kmp_suite *list = c->doi == KMP_DOI_SNMPV3 ? snmp : ipsec;

	if (c->suites.count == 0) {
		n = c->doi == KMP_DOI_SNMPV3 ? sizeof(snmp) / sizeof(snmp[0]) :
		    sizeof(ipsec) / sizeof(ipsec[0]);
		for (i = 0; i < n; i++)
			c->suites.suite[i] = list[i];
		c->suites.count = (uint8_t)n;
	}
	if (c->solicited_ms == 0)
		c->solicited_ms = KMP_CLI_SOLICITED_MS;
	if (c->unsol_nom_ms == 0) {
		c->unsol_nom_ms = KMP_CLI_UNSOL_NOM_MS;
		c->unsol_retries = KMP_CLI_UNSOL_RETRIES;
	}
	if (c->unsol_max_ms == 0)
		c->unsol_max_ms = KMP_CLI_UNSOL_MAX_MS;
	if (c->max_skew_s == 0)
		c->max_skew_s = KMP_MAX_SKEW_S;
}

static lethe_status
check_config(const kmp_client_config *c)
{
	size_t i;

	ENSURE(c->doi == KMP_DOI_IPSEC || c->doi == KMP_DOI_SNMPV3,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(c->get_cred != NULL && c->server.len > 0, LETHE_ERR_INVALID_ARG);
	ENSURE(c->suites.count >= 1 && c->suites.count <= KMP_MAX_SUITES,
	    LETHE_ERR_INVALID_ARG);
	for (i = 0; i < c->suites.count; i++)
		ENSURE(kmp_sa_suite_supported(c->doi, c->suites.suite[i]),
		    LETHE_ERR_INVALID_ARG);
	ENSURE(c->unsol_nom_ms <= c->unsol_max_ms && c->unsol_retries <= 1024,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(c->principal == NULL || strlen(c->principal) <= KMP_MAX_PRINCIPAL_LEN,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(c->n_also_principals < KMP_CLI_MAX_PRINCIPALS &&
	    (c->n_also_principals == 0 || c->also_principals != NULL),
	    LETHE_ERR_INVALID_ARG);
	for (i = 0; i < c->n_also_principals; i++)
		ENSURE(c->also_principals[i] != NULL &&
		    strlen(c->also_principals[i]) <= KMP_MAX_PRINCIPAL_LEN,
		    LETHE_ERR_INVALID_ARG);
	if (c->doi == KMP_DOI_SNMPV3) {
		ENSURE(c->snmp.engine_id.len >= KMP_ENGINE_ID_MIN &&
		    c->snmp.engine_id.len <= KMP_ENGINE_ID_MAX, LETHE_ERR_INVALID_ARG);
		ENSURE(c->snmp.user_name.len >= KMP_USER_NAME_MIN &&
		    c->snmp.user_name.len <= KMP_USER_NAME_MAX, LETHE_ERR_INVALID_ARG);
	}
	return LETHE_OK;
}

lethe_status
kmp_client_new(const kmp_client_config *cfg, const kmp_io *io, kmp_client **out)
{
	kmp_client *cli = NULL;
	lethe_status rc;

	ENSURE(cfg != NULL && io != NULL && io->send != NULL && io->random != NULL &&
	    io->unix_time != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	cli = calloc(1, sizeof(*cli));
	ENSURE(cli != NULL, LETHE_ERR_NOMEM);
	cli->cfg = *cfg;
	apply_defaults(&cli->cfg);
	GUARD_GOTO(rc, check_config(&cli->cfg));
	if (cfg->principal != NULL) {
		memcpy(cli->config_principal, cfg->principal, strlen(cfg->principal));
		memcpy(cli->accepted[cli->n_accepted++], cfg->principal,
		    strlen(cfg->principal));
	}
	for (size_t i = 0; i < cfg->n_also_principals; i++)
		memcpy(cli->accepted[cli->n_accepted++], cfg->also_principals[i],
		    strlen(cfg->also_principals[i]));
	cli->cfg.principal = cfg->principal != NULL ? cli->config_principal : NULL;
	cli->cfg.also_principals = NULL;
	cli->cfg.n_also_principals = 0;
	if (cli->cfg.doi == KMP_DOI_SNMPV3) {
		memcpy(cli->engine_id, cfg->snmp.engine_id.data, cfg->snmp.engine_id.len);
		memcpy(cli->user_name, cfg->snmp.user_name.data, cfg->snmp.user_name.len);
		cli->cfg.snmp.engine_id = lbytes_make(cli->engine_id, cfg->snmp.engine_id.len);
		cli->cfg.snmp.user_name = lbytes_make(cli->user_name, cfg->snmp.user_name.len);
	}
	cli->buf = malloc(KMP_MAX_MSG_LEN);
	ENSURE_GOTO(rc, cli->buf != NULL, LETHE_ERR_NOMEM);
	cli->io = *io;
	*out = cli;
	cli = NULL;
	rc = LETHE_OK;
cleanup:
	kmp_client_free(cli);
	return rc;
}

static void
forget_exchange(kmp_client *cli)
{
	kcl_ap_state_clear(&cli->ap);
	cli->server_nonce = 0;
	cli->client_nonce = 0;
	cli->state = CS_IDLE;
}

void
kmp_client_free(kmp_client *cli)
{
	if (cli == NULL)
		return;
	forget_exchange(cli);
	kcl_cred_clear(&cli->cred);
	kc_key_free(cli->subkey);
	kmp_sa_clear(&cli->sa);
	if (cli->buf != NULL)
		lethe_wipe(cli->buf, KMP_MAX_MSG_LEN);
	free(cli->buf);
	lethe_wipe(cli, sizeof(*cli));
	free(cli);
}

void
kmp_client_stats_get(const kmp_client *cli, kmp_client_stats *out)
{
	*out = cli->st;
}

kmp_sa *
kmp_client_sa(kmp_client *cli)
{
	return cli->sa.live ? &cli->sa : NULL;
}

bool
kmp_client_busy(const kmp_client *cli)
{
	return cli->state != CS_IDLE;
}

/* -------------------------------------------------------- AP Request */

static lethe_status
ensure_cred(kmp_client *cli)
{
	lethe_status rc;

	if (cli->have_cred && !cli->refresh_cred &&
	    strcmp(cli->cred_principal, cli->principal) == 0 &&
	    cli->cred.endtime > cli->io.unix_time(cli->io.ctx))
		return LETHE_OK;
	kcl_cred_clear(&cli->cred);
	cli->have_cred = false;
	rc = cli->cfg.get_cred(cli->cfg.get_cred_ctx, cli->principal,
	    cli->refresh_cred, &cli->cred);
	if (rc != LETHE_OK) {
		kcl_cred_clear(&cli->cred);
		cli->st.cred_failures++;
		return rc;
	}
	memcpy(cli->cred_principal, cli->principal, sizeof(cli->principal));
	cli->have_cred = true;
	cli->refresh_cred = false;
	return LETHE_OK;
}

static lethe_status
seal_request(kmp_client *cli, size_t len)
{
	kmp_hmac_key key;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	GUARD_GOTO(rc, kmp_hmac_key_derive(cli->cred.session_key,
	    KMP_HMAC_AP_REQUEST, &key));
	rc = kmp_hmac_seal(&key, cli->buf, len);
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

/* Build and send one AP Request with a fresh authenticator and client nonce. */
static lethe_status
send_ap_request(kmp_client *cli)
{
	kcl_ap_params ap = { 0 };
	der_writer w;
	kmp_msg m;
	size_t len;
	lethe_status rc;

	der_writer_init(&w, KMP_MAX_MSG_LEN);
	GUARD_GOTO(rc, ensure_cred(cli));
	GUARD_GOTO(rc, random32(cli, &cli->client_nonce));
	if (cli->cfg.doi == KMP_DOI_IPSEC)
		GUARD_GOTO(rc, random_spi(cli, &cli->my_spi));
	ap.ap_options = KRB_AP_OPT_MUTUAL_REQUIRED;
	ap.has_seq_number = true;
	ap.seq_number = cli->client_nonce;
	GUARD_GOTO(rc, kcl_ap_req_build(&cli->cred, &ap, &cli->ap, &w));
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_AP_REQUEST;
	m.doi = cli->cfg.doi;
	m.u.ap_request.ap_req = der_written(&w);
	m.u.ap_request.server_nonce = cli->server_nonce;
	if (cli->cfg.doi == KMP_DOI_IPSEC)
		m.u.ap_request.asd.spi = cli->my_spi;
	else
		m.u.ap_request.asd.snmp = cli->cfg.snmp;
	m.u.ap_request.suites = cli->cfg.suites;
	m.u.ap_request.reestablish = cli->cfg.reestablish;
	GUARD_GOTO(rc, kmp_encode(&m, cli->buf, KMP_MAX_MSG_LEN, &len));
	GUARD_GOTO(rc, seal_request(cli, len));
	cli->st.ap_requests_sent++;
	if (cli->io.send(cli->io.ctx, &cli->cfg.server, cli->buf, len) != LETHE_OK)
		cli->st.send_failures++;
cleanup:
	der_writer_free(&w);
	return rc;
}

static void
begin_solicited(kmp_client *cli, uint32_t nonce, lbytes principal, int64_t now_ms)
{
	forget_exchange(cli);
	memcpy(cli->principal, principal.data, principal.len);
	cli->principal[principal.len] = '\0';
	cli->server_nonce = nonce;
	cli->state = CS_SOLICITED;
	cli->lapsed = false;
	cli->deadline_ms = now_ms + cli->cfg.solicited_ms;
	if (send_ap_request(cli) != LETHE_OK) {
		cli_log(cli, "kmp_ap_request_failed", NULL);
		forget_exchange(cli);
	}
}

/* A client-initiated exchange for principal (a NUL-terminated buffer). */
static lethe_status
start_unsolicited(kmp_client *cli, const char principal[KMP_MAX_PRINCIPAL_LEN + 1],
    int64_t now_ms)
{
	lethe_status rc;

	forget_exchange(cli);
	memmove(cli->principal, principal, sizeof(cli->principal));
	cli->server_nonce = KMP_NONCE_CLIENT_INITIATED;
	cli->state = CS_UNSOLICITED;
	cli->lapsed = false;
	cli->retries_done = 0;
	cli->interval_ms = cli->cfg.unsol_nom_ms;
	cli->deadline_ms = now_ms + cli->interval_ms;
	rc = send_ap_request(cli);
	if (rc != LETHE_OK)
		forget_exchange(cli);
	return rc;
}

lethe_status
kmp_client_start(kmp_client *cli, int64_t now_ms)
{
	ENSURE(cli->cfg.principal != NULL, LETHE_ERR_INVALID_ARG);
	return start_unsolicited(cli, cli->config_principal, now_ms);
}

/* --------------------------------------------------------- triggers */

static lethe_status
check_rekey(kmp_client *cli, const uint8_t *msg, size_t len, const kmp_rekey *rk)
{
	kmp_hmac_key key;
	int64_t now = cli->io.unix_time(cli->io.ctx);
	lethe_status rc;

	ENSURE(cli->sa.live && cli->subkey != NULL, LETHE_ERR_NOT_FOUND);
	memset(&key, 0, sizeof(key));
	GUARD_GOTO(rc, kmp_hmac_key_derive(cli->subkey, KMP_HMAC_REKEY, &key));
	GUARD_GOTO(rc, kmp_hmac_verify(&key, msg, len));
	ENSURE_GOTO(rc, rk->timestamp <= now + cli->cfg.max_skew_s &&
	    rk->timestamp >= now - cli->cfg.max_skew_s, LETHE_ERR_BAD_INTEGRITY);
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

/* ---------------------------------------------------------- AP Reply */

static bool
suite_offered(const kmp_client *cli, kmp_suite s)
{
	size_t i;

	for (i = 0; i < cli->cfg.suites.count; i++)
		if (cli->cfg.suites.suite[i].auth == s.auth &&
		    cli->cfg.suites.suite[i].enc == s.enc)
			return true;
	return false;
}

static lethe_status
send_recovered(kmp_client *cli, kc_key *subkey)
{
	kmp_hmac_key key;
	kmp_msg m;
	size_t len;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_SA_RECOVERED;
	m.doi = cli->cfg.doi;
	GUARD_GOTO(rc, kmp_encode(&m, cli->buf, KMP_MAX_MSG_LEN, &len));
	GUARD_GOTO(rc, kmp_hmac_key_derive(subkey, KMP_HMAC_SA_RECOVERED, &key));
	GUARD_GOTO(rc, kmp_hmac_seal(&key, cli->buf, len));
	if (cli->io.send(cli->io.ctx, &cli->cfg.server, cli->buf, len) != LETHE_OK)
		cli->st.send_failures++;
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

/* Verify an in-time AP Reply; on success *subkey is the server's subkey. */
static lethe_status
verify_reply(kmp_client *cli, const uint8_t *msg, size_t len,
    const kmp_ap_reply *rep, kc_key **subkey)
{
	kcl_ap_rep_info info = { 0 };
	kmp_hmac_key key;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	GUARD_GOTO(rc, kcl_ap_rep_verify(&cli->cred, &cli->ap, rep->ap_rep.data,
	    rep->ap_rep.len, &info, NULL));
	/* Our nonce must come back, and the SA keys need the server's subkey. */
	ENSURE_GOTO(rc, info.subkey != NULL && info.has_seq_number &&
	    info.seq_number == cli->client_nonce, LETHE_ERR_BAD_INTEGRITY);
	GUARD_GOTO(rc, kmp_hmac_key_derive(info.subkey, KMP_HMAC_AP_REPLY, &key));
	GUARD_GOTO(rc, kmp_hmac_verify(&key, msg, len));
	ENSURE_GOTO(rc, suite_offered(cli, rep->suite), LETHE_ERR_BAD_INTEGRITY);
	ENSURE_GOTO(rc, cli->cfg.doi != KMP_DOI_IPSEC || rep->asd.spi >= CLI_MIN_SPI,
	    LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, rep->grace_period < rep->lifetime, LETHE_ERR_FORMAT);
	*subkey = info.subkey;
	info.subkey = NULL;
cleanup:
	kmp_hmac_key_clear(&key);
	kc_key_free(info.subkey);
	return rc;
}

static void
handle_ap_reply(kmp_client *cli, const uint8_t *msg, size_t len,
    const kmp_ap_reply *rep, int64_t now_ms)
{
	kc_key *subkey = NULL;
	kmp_sa sa;

	if (cli->state == CS_IDLE || now_ms >= cli->deadline_ms) {
		if (cli->state != CS_IDLE || cli->lapsed) {
			cli->st.replies_late++;
			cli_log(cli, "kmp_ap_reply_late", "refused");
		} else {
			cli->st.dropped++;
		}
		return;
	}
	if (verify_reply(cli, msg, len, rep, &subkey) != LETHE_OK ||
	    kmp_sa_install(&sa, KMP_SIDE_CLIENT, cli->cfg.doi, rep->suite, subkey,
	    cli->my_spi, rep->asd.spi, now_ms, rep->lifetime,
	    rep->grace_period) != LETHE_OK) {
		kc_key_free(subkey);
		cli->st.replies_refused++;
		cli_log(cli, "kmp_ap_reply_refused", NULL);
		return;
	}
	if (rep->ack_required && send_recovered(cli, subkey) != LETHE_OK)
		cli->st.send_failures++;
	kmp_sa_clear(&cli->sa);
	cli->sa = sa;
	kmp_sa_clear(&sa);
	kc_key_free(cli->subkey);
	cli->subkey = subkey;
	cli->sa_reestablish = cli->cfg.reestablish && rep->reestablish;
	memcpy(cli->sa_principal, cli->principal, sizeof(cli->sa_principal));
	cli->st.replies_accepted++;
	cli->st.sas_installed++;
	cli_log(cli, "kmp_sa_installed", NULL);
	forget_exchange(cli);
}

/* ------------------------------------------------------- Error Reply */

static void
handle_error_reply(kmp_client *cli, const kmp_error_reply *er)
{
	lethe_arena arena;
	krb_error e;

	if (cli->state == CS_IDLE) {
		cli->st.dropped++;
		return;
	}
	cli->st.error_replies++;
	lethe_arena_init(&arena, 4096);
	if (krb_decode_krb_error(&arena, er->krb_error.data, er->krb_error.len,
	    &e) == LETHE_OK) {
		/* Unauthenticated: it may only make us fetch a new ticket. */
		if (e.error_code == KRB_AP_ERR_BADKEYVER ||
		    e.error_code == KRB_AP_ERR_TKT_EXPIRED ||
		    e.error_code == KRB_AP_ERR_NOT_US ||
		    e.error_code == KRB_AP_ERR_TKT_NYV)
			cli->refresh_cred = true;
		cli_log(cli, "kmp_error_reply", NULL);
	}
	lethe_arena_free(&arena);
}

/* True when principal is one this client was configured to answer for. */
static bool
principal_accepted(const kmp_client *cli, lbytes principal)
{
	size_t i;

	for (i = 0; i < cli->n_accepted; i++)
		if (strlen(cli->accepted[i]) == principal.len &&
		    memcmp(cli->accepted[i], principal.data, principal.len) == 0)
			return true;
	return false;
}

/*
 * A Wake Up/Rekey (authenticated or not) may start an exchange only for a
 * configured principal, with a server nonce (0 is reserved for
 * client-initiated requests, a server never sends it), and never while an
 * exchange is in progress: a trigger cannot make us fetch tickets for
 * another principal nor cancel the exchange under way.
 */
static bool
trigger_allowed(kmp_client *cli, uint32_t nonce, lbytes principal)
{
	const char *why = NULL;
	log_event ev;

	if (nonce == KMP_NONCE_CLIENT_INITIATED) {
		cli->st.triggers_refused++;
		why = "nonce 0";
	} else if (!principal_accepted(cli, principal)) {
		cli->st.triggers_refused++;
		why = "principal not ours";
	} else if (cli->state != CS_IDLE) {
		cli->st.triggers_busy++;
		why = "exchange in progress";
	}
	if (why == NULL)
		return true;
	log_event_begin(&ev, "kmp_trigger_ignored");
	log_event_mem(&ev, "named", principal.data, principal.len);
	log_event_str(&ev, "detail", why);
	log_event_emit(&ev, LETHE_LOG_INFO);
	return false;
}

void
kmp_client_receive(kmp_client *cli, const kmp_peer *peer, const uint8_t *msg,
    size_t len, int64_t now_ms)
{
	kmp_msg m;

	if (!kmp_peer_eq(peer, &cli->cfg.server) ||
	    kmp_decode(msg, len, &m) != LETHE_OK || m.doi != cli->cfg.doi) {
		cli->st.dropped++;
		return;
	}
	switch (m.kmmid) {
	case KMP_WAKE_UP:
		cli->st.wakeups_received++;
		if (!trigger_allowed(cli, m.u.wake_up.server_nonce,
		    m.u.wake_up.principal))
			break;
		begin_solicited(cli, m.u.wake_up.server_nonce,
		    m.u.wake_up.principal, now_ms);
		break;
	case KMP_REKEY:
		if (check_rekey(cli, msg, len, &m.u.rekey) != LETHE_OK) {
			cli->st.dropped++;
			break;
		}
		cli->st.rekeys_received++;
		if (!trigger_allowed(cli, m.u.rekey.server_nonce, m.u.rekey.principal))
			break;
		begin_solicited(cli, m.u.rekey.server_nonce, m.u.rekey.principal,
		    now_ms);
		break;
	case KMP_AP_REPLY:
		handle_ap_reply(cli, msg, len, &m.u.ap_reply, now_ms);
		break;
	case KMP_ERROR_REPLY:
		handle_error_reply(cli, &m.u.error_reply);
		break;
	default:
		cli->st.dropped++;
		break;
	}
}

/* ------------------------------------------------------------ timers */

/* Our SA's grace period began and we agreed to re-key it: one attempt. */
static void
tick_reestablish(kmp_client *cli, int64_t now_ms)
{
	if (!cli->sa.live || !cli->sa_reestablish || cli->state != CS_IDLE ||
	    now_ms < cli->sa.rekey_ms)
		return;
	cli->sa_reestablish = false;
	cli->st.reestablishes++;
	cli_log(cli, "kmp_reestablish", NULL);
	if (start_unsolicited(cli, cli->sa_principal, now_ms) != LETHE_OK)
		cli_log(cli, "kmp_ap_request_failed", NULL);
}

void
kmp_client_tick(kmp_client *cli, int64_t now_ms)
{
	uint64_t next;

	if (cli->sa.live && cli->sa.expires_ms <= now_ms) {
		kmp_sa_clear(&cli->sa);
		kc_key_free(cli->subkey);
		cli->subkey = NULL;
		cli->sa_reestablish = false;
	}
	tick_reestablish(cli, now_ms);
	if (cli->state == CS_IDLE || now_ms < cli->deadline_ms)
		return;
	if (cli->state == CS_UNSOLICITED &&
	    cli->retries_done < cli->cfg.unsol_retries) {
		cli->retries_done++;
		cli->st.retransmits++;
		next = (uint64_t)cli->interval_ms * 2;
		cli->interval_ms = next > cli->cfg.unsol_max_ms ?
		    cli->cfg.unsol_max_ms : (uint32_t)next;
		cli->deadline_ms = now_ms + cli->interval_ms;
		if (send_ap_request(cli) != LETHE_OK)
			cli_log(cli, "kmp_ap_request_failed", NULL);
		return;
	}
	if (cli->state == CS_UNSOLICITED) {
		cli->st.gave_up++;
		cli_log(cli, "kmp_gave_up", NULL);
	}
	forget_exchange(cli);
	cli->lapsed = true;
}

int64_t
kmp_client_next_deadline(const kmp_client *cli)
{
	int64_t next = INT64_MAX;

	if (cli->state != CS_IDLE)
		next = cli->deadline_ms;
	if (cli->sa.live && cli->sa.expires_ms < next)
		next = cli->sa.expires_ms;
	if (cli->sa.live && cli->sa_reestablish && cli->state == CS_IDLE &&
	    cli->sa.rekey_ms < next)
		next = cli->sa.rekey_ms;
	return next;
}
