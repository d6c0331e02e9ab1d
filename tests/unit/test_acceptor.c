/*
 * Acceptor: AP-REQ verification against a keytab written here, with
 * tickets and authenticators built from liblethe's encoders (and from the
 * client's kcl_ap_req_build), the replay cache, keytab reloads, AP-REP
 * (checked with kcl_ap_rep_verify) and KRB-ERROR.
 */
#include "test_krb5_util.h"

#include <pthread.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "acceptor/acceptor.h"
#include "client/client.h"
#include "crypto/crypto.h"
#include "keytab/keytab.h"

#define REALM "LETHE.TEST"
#define SERVER "host/srv.lethe.test@" REALM
#define ET17 KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96
#define ET18 KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96
#define NOW INT64_C(1700000000)
#define SKEW 300
#define FLAGS (KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_PRE_AUTHENT)

static const lbytes srv_comps[] = { LBYTES_LIT("host"), LBYTES_LIT("srv.lethe.test") };
static const lbytes other_comps[] = { LBYTES_LIT("host"), LBYTES_LIT("other.lethe.test") };
static const lbytes alice_comps[] = { LBYTES_LIT("alice") };
static const lbytes bob_comps[] = { LBYTES_LIT("bob") };
static const krb_principal_name srv = { KRB_NT_SRV_HST, srv_comps, 2 };
static const krb_principal_name other = { KRB_NT_SRV_HST, other_comps, 2 };
static const krb_principal_name alice = { KRB_NT_PRINCIPAL, alice_comps, 1 };
static const krb_principal_name bob = { KRB_NT_PRINCIPAL, bob_comps, 1 };

/* ---------------------------------------------------------------- fixture */

typedef struct fx {
	char dir[256];
	char path[300];
	int64_t now;
	int32_t usec;
	kc_key k3;              /* host/srv kvno 3, enctype 18 */
	kc_key k4;              /* host/srv kvno 4, enctype 17 (written by tests) */
	kc_key wrong;           /* a key nobody holds */
	acc_ctx *ctx;
} fx;

static void
test_clock(void *arg, int64_t *sec, int32_t *usec)
{
	const fx *f = arg;

	*sec = f->now;
	*usec = f->usec;
}

static void
key_fill(kc_key *k, int32_t etype, uint8_t seed)
{
	uint8_t b[32];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(seed + 7 * i);
	assert_int_equal(kc_key_init(k, etype, lbytes_make(b, etype == ET18 ? 32 : 16)),
			 LETHE_OK);
}

