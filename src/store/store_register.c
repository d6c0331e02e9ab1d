/*
 * Registration of temporary keys: the one transaction that records the
 * nonce, the keys and the agent, and the agents table.
 */
#include "base/wipe.h"
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

const char *
store_reg_outcome_name(enum store_reg_outcome outcome)
{
	switch (outcome) {
	case STORE_REG_OK:
		return "ok";
	case STORE_REG_ALREADY:
		return "already";
	case STORE_REG_REPLAY:
		return "replay";
	case STORE_REG_KVNO_EXISTS:
		return "kvno-exists";
	case STORE_REG_NOT_ALLOWED:
		return "not-allowed";
	case STORE_REG_TOO_MANY_KEYS:
		return "too-many-keys";
	}
	return NULL;
}

/* 64 lowercase hex digits. */
static bool
spki_hex_ok(const char *text)
{
	if (text == NULL || strnlen(text, STORE_SPKI_HEX_LEN + 1) !=
	    STORE_SPKI_HEX_LEN)
		return false;
	for (size_t i = 0; i < STORE_SPKI_HEX_LEN; i++)
		if (!((text[i] >= '0' && text[i] <= '9') ||
		    (text[i] >= 'a' && text[i] <= 'f')))
			return false;
	return true;
}

/* "host:port": 1..STORE_MAX_CALLBACK_LEN printable bytes, no space. */
static bool
callback_ok(const char *text)
{
	size_t len = store_bounded_len(text, STORE_MAX_CALLBACK_LEN);

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] <= ' ' || text[i] == 0x7f)
			return false;
	return true;
}

static bool
reg_key_ok(const store_key *k, int64_t now)
{
	return k->key_len > 0 && k->key_len <= STORE_MAX_KEY_LEN &&
	    k->enctype != 0 && k->use_until > now &&
	    k->accept_until >= k->use_until;
}

/* The request's fields within their bounds; each (kvno, enctype) once. */
static lethe_status
check_registration(store *s, const store_registration *r)
{
	bool ok = r->now > 0 && r->nonce_expires_at > r->now &&
	    r->keys != NULL && r->nkeys > 0 && r->nkeys <= STORE_MAX_REG_KEYS &&
	    spki_hex_ok(r->registered_by) &&
	    (r->callback == NULL || callback_ok(r->callback)) &&
	    r->cert_pem.len <= STORE_MAX_PEM_LEN &&
	    (r->cert_pem.len == 0 || (r->cert_pem.data != NULL &&
	    memchr(r->cert_pem.data, '\0', r->cert_pem.len) == NULL));

	for (size_t i = 0; ok && i < r->nkeys; i++) {
		ok = reg_key_ok(&r->keys[i], r->now);
		for (size_t j = 0; ok && j < i; j++)
			ok = r->keys[j].kvno != r->keys[i].kvno ||
			    r->keys[j].enctype != r->keys[i].enctype;
	}
	if (!ok)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid registration (times, keys, nonce, spki or callback)");
	return LETHE_OK;
}

/* Purge expired nonces and record r's; *fresh false when it was seen. */
static lethe_status
record_nonce(store *s, const store_registration *r, bool *fresh)
{
	static const char purge_sql[] =
	    "DELETE FROM seen_nonces WHERE expires_at <= $1";
	static const char insert_sql[] =
	    "INSERT INTO seen_nonces (nonce, expires_at) VALUES ($1, $2) "
	    "ON CONFLICT (nonce) DO NOTHING";
	db_value now = db_int(r->now);
	db_value params[2] = { db_blob(r->nonce, sizeof(r->nonce)),
	    db_int(r->nonce_expires_at) };
	int64_t changes = 0;

	GUARD(s->ops->exec(s, purge_sql, &now, 1, NULL, NULL, NULL));
	GUARD(s->ops->exec(s, insert_sql, params, 2, NULL, NULL, &changes));
	*fresh = changes == 1;
	return LETHE_OK;
}

typedef struct principal_row {
	int64_t id;
	enum store_principal_kind kind;
} principal_row;

