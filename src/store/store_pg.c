/*
 * The PostgreSQL backend: a realm shared by many KDCs. The path is a libpq
 * URI (postgresql://... or postgres://...); the database must exist and
 * hold no Lethe tables before store_create().
 *
 * Same tables and SQL as SQLite: the DDL strings are SQLite's, read with
 * BIGINT for INTEGER, BYTEA for BLOB, TEXT COLLATE "C" for TEXT (byte
 * order, as SQLite sorts) and an identity column for INTEGER PRIMARY KEY.
 * Parameters and results travel in binary (int8, text, bytea).
 *
 * Transactions: a write takes a transaction-scoped advisory lock first, so
 * writers run one at a time as under SQLite's BEGIN IMMEDIATE (generations
 * commit in order); a read is REPEATABLE READ READ ONLY, one snapshot.
 * A commit that bumps the generation sends NOTIFY lethe_changes in the
 * same transaction; a second connection LISTENs for the KDC's refresher.
 */
#include "store/store_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "base/wait.h"

#define MAX_COLUMNS   24
#define MAX_PARAMS    16
#define DDL_MAX       4096u
#define WALK_BATCH    1000        /* rows per FETCH of a walk's cursor */
#define WRITE_LOCK_ID "7310593858"  /* the advisory lock every writer takes */
#define NOTIFY_CHANNEL "lethe_changes"
#define RECONNECT_SECONDS 1         /* a lost LISTEN connection is retried this often */
#define BACKOFF_FIRST_MS  250       /* a lost connection: first wait before reconnecting */
#define BACKOFF_MAX_MS    4000      /* ... doubling up to this */
#define CONNECT_TIMEOUT   "5"       /* seconds per host, unless the URI says otherwise */

/* PostgreSQL type OIDs (pg_type.h, stable across versions). */
#define OID_BOOL  16
#define OID_BYTEA 17
#define OID_NAME  19
#define OID_INT8  20
#define OID_INT2  21
#define OID_INT4  23
#define OID_TEXT  25
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043

/* Every table a store holds, dependants first (what remove_files drops). */
static const char drop_sql[] =
    "DROP TABLE IF EXISTS password_history, password_policies, "
    "agents, changes, feed, seen_nonces, service_policy, "
    "reg_policy, reg_rules, trust_anchors, credentials, keys, principals, "
    "generation, realm, schema_version";

typedef struct pg_backend {
	PGconn *conn;
	PGconn *listen;          /* NULL until store_notify_listen(), or lost */
	bool listening;          /* store_notify_listen() was called */
	time_t listen_retry;     /* no reconnect before this */
	char *conninfo;
	uint64_t retry_at_ms;    /* lost: no reconnect attempt before this */
	unsigned backoff_ms;     /* lost: the next wait; 0 while connected */
	unsigned cursor_depth;   /* walks open now, one inside another */
} pg_backend;

static pg_backend *
pg_of(store *s)
{
	return (pg_backend *)s->backend;
}

bool
store_path_is_url(const char *path)
{
	return path != NULL && (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0);
}

/* libpq's notices (e.g. "table does not exist, skipping") are not errors. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The first line of libpq's message for conn, without the newline. */
static const char *
conn_msg(const PGconn *conn, char *buf, size_t cap)
{
	const char *m = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t n = strcspn(m, "\n");

	snprintf(buf, cap, "%.*s", (int)(n < 200 ? n : 200), m);
	return buf;
}

/*
 * Is a failure with SQLSTATE state (may be "") one of the server's
 * availability, not of the statement? The connection is gone, or the
 * server refuses connections or writes for now: class 08 (connection
 * exception), 57P01..57P03 (shut down, starting up), 25006 (a read-only
 * transaction: a standby not yet promoted).
 */
static bool
unavailable(store *s, const char *state)
{
	pg_backend *b = pg_of(s);

	return b == NULL || b->conn == NULL || PQstatus(b->conn) != CONNECTION_OK ||
	    strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
	    strcmp(state, "25006") == 0;
}

