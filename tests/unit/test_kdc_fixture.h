/*
 * A small in-memory realm for the KDC unit tests, a fixed clock, and the
 * client side of the AS and TGS exchanges built with liblethe's encoders
 * and crypto, so each test can send a request and inspect the reply.
 */
#ifndef LETHE_TEST_KDC_FIXTURE_H
#define LETHE_TEST_KDC_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "kdc/kdc.h"
#include "krb5/krb5.h"

#define T_REALM "LETHE.TEST"
#define T_NOW INT64_C(1700000000)
#define T_USEC 123456
#define T_SERVICE "host/server.lethe.test"
#define T_ALICE_PW "alice password"
#define T_BOB_PW "bob password"
#define T_CAROL_PW "carol password"
#define T_FRANK_PW "frank password"
#define T_FRANK_SALT "SALTYfrank"
#define T_FRANK_ITER 8192u
#define T_SVR_USER "svcuser"
#define T_SVR_USER_PW "svcuser password"
#define T_TGS_KVNO 2u           /* newest krbtgt kvno (kvno 1 holds only 18) */
#define T_SERVICE_KVNO 3u
#define T_REP_CAP 65536u
#define T_AGENT_SERVICE "HTTP/web.lethe.test"
#define T_AGENT_KVNO 6u
#define T_AGENT_USE_UNTIL (T_NOW + 600)
#define T_AGENT_ACCEPT_UNTIL (T_NOW + 600 + 36000)
#define T_SHORT_SERVICE "HTTP/short.lethe.test"
#define T_SHORT_ACCEPT_UNTIL (T_NOW + 4000)
#define T_MIXED_SERVICE "host/mixed.lethe.test"

/*
 * The realm (policy: default, enctypes 18 17 20 19, 10 h / 7 d / 300 s):
 *   krbtgt/LETHE.TEST  kvno 2: 18 17 20 19; kvno 1: 18
 * Users have no_service (as lethe-admin makes them) unless said otherwise:
 *   alice   password, keys 18 17 20 19, requires pre-authentication
 *   bob     password, key 18, no pre-authentication
 *   carol   password, key 17 only, requires pre-authentication
 *   dave    disabled;  eve  expired at T_NOW - 10
 *   frank   key 18 with salt T_FRANK_SALT and T_FRANK_ITER iterations
 *   nosvc   user that may not be a service
 *   svcuser (T_SVR_USER) password, key 18, allowed as a server (no no_service)
 *   host/server.lethe.test  service, kvno 3: 18 17, requires pre-authentication
 *   HTTP/web.lethe.test     agent: temporary kvno 6 (18 17) in use until
 *                           T_AGENT_USE_UNTIL; kvno 5 (18) past use_until
 *   HTTP/short.lethe.test   agent: temporary kvno 9 (18), accept_until
 *                           T_SHORT_ACCEPT_UNTIL (before a TGT's end)
 *   host/mixed.lethe.test   service: temporary kvno 2 (18) past use_until,
 *                           long-term kvno 1 (18)
 */
typedef struct tkdc {
	kdc *k;
	void *wctx;
	lethe_arena arena;        /* the KDC worker's */
	lethe_arena carena;       /* the client's, for decoding replies */
	kdc_req_info info;
	struct sockaddr_in peer;
	int64_t now;              /* the KDC's clock */
	int32_t usec;
	uint8_t rep[T_REP_CAP];
	size_t rep_len;
} tkdc;

/* The in-memory principals (also used by the snapshot tests). */
void t_realm_principals(store_realm_policy *pol, store_principal **list, size_t *n);
void t_realm_principals_free(store_principal *list, size_t n);

/* When set, tkdc_setup calls it on the snapshot before the KDC takes it. */
extern void (*tkdc_snapshot_hook)(kdc_snapshot *snap);

/* cmocka setup / teardown of a tkdc in *state. */
int tkdc_setup(void **state);
int tkdc_teardown(void **state);

