/*
 * Latency histogram in microseconds: exact below 128 µs, then 64 buckets
 * per power of two (relative error under 1.6 %), up to 2^36 µs. Merging
 * and percentile lookup are exact over the bucket boundaries.
 */
#ifndef LETHE_BENCH_HIST_H
#define LETHE_BENCH_HIST_H

#include <stdint.h>

#define HIST_LINEAR   128u
#define HIST_SUB_BITS 6u
#define HIST_MAX_EXP  36u
#define HIST_BUCKETS  (HIST_LINEAR + (HIST_MAX_EXP - 7u + 1u) * (1u << HIST_SUB_BITS))

typedef struct bench_hist {
	uint64_t count;
	uint64_t max_us;
	uint64_t sum_us;
	uint64_t buckets[HIST_BUCKETS];
} bench_hist;

/* Record one latency. */
void hist_add(bench_hist *h, uint64_t us);

/* Add every sample of src into dst. */
void hist_merge(bench_hist *dst, const bench_hist *src);

/*
 * A value v such that at least pct percent of the samples are <= v: the
 * upper bound of the bucket where that percentile falls, capped at max_us
 * (max_us itself for the top bucket); 0 when empty.
 */
uint64_t hist_percentile(const bench_hist *h, double pct);

#endif
