/*
 * The KMP roles on a fake clock: the re-establish decision (flag in the AP
 * Reply, client re-key at lifetime - grace, the server's fallback half-way
 * through the grace period) and kmp_server_wake_up (a Wake Up, never a
 * Rekey). docs/kmp-roles.md describes both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/crypto.h>

#include "krb5/krb5.h"
#include "kmp/kmp_sa.h"
#include "test_kmp_roles_fixture.h"

#define LIFETIME_S      200u
#define GRACE_S         60u
#define REKEY_MS        ((int64_t)(LIFETIME_S - GRACE_S) * 1000)       /* 140000 */
#define FALLBACK_MS     (REKEY_MS + (int64_t)GRACE_S * 500)             /* 170000 */
#define EXPIRY_MS       ((int64_t)LIFETIME_S * 1000)                    /* 200000 */
#define WAKE_WINDOW_MS  23000   /* 1 + 2 + 4 + 8 + 8 s: Wake Up give-up */

static const uint8_t engine_srv[] = { 0x80, 0, 0x11, 0x8b, 3, 0, 1, 2, 3, 4, 5 };
static const uint8_t engine_cli[] = { 0x80, 0, 0x11, 0x8b, 3, 0, 9, 8, 7, 6, 5 };
static const uint8_t payload[] = "re-keyed, both ways";

typedef struct duo {
	fx *f;
	kmp_server *srv;
	kmp_client *cli;
	kmp_client_config cc;
	kc_key *session;                /* of the last ticket handed to the client */
} duo;

/* fx_get_cred, keeping a copy of the session key (to open AP-REPs). */
static lethe_status
duo_get_cred(void *ctx, const char *principal, bool refresh, kcl_cred *cred)
{
	duo *d = ctx;

	GUARD(fx_get_cred(d->f, principal, refresh, cred));
	kc_key_free(d->session);
	d->session = NULL;
	return kc_key_new(kc_key_enctype(cred->session_key),
	    kc_key_bytes(cred->session_key), &d->session);
}

static void
duo_start(duo *d, kmp_doi doi, bool srv_reestablish, bool cli_reestablish)
{
	kmp_server_config sc;

	memset(d, 0, sizeof(*d));
	memset(&sc, 0, sizeof(sc));
	d->f = fx_new();
	assert_non_null(d->f);
	sc.principal = FX_SERVICE;
	sc.doi = doi;
	sc.ack_required = true;
	sc.lifetime_s = LIFETIME_S;
	sc.grace_s = GRACE_S;
	sc.reestablish = srv_reestablish;
	sc.snmp.engine_id = lbytes_make(engine_srv, sizeof(engine_srv));
	sc.snmp.engine_boots = 3;
	sc.snmp.engine_time = 120;
	sc.snmp.user_name = LBYTES_LIT("CMS-Admin");
	assert_int_equal(kmp_server_new(&sc, &d->f->server_io, d->f->acc, &d->srv), LETHE_OK);
	d->cc.doi = doi;
	d->cc.server = d->f->server_peer;
	d->cc.principal = FX_SERVICE;
	d->cc.reestablish = cli_reestablish;
	d->cc.snmp.engine_id = lbytes_make(engine_cli, sizeof(engine_cli));
	d->cc.snmp.user_name = LBYTES_LIT("MTA-Prov-Admin");
	d->cc.get_cred = duo_get_cred;
	d->cc.get_cred_ctx = d;
	assert_int_equal(kmp_client_new(&d->cc, &d->f->client_io, &d->cli), LETHE_OK);
}

/* The client program restarts: same configuration, no SA, no subkey. */
static void
duo_restart_client(duo *d)
{
	kmp_client_free(d->cli);
	assert_int_equal(kmp_client_new(&d->cc, &d->f->client_io, &d->cli), LETHE_OK);
}

static void
duo_stop(duo *d)
{
	kmp_client_free(d->cli);
	kmp_server_free(d->srv);
	kc_key_free(d->session);
	fx_free(d->f);
}

/* --------------------------------------------------------------- helpers */

/* Every server counter equals want's (unnamed fields: 0). */
static void
expect_srv(duo *d, const kmp_server_stats *want)
{
	kmp_server_stats got;

	kmp_server_stats_get(d->srv, &got);
#define EQ(field) assert_int_equal(got.field, want->field)
	EQ(wakeups_sent);
	EQ(wakeup_retransmits);
	EQ(wakeups_given_up);
	EQ(ap_requests_accepted);
	EQ(dropped_nonce);
	EQ(dropped_rate);
	EQ(dropped_other);
	EQ(error_replies);
	EQ(duplicates_resent);
	EQ(sa_recovered);
	EQ(sas_live);
	EQ(rekeys);
	EQ(send_failures);
#undef EQ
}

/* Every client counter equals want's (unnamed fields: 0). */
static void
expect_cli(duo *d, const kmp_client_stats *want)
{
	kmp_client_stats got;

	kmp_client_stats_get(d->cli, &got);
#define EQ(field) assert_int_equal(got.field, want->field)
	EQ(wakeups_received);
	EQ(rekeys_received);
	EQ(ap_requests_sent);
	EQ(retransmits);
	EQ(replies_accepted);
	EQ(replies_late);
	EQ(replies_refused);
	EQ(error_replies);
	EQ(gave_up);
	EQ(dropped);
	EQ(sas_installed);
	EQ(reestablishes);
	EQ(send_failures);
	EQ(cred_failures);
	EQ(triggers_refused);
	EQ(triggers_busy);
#undef EQ
}

