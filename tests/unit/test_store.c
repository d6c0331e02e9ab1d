/* Tests of the realm store (SQLite backend), its master key and encryption at rest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

#define REALM "TEST.LETHE"
#define STORE_ERRMSG_TEST_LEN 256

typedef struct fixture {
	char dir[64];
	char db[128];
	char mkfile[128];
	store_master_key mk;
	store *s;
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/lethe-store-XXXXXX",
	    getenv("TMPDIR") != NULL && strlen(getenv("TMPDIR")) < 30 ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/realm.db", f->dir);
	snprintf(f->mkfile, sizeof(f->mkfile), "%s/master.key", f->dir);
	if (store_master_key_generate(&f->mk) != LETHE_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;
	char cmd[160];

	store_close(f->s);
	store_master_key_wipe(&f->mk);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Create the store of f with the default policy. */
static void
create_store(fixture *f)
{
	store_realm_policy p;
	char err[256];

	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->s, err, sizeof(err),
	    NULL), LETHE_OK);
}

static void
reopen(fixture *f)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->db, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
}

/* A key whose bytes are seed, seed+1, ... (len bytes). */
static store_key
make_key(uint32_t kvno, int32_t enctype, uint8_t seed, size_t len)
{
	store_key k;

	memset(&k, 0, sizeof(k));
	k.kvno = kvno;
	k.enctype = enctype;
	k.key_len = len;
	for (size_t i = 0; i < len; i++)
		k.key[i] = (uint8_t)(seed + i);
	k.kind = STORE_KEY_LONG_TERM;
	return k;
}

/* Add a user with keys for enctypes 18 and 17 at kvno 1. */
static void
add_user(store *s, const char *name, uint8_t seed)
{
	store_key keys[2];
	store_principal p;

	keys[0] = make_key(1, 18, seed, 32);
	keys[1] = make_key(1, 17, (uint8_t)(seed + 100), 16);
	memset(&p, 0, sizeof(p));
	p.name = (char *)name;
	p.kind = STORE_KIND_USER;
	p.attributes = STORE_ATTR_DEFAULT_USER;
	p.keys = keys;
	p.nkeys = 2;
	assert_int_equal(store_principal_add(s, &p), LETHE_OK);
}

static uint64_t
generation(store *s)
{
	uint64_t g = 0;

	assert_int_equal(store_generation(s, &g), LETHE_OK);
	return g;
}

/* Run one SQL statement on the database file directly (as an attacker would). */
static void
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db) >= 1, 1);
	sqlite3_close(db);
}

/* ------------------------------------------------------------ open, create */

static void
test_create_open_round_trip(void **state)
{
	fixture *f = *state;
	store_realm_policy p, got;
	store_principal *pr = NULL;

	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	p.max_life = 3600;
	p.max_renew = 86400;
	p.clock_skew = 120;
	p.enctypes[0] = 20;
	p.enctypes[1] = 18;
	p.nenctypes = 2;
	p.kvnos_kept = 3;
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->s, NULL, 0, NULL),
	    LETHE_OK);
	add_user(f->s, "alice@" REALM, 1);
	reopen(f);
	assert_int_equal(store_realm_policy_get(f->s, &got), LETHE_OK);
	assert_string_equal(got.realm, REALM);
	assert_int_equal(got.max_life, 3600);
	assert_int_equal(got.max_renew, 86400);
	assert_int_equal(got.clock_skew, 120);
	assert_int_equal(got.nenctypes, 2);
	assert_int_equal(got.enctypes[0], 20);
	assert_int_equal(got.enctypes[1], 18);
	assert_int_equal(got.kvnos_kept, 3);
	assert_true(got.created_at > 0);

	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	assert_string_equal(pr->name, "alice@" REALM);
	assert_int_equal(pr->kind, STORE_KIND_USER);
	assert_int_equal(pr->attributes, STORE_ATTR_DEFAULT_USER);
	assert_int_equal(pr->nkeys, 2);
	{
		store_key k18 = make_key(1, 18, 1, 32), k17 = make_key(1, 17, 101, 16);

		assert_int_equal(pr->keys[0].enctype, 18);
		assert_int_equal(pr->keys[0].kvno, 1);
		assert_int_equal(pr->keys[0].key_len, 32);
		assert_memory_equal(pr->keys[0].key, k18.key, 32);
		assert_int_equal(pr->keys[1].enctype, 17);
		assert_int_equal(pr->keys[1].key_len, 16);
		assert_memory_equal(pr->keys[1].key, k17.key, 16);
	}
	assert_null(pr->keys[0].salt);
	assert_int_equal(pr->keys[0].kind, STORE_KEY_LONG_TERM);
	assert_true(pr->created_at > 0 && pr->password_changed_at == pr->created_at);
	store_principal_free(pr);
}

static void
test_policy_refused(void **state)
{
	fixture *f = *state;
	store_realm_policy p;
	struct stat st;

	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	p.nenctypes = 0;
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->s, NULL, 0, NULL),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	p.enctypes[1] = 18;     /* duplicate */
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->s, NULL, 0, NULL),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_realm_policy_default(&p, "BAD@REALM"), LETHE_OK);
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->s, NULL, 0, NULL),
	    LETHE_ERR_INVALID_ARG);
	assert_null(f->s);
	assert_int_equal(stat(f->db, &st), -1);  /* nothing left behind */
}

static void
test_wrong_master_key_refused(void **state)
{
	fixture *f = *state;
	store_master_key other = f->mk;
	enum store_error_kind kind = STORE_E_NONE;
	char err[256];

	create_store(f);
	store_close(f->s);
	f->s = NULL;
	other.bytes[31] ^= 0x01;
	assert_int_equal(store_open(f->db, &other, &f->s, err, sizeof(err), &kind),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_null(f->s);
	assert_int_equal(kind, STORE_E_MASTER_KEY);
	assert_non_null(strstr(err, "wrong master key for realm " REALM));
	/* The right key still opens it. */
	assert_int_equal(store_open(f->db, &f->mk, &f->s, err, sizeof(err), &kind),
	    LETHE_OK);
	assert_int_equal(kind, STORE_E_NONE);
}

static void
test_open_errors(void **state)
{
	fixture *f = *state;
	enum store_error_kind kind;
	char err[256], path[160];
	int fd;

	assert_int_equal(store_open(f->db, &f->mk, &f->s, err, sizeof(err), &kind),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(kind, STORE_E_NOT_FOUND);

	/* A file that is not a database. */
	snprintf(path, sizeof(path), "%s/junk", f->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not sqlite at all, just text....", 40), 40);
	close(fd);
	assert_int_equal(store_open(path, &f->mk, &f->s, err, sizeof(err), &kind),
	    LETHE_ERR_FORMAT);
	assert_null(f->s);

	/* An SQLite database without Lethe's schema. */
	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL,
		    NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_open(path, &f->mk, &f->s, err, sizeof(err), &kind),
	    LETHE_ERR_FORMAT);
	assert_non_null(strstr(err, "not a Lethe store"));

	/* A store of a newer schema version. */
	create_store(f);
	store_close(f->s);
	f->s = NULL;
	raw_sql(f->db, "UPDATE schema_version SET version = 99");
	assert_int_equal(store_open(f->db, &f->mk, &f->s, err, sizeof(err), &kind),
	    LETHE_ERR_FORMAT);
	assert_non_null(strstr(err, "schema version 99"));
}

static void
test_create_never_overwrites(void **state)
{
	fixture *f = *state;
	store_realm_policy p;
	enum store_error_kind kind;
	char link_path[160];
	struct stat st;
	int fd;

	fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(store_realm_policy_default(&p, REALM), LETHE_OK);
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->s, NULL, 0, &kind),
	    LETHE_ERR_IO);
	assert_int_equal(kind, STORE_E_EXISTS);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_size, 4);        /* untouched */

	/* A symlink is neither created through nor opened through. */
	snprintf(link_path, sizeof(link_path), "%s/link.db", f->dir);
	assert_int_equal(symlink("realm2.db", link_path), 0);
	assert_int_equal(store_create(link_path, &f->mk, &p, &f->s, NULL, 0, &kind),
	    LETHE_ERR_IO);
	unlink(link_path);
	assert_int_equal(symlink("realm.db", link_path), 0);
	assert_int_not_equal(store_open(link_path, &f->mk, &f->s, NULL, 0, NULL),
	    LETHE_OK);
	assert_null(f->s);
}

static void
test_file_modes(void **state)
{
	fixture *f = *state;
	char wal[160];
	struct stat st;
	mode_t old = umask(0);

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	assert_int_equal(store_master_key_save(f->mkfile, &f->mk), LETHE_OK);
	umask(old);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	assert_int_equal(stat(wal, &st), 0);    /* WAL mode is on */
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->mkfile, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* ------------------------------------------------------------ master key */

static void
test_master_key_file(void **state)
{
	fixture *f = *state;
	store_master_key got;
	char text[80];
	int fd;
	ssize_t n;

	assert_int_equal(store_master_key_save(f->mkfile, &f->mk), LETHE_OK);
	assert_int_equal(store_master_key_load(f->mkfile, &got), LETHE_OK);
	assert_memory_equal(got.bytes, f->mk.bytes, STORE_MASTER_KEY_LEN);

	/* 64 lowercase hex digits and a newline. */
	fd = open(f->mkfile, O_RDONLY);
	n = read(fd, text, sizeof(text));
	close(fd);
	assert_int_equal(n, 65);
	assert_int_equal(text[64], '\n');
	assert_int_equal(strspn(text, "0123456789abcdef"), 64);

	/* Never replaced. */
	got.bytes[0] ^= 1;
	errno = 0;
	assert_int_equal(store_master_key_save(f->mkfile, &got), LETHE_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(store_master_key_load(f->mkfile, &got), LETHE_OK);
	assert_memory_equal(got.bytes, f->mk.bytes, STORE_MASTER_KEY_LEN);

	{
		char missing[160];

		snprintf(missing, sizeof(missing), "%s/none", f->dir);
		assert_int_equal(store_master_key_load(missing, &got),
		    LETHE_ERR_NOT_FOUND);
	}
}

static void
test_master_key_hex(void **state)
{
	static const char hex[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
	store_master_key mk;
	int pipefd[2];
	(void)state;

	assert_int_equal(store_master_key_from_hex(hex, 64, &mk), LETHE_OK);
	for (int i = 0; i < 32; i++)
		assert_int_equal(mk.bytes[i], i);
	assert_int_equal(store_master_key_from_hex(hex, 63, &mk), LETHE_ERR_FORMAT);
	assert_int_equal(store_master_key_from_hex("zz0102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f", 64, &mk), LETHE_ERR_FORMAT);

	/* From a file descriptor, with surrounding blanks. */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], "  ", 2), 2);
	assert_int_equal(write(pipefd[1], hex, 64), 64);
	assert_int_equal(write(pipefd[1], "\r\n", 2), 2);
	close(pipefd[1]);
	memset(&mk, 0xee, sizeof(mk));
	assert_int_equal(store_master_key_read_fd(pipefd[0], &mk), LETHE_OK);
	close(pipefd[0]);
	assert_int_equal(mk.bytes[31], 0x1f);

	/* Two keys in a row, or too much input, are refused. */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(write(pipefd[1], hex, 64), 64);
	assert_int_equal(write(pipefd[1], hex, 64), 64);
	close(pipefd[1]);
	assert_int_equal(store_master_key_read_fd(pipefd[0], &mk), LETHE_ERR_FORMAT);
	close(pipefd[0]);
	{
		char big[300];

		memset(big, '0', sizeof(big));
		assert_int_equal(pipe(pipefd), 0);
		assert_int_equal(write(pipefd[1], big, sizeof(big)), sizeof(big));
		close(pipefd[1]);
		assert_int_equal(store_master_key_read_fd(pipefd[0], &mk),
		    LETHE_ERR_FORMAT);
		close(pipefd[0]);
	}
	store_master_key_wipe(&mk);
	for (int i = 0; i < 32; i++)
		assert_int_equal(mk.bytes[i], 0);
}

/* ------------------------------------------------------------ encryption at rest */

