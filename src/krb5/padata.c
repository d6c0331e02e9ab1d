/*
 * PA-DATA, METHOD-DATA, TYPED-DATA and the typed padata contents:
 * PA-ENC-TS-ENC, ETYPE-INFO2, KERB-PA-PAC-REQUEST.
 */
#include "krb5/internal.h"

/* ---------------------------------------------------------------- PA-DATA */

lethe_status
krb_read_pa_data(der_reader *r, lethe_arena *a, krb_pa_data *out)
{
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	/* The first tag is [1], not [0]. */
	GUARD(der_ctx_int32(&seq, 1, &out->padata_type));
	GUARD(der_ctx_octets(&seq, 2, &out->padata_value));
	return der_finish(&seq);
}

lethe_status
krb_decode_pa_data(lethe_arena *a, const uint8_t *data, size_t len, krb_pa_data *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_pa_data(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_pa_data(der_writer *w, const krb_pa_data *in)
{
	size_t m = der_mark(w);

	krbi_put_ctx_octets(w, 2, in->padata_value);
	der_put_ctx_int64(w, 1, in->padata_type);
	return der_wrap(w, m, DER_SEQUENCE);
}

static lethe_status
read_pa_data_elem(der_reader *r, lethe_arena *a, void *elem)
{
	return krb_read_pa_data(r, a, elem);
}

lethe_status
krb_read_method_data(der_reader *r, lethe_arena *a, krb_method_data *out)
{
	void *items;

	GUARD(krbi_read_seq_of(r, a, KRB_MAX_PADATA, sizeof(krb_pa_data), read_pa_data_elem,
			       &items, &out->count));
	out->items = items;
	return LETHE_OK;
}

lethe_status
krb_decode_method_data(lethe_arena *a, const uint8_t *data, size_t len, krb_method_data *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_method_data(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_method_data(der_writer *w, const krb_method_data *in)
{
	size_t m = der_mark(w);

	if (in->count != 0 && in->items == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->count; i-- > 0;)
		krb_encode_pa_data(w, &in->items[i]);
	return der_wrap(w, m, DER_SEQUENCE);
}

const krb_pa_data *
krb_find_padata(const krb_method_data *list, int32_t type)
{
	for (size_t i = 0; i < list->count; i++) {
		if (list->items[i].padata_type == type)
			return &list->items[i];
	}
	return NULL;
}

/* ------------------------------------------------------------- TYPED-DATA */

static lethe_status
read_typed_data_entry(der_reader *r, lethe_arena *a, void *elem)
{
	krb_typed_data_entry *out = elem;
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->data_type));
	GUARD(der_ctx_octets_opt(&seq, 1, &out->data_value, &out->has_data_value));
	return der_finish(&seq);
}

lethe_status
krb_decode_typed_data(lethe_arena *a, const uint8_t *data, size_t len, krb_typed_data *out)
{
	der_reader r;
	void *items;

	der_reader_init(&r, data, len);
	GUARD(krbi_read_seq_of(&r, a, KRB_MAX_TYPED_DATA, sizeof(krb_typed_data_entry),
			       read_typed_data_entry, &items, &out->count));
	out->items = items;
	return der_finish(&r);
}

lethe_status
krb_encode_typed_data(der_writer *w, const krb_typed_data *in)
{
	size_t m = der_mark(w);

	if (in->count != 0 && in->items == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->count; i-- > 0;) {
		const krb_typed_data_entry *e = &in->items[i];
		size_t me = der_mark(w);
		if (e->has_data_value)
			krbi_put_ctx_octets(w, 1, e->data_value);
		der_put_ctx_int64(w, 0, e->data_type);
		der_wrap(w, me, DER_SEQUENCE);
	}
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ---------------------------------------------------------- PA-ENC-TS-ENC */

lethe_status
krb_decode_pa_enc_ts_enc(lethe_arena *a, const uint8_t *data, size_t len,
			 krb_pa_enc_ts_enc *out)
{
	der_reader r, seq;

	(void)a;
	der_reader_init(&r, data, len);
	GUARD(der_read(&r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_gtime(&seq, 0, &out->patimestamp));
	out->pausec = 0;
	GUARD(krbi_ctx_usec_opt(&seq, 1, &out->pausec, &out->has_pausec));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_pa_enc_ts_enc(der_writer *w, const krb_pa_enc_ts_enc *in)
{
	size_t m = der_mark(w);

	if (in->has_pausec)
		der_put_ctx_int64(w, 1, in->pausec);
	der_put_ctx_gtime(w, 0, in->patimestamp);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ------------------------------------------------------------ ETYPE-INFO2 */

static lethe_status
read_etype_info2_entry(der_reader *r, lethe_arena *a, void *elem)
{
	krb_etype_info2_entry *out = elem;
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->etype));
	GUARD(der_ctx_gstring_opt(&seq, 1, &out->salt, &out->has_salt));
	GUARD(der_ctx_octets_opt(&seq, 2, &out->s2kparams, &out->has_s2kparams));
	return der_finish(&seq);
}

lethe_status
krb_decode_etype_info2(lethe_arena *a, const uint8_t *data, size_t len, krb_etype_info2 *out)
{
	der_reader r;
	void *items;

	der_reader_init(&r, data, len);
	GUARD(krbi_read_seq_of(&r, a, KRB_MAX_ETYPE_INFO2, sizeof(krb_etype_info2_entry),
			       read_etype_info2_entry, &items, &out->count));
	out->items = items;
	return der_finish(&r);
}

lethe_status
krb_encode_etype_info2(der_writer *w, const krb_etype_info2 *in)
{
	size_t m = der_mark(w);

	if (in->count != 0 && in->items == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->count; i-- > 0;) {
		const krb_etype_info2_entry *e = &in->items[i];
		size_t me = der_mark(w);
		if (e->has_s2kparams)
			krbi_put_ctx_octets(w, 2, e->s2kparams);
		if (e->has_salt)
			krbi_put_ctx_string(w, 1, e->salt);
		der_put_ctx_int64(w, 0, e->etype);
		der_wrap(w, me, DER_SEQUENCE);
	}
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ----------------------------------------------------- KERB-PA-PAC-REQUEST */

lethe_status
krb_decode_pa_pac_request(lethe_arena *a, const uint8_t *data, size_t len,
			  krb_pa_pac_request *out)
{
	der_reader r, seq, inner;

	(void)a;
	der_reader_init(&r, data, len);
	GUARD(der_read(&r, DER_SEQUENCE, &seq));
	GUARD(der_ctx(&seq, 0, &inner));
	GUARD(der_read_bool(&inner, &out->include_pac));
	GUARD(der_finish(&inner));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_pa_pac_request(der_writer *w, const krb_pa_pac_request *in)
{
	size_t m = der_mark(w);

	der_put_bool(w, in->include_pac);
	krbi_wrap_ctx(w, m, 0);
	return der_wrap(w, m, DER_SEQUENCE);
}
