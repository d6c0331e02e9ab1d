/* lethe-admin policy: password policies (add, modify, show, list, delete). */
#include "admin/admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_MIN_LENGTH = 256, OPT_MIN_CLASSES, OPT_HISTORY, OPT_MAX_AGE };

#define POLICY_USAGE                                                             \
	"policy add|modify NAME [--min-length N] [--min-classes N] [--history N]\n" \
	"       [--max-age DUR] | policy show NAME | policy list | policy delete NAME"

/* A count option: 0..max. */
static int
parse_count(const char *flag, const char *text, unsigned long max, uint32_t *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max) {
		admin_err("%s: expected a number from 0 to %lu, not '%s'", flag, max, text);
		return ADMIN_EXIT_USAGE;
	}
	*out = (uint32_t)v;
	return ADMIN_EXIT_OK;
}

/* Which limits the options gave (parse_limits). */
#define SET_LENGTH  1u
#define SET_CLASSES 2u
#define SET_HISTORY 4u
#define SET_MAX_AGE 8u

/* The options of add and modify into *p; *set says which were given. */
static int
parse_limits(int argc, char **argv, store_pw_policy *p, unsigned *set)
{
	static const struct option opts[] = {
		{ "min-length", required_argument, NULL, OPT_MIN_LENGTH },
		{ "min-classes", required_argument, NULL, OPT_MIN_CLASSES },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "max-age", required_argument, NULL, OPT_MAX_AGE },
		{ NULL, 0, NULL, 0 },
	};
	int c, ex = ADMIN_EXIT_OK;

	*set = 0;
	optind = 0;     /* argv is new to getopt: start over */
	while (ex == ADMIN_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_MIN_LENGTH) {
			*set |= SET_LENGTH;
			ex = parse_count("--min-length", optarg, 1024, &p->min_length);
		} else if (c == OPT_MIN_CLASSES) {
			*set |= SET_CLASSES;
			ex = parse_count("--min-classes", optarg, STORE_MAX_PW_CLASSES,
			    &p->min_classes);
		} else if (c == OPT_HISTORY) {
			*set |= SET_HISTORY;
			ex = parse_count("--history", optarg, STORE_MAX_PW_HISTORY, &p->history);
		} else if (c == OPT_MAX_AGE) {
			*set |= SET_MAX_AGE;
			if (admin_parse_duration(optarg, &p->max_age) != LETHE_OK) {
				admin_err("--max-age: expected a duration (90d, 12h, 0), not '%s'",
				    optarg);
				ex = ADMIN_EXIT_USAGE;
			}
		} else {
			admin_err("usage: " POLICY_USAGE);
			ex = ADMIN_EXIT_USAGE;
		}
	}
	if (ex == ADMIN_EXIT_OK && optind + 1 != argc) {
		admin_err("usage: " POLICY_USAGE);
		ex = ADMIN_EXIT_USAGE;
	}
	return ex;
}

static void
print_policy(const admin_ctx *ctx, const store_pw_policy *p, bool comma)
{
	if (ctx->json) {
		printf("%s{\"name\":", comma ? "," : "");
		json_string(stdout, p->name);
		printf(",\"min_length\":%u,\"min_classes\":%u,\"history\":%u,\"max_age\":%lld,"
		    "\"principals\":%llu}", (unsigned)p->min_length, (unsigned)p->min_classes,
		    (unsigned)p->history, (long long)p->max_age,
		    (unsigned long long)p->principals);
		return;
	}
	printf("%s: min_length %u, min_classes %u, history %u, max_age %lld s%s, "
	    "principals %llu\n", p->name, (unsigned)p->min_length, (unsigned)p->min_classes,
	    (unsigned)p->history, (long long)p->max_age, p->max_age == 0 ? " (never)" : "",
	    (unsigned long long)p->principals);
}