static void
test_blob_moved_fails(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	add_user(f->s, "bob@" REALM, 50);
	store_close(f->s);
	f->s = NULL;
	/* Copy bob's aes256 key blob over alice's. */
	raw_sql(f->db, "UPDATE keys SET key_blob = (SELECT k.key_blob FROM keys k "
	    "JOIN principals p ON p.id = k.principal_id WHERE p.name = 'bob@"
	    REALM "' AND k.enctype = 18) WHERE enctype = 18 AND principal_id = "
	    "(SELECT id FROM principals WHERE name = 'alice@" REALM "')");
	reopen(f);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_null(pr);
	assert_int_equal(store_error_kind(f->s), STORE_E_MASTER_KEY);
	assert_non_null(strstr(store_errmsg(f->s), "alice@" REALM));
	/* Bob's own row still decrypts. */
	assert_int_equal(store_principal_get(f->s, "bob@" REALM, &pr), LETHE_OK);
	store_principal_free(pr);
	pr = NULL;

	/* Relabelling a row's kvno or enctype breaks it too. */
	store_close(f->s);
	f->s = NULL;
	raw_sql(f->db, "UPDATE keys SET kvno = 7 WHERE enctype = 17 AND principal_id = "
	    "(SELECT id FROM principals WHERE name = 'bob@" REALM "')");
	reopen(f);
	assert_int_equal(store_principal_get(f->s, "bob@" REALM, &pr),
	    LETHE_ERR_BAD_INTEGRITY);
}

static void
test_blob_tampered_fails(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	store_close(f->s);
	f->s = NULL;
	/* Flip one bit of the last byte (the tag) of one blob. */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;
		uint8_t blob[128];
		int n;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT key_blob FROM keys "
		    "WHERE enctype = 17", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		n = sqlite3_column_bytes(st, 0);
		assert_true(n == 1 + 12 + 16 + 16);
		memcpy(blob, sqlite3_column_blob(st, 0), (size_t)n);
		sqlite3_finalize(st);
		blob[n - 1] ^= 0x01;
		assert_int_equal(sqlite3_prepare_v2(db, "UPDATE keys SET key_blob = ? "
		    "WHERE enctype = 17", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_bind_blob(st, 1, blob, n, SQLITE_STATIC),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	reopen(f);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_null(pr);
}

/* True when needle occurs in the file at path (which may be absent). */
static bool
file_contains(const char *path, const uint8_t *needle, size_t n)
{
	static uint8_t buf[1 << 20];
	size_t len;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return false;
	len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	assert_true(len < sizeof(buf));
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return true;
	return false;
}

static void
test_no_key_bytes_in_clear(void **state)
{
	fixture *f = *state;
	store_key k = make_key(1, 18, 0xa0, 32);
	char wal[160];
	static const char pem_secret[] = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n";
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nPUBLIC\n";

	create_store(f);
	add_user(f->s, "alice@" REALM, 0xa0);
	assert_int_equal(store_credential_put(f->s, STORE_CRED_KDC,
	    LBYTES_LIT(cert), LBYTES_LIT(pem_secret), 1000), LETHE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	/* While open: the data sits in the WAL; after close, in the database. */
	assert_true(file_contains(wal, (const uint8_t *)"alice@" REALM, 16));
	assert_false(file_contains(wal, k.key, 16));
	assert_false(file_contains(wal, (const uint8_t *)"SECRETSECRET", 12));
	store_close(f->s);
	f->s = NULL;
	assert_true(file_contains(f->db, (const uint8_t *)"alice@" REALM, 16));
	assert_true(file_contains(f->db, (const uint8_t *)"PUBLIC", 6));
	assert_false(file_contains(f->db, k.key, 16));
	assert_false(file_contains(f->db, k.key + 16, 16));
	assert_false(file_contains(f->db, (const uint8_t *)"SECRETSECRET", 12));
	assert_false(file_contains(f->db, f->mk.bytes, 16));
}

/* ------------------------------------------------------------ principals */

static void
test_add_get_delete(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	store_principal_free(pr);
	pr = NULL;
	assert_int_equal(store_principal_get(f->s, "nobody@" REALM, &pr),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_error_kind(f->s), STORE_E_NOT_FOUND);
	assert_int_equal(store_principal_delete(f->s, "alice@" REALM), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_principal_delete(f->s, "alice@" REALM),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_error_kind(f->s), STORE_E_NOT_FOUND);
	/* The keys went with it (ON DELETE CASCADE). */
	store_close(f->s);
	f->s = NULL;
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM keys",
		    -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void
test_names_checked(void **state)
{
	fixture *f = *state;
	store_principal p, *pr = NULL;
	store_key k = make_key(1, 18, 1, 32);

	create_store(f);
	memset(&p, 0, sizeof(p));
	p.kind = STORE_KIND_USER;
	p.keys = &k;
	p.nkeys = 1;
	p.name = (char *)"alice@OTHER.REALM";
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_INVALID);
	p.name = (char *)"alice";               /* no realm */
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	p.name = (char *)"a\\lice@" REALM;      /* not the canonical spelling */
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	p.name = (char *)"";
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_principal_get(f->s, NULL, &pr), LETHE_ERR_INVALID_ARG);
	p.name = (char *)"host/a.example@" REALM;
	k.key_len = 0;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	k.key_len = STORE_MAX_KEY_LEN + 1;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	k.key_len = 32;
	k.enctype = 0;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	k.enctype = 18;
	p.attributes = 1u << 20;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	p.attributes = 0;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "host/a.example@" REALM, &pr),
	    LETHE_OK);
	assert_int_equal(pr->password_changed_at, pr->created_at);
	store_principal_free(pr);
}

static void
test_rekey_keeps_previous_kvno(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL;
	store_key nk[2];
	uint32_t kvno = 0;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	nk[0] = make_key(99, 18, 0x40, 32);     /* kvno field ignored */
	nk[1] = make_key(99, 17, 0x60, 16);
	assert_int_equal(store_principal_rekey(f->s, "alice@" REALM, nk, 2, &kvno),
	    LETHE_OK);
	assert_int_equal(kvno, 2);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	assert_int_equal(pr->nkeys, 4);
	assert_int_equal(pr->keys[0].kvno, 2);
	assert_int_equal(pr->keys[0].enctype, 18);
	assert_memory_equal(pr->keys[0].key, nk[0].key, 32);
	assert_int_equal(pr->keys[1].kvno, 2);
	assert_int_equal(pr->keys[1].enctype, 17);
	assert_int_equal(pr->keys[2].kvno, 1);
	assert_int_equal(pr->keys[3].kvno, 1);
	store_principal_free(pr);
	pr = NULL;

	/* A third key: kvno 1 goes (kvnos_kept = 2), kvno 2 stays. */
	nk[0] = make_key(0, 18, 0x80, 32);
	assert_int_equal(store_principal_rekey(f->s, "alice@" REALM, nk, 1, &kvno),
	    LETHE_OK);
	assert_int_equal(kvno, 3);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	assert_int_equal(pr->nkeys, 3);
	assert_int_equal(pr->keys[0].kvno, 3);
	assert_int_equal(pr->keys[1].kvno, 2);
	assert_int_equal(pr->keys[2].kvno, 2);
	store_principal_free(pr);

	assert_int_equal(store_principal_rekey(f->s, "nobody@" REALM, nk, 1, &kvno),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_principal_rekey(f->s, "alice@" REALM, nk, 0, &kvno),
	    LETHE_ERR_INVALID_ARG);
}

static void
test_attributes_and_limits(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	assert_int_equal(store_principal_set_attributes(f->s, "alice@" REALM,
	    STORE_ATTR_DISABLED, STORE_ATTR_REQUIRES_PREAUTH), LETHE_OK);
	assert_int_equal(store_principal_set_limits(f->s, "alice@" REALM, 600,
	    1200, 2000000000), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	assert_int_equal(pr->attributes, (STORE_ATTR_DEFAULT_USER |
	    STORE_ATTR_DISABLED) & ~STORE_ATTR_REQUIRES_PREAUTH);
	assert_int_equal(pr->max_life, 600);
	assert_int_equal(pr->max_renew, 1200);
	assert_int_equal(pr->expires_at, 2000000000);
	store_principal_free(pr);
	assert_int_equal(store_principal_set_attributes(f->s, "bob@" REALM,
	    STORE_ATTR_DISABLED, 0), LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_principal_set_attributes(f->s, "alice@" REALM,
	    1u << 9, 0), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_principal_set_limits(f->s, "alice@" REALM, -1, 0, 0),
	    LETHE_ERR_INVALID_ARG);
}

static void
test_generation_counts_changes(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL;
	store_key k = make_key(0, 18, 5, 32);
	uint64_t g0, g;

	create_store(f);
	g0 = generation(f->s);
	add_user(f->s, "alice@" REALM, 1);
	g = generation(f->s);
	assert_true(g > g0);
	/* Reads do not count. */
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	store_principal_free(pr);
	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_principal_rekey(f->s, "alice@" REALM, &k, 1, NULL),
	    LETHE_OK);
	assert_true(generation(f->s) > g);
	g = generation(f->s);
	assert_int_equal(store_principal_set_attributes(f->s, "alice@" REALM,
	    STORE_ATTR_DISABLED, 0), LETHE_OK);
	assert_true(generation(f->s) > g);
	g = generation(f->s);
	/* Failed changes do not count. */
	assert_int_equal(store_principal_delete(f->s, "nobody@" REALM),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_principal_delete(f->s, "alice@" REALM), LETHE_OK);
	assert_true(generation(f->s) > g);
	g = generation(f->s);
	/* Seen by another handle on the same file (how the KDC polls). */
	{
		store *other = NULL;

		assert_int_equal(store_open(f->db, &f->mk, &other, NULL, 0, NULL),
		    LETHE_OK);
		assert_int_equal(generation(other), g);
		add_user(other, "carol@" REALM, 9);
		store_close(other);
	}
	assert_true(generation(f->s) > g);
}

typedef struct visit {
	size_t count;
	size_t keys;
	bool saw_alice, saw_svc;
	size_t stop_after;
} visit;

static lethe_status
visit_cb(void *ctx, const store_principal *p)
{
	visit *v = ctx;

	v->count++;
	v->keys += p->nkeys;
	if (strcmp(p->name, "alice@" REALM) == 0) {
		store_key k = make_key(1, 18, 1, 32);

		assert_int_equal(p->nkeys, 2);
		assert_memory_equal(p->keys[0].key, k.key, 32);
		v->saw_alice = true;
	}
	if (strcmp(p->name, "host/svc.example@" REALM) == 0) {
		assert_int_equal(p->kind, STORE_KIND_SERVICE);
		assert_int_equal(p->nkeys, 0);
		v->saw_svc = true;
	}
	if (v->stop_after != 0 && v->count == v->stop_after)
		return LETHE_ERR_TOO_BIG;
	return LETHE_OK;
}

static void
test_foreach_returns_everything(void **state)
{
	fixture *f = *state;
	store_principal p;
	visit v;
	uint64_t gen = 0;
	char name[64];

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "user%02d@" REALM, i);
		add_user(f->s, name, (uint8_t)i);
	}
	memset(&p, 0, sizeof(p));
	p.name = (char *)"host/svc.example@" REALM;
	p.kind = STORE_KIND_SERVICE;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);

	memset(&v, 0, sizeof(v));
	assert_int_equal(store_principal_foreach(f->s, visit_cb, &v, &gen), LETHE_OK);
	assert_int_equal(v.count, 22);
	assert_int_equal(v.keys, 42);
	assert_true(v.saw_alice && v.saw_svc);
	assert_int_equal(gen, generation(f->s));

	/* The callback's error stops the walk and comes back. */
	memset(&v, 0, sizeof(v));
	v.stop_after = 3;
	assert_int_equal(store_principal_foreach(f->s, visit_cb, &v, NULL),
	    LETHE_ERR_TOO_BIG);
	assert_int_equal(v.count, 3);

	{
		store_name_list *list = NULL;

		assert_int_equal(store_principal_list(f->s, &list), LETHE_OK);
		assert_int_equal(list->count, 22);
		assert_string_equal(list->entries[0].name, "alice@" REALM);
		assert_string_equal(list->entries[1].name, "host/svc.example@" REALM);
		assert_int_equal(list->entries[1].kind, STORE_KIND_SERVICE);
		store_name_list_free(list);
	}
}

/* ------------------------------------------------------------ transactions */

