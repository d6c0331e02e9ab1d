/*
 * The key audit: every principal's keys with their kind and lifetime,
 * read without decrypting anything, and the summary an operator needs
 * (are long-term service keys left?).
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

const char *
store_key_state_name(enum store_key_state state)
{
	switch (state) {
	case STORE_KEY_STATE_LONG_TERM:
		return "long-term";
	case STORE_KEY_STATE_CURRENT:
		return "current";
	case STORE_KEY_STATE_ACCEPT_ONLY:
		return "accept-only";
	case STORE_KEY_STATE_EXPIRED:
		return "expired";
	}
	return NULL;
}

static void
audit_principal_clear(store_audit_principal *p)
{
	for (size_t i = 0; i < p->nkeys; i++)
		free(p->keys[i].registered_by);
	free(p->keys);
	free(p->name);
}

void
store_audit_report_free(store_audit_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nprincipals; i++)
		audit_principal_clear(&r->principals[i]);
	free(r->principals);
	/* The name lists borrow the principals' names. */
	free(r->long_term_service_principals);
	free(r->agent_principals);
	free(r);
}

/* Grow *arr so that one more element of size elem fits after count. */
static lethe_status
grow(void **arr, size_t *cap, size_t count, size_t elem)
{
	size_t new_cap;
	void *bigger;

	if (count < *cap)
		return LETHE_OK;
	new_cap = *cap ? *cap * 2 : 8;
	ENSURE(new_cap > count && new_cap <= SIZE_MAX / elem, LETHE_ERR_NOMEM);
	bigger = realloc(*arr, new_cap * elem);
	ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
	memset((uint8_t *)bigger + count * elem, 0, (new_cap - count) * elem);
	*arr = bigger;
	*cap = new_cap;
	return LETHE_OK;
}

typedef struct audit_builder {
	store_audit_report *report;
	size_t principals_cap;
	size_t keys_cap;          /* of the last principal */
	int64_t cur_id;
} audit_builder;

static enum store_key_state
key_state(const store_audit_key *k, int64_t now)
{
	if (k->kind == STORE_KEY_LONG_TERM)
		return STORE_KEY_STATE_LONG_TERM;
	if (k->use_until == 0 || now < k->use_until)
		return STORE_KEY_STATE_CURRENT;
	if (k->accept_until == 0 || now < k->accept_until)
		return STORE_KEY_STATE_ACCEPT_ONLY;
	return STORE_KEY_STATE_EXPIRED;
}

/* Columns 5..11: kvno, enctype, kind, registered_at, use_until,
 * accept_until, registered_by. */
static lethe_status
audit_key_from_row(const db_value *c, int64_t now, store_audit_key *k)
{
	ENSURE(c[0].type == DB_INT && c[0].i >= 0 && c[0].i <= UINT32_MAX &&
	    c[1].type == DB_INT && c[1].i >= INT32_MIN && c[1].i <= INT32_MAX &&
	    c[3].type == DB_INT && c[4].type == DB_INT && c[5].type == DB_INT,
	    LETHE_ERR_FORMAT);
	k->kvno = (uint32_t)c[0].i;
	k->enctype = (int32_t)c[1].i;
	GUARD(store_key_kind_parse(&c[2], &k->kind));
	k->registered_at = c[3].i;
	k->use_until = c[4].i;
	k->accept_until = c[5].i;
	if (c[6].type != DB_NULL)
		GUARD(store_text_dup(&c[6], STORE_MAX_NAME_LEN, &k->registered_by));
	k->state = key_state(k, now);
	return LETHE_OK;
}

/* Columns 0..4: id, name, kind, attributes, has an agents row. */
static lethe_status
audit_principal_from_row(const db_value *c, store_audit_principal *p)
{
	ENSURE(c[3].type == DB_INT && c[3].i >= 0 && c[3].i <= UINT32_MAX &&
	    c[4].type == DB_INT, LETHE_ERR_FORMAT);
	GUARD(store_text_dup(&c[1], STORE_MAX_NAME_LEN, &p->name));
	GUARD(store_principal_kind_parse(&c[2], &p->kind));
	p->attributes = (uint32_t)c[3].i;
	p->agent_managed = p->kind == STORE_KIND_AGENT || c[4].i != 0;
	return LETHE_OK;
}

