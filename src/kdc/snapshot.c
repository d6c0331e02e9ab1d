/* The KDC's in-memory view of the realm: persistent, shared between versions. */
#include "kdc/snapshot.h"
#include "base/wipe.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "kdc/kdc_int.h"
#include "krb5/krb5.h"
#include "registrar/registrar.h"

#define SNAP_ENTRY_BUDGET ((size_t)1 << 24)   /* one principal's names, salts, keys */
#define SNAP_ENTRY_BLOCK  512u                /* its arena's block size */
#define SNAP_FANOUT_BITS  6u
#define SNAP_FANOUT       (1u << SNAP_FANOUT_BITS)
#define SNAP_LEAF_MIN     4u                  /* entries a new leaf has room for */
#define SNAP_MAX_PRINCIPALS ((size_t)1 << 31)

/*
 * The principals form a two-level radix tree over a keyed hash of the name:
 * the snapshot's top array (SNAP_FANOUT pointers) → mids (SNAP_FANOUT
 * pointers) → leaves (a small array of entries). Entries, leaves and mids
 * are reference counted and shared between the snapshots that hold them; a
 * snapshot derived from another copies its top array (taking a reference on
 * each mid) and copies only the path it changes. A node or entry whose count
 * is 1 belongs to the snapshot being built alone, which may then change it
 * in place; once a snapshot is published nothing in it is written again.
 * So applying one change costs two node copies and a leaf, whatever the
 * realm's size, and readers need no lock.
 */
typedef struct snap_entry {
	atomic_size_t refs;
	uint64_t hash;            /* name_hash under the lineage's seed */
	lethe_arena arena;        /* name, components, salts, key array; wiped at free */
	kdc_principal p;
} snap_entry;

typedef struct snap_leaf {
	atomic_size_t refs;
	size_t n;
	size_t cap;
	snap_entry *e[];
} snap_leaf;

typedef struct snap_mid {
	atomic_size_t refs;
	snap_leaf *leaf[SNAP_FANOUT];
} snap_mid;

struct kdc_snapshot {
	store_realm_policy policy;
	lbytes realm;
	uint64_t generation;
	uint64_t seed;            /* hash key, random per full build, kept by derived ones */
	snap_mid *top[SNAP_FANOUT];
	size_t count;
	size_t skipped;
	const kdc_principal *tgs;
	size_t keys_shared;       /* key objects taken from a live snapshot */
	size_t keys_derived;      /* key objects made for this one */
	bool derive_now;          /* derive new keys' usages now (a change), or on
	                             first use (a full load: short start-up) */
	reg_identity *ticket_signer; /* the KDC credential, signs public-key
	                                tickets; NULL: none can be issued */
};

/* ------------------------------------------------------------ hashing */

static uint64_t
fnv_bytes(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static uint64_t
fnv_len(uint64_t h, size_t len)
{
	uint8_t b[4];

	lethe_store_be32(b, (uint32_t)len);
	return fnv_bytes(h, b, sizeof(b));
}

/* Keyed FNV-1a over the components and the realm, each length-prefixed. */
static uint64_t
name_hash(uint64_t seed, const krb_principal_name *name, lbytes realm)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;

	h = fnv_len(h, name->n_components);
	for (size_t i = 0; i < name->n_components; i++) {
		h = fnv_len(h, name->components[i].len);
		h = fnv_bytes(h, name->components[i].data, name->components[i].len);
	}
	h = fnv_len(h, realm.len);
	h = fnv_bytes(h, realm.data, realm.len);
	h ^= h >> 29;
	return h;
}


/* ------------------------------------------------------------ shared keys */

/*
 * A key object and what identifies it. The registry below indexes the
 * objects that live snapshots hold, without owning them: refs counts the
 * snapshots, and the last release unlinks, wipes and frees the object.
 * Workers never touch the registry; they read kdc_key.key.
 */
struct kdc_shared_key {
	kc_key *key;
	char *principal;
	enum store_principal_kind pkind;
	uint32_t kvno;
	int32_t enctype;
	enum store_key_kind kind;
	uint64_t hash;
	size_t refs;                      /* under shared_mu */
	struct kdc_shared_key *next;      /* its bucket's chain */
};

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kdc_shared_key **shared_buckets;  /* NULL when no key is alive */
static size_t shared_nbuckets;                   /* a power of two, or 0 */
static size_t shared_count;
static uint64_t shared_seed;                     /* drawn with the buckets */

/* Keyed FNV-1a over what identifies a key, the bytes left out. Under shared_mu. */
static uint64_t
shared_hash(const char *principal, uint32_t kvno, int32_t enctype)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ shared_seed;
	size_t len = strlen(principal);

	h = fnv_len(h, len);
	h = fnv_bytes(h, (const uint8_t *)principal, len);
	h = fnv_len(h, kvno);
	h = fnv_len(h, (uint32_t)enctype);
	h ^= h >> 29;
	return h;
}

static bool
shared_matches(const struct kdc_shared_key *sk, uint64_t hash, const char *principal,
    enum store_principal_kind pkind, const store_key *in)
{
	lbytes have;

