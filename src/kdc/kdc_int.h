/*
 * Internals of the KDC core shared by dispatch.c, as.c, tgs.c, preauth.c,
 * etype.c, kdc_error.c and kcrypto.c.
 *
 * Protocol verdicts: the functions that decide a request return a
 * Kerberos error code (int32_t, 0 = go on) rather than a lethe_status,
 * because a refusal is their result, not a failure. They record the code
 * and an e-text a person can act on in the request with kdc_fail();
 * an internal failure (memory, OpenSSL) becomes KRB_ERR_GENERIC through
 * kdc_fail_status(). VERDICT() propagates a non-zero code.
 */
#ifndef LETHE_KDC_KDC_INT_H
#define LETHE_KDC_KDC_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "der/der.h"
#include "kdc/kdc.h"
#include "kdc/kpasswd.h"
#include "kdc/ticket.h"
#include "krb5/krb5.h"

#define KDC_WRITER_MAX (256u * 1024u)   /* largest encoding a worker builds */
#define KDC_ETEXT_MAX 200               /* bytes of e-text */

#define VERDICT(expr)                                                    \
	do {                                                             \
		int32_t verdict_ = (expr);                               \
		if (verdict_ != 0)                                       \
			return verdict_;                                 \
	} while (0)

/* A worker's hazard slot: the snapshot it is reading, on a cache line of its own. */
typedef struct kdc_hazard {
	alignas(64) _Atomic(kdc_snapshot *) snap;
} kdc_hazard;

struct kdc {
	_Atomic(kdc_snapshot *) current;
	kdc_hazard hazard[KDC_MAX_WORKERS];
	atomic_bool slot_used[KDC_MAX_WORKERS];
	atomic_bool log_requests;
	kdc_clock_fn clock;
	void *clock_ctx;
	kdc_key_request_fn key_request;
	void *key_request_ctx;
	int64_t keyreq_lead;              /* ask this long before use_until */
	bool key_grace;                   /* past use_until, within accept_until */
	kdc_fresh_fn fresh;
	void *fresh_ctx;
	pthread_mutex_t swap_lock;        /* serialises swaps */
	struct kdc_guard *guard;          /* replay cache and lockout (preauth_guard.h) */
	kdc_password_fn kpasswd;          /* kpasswd.h: applies a password change */
	void *kpasswd_ctx;
	char *kpasswd_admins;             /* " name name ": who may set any password */
	_Atomic uint64_t counters[KDC_REQ_TYPE_COUNT][KDC_RESULT_SLOTS];
};

typedef struct kdc_worker {
	kdc *kdc;
	unsigned slot;            /* index into kdc->hazard */
	der_writer out;           /* the reply */
	der_writer tmp;           /* plaintexts and padata values */
} kdc_worker;

/* Enctypes named in a log line, at most this many. */
#define KDC_LOG_ETYPES 8

/* One request in flight. */
typedef struct kdc_request {
	kdc *kdc;
	kdc_worker *wk;
	const kdc_snapshot *snap;
	const store_realm_policy *policy;
	lbytes realm;             /* ours */
	const kdc_req_info *info;
	lethe_arena *arena;
	int64_t now;
	int32_t usec;
	enum kdc_req_type type;

	lbytes raw;               /* the request as received */
	krb_kdc_req req;          /* valid once decoded */
	bool decoded;

	/* Names for the reply, the KRB-ERROR and the log. */
	bool has_cname;
	krb_principal_name cname;
	lbytes crealm;
	bool has_sname;
	krb_principal_name sname;

	/* Choices, for the log (0: none). */
	int32_t reply_etype;
	int32_t ticket_etype;
	int32_t session_etype;
	bool grace_key;           /* the ticket key is past its use_until */

	/* The refusal, when error != 0. */
	int32_t error;
	char e_text[KDC_ETEXT_MAX + 1];
	bool has_e_data;
	lbytes e_data;            /* in the arena */
} kdc_request;

/* ---- verdicts and errors (kdc_error.c) ---- */

/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf. */
void kdc_time_str(int64_t t, char *buf, size_t cap);

/* Record code and a printf-style e-text in r; return code. */
int32_t kdc_fail(kdc_request *r, int32_t code, const char *fmt, ...) LETHE_PRINTF(3, 4);

/* Record an internal failure (rc, while doing what) as KRB_ERR_GENERIC. */
int32_t kdc_fail_status(kdc_request *r, lethe_status rc, const char *what);

/* Prepend the KRB-ERROR for r->error to w. */
lethe_status kdc_encode_error(const kdc_request *r, der_writer *w);

/* ---- workers (dispatch.c) ---- */

/* Publish the current snapshot in wk's hazard slot and return it. */
const kdc_snapshot *kdc_snapshot_acquire(kdc_worker *wk);

