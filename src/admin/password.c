/* lethe-admin: reading a password from a file, standard input or the terminal. */
#include "admin/admin.h"
#include "base/wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

/*
 * Read one line from fd into buf[0..cap): up to the first newline (not
 * kept; a CR before it is dropped too) or the end of input. One byte at a
 * time so nothing past the line is consumed. LETHE_ERR_TOO_BIG when the
 * line does not fit, LETHE_ERR_FORMAT when it holds a NUL.
 */
static lethe_status
read_line(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		ENSURE(n >= 0, LETHE_ERR_IO);
		if (n == 0 || c == '\n')
			break;
		ENSURE(c != '\0', LETHE_ERR_FORMAT);
		ENSURE(len + 1 < cap, LETHE_ERR_TOO_BIG);
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return LETHE_OK;
}

/* Prompt on the terminal fd and read a line with echo off. */
static lethe_status
prompt_noecho(int fd, const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	lethe_status rc;

	ENSURE(tcgetattr(fd, &old) == 0, LETHE_ERR_IO);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo goes off before the prompt shows, so no answer is echoed. */
	ENSURE(tcsetattr(fd, TCSAFLUSH, &quiet) == 0, LETHE_ERR_IO);
	if (write(fd, prompt, strlen(prompt)) < 0)
		rc = LETHE_ERR_IO;
	else
		rc = read_line(fd, buf, cap);
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0 && rc == LETHE_OK)
		rc = LETHE_ERR_IO;
	return rc;
}

/* Ask twice on the terminal; both answers must match. */
static int
prompt_twice(char *buf, size_t cap)
{
	char again[ADMIN_PASSWORD_MAX + 1];
	int fd, ex = ADMIN_EXIT_OK;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		admin_err("no terminal to ask for a password: use "
		    "--password-stdin or --password-file");
		return ADMIN_EXIT_USAGE;
	}
	if (prompt_noecho(fd, "Password: ", buf, cap) != LETHE_OK ||
	    prompt_noecho(fd, "Password again: ", again, sizeof(again)) != LETHE_OK) {
		admin_err("cannot read the password from the terminal");
		ex = ADMIN_EXIT_OTHER;
	} else if (strcmp(buf, again) != 0) {
		admin_err("the passwords differ");
		ex = ADMIN_EXIT_USAGE;
	}
	lethe_wipe(again, sizeof(again));
	close(fd);
	return ex;
}

int
admin_read_password(admin_ctx *ctx, const char *file, bool from_stdin, char *buf,
    size_t cap)
{
	lethe_status rc;
	int fd, ex;

	if (file != NULL) {
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			admin_err("password file %s: %s", file, strerror(errno));
			return ADMIN_EXIT_OTHER;
		}
		rc = read_line(fd, buf, cap);
		close(fd);
	} else if (from_stdin) {
		if (ctx->stdin_used) {
			admin_err("standard input already holds the master key");
			return ADMIN_EXIT_USAGE;
		}
		ctx->stdin_used = true;
		rc = read_line(STDIN_FILENO, buf, cap);
	} else if (isatty(STDIN_FILENO)) {
		ex = prompt_twice(buf, cap);
		if (ex != ADMIN_EXIT_OK)
			return ex;
		rc = LETHE_OK;
	} else {
		admin_err("no password given: use --password-stdin, "
		    "--password-file or a terminal");
		return ADMIN_EXIT_USAGE;
	}
	if (rc != LETHE_OK) {
		admin_err("cannot read the password: %s", rc == LETHE_ERR_TOO_BIG ?
		    "too long" : lethe_status_str(rc));
		return ADMIN_EXIT_OTHER;
	}
	if (buf[0] == '\0') {
		admin_err("empty password refused");
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}
