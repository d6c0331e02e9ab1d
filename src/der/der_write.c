/* DER writer that fills its buffer from the end: headers follow contents. */
#include "base/wipe.h"
#include "der/der.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define DER_WRITER_MIN_CAP 256u

void
der_writer_init(der_writer *w, size_t max)
{
	w->buf = NULL;
	w->cap = 0;
	w->start = 0;
	w->max = max;
	w->err = LETHE_OK;
}

void
der_writer_free(der_writer *w)
{
	if (w->buf != NULL) {
		lethe_wipe(w->buf, w->cap);
		free(w->buf);
	}
	der_writer_init(w, w->max);
}

void
der_writer_reset(der_writer *w)
{
	if (w->buf != NULL)
		lethe_wipe(w->buf + w->start, w->cap - w->start);
	w->start = w->cap;
	w->err = LETHE_OK;
}

size_t
der_mark(const der_writer *w)
{
	return w->cap - w->start;
}

lbytes
der_written(const der_writer *w)
{
	if (w->buf == NULL)
		return lbytes_make(NULL, 0);
	return lbytes_make(w->buf + w->start, w->cap - w->start);
}

lethe_status
der_writer_status(const der_writer *w)
{
	return w->err;
}

lethe_status
der_writer_fail(der_writer *w, lethe_status rc)
{
	if (w->err == LETHE_OK)
		w->err = rc;
	return w->err;
}

/*
 * Make room for n more bytes in front of the content. Growing moves the
 * content once to the end of a larger buffer; the old buffer is wiped.
 */
static lethe_status
reserve(der_writer *w, size_t n)
{
	size_t used = der_mark(w);

	if (w->err != LETHE_OK)
		return w->err;
	if (w->start >= n)
		return LETHE_OK;
	if (n > w->max || used > w->max - n)
		return der_writer_fail(w, LETHE_ERR_TOO_BIG);
	size_t need = used + n;
	size_t ncap = w->cap < DER_WRITER_MIN_CAP ? DER_WRITER_MIN_CAP : w->cap;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > w->max)
		ncap = w->max;
	uint8_t *nbuf = malloc(ncap);
	if (nbuf == NULL)
		return der_writer_fail(w, LETHE_ERR_NOMEM);
	if (used > 0)
		memcpy(nbuf + ncap - used, w->buf + w->start, used);
	if (w->buf != NULL) {
		lethe_wipe(w->buf, w->cap);
		free(w->buf);
	}
	w->buf = nbuf;
	w->cap = ncap;
	w->start = ncap - used;
	return LETHE_OK;
}

lethe_status
der_put_raw(der_writer *w, const void *data, size_t len)
{
	GUARD(reserve(w, len));
	w->start -= len;
	if (len > 0)
		memcpy(w->buf + w->start, data, len);
	return LETHE_OK;
}

/* Encode the identifier octets of tag into out (at most 6 bytes); return count. */
static size_t
encode_tag(uint32_t tag, uint8_t out[6])
{
	uint8_t lead = (uint8_t)((tag >> 24) & 0xe0u);
	uint32_t number = tag & DER_TAG_NUMBER_MASK;
	size_t n = 0;

	if (number < 31) {
		out[0] = lead | (uint8_t)number;
		return 1;
	}
	uint8_t septets[5];
	size_t count = 0;
	do {
		septets[count++] = number & 0x7fu;
		number >>= 7;
	} while (number != 0);
	out[n++] = lead | 0x1fu;
	while (count > 0) {
		count--;
		out[n++] = septets[count] | (count ? 0x80u : 0);
	}
	return n;
}

lethe_status
der_wrap(der_writer *w, size_t mark, uint32_t tag)
{
	uint8_t hdr[6 + 1 + sizeof(size_t)];  /* tag, length of length, length */
	size_t hlen, content_len;

	if (w->err != LETHE_OK)
		return w->err;
	if (mark > der_mark(w))
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	content_len = der_mark(w) - mark;
	if (content_len > DER_MAX_LENGTH)
		return der_writer_fail(w, LETHE_ERR_TOO_BIG);
	hlen = encode_tag(tag, hdr);
	if (content_len < 128) {
		hdr[hlen++] = (uint8_t)content_len;
	} else {
		uint8_t be[sizeof(size_t)];
		size_t count = 0;

		for (size_t v = content_len; v != 0 && count < sizeof(be); v >>= 8)
			be[sizeof(be) - 1 - count++] = (uint8_t)v;
		hdr[hlen++] = (uint8_t)(0x80u | count);
		memcpy(hdr + hlen, be + sizeof(be) - count, count);
		hlen += count;
	}
	return der_put_raw(w, hdr, hlen);
}