/* Send req (UDP, as the KDC sees it) and keep the reply in t->rep. */
void tkdc_send(tkdc *t, const uint8_t *req, size_t len);

/* Send what w holds, then reset w. */
void tkdc_send_writer(tkdc *t, der_writer *w);

/* Decode the reply as a KRB-ERROR and return its code (fails the test otherwise). */
int32_t tkdc_error(tkdc *t, krb_error *err);

/* True when e carries an e-text containing needle. */
bool t_etext_has(const krb_error *e, const char *needle);

/* A user's key from the password, as kinit derives it (string-to-key). */
void t_user_key(const char *user, int32_t etype, kc_key *out);

/* The krbtgt's or the service's key of (kvno, etype), from the fixture's bytes. */
void t_tgs_key(uint32_t kvno, int32_t etype, kc_key *out);
void t_service_key(int32_t etype, kc_key *out);

/* An agent-registered (temporary) key of the services above. */
void t_agent_key(uint32_t kvno, int32_t etype, kc_key *out);

/* A client-side AS-REQ. */
typedef struct t_as_req {
	const char *client;        /* "alice" */
	const char *service;       /* NULL: krbtgt/LETHE.TEST */
	const char *realm;         /* NULL: T_REALM */
	uint32_t options;
	int64_t till;              /* 0: T_NOW + 1 day */
	int64_t rtime;             /* 0: none */
	uint32_t nonce;
	const int32_t *etypes;     /* NULL: 18 17 20 19 */
	size_t n_etypes;
	kc_key *ts_key;            /* non-NULL: add PA-ENC-TIMESTAMP with this key */
	int64_t ts_time;           /* 0: T_NOW */
	bool enc_pa_rep;           /* add an empty PA-REQ-ENC-PA-REP, as MIT's kinit */
} t_as_req;

void t_encode_as_req(const t_as_req *in, der_writer *w);

/* The decoded and decrypted parts of an AS-REP or TGS-REP. */
typedef struct t_rep {
	krb_kdc_rep rep;
	krb_enc_kdc_rep_part part;
	krb_enc_ticket_part ticket;    /* decrypted when a ticket key was given */
} t_rep;

/*
 * Decode t->rep as msg_type (AS-REP or TGS-REP), decrypt its enc-part
 * with reply_key for usage, and (when ticket_key is not NULL) its ticket
 * with usage 2. Fails the test on any error. Views live in t->carena.
 */
void t_open_rep(tkdc *t, int32_t msg_type, kc_key *reply_key, uint32_t usage,
    kc_key *ticket_key, t_rep *out);

/* A TGT for alice (pre-authenticated AS exchange), with its session key. */
typedef struct t_tgt {
	uint8_t ticket[4096];
	size_t ticket_len;
	kc_key session;
	int64_t endtime;
	uint32_t flags;
} t_tgt;

void t_get_tgt(tkdc *t, uint32_t options, int64_t rtime, t_tgt *out);

/* A client-side TGS-REQ. */
typedef struct t_tgs_req {
	const t_tgt *tgt;
	const char *service;       /* NULL: T_SERVICE */
	const char *realm;         /* NULL: T_REALM */
	uint32_t options;
	int64_t till;              /* 0: T_NOW + 1 day */
	uint32_t nonce;
	kc_key *subkey;            /* NULL: none */
	int64_t ctime;             /* 0: T_NOW */
	int32_t cksumtype;         /* 0: the session key's mandatory one */
	bool corrupt_cksum;        /* flip a bit of the checksum */
	bool no_cksum;
	const krb_authdata *authdata;   /* enc-authorization-data, or NULL */
	bool no_pa_tgs_req;
	const char *auth_client;   /* NULL: alice (the TGT's client) */
} t_tgs_req;

void t_encode_tgs_req(const t_tgs_req *in, der_writer *w);

/* Encode in and send it (tkdc_send). */
void tkdc_send_tgs(tkdc *t, const t_tgs_req *in);

/* A principal name from "a/b" (parsed into a static buffer set: 4 at a time). */
krb_principal_name t_name(const char *text);

#endif
