/* kc_random_bytes: the per-thread pool in front of RAND_priv_bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/crypto.h"

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Consecutive draws, across pool refills and of every size, never repeat. */
static void
test_draws_differ(void **state)
{
	uint8_t prev[32] = { 0 }, cur[32];
	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(kc_random_bytes(cur, sizeof(cur)), LETHE_OK);
		assert_false(all_zero(cur, sizeof(cur)));
		assert_memory_not_equal(prev, cur, sizeof(cur));
		memcpy(prev, cur, sizeof(cur));
	}
	uint8_t big[4096];
	memset(big, 0, sizeof(big));
	assert_int_equal(kc_random_bytes(big, sizeof(big)), LETHE_OK);
	assert_false(all_zero(big + 4064, 32));
	assert_int_equal(kc_random_bytes(cur, 0), LETHE_OK);
}

/* After fork, parent and child draw different bytes. */
static void
test_fork_does_not_share_pool(void **state)
{
	uint8_t warm[16], parent[32], child[32];
	int fds[2], status;
	(void)state;
	assert_int_equal(kc_random_bytes(warm, sizeof(warm)), LETHE_OK); /* pool filled */
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t mine[32];
		int ok = kc_random_bytes(mine, sizeof(mine)) == LETHE_OK &&
		    write(fds[1], mine, sizeof(mine)) == (ssize_t)sizeof(mine);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(kc_random_bytes(parent, sizeof(parent)), LETHE_OK);
	assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_memory_not_equal(parent, child, sizeof(parent));
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_draws_differ),
		cmocka_unit_test(test_fork_does_not_share_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