	if (sk->hash != hash || sk->kvno != in->kvno || sk->enctype != in->enctype ||
	    sk->kind != in->kind || sk->pkind != pkind || strcmp(sk->principal, principal) != 0)
		return false;
	have = kc_key_bytes(sk->key);
	return have.len == in->key_len &&
	    CRYPTO_memcmp(have.data, in->key, in->key_len) == 0;
}

/* A live object for this key with one more reference, or NULL. Under shared_mu. */
static struct kdc_shared_key *
shared_take_locked(const char *principal, enum store_principal_kind pkind, const store_key *in)
{
	struct kdc_shared_key *sk;
	uint64_t hash;

	if (shared_nbuckets == 0)
		return NULL;
	hash = shared_hash(principal, in->kvno, in->enctype);
	for (sk = shared_buckets[hash & (shared_nbuckets - 1)]; sk != NULL; sk = sk->next) {
		if (shared_matches(sk, hash, principal, pkind, in)) {
			sk->refs++;
			return sk;
		}
	}
	return NULL;
}

/* Room for one more object: the first buckets (and seed), or twice as many. */
static lethe_status
shared_grow_locked(void)
{
	struct kdc_shared_key **nb, *sk, *next;
	size_t n;

	if (shared_count < shared_nbuckets)
		return LETHE_OK;
	ENSURE(shared_nbuckets <= SIZE_MAX / 2 / sizeof(*nb), LETHE_ERR_TOO_BIG);
	n = shared_nbuckets != 0 ? shared_nbuckets * 2 : 64;
	nb = calloc(n, sizeof(*nb));
	ENSURE(nb != NULL, LETHE_ERR_NOMEM);
	if (shared_nbuckets == 0 &&
	    RAND_bytes((unsigned char *)&shared_seed, sizeof(shared_seed)) != 1) {
		free(nb);
		return LETHE_ERR_CRYPTO;
	}
	for (size_t b = 0; b < shared_nbuckets; b++) {
		for (sk = shared_buckets[b]; sk != NULL; sk = next) {
			next = sk->next;
			sk->next = nb[sk->hash & (n - 1)];
			nb[sk->hash & (n - 1)] = sk;
		}
	}
	free(shared_buckets);
	shared_buckets = nb;
	shared_nbuckets = n;
	return LETHE_OK;
}

static void
shared_destroy(struct kdc_shared_key *sk)
{
	if (sk == NULL)
		return;
	kc_key_free(sk->key);
	free(sk->principal);
	lethe_wipe(sk, sizeof(*sk));
	free(sk);
}

/* Drop one reference; the last one unlinks and frees. Under shared_mu. */
static void
shared_release_locked(struct kdc_shared_key *sk)
{
	struct kdc_shared_key **link;

	if (--sk->refs != 0)
		return;
	link = &shared_buckets[sk->hash & (shared_nbuckets - 1)];
	while (*link != sk)
		link = &(*link)->next;
	*link = sk->next;
	shared_destroy(sk);
	if (--shared_count == 0) {
		free(shared_buckets);
		shared_buckets = NULL;
		shared_nbuckets = 0;
		lethe_wipe(&shared_seed, sizeof(shared_seed));
	}
}

/* A new object for in (its derived keys computed), not yet in the registry. */
static lethe_status
shared_make(const char *principal, enum store_principal_kind pkind, const store_key *in,
    bool derive_now, struct kdc_shared_key **out)
{
	struct kdc_shared_key *sk = calloc(1, sizeof(*sk));
	lethe_status rc;

	*out = NULL;
	ENSURE(sk != NULL, LETHE_ERR_NOMEM);
	*sk = (struct kdc_shared_key){ .pkind = pkind, .kvno = in->kvno,
		.enctype = in->enctype, .kind = in->kind, .refs = 1 };
	sk->principal = strdup(principal);
	ENSURE_GOTO(rc, sk->principal != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kdc_key_object(in->enctype, lbytes_make(in->key, in->key_len), pkind,
	    derive_now, &sk->key));
	*out = sk;
	sk = NULL;
cleanup:
	shared_destroy(sk);
	return rc;
}

/*
 * A reference on the key object for in: a live one when a snapshot holds
 * it (*shared set), else a new one, derived outside the lock.
 */
static lethe_status
shared_acquire(const char *principal, enum store_principal_kind pkind, const store_key *in,
    bool derive_now, struct kdc_shared_key **out, bool *shared)
{
	struct kdc_shared_key *sk, *made = NULL;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	pthread_mutex_lock(&shared_mu);
	sk = shared_take_locked(principal, pkind, in);
	pthread_mutex_unlock(&shared_mu);
	*shared = sk != NULL;
	if (sk != NULL) {
		*out = sk;
		return LETHE_OK;
	}
	GUARD(shared_make(principal, pkind, in, derive_now, &made));
	pthread_mutex_lock(&shared_mu);
	/* Another build may have made the same one meanwhile. */
	sk = shared_take_locked(principal, pkind, in);
	if (sk == NULL && (rc = shared_grow_locked()) == LETHE_OK) {
		made->hash = shared_hash(principal, in->kvno, in->enctype);
		made->next = shared_buckets[made->hash & (shared_nbuckets - 1)];
		shared_buckets[made->hash & (shared_nbuckets - 1)] = made;
		shared_count++;
		sk = made;
		made = NULL;
	}
	pthread_mutex_unlock(&shared_mu);
	shared_destroy(made);
	GUARD(rc);
	*out = sk;
	return LETHE_OK;
}

