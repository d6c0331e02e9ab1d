/* The kpasswd service (RFC 3244): see kdc/kpasswd.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wait.h"
#include "base/wipe.h"
#include "kdc/kdc_int.h"
#include "kdc/preauth_guard.h"

#define FRAME_HEADER 6u          /* length, version, AP-REQ length */
#define SEQ_MASK 0x3fffffffu     /* MIT keeps sequence numbers below 2^30 */

/* What one kpasswd request learns, step by step. */
typedef struct kpw_state {
	kdc_kpasswd_frame frame;
	krb_ap_req ap;
	krb_enc_ticket_part ticket;
	krb_authenticator auth;
	kc_key *session;
	kc_key *subkey;
	char client[STORE_MAX_NAME_LEN + 1];
	char target[STORE_MAX_NAME_LEN + 1];
	bool authenticated;         /* the AP-REP may be sent */
	uint32_t seq;               /* ours, in the AP-REP and the reply's KRB-PRIV */
	lbytes ap_rep;
	uint16_t result;
	int32_t error;              /* KRB-ERROR code while not authenticated */
	char text[KDC_KPASSWD_TEXT_MAX];
} kpw_state;

/* ------------------------------------------------------------ parsing */

lethe_status
kdc_kpasswd_parse_frame(const uint8_t *msg, size_t len, kdc_kpasswd_frame *out)
{
	size_t ap_len;

	memset(out, 0, sizeof(*out));
	ENSURE(msg != NULL && len >= FRAME_HEADER, LETHE_ERR_FORMAT);
	ENSURE(lethe_load_be16(msg) == len, LETHE_ERR_FORMAT);
	out->version = lethe_load_be16(msg + 2);
	ap_len = lethe_load_be16(msg + 4);
	ENSURE(ap_len > 0 && ap_len < len - FRAME_HEADER, LETHE_ERR_FORMAT);
	out->ap_req = lbytes_make(msg + FRAME_HEADER, ap_len);
	out->priv = lbytes_make(msg + FRAME_HEADER + ap_len, len - FRAME_HEADER - ap_len);
	return LETHE_OK;
}

lethe_status
kdc_kpasswd_decode_setpw(lethe_arena *a, lbytes data, kdc_kpasswd_setpw *out)
{
	der_reader r, seq, inner;

	memset(out, 0, sizeof(*out));
	der_reader_init(&r, data.data, data.len);
	GUARD(der_read(&r, DER_SEQUENCE, &seq));
	GUARD(der_finish(&r));
	GUARD(der_ctx_octets(&seq, 0, &out->newpasswd));
	GUARD(der_ctx_opt(&seq, 1, &inner, &out->has_targname));
	if (out->has_targname) {
		GUARD(krb_read_principal_name(&inner, a, &out->targname));
		GUARD(der_finish(&inner));
	}
	GUARD(der_ctx_gstring_opt(&seq, 2, &out->targrealm, &out->has_targrealm));
	return der_finish(&seq);
}

