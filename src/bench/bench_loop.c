/*
 * The load loop of one worker thread: a fixed number of in-flight slots,
 * each with its own connected UDP socket (or one TCP connection per
 * request), driven by epoll. A reply on a slot's socket answers that
 * slot's request; a slot that waits longer than the timeout counts a loss
 * and starts over on a fresh socket.
 */
#include "bench/bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/socket.h>

#define BENCH_RECV_MAX 65536u
#define BENCH_EVENTS   64

enum slot_state { SLOT_IDLE, SLOT_CONNECTING, SLOT_WAITING };

typedef struct bench_slot {
	int fd;
	enum slot_state state;
	int64_t sent_ns;
	bench_req_state req;
	lbytes out;                  /* TCP: frame still to send */
	size_t out_off;
	uint8_t *frame;              /* TCP: header + request */
	size_t frame_cap;
	uint8_t hdr[4];              /* TCP: the reply's length header */
	size_t hdr_len;
	uint8_t *in;                 /* TCP: the reply */
	size_t in_cap;
	size_t in_len;
	size_t in_need;
} bench_slot;

typedef struct worker_ctx {
	bench_worker *w;
	const bench_cfg *cfg;
	bench_engine *engine;
	int ep;
	bench_slot *slots;
	uint8_t *rbuf;               /* UDP datagrams */
	uint64_t replies;            /* for sampling */
} worker_ctx;

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* True while this worker may issue one more request (and counts it). */
static bool
may_issue(worker_ctx *c)
{
	bench_run *run = c->w->run;

	if (atomic_load_explicit(&run->stop, memory_order_relaxed))
		return false;
	if (c->cfg->requests == 0)
		return bench_now_ns() < run->end_ns;
	return atomic_fetch_add(&run->issued, 1) < c->cfg->requests;
}

