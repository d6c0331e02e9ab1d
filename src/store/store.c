/*
 * The store's public API: validation, transactions, at-rest encryption and
 * every SQL statement (portable SQL; the backend only runs it).
 */
#include "base/wipe.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "keytab/keytab.h"

#define ENCTYPES_TEXT_MAX (STORE_MAX_ENCTYPES * 12u)

/* ------------------------------------------------------------ errors */

lethe_status
store_fail(store *s, lethe_status rc, enum store_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (s == NULL)
		return rc;
	s->err_kind = kind;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

void
store_clear_error(store *s)
{
	s->err_kind = STORE_E_NONE;
	s->errmsg[0] = '\0';
}

const char *
store_errmsg(const store *s)
{
	return s != NULL ? s->errmsg : "";
}

enum store_error_kind
store_error_kind(const store *s)
{
	return s != NULL ? s->err_kind : STORE_E_NONE;
}

/* Record a status that did not come with a message of its own. */
lethe_status
store_fail_status(store *s, lethe_status rc, const char *what)
{
	enum store_error_kind kind = STORE_E_OTHER;

	if (s->err_kind != STORE_E_NONE)
		return rc;
	if (rc == LETHE_ERR_NOT_FOUND)
		kind = STORE_E_NOT_FOUND;
	else if (rc == LETHE_ERR_BAD_INTEGRITY)
		kind = STORE_E_MASTER_KEY;
	else if (rc == LETHE_ERR_INVALID_ARG || rc == LETHE_ERR_TOO_BIG)
		kind = STORE_E_INVALID;
	else if (rc == LETHE_ERR_IO)
		kind = STORE_E_DATABASE;
	return store_fail(s, rc, kind, "%s: %s", what, lethe_status_str(rc));
}

static int64_t
now_seconds(void)
{
	return (int64_t)time(NULL);
}

/* ------------------------------------------------------------ names */

const char *
store_principal_kind_name(enum store_principal_kind kind)
{
	switch (kind) {
	case STORE_KIND_USER:
		return "user";
	case STORE_KIND_SERVICE:
		return "service";
	case STORE_KIND_KRBTGT:
		return "krbtgt";
	case STORE_KIND_AGENT:
		return "agent";
	}
	return NULL;
}

const char *
store_key_kind_name(enum store_key_kind kind)
{
	switch (kind) {
	case STORE_KEY_LONG_TERM:
		return "long-term";
	case STORE_KEY_TEMPORARY:
		return "temporary";
	}
	return NULL;
}

/* True when the column holds text equal to s. */
static bool
text_is(const db_value *v, const char *s)
{
	size_t n = strlen(s);

	return v->type == DB_TEXT && v->len == n && memcmp(v->data, s, n) == 0;
}

lethe_status
store_principal_kind_parse(const db_value *v, enum store_principal_kind *out)
{
	for (int k = STORE_KIND_USER; k <= STORE_KIND_AGENT; k++) {
		if (text_is(v, store_principal_kind_name((enum store_principal_kind)k))) {
			*out = (enum store_principal_kind)k;
			return LETHE_OK;
		}
	}
	return LETHE_ERR_FORMAT;
}

lethe_status
store_key_kind_parse(const db_value *v, enum store_key_kind *out)
{
	if (text_is(v, "long-term"))
		*out = STORE_KEY_LONG_TERM;
	else if (text_is(v, "temporary"))
		*out = STORE_KEY_TEMPORARY;
	else
		return LETHE_ERR_FORMAT;
	return LETHE_OK;
}

/* A NUL-terminated copy of a text column of at most max bytes. */
lethe_status
store_text_dup(const db_value *v, size_t max, char **out)
{
	*out = NULL;
	ENSURE(v->type == DB_TEXT && v->len <= max, LETHE_ERR_FORMAT);
	ENSURE(memchr(v->data, '\0', v->len) == NULL, LETHE_ERR_FORMAT);
	*out = strndup(v->len ? (const char *)v->data : "", v->len);
	ENSURE(*out != NULL, LETHE_ERR_NOMEM);
	return LETHE_OK;
}

/* Length of name if it is 1..max bytes, else 0. */
size_t
store_bounded_len(const char *name, size_t max)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strnlen(name, max + 1);
	return n <= max ? n : 0;
}

bool
store_plain_name_ok(const char *name, size_t max)
{
	size_t len = store_bounded_len(name, max);

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* name must be the canonical form of a principal of the store's realm. */
lethe_status
store_check_name(store *s, const char *name)
{
	kt_principal p = { 0 };
	char *canon = NULL;
	size_t len = store_bounded_len(name, STORE_MAX_NAME_LEN);
	lethe_status rc;

	if (len == 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "principal name missing or over %u bytes", STORE_MAX_NAME_LEN);
	rc = kt_principal_parse(name, len, NULL, &p);
	if (rc == LETHE_OK)
		rc = kt_principal_unparse(&p, &canon);
	if (rc == LETHE_OK && (strcmp(canon, name) != 0 ||
	    p.realm.len != strlen(s->policy.realm) ||
	    memcmp(p.realm.data, s->policy.realm, p.realm.len) != 0))
		rc = LETHE_ERR_INVALID_ARG;
	kt_principal_clear(&p);
	free(canon);
	if (rc != LETHE_OK)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "not a canonical principal name of realm %s", s->policy.realm);
	return LETHE_OK;
}

/* ------------------------------------------------------------ transactions */

lethe_status
store_txn_begin(store *s, bool write)
{
	ENSURE(!s->in_txn, LETHE_ERR_INVALID_ARG);
	store_notes_clear(s);
	GUARD(s->ops->begin(s, write));
	s->in_txn = true;
	return LETHE_OK;
}

/* Commit without a new generation (a read, or a write of no realm data). */
lethe_status
store_txn_end(store *s)
{
	lethe_status rc = s->ops->commit(s);

	if (rc != LETHE_OK)
		s->ops->rollback(s);
	s->in_txn = false;
	store_notes_clear(s);
	return rc;
}

/* Bump the generation, write the noted changes to the feed and commit. */
lethe_status
store_txn_commit(store *s)
{
	static const char bump_sql[] =
	    "UPDATE generation SET value = value + 1 WHERE id = 1";
	static const char read_sql[] = "SELECT value FROM generation WHERE id = 1";
	int64_t changed = 0, gen = -1;
	lethe_status rc;

	rc = s->ops->exec(s, bump_sql, NULL, 0, NULL, NULL, &changed);
	if (rc == LETHE_OK)
		rc = s->ops->exec(s, read_sql, NULL, 0, store_int_cb, &gen, NULL);
	if (rc == LETHE_OK && (changed != 1 || gen < 1))
		rc = store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "the generation row is missing");
	if (rc == LETHE_OK)
		rc = store_feed_write(s, gen, now_seconds());
	if (rc == LETHE_OK && s->ops->notify != NULL)
		rc = s->ops->notify(s, gen);
	if (rc == LETHE_OK)
		rc = s->ops->commit(s);
	if (rc != LETHE_OK)
		s->ops->rollback(s);
	s->in_txn = false;
	store_notes_clear(s);
	return rc;
}

/* Roll back after a failure; a no-op outside a transaction. */
void
store_txn_abort(store *s)
{
	if (s->in_txn)
		s->ops->rollback(s);
	s->in_txn = false;
	store_notes_clear(s);
}

/* ------------------------------------------------------------ realm */

