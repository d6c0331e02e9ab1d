/* lethe-admin: errors, the store, names, durations, JSON. */
#include "admin/admin.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/conf.h"

void
admin_err(const char *fmt, ...)
{
	va_list ap;

	fputs("lethe-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
admin_exit_for(lethe_status rc, enum store_error_kind kind)
{
	if (rc == LETHE_OK)
		return ADMIN_EXIT_OK;
	switch (kind) {
	case STORE_E_NOT_FOUND:
		return ADMIN_EXIT_NOT_FOUND;
	case STORE_E_EXISTS:
		return ADMIN_EXIT_EXISTS;
	case STORE_E_MASTER_KEY:
	case STORE_E_DATABASE:
	case STORE_E_UNAVAILABLE:
		return ADMIN_EXIT_STORE;
	case STORE_E_INVALID:
		return ADMIN_EXIT_USAGE;
	default:
		break;
	}
	if (rc == LETHE_ERR_NOT_FOUND)
		return ADMIN_EXIT_NOT_FOUND;
	if (rc == LETHE_ERR_BAD_INTEGRITY || rc == LETHE_ERR_FORMAT)
		return ADMIN_EXIT_STORE;
	return ADMIN_EXIT_OTHER;
}

int
admin_store_fail(admin_ctx *ctx, lethe_status rc, const char *what)
{
	const char *msg = store_errmsg(ctx->st);

	/* The store's message names the principal already. */
	if (msg[0] != '\0')
		admin_err("%s", msg);
	else
		admin_err("%s: %s", what, lethe_status_str(rc));
	return admin_exit_for(rc, store_error_kind(ctx->st));
}

int
admin_read_master_key(admin_ctx *ctx, store_master_key *mk)
{
	lethe_status rc;

	if (ctx->mkey_stdin) {
		if (ctx->stdin_used) {
			admin_err("standard input is already used");
			return ADMIN_EXIT_USAGE;
		}
		ctx->stdin_used = true;
		rc = store_master_key_read_fd(STDIN_FILENO, mk);
		if (rc != LETHE_OK) {
			admin_err("master key on standard input: expected 64 hex "
			    "digits (%s)", lethe_status_str(rc));
			return ADMIN_EXIT_STORE;
		}
		return ADMIN_EXIT_OK;
	}
	rc = store_master_key_load(ctx->mkey_path, mk);
	if (rc == LETHE_ERR_NOT_FOUND) {
		admin_err("master key file %s does not exist (give "
		    "--master-key-file or --master-key-stdin)", ctx->mkey_path);
		return ADMIN_EXIT_STORE;
	}
	if (rc != LETHE_OK) {
		admin_err("master key file %s: %s", ctx->mkey_path, rc ==
		    LETHE_ERR_FORMAT ? "not 64 hex digits" : lethe_status_str(rc));
		return ADMIN_EXIT_STORE;
	}
	return ADMIN_EXIT_OK;
}

int
admin_open_store(admin_ctx *ctx)
{
	store_master_key mk;
	enum store_error_kind kind = STORE_E_NONE;
	char err[512];
	lethe_status rc;
	int ex;

	ex = admin_read_master_key(ctx, &mk);
	if (ex != ADMIN_EXIT_OK)
		return ex;
	rc = store_open(ctx->store_path, &mk, &ctx->st, err, sizeof(err), &kind);
	store_master_key_wipe(&mk);
	if (rc != LETHE_OK) {
		admin_err("store %s: %s", ctx->store_path, err[0] ? err :
		    lethe_status_str(rc));
		/* A missing store is a store error here, not a missing principal. */
		return rc == LETHE_ERR_NOT_FOUND || kind == STORE_E_NOT_FOUND ?
		    ADMIN_EXIT_STORE : admin_exit_for(rc, kind);
	}
	if (store_realm_policy_get(ctx->st, &ctx->policy) != LETHE_OK) {
		admin_err("store %s: cannot read the realm policy", ctx->store_path);
		return ADMIN_EXIT_STORE;
	}
	return ADMIN_EXIT_OK;
}

int
admin_parse_name(admin_ctx *ctx, const char *name, kt_principal *p, char **canon)
{
	const char *realm = ctx->policy.realm;
	size_t len = strnlen(name, STORE_MAX_NAME_LEN + 1);

	*canon = NULL;
	if (len == 0 || len > STORE_MAX_NAME_LEN ||
	    kt_principal_parse(name, len, realm, p) != LETHE_OK) {
		admin_err("'%s' is not a principal name", name);
		return ADMIN_EXIT_USAGE;
	}
	if (p->realm.len != strlen(realm) || memcmp(p->realm.data, realm,
	    p->realm.len) != 0) {
		admin_err("%s is not in realm %s", name, realm);
		kt_principal_clear(p);
		return ADMIN_EXIT_USAGE;
	}
	if (kt_principal_unparse(p, canon) != LETHE_OK) {
		kt_principal_clear(p);
		admin_err("out of memory");
		return ADMIN_EXIT_OTHER;
	}
	return ADMIN_EXIT_OK;
}

lethe_status
admin_parse_duration(const char *text, int64_t *out)
{
	long long v = 0;

	/* The configuration file's grammar, so flags and files agree. */
	ENSURE(lethe_conf_parse_duration(text, &v), LETHE_ERR_FORMAT);
	ENSURE(v >= 0 && v <= INT32_MAX, LETHE_ERR_FORMAT);
	*out = v;
	return LETHE_OK;
}

void
json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(fp, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(fp, "\\u%04x", *c);
		else
			fputc(*c, fp);
	}
	fputc('"', fp);
}

const char *
admin_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%s", t == 0 ? "never" : "?");
	return buf;
}

void
admin_take_json(admin_ctx *ctx, int *argc, char **argv)
{
	int kept = 0;

	for (int i = 0; i < *argc; i++) {
		if (i > 0 && strcmp(argv[i], "--json") == 0)
			ctx->json = true;
		else
			argv[kept++] = argv[i];
	}
	argv[kept] = NULL;
	*argc = kept;
}