/* Write the keytab: host/srv with each (kvno, key) given. */
static void
keytab_write(fx *f, const uint32_t *kvnos, kc_key *const *keys, size_t n)
{
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	size_t i;

	assert_int_equal(kt_new(&kt), LETHE_OK);
	assert_int_equal(kt_principal_parse(SERVER, strlen(SERVER), NULL, &p), LETHE_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(kt_add(kt, &p, kvnos[i], kc_key_enctype(keys[i]), 1,
					kc_key_bytes(keys[i])), LETHE_OK);
	assert_int_equal(kt_save(kt, f->path), LETHE_OK);
	kt_principal_clear(&p);
	kt_free(kt);
}

static void
ctx_make(fx *f, const char *const *servers, size_t n_servers, size_t rcache)
{
	acc_params p = { .keytab_path = f->path, .servers = servers, .n_servers = n_servers,
			 .skew = SKEW, .rcache_max_entries = rcache,
			 .clock = test_clock, .clock_arg = f };

	acc_ctx_free(f->ctx);
	f->ctx = NULL;
	assert_int_equal(acc_ctx_new(&p, &f->ctx), LETHE_OK);
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	static const char *const servers[] = { SERVER };
	kc_key *keys[1];
	uint32_t kvnos[1] = { 3 };
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/lethe-acc-XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/keytab", f->dir);
	f->now = NOW;
	f->usec = 500;
	key_fill(&f->k3, ET18, 3);
	key_fill(&f->k4, ET17, 4);
	key_fill(&f->wrong, ET18, 99);
	keys[0] = &f->k3;
	keytab_write(f, kvnos, keys, 1);
	ctx_make(f, servers, 1, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	acc_ctx_free(f->ctx);
	unlink(f->path);
	rmdir(f->dir);
	kc_key_clear(&f->k3);
	kc_key_clear(&f->k4);
	kc_key_clear(&f->wrong);
	free(f);
	return 0;
}

/* ------------------------------------------------------- message builder */

/* What one AP-REQ is made of; tspec_default() gives a valid one. */
typedef struct tspec {
	kc_key *ticket_key;
	bool has_kvno;
	uint32_t kvno;
	int32_t enc_etype;              /* the ticket's EncryptedData etype (0: the key's) */
	krb_principal_name sname;
	krb_principal_name cname;       /* in the ticket */
	krb_principal_name auth_cname;  /* in the authenticator */
	uint32_t flags;
	int64_t authtime;
	bool has_starttime;
	int64_t starttime;
	int64_t endtime;
	int64_t ctime;
	int32_t cusec;
	kc_key *auth_key;               /* NULL: the session key */
	bool subkey;
	bool has_seq;
	uint32_t seq;
	const krb_checksum *cksum;
	uint32_t ap_options;
	uint8_t session_seed;
} tspec;

static tspec
tspec_default(fx *f)
{
	return (tspec){
		.ticket_key = &f->k3, .has_kvno = true, .kvno = 3, .sname = srv,
		.cname = alice, .auth_cname = alice, .flags = FLAGS,
		.authtime = f->now - 60, .endtime = f->now + 3600,
		.ctime = f->now, .cusec = 4242, .session_seed = 42,
	};
}

static uint8_t *
take(der_writer *w, size_t *len)
{
	uint8_t *out = NULL;

	assert_int_equal(der_writer_status(w), LETHE_OK);
	assert_int_equal(der_writer_take(w, &out, len), LETHE_OK);
	return out;
}

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

/* The Ticket of s, sealed with s->ticket_key; session key in *sk. */
static uint8_t *
ticket_make(const tspec *s, kc_key *sk, size_t *len)
{
	krb_enc_ticket_part part = {
		.flags = s->flags, .key = { kc_key_enctype(sk), kc_key_bytes(sk) },
		.crealm = LB(REALM), .cname = s->cname, .transited = { 1, { NULL, 0 } },
		.authtime = s->authtime, .has_starttime = s->has_starttime,
		.starttime = s->starttime, .endtime = s->endtime,
	};
	krb_ticket t = { .realm = LB(REALM), .sname = s->sname };
	der_writer w;
	uint8_t *plain, *cipher, *out;
	size_t plain_len;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_enc_ticket_part(&w, &part), LETHE_OK);
	plain = take(&w, &plain_len);
	cipher = seal(s->ticket_key, KRB_KU_TICKET, lbytes_make(plain, plain_len), &t.enc_part);
	t.enc_part.has_kvno = s->has_kvno;
	t.enc_part.kvno = s->kvno;
	if (s->enc_etype != 0)
		t.enc_part.etype = s->enc_etype;
	assert_int_equal(krb_encode_ticket(&w, &t), LETHE_OK);
	out = take(&w, len);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(cipher);
	der_writer_free(&w);
	return out;
}

/* An AP-REQ per s; the session key (and subkey) are returned to check against. */
static uint8_t *
ap_req_make(const tspec *s, kc_key *sk, kc_key *subkey, size_t *len)
{
	krb_authenticator au = {
		.crealm = LB(REALM), .cname = s->auth_cname, .ctime = s->ctime,
		.cusec = s->cusec, .has_seq_number = s->has_seq, .seq_number = s->seq,
	};
	krb_ap_req ap = { .ap_options = s->ap_options };
	der_writer w;
	uint8_t *ticket, *plain, *cipher, *out;
	size_t ticket_len, plain_len;

	key_fill(sk, ET18, s->session_seed);
	if (s->subkey) {
		key_fill(subkey, ET17, (uint8_t)(s->session_seed + 1));
		au.has_subkey = true;
		au.subkey = (krb_encryption_key){ ET17, kc_key_bytes(subkey) };
	}
	if (s->cksum != NULL) {
		au.has_cksum = true;
		au.cksum = *s->cksum;
	}
	ticket = ticket_make(s, sk, &ticket_len);
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_authenticator(&w, &au), LETHE_OK);
	plain = take(&w, &plain_len);
	cipher = seal(s->auth_key != NULL ? s->auth_key : sk, KRB_KU_AP_REQ_AUTH,
		      lbytes_make(plain, plain_len), &ap.authenticator);
	ap.ticket.raw = lbytes_make(ticket, ticket_len);
	assert_int_equal(krb_encode_ap_req(&w, &ap), LETHE_OK);
	out = take(&w, len);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(cipher);
	free(ticket);
	der_writer_free(&w);
	return out;
}

/* Verify the AP-REQ of s and expect status want with reason r. */
static void
expect(fx *f, const tspec *s, lethe_status want, acc_reason r)
{
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	uint8_t *req;
	size_t len;

	req = ap_req_make(s, &sk, &sub, &len);
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), want);
	assert_int_equal(err.reason, r);
	assert_int_equal(err.code, acc_reason_krb_code(r));
	if (r != ACC_ACCEPTED) {
		assert_null(v.session_key);
		assert_null(v.subkey);
	}
	acc_verified_clear(&v);
	kc_key_clear(&sk);
	kc_key_clear(&sub);
	free(req);
}

static void
stats_expect(fx *f, uint64_t tickets, uint64_t auths, uint64_t accepted, uint64_t refused)
{
	acc_stats st;

	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.ticket_decrypts, tickets);
	assert_int_equal(st.authenticator_decrypts, auths);
	assert_int_equal(st.accepted, accepted);
	assert_int_equal(st.refused, refused);
}

