/*
 * Client messages: AS-REQ construction, AS-REP and PREAUTH_REQUIRED
 * processing, TGS-REQ construction and TGS-REP processing, AP-REQ/AP-REP,
 * all against messages built here with known keys.
 */
#include "test_krb5_util.h"

#include <time.h>

#include <openssl/crypto.h>

#include "client/client.h"
#include "crypto/crypto.h"

#define REALM "LETHE.TEST"
#define ET18 KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96

static const lbytes alice_comps[] = { LBYTES_LIT("alice") };
static const lbytes bob_comps[] = { LBYTES_LIT("bob") };
static const lbytes tgs_comps[] = { LBYTES_LIT("krbtgt"), LBYTES_LIT(REALM) };
static const lbytes svc_comps[] = { LBYTES_LIT("host"), LBYTES_LIT("svc.lethe.test") };
static const krb_principal_name alice = { KRB_NT_PRINCIPAL, alice_comps, 1 };
static const krb_principal_name bob = { KRB_NT_PRINCIPAL, bob_comps, 1 };
static const krb_principal_name tgs = { KRB_NT_SRV_INST, tgs_comps, 2 };
static const krb_principal_name svc = { KRB_NT_SRV_HST, svc_comps, 2 };
static const krb_last_req_entry lr_none[] = { { KRB_LR_NONE, 0 } };

#define AUTHTIME  INT64_C(1700000000)
#define ENDTIME   INT64_C(1700036000)
#define TKT_FLAGS (KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT)

/* ------------------------------------------------------------- helpers */

static kc_key *
key_filled(int32_t etype, uint8_t fill)
{
	uint8_t bytes[32];
	kc_key *k = NULL;

	memset(bytes, fill, sizeof(bytes));
	assert_int_equal(kc_key_new(etype, lbytes_make(bytes, etype == ET18 ? 32 : 16), &k),
			 LETHE_OK);
	return k;
}

/* Heap copy of what w holds; w is reset. */
static uint8_t *
take(der_writer *w, size_t *len)
{
	uint8_t *out = NULL;

	assert_int_equal(der_writer_status(w), LETHE_OK);
	assert_int_equal(der_writer_take(w, &out, len), LETHE_OK);
	return out;
}

/* Encrypt plain for usage: *ed's cipher points into the returned heap buffer. */
static uint8_t *
seal(kc_key *k, uint32_t usage, lbytes plain, krb_enc_data *ed)
{
	size_t cap = 0, len = 0;
	uint8_t *buf;

	assert_int_equal(kc_encrypt_len(kc_key_enctype(k), plain.len, &cap), LETHE_OK);
	buf = malloc(cap);
	assert_non_null(buf);
	assert_int_equal(kc_encrypt(k, usage, plain, buf, cap, &len), LETHE_OK);
	*ed = (krb_enc_data){ .etype = kc_key_enctype(k), .cipher = lbytes_make(buf, len) };
	return buf;
}

/* Decrypt ed with k for usage into a heap buffer. */
static uint8_t *
unseal(kc_key *k, uint32_t usage, const krb_enc_data *ed, size_t *len, lethe_status want)
{
	uint8_t *buf = malloc(ed->cipher.len + 1);

	assert_non_null(buf);
	assert_int_equal(kc_decrypt(k, usage, ed->cipher, buf, ed->cipher.len, len), want);
	return buf;
}

/* A Ticket for sname@REALM with an opaque enc-part (kvno 3). */
static uint8_t *
make_opaque_ticket(const krb_principal_name *sname, size_t *len)
{
	static const uint8_t junk[48] = { 0xab };
	krb_ticket t = {
		.realm = LBYTES_LIT(REALM), .sname = *sname,
		.enc_part = { .etype = ET18, .has_kvno = true, .kvno = 3,
			      .cipher = { junk, sizeof(junk) } },
	};
	der_writer w;

	uint8_t *out;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_ticket(&w, &t), LETHE_OK);
	out = take(&w, len);
	der_writer_free(&w);
	return out;
}

/* What a KDC reply is made of. */
typedef struct rep_spec {
	int32_t msg_type;               /* AS-REP or TGS-REP */
	kc_key *reply_key;
	uint32_t usage;
	uint32_t app_tag;               /* 25 or 26 */
	uint32_t nonce;
	krb_principal_name cname;       /* outer */
	krb_principal_name sname;       /* in EncKDCRepPart and ticket */
	kc_key *session_key;
	krb_method_data padata;
} rep_spec;

/* A KDC-REP per spec; *ticket receives the ticket encoding inside it. */
static uint8_t *
make_rep(const rep_spec *s, size_t *len, uint8_t **ticket, size_t *ticket_len)
{
	krb_enc_kdc_rep_part part = {
		.app_tag = s->app_tag,
		.key = { kc_key_enctype(s->session_key), kc_key_bytes(s->session_key) },
		.last_req = { lr_none, 1 }, .nonce = s->nonce, .flags = TKT_FLAGS,
		.authtime = AUTHTIME, .endtime = ENDTIME, .srealm = LBYTES_LIT(REALM),
		.sname = s->sname,
	};
	krb_kdc_rep rep = { .msg_type = s->msg_type, .padata = s->padata,
			    .crealm = LBYTES_LIT(REALM), .cname = s->cname };
	der_writer w;
	uint8_t *plain, *cipher, *out;
	size_t plain_len;

	*ticket = make_opaque_ticket(&s->sname, ticket_len);
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_enc_kdc_rep_part(&w, &part), LETHE_OK);
	plain = take(&w, &plain_len);
	cipher = seal(s->reply_key, s->usage, lbytes_make(plain, plain_len), &rep.enc_part);
	rep.ticket.raw = lbytes_make(*ticket, *ticket_len);
	assert_int_equal(krb_encode_kdc_rep(&w, &rep), LETHE_OK);
	out = take(&w, len);
	free(plain);
	free(cipher);
	der_writer_free(&w);
	return out;
}

