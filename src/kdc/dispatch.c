/*
 * The request handler: snapshot hazard slots, decode, dispatch to AS or
 * TGS, encode the reply or the KRB-ERROR, count and log.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/wait.h"
#include "kdc/kdc_int.h"
#include "kdc/preauth_guard.h"

#define SWAP_POLL_NS 100000L    /* 0.1 ms between looks at the hazard slots */

/* ------------------------------------------------------------ the kdc */

static void
system_clock(void *ctx, int64_t *sec, int32_t *usec)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (int64_t)ts.tv_sec;
	*usec = (int32_t)(ts.tv_nsec / 1000);
}

lethe_status
kdc_new(kdc_snapshot *snap, kdc **out)
{
	kdc *k;

	*out = NULL;
	ENSURE(snap != NULL, LETHE_ERR_INVALID_ARG);
	k = aligned_alloc(alignof(kdc), sizeof(*k));   /* a multiple of its alignment */
	ENSURE(k != NULL, LETHE_ERR_NOMEM);
	memset(k, 0, sizeof(*k));
	if (kdc_guard_new(&k->guard) != LETHE_OK) {
		free(k);
		return LETHE_ERR_NOMEM;
	}
	if (pthread_mutex_init(&k->swap_lock, NULL) != 0) {
		kdc_guard_free(k->guard);
		free(k);
		return LETHE_ERR_NOMEM;
	}
	kdc_set_lockout(k, &(kdc_lockout_policy){ KDC_LOCKOUT_DEFAULT_MAX_FAILURES,
	    KDC_LOCKOUT_DEFAULT_WINDOW, KDC_LOCKOUT_DEFAULT_DURATION });
	k->clock = system_clock;
	kdc_set_key_policy(k, KDC_DEFAULT_KEYREQ_LEAD, true);
	atomic_init(&k->current, snap);
	atomic_init(&k->log_requests, true);
	for (size_t i = 0; i < KDC_MAX_WORKERS; i++) {
		atomic_init(&k->hazard[i].snap, NULL);
		atomic_init(&k->slot_used[i], false);
	}
	*out = k;
	return LETHE_OK;
}

void
kdc_free(kdc *k)
{
	if (k == NULL)
		return;
	kdc_snapshot_free(atomic_load(&k->current));
	kdc_guard_free(k->guard);
	free(k->kpasswd_admins);
	pthread_mutex_destroy(&k->swap_lock);
	free(k);
}

void
kdc_set_clock(kdc *k, kdc_clock_fn fn, void *ctx)
{
	k->clock = fn != NULL ? fn : system_clock;
	k->clock_ctx = ctx;
}

void
kdc_set_key_request(kdc *k, kdc_key_request_fn fn, void *ctx)
{
	k->key_request = fn;
	k->key_request_ctx = ctx;
}

void
kdc_set_freshness(kdc *k, kdc_fresh_fn fn, void *ctx)
{
	k->fresh = fn;
	k->fresh_ctx = ctx;
}

void
kdc_request_key(kdc *k, const char *principal)
{
	if (k->key_request != NULL)
		k->key_request(k->key_request_ctx, principal);
}

void
kdc_set_log_requests(kdc *k, bool on)
{
	atomic_store(&k->log_requests, on);
}

static bool
in_use(kdc *k, const kdc_snapshot *snap)
{
	for (size_t i = 0; i < KDC_MAX_WORKERS; i++) {
		if (atomic_load(&k->hazard[i].snap) == snap)
			return true;
	}
	return false;
}

void
kdc_swap_snapshot(kdc *k, kdc_snapshot *snap)
{
	struct timespec pause = { 0, SWAP_POLL_NS };
	kdc_snapshot *old;

	pthread_mutex_lock(&k->swap_lock);
	old = atomic_exchange(&k->current, snap);
	/* A worker that published old before the exchange finishes its request. */
	while (in_use(k, old))
		nanosleep(&pause, NULL);
	kdc_snapshot_free(old);
	pthread_mutex_unlock(&k->swap_lock);
}

