/*
 * lethe-bench modes beyond AS and TGS: the registrar (--mode register),
 * ticket verification (--mode verify), key management (--mode kmp-sa,
 * --mode kmp-forged) and filling a store (--mode populate). Each mode has
 * its own file and entry point; the pieces the unit tests drive (request
 * building, reply checks, ticket making, the measured loops) are declared
 * here.
 */
#ifndef LETHE_BENCH_BENCH_MODES_H
#define LETHE_BENCH_BENCH_MODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "acceptor/acceptor.h"
#include "bench/bench_hist.h"
#include "client/client.h"
#include "registrar/registrar.h"

/* Entry points: argv as given to lethe-bench. Exit status 0, 1 (set-up), 2 (usage). */
int bench_reg_main(int argc, char **argv);
int bench_verify_main(int argc, char **argv);
int bench_kmp_main(int argc, char **argv);
int bench_populate_main(int argc, char **argv);
int bench_prop_main(int argc, char **argv);

/* ------------------------------------------------------------ bench_util.c */

/* Parse an unsigned decimal in [min, max]. */
bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Process CPU time (user + system) in µs. */
uint64_t bench_cpu_us(void);

/* The first line of path (a password) into buf[0..cap), without its newline. */
lethe_status bench_read_password(const char *path, char *buf, size_t cap, size_t *len);

/* Monotonic clock in nanoseconds. */
int64_t bench_mono_ns(void);

/*
 * One measured series: good operations, wall time and per-operation
 * latencies. Printed as text and, with json, as one JSON line whose
 * fields are "mode", "ok", "failed", "seconds", "per_s", "us_each",
 * "p50_us", "p99_us", "max_us", "cpu_us_each" plus the caller's extra
 * text (",\"k\":v..." or "").
 */
typedef struct bench_series {
	const char *mode;
	uint64_t ok;
	uint64_t failed;
	int64_t elapsed_ns;         /* the measured part only */
	uint64_t cpu_us;            /* this process, during the measured part */
	bench_hist hist;
} bench_series;

void bench_series_print(const bench_series *s, bool json, const char *extra_json);

/* Operations per second and µs per operation (0 when nothing ran). */
double bench_series_rate(const bench_series *s);
double bench_series_us_each(const bench_series *s);

/* ------------------------------------------------------------ bench_ticket.c */

/*
 * A service ticket made without a KDC, as the KDC would: EncTicketPart
 * for client, a fresh session key of session_enctype, times now - 60 to
 * now + life; encrypted with service_key (usage 2, kvno) or, when
 * service_key is NULL, signed by kdc_signer and sealed to cert (a
 * public-key ticket, enctype REG_ENCTYPE_PUBKEY_TICKET, no kvno).
 */
typedef struct bench_ticket_spec {
	const char *client;         /* "name@REALM" */
	const char *service;        /* "svc/host@REALM" */
	kc_key *service_key;        /* or NULL: seal to cert */
	uint32_t kvno;
	X509 *cert;
	int32_t session_enctype;
	int64_t now;
	int64_t life;
	const reg_identity *kdc_signer; /* signs public-key tickets (required for them) */
} bench_ticket_spec;

lethe_status bench_ticket_make(const bench_ticket_spec *spec, kcl_cred *out);

/* A copy of in (ticket bytes, names, session key) into *out (zeroed first). */
lethe_status bench_cred_copy(const kcl_cred *in, kcl_cred *out);

/*
 * A throw-away identity: a P-256 key and a self-signed certificate for
 * cn, valid from now - 1 h for a day, made in memory.
 */
lethe_status bench_identity_generate(const char *cn, reg_identity **out);

/* ------------------------------------------------------------ bench_reg.c */

/* What a registration needs from the outside; borrowed. */
typedef struct bench_reg_keys {
	const reg_identity *signer; /* the server identity (--cert/--key) */
	X509 *kdc_cert;             /* keys are sealed to it; its SPKI must sign replies */
	X509_STORE *kdc_ca;         /* replies must chain to it */
	int32_t enctype;            /* of the temporary key (18 by default) */
	int64_t use_s;              /* use_until = now + use_s */
	int64_t accept_s;           /* accept_until = use_until + accept_s */
} bench_reg_keys;

/*
 * A signed RegistrationRequest for principal: one fresh random key of
 * k->enctype under kvno, sealed to the KDC certificate, a fresh nonce
 * (copied to nonce), timestamp now. *der is freed by the caller.
 */
