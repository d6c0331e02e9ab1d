/* Byte-string views and the per-request arena. */
#ifndef LETHE_BASE_BYTES_H
#define LETHE_BASE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* A borrowed view of bytes; owns nothing. */
typedef struct lbytes {
	const uint8_t *data;
	size_t len;
} lbytes;

#define LBYTES_LIT(s) ((lbytes){ (const uint8_t *)(s), sizeof(s) - 1 })

static inline lbytes
lbytes_make(const void *data, size_t len)
{
	return (lbytes){ (const uint8_t *)data, len };
}

/* Big-endian (network order) integers at p: the 2 or 4 bytes from p on. */
static inline uint16_t
lethe_load_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
lethe_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
lethe_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
lethe_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* True when a and b hold the same bytes. Not constant time: never for secrets. */
bool lbytes_eq(lbytes a, lbytes b);

/* Constant-time comparison of two equal-length secrets; false if lengths differ. */
bool lbytes_ct_eq(lbytes a, lbytes b);

/*
 * Arena: a bump allocator with a fixed budget. Decoders allocate the
 * variable parts of a message (sequences, arrays) from an arena; byte
 * strings stay views into the input. One lethe_arena_reset() frees all.
 * The arena owns its blocks; lethe_arena_free() wipes and releases them.
 */
typedef struct lethe_arena_block lethe_arena_block;
typedef struct lethe_arena {
	lethe_arena_block *head;
	size_t used_total;      /* bytes handed out since the last reset */
	size_t budget;          /* refuse allocations beyond this total */
	size_t min_block;       /* smallest block it allocates (0: 4096 bytes) */
} lethe_arena;

/* Initialise an empty arena that will hand out at most budget bytes. */
void lethe_arena_init(lethe_arena *a, size_t budget);

/*
 * The same, with blocks of at least min_block bytes (instead of 4096): for
 * many small long-lived arenas, such as one per principal of a snapshot.
 */
void lethe_arena_init_sized(lethe_arena *a, size_t budget, size_t min_block);

/* Zeroed, max_align_t-aligned memory from the arena, or NULL (budget/heap). */
void *lethe_arena_alloc(lethe_arena *a, size_t size);

/* Like lethe_arena_alloc for n elements of size each; checks n*size overflow. */
void *lethe_arena_calloc(lethe_arena *a, size_t n, size_t size);

/* Forget every allocation but keep the first block for reuse. Memory is wiped. */
void lethe_arena_reset(lethe_arena *a);

/* Wipe and release every block. The arena may be initialised again. */
void lethe_arena_free(lethe_arena *a);

#endif
