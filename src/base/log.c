#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_NAME_MAX 64
#define LOG_PREFIX_MAX 128      /* timestamp and program name on stderr */
#define LOG_FATAL_LEVEL (-1)    /* always written */

static const char truncated_field[] = " truncated=yes";
/* Event fields stop this many bytes early so truncated_field always fits. */
#define EVENT_LIMIT (LETHE_LOG_LINE_MAX - 1 - sizeof(truncated_field))

#define LOG_LINE_CAP (LOG_PREFIX_MAX + LETHE_LOG_LINE_MAX)   /* longest line, with its \n */
#define LOG_BATCH_SIZE (64 * 1024)      /* a batching thread's buffer */
#define LOG_BATCH_MAX_AGE_NS (100 * 1000000LL)  /* oldest waiting line, at most */

static char log_name[LOG_NAME_MAX] = "lethe";
static size_t log_name_len = 5;
static enum lethe_log_dest log_dest = LETHE_LOG_STDERR;
static atomic_int log_verbosity = LETHE_LOG_INFO;
/* Held for every write to stderr, so a batch and a line never interleave. */
static pthread_mutex_t log_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* strftime's "%Y-%m-%dT%H:%M:" of the minute this thread logged in last. */
typedef struct log_clock {
	time_t minute;          /* seconds at the start of the cached minute */
	bool valid;
	size_t len;             /* of the text, without the seconds */
	char text[48];          /* the text, then two digits of seconds */
} log_clock;

/* A thread's lines waiting to be written together (log_batch_begin). */
typedef struct log_batch {
	char buf[LOG_BATCH_SIZE];
	size_t len;
	int64_t first_ns;       /* CLOCK_REALTIME of the oldest waiting line */
} log_batch;

static _Thread_local log_clock thread_clock;
static _Thread_local log_batch *thread_batch;

