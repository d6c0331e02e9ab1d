/*
 * Schema v5 of the store: password policies, the principals' policy and
 * password expiry, password history (kept as sealed keys, never as text),
 * the kadmin/changepw principal of the kpasswd service, and password
 * changes that honour a policy.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/wipe.h"
#include "crypto/crypto.h"
#include "store/password.h"

/* PostgreSQL reads BIGINT for INTEGER and BYTEA for BLOB (store_pg.c). */
static const char *const v5_statements[] = {
	"CREATE TABLE password_policies (\n"
	"  name TEXT PRIMARY KEY,\n"
	"  min_length INTEGER NOT NULL CHECK (min_length >= 0),\n"
	"  min_classes INTEGER NOT NULL CHECK (min_classes BETWEEN 0 AND 5),\n"
	"  history INTEGER NOT NULL CHECK (history BETWEEN 0 AND 64),\n"
	"  max_age INTEGER NOT NULL CHECK (max_age >= 0),\n"
	"  created_at INTEGER NOT NULL\n"
	")",
	"ALTER TABLE principals ADD COLUMN policy TEXT",
	"ALTER TABLE principals ADD COLUMN password_expires_at BIGINT NOT NULL DEFAULT 0",
	"CREATE TABLE password_history (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  principal_id INTEGER NOT NULL REFERENCES principals (id) ON DELETE CASCADE,\n"
	"  kvno INTEGER NOT NULL,\n"
	"  enctype INTEGER NOT NULL,\n"
	"  key_blob BLOB NOT NULL,\n"
	"  added_at INTEGER NOT NULL\n"
	")",
	"CREATE INDEX password_history_principal ON password_history (principal_id, kvno)",
};

static int64_t
now_seconds(void)
{
	return (int64_t)time(NULL);
}

/* kadmin/changepw@REALM with random keys, as MIT's: a service whose tickets last 5 min. */
static lethe_status
add_changepw(store *s)
{
	char name[STORE_MAX_NAME_LEN + 1];
	store_key keys[STORE_MAX_ENCTYPES];
	store_principal p = { 0 };
	kt_principal kp = { 0 };
	int64_t pid = 0;
	size_t nkeys = 0;
	lethe_status rc;

	memset(keys, 0, sizeof(keys));
	ENSURE((size_t)snprintf(name, sizeof(name), STORE_CHANGEPW_NAME "@%s",
	    s->policy.realm) < sizeof(name), LETHE_ERR_TOO_BIG);
	rc = store_find_principal(s, name, &pid);
	if (rc == LETHE_OK)
		return LETHE_OK;        /* made by hand before v5: keep it */
	ENSURE(rc == LETHE_ERR_NOT_FOUND, rc);
	store_clear_error(s);
	GUARD_GOTO(rc, kt_principal_parse(name, strlen(name), NULL, &kp));
	GUARD_GOTO(rc, store_password_keys(&s->policy, &kp, NULL, 1, keys, &nkeys));
	p.name = name;
	p.kind = STORE_KIND_SERVICE;
	p.attributes = STORE_ATTR_DEFAULT_SERVICE;
	p.max_life = STORE_CHANGEPW_MAX_LIFE;
	p.keys = keys;
	p.nkeys = nkeys;
	rc = store_insert_new_principal(s, &p, now_seconds());
cleanup:
	lethe_wipe(keys, sizeof(keys));
	kt_principal_clear(&kp);
	return rc;
}

lethe_status
store_schema_add_v5(store *s, bool changepw)
{
	for (size_t i = 0; i < sizeof(v5_statements) / sizeof(v5_statements[0]); i++)
		GUARD(s->ops->exec(s, v5_statements[i], NULL, 0, NULL, NULL, NULL));
	return changepw ? add_changepw(s) : LETHE_OK;
}

lethe_status
store_changepw_add(store *s)
{
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, add_changepw(s));
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

/* ------------------------------------------------------------ policies */

