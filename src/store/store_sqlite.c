/* The SQLite backend: one file, WAL, foreign keys, statements bound by name. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 5000
#define CHECKPOINT_WAIT_MS 100  /* a checkpoint waits this long for readers */
#define MAX_COLUMNS     24
#define MAX_PARAMS      16
#define STMT_CACHE      32      /* prepared statements kept per handle */

/*
 * A handle: the connection and the statements it prepared, kept for the
 * next exec of the same SQL text (compiling is a large part of a short
 * query). A statement is reset and its bindings cleared after each use, so
 * a cached one holds no transaction open.
 */
typedef struct cached_stmt {
	char *sql;                /* the text it was compiled from */
	sqlite3_stmt *stmt;
	uint64_t last_used;
	bool busy;                /* in use by an exec further up the stack */
} cached_stmt;

typedef struct sqlite_handle {
	sqlite3 *db;
	cached_stmt cache[STMT_CACHE];
	uint64_t uses;
} sqlite_handle;

#ifndef SQLITE_OPEN_NOFOLLOW
#define SQLITE_OPEN_NOFOLLOW 0
#endif

/*
 * The v1 tables, one statement each (store_schema_add_v2/v3 add the
 * others). The PostgreSQL backend reads the same statements with BIGINT
 * for INTEGER, BYTEA for BLOB and an identity column for the INTEGER
 * PRIMARY KEY ids. docs/store.md explains each table.
 */
const char *const store_v1_tables[] = {
    "CREATE TABLE schema_version (\n"
    "  version INTEGER NOT NULL\n"
    ")",
    "CREATE TABLE realm (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),\n"
    "  max_life INTEGER NOT NULL CHECK (max_life > 0),\n"
    "  max_renew INTEGER NOT NULL CHECK (max_renew >= 0),\n"
    "  clock_skew INTEGER NOT NULL CHECK (clock_skew >= 0),\n"
    "  enctypes TEXT NOT NULL,\n"
    "  kvnos_kept INTEGER NOT NULL CHECK (kvnos_kept >= 1),\n"
    "  kdf_salt BLOB NOT NULL,\n"
    "  mkey_check BLOB NOT NULL,\n"
    "  created_at INTEGER NOT NULL\n"
    ")",
    "CREATE TABLE generation (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  value INTEGER NOT NULL\n"
    ")",
    "CREATE TABLE principals (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  kind TEXT NOT NULL\n"
    "    CHECK (kind IN ('user', 'service', 'krbtgt', 'agent')),\n"
    "  attributes INTEGER NOT NULL,\n"
    "  max_life INTEGER NOT NULL DEFAULT 0,\n"
    "  max_renew INTEGER NOT NULL DEFAULT 0,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  modified_at INTEGER NOT NULL,\n"
    "  password_changed_at INTEGER NOT NULL DEFAULT 0,\n"
    "  expires_at INTEGER NOT NULL DEFAULT 0\n"
    ")",
    "CREATE TABLE keys (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  principal_id INTEGER NOT NULL\n"
    "    REFERENCES principals (id) ON DELETE CASCADE,\n"
    "  kvno INTEGER NOT NULL CHECK (kvno BETWEEN 0 AND 4294967295),\n"
    "  enctype INTEGER NOT NULL CHECK (enctype <> 0),\n"
    "  key_blob BLOB NOT NULL,\n"
    "  salt BLOB,\n"
    "  s2k_iterations INTEGER,\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('long-term', 'temporary')),\n"
    "  registered_at INTEGER NOT NULL,\n"
    "  use_until INTEGER NOT NULL DEFAULT 0,\n"
    "  accept_until INTEGER NOT NULL DEFAULT 0,\n"
    "  registered_by TEXT,\n"
    "  UNIQUE (principal_id, kvno, enctype)\n"
    ")",
    "CREATE TABLE credentials (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  cert_pem TEXT NOT NULL,\n"
    "  key_blob BLOB NOT NULL,\n"
    "  not_after INTEGER NOT NULL,\n"
    "  created_at INTEGER NOT NULL\n"
    ")",
};
const size_t store_v1_ntables = sizeof(store_v1_tables) / sizeof(store_v1_tables[0]);

