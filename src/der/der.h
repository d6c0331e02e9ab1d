/*
 * Bounded DER reader and writer.
 *
 * Reader: a der_reader is a cursor over bytes it does not own. Every read
 * checks the tag, the length and the value against the bytes that remain;
 * on error the cursor is left unchanged. Only definite, minimal lengths are
 * accepted, and nesting deeper than DER_MAX_DEPTH is refused.
 *
 * Writer: a der_writer fills its buffer from the END towards the start, so
 * a length is always known when its header is written and no value is ever
 * moved once written. Encode a SEQUENCE by writing its fields LAST FIRST:
 *
 *	size_t m = der_mark(w);
 *	der_put_int64(w, 5);            // field [1], written first
 *	der_wrap(w, m1, DER_CTX(1));    // ... each field wrapped in its tag
 *	der_wrap(w, m, DER_SEQUENCE);   // then the SEQUENCE header
 *
 * Errors are sticky: after the first failure every writer call returns the
 * same status and writes nothing, so a caller may check only at the end.
 */
#ifndef LETHE_DER_DER_H
#define LETHE_DER_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"

/* Tags: class and constructed bits in the top byte, tag number below. */
#define DER_CLASS_UNIVERSAL   0x00000000u
#define DER_CLASS_APPLICATION 0x40000000u
#define DER_CLASS_CONTEXT     0x80000000u
#define DER_CLASS_PRIVATE     0xc0000000u
#define DER_CONSTRUCTED       0x20000000u
#define DER_TAG_NUMBER_MASK   0x1fffffffu
#define DER_TAG_CLASS_MASK    0xc0000000u

#define DER_BOOLEAN          0x01u
#define DER_INTEGER          0x02u
#define DER_BIT_STRING       0x03u
#define DER_OCTET_STRING     0x04u
#define DER_NULL             0x05u
#define DER_OID              0x06u
#define DER_ENUMERATED       0x0au
#define DER_UTF8_STRING      0x0cu
#define DER_IA5_STRING       0x16u
#define DER_GENERALIZED_TIME 0x18u
#define DER_GENERAL_STRING   0x1bu
#define DER_SEQUENCE         (0x10u | DER_CONSTRUCTED)
#define DER_SET              (0x11u | DER_CONSTRUCTED)

/* Explicit context tag [n] and application tag [APPLICATION n], constructed. */
#define DER_CTX(n) (DER_CLASS_CONTEXT | DER_CONSTRUCTED | (uint32_t)(n))
#define DER_APP(n) (DER_CLASS_APPLICATION | DER_CONSTRUCTED | (uint32_t)(n))
/* Implicit primitive context tag [n]. */
#define DER_CTX_PRIM(n) (DER_CLASS_CONTEXT | (uint32_t)(n))

#define DER_MAX_DEPTH 32u            /* constructed nesting bound */
#define DER_MAX_LENGTH 0x7fffffffu   /* no single element is larger */

/* ------------------------------------------------------------------ reader */

typedef struct der_reader {
	const uint8_t *data;
	size_t len;
	unsigned depth;       /* nesting level of the element this cursor is inside */
} der_reader;

/* Start a cursor over data[0..len) at depth 0. data is borrowed. */
void der_reader_init(der_reader *r, const uint8_t *data, size_t len);

/* Bytes not yet consumed. */
size_t der_remaining(const der_reader *r);

/* The unconsumed bytes as a view. */
lbytes der_rest(const der_reader *r);

/* True when every byte has been consumed. */
bool der_at_end(const der_reader *r);

/* LETHE_OK if nothing remains, else LETHE_ERR_DER_TRAILING. */
lethe_status der_finish(const der_reader *r);

/* Tag of the next element without consuming it (parses the header fully). */
lethe_status der_peek_tag(const der_reader *r, uint32_t *tag);

/* True when a well-formed next element exists and carries tag. */
bool der_next_is(const der_reader *r, uint32_t tag);

/*
 * Consume the next element, which must carry tag. *contents becomes a cursor
 * over its value, one level deeper (LETHE_ERR_DER_DEPTH past DER_MAX_DEPTH).
 */
lethe_status der_read(der_reader *r, uint32_t tag, der_reader *contents);

/*
 * Consume the next element whatever its tag. tag, contents and whole may be
 * NULL; *whole is the complete encoding (header and value), which callers
 * need for checksums computed over bytes as received.
 */
lethe_status der_read_any(der_reader *r, uint32_t *tag, der_reader *contents,
			  lbytes *whole);

/* Like der_read when the next element has tag; else *present = false, no error. */
lethe_status der_read_optional(der_reader *r, uint32_t tag, der_reader *contents,
			       bool *present);