static lethe_status
check_policy_name(store *s, const char *name)
{
	if (!store_plain_name_ok(name, STORE_MAX_POLICY_NAME))
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "a policy name is 1 to %u characters of A-Z a-z 0-9 . _ -",
		    STORE_MAX_POLICY_NAME);
	return LETHE_OK;
}

lethe_status
store_pw_policy_exists(store *s, const char *name)
{
	static const char sql[] = "SELECT COUNT(*) FROM password_policies WHERE name = $1";
	db_value param;
	int64_t n = 0;

	GUARD(check_policy_name(s, name));
	param = db_text(name, strlen(name));
	GUARD(s->ops->exec(s, sql, &param, 1, store_int_cb, &n, NULL));
	if (n != 1)
		return store_fail(s, LETHE_ERR_NOT_FOUND, STORE_E_NOT_FOUND,
		    "password policy %s not found", name);
	return LETHE_OK;
}

lethe_status
store_pw_policy_put(store *s, const store_pw_policy *p, bool create)
{
	static const char insert_sql[] =
	    "INSERT INTO password_policies (name, min_length, min_classes, history, "
	    "max_age, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
	static const char update_sql[] =
	    "UPDATE password_policies SET min_length = $2, min_classes = $3, "
	    "history = $4, max_age = $5 WHERE name = $1";
	db_value params[6];
	int64_t changes = 0;
	lethe_status rc;

	ENSURE(s != NULL && p != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(check_policy_name(s, p->name));
	if (p->min_classes > STORE_MAX_PW_CLASSES || p->history > STORE_MAX_PW_HISTORY ||
	    p->min_length > 1024 || p->max_age < 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "policy limits out of range (classes 0-%u, history 0-%u, length 0-1024)",
		    STORE_MAX_PW_CLASSES, STORE_MAX_PW_HISTORY);
	params[0] = db_text(p->name, strlen(p->name));
	params[1] = db_int(p->min_length);
	params[2] = db_int(p->min_classes);
	params[3] = db_int(p->history);
	params[4] = db_int(p->max_age);
	params[5] = db_int(now_seconds());
	GUARD_GOTO(rc, store_txn_begin(s, true));
	rc = s->ops->exec(s, create ? insert_sql : update_sql, params, create ? 6 : 5, NULL,
	    NULL, &changes);
	if (rc != LETHE_OK && s->err_kind == STORE_E_EXISTS)
		rc = store_fail(s, rc, STORE_E_EXISTS, "password policy %s already exists",
		    p->name);
	GUARD_GOTO(rc, rc);
	ENSURE_GOTO(rc, changes == 1, store_fail(s, LETHE_ERR_NOT_FOUND, STORE_E_NOT_FOUND,
	    "password policy %s not found", p->name));
	/* max_age moves the expiry of every principal that follows it. */
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

#define POLICY_SELECT                                                          \
	"SELECT name, min_length, min_classes, history, max_age, created_at, "     \
	"(SELECT COUNT(*) FROM principals p WHERE p.policy = pp.name) "            \
	"FROM password_policies pp "

typedef struct policy_rows {
	store_pw_policy *list;
	size_t n, cap;
} policy_rows;

static lethe_status
policy_row_cb(void *ctx, const db_value *c, size_t n)
{
	policy_rows *rows = ctx;
	store_pw_policy *p;

	ENSURE(n == 7 && c[0].type == DB_TEXT && c[0].len <= STORE_MAX_POLICY_NAME,
	    LETHE_ERR_FORMAT);
	for (size_t i = 1; i < 7; i++)
		ENSURE(c[i].type == DB_INT && c[i].i >= 0, LETHE_ERR_FORMAT);
	ENSURE(c[1].i <= UINT32_MAX && c[2].i <= STORE_MAX_PW_CLASSES &&
	    c[3].i <= STORE_MAX_PW_HISTORY, LETHE_ERR_FORMAT);
	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 8;
		store_pw_policy *bigger = realloc(rows->list, cap * sizeof(*bigger));

		ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
		rows->list = bigger;
		rows->cap = cap;
	}
	p = &rows->list[rows->n++];
	memset(p, 0, sizeof(*p));
	memcpy(p->name, c[0].data, c[0].len);
	p->min_length = (uint32_t)c[1].i;
	p->min_classes = (uint32_t)c[2].i;
	p->history = (uint32_t)c[3].i;
	p->max_age = c[4].i;
	p->created_at = c[5].i;
	p->principals = (uint64_t)c[6].i;
	return LETHE_OK;
}

/* The policies sql selects (with param, may be NULL), inside the caller's transaction. */
static lethe_status
read_policies(store *s, const char *sql, const db_value *param, policy_rows *rows)
{
	lethe_status rc;

	rc = s->ops->exec(s, sql, param, param != NULL ? 1 : 0, policy_row_cb, rows, NULL);
	return store_collect_status(s, rc);
}

lethe_status
store_pw_policy_get(store *s, const char *name, store_pw_policy *out)
{
	static const char sql[] = POLICY_SELECT "WHERE pp.name = $1";
	policy_rows rows = { 0 };
	db_value param;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(check_policy_name(s, name));
	param = db_text(name, strlen(name));
	GUARD_GOTO(rc, store_txn_begin(s, false));
	GUARD_GOTO(rc, read_policies(s, sql, &param, &rows));
	GUARD_GOTO(rc, store_txn_end(s));
	ENSURE_GOTO(rc, rows.n == 1, store_fail(s, LETHE_ERR_NOT_FOUND, STORE_E_NOT_FOUND,
	    "password policy %s not found", name));
	*out = rows.list[0];
cleanup:
	store_txn_abort(s);
	free(rows.list);
	return rc;
}

lethe_status
store_pw_policy_list(store *s, store_pw_policy **out, size_t *n)
{
	static const char sql[] = POLICY_SELECT "ORDER BY pp.name";
	policy_rows rows = { 0 };
	lethe_status rc;

	ENSURE(s != NULL && out != NULL && n != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	*n = 0;
	store_clear_error(s);
	GUARD_GOTO(rc, store_txn_begin(s, false));
	GUARD_GOTO(rc, read_policies(s, sql, NULL, &rows));
	GUARD_GOTO(rc, store_txn_end(s));
	*out = rows.list;
	*n = rows.n;
	rows.list = NULL;
cleanup:
	store_txn_abort(s);
	free(rows.list);
	return rc;
}

lethe_status
store_pw_policy_delete(store *s, const char *name)
{
	static const char used_sql[] = "SELECT COUNT(*) FROM principals WHERE policy = $1";
	static const char delete_sql[] = "DELETE FROM password_policies WHERE name = $1";
	db_value param;
	int64_t used = 0, changes = 0;
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(check_policy_name(s, name));
	param = db_text(name, strlen(name));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, used_sql, &param, 1, store_int_cb, &used, NULL));
	ENSURE_GOTO(rc, used == 0, store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_EXISTS,
	    "password policy %s is in use by %lld principal(s)", name, (long long)used));
	GUARD_GOTO(rc, s->ops->exec(s, delete_sql, &param, 1, NULL, NULL, &changes));
	ENSURE_GOTO(rc, changes == 1, store_fail(s, LETHE_ERR_NOT_FOUND, STORE_E_NOT_FOUND,
	    "password policy %s not found", name));
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

