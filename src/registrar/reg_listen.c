/*
 * The registrar thread: one poll(2) loop over a TCP listener, the
 * connections it accepted (one framed request, one framed reply, close),
 * the key-request queue's wake-up pipe and the outgoing connections that
 * carry key requests to agents. Every connection has one deadline, set
 * when it opens: a client that has not sent its request and read its
 * reply by then is dropped. A frame's length is checked before any of
 * its body is read. Client connections are capped per peer, and when the
 * table is full a newcomer (or a key request) takes the slot of the
 * longest-waiting client of the peer holding most (base/peers.h).
 */
#include "registrar/service.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/peers.h"
#include "base/wait.h"
#include "crypto/crypto.h"
#include "registrar/registrar.h"

#define LISTEN_BACKLOG 128
#define PEER_TEXT 80

enum conn_state {
	CONN_READ_LEN,          /* reading the 4-byte length */
	CONN_READ_BODY,         /* reading the request */
	CONN_WRITE,             /* writing the reply or key request */
	CONN_CONNECTING,        /* outgoing: connect(2) in progress */
};

typedef struct reg_conn {
	int fd;
	enum conn_state state;
	bool outgoing;          /* a key request to an agent */
	int64_t deadline_ms;    /* monotonic */
	uint8_t len_buf[4];
	size_t len_got;
	uint8_t *buf;           /* request body, or the framed message to write */
	size_t buf_len;
	size_t done;
	char peer[PEER_TEXT];
	lethe_peer peer_key;    /* incoming: counted in the listener's peers */
	int64_t since_ms;       /* incoming: accepted at (monotonic) */
	char *principal;        /* outgoing: whom the key request is for */
} reg_conn;

typedef struct listen_counters {
	_Atomic uint64_t accepted, refused_full, evicted, timed_out, bad_frames, replies,
	    keyreqs_sent, keyreqs_failed;
} listen_counters;

struct reg_listener {
	reg_listen_config cfg;
	int fd;
	uint16_t port;
	int stop_rd, stop_wr;
	pthread_t tid;
	bool running;
	reg_conn *conns;        /* cfg.max_conns slots; fd -1 when free */
	size_t nconns;
	lethe_peer_table peers; /* incoming connections per peer */
	struct pollfd *pfds;    /* 3 + max_conns */
	listen_counters ctr;
};

static lethe_status
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ENSURE(fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0, LETHE_ERR_IO);
	ENSURE(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0, LETHE_ERR_IO);
	return LETHE_OK;
}

void
reg_listen_config_defaults(reg_listen_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = 64;
	cfg->max_per_peer = 8;
	cfg->timeout_ms = 5000;
	cfg->max_message = REG_MAX_MESSAGE;
}

/* ------------------------------------------------------------ setup */

static lethe_status
bind_listener(reg_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	l->fd = socket(l->cfg.addr.ss.ss_family, SOCK_STREAM, 0);
	ENSURE(l->fd >= 0, LETHE_ERR_IO);
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ENSURE(set_nonblock(l->fd) == LETHE_OK, LETHE_ERR_IO);
	ENSURE(bind(l->fd, (const struct sockaddr *)&l->cfg.addr.ss, l->cfg.addr.len) == 0,
	    LETHE_ERR_IO);
	ENSURE(listen(l->fd, LISTEN_BACKLOG) == 0, LETHE_ERR_IO);
	ENSURE(getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0, LETHE_ERR_IO);
	if (ss.ss_family == AF_INET)
		l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return LETHE_OK;
}

static lethe_status
make_stop_pipe(reg_listener *l)
{
	int fds[2];

	ENSURE(pipe(fds) == 0, LETHE_ERR_IO);
	l->stop_rd = fds[0];
	l->stop_wr = fds[1];
	ENSURE(set_nonblock(fds[0]) == LETHE_OK && set_nonblock(fds[1]) == LETHE_OK,
	    LETHE_ERR_IO);
	return LETHE_OK;
}

