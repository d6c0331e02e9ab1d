/*
 * lethe-client: get a TGT with a password and, optionally, a service
 * ticket, with Lethe's client library; with --keytab, present the ticket
 * in an AP-REQ to liblethe's acceptor reading that keytab (and, with
 * --cert/--key/--kdc-cert, the service's private key for public-key
 * tickets and the KDC certificate they must be signed by), as the
 * service would. Prints one key=value line per step. For tests and
 * demonstrations.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acceptor/acceptor.h"
#include "base/wipe.h"
#include "client/client.h"
#include "keytab/keytab.h"
#include "registrar/registrar.h"

typedef struct tool_args {
	const char *kdc;
	const char *realm;
	const char *principal;
	const char *password_file;
	const char *service;
	const char *keytab;
	const char *cert;
	const char *key;
	const char *kdc_cert;
	bool tcp;
	bool subkey;
} tool_args;

static void
usage(FILE *f)
{
	fprintf(f, "usage: lethe-client --kdc HOST:PORT --realm R --principal P "
		   "--password-file F\n"
		   "                    [--service S [--keytab KT [--cert PEM --key PEM\n"
		   "                     --kdc-cert PEM]] [--subkey]]\n"
		   "                    [--transport udp|tcp]\n");
}

static void
parse_args(int argc, char **argv, tool_args *a)
{
	static const struct option opts[] = {
		{ "kdc", required_argument, NULL, 'k' },
		{ "realm", required_argument, NULL, 'r' },
		{ "principal", required_argument, NULL, 'p' },
		{ "password-file", required_argument, NULL, 'f' },
		{ "service", required_argument, NULL, 's' },
		{ "keytab", required_argument, NULL, 't' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'K' },
		{ "kdc-cert", required_argument, NULL, 'C' },
		{ "transport", required_argument, NULL, 'T' },
		{ "subkey", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': a->kdc = optarg; break;
		case 'r': a->realm = optarg; break;
		case 'p': a->principal = optarg; break;
		case 'f': a->password_file = optarg; break;
		case 's': a->service = optarg; break;
		case 't': a->keytab = optarg; break;
		case 'c': a->cert = optarg; break;
		case 'K': a->key = optarg; break;
		case 'C': a->kdc_cert = optarg; break;
		case 'S': a->subkey = true; break;
		case 'T':
			if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "udp") != 0) {
				usage(stderr);
				exit(2);
			}
			a->tcp = strcmp(optarg, "tcp") == 0;
			break;
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc || !a->kdc || !a->realm || !a->principal || !a->password_file ||
	    (a->keytab && !a->service) || (!a->cert != !a->key) || (a->cert && !a->keytab) ||
	    (!a->cert != !a->kdc_cert)) {
		usage(stderr);
		exit(2);
	}
}

static void
die(const char *what, lethe_status rc, const kcl_error *err)
{
	fprintf(stderr, "lethe-client: %s: %s", what, lethe_status_str(rc));
	if (err != NULL && err->code != 0) {
		const char *name = krb_error_code_name(err->code);
		fprintf(stderr, " (KRB-ERROR %d %s%s%s)", err->code, name ? name : "?",
			err->text[0] ? ": " : "", err->text);
	}
	fputc('\n', stderr);
	exit(1);
}

static void
print_cred(const char *what, const kcl_cred *c)
{
	char client[512], server[512];
	krb_principal_name cn = kcl_name_principal(&c->client);
	krb_principal_name sn = kcl_name_principal(&c->server);
	size_t n;

	if (krb_principal_unparse(&cn, c->client.realm, client, sizeof(client), &n) ||
	    krb_principal_unparse(&sn, c->server.realm, server, sizeof(server), &n))
		die("printing names", LETHE_ERR_TOO_BIG, NULL);
	printf("%s client=%s server=%s session_etype=%d ticket_etype=%d ticket_kvno=%" PRIu32
	       " flags=0x%08" PRIx32 " authtime=%" PRId64 " endtime=%" PRId64 "\n", what,
	       client, server, kc_key_enctype(c->session_key), c->ticket_etype, c->ticket_kvno,
	       c->flags, c->authtime, c->endtime);
}

/*
 * Present the service ticket in an AP-REQ to an acceptor reading the
 * keytab at path (and holding the service's identity for public-key
 * tickets when given), as the service would.
 */
