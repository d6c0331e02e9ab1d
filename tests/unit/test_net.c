/* The KDC network loop over real sockets on loopback, with ephemeral ports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "kdc/net.h"

/* ------------------------------------------------------------ handler */

#define BIG_REPLY 5000

static atomic_uint handler_calls;
static atomic_size_t udp_max_seen, tcp_max_seen;
static atomic_uint arena_not_reset;
static atomic_uint reloads;

/*
 * Echo "E:" + request, except: NOREPLY -> no reply; FAIL -> error;
 * BIG -> 5000 bytes; SMART -> 5000 bytes, or "TOO_BIG" if the transport
 * cannot carry them; HUGE -> rep_cap patterned bytes.
 */
static lethe_status
test_handler(void *ctx, const kdc_req_info *info, const uint8_t *req, size_t req_len,
    uint8_t *rep, size_t rep_cap, size_t *rep_len)
{
	(void)ctx;
	atomic_fetch_add(&handler_calls, 1);
	if (info->arena->used_total != 0)
		atomic_fetch_add(&arena_not_reset, 1);
	if (lethe_arena_alloc(info->arena, req_len + 1) == NULL)
		return LETHE_ERR_NOMEM;
	if (info->transport == KDC_TRANSPORT_UDP)
		atomic_store(&udp_max_seen, info->max_reply);
	else
		atomic_store(&tcp_max_seen, info->max_reply);
	*rep_len = 0;
	if (req_len >= 7 && memcmp(req, "NOREPLY", 7) == 0)
		return LETHE_OK;
	if (req_len >= 4 && memcmp(req, "FAIL", 4) == 0)
		return LETHE_ERR_FORMAT;
	if ((req_len == 3 && memcmp(req, "BIG", 3) == 0) ||
	    (req_len == 5 && memcmp(req, "SMART", 5) == 0)) {
		if (req_len == 5 && info->max_reply < BIG_REPLY) {
			memcpy(rep, "TOO_BIG", 7);
			*rep_len = 7;
			return LETHE_OK;
		}
		memset(rep, 'B', BIG_REPLY);
		*rep_len = BIG_REPLY;
		return LETHE_OK;
	}
	if (req_len == 4 && memcmp(req, "HUGE", 4) == 0) {
		for (size_t i = 0; i < rep_cap; i++)
			rep[i] = (uint8_t)(i * 7);
		*rep_len = rep_cap;
		return LETHE_OK;
	}
	if (req_len + 2 > rep_cap)
		return LETHE_ERR_TOO_BIG;
	rep[0] = 'E';
	rep[1] = ':';
	memcpy(rep + 2, req, req_len);
	*rep_len = req_len + 2;
	return LETHE_OK;
}

static void
test_reload(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&reloads, 1);
}

/* ------------------------------------------------------------- server */

typedef struct server {
	kdc_net *net;
	pthread_t thread;
	lethe_status run_rc;
	uint16_t udp_port;
	uint16_t tcp_port;
} server;

static lethe_sockaddr
addr4(const char *ip, uint16_t port)
{
	lethe_sockaddr a;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

	memset(&a, 0, sizeof(a));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	a.len = sizeof(*sin);
	return a;
}

static lethe_sockaddr
addr6(const char *ip, uint16_t port)
{
	lethe_sockaddr a;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;

	memset(&a, 0, sizeof(a));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	a.len = sizeof(*sin6);
	return a;
}

/* One worker on 127.0.0.1, ephemeral UDP and TCP ports, short timeouts. */
static void
base_config(kdc_net_config *cfg)
{
	kdc_net_config_defaults(cfg);
	cfg->workers = 1;
	cfg->handle_signals = false;
	cfg->udp[0] = addr4("127.0.0.1", 0);
	cfg->n_udp = 1;
	cfg->tcp[0] = addr4("127.0.0.1", 0);
	cfg->n_tcp = 1;
	cfg->tcp_idle_ms = 400;
	cfg->tcp_request_ms = 400;
	cfg->handler = test_handler;
	cfg->reload = test_reload;
}

static void *
run_thread(void *arg)
{
	server *s = arg;

	s->run_rc = kdc_net_run(s->net);
	return NULL;
}