/* The last datagram sent to peer (delivered or not). */
static fx_msg *
last_to(fx *f, const kmp_peer *peer)
{
	size_t n = fx_count_to(f, peer);

	assert_true(n > 0);
	return fx_nth_to(f, peer, n - 1);
}

static void
decode(const fx_msg *msg, kmp_kmmid kmmid, kmp_msg *out)
{
	assert_non_null(msg);
	assert_int_equal(kmp_decode(msg->data, msg->len, out), LETHE_OK);
	assert_int_equal(out->kmmid, kmmid);
}

/* Deliver one pending datagram to its engine (the oldest to peer). */
static void
deliver_one(duo *d, const kmp_peer *peer)
{
	fx_msg *m = fx_next_to(d->f, peer);

	assert_non_null(m);
	m->delivered = true;
	if (kmp_peer_eq(peer, &d->f->server_peer))
		kmp_server_receive(d->srv, &m->from, m->data, m->len, d->f->now_ms);
	else
		kmp_client_receive(d->cli, &m->from, m->data, m->len, d->f->now_ms);
}

/*
 * Run both engines' timers in deadline order up to limit (inclusive),
 * delivering after each step; datagrams to a side given as NULL vanish.
 */
static void
run_to(duo *d, int64_t limit, kmp_server *to_srv, kmp_client *to_cli)
{
	int64_t next;

	for (;;) {
		next = kmp_server_next_deadline(d->srv);
		if (kmp_client_next_deadline(d->cli) < next)
			next = kmp_client_next_deadline(d->cli);
		if (next > limit)
			break;
		assert_true(next >= d->f->now_ms);
		d->f->now_ms = next;
		kmp_server_tick(d->srv, next);
		kmp_client_tick(d->cli, next);
		fx_pump(d->f, to_srv, to_cli);
	}
	d->f->now_ms = limit;
}

/* Tick both engines at t (server first); return how many datagrams that sent. */
static size_t
tick_both(duo *d, int64_t t)
{
	size_t before = d->f->nmsgs;

	d->f->now_ms = t;
	kmp_server_tick(d->srv, t);
	kmp_client_tick(d->cli, t);
	return d->f->nmsgs - before;
}

/* Both SAs exist, hold the same keys, and a datagram crosses each way. */
static void
assert_sas_agree(duo *d)
{
	kmp_sa *cs = kmp_client_sa(d->cli);
	kmp_sa *ss = kmp_server_sa(d->srv, &d->f->client_peer);
	uint8_t wire[256], out[256];
	size_t n, m;

	assert_non_null(cs);
	assert_non_null(ss);
	assert_int_equal(cs->suite.auth, ss->suite.auth);
	assert_int_equal(cs->suite.enc, ss->suite.enc);
	assert_int_equal(cs->out.spi, ss->in.spi);
	assert_int_equal(cs->in.spi, ss->out.spi);
	assert_memory_equal(cs->out.auth_key, ss->in.auth_key, cs->algs.auth_key_len);
	assert_memory_equal(cs->in.auth_key, ss->out.auth_key, cs->algs.auth_key_len);
	if (cs->algs.enc_key_len > 0) {
		assert_memory_equal(cs->out.enc_key, ss->in.enc_key, cs->algs.enc_key_len);
		assert_memory_equal(cs->in.enc_key, ss->out.enc_key, cs->algs.enc_key_len);
	}
	assert_int_equal(cs->expires_ms, ss->expires_ms);
	assert_int_equal(cs->rekey_ms, ss->rekey_ms);
	assert_int_equal(kmp_sa_protect(cs, lbytes_make(payload, sizeof(payload)), wire,
	    sizeof(wire), &n), LETHE_OK);
	assert_int_equal(kmp_sa_unprotect(ss, wire, n, out, sizeof(out), &m), LETHE_OK);
	assert_int_equal(m, sizeof(payload));
	assert_memory_equal(out, payload, sizeof(payload));
	assert_int_equal(kmp_sa_protect(ss, LBYTES_LIT("pong"), wire, sizeof(wire), &n),
	    LETHE_OK);
	assert_int_equal(kmp_sa_unprotect(cs, wire, n, out, sizeof(out), &m), LETHE_OK);
	assert_memory_equal(out, "pong", 4);
}

/* The client's SA now is not old (other keys). */
static void
assert_new_keys(duo *d, const kmp_sa *old)
{
	kmp_sa *cs = kmp_client_sa(d->cli);

	assert_non_null(cs);
	assert_true(memcmp(cs->out.auth_key, old->out.auth_key, old->algs.auth_key_len) != 0);
	assert_true(memcmp(cs->in.auth_key, old->in.auth_key, old->algs.auth_key_len) != 0);
}

/* Server wakes the client at 0; one full exchange (Wake Up, AP Request, AP Reply, SA Recovered). */
static void
first_sa_woken(duo *d)
{
	assert_int_equal(kmp_server_wake(d->srv, &d->f->client_peer, 0), LETHE_OK);
	fx_pump(d->f, d->srv, d->cli);
	assert_int_equal(d->f->nmsgs, 4);
	assert_sas_agree(d);
}

/* --------------------------------------------- 1. the re-establish decision */

/*
 * Each combination of server setting and client offer: the AP Request
 * carries the offer, the AP Reply carries 1 only for both, and at exactly
 * lifetime - grace exactly one side acts.
 */
