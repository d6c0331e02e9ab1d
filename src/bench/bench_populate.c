/*
 * lethe-bench --mode populate: fill a store with many principals quickly,
 * for measuring a KDC at realm scale (bench/scale.sh). Users get one
 * random long-term key per realm enctype (as lethe-admin add-user makes a
 * key per enctype, but from RAND_bytes instead of a password, so no
 * PBKDF2), services the same with add-service's attributes. Batches of
 * principals go into the store through store_principal_add_many(): one
 * transaction (and one fsync) per batch, each key sealed under the master
 * key as any other.
 */
#include "bench/bench_modes.h"
#include "base/wipe.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "store/store.h"

#define POPULATE_MAX 10000000u     /* principals in one run */
#define POPULATE_BATCH 5000u       /* principals per transaction */
#define POPULATE_NAME_MAX 128u

/* One batch being built: names, keys and the principals pointing at them. */
typedef struct populate_batch {
	store_principal p[POPULATE_BATCH];
	store_key keys[POPULATE_BATCH][STORE_MAX_ENCTYPES];
	char names[POPULATE_BATCH][POPULATE_NAME_MAX];
} populate_batch;

/*
 * Fill b->p[i] as principal number k of kind (users "PREFIXk@REALM",
 * services "host/PREFIXk.bench.lethe.test@REALM") with a random key of
 * each of the policy's enctypes, kvno 1.
 */
static lethe_status
populate_one(populate_batch *b, size_t i, const store_realm_policy *pol,
    const char *prefix, uint64_t k, bool user)
{
	const kc_enctype *et;
	store_principal *p = &b->p[i];
	int n;

	if (user)
		n = snprintf(b->names[i], POPULATE_NAME_MAX, "%s%" PRIu64 "@%s", prefix, k,
		    pol->realm);
	else
		n = snprintf(b->names[i], POPULATE_NAME_MAX, "host/%s%" PRIu64
		    ".bench.lethe.test@%s", prefix, k, pol->realm);
	ENSURE(n > 0 && (size_t)n < POPULATE_NAME_MAX, LETHE_ERR_INVALID_ARG);
	memset(p, 0, sizeof(*p));
	p->name = b->names[i];
	p->kind = user ? STORE_KIND_USER : STORE_KIND_SERVICE;
	/* What lethe-admin add-user and add-service give. */
	p->attributes = user ? STORE_ATTR_DEFAULT_USER : STORE_ATTR_DEFAULT_SERVICE;
	p->keys = b->keys[i];
	p->nkeys = pol->nenctypes;
	for (size_t e = 0; e < pol->nenctypes; e++) {
		store_key *key = &b->keys[i][e];

		memset(key, 0, sizeof(*key));
		GUARD(kc_enctype_lookup(pol->enctypes[e], &et));
		ENSURE(et->key_len <= STORE_MAX_KEY_LEN, LETHE_ERR_INVALID_ARG);
		key->kvno = 1;
		key->enctype = pol->enctypes[e];
		key->key_len = et->key_len;
		key->kind = STORE_KEY_LONG_TERM;
		GUARD(kc_random_bytes(key->key, key->key_len));
	}
	return LETHE_OK;
}

/*
 * Add users principals then services ones to st, numbered from 0, in
 * batches of POPULATE_BATCH (one transaction each). *batches counts the
 * transactions.
 */
static lethe_status
populate_run(store *st, const char *prefix, uint64_t users, uint64_t services,
    uint64_t *batches)
{
	store_realm_policy pol;
	populate_batch *b = NULL;
	uint64_t total = users + services, done = 0;
	lethe_status rc;

	*batches = 0;
	GUARD(store_realm_policy_get(st, &pol));
	b = calloc(1, sizeof(*b));
	ENSURE(b != NULL, LETHE_ERR_NOMEM);
	while (done < total) {
		size_t n = 0;

		for (; n < POPULATE_BATCH && done + n < total; n++) {
			uint64_t k = done + n;
			bool user = k < users;

			GUARD_GOTO(rc, populate_one(b, n, &pol, prefix, user ? k : k - users,
			    user));
		}
		GUARD_GOTO(rc, store_principal_add_many(st, b->p, n));
		done += n;
		(*batches)++;
	}
	rc = LETHE_OK;
cleanup:
	if (b != NULL)
		lethe_wipe(b->keys, sizeof(b->keys));
	free(b);
	return rc;
}

