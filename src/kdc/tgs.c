/* The TGS exchange (RFC 4120 §3.3): service tickets and renewals from a TGT. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kdc/kdc_int.h"

/* What the TGS exchange learns and decides, step by step. */
typedef struct tgs_state {
	krb_ap_req ap;
	const kdc_key *tgt_key;
	krb_enc_ticket_part tgt;
	kc_key *session;            /* the TGT's session key */
	krb_authenticator auth;
	kc_key *reply_key;          /* subkey, else session */
	int32_t reply_usage;
	const kdc_principal *server;
	const kdc_key *ticket_key;
	int64_t key_cap;
	int32_t session_etype;
	krb_encryption_key session_key;
	kdc_ticket_times times;
	uint32_t flags;
	krb_authdata authdata;
	const krb_principal_name *reply_sname;
} tgs_state;

static int32_t
tgs_names(kdc_request *r)
{
	const krb_kdc_req_body *b = &r->req.body;

	r->has_sname = b->has_sname;
	if (b->has_sname)
		r->sname = b->sname;
	if (!b->has_sname || b->sname.n_components == 0)
		return kdc_fail(r, KRB_ERR_GENERIC, "malformed TGS-REQ: no service name (sname)");
	if (!lbytes_eq(b->realm, r->realm)) {
		return kdc_fail(r, KDC_ERR_WRONG_REALM, "this KDC serves realm %.*s only",
		    (int)r->realm.len, (const char *)r->realm.data);
	}
	return 0;
}

static int32_t
tgs_ap_req(kdc_request *r, tgs_state *st)
{
	const krb_pa_data *pa = krb_find_padata(&r->req.padata, KRB_PA_TGS_REQ);
	lethe_status rc;

	if (pa == NULL) {
		return kdc_fail(r, KDC_ERR_PADATA_TYPE_NOSUPP,
		    "TGS-REQ without PA-TGS-REQ (the AP-REQ carrying the TGT)");
	}
	rc = krb_decode_ap_req(r->arena, pa->padata_value.data, pa->padata_value.len, &st->ap);
	if (rc != LETHE_OK) {
		return kdc_fail(r, KRB_ERR_GENERIC, "malformed PA-TGS-REQ: %s",
		    lethe_status_str(rc));
	}
	return 0;
}

/* The TGT must be ours: krbtgt/REALM@REALM. */
static int32_t
tgs_check_ticket_server(kdc_request *r, const krb_ticket *t)
{
	char name[256];

	if (lbytes_eq(t->realm, r->realm) && kdc_principal_is_tgs_name(&t->sname) &&
	    lbytes_eq(t->sname.components[1], r->realm))
		return 0;
	kdc_name_str(&t->sname, t->realm, name, sizeof(name));
	return kdc_fail(r, KRB_AP_ERR_NOT_US, "the ticket in PA-TGS-REQ is for %s, not krbtgt/%.*s",
	    name, (int)r->realm.len, (const char *)r->realm.data);
}

static int32_t
tgs_open_ticket(kdc_request *r, tgs_state *st)
{
	const kdc_principal *tgs = kdc_snapshot_tgs(r->snap);
	const krb_enc_data *ed = &st->ap.ticket.enc_part;
	lbytes plain;
	lethe_status rc;

	VERDICT(tgs_check_ticket_server(r, &st->ap.ticket));
	if (tgs == NULL)
		return kdc_fail(r, KRB_ERR_GENERIC, "the realm has no krbtgt principal");
	st->tgt_key = ed->has_kvno ? kdc_principal_key(tgs, ed->kvno, ed->etype) :
	    kdc_principal_newest_key(tgs, ed->etype);
	if (st->tgt_key == NULL) {
		return kdc_fail(r, KRB_AP_ERR_BADKEYVER,
		    "the TGT is encrypted under a krbtgt key (kvno %u, enctype %d) this KDC "
		    "does not have; get a new TGT", (unsigned)ed->kvno, (int)ed->etype);
	}
	rc = kdc_decrypt(st->tgt_key->key, KRB_KU_TICKET, ed->cipher, r->arena, &plain);
	if (rc == LETHE_ERR_BAD_INTEGRITY) {
		return kdc_fail(r, KRB_AP_ERR_BAD_INTEGRITY,
		    "the TGT does not decrypt with krbtgt kvno %u: forged or corrupted",
		    (unsigned)st->tgt_key->kvno);
	}
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "decrypting the TGT");
	rc = krb_decode_enc_ticket_part(r->arena, plain.data, plain.len, &st->tgt);
	if (rc != LETHE_OK)
		return kdc_fail(r, KRB_ERR_GENERIC, "the decrypted TGT is malformed");
	r->has_cname = true;
	r->cname = st->tgt.cname;
	r->crealm = st->tgt.crealm;
	return 0;
}

