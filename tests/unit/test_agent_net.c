/*
 * lethe-agent over the registration protocol: identity loading, the
 * registration client against a fake registrar, KeyRequest checks and the
 * callback listener.
 */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pkcs12.h>

#include "agent/agent_net.h"
#include "base/log.h"
#include "base/wait.h"
#include "crypto/crypto.h"
#include "test_agent_pki.h"

#define PRINC "HTTP/www.example.com@EXAMPLE.COM"

typedef struct fixture {
	char dir[256];
	test_pki pki;
	agent_config cfg;
	agent_net net;
	bool net_open;
} fixture;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
path_in(const fixture *f, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", f->dir, name);
}

/* A config for two KDCs at ports port1, port2 of 127.0.0.1. */
static void
write_config(fixture *f, unsigned port1, unsigned port2, const char *extra)
{
	char path[512], text[2048], err[600];

	snprintf(text, sizeof(text),
	    "principal = " PRINC " host/www.example.com@EXAMPLE.COM\n"
	    "certificate = server.pem\nkey = server.key\nkdc_ca = ca.pem\n"
	    "kdc = 127.0.0.1:%u, 127.0.0.1:%u\nkdc_cert = kdc.pem, kdc2.pem\n"
	    "keytab = krb5.keytab\nstate_dir = state\n%s", port1, port2, extra);
	path_in(f, "agent.conf", path, sizeof(path));
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(agent_config_load(path, &f->cfg, err, sizeof(err)), LETHE_OK);
}

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/lethe-agent-net-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(test_pki_make(&f->pki), 0);
	path_in(f, "ca.pem", path, sizeof(path));
	assert_int_equal(test_pki_write_cert(path, f->pki.ca.cert), 0);
	path_in(f, "kdc.pem", path, sizeof(path));
	assert_int_equal(test_pki_write_cert(path, f->pki.kdc.cert), 0);
	path_in(f, "kdc2.pem", path, sizeof(path));
	assert_int_equal(test_pki_write_cert(path, f->pki.kdc2.cert), 0);
	path_in(f, "server.pem", path, sizeof(path));
	assert_int_equal(test_pki_write_cert(path, f->pki.server.cert), 0);
	path_in(f, "server.key", path, sizeof(path));
	assert_int_equal(test_pki_write_key(path, f->pki.server.key, 0600), 0);
	write_config(f, 7001, 7002, "");
	log_init("test_agent_net", LETHE_LOG_STDERR, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	if (f->net_open)
		agent_net_close(&f->net);
	test_pki_free(&f->pki);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
open_net(fixture *f)
{
	char err[600] = "";

	if (agent_net_open(&f->cfg, &f->net, err, sizeof(err)) != LETHE_OK)
		fail_msg("agent_net_open: %s", err);
	f->net_open = true;
}

static reg_identity *
identity_of(const test_cred *c)
{
	char *cert = test_pki_cert_pem(c->cert), *key = test_pki_key_pem(c->key);
	reg_identity *id = NULL;

	assert_non_null(cert);
	assert_non_null(key);
	assert_int_equal(reg_identity_from_pem(cert, strlen(cert), key, strlen(key),
	    &id), LETHE_OK);
	free(cert);
	free(key);
	return id;
}

/* The first occurrence of text in buf, or NULL. */
static uint8_t *
find_bytes(uint8_t *buf, size_t len, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(buf + i, text, n) == 0)
			return buf + i;
	return NULL;
}

/* ---- identity ---- */

