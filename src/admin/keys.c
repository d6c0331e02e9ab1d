/* lethe-admin: enctype lists and the keys of new principals (src/crypto). */
#include "admin/admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/wipe.h"
#include "crypto/crypto.h"
#include "store/password.h"

/* One enctype token: a number or an MIT name. */
static lethe_status
enctype_token(const char *tok, int32_t *out)
{
	const kc_enctype *et = NULL;
	char *end = NULL;
	long n;

	errno = 0;
	n = strtol(tok, &end, 10);
	if (end != tok && *end == '\0' && errno == 0) {
		ENSURE(n > 0 && n <= INT16_MAX && kc_enctype_supported((int32_t)n),
		    LETHE_ERR_ETYPE_NOSUPP);
		*out = (int32_t)n;
		return LETHE_OK;
	}
	GUARD(kc_enctype_lookup_name(tok, &et));
	*out = et->number;
	return LETHE_OK;
}

lethe_status
admin_parse_enctypes(const char *text, store_realm_policy *p)
{
	char buf[512];
	char *save = NULL, *tok;
	size_t n = 0;

	ENSURE(strlen(text) < sizeof(buf), LETHE_ERR_TOO_BIG);
	strcpy(buf, text);
	for (tok = strtok_r(buf, " ,\t", &save); tok != NULL;
	    tok = strtok_r(NULL, " ,\t", &save)) {
		int32_t e = 0;

		ENSURE(n < STORE_MAX_ENCTYPES, LETHE_ERR_TOO_BIG);
		GUARD(enctype_token(tok, &e));
		for (size_t i = 0; i < n; i++)
			ENSURE(p->enctypes[i] != e, LETHE_ERR_INVALID_ARG);
		p->enctypes[n++] = e;
	}
	ENSURE(n > 0, LETHE_ERR_FORMAT);
	p->nenctypes = n;
	return LETHE_OK;
}

int
admin_make_keys(admin_ctx *ctx, const kt_principal *p, const char *password,
    uint32_t kvno, store_key *keys, size_t *nkeys)
{
	lethe_status rc;

	rc = store_password_keys(&ctx->policy, p, password, kvno, keys, nkeys);
	if (rc != LETHE_OK) {
		admin_err("cannot make keys: %s", lethe_status_str(rc));
		return ADMIN_EXIT_OTHER;
	}
	return ADMIN_EXIT_OK;
}