static int32_t
tgs_check_ticket_times(kdc_request *r, const tgs_state *st)
{
	const krb_enc_ticket_part *t = &st->tgt;
	int64_t skew = r->policy->clock_skew;
	int64_t start = t->has_starttime ? t->starttime : t->authtime;
	char when[32];

	if (t->flags & KRB_TKT_FLG_INVALID)
		return kdc_fail(r, KRB_AP_ERR_TKT_NYV, "the TGT is marked invalid");
	if (start - skew > r->now) {
		kdc_time_str(start, when, sizeof(when));
		return kdc_fail(r, KRB_AP_ERR_TKT_NYV, "the TGT is not valid before %s", when);
	}
	/* No skew here: a ticket issued now must be valid by this KDC's clock. */
	if (t->endtime <= r->now) {
		kdc_time_str(t->endtime, when, sizeof(when));
		return kdc_fail(r, KRB_AP_ERR_TKT_EXPIRED,
		    "the TGT expired at %s; get a new one (kinit)", when);
	}
	return 0;
}

static int32_t
tgs_check_checksum(kdc_request *r, tgs_state *st)
{
	const krb_checksum *ck = &st->auth.cksum;
	lethe_status rc;

	if (!st->auth.has_cksum) {
		return kdc_fail(r, KRB_AP_ERR_INAPP_CKSUM,
		    "the authenticator carries no checksum of the request body");
	}
	rc = kdc_verify_checksum(st->session, KRB_KU_TGS_REQ_AUTH_CKSUM, ck->cksumtype,
	    r->req.body.raw, ck->checksum);
	if (rc == LETHE_ERR_CKSUM_NOSUPP) {
		return kdc_fail(r, KRB_AP_ERR_INAPP_CKSUM,
		    "checksum type %d is not a keyed checksum of the session key's enctype %d",
		    (int)ck->cksumtype, (int)st->tgt.key.keytype);
	}
	if (rc == LETHE_ERR_BAD_INTEGRITY) {
		return kdc_fail(r, KRB_AP_ERR_MODIFIED,
		    "the request body does not match the authenticator's checksum");
	}
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "verifying the request checksum");
	return 0;
}

static int32_t
tgs_authenticator(kdc_request *r, tgs_state *st)
{
	int64_t off, skew = r->policy->clock_skew;
	lbytes plain;
	lethe_status rc;

	rc = kdc_key_temp(&st->tgt.key, r->arena, &st->session);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "loading the TGT session key");
	rc = kdc_decrypt(st->session, KRB_KU_TGS_REQ_AUTH, st->ap.authenticator.cipher,
	    r->arena, &plain);
	if (rc == LETHE_ERR_BAD_INTEGRITY) {
		return kdc_fail(r, KRB_AP_ERR_BAD_INTEGRITY,
		    "the authenticator does not decrypt with the TGT's session key");
	}
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "decrypting the authenticator");
	if (krb_decode_authenticator(r->arena, plain.data, plain.len, &st->auth) != LETHE_OK)
		return kdc_fail(r, KRB_ERR_GENERIC, "the decrypted authenticator is malformed");
	if (!krb_principal_realm_eq(&st->auth.cname, st->auth.crealm, &st->tgt.cname,
	    st->tgt.crealm)) {
		return kdc_fail(r, KRB_AP_ERR_BADMATCH,
		    "the authenticator names another client than the TGT");
	}
	off = st->auth.ctime - r->now;
	if (off > skew || off < -skew) {
		return kdc_fail(r, KRB_AP_ERR_SKEW, "client's clock is %lld s %s (allowed %lld s)",
		    (long long)(off < 0 ? -off : off), off < 0 ? "behind" : "ahead",
		    (long long)skew);
	}
	return tgs_check_checksum(r, st);
}

