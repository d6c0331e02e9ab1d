/* The TGS exchange against the in-memory realm of test_kdc_fixture.c. */
#include "test_kdc_fixture.h"

#include <string.h>

#define W_MAX (1u << 20)

static void
assert_lb_str(lbytes got, const char *want)
{
	assert_int_equal(got.len, strlen(want));
	assert_memory_equal(got.data, want, got.len);
}

static void
gen_subkey(kc_key *k, int32_t etype)
{
	assert_int_equal(kc_key_generate(k, etype), LETHE_OK);
}

static void
test_service_ticket(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	kc_key sub, skey;
	t_rep r;

	t_get_tgt(t, KRB_KDC_OPT_FORWARDABLE, 0, &tgt);
	t->now += 60;
	gen_subkey(&sub, 18);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .nonce = 4242, .subkey = &sub,
	    .ctime = T_NOW + 60, .options = KRB_KDC_OPT_FORWARDABLE });
	t_service_key(18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &sub, KRB_KU_TGS_REP_ENC_PART_SUBKEY, &skey, &r);
	assert_lb_str(r.rep.crealm, T_REALM);
	assert_lb_str(r.rep.cname.components[0], "alice");
	assert_int_equal(r.rep.padata.count, 0);
	assert_int_equal(r.rep.enc_part.etype, 18);
	assert_int_equal(r.rep.ticket.enc_part.etype, 18);
	assert_int_equal(r.rep.ticket.enc_part.kvno, T_SERVICE_KVNO);
	assert_int_equal(r.part.app_tag, KRB_APP_ENC_TGS_REP_PART);
	assert_int_equal(r.part.nonce, 4242);
	assert_int_equal(r.part.sname.n_components, 2);
	assert_lb_str(r.part.sname.components[0], "host");
	assert_lb_str(r.part.sname.components[1], "server.lethe.test");
	assert_int_equal(r.part.authtime, T_NOW);
	assert_int_equal(r.part.starttime, T_NOW + 60);
	assert_int_equal(r.part.endtime, tgt.endtime);       /* bounded by the TGT */
	assert_int_equal(r.part.flags, KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_FORWARDABLE |
	    KRB_TKT_FLG_TRANSITED_POLICY_CHECKED);
	/* The service's view: alice, the same session key, the same times. */
	assert_lb_str(r.ticket.cname.components[0], "alice");
	assert_lb_str(r.ticket.crealm, T_REALM);
	assert_int_equal(r.ticket.key.keytype, r.part.key.keytype);
	assert_int_equal(r.ticket.key.keyvalue.len, r.part.key.keyvalue.len);
	assert_memory_equal(r.ticket.key.keyvalue.data, r.part.key.keyvalue.data,
	    r.part.key.keyvalue.len);
	assert_int_equal(r.ticket.flags, r.part.flags);
	assert_int_equal(r.ticket.authtime, T_NOW);
	assert_int_equal(r.ticket.transited.tr_type, KRB_TR_DOMAIN_X500_COMPRESS);
	kc_key_clear(&sub);
	kc_key_clear(&skey);
}

/* Without a subkey the reply is under the TGT session key, usage 8. */
static void
test_no_subkey(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	kc_key skey;
	t_rep r;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .nonce = 1 });
	t_service_key(18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, &r);
	assert_int_equal(r.part.nonce, 1);
	/* Not forwardable: the TGT is not. */
	assert_int_equal(r.part.flags, KRB_TKT_FLG_PRE_AUTHENT |
	    KRB_TKT_FLG_TRANSITED_POLICY_CHECKED);
	kc_key_clear(&skey);
}

static int32_t
tgs_error(tkdc *t, const t_tgs_req *in)
{
	krb_error e;

	tkdc_send_tgs(t, in);
	return tkdc_error(t, &e);
}