static void
test_identity_key_mode(void **state)
{
	fixture *f = *state;
	char path[512], err[600] = "";
	agent_net net;

	path_in(f, "server.key", path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(agent_net_open(&f->cfg, &net, err, sizeof(err)),
	    LETHE_ERR_INVALID_ARG);
	assert_non_null(strstr(err, "server.key: mode 0644"));
	assert_int_equal(chmod(path, 0600), 0);
	open_net(f);
	assert_int_equal(f->net.nkdcs, 2);
	assert_string_not_equal(f->net.kdc_spki[0], f->net.kdc_spki[1]);
}

static void
test_identity_wrong_key(void **state)
{
	fixture *f = *state;
	char path[512], err[600] = "";
	agent_net net;

	/* the KDC's key with the server's certificate */
	path_in(f, "server.key", path, sizeof(path));
	assert_int_equal(test_pki_write_key(path, f->pki.kdc.key, 0600), 0);
	assert_int_not_equal(agent_net_open(&f->cfg, &net, err, sizeof(err)), LETHE_OK);
	assert_non_null(strstr(err, "cannot load the identity"));
}

static void
write_p12(const fixture *f, const char *pass)
{
	char path[512];
	PKCS12 *p12 = PKCS12_create(pass, "server", f->pki.server.key,
	    f->pki.server.cert, NULL, 0, 0, 0, 0, 0);
	FILE *fp;

	assert_non_null(p12);
	path_in(f, "server.p12", path, sizeof(path));
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(i2d_PKCS12_fp(fp, p12), 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
	PKCS12_free(p12);
}

static void
test_identity_pkcs12(void **state)
{
	fixture *f = *state;
	char path[512], err[600] = "";
	agent_net net;

	write_p12(f, "p12 secret");
	path_in(f, "server.pass", path, sizeof(path));
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("p12 secret\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
	write_config(f, 7001, 7002, "");
	memcpy(f->cfg.pkcs12, f->dir, strlen(f->dir) + 1);
	strcat(f->cfg.pkcs12, "/server.p12");
	memcpy(f->cfg.pkcs12_password_file, path, strlen(path) + 1);
	f->cfg.certificate[0] = f->cfg.key[0] = '\0';
	open_net(f);
	assert_int_equal(X509_cmp(reg_identity_cert(f->net.id), f->pki.server.cert), 0);
	agent_net_close(&f->net);
	f->net_open = false;
	/* a password file others may read */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(agent_net_open(&f->cfg, &net, err, sizeof(err)),
	    LETHE_ERR_INVALID_ARG);
	assert_non_null(strstr(err, "server.pass: mode 0640"));
	/* the wrong password */
	assert_int_equal(chmod(path, 0600), 0);
	write_p12(f, "another");
	assert_int_not_equal(agent_net_open(&f->cfg, &net, err, sizeof(err)), LETHE_OK);
	assert_non_null(strstr(err, "PKCS#12"));
}

/* ---- KeyRequest ---- */

static uint8_t *
signed_key_request(const test_cred *signer, const char *principal, int64_t ts,
    uint8_t fill, enum reg_content_type ct, size_t *len)
{
	reg_key_request kr;
	reg_identity *id = identity_of(signer);
	uint8_t *der = NULL, *msg = NULL;
	size_t der_len = 0;

	memset(&kr, 0, sizeof(kr));
	snprintf(kr.principal, sizeof(kr.principal), "%s", principal);
	memset(kr.nonce, fill, sizeof(kr.nonce));
	kr.timestamp = ts;
	assert_int_equal(reg_key_request_encode(&kr, &der, &der_len), LETHE_OK);
	assert_int_equal(reg_sign(id, ct, der, der_len, &msg, len), LETHE_OK);
	free(der);
	reg_identity_free(id);
	return msg;
}

static lethe_status
check(fixture *f, agent_keyreq_cache *cache, uint8_t *msg, size_t len, int64_t now,
    agent_keyreq *kr, char *why)
{
	lethe_status rc = agent_keyreq_check(&f->cfg, &f->net, cache, msg, len, now,
	    kr, why, 400);

	free(msg);
	return rc;
}

static void
test_key_request_accepted(void **state)
{
	fixture *f = *state;
	agent_keyreq_cache cache;
	agent_keyreq kr;
	char why[400] = "";
	int64_t now = (int64_t)time(NULL);
	size_t len;
	uint8_t *msg;

	open_net(f);
	memset(&cache, 0, sizeof(cache));
	msg = signed_key_request(&f->pki.kdc2, "host/www.example.com@EXAMPLE.COM", now,
	    0x11, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why), LETHE_OK);
	assert_int_equal(kr.principal, 1);
	assert_int_equal(kr.kdc, 1);
	assert_int_equal(kr.nonce[0], 0x11);
	assert_int_equal(kr.nonce[15], 0x11);
	/* a timestamp 300 s off is still fresh */
	msg = signed_key_request(&f->pki.kdc, PRINC, now - 300, 0x12,
	    REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why), LETHE_OK);
	assert_int_equal(kr.principal, 0);
	assert_int_equal(kr.kdc, 0);
}

static void
test_key_request_refused(void **state)
{
	fixture *f = *state;
	agent_keyreq_cache cache;
	agent_keyreq kr;
	char why[400] = "";
	int64_t now = (int64_t)time(NULL);
	size_t len;
	uint8_t *msg;

	open_net(f);
	memset(&cache, 0, sizeof(cache));
	/* signed by a server certificate of the same CA: not a KDC */
	msg = signed_key_request(&f->pki.server, PRINC, now, 1, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_non_null(strstr(why, "no kdc_cert"));
	/* signed by a key under another CA, though named like the KDC */
	msg = signed_key_request(&f->pki.rogue, PRINC, now, 2, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_non_null(strstr(why, "UNTRUSTED"));
	/* a bad signature: one byte of the signed content changed */
	msg = signed_key_request(&f->pki.kdc, PRINC, now, 3, REG_CT_KEY_REQUEST, &len);
	uint8_t *hit = find_bytes(msg, len, "www.example.com");
	assert_non_null(hit);
	hit[0] ^= 0x20;
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_non_null(strstr(why, "BAD_SIGNATURE"));
	/* truncated */
	msg = signed_key_request(&f->pki.kdc, PRINC, now, 4, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len / 2, now, &kr, why),
	    LETHE_ERR_BAD_INTEGRITY);
	/* the wrong content type */
	msg = signed_key_request(&f->pki.kdc, PRINC, now, 5, REG_CT_REPLY, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why),
	    LETHE_ERR_BAD_INTEGRITY);
	/* a principal that is not ours */
	msg = signed_key_request(&f->pki.kdc, "HTTP/other.example.com@EXAMPLE.COM", now,
	    6, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why), LETHE_ERR_NOT_FOUND);
	/* stale, and from the future */
	msg = signed_key_request(&f->pki.kdc, PRINC, now - 301, 7, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why), LETHE_ERR_INVALID_ARG);
	msg = signed_key_request(&f->pki.kdc, PRINC, now + 301, 8, REG_CT_KEY_REQUEST, &len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why), LETHE_ERR_INVALID_ARG);
	/* a replay of an accepted one */
	msg = signed_key_request(&f->pki.kdc, PRINC, now, 9, REG_CT_KEY_REQUEST, &len);
	uint8_t *copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, msg, len);
	assert_int_equal(check(f, &cache, msg, len, now, &kr, why), LETHE_OK);
	assert_int_equal(check(f, &cache, copy, len, now, &kr, why), LETHE_ERR_INVALID_ARG);
	assert_non_null(strstr(why, "replayed"));
}

