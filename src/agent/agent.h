/*
 * lethe-agent: temporary service keys on an application server.
 *
 * Every rotation period the agent makes a fresh random key per enctype
 * for each principal, gives it kvno = 1 + the highest kvno it ever used
 * for that principal, writes it to the keytab FIRST, then registers it
 * with every KDC. A failed registration is retried with jittered
 * exponential backoff; keys leave the keytab only after accept_until.
 *
 * The core (rotation, registration schedule, pruning) takes its clock,
 * its random numbers and its "register" function from an agent_env, so
 * tests drive it with a fake clock and a fake KDC.
 *
 * State lives in state_dir: "keys" (per principal the highest kvno ever
 * used, and the windows of every key the agent made) and one
 * "kdc-<host>_<port>" file per KDC (the last registration per
 * principal). Both are written atomically.
 */
#ifndef LETHE_AGENT_AGENT_H
#define LETHE_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/bytes.h"
#include "base/conf.h"
#include "base/status.h"
#include "keytab/keytab.h"

#define AGENT_MAX_PRINCIPALS    16
#define AGENT_MAX_KDCS          8
#define AGENT_MAX_ENCTYPES      8       /* keys SIZE(1..8) on the wire */
#define AGENT_NAME_MAX          512     /* a principal or a host:port */
#define AGENT_PATH_MAX          1024
#define AGENT_TEXT_MAX          256     /* result text kept per registration */
#define AGENT_NONCE_LEN         16
#define AGENT_MAX_KEY_RECORDS   4096    /* live keys (and principals) in "keys" */
#define AGENT_STATE_MAX_FILE    (1024u * 1024u)
#define AGENT_SECRET_MAX_FILE   (1024u * 1024u)
#define AGENT_KEYREQ_SKEW       300     /* seconds a KeyRequest stays fresh */

/* Defaults (seconds). */
#define AGENT_DEFAULT_ROTATION          3600
#define AGENT_DEFAULT_OVERLAP           600
#define AGENT_DEFAULT_MAX_TICKET_LIFE   36000

/* The KeyRequest listener's connections at once, in all and per peer. */
#define AGENT_DEFAULT_CALLBACK_CONNS    16
#define AGENT_DEFAULT_CALLBACK_PER_PEER 4

/* Exit codes of lethe-agent. */
enum agent_exit {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_REGISTRATION = 1,    /* some KDC did not accept */
	AGENT_EXIT_USAGE = 2,           /* bad command line or configuration */
	AGENT_EXIT_LOCAL = 3,           /* keytab, state or identity problem */
};

/* One registrar. */
typedef struct agent_kdc {
	char name[AGENT_NAME_MAX];      /* "host:port" as configured */
	lethe_sockaddr addr;
	char cert_path[AGENT_PATH_MAX]; /* the KDC's certificate (PEM) */
} agent_kdc;

typedef struct agent_config {
	char principals[AGENT_MAX_PRINCIPALS][AGENT_NAME_MAX]; /* canonical */
	size_t nprincipals;
	char certificate[AGENT_PATH_MAX];       /* PEM chain, leaf first */
	char key[AGENT_PATH_MAX];               /* PEM private key, 0600 */
	char pkcs12[AGENT_PATH_MAX];            /* or a PKCS#12 bundle */
	char pkcs12_password_file[AGENT_PATH_MAX];
	char kdc_ca[AGENT_PATH_MAX];            /* trust anchors for the KDC */
	agent_kdc kdcs[AGENT_MAX_KDCS];
	size_t nkdcs;
	char keytab[AGENT_PATH_MAX];
	uid_t keytab_uid;                       /* KT_OWNER_KEEP: unchanged */
	gid_t keytab_gid;                       /* KT_GROUP_KEEP: unchanged */
	char state_dir[AGENT_PATH_MAX];
	int64_t rotation, overlap, max_ticket_life;
	int32_t enctypes[AGENT_MAX_ENCTYPES];
	size_t nenctypes;
	bool have_callback;
	char callback[AGENT_NAME_MAX];          /* listen address */
	lethe_sockaddr callback_addr;
	char callback_endpoint[AGENT_NAME_MAX]; /* sent to the KDC */
	unsigned callback_max_conns;            /* KeyRequest connections at once */
	unsigned callback_max_per_peer;         /* ... per peer; 0: no cap */
	int verbosity;
} agent_config;