static void
test_failed_change_leaves_store_as_before(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL, p;
	store_key keys[3];
	uint64_t g;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	g = generation(f->s);

	/* A duplicate name: refused, the original untouched. */
	keys[0] = make_key(1, 18, 0x77, 32);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"alice@" REALM;
	p.kind = STORE_KIND_SERVICE;
	p.keys = keys;
	p.nkeys = 1;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_non_null(strstr(store_errmsg(f->s), "already exists"));

	/* Two new keys then one that collides: none of the three is kept. */
	keys[0] = make_key(5, 18, 0x10, 32);
	keys[1] = make_key(5, 17, 0x20, 16);
	keys[2] = make_key(1, 17, 0x30, 16);     /* kvno 1 enctype 17 exists */
	keys[0].kind = keys[1].kind = keys[2].kind = STORE_KEY_TEMPORARY;
	assert_int_equal(store_keys_add(f->s, "alice@" REALM, keys, 3),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);

	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	assert_int_equal(pr->kind, STORE_KIND_USER);
	assert_int_equal(pr->nkeys, 2);
	assert_int_equal(pr->keys[0].kvno, 1);
	assert_int_equal(pr->keys[0].key[0], 1);
	store_principal_free(pr);
	pr = NULL;

	/* The same keys without the collision go in. */
	assert_int_equal(store_keys_add(f->s, "alice@" REALM, keys, 2), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &pr), LETHE_OK);
	assert_int_equal(pr->nkeys, 4);
	assert_int_equal(pr->keys[0].kvno, 5);
	assert_int_equal(pr->keys[0].kind, STORE_KEY_TEMPORARY);
	store_principal_free(pr);
}

static void
test_temporary_keys_purged(void **state)
{
	fixture *f = *state;
	store_principal *pr = NULL, p;
	store_key keys[2];
	size_t deleted = 99;

	create_store(f);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"HTTP/www.example@" REALM;
	p.kind = STORE_KIND_AGENT;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	keys[0] = make_key(1000, 18, 1, 32);
	keys[1] = make_key(1001, 18, 2, 32);
	for (int i = 0; i < 2; i++) {
		keys[i].kind = STORE_KEY_TEMPORARY;
		keys[i].registered_at = 100;
		keys[i].use_until = 200 + i * 1000;
		keys[i].accept_until = 300 + i * 1000;
		keys[i].registered_by = (char *)"CN=www.example";
	}
	keys[1].salt = (uint8_t *)"salty";
	keys[1].salt_len = 5;
	keys[1].s2k_iterations = 4096;
	assert_int_equal(store_keys_add(f->s, p.name, keys, 2), LETHE_OK);
	assert_int_equal(store_keys_purge_expired(f->s, 500, &deleted), LETHE_OK);
	assert_int_equal(deleted, 1);
	assert_int_equal(store_principal_get(f->s, p.name, &pr), LETHE_OK);
	assert_int_equal(pr->nkeys, 1);
	assert_int_equal(pr->keys[0].kvno, 1001);
	assert_int_equal(pr->keys[0].registered_at, 100);
	assert_int_equal(pr->keys[0].use_until, 1200);
	assert_int_equal(pr->keys[0].accept_until, 1300);
	assert_string_equal(pr->keys[0].registered_by, "CN=www.example");
	assert_int_equal(pr->keys[0].salt_len, 5);
	assert_memory_equal(pr->keys[0].salt, "salty", 5);
	assert_int_equal(pr->keys[0].s2k_iterations, 4096);
	store_principal_free(pr);
}

/* ------------------------------------------------------------ credentials */

static void
test_credentials(void **state)
{
	fixture *f = *state;
	store_credential *c = NULL;
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nAAAA\n";
	static const char key[] = "-----BEGIN PRIVATE KEY-----\nBBBB\n";
	static const char key2[] = "-----BEGIN PRIVATE KEY-----\nCCCC\n";

	create_store(f);
	assert_int_equal(store_credential_get(f->s, STORE_CRED_KDC, &c),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_credential_put(f->s, STORE_CRED_KDC, LBYTES_LIT(cert),
	    LBYTES_LIT(key), 12345), LETHE_OK);
	assert_int_equal(store_credential_put(f->s, STORE_CRED_REALM_CA,
	    LBYTES_LIT(cert), LBYTES_LIT(key2), 99), LETHE_OK);
	reopen(f);
	assert_int_equal(store_credential_get(f->s, STORE_CRED_KDC, &c), LETHE_OK);
	assert_string_equal(c->name, STORE_CRED_KDC);
	assert_string_equal(c->cert_pem, cert);
	assert_int_equal(c->key_pem_len, sizeof(key) - 1);
	assert_memory_equal(c->key_pem, key, sizeof(key));    /* and the NUL */
	assert_int_equal(c->not_after, 12345);
	store_credential_free(c);
	c = NULL;

	/* Replacing works; a blob moved to the other name does not decrypt. */
	assert_int_equal(store_credential_put(f->s, STORE_CRED_KDC, LBYTES_LIT(cert),
	    LBYTES_LIT(key2), 777), LETHE_OK);
	assert_int_equal(store_credential_get(f->s, STORE_CRED_KDC, &c), LETHE_OK);
	assert_int_equal(c->not_after, 777);
	assert_memory_equal(c->key_pem, key2, sizeof(key2));
	store_credential_free(c);
	c = NULL;
	store_close(f->s);
	f->s = NULL;
	raw_sql(f->db, "UPDATE credentials SET key_blob = (SELECT key_blob FROM "
	    "credentials WHERE name = 'kdc') WHERE name = 'realm-ca'");
	reopen(f);
	assert_int_equal(store_credential_get(f->s, STORE_CRED_REALM_CA, &c),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_null(c);
	assert_int_equal(store_credential_put(f->s, "", LBYTES_LIT(cert),
	    LBYTES_LIT(key), 1), LETHE_ERR_INVALID_ARG);
}

/* ------------------------------------------------------------ schema v2 */

#define SPKI_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SPKI_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define T0     1700000000

/* One integer from the database file (read directly). */
static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
test_v2_defaults(void **state)
{
	fixture *f = *state;
	store_reg_policy rp;
	store_service_policy sp;
	store_anchors *al = NULL;
	store_reg_rules *rl = NULL;
	store_agents *ag = NULL;

	create_store(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), 5);
	assert_int_equal(store_reg_policy_get(f->s, &rp), LETHE_OK);
	assert_true(rp.auto_enrol);
	assert_string_equal(rp.dns_services, "host HTTP");
	assert_int_equal(rp.max_use_window, 86400);
	assert_int_equal(rp.ntk_enctypes, 4);
	assert_int_equal(rp.tk_enctypes[0], 18);
	assert_int_equal(rp.tk_enctypes[3], 19);
	assert_true(store_reg_policy_dns_service(&rp, "HTTP"));
	assert_true(store_reg_policy_dns_service(&rp, "host"));
	assert_false(store_reg_policy_dns_service(&rp, "http"));
	assert_false(store_reg_policy_dns_service(&rp, "hos"));
	assert_false(store_reg_policy_dns_service(&rp, ""));
	assert_int_equal(store_service_policy_get(f->s, "HTTP/a@" REALM, &sp),
	    LETHE_OK);
	assert_false(sp.configured);
	assert_false(sp.allow_pubkey_tickets);
	assert_true(sp.allow_classic_key);
	assert_int_equal(store_service_policy_get(f->s, "HTTP/a@OTHER", &sp),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_anchor_list(f->s, &al), LETHE_OK);
	assert_int_equal(al->count, 0);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_int_equal(rl->count, 0);
	assert_int_equal(store_agent_list(f->s, &ag), LETHE_OK);
	assert_int_equal(ag->count, 0);
	store_anchors_free(al);
	store_reg_rules_free(rl);
	store_agents_free(ag);
}

static void
test_anchors(void **state)
{
	fixture *f = *state;
	static const char pem_a[] = "-----BEGIN CERTIFICATE-----\nAA\n";
	static const char pem_b[] = "-----BEGIN CERTIFICATE-----\nBB\n";
	store_anchors *al = NULL;
	uint64_t g;

	create_store(f);
	g = generation(f->s);
	assert_int_equal(store_anchor_add(f->s, "zeta", LBYTES_LIT(pem_b)), LETHE_OK);
	assert_int_equal(store_anchor_add(f->s, "alpha-1.ca", LBYTES_LIT(pem_a)),
	    LETHE_OK);
	assert_int_equal(generation(f->s), g + 2);
	assert_int_equal(store_anchor_add(f->s, "zeta", LBYTES_LIT(pem_a)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(store_anchor_add(f->s, "bad name", LBYTES_LIT(pem_a)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_INVALID);
	assert_int_equal(store_anchor_add(f->s, "empty", lbytes_make(NULL, 0)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(generation(f->s), g + 2);
	assert_int_equal(store_anchor_list(f->s, &al), LETHE_OK);
	assert_int_equal(al->count, 2);
	assert_string_equal(al->entries[0].name, "alpha-1.ca");
	assert_string_equal(al->entries[0].cert_pem, pem_a);
	assert_int_equal(al->entries[0].cert_pem_len, strlen(pem_a));
	assert_string_equal(al->entries[1].name, "zeta");
	assert_string_equal(al->entries[1].cert_pem, pem_b);
	assert_true(al->entries[1].added_at > 0);
	store_anchors_free(al);
	assert_int_equal(store_anchor_remove(f->s, "zeta"), LETHE_OK);
	assert_int_equal(store_anchor_remove(f->s, "zeta"), LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_error_kind(f->s), STORE_E_NOT_FOUND);
	assert_int_equal(store_anchor_list(f->s, &al), LETHE_OK);
	assert_int_equal(al->count, 1);
	assert_string_equal(al->entries[0].name, "alpha-1.ca");
	store_anchors_free(al);
}

static void
test_reg_rules(void **state)
{
	fixture *f = *state;
	store_reg_rules *rl = NULL;
	enum store_identity_kind kind;
	int64_t id1 = 0, id2 = 0, id3 = 0;

	create_store(f);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SUBJECT,
	    "CN=www.example.org,O=Example", "HTTP/*@" REALM, &id1), LETHE_OK);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SAN, "www.example.org",
	    "host/www.example.org@" REALM, &id2), LETHE_OK);
	/* An upper-case pin is stored in lower case. */
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SPKI,
	    "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
	    "*", &id3), LETHE_OK);
	assert_true(id1 > 0 && id2 > id1 && id3 > id2);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SPKI, SPKI_A, "*",
	    NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SPKI, "0011", "*",
	    NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SPKI,
	    "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    "*", NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SAN, "a\nb", "*",
	    NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SAN, "a", "", NULL),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_add(f->s, (enum store_identity_kind)9,
	    "a", "*", NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_int_equal(rl->count, 3);
	assert_int_equal(rl->entries[0].id, id1);
	assert_int_equal(rl->entries[0].kind, STORE_ID_SUBJECT);
	assert_string_equal(rl->entries[0].identity, "CN=www.example.org,O=Example");
	assert_string_equal(rl->entries[0].pattern, "HTTP/*@" REALM);
	assert_int_equal(rl->entries[2].kind, STORE_ID_SPKI);
	assert_string_equal(rl->entries[2].identity, SPKI_A);
	store_reg_rules_free(rl);
	assert_int_equal(store_reg_rule_remove(f->s, id2), LETHE_OK);
	assert_int_equal(store_reg_rule_remove(f->s, id2), LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_reg_rule_remove(f->s, 0), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_int_equal(rl->count, 2);
	assert_int_equal(rl->entries[1].id, id3);
	store_reg_rules_free(rl);

	assert_int_equal(store_identity_kind_parse("san", &kind), LETHE_OK);
	assert_int_equal(kind, STORE_ID_SAN);
	assert_int_equal(store_identity_kind_parse("SAN", &kind),
	    LETHE_ERR_INVALID_ARG);
	assert_string_equal(store_identity_kind_name(STORE_ID_SPKI), "spki");
	assert_true(store_pattern_match("HTTP/*@" REALM, "HTTP/www.example.org@" REALM));
	assert_true(store_pattern_match("*", "host/a/b@" REALM));
	assert_false(store_pattern_match("HTTP/*@" REALM, "http/www@" REALM));
	assert_false(store_pattern_match("HTTP/*@" REALM, "HTTP/www@OTHER"));
	assert_false(store_pattern_match("", "HTTP/www@" REALM));
}

static void
test_reg_policy_set(void **state)
{
	fixture *f = *state;
	store_reg_policy p, q;
	uint64_t g;

	create_store(f);
	assert_int_equal(store_reg_policy_get(f->s, &p), LETHE_OK);
	p.auto_enrol = false;
	snprintf(p.dns_services, sizeof(p.dns_services), "host HTTP ldap");
	p.max_use_window = 3600;
	p.tk_enctypes[0] = 20;
	p.ntk_enctypes = 1;
	assert_int_equal(store_reg_policy_set(f->s, &p), LETHE_OK);
	reopen(f);
	assert_int_equal(store_reg_policy_get(f->s, &q), LETHE_OK);
	assert_false(q.auto_enrol);
	assert_string_equal(q.dns_services, "host HTTP ldap");
	assert_int_equal(q.max_use_window, 3600);
	assert_int_equal(q.ntk_enctypes, 1);
	assert_int_equal(q.tk_enctypes[0], 20);
	assert_true(store_reg_policy_dns_service(&q, "ldap"));

	g = generation(f->s);
	q.max_use_window = 0;
	assert_int_equal(store_reg_policy_set(f->s, &q), LETHE_ERR_INVALID_ARG);
	q.max_use_window = 60;
	snprintf(q.dns_services, sizeof(q.dns_services), "host;rm");
	assert_int_equal(store_reg_policy_set(f->s, &q), LETHE_ERR_INVALID_ARG);
	snprintf(q.dns_services, sizeof(q.dns_services), "host");
	q.tk_enctypes[1] = 20;
	q.ntk_enctypes = 2;
	assert_int_equal(store_reg_policy_set(f->s, &q), LETHE_ERR_INVALID_ARG);
	q.ntk_enctypes = 0;
	assert_int_equal(store_reg_policy_set(f->s, &q), LETHE_ERR_INVALID_ARG);
	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_reg_policy_get(f->s, &q), LETHE_OK);
	assert_int_equal(q.max_use_window, 3600);
	assert_string_equal(q.dns_services, "host HTTP ldap");
}

