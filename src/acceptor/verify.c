/* AP-REQ verification (RFC 4120 §3.2.3). */
#include "acceptor/internal.h"
#include "base/wipe.h"
#include "registrar/registrar.h"
#include "registrar/ticket.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define AP_REQ_FIRST_BYTE 0x6e      /* [APPLICATION 14], constructed */

/* One verification in progress. */
typedef struct vstate {
	acc_ctx *ctx;
	acc_verified *v;
	acc_error *err;
	int64_t now;
	int32_t now_usec;
	krb_ap_req ap;
	krb_enc_ticket_part part;
	krb_authenticator auth;
} vstate;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 0)))
#endif
static lethe_status
vrefuse(vstate *vs, acc_reason reason, lethe_status rc, const char *fmt, va_list ap)
{
	if (vs->err != NULL) {
		vs->err->reason = reason;
		vs->err->code = acc_reason_krb_code(reason);
		vsnprintf(vs->err->text, sizeof(vs->err->text), fmt, ap);
	}
	if (rc == LETHE_OK)
		rc = LETHE_ERR_INVALID_ARG;   /* a refusal is never success */
	return rc;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static lethe_status
refuse(vstate *vs, acc_reason reason, lethe_status rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = vrefuse(vs, reason, rc, fmt, ap);
	va_end(ap);
	return rc;
}

/* Decrypt cipher into a fresh buffer (*buf, *cap); nothing is kept on failure. */
static lethe_status
decrypt_fresh(kc_key *key, uint32_t usage, lbytes cipher, uint8_t **buf, size_t *cap,
	      size_t *plain_len)
{
	uint8_t *p;
	lethe_status rc;

	ENSURE(cipher.len > 0, LETHE_ERR_BAD_INTEGRITY);
	p = malloc(cipher.len);
	ENSURE(p != NULL, LETHE_ERR_NOMEM);
	rc = kc_decrypt(key, usage, cipher, p, cipher.len, plain_len);
	if (rc != LETHE_OK) {
		lethe_wipe(p, cipher.len);
		free(p);
		return rc;
	}
	*buf = p;
	*cap = cipher.len;
	return LETHE_OK;
}

/* A heap key from an EncryptionKey; its bytes in the plaintext are wiped. */
static lethe_status
key_take(const krb_encryption_key *ek, kc_key **out)
{
	lethe_status rc;

	rc = kc_key_new(ek->keytype, ek->keyvalue, out);
	if (ek->keyvalue.len > 0)
		lethe_wipe((void *)(uintptr_t)ek->keyvalue.data, ek->keyvalue.len);
	return rc;
}

static lethe_status
decode_request(vstate *vs, const uint8_t *req, size_t len)
{
	acc_verified *v = vs->v;
	lethe_status rc;

	if (len == 0 || req[0] != AP_REQ_FIRST_BYTE)
		return refuse(vs, ACC_MSG_TYPE, LETHE_ERR_DER_TAG, "not an AP-REQ");
	if (len > ACC_MAX_AP_REQ)
		return refuse(vs, ACC_MALFORMED, LETHE_ERR_TOO_BIG, "AP-REQ too long");
	v->req_copy = malloc(len);
	if (v->req_copy == NULL)
		return refuse(vs, ACC_INTERNAL, LETHE_ERR_NOMEM, "out of memory");
	memcpy(v->req_copy, req, len);
	v->req_len = len;
	rc = krb_decode_ap_req(&v->arena, v->req_copy, len, &vs->ap);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "malformed AP-REQ");
	v->server_known = true;
	v->server = vs->ap.ticket.sname;
	v->server_realm = vs->ap.ticket.realm;
	v->kvno = vs->ap.ticket.enc_part.kvno;
	v->ticket_etype = vs->ap.ticket.enc_part.etype;
	v->ap_options = vs->ap.ap_options;
	if (vs->ap.ap_options & KRB_AP_OPT_USE_SESSION_KEY)
		return refuse(vs, ACC_USER_TO_USER, LETHE_ERR_UNSUPPORTED,
			      "user-to-user not supported");
	return LETHE_OK;
}