size_t
kdc_snapshot_live_keys(void)
{
	size_t n;

	pthread_mutex_lock(&shared_mu);
	n = shared_count;
	pthread_mutex_unlock(&shared_mu);
	return n;
}

/* ------------------------------------------------------------ entries */

static void
entry_release(snap_entry *e)
{
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	pthread_mutex_lock(&shared_mu);
	for (size_t k = 0; k < e->p.nkeys; k++)
		shared_release_locked(e->p.keys[k].shared);
	pthread_mutex_unlock(&shared_mu);
	if (e->p.pubkey != NULL)
		X509_free(e->p.pubkey->cert);
	lethe_arena_free(&e->arena);
	lethe_wipe(e, sizeof(*e));
	free(e);
}

static lethe_status
arena_copy(lethe_arena *a, const void *data, size_t len, lbytes *out)
{
	uint8_t *p = lethe_arena_alloc(a, len);

	ENSURE(p != NULL, LETHE_ERR_NOMEM);
	if (len != 0)
		memcpy(p, data, len);
	*out = lbytes_make(p, len);
	return LETHE_OK;
}

/* RFC 4120 §4: the default salt is the realm followed by every component. */
static lethe_status
default_salt(lethe_arena *a, const kdc_principal *p, lbytes *out)
{
	size_t len = p->realm.len;
	uint8_t *buf, *w;

	for (size_t i = 0; i < p->pname.n_components; i++) {
		ENSURE(p->pname.components[i].len <= SIZE_MAX - len, LETHE_ERR_TOO_BIG);
		len += p->pname.components[i].len;
	}
	buf = lethe_arena_alloc(a, len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	memcpy(buf, p->realm.data, p->realm.len);
	w = buf + p->realm.len;
	for (size_t i = 0; i < p->pname.n_components; i++) {
		if (p->pname.components[i].len != 0)
			memcpy(w, p->pname.components[i].data, p->pname.components[i].len);
		w += p->pname.components[i].len;
	}
	*out = lbytes_make(buf, len);
	return LETHE_OK;
}

static void
set_s2kparams(kdc_key *k, uint32_t iterations)
{
	if (iterations == 0 || iterations == kdc_default_s2k_iterations(k->enctype))
		return;
	k->has_s2kparams = true;
	lethe_store_be32(k->s2kparams, iterations);
}

/* Fill *k from *in; *used false (nothing allocated) when the enctype is unusable. */
static lethe_status
add_key(kdc_snapshot *snap, snap_entry *e, const store_key *in, kdc_key *k, bool *used)
{
	const kdc_principal *p = &e->p;
	bool shared;

	*used = false;
	*k = (kdc_key){ .kvno = in->kvno, .enctype = in->enctype, .kind = in->kind,
		.use_until = in->use_until, .accept_until = in->accept_until };
	if (!kdc_enctype_usable(in->enctype))
		return LETHE_OK;
	if (in->salt != NULL)
		GUARD(arena_copy(&e->arena, in->salt, in->salt_len, &k->salt));
	else
		GUARD(default_salt(&e->arena, p, &k->salt));
	set_s2kparams(k, in->s2k_iterations);
	ENSURE(in->key_len <= sizeof(in->key), LETHE_ERR_INVALID_ARG);
	GUARD(shared_acquire(p->name, p->kind, in, snap->derive_now, &k->shared, &shared));
	k->key = k->shared->key;
	if (shared)
		snap->keys_shared++;
	else
		snap->keys_derived++;
	*used = true;
	return LETHE_OK;
}

static lethe_status
add_keys(kdc_snapshot *snap, snap_entry *e, const store_principal *in)
{
	kdc_key *keys;
	bool used;

	if (in->nkeys == 0)
		return LETHE_OK;
	ENSURE(in->nkeys <= STORE_MAX_KEYS, LETHE_ERR_TOO_BIG);
	keys = lethe_arena_calloc(&e->arena, in->nkeys, sizeof(*keys));
	ENSURE(keys != NULL, LETHE_ERR_NOMEM);
	e->p.keys = keys;
	for (size_t i = 0; i < in->nkeys; i++) {
		/* counted as it is filled, so that a failure releases what was taken */
		GUARD(add_key(snap, e, &in->keys[i], &keys[e->p.nkeys], &used));
		if (used)
			e->p.nkeys++;
		else
			snap->skipped++;
	}
	return LETHE_OK;
}

/*
 * Parse in->name into e's name fields. *why is NULL when the principal is
 * usable, else the reason to leave it out.
 */
static lethe_status
parse_name(const kdc_snapshot *snap, const store_principal *in, snap_entry *e,
    const char **why)
{
	kdc_principal *p = &e->p;
	lbytes name;
	size_t len;
	lethe_status rc;

	*why = "is not a valid principal name";
	ENSURE(in->name != NULL, LETHE_ERR_INVALID_ARG);
	len = strnlen(in->name, STORE_MAX_NAME_LEN + 1);
	ENSURE(len <= STORE_MAX_NAME_LEN, LETHE_ERR_INVALID_ARG);
	GUARD(arena_copy(&e->arena, in->name, len + 1, &name));
	p->name = (const char *)name.data;
	rc = krb_principal_parse(&e->arena, p->name, len, lbytes_make(NULL, 0), &p->pname,
	    &p->realm);
	if (rc == LETHE_ERR_FORMAT || (rc == LETHE_OK && p->pname.n_components == 0))
		return LETHE_OK;
	GUARD(rc);
	*why = lbytes_eq(p->realm, snap->realm) ? NULL : "is of another realm";
	return LETHE_OK;
}

/*
 * A new entry (one reference, owned by the caller) for in, its keys taken
 * from or added to the shared registry. *out is NULL (and LETHE_OK) when the
 * principal is foreign or its name unusable: it is logged and counted.
 */
static lethe_status
entry_make(kdc_snapshot *snap, const store_principal *in, snap_entry **out)
{
	snap_entry *e = calloc(1, sizeof(*e));
	const char *why;
	lethe_status rc;

	*out = NULL;
	ENSURE(e != NULL, LETHE_ERR_NOMEM);
	atomic_init(&e->refs, 1);
	lethe_arena_init_sized(&e->arena, SNAP_ENTRY_BUDGET, SNAP_ENTRY_BLOCK);
	e->p = (kdc_principal){ .kind = in->kind, .attributes = in->attributes,
		.max_life = in->max_life, .max_renew = in->max_renew,
		.expires_at = in->expires_at, .password_expires_at = in->password_expires_at,
		.classic_key_allowed = true };
	GUARD_GOTO(rc, parse_name(snap, in, e, &why));
	if (why != NULL) {
		log_warnx("snapshot: principal \"%.200s\" %s; left out", in->name, why);
		snap->skipped++;
		goto cleanup;
	}
	GUARD_GOTO(rc, add_keys(snap, e, in));
	e->hash = name_hash(snap->seed, &e->p.pname, e->p.realm);
	*out = e;
	e = NULL;
cleanup:
	entry_release(e);
	return rc;
}

/* ------------------------------------------------------------ the tree */

static void
leaf_release(snap_leaf *l)
{
	if (l == NULL || atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	for (size_t i = 0; i < l->n; i++)
		entry_release(l->e[i]);
	free(l);
}

static void
mid_release(snap_mid *m)
{
	if (m == NULL || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	for (size_t i = 0; i < SNAP_FANOUT; i++)
		leaf_release(m->leaf[i]);
	free(m);
}

static size_t
top_index(uint64_t hash)
{
	return (size_t)(hash & (SNAP_FANOUT - 1));
}

static size_t
mid_index(uint64_t hash)
{
	return (size_t)((hash >> SNAP_FANOUT_BITS) & (SNAP_FANOUT - 1));
}

/* The mid for hash, owned by the snapshot alone (made or copied as needed). */
static lethe_status
own_mid(kdc_snapshot *snap, uint64_t hash, snap_mid **out)
{
	snap_mid **slot = &snap->top[top_index(hash)], *m = *slot, *copy;

	if (m != NULL && atomic_load(&m->refs) == 1) {
		*out = m;
		return LETHE_OK;
	}
	copy = calloc(1, sizeof(*copy));
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	atomic_init(&copy->refs, 1);
	if (m != NULL) {
		for (size_t i = 0; i < SNAP_FANOUT; i++) {
			copy->leaf[i] = m->leaf[i];
			if (copy->leaf[i] != NULL)
				atomic_fetch_add(&copy->leaf[i]->refs, 1);
		}
		mid_release(m);
	}
	*slot = copy;
	*out = copy;
	return LETHE_OK;
}

/*
 * The leaf for hash, owned by the snapshot alone, with room for one more
 * entry when grow is set. NULL in *out (and LETHE_OK) when there is no leaf
 * and grow is not set.
 */
static lethe_status
own_leaf(kdc_snapshot *snap, uint64_t hash, bool grow, snap_leaf **out)
{
	snap_mid *m;
	snap_leaf **slot, *l, *copy;
	size_t cap;

	*out = NULL;
	GUARD(own_mid(snap, hash, &m));
	slot = &m->leaf[mid_index(hash)];
	l = *slot;
	if (l == NULL && !grow)
		return LETHE_OK;
	if (l != NULL && atomic_load(&l->refs) == 1 && (!grow || l->n < l->cap)) {
		*out = l;
		return LETHE_OK;
	}
	cap = l == NULL ? SNAP_LEAF_MIN : (grow && l->n == l->cap ? l->cap * 2 : l->cap);
	ENSURE(cap <= (SIZE_MAX - sizeof(*copy)) / sizeof(copy->e[0]), LETHE_ERR_TOO_BIG);
	copy = calloc(1, sizeof(*copy) + cap * sizeof(copy->e[0]));
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	atomic_init(&copy->refs, 1);
	copy->cap = cap;
	if (l != NULL) {
		bool moved = atomic_load(&l->refs) == 1;  /* ours: its references move */

		copy->n = l->n;
		memcpy(copy->e, l->e, l->n * sizeof(l->e[0]));
		if (moved) {
			free(l);
		} else {
			for (size_t i = 0; i < l->n; i++)
				atomic_fetch_add(&l->e[i]->refs, 1);
			leaf_release(l);
		}
	}
	*slot = copy;
	*out = copy;
	return LETHE_OK;
}

static const snap_leaf *
find_leaf(const kdc_snapshot *snap, uint64_t hash)
{
	const snap_mid *m = snap->top[top_index(hash)];

	return m != NULL ? m->leaf[mid_index(hash)] : NULL;
}

/* Index of the entry named like e in l, or l->n. */
static size_t
leaf_find(const snap_leaf *l, uint64_t hash, const krb_principal_name *name, lbytes realm)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->e[i]->hash == hash &&
		    krb_principal_realm_eq(&l->e[i]->p.pname, l->e[i]->p.realm, name, realm))
			break;
	}
	return i;
}

