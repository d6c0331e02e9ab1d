#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/conf.h"

static lethe_conf *
parse_ok(const char *text)
{
	lethe_conf *conf = NULL;
	lethe_conf_error err = { 0 };

	assert_int_equal(lethe_conf_parse((const uint8_t *)text, strlen(text), "t.conf", &conf,
	    &err), LETHE_OK);
	assert_non_null(conf);
	return conf;
}

/* Parsing text[0..len) fails with rc and exactly the message want. */
static void
parse_fails(const char *text, size_t len, lethe_status rc, const char *want)
{
	lethe_conf *conf = (lethe_conf *)(uintptr_t)1;
	lethe_conf_error err = { 0 };

	assert_int_equal(lethe_conf_parse((const uint8_t *)text, len, "t.conf", &conf, &err), rc);
	assert_null(conf);
	assert_string_equal(err.text, want);
}

static void
fails(const char *text, lethe_status rc, const char *want)
{
	parse_fails(text, strlen(text), rc, want);
}

static const char good_conf[] =
    "# global part\n"
    "log = stderr\n"
    "\n"
    "[kdc]\r\n"
    "  workers =  4  \n"
    "\tlisten = 127.0.0.1:88, [::1]:8888 ,10.0.0.1\n"
    "; another comment\n"
    "max_life = 10h\n"
    "renew = 7d\n"
    "skew = 300s\n"
    "poll = 5m\n"
    "combo = 1h 30m\n"
    "week = 2w\n"
    "bare = 42\n"
    "flag1 = yes\n"
    "flag2 = FALSE\n"
    "flag3 = True\n"
    "flag4 = no\n"
    "empty =\n"
    "hash = a # b = c\n"
    "[ realm.EXAMPLE.COM ]\n"
    "workers = -3\n"
    "[kdc]\n"
    "extra = x";

static void
test_parse_values(void **state)
{
	lethe_conf *conf = parse_ok(good_conf);
	lethe_conf_entry e;
	const char *s;
	long long v;
	bool b;
	(void)state;

	assert_int_equal(lethe_conf_count(conf), 18);
	assert_int_equal(lethe_conf_at(conf, 0, &e), LETHE_OK);
	assert_string_equal(e.section, "");
	assert_string_equal(e.key, "log");
	assert_string_equal(e.value, "stderr");
	assert_int_equal(e.line, 2);
	assert_int_equal(lethe_conf_at(conf, 17, &e), LETHE_OK);
	assert_string_equal(e.section, "kdc");
	assert_string_equal(e.key, "extra");
	assert_string_equal(e.value, "x");
	assert_int_equal(e.line, 24);
	assert_int_equal(lethe_conf_at(conf, 18, &e), LETHE_ERR_NOT_FOUND);

	assert_int_equal(lethe_conf_get_str(conf, NULL, "log", "x", &s), LETHE_OK);
	assert_string_equal(s, "stderr");
	assert_int_equal(lethe_conf_get_str(conf, "kdc", "log", "dflt", &s), LETHE_OK);
	assert_string_equal(s, "dflt");
	assert_int_equal(lethe_conf_get_str(conf, "kdc", "empty", "dflt", &s), LETHE_OK);
	assert_string_equal(s, "");
	assert_int_equal(lethe_conf_get_str(conf, "kdc", "hash", NULL, &s), LETHE_OK);
	assert_string_equal(s, "a # b = c");

	assert_int_equal(lethe_conf_get_int(conf, "kdc", "workers", 1, 64, 0, &v, NULL), LETHE_OK);
	assert_int_equal(v, 4);
	assert_int_equal(lethe_conf_get_int(conf, "realm.EXAMPLE.COM", "workers", -10, 10, 0, &v,
	    NULL), LETHE_OK);
	assert_int_equal(v, -3);
	assert_int_equal(lethe_conf_get_int(conf, "kdc", "absent", 1, 64, 9, &v, NULL), LETHE_OK);
	assert_int_equal(v, 9);

	static const struct { const char *key; long long secs; } durations[] = {
		{ "max_life", 36000 }, { "renew", 604800 }, { "skew", 300 },
		{ "poll", 300 }, { "combo", 5400 }, { "week", 1209600 }, { "bare", 42 },
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		assert_int_equal(lethe_conf_get_duration(conf, "kdc", durations[i].key, 0,
		    10000000, -1, &v, NULL), LETHE_OK);
		assert_int_equal(v, durations[i].secs);
	}
	assert_int_equal(lethe_conf_get_duration(conf, "kdc", "none", 0, 10, 7, &v, NULL),
	    LETHE_OK);
	assert_int_equal(v, 7);

	assert_int_equal(lethe_conf_get_bool(conf, "kdc", "flag1", false, &b, NULL), LETHE_OK);
	assert_true(b);
	assert_int_equal(lethe_conf_get_bool(conf, "kdc", "flag2", true, &b, NULL), LETHE_OK);
	assert_false(b);
	assert_int_equal(lethe_conf_get_bool(conf, "kdc", "flag3", false, &b, NULL), LETHE_OK);
	assert_true(b);
	assert_int_equal(lethe_conf_get_bool(conf, "kdc", "flag4", true, &b, NULL), LETHE_OK);
	assert_false(b);
	assert_int_equal(lethe_conf_get_bool(conf, "kdc", "none", true, &b, NULL), LETHE_OK);
	assert_true(b);
	lethe_conf_free(conf);
}

