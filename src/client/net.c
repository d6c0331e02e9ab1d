/* Client transport to a KDC: UDP with retries, TCP with 4-byte framing. */
#include "client/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "base/wait.h"

#define KCL_UDP_MAX 65536u       /* largest datagram we accept */

/* Copy a decimal port 1..65535 from text into port[6]. */
static lethe_status
parse_port(const char *text, char port[6])
{
	size_t len = strlen(text);
	unsigned long v = 0;

	ENSURE(len >= 1 && len <= 5, LETHE_ERR_FORMAT);
	for (size_t i = 0; i < len; i++) {
		ENSURE(text[i] >= '0' && text[i] <= '9', LETHE_ERR_FORMAT);
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	ENSURE(v >= 1 && v <= 65535, LETHE_ERR_FORMAT);
	memcpy(port, text, len + 1);
	return LETHE_OK;
}

lethe_status
kcl_kdc_parse(const char *hostport, kcl_kdc *out)
{
	char host[256], port[6] = "88";
	const char *colon;
	struct addrinfo hints = { 0 }, *res = NULL;
	size_t hlen;

	ENSURE(hostport != NULL && hostport[0] != '\0', LETHE_ERR_INVALID_ARG);
	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');
		ENSURE(end != NULL, LETHE_ERR_FORMAT);
		hlen = (size_t)(end - hostport - 1);
		ENSURE(hlen < sizeof(host), LETHE_ERR_FORMAT);
		memcpy(host, hostport + 1, hlen);
		colon = end[1] == ':' ? end + 1 : NULL;
		ENSURE(end[1] == '\0' || colon != NULL, LETHE_ERR_FORMAT);
	} else {
		colon = strrchr(hostport, ':');
		ENSURE(colon == NULL || strchr(hostport, ':') == colon, LETHE_ERR_FORMAT);
		hlen = colon != NULL ? (size_t)(colon - hostport) : strlen(hostport);
		ENSURE(hlen < sizeof(host), LETHE_ERR_FORMAT);
		memcpy(host, hostport, hlen);
	}
	host[hlen] = '\0';
	if (colon != NULL)
		GUARD(parse_port(colon + 1, port));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	ENSURE(getaddrinfo(host, port, &hints, &res) == 0 && res != NULL, LETHE_ERR_NOT_FOUND);
	if (res->ai_addrlen > sizeof(out->addr)) {
		freeaddrinfo(res);
		return LETHE_ERR_FORMAT;
	}
	memset(out, 0, sizeof(*out));
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->addr_len = (socklen_t)res->ai_addrlen;
	out->transport = KCL_TRANSPORT_UDP;
	out->timeout_ms = KCL_DEFAULT_TIMEOUT_MS;
	out->udp_tries = KCL_DEFAULT_UDP_TRIES;
	freeaddrinfo(res);
	return LETHE_OK;
}

/* A socket of type connected to the KDC (non-blocking), in *fd. */
static lethe_status
open_socket(const kcl_kdc *kdc, int type, int64_t deadline, int *fd)
{
	int s = socket(kdc->addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	lethe_status rc = LETHE_OK;

	ENSURE(s >= 0, LETHE_ERR_IO);
	if (connect(s, (const struct sockaddr *)&kdc->addr, kdc->addr_len) != 0) {
		int err = 0;
		socklen_t elen = sizeof(err);

		ENSURE_GOTO(rc, errno == EINPROGRESS, LETHE_ERR_IO);
		GUARD_GOTO(rc, lethe_wait_fd(s, POLLOUT, deadline));
		ENSURE_GOTO(rc, getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0,
			    LETHE_ERR_IO);
	}
	*fd = s;
	s = -1;
cleanup:
	if (s >= 0)
		close(s);
	return rc;
}

/* Write all of data to a non-blocking stream socket before deadline. */
static lethe_status
write_all(int fd, const uint8_t *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		ENSURE(n < 0 && (errno == EAGAIN || errno == EINTR), LETHE_ERR_IO);
		GUARD(lethe_wait_fd(fd, POLLOUT, deadline));
	}
	return LETHE_OK;
}

/* Read exactly len bytes from a non-blocking stream socket before deadline. */
static lethe_status
read_all(int fd, uint8_t *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, data, len, 0);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		ENSURE(n != 0, LETHE_ERR_IO);      /* peer closed early */
		ENSURE(errno == EAGAIN || errno == EINTR, LETHE_ERR_IO);
		GUARD(lethe_wait_fd(fd, POLLIN, deadline));
	}
	return LETHE_OK;
}

lethe_status
kcl_frame_length(const uint8_t hdr[4], size_t max, size_t *len)
{
	uint32_t n = lethe_load_be32(hdr);

	ENSURE((n & 0x80000000u) == 0, LETHE_ERR_UNSUPPORTED);   /* RFC 4120 §7.2.2 */
	ENSURE(n > 0, LETHE_ERR_FORMAT);
	ENSURE(n <= max, LETHE_ERR_TOO_BIG);
	*len = n;
	return LETHE_OK;
}