/* Insert e (its reference passes to snap), replacing a principal of the same name. */
static lethe_status
snap_put(kdc_snapshot *snap, snap_entry *e)
{
	snap_leaf *l = NULL;
	size_t i;
	lethe_status rc;

	rc = snap->count < SNAP_MAX_PRINCIPALS ? own_leaf(snap, e->hash, true, &l) :
	    LETHE_ERR_TOO_BIG;
	if (rc != LETHE_OK) {
		entry_release(e);
		return rc;
	}
	i = leaf_find(l, e->hash, &e->p.pname, e->p.realm);
	if (i < l->n) {
		entry_release(l->e[i]);
	} else {
		l->n++;
		snap->count++;
	}
	l->e[i] = e;
	return LETHE_OK;
}

/* Remove the principal name@realm, if present. */
static lethe_status
snap_remove(kdc_snapshot *snap, const krb_principal_name *name, lbytes realm)
{
	uint64_t hash = name_hash(snap->seed, name, realm);
	const snap_leaf *found = find_leaf(snap, hash);
	snap_leaf *l;
	size_t i;

	if (found == NULL || leaf_find(found, hash, name, realm) == found->n)
		return LETHE_OK;
	GUARD(own_leaf(snap, hash, false, &l));
	i = leaf_find(l, hash, name, realm);
	entry_release(l->e[i]);
	l->e[i] = l->e[--l->n];
	l->e[l->n] = NULL;
	snap->count--;
	return LETHE_OK;
}

