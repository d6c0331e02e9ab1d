/* KDC network loop: TCP with RFC 4120 §7.2.2 framing, timeouts and limits. */
#define _GNU_SOURCE
#include "kdc/net_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"

#define ACCEPTS_PER_EVENT 64
#define REQUESTS_PER_EVENT 8    /* then let other connections run */
#define LISTEN_PAUSE_MS 100     /* after EMFILE and the like */
#define CONN_BUF_MIN 1024u

lethe_status
net_tcp_alloc(net_worker *w)
{
	uint32_t n = w->net->cfg.tcp_max_conns;

	w->conns = calloc(n, sizeof(*w->conns));
	w->free_slots = calloc(n, sizeof(*w->free_slots));
	ENSURE(w->conns != NULL && w->free_slots != NULL, LETHE_ERR_NOMEM);
	for (uint32_t i = 0; i < n; i++) {
		w->conns[i].fd = -1;
		w->free_slots[i] = n - 1 - i;   /* slot 0 is handed out first */
	}
	w->n_free = n;
	return lethe_peer_table_init(&w->peers, n);
}

void
net_tcp_free(net_worker *w)
{
	free(w->conns);
	free(w->free_slots);
	lethe_peer_table_free(&w->peers);
	w->conns = NULL;
	w->free_slots = NULL;
}

static uint32_t
slot_of(const net_worker *w, const net_conn *c)
{
	return (uint32_t)(c - w->conns);
}

static void
conn_close(net_worker *w, net_conn *c)
{
	COUNT(w, tcp_closed);   /* before the peer can see the close */
	close(c->fd);           /* also leaves the epoll set */
	lethe_peer_remove(&w->peers, &c->peer_key);
	free(c->buf);
	c->buf = NULL;
	c->buf_cap = 0;
	c->fd = -1;
	c->gen++;
	w->free_slots[w->n_free++] = slot_of(w, c);
}

static void
conn_set_idle(net_worker *w, net_conn *c, uint64_t now)
{
	c->state = CONN_READ_LEN;
	c->hdr_got = 0;
	c->deadline_ms = now + w->net->cfg.tcp_idle_ms;
	c->since_ms = now;
}

/*
 * A lethe_peer_probe_fn: every connection waiting for its peer (idle, or
 * inside a request) may be closed for room; one writing a reply may not.
 */
static bool
conn_probe(void *ctx, size_t i, lethe_peer *peer, int64_t *since)
{
	const net_conn *c = &((const net_worker *)ctx)->conns[i];

	if (c->fd < 0 || c->state == CONN_WRITE)
		return false;
	*peer = c->peer_key;
	*since = (int64_t)c->since_ms;
	return true;
}

static lethe_status
conn_watch(net_worker *w, net_conn *c, uint32_t events, int op)
{
	struct epoll_event ev = {
		.events = events,
		.data.u64 = net_tag(TAG_CONN, c->gen, slot_of(w, c)),
	};

	if (epoll_ctl(w->epfd, op, c->fd, &ev) != 0)
		return LETHE_ERR_IO;
	return LETHE_OK;
}

/* Grow c->buf to hold n bytes; n is bounded by the configured limits. */
static lethe_status
conn_reserve(net_conn *c, size_t n)
{
	uint8_t *grown;

	if (c->buf_cap >= n)
		return LETHE_OK;
	if (n < CONN_BUF_MIN)
		n = CONN_BUF_MIN;
	grown = realloc(c->buf, n);
	ENSURE(grown != NULL, LETHE_ERR_NOMEM);
	c->buf = grown;
	c->buf_cap = n;
	return LETHE_OK;
}

/*
 * A free slot for a newcomer from peer, closing another connection when
 * the peer is at its cap or the pool is full (base/peers.h); NULL: refuse.
 */
static net_conn *
conn_slot(net_worker *w, const lethe_peer *peer)
{
	const kdc_net_config *cfg = &w->net->cfg;
	size_t victim = 0;

	switch (lethe_peer_pick(&w->peers, peer, cfg->tcp_max_per_peer, w->n_free == 0,
	    cfg->tcp_max_conns, conn_probe, w, &victim)) {
	case LETHE_PEER_REFUSE:
		return NULL;
	case LETHE_PEER_EVICT:
		COUNT(w, tcp_evicted);
		conn_close(w, &w->conns[victim]);
		break;
	case LETHE_PEER_ROOM:
		break;
	}
	return &w->conns[w->free_slots[--w->n_free]];
}