/*
 * Read the configuration at path into *cfg. Relative paths in it are
 * taken from the directory of path. Every error is described in err
 * ("file:line: what"), and returns LETHE_ERR_FORMAT (bad or missing
 * value), LETHE_ERR_NOT_FOUND (unknown key) or LETHE_ERR_IO.
 */
lethe_status agent_config_load(const char *path, agent_config *cfg,
    char *err, size_t err_len);

/* As agent_config_load, from text; source names it in messages. */
lethe_status agent_config_parse(const char *text, size_t len, const char *source,
    agent_config *cfg, char *err, size_t err_len);

/*
 * LETHE_OK when path is a regular file that neither group nor others may
 * read or write (0600 or 0400). Otherwise err says why (LETHE_ERR_IO when
 * it cannot be examined, LETHE_ERR_INVALID_ARG for a lax mode).
 */
lethe_status agent_check_secret_file(const char *path, char *err, size_t err_len);

/*
 * Read the secret file at path (checked as above, at most
 * AGENT_SECRET_MAX_FILE bytes) into a new buffer *out of *out_len bytes,
 * which the caller wipes and frees with agent_secret_free().
 */
lethe_status agent_read_secret_file(const char *path, uint8_t **out,
    size_t *out_len, char *err, size_t err_len);

/* Wipe and free a buffer from agent_read_secret_file(). NULL is allowed. */
void agent_secret_free(uint8_t *buf);

/* ---- state ---- */

/* A key the agent made: its windows. */
typedef struct agent_key_rec {
	char principal[AGENT_NAME_MAX];
	uint32_t kvno;
	int64_t created, use_until, accept_until;
} agent_key_rec;

/* The highest kvno ever used for a principal. */
typedef struct agent_kvno_rec {
	char principal[AGENT_NAME_MAX];
	uint32_t kvno;
} agent_kvno_rec;

/* Result of one registration attempt. */
enum {
	AGENT_RESULT_NONE = -1,         /* never attempted */
	AGENT_RESULT_NO_REPLY = -2,     /* network error, timeout, bad frame */
	AGENT_RESULT_BAD_REPLY = -3,    /* reply not signed by the KDC, wrong nonce */
	AGENT_RESULT_LOCAL = -4,        /* could not build the request */
	AGENT_RESULT_OK = 0,            /* otherwise a reg_result code */
};

/* The registration of one principal at one KDC. */
typedef struct agent_reg_rec {
	uint32_t kvno;                  /* newest kvno, to register or registered */
	bool done;                      /* kvno was accepted */
	uint32_t ok_kvno;               /* last kvno accepted (0: none) */
	int result;                     /* last attempt, AGENT_RESULT_* */
	uint32_t failures;              /* consecutive failures */
	int64_t last_attempt, last_ok, next_attempt;
	char text[AGENT_TEXT_MAX];
	/* memory only */
	bool uncertain;                 /* an attempt for kvno got no reply */
	bool have_answers;              /* a KeyRequest to answer */
	uint8_t answers[AGENT_NONCE_LEN];
} agent_reg_rec;

typedef struct agent_state {
	agent_kvno_rec *kvnos;
	size_t nkvnos;
	agent_key_rec *keys;
	size_t nkeys, keys_cap;
	/* reg[k][p]: KDC k of the config, principal p of the config */
	agent_reg_rec reg[AGENT_MAX_KDCS][AGENT_MAX_PRINCIPALS];
} agent_state;

