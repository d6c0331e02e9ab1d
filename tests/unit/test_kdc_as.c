/* The AS exchange against the in-memory realm of test_kdc_fixture.c. */
#include "test_kdc_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W_MAX (1u << 20)

static void
assert_lb_str(lbytes got, const char *want)
{
	assert_int_equal(got.len, strlen(want));
	assert_memory_equal(got.data, want, got.len);
}

static void
assert_name(const krb_principal_name *n, const char *a, const char *b)
{
	assert_int_equal(n->n_components, b ? 2 : 1);
	assert_lb_str(n->components[0], a);
	if (b)
		assert_lb_str(n->components[1], b);
}

/* Send an AS-REQ built from in. */
static void
send_as(tkdc *t, const t_as_req *in)
{
	der_writer w;

	der_writer_init(&w, W_MAX);
	t_encode_as_req(in, &w);
	tkdc_send_writer(t, &w);
	der_writer_free(&w);
}

/* e-data = METHOD-DATA { PA-ETYPE-INFO2 { etype, salt [, s2kparams] }, PA-ENC-TIMESTAMP {} } */
static void
assert_preauth_edata(tkdc *t, const krb_error *e, int32_t etype, const char *salt,
    const uint8_t *s2kparams)
{
	krb_method_data md;
	krb_etype_info2 info;
	const krb_pa_data *pa;

	assert_true(e->has_e_data);
	assert_int_equal(krb_decode_method_data(&t->carena, e->e_data.data, e->e_data.len, &md),
	    LETHE_OK);
	assert_int_equal(md.count, 2);
	assert_int_equal(md.items[0].padata_type, KRB_PA_ETYPE_INFO2);
	assert_int_equal(md.items[1].padata_type, KRB_PA_ENC_TIMESTAMP);
	assert_int_equal(md.items[1].padata_value.len, 0);
	pa = krb_find_padata(&md, KRB_PA_ETYPE_INFO2);
	assert_non_null(pa);
	assert_int_equal(krb_decode_etype_info2(&t->carena, pa->padata_value.data,
	    pa->padata_value.len, &info), LETHE_OK);
	assert_int_equal(info.count, 1);
	assert_int_equal(info.items[0].etype, etype);
	assert_true(info.items[0].has_salt);
	assert_lb_str(info.items[0].salt, salt);
	assert_int_equal(info.items[0].has_s2kparams, s2kparams != NULL);
	if (s2kparams != NULL) {
		assert_int_equal(info.items[0].s2kparams.len, 4);
		assert_memory_equal(info.items[0].s2kparams.data, s2kparams, 4);
	}
}