/* Record a failed result (or connection) for what; map SQLSTATE to a status. */
static lethe_status
pg_fail(store *s, const PGresult *res, const char *what)
{
	const char *state = res != NULL ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorField(res,
	    PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char buf[256];

	if (msg == NULL)
		msg = conn_msg(pg_of(s) != NULL ? pg_of(s)->conn : NULL, buf,
		    sizeof(buf));
	if (state == NULL)
		state = "";
	if (unavailable(s, state))
		return store_fail(s, LETHE_ERR_IO, STORE_E_UNAVAILABLE,
		    "%s: PostgreSQL unavailable (%s)", what, msg);
	if (strcmp(state, "23505") == 0 || strcmp(state, "42P07") == 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_EXISTS,
		    "%s: already exists (%s)", what, msg);
	if (strncmp(state, "23", 2) == 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "%s: %s", what, msg);
	if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0)
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "%s: not a valid Lethe store (%s)", what, msg);
	return store_fail(s, LETHE_ERR_IO, STORE_E_DATABASE, "%s: %s", what, msg);
}

/* Run sql without parameters; any tuples are ignored. */
static lethe_status
run_simple(store *s, const char *sql, const char *what)
{
	PGresult *res = PQexec(pg_of(s)->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	lethe_status rc = LETHE_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_fail(s, res, what);
	PQclear(res);
	return rc;
}

/*
 * A new connection to conninfo, or NULL with a message in s. A host that
 * does not answer is given up after CONNECT_TIMEOUT seconds unless
 * conninfo sets connect_timeout (it is expanded after the default).
 */
static PGconn *
connect_to(store *s, const char *conninfo)
{
	const char *const keys[] = { "connect_timeout", "dbname", NULL };
	const char *const values[] = { CONNECT_TIMEOUT, conninfo, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	char buf[256];

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		(void)store_fail(s, LETHE_ERR_IO, STORE_E_UNAVAILABLE,
		    "PostgreSQL: cannot connect (%s)", conn_msg(conn, buf,
		    sizeof(buf)));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet_notice, NULL);
	return conn;
}

/* Connect s to path; the session speaks UTC and UTF-8. */
static lethe_status
pg_connect(store *s, const char *path)
{
	pg_backend *b = calloc(1, sizeof(*b));

	ENSURE(b != NULL, store_fail(s, LETHE_ERR_NOMEM, STORE_E_OTHER,
	    "out of memory"));
	s->backend = b;
	b->conninfo = strdup(path);
	ENSURE(b->conninfo != NULL, store_fail(s, LETHE_ERR_NOMEM,
	    STORE_E_OTHER, "out of memory"));
	b->conn = connect_to(s, path);
	ENSURE(b->conn != NULL, LETHE_ERR_IO);
	ENSURE(PQsetClientEncoding(b->conn, "UTF8") == 0, pg_fail(s, NULL,
	    "setting the client encoding"));
	return LETHE_OK;
}

/* Is ch part of an SQL word? */
static bool
word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

/*
 * SQLite DDL in PostgreSQL's words: INTEGER PRIMARY KEY -> an identity
 * column, INTEGER -> BIGINT, BLOB -> BYTEA, TEXT -> TEXT COLLATE "C".
 * Quoted text is copied as is. LETHE_ERR_TOO_BIG past cap.
 */
static lethe_status
ddl_translate(const char *in, char *out, size_t cap)
{
	static const struct { const char *from, *to; } words[] = {
		{ "INTEGER PRIMARY KEY",
		  "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" },
		{ "INTEGER", "BIGINT" },
		{ "BLOB", "BYTEA" },
		{ "TEXT", "TEXT COLLATE \"C\"" },
	};
	size_t o = 0;
	bool quoted = false;

	for (const char *p = in; *p != '\0';) {
		const char *add = p;
		size_t n = 1, skip = 1;

		if (*p == '\'')
			quoted = !quoted;
		else if (!quoted && word_char(*p) && (p == in || !word_char(p[-1]))) {
			for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
				size_t len = strlen(words[i].from);

				if (strncmp(p, words[i].from, len) == 0 &&
				    !word_char(p[len])) {
					add = words[i].to;
					n = strlen(add);
					skip = len;
					break;
				}
			}
		}
		ENSURE(n < cap - o, LETHE_ERR_TOO_BIG);
		memcpy(out + o, add, n);
		o += n;
		p += skip;
	}
	out[o] = '\0';
	return LETHE_OK;
}

