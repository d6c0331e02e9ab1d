/*
 * Schema v3's change feed: which principals each committed change touched
 * (noted during the write transaction, written by store_txn_commit), read
 * back by store_changes_since; and store_maintain, which deletes expired
 * keys, nonces and old feed rows and checkpoints the backend.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECKPOINT_TRIES    3
#define CHECKPOINT_PAUSE_NS (50L * 1000 * 1000)   /* between tries */

/* ------------------------------------------------------------ noting */

void
store_notes_clear(store *s)
{
	for (size_t i = 0; i < s->nnoted; i++)
		free(s->noted[i]);
	s->nnoted = 0;
	s->noted_realm = false;
}

void
store_note_change(store *s, const char *name)
{
	char *copy;

	if (name == NULL || s->nnoted == STORE_MAX_NOTED) {
		s->noted_realm = true;
		return;
	}
	for (size_t i = 0; i < s->nnoted; i++)
		if (strcmp(s->noted[i], name) == 0)
			return;
	copy = strdup(name);
	if (copy == NULL) {
		s->noted_realm = true;
		return;
	}
	s->noted[s->nnoted++] = copy;
}

lethe_status
store_feed_write(store *s, int64_t gen, int64_t now)
{
	static const char sql[] =
	    "INSERT INTO changes (generation, principal, changed_at) "
	    "VALUES ($1, $2, $3)";
	db_value params[3] = { db_int(gen), db_null(), db_int(now) };

	/* A realm-wide row says it all; so does one for an unnoted change. */
	if (s->noted_realm || s->nnoted == 0)
		return s->ops->exec(s, sql, params, 3, NULL, NULL, NULL);
	for (size_t i = 0; i < s->nnoted; i++) {
		params[1] = db_text(s->noted[i], strlen(s->noted[i]));
		GUARD(s->ops->exec(s, sql, params, 3, NULL, NULL, NULL));
	}
	return LETHE_OK;
}

/* ------------------------------------------------------------ reading */

void
store_changes_free(store_changes *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->count; i++)
		free(c->entries[i].principal);
	free(c->entries);
	free(c);
}

/* The generation and the feed floor, read together. */
typedef struct feed_state {
	int64_t generation;
	int64_t floor_gen;
	bool found;
} feed_state;

static lethe_status
feed_state_row(void *ctx, const db_value *c, size_t n)
{
	feed_state *st = ctx;

	ENSURE(n == 2 && c[0].type == DB_INT && c[0].i >= 0 &&
	    c[1].type == DB_INT && c[1].i >= 0 && !st->found, LETHE_ERR_FORMAT);
	st->generation = c[0].i;
	st->floor_gen = c[1].i;
	st->found = true;
	return LETHE_OK;
}

/* Rows of the feed query gathered into a store_changes. */
typedef struct feed_reader {
	store_changes *out;
	size_t cap;
	size_t max;               /* more rows than this: incomplete */
	int64_t last_gen;         /* to count distinct generations */
	uint64_t distinct;
	bool realm_wide;
	bool overflow;
} feed_reader;

static lethe_status
feed_row(void *ctx, const db_value *c, size_t n)
{
	feed_reader *r = ctx;
	store_changes *out = r->out;
	store_change *e;

	ENSURE(n == 2 && c[0].type == DB_INT && c[0].i > 0, LETHE_ERR_FORMAT);
	if (c[0].i != r->last_gen) {
		ENSURE(c[0].i > r->last_gen, LETHE_ERR_FORMAT);
		r->last_gen = c[0].i;
		r->distinct++;
	}
	if (c[1].type == DB_NULL) {
		r->realm_wide = true;
		return LETHE_OK;
	}
	if (out->count == r->max) {
		r->overflow = true;
		return LETHE_OK;
	}
	if (out->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		store_change *bigger;

		ENSURE(cap <= SIZE_MAX / sizeof(*bigger), LETHE_ERR_NOMEM);
		bigger = realloc(out->entries, cap * sizeof(*bigger));
		ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
		out->entries = bigger;
		r->cap = cap;
	}
	e = &out->entries[out->count];
	memset(e, 0, sizeof(*e));
	e->generation = (uint64_t)c[0].i;
	GUARD(store_text_dup(&c[1], STORE_MAX_NAME_LEN, &e->principal));
	out->count++;
	return LETHE_OK;
}

