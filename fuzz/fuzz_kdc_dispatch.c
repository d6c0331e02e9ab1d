/*
 * The whole KDC request handler fed arbitrary bytes, against a small
 * in-memory realm with a fixed clock. It must never crash, and must answer
 * with nothing or with one well-formed AS-REP, TGS-REP or KRB-ERROR.
 *
 * With LETHE_FUZZ_KDC_SEEDS=DIR set, it writes seeds that reach deep into
 * both exchanges (AS-REQ, AS-REQ with a valid PA-ENC-TIMESTAMP, TGS-REQ
 * with a valid TGT and authenticator) to DIR and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kdc/kdc.h"
#include "krb5/krb5.h"

#define FUZZ_TARGET "fuzz_kdc_dispatch"
#include "fuzz_kdc_common.h"

#define REALM "FUZZ.TEST"
#define REP_CAP 65536u

static kdc *the_kdc;
static void *the_worker;
static lethe_arena the_arena;
static uint8_t the_reply[REP_CAP];

static void
add_keys(store_principal *p, uint8_t seed)
{
	static const int32_t etypes[] = { 18, 17, 20, 19 };

	p->keys = calloc(4, sizeof(*p->keys));
	if (p->keys == NULL)
		die("out of memory");
	for (size_t i = 0; i < 4; i++) {
		lbytes b = pattern(seed, etypes[i], p->keys[i].key);
		p->keys[i].key_len = b.len;
		p->keys[i].kvno = 1;
		p->keys[i].enctype = etypes[i];
		p->keys[i].kind = STORE_KEY_LONG_TERM;
	}
	p->nkeys = 4;
}

static void
make_kdc(void)
{
	store_principal ps[4] = {
		{ .name = (char *)"krbtgt/" REALM "@" REALM, .kind = STORE_KIND_KRBTGT,
		  .attributes = STORE_ATTR_DEFAULT_SERVICE },
		{ .name = (char *)"alice@" REALM, .kind = STORE_KIND_USER,
		  .attributes = STORE_ATTR_DEFAULT_USER },
		{ .name = (char *)"bob@" REALM, .kind = STORE_KIND_USER,
		  .attributes = STORE_ATTR_DEFAULT_USER & ~STORE_ATTR_REQUIRES_PREAUTH },
		{ .name = (char *)"host/svc." REALM "@" REALM, .kind = STORE_KIND_SERVICE,
		  .attributes = STORE_ATTR_DEFAULT_SERVICE },
	};
	store_realm_policy pol;
	kdc_snapshot *snap;

	for (uint8_t i = 0; i < 4; i++)
		add_keys(&ps[i], i);
	if (store_realm_policy_default(&pol, REALM) != LETHE_OK ||
	    kdc_snapshot_build(&pol, ps, 4, 1, &snap) != LETHE_OK || kdc_new(snap, &the_kdc) != LETHE_OK)
		die("cannot build the realm");
	for (size_t i = 0; i < 4; i++)
		free(ps[i].keys);
	kdc_set_clock(the_kdc, fixed_clock, NULL);
	kdc_set_log_requests(the_kdc, false);
	if (kdc_worker_init(the_kdc, 0, &the_worker) != LETHE_OK)
		die("no worker");
	lethe_arena_init(&the_arena, 1u << 20);
}

static size_t
handle(const uint8_t *data, size_t size)
{
	kdc_req_info info = {
		.transport = (size & 1) ? KDC_TRANSPORT_TCP : KDC_TRANSPORT_UDP,
		.max_reply = (size & 1) ? REP_CAP : 1400,
		.worker_ctx = the_worker,
		.arena = &the_arena,
	};
	size_t rep_len = 0;

	if (kdc_handle(the_kdc, &info, data, size, the_reply, REP_CAP, &rep_len) != LETHE_OK)
		die("kdc_handle failed");
	lethe_arena_reset(&the_arena);
	if (rep_len > info.max_reply)
		die("a reply over the transport's limit");
	return rep_len;
}

static void
check_reply(size_t len)
{
	lethe_arena a;
	krb_error e;
	krb_kdc_rep rep;
	bool ok;

	if (len == 0)
		return;
	lethe_arena_init(&a, 1u << 20);
	ok = krb_decode_krb_error(&a, the_reply, len, &e) == LETHE_OK ||
	    krb_decode_as_rep(&a, the_reply, len, &rep) == LETHE_OK ||
	    krb_decode_tgs_rep(&a, the_reply, len, &rep) == LETHE_OK;
	lethe_arena_free(&a);
	if (!ok)
		die("a reply that is not a well-formed KDC message");
}

/* ------------------------------------------------------------ seeds */

