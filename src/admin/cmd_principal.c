/* lethe-admin: principal commands (add-user, add-service, passwd, modify, ...). */
#include "admin/admin.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/wipe.h"
#include "crypto/crypto.h"

/* Options a principal command may take. */
typedef struct name_opts {
	const char *name;
	const char *password_file;
	bool password_stdin;
	bool no_preauth;
	bool random;
	bool expire_now;          /* passwd --expire-now */
	const char *policy;       /* --policy NAME (add-user, modify) */
	bool no_policy;           /* modify --no-policy */
	uint32_t set;             /* attributes to set (modify, add-user) */
	uint32_t clear;           /* and to clear */
} name_opts;

enum {
	OPT_PW_FILE = 256, OPT_PW_STDIN, OPT_NO_PREAUTH, OPT_RANDOM,
	OPT_ALLOW_SVR, OPT_NO_ALLOW_SVR, OPT_REQUIRES_PREAUTH,
	OPT_EXPIRE_NOW, OPT_POLICY, OPT_NO_POLICY,
};

/* Which options a command accepts. */
#define ACCEPT_PASSWORD  1u
#define ACCEPT_PREAUTH   2u
#define ACCEPT_RANDOM    4u
#define ACCEPT_ALLOW_SVR 8u      /* --allow-svr */
#define ACCEPT_MODIFY    16u     /* --no-allow-svr, --[no-]requires-preauth, --no-policy */
#define ACCEPT_EXPIRE    32u     /* --expire-now */
#define ACCEPT_POLICY    64u     /* --policy NAME */

/* Record an attribute option in o; false when it contradicts an earlier one. */
static bool
attr_opt(name_opts *o, int c)
{
	uint32_t bit = c == OPT_REQUIRES_PREAUTH || c == OPT_NO_PREAUTH ?
	    STORE_ATTR_REQUIRES_PREAUTH : STORE_ATTR_NO_SERVICE;
	/* allow_svr is the absence of no_service. */
	bool on = c == OPT_REQUIRES_PREAUTH || c == OPT_NO_ALLOW_SVR;

	if (((on ? o->clear : o->set) & bit) != 0)
		return false;
	if (on)
		o->set |= bit;
	else
		o->clear |= bit;
	return true;
}

/* Parse the command's options and its one NAME argument. */
static int
parse_name_opts(int argc, char **argv, unsigned accept, name_opts *o)
{
	static const struct option opts[] = {
		{ "password-file", required_argument, NULL, OPT_PW_FILE },
		{ "password-stdin", no_argument, NULL, OPT_PW_STDIN },
		{ "no-preauth", no_argument, NULL, OPT_NO_PREAUTH },
		{ "random", no_argument, NULL, OPT_RANDOM },
		{ "allow-svr", no_argument, NULL, OPT_ALLOW_SVR },
		{ "no-allow-svr", no_argument, NULL, OPT_NO_ALLOW_SVR },
		{ "requires-preauth", no_argument, NULL, OPT_REQUIRES_PREAUTH },
		{ "no-requires-preauth", no_argument, NULL, OPT_NO_PREAUTH },
		{ "expire-now", no_argument, NULL, OPT_EXPIRE_NOW },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "no-policy", no_argument, NULL, OPT_NO_POLICY },
		{ NULL, 0, NULL, 0 },
	};
	bool modify = (accept & ACCEPT_MODIFY) != 0;
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((c == OPT_PW_FILE || c == OPT_PW_STDIN) && (accept & ACCEPT_PASSWORD)) {
			o->password_file = c == OPT_PW_FILE ? optarg : o->password_file;
			o->password_stdin |= c == OPT_PW_STDIN;
		} else if (c == OPT_NO_PREAUTH && (accept & ACCEPT_PREAUTH))
			o->no_preauth = true;
		else if (c == OPT_RANDOM && (accept & ACCEPT_RANDOM))
			o->random = true;
		else if (c == OPT_EXPIRE_NOW && (accept & ACCEPT_EXPIRE))
			o->expire_now = true;
		else if (c == OPT_POLICY && (accept & ACCEPT_POLICY))
			o->policy = optarg;
		else if (c == OPT_NO_POLICY && modify)
			o->no_policy = true;
		else if ((c == OPT_ALLOW_SVR && (accept & (ACCEPT_ALLOW_SVR | ACCEPT_MODIFY))) ||
		    (modify && (c == OPT_NO_ALLOW_SVR || c == OPT_REQUIRES_PREAUTH ||
		    c == OPT_NO_PREAUTH))) {
			if (!attr_opt(o, c)) {
				admin_err("%s: contradicting options", argv[0]);
				return ADMIN_EXIT_USAGE;
			}
		} else {
			admin_err("%s: unknown or misplaced option", argv[0]);
			return ADMIN_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		admin_err("%s: exactly one principal NAME expected", argv[0]);
		return ADMIN_EXIT_USAGE;
	}
	if ((o->password_file != NULL) + o->password_stdin + o->random + o->expire_now > 1) {
		admin_err("%s: give one of --password-file, --password-stdin, "
		    "--random%s", argv[0], (accept & ACCEPT_EXPIRE) ? ", --expire-now" : "");
		return ADMIN_EXIT_USAGE;
	}
	if (o->policy != NULL && o->no_policy) {
		admin_err("%s: contradicting options", argv[0]);
		return ADMIN_EXIT_USAGE;
	}
	o->name = argv[optind];
	return ADMIN_EXIT_OK;
}

