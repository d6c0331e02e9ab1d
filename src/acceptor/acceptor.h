/*
 * Kerberos acceptor: AP-REQ verification with a keytab and a replay cache
 * (RFC 4120 §3.2.3), AP-REP and KRB-ERROR construction (§3.2.4, §5.9.1).
 * Public names start with acc_.
 */
/* API: ready */
/*
 * An acc_ctx holds the server principals it accepts for (or any principal
 * of the keytab), the keytab (re-read when the file changes), the clock
 * skew, the clock, the replay cache and counters.
 *
 * Verification order (nothing is decrypted before the checks that need no
 * key): decode the AP-REQ; refuse USE-SESSION-KEY (user-to-user); check
 * the ticket's server against the accepted list; find the key by (server,
 * kvno, enctype) of the ticket's EncryptedData; decrypt the ticket (usage
 * 2) -- a public-key ticket is instead opened with pubkey_identity and its
 * KDC signature checked against pubkey_kdc_certs before anything inside
 * is read; check its times and INVALID flag; decrypt the authenticator with
 * the session key (usage 11); check crealm/cname against the ticket's,
 * ctime within the skew; record it in the replay cache. RFC 3961 decrypt
 * checks the MAC in constant time; the plaintext of a failed decrypt is
 * wiped and never read.
 *
 * Errors. Every refusal returns a lethe_status and fills the acc_error
 * (when the caller passes one) with a distinct acc_reason, the KRB-ERROR
 * code to answer with and a short e-text. status.h has no codes for time
 * and replay refusals, so several reasons share a status (ACC_ERR_* below);
 * switch on err.reason, not on the status, to tell them apart.
 *
 * Keytab. The file is stat()ed (inode, size, mtime with nanoseconds) at
 * most once per second of the context's clock, and also when a ticket's
 * kvno or server is not found (a rotation may have just added it); it is
 * re-read only when it changed. A re-read builds a new key set and swaps
 * it in; verifications in flight keep the set they started with. If a
 * re-read fails, the previous key set stays in use.
 *
 * Replay cache: in memory, at most rcache_max_entries authenticators, each
 * kept for 2 × skew after it was accepted (an authenticator is valid while
 * its ctime is within ±skew, so no replay can outlive its entry). Its key
 * is a salted SHA-256 of client, server, ctime, cusec and the
 * authenticator's ciphertext. When the table is full of live entries, new
 * authenticators are refused (ACC_RCACHE_FULL) instead of evicting live
 * entries, which would reopen the door to replays; expired entries are
 * reclaimed first.
 *
 * Threads: every function taking an acc_ctx may be called from many
 * threads at once, except acc_ctx_free. An acc_verified belongs to one
 * thread at a time.
 */
#ifndef LETHE_ACCEPTOR_ACCEPTOR_H
#define LETHE_ACCEPTOR_ACCEPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "der/der.h"
#include "krb5/krb5.h"

#include <openssl/x509.h>

#define ACC_DEFAULT_SKEW            300          /* seconds */
#define ACC_MAX_SKEW                (24 * 3600)  /* larger skews are refused */
#define ACC_DEFAULT_RCACHE_ENTRIES  65536u
#define ACC_MAX_RCACHE_ENTRIES      (1u << 24)
#define ACC_MAX_SERVERS             64u          /* entries in acc_params.servers */
#define ACC_MAX_AP_REQ              (1u << 20)   /* longest AP-REQ accepted */
#define ACC_MAX_KDC_CERTS           8u           /* entries in acc_params.pubkey_kdc_certs */

/* Statuses of refusals that have no dedicated lethe_status (see above). */
#define ACC_ERR_NOT_US      LETHE_ERR_NOT_FOUND       /* server not accepted / no key */
#define ACC_ERR_BADKEYVER   LETHE_ERR_NOT_FOUND       /* no key for this kvno */
#define ACC_ERR_REFUSED     LETHE_ERR_UNSUPPORTED     /* times, skew, names, replay */
#define ACC_ERR_RCACHE_FULL LETHE_ERR_TOO_BIG         /* replay cache full */