/* True when needle occurs in hay[0..len). */
static bool
contains(const uint8_t *hay, size_t len, lbytes needle)
{
	size_t i;

	for (i = 0; i + needle.len <= len; i++) {
		if (memcmp(hay + i, needle.data, needle.len) == 0)
			return true;
	}
	return false;
}

static bool
name_is(const krb_principal_name *n, const krb_principal_name *want)
{
	return krb_principal_eq(n, want);
}

/* ------------------------------------------------------------ positives */

static void
test_accept_fields(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	uint8_t *req;
	size_t len;

	s.subkey = true;
	s.has_seq = true;
	s.seq = 0x89abcdefu;
	s.ap_options = KRB_AP_OPT_MUTUAL_REQUIRED;
	s.has_starttime = true;
	s.starttime = f->now - 30;
	req = ap_req_make(&s, &sk, &sub, &len);
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), LETHE_OK);
	assert_int_equal(err.reason, ACC_ACCEPTED);
	assert_int_equal(err.code, 0);
	assert_true(v.server_known && v.client_known);
	assert_true(name_is(&v.server, &srv));
	assert_lbytes_equal(v.server_realm, LB(REALM));
	assert_true(name_is(&v.client, &alice));
	assert_lbytes_equal(v.client_realm, LB(REALM));
	assert_int_equal(v.kvno, 3);
	assert_int_equal(v.ticket_etype, ET18);
	assert_int_equal(v.ap_options, KRB_AP_OPT_MUTUAL_REQUIRED);
	assert_int_equal(v.ticket_flags, FLAGS);
	assert_int_equal(v.authtime, f->now - 60);
	assert_int_equal(v.starttime, f->now - 30);
	assert_int_equal(v.endtime, f->now + 3600);
	assert_int_equal(v.renew_till, 0);
	assert_int_equal(v.ctime, f->now);
	assert_int_equal(v.cusec, 4242);
	assert_true(v.has_seq_number);
	assert_int_equal(v.seq_number, 0x89abcdefu);
	assert_false(v.has_cksum);
	assert_non_null(v.session_key);
	assert_true(lbytes_ct_eq(kc_key_bytes(v.session_key), kc_key_bytes(&sk)));
	assert_non_null(v.subkey);
	assert_int_equal(kc_key_enctype(v.subkey), ET17);
	assert_true(lbytes_ct_eq(kc_key_bytes(v.subkey), kc_key_bytes(&sub)));
	/* The decrypted ticket and authenticator no longer hold the key bytes. */
	assert_false(contains(v.ticket_plain, v.ticket_plain_cap, kc_key_bytes(&sk)));
	assert_false(contains(v.auth_plain, v.auth_plain_cap, kc_key_bytes(&sub)));
	stats_expect(f, 1, 1, 1, 0);
	acc_verified_clear(&v);
	assert_null(v.session_key);
	kc_key_clear(&sk);
	kc_key_clear(&sub);
	free(req);
}

/* Any principal of the keytab, without a kvno in the ticket (the newest is used). */
static void
test_accept_any_no_kvno(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	uint32_t kvnos[2] = { 3, 5 };
	kc_key k5;
	kc_key *keys[2] = { &f->k3, &k5 };

	key_fill(&k5, ET18, 5);
	keytab_write(f, kvnos, keys, 2);
	ctx_make(f, NULL, 0, 0);
	s.has_kvno = false;
	s.ticket_key = &k5;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s.ticket_key = &f->k3;          /* the older key is not tried */
	expect(f, &s, LETHE_ERR_BAD_INTEGRITY, ACC_TICKET_INTEGRITY);
	s.has_kvno = true;
	s.kvno = 3;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s.sname = other;                /* not in the keytab */
	expect(f, &s, ACC_ERR_NOT_US, ACC_NOT_US);
	stats_expect(f, 3, 2, 2, 2);
	kc_key_clear(&k5);
}

/* Boundaries of the skew: exactly skew away is accepted. */
static void
test_accept_at_skew_edges(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.endtime = f->now - SKEW;
	s.ctime = f->now - SKEW;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s = tspec_default(f);
	s.has_starttime = true;
	s.starttime = f->now + SKEW;
	s.ctime = f->now + SKEW;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
}

/* ------------------------------------------------------------ refusals */

static void
test_wrong_ticket_key(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.ticket_key = &f->wrong;
	expect(f, &s, LETHE_ERR_BAD_INTEGRITY, ACC_TICKET_INTEGRITY);
	assert_int_equal(acc_reason_krb_code(ACC_TICKET_INTEGRITY), KRB_AP_ERR_BAD_INTEGRITY);
	stats_expect(f, 1, 0, 0, 1);
}