/* ------------------------------------------------------------ building */

static lethe_status
snap_alloc(const store_realm_policy *policy, uint64_t generation, kdc_snapshot **out)
{
	kdc_snapshot *snap = calloc(1, sizeof(*snap));

	ENSURE(snap != NULL, LETHE_ERR_NOMEM);
	snap->policy = *policy;
	snap->policy.realm[sizeof(snap->policy.realm) - 1] = '\0';
	snap->realm = lbytes_make(snap->policy.realm, strlen(snap->policy.realm));
	snap->generation = generation;
	*out = snap;
	return LETHE_OK;
}

static lethe_status
snap_new(const store_realm_policy *policy, uint64_t generation, kdc_snapshot **out)
{
	kdc_snapshot *snap;

	GUARD(snap_alloc(policy, generation, &snap));
	if (RAND_bytes((unsigned char *)&snap->seed, sizeof(snap->seed)) != 1) {
		free(snap);
		return LETHE_ERR_CRYPTO;
	}
	*out = snap;
	return LETHE_OK;
}

/* A snapshot sharing every principal of base (same seed), to be changed. */
static lethe_status
snap_derive(const kdc_snapshot *base, uint64_t generation, kdc_snapshot **out)
{
	kdc_snapshot *snap;

	GUARD(snap_alloc(&base->policy, generation, &snap));
	snap->seed = base->seed;
	snap->derive_now = true;
	if (base->ticket_signer != NULL &&
	    reg_identity_dup(base->ticket_signer, &snap->ticket_signer) != LETHE_OK) {
		free(snap);
		return LETHE_ERR_NOMEM;
	}
	snap->count = base->count;
	for (size_t i = 0; i < SNAP_FANOUT; i++) {
		snap->top[i] = base->top[i];
		if (snap->top[i] != NULL)
			atomic_fetch_add(&snap->top[i]->refs, 1);
	}
	*out = snap;
	return LETHE_OK;
}

/* Add one principal (its keys included) unless it is foreign or unusable. */
static lethe_status
snap_add(kdc_snapshot *snap, const store_principal *in)
{
	snap_entry *e;

	GUARD(entry_make(snap, in, &e));
	return e != NULL ? snap_put(snap, e) : LETHE_OK;
}