uint64_t
kdc_current_generation(kdc *k)
{
	uint64_t gen;

	pthread_mutex_lock(&k->swap_lock);
	gen = kdc_snapshot_generation(atomic_load(&k->current));
	pthread_mutex_unlock(&k->swap_lock);
	return gen;
}

const kdc_snapshot *
kdc_current_snapshot(kdc *k)
{
	return atomic_load(&k->current);
}

/* Publish the current snapshot in the worker's hazard slot, then use it. */
const kdc_snapshot *
kdc_snapshot_acquire(kdc_worker *wk)
{
	kdc *k = wk->kdc;
	kdc_snapshot *snap;

	for (;;) {
		snap = atomic_load(&k->current);
		atomic_store(&k->hazard[wk->slot].snap, snap);
		if (atomic_load(&k->current) == snap)
			return snap;
	}
}

void
kdc_snapshot_release(kdc_worker *wk)
{
	atomic_store(&wk->kdc->hazard[wk->slot].snap, NULL);
}

/* ------------------------------------------------------------ workers */

lethe_status
kdc_worker_init(void *ctx, unsigned worker, void **worker_ctx)
{
	kdc *k = ctx;
	kdc_worker *wk;

	(void)worker;
	*worker_ctx = NULL;
	wk = calloc(1, sizeof(*wk));
	ENSURE(wk != NULL, LETHE_ERR_NOMEM);
	wk->kdc = k;
	wk->slot = KDC_MAX_WORKERS;
	for (unsigned i = 0; i < KDC_MAX_WORKERS; i++) {
		bool expect = false;
		if (atomic_compare_exchange_strong(&k->slot_used[i], &expect, true)) {
			wk->slot = i;
			break;
		}
	}
	if (wk->slot == KDC_MAX_WORKERS) {
		free(wk);
		return LETHE_ERR_TOO_BIG;
	}
	der_writer_init(&wk->out, KDC_WRITER_MAX);
	der_writer_init(&wk->tmp, KDC_WRITER_MAX);
	*worker_ctx = wk;
	return LETHE_OK;
}

void
kdc_worker_fini(void *ctx, unsigned worker, void *worker_ctx)
{
	kdc_worker *wk = worker_ctx;

	(void)ctx;
	(void)worker;
	if (wk == NULL)
		return;
	der_writer_free(&wk->out);
	der_writer_free(&wk->tmp);
	atomic_store(&wk->kdc->hazard[wk->slot].snap, NULL);
	atomic_store(&wk->kdc->slot_used[wk->slot], false);
	free(wk);
}

/* ------------------------------------------------------------ counters */

void
kdc_count(kdc *k, enum kdc_req_type type, unsigned result)
{
	if (result >= KDC_RESULT_SLOTS)
		result = KRB_ERR_GENERIC;
	atomic_fetch_add_explicit(&k->counters[type][result], 1, memory_order_relaxed);
}

uint64_t
kdc_counter(const kdc *k, enum kdc_req_type type, unsigned result)
{
	if ((unsigned)type >= KDC_REQ_TYPE_COUNT || result >= KDC_RESULT_SLOTS)
		return 0;
	return atomic_load_explicit(&k->counters[type][result], memory_order_relaxed);
}

const char *
kdc_req_type_name(enum kdc_req_type type)
{
	switch (type) {
	case KDC_REQ_AS:
		return "AS";
	case KDC_REQ_TGS:
		return "TGS";
	default:
		return "OTHER";
	}
}

static const char *
result_name(unsigned result)
{
	const char *name;

	if (result == 0)
		return "OK";
	if (result == KDC_RESULT_DROPPED)
		return "DROPPED";
	name = krb_error_code_name((int32_t)result);
	return name != NULL ? name : "KRB_ERR_UNKNOWN";
}

void
kdc_log_counters(const kdc *k)
{
	log_event ev;

	for (unsigned t = 0; t < KDC_REQ_TYPE_COUNT; t++) {
		for (unsigned res = 0; res < KDC_RESULT_SLOTS; res++) {
			uint64_t n = kdc_counter(k, t, res);
			if (n == 0)
				continue;
			log_event_begin(&ev, "kdc_counter");
			log_event_str(&ev, "type", kdc_req_type_name(t));
			log_event_str(&ev, "result", result_name(res));
			log_event_uint(&ev, "count", n);
			log_event_emit(&ev, LETHE_LOG_INFO);
		}
	}
}