/* Clear wk's hazard slot: the snapshot is no longer used. */
void kdc_snapshot_release(kdc_worker *wk);

/* Start request r of worker wk on snap: realm, policy, arena, clock. */
void kdc_request_init(kdc_request *r, kdc_worker *wk, const kdc_req_info *info,
    const kdc_snapshot *snap);

/* ---- arena helpers (dispatch.c) ---- */

/* Copy what w holds into r's arena as *out, then empty w. */
lethe_status kdc_take(kdc_request *r, der_writer *w, lbytes *out);

/* ---- issuing (issue.c) ---- */

/*
 * Encode etp, encrypt it under key with usage 2, and fill *out: our realm,
 * sname, and an EncryptedData naming the key's enctype and kvno.
 */
lethe_status kdc_seal_ticket(kdc_request *r, const krb_enc_ticket_part *etp,
    const kdc_key *key, const krb_principal_name *sname, krb_ticket *out);

/* Encode part (EncASRepPart or EncTGSRepPart per part->app_tag), encrypt it. */
lethe_status kdc_seal_rep_part(kdc_request *r, const krb_enc_kdc_rep_part *part,
    kc_key *key, int32_t usage, krb_enc_data *out);

/* The one-entry last-req MIT clients need: { KRB_LR_NONE, 0 }. */
extern const krb_last_req kdc_last_req_none;

/* The empty transited encoding of a ticket issued inside the realm. */
extern const krb_transited kdc_transited_none;

/* ---- exchanges ---- */

int32_t kdc_process_as(kdc_request *r);
int32_t kdc_process_tgs(kdc_request *r);

/* ---- principals (as.c, shared with tgs.c) ---- */

/*
 * Checks of a client: KDC_ERR_POLICY for a krbtgt (only the KDC holds its
 * keys, so no one is it), KDC_ERR_CLIENT_REVOKED, KDC_ERR_NAME_EXP.
 */
int32_t kdc_check_client(kdc_request *r, const kdc_principal *client);

/*
 * Checks of a server: KDC_ERR_SERVICE_REVOKED, SERVICE_EXP, and
 * KDC_ERR_S_PRINCIPAL_UNKNOWN for a principal with no_service. That is
 * the one rule for both exchanges: a ticket's server is a principal
 * without no_service; users have it (lethe-admin add-user, the store's
 * defaults) until an administrator allows one (lethe-admin modify
 * --allow-svr clears it), so no ticket is sealed under a password key
 * by default.
 */
int32_t kdc_check_server(kdc_request *r, const kdc_principal *server);

/* "a/b@REALM" into buf for messages and logs. */
void kdc_name_str(const krb_principal_name *name, lbytes realm, char *buf, size_t cap);

/* ---- pre-authentication (preauth.c) ---- */

/* ETYPE-INFO2 with one entry describing key (salt always, as MIT sends). */
lethe_status kdc_etype_info2(kdc_request *r, const kdc_key *key, lbytes *out);

/*
 * The e-data of KDC_ERR_PREAUTH_REQUIRED (and of PREAUTH_FAILED, as MIT
 * sends it): METHOD-DATA { PA-ETYPE-INFO2, PA-ENC-TIMESTAMP (empty) },
 * in MIT's order.
 */
lethe_status kdc_preauth_edata(kdc_request *r, const kdc_key *key, lbytes *out);

/* A verified PA-ENC-TIMESTAMP, for the replay cache. */
typedef struct kdc_enc_ts {
	bool present;             /* the request carried one */
	lbytes cipher;            /* its ciphertext (ends with a MAC under the client's key) */
	int64_t expires;          /* its time plus the skew: replayable until then */
} kdc_enc_ts;

/*
 * Check the request's PA-ENC-TIMESTAMP, if any, against client's keys;
 * out->present tells whether there was one. KDC_ERR_PREAUTH_FAILED when
 * it does not decrypt (wrong password: counted towards the client's
 * lockout), KRB_AP_ERR_SKEW when its time is outside the realm's skew,
 * KRB_AP_ERR_REPEAT when the same timestamp was accepted before (replay
 * cache). Nothing is recorded yet: see kdc_commit_enc_timestamp.
 */
int32_t kdc_verify_enc_timestamp(kdc_request *r, const kdc_principal *client,
    kdc_enc_ts *out);

/*
 * Once the AS-REP is encoded in r->wk->out: record the timestamp ts (when
 * present) in the replay cache (KRB_AP_ERR_REPEAT when another request
 * recorded it first) and set the client's failure count back to 0. A
 * reply larger than the transport's limit records nothing: the client
 * sends the same request again over TCP.
 */
