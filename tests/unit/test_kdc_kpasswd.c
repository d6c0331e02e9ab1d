/*
 * The kpasswd handler's verdicts, request by request, against an
 * in-memory realm (alice, root/admin, kadmin/changepw) and a hook that
 * records the change: result 7 for a change-password with a ticket that
 * is not INITIAL (version 1: MIT kpasswd always has an INITIAL one, so
 * only this test sends it), 6 for an unknown version, 5 for a set-password
 * by a non-administrator, the KRB-ERROR of a replayed authenticator, and
 * no answer for what is not a frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "kdc/kdc.h"
#include "kdc/kpasswd.h"
#include "krb5/krb5.h"

#define REALM "KPW.TEST"
#define NOW INT64_C(1700000000)
#define REP_CAP 65536u

typedef struct fixture {
	kdc *k;
	void *worker;
	lethe_arena arena;
	uint8_t reply[REP_CAP];
	size_t reply_len;
	int changes;                  /* calls of the hook */
	char last_target[128];
	bool last_by_admin;
} fixture;

static void
fixed_clock(void *ctx, int64_t *sec, int32_t *usec)
{
	(void)ctx;
	*sec = NOW;
	*usec = 0;
}

static uint16_t
record(void *ctx, const kdc_password_change *c, char *text, size_t cap)
{
	fixture *f = ctx;

	f->changes++;
	snprintf(f->last_target, sizeof(f->last_target), "%s", c->target);
	f->last_by_admin = c->by_admin;
	snprintf(text, cap, "done");
	return KDC_KPASSWD_SUCCESS;
}

/* The key of principal number i: 32 bytes of a fixed pattern. */
static lbytes
key_of(unsigned i, uint8_t *buf)
{
	for (size_t j = 0; j < 32; j++)
		buf[j] = (uint8_t)(i * 31u + j);
	return lbytes_make(buf, 32);
}

static const char *const names[] = { "alice@" REALM, "root/admin@" REALM,
	"kadmin/changepw@" REALM };
#define CHANGEPW 2u

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	store_principal ps[3];
	store_key keys[3];
	store_realm_policy pol;
	kdc_snapshot *snap;

	assert_non_null(f);
	memset(ps, 0, sizeof(ps));
	memset(keys, 0, sizeof(keys));
	for (unsigned i = 0; i < 3; i++) {
		keys[i] = (store_key){ .kvno = 1, .enctype = 18, .key_len = 32,
			.kind = STORE_KEY_LONG_TERM };
		key_of(i, keys[i].key);
		ps[i] = (store_principal){ .name = (char *)names[i],
			.kind = i == CHANGEPW ? STORE_KIND_SERVICE : STORE_KIND_USER,
			.attributes = STORE_ATTR_DEFAULT_SERVICE, .keys = &keys[i], .nkeys = 1 };
	}
	assert_int_equal(store_realm_policy_default(&pol, REALM), LETHE_OK);
	assert_int_equal(kdc_snapshot_build(&pol, ps, 3, 1, &snap), LETHE_OK);
	assert_int_equal(kdc_new(snap, &f->k), LETHE_OK);
	kdc_set_clock(f->k, fixed_clock, NULL);
	kdc_set_log_requests(f->k, false);
	assert_int_equal(kdc_set_kpasswd(f->k, record, f, "x@" REALM ", root/admin@" REALM),
	    LETHE_OK);
	assert_int_equal(kdc_worker_init(f->k, 0, &f->worker), LETHE_OK);
	lethe_arena_init(&f->arena, 1u << 20);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	kdc_worker_fini(f->k, 0, f->worker);
	kdc_free(f->k);
	lethe_arena_free(&f->arena);
	free(f);
	return 0;
}

/* What one request looks like. */
typedef struct req {
	const char *client;           /* first component; "root" means root/admin */
	unsigned client_index;
	uint32_t flags;               /* of the ticket */
	uint16_t version;
	int64_t ctime;
	bool auth_seq;                /* the authenticator carries seq 5 */
	uint32_t priv_seq;            /* the KRB-PRIV's (0: none) */
	const char *target;           /* set-password target ("alice"), or NULL */
} req;