static void
test_preauth_required(void **state)
{
	tkdc *t = *state;
	krb_error e;

	send_as(t, &(t_as_req){ .client = "alice", .nonce = 1 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_REQUIRED);
	assert_int_equal(e.stime, T_NOW);
	assert_int_equal(e.susec, T_USEC);
	assert_lb_str(e.realm, T_REALM);
	assert_name(&e.sname, "krbtgt", T_REALM);
	assert_true(e.has_cname && e.has_crealm);
	assert_name(&e.cname, "alice", NULL);
	assert_lb_str(e.crealm, T_REALM);
	assert_preauth_edata(t, &e, 18, T_REALM "alice", NULL);
}

/* The ETYPE-INFO2 follows the client's first enctype, with a stored salt and s2kparams. */
static void
test_preauth_required_etype_info(void **state)
{
	static const int32_t e17[] = { 17, 18 };
	static const uint8_t iter[4] = { 0, 0, 0x20, 0x00 };
	tkdc *t = *state;
	krb_error e;

	send_as(t, &(t_as_req){ .client = "alice", .etypes = e17, .n_etypes = 2 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_REQUIRED);
	assert_preauth_edata(t, &e, 17, T_REALM "alice", NULL);
	send_as(t, &(t_as_req){ .client = "frank" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_REQUIRED);
	assert_preauth_edata(t, &e, 18, T_FRANK_SALT, iter);
}

static void
check_tgt_reply(tkdc *t, int32_t etype, uint32_t nonce)
{
	kc_key ukey, tkey;
	t_rep r;

	t_user_key("alice", etype, &ukey);
	t_tgs_key(T_TGS_KVNO, 18, &tkey);
	t_open_rep(t, KRB_MSG_AS_REP, &ukey, KRB_KU_AS_REP_ENC_PART, &tkey, &r);
	/* The reply. */
	assert_int_equal(r.rep.enc_part.etype, etype);
	assert_lb_str(r.rep.crealm, T_REALM);
	assert_name(&r.rep.cname, "alice", NULL);
	assert_int_equal(r.rep.padata.count, 1);
	assert_int_equal(r.rep.padata.items[0].padata_type, KRB_PA_ETYPE_INFO2);
	/* The ticket: under krbtgt kvno 2, aes256 (the policy's first choice). */
	assert_lb_str(r.rep.ticket.realm, T_REALM);
	assert_name(&r.rep.ticket.sname, "krbtgt", T_REALM);
	assert_int_equal(r.rep.ticket.enc_part.etype, 18);
	assert_true(r.rep.ticket.enc_part.has_kvno);
	assert_int_equal(r.rep.ticket.enc_part.kvno, T_TGS_KVNO);
	/* EncASRepPart. */
	assert_int_equal(r.part.app_tag, KRB_APP_ENC_AS_REP_PART);
	assert_int_equal(r.part.nonce, nonce);
	assert_lb_str(r.part.srealm, T_REALM);
	assert_name(&r.part.sname, "krbtgt", T_REALM);
	assert_int_equal(r.part.authtime, T_NOW);
	assert_int_equal(r.part.starttime, T_NOW);
	assert_int_equal(r.part.endtime, T_NOW + 10 * 3600);
	assert_int_equal(r.part.flags, KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT);
	assert_int_equal(r.part.last_req.count, 1);
	assert_int_equal(r.part.key.keytype, 18);   /* first client etype krbtgt holds */
	assert_int_equal(r.part.key.keyvalue.len, 32);
	/* The EncTicketPart agrees: client, session key, times, flags. */
	assert_name(&r.ticket.cname, "alice", NULL);
	assert_lb_str(r.ticket.crealm, T_REALM);
	assert_int_equal(r.ticket.key.keytype, r.part.key.keytype);
	assert_memory_equal(r.ticket.key.keyvalue.data, r.part.key.keyvalue.data, 32);
	assert_int_equal(r.ticket.flags, r.part.flags);
	assert_int_equal(r.ticket.endtime, r.part.endtime);
	assert_int_equal(r.ticket.authtime, T_NOW);
	kc_key_clear(&ukey);
	kc_key_clear(&tkey);
}

static void
test_enc_timestamp_ok(void **state)
{
	tkdc *t = *state;
	kc_key key;

	t_user_key("alice", 18, &key);
	send_as(t, &(t_as_req){ .client = "alice", .nonce = 0x7fedcba9, .ts_key = &key });
	check_tgt_reply(t, 18, 0x7fedcba9);
	kc_key_clear(&key);
}

/* Each enctype in turn: the reply key follows the client's list. */
static void
test_each_enctype(void **state)
{
	static const int32_t ets[] = { 17, 18, 19, 20 };
	tkdc *t = *state;
	kc_key key;

	for (size_t i = 0; i < 4; i++) {
		t_user_key("alice", ets[i], &key);
		send_as(t, &(t_as_req){ .client = "alice", .nonce = (uint32_t)i, .etypes = &ets[i],
		    .n_etypes = 1, .ts_key = &key });
		{
			kc_key tkey;
			t_rep r;
			t_tgs_key(T_TGS_KVNO, 18, &tkey);
			t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, &tkey, &r);
			assert_int_equal(r.rep.enc_part.etype, ets[i]);
			assert_int_equal(r.part.key.keytype, ets[i]);
			assert_int_equal(r.part.nonce, i);
			kc_key_clear(&tkey);
		}
		kc_key_clear(&key);
	}
}

static void
test_wrong_password(void **state)
{
	tkdc *t = *state;
	kc_key key;
	krb_error e;

	t_user_key("bob", 18, &key);     /* bob's password, alice's salt differs too */
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_FAILED);
	assert_true(t_etext_has(&e, "wrong password"));
	assert_preauth_edata(t, &e, 18, T_REALM "alice", NULL);
	kc_key_clear(&key);
}

static void
test_skew(void **state)
{
	tkdc *t = *state;
	kc_key key;
	krb_error e;

	t_user_key("alice", 18, &key);
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key, .ts_time = T_NOW - 412 });
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_SKEW);
	assert_true(t_etext_has(&e, "client's clock is 412 s behind (allowed 300 s)"));
	assert_int_equal(e.stime, T_NOW);
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key, .ts_time = T_NOW + 301 });
	assert_int_equal(tkdc_error(t, &e), KRB_AP_ERR_SKEW);
	assert_true(t_etext_has(&e, "301 s ahead"));
	/* Within the skew: accepted. */
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key, .ts_time = T_NOW + 300 });
	assert_int_equal(t->rep[0], 0x6b);
	kc_key_clear(&key);
}