lethe_status
kdc_kpasswd_encode_setpw(der_writer *w, const kdc_kpasswd_setpw *in)
{
	size_t m = der_mark(w), f;

	if (in->has_targrealm)
		der_put_ctx_gstring(w, 2, in->targrealm.data, in->targrealm.len);
	if (in->has_targname) {
		f = der_mark(w);
		krb_encode_principal_name(w, &in->targname);
		der_wrap(w, f, DER_CTX(1));
	}
	f = der_mark(w);
	der_put_octets(w, in->newpasswd.data, in->newpasswd.len);
	der_wrap(w, f, DER_CTX(0));
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ------------------------------------------------------------ configuration */

lethe_status
kdc_set_kpasswd(kdc *k, kdc_password_fn fn, void *ctx, const char *admins)
{
	size_t len = admins != NULL ? strlen(admins) : 0;
	char *list;

	list = malloc(len + 3);
	ENSURE(list != NULL, LETHE_ERR_NOMEM);
	/* " a b ": a name is in the list when " name " is. */
	list[0] = ' ';
	for (size_t i = 0; i < len; i++)
		list[i + 1] = (admins[i] == ',' || admins[i] == '\t') ? ' ' : admins[i];
	list[len + 1] = ' ';
	list[len + 2] = '\0';
	free(k->kpasswd_admins);
	k->kpasswd_admins = list;
	k->kpasswd = fn;
	k->kpasswd_ctx = ctx;
	return LETHE_OK;
}

static bool
is_admin(const kdc *k, const char *name)
{
	const char *p = k->kpasswd_admins;
	size_t n = strlen(name);

	if (p == NULL || n == 0)
		return false;
	while ((p = strstr(p, name)) != NULL) {
		if (p[-1] == ' ' && p[n] == ' ')
			return true;
		p++;
	}
	return false;
}

/* ------------------------------------------------------------ verdicts */

/* Refuse before the AP-REQ is trusted: a KRB-ERROR carries the result. */
static int
refuse(kpw_state *st, int32_t error, uint16_t result, const char *text)
{
	st->error = error;
	st->result = result;
	snprintf(st->text, sizeof(st->text), "%s", text);
	return -1;
}

/* A result inside the KRB-PRIV (the AP-REQ was good). */
static int
answer(kpw_state *st, uint16_t result, const char *text)
{
	st->result = result;
	snprintf(st->text, sizeof(st->text), "%s", text);
	return -1;
}

#define STEP(expr)                      \
	do {                            \
		if ((expr) != 0)        \
			return -1;      \
	} while (0)

static int
open_ticket(kdc_request *r, kpw_state *st, const kdc_principal *changepw)
{
	const krb_ticket *t = &st->ap.ticket;
	const krb_enc_data *ed = &t->enc_part;
	const kdc_key *key;
	lbytes plain;
	lethe_status rc;

	if (!lbytes_eq(t->realm, r->realm) || t->sname.n_components != 2 ||
	    !lbytes_eq(t->sname.components[0], LBYTES_LIT(KDC_KPASSWD_SERVICE)) ||
	    !lbytes_eq(t->sname.components[1], LBYTES_LIT(KDC_KPASSWD_INSTANCE)))
		return refuse(st, KRB_AP_ERR_NOT_US, KDC_KPASSWD_AUTHERROR,
		    "The ticket is not for kadmin/changepw of this realm");
	key = ed->has_kvno ? kdc_principal_key(changepw, ed->kvno, ed->etype) :
	    kdc_principal_newest_key(changepw, ed->etype);
	if (key == NULL || key->key == NULL)
		return refuse(st, KRB_AP_ERR_BADKEYVER, KDC_KPASSWD_AUTHERROR,
		    "The ticket's key version is unknown; get a new ticket");
	rc = kdc_decrypt(key->key, KRB_KU_TICKET, ed->cipher, r->arena, &plain);
	if (rc != LETHE_OK)
		return refuse(st, KRB_AP_ERR_BAD_INTEGRITY, KDC_KPASSWD_AUTHERROR,
		    "The ticket does not decrypt");
	if (krb_decode_enc_ticket_part(r->arena, plain.data, plain.len, &st->ticket) != LETHE_OK)
		return refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_AUTHERROR, "Malformed ticket");
	return 0;
}

static int
check_ticket_times(kdc_request *r, kpw_state *st)
{
	const krb_enc_ticket_part *t = &st->ticket;
	int64_t skew = r->policy->clock_skew;
	int64_t start = t->has_starttime ? t->starttime : t->authtime;

	if ((t->flags & KRB_TKT_FLG_INVALID) || start - skew > r->now)
		return refuse(st, KRB_AP_ERR_TKT_NYV, KDC_KPASSWD_AUTHERROR,
		    "The ticket is not yet valid");
	if (t->endtime + skew <= r->now)
		return refuse(st, KRB_AP_ERR_TKT_EXPIRED, KDC_KPASSWD_AUTHERROR,
		    "The ticket has expired");
	return 0;
}

