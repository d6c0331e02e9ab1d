/* The KDC snapshot: building, lookup, keys and salts, and loading from a store. */
#include "test_kdc_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
assert_lb_str(lbytes got, const char *want)
{
	assert_int_equal(got.len, strlen(want));
	assert_memory_equal(got.data, want, got.len);
}

/* The fixture's realm plus oddities: a foreign principal, a duplicate, an rc4 key, a bad name. */
static kdc_snapshot *
odd_snapshot(size_t *n_out)
{
	store_realm_policy pol;
	store_principal *list;
	kdc_snapshot *snap;
	size_t n;
	store_key rc4 = { .kvno = 1, .enctype = 23, .key_len = 16, .kind = STORE_KEY_LONG_TERM };

	t_realm_principals(&pol, &list, &n);
	list = realloc(list, (n + 3) * sizeof(*list));
	assert_non_null(list);
	list[n] = (store_principal){ .name = strdup("other@OTHER.REALM"), .kind = STORE_KIND_USER };
	list[n + 1] = (store_principal){ .name = strdup("bob@" T_REALM), .kind = STORE_KIND_USER };
	list[n + 2] = (store_principal){ .name = strdup("@" T_REALM), .kind = STORE_KIND_USER };
	/* bob gets an rc4 key the crypto layer does not implement. */
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].name, "bob@" T_REALM) == 0) {
			list[i].keys = realloc(list[i].keys, (list[i].nkeys + 1) * sizeof(store_key));
			list[i].keys[list[i].nkeys++] = rc4;
		}
	}
	assert_int_equal(kdc_snapshot_build(&pol, list, n + 3, 42, &snap), LETHE_OK);
	*n_out = n;
	t_realm_principals_free(list, n + 3);
	return snap;
}

static void
test_build_counts(void **state)
{
	size_t n;
	kdc_snapshot *snap = odd_snapshot(&n);

	(void)state;
	/* foreign + empty name left out; the duplicate bob left out; one rc4 key. */
	assert_int_equal(kdc_snapshot_count(snap), n);
	assert_int_equal(kdc_snapshot_skipped(snap), 4);
	assert_int_equal(kdc_snapshot_generation(snap), 42);
	assert_string_equal(kdc_snapshot_policy(snap)->realm, T_REALM);
	assert_lb_str(kdc_snapshot_realm(snap), T_REALM);
	kdc_snapshot_free(snap);
}

static void
test_lookup(void **state)
{
	lbytes c_alice[1] = { LBYTES_LIT("alice") }, c_ALICE[1] = { LBYTES_LIT("ALICE") };
	lbytes c_svc[2] = { LBYTES_LIT("host"), LBYTES_LIT("server.lethe.test") };
	krb_principal_name alice = { KRB_NT_UNKNOWN, c_alice, 1 };
	krb_principal_name upper = { KRB_NT_PRINCIPAL, c_ALICE, 1 };
	krb_principal_name svc = { KRB_NT_SRV_HST, c_svc, 2 }, svc1 = { KRB_NT_SRV_HST, c_svc, 1 };
	size_t n;
	kdc_snapshot *snap = odd_snapshot(&n);
	const kdc_principal *p, *bob;

	(void)state;
	p = kdc_snapshot_lookup(snap, &alice, LBYTES_LIT(T_REALM));   /* name type ignored */
	assert_non_null(p);
	assert_string_equal(p->name, "alice@" T_REALM);
	assert_int_equal(p->kind, STORE_KIND_USER);
	assert_true(p->attributes & STORE_ATTR_REQUIRES_PREAUTH);
	assert_null(kdc_snapshot_lookup(snap, &upper, LBYTES_LIT(T_REALM)));
	assert_null(kdc_snapshot_lookup(snap, &alice, LBYTES_LIT("lethe.test")));
	assert_null(kdc_snapshot_lookup(snap, &svc1, LBYTES_LIT(T_REALM)));
	p = kdc_snapshot_lookup(snap, &svc, LBYTES_LIT(T_REALM));
	assert_non_null(p);
	assert_ptr_equal(p, kdc_snapshot_lookup_str(snap, T_SERVICE "@" T_REALM));
	assert_null(kdc_snapshot_lookup_str(snap, "other@OTHER.REALM"));
	assert_null(kdc_snapshot_lookup_str(snap, "alice"));
	/* The TGS. */
	p = kdc_snapshot_tgs(snap);
	assert_non_null(p);
	assert_string_equal(p->name, "krbtgt/" T_REALM "@" T_REALM);
	assert_true(kdc_principal_is_tgs_name(&p->pname));
	assert_false(kdc_principal_is_tgs_name(&svc));
	/* The duplicate bob kept the first entry, and its rc4 key was dropped. */
	bob = kdc_snapshot_lookup_str(snap, "bob@" T_REALM);
	assert_non_null(bob);
	assert_int_equal(bob->nkeys, 1);
	assert_int_equal(bob->keys[0].enctype, 18);
	kdc_snapshot_free(snap);
}