static void
test_unknown_kvno(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	uint8_t *req;
	size_t len;

	s.kvno = 9;
	req = ap_req_make(&s, &sk, &sub, &len);
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), ACC_ERR_BADKEYVER);
	assert_int_equal(err.reason, ACC_BADKEYVER);
	assert_int_equal(err.code, KRB_AP_ERR_BADKEYVER);
	assert_string_equal(err.text, "no key for kvno 9");
	assert_true(v.server_known);
	assert_int_equal(v.kvno, 9);
	assert_false(v.client_known);
	stats_expect(f, 0, 0, 0, 1);
	acc_verified_clear(&v);
	kc_key_clear(&sk);
	free(req);
}

static void
test_wrong_etype(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.enc_etype = ET17;             /* kvno 3 exists, as enctype 18 only */
	expect(f, &s, LETHE_ERR_ETYPE_NOSUPP, ACC_ETYPE);
	s.enc_etype = 23;               /* rc4: not supported at all */
	expect(f, &s, LETHE_ERR_ETYPE_NOSUPP, ACC_ETYPE);
	assert_int_equal(acc_reason_krb_code(ACC_ETYPE), KDC_ERR_ETYPE_NOSUPP);
	stats_expect(f, 0, 0, 0, 2);
}

static void
test_server_not_accepted(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.sname = other;
	expect(f, &s, ACC_ERR_NOT_US, ACC_NOT_US);
	assert_int_equal(acc_reason_krb_code(ACC_NOT_US), KRB_AP_ERR_NOT_US);
	stats_expect(f, 0, 0, 0, 1);
}

static void
test_ticket_expired(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.endtime = f->now - SKEW - 1;
	expect(f, &s, ACC_ERR_REFUSED, ACC_TKT_EXPIRED);
	assert_int_equal(acc_reason_krb_code(ACC_TKT_EXPIRED), KRB_AP_ERR_TKT_EXPIRED);
	stats_expect(f, 1, 0, 0, 1);
}

static void
test_ticket_not_yet_valid(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.has_starttime = true;
	s.starttime = f->now + SKEW + 1;
	expect(f, &s, ACC_ERR_REFUSED, ACC_TKT_NYV);
	s = tspec_default(f);
	s.authtime = f->now + SKEW + 1;      /* no starttime: authtime counts */
	expect(f, &s, ACC_ERR_REFUSED, ACC_TKT_NYV);
	s = tspec_default(f);
	s.flags |= KRB_TKT_FLG_INVALID;
	expect(f, &s, ACC_ERR_REFUSED, ACC_TKT_NYV);
	assert_int_equal(acc_reason_krb_code(ACC_TKT_NYV), KRB_AP_ERR_TKT_NYV);
}

static void
test_skewed_authenticator(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.ctime = f->now + SKEW + 1;
	expect(f, &s, ACC_ERR_REFUSED, ACC_SKEW);
	s.ctime = f->now - SKEW - 1;
	expect(f, &s, ACC_ERR_REFUSED, ACC_SKEW);
	assert_int_equal(acc_reason_krb_code(ACC_SKEW), KRB_AP_ERR_SKEW);
	stats_expect(f, 2, 2, 0, 2);
}

static void
test_replay(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	acc_stats st;
	uint8_t *req;
	size_t len;

	req = ap_req_make(&s, &sk, &sub, &len);
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), LETHE_OK);
	acc_verified_clear(&v);
	f->now += 1;
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), ACC_ERR_REFUSED);
	assert_int_equal(err.reason, ACC_REPEAT);
	assert_int_equal(err.code, KRB_AP_ERR_REPEAT);
	assert_null(v.session_key);
	acc_verified_clear(&v);
	/* Still a replay near the end of the window (ctime + skew). */
	f->now = NOW + SKEW;
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), ACC_ERR_REFUSED);
	assert_int_equal(err.reason, ACC_REPEAT);
	acc_verified_clear(&v);
	/* Past the window it is too old, not a replay. */
	f->now = NOW + SKEW + 1;
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), ACC_ERR_REFUSED);
	assert_int_equal(err.reason, ACC_SKEW);
	acc_verified_clear(&v);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.replays, 2);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.refused, 3);
	assert_int_equal(st.rcache_entries, 1);
	kc_key_clear(&sk);
	free(req);
}

static void
test_cname_mismatch(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.auth_cname = bob;
	expect(f, &s, ACC_ERR_REFUSED, ACC_BADMATCH);
	assert_int_equal(acc_reason_krb_code(ACC_BADMATCH), KRB_AP_ERR_BADMATCH);
}

static void
test_wrong_authenticator_key(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.auth_key = &f->wrong;
	expect(f, &s, LETHE_ERR_BAD_INTEGRITY, ACC_AUTH_INTEGRITY);
	stats_expect(f, 1, 1, 0, 1);
}

static void
test_user_to_user_refused(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);

	s.ap_options = KRB_AP_OPT_USE_SESSION_KEY;
	expect(f, &s, LETHE_ERR_UNSUPPORTED, ACC_USER_TO_USER);
	stats_expect(f, 0, 0, 0, 1);
}