/* True when the ticket's server is one this context accepts for. */
static bool
server_accepted(const acc_ctx *ctx, const krb_ticket *t)
{
	size_t i;

	if (ctx->n_servers == 0)
		return true;
	for (i = 0; i < ctx->n_servers; i++) {
		if (acc_kt_principal_is(&ctx->servers[i], &t->sname, t->realm))
			return true;
	}
	return false;
}

/* Turn a failed key lookup into its refusal. */
static lethe_status
refuse_lookup(vstate *vs, acc_lookup found)
{
	const krb_enc_data *ed = &vs->ap.ticket.enc_part;

	switch (found) {
	case ACC_LOOKUP_NO_PRINCIPAL:
		return refuse(vs, ACC_NOT_US, ACC_ERR_NOT_US, "no key for the ticket's server");
	case ACC_LOOKUP_NO_KVNO:
		return refuse(vs, ACC_BADKEYVER, ACC_ERR_BADKEYVER, "no key for kvno %u",
			      (unsigned)ed->kvno);
	default:
		return refuse(vs, ACC_ETYPE, LETHE_ERR_ETYPE_NOSUPP,
			      "no key of enctype %d for kvno %u", (int)ed->etype,
			      (unsigned)ed->kvno);
	}
}

static lethe_status decode_ticket(vstate *vs, size_t n);

/* Refuse a public-key ticket for its signature, counted. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static lethe_status
refuse_signature(vstate *vs, const char *fmt, ...)
{
	va_list ap;

	lethe_status rc;

	atomic_fetch_add(&vs->ctx->n_pubkey_sig_refused, 1);
	va_start(ap, fmt);
	rc = vrefuse(vs, ACC_TICKET_SIGNATURE, LETHE_ERR_BAD_INTEGRITY, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * The opened CMS signed[0..len) must be a SignedData of the KDC (the
 * signer's key one of the configured KDC certificates'): its content, the
 * PubkeyTicketContent, replaces v->ticket_plain (n: its length).
 */
static lethe_status
check_kdc_signature(vstate *vs, size_t len, size_t *n)
{
	acc_ctx *ctx = vs->ctx;
	acc_verified *v = vs->v;
	reg_trust trust = { NULL, ctx->kdc_pins, ctx->n_kdc_pins };
	reg_verified rv;
	enum reg_result verdict = REG_INTERNAL;
	lethe_status rc;

	rc = reg_verify(v->ticket_plain, len, REG_CT_TICKET, &trust, vs->now, &rv, &verdict);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_INTERNAL, rc, "public-key ticket signature check failed");
	switch (verdict) {
	case REG_OK:
		break;
	case REG_MALFORMED:
	case REG_TOO_BIG:
		return refuse_signature(vs, "public-key ticket is not signed (no KDC SignedData "
		    "inside, or not one Lethe makes)");
	case REG_BAD_SIGNATURE:
		return refuse_signature(vs, "public-key ticket signature does not verify");
	default:
		return refuse_signature(vs, "public-key ticket signed by spki %.64s, which is no "
		    "configured KDC certificate", rv.signer_spki[0] != '\0' ? rv.signer_spki :
		    "(unknown)");
	}
	if (rv.content_len == 0 || rv.content_len > v->ticket_plain_cap) {
		lethe_wipe(rv.content, rv.content_len);
		reg_verified_clear(&rv);
		return refuse(vs, ACC_MALFORMED, LETHE_ERR_FORMAT, "malformed public-key ticket");
	}
	/* The signed content is shorter than its SignedData: it fits in place. */
	lethe_wipe(v->ticket_plain, v->ticket_plain_cap);
	memcpy(v->ticket_plain, rv.content, rv.content_len);
	*n = rv.content_len;
	lethe_wipe(rv.content, rv.content_len);
	reg_verified_clear(&rv);
	return LETHE_OK;
}

/*
 * A public-key ticket: open the CMS with the service's private key, check
 * the KDC's signature inside, then the sealed server name.
 */