static lbytes
take(der_writer *w)
{
	uint8_t *p;
	size_t len;

	assert_int_equal(der_writer_take(w, &p, &len), LETHE_OK);
	return lbytes_make(p, len);
}

static lbytes
seal(lbytes key, uint32_t usage, lbytes plain)
{
	size_t len = 0, out_len = 0;
	uint8_t *buf;
	kc_key k;

	assert_int_equal(kc_key_init(&k, 18, key), LETHE_OK);
	assert_int_equal(kc_encrypt_len(18, plain.len, &len), LETHE_OK);
	buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(kc_encrypt(&k, usage, plain, buf, len, &out_len), LETHE_OK);
	kc_key_clear(&k);
	free((void *)plain.data);
	return lbytes_make(buf, out_len);
}

static lbytes c_alice[1] = { LBYTES_LIT("alice") };
static lbytes c_root[2] = { LBYTES_LIT("root"), LBYTES_LIT("admin") };
static lbytes c_changepw[2] = { LBYTES_LIT("kadmin"), LBYTES_LIT("changepw") };

/* Hand frame[0..len) to the handler; the reply into f. */
static void
send_frame(fixture *f, const uint8_t *frame, size_t len)
{
	kdc_req_info info = { .transport = KDC_TRANSPORT_UDP, .max_reply = 4096,
		.worker_ctx = f->worker, .arena = &f->arena };

	assert_int_equal(kdc_kpasswd_handle(f->k, &info, frame, len, f->reply, REP_CAP,
	    &f->reply_len), LETHE_OK);
	lethe_arena_reset(&f->arena);
}

/* The request r as a frame in a new buffer (*len bytes). */
static uint8_t *
build_req(const req *r, size_t *len)
{
	uint8_t kb[32], session[32], subkey[32], *frame;
	static const uint8_t addr[4] = { 127, 0, 0, 1 };
	krb_principal_name cname = r->client_index == 1 ?
	    (krb_principal_name){ KRB_NT_PRINCIPAL, c_root, 2 } :
	    (krb_principal_name){ KRB_NT_PRINCIPAL, c_alice, 1 };
	krb_enc_ticket_part etp = { .flags = r->flags, .key = { 18, key_of(40, session) },
		.crealm = LBYTES_LIT(REALM), .cname = cname, .authtime = NOW,
		.endtime = NOW + 300 };
	krb_authenticator auth = { .crealm = LBYTES_LIT(REALM), .cname = cname,
		.ctime = r->ctime, .has_subkey = true, .subkey = { 18, key_of(41, subkey) },
		.has_seq_number = r->auth_seq, .seq_number = 5 };
	krb_ap_req ap = { .ticket = { .realm = LBYTES_LIT(REALM),
		.sname = { KRB_NT_SRV_INST, c_changepw, 2 },
		.enc_part = { .etype = 18, .has_kvno = true, .kvno = 1 } },
		.authenticator = { .etype = 18 } };
	kdc_kpasswd_setpw sp = { .newpasswd = LBYTES_LIT("new password"),
		.has_targname = r->target != NULL, .targname = { KRB_NT_PRINCIPAL, c_alice, 1 } };
	krb_enc_krb_priv_part part = { .has_seq_number = r->priv_seq != 0,
		.seq_number = r->priv_seq, .s_address = { KRB_ADDR_IPV4, { addr, 4 } } };
	krb_priv priv = { { .etype = 18 } };
	lbytes apb, privb;
	der_writer w;
	size_t total;

	der_writer_init(&w, 1u << 20);
	krb_encode_enc_ticket_part(&w, &etp);
	ap.ticket.enc_part.cipher = seal(key_of(CHANGEPW, kb), KRB_KU_TICKET, take(&w));
	krb_encode_authenticator(&w, &auth);
	ap.authenticator.cipher = seal(etp.key.keyvalue, KRB_KU_AP_REQ_AUTH, take(&w));
	krb_encode_ap_req(&w, &ap);
	apb = take(&w);
	if (r->version == KDC_KPASSWD_VERSION_SET) {
		kdc_kpasswd_encode_setpw(&w, &sp);
		part.user_data = take(&w);
	} else
		part.user_data = LBYTES_LIT("new password");
	krb_encode_enc_krb_priv_part(&w, &part);
	if (r->version == KDC_KPASSWD_VERSION_SET)
		free((void *)part.user_data.data);
	priv.enc_part.cipher = seal(auth.subkey.keyvalue, KRB_KU_KRB_PRIV_ENC_PART, take(&w));
	krb_encode_krb_priv(&w, &priv);
	privb = take(&w);
	total = 6 + apb.len + privb.len;
	frame = malloc(total);
	assert_non_null(frame);
	frame[0] = (uint8_t)(total >> 8);
	frame[1] = (uint8_t)total;
	frame[2] = (uint8_t)(r->version >> 8);
	frame[3] = (uint8_t)r->version;
	frame[4] = (uint8_t)(apb.len >> 8);
	frame[5] = (uint8_t)apb.len;
	memcpy(frame + 6, apb.data, apb.len);
	memcpy(frame + 6 + apb.len, privb.data, privb.len);
	free((void *)apb.data);
	free((void *)privb.data);
	free((void *)ap.ticket.enc_part.cipher.data);
	free((void *)ap.authenticator.cipher.data);
	free((void *)priv.enc_part.cipher.data);
	der_writer_free(&w);
	*len = total;
	return frame;
}