static int
open_authenticator(kdc_request *r, kpw_state *st)
{
	int64_t off, skew = r->policy->clock_skew;
	size_t len = 0;
	lbytes plain;

	if (kdc_key_temp(&st->ticket.key, r->arena, &st->session) != LETHE_OK)
		return refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_HARDERROR,
		    "The ticket's session key is unusable");
	if (kdc_decrypt(st->session, KRB_KU_AP_REQ_AUTH, st->ap.authenticator.cipher, r->arena,
	    &plain) != LETHE_OK)
		return refuse(st, KRB_AP_ERR_BAD_INTEGRITY, KDC_KPASSWD_AUTHERROR,
		    "The authenticator does not decrypt");
	if (krb_decode_authenticator(r->arena, plain.data, plain.len, &st->auth) != LETHE_OK)
		return refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_AUTHERROR,
		    "Malformed authenticator");
	if (!krb_principal_realm_eq(&st->auth.cname, st->auth.crealm, &st->ticket.cname,
	    st->ticket.crealm))
		return refuse(st, KRB_AP_ERR_BADMATCH, KDC_KPASSWD_AUTHERROR,
		    "The authenticator names another client than the ticket");
	off = st->auth.ctime - r->now;
	if (off > skew || off < -skew)
		return refuse(st, KRB_AP_ERR_SKEW, KDC_KPASSWD_AUTHERROR,
		    "Clock skew too great");
	if (!st->auth.has_subkey ||
	    kdc_key_temp(&st->auth.subkey, r->arena, &st->subkey) != LETHE_OK)
		return refuse(st, KRB_AP_ERR_BADKEYVER, KDC_KPASSWD_AUTHERROR,
		    "The authenticator carries no usable subkey");
	if (krb_principal_unparse(&st->ticket.cname, st->ticket.crealm, st->client,
	    sizeof(st->client), &len) != LETHE_OK)
		return refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_AUTHERROR, "Client name too long");
	if (kdc_guard_replayed(r->kdc->guard, st->client, st->ap.authenticator.cipher, r->now,
	    st->auth.ctime + skew, true))
		return refuse(st, KRB_AP_ERR_REPEAT, KDC_KPASSWD_AUTHERROR,
		    "Request is a replay");
	return 0;
}

/* The AP-REP: the authenticator's time and our sequence number, under the session key. */
static int
make_ap_rep(kdc_request *r, kpw_state *st)
{
	der_writer *w = &r->wk->tmp;
	uint8_t rnd[4];
	krb_enc_ap_rep_part part = { .ctime = st->auth.ctime, .cusec = st->auth.cusec,
		.has_seq_number = true };
	krb_ap_rep rep = { { 0 } };
	lethe_status rc;

	if (kc_random_bytes(rnd, sizeof(rnd)) != LETHE_OK)
		return refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_HARDERROR, "No randomness");
	st->seq = lethe_load_be32(rnd) & SEQ_MASK;
	part.seq_number = st->seq;
	der_writer_reset(w);
	rc = krb_encode_enc_ap_rep_part(w, &part);
	rep.enc_part.etype = kc_key_enctype(st->session);
	if (rc == LETHE_OK)
		rc = kdc_encrypt(st->session, KRB_KU_AP_REP_ENC_PART, der_written(w), r->arena,
		    &rep.enc_part.cipher);
	der_writer_reset(w);
	if (rc == LETHE_OK)
		rc = krb_encode_ap_rep(w, &rep);
	if (rc == LETHE_OK)
		rc = kdc_take(r, w, &st->ap_rep);
	if (rc != LETHE_OK)
		return refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_HARDERROR,
		    "Cannot make the AP-REP");
	st->authenticated = true;
	return 0;
}

/* Open the request's KRB-PRIV: its user data into *data. */
static int
open_priv(kdc_request *r, kpw_state *st, lbytes *data)
{
	krb_priv priv;
	krb_enc_krb_priv_part part;
	int64_t off, skew = r->policy->clock_skew;
	uint32_t want;
	lbytes plain;

	if (krb_decode_krb_priv(r->arena, st->frame.priv.data, st->frame.priv.len, &priv) !=
	    LETHE_OK)
		return answer(st, KDC_KPASSWD_MALFORMED, "Malformed KRB-PRIV");
	if (kdc_decrypt(st->subkey, KRB_KU_KRB_PRIV_ENC_PART, priv.enc_part.cipher, r->arena,
	    &plain) != LETHE_OK)
		return answer(st, KDC_KPASSWD_HARDERROR, "Failed decrypting request");
	if (krb_decode_enc_krb_priv_part(r->arena, plain.data, plain.len, &part) != LETHE_OK)
		return answer(st, KDC_KPASSWD_MALFORMED, "Malformed KRB-PRIV");
	/*
	 * Bound to this AP-REQ by its subkey and by the sequence number the
	 * authenticator announced, an absent one counting as 0 (MIT's
	 * KRB5_AUTH_CONTEXT_DO_SEQUENCE; MIT clients send 0 and leave it out).
	 */
	want = st->auth.has_seq_number ? st->auth.seq_number : 0;
	if ((part.has_seq_number ? part.seq_number : 0) != want)
		return answer(st, KDC_KPASSWD_HARDERROR,
		    "The KRB-PRIV's sequence number does not match the authenticator's");
	if (part.has_timestamp) {
		off = part.timestamp - r->now;
		if (off > skew || off < -skew)
			return answer(st, KDC_KPASSWD_HARDERROR, "Clock skew too great");
	}
	*data = part.user_data;
	return 0;
}