static lbytes
seal(kc_key *k, uint32_t usage, lbytes plain)
{
	size_t len = 0, out_len = 0;
	uint8_t *buf;

	if (kc_encrypt_len(kc_key_enctype(k), plain.len, &len) != LETHE_OK)
		die("encryption failed");
	buf = malloc(len);
	if (buf == NULL || kc_encrypt(k, usage, plain, buf, len, &out_len) != LETHE_OK)
		die("encryption failed");
	return lbytes_make(buf, out_len);
}

static const int32_t seed_etypes[] = { 18, 17, 20, 19 };
static lbytes c_alice[1] = { LBYTES_LIT("alice") };
static lbytes c_tgs[2] = { LBYTES_LIT("krbtgt"), LBYTES_LIT(REALM) };
static lbytes c_svc[2] = { LBYTES_LIT("host"), LBYTES_LIT("svc." REALM) };

static lbytes
as_req(kc_key *ts_key)
{
	der_writer w;
	krb_pa_enc_ts_enc ts = { .patimestamp = NOW };
	krb_pa_data pa[2] = { { KRB_PA_ENC_TIMESTAMP, { NULL, 0 } },
		{ KRB_PA_REQ_ENC_PA_REP, { NULL, 0 } } };
	krb_enc_data ed = { .etype = 18 };
	krb_kdc_req req = { .msg_type = KRB_MSG_AS_REQ, .body = {
		.kdc_options = KRB_KDC_OPT_RENEWABLE_OK | KRB_KDC_OPT_FORWARDABLE,
		.has_cname = true, .cname = { KRB_NT_PRINCIPAL, c_alice, 1 },
		.realm = LBYTES_LIT(REALM), .has_sname = true, .sname = { KRB_NT_SRV_INST, c_tgs, 2 },
		.has_till = true, .till = NOW + 86400, .nonce = 77,
		.etypes = seed_etypes, .n_etypes = 4 } };
	lbytes plain, out;

	der_writer_init(&w, 1u << 20);
	if (ts_key != NULL) {
		krb_encode_pa_enc_ts_enc(&w, &ts);
		plain = take(&w);
		ed.cipher = seal(ts_key, KRB_KU_PA_ENC_TIMESTAMP, plain);
		krb_encode_enc_data(&w, &ed);
		pa[0].padata_value = take(&w);
		req.padata = (krb_method_data){ pa, 2 };
		free((void *)plain.data);
		free((void *)ed.cipher.data);
	}
	krb_encode_as_req(&w, &req);
	out = take(&w);
	free((void *)pa[0].padata_value.data);
	der_writer_free(&w);
	return out;
}

/* The TGT and its session key from the AS-REP in the_reply[0..len). */
static void
open_as_rep(lethe_arena *a, size_t len, kc_key *alice, krb_kdc_rep *rep, kc_key *session)
{
	krb_enc_kdc_rep_part part;
	uint8_t plain[4096];
	size_t plain_len;

	if (krb_decode_as_rep(a, the_reply, len, rep) != LETHE_OK ||
	    kc_decrypt(alice, KRB_KU_AS_REP_ENC_PART, rep->enc_part.cipher, plain, sizeof(plain),
	    &plain_len) != LETHE_OK ||
	    krb_decode_enc_kdc_rep_part(a, plain, plain_len, &part) != LETHE_OK ||
	    kc_key_init(session, part.key.keytype, part.key.keyvalue) != LETHE_OK)
		die("no TGT for the TGS seed");
}

