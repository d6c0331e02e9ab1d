/*
 * Inside the store: the backend interface and the at-rest encryption.
 *
 * store.c (with store_reg.c and store_audit.c for schema v2) holds every
 * SQL statement but the v1 table definitions (portable SQL with $1, $2...
 * placeholders, which SQLite binds by name and PostgreSQL by number) and
 * the encryption; a backend only runs statements and transactions:
 * store_pg.c mirrors store_sqlite.c function for function.
 */
#ifndef LETHE_STORE_STORE_INTERNAL_H
#define LETHE_STORE_STORE_INTERNAL_H

#include <stdarg.h>

#include "store/store.h"

#define STORE_SCHEMA_VERSION 5   /* 1: no registration tables; 2: no change feed;
                                    3: no callback hosts in rules;
                                    4: no password policies, no kadmin/changepw */
#define STORE_KDF_SALT_LEN   16u
#define STORE_SEAL_KEY_LEN   32u
#define STORE_CHECK_LEN      32u
#define STORE_ERRMSG_LEN     256u
#define STORE_MAX_NOTED      64u  /* names one write transaction notes; more: realm-wide */

#if defined(__GNUC__)
#define LETHE_STORE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LETHE_STORE_PRINTF(f, a)
#endif

/* A statement parameter or a result column. */
enum db_type {
	DB_NULL = 0,
	DB_INT,
	DB_TEXT,        /* data/len: bytes without a NUL */
	DB_BLOB,
};

typedef struct db_value {
	enum db_type type;
	int64_t i;
	const uint8_t *data;
	size_t len;
} db_value;

static inline db_value
db_int(int64_t i)
{
	return (db_value){ .type = DB_INT, .i = i };
}

static inline db_value
db_text(const char *text, size_t len)
{
	return (db_value){ .type = DB_TEXT, .data = (const uint8_t *)text, .len = len };
}

static inline db_value
db_blob(const uint8_t *data, size_t len)
{
	return (db_value){ .type = DB_BLOB, .data = data, .len = len };
}

static inline db_value
db_null(void)
{
	return (db_value){ .type = DB_NULL };
}

/*
 * Called per result row; cols[0..ncols) are valid only during the call.
 * A status other than LETHE_OK stops the query and is returned by it.
 */
typedef lethe_status (*db_row_cb)(void *ctx, const db_value *cols, size_t ncols);

/* What a backend does. Every function records a message with store_fail(). */
typedef struct store_backend_ops {
	const char *name;
	/* Create a new, empty database file at path and give it the schema. */
	lethe_status (*create)(store *s, const char *path);
	/* Open an existing database (LETHE_ERR_NOT_FOUND if absent). */
	lethe_status (*open)(store *s, const char *path);
	void (*close)(store *s);
	/* Remove what create() made at path (after a failed store_create). */
	void (*remove_files)(const char *path);
	/* BEGIN IMMEDIATE (write) or a read transaction. */
	lethe_status (*begin)(store *s, bool write);
	lethe_status (*commit)(store *s);
	/* Roll back the open transaction, if any; never fails visibly. */
	void (*rollback)(store *s);
	/*
	 * Run sql with params[0..nparams) bound to $1..$n; call cb (may be
	 * NULL) for each row; *changes (may be NULL) receives the rows
	 * changed. A uniqueness conflict is LETHE_ERR_INVALID_ARG with
	 * STORE_E_EXISTS.
	 */
	lethe_status (*exec)(store *s, const char *sql, const db_value *params,
	    size_t nparams, db_row_cb cb, void *ctx, int64_t *changes);
	/*
	 * Optional (NULL: exec). Inside a transaction: exec() for a SELECT
	 * whose result may be large (the whole realm), read a part at a time;
	 * cb may run statements of its own. On a failure cb may have seen
	 * some rows.
	 */
	lethe_status (*walk)(store *s, const char *sql, const db_value *params,
	    size_t nparams, db_row_cb cb, void *ctx);
	/*
	 * Outside any transaction: make rows deleted by committed transactions
	 * leave the backend's files, waiting briefly for readers. *busy true:
	 * a reader kept it from finishing (not an error; try again later).
	 * SQLite: a truncating WAL checkpoint (secure_delete has zeroed the
	 * freed cells). A server backend may do nothing, or VACUUM.
	 */
	lethe_status (*checkpoint)(store *s, bool *busy);
	/*
	 * Optional (NULL: none). Inside the committing write transaction:
	 * tell other processes that generation gen is committed.
	 */
	lethe_status (*notify)(store *s, int64_t gen);
	/* Optional: start listening for notify(); its descriptor; drain it. */
	lethe_status (*listen)(store *s);
	int (*notify_fd)(store *s);
	bool (*notify_drain)(store *s);
} store_backend_ops;

