/*
 * lethe-agent: the parts that speak the registration protocol
 * (registrar.h): the registration client and the KeyRequest listener.
 */
#ifndef LETHE_AGENT_AGENT_NET_H
#define LETHE_AGENT_AGENT_NET_H

#include <poll.h>
#include <sys/types.h>

#include "agent/agent.h"
#include "base/peers.h"
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
 * The KeyRequest listener: connections served side by side in the
 * caller's poll loop. Each connection carries one frame of at most
 * REG_MAX_MESSAGE bytes, read without blocking within timeout_ms of its
 * accept, and is then closed (a KeyRequest has no reply). At most
 * max_conns at once and per_peer per peer (0: no cap); a newcomer over
 * either takes the slot of the longest-waiting one (base/peers.h), so
 * idle sockets can neither block nor delay a KeyRequest.
 *
 *	agent_keyreq_srv s;
 *	GUARD(agent_keyreq_srv_init(&s, lfd, 16, 4, AGENT_KEYREQ_TIMEOUT_MS));
 *	n = agent_keyreq_srv_pollfds(&s, pfds);     // pfds: 1 + max_conns
 *	poll(pfds, n, min(mine, agent_keyreq_srv_timeout(&s, lethe_now_ms())));
 *	agent_keyreq_srv_serve(&s, pfds, lethe_now_ms(), on_frame, arg);
 *	agent_keyreq_srv_close(&s);
 */
typedef struct agent_keyreq_conn {
	int fd;                         /* -1: free */
	int64_t since_ms, deadline_ms;  /* accepted at; dropped at */
	uint8_t hdr[REG_FRAME_HEADER_LEN];
	size_t hdr_got;
	uint8_t *buf;                   /* the frame's body once its length is in */
	size_t len, got;
	lethe_peer peer_key;
	char peer[80];
} agent_keyreq_conn;

typedef struct agent_keyreq_srv {
	int lfd;                        /* owned */
	unsigned max_conns, per_peer, timeout_ms;
	agent_keyreq_conn *conns;       /* max_conns slots */
	size_t nconns;
	lethe_peer_table peers;
	uint64_t evicted, timed_out;
} agent_keyreq_srv;

/* Set s up around the listening socket lfd, which it then owns (closed on failure too). */
lethe_status agent_keyreq_srv_init(agent_keyreq_srv *s, int lfd, unsigned max_conns,
    unsigned per_peer, unsigned timeout_ms);

/* Close every connection and the listener. Idempotent on a zeroed or closed s. */
void agent_keyreq_srv_close(agent_keyreq_srv *s);

/* Fill pfds (room for 1 + max_conns) for poll(2); returns how many. */
nfds_t agent_keyreq_srv_pollfds(const agent_keyreq_srv *s, struct pollfd *pfds);

/* Milliseconds until the next connection deadline from now, or -1: none. */
int agent_keyreq_srv_timeout(const agent_keyreq_srv *s, int64_t now);

/*
 * Called once per connection that ends with something to say: a whole
 * frame (msg[0..len), valid during the call; why NULL), or why none came
 * (bad length, stream cut inside a frame, deadline; msg NULL). A socket
 * that sent nothing ends silently. peer is the sender's address as text.
 */
typedef void (*agent_keyreq_frame_fn)(void *arg, const uint8_t *msg, size_t len,
    const char *peer, const char *why);

/* After poll on pfds: accept, read, drop what is past its deadline. */
void agent_keyreq_srv_serve(agent_keyreq_srv *s, const struct pollfd *pfds, int64_t now,
    agent_keyreq_frame_fn fn, void *arg);

#endif
