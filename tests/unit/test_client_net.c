/*
 * Client transport (UDP retries and timeout, TCP framing, fallback to TCP
 * on KRB_ERR_RESPONSE_TOO_BIG) against a scripted KDC on loopback, plus
 * names and the KRB-ERROR status mapping.
 */
#include "test_krb5_util.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "client/client.h"

/* ---------------------------------------------------------------- framing */

static void
test_frame(void **state)
{
	uint8_t hdr[4];
	size_t len = 0;

	(void)state;
	kcl_frame_header(0x01020304, hdr);
	assert_memory_equal(hdr, BYTES(0x01, 0x02, 0x03, 0x04), 4);
	assert_int_equal(kcl_frame_length(hdr, 0x01020304, &len), LETHE_OK);
	assert_int_equal(len, 0x01020304);
	assert_int_equal(kcl_frame_length(hdr, 0x01020303, &len), LETHE_ERR_TOO_BIG);
	assert_int_equal(kcl_frame_length(BYTES(0, 0, 0, 0), 100, &len), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_frame_length(BYTES(0x80, 0, 0, 1), 100, &len),
			 LETHE_ERR_UNSUPPORTED);
	assert_int_equal(kcl_frame_length(BYTES(0, 0, 0, 100), 100, &len), LETHE_OK);
	assert_int_equal(len, 100);
}

/* ------------------------------------------------------------ addresses */

static uint16_t
port_of(const kcl_kdc *k)
{
	if (k->addr.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&k->addr)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&k->addr)->sin6_port);
}

