/*
 * The realm database: realm policy, principals, their keys and the KDC's
 * credentials, behind one interface (an SQLite file, or a PostgreSQL
 * database that many KDCs of one realm share; both have one schema and
 * the SQL in store.c, documented in docs/store.md).
 *
 * Keys and private keys are encrypted at rest with AES-256-GCM under a key
 * derived (HKDF-SHA256) from the realm's 32-byte master key; each blob's
 * AAD names its row (principal, kvno, enctype), so a blob copied to another
 * row does not decrypt. A check value in the realm row makes a wrong master
 * key fail at open time.
 *
 * Every change runs in one transaction (all or nothing), bumps the
 * store's generation counter and records in the change feed which
 * principals it touched (store_changes_since), so the KDC can apply only
 * what changed to its snapshot. Structures handed out hold decrypted
 * keys: release them with their store_*_free function, which wipes the
 * key bytes.
 *
 * Errors common to every function: LETHE_ERR_INVALID_ARG (a contract
 * broken: NULL, over-long or non-canonical name, bad enctype...),
 * LETHE_ERR_NOMEM, LETHE_ERR_IO (the database or a file failed; see
 * store_errmsg()), LETHE_ERR_BAD_INTEGRITY (a blob did not decrypt: wrong
 * master key or tampered row), LETHE_ERR_CRYPTO (OpenSSL failed).
 * After a failure, store_error_kind() says which of the cases a caller
 * (e.g. lethe-admin) must tell apart happened.
 *
 * A store handle is not thread-safe: use one per thread.
 */
#ifndef LETHE_STORE_STORE_H
#define LETHE_STORE_STORE_H

/* API v3: ready */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"

#define STORE_MASTER_KEY_LEN 32u    /* bytes of a master key */
#define STORE_MAX_NAME_LEN   1024u  /* bytes of "a/b@REALM", without the NUL */
#define STORE_MAX_REALM_LEN  255u   /* bytes of a realm name */
#define STORE_MAX_ENCTYPES   8u     /* enctypes in a realm's policy */
#define STORE_MAX_KEY_LEN    64u    /* bytes of one Kerberos key */
#define STORE_MAX_SALT_LEN   2048u  /* bytes of a salt */
#define STORE_MAX_KEYS       256u   /* key rows of one principal */
#define STORE_MAX_PEM_LEN    65536u /* bytes of a certificate or key PEM */
#define STORE_MAX_CRED_NAME  64u    /* bytes of a credential name */

/* Realm policy defaults. */
#define STORE_DEFAULT_MAX_LIFE   (10 * 3600)      /* 10 hours */
#define STORE_DEFAULT_MAX_RENEW  (7 * 24 * 3600)  /* 7 days */
#define STORE_DEFAULT_SKEW       300              /* seconds */
#define STORE_DEFAULT_KVNOS_KEPT 2                /* current + previous */

/* ---------------------------------------------------------- master key */

/* The realm's master key. Wipe it with store_master_key_wipe() after use. */
typedef struct store_master_key {
	uint8_t bytes[STORE_MASTER_KEY_LEN];
} store_master_key;

/* Fill *mk with 32 bytes from RAND_priv_bytes. */
lethe_status store_master_key_generate(store_master_key *mk);

/*
 * Write *mk to a new file at path as 64 lowercase hex digits and a newline,
 * atomically (mode-0600 temp file, fsync, link into place, fsync of the
 * directory). An existing file at path is never replaced: LETHE_ERR_IO
 * with errno EEXIST.
 */
lethe_status store_master_key_save(const char *path, const store_master_key *mk);

/*
 * Read a master key file written by store_master_key_save(): 64 hex digits,
 * optionally followed by a newline. LETHE_ERR_NOT_FOUND when the file does
 * not exist, LETHE_ERR_FORMAT when its content is not such a key.
 */
lethe_status store_master_key_load(const char *path, store_master_key *mk);

/*
 * Read a master key as 64 hex digits (surrounding whitespace allowed, at
 * most 256 bytes in all) from fd, e.g. standard input. LETHE_ERR_FORMAT
 * when the input is not such a key.
 */
lethe_status store_master_key_read_fd(int fd, store_master_key *mk);

/* Parse exactly 64 hex digits from text[0..len). LETHE_ERR_FORMAT otherwise. */
lethe_status store_master_key_from_hex(const char *text, size_t len,
    store_master_key *mk);

/* Overwrite *mk with zeros (lethe_wipe). */
void store_master_key_wipe(store_master_key *mk);

/* ---------------------------------------------------------- the store */

typedef struct store store;

/* What the last failed call on a store was about, beyond its status. */
enum store_error_kind {
	STORE_E_NONE = 0,
	STORE_E_NOT_FOUND,      /* no such principal or credential */
	STORE_E_EXISTS,         /* a principal or key of that name/kvno exists */
	STORE_E_MASTER_KEY,     /* wrong master key, or a blob did not decrypt */
	STORE_E_DATABASE,       /* SQLite (or the file system) failed */
	STORE_E_INVALID,        /* bad argument */
	STORE_E_OTHER,          /* memory, OpenSSL */
	STORE_E_UNAVAILABLE,    /* the database server cannot be reached, or
	                           is a standby (read only): try again later */
};