lethe_status
store_realm_policy_default(store_realm_policy *p, const char *realm)
{
	static const int32_t enctypes[] = { 18, 17, 20, 19 };
	size_t len = store_bounded_len(realm, STORE_MAX_REALM_LEN);

	ENSURE(p != NULL && len > 0, LETHE_ERR_INVALID_ARG);
	memset(p, 0, sizeof(*p));
	memcpy(p->realm, realm, len);
	p->max_life = STORE_DEFAULT_MAX_LIFE;
	p->max_renew = STORE_DEFAULT_MAX_RENEW;
	p->clock_skew = STORE_DEFAULT_SKEW;
	memcpy(p->enctypes, enctypes, sizeof(enctypes));
	p->nenctypes = sizeof(enctypes) / sizeof(enctypes[0]);
	p->kvnos_kept = STORE_DEFAULT_KVNOS_KEPT;
	return LETHE_OK;
}

static bool
realm_name_ok(const char *realm)
{
	size_t len = store_bounded_len(realm, STORE_MAX_REALM_LEN);

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)realm[i];

		if (c <= ' ' || c >= 0x7f || c == '/' || c == '@' || c == '\\')
			return false;
	}
	return true;
}

static bool
policy_ok(const store_realm_policy *p)
{
	if (!realm_name_ok(p->realm) || p->max_life <= 0 || p->max_renew < 0 ||
	    p->clock_skew < 0 || p->nenctypes == 0 ||
	    p->nenctypes > STORE_MAX_ENCTYPES || p->kvnos_kept == 0 ||
	    p->kvnos_kept > STORE_MAX_KEYS)
		return false;
	for (size_t i = 0; i < p->nenctypes; i++) {
		if (p->enctypes[i] <= 0 || p->enctypes[i] > INT16_MAX)
			return false;
		for (size_t j = 0; j < i; j++)
			if (p->enctypes[j] == p->enctypes[i])
				return false;
	}
	return true;
}