static sqlite3 *
db_of(store *s)
{
	return ((sqlite_handle *)s->backend)->db;
}

static void
cache_clear(sqlite_handle *h)
{
	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(h->cache[i].stmt);
		free(h->cache[i].sql);
		h->cache[i] = (cached_stmt){ 0 };
	}
}

/*
 * A prepared statement for sql: the cached one when it is free, else a new
 * one, cached in the least recently used slot when that slot is not busy
 * (*slot set), or not cached at all (*slot NULL: finalize after use).
 */
static int
stmt_get(sqlite_handle *h, const char *sql, sqlite3_stmt **out, cached_stmt **slot)
{
	cached_stmt *lru = NULL, *c;
	int code;

	*out = NULL;
	*slot = NULL;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		c = &h->cache[i];
		if (c->sql != NULL && !c->busy && (c->sql == sql || strcmp(c->sql, sql) == 0)) {
			c->busy = true;
			c->last_used = ++h->uses;
			*out = c->stmt;
			*slot = c;
			return SQLITE_OK;
		}
		if (!c->busy && (lru == NULL || c->last_used < lru->last_used))
			lru = c;
	}
	code = sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (code != SQLITE_OK || lru == NULL)
		return code;
	char *copy = strdup(sql);
	if (copy == NULL)
		return SQLITE_OK;       /* used once, not cached */
	sqlite3_finalize(lru->stmt);
	free(lru->sql);
	*lru = (cached_stmt){ .sql = copy, .stmt = *out, .last_used = ++h->uses, .busy = true };
	*slot = lru;
	return SQLITE_OK;
}

/* Done with a statement from stmt_get: reset and keep it, or finalize it. */
static void
stmt_put(sqlite3_stmt *stmt, cached_stmt *slot)
{
	if (slot == NULL) {
		sqlite3_finalize(stmt);
		return;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	slot->busy = false;
}

/* Record SQLite's error for what and return the matching status. */
static lethe_status
sqlite_fail(store *s, int code, const char *what)
{
	sqlite3 *db = db_of(s);
	const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(code);

	switch (code & 0xff) {
	case SQLITE_CONSTRAINT:
		if (code == SQLITE_CONSTRAINT_UNIQUE ||
		    code == SQLITE_CONSTRAINT_PRIMARYKEY)
			return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_EXISTS,
			    "%s: already exists (%s)", what, msg);
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "%s: %s", what, msg);
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "%s: not a valid Lethe store (%s)", what, msg);
	case SQLITE_NOMEM:
		return store_fail(s, LETHE_ERR_NOMEM, STORE_E_OTHER, "%s: %s",
		    what, msg);
	default:
		return store_fail(s, LETHE_ERR_IO, STORE_E_DATABASE, "%s: %s",
		    what, msg);
	}
}

/* Run one or more statements without parameters or results. */
static lethe_status
run_script(store *s, const char *sql, const char *what)
{
	int code = sqlite3_exec(db_of(s), sql, NULL, NULL, NULL);

	return code == SQLITE_OK ? LETHE_OK : sqlite_fail(s, code, what);
}

/* The connection settings every handle needs: WAL, foreign keys, timeout. */
static lethe_status
configure(store *s)
{
	sqlite3 *db = db_of(s);
	sqlite3_stmt *stmt = NULL;
	const unsigned char *mode;
	lethe_status rc = LETHE_OK;
	int code;

	code = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (code != SQLITE_OK)
		return sqlite_fail(s, code, "busy timeout");
	sqlite3_extended_result_codes(db, 1);
	GUARD(run_script(s, "PRAGMA foreign_keys = ON; "
	    "PRAGMA secure_delete = ON; PRAGMA synchronous = FULL;",
	    "configuring the database"));
	code = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (code != SQLITE_OK)
		return sqlite_fail(s, code, "setting WAL mode");
	code = sqlite3_step(stmt);
	if (code != SQLITE_ROW) {
		rc = sqlite_fail(s, code, "setting WAL mode");
		goto cleanup;
	}
	mode = sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
		rc = store_fail(s, LETHE_ERR_IO, STORE_E_DATABASE,
		    "the database refused WAL journal mode");
cleanup:
	sqlite3_finalize(stmt);
	return rc;
}

