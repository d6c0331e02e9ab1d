/* Internal interfaces of the acceptor layer. */
#ifndef LETHE_ACCEPTOR_INTERNAL_H
#define LETHE_ACCEPTOR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "acceptor/acceptor.h"
#include "keytab/keytab.h"
#include "registrar/registrar.h"

#define ACC_ARENA_BUDGET   (256u * 1024u)   /* decoding one AP-REQ and its parts */
#define ACC_WRITER_MAX     (64u * 1024u)    /* encoding one EncAPRepPart */
#define ACC_DIGEST_LEN     32u              /* SHA-256 */

/* ---- key set: one keytab image with its keys, shared by reference ---- */

typedef struct acc_keyset {
	atomic_uint refs;
	kt_keytab *kt;              /* NULL when the file did not exist */
	kc_key *keys;               /* keys[i] for entry i; enctype 0 if unsupported */
	size_t count;
} acc_keyset;

/* How a lookup ended. */
typedef enum acc_lookup {
	ACC_LOOKUP_FOUND,
	ACC_LOOKUP_NO_PRINCIPAL,
	ACC_LOOKUP_NO_KVNO,
	ACC_LOOKUP_NO_ETYPE,
} acc_lookup;

/* A key set from the keytab at path (an empty set when there is no file). */
lethe_status acc_keyset_load(const char *path, acc_keyset **out);

/* Drop one reference; the last one wipes the keys. NULL is fine. */
void acc_keyset_release(acc_keyset *ks);

/*
 * The key of (name@realm, kvno, enctype) in ks. has_kvno false: the
 * highest kvno with that enctype. *key is valid while ks is held.
 */
acc_lookup acc_keyset_find(acc_keyset *ks, const krb_principal_name *name, lbytes realm,
			   bool has_kvno, uint32_t kvno, int32_t enctype, kc_key **key,
			   uint32_t *kvno_found);

/* True when the keytab principal p is name@realm (name types ignored). */
bool acc_kt_principal_is(const kt_principal *p, const krb_principal_name *name, lbytes realm);

/* ---- replay cache ---- */

typedef struct acc_rcache acc_rcache;

typedef enum acc_rc_result {
	ACC_RC_FRESH,               /* recorded now */
	ACC_RC_REPLAY,              /* a live entry holds this key */
	ACC_RC_FULL,                /* no room without evicting a live entry */
} acc_rc_result;

/* A cache for at most max entries, with a random salt. */
lethe_status acc_rcache_new(size_t max, acc_rcache **out);
void acc_rcache_free(acc_rcache *rc);

/* The cache key of one authenticator: salted SHA-256 over its identity. */
lethe_status acc_rcache_key(const acc_rcache *rc, const EVP_MD *sha256,
			    const krb_principal_name *client, lbytes crealm,
			    const krb_principal_name *server, lbytes srealm,
			    int64_t ctime, int32_t cusec, lbytes cipher,
			    uint8_t out[ACC_DIGEST_LEN]);

/* Record key unless a live entry holds it; the entry lives until expires. */
acc_rc_result acc_rcache_insert(acc_rcache *rc, const uint8_t key[ACC_DIGEST_LEN],
				int64_t now, int64_t expires);

/* Entries held now, expired ones not yet reclaimed included. */
size_t acc_rcache_count(acc_rcache *rc);

/* ---- the context ---- */

struct acc_ctx {
	char *keytab_path;
	kt_principal *servers;
	size_t n_servers;
	int64_t skew;
	acc_clock_fn clock;
	void *clock_arg;
	const struct reg_identity *pubkey_identity; /* borrowed; NULL: none */
	char (*kdc_spki)[REG_SPKI_HEX_LEN + 1];       /* SPKI SHA-256 hex of each KDC certificate */
	const char **kdc_pins;      /* kdc_spki[i], as reg_trust pins */
	size_t n_kdc_pins;
	EVP_MD *sha256;
	acc_rcache *rcache;

	pthread_mutex_t lock;       /* guards keys and the file identity below */
	acc_keyset *keys;
	bool have_identity;         /* the fields below describe the file last read */
	bool file_missing;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int64_t last_check;         /* clock second of the last stat */

	atomic_uint_least64_t n_ticket_decrypts;
	atomic_uint_least64_t n_auth_decrypts;
	atomic_uint_least64_t n_accepted;
	atomic_uint_least64_t n_refused;
	atomic_uint_least64_t n_replays;
	atomic_uint_least64_t n_rcache_full;
	atomic_uint_least64_t n_pubkey_sig_refused;
	atomic_uint_least64_t n_keytab_loads;
};

/* The context's clock. */
void acc_now(const acc_ctx *ctx, int64_t *sec, int32_t *usec);

/*
 * A reference to the current key set (release it with acc_keyset_release),
 * after a stat of the keytab if one is due (or forced by check_now).
 */
lethe_status acc_keys_acquire(acc_ctx *ctx, bool check_now, acc_keyset **out);

#endif