/* ---- the callback listener ---- */

typedef struct sender {
	lethe_sockaddr addr;
	uint8_t *msg;
	size_t len;
	lethe_status rc;
} sender;

static void *
send_thread(void *arg)
{
	sender *s = arg;

	s->rc = reg_send_oneway(&s->addr, s->msg, s->len, 3000);
	return NULL;
}

static void
bound_addr(int fd, lethe_sockaddr *out)
{
	out->len = sizeof(out->ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&out->ss, &out->len), 0);
}

/* What the listener handed over. */
typedef struct got_frames {
	uint8_t *msg;
	size_t len;
	char peer[80];
	unsigned frames, failures;
} got_frames;

static void
on_frame(void *arg, const uint8_t *msg, size_t len, const char *peer, const char *why)
{
	got_frames *g = arg;

	if (msg == NULL) {
		assert_non_null(why);
		g->failures++;
		return;
	}
	g->frames++;
	free(g->msg);
	g->msg = malloc(len);
	assert_non_null(g->msg);
	memcpy(g->msg, msg, len);
	g->len = len;
	snprintf(g->peer, sizeof(g->peer), "%s", peer);
}

/* A connected TCP socket to addr that sends nothing (or one byte). */
static int
idle_socket(const lethe_sockaddr *addr, bool one_byte)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&addr->ss, addr->len), 0);
	if (one_byte)
		assert_int_equal(send(fd, "", 1, 0), 1);
	return fd;
}