static void
pause_listener(net_worker *w, size_t li, uint64_t now)
{
	struct epoll_event ev = { .events = 0, .data.u64 = net_tag(TAG_LISTEN, 0, (uint32_t)li) };

	log_warn("worker %u: accept", w->id);
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->tcp_fds[li], &ev) == 0) {
		w->tcp_paused[li] = true;
		w->resume_ms = now + LISTEN_PAUSE_MS;
	}
}

static void
resume_listeners(net_worker *w, uint64_t now)
{
	for (size_t li = 0; li < w->net->cfg.n_tcp; li++) {
		struct epoll_event ev = { .events = EPOLLIN,
		    .data.u64 = net_tag(TAG_LISTEN, 0, (uint32_t)li) };
		if (!w->tcp_paused[li] || now < w->resume_ms)
			continue;
		if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, w->tcp_fds[li], &ev) == 0)
			w->tcp_paused[li] = false;
	}
}

/* Take in one accepted socket, or close it when there is no room. */
static void
conn_open(net_worker *w, int fd, const struct sockaddr_storage *peer, socklen_t peer_len,
    uint64_t now)
{
	lethe_peer key;
	net_conn *c;

	lethe_peer_of((const struct sockaddr *)peer, peer_len, &key);
	c = conn_slot(w, &key);
	if (c == NULL) {
		close(fd);
		COUNT(w, tcp_refused);
		return;
	}
	c->fd = fd;
	c->peer = *peer;
	c->peer_len = peer_len;
	c->peer_key = key;
	lethe_peer_add(&w->peers, &key);
	c->out_len = c->out_sent = 0;
	conn_set_idle(w, c, now);
	COUNT(w, tcp_accepted);
	if (conn_watch(w, c, EPOLLIN, EPOLL_CTL_ADD) != LETHE_OK)
		conn_close(w, c);
}

void
net_tcp_acceptable(net_worker *w, size_t li, uint64_t now)
{
	for (int k = 0; k < ACCEPTS_PER_EVENT; k++) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		int fd = accept4(w->tcp_fds[li], (struct sockaddr *)&peer, &peer_len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_open(w, fd, &peer, peer_len, now);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			pause_listener(w, li, now);
			return;
		default:
			return;         /* EAGAIN, or nothing we can fix here */
		}
	}
}

/* Queue the unsent rest of a framed reply and wait for the socket. */
static lethe_status
conn_keep_rest(net_worker *w, net_conn *c, const uint8_t hdr[4], size_t rep_len,
    size_t sent, uint64_t now)
{
	size_t total = 4 + rep_len, rest = total - sent;

	GUARD(conn_reserve(c, rest));
	if (sent < 4) {
		memcpy(c->buf, hdr + sent, 4 - sent);
		memcpy(c->buf + 4 - sent, w->reply, rep_len);
	} else {
		memcpy(c->buf, w->reply + (sent - 4), rest);
	}
	c->out_len = rest;
	c->out_sent = 0;
	c->state = CONN_WRITE;
	c->deadline_ms = now + w->net->cfg.tcp_request_ms;
	return conn_watch(w, c, EPOLLOUT, EPOLL_CTL_MOD);
}