static void
test_service_policy(void **state)
{
	fixture *f = *state;
	store_service_policy p = { .allow_pubkey_tickets = true,
	    .allow_classic_key = false }, q;

	create_store(f);
	assert_int_equal(store_service_policy_set(f->s, "HTTP/www@" REALM, &p),
	    LETHE_OK);
	assert_int_equal(store_service_policy_get(f->s, "HTTP/www@" REALM, &q),
	    LETHE_OK);
	assert_true(q.configured);
	assert_true(q.allow_pubkey_tickets);
	assert_false(q.allow_classic_key);
	p.allow_pubkey_tickets = false;
	assert_int_equal(store_service_policy_set(f->s, "HTTP/www@" REALM, &p),
	    LETHE_OK);
	assert_int_equal(store_service_policy_get(f->s, "HTTP/www@" REALM, &q),
	    LETHE_OK);
	assert_false(q.allow_pubkey_tickets);
	assert_false(q.allow_classic_key);
	/* Another principal still has the defaults. */
	assert_int_equal(store_service_policy_get(f->s, "HTTP/other@" REALM, &q),
	    LETHE_OK);
	assert_false(q.configured);
	assert_true(q.allow_classic_key);
	assert_int_equal(store_service_policy_set(f->s, "HTTP/www", &p),
	    LETHE_ERR_INVALID_ARG);
}

/* A registration of keys[0..n) for name with nonce byte nb at T0. */
static store_registration
make_reg(const char *name, uint8_t nb, const store_key *keys, size_t n)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nCC\n";
	store_registration r;

	memset(&r, 0, sizeof(r));
	r.principal = name;
	memset(r.nonce, nb, sizeof(r.nonce));
	r.now = T0;
	r.nonce_expires_at = T0 + 600;
	r.keys = keys;
	r.nkeys = n;
	r.registered_by = SPKI_A;
	r.callback = "www.example.org:7390";
	r.cert_pem = LBYTES_LIT(pem);
	return r;
}

/* A temporary key of kvno/enctype: use for 1 h, accept for 11 h. */
static store_key
tk(uint32_t kvno, int32_t enctype, uint8_t seed)
{
	store_key k = make_key(kvno, enctype, seed, enctype == 17 ? 16 : 32);

	k.kind = STORE_KEY_TEMPORARY;
	k.use_until = T0 + 3600;
	k.accept_until = T0 + 3600 + 36000;
	return k;
}

static void
test_register_keys(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www.example.org@" REALM;
	store_key keys[2] = { tk(7, 18, 1), tk(7, 17, 50) };
	store_registration r = make_reg(name, 0xa1, keys, 2);
	enum store_reg_outcome out = STORE_REG_REPLAY;
	store_principal *p = NULL;
	store_agent *a = NULL;
	uint64_t g;
	bool seen = false;

	create_store(f);
	g = generation(f->s);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	assert_int_equal(generation(f->s), g + 1);
	reopen(f);
	assert_int_equal(store_principal_get(f->s, name, &p), LETHE_OK);
	assert_int_equal(p->kind, STORE_KIND_AGENT);
	assert_int_equal(p->attributes, STORE_ATTR_DEFAULT_SERVICE);
	assert_int_equal(p->nkeys, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(p->keys[i].kvno, 7);
		assert_int_equal(p->keys[i].enctype, keys[i].enctype);
		assert_int_equal(p->keys[i].key_len, keys[i].key_len);
		assert_memory_equal(p->keys[i].key, keys[i].key, keys[i].key_len);
		assert_int_equal(p->keys[i].kind, STORE_KEY_TEMPORARY);
		assert_int_equal(p->keys[i].registered_at, T0);
		assert_int_equal(p->keys[i].use_until, T0 + 3600);
		assert_int_equal(p->keys[i].accept_until, T0 + 39600);
		assert_string_equal(p->keys[i].registered_by, SPKI_A);
	}
	store_principal_free(p);
	assert_int_equal(store_agent_get(f->s, name, &a), LETHE_OK);
	assert_string_equal(a->principal, name);
	assert_string_equal(a->callback, "www.example.org:7390");
	assert_string_equal(a->spki_sha256, SPKI_A);
	assert_string_equal(a->cert_pem, "-----BEGIN CERTIFICATE-----\nCC\n");
	assert_int_equal(a->last_registered_at, T0);
	store_agent_free(a);
	assert_int_equal(store_nonce_seen(f->s, r.nonce, T0, &seen), LETHE_OK);
	assert_true(seen);
	assert_int_equal(store_nonce_seen(f->s, r.nonce, T0 + 600, &seen), LETHE_OK);
	assert_false(seen);

	/* A second registration (next kvno, no callback) updates the agent. */
	keys[0] = tk(8, 18, 9);
	r = make_reg(name, 0xa2, keys, 1);
	r.now = T0 + 60;
	r.callback = NULL;
	r.registered_by = SPKI_B;
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	assert_int_equal(store_agent_get(f->s, name, &a), LETHE_OK);
	assert_null(a->callback);
	assert_string_equal(a->spki_sha256, SPKI_B);
	assert_int_equal(a->last_registered_at, T0 + 60);
	store_agent_free(a);
	assert_int_equal(store_principal_get(f->s, name, &p), LETHE_OK);
	assert_int_equal(p->nkeys, 3);
	assert_int_equal(p->keys[0].kvno, 8);
	store_principal_free(p);
	assert_int_equal(store_agent_get(f->s, "HTTP/none@" REALM, &a),
	    LETHE_ERR_NOT_FOUND);
	assert_null(a);
}

/* Two audit reports are the same, field by field. */
static void
assert_audits_equal(const store_audit_report *x, const store_audit_report *y)
{
	assert_int_equal(x->generation, y->generation);
	assert_int_equal(x->nprincipals, y->nprincipals);
	assert_int_equal(x->long_term_service_keys, y->long_term_service_keys);
	assert_int_equal(x->nagent_principals, y->nagent_principals);
	assert_int_equal(x->agent_long_term_present, y->agent_long_term_present);
	for (size_t i = 0; i < x->nprincipals; i++) {
		const store_audit_principal *a = &x->principals[i];
		const store_audit_principal *b = &y->principals[i];

		assert_string_equal(a->name, b->name);
		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->nkeys, b->nkeys);
		for (size_t j = 0; j < a->nkeys; j++) {
			assert_int_equal(a->keys[j].kvno, b->keys[j].kvno);
			assert_int_equal(a->keys[j].enctype, b->keys[j].enctype);
			assert_int_equal(a->keys[j].state, b->keys[j].state);
			assert_int_equal(a->keys[j].use_until, b->keys[j].use_until);
		}
	}
}

/* Register r and expect a refusal that leaves generation and audit as they were. */
static void
assert_refused(fixture *f, const store_registration *r,
    enum store_reg_outcome expected)
{
	store_audit_report *before = NULL, *after = NULL;
	enum store_reg_outcome out = STORE_REG_OK;
	store_agents *ag1 = NULL, *ag2 = NULL;

	assert_int_equal(store_audit(f->s, T0, &before), LETHE_OK);
	assert_int_equal(store_agent_list(f->s, &ag1), LETHE_OK);
	assert_int_equal(store_register_keys(f->s, r, &out), LETHE_OK);
	assert_int_equal(out, expected);
	assert_int_equal(store_audit(f->s, T0, &after), LETHE_OK);
	assert_int_equal(store_agent_list(f->s, &ag2), LETHE_OK);
	assert_audits_equal(before, after);
	assert_int_equal(ag1->count, ag2->count);
	for (size_t i = 0; i < ag1->count; i++)
		assert_int_equal(ag1->entries[i].last_registered_at,
		    ag2->entries[i].last_registered_at);
	store_audit_report_free(before);
	store_audit_report_free(after);
	store_agents_free(ag1);
	store_agents_free(ag2);
}

static void
test_register_replay(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www.example.org@" REALM;
	store_key keys[1] = { tk(7, 18, 1) };
	store_registration r = make_reg(name, 0xb1, keys, 1);
	enum store_reg_outcome out;

	create_store(f);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	/* Same nonce, new kvno: a replay, nothing stored. */
	keys[0] = tk(9, 18, 2);
	assert_refused(f, &r, STORE_REG_REPLAY);
	/* The nonce is forgotten once it expired: the same bytes pass later. */
	r.now = T0 + 601;
	r.nonce_expires_at = T0 + 1200;
	keys[0].use_until = T0 + 4000;
	keys[0].accept_until = T0 + 5000;
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	assert_string_equal(store_reg_outcome_name(STORE_REG_REPLAY), "replay");
}

static void
test_register_kvno_clash(void **state)
{
	fixture *f = *state;
	const char *agent = "HTTP/www.example.org@" REALM;
	const char *svc = "host/db.example.org@" REALM;
	store_key keys[2] = { tk(7, 18, 1), tk(8, 18, 3) };
	store_key lt = make_key(1, 18, 5, 32);
	store_registration r = make_reg(agent, 0xc1, keys, 1);
	enum store_reg_outcome out;
	store_principal p, *got = NULL;
	bool seen = true;

	create_store(f);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	/* kvno 7 again with another enctype (and a new kvno 8 beside it). */
	keys[0] = tk(8, 17, 2);
	keys[1] = tk(7, 17, 2);
	r = make_reg(agent, 0xc2, keys, 2);
	assert_refused(f, &r, STORE_REG_KVNO_EXISTS);
	/* The refused request's nonce was not kept either. */
	assert_int_equal(store_nonce_seen(f->s, r.nonce, T0, &seen), LETHE_OK);
	assert_false(seen);

	/* A classic service: its long-term kvno 1 clashes too. */
	memset(&p, 0, sizeof(p));
	p.name = (char *)svc;
	p.kind = STORE_KIND_SERVICE;
	p.keys = &lt;
	p.nkeys = 1;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	keys[0] = tk(1, 17, 4);
	r = make_reg(svc, 0xc3, keys, 1);
	assert_refused(f, &r, STORE_REG_KVNO_EXISTS);
	/* kvno 2 is fine, and the service keeps its kind. */
	keys[0] = tk(2, 17, 4);
	r = make_reg(svc, 0xc4, keys, 1);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	assert_int_equal(store_principal_get(f->s, svc, &got), LETHE_OK);
	assert_int_equal(got->kind, STORE_KIND_SERVICE);
	assert_int_equal(got->nkeys, 2);
	store_principal_free(got);
}

/*
 * The same keys under a used kvno (an agent registering with each KDC of
 * a shared store) are a success that changes nothing but the nonce; any
 * difference (a key byte, an enctype, a window, a new kvno beside) stays
 * KVNO_EXISTS.
 */