static lethe_status
accept_ticket(const char *path, const reg_identity *id, X509 *kdc_cert, const kcl_cred *c)
{
	acc_params p = { .keytab_path = path, .pubkey_identity = id,
		.pubkey_kdc_certs = &kdc_cert, .n_pubkey_kdc_certs = kdc_cert != NULL ? 1 : 0 };
	kcl_ap_params ap = { 0 };
	kcl_ap_state st = { 0 };
	acc_ctx *ctx = NULL;
	acc_verified v = { 0 };
	acc_error err = { 0 };
	der_writer w;
	lbytes req;
	lethe_status rc;

	der_writer_init(&w, KCL_MAX_MESSAGE);
	GUARD_GOTO(rc, acc_ctx_new(&p, &ctx));
	GUARD_GOTO(rc, kcl_ap_req_build(c, &ap, &st, &w));
	req = der_written(&w);
	rc = acc_verify_ap_req(ctx, req.data, req.len, &v, &err);
	if (rc != LETHE_OK) {
		fprintf(stderr, "lethe-client: the acceptor refused the ticket: %s (%s, KRB-ERROR %d)\n",
			err.text, acc_reason_str(err.reason), err.code);
		goto cleanup;
	}
	printf("accept result=ok ticket_etype=%d kvno=%" PRIu32 " endtime=%" PRId64 "\n",
	       v.ticket_etype, v.kvno, v.endtime);
cleanup:
	acc_verified_clear(&v);
	kcl_ap_state_clear(&st);
	acc_ctx_free(ctx);
	der_writer_free(&w);
	return rc;
}

static void
read_password(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");

	if (f == NULL || fgets(buf, (int)cap, f) == NULL)
		die("reading the password file", LETHE_ERR_IO, NULL);
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
}

int
main(int argc, char **argv)
{
	tool_args a;
	kcl_kdc kdc;
	kcl_as_ctx as;
	kcl_as_params ap = { 0 };
	kcl_cred tgt = { 0 }, svc = { 0 };
	kcl_name service = { 0 };
	kcl_error err = { 0 };
	char password[KCL_MAX_PASSWORD + 2];
	reg_identity *id = NULL;
	X509 *kdc_cert = NULL;
	lethe_status rc;

	parse_args(argc, argv, &a);
	if ((rc = kcl_kdc_parse(a.kdc, &kdc)))
		die("--kdc", rc, NULL);
	kdc.transport = a.tcp ? KCL_TRANSPORT_TCP : KCL_TRANSPORT_UDP;
	ap.client = a.principal;
	ap.realm = a.realm;
	if ((rc = kcl_as_init(&as, &ap)))
		die("--principal", rc, NULL);
	read_password(a.password_file, password, sizeof(password));
	rc = kcl_as_set_password(&as, lbytes_make(password, strlen(password)));
	lethe_wipe(password, sizeof(password));
	if (rc)
		die("password", rc, NULL);
	if ((rc = kcl_get_tgt(&as, &kdc, &tgt, &err)))
		die("AS exchange", rc, &err);
	print_cred("tgt", &tgt);
	printf("client_key etype=%d\n", kc_key_enctype(as.key));
	if (a.service != NULL) {
		kcl_tgs_params tp = { .server = &service, .use_subkey = a.subkey };
		if ((rc = kcl_name_parse(&service, a.service, a.realm)))
			die("--service", rc, NULL);
		if ((rc = kcl_get_service_ticket(&kdc, &tgt, &tp, &svc, &err)))
			die("TGS exchange", rc, &err);
		print_cred("service_ticket", &svc);
		if (a.cert != NULL && (rc = reg_identity_load_pem(a.cert, a.key, &id)))
			die("--cert/--key", rc, NULL);
		if (a.kdc_cert != NULL && (rc = reg_cert_load_pem(a.kdc_cert, &kdc_cert)))
			die("--kdc-cert", rc, NULL);
		if (a.keytab != NULL && (rc = accept_ticket(a.keytab, id, kdc_cert, &svc)))
			die("presenting the service ticket to the acceptor", rc, NULL);
	}
	reg_identity_free(id);
	X509_free(kdc_cert);
	kcl_name_clear(&service);
	kcl_cred_clear(&svc);
	kcl_cred_clear(&tgt);
	kcl_as_free(&as);
	return 0;
}
