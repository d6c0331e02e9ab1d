/*
 * AS-REP [APPLICATION 11], TGS-REP [APPLICATION 13], and EncASRepPart /
 * EncTGSRepPart [APPLICATION 25 / 26].
 */
#include "krb5/internal.h"

/* ---------------------------------------------------------------- KDC-REP */

static lethe_status
decode_kdc_rep(lethe_arena *a, const uint8_t *data, size_t len, uint32_t app,
	       krb_kdc_rep *out)
{
	der_reader r, seq;
	bool present;

	*out = (krb_kdc_rep){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, app, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 1, app));
	out->msg_type = (int32_t)app;
	GUARD(krbi_ctx_read_opt(&seq, 2, a, krbi_rd_method_data, &out->padata, &present));
	GUARD(der_ctx_gstring(&seq, 3, &out->crealm));
	GUARD(krbi_ctx_read(&seq, 4, a, krbi_rd_principal, &out->cname));
	GUARD(krbi_ctx_read(&seq, 5, a, krbi_rd_ticket, &out->ticket));
	GUARD(krbi_ctx_read(&seq, 6, a, krbi_rd_enc_data, &out->enc_part));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_decode_as_rep(lethe_arena *a, const uint8_t *data, size_t len, krb_kdc_rep *out)
{
	return decode_kdc_rep(a, data, len, KRB_MSG_AS_REP, out);
}

lethe_status
krb_decode_tgs_rep(lethe_arena *a, const uint8_t *data, size_t len, krb_kdc_rep *out)
{
	return decode_kdc_rep(a, data, len, KRB_MSG_TGS_REP, out);
}

lethe_status
krb_decode_kdc_rep(lethe_arena *a, const uint8_t *data, size_t len, krb_kdc_rep *out)
{
	der_reader r;
	uint32_t tag;

	der_reader_init(&r, data, len);
	GUARD(der_peek_tag(&r, &tag));
	if (tag == DER_APP(KRB_MSG_TGS_REP))
		return decode_kdc_rep(a, data, len, KRB_MSG_TGS_REP, out);
	return decode_kdc_rep(a, data, len, KRB_MSG_AS_REP, out);
}

static lethe_status
encode_kdc_rep(der_writer *w, const krb_kdc_rep *in, uint32_t app)
{
	size_t m = der_mark(w), mf;

	mf = der_mark(w);
	krb_encode_enc_data(w, &in->enc_part);
	krbi_wrap_ctx(w, mf, 6);
	mf = der_mark(w);
	krb_encode_ticket(w, &in->ticket);
	krbi_wrap_ctx(w, mf, 5);
	mf = der_mark(w);
	krb_encode_principal_name(w, &in->cname);
	krbi_wrap_ctx(w, mf, 4);
	krbi_put_ctx_string(w, 3, in->crealm);
	if (in->padata.count != 0) {
		mf = der_mark(w);
		krb_encode_method_data(w, &in->padata);
		krbi_wrap_ctx(w, mf, 2);
	}
	der_put_ctx_int64(w, 1, app);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(app));
}

lethe_status
krb_encode_as_rep(der_writer *w, const krb_kdc_rep *in)
{
	return encode_kdc_rep(w, in, KRB_MSG_AS_REP);
}

lethe_status
krb_encode_tgs_rep(der_writer *w, const krb_kdc_rep *in)
{
	return encode_kdc_rep(w, in, KRB_MSG_TGS_REP);
}

lethe_status
krb_encode_kdc_rep(der_writer *w, const krb_kdc_rep *in)
{
	if (in->msg_type != KRB_MSG_AS_REP && in->msg_type != KRB_MSG_TGS_REP)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	return encode_kdc_rep(w, in, (uint32_t)in->msg_type);
}

/* ---------------------------------------------------------- EncKDCRepPart */

/* Fields [0] to [8]. */
static lethe_status
read_part_head(der_reader *seq, lethe_arena *a, krb_enc_kdc_rep_part *out)
{
	GUARD(krbi_ctx_read(seq, 0, a, krbi_rd_encryption_key, &out->key));
	GUARD(krbi_ctx_read(seq, 1, a, krbi_rd_last_req, &out->last_req));
	GUARD(krbi_ctx_u32(seq, 2, &out->nonce));
	GUARD(der_ctx_gtime_opt(seq, 3, &out->key_expiration, &out->has_key_expiration));
	GUARD(krbi_ctx_flags(seq, 4, &out->flags));
	GUARD(der_ctx_gtime(seq, 5, &out->authtime));
	GUARD(der_ctx_gtime_opt(seq, 6, &out->starttime, &out->has_starttime));
	GUARD(der_ctx_gtime(seq, 7, &out->endtime));
	return der_ctx_gtime_opt(seq, 8, &out->renew_till, &out->has_renew_till);
}

