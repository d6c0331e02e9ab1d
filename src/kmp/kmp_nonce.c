/*
 * The server's table of outstanding Wake Up / Rekey nonces, and the keyed
 * hash index of peer addresses it finds them with (kmp_role.h).
 */
#include "kmp/kmp_role.h"
#include "base/wipe.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

bool
kmp_peer_eq(const kmp_peer *a, const kmp_peer *b)
{
	return a->len == b->len && memcmp(a->addr, b->addr, a->len) == 0;
}

lethe_status
kmp_peer_set(kmp_peer *peer, const void *addr, size_t len)
{
	ENSURE(len > 0 && len <= KMP_PEER_MAX, LETHE_ERR_INVALID_ARG);
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->addr, addr, len);
	peer->len = (uint8_t)len;
	return LETHE_OK;
}

void
kmp_peer_name(const kmp_io *io, const kmp_peer *peer, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (cap == 0)
		return;
	if (io != NULL && io->peer_name != NULL) {
		io->peer_name(io->ctx, peer, buf, cap);
		return;
	}
	for (i = 0; i < peer->len && o + 2 < cap; i++) {
		buf[o++] = hex[peer->addr[i] >> 4];
		buf[o++] = hex[peer->addr[i] & 15];
	}
	buf[o] = '\0';
}

/* ------------------------------------------------------------ peer index */

/*
 * NH (the universal hash of UMAC) over the zero-padded address with the
 * index's random key, plus the length; then a bijective mix so that the
 * low bits pick the bucket.
 */
static size_t
bucket_of(const kmp_peer_index *ix, const kmp_peer *peer)
{
	uint8_t buf[KMP_PEER_HASH_WORDS * 4] = { 0 };
	uint32_t w[KMP_PEER_HASH_WORDS];
	uint64_t h = 0;
	size_t i, len = peer->len <= KMP_PEER_MAX ? peer->len : KMP_PEER_MAX;

	memcpy(buf, peer->addr, len);
	for (i = 0; i < KMP_PEER_HASH_WORDS; i++)
		w[i] = ((uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 |
		    (uint32_t)buf[4 * i + 2] << 16 | (uint32_t)buf[4 * i + 3] << 24) +
		    ix->hash_key[i];
	for (i = 0; i < KMP_PEER_HASH_WORDS; i += 2)
		h += (uint64_t)w[i] * w[i + 1];
	h += (uint64_t)len * ix->hash_len_key;
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return (size_t)h & (ix->nbuckets - 1);
}

lethe_status
kmp_peer_index_init(kmp_peer_index *ix, size_t cap)
{
	size_t i, n = 1;
	lethe_status rc;

	memset(ix, 0, sizeof(*ix));
	ENSURE(cap > 0 && cap <= KMP_NONCE_TABLE_MAX, LETHE_ERR_INVALID_ARG);
	while (n < cap)
		n *= 2;
	ix->peers = calloc(cap, sizeof(*ix->peers));
	ix->next = calloc(cap, sizeof(*ix->next));
	ix->buckets = calloc(n, sizeof(*ix->buckets));
	ENSURE_GOTO(rc, ix->peers != NULL && ix->next != NULL && ix->buckets != NULL,
	    LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, RAND_bytes((unsigned char *)ix->hash_key,
	    sizeof(ix->hash_key)) == 1, LETHE_ERR_CRYPTO);
	ENSURE_GOTO(rc, RAND_bytes((unsigned char *)&ix->hash_len_key,
	    sizeof(ix->hash_len_key)) == 1, LETHE_ERR_CRYPTO);
	for (i = 0; i < n; i++)
		ix->buckets[i] = KMP_PEER_NONE;
	ix->nbuckets = n;
	ix->cap = cap;
	return LETHE_OK;
cleanup:
	kmp_peer_index_free(ix);
	return rc;
}

void
kmp_peer_index_free(kmp_peer_index *ix)
{
	free(ix->peers);
	free(ix->next);
	free(ix->buckets);
	lethe_wipe(ix, sizeof(*ix));
}

uint32_t
kmp_peer_index_find(const kmp_peer_index *ix, const kmp_peer *peer)
{
	uint32_t i;

	if (ix->cap == 0 || peer->len == 0)
		return KMP_PEER_NONE;
	for (i = ix->buckets[bucket_of(ix, peer)]; i != KMP_PEER_NONE; i = ix->next[i])
		if (kmp_peer_eq(&ix->peers[i], peer))
			return i;
	return KMP_PEER_NONE;
}

lethe_status
kmp_peer_index_add(kmp_peer_index *ix, const kmp_peer *peer, uint32_t slot)
{
	size_t b;

	ENSURE(slot < ix->cap && ix->peers[slot].len == 0, LETHE_ERR_INVALID_ARG);
	ENSURE(peer->len > 0 && peer->len <= KMP_PEER_MAX, LETHE_ERR_INVALID_ARG);
	ENSURE(kmp_peer_index_find(ix, peer) == KMP_PEER_NONE, LETHE_ERR_INVALID_ARG);
	ix->peers[slot] = *peer;
	b = bucket_of(ix, peer);
	ix->next[slot] = ix->buckets[b];
	ix->buckets[b] = slot;
	return LETHE_OK;
}

void
kmp_peer_index_remove(kmp_peer_index *ix, uint32_t slot)
{
	uint32_t *link;

	if (slot >= ix->cap || ix->peers[slot].len == 0)
		return;
	link = &ix->buckets[bucket_of(ix, &ix->peers[slot])];
	while (*link != slot)
		link = &ix->next[*link];
	*link = ix->next[slot];
	ix->next[slot] = KMP_PEER_NONE;
	memset(&ix->peers[slot], 0, sizeof(ix->peers[slot]));
}

/* ------------------------------------------------------------ nonce table */

lethe_status
kmp_nonce_table_init(kmp_nonce_table *t, size_t cap)
{
	size_t i;
	lethe_status rc;

	memset(t, 0, sizeof(*t));
	t->free_head = KMP_PEER_NONE;
	GUARD(kmp_peer_index_init(&t->index, cap));
	t->slots = calloc(cap, sizeof(*t->slots));
	t->free_next = calloc(cap, sizeof(*t->free_next));
	ENSURE_GOTO(rc, t->slots != NULL && t->free_next != NULL, LETHE_ERR_NOMEM);
	for (i = 0; i < cap; i++)
		t->free_next[i] = i + 1 < cap ? (uint32_t)(i + 1) : KMP_PEER_NONE;
	t->free_head = 0;
	t->cap = cap;
	return LETHE_OK;
cleanup:
	kmp_nonce_table_free(t);
	return rc;
}

void
kmp_nonce_table_free(kmp_nonce_table *t)
{
	kmp_peer_index_free(&t->index);
	free(t->slots);
	free(t->free_next);
	lethe_wipe(t, sizeof(*t));
	t->free_head = KMP_PEER_NONE;
}

/* Forget slot idx (in use) and put it on the free list. */
static void
remove_slot(kmp_nonce_table *t, uint32_t idx)
{
	kmp_peer_index_remove(&t->index, idx);
	memset(&t->slots[idx], 0, sizeof(t->slots[idx]));
	t->free_next[idx] = t->free_head;
	t->free_head = idx;
	t->count--;
}

/* Free every slot whose expiry has passed. */
void
kmp_nonce_expire(kmp_nonce_table *t, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->slots[i].in_use && t->slots[i].expires_ms <= now_ms)
			remove_slot(t, (uint32_t)i);
}