static void
test_kdc_parse(void **state)
{
	kcl_kdc k;

	(void)state;
	assert_int_equal(kcl_kdc_parse("127.0.0.1:8888", &k), LETHE_OK);
	assert_int_equal(k.addr.ss_family, AF_INET);
	assert_int_equal(port_of(&k), 8888);
	assert_int_equal(k.transport, KCL_TRANSPORT_UDP);
	assert_int_equal(k.timeout_ms, KCL_DEFAULT_TIMEOUT_MS);
	assert_int_equal(k.udp_tries, KCL_DEFAULT_UDP_TRIES);
	assert_int_equal(kcl_kdc_parse("127.0.0.1", &k), LETHE_OK);
	assert_int_equal(port_of(&k), 88);
	assert_int_equal(kcl_kdc_parse("[::1]:750", &k), LETHE_OK);
	assert_int_equal(k.addr.ss_family, AF_INET6);
	assert_int_equal(port_of(&k), 750);
	assert_int_equal(kcl_kdc_parse("[::1]", &k), LETHE_OK);
	assert_int_equal(port_of(&k), 88);
	assert_int_equal(kcl_kdc_parse("", &k), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kcl_kdc_parse("127.0.0.1:", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("::1:88", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("[::1", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("[::1]x", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("127.0.0.1:http", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("127.0.0.1:65536", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("127.0.0.1:0", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("127.0.0.1:123456789012345", &k), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_kdc_parse("127.0.0.1:65535", &k), LETHE_OK);
	assert_int_equal(port_of(&k), 65535);
}

/* ------------------------------------------------------------------ names */

static void
test_names(void **state)
{
	kcl_name n = { 0 }, m = { 0 };
	lbytes comps[2] = { LBYTES_LIT("host"), LBYTES_LIT("a.b") };
	krb_principal_name want = { KRB_NT_SRV_HST, comps, 2 };

	(void)state;
	assert_int_equal(kcl_name_parse(&n, "host/a.b@R.TEST", "DEF"), LETHE_OK);
	assert_int_equal(n.n_comps, 2);
	assert_lbytes_str(n.comps[0], "host");
	assert_lbytes_str(n.comps[1], "a.b");
	assert_lbytes_str(n.realm, "R.TEST");
	assert_int_equal(n.name_type, KRB_NT_PRINCIPAL);
	assert_true(kcl_name_matches(&n, &want, LBYTES_LIT("R.TEST")));
	assert_false(kcl_name_matches(&n, &want, LBYTES_LIT("R.TESTX")));
	comps[1] = LBYTES_LIT("a.c");
	assert_false(kcl_name_matches(&n, &want, LBYTES_LIT("R.TEST")));
	/* A copy owns its own bytes. */
	assert_int_equal(kcl_name_copy(&m, &n), LETHE_OK);
	kcl_name_clear(&n);
	assert_lbytes_str(m.comps[1], "a.b");
	assert_lbytes_str(m.realm, "R.TEST");
	/* Default realm; krbtgt. */
	assert_int_equal(kcl_name_parse(&n, "alice", "DEF"), LETHE_OK);
	assert_lbytes_str(n.realm, "DEF");
	assert_int_equal(kcl_name_krbtgt(&n, LBYTES_LIT("X.Y")), LETHE_OK);
	assert_int_equal(n.name_type, KRB_NT_SRV_INST);
	assert_lbytes_str(n.comps[0], "krbtgt");
	assert_lbytes_str(n.comps[1], "X.Y");
	assert_lbytes_str(n.realm, "X.Y");
	/* Negative: no realm at all, empty, trailing backslash. */
	assert_int_equal(kcl_name_parse(&n, "alice", NULL), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_name_parse(&n, "", "DEF"), LETHE_ERR_FORMAT);
	assert_int_equal(kcl_name_parse(&n, "alice\\", "DEF"), LETHE_ERR_FORMAT);
	kcl_name_clear(&n);
	kcl_name_clear(&m);
	kcl_name_clear(NULL);
}

static void
test_status_mapping(void **state)
{
	krb_error e = { .error_code = KRB_AP_ERR_SKEW, .has_e_text = true };
	kcl_error err;
	char longtext[400];

	(void)state;
	assert_int_equal(kcl_status_for_krb_error(KDC_ERR_C_PRINCIPAL_UNKNOWN), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kcl_status_for_krb_error(KDC_ERR_S_PRINCIPAL_UNKNOWN), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kcl_status_for_krb_error(KDC_ERR_ETYPE_NOSUPP), LETHE_ERR_ETYPE_NOSUPP);
	assert_int_equal(kcl_status_for_krb_error(KDC_ERR_SUMTYPE_NOSUPP), LETHE_ERR_CKSUM_NOSUPP);
	assert_int_equal(kcl_status_for_krb_error(KDC_ERR_PREAUTH_FAILED),
			 LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kcl_status_for_krb_error(KRB_AP_ERR_BAD_INTEGRITY),
			 LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kcl_status_for_krb_error(KRB_AP_ERR_MODIFIED), LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kcl_status_for_krb_error(KRB_ERR_RESPONSE_TOO_BIG), LETHE_ERR_TOO_BIG);
	assert_int_equal(kcl_status_for_krb_error(KRB_AP_ERR_SKEW), KCL_ERR_KDC_REFUSED);
	assert_int_equal(kcl_status_for_krb_error(KDC_ERR_POLICY), KCL_ERR_KDC_REFUSED);
	/* e-text: NUL ends it, controls become '?', long text is cut. */
	e.e_text = lbytes_make("a\tb\0c", 5);
	kcl_error_set(&err, &e);
	assert_int_equal(err.code, KRB_AP_ERR_SKEW);
	assert_string_equal(err.text, "a?b");
	memset(longtext, 'x', sizeof(longtext));
	e.e_text = lbytes_make(longtext, sizeof(longtext));
	kcl_error_set(&err, &e);
	assert_int_equal(strlen(err.text), sizeof(err.text) - 1);
	e.has_e_text = false;
	kcl_error_set(&err, &e);
	assert_string_equal(err.text, "");
	kcl_error_set(NULL, &e);
	/* Not a KRB-ERROR: nothing to report. */
	err.code = 5;
	assert_int_equal(kcl_check_krb_error(BYTES(0x6b, 0x00), 2, &err), LETHE_OK);
	assert_int_equal(err.code, 5);
	assert_int_not_equal(kcl_check_krb_error(BYTES(0x7e, 0x00), 2, &err), LETHE_OK);
}

/* --------------------------------------------------------- scripted KDC */

/* A loopback KDC that answers by script: UDP and TCP on one port. */
typedef struct fake_kdc {
	int udp, tcp;
	uint16_t port;
	int udp_mode;               /* 0 silent, 1 echo reply, 2 RESPONSE_TOO_BIG */
	int udp_received;
	int tcp_received;
	uint8_t *udp_reply, *tcp_reply;
	size_t udp_reply_len, tcp_reply_len;
	uint8_t expect[64];
	size_t expect_len;
	bool tcp_bad_frame;         /* answer with the reserved length bit set */
	pthread_t thread;
} fake_kdc;

static uint8_t *
error_message(int32_t code, size_t *len)
{
	static const lbytes comps[] = { LBYTES_LIT("krbtgt"), LBYTES_LIT("R") };
	krb_error e = { .stime = 1700000000, .error_code = code, .realm = LBYTES_LIT("R"),
			.sname = { KRB_NT_SRV_INST, comps, 2 } };
	der_writer w;
	uint8_t *out = NULL;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_krb_error(&w, &e), LETHE_OK);
	assert_int_equal(der_writer_take(&w, &out, len), LETHE_OK);
	der_writer_free(&w);
	return out;
}

static void
fake_open(fake_kdc *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int tries = 0; tries < 50; tries++) {
		f->udp = socket(AF_INET, SOCK_DGRAM, 0);
		f->tcp = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(f->udp >= 0 && f->tcp >= 0);
		setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sa.sin_port = 0;
		assert_int_equal(bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(f->udp, (struct sockaddr *)&sa, &sl), 0);
		if (bind(f->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(f->tcp, 4) == 0) {
			f->port = ntohs(sa.sin_port);
			return;
		}
		close(f->udp);
		close(f->tcp);
	}
	fail_msg("no loopback port for both UDP and TCP");
}

static void
serve_tcp(fake_kdc *f)
{
	uint8_t hdr[4], buf[256];
	size_t n;
	int c = accept(f->tcp, NULL, NULL);

	if (c < 0)
		return;
	if (recv(c, hdr, 4, MSG_WAITALL) == 4 && kcl_frame_length(hdr, sizeof(buf), &n) == LETHE_OK &&
	    recv(c, buf, n, MSG_WAITALL) == (ssize_t)n) {
		f->tcp_received += n == f->expect_len && memcmp(buf, f->expect, n) == 0;
		kcl_frame_header(f->tcp_reply_len, hdr);
		if (f->tcp_bad_frame)
			hdr[0] |= 0x80;
		(void)!send(c, hdr, 4, MSG_NOSIGNAL);
		(void)!send(c, f->tcp_reply, f->tcp_reply_len, MSG_NOSIGNAL);
	}
	close(c);
}

static void *
fake_main(void *arg)
{
	fake_kdc *f = arg;
	uint8_t buf[256];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };

	setsockopt(f->udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = recvfrom(f->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;                      /* quiet for 300 ms: done with UDP */
		f->udp_received += (size_t)n == f->expect_len && memcmp(buf, f->expect, (size_t)n) == 0;
		if (f->udp_mode == 0)
			continue;
		(void)!sendto(f->udp, f->udp_reply, f->udp_reply_len, 0, (struct sockaddr *)&from, fl);
		if (f->udp_mode == 2)
			break;
	}
	if (f->udp_mode == 2 || f->tcp_reply != NULL)
		serve_tcp(f);
	return NULL;
}

static void
fake_start(fake_kdc *f, int udp_mode, kcl_kdc *kdc)
{
	char where[32];

	memcpy(f->expect, "\x6a\x03\x02\x01\x05", 5);    /* any bytes: the "request" */
	f->expect_len = 5;
	f->udp_mode = udp_mode;
	fake_open(f);
	snprintf(where, sizeof(where), "127.0.0.1:%u", f->port);
	assert_int_equal(kcl_kdc_parse(where, kdc), LETHE_OK);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void
fake_stop(fake_kdc *f)
{
	pthread_join(f->thread, NULL);
	close(f->udp);
	close(f->tcp);
	free(f->udp_reply);
	free(f->tcp_reply);
}

static void
test_udp_reply(void **state)
{
	fake_kdc f = { 0 };
	kcl_kdc kdc;
	uint8_t *rep = NULL;
	size_t len = 0;

	(void)state;
	f.udp_reply = error_message(KDC_ERR_PREAUTH_REQUIRED, &f.udp_reply_len);
	fake_start(&f, 1, &kdc);
	assert_int_equal(kcl_exchange(&kdc, f.expect, f.expect_len, &rep, &len), LETHE_OK);
	assert_int_equal(len, f.udp_reply_len);
	assert_memory_equal(rep, f.udp_reply, len);
	free(rep);
	fake_stop(&f);
	assert_int_equal(f.udp_received, 1);
}

static void
test_udp_too_big_falls_back_to_tcp(void **state)
{
	fake_kdc f = { 0 };
	kcl_kdc kdc;
	uint8_t *rep = NULL;
	size_t len = 0;

	(void)state;
	f.udp_reply = error_message(KRB_ERR_RESPONSE_TOO_BIG, &f.udp_reply_len);
	f.tcp_reply = error_message(KDC_ERR_POLICY, &f.tcp_reply_len);
	fake_start(&f, 2, &kdc);
	assert_int_equal(kcl_exchange(&kdc, f.expect, f.expect_len, &rep, &len), LETHE_OK);
	assert_int_equal(len, f.tcp_reply_len);
	assert_memory_equal(rep, f.tcp_reply, len);
	free(rep);
	fake_stop(&f);
	assert_int_equal(f.udp_received, 1);
	assert_int_equal(f.tcp_received, 1);
}

static void
test_tcp_exchange(void **state)
{
	fake_kdc f = { 0 };
	kcl_kdc kdc;
	uint8_t *rep = NULL;
	size_t len = 0;

	(void)state;
	f.tcp_reply = error_message(KDC_ERR_POLICY, &f.tcp_reply_len);
	fake_start(&f, 0, &kdc);
	kdc.transport = KCL_TRANSPORT_TCP;
	assert_int_equal(kcl_exchange(&kdc, f.expect, f.expect_len, &rep, &len), LETHE_OK);
	assert_int_equal(len, f.tcp_reply_len);
	assert_memory_equal(rep, f.tcp_reply, len);
	free(rep);
	fake_stop(&f);
	assert_int_equal(f.tcp_received, 1);
	assert_int_equal(f.udp_received, 0);
	/* Negative: a reply length with the reserved bit set. */
	memset(&f, 0, sizeof(f));
	f.tcp_reply = error_message(KDC_ERR_POLICY, &f.tcp_reply_len);
	f.tcp_bad_frame = true;
	fake_start(&f, 0, &kdc);
	kdc.transport = KCL_TRANSPORT_TCP;
	rep = NULL;
	assert_int_equal(kcl_exchange(&kdc, f.expect, f.expect_len, &rep, &len),
			 LETHE_ERR_UNSUPPORTED);
	assert_null(rep);
	fake_stop(&f);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_udp_timeout_and_retries(void **state)
{
	fake_kdc f = { 0 };
	kcl_kdc kdc;
	uint8_t *rep = NULL;
	size_t len = 0;
	int64_t t0;

	(void)state;
	fake_start(&f, 0, &kdc);
	kdc.timeout_ms = 60;
	kdc.udp_tries = 3;
	t0 = mono_ms();
	assert_int_equal(kcl_exchange(&kdc, f.expect, f.expect_len, &rep, &len), LETHE_ERR_IO);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 180);
	assert_true(mono_ms() - t0 < 3000);
	assert_null(rep);
	fake_stop(&f);
	assert_int_equal(f.udp_received, 3);
}

static void
test_refused(void **state)
{
	fake_kdc f = { 0 };
	kcl_kdc kdc;
	uint8_t *rep = NULL;
	size_t len = 0;

	(void)state;
	fake_open(&f);             /* learn a free port, then close it */
	close(f.udp);
	close(f.tcp);
	char where[32];
	snprintf(where, sizeof(where), "127.0.0.1:%u", f.port);
	assert_int_equal(kcl_kdc_parse(where, &kdc), LETHE_OK);
	kdc.timeout_ms = 2000;
	assert_int_equal(kcl_exchange(&kdc, BYTES(1, 2, 3), 3, &rep, &len), LETHE_ERR_IO);
	kdc.transport = KCL_TRANSPORT_TCP;
	assert_int_equal(kcl_exchange(&kdc, BYTES(1, 2, 3), 3, &rep, &len), LETHE_ERR_IO);
	assert_null(rep);
	assert_int_equal(kcl_exchange(&kdc, BYTES(1), 0, &rep, &len), LETHE_ERR_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_kdc_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_status_mapping),
		cmocka_unit_test(test_udp_reply),
		cmocka_unit_test(test_udp_too_big_falls_back_to_tcp),
		cmocka_unit_test(test_tcp_exchange),
		cmocka_unit_test(test_udp_timeout_and_retries),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