static void
as_ctx_for_alice(kcl_as_ctx *ctx)
{
	kcl_as_params p = { .client = "alice", .realm = REALM };

	assert_int_equal(kcl_as_init(ctx, &p), LETHE_OK);
}

/* --------------------------------------------------------------- AS-REQ */

static void
check_body_common(const krb_kdc_req *req, uint32_t nonce, int64_t before, int64_t after)
{
	static const int32_t want_etypes[] = { 18, 17, 20, 19 };
	const krb_kdc_req_body *b = &req->body;

	assert_int_equal(req->msg_type, KRB_MSG_AS_REQ);
	assert_int_equal(b->kdc_options, KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE_OK);
	assert_true(b->has_cname);
	assert_int_equal(b->cname.name_type, KRB_NT_PRINCIPAL);
	assert_true(krb_principal_eq(&b->cname, &alice));
	assert_lbytes_str(b->realm, REALM);
	assert_true(b->has_sname);
	assert_int_equal(b->sname.name_type, KRB_NT_SRV_INST);
	assert_true(krb_principal_eq(&b->sname, &tgs));
	assert_false(b->has_from);
	assert_true(b->has_till);
	assert_in_range(b->till, before + KCL_DEFAULT_LIFETIME, after + KCL_DEFAULT_LIFETIME);
	assert_false(b->has_rtime);
	assert_int_equal(b->nonce, nonce);
	assert_int_equal(b->n_etypes, 4);
	assert_memory_equal(b->etypes, want_etypes, sizeof(want_etypes));
	assert_int_equal(b->addresses.count, 0);
	assert_int_equal(b->n_additional_tickets, 0);
}

static void
test_as_req_without_key(void **state)
{
	kcl_as_ctx ctx;
	der_writer w;
	lethe_arena a;
	krb_kdc_req req;
	int64_t before = time(NULL), after;

	(void)state;
	as_ctx_for_alice(&ctx);
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(kcl_as_build(&ctx, 0x1234567, &w), LETHE_OK);
	after = time(NULL);
	lbytes enc = der_written(&w);
	assert_int_equal(krb_decode_as_req(&a, enc.data, enc.len, &req), LETHE_OK);
	check_body_common(&req, 0x1234567, before, after);
	assert_int_equal(req.padata.count, 0);
	/* Not a TGS-REQ. */
	lethe_arena_reset(&a);
	assert_int_equal(krb_decode_tgs_req(&a, enc.data, enc.len, &req), LETHE_ERR_DER_TAG);
	der_writer_free(&w);
	lethe_arena_free(&a);
	kcl_as_free(&ctx);
}

static void
test_as_req_with_timestamp(void **state)
{
	kcl_as_ctx ctx;
	kc_key *key = key_filled(ET18, 0x11);
	der_writer w;
	lethe_arena a;
	krb_kdc_req req;
	krb_enc_data ed;
	krb_pa_enc_ts_enc ts;
	uint8_t *plain;
	size_t plain_len;
	int64_t before = time(NULL), after;

	(void)state;
	as_ctx_for_alice(&ctx);
	assert_int_equal(kcl_as_set_key(&ctx, key), LETHE_OK);
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(kcl_as_build(&ctx, 42, &w), LETHE_OK);
	after = time(NULL);
	lbytes enc = der_written(&w);
	assert_int_equal(krb_decode_as_req(&a, enc.data, enc.len, &req), LETHE_OK);
	check_body_common(&req, 42, before, after);
	assert_int_equal(req.padata.count, 1);
	assert_int_equal(req.padata.items[0].padata_type, KRB_PA_ENC_TIMESTAMP);
	lbytes v = req.padata.items[0].padata_value;
	assert_int_equal(krb_decode_enc_data(&a, v.data, v.len, &ed), LETHE_OK);
	assert_int_equal(ed.etype, ET18);
	assert_false(ed.has_kvno);
	/* The timestamp is sealed for usage 1 and no other. */
	free(unseal(key, KRB_KU_AS_REP_ENC_PART, &ed, &plain_len, LETHE_ERR_BAD_INTEGRITY));
	plain = unseal(key, KRB_KU_PA_ENC_TIMESTAMP, &ed, &plain_len, LETHE_OK);
	assert_int_equal(krb_decode_pa_enc_ts_enc(&a, plain, plain_len, &ts), LETHE_OK);
	assert_in_range(ts.patimestamp, before, after);
	assert_true(ts.has_pausec);
	assert_in_range(ts.pausec, 0, 999999);
	free(plain);
	der_writer_free(&w);
	lethe_arena_free(&a);
	kcl_as_free(&ctx);
	kc_key_free(key);
}