lethe_status
reg_listener_new(const reg_listen_config *cfg, reg_listener **out)
{
	reg_listener *l = NULL;
	lethe_status rc;

	*out = NULL;
	ENSURE(cfg->svc != NULL && cfg->max_conns > 0 && cfg->timeout_ms > 0 &&
	    cfg->max_message > 0 && cfg->max_message <= REG_MAX_MESSAGE, LETHE_ERR_INVALID_ARG);
	l = calloc(1, sizeof(*l));
	ENSURE(l != NULL, LETHE_ERR_NOMEM);
	l->cfg = *cfg;
	l->fd = l->stop_rd = l->stop_wr = -1;
	l->conns = calloc(cfg->max_conns, sizeof(*l->conns));
	l->pfds = calloc(3 + (size_t)cfg->max_conns, sizeof(*l->pfds));
	ENSURE_GOTO(rc, l->conns != NULL && l->pfds != NULL, LETHE_ERR_NOMEM);
	for (unsigned i = 0; i < cfg->max_conns; i++)
		l->conns[i].fd = -1;
	GUARD_GOTO(rc, lethe_peer_table_init(&l->peers, cfg->max_conns));
	GUARD_GOTO(rc, make_stop_pipe(l));
	GUARD_GOTO(rc, bind_listener(l));
	*out = l;
	l = NULL;
cleanup:
	reg_listener_free(l);
	return rc;
}

uint16_t
reg_listener_port(const reg_listener *l)
{
	return l->port;
}

/* ------------------------------------------------------------ connections */

static void
conn_close(reg_listener *l, reg_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	if (!c->outgoing)
		lethe_peer_remove(&l->peers, &c->peer_key);
	free(c->buf);
	free(c->principal);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	l->nconns--;
}

/* A client still sending its request: may be closed for room (a lethe_peer_probe_fn). */
static bool
conn_evictable(const reg_conn *c)
{
	return c->fd >= 0 && !c->outgoing &&
	    (c->state == CONN_READ_LEN || c->state == CONN_READ_BODY);
}

static bool
conn_probe(void *ctx, size_t i, lethe_peer *peer, int64_t *since)
{
	const reg_conn *c = &((const reg_listener *)ctx)->conns[i];

	if (!conn_evictable(c))
		return false;
	*peer = c->peer_key;
	*since = c->since_ms;
	return true;
}

/*
 * Make room for a newcomer from peer (NULL: a key request of ours, held to
 * the table's size only): close a client per base/peers.h if needed.
 * False when there is no room and nothing may be closed.
 */
static bool
conn_make_room(reg_listener *l, const lethe_peer *peer)
{
	static const lethe_peer nobody;
	size_t victim = 0;
	lethe_peer_verdict v;

	v = lethe_peer_pick(&l->peers, peer != NULL ? peer : &nobody,
	    peer != NULL ? l->cfg.max_per_peer : 0, l->nconns >= l->cfg.max_conns,
	    l->cfg.max_conns, conn_probe, l, &victim);
	if (v == LETHE_PEER_REFUSE)
		return false;
	if (v == LETHE_PEER_EVICT) {
		atomic_fetch_add(&l->ctr.evicted, 1);
		log_info("registrar: %s dropped to make room for a newcomer", l->conns[victim].peer);
		conn_close(l, &l->conns[victim]);
	}
	return true;
}

static reg_conn *
conn_slot(reg_listener *l)
{
	for (unsigned i = 0; i < l->cfg.max_conns; i++) {
		if (l->conns[i].fd < 0)
			return &l->conns[i];
	}
	return NULL;
}

