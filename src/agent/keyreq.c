/* lethe-agent: the KeyRequest listener (KDC -> agent). */
#include "agent/agent_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

lethe_status
agent_accept_frame(int lfd, unsigned timeout_ms, uint8_t **msg, size_t *len,
    char *peer, size_t peer_len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	lethe_status rc;
	int c;

	memset(&ss, 0, sizeof(ss));
	c = accept(lfd, (struct sockaddr *)&ss, &sl);
	if (c < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED) ? LETHE_ERR_NOT_FOUND : LETHE_ERR_IO;
	(void)fcntl(c, F_SETFD, FD_CLOEXEC);
	lethe_sockaddr_str((const struct sockaddr *)&ss, sl, peer, peer_len);
	rc = reg_read_frame(c, REG_MAX_MESSAGE, timeout_ms, msg, len);
	close(c);
	return rc;
}
