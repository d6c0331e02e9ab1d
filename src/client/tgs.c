/* TGS exchange: TGS-REQ with PA-TGS-REQ, TGS-REP processing. */
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
kcl_tgs_ctx_init(kcl_tgs_ctx *tc)
{
	memset(tc, 0, sizeof(*tc));
	der_writer_init(&tc->body, KCL_WRITER_MAX);
	der_writer_init(&tc->auth, KCL_WRITER_MAX);
	der_writer_init(&tc->ap_req, KCL_WRITER_MAX);
	lethe_arena_init(&tc->arena, KCL_ARENA_BUDGET);
}

void
kcl_tgs_ctx_free(kcl_tgs_ctx *tc)
{
	if (tc == NULL)
		return;
	der_writer_free(&tc->body);
	der_writer_free(&tc->auth);
	der_writer_free(&tc->ap_req);
	free(tc->cipher);
	lethe_arena_free(&tc->arena);
	memset(tc, 0, sizeof(*tc));
}

void
kcl_tgs_state_clear(kcl_tgs_state *st)
{
	if (st == NULL)
		return;
	kc_key_free(st->subkey);
	memset(st, 0, sizeof(*st));
}

/* Encode the KDC-REQ-BODY into tc->body. */
static lethe_status
put_body(kcl_tgs_ctx *tc, const kcl_tgs_params *p, uint32_t nonce, int64_t now)
{
	krb_kdc_req_body b = { 0 };

	b.kdc_options = p->kdc_options ? p->kdc_options :
			KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE_OK;
	b.realm = p->server->realm;
	b.has_sname = true;
	b.sname = kcl_name_principal(p->server);
	b.has_till = true;
	b.till = now + (p->lifetime > 0 ? p->lifetime : KCL_DEFAULT_LIFETIME);
	b.nonce = nonce;
	b.etypes = p->etypes != NULL ? p->etypes : kcl_default_etypes;
	b.n_etypes = p->etypes != NULL ? p->n_etypes :
		     sizeof(kcl_default_etypes) / sizeof(kcl_default_etypes[0]);
	der_writer_reset(&tc->body);
	return krb_encode_kdc_req_body(&tc->body, &b);
}

/*
 * Encode and encrypt (usage 7) the authenticator into *out, its checksum
 * (usage 6) over the body as encoded.
 */
static lethe_status
put_authenticator(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kc_key *subkey,
		  int64_t now, int32_t usec, krb_enc_data *out)
{
	krb_authenticator au = { 0 };
	uint8_t ck[KC_MAX_CKSUM_LEN];

	GUARD(kcl_checksum(tgt->session_key, KRB_KU_TGS_REQ_AUTH_CKSUM, der_written(&tc->body),
			   ck, sizeof(ck), &au.cksum));
	au.has_cksum = true;
	au.crealm = tgt->client.realm;
	au.cname = kcl_name_principal(&tgt->client);
	au.ctime = now;
	au.cusec = usec;
	if (subkey != NULL) {
		au.has_subkey = true;
		au.subkey.keytype = kc_key_enctype(subkey);
		au.subkey.keyvalue = kc_key_bytes(subkey);
	}
	der_writer_reset(&tc->auth);
	GUARD(krb_encode_authenticator(&tc->auth, &au));
	return kcl_encrypt_buf(tgt->session_key, KRB_KU_TGS_REQ_AUTH, der_written(&tc->auth),
			       &tc->cipher, &tc->cipher_cap, out);
}

lethe_status
kcl_tgs_build(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p, uint32_t nonce,
	      kcl_tgs_state *st, der_writer *w)
{
	krb_ap_req ap = { 0 };
	krb_pa_data pa = { .padata_type = KRB_PA_TGS_REQ };
	krb_kdc_req req = { .msg_type = KRB_MSG_TGS_REQ };
	int64_t now;
	int32_t usec;
	lethe_status rc;

	ENSURE(tc != NULL && tgt != NULL && tgt->session_key != NULL && p != NULL &&
	       p->server != NULL && st != NULL && w != NULL, LETHE_ERR_INVALID_ARG);
	kcl_tgs_state_clear(st);
	st->nonce = nonce;
	kcl_now(&now, &usec);
	if (p->use_subkey)
		GUARD(kcl_key_random(kc_key_enctype(tgt->session_key), &st->subkey));
	GUARD_GOTO(rc, put_body(tc, p, nonce, now));
	GUARD_GOTO(rc, put_authenticator(tc, tgt, st->subkey, now, usec, &ap.authenticator));
	der_writer_reset(&tc->auth);   /* the plaintext held the subkey */
	ap.ticket.raw = lbytes_make(tgt->ticket, tgt->ticket_len);
	der_writer_reset(&tc->ap_req);
	GUARD_GOTO(rc, krb_encode_ap_req(&tc->ap_req, &ap));
	pa.padata_value = der_written(&tc->ap_req);
	req.padata.items = &pa;
	req.padata.count = 1;
	req.body.raw = der_written(&tc->body);
	rc = krb_encode_tgs_req(w, &req);
cleanup:
	if (rc != LETHE_OK)
		kcl_tgs_state_clear(st);
	return rc;
}

