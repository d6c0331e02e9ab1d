/* KDC network loop: configuration, sockets, workers, run and stop. */
#define _GNU_SOURCE
#include "kdc/net_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define NET_EVENTS 64           /* epoll events per wait */

uint64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
kdc_net_config_defaults(kdc_net_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 0;
	cfg->udp_batch = 32;
	cfg->udp_max_request = 16384;
	cfg->udp_max_reply = 4096;
	cfg->tcp_max_request = 65536;
	cfg->max_reply = 65536;
	cfg->tcp_max_conns = 256;
	cfg->tcp_max_per_peer = 32;
	cfg->tcp_idle_ms = 30000;
	cfg->tcp_request_ms = 10000;
	cfg->arena_budget = 1024 * 1024;
	cfg->handle_signals = true;
}

/* ------------------------------------------------------------ validation */

static bool
addr_ok(const lethe_sockaddr *a)
{
	if (a->ss.ss_family == AF_INET)
		return a->len == sizeof(struct sockaddr_in);
	if (a->ss.ss_family == AF_INET6)
		return a->len == sizeof(struct sockaddr_in6);
	return false;
}

static bool
in_range(size_t v, size_t lo, size_t hi)
{
	return v >= lo && v <= hi;
}

static lethe_status
check_config(const kdc_net_config *cfg)
{
	ENSURE(cfg->handler != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(cfg->workers <= KDC_NET_MAX_WORKERS, LETHE_ERR_INVALID_ARG);
	ENSURE(in_range(cfg->udp_batch, 1, 1024), LETHE_ERR_INVALID_ARG);
	ENSURE(in_range(cfg->udp_max_request, 1, 65536), LETHE_ERR_INVALID_ARG);
	ENSURE(in_range(cfg->max_reply, 1, 16u << 20), LETHE_ERR_INVALID_ARG);
	ENSURE(in_range(cfg->udp_max_reply, 1, 65507), LETHE_ERR_INVALID_ARG);
	ENSURE(cfg->udp_max_reply <= cfg->max_reply, LETHE_ERR_INVALID_ARG);
	ENSURE(in_range(cfg->tcp_max_request, 1, 16u << 20), LETHE_ERR_INVALID_ARG);
	ENSURE(in_range(cfg->tcp_max_conns, 1, 1u << 20), LETHE_ERR_INVALID_ARG);
	ENSURE(cfg->tcp_idle_ms > 0 && cfg->tcp_request_ms > 0, LETHE_ERR_INVALID_ARG);
	ENSURE(cfg->arena_budget > 0, LETHE_ERR_INVALID_ARG);
	ENSURE(cfg->n_udp <= KDC_NET_MAX_ADDRS && cfg->n_tcp <= KDC_NET_MAX_ADDRS,
	    LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < cfg->n_udp; i++)
		ENSURE(addr_ok(&cfg->udp[i]), LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < cfg->n_tcp; i++)
		ENSURE(addr_ok(&cfg->tcp[i]), LETHE_ERR_INVALID_ARG);
	return LETHE_OK;
}

static void
set_default_addrs(kdc_net_config *cfg)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->udp[0].ss;

	memset(&cfg->udp[0], 0, sizeof(cfg->udp[0]));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(88);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfg->udp[0].len = sizeof(*sin);
	cfg->tcp[0] = cfg->udp[0];
	cfg->n_udp = 1;
	cfg->n_tcp = 1;
}

static unsigned
online_cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > KDC_NET_MAX_WORKERS ? KDC_NET_MAX_WORKERS : (unsigned)n;
}

/* ---------------------------------------------------------------- sockets */

static void
addr_set_port(lethe_sockaddr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

static bool
addr_is_wildcard(const lethe_sockaddr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static lethe_status
bound_port(int fd, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return LETHE_ERR_IO;
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return LETHE_OK;
}

static lethe_status
set_int_opt(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) != 0)
		return LETHE_ERR_IO;
	return LETHE_OK;
}

/* A bound SO_REUSEPORT socket (and listening, for TCP) on a, port given. */
static lethe_status
open_socket(const lethe_sockaddr *addr, uint16_t port, bool tcp, bool pktinfo, int *out)
{
	lethe_status rc = LETHE_OK;
	lethe_sockaddr a = *addr;
	int family = a.ss.ss_family;
	int fd;
	char name[80];

	addr_set_port(&a, port);
	fd = socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1));
	if (tcp)
		GUARD_GOTO(rc, set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1));
	if (family == AF_INET6)
		GUARD_GOTO(rc, set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1));
	if (pktinfo && family == AF_INET)
		GUARD_GOTO(rc, set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, 1));
	if (pktinfo && family == AF_INET6)
		GUARD_GOTO(rc, set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1));
	ENSURE_GOTO(rc, bind(fd, (struct sockaddr *)&a.ss, a.len) == 0, LETHE_ERR_IO);
	if (tcp)
		ENSURE_GOTO(rc, listen(fd, SOMAXCONN) == 0, LETHE_ERR_IO);
	*out = fd;
	fd = -1;
