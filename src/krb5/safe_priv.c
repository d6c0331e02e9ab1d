/*
 * KRB-SAFE [APPLICATION 20] with KRB-SAFE-BODY, KRB-PRIV [APPLICATION 21]
 * and EncKrbPrivPart [APPLICATION 28] (which has KRB-SAFE-BODY's fields).
 */
#include "krb5/internal.h"

/* The fields of KRB-SAFE-BODY / EncKrbPrivPart from the cursor seq. */
static lethe_status
read_body_fields(der_reader *seq, krb_safe_body *out)
{
	GUARD(der_ctx_octets(seq, 0, &out->user_data));
	GUARD(der_ctx_gtime_opt(seq, 1, &out->timestamp, &out->has_timestamp));
	GUARD(krbi_ctx_usec_opt(seq, 2, &out->usec, &out->has_usec));
	GUARD(krbi_ctx_u32_opt(seq, 3, &out->seq_number, &out->has_seq_number));
	GUARD(krbi_ctx_read(seq, 4, NULL, krbi_rd_host_address, &out->s_address));
	GUARD(krbi_ctx_read_opt(seq, 5, NULL, krbi_rd_host_address, &out->r_address,
				&out->has_r_address));
	return der_finish(seq);
}

/* Prepend the fields (not the SEQUENCE header). */
static lethe_status
encode_body_fields(der_writer *w, const krb_safe_body *in)
{
	size_t mf;

	if (in->has_r_address) {
		mf = der_mark(w);
		krb_encode_host_address(w, &in->r_address);
		krbi_wrap_ctx(w, mf, 5);
	}
	mf = der_mark(w);
	krb_encode_host_address(w, &in->s_address);
	krbi_wrap_ctx(w, mf, 4);
	if (in->has_seq_number)
		der_put_ctx_uint32(w, 3, in->seq_number);
	if (in->has_usec)
		der_put_ctx_int64(w, 2, in->usec);
	if (in->has_timestamp)
		der_put_ctx_gtime(w, 1, in->timestamp);
	return krbi_put_ctx_octets(w, 0, in->user_data);
}

static lethe_status
read_safe_body(der_reader *r, lethe_arena *a, void *elem)
{
	krb_safe_body *out = elem;
	der_reader seq;
	uint32_t tag;

	(void)a;
	GUARD(der_peek_tag(r, &tag));
	ENSURE(tag == DER_SEQUENCE, LETHE_ERR_DER_TAG);
	GUARD(der_read_any(r, NULL, &seq, &out->raw));
	return read_body_fields(&seq, out);
}

/* ----------------------------------------------------------------- KRB-SAFE */

lethe_status
krb_decode_krb_safe(lethe_arena *a, const uint8_t *data, size_t len, krb_safe *out)
{
	der_reader r, seq;

	*out = (krb_safe){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_MSG_SAFE, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 1, KRB_MSG_SAFE));
	GUARD(krbi_ctx_read(&seq, 2, a, read_safe_body, &out->body));
	GUARD(krbi_ctx_read(&seq, 3, a, krbi_rd_checksum, &out->cksum));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_krb_safe(der_writer *w, const krb_safe *in)
{
	size_t m = der_mark(w), mf;

	mf = der_mark(w);
	krb_encode_checksum(w, &in->cksum);
	krbi_wrap_ctx(w, mf, 3);
	mf = der_mark(w);
	if (in->body.raw.len != 0) {
		der_put_raw(w, in->body.raw.data, in->body.raw.len);
	} else {
		encode_body_fields(w, &in->body);
		der_wrap(w, mf, DER_SEQUENCE);
	}
	krbi_wrap_ctx(w, mf, 2);
	der_put_ctx_int64(w, 1, KRB_MSG_SAFE);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_MSG_SAFE));
}

/* ----------------------------------------------------------------- KRB-PRIV */

lethe_status
krb_decode_krb_priv(lethe_arena *a, const uint8_t *data, size_t len, krb_priv *out)
{
	der_reader r, seq;

	*out = (krb_priv){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_MSG_PRIV, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 1, KRB_MSG_PRIV));
	/* The third tag is [3]; there is no [2]. */
	GUARD(krbi_ctx_read(&seq, 3, a, krbi_rd_enc_data, &out->enc_part));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_krb_priv(der_writer *w, const krb_priv *in)
{
	size_t m = der_mark(w);

	krb_encode_enc_data(w, &in->enc_part);
	krbi_wrap_ctx(w, m, 3);
	der_put_ctx_int64(w, 1, KRB_MSG_PRIV);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_MSG_PRIV));
}

/* ----------------------------------------------------------- EncKrbPrivPart */

lethe_status
krb_decode_enc_krb_priv_part(lethe_arena *a, const uint8_t *data, size_t len,
			     krb_enc_krb_priv_part *out)
{
	der_reader r, seq;

	(void)a;
	*out = (krb_enc_krb_priv_part){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_APP_ENC_KRB_PRIV_PART, &seq, NULL));
	GUARD(read_body_fields(&seq, out));
	return der_finish(&r);
}

lethe_status
krb_encode_enc_krb_priv_part(der_writer *w, const krb_enc_krb_priv_part *in)
{
	size_t m = der_mark(w);

	encode_body_fields(w, in);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_APP_ENC_KRB_PRIV_PART));
}