/* The realm's policy. Durations in seconds; enctypes in preference order. */
typedef struct store_realm_policy {
	char realm[STORE_MAX_REALM_LEN + 1];
	int64_t max_life;
	int64_t max_renew;
	int64_t clock_skew;
	int32_t enctypes[STORE_MAX_ENCTYPES];
	size_t nenctypes;
	uint32_t kvnos_kept;    /* long-term kvnos kept on a key change, >= 1 */
	int64_t created_at;     /* set by store_create(); ignored on input */
} store_realm_policy;

/* Fill *p with the defaults above for realm (enctypes 18 17 20 19). */
lethe_status store_realm_policy_default(store_realm_policy *p, const char *realm);

/*
 * Create a new store at path for the realm and policy in *policy, encrypted
 * under *mk: the file is made mode 0600 with O_CREAT|O_EXCL (LETHE_ERR_IO
 * and STORE_E_EXISTS in *kind if path exists), then opened by SQLite (no
 * symlink followed), set to WAL, and given the schema and the realm row.
 * On error nothing is left at path, and when errbuf is not NULL it receives
 * a message (NUL-terminated, cut to errbuf_len) and *kind (may be NULL) the
 * kind of failure. *mk is not kept (a derived key is, until close).
 */
lethe_status store_create(const char *path, const store_master_key *mk,
    const store_realm_policy *policy, store **out, char *errbuf,
    size_t errbuf_len, enum store_error_kind *kind);

/*
 * Open an existing store. LETHE_ERR_NOT_FOUND when path does not exist,
 * LETHE_ERR_FORMAT when it is not a Lethe store (or of an unknown schema
 * version), LETHE_ERR_BAD_INTEGRITY when *mk is not its master key.
 * errbuf and kind as for store_create().
 */
lethe_status store_open(const char *path, const store_master_key *mk, store **out,
    char *errbuf, size_t errbuf_len, enum store_error_kind *kind);

/* Wipe the derived keys and close. NULL is allowed. */
void store_close(store *s);

/*
 * Remove the files of the store at path (the database and its journal
 * files), e.g. after an initialisation that failed half-way. Only for a
 * store nobody has open.
 */
void store_remove(const char *path);

#define STORE_MIGRATE_MAX_TABLES 32

/* What store_migrate() copied: rows per table, in copy order. */
typedef struct store_migrate_report {
	struct {
		const char *name;
		size_t rows;
	} tables[STORE_MIGRATE_MAX_TABLES];
	size_t ntables;
	uint64_t generation;    /* the source's, which the copy keeps */
} store_migrate_report;

/*
 * Copy the realm of the open store src (any backend; its master key was
 * checked when it was opened) into the empty PostgreSQL database at url:
 * every table, row for row, sealed blobs as they are (the same master key
 * opens the copy), the generation and the change feed's floor included.
 * One transaction on the target, one read transaction on the source. A
 * target holding any table is refused (STORE_E_EXISTS) and left as it
 * was. After the commit the copy is opened with *mk and its generation
 * compared with the source's. errbuf and kind as for store_create().
 */
lethe_status store_migrate(store *src, const char *url, const store_master_key *mk,
    store_migrate_report *rep, char *errbuf, size_t errbuf_len,
    enum store_error_kind *kind);

/* A message about the last failure on s ("" if none); valid until the next call. */
const char *store_errmsg(const store *s);

/* The kind of the last failure on s. */
enum store_error_kind store_error_kind(const store *s);

/* Copy the realm's policy into *out. */
lethe_status store_realm_policy_get(store *s, store_realm_policy *out);

/* The generation counter: it grows with every committed change. Cheap. */
lethe_status store_generation(store *s, uint64_t *out);

/* ---------------------------------------------------------- shared stores */

/*
 * True when path names a PostgreSQL database (a libpq URI starting with
 * postgresql:// or postgres://): a store many KDCs share. Anything else
 * is an SQLite file.
 */
bool store_path_is_url(const char *path);

/*
 * Follow the commits other processes make to a shared store: s opens a
 * second connection that LISTENs for the notification every commit sends
 * (in the committing transaction). LETHE_ERR_UNSUPPORTED for an SQLite
 * store (watch its files instead); LETHE_ERR_IO when the server cannot be
 * reached now (store_notify_drain() keeps trying). Same thread as s.
 */
lethe_status store_notify_listen(store *s);

/* The descriptor to poll for POLLIN, or -1 (none now: poll the generation). */
int store_notify_fd(store *s);

/*
 * Read what arrived on store_notify_fd() without blocking. True when a
 * commit was announced, or when the listening connection was lost or
 * reopened (a commit may have been missed): read the change feed then.
 */
bool store_notify_drain(store *s);

/* ---------------------------------------------------------- principals */

enum store_principal_kind {
	STORE_KIND_USER = 1,    /* a person: password keys */
	STORE_KIND_SERVICE,     /* classic service: long-term random keys */
	STORE_KIND_KRBTGT,      /* krbtgt/REALM@REALM and cross-realm TGS */
	STORE_KIND_AGENT,       /* service with temporary keys only */
};

/* Principal attributes (a bit set). */
#define STORE_ATTR_REQUIRES_PREAUTH  (1u << 0)  /* AS needs PA-ENC-TIMESTAMP */
#define STORE_ATTR_DISABLED          (1u << 1)  /* no tickets for or to it */
#define STORE_ATTR_ALLOW_FORWARDABLE (1u << 2)
#define STORE_ATTR_ALLOW_RENEWABLE   (1u << 3)
#define STORE_ATTR_ALLOW_PROXIABLE   (1u << 4)
#define STORE_ATTR_ALLOW_POSTDATED   (1u << 5)
#define STORE_ATTR_NO_SERVICE        (1u << 6)  /* never a ticket's server */
#define STORE_ATTR_OK_AS_DELEGATE    (1u << 7)
#define STORE_ATTR_ALL               0xffu