static void
run_flag_case(bool srv_re, bool cli_re)
{
	duo d;
	kmp_msg m;
	bool both = srv_re && cli_re;

	duo_start(&d, KMP_DOI_IPSEC, srv_re, cli_re);
	first_sa_woken(&d);
	decode(fx_nth_to(d.f, &d.f->server_peer, 0), KMP_AP_REQUEST, &m);
	assert_int_equal(m.u.ap_request.reestablish, cli_re);
	decode(fx_nth_to(d.f, &d.f->client_peer, 1), KMP_AP_REPLY, &m);
	assert_int_equal(m.u.ap_reply.reestablish, both);
	assert_int_equal(m.u.ap_reply.lifetime, LIFETIME_S);
	assert_int_equal(m.u.ap_reply.grace_period, GRACE_S);
	assert_true(m.u.ap_reply.ack_required);
	/* Who acts first, and when. */
	assert_int_equal(kmp_client_next_deadline(d.cli), both ? REKEY_MS : EXPIRY_MS);
	assert_int_equal(kmp_server_next_deadline(d.srv), both ? FALLBACK_MS : REKEY_MS);
	assert_int_equal(tick_both(&d, REKEY_MS - 1), 0);
	assert_int_equal(tick_both(&d, REKEY_MS), 1);
	if (both) {
		decode(last_to(d.f, &d.f->server_peer), KMP_AP_REQUEST, &m);
		assert_int_equal(m.u.ap_request.server_nonce, KMP_NONCE_CLIENT_INITIATED);
		assert_true(m.u.ap_request.reestablish);
		expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1,
		    .ap_requests_sent = 2, .replies_accepted = 1, .sas_installed = 1,
		    .reestablishes = 1 });
	} else {
		/* The server re-keys; the Rekey carries its own setting. */
		decode(last_to(d.f, &d.f->client_peer), KMP_REKEY, &m);
		assert_int_equal(m.u.rekey.reestablish, srv_re);
		assert_int_not_equal(m.u.rekey.server_nonce, KMP_NONCE_CLIENT_INITIATED);
		expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2,
		    .ap_requests_accepted = 1, .sa_recovered = 1, .sas_live = 1,
		    .rekeys = 1 });
		/* Rekey lost: this client still never starts an exchange of its own. */
		fx_pump(d.f, d.srv, NULL);
		assert_int_equal(kmp_client_next_deadline(d.cli), EXPIRY_MS);
		d.f->now_ms = EXPIRY_MS - 1;
		kmp_client_tick(d.cli, d.f->now_ms);
		assert_non_null(kmp_client_sa(d.cli));
		d.f->now_ms = EXPIRY_MS;
		kmp_client_tick(d.cli, d.f->now_ms);
		assert_null(kmp_client_sa(d.cli));
		assert_int_equal(fx_count_to(d.f, &d.f->server_peer), 2);
		assert_int_equal(kmp_client_next_deadline(d.cli), INT64_MAX);
		expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1,
		    .ap_requests_sent = 1, .replies_accepted = 1, .sas_installed = 1 });
	}
	duo_stop(&d);
}

/* The subkey in an AP Reply's AP-REP, opened with the client's session key. */
static kc_key *
ap_reply_subkey(duo *d, const kmp_msg *m)
{
	lethe_arena arena;
	krb_ap_rep rep;
	krb_enc_ap_rep_part part;
	uint8_t plain[1024];
	size_t len;
	kc_key *subkey = NULL;

	lethe_arena_init(&arena, 65536);
	assert_int_equal(krb_decode_ap_rep(&arena, m->u.ap_reply.ap_rep.data,
	    m->u.ap_reply.ap_rep.len, &rep), LETHE_OK);
	assert_int_equal(kc_decrypt(d->session, KRB_KU_AP_REP_ENC_PART,
	    rep.enc_part.cipher, plain, sizeof(plain), &len), LETHE_OK);
	assert_int_equal(krb_decode_enc_ap_rep_part(&arena, plain, len, &part), LETHE_OK);
	assert_true(part.has_subkey);
	assert_int_equal(kc_key_new(part.subkey.keytype, part.subkey.keyvalue, &subkey),
	    LETHE_OK);
	OPENSSL_cleanse(plain, sizeof(plain));
	lethe_arena_free(&arena);
	return subkey;
}

/* Rewrite the pending AP Reply msg with re-establish = flag, sealed again with its subkey. */
static void
reseal_ap_reply(duo *d, fx_msg *msg, bool flag)
{
	uint8_t out[4096];
	kmp_hmac_key key;
	kmp_msg m;
	kc_key *subkey;
	size_t len;

	decode(msg, KMP_AP_REPLY, &m);
	subkey = ap_reply_subkey(d, &m);
	m.u.ap_reply.reestablish = flag;
	assert_int_equal(kmp_encode(&m, out, sizeof(out), &len), LETHE_OK);
	assert_int_equal(len, msg->len);
	assert_int_equal(kmp_hmac_key_derive(subkey, KMP_HMAC_AP_REPLY, &key), LETHE_OK);
	assert_int_equal(kmp_hmac_seal(&key, out, len), LETHE_OK);
	assert_memory_not_equal(out, msg->data, len);
	memcpy(msg->data, out, len);
	kmp_hmac_key_clear(&key);
	kc_key_free(subkey);
}

