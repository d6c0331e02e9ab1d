/* Files: bounded whole-file reads; for secrets, atomic mode-0600 writes. */
#ifndef LETHE_BASE_FILE_H
#define LETHE_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/status.h"

/* "Leave as it is" for lethe_file_write_secret_owned's uid and gid. */
#define LETHE_FILE_KEEP_UID ((uid_t)-1)
#define LETHE_FILE_KEEP_GID ((gid_t)-1)

/*
 * Read the whole regular file at path, at most max bytes, into a new
 * buffer: *out (malloc'd, one byte more than *out_len, NUL-terminated so
 * text can be parsed in place; the caller frees it, wiping it first when
 * it may hold a secret) and *out_len. Retries on EINTR and short reads.
 * LETHE_ERR_IO when the file cannot be opened or read, or is not a
 * regular file (errno kept for the caller's message: ENOENT, EISDIR,
 * EINVAL for other kinds); LETHE_ERR_TOO_BIG when it holds or grows to
 * more than max bytes. On failure *out is NULL and nothing read is left
 * unwiped.
 */
lethe_status lethe_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len);

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

/*
 * As lethe_file_write_secret, with the new file given to uid and gid
 * (LETHE_FILE_KEEP_UID / _GID: unchanged) before it is written and
 * renamed, so the file never appears at path with another owner (e.g. a
 * keytab for a service running as www-data). A chown the process may not
 * make is LETHE_ERR_IO, and the old file stays.
 */
lethe_status lethe_file_write_secret_owned(const char *path, const uint8_t *data, size_t len,
    bool replace, uid_t uid, gid_t gid);

#endif
