/*
 * The registrar inside lethe-kdc (DESIGN §2, docs/kdc.md "Registrar"):
 *
 *  - reg_service checks a RegistrationRequest in the order of
 *    docs/registration.md, stores its temporary keys in one store
 *    transaction and answers a RegistrationReply signed by the KDC's
 *    credential (store credential "kdc"), refusals included;
 *  - reg_keyreq queues key requests from KDC worker threads (rate-limited
 *    per principal) for the registrar thread to send;
 *  - reg_listener is the registrar thread: a poll(2) loop on its own TCP
 *    port serving one request per connection, and sending the queued key
 *    requests to the agents' callback endpoints.
 *
 * A reg_service and its store handle belong to the registrar thread (or
 * to one test thread); only reg_keyreq_send() may be called from others.
 */
#ifndef LETHE_REGISTRAR_SERVICE_H
#define LETHE_REGISTRAR_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/conf.h"
#include "base/status.h"
#include "store/store.h"

/* ---------------------------------------------------------- the service */

typedef struct reg_service reg_service;

/* What one request came to (for the log line and the caller). */
typedef struct reg_outcome {
	int result;                 /* enum reg_result (registrar.h) */
	bool stored;                /* keys committed: rebuild the snapshot */
	char principal[STORE_MAX_NAME_LEN + 1];    /* "" until known */
	char signer_spki[STORE_SPKI_HEX_LEN + 1];  /* "" until known */
	uint32_t kvnos[STORE_MAX_REG_KEYS];
	size_t nkvnos;
	char text[256];             /* the text sent in the reply */
	uint64_t usec;              /* time spent */
	char key_request[16];       /* a stored answersKeyRequest: "answered" (a
	                               KeyRequest of ours), "unknown"; else "" */
} reg_outcome;

/*
 * A service over the store st, which it takes over (closed by
 * reg_service_free, even on failure). The trust anchors, rules, policies
 * and the KDC credential are read now and again whenever the store's
 * generation changes. LETHE_ERR_NOT_FOUND when the store holds no "kdc"
 * credential (no reply could be signed).
 */
lethe_status reg_service_new(store *st, reg_service **out);

/* Free the service and close its store. NULL is allowed. */
void reg_service_free(reg_service *svc);

/*
 * How many principals one signing key (SPKI) may register for (agents
 * rows); 0 restores the default. lethe-kdc: [registrar]
 * max_principals_per_key.
 */
#define REG_DEFAULT_MAX_PRINCIPALS_PER_KEY 16u
void reg_service_set_max_principals_per_key(reg_service *svc, unsigned n);

/*
 * True when a rule's SAN identity is written TYPE:VALUE with a SAN type the
 * registrar matches (DNS, principal or pkinit, email, URI, IP; any case)
 * and a non-empty value. lethe-admin refuses other identities.
 */
bool reg_san_identity_typed(const char *identity);

/*
 * Handle one RegistrationRequest (the DER CMS bytes of one frame) from
 * peer (its TCP peer as "addr:port" / "[v6]:port": logged, and the host a
 * callback may name besides those an allow rule names; NULL: only those)
 * at time now (seconds since 1970). On LETHE_OK *reply (malloc'd, caller frees) holds
 * the reply, success or refusal, and *outcome says which: signed and
 * bound to the request when its signer was verified and it decoded, else
 * an unsigned RegistrationError; exactly one log line is written. An error status means no reply could be made at all (the
 * KDC credential unusable, memory): the connection is closed.
 */
lethe_status reg_service_handle(reg_service *svc, const char *peer,
    const uint8_t *req, size_t req_len, int64_t now, uint8_t **reply,
    size_t *reply_len, reg_outcome *outcome);

/*
 * An unsigned RegistrationError with result (text is only logged), for a
 * request that was never read (the listener's frame checks: TOO_BIG,
 * MALFORMED). Logs one line.
 */
lethe_status reg_service_refuse(reg_service *svc, const char *peer, int result,
    const char *text, int64_t now, uint8_t **reply, size_t *reply_len,
    reg_outcome *outcome);

/*
 * Build a KeyRequest for principal signed by the KDC, and the address of
 * the agent's callback endpoint (its agents row). Its nonce is remembered
 * (10 min, the last 64), so the registration answering it is logged
 * key_request=answered; any other answersKeyRequest is "unknown" and
 * otherwise ignored: the claim grants nothing. LETHE_ERR_NOT_FOUND
 * when the principal has no agent or no callback; LETHE_ERR_FORMAT when
 * the callback is not a numeric "host:port" / "[v6]:port".
 */
