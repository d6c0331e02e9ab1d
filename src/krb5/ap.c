/*
 * AP-REQ [APPLICATION 14], Authenticator [APPLICATION 2], AP-REP
 * [APPLICATION 15] and EncAPRepPart [APPLICATION 27].
 */
#include "krb5/internal.h"

/* ------------------------------------------------------------------ AP-REQ */

lethe_status
krb_decode_ap_req(lethe_arena *a, const uint8_t *data, size_t len, krb_ap_req *out)
{
	der_reader r, seq;

	*out = (krb_ap_req){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_MSG_AP_REQ, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 1, KRB_MSG_AP_REQ));
	GUARD(krbi_ctx_flags(&seq, 2, &out->ap_options));
	GUARD(krbi_ctx_read(&seq, 3, a, krbi_rd_ticket, &out->ticket));
	GUARD(krbi_ctx_read(&seq, 4, a, krbi_rd_enc_data, &out->authenticator));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_ap_req(der_writer *w, const krb_ap_req *in)
{
	size_t m = der_mark(w), mf;

	mf = der_mark(w);
	krb_encode_enc_data(w, &in->authenticator);
	krbi_wrap_ctx(w, mf, 4);
	mf = der_mark(w);
	krb_encode_ticket(w, &in->ticket);
	krbi_wrap_ctx(w, mf, 3);
	der_put_ctx_bits32(w, 2, in->ap_options);
	der_put_ctx_int64(w, 1, KRB_MSG_AP_REQ);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_MSG_AP_REQ));
}

/* ----------------------------------------------------------- Authenticator */

lethe_status
krb_decode_authenticator(lethe_arena *a, const uint8_t *data, size_t len,
			 krb_authenticator *out)
{
	der_reader r, seq;
	bool present;

	*out = (krb_authenticator){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_APP_AUTHENTICATOR, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(der_ctx_gstring(&seq, 1, &out->crealm));
	GUARD(krbi_ctx_read(&seq, 2, a, krbi_rd_principal, &out->cname));
	GUARD(krbi_ctx_read_opt(&seq, 3, a, krbi_rd_checksum, &out->cksum, &out->has_cksum));
	GUARD(krbi_ctx_usec(&seq, 4, &out->cusec));
	GUARD(der_ctx_gtime(&seq, 5, &out->ctime));
	GUARD(krbi_ctx_read_opt(&seq, 6, a, krbi_rd_encryption_key, &out->subkey,
				&out->has_subkey));
	GUARD(krbi_ctx_u32_opt(&seq, 7, &out->seq_number, &out->has_seq_number));
	GUARD(krbi_ctx_read_opt(&seq, 8, a, krbi_rd_authdata, &out->authorization_data,
				&present));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_authenticator(der_writer *w, const krb_authenticator *in)
{
	size_t m = der_mark(w), mf;

	if (in->authorization_data.count != 0) {
		mf = der_mark(w);
		krb_encode_authdata(w, &in->authorization_data);
		krbi_wrap_ctx(w, mf, 8);
	}
	if (in->has_seq_number)
		der_put_ctx_uint32(w, 7, in->seq_number);
	if (in->has_subkey) {
		mf = der_mark(w);
		krb_encode_encryption_key(w, &in->subkey);
		krbi_wrap_ctx(w, mf, 6);
	}
	der_put_ctx_gtime(w, 5, in->ctime);
	der_put_ctx_int64(w, 4, in->cusec);
	if (in->has_cksum) {
		mf = der_mark(w);
		krb_encode_checksum(w, &in->cksum);
		krbi_wrap_ctx(w, mf, 3);
	}
	mf = der_mark(w);
	krb_encode_principal_name(w, &in->cname);
	krbi_wrap_ctx(w, mf, 2);
	krbi_put_ctx_string(w, 1, in->crealm);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_APP_AUTHENTICATOR));
}

/* ------------------------------------------------------------------ AP-REP */

lethe_status
krb_decode_ap_rep(lethe_arena *a, const uint8_t *data, size_t len, krb_ap_rep *out)
{
	der_reader r, seq;

	*out = (krb_ap_rep){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_MSG_AP_REP, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 1, KRB_MSG_AP_REP));
	GUARD(krbi_ctx_read(&seq, 2, a, krbi_rd_enc_data, &out->enc_part));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_ap_rep(der_writer *w, const krb_ap_rep *in)
{
	size_t m = der_mark(w);

	krb_encode_enc_data(w, &in->enc_part);
	krbi_wrap_ctx(w, m, 2);
	der_put_ctx_int64(w, 1, KRB_MSG_AP_REP);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_MSG_AP_REP));
}

/* ------------------------------------------------------------ EncAPRepPart */

lethe_status
krb_decode_enc_ap_rep_part(lethe_arena *a, const uint8_t *data, size_t len,
			   krb_enc_ap_rep_part *out)
{
	der_reader r, seq;

	*out = (krb_enc_ap_rep_part){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_APP_ENC_AP_REP_PART, &seq, NULL));
	GUARD(der_ctx_gtime(&seq, 0, &out->ctime));
	GUARD(krbi_ctx_usec(&seq, 1, &out->cusec));
	GUARD(krbi_ctx_read_opt(&seq, 2, a, krbi_rd_encryption_key, &out->subkey,
				&out->has_subkey));
	GUARD(krbi_ctx_u32_opt(&seq, 3, &out->seq_number, &out->has_seq_number));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_enc_ap_rep_part(der_writer *w, const krb_enc_ap_rep_part *in)
{
	size_t m = der_mark(w), mf;

	if (in->has_seq_number)
		der_put_ctx_uint32(w, 3, in->seq_number);
	if (in->has_subkey) {
		mf = der_mark(w);
		krb_encode_encryption_key(w, &in->subkey);
		krbi_wrap_ctx(w, mf, 2);
	}
	der_put_ctx_int64(w, 1, in->cusec);
	der_put_ctx_gtime(w, 0, in->ctime);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_APP_ENC_AP_REP_PART));
}