/* Every truncation, garbage and a flipped bit: refused, nothing decrypted wrongly. */
static void
test_truncated_and_garbage(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	static const uint8_t garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	static const uint8_t fake_app[] = { 0x6e, 0x03, 0x02, 0x01, 0x05 };
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	acc_stats st;
	uint8_t *req;
	size_t len, cut;

	req = ap_req_make(&s, &sk, &sub, &len);
	for (cut = 0; cut < len; cut++) {
		assert_int_not_equal(acc_verify_ap_req(f->ctx, req, cut, &v, &err), LETHE_OK);
		assert_true(err.reason == ACC_MALFORMED || err.reason == ACC_MSG_TYPE);
		assert_null(v.session_key);
		acc_verified_clear(&v);
	}
	assert_int_equal(acc_verify_ap_req(f->ctx, garbage, sizeof(garbage), &v, &err),
			 LETHE_ERR_DER_TAG);
	assert_int_equal(err.reason, ACC_MSG_TYPE);
	assert_int_equal(err.code, KRB_AP_ERR_MSG_TYPE);
	acc_verified_clear(&v);
	assert_int_not_equal(acc_verify_ap_req(f->ctx, fake_app, sizeof(fake_app), &v, &err),
			     LETHE_OK);
	assert_int_equal(err.reason, ACC_MALFORMED);
	assert_int_equal(err.code, KRB_ERR_GENERIC);
	acc_verified_clear(&v);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.ticket_decrypts + st.authenticator_decrypts, 0);
	/* One flipped bit near the end: the authenticator's MAC. */
	req[len - 3] ^= 0x01;
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(err.reason, ACC_AUTH_INTEGRITY);
	assert_null(v.session_key);
	assert_false(v.client_known);
	acc_verified_clear(&v);
	assert_int_equal(acc_verify_ap_req(f->ctx, NULL, 0, &v, &err), LETHE_ERR_DER_TAG);
	acc_verified_clear(&v);
	assert_int_equal(acc_verify_ap_req(NULL, req, len, &v, &err), LETHE_ERR_INVALID_ARG);
	kc_key_clear(&sk);
	free(req);
}

/* ---------------------------------------------------------- keytab reload */

static void
test_keytab_replaced(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	uint32_t kvnos[1] = { 4 };
	kc_key *keys[1] = { &f->k4 };
	acc_stats st;

	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	keytab_write(f, kvnos, keys, 1);        /* rotation: only kvno 4 now */
	/* Same clock second, kvno 3 is still known: the old key set serves. */
	s.cusec++;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.keytab_loads, 1);
	/* kvno 4 is not in the old set: the miss makes the context look again. */
	s = tspec_default(f);
	s.ticket_key = &f->k4;
	s.kvno = 4;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.keytab_loads, 2);
	s = tspec_default(f);
	s.cusec += 2;
	expect(f, &s, ACC_ERR_BADKEYVER, ACC_BADKEYVER);
	/* A new second: the file is checked, unchanged, not re-read. */
	f->now++;
	s = tspec_default(f);
	s.ticket_key = &f->k4;
	s.kvno = 4;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.keytab_loads, 2);
	/* Removed keytab: no key at all, after the next check. */
	assert_int_equal(unlink(f->path), 0);
	f->now++;
	s = tspec_default(f);
	s.ticket_key = &f->k4;
	s.kvno = 4;
	expect(f, &s, ACC_ERR_NOT_US, ACC_NOT_US);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.keytab_loads, 3);
}

/* A keytab that turns unreadable keeps the previous keys in use. */
static void
test_keytab_corrupt_keeps_keys(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	FILE *fp;

	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite("\x05\x02\x00\x00\x00\x40xx", 1, 8, fp), 8);
	assert_int_equal(fclose(fp), 0);
	f->now++;
	s = tspec_default(f);
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	assert_int_equal(acc_reload_keytab(f->ctx, true), LETHE_ERR_FORMAT);
	s.cusec++;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
}

/* ------------------------------------------------------------ replay cache */

static void
test_rcache_full(void **state)
{
	fx *f = *state;
	static const char *const servers[] = { SERVER };
	tspec s;
	acc_stats st;

	ctx_make(f, servers, 1, 2);
	s = tspec_default(f);
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s.cusec++;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s.cusec++;
	expect(f, &s, ACC_ERR_RCACHE_FULL, ACC_RCACHE_FULL);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.rcache_full, 1);
	assert_int_equal(st.rcache_entries, 2);
	/* Entries live for 2 × skew; after that they are reclaimed. */
	f->now = NOW + 2 * SKEW - 1;
	s = tspec_default(f);
	expect(f, &s, ACC_ERR_RCACHE_FULL, ACC_RCACHE_FULL);
	f->now = NOW + 2 * SKEW;
	s = tspec_default(f);
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s.cusec++;
	expect(f, &s, LETHE_OK, ACC_ACCEPTED);
	s.cusec++;
	expect(f, &s, ACC_ERR_RCACHE_FULL, ACC_RCACHE_FULL);
	acc_stats_get(f->ctx, &st);
	assert_int_equal(st.rcache_entries, 2);
	assert_int_equal(st.rcache_full, 3);
	assert_int_equal(st.accepted, 4);
}