static lethe_status
open_pubkey_ticket(vstate *vs)
{
	const krb_ticket *t = &vs->ap.ticket;
	acc_verified *v = vs->v;
	lbytes part;
	size_t n = 0;
	lethe_status rc;

	if (vs->ctx->pubkey_identity == NULL)
		return refuse(vs, ACC_ETYPE, LETHE_ERR_ETYPE_NOSUPP,
			      "public-key ticket, but no private key is configured");
	atomic_fetch_add(&vs->ctx->n_ticket_decrypts, 1);
	rc = reg_open_bytes(t->enc_part.cipher.data, t->enc_part.cipher.len, REG_CT_TICKET,
			    vs->ctx->pubkey_identity, &v->ticket_plain, &n);
	if (rc == LETHE_ERR_BAD_INTEGRITY)
		return refuse(vs, ACC_TICKET_INTEGRITY, rc,
			      "public-key ticket does not open with this key");
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "malformed public-key ticket");
	v->ticket_plain_cap = n;
	v->kvno = 0;
	/* Nothing inside is used before the KDC's signature is checked. */
	GUARD(check_kdc_signature(vs, n, &n));
	/* The sealed server name must be the ticket's (a cert may serve several). */
	rc = reg_ticket_unbind(v->ticket_plain, n, t->realm, &t->sname, &v->arena, &part);
	if (rc == LETHE_ERR_BAD_INTEGRITY)
		return refuse(vs, ACC_NOT_US, ACC_ERR_NOT_US,
			      "public-key ticket sealed for another server");
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "malformed public-key ticket");
	memmove(v->ticket_plain, part.data, part.len);
	return decode_ticket(vs, part.len);
}

/* Find the ticket's key (stat-ing the keytab again on a miss) and decrypt with it. */
static lethe_status
open_ticket(vstate *vs)
{
	const krb_ticket *t = &vs->ap.ticket;
	acc_verified *v = vs->v;
	acc_keyset *ks = NULL;
	acc_lookup found = ACC_LOOKUP_NO_PRINCIPAL;
	kc_key *key = NULL;
	size_t n = 0;
	int pass;
	lethe_status rc;

	if (!server_accepted(vs->ctx, t))
		return refuse(vs, ACC_NOT_US, ACC_ERR_NOT_US, "server not accepted here");
	if (t->enc_part.etype == REG_ENCTYPE_PUBKEY_TICKET)
		return open_pubkey_ticket(vs);
	if (!kc_enctype_supported(t->enc_part.etype))
		return refuse(vs, ACC_ETYPE, LETHE_ERR_ETYPE_NOSUPP,
			      "ticket enctype %d not supported", (int)t->enc_part.etype);
	for (pass = 0; pass < 2 && found != ACC_LOOKUP_FOUND; pass++) {
		acc_keyset_release(ks);
		ks = NULL;
		rc = acc_keys_acquire(vs->ctx, pass == 1, &ks);
		if (rc != LETHE_OK || ks == NULL)
			return refuse(vs, ACC_INTERNAL, rc, "keytab unavailable");
		found = acc_keyset_find(ks, &t->sname, t->realm, t->enc_part.has_kvno,
					t->enc_part.kvno, t->enc_part.etype, &key, &v->kvno);
	}
	if (found != ACC_LOOKUP_FOUND) {
		acc_keyset_release(ks);
		return refuse_lookup(vs, found);
	}
	atomic_fetch_add(&vs->ctx->n_ticket_decrypts, 1);
	rc = decrypt_fresh(key, KRB_KU_TICKET, t->enc_part.cipher, &v->ticket_plain,
			   &v->ticket_plain_cap, &n);
	acc_keyset_release(ks);
	if (rc == LETHE_ERR_BAD_INTEGRITY)
		return refuse(vs, ACC_TICKET_INTEGRITY, rc, "ticket integrity check failed");
	if (rc != LETHE_OK)
		return refuse(vs, ACC_INTERNAL, rc, "ticket decryption failed");
	return decode_ticket(vs, n);
}

/* Decode the ticket plaintext (n bytes) and take its session key. */
static lethe_status
decode_ticket(vstate *vs, size_t n)
{
	acc_verified *v = vs->v;
	lethe_status rc;

	rc = krb_decode_enc_ticket_part(&v->arena, v->ticket_plain, n, &vs->part);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "malformed ticket");
	rc = key_take(&vs->part.key, &v->session_key);
	if (rc == LETHE_ERR_ETYPE_NOSUPP)
		return refuse(vs, ACC_ETYPE, rc, "session key enctype %d not supported",
			      (int)vs->part.key.keytype);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "bad session key");
	return LETHE_OK;
}

