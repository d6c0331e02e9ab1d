/* Framing and exchanges of registration messages (reg_net.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "registrar/registrar.h"

static void
pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

static void
put_header(int fd, uint32_t n)
{
	uint8_t hdr[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
		(uint8_t)n };

	assert_int_equal(write(fd, hdr, 4), 4);
}

static void
test_frame_round_trip(void **state)
{
	int fds[2];
	uint8_t msg[3000], *got = NULL, hdr[4];
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	pair(fds);
	assert_int_equal(reg_write_frame(fds[0], msg, sizeof(msg), 1000), LETHE_OK);
	assert_int_equal(recv(fds[1], hdr, 4, MSG_PEEK), 4);
	assert_memory_equal(hdr, "\x00\x00\x0b\xb8", 4);    /* 3000, big-endian */
	assert_int_equal(reg_read_frame(fds[1], REG_MAX_MESSAGE, 1000, &got, &len), LETHE_OK);
	assert_int_equal(len, sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	free(got);
	assert_int_equal(reg_write_frame(fds[0], msg, 0, 1000), LETHE_ERR_INVALID_ARG);
	assert_int_equal(reg_write_frame(fds[0], msg, REG_MAX_MESSAGE + 1, 1000),
	    LETHE_ERR_INVALID_ARG);
	close(fds[0]);
	close(fds[1]);
}

static void
test_frame_oversized_refused_before_body(void **state)
{
	int fds[2];
	uint8_t *got = NULL, body[8];
	size_t len = 0;

	(void)state;
	pair(fds);
	put_header(fds[0], REG_MAX_MESSAGE + 1);
	assert_int_equal(write(fds[0], "BODYBODY", 8), 8);
	assert_int_equal(reg_read_frame(fds[1], REG_MAX_MESSAGE, 1000, &got, &len),
	    LETHE_ERR_TOO_BIG);
	assert_null(got);
	/* The body was not consumed. */
	assert_int_equal(recv(fds[1], body, sizeof(body), MSG_DONTWAIT), 8);
	assert_memory_equal(body, "BODYBODY", 8);
	/* A smaller caller bound applies too. */
	put_header(fds[0], 101);
	assert_int_equal(reg_read_frame(fds[1], 100, 1000, &got, &len), LETHE_ERR_TOO_BIG);
	/* Zero length. */
	put_header(fds[0], 0);
	assert_int_equal(reg_read_frame(fds[1], 100, 1000, &got, &len), LETHE_ERR_FORMAT);
	close(fds[0]);
	close(fds[1]);
}

static void
test_frame_truncated_and_timeout(void **state)
{
	int fds[2];
	uint8_t *got = NULL;
	size_t len = 0;

	(void)state;
	pair(fds);
	/* Nothing arrives: the deadline. */
	errno = 0;
	assert_int_equal(reg_read_frame(fds[1], 100, 50, &got, &len), LETHE_ERR_IO);
	assert_int_equal(errno, ETIMEDOUT);
	/* Ten bytes announced, five sent, then EOF. */
	put_header(fds[0], 10);
	assert_int_equal(write(fds[0], "12345", 5), 5);
	close(fds[0]);
	assert_int_equal(reg_read_frame(fds[1], 100, 1000, &got, &len), LETHE_ERR_FORMAT);
	assert_null(got);
	/* EOF inside the header. */
	close(fds[1]);
	pair(fds);
	assert_int_equal(write(fds[0], "\x00\x00", 2), 2);
	close(fds[0]);
	assert_int_equal(reg_read_frame(fds[1], 100, 1000, &got, &len), LETHE_ERR_FORMAT);
	close(fds[1]);
	/* Writing to a closed peer fails without SIGPIPE. */
	pair(fds);
	close(fds[1]);
	assert_int_equal(reg_write_frame(fds[0], (const uint8_t *)"x", 1, 1000), LETHE_ERR_IO);
	close(fds[0]);
}

static void
test_frame_length(void **state)
{
	size_t n = 99;

	(void)state;
	assert_int_equal(reg_frame_length((const uint8_t *)"\x00\x01\x00\x00", REG_MAX_MESSAGE,
	    &n), LETHE_OK);
	assert_int_equal(n, 65536);
	assert_int_equal(reg_frame_length((const uint8_t *)"\x00\x01\x00\x01", SIZE_MAX, &n),
	    LETHE_ERR_TOO_BIG);
	assert_int_equal(reg_frame_length((const uint8_t *)"\x80\x00\x00\x01", SIZE_MAX, &n),
	    LETHE_ERR_TOO_BIG);
	assert_int_equal(reg_frame_length((const uint8_t *)"\x00\x00\x00\x00", 10, &n),
	    LETHE_ERR_FORMAT);
}