/* sqlite3_open_v2 on an existing file, without following a symlink. */
static lethe_status
open_handle(store *s, const char *path)
{
	sqlite3 *db = NULL;
	int code;

	sqlite_handle *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return store_fail(s, LETHE_ERR_NOMEM, STORE_E_OTHER, "out of memory");
	code = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	h->db = db;
	s->backend = h;
	if (code != SQLITE_OK) {
		lethe_status rc = sqlite_fail(s, code, path);

		sqlite3_close(db);
		free(h);
		s->backend = NULL;
		return rc;
	}
	return configure(s);
}

static void sqlite_close(store *s);
static void sqlite_remove_files(const char *path);

static lethe_status
sqlite_create(store *s, const char *path)
{
	lethe_status rc;
	int fd;

	/* The file exists, mode 0600, before SQLite sees it. */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return store_fail(s, LETHE_ERR_IO, errno == EEXIST ?
		    STORE_E_EXISTS : STORE_E_DATABASE, "%s: %s", path,
		    strerror(errno));
	if (fchmod(fd, 0600) != 0) {
		int saved = errno;

		close(fd);
		return store_fail(s, LETHE_ERR_IO, STORE_E_DATABASE, "%s: %s",
		    path, strerror(saved));
	}
	close(fd);
	rc = open_handle(s, path);
	for (size_t i = 0; rc == LETHE_OK && i < store_v1_ntables; i++)
		rc = run_script(s, store_v1_tables[i], "creating the schema");
	if (rc != LETHE_OK) {
		sqlite_close(s);
		sqlite_remove_files(path);
	}
	return rc;
}

static lethe_status
sqlite_open(store *s, const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return store_fail(s, errno == ENOENT ? LETHE_ERR_NOT_FOUND :
		    LETHE_ERR_IO, errno == ENOENT ? STORE_E_NOT_FOUND :
		    STORE_E_DATABASE, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return store_fail(s, LETHE_ERR_IO, STORE_E_DATABASE,
		    "%s: not a regular file", path);
	return open_handle(s, path);
}

static void
sqlite_close(store *s)
{
	sqlite_handle *h = s->backend;

	if (h != NULL) {
		cache_clear(h);
		sqlite3_close_v2(h->db);
		free(h);
	}
	s->backend = NULL;
}

static void
sqlite_remove_files(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "-journal" };
	char aux[4096];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		int n = snprintf(aux, sizeof(aux), "%s%s", path, suffixes[i]);

		if (n > 0 && (size_t)n < sizeof(aux))
			(void)unlink(aux);
	}
	(void)unlink(path);
}

static lethe_status
sqlite_begin(store *s, bool write)
{
	return run_script(s, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED",
	    "starting a transaction");
}

static lethe_status
sqlite_commit(store *s)
{
	return run_script(s, "COMMIT", "committing");
}

static void
sqlite_rollback(store *s)
{
	if (s->backend != NULL && !sqlite3_get_autocommit(db_of(s)))
		(void)sqlite3_exec(db_of(s), "ROLLBACK", NULL, NULL, NULL);
}

/* Bind params[i] to the parameter named "$<i+1>". */
static lethe_status
bind_params(store *s, sqlite3_stmt *stmt, const db_value *params, size_t nparams)
{
	char name[8];
	int idx, code = SQLITE_OK;

	ENSURE(nparams <= MAX_PARAMS && (int)nparams ==
	    sqlite3_bind_parameter_count(stmt), LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < nparams; i++) {
		const db_value *v = &params[i];

		snprintf(name, sizeof(name), "$%zu", i + 1);
		idx = sqlite3_bind_parameter_index(stmt, name);
		ENSURE(idx > 0 && v->len <= INT32_MAX, LETHE_ERR_INVALID_ARG);
		if (v->type == DB_INT)
			code = sqlite3_bind_int64(stmt, idx, v->i);
		else if (v->type == DB_TEXT)
			code = sqlite3_bind_text(stmt, idx, v->len ?
			    (const char *)v->data : "", (int)v->len,
			    SQLITE_TRANSIENT);
		else if (v->type == DB_BLOB && v->len == 0)
			code = sqlite3_bind_zeroblob(stmt, idx, 0);
		else if (v->type == DB_BLOB)
			code = sqlite3_bind_blob(stmt, idx, v->data, (int)v->len,
			    SQLITE_TRANSIENT);
		else
			code = sqlite3_bind_null(stmt, idx);
		if (code != SQLITE_OK)
			return sqlite_fail(s, code, "binding a parameter");
	}
	return LETHE_OK;
}

