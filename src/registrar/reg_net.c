/*
 * Framing of registration messages on TCP: a 4-byte big-endian length,
 * then the message. Every wait is bounded by a deadline.
 */
#include "registrar/registrar.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/wait.h"

/* Send buf[0..len) before the deadline. */
static lethe_status
send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		GUARD(lethe_wait_fd(fd, POLLOUT, deadline));
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return LETHE_ERR_IO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return LETHE_OK;
}

/* Receive exactly len bytes before the deadline; EOF inside is LETHE_ERR_FORMAT. */
static lethe_status
recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		GUARD(lethe_wait_fd(fd, POLLIN, deadline));
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return LETHE_ERR_IO;
		}
		ENSURE(n != 0, LETHE_ERR_FORMAT);
		buf += n;
		len -= (size_t)n;
	}
	return LETHE_OK;
}

lethe_status
reg_frame_length(const uint8_t hdr[REG_FRAME_HEADER_LEN], size_t max, size_t *len)
{
	uint32_t n = lethe_load_be32(hdr);

	*len = 0;
	ENSURE(n != 0, LETHE_ERR_FORMAT);
	ENSURE(n <= max && n <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	*len = n;
	return LETHE_OK;
}

lethe_status
reg_write_frame(int fd, const uint8_t *msg, size_t len, unsigned timeout_ms)
{
	int64_t deadline = lethe_now_ms() + timeout_ms;
	uint8_t hdr[REG_FRAME_HEADER_LEN];

	ENSURE(fd >= 0 && msg != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(len != 0 && len <= REG_MAX_MESSAGE, LETHE_ERR_INVALID_ARG);
	lethe_store_be32(hdr, (uint32_t)len);
	GUARD(send_all(fd, hdr, sizeof(hdr), deadline));
	return send_all(fd, msg, len, deadline);
}

lethe_status
reg_read_frame(int fd, size_t max, unsigned timeout_ms, uint8_t **out, size_t *out_len)
{
	int64_t deadline = lethe_now_ms() + timeout_ms;
	uint8_t hdr[REG_FRAME_HEADER_LEN];
	uint8_t *buf;
	size_t len;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	ENSURE(fd >= 0, LETHE_ERR_INVALID_ARG);
	GUARD(recv_all(fd, hdr, sizeof(hdr), deadline));
	GUARD(reg_frame_length(hdr, max, &len));
	buf = malloc(len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	rc = recv_all(fd, buf, len, deadline);
	if (rc != LETHE_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = len;
	return LETHE_OK;
}

lethe_status
reg_parse_endpoint(const char *text, lethe_sockaddr *out)
{
	size_t n = 0;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	ENSURE(text != NULL, LETHE_ERR_INVALID_ARG);
	/* One address, nothing around it: no list, no blanks. */
	ENSURE(text[strcspn(text, ", \t")] == '\0', LETHE_ERR_FORMAT);
	/* The configuration's address syntax; without ":port" the port is 0, refused. */
	GUARD(lethe_conf_parse_addrs(text, 0, out, 1, &n, NULL));
	ENSURE(n == 1, LETHE_ERR_FORMAT);
	port = out->ss.ss_family == AF_INET6 ?
	    ntohs(((const struct sockaddr_in6 *)&out->ss)->sin6_port) :
	    ntohs(((const struct sockaddr_in *)&out->ss)->sin_port);
	ENSURE(port != 0, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

/* A non-blocking TCP socket connected to addr before the deadline. */
static lethe_status
connect_by(const lethe_sockaddr *addr, int64_t deadline, int *out)
{
	int fd, err = 0;
	socklen_t elen = sizeof(err);
	lethe_status rc = LETHE_OK;

	*out = -1;
	ENSURE(addr != NULL && addr->len > 0, LETHE_ERR_INVALID_ARG);
	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0) {
		ENSURE_GOTO(rc, errno == EINPROGRESS || errno == EINTR, LETHE_ERR_IO);
		GUARD_GOTO(rc, lethe_wait_fd(fd, POLLOUT, deadline));
		ENSURE_GOTO(rc, getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0,
		    LETHE_ERR_IO);
		if (err != 0) {
			errno = err;
			ENSURE_GOTO(rc, false, LETHE_ERR_IO);
		}
	}
	*out = fd;
	fd = -1;
cleanup:
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return rc;
}

lethe_status
reg_client_exchange_addr(const lethe_sockaddr *addr, const uint8_t *req, size_t req_len,
    unsigned timeout_ms, uint8_t **reply, size_t *reply_len)
{
	int fd = -1;
	lethe_status rc;

	*reply = NULL;
	*reply_len = 0;
	GUARD(connect_by(addr, lethe_now_ms() + timeout_ms, &fd));
	GUARD_GOTO(rc, reg_write_frame(fd, req, req_len, timeout_ms));
	rc = reg_read_frame(fd, REG_MAX_MESSAGE, timeout_ms, reply, reply_len);
cleanup:
	close(fd);
	return rc;
}

lethe_status
reg_client_exchange(const char *endpoint, const uint8_t *req, size_t req_len,
    unsigned timeout_ms, uint8_t **reply, size_t *reply_len)
{
	lethe_sockaddr addr;

	*reply = NULL;
	*reply_len = 0;
	GUARD(reg_parse_endpoint(endpoint, &addr));
	return reg_client_exchange_addr(&addr, req, req_len, timeout_ms, reply, reply_len);
}

/* Wait for the peer's EOF, discarding what it sends, until the deadline. */
static void
wait_peer_close(int fd, int64_t deadline)
{
	uint8_t sink[256];
	ssize_t n;

	while (lethe_wait_fd(fd, POLLIN, deadline) == LETHE_OK) {
		n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			return;
	}
}

lethe_status
reg_send_oneway(const lethe_sockaddr *addr, const uint8_t *msg, size_t len,
    unsigned timeout_ms)
{
	int fd = -1;
	lethe_status rc;

	GUARD(connect_by(addr, lethe_now_ms() + timeout_ms, &fd));
	GUARD_GOTO(rc, reg_write_frame(fd, msg, len, timeout_ms));
	shutdown(fd, SHUT_WR);
	wait_peer_close(fd, lethe_now_ms() + timeout_ms);
cleanup:
	close(fd);
	return rc;
}