/* ------------------------------------------------------------ requests */

lethe_status
kdc_take(kdc_request *r, der_writer *w, lbytes *out)
{
	lbytes got = der_written(w);
	uint8_t *p;

	GUARD(der_writer_status(w));
	p = lethe_arena_alloc(r->arena, got.len);
	ENSURE(p != NULL, LETHE_ERR_NOMEM);
	memcpy(p, got.data, got.len);
	*out = lbytes_make(p, got.len);
	der_writer_reset(w);
	return LETHE_OK;
}

/* Decode the message the first byte announced. */
static int32_t
decode_request(kdc_request *r, const uint8_t *req, size_t len)
{
	lethe_status rc;
	const char *what = r->type == KDC_REQ_AS ? "AS-REQ" : "TGS-REQ";

	r->raw = lbytes_make(req, len);
	if (r->type == KDC_REQ_AS)
		rc = krb_decode_as_req(r->arena, req, len, &r->req);
	else
		rc = krb_decode_tgs_req(r->arena, req, len, &r->req);
	if (rc != LETHE_OK)
		return kdc_fail(r, KRB_ERR_GENERIC, "malformed %s: %s", what, lethe_status_str(rc));
	r->decoded = true;
	return 0;
}

static int32_t
process(kdc_request *r, const uint8_t *req, size_t len)
{
	VERDICT(decode_request(r, req, len));
	if (r->type == KDC_REQ_AS)
		return kdc_process_as(r);
	return kdc_process_tgs(r);
}

/* Encode the KRB-ERROR for r->error into the reply writer. */
static lethe_status
encode_refusal(kdc_request *r)
{
	der_writer_reset(&r->wk->out);
	return kdc_encode_error(r, &r->wk->out);
}

/*
 * Replace a reply too big for its transport: KRB_ERR_RESPONSE_TOO_BIG on
 * UDP (MIT clients then retry over TCP), KRB_ERR_GENERIC beyond rep_cap.
 */
static lethe_status
fit_reply(kdc_request *r, size_t rep_cap)
{
	size_t len = der_written(&r->wk->out).len;
	size_t limit = r->info->max_reply < rep_cap ? r->info->max_reply : rep_cap;

	if (len <= limit)
		return LETHE_OK;
	r->has_e_data = false;
	if (r->info->transport == KDC_TRANSPORT_UDP && len <= rep_cap) {
		kdc_fail(r, KRB_ERR_RESPONSE_TOO_BIG,
		    "the reply (%zu bytes) exceeds the UDP limit of %zu bytes; use TCP", len,
		    limit);
	} else {
		kdc_fail(r, KRB_ERR_GENERIC, "the reply (%zu bytes) exceeds the limit of %zu bytes",
		    len, limit);
	}
	GUARD(encode_refusal(r));
	ENSURE(der_written(&r->wk->out).len <= limit, LETHE_ERR_TOO_BIG);
	return LETHE_OK;
}

static void
log_names(log_event *ev, const kdc_request *r)
{
	char name[512];

	if (r->has_cname) {
		kdc_name_str(&r->cname, r->crealm, name, sizeof(name));
		log_event_str(ev, "client", name);
	}
	if (r->has_sname) {
		kdc_name_str(&r->sname, r->realm, name, sizeof(name));
		log_event_str(ev, "service", name);
	}
}

