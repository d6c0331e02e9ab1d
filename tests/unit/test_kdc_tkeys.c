/*
 * Which key encrypts a service ticket (DESIGN §2): temporary keys first,
 * within use_until; the ticket ends by the key's accept_until; a key
 * request when none is in use, or the newest ends within the lead; the
 * classic key as a fallback; the grace key past use_until (before
 * accept_until) rather than a refusal.
 */
#include "test_kdc_fixture.h"

#include <stdio.h>
#include <string.h>

#define W_MAX (1u << 20)

/* What the key-request hook saw. */
typedef struct keyreq_log {
	unsigned calls;
	char last[256];
} keyreq_log;

static void
record_keyreq(void *ctx, const char *principal)
{
	keyreq_log *log = ctx;

	log->calls++;
	snprintf(log->last, sizeof(log->last), "%s", principal);
}

/* Ask for a ticket to T_AGENT_SERVICE with the KDC's clock at now. */
static void
agent_tgs_at(tkdc *t, const t_tgt *tgt, int64_t now, uint32_t nonce)
{
	t->now = now;
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = tgt, .service = T_AGENT_SERVICE, .nonce = nonce,
	    .ctime = now });
}

/* Open the reply as one under the agent service's kvno T_AGENT_KVNO (18). */
static void
open_agent_rep(tkdc *t, t_tgt *tgt, t_rep *r)
{
	kc_key skey;

	t_agent_key(T_AGENT_KVNO, 18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt->session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, r);
	assert_int_equal(r->rep.ticket.enc_part.kvno, T_AGENT_KVNO);
	kc_key_clear(&skey);
}

/* A ticket for an agent service is under its newest temporary key in use. */
static void
test_newest_temporary_key(void **state)
{
	tkdc *t = *state;
	keyreq_log log = { 0 };
	t_tgt tgt;
	kc_key skey;
	t_rep r;

	kdc_set_key_request(t->k, record_keyreq, &log);
	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_AGENT_SERVICE, .nonce = 7 });
	t_agent_key(T_AGENT_KVNO, 18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, &r);
	assert_int_equal(r.rep.ticket.enc_part.kvno, T_AGENT_KVNO);
	assert_int_equal(r.rep.ticket.enc_part.etype, 18);
	assert_int_equal(r.part.endtime, tgt.endtime);   /* accept_until is later */
	assert_true(r.part.endtime <= T_AGENT_ACCEPT_UNTIL);
	assert_int_equal(log.calls, 0);
	kc_key_clear(&skey);
}

/* The ticket's end is capped at the key's accept_until. */
static void
test_end_capped_at_accept_until(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	kc_key skey;
	t_rep r;

	t_get_tgt(t, 0, 0, &tgt);
	assert_true(tgt.endtime > T_SHORT_ACCEPT_UNTIL);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_SHORT_SERVICE, .nonce = 8 });
	t_agent_key(9, 18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, &r);
	assert_int_equal(r.rep.ticket.enc_part.kvno, 9);
	assert_int_equal(r.part.endtime, T_SHORT_ACCEPT_UNTIL);
	assert_int_equal(r.ticket.endtime, T_SHORT_ACCEPT_UNTIL);
	kc_key_clear(&skey);
}

/* Grace off, past every use_until: a clear error, one key request per ticket asked. */
static void
test_no_current_key(void **state)
{
	tkdc *t = *state;
	keyreq_log log = { 0 };
	t_tgt tgt;
	krb_error e;
	static const char want[] = "service " T_AGENT_SERVICE "@" T_REALM " has no current key";

	kdc_set_key_request(t->k, record_keyreq, &log);
	kdc_set_key_policy(t->k, KDC_DEFAULT_KEYREQ_LEAD, false);
	t_get_tgt(t, 0, 0, &tgt);
	t->now = T_AGENT_USE_UNTIL;      /* use_until is exclusive */
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_AGENT_SERVICE,
	    .ctime = T_AGENT_USE_UNTIL });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
	assert_true(e.has_e_text);
	assert_true(e.e_text.len > strlen(want));
	assert_memory_equal(e.e_text.data, want, strlen(want));
	assert_int_equal(log.calls, 1);
	assert_string_equal(log.last, T_AGENT_SERVICE "@" T_REALM);
}

