/* Keytab image codec: parse and serialize the 0x502 format. */
#include "base/wipe.h"
#include "keytab/kt_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define KT_MAGIC     0x05u
#define KT_VNO_1     0x01u      /* 0x501: host byte order, refused */
#define KT_VNO_2     0x02u

/* Fixed bytes of a record besides its names and key (with the kvno32 trailer). */
#define KT_RECORD_FIXED (2u + 2u + 4u + 4u + 1u + 2u + 2u + 4u)

/* A cursor over bytes it does not own. */
typedef struct kt_reader {
	const uint8_t *p;
	size_t left;
} kt_reader;

static lethe_status
rd_u8(kt_reader *r, uint8_t *v)
{
	ENSURE(r->left >= 1, LETHE_ERR_FORMAT);
	*v = r->p[0];
	r->p++;
	r->left--;
	return LETHE_OK;
}

static lethe_status
rd_u16(kt_reader *r, uint16_t *v)
{
	ENSURE(r->left >= 2, LETHE_ERR_FORMAT);
	*v = lethe_load_be16(r->p);
	r->p += 2;
	r->left -= 2;
	return LETHE_OK;
}

static lethe_status
rd_u32(kt_reader *r, uint32_t *v)
{
	ENSURE(r->left >= 4, LETHE_ERR_FORMAT);
	*v = lethe_load_be32(r->p);
	r->p += 4;
	r->left -= 4;
	return LETHE_OK;
}

/* A 16-bit length and that many bytes (within the record, at most max), as a view. */
static lethe_status
rd_data(kt_reader *r, size_t max, lbytes *v)
{
	uint16_t len;

	GUARD(rd_u16(r, &len));
	ENSURE(len <= r->left, LETHE_ERR_FORMAT);
	ENSURE(len <= max, LETHE_ERR_TOO_BIG);
	*v = lbytes_make(r->p, len);
	r->p += len;
	r->left -= len;
	return LETHE_OK;
}

/* Two's-complement readings of unsigned fields, without implementation-defined casts. */
static int32_t
s16_from_u16(uint16_t v)
{
	return v >= 0x8000u ? (int32_t)v - 0x10000 : (int32_t)v;
}

static int32_t
s32_from_u32(uint32_t v)
{
	if (v <= INT32_MAX)
		return (int32_t)v;
	return (int32_t)(v - 0x80000000u) + INT32_MIN;
}

/* The principal at the start of a record. */
static lethe_status
parse_principal(kt_reader *r, kt_principal *out)
{
	lbytes realm, comps[KT_MAX_COMPONENTS];
	uint16_t ncomps;
	uint32_t name_type;

	GUARD(rd_u16(r, &ncomps));
	ENSURE(ncomps > 0, LETHE_ERR_FORMAT);
	ENSURE(ncomps <= KT_MAX_COMPONENTS, LETHE_ERR_TOO_BIG);
	GUARD(rd_data(r, KT_MAX_NAME_LEN, &realm));
	ENSURE(realm.len > 0, LETHE_ERR_FORMAT);
	for (size_t i = 0; i < ncomps; i++)
		GUARD(rd_data(r, KT_MAX_NAME_LEN, &comps[i]));
	GUARD(rd_u32(r, &name_type));
	return kt_principal_init(out, realm, comps, ncomps,
	    s32_from_u32(name_type));
}

/* One record (its length already stripped) into *out. */
static lethe_status
parse_record(const uint8_t *rec, size_t rec_len, kt_entry *out)
{
	kt_reader r = { rec, rec_len };
	kt_entry e = { 0 };
	lbytes key;
	uint32_t kvno32;
	uint16_t enctype;
	uint8_t kvno8;
	lethe_status rc = LETHE_OK;

	GUARD_GOTO(rc, parse_principal(&r, &e.principal));
	GUARD_GOTO(rc, rd_u32(&r, &e.timestamp));
	GUARD_GOTO(rc, rd_u8(&r, &kvno8));
	GUARD_GOTO(rc, rd_u16(&r, &enctype));
	GUARD_GOTO(rc, rd_data(&r, KT_MAX_KEY_LEN, &key));
	ENSURE_GOTO(rc, key.len > 0, LETHE_ERR_FORMAT);
	e.kvno = kvno8;
	e.enctype = s16_from_u16(enctype);
	/* MIT: four more bytes are a 32-bit kvno, used when non-zero. */
	if (r.left >= 4) {
		GUARD_GOTO(rc, rd_u32(&r, &kvno32));
		if (kvno32 != 0)
			e.kvno = kvno32;
	}
	/* Bytes after that are ignored, as MIT does. */
	GUARD_GOTO(rc, kt_buf_copy(&e.key, key));
	*out = e;
	e = (kt_entry){ 0 };
cleanup:
	kt_entry_clear(&e);
	return rc;
}