void
kcl_frame_header(size_t len, uint8_t hdr[4])
{
	lethe_store_be32(hdr, (uint32_t)len);
}

static lethe_status
exchange_tcp(const kcl_kdc *kdc, const uint8_t *req, size_t req_len,
	     uint8_t **rep, size_t *rep_len)
{
	int64_t deadline = lethe_now_ms() + kdc->timeout_ms;
	uint8_t hdr[4], *buf = NULL;
	size_t len = 0;
	int fd = -1;
	lethe_status rc;

	ENSURE(req_len <= KCL_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	GUARD(open_socket(kdc, SOCK_STREAM, deadline, &fd));
	kcl_frame_header(req_len, hdr);
	GUARD_GOTO(rc, write_all(fd, hdr, sizeof(hdr), deadline));
	GUARD_GOTO(rc, write_all(fd, req, req_len, deadline));
	GUARD_GOTO(rc, read_all(fd, hdr, sizeof(hdr), deadline));
	GUARD_GOTO(rc, kcl_frame_length(hdr, KCL_MAX_MESSAGE, &len));
	buf = malloc(len);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, read_all(fd, buf, len, deadline));
	*rep = buf;
	*rep_len = len;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

/* One datagram answered before deadline into buf[0..cap), length in *got. */
static lethe_status
udp_wait_reply(int fd, uint8_t *buf, size_t cap, int64_t deadline, size_t *got)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, MSG_TRUNC);
		if (n > 0) {
			ENSURE((size_t)n <= cap, LETHE_ERR_TOO_BIG);
			*got = (size_t)n;
			return LETHE_OK;
		}
		if (n == 0 || errno == EINTR)
			continue;
		ENSURE(errno == EAGAIN, LETHE_ERR_IO);   /* ECONNREFUSED: nobody listens */
		GUARD(lethe_wait_fd(fd, POLLIN, deadline));
	}
}

static lethe_status
exchange_udp(const kcl_kdc *kdc, const uint8_t *req, size_t req_len,
	     uint8_t **rep, size_t *rep_len)
{
	int64_t deadline = lethe_now_ms() + kdc->timeout_ms;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd = -1, tries = kdc->udp_tries > 0 ? kdc->udp_tries : 1;
	lethe_status rc = LETHE_OK;

	GUARD(open_socket(kdc, SOCK_DGRAM, deadline, &fd));
	buf = malloc(KCL_UDP_MAX);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	for (int i = 0; i < tries; i++) {
		deadline = lethe_now_ms() + kdc->timeout_ms;
		ENSURE_GOTO(rc, send(fd, req, req_len, 0) == (ssize_t)req_len, LETHE_ERR_IO);
		rc = udp_wait_reply(fd, buf, KCL_UDP_MAX, deadline, &got);
		if (rc != LETHE_ERR_IO || errno != ETIMEDOUT)
			break;
	}
	GUARD_GOTO(rc, rc);
	*rep = malloc(got);
	ENSURE_GOTO(rc, *rep != NULL, LETHE_ERR_NOMEM);
	memcpy(*rep, buf, got);
	*rep_len = got;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

/* True when rep is a KRB-ERROR carrying KRB_ERR_RESPONSE_TOO_BIG. */
static bool
is_too_big(const uint8_t *rep, size_t len)
{
	lethe_arena arena;
	krb_error err;
	bool too_big;

	if (len == 0 || rep[0] != 0x7e)
		return false;
	lethe_arena_init(&arena, 16384);
	too_big = krb_decode_krb_error(&arena, rep, len, &err) == LETHE_OK &&
		  err.error_code == KRB_ERR_RESPONSE_TOO_BIG;
	lethe_arena_free(&arena);
	return too_big;
}

lethe_status
kcl_exchange(const kcl_kdc *kdc, const uint8_t *req, size_t req_len,
	    uint8_t **rep, size_t *rep_len)
{
	uint8_t *first = NULL;
	size_t first_len = 0;

	ENSURE(kdc != NULL && req != NULL && req_len > 0 && rep != NULL && rep_len != NULL,
	       LETHE_ERR_INVALID_ARG);
	if (kdc->transport == KCL_TRANSPORT_TCP)
		return exchange_tcp(kdc, req, req_len, rep, rep_len);
	GUARD(exchange_udp(kdc, req, req_len, &first, &first_len));
	if (is_too_big(first, first_len)) {
		free(first);
		return exchange_tcp(kdc, req, req_len, rep, rep_len);
	}
	*rep = first;
	*rep_len = first_len;
	return LETHE_OK;
}
