/*
 * The KMP client role: retry schedule on a fake clock, late and forged AP
 * Replies, Wake Ups it must not act on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_kmp_roles_fixture.h"

typedef struct duo {
	fx *f;
	kmp_server *srv;
	kmp_client *cli;
} duo;

static int
setup(void **state)
{
	duo *d = calloc(1, sizeof(*d));
	kmp_server_config sc;
	kmp_client_config cc;

	memset(&sc, 0, sizeof(sc));
	memset(&cc, 0, sizeof(cc));
	d->f = fx_new();
	assert_non_null(d->f);
	sc.principal = FX_SERVICE;
	sc.doi = KMP_DOI_IPSEC;
	sc.ack_required = true;
	assert_int_equal(kmp_server_new(&sc, &d->f->server_io, d->f->acc, &d->srv), LETHE_OK);
	cc.doi = KMP_DOI_IPSEC;
	cc.server = d->f->server_peer;
	cc.principal = FX_SERVICE;
	cc.unsol_nom_ms = 3000;         /* the spec's example: 3 s, max 20 s, 5 retries */
	cc.unsol_max_ms = 20000;
	cc.unsol_retries = 5;
	cc.get_cred = fx_get_cred;
	cc.get_cred_ctx = d->f;
	assert_int_equal(kmp_client_new(&cc, &d->f->client_io, &d->cli), LETHE_OK);
	*state = d;
	return 0;
}

static int
teardown(void **state)
{
	duo *d = *state;

	kmp_client_free(d->cli);
	kmp_server_free(d->srv);
	fx_free(d->f);
	free(d);
	return 0;
}

/* Sends at 0, 3, 9, 21, 41, 61 s (gaps 3, 6, 12, 20, 20), give-up at 81 s. */
static void
test_retry_schedule(void **state)
{
	duo *d = *state;
	static const int64_t at[] = { 0, 3000, 9000, 21000, 41000, 61000 };
	kmp_client_stats st;
	kmp_msg m0, mi;
	size_t i;

	assert_int_equal(kmp_client_start(d->cli, 0), LETHE_OK);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 1);
	for (i = 1; i < 6; i++) {
		assert_int_equal(kmp_client_next_deadline(d->cli), at[i]);
		d->f->now_ms = at[i] - 1;
		kmp_client_tick(d->cli, d->f->now_ms);
		assert_int_equal(fx_count_to(d->f, &d->f->server_peer), i);
		d->f->now_ms = at[i];
		kmp_client_tick(d->cli, d->f->now_ms);
		assert_int_equal(fx_count_to(d->f, &d->f->server_peer), i + 1);
		assert_int_equal(fx_nth_to(d->f, &d->f->server_peer, i)->at_ms, at[i]);
		/* nonce 0 each time, a fresh authenticator each time */
		assert_int_equal(kmp_decode(fx_nth_to(d->f, &d->f->server_peer, 0)->data,
		    fx_nth_to(d->f, &d->f->server_peer, 0)->len, &m0), LETHE_OK);
		assert_int_equal(kmp_decode(fx_nth_to(d->f, &d->f->server_peer, i)->data,
		    fx_nth_to(d->f, &d->f->server_peer, i)->len, &mi), LETHE_OK);
		assert_int_equal(mi.u.ap_request.server_nonce, KMP_NONCE_CLIENT_INITIATED);
		assert_false(mi.u.ap_request.ap_req.len == m0.u.ap_request.ap_req.len &&
		    memcmp(mi.u.ap_request.ap_req.data, m0.u.ap_request.ap_req.data,
		    m0.u.ap_request.ap_req.len) == 0);
	}
	assert_int_equal(kmp_client_next_deadline(d->cli), 81000);
	d->f->now_ms = 80999;
	kmp_client_tick(d->cli, d->f->now_ms);
	assert_true(kmp_client_busy(d->cli));
	d->f->now_ms = 81000;
	kmp_client_tick(d->cli, d->f->now_ms);
	assert_false(kmp_client_busy(d->cli));
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.ap_requests_sent, 6);
	assert_int_equal(st.retransmits, 5);
	assert_int_equal(st.gave_up, 1);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 6);
	assert_int_equal(kmp_client_next_deadline(d->cli), INT64_MAX);
}

