/* The KDC snapshot: building, lookup, keys and salts, and loading from a store. */
#include "test_kdc_fixture.h"

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
	/* foreign + empty name left out; the duplicate bob indexed once; one rc4 key. */
	assert_int_equal(kdc_snapshot_count(snap), n + 1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_counts),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_keys_and_salts),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_load_from_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