static void
test_keys_and_salts(void **state)
{
	static const uint8_t iter[4] = { 0, 0, 0x20, 0 };
	size_t n;
	kdc_snapshot *snap = odd_snapshot(&n);
	const kdc_principal *alice = kdc_snapshot_lookup_str(snap, "alice@" T_REALM);
	const kdc_principal *frank = kdc_snapshot_lookup_str(snap, "frank@" T_REALM);
	const kdc_principal *tgs = kdc_snapshot_tgs(snap);
	kc_key want;

	(void)state;
	assert_int_equal(alice->nkeys, 4);
	assert_int_equal(alice->keys[0].enctype, 18);
	assert_int_equal(alice->keys[3].enctype, 19);
	assert_lb_str(alice->keys[0].salt, T_REALM "alice");   /* the default made explicit */
	assert_false(alice->keys[0].has_s2kparams);
	t_user_key("alice", 17, &want);
	assert_true(lbytes_ct_eq(kc_key_bytes(alice->keys[1].key), kc_key_bytes(&want)));
	kc_key_clear(&want);
	assert_lb_str(frank->keys[0].salt, T_FRANK_SALT);
	assert_true(frank->keys[0].has_s2kparams);
	assert_memory_equal(frank->keys[0].s2kparams, iter, 4);
	/* kvno lookups on the krbtgt (kvno 2: four keys, kvno 1: aes256). */
	assert_int_equal(tgs->nkeys, 5);
	assert_non_null(kdc_principal_key(tgs, 1, 18));
	assert_null(kdc_principal_key(tgs, 1, 17));
	assert_null(kdc_principal_key(tgs, 3, 18));
	assert_int_equal(kdc_principal_newest_key(tgs, 18)->kvno, 2);
	assert_int_equal(kdc_principal_newest_key(tgs, 17)->kvno, 2);
	assert_null(kdc_principal_newest_key(tgs, 23));
	kdc_snapshot_free(snap);
}

static void
test_empty(void **state)
{
	store_realm_policy pol;
	kdc_snapshot *snap;

	(void)state;
	assert_int_equal(store_realm_policy_default(&pol, T_REALM), LETHE_OK);
	assert_int_equal(kdc_snapshot_build(&pol, NULL, 0, 0, &snap), LETHE_OK);
	assert_int_equal(kdc_snapshot_count(snap), 0);
	assert_null(kdc_snapshot_tgs(snap));
	assert_null(kdc_snapshot_lookup_str(snap, "alice@" T_REALM));
	kdc_snapshot_free(snap);
	assert_int_equal(kdc_snapshot_build(&pol, NULL, 1, 0, &snap), LETHE_ERR_INVALID_ARG);
	assert_null(snap);
	kdc_snapshot_free(NULL);
}

/* ------------------------------------------------------------ rebuilds */

static store_principal *
find_in(store_principal *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	fail_msg("no %s in the fixture", name);
	return NULL;
}

static size_t
usable_keys(const kdc_snapshot *snap, const store_principal *list, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		const kdc_principal *p = kdc_snapshot_lookup_str(snap, list[i].name);
		if (p != NULL)
			total += p->nkeys;
	}
	return total;
}

