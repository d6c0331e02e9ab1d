/*
 * lethe-admin: certificates out of the store (export-ca, export-kdc-cert)
 * and server certificates signed by the realm CA (issue-cert).
 */
#include "admin/admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/file.h"
#include "base/wipe.h"

/* Write text to path atomically; never replaces a file. Exit code. */
static int
write_new_file(const char *path, const char *text, const char *what)
{
	lethe_status rc = lethe_file_write_secret(path, (const uint8_t *)text,
	    strlen(text), false);

	if (rc == LETHE_OK)
		return ADMIN_EXIT_OK;
	admin_err("%s: %s: %s", what, path, strerror(errno));
	return errno == EEXIST ? ADMIN_EXIT_EXISTS : ADMIN_EXIT_OTHER;
}

/* -o FILE as the only argument. */
static int
parse_out(int argc, char **argv, const char **out)
{
	int c;

	*out = NULL;
	while ((c = getopt(argc, argv, "o:")) != -1) {
		if (c != 'o')
			break;
		*out = optarg;
	}
	if (*out == NULL || optind != argc) {
		admin_err("usage: %s -o FILE", argv[0]);
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

/* Write the certificate (chain) of credential name to -o FILE. */
static int
export_cert(admin_ctx *ctx, int argc, char **argv, const char *name)
{
	store_credential *cred = NULL;
	const char *out;
	lethe_status rc;
	int ex;

	if ((ex = parse_out(argc, argv, &out)) != ADMIN_EXIT_OK ||
	    (ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_credential_get(ctx->st, name, &cred);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, argv[0]);
	ex = write_new_file(out, cred->cert_pem, argv[0]);
	if (ex == ADMIN_EXIT_OK && !ctx->json)
		printf("%s certificate written to %s\n", name, out);
	store_credential_free(cred);
	return ex;
}

int
cmd_export_ca(admin_ctx *ctx, int argc, char **argv)
{
	return export_cert(ctx, argc, argv, STORE_CRED_REALM_CA);
}

int
cmd_export_kdc_cert(admin_ctx *ctx, int argc, char **argv)
{
	return export_cert(ctx, argc, argv, STORE_CRED_KDC);
}

/* ------------------------------------------------------------ issue-cert */

typedef struct issue_opts {
	const char *principal, *dns, *key_out, *cert_out;
	long days;
} issue_opts;

enum { OPT_PRINCIPAL = 256, OPT_DNS, OPT_DAYS, OPT_KEY_OUT, OPT_CERT_OUT };

static int
parse_issue(int argc, char **argv, issue_opts *o)
{
	static const struct option opts[] = {
		{ "principal", required_argument, NULL, OPT_PRINCIPAL },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "key-out", required_argument, NULL, OPT_KEY_OUT },
		{ "cert-out", required_argument, NULL, OPT_CERT_OUT },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->days = 365;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_PRINCIPAL)
			o->principal = optarg;
		else if (c == OPT_DNS)
			o->dns = optarg;
		else if (c == OPT_KEY_OUT)
			o->key_out = optarg;
		else if (c == OPT_CERT_OUT)
			o->cert_out = optarg;
		else if (c == OPT_DAYS) {
			errno = 0;
			o->days = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->days < 1 ||
			    o->days > 3650)
				o->principal = NULL;    /* reported below */
		} else
			o->principal = NULL;
	}
	if (o->principal == NULL || o->key_out == NULL || o->cert_out == NULL ||
	    optind != argc || (o->dns != NULL && (o->dns[0] == '\0' ||
	    strlen(o->dns) > 253 || strpbrk(o->dns, " \t\r\n/@") != NULL))) {
		admin_err("usage: issue-cert --principal P [--dns HOST] "
		    "[--days 1..3650] --key-out FILE --cert-out FILE");
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

/* Sign the certificate and write key then certificate. */
static int
issue(admin_ctx *ctx, const issue_opts *o, const kt_principal *p,
    const char *canon)
{
	store_credential *ca = NULL;
	admin_issue_req req = { p, canon, o->dns, o->days };
	char *cert = NULL, *key = NULL;
	int64_t not_after = 0;
	char t[32];
	lethe_status rc;
	int ex;

	rc = store_credential_get(ctx->st, STORE_CRED_REALM_CA, &ca);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "issue-cert: the realm CA");
	rc = admin_pki_issue(ca, &req, &cert, &key, &not_after);
	store_credential_free(ca);
	if (rc != LETHE_OK) {
		admin_err("issue-cert: cannot make the certificate: %s",
		    lethe_status_str(rc));
		return ADMIN_EXIT_OTHER;
	}
	ex = write_new_file(o->key_out, key, "issue-cert");
	if (ex == ADMIN_EXIT_OK) {
		ex = write_new_file(o->cert_out, cert, "issue-cert");
		if (ex != ADMIN_EXIT_OK)
			(void)unlink(o->key_out);
	}
	if (ex == ADMIN_EXIT_OK && !ctx->json)
		printf("certificate for %s written to %s (key %s), valid until %s\n",
		    canon, o->cert_out, o->key_out, admin_time(not_after, t,
		    sizeof(t)));
	lethe_wipe(key, strlen(key));
	free(key);
	free(cert);
	return ex;
}

int
cmd_issue_cert(admin_ctx *ctx, int argc, char **argv)
{
	issue_opts o;
	kt_principal p;
	char *canon = NULL;
	int ex;

	memset(&p, 0, sizeof(p));
	if ((ex = parse_issue(argc, argv, &o)) != ADMIN_EXIT_OK ||
	    (ex = admin_open_store(ctx)) != ADMIN_EXIT_OK ||
	    (ex = admin_parse_name(ctx, o.principal, &p, &canon)) != ADMIN_EXIT_OK)
		return ex;
	ex = issue(ctx, &o, &p, canon);
	kt_principal_clear(&p);
	free(canon);
	return ex;
}