/* Frame msg (4-byte big-endian length) into c's write buffer. */
static lethe_status
conn_set_reply(reg_conn *c, const uint8_t *msg, size_t len)
{
	ENSURE(len <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	free(c->buf);
	c->buf = malloc(len + 4);
	ENSURE(c->buf != NULL, LETHE_ERR_NOMEM);
	lethe_store_be32(c->buf, (uint32_t)len);
	memcpy(c->buf + 4, msg, len);
	c->buf_len = len + 4;
	c->done = 0;
	c->state = CONN_WRITE;
	return LETHE_OK;
}

/* Answer a frame that was refused before its body was read, then close. */
static void
conn_refuse(reg_listener *l, reg_conn *c, int result, const char *text)
{
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	reg_outcome outcome;

	atomic_fetch_add(&l->ctr.bad_frames, 1);
	if (reg_service_refuse(l->cfg.svc, c->peer, result, text, (int64_t)time(NULL), &reply,
	    &reply_len, &outcome) != LETHE_OK || conn_set_reply(c, reply, reply_len) != LETHE_OK)
		conn_close(l, c);
	free(reply);
}

static void
conn_handle_request(reg_listener *l, reg_conn *c)
{
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	reg_outcome outcome;
	lethe_status rc;

	rc = reg_service_handle(l->cfg.svc, c->peer, c->buf, c->buf_len, (int64_t)time(NULL),
	    &reply, &reply_len, &outcome);
	if (rc == LETHE_OK && outcome.stored && l->cfg.on_stored != NULL)
		l->cfg.on_stored(l->cfg.on_stored_ctx);
	if (rc != LETHE_OK || conn_set_reply(c, reply, reply_len) != LETHE_OK)
		conn_close(l, c);
	free(reply);
}

/* The length is in: refuse it or make room for the body. */
static void
conn_got_length(reg_listener *l, reg_conn *c)
{
	size_t len = (size_t)lethe_load_be32(c->len_buf);
	char text[128];

	if (len == 0) {
		conn_refuse(l, c, REG_MALFORMED, "empty message");
		return;
	}
	if (len > l->cfg.max_message) {
		snprintf(text, sizeof(text), "message of %zu bytes is over the limit of %zu bytes",
		    len, l->cfg.max_message);
		conn_refuse(l, c, REG_TOO_BIG, text);
		return;
	}
	c->buf = malloc(len);
	if (c->buf == NULL) {
		conn_close(l, c);
		return;
	}
	c->buf_len = len;
	c->done = 0;
	c->state = CONN_READ_BODY;
}

static void
conn_read(reg_listener *l, reg_conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->state == CONN_READ_LEN)
			n = recv(c->fd, c->len_buf + c->len_got, 4 - c->len_got, 0);
		else
			n = recv(c->fd, c->buf + c->done, c->buf_len - c->done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* End of stream or error before a whole frame: nothing to answer. */
			if (c->state == CONN_READ_BODY || c->len_got > 0) {
				atomic_fetch_add(&l->ctr.bad_frames, 1);
				log_info("registrar: %s closed the connection inside a frame",
				    c->peer);
			}
			conn_close(l, c);
			return;
		}
		if (c->state == CONN_READ_LEN) {
			c->len_got += (size_t)n;
			if (c->len_got == 4)
				conn_got_length(l, c);
		} else {
			c->done += (size_t)n;
			if (c->done == c->buf_len)
				conn_handle_request(l, c);
		}
		if (c->fd < 0 || (c->state != CONN_READ_LEN && c->state != CONN_READ_BODY))
			return;
	}
}

static void
log_keyreq(const reg_conn *c, const char *result)
{
	log_event ev;

	log_event_begin(&ev, "reg_keyreq");
	log_event_str(&ev, "principal", c->principal);
	log_event_str(&ev, "callback", c->peer);
	log_event_str(&ev, "result", result);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

static void
conn_write(reg_listener *l, reg_conn *c)
{
	ssize_t n;

	while (c->done < c->buf_len) {
		n = send(c->fd, c->buf + c->done, c->buf_len - c->done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->outgoing) {
				atomic_fetch_add(&l->ctr.keyreqs_failed, 1);
				log_keyreq(c, "write-failed");
			}
			conn_close(l, c);
			return;
		}
		c->done += (size_t)n;
	}
	if (c->outgoing) {
		atomic_fetch_add(&l->ctr.keyreqs_sent, 1);
		log_keyreq(c, "sent");
	} else {
		atomic_fetch_add(&l->ctr.replies, 1);
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(l, c);
}

static void
conn_connected(reg_listener *l, reg_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		atomic_fetch_add(&l->ctr.keyreqs_failed, 1);
		log_keyreq(c, "connect-failed");
		conn_close(l, c);
		return;
	}
	c->state = CONN_WRITE;
	conn_write(l, c);
}

static void
conn_event(reg_listener *l, reg_conn *c, short revents)
{
	if (c->state == CONN_CONNECTING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			conn_connected(l, c);
	} else if (c->state == CONN_WRITE) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			conn_write(l, c);
	} else if (revents & (POLLIN | POLLERR | POLLHUP)) {
		conn_read(l, c);
	}
}

