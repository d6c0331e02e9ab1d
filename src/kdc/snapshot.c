/* The KDC's immutable in-memory view of the realm. */
#include "kdc/snapshot.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "kdc/kdc_int.h"
#include "krb5/krb5.h"
#include "registrar/registrar.h"

#define SNAP_ARENA_BUDGET ((size_t)1 << 30)   /* names, salts, key arrays */
#define SNAP_EMPTY UINT32_MAX                 /* a free hash slot */
#define SNAP_MAX_PRINCIPALS (UINT32_MAX / 4)

struct kdc_snapshot {
	store_realm_policy policy;
	lbytes realm;
	uint64_t generation;
	lethe_arena arena;        /* strings, salts, key arrays; wiped at free */
	kdc_principal *principals;
	size_t count;
	size_t cap;
	size_t skipped;
	uint32_t *slots;          /* open addressing over principals[] */
	size_t nslots;            /* a power of two, >= 2 * count */
	uint64_t seed;            /* hash key, random per snapshot */
	const kdc_principal *tgs;
	size_t keys_shared;       /* key objects taken from a live snapshot */
	size_t keys_derived;      /* key objects made for this one */
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
	uint8_t b[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
		(uint8_t)len };

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

static bool
name_matches(const kdc_principal *p, const krb_principal_name *name, lbytes realm)
{
	return krb_principal_realm_eq(&p->pname, p->realm, name, realm);
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
	OPENSSL_cleanse(sk, sizeof(*sk));
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
		OPENSSL_cleanse(&shared_seed, sizeof(shared_seed));
	}
}

/* A new object for in (its derived keys computed), not yet in the registry. */
static lethe_status
shared_make(const char *principal, enum store_principal_kind pkind, const store_key *in,
    struct kdc_shared_key **out)
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
	    &sk->key));
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
    struct kdc_shared_key **out, bool *shared)
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
	GUARD(shared_make(principal, pkind, in, &made));
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

/* ------------------------------------------------------------ building */

static lethe_status
snap_new(const store_realm_policy *policy, uint64_t generation, kdc_snapshot **out)
{
	kdc_snapshot *snap = calloc(1, sizeof(*snap));

	ENSURE(snap != NULL, LETHE_ERR_NOMEM);
	snap->policy = *policy;
	snap->policy.realm[sizeof(snap->policy.realm) - 1] = '\0';
	snap->realm = lbytes_make(snap->policy.realm, strlen(snap->policy.realm));
	snap->generation = generation;
	lethe_arena_init(&snap->arena, SNAP_ARENA_BUDGET);
	if (RAND_bytes((unsigned char *)&snap->seed, sizeof(snap->seed)) != 1) {
		free(snap);
		return LETHE_ERR_CRYPTO;
	}
	*out = snap;
	return LETHE_OK;
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
	k->s2kparams[0] = (uint8_t)(iterations >> 24);
	k->s2kparams[1] = (uint8_t)(iterations >> 16);
	k->s2kparams[2] = (uint8_t)(iterations >> 8);
	k->s2kparams[3] = (uint8_t)iterations;
}

/* Fill *k from *in; false (nothing allocated) when the enctype is unusable. */
static lethe_status
add_key(kdc_snapshot *snap, const kdc_principal *p, const store_key *in, kdc_key *k,
    bool *used)
{
	bool shared;

	*used = false;
	*k = (kdc_key){ .kvno = in->kvno, .enctype = in->enctype, .kind = in->kind,
		.use_until = in->use_until, .accept_until = in->accept_until };
	if (!kdc_enctype_usable(in->enctype))
		return LETHE_OK;
	if (in->salt != NULL)
		GUARD(arena_copy(&snap->arena, in->salt, in->salt_len, &k->salt));
	else
		GUARD(default_salt(&snap->arena, p, &k->salt));
	set_s2kparams(k, in->s2k_iterations);
	ENSURE(in->key_len <= sizeof(in->key), LETHE_ERR_INVALID_ARG);
	GUARD(shared_acquire(p->name, p->kind, in, &k->shared, &shared));
	k->key = k->shared->key;
	if (shared)
		snap->keys_shared++;
	else
		snap->keys_derived++;
	*used = true;
	return LETHE_OK;
}

static lethe_status
add_keys(kdc_snapshot *snap, kdc_principal *p, const store_principal *in)
{
	kdc_key *keys;
	size_t n = 0;
	bool used;

	p->keys = NULL;
	p->nkeys = 0;
	if (in->nkeys == 0)
		return LETHE_OK;
	ENSURE(in->nkeys <= STORE_MAX_KEYS, LETHE_ERR_TOO_BIG);
	keys = lethe_arena_calloc(&snap->arena, in->nkeys, sizeof(*keys));
	ENSURE(keys != NULL, LETHE_ERR_NOMEM);
	p->keys = keys;
	for (size_t i = 0; i < in->nkeys; i++) {
		GUARD(add_key(snap, p, &in->keys[i], &keys[n], &used));
		if (used)
			p->nkeys = ++n;
		else
			snap->skipped++;
	}
	return LETHE_OK;
}

