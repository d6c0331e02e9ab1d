/*
 * Kerberos client: AS and TGS exchanges, AP-REQ and AP-REP (RFC 4120).
 * Public names start with kcl_ (kc_ belongs to crypto).
 *
 * Three levels, each usable alone:
 * - messages: build a request into a der_writer and process the reply
 *   (kcl_as_build / kcl_as_process, kcl_tgs_build / kcl_tgs_process,
 *   kcl_ap_req_build / kcl_ap_rep_verify); no I/O, so a load generator
 *   drives them from its own event loop with reused buffers;
 * - transport: kcl_exchange sends one request to a KDC and returns the
 *   reply (UDP with retries, TCP with 4-byte framing, UDP to TCP on
 *   KRB_ERR_RESPONSE_TOO_BIG);
 * - both together: kcl_get_tgt and kcl_get_service_ticket.
 *
 * Errors. A KRB-ERROR is reported as a status (kcl_status_for_krb_error)
 * plus a kcl_error with the error code and e-text, filled when the caller
 * passes one. A reply that fails a check (nonce, names, integrity) never
 * becomes a credential.
 *
 * Secrets: keys are crypto's kc_key objects, owned by the structure that
 * points at them and freed (wiped) with it; a password is copied into the
 * kcl_as_ctx and wiped as soon as the key is derived.
 *
 * Threads: a kcl_as_ctx or kcl_tgs_ctx is used by one thread at a time
 * (they hold reused buffers); kcl_as_clone gives each thread its own. A
 * kcl_cred may be shared read-only by many threads (kc_key operations are
 * thread-safe).
 */
#ifndef LETHE_CLIENT_CLIENT_H
#define LETHE_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "der/der.h"
#include "krb5/krb5.h"

#define KCL_MAX_NAME_BYTES     1024u       /* bytes in one realm or name component */
#define KCL_MAX_MESSAGE        (1u << 20)  /* largest request or reply handled */
#define KCL_MAX_ETYPES         8u
#define KCL_MAX_PASSWORD       1024u
#define KCL_DEFAULT_TIMEOUT_MS 3000
#define KCL_DEFAULT_UDP_TRIES  3
#define KCL_DEFAULT_LIFETIME   (24 * 3600)

/*
 * Status of a refusal by the KDC when no closer lethe_status exists
 * (status.h has no dedicated code yet); the kcl_error carries the code.
 */
#define KCL_ERR_KDC_REFUSED LETHE_ERR_UNSUPPORTED

/*
 * Status of a reply that decrypts but does not answer our request (nonce,
 * names or ctime differ), like MIT's KRB5_KDCREP_MODIFIED.
 */
#define KCL_ERR_REPLY_MISMATCH LETHE_ERR_BAD_INTEGRITY

/* ---------------------------------------------------------------- names */

/* A principal name and realm that own their bytes (movable by memcpy). */
typedef struct kcl_name {
	int32_t name_type;
	lbytes realm;
	lbytes comps[KRB_MAX_NAME_COMPONENTS];
	size_t n_comps;
	uint8_t *buf;               /* holds realm and components */
} kcl_name;

/*
 * The setters below replace what *out held: *out must be zeroed or hold a
 * name already (never uninitialised stack memory).
 */

/* Parse "a/b@REALM" (MIT escapes); without "@", default_realm (may be NULL). */
lethe_status kcl_name_parse(kcl_name *out, const char *text, const char *default_realm);

/* Copy name and realm into *out, replacing what it held. */
lethe_status kcl_name_set(kcl_name *out, const krb_principal_name *name, lbytes realm);
lethe_status kcl_name_copy(kcl_name *out, const kcl_name *in);

/* krbtgt/REALM@REALM. */
lethe_status kcl_name_krbtgt(kcl_name *out, lbytes realm);

/* A krb_principal_name view of n, valid while n is unchanged. */
krb_principal_name kcl_name_principal(const kcl_name *n);

/* Same components and realm (name type ignored). */
bool kcl_name_matches(const kcl_name *n, const krb_principal_name *name, lbytes realm);

/* Free what n owns; n is then empty. NULL and empty names are fine. */
void kcl_name_clear(kcl_name *n);

/* ----------------------------------------------------------- credentials */