/* Drop the entries of c: the caller reloads everything. */
static void
changes_incomplete(store_changes *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->entries[i].principal);
	free(c->entries);
	c->entries = NULL;
	c->count = 0;
	c->complete = false;
}

lethe_status
store_changes_since(store *s, uint64_t since, size_t max, store_changes **out)
{
	static const char state_sql[] =
	    "SELECT g.value, f.floor_generation FROM generation g, feed f "
	    "WHERE g.id = 1 AND f.id = 1";
	static const char feed_sql[] =
	    "SELECT generation, principal FROM changes WHERE generation > $1 "
	    "ORDER BY generation, principal LIMIT $2";
	feed_state st = { 0 };
	feed_reader r = { 0 };
	db_value params[2];
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	ENSURE(since <= INT64_MAX, store_fail(s, LETHE_ERR_INVALID_ARG,
	    STORE_E_INVALID, "generation out of range"));
	r.out = calloc(1, sizeof(*r.out));
	ENSURE(r.out != NULL, LETHE_ERR_NOMEM);
	r.max = max < (size_t)INT32_MAX ? max : (size_t)INT32_MAX;
	r.last_gen = (int64_t)since;
	GUARD_GOTO(rc, store_txn_begin(s, false));
	rc = s->ops->exec(s, state_sql, NULL, 0, feed_state_row, &st, NULL);
	if (rc == LETHE_ERR_FORMAT || (rc == LETHE_OK && !st.found))
		rc = store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "the generation or feed row is missing or damaged");
	GUARD_GOTO(rc, rc);
	r.out->generation = (uint64_t)st.generation;
	r.out->complete = (int64_t)since == st.generation;
	if ((int64_t)since < st.generation && (int64_t)since >= st.floor_gen) {
		/* One row past max (and every realm-wide one it meets) tells. */
		params[0] = db_int((int64_t)since);
		params[1] = db_int((int64_t)r.max + 1);
		rc = s->ops->exec(s, feed_sql, params, 2, feed_row, &r, NULL);
		GUARD_GOTO(rc, store_collect_status(s, rc));
		/* Every generation in the range wrote a row; else reload. */
		r.out->complete = !r.realm_wide && !r.overflow &&
		    r.distinct == (uint64_t)(st.generation - (int64_t)since);
	}
	GUARD_GOTO(rc, store_txn_end(s));
	if (!r.out->complete)
		changes_incomplete(r.out);
	*out = r.out;
	r.out = NULL;
cleanup:
	store_txn_abort(s);
	store_changes_free(r.out);
	return rc;
}

/* ------------------------------------------------------------ maintenance */

typedef struct name_noter {
	store *s;
	size_t count;
} name_noter;

/* Row callback: note one principal name and count it. */
static lethe_status
note_name_row(void *ctx, const db_value *c, size_t n)
{
	name_noter *nn = ctx;
	char *name = NULL;

	ENSURE(n == 1, LETHE_ERR_FORMAT);
	GUARD(store_text_dup(&c[0], STORE_MAX_NAME_LEN, &name));
	store_note_change(nn->s, name);
	free(name);
	nn->count++;
	return LETHE_OK;
}

