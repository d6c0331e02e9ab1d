/* The realm master key: generation, hex text form, and its 0600 file. */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define MK_HEX_LEN     (2 * STORE_MASTER_KEY_LEN)
#define MK_TEXT_MAX    256u      /* bytes read from a file or fd */
#define TEMP_NAME_MAX  512u
#define TEMP_ATTEMPTS  8

lethe_status
store_master_key_generate(store_master_key *mk)
{
	ENSURE(mk != NULL, LETHE_ERR_INVALID_ARG);
	if (RAND_priv_bytes(mk->bytes, sizeof(mk->bytes)) != 1) {
		OPENSSL_cleanse(mk, sizeof(*mk));
		return LETHE_ERR_CRYPTO;
	}
	return LETHE_OK;
}

void
store_master_key_wipe(store_master_key *mk)
{
	if (mk != NULL)
		OPENSSL_cleanse(mk, sizeof(*mk));
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

lethe_status
store_master_key_from_hex(const char *text, size_t len, store_master_key *mk)
{
	ENSURE(text != NULL && mk != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(len == MK_HEX_LEN, LETHE_ERR_FORMAT);
	for (size_t i = 0; i < STORE_MASTER_KEY_LEN; i++) {
		int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(mk, sizeof(*mk));
			return LETHE_ERR_FORMAT;
		}
		mk->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return LETHE_OK;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parse text[0..len) as optional whitespace, 64 hex digits, optional whitespace. */
static lethe_status
parse_key_text(const char *text, size_t len, store_master_key *mk)
{
	size_t start = 0, end = len;

	while (start < end && is_space(text[start]))
		start++;
	while (end > start && is_space(text[end - 1]))
		end--;
	return store_master_key_from_hex(text + start, end - start, mk);
}

/* Read fd to its end, at most cap bytes; more is LETHE_ERR_FORMAT. */
static lethe_status
read_bounded(int fd, char *buf, size_t cap, size_t *got)
{
	size_t done = 0;

	for (;;) {
		ssize_t n = read(fd, buf + done, cap - done);

		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n >= 0, LETHE_ERR_IO);
		if (n == 0)
			break;
		done += (size_t)n;
		ENSURE(done < cap, LETHE_ERR_FORMAT);
	}
	*got = done;
	return LETHE_OK;
}

lethe_status
store_master_key_read_fd(int fd, store_master_key *mk)
{
	char buf[MK_TEXT_MAX + 1];
	size_t got = 0;
	lethe_status rc;

	ENSURE(mk != NULL && fd >= 0, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, read_bounded(fd, buf, sizeof(buf), &got));
	rc = parse_key_text(buf, got, mk);
cleanup:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

lethe_status
store_master_key_load(const char *path, store_master_key *mk)
{
	struct stat st;
	int fd;
	lethe_status rc;

	ENSURE(path != NULL && mk != NULL, LETHE_ERR_INVALID_ARG);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? LETHE_ERR_NOT_FOUND : LETHE_ERR_IO;
	ENSURE_GOTO(rc, fstat(fd, &st) == 0, LETHE_ERR_IO);
	ENSURE_GOTO(rc, S_ISREG(st.st_mode), LETHE_ERR_FORMAT);
	rc = store_master_key_read_fd(fd, mk);
cleanup:
	close(fd);
	return rc;
}

/* Write all of buf to fd. */
static lethe_status
write_all(int fd, const char *buf, size_t len)
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

/* Directory of path (a new string) and a pointer to its last component. */
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

/* A new mode-0600 temp file next to base in dirfd; its name into tmp. */
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

/* The key as 64 lowercase hex digits and a newline into text[65]. */
static void
key_to_text(const store_master_key *mk, char text[MK_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < STORE_MASTER_KEY_LEN; i++) {
		text[2 * i] = digits[mk->bytes[i] >> 4];
		text[2 * i + 1] = digits[mk->bytes[i] & 0xf];
	}
	text[MK_HEX_LEN] = '\n';
}

/* Fill the temp file, force 0600, fsync, close. */
static lethe_status
fill_temp(int fd, const store_master_key *mk)
{
	char text[MK_HEX_LEN + 1];
	lethe_status rc = LETHE_OK;

	key_to_text(mk, text);
	ENSURE_GOTO(rc, fchmod(fd, 0600) == 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, write_all(fd, text, sizeof(text)));
	ENSURE_GOTO(rc, fsync(fd) == 0, LETHE_ERR_IO);
cleanup:
	OPENSSL_cleanse(text, sizeof(text));
	if (close(fd) != 0 && rc == LETHE_OK)
		rc = LETHE_ERR_IO;
	return rc;
}

lethe_status
store_master_key_save(const char *path, const store_master_key *mk)
{
	char tmp[TEMP_NAME_MAX];
	const char *base = NULL;
	char *dir = NULL;
	int dirfd = -1, fd = -1, saved_errno = 0;
	bool temp_exists = false;
	lethe_status rc = LETHE_OK;

	ENSURE(path != NULL && mk != NULL, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, split_path(path, &dir, &base));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ENSURE_GOTO(rc, dirfd >= 0, LETHE_ERR_IO);
	GUARD_GOTO(rc, create_temp(dirfd, base, tmp, sizeof(tmp), &fd));
	temp_exists = true;
	GUARD_GOTO(rc, fill_temp(fd, mk));
	/* link(2), unlike rename(2), never replaces an existing key file. */
	ENSURE_GOTO(rc, linkat(dirfd, tmp, dirfd, base, 0) == 0, LETHE_ERR_IO);
	(void)unlinkat(dirfd, tmp, 0);
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