static void
test_register_repeat(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www.example.org@" REALM;
	store_key keys[3] = { tk(7, 18, 1), tk(7, 17, 50), tk(8, 18, 9) };
	store_key forged[2];
	store_registration r = make_reg(name, 0xd1, keys, 2);
	enum store_reg_outcome out = STORE_REG_REPLAY;
	store_principal *p = NULL;
	uint64_t g;
	bool seen = false;

	create_store(f);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	g = generation(f->s);

	/* Again with a fresh nonce: ALREADY, no new generation, the nonce kept. */
	r = make_reg(name, 0xd2, keys, 2);
	r.now = T0 + 5;
	assert_refused(f, &r, STORE_REG_ALREADY);
	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_nonce_seen(f->s, r.nonce, T0 + 5, &seen), LETHE_OK);
	assert_true(seen);
	assert_refused(f, &r, STORE_REG_REPLAY);
	/* Listed in the other order: the same keys. */
	forged[0] = keys[1];
	forged[1] = keys[0];
	r = make_reg(name, 0xd3, forged, 2);
	assert_refused(f, &r, STORE_REG_ALREADY);

	/* One key byte differs: refused. */
	forged[0] = keys[0];
	forged[1] = keys[1];
	forged[1].key[15] ^= 0x01;
	r = make_reg(name, 0xd4, forged, 2);
	assert_refused(f, &r, STORE_REG_KVNO_EXISTS);
	/* One enctype of the two. */
	r = make_reg(name, 0xd5, keys, 1);
	assert_refused(f, &r, STORE_REG_KVNO_EXISTS);
	/* Another window. */
	forged[1] = keys[1];
	forged[1].accept_until += 1;
	r = make_reg(name, 0xd6, forged, 2);
	assert_refused(f, &r, STORE_REG_KVNO_EXISTS);
	/* The same keys and a new kvno beside them. */
	r = make_reg(name, 0xd7, keys, 3);
	assert_refused(f, &r, STORE_REG_KVNO_EXISTS);

	assert_int_equal(store_principal_get(f->s, name, &p), LETHE_OK);
	assert_int_equal(p->nkeys, 2);
	for (size_t i = 0; i < 2; i++)
		assert_memory_equal(p->keys[i].key, keys[i].key, keys[i].key_len);
	store_principal_free(p);
	assert_string_equal(store_reg_outcome_name(STORE_REG_ALREADY), "already");
}

static void
test_register_not_allowed(void **state)
{
	fixture *f = *state;
	store_key keys[1] = { tk(50, 18, 1) };
	store_registration r = make_reg("alice@" REALM, 0xd1, keys, 1);
	store_principal p, *got = NULL;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	assert_refused(f, &r, STORE_REG_NOT_ALLOWED);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &got), LETHE_OK);
	assert_int_equal(got->nkeys, 2);
	store_principal_free(got);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"krbtgt/" REALM "@" REALM;
	p.kind = STORE_KIND_KRBTGT;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	r = make_reg(p.name, 0xd2, keys, 1);
	assert_refused(f, &r, STORE_REG_NOT_ALLOWED);
	assert_int_equal(store_agent_get(f->s, p.name, &(store_agent *){ NULL }),
	    LETHE_ERR_NOT_FOUND);
}

static void
test_register_invalid(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www@" REALM;
	store_key keys[9];
	store_registration r;
	enum store_reg_outcome out;
	uint64_t g;

	create_store(f);
	g = generation(f->s);
	for (uint32_t i = 0; i < 9; i++)
		keys[i] = tk(10 + i, 18, (uint8_t)i);
	r = make_reg(name, 0xe1, keys, 9);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	r = make_reg(name, 0xe1, keys, 0);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	r = make_reg(name, 0xe1, keys, 1);
	r.registered_by = "CN=www";
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	r = make_reg(name, 0xe1, keys, 1);
	r.callback = "www example:1";
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	r = make_reg(name, 0xe1, keys, 1);
	r.nonce_expires_at = r.now;
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	r = make_reg("HTTP/www@OTHER", 0xe1, keys, 1);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	keys[1] = keys[0];
	r = make_reg(name, 0xe1, keys, 2);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	keys[0].use_until = T0;
	r = make_reg(name, 0xe1, keys, 1);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	keys[0].use_until = T0 + 100;
	keys[0].accept_until = T0 + 99;
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	keys[0].accept_until = T0 + 100;
	keys[0].key_len = 0;
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_INVALID);
	assert_int_equal(generation(f->s), g);
}

static void
test_audit(void **state)
{
	fixture *f = *state;
	store_key keys[2] = { tk(7, 18, 1), tk(6, 18, 2) };
	store_key lt = make_key(1, 18, 5, 32), lt2 = make_key(2, 17, 6, 16);
	store_registration r;
	enum store_reg_outcome out;
	store_audit_report *a = NULL;
	store_principal p;
	const store_audit_principal *ap;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"host/db@" REALM;
	p.kind = STORE_KIND_SERVICE;
	p.keys = &lt;
	p.nkeys = 1;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	keys[1].use_until = T0 + 10;
	keys[1].accept_until = T0 + 20;
	r = make_reg("HTTP/www@" REALM, 0xf1, keys, 2);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);

	assert_int_equal(store_audit(f->s, T0 + 15, &a), LETHE_OK);
	assert_int_equal(a->generation, generation(f->s));
	assert_int_equal(a->nprincipals, 3);
	ap = &a->principals[0];
	assert_string_equal(ap->name, "HTTP/www@" REALM);
	assert_int_equal(ap->kind, STORE_KIND_AGENT);
	assert_true(ap->agent_managed);
	assert_int_equal(ap->long_term_keys, 0);
	assert_int_equal(ap->nkeys, 2);
	assert_int_equal(ap->keys[0].kvno, 7);
	assert_int_equal(ap->keys[0].state, STORE_KEY_STATE_CURRENT);
	assert_string_equal(ap->keys[0].registered_by, SPKI_A);
	assert_int_equal(ap->keys[0].registered_at, T0);
	assert_int_equal(ap->keys[1].kvno, 6);
	assert_int_equal(ap->keys[1].state, STORE_KEY_STATE_ACCEPT_ONLY);
	ap = &a->principals[1];
	assert_string_equal(ap->name, "alice@" REALM);
	assert_false(ap->agent_managed);
	assert_int_equal(ap->long_term_keys, 2);
	ap = &a->principals[2];
	assert_string_equal(ap->name, "host/db@" REALM);
	assert_int_equal(ap->keys[0].state, STORE_KEY_STATE_LONG_TERM);
	assert_null(ap->keys[0].registered_by);
	/* Users' keys are not service keys. */
	assert_int_equal(a->long_term_service_keys, 1);
	assert_int_equal(a->nlong_term_service_principals, 1);
	assert_string_equal(a->long_term_service_principals[0], "host/db@" REALM);
	assert_int_equal(a->nagent_principals, 1);
	assert_string_equal(a->agent_principals[0], "HTTP/www@" REALM);
	assert_false(a->agent_long_term_present);
	store_audit_report_free(a);

	/* Later the short key has expired. */
	assert_int_equal(store_audit(f->s, T0 + 20, &a), LETHE_OK);
	assert_int_equal(a->principals[0].keys[1].state, STORE_KEY_STATE_EXPIRED);
	assert_string_equal(store_key_state_name(STORE_KEY_STATE_EXPIRED), "expired");
	store_audit_report_free(a);

	/* A long-term key on the agent principal is flagged. */
	assert_int_equal(store_keys_add(f->s, "HTTP/www@" REALM, &lt2, 1), LETHE_OK);
	assert_int_equal(store_audit(f->s, T0, &a), LETHE_OK);
	assert_true(a->agent_long_term_present);
	assert_int_equal(a->long_term_service_keys, 2);
	assert_int_equal(a->nlong_term_service_principals, 2);
	assert_string_equal(a->long_term_service_principals[0], "HTTP/www@" REALM);
	store_audit_report_free(a);

	/* An empty store has nothing to report. */
	assert_int_equal(store_principal_delete(f->s, "HTTP/www@" REALM), LETHE_OK);
	assert_int_equal(store_principal_delete(f->s, "host/db@" REALM), LETHE_OK);
	assert_int_equal(store_audit(f->s, T0, &a), LETHE_OK);
	assert_int_equal(a->long_term_service_keys, 0);
	assert_int_equal(a->nagent_principals, 0);
	assert_int_equal(a->nprincipals, 1);
	store_audit_report_free(a);

	/* kadmin/changepw, the KDC's own kpasswd service, is no application server. */
	assert_int_equal(store_changepw_add(f->s), LETHE_OK);
	assert_int_equal(store_audit(f->s, T0, &a), LETHE_OK);
	assert_int_equal(a->nprincipals, 2);
	assert_int_equal(a->long_term_service_keys, 0);
	assert_int_equal(a->nlong_term_service_principals, 0);
	store_audit_report_free(a);
}

/* Turn f's v5 store into the v4 file the previous code wrote: no password policies. */
static void
downgrade_to_v4(fixture *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "BEGIN; DROP TABLE password_history; DROP TABLE password_policies; "
	    "ALTER TABLE principals DROP COLUMN policy; "
	    "ALTER TABLE principals DROP COLUMN password_expires_at; "
	    "UPDATE schema_version SET version = 4; COMMIT;",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Turn f's v5 store into the v3 file the code before that wrote: no callbacks either. */
static void
downgrade_to_v3(fixture *f)
{
	sqlite3 *db = NULL;

	downgrade_to_v4(f);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "BEGIN; ALTER TABLE reg_rules DROP COLUMN callbacks; "
	    "UPDATE schema_version SET version = 3; COMMIT;",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * Turn f's v5 store into the v2 file the code before that wrote: no feed,
 * and the v2 attribute defaults (users without no_service, other kinds
 * without requires_preauth).
 */
static void
downgrade_to_v2(fixture *f)
{
	sqlite3 *db = NULL;

	downgrade_to_v3(f);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "BEGIN; DROP TABLE changes; DROP TABLE feed; DROP INDEX keys_temporary_end; "
	    "UPDATE principals SET attributes = attributes & ~64 "
	    "WHERE kind = 'user'; "
	    "UPDATE principals SET attributes = attributes & ~1 "
	    "WHERE kind <> 'user'; "
	    "UPDATE schema_version SET version = 2; COMMIT;",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Turn f's v3 store into the v1 file the code before that wrote. */
static void
downgrade_to_v1(fixture *f)
{
	sqlite3 *db = NULL;

	downgrade_to_v2(f);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "BEGIN; DROP TABLE agents; DROP TABLE seen_nonces; "
	    "DROP TABLE service_policy; DROP TABLE reg_policy; "
	    "DROP TABLE reg_rules; DROP TABLE trust_anchors; "
	    "UPDATE schema_version SET version = 1; COMMIT;",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_upgrade_from_v1(void **state)
{
	fixture *f = *state;
	store_key keys[1] = { tk(7, 18, 1) };
	store_registration r = make_reg("HTTP/www@" REALM, 0x11, keys, 1);
	enum store_reg_outcome out;
	store_reg_policy rp;
	store_principal *p = NULL;
	store_master_key wrong;
	uint64_t g;

	create_store(f);
	add_user(f->s, "alice@" REALM, 7);
	store_close(f->s);
	f->s = NULL;
	downgrade_to_v1(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), 1);
	/* A wrong master key does not upgrade anything. */
	assert_int_equal(store_master_key_generate(&wrong), LETHE_OK);
	assert_int_equal(store_open(f->db, &wrong, &f->s, NULL, 0, NULL),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), 1);
	g = (uint64_t)raw_int(f->db, "SELECT value FROM generation");

	assert_int_equal(store_open(f->db, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), 5);
	assert_int_equal(generation(f->s), g + 1);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM principals "
	    "WHERE name = 'kadmin/changepw@" REALM "'"), 1);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM sqlite_master "
	    "WHERE name IN ('trust_anchors', 'reg_rules', 'reg_policy', "
	    "'service_policy', 'seen_nonces', 'agents', 'changes', 'feed')"), 8);
	assert_int_equal(raw_int(f->db, "SELECT floor_generation FROM feed"), g);
	assert_int_equal(store_reg_policy_get(f->s, &rp), LETHE_OK);
	assert_true(rp.auto_enrol);
	assert_int_equal(rp.max_use_window, STORE_DEFAULT_MAX_USE_WINDOW);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_int_equal(p->nkeys, 2);
	assert_int_equal(p->keys[0].key[0], 7);
	assert_int_equal(p->attributes, STORE_ATTR_DEFAULT_USER);
	store_principal_free(p);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	/* Opening again does not upgrade twice. */
	g = generation(f->s);
	reopen(f);
	assert_int_equal(generation(f->s), g);

	/* A version from the future is refused. */
	store_close(f->s);
	f->s = NULL;
	raw_sql(f->db, "UPDATE schema_version SET version = 6");
	assert_int_equal(store_open(f->db, &f->mk, &f->s, NULL, 0, NULL),
	    LETHE_ERR_FORMAT);
}