/* A ticket and what the client knows about it. */
typedef struct kcl_cred {
	kcl_name client;
	kcl_name server;
	uint8_t *ticket;            /* the Ticket encoding as received */
	size_t ticket_len;
	kc_key *session_key;
	uint32_t flags;             /* KRB_TKT_FLG_* */
	int64_t authtime;
	int64_t starttime;          /* authtime when the KDC sent none */
	int64_t endtime;
	int64_t renew_till;         /* 0 when not renewable */
	int32_t ticket_etype;       /* of the ticket's enc-part, with its kvno */
	uint32_t ticket_kvno;
} kcl_cred;

/* Wipe and free what cred owns; cred is then empty. NULL is fine. */
void kcl_cred_clear(kcl_cred *cred);

/* ------------------------------------------------------------------ errors */

typedef struct kcl_error {
	int32_t code;               /* KRB-ERROR error-code; 0 when none came */
	char text[160];             /* e-text, printable ASCII ('?' for others), may be "" */
} kcl_error;

/* The lethe_status a KRB-ERROR code maps to (KCL_ERR_KDC_REFUSED by default). */
lethe_status kcl_status_for_krb_error(int32_t code);

/* Fill err (if not NULL) from a decoded KRB-ERROR. */
void kcl_error_set(kcl_error *err, const krb_error *e);

/*
 * If rep starts like a KRB-ERROR: decode it, fill err and return its
 * mapped status (or the decoding error). Otherwise LETHE_OK.
 */
lethe_status kcl_check_krb_error(const uint8_t *rep, size_t len, kcl_error *err);

/* --------------------------------------------------------------- transport */

enum kcl_transport { KCL_TRANSPORT_UDP, KCL_TRANSPORT_TCP };

typedef struct kcl_kdc {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	enum kcl_transport transport;
	int timeout_ms;             /* per UDP try; the whole exchange on TCP */
	int udp_tries;
} kcl_kdc;

/*
 * Resolve "host", "host:port" or "[v6]:port" (port 88 by default) into
 * *out, with UDP, KCL_DEFAULT_TIMEOUT_MS and KCL_DEFAULT_UDP_TRIES.
 */
lethe_status kcl_kdc_parse(const char *hostport, kcl_kdc *out);

/*
 * Send req to the KDC and return its reply in *rep (heap; caller frees),
 * whatever message it is. UDP: up to udp_tries sends, each waiting
 * timeout_ms; a KRB_ERR_RESPONSE_TOO_BIG answer is retried over TCP.
 * LETHE_ERR_IO on transport failure (errno ETIMEDOUT after a timeout).
 */
lethe_status kcl_exchange(const kcl_kdc *kdc, const uint8_t *req, size_t req_len,
			  uint8_t **rep, size_t *rep_len);

/* TCP framing: the 4-byte big-endian length before each message. */
void kcl_frame_header(size_t len, uint8_t hdr[4]);

/* The length in a frame header; refuses the reserved high bit, 0, and > max. */
lethe_status kcl_frame_length(const uint8_t hdr[4], size_t max, size_t *len);

/* ---------------------------------------------------------------------- AS */

typedef struct kcl_as_params {
	const char *client;         /* "user" or "user@REALM" */
	const char *realm;          /* default realm for client and server */
	const char *server;         /* NULL: krbtgt/REALM@REALM of the client's realm */
	const int32_t *etypes;      /* NULL: 18, 17, 20, 19 */
	size_t n_etypes;
	uint32_t kdc_options;       /* 0: forwardable + renewable-ok */
	int64_t lifetime;           /* seconds; 0: KCL_DEFAULT_LIFETIME */
	int64_t renew_life;         /* seconds; 0: no renewable ticket asked */
	bool mit_padata;            /* send the padata MIT kinit sends (see kcl_as_build) */
} kcl_as_params;

/*
 * A client's AS state: its names, and its long-term key once known. The
 * key is derived once (from the first PREAUTH_REQUIRED, or from an
 * AS-REP's PA-ETYPE-INFO2) and kept, so every later AS-REQ carries
 * PA-ENC-TIMESTAMP at once (the "fast path" a load generator uses).
 */