/*
 * The client rule on its own: an authentic AP Reply saying 1 to a client
 * that did not offer is accepted, yet the client never re-keys on its own;
 * saying 0 to a client that offered, likewise. Saying 1 to a client that
 * offered (the control) makes it re-key at lifetime - grace.
 */
static void
run_resealed_flag(bool offered, bool flag)
{
	duo d;
	bool acts = offered && flag;

	duo_start(&d, KMP_DOI_IPSEC, !flag, offered);
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, 0), LETHE_OK);
	deliver_one(&d, &d.f->client_peer);     /* Wake Up */
	deliver_one(&d, &d.f->server_peer);     /* AP Request */
	reseal_ap_reply(&d, fx_next_to(d.f, &d.f->client_peer), flag);
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .ap_requests_sent = 1,
	    .replies_accepted = 1, .sas_installed = 1 });
	assert_int_equal(kmp_client_next_deadline(d.cli), acts ? REKEY_MS : EXPIRY_MS);
	d.f->now_ms = REKEY_MS;
	kmp_client_tick(d.cli, d.f->now_ms);
	assert_int_equal(fx_count_to(d.f, &d.f->server_peer), acts ? 3 : 2);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1,
	    .ap_requests_sent = acts ? 2 : 1, .replies_accepted = 1, .sas_installed = 1,
	    .reestablishes = acts ? 1 : 0 });
	duo_stop(&d);
}

static void
test_client_needs_own_offer(void **state)
{
	(void)state;
	run_resealed_flag(false, true);
	run_resealed_flag(true, false);
	run_resealed_flag(true, true);
}

static void
test_flag_combinations(void **state)
{
	(void)state;
	run_flag_case(false, false);
	run_flag_case(false, true);
	run_flag_case(true, false);
	run_flag_case(true, true);
}

/*
 * Re-establish agreed: the client re-keys at exactly lifetime - grace with
 * a client-initiated exchange; the new SA's keys match on both sides, the
 * server's fallback is moved to the new SA, and the new SA gets its own
 * single attempt.
 */
static void
run_client_reestablish(kmp_doi doi, bool woken)
{
	duo d;
	kmp_msg m;
	kmp_sa old;
	const int64_t second = 2 * REKEY_MS;    /* the new SA's lifetime - grace */

	duo_start(&d, doi, true, true);
	if (woken) {
		first_sa_woken(&d);
	} else {
		assert_int_equal(kmp_client_start(d.cli, 0), LETHE_OK);
		fx_pump(d.f, d.srv, d.cli);
		assert_sas_agree(&d);
	}
	old = *kmp_client_sa(d.cli);
	/* A client-initiated SA is never re-keyed by the server. */
	assert_int_equal(kmp_server_next_deadline(d.srv), woken ? FALLBACK_MS : EXPIRY_MS);
	assert_int_equal(kmp_client_next_deadline(d.cli), REKEY_MS);
	assert_int_equal(tick_both(&d, REKEY_MS - 1), 0);
	assert_int_equal(tick_both(&d, REKEY_MS), 1);
	decode(last_to(d.f, &d.f->server_peer), KMP_AP_REQUEST, &m);
	assert_int_equal(m.u.ap_request.server_nonce, KMP_NONCE_CLIENT_INITIATED);
	assert_true(m.u.ap_request.reestablish);
	assert_true(kmp_client_busy(d.cli));
	assert_int_equal(tick_both(&d, REKEY_MS), 0);   /* one attempt, not two */
	fx_pump(d.f, d.srv, d.cli);
	assert_false(kmp_client_busy(d.cli));
	assert_sas_agree(&d);
	assert_new_keys(&d, &old);
	assert_int_equal(kmp_client_sa(d.cli)->expires_ms, REKEY_MS + EXPIRY_MS);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = woken ? 1 : 0,
	    .ap_requests_accepted = 2, .sa_recovered = 2, .sas_live = 1 });
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = woken ? 1 : 0,
	    .ap_requests_sent = 2, .replies_accepted = 2, .sas_installed = 2,
	    .reestablishes = 1 });
	/* The fallback now belongs to the new SA: nothing at the old one's. */
	assert_int_equal(kmp_server_next_deadline(d.srv),
	    woken ? second + GRACE_S * 500 : REKEY_MS + EXPIRY_MS);
	assert_int_equal(kmp_client_next_deadline(d.cli), second);
	assert_int_equal(tick_both(&d, FALLBACK_MS), 0);
	assert_int_equal(tick_both(&d, second - 1), 0);
	/* The new SA gets its own attempt. */
	assert_int_equal(tick_both(&d, second), 1);
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = woken ? 1 : 0,
	    .ap_requests_sent = 3, .replies_accepted = 3, .sas_installed = 3,
	    .reestablishes = 2 });
	kmp_sa_clear(&old);
	duo_stop(&d);
}

static void
test_client_reestablishes_ipsec(void **state)
{
	(void)state;
	run_client_reestablish(KMP_DOI_IPSEC, true);
	run_client_reestablish(KMP_DOI_IPSEC, false);
}

static void
test_client_reestablishes_snmpv3(void **state)
{
	(void)state;
	run_client_reestablish(KMP_DOI_SNMPV3, true);
	run_client_reestablish(KMP_DOI_SNMPV3, false);
}

/*
 * The server never answers the re-establish: the client retransmits on
 * its back-off (500 ms doubling), gives up, and does not try again for
 * that SA, which then expires.
 */
