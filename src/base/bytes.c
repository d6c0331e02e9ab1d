#include "base/bytes.h"
#include "base/wipe.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define ARENA_MIN_BLOCK 4096u

struct lethe_arena_block {
	lethe_arena_block *next;
	size_t size;            /* usable bytes in data[] */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

bool
lbytes_eq(lbytes a, lbytes b)
{
	if (a.len != b.len)
		return false;
	return a.len == 0 || memcmp(a.data, b.data, a.len) == 0;
}

bool
lbytes_ct_eq(lbytes a, lbytes b)
{
	if (a.len != b.len)
		return false;
	return a.len == 0 || CRYPTO_memcmp(a.data, b.data, a.len) == 0;
}

void
lethe_arena_init(lethe_arena *a, size_t budget)
{
	lethe_arena_init_sized(a, budget, ARENA_MIN_BLOCK);
}

void
lethe_arena_init_sized(lethe_arena *a, size_t budget, size_t min_block)
{
	a->head = NULL;
	a->used_total = 0;
	a->budget = budget;
	a->min_block = min_block;
}

static size_t
align_up(size_t n)
{
	size_t al = alignof(max_align_t);
	return (n + al - 1) & ~(al - 1);
}

void *
lethe_arena_alloc(lethe_arena *a, size_t size)
{
	lethe_arena_block *blk = a->head;
	size_t need;

	if (size == 0)
		size = 1;
	if (size > a->budget || a->used_total > a->budget - size)
		return NULL;
	need = align_up(size);
	if (blk == NULL || blk->size - blk->used < need) {
		size_t min = a->min_block != 0 ? a->min_block : ARENA_MIN_BLOCK;
		size_t bsize = need > min ? need : min;
		lethe_arena_block *nb = calloc(1, sizeof(*nb) + bsize);
		if (nb == NULL)
			return NULL;
		nb->size = bsize;
		nb->next = blk;
		a->head = nb;
		blk = nb;
	}
	void *p = blk->data + blk->used;
	blk->used += need;
	a->used_total += size;
	return p;
}

void *
lethe_arena_calloc(lethe_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return lethe_arena_alloc(a, n * size);
}

void
lethe_arena_reset(lethe_arena *a)
{
	lethe_arena_block *blk = a->head, *keep = NULL;

	while (blk != NULL) {
		lethe_arena_block *next = blk->next;
		lethe_wipe(blk->data, blk->used);
		blk->used = 0;
		if (next == NULL)
			keep = blk;       /* the oldest block is reused */
		else
			free(blk);
		blk = next;
	}
	a->head = keep;
	a->used_total = 0;
}

void
lethe_arena_free(lethe_arena *a)
{
	lethe_arena_reset(a);
	free(a->head);
	a->head = NULL;
}