static void
snap_finish(kdc_snapshot *snap)
{
	lbytes comps[2] = { LBYTES_LIT("krbtgt"), snap->realm };
	krb_principal_name tgs = { KRB_NT_SRV_INST, comps, 2 };

	snap->tgs = kdc_snapshot_lookup(snap, &tgs, snap->realm);
}

lethe_status
kdc_snapshot_build(const store_realm_policy *policy, const store_principal *principals,
    size_t n, uint64_t generation, kdc_snapshot **out)
{
	kdc_snapshot *snap = NULL;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	ENSURE(policy != NULL && (principals != NULL || n == 0), LETHE_ERR_INVALID_ARG);
	GUARD(snap_new(policy, generation, &snap));
	for (size_t i = 0; i < n; i++) {
		if (kdc_snapshot_lookup_name(snap, principals[i].name) != NULL) {
			snap->skipped++;        /* a duplicate name keeps the first one */
			continue;
		}
		GUARD_GOTO(rc, snap_add(snap, &principals[i]));
	}
	snap_finish(snap);
	*out = snap;
	snap = NULL;
cleanup:
	kdc_snapshot_free(snap);
	return rc;
}

/* Point p->pubkey at a key object for cert (a reference is taken). */
static lethe_status
set_pubkey(snap_entry *e, X509 *cert)
{
	kdc_principal *p = &e->p;
	kdc_key *k;
	const ASN1_TIME *na;
	struct tm tm;

	if (p->pubkey != NULL) {
		X509_free(p->pubkey->cert);
		p->pubkey = NULL;
	}
	if (cert == NULL)
		return LETHE_OK;
	na = X509_get0_notAfter(cert);
	ENSURE(na != NULL && ASN1_TIME_to_tm(na, &tm) == 1, LETHE_ERR_FORMAT);
	k = lethe_arena_calloc(&e->arena, 1, sizeof(*k));
	ENSURE(k != NULL, LETHE_ERR_NOMEM);
	ENSURE(X509_up_ref(cert) == 1, LETHE_ERR_CRYPTO);
	*k = (kdc_key){ .enctype = REG_ENCTYPE_PUBKEY_TICKET, .kind = STORE_KEY_TEMPORARY,
		.use_until = (int64_t)timegm(&tm), .accept_until = (int64_t)timegm(&tm),
		.cert = cert };
	p->pubkey = k;
	return LETHE_OK;
}

/* The entry called name (canonical text) in snap, or NULL. */
static snap_entry *
entry_by_name(const kdc_snapshot *snap, const char *name)
{
	const kdc_principal *p = kdc_snapshot_lookup_name(snap, name);

	return p != NULL ? (snap_entry *)((char *)p - offsetof(snap_entry, p)) : NULL;
}

lethe_status
kdc_snapshot_set_service(kdc_snapshot *snap, const char *name, bool classic_key_allowed,
    X509 *pubkey_cert)
{
	snap_entry *e = entry_by_name(snap, name);

	ENSURE(e != NULL, LETHE_ERR_NOT_FOUND);
	/* Only a principal this snapshot alone holds may change. */
	ENSURE(atomic_load(&e->refs) == 1, LETHE_ERR_INVALID_ARG);
	e->p.classic_key_allowed = classic_key_allowed;
	return set_pubkey(e, pubkey_cert);
}

/* Read e's service policy, and its agent's certificate when it allows public-key tickets. */
static lethe_status
load_service_policy(store *s, snap_entry *e)
{
	kdc_principal *p = &e->p;
	store_service_policy sp;
	store_agent *agent = NULL;
	X509 *cert = NULL;
	lethe_status rc;

	if (p->kind != STORE_KIND_SERVICE && p->kind != STORE_KIND_AGENT)
		return LETHE_OK;
	GUARD(store_service_policy_get(s, p->name, &sp));
	if (!sp.configured)
		return LETHE_OK;
	p->classic_key_allowed = sp.allow_classic_key;
	if (!sp.allow_pubkey_tickets)
		return LETHE_OK;
	rc = store_agent_get(s, p->name, &agent);
	if (rc == LETHE_ERR_NOT_FOUND || (rc == LETHE_OK && agent->cert_pem == NULL)) {
		rc = LETHE_OK;
		goto cleanup;
	}
	GUARD_GOTO(rc, rc);
	rc = reg_cert_from_pem(agent->cert_pem, strlen(agent->cert_pem), &cert);
	if (rc != LETHE_OK) {
		log_warnx("snapshot: the certificate of %.200s does not parse; "
		    "no public-key tickets for it", p->name);
		rc = LETHE_OK;
		goto cleanup;
	}
	rc = set_pubkey(e, cert);
cleanup:
	X509_free(cert);
	store_agent_free(agent);
	return rc;
}

/* Build e's service policy in, then put it into snap. */
static lethe_status
snap_put_loaded(store *s, kdc_snapshot *snap, snap_entry *e)
{
	lethe_status rc = load_service_policy(s, e);

	if (rc != LETHE_OK) {
		entry_release(e);
		return rc;
	}
	return snap_put(snap, e);
}

typedef struct load_ctx {
	store *s;
	kdc_snapshot *snap;
} load_ctx;

