/* Answers to an AP-REQ: AP-REP (RFC 4120 §5.5.2) and KRB-ERROR (§5.9.1). */
#include "acceptor/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Encrypt the EncAPRepPart plaintext with the session key into *cipher. */
static lethe_status
seal_ap_rep_part(const acc_verified *v, const krb_enc_ap_rep_part *part, uint8_t **cipher,
		 size_t *cipher_len)
{
	der_writer plain;
	size_t need = 0;
	uint8_t *buf = NULL;
	lethe_status rc;

	der_writer_init(&plain, ACC_WRITER_MAX);
	GUARD_GOTO(rc, krb_encode_enc_ap_rep_part(&plain, part));
	GUARD_GOTO(rc, kc_encrypt_len(kc_key_enctype(v->session_key), der_written(&plain).len,
				      &need));
	buf = malloc(need);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kc_encrypt(v->session_key, KRB_KU_AP_REP_ENC_PART, der_written(&plain),
				  buf, need, cipher_len));
	*cipher = buf;
	buf = NULL;
cleanup:
	free(buf);
	der_writer_free(&plain);   /* wipes the plaintext, subkey included */
	return rc;
}

lethe_status
acc_ap_rep_build(acc_ctx *ctx, const acc_verified *v, const kc_key *subkey,
		 const uint32_t *seq_number, der_writer *w)
{
	krb_enc_ap_rep_part part = { 0 };
	krb_ap_rep rep = { 0 };
	uint8_t *cipher = NULL;
	size_t cipher_len = 0;
	lethe_status rc;

	ENSURE(ctx != NULL && v != NULL && w != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(v->client_known && v->session_key != NULL, LETHE_ERR_INVALID_ARG);
	part.ctime = v->ctime;
	part.cusec = v->cusec;
	if (subkey != NULL) {
		ENSURE(kc_key_enctype(subkey) != 0, LETHE_ERR_INVALID_ARG);
		part.has_subkey = true;
		part.subkey.keytype = kc_key_enctype(subkey);
		part.subkey.keyvalue = kc_key_bytes(subkey);
	}
	if (seq_number != NULL) {
		part.has_seq_number = true;
		part.seq_number = *seq_number;
	}
	GUARD(seal_ap_rep_part(v, &part, &cipher, &cipher_len));
	rep.enc_part.etype = kc_key_enctype(v->session_key);
	rep.enc_part.cipher = lbytes_make(cipher, cipher_len);
	rc = krb_encode_ap_rep(w, &rep);
	free(cipher);
	return rc;
}

/* Printable ASCII only, at most 255 bytes: e-text goes to peers and logs. */
static lbytes
e_text_of(const char *text, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; text[i] != '\0' && i + 1 < cap; i++)
		buf[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	buf[i] = '\0';
	return lbytes_make(buf, i);
}

/*
 * The server name for a KRB-ERROR from kp, viewed through comps[] (which
 * must hold kp->ncomponents entries).
 */
static void
server_from_kt(const kt_principal *kp, lbytes *comps, krb_error *e)
{
	size_t i;

	for (i = 0; i < kp->ncomponents; i++)
		comps[i] = kt_buf_view(kp->components[i]);
	e->realm = kt_buf_view(kp->realm);
	e->sname.name_type = kp->name_type;
	e->sname.components = comps;
	e->sname.n_components = kp->ncomponents;
}

lethe_status
acc_krb_error_build(acc_ctx *ctx, const acc_verified *v, int32_t code, const char *text,
		    der_writer *w)
{
	krb_error e = { 0 };
	lbytes comps[KT_MAX_COMPONENTS];
	char etext[256];
	acc_keyset *ks = NULL;
	lethe_status rc;

	ENSURE(ctx != NULL && w != NULL, LETHE_ERR_INVALID_ARG);
	acc_now(ctx, &e.stime, &e.susec);
	e.error_code = code;
	if (text != NULL && text[0] != '\0') {
		e.has_e_text = true;
		e.e_text = e_text_of(text, etext, sizeof(etext));
	}
	if (v != NULL && v->client_known) {
		e.has_crealm = e.has_cname = true;
		e.crealm = v->client_realm;
		e.cname = v->client;
		e.has_ctime = e.has_cusec = true;
		e.ctime = v->ctime;
		e.cusec = v->cusec;
	}
	if (v != NULL && v->server_known) {
		e.realm = v->server_realm;
		e.sname = v->server;
		return krb_encode_krb_error(w, &e);
	}
	if (ctx->n_servers > 0) {
		server_from_kt(&ctx->servers[0], comps, &e);
		return krb_encode_krb_error(w, &e);
	}
	GUARD(acc_keys_acquire(ctx, false, &ks));
	ENSURE_GOTO(rc, ks != NULL && ks->count > 0, LETHE_ERR_NOT_FOUND);
	server_from_kt(&kt_entry_at(ks->kt, 0)->principal, comps, &e);
	rc = krb_encode_krb_error(w, &e);
cleanup:
	acc_keyset_release(ks);
	return rc;
}
