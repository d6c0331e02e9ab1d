/*
 * PacketCable key management: the server and client roles (lethe-kmp).
 *
 * The engines hold no socket and read no clock: every call takes the
 * caller's monotonic time in milliseconds (now_ms), messages leave through
 * an injected send function, random bytes come from an injected source,
 * and each engine reports its next deadline for the caller's timer. That
 * is what lets the tests drive them with a fake clock and an in-memory
 * wire. docs/kmp-roles.md describes the state machines and Lethe's choices
 * on the spec's open items (retransmission values, duplicates, Error
 * Reply, SA Recovered, re-keying).
 *
 * Server: keeps a bounded table of outstanding Wake Up/Rekey nonces per
 * client address; an AP Request is compared with it FIRST, and a mismatch
 * is dropped and counted before any Kerberos or HMAC work. Client-initiated
 * requests (nonce KMP_NONCE_CLIENT_INITIATED) pass a token bucket first.
 * Only then is the AP-REQ verified by the acceptor (keytab, replay cache,
 * skew) and the AP Request HMAC checked.
 *
 * Client: answers a Wake Up/Rekey from its configured server address that
 * names one of its configured server principals, carries a non-zero nonce
 * and arrives while no exchange is in progress, with an AP Request carrying the server nonce and its own nonce (the authenticator's
 * seq-number, echoed in the AP-REP), keeps both only for the solicited-key
 * timeout, refuses late or mismatching AP Replies, and sends SA Recovered.
 * It can also start client-initiated exchanges with the spec's back-off.
 *
 * Not thread-safe: one engine per thread (the programs are single-threaded).
 */
#ifndef LETHE_KMP_KMP_ROLE_H
#define LETHE_KMP_KMP_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acceptor/acceptor.h"
#include "base/bytes.h"
#include "base/status.h"
#include "client/client.h"
#include "crypto/crypto.h"
#include "kmp/kmp.h"
#include "kmp/kmp_kdf.h"
#include "kmp/kmp_sa.h"

/* ----------------------------------------------------------- peers, I/O */

#define KMP_PEER_MAX 28u        /* sizeof(struct sockaddr_in6) */

/* A peer's transport address, as opaque bytes (a sockaddr in the programs). */
typedef struct kmp_peer {
	uint8_t len;
	uint8_t addr[KMP_PEER_MAX];
} kmp_peer;

/* Copy addr[0..len) into *peer; 1 <= len <= KMP_PEER_MAX. */
lethe_status kmp_peer_set(kmp_peer *peer, const void *addr, size_t len);

bool kmp_peer_eq(const kmp_peer *a, const kmp_peer *b);

/*
 * What an engine needs from the outside. send transmits one datagram (a
 * failure is logged and counted, the exchange goes on as if lost); random
 * fills out with unpredictable bytes (kc_random_bytes in the programs);
 * unix_time is the wall clock in seconds (Rekey timestamps only).
 */
typedef struct kmp_io {
	void *ctx;
	lethe_status (*send)(void *ctx, const kmp_peer *to, const uint8_t *msg,
	    size_t len);
	lethe_status (*random)(void *ctx, uint8_t *out, size_t len);
	int64_t (*unix_time)(void *ctx);
	/* Optional: peer as text for logs into buf (NULL: hex bytes). */
	void (*peer_name)(void *ctx, const kmp_peer *peer, char *buf, size_t cap);
} kmp_io;

/* peer as text for a log line: io->peer_name, else hex. */
void kmp_peer_name(const kmp_io *io, const kmp_peer *peer, char *buf,
    size_t cap);

/* ----------------------------------------------------------- peer index */

#define KMP_PEER_NONE UINT32_MAX  /* no slot */
#define KMP_PEER_HASH_WORDS 8u    /* 32-bit hash key words: KMP_PEER_MAX padded */

/*
 * Finds the caller's slot number (0..cap-1) of a peer address: chained
 * buckets over a hash of the address keyed with random words drawn at
 * init, so that an attacker cannot choose addresses that share a bucket
 * and a lookup costs the same however many peers are indexed.
 */
typedef struct kmp_peer_index {
	kmp_peer *peers;          /* per slot: its address; len 0 when unused */
	uint32_t *next;           /* per slot: the next slot in its bucket */
	uint32_t *buckets;        /* nbuckets chain heads */
	size_t nbuckets;          /* a power of two, >= cap */
	size_t cap;
	uint32_t hash_key[KMP_PEER_HASH_WORDS];
	uint64_t hash_len_key;
} kmp_peer_index;

