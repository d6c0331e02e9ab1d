/* lethe-bench: internal interfaces between the driver, the loop and the messages. */
#ifndef LETHE_BENCH_BENCH_H
#define LETHE_BENCH_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/bench_hist.h"
#include "client/client.h"

enum bench_mode { BENCH_AS, BENCH_TGS };

/*
 * What the requests look like. LETHE: AS-REQ with PA-ENC-TIMESTAMP only,
 * etypes 18 17 20 19, forwardable + renewable-ok; TGS-REQ without subkey.
 * MIT: what MIT kinit and kvno 1.20 send (see bench_mit_etypes and
 * kcl_as_build): PA-FX-COOKIE, PA-ENC-TIMESTAMP, empty PA-AS-FRESHNESS and
 * PA-REQ-ENC-PA-REP, renewable-ok; TGS-REQ with a fresh subkey and
 * canonicalize; etypes 18 17 20 19 16 23 25 26 in both.
 */
enum bench_shape { BENCH_SHAPE_LETHE, BENCH_SHAPE_MIT };

/* MIT's default permitted_enctypes, in its order. */
extern const int32_t bench_mit_etypes[8];

#define BENCH_MAX_INFLIGHT 4096u
#define BENCH_MAX_THREADS  64u
#define BENCH_ERR_CODES    128      /* KRB-ERROR codes counted one by one */

typedef struct bench_cfg {
	kcl_kdc kdc;
	enum bench_mode mode;
	enum bench_shape shape;
	const char *realm;
	const char *principal;
	const char *password_file;
	const char *service;         /* TGS mode: the service asked for */
	unsigned inflight;
	unsigned threads;
	unsigned sample;             /* every K-th reply fully verified; 1 = all */
	uint64_t requests;           /* stop after this many replies (0: use seconds) */
	double seconds;
	int timeout_ms;              /* per request, before it counts as lost */
	bool json;
	bool quiet;
} bench_cfg;

/* Counters of one worker thread; summed at the end. */
typedef struct bench_stats {
	bench_hist hist;             /* latency of every good reply */
	uint64_t ok;                 /* replies of the expected type that passed the checks */
	uint64_t verified;           /* of which fully decrypted and verified */
	uint64_t krb_errors;         /* KRB-ERROR replies */
	uint64_t by_code[BENCH_ERR_CODES + 1];   /* last slot: codes out of range */
	uint64_t bad;                /* replies that failed a check */
	uint64_t timeouts;           /* no reply within timeout_ms */
	uint64_t io_errors;          /* socket errors */
	uint64_t sent;               /* requests sent */
} bench_stats;

/*
 * The per-thread message engine: builds distinct requests and checks the
 * replies. It holds reusable encoders and decode arenas, so it is used by
 * one thread only.
 */
typedef struct bench_engine bench_engine;

/* What a request needs to check its reply; one per in-flight slot. */
typedef struct bench_req_state {
	uint32_t nonce;
	kcl_tgs_state tgs;           /* TGS mode: the subkey, if any */
} bench_req_state;

/* The shared, read-only material every engine copies from at start. */
typedef struct bench_shared {
	const bench_cfg *cfg;
	kcl_as_ctx *as;              /* user key derived, principal names */
	kcl_cred *tgt;               /* TGS mode */
	kcl_name service;            /* TGS mode */
} bench_shared;

lethe_status bench_engine_new(const bench_shared *sh, bench_engine **out);
void bench_engine_free(bench_engine *e);

/* Encode one fresh request into the engine; *req is valid until the next call. */
lethe_status bench_engine_build(bench_engine *e, bench_req_state *st, lbytes *req);

/*
 * Check one reply to the request of st. verify: decrypt and verify fully.
 * Returns LETHE_OK for a good reply; for a KRB-ERROR sets *krb_code (else 0)
 * and returns a non-OK status; other failures are bad replies.
 */
lethe_status bench_engine_check(bench_engine *e, const bench_req_state *st,
				const uint8_t *rep, size_t len, bool verify, int32_t *krb_code);

/* Run one worker: its share of the slots until the global stop. */
typedef struct bench_run {
	const bench_shared *shared;
	_Atomic uint64_t issued;     /* requests counted against cfg->requests */
	_Atomic bool stop;
	int64_t end_ns;              /* duration mode: stop issuing at this time */
} bench_run;

typedef struct bench_worker {
	bench_run *run;
	unsigned slots;
	bench_stats stats;
	lethe_status rc;             /* set-up failure of this worker */
	int64_t last_reply_ns;
} bench_worker;

void *bench_worker_main(void *arg);

/* Monotonic clock in nanoseconds. */
int64_t bench_now_ns(void);

#endif