extern const store_backend_ops store_sqlite_ops;
extern const store_backend_ops store_pg_ops;

/* The v1 tables' DDL in SQLite's words (store_sqlite.c); PostgreSQL translates. */
extern const char *const store_v1_tables[];
extern const size_t store_v1_ntables;

struct store {
	const store_backend_ops *ops;
	void *backend;                         /* the backend's handle */
	bool in_txn;
	uint8_t seal_key[STORE_SEAL_KEY_LEN];  /* AES-256-GCM key for blobs */
	store_realm_policy policy;
	enum store_error_kind err_kind;
	char errmsg[STORE_ERRMSG_LEN];
	/* The change feed: principals the open write transaction touched. */
	char *noted[STORE_MAX_NOTED];
	size_t nnoted;
	bool noted_realm;                      /* a realm-wide change too */
};

/* Record a failure on s (printf-style message) and return rc. */
lethe_status store_fail(store *s, lethe_status rc, enum store_error_kind kind,
    const char *fmt, ...) LETHE_STORE_PRINTF(4, 5);

/* ---- at-rest encryption (seal.c) ---- */

/*
 * Derive the blob key (*seal_key) and the check value (*check) from the
 * master key and the store's KDF salt with HKDF-SHA256, each under its
 * own fixed info label.
 */
lethe_status store_derive_keys(const store_master_key *mk, lbytes kdf_salt,
    uint8_t seal_key[STORE_SEAL_KEY_LEN], uint8_t check[STORE_CHECK_LEN]);

/* Bytes a sealed blob of n plaintext bytes takes. */
size_t store_sealed_len(size_t n);

/*
 * Encrypt pt with AES-256-GCM under key with a random 12-byte nonce and
 * aad; write version || nonce || ciphertext || tag to out[0..out_cap).
 */
