/*
 * The KDC's snapshot (DESIGN §4): an immutable in-memory view of the realm
 * that worker threads read without locks.
 *
 * A snapshot holds the realm policy and every principal, found by name
 * through a radix tree over a keyed hash, with its attributes and its keys
 * as crypto key objects. The derived keys of the usages a long-term key
 * serves (1 and 3, pre-authentication and AS reply, for users; 2, tickets,
 * for the others) are computed when a change brings the key in, or, after
 * a full load, by the first request that needs them, and cached in the key
 * object (lock-free). The session-key usages (4 to 9) belong to
 * per-request keys, which derive them as they go. Once published nothing
 * of a snapshot is written but those caches; a change in the store derives
 * a new snapshot, which kdc.h swaps in.
 *
 * Build one from the store (kdc_snapshot_load) or, for tests and the fuzz
 * target, from principals in memory (kdc_snapshot_build); both take the
 * same store_* structures. Key bytes are copied into the crypto objects;
 * the snapshot wipes everything secret when freed.
 *
 * Snapshots are persistent: one derived from another (kdc_snapshot_apply)
 * shares every principal that did not change, with its keys and derived
 * keys, and copies only the path to what changed, so applying a change
 * costs what changed, not the realm. A full build (kdc_snapshot_load) also
 * takes, from the snapshots alive, every key object of the same principal
 * (and principal kind), kvno, enctype, key kind and bytes (compared in
 * constant time) instead of deriving it again. Shared objects are reference
 * counted, never written after they are published, and wiped by the last
 * snapshot freed.
 */
#ifndef LETHE_KDC_SNAPSHOT_H
#define LETHE_KDC_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "krb5/types.h"
#include "store/store.h"

#include <openssl/x509.h>

struct reg_identity;            /* registrar/registrar.h */

struct kdc_shared_key;

/* One key of a principal. */
typedef struct kdc_key {
	uint32_t kvno;
	int32_t enctype;
	kc_key *key;              /* with its derived-key cache; may be shared with
	                             other snapshots (read-only once built) */
	struct kdc_shared_key *shared; /* the reference this snapshot holds on key */
	lbytes salt;              /* the salt in force (the default one made explicit) */
	bool has_s2kparams;       /* iterations differ from the enctype's default */
	uint8_t s2kparams[4];     /* big-endian iteration count */
	enum store_key_kind kind;
	int64_t use_until;        /* 0: no end */
	int64_t accept_until;     /* 0: no end */
	X509 *cert;               /* a public-key "key": the certificate tickets are
	                             sealed to (key is then NULL); else NULL */
} kdc_key;

/* One principal. Strings are owned by the snapshot. */
typedef struct kdc_principal {
	const char *name;         /* canonical "comp/comp@REALM" */
	krb_principal_name pname; /* the name's components (name type from the text) */
	lbytes realm;
	enum store_principal_kind kind;
	uint32_t attributes;      /* STORE_ATTR_* */
	int64_t max_life;         /* 0: realm default */
	int64_t max_renew;        /* 0: realm default */
	int64_t expires_at;       /* 0: never */
	int64_t password_expires_at; /* 0: never (store_principal's) */
	const kdc_key *keys;      /* newest kvno first */
	size_t nkeys;
	bool classic_key_allowed; /* long-term keys may encrypt tickets (default) */
	const kdc_key *pubkey;    /* public-key tickets allowed: enctype
	                             REG_ENCTYPE_PUBKEY_TICKET, cert set, windows =
	                             the certificate's notAfter; else NULL */
} kdc_principal;

typedef struct kdc_snapshot kdc_snapshot;

/*
 * Build a snapshot from a policy and n principals in memory. Principals of
 * another realm than the policy's, keys of enctypes the crypto layer does
 * not implement, and a second principal of the same name are left out
 * (and counted in kdc_snapshot_skipped). generation is recorded as given.
 */
lethe_status kdc_snapshot_build(const store_realm_policy *policy,
    const store_principal *principals, size_t n, uint64_t generation,
    kdc_snapshot **out);

/*
 * Build a snapshot from every principal of the store, in one read
 * transaction, with each service's ticket policy (service_policy) and,
 * where public-key tickets are allowed, its agent's certificate. A
 * principal the store cannot hand over is logged and left out; the rest
 * of the realm is served.
 */
lethe_status kdc_snapshot_load(store *s, kdc_snapshot **out);

