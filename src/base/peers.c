#include "base/peers.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void
lethe_peer_of(const struct sockaddr *sa, socklen_t len, lethe_peer *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memcpy(out->b, &in6->sin6_addr, 16);
		else
			memcpy(out->b, &in6->sin6_addr, 8);
	}
}

lethe_status
lethe_peer_table_init(lethe_peer_table *t, size_t max_conns)
{
	size_t n = 8;

	memset(t, 0, sizeof(*t));
	ENSURE(max_conns > 0 && max_conns <= SIZE_MAX / 4 / sizeof(*t->slots),
	    LETHE_ERR_INVALID_ARG);
	while (n < 2 * max_conns)       /* at most half full: short probes */
		n *= 2;
	t->slots = calloc(n, sizeof(*t->slots));
	ENSURE(t->slots != NULL, LETHE_ERR_NOMEM);
	t->mask = n - 1;
	/* A secret seed: a sender cannot pick addresses that all collide. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != (ssize_t)sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t->slots;
	return LETHE_OK;
}

void
lethe_peer_table_free(lethe_peer_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a over the seed and the key, finished with a 64-bit mixer. */
static size_t
home(const lethe_peer_table *t, const lethe_peer *p)
{
	uint64_t h = 0xcbf29ce484222325u ^ t->seed;

	for (size_t i = 0; i < sizeof(p->b); i++) {
		h ^= p->b[i];
		h *= 0x100000001b3u;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	return (size_t)h & t->mask;
}

/* p's slot, or the free slot where it would go. */
static size_t
find(const lethe_peer_table *t, const lethe_peer *p)
{
	size_t i = home(t, p);

	while (t->slots[i].count != 0 && memcmp(&t->slots[i].key, p, sizeof(*p)) != 0)
		i = (i + 1) & t->mask;
	return i;
}

uint32_t
lethe_peer_count(const lethe_peer_table *t, const lethe_peer *p)
{
	return t->slots[find(t, p)].count;
}

void
lethe_peer_add(lethe_peer_table *t, const lethe_peer *p)
{
	lethe_peer_slot *s = &t->slots[find(t, p)];

	s->key = *p;
	s->count++;
}

void
lethe_peer_remove(lethe_peer_table *t, const lethe_peer *p)
{
	size_t i = find(t, p), j = i;

	if (t->slots[i].count == 0 || --t->slots[i].count > 0)
		return;
	/* Backward-shift deletion: move later members of the run into the hole. */
	for (;;) {
		size_t k;
		j = (j + 1) & t->mask;
		if (t->slots[j].count == 0)
			break;
		k = home(t, &t->slots[j].key);
		/* j stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
}

lethe_peer_verdict
lethe_peer_pick(const lethe_peer_table *t, const lethe_peer *p, unsigned per_peer, bool full,
    size_t n, lethe_peer_probe_fn probe, void *ctx, size_t *victim)
{
	bool own = per_peer > 0 && lethe_peer_count(t, p) >= per_peer;
	uint32_t best_count = 0;
	int64_t best_since = 0;
	bool found = false;

	if (!own && !full)
		return LETHE_PEER_ROOM;
	for (size_t i = 0; i < n; i++) {
		lethe_peer peer;
		int64_t since;
		uint32_t count;
		if (!probe(ctx, i, &peer, &since))
			continue;
		if (own && memcmp(&peer, p, sizeof(peer)) != 0)
			continue;
		count = own ? 0 : lethe_peer_count(t, &peer);
		if (!found || count > best_count || (count == best_count && since < best_since)) {
			found = true;
			best_count = count;
			best_since = since;
			*victim = i;
		}
	}
	return found ? LETHE_PEER_EVICT : LETHE_PEER_REFUSE;
}
