#include "base/wipe.h"
#include "keytab/kt_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define REALM_SEP     '@'
#define COMPONENT_SEP '/'
#define QUOTE_CHAR    '\\'

lethe_status
kt_buf_copy(kt_buf *out, lbytes src)
{
	out->data = NULL;
	out->len = 0;
	if (src.len == 0)
		return LETHE_OK;
	out->data = malloc(src.len);
	if (out->data == NULL)
		return LETHE_ERR_NOMEM;
	memcpy(out->data, src.data, src.len);
	out->len = src.len;
	return LETHE_OK;
}

void
kt_buf_release(kt_buf *b, bool wipe)
{
	if (b->data != NULL && wipe)
		lethe_wipe(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void
kt_principal_clear(kt_principal *p)
{
	for (size_t i = 0; i < p->ncomponents; i++)
		kt_buf_release(&p->components[i], false);
	free(p->components);
	kt_buf_release(&p->realm, false);
	p->components = NULL;
	p->ncomponents = 0;
	p->name_type = 0;
}

lethe_status
kt_principal_init(kt_principal *out, lbytes realm, const lbytes *components,
    size_t ncomponents, int32_t name_type)
{
	kt_principal p = { .name_type = name_type };
	lethe_status rc = LETHE_OK;

	*out = (kt_principal){ 0 };
	ENSURE(realm.len > 0 && ncomponents > 0, LETHE_ERR_INVALID_ARG);
	ENSURE(realm.len <= KT_MAX_NAME_LEN, LETHE_ERR_TOO_BIG);
	ENSURE(ncomponents <= KT_MAX_COMPONENTS, LETHE_ERR_TOO_BIG);
	for (size_t i = 0; i < ncomponents; i++)
		ENSURE(components[i].len <= KT_MAX_NAME_LEN, LETHE_ERR_TOO_BIG);

	GUARD_GOTO(rc, kt_buf_copy(&p.realm, realm));
	p.components = calloc(ncomponents, sizeof(*p.components));
	ENSURE_GOTO(rc, p.components != NULL, LETHE_ERR_NOMEM);
	for (; p.ncomponents < ncomponents; p.ncomponents++)
		GUARD_GOTO(rc, kt_buf_copy(&p.components[p.ncomponents],
		    components[p.ncomponents]));
	*out = p;
	p = (kt_principal){ 0 };
cleanup:
	kt_principal_clear(&p);
	return rc;
}

lethe_status
kt_principal_copy(kt_principal *out, const kt_principal *in)
{
	lbytes views[KT_MAX_COMPONENTS];

	*out = (kt_principal){ 0 };
	ENSURE(in->ncomponents <= KT_MAX_COMPONENTS, LETHE_ERR_TOO_BIG);
	for (size_t i = 0; i < in->ncomponents; i++)
		views[i] = kt_buf_view(in->components[i]);
	return kt_principal_init(out, kt_buf_view(in->realm), views,
	    in->ncomponents, in->name_type);
}

bool
kt_principal_eq(const kt_principal *a, const kt_principal *b)
{
	if (a->ncomponents != b->ncomponents)
		return false;
	if (!lbytes_eq(kt_buf_view(a->realm), kt_buf_view(b->realm)))
		return false;
	for (size_t i = 0; i < a->ncomponents; i++) {
		if (!lbytes_eq(kt_buf_view(a->components[i]),
		    kt_buf_view(b->components[i])))
			return false;
	}
	return true;
}

/* A slice [start, start + len) of the unescaped scratch buffer. */
typedef struct name_span {
	size_t start;
	size_t len;
} name_span;

/* The character an escape "\c" stands for. */
static uint8_t
unescape_char(uint8_t c)
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

/*
 * Unescape text into scratch (at least text_len bytes), recording the
 * component spans and, when an '@' is present, the realm span.
 */
static lethe_status
split_name(const uint8_t *text, size_t text_len, uint8_t *scratch,
    name_span *comps, size_t *ncomps, name_span *realm, bool *has_realm)
{
	size_t w = 0, start = 0, n = 0;
	bool in_realm = false;

	for (size_t i = 0; i < text_len; i++) {
		uint8_t c = text[i];

		ENSURE(c != '\0', LETHE_ERR_FORMAT);
		if (c == QUOTE_CHAR) {
			ENSURE(i + 1 < text_len && text[i + 1] != '\0',
			    LETHE_ERR_FORMAT);
			scratch[w++] = unescape_char(text[++i]);
		} else if (c == COMPONENT_SEP || c == REALM_SEP) {
			ENSURE(!in_realm, LETHE_ERR_FORMAT);
			ENSURE(n < KT_MAX_COMPONENTS, LETHE_ERR_TOO_BIG);
			comps[n++] = (name_span){ start, w - start };
			start = w;
			in_realm = c == REALM_SEP;
		} else {
			scratch[w++] = c;
		}
	}
	if (in_realm) {
		*realm = (name_span){ start, w - start };
	} else {
		ENSURE(n < KT_MAX_COMPONENTS, LETHE_ERR_TOO_BIG);
		comps[n++] = (name_span){ start, w - start };
	}
	*ncomps = n;
	*has_realm = in_realm;
	return LETHE_OK;
}

lethe_status
kt_principal_parse(const char *text, size_t text_len, const char *default_realm,
    kt_principal *out)
{
	name_span spans[KT_MAX_COMPONENTS], realm_span = { 0, 0 };
	lbytes views[KT_MAX_COMPONENTS], realm;
	uint8_t *scratch = NULL;
	size_t ncomps = 0;
	bool has_realm = false;
	lethe_status rc = LETHE_OK;

	*out = (kt_principal){ 0 };
	ENSURE(text != NULL || text_len == 0, LETHE_ERR_INVALID_ARG);
	scratch = malloc(text_len > 0 ? text_len : 1);
	ENSURE(scratch != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, split_name((const uint8_t *)text, text_len, scratch,
	    spans, &ncomps, &realm_span, &has_realm));
	if (has_realm) {
		realm = lbytes_make(scratch + realm_span.start, realm_span.len);
	} else {
		ENSURE_GOTO(rc, default_realm != NULL, LETHE_ERR_FORMAT);
		realm = lbytes_make(default_realm, strlen(default_realm));
	}
	ENSURE_GOTO(rc, realm.len > 0, LETHE_ERR_FORMAT);
	for (size_t i = 0; i < ncomps; i++)
		views[i] = lbytes_make(scratch + spans[i].start, spans[i].len);
	GUARD_GOTO(rc, kt_principal_init(out, realm, views, ncomps,
	    KT_NT_PRINCIPAL));
cleanup:
	free(scratch);
	return rc;
}

/* The letter that follows the backslash when c is escaped, or 0. */
static char
escape_letter(uint8_t c)
{
	switch (c) {
	case COMPONENT_SEP:
	case REALM_SEP:
	case QUOTE_CHAR:
		return (char)c;
	case '\0':
		return '0';
	case '\n':
		return 'n';
	case '\t':
		return 't';
	case '\b':
		return 'b';
	default:
		return 0;
	}
}

/* Bytes name takes once escaped. */
static size_t
escaped_len(kt_buf name)
{
	size_t n = name.len;

	for (size_t i = 0; i < name.len; i++)
		n += escape_letter(name.data[i]) != 0;
	return n;
}

/* Write name escaped at out; return the position after it. */
static char *
put_escaped(char *out, kt_buf name)
{
	for (size_t i = 0; i < name.len; i++) {
		char letter = escape_letter(name.data[i]);

		if (letter != 0) {
			*out++ = QUOTE_CHAR;
			*out++ = letter;
		} else {
			*out++ = (char)name.data[i];
		}
	}
	return out;
}

lethe_status
kt_principal_unparse(const kt_principal *p, char **out)
{
	size_t total;
	char *str, *w;

	*out = NULL;
	ENSURE(p->ncomponents > 0 && p->ncomponents <= KT_MAX_COMPONENTS,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(p->realm.len <= KT_MAX_NAME_LEN, LETHE_ERR_TOO_BIG);
	/* Every name is at most KT_MAX_NAME_LEN bytes: the sum cannot wrap. */
	total = escaped_len(p->realm) + 2;          /* '@' and NUL */
	for (size_t i = 0; i < p->ncomponents; i++) {
		ENSURE(p->components[i].len <= KT_MAX_NAME_LEN, LETHE_ERR_TOO_BIG);
		total += escaped_len(p->components[i]) + 1;
	}
	str = malloc(total);
	ENSURE(str != NULL, LETHE_ERR_NOMEM);
	w = str;
	for (size_t i = 0; i < p->ncomponents; i++) {
		if (i > 0)
			*w++ = COMPONENT_SEP;
		w = put_escaped(w, p->components[i]);
	}
	*w++ = REALM_SEP;
	w = put_escaped(w, p->realm);
	*w = '\0';
	*out = str;
	return LETHE_OK;
}