static lethe_status
principal_row_cb(void *ctx, const db_value *c, size_t n)
{
	principal_row *row = ctx;

	ENSURE(n == 2 && c[0].type == DB_INT && c[0].i > 0, LETHE_ERR_FORMAT);
	row->id = c[0].i;
	return store_principal_kind_parse(&c[1], &row->kind);
}

/*
 * The principal of r (created as kind agent when absent) into *row.
 * row->kind tells the caller whether registering is allowed.
 */
static lethe_status
principal_for_registration(store *s, const store_registration *r,
    principal_row *row)
{
	static const char find_sql[] =
	    "SELECT id, kind FROM principals WHERE name = $1";
	static const char insert_sql[] =
	    "INSERT INTO principals (name, kind, attributes, created_at, "
	    "modified_at) VALUES ($1, 'agent', $2, $3, $3) RETURNING id";
	db_value name = db_text(r->principal, strlen(r->principal));
	db_value params[3] = { name, db_int(STORE_ATTR_DEFAULT_SERVICE),
	    db_int(r->now) };

	row->id = 0;
	GUARD(s->ops->exec(s, find_sql, &name, 1, principal_row_cb, row, NULL));
	if (row->id != 0)
		return LETHE_OK;
	GUARD(s->ops->exec(s, insert_sql, params, 3, store_int_cb, &row->id,
	    NULL));
	ENSURE(row->id > 0, LETHE_ERR_FORMAT);
	row->kind = STORE_KIND_AGENT;
	return LETHE_OK;
}

/* How the keys principal pid holds under r's kvnos meet r's keys. */
enum kvnos_state {
	KVNOS_NEW,      /* no key under any of them */
	KVNOS_SAME,     /* exactly r's keys: a repeated registration */
	KVNOS_TAKEN,    /* anything else */
};

/* The rows under one kvno, compared with r's keys as they are read. */
typedef struct kvno_compare {
	store *s;
	const store_registration *r;
	uint32_t kvno;
	size_t rows;            /* rows read */
	size_t same;            /* rows equal to one of r's keys */
} kvno_compare;

/*
 * Row callback (enctype, kind, key_blob, use_until, accept_until): does
 * the row equal r's key of the same kvno and enctype? The stored key is
 * unsealed into a buffer that is wiped before returning, and compared in
 * constant time.
 */
static lethe_status
kvno_compare_row(void *ctx, const db_value *c, size_t n)
{
	kvno_compare *cmp = ctx;
	const store_key *want = NULL;
	enum store_key_kind kind;
	uint8_t aad[STORE_AAD_MAX], key[STORE_MAX_KEY_LEN];
	size_t aad_len = 0, key_len = 0;
	lethe_status rc;

	ENSURE(n == 5 && c[0].type == DB_INT && c[0].i >= INT32_MIN &&
	    c[0].i <= INT32_MAX && c[2].type == DB_BLOB && c[3].type == DB_INT &&
	    c[4].type == DB_INT, LETHE_ERR_FORMAT);
	GUARD(store_key_kind_parse(&c[1], &kind));
	cmp->rows++;
	for (size_t i = 0; i < cmp->r->nkeys && want == NULL; i++)
		if (cmp->r->keys[i].kvno == cmp->kvno &&
		    cmp->r->keys[i].enctype == (int32_t)c[0].i)
			want = &cmp->r->keys[i];
	if (want == NULL || kind != STORE_KEY_TEMPORARY ||
	    c[3].i != want->use_until || c[4].i != want->accept_until)
		return LETHE_OK;
	GUARD(store_key_aad(cmp->r->principal, cmp->kvno, want->enctype, aad,
	    sizeof(aad), &aad_len));
	rc = store_unseal(cmp->s->seal_key, lbytes_make(aad, aad_len),
	    lbytes_make(c[2].data, c[2].len), key, sizeof(key), &key_len);
	if (rc != LETHE_OK) {
		rc = store_fail(cmp->s, rc == LETHE_ERR_TOO_BIG ? LETHE_ERR_FORMAT :
		    rc, STORE_E_MASTER_KEY, "key kvno %u enctype %d of %s does not "
		    "decrypt: the row was altered or moved", (unsigned)cmp->kvno,
		    (int)want->enctype, cmp->r->principal);
		goto cleanup;
	}
	if (key_len == want->key_len &&
	    CRYPTO_memcmp(key, want->key, key_len) == 0)
		cmp->same++;
cleanup:
	lethe_wipe(key, sizeof(key));
	return rc;
}