static void
slot_close(worker_ctx *c, bench_slot *s)
{
	if (s->fd >= 0) {
		epoll_ctl(c->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
	s->state = SLOT_IDLE;
}

/* Open the slot's socket and register it with epoll for events. */
static lethe_status
slot_open(worker_ctx *c, bench_slot *s, int type, uint32_t events)
{
	const kcl_kdc *kdc = &c->cfg->kdc;
	struct epoll_event ev = { .events = events, .data.ptr = s };

	s->fd = socket(kdc->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ENSURE(s->fd >= 0, LETHE_ERR_IO);
	if (type == SOCK_STREAM) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };   /* no TIME_WAIT pile-up */
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (connect(s->fd, (const struct sockaddr *)&kdc->addr, kdc->addr_len) != 0 &&
	    errno != EINPROGRESS) {
		slot_close(c, s);
		return LETHE_ERR_IO;
	}
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		slot_close(c, s);
		return LETHE_ERR_IO;
	}
	return LETHE_OK;
}

/* Keep the TCP frame (length + request) in the slot's own buffer. */
static lethe_status
slot_frame(bench_slot *s, lbytes req)
{
	size_t need = req.len + 4;

	if (s->frame_cap < need) {
		uint8_t *nb = realloc(s->frame, need);
		ENSURE(nb != NULL, LETHE_ERR_NOMEM);
		s->frame = nb;
		s->frame_cap = need;
	}
	kcl_frame_header(req.len, s->frame);
	memcpy(s->frame + 4, req.data, req.len);
	s->out = lbytes_make(s->frame, need);
	s->out_off = 0;
	s->hdr_len = 0;
	s->in_len = 0;
	s->in_need = 0;
	return LETHE_OK;
}

/* Room for the s->in_need bytes of a TCP reply. */
static lethe_status
slot_reserve_in(bench_slot *s)
{
	if (s->in_cap < s->in_need) {
		uint8_t *nb = realloc(s->in, s->in_need);
		ENSURE(nb != NULL, LETHE_ERR_NOMEM);
		s->in = nb;
		s->in_cap = s->in_need;
	}
	return LETHE_OK;
}

/* Build a fresh request and send it (UDP) or start its connection (TCP). */
static lethe_status
slot_issue(worker_ctx *c, bench_slot *s)
{
	lbytes req;

	GUARD(bench_engine_build(c->engine, &s->req, &req));
	s->sent_ns = bench_now_ns();
	c->w->stats.sent++;
	if (c->cfg->kdc.transport == KCL_TRANSPORT_TCP) {
		GUARD(slot_frame(s, req));
		GUARD(slot_open(c, s, SOCK_STREAM, EPOLLOUT));
		s->state = SLOT_CONNECTING;
		return LETHE_OK;
	}
	if (s->fd < 0)
		GUARD(slot_open(c, s, SOCK_DGRAM, EPOLLIN));
	s->state = SLOT_WAITING;
	if (send(s->fd, req.data, req.len, 0) != (ssize_t)req.len) {
		slot_close(c, s);
		return LETHE_ERR_IO;
	}
	return LETHE_OK;
}

/* Issue the next request on s if allowed; count failures to issue. */
static void
slot_next(worker_ctx *c, bench_slot *s)
{
	while (may_issue(c)) {
		lethe_status rc = slot_issue(c, s);
		if (rc == LETHE_OK)
			return;
		c->w->stats.io_errors++;
		if (rc != LETHE_ERR_IO) {
			c->w->rc = rc;
			atomic_store(&c->w->run->stop, true);
			return;
		}
	}
	if (c->cfg->kdc.transport == KCL_TRANSPORT_TCP)
		slot_close(c, s);
	s->state = SLOT_IDLE;
}

/* Account one complete reply to slot s. */
static void
slot_reply(worker_ctx *c, bench_slot *s, const uint8_t *rep, size_t len)
{
	bench_stats *st = &c->w->stats;
	int64_t now = bench_now_ns();
	bool verify = c->cfg->sample <= 1 || c->replies % c->cfg->sample == 0;
	int32_t code = 0;
	lethe_status rc;

	c->replies++;
	rc = bench_engine_check(c->engine, &s->req, rep, len, verify, &code);
	if (rc == LETHE_OK) {
		st->ok++;
		st->verified += verify;
		hist_add(&st->hist, (uint64_t)(now - s->sent_ns) / 1000u);
	} else if (code != 0) {
		st->krb_errors++;
		st->by_code[code > 0 && code < BENCH_ERR_CODES ? code : BENCH_ERR_CODES]++;
	} else {
		st->bad++;
	}
	c->w->last_reply_ns = now;
}

static void
udp_readable(worker_ctx *c, bench_slot *s)
{
	for (;;) {
		ssize_t n = recv(s->fd, c->rbuf, BENCH_RECV_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || s->state != SLOT_WAITING) {
			/* ICMP error, or a late reply after a timeout: start afresh. */
			if (n < 0)
				c->w->stats.io_errors++;
			slot_close(c, s);
			slot_next(c, s);
			return;
		}
		slot_reply(c, s, c->rbuf, (size_t)n);
		slot_next(c, s);
		return;
	}
}

static void
tcp_failed(worker_ctx *c, bench_slot *s)
{
	c->w->stats.io_errors++;
	slot_close(c, s);
	slot_next(c, s);
}

static void
tcp_writable(worker_ctx *c, bench_slot *s)
{
	while (s->out_off < s->out.len) {
		ssize_t n = send(s->fd, s->out.data + s->out_off, s->out.len - s->out_off,
				 MSG_NOSIGNAL);
		if (n > 0) {
			s->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		tcp_failed(c, s);
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
	epoll_ctl(c->ep, EPOLL_CTL_MOD, s->fd, &ev);
	s->state = SLOT_WAITING;
}

/* Read what is there of the slot's framed reply; handle it once complete. */
static void
tcp_readable(worker_ctx *c, bench_slot *s)
{
	for (;;) {
		bool in_hdr = s->hdr_len < sizeof(s->hdr);
		uint8_t *dst = in_hdr ? s->hdr + s->hdr_len : s->in + s->in_len;
		size_t want = in_hdr ? sizeof(s->hdr) - s->hdr_len : s->in_need - s->in_len;
		ssize_t n = recv(s->fd, dst, want, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			tcp_failed(c, s);
			return;
		}
		if (in_hdr) {
			s->hdr_len += (size_t)n;
			if (s->hdr_len < sizeof(s->hdr))
				continue;
			if (kcl_frame_length(s->hdr, BENCH_RECV_MAX, &s->in_need) != LETHE_OK ||
			    slot_reserve_in(s) != LETHE_OK) {
				tcp_failed(c, s);
				return;
			}
			continue;
		}
		s->in_len += (size_t)n;
		if (s->in_len < s->in_need)
			continue;
		slot_close(c, s);
		slot_reply(c, s, s->in, s->in_len);
		slot_next(c, s);
		return;
	}
}

static void
tcp_event(worker_ctx *c, bench_slot *s, uint32_t events)
{
	if (s->state == SLOT_CONNECTING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			tcp_failed(c, s);
			return;
		}
		tcp_writable(c, s);
		return;
	}
	if (s->state == SLOT_WAITING)
		tcp_readable(c, s);
}

/* Count and restart every slot that has waited past the timeout. */
static void
check_timeouts(worker_ctx *c)
{
	int64_t now = bench_now_ns(), limit = (int64_t)c->cfg->timeout_ms * 1000000;

	for (unsigned i = 0; i < c->w->slots; i++) {
		bench_slot *s = &c->slots[i];
		if (s->state == SLOT_IDLE || now - s->sent_ns < limit)
			continue;
		c->w->stats.timeouts++;
		slot_close(c, s);
		slot_next(c, s);
	}
}

static bool
all_idle(const worker_ctx *c)
{
	for (unsigned i = 0; i < c->w->slots; i++)
		if (c->slots[i].state != SLOT_IDLE)
			return false;
	return true;
}

static void
run_loop(worker_ctx *c)
{
	struct epoll_event events[BENCH_EVENTS];
	int64_t next_check = bench_now_ns() + 10000000;

	for (unsigned i = 0; i < c->w->slots; i++)
		slot_next(c, &c->slots[i]);
	while (!all_idle(c)) {
		if (c->cfg->requests == 0 && bench_now_ns() >= c->w->run->end_ns)
			break;   /* duration mode: replies still in flight are not counted */
		int n = epoll_wait(c->ep, events, BENCH_EVENTS, 10);
		for (int i = 0; i < n; i++) {
			bench_slot *s = events[i].data.ptr;
			if (s->fd < 0)
				continue;
			if (c->cfg->kdc.transport == KCL_TRANSPORT_TCP)
				tcp_event(c, s, events[i].events);
			else
				udp_readable(c, s);
		}
		int64_t now = bench_now_ns();
		if (now >= next_check) {
			check_timeouts(c);
			next_check = now + 10000000;
		}
	}
}

static lethe_status
worker_setup(worker_ctx *c)
{
	GUARD(bench_engine_new(c->w->run->shared, &c->engine));
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	ENSURE(c->ep >= 0, LETHE_ERR_IO);
	c->slots = calloc(c->w->slots, sizeof(*c->slots));
	c->rbuf = malloc(BENCH_RECV_MAX);
	ENSURE(c->slots != NULL && c->rbuf != NULL, LETHE_ERR_NOMEM);
	for (unsigned i = 0; i < c->w->slots; i++)
		c->slots[i].fd = -1;
	return LETHE_OK;
}

static void
worker_teardown(worker_ctx *c)
{
	if (c->slots != NULL) {
		for (unsigned i = 0; i < c->w->slots; i++) {
			if (c->slots[i].fd >= 0)
				close(c->slots[i].fd);
			free(c->slots[i].frame);
			free(c->slots[i].in);
			kcl_tgs_state_clear(&c->slots[i].req.tgs);
		}
	}
	free(c->slots);
	free(c->rbuf);
	if (c->ep >= 0)
		close(c->ep);
	bench_engine_free(c->engine);
}

void *
bench_worker_main(void *arg)
{
	worker_ctx c = { .w = arg, .ep = -1 };

	c.cfg = c.w->run->shared->cfg;
	c.w->rc = worker_setup(&c);
	if (c.w->rc == LETHE_OK)
		run_loop(&c);
	else
		atomic_store(&c.w->run->stop, true);
	worker_teardown(&c);
	return NULL;
}
