/*
 * The kpasswd request handler (kdc/kpasswd.h) fed arbitrary bytes, against
 * a small in-memory realm with kadmin/changepw and a fixed clock, and the
 * ChangePasswdData decoder fed the same bytes. It must never crash, and
 * must answer with nothing or with one well-formed reply frame: an AP-REP
 * and a KRB-PRIV, or no AP-REP and a KRB-ERROR.
 *
 * With LETHE_FUZZ_KPASSWD_SEEDS=DIR set, it writes seeds that pass every
 * check (a change-password and a set-password request with a valid
 * ticket, authenticator and KRB-PRIV) to DIR and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "kdc/kdc.h"
#include "kdc/kpasswd.h"
#include "krb5/krb5.h"

#define FUZZ_TARGET "fuzz_kpasswd"
#include "fuzz_kdc_common.h"

#define REALM "FUZZ.TEST"
#define REP_CAP 65536u

static kdc *the_kdc;
static void *the_worker;
static lethe_arena the_arena;
static uint8_t the_reply[REP_CAP];

/* Accept every change without storing anything. */
static uint16_t
accept_all(void *ctx, const kdc_password_change *c, char *text, size_t cap)
{
	(void)ctx;
	if (c->password.len == 0 || c->client == NULL || c->target == NULL)
		die("the hook got an empty change");
	snprintf(text, cap, "ok");
	return KDC_KPASSWD_SUCCESS;
}

static void
make_kdc(void)
{
	store_principal ps[3] = {
		{ .name = (char *)"krbtgt/" REALM "@" REALM, .kind = STORE_KIND_KRBTGT,
		  .attributes = STORE_ATTR_DEFAULT_SERVICE },
		{ .name = (char *)"alice@" REALM, .kind = STORE_KIND_USER,
		  .attributes = STORE_ATTR_DEFAULT_USER },
		{ .name = (char *)"kadmin/changepw@" REALM, .kind = STORE_KIND_SERVICE,
		  .attributes = STORE_ATTR_DEFAULT_SERVICE },
	};
	store_key keys[3];
	store_realm_policy pol;
	kdc_snapshot *snap;

	memset(keys, 0, sizeof(keys));
	for (uint8_t i = 0; i < 3; i++) {
		lbytes b = pattern(i, 18, keys[i].key);

		keys[i].key_len = b.len;
		keys[i].kvno = 1;
		keys[i].enctype = 18;
		keys[i].kind = STORE_KEY_LONG_TERM;
		ps[i].keys = &keys[i];
		ps[i].nkeys = 1;
	}
	if (store_realm_policy_default(&pol, REALM) != LETHE_OK ||
	    kdc_snapshot_build(&pol, ps, 3, 1, &snap) != LETHE_OK ||
	    kdc_new(snap, &the_kdc) != LETHE_OK ||
	    kdc_set_kpasswd(the_kdc, accept_all, NULL, "alice@" REALM) != LETHE_OK)
		die("cannot build the realm");
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

	if (kdc_kpasswd_handle(the_kdc, &info, data, size, the_reply, REP_CAP, &rep_len) !=
	    LETHE_OK)
		die("kdc_kpasswd_handle failed");
	lethe_arena_reset(&the_arena);
	if (rep_len > info.max_reply)
		die("a reply over the transport's limit");
	return rep_len;
}

/* A reply is a frame: AP-REP and KRB-PRIV, or a KRB-ERROR alone. */
static void
check_reply(size_t len)
{
	kdc_kpasswd_frame f;
	lethe_arena a;
	krb_ap_rep ap;
	krb_priv priv;
	krb_error e;
	size_t ap_len;
	bool ok;

	if (len == 0)
		return;
	if (len < 6 || ((size_t)the_reply[0] << 8 | the_reply[1]) != len ||
	    the_reply[2] != 0 || the_reply[3] != 1)
		die("a reply that is not a kpasswd frame");
	ap_len = (size_t)the_reply[4] << 8 | the_reply[5];
	lethe_arena_init(&a, 1u << 20);
	if (ap_len == 0) {
		ok = krb_decode_krb_error(&a, the_reply + 6, len - 6, &e) == LETHE_OK &&
		    e.has_e_data && e.e_data.len >= 2;
	} else {
		ok = kdc_kpasswd_parse_frame(the_reply, len, &f) == LETHE_OK &&
		    krb_decode_ap_rep(&a, f.ap_req.data, f.ap_req.len, &ap) == LETHE_OK &&
		    krb_decode_krb_priv(&a, f.priv.data, f.priv.len, &priv) == LETHE_OK;
	}
	lethe_arena_free(&a);
	if (!ok)
		die("a reply frame with a malformed message");
}

/* ------------------------------------------------------------ seeds */

static lbytes
seal(int32_t etype, lbytes key, uint32_t usage, lbytes plain)
{
	size_t len = 0, out_len = 0;
	uint8_t *buf;
	kc_key k;

	if (kc_key_init(&k, etype, key) != LETHE_OK ||
	    kc_encrypt_len(etype, plain.len, &len) != LETHE_OK)
		die("encryption failed");
	buf = malloc(len);
	if (buf == NULL || kc_encrypt(&k, usage, plain, buf, len, &out_len) != LETHE_OK)
		die("encryption failed");
	kc_key_clear(&k);
	return lbytes_make(buf, out_len);
}