/* *state = how principal pid's keys under r's kvnos meet r's keys. */
static lethe_status
kvnos_check(store *s, int64_t pid, const store_registration *r,
    enum kvnos_state *state)
{
	static const char sql[] =
	    "SELECT enctype, kind, key_blob, use_until, accept_until FROM keys "
	    "WHERE principal_id = $1 AND kvno = $2";
	size_t rows = 0, same = 0;

	*state = KVNOS_NEW;
	for (size_t i = 0; i < r->nkeys; i++) {
		kvno_compare cmp = { s, r, r->keys[i].kvno, 0, 0 };
		db_value params[2] = { db_int(pid), db_int(r->keys[i].kvno) };
		bool earlier = false;

		for (size_t j = 0; j < i && !earlier; j++)
			earlier = r->keys[j].kvno == r->keys[i].kvno;
		if (earlier)
			continue;
		GUARD(store_collect_status(s, s->ops->exec(s, sql, params, 2,
		    kvno_compare_row, &cmp, NULL)));
		rows += cmp.rows;
		same += cmp.same;
	}
	/* Each of r's keys matches one row at most: all matched, none more. */
	if (rows == 0)
		*state = KVNOS_NEW;
	else if (rows == same && same == r->nkeys)
		*state = KVNOS_SAME;
	else
		*state = KVNOS_TAKEN;
	return LETHE_OK;
}

/*
 * Delete pid's temporary keys past accept_until, then *room = whether its
 * remaining keys and r's fit in STORE_MAX_KEYS.
 */
static lethe_status
make_room(store *s, int64_t pid, const store_registration *r, bool *room)
{
	static const char purge_sql[] =
	    "DELETE FROM keys WHERE principal_id = $1 AND kind = 'temporary' "
	    "AND accept_until <> 0 AND accept_until <= $2";
	static const char count_sql[] =
	    "SELECT COUNT(*) FROM keys WHERE principal_id = $1";
	db_value params[2] = { db_int(pid), db_int(r->now) };
	int64_t count = -1;

	GUARD(s->ops->exec(s, purge_sql, params, 2, NULL, NULL, NULL));
	GUARD(s->ops->exec(s, count_sql, params, 1, store_int_cb, &count, NULL));
	ENSURE(count >= 0, LETHE_ERR_FORMAT);
	*room = (uint64_t)count + r->nkeys <= STORE_MAX_KEYS;
	return LETHE_OK;
}

static lethe_status
insert_temporary_keys(store *s, int64_t pid, const store_registration *r)
{
	store_key k;
	lethe_status rc = LETHE_OK;

	for (size_t i = 0; i < r->nkeys && rc == LETHE_OK; i++) {
		memset(&k, 0, sizeof(k));
		k.enctype = r->keys[i].enctype;
		memcpy(k.key, r->keys[i].key, r->keys[i].key_len);
		k.key_len = r->keys[i].key_len;
		k.registered_at = r->now;
		k.use_until = r->keys[i].use_until;
		k.accept_until = r->keys[i].accept_until;
		k.registered_by = (char *)r->registered_by;
		rc = store_insert_key(s, pid, r->principal, &k, r->keys[i].kvno,
		    STORE_KEY_TEMPORARY, r->now);
	}
	lethe_wipe(&k, sizeof(k));
	return rc;
}

