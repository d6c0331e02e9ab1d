/* The server's table of outstanding Wake Up / Rekey nonces (kmp_role.h). */
#include "kmp/kmp_role.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

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

lethe_status
kmp_nonce_table_init(kmp_nonce_table *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	ENSURE(cap > 0 && cap <= KMP_NONCE_TABLE_MAX, LETHE_ERR_INVALID_ARG);
	t->slots = calloc(cap, sizeof(*t->slots));
	ENSURE(t->slots != NULL, LETHE_ERR_NOMEM);
	t->cap = cap;
	return LETHE_OK;
}

void
kmp_nonce_table_free(kmp_nonce_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Free every slot whose expiry has passed. */
void
kmp_nonce_expire(kmp_nonce_table *t, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < t->cap; i++) {
		if (t->slots[i].in_use && t->slots[i].expires_ms <= now_ms) {
			memset(&t->slots[i], 0, sizeof(t->slots[i]));
			t->count--;
		}
	}
}

static kmp_nonce_entry *
find_peer(kmp_nonce_table *t, const kmp_peer *peer)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->slots[i].in_use && kmp_peer_eq(&t->slots[i].peer, peer))
			return &t->slots[i];
	return NULL;
}

lethe_status
kmp_nonce_put(kmp_nonce_table *t, const kmp_peer *peer, uint32_t nonce,
    int64_t expires_ms, int64_t now_ms)
{
	kmp_nonce_entry *e;
	size_t i;

	ENSURE(nonce != KMP_NONCE_CLIENT_INITIATED, LETHE_ERR_INVALID_ARG);
	ENSURE(expires_ms > now_ms, LETHE_ERR_INVALID_ARG);
	e = find_peer(t, peer);
	if (e == NULL) {
		kmp_nonce_expire(t, now_ms);
		for (i = 0; i < t->cap && e == NULL; i++)
			if (!t->slots[i].in_use)
				e = &t->slots[i];
		ENSURE(e != NULL, LETHE_ERR_TOO_BIG);
		t->count++;
	}
	memset(e, 0, sizeof(*e));
	e->peer = *peer;
	e->nonce = nonce;
	e->expires_ms = expires_ms;
	e->in_use = true;
	return LETHE_OK;
}

lethe_status
kmp_nonce_match(kmp_nonce_table *t, const kmp_peer *peer, uint32_t nonce,
    int64_t now_ms)
{
	kmp_nonce_entry *e = find_peer(t, peer);
	uint8_t want[4], got[4];
	size_t i;

	ENSURE(nonce != KMP_NONCE_CLIENT_INITIATED, LETHE_ERR_NOT_FOUND);
	ENSURE(e != NULL && e->expires_ms > now_ms, LETHE_ERR_NOT_FOUND);
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
	kmp_nonce_entry *e = find_peer(t, peer);

	if (e != NULL) {
		memset(e, 0, sizeof(*e));
		t->count--;
	}
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
		v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		if (v != KMP_NONCE_CLIENT_INITIATED) {
			*out = v;
			return LETHE_OK;
		}
	}
	return LETHE_ERR_CRYPTO;
}
