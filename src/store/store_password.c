/* Password keys and policy checks: see store/password.h. */
#include "store/password.h"

#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "crypto/crypto.h"

/* The default salt of p (realm then components) in a new buffer. */
static lethe_status
default_salt(const kt_principal *p, uint8_t **out, size_t *out_len)
{
	lbytes comps[KT_MAX_COMPONENTS];
	lbytes realm = kt_buf_view(p->realm);
	size_t len = 0;
	lethe_status rc;

	*out = NULL;
	ENSURE(p->ncomponents <= KT_MAX_COMPONENTS, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < p->ncomponents; i++)
		comps[i] = kt_buf_view(p->components[i]);
	rc = kc_salt_default(realm, comps, p->ncomponents, NULL, 0, &len);
	ENSURE(rc == LETHE_OK || rc == LETHE_ERR_TOO_BIG, rc);
	*out = malloc(len ? len : 1);
	ENSURE(*out != NULL, LETHE_ERR_NOMEM);
	rc = kc_salt_default(realm, comps, p->ncomponents, *out, len, out_len);
	if (rc != LETHE_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* One key of enctype: from the password and salt, or random. */
static lethe_status
make_one(int32_t enctype, const char *password, const uint8_t *salt,
    size_t salt_len, uint32_t kvno, store_key *out)
{
	kc_key key;
	lbytes bytes;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	if (password != NULL)
		rc = kc_string_to_key(&key, enctype, lbytes_make(password,
		    strlen(password)), lbytes_make(salt, salt_len),
		    lbytes_make(NULL, 0));
	else
		rc = kc_key_generate(&key, enctype);
	if (rc == LETHE_OK) {
		bytes = kc_key_bytes(&key);
		if (bytes.len == 0 || bytes.len > sizeof(out->key))
			rc = LETHE_ERR_INVALID_ARG;
		else {
			memset(out, 0, sizeof(*out));
			memcpy(out->key, bytes.data, bytes.len);
			out->key_len = bytes.len;
			out->kvno = kvno;
			out->enctype = enctype;
			out->kind = STORE_KEY_LONG_TERM;
		}
	}
	kc_key_clear(&key);
	return rc;
}

lethe_status
store_password_keys(const store_realm_policy *pol, const kt_principal *p,
    const char *password, uint32_t kvno, store_key *keys, size_t *nkeys)
{
	uint8_t *salt = NULL;
	size_t salt_len = 0, n = 0;
	lethe_status rc = LETHE_OK;

	*nkeys = 0;
	ENSURE(pol->nenctypes <= STORE_MAX_ENCTYPES, LETHE_ERR_INVALID_ARG);
	if (password != NULL)
		GUARD_GOTO(rc, default_salt(p, &salt, &salt_len));
	for (n = 0; n < pol->nenctypes; n++)
		GUARD_GOTO(rc, make_one(pol->enctypes[n], password, salt, salt_len, kvno,
		    &keys[n]));
	*nkeys = n;
cleanup:
	free(salt);
	if (rc != LETHE_OK)
		lethe_wipe(keys, n * sizeof(*keys));
	return rc;
}