/* Prepend a primitive element whose contents are data[0..len). */
static lethe_status
put_primitive(der_writer *w, uint32_t tag, const void *data, size_t len)
{
	size_t mark = der_mark(w);

	GUARD(der_put_raw(w, data, len));
	return der_wrap(w, mark, tag);
}

lethe_status
der_put_int64(der_writer *w, int64_t v)
{
	uint8_t be[8];
	uint64_t u;
	size_t skip = 0;

	memcpy(&u, &v, sizeof(u));
	for (unsigned i = 0; i < 8; i++)
		be[i] = (uint8_t)(u >> (56 - 8 * i));
	/* Drop leading octets that only repeat the sign. */
	while (skip < 7 && ((be[skip] == 0x00 && !(be[skip + 1] & 0x80u)) ||
			    (be[skip] == 0xff && (be[skip + 1] & 0x80u))))
		skip++;
	return put_primitive(w, DER_INTEGER, be + skip, 8 - skip);
}

lethe_status
der_put_uint32(der_writer *w, uint32_t v)
{
	return der_put_int64(w, (int64_t)v);
}

lethe_status
der_put_bool(der_writer *w, bool v)
{
	uint8_t b = v ? 0xff : 0x00;

	return put_primitive(w, DER_BOOLEAN, &b, 1);
}

lethe_status
der_put_octets(der_writer *w, const void *data, size_t len)
{
	return put_primitive(w, DER_OCTET_STRING, data, len);
}

lethe_status
der_put_gstring(der_writer *w, const void *data, size_t len)
{
	return put_primitive(w, DER_GENERAL_STRING, data, len);
}

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian). */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void
put_digits(uint8_t *out, unsigned value, unsigned width)
{
	while (width > 0) {
		out[--width] = (uint8_t)('0' + value % 10);
		value /= 10;
	}
}

lethe_status
der_put_gtime(der_writer *w, int64_t unix_time)
{
	uint8_t text[15];
	int64_t days, secs, year;
	unsigned mon, day;

	/* KerberosTime covers years 0000..9999 only. */
	if (unix_time < -62167219200LL || unix_time > 253402300799LL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	days = unix_time / 86400;
	secs = unix_time % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &year, &mon, &day);
	put_digits(text, (unsigned)year, 4);
	put_digits(text + 4, mon, 2);
	put_digits(text + 6, day, 2);
	put_digits(text + 8, (unsigned)(secs / 3600), 2);
	put_digits(text + 10, (unsigned)(secs / 60 % 60), 2);
	put_digits(text + 12, (unsigned)(secs % 60), 2);
	text[14] = 'Z';
	return put_primitive(w, DER_GENERALIZED_TIME, text, sizeof(text));
}

lethe_status
der_put_bits32(der_writer *w, uint32_t flags)
{
	uint8_t v[5] = { 0 };   /* no unused bits, then the 32 flag bits */

	lethe_store_be32(v + 1, flags);
	return put_primitive(w, DER_BIT_STRING, v, sizeof(v));
}

/* [n] { value } for each universal type. */
#define PUT_CTX(fn_name, params, call)                                    \
	lethe_status fn_name params                                       \
	{                                                                 \
		size_t mark = der_mark(w);                                \
		GUARD(call);                                              \
		return der_wrap(w, mark, DER_CTX(n));                     \
	}

PUT_CTX(der_put_ctx_int64, (der_writer *w, unsigned n, int64_t v), der_put_int64(w, v))
PUT_CTX(der_put_ctx_uint32, (der_writer *w, unsigned n, uint32_t v), der_put_uint32(w, v))
PUT_CTX(der_put_ctx_octets, (der_writer *w, unsigned n, const void *data, size_t len),
	der_put_octets(w, data, len))
PUT_CTX(der_put_ctx_gstring, (der_writer *w, unsigned n, const void *data, size_t len),
	der_put_gstring(w, data, len))
PUT_CTX(der_put_ctx_gtime, (der_writer *w, unsigned n, int64_t unix_time),
	der_put_gtime(w, unix_time))
PUT_CTX(der_put_ctx_bits32, (der_writer *w, unsigned n, uint32_t flags),
	der_put_bits32(w, flags))

lethe_status
der_writer_take(der_writer *w, uint8_t **out, size_t *out_len)
{
	lbytes content = der_written(w);
	uint8_t *copy;

	if (w->err != LETHE_OK)
		return w->err;
	copy = malloc(content.len ? content.len : 1);
	if (copy == NULL)
		return der_writer_fail(w, LETHE_ERR_NOMEM);
	if (content.len > 0)
		memcpy(copy, content.data, content.len);
	*out = copy;
	*out_len = content.len;
	der_writer_reset(w);
	return LETHE_OK;
}