static void
test_as_req_options(void **state)
{
	static const int32_t one[] = { 20 };
	kcl_as_params p = { .client = "bob@OTHER.TEST", .realm = REALM,
			    .server = "host/svc.lethe.test", .etypes = one, .n_etypes = 1,
			    .kdc_options = KRB_KDC_OPT_PROXIABLE, .lifetime = 600,
			    .renew_life = 7200 };
	int32_t nine[9] = { 0 };
	kcl_as_ctx ctx;
	der_writer w;
	lethe_arena a;
	krb_kdc_req req;

	(void)state;
	assert_int_equal(kcl_as_init(&ctx, &p), LETHE_OK);
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(kcl_as_build(&ctx, 7, &w), LETHE_OK);
	lbytes enc = der_written(&w);
	assert_int_equal(krb_decode_as_req(&a, enc.data, enc.len, &req), LETHE_OK);
	assert_int_equal(req.body.kdc_options, KRB_KDC_OPT_PROXIABLE | KRB_KDC_OPT_RENEWABLE);
	assert_true(krb_principal_eq(&req.body.cname, &bob));
	assert_lbytes_str(req.body.realm, "OTHER.TEST");    /* the client's realm */
	assert_true(krb_principal_eq(&req.body.sname, &svc));
	assert_true(req.body.has_rtime);
	assert_int_equal(req.body.rtime - req.body.till, 7200 - 600);
	assert_int_equal(req.body.n_etypes, 1);
	assert_int_equal(req.body.etypes[0], 20);
	kcl_as_free(&ctx);
	/* Negative: too many etypes, no client. */
	p.etypes = nine;
	p.n_etypes = 9;
	assert_int_equal(kcl_as_init(&ctx, &p), LETHE_ERR_INVALID_ARG);
	p.n_etypes = 1;
	p.client = NULL;
	assert_int_equal(kcl_as_init(&ctx, &p), LETHE_ERR_INVALID_ARG);
	p.client = "";
	assert_int_equal(kcl_as_init(&ctx, &p), LETHE_ERR_FORMAT);
	der_writer_free(&w);
	lethe_arena_free(&a);
}

/* --------------------------------------------------------------- AS-REP */

static void
test_as_rep_good(void **state)
{
	kcl_as_ctx ctx;
	kc_key *ck = key_filled(ET18, 0x21), *sk = key_filled(ET18, 0x5a);
	rep_spec s = { KRB_MSG_AS_REP, ck, KRB_KU_AS_REP_ENC_PART, 25, 99, alice, tgs, sk, {0} };
	uint8_t *rep, *tkt;
	size_t len, tkt_len;
	kcl_cred cred = { 0 };
	kcl_error err = { .code = 77 };
	bool again = true;

	(void)state;
	as_ctx_for_alice(&ctx);
	assert_int_equal(kcl_as_set_key(&ctx, ck), LETHE_OK);
	rep = make_rep(&s, &len, &tkt, &tkt_len);
	assert_int_equal(kcl_as_process(&ctx, rep, len, 99, &cred, &again, &err), LETHE_OK);
	assert_false(again);
	assert_int_equal(err.code, 77);             /* untouched on success */
	assert_int_equal(cred.ticket_len, tkt_len);
	assert_memory_equal(cred.ticket, tkt, tkt_len);
	assert_int_equal(kc_key_enctype(cred.session_key), ET18);
	assert_true(lbytes_ct_eq(kc_key_bytes(cred.session_key), kc_key_bytes(sk)));
	assert_int_equal(cred.flags, TKT_FLAGS);
	assert_int_equal(cred.authtime, AUTHTIME);
	assert_int_equal(cred.starttime, AUTHTIME);
	assert_int_equal(cred.endtime, ENDTIME);
	assert_int_equal(cred.renew_till, 0);
	assert_int_equal(cred.ticket_etype, ET18);
	assert_int_equal(cred.ticket_kvno, 3);
	assert_lbytes_str(cred.client.realm, REALM);
	krb_principal_name cn = kcl_name_principal(&cred.client);
	krb_principal_name sn = kcl_name_principal(&cred.server);
	assert_true(krb_principal_eq(&cn, &alice));
	assert_true(krb_principal_eq(&sn, &tgs));
	assert_lbytes_str(cred.server.realm, REALM);
	/* The cheap check accepts it too. */
	assert_int_equal(kcl_as_check(&ctx, rep, len, &err), LETHE_OK);
	kcl_cred_clear(&cred);
	assert_null(cred.ticket);
	assert_null(cred.session_key);
	free(rep);
	free(tkt);
	kcl_as_free(&ctx);
	kc_key_free(ck);
	kc_key_free(sk);
}

/* Process a reply built from s with a context keyed with ctx_key; expect want. */
static void
expect_as_rep(const rep_spec *s, kc_key *ctx_key, uint32_t nonce, lethe_status want)
{
	kcl_as_ctx ctx;
	uint8_t *rep, *tkt;
	size_t len, tkt_len;
	kcl_cred cred = { 0 };
	bool again = true;

	as_ctx_for_alice(&ctx);
	assert_int_equal(kcl_as_set_key(&ctx, ctx_key), LETHE_OK);
	rep = make_rep(s, &len, &tkt, &tkt_len);
	assert_int_equal(kcl_as_process(&ctx, rep, len, nonce, &cred, &again, NULL), want);
	assert_false(again);
	if (want == LETHE_OK) {
		assert_non_null(cred.ticket);
		kcl_cred_clear(&cred);
	} else {
		assert_null(cred.ticket);           /* nothing half-filled */
		assert_null(cred.session_key);
	}
	/* Every proper prefix fails cleanly. */
	for (size_t n = 0; n < len; n += 7)
		assert_int_not_equal(kcl_as_process(&ctx, rep, n, nonce, &cred, &again, NULL),
				     LETHE_OK);
	free(rep);
	free(tkt);
	kcl_as_free(&ctx);
}