static void
test_parse_addrs(void **state)
{
	lethe_conf *conf = parse_ok(good_conf);
	lethe_sockaddr a[4];
	size_t n = 99;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	uint8_t loop6[16] = { [15] = 1 };
	(void)state;

	assert_int_equal(lethe_conf_get_addrs(conf, "kdc", "listen", NULL, 750, a, 4, &n, NULL),
	    LETHE_OK);
	assert_int_equal(n, 3);
	sin = (const struct sockaddr_in *)&a[0].ss;
	assert_int_equal(a[0].len, sizeof(*sin));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(ntohs(sin->sin_port), 88);
	sin6 = (const struct sockaddr_in6 *)&a[1].ss;
	assert_int_equal(a[1].len, sizeof(*sin6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_memory_equal(&sin6->sin6_addr, loop6, 16);
	assert_int_equal(ntohs(sin6->sin6_port), 8888);
	sin = (const struct sockaddr_in *)&a[2].ss;
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x0a000001);
	assert_int_equal(ntohs(sin->sin_port), 750);        /* default port */

	/* absent: the default list; empty: no address */
	assert_int_equal(lethe_conf_get_addrs(conf, "kdc", "none", "[::]:0", 88, a, 4, &n, NULL),
	    LETHE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].ss.ss_family, AF_INET6);
	assert_int_equal(lethe_conf_get_addrs(conf, "kdc", "empty", "1.1.1.1", 88, a, 4, &n, NULL),
	    LETHE_OK);
	assert_int_equal(n, 0);
	lethe_conf_free(conf);
}

static void
test_syntax_errors(void **state)
{
	char *buf;
	(void)state;

	fails("a = 1\nnonsense\n", LETHE_ERR_FORMAT,
	    "t.conf:2: expected 'key = value' or '[section]', got 'nonsense'");
	fails("\n\n[kdc\n", LETHE_ERR_FORMAT, "t.conf:3: section header must end with ']'");
	fails("[ ]\n", LETHE_ERR_FORMAT, "t.conf:1: empty section name");
	fails("[a b]\n", LETHE_ERR_FORMAT,
	    "t.conf:1: invalid character 0x20 in section name 'a b'");
	fails("[kdc]\n = v\n", LETHE_ERR_FORMAT, "t.conf:2: missing key before '='");
	fails("k y = v\n", LETHE_ERR_FORMAT, "t.conf:1: invalid character 0x20 in key 'k y'");
	fails("k\xc3\xa9 = v\n", LETHE_ERR_FORMAT,
	    "t.conf:1: invalid character 0xc3 in key 'k\xc3\xa9'");
	fails("[s]\na=1\n[t]\na=2\n[s]\na=3\n", LETHE_ERR_FORMAT,
	    "t.conf:6: [s] key 'a' set twice (first on line 2)");
	fails("x=1\nx=2", LETHE_ERR_FORMAT, "t.conf:2: key 'x' set twice (first on line 1)");
	fails("a = b\x01" "c\n", LETHE_ERR_FORMAT, "t.conf:1: control character 0x01 in column 6");
	fails("a = b\rc\n", LETHE_ERR_FORMAT, "t.conf:1: control character 0x0d in column 6");
	parse_fails("a=1\n\0\n", 6, LETHE_ERR_FORMAT,
	    "t.conf:2: control character 0x00 in column 1");

	buf = malloc(LETHE_CONF_MAX_FILE + 2);
	assert_non_null(buf);
	memset(buf, 'k', LETHE_CONF_MAX_FILE + 1);
	memcpy(buf, "a = b\n", 6);
	buf[6 + LETHE_CONF_MAX_LINE] = '\n';    /* line 2: exactly the limit */
	buf[6] = '#';                           /* a comment, at the limit */
	buf[6 + LETHE_CONF_MAX_LINE + 1 + LETHE_CONF_MAX_LINE + 1] = '\n';
	parse_fails(buf, 6 + LETHE_CONF_MAX_LINE + 1 + LETHE_CONF_MAX_LINE + 2,
	    LETHE_ERR_TOO_BIG, "t.conf:3: line longer than 4096 bytes");
	parse_fails(buf, LETHE_CONF_MAX_FILE + 1, LETHE_ERR_TOO_BIG,
	    "t.conf: 1048577 bytes, more than the 1048576 allowed");

	/* key name length: 128 is fine, 129 is not */
	memset(buf, 'k', 129);
	memcpy(buf + 129, "=1\n", 4);
	parse_fails(buf, 132, LETHE_ERR_FORMAT, "t.conf:1: key longer than 128 bytes");
	lethe_conf *conf = NULL;
	assert_int_equal(lethe_conf_parse((uint8_t *)buf + 1, 131, "t", &conf, NULL), LETHE_OK);
	lethe_conf_free(conf);

	/* the key count is bounded */
	size_t len = 0;
	for (unsigned i = 0; i <= LETHE_CONF_MAX_ENTRIES; i++)
		len += (size_t)sprintf(buf + len, "k%u=%u\n", i, i);
	parse_fails(buf, len, LETHE_ERR_TOO_BIG, "t.conf:2049: more than 2048 keys");
	free(buf);

	/* empty input is a valid, empty configuration */
	assert_int_equal(lethe_conf_parse(NULL, 0, NULL, &conf, NULL), LETHE_OK);
	assert_int_equal(lethe_conf_count(conf), 0);
	lethe_conf_free(conf);
}