/* The AP Reply arrives after the solicited-key timeout (1 s): refused, no SA. */
static void
test_late_reply_refused(void **state)
{
	duo *d = *state;
	kmp_client_stats st;
	fx_msg *wu, *req, *rep;

	assert_int_equal(kmp_server_wake(d->srv, &d->f->client_peer, 0), LETHE_OK);
	wu = fx_next_to(d->f, &d->f->client_peer);
	assert_non_null(wu);
	wu->delivered = true;
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 0);
	req = fx_next_to(d->f, &d->f->server_peer);
	assert_non_null(req);
	req->delivered = true;
	kmp_server_receive(d->srv, &d->f->client_peer, req->data, req->len, 0);
	rep = fx_next_to(d->f, &d->f->client_peer);
	assert_non_null(rep);
	rep->delivered = true;
	/* The client's timer runs out first. */
	d->f->now_ms = KMP_CLI_SOLICITED_MS;
	kmp_client_tick(d->cli, d->f->now_ms);
	assert_false(kmp_client_busy(d->cli));
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len, d->f->now_ms);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.replies_late, 1);
	assert_int_equal(st.replies_accepted, 0);
	assert_null(kmp_client_sa(d->cli));
	/* No SA Recovered went out. */
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 1);
}

/* Exactly at the deadline, before any tick, it is late too. */
static void
test_late_reply_before_tick(void **state)
{
	duo *d = *state;
	kmp_client_stats st;
	fx_msg *wu, *req, *rep;

	assert_int_equal(kmp_server_wake(d->srv, &d->f->client_peer, 0), LETHE_OK);
	wu = fx_next_to(d->f, &d->f->client_peer);
	wu->delivered = true;
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 0);
	req = fx_next_to(d->f, &d->f->server_peer);
	req->delivered = true;
	kmp_server_receive(d->srv, &d->f->client_peer, req->data, req->len, 0);
	rep = fx_next_to(d->f, &d->f->client_peer);
	rep->delivered = true;
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len,
	    KMP_CLI_SOLICITED_MS);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.replies_late, 1);
	assert_null(kmp_client_sa(d->cli));
}

/* A forged or mismatching AP Reply in time is refused; the real one then passes. */
static void
test_mismatching_reply_refused(void **state)
{
	duo *d = *state;
	kmp_client_stats st;
	fx_msg *wu, *req, *rep;
	uint8_t bad[4096];

	assert_int_equal(kmp_server_wake(d->srv, &d->f->client_peer, 0), LETHE_OK);
	wu = fx_next_to(d->f, &d->f->client_peer);
	wu->delivered = true;
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 0);
	req = fx_next_to(d->f, &d->f->server_peer);
	req->delivered = true;
	kmp_server_receive(d->srv, &d->f->client_peer, req->data, req->len, 0);
	rep = fx_next_to(d->f, &d->f->client_peer);
	rep->delivered = true;
	assert_true(rep->len <= sizeof(bad));
	/* HMAC flipped */
	memcpy(bad, rep->data, rep->len);
	bad[rep->len - 1] ^= 1;
	kmp_client_receive(d->cli, &d->f->server_peer, bad, rep->len, 10);
	/* from another address */
	kmp_client_receive(d->cli, &d->f->client_peer, rep->data, rep->len, 10);
	/* truncated */
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len - 21, 10);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.replies_refused, 1);
	assert_int_equal(st.dropped, 2);
	assert_null(kmp_client_sa(d->cli));
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len, 20);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.replies_accepted, 1);
	assert_non_null(kmp_client_sa(d->cli));
	/* The same reply again: no exchange in progress any more. */
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len, 30);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.replies_accepted, 1);
}