/*
 * Attributes a new principal of each kind gets unless told otherwise:
 * every kind requires pre-authentication; a user is no ticket's server
 * unless an admin clears no_service. DEFAULT_SERVICE serves service,
 * krbtgt and agent principals.
 */
#define STORE_ATTR_DEFAULT_USER                                          \
	(STORE_ATTR_REQUIRES_PREAUTH | STORE_ATTR_ALLOW_FORWARDABLE |    \
	 STORE_ATTR_ALLOW_RENEWABLE | STORE_ATTR_ALLOW_PROXIABLE |       \
	 STORE_ATTR_ALLOW_POSTDATED | STORE_ATTR_NO_SERVICE)
#define STORE_ATTR_DEFAULT_SERVICE                                       \
	(STORE_ATTR_REQUIRES_PREAUTH | STORE_ATTR_ALLOW_FORWARDABLE |    \
	 STORE_ATTR_ALLOW_RENEWABLE | STORE_ATTR_ALLOW_PROXIABLE |       \
	 STORE_ATTR_ALLOW_POSTDATED)

enum store_key_kind {
	STORE_KEY_LONG_TERM = 1,  /* password or random key, no end of use */
	STORE_KEY_TEMPORARY,      /* registered by an agent, with windows */
};

/* One key of a principal. key[] is secret. */
typedef struct store_key {
	uint32_t kvno;
	int32_t enctype;
	uint8_t key[STORE_MAX_KEY_LEN];
	size_t key_len;
	uint8_t *salt;            /* NULL: the default salt (realm + components) */
	size_t salt_len;
	uint32_t s2k_iterations;  /* 0: none stored (enctype default) */
	enum store_key_kind kind;
	int64_t registered_at;    /* 0 on input: now */
	int64_t use_until;        /* 0: no end (long-term keys) */
	int64_t accept_until;     /* 0: no end */
	char *registered_by;      /* NULL or who registered it */
} store_key;

/*
 * A principal and its keys, newest kvno first, and within a kvno in the
 * order they were added (the realm's enctype preference for admin-made
 * keys). Times are seconds since 1970; 0 = never / realm default.
 */
typedef struct store_principal {
	char *name;               /* canonical "comp/comp@REALM" */
	enum store_principal_kind kind;
	uint32_t attributes;      /* STORE_ATTR_* */
	int64_t max_life;         /* 0: realm default */
	int64_t max_renew;        /* 0: realm default */
	int64_t expires_at;       /* 0: never */
	int64_t created_at;       /* set by the store; ignored on input */
	int64_t modified_at;      /* set by the store; ignored on input */
	int64_t password_changed_at; /* set by the store; ignored on input */
	char *policy;             /* password policy name, NULL: none (v4) */
	int64_t password_expires_at; /* output: when the password expires, 0:
	                             never (passwd --expire-now, or a user's
	                             password_changed_at + its policy's max_age,
	                             else the "default" policy's) */
	store_key *keys;
	size_t nkeys;
} store_principal;

/* Wipe every key and free p and what it owns. NULL is allowed. */
void store_principal_free(store_principal *p);

/*
 * Add principal p with its keys (all or nothing). p->name must be the
 * canonical form of a principal of the store's realm (as kt_principal_
 * unparse writes it). Each key needs 1..STORE_MAX_KEY_LEN bytes, a
 * non-zero enctype, and a (kvno, enctype) pair of its own. Fails with
 * LETHE_ERR_INVALID_ARG and STORE_E_EXISTS when the name exists.
 */
lethe_status store_principal_add(store *s, const store_principal *p);

/*
 * Add list[0..n) (n >= 1), each as store_principal_add() would, in ONE
 * write transaction: all or none (a name that exists, or twice in the
 * list, fails the whole call with STORE_E_EXISTS). Every entry is checked
 * before anything is written. One generation; the feed names each
 * principal, or holds one realm-wide change when more than
 * STORE_MAX_NOTED are added (the KDC then reloads everything). For bulk
 * imports (lethe-bench --mode populate).
 */
lethe_status store_principal_add_many(store *s, const store_principal *list, size_t n);

/*
 * Import a whole realm into a fresh store (lethe-admin import-mit): in
 * ONE write transaction, refuse (STORE_E_EXISTS) when the store holds any
 * principal but the realm's own krbtgt/R@R and kadmin/changepw@R (the ones
 * lethe-admin init made), delete that krbtgt, and that kadmin/changepw
 * when list holds one, and add list[0..n), which must hold the realm's
 * krbtgt, each checked as store_principal_add() checks one. All or
 * nothing; one generation.
 */
lethe_status store_principal_import_fresh(store *s, const store_principal *list,
    size_t n);