/* An empty index of cap (1..KMP_NONCE_TABLE_MAX) slots, a fresh random hash key. */
lethe_status kmp_peer_index_init(kmp_peer_index *ix, size_t cap);
void kmp_peer_index_free(kmp_peer_index *ix);

/* The slot that holds peer, or KMP_PEER_NONE. */
uint32_t kmp_peer_index_find(const kmp_peer_index *ix, const kmp_peer *peer);

/*
 * Record that slot holds peer. LETHE_ERR_INVALID_ARG when slot is out of
 * range or taken, or peer is malformed or already indexed.
 */
lethe_status kmp_peer_index_add(kmp_peer_index *ix, const kmp_peer *peer,
    uint32_t slot);

/* Forget what slot holds; nothing when it holds nothing. */
void kmp_peer_index_remove(kmp_peer_index *ix, uint32_t slot);

/* ----------------------------------------------------------- nonce table */

#define KMP_NONCE_TABLE_MAX 65536u

/* One outstanding nonce: the client it was sent to and when it lapses. */
typedef struct kmp_nonce_entry {
	kmp_peer peer;
	uint32_t nonce;
	int64_t expires_ms;
	bool in_use;
} kmp_nonce_entry;

/*
 * At most cap outstanding nonces, one per client address, found through
 * a kmp_peer_index: a lookup costs the same however many clients wait.
 */
typedef struct kmp_nonce_table {
	kmp_nonce_entry *slots;   /* cap entries */
	kmp_peer_index index;     /* peer -> slot */
	uint32_t *free_next;      /* per unused slot: the next unused one */
	uint32_t free_head;       /* first unused slot, or KMP_PEER_NONE */
	size_t cap;
	size_t count;
} kmp_nonce_table;

/* An empty table for cap (1..KMP_NONCE_TABLE_MAX) clients, a fresh random hash key. */
lethe_status kmp_nonce_table_init(kmp_nonce_table *t, size_t cap);
void kmp_nonce_table_free(kmp_nonce_table *t);

/*
 * Record nonce (never KMP_NONCE_CLIENT_INITIATED) for peer until
 * expires_ms, replacing peer's previous nonce. Expired entries are
 * reclaimed when every slot is taken; LETHE_ERR_TOO_BIG when every slot
 * then still holds a live nonce.
 */
lethe_status kmp_nonce_put(kmp_nonce_table *t, const kmp_peer *peer,
    uint32_t nonce, int64_t expires_ms, int64_t now_ms);

/*
 * LETHE_OK when peer has nonce outstanding and unexpired (constant-time
 * compare), else LETHE_ERR_NOT_FOUND. Consumes nothing.
 */
lethe_status kmp_nonce_match(kmp_nonce_table *t, const kmp_peer *peer,
    uint32_t nonce, int64_t now_ms);

/* kmp_nonce_match, then forget the entry (a nonce is used once). */
lethe_status kmp_nonce_take(kmp_nonce_table *t, const kmp_peer *peer,
    uint32_t nonce, int64_t now_ms);

/* Forget peer's nonce, if any. */
void kmp_nonce_drop(kmp_nonce_table *t, const kmp_peer *peer);

/* Forget every nonce whose expiry is <= now_ms. */
void kmp_nonce_expire(kmp_nonce_table *t, int64_t now_ms);

/* Live entries (expired ones count until reclaimed). */
size_t kmp_nonce_count(const kmp_nonce_table *t);

/* A random server nonce from io, never KMP_NONCE_CLIENT_INITIATED. */
lethe_status kmp_nonce_fresh(const kmp_io *io, uint32_t *out);

/* ---------------------------------------------------------------- server */

/* Defaults (docs/kmp-roles.md says why). */
#define KMP_SRV_WAKE_NOM_MS         1000u   /* first Wake Up retransmission after */
#define KMP_SRV_WAKE_MAX_MS         8000u   /* back-off cap */
#define KMP_SRV_WAKE_RETRIES        4u      /* retransmissions before giving up */
#define KMP_SRV_RECOVERED_MS        5000u   /* wait for SA Recovered */
#define KMP_SRV_MAX_CLIENTS         1024u
#define KMP_SRV_CI_RATE             10u     /* client-initiated requests per second */
#define KMP_SRV_CI_BURST            20u
#define KMP_SRV_LIFETIME            3600u   /* SA lifetime, s */
#define KMP_SRV_GRACE               300u    /* grace period, s */
#define KMP_MAX_SKEW_S              300     /* Rekey timestamp skew */