lethe_status reg_service_key_request(reg_service *svc, const char *principal,
    int64_t now, uint8_t **msg, size_t *msg_len, lethe_sockaddr *dest);

/* ---------------------------------------------------------- key requests */

typedef struct reg_keyreq reg_keyreq;

#define REG_KEYREQ_DEFAULT_INTERVAL 30u   /* seconds per principal */
#define REG_KEYREQ_QUEUE 64u              /* principals waiting at most */

/* A queue allowing one key request per principal every interval seconds. */
lethe_status reg_keyreq_new(unsigned interval, reg_keyreq **out);

/* Free the queue. NULL is allowed. Nothing may call reg_keyreq_send now. */
void reg_keyreq_free(reg_keyreq *q);

/*
 * Ask for a key request to principal (canonical name). ctx is the
 * reg_keyreq. Thread-safe, never blocks on I/O: it takes a mutex, queues
 * the name unless one went within the interval or the queue is full,
 * and wakes the registrar thread. Its type is kdc_key_request_fn
 * (src/kdc/kdc.h): install it with kdc_set_key_request(k, reg_keyreq_send, q).
 */
void reg_keyreq_send(void *ctx, const char *principal);

/* Readable while names are queued (for the registrar thread's poll). */
int reg_keyreq_fd(const reg_keyreq *q);

/*
 * Take the oldest queued name into name[0..cap). False when none is
 * left (the wake-up fd is then drained).
 */
bool reg_keyreq_next(reg_keyreq *q, char *name, size_t cap);

/* Counters: queued, dropped by the rate limit, dropped as the queue was full. */
typedef struct reg_keyreq_stats {
	uint64_t queued;
	uint64_t rate_limited;
	uint64_t queue_full;
} reg_keyreq_stats;

void reg_keyreq_stats_get(reg_keyreq *q, reg_keyreq_stats *out);

/* ---------------------------------------------------------- the listener */

typedef struct reg_listener reg_listener;

/* Called by the registrar thread after keys were stored. */
typedef void (*reg_stored_fn)(void *ctx);

typedef struct reg_listen_config {
	lethe_sockaddr addr;        /* port 0: an ephemeral port */
	unsigned max_conns;         /* open connections, both ways (64); when
				     * full, the oldest client connection of
				     * the peer holding most is closed */
	unsigned max_per_peer;      /* client connections per peer (8), see
				     * base/peers.h; 0: no cap */
	unsigned timeout_ms;        /* per connection: accept to reply sent (5000) */
	size_t max_message;         /* frame limit (REG_MAX_MESSAGE) */
	reg_service *svc;           /* borrowed; used by the thread only */
	reg_keyreq *keyreq;         /* borrowed; NULL: no key requests */
	reg_stored_fn on_stored;    /* may be NULL */
	void *on_stored_ctx;
} reg_listen_config;

/* Defaults for everything but addr, svc, keyreq and on_stored. */
void reg_listen_config_defaults(reg_listen_config *cfg);

/* Bind and listen now (so errors show before a daemon detaches). */
lethe_status reg_listener_new(const reg_listen_config *cfg, reg_listener **out);

/* The bound port. */
uint16_t reg_listener_port(const reg_listener *l);

/* Start the registrar thread (with the caller's signal mask). */
lethe_status reg_listener_start(reg_listener *l);

/* Stop and join the thread; open connections are closed. Idempotent. */
void reg_listener_stop(reg_listener *l);

/* Stop if running, close the socket, free. NULL is allowed. */
void reg_listener_free(reg_listener *l);

/* Counters of the listener, read after stop or racily while running. */
typedef struct reg_listen_stats {
	uint64_t accepted;
	uint64_t refused_full;      /* closed at once: nothing could be evicted */
	uint64_t evicted;           /* closed to make room for a newcomer */
	uint64_t timed_out;         /* dropped by the deadline */
	uint64_t bad_frames;        /* zero or oversized length, truncated stream */
	uint64_t replies;           /* replies fully written */
	uint64_t keyreqs_sent;      /* key requests fully written */
	uint64_t keyreqs_failed;    /* no agent, no callback, connect/write failed */
} reg_listen_stats;

void reg_listener_stats_get(const reg_listener *l, reg_listen_stats *out);

#endif