lethe_status bench_reg_build(const bench_reg_keys *k, const char *principal, uint32_t kvno,
    int64_t now, uint8_t nonce[REG_NONCE_LEN], uint8_t **der, size_t *der_len);

/*
 * Check a reply to the request that carried nonce: its signature chains
 * to k->kdc_ca at now and its signer's key is k->kdc_cert's, it decodes,
 * and it echoes nonce. LETHE_OK with *result = the reply's result code;
 * LETHE_ERR_BAD_INTEGRITY when the signature or the signer is wrong,
 * LETHE_ERR_FORMAT when the content does not decode, LETHE_ERR_NOT_FOUND
 * when the nonce is not ours.
 */
lethe_status bench_reg_check(const bench_reg_keys *k, const uint8_t nonce[REG_NONCE_LEN],
    const uint8_t *der, size_t len, int64_t now, int *result);

/* ------------------------------------------------------------ bench_verify.c */

enum bench_ticket_kind { BENCH_TICKET_TK, BENCH_TICKET_PUBKEY };

/*
 * The verify mode's material: a keytab (in dir) holding the temporary key
 * the TK ticket is encrypted with, the service identity the public-key
 * ticket is sealed to, one ticket of each kind, and an acceptor that
 * holds both keys (replay cache of rcache entries).
 */
typedef struct bench_verify_fx {
	char dir[256];
	char keytab[300];
	kc_key tk;
	reg_identity *identity;     /* owned */
	reg_identity *kdc;          /* owned: signs the public-key ticket, as the KDC */
	kcl_cred cred[2];           /* by enum bench_ticket_kind */
	acc_ctx *acc;
} bench_verify_fx;

#define BENCH_SERVICE "bench/server.lethe.test@LETHE.TEST"
#define BENCH_CLIENT "alice@LETHE.TEST"
#define BENCH_TK_KVNO 7u

/*
 * Build it, with a throw-away KDC identity whose certificate the acceptor
 * trusts for public-key tickets. identity may be NULL (one is generated); otherwise the
 * fixture takes it over (it is freed on failure too). tk_enctype is the temporary key's
 * enctype. The keytab is written under tmpdir (NULL: $TMPDIR or /tmp).
 */
lethe_status bench_verify_fx_new(reg_identity *identity, int32_t tk_enctype,
    size_t rcache, const char *tmpdir, bench_verify_fx **out);

void bench_verify_fx_free(bench_verify_fx *fx);

/* Encode a fresh AP-REQ (new authenticator, current time) for kind into w. */
lethe_status bench_verify_ap_req(const bench_verify_fx *fx, enum bench_ticket_kind kind,
    der_writer *w);

/*
 * Verify n fresh AP-REQs of kind with acc (built in batches outside the
 * timed part); s gets the verify calls' time and latencies; a refusal
 * counts as failed, its reason in *last_refusal.
 */
lethe_status bench_verify_run(acc_ctx *acc, const bench_verify_fx *fx,
    enum bench_ticket_kind kind, uint64_t n, bench_series *s, acc_reason *last_refusal);

/* ------------------------------------------------------------ bench_kmp.c */

/*
 * In-process key management: one server engine (an acceptor with the
 * service key) and nclients client engines over an in-memory wire.
 */
typedef struct bench_kmp bench_kmp;

lethe_status bench_kmp_new(size_t nclients, const char *tmpdir, bench_kmp **out);
void bench_kmp_free(bench_kmp *b);

/*
 * rounds times: wake every client and deliver messages until the wire is
 * quiet (Wake Up or Rekey, AP Request, AP Reply, SA Recovered). s->ok
 * counts the SAs the server confirmed; *server_ns the time spent inside
 * the server engine.
 */
lethe_status bench_kmp_sa_run(bench_kmp *b, uint64_t rounds, bench_series *s,
    int64_t *server_ns);

/*
 * Wake every client (their Wake Ups are dropped), then hand the server n
 * well-formed, HMAC-sealed AP Requests with a wrong nonce from those
 * clients. s->ok counts the ones dropped by the nonce check; *decrypts
 * the acceptor's decryptions during the run (0 when all went well).
 */
lethe_status bench_kmp_forged_run(bench_kmp *b, uint64_t n, bench_series *s,
    uint64_t *decrypts);

/* Server counters now. */
void bench_kmp_server_stats(const bench_kmp *b, uint64_t *accepted, uint64_t *dropped_nonce,
    uint64_t *dropped_other);

#endif