static void
test_bad_checksum(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .corrupt_cksum = true });
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_MODIFIED);
	assert_true(e.has_cname);       /* known from the TGT */
	assert_lb_str(e.cname.components[0], "alice");
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .no_cksum = true }),
	    KRB_AP_ERR_INAPP_CKSUM);
	/* An unkeyed type (RSA-MD5, 7) is refused before anything is compared. */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .cksumtype = 7 }),
	    KRB_AP_ERR_INAPP_CKSUM);
	/* A keyed type of another enctype (hmac-sha1-96-aes128 with an aes256 key). */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .cksumtype = 15 }),
	    KRB_AP_ERR_INAPP_CKSUM);
}

static void
test_authenticator_skew(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .ctime = T_NOW + 412 });
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_SKEW);
	assert_true(e.has_e_text);
	assert_lb_str(e.e_text, "client's clock is 412 s ahead (allowed 300 s)");
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .ctime = T_NOW - 301 }),
	    KRB_AP_ERR_SKEW);
	/* The authenticator must name the TGT's client. */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .auth_client = "bob" }),
	    KRB_AP_ERR_BADMATCH);
}

static void
test_expired_tgt(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;

	t_get_tgt(t, 0, 0, &tgt);
	t_rep r;

	t->now = tgt.endtime - 1;
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .ctime = t->now });
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, NULL, &r);
	assert_int_equal(r.part.endtime, tgt.endtime);
	t->now = tgt.endtime;
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .ctime = t->now }),
	    KRB_AP_ERR_TKT_EXPIRED);
}

static void
test_renew(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	kc_key sub, tkey;
	t_rep r;

	t_get_tgt(t, KRB_KDC_OPT_RENEWABLE, T_NOW + 2 * 86400, &tgt);
	assert_true(tgt.flags & KRB_TKT_FLG_RENEWABLE);
	t->now = T_NOW + 5 * 3600;
	gen_subkey(&sub, 18);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = "krbtgt/" T_REALM,
	    .options = KRB_KDC_OPT_RENEW, .ctime = t->now, .subkey = &sub, .nonce = 8 });
	t_tgs_key(T_TGS_KVNO, 18, &tkey);
	t_open_rep(t, KRB_MSG_TGS_REP, &sub, KRB_KU_TGS_REP_ENC_PART_SUBKEY, &tkey, &r);
	assert_int_equal(r.part.starttime, T_NOW + 5 * 3600);
	assert_int_equal(r.part.endtime, T_NOW + 15 * 3600);     /* now + the 10 h life */
	assert_int_equal(r.part.renew_till, T_NOW + 2 * 86400);  /* unchanged */
	assert_int_equal(r.part.authtime, T_NOW);
	assert_true(r.part.flags & KRB_TKT_FLG_RENEWABLE);
	/* Only the AS exchange makes INITIAL tickets; pre-authentication is carried over. */
	assert_false(r.part.flags & KRB_TKT_FLG_INITIAL);
	assert_false(r.ticket.flags & KRB_TKT_FLG_INITIAL);
	assert_true(r.ticket.flags & KRB_TKT_FLG_PRE_AUTHENT);
	assert_lb_str(r.ticket.cname.components[0], "alice");
	/* An expired TGT cannot be renewed, renewable or not. */
	t->now = T_NOW + 2 * 86400 - 3600;
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = "krbtgt/" T_REALM,
	    .options = KRB_KDC_OPT_RENEW, .ctime = t->now, .subkey = &sub, .nonce = 9 });
	{
		krb_error e;
		assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_TKT_EXPIRED);
	}
	/* Near renew_till the new end time is capped by it. */
	t->now = T_NOW;
	t_get_tgt(t, KRB_KDC_OPT_RENEWABLE, T_NOW + 12 * 3600, &tgt);
	t->now = T_NOW + 9 * 3600;
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = "krbtgt/" T_REALM,
	    .options = KRB_KDC_OPT_RENEW, .ctime = t->now, .subkey = &sub, .nonce = 10 });
	t_open_rep(t, KRB_MSG_TGS_REP, &sub, KRB_KU_TGS_REP_ENC_PART_SUBKEY, &tkey, &r);
	assert_int_equal(r.part.endtime, T_NOW + 12 * 3600);
	assert_int_equal(r.part.renew_till, T_NOW + 12 * 3600);
	kc_key_clear(&sub);
	kc_key_clear(&tkey);
}