/* Parse the records after the version and append them to kt. */
static lethe_status
parse_records(kt_reader *r, kt_keytab *kt)
{
	kt_entry e = { 0 };
	lethe_status rc = LETHE_OK;

	while (r->left > 0) {
		uint32_t raw;
		int32_t len;

		GUARD_GOTO(rc, rd_u32(r, &raw));
		len = s32_from_u32(raw);
		if (len == 0)
			break;                  /* MIT's end-of-entries mark */
		ENSURE_GOTO(rc, len != INT32_MIN, LETHE_ERR_FORMAT);
		if (len < 0) {
			ENSURE_GOTO(rc, (size_t)-len <= r->left, LETHE_ERR_FORMAT);
			r->p += (size_t)-len;
			r->left -= (size_t)-len;
			continue;
		}
		ENSURE_GOTO(rc, (size_t)len <= r->left, LETHE_ERR_FORMAT);
		GUARD_GOTO(rc, parse_record(r->p, (size_t)len, &e));
		GUARD_GOTO(rc, kt_append_owned(kt, &e));
		r->p += (size_t)len;
		r->left -= (size_t)len;
	}
cleanup:
	kt_entry_clear(&e);
	return rc;
}

lethe_status
kt_parse(const uint8_t *buf, size_t len, kt_keytab **out)
{
	kt_reader r = { buf, len };
	kt_keytab *kt = NULL;
	uint8_t magic, vno;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	ENSURE(buf != NULL || len == 0, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= KT_MAX_FILE_SIZE, LETHE_ERR_TOO_BIG);
	GUARD(rd_u8(&r, &magic));
	GUARD(rd_u8(&r, &vno));
	ENSURE(magic == KT_MAGIC, LETHE_ERR_FORMAT);
	ENSURE(vno != KT_VNO_1, LETHE_ERR_UNSUPPORTED);
	ENSURE(vno == KT_VNO_2, LETHE_ERR_FORMAT);
	GUARD(kt_new(&kt));
	GUARD_GOTO(rc, parse_records(&r, kt));
	*out = kt;
	kt = NULL;
cleanup:
	kt_free(kt);
	return rc;
}

/* Bytes of e's record, without the length in front. */
static size_t
record_len(const kt_entry *e)
{
	/* Bounded by the KT_MAX_* limits kt_add and kt_parse enforce. */
	size_t n = KT_RECORD_FIXED + e->principal.realm.len + e->key.len;

	for (size_t i = 0; i < e->principal.ncomponents; i++)
		n += 2 + e->principal.components[i].len;
	return n;
}

/* Entries kt_add or kt_parse could not have made (e.g. edited by hand). */
static bool
entry_encodable(const kt_entry *e)
{
	const kt_principal *p = &e->principal;

	if (p->ncomponents == 0 || p->ncomponents > KT_MAX_COMPONENTS)
		return false;
	if (p->realm.len == 0 || p->realm.len > KT_MAX_NAME_LEN)
		return false;
	for (size_t i = 0; i < p->ncomponents; i++)
		if (p->components[i].len > KT_MAX_NAME_LEN)
			return false;
	if (e->key.len == 0 || e->key.len > KT_MAX_KEY_LEN)
		return false;
	return e->enctype >= INT16_MIN && e->enctype <= INT16_MAX;
}

/* A cursor over an output buffer already sized for everything written. */
typedef struct kt_writer {
	uint8_t *p;
} kt_writer;

static void
wr_u8(kt_writer *w, uint8_t v)
{
	*w->p++ = v;
}

static void
wr_u16(kt_writer *w, uint16_t v)
{
	wr_u8(w, (uint8_t)(v >> 8));
	wr_u8(w, (uint8_t)v);
}

static void
wr_u32(kt_writer *w, uint32_t v)
{
	wr_u16(w, (uint16_t)(v >> 16));
	wr_u16(w, (uint16_t)v);
}

static void
wr_data(kt_writer *w, kt_buf b)
{
	wr_u16(w, (uint16_t)b.len);
	if (b.len > 0)
		memcpy(w->p, b.data, b.len);
	w->p += b.len;
}

static void
write_record(kt_writer *w, const kt_entry *e)
{
	const kt_principal *p = &e->principal;

	wr_u32(w, (uint32_t)record_len(e));
	wr_u16(w, (uint16_t)p->ncomponents);
	wr_data(w, p->realm);
	for (size_t i = 0; i < p->ncomponents; i++)
		wr_data(w, p->components[i]);
	wr_u32(w, (uint32_t)p->name_type);
	wr_u32(w, e->timestamp);
	wr_u8(w, e->kvno < 256 ? (uint8_t)e->kvno : 0);
	wr_u16(w, (uint16_t)(uint32_t)e->enctype);
	wr_data(w, e->key);
	wr_u32(w, e->kvno);
}

lethe_status
kt_serialize(const kt_keytab *kt, uint8_t **out, size_t *out_len)
{
	size_t total = 2;
	uint8_t *image;
	kt_writer w;

	*out = NULL;
	*out_len = 0;
	for (size_t i = 0; i < kt->count; i++) {
		ENSURE(entry_encodable(&kt->entries[i]), LETHE_ERR_INVALID_ARG);
		total += 4 + record_len(&kt->entries[i]);
		ENSURE(total <= KT_MAX_FILE_SIZE, LETHE_ERR_TOO_BIG);
	}
	image = malloc(total);
	ENSURE(image != NULL, LETHE_ERR_NOMEM);
	w.p = image;
	wr_u8(&w, KT_MAGIC);
	wr_u8(&w, KT_VNO_2);
	for (size_t i = 0; i < kt->count; i++)
		write_record(&w, &kt->entries[i]);
	*out = image;
	*out_len = total;
	return LETHE_OK;
}

void
kt_image_free(uint8_t *image, size_t len)
{
	if (image == NULL)
		return;
	lethe_wipe(image, len);
	free(image);
}