/* A reply to another exchange (its nonce echo differs) is refused. */
static void
test_reply_to_old_exchange_refused(void **state)
{
	duo *d = *state;
	kmp_client_stats st;
	fx_msg *wu, *req, *rep;

	assert_int_equal(kmp_server_wake(d->srv, &d->f->client_peer, 0), LETHE_OK);
	wu = fx_next_to(d->f, &d->f->client_peer);
	wu->delivered = true;
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 0);
	req = fx_next_to(d->f, &d->f->server_peer);
	req->delivered = true;
	kmp_server_receive(d->srv, &d->f->client_peer, req->data, req->len, 0);
	rep = fx_next_to(d->f, &d->f->client_peer);
	rep->delivered = true;
	/* The Wake Up again during the exchange: ignored, not a new exchange. */
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 5);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 1);
	/* The exchange lapses; the retransmission after it is answered anew. */
	d->f->now_ms = KMP_CLI_SOLICITED_MS;
	kmp_client_tick(d->cli, d->f->now_ms);
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 1005);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 2);
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len, 1010);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.triggers_busy, 1);
	assert_int_equal(st.replies_refused, 1);
	assert_int_equal(st.replies_accepted, 0);
}

/* Send a Wake Up naming principal with nonce from `from` to the client at now. */
static void
send_wake_up(duo *d, const kmp_peer *from, uint32_t nonce, const char *principal,
    int64_t now)
{
	uint8_t buf[512];
	kmp_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_WAKE_UP;
	m.doi = KMP_DOI_IPSEC;
	m.u.wake_up.server_nonce = nonce;
	m.u.wake_up.principal = lbytes_make(principal, strlen(principal));
	assert_int_equal(kmp_encode(&m, buf, sizeof(buf), &len), LETHE_OK);
	kmp_client_receive(d->cli, from, buf, len, now);
}

/* The server nonce of the i-th AP Request the client sent. */
static uint32_t
request_nonce(duo *d, size_t i)
{
	fx_msg *req = fx_nth_to(d->f, &d->f->server_peer, i);
	kmp_msg m;

	assert_non_null(req);
	assert_int_equal(kmp_decode(req->data, req->len, &m), LETHE_OK);
	assert_int_equal(m.kmmid, KMP_AP_REQUEST);
	return m.u.ap_request.server_nonce;
}

/*
 * Spoofed Wake Ups from the server's address naming krbtgt, a user or
 * another service, the reserved nonce 0, or the right principal from
 * another address: no ticket fetched, nothing sent, each counted. The
 * right principal with a nonce from the server's address is answered.
 */
static void
test_trigger_refused(void **state)
{
	duo *d = *state;
	kmp_client_stats st;

	send_wake_up(d, &d->f->server_peer, 0x1111, "krbtgt/LETHE.TEST@LETHE.TEST", 0);
	send_wake_up(d, &d->f->server_peer, 0x2222, FX_CLIENT, 1);
	send_wake_up(d, &d->f->server_peer, 0x3333, "host/other.lethe.test@LETHE.TEST", 2);
	send_wake_up(d, &d->f->server_peer, 0x4444, "kmp/server.lethe.test@LETHE.TES", 3);
	send_wake_up(d, &d->f->server_peer, KMP_NONCE_CLIENT_INITIATED, FX_SERVICE, 4);
	send_wake_up(d, &d->f->client_peer, 0x5555, FX_SERVICE, 5);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 0);
	assert_int_equal(d->f->creds_issued, 0);
	assert_false(kmp_client_busy(d->cli));
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.triggers_refused, 5);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.ap_requests_sent, 0);
	send_wake_up(d, &d->f->server_peer, 0x6666, FX_SERVICE, 6);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 1);
	assert_int_equal(request_nonce(d, 0), 0x6666);
	assert_int_equal(d->f->creds_issued, 1);
}

/*
 * A second Wake Up (a forged one, or another nonce) while the exchange is
 * in progress changes nothing: the real AP Reply still installs the SA.
 */