static lethe_status
load_cb(void *ctx, const store_principal *p)
{
	load_ctx *lc = ctx;
	snap_entry *e;

	GUARD(entry_make(lc->snap, p, &e));
	return e != NULL ? snap_put_loaded(lc->s, lc->snap, e) : LETHE_OK;
}

/* One principal the store could not hand over: the rest of the realm goes on. */
static void
load_err_cb(void *ctx, const char *name, lethe_status rc, const char *why)
{
	load_ctx *lc = ctx;

	lc->snap->skipped++;
	log_warnx("snapshot: principal %.200s cannot be read (%s: %s); left out, "
	    "the rest of the realm is served", name, lethe_status_str(rc), why);
}

/*
 * Read the KDC credential into snap->ticket_signer (replacing what it held).
 * No credential, or one that does not parse: none, logged; public-key
 * tickets are then not issued. Store errors are returned.
 */
static lethe_status
load_ticket_signer(store *s, kdc_snapshot *snap)
{
	store_credential *cred = NULL;
	reg_identity *id = NULL;
	lethe_status rc;

	rc = store_credential_get(s, STORE_CRED_KDC, &cred);
	if (rc == LETHE_ERR_NOT_FOUND)
		return LETHE_OK;
	GUARD(rc);
	rc = reg_identity_from_pem(cred->cert_pem, cred->cert_pem_len,
	    (const char *)cred->key_pem, cred->key_pem_len, &id);
	store_credential_free(cred);
	if (rc != LETHE_OK) {
		log_warnx("snapshot: the KDC credential does not load (%s); no public-key "
		    "tickets can be signed", lethe_status_str(rc));
		return LETHE_OK;
	}
	reg_identity_free(snap->ticket_signer);
	snap->ticket_signer = id;
	return LETHE_OK;
}

lethe_status
kdc_snapshot_set_ticket_signer(kdc_snapshot *snap, const reg_identity *signer)
{
	reg_identity *id = NULL;

	if (signer != NULL)
		GUARD(reg_identity_dup(signer, &id));
	reg_identity_free(snap->ticket_signer);
	snap->ticket_signer = id;
	return LETHE_OK;
}

const reg_identity *
kdc_snapshot_ticket_signer(const kdc_snapshot *snap)
{
	return snap->ticket_signer;
}

lethe_status
kdc_snapshot_load(store *s, kdc_snapshot **out)
{
	store_realm_policy policy;
	load_ctx lc = { .s = s };
	uint64_t generation = 0;
	lethe_status rc;

	*out = NULL;
	GUARD(store_realm_policy_get(s, &policy));
	GUARD(snap_new(&policy, 0, &lc.snap));
	GUARD_GOTO(rc, load_ticket_signer(s, lc.snap));
	GUARD_GOTO(rc, store_principal_foreach_ex(s, load_cb, load_err_cb, &lc, &generation));
	lc.snap->generation = generation;
	snap_finish(lc.snap);
	*out = lc.snap;
	lc.snap = NULL;
cleanup:
	kdc_snapshot_free(lc.snap);
	return rc;
}

/* Read the principal called name again into snap: replaced, removed, or kept. */
static lethe_status
apply_one(store *s, kdc_snapshot *snap, const char *name, kdc_snapshot_apply_stats *st)
{
	store_principal *in = NULL;
	snap_entry *e = NULL;
	lethe_arena a;
	krb_principal_name pname;
	lbytes realm;
	lethe_status rc;

	rc = store_principal_get(s, name, &in);
	if (rc == LETHE_ERR_NOT_FOUND) {
		lethe_arena_init_sized(&a, STORE_MAX_NAME_LEN * 4, SNAP_ENTRY_BLOCK);
		rc = krb_principal_parse(&a, name, strlen(name), lbytes_make(NULL, 0), &pname,
		    &realm);
		if (rc == LETHE_OK)
			rc = snap_remove(snap, &pname, realm);
		else if (rc == LETHE_ERR_FORMAT)
			rc = LETHE_OK;          /* never in a snapshot either */
		lethe_arena_free(&a);
		if (rc == LETHE_OK)
			st->removed++;
		return rc;
	}
	if (rc != LETHE_OK) {
		/* Keep what was served: one principal never stops the others. */
		log_warnx("snapshot: principal %.200s cannot be read (%s: %s); still serving "
		    "its previous state", name, lethe_status_str(rc), store_errmsg(s));
		st->failed++;
		return LETHE_OK;
	}
	rc = entry_make(snap, in, &e);
	store_principal_free(in);
	GUARD(rc);
	if (e == NULL)
		return LETHE_OK;
	GUARD(snap_put_loaded(s, snap, e));
	st->replaced++;
	return LETHE_OK;
}

static int
change_name_cmp(const void *a, const void *b)
{
	return strcmp(((const store_change *)a)->principal, ((const store_change *)b)->principal);
}

