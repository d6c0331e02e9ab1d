/*
 * The KDC network loop (DESIGN §4): one worker thread per core, each with
 * its own SO_REUSEPORT UDP socket per address (recvmmsg/sendmmsg batches)
 * and its own SO_REUSEPORT TCP listener per address with its connections
 * in an epoll set. The kernel spreads datagrams and connections over the
 * workers; workers share nothing but the handler context and the stop flag.
 *
 * TCP uses Kerberos framing (RFC 4120 §7.2.2): a 4-byte big-endian length,
 * then the message. A length with the reserved high bit set, a zero
 * length, or one over tcp_max_request closes the connection (the network
 * layer does not speak Kerberos, so it sends no KRB-ERROR). A connection
 * carries any number of requests in sequence. Connections are capped per
 * worker and per peer, and evicted under pressure (base/peers.h).
 *
 *	kdc_net_config cfg;
 *	kdc_net_config_defaults(&cfg);
 *	cfg.handler = kdc_handle; cfg.handler_ctx = kdc;
 *	GUARD(kdc_net_new(&cfg, &net));       // binds every socket now
 *	rc = kdc_net_run(net);                // blocks until SIGTERM/SIGINT or kdc_net_stop
 *	kdc_net_free(net);
 */
#ifndef LETHE_KDC_NET_H
#define LETHE_KDC_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/bytes.h"
#include "base/conf.h"
#include "base/status.h"

typedef enum kdc_transport {
	KDC_TRANSPORT_UDP,
	KDC_TRANSPORT_TCP,
} kdc_transport;

/* What the handler knows about one request. Valid only during the call. */
typedef struct kdc_req_info {
	kdc_transport transport;
	const struct sockaddr *peer;    /* the client's address */
	socklen_t peer_len;
	size_t max_reply;       /* largest reply this transport sends; a bigger
				 * one is dropped: on UDP answer
				 * KRB_ERR_RESPONSE_TOO_BIG instead */
	unsigned worker;        /* 0 .. workers-1 */
	void *worker_ctx;       /* from worker_init, or NULL */
	lethe_arena *arena;     /* the worker's arena, reset after each request */
} kdc_req_info;

/*
 * Answer one request: write at most rep_cap bytes to rep and their number
 * to *rep_len. Returning non-OK or *rep_len == 0 sends nothing (on TCP the
 * connection is then closed, since the client waits for an answer).
 * Called from several worker threads at once: ctx must be thread-safe.
 * rep_cap is always cfg.max_reply; check info->max_reply for the transport.
 */
typedef lethe_status (*kdc_handler_fn)(void *ctx, const kdc_req_info *info,
    const uint8_t *req, size_t req_len, uint8_t *rep, size_t rep_cap, size_t *rep_len);

/* Per-worker setup and teardown, in the worker's thread (optional). */
typedef lethe_status (*kdc_worker_init_fn)(void *ctx, unsigned worker, void **worker_ctx);
typedef void (*kdc_worker_fini_fn)(void *ctx, unsigned worker, void *worker_ctx);

/* SIGHUP: called from the thread in kdc_net_run, never concurrently with itself. */
typedef void (*kdc_reload_fn)(void *ctx);

#define KDC_NET_MAX_ADDRS 16    /* per transport */
#define KDC_NET_MAX_WORKERS 256