static void
test_reestablish_once_per_sa(void **state)
{
	duo d;
	static const int64_t sent_at[] = { 0, REKEY_MS, REKEY_MS + 500, REKEY_MS + 1500,
	    REKEY_MS + 3500, REKEY_MS + 7500, REKEY_MS + 15500 };
	size_t i;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, true, true);
	assert_int_equal(kmp_client_start(d.cli, 0), LETHE_OK);
	fx_pump(d.f, d.srv, d.cli);
	run_to(&d, EXPIRY_MS - 1, NULL, d.cli);
	/* Given up 16 s after the last retransmission; nothing more. */
	assert_int_equal(fx_count_to(d.f, &d.f->server_peer), 1 + 1 + 6);
	for (i = 0; i < sizeof(sent_at) / sizeof(sent_at[0]); i++)
		assert_int_equal(fx_nth_to(d.f, &d.f->server_peer, i == 0 ? 0 : i + 1)->at_ms,
		    sent_at[i]);
	assert_false(kmp_client_busy(d.cli));
	assert_non_null(kmp_client_sa(d.cli));
	assert_int_equal(kmp_client_next_deadline(d.cli), EXPIRY_MS);
	expect_cli(&d, &(kmp_client_stats){ .ap_requests_sent = 7, .retransmits = 5,
	    .replies_accepted = 1, .sas_installed = 1, .gave_up = 1, .reestablishes = 1 });
	run_to(&d, EXPIRY_MS + 3600000, NULL, d.cli);
	assert_null(kmp_client_sa(d.cli));
	assert_null(kmp_server_sa(d.srv, &d.f->client_peer));
	assert_int_equal(fx_count_to(d.f, &d.f->server_peer), 8);
	assert_int_equal(fx_count_to(d.f, &d.f->client_peer), 1);   /* the AP Reply */
	expect_srv(&d, &(kmp_server_stats){ .ap_requests_accepted = 1,
	    .sa_recovered = 1 });
	duo_stop(&d);
}

/*
 * A re-establish AP Request with a broken HMAC is dropped and counted by
 * the server (old SA kept); the client's retransmission, with a fresh
 * authenticator, 500 ms later, goes through.
 */
static void
test_reestablish_bad_hmac_then_retransmit(void **state)
{
	duo d;
	fx_msg *req;
	kmp_sa old;
	uint32_t old_spi;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, true, true);
	first_sa_woken(&d);
	old = *kmp_client_sa(d.cli);
	old_spi = kmp_server_sa(d.srv, &d.f->client_peer)->in.spi;
	assert_int_equal(tick_both(&d, REKEY_MS), 1);
	req = last_to(d.f, &d.f->server_peer);
	req->data[req->len - 1] ^= 0x01;
	fx_pump(d.f, d.srv, d.cli);
	assert_int_equal(fx_count_to(d.f, &d.f->client_peer), 2);      /* no reply */
	assert_int_equal(kmp_server_sa(d.srv, &d.f->client_peer)->in.spi, old_spi);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 1, .ap_requests_accepted = 1,
	    .dropped_other = 1, .sa_recovered = 1, .sas_live = 1 });
	assert_int_equal(tick_both(&d, REKEY_MS + 499), 0);
	assert_int_equal(tick_both(&d, REKEY_MS + 500), 1);
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	assert_new_keys(&d, &old);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 1, .ap_requests_accepted = 2,
	    .dropped_other = 1, .sa_recovered = 2, .sas_live = 1 });
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .ap_requests_sent = 3,
	    .retransmits = 1, .replies_accepted = 2, .sas_installed = 2,
	    .reestablishes = 1 });
	kmp_sa_clear(&old);
	duo_stop(&d);
}

/*
 * Re-establish agreed but the client stays silent: the server holds its
 * re-key until half the grace period has gone, then sends a Rekey (IPsec)
 * or a Wake Up (SNMPv3); the client answers it and gets a new SA.
 */
static void
run_server_fallback(kmp_doi doi)
{
	duo d;
	kmp_msg m;
	kmp_sa old;

	duo_start(&d, doi, true, true);
	first_sa_woken(&d);
	old = *kmp_client_sa(d.cli);
	/* The client is never ticked: it does not re-key. */
	d.f->now_ms = REKEY_MS;
	kmp_server_tick(d.srv, d.f->now_ms);
	d.f->now_ms = FALLBACK_MS - 1;
	kmp_server_tick(d.srv, d.f->now_ms);
	assert_int_equal(d.f->nmsgs, 4);
	assert_int_equal(kmp_server_next_deadline(d.srv), FALLBACK_MS);
	d.f->now_ms = FALLBACK_MS;
	kmp_server_tick(d.srv, d.f->now_ms);
	assert_int_equal(d.f->nmsgs, 5);
	if (doi == KMP_DOI_IPSEC) {
		decode(last_to(d.f, &d.f->client_peer), KMP_REKEY, &m);
		assert_int_not_equal(m.u.rekey.server_nonce, KMP_NONCE_CLIENT_INITIATED);
		assert_true(m.u.rekey.reestablish);
		assert_int_equal(m.u.rekey.lifetime, LIFETIME_S);
		assert_int_equal(m.u.rekey.grace_period, GRACE_S);
		assert_true(m.u.rekey.spi >= 256);
	} else {
		decode(last_to(d.f, &d.f->client_peer), KMP_WAKE_UP, &m);
		assert_int_not_equal(m.u.wake_up.server_nonce, KMP_NONCE_CLIENT_INITIATED);
	}
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2, .ap_requests_accepted = 1,
	    .sa_recovered = 1, .sas_live = 1, .rekeys = 1 });
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	assert_new_keys(&d, &old);
	if (doi == KMP_DOI_IPSEC)
		assert_int_equal(kmp_client_sa(d.cli)->out.spi, m.u.rekey.spi);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2, .ap_requests_accepted = 2,
	    .sa_recovered = 2, .sas_live = 1, .rekeys = 1 });
	expect_cli(&d, &(kmp_client_stats){
	    .wakeups_received = doi == KMP_DOI_IPSEC ? 1 : 2,
	    .rekeys_received = doi == KMP_DOI_IPSEC ? 1 : 0,
	    .ap_requests_sent = 2, .replies_accepted = 2, .sas_installed = 2 });
	/* The new SA: the client's turn first again, the server's fallback after. */
	assert_int_equal(kmp_client_next_deadline(d.cli), FALLBACK_MS + REKEY_MS);
	assert_int_equal(kmp_server_next_deadline(d.srv),
	    FALLBACK_MS + REKEY_MS + GRACE_S * 500);
	kmp_sa_clear(&old);
	duo_stop(&d);
}

