/* lethe-admin: shared state and helpers of the commands. */
#ifndef LETHE_ADMIN_ADMIN_H
#define LETHE_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/status.h"
#include "keytab/keytab.h"
#include "store/store.h"

/* Exit codes (documented in docs/store.md and the usage text). */
enum admin_exit {
	ADMIN_EXIT_OK = 0,
	ADMIN_EXIT_OTHER = 1,
	ADMIN_EXIT_USAGE = 2,
	ADMIN_EXIT_NOT_FOUND = 3,
	ADMIN_EXIT_EXISTS = 4,
	ADMIN_EXIT_STORE = 5,
};

#define ADMIN_DEFAULT_STORE      "lethe.db"
#define ADMIN_MKEY_SUFFIX        ".mkey"
#define ADMIN_PATH_MAX           4096
#define ADMIN_PASSWORD_MAX       1024

/* Global options and the open store. */
typedef struct admin_ctx {
	const char *config_path;        /* -c, or NULL */
	char store_path[ADMIN_PATH_MAX];
	char mkey_path[ADMIN_PATH_MAX];
	bool mkey_stdin;
	bool json;
	store *st;                      /* opened by admin_open_store() */
	store_realm_policy policy;
	bool stdin_used;                /* the master key or a password came from stdin */
} admin_ctx;

/* Print "lethe-admin: <message>" to stderr. */
void admin_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Map a status and store error kind to an exit code. */
int admin_exit_for(lethe_status rc, enum store_error_kind kind);

/* Read the master key (file or stdin) into *mk. Returns an exit code. */
int admin_read_master_key(admin_ctx *ctx, store_master_key *mk);

/* Open the store of ctx (reads the master key). Returns an exit code. */
int admin_open_store(admin_ctx *ctx);

/* Report the last store failure and return its exit code. */
int admin_store_fail(admin_ctx *ctx, lethe_status rc, const char *what);

/*
 * Parse NAME (default realm: the store's) into *p and its canonical string
 * *canon (free()). Returns an exit code; names of another realm are a
 * usage error.
 */
int admin_parse_name(admin_ctx *ctx, const char *name, kt_principal *p, char **canon);

/*
 * Read a password: from file (first line), from stdin (first line), or
 * prompted twice on the terminal without echo. buf holds cap bytes; the
 * caller wipes it. Returns an exit code.
 */
int admin_read_password(admin_ctx *ctx, const char *file, bool from_stdin,
    char *buf, size_t cap);

/*
 * Keys for every enctype of the realm: from the password with the default
 * salt of p (password != NULL), or random. keys[] must hold
 * STORE_MAX_ENCTYPES; the caller wipes them. Returns an exit code.
 */
int admin_make_keys(admin_ctx *ctx, const kt_principal *p, const char *password,
    uint32_t kvno, store_key *keys, size_t *nkeys);

/* Parse a duration ("10h", "7d", "300s", "1h30m", "600"). */
lethe_status admin_parse_duration(const char *text, int64_t *out);

/* Parse a list of enctypes ("18 17 20 19", names allowed) into p. */
lethe_status admin_parse_enctypes(const char *text, store_realm_policy *p);

/*
 * Remove every "--json" from argv[1..*argc) (a command's own flag, same as
 * the global one) and set ctx->json when one was there.
 */
void admin_take_json(admin_ctx *ctx, int *argc, char **argv);

/* Write s as a JSON string (with quotes) to fp. */
void json_string(FILE *fp, const char *s);

/* Format t (seconds since 1970) as ISO 8601 UTC into buf, "never" for 0. */
const char *admin_time(int64_t t, char *buf, size_t cap);

/* The commands; argv[0] is the command name. Each returns an exit code. */
int cmd_init(admin_ctx *ctx, int argc, char **argv);
int cmd_add_user(admin_ctx *ctx, int argc, char **argv);
int cmd_add_service(admin_ctx *ctx, int argc, char **argv);
int cmd_passwd(admin_ctx *ctx, int argc, char **argv);
int cmd_enable(admin_ctx *ctx, int argc, char **argv);
int cmd_disable(admin_ctx *ctx, int argc, char **argv);
int cmd_delete(admin_ctx *ctx, int argc, char **argv);
int cmd_modify(admin_ctx *ctx, int argc, char **argv);
int cmd_list(admin_ctx *ctx, int argc, char **argv);
int cmd_show(admin_ctx *ctx, int argc, char **argv);
int cmd_policy(admin_ctx *ctx, int argc, char **argv);
int cmd_export_keytab(admin_ctx *ctx, int argc, char **argv);
int cmd_trust(admin_ctx *ctx, int argc, char **argv);
int cmd_allow(admin_ctx *ctx, int argc, char **argv);
int cmd_reg_policy(admin_ctx *ctx, int argc, char **argv);
int cmd_service_policy(admin_ctx *ctx, int argc, char **argv);
int cmd_agents(admin_ctx *ctx, int argc, char **argv);
int cmd_request_key(admin_ctx *ctx, int argc, char **argv);
int cmd_audit(admin_ctx *ctx, int argc, char **argv);
int cmd_maintain(admin_ctx *ctx, int argc, char **argv);
int cmd_export_ca(admin_ctx *ctx, int argc, char **argv);
int cmd_export_kdc_cert(admin_ctx *ctx, int argc, char **argv);
int cmd_issue_cert(admin_ctx *ctx, int argc, char **argv);
int cmd_import_mit(admin_ctx *ctx, int argc, char **argv);
int cmd_migrate(admin_ctx *ctx, int argc, char **argv);

/* X.509 for init (pki.c): a new realm CA and a KDC certificate it signs. */
typedef struct admin_pki {
	char *ca_cert_pem, *ca_key_pem;
	char *kdc_cert_pem, *kdc_key_pem;   /* kdc_cert_pem: KDC cert then CA cert */
	int64_t ca_not_after, kdc_not_after;
	char kdc_subject[256];
} admin_pki;

lethe_status admin_pki_generate(const char *realm, const char *kdc_host,
    admin_pki *out);
lethe_status admin_pki_import(const char *cert_file, const char *key_file,
    admin_pki *out);
void admin_pki_clear(admin_pki *pki);

/* Read a whole PEM file (1..STORE_MAX_PEM_LEN bytes, no NUL) into *out. */
lethe_status admin_read_pem_file(const char *path, char **out);

/*
 * The first certificate of pem, re-encoded as PEM into *normalised, if it
 * is a CA certificate: LETHE_ERR_FORMAT when pem holds no certificate,
 * LETHE_ERR_INVALID_ARG when it is not a CA.
 */
lethe_status admin_pem_check_ca(const char *pem, char **normalised);

/* The subject (RFC 2253) of the first certificate of pem, "?" if none. */
void admin_pem_subject(const char *pem, char *buf, size_t cap);

/* What issue-cert makes: a server certificate signed by the realm CA. */
typedef struct admin_issue_req {
	const kt_principal *principal;  /* named by an id-pkinit-san otherName */
	const char *cn;                 /* subject CN (the canonical name) */
	const char *dns;                /* a dNSName SAN too, or NULL */
	long days;                      /* 1..3650 */
} admin_issue_req;

/*
 * A new EC P-256 key and its certificate signed by ca_cred (the realm CA
 * credential): EKU id-pkinit-KPClientAuth + clientAuth, key usage
 * digitalSignature. *key_pem is secret: wipe it before free().
 */
lethe_status admin_pki_issue(const store_credential *ca_cred,
    const admin_issue_req *req, char **cert_pem, char **key_pem,
    int64_t *cert_not_after);

#endif
