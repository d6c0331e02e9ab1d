/*
 * Tests of the PostgreSQL backend against a real server, started by
 * store_pg_run.sh, which passes the URI of its "postgres" database in
 * LETHE_TEST_PG_URI. Each test gets a database of its own. Without the
 * variable (no server installed) every test is skipped, saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store/store.h"

#define REALM "PG.TEST.LETHE"

typedef struct fixture {
	char uri[1024];
	store_master_key mk;
	store *s;
} fixture;

static unsigned next_db;

/* Run sql on the URI's database; true when it succeeded. */
static bool
admin_sql(const char *uri, const char *sql)
{
	PGconn *c = PQconnectdb(uri);
	PGresult *r;
	bool ok = false;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
		    PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
	}
	PQfinish(c);
	return ok;
}

/* A fresh database: its URI is the server's with the database name swapped. */
static int
setup(void **state)
{
	const char *base = getenv("LETHE_TEST_PG_URI");
	const char *q;
	fixture *f;
	char sql[128], name[64];

	if (base == NULL || strncmp(base, "postgresql:///postgres?", 23) != 0)
		return 0;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	snprintf(name, sizeof(name), "t%u_%ld", next_db++, (long)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (!admin_sql(base, sql))
		return -1;
	q = strchr(base, '?');
	snprintf(f->uri, sizeof(f->uri), "postgresql:///%s%s", name, q);
	if (store_master_key_generate(&f->mk) != LETHE_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	if (f == NULL)
		return 0;
	store_close(f->s);
	store_master_key_wipe(&f->mk);
	free(f);
	return 0;
}

/* Skip the test (with the reason) when no server was started. */
#define NEED_SERVER(f)                                                      \
	do {                                                                \
		if ((f) == NULL) {                                          \
			print_message("no PostgreSQL server (run through "  \
			    "store_pg_run.sh; scripts/deps.sh installs one)\n"); \
			skip();                                             \
		}                                                           \
	} while (0)

static void
create_store(fixture *f)
{
	store_realm_policy p;
	char err[256] = "";

	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	if (store_create(f->uri, &f->mk, &p, &f->s, err, sizeof(err), NULL) != LETHE_OK)
		fail_msg("store_create: %s", err);
}

static void
add_user(store *s, const char *name, uint8_t seed)
{
	store_key k;
	store_principal p;

	memset(&k, 0, sizeof(k));
	k.kvno = 1;
	k.enctype = 18;
	k.key_len = 32;
	for (size_t i = 0; i < k.key_len; i++)
		k.key[i] = (uint8_t)(seed + i);
	k.kind = STORE_KEY_LONG_TERM;
	memset(&p, 0, sizeof(p));
	p.name = (char *)name;
	p.kind = STORE_KIND_USER;
	p.attributes = STORE_ATTR_DEFAULT_USER;
	p.keys = &k;
	p.nkeys = 1;
	assert_int_equal(store_principal_add(s, &p), LETHE_OK);
}

static uint64_t
generation(store *s)
{
	uint64_t g = 0;

	assert_int_equal(store_generation(s, &g), LETHE_OK);
	return g;
}

/* Create, reopen, read back: keys decrypt, the realm policy round-trips. */
static void
test_create_open_roundtrip(void **state)
{
	fixture *f = *state;
	store_principal *p = NULL;
	store_realm_policy pol;

	NEED_SERVER(f);
	assert_true(store_path_is_url(f->uri));
	assert_false(store_path_is_url("/var/lib/lethe/realm.db"));
	assert_false(store_path_is_url("postgresql.db"));
	create_store(f);
	add_user(f->s, "alice@" REALM, 7);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->uri, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(store_realm_policy_get(f->s, &pol), LETHE_OK);
	assert_string_equal(pol.realm, REALM);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_int_equal(p->kind, STORE_KIND_USER);
	assert_int_equal(p->nkeys, 1);
	assert_int_equal(p->keys[0].enctype, 18);
	assert_int_equal(p->keys[0].key[0], 7);
	assert_int_equal(p->keys[0].key[31], 7 + 31);
	store_principal_free(p);
}

/* A second create refuses a database holding a store and leaves it intact. */
static void
test_create_twice_exists(void **state)
{
	fixture *f = *state;
	store_realm_policy p;
	store *s2 = NULL;
	enum store_error_kind kind = STORE_E_NONE;
	char err[256] = "";

	NEED_SERVER(f);
	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	assert_int_not_equal(store_create(f->uri, &f->mk, &p, &s2, err,
	    sizeof(err), &kind), LETHE_OK);
	assert_int_equal(kind, STORE_E_EXISTS);
	assert_null(s2);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->uri, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(generation(f->s) >= 2, 1);
}

/* Wrong master key, empty database, unreachable server: refused, told apart. */
static void
test_open_refusals(void **state)
{
	fixture *f = *state;
	store_master_key other;
	enum store_error_kind kind = STORE_E_NONE;
	char err[256] = "";
	store *s2 = NULL;

	NEED_SERVER(f);
	assert_int_equal(store_open(f->uri, &f->mk, &s2, err, sizeof(err), &kind),
	    LETHE_ERR_FORMAT);
	assert_non_null(strstr(err, "not a Lethe store"));
	create_store(f);
	assert_int_equal(store_master_key_generate(&other), LETHE_OK);
	assert_int_equal(store_open(f->uri, &other, &s2, err, sizeof(err), &kind),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kind, STORE_E_MASTER_KEY);
	store_master_key_wipe(&other);
	assert_int_equal(store_open("postgresql:///none?host=/nonexistent&port=1",
	    &f->mk, &s2, err, sizeof(err), &kind), LETHE_ERR_IO);
	assert_int_equal(kind, STORE_E_UNAVAILABLE);
	assert_null(s2);
}

/* Uniqueness conflicts are STORE_E_EXISTS and leave the store as it was. */
static void
test_duplicate_principal(void **state)
{
	fixture *f = *state;
	uint64_t g;

	NEED_SERVER(f);
	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	g = generation(f->s);
	{
		store_key k;
		store_principal p;

		memset(&k, 0, sizeof(k));
		k.kvno = 1;
		k.enctype = 17;
		k.key_len = 16;
		k.kind = STORE_KEY_LONG_TERM;
		memset(&p, 0, sizeof(p));
		p.name = (char *)"alice@" REALM;
		p.kind = STORE_KIND_USER;
		p.keys = &k;
		p.nkeys = 1;
		assert_int_not_equal(store_principal_add(f->s, &p), LETHE_OK);
	}
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(generation(f->s), g);
	/* The handle goes on working after the failed transaction. */
	add_user(f->s, "bob@" REALM, 2);
	assert_int_equal(generation(f->s), g + 1);
}

/* The change feed: names per generation; complete, in order. */
static void
test_change_feed(void **state)
{
	fixture *f = *state;
	store_changes *c = NULL;
	uint64_t g;

	NEED_SERVER(f);
	create_store(f);
	g = generation(f->s);
	add_user(f->s, "alice@" REALM, 1);
	add_user(f->s, "bob@" REALM, 2);
	assert_int_equal(store_principal_delete(f->s, "alice@" REALM), LETHE_OK);
	assert_int_equal(store_changes_since(f->s, g, 100, &c), LETHE_OK);
	assert_true(c->complete);
	assert_int_equal(c->generation, g + 3);
	assert_int_equal(c->count, 3);
	assert_string_equal(c->entries[0].principal, "alice@" REALM);
	assert_string_equal(c->entries[1].principal, "bob@" REALM);
	assert_string_equal(c->entries[2].principal, "alice@" REALM);
	assert_int_equal(c->entries[2].generation, g + 3);
	store_changes_free(c);
	assert_int_equal(store_changes_since(f->s, g + 3, 100, &c), LETHE_OK);
	assert_true(c->complete);
	assert_int_equal(c->count, 0);
	store_changes_free(c);
}

/* Wait (5 s at most) for fd to become readable. */
static bool
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 5000) == 1;
}