static int32_t
tgs_reply_key(kdc_request *r, tgs_state *st)
{
	lethe_status rc;

	st->reply_key = st->session;
	st->reply_usage = KRB_KU_TGS_REP_ENC_PART_SESSKEY;
	if (!st->auth.has_subkey)
		return 0;
	rc = kdc_key_temp(&st->auth.subkey, r->arena, &st->reply_key);
	if (rc == LETHE_ERR_ETYPE_NOSUPP || rc == LETHE_ERR_INVALID_ARG) {
		return kdc_fail(r, KDC_ERR_ETYPE_NOSUPP,
		    "the authenticator's subkey (enctype %d) is not usable",
		    (int)st->auth.subkey.keytype);
	}
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "loading the subkey");
	st->reply_usage = KRB_KU_TGS_REP_ENC_PART_SUBKEY;
	return 0;
}

/* The TGT's client, when of this realm, must still exist and be enabled. */
static int32_t
tgs_check_client(kdc_request *r, const tgs_state *st)
{
	const kdc_principal *client;
	char name[256];

	if (!lbytes_eq(st->tgt.crealm, r->realm))
		return 0;
	client = kdc_snapshot_lookup(r->snap, &st->tgt.cname, st->tgt.crealm);
	if (client == NULL) {
		kdc_name_str(&st->tgt.cname, st->tgt.crealm, name, sizeof(name));
		return kdc_fail(r, KDC_ERR_C_PRINCIPAL_UNKNOWN,
		    "client %s is no longer in the database", name);
	}
	return kdc_check_client(r, client);
}

static int32_t
tgs_lookup_server(kdc_request *r, tgs_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	char name[256];

	if ((b->kdc_options & KRB_KDC_OPT_RENEW) &&
	    !krb_principal_realm_eq(&b->sname, b->realm, &st->ap.ticket.sname,
	    st->ap.ticket.realm)) {
		return kdc_fail(r, KDC_ERR_BADOPTION,
		    "renew asks for another service than the ticket's own");
	}
	st->server = kdc_snapshot_lookup(r->snap, &b->sname, b->realm);
	if (st->server == NULL) {
		kdc_name_str(&b->sname, b->realm, name, sizeof(name));
		return kdc_fail(r, KDC_ERR_S_PRINCIPAL_UNKNOWN, "service %s is not in the database",
		    name);
	}
	return kdc_check_server(r, st->server);
}

static int64_t
min_expiry(int64_t cap, int64_t expires_at)
{
	return (expires_at != 0 && expires_at < cap) ? expires_at : cap;
}

static int32_t
tgs_times_flags(kdc_request *r, tgs_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	const krb_enc_ticket_part *t = &st->tgt;
	const kdc_principal *s = st->server;
	kdc_time_request tr = { b->kdc_options, b->has_till, b->till, b->has_rtime, b->rtime };
	kdc_tgt_times tt = { t->flags, t->authtime, t->has_starttime ? t->starttime : t->authtime,
		t->endtime, t->has_renew_till, t->renew_till };
	kdc_life_limits lim = {
		kdc_limit_min(s->max_life, 0, r->policy->max_life),
		kdc_limit_min(s->max_renew, 0, r->policy->max_renew),
	};
	kdc_flag_policy fp = { 0, s->attributes, s->kind == STORE_KIND_KRBTGT };
	bool renew_ok = (s->attributes & STORE_ATTR_ALLOW_RENEWABLE) != 0;
	const char *why = "";
	int32_t code;

	code = kdc_tgs_times(r->now, &tr, &tt, &lim, renew_ok,
	    min_expiry(st->key_cap, s->expires_at), &st->times, &why);
	if (code == 0)
		code = kdc_tgs_flags(b->kdc_options, t->flags, &fp, &st->times, &st->flags, &why);
	if (code != 0)
		return kdc_fail(r, code, "%s", why);
	/* Tickets of this realm's TGTs cross no realm: nothing to check, as MIT marks. */
	if (t->transited.contents.len == 0)
		st->flags |= KRB_TKT_FLG_TRANSITED_POLICY_CHECKED;
	return 0;
}