/* Why an AP-REQ was refused; each maps to one KRB-ERROR code (in brackets). */
typedef enum acc_reason {
	ACC_ACCEPTED = 0,       /* [0] verified */
	ACC_MALFORMED,          /* [KRB_ERR_GENERIC] AP-REQ, ticket or authenticator undecodable */
	ACC_MSG_TYPE,           /* [KRB_AP_ERR_MSG_TYPE] not an AP-REQ */
	ACC_USER_TO_USER,       /* [KRB_AP_ERR_METHOD] USE-SESSION-KEY not supported */
	ACC_NOT_US,             /* [KRB_AP_ERR_NOT_US] server not accepted, or not in the keytab */
	ACC_BADKEYVER,          /* [KRB_AP_ERR_BADKEYVER] no key for the ticket's kvno */
	ACC_ETYPE,              /* [KDC_ERR_ETYPE_NOSUPP] kvno known, not with this enctype */
	ACC_TICKET_INTEGRITY,   /* [KRB_AP_ERR_BAD_INTEGRITY] ticket did not decrypt */
	ACC_TKT_EXPIRED,        /* [KRB_AP_ERR_TKT_EXPIRED] endtime + skew < now */
	ACC_TKT_NYV,            /* [KRB_AP_ERR_TKT_NYV] starttime - skew > now, or INVALID flag */
	ACC_AUTH_INTEGRITY,     /* [KRB_AP_ERR_BAD_INTEGRITY] authenticator did not decrypt */
	ACC_BADMATCH,           /* [KRB_AP_ERR_BADMATCH] authenticator client != ticket client */
	ACC_SKEW,               /* [KRB_AP_ERR_SKEW] |ctime - now| > skew */
	ACC_REPEAT,             /* [KRB_AP_ERR_REPEAT] authenticator seen before */
	ACC_RCACHE_FULL,        /* [KRB_ERR_GENERIC] replay cache full of live entries */
	ACC_INTERNAL,           /* [KRB_ERR_GENERIC] memory, OpenSSL or keytab I/O failure */
	ACC_TICKET_SIGNATURE,   /* [KRB_AP_ERR_BAD_INTEGRITY] public-key ticket not signed by a
	                           configured KDC certificate (unsigned, bad signature, other signer) */
	ACC_REASON_COUNT
} acc_reason;

/* A refusal: what to put in the KRB-ERROR. text never holds secrets. */
typedef struct acc_error {
	acc_reason reason;
	int32_t code;               /* KRB-ERROR error-code; 0 when accepted */
	char text[160];             /* short e-text, printable ASCII, NUL-terminated */
} acc_error;

/* The KRB-ERROR code of reason (0 for ACC_ACCEPTED). */
int32_t acc_reason_krb_code(acc_reason reason);

/* A short constant name of reason, e.g. "skew", for logs and metrics. */
const char *acc_reason_str(acc_reason reason);

/* The current time: seconds since 1970 and microseconds (0..999999). */
typedef void (*acc_clock_fn)(void *arg, int64_t *sec, int32_t *usec);

typedef struct acc_params {
	const char *keytab_path;    /* required; may not exist yet (then no key) */
	const char *const *servers; /* "svc/host@REALM" accepted; n_servers 0: any in the keytab */
	size_t n_servers;           /* at most ACC_MAX_SERVERS */
	int64_t skew;               /* seconds; 0: ACC_DEFAULT_SKEW; at most ACC_MAX_SKEW */
	size_t rcache_max_entries;  /* 0: ACC_DEFAULT_RCACHE_ENTRIES; at most ACC_MAX_RCACHE_ENTRIES */
	acc_clock_fn clock;         /* NULL: clock_gettime(CLOCK_REALTIME) */
	void *clock_arg;
	/*
	 * The service's certificate and private key, to open public-key
	 * tickets (enctype REG_ENCTYPE_PUBKEY_TICKET); NULL: such tickets are
	 * refused (ACC_ETYPE). Borrowed: it must outlive the context.
	 */
	const struct reg_identity *pubkey_identity;
	/*
	 * The KDC's certificates (lethe-admin export-kdc-cert): a public-key
	 * ticket is used only when it is signed by the key of one of them
	 * (ACC_TICKET_SIGNATURE otherwise). Required (1..ACC_MAX_KDC_CERTS)
	 * with pubkey_identity. Only their public keys are kept.
	 */
	X509 *const *pubkey_kdc_certs;
	size_t n_pubkey_kdc_certs;
} acc_params;

typedef struct acc_ctx acc_ctx;

/*
 * Create a context from p (copied; strings need not outlive the call) and
 * load the keytab once. A missing keytab file is not an error (every
 * ticket is then refused with ACC_NOT_US until it appears); an unreadable
 * or malformed one is. LETHE_ERR_INVALID_ARG for a bad parameter,
 * LETHE_ERR_FORMAT for a server name that does not parse with a realm.
 */
lethe_status acc_ctx_new(const acc_params *p, acc_ctx **out);

/* Wipe every key and free the context. NULL is fine. No call may be in flight. */
void acc_ctx_free(acc_ctx *ctx);

/*
 * Re-read the keytab now if the file changed since the last read (or
 * unconditionally when force). A failed read keeps the previous keys.
 */
lethe_status acc_reload_keytab(acc_ctx *ctx, bool force);