/* Look a principal up by canonical name. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_principal_get(store *s, const char *name, store_principal **out);

/*
 * Replace a principal's long-term keys (a password change or a new random
 * key): keys[0..nkeys) are stored under kvno = 1 + the highest kvno the
 * principal has (their kvno fields are ignored; *new_kvno receives it),
 * as STORE_KEY_LONG_TERM; older long-term kvnos beyond the realm's
 * kvnos_kept are deleted, so the previous kvno stays and outstanding
 * tickets still decrypt. Temporary keys are untouched. Sets
 * password_changed_at. LETHE_ERR_NOT_FOUND if the principal is absent.
 */
lethe_status store_principal_rekey(store *s, const char *name,
    const store_key *keys, size_t nkeys, uint32_t *new_kvno);

/*
 * Add keys with the kvnos they carry (e.g. temporary keys an agent
 * registered). All or nothing; LETHE_ERR_INVALID_ARG and STORE_E_EXISTS
 * when a (kvno, enctype) pair exists already.
 */
lethe_status store_keys_add(store *s, const char *name, const store_key *keys,
    size_t nkeys);

/*
 * Delete every temporary key whose accept_until is non-zero and at most
 * now (the audit's "expired"); each principal that lost a key is a change
 * in the feed. *deleted (may be NULL) receives how many rows went. The
 * deleted bytes may linger in the database files: store_maintain() also
 * checkpoints.
 */
lethe_status store_keys_purge_expired(store *s, int64_t now, size_t *deleted);

/* attributes = (attributes | set) & ~clear. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_principal_set_attributes(store *s, const char *name,
    uint32_t set, uint32_t clear);

/* Set per-principal limits (0 = realm default / never). */
lethe_status store_principal_set_limits(store *s, const char *name,
    int64_t max_life, int64_t max_renew, int64_t expires_at);

/* Delete a principal and its keys. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_principal_delete(store *s, const char *name);

/* Names and kinds of every principal, sorted by name. */
typedef struct store_name_entry {
	char *name;
	enum store_principal_kind kind;
} store_name_entry;

typedef struct store_name_list {
	store_name_entry *entries;
	size_t count;
} store_name_list;

lethe_status store_principal_list(store *s, store_name_list **out);

/* Free a list from store_principal_list(). NULL is allowed. */
void store_name_list_free(store_name_list *list);

/*
 * Called once per principal by store_principal_foreach_ex(). p (with its
 * decrypted keys) is borrowed: it is wiped and freed when cb returns, so
 * copy what you keep. A status other than LETHE_OK stops the iteration
 * and is returned by store_principal_foreach_ex().
 */
typedef lethe_status (*store_principal_cb)(void *ctx, const store_principal *p);

/*
 * Called instead of cb for a principal that could not be read (a damaged
 * row, a key that does not decrypt, more than STORE_MAX_KEYS keys): name
 * (its name, or "principal id N" when the name itself is unreadable), rc
 * and why (a message, never key bytes) are valid during the call only.
 */
typedef void (*store_principal_err_cb)(void *ctx, const char *name,
    lethe_status rc, const char *why);

/*
 * Visit every principal with its decrypted keys, in one read transaction:
 * a consistent view whose generation is written to *generation (may be
 * NULL). One principal that cannot be read never stops the walk: it is
 * left out and handed to err_cb (may be NULL), and the walk goes on.
 * Fails only when the store cannot be read at all, on LETHE_ERR_NOMEM,
 * or with cb's own status. This is how the KDC builds its snapshot.
 */
lethe_status store_principal_foreach_ex(store *s, store_principal_cb cb,
    store_principal_err_cb err_cb, void *ctx, uint64_t *generation);

/* store_principal_foreach_ex() without an error callback. */
lethe_status store_principal_foreach(store *s, store_principal_cb cb, void *ctx,
    uint64_t *generation);

/* ---------------------------------------------------------- change feed */

/* One committed change: the principal it touched, or a realm-wide one. */
typedef struct store_change {
	uint64_t generation;
	char *principal;          /* canonical name, or NULL: realm-wide */
} store_change;

typedef struct store_changes {
	uint64_t generation;      /* the store's generation in the same read transaction */
	bool complete;            /* false: the caller must reload everything (a realm-wide
	                             change, since < the feed floor, or more than max rows) */
	store_change *entries;    /* generation > since, ascending; names deduplicated is fine */
	size_t count;
} store_changes;

#define STORE_FEED_KEEP_SECONDS (24 * 3600) /* store_maintain() keeps a day */

/*
 * The changes committed after generation `since`, in one read transaction
 * (one indexed query on the feed). since equal to the generation:
 * complete, count 0. Incomplete (count 0): a realm-wide change in the
 * range, since below the feed floor (trimmed by store_maintain()) or
 * above the generation, or more than max rows. Free with
 * store_changes_free().
 */
lethe_status store_changes_since(store *s, uint64_t since, size_t max,
    store_changes **out);

/* Free what store_changes_since() returned. NULL is allowed. */
void store_changes_free(store_changes *c);

/* ---------------------------------------------------------- maintenance */

/* What store_maintain() did. */
typedef struct store_maint_report {
	size_t keys_deleted;      /* temporary keys past accept_until */
	size_t nonces_deleted;    /* expired registration nonces */
	size_t changes_trimmed;   /* feed rows older than STORE_FEED_KEEP_SECONDS */
	size_t principals_touched; /* principals that lost a key */
	bool checkpointed;        /* deleted key bytes left the files */
	bool checkpoint_busy;     /* keys went but a reader kept the checkpoint
	                             from finishing: run again later */
} store_maint_report;