/* The current row's columns as db_values (pointers valid until the next step). */
static lethe_status
fetch_row(sqlite3_stmt *stmt, db_value *cols, size_t cap, size_t *ncols)
{
	int n = sqlite3_column_count(stmt);

	ENSURE(n >= 0 && (size_t)n <= cap, LETHE_ERR_INVALID_ARG);
	for (int i = 0; i < n; i++) {
		db_value *v = &cols[i];

		*v = db_null();
		switch (sqlite3_column_type(stmt, i)) {
		case SQLITE_INTEGER:
			*v = db_int(sqlite3_column_int64(stmt, i));
			break;
		case SQLITE_TEXT:
			v->type = DB_TEXT;
			v->data = sqlite3_column_text(stmt, i);
			v->len = (size_t)sqlite3_column_bytes(stmt, i);
			break;
		case SQLITE_BLOB:
			v->type = DB_BLOB;
			v->data = sqlite3_column_blob(stmt, i);
			v->len = (size_t)sqlite3_column_bytes(stmt, i);
			break;
		default:
			break;
		}
	}
	*ncols = (size_t)n;
	return LETHE_OK;
}

static lethe_status
sqlite_exec(store *s, const char *sql, const db_value *params, size_t nparams,
    db_row_cb cb, void *ctx, int64_t *changes)
{
	sqlite3 *db = db_of(s);
	sqlite3_stmt *stmt = NULL;
	cached_stmt *slot = NULL;
	db_value cols[MAX_COLUMNS];
	size_t ncols = 0;
	lethe_status rc = LETHE_OK;
	int code;

	if (changes != NULL)
		*changes = 0;
	code = stmt_get(s->backend, sql, &stmt, &slot);
	if (code != SQLITE_OK)
		return sqlite_fail(s, code, "preparing a statement");
	GUARD_GOTO(rc, bind_params(s, stmt, params, nparams));
	while ((code = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cb == NULL)
			continue;
		GUARD_GOTO(rc, fetch_row(stmt, cols, MAX_COLUMNS, &ncols));
		GUARD_GOTO(rc, cb(ctx, cols, ncols));
	}
	if (code != SQLITE_DONE) {
		rc = sqlite_fail(s, sqlite3_extended_errcode(db), "running a statement");
		goto cleanup;
	}
	if (changes != NULL)
		*changes = sqlite3_changes64(db);
cleanup:
	stmt_put(stmt, slot);
	return rc;
}

/*
 * A truncating WAL checkpoint: every frame goes into the database file
 * (where secure_delete has zeroed freed cells) and the WAL is cut to zero
 * bytes, so old page images holding deleted rows leave the disk. Waits
 * CHECKPOINT_WAIT_MS for readers, then reports busy.
 */
static lethe_status
sqlite_checkpoint(store *s, bool *busy)
{
	sqlite3 *db = db_of(s);
	int code, log = 0, done = 0;

	*busy = false;
	(void)sqlite3_busy_timeout(db, CHECKPOINT_WAIT_MS);
	code = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    &log, &done);
	(void)sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
		*busy = true;
		return LETHE_OK;
	}
	return code == SQLITE_OK ? LETHE_OK : sqlite_fail(s, code, "checkpointing");
}

const store_backend_ops store_sqlite_ops = {
	.name = "sqlite",
	.create = sqlite_create,
	.open = sqlite_open,
	.close = sqlite_close,
	.remove_files = sqlite_remove_files,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.exec = sqlite_exec,
	.checkpoint = sqlite_checkpoint,
};
