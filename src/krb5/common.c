/*
 * Shared codec helpers and the small RFC 4120 types: HostAddress(es),
 * EncryptionKey, EncryptedData, Checksum, AuthorizationData,
 * TransitedEncoding, LastReq.
 */
#include "krb5/internal.h"

/* ------------------------------------------------------------- helpers */

lethe_status
krbi_read_seq_of(der_reader *r, lethe_arena *a, size_t cap, size_t elem_size,
		 krbi_reader fn, void **items, size_t *count)
{
	der_reader seq, scan;
	size_t n = 0;
	uint8_t *arr;

	GUARD(der_read(r, DER_SEQUENCE, &seq));
	scan = seq;
	while (!der_at_end(&scan)) {
		ENSURE(n < cap, LETHE_ERR_TOO_BIG);
		GUARD(der_read_any(&scan, NULL, NULL, NULL));
		n++;
	}
	*items = NULL;
	*count = 0;
	if (n == 0)
		return LETHE_OK;
	ENSURE(a != NULL, LETHE_ERR_INVALID_ARG);
	arr = lethe_arena_calloc(a, n, elem_size);
	ENSURE(arr != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < n; i++)
		GUARD(fn(&seq, a, arr + i * elem_size));
	GUARD(der_finish(&seq));
	*items = arr;
	*count = n;
	return LETHE_OK;
}

lethe_status
krbi_ctx_read(der_reader *r, unsigned n, lethe_arena *a, krbi_reader fn, void *out)
{
	der_reader inner;

	GUARD(der_ctx(r, n, &inner));
	GUARD(fn(&inner, a, out));
	return der_finish(&inner);
}

lethe_status
krbi_ctx_read_opt(der_reader *r, unsigned n, lethe_arena *a, krbi_reader fn, void *out,
		  bool *present)
{
	der_reader inner;

	GUARD(der_ctx_opt(r, n, &inner, present));
	if (!*present)
		return LETHE_OK;
	GUARD(fn(&inner, a, out));
	return der_finish(&inner);
}

lethe_status
krbi_open_app(der_reader *r, uint32_t app, der_reader *seq, lbytes *raw)
{
	der_reader outer;
	uint32_t tag;

	GUARD(der_peek_tag(r, &tag));
	ENSURE(tag == DER_APP(app), LETHE_ERR_DER_TAG);
	GUARD(der_read_any(r, NULL, &outer, raw));
	GUARD(der_read(&outer, DER_SEQUENCE, seq));
	return der_finish(&outer);
}

lethe_status
krbi_ctx_expect(der_reader *r, unsigned n, int64_t expect)
{
	int64_t v;

	GUARD(der_ctx_int64(r, n, &v));
	ENSURE(v == expect, LETHE_ERR_DER_VALUE);
	return LETHE_OK;
}

static lethe_status
read_lenient_u32(der_reader *inner, uint32_t *out)
{
	int64_t v;

	GUARD(der_read_int64(inner, &v));
	GUARD(der_finish(inner));
	ENSURE(v >= INT32_MIN && v <= (int64_t)UINT32_MAX, LETHE_ERR_DER_VALUE);
	*out = (uint32_t)v;       /* negatives wrap modulo 2^32 */
	return LETHE_OK;
}

lethe_status
krbi_ctx_u32(der_reader *r, unsigned n, uint32_t *out)
{
	der_reader inner;

	GUARD(der_ctx(r, n, &inner));
	return read_lenient_u32(&inner, out);
}

lethe_status
krbi_ctx_u32_opt(der_reader *r, unsigned n, uint32_t *out, bool *present)
{
	der_reader inner;

	GUARD(der_ctx_opt(r, n, &inner, present));
	if (!*present)
		return LETHE_OK;
	return read_lenient_u32(&inner, out);
}

lethe_status
krbi_ctx_usec(der_reader *r, unsigned n, int32_t *out)
{
	int32_t v;

	GUARD(der_ctx_int32(r, n, &v));
	ENSURE(v >= 0 && v <= 999999, LETHE_ERR_DER_VALUE);
	*out = v;
	return LETHE_OK;
}