/*
 * In one write transaction: delete temporary keys with a non-zero
 * accept_until <= now (a change in the feed for each principal), expired
 * nonces, and feed rows older than now - STORE_FEED_KEEP_SECONDS
 * (raising the feed floor). Commits only when a row went; the generation
 * moves only when a key went (nonces and old feed rows are no realm
 * data). Then, if a key went, checkpoints the backend so the deleted
 * sealed bytes leave the files (a few short tries while readers hold
 * it; then checkpoint_busy, not an error). *out may be NULL.
 */
lethe_status store_maintain(store *s, int64_t now, store_maint_report *out);

/* Lower-case name of a kind ("user", "service", "krbtgt", "agent"). */
const char *store_principal_kind_name(enum store_principal_kind kind);

/* Lower-case name of a key kind ("long-term", "temporary"). */
const char *store_key_kind_name(enum store_key_kind kind);

/* ---------------------------------------------------------- credentials */

/* Names of the credentials lethe-admin init stores. */
#define STORE_CRED_REALM_CA "realm-ca"  /* the realm CA's certificate and key */
#define STORE_CRED_KDC      "kdc"       /* the KDC / registrar certificate and key */

/* A certificate (public) and its private key (secret), both PEM. */
typedef struct store_credential {
	char *name;
	char *cert_pem;           /* NUL-terminated */
	size_t cert_pem_len;
	uint8_t *key_pem;         /* secret; NUL-terminated too */
	size_t key_pem_len;
	int64_t not_after;        /* the certificate's end of validity */
	int64_t created_at;
} store_credential;

/* Wipe the private key and free c. NULL is allowed. */
void store_credential_free(store_credential *c);

/*
 * Insert or replace the credential called name (1..STORE_MAX_CRED_NAME
 * bytes). cert_pem and key_pem are 1..STORE_MAX_PEM_LEN bytes; the key is
 * encrypted at rest, bound to name.
 */
lethe_status store_credential_put(store *s, const char *name, lbytes cert_pem,
    lbytes key_pem, int64_t not_after);

/* Read a credential. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_credential_get(store *s, const char *name, store_credential **out);

/* ---------------------------------------------------------- schema v4:
 * password policies (docs/store.md). A principal follows its own policy,
 * else the one called STORE_DEFAULT_POLICY when it exists. */

#define STORE_DEFAULT_POLICY    "default"
#define STORE_MAX_POLICY_NAME   64u     /* bytes of a policy name */
#define STORE_MAX_PW_HISTORY    64u     /* passwords a policy may remember */
#define STORE_MAX_PW_CLASSES    5u      /* lower, upper, digit, punctuation, other */
#define STORE_CHANGEPW_NAME     "kadmin/changepw"  /* @REALM: the kpasswd service */
#define STORE_CHANGEPW_MAX_LIFE 300     /* its tickets last 5 minutes, as MIT's */

typedef struct store_pw_policy {
	char name[STORE_MAX_POLICY_NAME + 1]; /* [A-Za-z0-9._-] */
	uint32_t min_length;      /* characters (bytes) at least */
	uint32_t min_classes;     /* 0..STORE_MAX_PW_CLASSES character classes */
	uint32_t history;         /* 0..STORE_MAX_PW_HISTORY: the new password may
	                             be none of the last N set by a password
	                             change (current included; add-user's first
	                             password is not remembered) */
	int64_t max_age;          /* seconds a user's password lasts; 0: forever */
	int64_t created_at;       /* output */
	uint64_t principals;      /* output of list/get: principals naming it */
} store_pw_policy;

/*
 * Add kadmin/changepw@REALM, the kpasswd service's principal (a service
 * with random keys of the realm's enctypes and 5-minute tickets), unless
 * it exists. lethe-admin init calls it; the upgrade to v4 does it too.
 */
lethe_status store_changepw_add(store *s);

/* Add a policy (STORE_E_EXISTS when the name is taken), or replace one (NOT_FOUND). */
lethe_status store_pw_policy_put(store *s, const store_pw_policy *p, bool create);

/* Read a policy. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_pw_policy_get(store *s, const char *name, store_pw_policy *out);

/* Every policy, sorted by name, in a new array (*n may be 0); free() it. */
lethe_status store_pw_policy_list(store *s, store_pw_policy **out, size_t *n);

/* Delete a policy no principal names (else INVALID_ARG with STORE_E_EXISTS). */
lethe_status store_pw_policy_delete(store *s, const char *name);

/* Give principal name the policy (NULL: none, so "default" applies). */
lethe_status store_principal_set_policy(store *s, const char *name, const char *policy);

/* Make the password of name expire at when (0: only by its policy's max_age). */
lethe_status store_principal_expire_password(store *s, const char *name, int64_t when);

/* What store_principal_set_password decided. */
enum store_pw_verdict {
	STORE_PW_OK = 0,
	STORE_PW_TOO_SHORT,
	STORE_PW_TOO_FEW_CLASSES,
	STORE_PW_REUSED,          /* one of the last `history` passwords */
};

/*
 * The verdict of policy p on password (length and classes, not the
 * history); why[0..cap) says why in words a user reads.
 */
enum store_pw_verdict store_pw_policy_check(const store_pw_policy *p, const char *password,
    char *why, size_t cap);

