/*
 * Moving a realm into an empty PostgreSQL database (lethe-admin migrate):
 * every table, row for row, in one transaction on the target and one read
 * transaction (one consistent view) on the source. Sealed blobs are copied
 * as they are, with the realm row's KDF salt and check value, so the same
 * master key opens the copy; nothing is decrypted.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INSERT_SQL_MAX 512u

/*
 * Every table of a store, each after the tables it references (foreign
 * keys), with the column its rows are read in order of and whether its
 * id is an identity column (whose sequence must continue past the copied
 * ids). A table added to the schema is one line here; a target table
 * missing from this list makes the migration fail (check_all_listed()),
 * so a forgotten line cannot lose a table silently.
 */
static const struct migrate_table {
	const char *name;
	const char *order_by;
	bool identity;
} migrate_tables[] = {
	{ "schema_version", "version", false },
	{ "realm", "id", false },
	{ "generation", "id", false },
	{ "feed", "id", false },
	{ "changes", "generation", false },
	{ "principals", "id", true },
	{ "keys", "id", true },
	{ "credentials", "name", false },
	{ "trust_anchors", "name", false },
	{ "reg_rules", "id", true },
	{ "reg_policy", "id", false },
	{ "service_policy", "principal", false },
	{ "seen_nonces", "nonce", false },
	{ "agents", "principal", false },
	{ "password_policies", "name", false },
	{ "password_history", "id", true },
};
#define MIGRATE_NTABLES (sizeof(migrate_tables) / sizeof(migrate_tables[0]))

_Static_assert(MIGRATE_NTABLES <= STORE_MIGRATE_MAX_TABLES,
    "store_migrate_report holds every table");

/* Copying one table: the target and the INSERT built from the first row. */
typedef struct copy_ctx {
	store *dst;
	const char *table;
	char insert_sql[INSERT_SQL_MAX];
	size_t ncols;           /* 0 until the first row */
	size_t rows;
} copy_ctx;

/* "INSERT INTO table VALUES ($1, ..., $ncols)" into c->insert_sql. */
static lethe_status
build_insert(copy_ctx *c, size_t ncols)
{
	size_t off;
	int n;

	n = snprintf(c->insert_sql, sizeof(c->insert_sql), "INSERT INTO %s VALUES (",
	    c->table);
	ENSURE(n > 0 && (size_t)n < sizeof(c->insert_sql), LETHE_ERR_TOO_BIG);
	off = (size_t)n;
	for (size_t i = 0; i < ncols; i++) {
		n = snprintf(c->insert_sql + off, sizeof(c->insert_sql) - off, "%s$%zu%s",
		    i ? ", " : "", i + 1, i + 1 == ncols ? ")" : "");
		ENSURE(n > 0 && (size_t)n < sizeof(c->insert_sql) - off, LETHE_ERR_TOO_BIG);
		off += (size_t)n;
	}
	c->ncols = ncols;
	return LETHE_OK;
}

/* Row callback on the source: the same row into the target. */
static lethe_status
copy_row(void *ctx, const db_value *cols, size_t ncols)
{
	copy_ctx *c = ctx;

	ENSURE(ncols > 0, LETHE_ERR_FORMAT);
	if (c->ncols == 0)
		GUARD(build_insert(c, ncols));
	ENSURE(ncols == c->ncols, LETHE_ERR_FORMAT);
	GUARD(c->dst->ops->exec(c->dst, c->insert_sql, cols, ncols, NULL, NULL, NULL));
	c->rows++;
	return LETHE_OK;
}

/* Row callback: one text column into a caller's buffer of STORE_ERRMSG_LEN / 2. */
static lethe_status
first_text_cb(void *ctx, const db_value *c, size_t n)
{
	char *out = ctx;
	size_t len;

	ENSURE(n == 1 && c[0].type == DB_TEXT, LETHE_ERR_FORMAT);
	len = c[0].len < STORE_ERRMSG_LEN / 2 - 1 ? c[0].len : STORE_ERRMSG_LEN / 2 - 1;
	memcpy(out, c[0].data, len);
	out[len] = '\0';
	return LETHE_OK;
}

