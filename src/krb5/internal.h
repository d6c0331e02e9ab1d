/* Helpers shared by the src/krb5 codec files; not part of the public API. */
#ifndef LETHE_KRB5_INTERNAL_H
#define LETHE_KRB5_INTERNAL_H

#include "krb5/krb5.h"

/* Reads one element of a SEQUENCE OF into *elem (a typed struct). */
typedef lethe_status (*krbi_reader)(der_reader *r, lethe_arena *a, void *elem);

/*
 * Read SEQUENCE OF from r: count its elements (LETHE_ERR_TOO_BIG past cap),
 * allocate exactly that many of elem_size from a, read each with fn.
 * *items is NULL when the sequence is empty.
 */
lethe_status krbi_read_seq_of(der_reader *r, lethe_arena *a, size_t cap, size_t elem_size,
			      krbi_reader fn, void **items, size_t *count);

/* Read [n] { element } with fn; the _opt form sets *present instead of failing. */
lethe_status krbi_ctx_read(der_reader *r, unsigned n, lethe_arena *a, krbi_reader fn,
			   void *out);
lethe_status krbi_ctx_read_opt(der_reader *r, unsigned n, lethe_arena *a, krbi_reader fn,
			       void *out, bool *present);

/*
 * Read [APPLICATION app] { SEQUENCE { ... } } and return a cursor over the
 * SEQUENCE; *raw (if raw is not NULL) receives the complete encoding.
 */
lethe_status krbi_open_app(der_reader *r, uint32_t app, der_reader *seq, lbytes *raw);

/* [n] INTEGER that must equal expect (pvno, msg-type): LETHE_ERR_DER_VALUE otherwise. */
lethe_status krbi_ctx_expect(der_reader *r, unsigned n, int64_t expect);

/* [n] UInt32 accepted from INT32_MIN to UINT32_MAX (negatives wrap). */
lethe_status krbi_ctx_u32(der_reader *r, unsigned n, uint32_t *out);
lethe_status krbi_ctx_u32_opt(der_reader *r, unsigned n, uint32_t *out, bool *present);

/* [n] Microseconds (0..999999). */
lethe_status krbi_ctx_usec(der_reader *r, unsigned n, int32_t *out);
lethe_status krbi_ctx_usec_opt(der_reader *r, unsigned n, int32_t *out, bool *present);

/* [n] KerberosFlags. */
lethe_status krbi_ctx_flags(der_reader *r, unsigned n, uint32_t *out);

/* Record rc as w's sticky error (unless one is already there) and return it. */

/* Prepend [n] OCTET STRING / [n] GeneralString holding b (b.data may be NULL if empty). */
lethe_status krbi_put_ctx_octets(der_writer *w, unsigned n, lbytes b);
lethe_status krbi_put_ctx_string(der_writer *w, unsigned n, lbytes b);

/* Prepend [n] INTEGER with v as MIT encodes a nonce: a signed 32-bit value. */
lethe_status krbi_put_ctx_nonce(der_writer *w, unsigned n, uint32_t v);

/* Wrap everything written since mark in [n]. */
static inline lethe_status
krbi_wrap_ctx(der_writer *w, size_t mark, unsigned n)
{
	return der_wrap(w, mark, DER_CTX(n));
}

/* Adapters from krbi_reader to the typed readers. */
static inline lethe_status
krbi_rd_principal(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_principal_name(r, a, out);
}

static inline lethe_status
krbi_rd_host_address(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_host_address(r, a, out);
}

static inline lethe_status
krbi_rd_host_addresses(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_host_addresses(r, a, out);
}

static inline lethe_status
krbi_rd_encryption_key(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_encryption_key(r, a, out);
}

static inline lethe_status
krbi_rd_enc_data(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_enc_data(r, a, out);
}

static inline lethe_status
krbi_rd_checksum(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_checksum(r, a, out);
}

static inline lethe_status
krbi_rd_authdata(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_authdata(r, a, out);
}

static inline lethe_status
krbi_rd_transited(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_transited(r, a, out);
}

static inline lethe_status
krbi_rd_last_req(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_last_req(r, a, out);
}

static inline lethe_status
krbi_rd_method_data(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_method_data(r, a, out);
}

static inline lethe_status
krbi_rd_ticket(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_ticket(r, a, out);
}

static inline lethe_status
krbi_rd_kdc_req_body(der_reader *r, lethe_arena *a, void *out)
{
	return krb_read_kdc_req_body(r, a, out);
}

#endif