cleanup:
	if (fd >= 0) {
		int saved = errno;
		lethe_sockaddr_str((struct sockaddr *)&a.ss, a.len, name, sizeof(name));
		log_warn("cannot listen on %s %s", tcp ? "tcp" : "udp", name);
		close(fd);
		errno = saved;
	}
	return rc;
}

/*
 * SO_REUSEPORT would let a second daemon of the same user share the port
 * silently. A bind without it fails if anyone holds the port: check first.
 */
static lethe_status
probe_port(const lethe_sockaddr *a, bool tcp)
{
	lethe_status rc = LETHE_OK;
	int fd = socket(a->ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	char name[80];

	ENSURE(fd >= 0, LETHE_ERR_IO);
	if (tcp)                /* connections in TIME_WAIT do not count */
		GUARD_GOTO(rc, set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1));
	if (a->ss.ss_family == AF_INET6)
		GUARD_GOTO(rc, set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
		int saved = errno;
		lethe_sockaddr_str((const struct sockaddr *)&a->ss, a->len, name, sizeof(name));
		log_warn("cannot listen on %s %s", tcp ? "tcp" : "udp", name);
		errno = saved;
		rc = LETHE_ERR_IO;
	}
cleanup:
	{
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return rc;
}

static lethe_status
epoll_add(int epfd, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return LETHE_ERR_IO;
	return LETHE_OK;
}

/*
 * Open address index i of one transport for every worker. With port 0 the
 * first worker's socket picks the port and the others bind to it.
 */
static lethe_status
open_address(kdc_net *net, bool tcp, size_t i)
{
	const lethe_sockaddr *a = tcp ? &net->cfg.tcp[i] : &net->cfg.udp[i];
	uint16_t *port = tcp ? &net->tcp_port[i] : &net->udp_port[i];
	bool pktinfo = !tcp && addr_is_wildcard(a);

	*port = ntohs(a->ss.ss_family == AF_INET ?
	    ((const struct sockaddr_in *)&a->ss)->sin_port :
	    ((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	if (!tcp)
		net->udp_pktinfo[i] = pktinfo;
	if (*port != 0)
		GUARD(probe_port(a, tcp));
	for (unsigned k = 0; k < net->n_workers; k++) {
		net_worker *w = &net->workers[k];
		int *fd = tcp ? &w->tcp_fds[i] : &w->udp_fds[i];
		GUARD(open_socket(a, *port, tcp, pktinfo, fd));
		if (k == 0)
			GUARD(bound_port(*fd, port));
		GUARD(epoll_add(w->epfd, *fd, EPOLLIN,
		    net_tag(tcp ? TAG_LISTEN : TAG_UDP, 0, (uint32_t)i)));
	}
	return LETHE_OK;
}

/* ---------------------------------------------------------------- workers */

static lethe_status
worker_alloc(kdc_net *net, net_worker *w, unsigned id)
{
	const kdc_net_config *cfg = &net->cfg;

	w->net = net;
	w->id = id;
	w->epfd = -1;
	lethe_arena_init(&w->arena, cfg->arena_budget);
	w->udp_fds = malloc(sizeof(int) * (cfg->n_udp + 1));
	w->tcp_fds = malloc(sizeof(int) * (cfg->n_tcp + 1));
	w->tcp_paused = calloc(cfg->n_tcp + 1, sizeof(bool));
	w->reply = malloc(cfg->max_reply);
	ENSURE(w->udp_fds != NULL && w->tcp_fds != NULL && w->tcp_paused != NULL &&
	    w->reply != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < cfg->n_udp; i++)
		w->udp_fds[i] = -1;
	for (size_t i = 0; i < cfg->n_tcp; i++)
		w->tcp_fds[i] = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	ENSURE(w->epfd >= 0, LETHE_ERR_IO);
	GUARD(epoll_add(w->epfd, net->stop_fd, EPOLLIN, net_tag(TAG_STOP, 0, 0)));
	if (cfg->n_udp > 0)
		GUARD(net_udp_alloc(w));
	if (cfg->n_tcp > 0)
		GUARD(net_tcp_alloc(w));
	return LETHE_OK;
}

static void
worker_free(kdc_net *net, net_worker *w)
{
	for (size_t i = 0; w->udp_fds != NULL && i < net->cfg.n_udp; i++) {
		if (w->udp_fds[i] >= 0)
			close(w->udp_fds[i]);
	}
	for (size_t i = 0; w->tcp_fds != NULL && i < net->cfg.n_tcp; i++) {
		if (w->tcp_fds[i] >= 0)
			close(w->tcp_fds[i]);
	}
	if (w->epfd >= 0)
		close(w->epfd);
	net_udp_free(w);
	net_tcp_free(w);
	lethe_arena_free(&w->arena);
	free(w->udp_fds);
	free(w->tcp_fds);
	free(w->tcp_paused);
	free(w->reply);
}

/* Sweep often enough to time out connections close to their deadline. */
static uint64_t
sweep_interval_ms(const kdc_net_config *cfg)
{
	uint64_t t = cfg->tcp_idle_ms < cfg->tcp_request_ms ? cfg->tcp_idle_ms :
	    cfg->tcp_request_ms;

	t /= 4;
	if (t < 10)
		return 10;
	return t > 1000 ? 1000 : t;
}

static void
worker_dispatch(net_worker *w, const struct epoll_event *ev, uint64_t now)
{
	uint64_t tag = ev->data.u64;
	uint32_t index = (uint32_t)tag;
	uint32_t gen = (uint32_t)(tag >> 32) & TAG_GEN_MASK;

	switch ((enum net_tag)(tag >> 56)) {
	case TAG_UDP:
		net_udp_readable(w, index);
		break;
	case TAG_LISTEN:
		net_tcp_acceptable(w, index, now);
		break;
	case TAG_CONN:
		net_tcp_event(w, index, gen, ev->events, now);
		break;
	case TAG_STOP:
		break;          /* the loop condition sees the flag */
	}
}

static void *
worker_main(void *arg)
{
	net_worker *w = arg;
	kdc_net *net = w->net;
	const kdc_net_config *cfg = &net->cfg;
	struct epoll_event events[NET_EVENTS];
	uint64_t interval = sweep_interval_ms(cfg);
	uint64_t next_sweep = net_now_ms() + interval;

	if (cfg->worker_init != NULL) {
		w->result = cfg->worker_init(cfg->handler_ctx, w->id, &w->worker_ctx);
		if (w->result != LETHE_OK) {
			log_warnx("worker %u: initialisation failed: %s", w->id,
			    lethe_status_str(w->result));
			kdc_net_stop(net);
			return NULL;
		}
	}
	(void)log_batch_begin();        /* unbatched if it cannot */
	while (!atomic_load(&net->stopping)) {
		uint64_t now = net_now_ms();
		int timeout = next_sweep > now ? (int)(next_sweep - now) : 0;
		/* Lines waiting: look without blocking; write them before blocking. */
		bool pending = log_batch_pending();
		int n = epoll_wait(w->epfd, events, NET_EVENTS, pending ? 0 : timeout);
		if (n == 0 && pending) {
			log_batch_flush();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("worker %u: epoll_wait", w->id);
			w->result = LETHE_ERR_IO;
			kdc_net_stop(net);
			break;
		}
		now = net_now_ms();
		for (int i = 0; i < n; i++)
			worker_dispatch(w, &events[i], now);
		if (now >= next_sweep) {
			net_tcp_sweep(w, now);
			next_sweep = now + interval;
		}
	}
	net_tcp_close_all(w);
	if (cfg->worker_fini != NULL)
		cfg->worker_fini(cfg->handler_ctx, w->id, w->worker_ctx);
	log_batch_end();
	return NULL;
}

/* ------------------------------------------------------------- public API */

lethe_status
kdc_net_new(const kdc_net_config *cfg, kdc_net **out)
{
	lethe_status rc = LETHE_OK;
	kdc_net *net = NULL;

	ENSURE(cfg != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	GUARD(check_config(cfg));
	net = calloc(1, sizeof(*net));
	ENSURE_GOTO(rc, net != NULL, LETHE_ERR_NOMEM);
	net->cfg = *cfg;
	net->stop_fd = -1;
	atomic_init(&net->stopping, false);
	if (net->cfg.n_udp == 0 && net->cfg.n_tcp == 0)
		set_default_addrs(&net->cfg);
	net->n_workers = cfg->workers != 0 ? cfg->workers : online_cores();
	net->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ENSURE_GOTO(rc, net->stop_fd >= 0, LETHE_ERR_IO);
	net->udp_pktinfo = calloc(net->cfg.n_udp + 1, sizeof(bool));
	net->workers = calloc(net->n_workers, sizeof(*net->workers));
	ENSURE_GOTO(rc, net->workers != NULL && net->udp_pktinfo != NULL, LETHE_ERR_NOMEM);
	for (unsigned k = 0; k < net->n_workers; k++)
		net->workers[k].epfd = -1;
	for (unsigned k = 0; k < net->n_workers; k++)
		GUARD_GOTO(rc, worker_alloc(net, &net->workers[k], k));
	for (size_t i = 0; i < net->cfg.n_udp; i++)
		GUARD_GOTO(rc, open_address(net, false, i));
	for (size_t i = 0; i < net->cfg.n_tcp; i++)
		GUARD_GOTO(rc, open_address(net, true, i));
	*out = net;
	net = NULL;
cleanup:
	if (net != NULL) {
		int saved = errno;
		kdc_net_free(net);
		errno = saved;
	}
	return rc;
}

lethe_status
kdc_net_local_port(const kdc_net *net, kdc_transport transport, size_t index,
    uint16_t *port)
{
	size_t n = transport == KDC_TRANSPORT_UDP ? net->cfg.n_udp : net->cfg.n_tcp;

	ENSURE(index < n, LETHE_ERR_NOT_FOUND);
	*port = transport == KDC_TRANSPORT_UDP ? net->udp_port[index] : net->tcp_port[index];
	return LETHE_OK;
}

unsigned
kdc_net_worker_count(const kdc_net *net)
{
	return net->n_workers;
}

void
kdc_net_stop(kdc_net *net)
{
	uint64_t one = 1;

	atomic_store(&net->stopping, true);
	/* Never drained: stays readable so every worker and run() wake up. */
	if (write(net->stop_fd, &one, sizeof(one)) < 0) {
		/* only EAGAIN at the counter's limit: it is readable anyway */
	}
}

static void
handle_signals(kdc_net *net, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading");
			if (net->cfg.reload != NULL)
				net->cfg.reload(net->cfg.reload_ctx);
		} else {
			log_info("signal %u: shutting down", si.ssi_signo);
			kdc_net_stop(net);
		}
	}
}

/* Block until stopping; serve signals from sfd (-1: none) meanwhile. */
static lethe_status
wait_for_stop(kdc_net *net, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = net->stop_fd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};

	while (!atomic_load(&net->stopping)) {
		int n = poll(pfd, sfd >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("poll");
			kdc_net_stop(net);
			return LETHE_ERR_IO;
		}
		if (sfd >= 0 && (pfd[1].revents & POLLIN))
			handle_signals(net, sfd);
	}
	return LETHE_OK;
}

static lethe_status
start_workers(kdc_net *net, unsigned *started)
{
	sigset_t all, prev;
	lethe_status rc = LETHE_OK;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &prev);        /* inherited by workers */
	for (*started = 0; *started < net->n_workers; (*started)++) {
		net_worker *w = &net->workers[*started];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_warnx("cannot start worker %u", *started);
			rc = LETHE_ERR_NOMEM;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	return rc;
}

lethe_status
kdc_net_run(kdc_net *net)
{
	lethe_status rc = LETHE_OK, wait_rc;
	sigset_t sigs, old;
	unsigned started = 0;
	int sfd = -1;

	ENSURE(net != NULL && !net->ran, LETHE_ERR_INVALID_ARG);
	net->ran = true;
	sigemptyset(&old);
	if (net->cfg.handle_signals) {
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &sigs, &old);
		sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
		ENSURE_GOTO(rc, sfd >= 0, LETHE_ERR_IO);
	}
	rc = start_workers(net, &started);
	if (rc != LETHE_OK)
		kdc_net_stop(net);
	wait_rc = wait_for_stop(net, sfd);
	for (unsigned k = 0; k < started; k++) {
		pthread_join(net->workers[k].thread, NULL);
		if (rc == LETHE_OK)
			rc = net->workers[k].result;
	}
	if (rc == LETHE_OK)
		rc = wait_rc;
cleanup:
	if (sfd >= 0)
		close(sfd);
	if (net->cfg.handle_signals)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

lethe_status
kdc_net_get_stats(const kdc_net *net, unsigned worker, kdc_net_stats *out)
{
	unsigned first = worker, last = worker;

	ENSURE(worker == KDC_NET_ALL || worker < net->n_workers, LETHE_ERR_NOT_FOUND);
	if (worker == KDC_NET_ALL) {
		first = 0;
		last = net->n_workers - 1;
	}
	memset(out, 0, sizeof(*out));
	for (unsigned k = first; k <= last; k++) {
		const net_counters *c = &net->workers[k].counters;
#define NET_SUM(name) out->name += atomic_load_explicit(&c->name, memory_order_relaxed);
		KDC_NET_COUNTERS(NET_SUM)
#undef NET_SUM
	}
	return LETHE_OK;
}

void
kdc_net_free(kdc_net *net)
{
	if (net == NULL)
		return;
	for (unsigned k = 0; net->workers != NULL && k < net->n_workers; k++)
		worker_free(net, &net->workers[k]);
	free(net->workers);
	free(net->udp_pktinfo);
	if (net->stop_fd >= 0)
		close(net->stop_fd);
	free(net);
}