/* Getter on key "v" of "[kdc]\nv = <value>" fails with want. */
typedef enum { GET_INT, GET_BOOL, GET_DURATION, GET_ADDRS } getter;

static void
value_fails(getter g, const char *value, const char *want)
{
	char text[256];
	lethe_conf *conf;
	lethe_conf_error err = { 0 };
	lethe_sockaddr a[2];
	long long v = 12345;
	size_t n = 12345;
	bool b;
	lethe_status rc = LETHE_OK;

	snprintf(text, sizeof(text), "# c\n[kdc]\nv = %s\n", value);
	conf = parse_ok(text);
	switch (g) {
	case GET_INT:
		rc = lethe_conf_get_int(conf, "kdc", "v", 1, 64, 0, &v, &err);
		break;
	case GET_BOOL:
		rc = lethe_conf_get_bool(conf, "kdc", "v", false, &b, &err);
		break;
	case GET_DURATION:
		rc = lethe_conf_get_duration(conf, "kdc", "v", 1, 86400, 0, &v, &err);
		break;
	case GET_ADDRS:
		rc = lethe_conf_get_addrs(conf, "kdc", "v", NULL, 88, a, 2, &n, &err);
		break;
	}
	assert_int_equal(rc, LETHE_ERR_FORMAT);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.text, want);
	assert_int_equal(v, 12345);     /* untouched on error */
	assert_int_equal(n, 12345);
	lethe_conf_free(conf);
}

static void
test_value_errors(void **state)
{
	(void)state;
	static const char int_msg[] = "t.conf:3: [kdc] v: expected an integer from 1 to 64, got '%s'";
	static const char *bad_ints[] = { "abc", "65", "0", "-1", "+5", "1 2", "0x10",
	    "99999999999999999999", "-", "4k" };
	char want[256];

	for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++) {
		snprintf(want, sizeof(want), int_msg, bad_ints[i]);
		value_fails(GET_INT, bad_ints[i], want);
	}
	value_fails(GET_BOOL, "maybe",
	    "t.conf:3: [kdc] v: expected yes, no, true or false, got 'maybe'");
	value_fails(GET_BOOL, "", "t.conf:3: [kdc] v: expected yes, no, true or false, got ''");

	static const char *bad_durations[] = { "10x", "h", "10h5", "", "-5s", "2d",
	    "99999999999999999999s", "9999999999999999d", "0s", "5 m", "1.5h" };
	for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
		snprintf(want, sizeof(want), "t.conf:3: [kdc] v: expected a duration like 300s, "
		    "5m, 10h or 7d, from 1s to 86400s, got '%s'", bad_durations[i]);
		value_fails(GET_DURATION, bad_durations[i], want);
	}

	value_fails(GET_ADDRS, "1.2.3.4:99999",
	    "t.conf:3: [kdc] v: port must be a number from 0 to 65535 in '1.2.3.4:99999'");
	value_fails(GET_ADDRS, "1.2.3.4:",
	    "t.conf:3: [kdc] v: port must be a number from 0 to 65535 in '1.2.3.4:'");
	value_fails(GET_ADDRS, "::1:88",
	    "t.conf:3: [kdc] v: write an IPv6 address in brackets, like [::1]:88, not '::1:88'");
	value_fails(GET_ADDRS, "[::1", "t.conf:3: [kdc] v: '[' without ']' in '[::1'");
	value_fails(GET_ADDRS, "[::1]x", "t.conf:3: [kdc] v: expected ':port' after ']' in '[::1]x'");
	value_fails(GET_ADDRS, "kdc.example.com:88",
	    "t.conf:3: [kdc] v: 'kdc.example.com' is not a numeric IPv4 address");
	value_fails(GET_ADDRS, "[1.2.3.4]:88",
	    "t.conf:3: [kdc] v: '1.2.3.4' is not a numeric IPv6 address");
	value_fails(GET_ADDRS, "1.2.3.4,,5.6.7.8", "t.conf:3: [kdc] v: empty address in the list");
	value_fails(GET_ADDRS, "1.2.3.4,", "t.conf:3: [kdc] v: empty address in the list");
	value_fails(GET_ADDRS, "1.1.1.1, 2.2.2.2, 3.3.3.3", "t.conf:3: [kdc] v: more than 2 addresses");
}

