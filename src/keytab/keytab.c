#include "keytab/kt_internal.h"

#include <stdlib.h>
#include <string.h>

#define KT_MIN_CAP 8u

lethe_status
kt_new(kt_keytab **out)
{
	kt_keytab *kt;

	*out = NULL;
	kt = calloc(1, sizeof(*kt));
	ENSURE(kt != NULL, LETHE_ERR_NOMEM);
	*out = kt;
	return LETHE_OK;
}

void
kt_entry_clear(kt_entry *e)
{
	kt_principal_clear(&e->principal);
	kt_buf_release(&e->key, true);
	*e = (kt_entry){ 0 };
}

void
kt_free(kt_keytab *kt)
{
	if (kt == NULL)
		return;
	for (size_t i = 0; i < kt->count; i++)
		kt_entry_clear(&kt->entries[i]);
	free(kt->entries);
	free(kt);
}

size_t
kt_count(const kt_keytab *kt)
{
	return kt->count;
}

const kt_entry *
kt_entry_at(const kt_keytab *kt, size_t index)
{
	if (index >= kt->count)
		return NULL;
	return &kt->entries[index];
}

/* Make room for one more entry. Entries hold no self-pointers: realloc is safe. */
static lethe_status
reserve_one(kt_keytab *kt)
{
	kt_entry *grown;
	size_t cap = KT_MIN_CAP;

	if (kt->count < kt->cap)
		return LETHE_OK;
	if (kt->cap > 0) {
		ENSURE(kt->cap <= SIZE_MAX / 2 / sizeof(*grown), LETHE_ERR_NOMEM);
		cap = kt->cap * 2;
	}
	grown = realloc(kt->entries, cap * sizeof(*grown));
	ENSURE(grown != NULL, LETHE_ERR_NOMEM);
	kt->entries = grown;
	kt->cap = cap;
	return LETHE_OK;
}

lethe_status
kt_append_owned(kt_keytab *kt, kt_entry *e)
{
	GUARD(reserve_one(kt));
	kt->entries[kt->count++] = *e;
	*e = (kt_entry){ 0 };
	return LETHE_OK;
}

/* True when entry e matches principal and, if non-zero, enctype. */
static bool
matches(const kt_entry *e, const kt_principal *principal, int32_t enctype)
{
	if (enctype != 0 && e->enctype != enctype)
		return false;
	return kt_principal_eq(&e->principal, principal);
}

lethe_status
kt_find(const kt_keytab *kt, const kt_principal *principal, uint32_t kvno,
    int32_t enctype, const kt_entry **out)
{
	const kt_entry *best = NULL;

	*out = NULL;
	for (size_t i = 0; i < kt->count; i++) {
		const kt_entry *e = &kt->entries[i];

		if (!matches(e, principal, enctype))
			continue;
		if (kvno != 0 && e->kvno == kvno) {
			best = e;
			break;
		}
		if (kvno == 0 && (best == NULL || e->kvno > best->kvno))
			best = e;
	}
	ENSURE(best != NULL, LETHE_ERR_NOT_FOUND);
	*out = best;
	return LETHE_OK;
}

/* True when principal already has an entry with exactly kvno and enctype. */
static bool
has_exact(const kt_keytab *kt, const kt_principal *principal, uint32_t kvno,
    int32_t enctype)
{
	for (size_t i = 0; i < kt->count; i++) {
		const kt_entry *e = &kt->entries[i];

		if (e->kvno == kvno && e->enctype == enctype &&
		    kt_principal_eq(&e->principal, principal))
			return true;
	}
	return false;
}

lethe_status
kt_add(kt_keytab *kt, const kt_principal *principal, uint32_t kvno,
    int32_t enctype, uint32_t timestamp, lbytes key)
{
	kt_entry e = { .timestamp = timestamp, .kvno = kvno, .enctype = enctype };
	lethe_status rc = LETHE_OK;

	ENSURE(enctype != 0 && enctype >= INT16_MIN && enctype <= INT16_MAX,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(key.len > 0, LETHE_ERR_INVALID_ARG);
	ENSURE(key.len <= KT_MAX_KEY_LEN, LETHE_ERR_TOO_BIG);
	ENSURE(!has_exact(kt, principal, kvno, enctype), LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, kt_principal_copy(&e.principal, principal));
	GUARD_GOTO(rc, kt_buf_copy(&e.key, key));
	GUARD_GOTO(rc, kt_append_owned(kt, &e));
cleanup:
	kt_entry_clear(&e);
	return rc;
}

/* Remove entries of principal whose kvno is in [lo, hi]; count them. */
static void
remove_range(kt_keytab *kt, const kt_principal *principal, uint32_t lo,
    uint32_t hi, size_t *removed)
{
	size_t kept = 0, gone = 0;

	for (size_t i = 0; i < kt->count; i++) {
		kt_entry *e = &kt->entries[i];

		if (e->kvno >= lo && e->kvno <= hi &&
		    kt_principal_eq(&e->principal, principal)) {
			kt_entry_clear(e);
			gone++;
			continue;
		}
		if (kept != i) {
			kt->entries[kept] = *e;
			*e = (kt_entry){ 0 };
		}
		kept++;
	}
	kt->count = kept;
	if (removed != NULL)
		*removed = gone;
}

lethe_status
kt_remove_kvno(kt_keytab *kt, const kt_principal *principal, uint32_t kvno,
    size_t *removed)
{
	remove_range(kt, principal, kvno, kvno, removed);
	return LETHE_OK;
}

lethe_status
kt_remove_below(kt_keytab *kt, const kt_principal *principal,
    uint32_t min_kvno, size_t *removed)
{
	if (min_kvno == 0) {
		if (removed != NULL)
			*removed = 0;
		return LETHE_OK;
	}
	remove_range(kt, principal, 0, min_kvno - 1, removed);
	return LETHE_OK;
}

bool
kt_entry_eq(const kt_entry *a, const kt_entry *b)
{
	return a->timestamp == b->timestamp && a->kvno == b->kvno &&
	    a->enctype == b->enctype &&
	    a->principal.name_type == b->principal.name_type &&
	    kt_principal_eq(&a->principal, &b->principal) &&
	    lbytes_ct_eq(kt_buf_view(a->key), kt_buf_view(b->key));
}