/* A v3 store's rules survive the upgrade to v4 without callbacks; new ones take them. */
static void
test_upgrade_from_v3(void **state)
{
	fixture *f = *state;
	store_reg_rules *rl = NULL;
	int64_t id = 0;
	uint64_t g;

	create_store(f);
	assert_int_equal(store_reg_rule_add(f->s, STORE_ID_SAN, "DNS:a.example",
	    "host/a.example@" REALM, NULL), LETHE_OK);
	store_close(f->s);
	f->s = NULL;
	downgrade_to_v3(f);
	g = (uint64_t)raw_int(f->db, "SELECT value FROM generation");
	assert_int_equal(store_open(f->db, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), 5);
	assert_int_equal(generation(f->s), g + 1);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:a.example",
	    "HTTP/a.example@" REALM, "192.0.2.7:8888", &id), LETHE_OK);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_int_equal(rl->count, 2);
	assert_null(rl->entries[0].callbacks);
	assert_string_equal(rl->entries[1].callbacks, "192.0.2.7:8888");
	store_reg_rules_free(rl);
}

/* Callback hosts of rules: parsed, stored canonical and once, matched by host and port. */
static void
test_rule_callbacks(void **state)
{
	static const char *const bad[] = {
		"cb.example.com", "192.0.2.7:", "192.0.2.7:0", "192.0.2.7:65536",
		"192.0.2.7:+80", "192.0.2.300", "[2001:db8::1", "[2001:db8::1]x",
		"2001:db8::1:80x", "[192.0.2.7]", " 192.0.2.7", "",
	};
	fixture *f = *state;
	char host[STORE_CALLBACK_HOST_MAX];
	store_reg_rules *rl = NULL;
	uint16_t port = 1;
	int64_t id = 0;

	assert_int_equal(store_callback_parse("192.0.2.7", host, &port), LETHE_OK);
	assert_string_equal(host, "192.0.2.7");
	assert_int_equal(port, 0);
	assert_int_equal(store_callback_parse("[2001:DB8:0::7]:8888", host, &port), LETHE_OK);
	assert_string_equal(host, "[2001:db8::7]");
	assert_int_equal(port, 8888);
	assert_int_equal(store_callback_parse("2001:db8::7", host, &port), LETHE_OK);
	assert_string_equal(host, "[2001:db8::7]");
	assert_int_equal(port, 0);
	assert_int_equal(store_callback_parse("[::ffff:192.0.2.7]:9", host, &port), LETHE_OK);
	assert_string_equal(host, "192.0.2.7");
	assert_int_equal(port, 9);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_callback_parse(bad[i], host, &port), LETHE_ERR_FORMAT);

	assert_true(store_callbacks_permit("192.0.2.7 [2001:db8::7]:8888", "192.0.2.7", 1));
	assert_true(store_callbacks_permit("192.0.2.7 [2001:db8::7]:8888", "[2001:db8::7]",
	    8888));
	assert_false(store_callbacks_permit("192.0.2.7 [2001:db8::7]:8888", "[2001:db8::7]",
	    8889));
	assert_false(store_callbacks_permit("192.0.2.70", "192.0.2.7", 1));
	assert_false(store_callbacks_permit(NULL, "192.0.2.7", 1));

	create_store(f);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:a.example",
	    "host/a.example@" REALM, "[2001:DB8::7]:8888  192.0.2.7 [2001:db8:0::7]:8888",
	    &id), LETHE_OK);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:b.example",
	    "*", "cb.example.com", NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_INVALID);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:b.example",
	    "*", "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 "
	    "192.0.2.8 192.0.2.9", NULL), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_reg_rule_add_callbacks(f->s, STORE_ID_SAN, "DNS:c.example",
	    "*", "", NULL), LETHE_OK);
	assert_int_equal(store_reg_rule_list(f->s, &rl), LETHE_OK);
	assert_int_equal(rl->count, 2);
	assert_int_equal(rl->entries[0].id, id);
	assert_string_equal(rl->entries[0].callbacks, "[2001:db8::7]:8888 192.0.2.7");
	assert_null(rl->entries[1].callbacks);
	store_reg_rules_free(rl);
}

/* ------------------------------------------------------------ v3: change feed */

/* The changes after since (max 100): asserts the call works. */
static store_changes *
changes(fixture *f, uint64_t since)
{
	store_changes *c = NULL;

	assert_int_equal(store_changes_since(f->s, since, 100, &c), LETHE_OK);
	assert_non_null(c);
	assert_int_equal(c->generation, generation(f->s));
	return c;
}

/* The changes after since are exactly the principal name, one commit. */
static void
assert_one_change(fixture *f, uint64_t since, const char *name)
{
	store_changes *c = changes(f, since);

	assert_true(c->complete);
	assert_int_equal(c->count, 1);
	assert_int_equal(c->generation, since + 1);
	assert_int_equal(c->entries[0].generation, since + 1);
	assert_string_equal(c->entries[0].principal, name);
	store_changes_free(c);
}

/* The changes after since need a full reload. */
static void
assert_reload(fixture *f, uint64_t since)
{
	store_changes *c = changes(f, since);

	assert_false(c->complete);
	assert_int_equal(c->count, 0);
	assert_null(c->entries);
	store_changes_free(c);
}

static void
test_feed_names_each_change(void **state)
{
	fixture *f = *state;
	const char *alice = "alice@" REALM, *www = "HTTP/www@" REALM;
	store_key keys[1] = { tk(7, 18, 1) };
	store_registration r = make_reg(www, 0x31, keys, 1);
	store_service_policy sp = { .allow_pubkey_tickets = true };
	enum store_reg_outcome out;
	store_changes *c = NULL;
	store_key k = make_key(0, 18, 9, 32);
	store_key tkey = tk(3, 18, 4);
	uint64_t g;

	tkey.accept_until += 100;    /* outlives www's key */
	create_store(f);
	/* The store's creation is realm-wide. */
	assert_reload(f, 0);
	g = generation(f->s);
	c = changes(f, g);
	assert_true(c->complete);
	assert_int_equal(c->count, 0);
	store_changes_free(c);

	add_user(f->s, alice, 1);
	assert_one_change(f, g++, alice);
	assert_int_equal(store_principal_rekey(f->s, alice, &k, 1, NULL), LETHE_OK);
	assert_one_change(f, g++, alice);
	assert_int_equal(store_keys_add(f->s, alice, &tkey, 1), LETHE_OK);
	assert_one_change(f, g++, alice);
	assert_int_equal(store_principal_set_attributes(f->s, alice,
	    STORE_ATTR_DISABLED, 0), LETHE_OK);
	assert_one_change(f, g++, alice);
	assert_int_equal(store_principal_set_limits(f->s, alice, 60, 0, 0),
	    LETHE_OK);
	assert_one_change(f, g++, alice);
	/* A principal that does not exist (yet) still names its change. */
	assert_int_equal(store_service_policy_set(f->s, www, &sp), LETHE_OK);
	assert_one_change(f, g++, www);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	assert_one_change(f, g++, www);
	assert_int_equal(store_keys_purge_expired(f->s, T0 + 3600 + 36000, NULL),
	    LETHE_OK);
	assert_one_change(f, g++, www);
	assert_int_equal(store_principal_delete(f->s, alice), LETHE_OK);
	assert_one_change(f, g++, alice);
	/* Refusals and failures change nothing, nor does a nonce purge. */
	assert_int_equal(store_principal_delete(f->s, alice), LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_REPLAY);
	assert_int_equal(store_nonces_purge(f->s, T0 + 601, NULL), LETHE_OK);
	assert_int_equal(generation(f->s), g);

	/* Several commits, in order. */
	add_user(f->s, "bob@" REALM, 2);
	add_user(f->s, "carol@" REALM, 3);
	c = changes(f, g);
	assert_true(c->complete);
	assert_int_equal(c->count, 2);
	assert_int_equal(c->entries[0].generation, g + 1);
	assert_string_equal(c->entries[0].principal, "bob@" REALM);
	assert_int_equal(c->entries[1].generation, g + 2);
	assert_string_equal(c->entries[1].principal, "carol@" REALM);
	store_changes_free(c);
	/* More rows than max: reload. */
	assert_int_equal(store_changes_since(f->s, g, 1, &c), LETHE_OK);
	assert_false(c->complete);
	assert_int_equal(c->count, 0);
	store_changes_free(c);
	/* A realm-wide change in the range: reload; after it, complete. */
	g += 2;
	assert_int_equal(store_anchor_add(f->s, "ca1",
	    LBYTES_LIT("-----BEGIN CERTIFICATE-----\n")), LETHE_OK);
	add_user(f->s, "dave@" REALM, 4);
	assert_reload(f, g);
	assert_one_change(f, g + 1, "dave@" REALM);
	/* A generation the store never had: reload. */
	assert_reload(f, g + 5);
	assert_int_equal(store_changes_since(f->s, 0, 10, NULL),
	    LETHE_ERR_INVALID_ARG);
	store_changes_free(NULL);
}

/* More than STORE_MAX_NOTED principals in one commit: realm-wide. */
static void
test_feed_many_names_realm_wide(void **state)
{
	fixture *f = *state;
	store_key keys[1];
	store_principal p;
	char name[64];
	uint64_t g;
	size_t deleted = 0;

	create_store(f);
	for (int i = 0; i < 70; i++) {
		snprintf(name, sizeof(name), "HTTP/h%02d@" REALM, i);
		memset(&p, 0, sizeof(p));
		p.name = name;
		p.kind = STORE_KIND_AGENT;
		keys[0] = tk(1, 18, (uint8_t)i);
		keys[0].accept_until = T0 + 10;
		keys[0].use_until = T0 + 5;
		p.keys = keys;
		p.nkeys = 1;
		assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	}
	g = generation(f->s);
	assert_int_equal(store_keys_purge_expired(f->s, T0 + 10, &deleted),
	    LETHE_OK);
	assert_int_equal(deleted, 70);
	assert_int_equal(generation(f->s), g + 1);
	assert_reload(f, g);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM changes "
	    "WHERE generation = (SELECT value FROM generation) "
	    "AND principal IS NULL"), 1);
}

static void
test_upgrade_from_v2(void **state)
{
	fixture *f = *state;
	store_key keys[1] = { tk(7, 18, 1) };
	store_registration r = make_reg("HTTP/www@" REALM, 0x41, keys, 1);
	enum store_reg_outcome out;
	store_principal *p = NULL, svc;
	store_changes *c = NULL;
	uint64_t g;

	create_store(f);
	add_user(f->s, "alice@" REALM, 7);
	memset(&svc, 0, sizeof(svc));
	svc.name = (char *)"host/db@" REALM;
	svc.kind = STORE_KIND_SERVICE;
	svc.attributes = STORE_ATTR_ALLOW_FORWARDABLE;
	assert_int_equal(store_principal_add(f->s, &svc), LETHE_OK);
	svc.name = (char *)"krbtgt/" REALM "@" REALM;
	svc.kind = STORE_KIND_KRBTGT;
	svc.attributes = 0;
	assert_int_equal(store_principal_add(f->s, &svc), LETHE_OK);
	svc.name = (char *)"host/db@" REALM;
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	store_close(f->s);
	f->s = NULL;
	downgrade_to_v2(f);
	assert_int_equal(raw_int(f->db, "SELECT attributes FROM principals "
	    "WHERE name = 'alice@" REALM "'"), STORE_ATTR_DEFAULT_USER &
	    ~STORE_ATTR_NO_SERVICE);
	g = (uint64_t)raw_int(f->db, "SELECT value FROM generation");

	assert_int_equal(store_open(f->db, &f->mk, &f->s, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), 5);
	assert_int_equal(generation(f->s), g + 1);
	assert_int_equal(raw_int(f->db, "SELECT floor_generation FROM feed"), g);
	/* The migration: users no_service, every other kind requires_preauth. */
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_int_equal(p->attributes, STORE_ATTR_DEFAULT_USER);
	store_principal_free(p);
	assert_int_equal(store_principal_get(f->s, svc.name, &p), LETHE_OK);
	assert_int_equal(p->attributes, STORE_ATTR_ALLOW_FORWARDABLE |
	    STORE_ATTR_REQUIRES_PREAUTH);
	store_principal_free(p);
	assert_int_equal(store_principal_get(f->s, r.principal, &p), LETHE_OK);
	assert_int_equal(p->attributes, STORE_ATTR_DEFAULT_SERVICE);
	store_principal_free(p);
	assert_int_equal(raw_int(f->db, "SELECT attributes FROM principals "
	    "WHERE kind = 'krbtgt'"), STORE_ATTR_REQUIRES_PREAUTH);
	/* The upgrade is realm-wide; below the floor is unknown; after: complete. */
	assert_reload(f, g);
	assert_reload(f, g - 1);
	c = changes(f, g + 1);
	assert_true(c->complete);
	assert_int_equal(c->count, 0);
	store_changes_free(c);
	add_user(f->s, "bob@" REALM, 8);
	assert_one_change(f, g + 1, "bob@" REALM);
	/* Not upgraded twice. */
	g = generation(f->s);
	reopen(f);
	assert_int_equal(generation(f->s), g);
}