static void
server_start(server *s, const kdc_net_config *cfg)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(kdc_net_new(cfg, &s->net), LETHE_OK);
	if (cfg->n_udp > 0)
		assert_int_equal(kdc_net_local_port(s->net, KDC_TRANSPORT_UDP, 0, &s->udp_port),
		    LETHE_OK);
	if (cfg->n_tcp > 0)
		assert_int_equal(kdc_net_local_port(s->net, KDC_TRANSPORT_TCP, 0, &s->tcp_port),
		    LETHE_OK);
	assert_int_equal(pthread_create(&s->thread, NULL, run_thread, s), 0);
}

static void
server_stop(server *s)
{
	kdc_net_stop(s->net);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	assert_int_equal(s->run_rc, LETHE_OK);
}

static kdc_net_stats
stats(const server *s)
{
	kdc_net_stats st;

	assert_int_equal(kdc_net_get_stats(s->net, KDC_NET_ALL, &st), LETHE_OK);
	return st;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (at most 2 s) until counter `field` reaches want, then check it is exact. */
#define WAIT_STAT(s, field, want)                                               \
	do {                                                                    \
		uint64_t until_ = now_ms() + 2000;                              \
		while (stats(s).field < (want) && now_ms() < until_)            \
			sleep_ms(5);                                            \
		assert_int_equal(stats(s).field, (want));                       \
	} while (0)

/* ------------------------------------------------------------- clients */

static void
set_timeout(int fd, unsigned ms)
{
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

static int
client(int type, const lethe_sockaddr *to, unsigned timeout_ms)
{
	int fd = socket(to->ss.ss_family, type, 0);

	assert_true(fd >= 0);
	set_timeout(fd, timeout_ms);
	assert_int_equal(connect(fd, (const struct sockaddr *)&to->ss, to->len), 0);
	return fd;
}

static int
udp_client(uint16_t port, unsigned timeout_ms)
{
	lethe_sockaddr to = addr4("127.0.0.1", port);

	return client(SOCK_DGRAM, &to, timeout_ms);
}

static int
tcp_client(uint16_t port)
{
	lethe_sockaddr to = addr4("127.0.0.1", port);

	return client(SOCK_STREAM, &to, 2000);
}

static void
send_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void
put_len(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

static void
send_frame(int fd, const void *data, size_t len)
{
	uint8_t hdr[4];

	put_len(hdr, (uint32_t)len);
	send_all(fd, hdr, 4);
	send_all(fd, data, len);
}

/* Read exactly len bytes; false on EOF, error or timeout. */
static bool
recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read one framed reply into buf; its length, or -1. */
static long
recv_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[4];
	uint32_t len;

	if (!recv_all(fd, hdr, 4))
		return -1;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > cap || !recv_all(fd, buf, len))
		return -1;
	return (long)len;
}

/* Send a framed request and check the echo reply. */
static void
tcp_echo(int fd, const char *msg)
{
	uint8_t buf[256];
	size_t len = strlen(msg);

	send_frame(fd, msg, len);
	assert_int_equal(recv_frame(fd, buf, sizeof(buf)), (long)len + 2);
	assert_memory_equal(buf, "E:", 2);
	assert_memory_equal(buf + 2, msg, len);
}

/* True if the server closes fd (EOF or reset) within ms, with no data. */
static bool
closed_within(int fd, unsigned ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b;
	ssize_t n;

	if (poll(&p, 1, (int)ms) != 1)
		return false;
	n = recv(fd, &b, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void
udp_echo(int fd, const char *msg)
{
	uint8_t buf[256];
	size_t len = strlen(msg);

	assert_int_equal(send(fd, msg, len, 0), (ssize_t)len);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), (ssize_t)len + 2);
	assert_memory_equal(buf, "E:", 2);
	assert_memory_equal(buf + 2, msg, len);
}

static int
reset_globals(void **state)
{
	(void)state;
	atomic_store(&handler_calls, 0);
	atomic_store(&arena_not_reset, 0);
	atomic_store(&reloads, 0);
	atomic_store(&udp_max_seen, 0);
	atomic_store(&tcp_max_seen, 0);
	return 0;
}

static int
check_arena(void **state)
{
	(void)state;
	assert_int_equal(atomic_load(&arena_not_reset), 0);
	return 0;
}

/* ------------------------------------------------------------- UDP tests */

#define UDP_CLIENTS 32
#define UDP_PER_CLIENT 8

static void
test_udp_many_in_flight(void **state)
{
	kdc_net_config cfg;
	kdc_net_stats w0, w1;
	server s;
	int fds[UDP_CLIENTS];
	(void)state;

	base_config(&cfg);
	cfg.workers = 2;
	cfg.n_tcp = 0;
	server_start(&s, &cfg);
	assert_int_equal(kdc_net_worker_count(s.net), 2);
	assert_true(s.udp_port != 0);

	/* every datagram is sent before any reply is read */
	for (int c = 0; c < UDP_CLIENTS; c++) {
		fds[c] = udp_client(s.udp_port, 2000);
		for (int i = 0; i < UDP_PER_CLIENT; i++) {
			char msg[32];
			int n = snprintf(msg, sizeof(msg), "req-%d-%d", c, i);
			assert_int_equal(send(fds[c], msg, (size_t)n, 0), n);
		}
	}
	for (int c = 0; c < UDP_CLIENTS; c++) {
		bool seen[UDP_PER_CLIENT] = { false };
		for (int i = 0; i < UDP_PER_CLIENT; i++) {
			char buf[64];
			int cc, ii, used = 0;
			ssize_t n = recv(fds[c], buf, sizeof(buf) - 1, 0);
			assert_true(n > 0);
			buf[n] = '\0';
			assert_int_equal(sscanf(buf, "E:req-%d-%d%n", &cc, &ii, &used), 2);
			assert_int_equal(used, n);
			assert_int_equal(cc, c);
			assert_true(ii >= 0 && ii < UDP_PER_CLIENT && !seen[ii]);
			seen[ii] = true;
		}
		close(fds[c]);
	}
	server_stop(&s);
	assert_int_equal(stats(&s).udp_in, UDP_CLIENTS * UDP_PER_CLIENT);
	assert_int_equal(stats(&s).udp_out, UDP_CLIENTS * UDP_PER_CLIENT);
	assert_int_equal(stats(&s).udp_send_failed, 0);
	/* 32 source ports over two SO_REUSEPORT sockets: both get some */
	assert_int_equal(kdc_net_get_stats(s.net, 0, &w0), LETHE_OK);
	assert_int_equal(kdc_net_get_stats(s.net, 1, &w1), LETHE_OK);
	assert_true(w0.udp_in > 0 && w1.udp_in > 0);
	assert_int_equal(w0.udp_in + w1.udp_in, UDP_CLIENTS * UDP_PER_CLIENT);
	assert_int_equal(kdc_net_get_stats(s.net, 2, &w1), LETHE_ERR_NOT_FOUND);
	kdc_net_free(s.net);
}

static void
test_udp_no_reply_and_limits(void **state)
{
	kdc_net_config cfg;
	server s;
	uint8_t buf[8192];
	int fd;
	(void)state;

	base_config(&cfg);
	cfg.n_tcp = 0;
	cfg.udp_max_request = 512;
	server_start(&s, &cfg);
	fd = udp_client(s.udp_port, 150);

	/* no reply: the client waits in vain (briefly) */
	assert_int_equal(send(fd, "NOREPLY", 7, 0), 7);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(send(fd, "FAIL", 4, 0), 4);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), -1);
	WAIT_STAT(&s, drop_no_reply, 2);

	/* oversize request: 512 is answered, 513 dropped */
	memset(buf, 'x', 513);
	assert_int_equal(send(fd, buf, 513, 0), 513);
	assert_int_equal(recv(fd, buf + 1000, 1000, 0), -1);
	WAIT_STAT(&s, drop_oversize, 1);
	assert_int_equal(send(fd, buf, 512, 0), 512);
	assert_int_equal(recv(fd, buf + 1000, 1000, 0), 514);

	/* a reply over udp_max_reply is dropped; the handler is told the limit */
	assert_int_equal(send(fd, "BIG", 3, 0), 3);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), -1);
	WAIT_STAT(&s, drop_reply_too_big, 1);
	assert_int_equal(send(fd, "SMART", 5, 0), 5);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 7);
	assert_memory_equal(buf, "TOO_BIG", 7);
	assert_int_equal(atomic_load(&udp_max_seen), 4096);

	/* an empty datagram reaches the handler like any other */
	assert_int_equal(send(fd, "", 0, 0), 0);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 2);
	udp_echo(fd, "still fine");
	close(fd);
	server_stop(&s);
	assert_int_equal(stats(&s).udp_in, 8);
	assert_int_equal(stats(&s).udp_out, 4);
	kdc_net_free(s.net);
}

