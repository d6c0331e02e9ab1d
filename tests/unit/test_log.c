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

static void *
log_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	char value[200];

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
		cmocka_unit_test(test_fatal_exits),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