/* "18 17 20 19" from the policy's enctypes. */
static void
enctypes_to_text(const store_realm_policy *p, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->nenctypes && off < cap; i++) {
		int n = snprintf(buf + off, cap - off, "%s%d", i ? " " : "",
		    (int)p->enctypes[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Parse "18 17 20 19" (at most STORE_MAX_ENCTYPES numbers) into p. */
static lethe_status
enctypes_from_text(const db_value *v, store_realm_policy *p)
{
	char buf[ENCTYPES_TEXT_MAX + 1];
	char *cur, *end;

	ENSURE(v->type == DB_TEXT && v->len <= ENCTYPES_TEXT_MAX, LETHE_ERR_FORMAT);
	memcpy(buf, v->data, v->len);
	buf[v->len] = '\0';
	p->nenctypes = 0;
	for (cur = buf; *cur != '\0'; cur = end) {
		long e;

		while (*cur == ' ')
			cur++;
		if (*cur == '\0')
			break;
		ENSURE(p->nenctypes < STORE_MAX_ENCTYPES, LETHE_ERR_FORMAT);
		errno = 0;
		e = strtol(cur, &end, 10);
		ENSURE(end != cur && errno == 0 && e > 0 && e <= INT16_MAX,
		    LETHE_ERR_FORMAT);
		p->enctypes[p->nenctypes++] = (int32_t)e;
	}
	ENSURE(p->nenctypes > 0, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

/* The realm row as read at open time. */
typedef struct realm_row {
	store_realm_policy policy;
	uint8_t kdf_salt[STORE_KDF_SALT_LEN];
	uint8_t check[STORE_CHECK_LEN];
	bool found;
} realm_row;

static lethe_status
realm_row_cb(void *ctx, const db_value *c, size_t n)
{
	realm_row *row = ctx;
	store_realm_policy *p = &row->policy;

	ENSURE(n == 9 && !row->found, LETHE_ERR_FORMAT);
	ENSURE(c[0].type == DB_TEXT && c[0].len > 0 &&
	    c[0].len <= STORE_MAX_REALM_LEN, LETHE_ERR_FORMAT);
	memcpy(p->realm, c[0].data, c[0].len);
	p->realm[c[0].len] = '\0';
	ENSURE(c[1].type == DB_INT && c[2].type == DB_INT && c[3].type == DB_INT &&
	    c[5].type == DB_INT && c[8].type == DB_INT, LETHE_ERR_FORMAT);
	p->max_life = c[1].i;
	p->max_renew = c[2].i;
	p->clock_skew = c[3].i;
	GUARD(enctypes_from_text(&c[4], p));
	ENSURE(c[5].i >= 1 && c[5].i <= STORE_MAX_KEYS, LETHE_ERR_FORMAT);
	p->kvnos_kept = (uint32_t)c[5].i;
	ENSURE(c[6].type == DB_BLOB && c[6].len == STORE_KDF_SALT_LEN &&
	    c[7].type == DB_BLOB && c[7].len == STORE_CHECK_LEN, LETHE_ERR_FORMAT);
	memcpy(row->kdf_salt, c[6].data, STORE_KDF_SALT_LEN);
	memcpy(row->check, c[7].data, STORE_CHECK_LEN);
	p->created_at = c[8].i;
	row->found = true;
	return LETHE_OK;
}

lethe_status
store_int_cb(void *ctx, const db_value *c, size_t n)
{
	int64_t *out = ctx;

	ENSURE(n == 1 && c[0].type == DB_INT, LETHE_ERR_FORMAT);
	*out = c[0].i;
	return LETHE_OK;
}

/* Write the schema version, the realm row and the generation row. */
static lethe_status
insert_realm(store *s, const realm_row *row)
{
	static const char version_sql[] =
	    "INSERT INTO schema_version (version) VALUES ($1)";
	static const char realm_sql[] =
	    "INSERT INTO realm (id, name, max_life, max_renew, clock_skew, "
	    "enctypes, kvnos_kept, kdf_salt, mkey_check, created_at) "
	    "VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9)";
	static const char generation_sql[] =
	    "INSERT INTO generation (id, value) VALUES (1, 0)";
	const store_realm_policy *p = &row->policy;
	char enctypes[ENCTYPES_TEXT_MAX + 1];
	db_value version = db_int(STORE_SCHEMA_VERSION);
	db_value params[9];

	enctypes_to_text(p, enctypes, sizeof(enctypes));
	params[0] = db_text(p->realm, strlen(p->realm));
	params[1] = db_int(p->max_life);
	params[2] = db_int(p->max_renew);
	params[3] = db_int(p->clock_skew);
	params[4] = db_text(enctypes, strlen(enctypes));
	params[5] = db_int(p->kvnos_kept);
	params[6] = db_blob(row->kdf_salt, sizeof(row->kdf_salt));
	params[7] = db_blob(row->check, sizeof(row->check));
	params[8] = db_int(p->created_at);
	GUARD(s->ops->exec(s, version_sql, &version, 1, NULL, NULL, NULL));
	GUARD(s->ops->exec(s, realm_sql, params, 9, NULL, NULL, NULL));
	return s->ops->exec(s, generation_sql, NULL, 0, NULL, NULL, NULL);
}

/* Copy the failure of s to the caller's buffer and kind. */
void
store_report_error(const store *s, char *errbuf, size_t errbuf_len,
    enum store_error_kind *kind)
{
	if (errbuf != NULL && errbuf_len > 0)
		snprintf(errbuf, errbuf_len, "%s", s->errmsg);
	if (kind != NULL)
		*kind = s->err_kind;
}

/* The backend of path: PostgreSQL for a libpq URI, else an SQLite file. */
static const store_backend_ops *
backend_of(const char *path)
{
	return store_path_is_url(path) ? &store_pg_ops : &store_sqlite_ops;
}

lethe_status
store_alloc(const char *path, store **out)
{
	store *s = calloc(1, sizeof(*s));

	*out = NULL;
	ENSURE(s != NULL, LETHE_ERR_NOMEM);
	s->ops = backend_of(path);
	*out = s;
	return LETHE_OK;
}

/* Release s without touching files. */
void
store_release(store *s)
{
	if (s == NULL)
		return;
	store_txn_abort(s);
	s->ops->close(s);
	store_notes_clear(s);
	lethe_wipe(s->seal_key, sizeof(s->seal_key));
	free(s);
}

void
store_close(store *s)
{
	store_release(s);
}

void
store_remove(const char *path)
{
	if (path != NULL)
		backend_of(path)->remove_files(path);
}

/* Fill row with a fresh KDF salt and the check value of mk. */
static lethe_status
new_realm_row(store *s, const store_master_key *mk, realm_row *row)
{
	uint8_t seal_key[STORE_SEAL_KEY_LEN];
	lethe_status rc;

	row->policy.created_at = now_seconds();
	if (RAND_bytes(row->kdf_salt, sizeof(row->kdf_salt)) != 1)
		return store_fail(s, LETHE_ERR_CRYPTO, STORE_E_OTHER,
		    "no random bytes for the KDF salt");
	rc = store_derive_keys(mk, lbytes_make(row->kdf_salt, sizeof(row->kdf_salt)),
	    seal_key, row->check);
	if (rc == LETHE_OK)
		memcpy(s->seal_key, seal_key, sizeof(seal_key));
	lethe_wipe(seal_key, sizeof(seal_key));
	return rc == LETHE_OK ? rc : store_fail_status(s, rc, "deriving keys");
}

lethe_status
store_create(const char *path, const store_master_key *mk,
    const store_realm_policy *policy, store **out, char *errbuf,
    size_t errbuf_len, enum store_error_kind *kind)
{
	store *s = NULL;
	realm_row row;
	bool made = false;
	lethe_status rc;

	memset(&row, 0, sizeof(row));
	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	if (kind != NULL)
		*kind = STORE_E_NONE;
	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	GUARD(store_alloc(path, &s));
	ENSURE_GOTO(rc, path != NULL && mk != NULL && policy != NULL &&
	    policy_ok(policy), store_fail(s, LETHE_ERR_INVALID_ARG,
	    STORE_E_INVALID, "invalid path or realm policy"));
	row.policy = *policy;
	GUARD_GOTO(rc, new_realm_row(s, mk, &row));
	s->policy = row.policy;
	GUARD_GOTO(rc, s->ops->create(s, path));
	made = true;
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, insert_realm(s, &row));
	GUARD_GOTO(rc, store_schema_add_since_v1(s, &row.policy));
	store_note_change(s, NULL);
	GUARD_GOTO(rc, store_txn_commit(s));
	*out = s;
	s = NULL;
cleanup:
	if (s != NULL) {
		const store_backend_ops *ops = s->ops;

		store_report_error(s, errbuf, errbuf_len, kind);
		store_release(s);
		if (made)
			ops->remove_files(path);
	}
	lethe_wipe(&row, sizeof(row));
	return rc;
}

/*
 * Read the schema version (1 to STORE_SCHEMA_VERSION, into *version) and the realm row;
 * check the master key.
 */
static lethe_status
load_realm(store *s, const store_master_key *mk, int64_t *version_out)
{
	static const char version_sql[] = "SELECT version FROM schema_version";
	static const char realm_sql[] =
	    "SELECT name, max_life, max_renew, clock_skew, enctypes, "
	    "kvnos_kept, kdf_salt, mkey_check, created_at FROM realm WHERE id = 1";
	uint8_t seal_key[STORE_SEAL_KEY_LEN], check[STORE_CHECK_LEN];
	int64_t version = -1;
	realm_row row;
	lethe_status rc;

	memset(&row, 0, sizeof(row));
	rc = s->ops->exec(s, version_sql, NULL, 0, store_int_cb, &version, NULL);
	if (rc != LETHE_OK || version < 0)
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "not a Lethe store (%s)", s->errmsg[0] ? s->errmsg :
		    "no schema version");
	if (version < 1 || version > STORE_SCHEMA_VERSION)
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "store schema version %lld; this program reads versions 1 to %d",
		    (long long)version, STORE_SCHEMA_VERSION);
	rc = s->ops->exec(s, realm_sql, NULL, 0, realm_row_cb, &row, NULL);
	if (rc == LETHE_OK && !row.found)
		rc = LETHE_ERR_FORMAT;
	if (rc != LETHE_OK)
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "the store's realm row is missing or damaged");
	rc = store_derive_keys(mk, lbytes_make(row.kdf_salt, sizeof(row.kdf_salt)),
	    seal_key, check);
	if (rc != LETHE_OK)
		rc = store_fail_status(s, rc, "deriving keys");
	else if (CRYPTO_memcmp(check, row.check, sizeof(check)) != 0)
		rc = store_fail(s, LETHE_ERR_BAD_INTEGRITY, STORE_E_MASTER_KEY,
		    "wrong master key for realm %s (check value differs): "
		    "use the master key this store was created with",
		    row.policy.realm);
	else {
		memcpy(s->seal_key, seal_key, sizeof(seal_key));
		s->policy = row.policy;
		*version_out = version;
	}
	lethe_wipe(seal_key, sizeof(seal_key));
	lethe_wipe(check, sizeof(check));
	lethe_wipe(&row, sizeof(row));
	return rc;
}

lethe_status
store_open(const char *path, const store_master_key *mk, store **out,
    char *errbuf, size_t errbuf_len, enum store_error_kind *kind)
{
	store *s = NULL;
	int64_t version = 0;
	lethe_status rc;

	if (errbuf != NULL && errbuf_len > 0)
		errbuf[0] = '\0';
	if (kind != NULL)
		*kind = STORE_E_NONE;
	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	GUARD(store_alloc(path, &s));
	ENSURE_GOTO(rc, path != NULL && mk != NULL, store_fail(s,
	    LETHE_ERR_INVALID_ARG, STORE_E_INVALID, "no path or master key"));
	GUARD_GOTO(rc, s->ops->open(s, path));
	GUARD_GOTO(rc, store_txn_begin(s, false));
	GUARD_GOTO(rc, load_realm(s, mk, &version));
	GUARD_GOTO(rc, store_txn_end(s));
	if (version < STORE_SCHEMA_VERSION)
		GUARD_GOTO(rc, store_schema_upgrade(s));
	*out = s;
	s = NULL;
cleanup:
	if (s != NULL) {
		store_report_error(s, errbuf, errbuf_len, kind);
		store_release(s);
	}
	return rc;
}

lethe_status
store_realm_policy_get(store *s, store_realm_policy *out)
{
	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = s->policy;
	return LETHE_OK;
}

lethe_status
store_generation(store *s, uint64_t *out)
{
	static const char sql[] = "SELECT value FROM generation WHERE id = 1";
	int64_t value = -1;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(s->ops->exec(s, sql, NULL, 0, store_int_cb, &value, NULL));
	if (value < 0)
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "the generation row is missing");
	*out = (uint64_t)value;
	return LETHE_OK;
}