typedef struct kmp_server_config {
	const char *principal;      /* "service/host@REALM" sent in Wake Up/Rekey */
	kmp_doi doi;
	kmp_suites offered;         /* server's preference order; count 0: AES/SHA-1 */
	uint32_t lifetime_s;        /* 0: KMP_SRV_LIFETIME */
	uint32_t grace_s;           /* 0: KMP_SRV_GRACE; must be < lifetime */
	bool ack_required;          /* ask for SA Recovered */
	bool reestablish;           /* let clients that ask re-key their SAs themselves */
	uint32_t wake_nom_ms;       /* 0: defaults above */
	uint32_t wake_max_ms;
	uint32_t wake_retries;      /* retransmissions; UINT32_MAX not allowed */
	uint32_t recovered_ms;
	size_t max_clients;         /* 0: KMP_SRV_MAX_CLIENTS */
	uint32_t ci_rate;           /* 0: KMP_SRV_CI_RATE */
	uint32_t ci_burst;          /* 0: KMP_SRV_CI_BURST */
	kmp_snmp_asd snmp;          /* server's engine data (SNMPv3 DOI; copied) */
} kmp_server_config;

/* Operator counters (docs/kmp-roles.md lists the log names). */
typedef struct kmp_server_stats {
	uint64_t wakeups_sent;          /* Wake Ups and Rekeys, first sends */
	uint64_t wakeup_retransmits;
	uint64_t wakeups_given_up;
	uint64_t ap_requests_accepted;  /* answered with an AP Reply */
	uint64_t dropped_nonce;         /* no such outstanding nonce: no crypto */
	uint64_t dropped_rate;          /* client-initiated over the rate limit */
	uint64_t dropped_other;         /* malformed, refused AP-REQ, bad HMAC, ... */
	uint64_t error_replies;
	uint64_t duplicates_resent;     /* same AP Request again: cached AP Reply */
	uint64_t sa_recovered;
	uint64_t sas_live;
	uint64_t rekeys;                /* re-keyings started */
	uint64_t send_failures;
} kmp_server_stats;

typedef struct kmp_server kmp_server;

/*
 * A server engine answering with acc (borrowed; it must outlive the
 * engine). cfg is copied. LETHE_ERR_INVALID_ARG for a bad config (no
 * principal, unsupported offered suite, grace >= lifetime, ...).
 */
lethe_status kmp_server_new(const kmp_server_config *cfg, const kmp_io *io,
    acc_ctx *acc, kmp_server **out);

/* Wipe every key and free the engine. NULL is fine. */
void kmp_server_free(kmp_server *srv);

/*
 * Wake client at peer: a fresh nonce, a Wake Up (or a Rekey when an IPsec
 * SA with the client exists), retransmitted on the back-off until an AP
 * Request arrives or the retries run out. The client is remembered and
 * re-keyed before each SA's grace period ends. LETHE_ERR_TOO_BIG when the
 * client table or the nonce table is full.
 */
lethe_status kmp_server_wake(kmp_server *srv, const kmp_peer *peer,
    int64_t now_ms);

/*
 * As kmp_server_wake, but always an (unauthenticated) Wake Up, never a
 * Rekey: for a client whose state is unknown (restarted, say). The live SA
 * stays until the new exchange replaces it.
 */
lethe_status kmp_server_wake_up(kmp_server *srv, const kmp_peer *peer,
    int64_t now_ms);

/* Handle one datagram from peer. Never fails on bad input: it counts it. */
void kmp_server_receive(kmp_server *srv, const kmp_peer *peer,
    const uint8_t *msg, size_t len, int64_t now_ms);

/* Run the timers due at now_ms (retransmissions, give-ups, expiry, re-keys). */
void kmp_server_tick(kmp_server *srv, int64_t now_ms);

/* The next time kmp_server_tick has work, or INT64_MAX. */
int64_t kmp_server_next_deadline(const kmp_server *srv);

void kmp_server_stats_get(const kmp_server *srv, kmp_server_stats *out);

/* The live SA with peer (NULL when none); valid until the next engine call. */
kmp_sa *kmp_server_sa(kmp_server *srv, const kmp_peer *peer);

/* ---------------------------------------------------------------- client */