/* key encrypts, under usage, what a fresh object of want's bytes decrypts. */
static void
assert_key_works(kc_key *key, const store_key *want, uint32_t usage)
{
	static const uint8_t msg[] = "still usable after the old snapshot went";
	uint8_t ct[256], pt[256];
	size_t ct_len, pt_len;
	kc_key *fresh;

	assert_true(lbytes_ct_eq(kc_key_bytes(key), lbytes_make(want->key, want->key_len)));
	assert_int_equal(kc_key_new(want->enctype, lbytes_make(want->key, want->key_len), &fresh),
	    LETHE_OK);
	assert_int_equal(kc_encrypt(key, usage, lbytes_make(msg, sizeof(msg)), ct, sizeof(ct),
	    &ct_len), LETHE_OK);
	assert_int_equal(kc_decrypt(fresh, usage, lbytes_make(ct, ct_len), pt, sizeof(pt),
	    &pt_len), LETHE_OK);
	assert_int_equal(pt_len, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	/* And not under another usage. */
	assert_int_not_equal(kc_decrypt(fresh, usage + 1, lbytes_make(ct, ct_len), pt,
	    sizeof(pt), &pt_len), LETHE_OK);
	kc_key_free(fresh);
}

/*
 * Rebuild with alice's newest key changed, a key added to the service, the
 * krbtgt's oldest key removed, carol's key given to a new principal, and
 * bob's key window moved: the unchanged key objects are shared, the
 * others are not, and the new snapshot outlives the old one.
 */
static void
test_rebuild_shares_unchanged_keys(void **state)
{
	store_realm_policy pol;
	store_principal *list, *alice, *svc, *tgs, *carol, *bob;
	kdc_snapshot *a, *b;
	const kdc_principal *pa, *pb;
	size_t n, total_a;
	store_key removed;

	(void)state;
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	t_realm_principals(&pol, &list, &n);
	assert_int_equal(kdc_snapshot_build(&pol, list, n, 1, &a), LETHE_OK);
	total_a = usable_keys(a, list, n);
	assert_true(total_a > 10);
	assert_int_equal(kdc_snapshot_keys_derived(a), total_a);
	assert_int_equal(kdc_snapshot_keys_shared(a), 0);
	assert_int_equal(kdc_snapshot_live_keys(), total_a);

	/* The changes. */
	list = realloc(list, (n + 1) * sizeof(*list));
	assert_non_null(list);
	alice = find_in(list, n, "alice@" T_REALM);
	alice->keys[0].key[5] ^= 0x40;
	svc = find_in(list, n, T_SERVICE "@" T_REALM);
	svc->keys = realloc(svc->keys, (svc->nkeys + 1) * sizeof(*svc->keys));
	assert_non_null(svc->keys);
	memmove(&svc->keys[1], &svc->keys[0], svc->nkeys * sizeof(*svc->keys));
	svc->nkeys++;
	svc->keys[0] = (store_key){ .kvno = T_SERVICE_KVNO + 1, .enctype = 18, .key_len = 32,
		.kind = STORE_KEY_LONG_TERM };
	memset(svc->keys[0].key, 0x77, 32);
	tgs = find_in(list, n, "krbtgt/" T_REALM "@" T_REALM);
	removed = tgs->keys[--tgs->nkeys];
	assert_int_equal(removed.kvno, 1);
	carol = find_in(list, n, "carol@" T_REALM);
	list[n] = (store_principal){ .name = strdup("carol2@" T_REALM), .kind = STORE_KIND_USER,
		.attributes = STORE_ATTR_DEFAULT_USER };
	list[n].keys = calloc(1, sizeof(store_key));
	assert_non_null(list[n].name);
	assert_non_null(list[n].keys);
	list[n].keys[0] = carol->keys[0];
	list[n].nkeys = 1;
	bob = find_in(list, n, "bob@" T_REALM);
	bob->keys[0].use_until = T_NOW + 5;

	assert_int_equal(kdc_snapshot_build(&pol, list, n + 1, 2, &b), LETHE_OK);
	/* total_a - 1 removed + 1 added + 1 carol2; derived: alice's, the service's, carol2's. */
	assert_int_equal(usable_keys(b, list, n + 1), total_a + 1);
	assert_int_equal(kdc_snapshot_keys_derived(b), 3);
	assert_int_equal(kdc_snapshot_keys_shared(b), total_a - 2);
	assert_int_equal(kdc_snapshot_live_keys(), total_a + 3);
	for (size_t i = 0; i < n; i++) {
		pa = kdc_snapshot_lookup_str(a, list[i].name);
		pb = kdc_snapshot_lookup_str(b, list[i].name);
		assert_non_null(pb);
		for (size_t k = 0; k < pb->nkeys; k++) {
			const kdc_key *kb = &pb->keys[k];
			const kdc_key *ka = kdc_principal_key(pa, kb->kvno, kb->enctype);
			bool changed = (&list[i] == alice && k == 0) || (&list[i] == svc && k == 0);

			if (changed)
				assert_true(ka == NULL || ka->key != kb->key);
			else
				assert_ptr_equal(ka->key, kb->key);
		}
	}
	/* Same bytes under another name: its own object. */
	pa = kdc_snapshot_lookup_str(b, "carol@" T_REALM);
	pb = kdc_snapshot_lookup_str(b, "carol2@" T_REALM);
	assert_ptr_not_equal(pa->keys[0].key, pb->keys[0].key);
	assert_true(lbytes_ct_eq(kc_key_bytes(pa->keys[0].key), kc_key_bytes(pb->keys[0].key)));
	/* The removed key is gone from b, still in a. */
	assert_null(kdc_principal_key(kdc_snapshot_tgs(b), 1, 18));
	assert_non_null(kdc_principal_key(kdc_snapshot_tgs(a), 1, 18));
	/* A shared object, with b's own window. */
	pa = kdc_snapshot_lookup_str(a, "bob@" T_REALM);
	pb = kdc_snapshot_lookup_str(b, "bob@" T_REALM);
	assert_ptr_equal(pa->keys[0].key, pb->keys[0].key);
	assert_int_equal(pa->keys[0].use_until, 0);
	assert_int_equal(pb->keys[0].use_until, T_NOW + 5);

	/* The old snapshot goes: its removed and replaced keys with it. */
	kdc_snapshot_free(a);
	assert_int_equal(kdc_snapshot_live_keys(), total_a + 1);
	for (size_t i = 0; i < n + 1; i++) {
		pb = kdc_snapshot_lookup_str(b, list[i].name);
		for (size_t k = 0; k < pb->nkeys; k++) {
			const store_key *want = NULL;

			for (size_t j = 0; j < list[i].nkeys && want == NULL; j++)
				if (list[i].keys[j].kvno == pb->keys[k].kvno &&
				    list[i].keys[j].enctype == pb->keys[k].enctype)
					want = &list[i].keys[j];
			assert_non_null(want);
			assert_key_works(pb->keys[k].key, want,
			    pb->kind == STORE_KIND_USER ? KRB_KU_AS_REP_ENC_PART : KRB_KU_TICKET);
		}
	}
	kdc_snapshot_free(b);
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	tgs->nkeys++;                   /* the removed key's salt is freed with the list */
	t_realm_principals_free(list, n + 1);
}

/* A principal kind or key kind that changed is not the same key object. */
static void
test_rebuild_kind_changed(void **state)
{
	store_realm_policy pol;
	store_principal *list, *alice, *svc;
	kdc_snapshot *a, *b;
	size_t n;

	(void)state;
	t_realm_principals(&pol, &list, &n);
	assert_int_equal(kdc_snapshot_build(&pol, list, n, 1, &a), LETHE_OK);
	alice = find_in(list, n, "alice@" T_REALM);
	alice->kind = STORE_KIND_SERVICE;
	svc = find_in(list, n, T_SERVICE "@" T_REALM);
	svc->keys[0].kind = STORE_KEY_TEMPORARY;
	assert_int_equal(kdc_snapshot_build(&pol, list, n, 2, &b), LETHE_OK);
	assert_int_equal(kdc_snapshot_keys_derived(b), alice->nkeys + 1);
	assert_ptr_not_equal(kdc_snapshot_lookup_str(a, "alice@" T_REALM)->keys[0].key,
	    kdc_snapshot_lookup_str(b, "alice@" T_REALM)->keys[0].key);
	assert_ptr_not_equal(kdc_snapshot_lookup_str(a, T_SERVICE "@" T_REALM)->keys[0].key,
	    kdc_snapshot_lookup_str(b, T_SERVICE "@" T_REALM)->keys[0].key);
	assert_ptr_equal(kdc_snapshot_lookup_str(a, T_SERVICE "@" T_REALM)->keys[1].key,
	    kdc_snapshot_lookup_str(b, T_SERVICE "@" T_REALM)->keys[1].key);
	kdc_snapshot_free(b);
	kdc_snapshot_free(a);
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	t_realm_principals_free(list, n);
}

/* A failed build releases what it took; the live snapshot keeps its keys. */
static void
test_rebuild_failure_releases(void **state)
{
	store_realm_policy pol;
	store_principal *list;
	kdc_snapshot *a, *b = NULL;
	size_t n, total_a;

	(void)state;
	t_realm_principals(&pol, &list, &n);
	assert_int_equal(kdc_snapshot_build(&pol, list, n, 1, &a), LETHE_OK);
	total_a = kdc_snapshot_live_keys();
	/* The last principal gets a key longer than any enctype's: refused. */
	list[n - 1].keys[0].key_len = STORE_MAX_KEY_LEN + 1;
	assert_int_not_equal(kdc_snapshot_build(&pol, list, n, 2, &b), LETHE_OK);
	assert_null(b);
	assert_int_equal(kdc_snapshot_live_keys(), total_a);
	assert_non_null(kdc_snapshot_lookup_str(a, "alice@" T_REALM)->keys[0].key);
	kdc_snapshot_free(a);
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	t_realm_principals_free(list, n);
}

/* Builders on two threads share and release concurrently (ASan/TSan). */
typedef struct {
	const store_realm_policy *pol;
	const store_principal *list;
	size_t n;
	size_t shared;
} builder_arg;

static void *
builder(void *arg)
{
	builder_arg *ba = arg;
	kdc_snapshot *prev = NULL, *snap;

	for (int i = 0; i < 40; i++) {
		if (kdc_snapshot_build(ba->pol, ba->list, ba->n, (uint64_t)i, &snap) != LETHE_OK)
			break;
		ba->shared += kdc_snapshot_keys_shared(snap);
		kdc_snapshot_free(prev);
		prev = snap;
	}
	kdc_snapshot_free(prev);
	kc_thread_cleanup();
	return NULL;
}

static void
test_rebuild_two_threads(void **state)
{
	store_realm_policy pol;
	store_principal *list;
	pthread_t t1, t2;
	builder_arg a1, a2;
	size_t n;

	(void)state;
	t_realm_principals(&pol, &list, &n);
	a1 = (builder_arg){ &pol, list, n, 0 };
	a2 = a1;
	assert_int_equal(pthread_create(&t1, NULL, builder, &a1), 0);
	assert_int_equal(pthread_create(&t2, NULL, builder, &a2), 0);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(pthread_join(t2, NULL), 0);
	/* 39 rebuilds each shared every key of the one before. */
	assert_true(a1.shared >= 39 * 10 && a2.shared >= 39 * 10);
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	t_realm_principals_free(list, n);
}

/* From a real store: the same principals, the store's generation. */
static void
test_load_from_store(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300];
	store_realm_policy pol;
	store_principal *list;
	store_master_key mk;
	store *s;
	kdc_snapshot *snap;
	uint64_t gen;
	size_t n;
	const kdc_principal *p;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/lethe-test-kdc-XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/realm.db", dir);
	assert_int_equal(store_master_key_generate(&mk), LETHE_OK);
	t_realm_principals(&pol, &list, &n);
	assert_int_equal(store_create(path, &mk, &pol, &s, NULL, 0, NULL), LETHE_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_principal_add(s, &list[i]), LETHE_OK);
	assert_int_equal(kdc_snapshot_load(s, &snap), LETHE_OK);
	assert_int_equal(store_generation(s, &gen), LETHE_OK);
	assert_int_equal(kdc_snapshot_generation(snap), gen);
	assert_int_equal(kdc_snapshot_count(snap), n);
	assert_int_equal(kdc_snapshot_skipped(snap), 0);
	p = kdc_snapshot_lookup_str(snap, "frank@" T_REALM);
	assert_non_null(p);
	assert_lb_str(p->keys[0].salt, T_FRANK_SALT);
	assert_true(lbytes_ct_eq(kc_key_bytes(p->keys[0].key),
	    lbytes_make(list[n - 2].keys[0].key, list[n - 2].keys[0].key_len)));
	assert_non_null(kdc_snapshot_tgs(snap));
	kdc_snapshot_free(snap);
	store_close(s);
	store_master_key_wipe(&mk);
	t_realm_principals_free(list, n);
	store_remove(path);
	assert_int_equal(rmdir(dir), 0);
}