/* Answer the request in c->buf. False when c was closed or is writing. */
static bool
conn_answer(net_worker *w, net_conn *c, uint64_t now)
{
	const kdc_net_config *cfg = &w->net->cfg;
	uint8_t hdr[4];
	size_t rep_len = 0;
	ssize_t sent;
	lethe_status rc;
	kdc_req_info info = {
		.transport = KDC_TRANSPORT_TCP,
		.peer = (const struct sockaddr *)&c->peer,
		.peer_len = c->peer_len,
		.max_reply = cfg->max_reply,
		.worker = w->id,
		.worker_ctx = w->worker_ctx,
		.arena = &w->arena,
	};

	COUNT(w, tcp_in);
	rc = cfg->handler(cfg->handler_ctx, &info, c->buf, c->need, w->reply, cfg->max_reply,
	    &rep_len);
	lethe_arena_reset(&w->arena);
	if (rc != LETHE_OK || rep_len == 0 || rep_len > cfg->max_reply) {
		if (rc == LETHE_OK && rep_len > cfg->max_reply)
			COUNT(w, drop_reply_too_big);
		else
			COUNT(w, drop_no_reply);
		conn_close(w, c);
		return false;
	}
	lethe_store_be32(hdr, (uint32_t)rep_len);
	struct iovec iov[2] = { { hdr, 4 }, { w->reply, rep_len } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	do {
		sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (sent < 0 && errno == EINTR);
	if (sent == (ssize_t)(4 + rep_len)) {
		COUNT(w, tcp_out);
		conn_set_idle(w, c, now);
		return true;
	}
	if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_close(w, c);
		return false;
	}
	if (conn_keep_rest(w, c, hdr, rep_len, sent < 0 ? 0 : (size_t)sent, now) != LETHE_OK)
		conn_close(w, c);
	return false;
}

/* The 4-byte length is in: check it. False when c was closed. */
static bool
conn_start_body(net_worker *w, net_conn *c)
{
	uint32_t len = lethe_load_be32(c->hdr);

	if ((len & 0x80000000u) != 0 || len == 0) {
		COUNT(w, drop_framing);
		conn_close(w, c);
		return false;
	}
	if (len > w->net->cfg.tcp_max_request) {
		COUNT(w, drop_oversize);
		conn_close(w, c);
		return false;
	}
	if (conn_reserve(c, len) != LETHE_OK) {
		conn_close(w, c);
		return false;
	}
	c->need = len;
	c->got = 0;
	c->state = CONN_READ_BODY;
	return true;
}

/*
 * recv into dst[0..len). Returns bytes read, 0 when nothing is ready now,
 * -1 when the peer closed or failed (the caller closes).
 */
static ssize_t
conn_recv(net_conn *c, uint8_t *dst, size_t len)
{
	ssize_t n;

	do {
		n = recv(c->fd, dst, len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return -1;
}

static void
conn_read(net_worker *w, net_conn *c, uint64_t now)
{
	for (int served = 0; served < REQUESTS_PER_EVENT;) {
		ssize_t n;
		if (c->state == CONN_READ_LEN) {
			n = conn_recv(c, c->hdr + c->hdr_got, 4 - c->hdr_got);
			if (n > 0 && c->hdr_got == 0) { /* a request starts: its clock runs */
				c->deadline_ms = now + w->net->cfg.tcp_request_ms;
				c->since_ms = now;
			}
			if (n > 0)
				c->hdr_got += (size_t)n;
			if (n > 0 && c->hdr_got == 4 && !conn_start_body(w, c))
				return;
		} else {
			n = conn_recv(c, c->buf + c->got, c->need - c->got);
			if (n > 0)
				c->got += (size_t)n;
			if (n > 0 && c->got == c->need) {
				served++;
				if (!conn_answer(w, c, now))
					return;
			}
		}
		if (n < 0) {
			conn_close(w, c);
			return;
		}
		if (n == 0)
			return;
	}
}

static void
conn_flush(net_worker *w, net_conn *c, uint64_t now)
{
	ssize_t n;

	do {
		n = send(c->fd, c->buf + c->out_sent, c->out_len - c->out_sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		conn_close(w, c);
		return;
	}
	c->out_sent += (size_t)n;
	if (c->out_sent < c->out_len)
		return;
	COUNT(w, tcp_out);
	conn_set_idle(w, c, now);
	if (conn_watch(w, c, EPOLLIN, EPOLL_CTL_MOD) != LETHE_OK)
		conn_close(w, c);
}

void
net_tcp_event(net_worker *w, uint32_t slot, uint32_t gen, uint32_t events, uint64_t now)
{
	net_conn *c;

	if (slot >= w->net->cfg.tcp_max_conns)
		return;
	c = &w->conns[slot];
	if (c->fd < 0 || (c->gen & TAG_GEN_MASK) != gen)
		return;         /* closed earlier in this batch */
	if (c->state == CONN_WRITE) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			conn_flush(w, c, now);
		return;
	}
	conn_read(w, c, now);
}

void
net_tcp_sweep(net_worker *w, uint64_t now)
{
	for (uint32_t i = 0; w->conns != NULL && i < w->net->cfg.tcp_max_conns; i++) {
		net_conn *c = &w->conns[i];
		if (c->fd >= 0 && now >= c->deadline_ms) {
			COUNT(w, tcp_timed_out);
			conn_close(w, c);
		}
	}
	resume_listeners(w, now);
}

void
net_tcp_close_all(net_worker *w)
{
	for (uint32_t i = 0; w->conns != NULL && i < w->net->cfg.tcp_max_conns; i++) {
		if (w->conns[i].fd >= 0)
			conn_close(w, &w->conns[i]);
	}
}