/* The new password and whose it is. */
static int
read_change(kdc_request *r, kpw_state *st, lbytes data, lbytes *password)
{
	kdc_kpasswd_setpw sp;
	size_t len = 0;

	snprintf(st->target, sizeof(st->target), "%s", st->client);
	*password = data;
	if (st->frame.version == KDC_KPASSWD_VERSION_CHANGE)
		return 0;
	if (kdc_kpasswd_decode_setpw(r->arena, data, &sp) != LETHE_OK)
		return answer(st, KDC_KPASSWD_MALFORMED, "Failed decoding ChangePasswdData");
	*password = sp.newpasswd;
	if (sp.has_targname && krb_principal_unparse(&sp.targname,
	    sp.has_targrealm ? sp.targrealm : st->ticket.crealm, st->target,
	    sizeof(st->target), &len) != LETHE_OK)
		return answer(st, KDC_KPASSWD_MALFORMED, "Target name too long");
	return 0;
}

/* Who may change what (MIT's rules, with the configured administrators). */
static int
authorize(kdc_request *r, kpw_state *st, kdc_password_change *c)
{
	const kdc_principal *client;
	bool own = strcmp(st->client, st->target) == 0;

	if (!lbytes_eq(st->ticket.crealm, r->realm))
		return answer(st, KDC_KPASSWD_ACCESSDENIED,
		    "Only principals of this realm may change passwords here");
	client = kdc_snapshot_lookup(r->snap, &st->ticket.cname, st->ticket.crealm);
	if (client == NULL || (client->attributes & STORE_ATTR_DISABLED))
		return answer(st, KDC_KPASSWD_ACCESSDENIED, "The client is unknown or disabled");
	if (!own && !is_admin(r->kdc, st->client))
		return answer(st, KDC_KPASSWD_ACCESSDENIED,
		    "Not allowed to set another principal's password");
	/* A password is changed with a ticket got from the password (MIT: any own change). */
	if (own && !(st->ticket.flags & KRB_TKT_FLG_INITIAL))
		return answer(st, KDC_KPASSWD_INITIAL_FLAG_NEEDED,
		    "Ticket must be derived from a password");
	c->client = st->client;
	c->target = st->target;
	c->by_admin = !own;
	return 0;
}

static int
change(kdc_request *r, kpw_state *st)
{
	kdc_password_change c = { 0 };
	lbytes data = { 0 }, password = { 0 };

	STEP(open_priv(r, st, &data));
	STEP(read_change(r, st, data, &password));
	if (password.len == 0 || password.len > KDC_KPASSWD_PASSWORD_MAX ||
	    memchr(password.data, '\0', password.len) != NULL)
		return answer(st, KDC_KPASSWD_SOFTERROR,
		    "The password is empty, too long, or holds a NUL byte");
	STEP(authorize(r, st, &c));
	c.password = password;
	if (r->kdc->kpasswd == NULL)
		return answer(st, KDC_KPASSWD_HARDERROR, "Password changes are not configured");
	/*
	 * The hook derives keys and writes the store (long, as requests go):
	 * hold no snapshot meanwhile, so the refresher's swaps need not wait.
	 * Nothing read from the snapshot is used after it; the realm is the
	 * same in the next one (the daemon serves one realm).
	 */
	kdc_snapshot_release(r->wk);
	st->result = r->kdc->kpasswd(r->kdc->kpasswd_ctx, &c, st->text, sizeof(st->text));
	r->snap = kdc_snapshot_acquire(r->wk);
	r->policy = kdc_snapshot_policy(r->snap);
	r->realm = kdc_snapshot_realm(r->snap);
	return 0;
}

