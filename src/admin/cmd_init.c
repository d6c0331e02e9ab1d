/* lethe-admin init: a new store, its master key, krbtgt, kadmin/changepw and the KDC's certificate. */
#include "admin/admin.h"
#include "base/wipe.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

typedef struct init_opts {
	const char *realm, *enctypes, *kdc_host, *cert, *key;
	const char *max_life, *max_renew, *skew;
} init_opts;

enum {
	OPT_REALM = 256, OPT_ENCTYPES, OPT_MAX_LIFE, OPT_MAX_RENEW, OPT_SKEW,
	OPT_KDC_HOST, OPT_CERT, OPT_KEY,
};

static int
parse_init_opts(int argc, char **argv, init_opts *o)
{
	static const struct option opts[] = {
		{ "realm", required_argument, NULL, OPT_REALM },
		{ "enctypes", required_argument, NULL, OPT_ENCTYPES },
		{ "max-life", required_argument, NULL, OPT_MAX_LIFE },
		{ "max-renew", required_argument, NULL, OPT_MAX_RENEW },
		{ "skew", required_argument, NULL, OPT_SKEW },
		{ "kdc-host", required_argument, NULL, OPT_KDC_HOST },
		{ "import-cert", required_argument, NULL, OPT_CERT },
		{ "import-key", required_argument, NULL, OPT_KEY },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_REALM: o->realm = optarg; break;
		case OPT_ENCTYPES: o->enctypes = optarg; break;
		case OPT_MAX_LIFE: o->max_life = optarg; break;
		case OPT_MAX_RENEW: o->max_renew = optarg; break;
		case OPT_SKEW: o->skew = optarg; break;
		case OPT_KDC_HOST: o->kdc_host = optarg; break;
		case OPT_CERT: o->cert = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		default: return ADMIN_EXIT_USAGE;
		}
	}
	if (optind != argc || o->realm == NULL) {
		admin_err("init: --realm is required and takes no other argument");
		return ADMIN_EXIT_USAGE;
	}
	if ((o->cert == NULL) != (o->key == NULL)) {
		admin_err("init: --import-cert and --import-key go together");
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

/* Parse one optional duration flag into *out. */
static int
duration_opt(const char *flag, const char *text, int64_t *out)
{
	if (text == NULL)
		return ADMIN_EXIT_OK;
	if (admin_parse_duration(text, out) != LETHE_OK) {
		admin_err("init: %s: '%s' is not a duration (e.g. 10h, 7d, 300s)",
		    flag, text);
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

static int
build_policy(const init_opts *o, store_realm_policy *p)
{
	int ex;

	if (store_realm_policy_default(p, o->realm) != LETHE_OK) {
		admin_err("init: '%s' is not a realm name", o->realm);
		return ADMIN_EXIT_USAGE;
	}
	if (o->enctypes != NULL && admin_parse_enctypes(o->enctypes, p) != LETHE_OK) {
		admin_err("init: --enctypes '%s': expected distinct supported "
		    "enctypes (17 18 19 20 or their names)", o->enctypes);
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = duration_opt("--max-life", o->max_life, &p->max_life)) != 0 ||
	    (ex = duration_opt("--max-renew", o->max_renew, &p->max_renew)) != 0 ||
	    (ex = duration_opt("--skew", o->skew, &p->clock_skew)) != 0)
		return ex;
	if (p->max_life <= 0) {
		admin_err("init: --max-life must be positive");
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

/* The master key: from stdin, an existing file, or a new file (*created). */
static int
init_master_key(admin_ctx *ctx, store_master_key *mk, bool *created)
{
	lethe_status rc;

	*created = false;
	if (ctx->mkey_stdin || access(ctx->mkey_path, F_OK) == 0)
		return admin_read_master_key(ctx, mk);
	if (errno != ENOENT) {
		admin_err("master key file %s: %s", ctx->mkey_path, strerror(errno));
		return ADMIN_EXIT_STORE;
	}
	rc = store_master_key_generate(mk);
	if (rc == LETHE_OK)
		rc = store_master_key_save(ctx->mkey_path, mk);
	if (rc != LETHE_OK) {
		admin_err("cannot write the master key file %s: %s", ctx->mkey_path,
		    rc == LETHE_ERR_IO ? strerror(errno) : lethe_status_str(rc));
		store_master_key_wipe(mk);
		return ADMIN_EXIT_STORE;
	}
	*created = true;
	return ADMIN_EXIT_OK;
}

/* krbtgt/REALM@REALM with random keys, kvno 1. */
static int
add_krbtgt(admin_ctx *ctx)
{
	lbytes comps[2];
	const char *realm = ctx->policy.realm;
	kt_principal p = { 0 };
	store_key keys[STORE_MAX_ENCTYPES];
	store_principal sp;
	size_t nkeys = 0;
	char *name = NULL;
	lethe_status rc;
	int ex;

	comps[0] = LBYTES_LIT("krbtgt");
	comps[1] = lbytes_make(realm, strlen(realm));
	if (kt_principal_init(&p, comps[1], comps, 2, 2) != LETHE_OK ||
	    kt_principal_unparse(&p, &name) != LETHE_OK) {
		kt_principal_clear(&p);
		admin_err("init: cannot name krbtgt/%s", realm);
		return ADMIN_EXIT_OTHER;
	}
	ex = admin_make_keys(ctx, &p, NULL, 1, keys, &nkeys);
	if (ex == ADMIN_EXIT_OK) {
		memset(&sp, 0, sizeof(sp));
		sp.name = name;
		sp.kind = STORE_KIND_KRBTGT;
		sp.attributes = STORE_ATTR_DEFAULT_SERVICE;
		sp.keys = keys;
		sp.nkeys = nkeys;
		rc = store_principal_add(ctx->st, &sp);
		if (rc != LETHE_OK)
			ex = admin_store_fail(ctx, rc, name);
	}
	lethe_wipe(keys, sizeof(keys));
	kt_principal_clear(&p);
	free(name);
	return ex;
}

/* Make or import the certificates and store them. */
static int
add_credentials(admin_ctx *ctx, const init_opts *o, admin_pki *pki)
{
	char host[256];
	lethe_status rc;

	if (o->cert != NULL)
		rc = admin_pki_import(o->cert, o->key, pki);
	else {
		if (o->kdc_host != NULL)
			snprintf(host, sizeof(host), "%s", o->kdc_host);
		else if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		rc = admin_pki_generate(ctx->policy.realm, host, pki);
	}
	if (rc != LETHE_OK) {
		admin_err("init: %s the KDC certificate: %s", o->cert != NULL ?
		    "cannot import" : "cannot make", rc == LETHE_ERR_INVALID_ARG ?
		    "the key does not match the certificate" : lethe_status_str(rc));
		return o->cert != NULL ? ADMIN_EXIT_USAGE : ADMIN_EXIT_OTHER;
	}
	rc = store_credential_put(ctx->st, STORE_CRED_KDC,
	    lbytes_make(pki->kdc_cert_pem, strlen(pki->kdc_cert_pem)),
	    lbytes_make(pki->kdc_key_pem, strlen(pki->kdc_key_pem)),
	    pki->kdc_not_after);
	if (rc == LETHE_OK && pki->ca_cert_pem != NULL)
		rc = store_credential_put(ctx->st, STORE_CRED_REALM_CA,
		    lbytes_make(pki->ca_cert_pem, strlen(pki->ca_cert_pem)),
		    lbytes_make(pki->ca_key_pem, strlen(pki->ca_key_pem)),
		    pki->ca_not_after);
	/* Servers whose certificates the realm CA issues may register. */
	if (rc == LETHE_OK && pki->ca_cert_pem != NULL)
		rc = store_anchor_add(ctx->st, STORE_CRED_REALM_CA,
		    lbytes_make(pki->ca_cert_pem, strlen(pki->ca_cert_pem)));
	return rc == LETHE_OK ? ADMIN_EXIT_OK :
	    admin_store_fail(ctx, rc, "storing the certificates");
}

static void
print_init(const admin_ctx *ctx, bool mkey_created, const admin_pki *pki)
{
	const store_realm_policy *p = &ctx->policy;
	char t[32];

	if (!ctx->json) {
		printf("realm %s created in %s\n", p->realm, ctx->store_path);
		if (!ctx->mkey_stdin)
			printf("master key file: %s%s\n", ctx->mkey_path,
			    mkey_created ? " (new)" : "");
		printf("krbtgt/%s@%s: kvno 1, enctypes", p->realm, p->realm);
		for (size_t i = 0; i < p->nenctypes; i++)
			printf(" %d", (int)p->enctypes[i]);
		printf("\nKDC certificate: %s, valid until %s\n", pki->kdc_subject,
		    admin_time(pki->kdc_not_after, t, sizeof(t)));
		return;
	}
	printf("{\"realm\":");
	json_string(stdout, p->realm);
	printf(",\"store\":");
	json_string(stdout, ctx->store_path);
	printf(",\"master_key_file\":");
	if (ctx->mkey_stdin)
		printf("null");
	else
		json_string(stdout, ctx->mkey_path);
	printf(",\"master_key_created\":%s,\"krbtgt\":\"krbtgt/", mkey_created ?
	    "true" : "false");
	printf("%s@%s\",\"kvno\":1,\"enctypes\":[", p->realm, p->realm);
	for (size_t i = 0; i < p->nenctypes; i++)
		printf("%s%d", i ? "," : "", (int)p->enctypes[i]);
	printf("],\"max_life\":%lld,\"max_renew\":%lld,\"clock_skew\":%lld,",
	    (long long)p->max_life, (long long)p->max_renew,
	    (long long)p->clock_skew);
	printf("\"kdc_certificate\":{\"subject\":");
	json_string(stdout, pki->kdc_subject);
	printf(",\"not_after\":%lld,\"imported\":%s}}\n",
	    (long long)pki->kdc_not_after, pki->ca_cert_pem ? "false" : "true");
}

int
cmd_init(admin_ctx *ctx, int argc, char **argv)
{
	init_opts o;
	store_master_key mk;
	admin_pki pki;
	enum store_error_kind kind = STORE_E_NONE;
	char err[512];
	bool mkey_created = false, store_created = false;
	lethe_status rc;
	int ex;

	memset(&pki, 0, sizeof(pki));
	memset(&mk, 0, sizeof(mk));
	if ((ex = parse_init_opts(argc, argv, &o)) != ADMIN_EXIT_OK ||
	    (ex = build_policy(&o, &ctx->policy)) != ADMIN_EXIT_OK)
		return ex;
	/* A PostgreSQL store: store_create() refuses a database holding one. */
	if (!store_path_is_url(ctx->store_path) &&
	    access(ctx->store_path, F_OK) == 0) {
		admin_err("init: %s already exists", ctx->store_path);
		return ADMIN_EXIT_EXISTS;
	}
	if (!store_path_is_url(ctx->store_path) && errno != ENOENT) {
		admin_err("init: %s: %s", ctx->store_path, strerror(errno));
		return ADMIN_EXIT_STORE;
	}
	if ((ex = init_master_key(ctx, &mk, &mkey_created)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_create(ctx->store_path, &mk, &ctx->policy, &ctx->st, err,
	    sizeof(err), &kind);
	store_master_key_wipe(&mk);
	if (rc != LETHE_OK) {
		admin_err("init: store %s: %s", ctx->store_path, err);
		ex = kind == STORE_E_EXISTS ? ADMIN_EXIT_EXISTS : ADMIN_EXIT_STORE;
		goto cleanup;
	}
	store_created = true;
	(void)store_realm_policy_get(ctx->st, &ctx->policy);
	if ((ex = add_krbtgt(ctx)) != ADMIN_EXIT_OK)
		goto cleanup;
	rc = store_changepw_add(ctx->st);
	if (rc != LETHE_OK) {
		ex = admin_store_fail(ctx, rc, STORE_CHANGEPW_NAME);
		goto cleanup;
	}
	if ((ex = add_credentials(ctx, &o, &pki)) != ADMIN_EXIT_OK)
		goto cleanup;
	print_init(ctx, mkey_created, &pki);
cleanup:
	admin_pki_clear(&pki);
	if (ex != ADMIN_EXIT_OK) {
		/* Leave nothing half-made behind. */
		store_close(ctx->st);
		ctx->st = NULL;
		if (store_created)
			store_remove(ctx->store_path);
		if (mkey_created)
			(void)unlink(ctx->mkey_path);
	}
	return ex;
}
