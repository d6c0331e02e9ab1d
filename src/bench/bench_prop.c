/*
 * lethe-bench --mode propagate: how long a registration at one KDC's
 * registrar takes to be served by another KDC of the realm (a shared
 * PostgreSQL store). For each sample i: a registration of kvno 1 + i / P
 * of PREFIX/p<run>-<i % P>@REALM (as --mode register builds it; P
 * principals in turn, so none piles up keys), then TGS-REQs for
 * that principal to --kdc, back to back, until a ticket under the new kvno
 * comes back. The sample is the time from the RegistrationReply's arrival
 * to that ticket's arrival; its resolution is one TGS exchange. Replies
 * are verified after the sample (signature, nonce, result OK).
 */
#include "base/wipe.h"
#include "bench/bench_modes.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROP_MAX_SAMPLES 100000u
#define PROP_PASSWORD_MAX 1024u
#define PROP_WAIT_NS (30LL * 1000000000LL)  /* a sample not served in 30 s fails */

typedef struct prop_cfg {
	const char *registrar, *kdc, *realm, *cert, *key, *kdc_cert, *kdc_ca;
	const char *client, *password_file, *prefix;
	uint64_t samples, principals;
	bool json;
} prop_cfg;

static void
prop_usage(FILE *f)
{
	fprintf(f,
	    "usage: lethe-bench --mode propagate --registrar HOST:PORT --kdc HOST:PORT\n"
	    "                   --realm R --cert PEM --key PEM --kdc-cert PEM --kdc-ca PEM\n"
	    "                   --client P --password-file F [--samples N] [--principals P]\n"
	    "                   [--prefix SVC] [--json]\n"
	    "  N registrations at --registrar, of SVC/p<run>-<k>@R for k < P in turn (next\n"
	    "  kvno each); after each, asks --kdc (another KDC of the realm) for tickets,\n"
	    "  as --client, until the new kvno is served\n");
}

