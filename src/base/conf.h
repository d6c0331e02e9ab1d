/*
 * Configuration files: `key = value` lines under `[section]` headers.
 *
 *	# comment (also ';'), only as the first non-blank character of a line
 *	log = stderr                 <- before any header: section ""
 *	[kdc]
 *	listen = 127.0.0.1:88, [::1]:88
 *	max_life = 10h
 *
 * Names are case-sensitive. Keys are [A-Za-z0-9_.-]+, section names
 * [A-Za-z0-9_.:@/-]+. A value is the rest of the line with blanks trimmed
 * ('#' inside it is literal); it may be empty. A section may appear more
 * than once; a key may not be set twice in one section. Input is bounded:
 * LETHE_CONF_MAX_FILE bytes, LETHE_CONF_MAX_LINE bytes per line,
 * LETHE_CONF_MAX_ENTRIES keys. NUL and control characters other than tab
 * are refused; CRLF line ends are accepted.
 *
 * Every error is described in a lethe_conf_error as "source:line: what is
 * wrong", e.g. "kdc.conf:12: [kdc] workers: expected an integer from 1
 * to 256, got 'many'".
 */
#ifndef LETHE_BASE_CONF_H
#define LETHE_BASE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/status.h"

#define LETHE_CONF_MAX_FILE (1024u * 1024u)
#define LETHE_CONF_MAX_LINE 4096u
#define LETHE_CONF_MAX_ENTRIES 2048u
#define LETHE_CONF_MAX_NAME 128u        /* longest key or section name */

typedef struct lethe_conf lethe_conf;

typedef struct lethe_conf_error {
	unsigned line;          /* 1-based line at fault; 0 if none */
	char text[512];         /* full message, NUL-terminated */
} lethe_conf_error;

/* One key as parsed. The strings belong to the lethe_conf. */
typedef struct lethe_conf_entry {
	const char *section;    /* "" before the first header */
	const char *key;
	const char *value;
	unsigned line;
} lethe_conf_entry;

/* A socket address from an address list. */
typedef struct lethe_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
} lethe_sockaddr;

/* Entries naming the keys a program knows, for lethe_conf_check_known. */
typedef struct lethe_conf_key {
	const char *section;
	const char *key;
} lethe_conf_key;

/*
 * Parse text[0..len). source names the input in error messages (a file
 * name; copied, at most 255 bytes). On success *out owns a new object;
 * on failure *out is NULL and err (may be NULL) says why: LETHE_ERR_FORMAT
 * for syntax, LETHE_ERR_TOO_BIG for a bound, LETHE_ERR_NOMEM.
 */
lethe_status lethe_conf_parse(const uint8_t *text, size_t len, const char *source,
    lethe_conf **out, lethe_conf_error *err);

/* Read and parse the regular file at path (LETHE_ERR_IO if unreadable). */
lethe_status lethe_conf_load(const char *path, lethe_conf **out, lethe_conf_error *err);

void lethe_conf_free(lethe_conf *conf);

/* Number of keys, and the i-th key in file order (LETHE_ERR_NOT_FOUND past the end). */
size_t lethe_conf_count(const lethe_conf *conf);
lethe_status lethe_conf_at(const lethe_conf *conf, size_t i, lethe_conf_entry *out);

/*
 * Report the first key or section not listed in known[0..n_known), with
 * its line, as LETHE_ERR_NOT_FOUND; the message counts any further ones.
 * A known entry with key NULL accepts any key of its section.
 */
lethe_status lethe_conf_check_known(const lethe_conf *conf, const lethe_conf_key *known,
    size_t n_known, lethe_conf_error *err);

/*
 * Typed getters. section NULL means "". An absent key yields the default
 * and LETHE_OK; a value that does not parse or is out of range yields
 * LETHE_ERR_FORMAT with err naming the line. *out is written only on OK.
 */

/* The raw string (owned by conf), or def when absent. */
lethe_status lethe_conf_get_str(const lethe_conf *conf, const char *section, const char *key,
    const char *def, const char **out);

/* A decimal integer in [min, max]. */
lethe_status lethe_conf_get_int(const lethe_conf *conf, const char *section, const char *key,
    long long min, long long max, long long def, long long *out, lethe_conf_error *err);

/* yes/no/true/false, any case. */
lethe_status lethe_conf_get_bool(const lethe_conf *conf, const char *section, const char *key,
    bool def, bool *out, lethe_conf_error *err);

/*
 * Parse a duration, "<n><unit>..." (units s, m, h, d, w; blanks allowed
 * between parts) or a bare "<n>" of seconds, into *out. False on a syntax
 * error or overflow.
 */
bool lethe_conf_parse_duration(const char *text, long long *out);

/*
 * A duration in seconds, in [min, max]: one or more <number><unit> with
 * unit s, m, h, d or w ("10h", "7d", "1h30m"), or a bare number of seconds.
 */
lethe_status lethe_conf_get_duration(const lethe_conf *conf, const char *section,
    const char *key, long long min, long long max, long long def, long long *out,
    lethe_conf_error *err);

/*
 * A comma-separated list of numeric addresses: "192.0.2.1:88",
 * "[2001:db8::1]:88", or without ":port" to use default_port. Writes at
 * most cap addresses to out and their count to *n; more is an error. An
 * absent key parses def (which must be valid); an empty value gives 0.
 */
lethe_status lethe_conf_get_addrs(const lethe_conf *conf, const char *section,
    const char *key, const char *def, uint16_t default_port, lethe_sockaddr *out,
    size_t cap, size_t *n, lethe_conf_error *err);

/*
 * "192.0.2.1:88" or "[2001:db8::1]:88" into buf (cap >= 64 recommended),
 * "(unknown)" for another family or a short length.
 */
void lethe_sockaddr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap);

/* Parse one address list (as lethe_conf_get_addrs) outside any file. */
lethe_status lethe_conf_parse_addrs(const char *list, uint16_t default_port,
    lethe_sockaddr *out, size_t cap, size_t *n, lethe_conf_error *err);

#endif