static void
test_as_rep_negative(void **state)
{
	kc_key *ck = key_filled(ET18, 0x21), *other = key_filled(ET18, 0x22);
	kc_key *sk = key_filled(ET18, 0x5a), *ck17 = key_filled(17, 0x21);
	rep_spec s = { KRB_MSG_AS_REP, ck, KRB_KU_AS_REP_ENC_PART, 25, 99, alice, tgs, sk, {0} };

	(void)state;
	expect_as_rep(&s, ck, 99, LETHE_OK);
	/* MIT's tag 26 for EncASRepPart is accepted. */
	s.app_tag = 26;
	expect_as_rep(&s, ck, 99, LETHE_OK);
	s.app_tag = 25;
	/* Wrong nonce. */
	expect_as_rep(&s, ck, 100, KCL_ERR_REPLY_MISMATCH);
	/* Wrong key, wrong usage: the integrity check fails. */
	expect_as_rep(&s, other, 99, LETHE_ERR_BAD_INTEGRITY);
	s.usage = KRB_KU_TGS_REP_ENC_PART_SESSKEY;
	expect_as_rep(&s, ck, 99, LETHE_ERR_BAD_INTEGRITY);
	s.usage = KRB_KU_AS_REP_ENC_PART;
	/* Our key is of another etype than the reply's enc-part. */
	expect_as_rep(&s, ck17, 99, LETHE_ERR_ETYPE_NOSUPP);
	/* Another client, another server. */
	s.cname = bob;
	expect_as_rep(&s, ck, 99, KCL_ERR_REPLY_MISMATCH);
	s.cname = alice;
	s.sname = svc;
	expect_as_rep(&s, ck, 99, KCL_ERR_REPLY_MISMATCH);
	s.sname = tgs;
	/* A TGS-REP is not an AS-REP. */
	s.msg_type = KRB_MSG_TGS_REP;
	expect_as_rep(&s, ck, 99, LETHE_ERR_DER_TAG);
	kc_key_free(ck);
	kc_key_free(other);
	kc_key_free(sk);
	kc_key_free(ck17);
}

/* ------------------------------------------------- PREAUTH_REQUIRED flow */

static const uint8_t iter4096[] = { 0x00, 0x00, 0x10, 0x00 };

/* A KRB-ERROR with code, e-text and e-data (method data) as given. */
static uint8_t *
make_error(int32_t code, const char *text, const krb_method_data *md, size_t *len)
{
	krb_error e = {
		.stime = AUTHTIME, .error_code = code, .realm = LBYTES_LIT(REALM), .sname = tgs,
	};
	der_writer w, wd;
	uint8_t *out;

	der_writer_init(&w, WRITER_MAX);
	der_writer_init(&wd, WRITER_MAX);
	if (text != NULL) {
		e.has_e_text = true;
		e.e_text = lbytes_make(text, strlen(text));
	}
	if (md != NULL) {
		assert_int_equal(krb_encode_method_data(&wd, md), LETHE_OK);
		e.has_e_data = true;
		e.e_data = der_written(&wd);
	}
	assert_int_equal(krb_encode_krb_error(&w, &e), LETHE_OK);
	out = take(&w, len);
	der_writer_free(&w);
	der_writer_free(&wd);
	return out;
}

/* METHOD-DATA with one PA-ETYPE-INFO2 entry (and PA-ENC-TIMESTAMP); value in *buf. */
static krb_method_data
etype_info_md(int32_t etype, const char *salt, bool with_params, krb_pa_data pa[2],
	      uint8_t **buf)
{
	krb_etype_info2_entry e = { .etype = etype };
	krb_etype_info2 info = { &e, 1 };
	der_writer w;
	size_t len;

	if (salt != NULL) {
		e.has_salt = true;
		e.salt = lbytes_make(salt, strlen(salt));
	}
	if (with_params) {
		e.has_s2kparams = true;
		e.s2kparams = lbytes_make(iter4096, sizeof(iter4096));
	}
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_etype_info2(&w, &info), LETHE_OK);
	*buf = take(&w, &len);
	der_writer_free(&w);
	pa[0] = (krb_pa_data){ KRB_PA_ETYPE_INFO2, lbytes_make(*buf, len) };
	pa[1] = (krb_pa_data){ KRB_PA_ENC_TIMESTAMP, { NULL, 0 } };
	return (krb_method_data){ pa, 2 };
}

static kc_key *
s2k(int32_t etype, const char *pw, const char *salt)
{
	kc_key k, *out = NULL;

	memset(&k, 0, sizeof(k));
	assert_int_equal(kc_string_to_key(&k, etype, lbytes_make(pw, strlen(pw)),
					  lbytes_make(salt, strlen(salt)),
					  lbytes_make(NULL, 0)), LETHE_OK);
	assert_int_equal(kc_key_new(etype, kc_key_bytes(&k), &out), LETHE_OK);
	kc_key_clear(&k);
	return out;
}

static void
test_preauth_required(void **state)
{
	kcl_as_ctx ctx;
	krb_pa_data pa[2];
	uint8_t *info_buf, *err_msg, *rep, *tkt;
	size_t err_len, len, tkt_len;
	krb_method_data md = etype_info_md(ET18, "EXAMPLE.COMsalty", true, pa, &info_buf);
	kc_key *want = s2k(ET18, "pass word", "EXAMPLE.COMsalty");
	kc_key *sk = key_filled(ET18, 0x5a);
	kcl_cred cred = { 0 };
	kcl_error err;
	bool again = false;

	(void)state;
	as_ctx_for_alice(&ctx);
	assert_int_equal(kcl_as_set_password(&ctx, LBYTES_LIT("pass word")), LETHE_OK);
	err_msg = make_error(KDC_ERR_PREAUTH_REQUIRED, NULL, &md, &err_len);
	assert_int_equal(kcl_as_process(&ctx, err_msg, err_len, 5, &cred, &again, &err),
			 LETHE_OK);
	assert_true(again);
	assert_int_equal(err.code, 0);
	assert_non_null(ctx.key);
	assert_null(ctx.password);                  /* wiped once used */
	assert_true(lbytes_ct_eq(kc_key_bytes(ctx.key), kc_key_bytes(want)));
	/* The same error again, now that the key is known, is a failure. */
	assert_int_equal(kcl_as_process(&ctx, err_msg, err_len, 5, &cred, &again, &err),
			 KCL_ERR_KDC_REFUSED);
	assert_false(again);
	assert_int_equal(err.code, KDC_ERR_PREAUTH_REQUIRED);
	/* The reply to the next request opens with the derived key. */
	rep_spec s = { KRB_MSG_AS_REP, want, KRB_KU_AS_REP_ENC_PART, 26, 6, alice, tgs, sk, {0} };
	rep = make_rep(&s, &len, &tkt, &tkt_len);
	assert_int_equal(kcl_as_process(&ctx, rep, len, 6, &cred, &again, &err), LETHE_OK);
	assert_true(lbytes_ct_eq(kc_key_bytes(cred.session_key), kc_key_bytes(sk)));
	kcl_cred_clear(&cred);
	free(rep);
	free(tkt);
	free(err_msg);
	free(info_buf);
	kcl_as_free(&ctx);
	kc_key_free(want);
	kc_key_free(sk);
}