/* Wildcard bind: the reply leaves from the address the request went to. */
static void
test_udp_wildcard_reply_source(void **state)
{
	kdc_net_config cfg;
	lethe_sockaddr to;
	server s;
	int fd;
	(void)state;

	base_config(&cfg);
	cfg.n_tcp = 0;
	cfg.udp[0] = addr4("0.0.0.0", 0);
	server_start(&s, &cfg);
	/* a connected socket accepts only replies from 127.0.0.2 */
	to = addr4("127.0.0.2", s.udp_port);
	fd = client(SOCK_DGRAM, &to, 1000);
	udp_echo(fd, "via 127.0.0.2");
	close(fd);
	server_stop(&s);
	kdc_net_free(s.net);
}

static bool
ipv6_loopback_works(void)
{
	lethe_sockaddr a = addr6("::1", 0);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a.ss, a.len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void
test_ipv6(void **state)
{
	kdc_net_config cfg;
	lethe_sockaddr to;
	uint16_t port;
	server s;
	int fd;
	(void)state;

	if (!ipv6_loopback_works())
		skip();
	base_config(&cfg);
	cfg.udp[0] = addr6("::1", 0);
	cfg.tcp[0] = addr6("::1", 0);
	cfg.udp[1] = addr6("::", 0);
	cfg.n_udp = 2;
	server_start(&s, &cfg);
	to = addr6("::1", s.udp_port);
	fd = client(SOCK_DGRAM, &to, 1000);
	udp_echo(fd, "v6 udp");
	close(fd);
	assert_int_equal(kdc_net_local_port(s.net, KDC_TRANSPORT_UDP, 1, &port), LETHE_OK);
	to = addr6("::1", port);
	fd = client(SOCK_DGRAM, &to, 1000);
	udp_echo(fd, "v6 wildcard");
	close(fd);
	to = addr6("::1", s.tcp_port);
	fd = client(SOCK_STREAM, &to, 1000);
	tcp_echo(fd, "v6 tcp");
	close(fd);
	server_stop(&s);
	kdc_net_free(s.net);
}

/* ------------------------------------------------------------- TCP tests */

static void
test_tcp_requests_in_sequence(void **state)
{
	kdc_net_config cfg;
	uint8_t buf[64], two[4 + 3 + 4 + 5];
	server s;
	int fd;
	(void)state;

	base_config(&cfg);
	server_start(&s, &cfg);
	fd = tcp_client(s.tcp_port);
	tcp_echo(fd, "first");
	tcp_echo(fd, "second");
	/* two requests in one write */
	put_len(two, 3);
	memcpy(two + 4, "one", 3);
	put_len(two + 7, 5);
	memcpy(two + 11, "three", 5);
	send_all(fd, two, sizeof(two));
	assert_int_equal(recv_frame(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "E:one", 5);
	assert_int_equal(recv_frame(fd, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "E:three", 7);
	/* the handler is told TCP's limit and may use it */
	send_frame(fd, "SMART", 5);
	assert_int_equal(recv_frame(fd, buf, sizeof(buf)), -1);  /* 5000 > sizeof(buf) */
	close(fd);
	assert_int_equal(atomic_load(&tcp_max_seen), 65536);
	WAIT_STAT(&s, tcp_closed, 1);
	server_stop(&s);
	assert_int_equal(stats(&s).tcp_accepted, 1);
	assert_int_equal(stats(&s).tcp_in, 5);
	assert_int_equal(stats(&s).tcp_out, 5);
	assert_int_equal(stats(&s).tcp_timed_out, 0);
	kdc_net_free(s.net);
}

static void
test_tcp_split_writes(void **state)
{
	kdc_net_config cfg;
	uint8_t frame[4 + 10], buf[64];
	server s;
	int fd, one = 1;
	(void)state;

	base_config(&cfg);
	server_start(&s, &cfg);
	fd = tcp_client(s.tcp_port);
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	put_len(frame, 10);
	memcpy(frame + 4, "slow-hello", 10);
	for (size_t i = 0; i < sizeof(frame); i++) {    /* 14 bytes over ~200 ms */
		send_all(fd, frame + i, 1);
		sleep_ms(15);
	}
	assert_int_equal(recv_frame(fd, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "E:slow-hello", 12);
	tcp_echo(fd, "after");
	close(fd);
	server_stop(&s);
	assert_int_equal(stats(&s).tcp_timed_out, 0);
	kdc_net_free(s.net);
}

static void
test_tcp_slow_client_times_out(void **state)
{
	kdc_net_config cfg;
	uint8_t frame[4 + 20];
	uint64_t start;
	bool closed = false;
	server s;
	int fd;
	(void)state;

	base_config(&cfg);
	cfg.tcp_idle_ms = 5000;         /* only the request clock can fire */
	server_start(&s, &cfg);
	fd = tcp_client(s.tcp_port);
	put_len(frame, 20);
	memset(frame + 4, 'z', 20);
	start = now_ms();
	/* one byte every 50 ms: progress, but the whole request takes too long */
	for (size_t i = 0; i < sizeof(frame) && !closed; i++) {
		if (send(fd, frame + i, 1, MSG_NOSIGNAL) != 1)
			break;
		closed = closed_within(fd, 50);
	}
	if (!closed)
		closed = closed_within(fd, 1000);
	assert_true(closed);
	assert_true(now_ms() - start >= 350);
	assert_true(now_ms() - start < 3000);   /* a reply instead would fail above */
	WAIT_STAT(&s, tcp_timed_out, 1);
	assert_int_equal(stats(&s).tcp_in, 0);
	close(fd);
	server_stop(&s);
	kdc_net_free(s.net);
}

static void
test_tcp_idle_timeout(void **state)
{
	kdc_net_config cfg;
	uint64_t start;
	server s;
	int fd;
	(void)state;

	base_config(&cfg);
	cfg.tcp_request_ms = 5000;
	server_start(&s, &cfg);
	fd = tcp_client(s.tcp_port);
	sleep_ms(250);
	tcp_echo(fd, "keep me");        /* restarts the idle clock */
	start = now_ms();
	assert_true(closed_within(fd, 2000));
	assert_true(now_ms() - start >= 350);
	WAIT_STAT(&s, tcp_timed_out, 1);
	WAIT_STAT(&s, tcp_closed, 1);
	close(fd);
	server_stop(&s);
	kdc_net_free(s.net);
}

static void
test_tcp_bad_lengths(void **state)
{
	kdc_net_config cfg;
	uint8_t hdr[4], *big;
	server s;
	int fd;
	(void)state;

	base_config(&cfg);
	cfg.tcp_max_request = 1024;
	server_start(&s, &cfg);
	big = calloc(1, 2000);
	assert_non_null(big);

	/* exactly the limit works */
	fd = tcp_client(s.tcp_port);
	send_frame(fd, big, 1024);
	assert_int_equal(recv_frame(fd, big, 2000), 1026);
	/* one over: closed with no reply */
	put_len(hdr, 1025);
	send_all(fd, hdr, 4);
	assert_true(closed_within(fd, 1000));
	close(fd);
	WAIT_STAT(&s, drop_oversize, 1);

	/* the reserved high bit */
	fd = tcp_client(s.tcp_port);
	put_len(hdr, 0x80000010u);
	send_all(fd, hdr, 4);
	assert_true(closed_within(fd, 1000));
	close(fd);
	WAIT_STAT(&s, drop_framing, 1);

	/* a zero length */
	fd = tcp_client(s.tcp_port);
	put_len(hdr, 0);
	send_all(fd, hdr, 4);
	assert_true(closed_within(fd, 1000));
	close(fd);
	WAIT_STAT(&s, drop_framing, 2);

	/* no reply on TCP: the connection is closed, nothing written */
	fd = tcp_client(s.tcp_port);
	send_frame(fd, "NOREPLY", 7);
	assert_true(closed_within(fd, 1000));
	close(fd);
	WAIT_STAT(&s, drop_no_reply, 1);
	WAIT_STAT(&s, tcp_closed, 4);
	server_stop(&s);
	assert_int_equal(stats(&s).tcp_in, 2);
	assert_int_equal(stats(&s).tcp_out, 1);
	free(big);
	kdc_net_free(s.net);
}

/* A 64 KiB reply to a client with a tiny receive window is written in parts. */
static void
test_tcp_partial_writes(void **state)
{
	kdc_net_config cfg;
	uint8_t *buf;
	server s;
	int fd, small = 4096;
	lethe_sockaddr to;
	(void)state;

	base_config(&cfg);
	server_start(&s, &cfg);
	to = addr4("127.0.0.1", s.tcp_port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	set_timeout(fd, 2000);
	assert_int_equal(connect(fd, (struct sockaddr *)&to.ss, to.len), 0);
	buf = malloc(65536);
	assert_non_null(buf);
	for (int round = 0; round < 2; round++) {
		send_frame(fd, "HUGE", 4);
		sleep_ms(50);   /* let the server fill the window first */
		assert_int_equal(recv_frame(fd, buf, 65536), 65536);
		for (size_t i = 0; i < 65536; i++) {
			if (buf[i] != (uint8_t)(i * 7))
				fail_msg("byte %zu differs", i);
		}
	}
	tcp_echo(fd, "and then a small one");
	close(fd);
	server_stop(&s);
	assert_int_equal(stats(&s).tcp_out, 3);
	free(buf);
	kdc_net_free(s.net);
}

/* A TCP client of port from source address src (another loopback address). */
static int
tcp_client_from(uint16_t port, const char *src)
{
	lethe_sockaddr to = addr4("127.0.0.1", port), from = addr4(src, 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	set_timeout(fd, 2000);
	assert_int_equal(bind(fd, (const struct sockaddr *)&from.ss, from.len), 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&to.ss, to.len), 0);
	return fd;
}

/* Full: the connection waiting longest makes room, idle or inside a request. */
static void
test_tcp_connection_limit(void **state)
{
	kdc_net_config cfg;
	server s;
	int c1, c2, c3, c4;
	uint8_t hdr[4] = { 0, 0, 0, 4 }, buf[16];
	(void)state;

	base_config(&cfg);
	cfg.tcp_max_conns = 2;
	cfg.tcp_idle_ms = 5000;
	cfg.tcp_request_ms = 5000;
	server_start(&s, &cfg);
	c1 = tcp_client(s.tcp_port);
	tcp_echo(c1, "one");
	sleep_ms(20);
	c2 = tcp_client(s.tcp_port);
	tcp_echo(c2, "two");

	/* full: the longest-idle connection (c1) makes room */
	c3 = tcp_client(s.tcp_port);
	tcp_echo(c3, "three");
	assert_true(closed_within(c1, 1000));
	WAIT_STAT(&s, tcp_evicted, 1);

	/* full, both inside a request: the one that began first (c2) goes */
	send_all(c2, hdr, 2);
	sleep_ms(20);
	send_all(c3, hdr, 2);
	sleep_ms(20);
	c4 = tcp_client(s.tcp_port);
	assert_true(closed_within(c2, 1000));
	WAIT_STAT(&s, tcp_evicted, 2);
	send_all(c3, hdr + 2, 2);
	send_all(c3, "abcd", 4);
	assert_int_equal(recv_frame(c3, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "E:abcd", 6);
	tcp_echo(c4, "four");
	close(c1);
	close(c2);
	close(c3);
	close(c4);
	server_stop(&s);
	assert_int_equal(stats(&s).tcp_accepted, 4);
	assert_int_equal(stats(&s).tcp_refused, 0);
	assert_int_equal(stats(&s).tcp_closed, 4);
	kdc_net_free(s.net);
}

/*
 * A peer at its cap loses its own oldest connection, never another peer's;
 * when the pool is full, the peer holding most pays.
 */
static void
test_tcp_per_peer_cap(void **state)
{
	kdc_net_config cfg;
	server s;
	int a1, a2, a3, b1, b2, c1;
	(void)state;

	base_config(&cfg);
	cfg.tcp_max_conns = 4;
	cfg.tcp_max_per_peer = 2;
	cfg.tcp_idle_ms = 5000;
	cfg.tcp_request_ms = 5000;
	server_start(&s, &cfg);
	b1 = tcp_client_from(s.tcp_port, "127.0.0.2");
	tcp_echo(b1, "b1");
	sleep_ms(20);           /* "since" has millisecond steps */
	a1 = tcp_client(s.tcp_port);
	tcp_echo(a1, "a1");
	sleep_ms(20);
	a2 = tcp_client(s.tcp_port);
	tcp_echo(a2, "a2");
	sleep_ms(20);
	/* 127.0.0.1 at its cap: its own a1 goes, not the older b1 */
	a3 = tcp_client(s.tcp_port);
	tcp_echo(a3, "a3");
	assert_true(closed_within(a1, 1000));
	sleep_ms(20);
	tcp_echo(b1, "b1 again");
	/* full (b1, a2, a3, b2): a newcomer from a third peer takes 127.0.0.1's oldest */
	b2 = tcp_client_from(s.tcp_port, "127.0.0.2");
	tcp_echo(b2, "b2");
	c1 = tcp_client_from(s.tcp_port, "127.0.0.3");
	tcp_echo(c1, "c1");
	assert_true(closed_within(a2, 1000));
	tcp_echo(b1, "b1 still");
	tcp_echo(a3, "a3 still");
	WAIT_STAT(&s, tcp_evicted, 2);
	close(a1);
	close(a2);
	close(a3);
	close(b1);
	close(b2);
	close(c1);
	server_stop(&s);
	assert_int_equal(stats(&s).tcp_refused, 0);
	kdc_net_free(s.net);
}

static uint32_t
xorshift(uint32_t *st)
{
	uint32_t x = *st;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *st = x;
}

static void
test_garbage_never_crashes(void **state)
{
	kdc_net_config cfg;
	uint32_t rng = 0x1e7e5eed;
	uint8_t junk[20000];
	server s;
	int ufd;
	(void)state;

	base_config(&cfg);
	cfg.workers = 2;
	server_start(&s, &cfg);
	ufd = udp_client(s.udp_port, 1000);
	for (int i = 0; i < 150; i++) {
		size_t len = xorshift(&rng) % 300;
		struct linger lg = { 1, 0 };
		int fd = tcp_client(s.tcp_port);
		for (size_t k = 0; k < len; k++)
			junk[k] = (uint8_t)xorshift(&rng);
		if (len > 0 && (i % 3) == 0)
			junk[0] |= 0x80;        /* some with the reserved bit */
		(void)send(fd, junk, len, MSG_NOSIGNAL);
		if (i % 2)      /* half end with a reset */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		len = (i % 10) == 0 ? sizeof(junk) : xorshift(&rng) % 1500;
		(void)send(ufd, junk, len, 0);
	}
	close(ufd);
	WAIT_STAT(&s, tcp_accepted, 150);
	WAIT_STAT(&s, tcp_closed, 150);
	/* both transports still answer */
	ufd = udp_client(s.udp_port, 1000);
	udp_echo(ufd, "after the storm");
	close(ufd);
	int fd = tcp_client(s.tcp_port);
	tcp_echo(fd, "after the storm");
	close(fd);
	server_stop(&s);
	assert_true(stats(&s).drop_oversize >= 15);     /* the 20000-byte datagrams */
	kdc_net_free(s.net);
}

/* ----------------------------------------------------------- lifecycle */

static void
test_stop_with_open_connections(void **state)
{
	kdc_net_config cfg;
	uint8_t hdr[4] = { 0, 0, 0, 9 };
	uint64_t start;
	server s;
	int idle, busy;
	(void)state;

	base_config(&cfg);
	cfg.workers = 3;
	cfg.tcp_idle_ms = 10000;
	cfg.tcp_request_ms = 10000;
	server_start(&s, &cfg);
	idle = tcp_client(s.tcp_port);
	tcp_echo(idle, "hello");
	busy = tcp_client(s.tcp_port);
	send_all(busy, hdr, 4);
	send_all(busy, "abc", 3);
	WAIT_STAT(&s, tcp_accepted, 2);
	start = now_ms();
	server_stop(&s);
	assert_true(now_ms() - start < 1000);
	assert_true(closed_within(idle, 1000));
	assert_true(closed_within(busy, 1000));
	assert_int_equal(stats(&s).tcp_closed, 2);
	close(idle);
	close(busy);
	kdc_net_free(s.net);
}

static void
test_stop_before_run(void **state)
{
	kdc_net_config cfg;
	kdc_net *net;
	(void)state;

	base_config(&cfg);
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_OK);
	kdc_net_stop(net);
	kdc_net_stop(net);
	assert_int_equal(kdc_net_run(net), LETHE_OK);
	assert_int_equal(kdc_net_run(net), LETHE_ERR_INVALID_ARG);     /* once only */
	kdc_net_free(net);
}

static void
test_signals(void **state)
{
	kdc_net_config cfg;
	sigset_t sigs, old;
	uint64_t until;
	server s;
	int fd;
	(void)state;

	/* every thread must block them for signalfd to receive them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &sigs, &old), 0);
	base_config(&cfg);
	cfg.handle_signals = true;
	server_start(&s, &cfg);
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	until = now_ms() + 2000;
	while (atomic_load(&reloads) < 1 && now_ms() < until)
		sleep_ms(5);
	assert_int_equal(atomic_load(&reloads), 1);
	fd = udp_client(s.udp_port, 1000);
	udp_echo(fd, "still serving after SIGHUP");
	close(fd);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_int_equal(s.run_rc, LETHE_OK);
	assert_int_equal(atomic_load(&reloads), 1);
	kdc_net_free(s.net);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

static lethe_status
refusing_init(void *ctx, unsigned worker, void **worker_ctx)
{
	(void)ctx;
	(void)worker_ctx;
	return worker == 1 ? LETHE_ERR_CRYPTO : LETHE_OK;
}

static atomic_uint fini_calls;

static void
count_fini(void *ctx, unsigned worker, void *worker_ctx)
{
	(void)ctx;
	(void)worker;
	(void)worker_ctx;
	atomic_fetch_add(&fini_calls, 1);
}

static void
test_worker_init_failure_stops(void **state)
{
	kdc_net_config cfg;
	kdc_net *net;
	(void)state;

	base_config(&cfg);
	cfg.workers = 2;
	cfg.worker_init = refusing_init;
	cfg.worker_fini = count_fini;
	atomic_store(&fini_calls, 0);
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_OK);
	assert_int_equal(kdc_net_run(net), LETHE_ERR_CRYPTO);
	assert_int_equal(atomic_load(&fini_calls), 1);  /* only the worker that started */
	kdc_net_free(net);
}

static void
test_config_errors(void **state)
{
	kdc_net_config cfg;
	kdc_net *net = NULL, *other = NULL;
	uint16_t port;
	(void)state;

	base_config(&cfg);
	cfg.handler = NULL;
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_ERR_INVALID_ARG);
	base_config(&cfg);
	cfg.udp_max_reply = cfg.max_reply + 1;
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_ERR_INVALID_ARG);
	base_config(&cfg);
	cfg.udp[0].len = 3;
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_ERR_INVALID_ARG);
	base_config(&cfg);
	cfg.udp_batch = 0;
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_ERR_INVALID_ARG);
	assert_null(net);

	/* not a local address */
	log_set_verbosity(-1);          /* keep the expected warnings quiet */
	base_config(&cfg);
	cfg.tcp[0] = addr4("192.0.2.1", 0);
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_ERR_IO);
	assert_int_equal(errno, EADDRNOTAVAIL);

	/* a second server on a port in use fails instead of sharing it */
	base_config(&cfg);
	cfg.workers = 2;
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_OK);
	assert_int_equal(kdc_net_local_port(net, KDC_TRANSPORT_UDP, 0, &port), LETHE_OK);
	assert_int_equal(kdc_net_local_port(net, KDC_TRANSPORT_UDP, 1, &port), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kdc_net_local_port(net, KDC_TRANSPORT_TCP, 0, &port), LETHE_OK);
	cfg.n_udp = 0;
	cfg.tcp[0] = addr4("127.0.0.1", port);
	assert_int_equal(kdc_net_new(&cfg, &other), LETHE_ERR_IO);
	assert_int_equal(errno, EADDRINUSE);
	assert_null(other);
	log_set_verbosity(LETHE_LOG_INFO);
	kdc_net_free(net);

	/* workers = 0: one per online core */
	base_config(&cfg);
	cfg.workers = 0;
	assert_int_equal(kdc_net_new(&cfg, &net), LETHE_OK);
	assert_int_equal(kdc_net_worker_count(net), (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	kdc_net_free(net);
}

static void
test_addr_str(void **state)
{
	lethe_sockaddr a = addr4("192.0.2.7", 88);
	char buf[64];
	(void)state;

	lethe_sockaddr_str((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.7:88");
	a = addr6("2001:db8::1", 750);
	lethe_sockaddr_str((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:750");
	lethe_sockaddr_str((struct sockaddr *)&a.ss, 4, buf, sizeof(buf));
	assert_string_equal(buf, "(unknown)");
}

#define NET_TEST(f) cmocka_unit_test_setup_teardown(f, reset_globals, check_arena)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		NET_TEST(test_udp_many_in_flight),
		NET_TEST(test_udp_no_reply_and_limits),
		NET_TEST(test_udp_wildcard_reply_source),
		NET_TEST(test_ipv6),
		NET_TEST(test_tcp_requests_in_sequence),
		NET_TEST(test_tcp_split_writes),
		NET_TEST(test_tcp_slow_client_times_out),
		NET_TEST(test_tcp_idle_timeout),
		NET_TEST(test_tcp_bad_lengths),
		NET_TEST(test_tcp_partial_writes),
		NET_TEST(test_tcp_connection_limit),
		NET_TEST(test_tcp_per_peer_cap),
		NET_TEST(test_garbage_never_crashes),
		NET_TEST(test_stop_with_open_connections),
		NET_TEST(test_stop_before_run),
		NET_TEST(test_signals),
		NET_TEST(test_worker_init_failure_stops),
		NET_TEST(test_config_errors),
		NET_TEST(test_addr_str),
	};

	log_init("test_net", LETHE_LOG_STDERR, LETHE_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