static void
process(kdc_request *r, kpw_state *st, const uint8_t *req, size_t len)
{
	const kdc_principal *changepw;
	char name[STORE_MAX_NAME_LEN + 32];

	if (kdc_kpasswd_parse_frame(req, len, &st->frame) != LETHE_OK) {
		refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_MALFORMED, "Request was truncated");
		return;
	}
	if (st->frame.version != KDC_KPASSWD_VERSION_CHANGE &&
	    st->frame.version != KDC_KPASSWD_VERSION_SET) {
		refuse(st, KDC_ERR_BAD_PVNO, KDC_KPASSWD_BAD_VERSION,
		    "Request contained unknown protocol version number");
		return;
	}
	snprintf(name, sizeof(name), KDC_KPASSWD_SERVICE "/" KDC_KPASSWD_INSTANCE "@%.*s",
	    (int)r->realm.len, (const char *)r->realm.data);
	changepw = kdc_snapshot_lookup_name(r->snap, name);
	if (changepw == NULL) {
		refuse(st, KRB_AP_ERR_NOT_US, KDC_KPASSWD_HARDERROR,
		    "The realm has no kadmin/changepw principal");
		return;
	}
	if (krb_decode_ap_req(r->arena, st->frame.ap_req.data, st->frame.ap_req.len,
	    &st->ap) != LETHE_OK) {
		refuse(st, KRB_ERR_GENERIC, KDC_KPASSWD_MALFORMED, "Malformed AP-REQ");
		return;
	}
	if (open_ticket(r, st, changepw) != 0 || check_ticket_times(r, st) != 0 ||
	    open_authenticator(r, st) != 0 || make_ap_rep(r, st) != 0)
		return;
	(void)change(r, st);
}

/* ------------------------------------------------------------ the reply */

/* The result: code (2 bytes, big-endian) and text. */
static lethe_status
result_data(kdc_request *r, const kpw_state *st, lbytes *out)
{
	size_t tlen = strlen(st->text);
	uint8_t *p = lethe_arena_alloc(r->arena, 2 + tlen);

	ENSURE(p != NULL, LETHE_ERR_NOMEM);
	lethe_store_be16(p, st->result);
	memcpy(p + 2, st->text, tlen);
	*out = lbytes_make(p, 2 + tlen);
	return LETHE_OK;
}

/* The KRB-PRIV answer under the subkey, into *out. */
static lethe_status
reply_priv(kdc_request *r, const kpw_state *st, lbytes *out)
{
	static const uint8_t responder[4] = { 0, 0, 0, 1 };
	der_writer *w = &r->wk->tmp;
	krb_enc_krb_priv_part part = { .has_seq_number = true, .seq_number = st->seq,
		/* RFC 4120 §8.1 directional address: we are the responder. */
		.s_address = { KRB_ADDR_DIRECTIONAL, { responder, sizeof(responder) } } };
	krb_priv priv = { { 0 } };
	lethe_status rc;

	GUARD(result_data(r, st, &part.user_data));
	der_writer_reset(w);
	GUARD_GOTO(rc, krb_encode_enc_krb_priv_part(w, &part));
	priv.enc_part.etype = kc_key_enctype(st->subkey);
	GUARD_GOTO(rc, kdc_encrypt(st->subkey, KRB_KU_KRB_PRIV_ENC_PART, der_written(w),
	    r->arena, &priv.enc_part.cipher));
	der_writer_reset(w);
	GUARD_GOTO(rc, krb_encode_krb_priv(w, &priv));
	rc = kdc_take(r, w, out);
cleanup:
	der_writer_reset(w);
	return rc;
}

/* The KRB-ERROR answer, the result in its e-data, into *out. */
static lethe_status
reply_error(kdc_request *r, const kpw_state *st, lbytes *out)
{
	static const lbytes sname_parts[2] = { { (const uint8_t *)KDC_KPASSWD_SERVICE, 6 },
		{ (const uint8_t *)KDC_KPASSWD_INSTANCE, 8 } };
	der_writer *w = &r->wk->tmp;
	krb_error e = { .stime = r->now, .susec = r->usec, .error_code = st->error,
		.realm = r->realm, .sname = { KRB_NT_SRV_INST, sname_parts, 2 },
		.has_e_data = true };

	GUARD(result_data(r, st, &e.e_data));
	der_writer_reset(w);
	GUARD(krb_encode_krb_error(w, &e));
	return kdc_take(r, w, out);
}

