/*
 * Connection sets bounded per peer (DESIGN §7): a count of open
 * connections per source, and the choice of which connection to close
 * when a newcomer arrives and there is no room for it.
 *
 * A peer is an IPv4 address, or an IPv6 /64 (one host's usual share: a
 * per-address cap would be no cap against 2^64 addresses); the port is not
 * part of it. Policy for a newcomer from peer p (lethe_peer_pick):
 *   - p already holds per_peer connections: close p's own oldest
 *     evictable one (p competes only with itself);
 *   - else the set is full: close the oldest evictable connection of the
 *     peer holding most;
 *   - if that finds nothing evictable, refuse the newcomer.
 * Oldest means the longest wait: the connection's "since" time is when it
 * began to wait for its peer (opened, became idle, or began a request), so
 * a client in the middle of an exchange is the last to go.
 */
#ifndef LETHE_BASE_PEERS_H
#define LETHE_BASE_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/status.h"

typedef struct lethe_peer {
	uint8_t b[16];          /* IPv4 as ::ffff:a.b.c.d; IPv6 /64, rest zero */
} lethe_peer;

/* The peer an address belongs to (an unknown family: all zero). */
void lethe_peer_of(const struct sockaddr *sa, socklen_t len, lethe_peer *out);

typedef struct lethe_peer_slot {
	lethe_peer key;
	uint32_t count;         /* 0: free */
} lethe_peer_slot;

/* Open connections per peer: an open-addressing table, no allocation after init. */
typedef struct lethe_peer_table {
	lethe_peer_slot *slots;
	size_t mask;            /* slots - 1, a power of two */
	uint64_t seed;
} lethe_peer_table;

/* A table for at most max_conns connections at once (so as many peers). */
lethe_status lethe_peer_table_init(lethe_peer_table *t, size_t max_conns);
void lethe_peer_table_free(lethe_peer_table *t);

/* Connections p holds now. */
uint32_t lethe_peer_count(const lethe_peer_table *t, const lethe_peer *p);

/* One more (an opened connection) or one less (a closed one) for p. */
void lethe_peer_add(lethe_peer_table *t, const lethe_peer *p);
void lethe_peer_remove(lethe_peer_table *t, const lethe_peer *p);

/*
 * What the caller's connection i is: false when the slot is free or the
 * connection may not be closed for room (say, one of our own outgoing
 * ones); otherwise its peer and since (any monotonic unit).
 */
typedef bool (*lethe_peer_probe_fn)(void *ctx, size_t i, lethe_peer *peer, int64_t *since);

typedef enum lethe_peer_verdict {
	LETHE_PEER_ROOM,        /* take the newcomer, close nothing */
	LETHE_PEER_EVICT,       /* close *victim, then take the newcomer */
	LETHE_PEER_REFUSE,      /* close the newcomer */
} lethe_peer_verdict;

/*
 * The policy above for a newcomer from p, given per_peer (0: no cap),
 * whether the set is full, and the caller's n connection slots.
 */
lethe_peer_verdict lethe_peer_pick(const lethe_peer_table *t, const lethe_peer *p,
    unsigned per_peer, bool full, size_t n, lethe_peer_probe_fn probe, void *ctx,
    size_t *victim);

#endif