lethe_status
store_delete_expired_keys(store *s, int64_t now, size_t *deleted,
    size_t *principals)
{
	static const char names_sql[] =
	    "SELECT DISTINCT p.name FROM keys k JOIN principals p "
	    "ON p.id = k.principal_id WHERE k.kind = 'temporary' "
	    "AND k.accept_until <> 0 AND k.accept_until <= $1";
	static const char delete_sql[] =
	    "DELETE FROM keys WHERE kind = 'temporary' AND accept_until <> 0 "
	    "AND accept_until <= $1";
	db_value param = db_int(now);
	name_noter nn = { .s = s };
	int64_t changes = 0;
	lethe_status rc;

	rc = s->ops->exec(s, names_sql, &param, 1, note_name_row, &nn, NULL);
	GUARD(store_collect_status(s, rc));
	GUARD(s->ops->exec(s, delete_sql, &param, 1, NULL, NULL, &changes));
	if (deleted != NULL)
		*deleted = (size_t)changes;
	if (principals != NULL)
		*principals = nn.count;
	return LETHE_OK;
}

/*
 * Delete feed rows older than cutoff (by whole generations, so every row
 * above the floor stays) and raise the floor to the newest one deleted.
 */
static lethe_status
trim_feed(store *s, int64_t cutoff, size_t *trimmed)
{
	static const char newest_sql[] =
	    "SELECT COALESCE(MAX(generation), 0) FROM changes "
	    "WHERE changed_at < $1";
	static const char delete_sql[] =
	    "DELETE FROM changes WHERE generation <= $1";
	static const char floor_sql[] =
	    "UPDATE feed SET floor_generation = $1 WHERE id = 1 "
	    "AND floor_generation < $1";
	db_value param = db_int(cutoff);
	int64_t newest = -1, changes = 0;

	*trimmed = 0;
	GUARD(s->ops->exec(s, newest_sql, &param, 1, store_int_cb, &newest, NULL));
	ENSURE(newest >= 0, LETHE_ERR_FORMAT);
	if (newest == 0)
		return LETHE_OK;
	param = db_int(newest);
	GUARD(s->ops->exec(s, delete_sql, &param, 1, NULL, NULL, &changes));
	GUARD(s->ops->exec(s, floor_sql, &param, 1, NULL, NULL, NULL));
	*trimmed = (size_t)changes;
	return LETHE_OK;
}

/* A few short tries of the backend's checkpoint; busy is no error. */
static lethe_status
checkpoint(store *s, store_maint_report *rep)
{
	struct timespec pause = { 0, CHECKPOINT_PAUSE_NS };
	bool busy = true;

	for (int i = 0; i < CHECKPOINT_TRIES && busy; i++) {
		if (i > 0)
			nanosleep(&pause, NULL);
		GUARD(s->ops->checkpoint(s, &busy));
	}
	rep->checkpointed = !busy;
	rep->checkpoint_busy = busy;
	return LETHE_OK;
}

lethe_status
store_maintain(store *s, int64_t now, store_maint_report *out)
{
	static const char nonce_sql[] =
	    "DELETE FROM seen_nonces WHERE expires_at <= $1";
	store_maint_report rep;
	db_value param = db_int(now);
	int64_t nonces = 0;
	lethe_status rc;

	memset(&rep, 0, sizeof(rep));
	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	ENSURE(now > 0, store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
	    "invalid time"));
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, store_delete_expired_keys(s, now, &rep.keys_deleted,
	    &rep.principals_touched));
	GUARD_GOTO(rc, s->ops->exec(s, nonce_sql, &param, 1, NULL, NULL, &nonces));
	rep.nonces_deleted = (size_t)nonces;
	GUARD_GOTO(rc, trim_feed(s, now - STORE_FEED_KEEP_SECONDS,
	    &rep.changes_trimmed));
	/* Only keys are realm data the KDC sees: only they move the generation. */
	GUARD_GOTO(rc, rep.keys_deleted > 0 ? store_txn_commit(s) :
	    store_txn_end(s));
	if (rep.keys_deleted > 0)
		GUARD_GOTO(rc, checkpoint(s, &rep));
cleanup:
	store_txn_abort(s);
	if (out != NULL)
		*out = rep;
	if (rc != LETHE_OK)
		rc = store_fail_status(s, rc, "maintaining the store");
	return rc;
}