/* Ticket times and the INVALID flag, with the skew (RFC 4120 §3.2.3). */
static lethe_status
check_ticket_times(vstate *vs)
{
	const krb_enc_ticket_part *p = &vs->part;
	int64_t start = p->has_starttime ? p->starttime : p->authtime;
	int64_t skew = vs->ctx->skew;

	/* KerberosTime holds years 0..9999, so these sums cannot overflow. */
	if (p->flags & KRB_TKT_FLG_INVALID)
		return refuse(vs, ACC_TKT_NYV, ACC_ERR_REFUSED, "ticket marked invalid");
	if (start - skew > vs->now)
		return refuse(vs, ACC_TKT_NYV, ACC_ERR_REFUSED, "ticket not yet valid");
	if (p->endtime + skew < vs->now)
		return refuse(vs, ACC_TKT_EXPIRED, ACC_ERR_REFUSED, "ticket expired");
	return LETHE_OK;
}

static lethe_status
open_authenticator(vstate *vs)
{
	const krb_enc_data *ed = &vs->ap.authenticator;
	acc_verified *v = vs->v;
	size_t n = 0;
	lethe_status rc;

	if (ed->etype != kc_key_enctype(v->session_key))
		return refuse(vs, ACC_ETYPE, LETHE_ERR_ETYPE_NOSUPP,
			      "authenticator enctype %d is not the session key's",
			      (int)ed->etype);
	atomic_fetch_add(&vs->ctx->n_auth_decrypts, 1);
	rc = decrypt_fresh(v->session_key, KRB_KU_AP_REQ_AUTH, ed->cipher, &v->auth_plain,
			   &v->auth_plain_cap, &n);
	if (rc == LETHE_ERR_BAD_INTEGRITY)
		return refuse(vs, ACC_AUTH_INTEGRITY, rc, "authenticator integrity check failed");
	if (rc != LETHE_OK)
		return refuse(vs, ACC_INTERNAL, rc, "authenticator decryption failed");
	rc = krb_decode_authenticator(&v->arena, v->auth_plain, n, &vs->auth);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "malformed authenticator");
	if (vs->auth.cusec < 0 || vs->auth.cusec > 999999)
		return refuse(vs, ACC_MALFORMED, LETHE_ERR_DER_VALUE, "cusec out of range");
	v->client_known = true;
	v->client = vs->part.cname;
	v->client_realm = vs->part.crealm;
	v->ctime = vs->auth.ctime;
	v->cusec = vs->auth.cusec;
	return LETHE_OK;
}

/* Names, time and subkey of the authenticator. */
static lethe_status
check_authenticator(vstate *vs)
{
	const krb_authenticator *au = &vs->auth;
	int64_t skew = vs->ctx->skew;
	lethe_status rc;

	if (!krb_principal_realm_eq(&au->cname, au->crealm, &vs->part.cname, vs->part.crealm))
		return refuse(vs, ACC_BADMATCH, ACC_ERR_REFUSED,
			      "authenticator client differs from the ticket's");
	if (au->ctime - vs->now > skew || vs->now - au->ctime > skew)
		return refuse(vs, ACC_SKEW, ACC_ERR_REFUSED, "clock skew too great");
	if (!au->has_subkey)
		return LETHE_OK;
	rc = key_take(&au->subkey, &vs->v->subkey);
	if (rc == LETHE_ERR_ETYPE_NOSUPP)
		return refuse(vs, ACC_ETYPE, rc, "subkey enctype %d not supported",
			      (int)au->subkey.keytype);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_MALFORMED, rc, "bad subkey");
	return LETHE_OK;
}