void
log_init(const char *progname, enum lethe_log_dest dest, int verbosity)
{
	if (progname != NULL) {
		snprintf(log_name, sizeof(log_name), "%s", progname);
		log_name_len = strlen(log_name);
	}
	log_dest = dest;
	atomic_store(&log_verbosity, verbosity);
	if (dest == LETHE_LOG_SYSLOG)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_verbosity(int verbosity)
{
	atomic_store(&log_verbosity, verbosity);
}

bool
log_enabled(enum lethe_log_level level)
{
	return (int)level <= atomic_load_explicit(&log_verbosity, memory_order_relaxed);
}

static void
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;         /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

static int
syslog_priority(int level)
{
	switch (level) {
	case LOG_FATAL_LEVEL:
		return LOG_CRIT;
	case LETHE_LOG_WARN:
		return LOG_WARNING;
	case LETHE_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/* Write len bytes to stderr in one piece with respect to other log writes. */
static void
write_stderr(const char *buf, size_t len)
{
	pthread_mutex_lock(&log_write_lock);
	write_all(STDERR_FILENO, buf, len);
	pthread_mutex_unlock(&log_write_lock);
}

static char *
put_2digits(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* Set thread_clock to the minute of sec (strftime once a minute, not per line). */
static void
clock_set_minute(time_t sec)
{
	log_clock *c = &thread_clock;
	struct tm tm;
	time_t minute = sec - ((sec % 60) + 60) % 60;

	gmtime_r(&minute, &tm);
	c->len = strftime(c->text, sizeof(c->text) - 2, "%Y-%m-%dT%H:%M:", &tm);
	c->minute = minute;
	c->valid = true;
}

size_t
log_format_line(char *out, size_t cap, const struct timespec *ts, const char *msg)
{
	char line[LOG_LINE_CAP];
	log_clock *c = &thread_clock;
	size_t n, msg_len = strlen(msg), ms = (size_t)(ts->tv_nsec / 1000000);
	int sec_of_min;

	if (!c->valid || ts->tv_sec < c->minute || ts->tv_sec - c->minute >= 60)
		clock_set_minute(ts->tv_sec);
	sec_of_min = (int)(ts->tv_sec - c->minute);
	memcpy(line, c->text, c->len);
	n = (size_t)(put_2digits(line + c->len, sec_of_min) - line);
	line[n++] = '.';
	line[n++] = (char)('0' + ms / 100);
	line[n++] = (char)('0' + ms / 10 % 10);
	line[n++] = (char)('0' + ms % 10);
	line[n++] = 'Z';
	line[n++] = ' ';
	memcpy(line + n, log_name, log_name_len);
	n += log_name_len;
	line[n++] = ':';
	line[n++] = ' ';
	/* as snprintf into LOG_LINE_CAP + 1 bytes did: cut short, the last byte is \n */
	if (msg_len > LOG_LINE_CAP - 1 - n)
		msg_len = LOG_LINE_CAP - 1 - n;
	memcpy(line + n, msg, msg_len);
	n += msg_len;
	line[n++] = '\n';
	if (n > cap)
		return 0;
	memcpy(out, line, n);
	return n;
}

/* Write the calling thread's waiting lines, if any. */
void
log_batch_flush(void)
{
	log_batch *b = thread_batch;

	if (b == NULL || b->len == 0)
		return;
	write_stderr(b->buf, b->len);
	b->len = 0;
}

bool
log_batch_pending(void)
{
	return thread_batch != NULL && thread_batch->len > 0;
}

bool
log_batch_begin(void)
{
	if (thread_batch != NULL)
		return true;
	if (log_dest != LETHE_LOG_STDERR)
		return false;
	thread_batch = malloc(sizeof(*thread_batch));
	if (thread_batch == NULL)
		return false;
	thread_batch->len = 0;
	thread_batch->first_ns = 0;
	return true;
}

void
log_batch_end(void)
{
	log_batch_flush();
	free(thread_batch);
	thread_batch = NULL;
}

/* Write one finished, already escaped message as one line. */
static void
log_line(int level, const char *msg)
{
	struct timespec ts;
	int saved_errno = errno;
	log_batch *b = thread_batch;
	int64_t now_ns;

	if (log_dest == LETHE_LOG_SYSLOG) {
		syslog(syslog_priority(level), "%s", msg);
		errno = saved_errno;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (b == NULL) {
		char line[LOG_LINE_CAP];
		write_stderr(line, log_format_line(line, sizeof(line), &ts, msg));
		errno = saved_errno;
		return;
	}
	if (b->len > 0 && (sizeof(b->buf) - b->len < LOG_LINE_CAP ||
	    now_ns - b->first_ns >= LOG_BATCH_MAX_AGE_NS || now_ns < b->first_ns))
		log_batch_flush();
	if (b->len == 0)
		b->first_ns = now_ns;
	b->len += log_format_line(b->buf + b->len, sizeof(b->buf) - b->len, &ts, msg);
	errno = saved_errno;
}

/* Copy in to out, writing each control character as \xHH. */
static void
escape_controls(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		if (c >= 0x20 && c != 0x7f) {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
}

static void vlog(int level, const char *prefix, int errnum, const char *fmt, va_list ap)
    LETHE_PRINTF(4, 0);

static void
vlog(int level, const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char raw[LETHE_LOG_LINE_MAX], msg[LETHE_LOG_LINE_MAX];
	size_t n;
	int saved_errno = errno;

	if (level != LOG_FATAL_LEVEL && !log_enabled((enum lethe_log_level)level))
		return;
	n = (size_t)snprintf(raw, sizeof(raw), "%s", prefix);
	vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	if (errnum != 0) {
		char err[128];
		n = strlen(raw);
		if (strerror_r(errnum, err, sizeof(err)) != 0)
			snprintf(err, sizeof(err), "error %d", errnum);
		snprintf(raw + n, sizeof(raw) - n, ": %s", err);
	}
	escape_controls(raw, msg, sizeof(msg));
	log_line(level, msg);
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int errnum = errno;

	va_start(ap, fmt);
	vlog(LETHE_LOG_WARN, "", errnum, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LETHE_LOG_WARN, "", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LETHE_LOG_INFO, "", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LETHE_LOG_DEBUG, "", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int errnum = errno;

	va_start(ap, fmt);
	vlog(LOG_FATAL_LEVEL, "fatal: ", errnum, fmt, ap);
	va_end(ap);
	log_batch_flush();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_FATAL_LEVEL, "fatal: ", 0, fmt, ap);
	va_end(ap);
	log_batch_flush();
	exit(1);
}

/* ------------------------------------------------------------ events */

/* Append n bytes if they fit below EVENT_LIMIT. */
static bool
event_put(log_event *ev, const char *s, size_t n)
{
	if (n > EVENT_LIMIT - ev->len)
		return false;
	memcpy(ev->buf + ev->len, s, n);
	ev->len += n;
	ev->buf[ev->len] = '\0';
	return true;
}

static bool
is_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool
is_bare_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/* Append " key=" (no space first); false, and truncated, if it does not fit. */
static bool
event_key(log_event *ev, const char *key)
{
	char tmp[1 + 64 + 1];
	size_t n = 0;

	if (ev->len > 0)
		tmp[n++] = ' ';
	if (key == NULL || *key == '\0')
		tmp[n++] = '_';
	for (; key != NULL && *key != '\0' && n < sizeof(tmp) - 1; key++)
		tmp[n++] = is_key_char((unsigned char)*key) ? *key : '_';
	tmp[n++] = '=';
	/* leave room for at least an empty quoted value */
	if (n + 2 > EVENT_LIMIT - ev->len || !event_put(ev, tmp, n)) {
		ev->truncated = true;
		return false;
	}
	return true;
}

/* Written as itself inside quotes. */
static bool
is_plain_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Append n bytes of s, known to fit. */
static void
event_copy(log_event *ev, const void *s, size_t n)
{
	memcpy(ev->buf + ev->len, s, n);
	ev->len += n;
	ev->buf[ev->len] = '\0';
}

/* Append value, quoted and escaped as documented in log.h. */
static void
event_value(log_event *ev, const unsigned char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	bool quote = len == 0;
	size_t i, run, room, keep;

	for (i = 0; i < len && !quote; i++)
		quote = !is_bare_char(v[i]);
	if (!quote) {           /* bare: copied at once, cut short if need be */
		room = EVENT_LIMIT - ev->len;
		event_copy(ev, v, len <= room ? len : room);
		ev->truncated |= len > room;
		return;
	}
	keep = 1;               /* one byte back for the closing quote */
	if (quote)
		(void)event_put(ev, "\"", 1);  /* event_key kept room */
	for (i = 0; i < len;) {
		char unit[4];
		size_t n = 0;
		unsigned char c = v[i];

		/* a run of bytes written as they are, copied at once */
		for (run = i; run < len && is_plain_char(v[run]); run++)
			continue;
		if (run > i) {
			room = EVENT_LIMIT - keep - ev->len;
			if (run - i > room) {
				event_copy(ev, v + i, room);
				ev->truncated = true;
				break;
			}
			event_copy(ev, v + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			unit[n++] = '\\';
			unit[n++] = (char)c;
		} else {
			unit[n++] = '\\';
			unit[n++] = 'x';
			unit[n++] = hex[c >> 4];
			unit[n++] = hex[c & 0xf];
		}
		if (ev->len + n + keep > EVENT_LIMIT) {
			ev->truncated = true;
			break;
		}
		event_copy(ev, unit, n);
		i++;
	}
	if (quote) {
		ev->buf[ev->len++] = '"';       /* space was kept back above */
		ev->buf[ev->len] = '\0';
	}
}

size_t
log_fmt_int(char out[LOG_INT_MAX], long long value)
{
	unsigned long long u = value < 0 ? 0ULL - (unsigned long long)value :
	    (unsigned long long)value;
	size_t n = 0;

	if (value < 0)
		out[n++] = '-';
	return n + log_fmt_uint(out + n, u);
}

size_t
log_fmt_uint(char out[LOG_INT_MAX], unsigned long long value)
{
	char tmp[LOG_INT_MAX];
	size_t n = 0, len;

	do {
		tmp[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	for (len = 0; len < n; len++)
		out[len] = tmp[n - 1 - len];
	out[len] = '\0';
	return len;
}

void
log_event_begin(log_event *ev, const char *name)
{
	ev->len = 0;
	ev->buf[0] = '\0';
	ev->truncated = false;
	log_event_str(ev, "event", name);
}

void
log_event_mem(log_event *ev, const char *key, const void *value, size_t len)
{
	if (value == NULL)
		len = 0;
	if (event_key(ev, key))
		event_value(ev, value, len);
}

void
log_event_str(log_event *ev, const char *key, const char *value)
{
	log_event_mem(ev, key, value, value == NULL ? 0 : strlen(value));
}

void
log_event_int(log_event *ev, const char *key, long long value)
{
	char tmp[LOG_INT_MAX];

	log_event_mem(ev, key, tmp, log_fmt_int(tmp, value));
}

void
log_event_uint(log_event *ev, const char *key, unsigned long long value)
{
	char tmp[LOG_INT_MAX];

	log_event_mem(ev, key, tmp, log_fmt_uint(tmp, value));
}

const char *
log_event_text(const log_event *ev)
{
	return ev->buf;
}

void
log_event_emit(log_event *ev, enum lethe_log_level level)
{
	if (!log_enabled(level))
		return;
	if (ev->truncated) {
		/* EVENT_LIMIT kept room for it */
		memcpy(ev->buf + ev->len, truncated_field, sizeof(truncated_field));
		ev->len += sizeof(truncated_field) - 1;
	}
	log_line(level, ev->buf);
}