lethe_status
krbi_ctx_usec_opt(der_reader *r, unsigned n, int32_t *out, bool *present)
{
	int32_t v;

	GUARD(der_ctx_int32_opt(r, n, &v, present));
	if (!*present)
		return LETHE_OK;
	ENSURE(v >= 0 && v <= 999999, LETHE_ERR_DER_VALUE);
	*out = v;
	return LETHE_OK;
}

lethe_status
krbi_ctx_flags(der_reader *r, unsigned n, uint32_t *out)
{
	return der_ctx_bits32(r, n, out);
}

lethe_status
krbi_put_ctx_octets(der_writer *w, unsigned n, lbytes b)
{
	if (b.len == 0)
		return der_put_ctx_octets(w, n, "", 0);
	return der_put_ctx_octets(w, n, b.data, b.len);
}

lethe_status
krbi_put_ctx_string(der_writer *w, unsigned n, lbytes b)
{
	if (b.len == 0)
		return der_put_ctx_gstring(w, n, "", 0);
	return der_put_ctx_gstring(w, n, b.data, b.len);
}

lethe_status
krbi_put_ctx_nonce(der_writer *w, unsigned n, uint32_t v)
{
	int64_t s = v > INT32_MAX ? (int64_t)v - ((int64_t)1 << 32) : (int64_t)v;

	return der_put_ctx_int64(w, n, s);
}

/* ---------------------------------------------------------- HostAddress */

lethe_status
krb_read_host_address(der_reader *r, lethe_arena *a, krb_host_address *out)
{
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->addr_type));
	GUARD(der_ctx_octets(&seq, 1, &out->address));
	return der_finish(&seq);
}