lethe_status
krb_decode_enc_kdc_rep_part(lethe_arena *a, const uint8_t *data, size_t len,
			    krb_enc_kdc_rep_part *out)
{
	der_reader r, seq;
	uint32_t tag;
	bool present;

	*out = (krb_enc_kdc_rep_part){ 0 };
	der_reader_init(&r, data, len);
	GUARD(der_peek_tag(&r, &tag));
	ENSURE(tag == DER_APP(KRB_APP_ENC_AS_REP_PART) || tag == DER_APP(KRB_APP_ENC_TGS_REP_PART),
	       LETHE_ERR_DER_TAG);
	out->app_tag = tag & DER_TAG_NUMBER_MASK;
	GUARD(krbi_open_app(&r, out->app_tag, &seq, NULL));
	GUARD(read_part_head(&seq, a, out));
	GUARD(der_ctx_gstring(&seq, 9, &out->srealm));
	GUARD(krbi_ctx_read(&seq, 10, a, krbi_rd_principal, &out->sname));
	GUARD(krbi_ctx_read_opt(&seq, 11, a, krbi_rd_host_addresses, &out->caddr, &present));
	GUARD(krbi_ctx_read_opt(&seq, 12, a, krbi_rd_method_data, &out->encrypted_pa_data,
				&present));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

/* Fields [9] to [12]. */
static lethe_status
encode_part_tail(der_writer *w, const krb_enc_kdc_rep_part *in)
{
	size_t mf;

	if (in->encrypted_pa_data.count != 0) {
		mf = der_mark(w);
		krb_encode_method_data(w, &in->encrypted_pa_data);
		krbi_wrap_ctx(w, mf, 12);
	}
	if (in->caddr.count != 0) {
		mf = der_mark(w);
		krb_encode_host_addresses(w, &in->caddr);
		krbi_wrap_ctx(w, mf, 11);
	}
	mf = der_mark(w);
	krb_encode_principal_name(w, &in->sname);
	krbi_wrap_ctx(w, mf, 10);
	return krbi_put_ctx_string(w, 9, in->srealm);
}

static lethe_status
encode_part(der_writer *w, const krb_enc_kdc_rep_part *in, uint32_t app)
{
	size_t m = der_mark(w), mf;

	encode_part_tail(w, in);
	if (in->has_renew_till)
		der_put_ctx_gtime(w, 8, in->renew_till);
	der_put_ctx_gtime(w, 7, in->endtime);
	if (in->has_starttime)
		der_put_ctx_gtime(w, 6, in->starttime);
	der_put_ctx_gtime(w, 5, in->authtime);
	der_put_ctx_bits32(w, 4, in->flags);
	if (in->has_key_expiration)
		der_put_ctx_gtime(w, 3, in->key_expiration);
	krbi_put_ctx_nonce(w, 2, in->nonce);
	mf = der_mark(w);
	krb_encode_last_req(w, &in->last_req);
	krbi_wrap_ctx(w, mf, 1);
	mf = der_mark(w);
	krb_encode_encryption_key(w, &in->key);
	krbi_wrap_ctx(w, mf, 0);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(app));
}

lethe_status
krb_encode_enc_as_rep_part(der_writer *w, const krb_enc_kdc_rep_part *in)
{
	return encode_part(w, in, KRB_APP_ENC_AS_REP_PART);
}

lethe_status
krb_encode_enc_tgs_rep_part(der_writer *w, const krb_enc_kdc_rep_part *in)
{
	return encode_part(w, in, KRB_APP_ENC_TGS_REP_PART);
}

lethe_status
krb_encode_enc_kdc_rep_part(der_writer *w, const krb_enc_kdc_rep_part *in)
{
	if (in->app_tag != KRB_APP_ENC_AS_REP_PART && in->app_tag != KRB_APP_ENC_TGS_REP_PART)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	return encode_part(w, in, in->app_tag);
}