static void
test_renew_refused(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;

	t_get_tgt(t, 0, 0, &tgt);       /* not renewable */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .service = "krbtgt/" T_REALM,
	    .options = KRB_KDC_OPT_RENEW }), KDC_ERR_BADOPTION);
	t_get_tgt(t, KRB_KDC_OPT_RENEWABLE, T_NOW + 86400, &tgt);
	/* RENEW must ask for the ticket's own service. */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .options = KRB_KDC_OPT_RENEW }),
	    KDC_ERR_BADOPTION);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt,
	    .options = KRB_KDC_OPT_VALIDATE }), KDC_ERR_BADOPTION);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt,
	    .options = KRB_KDC_OPT_ENC_TKT_IN_SKEY }), KDC_ERR_BADOPTION);
	/* FORWARDED needs a forwardable TGT. */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt,
	    .options = KRB_KDC_OPT_FORWARDED }), KDC_ERR_BADOPTION);
}

static void
test_unknown_service_and_realm(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = "HTTP/www.lethe.test" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
	assert_int_equal(e.sname.n_components, 2);
	assert_lb_str(e.sname.components[0], "HTTP");
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .realm = "EXAMPLE.COM" }),
	    KDC_ERR_WRONG_REALM);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .service = "nosvc" }),
	    KDC_ERR_S_PRINCIPAL_UNKNOWN);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt, .no_pa_tgs_req = true }),
	    KDC_ERR_PADATA_TYPE_NOSUPP);
}

/* Kerberoasting a user: alice's TGT asks for a ticket for bob (or herself). */
static void
test_user_not_a_server(void **state)
{
	static const char *users[] = { "bob", "alice", "carol", "nosvc" };
	tkdc *t = *state;
	t_tgt tgt;
	krb_error e;

	t_get_tgt(t, 0, 0, &tgt);
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = users[i] });
		assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
		assert_true(e.has_e_text);
		assert_int_equal(e.sname.n_components, 1);
		assert_lb_str(e.sname.components[0], users[i]);
	}
}

/* A user an administrator allowed as a server gets tickets under its key. */
static void
test_allowed_user_server(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;
	kc_key skey;
	t_rep r;

	t_get_tgt(t, 0, 0, &tgt);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .service = T_SVR_USER, .nonce = 3 });
	t_user_key(T_SVR_USER, 18, &skey);
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, &r);
	assert_int_equal(r.part.nonce, 3);
	assert_lb_str(r.part.sname.components[0], T_SVR_USER);
	assert_lb_str(r.ticket.cname.components[0], "alice");
	kc_key_clear(&skey);
}

/* Rewrite the TGT's enc-part kvno or a cipher byte, re-encoding the ticket. */
static void
tamper_tgt(t_tgt *tgt, uint32_t kvno, bool flip)
{
	lethe_arena a;
	der_writer w;
	krb_ticket tk;
	uint8_t *cipher;
	lbytes out;

	lethe_arena_init(&a, 1u << 16);
	assert_int_equal(krb_decode_ticket(&a, tgt->ticket, tgt->ticket_len, &tk), LETHE_OK);
	tk.raw = (lbytes){ NULL, 0 };
	tk.enc_part.kvno = kvno;
	cipher = lethe_arena_alloc(&a, tk.enc_part.cipher.len);
	memcpy(cipher, tk.enc_part.cipher.data, tk.enc_part.cipher.len);
	if (flip)
		cipher[20] ^= 0x40;
	tk.enc_part.cipher.data = cipher;
	der_writer_init(&w, W_MAX);
	assert_int_equal(krb_encode_ticket(&w, &tk), LETHE_OK);
	out = der_written(&w);
	memcpy(tgt->ticket, out.data, out.len);
	tgt->ticket_len = out.len;
	der_writer_free(&w);
	lethe_arena_free(&a);
}

