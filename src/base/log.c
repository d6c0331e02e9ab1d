#include "base/log.h"

#include <errno.h>
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

static char log_name[LOG_NAME_MAX] = "lethe";
static enum lethe_log_dest log_dest = LETHE_LOG_STDERR;
static atomic_int log_verbosity = LETHE_LOG_INFO;

void
log_init(const char *progname, enum lethe_log_dest dest, int verbosity)
{
	if (progname != NULL)
		snprintf(log_name, sizeof(log_name), "%s", progname);
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

/* Write one finished, already escaped message as one line. */
static void
log_line(int level, const char *msg)
{
	char line[LOG_PREFIX_MAX + LETHE_LOG_LINE_MAX + 1];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int saved_errno = errno;

	if (log_dest == LETHE_LOG_SYSLOG) {
		syslog(syslog_priority(level), "%s", msg);
		errno = saved_errno;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: %s\n",
	    ts.tv_nsec / 1000000, log_name, msg);
	n = strlen(line);
	if (line[n - 1] != '\n')        /* cut short: keep the line a line */
		line[n - 1] = '\n';
	write_all(STDERR_FILENO, line, n);
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
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_FATAL_LEVEL, "fatal: ", 0, fmt, ap);
	va_end(ap);
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

/* Append value, quoted and escaped as documented in log.h. */
static void
event_value(log_event *ev, const unsigned char *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	bool quote = len == 0;
	size_t i;

	for (i = 0; i < len && !quote; i++)
		quote = !is_bare_char(v[i]);
	if (quote)
		(void)event_put(ev, "\"", 1);  /* event_key kept room */
	for (i = 0; i < len; i++) {
		char unit[4];
		size_t n = 0;
		unsigned char c = v[i];
		if (c == '"' || c == '\\') {
			unit[n++] = '\\';
			unit[n++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			unit[n++] = '\\';
			unit[n++] = 'x';
			unit[n++] = hex[c >> 4];
			unit[n++] = hex[c & 0xf];
		} else {
			unit[n++] = (char)c;
		}
		/* keep one byte back for the closing quote */
		if (quote && ev->len + n + 1 > EVENT_LIMIT) {
			ev->truncated = true;
			break;
		}
		if (!event_put(ev, unit, n)) {
			ev->truncated = true;
			break;
		}
	}
	if (quote) {
		ev->buf[ev->len++] = '"';       /* space was kept back above */
		ev->buf[ev->len] = '\0';
	}
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
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", value);

	log_event_mem(ev, key, tmp, (size_t)n);
}

void
log_event_uint(log_event *ev, const char *key, unsigned long long value)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", value);

	log_event_mem(ev, key, tmp, (size_t)n);
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