static lethe_status
audit_row(void *ctx, const db_value *c, size_t n)
{
	audit_builder *b = ctx;
	store_audit_report *r = b->report;
	store_audit_principal *p;
	store_audit_key *k;

	ENSURE(n == 12 && c[0].type == DB_INT, LETHE_ERR_FORMAT);
	if (r->nprincipals == 0 || c[0].i != b->cur_id) {
		GUARD(grow((void **)&r->principals, &b->principals_cap,
		    r->nprincipals, sizeof(*p)));
		p = &r->principals[r->nprincipals++];
		b->cur_id = c[0].i;
		b->keys_cap = 0;
		GUARD(audit_principal_from_row(c, p));
	}
	p = &r->principals[r->nprincipals - 1];
	if (c[5].type == DB_NULL)
		return LETHE_OK;
	ENSURE(p->nkeys < STORE_MAX_KEYS, LETHE_ERR_TOO_BIG);
	GUARD(grow((void **)&p->keys, &b->keys_cap, p->nkeys, sizeof(*k)));
	k = &p->keys[p->nkeys++];
	GUARD(audit_key_from_row(&c[5], r->now, k));
	if (k->kind == STORE_KEY_LONG_TERM)
		p->long_term_keys++;
	return LETHE_OK;
}

/* Append name to a borrowed list. */
static lethe_status
name_push(char ***list, size_t *count, size_t *cap, char *name)
{
	GUARD(grow((void **)list, cap, *count, sizeof(**list)));
	(*list)[(*count)++] = name;
	return LETHE_OK;
}

/* The summary fields from the principals. */
static lethe_status
audit_summarise(store_audit_report *r)
{
	size_t lt_cap = 0, agent_cap = 0;

	for (size_t i = 0; i < r->nprincipals; i++) {
		store_audit_principal *p = &r->principals[i];
		/* kadmin/changepw is the KDC's own, as krbtgt: no application server's. */
		bool kdc_own = strncmp(p->name, STORE_CHANGEPW_NAME "@",
		    sizeof(STORE_CHANGEPW_NAME)) == 0;
		bool service = (p->kind == STORE_KIND_SERVICE && !kdc_own) || p->agent_managed;

		if (p->agent_managed)
			GUARD(name_push(&r->agent_principals,
			    &r->nagent_principals, &agent_cap, p->name));
		if (p->agent_managed && p->long_term_keys > 0)
			r->agent_long_term_present = true;
		if (!service || p->long_term_keys == 0)
			continue;
		r->long_term_service_keys += p->long_term_keys;
		GUARD(name_push(&r->long_term_service_principals,
		    &r->nlong_term_service_principals, &lt_cap, p->name));
	}
	return LETHE_OK;
}

lethe_status
store_audit(store *s, int64_t now, store_audit_report **out)
{
	static const char gen_sql[] = "SELECT value FROM generation WHERE id = 1";
	static const char sql[] =
	    "SELECT p.id, p.name, p.kind, p.attributes, "
	    "CASE WHEN a.principal IS NULL THEN 0 ELSE 1 END, "
	    "k.kvno, k.enctype, k.kind, k.registered_at, k.use_until, "
	    "k.accept_until, k.registered_by "
	    "FROM principals p LEFT JOIN agents a ON a.principal = p.name "
	    "LEFT JOIN keys k ON k.principal_id = p.id "
	    "ORDER BY p.name, k.kvno DESC, k.id";
	audit_builder b = { 0 };
	int64_t gen = -1;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	b.report = calloc(1, sizeof(*b.report));
	ENSURE(b.report != NULL, LETHE_ERR_NOMEM);
	b.report->now = now;
	GUARD_GOTO(rc, store_txn_begin(s, false));
	GUARD_GOTO(rc, s->ops->exec(s, gen_sql, NULL, 0, store_int_cb, &gen, NULL));
	ENSURE_GOTO(rc, gen >= 0, store_fail(s, LETHE_ERR_FORMAT,
	    STORE_E_DATABASE, "the generation row is missing"));
	rc = s->ops->exec(s, sql, NULL, 0, audit_row, &b, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	GUARD_GOTO(rc, store_txn_end(s));
	b.report->generation = (uint64_t)gen;
	GUARD_GOTO(rc, audit_summarise(b.report));
	*out = b.report;
	b.report = NULL;
cleanup:
	store_txn_abort(s);
	store_audit_report_free(b.report);
	return rc;
}