/* Open the store and parse NAME. */
static int
open_and_name(admin_ctx *ctx, const name_opts *o, kt_principal *p, char **canon)
{
	int ex = admin_open_store(ctx);

	return ex != ADMIN_EXIT_OK ? ex : admin_parse_name(ctx, o->name, p, canon);
}

/*
 * Keys from a password read as o says (password true), which policy pol
 * (NULL: none) must accept, or random.
 */
static int
new_keys(admin_ctx *ctx, const name_opts *o, const kt_principal *p, bool password,
    const store_pw_policy *pol, store_key *keys, size_t *nkeys)
{
	char pw[ADMIN_PASSWORD_MAX + 1], why[256];
	int ex = ADMIN_EXIT_OK;

	if (password)
		ex = admin_read_password(ctx, o->password_file, o->password_stdin,
		    pw, sizeof(pw));
	if (ex == ADMIN_EXIT_OK && password && pol != NULL &&
	    store_pw_policy_check(pol, pw, why, sizeof(why)) != STORE_PW_OK) {
		admin_err("%s: %s (policy %s)", o->name, why, pol->name);
		ex = ADMIN_EXIT_OTHER;
	}
	if (ex == ADMIN_EXIT_OK)
		ex = admin_make_keys(ctx, p, password ? pw : NULL, 1, keys, nkeys);
	lethe_wipe(pw, sizeof(pw));
	return ex;
}

static void
print_added(const admin_ctx *ctx, const char *verb, const char *name,
    uint32_t kvno)
{
	if (ctx->json) {
		printf("{\"principal\":");
		json_string(stdout, name);
		printf(",\"kvno\":%u}\n", kvno);
	} else
		printf("%s %s (kvno %u)\n", verb, name, kvno);
}

/* Exit 4 before any password prompt when name exists already. */
static int
refuse_existing(admin_ctx *ctx, const char *name)
{
	store_principal *old = NULL;
	lethe_status rc = store_principal_get(ctx->st, name, &old);

	store_principal_free(old);
	if (rc == LETHE_OK) {
		admin_err("principal %s already exists", name);
		return ADMIN_EXIT_EXISTS;
	}
	return rc == LETHE_ERR_NOT_FOUND ? ADMIN_EXIT_OK :
	    admin_store_fail(ctx, rc, name);
}