/*
 * A commit by another handle (another KDC, lethe-admin) wakes the
 * listener; a read-only call does not; SQLite has no such connection.
 */
static void
test_notify(void **state)
{
	fixture *f = *state;
	store *other = NULL;
	struct pollfd p;
	int fd;

	NEED_SERVER(f);
	create_store(f);
	assert_int_equal(store_notify_listen(f->s), LETHE_OK);
	fd = store_notify_fd(f->s);
	assert_true(fd >= 0);
	assert_false(store_notify_drain(f->s));
	assert_int_equal(store_open(f->uri, &f->mk, &other, NULL, 0, NULL), LETHE_OK);
	(void)generation(other);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 200), 0);
	add_user(other, "carol@" REALM, 3);
	assert_true(readable(store_notify_fd(f->s)));
	assert_true(store_notify_drain(f->s));
	assert_false(store_notify_drain(f->s));
	/* Its own commits are announced to it too (the refresher reads the feed). */
	add_user(f->s, "dave@" REALM, 4);
	assert_true(readable(store_notify_fd(f->s)));
	assert_true(store_notify_drain(f->s));
	store_close(other);
	assert_int_equal(store_notify_fd(NULL), -1);
	assert_false(store_notify_drain(NULL));
}

/* Writers from two handles interleave; every commit gets its own generation. */
static void
test_two_writers(void **state)
{
	fixture *f = *state;
	store *other = NULL;
	store_name_list *list = NULL;
	char name[64];
	uint64_t g;

	NEED_SERVER(f);
	create_store(f);
	assert_int_equal(store_open(f->uri, &f->mk, &other, NULL, 0, NULL), LETHE_OK);
	g = generation(f->s);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "u%02d@" REALM, i);
		add_user(i % 2 ? other : f->s, name, (uint8_t)i);
	}
	assert_int_equal(generation(f->s), g + 20);
	assert_int_equal(generation(other), g + 20);
	assert_int_equal(store_principal_list(other, &list), LETHE_OK);
	assert_int_equal(list->count, 20);
	/* Byte order, as SQLite: "u00..." before "u19...". */
	assert_string_equal(list->entries[0].name, "u00@" REALM);
	store_name_list_free(list);
	store_close(other);
}