static lethe_status
grow(kdc_snapshot *snap)
{
	size_t cap;
	kdc_principal *np;

	if (snap->count < snap->cap)
		return LETHE_OK;
	ENSURE(snap->cap < SNAP_MAX_PRINCIPALS, LETHE_ERR_TOO_BIG);
	cap = snap->cap ? snap->cap * 2 : 64;
	np = realloc(snap->principals, cap * sizeof(*np));
	ENSURE(np != NULL, LETHE_ERR_NOMEM);
	snap->principals = np;
	snap->cap = cap;
	return LETHE_OK;
}

/*
 * Parse in->name into *p's name fields. *why is NULL when the principal
 * is usable, else the reason to leave it out.
 */
static lethe_status
parse_name(kdc_snapshot *snap, const store_principal *in, kdc_principal *p, const char **why)
{
	lbytes name;
	size_t len;
	lethe_status rc;

	*why = "is not a valid principal name";
	ENSURE(in->name != NULL, LETHE_ERR_INVALID_ARG);
	len = strnlen(in->name, STORE_MAX_NAME_LEN + 1);
	ENSURE(len <= STORE_MAX_NAME_LEN, LETHE_ERR_INVALID_ARG);
	GUARD(arena_copy(&snap->arena, in->name, len + 1, &name));
	p->name = (const char *)name.data;
	rc = krb_principal_parse(&snap->arena, p->name, len, lbytes_make(NULL, 0), &p->pname,
	    &p->realm);
	if (rc == LETHE_ERR_FORMAT)
		return LETHE_OK;
	GUARD(rc);
	*why = lbytes_eq(p->realm, snap->realm) ? NULL : "is of another realm";
	return LETHE_OK;
}

/* Add one principal (its keys included) unless it is foreign or unusable. */
static lethe_status
snap_add(kdc_snapshot *snap, const store_principal *in)
{
	kdc_principal *p;
	const char *why;

	GUARD(grow(snap));
	p = &snap->principals[snap->count];
	*p = (kdc_principal){ .kind = in->kind, .attributes = in->attributes,
		.max_life = in->max_life, .max_renew = in->max_renew,
		.expires_at = in->expires_at, .classic_key_allowed = true };
	GUARD(parse_name(snap, in, p, &why));
	if (why != NULL) {
		log_warnx("snapshot: principal \"%.200s\" %s; left out", in->name, why);
		snap->skipped++;
		return LETHE_OK;
	}
	snap->count++;          /* counted now so that free() releases its keys */
	return add_keys(snap, p, in);
}

static size_t
slot_of(const kdc_snapshot *snap, const krb_principal_name *name, lbytes realm)
{
	return (size_t)name_hash(snap->seed, name, realm) & (snap->nslots - 1);
}

/* Index every principal; a duplicate name keeps the first one. */
static lethe_status
snap_index(kdc_snapshot *snap)
{
	size_t n = 16;

	while (n < snap->count * 2)
		n *= 2;
	snap->slots = malloc(n * sizeof(*snap->slots));
	ENSURE(snap->slots != NULL, LETHE_ERR_NOMEM);
	snap->nslots = n;
	memset(snap->slots, 0xff, n * sizeof(*snap->slots));
	for (size_t i = 0; i < snap->count; i++) {
		const kdc_principal *p = &snap->principals[i];
		size_t s = slot_of(snap, &p->pname, p->realm);

		while (snap->slots[s] != SNAP_EMPTY &&
		    !name_matches(&snap->principals[snap->slots[s]], &p->pname, p->realm))
			s = (s + 1) & (n - 1);
		if (snap->slots[s] == SNAP_EMPTY)
			snap->slots[s] = (uint32_t)i;
		else
			snap->skipped++;
	}
	return LETHE_OK;
}

static lethe_status
snap_finish(kdc_snapshot *snap)
{
	lbytes comps[2] = { LBYTES_LIT("krbtgt"), snap->realm };
	krb_principal_name tgs = { KRB_NT_SRV_INST, comps, 2 };

	GUARD(snap_index(snap));
	snap->tgs = kdc_snapshot_lookup(snap, &tgs, snap->realm);
	return LETHE_OK;
}

lethe_status
kdc_snapshot_build(const store_realm_policy *policy, const store_principal *principals,
    size_t n, uint64_t generation, kdc_snapshot **out)
{
	kdc_snapshot *snap = NULL;
	lethe_status rc;

	*out = NULL;
	ENSURE(policy != NULL && (principals != NULL || n == 0), LETHE_ERR_INVALID_ARG);
	GUARD(snap_new(policy, generation, &snap));
	for (size_t i = 0; i < n; i++)
		GUARD_GOTO(rc, snap_add(snap, &principals[i]));
	GUARD_GOTO(rc, snap_finish(snap));
	*out = snap;
	snap = NULL;
cleanup:
	kdc_snapshot_free(snap);
	return rc;
}

