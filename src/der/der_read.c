/* Bounded DER reader: every read is checked against the bytes that remain. */
#include "der/der.h"

#include <string.h>

void
der_reader_init(der_reader *r, const uint8_t *data, size_t len)
{
	r->data = len ? data : NULL;
	r->len = len;
	r->depth = 0;
}

size_t
der_remaining(const der_reader *r)
{
	return r->len;
}

lbytes
der_rest(const der_reader *r)
{
	return lbytes_make(r->data, r->len);
}

bool
der_at_end(const der_reader *r)
{
	return r->len == 0;
}

lethe_status
der_finish(const der_reader *r)
{
	return r->len == 0 ? LETHE_OK : LETHE_ERR_DER_TRAILING;
}

/* One parsed element header: where its value starts and how long it is. */
typedef struct der_header {
	uint32_t tag;
	size_t header_len;
	size_t value_len;
} der_header;

/* Tag number in high-tag-number form, minimal, at most 29 bits. */
static lethe_status
parse_high_tag(const der_reader *r, size_t *pos, uint32_t *number)
{
	uint32_t n = 0;

	for (unsigned i = 0;; i++) {
		ENSURE(*pos < r->len, LETHE_ERR_DER_TRUNCATED);
		uint8_t b = r->data[(*pos)++];
		ENSURE(!(i == 0 && b == 0x80), LETHE_ERR_DER_TAG); /* leading zero */
		ENSURE(n <= (DER_TAG_NUMBER_MASK >> 7), LETHE_ERR_DER_TAG);
		n = (n << 7) | (b & 0x7fu);
		if ((b & 0x80u) == 0)
			break;
	}
	ENSURE(n >= 31, LETHE_ERR_DER_TAG); /* low numbers must use the short form */
	*number = n;
	return LETHE_OK;
}

/* Definite length, minimal form, at most 4 length octets. */
static lethe_status
parse_length(const der_reader *r, size_t *pos, size_t *len)
{
	ENSURE(*pos < r->len, LETHE_ERR_DER_TRUNCATED);
	uint8_t first = r->data[(*pos)++];
	if ((first & 0x80u) == 0) {
		*len = first;
		return LETHE_OK;
	}
	unsigned count = first & 0x7fu;
	ENSURE(count != 0, LETHE_ERR_DER_LENGTH);       /* indefinite form */
	ENSURE(count <= 4, LETHE_ERR_DER_LENGTH);
	ENSURE(r->len - *pos >= count, LETHE_ERR_DER_TRUNCATED);
	ENSURE(r->data[*pos] != 0, LETHE_ERR_DER_LENGTH); /* leading zero octet */
	uint32_t v = 0;
	for (unsigned i = 0; i < count; i++)
		v = (v << 8) | r->data[(*pos)++];
	ENSURE(v >= 128, LETHE_ERR_DER_LENGTH);           /* short form was due */
	ENSURE(v <= DER_MAX_LENGTH, LETHE_ERR_DER_LENGTH);
	*len = v;
	return LETHE_OK;
}

static lethe_status
parse_header(const der_reader *r, der_header *h)
{
	size_t pos = 0;

	ENSURE(r->len > 0, LETHE_ERR_DER_TRUNCATED);
	uint8_t b = r->data[pos++];
	uint32_t number = b & 0x1fu;
	if (number == 0x1f)
		GUARD(parse_high_tag(r, &pos, &number));
	h->tag = ((uint32_t)(b & 0xe0u) << 24) | number;
	GUARD(parse_length(r, &pos, &h->value_len));
	ENSURE(r->len - pos >= h->value_len, LETHE_ERR_DER_TRUNCATED);
	h->header_len = pos;
	return LETHE_OK;
}

lethe_status
der_peek_tag(const der_reader *r, uint32_t *tag)
{
	der_header h;

	GUARD(parse_header(r, &h));
	*tag = h.tag;
	return LETHE_OK;
}

bool
der_next_is(const der_reader *r, uint32_t tag)
{
	der_header h;

	return parse_header(r, &h) == LETHE_OK && h.tag == tag;
}

lethe_status
der_read_any(der_reader *r, uint32_t *tag, der_reader *contents, lbytes *whole)
{
	der_header h;

	GUARD(parse_header(r, &h));
	if (h.tag & DER_CONSTRUCTED)
		ENSURE(r->depth < DER_MAX_DEPTH, LETHE_ERR_DER_DEPTH);
	size_t total = h.header_len + h.value_len;
	if (tag != NULL)
		*tag = h.tag;
	if (contents != NULL) {
		der_reader_init(contents, r->data + h.header_len, h.value_len);
		contents->depth = r->depth + 1;
	}
	if (whole != NULL)
		*whole = lbytes_make(r->data, total);
	r->data = total == r->len ? NULL : r->data + total;
	r->len -= total;
	return LETHE_OK;
}

lethe_status
der_read(der_reader *r, uint32_t tag, der_reader *contents)
{
	der_header h;

	GUARD(parse_header(r, &h));
	ENSURE(h.tag == tag, LETHE_ERR_DER_TAG);
	return der_read_any(r, NULL, contents, NULL);
}