static lethe_status
tgs_error(const uint8_t *rep, size_t len, kcl_error *err)
{
	lethe_status rc = kcl_check_krb_error(rep, len, err);

	return rc != LETHE_OK ? rc : LETHE_ERR_FORMAT;
}

/* Decode a TGS-REP into *r and check what needs no key. */
static lethe_status
decode_reply(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p,
	     const uint8_t *rep, size_t len, krb_kdc_rep *r)
{
	uint32_t opts = p->kdc_options;

	GUARD(krb_decode_tgs_rep(&tc->arena, rep, len, r));
	ENSURE(kcl_name_matches(&tgt->client, &r->cname, r->crealm), KCL_ERR_REPLY_MISMATCH);
	if (opts & KRB_KDC_OPT_CANONICALIZE)
		ENSURE(lbytes_eq(r->ticket.realm, p->server->realm), KCL_ERR_REPLY_MISMATCH);
	else
		ENSURE(kcl_name_matches(p->server, &r->ticket.sname, r->ticket.realm),
		       KCL_ERR_REPLY_MISMATCH);
	return LETHE_OK;
}

lethe_status
kcl_tgs_process(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p,
		const kcl_tgs_state *st, const uint8_t *rep, size_t len, kcl_cred *cred,
		kcl_error *err)
{
	krb_kdc_rep r;
	krb_enc_kdc_rep_part part;
	kc_key *key;
	uint32_t usage;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	lethe_status rc;

	ENSURE(tc != NULL && tgt != NULL && p != NULL && p->server != NULL && st != NULL &&
	       rep != NULL && cred != NULL, LETHE_ERR_INVALID_ARG);
	lethe_arena_reset(&tc->arena);
	if (len > 0 && rep[0] == 0x7e)
		return tgs_error(rep, len, err);
	GUARD(decode_reply(tc, tgt, p, rep, len, &r));
	key = st->subkey != NULL ? st->subkey : tgt->session_key;
	usage = st->subkey != NULL ? KRB_KU_TGS_REP_ENC_PART_SUBKEY :
				     KRB_KU_TGS_REP_ENC_PART_SESSKEY;
	GUARD(kcl_open_rep_part(key, usage, &r.enc_part, &tc->arena, &part, &plain, &plain_len));
	ENSURE_GOTO(rc, part.nonce == st->nonce, KCL_ERR_REPLY_MISMATCH);
	ENSURE_GOTO(rc, krb_principal_realm_eq(&part.sname, part.srealm, &r.ticket.sname,
					       r.ticket.realm), KCL_ERR_REPLY_MISMATCH);
	rc = kcl_cred_fill(cred, &tgt->client, &part, &r.ticket);
cleanup:
	kcl_free_secret(plain, plain_len);
	return rc;
}

lethe_status
kcl_tgs_check(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p,
	      const uint8_t *rep, size_t len, kcl_error *err)
{
	krb_kdc_rep r;

	ENSURE(tc != NULL && tgt != NULL && p != NULL && p->server != NULL && rep != NULL,
	       LETHE_ERR_INVALID_ARG);
	lethe_arena_reset(&tc->arena);
	if (len > 0 && rep[0] == 0x7e)
		return tgs_error(rep, len, err);
	GUARD(decode_reply(tc, tgt, p, rep, len, &r));
	ENSURE(r.enc_part.etype == kc_key_enctype(tgt->session_key), LETHE_ERR_ETYPE_NOSUPP);
	return LETHE_OK;
}

lethe_status
kcl_get_service_ticket(const kcl_kdc *kdc, const kcl_cred *tgt, const kcl_tgs_params *p,
		       kcl_cred *cred, kcl_error *err)
{
	kcl_tgs_ctx tc;
	kcl_tgs_state st = { 0 };
	der_writer w;
	uint8_t *rep = NULL;
	size_t rep_len = 0;
	uint32_t nonce;
	lbytes req;
	lethe_status rc;

	ENSURE(kdc != NULL && tgt != NULL && p != NULL && cred != NULL, LETHE_ERR_INVALID_ARG);
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	kcl_tgs_ctx_init(&tc);
	der_writer_init(&w, KCL_MAX_MESSAGE);
	GUARD_GOTO(rc, kcl_nonce(&nonce));
	GUARD_GOTO(rc, kcl_tgs_build(&tc, tgt, p, nonce, &st, &w));
	req = der_written(&w);
	GUARD_GOTO(rc, kcl_exchange(kdc, req.data, req.len, &rep, &rep_len));
	rc = kcl_tgs_process(&tc, tgt, p, &st, rep, rep_len, cred, err);
cleanup:
	free(rep);
	der_writer_free(&w);
	kcl_tgs_state_clear(&st);
	kcl_tgs_ctx_free(&tc);
	return rc;
}
