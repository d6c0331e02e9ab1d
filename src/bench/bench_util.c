/* lethe-bench: option parsing and the report of the local modes. */
#include "bench/bench_modes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <sys/resource.h>

bool
bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

uint64_t
bench_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

double
bench_series_rate(const bench_series *s)
{
	return s->elapsed_ns > 0 ? (double)s->ok * 1e9 / (double)s->elapsed_ns : 0;
}

double
bench_series_us_each(const bench_series *s)
{
	return s->ok > 0 ? (double)s->elapsed_ns / 1e3 / (double)s->ok : 0;
}

void
bench_series_print(const bench_series *s, bool json, const char *extra_json)
{
	double cpu_each = s->ok > 0 ? (double)s->cpu_us / (double)s->ok : 0;

	if (json) {
		printf("{\"mode\":\"%s\",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
		       ",\"seconds\":%.6f,\"per_s\":%.1f,\"us_each\":%.3f,\"p50_us\":%" PRIu64
		       ",\"p99_us\":%" PRIu64 ",\"max_us\":%" PRIu64 ",\"cpu_us_each\":%.3f%s}\n",
		       s->mode, s->ok, s->failed, (double)s->elapsed_ns / 1e9,
		       bench_series_rate(s), bench_series_us_each(s),
		       hist_percentile(&s->hist, 50), hist_percentile(&s->hist, 99),
		       s->hist.max_us, cpu_each, extra_json != NULL ? extra_json : "");
	} else {
		printf("%-14s %" PRIu64 " ok, %" PRIu64 " failed in %.3f s = %.1f/s, "
		       "%.3f µs each", s->mode, s->ok, s->failed,
		       (double)s->elapsed_ns / 1e9, bench_series_rate(s),
		       bench_series_us_each(s));
		if (s->hist.count > 0)
			printf(", p50 %" PRIu64 " µs, p99 %" PRIu64 " µs, max %" PRIu64 " µs",
			       hist_percentile(&s->hist, 50), hist_percentile(&s->hist, 99),
			       s->hist.max_us);
		printf(", cpu %.3f µs each\n", cpu_each);
	}
	fflush(stdout);
}

int64_t
bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

lethe_status
bench_read_password(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ENSURE(f != NULL, LETHE_ERR_IO);
	if (fgets(buf, (int)cap, f) == NULL) {
		fclose(f);
		return LETHE_ERR_FORMAT;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	*len = n;
	return LETHE_OK;
}
