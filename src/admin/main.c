/* lethe-admin: global options, configuration and command dispatch. */
#include "admin/admin.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"

static const char usage_text[] =
    "usage: lethe-admin [-c CONFIG] [-d STORE] [--master-key-file FILE |\n"
    "                   --master-key-stdin] [--json] COMMAND [ARGS]\n"
    "commands:\n"
    "  init --realm REALM [--enctypes LIST] [--max-life DUR] [--max-renew DUR]\n"
    "       [--skew DUR] [--kdc-host HOST] [--import-cert PEM --import-key PEM]\n"
    "  add-user NAME [--password-file F | --password-stdin] [--no-preauth]\n"
    "       [--allow-svr] [--policy POLICY]\n"
    "  add-service NAME\n"
    "  modify NAME [--allow-svr | --no-allow-svr]\n"
    "       [--requires-preauth | --no-requires-preauth]\n"
    "       [--policy POLICY | --no-policy]\n"
    "  passwd NAME [--password-file F | --password-stdin | --random | --expire-now]\n"
    "  policy add|modify POLICY [--min-length N] [--min-classes N] [--history N]\n"
    "       [--max-age DUR] | policy show|delete POLICY | policy list\n"
    "  disable NAME | enable NAME | delete NAME | show NAME | list\n"
    "  export-keytab NAME -k FILE\n"
    "  trust add NAME PEMFILE | trust list | trust remove NAME\n"
    "  allow --subject DN | --san TYPE:VALUE | --spki HEX [--callback HOST[:PORT]]... PATTERN\n"
    "  allow list | allow remove ID\n"
    "  reg-policy [--auto-enrol on|off] [--dns-services \"host HTTP\"]\n"
    "       [--max-use-window DUR] [--enctypes LIST]   (no flag: show)\n"
    "  service-policy NAME [--pubkey-tickets on|off] [--classic-key on|off]\n"
    "  agents | audit [--json] | maintain [--json] | request-key NAME\n"
    "  export-ca -o FILE | export-kdc-cert -o FILE\n"
    "  issue-cert --principal P [--dns HOST] [--days N] --key-out F --cert-out F\n"
    "  import-mit DUMP --stash FILE [--keep-mit-flags]   (into a fresh realm)\n"
    "  migrate --to postgresql://...   (copy the realm into an empty database)\n"
    "The store defaults to ./" ADMIN_DEFAULT_STORE ", the master key file to\n"
    "STORE" ADMIN_MKEY_SUFFIX "; a configuration file may set them in [store]\n"
    "as path and master_key_file. Exit codes: 0 ok, 1 other error, 2 usage,\n"
    "3 not found, 4 already exists, 5 store or master key error.\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return ADMIN_EXIT_USAGE;
}

typedef struct command {
	const char *name;
	int (*run)(admin_ctx *ctx, int argc, char **argv);
} command;

static const command commands[] = {
	{ "init", cmd_init },
	{ "add-user", cmd_add_user },
	{ "add-service", cmd_add_service },
	{ "passwd", cmd_passwd },
	{ "disable", cmd_disable },
	{ "enable", cmd_enable },
	{ "delete", cmd_delete },
	{ "modify", cmd_modify },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "policy", cmd_policy },
	{ "export-keytab", cmd_export_keytab },
	{ "trust", cmd_trust },
	{ "allow", cmd_allow },
	{ "reg-policy", cmd_reg_policy },
	{ "service-policy", cmd_service_policy },
	{ "agents", cmd_agents },
	{ "request-key", cmd_request_key },
	{ "audit", cmd_audit },
	{ "maintain", cmd_maintain },
	{ "export-ca", cmd_export_ca },
	{ "export-kdc-cert", cmd_export_kdc_cert },
	{ "issue-cert", cmd_issue_cert },
	{ "import-mit", cmd_import_mit },
	{ "migrate", cmd_migrate },
};

/* Copy src into a path buffer. */
static int
set_path(char *dst, const char *src, const char *what)
{
	size_t len = strnlen(src, ADMIN_PATH_MAX);

	if (len == 0 || len >= ADMIN_PATH_MAX) {
		admin_err("%s: empty or too long", what);
		return ADMIN_EXIT_USAGE;
	}
	memcpy(dst, src, len + 1);
	return ADMIN_EXIT_OK;
}

/*
 * A path from the config file: relative ones are taken from the directory
 * of the config file, as lethe-kdc does, so one file serves both programs.
 */
static int
set_config_path(const admin_ctx *ctx, char *dst, const char *value, const char *what)
{
	char dir[ADMIN_PATH_MAX], joined[ADMIN_PATH_MAX];
	const char *slash;
	int n;

	if (value[0] == '/' || store_path_is_url(value) ||
	    (slash = strrchr(ctx->config_path, '/')) == NULL)
		return set_path(dst, value, what);
	n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - ctx->config_path),
	    ctx->config_path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return set_path(dst, "", what);
	n = snprintf(joined, sizeof(joined), "%s/%s", dir[0] ? dir : "", value);
	if (n < 0 || (size_t)n >= sizeof(joined))
		return set_path(dst, "", what);
	return set_path(dst, joined, what);
}