/*
 * Idle and half-framed sockets neither block nor delay a KeyRequest: with
 * a table of 4 (2 per peer) and 5 silent sockets open, one signed frame is
 * still read and handed over, within a few poll rounds.
 */
static void
test_listener(void **state)
{
	fixture *f = *state;
	agent_keyreq_cache cache;
	agent_keyreq_srv srv;
	agent_keyreq kr;
	lethe_sockaddr any, addr;
	got_frames g = { 0 };
	struct pollfd pfds[5];
	sender s;
	pthread_t th;
	char why[400] = "";
	int idle[5], lfd = -1;
	size_t n = 0;

	open_net(f);
	memset(&cache, 0, sizeof(cache));
	assert_int_equal(lethe_conf_parse_addrs("127.0.0.1:0", 0, &any, 1, &n, NULL),
	    LETHE_OK);
	assert_int_equal(agent_listen(&any, &lfd), LETHE_OK);
	bound_addr(lfd, &addr);
	assert_int_equal(agent_keyreq_srv_init(&srv, lfd, 4, 2, 3000), LETHE_OK);
	for (size_t i = 0; i < 5; i++)
		idle[i] = idle_socket(&addr, i % 2 == 1);
	memset(&s, 0, sizeof(s));
	s.addr = addr;
	s.msg = signed_key_request(&f->pki.kdc, PRINC, (int64_t)time(NULL), 0x42,
	    REG_CT_KEY_REQUEST, &s.len);
	assert_int_equal(pthread_create(&th, NULL, send_thread, &s), 0);
	for (int round = 0; round < 200 && g.frames == 0; round++) {
		nfds_t k = agent_keyreq_srv_pollfds(&srv, pfds);
		assert_true(k <= 5);
		(void)poll(pfds, k, 50);
		agent_keyreq_srv_serve(&srv, pfds, lethe_now_ms(), on_frame, &g);
		assert_true(srv.nconns <= 2);   /* all from 127.0.0.1: its cap */
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(s.rc, LETHE_OK);
	assert_int_equal(g.frames, 1);
	assert_true(srv.evicted >= 4);
	assert_int_equal(g.len, s.len);
	assert_memory_equal(g.msg, s.msg, s.len);
	assert_int_equal(strncmp(g.peer, "127.0.0.1:", 10), 0);
	assert_int_equal(agent_keyreq_check(&f->cfg, &f->net, &cache, g.msg, g.len,
	    (int64_t)time(NULL), &kr, why, sizeof(why)), LETHE_OK);
	assert_int_equal(kr.nonce[0], 0x42);
	for (size_t i = 0; i < 5; i++)
		close(idle[i]);
	agent_keyreq_srv_close(&srv);
	agent_keyreq_srv_close(&srv);   /* idempotent */
	free(g.msg);
	free(s.msg);
}

/* ---- the registration client against a fake registrar ---- */

/*
 * FAKE_OTHER_REQUEST: an OK reply with our nonce, bound to other request
 * bytes (what a man in the middle gets for his own request carrying our
 * nonce); FAKE_OTHER_PRINCIPAL / FAKE_OTHER_KVNO: bound to another name
 * or kvno; FAKE_UNBOUND: no binding (an older KDC); FAKE_UNSIGNED: a bare
 * RegistrationError.
 */
enum fake_mode { FAKE_OK, FAKE_REFUSE, FAKE_WRONG_NONCE, FAKE_SIGNED_BY_SERVER,
	FAKE_SIGNED_BY_OTHER_KDC, FAKE_SILENT, FAKE_OTHER_REQUEST, FAKE_OTHER_PRINCIPAL,
	FAKE_OTHER_KVNO, FAKE_UNBOUND, FAKE_UNSIGNED };

typedef struct registrar {
	int lfd;
	enum fake_mode mode;
	X509_STORE *anchors;
	reg_identity *kdc, *kdc2, *server;
	/* what it saw */
	reg_request req;
	reg_sealed_keys keys;
	bool verified, opened;
} registrar;

static void
fake_reply(registrar *r, int c, const uint8_t *req, size_t req_len)
{
	reg_reply rep;
	uint8_t *der = NULL, *msg = NULL;
	size_t der_len = 0, len = 0;
	reg_identity *signer = r->kdc;

	memset(&rep, 0, sizeof(rep));
	if (r->mode == FAKE_UNSIGNED) {
		if (reg_error_encode(REG_UNTRUSTED, &msg, &len) == LETHE_OK)
			(void)reg_write_frame(c, msg, len, 3000);
		free(msg);
		return;
	}
	rep.has_binding = r->mode != FAKE_UNBOUND;
	snprintf(rep.principal, sizeof(rep.principal), "%s", r->mode == FAKE_OTHER_PRINCIPAL ?
	    "host/mallory.lethe.test@LETHE.TEST" : r->req.principal);
	rep.nkvnos = r->req.nkeys;
	for (size_t i = 0; i < rep.nkvnos; i++)
		rep.kvnos[i] = r->req.keys[i].kvno + (r->mode == FAKE_OTHER_KVNO ? 1 : 0);
	assert_int_equal(reg_request_digest(req, r->mode == FAKE_OTHER_REQUEST ? req_len - 1 :
	    req_len, rep.request_sha256), LETHE_OK);
	memcpy(rep.nonce, r->req.nonce, REG_NONCE_LEN);
	if (r->mode == FAKE_WRONG_NONCE)
		rep.nonce[0] ^= 1;
	rep.result = r->mode == FAKE_REFUSE ? REG_NOT_ALLOWED : REG_OK;
	snprintf(rep.text, sizeof(rep.text), "%s", r->mode == FAKE_REFUSE ?
	    "no rule lets you" : "registered");
	rep.server_time = (int64_t)time(NULL);
	rep.has_granted = r->mode != FAKE_REFUSE;
	rep.ngranted = rep.has_granted ? r->req.nkeys : 0;
	for (size_t i = 0; i < rep.ngranted; i++) {
		rep.granted[i] = r->req.keys[i];
		rep.granted[i].accept_until += 7;
	}
	if (r->mode == FAKE_SIGNED_BY_SERVER)
		signer = r->server;
	if (r->mode == FAKE_SIGNED_BY_OTHER_KDC)
		signer = r->kdc2;
	if (reg_reply_encode(&rep, &der, &der_len) == LETHE_OK &&
	    reg_sign(signer, REG_CT_REPLY, der, der_len, &msg, &len) == LETHE_OK)
		(void)reg_write_frame(c, msg, len, 3000);
	free(der);
	free(msg);
}

static void *
registrar_thread(void *arg)
{
	registrar *r = arg;
	reg_trust trust = { r->anchors, NULL, 0 };
	reg_verified v;
	enum reg_result verdict = REG_INTERNAL;
	uint8_t *msg = NULL;
	size_t len = 0;
	struct pollfd pfd = { r->lfd, POLLIN, 0 };
	int c;

	memset(&v, 0, sizeof(v));
	if (poll(&pfd, 1, 5000) != 1 || (c = accept(r->lfd, NULL, NULL)) < 0)
		return NULL;
	if (reg_read_frame(c, REG_MAX_MESSAGE, 3000, &msg, &len) == LETHE_OK &&
	    reg_verify(msg, len, REG_CT_REQUEST, &trust, (int64_t)time(NULL), &v,
	    &verdict) == LETHE_OK && verdict == REG_OK &&
	    reg_request_decode(v.content, v.content_len, &r->req) == LETHE_OK) {
		r->verified = true;
		lethe_status orc = reg_open_keys(r->req.sealed_keys.data,
		    r->req.sealed_keys.len, r->kdc, &r->keys);
		if (orc != LETHE_OK)
			fprintf(stderr, "reg_open_keys: %s\n", lethe_status_str(orc));
		r->opened = orc == LETHE_OK;
		r->req.sealed_keys = lbytes_make(NULL, 0);
		if (r->mode != FAKE_SILENT)
			fake_reply(r, c, msg, len);
	}
	reg_verified_clear(&v);
	free(msg);
	close(c);
	return NULL;
}

/* Run one agent_net_register against a fake registrar in mode. */
static void
register_once(fixture *f, enum fake_mode mode, registrar *r, agent_reg_output *out)
{
	char path[512];
	lethe_sockaddr any;
	size_t n = 0;
	pthread_t th;
	agent_reg_input in;
	uint8_t k18[32], k17[16], answers[16];
	kt_principal p = { 0 };

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	path_in(f, "ca.pem", path, sizeof(path));
	assert_int_equal(reg_trust_add_file(&r->anchors, path), LETHE_OK);
	r->kdc = identity_of(&f->pki.kdc);
	r->kdc2 = identity_of(&f->pki.kdc2);
	r->server = identity_of(&f->pki.server);
	assert_int_equal(lethe_conf_parse_addrs("127.0.0.1:0", 0, &any, 1, &n, NULL),
	    LETHE_OK);
	assert_int_equal(agent_listen(&any, &r->lfd), LETHE_OK);
	bound_addr(r->lfd, &f->net.kdcs[0].addr);
	f->net.timeout_ms = 1000;
	memset(k18, 0x18, sizeof(k18));
	memset(k17, 0x17, sizeof(k17));
	memset(answers, 0xAA, sizeof(answers));
	assert_int_equal(kt_principal_parse(PRINC, strlen(PRINC), NULL, &p), LETHE_OK);
	memset(&in, 0, sizeof(in));
	in.principal = &p;
	in.principal_name = PRINC;
	in.kvno = 5;
	in.use_until = 2000000000;
	in.accept_until = 2000036000;
	in.keys[0] = (agent_reg_key){ 18, lbytes_make(k18, sizeof(k18)) };
	in.keys[1] = (agent_reg_key){ 17, lbytes_make(k17, sizeof(k17)) };
	in.nkeys = 2;
	in.answers = answers;
	in.callback = "127.0.0.1:7999";
	assert_int_equal(pthread_create(&th, NULL, registrar_thread, r), 0);
	agent_net_register(&f->net, &f->net.kdcs[0], &in, out);
	assert_int_equal(pthread_join(th, NULL), 0);
	kt_principal_clear(&p);
	close(r->lfd);
	X509_STORE_free(r->anchors);
	reg_identity_free(r->kdc);
	reg_identity_free(r->kdc2);
	reg_identity_free(r->server);
}

static void
test_register_ok(void **state)
{
	fixture *f = *state;
	agent_reg_output out;
	registrar r;

	open_net(f);
	register_once(f, FAKE_OK, &r, &out);
	assert_int_equal(out.result, AGENT_RESULT_OK);
	assert_string_equal(out.text, "registered");
	assert_int_equal(out.granted_accept_until, 2000036007);
	/* what the registrar saw: signed by the server, keys sealed to it */
	assert_true(r.verified);
	assert_true(r.opened);
	assert_string_equal(r.req.principal, PRINC);
	assert_int_equal(r.req.nkeys, 2);
	assert_int_equal(r.req.keys[0].kvno, 5);
	assert_int_equal(r.req.keys[0].enctype, 18);
	assert_int_equal(r.req.keys[1].enctype, 17);
	assert_int_equal(r.req.keys[0].use_until, 2000000000);
	assert_int_equal(r.req.keys[0].accept_until, 2000036000);
	assert_true(r.req.has_answers);
	assert_int_equal(r.req.answers[0], 0xAA);
	assert_true(r.req.has_callback);
	assert_string_equal(r.req.callback, "127.0.0.1:7999");
	assert_int_equal(r.keys.nkeys, 2);
	assert_int_equal(r.keys.keys[0].key_len, 32);
	assert_int_equal(r.keys.keys[0].key[31], 0x18);
	assert_int_equal(r.keys.keys[1].key_len, 16);
	assert_int_equal(r.keys.keys[1].key[0], 0x17);
	assert_int_equal(r.keys.keys[1].kvno, 5);
	assert_true(llabs(r.req.timestamp - (int64_t)time(NULL)) < 60);
	reg_sealed_keys_clear(&r.keys);
}

static void
test_register_refused_and_bad_replies(void **state)
{
	fixture *f = *state;
	agent_reg_output out;
	registrar r;

	open_net(f);
	register_once(f, FAKE_REFUSE, &r, &out);
	assert_int_equal(out.result, REG_NOT_ALLOWED);
	assert_string_equal(out.text, "no rule lets you");
	assert_int_equal(out.granted_accept_until, 0);
	reg_sealed_keys_clear(&r.keys);

	register_once(f, FAKE_WRONG_NONCE, &r, &out);
	assert_int_equal(out.result, AGENT_RESULT_BAD_REPLY);
	assert_non_null(strstr(out.text, "nonce"));
	reg_sealed_keys_clear(&r.keys);

	register_once(f, FAKE_SIGNED_BY_SERVER, &r, &out);
	assert_int_equal(out.result, AGENT_RESULT_BAD_REPLY);
	assert_non_null(strstr(out.text, "not the kdc_cert"));
	reg_sealed_keys_clear(&r.keys);

	/* a KDC of the realm, but not the one asked */
	register_once(f, FAKE_SIGNED_BY_OTHER_KDC, &r, &out);
	assert_int_equal(out.result, AGENT_RESULT_BAD_REPLY);
	reg_sealed_keys_clear(&r.keys);

	register_once(f, FAKE_SILENT, &r, &out);
	assert_int_equal(out.result, AGENT_RESULT_NO_REPLY);
	reg_sealed_keys_clear(&r.keys);
}

/* An OK reply signed by the KDC but not bound to this very request is refused. */
static void
test_register_reply_not_bound(void **state)
{
	static const enum fake_mode modes[] = { FAKE_OTHER_REQUEST, FAKE_OTHER_PRINCIPAL,
		FAKE_OTHER_KVNO, FAKE_UNBOUND };
	fixture *f = *state;
	agent_reg_output out;
	registrar r;

	open_net(f);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		register_once(f, modes[i], &r, &out);
		assert_int_equal(out.result, AGENT_RESULT_BAD_REPLY);
		assert_non_null(strstr(out.text, "not bound"));
		reg_sealed_keys_clear(&r.keys);
	}
	/* An unsigned refusal is reported, never taken as the KDC's word. */
	register_once(f, FAKE_UNSIGNED, &r, &out);
	assert_int_equal(out.result, AGENT_RESULT_BAD_REPLY);
	assert_non_null(strstr(out.text, "unsigned refusal UNTRUSTED"));
	reg_sealed_keys_clear(&r.keys);
}

