/*
 * Guards of the AS exchange's pre-authentication, kept in memory by each
 * KDC (docs/kdc.md, "Replayed timestamps" and "Lockout"):
 *
 *   - a replay cache of the encrypted timestamps accepted, each kept while
 *     its time is within the skew, so the same PA-ENC-TIMESTAMP sent again
 *     is refused (KRB_AP_ERR_REPEAT);
 *   - failure counts of principals that failed pre-authentication (a
 *     timestamp that does not decrypt with their key), with a lockout after
 *     max_failures (KDC_ERR_CLIENT_REVOKED until it ends).
 *
 * Both are fixed tables allocated once (kdc_guard_new): nothing grows with
 * traffic and the request path allocates nothing. A principal is named by
 * its canonical text (kdc_principal.name) and hashed with a key random per
 * process; only principals that exist reach the guard (the AS exchange
 * looks the client up first), and only a key's holder adds to the replay
 * cache. Each table is split into buckets by the principal's hash, and
 * buckets into stripes of one mutex each, so worker threads rarely meet.
 *
 * Threads: every function may be called from any thread at once, except
 * kdc_guard_free.
 */
#ifndef LETHE_KDC_PREAUTH_GUARD_H
#define LETHE_KDC_PREAUTH_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "kdc/kdc.h"

typedef struct kdc_guard kdc_guard;

/* Replay cache: buckets of ways, a principal's entries all in one bucket. */
#define KDC_GUARD_REPLAY_BUCKETS 4096u
#define KDC_GUARD_REPLAY_WAYS 16u
/* Failure records: buckets of ways. */
#define KDC_GUARD_FAIL_BUCKETS 8192u
#define KDC_GUARD_FAIL_WAYS 8u

/* A new guard: lockout off, empty tables. */
lethe_status kdc_guard_new(kdc_guard **out);

/* Wipe and free g. NULL is allowed. */
void kdc_guard_free(kdc_guard *g);

/* Replace the lockout policy (any thread; counts so far are kept). */
void kdc_guard_set_lockout(kdc_guard *g, const kdc_lockout_policy *p);

/* The lockout policy in force. */
void kdc_guard_lockout(kdc_guard *g, kdc_lockout_policy *out);

/*
 * True when principal is locked out at now: it failed max_failures times
 * (each within the window of the one before) and the last failure is less
 * than duration ago; *until is then the first second it may try again and
 * *failures its count. Also true, with *failures 0, when the principal has
 * no record and its bucket is full of locked ones (failures could not be
 * counted: refuse rather than allow unlimited guesses).
 */
bool kdc_guard_locked(kdc_guard *g, const char *principal, int64_t now, int64_t *until,
    uint32_t *failures);

/*
 * Count one failed pre-authentication of principal at now (a count older
 * than the window, or whose lockout has ended, starts again at 1). Returns
 * the count. Does nothing (returns 0) when the lockout is off.
 */
uint32_t kdc_guard_failure(kdc_guard *g, const char *principal, int64_t now);

/* A verified pre-authentication: principal's count goes back to 0. */
void kdc_guard_success(kdc_guard *g, const char *principal);

/*
 * True when the encrypted timestamp cipher (the EncryptedData's cipher
 * bytes, which end with a MAC under the principal's key) of principal was
 * recorded before and has not expired: a replay. Otherwise, with record,
 * record it until expires (its time plus the skew), in one step under
 * the lock. When the bucket is full of live entries, the oldest entry is
 * evicted: the principal's own when it holds half the ways or more, so a
 * principal that authenticates often evicts its own timestamps, not
 * others'.
 */
bool kdc_guard_replayed(kdc_guard *g, const char *principal, lbytes cipher, int64_t now,
    int64_t expires, bool record);

/* Counters (tests, logs): live entries evicted from the replay cache. */
uint64_t kdc_guard_replay_evictions(kdc_guard *g);

#endif