typedef struct kdc_net_config {
	lethe_sockaddr udp[KDC_NET_MAX_ADDRS];  /* port 0: an ephemeral port */
	size_t n_udp;
	lethe_sockaddr tcp[KDC_NET_MAX_ADDRS];
	size_t n_tcp;           /* no address at all: 127.0.0.1:88 on both */
	unsigned workers;       /* 0: one per online core */
	unsigned udp_batch;     /* datagrams per recvmmsg, 1..1024 (32) */
	size_t udp_max_request; /* larger datagrams are dropped (16384) */
	size_t udp_max_reply;   /* info->max_reply on UDP (4096) */
	size_t tcp_max_request; /* larger length prefixes close (65536) */
	size_t max_reply;       /* reply buffer and TCP limit (65536) */
	unsigned tcp_max_conns; /* per worker; when full, the longest-waiting
				 * connection (idle, or inside a request) of
				 * the peer holding most is closed (256) */
	unsigned tcp_max_per_peer; /* per worker and peer (base/peers.h); a
				    * peer over it loses its own longest-
				    * waiting connection; 0: no cap (32) */
	unsigned tcp_idle_ms;   /* between requests (30000) */
	unsigned tcp_request_ms; /* first byte to last byte of a request, and
				  * for writing its reply (10000) */
	size_t arena_budget;    /* per worker (1 MiB) */
	bool handle_signals;    /* kdc_net_run handles SIGTERM/SIGINT/SIGHUP (true) */
	kdc_handler_fn handler;
	void *handler_ctx;      /* also passed to worker_init/fini */
	kdc_worker_init_fn worker_init;
	kdc_worker_fini_fn worker_fini;
	kdc_reload_fn reload;
	void *reload_ctx;
} kdc_net_config;

/* Counters, each kept per worker in a relaxed atomic written by one thread. */
#define KDC_NET_COUNTERS(X)                                                     \
	X(udp_in)               /* datagrams received */                        \
	X(udp_out)              /* datagrams sent */                            \
	X(udp_send_failed)      /* replies the kernel refused */                \
	X(tcp_accepted)         /* connections taken in */                      \
	X(tcp_closed)           /* connections closed, for any reason */        \
	X(tcp_timed_out)        /* closed: idle or slow client (in tcp_closed) */ \
	X(tcp_evicted)          /* closed to make room (in tcp_closed) */       \
	X(tcp_refused)          /* closed at once: nothing could be evicted */  \
	X(tcp_in)               /* complete TCP requests */                     \
	X(tcp_out)              /* TCP replies fully written */                 \
	X(drop_oversize)        /* UDP truncated, TCP length over the limit */  \
	X(drop_framing)         /* TCP length with high bit set, or zero */     \
	X(drop_no_reply)        /* handler gave no reply */                     \
	X(drop_reply_too_big)   /* reply over the transport's max_reply */

typedef struct kdc_net_stats {
#define KDC_NET_STAT_FIELD(name) uint64_t name;
	KDC_NET_COUNTERS(KDC_NET_STAT_FIELD)
#undef KDC_NET_STAT_FIELD
} kdc_net_stats;

typedef struct kdc_net kdc_net;

/* Fill cfg with the defaults above, no addresses and no handler. */
void kdc_net_config_defaults(kdc_net_config *cfg);

/*
 * Check cfg, create and bind every socket of every worker (so a busy port
 * or a missing privilege is reported here, before any thread starts), and
 * allocate the workers. cfg is copied. LETHE_ERR_INVALID_ARG for a bad
 * configuration, LETHE_ERR_IO (errno kept) for a socket error.
 */
lethe_status kdc_net_new(const kdc_net_config *cfg, kdc_net **out);

/* The port bound for address index of transport (useful with port 0). */
lethe_status kdc_net_local_port(const kdc_net *net, kdc_transport transport, size_t index,
    uint16_t *port);

unsigned kdc_net_worker_count(const kdc_net *net);

/*
 * Start the workers and block until stopped: by SIGTERM or SIGINT (when
 * handle_signals) or kdc_net_stop. SIGHUP calls cfg.reload. Workers are
 * joined and their connections closed before it returns. With
 * handle_signals, the three signals are blocked in the calling thread
 * while it runs (and must be blocked in any other thread of the process
 * for signalfd to see them); workers block all signals. Call it once.
 */
lethe_status kdc_net_run(kdc_net *net);

/* Ask kdc_net_run to return. Async-signal-safe; any thread; idempotent. */
void kdc_net_stop(kdc_net *net);

/* Counters of one worker, or the sum over all when worker == KDC_NET_ALL. */
#define KDC_NET_ALL UINT32_MAX
lethe_status kdc_net_get_stats(const kdc_net *net, unsigned worker, kdc_net_stats *out);

/* Close the sockets and free everything. Not while kdc_net_run runs. */
void kdc_net_free(kdc_net *net);

#endif
