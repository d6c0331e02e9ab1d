/* Deadlines on the monotonic clock, and waiting for a descriptor until one. */
#ifndef LETHE_BASE_WAIT_H
#define LETHE_BASE_WAIT_H

#include <stdint.h>

#include "base/status.h"

/* Milliseconds on the monotonic clock (for deadlines, not dates). */
int64_t lethe_now_ms(void);

/* Microseconds on the monotonic clock (for durations, not dates). */
uint64_t lethe_now_us(void);

/*
 * Wait until fd is ready for events (POLLIN, POLLOUT) or the deadline
 * (lethe_now_ms() time) passes: LETHE_ERR_IO with errno ETIMEDOUT then,
 * LETHE_ERR_IO with poll's errno on another failure. EINTR is retried.
 */
lethe_status lethe_wait_fd(int fd, short events, int64_t deadline_ms);

#endif