/* Reloads from a store: a registration-like change derives one key, shares the rest. */
static void
test_reload_from_store_shares(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[300];
	store_realm_policy pol;
	store_principal *list, extra;
	store_master_key mk;
	store *s;
	kdc_snapshot *a, *b;
	size_t n, total_a;
	const kdc_principal *pa, *pb;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/lethe-test-kdc-XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/realm.db", dir);
	assert_int_equal(store_master_key_generate(&mk), LETHE_OK);
	t_realm_principals(&pol, &list, &n);
	assert_int_equal(store_create(path, &mk, &pol, &s, NULL, 0, NULL), LETHE_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_principal_add(s, &list[i]), LETHE_OK);
	assert_int_equal(kdc_snapshot_load(s, &a), LETHE_OK);
	total_a = kdc_snapshot_keys_derived(a);
	assert_int_equal(kdc_snapshot_keys_shared(a), 0);
	assert_int_equal(kdc_snapshot_live_keys(), total_a);
	/* Nothing changed: everything shared. */
	assert_int_equal(kdc_snapshot_load(s, &b), LETHE_OK);
	assert_int_equal(kdc_snapshot_keys_derived(b), 0);
	assert_int_equal(kdc_snapshot_keys_shared(b), total_a);
	kdc_snapshot_free(b);
	/* One new principal with one key. */
	extra = list[n - 1];
	extra.name = "grace@" T_REALM;
	extra.keys[0].key[0] ^= 1;
	assert_int_equal(store_principal_add(s, &extra), LETHE_OK);
	extra.keys[0].key[0] ^= 1;
	assert_int_equal(kdc_snapshot_load(s, &b), LETHE_OK);
	assert_int_equal(kdc_snapshot_keys_derived(b), 1);
	assert_int_equal(kdc_snapshot_keys_shared(b), total_a);
	assert_int_equal(kdc_snapshot_live_keys(), total_a + 1);
	pa = kdc_snapshot_lookup_str(a, "alice@" T_REALM);
	pb = kdc_snapshot_lookup_str(b, "alice@" T_REALM);
	assert_ptr_equal(pa->keys[0].key, pb->keys[0].key);
	kdc_snapshot_free(a);
	pb = kdc_snapshot_lookup_str(b, "grace@" T_REALM);
	assert_non_null(pb);
	extra.keys[0].key[0] ^= 1;
	assert_key_works(pb->keys[0].key, &extra.keys[0], KRB_KU_AS_REP_ENC_PART);
	extra.keys[0].key[0] ^= 1;
	pb = kdc_snapshot_lookup_str(b, "alice@" T_REALM);
	assert_key_works(pb->keys[1].key, &find_in(list, n, "alice@" T_REALM)->keys[1],
	    KRB_KU_AS_REP_ENC_PART);
	kdc_snapshot_free(b);
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	store_close(s);
	store_master_key_wipe(&mk);
	t_realm_principals_free(list, n);
	store_remove(path);
	assert_int_equal(rmdir(dir), 0);
}


