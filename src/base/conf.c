#include "base/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_SOURCE_MAX 256
#define CONF_ECHO_MAX 60        /* bytes of a bad value quoted back */
#define CONF_MSG_MAX 256

struct lethe_conf {
	char *text;             /* owned copy of the input, cut up in place */
	lethe_conf_entry *entries;
	size_t n_entries;
	size_t cap_entries;
	char source[CONF_SOURCE_MAX];
};

/* Fill err with "source:line: message" (or "source: message" for line 0). */
static void conf_errorf(lethe_conf_error *err, const char *source, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conf_errorf(lethe_conf_error *err, const char *source, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL)
		return;
	err->line = line;
	if (line > 0)
		n = snprintf(err->text, sizeof(err->text), "%s:%u: ", source, line);
	else
		n = snprintf(err->text, sizeof(err->text), "%s: ", source);
	if (n < 0 || (size_t)n >= sizeof(err->text))
		return;
	va_start(ap, fmt);
	vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* --------------------------------------------------------------- parser */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool
is_section_char(unsigned char c)
{
	return is_key_char(c) || c == ':' || c == '@' || c == '/';
}

/* Trim blanks from s[0..*len) in place; returns the new start, NUL-terminated. */
static char *
trim(char *s, size_t *len)
{
	size_t n = *len;

	while (n > 0 && is_blank(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	s[n] = '\0';
	*len = n;
	return s;
}

/* Describe byte c for a message: 'x' or 0xNN. */
static void
describe_byte(unsigned char c, char *buf, size_t cap)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, cap, "'%c'", c);
	else
		snprintf(buf, cap, "0x%02x", c);
}

/* Check a key or section name; on error fill err. */
static lethe_status
check_name(const lethe_conf *conf, const char *name, size_t len, bool section,
    unsigned line, lethe_conf_error *err)
{
	const char *what = section ? "section name" : "key";
	char desc[8];

	if (len == 0) {
		conf_errorf(err, conf->source, line, "empty %s", what);
		return LETHE_ERR_FORMAT;
	}
	if (len > LETHE_CONF_MAX_NAME) {
		conf_errorf(err, conf->source, line, "%s longer than %u bytes", what,
		    LETHE_CONF_MAX_NAME);
		return LETHE_ERR_FORMAT;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (section ? is_section_char(c) : is_key_char(c))
			continue;
		describe_byte(c, desc, sizeof(desc));
		conf_errorf(err, conf->source, line, "invalid character %s in %s '%.*s'",
		    desc, what, CONF_ECHO_MAX, name);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

static const lethe_conf_entry *
find_entry(const lethe_conf *conf, const char *section, const char *key)
{
	if (section == NULL)
		section = "";
	for (size_t i = 0; i < conf->n_entries; i++) {
		const lethe_conf_entry *e = &conf->entries[i];
		if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static lethe_status
add_entry(lethe_conf *conf, const char *section, const char *key, const char *value,
    unsigned line, lethe_conf_error *err)
{
	const lethe_conf_entry *dup = find_entry(conf, section, key);

	if (dup != NULL) {
		conf_errorf(err, conf->source, line,
		    "%s%s%skey '%s' set twice (first on line %u)",
		    *section ? "[" : "", section, *section ? "] " : "", key, dup->line);
		return LETHE_ERR_FORMAT;
	}
	if (conf->n_entries == LETHE_CONF_MAX_ENTRIES) {
		conf_errorf(err, conf->source, line, "more than %u keys",
		    LETHE_CONF_MAX_ENTRIES);
		return LETHE_ERR_TOO_BIG;
	}
	if (conf->n_entries == conf->cap_entries) {
		size_t cap = conf->cap_entries == 0 ? 16 : conf->cap_entries * 2;
		lethe_conf_entry *grown;
		if (cap > LETHE_CONF_MAX_ENTRIES)
			cap = LETHE_CONF_MAX_ENTRIES;
		grown = realloc(conf->entries, cap * sizeof(*grown));
		if (grown == NULL) {
			conf_errorf(err, conf->source, line, "out of memory");
			return LETHE_ERR_NOMEM;
		}
		conf->entries = grown;
		conf->cap_entries = cap;
	}
	conf->entries[conf->n_entries++] = (lethe_conf_entry){ section, key, value, line };
	return LETHE_OK;
}

/* "[name]" with s[0] == '['; on success *section points at the name. */
static lethe_status
parse_section(lethe_conf *conf, char *s, size_t len, unsigned line, const char **section,
    lethe_conf_error *err)
{
	char *name;
	size_t name_len;

	if (s[len - 1] != ']') {
		conf_errorf(err, conf->source, line, "section header must end with ']'");
		return LETHE_ERR_FORMAT;
	}
	name_len = len - 2;
	name = trim(s + 1, &name_len);
	GUARD(check_name(conf, name, name_len, true, line, err));
	*section = name;
	return LETHE_OK;
}

static lethe_status
parse_assignment(lethe_conf *conf, char *s, size_t len, unsigned line, const char *section,
    lethe_conf_error *err)
{
	char *eq = memchr(s, '=', len);
	char *key, *value;
	size_t key_len, value_len;

	if (eq == NULL) {
		conf_errorf(err, conf->source, line,
		    "expected 'key = value' or '[section]', got '%.*s'", CONF_ECHO_MAX, s);
		return LETHE_ERR_FORMAT;
	}
	key_len = (size_t)(eq - s);
	value_len = len - key_len - 1;
	value = trim(eq + 1, &value_len);
	key = trim(s, &key_len);
	if (key_len == 0) {
		conf_errorf(err, conf->source, line, "missing key before '='");
		return LETHE_ERR_FORMAT;
	}
	GUARD(check_name(conf, key, key_len, false, line, err));
	return add_entry(conf, section, key, value, line, err);
}

/* One line s[0..len) (no newline); s[len] may be overwritten. */
static lethe_status
parse_line(lethe_conf *conf, char *s, size_t len, unsigned line, const char **section,
    lethe_conf_error *err)
{
	char desc[8];

	if (len > LETHE_CONF_MAX_LINE) {
		conf_errorf(err, conf->source, line, "line longer than %u bytes",
		    LETHE_CONF_MAX_LINE);
		return LETHE_ERR_TOO_BIG;
	}
	if (len > 0 && s[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 0x20 && c != 0x7f) || c == '\t')
			continue;
		describe_byte(c, desc, sizeof(desc));
		conf_errorf(err, conf->source, line, "control character %s in column %zu",
		    desc, i + 1);
		return LETHE_ERR_FORMAT;
	}
	s = trim(s, &len);
	if (len == 0 || s[0] == '#' || s[0] == ';')
		return LETHE_OK;
	if (s[0] == '[')
		return parse_section(conf, s, len, line, section, err);
	return parse_assignment(conf, s, len, line, *section, err);
}

lethe_status
lethe_conf_parse(const uint8_t *text, size_t len, const char *source, lethe_conf **out,
    lethe_conf_error *err)
{
	lethe_status rc = LETHE_OK;
	lethe_conf *conf = NULL;
	const char *section = "";
	size_t pos = 0;
	unsigned line = 0;

	if (out == NULL || (text == NULL && len > 0))
		return LETHE_ERR_INVALID_ARG;
	*out = NULL;
	if (source == NULL)
		source = "(config)";
	if (len > LETHE_CONF_MAX_FILE) {
		conf_errorf(err, source, 0, "%zu bytes, more than the %u allowed", len,
		    LETHE_CONF_MAX_FILE);
		return LETHE_ERR_TOO_BIG;
	}
	conf = calloc(1, sizeof(*conf));
	ENSURE_GOTO(rc, conf != NULL, LETHE_ERR_NOMEM);
	snprintf(conf->source, sizeof(conf->source), "%s", source);
	conf->text = malloc(len + 1);
	ENSURE_GOTO(rc, conf->text != NULL, LETHE_ERR_NOMEM);
	if (len > 0)
		memcpy(conf->text, text, len);
	conf->text[len] = '\0';

	while (pos < len) {
		char *start = conf->text + pos;
		char *nl = memchr(start, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - start) : len - pos;
		pos += line_len + (nl != NULL ? 1 : 0);
		line++;
		GUARD_GOTO(rc, parse_line(conf, start, line_len, line, &section, err));
	}
	*out = conf;
	conf = NULL;
cleanup:
	if (rc == LETHE_ERR_NOMEM)
		conf_errorf(err, source, line, "out of memory");
	lethe_conf_free(conf);
	return rc;
}

/* Read the whole regular file at path into a new buffer. */
static lethe_status
read_file(const char *path, uint8_t **out, size_t *out_len, lethe_conf_error *err)
{
	lethe_status rc = LETHE_OK;
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap, got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		conf_errorf(err, path, 0, "cannot open: %s", strerror(errno));
		return LETHE_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		conf_errorf(err, path, 0, "not a regular file");
		rc = LETHE_ERR_IO;
		goto cleanup;
	}
	if (st.st_size > (off_t)LETHE_CONF_MAX_FILE) {
		conf_errorf(err, path, 0, "%lld bytes, more than the %u allowed",
		    (long long)st.st_size, LETHE_CONF_MAX_FILE);
		rc = LETHE_ERR_TOO_BIG;
		goto cleanup;
	}
	cap = (size_t)st.st_size + 1;   /* one more to notice growth */
	buf = malloc(cap);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			conf_errorf(err, path, 0, "cannot read: %s", strerror(errno));
			rc = LETHE_ERR_IO;
			goto cleanup;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got == cap) {
		conf_errorf(err, path, 0, "file grew while being read");
		rc = LETHE_ERR_IO;
		goto cleanup;
	}
	*out = buf;
	*out_len = got;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

lethe_status
lethe_conf_load(const char *path, lethe_conf **out, lethe_conf_error *err)
{
	lethe_status rc;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (path == NULL || out == NULL)
		return LETHE_ERR_INVALID_ARG;
	*out = NULL;
	GUARD(read_file(path, &buf, &len, err));
	rc = lethe_conf_parse(buf, len, path, out, err);
	free(buf);
	return rc;
}

void
lethe_conf_free(lethe_conf *conf)
{
	if (conf == NULL)
		return;
	free(conf->text);
	free(conf->entries);
	free(conf);
}

size_t
lethe_conf_count(const lethe_conf *conf)
{
	return conf->n_entries;
}

lethe_status
lethe_conf_at(const lethe_conf *conf, size_t i, lethe_conf_entry *out)
{
	if (i >= conf->n_entries)
		return LETHE_ERR_NOT_FOUND;
	*out = conf->entries[i];
	return LETHE_OK;
}

/* ----------------------------------------------------------- validation */

static bool
section_known(const lethe_conf_key *known, size_t n_known, const char *section)
{
	for (size_t i = 0; i < n_known; i++) {
		if (strcmp(known[i].section != NULL ? known[i].section : "", section) == 0)
			return true;
	}
	return false;
}

static bool
key_known(const lethe_conf_key *known, size_t n_known, const lethe_conf_entry *e)
{
	for (size_t i = 0; i < n_known; i++) {
		const char *section = known[i].section != NULL ? known[i].section : "";
		if (strcmp(section, e->section) != 0)
			continue;
		if (known[i].key == NULL || strcmp(known[i].key, e->key) == 0)
			return true;
	}
	return false;
}

lethe_status
lethe_conf_check_known(const lethe_conf *conf, const lethe_conf_key *known, size_t n_known,
    lethe_conf_error *err)
{
	const lethe_conf_entry *first = NULL;
	size_t more = 0;
	char suffix[48] = "";

	for (size_t i = 0; i < conf->n_entries; i++) {
		if (key_known(known, n_known, &conf->entries[i]))
			continue;
		if (first == NULL)
			first = &conf->entries[i];
		else
			more++;
	}
	if (first == NULL)
		return LETHE_OK;
	if (more > 0)
		snprintf(suffix, sizeof(suffix), " (and %zu more unknown)", more);
	if (first->section[0] == '\0')
		conf_errorf(err, conf->source, first->line, "unknown key '%s'%s", first->key,
		    suffix);
	else if (!section_known(known, n_known, first->section))
		conf_errorf(err, conf->source, first->line, "unknown section [%s]%s",
		    first->section, suffix);
	else
		conf_errorf(err, conf->source, first->line, "unknown key '%s' in [%s]%s",
		    first->key, first->section, suffix);
	return LETHE_ERR_NOT_FOUND;
}

/* -------------------------------------------------------------- getters */

/* Report that entry e's value is wrong: "[section] key: <msg>, got '<value>'". */
static void
value_error(const lethe_conf *conf, const lethe_conf_entry *e, const char *msg,
    lethe_conf_error *err)
{
	conf_errorf(err, conf->source, e->line, "%s%s%s%s: %s, got '%.*s'",
	    *e->section ? "[" : "", e->section, *e->section ? "] " : "", e->key, msg,
	    CONF_ECHO_MAX, e->value);
}

lethe_status
lethe_conf_get_str(const lethe_conf *conf, const char *section, const char *key,
    const char *def, const char **out)
{
	const lethe_conf_entry *e = find_entry(conf, section, key);

	*out = e != NULL ? e->value : def;
	return LETHE_OK;
}

/* Parse an optionally negative decimal integer filling all of s. */
static bool
parse_ll(const char *s, long long *out)
{
	bool neg = false;
	unsigned long long v = 0;
	unsigned long long limit = (unsigned long long)LLONG_MAX;

	if (*s == '-') {
		neg = true;
		limit += 1;     /* |LLONG_MIN| */
		s++;
	}
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == limit ? LLONG_MIN : -(long long)v;
	else
		*out = (long long)v;
	return true;
}

lethe_status
lethe_conf_get_int(const lethe_conf *conf, const char *section, const char *key,
    long long min, long long max, long long def, long long *out, lethe_conf_error *err)
{
	const lethe_conf_entry *e = find_entry(conf, section, key);
	char msg[CONF_MSG_MAX];
	long long v;

	if (e == NULL) {
		*out = def;
		return LETHE_OK;
	}
	if (!parse_ll(e->value, &v) || v < min || v > max) {
		snprintf(msg, sizeof(msg), "expected an integer from %lld to %lld", min, max);
		value_error(conf, e, msg, err);
		return LETHE_ERR_FORMAT;
	}
	*out = v;
	return LETHE_OK;
}

lethe_status
lethe_conf_get_bool(const lethe_conf *conf, const char *section, const char *key, bool def,
    bool *out, lethe_conf_error *err)
{
	const lethe_conf_entry *e = find_entry(conf, section, key);

	if (e == NULL) {
		*out = def;
		return LETHE_OK;
	}
	if (strcasecmp(e->value, "yes") == 0 || strcasecmp(e->value, "true") == 0) {
		*out = true;
		return LETHE_OK;
	}
	if (strcasecmp(e->value, "no") == 0 || strcasecmp(e->value, "false") == 0) {
		*out = false;
		return LETHE_OK;
	}
	value_error(conf, e, "expected yes, no, true or false", err);
	return LETHE_ERR_FORMAT;
}

static long long
unit_seconds(char unit)
{
	switch (unit) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 604800;
	default:
		return 0;
	}
}

bool
lethe_conf_parse_duration(const char *s, long long *out)
{
	long long total = 0;
	bool bare_ok = true;

	if (*s == '\0')
		return false;
	while (*s != '\0') {
		long long n = 0, mul;
		if (*s < '0' || *s > '9')
			return false;
		for (; *s >= '0' && *s <= '9'; s++) {
			int d = *s - '0';
			if (n > (LLONG_MAX - d) / 10)
				return false;
			n = n * 10 + d;
		}
		if (*s == '\0' && bare_ok) {
			*out = n;
			return true;
		}
		mul = unit_seconds(*s);
		if (mul == 0 || n > LLONG_MAX / mul || total > LLONG_MAX - n * mul)
			return false;
		total += n * mul;
		s++;
		while (is_blank(*s))
			s++;
		bare_ok = false;
	}
	*out = total;
	return true;
}

lethe_status
lethe_conf_get_duration(const lethe_conf *conf, const char *section, const char *key,
    long long min, long long max, long long def, long long *out, lethe_conf_error *err)
{
	const lethe_conf_entry *e = find_entry(conf, section, key);
	char msg[CONF_MSG_MAX];
	long long v;

	if (e == NULL) {
		*out = def;
		return LETHE_OK;
	}
	if (!lethe_conf_parse_duration(e->value, &v) || v < min || v > max) {
		snprintf(msg, sizeof(msg),
		    "expected a duration like 300s, 5m, 10h or 7d, from %llds to %llds",
		    min, max);
		value_error(conf, e, msg, err);
		return LETHE_ERR_FORMAT;
	}
	*out = v;
	return LETHE_OK;
}

/* ------------------------------------------------------------ addresses */

static bool
parse_port(const char *s, uint16_t *out)
{
	long long v;

	if (*s == '-' || !parse_ll(s, &v) || v < 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* One trimmed, NUL-terminated list item into *out; msg says what is wrong. */
static bool
parse_one_addr(const char *item, uint16_t default_port, lethe_sockaddr *out,
    char *msg, size_t msg_cap)
{
	char host[64];
	const char *port_str = NULL, *end;
	uint16_t port = default_port;
	bool v6 = item[0] == '[';

	memset(out, 0, sizeof(*out));
	if (v6) {
		end = strchr(item, ']');
		if (end == NULL) {
			snprintf(msg, msg_cap, "'[' without ']' in '%.*s'", CONF_ECHO_MAX, item);
			return false;
		}
		item++;
		if (end[1] == ':')
			port_str = end + 2;
		else if (end[1] != '\0') {
			snprintf(msg, msg_cap, "expected ':port' after ']' in '%.*s'",
			    CONF_ECHO_MAX, item - 1);
			return false;
		}
	} else {
		end = strchr(item, ':');
		if (end != NULL && strchr(end + 1, ':') != NULL) {
			snprintf(msg, msg_cap, "write an IPv6 address in brackets, like "
			    "[::1]:88, not '%.*s'", CONF_ECHO_MAX, item);
			return false;
		}
		if (end != NULL)
			port_str = end + 1;
		else
			end = item + strlen(item);
	}
	if ((size_t)(end - item) >= sizeof(host)) {
		snprintf(msg, msg_cap, "address too long in '%.*s'", CONF_ECHO_MAX, item);
		return false;
	}
	memcpy(host, item, (size_t)(end - item));
	host[end - item] = '\0';
	if (port_str != NULL && !parse_port(port_str, &port)) {
		snprintf(msg, msg_cap, "port must be a number from 0 to 65535 in '%.*s'",
		    CONF_ECHO_MAX, item);
		return false;
	}
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(msg, msg_cap, "'%s' is not a numeric IPv6 address", host);
			return false;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		out->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(msg, msg_cap, "'%s' is not a numeric IPv4 address", host);
			return false;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		out->len = sizeof(*sin);
	}
	return true;
}

/* Split list on commas; msg says what is wrong on failure. */
static bool
parse_addr_list(const char *list, uint16_t default_port, lethe_sockaddr *out, size_t cap,
    size_t *n, char *msg, size_t msg_cap)
{
	char item[LETHE_CONF_MAX_LINE + 1];
	size_t count = 0, len = strlen(list);
	const char *p = list;

	if (len > LETHE_CONF_MAX_LINE) {
		snprintf(msg, msg_cap, "address list longer than %u bytes",
		    LETHE_CONF_MAX_LINE);
		return false;
	}
	memcpy(item, list, len + 1);
	if (*trim(item, &len) == '\0') {
		*n = 0;
		return true;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t item_len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char *it;
		memcpy(item, p, item_len);
		it = trim(item, &item_len);
		if (item_len == 0) {
			snprintf(msg, msg_cap, "empty address in the list");
			return false;
		}
		if (count == cap) {
			snprintf(msg, msg_cap, "more than %zu addresses", cap);
			return false;
		}
		if (!parse_one_addr(it, default_port, &out[count], msg, msg_cap))
			return false;
		count++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*n = count;
	return true;
}

void
lethe_sockaddr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];

	if (cap == 0)
		return;
	if (sa != NULL && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, cap, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa != NULL && sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, cap, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, cap, "(unknown)");
	}
}

lethe_status
lethe_conf_parse_addrs(const char *list, uint16_t default_port, lethe_sockaddr *out,
    size_t cap, size_t *n, lethe_conf_error *err)
{
	char msg[CONF_MSG_MAX];

	if (list == NULL)
		return LETHE_ERR_INVALID_ARG;
	if (!parse_addr_list(list, default_port, out, cap, n, msg, sizeof(msg))) {
		if (err != NULL) {
			err->line = 0;
			snprintf(err->text, sizeof(err->text), "%s", msg);
		}
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

lethe_status
lethe_conf_get_addrs(const lethe_conf *conf, const char *section, const char *key,
    const char *def, uint16_t default_port, lethe_sockaddr *out, size_t cap, size_t *n,
    lethe_conf_error *err)
{
	const lethe_conf_entry *e = find_entry(conf, section, key);
	char msg[CONF_MSG_MAX];

	if (e == NULL)
		return lethe_conf_parse_addrs(def != NULL ? def : "", default_port, out, cap,
		    n, err);
	if (!parse_addr_list(e->value, default_port, out, cap, n, msg, sizeof(msg))) {
		conf_errorf(err, conf->source, e->line, "%s%s%s%s: %s",
		    *e->section ? "[" : "", e->section, *e->section ? "] " : "", e->key, msg);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}