/* An empty state (no keys; every registration never attempted). */
void agent_state_init(agent_state *st);

/*
 * Add the lines of a "keys" file, buf[0..len), to st. LETHE_ERR_FORMAT
 * for anything but the format above (the first line its magic),
 * LETHE_ERR_TOO_BIG over AGENT_STATE_MAX_FILE or AGENT_MAX_KEY_RECORDS.
 */
lethe_status agent_state_parse_keys(const uint8_t *buf, size_t len, agent_state *st);

/*
 * Fill st->reg[k] from a KDC file, buf[0..len); lines for principals not
 * in cfg are skipped. Errors as agent_state_parse_keys.
 */
lethe_status agent_state_parse_kdc(const uint8_t *buf, size_t len,
    const agent_config *cfg, size_t k, agent_state *st);

/* Load the state of cfg from its state_dir (missing files: empty state). */
lethe_status agent_state_load(const agent_config *cfg, agent_state *st);

/* Write "keys" atomically. */
lethe_status agent_state_save_keys(const agent_config *cfg, const agent_state *st);

/* Write the file of KDC k atomically. */
lethe_status agent_state_save_kdc(const agent_config *cfg, const agent_state *st,
    size_t k);

void agent_state_free(agent_state *st);

/*
 * Take the lock file state_dir/lock for this process's lifetime (the fd
 * in *fd_out stays open), so two agents never allocate from one state.
 * LETHE_ERR_INVALID_ARG when another process holds it.
 */
lethe_status agent_state_lock(const agent_config *cfg, int *fd_out);

/* The highest kvno recorded for principal (0 if none). */
uint32_t agent_state_kvno(const agent_state *st, const char *principal);

/* Raise the recorded highest kvno of principal to kvno. */
lethe_status agent_state_set_kvno(agent_state *st, const char *principal,
    uint32_t kvno);

/* Append a key record. */
lethe_status agent_state_add_key(agent_state *st, const agent_key_rec *rec);

/* The record of (principal, kvno), or NULL. */
agent_key_rec *agent_state_find_key(agent_state *st, const char *principal,
    uint32_t kvno);

/* ---- keys and keytab ---- */

/*
 * The next kvno for principal: 1 + the highest kvno in the keytab and in
 * the state. LETHE_ERR_TOO_BIG when that would pass 2^32-1.
 */
lethe_status agent_kvno_next(const agent_state *st, const kt_keytab *kt,
    const kt_principal *principal, const char *name, uint32_t *out);

/*
 * Add a fresh random key per enctype under kvno to kt (in memory).
 */
lethe_status agent_keytab_add_fresh(kt_keytab *kt, const kt_principal *principal,
    uint32_t kvno, const int32_t *enctypes, size_t nenctypes, uint32_t timestamp);

/* Load the keytab at path; a missing file gives an empty keytab. */
lethe_status agent_keytab_load(const char *path, kt_keytab **out);

/* ---- the registration function ---- */

/* One key handed to the register function; bytes borrowed, secret. */
typedef struct agent_reg_key {
	int32_t enctype;
	lbytes key;
} agent_reg_key;

/* What to register at one KDC. */
typedef struct agent_reg_input {
	const kt_principal *principal;
	const char *principal_name;
	uint32_t kvno;
	int64_t use_until, accept_until;
	agent_reg_key keys[AGENT_MAX_ENCTYPES];
	size_t nkeys;
	const uint8_t *answers;         /* AGENT_NONCE_LEN bytes, or NULL */
	const char *callback;           /* "host:port", or NULL */
} agent_reg_input;

typedef struct agent_reg_output {
	int result;                     /* AGENT_RESULT_* or reg_result */
	char text[AGENT_TEXT_MAX];
	int64_t granted_accept_until;   /* largest granted, 0 if none said */
} agent_reg_output;