static void
test_parse_endpoint(void **state)
{
	lethe_sockaddr a;
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a.ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a.ss;

	(void)state;
	assert_int_equal(reg_parse_endpoint("127.0.0.1:7464", &a), LETHE_OK);
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(ntohs(v4->sin_port), 7464);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(reg_parse_endpoint("[::1]:88", &a), LETHE_OK);
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 88);
	assert_int_equal(v6->sin6_addr.s6_addr[15], 1);
	assert_int_equal(reg_parse_endpoint("kdc.example.com:88", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint("127.0.0.1", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint("127.0.0.1:0", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint("127.0.0.1:65536", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint("127.0.0.1:8a", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint("::1:88", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint("[::1]88", &a), LETHE_ERR_FORMAT);
	assert_int_equal(reg_parse_endpoint(":88", &a), LETHE_ERR_FORMAT);
}

/* A one-connection server on 127.0.0.1: echoes the frame reversed, or not. */
typedef struct server {
	int lfd;
	bool reply;
	uint8_t got[64];
	size_t got_len;
	lethe_status rc;
} server;

static void *
serve_one(void *arg)
{
	server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	uint8_t *msg = NULL, rev[64];
	size_t len = 0;

	if (fd < 0) {
		s->rc = LETHE_ERR_IO;
		return NULL;
	}
	s->rc = reg_read_frame(fd, sizeof(s->got), 2000, &msg, &len);
	if (s->rc == LETHE_OK) {
		memcpy(s->got, msg, len);
		s->got_len = len;
		for (size_t i = 0; i < len; i++)
			rev[i] = msg[len - 1 - i];
		if (s->reply)
			s->rc = reg_write_frame(fd, rev, len, 2000);
	}
	free(msg);
	close(fd);
	return NULL;
}

static uint16_t
listen_local(server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	return ntohs(a.sin_port);
}

static void
test_client_exchange(void **state)
{
	server s = { .reply = true };
	pthread_t t;
	char endpoint[32];
	uint8_t *reply = NULL;
	size_t len = 0;

	(void)state;
	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned)listen_local(&s));
	assert_int_equal(pthread_create(&t, NULL, serve_one, &s), 0);
	assert_int_equal(reg_client_exchange(endpoint, (const uint8_t *)"abc", 3, 2000,
	    &reply, &len), LETHE_OK);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, LETHE_OK);
	assert_int_equal(s.got_len, 3);
	assert_memory_equal(s.got, "abc", 3);
	assert_int_equal(len, 3);
	assert_memory_equal(reply, "cba", 3);
	free(reply);

	/* The server reads but never answers: the exchange sees the close. */
	s.reply = false;
	assert_int_equal(pthread_create(&t, NULL, serve_one, &s), 0);
	assert_int_equal(reg_client_exchange(endpoint, (const uint8_t *)"xy", 2, 2000,
	    &reply, &len), LETHE_ERR_FORMAT);
	pthread_join(t, NULL);
	assert_null(reply);
	close(s.lfd);

	/* Nobody listens any more. */
	assert_int_equal(reg_client_exchange(endpoint, (const uint8_t *)"x", 1, 2000, &reply,
	    &len), LETHE_ERR_IO);
	assert_int_equal(reg_client_exchange("nohost:1", (const uint8_t *)"x", 1, 2000, &reply,
	    &len), LETHE_ERR_FORMAT);
}

static void
test_send_oneway(void **state)
{
	server s = { .reply = false };
	pthread_t t;
	lethe_sockaddr addr;
	char endpoint[32];

	(void)state;
	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", (unsigned)listen_local(&s));
	assert_int_equal(reg_parse_endpoint(endpoint, &addr), LETHE_OK);
	assert_int_equal(pthread_create(&t, NULL, serve_one, &s), 0);
	assert_int_equal(reg_send_oneway(&addr, (const uint8_t *)"keyreq", 6, 2000), LETHE_OK);
	pthread_join(t, NULL);
	assert_int_equal(s.rc, LETHE_OK);
	assert_int_equal(s.got_len, 6);
	assert_memory_equal(s.got, "keyreq", 6);
	close(s.lfd);
	assert_int_equal(reg_send_oneway(&addr, (const uint8_t *)"keyreq", 6, 2000),
	    LETHE_ERR_IO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_oversized_refused_before_body),
		cmocka_unit_test(test_frame_truncated_and_timeout),
		cmocka_unit_test(test_frame_length),
		cmocka_unit_test(test_parse_endpoint),
		cmocka_unit_test(test_client_exchange),
		cmocka_unit_test(test_send_oneway),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