/*
 * Change the password of user name in ONE write transaction: check it
 * against the principal's policy (length, classes, history), make keys
 * with the realm's enctypes and the default salt (store/password.h) under
 * a new kvno, keep kvnos_kept long-term kvnos, set password_changed_at,
 * clear an --expire-now date, and remember the password in the history
 * as a key (a derived key sealed like the others; never the text).
 * *verdict other than STORE_PW_OK: nothing changed and why[0..cap) says
 * why in words a user reads. *new_kvno (may be NULL) on success.
 */
lethe_status store_principal_set_password(store *s, const char *name, const char *password,
    uint32_t *new_kvno, enum store_pw_verdict *verdict, char *why, size_t cap);

/* ---------------------------------------------------------- schema v2:
 * registration of temporary keys (docs/store.md, DESIGN §2). A v1 store
 * is upgraded in place, in one transaction, by store_open(). */

#define STORE_MAX_ANCHOR_NAME   64u    /* bytes of a trust anchor's name */
#define STORE_MAX_IDENTITY_LEN  1024u  /* bytes of a rule's identity */
#define STORE_MAX_PATTERN_LEN   STORE_MAX_NAME_LEN /* bytes of a rule's glob */
#define STORE_NONCE_LEN         16u    /* bytes of a registration nonce */
#define STORE_SPKI_HEX_LEN      64u    /* lowercase hex of a SPKI SHA-256 */
#define STORE_MAX_CALLBACK_LEN  300u   /* bytes of "host:port" */
#define STORE_MAX_RULE_CALLBACKS 8u    /* callback hosts one rule may name */
#define STORE_CALLBACK_HOST_MAX 48u    /* canonical host text with NUL: "[v6]" */
#define STORE_CALLBACK_ENTRY_MAX (STORE_CALLBACK_HOST_MAX + 6u) /* + ":port" */
#define STORE_MAX_RULE_CALLBACKS_LEN (STORE_MAX_RULE_CALLBACKS * STORE_CALLBACK_ENTRY_MAX)
#define STORE_MAX_REG_KEYS      8u     /* keys in one registration */
#define STORE_MAX_DNS_SERVICES  255u   /* bytes of "host HTTP ..." */
#define STORE_DEFAULT_DNS_SERVICES   "host HTTP"
#define STORE_DEFAULT_MAX_USE_WINDOW (24 * 3600)  /* 1 day */

/* ---- trust anchors: CA certificates a registering server chains to */

typedef struct store_anchor {
	char *name;
	char *cert_pem;           /* NUL-terminated */
	size_t cert_pem_len;
	int64_t added_at;
} store_anchor;

typedef struct store_anchors {
	store_anchor *entries;    /* sorted by name */
	size_t count;
} store_anchors;

/*
 * Add the trust anchor name (1..STORE_MAX_ANCHOR_NAME bytes of
 * [A-Za-z0-9._-]) with its certificate PEM (1..STORE_MAX_PEM_LEN bytes,
 * not parsed here: lethe-admin checks it). LETHE_ERR_INVALID_ARG and
 * STORE_E_EXISTS when the name is taken.
 */
lethe_status store_anchor_add(store *s, const char *name, lbytes cert_pem);

/* Remove a trust anchor. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_anchor_remove(store *s, const char *name);

/* Every trust anchor, sorted by name (count may be 0). */
lethe_status store_anchor_list(store *s, store_anchors **out);

/* Free a list from store_anchor_list(). NULL is allowed. */
void store_anchors_free(store_anchors *list);

/* ---- registration rules: identity -> principals it may register for */

enum store_identity_kind {
	STORE_ID_SUBJECT = 1,     /* the certificate's subject DN (one-line) */
	STORE_ID_SAN,             /* a SAN value (DNS name, principal...) */
	STORE_ID_SPKI,            /* SPKI SHA-256, 64 lowercase hex: a pin */
};

typedef struct store_reg_rule {
	int64_t id;               /* > 0, assigned by the store */
	enum store_identity_kind kind;
	char *identity;
	char *pattern;            /* glob on canonical principal names */
	char *callbacks;          /* NULL, or canonical "HOST[:PORT]" entries, one
	                             space apart: other hosts the KDC may call back
	                             for the principals this rule covers (v4) */
} store_reg_rule;

typedef struct store_reg_rules {
	store_reg_rule *entries;  /* sorted by id */
	size_t count;
} store_reg_rules;

/*
 * Add a rule: an identity of kind (1..STORE_MAX_IDENTITY_LEN bytes, no
 * control characters; for STORE_ID_SPKI exactly 64 hex digits, stored in
 * lower case) may register for principals matching pattern
 * (1..STORE_MAX_PATTERN_LEN bytes, fnmatch syntax). *id (may be NULL)
 * receives the new rule's id. An identical rule is STORE_E_EXISTS.
 */
lethe_status store_reg_rule_add(store *s, enum store_identity_kind kind,
    const char *identity, const char *pattern, int64_t *id);

/*
 * store_reg_rule_add with callback hosts: callbacks (NULL or "": none) is
 * 1..STORE_MAX_RULE_CALLBACKS entries separated by blanks, each a numeric
 * address with an optional port (store_callback_parse); they are stored
 * canonical and without duplicates. A bad entry is LETHE_ERR_INVALID_ARG
 * (STORE_E_INVALID).
 */
lethe_status store_reg_rule_add_callbacks(store *s, enum store_identity_kind kind,
    const char *identity, const char *pattern, const char *callbacks, int64_t *id);

