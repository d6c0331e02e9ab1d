#include "base/wait.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

int64_t
lethe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
lethe_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

lethe_status
lethe_wait_fd(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline_ms - lethe_now_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return LETHE_ERR_IO;
		}
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return LETHE_OK;
		if (n < 0 && errno != EINTR)
			return LETHE_ERR_IO;
	}
}