lethe_status
store_notify_listen(store *s)
{
	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	if (s->ops->listen == NULL)
		return LETHE_ERR_UNSUPPORTED;
	store_clear_error(s);
	return s->ops->listen(s);
}

int
store_notify_fd(store *s)
{
	return s != NULL && s->ops->notify_fd != NULL ? s->ops->notify_fd(s) : -1;
}

bool
store_notify_drain(store *s)
{
	return s != NULL && s->ops->notify_drain != NULL && s->ops->notify_drain(s);
}

/* ------------------------------------------------------------ keys */

static void
key_clear(store_key *k)
{
	free(k->salt);
	free(k->registered_by);
	lethe_wipe(k, sizeof(*k));
}

void
store_principal_free(store_principal *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nkeys; i++)
		key_clear(&p->keys[i]);
	free(p->keys);
	free(p->name);
	free(p->policy);
	free(p);
}

/* A key an API caller hands in must be complete and bounded. */
static bool
key_ok(const store_key *k)
{
	if (k->key_len == 0 || k->key_len > STORE_MAX_KEY_LEN || k->enctype == 0)
		return false;
	if (k->salt == NULL ? k->salt_len != 0 : k->salt_len > STORE_MAX_SALT_LEN)
		return false;
	if (store_key_kind_name(k->kind) == NULL || k->use_until < 0 ||
	    k->accept_until < 0 || k->registered_at < 0)
		return false;
	return k->registered_by == NULL ||
	    store_bounded_len(k->registered_by, STORE_MAX_NAME_LEN) > 0;
}

/* Every key valid, and (unless kvno_fixed is false) each (kvno, enctype) once. */
static lethe_status
check_keys(store *s, const store_key *keys, size_t nkeys, bool kvno_fixed)
{
	if (nkeys > STORE_MAX_KEYS || (nkeys > 0 && keys == NULL))
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "too many keys or no key array");
	for (size_t i = 0; i < nkeys; i++) {
		if (!key_ok(&keys[i]))
			return store_fail(s, LETHE_ERR_INVALID_ARG,
			    STORE_E_INVALID, "key %zu is invalid", i);
		for (size_t j = 0; j < i; j++)
			if (keys[j].enctype == keys[i].enctype &&
			    (!kvno_fixed || keys[j].kvno == keys[i].kvno))
				return store_fail(s, LETHE_ERR_INVALID_ARG,
				    STORE_E_INVALID, "enctype %d given twice",
				    (int)keys[i].enctype);
	}
	return LETHE_OK;
}