static void
populate_usage(FILE *f)
{
	fprintf(f,
	    "usage: lethe-bench --mode populate --store PATH --master-key-file F --count N\n"
	    "                   [--services M] [--prefix P] [--json]\n"
	    "  adds N principals to the store: N - M users PREFIXk@REALM and M services\n"
	    "  host/PREFIXk.bench.lethe.test@REALM (default prefix \"u\"), each with one\n"
	    "  random key per realm enctype, %u per transaction\n", POPULATE_BATCH);
}

enum populate_opt {
	POP_MODE = 256, POP_STORE, POP_MKEY, POP_COUNT, POP_SERVICES, POP_PREFIX, POP_JSON,
	POP_HELP,
};

static const struct option populate_opts[] = {
	{ "mode", required_argument, NULL, POP_MODE },
	{ "store", required_argument, NULL, POP_STORE },
	{ "master-key-file", required_argument, NULL, POP_MKEY },
	{ "count", required_argument, NULL, POP_COUNT },
	{ "services", required_argument, NULL, POP_SERVICES },
	{ "prefix", required_argument, NULL, POP_PREFIX },
	{ "json", no_argument, NULL, POP_JSON },
	{ "help", no_argument, NULL, POP_HELP },
	{ NULL, 0, NULL, 0 },
};

int
bench_populate_main(int argc, char **argv)
{
	const char *path = NULL, *mkey_file = NULL, *prefix = "u";
	uint64_t count = 0, services = 0, batches = 0, cpu0;
	int64_t t0, t1;
	store_master_key mk;
	store *st = NULL;
	char err[256] = "";
	bool json = false;
	lethe_status rc;
	int c, ex = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", populate_opts, NULL)) != -1) {
		switch (c) {
		case POP_MODE: break;
		case POP_STORE: path = optarg; break;
		case POP_MKEY: mkey_file = optarg; break;
		case POP_PREFIX: prefix = optarg; break;
		case POP_JSON: json = true; break;
		case POP_HELP: populate_usage(stdout); return 0;
		case POP_COUNT:
			if (!bench_parse_u64(optarg, 1, POPULATE_MAX, &count))
				goto usage;
			break;
		case POP_SERVICES:
			if (!bench_parse_u64(optarg, 0, POPULATE_MAX, &services))
				goto usage;
			break;
		default: goto usage;
		}
	}
	if (optind != argc || path == NULL || mkey_file == NULL || count == 0 ||
	    services > count || strlen(prefix) > 32)
		goto usage;
	rc = store_master_key_load(mkey_file, &mk);
	if (rc != LETHE_OK) {
		fprintf(stderr, "lethe-bench: cannot read the master key %s: %s\n", mkey_file,
		    lethe_status_str(rc));
		return 1;
	}
	rc = store_open(path, &mk, &st, err, sizeof(err), NULL);
	store_master_key_wipe(&mk);
	if (rc != LETHE_OK) {
		fprintf(stderr, "lethe-bench: cannot open %s: %s\n", path, err);
		return 1;
	}
	t0 = bench_mono_ns();
	cpu0 = bench_cpu_us();
	rc = populate_run(st, prefix, count - services, services, &batches);
	t1 = bench_mono_ns();
	if (rc != LETHE_OK)
		fprintf(stderr, "lethe-bench: populate: %s (%s)\n", lethe_status_str(rc),
		    store_errmsg(st));
	else {
		double s = (double)(t1 - t0) / 1e9;

		if (json)
			printf("{\"mode\":\"populate\",\"principals\":%" PRIu64 ",\"users\":%"
			    PRIu64 ",\"services\":%" PRIu64 ",\"transactions\":%" PRIu64
			    ",\"seconds\":%.3f,\"cpu_us_each\":%.3f}\n", count,
			    count - services, services, batches, s,
			    (double)(bench_cpu_us() - cpu0) / (double)count);
		else
			printf("populate: %" PRIu64 " principals (%" PRIu64 " users, %" PRIu64
			    " services) in %" PRIu64 " transactions, %.3f s\n", count,
			    count - services, services, batches, s);
		ex = 0;
	}
	store_close(st);
	return ex;
usage:
	populate_usage(stderr);
	return 2;
}
