#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* stderr redirected to an anonymous temporary file while a test runs. */
typedef struct capture {
	FILE *file;
	int saved_fd;
} capture;

static void
capture_start(capture *cap)
{
	fflush(stderr);
	cap->file = tmpfile();
	assert_non_null(cap->file);
	cap->saved_fd = dup(STDERR_FILENO);
	assert_true(cap->saved_fd >= 0);
	assert_true(dup2(fileno(cap->file), STDERR_FILENO) >= 0);
}

/* Restore stderr and return what was written (caller frees). */
static char *
capture_end(capture *cap)
{
	long size;
	char *text;

	assert_true(dup2(cap->saved_fd, STDERR_FILENO) >= 0);
	close(cap->saved_fd);
	size = lseek(fileno(cap->file), 0, SEEK_END);
	assert_true(size >= 0);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(fileno(cap->file), text, (size_t)size, 0), size);
	fclose(cap->file);
	return text;
}

/* Skip the "2024-01-02T03:04:05.678Z test_log: " prefix of a line, checking it. */
static const char *
after_prefix(const char *line)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ test_log: ";

	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		if (pattern[i] == 'd')
			assert_true(line[i] >= '0' && line[i] <= '9');
		else
			assert_int_equal(line[i], pattern[i]);
	}
	return line + sizeof(pattern) - 1;
}

static int
setup(void **state)
{
	(void)state;
	log_init("test_log", LETHE_LOG_STDERR, LETHE_LOG_INFO);
	return 0;
}

static void
test_event_escaping(void **state)
{
	log_event ev;
	(void)state;

	log_event_begin(&ev, "as_req");
	log_event_str(&ev, "client", "alice@EXAMPLE.COM");
	log_event_str(&ev, "server", "bob\nevent=forged x=\"1\"");
	log_event_mem(&ev, "bin", "a\0b", 3);
	log_event_str(&ev, "empty", "");
	log_event_str(&ev, "null", NULL);
	log_event_str(&ev, "path", "C:\\dir");
	log_event_str(&ev, "utf8", "caf\xc3\xa9");
	log_event_str(&ev, "ctl", "\x1b[31m\x7f\r\t");
	log_event_str(&ev, "eq", "a=b");
	log_event_int(&ev, "n", -5);
	log_event_uint(&ev, "u", UINT64_MAX);
	log_event_str(&ev, "bad key=\n", "v");
	log_event_str(&ev, "", "v");
	assert_string_equal(log_event_text(&ev),
	    "event=as_req client=alice@EXAMPLE.COM server=\"bob\\x0aevent=forged x=\\\"1\\\"\" "
	    "bin=\"a\\x00b\" empty=\"\" null=\"\" path=\"C:\\\\dir\" utf8=\"caf\\xc3\\xa9\" "
	    "ctl=\"\\x1b[31m\\x7f\\x0d\\x09\" eq=\"a=b\" n=-5 u=18446744073709551615 "
	    "bad_key__=v _=v");
	assert_false(ev.truncated);
	assert_int_equal(ev.len, strlen(log_event_text(&ev)));
}

static void
test_event_emit_one_line(void **state)
{
	capture cap;
	log_event ev;
	char *out;
	(void)state;

	capture_start(&cap);
	log_event_begin(&ev, "tgs_req");
	log_event_str(&ev, "client", "eve\n2024-01-01T00:00:00.000Z test_log: event=fake");
	log_event_emit(&ev, LETHE_LOG_INFO);
	out = capture_end(&cap);
	assert_string_equal(after_prefix(out),
	    "event=tgs_req client=\"eve\\x0a2024-01-01T00:00:00.000Z test_log: event=fake\"\n");
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
}

static void
test_event_truncation(void **state)
{
	log_event ev;
	capture cap;
	char *big = malloc(5000), *out;
	(void)state;

	assert_non_null(big);
	memset(big, 'A', 4999);
	big[4999] = '\0';
	big[10] = ' ';          /* forces quoting */
	log_event_begin(&ev, "big");
	log_event_str(&ev, "value", big);
	log_event_str(&ev, "after", "x");
	assert_true(ev.truncated);
	assert_true(ev.len < LETHE_LOG_LINE_MAX);
	assert_int_equal(log_event_text(&ev)[ev.len - 1], '"');
	assert_null(strstr(log_event_text(&ev), "after="));
	capture_start(&cap);
	log_event_emit(&ev, LETHE_LOG_WARN);
	out = capture_end(&cap);
	assert_true(strlen(out) > 15);
	assert_string_equal(out + strlen(out) - 16, "\" truncated=yes\n");
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);

	/* a bare value is cut too, and the quoted one above never lost its quote */
	memset(big, 'B', 4999);
	log_event_begin(&ev, "big");
	log_event_str(&ev, "v", big);
	assert_true(ev.truncated);
	assert_true(ev.len < LETHE_LOG_LINE_MAX);
	free(big);
}