static void
test_preauth_negative(void **state)
{
	kcl_as_ctx ctx;
	krb_pa_data pa[2];
	uint8_t *info_buf, *msg;
	size_t len;
	kcl_cred cred = { 0 };
	kcl_error err;
	bool again = true;

	(void)state;
	as_ctx_for_alice(&ctx);
	/* No password and no key: nothing to answer with. */
	krb_method_data md = etype_info_md(ET18, NULL, false, pa, &info_buf);
	msg = make_error(KDC_ERR_PREAUTH_REQUIRED, NULL, &md, &len);
	assert_int_equal(kcl_as_process(&ctx, msg, len, 1, &cred, &again, &err),
			 LETHE_ERR_INVALID_ARG);
	free(msg);
	free(info_buf);
	/* Only an etype we did not ask for. */
	assert_int_equal(kcl_as_set_password(&ctx, LBYTES_LIT("pw")), LETHE_OK);
	md = etype_info_md(23, NULL, false, pa, &info_buf);
	msg = make_error(KDC_ERR_PREAUTH_REQUIRED, NULL, &md, &len);
	assert_int_equal(kcl_as_process(&ctx, msg, len, 1, &cred, &again, &err),
			 LETHE_ERR_ETYPE_NOSUPP);
	assert_false(again);
	assert_null(ctx.key);
	free(msg);
	free(info_buf);
	/* PREAUTH_REQUIRED without e-data. */
	msg = make_error(KDC_ERR_PREAUTH_REQUIRED, NULL, NULL, &len);
	assert_int_equal(kcl_as_process(&ctx, msg, len, 1, &cred, &again, &err),
			 LETHE_ERR_FORMAT);
	free(msg);
	/* Other errors map to statuses, with the code and e-text kept. */
	msg = make_error(KDC_ERR_C_PRINCIPAL_UNKNOWN, "no such\x01 client", NULL, &len);
	assert_int_equal(kcl_as_process(&ctx, msg, len, 1, &cred, &again, &err),
			 LETHE_ERR_NOT_FOUND);
	assert_int_equal(err.code, KDC_ERR_C_PRINCIPAL_UNKNOWN);
	assert_string_equal(err.text, "no such? client");
	assert_int_equal(kcl_check_krb_error(msg, len, &err), LETHE_ERR_NOT_FOUND);
	free(msg);
	msg = make_error(KDC_ERR_PREAUTH_FAILED, NULL, NULL, &len);
	assert_int_equal(kcl_as_process(&ctx, msg, len, 1, &cred, &again, &err),
			 LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(err.code, KDC_ERR_PREAUTH_FAILED);
	assert_string_equal(err.text, "");
	free(msg);
	assert_null(cred.ticket);
	kcl_as_free(&ctx);
}

/* An AS-REP to a request without preauth: the key comes from its padata, else the default salt. */
static void
test_as_rep_derives_key(void **state)
{
	krb_pa_data pa[2];
	uint8_t *info_buf, *rep, *tkt;
	size_t len, tkt_len;
	kc_key *salted = s2k(ET18, "pw", "SALT"), *deflt = s2k(ET18, "pw", REALM "alice");
	kc_key *sk = key_filled(ET18, 0x5a);
	kcl_as_ctx ctx;
	kcl_cred cred = { 0 };
	bool again;

	(void)state;
	rep_spec s = { KRB_MSG_AS_REP, salted, KRB_KU_AS_REP_ENC_PART, 25, 8, alice, tgs, sk,
		       etype_info_md(ET18, "SALT", false, pa, &info_buf) };
	for (int round = 0; round < 2; round++) {
		as_ctx_for_alice(&ctx);
		assert_int_equal(kcl_as_set_password(&ctx, LBYTES_LIT("pw")), LETHE_OK);
		rep = make_rep(&s, &len, &tkt, &tkt_len);
		assert_int_equal(kcl_as_process(&ctx, rep, len, 8, &cred, &again, NULL), LETHE_OK);
		assert_true(lbytes_ct_eq(kc_key_bytes(ctx.key), kc_key_bytes(s.reply_key)));
		kcl_cred_clear(&cred);
		free(rep);
		free(tkt);
		kcl_as_free(&ctx);
		s.reply_key = deflt;
		s.padata = (krb_method_data){ NULL, 0 };
	}
	free(info_buf);
	kc_key_free(salted);
	kc_key_free(deflt);
	kc_key_free(sk);
}

/* ------------------------------------------------------------------ TGS */

/* A TGT credential for alice with session key sk and an opaque ticket. */
static void
make_tgt(kcl_cred *tgt, kc_key *sk)
{
	memset(tgt, 0, sizeof(*tgt));
	assert_int_equal(kcl_name_set(&tgt->client, &alice, LBYTES_LIT(REALM)), LETHE_OK);
	assert_int_equal(kcl_name_set(&tgt->server, &tgs, LBYTES_LIT(REALM)), LETHE_OK);
	tgt->ticket = make_opaque_ticket(&tgs, &tgt->ticket_len);
	assert_int_equal(kc_key_new(ET18, kc_key_bytes(sk), &tgt->session_key), LETHE_OK);
}

/*
 * Decode a TGS-REQ, open its authenticator with the session key and check
 * what the KDC would: ticket, names, checksum over the raw body.
 */
static void
check_tgs_req(lbytes enc, const kcl_cred *tgt, uint32_t nonce, const kc_key *subkey)
{
	lethe_arena a;
	krb_kdc_req req;
	krb_ap_req ap;
	krb_authenticator au;
	uint8_t *plain;
	size_t plain_len;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_tgs_req(&a, enc.data, enc.len, &req), LETHE_OK);
	assert_int_equal(req.body.nonce, nonce);
	assert_false(req.body.has_cname);
	assert_true(krb_principal_eq(&req.body.sname, &svc));
	assert_lbytes_str(req.body.realm, REALM);
	assert_int_equal(req.padata.count, 1);
	assert_int_equal(req.padata.items[0].padata_type, KRB_PA_TGS_REQ);
	lbytes v = req.padata.items[0].padata_value;
	assert_int_equal(krb_decode_ap_req(&a, v.data, v.len, &ap), LETHE_OK);
	assert_int_equal(ap.ap_options, 0);
	assert_lbytes_equal(ap.ticket.raw, lbytes_make(tgt->ticket, tgt->ticket_len));
	assert_int_equal(ap.authenticator.etype, ET18);
	plain = unseal(tgt->session_key, KRB_KU_TGS_REQ_AUTH, &ap.authenticator, &plain_len,
		       LETHE_OK);
	assert_int_equal(krb_decode_authenticator(&a, plain, plain_len, &au), LETHE_OK);
	assert_lbytes_str(au.crealm, REALM);
	assert_true(krb_principal_eq(&au.cname, &alice));
	assert_true(au.has_cksum);
	assert_int_equal(au.cksum.cksumtype, KC_CKSUMTYPE_HMAC_SHA1_96_AES256);
	assert_int_equal(kc_checksum_verify(tgt->session_key, au.cksum.cksumtype,
					    KRB_KU_TGS_REQ_AUTH_CKSUM, req.body.raw,
					    au.cksum.checksum), LETHE_OK);
	/* Negative: another usage, or one byte of the body changed. */
	assert_int_equal(kc_checksum_verify(tgt->session_key, au.cksum.cksumtype,
					    KRB_KU_AP_REQ_AUTH_CKSUM, req.body.raw,
					    au.cksum.checksum), LETHE_ERR_BAD_INTEGRITY);
	uint8_t *body = exact_copy(req.body.raw.data, req.body.raw.len);
	body[req.body.raw.len - 1] ^= 1;
	assert_int_equal(kc_checksum_verify(tgt->session_key, au.cksum.cksumtype,
					    KRB_KU_TGS_REQ_AUTH_CKSUM,
					    lbytes_make(body, req.body.raw.len),
					    au.cksum.checksum), LETHE_ERR_BAD_INTEGRITY);
	free(body);
	assert_int_equal(au.has_subkey, subkey != NULL);
	if (subkey != NULL) {
		assert_int_equal(au.subkey.keytype, ET18);
		assert_true(lbytes_ct_eq(au.subkey.keyvalue, kc_key_bytes(subkey)));
	}
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	lethe_arena_free(&a);
}