/* The target must hold no table at all (any schema but PostgreSQL's own). */
static lethe_status
check_empty(store *dst)
{
	static const char sql[] =
	    "SELECT schemaname::text || '.' || tablename::text FROM pg_catalog.pg_tables "
	    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
	    "ORDER BY 1 LIMIT 1";
	char found[STORE_ERRMSG_LEN / 2] = "";

	GUARD(dst->ops->exec(dst, sql, NULL, 0, first_text_cb, found, NULL));
	if (found[0] != '\0')
		return store_fail(dst, LETHE_ERR_INVALID_ARG, STORE_E_EXISTS,
		    "the target database is not empty (it holds table %s): "
		    "migrate only into a new, empty database; nothing was changed",
		    found);
	return LETHE_OK;
}

/*
 * Every table the new schema made in the target is in migrate_tables
 * (inside the target's transaction, after the copy).
 */
static lethe_status
check_all_listed(store *dst)
{
	char sql[1024], found[STORE_ERRMSG_LEN / 2] = "";
	size_t off;
	int n;

	n = snprintf(sql, sizeof(sql), "SELECT tablename::text FROM pg_catalog.pg_tables "
	    "WHERE schemaname = current_schema() AND tablename NOT IN (");
	ENSURE(n > 0 && (size_t)n < sizeof(sql), LETHE_ERR_TOO_BIG);
	off = (size_t)n;
	for (size_t i = 0; i < MIGRATE_NTABLES; i++) {
		n = snprintf(sql + off, sizeof(sql) - off, "%s'%s'", i ? ", " : "",
		    migrate_tables[i].name);
		ENSURE(n > 0 && (size_t)n < sizeof(sql) - off, LETHE_ERR_TOO_BIG);
		off += (size_t)n;
	}
	n = snprintf(sql + off, sizeof(sql) - off, ") ORDER BY 1 LIMIT 1");
	ENSURE(n > 0 && (size_t)n < sizeof(sql) - off, LETHE_ERR_TOO_BIG);
	GUARD(dst->ops->exec(dst, sql, NULL, 0, first_text_cb, found, NULL));
	if (found[0] != '\0')
		return store_fail(dst, LETHE_ERR_FORMAT, STORE_E_OTHER,
		    "table %s is not in the migration's list (store_migrate.c)", found);
	return LETHE_OK;
}

/* Rows of table t in s, inside the caller's transaction. */
static lethe_status
count_rows(store *s, const char *table, int64_t *out)
{
	char sql[128];
	int n = snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);

	ENSURE(n > 0 && (size_t)n < sizeof(sql), LETHE_ERR_TOO_BIG);
	*out = -1;
	return s->ops->exec(s, sql, NULL, 0, store_int_cb, out, NULL);
}

/*
 * Copy table t from src to dst: drop the rows the new schema put there
 * (defaults), insert every source row, carry the identity sequence on,
 * and check both sides hold as many rows.
 */
static lethe_status
copy_table(store *src, store *dst, const struct migrate_table *t, size_t *rows)
{
	char sql[256];
	copy_ctx c = { .dst = dst, .table = t->name };
	int64_t nsrc = -1, ndst = -1;
	lethe_status rc;
	int n;

	n = snprintf(sql, sizeof(sql), "DELETE FROM %s", t->name);
	ENSURE(n > 0 && (size_t)n < sizeof(sql), LETHE_ERR_TOO_BIG);
	GUARD(dst->ops->exec(dst, sql, NULL, 0, NULL, NULL, NULL));
	n = snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s", t->name, t->order_by);
	ENSURE(n > 0 && (size_t)n < sizeof(sql), LETHE_ERR_TOO_BIG);
	rc = src->ops->exec(src, sql, NULL, 0, copy_row, &c, NULL);
	if (rc != LETHE_OK) {
		/* A failed insert recorded its message on dst, a failed read on src. */
		const store *from = dst->err_kind != STORE_E_NONE ? dst : src;
		char why[STORE_ERRMSG_LEN];

		snprintf(why, sizeof(why), "%s", from->errmsg[0] ? from->errmsg :
		    lethe_status_str(rc));
		return store_fail(dst, rc, from->err_kind != STORE_E_NONE ?
		    from->err_kind : STORE_E_DATABASE, "copying table %s: %s", t->name, why);
	}
	if (t->identity) {
		n = snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence("
		    "'%s', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM %s), false)",
		    t->name, t->name);
		ENSURE(n > 0 && (size_t)n < sizeof(sql), LETHE_ERR_TOO_BIG);
		GUARD(dst->ops->exec(dst, sql, NULL, 0, NULL, NULL, NULL));
	}
	GUARD(count_rows(src, t->name, &nsrc));
	GUARD(count_rows(dst, t->name, &ndst));
	if (nsrc < 0 || nsrc != ndst || (size_t)nsrc != c.rows)
		return store_fail(dst, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "table %s: %lld rows in the source, %lld copied", t->name,
		    (long long)nsrc, (long long)ndst);
	*rows = c.rows;
	return LETHE_OK;
}