/* RFC 4682 defaults (spec §8). */
#define KMP_CLI_SOLICITED_MS        1000u
#define KMP_CLI_UNSOL_NOM_MS        500u
#define KMP_CLI_UNSOL_MAX_MS        600000u
#define KMP_CLI_UNSOL_RETRIES       5u
#define KMP_CLI_MAX_PRINCIPALS      8u      /* principal + also_principals */

/*
 * Gets a service ticket for principal ("svc/host@REALM") into *cred
 * (zeroed on entry; the engine clears it). The program asks the KDC with
 * kcl_get_tgt/kcl_get_service_ticket; tests hand out a prepared one.
 * refresh asks for a new ticket instead of a cached one (after a Kerberos
 * Error Reply such as KRB_AP_ERR_BADKEYVER or TKT_EXPIRED).
 */
typedef lethe_status (*kmp_get_cred_fn)(void *ctx, const char *principal,
    bool refresh, kcl_cred *cred);

typedef struct kmp_client_config {
	kmp_doi doi;
	kmp_peer server;            /* the only peer whose messages are read */
	/*
	 * The server principal: client-initiated exchanges ask for it, and a
	 * Wake Up/Rekey is answered only when it names it or one of
	 * also_principals (copied; at most KMP_CLI_MAX_PRINCIPALS in all).
	 * NULL with no also_principals: every Wake Up/Rekey is refused.
	 */
	const char *principal;
	const char *const *also_principals;
	size_t n_also_principals;
	kmp_suites suites;          /* what we accept, preference order; count 0: all supported */
	bool reestablish;           /* offer to re-key our SAs ourselves */
	uint32_t solicited_ms;      /* 0: KMP_CLI_SOLICITED_MS */
	uint32_t unsol_nom_ms;      /* 0: KMP_CLI_UNSOL_NOM_MS */
	uint32_t unsol_max_ms;      /* 0: KMP_CLI_UNSOL_MAX_MS */
	uint32_t unsol_retries;     /* retransmissions; KMP_CLI_UNSOL_RETRIES when unsol_nom_ms is 0 */
	int64_t max_skew_s;         /* Rekey timestamps; 0: KMP_MAX_SKEW_S */
	kmp_snmp_asd snmp;          /* our engine data (SNMPv3 DOI; copied) */
	kmp_get_cred_fn get_cred;
	void *get_cred_ctx;
} kmp_client_config;

typedef struct kmp_client_stats {
	uint64_t wakeups_received;
	uint64_t rekeys_received;
	uint64_t ap_requests_sent;      /* every send, retransmissions included */
	uint64_t retransmits;
	uint64_t replies_accepted;
	uint64_t replies_late;          /* after the timer: refused */
	uint64_t replies_refused;       /* wrong nonce echo, HMAC, AP-REP, suite */
	uint64_t error_replies;
	uint64_t gave_up;
	uint64_t dropped;               /* malformed, unexpected, not from the server */
	uint64_t triggers_refused;      /* Wake Up/Rekey naming another principal, or nonce 0 */
	uint64_t triggers_busy;         /* Wake Up/Rekey during an exchange: ignored */
	uint64_t sas_installed;
	uint64_t reestablishes;         /* re-keyings we started (re-establish flag) */
	uint64_t send_failures;
	uint64_t cred_failures;
} kmp_client_stats;

typedef struct kmp_client kmp_client;

lethe_status kmp_client_new(const kmp_client_config *cfg, const kmp_io *io,
    kmp_client **out);
void kmp_client_free(kmp_client *cli);

/*
 * Start a client-initiated exchange with the configured server: AP Request
 * with nonce KMP_NONCE_CLIENT_INITIATED, retransmitted (each time with a
 * fresh authenticator) after nom, 2·nom, ... capped at max, unsol_retries
 * times; after the last one the client waits one more interval and gives
 * up. LETHE_ERR_INVALID_ARG without a configured principal.
 */
lethe_status kmp_client_start(kmp_client *cli, int64_t now_ms);

void kmp_client_receive(kmp_client *cli, const kmp_peer *peer,
    const uint8_t *msg, size_t len, int64_t now_ms);
void kmp_client_tick(kmp_client *cli, int64_t now_ms);
int64_t kmp_client_next_deadline(const kmp_client *cli);
void kmp_client_stats_get(const kmp_client *cli, kmp_client_stats *out);

/* The live SA (NULL when none); valid until the next engine call. */
kmp_sa *kmp_client_sa(kmp_client *cli);

/* True while an exchange is in progress (waiting for an AP Reply). */
bool kmp_client_busy(const kmp_client *cli);

#endif