static void
test_tgs_round_trip(void **state)
{
	kc_key *sk = key_filled(ET18, 0x31), *svc_sk = key_filled(ET18, 0x41);
	kcl_cred tgt, cred = { 0 };
	kcl_name service = { 0 };
	kcl_tgs_ctx tc;
	kcl_tgs_state st = { 0 };
	der_writer w;
	uint8_t *rep, *tkt;
	size_t len, tkt_len;

	(void)state;
	make_tgt(&tgt, sk);
	assert_int_equal(kcl_name_parse(&service, "host/svc.lethe.test", REALM), LETHE_OK);
	kcl_tgs_params p = { .server = &service };
	kcl_tgs_ctx_init(&tc);
	der_writer_init(&w, WRITER_MAX);
	for (int with_subkey = 0; with_subkey < 2; with_subkey++) {
		p.use_subkey = with_subkey;
		der_writer_reset(&w);
		assert_int_equal(kcl_tgs_build(&tc, &tgt, &p, 1234, &st, &w), LETHE_OK);
		assert_int_equal(st.nonce, 1234);
		assert_int_equal(st.subkey != NULL, with_subkey);
		check_tgs_req(der_written(&w), &tgt, 1234, st.subkey);
		/* The reply, sealed with the subkey (usage 9) or the session key (8). */
		rep_spec s = { KRB_MSG_TGS_REP, with_subkey ? st.subkey : sk,
			       with_subkey ? KRB_KU_TGS_REP_ENC_PART_SUBKEY :
					     KRB_KU_TGS_REP_ENC_PART_SESSKEY,
			       26, 1234, alice, svc, svc_sk, {0} };
		rep = make_rep(&s, &len, &tkt, &tkt_len);
		assert_int_equal(kcl_tgs_check(&tc, &tgt, &p, rep, len, NULL), LETHE_OK);
		assert_int_equal(kcl_tgs_process(&tc, &tgt, &p, &st, rep, len, &cred, NULL),
				 LETHE_OK);
		assert_memory_equal(cred.ticket, tkt, tkt_len);
		assert_true(lbytes_ct_eq(kc_key_bytes(cred.session_key), kc_key_bytes(svc_sk)));
		krb_principal_name sn = kcl_name_principal(&cred.server);
		assert_true(krb_principal_eq(&sn, &svc));
		kcl_cred_clear(&cred);
		/* Negative: another nonce; the other usage. */
		st.nonce = 1235;
		assert_int_equal(kcl_tgs_process(&tc, &tgt, &p, &st, rep, len, &cred, NULL),
				 KCL_ERR_REPLY_MISMATCH);
		st.nonce = 1234;
		free(rep);
		free(tkt);
		s.usage = with_subkey ? KRB_KU_TGS_REP_ENC_PART_SESSKEY :
					KRB_KU_TGS_REP_ENC_PART_SUBKEY;
		rep = make_rep(&s, &len, &tkt, &tkt_len);
		assert_int_equal(kcl_tgs_process(&tc, &tgt, &p, &st, rep, len, &cred, NULL),
				 LETHE_ERR_BAD_INTEGRITY);
		assert_null(cred.ticket);
		free(rep);
		free(tkt);
		/* A ticket for another service. */
		s.usage = with_subkey ? KRB_KU_TGS_REP_ENC_PART_SUBKEY :
					KRB_KU_TGS_REP_ENC_PART_SESSKEY;
		s.sname = tgs;
		rep = make_rep(&s, &len, &tkt, &tkt_len);
		assert_int_equal(kcl_tgs_process(&tc, &tgt, &p, &st, rep, len, &cred, NULL),
				 KCL_ERR_REPLY_MISMATCH);
		assert_int_equal(kcl_tgs_check(&tc, &tgt, &p, rep, len, NULL),
				 KCL_ERR_REPLY_MISMATCH);
		free(rep);
		free(tkt);
	}
	/* Two requests differ (fresh authenticator) even with one nonce. */
	der_writer w2;
	der_writer_init(&w2, WRITER_MAX);
	der_writer_reset(&w);
	assert_int_equal(kcl_tgs_build(&tc, &tgt, &p, 1, &st, &w), LETHE_OK);
	assert_int_equal(kcl_tgs_build(&tc, &tgt, &p, 1, &st, &w2), LETHE_OK);
	assert_false(lbytes_eq(der_written(&w), der_written(&w2)));
	der_writer_free(&w2);
	kcl_tgs_state_clear(&st);
	der_writer_free(&w);
	kcl_tgs_ctx_free(&tc);
	kcl_name_clear(&service);
	kcl_cred_clear(&tgt);
	kc_key_free(sk);
	kc_key_free(svc_sk);
}