/* What kdc_snapshot_apply did. */
typedef struct kdc_snapshot_apply_stats {
	bool full;                /* the feed did not suffice: a full load */
	size_t replaced;          /* principals read again */
	size_t removed;           /* principals gone from the store */
	size_t failed;            /* principals that could not be read: kept as they were */
} kdc_snapshot_apply_stats;

/*
 * Bring base up to the store's generation: read the change feed since
 * base's generation and derive a snapshot in which each changed principal
 * (at most max_changes of them, else a full load) is read again, removed
 * when the store no longer has it, or kept as it was (logged and counted
 * in st->failed) when it cannot be read. A realm-wide change or a feed
 * that no longer reaches base's generation makes a full load. *out is NULL
 * when nothing changed. base is not changed and must stay alive during
 * the call.
 */
lethe_status kdc_snapshot_apply(store *s, const kdc_snapshot *base, size_t max_changes,
    kdc_snapshot **out, kdc_snapshot_apply_stats *st);

/*
 * Set the ticket policy of the principal called name (canonical text) in a
 * snapshot still being built (not yet given to kdc_new / kdc_swap_snapshot;
 * LETHE_ERR_INVALID_ARG when another snapshot shares the principal):
 * whether its long-term keys may encrypt tickets, and the certificate that
 * public-key tickets are sealed to (NULL: none; the snapshot takes its own
 * reference). LETHE_ERR_NOT_FOUND when the snapshot has no such principal.
 */
lethe_status kdc_snapshot_set_service(kdc_snapshot *snap, const char *name,
    bool classic_key_allowed, X509 *pubkey_cert);

/*
 * Set the identity that signs public-key tickets in a snapshot still being
 * built (the snapshot takes its own references; NULL: none, and then no
 * public-key ticket is issued). kdc_snapshot_load reads it from the
 * store's KDC credential (STORE_CRED_KDC), the one the registrar signs
 * with.
 */
lethe_status kdc_snapshot_set_ticket_signer(kdc_snapshot *snap,
    const struct reg_identity *signer);

/* The identity that signs public-key tickets, or NULL. */
const struct reg_identity *kdc_snapshot_ticket_signer(const kdc_snapshot *snap);

/*
 * Release the snapshot's references on its keys (a key no other snapshot
 * holds is wiped and freed) and free the rest, wiping salts and names.
 * No reader may still use snap. NULL is allowed.
 */
void kdc_snapshot_free(kdc_snapshot *snap);

/* The realm policy the snapshot was built with. */
const store_realm_policy *kdc_snapshot_policy(const kdc_snapshot *snap);

/* The realm name as bytes. */
lbytes kdc_snapshot_realm(const kdc_snapshot *snap);

/* The store generation the snapshot reflects. */
uint64_t kdc_snapshot_generation(const kdc_snapshot *snap);

/* Number of principals, and of principals or keys left out while building. */
size_t kdc_snapshot_count(const kdc_snapshot *snap);
size_t kdc_snapshot_skipped(const kdc_snapshot *snap);

/* Keys of the snapshot taken from a live snapshot, and keys derived for it. */
size_t kdc_snapshot_keys_shared(const kdc_snapshot *snap);
size_t kdc_snapshot_keys_derived(const kdc_snapshot *snap);

/* Key objects alive in the process, shared or not (tests, diagnostics). */
size_t kdc_snapshot_live_keys(void);

/*
 * The principal called name@realm (components compared byte for byte,
 * name type ignored), or NULL. Lock-free; any thread.
 */
const kdc_principal *kdc_snapshot_lookup(const kdc_snapshot *snap,
    const krb_principal_name *name, lbytes realm);

/* Lookup by a canonical text name ("a/b@REALM", MIT escapes), or NULL. */
const kdc_principal *kdc_snapshot_lookup_name(const kdc_snapshot *snap, const char *name);

/* The same as kdc_snapshot_lookup_name (tools and tests). */
const kdc_principal *kdc_snapshot_lookup_str(const kdc_snapshot *snap, const char *name);

/* The realm's TGS, krbtgt/REALM@REALM, or NULL when the store has none. */
const kdc_principal *kdc_snapshot_tgs(const kdc_snapshot *snap);

/* True when name is a TGS name: two components, the first "krbtgt". */
bool kdc_principal_is_tgs_name(const krb_principal_name *name);

/* The key of p with this kvno and enctype, or NULL. */
const kdc_key *kdc_principal_key(const kdc_principal *p, uint32_t kvno, int32_t enctype);

/* p's newest key of enctype (any kind), or NULL. */
const kdc_key *kdc_principal_newest_key(const kdc_principal *p, int32_t enctype);

#endif
