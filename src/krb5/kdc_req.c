/* KDC-REQ-BODY, AS-REQ [APPLICATION 10] and TGS-REQ [APPLICATION 12]. */
#include "krb5/internal.h"

/* ------------------------------------------------------------ KDC-REQ-BODY */

static lethe_status
read_etype(der_reader *r, lethe_arena *a, void *elem)
{
	(void)a;
	return der_read_int32(r, elem);
}

static lethe_status
read_etypes(der_reader *r, lethe_arena *a, krb_kdc_req_body *out)
{
	der_reader inner;
	void *items;

	GUARD(der_ctx(r, 8, &inner));
	GUARD(krbi_read_seq_of(&inner, a, KRB_MAX_ETYPES, sizeof(int32_t), read_etype, &items,
			       &out->n_etypes));
	out->etypes = items;
	return der_finish(&inner);
}

static lethe_status
read_tickets(der_reader *r, lethe_arena *a, krb_kdc_req_body *out)
{
	der_reader inner;
	bool present;
	void *items;

	out->additional_tickets = NULL;
	out->n_additional_tickets = 0;
	GUARD(der_ctx_opt(r, 11, &inner, &present));
	if (!present)
		return LETHE_OK;
	GUARD(krbi_read_seq_of(&inner, a, KRB_MAX_TICKETS, sizeof(krb_ticket), krbi_rd_ticket,
			       &items, &out->n_additional_tickets));
	out->additional_tickets = items;
	return der_finish(&inner);
}

/* Fields [0] to [7]. */
static lethe_status
read_body_head(der_reader *seq, lethe_arena *a, krb_kdc_req_body *out)
{
	GUARD(krbi_ctx_flags(seq, 0, &out->kdc_options));
	GUARD(krbi_ctx_read_opt(seq, 1, a, krbi_rd_principal, &out->cname, &out->has_cname));
	GUARD(der_ctx_gstring(seq, 2, &out->realm));
	GUARD(krbi_ctx_read_opt(seq, 3, a, krbi_rd_principal, &out->sname, &out->has_sname));
	GUARD(der_ctx_gtime_opt(seq, 4, &out->from, &out->has_from));
	GUARD(der_ctx_gtime_opt(seq, 5, &out->till, &out->has_till));
	GUARD(der_ctx_gtime_opt(seq, 6, &out->rtime, &out->has_rtime));
	return krbi_ctx_u32(seq, 7, &out->nonce);
}

lethe_status
krb_read_kdc_req_body(der_reader *r, lethe_arena *a, krb_kdc_req_body *out)
{
	der_reader seq;
	uint32_t tag;
	bool present;

	*out = (krb_kdc_req_body){ 0 };
	GUARD(der_peek_tag(r, &tag));
	ENSURE(tag == DER_SEQUENCE, LETHE_ERR_DER_TAG);
	GUARD(der_read_any(r, NULL, &seq, &out->raw));
	GUARD(read_body_head(&seq, a, out));
	GUARD(read_etypes(&seq, a, out));
	GUARD(krbi_ctx_read_opt(&seq, 9, a, krbi_rd_host_addresses, &out->addresses, &present));
	GUARD(krbi_ctx_read_opt(&seq, 10, a, krbi_rd_enc_data, &out->enc_authorization_data,
				&out->has_enc_authorization_data));
	GUARD(read_tickets(&seq, a, out));
	return der_finish(&seq);
}

lethe_status
krb_decode_kdc_req_body(lethe_arena *a, const uint8_t *data, size_t len,
			krb_kdc_req_body *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_kdc_req_body(&r, a, out));
	return der_finish(&r);
}