/* ------------------------------------------------------------------- AP */

/* A service credential whose ticket really is sealed with svc_key (usage 2). */
static void
make_service_cred(kcl_cred *cred, kc_key *svc_key, kc_key *sk)
{
	krb_enc_ticket_part part = {
		.flags = TKT_FLAGS, .key = { ET18, kc_key_bytes(sk) },
		.crealm = LBYTES_LIT(REALM), .cname = alice,
		.transited = { KRB_TR_DOMAIN_X500_COMPRESS, { NULL, 0 } },
		.authtime = AUTHTIME, .endtime = ENDTIME,
	};
	krb_ticket t = { .realm = LBYTES_LIT(REALM), .sname = svc };
	der_writer w;
	uint8_t *plain, *cipher;
	size_t plain_len;

	memset(cred, 0, sizeof(*cred));
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_enc_ticket_part(&w, &part), LETHE_OK);
	plain = take(&w, &plain_len);
	cipher = seal(svc_key, KRB_KU_TICKET, lbytes_make(plain, plain_len), &t.enc_part);
	t.enc_part.has_kvno = true;
	t.enc_part.kvno = 9;
	assert_int_equal(krb_encode_ticket(&w, &t), LETHE_OK);
	cred->ticket = take(&w, &cred->ticket_len);
	assert_int_equal(kcl_name_set(&cred->client, &alice, LBYTES_LIT(REALM)), LETHE_OK);
	assert_int_equal(kcl_name_set(&cred->server, &svc, LBYTES_LIT(REALM)), LETHE_OK);
	assert_int_equal(kc_key_new(ET18, kc_key_bytes(sk), &cred->session_key), LETHE_OK);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(cipher);
	der_writer_free(&w);
}

/* An AP-REP sealed with key for usage, echoing ctime/cusec, with a subkey and seq 7. */
static uint8_t *
make_ap_rep(kc_key *key, uint32_t usage, int64_t ctime, int32_t cusec, kc_key *subkey,
	    size_t *len)
{
	krb_enc_ap_rep_part part = {
		.ctime = ctime, .cusec = cusec, .has_subkey = true,
		.subkey = { ET18, kc_key_bytes(subkey) }, .has_seq_number = true, .seq_number = 7,
	};
	krb_ap_rep rep;
	der_writer w;
	uint8_t *plain, *cipher, *out;
	size_t plain_len;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_enc_ap_rep_part(&w, &part), LETHE_OK);
	plain = take(&w, &plain_len);
	cipher = seal(key, usage, lbytes_make(plain, plain_len), &rep.enc_part);
	assert_int_equal(krb_encode_ap_rep(&w, &rep), LETHE_OK);
	out = take(&w, len);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(cipher);
	der_writer_free(&w);
	return out;
}

