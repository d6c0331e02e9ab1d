/*
 * Random bytes for keys and confounders, drawn from RAND_priv_bytes in
 * blocks. OpenSSL 3.0 makes a getpid() system call on every generate call
 * (its fork check), which cost the KDC about a tenth of its CPU with three
 * calls per AS request; a per-thread pool makes that one call per block.
 * Bytes are wiped from the pool as they are handed out, so the pool never
 * holds a key or confounder already in use. A fork empties every pool
 * (pthread_atfork), so parent and child never share random bytes.
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define POOL_SIZE 512u

typedef struct random_pool {
	uint8_t bytes[POOL_SIZE];
	size_t next;            /* first unused byte; POOL_SIZE when empty */
	unsigned fork_generation;
} random_pool;

static _Thread_local random_pool pool = { .next = POOL_SIZE };
static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
after_fork_in_child(void)
{
	atomic_fetch_add(&fork_generation, 1);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, after_fork_in_child);
}

static lethe_status
refill(void)
{
	if (RAND_priv_bytes(pool.bytes, POOL_SIZE) != 1)
		return LETHE_ERR_CRYPTO;
	pool.next = 0;
	pool.fork_generation = atomic_load(&fork_generation);
	return LETHE_OK;
}

lethe_status
kc_random_bytes(uint8_t *out, size_t len)
{
	(void)pthread_once(&atfork_once, register_atfork);
	if (len > POOL_SIZE / 4)
		return RAND_priv_bytes(out, (int)len) == 1 ? LETHE_OK : LETHE_ERR_CRYPTO;
	if (pool.fork_generation != atomic_load(&fork_generation)) {
		lethe_wipe(pool.bytes, sizeof(pool.bytes));
		pool.next = POOL_SIZE;
	}
	if (POOL_SIZE - pool.next < len)
		GUARD(refill());
	memcpy(out, pool.bytes + pool.next, len);
	lethe_wipe(pool.bytes + pool.next, len);
	pool.next += len;
	return LETHE_OK;
}
