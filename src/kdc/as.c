/* The AS exchange (RFC 4120 §3.1): initial tickets for a client. */
#include <string.h>

#include "kdc/kdc_int.h"
#include "kdc/preauth_guard.h"

/* What the AS exchange decides, step by step. */
typedef struct as_state {
	const kdc_principal *client;
	const kdc_principal *server;
	const kdc_key *reply_key;
	const kdc_key *ticket_key;
	int64_t key_cap;
	int32_t session_etype;
	kdc_enc_ts enc_ts;        /* the verified timestamp, recorded once replied to */
	bool preauthenticated;
	kdc_ticket_times times;
	uint32_t flags;
	krb_encryption_key session_key;
	const krb_principal_name *reply_cname;
	const krb_principal_name *reply_sname;
} as_state;

/* The names the request carries, recorded for errors and the log. */
static int32_t
as_names(kdc_request *r)
{
	const krb_kdc_req_body *b = &r->req.body;

	r->crealm = b->realm;
	r->has_cname = b->has_cname;
	if (b->has_cname)
		r->cname = b->cname;
	r->has_sname = b->has_sname;
	if (b->has_sname)
		r->sname = b->sname;
	if (!b->has_cname || b->cname.n_components == 0)
		return kdc_fail(r, KRB_ERR_GENERIC, "malformed AS-REQ: no client name (cname)");
	if (!b->has_sname || b->sname.n_components == 0)
		return kdc_fail(r, KRB_ERR_GENERIC, "malformed AS-REQ: no service name (sname)");
	if (!lbytes_eq(b->realm, r->realm)) {
		return kdc_fail(r, KDC_ERR_WRONG_REALM, "this KDC serves realm %.*s only",
		    (int)r->realm.len, (const char *)r->realm.data);
	}
	return 0;
}

int32_t
kdc_check_client(kdc_request *r, const kdc_principal *client)
{
	/* Only the KDC holds a krbtgt key: nobody can be a krbtgt. */
	if (client->kind == STORE_KIND_KRBTGT) {
		return kdc_fail(r, KDC_ERR_POLICY, "%s cannot be a client: it is a ticket-granting "
		    "service", client->name);
	}
	if (client->attributes & STORE_ATTR_DISABLED)
		return kdc_fail(r, KDC_ERR_CLIENT_REVOKED, "%s is disabled", client->name);
	if (client->expires_at != 0 && client->expires_at <= r->now)
		return kdc_fail(r, KDC_ERR_NAME_EXP, "%s has expired", client->name);
	return 0;
}

int32_t
kdc_check_server(kdc_request *r, const kdc_principal *server)
{
	if (server->attributes & STORE_ATTR_DISABLED)
		return kdc_fail(r, KDC_ERR_SERVICE_REVOKED, "service %s is disabled", server->name);
	if (server->expires_at != 0 && server->expires_at <= r->now)
		return kdc_fail(r, KDC_ERR_SERVICE_EXP, "service %s has expired", server->name);
	if (server->attributes & STORE_ATTR_NO_SERVICE) {
		/* As AD for an account without SPN; MIT's MUST_USE_USER2USER offers u2u we lack. */
		if (server->kind == STORE_KIND_USER) {
			return kdc_fail(r, KDC_ERR_S_PRINCIPAL_UNKNOWN,
			    "%s is a user, not a service: no tickets for it unless an "
			    "administrator allows it (allow_svr)", server->name);
		}
		return kdc_fail(r, KDC_ERR_S_PRINCIPAL_UNKNOWN,
		    "%s may not be the server of a ticket (no_service)", server->name);
	}
	return 0;
}

static int32_t
as_lookup(kdc_request *r, as_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	char name[256];

	/* Before the lookup, so no krbtgt name, known or not, gets further. */
	if (kdc_principal_is_tgs_name(&b->cname)) {
		kdc_name_str(&b->cname, b->realm, name, sizeof(name));
		return kdc_fail(r, KDC_ERR_POLICY, "%s cannot be a client: it is a "
		    "ticket-granting service", name);
	}
	st->client = kdc_snapshot_lookup(r->snap, &b->cname, b->realm);
	if (st->client == NULL) {
		kdc_name_str(&b->cname, b->realm, name, sizeof(name));
		return kdc_fail(r, KDC_ERR_C_PRINCIPAL_UNKNOWN, "client %s is not in the database",
		    name);
	}
	VERDICT(kdc_check_client(r, st->client));
	st->server = kdc_snapshot_lookup(r->snap, &b->sname, b->realm);
	if (st->server == NULL) {
		kdc_name_str(&b->sname, b->realm, name, sizeof(name));
		return kdc_fail(r, KDC_ERR_S_PRINCIPAL_UNKNOWN, "service %s is not in the database",
		    name);
	}
	return kdc_check_server(r, st->server);
}