/* Store path and master key file from the [store] section of the config. */
static int
read_config(admin_ctx *ctx, bool have_store, bool have_mkey)
{
	static const char *const known[] = { "path", "master_key_file" };
	lethe_conf *conf = NULL;
	lethe_conf_error err;
	lethe_conf_entry e;
	const char *v = NULL;
	int ex = ADMIN_EXIT_OK;

	if (lethe_conf_load(ctx->config_path, &conf, &err) != LETHE_OK) {
		admin_err("%s", err.text);
		return ADMIN_EXIT_USAGE;
	}
	for (size_t i = 0; i < lethe_conf_count(conf) && ex == ADMIN_EXIT_OK; i++) {
		if (lethe_conf_at(conf, i, &e) != LETHE_OK ||
		    strcmp(e.section, "store") != 0)
			continue;
		if (strcmp(e.key, known[0]) != 0 && strcmp(e.key, known[1]) != 0) {
			admin_err("%s:%u: unknown key [store] %s", ctx->config_path,
			    e.line, e.key);
			ex = ADMIN_EXIT_USAGE;
		}
	}
	if (ex == ADMIN_EXIT_OK && !have_store &&
	    lethe_conf_get_str(conf, "store", "path", NULL, &v) == LETHE_OK &&
	    v != NULL)
		ex = set_config_path(ctx, ctx->store_path, v, "[store] path");
	if (ex == ADMIN_EXIT_OK && !have_mkey &&
	    lethe_conf_get_str(conf, "store", "master_key_file", NULL, &v) ==
	    LETHE_OK && v != NULL)
		ex = set_config_path(ctx, ctx->mkey_path, v, "[store] master_key_file");
	lethe_conf_free(conf);
	return ex;
}

/* Fill the default paths that neither flags nor the config set. */
static int
default_paths(admin_ctx *ctx)
{
	int n;

	if (ctx->store_path[0] == '\0')
		memcpy(ctx->store_path, ADMIN_DEFAULT_STORE, sizeof(ADMIN_DEFAULT_STORE));
	if (ctx->mkey_path[0] != '\0')
		return ADMIN_EXIT_OK;
	if (store_path_is_url(ctx->store_path) && !ctx->mkey_stdin) {
		/* No file to put it beside: every KDC of the realm holds a copy. */
		admin_err("a PostgreSQL store needs --master-key-file, "
		    "--master-key-stdin or [store] master_key_file");
		return ADMIN_EXIT_USAGE;
	}
	if (store_path_is_url(ctx->store_path))
		return ADMIN_EXIT_OK;
	n = snprintf(ctx->mkey_path, sizeof(ctx->mkey_path), "%s%s",
	    ctx->store_path, ADMIN_MKEY_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(ctx->mkey_path)) {
		admin_err("store path too long");
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

enum { OPT_MKEY_FILE = 256, OPT_MKEY_STDIN, OPT_JSON, OPT_HELP };

static int
parse_global(admin_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "store", required_argument, NULL, 'd' },
		{ "master-key-file", required_argument, NULL, OPT_MKEY_FILE },
		{ "master-key-stdin", no_argument, NULL, OPT_MKEY_STDIN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_store = false, have_mkey = false;
	int c, ex = ADMIN_EXIT_OK;

	/* "+": stop at the command name; its options are its own. */
	while (ex == ADMIN_EXIT_OK &&
	    (c = getopt_long(argc, argv, "+c:d:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'd':
			ex = set_path(ctx->store_path, optarg, "-d");
			have_store = true;
			break;
		case OPT_MKEY_FILE:
			ex = set_path(ctx->mkey_path, optarg, "--master-key-file");
			have_mkey = true;
			break;
		case OPT_MKEY_STDIN:
			ctx->mkey_stdin = true;
			break;
		case OPT_JSON:
			ctx->json = true;
			break;
		default:
			return usage();
		}
	}
	if (ex != ADMIN_EXIT_OK)
		return ex;
	if (have_mkey && ctx->mkey_stdin) {
		admin_err("--master-key-file and --master-key-stdin exclude each other");
		return ADMIN_EXIT_USAGE;
	}
	if (ctx->config_path != NULL)
		ex = read_config(ctx, have_store, have_mkey);
	return ex == ADMIN_EXIT_OK ? default_paths(ctx) : ex;
}

int
main(int argc, char **argv)
{
	admin_ctx ctx;
	int ex;

	memset(&ctx, 0, sizeof(ctx));
	ex = parse_global(&ctx, argc, argv);
	if (ex != ADMIN_EXIT_OK)
		return ex;
	if (optind >= argc) {
		admin_err("no command given");
		return usage();
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;     /* re-initialise getopt for the command */
		ex = commands[i].run(&ctx, argc, argv);
		store_close(ctx.st);
		if (fflush(stdout) != 0 && ex == ADMIN_EXIT_OK) {
			admin_err("cannot write the output");
			ex = ADMIN_EXIT_OTHER;
		}
		return ex;
	}
	admin_err("unknown command '%s'", argv[optind]);
	return usage();
}