/* ------------------------------------------------------------ v3: bounded walk */

typedef struct bad_seen {
	size_t visited;
	size_t bad;
	char names[4][64];
	lethe_status rcs[4];
	char why[4][STORE_ERRMSG_TEST_LEN];
} bad_seen;

static lethe_status
count_cb(void *ctx, const store_principal *p)
{
	bad_seen *b = ctx;

	assert_true(p->nkeys <= STORE_MAX_KEYS);
	b->visited++;
	return LETHE_OK;
}

static void
bad_cb(void *ctx, const char *name, lethe_status rc, const char *why)
{
	bad_seen *b = ctx;

	assert_true(b->bad < 4);
	snprintf(b->names[b->bad], sizeof(b->names[0]), "%s", name);
	snprintf(b->why[b->bad], sizeof(b->why[0]), "%s", why);
	b->rcs[b->bad++] = rc;
}

/* Give name n temporary keys, kvnos from first, in calls of at most 200. */
static void
add_many_keys(fixture *f, const char *name, uint32_t first, size_t n,
    int64_t accept_until)
{
	static store_key keys[200];

	while (n > 0) {
		size_t chunk = n < 200 ? n : 200;

		for (size_t i = 0; i < chunk; i++) {
			keys[i] = tk(first + (uint32_t)i, 18, (uint8_t)i);
			keys[i].use_until = accept_until;
			keys[i].accept_until = accept_until;
		}
		assert_int_equal(store_keys_add(f->s, name, keys, chunk), LETHE_OK);
		first += (uint32_t)chunk;
		n -= chunk;
	}
}

static void
test_foreach_skips_unreadable(void **state)
{
	fixture *f = *state;
	store_principal p, *got = NULL;
	bad_seen b;
	uint64_t gen = 0;

	create_store(f);
	add_user(f->s, "alice@" REALM, 1);
	memset(&p, 0, sizeof(p));
	p.name = (char *)"HTTP/big@" REALM;
	p.kind = STORE_KIND_AGENT;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	add_many_keys(f, p.name, 1000, 300, T0 + 3600);
	add_user(f->s, "bob@" REALM, 2);
	add_user(f->s, "carol@" REALM, 3);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM keys k JOIN "
	    "principals p ON p.id = k.principal_id WHERE p.name = 'HTTP/big@"
	    REALM "'"), 300);
	/* bob's key blob moved to another kvno: it does not decrypt. */
	store_close(f->s);
	f->s = NULL;
	raw_sql(f->db, "UPDATE keys SET kvno = 9 WHERE enctype = 17 AND "
	    "principal_id = (SELECT id FROM principals WHERE name = 'bob@"
	    REALM "')");
	reopen(f);

	memset(&b, 0, sizeof(b));
	assert_int_equal(store_principal_foreach_ex(f->s, count_cb, bad_cb, &b,
	    &gen), LETHE_OK);
	assert_int_equal(b.visited, 2);        /* alice, carol */
	assert_int_equal(b.bad, 2);
	assert_string_equal(b.names[0], "HTTP/big@" REALM);
	assert_int_equal(b.rcs[0], LETHE_ERR_TOO_BIG);
	assert_non_null(strstr(b.why[0], "256"));
	assert_string_equal(b.names[1], "bob@" REALM);
	assert_int_equal(b.rcs[1], LETHE_ERR_BAD_INTEGRITY);
	assert_non_null(strstr(b.why[1], "does not decrypt"));
	assert_int_equal(gen, generation(f->s));
	assert_string_equal(store_errmsg(f->s), "");

	/* Without an error callback: the same walk, silently. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(store_principal_foreach(f->s, count_cb, &b, NULL),
	    LETHE_OK);
	assert_int_equal(b.visited, 2);
	/* A lookup of the bad one still fails. */
	assert_int_equal(store_principal_get(f->s, "HTTP/big@" REALM, &got),
	    LETHE_ERR_TOO_BIG);
	assert_null(got);
}

/* ------------------------------------------------------------ v3: bounded registration */

static void
test_register_too_many_keys(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www@" REALM;
	store_key keys[4] = { tk(7, 18, 1), tk(8, 18, 2), tk(9, 18, 3),
	    tk(10, 18, 4) };
	store_registration r = make_reg(name, 0x51, keys, 4);
	enum store_reg_outcome out;
	store_principal p;

	create_store(f);
	memset(&p, 0, sizeof(p));
	p.name = (char *)name;
	p.kind = STORE_KIND_AGENT;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	/* 252 live keys and 10 expired at T0 (accept_until == T0). */
	add_many_keys(f, name, 1000, 252, T0 + 7200);
	add_many_keys(f, name, 2000, 10, T0);
	/* 252 + 4 fit once the expired ten are gone. */
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM keys"), 256);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM keys "
	    "WHERE kvno >= 2000"), 0);
	/* One more does not: refused, the store as it was. */
	keys[0] = tk(11, 18, 5);
	r = make_reg(name, 0x52, keys, 1);
	assert_refused(f, &r, STORE_REG_TOO_MANY_KEYS);
	assert_string_equal(store_reg_outcome_name(STORE_REG_TOO_MANY_KEYS),
	    "too-many-keys");
}

/* ------------------------------------------------------------ v3: maintenance */

/* The key_blob of kvno of name, read from the file (n bytes into buf). */
static size_t
raw_blob(const char *path, const char *name, uint32_t kvno, uint8_t *buf,
    size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT k.key_blob FROM keys k "
	    "JOIN principals p ON p.id = k.principal_id WHERE p.name = ?1 "
	    "AND k.kvno = ?2", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, kvno);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(n > 0 && n <= cap);
	memcpy(buf, sqlite3_column_blob(st, 0), n);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void
test_maintain_removes_expired_bytes(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www@" REALM;
	store_key keys[3];
	store_key nk[1] = { tk(50, 18, 0x11) };
	store_registration r = make_reg(name, 0x61, nk, 1);
	enum store_reg_outcome out;
	uint8_t blobs[2][128];
	size_t blob_len[2];
	store_maint_report rep;
	store_audit_report *a = NULL;
	store_principal p;
	char wal[160];
	uint64_t g;
	int64_t now = T0 + 100;

	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	create_store(f);
	memset(&p, 0, sizeof(p));
	p.name = (char *)name;
	p.kind = STORE_KIND_AGENT;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	/* Two keys past accept_until at now (one exactly at it), one live. */
	keys[0] = make_key(1, 18, 0xa0, 32);
	keys[1] = make_key(2, 18, 0xc0, 32);
	keys[2] = make_key(3, 18, 0xe0, 32);
	for (int i = 0; i < 3; i++) {
		keys[i].kind = STORE_KEY_TEMPORARY;
		keys[i].use_until = T0 + 10;
	}
	keys[0].accept_until = T0 + 50;
	keys[1].accept_until = now;
	keys[2].accept_until = now + 1;
	assert_int_equal(store_keys_add(f->s, name, keys, 3), LETHE_OK);
	assert_int_equal(store_register_keys(f->s, &r, &out), LETHE_OK);
	assert_int_equal(out, STORE_REG_OK);
	for (int i = 0; i < 2; i++)
		blob_len[i] = raw_blob(f->db, name, (uint32_t)(i + 1), blobs[i],
		    sizeof(blobs[i]));
	assert_true(file_contains(wal, blobs[0], blob_len[0]));
	/* Closing moves everything into the database file. */
	reopen(f);
	assert_true(file_contains(f->db, blobs[0], blob_len[0]));
	assert_true(file_contains(f->db, blobs[1], blob_len[1]));
	g = generation(f->s);

	assert_int_equal(store_maintain(f->s, now, &rep), LETHE_OK);
	assert_int_equal(rep.keys_deleted, 2);
	assert_int_equal(rep.principals_touched, 1);
	assert_int_equal(rep.nonces_deleted, 0);
	assert_int_equal(rep.changes_trimmed, 0);
	assert_true(rep.checkpointed);
	assert_false(rep.checkpoint_busy);
	assert_one_change(f, g, name);
	/* Neither the sealed blobs nor the key bytes are in either file. */
	for (int i = 0; i < 2; i++) {
		assert_false(file_contains(f->db, blobs[i], blob_len[i]));
		assert_false(file_contains(wal, blobs[i], blob_len[i]));
		assert_false(file_contains(f->db, keys[i].key, 16));
		assert_false(file_contains(wal, keys[i].key, 16));
	}
	assert_int_equal(store_audit(f->s, now, &a), LETHE_OK);
	assert_int_equal(a->nprincipals, 1);
	assert_int_equal(a->principals[0].nkeys, 2);   /* kvno 3 and 50 */
	for (size_t i = 0; i < a->principals[0].nkeys; i++)
		assert_int_not_equal(a->principals[0].keys[i].state,
		    STORE_KEY_STATE_EXPIRED);
	store_audit_report_free(a);

	/* Nothing left to do: no commit, no generation. */
	g = generation(f->s);
	assert_int_equal(store_maintain(f->s, now, &rep), LETHE_OK);
	assert_int_equal(rep.keys_deleted + rep.nonces_deleted +
	    rep.changes_trimmed, 0);
	assert_false(rep.checkpointed);
	assert_int_equal(generation(f->s), g);

	/* Later kvno 3 and the nonce go, then a day later every feed row. */
	assert_int_equal(store_maintain(f->s, T0 + 600, &rep), LETHE_OK);
	assert_int_equal(rep.nonces_deleted, 1);
	assert_int_equal(rep.keys_deleted, 1);
	assert_true(rep.checkpointed);
	assert_int_equal(generation(f->s), ++g);
	/* (kvno 50, accepted until T0 + 11 h, goes too: a new change.) */
	assert_int_equal(store_maintain(f->s, (int64_t)time(NULL) +
	    STORE_FEED_KEEP_SECONDS + 10, &rep), LETHE_OK);
	assert_int_equal(rep.changes_trimmed, g);     /* one row per commit */
	assert_int_equal(raw_int(f->db, "SELECT floor_generation FROM feed"), g);
	assert_int_equal(rep.keys_deleted, 1);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM changes"), 1);
	assert_reload(f, g - 1);
	assert_one_change(f, g, name);
}

/* A reader holding the WAL: the keys go, the checkpoint reports busy. */
static void
test_maintain_checkpoint_busy(void **state)
{
	fixture *f = *state;
	const char *name = "HTTP/www@" REALM;
	store_key k = tk(1, 18, 0x21);
	store_maint_report rep;
	store_principal p;
	sqlite3 *reader = NULL;

	create_store(f);
	memset(&p, 0, sizeof(p));
	p.name = (char *)name;
	p.kind = STORE_KIND_AGENT;
	k.use_until = k.accept_until = T0 + 1;
	p.keys = &k;
	p.nkeys = 1;
	assert_int_equal(store_principal_add(f->s, &p), LETHE_OK);
	assert_int_equal(sqlite3_open_v2(f->db, &reader, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM keys;",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_maintain(f->s, T0 + 2, &rep), LETHE_OK);
	assert_int_equal(rep.keys_deleted, 1);
	assert_false(rep.checkpointed);
	assert_true(rep.checkpoint_busy);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM keys"), 0);
}

/* ------------------------------------------------------------ bulk add */

#define BULK_N 70u /* more than STORE_MAX_NOTED (64) */

/* Principals "bulkK@REALM" for K < n, two keys each, built into the caller's arrays. */
static void
bulk_list(store_principal *p, store_key (*keys)[2], char (*names)[48], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "bulk%u@" REALM, (unsigned)(i % 1000));
		keys[i][0] = make_key(1, 18, (uint8_t)i, 32);
		keys[i][1] = make_key(1, 17, (uint8_t)(i + 7), 16);
		memset(&p[i], 0, sizeof(p[i]));
		p[i].name = names[i];
		p[i].kind = STORE_KIND_USER;
		p[i].attributes = STORE_ATTR_DEFAULT_USER;
		p[i].keys = keys[i];
		p[i].nkeys = 2;
	}
}