static lethe_status
upsert_agent(store *s, const store_registration *r)
{
	static const char sql[] =
	    "INSERT INTO agents (principal, callback, spki_sha256, cert_pem, "
	    "last_registered_at) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT (principal) DO UPDATE SET callback = excluded.callback, "
	    "spki_sha256 = excluded.spki_sha256, cert_pem = excluded.cert_pem, "
	    "last_registered_at = excluded.last_registered_at";
	db_value params[5];

	params[0] = db_text(r->principal, strlen(r->principal));
	params[1] = r->callback != NULL ?
	    db_text(r->callback, strlen(r->callback)) : db_null();
	params[2] = db_text(r->registered_by, strlen(r->registered_by));
	params[3] = r->cert_pem.len > 0 ? db_text((const char *)r->cert_pem.data,
	    r->cert_pem.len) : db_null();
	params[4] = db_int(r->now);
	return s->ops->exec(s, sql, params, 5, NULL, NULL, NULL);
}

/* The steps of the transaction; *outcome is set on a refusal. */
static lethe_status
register_in_txn(store *s, const store_registration *r,
    enum store_reg_outcome *outcome)
{
	principal_row row = { 0 };
	enum kvnos_state kvnos = KVNOS_NEW;
	bool fresh = false, room = false;

	GUARD(record_nonce(s, r, &fresh));
	if (!fresh) {
		*outcome = STORE_REG_REPLAY;
		return LETHE_OK;
	}
	GUARD(principal_for_registration(s, r, &row));
	if (row.kind == STORE_KIND_USER || row.kind == STORE_KIND_KRBTGT) {
		*outcome = STORE_REG_NOT_ALLOWED;
		return LETHE_OK;
	}
	GUARD(kvnos_check(s, row.id, r, &kvnos));
	if (kvnos == KVNOS_SAME) {
		*outcome = STORE_REG_ALREADY;
		return LETHE_OK;
	}
	if (kvnos == KVNOS_TAKEN) {
		*outcome = STORE_REG_KVNO_EXISTS;
		return LETHE_OK;
	}
	GUARD(make_room(s, row.id, r, &room));
	if (!room) {
		*outcome = STORE_REG_TOO_MANY_KEYS;
		return LETHE_OK;
	}
	GUARD(insert_temporary_keys(s, row.id, r));
	GUARD(upsert_agent(s, r));
	GUARD(store_touch_principal(s, row.id, r->now, false));
	store_note_change(s, r->principal);
	*outcome = STORE_REG_OK;
	return LETHE_OK;
}

lethe_status
store_register_keys(store *s, const store_registration *r,
    enum store_reg_outcome *outcome)
{
	enum store_reg_outcome decided = STORE_REG_OK;
	lethe_status rc;

	ENSURE(s != NULL && r != NULL && outcome != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, r->principal));
	GUARD(check_registration(s, r));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, register_in_txn(s, r, &decided));
	if (decided == STORE_REG_ALREADY) {
		/* Keep the nonce (no realm data: the generation stays). */
		GUARD_GOTO(rc, store_txn_end(s));
		*outcome = decided;
		goto cleanup;
	}
	if (decided != STORE_REG_OK) {
		store_txn_abort(s);
		*outcome = decided;
		goto cleanup;
	}
	GUARD_GOTO(rc, store_txn_commit(s));
	*outcome = STORE_REG_OK;
cleanup:
	store_txn_abort(s);
	if (rc != LETHE_OK)
		rc = store_fail_status(s, rc, "registering keys");
	return rc;
}

/* ------------------------------------------------------------ nonces */

lethe_status
store_nonce_seen(store *s, const uint8_t nonce[STORE_NONCE_LEN], int64_t now,
    bool *seen)
{
	static const char sql[] =
	    "SELECT COUNT(*) FROM seen_nonces WHERE nonce = $1 AND expires_at > $2";
	db_value params[2];
	int64_t count = -1;

	ENSURE(s != NULL && nonce != NULL && seen != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	params[0] = db_blob(nonce, STORE_NONCE_LEN);
	params[1] = db_int(now);
	GUARD(s->ops->exec(s, sql, params, 2, store_int_cb, &count, NULL));
	ENSURE(count >= 0, store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
	    "counting nonces failed"));
	*seen = count > 0;
	return LETHE_OK;
}