static void
test_check_known(void **state)
{
	static const lethe_conf_key known[] = {
		{ NULL, "log" },
		{ "kdc", "workers" },
		{ "kdc", "listen" },
		{ "realms", NULL },     /* any key */
	};
	lethe_conf_error err = { 0 };
	lethe_conf *conf;
	(void)state;

	conf = parse_ok("log = x\n[kdc]\nworkers = 1\nlisten = 1.1.1.1\n[realms]\nA = b\n");
	assert_int_equal(lethe_conf_check_known(conf, known, 4, &err), LETHE_OK);
	lethe_conf_free(conf);

	conf = parse_ok("log = x\n[kdc]\nworkers = 1\nworker = 2\nlisen = 1.1.1.1\n");
	assert_int_equal(lethe_conf_check_known(conf, known, 4, &err), LETHE_ERR_NOT_FOUND);
	assert_int_equal(err.line, 4);
	assert_string_equal(err.text, "t.conf:4: unknown key 'worker' in [kdc] (and 1 more unknown)");
	lethe_conf_free(conf);

	conf = parse_ok("[kcd]\nworkers = 1\n");
	assert_int_equal(lethe_conf_check_known(conf, known, 4, &err), LETHE_ERR_NOT_FOUND);
	assert_string_equal(err.text, "t.conf:2: unknown section [kcd]");
	lethe_conf_free(conf);

	conf = parse_ok("lgo = x\n");
	assert_int_equal(lethe_conf_check_known(conf, known, 4, &err), LETHE_ERR_NOT_FOUND);
	assert_string_equal(err.text, "t.conf:1: unknown key 'lgo'");
	lethe_conf_free(conf);
}

static void
test_load_file(void **state)
{
	char path[] = "test_conf_XXXXXX";
	lethe_conf_error err = { 0 };
	lethe_conf *conf = NULL;
	const char *s;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[kdc]\nworkers = 2\nbad\n", 22), 22);
	close(fd);
	assert_int_equal(lethe_conf_load(path, &conf, &err), LETHE_ERR_FORMAT);
	assert_null(conf);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: expected 'key = value' or '[section]', got 'bad'", path);
	assert_string_equal(err.text, want);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[kdc]\nworkers = 2\n", 18), 18);
	close(fd);
	assert_int_equal(lethe_conf_load(path, &conf, &err), LETHE_OK);
	assert_int_equal(lethe_conf_get_str(conf, "kdc", "workers", NULL, &s), LETHE_OK);
	assert_string_equal(s, "2");
	lethe_conf_free(conf);
	unlink(path);

	assert_int_equal(lethe_conf_load(path, &conf, &err), LETHE_ERR_IO);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err.text, want);
	assert_int_equal(lethe_conf_load(".", &conf, &err), LETHE_ERR_IO);
	assert_string_equal(err.text, ".: not a regular file");
}

static void
test_parse_addrs_standalone(void **state)
{
	lethe_sockaddr a[2];
	lethe_conf_error err = { 0 };
	size_t n = 0;
	(void)state;

	assert_int_equal(lethe_conf_parse_addrs(" [::]:0 , 0.0.0.0 ", 88, a, 2, &n, &err), LETHE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(a[0].ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&a[0].ss)->sin6_port), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&a[1].ss)->sin_port), 88);
	assert_int_equal(lethe_conf_parse_addrs("1.2.3", 88, a, 2, &n, &err), LETHE_ERR_FORMAT);
	assert_string_equal(err.text, "'1.2.3' is not a numeric IPv4 address");
	assert_int_equal(err.line, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_addrs),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_check_known),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_parse_addrs_standalone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