/* Fields [8] to [11]. */
static lethe_status
encode_body_tail(der_writer *w, const krb_kdc_req_body *in)
{
	size_t mf;

	if (in->n_additional_tickets != 0) {
		if (in->additional_tickets == NULL)
			return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
		mf = der_mark(w);
		for (size_t i = in->n_additional_tickets; i-- > 0;)
			krb_encode_ticket(w, &in->additional_tickets[i]);
		der_wrap(w, mf, DER_SEQUENCE);
		krbi_wrap_ctx(w, mf, 11);
	}
	if (in->has_enc_authorization_data) {
		mf = der_mark(w);
		krb_encode_enc_data(w, &in->enc_authorization_data);
		krbi_wrap_ctx(w, mf, 10);
	}
	if (in->addresses.count != 0) {
		mf = der_mark(w);
		krb_encode_host_addresses(w, &in->addresses);
		krbi_wrap_ctx(w, mf, 9);
	}
	if (in->n_etypes != 0 && in->etypes == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	mf = der_mark(w);
	for (size_t i = in->n_etypes; i-- > 0;)
		der_put_int64(w, in->etypes[i]);
	der_wrap(w, mf, DER_SEQUENCE);
	return krbi_wrap_ctx(w, mf, 8);
}

lethe_status
krb_encode_kdc_req_body(der_writer *w, const krb_kdc_req_body *in)
{
	size_t m = der_mark(w), mf;

	if (in->raw.len != 0)
		return der_put_raw(w, in->raw.data, in->raw.len);
	encode_body_tail(w, in);
	krbi_put_ctx_nonce(w, 7, in->nonce);
	if (in->has_rtime)
		der_put_ctx_gtime(w, 6, in->rtime);
	if (in->has_till)
		der_put_ctx_gtime(w, 5, in->till);
	if (in->has_from)
		der_put_ctx_gtime(w, 4, in->from);
	if (in->has_sname) {
		mf = der_mark(w);
		krb_encode_principal_name(w, &in->sname);
		krbi_wrap_ctx(w, mf, 3);
	}
	krbi_put_ctx_string(w, 2, in->realm);
	if (in->has_cname) {
		mf = der_mark(w);
		krb_encode_principal_name(w, &in->cname);
		krbi_wrap_ctx(w, mf, 1);
	}
	der_put_ctx_bits32(w, 0, in->kdc_options);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ---------------------------------------------------------------- KDC-REQ */

/* Decode a KDC-REQ whose APPLICATION tag is app (10 or 12). */
static lethe_status
decode_kdc_req(lethe_arena *a, const uint8_t *data, size_t len, uint32_t app,
	       krb_kdc_req *out)
{
	der_reader r, seq;
	bool present;

	*out = (krb_kdc_req){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, app, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 1, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 2, app));
	out->msg_type = (int32_t)app;
	GUARD(krbi_ctx_read_opt(&seq, 3, a, krbi_rd_method_data, &out->padata, &present));
	GUARD(krbi_ctx_read(&seq, 4, a, krbi_rd_kdc_req_body, &out->body));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_decode_as_req(lethe_arena *a, const uint8_t *data, size_t len, krb_kdc_req *out)
{
	return decode_kdc_req(a, data, len, KRB_MSG_AS_REQ, out);
}

lethe_status
krb_decode_tgs_req(lethe_arena *a, const uint8_t *data, size_t len, krb_kdc_req *out)
{
	return decode_kdc_req(a, data, len, KRB_MSG_TGS_REQ, out);
}

lethe_status
krb_decode_kdc_req(lethe_arena *a, const uint8_t *data, size_t len, krb_kdc_req *out)
{
	der_reader r;
	uint32_t tag;

	der_reader_init(&r, data, len);
	GUARD(der_peek_tag(&r, &tag));
	if (tag == DER_APP(KRB_MSG_TGS_REQ))
		return decode_kdc_req(a, data, len, KRB_MSG_TGS_REQ, out);
	return decode_kdc_req(a, data, len, KRB_MSG_AS_REQ, out);
}

static lethe_status
encode_kdc_req(der_writer *w, const krb_kdc_req *in, uint32_t app)
{
	size_t m = der_mark(w), mf;

	mf = der_mark(w);
	krb_encode_kdc_req_body(w, &in->body);
	krbi_wrap_ctx(w, mf, 4);
	if (in->padata.count != 0) {
		mf = der_mark(w);
		krb_encode_method_data(w, &in->padata);
		krbi_wrap_ctx(w, mf, 3);
	}
	der_put_ctx_int64(w, 2, app);
	der_put_ctx_int64(w, 1, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(app));
}

lethe_status
krb_encode_as_req(der_writer *w, const krb_kdc_req *in)
{
	return encode_kdc_req(w, in, KRB_MSG_AS_REQ);
}

lethe_status
krb_encode_tgs_req(der_writer *w, const krb_kdc_req *in)
{
	return encode_kdc_req(w, in, KRB_MSG_TGS_REQ);
}

lethe_status
krb_encode_kdc_req(der_writer *w, const krb_kdc_req *in)
{
	if (in->msg_type != KRB_MSG_AS_REQ && in->msg_type != KRB_MSG_TGS_REQ)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	return encode_kdc_req(w, in, (uint32_t)in->msg_type);
}