static void
test_server_fallback_ipsec(void **state)
{
	(void)state;
	run_server_fallback(KMP_DOI_IPSEC);
}

static void
test_server_fallback_snmpv3(void **state)
{
	(void)state;
	run_server_fallback(KMP_DOI_SNMPV3);
}

/*
 * The client's re-establish is lost on the way; the server's fallback
 * Rekey arrives while the client is still retransmitting and is ignored
 * (a trigger never cancels an exchange in progress); once the client gave
 * up, the Rekey's next retransmission is answered: one new SA before the
 * old one expires, no further client-initiated sends.
 */
static void
test_fallback_takes_over_lost_reestablish(void **state)
{
	duo d;
	kmp_msg m;
	size_t i, n;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, true, true);
	first_sa_woken(&d);
	run_to(&d, FALLBACK_MS - 1, NULL, d.cli);
	assert_true(kmp_client_busy(d.cli));
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .ap_requests_sent = 7,
	    .retransmits = 5, .replies_accepted = 1, .sas_installed = 1,
	    .reestablishes = 1 });
	assert_int_equal(tick_both(&d, FALLBACK_MS), 1);
	decode(last_to(d.f, &d.f->client_peer), KMP_REKEY, &m);
	fx_pump(d.f, d.srv, d.cli);
	assert_true(kmp_client_busy(d.cli));
	n = d.f->nmsgs;
	/* Client gives up at 140 + 31.5 s; the Rekey is resent at 171 s (still
	   busy: ignored) and 173 s (answered). */
	run_to(&d, EXPIRY_MS - 1, d.srv, d.cli);
	assert_false(kmp_client_busy(d.cli));
	assert_sas_agree(&d);
	for (i = 2; i < 8; i++) {
		decode(fx_nth_to(d.f, &d.f->server_peer, i), KMP_AP_REQUEST, &m);
		assert_int_equal(m.u.ap_request.server_nonce, KMP_NONCE_CLIENT_INITIATED);
	}
	/* The answer carried the Rekey's nonce. */
	decode(fx_nth_to(d.f, &d.f->server_peer, 8), KMP_AP_REQUEST, &m);
	assert_int_not_equal(m.u.ap_request.server_nonce, KMP_NONCE_CLIENT_INITIATED);
	assert_true(d.f->nmsgs > n);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .rekeys_received = 3,
	    .ap_requests_sent = 8, .retransmits = 5, .replies_accepted = 2,
	    .sas_installed = 2, .reestablishes = 1, .gave_up = 1, .triggers_busy = 2 });
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2, .wakeup_retransmits = 2,
	    .ap_requests_accepted = 2, .sa_recovered = 2, .sas_live = 1, .rekeys = 1 });
	duo_stop(&d);
}

/*
 * A lost SA Recovered: the client installed the new SA, the server's stays
 * pending for KMP_SRV_RECOVERED_MS and is then dropped; the old SA is kept
 * (same SPIs and keys), the SA Recovered arriving after that is refused,
 * and the server re-keys the client one back-off window later, which
 * brings both sides to one SA again.
 */
