/*
 * The pre-authentication guards: a replay cache of accepted encrypted
 * timestamps and per-principal failure counts with lockout. Two fixed
 * set-associative tables; a principal's hash picks its bucket, the bucket
 * its stripe (one mutex), so a lookup costs a lock and a scan of a few
 * cache lines and never allocates.
 */
#include "kdc/preauth_guard.h"
#include "base/wipe.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "kdc/kdc_int.h"

#define GUARD_STRIPES 64u
#define GUARD_TAG_LEN 16u          /* the cipher's tail: its MAC under the client's key */
#define GUARD_MAX_PERIOD (366 * 86400)

typedef struct guard_stripe {
	alignas(64) pthread_mutex_t mu;
} guard_stripe;

typedef struct replay_entry {
	uint64_t owner;               /* the principal's hash; 0: empty */
	int64_t expires;              /* live while now <= expires */
	uint8_t tag[GUARD_TAG_LEN];
} replay_entry;

typedef struct fail_entry {
	uint64_t owner;               /* the principal's hash; 0: empty */
	int64_t last_failed;
	uint32_t failures;
} fail_entry;

/* One reading of the lockout policy. */
typedef struct lockout {
	uint32_t max;
	int64_t window;
	int64_t duration;
} lockout;

struct kdc_guard {
	guard_stripe replay_lock[GUARD_STRIPES];
	guard_stripe fail_lock[GUARD_STRIPES];
	uint64_t seed;
	_Atomic uint32_t max_failures;
	_Atomic int64_t window;
	_Atomic int64_t duration;
	atomic_uint_least64_t replay_evictions;
	replay_entry *replay;         /* KDC_GUARD_REPLAY_BUCKETS * WAYS */
	fail_entry *fail;             /* KDC_GUARD_FAIL_BUCKETS * WAYS */
};

/* ------------------------------------------------------------ setup */

lethe_status
kdc_guard_new(kdc_guard **out)
{
	kdc_guard *g;
	unsigned locks = 0;
	lethe_status rc;

	*out = NULL;
	g = aligned_alloc(alignof(kdc_guard), sizeof(*g));   /* a multiple of its alignment */
	ENSURE(g != NULL, LETHE_ERR_NOMEM);
	memset(g, 0, sizeof(*g));
	g->replay = calloc((size_t)KDC_GUARD_REPLAY_BUCKETS * KDC_GUARD_REPLAY_WAYS,
	    sizeof(*g->replay));
	g->fail = calloc((size_t)KDC_GUARD_FAIL_BUCKETS * KDC_GUARD_FAIL_WAYS, sizeof(*g->fail));
	ENSURE_GOTO(rc, g->replay != NULL && g->fail != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kc_random_bytes((uint8_t *)&g->seed, sizeof(g->seed)));
	for (; locks < GUARD_STRIPES; locks++) {
		if (pthread_mutex_init(&g->replay_lock[locks].mu, NULL) != 0)
			break;
		if (pthread_mutex_init(&g->fail_lock[locks].mu, NULL) != 0) {
			pthread_mutex_destroy(&g->replay_lock[locks].mu);
			break;
		}
	}
	ENSURE_GOTO(rc, locks == GUARD_STRIPES, LETHE_ERR_NOMEM);
	atomic_init(&g->max_failures, 0);
	atomic_init(&g->window, 0);
	atomic_init(&g->duration, 1);
	atomic_init(&g->replay_evictions, 0);
	*out = g;
	g = NULL;
	rc = LETHE_OK;
cleanup:
	if (g != NULL) {
		while (locks-- > 0) {
			pthread_mutex_destroy(&g->replay_lock[locks].mu);
			pthread_mutex_destroy(&g->fail_lock[locks].mu);
		}
		free(g->replay);
		free(g->fail);
		free(g);
	}
	return rc;
}

void
kdc_guard_free(kdc_guard *g)
{
	if (g == NULL)
		return;
	for (unsigned i = 0; i < GUARD_STRIPES; i++) {
		pthread_mutex_destroy(&g->replay_lock[i].mu);
		pthread_mutex_destroy(&g->fail_lock[i].mu);
	}
	lethe_wipe(&g->seed, sizeof(g->seed));
	free(g->replay);
	free(g->fail);
	free(g);
}

static int64_t
clamp_period(int64_t v, int64_t lo)
{
	return v < lo ? lo : v > GUARD_MAX_PERIOD ? GUARD_MAX_PERIOD : v;
}