/* Maintenance runs (VACUUM in place of a WAL checkpoint). */
static void
test_maintain(void **state)
{
	fixture *f = *state;
	store_maint_report rep;

	NEED_SERVER(f);
	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	assert_int_equal(store_maintain(f->s, (int64_t)time(NULL), &rep), LETHE_OK);
	assert_int_equal(rep.keys_deleted, 0);
}

/*
 * Schema v4 on PostgreSQL: a rule's callback hosts round-trip, and a v3
 * store (no reg_rules.callbacks) is upgraded at open, its rules kept.
 */
static void
test_rule_callbacks_v4(void **state)
{
	fixture *f = *state;
	store_reg_rules *rl = NULL;

	NEED_SERVER(f);
	create_store(f);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:a.example",
	    "host/a.example@" REALM, "[2001:DB8::7]:8888 192.0.2.7", NULL), LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SAN, "DNS:b.example",
	    "host/b.example@" REALM, NULL), LETHE_OK);
	store_close(f->s);
	f->s = NULL;
	assert_true(admin_sql(f->uri, "BEGIN; UPDATE reg_rules SET callbacks = NULL; "
	    "ALTER TABLE reg_rules DROP COLUMN callbacks; "
	    "DROP TABLE password_history; DROP TABLE password_policies; "
	    "ALTER TABLE principals DROP COLUMN policy; "
	    "ALTER TABLE principals DROP COLUMN password_expires_at; "
	    "UPDATE schema_version SET version = 3; COMMIT"));
	assert_int_equal(store_open(f->uri, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_true(admin_sql(f->uri, "DO $$ BEGIN IF (SELECT version FROM schema_version) "
	    "<> 5 THEN RAISE EXCEPTION 'not v5'; END IF; END $$"));
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:c.example",
	    "host/c.example@" REALM, "198.51.100.1:9", NULL), LETHE_OK);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_int_equal(rl->count, 3);
	assert_null(rl->entries[0].callbacks);
	assert_null(rl->entries[1].callbacks);
	assert_string_equal(rl->entries[2].callbacks, "198.51.100.1:9");
	store_reg_rules_free(rl);
	/* A fresh store: created at v4 directly. */
	store_close(f->s);
	f->s = NULL;
	store_remove(f->uri);
	create_store(f);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:a.example",
	    "*", "[2001:DB8::7]:8888 192.0.2.7 [2001:db8::7]:8888", NULL), LETHE_OK);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_string_equal(rl->entries[0].callbacks, "[2001:db8::7]:8888 192.0.2.7");
	store_reg_rules_free(rl);
}