lethe_status
der_read_optional(der_reader *r, uint32_t tag, der_reader *contents, bool *present)
{
	*present = false;
	if (r->len == 0 || !der_next_is(r, tag))
		return LETHE_OK;
	GUARD(der_read(r, tag, contents));
	*present = true;
	return LETHE_OK;
}

/*
 * Read a primitive element with the given tag; *value views its contents.
 * On error r is unchanged.
 */
static lethe_status
read_primitive(der_reader *r, uint32_t tag, der_reader *value)
{
	return der_read(r, tag, value);
}

/* Two's-complement INTEGER contents, minimal, at most 8 octets. */
static lethe_status
integer_value(const der_reader *v, int64_t *out)
{
	ENSURE(v->len >= 1, LETHE_ERR_DER_VALUE);
	ENSURE(v->len <= 8, LETHE_ERR_DER_VALUE);
	if (v->len >= 2) {
		uint8_t b0 = v->data[0], b1 = v->data[1];
		ENSURE(!(b0 == 0x00 && (b1 & 0x80u) == 0), LETHE_ERR_DER_VALUE);
		ENSURE(!(b0 == 0xff && (b1 & 0x80u) != 0), LETHE_ERR_DER_VALUE);
	}
	uint64_t u = (v->data[0] & 0x80u) ? UINT64_MAX : 0;
	for (size_t i = 0; i < v->len; i++)
		u = (u << 8) | v->data[i];
	memcpy(out, &u, sizeof(*out));   /* two's complement, no UB */
	return LETHE_OK;
}

/* Apply a read that may fail after the element was consumed: restore r. */
#define READ_VALUE(r, tag, body)                                          \
	do {                                                              \
		der_reader saved_ = *(r), value_;                         \
		lethe_status rc_ = read_primitive((r), (tag), &value_);   \
		if (rc_ == LETHE_OK)                                      \
			rc_ = (body);                                     \
		if (rc_ != LETHE_OK)                                      \
			*(r) = saved_;                                    \
		return rc_;                                               \
	} while (0)

static lethe_status
int64_in_range(const der_reader *v, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t x;

	GUARD(integer_value(v, &x));
	ENSURE(x >= lo && x <= hi, LETHE_ERR_DER_VALUE);
	*out = x;
	return LETHE_OK;
}

lethe_status
der_read_int64(der_reader *r, int64_t *out)
{
	READ_VALUE(r, DER_INTEGER, integer_value(&value_, out));
}

static lethe_status
int32_value(const der_reader *v, int32_t *out)
{
	int64_t x;

	GUARD(int64_in_range(v, INT32_MIN, INT32_MAX, &x));
	*out = (int32_t)x;
	return LETHE_OK;
}

lethe_status
der_read_int32(der_reader *r, int32_t *out)
{
	READ_VALUE(r, DER_INTEGER, int32_value(&value_, out));
}

static lethe_status
uint32_value(const der_reader *v, uint32_t *out)
{
	int64_t x;

	GUARD(int64_in_range(v, 0, UINT32_MAX, &x));
	*out = (uint32_t)x;
	return LETHE_OK;
}

lethe_status
der_read_uint32(der_reader *r, uint32_t *out)
{
	READ_VALUE(r, DER_INTEGER, uint32_value(&value_, out));
}

static lethe_status
bool_value(const der_reader *v, bool *out)
{
	ENSURE(v->len == 1, LETHE_ERR_DER_VALUE);
	ENSURE(v->data[0] == 0x00 || v->data[0] == 0xff, LETHE_ERR_DER_VALUE);
	*out = v->data[0] == 0xff;
	return LETHE_OK;
}

lethe_status
der_read_bool(der_reader *r, bool *out)
{
	READ_VALUE(r, DER_BOOLEAN, bool_value(&value_, out));
}

static lethe_status
view_value(const der_reader *v, lbytes *out)
{
	*out = der_rest(v);
	return LETHE_OK;
}

lethe_status
der_read_octets(der_reader *r, lbytes *out)
{
	READ_VALUE(r, DER_OCTET_STRING, view_value(&value_, out));
}

lethe_status
der_read_gstring(der_reader *r, lbytes *out)
{
	READ_VALUE(r, DER_GENERAL_STRING, view_value(&value_, out));
}

static lethe_status
oid_value(const der_reader *v, lbytes *out)
{
	ENSURE(v->len >= 1, LETHE_ERR_DER_VALUE);
	ENSURE((v->data[v->len - 1] & 0x80u) == 0, LETHE_ERR_DER_VALUE);
	for (size_t i = 0; i < v->len; i++) {
		bool starts_arc = i == 0 || (v->data[i - 1] & 0x80u) == 0;
		ENSURE(!(starts_arc && v->data[i] == 0x80), LETHE_ERR_DER_VALUE);
	}
	*out = der_rest(v);
	return LETHE_OK;
}

