/*
 * Daemon logging in the OpenBSD style, to stderr or syslog.
 *
 * Every line is formatted in a buffer on the caller's stack and written
 * with one write(2) (or one syslog(3) call), so threads may log at the
 * same time without interleaving. A thread that calls log_batch_begin
 * (a request loop) keeps its stderr lines in a buffer instead and writes
 * many at once; see there. Control characters in a message are
 * escaped as \xHH, so no value can start a forged line.
 *
 * Structured events are one line of key=value fields:
 *
 *	log_event ev;
 *	log_event_begin(&ev, "as_req");
 *	log_event_str(&ev, "client", principal_name);
 *	log_event_int(&ev, "etype", 18);
 *	log_event_emit(&ev, LETHE_LOG_INFO);
 *
 * gives `event=as_req client="bob\x0aevil" etype=18`. Never pass key
 * bytes or passwords to any function here.
 */
#ifndef LETHE_BASE_LOG_H
#define LETHE_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum lethe_log_dest {
	LETHE_LOG_STDERR,       /* "<UTC time> <program>: <message>" lines */
	LETHE_LOG_SYSLOG,       /* syslog(3), facility LOG_DAEMON */
};

/* Levels, most severe first; a message is written if level <= verbosity. */
enum lethe_log_level {
	LETHE_LOG_WARN = 0,     /* always written */
	LETHE_LOG_INFO = 1,
	LETHE_LOG_DEBUG = 2,
};

#define LETHE_LOG_LINE_MAX 2048       /* longest message or event line, in bytes */

#if defined(__GNUC__)
#define LETHE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LETHE_PRINTF(f, a)
#endif

/*
 * Set the program name (copied, at most 63 bytes), the destination and
 * the verbosity. Call once at startup before threads exist; until then
 * messages go to stderr as "lethe" at LETHE_LOG_INFO.
 */
void log_init(const char *progname, enum lethe_log_dest dest, int verbosity);

/* Change the verbosity at run time (any thread). */
void log_set_verbosity(int verbosity);

/* True if a message at level would be written now. */
bool log_enabled(enum lethe_log_level level);

/* Warning followed by ": " and the text of the current errno. Keeps errno. */
void log_warn(const char *fmt, ...) LETHE_PRINTF(1, 2);
/* Warning without errno text. Keeps errno. */
void log_warnx(const char *fmt, ...) LETHE_PRINTF(1, 2);
void log_info(const char *fmt, ...) LETHE_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LETHE_PRINTF(1, 2);

/* Log with the errno text (fatal) or without (fatalx), then exit(1). */
_Noreturn void fatal(const char *fmt, ...) LETHE_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) LETHE_PRINTF(1, 2);

/*
 * One structured event line being built. Fields that do not fit in
 * LETHE_LOG_LINE_MAX are cut short and the line ends with "truncated=yes".
 */
typedef struct log_event {
	char buf[LETHE_LOG_LINE_MAX];
	size_t len;             /* bytes in buf, excluding the NUL */
	bool truncated;
} log_event;

/* Start a line with the field event=<name>. */
void log_event_begin(log_event *ev, const char *name);

/*
 * Append key=value. Keys should be [A-Za-z0-9_.-] (other bytes become
 * '_'). A value made only of printable ASCII other than space, '"', '='
 * and '\' is written bare; any other value (or an empty one) is quoted,
 * with '"' and '\' backslash-escaped and every byte outside printable
 * ASCII written as \xHH. NULL is written as "".
 */
void log_event_str(log_event *ev, const char *key, const char *value);

/* Like log_event_str for len untrusted bytes that may hold NUL. */
void log_event_mem(log_event *ev, const char *key, const void *value, size_t len);

void log_event_int(log_event *ev, const char *key, long long value);
void log_event_uint(log_event *ev, const char *key, unsigned long long value);

/* The line built so far, NUL-terminated (without "truncated=yes"). */
const char *log_event_text(const log_event *ev);

/* Write the line at level (if enabled). ev may be reused after log_event_begin. */
void log_event_emit(log_event *ev, enum lethe_log_level level);

#define LOG_INT_MAX 21      /* a decimal long long: sign, 19 digits, NUL */

/* Write value in decimal (as "%lld" / "%llu") into out with a NUL; its length. */
size_t log_fmt_int(char out[LOG_INT_MAX], long long value);
size_t log_fmt_uint(char out[LOG_INT_MAX], unsigned long long value);

/*
 * Per-thread batching of stderr lines, for a loop that logs per request.
 * After log_batch_begin (false: not batching, e.g. with syslog or no
 * memory) the calling thread's lines go to a 64 KiB buffer, written with
 * one write(2) when the next line would not fit, when the oldest line
 * waiting is 100 ms old (checked as lines come), on log_batch_flush (call
 * it before the loop blocks: log_batch_pending says whether to), on
 * log_batch_end, and on fatal/fatalx in this thread. Lines keep the
 * format and order they would have had unbatched.
 */
bool log_batch_begin(void);
void log_batch_flush(void);
bool log_batch_pending(void);
void log_batch_end(void);

/*
 * Format one stderr line, "<UTC time with ms>Z <program>: <msg>\n" (cut
 * short at LETHE_LOG_LINE_MAX + 128 bytes, still ending in \n), for the
 * time ts into out; its length, or 0 if it does not fit in cap. The date
 * is formatted once per minute per thread. For tests and log.c.
 */
size_t log_format_line(char *out, size_t cap, const struct timespec *ts, const char *msg);

#endif