/* Universal values. Each consumes one element of its type. */
lethe_status der_read_int64(der_reader *r, int64_t *out);
lethe_status der_read_int32(der_reader *r, int32_t *out);
lethe_status der_read_uint32(der_reader *r, uint32_t *out);
lethe_status der_read_bool(der_reader *r, bool *out);
lethe_status der_read_octets(der_reader *r, lbytes *out);
lethe_status der_read_gstring(der_reader *r, lbytes *out);   /* GeneralString */
lethe_status der_read_oid(der_reader *r, lbytes *out);       /* contents only */
/* GeneralizedTime "YYYYMMDDHHMMSSZ" exactly (KerberosTime) -> seconds since 1970. */
lethe_status der_read_gtime(der_reader *r, int64_t *out);
/*
 * BIT STRING as KerberosFlags: bit 0 is the most significant bit of *out.
 * Accepts 0..32+ bits (bits past 31 are ignored), as real peers differ.
 */
lethe_status der_read_bits32(der_reader *r, uint32_t *out);

/*
 * Explicitly tagged fields: consume [n] { value } and require the [n]
 * wrapper to hold nothing else. The _opt forms set *present and leave the
 * output untouched when the next element is not [n].
 */
lethe_status der_ctx(der_reader *r, unsigned n, der_reader *inner);
lethe_status der_ctx_opt(der_reader *r, unsigned n, der_reader *inner, bool *present);
lethe_status der_ctx_int32(der_reader *r, unsigned n, int32_t *out);
lethe_status der_ctx_uint32(der_reader *r, unsigned n, uint32_t *out);
lethe_status der_ctx_int64(der_reader *r, unsigned n, int64_t *out);
lethe_status der_ctx_octets(der_reader *r, unsigned n, lbytes *out);
lethe_status der_ctx_gstring(der_reader *r, unsigned n, lbytes *out);
lethe_status der_ctx_gtime(der_reader *r, unsigned n, int64_t *out);
lethe_status der_ctx_bits32(der_reader *r, unsigned n, uint32_t *out);
lethe_status der_ctx_int32_opt(der_reader *r, unsigned n, int32_t *out, bool *present);
lethe_status der_ctx_uint32_opt(der_reader *r, unsigned n, uint32_t *out, bool *present);
lethe_status der_ctx_octets_opt(der_reader *r, unsigned n, lbytes *out, bool *present);
lethe_status der_ctx_gstring_opt(der_reader *r, unsigned n, lbytes *out, bool *present);
lethe_status der_ctx_gtime_opt(der_reader *r, unsigned n, int64_t *out, bool *present);

/* ------------------------------------------------------------------ writer */

typedef struct der_writer {
	uint8_t *buf;         /* heap buffer; data occupies buf[start..cap) */
	size_t cap;
	size_t start;
	size_t max;           /* refuse to grow beyond this many bytes */
	lethe_status err;     /* sticky first error */
} der_writer;

/* Prepare an empty writer; at most max bytes. Allocation happens on first write. */
void der_writer_init(der_writer *w, size_t max);

/* Wipe and free the buffer (encodings may hold key material). */
void der_writer_free(der_writer *w);

/* Forget the content but keep the buffer, for reuse. Content is wiped. */
void der_writer_reset(der_writer *w);

/* Number of bytes written so far; pass to der_wrap to close an element. */
size_t der_mark(const der_writer *w);

/* View of everything written (valid until the next writer call). */
lbytes der_written(const der_writer *w);

/* The sticky status: LETHE_OK if every write so far succeeded. */
lethe_status der_writer_status(const der_writer *w);

/* Record rc as the sticky error unless one is already set; return the sticky error. */
lethe_status der_writer_fail(der_writer *w, lethe_status rc);

/*
 * Hand the encoding over to the caller: *out is a fresh heap copy the caller
 * frees, *out_len its length. The writer is left empty.
 */
lethe_status der_writer_take(der_writer *w, uint8_t **out, size_t *out_len);

/* Prepend raw bytes (an already encoded element, for example). */
lethe_status der_put_raw(der_writer *w, const void *data, size_t len);

/* Prepend the header (tag, length) of an element whose contents are everything written since mark. */
lethe_status der_wrap(der_writer *w, size_t mark, uint32_t tag);

/* Prepend one complete element of a universal type. */
lethe_status der_put_int64(der_writer *w, int64_t v);
lethe_status der_put_uint32(der_writer *w, uint32_t v);
lethe_status der_put_bool(der_writer *w, bool v);
lethe_status der_put_octets(der_writer *w, const void *data, size_t len);
lethe_status der_put_gstring(der_writer *w, const void *data, size_t len);
lethe_status der_put_gtime(der_writer *w, int64_t unix_time);
lethe_status der_put_bits32(der_writer *w, uint32_t flags);   /* 32 bits, 0 unused */

/* Prepend [n] { value } for each universal type above. */
lethe_status der_put_ctx_int64(der_writer *w, unsigned n, int64_t v);
lethe_status der_put_ctx_uint32(der_writer *w, unsigned n, uint32_t v);
lethe_status der_put_ctx_octets(der_writer *w, unsigned n, const void *data, size_t len);
lethe_status der_put_ctx_gstring(der_writer *w, unsigned n, const void *data, size_t len);
lethe_status der_put_ctx_gtime(der_writer *w, unsigned n, int64_t unix_time);
lethe_status der_put_ctx_bits32(der_writer *w, unsigned n, uint32_t flags);

#endif