/* The new ticket's authorization data: the TGT's, then the request's. */
static int32_t
tgs_authdata(kdc_request *r, tgs_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	bool sub = st->auth.has_subkey;
	krb_authdata req_ad = { NULL, 0 };
	krb_ad_entry *all;
	lbytes plain;
	lethe_status rc;

	st->authdata = st->tgt.authorization_data;
	if (!b->has_enc_authorization_data)
		return 0;
	rc = kdc_decrypt(st->reply_key, sub ? KRB_KU_TGS_REQ_AUTHDATA_SUBKEY :
	    KRB_KU_TGS_REQ_AUTHDATA_SESSKEY, b->enc_authorization_data.cipher, r->arena, &plain);
	if (rc == LETHE_ERR_BAD_INTEGRITY) {
		return kdc_fail(r, KRB_AP_ERR_BAD_INTEGRITY,
		    "enc-authorization-data does not decrypt with the %s",
		    sub ? "subkey" : "session key");
	}
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "decrypting enc-authorization-data");
	if (krb_decode_authdata(r->arena, plain.data, plain.len, &req_ad) != LETHE_OK)
		return kdc_fail(r, KRB_ERR_GENERIC, "enc-authorization-data is malformed");
	all = lethe_arena_calloc(r->arena, st->authdata.count + req_ad.count, sizeof(*all));
	if (all == NULL)
		return kdc_fail_status(r, LETHE_ERR_NOMEM, "merging authorization data");
	for (size_t i = 0; i < st->authdata.count; i++)
		all[i] = st->authdata.items[i];
	for (size_t i = 0; i < req_ad.count; i++)
		all[st->authdata.count + i] = req_ad.items[i];
	st->authdata = (krb_authdata){ all, st->authdata.count + req_ad.count };
	return 0;
}

static lethe_status
tgs_encode(kdc_request *r, tgs_state *st)
{
	const krb_kdc_req_body *b = &r->req.body;
	const kdc_ticket_times *t = &st->times;
	bool new_addrs = (b->kdc_options & (KRB_KDC_OPT_FORWARDED | KRB_KDC_OPT_PROXY)) != 0;
	krb_host_addresses caddr = new_addrs ? b->addresses : st->tgt.caddr;
	krb_enc_ticket_part etp = {
		.flags = st->flags, .key = st->session_key, .crealm = st->tgt.crealm,
		.cname = st->tgt.cname, .transited = st->tgt.transited,
		.authtime = t->authtime, .has_starttime = true, .starttime = t->starttime,
		.endtime = t->endtime, .has_renew_till = t->renewable, .renew_till = t->renew_till,
		.caddr = caddr, .authorization_data = st->authdata,
	};
	krb_enc_kdc_rep_part part = {
		.app_tag = KRB_APP_ENC_TGS_REP_PART, .key = st->session_key,
		.last_req = kdc_last_req_none, .nonce = b->nonce, .flags = st->flags,
		.authtime = t->authtime, .has_starttime = true, .starttime = t->starttime,
		.endtime = t->endtime, .has_renew_till = t->renewable, .renew_till = t->renew_till,
		.srealm = r->realm, .sname = *st->reply_sname, .caddr = caddr,
	};
	krb_kdc_rep rep = { .msg_type = KRB_MSG_TGS_REP, .crealm = st->tgt.crealm,
		.cname = st->tgt.cname };

	GUARD(kdc_seal_ticket(r, &etp, st->ticket_key, st->reply_sname, &rep.ticket));
	GUARD(kdc_seal_rep_part(r, &part, st->reply_key, st->reply_usage, &rep.enc_part));
	der_writer_reset(&r->wk->out);
	return krb_encode_tgs_rep(&r->wk->out, &rep);
}

static int32_t
tgs_issue(kdc_request *r, tgs_state *st)
{
	bool canon = (r->req.body.kdc_options & KRB_KDC_OPT_CANONICALIZE) != 0;
	lethe_status rc;

	rc = kdc_random_key(st->session_etype, r->arena, &st->session_key);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "making the session key");
	st->reply_sname = canon ? &st->server->pname : &r->req.body.sname;
	rc = tgs_encode(r, st);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "encoding the TGS-REP");
	return 0;
}

int32_t
kdc_process_tgs(kdc_request *r)
{
	tgs_state st = { 0 };

	VERDICT(tgs_names(r));
	VERDICT(tgs_ap_req(r, &st));
	VERDICT(tgs_open_ticket(r, &st));
	VERDICT(tgs_check_ticket_times(r, &st));
	VERDICT(tgs_authenticator(r, &st));
	VERDICT(tgs_reply_key(r, &st));
	VERDICT(tgs_check_client(r, &st));
	VERDICT(tgs_lookup_server(r, &st));
	VERDICT(kdc_choose_service_key(r, st.server, &st.ticket_key, &st.key_cap));
	VERDICT(kdc_choose_session_etype(r, st.server, &st.session_etype));
	VERDICT(tgs_times_flags(r, &st));
	VERDICT(tgs_authdata(r, &st));
	return tgs_issue(r, &st);
}
