#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/file.h"
#include "base/status.h"
#include "base/wait.h"

static void
test_status_strings(void **state)
{
	(void)state;
	assert_string_equal(lethe_status_str(LETHE_OK), "success");
	assert_string_equal(lethe_status_str(LETHE_ERR_DER_TRUNCATED), "DER: input truncated");
	assert_string_equal(lethe_status_str((lethe_status)999), "unknown status");
	for (int i = 0; i < LETHE_STATUS_COUNT; i++)
		assert_string_not_equal(lethe_status_str((lethe_status)i), "unknown status");
}

static void
test_arena_budget_and_reset(void **state)
{
	lethe_arena a;
	(void)state;
	lethe_arena_init(&a, 10000);
	uint8_t *p = lethe_arena_alloc(&a, 100);
	assert_non_null(p);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xab, 100);
	assert_null(lethe_arena_alloc(&a, 9901));     /* over budget */
	assert_non_null(lethe_arena_alloc(&a, 5000)); /* forces a second block */
	assert_null(lethe_arena_calloc(&a, SIZE_MAX / 2, 4));
	lethe_arena_reset(&a);
	assert_int_equal(a.used_total, 0);
	uint8_t *q = lethe_arena_alloc(&a, 100);
	assert_non_null(q);
	for (int i = 0; i < 100; i++)
		assert_int_equal(q[i], 0);         /* reused memory comes back zeroed */
	lethe_arena_free(&a);
	assert_null(a.head);
}

static void
test_bytes_compare(void **state)
{
	(void)state;
	assert_true(lbytes_eq(LBYTES_LIT("abc"), LBYTES_LIT("abc")));
	assert_false(lbytes_eq(LBYTES_LIT("abc"), LBYTES_LIT("abd")));
	assert_false(lbytes_eq(LBYTES_LIT("abc"), LBYTES_LIT("ab")));
	assert_true(lbytes_ct_eq(LBYTES_LIT(""), LBYTES_LIT("")));
	assert_true(lbytes_ct_eq(LBYTES_LIT("key"), LBYTES_LIT("key")));
	assert_false(lbytes_ct_eq(LBYTES_LIT("key"), LBYTES_LIT("kez")));
	assert_false(lbytes_ct_eq(LBYTES_LIT("key"), LBYTES_LIT("keys")));
}

/* A pipe with nothing in it times out at the deadline; once written, it is ready. */
static void
test_wait_fd(void **state)
{
	int p[2];
	int64_t start;

	(void)state;
	assert_int_equal(pipe(p), 0);
	start = lethe_now_ms();
	assert_int_equal(lethe_wait_fd(p[0], POLLIN, start + 50), LETHE_ERR_IO);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(lethe_now_ms() >= start + 50);
	assert_int_equal(lethe_wait_fd(p[0], POLLIN, start - 1), LETHE_ERR_IO);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(lethe_wait_fd(p[0], POLLIN, lethe_now_ms() + 1000), LETHE_OK);
	assert_int_equal(lethe_wait_fd(p[1], POLLOUT, lethe_now_ms() + 1000), LETHE_OK);
	close(p[0]);
	close(p[1]);
}

static void
test_big_endian(void **state)
{
	uint8_t b[6] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };

	(void)state;
	lethe_store_be32(b + 1, 0x01020304u);
	assert_memory_equal(b, "\xaa\x01\x02\x03\x04\xaa", 6);
	assert_int_equal(lethe_load_be32(b + 1), 0x01020304u);
	lethe_store_be32(b, 0xfedcba98u);
	assert_memory_equal(b, "\xfe\xdc\xba\x98\x04\xaa", 6);
	assert_int_equal(lethe_load_be32(b), 0xfedcba98u);
	lethe_store_be16(b + 4, 0x8001u);
	assert_memory_equal(b + 3, "\x98\x80\x01", 3);
	assert_int_equal(lethe_load_be16(b + 4), 0x8001u);
	assert_int_equal(lethe_load_be16(b), 0xfedcu);
}

/* Write len bytes of 'x' to dir/name; its path into path. */
static void
make_file(char *path, size_t cap, const char *dir, const char *name, size_t len)
{
	FILE *fp;

	assert_true((size_t)snprintf(path, cap, "%s/%s", dir, name) < cap);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(fputc('x', fp), 'x');
	assert_int_equal(fclose(fp), 0);
}

static void
test_file_read(void **state)
{
	char dir[] = "/tmp/lethe-test-base-XXXXXX", path[PATH_MAX];
	uint8_t *buf = (uint8_t *)"not touched";
	size_t len = 99;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* empty: a buffer of one NUL */
	make_file(path, sizeof(path), dir, "empty", 0);
	assert_int_equal(lethe_file_read(path, 16, &buf, &len), LETHE_OK);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], 0);
	free(buf);
	assert_int_equal(unlink(path), 0);
	/* exactly max bytes: read whole and NUL-terminated */
	make_file(path, sizeof(path), dir, "max", 16);
	assert_int_equal(lethe_file_read(path, 16, &buf, &len), LETHE_OK);
	assert_int_equal(len, 16);
	assert_memory_equal(buf, "xxxxxxxxxxxxxxxx", 17);
	free(buf);
	/* one byte over max */
	assert_int_equal(lethe_file_read(path, 15, &buf, &len), LETHE_ERR_TOO_BIG);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(unlink(path), 0);
	/* a directory is not a regular file */
	assert_int_equal(lethe_file_read(dir, 16, &buf, &len), LETHE_ERR_IO);
	assert_int_equal(errno, EISDIR);
	assert_null(buf);
	/* missing: errno says so */
	assert_true((size_t)snprintf(path, sizeof(path), "%s/missing", dir) < sizeof(path));
	assert_int_equal(lethe_file_read(path, 16, &buf, &len), LETHE_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_null(buf);
	/* nor is a device */
	assert_int_equal(lethe_file_read("/dev/null", 16, &buf, &len), LETHE_ERR_IO);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_strings),
		cmocka_unit_test(test_arena_budget_and_reset),
		cmocka_unit_test(test_bytes_compare),
		cmocka_unit_test(test_wait_fd),
		cmocka_unit_test(test_file_read),
		cmocka_unit_test(test_big_endian),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
