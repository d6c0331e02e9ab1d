/*
 * The pre-authentication guards: replayed encrypted timestamps and the
 * lockout after failed ones, through AS exchanges against the in-memory
 * realm of test_kdc_fixture.c, and the tables' eviction rules directly.
 */
#include "test_kdc_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdc/preauth_guard.h"

#define W_MAX (1u << 20)

/* An AS-REQ with a timestamp under key at the KDC's time, into a heap buffer. */
static uint8_t *
as_req(tkdc *t, const char *client, kc_key *key, size_t *len)
{
	der_writer w;
	uint8_t *out;

	der_writer_init(&w, W_MAX);
	t_encode_as_req(&(t_as_req){ .client = client, .nonce = 5, .ts_key = key,
	    .ts_time = t->now }, &w);
	assert_int_equal(der_writer_take(&w, &out, len), LETHE_OK);
	der_writer_free(&w);
	return out;
}

/* Send a fresh AS-REQ for client with key; the reply's first byte (0x6b AS-REP, 0x7e error). */
static int32_t
try_as(tkdc *t, const char *client, kc_key *key, krb_error *e)
{
	size_t len;
	uint8_t *req = as_req(t, client, key, &len);

	tkdc_send(t, req, len);
	free(req);
	if (t->rep[0] == 0x6b)
		return 0;
	return tkdc_error(t, e);
}

/* The same AS-REQ bytes twice: the second gets KRB_AP_ERR_REPEAT; a new one works. */
static void
test_replayed_timestamp(void **state)
{
	tkdc *t = *state;
	kc_key key;
	krb_error e;
	size_t len;
	uint8_t *req;

	t_user_key("alice", 18, &key);
	req = as_req(t, "alice", &key, &len);
	tkdc_send(t, req, len);
	assert_int_equal(t->rep[0], 0x6b);
	tkdc_send(t, req, len);
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_REPEAT);
	assert_true(t_etext_has(&e, "replayed pre-authentication"));
	/* Still a replay later within the skew, then too old to be one. */
	t->now += 299;
	tkdc_send(t, req, len);
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_REPEAT);
	t->now += 2;
	tkdc_send(t, req, len);
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_SKEW);
	/* A new timestamp of the same second is no replay. */
	assert_int_equal(try_as(t, "alice", &key, &e), 0);
	free(req);
	kc_key_clear(&key);
}

/* A reply too big for UDP uses nothing up: the retry over TCP gets its AS-REP. */
static void
test_too_big_not_recorded(void **state)
{
	tkdc *t = *state;
	kc_key key;
	krb_error e;
	size_t len;
	uint8_t *req;

	t_user_key("alice", 18, &key);
	req = as_req(t, "alice", &key, &len);
	t->info.max_reply = 300;
	tkdc_send(t, req, len);
	assert_int_equal(tkdc_error(t, &e), KRB_ERR_RESPONSE_TOO_BIG);
	t->info.max_reply = 65536;
	t->info.transport = KDC_TRANSPORT_TCP;
	tkdc_send(t, req, len);
	assert_int_equal(t->rep[0], 0x6b);
	tkdc_send(t, req, len);
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_REPEAT);
	free(req);
	kc_key_clear(&key);
}

/*
 * max_failures wrong passwords lock alice out: her right password is refused
 * (CLIENT_REVOKED, saying until when) until the lockout ends; bob and carol
 * are not affected; a replayed good timestamp does not reset her count.
 */
static void
test_lockout(void **state)
{
	tkdc *t = *state;
	kc_key good, wrong, bob, carol;
	krb_error e;
	size_t len;
	uint8_t *old;

	kdc_set_lockout(t->k, &(kdc_lockout_policy){ 3, 60, 30 });
	t_user_key("alice", 18, &good);
	t_user_key("bob", 18, &wrong);      /* bob's password, as alice */
	t_user_key("bob", 18, &bob);
	t_user_key("carol", 17, &carol);
	old = as_req(t, "alice", &good, &len);
	tkdc_send(t, old, len);
	assert_int_equal(t->rep[0], 0x6b);
	assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_true(t_etext_has(&e, "wrong password"));
	assert_false(t_etext_has(&e, "locked"));
	/* A replay neither succeeds nor resets the count. */
	tkdc_send(t, old, len);
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_REPEAT);
	t->now += 10;
	assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_true(t_etext_has(&e, "3 failures: locked out until"));
	/* Locked: the right password, or none, gets CLIENT_REVOKED. */
	assert_int_equal(try_as(t, "alice", &good, &e), KDC_ERR_CLIENT_REVOKED);
	assert_true(t_etext_has(&e, "alice@" T_REALM " is locked out after 3 failed "
	    "pre-authentications until 2023-11-14T22:14:00Z"));
	assert_int_equal(try_as(t, "alice", NULL, &e), KDC_ERR_CLIENT_REVOKED);
	/* Others are not. */
	assert_int_equal(try_as(t, "bob", &bob, &e), 0);
	assert_int_equal(try_as(t, "carol", &carol, &e), 0);
	/* The lockout ends duration after the last failure; then the count starts again. */
	t->now += 29;
	assert_int_equal(try_as(t, "alice", &good, &e), KDC_ERR_CLIENT_REVOKED);
	t->now += 1;
	assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_int_equal(try_as(t, "alice", &good, &e), 0);
	/* The success reset it: two more failures do not lock. */
	assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_int_equal(try_as(t, "alice", &good, &e), 0);
	free(old);
	kc_key_clear(&good);
	kc_key_clear(&wrong);
	kc_key_clear(&bob);
	kc_key_clear(&carol);
}

