/*
 * lethe-agent: the parts that speak the registration protocol
 * (registrar.h): the registration client and the KeyRequest listener.
 */
#ifndef LETHE_AGENT_AGENT_NET_H
#define LETHE_AGENT_AGENT_NET_H

#include <sys/types.h>

#include "agent/agent.h"
#include "registrar/registrar.h"

#define AGENT_KEYREQ_CACHE 64           /* KeyRequest nonces remembered */
#define AGENT_KEYREQ_TIMEOUT_MS 5000u   /* to read one KeyRequest */

/* The server's identity and what it knows of the KDCs. */
typedef struct agent_net {
	reg_identity *id;
	X509_STORE *kdc_ca;
	X509 *kdc_cert[AGENT_MAX_KDCS];
	char kdc_spki[AGENT_MAX_KDCS][REG_SPKI_HEX_LEN + 1];
	agent_kdc kdcs[AGENT_MAX_KDCS];
	size_t nkdcs;
	unsigned timeout_ms;
} agent_net;

/*
 * Load the identity (certificate + key, or PKCS#12 + password file; the
 * key and password files must be 0600), kdc_ca and every kdc_cert of cfg.
 * err says what failed. agent_net_close() after.
 */
lethe_status agent_net_open(const agent_config *cfg, agent_net *net,
    char *err, size_t err_len);

void agent_net_close(agent_net *net);

/* An agent_register_fn; arg is an agent_net. */
void agent_net_register(void *arg, const agent_kdc *kdc, const agent_reg_input *in,
    agent_reg_output *out);

/* The index of the KDC whose kdc_cert has this SPKI SHA-256 hex, or -1. */
ssize_t agent_net_kdc_by_spki(const agent_net *net, const char *spki);

/* Read a text file of at most AGENT_SECRET_MAX_FILE bytes, NUL-terminated. */
lethe_status agent_read_text_file(const char *path, char **out, char *err,
    size_t err_len);

/* KeyRequest nonces already acted on. Zero it to start. */
typedef struct agent_keyreq_cache {
	uint8_t nonces[AGENT_KEYREQ_CACHE][REG_NONCE_LEN];
	size_t n, next;
} agent_keyreq_cache;

/* What an accepted KeyRequest asks. */
typedef struct agent_keyreq {
	size_t principal;               /* index in the config */
	size_t kdc;                     /* the KDC that signed it; SIZE_MAX when
					   several KDCs share its certificate */
	uint8_t nonce[REG_NONCE_LEN];
} agent_keyreq;

/*
 * Check a KeyRequest (msg[0..len), the DER CMS of one frame) at now: its
 * signature chains to kdc_ca and its signer is one of the kdc_certs, it
 * names one of cfg's principals, its timestamp is within
 * AGENT_KEYREQ_SKEW of now, and its nonce is not in cache (then added).
 * LETHE_OK fills *out; otherwise LETHE_ERR_BAD_INTEGRITY (signature,
 * signer), LETHE_ERR_FORMAT (content), LETHE_ERR_NOT_FOUND (principal),
 * LETHE_ERR_INVALID_ARG (stale or replayed), with why saying which.
 */
lethe_status agent_keyreq_check(const agent_config *cfg, const agent_net *net,
    agent_keyreq_cache *cache, const uint8_t *msg, size_t len, int64_t now,
    agent_keyreq *out, char *why, size_t why_len);

/* A listening TCP socket on addr (non-blocking, close-on-exec) in *fd. */
lethe_status agent_listen(const lethe_sockaddr *addr, int *fd);

/*
 * Accept one connection on the listening socket lfd, read one frame of
 * at most REG_MAX_MESSAGE bytes within timeout_ms, and close it (the
 * KeyRequest has no reply). peer receives the peer's address as text.
 * LETHE_ERR_NOT_FOUND when no connection was waiting.
 */
lethe_status agent_accept_frame(int lfd, unsigned timeout_ms, uint8_t **msg,
    size_t *len, char *peer, size_t peer_len);

#endif