lethe_status store_seal(const uint8_t key[STORE_SEAL_KEY_LEN], lbytes aad,
    lbytes pt, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Decrypt a blob from store_seal() into out[0..out_cap).
 * LETHE_ERR_BAD_INTEGRITY when it does not verify (wrong key, wrong aad,
 * changed bytes), LETHE_ERR_FORMAT when it is not a blob.
 */
lethe_status store_unseal(const uint8_t key[STORE_SEAL_KEY_LEN], lbytes aad,
    lbytes blob, uint8_t *out, size_t out_cap, size_t *out_len);

/* Build the AAD of a key row into buf[0..cap). */
lethe_status store_key_aad(const char *name, uint32_t kvno, int32_t enctype,
    uint8_t *buf, size_t cap, size_t *len);

/* Build the AAD of a password-history key (v4) into buf[0..cap). */
lethe_status store_history_aad(const char *name, uint32_t kvno, int32_t enctype,
    uint8_t *buf, size_t cap, size_t *len);

/* Build the AAD of a credential's private key into buf[0..cap). */
lethe_status store_cred_aad(const char *name, uint8_t *buf, size_t cap, size_t *len);

#define STORE_AAD_MAX (32u + STORE_MAX_NAME_LEN + 16u)

/* ---- shared by store.c, store_reg.c and store_audit.c ---- */

/*
 * Transactions: begin; end (commit without a new generation: a read, or
 * a write that changed no realm data); commit a write (bump the
 * generation and write the noted changes to the feed); abort.
 */
lethe_status store_txn_begin(store *s, bool write);
lethe_status store_txn_end(store *s);
lethe_status store_txn_commit(store *s);
void store_txn_abort(store *s);

/*
 * Note that the open write transaction changes principal name (NULL: a
 * realm-wide change). Never fails: past STORE_MAX_NOTED names, or out of
 * memory, the change becomes realm-wide. A commit that noted nothing
 * writes a realm-wide row.
 */
void store_note_change(store *s, const char *name);

/* Forget the noted changes (store_feed.c). */
void store_notes_clear(store *s);

/*
 * Write the noted changes as feed rows of generation gen at time now,
 * inside the committing transaction (store_feed.c).
 */
lethe_status store_feed_write(store *s, int64_t gen, int64_t now);

/* A store handle on path's backend, not connected (store.c). */
lethe_status store_alloc(const char *path, store **out);

/* Close s (its transaction rolled back) and free it; files untouched. */
void store_release(store *s);

/* Copy the failure of s to errbuf (may be NULL) and *kind (may be NULL). */
void store_report_error(const store *s, char *errbuf, size_t errbuf_len,
    enum store_error_kind *kind);

/* Forget the last failure. */
void store_clear_error(store *s);

/* Record rc with a message naming what failed, unless one was recorded. */
lethe_status store_fail_status(store *s, lethe_status rc, const char *what);

/* Map a row-callback failure (damaged row...) to a recorded failure. */
lethe_status store_collect_status(store *s, lethe_status rc);

/* Length of name if it is 1..max bytes, else 0. */
size_t store_bounded_len(const char *name, size_t max);

/* True if name is 1..max bytes of A-Z a-z 0-9 . _ - (anchor and policy names). */
bool store_plain_name_ok(const char *name, size_t max);

/* name must be the canonical form of a principal of the store's realm. */
lethe_status store_check_name(store *s, const char *name);

/* A NUL-terminated copy of a text column of at most max bytes. */
lethe_status store_text_dup(const db_value *v, size_t max, char **out);

/* Row callback: one INTEGER column into *(int64_t *)ctx. */
lethe_status store_int_cb(void *ctx, const db_value *c, size_t n);

/* Parse a kind column. LETHE_ERR_FORMAT for an unknown one. */
lethe_status store_principal_kind_parse(const db_value *v,
    enum store_principal_kind *out);
lethe_status store_key_kind_parse(const db_value *v, enum store_key_kind *out);

/* The row id of principal name, inside the caller's transaction. */
lethe_status store_find_principal(store *s, const char *name, int64_t *id);

/* Insert one key row (sealed) under principal pid with kvno and kind. */
lethe_status store_insert_key(store *s, int64_t pid, const char *name,
    const store_key *k, uint32_t kvno, enum store_key_kind kind, int64_t now);

/* The highest kvno principal pid has (0: none), inside the caller's transaction. */
lethe_status store_max_kvno(store *s, int64_t pid, uint32_t *out);

/* Delete long-term keys of pid older than its newest `kept` kvnos. */
lethe_status store_prune_long_term(store *s, int64_t pid, uint32_t kept);

/* Set modified_at (and password_changed_at if password) of pid to now. */
lethe_status store_touch_principal(store *s, int64_t pid, int64_t now,
    bool password);

/*
 * Schema v2 (store_reg.c): create the registration tables and the default
 * reg_policy row (enctypes of *realm), inside the caller's write
 * transaction. Used by store_create() and by the v1 -> v2 upgrade.
 */
lethe_status store_schema_add_v2(store *s, const store_realm_policy *realm);

/*
 * Schema v3 (store_reg.c): the changes table and the feed row with its
 * floor at generation floor_gen, inside the caller's write transaction.
 */
lethe_status store_schema_add_v3(store *s, int64_t floor_gen);

/*
 * Schema v4 (store_reg.c): reg_rules.callbacks, the callback hosts a rule
 * permits, inside the caller's write transaction.
 */
lethe_status store_schema_add_v4(store *s);

/*
 * Schema v5 (store_policy.c): password policies, the principals' policy
 * and password expiry columns, password history, and (with changepw, for
 * an upgrade) kadmin/changepw with random keys when absent, inside the
 * caller's write transaction.
 */
lethe_status store_schema_add_v5(store *s, bool changepw);

/*
 * Every table and row a new store has after the v1 tables, up to
 * STORE_SCHEMA_VERSION, inside the caller's write transaction: the one
 * list store_create() and store_migrate() both follow, so a new step is
 * added here once.
 */
lethe_status store_schema_add_since_v1(store *s, const store_realm_policy *realm);

/* LETHE_OK when the password policy called name exists; else NOT_FOUND, recorded. */
lethe_status store_pw_policy_exists(store *s, const char *name);

/* Insert a checked principal and its keys inside the open write transaction. */
lethe_status store_insert_new_principal(store *s, const store_principal *p, int64_t now);

/* Upgrade an open v1, v2 or v3 store to v4 in one write transaction (store_reg.c). */
lethe_status store_schema_upgrade(store *s);

/*
 * Note every principal holding a temporary key whose accept_until is
 * non-zero and <= now, then delete those keys, inside the caller's write
 * transaction; *deleted and *principals (may be NULL) receive the counts.
 */
lethe_status store_delete_expired_keys(store *s, int64_t now, size_t *deleted,
    size_t *principals);

#endif