/* Many threads, one request each plus one shared: the shared one is accepted once. */
#define N_THREADS 4

typedef struct thr_arg {
	fx *f;
	const uint8_t *shared;
	size_t shared_len;
	uint8_t *own;
	size_t own_len;
	int accepted;
	int repeats;
} thr_arg;

static void *
thr_main(void *p)
{
	thr_arg *a = p;
	acc_verified v;
	acc_error err;
	int i;

	for (i = 0; i < 20; i++) {
		if (acc_verify_ap_req(a->f->ctx, a->shared, a->shared_len, &v, &err) == LETHE_OK)
			a->accepted++;
		else if (err.reason == ACC_REPEAT)
			a->repeats++;
		acc_verified_clear(&v);
	}
	if (acc_verify_ap_req(a->f->ctx, a->own, a->own_len, &v, &err) == LETHE_OK)
		a->accepted++;
	acc_verified_clear(&v);
	kc_thread_cleanup();
	return NULL;
}

static void
test_threads(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	thr_arg args[N_THREADS];
	pthread_t th[N_THREADS];
	kc_key sk, sub;
	uint8_t *shared;
	size_t shared_len;
	int i, accepted = 0, repeats = 0;

	shared = ap_req_make(&s, &sk, &sub, &shared_len);
	kc_key_clear(&sk);
	for (i = 0; i < N_THREADS; i++) {
		args[i] = (thr_arg){ .f = f, .shared = shared, .shared_len = shared_len };
		s.cusec = 100 + i;
		args[i].own = ap_req_make(&s, &sk, &sub, &args[i].own_len);
		kc_key_clear(&sk);
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
	}
	for (i = 0; i < N_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		accepted += args[i].accepted;
		repeats += args[i].repeats;
		free(args[i].own);
	}
	assert_int_equal(accepted, 1 + N_THREADS);
	assert_int_equal(repeats, 20 * N_THREADS - 1);
	stats_expect(f, 21 * N_THREADS, 21 * N_THREADS, 1 + N_THREADS, 20 * N_THREADS - 1);
	free(shared);
}

/* ------------------------------------------------------- AP-REP, KRB-ERROR */

/* A kcl_cred for the ticket inside req (the client's view). */
static void
cred_for(const uint8_t *ticket, size_t ticket_len, kc_key *sk, kcl_cred *cred)
{
	memset(cred, 0, sizeof(*cred));
	assert_int_equal(kcl_name_set(&cred->client, &alice, LB(REALM)), LETHE_OK);
	assert_int_equal(kcl_name_set(&cred->server, &srv, LB(REALM)), LETHE_OK);
	cred->ticket = malloc(ticket_len);
	assert_non_null(cred->ticket);
	memcpy(cred->ticket, ticket, ticket_len);
	cred->ticket_len = ticket_len;
	assert_int_equal(kc_key_new(kc_key_enctype(sk), kc_key_bytes(sk), &cred->session_key),
			 LETHE_OK);
}