static void
test_unknown_principals(void **state)
{
	tkdc *t = *state;
	krb_error e;

	send_as(t, &(t_as_req){ .client = "mallory" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_C_PRINCIPAL_UNKNOWN);
	assert_name(&e.cname, "mallory", NULL);
	assert_true(t_etext_has(&e, "mallory@LETHE.TEST"));
	send_as(t, &(t_as_req){ .client = "bob", .service = "host/nowhere" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
	assert_name(&e.sname, "host", "nowhere");
	/* A principal of a foreign realm is not in the snapshot. */
	send_as(t, &(t_as_req){ .client = "other", .realm = "OTHER.REALM" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_WRONG_REALM);
}

static void
test_wrong_realm(void **state)
{
	tkdc *t = *state;
	krb_error e;

	send_as(t, &(t_as_req){ .client = "alice", .realm = "EXAMPLE.COM" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_WRONG_REALM);
	assert_lb_str(e.realm, T_REALM);
	assert_lb_str(e.crealm, "EXAMPLE.COM");
	assert_true(t_etext_has(&e, "LETHE.TEST"));
}

static void
test_etype_nosupp(void **state)
{
	static const int32_t rc4[] = { 23, 16 }, aes256[] = { 18 };
	tkdc *t = *state;
	krb_error e;

	send_as(t, &(t_as_req){ .client = "alice", .etypes = rc4, .n_etypes = 2 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_ETYPE_NOSUPP);
	assert_true(t_etext_has(&e, "23,16"));
	/* carol holds only an aes128 key. */
	send_as(t, &(t_as_req){ .client = "carol", .etypes = aes256, .n_etypes = 1 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_ETYPE_NOSUPP);
	/* ... and with aes128 allowed she gets her hint. */
	send_as(t, &(t_as_req){ .client = "carol" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_REQUIRED);
	assert_preauth_edata(t, &e, 17, T_REALM "carol", NULL);
}

static void
test_no_preauth_user(void **state)
{
	tkdc *t = *state;
	kc_key ukey, tkey;
	t_rep r;

	send_as(t, &(t_as_req){ .client = "bob", .nonce = 5 });
	t_user_key("bob", 18, &ukey);
	t_tgs_key(T_TGS_KVNO, 18, &tkey);
	t_open_rep(t, KRB_MSG_AS_REP, &ukey, KRB_KU_AS_REP_ENC_PART, &tkey, &r);
	assert_int_equal(r.part.nonce, 5);
	assert_int_equal(r.part.flags, KRB_TKT_FLG_INITIAL);   /* no PRE_AUTHENT */
	assert_name(&r.ticket.cname, "bob", NULL);
	kc_key_clear(&ukey);
	kc_key_clear(&tkey);
}

static void
test_revoked_and_expired(void **state)
{
	tkdc *t = *state;
	krb_error e;

	send_as(t, &(t_as_req){ .client = "dave" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_CLIENT_REVOKED);
	send_as(t, &(t_as_req){ .client = "eve" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_NAME_EXP);
	send_as(t, &(t_as_req){ .client = "bob", .service = "nosvc" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
}

/*
 * Attack: an AS-REQ as krbtgt (which needs no key of the asker) for a user
 * would seal a ticket under the user's password key. Refused by name,
 * whatever the server, known or not, before any key is chosen.
 */
static void
test_krbtgt_never_a_client(void **state)
{
	static const char *servers[] = { "alice", T_SVR_USER, ("krbtgt/" T_REALM), T_SERVICE };
	tkdc *t = *state;
	krb_error e;

	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		send_as(t, &(t_as_req){ .client = "krbtgt/" T_REALM, .service = servers[i] });
		assert_int_equal(tkdc_error(t, &e), KDC_ERR_POLICY);
		assert_true(t_etext_has(&e, "krbtgt/" T_REALM "@" T_REALM " cannot be a client"));
		assert_false(e.has_e_data);     /* no pre-authentication hints */
	}
	send_as(t, &(t_as_req){ .client = "krbtgt/OTHER.REALM", .service = "alice" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_POLICY);
}

/*
 * Attack: an AS-REQ without pre-authentication as a service or an agent
 * (or a user without requires_preauth) naming a user as the server.
 * Refused before pre-authentication, so nothing under the user's key.
 */
static void
test_user_not_a_server(void **state)
{
	static const char *clients[] = { T_SERVICE, T_AGENT_SERVICE, "bob" };
	tkdc *t = *state;
	krb_error e;

	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		send_as(t, &(t_as_req){ .client = clients[i], .service = "alice" });
		assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
		assert_true(t_etext_has(&e, "alice@" T_REALM " is a user, not a service"));
		assert_false(e.has_e_data);
	}
	/* Not even with the user's own pre-authentication. */
	send_as(t, &(t_as_req){ .client = "bob", .service = "bob" });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_S_PRINCIPAL_UNKNOWN);
}

/* A user an administrator allowed (no_service clear) is a server, as MIT's +allow_svr. */
static void
test_allowed_user_server(void **state)
{
	tkdc *t = *state;
	kc_key key, skey;
	t_rep r;

	t_user_key("alice", 18, &key);
	t_user_key(T_SVR_USER, 18, &skey);
	send_as(t, &(t_as_req){ .client = "alice", .service = T_SVR_USER, .ts_key = &key });
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, &skey, &r);
	assert_name(&r.part.sname, T_SVR_USER, NULL);
	assert_name(&r.ticket.cname, "alice", NULL);
	kc_key_clear(&key);
	kc_key_clear(&skey);
}

/* MIT kinit -k with a service keytab: PREAUTH_REQUIRED, then an encrypted timestamp. */
static void
test_service_preauth(void **state)
{
	tkdc *t = *state;
	kc_key key, tkey;
	krb_error e;
	t_rep r;

	send_as(t, &(t_as_req){ .client = T_SERVICE });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_REQUIRED);
	assert_preauth_edata(t, &e, 18, T_REALM "hostserver.lethe.test", NULL);
	t_service_key(18, &key);
	t_tgs_key(T_TGS_KVNO, 18, &tkey);
	send_as(t, &(t_as_req){ .client = T_SERVICE, .ts_key = &key, .nonce = 9 });
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, &tkey, &r);
	assert_int_equal(r.part.nonce, 9);
	assert_true(r.part.flags & KRB_TKT_FLG_PRE_AUTHENT);
	assert_name(&r.ticket.cname, "host", "server.lethe.test");
	kc_key_clear(&key);
	kc_key_clear(&tkey);
}

static void
test_options_flags_and_times(void **state)
{
	tkdc *t = *state;
	kc_key key, tkey;
	t_rep r;

	t_user_key("alice", 18, &key);
	t_tgs_key(T_TGS_KVNO, 18, &tkey);
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key, .till = T_NOW + 3600,
	    .options = KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_PROXIABLE | KRB_KDC_OPT_RENEWABLE,
	    .rtime = T_NOW + 30 * 86400 });
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, &tkey, &r);
	assert_int_equal(r.part.flags, KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT |
	    KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_PROXIABLE | KRB_TKT_FLG_RENEWABLE);
	assert_int_equal(r.part.endtime, T_NOW + 3600);
	assert_true(r.part.has_renew_till);
	assert_int_equal(r.part.renew_till, T_NOW + 7 * 86400);
	assert_true(r.ticket.has_renew_till);
	assert_int_equal(r.ticket.renew_till, T_NOW + 7 * 86400);
	/* renewable-ok (kinit's default) with till past the maximum life. */
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key,
	    .options = KRB_KDC_OPT_RENEWABLE_OK, .till = T_NOW + 86400 });
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, &tkey, &r);
	assert_true(r.part.flags & KRB_TKT_FLG_RENEWABLE);
	assert_int_equal(r.part.endtime, T_NOW + 10 * 3600);
	assert_int_equal(r.part.renew_till, T_NOW + 86400);
	kc_key_clear(&key);
	kc_key_clear(&tkey);
}

static void
test_bad_options(void **state)
{
	static const uint32_t bad[] = { KRB_KDC_OPT_POSTDATED, KRB_KDC_OPT_ALLOW_POSTDATE,
		KRB_KDC_OPT_VALIDATE, KRB_KDC_OPT_RENEW, KRB_KDC_OPT_FORWARDED,
		KRB_KDC_OPT_ENC_TKT_IN_SKEY };
	tkdc *t = *state;
	kc_key key;
	krb_error e;

	t_user_key("alice", 18, &key);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key, .options = bad[i] });
		assert_int_equal(tkdc_error(t, &e), KDC_ERR_BADOPTION);
		assert_true(e.has_e_text);
	}
	/* A till in the past can never be valid. */
	send_as(t, &(t_as_req){ .client = "alice", .ts_key = &key, .till = T_NOW - 1 });
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_NEVER_VALID);
	kc_key_clear(&key);
}