static void
test_message_escaping_and_errno(void **state)
{
	capture cap;
	char *out, *second;
	(void)state;

	capture_start(&cap);
	log_warnx("user %s failed", "a\nb\r\x1b[31m");
	errno = ENOENT;
	log_warn("open %s", "kdc.conf");
	assert_int_equal(errno, ENOENT);
	out = capture_end(&cap);
	second = strchr(out, '\n');
	assert_non_null(second);
	*second++ = '\0';
	assert_string_equal(after_prefix(out), "user a\\x0ab\\x0d\\x1b[31m failed");
	assert_string_equal(after_prefix(second), "open kdc.conf: No such file or directory\n");
	free(out);
}

static void
test_verbosity(void **state)
{
	capture cap;
	log_event ev;
	char *out;
	(void)state;

	capture_start(&cap);
	log_debug("hidden %d", 1);
	log_set_verbosity(LETHE_LOG_DEBUG);
	assert_true(log_enabled(LETHE_LOG_DEBUG));
	log_debug("shown %d", 2);
	log_set_verbosity(LETHE_LOG_WARN);
	assert_false(log_enabled(LETHE_LOG_INFO));
	log_info("hidden %d", 3);
	log_event_begin(&ev, "hidden");
	log_event_emit(&ev, LETHE_LOG_INFO);
	log_warnx("warning %d", 4);
	log_set_verbosity(LETHE_LOG_INFO);
	out = capture_end(&cap);
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "test_log: shown 2\n"));
	assert_non_null(strstr(out, "test_log: warning 4\n"));
	free(out);
}

#define LOG_THREADS 4
#define LOG_PER_THREAD 300

/* Threads with an odd id batch their lines (log_batch_begin). */
static bool batch_odd_threads;

static void *
log_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	char value[200];
	bool batch = batch_odd_threads && id % 2 == 1;

	if (batch)
		assert_true(log_batch_begin());

	memset(value, 'a' + id, sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	value[50] = '\n';
	for (int i = 0; i < LOG_PER_THREAD; i++) {
		log_event ev;
		log_event_begin(&ev, "t");
		log_event_int(&ev, "thread", id);
		log_event_int(&ev, "i", i);
		log_event_str(&ev, "v", value);
		log_event_emit(&ev, LETHE_LOG_INFO);
	}
	if (batch) {
		assert_true(log_batch_pending());
		log_batch_end();
		assert_false(log_batch_pending());
	}
	return NULL;
}

static void
test_concurrent_lines_intact(void **state)
{
	pthread_t th[LOG_THREADS];
	int seen[LOG_THREADS] = { 0 };
	capture cap;
	char *out, *line, *next;
	int lines = 0;
	(void)state;

	capture_start(&cap);
	for (int i = 0; i < LOG_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i), 0);
	for (int i = 0; i < LOG_THREADS; i++)
		pthread_join(th[i], NULL);
	out = capture_end(&cap);
	for (line = out; *line != '\0'; line = next) {
		int id, i, n = 0;
		const char *body;
		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		body = after_prefix(line);
		assert_int_equal(sscanf(body, "event=t thread=%d i=%d v=\"%n", &id, &i, &n), 2);
		assert_true(id >= 0 && id < LOG_THREADS);
		assert_int_equal(i, seen[id]);          /* each thread's lines in order */
		seen[id]++;
		assert_int_equal(strlen(body + n), 50 + 4 + 148 + 1);
		lines++;
	}
	assert_int_equal(lines, LOG_THREADS * LOG_PER_THREAD);
	free(out);
}

/* The same with half of the threads batching: lines whole, none lost. */
static void
test_concurrent_batched_lines_intact(void **state)
{
	batch_odd_threads = true;
	test_concurrent_lines_intact(state);
	batch_odd_threads = false;
}