lethe_status
krb_decode_host_address(lethe_arena *a, const uint8_t *data, size_t len, krb_host_address *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_host_address(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_host_address(der_writer *w, const krb_host_address *in)
{
	size_t m = der_mark(w);

	krbi_put_ctx_octets(w, 1, in->address);
	der_put_ctx_int64(w, 0, in->addr_type);
	return der_wrap(w, m, DER_SEQUENCE);
}

lethe_status
krb_read_host_addresses(der_reader *r, lethe_arena *a, krb_host_addresses *out)
{
	void *items;

	GUARD(krbi_read_seq_of(r, a, KRB_MAX_ADDRESSES, sizeof(krb_host_address),
			       krbi_rd_host_address, &items, &out->count));
	out->addrs = items;
	return LETHE_OK;
}

lethe_status
krb_decode_host_addresses(lethe_arena *a, const uint8_t *data, size_t len,
			  krb_host_addresses *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_host_addresses(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_host_addresses(der_writer *w, const krb_host_addresses *in)
{
	size_t m = der_mark(w);

	if (in->count != 0 && in->addrs == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->count; i-- > 0;)
		krb_encode_host_address(w, &in->addrs[i]);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* -------------------------------------------------------- EncryptionKey */

lethe_status
krb_read_encryption_key(der_reader *r, lethe_arena *a, krb_encryption_key *out)
{
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->keytype));
	GUARD(der_ctx_octets(&seq, 1, &out->keyvalue));
	return der_finish(&seq);
}

lethe_status
krb_decode_encryption_key(lethe_arena *a, const uint8_t *data, size_t len,
			  krb_encryption_key *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_encryption_key(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_encryption_key(der_writer *w, const krb_encryption_key *in)
{
	size_t m = der_mark(w);

	krbi_put_ctx_octets(w, 1, in->keyvalue);
	der_put_ctx_int64(w, 0, in->keytype);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* -------------------------------------------------------- EncryptedData */

lethe_status
krb_read_enc_data(der_reader *r, lethe_arena *a, krb_enc_data *out)
{
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->etype));
	out->kvno = 0;
	GUARD(krbi_ctx_u32_opt(&seq, 1, &out->kvno, &out->has_kvno));
	GUARD(der_ctx_octets(&seq, 2, &out->cipher));
	return der_finish(&seq);
}

lethe_status
krb_decode_enc_data(lethe_arena *a, const uint8_t *data, size_t len, krb_enc_data *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_enc_data(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_enc_data(der_writer *w, const krb_enc_data *in)
{
	size_t m = der_mark(w);

	krbi_put_ctx_octets(w, 2, in->cipher);
	if (in->has_kvno)
		der_put_ctx_uint32(w, 1, in->kvno);
	der_put_ctx_int64(w, 0, in->etype);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ------------------------------------------------------------- Checksum */

lethe_status
krb_read_checksum(der_reader *r, lethe_arena *a, krb_checksum *out)
{
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->cksumtype));
	GUARD(der_ctx_octets(&seq, 1, &out->checksum));
	return der_finish(&seq);
}

lethe_status
krb_decode_checksum(lethe_arena *a, const uint8_t *data, size_t len, krb_checksum *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_checksum(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_checksum(der_writer *w, const krb_checksum *in)
{
	size_t m = der_mark(w);

	krbi_put_ctx_octets(w, 1, in->checksum);
	der_put_ctx_int64(w, 0, in->cksumtype);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ---------------------------------------------------- AuthorizationData */

static lethe_status
read_ad_entry(der_reader *r, lethe_arena *a, void *elem)
{
	krb_ad_entry *out = elem;
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->ad_type));
	GUARD(der_ctx_octets(&seq, 1, &out->ad_data));
	return der_finish(&seq);
}

lethe_status
krb_read_authdata(der_reader *r, lethe_arena *a, krb_authdata *out)
{
	void *items;

	GUARD(krbi_read_seq_of(r, a, KRB_MAX_AUTHDATA, sizeof(krb_ad_entry), read_ad_entry,
			       &items, &out->count));
	out->items = items;
	return LETHE_OK;
}

lethe_status
krb_decode_authdata(lethe_arena *a, const uint8_t *data, size_t len, krb_authdata *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_authdata(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_authdata(der_writer *w, const krb_authdata *in)
{
	size_t m = der_mark(w);

	if (in->count != 0 && in->items == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->count; i-- > 0;) {
		size_t me = der_mark(w);
		krbi_put_ctx_octets(w, 1, in->items[i].ad_data);
		der_put_ctx_int64(w, 0, in->items[i].ad_type);
		der_wrap(w, me, DER_SEQUENCE);
	}
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ---------------------------------------------------- TransitedEncoding */

lethe_status
krb_read_transited(der_reader *r, lethe_arena *a, krb_transited *out)
{
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->tr_type));
	GUARD(der_ctx_octets(&seq, 1, &out->contents));
	return der_finish(&seq);
}

lethe_status
krb_decode_transited(lethe_arena *a, const uint8_t *data, size_t len, krb_transited *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_transited(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_transited(der_writer *w, const krb_transited *in)
{
	size_t m = der_mark(w);

	krbi_put_ctx_octets(w, 1, in->contents);
	der_put_ctx_int64(w, 0, in->tr_type);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* -------------------------------------------------------------- LastReq */

static lethe_status
read_last_req_entry(der_reader *r, lethe_arena *a, void *elem)
{
	krb_last_req_entry *out = elem;
	der_reader seq;

	(void)a;
	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->lr_type));
	GUARD(der_ctx_gtime(&seq, 1, &out->lr_value));
	return der_finish(&seq);
}

lethe_status
krb_read_last_req(der_reader *r, lethe_arena *a, krb_last_req *out)
{
	void *items;

	GUARD(krbi_read_seq_of(r, a, KRB_MAX_LAST_REQ, sizeof(krb_last_req_entry),
			       read_last_req_entry, &items, &out->count));
	out->items = items;
	return LETHE_OK;
}

lethe_status
krb_decode_last_req(lethe_arena *a, const uint8_t *data, size_t len, krb_last_req *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_last_req(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_last_req(der_writer *w, const krb_last_req *in)
{
	size_t m = der_mark(w);

	if (in->count != 0 && in->items == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->count; i-- > 0;) {
		size_t me = der_mark(w);
		der_put_ctx_gtime(w, 1, in->items[i].lr_value);
		der_put_ctx_int64(w, 0, in->items[i].lr_type);
		der_wrap(w, me, DER_SEQUENCE);
	}
	return der_wrap(w, m, DER_SEQUENCE);
}