static void
test_sa_recovered_lost(void **state)
{
	duo d;
	kmp_sa old_srv;
	kmp_sa *ss;
	fx_msg *rec;
	int64_t t0 = 10000;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, false, false);
	first_sa_woken(&d);
	old_srv = *kmp_server_sa(d.srv, &d.f->client_peer);
	d.f->now_ms = t0;
	assert_int_equal(kmp_server_wake_up(d.srv, &d.f->client_peer, t0), LETHE_OK);
	deliver_one(&d, &d.f->client_peer);     /* Wake Up */
	deliver_one(&d, &d.f->server_peer);     /* AP Request */
	deliver_one(&d, &d.f->client_peer);     /* AP Reply: the client's new SA */
	rec = fx_next_to(d.f, &d.f->server_peer);
	assert_non_null(rec);
	rec->delivered = true;                  /* SA Recovered lost */
	assert_int_not_equal(kmp_client_sa(d.cli)->out.spi, old_srv.in.spi);
	assert_int_equal(kmp_server_next_deadline(d.srv), t0 + KMP_SRV_RECOVERED_MS);
	assert_int_equal(tick_both(&d, t0 + KMP_SRV_RECOVERED_MS - 1), 0);
	assert_int_equal(tick_both(&d, t0 + KMP_SRV_RECOVERED_MS), 0);
	/* The old SA, unchanged. */
	ss = kmp_server_sa(d.srv, &d.f->client_peer);
	assert_non_null(ss);
	assert_int_equal(ss->in.spi, old_srv.in.spi);
	assert_int_equal(ss->out.spi, old_srv.out.spi);
	assert_memory_equal(ss->in.auth_key, old_srv.in.auth_key, old_srv.algs.auth_key_len);
	assert_memory_equal(ss->out.enc_key, old_srv.out.enc_key, old_srv.algs.enc_key_len);
	assert_int_equal(ss->expires_ms, old_srv.expires_ms);
	/* Too late: the pending SA is gone, the SA Recovered is dropped. */
	kmp_server_receive(d.srv, &d.f->client_peer, rec->data, rec->len, d.f->now_ms);
	assert_int_equal(kmp_server_sa(d.srv, &d.f->client_peer)->in.spi, old_srv.in.spi);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2, .ap_requests_accepted = 2,
	    .dropped_other = 1, .sa_recovered = 1, .sas_live = 1 });
	/* One back-off window later the server wakes the client again. */
	assert_int_equal(kmp_server_next_deadline(d.srv),
	    t0 + KMP_SRV_RECOVERED_MS + WAKE_WINDOW_MS);
	run_to(&d, t0 + KMP_SRV_RECOVERED_MS + WAKE_WINDOW_MS, d.srv, d.cli);
	assert_sas_agree(&d);
	assert_int_not_equal(kmp_server_sa(d.srv, &d.f->client_peer)->in.spi, old_srv.in.spi);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 3, .ap_requests_accepted = 3,
	    .dropped_other = 1, .sa_recovered = 2, .sas_live = 1, .rekeys = 1 });
	kmp_sa_clear(&old_srv);
	duo_stop(&d);
}

/* ----------------------------------------------- 2. kmp_server_wake_up */

/*
 * With an IPsec SA live, kmp_server_wake sends a Rekey and
 * kmp_server_wake_up a Wake Up (a scripted 0 draw is skipped for its
 * nonce), resent unchanged after 1, 2, 4, 8 s; the old SA stays until the
 * new exchange replaces it. The client's answer to the superseded Rekey
 * is a nonce drop with no decryption; its answer to the Wake Up is served.
 */
static void
test_wake_up_not_rekey(void **state)
{
	duo d;
	kmp_msg m;
	kmp_sa old;
	fx_msg *wu;
	static const uint8_t script[] = { 0, 0, 0, 0, 0x5a, 0x11, 0xd0, 0x0d };
	static const int64_t resend_at[] = { 11000, 13000, 17000, 25000 };
	uint64_t decrypts;
	uint32_t rekey_nonce;
	size_t i;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, false, false);
	first_sa_woken(&d);
	old = *kmp_client_sa(d.cli);
	d.f->now_ms = 10000;
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	decode(last_to(d.f, &d.f->client_peer), KMP_REKEY, &m);
	rekey_nonce = m.u.rekey.server_nonce;
	assert_int_not_equal(rekey_nonce, KMP_NONCE_CLIENT_INITIATED);
	deliver_one(&d, &d.f->client_peer);     /* the client answers it ... */
	d.f->script = script;
	d.f->script_len = sizeof(script);
	assert_int_equal(kmp_server_wake_up(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	assert_int_equal(d.f->script_len, 0);
	wu = last_to(d.f, &d.f->client_peer);
	decode(wu, KMP_WAKE_UP, &m);
	wu->delivered = true;                   /* lost, like the next three */
	assert_int_equal(m.u.wake_up.server_nonce, 0x5a11d00d);
	assert_int_equal(m.u.wake_up.principal.len, strlen(FX_SERVICE));
	assert_memory_equal(m.u.wake_up.principal.data, FX_SERVICE, strlen(FX_SERVICE));
	/* ... but the Wake Up replaced that nonce: dropped before any crypto. */
	decrypts = fx_decrypts(d.f);
	deliver_one(&d, &d.f->server_peer);
	assert_int_equal(fx_decrypts(d.f), decrypts);
	assert_non_null(kmp_server_sa(d.srv, &d.f->client_peer));
	assert_int_equal(kmp_server_sa(d.srv, &d.f->client_peer)->in.spi, old.out.spi);
	/* Retransmissions: the same bytes; the first three are lost. */
	for (i = 0; i < 4; i++) {
		fx_msg *r;

		assert_int_equal(kmp_server_next_deadline(d.srv), resend_at[i]);
		assert_int_equal(tick_both(&d, resend_at[i] - 1), 0);
		assert_int_equal(tick_both(&d, resend_at[i]), 1);
		r = last_to(d.f, &d.f->client_peer);
		assert_int_equal(r->len, wu->len);
		assert_memory_equal(r->data, wu->data, wu->len);
		if (i < 3)
			r->delivered = true;
	}
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	assert_new_keys(&d, &old);
	assert_int_equal(kmp_server_next_deadline(d.srv), 25000 + REKEY_MS);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 3, .wakeup_retransmits = 4,
	    .ap_requests_accepted = 2, .dropped_nonce = 1, .sa_recovered = 2,
	    .sas_live = 1 });
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 2, .rekeys_received = 1,
	    .ap_requests_sent = 3, .replies_accepted = 2, .sas_installed = 2 });
	kmp_sa_clear(&old);
	duo_stop(&d);
}

