/* lethe-agent: the KeyRequest listener (KDC -> agent). */
#define _GNU_SOURCE
#include "agent/agent_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/conf.h"

static bool
cache_has(const agent_keyreq_cache *c, const uint8_t *nonce)
{
	for (size_t i = 0; i < c->n; i++)
		if (CRYPTO_memcmp(c->nonces[i], nonce, REG_NONCE_LEN) == 0)
			return true;
	return false;
}

static void
cache_add(agent_keyreq_cache *c, const uint8_t *nonce)
{
	memcpy(c->nonces[c->next], nonce, REG_NONCE_LEN);
	c->next = (c->next + 1) % AGENT_KEYREQ_CACHE;
	if (c->n < AGENT_KEYREQ_CACHE)
		c->n++;
}

/* The signature and the signer: a KDC of ours. */
static lethe_status
check_signer(const agent_net *net, const uint8_t *msg, size_t len, int64_t now,
    reg_verified *v, size_t *kdc, char *why, size_t why_len)
{
	reg_trust trust = { net->kdc_ca, NULL, 0 };
	enum reg_result verdict = REG_INTERNAL;
	ssize_t k;

	if (reg_verify(msg, len, REG_CT_KEY_REQUEST, &trust, now, v, &verdict) !=
	    LETHE_OK || verdict != REG_OK) {
		snprintf(why, why_len, "signature refused: %s", reg_result_str(verdict));
		return LETHE_ERR_BAD_INTEGRITY;
	}
	k = agent_net_kdc_by_spki(net, v->signer_spki);
	if (k < 0) {
		snprintf(why, why_len, "signed by spki %s, which is no kdc_cert",
		    v->signer_spki);
		return LETHE_ERR_BAD_INTEGRITY;
	}
	*kdc = (size_t)k;
	/* KDCs sharing one certificate (one store): answer them all. */
	for (size_t j = (size_t)k + 1; j < net->nkdcs; j++)
		if (strcmp(net->kdc_spki[j], v->signer_spki) == 0)
			*kdc = SIZE_MAX;
	return LETHE_OK;
}

lethe_status
agent_keyreq_check(const agent_config *cfg, const agent_net *net,
    agent_keyreq_cache *cache, const uint8_t *msg, size_t len, int64_t now,
    agent_keyreq *out, char *why, size_t why_len)
{
	reg_verified v;
	reg_key_request kr;
	lethe_status rc;
	size_t p;

	memset(&v, 0, sizeof(v));
	memset(out, 0, sizeof(*out));
	GUARD_GOTO(rc, check_signer(net, msg, len, now, &v, &out->kdc, why, why_len));
	if (reg_key_request_decode(v.content, v.content_len, &kr) != LETHE_OK) {
		snprintf(why, why_len, "malformed KeyRequest");
		rc = LETHE_ERR_FORMAT;
		goto cleanup;
	}
	for (p = 0; p < cfg->nprincipals; p++)
		if (strcmp(cfg->principals[p], kr.principal) == 0)
			break;
	if (p == cfg->nprincipals) {
		snprintf(why, why_len, "principal %.300s is not ours", kr.principal);
		rc = LETHE_ERR_NOT_FOUND;
		goto cleanup;
	}
	if (kr.timestamp < now - AGENT_KEYREQ_SKEW || kr.timestamp > now + AGENT_KEYREQ_SKEW) {
		snprintf(why, why_len, "timestamp %lld is %lld s from now",
		    (long long)kr.timestamp, (long long)(kr.timestamp - now));
		rc = LETHE_ERR_INVALID_ARG;
		goto cleanup;
	}
	if (cache_has(cache, kr.nonce)) {
		snprintf(why, why_len, "replayed nonce");
		rc = LETHE_ERR_INVALID_ARG;
		goto cleanup;
	}
	cache_add(cache, kr.nonce);
	out->principal = p;
	memcpy(out->nonce, kr.nonce, REG_NONCE_LEN);
	rc = LETHE_OK;
cleanup:
	reg_verified_clear(&v);
	return rc;
}

lethe_status
agent_listen(const lethe_sockaddr *addr, int *fd)
{
	int s, one = 1;

	s = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ENSURE(s >= 0, LETHE_ERR_IO);
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (const struct sockaddr *)&addr->ss, addr->len) != 0 ||
	    listen(s, 16) != 0) {
		int saved = errno;
		close(s);
		errno = saved;
		return LETHE_ERR_IO;
	}
	*fd = s;
	return LETHE_OK;
}

/* ------------------------------------------------------------ the listener */

lethe_status
agent_keyreq_srv_init(agent_keyreq_srv *s, int lfd, unsigned max_conns, unsigned per_peer,
    unsigned timeout_ms)
{
	lethe_status rc;

	memset(s, 0, sizeof(*s));
	s->lfd = lfd;
	s->max_conns = max_conns;
	s->per_peer = per_peer;
	s->timeout_ms = timeout_ms;
	ENSURE_GOTO(rc, lfd >= 0 && max_conns > 0 && timeout_ms > 0, LETHE_ERR_INVALID_ARG);
	s->conns = calloc(max_conns, sizeof(*s->conns));
	ENSURE_GOTO(rc, s->conns != NULL, LETHE_ERR_NOMEM);
	for (unsigned i = 0; i < max_conns; i++)
		s->conns[i].fd = -1;
	GUARD_GOTO(rc, lethe_peer_table_init(&s->peers, max_conns));
	return LETHE_OK;
cleanup:
	agent_keyreq_srv_close(s);
	return rc;
}

static void
conn_close(agent_keyreq_srv *s, agent_keyreq_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	lethe_peer_remove(&s->peers, &c->peer_key);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->nconns--;
}

