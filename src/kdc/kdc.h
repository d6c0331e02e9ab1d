/*
 * The KDC core: the AS and TGS exchanges of RFC 4120 over a snapshot of
 * the realm, behind the request handler the network loop calls.
 *
 *	kdc *k;
 *	GUARD(kdc_snapshot_load(store, &snap));
 *	GUARD(kdc_new(snap, &k));             // k owns snap from here on
 *	cfg.handler = kdc_handle;  cfg.handler_ctx = k;
 *	cfg.worker_init = kdc_worker_init;  cfg.worker_fini = kdc_worker_fini;
 *	...
 *	kdc_swap_snapshot(k, newer);          // any thread, while serving
 *
 * Each request is decoded into the worker's arena and answered from the
 * snapshot current when it started; workers read the snapshot without
 * locks (each publishes the one it uses in a hazard slot, and a swap frees
 * the old snapshot once no worker holds it). Replies are encoded in a
 * writer kept per worker, so a warm worker does not grow the heap.
 *
 * Every request yields one log line (when enabled) and bumps one counter
 * of (request type, result). Requests whose first byte is not the
 * AS-REQ or TGS-REQ APPLICATION tag are dropped without an answer;
 * anything with that tag gets a reply or a KRB-ERROR (see docs/kdc.md).
 */
#ifndef LETHE_KDC_KDC_H
#define LETHE_KDC_KDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "kdc/net.h"
#include "kdc/snapshot.h"

typedef struct kdc kdc;

/* The current time: seconds since 1970 and microseconds. */
typedef void (*kdc_clock_fn)(void *ctx, int64_t *sec, int32_t *usec);

/* Create a KDC serving snap, which it owns from now on (freed by kdc_free). */
lethe_status kdc_new(kdc_snapshot *snap, kdc **out);

/* Free k and its snapshot. No worker may be running. NULL is allowed. */
void kdc_free(kdc *k);

/* Replace the clock (tests). Call before any worker runs. */
void kdc_set_clock(kdc *k, kdc_clock_fn fn, void *ctx);

/*
 * Called from a worker thread with a service's canonical name when a ticket
 * is asked for a service whose temporary keys are all past use_until
 * (DESIGN §2, key requests). It must not block: queue and return. The
 * callee rate-limits; the KDC calls it on every such request.
 */
typedef void (*kdc_key_request_fn)(void *ctx, const char *principal);

/* Install the key-request hook (NULL: none). Call before any worker runs. */
void kdc_set_key_request(kdc *k, kdc_key_request_fn fn, void *ctx);

#define KDC_DEFAULT_KEYREQ_LEAD 300     /* seconds: [registrar] keyreq_lead */

/*
 * The key-choice policy (docs/kdc.md "Key choices"). lead: the hook is
 * also called when the newest temporary key in use ends (use_until)
 * within lead seconds (0: only once none is in use). grace: when no key
 * is in use and neither a public-key nor a classic key may serve, the
 * newest temporary key past use_until but before accept_until still
 * encrypts tickets, ending by its accept_until (a warning each time).
 * kdc_new() sets KDC_DEFAULT_KEYREQ_LEAD and grace on. Call before any
 * worker runs.
 */
void kdc_set_key_policy(kdc *k, int64_t lead, bool grace);

/*
 * Called by a worker before it answers an AS-REQ or TGS-REQ, before it
 * takes the snapshot: it returns once the snapshot in use reflects every
 * change committed to the store before the call (read-your-writes),
 * waiting, bounded, for the snapshot to be brought up to date when it does
 * not. It must cost next to nothing when nothing changed.
 */
typedef void (*kdc_fresh_fn)(void *ctx);

/* Install the freshness hook (NULL: none). Call before any worker runs. */
void kdc_set_freshness(kdc *k, kdc_fresh_fn fn, void *ctx);

/*
 * Lockout after failed pre-authentication (docs/kdc.md, "Lockout"), as
 * MIT's policy max_fail / failcnt_interval / lockout_duration: after
 * max_failures failed encrypted timestamps of one principal, each less
 * than window after the one before (window 0: however far apart), every
 * AS-REQ for it gets KDC_ERR_CLIENT_REVOKED until duration has passed
 * since the last failure; a verified timestamp sets the count back to 0.
 * Counted in memory by each KDC.
 */
typedef struct kdc_lockout_policy {
	uint32_t max_failures;  /* 0: no lockout */
	int64_t window;         /* seconds, >= 0 */
	int64_t duration;       /* seconds, > 0 */
} kdc_lockout_policy;

#define KDC_LOCKOUT_DEFAULT_MAX_FAILURES 10u
#define KDC_LOCKOUT_DEFAULT_WINDOW 600
#define KDC_LOCKOUT_DEFAULT_DURATION 600

/* Replace the lockout policy (kdc_new sets the defaults above). Any thread. */
void kdc_set_lockout(kdc *k, const kdc_lockout_policy *p);

/* Turn the per-request log line on (the default) or off. Any thread. */
void kdc_set_log_requests(kdc *k, bool on);

/*
 * Install snap (owned by k from now on) as the snapshot new requests use,
 * then wait until no worker still uses the previous one and free it. Any
 * thread but a worker's; calls are serialised.
 */
void kdc_swap_snapshot(kdc *k, kdc_snapshot *snap);

/* Generation of the snapshot in use. */
uint64_t kdc_current_generation(kdc *k);

/*
 * The snapshot in use, e.g. as the base of the next kdc_snapshot_apply. It
 * stays valid until the next kdc_swap_snapshot: only the thread that swaps
 * may call this.
 */
const kdc_snapshot *kdc_current_snapshot(kdc *k);

/*
 * Network glue (kdc_worker_init_fn, kdc_worker_fini_fn, kdc_handler_fn of
 * kdc/net.h; ctx is the kdc). kdc_handle needs info->worker_ctx from
 * kdc_worker_init and info->arena; it answers nothing without them.
 * At most KDC_MAX_WORKERS worker contexts exist at a time.
 */
#define KDC_MAX_WORKERS (KDC_NET_MAX_WORKERS + 16)
lethe_status kdc_worker_init(void *ctx, unsigned worker, void **worker_ctx);
void kdc_worker_fini(void *ctx, unsigned worker, void *worker_ctx);
lethe_status kdc_handle(void *ctx, const kdc_req_info *info, const uint8_t *req,
    size_t req_len, uint8_t *rep, size_t rep_cap, size_t *rep_len);

/* ------------------------------------------------------------ counters */

enum kdc_req_type {
	KDC_REQ_AS,
	KDC_REQ_TGS,
	KDC_REQ_OTHER,          /* not an AS-REQ or TGS-REQ: dropped */
	KDC_REQ_TYPE_COUNT,
};

/*
 * Results are counted by Kerberos error code: 0 is a reply (OK), 1..126
 * an error code sent, KDC_RESULT_DROPPED a request left unanswered.
 */
#define KDC_RESULT_SLOTS 128u
#define KDC_RESULT_DROPPED 127u

/* The number of requests of type with result so far. */
uint64_t kdc_counter(const kdc *k, enum kdc_req_type type, unsigned result);

/* "AS", "TGS" or "OTHER". */
const char *kdc_req_type_name(enum kdc_req_type type);

/* Log every non-zero counter, one line each, at LETHE_LOG_INFO. */
void kdc_log_counters(const kdc *k);

#endif
