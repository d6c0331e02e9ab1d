/* The realm master key: generation, hex text form, and its 0600 file. */
#include "base/wipe.h"
#include "store/store_internal.h"
#include "base/file.h"

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

lethe_status
store_master_key_generate(store_master_key *mk)
{
	ENSURE(mk != NULL, LETHE_ERR_INVALID_ARG);
	if (RAND_priv_bytes(mk->bytes, sizeof(mk->bytes)) != 1) {
		lethe_wipe(mk, sizeof(*mk));
		return LETHE_ERR_CRYPTO;
	}
	return LETHE_OK;
}

void
store_master_key_wipe(store_master_key *mk)
{
	if (mk != NULL)
		lethe_wipe(mk, sizeof(*mk));
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
			lethe_wipe(mk, sizeof(*mk));
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
	lethe_wipe(buf, sizeof(buf));
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

lethe_status
store_master_key_save(const char *path, const store_master_key *mk)
{
	char text[MK_HEX_LEN + 1];
	int saved_errno;
	lethe_status rc;

	ENSURE(path != NULL && mk != NULL, LETHE_ERR_INVALID_ARG);
	key_to_text(mk, text);
	/* Never replaces an existing key file. */
	rc = lethe_file_write_secret(path, (const uint8_t *)text, sizeof(text), false);
	saved_errno = errno;
	lethe_wipe(text, sizeof(text));
	errno = saved_errno;
	return rc;
}