static void
test_register_nobody_listening(void **state)
{
	fixture *f = *state;
	agent_reg_output out;
	agent_reg_input in;
	uint8_t k[32] = { 0 };
	size_t n = 0;

	open_net(f);
	/* a port nobody listens on (bound then closed) */
	lethe_sockaddr any;
	int fd = -1;
	assert_int_equal(lethe_conf_parse_addrs("127.0.0.1:0", 0, &any, 1, &n, NULL),
	    LETHE_OK);
	assert_int_equal(agent_listen(&any, &fd), LETHE_OK);
	bound_addr(fd, &f->net.kdcs[0].addr);
	close(fd);
	memset(&in, 0, sizeof(in));
	in.principal_name = PRINC;
	in.kvno = 1;
	in.keys[0] = (agent_reg_key){ 18, lbytes_make(k, sizeof(k)) };
	in.nkeys = 1;
	agent_net_register(&f->net, &f->net.kdcs[0], &in, &out);
	assert_int_equal(out.result, AGENT_RESULT_NO_REPLY);
	assert_non_null(strstr(out.text, "refused"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_key_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_pkcs12, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_request_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_request_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_reply_not_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_refused_and_bad_replies,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_nobody_listening, setup,
		    teardown),
	};

	if (kc_init() != LETHE_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