/* What log_line wrote for a message before lines were batched. */
static size_t
old_format_line(char *line, size_t cap, const struct timespec *ts, const char *msg)
{
	struct tm tm;
	size_t n;

	assert_true(cap >= 128 + LETHE_LOG_LINE_MAX + 1);
	cap = 128 + LETHE_LOG_LINE_MAX + 1;
	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(line, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(line + n, cap - n, ".%03ldZ %s: %s\n", ts->tv_nsec / 1000000, "test_log", msg);
	n = strlen(line);
	if (line[n - 1] != '\n')
		line[n - 1] = '\n';
	return n;
}

static void
check_format(const struct timespec *ts, const char *msg)
{
	char want[4096], got[4096];
	size_t want_len = old_format_line(want, sizeof(want), ts, msg);
	size_t got_len = log_format_line(got, sizeof(got), ts, msg);

	want[want_len] = '\0';
	got[got_len] = '\0';
	assert_string_equal(got, want);
	assert_int_equal(got_len, want_len);
}

/* The cached per-minute date gives the bytes strftime gave for every line. */
static void
test_format_matches_strftime(void **state)
{
	static char long_msg[LETHE_LOG_LINE_MAX + 200];
	/* around second, minute, hour, day, month, year and leap-day edges */
	static const time_t secs[] = {
		0, 59, 60, 61, 3599, 3600, 86399, 86400, 951782399, 951782400,
		951868799, 951868800, 1704067199, 1704067200, 1704067201, 1704067259,
		1704067260, 1709164800, 1709251199, 1709251200, 1798761599, 1798761600,
		1798761600 - 61, 1798761600 + 3600 * 24 * 365, 253402300799,
	};
	static const long nsecs[] = { 0, 999999, 1000000, 123456789, 999999999 };
	struct timespec ts;
	(void)state;

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		for (size_t j = 0; j < sizeof(nsecs) / sizeof(nsecs[0]); j++) {
			ts.tv_sec = secs[i];
			ts.tv_nsec = nsecs[j];
			check_format(&ts, "event=kdc_req peer=127.0.0.1:1 result=OK usec=12");
		}
	}
	/* every second of two minutes, forwards and backwards */
	for (time_t t = 1798761600 - 60; t < 1798761600 + 60; t++) {
		ts.tv_sec = t;
		ts.tv_nsec = 500000000;
		check_format(&ts, "x");
	}
	for (time_t t = 1798761600 + 60; t > 1798761600 - 60; t--) {
		ts.tv_sec = t;
		check_format(&ts, "");
	}
	/* the current time, and a message too long for the line */
	clock_gettime(CLOCK_REALTIME, &ts);
	check_format(&ts, "now");
	memset(long_msg, 'm', sizeof(long_msg) - 1);
	check_format(&ts, long_msg);
	long_msg[LETHE_LOG_LINE_MAX - 1] = '\0';
	check_format(&ts, long_msg);
}

/* Count the lines of text; fail on a line that is not "... test_log: line <i> <pad>". */
static int
count_lines(char *text, int *next_i)
{
	int lines = 0;
	char *line, *next;

	for (line = text; *line != '\0'; line = next) {
		int i = -1;
		next = strchr(line, '\n');
		assert_non_null(next);          /* only whole lines */
		*next++ = '\0';
		assert_int_equal(sscanf(after_prefix(line), "line %d", &i), 1);
		assert_int_equal(i, *next_i);
		(*next_i)++;
		lines++;
	}
	return lines;
}

/*
 * A batching thread: lines wait until flushed; a full buffer is written
 * without waiting; the end and fatalx write what waits.
 */
static void
test_batch_flushes(void **state)
{
	char pad[300];
	capture cap;
	char *out;
	int next_i = 0, status;
	pid_t pid;
	(void)state;

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	capture_start(&cap);
	assert_false(log_batch_pending());
	assert_true(log_batch_begin());
	log_info("line %d %s", 0, pad);
	assert_true(log_batch_pending());
	log_batch_flush();
	assert_false(log_batch_pending());
	/* 1000 lines of about 340 bytes: more than the 64 KiB buffer holds */
	for (int i = 1; i <= 1000; i++)
		log_info("line %d %s", i, pad);
	out = capture_end(&cap);
	/* a full buffer was written, whole lines only, and not all of them */
	assert_true(count_lines(out, &next_i) > 100);
	assert_true(next_i < 1001);
	free(out);
	capture_start(&cap);
	log_batch_end();
	assert_false(log_batch_pending());
	out = capture_end(&cap);
	count_lines(out, &next_i);
	assert_int_equal(next_i, 1001);
	free(out);

	capture_start(&cap);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		log_batch_begin();
		log_info("waiting line");
		fatalx("boom %d", 8);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	out = capture_end(&cap);
	assert_non_null(strstr(out, "test_log: waiting line\n"));
	assert_non_null(strstr(out, "test_log: fatal: boom 8\n"));
	assert_true(strstr(out, "waiting line") < strstr(out, "boom 8"));
	free(out);
}

static void
test_fatal_exits(void **state)
{
	capture cap;
	char *out;
	int status;
	pid_t pid;
	(void)state;

	capture_start(&cap);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fatalx("boom %d", 7);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		errno = EACCES;
		fatal("bind");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	out = capture_end(&cap);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "test_log: fatal: boom 7\n"));
	assert_non_null(strstr(out, "test_log: fatal: bind: Permission denied\n"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_escaping),
		cmocka_unit_test(test_event_emit_one_line),
		cmocka_unit_test(test_event_truncation),
		cmocka_unit_test(test_message_escaping_and_errno),
		cmocka_unit_test(test_verbosity),
		cmocka_unit_test(test_concurrent_lines_intact),
		cmocka_unit_test(test_concurrent_batched_lines_intact),
		cmocka_unit_test(test_format_matches_strftime),
		cmocka_unit_test(test_batch_flushes),
		cmocka_unit_test(test_fatal_exits),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