static void
test_trigger_never_cancels(void **state)
{
	duo *d = *state;
	kmp_client_stats st;
	fx_msg *wu, *req, *rep;

	assert_int_equal(kmp_server_wake(d->srv, &d->f->client_peer, 0), LETHE_OK);
	wu = fx_next_to(d->f, &d->f->client_peer);
	wu->delivered = true;
	kmp_client_receive(d->cli, &d->f->server_peer, wu->data, wu->len, 0);
	send_wake_up(d, &d->f->server_peer, 0x7777, FX_SERVICE, 1);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 1);
	req = fx_next_to(d->f, &d->f->server_peer);
	req->delivered = true;
	kmp_server_receive(d->srv, &d->f->client_peer, req->data, req->len, 2);
	rep = fx_next_to(d->f, &d->f->client_peer);
	rep->delivered = true;
	send_wake_up(d, &d->f->server_peer, 0x8888, FX_SERVICE, 3);
	kmp_client_receive(d->cli, &d->f->server_peer, rep->data, rep->len, 4);
	assert_non_null(kmp_client_sa(d->cli));
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.triggers_busy, 2);
	assert_int_equal(st.replies_accepted, 1);
	assert_int_equal(st.ap_requests_sent, 1);
	/* Only SA Recovered followed the one AP Request. */
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 2);
}

/* Principals beyond the first (also_principals) are answered too; others not. */
static void
test_also_principals(void **state)
{
	static const char *const also[] = { "kmp/second.lethe.test@LETHE.TEST", FX_SERVICE };
	duo *d = *state;
	kmp_client_config cc;
	kmp_client_stats st;

	kmp_client_free(d->cli);
	memset(&cc, 0, sizeof(cc));
	cc.doi = KMP_DOI_IPSEC;
	cc.server = d->f->server_peer;
	cc.also_principals = also;
	cc.n_also_principals = 2;
	cc.get_cred = fx_get_cred;
	cc.get_cred_ctx = d->f;
	assert_int_equal(kmp_client_new(&cc, &d->f->client_io, &d->cli), LETHE_OK);
	send_wake_up(d, &d->f->server_peer, 0x1234, "kmp/third.lethe.test@LETHE.TEST", 0);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 0);
	send_wake_up(d, &d->f->server_peer, 0x1235, FX_SERVICE, 1);
	assert_int_equal(fx_count_to(d->f, &d->f->server_peer), 1);
	assert_int_equal(request_nonce(d, 0), 0x1235);
	kmp_client_stats_get(d->cli, &st);
	assert_int_equal(st.triggers_refused, 1);
	/* Too many principals, or a NULL list with a count: refused. */
	kmp_client_free(d->cli);
	d->cli = NULL;
	cc.n_also_principals = KMP_CLI_MAX_PRINCIPALS;
	assert_int_equal(kmp_client_new(&cc, &d->f->client_io, &d->cli), LETHE_ERR_INVALID_ARG);
	cc.also_principals = NULL;
	cc.n_also_principals = 1;
	assert_int_equal(kmp_client_new(&cc, &d->f->client_io, &d->cli), LETHE_ERR_INVALID_ARG);
}

static void
test_config_refused(void **state)
{
	fx *f = fx_new();
	kmp_client_config cc;
	kmp_client *cli = NULL;

	(void)state;
	memset(&cc, 0, sizeof(cc));
	cc.doi = KMP_DOI_IPSEC;
	cc.server = f->server_peer;
	assert_int_equal(kmp_client_new(&cc, &f->client_io, &cli), LETHE_ERR_INVALID_ARG);
	cc.get_cred = fx_get_cred;
	cc.doi = KMP_DOI_SNMPV3;        /* no engine data */
	assert_int_equal(kmp_client_new(&cc, &f->client_io, &cli), LETHE_ERR_INVALID_ARG);
	cc.doi = KMP_DOI_IPSEC;
	assert_int_equal(kmp_client_new(&cc, &f->client_io, &cli), LETHE_OK);
	/* no principal configured: no client-initiated exchange */
	assert_int_equal(kmp_client_start(cli, 0), LETHE_ERR_INVALID_ARG);
	kmp_client_free(cli);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_retry_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_reply_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_reply_before_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mismatching_reply_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_to_old_exchange_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_never_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_also_principals, setup, teardown),
		cmocka_unit_test(test_config_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
