/* Owned principal names and KRB-ERROR reporting for the client. */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

lethe_status
kcl_name_set(kcl_name *out, const krb_principal_name *name, lbytes realm)
{
	size_t total = realm.len, off;
	uint8_t *buf;

	ENSURE(out != NULL && name != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(name->n_components >= 1 && name->n_components <= KRB_MAX_NAME_COMPONENTS,
	       LETHE_ERR_INVALID_ARG);
	ENSURE(realm.len > 0 && realm.len <= KCL_MAX_NAME_BYTES, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < name->n_components; i++) {
		ENSURE(name->components[i].len <= KCL_MAX_NAME_BYTES, LETHE_ERR_INVALID_ARG);
		total += name->components[i].len;
	}
	buf = malloc(total);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	kcl_name_clear(out);
	memcpy(buf, realm.data, realm.len);
	out->realm = lbytes_make(buf, realm.len);
	off = realm.len;
	for (size_t i = 0; i < name->n_components; i++) {
		lbytes c = name->components[i];
		if (c.len > 0)
			memcpy(buf + off, c.data, c.len);
		out->comps[i] = lbytes_make(buf + off, c.len);
		off += c.len;
	}
	out->n_comps = name->n_components;
	out->name_type = name->name_type;
	out->buf = buf;
	return LETHE_OK;
}

lethe_status
kcl_name_parse(kcl_name *out, const char *text, const char *default_realm)
{
	lethe_arena arena;
	krb_principal_name name;
	lbytes realm, def = lbytes_make(default_realm, default_realm ? strlen(default_realm) : 0);
	lethe_status rc;

	ENSURE(out != NULL && text != NULL, LETHE_ERR_INVALID_ARG);
	lethe_arena_init(&arena, 4 * KCL_MAX_NAME_BYTES);
	GUARD_GOTO(rc, krb_principal_parse(&arena, text, strlen(text), def, &name, &realm));
	ENSURE_GOTO(rc, realm.len > 0, LETHE_ERR_FORMAT);
	rc = kcl_name_set(out, &name, realm);
cleanup:
	lethe_arena_free(&arena);
	return rc;
}

lethe_status
kcl_name_copy(kcl_name *out, const kcl_name *in)
{
	krb_principal_name name = kcl_name_principal(in);

	return kcl_name_set(out, &name, in->realm);
}

krb_principal_name
kcl_name_principal(const kcl_name *n)
{
	return (krb_principal_name){
		.name_type = n->name_type,
		.components = n->comps,
		.n_components = n->n_comps,
	};
}

lethe_status
kcl_name_krbtgt(kcl_name *out, lbytes realm)
{
	lbytes comps[2] = { LBYTES_LIT("krbtgt"), realm };
	krb_principal_name name = {
		.name_type = KRB_NT_SRV_INST, .components = comps, .n_components = 2,
	};

	return kcl_name_set(out, &name, realm);
}

void
kcl_name_clear(kcl_name *n)
{
	if (n == NULL)
		return;
	free(n->buf);
	memset(n, 0, sizeof(*n));
}

lethe_status
kcl_status_for_krb_error(int32_t code)
{
	switch (code) {
	case KDC_ERR_C_PRINCIPAL_UNKNOWN:
	case KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return LETHE_ERR_NOT_FOUND;
	case KDC_ERR_ETYPE_NOSUPP:
		return LETHE_ERR_ETYPE_NOSUPP;
	case KDC_ERR_SUMTYPE_NOSUPP:
		return LETHE_ERR_CKSUM_NOSUPP;
	case KDC_ERR_PREAUTH_FAILED:
	case KRB_AP_ERR_BAD_INTEGRITY:
	case KRB_AP_ERR_MODIFIED:
		return LETHE_ERR_BAD_INTEGRITY;
	case KRB_ERR_RESPONSE_TOO_BIG:
		return LETHE_ERR_TOO_BIG;
	default:
		return KCL_ERR_KDC_REFUSED;
	}
}

void
kcl_error_set(kcl_error *err, const krb_error *e)
{
	size_t n = 0;

	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	err->code = e->error_code;
	if (!e->has_e_text)
		return;
	for (size_t i = 0; i < e->e_text.len && n + 1 < sizeof(err->text); i++) {
		uint8_t c = e->e_text.data[i];
		if (c == '\0')
			break;
		err->text[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	err->text[n] = '\0';
}

lethe_status
kcl_check_krb_error(const uint8_t *rep, size_t len, kcl_error *err)
{
	lethe_arena arena;
	krb_error e;
	lethe_status rc;

	if (len == 0 || rep[0] != 0x7e)
		return LETHE_OK;
	lethe_arena_init(&arena, 16384);
	rc = krb_decode_krb_error(&arena, rep, len, &e);
	if (rc == LETHE_OK) {
		kcl_error_set(err, &e);
		rc = kcl_status_for_krb_error(e.error_code);
	}
	lethe_arena_free(&arena);
	return rc;
}

bool
kcl_name_matches(const kcl_name *n, const krb_principal_name *name, lbytes realm)
{
	krb_principal_name mine = kcl_name_principal(n);

	return krb_principal_realm_eq(&mine, n->realm, name, realm);
}