/* A service ticket straight from the AS exchange (kinit -S). */
static void
test_as_for_service(void **state)
{
	static const int32_t e17[] = { 17 };
	tkdc *t = *state;
	kc_key key, skey;
	t_rep r;

	t_user_key("alice", 17, &key);
	t_service_key(18, &skey);
	send_as(t, &(t_as_req){ .client = "alice", .service = T_SERVICE, .ts_key = &key,
	    .etypes = e17, .n_etypes = 1, .options = KRB_KDC_OPT_CANONICALIZE });
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, &skey, &r);
	assert_int_equal(r.rep.ticket.enc_part.etype, 18);
	assert_int_equal(r.rep.ticket.enc_part.kvno, T_SERVICE_KVNO);
	assert_int_equal(r.part.key.keytype, 17);
	assert_name(&r.part.sname, "host", "server.lethe.test");
	assert_name(&r.ticket.cname, "alice", NULL);
	kc_key_clear(&key);
	kc_key_clear(&skey);
}

/* RFC 6806 §11: the reply carries a checksum of the AS-REQ exactly as sent. */
static void
test_enc_pa_rep(void **state)
{
	tkdc *t = *state;
	kc_key key;
	der_writer w;
	lbytes sent;
	uint8_t *copy;
	krb_checksum ck;
	t_rep r;

	t_user_key("alice", 20, &key);
	der_writer_init(&w, W_MAX);
	t_encode_as_req(&(t_as_req){ .client = "alice", .ts_key = &key, .enc_pa_rep = true,
	    .etypes = (const int32_t[]){ 20 }, .n_etypes = 1 }, &w);
	sent = der_written(&w);
	copy = malloc(sent.len);
	assert_non_null(copy);
	memcpy(copy, sent.data, sent.len);
	tkdc_send_writer(t, &w);
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, NULL, &r);
	assert_true(r.part.flags & KRB_TKT_FLG_ENC_PA_REP);
	assert_int_equal(r.part.encrypted_pa_data.count, 1);
	assert_int_equal(r.part.encrypted_pa_data.items[0].padata_type, KRB_PA_REQ_ENC_PA_REP);
	assert_int_equal(krb_decode_checksum(&t->carena,
	    r.part.encrypted_pa_data.items[0].padata_value.data,
	    r.part.encrypted_pa_data.items[0].padata_value.len, &ck), LETHE_OK);
	assert_int_equal(ck.cksumtype, 20);     /* hmac-sha384-192-aes256 */
	assert_int_equal(kc_checksum_verify(&key, ck.cksumtype, KRB_KU_AS_REQ,
	    lbytes_make(copy, sent.len), ck.checksum), LETHE_OK);
	/* It covers the request: one changed byte no longer verifies. */
	copy[sent.len - 1] ^= 0x01;
	assert_int_equal(kc_checksum_verify(&key, ck.cksumtype, KRB_KU_AS_REQ,
	    lbytes_make(copy, sent.len), ck.checksum), LETHE_ERR_BAD_INTEGRITY);
	der_writer_free(&w);
	free(copy);
	kc_key_clear(&key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_preauth_required, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_preauth_required_etype_info, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_enc_timestamp_ok, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_each_enctype, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_skew, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_principals, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_realm, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_etype_nosupp, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_no_preauth_user, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_revoked_and_expired, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_krbtgt_never_a_client, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_user_not_a_server, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_allowed_user_server, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_service_preauth, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_options_flags_and_times, tkdc_setup,
		    tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_as_for_service, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_enc_pa_rep, tkdc_setup, tkdc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