/* Take a free slot for peer and index it. */
static lethe_status
insert_slot(kmp_nonce_table *t, const kmp_peer *peer, int64_t now_ms, uint32_t *out)
{
	uint32_t idx;

	if (t->free_head == KMP_PEER_NONE)
		kmp_nonce_expire(t, now_ms);
	ENSURE(t->free_head != KMP_PEER_NONE, LETHE_ERR_TOO_BIG);
	idx = t->free_head;
	GUARD(kmp_peer_index_add(&t->index, peer, idx));
	t->free_head = t->free_next[idx];
	t->slots[idx].peer = *peer;
	t->slots[idx].in_use = true;
	t->count++;
	*out = idx;
	return LETHE_OK;
}

lethe_status
kmp_nonce_put(kmp_nonce_table *t, const kmp_peer *peer, uint32_t nonce,
    int64_t expires_ms, int64_t now_ms)
{
	kmp_nonce_entry *e;
	uint32_t idx;

	ENSURE(nonce != KMP_NONCE_CLIENT_INITIATED, LETHE_ERR_INVALID_ARG);
	ENSURE(expires_ms > now_ms, LETHE_ERR_INVALID_ARG);
	ENSURE(peer->len > 0 && peer->len <= KMP_PEER_MAX, LETHE_ERR_INVALID_ARG);
	idx = kmp_peer_index_find(&t->index, peer);
	if (idx == KMP_PEER_NONE)
		GUARD(insert_slot(t, peer, now_ms, &idx));
	e = &t->slots[idx];
	e->nonce = nonce;
	e->expires_ms = expires_ms;
	return LETHE_OK;
}

lethe_status
kmp_nonce_match(kmp_nonce_table *t, const kmp_peer *peer, uint32_t nonce,
    int64_t now_ms)
{
	uint32_t idx = kmp_peer_index_find(&t->index, peer);
	const kmp_nonce_entry *e;
	uint8_t want[4], got[4];
	size_t i;

	ENSURE(nonce != KMP_NONCE_CLIENT_INITIATED, LETHE_ERR_NOT_FOUND);
	ENSURE(idx != KMP_PEER_NONE, LETHE_ERR_NOT_FOUND);
	e = &t->slots[idx];
	ENSURE(e->expires_ms > now_ms, LETHE_ERR_NOT_FOUND);
	for (i = 0; i < 4; i++) {
		want[i] = (uint8_t)(e->nonce >> (24 - 8 * i));
		got[i] = (uint8_t)(nonce >> (24 - 8 * i));
	}
	ENSURE(CRYPTO_memcmp(want, got, sizeof(want)) == 0, LETHE_ERR_NOT_FOUND);
	return LETHE_OK;
}

lethe_status
kmp_nonce_take(kmp_nonce_table *t, const kmp_peer *peer, uint32_t nonce,
    int64_t now_ms)
{
	GUARD(kmp_nonce_match(t, peer, nonce, now_ms));
	kmp_nonce_drop(t, peer);
	return LETHE_OK;
}

void
kmp_nonce_drop(kmp_nonce_table *t, const kmp_peer *peer)
{
	uint32_t idx = kmp_peer_index_find(&t->index, peer);

	if (idx != KMP_PEER_NONE)
		remove_slot(t, idx);
}

size_t
kmp_nonce_count(const kmp_nonce_table *t)
{
	return t->count;
}

lethe_status
kmp_nonce_fresh(const kmp_io *io, uint32_t *out)
{
	uint8_t b[4];
	uint32_t v;
	int tries;

	/* Redraw 0 (the client-initiated marker); 8 zeros in a row is a broken source. */
	for (tries = 0; tries < 8; tries++) {
		GUARD(io->random(io->ctx, b, sizeof(b)));
		v = lethe_load_be32(b);
		if (v != KMP_NONCE_CLIENT_INITIATED) {
			*out = v;
			return LETHE_OK;
		}
	}
	return LETHE_ERR_CRYPTO;
}