typedef struct kcl_as_ctx {
	kcl_name client;
	kcl_name server;
	int32_t etypes[KCL_MAX_ETYPES];
	size_t n_etypes;
	uint32_t kdc_options;
	int64_t lifetime;
	int64_t renew_life;
	uint8_t *password;          /* until the key is derived */
	size_t password_len;
	kc_key *key;                /* the client's long-term key, once known */
	bool mit_padata;
	uint8_t *cookie;            /* PA-FX-COOKIE of the last PREAUTH_REQUIRED, echoed */
	size_t cookie_len;
	der_writer ts_writer;       /* PA-ENC-TS-ENC plaintext */
	der_writer pa_writer;       /* its EncryptedData */
	uint8_t *ts_cipher;         /* encrypted timestamp of the last request */
	size_t ts_cipher_cap;
	lethe_arena arena;          /* reply decoding */
} kcl_as_ctx;

/* Initialise ctx from p (copied); free it with kcl_as_free. On error ctx holds nothing. */
lethe_status kcl_as_init(kcl_as_ctx *ctx, const kcl_as_params *p);

/* A second context with src's names, options, key or password (for another thread). */
lethe_status kcl_as_clone(kcl_as_ctx *dst, const kcl_as_ctx *src);

/* Keep a copy of the password until the salt is known; forgets any key. */
lethe_status kcl_as_set_password(kcl_as_ctx *ctx, lbytes password);

/* Use a copy of key as the client's key (from a keytab, say). */
lethe_status kcl_as_set_key(kcl_as_ctx *ctx, const kc_key *key);

/* Wipe and free everything ctx holds. NULL is fine. */
void kcl_as_free(kcl_as_ctx *ctx);

/*
 * Prepend one AS-REQ with nonce to w (reset w first to send it alone):
 * with PA-ENC-TIMESTAMP (usage 1, current time and µs) when the client's
 * key is known, without padata otherwise. With mit_padata, a request with
 * the key carries what MIT kinit 1.20 sends after PREAUTH_REQUIRED, in its
 * order: PA-FX-COOKIE (the KDC's, if it sent one), PA-ENC-TIMESTAMP, an
 * empty PA-AS-FRESHNESS and an empty PA-REQ-ENC-PA-REP.
 */
lethe_status kcl_as_build(kcl_as_ctx *ctx, uint32_t nonce, der_writer *w);

/*
 * Process the reply to the AS-REQ sent with nonce.
 * - AS-REP: decrypt its enc-part (usage 3) with the client's key (derived
 *   now from the password and the reply's PA-ETYPE-INFO2 or the default
 *   salt if not yet known), decode EncASRepPart (tag 25 or 26), check the
 *   nonce, cname/crealm, sname/srealm (the realm only if canonicalize was
 *   asked); fill *cred; *again = false.
 * - KRB-ERROR PREAUTH_REQUIRED while the key is unknown: derive it from
 *   PA-ETYPE-INFO2 (etype, salt, s2kparams) and the password; *again =
 *   true: send a new AS-REQ. Once the key is known, it is a failure.
 * - any other KRB-ERROR: its mapped status, err filled.
 */
lethe_status kcl_as_process(kcl_as_ctx *ctx, const uint8_t *rep, size_t len, uint32_t nonce,
			    kcl_cred *cred, bool *again, kcl_error *err);

/*
 * Check a reply without decrypting it: an AS-REP (a KRB-ERROR gives its
 * status and err) for our cname/crealm, a ticket for the server asked, an
 * enc-part in our key's etype. The key must be known.
 */
lethe_status kcl_as_check(kcl_as_ctx *ctx, const uint8_t *rep, size_t len, kcl_error *err);

/* AS exchanges with kdc until a ticket for ctx's server, or a failure. */
lethe_status kcl_get_tgt(kcl_as_ctx *ctx, const kcl_kdc *kdc, kcl_cred *cred,
			 kcl_error *err);

/* ---------------------------------------------------------------------- TGS */

typedef struct kcl_tgs_params {
	const kcl_name *server;     /* the service, in the TGT's realm */
	const int32_t *etypes;      /* NULL: as for AS */
	size_t n_etypes;
	uint32_t kdc_options;       /* 0: forwardable + renewable-ok */
	int64_t lifetime;           /* seconds; 0: KCL_DEFAULT_LIFETIME */
	bool use_subkey;            /* send a random subkey; the reply uses usage 9 */
} kcl_tgs_params;

/* What kcl_tgs_build leaves for kcl_tgs_process. */
typedef struct kcl_tgs_state {
	uint32_t nonce;
	kc_key *subkey;             /* NULL without use_subkey */
} kcl_tgs_state;