static void pg_close(store *s);

static lethe_status
pg_create(store *s, const char *path)
{
	char ddl[DDL_MAX];
	lethe_status rc;

	GUARD_GOTO(rc, pg_connect(s, path));
	GUARD_GOTO(rc, run_simple(s, "BEGIN", "starting a transaction"));
	for (size_t i = 0; i < store_v1_ntables; i++) {
		ENSURE_GOTO(rc, ddl_translate(store_v1_tables[i], ddl, sizeof(ddl)) ==
		    LETHE_OK, store_fail(s, LETHE_ERR_TOO_BIG, STORE_E_OTHER,
		    "schema statement too long"));
		GUARD_GOTO(rc, run_simple(s, ddl, "creating the schema"));
	}
	rc = run_simple(s, "COMMIT", "creating the schema");
cleanup:
	if (rc != LETHE_OK) {
		if (s->err_kind == STORE_E_EXISTS)
			(void)store_fail(s, rc, STORE_E_EXISTS, "%s", "the database "
			    "already holds a Lethe store (or tables of its names)");
		pg_close(s);
	}
	return rc;
}

static lethe_status
pg_open(store *s, const char *path)
{
	return pg_connect(s, path);
}

static void
pg_close(store *s)
{
	pg_backend *b = pg_of(s);

	if (b == NULL)
		return;
	PQfinish(b->conn);
	PQfinish(b->listen);
	free(b->conninfo);
	free(b);
	s->backend = NULL;
}

/* Drop the store's tables in the database at path: nothing of it is left. */
static void
pg_remove_files(const char *path)
{
	PGconn *conn = PQconnectdb(path);

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		PQsetNoticeProcessor(conn, quiet_notice, NULL);
		PQclear(PQexec(conn, drop_sql));
	}
	PQfinish(conn);
}

/*
 * A lost connection is opened again before the next statement, with a
 * backoff between attempts (BACKOFF_FIRST_MS doubling to BACKOFF_MAX_MS):
 * meanwhile every call fails at once with STORE_E_UNAVAILABLE. libpq's
 * reset tries every host of a multi-host URI in turn, so a failover to a
 * promoted standby is followed.
 */
static lethe_status
ensure_connected(store *s)
{
	pg_backend *b = pg_of(s);
	uint64_t now = lethe_now_us() / 1000;

	if (PQstatus(b->conn) == CONNECTION_OK) {
		b->backoff_ms = 0;
		return LETHE_OK;
	}
	if (b->backoff_ms != 0 && now < b->retry_at_ms)
		return store_fail(s, LETHE_ERR_IO, STORE_E_UNAVAILABLE,
		    "PostgreSQL unavailable; next connection attempt in %llu ms",
		    (unsigned long long)(b->retry_at_ms - now));
	PQreset(b->conn);
	if (PQstatus(b->conn) != CONNECTION_OK) {
		b->backoff_ms = b->backoff_ms == 0 ? BACKOFF_FIRST_MS :
		    b->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS :
		    b->backoff_ms * 2;
		b->retry_at_ms = lethe_now_us() / 1000 + b->backoff_ms;
		return pg_fail(s, NULL, "reconnecting");
	}
	b->backoff_ms = 0;
	PQsetNoticeProcessor(b->conn, quiet_notice, NULL);
	return PQsetClientEncoding(b->conn, "UTF8") == 0 ? LETHE_OK :
	    pg_fail(s, NULL, "setting the client encoding");
}

static lethe_status
pg_begin(store *s, bool write)
{
	GUARD(ensure_connected(s));
	if (!write)
		return run_simple(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		    "starting a transaction");
	GUARD(run_simple(s, "BEGIN ISOLATION LEVEL READ COMMITTED",
	    "starting a transaction"));
	return run_simple(s, "SELECT pg_advisory_xact_lock(" WRITE_LOCK_ID ")",
	    "waiting for the write lock");
}