/* Send r; the reply into f. */
static void
send_req(fixture *f, const req *r)
{
	size_t len = 0;
	uint8_t *frame = build_req(r, &len);

	send_frame(f, frame, len);
	free(frame);
}

/* The result code of the reply, opened with the subkey (or from the KRB-ERROR). */
static int
result_of(fixture *f, int32_t *error)
{
	uint8_t subkey[32], plain[4096];
	kdc_kpasswd_frame fr;
	krb_enc_krb_priv_part part;
	krb_priv priv;
	krb_error e;
	lethe_arena a;
	size_t plain_len = 0;
	kc_key k;
	int result;

	*error = 0;
	assert_true(f->reply_len >= 6);
	assert_int_equal(f->reply[2] << 8 | f->reply[3], 1);
	lethe_arena_init(&a, 1u << 20);
	if (f->reply[4] == 0 && f->reply[5] == 0) {
		assert_int_equal(krb_decode_krb_error(&a, f->reply + 6, f->reply_len - 6, &e),
		    LETHE_OK);
		assert_true(e.has_e_data && e.e_data.len >= 2);
		*error = e.error_code;
		result = e.e_data.data[0] << 8 | e.e_data.data[1];
	} else {
		assert_int_equal(kdc_kpasswd_parse_frame(f->reply, f->reply_len, &fr), LETHE_OK);
		assert_int_equal(krb_decode_krb_priv(&a, fr.priv.data, fr.priv.len, &priv),
		    LETHE_OK);
		assert_int_equal(kc_key_init(&k, 18, key_of(41, subkey)), LETHE_OK);
		assert_int_equal(kc_decrypt(&k, KRB_KU_KRB_PRIV_ENC_PART, priv.enc_part.cipher,
		    plain, sizeof(plain), &plain_len), LETHE_OK);
		kc_key_clear(&k);
		assert_int_equal(krb_decode_enc_krb_priv_part(&a, plain, plain_len, &part),
		    LETHE_OK);
		assert_true(part.user_data.len >= 2);
		result = part.user_data.data[0] << 8 | part.user_data.data[1];
	}
	lethe_arena_free(&a);
	return result;
}

static void
test_change_needs_initial(void **state)
{
	fixture *f = *state;
	int32_t err;

	send_req(f, &(req){ .version = 1, .ctime = NOW, .flags = 0 });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_INITIAL_FLAG_NEEDED);
	assert_int_equal(f->changes, 0);
	send_req(f, &(req){ .version = 1, .ctime = NOW + 1, .flags = KRB_TKT_FLG_INITIAL });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_SUCCESS);
	assert_int_equal(f->changes, 1);
	assert_string_equal(f->last_target, "alice@" REALM);
	assert_false(f->last_by_admin);
}

