/*
 * DER reader fuzz target. Walks any element tree the reader accepts, tries
 * every typed reader on each primitive, and re-encodes the tree with the
 * writer: since the reader accepts only minimal DER, the re-encoding must
 * equal the input byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "der/der.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_typed_readers(const der_reader *element)
{
	der_reader r;
	int64_t i64;
	int32_t i32;
	uint32_t u32;
	bool b;
	lbytes s;

	r = *element; (void)der_read_int64(&r, &i64);
	r = *element; (void)der_read_int32(&r, &i32);
	r = *element; (void)der_read_uint32(&r, &u32);
	r = *element; (void)der_read_bool(&r, &b);
	r = *element; (void)der_read_octets(&r, &s);
	r = *element; (void)der_read_gstring(&r, &s);
	r = *element; (void)der_read_oid(&r, &s);
	r = *element; (void)der_read_bits32(&r, &u32);
	r = *element;
	if (der_read_gtime(&r, &i64) == LETHE_OK) {
		der_writer w;
		der_reader back;
		int64_t again;
		der_writer_init(&w, 64);
		if (der_put_gtime(&w, i64) != LETHE_OK)
			abort();
		lbytes enc = der_written(&w);
		der_reader_init(&back, enc.data, enc.len);
		if (der_read_gtime(&back, &again) != LETHE_OK || again != i64)
			abort();
		der_writer_free(&w);
	}
}

/* Re-encode every element of r (in reverse, as the writer wants) into w. */
static lethe_status
reencode(der_reader r, der_writer *w)
{
	uint32_t tags[64];
	der_reader contents[64];
	size_t n = 0;

	while (!der_at_end(&r)) {
		der_reader element = r;
		if (n == 64)
			return LETHE_ERR_TOO_BIG;
		GUARD(der_read_any(&r, &tags[n], &contents[n], NULL));
		if (!(tags[n] & DER_CONSTRUCTED))
			try_typed_readers(&element);
		n++;
	}
	while (n-- > 0) {
		size_t mark = der_mark(w);
		if (tags[n] & DER_CONSTRUCTED)
			GUARD(reencode(contents[n], w));
		else
			GUARD(der_put_raw(w, contents[n].data, contents[n].len));
		GUARD(der_wrap(w, mark, tags[n]));
	}
	return LETHE_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	der_reader r;
	der_writer w;

	der_reader_init(&r, data, size);
	der_writer_init(&w, size + 16);
	if (reencode(r, &w) == LETHE_OK) {
		lbytes out = der_written(&w);
		if (out.len != size || (size && memcmp(out.data, data, size) != 0))
			abort();
	}
	der_writer_free(&w);
	return 0;
}