static lethe_status
pg_commit(store *s)
{
	return run_simple(s, "COMMIT", "committing");
}

static void
pg_rollback(store *s)
{
	pg_backend *b = pg_of(s);

	if (b != NULL && PQtransactionStatus(b->conn) != PQTRANS_IDLE &&
	    PQtransactionStatus(b->conn) != PQTRANS_UNKNOWN)
		PQclear(PQexec(b->conn, "ROLLBACK"));
}

/* One column of row r as a db_value; *buf holds a decoded integer's bytes. */
static lethe_status
column_value(const PGresult *res, int r, int c, db_value *v)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(res, r, c);
	size_t len = (size_t)PQgetlength(res, r, c);
	uint64_t u = 0;

	*v = db_null();
	if (PQgetisnull(res, r, c))
		return LETHE_OK;
	switch (PQftype(res, c)) {
	case OID_INT8:
	case OID_INT4:
	case OID_INT2:
	case OID_BOOL:
		ENSURE(len == 8 || len == 4 || len == 2 || len == 1, LETHE_ERR_FORMAT);
		for (size_t i = 0; i < len; i++)
			u = (u << 8) | p[i];
		/* Sign-extend the narrower types. */
		if (len < 8 && PQftype(res, c) != OID_BOOL &&
		    (p[0] & 0x80u) != 0)
			u |= ~UINT64_C(0) << (len * 8);
		*v = db_int((int64_t)u);
		return LETHE_OK;
	case OID_TEXT:
	case OID_VARCHAR:
	case OID_BPCHAR:
	case OID_NAME:
		v->type = DB_TEXT;
		v->data = p;
		v->len = len;
		return LETHE_OK;
	case OID_BYTEA:
		v->type = DB_BLOB;
		v->data = p;
		v->len = len;
		return LETHE_OK;
	default:
		return LETHE_ERR_FORMAT;
	}
}

/* The binary form of params: int8 big-endian, text and bytea as bytes. */
typedef struct pg_params {
	Oid types[MAX_PARAMS];
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS];
	int formats[MAX_PARAMS];
	uint8_t ints[MAX_PARAMS][8];
} pg_params;

static lethe_status
encode_params(const db_value *params, size_t nparams, pg_params *pp)
{
	static const char empty[1] = "";

	ENSURE(nparams <= MAX_PARAMS, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < nparams; i++) {
		const db_value *v = &params[i];

		ENSURE(v->len <= INT32_MAX, LETHE_ERR_INVALID_ARG);
		pp->formats[i] = 1;
		pp->values[i] = v->len > 0 ? (const char *)v->data : empty;
		pp->lengths[i] = (int)v->len;
		switch (v->type) {
		case DB_INT:
			for (size_t j = 0; j < 8; j++)
				pp->ints[i][j] = (uint8_t)((uint64_t)v->i >> (56 - 8 * j));
			pp->types[i] = OID_INT8;
			pp->values[i] = (const char *)pp->ints[i];
			pp->lengths[i] = 8;
			break;
		case DB_TEXT:
			pp->types[i] = OID_TEXT;
			break;
		case DB_BLOB:
			pp->types[i] = OID_BYTEA;
			break;
		default:
			/* Untyped NULL: PostgreSQL infers the type from its place. */
			pp->types[i] = 0;
			pp->values[i] = NULL;
			pp->lengths[i] = 0;
			break;
		}
	}
	return LETHE_OK;
}

/*
 * Call cb with each row of res.
 * Column values point into res: valid until the caller clears it.
 */
static lethe_status
walk_rows(store *s, const PGresult *res, db_row_cb cb, void *ctx)
{
	db_value cols[MAX_COLUMNS];
	int nrows = PQntuples(res), ncols = PQnfields(res);

	ENSURE(ncols >= 0 && ncols <= MAX_COLUMNS, store_fail(s,
	    LETHE_ERR_FORMAT, STORE_E_DATABASE, "too many columns"));
	for (int r = 0; r < nrows && cb != NULL; r++) {
		for (int c = 0; c < ncols; c++)
			ENSURE(column_value(res, r, c, &cols[c]) == LETHE_OK,
			    store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
			    "unexpected column type %u",
			    (unsigned)PQftype(res, c)));
		GUARD(cb(ctx, cols, (size_t)ncols));
	}
	return LETHE_OK;
}

