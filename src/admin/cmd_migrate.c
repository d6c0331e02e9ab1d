/* lethe-admin migrate: the realm of the store into an empty PostgreSQL database. */
#include "admin/admin.h"

#include <string.h>

/*
 * migrate --to URI [--json]: open the store (-d, [store] path) with the
 * master key, which checks it opens the source, then copy every table
 * into the empty database at URI (store_migrate). The URI is not printed:
 * it may hold a password.
 */
int
cmd_migrate(admin_ctx *ctx, int argc, char **argv)
{
	store_migrate_report rep;
	store_master_key mk;
	enum store_error_kind kind = STORE_E_NONE;
	const char *to = NULL;
	char err[512];
	lethe_status rc;
	int ex;

	admin_take_json(ctx, &argc, argv);
	if (argc == 3 && strcmp(argv[1], "--to") == 0)
		to = argv[2];
	if (to == NULL || !store_path_is_url(to)) {
		admin_err("usage: migrate --to postgresql://... [--json]");
		return ADMIN_EXIT_USAGE;
	}
	if (store_path_is_url(ctx->store_path) && strcmp(ctx->store_path, to) == 0) {
		admin_err("migrate: the target is the store itself");
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = admin_read_master_key(ctx, &mk)) != ADMIN_EXIT_OK)
		return ex;
	/* admin_open_store reads the key itself: give it the one just read. */
	rc = store_open(ctx->store_path, &mk, &ctx->st, err, sizeof(err), &kind);
	if (rc != LETHE_OK) {
		store_master_key_wipe(&mk);
		admin_err("store %s: %s", ctx->store_path, err[0] ? err :
		    lethe_status_str(rc));
		return rc == LETHE_ERR_NOT_FOUND || kind == STORE_E_NOT_FOUND ?
		    ADMIN_EXIT_STORE : admin_exit_for(rc, kind);
	}
	(void)store_realm_policy_get(ctx->st, &ctx->policy);
	rc = store_migrate(ctx->st, to, &mk, &rep, err, sizeof(err), &kind);
	store_master_key_wipe(&mk);
	if (rc != LETHE_OK) {
		admin_err("migrate: %s", err[0] ? err : lethe_status_str(rc));
		return admin_exit_for(rc, kind);
	}
	if (ctx->json) {
		printf("{\"realm\":");
		json_string(stdout, ctx->policy.realm);
		printf(",\"generation\":%llu,\"tables\":{",
		    (unsigned long long)rep.generation);
		for (size_t i = 0; i < rep.ntables; i++)
			printf("%s\"%s\":%zu", i ? "," : "", rep.tables[i].name,
			    rep.tables[i].rows);
		printf("}}\n");
		return ADMIN_EXIT_OK;
	}
	printf("realm %s migrated at generation %llu (one transaction):\n",
	    ctx->policy.realm, (unsigned long long)rep.generation);
	for (size_t i = 0; i < rep.ntables; i++)
		printf("  %-15s %zu rows\n", rep.tables[i].name, rep.tables[i].rows);
	return ADMIN_EXIT_OK;
}