/*
 * Register in at kdc, filling out. Every outcome, including a network
 * failure, is described in out; the return value is not used to decide.
 */
typedef void (*agent_register_fn)(void *arg, const agent_kdc *kdc,
    const agent_reg_input *in, agent_reg_output *out);

typedef struct agent_env {
	int64_t (*now)(void *arg);              /* seconds since 1970 */
	uint32_t (*random)(void *arg);          /* for jitter */
	agent_register_fn register_keys;
	void *arg;
} agent_env;

/* The real clock and random numbers (register_keys left NULL). */
agent_env agent_env_system(void);

/* ---- the core ---- */

typedef struct agent {
	agent_config cfg;
	agent_env env;
	agent_state st;
	kt_principal principals[AGENT_MAX_PRINCIPALS];
	int64_t rotate_after[AGENT_MAX_PRINCIPALS];    /* after a failed rotation */
	uint32_t rotate_failures[AGENT_MAX_PRINCIPALS];
	int64_t prune_after;                            /* after a failed prune */
	uint32_t prune_failures;
} agent;

/* Set a up with a copy of cfg and load its state. agent_close() after. */
lethe_status agent_open(agent *a, const agent_config *cfg, const agent_env *env);

void agent_close(agent *a);

/*
 * Make new keys for principal index p now: allocate the kvno, record it
 * in the state, write the keytab, record the windows, and mark every KDC
 * as due. answers (may be NULL) is the nonce of a KeyRequest from KDC
 * index kdc_from (SIZE_MAX: every KDC). *kvno_out may be NULL.
 */
lethe_status agent_rotate(agent *a, size_t p, const uint8_t *answers,
    size_t kdc_from, uint32_t *kvno_out);

/*
 * Attempt every registration that is due now (all pending ones when
 * force). *failed (may be NULL) gets how many attempts failed.
 */
lethe_status agent_register_due(agent *a, bool force, size_t *failed);

/* Remove from the keytab every key of ours whose accept_until has passed. */
lethe_status agent_prune(agent *a, size_t *removed);

/* Rotate principals that are due, register what is due, prune. */
lethe_status agent_step(agent *a);

/* When agent_step next has work (seconds since 1970). */
int64_t agent_next_wakeup(const agent *a);

/*
 * Backoff before attempt failures+1, in seconds: 1 doubling up to cap,
 * then less a random part of up to half (jitter from rnd).
 */
int64_t agent_backoff(uint32_t failures, int64_t cap, uint32_t rnd);

/* Retry caps once a registration is urgent (seconds). */
#define AGENT_URGENT_RETRY          2   /* no reply (KDC down), INTERNAL, TRY_LATER */
#define AGENT_URGENT_RETRY_REFUSED  30  /* any other refusal */

/*
 * From when a KDC's registration is urgent, given the newest key of ours
 * it accepted (NULL: none, or pruned: always): overlap/2 before that key's
 * use_until, so the next key is there before tickets need it.
 */
int64_t agent_urgent_from(const agent_config *cfg, const agent_key_rec *accepted);

/*
 * When to retry after failure number failures (result: its outcome) at t:
 * the backoff with cap rotation before urgent, and AGENT_URGENT_RETRY (no
 * reply, INTERNAL, TRY_LATER) or AGENT_URGENT_RETRY_REFUSED (other refusals) from
 * urgent on; a backoff begun before urgent ends at urgent at the latest.
 */
int64_t agent_retry_at(const agent_config *cfg, uint32_t failures, int result, int64_t t,
    int64_t urgent, uint32_t rnd);

/*
 * Print the keys of the keytab (with their windows when the agent made
 * them) and the last registration per KDC and principal, as text or as
 * one JSON object.
 */
lethe_status agent_status_print(const agent_config *cfg, bool json, FILE *out);

/* A short name for a registration result (e.g. "OK", "NO_REPLY"). */
const char *agent_result_name(int result);

#endif