/* Play the acceptor: open the AP-REQ with the service key; return its authenticator's subkey. */
static void
accept_ap_req(lbytes enc, kc_key *svc_key, const kcl_ap_state *st, uint32_t want_options)
{
	lethe_arena a;
	krb_ap_req ap;
	krb_enc_ticket_part tp;
	krb_authenticator au;
	kc_key *sk = NULL;
	uint8_t *tplain, *aplain;
	size_t tlen, alen;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_ap_req(&a, enc.data, enc.len, &ap), LETHE_OK);
	assert_int_equal(ap.ap_options, want_options);
	assert_int_equal(ap.ticket.enc_part.kvno, 9);
	tplain = unseal(svc_key, KRB_KU_TICKET, &ap.ticket.enc_part, &tlen, LETHE_OK);
	assert_int_equal(krb_decode_enc_ticket_part(&a, tplain, tlen, &tp), LETHE_OK);
	assert_int_equal(kc_key_new(tp.key.keytype, tp.key.keyvalue, &sk), LETHE_OK);
	free(unseal(sk, KRB_KU_TGS_REQ_AUTH, &ap.authenticator, &alen, LETHE_ERR_BAD_INTEGRITY));
	aplain = unseal(sk, KRB_KU_AP_REQ_AUTH, &ap.authenticator, &alen, LETHE_OK);
	assert_int_equal(krb_decode_authenticator(&a, aplain, alen, &au), LETHE_OK);
	assert_true(krb_principal_eq(&au.cname, &alice));
	assert_lbytes_str(au.crealm, REALM);
	assert_int_equal(au.ctime, st->ctime);
	assert_int_equal(au.cusec, st->cusec);
	assert_true(au.has_seq_number);
	assert_int_equal(au.seq_number, 0xfedcba98u);
	assert_true(au.has_cksum);
	assert_int_equal(au.cksum.cksumtype, 0x8003);
	assert_true(au.has_subkey);
	assert_true(lbytes_ct_eq(au.subkey.keyvalue, kc_key_bytes(st->subkey)));
	OPENSSL_cleanse(tplain, tlen);
	OPENSSL_cleanse(aplain, alen);
	free(tplain);
	free(aplain);
	kc_key_free(sk);
	lethe_arena_free(&a);
}

static void
test_ap_round_trip(void **state)
{
	static const uint8_t gss_ck[24] = { 16 };
	kc_key *svc_key = key_filled(ET18, 0x71), *sk = key_filled(ET18, 0x72);
	kc_key *srv_sub = key_filled(ET18, 0x73);
	krb_checksum ck = { 0x8003, { gss_ck, sizeof(gss_ck) } };
	kcl_ap_params p = { .ap_options = KRB_AP_OPT_MUTUAL_REQUIRED, .cksum = &ck,
			    .use_subkey = true, .has_seq_number = true,
			    .seq_number = 0xfedcba98u };
	kcl_cred cred;
	kcl_ap_state st = { 0 };
	kcl_ap_rep_info info = { 0 };
	kcl_error err;
	der_writer w;
	uint8_t *rep;
	size_t len;

	(void)state;
	make_service_cred(&cred, svc_key, sk);
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(kcl_ap_req_build(&cred, &p, &st, &w), LETHE_OK);
	assert_non_null(st.subkey);
	accept_ap_req(der_written(&w), svc_key, &st, KRB_AP_OPT_MUTUAL_REQUIRED);
	/* Good AP-REP. */
	rep = make_ap_rep(sk, KRB_KU_AP_REP_ENC_PART, st.ctime, st.cusec, srv_sub, &len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, len, &info, &err), LETHE_OK);
	assert_non_null(info.subkey);
	assert_true(lbytes_ct_eq(kc_key_bytes(info.subkey), kc_key_bytes(srv_sub)));
	assert_true(info.has_seq_number);
	assert_int_equal(info.seq_number, 7);
	kc_key_free(info.subkey);
	info.subkey = NULL;
	/* Every proper prefix fails. */
	for (size_t n = 0; n < len; n++)
		assert_int_not_equal(kcl_ap_rep_verify(&cred, &st, rep, n, &info, &err), LETHE_OK);
	free(rep);
	/* Another ctime or cusec: not our reply. */
	rep = make_ap_rep(sk, KRB_KU_AP_REP_ENC_PART, st.ctime + 1, st.cusec, srv_sub, &len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, len, &info, &err),
			 KCL_ERR_REPLY_MISMATCH);
	free(rep);
	rep = make_ap_rep(sk, KRB_KU_AP_REP_ENC_PART, st.ctime, st.cusec + 1, srv_sub, &len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, len, &info, &err),
			 KCL_ERR_REPLY_MISMATCH);
	free(rep);
	/* Sealed for another usage, or with another key. */
	rep = make_ap_rep(sk, KRB_KU_AP_REQ_AUTH, st.ctime, st.cusec, srv_sub, &len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, len, &info, &err),
			 LETHE_ERR_BAD_INTEGRITY);
	free(rep);
	rep = make_ap_rep(svc_key, KRB_KU_AP_REP_ENC_PART, st.ctime, st.cusec, srv_sub, &len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, len, &info, &err),
			 LETHE_ERR_BAD_INTEGRITY);
	free(rep);
	assert_null(info.subkey);
	/* A KRB-ERROR instead of the AP-REP. */
	rep = make_error(KRB_AP_ERR_SKEW, "clock skew too great", NULL, &len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, len, &info, &err),
			 KCL_ERR_KDC_REFUSED);
	assert_int_equal(err.code, KRB_AP_ERR_SKEW);
	assert_string_equal(err.text, "clock skew too great");
	free(rep);
	kcl_ap_state_clear(&st);
	assert_null(st.subkey);
	der_writer_free(&w);
	kcl_cred_clear(&cred);
	kc_key_free(svc_key);
	kc_key_free(sk);
	kc_key_free(srv_sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_req_without_key),
		cmocka_unit_test(test_as_req_with_timestamp),
		cmocka_unit_test(test_as_req_options),
		cmocka_unit_test(test_as_rep_good),
		cmocka_unit_test(test_as_rep_negative),
		cmocka_unit_test(test_preauth_required),
		cmocka_unit_test(test_preauth_negative),
		cmocka_unit_test(test_as_rep_derives_key),
		cmocka_unit_test(test_tgs_round_trip),
		cmocka_unit_test(test_ap_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