lethe_status
kdc_snapshot_apply(store *s, const kdc_snapshot *base, size_t max_changes,
    kdc_snapshot **out, kdc_snapshot_apply_stats *st)
{
	store_changes *ch = NULL;
	kdc_snapshot *snap = NULL;
	lethe_status rc;

	*out = NULL;
	*st = (kdc_snapshot_apply_stats){ 0 };
	GUARD(store_changes_since(s, base->generation, max_changes, &ch));
	if (!ch->complete) {
		st->full = true;
		rc = kdc_snapshot_load(s, &snap);
		goto done;
	}
	if (ch->generation == base->generation) {
		rc = LETHE_OK;          /* nothing new: *out stays NULL */
		goto cleanup;
	}
	GUARD_GOTO(rc, snap_derive(base, ch->generation, &snap));
	/* A new KDC credential (lethe-admin) takes effect with the next change. */
	GUARD_GOTO(rc, load_ticket_signer(s, snap));
	/* A name changed several times in the window is read once. */
	qsort(ch->entries, ch->count, sizeof(ch->entries[0]), change_name_cmp);
	for (size_t i = 0; i < ch->count; i++) {
		if (i > 0 && strcmp(ch->entries[i].principal, ch->entries[i - 1].principal) == 0)
			continue;
		GUARD_GOTO(rc, apply_one(s, snap, ch->entries[i].principal, st));
	}
	snap_finish(snap);
done:
	if (rc == LETHE_OK) {
		*out = snap;
		snap = NULL;
	}
cleanup:
	kdc_snapshot_free(snap);
	store_changes_free(ch);
	return rc;
}

void
kdc_snapshot_free(kdc_snapshot *snap)
{
	if (snap == NULL)
		return;
	for (size_t i = 0; i < SNAP_FANOUT; i++)
		mid_release(snap->top[i]);
	lethe_wipe(&snap->seed, sizeof(snap->seed));
	reg_identity_free(snap->ticket_signer);
	free(snap);
}

/* ------------------------------------------------------------ reading */

const store_realm_policy *
kdc_snapshot_policy(const kdc_snapshot *snap)
{
	return &snap->policy;
}

lbytes
kdc_snapshot_realm(const kdc_snapshot *snap)
{
	return snap->realm;
}

uint64_t
kdc_snapshot_generation(const kdc_snapshot *snap)
{
	return snap->generation;
}

size_t
kdc_snapshot_count(const kdc_snapshot *snap)
{
	return snap->count;
}

size_t
kdc_snapshot_skipped(const kdc_snapshot *snap)
{
	return snap->skipped;
}

size_t
kdc_snapshot_keys_shared(const kdc_snapshot *snap)
{
	return snap->keys_shared;
}

size_t
kdc_snapshot_keys_derived(const kdc_snapshot *snap)
{
	return snap->keys_derived;
}

const kdc_principal *
kdc_snapshot_lookup(const kdc_snapshot *snap, const krb_principal_name *name, lbytes realm)
{
	uint64_t hash;
	const snap_leaf *l;
	size_t i;

	if (name->n_components == 0)
		return NULL;
	hash = name_hash(snap->seed, name, realm);
	l = find_leaf(snap, hash);
	if (l == NULL)
		return NULL;
	i = leaf_find(l, hash, name, realm);
	return i < l->n ? &l->e[i]->p : NULL;
}

const kdc_principal *
kdc_snapshot_lookup_name(const kdc_snapshot *snap, const char *name)
{
	const kdc_principal *p = NULL;
	krb_principal_name pname;
	lbytes realm;
	lethe_arena a;

	if (name == NULL)
		return NULL;
	lethe_arena_init_sized(&a, STORE_MAX_NAME_LEN * 4, SNAP_ENTRY_BLOCK);
	if (krb_principal_parse(&a, name, strnlen(name, STORE_MAX_NAME_LEN + 1),
	    lbytes_make(NULL, 0), &pname, &realm) == LETHE_OK)
		p = kdc_snapshot_lookup(snap, &pname, realm);
	lethe_arena_free(&a);
	return p;
}

const kdc_principal *
kdc_snapshot_lookup_str(const kdc_snapshot *snap, const char *name)
{
	return kdc_snapshot_lookup_name(snap, name);
}

const kdc_principal *
kdc_snapshot_tgs(const kdc_snapshot *snap)
{
	return snap->tgs;
}

bool
kdc_principal_is_tgs_name(const krb_principal_name *name)
{
	return name->n_components == 2 && lbytes_eq(name->components[0], LBYTES_LIT("krbtgt"));
}

const kdc_key *
kdc_principal_key(const kdc_principal *p, uint32_t kvno, int32_t enctype)
{
	for (size_t i = 0; i < p->nkeys; i++) {
		if (p->keys[i].kvno == kvno && p->keys[i].enctype == enctype)
			return &p->keys[i];
	}
	return NULL;
}

const kdc_key *
kdc_principal_newest_key(const kdc_principal *p, int32_t enctype)
{
	const kdc_key *best = NULL;

	for (size_t i = 0; i < p->nkeys; i++) {
		if (p->keys[i].enctype == enctype && (best == NULL || p->keys[i].kvno > best->kvno))
			best = &p->keys[i];
	}
	return best;
}