/* The client library builds the AP-REQ; the AP-REP goes back to it. */
static void
test_client_ap_exchange(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	kcl_ap_params ap = { .ap_options = KRB_AP_OPT_MUTUAL_REQUIRED, .use_subkey = true,
			     .has_seq_number = true, .seq_number = 77 };
	kcl_ap_state st = { 0 }, bad;
	kcl_ap_rep_info info = { 0 };
	kcl_cred cred;
	kcl_error kerr;
	acc_verified v;
	acc_error err;
	kc_key sk, server_sub;
	der_writer w;
	uint8_t *ticket, *rep;
	size_t ticket_len, rep_len;
	uint32_t seq = 0x01020304u;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	f->now = (int64_t)ts.tv_sec;            /* kcl_ap_req_build uses the real clock */
	s = tspec_default(f);
	key_fill(&sk, ET18, 42);
	ticket = ticket_make(&s, &sk, &ticket_len);
	cred_for(ticket, ticket_len, &sk, &cred);
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(kcl_ap_req_build(&cred, &ap, &st, &w), LETHE_OK);
	assert_int_equal(acc_verify_ap_req(f->ctx, der_written(&w).data, der_written(&w).len,
					   &v, &err), LETHE_OK);
	assert_int_equal(v.ctime, st.ctime);
	assert_int_equal(v.cusec, st.cusec);
	assert_true(v.has_seq_number);
	assert_int_equal(v.seq_number, 77);
	assert_non_null(v.subkey);
	assert_true(lbytes_ct_eq(kc_key_bytes(v.subkey), kc_key_bytes(st.subkey)));
	assert_true(v.ap_options & KRB_AP_OPT_MUTUAL_REQUIRED);
	der_writer_reset(&w);
	key_fill(&server_sub, ET18, 9);
	assert_int_equal(acc_ap_rep_build(f->ctx, &v, &server_sub, &seq, &w), LETHE_OK);
	rep = take(&w, &rep_len);
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, rep_len, &info, &kerr), LETHE_OK);
	assert_non_null(info.subkey);
	assert_true(lbytes_ct_eq(kc_key_bytes(info.subkey), kc_key_bytes(&server_sub)));
	assert_true(info.has_seq_number);
	assert_int_equal(info.seq_number, seq);
	kc_key_free(info.subkey);
	/* The client refuses an AP-REP for another authenticator. */
	bad = st;
	bad.cusec ^= 1;
	assert_int_not_equal(kcl_ap_rep_verify(&cred, &bad, rep, rep_len, &info, &kerr),
			     LETHE_OK);
	free(rep);
	/* Without subkey or seq-number. */
	assert_int_equal(acc_ap_rep_build(f->ctx, &v, NULL, NULL, &w), LETHE_OK);
	rep = take(&w, &rep_len);
	memset(&info, 0, sizeof(info));
	assert_int_equal(kcl_ap_rep_verify(&cred, &st, rep, rep_len, &info, &kerr), LETHE_OK);
	assert_null(info.subkey);
	assert_false(info.has_seq_number);
	free(rep);
	acc_verified_clear(&v);
	/* A refused request gets no AP-REP. */
	assert_int_equal(acc_ap_rep_build(f->ctx, &v, NULL, NULL, &w), LETHE_ERR_INVALID_ARG);
	der_writer_free(&w);
	kcl_ap_state_clear(&st);
	kcl_cred_clear(&cred);
	kc_key_clear(&sk);
	kc_key_clear(&server_sub);
	free(ticket);
}

static void
test_krb_error_after_skew(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	krb_error e;
	der_writer w;
	lethe_arena a;
	uint8_t *req, *out;
	size_t len, out_len;

	s.ctime = f->now - 1000;
	s.cusec = 31;
	req = ap_req_make(&s, &sk, &sub, &len);
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), ACC_ERR_REFUSED);
	assert_int_equal(err.reason, ACC_SKEW);
	assert_true(v.client_known);
	assert_null(v.session_key);
	lethe_arena_init(&a, ARENA_BUDGET);
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(acc_krb_error_build(f->ctx, &v, err.code, err.text, &w), LETHE_OK);
	out = take(&w, &out_len);
	assert_int_equal(krb_decode_krb_error(&a, out, out_len, &e), LETHE_OK);
	assert_int_equal(e.error_code, KRB_AP_ERR_SKEW);
	assert_int_equal(e.stime, f->now);
	assert_int_equal(e.susec, f->usec);
	assert_true(name_is(&e.sname, &srv));
	assert_lbytes_equal(e.realm, LB(REALM));
	assert_true(e.has_cname && name_is(&e.cname, &alice));
	assert_true(e.has_crealm);
	assert_lbytes_equal(e.crealm, LB(REALM));
	assert_true(e.has_ctime && e.ctime == f->now - 1000);
	assert_true(e.has_cusec && e.cusec == 31);
	assert_true(e.has_e_text);
	assert_lbytes_equal(e.e_text, LB("clock skew too great"));
	free(out);
	acc_verified_clear(&v);
	/* Without a request: the configured server, no client, no e-text. */
	assert_int_equal(acc_krb_error_build(f->ctx, NULL, KRB_AP_ERR_MSG_TYPE, NULL, &w),
			 LETHE_OK);
	out = take(&w, &out_len);
	assert_int_equal(krb_decode_krb_error(&a, out, out_len, &e), LETHE_OK);
	assert_int_equal(e.error_code, KRB_AP_ERR_MSG_TYPE);
	assert_true(name_is(&e.sname, &srv));
	assert_false(e.has_cname || e.has_crealm || e.has_e_text || e.has_ctime);
	free(out);
	der_writer_free(&w);
	lethe_arena_free(&a);
	kc_key_clear(&sk);
	free(req);
}

/* Accepting any principal: the keytab's first names the KRB-ERROR; none: NOT_FOUND. */
static void
test_krb_error_fallback(void **state)
{
	fx *f = *state;
	krb_error e;
	der_writer w;
	lethe_arena a;
	uint8_t *out;
	size_t out_len;

	ctx_make(f, NULL, 0, 0);
	lethe_arena_init(&a, ARENA_BUDGET);
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(acc_krb_error_build(f->ctx, NULL, KRB_ERR_GENERIC, "x\ny", &w),
			 LETHE_OK);
	out = take(&w, &out_len);
	assert_int_equal(krb_decode_krb_error(&a, out, out_len, &e), LETHE_OK);
	assert_true(name_is(&e.sname, &srv));
	assert_lbytes_equal(e.e_text, LB("x?y"));
	free(out);
	assert_int_equal(unlink(f->path), 0);
	ctx_make(f, NULL, 0, 0);
	assert_int_equal(acc_krb_error_build(f->ctx, NULL, KRB_ERR_GENERIC, NULL, &w),
			 LETHE_ERR_NOT_FOUND);
	der_writer_free(&w);
	lethe_arena_free(&a);
}