/*
 * Parse one callback host of a rule or a registration: "192.0.2.7",
 * "192.0.2.7:8888", "[2001:db8::7]", "[2001:db8::7]:8888" or a bare IPv6
 * address. Names are refused: the KDC never resolves a callback. host
 * receives the canonical address text (inet_ntop, so IPv6 in lower case,
 * in brackets; an IPv4-mapped IPv6 address as IPv4), *port the port or 0
 * when none is given. LETHE_ERR_FORMAT otherwise.
 */
lethe_status store_callback_parse(const char *text,
    char host[STORE_CALLBACK_HOST_MAX], uint16_t *port);

/*
 * True when the rule's callbacks list (canonical, as stored; NULL: none)
 * names host (canonical, from store_callback_parse) with no port or with
 * port.
 */
bool store_callbacks_permit(const char *callbacks, const char *host, uint16_t port);

/* Remove rule id. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_reg_rule_remove(store *s, int64_t id);

/* Every rule, sorted by id (count may be 0). */
lethe_status store_reg_rule_list(store *s, store_reg_rules **out);

/* Free a list from store_reg_rule_list(). NULL is allowed. */
void store_reg_rules_free(store_reg_rules *list);

/* "subject", "san", "spki"; NULL for an unknown kind. */
const char *store_identity_kind_name(enum store_identity_kind kind);

/* Parse "subject" / "san" / "spki". LETHE_ERR_INVALID_ARG otherwise. */
lethe_status store_identity_kind_parse(const char *text,
    enum store_identity_kind *out);

/*
 * True when principal (a canonical name) matches a rule's glob pattern:
 * fnmatch() without flags, so '*' also matches '/' and '@'.
 * Case-sensitive.
 */
bool store_pattern_match(const char *pattern, const char *principal);

/* ---- the realm's registration policy (one row) */

typedef struct store_reg_policy {
	bool auto_enrol;          /* a cert naming the principal may register */
	char dns_services[STORE_MAX_DNS_SERVICES + 1]; /* "host HTTP": services
	                             a DNS SAN may name as svc/host@REALM */
	int64_t max_use_window;   /* seconds: use_until - now at most */
	int32_t tk_enctypes[STORE_MAX_ENCTYPES]; /* allowed for temporary keys */
	size_t ntk_enctypes;
} store_reg_policy;

/*
 * The defaults: auto_enrol on, STORE_DEFAULT_DNS_SERVICES,
 * STORE_DEFAULT_MAX_USE_WINDOW, and the realm policy's enctypes.
 */
lethe_status store_reg_policy_default(store_reg_policy *p,
    const store_realm_policy *realm);

/* Read the registration policy (a new or upgraded store has the defaults). */
lethe_status store_reg_policy_get(store *s, store_reg_policy *out);

/*
 * Replace the registration policy. dns_services: space-separated names
 * of [A-Za-z0-9_.-] (may be empty); max_use_window > 0; 1..8 distinct
 * enctypes in 1..32767.
 */
lethe_status store_reg_policy_set(store *s, const store_reg_policy *p);

/* True when svc is one of the words of p->dns_services (exact case). */
bool store_reg_policy_dns_service(const store_reg_policy *p, const char *svc);

/* ---- per-service ticket policy */

typedef struct store_service_policy {
	bool allow_pubkey_tickets; /* tickets under the server's public key */
	bool allow_classic_key;    /* fall back to a long-term key */
	bool configured;           /* output: a row exists (else defaults) */
} store_service_policy;

#define STORE_DEFAULT_PUBKEY_TICKETS false
#define STORE_DEFAULT_CLASSIC_KEY    true

/*
 * The policy of principal (a canonical name of the realm; the principal
 * need not exist): its row, or the defaults above with configured false.
 */
lethe_status store_service_policy_get(store *s, const char *principal,
    store_service_policy *out);

/* Insert or replace the policy of principal (configured is ignored). */
lethe_status store_service_policy_set(store *s, const char *principal,
    const store_service_policy *p);

/* ---- registration of temporary keys */

/*
 * What store_register_keys() decided; only STORE_REG_OK changed the store
 * (STORE_REG_ALREADY recorded the nonce alone).
 */
enum store_reg_outcome {
	STORE_REG_OK = 0,
	STORE_REG_ALREADY,        /* the same keys were registered before: a
	                             success that changes nothing */
	STORE_REG_REPLAY,         /* the nonce is in seen_nonces */
	STORE_REG_KVNO_EXISTS,    /* the principal already has one of the kvnos,
	                             with other keys */
	STORE_REG_NOT_ALLOWED,    /* the principal is a user or krbtgt */
	STORE_REG_TOO_MANY_KEYS,  /* its live keys and the new ones exceed
	                             STORE_MAX_KEYS */
};

/* "ok", "already", "replay", "kvno-exists", "not-allowed", "too-many-keys". */
const char *store_reg_outcome_name(enum store_reg_outcome outcome);

typedef struct store_registration {
	const char *principal;    /* canonical name of the store's realm */
	uint8_t nonce[STORE_NONCE_LEN];
	int64_t now;              /* registered_at; nonces expired by now go */
	int64_t nonce_expires_at; /* > now: when the nonce may be forgotten
	                             (e.g. timestamp + 2 * skew) */
	/*
	 * 1..STORE_MAX_REG_KEYS keys: kvno, enctype, key/key_len, use_until
	 * and accept_until (now < use_until <= accept_until) are read; salt,
	 * kind, registered_at and registered_by are ignored. A (kvno,
	 * enctype) pair appears once; one kvno may carry several enctypes.
	 */
	const store_key *keys;
	size_t nkeys;
	const char *registered_by; /* the signer's SPKI SHA-256, 64 hex */
	const char *callback;     /* "host:port" or NULL (none) */
	lbytes cert_pem;          /* signer certificate PEM; may be empty */
} store_registration;

