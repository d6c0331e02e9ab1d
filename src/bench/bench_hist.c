/* Log-linear latency histogram. */
#include "bench/bench_hist.h"

#include <stddef.h>

/* Bucket index of a value in µs. */
static size_t
bucket_of(uint64_t us)
{
	unsigned exp = 63u - (unsigned)__builtin_clzll(us | 1u);

	if (us < HIST_LINEAR)
		return (size_t)us;
	if (exp > HIST_MAX_EXP)
		return HIST_BUCKETS - 1u;
	uint64_t sub = (us >> (exp - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1u);
	return HIST_LINEAR + (size_t)(exp - 7u) * (1u << HIST_SUB_BITS) + (size_t)sub;
}

/* Largest value that falls in bucket b. */
static uint64_t
bucket_upper(size_t b)
{
	if (b < HIST_LINEAR)
		return b;
	size_t k = b - HIST_LINEAR;
	unsigned exp = (unsigned)(k >> HIST_SUB_BITS) + 7u;
	uint64_t sub = k & ((1u << HIST_SUB_BITS) - 1u);
	uint64_t step = (uint64_t)1 << (exp - HIST_SUB_BITS);
	return ((uint64_t)1 << exp) + sub * step + step - 1u;
}

void
hist_add(bench_hist *h, uint64_t us)
{
	h->buckets[bucket_of(us)]++;
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

void
hist_merge(bench_hist *dst, const bench_hist *src)
{
	for (size_t i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
}

uint64_t
hist_percentile(const bench_hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = (uint64_t)((double)h->count * pct / 100.0 + 0.999999);
	if (want == 0)
		want = 1;
	for (size_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want) {
			uint64_t up = bucket_upper(i);
			if (i == HIST_BUCKETS - 1u)
				return h->max_us;      /* the top bucket holds everything above */
			return up < h->max_us ? up : h->max_us;
		}
	}
	return h->max_us;
}