void
agent_keyreq_srv_close(agent_keyreq_srv *s)
{
	for (unsigned i = 0; s->conns != NULL && i < s->max_conns; i++)
		conn_close(s, &s->conns[i]);
	free(s->conns);
	s->conns = NULL;
	lethe_peer_table_free(&s->peers);
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
}

nfds_t
agent_keyreq_srv_pollfds(const agent_keyreq_srv *s, struct pollfd *pfds)
{
	pfds[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (unsigned i = 0; i < s->max_conns; i++)
		pfds[1 + i] = (struct pollfd){ .fd = s->conns[i].fd, .events = POLLIN };
	return 1 + (nfds_t)s->max_conns;
}

int
agent_keyreq_srv_timeout(const agent_keyreq_srv *s, int64_t now)
{
	int64_t next = -1;

	for (unsigned i = 0; i < s->max_conns; i++) {
		const agent_keyreq_conn *c = &s->conns[i];
		if (c->fd >= 0 && (next < 0 || c->deadline_ms < next))
			next = c->deadline_ms;
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

/* Every connection is still reading: any may go for room (a lethe_peer_probe_fn). */
static bool
conn_probe(void *ctx, size_t i, lethe_peer *peer, int64_t *since)
{
	const agent_keyreq_conn *c = &((const agent_keyreq_srv *)ctx)->conns[i];

	if (c->fd < 0)
		return false;
	*peer = c->peer_key;
	*since = c->since_ms;
	return true;
}

static void
accept_all(agent_keyreq_srv *s, int64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	lethe_peer key;
	size_t victim = 0;
	unsigned i;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;         /* EAGAIN, or an error for that one client */
		lethe_peer_of((const struct sockaddr *)&ss, sl, &key);
		switch (lethe_peer_pick(&s->peers, &key, s->per_peer, s->nconns >= s->max_conns,
		    s->max_conns, conn_probe, s, &victim)) {
		case LETHE_PEER_REFUSE:
			close(fd);      /* cannot happen: every connection is evictable */
			continue;
		case LETHE_PEER_EVICT:
			s->evicted++;
			conn_close(s, &s->conns[victim]);
			break;
		case LETHE_PEER_ROOM:
			break;
		}
		for (i = 0; s->conns[i].fd >= 0; i++)
			;               /* nconns < max_conns: a free slot exists */
		agent_keyreq_conn *c = &s->conns[i];
		c->fd = fd;
		c->since_ms = now;
		c->deadline_ms = now + s->timeout_ms;
		c->peer_key = key;
		lethe_peer_add(&s->peers, &key);
		lethe_sockaddr_str((const struct sockaddr *)&ss, sl, c->peer, sizeof(c->peer));
		s->nconns++;
	}
}

/* End c, handing fn its whole frame, or why there is none (why != NULL). */
static void
conn_finish(agent_keyreq_srv *s, agent_keyreq_conn *c, const char *why,
    agent_keyreq_frame_fn fn, void *arg)
{
	if (why == NULL)
		fn(arg, c->buf, c->len, c->peer, NULL);
	else
		fn(arg, NULL, 0, c->peer, why);
	conn_close(s, c);
}

/* Read what c has; finish it on a whole frame, an error or the end of its stream. */
static void
conn_read(agent_keyreq_srv *s, agent_keyreq_conn *c, agent_keyreq_frame_fn fn, void *arg)
{
	for (;;) {
		bool in_hdr = c->hdr_got < sizeof(c->hdr);
		ssize_t n = in_hdr ? recv(c->fd, c->hdr + c->hdr_got, sizeof(c->hdr) - c->hdr_got, 0) :
		    recv(c->fd, c->buf + c->got, c->len - c->got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->hdr_got == 0)
				conn_close(s, c);       /* nothing sent: nothing to say */
			else
				conn_finish(s, c, n == 0 ? "the stream ended inside a frame" :
				    "the connection failed inside a frame", fn, arg);
			return;
		}
		if (!in_hdr) {
			c->got += (size_t)n;
			if (c->got == c->len) {
				conn_finish(s, c, NULL, fn, arg);
				return;
			}
			continue;
		}
		c->hdr_got += (size_t)n;
		if (c->hdr_got < sizeof(c->hdr))
			continue;
		if (reg_frame_length(c->hdr, REG_MAX_MESSAGE, &c->len) != LETHE_OK) {
			conn_finish(s, c, "frame length 0 or over 65536 bytes", fn, arg);
			return;
		}
		c->buf = malloc(c->len);
		if (c->buf == NULL) {
			conn_finish(s, c, "out of memory", fn, arg);
			return;
		}
	}
}

void
agent_keyreq_srv_serve(agent_keyreq_srv *s, const struct pollfd *pfds, int64_t now,
    agent_keyreq_frame_fn fn, void *arg)
{
	for (unsigned i = 0; i < s->max_conns; i++) {
		agent_keyreq_conn *c = &s->conns[i];
		if (c->fd >= 0 && c->fd == pfds[1 + i].fd && pfds[1 + i].revents != 0)
			conn_read(s, c, fn, arg);
	}
	for (unsigned i = 0; i < s->max_conns; i++) {
		agent_keyreq_conn *c = &s->conns[i];
		if (c->fd >= 0 && c->deadline_ms <= now) {
			s->timed_out++;
			if (c->hdr_got == 0)
				conn_close(s, c);       /* an idle socket: nothing to say */
			else
				conn_finish(s, c, "no whole frame before the deadline", fn, arg);
		}
	}
	if (pfds[0].revents & POLLIN)
		accept_all(s, now);
}