static void
expire(reg_listener *l, int64_t now)
{
	for (unsigned i = 0; i < l->cfg.max_conns; i++) {
		reg_conn *c = &l->conns[i];
		if (c->fd < 0 || c->deadline_ms > now)
			continue;
		atomic_fetch_add(&l->ctr.timed_out, 1);
		if (c->outgoing) {
			atomic_fetch_add(&l->ctr.keyreqs_failed, 1);
			log_keyreq(c, "timed-out");
		} else {
			log_info("registrar: %s dropped: no complete exchange within %u ms",
			    c->peer, l->cfg.timeout_ms);
		}
		conn_close(l, c);
	}
}

/* ------------------------------------------------------------ accept, key requests */

static void
accept_all(reg_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len;
	lethe_peer key;
	reg_conn *c;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept(l->fd, (struct sockaddr *)&ss, &len);
		if (fd < 0)
			return;         /* EAGAIN, or an error for that one client */
		lethe_peer_of((struct sockaddr *)&ss, len, &key);
		c = conn_make_room(l, &key) ? conn_slot(l) : NULL;
		if (c == NULL || set_nonblock(fd) != LETHE_OK) {
			atomic_fetch_add(&l->ctr.refused_full, 1);
			close(fd);
			continue;
		}
		atomic_fetch_add(&l->ctr.accepted, 1);
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->state = CONN_READ_LEN;
		c->since_ms = lethe_now_ms();
		c->deadline_ms = c->since_ms + l->cfg.timeout_ms;
		c->peer_key = key;
		lethe_peer_add(&l->peers, &key);
		lethe_sockaddr_str((struct sockaddr *)&ss, len, c->peer, sizeof(c->peer));
		l->nconns++;
	}
}

/* Log and count a key request that could not start; free what c holds. */
static void
keyreq_abort(reg_listener *l, reg_conn *c, const char *why)
{
	atomic_fetch_add(&l->ctr.keyreqs_failed, 1);
	log_keyreq(c, why);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->principal);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Open a non-blocking connection in the free slot c carrying a key request. */
static void
start_keyreq(reg_listener *l, reg_conn *c, const char *principal)
{
	uint8_t *msg = NULL;
	size_t msg_len = 0;
	lethe_sockaddr dest;
	lethe_status rc;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->principal = strdup(principal);
	rc = reg_service_key_request(l->cfg.svc, principal, (int64_t)time(NULL), &msg,
	    &msg_len, &dest);
	if (rc != LETHE_OK || c->principal == NULL) {
		keyreq_abort(l, c, rc == LETHE_ERR_NOT_FOUND ? "no-callback" :
		    lethe_status_str(rc));
		goto cleanup;
	}
	lethe_sockaddr_str((const struct sockaddr *)&dest.ss, dest.len, c->peer, sizeof(c->peer));
	c->fd = socket(dest.ss.ss_family, SOCK_STREAM, 0);
	if (c->fd < 0 || set_nonblock(c->fd) != LETHE_OK ||
	    conn_set_reply(c, msg, msg_len) != LETHE_OK) {
		keyreq_abort(l, c, "socket-failed");
		goto cleanup;
	}
	c->outgoing = true;
	c->deadline_ms = lethe_now_ms() + l->cfg.timeout_ms;
	l->nconns++;
	if (connect(c->fd, (const struct sockaddr *)&dest.ss, dest.len) == 0)
		c->state = CONN_WRITE;
	else if (errno == EINPROGRESS)
		c->state = CONN_CONNECTING;
	else
		conn_connected(l, c);   /* reports and closes */
cleanup:
	free(msg);
}

static void
serve_keyreqs(reg_listener *l)
{
	char name[STORE_MAX_NAME_LEN + 1];
	reg_conn *c;

	while (reg_keyreq_next(l->cfg.keyreq, name, sizeof(name))) {
		c = conn_make_room(l, NULL) ? conn_slot(l) : NULL;
		if (c == NULL) {        /* every slot busy: the KDC asks again later */
			reg_conn none = { .fd = -1, .principal = name };
			atomic_fetch_add(&l->ctr.keyreqs_failed, 1);
			log_keyreq(&none, "no-room");
			continue;
		}
		start_keyreq(l, c, name);
	}
}

/* ------------------------------------------------------------ the loop */

