/*
 * Replay cache: a chained hash table over a fixed pool of entries.
 * Buckets and entries are allocated once; a full pool is first swept of
 * expired entries (at most once per clock second), then new keys are
 * refused rather than evicting live ones.
 */
#include "acceptor/internal.h"
#include "base/wipe.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define RC_NONE UINT32_MAX          /* end of a chain or of the free list */
#define RC_SALT_LEN 32u

typedef struct rc_entry {
	uint8_t key[ACC_DIGEST_LEN];
	int64_t expires;
	uint32_t next;
} rc_entry;

struct acc_rcache {
	pthread_mutex_t lock;
	uint8_t salt[RC_SALT_LEN];
	rc_entry *entries;
	size_t max;
	uint32_t *buckets;
	uint32_t mask;              /* bucket count - 1 (a power of two) */
	uint32_t free_head;
	size_t count;
	int64_t last_sweep;
	bool swept;
};

lethe_status
acc_rcache_new(size_t max, acc_rcache **out)
{
	acc_rcache *rc;
	size_t nb = 1, i;
	lethe_status rc_status;

	ENSURE(max > 0 && max <= ACC_MAX_RCACHE_ENTRIES, LETHE_ERR_INVALID_ARG);
	while (nb < max)
		nb <<= 1;
	rc = calloc(1, sizeof(*rc));
	ENSURE(rc != NULL, LETHE_ERR_NOMEM);
	rc->entries = calloc(max, sizeof(*rc->entries));
	rc->buckets = malloc(nb * sizeof(*rc->buckets));
	ENSURE_GOTO(rc_status, rc->entries != NULL && rc->buckets != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc_status, kc_random_bytes(rc->salt, sizeof(rc->salt)));
	ENSURE_GOTO(rc_status, pthread_mutex_init(&rc->lock, NULL) == 0, LETHE_ERR_NOMEM);
	for (i = 0; i < nb; i++)
		rc->buckets[i] = RC_NONE;
	for (i = 0; i < max; i++)
		rc->entries[i].next = i + 1 < max ? (uint32_t)(i + 1) : RC_NONE;
	rc->free_head = 0;
	rc->max = max;
	rc->mask = (uint32_t)(nb - 1);
	*out = rc;
	rc = NULL;
	return LETHE_OK;
cleanup:
	lethe_wipe(rc->salt, sizeof(rc->salt));
	free(rc->entries);
	free(rc->buckets);
	free(rc);
	return rc_status;
}

void
acc_rcache_free(acc_rcache *rc)
{
	if (rc == NULL)
		return;
	pthread_mutex_destroy(&rc->lock);
	lethe_wipe(rc->salt, sizeof(rc->salt));
	free(rc->entries);
	free(rc->buckets);
	free(rc);
}

/* Feed a length-prefixed byte string to the digest. */
static int
digest_bytes(EVP_MD_CTX *md, lbytes b)
{
	uint8_t len[4];

	lethe_store_be32(len, (uint32_t)b.len);
	return EVP_DigestUpdate(md, len, sizeof(len)) &&
	       (b.len == 0 || EVP_DigestUpdate(md, b.data, b.len));
}

static int
digest_name(EVP_MD_CTX *md, const krb_principal_name *name, lbytes realm)
{
	uint8_t n = (uint8_t)name->n_components;
	size_t i;

	if (!digest_bytes(md, realm) || !EVP_DigestUpdate(md, &n, 1))
		return 0;
	for (i = 0; i < name->n_components; i++) {
		if (!digest_bytes(md, name->components[i]))
			return 0;
	}
	return 1;
}

lethe_status
acc_rcache_key(const acc_rcache *rc, const EVP_MD *sha256, const krb_principal_name *client,
	       lbytes crealm, const krb_principal_name *server, lbytes srealm, int64_t ctime,
	       int32_t cusec, lbytes cipher, uint8_t out[ACC_DIGEST_LEN])
{
	EVP_MD_CTX *md;
	uint8_t when[12];
	unsigned int len = 0;
	uint64_t t = (uint64_t)ctime;
	uint32_t u = (uint32_t)cusec;
	size_t i;
	int ok;

	for (i = 0; i < 8; i++)
		when[i] = (uint8_t)(t >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		when[8 + i] = (uint8_t)(u >> (24 - 8 * i));
	md = EVP_MD_CTX_new();
	ENSURE(md != NULL, LETHE_ERR_NOMEM);
	ok = EVP_DigestInit_ex(md, sha256, NULL) &&
	     EVP_DigestUpdate(md, rc->salt, sizeof(rc->salt)) &&
	     digest_name(md, client, crealm) && digest_name(md, server, srealm) &&
	     EVP_DigestUpdate(md, when, sizeof(when)) && digest_bytes(md, cipher) &&
	     EVP_DigestFinal_ex(md, out, &len) && len == ACC_DIGEST_LEN;
	EVP_MD_CTX_free(md);
	return ok ? LETHE_OK : LETHE_ERR_CRYPTO;
}

static uint32_t
bucket_of(const acc_rcache *rc, const uint8_t key[ACC_DIGEST_LEN])
{
	uint32_t h = lethe_load_be32(key);

	return h & rc->mask;
}

/* Unlink the entry at *link and put it on the free list. */
static void
entry_drop(acc_rcache *rc, uint32_t *link)
{
	uint32_t idx = *link;

	*link = rc->entries[idx].next;
	rc->entries[idx].next = rc->free_head;
	rc->free_head = idx;
	rc->count--;
}

/* Drop the expired entries of one chain. */
static void
chain_reap(acc_rcache *rc, uint32_t *link, int64_t now)
{
	while (*link != RC_NONE) {
		if (rc->entries[*link].expires <= now)
			entry_drop(rc, link);
		else
			link = &rc->entries[*link].next;
	}
}

/* Reclaim every expired entry, at most once per clock second. */
static void
sweep(acc_rcache *rc, int64_t now)
{
	uint32_t b;

	if (rc->swept && rc->last_sweep == now)
		return;
	rc->swept = true;
	rc->last_sweep = now;
	for (b = 0; b <= rc->mask; b++)
		chain_reap(rc, &rc->buckets[b], now);
}

acc_rc_result
acc_rcache_insert(acc_rcache *rc, const uint8_t key[ACC_DIGEST_LEN], int64_t now,
		  int64_t expires)
{
	uint32_t b = bucket_of(rc, key), idx;
	acc_rc_result result = ACC_RC_FRESH;

	pthread_mutex_lock(&rc->lock);
	chain_reap(rc, &rc->buckets[b], now);
	for (idx = rc->buckets[b]; idx != RC_NONE; idx = rc->entries[idx].next) {
		if (memcmp(rc->entries[idx].key, key, ACC_DIGEST_LEN) == 0) {
			result = ACC_RC_REPLAY;
			goto done;
		}
	}
	if (rc->free_head == RC_NONE)
		sweep(rc, now);
	if (rc->free_head == RC_NONE) {
		result = ACC_RC_FULL;
		goto done;
	}
	idx = rc->free_head;
	rc->free_head = rc->entries[idx].next;
	memcpy(rc->entries[idx].key, key, ACC_DIGEST_LEN);
	rc->entries[idx].expires = expires;
	rc->entries[idx].next = rc->buckets[b];
	rc->buckets[b] = idx;
	rc->count++;
done:
	pthread_mutex_unlock(&rc->lock);
	return result;
}

size_t
acc_rcache_count(acc_rcache *rc)
{
	size_t n;

	pthread_mutex_lock(&rc->lock);
	n = rc->count;
	pthread_mutex_unlock(&rc->lock);
	return n;
}