void
kdc_guard_set_lockout(kdc_guard *g, const kdc_lockout_policy *p)
{
	atomic_store(&g->window, clamp_period(p->window, 0));
	atomic_store(&g->duration, clamp_period(p->duration, 1));
	atomic_store(&g->max_failures, p->max_failures);
}

void
kdc_guard_lockout(kdc_guard *g, kdc_lockout_policy *out)
{
	out->max_failures = atomic_load(&g->max_failures);
	out->window = atomic_load(&g->window);
	out->duration = atomic_load(&g->duration);
}

static lockout
lockout_now(kdc_guard *g)
{
	lockout lo = { atomic_load_explicit(&g->max_failures, memory_order_relaxed),
		atomic_load_explicit(&g->window, memory_order_relaxed),
		atomic_load_explicit(&g->duration, memory_order_relaxed) };

	return lo;
}

/* ------------------------------------------------------------ hashing */

/* Keyed FNV-1a of the name, then a 64-bit finaliser (splitmix64's); never 0. */
static uint64_t
principal_hash(const kdc_guard *g, const char *name)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ g->seed;

	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return h | 1u;
}

static size_t
bucket_of(uint64_t id, unsigned nbuckets)
{
	return (size_t)((id >> 17) & (nbuckets - 1u));
}

static pthread_mutex_t *
stripe_of(guard_stripe *locks, size_t bucket)
{
	return &locks[bucket % GUARD_STRIPES].mu;
}

/* ------------------------------------------------------------ lockout */

static bool
fail_locked(const fail_entry *e, const lockout *lo, int64_t now)
{
	return lo->max != 0 && e->owner != 0 && e->failures >= lo->max &&
	    now < e->last_failed + lo->duration;
}

/* The count of e that still stands at now: 0 once its window or lockout has passed. */
static uint32_t
fail_standing(const fail_entry *e, const lockout *lo, int64_t now)
{
	if (e->owner == 0)
		return 0;
	if (lo->max != 0 && e->failures >= lo->max)
		return fail_locked(e, lo, now) ? e->failures : 0;
	if (lo->window != 0 && now > e->last_failed + lo->window)
		return 0;
	return e->failures;
}

bool
kdc_guard_locked(kdc_guard *g, const char *principal, int64_t now, int64_t *until,
    uint32_t *failures)
{
	lockout lo = lockout_now(g);
	uint64_t id;
	size_t b;
	fail_entry *set;
	pthread_mutex_t *mu;
	bool locked = false, found = false, all_locked = true;
	int64_t first_end = INT64_MAX;

	*until = 0;
	*failures = 0;
	if (lo.max == 0)
		return false;
	id = principal_hash(g, principal);
	b = bucket_of(id, KDC_GUARD_FAIL_BUCKETS);
	set = &g->fail[b * KDC_GUARD_FAIL_WAYS];
	mu = stripe_of(g->fail_lock, b);
	pthread_mutex_lock(mu);
	for (unsigned i = 0; i < KDC_GUARD_FAIL_WAYS; i++) {
		bool l = fail_locked(&set[i], &lo, now);
		if (set[i].owner == id) {
			found = true;
			locked = l;
			*failures = set[i].failures;
			*until = set[i].last_failed + lo.duration;
		}
		if (!l)
			all_locked = false;
		else if (set[i].last_failed + lo.duration < first_end)
			first_end = set[i].last_failed + lo.duration;
	}
	pthread_mutex_unlock(mu);
	if (!found && all_locked) {
		/* Its failures could not be counted: refuse until a slot frees. */
		*until = first_end;
		return true;
	}
	return locked;
}

/* Where principal id's failure goes: its record, else a free or the least-counted one. */
static fail_entry *
fail_slot(fail_entry *set, uint64_t id, const lockout *lo, int64_t now)
{
	fail_entry *victim = NULL;

	for (unsigned i = 0; i < KDC_GUARD_FAIL_WAYS; i++) {
		if (set[i].owner == id)
			return &set[i];
	}
	for (unsigned i = 0; i < KDC_GUARD_FAIL_WAYS; i++) {
		fail_entry *e = &set[i];
		if (fail_standing(e, lo, now) == 0)
			return e;
		if (fail_locked(e, lo, now))
			continue;        /* a lockout is never evicted */
		if (victim == NULL || e->failures < victim->failures ||
		    (e->failures == victim->failures && e->last_failed < victim->last_failed))
			victim = e;
	}
	return victim;
}

