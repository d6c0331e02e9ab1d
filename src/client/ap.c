/* AP-REQ construction and AP-REP verification (RFC 4120 §3.2). */
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>

void
kcl_ap_state_clear(kcl_ap_state *st)
{
	if (st == NULL)
		return;
	kc_key_free(st->subkey);
	memset(st, 0, sizeof(*st));
}

/* Encode and encrypt (usage 11) the authenticator into *out; cipher bytes in *buf. */
static lethe_status
seal_authenticator(const kcl_cred *cred, const kcl_ap_params *p, const kcl_ap_state *st,
		   uint8_t **buf, size_t *cap, krb_enc_data *out)
{
	krb_authenticator au = { 0 };
	der_writer w;
	lethe_status rc;

	au.crealm = cred->client.realm;
	au.cname = kcl_name_principal(&cred->client);
	if (p->cksum != NULL) {
		au.has_cksum = true;
		au.cksum = *p->cksum;
	}
	au.ctime = st->ctime;
	au.cusec = st->cusec;
	if (st->subkey != NULL) {
		au.has_subkey = true;
		au.subkey.keytype = kc_key_enctype(st->subkey);
		au.subkey.keyvalue = kc_key_bytes(st->subkey);
	}
	au.has_seq_number = p->has_seq_number;
	au.seq_number = p->seq_number;
	der_writer_init(&w, KCL_WRITER_MAX);
	GUARD_GOTO(rc, krb_encode_authenticator(&w, &au));
	rc = kcl_encrypt_buf(cred->session_key, KRB_KU_AP_REQ_AUTH, der_written(&w), buf, cap,
			     out);
cleanup:
	der_writer_free(&w);   /* wipes the plaintext, subkey included */
	return rc;
}

lethe_status
kcl_ap_req_build(const kcl_cred *cred, const kcl_ap_params *p, kcl_ap_state *st,
		 der_writer *w)
{
	krb_ap_req ap = { 0 };
	uint8_t *cipher = NULL;
	size_t cap = 0;
	lethe_status rc;

	ENSURE(cred != NULL && cred->session_key != NULL && cred->ticket != NULL && p != NULL &&
	       st != NULL && w != NULL, LETHE_ERR_INVALID_ARG);
	kcl_ap_state_clear(st);
	kcl_now(&st->ctime, &st->cusec);
	if (p->use_subkey)
		GUARD(kcl_key_random(kc_key_enctype(cred->session_key), &st->subkey));
	GUARD_GOTO(rc, seal_authenticator(cred, p, st, &cipher, &cap, &ap.authenticator));
	ap.ap_options = p->ap_options;
	ap.ticket.raw = lbytes_make(cred->ticket, cred->ticket_len);
	rc = krb_encode_ap_req(w, &ap);
cleanup:
	free(cipher);
	if (rc != LETHE_OK)
		kcl_ap_state_clear(st);
	return rc;
}

/* Decrypt the AP-REP's EncAPRepPart into *part (views into *plain). */
static lethe_status
open_ap_rep(const kcl_cred *cred, const uint8_t *rep, size_t len, krb_enc_ap_rep_part *part,
	    uint8_t **plain, size_t *plain_len)
{
	krb_ap_rep ap;
	uint8_t *buf;
	size_t n = 0;
	lethe_status rc;

	GUARD(krb_decode_ap_rep(NULL, rep, len, &ap));
	ENSURE(ap.enc_part.etype == kc_key_enctype(cred->session_key), LETHE_ERR_ETYPE_NOSUPP);
	ENSURE(ap.enc_part.cipher.len > 0, LETHE_ERR_BAD_INTEGRITY);
	buf = malloc(ap.enc_part.cipher.len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kc_decrypt(cred->session_key, KRB_KU_AP_REP_ENC_PART, ap.enc_part.cipher,
				  buf, ap.enc_part.cipher.len, &n));
	GUARD_GOTO(rc, krb_decode_enc_ap_rep_part(NULL, buf, n, part));
	*plain = buf;
	*plain_len = ap.enc_part.cipher.len;
	buf = NULL;
cleanup:
	kcl_free_secret(buf, ap.enc_part.cipher.len);
	return rc;
}

lethe_status
kcl_ap_rep_verify(const kcl_cred *cred, const kcl_ap_state *st, const uint8_t *rep,
		  size_t len, kcl_ap_rep_info *out, kcl_error *err)
{
	krb_enc_ap_rep_part part;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	kcl_ap_rep_info info = { 0 };
	lethe_status rc = LETHE_OK;

	ENSURE(cred != NULL && cred->session_key != NULL && st != NULL && rep != NULL &&
	       out != NULL, LETHE_ERR_INVALID_ARG);
	if (len > 0 && rep[0] == 0x7e) {
		rc = kcl_check_krb_error(rep, len, err);
		return rc != LETHE_OK ? rc : LETHE_ERR_FORMAT;
	}
	GUARD(open_ap_rep(cred, rep, len, &part, &plain, &plain_len));
	ENSURE_GOTO(rc, part.ctime == st->ctime && part.cusec == st->cusec,
		    KCL_ERR_REPLY_MISMATCH);
	if (part.has_subkey)
		GUARD_GOTO(rc, kcl_key_from_krb(&part.subkey, &info.subkey));
	info.has_seq_number = part.has_seq_number;
	info.seq_number = part.seq_number;
	*out = info;
cleanup:
	kcl_free_secret(plain, plain_len);
	return rc;
}