/* A store in a fresh temporary folder with the fixture's realm. */
typedef struct store_fx {
	char dir[256];
	char path[300];
	store_master_key mk;
	store *s;
	store_principal *list;
	size_t n;
} store_fx;

static void
store_fx_open(store_fx *f)
{
	const char *tmp = getenv("TMPDIR");
	store_realm_policy pol;

	snprintf(f->dir, sizeof(f->dir), "%s/lethe-test-kdc-XXXXXX", tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/realm.db", f->dir);
	assert_int_equal(store_master_key_generate(&f->mk), LETHE_OK);
	t_realm_principals(&pol, &f->list, &f->n);
	assert_int_equal(store_create(f->path, &f->mk, &pol, &f->s, NULL, 0, NULL), LETHE_OK);
	for (size_t i = 0; i < f->n; i++)
		assert_int_equal(store_principal_add(f->s, &f->list[i]), LETHE_OK);
}

static void
store_fx_close(store_fx *f)
{
	store_close(f->s);
	store_master_key_wipe(&f->mk);
	t_realm_principals_free(f->list, f->n);
	store_remove(f->path);
	assert_int_equal(rmdir(f->dir), 0);
}

/* Apply: the changed principal is read again, the rest shared, the base untouched. */
static void
test_apply_changes_only(void **state)
{
	store_fx f;
	kdc_snapshot *a, *b, *c, *none;
	kdc_snapshot_apply_stats st;
	store_principal extra;
	store_key newkey;
	uint64_t gen;
	uint32_t kvno;
	const kdc_principal *pa, *pb;

	(void)state;
	store_fx_open(&f);
	assert_int_equal(kdc_snapshot_load(f.s, &a), LETHE_OK);
	/* Nothing changed: nothing to apply. */
	assert_int_equal(kdc_snapshot_apply(f.s, a, 64, &none, &st), LETHE_OK);
	assert_null(none);
	/* alice's password changes, grace arrives, frank leaves. */
	newkey = find_in(f.list, f.n, "alice@" T_REALM)->keys[0];
	newkey.key[0] ^= 0x5a;
	assert_int_equal(store_principal_rekey(f.s, "alice@" T_REALM, &newkey, 1, &kvno),
	    LETHE_OK);
	extra = f.list[f.n - 1];
	extra.name = "grace@" T_REALM;
	assert_int_equal(store_principal_add(f.s, &extra), LETHE_OK);
	assert_int_equal(store_principal_delete(f.s, "frank@" T_REALM), LETHE_OK);
	assert_int_equal(kdc_snapshot_apply(f.s, a, 64, &b, &st), LETHE_OK);
	assert_non_null(b);
	assert_false(st.full);
	assert_int_equal(st.replaced, 2);
	assert_int_equal(st.removed, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(store_generation(f.s, &gen), LETHE_OK);
	assert_int_equal(kdc_snapshot_generation(b), gen);
	assert_int_equal(kdc_snapshot_count(b), kdc_snapshot_count(a));
	/* Unchanged principals are the very same objects. */
	pa = kdc_snapshot_lookup_str(a, "bob@" T_REALM);
	pb = kdc_snapshot_lookup_str(b, "bob@" T_REALM);
	assert_non_null(pa);
	assert_ptr_equal(pa, pb);
	assert_ptr_equal(kdc_snapshot_tgs(a), kdc_snapshot_tgs(b));
	/* The changed one is new in b and as it was in a. */
	pb = kdc_snapshot_lookup_str(b, "alice@" T_REALM);
	pa = kdc_snapshot_lookup_str(a, "alice@" T_REALM);
	assert_ptr_not_equal(pa, pb);
	assert_int_equal(pb->keys[0].kvno, kvno);
	assert_true(pa->keys[0].kvno < kvno);
	assert_key_works(pb->keys[0].key, &newkey, KRB_KU_AS_REP_ENC_PART);
	assert_null(kdc_snapshot_lookup_str(b, "frank@" T_REALM));
	assert_non_null(kdc_snapshot_lookup_str(a, "frank@" T_REALM));
	assert_non_null(kdc_snapshot_lookup_str(b, "grace@" T_REALM));
	assert_null(kdc_snapshot_lookup_str(a, "grace@" T_REALM));
	/* The base may go first; b keeps what it shares. */
	kdc_snapshot_free(a);
	pb = kdc_snapshot_lookup_str(b, "bob@" T_REALM);
	assert_non_null(pb);
	assert_key_works(pb->keys[0].key, &find_in(f.list, f.n, "bob@" T_REALM)->keys[0],
	    KRB_KU_AS_REP_ENC_PART);
	/* A chain of applies, then the last one alone. */
	assert_int_equal(store_principal_set_attributes(f.s, "bob@" T_REALM,
	    STORE_ATTR_DISABLED, 0), LETHE_OK);
	assert_int_equal(kdc_snapshot_apply(f.s, b, 64, &c, &st), LETHE_OK);
	assert_int_equal(st.replaced, 1);
	assert_true(kdc_snapshot_lookup_str(c, "bob@" T_REALM)->attributes &
	    STORE_ATTR_DISABLED);
	assert_false(kdc_snapshot_lookup_str(b, "bob@" T_REALM)->attributes &
	    STORE_ATTR_DISABLED);
	kdc_snapshot_free(b);
	assert_non_null(kdc_snapshot_lookup_str(c, "grace@" T_REALM));
	kdc_snapshot_free(c);
	assert_int_equal(kdc_snapshot_live_keys(), 0);
	store_fx_close(&f);
}

/* More changes than the caller takes at once: a full load, same result. */
static void
test_apply_many_changes_full(void **state)
{
	store_fx f;
	kdc_snapshot *a, *b;
	kdc_snapshot_apply_stats st;
	store_principal extra;
	char name[64];

	(void)state;
	store_fx_open(&f);
	assert_int_equal(kdc_snapshot_load(f.s, &a), LETHE_OK);
	extra = f.list[f.n - 1];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "u%d@" T_REALM, i);
		extra.name = name;
		assert_int_equal(store_principal_add(f.s, &extra), LETHE_OK);
	}
	assert_int_equal(kdc_snapshot_apply(f.s, a, 4, &b, &st), LETHE_OK);
	assert_true(st.full);
	assert_int_equal(kdc_snapshot_count(b), kdc_snapshot_count(a) + 5);
	kdc_snapshot_free(a);
	kdc_snapshot_free(b);
	store_fx_close(&f);
}

