/* Keytab files: whole-file read and atomic replace. */
#include "base/wipe.h"
#include "keytab/kt_internal.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>


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
		lethe_wipe(buf, size);
	free(buf);
	close(fd);
	return rc;
}

lethe_status
kt_save(const kt_keytab *kt, const char *path)
{
	return kt_save_owned(kt, path, KT_OWNER_KEEP, KT_GROUP_KEEP);
}

lethe_status
kt_save_owned(const kt_keytab *kt, const char *path, uid_t uid, gid_t gid)
{
	uint8_t *image = NULL;
	size_t image_len = 0;
	lethe_status rc;

	ENSURE(kt != NULL && path != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(kt_serialize(kt, &image, &image_len));
	rc = lethe_file_write_secret_owned(path, image, image_len, true, uid, gid);
	kt_image_free(image, image_len);
	return rc;
}