/*
 * The policy a new user follows: --policy NAME (which must exist), else
 * "default" when it exists; *found false for none.
 */
static int
user_policy(admin_ctx *ctx, const char *name, store_pw_policy *out, bool *found)
{
	lethe_status rc = store_pw_policy_get(ctx->st, name != NULL ? name :
	    STORE_DEFAULT_POLICY, out);

	*found = rc == LETHE_OK;
	if (rc == LETHE_OK || (rc == LETHE_ERR_NOT_FOUND && name == NULL))
		return ADMIN_EXIT_OK;
	return admin_store_fail(ctx, rc, name != NULL ? name : STORE_DEFAULT_POLICY);
}

/* add-user and add-service. */
static int
add_principal(admin_ctx *ctx, int argc, char **argv, enum store_principal_kind kind)
{
	name_opts o;
	kt_principal p = { 0 };
	store_key keys[STORE_MAX_ENCTYPES];
	store_principal sp;
	store_pw_policy pol;
	size_t nkeys = 0;
	char *name = NULL;
	bool user = kind == STORE_KIND_USER, has_pol = false;
	lethe_status rc;
	int ex;

	memset(keys, 0, sizeof(keys));
	ex = parse_name_opts(argc, argv, user ? ACCEPT_PASSWORD | ACCEPT_PREAUTH |
	    ACCEPT_ALLOW_SVR | ACCEPT_POLICY : 0, &o);
	if (ex == ADMIN_EXIT_OK)
		ex = open_and_name(ctx, &o, &p, &name);
	if (ex == ADMIN_EXIT_OK)
		ex = refuse_existing(ctx, name);
	if (ex == ADMIN_EXIT_OK && user)
		ex = user_policy(ctx, o.policy, &pol, &has_pol);
	if (ex == ADMIN_EXIT_OK)
		ex = new_keys(ctx, &o, &p, user, has_pol ? &pol : NULL, keys, &nkeys);
	if (ex == ADMIN_EXIT_OK) {
		memset(&sp, 0, sizeof(sp));
		sp.name = name;
		sp.kind = kind;
		/*
		 * Whatever the store's defaults: a user is no ticket's server
		 * unless --allow-svr, and every client pre-authenticates.
		 */
		sp.attributes = (user ? STORE_ATTR_DEFAULT_USER | STORE_ATTR_NO_SERVICE :
		    STORE_ATTR_DEFAULT_SERVICE) | STORE_ATTR_REQUIRES_PREAUTH;
		sp.attributes &= ~o.clear;
		if (o.no_preauth)
			sp.attributes &= ~STORE_ATTR_REQUIRES_PREAUTH;
		sp.policy = (char *)o.policy;
		sp.keys = keys;
		sp.nkeys = nkeys;
		rc = store_principal_add(ctx->st, &sp);
		if (rc != LETHE_OK)
			ex = admin_store_fail(ctx, rc, name);
		else
			print_added(ctx, "added", name, 1);
	}
	lethe_wipe(keys, sizeof(keys));
	kt_principal_clear(&p);
	free(name);
	return ex;
}

int
cmd_add_user(admin_ctx *ctx, int argc, char **argv)
{
	return add_principal(ctx, argc, argv, STORE_KIND_USER);
}

int
cmd_add_service(admin_ctx *ctx, int argc, char **argv)
{
	return add_principal(ctx, argc, argv, STORE_KIND_SERVICE);
}

/* passwd --expire-now: the password of name expires now (KDC_ERR_KEY_EXPIRED on AS). */
static int
expire_now(admin_ctx *ctx, const char *name)
{
	lethe_status rc = store_principal_expire_password(ctx->st, name, (int64_t)time(NULL));

	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, name);
	if (ctx->json) {
		printf("{\"principal\":");
		json_string(stdout, name);
		printf(",\"password_expired\":true}\n");
	} else
		printf("password of %s expired\n", name);
	return ADMIN_EXIT_OK;
}