/* Fill pfds; returns their number. Slot i of conns is pfds[3 + i]. */
static nfds_t
build_pollfds(reg_listener *l)
{
	struct pollfd *p = l->pfds;
	bool room = l->nconns < l->cfg.max_conns;

	p[0] = (struct pollfd){ .fd = l->stop_rd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
	for (unsigned i = 0; i < l->cfg.max_conns; i++) {
		reg_conn *c = &l->conns[i];
		short ev = (c->state == CONN_WRITE || c->state == CONN_CONNECTING) ? POLLOUT : POLLIN;
		p[3 + i] = (struct pollfd){ .fd = c->fd, .events = ev };
		room = room || conn_evictable(c);
	}
	/* Key requests wait only while every slot is one that may not be closed. */
	p[2] = (struct pollfd){ .fd = (l->cfg.keyreq != NULL && room) ?
	    reg_keyreq_fd(l->cfg.keyreq) : -1, .events = POLLIN };
	return 3 + (nfds_t)l->cfg.max_conns;
}

static int
poll_timeout(const reg_listener *l, int64_t now)
{
	int64_t next = -1;

	for (unsigned i = 0; i < l->cfg.max_conns; i++) {
		const reg_conn *c = &l->conns[i];
		if (c->fd >= 0 && (next < 0 || c->deadline_ms < next))
			next = c->deadline_ms;
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

static void *
listener_main(void *arg)
{
	reg_listener *l = arg;
	nfds_t n;
	int ready;

	for (;;) {
		n = build_pollfds(l);
		ready = poll(l->pfds, n, poll_timeout(l, lethe_now_ms()));
		if (ready < 0 && errno != EINTR) {
			log_warn("registrar: poll");
			break;
		}
		if (ready > 0 && (l->pfds[0].revents & POLLIN))
			break;
		for (unsigned i = 0; ready > 0 && i < l->cfg.max_conns; i++) {
			if (l->pfds[3 + i].revents != 0 && l->conns[i].fd >= 0)
				conn_event(l, &l->conns[i], l->pfds[3 + i].revents);
		}
		expire(l, lethe_now_ms());
		if (ready > 0 && (l->pfds[1].revents & POLLIN))
			accept_all(l);
		if (ready > 0 && (l->pfds[2].revents & POLLIN))
			serve_keyreqs(l);
	}
	for (unsigned i = 0; i < l->cfg.max_conns; i++)
		conn_close(l, &l->conns[i]);
	kc_thread_cleanup();
	return NULL;
}

lethe_status
reg_listener_start(reg_listener *l)
{
	ENSURE(!l->running, LETHE_ERR_INVALID_ARG);
	ENSURE(pthread_create(&l->tid, NULL, listener_main, l) == 0, LETHE_ERR_NOMEM);
	l->running = true;
	return LETHE_OK;
}

void
reg_listener_stop(reg_listener *l)
{
	ssize_t n;

	if (l == NULL || !l->running)
		return;
	do {
		n = write(l->stop_wr, "s", 1);
	} while (n < 0 && errno == EINTR);
	pthread_join(l->tid, NULL);
	l->running = false;
}

void
reg_listener_free(reg_listener *l)
{
	if (l == NULL)
		return;
	reg_listener_stop(l);
	if (l->conns != NULL) {
		for (unsigned i = 0; i < l->cfg.max_conns; i++)
			conn_close(l, &l->conns[i]);
	}
	if (l->fd >= 0)
		close(l->fd);
	if (l->stop_rd >= 0)
		close(l->stop_rd);
	if (l->stop_wr >= 0)
		close(l->stop_wr);
	free(l->conns);
	free(l->pfds);
	lethe_peer_table_free(&l->peers);
	free(l);
}

void
reg_listener_stats_get(const reg_listener *l, reg_listen_stats *out)
{
	reg_listener *m = (reg_listener *)l;

	out->accepted = atomic_load(&m->ctr.accepted);
	out->refused_full = atomic_load(&m->ctr.refused_full);
	out->evicted = atomic_load(&m->ctr.evicted);
	out->timed_out = atomic_load(&m->ctr.timed_out);
	out->bad_frames = atomic_load(&m->ctr.bad_frames);
	out->replies = atomic_load(&m->ctr.replies);
	out->keyreqs_sent = atomic_load(&m->ctr.keyreqs_sent);
	out->keyreqs_failed = atomic_load(&m->ctr.keyreqs_failed);
}
