#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/wipe.h"

#define TEMP_ATTEMPTS 8
#define TEMP_NAME_MAX 512         /* the name, not the path; NAME_MAX is less */

/* Read fd (a regular file of size bytes, size <= max) into a new buffer. */
static lethe_status
read_fd(int fd, size_t size, uint8_t **out, size_t *out_len)
{
	size_t cap = size + 1, used = 0;
	uint8_t *buf = malloc(cap);
	lethe_status rc = LETHE_OK;

	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	/* The file may grow meanwhile: read at most size bytes, then expect EOF. */
	for (;;) {
		ssize_t n = read(fd, buf + used, cap - used);

		if (n < 0 && errno == EINTR)
			continue;
		ENSURE_GOTO(rc, n >= 0, LETHE_ERR_IO);
		if (n == 0)
			break;
		used += (size_t)n;
		ENSURE_GOTO(rc, used < cap, LETHE_ERR_TOO_BIG);
	}
	buf[used] = 0;
	*out = buf;
	*out_len = used;
	buf = NULL;
cleanup:
	if (buf != NULL) {
		lethe_wipe(buf, cap);
		free(buf);
	}
	return rc;
}

lethe_status
lethe_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
	struct stat st;
	int fd, saved_errno;
	lethe_status rc = LETHE_OK;

	ENSURE(path != NULL && out != NULL && out_len != NULL && max < SIZE_MAX,
	    LETHE_ERR_INVALID_ARG);
	*out = NULL;
	*out_len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	ENSURE_GOTO(rc, fstat(fd, &st) == 0, LETHE_ERR_IO);
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		rc = LETHE_ERR_IO;
		goto cleanup;
	}
	ENSURE_GOTO(rc, st.st_size >= 0 && (uintmax_t)st.st_size <= max, LETHE_ERR_TOO_BIG);
	rc = read_fd(fd, (size_t)st.st_size, out, out_len);
cleanup:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return rc;
}

lethe_status
lethe_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n > 0, LETHE_ERR_IO);
		p += n;
		len -= (size_t)n;
	}
	return LETHE_OK;
}

/*
 * Split path into a directory (a new string in *dir) and its last
 * component (*base points into path). "name" lives in ".", "/name" in "/".
 */
static lethe_status
split_path(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	*dir = NULL;
	*base = slash != NULL ? slash + 1 : path;
	ENSURE(**base != '\0' && strcmp(*base, ".") != 0 &&
	    strcmp(*base, "..") != 0, LETHE_ERR_INVALID_ARG);
	if (slash == NULL)
		*dir = strdup(".");
	else
		*dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	ENSURE(*dir != NULL, LETHE_ERR_NOMEM);
	return LETHE_OK;
}

/* Create a new mode-0600 temp file next to base in dirfd; its name into tmp. */
static lethe_status
create_temp(int dirfd, const char *base, char *tmp, size_t cap, int *fd_out)
{
	unsigned char rnd[8];
	int n;

	*fd_out = -1;
	for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
		ENSURE(RAND_bytes(rnd, sizeof(rnd)) == 1, LETHE_ERR_CRYPTO);
		n = snprintf(tmp, cap, ".%s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp",
		    base, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		    rnd[7]);
		ENSURE(n > 0 && (size_t)n < cap, LETHE_ERR_INVALID_ARG);
		*fd_out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd_out >= 0)
			return LETHE_OK;
		ENSURE(errno == EEXIST, LETHE_ERR_IO);
	}
	return LETHE_ERR_IO;
}

/*
 * Fill the temp file fd: owner (a chown may clear mode bits, so first),
 * mode 0600 whatever the umask, data, sync, close.
 */
static lethe_status
fill_temp(int fd, const uint8_t *data, size_t len, uid_t uid, gid_t gid)
{
	lethe_status rc = LETHE_OK;

	if (uid != LETHE_FILE_KEEP_UID || gid != LETHE_FILE_KEEP_GID)
		ENSURE_GOTO(rc, fchown(fd, uid, gid) == 0, LETHE_ERR_IO);
	ENSURE_GOTO(rc, fchmod(fd, 0600) == 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, lethe_write_all(fd, data, len));
	ENSURE_GOTO(rc, fsync(fd) == 0, LETHE_ERR_IO);
cleanup:
	if (close(fd) != 0 && rc == LETHE_OK)
		rc = LETHE_ERR_IO;
	return rc;
}

lethe_status
lethe_file_write_secret(const char *path, const uint8_t *data, size_t len, bool replace)
{
	return lethe_file_write_secret_owned(path, data, len, replace, LETHE_FILE_KEEP_UID,
	    LETHE_FILE_KEEP_GID);
}

lethe_status
lethe_file_write_secret_owned(const char *path, const uint8_t *data, size_t len,
    bool replace, uid_t uid, gid_t gid)
{
	char tmp[TEMP_NAME_MAX];
	const char *base = NULL;
	char *dir = NULL;
	int dirfd = -1, fd = -1, saved_errno;
	bool temp_exists = false;
	lethe_status rc = LETHE_OK;

	ENSURE(path != NULL && (data != NULL || len == 0), LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, split_path(path, &dir, &base));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ENSURE_GOTO(rc, dirfd >= 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, create_temp(dirfd, base, tmp, sizeof(tmp), &fd));
	temp_exists = true;
	GUARD_GOTO(rc, fill_temp(fd, data, len, uid, gid));
	if (replace) {
		ENSURE_GOTO(rc, renameat(dirfd, tmp, dirfd, base) == 0, LETHE_ERR_IO);
	} else {
		/* link(2), unlike rename(2), never replaces an existing file. */
		ENSURE_GOTO(rc, linkat(dirfd, tmp, dirfd, base, 0) == 0, LETHE_ERR_IO);
		(void)unlinkat(dirfd, tmp, 0);
	}
	temp_exists = false;
	ENSURE_GOTO(rc, fsync(dirfd) == 0, LETHE_ERR_IO);
cleanup:
	saved_errno = errno;
	if (temp_exists)
		(void)unlinkat(dirfd, tmp, 0);
	if (dirfd >= 0)
		close(dirfd);
	free(dir);
	errno = saved_errno;
	return rc;
}