static void
test_set_needs_admin(void **state)
{
	fixture *f = *state;
	int32_t err;

	/* alice naming herself needs INITIAL; naming another, the admin list. */
	send_req(f, &(req){ .version = KDC_KPASSWD_VERSION_SET, .ctime = NOW,
	    .target = "alice" });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_INITIAL_FLAG_NEEDED);
	send_req(f, &(req){ .version = KDC_KPASSWD_VERSION_SET, .ctime = NOW + 1,
	    .client_index = 1, .target = "alice" });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_SUCCESS);
	assert_true(f->last_by_admin);
	assert_string_equal(f->last_target, "alice@" REALM);
	assert_int_equal(f->changes, 1);
	assert_int_equal(kdc_set_kpasswd(f->k, record, f, "x@" REALM), LETHE_OK);
	send_req(f, &(req){ .version = KDC_KPASSWD_VERSION_SET, .ctime = NOW + 2,
	    .client_index = 1, .target = "alice" });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_ACCESSDENIED);
	assert_int_equal(f->changes, 1);
}

static void
test_bad_requests(void **state)
{
	fixture *f = *state;
	kdc_req_info info = { .transport = KDC_TRANSPORT_UDP, .max_reply = 4096,
		.worker_ctx = f->worker, .arena = &f->arena };
	static const uint8_t junk[] = { 0, 8, 0, 1, 0, 1, 0x30, 0 };
	int32_t err;

	send_req(f, &(req){ .version = 2, .ctime = NOW, .flags = KRB_TKT_FLG_INITIAL });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_BAD_VERSION);
	assert_int_equal(err, KDC_ERR_BAD_PVNO);
	/* An authenticator's sequence number binds the KRB-PRIV; the skew holds. */
	send_req(f, &(req){ .version = 1, .ctime = NOW, .flags = KRB_TKT_FLG_INITIAL,
	    .auth_seq = true, .priv_seq = 5 });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_SUCCESS);
	send_req(f, &(req){ .version = 1, .ctime = NOW - 1000, .flags = KRB_TKT_FLG_INITIAL });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_AUTHERROR);
	assert_int_equal(err, KRB_AP_ERR_SKEW);
	/* The KRB-PRIV's sequence number must be the authenticator's. */
	send_req(f, &(req){ .version = 1, .ctime = NOW + 3, .flags = KRB_TKT_FLG_INITIAL,
	    .auth_seq = true, .priv_seq = 6 });
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_HARDERROR);
	assert_int_equal(f->changes, 1);
	/* Not a frame: no answer; a frame with a bad AP-REQ: MALFORMED, over TCP. */
	f->reply_len = 99;
	assert_int_equal(kdc_kpasswd_handle(f->k, &info, junk, 5, f->reply, REP_CAP,
	    &f->reply_len), LETHE_OK);
	assert_int_equal(f->reply_len, 0);
	info.transport = KDC_TRANSPORT_TCP;
	assert_int_equal(kdc_kpasswd_handle(f->k, &info, junk, sizeof(junk), f->reply, REP_CAP,
	    &f->reply_len), LETHE_OK);
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_MALFORMED);
	/* Over UDP its KRB-ERROR would be larger than the request: no answer. */
	info.transport = KDC_TRANSPORT_UDP;
	assert_int_equal(kdc_kpasswd_handle(f->k, &info, junk, sizeof(junk), f->reply, REP_CAP,
	    &f->reply_len), LETHE_OK);
	assert_int_equal(f->reply_len, 0);
}

/* The same request twice: the second is a replay (KRB-ERROR, no change). */
static void
test_replay(void **state)
{
	fixture *f = *state;
	size_t len = 0;
	uint8_t *frame = build_req(&(req){ .version = 1, .ctime = NOW,
	    .flags = KRB_TKT_FLG_INITIAL }, &len);
	int32_t err;

	send_frame(f, frame, len);
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_SUCCESS);
	send_frame(f, frame, len);
	assert_int_equal(result_of(f, &err), KDC_KPASSWD_AUTHERROR);
	assert_int_equal(err, KRB_AP_ERR_REPEAT);
	assert_int_equal(f->changes, 1);
	free(frame);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_change_needs_initial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_needs_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
	};

	if (kc_init() != LETHE_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