/* Schema v5 on PostgreSQL: policies, a policy-checked change, history, expiry. */
static void
test_password_policy(void **state)
{
	fixture *f = *state;
	store_pw_policy pol = { .min_length = 8, .history = 1, .max_age = 600 };
	enum store_pw_verdict v;
	store_principal *p = NULL;
	uint32_t kvno = 0;
	char why[200];

	NEED_SERVER(f);
	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	strcpy(pol.name, "default");
	assert_int_equal(store_pw_policy_put(f->s, &pol, true), LETHE_OK);
	assert_int_equal(store_principal_set_password(f->s, "alice@" REALM, "short", &kvno, &v,
	    why, sizeof(why)), LETHE_OK);
	assert_int_equal(v, STORE_PW_TOO_SHORT);
	assert_int_equal(store_principal_set_password(f->s, "alice@" REALM, "long enough",
	    &kvno, &v, why, sizeof(why)), LETHE_OK);
	assert_int_equal(v, STORE_PW_OK);
	assert_int_equal(kvno, 2);
	assert_int_equal(store_principal_set_password(f->s, "alice@" REALM, "long enough",
	    &kvno, &v, why, sizeof(why)), LETHE_OK);
	assert_int_equal(v, STORE_PW_REUSED);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_null(p->policy);
	assert_int_equal(p->password_expires_at, p->password_changed_at + 600);
	store_principal_free(p);
	assert_int_equal(store_principal_expire_password(f->s, "alice@" REALM, 5), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_int_equal(p->password_expires_at, 5);
	store_principal_free(p);
	assert_int_equal(store_changepw_add(f->s), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "kadmin/changepw@" REALM, &p), LETHE_OK);
	store_principal_free(p);
}

/* store_remove drops the tables: the database holds no store after. */
/*
 * A connection the server dropped: the call that meets it fails with
 * STORE_E_UNAVAILABLE, the next one reconnects (the registrar answers
 * TRY_LATER in between, the KDC serves its snapshot).
 */
static void
test_reconnect(void **state)
{
	fixture *f = *state;
	const char *base = getenv("LETHE_TEST_PG_URI");
	char sql[256];
	uint64_t g = 0;

	NEED_SERVER(f);
	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	g = generation(f->s);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE datname = '%.*s'",
	    (int)(strchr(f->uri + 14, '?') - (f->uri + 14)), f->uri + 14);
	assert_true(admin_sql(base, sql));
	assert_int_not_equal(store_generation(f->s, &g), LETHE_OK);
	assert_int_equal(store_error_kind(f->s), STORE_E_UNAVAILABLE);
	assert_int_equal(generation(f->s), g);
	add_user(f->s, "bob@" REALM, 2);
	assert_int_equal(generation(f->s), g + 1);
}

/* The first column of sql's single row on the URI's database; -1 on failure. */
static long
admin_count(const char *uri, const char *sql)
{
	PGconn *c = PQconnectdb(uri);
	PGresult *r;
	long n = -1;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQfinish(c);
	return n;
}

/* WALK_ROWS key-less principals: many batches of a walk. */
#define WALK_ROWS 30000

static void
add_many(const fixture *f)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "INSERT INTO principals (name, kind, "
	    "attributes, created_at, modified_at) SELECT 'walk' || "
	    "lpad(i::text, 6, '0') || '-padding-padding-padding@" REALM "', "
	    "'user', 0, 1, 1 FROM generate_series(1, %d) i", WALK_ROWS);
	assert_true(admin_sql(f->uri, sql));
}