/* Free the state's subkey. */
void kcl_tgs_state_clear(kcl_tgs_state *st);

/* Reused buffers for TGS requests and replies (one thread). */
typedef struct kcl_tgs_ctx {
	der_writer body;            /* KDC-REQ-BODY */
	der_writer auth;            /* Authenticator plaintext */
	der_writer ap_req;          /* AP-REQ, the value of PA-TGS-REQ */
	uint8_t *cipher;            /* Authenticator ciphertext */
	size_t cipher_cap;
	lethe_arena arena;
} kcl_tgs_ctx;

void kcl_tgs_ctx_init(kcl_tgs_ctx *tc);
void kcl_tgs_ctx_free(kcl_tgs_ctx *tc);

/*
 * Prepend one TGS-REQ to w: PA-TGS-REQ holding an AP-REQ with tgt's
 * ticket and an authenticator (usage 7) whose checksum (usage 6, the
 * session key's checksum type) covers the encoded KDC-REQ-BODY exactly as
 * sent, plus a fresh subkey when p->use_subkey. *st receives the nonce
 * and the subkey (cleared first).
 */
lethe_status kcl_tgs_build(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p,
			   uint32_t nonce, kcl_tgs_state *st, der_writer *w);

/*
 * Process a TGS reply: decrypt with the subkey (usage 9) or the TGT
 * session key (usage 8), decode EncTGSRepPart (tag 25 or 26), check the
 * nonce, cname/crealm (the TGT's client) and the server (the realm only
 * if canonicalize was asked); fill *cred. A KRB-ERROR gives its status
 * and err.
 */
lethe_status kcl_tgs_process(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p,
			     const kcl_tgs_state *st, const uint8_t *rep, size_t len,
			     kcl_cred *cred, kcl_error *err);

/* Check a TGS reply without decrypting it (as kcl_as_check). */
lethe_status kcl_tgs_check(kcl_tgs_ctx *tc, const kcl_cred *tgt, const kcl_tgs_params *p,
			   const uint8_t *rep, size_t len, kcl_error *err);

/* A service ticket from tgt through kdc. */
lethe_status kcl_get_service_ticket(const kcl_kdc *kdc, const kcl_cred *tgt,
				    const kcl_tgs_params *p, kcl_cred *cred, kcl_error *err);

/* ---------------------------------------------------------------------- AP */

typedef struct kcl_ap_params {
	uint32_t ap_options;        /* KRB_AP_OPT_*; MUTUAL_REQUIRED to get an AP-REP */
	const krb_checksum *cksum;  /* optional authenticator checksum, sent as given */
	bool use_subkey;            /* send a random subkey of the session key's etype */
	bool has_seq_number;
	uint32_t seq_number;
} kcl_ap_params;

/* What kcl_ap_req_build leaves for kcl_ap_rep_verify. */
typedef struct kcl_ap_state {
	int64_t ctime;
	int32_t cusec;
	kc_key *subkey;             /* ours, or NULL */
} kcl_ap_state;

void kcl_ap_state_clear(kcl_ap_state *st);

/*
 * Prepend an AP-REQ for cred's service to w: cred's ticket and an
 * authenticator (usage 11) with the current time. *st is cleared first.
 */
lethe_status kcl_ap_req_build(const kcl_cred *cred, const kcl_ap_params *p,
			      kcl_ap_state *st, der_writer *w);

/* The server's answer as kcl_ap_rep_verify found it. */
typedef struct kcl_ap_rep_info {
	kc_key *subkey;             /* the server's subkey, or NULL; the caller frees it */
	bool has_seq_number;
	uint32_t seq_number;
} kcl_ap_rep_info;

/*
 * Verify an AP-REP (or report the KRB-ERROR sent instead): decrypt with
 * the session key (usage 12), check that ctime and cusec are those sent.
 */
lethe_status kcl_ap_rep_verify(const kcl_cred *cred, const kcl_ap_state *st,
			       const uint8_t *rep, size_t len, kcl_ap_rep_info *out,
			       kcl_error *err);

/* ------------------------------------------------------------------- misc */

/* A random nonce of 31 bits (RAND_bytes), as MIT sends. */
lethe_status kcl_nonce(uint32_t *out);

/* lethe_wipe then free. NULL is fine. */
void kcl_free_secret(void *p, size_t len);

#endif