/* Insert one key row under principal pid, with kvno and kind as given. */
lethe_status
store_insert_key(store *s, int64_t pid, const char *name, const store_key *k,
    uint32_t kvno, enum store_key_kind kind, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO keys (principal_id, kvno, enctype, key_blob, salt, "
	    "s2k_iterations, kind, registered_at, use_until, accept_until, "
	    "registered_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
	uint8_t aad[STORE_AAD_MAX];
	uint8_t blob[1 + 12 + STORE_MAX_KEY_LEN + 16];
	size_t aad_len = 0, blob_len = 0;
	const char *kind_name = store_key_kind_name(kind);
	db_value params[11];
	lethe_status rc;

	GUARD(store_key_aad(name, kvno, k->enctype, aad, sizeof(aad), &aad_len));
	rc = store_seal(s->seal_key, lbytes_make(aad, aad_len),
	    lbytes_make(k->key, k->key_len), blob, sizeof(blob), &blob_len);
	if (rc != LETHE_OK)
		return store_fail_status(s, rc, "encrypting a key");
	params[0] = db_int(pid);
	params[1] = db_int(kvno);
	params[2] = db_int(k->enctype);
	params[3] = db_blob(blob, blob_len);
	params[4] = k->salt != NULL ? db_blob(k->salt, k->salt_len) : db_null();
	params[5] = k->s2k_iterations ? db_int(k->s2k_iterations) : db_null();
	params[6] = db_text(kind_name, strlen(kind_name));
	params[7] = db_int(k->registered_at ? k->registered_at : now);
	params[8] = db_int(k->use_until);
	params[9] = db_int(k->accept_until);
	params[10] = k->registered_by != NULL ?
	    db_text(k->registered_by, strlen(k->registered_by)) : db_null();
	return s->ops->exec(s, sql, params, 11, NULL, NULL, NULL);
}

/* Decrypt and copy one key row (columns kvno..registered_by) into *k. */
static lethe_status
key_from_row(store *s, const char *name, const db_value *c, store_key *k)
{
	uint8_t aad[STORE_AAD_MAX];
	size_t aad_len = 0;
	lethe_status rc;

	ENSURE(c[0].type == DB_INT && c[0].i >= 0 && c[0].i <= UINT32_MAX &&
	    c[1].type == DB_INT && c[1].i != 0 && c[1].i >= INT32_MIN &&
	    c[1].i <= INT32_MAX && c[2].type == DB_BLOB, LETHE_ERR_FORMAT);
	k->kvno = (uint32_t)c[0].i;
	k->enctype = (int32_t)c[1].i;
	GUARD(store_key_aad(name, k->kvno, k->enctype, aad, sizeof(aad), &aad_len));
	rc = store_unseal(s->seal_key, lbytes_make(aad, aad_len),
	    lbytes_make(c[2].data, c[2].len), k->key, sizeof(k->key), &k->key_len);
	if (rc != LETHE_OK)
		return store_fail(s, rc == LETHE_ERR_TOO_BIG ? LETHE_ERR_FORMAT : rc,
		    STORE_E_MASTER_KEY, "key kvno %u enctype %d of %s does not "
		    "decrypt: the row was altered or moved", k->kvno,
		    (int)k->enctype, name);
	ENSURE(k->key_len > 0, LETHE_ERR_FORMAT);
	if (c[3].type == DB_BLOB) {
		ENSURE(c[3].len <= STORE_MAX_SALT_LEN, LETHE_ERR_FORMAT);
		k->salt = malloc(c[3].len ? c[3].len : 1);
		ENSURE(k->salt != NULL, LETHE_ERR_NOMEM);
		if (c[3].len)
			memcpy(k->salt, c[3].data, c[3].len);
		k->salt_len = c[3].len;
	} else
		ENSURE(c[3].type == DB_NULL, LETHE_ERR_FORMAT);
	ENSURE(c[4].type == DB_NULL || (c[4].type == DB_INT && c[4].i > 0 &&
	    c[4].i <= UINT32_MAX), LETHE_ERR_FORMAT);
	k->s2k_iterations = c[4].type == DB_INT ? (uint32_t)c[4].i : 0;
	GUARD(store_key_kind_parse(&c[5], &k->kind));
	ENSURE(c[6].type == DB_INT && c[7].type == DB_INT && c[8].type == DB_INT,
	    LETHE_ERR_FORMAT);
	k->registered_at = c[6].i;
	k->use_until = c[7].i;
	k->accept_until = c[8].i;
	if (c[9].type != DB_NULL)
		GUARD(store_text_dup(&c[9], STORE_MAX_NAME_LEN, &k->registered_by));
	return LETHE_OK;
}

/* ------------------------------------------------------------ principals */

/*
 * Columns of a principal (0..9) and, from a LEFT JOIN, of a key (10..20),
 * then the principal's password policy and when its password expires
 * (21, 22; v4): its own date (passwd --expire-now), else, for a user,
 * password_changed_at plus the max_age of its policy or else of the
 * policy called "default". k.id (never NULL in a key row) tells a key row
 * from "no key", so a key row with a NULL column is read, and reported,
 * rather than skipped.
 */
#define PRINCIPAL_KEY_SELECT                                                 \
	"SELECT p.id, p.name, p.kind, p.attributes, p.max_life, p.max_renew, "  \
	"p.created_at, p.modified_at, p.password_changed_at, p.expires_at, "    \
	"k.id, k.kvno, k.enctype, k.key_blob, k.salt, k.s2k_iterations, "       \
	"k.kind, k.registered_at, k.use_until, k.accept_until, k.registered_by, " \
	"p.policy, CASE WHEN p.password_expires_at <> 0 THEN p.password_expires_at " \
	"WHEN p.kind = 'user' AND pp.max_age > 0 AND p.password_changed_at > 0 " \
	"THEN p.password_changed_at + pp.max_age ELSE 0 END "                  \
	"FROM principals p LEFT JOIN keys k ON k.principal_id = p.id "          \
	"LEFT JOIN password_policies pp ON pp.name = COALESCE(p.policy, '"      \
	STORE_DEFAULT_POLICY "') "
#define PRINCIPAL_KEY_ORDER " ORDER BY p.id, k.kvno DESC, k.id"
#define PRINCIPAL_KEY_COLUMNS 23

/* Rows of PRINCIPAL_KEY_SELECT folded into principals, one at a time. */
typedef struct collector {
	store *s;
	int64_t cur_id;
	store_principal *cur;
	size_t keys_cap;
	store_principal_cb cb;    /* NULL: keep the (only) principal in cur */
	store_principal_err_cb err_cb;
	void *ctx;
	bool bad;                 /* cur_id could not be read: skip its rows */
	lethe_status bad_rc;
	char bad_name[STORE_MAX_NAME_LEN + 1];
	char bad_why[STORE_ERRMSG_LEN];
} collector;

static lethe_status
principal_from_row(const db_value *c, store_principal **out)
{
	store_principal *p = calloc(1, sizeof(*p));
	lethe_status rc;

	*out = NULL;
	ENSURE(p != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, store_text_dup(&c[1], STORE_MAX_NAME_LEN, &p->name));
	GUARD_GOTO(rc, store_principal_kind_parse(&c[2], &p->kind));
	for (size_t i = 3; i <= 9; i++)
		ENSURE_GOTO(rc, c[i].type == DB_INT, LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, c[3].i >= 0 && c[3].i <= UINT32_MAX, LETHE_ERR_FORMAT);
	p->attributes = (uint32_t)c[3].i;
	p->max_life = c[4].i;
	p->max_renew = c[5].i;
	p->created_at = c[6].i;
	p->modified_at = c[7].i;
	p->password_changed_at = c[8].i;
	p->expires_at = c[9].i;
	if (c[21].type != DB_NULL)
		GUARD_GOTO(rc, store_text_dup(&c[21], STORE_MAX_POLICY_NAME, &p->policy));
	ENSURE_GOTO(rc, c[22].type == DB_INT && c[22].i >= 0, LETHE_ERR_FORMAT);
	p->password_expires_at = c[22].i;
	*out = p;
	p = NULL;
cleanup:
	store_principal_free(p);
	return rc;
}

/* Make room for one more key in col->cur, wiping the old array when moving. */
static lethe_status
grow_keys(collector *col)
{
	store_principal *p = col->cur;
	store_key *bigger;
	size_t cap;

	if (p->nkeys < col->keys_cap)
		return LETHE_OK;
	ENSURE(p->nkeys < STORE_MAX_KEYS, LETHE_ERR_TOO_BIG);
	cap = col->keys_cap ? col->keys_cap * 2 : 4;
	if (cap > STORE_MAX_KEYS)
		cap = STORE_MAX_KEYS;
	bigger = calloc(cap, sizeof(*bigger));
	ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
	if (p->nkeys > 0) {
		memcpy(bigger, p->keys, p->nkeys * sizeof(*bigger));
		lethe_wipe(p->keys, p->nkeys * sizeof(*bigger));
	}
	free(p->keys);
	p->keys = bigger;
	col->keys_cap = cap;
	return LETHE_OK;
}

/*
 * Hand the finished principal to the callback (and free it), or the one
 * that could not be read to the error callback.
 */
static lethe_status
collector_flush(collector *col)
{
	lethe_status rc = LETHE_OK;

	if (col->bad) {
		if (col->err_cb != NULL)
			col->err_cb(col->ctx, col->bad_name, col->bad_rc,
			    col->bad_why);
		col->bad = false;
		return LETHE_OK;
	}
	if (col->cur == NULL || col->cb == NULL)
		return LETHE_OK;
	rc = col->cb(col->ctx, col->cur);
	store_principal_free(col->cur);
	col->cur = NULL;
	col->keys_cap = 0;
	return rc;
}

/*
 * Principal cur_id (name column c[1]) failed with rc. A walk notes it,
 * drops what was read and goes on (out of memory stops it); a lookup of
 * one principal fails.
 */
static lethe_status
collector_bad(collector *col, const db_value *c, lethe_status rc)
{
	store *s = col->s;

	if (col->cb == NULL || rc == LETHE_ERR_NOMEM)
		return rc;
	if (col->cur != NULL)
		snprintf(col->bad_name, sizeof(col->bad_name), "%s", col->cur->name);
	else if (c[1].type == DB_TEXT && c[1].len > 0 &&
	    c[1].len <= STORE_MAX_NAME_LEN && memchr(c[1].data, '\0', c[1].len) == NULL)
		snprintf(col->bad_name, sizeof(col->bad_name), "%.*s",
		    (int)c[1].len, (const char *)c[1].data);
	else
		snprintf(col->bad_name, sizeof(col->bad_name), "principal id %lld",
		    (long long)col->cur_id);
	if (s->err_kind != STORE_E_NONE)
		snprintf(col->bad_why, sizeof(col->bad_why), "%s", s->errmsg);
	else if (rc == LETHE_ERR_TOO_BIG)
		snprintf(col->bad_why, sizeof(col->bad_why), "more than %u keys",
		    STORE_MAX_KEYS);
	else
		snprintf(col->bad_why, sizeof(col->bad_why), "a principal or key "
		    "row is damaged (%s)", lethe_status_str(rc));
	store_clear_error(s);
	store_principal_free(col->cur);
	col->cur = NULL;
	col->keys_cap = 0;
	col->bad = true;
	col->bad_rc = rc;
	return LETHE_OK;
}

static lethe_status
collector_row(void *ctx, const db_value *c, size_t n)
{
	collector *col = ctx;
	store_key *k;
	lethe_status rc;

	ENSURE(n == PRINCIPAL_KEY_COLUMNS && c[0].type == DB_INT, LETHE_ERR_FORMAT);
	if ((col->cur == NULL && !col->bad) || c[0].i != col->cur_id) {
		ENSURE(col->cur == NULL || col->cb != NULL, LETHE_ERR_FORMAT);
		GUARD(collector_flush(col));
		col->cur_id = c[0].i;
		rc = principal_from_row(c, &col->cur);
		if (rc != LETHE_OK)
			return collector_bad(col, c, rc);
	}
	if (col->bad || c[10].type == DB_NULL)
		return LETHE_OK;
	rc = grow_keys(col);
	if (rc == LETHE_OK) {
		k = &col->cur->keys[col->cur->nkeys];
		memset(k, 0, sizeof(*k));
		col->cur->nkeys++;
		rc = key_from_row(col->s, col->cur->name, &c[11], k);
	}
	return rc == LETHE_OK ? rc : collector_bad(col, c, rc);
}

/* Map a collector failure that came without a message. */
lethe_status
store_collect_status(store *s, lethe_status rc)
{
	if (rc == LETHE_ERR_FORMAT && s->err_kind == STORE_E_NONE)
		return store_fail(s, rc, STORE_E_DATABASE,
		    "a principal or key row is damaged");
	return rc == LETHE_OK ? rc : store_fail_status(s, rc, "reading principals");
}

lethe_status
store_principal_get(store *s, const char *name, store_principal **out)
{
	static const char sql[] = PRINCIPAL_KEY_SELECT "WHERE p.name = $1"
	    PRINCIPAL_KEY_ORDER;
	collector col = { .s = s };
	db_value param;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	param = db_text(name, strlen(name));
	GUARD_GOTO(rc, store_txn_begin(s, false));
	rc = s->ops->exec(s, sql, &param, 1, collector_row, &col, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	GUARD_GOTO(rc, store_txn_end(s));
	ENSURE_GOTO(rc, col.cur != NULL, store_fail(s, LETHE_ERR_NOT_FOUND,
	    STORE_E_NOT_FOUND, "principal %s not found", name));
	*out = col.cur;
	col.cur = NULL;
cleanup:
	store_txn_abort(s);
	store_principal_free(col.cur);
	return rc;
}

lethe_status
store_principal_foreach(store *s, store_principal_cb cb, void *ctx,
    uint64_t *generation)
{
	return store_principal_foreach_ex(s, cb, NULL, ctx, generation);
}

lethe_status
store_principal_foreach_ex(store *s, store_principal_cb cb,
    store_principal_err_cb err_cb, void *ctx, uint64_t *generation)
{
	static const char gen_sql[] = "SELECT value FROM generation WHERE id = 1";
	static const char sql[] = PRINCIPAL_KEY_SELECT PRINCIPAL_KEY_ORDER;
	collector col = { .s = s, .cb = cb, .err_cb = err_cb, .ctx = ctx };
	int64_t gen = -1;
	lethe_status rc;

	ENSURE(s != NULL && cb != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD_GOTO(rc, store_txn_begin(s, false));
	GUARD_GOTO(rc, s->ops->exec(s, gen_sql, NULL, 0, store_int_cb, &gen, NULL));
	ENSURE_GOTO(rc, gen >= 0, store_fail(s, LETHE_ERR_FORMAT,
	    STORE_E_DATABASE, "the generation row is missing"));
	rc = s->ops->walk != NULL ?
	    s->ops->walk(s, sql, NULL, 0, collector_row, &col) :
	    s->ops->exec(s, sql, NULL, 0, collector_row, &col, NULL);
	if (rc == LETHE_OK)
		rc = collector_flush(&col);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	GUARD_GOTO(rc, store_txn_end(s));
	if (generation != NULL)
		*generation = (uint64_t)gen;
cleanup:
	store_txn_abort(s);
	store_principal_free(col.cur);
	return rc;
}

static lethe_status
principal_id_cb(void *ctx, const db_value *c, size_t n)
{
	int64_t *id = ctx;

	ENSURE(n == 1 && c[0].type == DB_INT && c[0].i > 0, LETHE_ERR_FORMAT);
	*id = c[0].i;
	return LETHE_OK;
}

/* The row id of principal name, inside the caller's transaction. */
lethe_status
store_find_principal(store *s, const char *name, int64_t *id)
{
	static const char sql[] = "SELECT id FROM principals WHERE name = $1";
	db_value param = db_text(name, strlen(name));

	*id = 0;
	GUARD(s->ops->exec(s, sql, &param, 1, principal_id_cb, id, NULL));
	if (*id == 0)
		return store_fail(s, LETHE_ERR_NOT_FOUND, STORE_E_NOT_FOUND,
		    "principal %s not found", name);
	return LETHE_OK;
}

static bool
has_long_term(const store_key *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].kind == STORE_KEY_LONG_TERM)
			return true;
	return false;
}

/* Insert the principal row of p; its id into *id. */
static lethe_status
insert_principal(store *s, const store_principal *p, int64_t now, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO principals (name, kind, attributes, max_life, "
	    "max_renew, created_at, modified_at, password_changed_at, "
	    "expires_at, policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
	    "RETURNING id";
	const char *kind = store_principal_kind_name(p->kind);
	db_value params[10];

	*id = 0;
	params[0] = db_text(p->name, strlen(p->name));
	params[1] = db_text(kind, strlen(kind));
	params[2] = db_int(p->attributes);
	params[3] = db_int(p->max_life);
	params[4] = db_int(p->max_renew);
	params[5] = db_int(now);
	params[6] = db_int(now);
	params[7] = db_int(has_long_term(p->keys, p->nkeys) ? now : 0);
	params[8] = db_int(p->expires_at);
	params[9] = p->policy != NULL ? db_text(p->policy, strlen(p->policy)) : db_null();
	if (p->policy != NULL)
		GUARD(store_pw_policy_exists(s, p->policy));
	GUARD(s->ops->exec(s, sql, params, 10, principal_id_cb, id, NULL));
	ENSURE(*id > 0, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

/* p is a principal store_principal_add() may insert: name, keys, kind, limits. */
static lethe_status
check_new_principal(store *s, const store_principal *p)
{
	GUARD(store_check_name(s, p->name));
	GUARD(check_keys(s, p->keys, p->nkeys, true));
	if (store_principal_kind_name(p->kind) == NULL ||
	    (p->attributes & ~STORE_ATTR_ALL) != 0 || p->max_life < 0 ||
	    p->max_renew < 0 || p->expires_at < 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid kind, attributes or limits");
	return LETHE_OK;
}

lethe_status
store_insert_new_principal(store *s, const store_principal *p, int64_t now)
{
	int64_t id = 0;
	lethe_status rc;

	rc = insert_principal(s, p, now, &id);
	if (rc != LETHE_OK && s->err_kind == STORE_E_EXISTS)
		rc = store_fail(s, rc, STORE_E_EXISTS, "principal %s already exists",
		    p->name);
	GUARD(rc);
	for (size_t i = 0; i < p->nkeys; i++)
		GUARD(store_insert_key(s, id, p->name, &p->keys[i],
		    p->keys[i].kvno, p->keys[i].kind, now));
	store_note_change(s, p->name);
	return LETHE_OK;
}

lethe_status
store_principal_add(store *s, const store_principal *p)
{
	return store_principal_add_many(s, p, 1);
}

lethe_status
store_principal_add_many(store *s, const store_principal *list, size_t n)
{
	int64_t now = now_seconds();
	lethe_status rc;

	ENSURE(s != NULL && list != NULL && n > 0, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	for (size_t i = 0; i < n; i++)
		GUARD(check_new_principal(s, &list[i]));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	for (size_t i = 0; i < n; i++)
		GUARD_GOTO(rc, store_insert_new_principal(s, &list[i], now));
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_principal_import_fresh(store *s, const store_principal *list, size_t n)
{
	static const char count_sql[] =
	    "SELECT COUNT(*) FROM principals WHERE name <> $1 AND name <> $2";
	static const char delete_sql[] = "DELETE FROM principals WHERE name = $1";
	char tgt[STORE_MAX_NAME_LEN + 1], changepw[STORE_MAX_NAME_LEN + 1];
	int64_t now = now_seconds(), others = -1;
	bool has_tgt = false, has_changepw = false;
	db_value params[2];
	lethe_status rc;
	int tgt_len, changepw_len;

	ENSURE(s != NULL && list != NULL && n > 0, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	tgt_len = snprintf(tgt, sizeof(tgt), "krbtgt/%s@%s", s->policy.realm,
	    s->policy.realm);
	ENSURE(tgt_len > 0 && (size_t)tgt_len < sizeof(tgt), LETHE_ERR_INVALID_ARG);
	changepw_len = snprintf(changepw, sizeof(changepw), STORE_CHANGEPW_NAME "@%s",
	    s->policy.realm);
	ENSURE(changepw_len > 0 && (size_t)changepw_len < sizeof(changepw),
	    LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < n; i++) {
		GUARD(check_new_principal(s, &list[i]));
		has_tgt = has_tgt || strcmp(list[i].name, tgt) == 0;
		has_changepw = has_changepw || strcmp(list[i].name, changepw) == 0;
	}
	if (!has_tgt)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "the import holds no %s", tgt);
	params[0] = db_text(tgt, (size_t)tgt_len);
	params[1] = db_text(changepw, (size_t)changepw_len);
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, count_sql, params, 2, store_int_cb, &others,
	    NULL));
	if (others != 0) {
		rc = store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_EXISTS,
		    "the store holds %lld principals besides %s and %s: an import "
		    "needs a fresh realm", (long long)others, tgt, changepw);
		goto cleanup;
	}
	/* The import's krbtgt replaces init's; so does its kadmin/changepw, if any. */
	GUARD_GOTO(rc, s->ops->exec(s, delete_sql, &params[0], 1, NULL, NULL, NULL));
	if (has_changepw)
		GUARD_GOTO(rc, s->ops->exec(s, delete_sql, &params[1], 1, NULL, NULL,
		    NULL));
	for (size_t i = 0; i < n; i++)
		GUARD_GOTO(rc, store_insert_new_principal(s, &list[i], now));
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

/* The highest kvno principal pid has, 0 if it has no key. */
lethe_status
store_max_kvno(store *s, int64_t pid, uint32_t *out)
{
	static const char sql[] =
	    "SELECT COALESCE(MAX(kvno), 0) FROM keys WHERE principal_id = $1";
	db_value param = db_int(pid);
	int64_t value = -1;

	GUARD(s->ops->exec(s, sql, &param, 1, store_int_cb, &value, NULL));
	ENSURE(value >= 0 && value <= UINT32_MAX, LETHE_ERR_FORMAT);
	*out = (uint32_t)value;
	return LETHE_OK;
}

/* Delete long-term keys of pid older than the newest `kept` kvnos. */
lethe_status
store_prune_long_term(store *s, int64_t pid, uint32_t kept)
{
	static const char sql[] =
	    "DELETE FROM keys WHERE principal_id = $1 AND kind = 'long-term' "
	    "AND kvno NOT IN (SELECT DISTINCT kvno FROM keys "
	    "WHERE principal_id = $1 AND kind = 'long-term' "
	    "ORDER BY kvno DESC LIMIT $2)";
	db_value params[2] = { db_int(pid), db_int(kept) };

	return s->ops->exec(s, sql, params, 2, NULL, NULL, NULL);
}

/* Set modified_at (and, if password is true, password_changed_at) to now. */
lethe_status
store_touch_principal(store *s, int64_t pid, int64_t now, bool password)
{
	static const char sql[] =
	    "UPDATE principals SET modified_at = $2, password_changed_at = "
	    "CASE WHEN $3 = 1 THEN $2 ELSE password_changed_at END WHERE id = $1";
	db_value params[3] = { db_int(pid), db_int(now), db_int(password) };

	return s->ops->exec(s, sql, params, 3, NULL, NULL, NULL);
}

lethe_status
store_principal_rekey(store *s, const char *name, const store_key *keys,
    size_t nkeys, uint32_t *new_kvno)
{
	int64_t pid = 0, now = now_seconds();
	uint32_t kvno = 0;
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	GUARD(check_keys(s, keys, nkeys, false));
	if (nkeys == 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "no keys given");
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, store_find_principal(s, name, &pid));
	GUARD_GOTO(rc, store_max_kvno(s, pid, &kvno));
	ENSURE_GOTO(rc, kvno < UINT32_MAX, store_fail(s, LETHE_ERR_TOO_BIG,
	    STORE_E_INVALID, "%s: kvno space exhausted", name));
	kvno++;
	for (size_t i = 0; i < nkeys; i++)
		GUARD_GOTO(rc, store_insert_key(s, pid, name, &keys[i], kvno,
		    STORE_KEY_LONG_TERM, now));
	GUARD_GOTO(rc, store_prune_long_term(s, pid, s->policy.kvnos_kept));
	GUARD_GOTO(rc, store_touch_principal(s, pid, now, true));
	store_note_change(s, name);
	GUARD_GOTO(rc, store_txn_commit(s));
	if (new_kvno != NULL)
		*new_kvno = kvno;
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_keys_add(store *s, const char *name, const store_key *keys, size_t nkeys)
{
	int64_t pid = 0, now = now_seconds();
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	GUARD(check_keys(s, keys, nkeys, true));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, store_find_principal(s, name, &pid));
	for (size_t i = 0; i < nkeys; i++) {
		rc = store_insert_key(s, pid, name, &keys[i], keys[i].kvno,
		    keys[i].kind, now);
		if (rc != LETHE_OK && s->err_kind == STORE_E_EXISTS)
			rc = store_fail(s, rc, STORE_E_EXISTS, "%s already has "
			    "kvno %u enctype %d", name, keys[i].kvno,
			    (int)keys[i].enctype);
		GUARD_GOTO(rc, rc);
	}
	GUARD_GOTO(rc, store_touch_principal(s, pid, now, false));
	store_note_change(s, name);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_keys_purge_expired(store *s, int64_t now, size_t *deleted)
{
	size_t count = 0;
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, store_delete_expired_keys(s, now, &count, NULL));
	GUARD_GOTO(rc, count > 0 ? store_txn_commit(s) : store_txn_end(s));
	if (deleted != NULL)
		*deleted = count;
cleanup:
	store_txn_abort(s);
	return rc;
}

/* Run one UPDATE or DELETE on principal name; no row is LETHE_ERR_NOT_FOUND. */
static lethe_status
change_principal(store *s, const char *name, const char *sql,
    const db_value *params, size_t nparams)
{
	int64_t changes = 0;
	lethe_status rc;

	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, sql, params, nparams, NULL, NULL, &changes));
	ENSURE_GOTO(rc, changes == 1, store_fail(s, LETHE_ERR_NOT_FOUND,
	    STORE_E_NOT_FOUND, "principal %s not found", name));
	store_note_change(s, name);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_principal_set_attributes(store *s, const char *name, uint32_t set,
    uint32_t clear)
{
	static const char sql[] =
	    "UPDATE principals SET attributes = ((attributes | $2) & ~$3), "
	    "modified_at = $4 WHERE name = $1";
	db_value params[4];

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	if (((set | clear) & ~STORE_ATTR_ALL) != 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "unknown attribute bits");
	params[0] = db_text(name, strlen(name));
	params[1] = db_int(set);
	params[2] = db_int(clear);
	params[3] = db_int(now_seconds());
	return change_principal(s, name, sql, params, 4);
}

lethe_status
store_principal_set_limits(store *s, const char *name, int64_t max_life,
    int64_t max_renew, int64_t expires_at)
{
	static const char sql[] =
	    "UPDATE principals SET max_life = $2, max_renew = $3, "
	    "expires_at = $4, modified_at = $5 WHERE name = $1";
	db_value params[5];

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	if (max_life < 0 || max_renew < 0 || expires_at < 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "negative limit");
	params[0] = db_text(name, strlen(name));
	params[1] = db_int(max_life);
	params[2] = db_int(max_renew);
	params[3] = db_int(expires_at);
	params[4] = db_int(now_seconds());
	return change_principal(s, name, sql, params, 5);
}

lethe_status
store_principal_delete(store *s, const char *name)
{
	static const char sql[] = "DELETE FROM principals WHERE name = $1";
	db_value param;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	param = db_text(name, strlen(name));
	return change_principal(s, name, sql, &param, 1);
}

/* ------------------------------------------------------------ listing */

void
store_name_list_free(store_name_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->entries[i].name);
	free(list->entries);
	free(list);
}

typedef struct list_builder {
	store_name_list *list;
	size_t cap;
} list_builder;

static lethe_status
list_row(void *ctx, const db_value *c, size_t n)
{
	list_builder *b = ctx;
	store_name_list *l = b->list;
	store_name_entry *e;

	ENSURE(n == 2, LETHE_ERR_FORMAT);
	if (l->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		store_name_entry *bigger;

		ENSURE(cap <= SIZE_MAX / sizeof(*bigger), LETHE_ERR_NOMEM);
		bigger = realloc(l->entries, cap * sizeof(*bigger));
		ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
		l->entries = bigger;
		b->cap = cap;
	}
	e = &l->entries[l->count];
	memset(e, 0, sizeof(*e));
	GUARD(store_principal_kind_parse(&c[1], &e->kind));
	GUARD(store_text_dup(&c[0], STORE_MAX_NAME_LEN, &e->name));
	l->count++;
	return LETHE_OK;
}

lethe_status
store_principal_list(store *s, store_name_list **out)
{
	static const char sql[] = "SELECT name, kind FROM principals ORDER BY name";
	list_builder b = { 0 };
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	b.list = calloc(1, sizeof(*b.list));
	ENSURE(b.list != NULL, LETHE_ERR_NOMEM);
	rc = s->ops->exec(s, sql, NULL, 0, list_row, &b, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	*out = b.list;
	b.list = NULL;
cleanup:
	store_name_list_free(b.list);
	return rc;
}

/* ------------------------------------------------------------ credentials */

void
store_credential_free(store_credential *c)
{
	if (c == NULL)
		return;
	if (c->key_pem != NULL)
		lethe_wipe(c->key_pem, c->key_pem_len);
	free(c->key_pem);
	free(c->cert_pem);
	free(c->name);
	free(c);
}

lethe_status
store_credential_put(store *s, const char *name, lbytes cert_pem, lbytes key_pem,
    int64_t not_after)
{
	static const char sql[] =
	    "INSERT INTO credentials (name, cert_pem, key_blob, not_after, "
	    "created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO "
	    "UPDATE SET cert_pem = excluded.cert_pem, key_blob = "
	    "excluded.key_blob, not_after = excluded.not_after, created_at = "
	    "excluded.created_at";
	uint8_t aad[STORE_AAD_MAX];
	uint8_t *blob = NULL;
	size_t aad_len = 0, blob_len = 0, blob_cap;
	db_value params[5];
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (store_bounded_len(name, STORE_MAX_CRED_NAME) == 0 || cert_pem.len == 0 ||
	    cert_pem.len > STORE_MAX_PEM_LEN || key_pem.len == 0 ||
	    key_pem.len > STORE_MAX_PEM_LEN ||
	    memchr(cert_pem.data, '\0', cert_pem.len) != NULL)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid credential name or PEM");
	blob_cap = store_sealed_len(key_pem.len);
	blob = malloc(blob_cap);
	ENSURE(blob != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, store_cred_aad(name, aad, sizeof(aad), &aad_len));
	rc = store_seal(s->seal_key, lbytes_make(aad, aad_len), key_pem, blob,
	    blob_cap, &blob_len);
	GUARD_GOTO(rc, rc == LETHE_OK ? rc : store_fail_status(s, rc, "encrypting"));
	params[0] = db_text(name, strlen(name));
	params[1] = db_text((const char *)cert_pem.data, cert_pem.len);
	params[2] = db_blob(blob, blob_len);
	params[3] = db_int(not_after);
	params[4] = db_int(now_seconds());
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, sql, params, 5, NULL, NULL, NULL));
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	free(blob);
	return rc;
}

typedef struct cred_reader {
	store *s;
	store_credential *cred;
} cred_reader;

static lethe_status
cred_row(void *ctx, const db_value *c, size_t n)
{
	cred_reader *r = ctx;
	store_credential *cred;
	uint8_t aad[STORE_AAD_MAX];
	size_t aad_len = 0, blob_len;
	lethe_status rc;

	ENSURE(n == 5 && r->cred == NULL, LETHE_ERR_FORMAT);
	ENSURE(c[2].type == DB_BLOB && c[2].len >= store_sealed_len(0) &&
	    c[3].type == DB_INT && c[4].type == DB_INT, LETHE_ERR_FORMAT);
	cred = r->cred = calloc(1, sizeof(*cred));
	ENSURE(cred != NULL, LETHE_ERR_NOMEM);
	GUARD(store_text_dup(&c[0], STORE_MAX_CRED_NAME, &cred->name));
	GUARD(store_text_dup(&c[1], STORE_MAX_PEM_LEN, &cred->cert_pem));
	cred->cert_pem_len = c[1].len;
	cred->not_after = c[3].i;
	cred->created_at = c[4].i;
	blob_len = c[2].len - store_sealed_len(0);
	ENSURE(blob_len <= STORE_MAX_PEM_LEN, LETHE_ERR_FORMAT);
	cred->key_pem = calloc(1, blob_len + 1);
	ENSURE(cred->key_pem != NULL, LETHE_ERR_NOMEM);
	GUARD(store_cred_aad(cred->name, aad, sizeof(aad), &aad_len));
	rc = store_unseal(r->s->seal_key, lbytes_make(aad, aad_len),
	    lbytes_make(c[2].data, c[2].len), cred->key_pem, blob_len + 1,
	    &cred->key_pem_len);
	if (rc != LETHE_OK)
		return store_fail(r->s, rc, STORE_E_MASTER_KEY, "private key of "
		    "credential %s does not decrypt", cred->name);
	return LETHE_OK;
}

lethe_status
store_credential_get(store *s, const char *name, store_credential **out)
{
	static const char sql[] =
	    "SELECT name, cert_pem, key_blob, not_after, created_at "
	    "FROM credentials WHERE name = $1";
	cred_reader r = { .s = s };
	db_value param;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	if (store_bounded_len(name, STORE_MAX_CRED_NAME) == 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid credential name");
	param = db_text(name, strlen(name));
	rc = s->ops->exec(s, sql, &param, 1, cred_row, &r, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	ENSURE_GOTO(rc, r.cred != NULL, store_fail(s, LETHE_ERR_NOT_FOUND,
	    STORE_E_NOT_FOUND, "credential %s not found", name));
	*out = r.cred;
	r.cred = NULL;
cleanup:
	store_credential_free(r.cred);
	return rc;
}