/* The AP-REQ of a TGS-REQ: ticket, authenticator with a checksum of body. */
static lbytes
ap_req(der_writer *w, const krb_ticket *ticket, kc_key *session, lbytes body)
{
	uint8_t ck[KC_MAX_CKSUM_LEN];
	size_t ck_len;
	krb_authenticator auth = { .crealm = LBYTES_LIT(REALM),
		.cname = { KRB_NT_PRINCIPAL, c_alice, 1 }, .ctime = NOW, .has_cksum = true };
	krb_ap_req ap = { .ticket = *ticket, .authenticator = { .etype = 18 } };
	lbytes ab;

	if (kc_checksum_make(session, 16, KRB_KU_TGS_REQ_AUTH_CKSUM, body, ck, sizeof(ck),
	    &ck_len) != LETHE_OK)
		die("checksum failed");
	auth.cksum = (krb_checksum){ 16, lbytes_make(ck, ck_len) };
	krb_encode_authenticator(w, &auth);
	ab = take(w);
	ap.authenticator.cipher = seal(session, KRB_KU_TGS_REQ_AUTH, ab);
	krb_encode_ap_req(w, &ap);
	free((void *)ab.data);
	free((void *)ap.authenticator.cipher.data);
	return take(w);
}

/* A TGS-REQ for host/svc with the TGT of the AS-REP in the_reply[0..len). */
static lbytes
tgs_req(size_t len, kc_key *alice)
{
	lethe_arena a;
	der_writer w;
	krb_kdc_rep rep;
	kc_key session;
	krb_pa_data pa = { .padata_type = KRB_PA_TGS_REQ };
	krb_kdc_req req = { .msg_type = KRB_MSG_TGS_REQ, .body = {
		.realm = LBYTES_LIT(REALM), .has_sname = true, .sname = { KRB_NT_SRV_HST, c_svc, 2 },
		.has_till = true, .till = NOW + 3600, .nonce = 78,
		.etypes = seed_etypes, .n_etypes = 4 } };
	lbytes out;

	lethe_arena_init(&a, 1u << 20);
	open_as_rep(&a, len, alice, &rep, &session);
	der_writer_init(&w, 1u << 20);
	krb_encode_kdc_req_body(&w, &req.body);
	req.body.raw = take(&w);
	pa.padata_value = ap_req(&w, &rep.ticket, &session, req.body.raw);
	req.padata = (krb_method_data){ &pa, 1 };
	krb_encode_tgs_req(&w, &req);
	out = take(&w);
	free((void *)req.body.raw.data);
	free((void *)pa.padata_value.data);
	der_writer_free(&w);
	kc_key_clear(&session);
	lethe_arena_free(&a);
	return out;
}

static void
write_seeds(const char *dir)
{
	uint8_t kb[32];
	kc_key alice;
	lbytes plain_req, ts_req, tgs;
	size_t len;

	if (kc_key_init(&alice, 18, pattern(1, 18, kb)) != LETHE_OK)
		die("no key");
	plain_req = as_req(NULL);
	ts_req = as_req(&alice);
	write_seed(dir, "as_req", plain_req);
	write_seed(dir, "as_req_enc_ts", ts_req);
	len = handle(ts_req.data, ts_req.len);
	if (len == 0 || the_reply[0] != 0x6b)
		die("the AS-REQ seed got no AS-REP");
	tgs = tgs_req(len, &alice);
	write_seed(dir, "tgs_req", tgs);
	len = handle(tgs.data, tgs.len);
	if (len == 0 || the_reply[0] != 0x6d)
		die("the TGS-REQ seed got no TGS-REP");
	free((void *)plain_req.data);
	free((void *)ts_req.data);
	free((void *)tgs.data);
	kc_key_clear(&alice);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("LETHE_FUZZ_KDC_SEEDS");

	(void)argc;
	(void)argv;
	make_kdc();
	if (seeds != NULL) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reply(handle(data, size));
	return 0;
}