lethe_status
store_migrate(store *src, const char *url, const store_master_key *mk,
    store_migrate_report *rep, char *errbuf, size_t errbuf_len,
    enum store_error_kind *kind)
{
	store *dst = NULL, *check = NULL;
	uint64_t gen_src = 0, gen_dst = 0;
	char err[STORE_ERRMSG_LEN];
	lethe_status rc;

	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	if (kind != NULL)
		*kind = STORE_E_NONE;
	ENSURE(src != NULL && mk != NULL && rep != NULL, LETHE_ERR_INVALID_ARG);
	memset(rep, 0, sizeof(*rep));
	if (!store_path_is_url(url)) {
		if (errbuf != NULL && errbuf_len > 0)
			snprintf(errbuf, errbuf_len, "the target must be a PostgreSQL URI "
			    "(postgresql://... or postgres://...)");
		if (kind != NULL)
			*kind = STORE_E_INVALID;
		return LETHE_ERR_INVALID_ARG;
	}
	store_clear_error(src);
	GUARD_GOTO(rc, store_alloc(url, &dst));
	GUARD_GOTO(rc, dst->ops->open(dst, url));
	/* The write lock first: two migrations into one database run in turn. */
	GUARD_GOTO(rc, store_txn_begin(dst, true));
	GUARD_GOTO(rc, check_empty(dst));
	/* The schema exactly as store_create() makes it on PostgreSQL. */
	for (size_t i = 0; i < store_v1_ntables; i++)
		GUARD_GOTO(rc, dst->ops->exec(dst, store_v1_tables[i], NULL, 0, NULL,
		    NULL, NULL));
	GUARD_GOTO(rc, store_schema_add_since_v1(dst, &src->policy));
	/* One read transaction on the source: every table from one moment. */
	rc = store_txn_begin(src, false);
	if (rc != LETHE_OK) {
		(void)store_fail(dst, rc, src->err_kind, "reading the source: %s",
		    src->errmsg);
		goto cleanup;
	}
	for (size_t i = 0; i < MIGRATE_NTABLES; i++) {
		GUARD_GOTO(rc, copy_table(src, dst, &migrate_tables[i],
		    &rep->tables[i].rows));
		rep->tables[i].name = migrate_tables[i].name;
		rep->ntables++;
	}
	GUARD_GOTO(rc, check_all_listed(dst));
	GUARD_GOTO(rc, store_generation(src, &gen_src));
	(void)store_txn_end(src);
	/* Commit as copied: the generation is the source's, not one more. */
	GUARD_GOTO(rc, store_txn_end(dst));
	rep->generation = gen_src;
	/* The copy opens under the same master key and stands where the source did. */
	rc = store_open(url, mk, &check, err, sizeof(err), NULL);
	if (rc == LETHE_OK)
		rc = store_generation(check, &gen_dst);
	if (rc == LETHE_OK && gen_dst != gen_src)
		rc = LETHE_ERR_FORMAT;
	if (rc != LETHE_OK)
		(void)store_fail(dst, rc, STORE_E_DATABASE, "the copy was committed but "
		    "does not open as the source: %s", err[0] ? err : lethe_status_str(rc));
cleanup:
	store_txn_abort(src);
	if (rc != LETHE_OK && dst != NULL) {
		if (dst->err_kind == STORE_E_NONE)
			(void)store_fail_status(dst, rc, "migrating");
		store_report_error(dst, errbuf, errbuf_len, kind);
	}
	store_close(check);
	store_release(dst);
	return rc;
}