int32_t kdc_commit_enc_timestamp(kdc_request *r, const kdc_principal *client,
    const kdc_enc_ts *ts);

/* ---- enctypes and keys (etype.c) ---- */

/* True when the realm's policy allows etype. */
bool kdc_policy_allows(const store_realm_policy *pol, int32_t etype);

/*
 * True when k may encrypt a new ticket at now: a long-term key, or a
 * temporary key before its use_until (and accept_until).
 */
bool kdc_key_in_use(const kdc_key *k, int64_t now);

/* The newest key in use that p holds of etype and policy allows, or NULL. */
const kdc_key *kdc_usable_key(const kdc_request *r, const kdc_principal *p, int32_t etype);

/* Pass principal to the key-request hook, if one is installed. */
void kdc_request_key(kdc *k, const char *principal);

/*
 * The client's reply key: the key of the first enctype in the request's
 * list that the policy allows and the client holds. KDC_ERR_ETYPE_NOSUPP
 * otherwise.
 */
int32_t kdc_choose_reply_key(kdc_request *r, const kdc_principal *client,
    const kdc_key **out);

/*
 * The session key's enctype: the first enctype in the request's list that
 * the policy allows, the crypto layer implements, and the server holds a
 * key of. KDC_ERR_ETYPE_NOSUPP otherwise.
 */
int32_t kdc_choose_session_etype(kdc_request *r, const kdc_principal *server,
    int32_t *out);

/*
 * The key that encrypts a ticket for server (DESIGN §2). For now: the
 * newest long-term key whose enctype the policy allows (among a kvno's
 * keys, the one earliest in the policy's preference order). *cap receives
 * the latest end time a ticket under that key may have (KDC_TIME_INFINITY
 * for a long-term key). KDC_ERR_S_PRINCIPAL_UNKNOWN-class error otherwise.
 */
int32_t kdc_choose_service_key(kdc_request *r, const kdc_principal *server,
    const kdc_key **out, int64_t *cap);

/* "18,17,20,19" (the first KDC_LOG_ETYPES, then ",..."; "none") into buf. */
#define KDC_ETYPE_LIST_MAX 128
void kdc_etype_list_str(const krb_kdc_req_body *b, char *buf, size_t cap);

/* Short enctype name for logs ("aes256-cts-hmac-sha1-96"), or NULL. */
const char *kdc_enctype_name(int32_t etype);

/* ---- crypto glue (kcrypto.c) ---- */

/* True when the crypto layer implements etype. */
bool kdc_enctype_usable(int32_t etype);

/* The default PBKDF2 iteration count of etype (RFC 3962, RFC 8009), or 0. */
uint32_t kdc_default_s2k_iterations(int32_t etype);

/*
 * A long-lived key object for the snapshot. With derive_now, the derived
 * keys of the usages its principal's kind needs are computed now: 1 and 3
 * (pre-authentication, AS reply) for a user, 2 (tickets) for the others;
 * else the first request that needs one derives and caches it (the key
 * object's cache is lock-free), which keeps a full load's start-up short.
 */
lethe_status kdc_key_object(int32_t etype, lbytes bytes, enum store_principal_kind kind,
    bool derive_now, kc_key **out);

/* A short-lived key object (session key, subkey) in the arena, wiped at its reset. */
lethe_status kdc_key_temp(const krb_encryption_key *in, lethe_arena *a, kc_key **out);

/* Encrypt plain for usage; the ciphertext lives in the arena. */
lethe_status kdc_encrypt(kc_key *key, int32_t usage, lbytes plain, lethe_arena *a,
    lbytes *cipher);

/* Decrypt for usage into the arena. LETHE_ERR_BAD_INTEGRITY on a wrong key. */
lethe_status kdc_decrypt(kc_key *key, int32_t usage, lbytes cipher, lethe_arena *a,
    lbytes *plain);

/*
 * Verify a keyed checksum of data. LETHE_ERR_CKSUM_NOSUPP for an unknown
 * or unkeyed type, or one of another enctype than the key's;
 * LETHE_ERR_BAD_INTEGRITY on mismatch.
 */
lethe_status kdc_verify_checksum(kc_key *key, int32_t usage, int32_t cksumtype,
    lbytes data, lbytes cksum);

/* The mandatory checksum of key's enctype over data for usage, in the arena. */
lethe_status kdc_make_checksum(kc_key *key, int32_t usage, lbytes data, lethe_arena *a,
    krb_checksum *out);

/* A fresh random key of etype, its bytes in the arena. */
lethe_status kdc_random_key(int32_t etype, lethe_arena *a, krb_encryption_key *out);

/* ---- counters (dispatch.c) ---- */

void kdc_count(kdc *k, enum kdc_req_type type, unsigned result);

#endif