/*
 * A client locked out after failed pre-authentication gets nothing, a
 * right password included, until the lockout ends (MIT: CLIENT_REVOKED).
 */
static int32_t
as_lockout(kdc_request *r, const as_state *st)
{
	int64_t until;
	uint32_t failures;
	char when[32];

	if (!kdc_guard_locked(r->kdc->guard, st->client->name, r->now, &until, &failures))
		return 0;
	kdc_time_str(until, when, sizeof(when));
	if (failures == 0) {
		return kdc_fail(r, KDC_ERR_CLIENT_REVOKED, "%s is locked out until %s: too many "
		    "principals are locked out to count its failures", st->client->name, when);
	}
	return kdc_fail(r, KDC_ERR_CLIENT_REVOKED, "%s is locked out after %u failed "
	    "pre-authentications until %s", st->client->name, (unsigned)failures, when);
}

/* PREAUTH_REQUIRED / FAILED carry METHOD-DATA so the client can try (again). */
static int32_t
with_preauth_edata(kdc_request *r, const as_state *st, int32_t code)
{
	lethe_status rc;

	if (code != KDC_ERR_PREAUTH_REQUIRED && code != KDC_ERR_PREAUTH_FAILED)
		return code;
	rc = kdc_preauth_edata(r, st->reply_key, &r->e_data);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "encoding the pre-authentication hints");
	r->has_e_data = true;
	return code;
}

static int32_t
as_preauth(kdc_request *r, as_state *st)
{
	int32_t code;

	code = kdc_verify_enc_timestamp(r, st->client, &st->enc_ts);
	if (code != 0)
		return with_preauth_edata(r, st, code);
	st->preauthenticated = st->enc_ts.present;
	if (!st->preauthenticated && (st->client->attributes & STORE_ATTR_REQUIRES_PREAUTH)) {
		code = kdc_fail(r, KDC_ERR_PREAUTH_REQUIRED,
		    "pre-authentication (an encrypted timestamp) is required for %s",
		    st->client->name);
		return with_preauth_edata(r, st, code);
	}
	return 0;
}

static int64_t
min_expiry(int64_t cap, int64_t expires_at)
{
	return (expires_at != 0 && expires_at < cap) ? expires_at : cap;
}

static int32_t
as_times_flags(kdc_request *r, as_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	const kdc_principal *c = st->client, *s = st->server;
	kdc_time_request tr = { b->kdc_options, b->has_till, b->till, b->has_rtime, b->rtime };
	kdc_life_limits lim = {
		kdc_limit_min(c->max_life, s->max_life, r->policy->max_life),
		kdc_limit_min(c->max_renew, s->max_renew, r->policy->max_renew),
	};
	kdc_flag_policy fp = { c->attributes, s->attributes, s->kind == STORE_KIND_KRBTGT };
	bool renew_ok = (c->attributes & STORE_ATTR_ALLOW_RENEWABLE) &&
	    (s->attributes & STORE_ATTR_ALLOW_RENEWABLE);
	int64_t cap = min_expiry(min_expiry(st->key_cap, c->expires_at), s->expires_at);
	const char *why = "";
	int32_t code;

	code = kdc_as_times(r->now, &tr, &lim, renew_ok, cap, &st->times, &why);
	if (code == 0)
		code = kdc_as_flags(b->kdc_options, &fp, st->preauthenticated, &st->times,
		    &st->flags, &why);
	if (code != 0)
		return kdc_fail(r, code, "%s", why);
	return 0;
}

static void
as_reply_names(const kdc_request *r, as_state *st)
{
	bool canon = (r->req.body.kdc_options & KRB_KDC_OPT_CANONICALIZE) != 0;

	/* RFC 6806: with canonicalize, the names as the database spells them. */
	st->reply_cname = canon ? &st->client->pname : &r->req.body.cname;
	st->reply_sname = canon ? &st->server->pname : &r->req.body.sname;
}

/*
 * RFC 6806 §11: a client that sent PA-REQ-ENC-PA-REP (MIT's always do) gets
 * a checksum of its AS-REQ, as received, under the reply key (usage 56) in
 * the encrypted part, so a changed request (a downgraded enctype list)
 * is detected. The flag ENC_PA_REP is set in the reply part only, as MIT does.
 */
static lethe_status
as_enc_pa_rep(kdc_request *r, as_state *st, krb_enc_kdc_rep_part *part, krb_pa_data *pa)
{
	der_writer *w = &r->wk->tmp;
	krb_checksum ck;

	if (krb_find_padata(&r->req.padata, KRB_PA_REQ_ENC_PA_REP) == NULL)
		return LETHE_OK;
	GUARD(kdc_make_checksum(st->reply_key->key, KRB_KU_AS_REQ, r->raw, r->arena, &ck));
	der_writer_reset(w);
	GUARD(krb_encode_checksum(w, &ck));
	*pa = (krb_pa_data){ .padata_type = KRB_PA_REQ_ENC_PA_REP };
	GUARD(kdc_take(r, w, &pa->padata_value));
	part->encrypted_pa_data = (krb_method_data){ pa, 1 };
	part->flags |= KRB_TKT_FLG_ENC_PA_REP;
	return LETHE_OK;
}