/* A user's new password, through its policy (as kpasswd): new kvno or a refusal. */
static int
set_password(admin_ctx *ctx, const name_opts *o, const char *name)
{
	char pw[ADMIN_PASSWORD_MAX + 1], why[256];
	enum store_pw_verdict verdict = STORE_PW_OK;
	uint32_t kvno = 0;
	lethe_status rc;
	int ex;

	ex = admin_read_password(ctx, o->password_file, o->password_stdin, pw, sizeof(pw));
	if (ex == ADMIN_EXIT_OK) {
		rc = store_principal_set_password(ctx->st, name, pw, &kvno, &verdict, why,
		    sizeof(why));
		if (rc != LETHE_OK)
			ex = admin_store_fail(ctx, rc, name);
		else if (verdict != STORE_PW_OK) {
			admin_err("%s: %s", name, why);
			ex = ADMIN_EXIT_OTHER;
		} else
			print_added(ctx, "new keys for", name, kvno);
	}
	lethe_wipe(pw, sizeof(pw));
	return ex;
}

int
cmd_passwd(admin_ctx *ctx, int argc, char **argv)
{
	name_opts o;
	kt_principal p = { 0 };
	store_key keys[STORE_MAX_ENCTYPES];
	store_principal *old = NULL;
	size_t nkeys = 0;
	uint32_t kvno = 0;
	char *name = NULL;
	bool user = false;
	lethe_status rc;
	int ex;

	memset(keys, 0, sizeof(keys));
	ex = parse_name_opts(argc, argv, ACCEPT_PASSWORD | ACCEPT_RANDOM | ACCEPT_EXPIRE, &o);
	if (ex == ADMIN_EXIT_OK)
		ex = open_and_name(ctx, &o, &p, &name);
	/* Look it up first so a missing name is reported before any prompt. */
	if (ex == ADMIN_EXIT_OK &&
	    (rc = store_principal_get(ctx->st, name, &old)) != LETHE_OK)
		ex = admin_store_fail(ctx, rc, name);
	user = old != NULL && old->kind == STORE_KIND_USER;
	store_principal_free(old);
	if (ex != ADMIN_EXIT_OK)
		goto cleanup;
	if (o.expire_now) {
		ex = expire_now(ctx, name);
		goto cleanup;
	}
	/* A user's password follows its policy and history, as with kpasswd. */
	if (user && !o.random) {
		ex = set_password(ctx, &o, name);
		goto cleanup;
	}
	ex = new_keys(ctx, &o, &p, !o.random, NULL, keys, &nkeys);
	if (ex == ADMIN_EXIT_OK) {
		rc = store_principal_rekey(ctx->st, name, keys, nkeys, &kvno);
		if (rc != LETHE_OK)
			ex = admin_store_fail(ctx, rc, name);
		else
			print_added(ctx, "new keys for", name, kvno);
	}
cleanup:
	lethe_wipe(keys, sizeof(keys));
	kt_principal_clear(&p);
	free(name);
	return ex;
}

/* True when name (canonical) is the realm's own krbtgt. */
static bool
is_realm_tgs(const admin_ctx *ctx, const char *name)
{
	char tgs[2 * STORE_MAX_REALM_LEN + 16];

	snprintf(tgs, sizeof(tgs), "krbtgt/%s@%s", ctx->policy.realm,
	    ctx->policy.realm);
	return strcmp(name, tgs) == 0;
}