/* Counters since acc_ctx_new, read atomically one by one. */
typedef struct acc_stats {
	uint64_t ticket_decrypts;       /* kc_decrypt calls on tickets (usage 2) */
	uint64_t authenticator_decrypts;/* kc_decrypt calls on authenticators (usage 11) */
	uint64_t accepted;
	uint64_t refused;               /* every refusal, replays included */
	uint64_t replays;               /* ACC_REPEAT refusals */
	uint64_t rcache_full;           /* ACC_RCACHE_FULL refusals */
	uint64_t pubkey_signature_refused; /* ACC_TICKET_SIGNATURE refusals */
	uint64_t keytab_loads;          /* successful (re-)reads of the keytab */
	uint64_t rcache_entries;        /* entries in the replay cache now (live or not yet reclaimed) */
} acc_stats;

void acc_stats_get(acc_ctx *ctx, acc_stats *out);

/*
 * What a verified AP-REQ established. Byte strings and names are views
 * into memory the structure owns (a copy of the request and the decrypted
 * ticket and authenticator), valid until acc_verified_clear. Keys are
 * owned and wiped by acc_verified_clear.
 *
 * On a refusal only the fields flagged known are set: server_known once
 * the ticket decoded (its server name and realm, kvno and etype, all sent
 * in the clear), client_known once the authenticator decrypted (client,
 * ctime, cusec). No key is ever left in a refused result. Either way the
 * caller calls acc_verified_clear.
 */
typedef struct acc_verified {
	bool server_known;
	krb_principal_name server;  /* the ticket's sname, as sent */
	lbytes server_realm;
	uint32_t kvno;              /* of the key that decrypted the ticket */
	int32_t ticket_etype;

	bool client_known;
	krb_principal_name client;  /* the ticket's cname (= the authenticator's) */
	lbytes client_realm;
	int64_t ctime;              /* the authenticator's */
	int32_t cusec;

	uint32_t ap_options;        /* KRB_AP_OPT_*: MUTUAL_REQUIRED asks for an AP-REP */
	kc_key *session_key;        /* the ticket's session key */
	kc_key *subkey;             /* the authenticator's subkey, or NULL */
	bool has_seq_number;
	uint32_t seq_number;
	bool has_cksum;             /* the authenticator's checksum, unchecked: see acc_verify_cksum */
	krb_checksum cksum;

	uint32_t ticket_flags;      /* KRB_TKT_FLG_* */
	int64_t authtime;
	int64_t starttime;          /* authtime when the ticket has none */
	int64_t endtime;
	int64_t renew_till;         /* 0 when absent */
	krb_host_addresses caddr;   /* the ticket's, unchecked */
	krb_authdata ticket_authdata;
	krb_authdata authenticator_authdata;

	/* private */
	uint8_t *req_copy;
	size_t req_len;
	uint8_t *ticket_plain;
	size_t ticket_plain_cap;
	uint8_t *auth_plain;
	size_t auth_plain_cap;
	lethe_arena arena;
	bool arena_ready;
} acc_verified;

/*
 * Verify the AP-REQ in req[0..len) as described at the top of this file.
 * *out is overwritten (it need not be cleared first, but a previous result
 * in it is leaked: clear it). err may be NULL. LETHE_OK and
 * err->reason == ACC_ACCEPTED only when every check passed; otherwise the
 * refusal's status (the decoder's for ACC_MALFORMED, BAD_INTEGRITY,
 * ETYPE_NOSUPP, ACC_ERR_* for the others).
 */
lethe_status acc_verify_ap_req(acc_ctx *ctx, const uint8_t *req, size_t len,
			       acc_verified *out, acc_error *err);

/*
 * Verify the authenticator's checksum over data with the session key
 * (keyed checksum, usage KRB_KU_AP_REQ_AUTH_CKSUM): LETHE_ERR_NOT_FOUND
 * when there is none, LETHE_ERR_CKSUM_NOSUPP for a type that is not the
 * session key's keyed checksum (e.g. the GSS-API 0x8003 checksum, which
 * the caller parses itself from v->cksum), else kc_checksum_verify's.
 */
lethe_status acc_verify_cksum(const acc_verified *v, lbytes data);

/* Wipe and free what v owns; v is then zeroed. NULL is fine. */
void acc_verified_clear(acc_verified *v);

/*
 * Prepend an AP-REP for the verified request v to w: EncAPRepPart with
 * v's ctime and cusec, subkey (may be NULL) and seq_number (may be NULL),
 * encrypted with v's session key (usage 12). v must be accepted.
 */
lethe_status acc_ap_rep_build(acc_ctx *ctx, const acc_verified *v, const kc_key *subkey,
			      const uint32_t *seq_number, der_writer *w);

/*
 * Prepend a KRB-ERROR with code and text (NULL: none) to w. stime/susec
 * come from the context's clock. realm/sname are v's server when known,
 * else the first accepted server, else the keytab's first principal
 * (LETHE_ERR_NOT_FOUND when there is none). crealm/cname and ctime/cusec
 * are v's client when known. v may be NULL.
 */
lethe_status acc_krb_error_build(acc_ctx *ctx, const acc_verified *v, int32_t code,
				 const char *text, der_writer *w);

#endif