/* Failures further apart than the window start the count again; 0 turns lockout off. */
static void
test_lockout_window_and_off(void **state)
{
	tkdc *t = *state;
	kc_key good, wrong;
	krb_error e;

	t_user_key("alice", 18, &good);
	t_user_key("bob", 18, &wrong);
	kdc_set_lockout(t->k, &(kdc_lockout_policy){ 2, 60, 600 });
	for (int i = 0; i < 5; i++) {
		assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
		t->now += 61;
	}
	assert_int_equal(try_as(t, "alice", &good, &e), 0);
	kdc_set_lockout(t->k, &(kdc_lockout_policy){ 0, 60, 600 });
	for (int i = 0; i < 20; i++)
		assert_int_equal(try_as(t, "alice", &wrong, &e), KDC_ERR_PREAUTH_FAILED);
	assert_int_equal(try_as(t, "alice", &good, &e), 0);
	/* Unknown names are never counted (nothing to look up). */
	assert_int_equal(try_as(t, "nobody", &wrong, &e), KDC_ERR_C_PRINCIPAL_UNKNOWN);
	kc_key_clear(&good);
	kc_key_clear(&wrong);
}

/* ------------------------------------------------------------ the tables */

static lbytes
tag_of(uint8_t buf[32], uint32_t n)
{
	memset(buf, 0xa5, 32);
	memcpy(buf + 28, &n, sizeof(n));
	return lbytes_make(buf, 32);
}

/*
 * One principal's flood of distinct valid timestamps evicts its own oldest
 * ones, never the other principals' (8000 of them, one entry each, so some
 * share its bucket).
 */
static void
test_replay_flood_evicts_own(void **state)
{
	kdc_guard *g;
	uint8_t buf[32];
	char name[64];
	const int64_t now = T_NOW, exp = T_NOW + 300;

	(void)state;
	assert_int_equal(kdc_guard_new(&g), LETHE_OK);
	for (uint32_t i = 0; i < 8000; i++) {
		snprintf(name, sizeof(name), "user%u@" T_REALM, (unsigned)i);
		assert_false(kdc_guard_replayed(g, name, tag_of(buf, i), now, exp, true));
	}
	for (uint32_t i = 0; i < 100000; i++)
		assert_false(kdc_guard_replayed(g, "flood@" T_REALM, tag_of(buf, i), now, exp, true));
	assert_true(kdc_guard_replay_evictions(g) > 0);
	for (uint32_t i = 0; i < 8000; i++) {
		snprintf(name, sizeof(name), "user%u@" T_REALM, (unsigned)i);
		assert_true(kdc_guard_replayed(g, name, tag_of(buf, i), now, exp, false));
	}
	/* The flooder's newest is still known; its first was given up. */
	assert_true(kdc_guard_replayed(g, "flood@" T_REALM, tag_of(buf, 99999), now, exp, false));
	assert_false(kdc_guard_replayed(g, "flood@" T_REALM, tag_of(buf, 0), now, exp, false));
	/* Looking without recording records nothing; expired entries are no replays. */
	assert_false(kdc_guard_replayed(g, "x@" T_REALM, tag_of(buf, 1), now, exp, false));
	assert_false(kdc_guard_replayed(g, "x@" T_REALM, tag_of(buf, 1), now, exp, false));
	assert_false(kdc_guard_replayed(g, "user1@" T_REALM, tag_of(buf, 1), exp + 1, exp, false));
	kdc_guard_free(g);
}

/* Failures of 200000 other names never unlock a locked principal. */
static void
test_lockout_flood_keeps_locks(void **state)
{
	kdc_guard *g;
	char name[64];
	int64_t until;
	uint32_t n;

	(void)state;
	assert_int_equal(kdc_guard_new(&g), LETHE_OK);
	kdc_guard_set_lockout(g, &(kdc_lockout_policy){ 5, 600, 600 });
	for (int i = 0; i < 5; i++)
		kdc_guard_failure(g, "alice@" T_REALM, T_NOW);
	assert_true(kdc_guard_locked(g, "alice@" T_REALM, T_NOW, &until, &n));
	assert_int_equal(n, 5);
	assert_int_equal(until, T_NOW + 600);
	for (uint32_t i = 0; i < 200000; i++) {
		snprintf(name, sizeof(name), "spray%u@" T_REALM, (unsigned)i);
		kdc_guard_failure(g, name, T_NOW + 1);
	}
	assert_true(kdc_guard_locked(g, "alice@" T_REALM, T_NOW + 1, &until, &n));
	assert_int_equal(n, 5);
	assert_false(kdc_guard_locked(g, "alice@" T_REALM, T_NOW + 600, &until, &n));
	/* A success clears the count; lockout off counts nothing. */
	kdc_guard_success(g, "alice@" T_REALM);
	assert_false(kdc_guard_locked(g, "alice@" T_REALM, T_NOW + 1, &until, &n));
	kdc_guard_set_lockout(g, &(kdc_lockout_policy){ 0, 600, 600 });
	assert_int_equal(kdc_guard_failure(g, "bob@" T_REALM, T_NOW), 0);
	kdc_guard_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replayed_timestamp, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_too_big_not_recorded, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_lockout, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_lockout_window_and_off, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test(test_replay_flood_evicts_own),
		cmocka_unit_test(test_lockout_flood_keeps_locks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