static int
prop_parse(int argc, char **argv, prop_cfg *cfg)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "registrar", required_argument, NULL, 'r' },
		{ "kdc", required_argument, NULL, 'k' },
		{ "realm", required_argument, NULL, 'R' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'y' },
		{ "kdc-cert", required_argument, NULL, 'K' },
		{ "kdc-ca", required_argument, NULL, 'C' },
		{ "client", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'w' },
		{ "samples", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "principals", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int id;

	*cfg = (prop_cfg){ .prefix = "bench", .samples = 200, .principals = 16 };
	optind = 1;
	while ((id = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (id) {
		case 'm': break;
		case 'r': cfg->registrar = optarg; break;
		case 'k': cfg->kdc = optarg; break;
		case 'R': cfg->realm = optarg; break;
		case 'c': cfg->cert = optarg; break;
		case 'y': cfg->key = optarg; break;
		case 'K': cfg->kdc_cert = optarg; break;
		case 'C': cfg->kdc_ca = optarg; break;
		case 'u': cfg->client = optarg; break;
		case 'w': cfg->password_file = optarg; break;
		case 'p': cfg->prefix = optarg; break;
		case 'j': cfg->json = true; break;
		case 'n':
			if (!bench_parse_u64(optarg, 1, PROP_MAX_SAMPLES, &cfg->samples))
				return 2;
			break;
		case 'P':
			if (!bench_parse_u64(optarg, 1, PROP_MAX_SAMPLES, &cfg->principals))
				return 2;
			break;
		case 'h':
			prop_usage(stdout);
			exit(0);
		default:
			return 2;
		}
	}
	if (optind != argc || cfg->registrar == NULL || cfg->kdc == NULL ||
	    cfg->realm == NULL || cfg->cert == NULL || cfg->key == NULL ||
	    cfg->kdc_cert == NULL || cfg->kdc_ca == NULL || cfg->client == NULL ||
	    cfg->password_file == NULL || strchr(cfg->prefix, '/') != NULL)
		return 2;
	return 0;
}

/* A TGT for cfg->client from cfg->kdc. */
static lethe_status
get_tgt(const prop_cfg *cfg, const kcl_kdc *kdc, kcl_cred *tgt)
{
	char password[PROP_PASSWORD_MAX];
	kcl_as_params p = { .client = cfg->client, .realm = cfg->realm };
	kcl_as_ctx as;
	kcl_error err = { 0 };
	size_t len = 0;
	lethe_status rc;

	memset(&as, 0, sizeof(as));
	GUARD(bench_read_password(cfg->password_file, password, sizeof(password), &len));
	rc = kcl_as_init(&as, &p);
	if (rc == LETHE_OK)
		rc = kcl_as_set_password(&as, lbytes_make(password, len));
	lethe_wipe(password, sizeof(password));
	if (rc == LETHE_OK)
		rc = kcl_get_tgt(&as, kdc, tgt, &err);
	kcl_as_free(&as);
	return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The sample at percentile pct of sorted[0..n) (nearest rank). */
static uint64_t
percentile(const uint64_t *sorted, uint64_t n, double pct)
{
	uint64_t rank = (uint64_t)((pct / 100.0) * (double)n + 0.999999);

	return sorted[rank == 0 ? 0 : (rank > n ? n - 1 : rank - 1)];
}

/*
 * One sample: register kvno at the registrar, then ask kdc for tickets
 * until one comes under kvno; *us is the time between the two arrivals,
 * *tries the TGS exchanges it took.
 */
static lethe_status
one_sample(const prop_cfg *cfg, const bench_reg_keys *keys, const lethe_sockaddr *reg,
    const kcl_kdc *kdc, const kcl_cred *tgt, const char *principal, uint32_t kvno,
    uint64_t *us, uint64_t *tries)
{
	uint8_t nonce[REG_NONCE_LEN], *req = NULL, *reply = NULL;
	size_t req_len = 0, reply_len = 0;
	kcl_name server;
	kcl_tgs_params p = { 0 };
	int64_t t_reply, t_now = 0;
	int result = REG_INTERNAL;
	lethe_status rc;

	memset(&server, 0, sizeof(server));
	*tries = 0;
	GUARD_GOTO(rc, kcl_name_parse(&server, principal, cfg->realm));
	p.server = &server;
	GUARD_GOTO(rc, bench_reg_build(keys, principal, kvno, (int64_t)time(NULL), nonce,
	    &req, &req_len));
	GUARD_GOTO(rc, reg_client_exchange_addr(reg, req, req_len, REG_DEFAULT_TIMEOUT_MS,
	    &reply, &reply_len));
	t_reply = bench_mono_ns();
	for (;;) {
		kcl_cred cred;
		kcl_error err = { 0 };
		lethe_status got;

		memset(&cred, 0, sizeof(cred));
		got = kcl_get_service_ticket(kdc, tgt, &p, &cred, &err);
		t_now = bench_mono_ns();
		(*tries)++;
		if (got == LETHE_OK && cred.ticket_kvno == kvno) {
			kcl_cred_clear(&cred);
			break;
		}
		kcl_cred_clear(&cred);
		ENSURE_GOTO(rc, t_now - t_reply < PROP_WAIT_NS, LETHE_ERR_NOT_FOUND);
	}
	*us = (uint64_t)(t_now - t_reply) / 1000u;
	/* Checked after the sample, so the check does not delay the first TGS-REQ. */
	GUARD_GOTO(rc, bench_reg_check(keys, nonce, reply, reply_len, (int64_t)time(NULL),
	    &result));
	ENSURE_GOTO(rc, result == REG_OK, LETHE_ERR_INVALID_ARG);
cleanup:
	kcl_name_clear(&server);
	free(req);
	free(reply);
	return rc;
}

int
bench_prop_main(int argc, char **argv)
{
	prop_cfg cfg;
	reg_identity *id = NULL;
	X509 *kdc_cert = NULL;
	X509_STORE *kdc_ca = NULL;
	bench_reg_keys keys;
	lethe_sockaddr reg;
	kcl_kdc kdc;
	kcl_cred tgt;
	uint64_t *samples = NULL, tries = 0, total_tries = 0;
	char principal[REG_MAX_NAME_LEN + 1];
	uint32_t run_id = 0;
	uint64_t k;
	int64_t t0;
	int ex = 1, n;
	lethe_status rc = LETHE_OK;

	memset(&tgt, 0, sizeof(tgt));
	if (prop_parse(argc, argv, &cfg) != 0) {
		prop_usage(stderr);
		return 2;
	}
	if (reg_parse_endpoint(cfg.registrar, &reg) != LETHE_OK ||
	    kcl_kdc_parse(cfg.kdc, &kdc) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: --registrar, --kdc: HOST:PORT\n");
		return 2;
	}
	if (reg_identity_load_pem(cfg.cert, cfg.key, &id) != LETHE_OK ||
	    reg_cert_load_pem(cfg.kdc_cert, &kdc_cert) != LETHE_OK ||
	    reg_trust_add_file(&kdc_ca, cfg.kdc_ca) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: cannot load --cert/--key, --kdc-cert or --kdc-ca\n");
		goto cleanup;
	}
	keys = (bench_reg_keys){ id, kdc_cert, kdc_ca, 18, 3600, 3600 };
	if ((rc = get_tgt(&cfg, &kdc, &tgt)) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: a TGT for --client: %s\n", lethe_status_str(rc));
		goto cleanup;
	}
	samples = calloc(cfg.samples, sizeof(*samples));
	if (samples == NULL || kc_random_bytes((uint8_t *)&run_id, sizeof(run_id)) != LETHE_OK)
		goto cleanup;
	t0 = bench_mono_ns();
	for (uint64_t i = 0; i < cfg.samples; i++) {
		k = i % cfg.principals;
		n = snprintf(principal, sizeof(principal), "%s/p%08" PRIx32 "-%" PRIu64 "@%s",
		    cfg.prefix, run_id, k, cfg.realm);
		if (n <= 0 || (size_t)n >= sizeof(principal))
			goto cleanup;
		rc = one_sample(&cfg, &keys, &reg, &kdc, &tgt, principal,
		    (uint32_t)(1 + i / cfg.principals), &samples[i], &tries);
		if (rc != LETHE_OK) {
			fprintf(stderr, "lethe-bench: sample %" PRIu64 " (%s): %s\n", i + 1,
			    principal, lethe_status_str(rc));
			goto cleanup;
		}
		total_tries += tries;
	}
	qsort(samples, cfg.samples, sizeof(*samples), cmp_u64);
	if (cfg.json)
		printf("{\"mode\":\"propagate\",\"samples\":%" PRIu64 ",\"p50_us\":%" PRIu64
		    ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"max_us\":%" PRIu64
		    ",\"tgs_per_sample\":%.2f,\"seconds\":%.2f}\n", cfg.samples,
		    percentile(samples, cfg.samples, 50), percentile(samples, cfg.samples, 90),
		    percentile(samples, cfg.samples, 99), samples[cfg.samples - 1],
		    (double)total_tries / (double)cfg.samples,
		    (double)(bench_mono_ns() - t0) / 1e9);
	else
		printf("propagation of %" PRIu64 " registrations at %s to %s: p50 %" PRIu64
		    " µs, p90 %" PRIu64 " µs, p99 %" PRIu64 " µs, max %" PRIu64 " µs "
		    "(%.2f TGS exchanges per sample)\n", cfg.samples, cfg.registrar, cfg.kdc,
		    percentile(samples, cfg.samples, 50), percentile(samples, cfg.samples, 90),
		    percentile(samples, cfg.samples, 99), samples[cfg.samples - 1],
		    (double)total_tries / (double)cfg.samples);
	ex = 0;
cleanup:
	free(samples);
	kcl_cred_clear(&tgt);
	reg_identity_free(id);
	X509_free(kdc_cert);
	X509_STORE_free(kdc_ca);
	return ex;
}
