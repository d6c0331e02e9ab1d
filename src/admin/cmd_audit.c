/*
 * lethe-admin audit: every key's kind and lifetime; long-term service keys.
 * lethe-admin maintain: expired keys, nonces and old feed rows leave the store.
 */
#include "admin/admin.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
audit_key_text(const store_audit_key *k)
{
	char reg[32], use[32], acc[32];

	printf("  kvno %u enctype %d %s", k->kvno, (int)k->enctype,
	    store_key_kind_name(k->kind));
	if (k->kind == STORE_KEY_TEMPORARY)
		printf(" %s registered %s use-until %s accept-until %s by %s",
		    store_key_state_name(k->state),
		    admin_time(k->registered_at, reg, sizeof(reg)),
		    admin_time(k->use_until, use, sizeof(use)),
		    admin_time(k->accept_until, acc, sizeof(acc)),
		    k->registered_by != NULL ? k->registered_by : "-");
	printf("\n");
}

static void
audit_text(const store_audit_report *r, const char *realm)
{
	char t[32];

	printf("audit of realm %s at %s (generation %llu)\n", realm,
	    admin_time(r->now, t, sizeof(t)), (unsigned long long)r->generation);
	for (size_t i = 0; i < r->nprincipals; i++) {
		const store_audit_principal *p = &r->principals[i];

		printf("%s (%s%s)\n", p->name, store_principal_kind_name(p->kind),
		    p->agent_managed && p->kind != STORE_KIND_AGENT ?
		    ", agent-managed" : "");
		for (size_t j = 0; j < p->nkeys; j++)
			audit_key_text(&p->keys[j]);
	}
	printf("long-term service keys: %zu\n", r->long_term_service_keys);
	for (size_t i = 0; i < r->nlong_term_service_principals; i++)
		printf("  %s\n", r->long_term_service_principals[i]);
	printf("agent-managed principals: %zu\n", r->nagent_principals);
	for (size_t i = 0; i < r->nagent_principals; i++)
		printf("  %s\n", r->agent_principals[i]);
	printf("agent-managed principals with long-term keys: %s\n",
	    r->agent_long_term_present ? "yes" : "no");
}

static void
json_names(const char *field, char *const *names, size_t n)
{
	printf(",\"%s\":[", field);
	for (size_t i = 0; i < n; i++) {
		if (i)
			printf(",");
		json_string(stdout, names[i]);
	}
	printf("]");
}

static void
audit_json_key(const store_audit_key *k)
{
	printf("{\"kvno\":%u,\"enctype\":%d,\"kind\":\"%s\",\"state\":\"%s\","
	    "\"registered_at\":%lld,\"use_until\":%lld,\"accept_until\":%lld,"
	    "\"registered_by\":", k->kvno, (int)k->enctype,
	    store_key_kind_name(k->kind), store_key_state_name(k->state),
	    (long long)k->registered_at, (long long)k->use_until,
	    (long long)k->accept_until);
	if (k->registered_by != NULL)
		json_string(stdout, k->registered_by);
	else
		printf("null");
	printf("}");
}

static void
audit_json(const store_audit_report *r, const char *realm)
{
	printf("{\"realm\":");
	json_string(stdout, realm);
	printf(",\"now\":%lld,\"generation\":%llu,\"principals\":[",
	    (long long)r->now, (unsigned long long)r->generation);
	for (size_t i = 0; i < r->nprincipals; i++) {
		const store_audit_principal *p = &r->principals[i];

		printf("%s{\"name\":", i ? "," : "");
		json_string(stdout, p->name);
		printf(",\"kind\":\"%s\",\"agent_managed\":%s,\"keys\":[",
		    store_principal_kind_name(p->kind),
		    p->agent_managed ? "true" : "false");
		for (size_t j = 0; j < p->nkeys; j++) {
			if (j)
				printf(",");
			audit_json_key(&p->keys[j]);
		}
		printf("]}");
	}
	printf("],\"long_term_service_keys\":%zu,"
	    "\"long_term_service_keys_present\":%s", r->long_term_service_keys,
	    r->long_term_service_keys > 0 ? "true" : "false");
	json_names("long_term_service_principals",
	    r->long_term_service_principals, r->nlong_term_service_principals);
	json_names("agent_principals", r->agent_principals, r->nagent_principals);
	printf(",\"agent_long_term_present\":%s}\n",
	    r->agent_long_term_present ? "true" : "false");
}

int
cmd_audit(admin_ctx *ctx, int argc, char **argv)
{
	store_audit_report *r = NULL;
	lethe_status rc;
	int ex;

	admin_take_json(ctx, &argc, argv);
	if (argc != 1) {
		admin_err("usage: audit [--json]");
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_audit(ctx->st, (int64_t)time(NULL), &r);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "audit");
	if (ctx->json)
		audit_json(r, ctx->policy.realm);
	else
		audit_text(r, ctx->policy.realm);
	store_audit_report_free(r);
	return ADMIN_EXIT_OK;
}

static const char *
checkpoint_text(const store_maint_report *r)
{
	if (r->checkpointed)
		return "done";
	if (r->checkpoint_busy)
		return "busy (a reader holds the log; run maintain again later)";
	return "not needed";
}

int
cmd_maintain(admin_ctx *ctx, int argc, char **argv)
{
	store_maint_report r;
	int64_t now = (int64_t)time(NULL);
	uint64_t gen = 0;
	lethe_status rc;
	char t[32];
	int ex;

	admin_take_json(ctx, &argc, argv);
	if (argc != 1) {
		admin_err("usage: maintain [--json]");
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_maintain(ctx->st, now, &r);
	if (rc == LETHE_OK)
		rc = store_generation(ctx->st, &gen);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "maintain");
	if (ctx->json) {
		printf("{\"realm\":");
		json_string(stdout, ctx->policy.realm);
		printf(",\"now\":%lld,\"generation\":%llu,\"keys_deleted\":%zu,"
		    "\"principals_touched\":%zu,\"nonces_deleted\":%zu,"
		    "\"changes_trimmed\":%zu,\"checkpointed\":%s,"
		    "\"checkpoint_busy\":%s}\n", (long long)now,
		    (unsigned long long)gen, r.keys_deleted, r.principals_touched,
		    r.nonces_deleted, r.changes_trimmed,
		    r.checkpointed ? "true" : "false",
		    r.checkpoint_busy ? "true" : "false");
		return ADMIN_EXIT_OK;
	}
	printf("maintenance of realm %s at %s (generation %llu)\n",
	    ctx->policy.realm, admin_time(now, t, sizeof(t)),
	    (unsigned long long)gen);
	printf("expired temporary keys deleted: %zu (of %zu principals)\n",
	    r.keys_deleted, r.principals_touched);
	printf("expired nonces deleted: %zu\n", r.nonces_deleted);
	printf("change feed rows trimmed: %zu\n", r.changes_trimmed);
	printf("checkpoint: %s\n", checkpoint_text(&r));
	return ADMIN_EXIT_OK;
}