/* SQL counting f's store backends whose last statement began with query. */
static void
walk_activity_sql(const fixture *f, const char *query, char *sql, size_t cap)
{
	snprintf(sql, cap, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "datname = '%.*s' AND query LIKE '%s%%'",
	    (int)(strchr(f->uri + 14, '?') - (f->uri + 14)), f->uri + 14, query);
}

typedef struct walk_ctx {
	const fixture *f;
	long seen;
	long stop_at;           /* fail the walk at this principal; 0: never */
	bool kill_at_stop;      /* ... by ending the store's backend instead */
	long fetching_at_first; /* at row 1, the store's last statement: a FETCH */
	bool lookup;            /* read each one's service policy in the callback */
	long lookups;           /* ... and got the default */
} walk_ctx;

static lethe_status
walk_cb(void *ctx, const store_principal *p)
{
	walk_ctx *w = ctx;
	const char *base = getenv("LETHE_TEST_PG_URI");
	store_service_policy sp;
	char sql[512];

	w->seen++;
	if (w->seen == 1) {
		walk_activity_sql(w->f, "FETCH FORWARD", sql, sizeof(sql));
		w->fetching_at_first = admin_count(base, sql);
	}
	if (w->lookup) {
		memset(&sp, 0xff, sizeof(sp));
		GUARD(store_service_policy_get(w->f->s, p->name, &sp));
		w->lookups += sp.allow_classic_key == STORE_DEFAULT_CLASSIC_KEY;
	}
	if (w->seen != w->stop_at)
		return LETHE_OK;
	if (!w->kill_at_stop)
		return LETHE_ERR_INVALID_ARG;
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE datname = '%.*s'",
	    (int)(strchr(w->f->uri + 14, '?') - (w->f->uri + 14)), w->f->uri + 14);
	assert_true(admin_sql(base, sql));
	return LETHE_OK;
}

/*
 * A walk over many rows reads them in batches: when the first principal
 * reaches the callback the store's last statement was a FETCH from the
 * walk's cursor (not the whole SELECT), and every principal comes once,
 * also when the callback reads on the same handle (as the KDC's load
 * reads each service's policy).
 */
static void
test_walk_streams(void **state)
{
	fixture *f = *state;
	walk_ctx w = { .f = f };
	long n0;

	NEED_SERVER(f);
	create_store(f);
	assert_int_equal(store_principal_foreach(f->s, walk_cb, &w, NULL), LETHE_OK);
	n0 = w.seen;
	add_many(f);
	w = (walk_ctx){ .f = f };
	assert_int_equal(store_principal_foreach(f->s, walk_cb, &w, NULL), LETHE_OK);
	assert_int_equal(w.seen, n0 + WALK_ROWS);
	assert_int_equal(w.fetching_at_first, 1);
	w = (walk_ctx){ .f = f, .lookup = true };
	assert_int_equal(store_principal_foreach(f->s, walk_cb, &w, NULL), LETHE_OK);
	assert_int_equal(w.seen, n0 + WALK_ROWS);
	assert_int_equal(w.lookups, n0 + WALK_ROWS);
}

/*
 * A failure mid-walk stops it and leaves the handle usable: the callback's
 * own error comes back as is, no later principal is seen, and the next
 * calls (a lookup, a whole walk) work on the same connection; a server
 * gone mid-walk is STORE_E_UNAVAILABLE and the next call reconnects.
 */
