/*
 * lethe-client: get a TGT with a password and, optionally, a service
 * ticket, with Lethe's client library; with --keytab, check that the
 * service ticket decrypts with the service's key and names the client.
 * Prints one key=value line per step. For tests and demonstrations.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/client.h"
#include "keytab/keytab.h"

typedef struct tool_args {
	const char *kdc;
	const char *realm;
	const char *principal;
	const char *password_file;
	const char *service;
	const char *keytab;
	bool tcp;
	bool subkey;
} tool_args;

static void
usage(FILE *f)
{
	fprintf(f, "usage: lethe-client --kdc HOST:PORT --realm R --principal P "
		   "--password-file F\n"
		   "                    [--service S [--keytab KT] [--subkey]] [--transport udp|tcp]\n");
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
	    (a->keytab && !a->service)) {
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

/* The keytab entry for the ticket's server, kvno and etype. */
static lethe_status
keytab_key(const char *path, const kcl_cred *c, kc_key **out)
{
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	const kt_entry *e;
	lethe_status rc;

	GUARD(kt_load(path, &kt));
	GUARD_GOTO(rc, kt_principal_init(&p, c->server.realm, c->server.comps, c->server.n_comps,
					 c->server.name_type));
	GUARD_GOTO(rc, kt_find(kt, &p, c->ticket_kvno, c->ticket_etype, &e));
	rc = kc_key_new(e->enctype, kt_buf_view(e->key), out);
cleanup:
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

/*
 * Decrypt the service ticket with the keytab's key (usage 2) and check it
 * names our client and holds our session key.
 */
static lethe_status
check_ticket(const char *path, const kcl_cred *c)
{
	kc_key *key = NULL;
	krb_ticket t;
	krb_enc_ticket_part part;
	lethe_arena arena;
	uint8_t *plain = NULL;
	size_t len = 0, cap = 0;
	lethe_status rc;

	lethe_arena_init(&arena, 1u << 20);
	GUARD_GOTO(rc, keytab_key(path, c, &key));
	GUARD_GOTO(rc, krb_decode_ticket(&arena, c->ticket, c->ticket_len, &t));
	cap = t.enc_part.cipher.len;
	plain = malloc(cap ? cap : 1);
	ENSURE_GOTO(rc, plain != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kc_decrypt(key, KRB_KU_TICKET, t.enc_part.cipher, plain, cap, &len));
	GUARD_GOTO(rc, krb_decode_enc_ticket_part(&arena, plain, len, &part));
	ENSURE_GOTO(rc, kcl_name_matches(&c->client, &part.cname, part.crealm),
		    KCL_ERR_REPLY_MISMATCH);
	ENSURE_GOTO(rc, part.key.keytype == kc_key_enctype(c->session_key) &&
			lbytes_ct_eq(part.key.keyvalue, kc_key_bytes(c->session_key)),
		    KCL_ERR_REPLY_MISMATCH);
	printf("ticket_check result=ok etype=%d endtime=%" PRId64 "\n", t.enc_part.etype,
	       part.endtime);
cleanup:
	kcl_free_secret(plain, cap);
	kc_key_free(key);
	lethe_arena_free(&arena);
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
	OPENSSL_cleanse(password, sizeof(password));
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
		if (a.keytab != NULL && (rc = check_ticket(a.keytab, &svc)))
			die("checking the service ticket with the keytab", rc, NULL);
	}
	kcl_name_clear(&service);
	kcl_cred_clear(&svc);
	kcl_cred_clear(&tgt);
	kcl_as_free(&as);
	return 0;
}