/*
 * Register temporary keys in ONE write transaction: purge expired nonces;
 * record the nonce (seen -> STORE_REG_REPLAY); refuse a user or krbtgt
 * principal (STORE_REG_NOT_ALLOWED); create the principal as
 * STORE_KIND_AGENT with STORE_ATTR_DEFAULT_SERVICE if absent; when the
 * principal's key rows under r's kvnos are exactly r's keys (temporary,
 * same enctypes, same key bytes compared in constant time after
 * unsealing, same use_until and accept_until) keep the nonce, change
 * nothing else and answer STORE_REG_ALREADY (an agent registering with
 * each KDC of a realm sharing this store); refuse if any of the kvnos is
 * otherwise used by the principal, whatever the enctype or key kind
 * (STORE_REG_KVNO_EXISTS); delete the principal's temporary keys
 * whose accept_until <= now; refuse if its remaining keys and the new ones
 * exceed STORE_MAX_KEYS (STORE_REG_TOO_MANY_KEYS); insert the keys as
 * STORE_KEY_TEMPORARY (encrypted at rest, registered_at = now,
 * registered_by); upsert the agents row; bump the generation (a change
 * of the principal in the feed). Returns LETHE_OK with *outcome set
 * for a decision (anything but STORE_REG_OK leaves the store exactly as
 * it was), or an error status (nothing changed either) for a broken
 * contract or a store failure.
 */
lethe_status store_register_keys(store *s, const store_registration *r,
    enum store_reg_outcome *outcome);

/*
 * *seen = whether nonce is recorded and not expired at now (read only;
 * store_register_keys() checks again inside its transaction).
 */
lethe_status store_nonce_seen(store *s, const uint8_t nonce[STORE_NONCE_LEN],
    int64_t now, bool *seen);

/*
 * Delete the nonces that expired by now. *deleted may be NULL. Nonces are
 * no realm data: the generation stays.
 */
lethe_status store_nonces_purge(store *s, int64_t now, size_t *deleted);

/* ---- agents: the last registration of each agent-managed principal */

typedef struct store_agent {
	char *principal;
	char *callback;           /* NULL: none given */
	char *spki_sha256;        /* 64 lowercase hex */
	char *cert_pem;           /* NULL when none was given */
	int64_t last_registered_at;
} store_agent;

typedef struct store_agents {
	store_agent *entries;     /* sorted by principal */
	size_t count;
} store_agents;

/* The agents row of principal. LETHE_ERR_NOT_FOUND if absent. */
lethe_status store_agent_get(store *s, const char *principal, store_agent **out);

/* Every agents row (count may be 0). */
lethe_status store_agent_list(store *s, store_agents **out);

/* Free what store_agent_get() / store_agent_list() returned. NULL is allowed. */
void store_agent_free(store_agent *a);
void store_agents_free(store_agents *list);

/* ---- audit: every key's kind and lifetime, never key bytes */

enum store_key_state {
	STORE_KEY_STATE_LONG_TERM = 1, /* a long-term key */
	STORE_KEY_STATE_CURRENT,       /* temporary, now < use_until */
	STORE_KEY_STATE_ACCEPT_ONLY,   /* temporary, use_until <= now < accept_until */
	STORE_KEY_STATE_EXPIRED,       /* temporary, accept_until <= now */
};

/* "long-term", "current", "accept-only", "expired". */
const char *store_key_state_name(enum store_key_state state);

typedef struct store_audit_key {
	uint32_t kvno;
	int32_t enctype;
	enum store_key_kind kind;
	enum store_key_state state;
	int64_t registered_at;    /* 0 for keys of a v1 store */
	int64_t use_until;        /* 0: no end */
	int64_t accept_until;     /* 0: no end */
	char *registered_by;      /* NULL for admin-made keys */
} store_audit_key;

typedef struct store_audit_principal {
	char *name;
	enum store_principal_kind kind;
	uint32_t attributes;
	bool agent_managed;       /* kind agent, or an agents row exists */
	size_t long_term_keys;    /* of this principal's keys */
	store_audit_key *keys;    /* newest kvno first */
	size_t nkeys;
} store_audit_principal;

typedef struct store_audit_report {
	int64_t now;
	uint64_t generation;      /* of the view audited */
	store_audit_principal *principals; /* sorted by name */
	size_t nprincipals;
	/* long-term keys of service principals and of agent-managed ones */
	size_t long_term_service_keys;
	char **long_term_service_principals; /* which principals hold them */
	size_t nlong_term_service_principals;
	char **agent_principals;  /* the agent-managed principals */
	size_t nagent_principals;
	bool agent_long_term_present; /* an agent-managed one has a long-term key */
} store_audit_report;

/* Audit the store as of now, in one read transaction. */
lethe_status store_audit(store *s, int64_t now, store_audit_report **out);

/* Free a report. NULL is allowed. */
void store_audit_report_free(store_audit_report *r);

#endif