lethe_status
der_read_oid(der_reader *r, lbytes *out)
{
	READ_VALUE(r, DER_OID, oid_value(&value_, out));
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static lethe_status
digits(const uint8_t *p, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		ENSURE(p[i] >= '0' && p[i] <= '9', LETHE_ERR_DER_VALUE);
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return LETHE_OK;
}

static lethe_status
gtime_value(const der_reader *v, int64_t *out)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned year, mon, day, hour, min, sec;
	const uint8_t *p = v->data;

	ENSURE(v->len == 15 && p[14] == 'Z', LETHE_ERR_DER_VALUE);
	GUARD(digits(p, 4, &year));
	GUARD(digits(p + 4, 2, &mon));
	GUARD(digits(p + 6, 2, &day));
	GUARD(digits(p + 8, 2, &hour));
	GUARD(digits(p + 10, 2, &min));
	GUARD(digits(p + 12, 2, &sec));
	ENSURE(mon >= 1 && mon <= 12, LETHE_ERR_DER_VALUE);
	unsigned dim = mdays[mon - 1] + (mon == 2 && is_leap(year));
	ENSURE(day >= 1 && day <= dim, LETHE_ERR_DER_VALUE);
	ENSURE(hour <= 23 && min <= 59 && sec <= 59, LETHE_ERR_DER_VALUE);
	*out = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
	return LETHE_OK;
}

lethe_status
der_read_gtime(der_reader *r, int64_t *out)
{
	READ_VALUE(r, DER_GENERALIZED_TIME, gtime_value(&value_, out));
}

static lethe_status
bits32_value(const der_reader *v, uint32_t *out)
{
	ENSURE(v->len >= 1, LETHE_ERR_DER_VALUE);
	uint8_t unused = v->data[0];
	ENSURE(unused <= 7, LETHE_ERR_DER_VALUE);
	ENSURE(!(v->len == 1 && unused != 0), LETHE_ERR_DER_VALUE);
	uint32_t flags = 0;
	for (size_t i = 1; i < v->len && i <= 4; i++)
		flags |= (uint32_t)v->data[i] << (8 * (4 - i));
	if (v->len <= 5 && unused != 0)
		flags &= ~(uint32_t)0 << (8 * (5 - v->len) + unused);
	*out = flags;
	return LETHE_OK;
}

lethe_status
der_read_bits32(der_reader *r, uint32_t *out)
{
	READ_VALUE(r, DER_BIT_STRING, bits32_value(&value_, out));
}

/* ------------------------------------------------ explicitly tagged fields */

lethe_status
der_ctx(der_reader *r, unsigned n, der_reader *inner)
{
	return der_read(r, DER_CTX(n), inner);
}

lethe_status
der_ctx_opt(der_reader *r, unsigned n, der_reader *inner, bool *present)
{
	return der_read_optional(r, DER_CTX(n), inner, present);
}

/*
 * [n] { value }: read the wrapper, then one value with read_fn, then require
 * the wrapper to be exhausted. r is unchanged on error.
 */
#define CTX_FIELD(fn_name, out_type, read_fn)                             \
	lethe_status fn_name(der_reader *r, unsigned n, out_type *out)    \
	{                                                                 \
		der_reader saved = *r, inner;                             \
		out_type value;                                           \
		lethe_status rc = der_ctx(r, n, &inner);                  \
		if (rc == LETHE_OK)                                       \
			rc = read_fn(&inner, &value);                     \
		if (rc == LETHE_OK)                                       \
			rc = der_finish(&inner);                          \
		if (rc != LETHE_OK) {                                     \
			*r = saved;                                       \
			return rc;                                        \
		}                                                         \
		*out = value;                                             \
		return LETHE_OK;                                          \
	}

#define CTX_FIELD_OPT(fn_name, out_type, ctx_fn)                          \
	lethe_status fn_name(der_reader *r, unsigned n, out_type *out,    \
			     bool *present)                               \
	{                                                                 \
		*present = false;                                         \
		if (r->len == 0 || !der_next_is(r, DER_CTX(n)))           \
			return LETHE_OK;                                  \
		GUARD(ctx_fn(r, n, out));                                 \
		*present = true;                                          \
		return LETHE_OK;                                          \
	}

CTX_FIELD(der_ctx_int32, int32_t, der_read_int32)
CTX_FIELD(der_ctx_uint32, uint32_t, der_read_uint32)
CTX_FIELD(der_ctx_int64, int64_t, der_read_int64)
CTX_FIELD(der_ctx_octets, lbytes, der_read_octets)
CTX_FIELD(der_ctx_gstring, lbytes, der_read_gstring)
CTX_FIELD(der_ctx_gtime, int64_t, der_read_gtime)
CTX_FIELD(der_ctx_bits32, uint32_t, der_read_bits32)

CTX_FIELD_OPT(der_ctx_int32_opt, int32_t, der_ctx_int32)
CTX_FIELD_OPT(der_ctx_uint32_opt, uint32_t, der_ctx_uint32)
CTX_FIELD_OPT(der_ctx_octets_opt, lbytes, der_ctx_octets)
CTX_FIELD_OPT(der_ctx_gstring_opt, lbytes, der_ctx_gstring)
CTX_FIELD_OPT(der_ctx_gtime_opt, int64_t, der_ctx_gtime)
