/* lethe-admin export-keytab: a principal's keys into an MIT keytab file. */
#include "admin/admin.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* True when key k should go to a keytab now: long-term, or still accepted. */
static bool
exportable(const store_key *k, int64_t now)
{
	return k->kind == STORE_KEY_LONG_TERM || k->accept_until == 0 ||
	    k->accept_until >= now;
}

/*
 * Merge the keys of p into kt: entries of p with a kvno the store has are
 * replaced by the store's; other entries are kept. *added receives the
 * number of keys written.
 */
static lethe_status
merge_keys(kt_keytab *kt, const kt_principal *kp, const store_principal *p,
    size_t *added)
{
	int64_t now = (int64_t)time(NULL);

	*added = 0;
	for (size_t i = 0; i < p->nkeys; i++)
		if (exportable(&p->keys[i], now))
			GUARD(kt_remove_kvno(kt, kp, p->keys[i].kvno, NULL));
	for (size_t i = 0; i < p->nkeys; i++) {
		const store_key *k = &p->keys[i];
		uint32_t stamp = k->registered_at > 0 && k->registered_at <= UINT32_MAX ?
		    (uint32_t)k->registered_at : 0;

		if (!exportable(k, now))
			continue;
		GUARD(kt_add(kt, kp, k->kvno, k->enctype, stamp,
		    lbytes_make(k->key, k->key_len)));
		(*added)++;
	}
	return LETHE_OK;
}

static int
parse_opts(int argc, char **argv, const char **name, const char **file)
{
	static const struct option opts[] = {
		{ "keytab", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*file = NULL;
	while ((c = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		if (c != 'k') {
			admin_err("%s: unknown option", argv[0]);
			return ADMIN_EXIT_USAGE;
		}
		*file = optarg;
	}
	if (optind + 1 != argc || *file == NULL || **file == '\0') {
		admin_err("%s: usage: export-keytab NAME -k FILE", argv[0]);
		return ADMIN_EXIT_USAGE;
	}
	*name = argv[optind];
	return ADMIN_EXIT_OK;
}

int
cmd_export_keytab(admin_ctx *ctx, int argc, char **argv)
{
	const char *arg_name = NULL, *file = NULL;
	kt_principal kp = { 0 };
	kt_keytab *kt = NULL;
	store_principal *p = NULL;
	char *name = NULL;
	size_t added = 0;
	lethe_status rc;
	int ex;

	if ((ex = parse_opts(argc, argv, &arg_name, &file)) != ADMIN_EXIT_OK ||
	    (ex = admin_open_store(ctx)) != ADMIN_EXIT_OK ||
	    (ex = admin_parse_name(ctx, arg_name, &kp, &name)) != ADMIN_EXIT_OK)
		goto cleanup;
	if ((rc = store_principal_get(ctx->st, name, &p)) != LETHE_OK) {
		ex = admin_store_fail(ctx, rc, name);
		goto cleanup;
	}
	rc = kt_load(file, &kt);
	if (rc == LETHE_ERR_NOT_FOUND)
		rc = kt_new(&kt);
	if (rc != LETHE_OK) {
		admin_err("keytab %s: %s", file, lethe_status_str(rc));
		ex = ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	rc = merge_keys(kt, &kp, p, &added);
	if (rc == LETHE_OK && added == 0)
		rc = LETHE_ERR_NOT_FOUND;
	if (rc == LETHE_OK)
		rc = kt_save(kt, file);
	if (rc != LETHE_OK) {
		admin_err("keytab %s: %s", file, rc == LETHE_ERR_NOT_FOUND ?
		    "the principal has no key to export" : lethe_status_str(rc));
		ex = rc == LETHE_ERR_NOT_FOUND ? ADMIN_EXIT_NOT_FOUND : ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	if (!ctx->json)
		printf("wrote %zu keys of %s to %s\n", added, name, file);
cleanup:
	kt_free(kt);
	store_principal_free(p);
	kt_principal_clear(&kp);
	free(name);
	return ex;
}