uint32_t
kdc_guard_failure(kdc_guard *g, const char *principal, int64_t now)
{
	lockout lo = lockout_now(g);
	uint64_t id;
	size_t b;
	pthread_mutex_t *mu;
	fail_entry *e;
	uint32_t n = 0;

	if (lo.max == 0)
		return 0;
	id = principal_hash(g, principal);
	b = bucket_of(id, KDC_GUARD_FAIL_BUCKETS);
	mu = stripe_of(g->fail_lock, b);
	pthread_mutex_lock(mu);
	e = fail_slot(&g->fail[b * KDC_GUARD_FAIL_WAYS], id, &lo, now);
	if (e != NULL) {
		n = e->owner == id ? fail_standing(e, &lo, now) : 0;
		n = n < UINT32_MAX ? n + 1 : n;
		*e = (fail_entry){ .owner = id, .last_failed = now, .failures = n };
	}
	pthread_mutex_unlock(mu);
	return n;
}

void
kdc_guard_success(kdc_guard *g, const char *principal)
{
	uint64_t id = principal_hash(g, principal);
	size_t b = bucket_of(id, KDC_GUARD_FAIL_BUCKETS);
	fail_entry *set = &g->fail[b * KDC_GUARD_FAIL_WAYS];
	pthread_mutex_t *mu = stripe_of(g->fail_lock, b);

	pthread_mutex_lock(mu);
	for (unsigned i = 0; i < KDC_GUARD_FAIL_WAYS; i++) {
		if (set[i].owner == id)
			set[i] = (fail_entry){ 0 };
	}
	pthread_mutex_unlock(mu);
}

/* ------------------------------------------------------------ replay cache */

/*
 * Where a new entry of owner goes in a full set: a free or expired way;
 * else the owner's oldest when it holds half the ways or more; else the
 * set's oldest. *evicts tells whether a live entry is overwritten.
 */
static replay_entry *
replay_slot(replay_entry *set, uint64_t owner, int64_t now, bool *evicts)
{
	replay_entry *oldest = NULL, *own_oldest = NULL;
	unsigned own = 0;

	*evicts = false;
	for (unsigned i = 0; i < KDC_GUARD_REPLAY_WAYS; i++) {
		replay_entry *e = &set[i];
		if (e->owner == 0 || e->expires < now)
			return e;
		if (oldest == NULL || e->expires < oldest->expires)
			oldest = e;
		if (e->owner == owner) {
			own++;
			if (own_oldest == NULL || e->expires < own_oldest->expires)
				own_oldest = e;
		}
	}
	*evicts = true;
	return own * 2 >= KDC_GUARD_REPLAY_WAYS ? own_oldest : oldest;
}

bool
kdc_guard_replayed(kdc_guard *g, const char *principal, lbytes cipher, int64_t now,
    int64_t expires, bool record)
{
	uint8_t tag[GUARD_TAG_LEN] = { 0 };
	size_t n = cipher.len < GUARD_TAG_LEN ? cipher.len : GUARD_TAG_LEN;
	uint64_t id = principal_hash(g, principal);
	size_t b = bucket_of(id, KDC_GUARD_REPLAY_BUCKETS);
	replay_entry *set = &g->replay[b * KDC_GUARD_REPLAY_WAYS], *e;
	pthread_mutex_t *mu = stripe_of(g->replay_lock, b);
	bool replay = false, evicts;

	if (n > 0)
		memcpy(tag, cipher.data + cipher.len - n, n);
	pthread_mutex_lock(mu);
	for (unsigned i = 0; i < KDC_GUARD_REPLAY_WAYS; i++) {
		e = &set[i];
		if (e->owner == id && e->expires >= now && memcmp(e->tag, tag, sizeof(tag)) == 0) {
			replay = true;
			goto done;
		}
	}
	if (!record)
		goto done;
	e = replay_slot(set, id, now, &evicts);
	*e = (replay_entry){ .owner = id, .expires = expires };
	memcpy(e->tag, tag, sizeof(tag));
	if (evicts)
		atomic_fetch_add_explicit(&g->replay_evictions, 1, memory_order_relaxed);
done:
	pthread_mutex_unlock(mu);
	return replay;
}

uint64_t
kdc_guard_replay_evictions(kdc_guard *g)
{
	return atomic_load_explicit(&g->replay_evictions, memory_order_relaxed);
}

/* ------------------------------------------------------------ the kdc's */

void
kdc_set_lockout(kdc *k, const kdc_lockout_policy *p)
{
	kdc_guard_set_lockout(k->guard, p);
}