static void
test_walk_error_midway(void **state)
{
	fixture *f = *state;
	walk_ctx w = { .f = f, .stop_at = 100 };
	store_principal *p = NULL;
	uint64_t g;

	NEED_SERVER(f);
	create_store(f);
	add_user(f->s, "alice@" REALM, 3);
	add_many(f);
	g = generation(f->s);
	assert_int_equal(store_principal_foreach(f->s, walk_cb, &w, NULL),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(w.seen, 100);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_int_equal(p->keys[0].key[0], 3);
	store_principal_free(p);
	w = (walk_ctx){ .f = f };
	assert_int_equal(store_principal_foreach(f->s, walk_cb, &w, NULL), LETHE_OK);
	assert_true(w.seen > WALK_ROWS);
	add_user(f->s, "bob@" REALM, 4);
	assert_int_equal(generation(f->s), g + 1);

	w = (walk_ctx){ .f = f, .stop_at = 100, .kill_at_stop = true };
	assert_int_not_equal(store_principal_foreach(f->s, walk_cb, &w, NULL),
	    LETHE_OK);
	assert_int_equal(store_error_kind(f->s), STORE_E_UNAVAILABLE);
	assert_true(w.seen >= 100 && w.seen < WALK_ROWS);
	assert_int_equal(generation(f->s), g + 1);
}

static void
test_remove(void **state)
{
	fixture *f = *state;
	store *s2 = NULL;

	NEED_SERVER(f);
	create_store(f);
	store_close(f->s);
	f->s = NULL;
	store_remove(f->uri);
	assert_int_equal(store_open(f->uri, &f->mk, &s2, NULL, 0, NULL),
	    LETHE_ERR_FORMAT);
	create_store(f);
}

/*
 * store_migrate: an SQLite store into the fixture's empty database; the
 * copy opens with the same master key, at the same generation, with the
 * same key bytes; new principals get new ids; a second migration into it,
 * and one to a path that is no URI, are refused and change nothing.
 */
static void
test_migrate(void **state)
{
	fixture *f = *state;
	store_realm_policy pol;
	store_migrate_report rep;
	store_principal *p = NULL;
	store *src = NULL;
	enum store_error_kind kind = STORE_E_NONE;
	char dir[] = "/tmp/lethe-migrate.XXXXXX", path[64], err[256] = "";
	uint64_t gen;

	NEED_SERVER(f);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/realm.db", dir);
	assert_int_equal(store_realm_policy_default(&pol, REALM), LETHE_OK);
	if (store_create(path, &f->mk, &pol, &src, err, sizeof(err), NULL) != LETHE_OK)
		fail_msg("store_create (SQLite): %s", err);
	add_user(src, "alice@" REALM, 7);
	add_user(src, "bob@" REALM, 9);
	gen = generation(src);
	assert_int_equal(store_migrate(src, f->uri, &f->mk, &rep, err, sizeof(err), &kind),
	    LETHE_OK);
	assert_int_equal(rep.generation, gen);
	assert_true(rep.ntables >= 14);
	assert_string_equal(rep.tables[0].name, "schema_version");

	assert_int_equal(store_open(f->uri, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(generation(f->s), gen);
	assert_int_equal(store_principal_get(f->s, "bob@" REALM, &p), LETHE_OK);
	assert_int_equal(p->nkeys, 1);
	assert_int_equal(p->keys[0].key[0], 9);
	assert_int_equal(p->keys[0].key[31], 9 + 31);
	store_principal_free(p);
	add_user(f->s, "carol@" REALM, 11);   /* the id sequence continues */
	assert_int_equal(generation(f->s), gen + 1);

	/* Not empty now: refused, told so, nothing changed. */
	kind = STORE_E_NONE;
	assert_int_not_equal(store_migrate(src, f->uri, &f->mk, &rep, err, sizeof(err),
	    &kind), LETHE_OK);
	assert_int_equal(kind, STORE_E_EXISTS);
	assert_non_null(strstr(err, "not empty"));
	assert_int_equal(generation(f->s), gen + 1);
	assert_int_equal(store_principal_get(f->s, "carol@" REALM, &p), LETHE_OK);
	store_principal_free(p);
	/* A path that is no URI. */
	assert_int_not_equal(store_migrate(src, "/tmp/elsewhere.db", &f->mk, &rep, err,
	    sizeof(err), &kind), LETHE_OK);
	assert_int_equal(kind, STORE_E_INVALID);

	store_close(src);
	store_remove(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_twice_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_principal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maintain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_error_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_callbacks_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