/* Record the authenticator; refuse a replay or a full cache. */
static lethe_status
check_replay(vstate *vs)
{
	acc_ctx *ctx = vs->ctx;
	const acc_verified *v = vs->v;
	uint8_t key[ACC_DIGEST_LEN];
	lethe_status rc;

	rc = acc_rcache_key(ctx->rcache, ctx->sha256, &v->client, v->client_realm, &v->server,
			    v->server_realm, v->ctime, v->cusec, vs->ap.authenticator.cipher, key);
	if (rc != LETHE_OK)
		return refuse(vs, ACC_INTERNAL, rc, "replay cache failure");
	switch (acc_rcache_insert(ctx->rcache, key, vs->now, vs->now + 2 * ctx->skew)) {
	case ACC_RC_FRESH:
		return LETHE_OK;
	case ACC_RC_REPLAY:
		atomic_fetch_add(&ctx->n_replays, 1);
		return refuse(vs, ACC_REPEAT, ACC_ERR_REFUSED, "request is a replay");
	default:
		atomic_fetch_add(&ctx->n_rcache_full, 1);
		return refuse(vs, ACC_RCACHE_FULL, ACC_ERR_RCACHE_FULL, "replay cache full");
	}
}

/* Copy the accepted request's details into v. */
static void
fill_accepted(vstate *vs)
{
	acc_verified *v = vs->v;
	const krb_enc_ticket_part *p = &vs->part;

	v->has_seq_number = vs->auth.has_seq_number;
	v->seq_number = vs->auth.seq_number;
	v->has_cksum = vs->auth.has_cksum;
	v->cksum = vs->auth.cksum;
	v->ticket_flags = p->flags;
	v->authtime = p->authtime;
	v->starttime = p->has_starttime ? p->starttime : p->authtime;
	v->endtime = p->endtime;
	v->renew_till = p->has_renew_till ? p->renew_till : 0;
	v->caddr = p->caddr;
	v->ticket_authdata = p->authorization_data;
	v->authenticator_authdata = vs->auth.authorization_data;
}

static lethe_status
verify_steps(vstate *vs, const uint8_t *req, size_t len)
{
	GUARD(decode_request(vs, req, len));
	GUARD(open_ticket(vs));
	GUARD(check_ticket_times(vs));
	GUARD(open_authenticator(vs));
	GUARD(check_authenticator(vs));
	GUARD(check_replay(vs));
	fill_accepted(vs);
	return LETHE_OK;
}

lethe_status
acc_verify_ap_req(acc_ctx *ctx, const uint8_t *req, size_t len, acc_verified *out,
		  acc_error *err)
{
	vstate vs = { .ctx = ctx, .v = out, .err = err };
	lethe_status rc;

	if (err != NULL)
		*err = (acc_error){ .reason = ACC_ACCEPTED };
	ENSURE(ctx != NULL && out != NULL && (req != NULL || len == 0), LETHE_ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	lethe_arena_init(&out->arena, ACC_ARENA_BUDGET);
	out->arena_ready = true;
	acc_now(ctx, &vs.now, &vs.now_usec);
	rc = verify_steps(&vs, req, len);
	if (rc != LETHE_OK) {
		kc_key_free(out->session_key);
		kc_key_free(out->subkey);
		out->session_key = NULL;
		out->subkey = NULL;
		atomic_fetch_add(&ctx->n_refused, 1);
		return rc;
	}
	atomic_fetch_add(&ctx->n_accepted, 1);
	return LETHE_OK;
}

lethe_status
acc_verify_cksum(const acc_verified *v, lbytes data)
{
	ENSURE(v != NULL && v->session_key != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(v->has_cksum, LETHE_ERR_NOT_FOUND);
	return kc_checksum_verify(v->session_key, v->cksum.cksumtype, KRB_KU_AP_REQ_AUTH_CKSUM,
				  data, v->cksum.checksum);
}

/* Wipe and free a plaintext buffer. */
static void
plain_free(uint8_t *p, size_t cap)
{
	if (p == NULL)
		return;
	lethe_wipe(p, cap);
	free(p);
}

void
acc_verified_clear(acc_verified *v)
{
	if (v == NULL)
		return;
	kc_key_free(v->session_key);
	kc_key_free(v->subkey);
	plain_free(v->ticket_plain, v->ticket_plain_cap);
	plain_free(v->auth_plain, v->auth_plain_cap);
	free(v->req_copy);
	if (v->arena_ready)
		lethe_arena_free(&v->arena);
	memset(v, 0, sizeof(*v));
}
