/* MIT kdb5_util dump records and master key stash (mit_dump.h). */
#include "store/mit_dump.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "keytab/keytab.h"

/* The unparsed input and where we are in it. */
typedef struct cursor {
	const uint8_t *p, *end;
	size_t line;
	mit_dump_error *err;
} cursor;

static lethe_status fail(cursor *c, lethe_status rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record at err the line and message, and return rc. */
static lethe_status
fail(cursor *c, lethe_status rc, const char *fmt, ...)
{
	va_list ap;

	if (c->err != NULL) {
		c->err->line = c->line;
		va_start(ap, fmt);
		vsnprintf(c->err->text, sizeof(c->err->text), fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool
is_sep(uint8_t b)
{
	return b == '\t' || b == ';' || b == '\n';
}

/* The bytes up to the next tab, ';' or newline (not consumed). */
static lbytes
token(cursor *c)
{
	const uint8_t *start = c->p;

	while (c->p < c->end && !is_sep(*c->p))
		c->p++;
	return lbytes_make(start, (size_t)(c->p - start));
}

/* Consume separator ch after field what ('\0': the end; '\v': a tab or the end). */
static lethe_status
expect(cursor *c, char ch, const char *what)
{
	if (ch == '\v' && c->p == c->end)
		return LETHE_OK;        /* '\v': a tab, or the end */
	if (ch == '\v')
		ch = '\t';
	if (ch == '\0')
		return c->p == c->end ? LETHE_OK :
		    fail(c, LETHE_ERR_FORMAT, "%s: bytes after the last field", what);
	if (c->p >= c->end)
		return fail(c, LETHE_ERR_FORMAT, "the record ends after %s", what);
	if (*c->p != (uint8_t)ch)
		return fail(c, LETHE_ERR_FORMAT, "%s: unexpected byte 0x%02x, "
		    "expected %s", what, *c->p, ch == '\t' ? "a tab" :
		    ch == ';' ? "';'" : "a newline");
	c->p++;
	if (ch == '\n')
		c->line++;
	return LETHE_OK;
}

/*
 * A decimal number token in [min, max], then separator sep. A leading
 * '-' only when min < 0; at most 11 characters.
 */
static lethe_status
number(cursor *c, const char *what, int64_t min, int64_t max, char sep,
    int64_t *out)
{
	lbytes t = token(c);
	size_t i = 0;
	bool neg = false;
	int64_t v = 0;

	if (t.len > 0 && t.data[0] == '-' && min < 0) {
		neg = true;
		i = 1;
	}
	if (t.len == i || t.len > 11)
		return fail(c, LETHE_ERR_FORMAT, "%s: not a number", what);
	for (; i < t.len; i++) {
		if (t.data[i] < '0' || t.data[i] > '9')
			return fail(c, LETHE_ERR_FORMAT, "%s: not a number", what);
		v = v * 10 + (t.data[i] - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max)
		return fail(c, LETHE_ERR_FORMAT, "%s: %lld out of range %lld..%lld",
		    what, (long long)v, (long long)min, (long long)max);
	*out = v;
	return expect(c, sep, what);
}

static int
hexval(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	return -1;
}

/* Bytes decoded from the hex of one record, carved from one buffer. */
typedef struct pool {
	uint8_t *buf;
	size_t cap, used;
} pool;

/*
 * len bytes as 2*len hex digits, or "-1" when len is 0 (MIT's
 * dump_octets_or_minus1), then separator sep; into *out from pl.
 */
static lethe_status
octets(cursor *c, pool *pl, const char *what, size_t len, char sep, lbytes *out)
{
	lbytes t = token(c);
	uint8_t *w;

	*out = lbytes_make(NULL, 0);
	if (len == 0) {
		if (t.len != 2 || t.data[0] != '-' || t.data[1] != '1')
			return fail(c, LETHE_ERR_FORMAT,
			    "%s: length 0 but the data is not -1", what);
		return expect(c, sep, what);
	}
	if (t.len != 2 * len)
		return fail(c, LETHE_ERR_FORMAT, "%s: %zu hex digits for length %zu",
		    what, t.len, len);
	if (pl->cap - pl->used < len)
		return fail(c, LETHE_ERR_FORMAT, "%s: more data than the record holds",
		    what);
	w = pl->buf + pl->used;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(t.data[2 * i]), lo = hexval(t.data[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return fail(c, LETHE_ERR_FORMAT, "%s: not hex", what);
		w[i] = (uint8_t)(hi << 4 | lo);
	}
	pl->used += len;
	*out = lbytes_make(w, len);
	return expect(c, sep, what);
}

/* tl_data entries: type, length, data, each followed by a tab. */
static lethe_status
tl_entries(cursor *c, pool *pl, mit_tl_data *tl, size_t n)
{
	int64_t v;

	for (size_t i = 0; i < n; i++) {
		GUARD(number(c, "tl_data type", INT16_MIN, INT16_MAX, '\t', &v));
		tl[i].type = (int32_t)v;
		GUARD(number(c, "tl_data length", 0, MIT_MAX_DATA_LEN, '\t', &v));
		GUARD(octets(c, pl, "tl_data contents", (size_t)v, '\t', &tl[i].data));
	}
	return LETHE_OK;
}

static lethe_status
key_entries(cursor *c, pool *pl, mit_key_data *kd, size_t n)
{
	int64_t v;

	for (size_t i = 0; i < n; i++) {
		GUARD(number(c, "key_data version", 1, 2, '\t', &v));
		kd[i].ver = (uint32_t)v;
		GUARD(number(c, "key_data kvno", 0, UINT16_MAX, '\t', &v));
		kd[i].kvno = (uint32_t)v;
		for (uint32_t j = 0; j < kd[i].ver; j++) {
			GUARD(number(c, j == 0 ? "key enctype" : "salt type",
			    INT16_MIN, INT16_MAX, '\t', &v));
			kd[i].type[j] = (int32_t)v;
			GUARD(number(c, j == 0 ? "key length" : "salt length", 0,
			    MIT_MAX_DATA_LEN, '\t', &v));
			GUARD(octets(c, pl, j == 0 ? "key data" : "salt data",
			    (size_t)v, '\t', &kd[i].data[j]));
		}
	}
	return LETHE_OK;
}

/*
 * A "princ" record after its tag (k5beta7_common in MIT's dump.c):
 *	len namelen n_tl n_key e_length name
 *	attributes max_life max_renew expiration pw_expiration
 *	last_success last_failed fail_auth_count
 *	n_tl * (type length contents)  n_key * (ver kvno ver * (type length contents))
 *	e_data ";\n"
 * every field followed by a tab but the last.
 */
static lethe_status
principal_record(cursor *c, mit_record *rec, mit_record_cb cb, void *ctx)
{
	mit_principal *p = &rec->princ;
	mit_tl_data *tl = NULL;
	mit_key_data *kd = NULL;
	pool pl = { 0 };
	char *name = NULL;
	const uint8_t *semi;
	int64_t v, namelen, ntl, nkey, elen;
	lbytes e_data;
	lethe_status rc;

	GUARD_GOTO(rc, number(c, "entry length", INT32_MIN, INT32_MAX, '\t', &v));
	GUARD_GOTO(rc, number(c, "name length", 1, MIT_MAX_NAME_LEN, '\t', &namelen));
	GUARD_GOTO(rc, number(c, "tl_data count", 0, INT32_MAX, '\t', &ntl));
	GUARD_GOTO(rc, number(c, "key_data count", 0, INT32_MAX, '\t', &nkey));
	GUARD_GOTO(rc, number(c, "e_data length", 0, MIT_MAX_DATA_LEN, '\t', &elen));
	if (ntl > (int64_t)MIT_MAX_TL_DATA || nkey > (int64_t)MIT_MAX_KEY_DATA) {
		rc = fail(c, LETHE_ERR_TOO_BIG, "%lld tl_data or %lld key_data "
		    "entries: over %u or %u", (long long)ntl, (long long)nkey,
		    MIT_MAX_TL_DATA, MIT_MAX_KEY_DATA);
		goto cleanup;
	}
	if ((size_t)(c->end - c->p) < (size_t)namelen) {
		rc = fail(c, LETHE_ERR_FORMAT, "the dump ends inside the name");
		goto cleanup;
	}
	name = malloc((size_t)namelen + 1);
	ENSURE_GOTO(rc, name != NULL, LETHE_ERR_NOMEM);
	memcpy(name, c->p, (size_t)namelen);
	name[namelen] = '\0';
	if (memchr(name, '\0', (size_t)namelen) != NULL) {
		rc = fail(c, LETHE_ERR_FORMAT, "a NUL byte in the principal name");
		goto cleanup;
	}
	for (int64_t i = 0; i < namelen; i++)
		if (c->p[i] == '\n')
			c->line++;
	c->p += namelen;
	GUARD_GOTO(rc, expect(c, '\t', "principal name"));

	/* Hex in the rest of the record decodes to at most half its bytes. */
	semi = memchr(c->p, ';', (size_t)(c->end - c->p));
	if (semi == NULL) {
		rc = fail(c, LETHE_ERR_FORMAT, "principal %s: no ';' ends the record",
		    name);
		goto cleanup;
	}
	pl.cap = (size_t)(semi - c->p) / 2 + 1;
	pl.buf = malloc(pl.cap);
	tl = calloc((size_t)ntl + 1, sizeof(*tl));
	kd = calloc((size_t)nkey + 1, sizeof(*kd));
	ENSURE_GOTO(rc, pl.buf != NULL && tl != NULL && kd != NULL, LETHE_ERR_NOMEM);

	*p = (mit_principal){ .name = name, .name_len = (size_t)namelen,
		.tl = tl, .ntl = (size_t)ntl, .keys = kd, .nkeys = (size_t)nkey };
	GUARD_GOTO(rc, number(c, "attributes", INT32_MIN, INT32_MAX, '\t', &v));
	p->attributes = (uint32_t)v;
	GUARD_GOTO(rc, number(c, "max_life", INT32_MIN, INT32_MAX, '\t', &v));
	p->max_life = (int32_t)v;
	GUARD_GOTO(rc, number(c, "max_renewable_life", INT32_MIN, INT32_MAX, '\t', &v));
	p->max_renew = (int32_t)v;
	GUARD_GOTO(rc, number(c, "expiration", 0, UINT32_MAX, '\t', &v));
	p->expiration = (uint32_t)v;
	GUARD_GOTO(rc, number(c, "pw_expiration", 0, UINT32_MAX, '\t', &v));
	p->pw_expiration = (uint32_t)v;
	GUARD_GOTO(rc, number(c, "last_success", 0, UINT32_MAX, '\t', &v));
	p->last_success = (uint32_t)v;
	GUARD_GOTO(rc, number(c, "last_failed", 0, UINT32_MAX, '\t', &v));
	p->last_failed = (uint32_t)v;
	GUARD_GOTO(rc, number(c, "fail_auth_count", INT32_MIN, INT32_MAX, '\t', &v));
	p->fail_auth_count = (uint32_t)v;
	GUARD_GOTO(rc, tl_entries(c, &pl, tl, (size_t)ntl));
	GUARD_GOTO(rc, key_entries(c, &pl, kd, (size_t)nkey));
	GUARD_GOTO(rc, octets(c, &pl, "e_data", (size_t)elen, ';', &e_data));
	GUARD_GOTO(rc, expect(c, '\n', "the end of the record"));
	rc = cb(ctx, rec);
cleanup:
	free(pl.buf);
	free(tl);
	free(kd);
	free(name);
	rec->princ = (mit_principal){ 0 };
	return rc;
}

/*
 * A "policy" record after its tag, one line of tab-separated fields:
 * name and 9 numbers (1.8 format), or name, 12 numbers, the allowed
 * key/salt list, n_tl_data and n_tl_data * (type length contents) (1.11
 * format). Only the name is kept; the rest is checked.
 */
static lethe_status
policy_record(cursor *c, mit_record *rec, mit_record_cb cb, void *ctx)
{
	const uint8_t *nl = memchr(c->p, '\n', (size_t)(c->end - c->p)), *tab;
	cursor lc = *c;
	char name[1024];
	lbytes t;
	size_t fields = 0;
	int64_t v, ntl = 0;
	pool pl = { 0 };
	lethe_status rc = LETHE_OK;

	if (nl == NULL)
		return fail(c, LETHE_ERR_FORMAT, "no newline ends the policy record");
	lc.end = nl;    /* '\0' below: the end of the line */
	/* The name ends at a tab (MIT reads it with %s: ';' may be in it). */
	tab = memchr(lc.p, '\t', (size_t)(lc.end - lc.p));
	t = lbytes_make(lc.p, tab != NULL ? (size_t)(tab - lc.p) : 0);
	lc.p += t.len;
	if (t.len == 0 || t.len >= sizeof(name))
		return fail(c, LETHE_ERR_FORMAT, "policy name empty or over %zu bytes",
		    sizeof(name) - 1);
	if (memchr(t.data, '\0', t.len) != NULL)
		return fail(c, LETHE_ERR_FORMAT, "policy name holds a NUL byte");
	memcpy(name, t.data, t.len);
	name[t.len] = '\0';
	GUARD(expect(&lc, '\t', "policy name"));
	for (int i = 0; i < 9; i++, fields++)
		GUARD(number(&lc, "policy field", INT32_MIN, UINT32_MAX,
		    i < 8 ? '\t' : '\v', &v));
	if (lc.p < lc.end) {
		for (int i = 0; i < 3; i++, fields++)
			GUARD(number(&lc, "policy field", INT32_MIN, UINT32_MAX, '\t', &v));
		if (token(&lc).len == 0)
			return fail(c, LETHE_ERR_FORMAT, "policy %s: empty key/salt list",
			    name);
		GUARD(expect(&lc, '\t', "policy key/salt list"));
		GUARD(number(&lc, "policy tl_data count", 0, MIT_MAX_TL_DATA, '\v',
		    &ntl));
		fields += 2;
		pl.cap = (size_t)(lc.end - lc.p) / 2 + 1;
		pl.buf = malloc(pl.cap);
		ENSURE(pl.buf != NULL, LETHE_ERR_NOMEM);
		for (int64_t i = 0; i < ntl && rc == LETHE_OK; i++) {
			lbytes data;

			rc = number(&lc, "tl_data type", INT16_MIN, INT16_MAX, '\t', &v);
			if (rc == LETHE_OK)
				rc = number(&lc, "tl_data length", 0, MIT_MAX_DATA_LEN,
				    '\t', &v);
			if (rc == LETHE_OK)
				rc = octets(&lc, &pl, "tl_data contents", (size_t)v,
				    i + 1 < ntl ? '\t' : '\0', &data);
			fields += 3;
		}
		free(pl.buf);
		GUARD(rc);
	}
	if (lc.p != lc.end)
		return fail(c, LETHE_ERR_FORMAT, "policy %s: bytes after its fields",
		    name);
	c->p = nl + 1;
	c->line++;
	rec->policy = (mit_policy){ .name = name, .nfields = fields };
	rc = cb(ctx, rec);
	rec->policy = (mit_policy){ 0 };
	return rc;
}

/* The header line: MIT_DUMP_HEADER and a newline. */
static lethe_status
header(cursor *c)
{
	static const char prefix[] = "kdb5_util load_dump version ";
	size_t hl = sizeof(MIT_DUMP_HEADER) - 1;
	const uint8_t *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	size_t line_len = nl != NULL ? (size_t)(nl - c->p) : (size_t)(c->end - c->p);

	c->line = 1;
	if (line_len == hl && memcmp(c->p, MIT_DUMP_HEADER, hl) == 0 && nl != NULL) {
		c->p = nl + 1;
		c->line = 2;
		return LETHE_OK;
	}
	if (line_len > sizeof(prefix) - 1 && line_len < 64 &&
	    memcmp(c->p, prefix, sizeof(prefix) - 1) == 0)
		return fail(c, LETHE_ERR_FORMAT, "dump format \"%.*s\" is not "
		    "supported: need \"" MIT_DUMP_HEADER "\" (kdb5_util dump of "
		    "MIT krb5 1.11 or later, without -b7, -r13 or -r18)",
		    (int)line_len, (const char *)c->p);
	if (line_len >= 5 && memcmp(c->p, "iprop", 5) == 0)
		return fail(c, LETHE_ERR_FORMAT, "an iprop dump: use a plain "
		    "\"kdb5_util dump\"");
	return fail(c, LETHE_ERR_FORMAT, "not a kdb5_util dump (no \""
	    MIT_DUMP_HEADER "\" line)");
}

lethe_status
mit_dump_parse(const uint8_t *buf, size_t len, mit_record_cb cb, void *ctx,
    mit_dump_error *err)
{
	cursor c = { .p = buf, .end = buf + len, .line = 0, .err = err };
	mit_record rec;
	lbytes tag;

	ENSURE(buf != NULL && cb != NULL, LETHE_ERR_INVALID_ARG);
	if (err != NULL)
		*err = (mit_dump_error){ 0 };
	GUARD(header(&c));
	while (c.p < c.end) {
		memset(&rec, 0, sizeof(rec));
		rec.line = c.line;
		tag = token(&c);
		if (tag.len == 5 && memcmp(tag.data, "princ", 5) == 0) {
			rec.kind = MIT_RECORD_PRINCIPAL;
			GUARD(expect(&c, '\t', "record type"));
			GUARD(principal_record(&c, &rec, cb, ctx));
		} else if (tag.len == 6 && memcmp(tag.data, "policy", 6) == 0) {
			rec.kind = MIT_RECORD_POLICY;
			GUARD(expect(&c, '\t', "record type"));
			GUARD(policy_record(&c, &rec, cb, ctx));
		} else {
			return fail(&c, LETHE_ERR_FORMAT, "unknown record type \"%.*s\"",
			    (int)(tag.len > 20 ? 20 : tag.len), (const char *)tag.data);
		}
	}
	return LETHE_OK;
}

/* ------------------------------------------------------------ the stash */

void
mit_stash_clear(mit_stash *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		kc_key_clear(&s->keys[i].key);
	lethe_wipe(s, sizeof(*s));
}

static lethe_status
stash_add(mit_stash *out, uint32_t kvno, int32_t enctype, lbytes key)
{
	lethe_status rc;

	ENSURE(out->count < MIT_MAX_MKEYS, LETHE_ERR_TOO_BIG);
	for (size_t i = 0; i < out->count; i++)
		ENSURE(out->keys[i].kvno != kvno, LETHE_ERR_FORMAT);
	if (!kc_enctype_supported(enctype))
		return LETHE_ERR_ETYPE_NOSUPP;
	rc = kc_key_init(&out->keys[out->count].key, enctype, key);
	if (rc != LETHE_OK)
		return rc == LETHE_ERR_INVALID_ARG ? LETHE_ERR_FORMAT : rc;
	out->keys[out->count].kvno = kvno;
	out->count++;
	return LETHE_OK;
}

/*
 * The keytab form: every entry of K/M@realm (realm NULL: of the one realm
 * the stash's K/M entries name, into out->realm).
 */
static lethe_status
stash_keytab(const uint8_t *buf, size_t len, const char *realm, mit_stash *out)
{
	kt_keytab *kt = NULL;
	char *name = NULL;
	lethe_status rc = LETHE_OK;

	GUARD(kt_parse(buf, len, &kt));
	for (size_t i = 0; i < kt_count(kt) && rc == LETHE_OK; i++) {
		const kt_entry *e = kt_entry_at(kt, i);
		const char *r;

		free(name);
		name = NULL;
		rc = kt_principal_unparse(&e->principal, &name);
		if (rc != LETHE_OK || strncmp(name, "K/M@", 4) != 0)
			continue;
		r = name + 4;
		if ((realm != NULL && strcmp(r, realm) != 0) ||
		    strlen(r) >= sizeof(out->realm))
			continue;
		if (out->realm[0] != '\0' && strcmp(out->realm, r) != 0)
			rc = LETHE_ERR_FORMAT;      /* two realms' master keys */
		else
			memcpy(out->realm, r, strlen(r) + 1);
		if (rc == LETHE_OK)
			rc = stash_add(out, e->kvno, e->enctype, kt_buf_view(e->key));
	}
	free(name);
	kt_free(kt);
	if (rc == LETHE_OK && out->count == 0)
		rc = LETHE_ERR_FORMAT;
	return rc;
}

lethe_status
mit_stash_parse(const uint8_t *buf, size_t len, const char *realm, mit_stash *out)
{
	uint32_t klen;
	lethe_status rc;

	ENSURE(buf != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	memset(out, 0, sizeof(*out));
	if (len >= 2 && buf[0] == 0x05 && buf[1] == 0x02) {
		rc = stash_keytab(buf, len, realm, out);
	} else {
		/* Old format: enctype (2), length (4), key; little-endian. */
		if (len < 6)
			return LETHE_ERR_FORMAT;
		klen = (uint32_t)buf[2] | (uint32_t)buf[3] << 8 |
		    (uint32_t)buf[4] << 16 | (uint32_t)buf[5] << 24;
		if (klen == 0 || klen > KC_MAX_KEY_LEN || len - 6 != klen)
			return LETHE_ERR_FORMAT;
		rc = stash_add(out, 1, (int32_t)((uint32_t)buf[0] | (uint32_t)buf[1] << 8),
		    lbytes_make(buf + 6, klen));
	}
	if (rc != LETHE_OK)
		mit_stash_clear(out);
	return rc;
}

lethe_status
mit_principal_mkvno(const mit_principal *p, const mit_stash *stash, uint32_t *out)
{
	uint32_t lowest = UINT32_MAX;

	ENSURE(p != NULL && stash != NULL && stash->count > 0, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < p->ntl; i++) {
		if (p->tl[i].type != MIT_TL_MKVNO || p->tl[i].data.len == 0)
			continue;
		ENSURE(p->tl[i].data.len == 2, LETHE_ERR_FORMAT);
		*out = (uint32_t)p->tl[i].data.data[0] |
		    (uint32_t)p->tl[i].data.data[1] << 8;
		if (*out != 0)
			return LETHE_OK;
	}
	for (size_t i = 0; i < stash->count; i++)
		if (stash->keys[i].kvno < lowest)
			lowest = stash->keys[i].kvno;
	*out = lowest;
	return LETHE_OK;
}

lethe_status
mit_key_decrypt(mit_mkey *mk, const mit_key_data *kd, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t plain[MIT_MAX_DATA_LEN];
	size_t plain_len = 0, keylen;
	lethe_status rc;

	ENSURE(mk != NULL && kd != NULL && out != NULL && out_len != NULL,
	    LETHE_ERR_INVALID_ARG);
	*out_len = 0;
	if (kd->data[0].len < 2)
		return LETHE_ERR_FORMAT;
	keylen = (size_t)kd->data[0].data[0] | (size_t)kd->data[0].data[1] << 8;
	if (keylen > INT16_MAX)
		return LETHE_ERR_FORMAT;
	rc = kc_decrypt(&mk->key, 0, lbytes_make(kd->data[0].data + 2,
	    kd->data[0].len - 2), plain, sizeof(plain), &plain_len);
	if (rc == LETHE_OK && (keylen > plain_len || keylen > out_cap || keylen == 0))
		rc = LETHE_ERR_FORMAT;
	if (rc == LETHE_OK) {
		memcpy(out, plain, keylen);
		*out_len = keylen;
	}
	lethe_wipe(plain, sizeof(plain));
	return rc;
}
