/*
 * Public-key tickets (DESIGN §2): when an agent-managed service has no
 * temporary key in use and its policy allows it, the KDC seals the ticket
 * to the service's certificate, signed with the KDC credential;
 * liblethe's acceptor opens it with the service's private key, and
 * nothing else does, and uses it only when the signature is by the KDC
 * certificate it is configured with. Also: a service whose
 * policy forbids its classic key gets no ticket under it.
 */
#include "test_kdc_fixture.h"
#include "reg_test_pki.h"

#include <stdio.h>
#include <string.h>

#include "acceptor/acceptor.h"

#define W_MAX (1u << 20)

static rtp_pki *pki;

static void
allow_pubkey(kdc_snapshot *snap)
{
	reg_identity *signer = rtp_identity(&pki->kdc);

	/* What kdc_snapshot_load reads from the store's KDC credential. */
	assert_int_equal(kdc_snapshot_set_ticket_signer(snap, signer), LETHE_OK);
	reg_identity_free(signer);
	assert_int_equal(kdc_snapshot_set_service(snap, T_AGENT_SERVICE "@" T_REALM, true,
	    pki->server_san.cert), LETHE_OK);
	assert_int_equal(kdc_snapshot_set_service(snap, T_MIXED_SERVICE "@" T_REALM, false,
	    NULL), LETHE_OK);
	assert_int_equal(kdc_snapshot_set_service(snap, "nobody@" T_REALM, true, NULL),
	    LETHE_ERR_NOT_FOUND);
}

static int
setup(void **state)
{
	tkdc_snapshot_hook = allow_pubkey;
	return tkdc_setup(state);
}

static int
teardown(void **state)
{
	tkdc_snapshot_hook = NULL;
	return tkdc_teardown(state);
}

static void
acceptor_clock(void *arg, int64_t *sec, int32_t *usec)
{
	const tkdc *t = arg;

	*sec = t->now;
	*usec = 0;
}

/* An AP-REQ for ticket with an authenticator from alice at t->now. */
static lbytes
make_ap_req(tkdc *t, const krb_ticket *ticket, kc_key *session)
{
	der_writer w;
	krb_ap_req ap = { 0 };
	krb_authenticator a = {
		.crealm = LBYTES_LIT(T_REALM),
		.cname = t_name("alice"),
		.cusec = 5,
		.ctime = t->now,
	};
	uint8_t cipher[1024];
	size_t cipher_len;
	lbytes plain, out;

	der_writer_init(&w, W_MAX);
	assert_int_equal(krb_encode_authenticator(&w, &a), LETHE_OK);
	plain = der_written(&w);
	assert_int_equal(kc_encrypt(session, KRB_KU_AP_REQ_AUTH, plain, cipher, sizeof(cipher),
	    &cipher_len), LETHE_OK);
	der_writer_reset(&w);
	ap.ticket = *ticket;
	ap.authenticator = (krb_enc_data){ .etype = kc_key_enctype(session),
		.cipher = lbytes_make(cipher, cipher_len) };
	assert_int_equal(krb_encode_ap_req(&w, &ap), LETHE_OK);
	out = der_written(&w);
	plain.data = malloc(out.len);
	assert_non_null(plain.data);
	memcpy((uint8_t *)plain.data, out.data, out.len);
	plain.len = out.len;
	der_writer_free(&w);
	return plain;
}

/*
 * Verify req with an acceptor holding identity (may be NULL) and trusting
 * kdc_cert as the KDC's; the reason.
 */
static acc_reason
accept_with(tkdc *t, lbytes req, const reg_identity *identity, X509 *kdc_cert)
{
	acc_params p = { .keytab_path = "no-such-keytab", .clock = acceptor_clock,
		.clock_arg = t, .pubkey_identity = identity,
		.pubkey_kdc_certs = &kdc_cert, .n_pubkey_kdc_certs = 1 };
	acc_ctx *ctx = NULL;
	acc_verified v;
	acc_error err;
	acc_reason reason;

	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_OK);
	(void)acc_verify_ap_req(ctx, req.data, req.len, &v, &err);
	reason = err.reason;
	if (reason == ACC_ACCEPTED) {
		assert_int_equal(v.kvno, 0);
		assert_int_equal(v.ticket_etype, REG_ENCTYPE_PUBKEY_TICKET);
		assert_int_equal(v.client.n_components, 1);
		assert_memory_equal(v.client.components[0].data, "alice", 5);
	}
	acc_verified_clear(&v);
	acc_ctx_free(ctx);
	return reason;
}

static void
test_pubkey_ticket(void **state)
{
	tkdc *t = *state;
	reg_identity *mine = rtp_identity(&pki->server_san);
	reg_identity *other = rtp_identity(&pki->other);
	t_tgt tgt;
	t_rep r;
	kc_key session;
	lbytes req;

	t_get_tgt(t, 0, 0, &tgt);
	t->now = T_AGENT_USE_UNTIL + 5;     /* every temporary key is past use_until */
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_AGENT_SERVICE, .nonce = 3,
	    .ctime = t->now });
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, NULL, &r);
	assert_int_equal(r.rep.ticket.enc_part.etype, REG_ENCTYPE_PUBKEY_TICKET);
	assert_false(r.rep.ticket.enc_part.has_kvno);
	assert_int_equal(r.part.endtime, tgt.endtime);   /* the certificate lasts longer */
	assert_int_equal(kc_key_init(&session, r.part.key.keytype, r.part.key.keyvalue),
	    LETHE_OK);
	req = make_ap_req(t, &r.rep.ticket, &session);
	assert_int_equal(accept_with(t, req, mine, pki->kdc.cert), ACC_ACCEPTED);
	/* Trusting another certificate as the KDC's: the KDC's signature is refused. */
	assert_int_equal(accept_with(t, req, mine, pki->other.cert), ACC_TICKET_SIGNATURE);
	assert_int_equal(accept_with(t, req, other, pki->kdc.cert), ACC_TICKET_INTEGRITY);
	assert_int_equal(accept_with(t, req, NULL, pki->kdc.cert), ACC_ETYPE);
	free((void *)req.data);
	kc_key_clear(&session);
	reg_identity_free(mine);
	reg_identity_free(other);
}

/* While a temporary key is in use it wins over the public key. */
static void
test_temporary_key_first(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	t_rep r;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_AGENT_SERVICE, .nonce = 4 });
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, NULL, &r);
	assert_int_equal(r.rep.ticket.enc_part.etype, 18);
	assert_int_equal(r.rep.ticket.enc_part.kvno, T_AGENT_KVNO);
}

/*
 * Classic key forbidden by policy, temporary key past use_until: the
 * grace key (before its accept_until) by default; no ticket without grace.
 */
static void
test_classic_key_forbidden(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_MIXED_SERVICE, .nonce = 3 });
	assert_int_equal(t->rep[0], 0x6d);      /* a TGS-REP, [APPLICATION 13] */
	kdc_set_key_policy(t->k, KDC_DEFAULT_KEYREQ_LEAD, false);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_MIXED_SERVICE, .nonce = 4 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pubkey_ticket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temporary_key_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classic_key_forbidden, setup, teardown),
	};
	int rc;

	pki = rtp_pki_new(T_NOW);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rtp_pki_free(pki);
	return rc;
}