/* enable, disable, delete: NAME and one store call. */
static int
simple_change(admin_ctx *ctx, int argc, char **argv, int what)
{
	name_opts o;
	kt_principal p = { 0 };
	char *name = NULL;
	lethe_status rc = LETHE_OK;
	int ex;

	ex = parse_name_opts(argc, argv, 0, &o);
	if (ex == ADMIN_EXIT_OK)
		ex = open_and_name(ctx, &o, &p, &name);
	kt_principal_clear(&p);
	if (ex != ADMIN_EXIT_OK)
		goto cleanup;
	if (what != 'e' && is_realm_tgs(ctx, name)) {
		admin_err("%s: refusing to disable or delete the realm's own krbtgt",
		    argv[0]);
		ex = ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	if (what == 'e')
		rc = store_principal_set_attributes(ctx->st, name, 0, STORE_ATTR_DISABLED);
	else if (what == 'd')
		rc = store_principal_set_attributes(ctx->st, name, STORE_ATTR_DISABLED, 0);
	else
		rc = store_principal_delete(ctx->st, name);
	if (rc != LETHE_OK)
		ex = admin_store_fail(ctx, rc, name);
	else if (!ctx->json)
		printf("%s %s\n", what == 'e' ? "enabled" : what == 'd' ?
		    "disabled" : "deleted", name);
cleanup:
	free(name);
	return ex;
}

int
cmd_enable(admin_ctx *ctx, int argc, char **argv)
{
	return simple_change(ctx, argc, argv, 'e');
}

int
cmd_disable(admin_ctx *ctx, int argc, char **argv)
{
	return simple_change(ctx, argc, argv, 'd');
}

int
cmd_delete(admin_ctx *ctx, int argc, char **argv)
{
	return simple_change(ctx, argc, argv, 'x');
}

static void
print_modified(const admin_ctx *ctx, const store_principal *p)
{
	bool svr = !(p->attributes & STORE_ATTR_NO_SERVICE);
	bool pre = (p->attributes & STORE_ATTR_REQUIRES_PREAUTH) != 0;

	if (ctx->json) {
		printf("{\"principal\":");
		json_string(stdout, p->name);
		printf(",\"allow_svr\":%s,\"requires_preauth\":%s,\"policy\":",
		    svr ? "true" : "false", pre ? "true" : "false");
		if (p->policy != NULL)
			json_string(stdout, p->policy);
		else
			printf("null");
		puts("}");
	} else
		printf("modified %s (allow_svr: %s, requires_preauth: %s, policy: %s)\n",
		    p->name, svr ? "yes" : "no", pre ? "yes" : "no",
		    p->policy != NULL ? p->policy : "none");
}

/*
 * modify NAME [--allow-svr | --no-allow-svr] [--requires-preauth |
 * --no-requires-preauth]: allow_svr is the absence of no_service (MIT's
 * allow_svr); the KDC seals no ticket for a principal with no_service.
 */
int
cmd_modify(admin_ctx *ctx, int argc, char **argv)
{
	name_opts o;
	kt_principal kp = { 0 };
	store_principal *p = NULL;
	char *name = NULL;
	lethe_status rc;
	int ex;

	ex = parse_name_opts(argc, argv, ACCEPT_MODIFY | ACCEPT_POLICY, &o);
	if (ex == ADMIN_EXIT_OK && o.set == 0 && o.clear == 0 && o.policy == NULL &&
	    !o.no_policy) {
		admin_err("%s: nothing to change: give --allow-svr, --no-allow-svr, "
		    "--requires-preauth, --no-requires-preauth, --policy NAME or --no-policy",
		    argv[0]);
		ex = ADMIN_EXIT_USAGE;
	}
	if (ex == ADMIN_EXIT_OK)
		ex = open_and_name(ctx, &o, &kp, &name);
	kt_principal_clear(&kp);
	if (ex != ADMIN_EXIT_OK)
		goto cleanup;
	if ((o.set & STORE_ATTR_NO_SERVICE) && is_realm_tgs(ctx, name)) {
		admin_err("%s: refusing --no-allow-svr for the realm's own krbtgt "
		    "(no TGT could be issued)", argv[0]);
		ex = ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	rc = LETHE_OK;
	if (o.set != 0 || o.clear != 0)
		rc = store_principal_set_attributes(ctx->st, name, o.set, o.clear);
	if (rc == LETHE_OK && (o.policy != NULL || o.no_policy))
		rc = store_principal_set_policy(ctx->st, name, o.policy);
	if (rc == LETHE_OK)
		rc = store_principal_get(ctx->st, name, &p);
	if (rc != LETHE_OK)
		ex = admin_store_fail(ctx, rc, name);
	else
		print_modified(ctx, p);
cleanup:
	store_principal_free(p);
	free(name);
	return ex;
}

int
cmd_list(admin_ctx *ctx, int argc, char **argv)
{
	store_name_list *list = NULL;
	lethe_status rc;
	int ex;

	if (argc != 1) {
		admin_err("%s: takes no argument", argv[0]);
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_principal_list(ctx->st, &list);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "list");
	if (ctx->json)
		putchar('[');
	for (size_t i = 0; i < list->count; i++) {
		const store_name_entry *e = &list->entries[i];

		if (!ctx->json) {
			printf("%s\t%s\n", e->name, store_principal_kind_name(e->kind));
			continue;
		}
		printf("%s{\"name\":", i ? "," : "");
		json_string(stdout, e->name);
		printf(",\"kind\":\"%s\"}", store_principal_kind_name(e->kind));
	}
	if (ctx->json)
		puts("]");
	store_name_list_free(list);
	return ADMIN_EXIT_OK;
}

/* ------------------------------------------------------------ show */

static const struct {
	uint32_t bit;
	const char *name;
} attr_names[] = {
	{ STORE_ATTR_REQUIRES_PREAUTH, "requires_preauth" },
	{ STORE_ATTR_DISABLED, "disabled" },
	{ STORE_ATTR_ALLOW_FORWARDABLE, "allow_forwardable" },
	{ STORE_ATTR_ALLOW_RENEWABLE, "allow_renewable" },
	{ STORE_ATTR_ALLOW_PROXIABLE, "allow_proxiable" },
	{ STORE_ATTR_ALLOW_POSTDATED, "allow_postdated" },
	{ STORE_ATTR_NO_SERVICE, "no_service" },
	{ STORE_ATTR_OK_AS_DELEGATE, "ok_as_delegate" },
};

static const char *
enctype_name(int32_t enctype)
{
	const kc_enctype *et = NULL;

	return kc_enctype_lookup(enctype, &et) == LETHE_OK ? et->name : "unknown";
}

static void
show_text(const admin_ctx *ctx, const store_principal *p)
{
	char t1[32], t2[32], t3[32];

	printf("principal: %s\nkind: %s\nattributes:", p->name,
	    store_principal_kind_name(p->kind));
	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (p->attributes & attr_names[i].bit)
			printf(" %s", attr_names[i].name);
	printf("\nallow_svr: %s", (p->attributes & STORE_ATTR_NO_SERVICE) ? "no" : "yes");
	printf("\nmax life: %lld s%s\nmax renew: %lld s%s\nexpires: %s\n",
	    (long long)(p->max_life ? p->max_life : ctx->policy.max_life),
	    p->max_life ? "" : " (realm default)",
	    (long long)(p->max_renew ? p->max_renew : ctx->policy.max_renew),
	    p->max_renew ? "" : " (realm default)",
	    admin_time(p->expires_at, t1, sizeof(t1)));
	printf("created: %s\nmodified: %s\npassword changed: %s\n",
	    admin_time(p->created_at, t1, sizeof(t1)),
	    admin_time(p->modified_at, t2, sizeof(t2)),
	    admin_time(p->password_changed_at, t3, sizeof(t3)));
	printf("policy: %s\npassword expires: %s%s\nkeys: %zu\n",
	    p->policy != NULL ? p->policy : "none (the \"" STORE_DEFAULT_POLICY
	    "\" policy applies if it exists)", admin_time(p->password_expires_at, t1, sizeof(t1)),
	    p->password_expires_at != 0 && p->password_expires_at <= time(NULL) ?
	    " (expired)" : "", p->nkeys);
	for (size_t i = 0; i < p->nkeys; i++) {
		const store_key *k = &p->keys[i];

		printf("  kvno %u enctype %d %s %s salt %s registered %s",
		    k->kvno, (int)k->enctype, enctype_name(k->enctype),
		    store_key_kind_name(k->kind), k->salt ? "special" : "default",
		    admin_time(k->registered_at, t1, sizeof(t1)));
		if (k->kind == STORE_KEY_TEMPORARY)
			printf(" use-until %s accept-until %s",
			    admin_time(k->use_until, t2, sizeof(t2)),
			    admin_time(k->accept_until, t3, sizeof(t3)));
		putchar('\n');
	}
}

static void
show_json_key(const store_key *k)
{
	printf("{\"kvno\":%u,\"enctype\":%d,\"enctype_name\":\"%s\",\"kind\":\"%s\","
	    "\"salt\":\"%s\",\"s2k_iterations\":%u,\"registered_at\":%lld,"
	    "\"use_until\":%lld,\"accept_until\":%lld,\"registered_by\":",
	    k->kvno, (int)k->enctype, enctype_name(k->enctype),
	    store_key_kind_name(k->kind), k->salt ? "special" : "default",
	    k->s2k_iterations, (long long)k->registered_at,
	    (long long)k->use_until, (long long)k->accept_until);
	if (k->registered_by != NULL)
		json_string(stdout, k->registered_by);
	else
		printf("null");
	putchar('}');
}

static void
show_json(const store_principal *p)
{
	bool first = true;

	printf("{\"name\":");
	json_string(stdout, p->name);
	printf(",\"kind\":\"%s\",\"attributes\":[", store_principal_kind_name(p->kind));
	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
		if (!(p->attributes & attr_names[i].bit))
			continue;
		printf("%s\"%s\"", first ? "" : ",", attr_names[i].name);
		first = false;
	}
	printf("],\"allow_svr\":%s", (p->attributes & STORE_ATTR_NO_SERVICE) ?
	    "false" : "true");
	printf(",\"policy\":");
	if (p->policy != NULL)
		json_string(stdout, p->policy);
	else
		printf("null");
	printf(",\"password_expires_at\":%lld", (long long)p->password_expires_at);
	printf(",\"max_life\":%lld,\"max_renew\":%lld,\"expires_at\":%lld,"
	    "\"created_at\":%lld,\"modified_at\":%lld,\"password_changed_at\":%lld,"
	    "\"keys\":[", (long long)p->max_life, (long long)p->max_renew,
	    (long long)p->expires_at, (long long)p->created_at,
	    (long long)p->modified_at, (long long)p->password_changed_at);
	for (size_t i = 0; i < p->nkeys; i++) {
		if (i)
			putchar(',');
		show_json_key(&p->keys[i]);
	}
	puts("]}");
}

int
cmd_show(admin_ctx *ctx, int argc, char **argv)
{
	name_opts o;
	kt_principal kp = { 0 };
	store_principal *p = NULL;
	char *name = NULL;
	lethe_status rc;
	int ex;

	ex = parse_name_opts(argc, argv, 0, &o);
	if (ex == ADMIN_EXIT_OK)
		ex = open_and_name(ctx, &o, &kp, &name);
	kt_principal_clear(&kp);
	if (ex == ADMIN_EXIT_OK &&
	    (rc = store_principal_get(ctx->st, name, &p)) != LETHE_OK)
		ex = admin_store_fail(ctx, rc, name);
	if (ex == ADMIN_EXIT_OK) {
		if (ctx->json)
			show_json(p);
		else
			show_text(ctx, p);
	}
	store_principal_free(p);
	free(name);
	return ex;
}