/*
 * A restarted client holds no subkey: the Rekey kmp_server_wake sends it
 * is dropped and counted (no answer); the Wake Up of kmp_server_wake_up
 * is answered and gives both sides a new SA.
 */
static void
test_wake_up_restarted_client(void **state)
{
	duo d;
	kmp_msg m;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, false, false);
	first_sa_woken(&d);
	duo_restart_client(&d);
	d.f->now_ms = 10000;
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	decode(last_to(d.f, &d.f->client_peer), KMP_REKEY, &m);
	fx_pump(d.f, d.srv, d.cli);
	assert_int_equal(fx_count_to(d.f, &d.f->server_peer), 2);      /* no answer */
	assert_null(kmp_client_sa(d.cli));
	assert_false(kmp_client_busy(d.cli));
	expect_cli(&d, &(kmp_client_stats){ .dropped = 1 });
	assert_int_equal(kmp_server_wake_up(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	decode(last_to(d.f, &d.f->client_peer), KMP_WAKE_UP, &m);
	assert_int_not_equal(m.u.wake_up.server_nonce, KMP_NONCE_CLIENT_INITIATED);
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .ap_requests_sent = 1,
	    .replies_accepted = 1, .sas_installed = 1, .dropped = 1 });
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 3, .ap_requests_accepted = 2,
	    .sa_recovered = 2, .sas_live = 1 });
	duo_stop(&d);
}

/*
 * A Rekey with a broken HMAC is ignored and counted; the server's intact
 * retransmission 1 s later is answered.
 */
static void
test_rekey_bad_hmac_ignored(void **state)
{
	duo d;
	fx_msg *rk;
	kmp_sa old;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, false, false);
	first_sa_woken(&d);
	old = *kmp_client_sa(d.cli);
	d.f->now_ms = 10000;
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	rk = last_to(d.f, &d.f->client_peer);
	rk->data[rk->len - 1] ^= 0x80;
	fx_pump(d.f, d.srv, d.cli);
	assert_int_equal(fx_count_to(d.f, &d.f->server_peer), 2);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .ap_requests_sent = 1,
	    .replies_accepted = 1, .sas_installed = 1, .dropped = 1 });
	assert_int_equal(tick_both(&d, 11000), 1);
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	assert_new_keys(&d, &old);
	expect_cli(&d, &(kmp_client_stats){ .wakeups_received = 1, .rekeys_received = 1,
	    .ap_requests_sent = 2, .replies_accepted = 2, .sas_installed = 2,
	    .dropped = 1 });
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2, .wakeup_retransmits = 1,
	    .ap_requests_accepted = 2, .sa_recovered = 2, .sas_live = 1 });
	kmp_sa_clear(&old);
	duo_stop(&d);
}

/*
 * A Wake Up from kmp_server_wake_up that goes unanswered (client down
 * for the whole back-off window) is retried one window after the give-up
 * while the old SA lasts; the client's state is still unknown then, so
 * the retry must again be a Wake Up (a restarted client cannot verify a
 * Rekey) and the restarted client gets its SA from it.
 */
static void
test_wake_up_retry_after_give_up(void **state)
{
	duo d;
	kmp_msg m;
	fx_msg *retry;
	const int64_t t0 = 10000, give_up = t0 + WAKE_WINDOW_MS;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, false, false);
	first_sa_woken(&d);
	duo_restart_client(&d);
	d.f->now_ms = t0;
	assert_int_equal(kmp_server_wake_up(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	fx_pump(d.f, d.srv, NULL);              /* the client is still down */
	run_to(&d, give_up, d.srv, NULL);
	expect_srv(&d, &(kmp_server_stats){ .wakeups_sent = 2, .wakeup_retransmits = 4,
	    .wakeups_given_up = 1, .ap_requests_accepted = 1, .sa_recovered = 1,
	    .sas_live = 1 });
	assert_int_equal(kmp_server_next_deadline(d.srv), give_up + WAKE_WINDOW_MS);
	assert_int_equal(tick_both(&d, give_up + WAKE_WINDOW_MS - 1), 0);
	assert_int_equal(tick_both(&d, give_up + WAKE_WINDOW_MS), 1);
	retry = last_to(d.f, &d.f->client_peer);
	assert_int_equal(kmp_decode(retry->data, retry->len, &m), LETHE_OK);
	assert_int_equal(m.kmmid, KMP_WAKE_UP);         /* fails today: a Rekey (5) */
	fx_pump(d.f, d.srv, d.cli);
	assert_sas_agree(&d);
	duo_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_combinations),
		cmocka_unit_test(test_client_needs_own_offer),
		cmocka_unit_test(test_client_reestablishes_ipsec),
		cmocka_unit_test(test_client_reestablishes_snmpv3),
		cmocka_unit_test(test_reestablish_once_per_sa),
		cmocka_unit_test(test_reestablish_bad_hmac_then_retransmit),
		cmocka_unit_test(test_server_fallback_ipsec),
		cmocka_unit_test(test_server_fallback_snmpv3),
		cmocka_unit_test(test_fallback_takes_over_lost_reestablish),
		cmocka_unit_test(test_wake_up_not_rekey),
		cmocka_unit_test(test_wake_up_restarted_client),
		cmocka_unit_test(test_rekey_bad_hmac_ignored),
		cmocka_unit_test(test_wake_up_retry_after_give_up),
		cmocka_unit_test(test_sa_recovered_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