lethe_status
store_nonces_purge(store *s, int64_t now, size_t *deleted)
{
	static const char sql[] = "DELETE FROM seen_nonces WHERE expires_at <= $1";
	db_value param = db_int(now);
	int64_t changes = 0;
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, sql, &param, 1, NULL, NULL, &changes));
	/* Nonces are no realm data: the generation stays. */
	GUARD_GOTO(rc, store_txn_end(s));
	if (deleted != NULL)
		*deleted = (size_t)changes;
cleanup:
	store_txn_abort(s);
	return rc;
}

/* ------------------------------------------------------------ agents */

static void
agent_clear(store_agent *a)
{
	free(a->principal);
	free(a->callback);
	free(a->spki_sha256);
	free(a->cert_pem);
	memset(a, 0, sizeof(*a));
}

void
store_agent_free(store_agent *a)
{
	if (a == NULL)
		return;
	agent_clear(a);
	free(a);
}

void
store_agents_free(store_agents *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		agent_clear(&list->entries[i]);
	free(list->entries);
	free(list);
}

static lethe_status
agent_from_row(const db_value *c, size_t n, store_agent *a)
{
	ENSURE(n == 5 && c[4].type == DB_INT, LETHE_ERR_FORMAT);
	GUARD(store_text_dup(&c[0], STORE_MAX_NAME_LEN, &a->principal));
	if (c[1].type != DB_NULL)
		GUARD(store_text_dup(&c[1], STORE_MAX_CALLBACK_LEN, &a->callback));
	GUARD(store_text_dup(&c[2], STORE_SPKI_HEX_LEN, &a->spki_sha256));
	if (c[3].type != DB_NULL)
		GUARD(store_text_dup(&c[3], STORE_MAX_PEM_LEN, &a->cert_pem));
	a->last_registered_at = c[4].i;
	return LETHE_OK;
}

#define AGENT_SELECT \
	"SELECT principal, callback, spki_sha256, cert_pem, " \
	"last_registered_at FROM agents "

typedef struct agent_builder {
	store_agents *list;
	size_t cap;
} agent_builder;

static lethe_status
agent_row(void *ctx, const db_value *c, size_t n)
{
	agent_builder *b = ctx;
	store_agents *l = b->list;
	store_agent *bigger;

	if (l->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;

		ENSURE(cap <= SIZE_MAX / sizeof(*bigger), LETHE_ERR_NOMEM);
		bigger = realloc(l->entries, cap * sizeof(*bigger));
		ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
		l->entries = bigger;
		b->cap = cap;
	}
	memset(&l->entries[l->count], 0, sizeof(l->entries[0]));
	l->count++;
	return agent_from_row(c, n, &l->entries[l->count - 1]);
}

lethe_status
store_agent_get(store *s, const char *principal, store_agent **out)
{
	static const char sql[] = AGENT_SELECT "WHERE principal = $1";
	agent_builder b = { 0 };
	db_value param;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	GUARD(store_check_name(s, principal));
	param = db_text(principal, strlen(principal));
	b.list = calloc(1, sizeof(*b.list));
	ENSURE(b.list != NULL, LETHE_ERR_NOMEM);
	rc = s->ops->exec(s, sql, &param, 1, agent_row, &b, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	ENSURE_GOTO(rc, b.list->count == 1, store_fail(s, LETHE_ERR_NOT_FOUND,
	    STORE_E_NOT_FOUND, "no agent registered for %s", principal));
	*out = calloc(1, sizeof(**out));
	ENSURE_GOTO(rc, *out != NULL, LETHE_ERR_NOMEM);
	**out = b.list->entries[0];
	b.list->count = 0;
cleanup:
	store_agents_free(b.list);
	return rc;
}

lethe_status
store_agent_list(store *s, store_agents **out)
{
	static const char sql[] = AGENT_SELECT "ORDER BY principal";
	agent_builder b = { 0 };
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	b.list = calloc(1, sizeof(*b.list));
	ENSURE(b.list != NULL, LETHE_ERR_NOMEM);
	rc = s->ops->exec(s, sql, NULL, 0, agent_row, &b, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	*out = b.list;
	b.list = NULL;
cleanup:
	store_agents_free(b.list);
	return rc;
}
