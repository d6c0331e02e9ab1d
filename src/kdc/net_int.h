/* Internals of the KDC network loop, shared by net.c, net_udp.c, net_tcp.c. */
#ifndef LETHE_KDC_NET_INT_H
#define LETHE_KDC_NET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/peers.h"
#include "kdc/net.h"

/* epoll_data.u64: kind in bits 56..63, generation in 32..55, index below. */
enum net_tag {
	TAG_STOP = 1,
	TAG_UDP,
	TAG_LISTEN,
	TAG_CONN,
};
#define TAG_GEN_MASK 0xffffffu

static inline uint64_t
net_tag(enum net_tag kind, uint32_t gen, uint32_t index)
{
	return (uint64_t)kind << 56 | (uint64_t)(gen & TAG_GEN_MASK) << 32 | index;
}

typedef struct net_counters {
#define NET_COUNTER_FIELD(name) _Atomic uint64_t name;
	KDC_NET_COUNTERS(NET_COUNTER_FIELD)
#undef NET_COUNTER_FIELD
} net_counters;

/* Only the owning worker writes its counters: load and store, no lock prefix. */
static inline void
net_count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}
#define COUNT(w, name) net_count(&(w)->counters.name, 1)
#define COUNT_N(w, name, n) net_count(&(w)->counters.name, (n))

enum conn_state {
	CONN_READ_LEN,          /* reading the 4-byte length */
	CONN_READ_BODY,         /* reading the message */
	CONN_WRITE,             /* a reply is partly written */
};

typedef struct net_conn {
	int fd;                 /* -1 when the slot is free */
	uint32_t gen;           /* bumped on close; stale epoll events are ignored */
	enum conn_state state;
	uint8_t hdr[4];
	size_t hdr_got;
	uint8_t *buf;           /* request, then the unsent rest of the reply */
	size_t buf_cap;
	size_t need;            /* request length */
	size_t got;             /* request bytes read */
	size_t out_len;         /* reply bytes left in buf */
	size_t out_sent;
	uint64_t deadline_ms;   /* closed as timed out at this time */
	uint64_t since_ms;      /* when it began to wait (idle, or a request's
				 * first byte): the oldest is evicted first */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	lethe_peer peer_key;    /* counted in the worker's peers */
} net_conn;

/* One UDP batch slot's control buffer: room for either pktinfo. */
#define NET_CMSG_SPACE 64

typedef struct net_worker {
	kdc_net *net;
	unsigned id;
	pthread_t thread;
	int epfd;
	int *udp_fds;           /* cfg.n_udp sockets */
	int *tcp_fds;           /* cfg.n_tcp listeners */
	bool *tcp_paused;       /* listener out of epoll after EMFILE and the like */
	uint64_t resume_ms;
	lethe_arena arena;
	uint8_t *reply;         /* cfg.max_reply bytes */
	void *worker_ctx;
	lethe_status result;

	/* UDP batch: cfg.udp_batch slots */
	struct mmsghdr *rx;
	struct mmsghdr *tx;
	struct iovec *rx_iov;
	struct iovec *tx_iov;
	struct sockaddr_storage *rx_addr;
	uint8_t *rx_buf;        /* udp_batch * udp_max_request */
	uint8_t *tx_buf;        /* udp_batch * udp_max_reply */
	uint8_t *rx_cmsg;       /* udp_batch * NET_CMSG_SPACE */
	uint8_t *tx_cmsg;

	/* TCP: a fixed pool of cfg.tcp_max_conns slots */
	net_conn *conns;
	uint32_t *free_slots;
	uint32_t n_free;
	lethe_peer_table peers; /* open connections per peer */

	net_counters counters;
} net_worker;

struct kdc_net {
	kdc_net_config cfg;
	unsigned n_workers;
	net_worker *workers;
	uint16_t udp_port[KDC_NET_MAX_ADDRS];
	uint16_t tcp_port[KDC_NET_MAX_ADDRS];
	bool *udp_pktinfo;      /* per UDP address: wildcard, so track the destination */
	int stop_fd;            /* eventfd, readable once stopping */
	atomic_bool stopping;
	bool ran;
};

uint64_t net_now_ms(void);

/* UDP: answer one batch from socket index ai. */
void net_udp_readable(net_worker *w, size_t ai);
lethe_status net_udp_alloc(net_worker *w);
void net_udp_free(net_worker *w);

/* TCP: accept on listener li; serve an event on connection slot; timers. */
void net_tcp_acceptable(net_worker *w, size_t li, uint64_t now);
void net_tcp_event(net_worker *w, uint32_t slot, uint32_t gen, uint32_t events, uint64_t now);
void net_tcp_sweep(net_worker *w, uint64_t now);
void net_tcp_close_all(net_worker *w);
lethe_status net_tcp_alloc(net_worker *w);
void net_tcp_free(net_worker *w);

#endif