static void
test_tgt_key_problems(void **state)
{
	tkdc *t = *state;
	t_tgt tgt;

	t_get_tgt(t, 0, 0, &tgt);
	tamper_tgt(&tgt, 99, false);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt }), KRB_AP_ERR_BADKEYVER);
	tamper_tgt(&tgt, 1, false);     /* kvno 1 exists (aes256) but is not the key used */
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt }), KRB_AP_ERR_BAD_INTEGRITY);
	tamper_tgt(&tgt, T_TGS_KVNO, true);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &tgt }), KRB_AP_ERR_BAD_INTEGRITY);
}

/* A service ticket presented as a TGT is refused: it is not for krbtgt. */
static void
test_not_a_tgt(void **state)
{
	tkdc *t = *state;
	t_tgt tgt, svc;
	kc_key sub;
	t_rep r;

	t_get_tgt(t, 0, 0, &tgt);
	gen_subkey(&sub, 18);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .subkey = &sub });
	t_open_rep(t, KRB_MSG_TGS_REP, &sub, KRB_KU_TGS_REP_ENC_PART_SUBKEY, NULL, &r);
	memset(&svc, 0, sizeof(svc));
	memcpy(svc.ticket, r.rep.ticket.raw.data, r.rep.ticket.raw.len);
	svc.ticket_len = r.rep.ticket.raw.len;
	assert_int_equal(kc_key_init(&svc.session, r.part.key.keytype, r.part.key.keyvalue),
	    LETHE_OK);
	assert_int_equal(tgs_error(t, &(t_tgs_req){ .tgt = &svc }), KRB_AP_ERR_NOT_US);
	kc_key_clear(&sub);
}

static void
test_authdata_passthrough(void **state)
{
	static const uint8_t blob[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	krb_ad_entry ad = { 71, { blob, sizeof(blob) } };
	krb_authdata list = { &ad, 1 };
	tkdc *t = *state;
	t_tgt tgt;
	kc_key sub, skey;
	t_rep r;

	t_get_tgt(t, 0, 0, &tgt);
	t_service_key(18, &skey);
	/* With a subkey (usage 5) ... */
	gen_subkey(&sub, 17);
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .subkey = &sub, .authdata = &list });
	t_open_rep(t, KRB_MSG_TGS_REP, &sub, KRB_KU_TGS_REP_ENC_PART_SUBKEY, &skey, &r);
	assert_int_equal(r.rep.enc_part.etype, 17);
	assert_int_equal(r.ticket.authorization_data.count, 1);
	assert_int_equal(r.ticket.authorization_data.items[0].ad_type, 71);
	assert_int_equal(r.ticket.authorization_data.items[0].ad_data.len, sizeof(blob));
	assert_memory_equal(r.ticket.authorization_data.items[0].ad_data.data, blob, sizeof(blob));
	/* ... and with the session key (usage 4). */
	tkdc_send_tgs(t, &(t_tgs_req){ .tgt = &tgt, .authdata = &list });
	t_open_rep(t, KRB_MSG_TGS_REP, &tgt.session, KRB_KU_TGS_REP_ENC_PART_SESSKEY, &skey, &r);
	assert_int_equal(r.ticket.authorization_data.count, 1);
	kc_key_clear(&sub);
	kc_key_clear(&skey);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_service_ticket, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_no_subkey, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_authenticator_skew, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_expired_tgt, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_renew, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_renew_refused, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_service_and_realm, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_user_not_a_server, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_allowed_user_server, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_tgt_key_problems, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_not_a_tgt, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_authdata_passthrough, tkdc_setup, tkdc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