/* One UPDATE of principal name's v5 columns, in a write transaction of its own. */
static lethe_status
update_principal(store *s, const char *name, const char *sql, db_value value)
{
	db_value params[3];
	int64_t pid = 0;
	lethe_status rc;

	GUARD(store_check_name(s, name));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, store_find_principal(s, name, &pid));
	params[0] = db_int(pid);
	params[1] = value;
	params[2] = db_int(now_seconds());
	GUARD_GOTO(rc, s->ops->exec(s, sql, params, 3, NULL, NULL, NULL));
	store_note_change(s, name);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_principal_set_policy(store *s, const char *name, const char *policy)
{
	static const char sql[] =
	    "UPDATE principals SET policy = $2, modified_at = $3 WHERE id = $1";

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (policy != NULL) {
		lethe_status rc;

		GUARD(store_txn_begin(s, false));
		rc = store_pw_policy_exists(s, policy);
		if (rc == LETHE_OK)
			rc = store_txn_end(s);
		store_txn_abort(s);
		GUARD(rc);
	}
	return update_principal(s, name, sql, policy != NULL ?
	    db_text(policy, strlen(policy)) : db_null());
}

lethe_status
store_principal_expire_password(store *s, const char *name, int64_t when)
{
	static const char sql[] =
	    "UPDATE principals SET password_expires_at = $2, modified_at = $3 WHERE id = $1";

	ENSURE(s != NULL && when >= 0, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	return update_principal(s, name, sql, db_int(when));
}

/* ------------------------------------------------------------ password changes */

/* The principal row a password change needs. */
typedef struct pw_target {
	int64_t id;
	bool is_user;
	bool has_policy;
	store_pw_policy policy;
} pw_target;

static lethe_status
target_cb(void *ctx, const db_value *c, size_t n)
{
	pw_target *t = ctx;

	ENSURE(n == 6 && c[0].type == DB_INT && c[1].type == DB_TEXT, LETHE_ERR_FORMAT);
	t->id = c[0].i;
	t->is_user = c[1].len == 4 && memcmp(c[1].data, "user", 4) == 0;
	t->has_policy = c[2].type == DB_INT;
	if (t->has_policy) {
		for (size_t i = 2; i < 6; i++)
			ENSURE(c[i].type == DB_INT && c[i].i >= 0, LETHE_ERR_FORMAT);
		ENSURE(c[2].i <= 1024 && c[3].i <= STORE_MAX_PW_CLASSES &&
		    c[4].i <= STORE_MAX_PW_HISTORY, LETHE_ERR_FORMAT);
		t->policy.min_length = (uint32_t)c[2].i;
		t->policy.min_classes = (uint32_t)c[3].i;
		t->policy.history = (uint32_t)c[4].i;
		t->policy.max_age = c[5].i;
	}
	return LETHE_OK;
}

static lethe_status
read_target(store *s, const char *name, pw_target *t)
{
	static const char sql[] =
	    "SELECT p.id, p.kind, pp.min_length, pp.min_classes, pp.history, pp.max_age "
	    "FROM principals p LEFT JOIN password_policies pp "
	    "ON pp.name = COALESCE(p.policy, '" STORE_DEFAULT_POLICY "') WHERE p.name = $1";
	db_value param = db_text(name, strlen(name));
	lethe_status rc;

	memset(t, 0, sizeof(*t));
	rc = s->ops->exec(s, sql, &param, 1, target_cb, t, NULL);
	GUARD(store_collect_status(s, rc));
	if (t->id <= 0)
		return store_fail(s, LETHE_ERR_NOT_FOUND, STORE_E_NOT_FOUND,
		    "principal %s not found", name);
	return LETHE_OK;
}

/* Character classes of pw: lower, upper, digit, punctuation, anything else. */
static unsigned
char_classes(const char *pw)
{
	bool seen[STORE_MAX_PW_CLASSES] = { false };
	unsigned n = 0;

	for (const unsigned char *p = (const unsigned char *)pw; *p != '\0'; p++) {
		unsigned c;

		if (*p >= 'a' && *p <= 'z')
			c = 0;
		else if (*p >= 'A' && *p <= 'Z')
			c = 1;
		else if (*p >= '0' && *p <= '9')
			c = 2;
		else if (*p > ' ' && *p < 0x7f)
			c = 3;
		else
			c = 4;
		seen[c] = true;
	}
	for (size_t i = 0; i < STORE_MAX_PW_CLASSES; i++)
		n += seen[i];
	return n;
}

/* The remembered keys of pid, newest first: checked by reuse_cb. */
typedef struct reuse_check {
	store *s;
	const char *name;
	const char *password;
	const kt_principal *kp;
	uint32_t left;            /* rows still to compare */
	bool reused;
} reuse_check;

/* pw's key of enctype (default salt) into out; LETHE_ERR_ETYPE_NOSUPP when unknown. */
static lethe_status
derive_one(const kt_principal *kp, const char *pw, int32_t enctype, store_key *out)
{
	store_realm_policy one = { .nenctypes = 1 };
	size_t n = 0;

	one.enctypes[0] = enctype;
	return store_password_keys(&one, kp, pw, 0, out, &n);
}

static lethe_status
reuse_cb(void *ctx, const db_value *c, size_t n)
{
	reuse_check *rc = ctx;
	uint8_t aad[STORE_AAD_MAX], old[STORE_MAX_KEY_LEN];
	size_t aad_len = 0, old_len = 0;
	store_key cand;
	lethe_status st;

	if (rc->left == 0 || rc->reused)
		return LETHE_OK;
	rc->left--;
	ENSURE(n == 3 && c[0].type == DB_INT && c[0].i >= 0 && c[0].i <= UINT32_MAX &&
	    c[1].type == DB_INT && c[1].i > 0 && c[1].i <= INT32_MAX && c[2].type == DB_BLOB,
	    LETHE_ERR_FORMAT);
	GUARD(store_history_aad(rc->name, (uint32_t)c[0].i, (int32_t)c[1].i, aad, sizeof(aad),
	    &aad_len));
	GUARD(store_unseal(rc->s->seal_key, lbytes_make(aad, aad_len),
	    lbytes_make(c[2].data, c[2].len), old, sizeof(old), &old_len));
	memset(&cand, 0, sizeof(cand));
	st = derive_one(rc->kp, rc->password, (int32_t)c[1].i, &cand);
	if (st == LETHE_OK && cand.key_len == old_len &&
	    CRYPTO_memcmp(cand.key, old, old_len) == 0)
		rc->reused = true;
	lethe_wipe(&cand, sizeof(cand));
	lethe_wipe(old, sizeof(old));
	return st == LETHE_ERR_ETYPE_NOSUPP ? LETHE_OK : st;
}

/* Is password one of the last `history` passwords of pid (its history rows)? */
static lethe_status
check_history(store *s, const char *name, const kt_principal *kp, const pw_target *t,
    const char *password, bool *reused)
{
	static const char sql[] =
	    "SELECT kvno, enctype, key_blob FROM password_history WHERE principal_id = $1 "
	    "ORDER BY kvno DESC, id DESC";
	reuse_check rc = { s, name, password, kp, t->policy.history, false };
	db_value param = db_int(t->id);

	*reused = false;
	if (!t->has_policy || t->policy.history == 0)
		return LETHE_OK;
	GUARD(store_collect_status(s, s->ops->exec(s, sql, &param, 1, reuse_cb, &rc, NULL)));
	*reused = rc.reused;
	return LETHE_OK;
}

/* Remember the new password as its first key; keep at most keep rows (0: none). */
static lethe_status
remember(store *s, const char *name, int64_t pid, uint32_t kvno, const store_key *key,
    uint32_t keep, int64_t now)
{
	static const char insert_sql[] =
	    "INSERT INTO password_history (principal_id, kvno, enctype, key_blob, added_at) "
	    "VALUES ($1, $2, $3, $4, $5)";
	static const char prune_sql[] =
	    "DELETE FROM password_history WHERE principal_id = $1 AND id NOT IN "
	    "(SELECT id FROM password_history WHERE principal_id = $1 "
	    "ORDER BY kvno DESC, id DESC LIMIT $2)";
	uint8_t aad[STORE_AAD_MAX], blob[1 + 12 + STORE_MAX_KEY_LEN + 16];
	size_t aad_len = 0, blob_len = 0;
	db_value params[5];

	if (keep > 0) {
		GUARD(store_history_aad(name, kvno, key->enctype, aad, sizeof(aad), &aad_len));
		GUARD(store_seal(s->seal_key, lbytes_make(aad, aad_len),
		    lbytes_make(key->key, key->key_len), blob, sizeof(blob), &blob_len));
		params[0] = db_int(pid);
		params[1] = db_int(kvno);
		params[2] = db_int(key->enctype);
		params[3] = db_blob(blob, blob_len);
		params[4] = db_int(now);
		GUARD(s->ops->exec(s, insert_sql, params, 5, NULL, NULL, NULL));
	}
	params[0] = db_int(pid);
	params[1] = db_int(keep);
	return s->ops->exec(s, prune_sql, params, 2, NULL, NULL, NULL);
}

enum store_pw_verdict
store_pw_policy_check(const store_pw_policy *p, const char *password, char *why, size_t cap)
{
	if (strlen(password) < p->min_length) {
		snprintf(why, cap, "Password is too short: the policy asks for at least %u "
		    "characters", (unsigned)p->min_length);
		return STORE_PW_TOO_SHORT;
	}
	if (char_classes(password) < p->min_classes) {
		snprintf(why, cap, "Password does not contain enough character classes: the "
		    "policy asks for %u of lower case, upper case, digits, punctuation, other",
		    (unsigned)p->min_classes);
		return STORE_PW_TOO_FEW_CLASSES;
	}
	return STORE_PW_OK;
}

lethe_status
store_principal_set_password(store *s, const char *name, const char *password,
    uint32_t *new_kvno, enum store_pw_verdict *verdict, char *why, size_t cap)
{
	static const char clear_sql[] =
	    "UPDATE principals SET password_expires_at = 0 WHERE id = $1";
	store_key keys[STORE_MAX_ENCTYPES];
	kt_principal kp = { 0 };
	pw_target t;
	db_value param;
	int64_t now = now_seconds();
	uint32_t kvno = 0;
	size_t nkeys = 0;
	bool reused = false;
	lethe_status rc;

	ENSURE(s != NULL && password != NULL && verdict != NULL && why != NULL && cap > 0,
	    LETHE_ERR_INVALID_ARG);
	*verdict = STORE_PW_OK;
	why[0] = '\0';
	memset(keys, 0, sizeof(keys));
	store_clear_error(s);
	GUARD(store_check_name(s, name));
	GUARD_GOTO(rc, kt_principal_parse(name, strlen(name), NULL, &kp));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, read_target(s, name, &t));
	ENSURE_GOTO(rc, t.is_user, store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
	    "%s is not a user: its keys are no password", name));
	if (t.has_policy)
		*verdict = store_pw_policy_check(&t.policy, password, why, cap);
	if (*verdict == STORE_PW_OK) {
		GUARD_GOTO(rc, check_history(s, name, &kp, &t, password, &reused));
		if (reused) {
			*verdict = STORE_PW_REUSED;
			snprintf(why, cap, "Cannot reuse password: it is one of the last %u",
			    (unsigned)t.policy.history);
		}
	}
	if (*verdict != STORE_PW_OK) {
		rc = store_txn_end(s);
		goto cleanup;
	}
	GUARD_GOTO(rc, store_password_keys(&s->policy, &kp, password, 0, keys, &nkeys));
	GUARD_GOTO(rc, store_max_kvno(s, t.id, &kvno));
	ENSURE_GOTO(rc, kvno < UINT32_MAX, store_fail(s, LETHE_ERR_TOO_BIG, STORE_E_INVALID,
	    "%s: kvno space exhausted", name));
	kvno++;
	for (size_t i = 0; i < nkeys; i++)
		GUARD_GOTO(rc, store_insert_key(s, t.id, name, &keys[i], kvno,
		    STORE_KEY_LONG_TERM, now));
	GUARD_GOTO(rc, store_prune_long_term(s, t.id, s->policy.kvnos_kept));
	GUARD_GOTO(rc, store_touch_principal(s, t.id, now, true));
	param = db_int(t.id);
	GUARD_GOTO(rc, s->ops->exec(s, clear_sql, &param, 1, NULL, NULL, NULL));
	GUARD_GOTO(rc, remember(s, name, t.id, kvno, &keys[0],
	    t.has_policy ? t.policy.history : 0, now));
	store_note_change(s, name);
	GUARD_GOTO(rc, store_txn_commit(s));
	if (new_kvno != NULL)
		*new_kvno = kvno;
cleanup:
	store_txn_abort(s);
	lethe_wipe(keys, sizeof(keys));
	kt_principal_clear(&kp);
	return rc;
}
