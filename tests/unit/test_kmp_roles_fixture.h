/*
 * Shared fixture of the KMP role tests: a keytab with a service key, a
 * ticket for it made with liblethe's encoders (no KDC), an acceptor, a
 * fake clock and an in-memory wire that records every datagram.
 */
#ifndef LETHE_TEST_KMP_ROLES_FIXTURE_H
#define LETHE_TEST_KMP_ROLES_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acceptor/acceptor.h"
#include "client/client.h"
#include "kmp/kmp_role.h"

#define FX_SERVICE "kmp/server.lethe.test@LETHE.TEST"
#define FX_CLIENT "mta1@LETHE.TEST"
#define FX_KVNO 7u
#define FX_MAX_MSGS 64u

typedef struct fx_msg {
	kmp_peer from;
	kmp_peer to;
	int64_t at_ms;
	uint8_t *data;
	size_t len;
	bool delivered;
} fx_msg;

typedef struct fx {
	char dir[64];
	char keytab[96];
	kc_key service_key;
	acc_ctx *acc;
	int64_t base_s;                 /* wall clock at mono 0 (real time) */
	int64_t now_ms;                 /* the fake monotonic clock */
	kmp_peer server_peer;
	kmp_peer client_peer;
	kmp_io server_io;
	kmp_io client_io;
	fx_msg msgs[FX_MAX_MSGS];
	size_t nmsgs;
	const uint8_t *script;          /* scripted random bytes, then real ones */
	size_t script_len;
	int64_t ticket_end_offset;      /* ticket endtime - base_s */
	unsigned creds_issued;
} fx;

/* Create the fixture (keytab in a scratch dir, acceptor, wire). */
fx *fx_new(void);
void fx_free(fx *f);

/* A ticket for FX_SERVICE from FX_CLIENT, encrypted with the service key. */
lethe_status fx_make_cred(fx *f, kcl_cred *out);

/* kmp_get_cred_fn handing out fx_make_cred tickets (ctx = fx). */
lethe_status fx_get_cred(void *ctx, const char *principal, bool refresh,
    kcl_cred *cred);

/* Messages sent to peer and not yet delivered: the oldest, or NULL. */
fx_msg *fx_next_to(fx *f, const kmp_peer *peer);

/* Number of messages sent to peer (delivered or not). */
size_t fx_count_to(const fx *f, const kmp_peer *peer);

/* The i-th message sent to peer (0 = first), or NULL. */
fx_msg *fx_nth_to(fx *f, const kmp_peer *peer, size_t i);

/* Deliver every pending message to its engine until the wire is quiet. */
void fx_pump(fx *f, kmp_server *srv, kmp_client *cli);

/* Acceptor decrypt calls so far (tickets + authenticators). */
uint64_t fx_decrypts(fx *f);

#endif