/* One principal the store cannot hand over keeps its state; the others move on. */
static void
test_apply_unreadable_principal(void **state)
{
	store_fx f;
	kdc_snapshot *a, *b, *c;
	kdc_snapshot_apply_stats st;
	store_key *many;
	size_t half = STORE_MAX_KEYS / 2 + 10;
	store_principal extra;
	const kdc_principal *p;

	(void)state;
	store_fx_open(&f);
	assert_int_equal(kdc_snapshot_load(f.s, &a), LETHE_OK);
	/* More key rows than a principal may be read with, in two additions. */
	many = calloc(half, sizeof(*many));
	assert_non_null(many);
	for (size_t round = 0; round < 2; round++) {
		for (size_t i = 0; i < half; i++) {
			many[i] = (store_key){ .kvno = (uint32_t)(100 + round * half + i),
				.enctype = 18, .key_len = 32, .kind = STORE_KEY_LONG_TERM };
			many[i].key[0] = (uint8_t)i;
		}
		assert_int_equal(store_keys_add(f.s, "bob@" T_REALM, many, half), LETHE_OK);
	}
	free(many);
	extra = f.list[f.n - 1];
	extra.name = "grace@" T_REALM;
	assert_int_equal(store_principal_add(f.s, &extra), LETHE_OK);
	assert_int_equal(kdc_snapshot_apply(f.s, a, 64, &b, &st), LETHE_OK);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.replaced, 1);
	p = kdc_snapshot_lookup_str(b, "bob@" T_REALM);
	assert_ptr_equal(p, kdc_snapshot_lookup_str(a, "bob@" T_REALM));
	assert_non_null(kdc_snapshot_lookup_str(b, "grace@" T_REALM));
	/* A full load leaves bob out and serves the rest. */
	assert_int_equal(kdc_snapshot_load(f.s, &c), LETHE_OK);
	assert_null(kdc_snapshot_lookup_str(c, "bob@" T_REALM));
	assert_non_null(kdc_snapshot_lookup_str(c, "grace@" T_REALM));
	assert_int_equal(kdc_snapshot_skipped(c), 1);
	kdc_snapshot_free(a);
	kdc_snapshot_free(b);
	kdc_snapshot_free(c);
	store_fx_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_counts),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_keys_and_salts),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_load_from_store),
		cmocka_unit_test(test_rebuild_shares_unchanged_keys),
		cmocka_unit_test(test_rebuild_kind_changed),
		cmocka_unit_test(test_rebuild_failure_releases),
		cmocka_unit_test(test_rebuild_two_threads),
		cmocka_unit_test(test_reload_from_store_shares),
		cmocka_unit_test(test_apply_changes_only),
		cmocka_unit_test(test_apply_many_changes_full),
		cmocka_unit_test(test_apply_unreadable_principal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
