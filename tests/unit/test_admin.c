/* Tests of lethe-admin's parsing helpers: durations, enctype lists, JSON strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "admin/admin.h"

static void
test_durations(void **state)
{
	static const struct {
		const char *text;
		int64_t want;
	} good[] = {
		{ "10h", 36000 }, { "7d", 604800 }, { "300s", 300 }, { "300", 300 },
		{ "1h30m", 5400 }, { "2w", 1209600 }, { "0", 0 },
	};
	static const char *const bad[] = {
		"", "10y", "-5", "h", "1h\nx = 2", "10h # comment", "99999999999",
	};
	int64_t v;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(admin_parse_duration(good[i].text, &v), LETHE_OK);
		assert_int_equal(v, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		assert_int_not_equal(admin_parse_duration(bad[i], &v), LETHE_OK);
		assert_int_equal(v, 12345);
	}
}

static void
test_enctype_lists(void **state)
{
	store_realm_policy p;
	(void)state;

	memset(&p, 0, sizeof(p));
	assert_int_equal(admin_parse_enctypes("18 17 20 19", &p), LETHE_OK);
	assert_int_equal(p.nenctypes, 4);
	assert_int_equal(p.enctypes[0], 18);
	assert_int_equal(p.enctypes[3], 19);
	assert_int_equal(admin_parse_enctypes("aes128-cts-hmac-sha256-128, 18", &p),
	    LETHE_OK);
	assert_int_equal(p.nenctypes, 2);
	assert_int_equal(p.enctypes[0], 19);
	assert_int_equal(p.enctypes[1], 18);

	memset(&p, 0, sizeof(p));
	assert_int_not_equal(admin_parse_enctypes("18 18", &p), LETHE_OK);
	assert_int_not_equal(admin_parse_enctypes("18 23", &p), LETHE_OK);
	assert_int_not_equal(admin_parse_enctypes("des-cbc-crc", &p), LETHE_OK);
	assert_int_not_equal(admin_parse_enctypes("", &p), LETHE_OK);
	assert_int_not_equal(admin_parse_enctypes("17 18 19 20 17 18 19 20 17", &p),
	    LETHE_OK);
	assert_int_equal(p.nenctypes, 0);       /* count unchanged on failure */
}

static void
test_json_strings(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	(void)state;

	assert_non_null(fp);
	json_string(fp, "a\"b\\c\n\x01/\x7f" "é");
	fclose(fp);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001/\\u007f" "é\"");
	free(buf);
}

/* A command's own --json is taken out of argv wherever it stands. */
static void
test_take_json(void **state)
{
	char a0[] = "audit", a1[] = "--json", a2[] = "list", a3[] = "--json";
	char *argv[] = { a0, a1, a2, a3, NULL };
	char *plain[] = { a0, a2, NULL };
	admin_ctx ctx;
	int argc = 4;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	admin_take_json(&ctx, &argc, argv);
	assert_true(ctx.json);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[0], "audit");
	assert_string_equal(argv[1], "list");
	assert_null(argv[2]);
	/* Without the flag nothing changes; argv[0] is never taken. */
	memset(&ctx, 0, sizeof(ctx));
	argc = 2;
	admin_take_json(&ctx, &argc, plain);
	assert_false(ctx.json);
	assert_int_equal(argc, 2);
	argv[0] = a1;
	argc = 1;
	admin_take_json(&ctx, &argc, argv);
	assert_false(ctx.json);
	assert_int_equal(argc, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_enctype_lists),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_take_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
