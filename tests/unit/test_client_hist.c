/* lethe-bench's latency histogram: exact below 128 µs, within 1/64 above. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bench/bench_hist.h"

static bench_hist *
new_hist(void)
{
	bench_hist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static void
test_empty_and_exact(void **state)
{
	bench_hist *h = new_hist();

	(void)state;
	assert_int_equal(hist_percentile(h, 50), 0);
	for (uint64_t v = 1; v <= 100; v++)
		hist_add(h, v);
	assert_int_equal(h->count, 100);
	assert_int_equal(h->sum_us, 5050);
	assert_int_equal(h->max_us, 100);
	assert_int_equal(hist_percentile(h, 50), 50);
	assert_int_equal(hist_percentile(h, 90), 90);
	assert_int_equal(hist_percentile(h, 99), 99);
	assert_int_equal(hist_percentile(h, 100), 100);
	assert_int_equal(hist_percentile(h, 0.5), 1);
	free(h);
}

static void
test_log_buckets(void **state)
{
	bench_hist *h = new_hist();
	uint64_t got;

	(void)state;
	/* 99 fast samples and one slow one: p99 is fast, max is exact. */
	for (int i = 0; i < 99; i++)
		hist_add(h, 1000);
	hist_add(h, 5000000);
	got = hist_percentile(h, 99);
	assert_true(got >= 1000 && got <= 1000 + 1000 / 64);
	assert_int_equal(hist_percentile(h, 100), 5000000);
	assert_int_equal(h->max_us, 5000000);
	/* Every value lands in a bucket whose bound is within 1/64 above it. */
	for (uint64_t v = 128; v < (UINT64_C(1) << 30); v = v * 3 / 2 + 1) {
		bench_hist *one = new_hist();
		hist_add(one, v);
		hist_add(one, UINT64_C(1) << 40);   /* beyond the top bucket: clamped */
		got = hist_percentile(one, 50);
		assert_true(got >= v);
		assert_true(got - v <= v / 64);
		assert_int_equal(hist_percentile(one, 100), UINT64_C(1) << 40);
		free(one);
	}
	free(h);
}

static void
test_merge(void **state)
{
	bench_hist *a = new_hist(), *b = new_hist();

	(void)state;
	hist_add(a, 10);
	hist_add(b, 20);
	hist_add(b, 30);
	hist_merge(a, b);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->sum_us, 60);
	assert_int_equal(a->max_us, 30);
	assert_int_equal(hist_percentile(a, 50), 20);
	assert_int_equal(hist_percentile(a, 34), 20);
	assert_int_equal(hist_percentile(a, 33), 10);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_exact),
		cmocka_unit_test(test_log_buckets),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
