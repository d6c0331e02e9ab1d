/* Keytab files: whole-file read and atomic replace. */
#include "keytab/kt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define TEMP_ATTEMPTS 8
#define TEMP_NAME_MAX 512         /* the name, not the path; NAME_MAX is less */

/* Read up to cap bytes of fd into buf; *got receives how many. */
static lethe_status
read_all(int fd, uint8_t *buf, size_t cap, size_t *got)
{
	size_t done = 0;

	while (done < cap) {
		ssize_t n = read(fd, buf + done, cap - done);

		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n >= 0, LETHE_ERR_IO);
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*got = done;
	return LETHE_OK;
}

lethe_status
kt_load(const char *path, kt_keytab **out)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t size = 0, got = 0;
	int fd;
	lethe_status rc = LETHE_OK;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? LETHE_ERR_NOT_FOUND : LETHE_ERR_IO;
	ENSURE_GOTO(rc, fstat(fd, &st) == 0 && S_ISREG(st.st_mode), LETHE_ERR_IO);
	ENSURE_GOTO(rc, st.st_size >= 0 &&
	    (uintmax_t)st.st_size <= KT_MAX_FILE_SIZE, LETHE_ERR_TOO_BIG);
	size = (size_t)st.st_size;
	buf = malloc(size > 0 ? size : 1);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, read_all(fd, buf, size, &got));
	GUARD_GOTO(rc, kt_parse(buf, got, out));
cleanup:
	if (buf != NULL)
		OPENSSL_cleanse(buf, size);
	free(buf);
	close(fd);
	return rc;
}

/* Write all of buf to fd. */
static lethe_status
write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n > 0, LETHE_ERR_IO);
		buf += n;
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
	size_t dir_len;

	*dir = NULL;
	*base = slash != NULL ? slash + 1 : path;
	ENSURE(**base != '\0' && strcmp(*base, ".") != 0 &&
	    strcmp(*base, "..") != 0, LETHE_ERR_INVALID_ARG);
	if (slash == NULL)
		*dir = strdup(".");
	else {
		dir_len = slash == path ? 1 : (size_t)(slash - path);
		*dir = strndup(path, dir_len);
	}
	ENSURE(*dir != NULL, LETHE_ERR_NOMEM);
	return LETHE_OK;
}

/* Create a new mode-0600 temp file next to base in dirfd; name into tmp. */
static lethe_status
create_temp(int dirfd, const char *base, char *tmp, size_t tmp_size, int *fd_out)
{
	unsigned char rnd[8];
	int n;

	*fd_out = -1;
	for (int attempt = 0; attempt < TEMP_ATTEMPTS; attempt++) {
		ENSURE(RAND_bytes(rnd, sizeof(rnd)) == 1, LETHE_ERR_CRYPTO);
		n = snprintf(tmp, tmp_size, ".%s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp",
		    base, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		    rnd[7]);
		ENSURE(n > 0 && (size_t)n < tmp_size, LETHE_ERR_INVALID_ARG);
		*fd_out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd_out >= 0)
			return LETHE_OK;
		ENSURE(errno == EEXIST, LETHE_ERR_IO);
	}
	return LETHE_ERR_IO;
}

/* Fill the temp file fd with image, force mode 0600 (whatever the umask), sync, close. */
static lethe_status
fill_temp(int fd, const uint8_t *image, size_t len)
{
	lethe_status rc = LETHE_OK;

	ENSURE_GOTO(rc, fchmod(fd, 0600) == 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, write_all(fd, image, len));
	ENSURE_GOTO(rc, fsync(fd) == 0, LETHE_ERR_IO);
cleanup:
	if (close(fd) != 0 && rc == LETHE_OK)
		rc = LETHE_ERR_IO;
	return rc;
}

lethe_status
kt_save(const kt_keytab *kt, const char *path)
{
	char tmp[TEMP_NAME_MAX];
	const char *base = NULL;
	char *dir = NULL;
	uint8_t *image = NULL;
	size_t image_len = 0;
	int dirfd = -1, fd = -1;
	bool temp_exists = false;
	lethe_status rc = LETHE_OK;

	GUARD_GOTO(rc, split_path(path, &dir, &base));
	GUARD_GOTO(rc, kt_serialize(kt, &image, &image_len));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ENSURE_GOTO(rc, dirfd >= 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, create_temp(dirfd, base, tmp, sizeof(tmp), &fd));
	temp_exists = true;
	GUARD_GOTO(rc, fill_temp(fd, image, image_len));
	ENSURE_GOTO(rc, renameat(dirfd, tmp, dirfd, base) == 0, LETHE_ERR_IO);
	temp_exists = false;
	ENSURE_GOTO(rc, fsync(dirfd) == 0, LETHE_ERR_IO);
cleanup:
	if (temp_exists)
		(void)unlinkat(dirfd, tmp, 0);
	if (dirfd >= 0)
		close(dirfd);
	kt_image_free(image, image_len);
	free(dir);
	return rc;
}