/* A service with an expired temporary key and a classic key gets the classic one. */
static void
test_classic_fallback(void **state)
{
	tkdc *t = *state;
	keyreq_log log = { 0 };
	t_tgt tgt;
	kc_key skey;
	t_rep r;

	kdc_set_key_request(t->k, record_keyreq, &log);
	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_MIXED_SERVICE, .nonce = 9 });
	t_agent_key(1, 18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, &r);
	assert_int_equal(r.rep.ticket.enc_part.kvno, 1);
	assert_int_equal(log.calls, 1);
	assert_string_equal(log.last, T_MIXED_SERVICE "@" T_REALM);
	kc_key_clear(&skey);
}

/* Without a hook installed the refusal is the same (nothing to call). */
static void
test_no_hook(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	kdc_set_key_policy(t->k, 0, false);
	t_get_tgt(t, 0, 0, &tgt);
	t->now = T_AGENT_USE_UNTIL + 1;
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_AGENT_SERVICE,
	    .ctime = T_AGENT_USE_UNTIL + 1 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
}

/*
 * Grace (the default): past every use_until but before accept_until, the
 * newest temporary key still encrypts the ticket, which ends by its
 * accept_until; the key request goes all the same.
 */
static void
test_grace_key(void **state)
{
	tkdc *t = *state;
	keyreq_log log = { 0 };
	t_tgt tgt;
	t_rep r;

	kdc_set_key_request(t->k, record_keyreq, &log);
	t_get_tgt(t, 0, 0, &tgt);
	agent_tgs_at(t, &tgt, T_AGENT_USE_UNTIL + 60, 12);
	open_agent_rep(t, &tgt, &r);
	assert_true(r.part.endtime <= T_AGENT_ACCEPT_UNTIL);
	assert_int_equal(log.calls, 1);
	assert_string_equal(log.last, T_AGENT_SERVICE "@" T_REALM);
}

/* Grace ends at accept_until: the key the agent dropped is never used. */
static void
test_grace_ends_at_accept_until(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	t_get_tgt(t, 0, 0, &tgt);
	t->now = T_SHORT_ACCEPT_UNTIL;
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_SHORT_SERVICE,
	    .ctime = T_SHORT_ACCEPT_UNTIL });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
}

/*
 * The lead: while the newest key in use ends within it, tickets go under
 * that key and the agent is asked for the next one; before the lead, not.
 */
static void
test_keyreq_lead(void **state)
{
	tkdc *t = *state;
	keyreq_log log = { 0 };
	t_tgt tgt;
	t_rep r;

	kdc_set_key_request(t->k, record_keyreq, &log);
	kdc_set_key_policy(t->k, 300, true);
	t_get_tgt(t, 0, 0, &tgt);
	agent_tgs_at(t, &tgt, T_AGENT_USE_UNTIL - 301, 13);
	assert_int_equal(log.calls, 0);
	agent_tgs_at(t, &tgt, T_AGENT_USE_UNTIL - 300, 14);
	open_agent_rep(t, &tgt, &r);
	assert_int_equal(log.calls, 1);
	assert_string_equal(log.last, T_AGENT_SERVICE "@" T_REALM);
	/* Lead 0: only once no key is in use. */
	kdc_set_key_policy(t->k, 0, true);
	agent_tgs_at(t, &tgt, T_AGENT_USE_UNTIL - 1, 15);
	assert_int_equal(log.calls, 1);
}

/* AS-REQ straight for an agent service picks its temporary key too. */
static void
test_as_for_agent_service(void **state)
{
	tkdc *t = *state;
	der_writer w;
	kc_key ukey, skey;
	t_rep r;

	t_user_key("alice", 18, &ukey);
	der_writer_init(&w, W_MAX);
	t_encode_as_req(&(t_as_req){ .client = "alice", .service = T_AGENT_SERVICE,
	    .nonce = 11, .ts_key = &ukey }, &w);
	tkdc_send_writer(t, &w);
	der_writer_free(&w);
	t_agent_key(T_AGENT_KVNO, 18, &skey);
	t_open_rep(t, KRB_MSG_AS_REP, &ukey, KRB_KU_AS_REP_ENC_PART, &skey, &r);
	assert_int_equal(r.rep.ticket.enc_part.kvno, T_AGENT_KVNO);
	kc_key_clear(&ukey);
	kc_key_clear(&skey);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_newest_temporary_key, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_end_capped_at_accept_until, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_no_current_key, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_classic_fallback, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_no_hook, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_as_for_agent_service, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_grace_key, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_grace_ends_at_accept_until, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_keyreq_lead, tkdc_setup, tkdc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