static lethe_status
as_encode(kdc_request *r, as_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	const kdc_ticket_times *t = &st->times;
	krb_enc_ticket_part etp = {
		.flags = st->flags, .key = st->session_key, .crealm = r->realm,
		.cname = *st->reply_cname, .transited = kdc_transited_none,
		.authtime = t->authtime, .has_starttime = true, .starttime = t->starttime,
		.endtime = t->endtime, .has_renew_till = t->renewable, .renew_till = t->renew_till,
		.caddr = b->addresses,
	};
	krb_enc_kdc_rep_part part = {
		.app_tag = KRB_APP_ENC_AS_REP_PART, .key = st->session_key,
		.last_req = kdc_last_req_none, .nonce = b->nonce, .flags = st->flags,
		.authtime = t->authtime, .has_starttime = true, .starttime = t->starttime,
		.endtime = t->endtime, .has_renew_till = t->renewable, .renew_till = t->renew_till,
		.srealm = r->realm, .sname = *st->reply_sname, .caddr = b->addresses,
	};
	krb_pa_data pa = { .padata_type = KRB_PA_ETYPE_INFO2 }, enc_pa;
	krb_kdc_rep rep = { .msg_type = KRB_MSG_AS_REP, .padata = { &pa, 1 },
		.crealm = r->realm, .cname = *st->reply_cname };
	krb_last_req_entry pw_exp = { KRB_LR_PW_EXPTIME, st->client->password_expires_at };

	/* When the password expires, so kinit warns before (RFC 4120 §5.4.2). */
	if (pw_exp.lr_value != 0) {
		part.last_req = (krb_last_req){ &pw_exp, 1 };
		part.has_key_expiration = true;
		part.key_expiration = pw_exp.lr_value;
	}

	GUARD(kdc_seal_ticket(r, &etp, st->ticket_key, st->reply_sname, &rep.ticket));
	GUARD(as_enc_pa_rep(r, st, &part, &enc_pa));
	GUARD(kdc_seal_rep_part(r, &part, st->reply_key->key, KRB_KU_AS_REP_ENC_PART,
	    &rep.enc_part));
	GUARD(kdc_etype_info2(r, st->reply_key, &pa.padata_value));
	der_writer_reset(&r->wk->out);
	return krb_encode_as_rep(&r->wk->out, &rep);
}

static int32_t
as_issue(kdc_request *r, as_state *st)
{
	lethe_status rc;

	rc = kdc_random_key(st->session_etype, r->arena, &st->session_key);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "making the session key");
	as_reply_names(r, st);
	rc = as_encode(r, st);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "encoding the AS-REP");
	/* Only a timestamp that gets its AS-REP is used up. */
	return kdc_commit_enc_timestamp(r, st->client, &st->enc_ts);
}

/* True when p is this realm's kadmin/changepw, where an expired password still goes. */
static bool
is_changepw(const kdc_request *r, const kdc_principal *p)
{
	const krb_principal_name *n = &p->pname;

	return n->n_components == 2 && lbytes_eq(p->realm, r->realm) &&
	    lbytes_eq(n->components[0], LBYTES_LIT(KDC_KPASSWD_SERVICE)) &&
	    lbytes_eq(n->components[1], LBYTES_LIT(KDC_KPASSWD_INSTANCE));
}

/*
 * An expired password gets KDC_ERR_KEY_EXPIRED for every service but
 * kadmin/changepw (MIT's rule), once the client has proved it knows it:
 * MIT kinit then asks for a new one and changes it through kpasswd.
 */
static int32_t
as_password_expiry(kdc_request *r, const as_state *st)
{
	int64_t when = st->client->password_expires_at;
	char t[32];

	if (when == 0 || when > r->now || is_changepw(r, st->server))
		return 0;
	kdc_time_str(when, t, sizeof(t));
	return kdc_fail(r, KDC_ERR_KEY_EXPIRED, "the password of %s expired at %s; "
	    "change it (kpasswd)", st->client->name, t);
}

int32_t
kdc_process_as(kdc_request *r)
{
	as_state st = { 0 };

	VERDICT(as_names(r));
	VERDICT(as_lookup(r, &st));
	VERDICT(as_lockout(r, &st));
	VERDICT(kdc_choose_reply_key(r, st.client, &st.reply_key));
	VERDICT(as_preauth(r, &st));
	VERDICT(as_password_expiry(r, &st));
	VERDICT(kdc_choose_service_key(r, st.server, &st.ticket_key, &st.key_cap));
	VERDICT(kdc_choose_session_etype(r, st.server, &st.session_etype));
	VERDICT(as_times_flags(r, &st));
	return as_issue(r, &st);
}