/* Run sql (no results are left pending); *out gets the result. */
static lethe_status
run_params(store *s, const char *sql, const pg_params *pp, size_t nparams,
    PGresult **out)
{
	ExecStatusType st;

	*out = PQexecParams(pg_of(s)->conn, sql, (int)nparams, pp->types,
	    pp->values, pp->lengths, pp->formats, 1);
	st = PQresultStatus(*out);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return pg_fail(s, *out, "running a statement");
	return LETHE_OK;
}

/*
 * A large read inside a transaction, walked through a cursor, WALK_BATCH
 * rows per FETCH: a full load of the realm never holds more than one
 * batch in libpq, and the callback may run statements of its own (the
 * KDC's load reads each service's policy). Cursors nest, one name per
 * depth. After the callback fails the cursor
 * is closed, so the transaction goes on; after the server fails the
 * transaction is aborted and the caller rolls back.
 */
static lethe_status
pg_walk(store *s, const char *sql, const db_value *params, size_t nparams,
    db_row_cb cb, void *ctx)
{
	pg_backend *b = pg_of(s);
	char declare[DDL_MAX], fetch[64], close_sql[64];
	PGresult *res = NULL;
	pg_params pp, none;
	lethe_status rc, close_rc;
	unsigned depth = b->cursor_depth;
	int n, len;

	len = snprintf(declare, sizeof(declare),
	    "DECLARE lethe_walk%u NO SCROLL CURSOR FOR %s", depth, sql);
	ENSURE(len > 0 && (size_t)len < sizeof(declare), store_fail(s,
	    LETHE_ERR_TOO_BIG, STORE_E_OTHER, "statement too long"));
	snprintf(fetch, sizeof(fetch), "FETCH FORWARD %d FROM lethe_walk%u",
	    WALK_BATCH, depth);
	snprintf(close_sql, sizeof(close_sql), "CLOSE lethe_walk%u", depth);
	memset(&none, 0, sizeof(none));
	ENSURE(s->in_txn, store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
	    "a walk needs a transaction"));
	memset(&pp, 0, sizeof(pp));
	ENSURE(encode_params(params, nparams, &pp) == LETHE_OK,
	    store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
	    "bad statement parameters"));
	rc = run_params(s, declare, &pp, nparams, &res);
	PQclear(res);
	GUARD(rc);
	b->cursor_depth++;
	do {
		GUARD_GOTO(rc, run_params(s, fetch, &none, 0, &res));
		n = PQntuples(res);
		GUARD_GOTO(rc, walk_rows(s, res, cb, ctx));
		PQclear(res);
		res = NULL;
	} while (n == WALK_BATCH);
cleanup:
	PQclear(res);
	b->cursor_depth--;
	/* The server's failure aborted the transaction, and the cursor. */
	if (PQtransactionStatus(b->conn) == PQTRANS_INTRANS) {
		close_rc = run_params(s, close_sql, &none, 0, &res);
		PQclear(res);
		if (rc == LETHE_OK)
			rc = close_rc;
	}
	return rc;
}

