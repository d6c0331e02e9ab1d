/* Key sets: a keytab image with its kc_keys, shared by reference. */
#include "acceptor/internal.h"

#include <stdlib.h>
#include <string.h>

static void
keyset_free(acc_keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->count; i++)
		kc_key_clear(&ks->keys[i]);
	free(ks->keys);
	kt_free(ks->kt);
	free(ks);
}

void
acc_keyset_release(acc_keyset *ks)
{
	if (ks == NULL)
		return;
	if (atomic_fetch_sub(&ks->refs, 1) == 1)
		keyset_free(ks);
}

/* Turn every entry with a supported enctype into a kc_key. */
static lethe_status
keyset_fill(acc_keyset *ks)
{
	const kt_entry *e;
	size_t i;

	ks->count = kt_count(ks->kt);
	if (ks->count == 0)
		return LETHE_OK;
	ks->keys = calloc(ks->count, sizeof(*ks->keys));
	ENSURE(ks->keys != NULL, LETHE_ERR_NOMEM);
	for (i = 0; i < ks->count; i++) {
		e = kt_entry_at(ks->kt, i);
		if (!kc_enctype_supported(e->enctype))
			continue;
		/* A key of the wrong length is skipped like an unknown enctype. */
		if (kc_key_init(&ks->keys[i], e->enctype, kt_buf_view(e->key)) != LETHE_OK)
			kc_key_clear(&ks->keys[i]);
	}
	return LETHE_OK;
}

lethe_status
acc_keyset_load(const char *path, acc_keyset **out)
{
	acc_keyset *ks;
	lethe_status rc;

	ks = calloc(1, sizeof(*ks));
	ENSURE(ks != NULL, LETHE_ERR_NOMEM);
	atomic_init(&ks->refs, 1);
	rc = kt_load(path, &ks->kt);
	if (rc == LETHE_ERR_NOT_FOUND) {
		ks->kt = NULL;
		rc = LETHE_OK;
		goto done;
	}
	GUARD_GOTO(rc, rc);
	GUARD_GOTO(rc, keyset_fill(ks));
done:
	*out = ks;
	ks = NULL;
cleanup:
	keyset_free(ks);
	return rc;
}

bool
acc_kt_principal_is(const kt_principal *p, const krb_principal_name *name, lbytes realm)
{
	size_t i;

	if (p->ncomponents != name->n_components ||
	    !lbytes_eq(kt_buf_view(p->realm), realm))
		return false;
	for (i = 0; i < p->ncomponents; i++) {
		if (!lbytes_eq(kt_buf_view(p->components[i]), name->components[i]))
			return false;
	}
	return true;
}

acc_lookup
acc_keyset_find(acc_keyset *ks, const krb_principal_name *name, lbytes realm, bool has_kvno,
		uint32_t kvno, int32_t enctype, kc_key **key, uint32_t *kvno_found)
{
	acc_lookup result = ACC_LOOKUP_NO_PRINCIPAL;
	const kt_entry *e;
	size_t i, best = SIZE_MAX;

	for (i = 0; i < ks->count; i++) {
		e = kt_entry_at(ks->kt, i);
		if (!acc_kt_principal_is(&e->principal, name, realm))
			continue;
		if (result == ACC_LOOKUP_NO_PRINCIPAL)
			result = ACC_LOOKUP_NO_KVNO;
		if (has_kvno && e->kvno != kvno)
			continue;
		result = result == ACC_LOOKUP_FOUND ? result : ACC_LOOKUP_NO_ETYPE;
		if (e->enctype != enctype || kc_key_enctype(&ks->keys[i]) == 0)
			continue;
		if (best == SIZE_MAX || e->kvno > kt_entry_at(ks->kt, best)->kvno)
			best = i;
		result = ACC_LOOKUP_FOUND;
	}
	if (result == ACC_LOOKUP_FOUND) {
		*key = &ks->keys[best];
		*kvno_found = kt_entry_at(ks->kt, best)->kvno;
	}
	return result;
}