static lbytes c_alice[1] = { LBYTES_LIT("alice") };
static lbytes c_changepw[2] = { LBYTES_LIT("kadmin"), LBYTES_LIT("changepw") };

/* A request of version with user data, its authenticator at ctime. */
static lbytes
request(uint16_t version, lbytes user_data, int64_t ctime)
{
	uint8_t changepw_key[32], session[32], subkey[32];
	static const uint8_t addr[4] = { 127, 0, 0, 1 };
	krb_enc_ticket_part etp = { .flags = KRB_TKT_FLG_INITIAL,
		.key = { 18, pattern(7, 18, session) }, .crealm = LBYTES_LIT(REALM),
		.cname = { KRB_NT_PRINCIPAL, c_alice, 1 }, .authtime = NOW,
		.endtime = NOW + 300 };
	krb_authenticator auth = { .crealm = LBYTES_LIT(REALM),
		.cname = { KRB_NT_PRINCIPAL, c_alice, 1 }, .ctime = ctime, .has_subkey = true,
		.subkey = { 18, pattern(9, 18, subkey) } };
	krb_ap_req ap = { .ticket = { .realm = LBYTES_LIT(REALM),
		.sname = { KRB_NT_SRV_INST, c_changepw, 2 },
		.enc_part = { .etype = 18, .has_kvno = true, .kvno = 1 } },
		.authenticator = { .etype = 18 } };
	krb_enc_krb_priv_part part = { .user_data = user_data,
		.s_address = { KRB_ADDR_IPV4, { addr, 4 } } };
	krb_priv priv = { { .etype = 18 } };
	lbytes plain, apb, privb, out;
	der_writer w;
	uint8_t *frame;
	size_t total;

	der_writer_init(&w, 1u << 20);
	krb_encode_enc_ticket_part(&w, &etp);
	plain = take(&w);
	ap.ticket.enc_part.cipher = seal(18, pattern(2, 18, changepw_key), KRB_KU_TICKET, plain);
	free((void *)plain.data);
	krb_encode_authenticator(&w, &auth);
	plain = take(&w);
	ap.authenticator.cipher = seal(18, etp.key.keyvalue, KRB_KU_AP_REQ_AUTH, plain);
	free((void *)plain.data);
	krb_encode_ap_req(&w, &ap);
	apb = take(&w);
	krb_encode_enc_krb_priv_part(&w, &part);
	plain = take(&w);
	priv.enc_part.cipher = seal(18, auth.subkey.keyvalue, KRB_KU_KRB_PRIV_ENC_PART, plain);
	free((void *)plain.data);
	krb_encode_krb_priv(&w, &priv);
	privb = take(&w);
	total = 6 + apb.len + privb.len;
	frame = malloc(total);
	if (frame == NULL)
		die("out of memory");
	frame[0] = (uint8_t)(total >> 8);
	frame[1] = (uint8_t)total;
	frame[2] = (uint8_t)(version >> 8);
	frame[3] = (uint8_t)version;
	frame[4] = (uint8_t)(apb.len >> 8);
	frame[5] = (uint8_t)apb.len;
	memcpy(frame + 6, apb.data, apb.len);
	memcpy(frame + 6 + apb.len, privb.data, privb.len);
	out = lbytes_make(frame, total);
	free((void *)ap.ticket.enc_part.cipher.data);
	free((void *)ap.authenticator.cipher.data);
	free((void *)priv.enc_part.cipher.data);
	free((void *)apb.data);
	free((void *)privb.data);
	der_writer_free(&w);
	return out;
}

/* Write seed name and check that it gets a KRB-PRIV with result 0. */
static void
seed(const char *dir, const char *name, lbytes req)
{
	size_t len;

	write_seed(dir, name, req);
	len = handle(req.data, req.len);
	check_reply(len);
	if (len < 6 || (the_reply[4] == 0 && the_reply[5] == 0))
		die("a seed got no AP-REP");
	free((void *)req.data);
}

static void
write_seeds(const char *dir)
{
	kdc_kpasswd_setpw sp = { .newpasswd = LBYTES_LIT("new password"),
		.has_targname = true, .targname = { KRB_NT_PRINCIPAL, c_alice, 1 },
		.has_targrealm = true, .targrealm = LBYTES_LIT(REALM) };
	der_writer w;
	lbytes data;

	seed(dir, "change", request(KDC_KPASSWD_VERSION_CHANGE, LBYTES_LIT("new password"),
	    NOW));
	der_writer_init(&w, 4096);
	kdc_kpasswd_encode_setpw(&w, &sp);
	data = take(&w);
	der_writer_free(&w);
	seed(dir, "set", request(KDC_KPASSWD_VERSION_SET, data, NOW + 1));
	write_seed(dir, "setpw_data", data);
	free((void *)data.data);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("LETHE_FUZZ_KPASSWD_SEEDS");

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
	kdc_kpasswd_setpw sp;
	der_writer w;

	/* The ChangePasswdData decoder, and what it decodes encodes again. */
	if (kdc_kpasswd_decode_setpw(&the_arena, lbytes_make(data, size), &sp) == LETHE_OK) {
		der_writer_init(&w, 1u << 20);
		if (kdc_kpasswd_encode_setpw(&w, &sp) != LETHE_OK)
			die("a decoded ChangePasswdData does not encode");
		der_writer_free(&w);
	}
	lethe_arena_reset(&the_arena);
	check_reply(handle(data, size));
	return 0;
}