static void
test_authenticator_checksum(void **state)
{
	fx *f = *state;
	tspec s = tspec_default(f);
	uint8_t ck[KC_MAX_CKSUM_LEN];
	krb_checksum cksum = { KC_CKSUMTYPE_HMAC_SHA1_96_AES256, { ck, 0 } };
	kc_key sk, sub;
	acc_verified v;
	acc_error err;
	uint8_t *req;
	size_t len;

	key_fill(&sk, ET18, s.session_seed);
	assert_int_equal(kc_checksum_make(&sk, cksum.cksumtype, KRB_KU_AP_REQ_AUTH_CKSUM,
					  LB("app data"), ck, sizeof(ck), &cksum.checksum.len),
			 LETHE_OK);
	kc_key_clear(&sk);
	s.cksum = &cksum;
	req = ap_req_make(&s, &sk, &sub, &len);
	assert_int_equal(acc_verify_ap_req(f->ctx, req, len, &v, &err), LETHE_OK);
	assert_true(v.has_cksum);
	assert_int_equal(v.cksum.cksumtype, KC_CKSUMTYPE_HMAC_SHA1_96_AES256);
	assert_int_equal(acc_verify_cksum(&v, LB("app data")), LETHE_OK);
	assert_int_equal(acc_verify_cksum(&v, LB("app datA")), LETHE_ERR_BAD_INTEGRITY);
	v.cksum.cksumtype = 0x8003;
	assert_int_equal(acc_verify_cksum(&v, LB("app data")), LETHE_ERR_CKSUM_NOSUPP);
	v.has_cksum = false;
	assert_int_equal(acc_verify_cksum(&v, LB("app data")), LETHE_ERR_NOT_FOUND);
	acc_verified_clear(&v);
	kc_key_clear(&sk);
	free(req);
}

/* ------------------------------------------------------------ parameters */

static void
test_params(void **state)
{
	fx *f = *state;
	static const char *const no_realm[] = { "host/srv.lethe.test" };
	acc_params p = { .keytab_path = f->path };
	acc_ctx *ctx = NULL;
	FILE *fp;

	assert_int_equal(acc_ctx_new(NULL, &ctx), LETHE_ERR_INVALID_ARG);
	p.keytab_path = NULL;
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_INVALID_ARG);
	p.keytab_path = f->path;
	p.skew = -1;
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_INVALID_ARG);
	p.skew = ACC_MAX_SKEW + 1;
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_INVALID_ARG);
	p.skew = 0;
	p.rcache_max_entries = ACC_MAX_RCACHE_ENTRIES + 1;
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_INVALID_ARG);
	p.rcache_max_entries = 0;
	p.n_servers = 1;
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_INVALID_ARG);
	p.servers = no_realm;
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_FORMAT);
	assert_null(ctx);
	p.n_servers = 0;
	/* Defaults, a missing file, a malformed one. */
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_OK);
	acc_ctx_free(ctx);
	ctx = NULL;
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_OK);
	acc_ctx_free(ctx);
	ctx = NULL;
	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite("\x05\x01", 1, 2, fp), 2);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(acc_ctx_new(&p, &ctx), LETHE_ERR_UNSUPPORTED);
	assert_null(ctx);
	assert_string_equal(acc_reason_str(ACC_SKEW), "skew");
	assert_string_equal(acc_reason_str(ACC_REASON_COUNT), "unknown");
	assert_int_equal(acc_reason_krb_code(ACC_REPEAT), KRB_AP_ERR_REPEAT);
	assert_int_equal(acc_reason_krb_code(ACC_ACCEPTED), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_accept_fields),
		T(test_accept_any_no_kvno),
		T(test_accept_at_skew_edges),
		T(test_wrong_ticket_key),
		T(test_unknown_kvno),
		T(test_wrong_etype),
		T(test_server_not_accepted),
		T(test_ticket_expired),
		T(test_ticket_not_yet_valid),
		T(test_skewed_authenticator),
		T(test_replay),
		T(test_cname_mismatch),
		T(test_wrong_authenticator_key),
		T(test_user_to_user_refused),
		T(test_truncated_and_garbage),
		T(test_keytab_replaced),
		T(test_keytab_corrupt_keeps_keys),
		T(test_rcache_full),
		T(test_threads),
		T(test_client_ap_exchange),
		T(test_krb_error_after_skew),
		T(test_krb_error_fallback),
		T(test_authenticator_checksum),
		T(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