/*
 * store_principal_add_many: one generation for the lot; the feed names
 * each of a few, and is realm-wide past STORE_MAX_NOTED; all or none
 * when a name exists (in the store or twice in the list) or an entry is
 * invalid.
 */
static void
test_principal_add_many(void **state)
{
	fixture *f = *state;
	static store_principal p[BULK_N];
	static store_key keys[BULK_N][2];
	static char names[BULK_N][48];
	store_principal *got = NULL;
	store_name_list *list = NULL;
	store_changes *c;
	uint64_t g;

	create_store(f);
	bulk_list(p, keys, names, BULK_N);

	/* Three: one commit that names each. */
	g = generation(f->s);
	assert_int_equal(store_principal_add_many(f->s, p, 3), LETHE_OK);
	assert_int_equal(generation(f->s), g + 1);
	c = changes(f, g);
	assert_true(c->complete);
	assert_int_equal(c->count, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(c->entries[i].generation, g + 1);
		assert_non_null(c->entries[i].principal);
	}
	store_changes_free(c);
	assert_int_equal(store_principal_get(f->s, "bulk2@" REALM, &got), LETHE_OK);
	assert_int_equal(got->nkeys, 2);
	assert_memory_equal(got->keys[0].key, keys[2][0].key, 32);
	store_principal_free(got);

	/* One that exists (bulk2) among new ones: nothing added, no commit. */
	g = generation(f->s);
	assert_int_equal(store_principal_add_many(f->s, p + 2, 4), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_principal_get(f->s, "bulk3@" REALM, &got), LETHE_ERR_NOT_FOUND);

	/* A name twice in the list. */
	p[4].name = names[3];
	assert_int_equal(store_principal_add_many(f->s, p + 3, 2), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(store_principal_get(f->s, "bulk3@" REALM, &got), LETHE_ERR_NOT_FOUND);
	p[4].name = names[4];

	/* An invalid entry last: refused before anything is written. */
	p[BULK_N - 1].name = (char *)"bulk@OTHER.REALM";
	assert_int_equal(store_principal_add_many(f->s, p + 3, BULK_N - 3),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_INVALID);
	assert_int_equal(generation(f->s), g);
	p[BULK_N - 1].name = names[BULK_N - 1];

	/* More than STORE_MAX_NOTED in one call: one realm-wide change. */
	assert_int_equal(store_principal_add_many(f->s, p + 3, BULK_N - 3), LETHE_OK);
	assert_int_equal(generation(f->s), g + 1);
	assert_reload(f, g);
	assert_int_equal(store_principal_list(f->s, &list), LETHE_OK);
	assert_int_equal(list->count, BULK_N);
	store_name_list_free(list);

	assert_int_equal(store_principal_add_many(f->s, p, 0), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_principal_add_many(f->s, NULL, 1), LETHE_ERR_INVALID_ARG);
}

/*
 * store_principal_import_fresh (lethe-admin import-mit): only into a
 * store that holds nothing but the realm's krbtgt, whose keys the
 * import's replace; the list must hold that krbtgt; all or nothing, one
 * generation.
 */
static void
test_principal_import_fresh(void **state)
{
	fixture *f = *state;
	static const char *const names[3] = { NULL, "imp1@" REALM, "imp2@" REALM };
	store_principal p[3];
	store_key keys[3];
	store_key tgt_old = make_key(1, 18, 0x11, 32), tgt_new = make_key(7, 18, 0x77, 32);
	store_principal tgt = { .name = (char *)"krbtgt/" REALM "@" REALM,
		.kind = STORE_KIND_KRBTGT, .attributes = STORE_ATTR_DEFAULT_SERVICE,
		.keys = &tgt_old, .nkeys = 1 };
	store_principal *got = NULL;
	uint64_t g;

	create_store(f);
	assert_int_equal(store_principal_add(f->s, &tgt), LETHE_OK);
	for (size_t i = 1; i < 3; i++) {
		keys[i] = make_key(1, 18, (uint8_t)(0x30 + i), 32);
		p[i] = (store_principal){ .name = (char *)names[i],
			.kind = STORE_KIND_USER, .attributes = STORE_ATTR_DEFAULT_USER,
			.keys = &keys[i], .nkeys = 1 };
	}

	/* No krbtgt in the list: refused before anything is written. */
	g = generation(f->s);
	assert_int_equal(store_principal_import_fresh(f->s, p + 1, 2), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_INVALID);
	assert_int_equal(generation(f->s), g);

	/* A store holding another principal is not fresh: nothing changes. */
	assert_int_equal(store_principal_add(f->s, &p[2]), LETHE_OK);
	g = generation(f->s);
	p[0] = tgt;
	p[0].keys = &tgt_new;
	assert_int_equal(store_principal_import_fresh(f->s, p, 2), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(generation(f->s), g);
	assert_int_equal(store_principal_get(f->s, tgt.name, &got), LETHE_OK);
	assert_int_equal(got->keys[0].kvno, 1);
	assert_memory_equal(got->keys[0].key, tgt_old.key, 32);
	store_principal_free(got);
	assert_int_equal(store_principal_delete(f->s, p[2].name), LETHE_OK);

	/* Fresh: the krbtgt's keys are the import's, with its kvno. */
	g = generation(f->s);
	assert_int_equal(store_principal_import_fresh(f->s, p, 3), LETHE_OK);
	assert_int_equal(generation(f->s), g + 1);
	assert_int_equal(store_principal_get(f->s, tgt.name, &got), LETHE_OK);
	assert_int_equal(got->nkeys, 1);
	assert_int_equal(got->keys[0].kvno, 7);
	assert_memory_equal(got->keys[0].key, tgt_new.key, 32);
	store_principal_free(got);
	assert_int_equal(store_principal_get(f->s, p[2].name, &got), LETHE_OK);
	assert_memory_equal(got->keys[0].key, keys[2].key, 32);
	store_principal_free(got);

	/* Not fresh any more. */
	assert_int_equal(store_principal_import_fresh(f->s, p, 3), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(generation(f->s), g + 1);
}

/* ------------------------------------------------------------ v5: password policy */

/* store_principal_set_password's verdict for name and pw (the call must work). */
static enum store_pw_verdict
set_pw(fixture *f, const char *name, const char *pw, uint32_t *kvno)
{
	enum store_pw_verdict v = STORE_PW_OK;
	char why[200];

	assert_int_equal(store_principal_set_password(f->s, name, pw, kvno, &v, why,
	    sizeof(why)), LETHE_OK);
	assert_true((v == STORE_PW_OK) == (why[0] == '\0'));
	return v;
}

static void
test_password_policy(void **state)
{
	fixture *f = *state;
	store_pw_policy pol = { .min_length = 10, .min_classes = 3, .history = 2,
		.max_age = 3600 }, got, *list = NULL;
	store_principal *p = NULL;
	enum store_pw_verdict v;
	uint32_t kvno = 0;
	size_t n = 0;
	char why[200];
	int64_t t0;

	create_store(f);
	add_user(f->s, "alice@" REALM, 7);
	strcpy(pol.name, "strict");
	assert_int_equal(store_pw_policy_put(f->s, &pol, true), LETHE_OK);
	assert_int_equal(store_pw_policy_put(f->s, &pol, true), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_error_kind(f->s), STORE_E_EXISTS);
	assert_int_equal(store_principal_set_policy(f->s, "alice@" REALM, "nope"),
	    LETHE_ERR_NOT_FOUND);
	assert_int_equal(store_principal_set_policy(f->s, "alice@" REALM, "strict"), LETHE_OK);
	assert_int_equal(store_pw_policy_get(f->s, "strict", &got), LETHE_OK);
	assert_int_equal(got.min_length, 10);
	assert_int_equal(got.principals, 1);
	assert_int_equal(store_pw_policy_delete(f->s, "strict"), LETHE_ERR_INVALID_ARG);

	/* Length, classes, then the history of the last two passwords. */
	assert_int_equal(set_pw(f, "alice@" REALM, "Sh0rt!", NULL), STORE_PW_TOO_SHORT);
	assert_int_equal(set_pw(f, "alice@" REALM, "longenoughbutlower", NULL),
	    STORE_PW_TOO_FEW_CLASSES);
	t0 = (int64_t)time(NULL);
	assert_int_equal(set_pw(f, "alice@" REALM, "First-Password-1", &kvno), STORE_PW_OK);
	assert_int_equal(kvno, 2);
	assert_int_equal(set_pw(f, "alice@" REALM, "Second-Password-2", &kvno), STORE_PW_OK);
	assert_int_equal(set_pw(f, "alice@" REALM, "First-Password-1", NULL), STORE_PW_REUSED);
	assert_int_equal(set_pw(f, "alice@" REALM, "Second-Password-2", NULL), STORE_PW_REUSED);
	assert_int_equal(set_pw(f, "alice@" REALM, "Third-Password-3", &kvno), STORE_PW_OK);
	assert_int_equal(kvno, 4);
	/* Only two are remembered: the first may come back. */
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM password_history"), 2);
	assert_int_equal(set_pw(f, "alice@" REALM, "First-Password-1", NULL), STORE_PW_OK);
	/* Kept as sealed keys, never as text. */
	assert_int_equal(raw_int(f->db, "SELECT COUNT(*) FROM password_history WHERE "
	    "instr(key_blob, CAST('First-Password-1' AS BLOB)) > 0"), 0);

	/* Expiry: max_age after the change, or at once with expire-now. */
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_string_equal(p->policy, "strict");
	assert_true(p->password_expires_at >= t0 + 3600 &&
	    p->password_expires_at <= p->password_changed_at + 3600);
	store_principal_free(p);
	assert_int_equal(store_principal_expire_password(f->s, "alice@" REALM, t0 - 5), LETHE_OK);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_int_equal(p->password_expires_at, t0 - 5);
	store_principal_free(p);
	/* A new password clears the forced date. */
	assert_int_equal(set_pw(f, "alice@" REALM, "Fourth-Password-4", NULL), STORE_PW_OK);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_true(p->password_expires_at >= t0 + 3600);
	store_principal_free(p);

	/* Without a policy of its own, "default" applies. */
	assert_int_equal(store_principal_set_policy(f->s, "alice@" REALM, NULL), LETHE_OK);
	assert_int_equal(set_pw(f, "alice@" REALM, "x", NULL), STORE_PW_OK);
	strcpy(pol.name, STORE_DEFAULT_POLICY);
	pol.max_age = 0;
	assert_int_equal(store_pw_policy_put(f->s, &pol, true), LETHE_OK);
	assert_int_equal(set_pw(f, "alice@" REALM, "y", NULL), STORE_PW_TOO_SHORT);
	assert_int_equal(store_principal_get(f->s, "alice@" REALM, &p), LETHE_OK);
	assert_null(p->policy);
	assert_int_equal(p->password_expires_at, 0);
	store_principal_free(p);
	assert_int_equal(store_pw_policy_list(f->s, &list, &n), LETHE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "default");
	assert_string_equal(list[1].name, "strict");
	free(list);
	assert_int_equal(store_pw_policy_delete(f->s, "strict"), LETHE_OK);
	assert_int_equal(store_pw_policy_get(f->s, "strict", &got), LETHE_ERR_NOT_FOUND);

	/* Only users have passwords; kadmin/changepw is made once. */
	assert_int_equal(store_changepw_add(f->s), LETHE_OK);
	assert_int_equal(store_changepw_add(f->s), LETHE_OK);
	assert_int_equal(store_principal_set_password(f->s, "kadmin/changepw@" REALM, "pw",
	    NULL, &v, why, sizeof(why)), LETHE_ERR_INVALID_ARG);
	assert_int_equal(store_principal_get(f->s, "kadmin/changepw@" REALM, &p), LETHE_OK);
	assert_int_equal(p->kind, STORE_KIND_SERVICE);
	assert_int_equal(p->max_life, STORE_CHANGEPW_MAX_LIFE);
	store_principal_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_master_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_never_overwrites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_key_hex, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_moved_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_tampered_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_key_bytes_in_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_get_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rekey_keeps_previous_kvno, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attributes_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_counts_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_returns_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_change_leaves_store_as_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temporary_keys_purged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anchors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_policy_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_kvno_clash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_repeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_names_each_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_many_names_realm_wide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_from_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_skips_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_too_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maintain_removes_expired_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maintain_checkpoint_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_principal_import_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_principal_add_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