static lethe_status
pg_exec(store *s, const char *sql, const db_value *params, size_t nparams,
    db_row_cb cb, void *ctx, int64_t *changes)
{
	PGresult *res = NULL;
	pg_params pp;
	char ddl[DDL_MAX];
	lethe_status rc = LETHE_OK;

	if (changes != NULL)
		*changes = 0;
	/* Inside a transaction a lost connection fails the transaction. */
	if (!s->in_txn)
		GUARD(ensure_connected(s));
	if (strncmp(sql, "CREATE ", 7) == 0) {
		ENSURE(ddl_translate(sql, ddl, sizeof(ddl)) == LETHE_OK,
		    store_fail(s, LETHE_ERR_TOO_BIG, STORE_E_OTHER,
		    "schema statement too long"));
		sql = ddl;
	}
	memset(&pp, 0, sizeof(pp));
	ENSURE(encode_params(params, nparams, &pp) == LETHE_OK,
	    store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
	    "bad statement parameters"));
	GUARD_GOTO(rc, run_params(s, sql, &pp, nparams, &res));
	GUARD_GOTO(rc, walk_rows(s, res, cb, ctx));
	if (changes != NULL && PQcmdTuples(res)[0] != '\0')
		*changes = strtoll(PQcmdTuples(res), NULL, 10);
cleanup:
	PQclear(res);
	return rc;
}

/*
 * PostgreSQL keeps deleted rows until VACUUM: run it on the keys table so
 * the dead tuples holding sealed keys are reclaimed. A VACUUM that cannot
 * run (another one, a missing privilege) is reported busy, not an error.
 */
static lethe_status
pg_checkpoint(store *s, bool *busy)
{
	PGresult *res;

	*busy = false;
	if (ensure_connected(s) != LETHE_OK) {
		*busy = true;
		return LETHE_OK;
	}
	res = PQexec(pg_of(s)->conn, "VACUUM keys");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		*busy = true;
	PQclear(res);
	return LETHE_OK;
}

/* Inside the committing transaction: tell the listeners generation gen. */
static lethe_status
pg_notify(store *s, int64_t gen)
{
	static const char sql[] = "SELECT pg_notify('" NOTIFY_CHANNEL "', $1)";
	char text[24];
	db_value v;

	snprintf(text, sizeof(text), "%lld", (long long)gen);
	v = db_text(text, strlen(text));
	return pg_exec(s, sql, &v, 1, NULL, NULL, NULL);
}

/* (Re)open the LISTEN connection, at most once per RECONNECT_SECONDS. */
static void
listen_connect(store *s)
{
	pg_backend *b = pg_of(s);
	PGresult *res;
	time_t now = time(NULL);

	if (now < b->listen_retry)
		return;
	b->listen_retry = now + RECONNECT_SECONDS;
	b->listen = connect_to(s, b->conninfo);
	if (b->listen == NULL)
		return;
	res = PQexec(b->listen, "LISTEN " NOTIFY_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK ||
	    PQsetnonblocking(b->listen, 1) != 0) {
		PQfinish(b->listen);
		b->listen = NULL;
	}
	PQclear(res);
}

static lethe_status
pg_listen(store *s)
{
	pg_backend *b = pg_of(s);

	b->listening = true;
	b->listen_retry = 0;
	listen_connect(s);
	return b->listen != NULL ? LETHE_OK : LETHE_ERR_IO;
}

static int
pg_notify_fd(store *s)
{
	pg_backend *b = pg_of(s);

	return b != NULL && b->listen != NULL ? PQsocket(b->listen) : -1;
}

static bool
pg_notify_drain(store *s)
{
	pg_backend *b = pg_of(s);
	PGnotify *n;
	bool any = false;

	if (b == NULL || !b->listening)
		return false;
	if (b->listen == NULL) {
		/* Whatever was sent while it was away must be read: say so. */
		listen_connect(s);
		return b->listen != NULL;
	}
	if (PQconsumeInput(b->listen) == 0 || PQstatus(b->listen) != CONNECTION_OK) {
		PQfinish(b->listen);
		b->listen = NULL;
		b->listen_retry = 0;
		listen_connect(s);
		return true;
	}
	while ((n = PQnotifies(b->listen)) != NULL) {
		any = true;
		PQfreemem(n);
	}
	return any;
}

const store_backend_ops store_pg_ops = {
	.name = "postgresql",
	.create = pg_create,
	.open = pg_open,
	.close = pg_close,
	.remove_files = pg_remove_files,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.walk = pg_walk,
	.checkpoint = pg_checkpoint,
	.notify = pg_notify,
	.listen = pg_listen,
	.notify_fd = pg_notify_fd,
	.notify_drain = pg_notify_drain,
};