/* Point p->pubkey at a key object for cert (a reference is taken). */
static lethe_status
set_pubkey(kdc_snapshot *snap, kdc_principal *p, X509 *cert)
{
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
	k = lethe_arena_calloc(&snap->arena, 1, sizeof(*k));
	ENSURE(k != NULL, LETHE_ERR_NOMEM);
	ENSURE(X509_up_ref(cert) == 1, LETHE_ERR_CRYPTO);
	*k = (kdc_key){ .enctype = REG_ENCTYPE_PUBKEY_TICKET, .kind = STORE_KEY_TEMPORARY,
		.use_until = (int64_t)timegm(&tm), .accept_until = (int64_t)timegm(&tm),
		.cert = cert };
	p->pubkey = k;
	return LETHE_OK;
}

lethe_status
kdc_snapshot_set_service(kdc_snapshot *snap, const char *name, bool classic_key_allowed,
    X509 *pubkey_cert)
{
	kdc_principal *p = (kdc_principal *)kdc_snapshot_lookup_str(snap, name);

	ENSURE(p != NULL, LETHE_ERR_NOT_FOUND);
	p->classic_key_allowed = classic_key_allowed;
	return set_pubkey(snap, p, pubkey_cert);
}

/* Read p's service policy, and its agent's certificate when it allows public-key tickets. */
static lethe_status
load_service_policy(store *s, kdc_snapshot *snap, kdc_principal *p)
{
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
	rc = set_pubkey(snap, p, cert);
cleanup:
	X509_free(cert);
	store_agent_free(agent);
	return rc;
}

static lethe_status
load_cb(void *ctx, const store_principal *p)
{
	return snap_add(ctx, p);
}

lethe_status
kdc_snapshot_load(store *s, kdc_snapshot **out)
{
	store_realm_policy policy;
	kdc_snapshot *snap = NULL;
	uint64_t generation = 0;
	lethe_status rc;

	*out = NULL;
	GUARD(store_realm_policy_get(s, &policy));
	GUARD(snap_new(&policy, 0, &snap));
	GUARD_GOTO(rc, store_principal_foreach(s, load_cb, snap, &generation));
	snap->generation = generation;
	GUARD_GOTO(rc, snap_finish(snap));
	for (size_t i = 0; i < snap->count; i++)
		GUARD_GOTO(rc, load_service_policy(s, snap, &snap->principals[i]));
	*out = snap;
	snap = NULL;
cleanup:
	kdc_snapshot_free(snap);
	return rc;
}

void
kdc_snapshot_free(kdc_snapshot *snap)
{
	if (snap == NULL)
		return;
	pthread_mutex_lock(&shared_mu);
	for (size_t i = 0; i < snap->count; i++) {
		const kdc_principal *p = &snap->principals[i];
		for (size_t k = 0; k < p->nkeys; k++)
			shared_release_locked(p->keys[k].shared);
	}
	pthread_mutex_unlock(&shared_mu);
	for (size_t i = 0; i < snap->count; i++) {
		const kdc_principal *p = &snap->principals[i];
		if (p->pubkey != NULL)
			X509_free(p->pubkey->cert);
	}
	free(snap->principals);
	free(snap->slots);
	lethe_arena_free(&snap->arena);
	OPENSSL_cleanse(&snap->seed, sizeof(snap->seed));
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
	size_t s;

	if (snap->nslots == 0 || name->n_components == 0)
		return NULL;
	s = slot_of(snap, name, realm);
	while (snap->slots[s] != SNAP_EMPTY) {
		const kdc_principal *p = &snap->principals[snap->slots[s]];
		if (name_matches(p, name, realm))
			return p;
		s = (s + 1) & (snap->nslots - 1);
	}
	return NULL;
}

const kdc_principal *
kdc_snapshot_lookup_str(const kdc_snapshot *snap, const char *name)
{
	lbytes comps[KRB_MAX_NAME_COMPONENTS];
	krb_principal_name pn = { KRB_NT_PRINCIPAL, comps, 0 };
	const char *at = strrchr(name, '@'), *c = name, *slash;

	/* Only unescaped names: the test and tool callers use plain ones. */
	if (at == NULL || strchr(name, '\\') != NULL)
		return NULL;
	while (pn.n_components < KRB_MAX_NAME_COMPONENTS) {
		slash = memchr(c, '/', (size_t)(at - c));
		comps[pn.n_components++] = lbytes_make(c, (size_t)((slash ? slash : at) - c));
		if (slash == NULL)
			return kdc_snapshot_lookup(snap, &pn, lbytes_make(at + 1, strlen(at + 1)));
		c = slash + 1;
	}
	return NULL;
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