/* The frame: length, version 1 (as MIT answers both versions), AP-REP length, parts. */
static lethe_status
frame_reply(const kpw_state *st, lbytes msg, uint8_t *rep, size_t cap, size_t *len)
{
	size_t ap_len = st->authenticated ? st->ap_rep.len : 0;
	size_t total = FRAME_HEADER + ap_len + msg.len;

	ENSURE(total <= 0xffff && total <= cap, LETHE_ERR_TOO_BIG);
	lethe_store_be16(rep, (uint16_t)total);
	rep[2] = 0;
	rep[3] = 1;
	lethe_store_be16(rep + 4, (uint16_t)ap_len);
	if (ap_len != 0)
		memcpy(rep + FRAME_HEADER, st->ap_rep.data, ap_len);
	memcpy(rep + FRAME_HEADER + ap_len, msg.data, msg.len);
	*len = total;
	return LETHE_OK;
}

static void
log_kpasswd(const kdc_request *r, const kpw_state *st, uint64_t usec)
{
	char peer[80];
	log_event ev;

	log_event_begin(&ev, "kpasswd_req");
	lethe_sockaddr_str(r->info->peer, r->info->peer_len, peer, sizeof(peer));
	log_event_str(&ev, "peer", peer);
	log_event_str(&ev, "transport", r->info->transport == KDC_TRANSPORT_TCP ? "tcp" : "udp");
	log_event_uint(&ev, "version", st->frame.version);
	if (st->client[0] != '\0')
		log_event_str(&ev, "client", st->client);
	if (st->target[0] != '\0')
		log_event_str(&ev, "target", st->target);
	log_event_uint(&ev, "result", st->result);
	if (st->error != 0)
		log_event_int(&ev, "error", st->error);
	if (st->text[0] != '\0')
		log_event_str(&ev, "reason", st->text);
	log_event_uint(&ev, "usec", usec);
	log_event_emit(&ev, st->result == KDC_KPASSWD_SUCCESS ? LETHE_LOG_INFO : LETHE_LOG_WARN);
}

lethe_status
kdc_kpasswd_handle(void *ctx, const kdc_req_info *info, const uint8_t *req, size_t req_len,
    uint8_t *rep, size_t rep_cap, size_t *rep_len)
{
	kdc *k = ctx;
	kdc_worker *wk = info->worker_ctx;
	uint64_t t0 = lethe_now_us();
	kdc_request r;
	kpw_state st;
	lbytes msg = { 0 };
	lethe_status rc;

	*rep_len = 0;
	ENSURE(wk != NULL && wk->kdc == k && info->arena != NULL, LETHE_ERR_INVALID_ARG);
	/* Not even a frame: no answer (a spoofed source earns nothing). */
	if (req_len < FRAME_HEADER || lethe_load_be16(req) != req_len)
		return LETHE_OK;
	if (k->fresh != NULL)
		k->fresh(k->fresh_ctx);
	memset(&st, 0, sizeof(st));
	kdc_request_init(&r, wk, info, kdc_snapshot_acquire(wk));
	process(&r, &st, req, req_len);
	rc = st.authenticated ? reply_priv(&r, &st, &msg) : reply_error(&r, &st, &msg);
	if (rc == LETHE_OK)
		rc = frame_reply(&st, msg, rep, rep_cap < info->max_reply ? rep_cap :
		    info->max_reply, rep_len);
	/*
	 * No amplifier: an unauthenticated refusal over UDP, from a source that
	 * may be spoofed, is never larger than the request (a real client's
	 * AP-REQ is; junk with a frame header is not).
	 */
	if (rc == LETHE_OK && !st.authenticated && info->transport == KDC_TRANSPORT_UDP &&
	    *rep_len > req_len)
		rc = LETHE_ERR_TOO_BIG;
	if (atomic_load_explicit(&k->log_requests, memory_order_relaxed))
		log_kpasswd(&r, &st, lethe_now_us() - t0);
	kdc_snapshot_release(wk);
	der_writer_reset(&wk->out);
	der_writer_reset(&wk->tmp);
	lethe_wipe(&st, sizeof(st));
	if (rc != LETHE_OK)
		*rep_len = 0;
	return LETHE_OK;
}