/* add and modify (which keeps the limits not given). */
static int
policy_put(admin_ctx *ctx, int argc, char **argv, bool create)
{
	store_pw_policy given, p;
	unsigned set = 0;
	lethe_status rc;
	int ex;

	memset(&given, 0, sizeof(given));
	if ((ex = parse_limits(argc, argv, &given, &set)) != ADMIN_EXIT_OK)
		return ex;
	if (strlen(argv[optind]) > STORE_MAX_POLICY_NAME) {
		admin_err("policy: name too long");
		return ADMIN_EXIT_USAGE;
	}
	if (!create && set == 0) {
		admin_err("policy modify: nothing to change");
		return ADMIN_EXIT_USAGE;
	}
	snprintf(given.name, sizeof(given.name), "%s", argv[optind]);
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	p = given;
	if (!create) {
		if ((rc = store_pw_policy_get(ctx->st, given.name, &p)) != LETHE_OK)
			return admin_store_fail(ctx, rc, given.name);
		p.min_length = (set & SET_LENGTH) ? given.min_length : p.min_length;
		p.min_classes = (set & SET_CLASSES) ? given.min_classes : p.min_classes;
		p.history = (set & SET_HISTORY) ? given.history : p.history;
		p.max_age = (set & SET_MAX_AGE) ? given.max_age : p.max_age;
	}
	rc = store_pw_policy_put(ctx->st, &p, create);
	if (rc == LETHE_OK)
		rc = store_pw_policy_get(ctx->st, p.name, &p);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, p.name);
	if (!ctx->json)
		printf("%s ", create ? "added" : "modified");
	print_policy(ctx, &p, false);
	if (ctx->json)
		putchar('\n');
	return ADMIN_EXIT_OK;
}

static int
policy_list(admin_ctx *ctx)
{
	store_pw_policy *list = NULL;
	size_t n = 0;
	lethe_status rc;
	int ex;

	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	if ((rc = store_pw_policy_list(ctx->st, &list, &n)) != LETHE_OK)
		return admin_store_fail(ctx, rc, "policy list");
	if (ctx->json)
		putchar('[');
	for (size_t i = 0; i < n; i++)
		print_policy(ctx, &list[i], i > 0);
	if (ctx->json)
		puts("]");
	free(list);
	return ADMIN_EXIT_OK;
}

/* show and delete. */
static int
policy_one(admin_ctx *ctx, const char *what, const char *name)
{
	store_pw_policy p;
	lethe_status rc;
	int ex;

	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	if (strcmp(what, "show") == 0) {
		if ((rc = store_pw_policy_get(ctx->st, name, &p)) != LETHE_OK)
			return admin_store_fail(ctx, rc, name);
		print_policy(ctx, &p, false);
		if (ctx->json)
			putchar('\n');
		return ADMIN_EXIT_OK;
	}
	if ((rc = store_pw_policy_delete(ctx->st, name)) != LETHE_OK)
		return admin_store_fail(ctx, rc, name);
	if (!ctx->json)
		printf("deleted policy %s\n", name);
	return ADMIN_EXIT_OK;
}

/*
 * policy add|modify NAME [limits], policy show|delete NAME, policy list:
 * MIT's named password policies (kadmin addpol, modpol, getpol, listpols,
 * delpol). A principal follows its own (add-user/modify --policy), else
 * the one called "default".
 */
int
cmd_policy(admin_ctx *ctx, int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (strcmp(what, "add") == 0 || strcmp(what, "modify") == 0)
		return policy_put(ctx, argc - 1, argv + 1, strcmp(what, "add") == 0);
	if (strcmp(what, "list") == 0 && argc == 2)
		return policy_list(ctx);
	if ((strcmp(what, "show") == 0 || strcmp(what, "delete") == 0) && argc == 3)
		return policy_one(ctx, what, argv[2]);
	admin_err("usage: " POLICY_USAGE);
	return ADMIN_EXIT_USAGE;
}
