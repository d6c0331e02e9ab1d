/* PrincipalName codec, comparison, and MIT-style text form. */
#include <string.h>

#include "krb5/internal.h"

/* ------------------------------------------------------------------ DER */

static lethe_status
read_component(der_reader *r, lethe_arena *a, void *elem)
{
	(void)a;
	return der_read_gstring(r, elem);
}

lethe_status
krb_read_principal_name(der_reader *r, lethe_arena *a, krb_principal_name *out)
{
	der_reader seq, names;
	void *items;

	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_int32(&seq, 0, &out->name_type));
	GUARD(der_ctx(&seq, 1, &names));
	GUARD(krbi_read_seq_of(&names, a, KRB_MAX_NAME_COMPONENTS, sizeof(lbytes),
			       read_component, &items, &out->n_components));
	out->components = items;
	GUARD(der_finish(&names));
	return der_finish(&seq);
}

lethe_status
krb_decode_principal_name(lethe_arena *a, const uint8_t *data, size_t len,
			  krb_principal_name *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_principal_name(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_principal_name(der_writer *w, const krb_principal_name *in)
{
	size_t m = der_mark(w);

	if (in->n_components != 0 && in->components == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->n_components; i-- > 0;) {
		lbytes c = in->components[i];
		der_put_gstring(w, c.len != 0 ? (const void *)c.data : "", c.len);
	}
	der_wrap(w, m, DER_SEQUENCE);
	krbi_wrap_ctx(w, m, 1);
	der_put_ctx_int64(w, 0, in->name_type);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* ----------------------------------------------------------- comparison */

bool
krb_principal_eq(const krb_principal_name *a, const krb_principal_name *b)
{
	if (a->n_components != b->n_components)
		return false;
	for (size_t i = 0; i < a->n_components; i++) {
		if (!lbytes_eq(a->components[i], b->components[i]))
			return false;
	}
	return true;
}

bool
krb_principal_realm_eq(const krb_principal_name *a, lbytes realm_a,
		       const krb_principal_name *b, lbytes realm_b)
{
	return lbytes_eq(realm_a, realm_b) && krb_principal_eq(a, b);
}

/* ------------------------------------------------------------ text form */

static uint8_t
unescape(uint8_t c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case '0':
		return '\0';
	default:
		return c;
	}
}

static int32_t
infer_name_type(const lbytes *comps, size_t n)
{
	if (n == 2 && lbytes_eq(comps[0], LBYTES_LIT("krbtgt")))
		return KRB_NT_SRV_INST;
	if (n >= 1 && lbytes_eq(comps[0], LBYTES_LIT("WELLKNOWN")))
		return KRB_NT_WELLKNOWN;
	return KRB_NT_PRINCIPAL;
}

/* Unescaped text goes to buf; component i is buf[start[i]..start[i+1]). */
struct parse_state {
	uint8_t *buf;
	size_t used;
	size_t start[KRB_MAX_NAME_COMPONENTS + 1];
	size_t n_components;
	bool in_realm;
};

static lethe_status
end_component(struct parse_state *st)
{
	ENSURE(st->n_components < KRB_MAX_NAME_COMPONENTS, LETHE_ERR_FORMAT);
	st->n_components++;
	st->start[st->n_components] = st->used;
	return LETHE_OK;
}

static lethe_status
scan_text(struct parse_state *st, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)text[i];

		ENSURE(c != '\0', LETHE_ERR_FORMAT);
		if (c == '\\') {
			ENSURE(i + 1 < len, LETHE_ERR_FORMAT);
			st->buf[st->used++] = unescape((uint8_t)text[++i]);
		} else if (c == '/' && !st->in_realm) {
			GUARD(end_component(st));
		} else if (c == '@') {
			ENSURE(!st->in_realm, LETHE_ERR_FORMAT);
			GUARD(end_component(st));
			st->in_realm = true;
		} else {
			st->buf[st->used++] = c;
		}
	}
	if (!st->in_realm)
		GUARD(end_component(st));
	return LETHE_OK;
}

lethe_status
krb_principal_parse(lethe_arena *a, const char *text, size_t len, lbytes default_realm,
		    krb_principal_name *name, lbytes *realm)
{
	struct parse_state st;
	lbytes *comps;

	ENSURE(a != NULL && (text != NULL || len == 0), LETHE_ERR_INVALID_ARG);
	ENSURE(len != 0, LETHE_ERR_FORMAT);
	memset(&st, 0, sizeof(st));
	st.buf = lethe_arena_alloc(a, len);
	ENSURE(st.buf != NULL, LETHE_ERR_NOMEM);
	GUARD(scan_text(&st, text, len));
	ENSURE(st.n_components > 1 || st.start[1] != 0, LETHE_ERR_FORMAT);
	comps = lethe_arena_calloc(a, st.n_components, sizeof(*comps));
	ENSURE(comps != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < st.n_components; i++)
		comps[i] = lbytes_make(st.buf + st.start[i], st.start[i + 1] - st.start[i]);
	if (st.in_realm) {
		size_t rs = st.start[st.n_components];
		ENSURE(st.used > rs, LETHE_ERR_FORMAT);
		*realm = lbytes_make(st.buf + rs, st.used - rs);
	} else {
		*realm = default_realm;
	}
	name->components = comps;
	name->n_components = st.n_components;
	name->name_type = infer_name_type(comps, st.n_components);
	return LETHE_OK;
}

/* Escape sequence for c, or 0 when c stands for itself. */
static char
escape_for(uint8_t c)
{
	switch (c) {
	case '/':
	case '@':
	case '\\':
		return (char)c;
	case '\n':
		return 'n';
	case '\t':
		return 't';
	case '\b':
		return 'b';
	case '\0':
		return '0';
	default:
		return 0;
	}
}

struct out_buf {
	char *buf;
	size_t cap;
	size_t len;
};

static lethe_status
put_char(struct out_buf *o, char c)
{
	ENSURE(o->cap - o->len > 1, LETHE_ERR_TOO_BIG);   /* keep room for the NUL */
	o->buf[o->len++] = c;
	return LETHE_OK;
}

static lethe_status
put_escaped(struct out_buf *o, lbytes s)
{
	for (size_t i = 0; i < s.len; i++) {
		char e = escape_for(s.data[i]);
		if (e != 0) {
			GUARD(put_char(o, '\\'));
			GUARD(put_char(o, e));
		} else {
			GUARD(put_char(o, (char)s.data[i]));
		}
	}
	return LETHE_OK;
}

static lethe_status
put_principal(struct out_buf *o, const krb_principal_name *name, lbytes realm)
{
	for (size_t i = 0; i < name->n_components; i++) {
		if (i != 0)
			GUARD(put_char(o, '/'));
		GUARD(put_escaped(o, name->components[i]));
	}
	if (realm.len != 0) {
		GUARD(put_char(o, '@'));
		GUARD(put_escaped(o, realm));
	}
	return LETHE_OK;
}

lethe_status
krb_principal_unparse(const krb_principal_name *name, lbytes realm, char *buf, size_t cap,
		      size_t *out_len)
{
	struct out_buf o = { buf, cap, 0 };
	lethe_status rc;

	ENSURE(buf != NULL && cap != 0, LETHE_ERR_INVALID_ARG);
	rc = put_principal(&o, name, realm);
	buf[rc == LETHE_OK ? o.len : 0] = '\0';     /* empty string on failure */
	if (rc == LETHE_OK)
		*out_len = o.len;
	return rc;
}
