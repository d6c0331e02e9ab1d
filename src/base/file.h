/* Files that hold secrets: atomic, mode-0600 writes. */
#ifndef LETHE_BASE_FILE_H
#define LETHE_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Write all len bytes of buf to fd, retrying on EINTR and short writes. */
lethe_status lethe_write_all(int fd, const void *buf, size_t len);

/*
 * Write data[0..len) to path atomically, as a mode-0600 file: a new temp
 * file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode forced
 * whatever the umask), write, fsync, then rename over path (replace true)
 * or link to path (replace false: never replaces an existing file, which
 * gives LETHE_ERR_IO with errno EEXIST), and fsync the directory. On
 * failure before the rename or link the old file is untouched and the temp
 * file removed; errno is kept for the caller's message. A symlink at path
 * is replaced, not followed.
 */
lethe_status lethe_file_write_secret(const char *path, const uint8_t *data, size_t len,
    bool replace);

#endif