static void
log_request(const kdc_request *r, unsigned result, uint64_t usec)
{
	char peer[80], list[KDC_ETYPE_LIST_MAX];
	log_event ev;

	log_event_begin(&ev, "kdc_req");
	lethe_sockaddr_str(r->info->peer, r->info->peer_len, peer, sizeof(peer));
	log_event_str(&ev, "peer", peer);
	log_event_str(&ev, "transport", r->info->transport == KDC_TRANSPORT_TCP ? "tcp" : "udp");
	log_event_str(&ev, "type", kdc_req_type_name(r->type));
	log_names(&ev, r);
	if (r->decoded) {
		kdc_etype_list_str(&r->req.body, list, sizeof(list));
		log_event_str(&ev, "etypes", list);
	}
	if (r->reply_etype != 0)
		log_event_int(&ev, "reply_etype", r->reply_etype);
	if (r->ticket_etype != 0)
		log_event_int(&ev, "ticket_etype", r->ticket_etype);
	if (r->session_etype != 0)
		log_event_int(&ev, "session_etype", r->session_etype);
	log_event_str(&ev, "result", result_name(result));
	if (result != 0 && r->e_text[0] != '\0')
		log_event_str(&ev, "reason", r->e_text);
	log_event_uint(&ev, "usec", usec);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

static enum kdc_req_type
classify(const uint8_t *req, size_t len)
{
	if (len > 0 && req[0] == (0x60 | KRB_MSG_AS_REQ))
		return KDC_REQ_AS;
	if (len > 0 && req[0] == (0x60 | KRB_MSG_TGS_REQ))
		return KDC_REQ_TGS;
	return KDC_REQ_OTHER;
}

/*
 * Answer one classified request into the worker's writer; the result code.
 * A request that does not decode as a KDC-REQ gets no answer at all (as
 * with MIT): a spoofed source must not earn a reply larger than what it
 * sent. A decoded one that fails a later check keeps its precise KRB-ERROR.
 */
static unsigned
answer(kdc_request *r, const uint8_t *req, size_t len, size_t rep_cap)
{
	if (process(r, req, len) == 0 && der_writer_status(&r->wk->out) == LETHE_OK &&
	    fit_reply(r, rep_cap) == LETHE_OK)
		return (unsigned)r->error;
	if (!r->decoded)
		return KDC_RESULT_DROPPED;
	if (r->error == 0)
		kdc_fail(r, KRB_ERR_GENERIC, "internal error while encoding the reply");
	if (encode_refusal(r) != LETHE_OK || fit_reply(r, rep_cap) != LETHE_OK)
		return KDC_RESULT_DROPPED;
	return (unsigned)r->error;
}

void
kdc_request_init(kdc_request *r, kdc_worker *wk, const kdc_req_info *info,
    const kdc_snapshot *snap)
{
	memset(r, 0, sizeof(*r));
	r->kdc = wk->kdc;
	r->wk = wk;
	r->snap = snap;
	r->policy = kdc_snapshot_policy(snap);
	r->realm = kdc_snapshot_realm(snap);
	r->info = info;
	r->arena = info->arena;
	wk->kdc->clock(wk->kdc->clock_ctx, &r->now, &r->usec);
}

lethe_status
kdc_handle(void *ctx, const kdc_req_info *info, const uint8_t *req, size_t req_len,
    uint8_t *rep, size_t rep_cap, size_t *rep_len)
{
	kdc *k = ctx;
	kdc_worker *wk = info->worker_ctx;
	uint64_t t0 = lethe_now_us();
	kdc_request r;
	enum kdc_req_type type;
	unsigned result;
	lbytes out;

	*rep_len = 0;
	ENSURE(wk != NULL && wk->kdc == k && info->arena != NULL, LETHE_ERR_INVALID_ARG);
	type = classify(req, req_len);
	/* Fresh first, then the snapshot: one taken after the check is as new. */
	if (type != KDC_REQ_OTHER && k->fresh != NULL)
		k->fresh(k->fresh_ctx);
	kdc_request_init(&r, wk, info, kdc_snapshot_acquire(wk));
	r.type = type;
	if (r.type == KDC_REQ_OTHER)
		result = KDC_RESULT_DROPPED;
	else
		result = answer(&r, req, req_len, rep_cap);
	if (result != KDC_RESULT_DROPPED) {
		out = der_written(&wk->out);
		memcpy(rep, out.data, out.len);
		*rep_len = out.len;
	}
	kdc_count(k, r.type, result);
	if (atomic_load_explicit(&k->log_requests, memory_order_relaxed))
		log_request(&r, result, lethe_now_us() - t0);
	kdc_snapshot_release(wk);
	der_writer_reset(&wk->out);
	der_writer_reset(&wk->tmp);
	return LETHE_OK;
}
