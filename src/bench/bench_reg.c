/*
 * lethe-bench --mode register: registrations against lethe-kdc's
 * registrar. Every request is distinct (a fresh random key under a fresh
 * kvno, sealed to the KDC certificate, a fresh nonce, signed with the
 * server identity) and every reply is verified (signature chaining to the
 * KDC CA, signer = the KDC certificate's key, nonce, result OK).
 *
 * The requests are built before the clock starts and the replies checked
 * after it stops, so the figure is the registrar's (network included),
 * not the bench's own signing and verifying. Principals are
 * PREFIX/r<run>-<k>@REALM for k < --principals, new in every run, so
 * kvnos start at 1 and no principal accumulates keys across runs.
 */
#include "bench/bench_modes.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"

#define REG_BENCH_MAX_REQUESTS 100000u
#define REG_BENCH_MAX_THREADS 64u
#define REG_BENCH_MAX_PRINCIPALS 100000u

lethe_status
bench_reg_build(const bench_reg_keys *k, const char *principal, uint32_t kvno, int64_t now,
    uint8_t nonce[REG_NONCE_LEN], uint8_t **der, size_t *der_len)
{
	const kc_enctype *et;
	reg_sealed_keys sk;
	reg_request req;
	uint8_t *sealed = NULL, *content = NULL;
	size_t sealed_len = 0, content_len = 0;
	lethe_status rc;

	memset(&sk, 0, sizeof(sk));
	memset(&req, 0, sizeof(req));
	ENSURE(strlen(principal) <= REG_MAX_NAME_LEN, LETHE_ERR_INVALID_ARG);
	GUARD(kc_enctype_lookup(k->enctype, &et));
	ENSURE(et->key_len <= REG_MAX_KEY_LEN, LETHE_ERR_INVALID_ARG);
	sk.keys[0].kvno = kvno;
	sk.keys[0].enctype = k->enctype;
	sk.keys[0].key_len = et->key_len;
	sk.nkeys = 1;
	GUARD_GOTO(rc, kc_random_bytes(sk.keys[0].key, et->key_len));
	GUARD_GOTO(rc, reg_seal_keys(k->kdc_cert, &sk, &sealed, &sealed_len));
	memcpy(req.principal, principal, strlen(principal) + 1);
	GUARD_GOTO(rc, kc_random_bytes(req.nonce, REG_NONCE_LEN));
	req.timestamp = now;
	req.keys[0] = (reg_key_window){ kvno, k->enctype, now + k->use_s,
	    now + k->use_s + k->accept_s };
	req.nkeys = 1;
	req.sealed_keys = lbytes_make(sealed, sealed_len);
	GUARD_GOTO(rc, reg_request_encode(&req, &content, &content_len));
	GUARD_GOTO(rc, reg_sign(k->signer, REG_CT_REQUEST, content, content_len, der, der_len));
	memcpy(nonce, req.nonce, REG_NONCE_LEN);
cleanup:
	reg_sealed_keys_clear(&sk);
	free(sealed);
	free(content);
	return rc;
}

lethe_status
bench_reg_check(const bench_reg_keys *k, const uint8_t nonce[REG_NONCE_LEN],
    const uint8_t *der, size_t len, int64_t now, int *result)
{
	reg_trust trust = { k->kdc_ca, NULL, 0 };
	char kdc_spki[REG_SPKI_HEX_LEN + 1];
	enum reg_result verdict = REG_INTERNAL;
	reg_verified v;
	reg_reply reply;
	lethe_status rc = LETHE_OK;

	memset(&v, 0, sizeof(v));
	GUARD(reg_spki_sha256_hex(k->kdc_cert, kdc_spki));
	GUARD(reg_verify(der, len, REG_CT_REPLY, &trust, now, &v, &verdict));
	ENSURE_GOTO(rc, verdict == REG_OK && strcmp(v.signer_spki, kdc_spki) == 0,
	    LETHE_ERR_BAD_INTEGRITY);
	ENSURE_GOTO(rc, reg_reply_decode(v.content, v.content_len, &reply) == LETHE_OK,
	    LETHE_ERR_FORMAT);
	ENSURE_GOTO(rc, CRYPTO_memcmp(reply.nonce, nonce, REG_NONCE_LEN) == 0,
	    LETHE_ERR_NOT_FOUND);
	*result = reply.result;
cleanup:
	reg_verified_clear(&v);
	return rc;
}

/* ------------------------------------------------------------ the mode */

typedef struct reg_cfg {
	const char *registrar, *realm, *cert, *key, *kdc_cert, *kdc_ca;
	const char *prefix;
	uint64_t requests, threads, principals;
	int32_t enctype;
	unsigned timeout_ms;
	bool json;
} reg_cfg;

/* One registration: built before the run, exchanged during it, checked after. */
typedef struct reg_job {
	uint8_t *req;
	size_t req_len;
	uint8_t nonce[REG_NONCE_LEN];
	uint8_t *reply;
	size_t reply_len;
	lethe_status io;
	int io_errno;
	uint64_t us;
} reg_job;

typedef struct reg_run {
	lethe_sockaddr addr;
	unsigned timeout_ms;
	reg_job *jobs;
	uint64_t njobs;
	_Atomic uint64_t next;
} reg_run;

static void
reg_usage(FILE *f)
{
	fprintf(f,
	    "usage: lethe-bench --mode register --registrar HOST:PORT --realm R\n"
	    "                   --cert PEM --key PEM --kdc-cert PEM --kdc-ca PEM\n"
	    "                   [--requests N] [--inflight T] [--principals P]\n"
	    "                   [--prefix SVC] [--enctype E] [--timeout-ms MS] [--json]\n"
	    "  N registrations (default 1000), T at a time (default 1), spread over P\n"
	    "  new principals SVC/r<run>-<k>@R (default 16, SVC bench): the server\n"
	    "  identity must be allowed to register them (lethe-admin allow).\n");
}

static bool
reg_apply(reg_cfg *cfg, int id, const char *arg)
{
	uint64_t v;

	switch (id) {
	case 'm': return true;
	case 'a': cfg->registrar = arg; return true;
	case 'R': cfg->realm = arg; return true;
	case 'c': cfg->cert = arg; return true;
	case 'k': cfg->key = arg; return true;
	case 'K': cfg->kdc_cert = arg; return true;
	case 'C': cfg->kdc_ca = arg; return true;
	case 'p': cfg->prefix = arg; return true;
	case 'j': cfg->json = true; return true;
	case 'n': return bench_parse_u64(arg, 1, REG_BENCH_MAX_REQUESTS, &cfg->requests);
	case 'i': return bench_parse_u64(arg, 1, REG_BENCH_MAX_THREADS, &cfg->threads);
	case 'P': return bench_parse_u64(arg, 1, REG_BENCH_MAX_PRINCIPALS, &cfg->principals);
	case 'e':
		if (!bench_parse_u64(arg, 17, 20, &v))
			return false;
		cfg->enctype = (int32_t)v;
		return true;
	case 't':
		if (!bench_parse_u64(arg, 1, 600000, &v))
			return false;
		cfg->timeout_ms = (unsigned)v;
		return true;
	default:
		return false;
	}
}

static int
reg_parse(int argc, char **argv, reg_cfg *cfg)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "registrar", required_argument, NULL, 'a' },
		{ "realm", required_argument, NULL, 'R' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "kdc-cert", required_argument, NULL, 'K' },
		{ "kdc-ca", required_argument, NULL, 'C' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "requests", required_argument, NULL, 'n' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "principals", required_argument, NULL, 'P' },
		{ "enctype", required_argument, NULL, 'e' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int id;

	*cfg = (reg_cfg){ .prefix = "bench", .requests = 1000, .threads = 1, .principals = 16,
	    .enctype = 18, .timeout_ms = REG_DEFAULT_TIMEOUT_MS };
	optind = 1;
	while ((id = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (id == 'h') {
			reg_usage(stdout);
			exit(0);
		}
		if (!reg_apply(cfg, id, optarg))
			return 2;
	}
	if (optind != argc || cfg->registrar == NULL || cfg->realm == NULL ||
	    cfg->cert == NULL || cfg->key == NULL || cfg->kdc_cert == NULL ||
	    cfg->kdc_ca == NULL || strchr(cfg->prefix, '/') != NULL)
		return 2;
	return 0;
}

typedef struct reg_material {
	reg_identity *id;
	X509 *kdc_cert;
	X509_STORE *kdc_ca;
	bench_reg_keys keys;
} reg_material;

static void
material_free(reg_material *m)
{
	reg_identity_free(m->id);
	X509_free(m->kdc_cert);
	X509_STORE_free(m->kdc_ca);
	memset(m, 0, sizeof(*m));
}

static lethe_status
material_load(const reg_cfg *cfg, reg_material *m)
{
	lethe_status rc;

	memset(m, 0, sizeof(*m));
	if ((rc = reg_identity_load_pem(cfg->cert, cfg->key, &m->id)) != LETHE_OK)
		fprintf(stderr, "lethe-bench: --cert/--key: %s\n", lethe_status_str(rc));
	else if ((rc = reg_cert_load_pem(cfg->kdc_cert, &m->kdc_cert)) != LETHE_OK)
		fprintf(stderr, "lethe-bench: --kdc-cert: %s\n", lethe_status_str(rc));
	else if ((rc = reg_trust_add_file(&m->kdc_ca, cfg->kdc_ca)) != LETHE_OK)
		fprintf(stderr, "lethe-bench: --kdc-ca: %s\n", lethe_status_str(rc));
	m->keys = (bench_reg_keys){ m->id, m->kdc_cert, m->kdc_ca, cfg->enctype, 3600, 3600 };
	return rc;
}

static void
jobs_free(reg_job *jobs, uint64_t n)
{
	for (uint64_t i = 0; jobs != NULL && i < n; i++) {
		free(jobs[i].req);
		free(jobs[i].reply);
	}
	free(jobs);
}

/* Every request of the run, for principals PREFIX/r<run>-<i % P>, kvno 1 + i / P. */
static lethe_status
build_jobs(const reg_cfg *cfg, const reg_material *m, reg_job *jobs, uint64_t *build_us)
{
	uint32_t run_id;
	int64_t now = (int64_t)time(NULL), t0 = bench_mono_ns();
	char principal[REG_MAX_NAME_LEN + 1];

	GUARD(kc_random_bytes((uint8_t *)&run_id, sizeof(run_id)));
	for (uint64_t i = 0; i < cfg->requests; i++) {
		int n = snprintf(principal, sizeof(principal), "%s/r%08" PRIx32 "-%" PRIu64 "@%s",
		    cfg->prefix, run_id, i % cfg->principals, cfg->realm);
		ENSURE(n > 0 && (size_t)n < sizeof(principal), LETHE_ERR_INVALID_ARG);
		GUARD(bench_reg_build(&m->keys, principal, (uint32_t)(1 + i / cfg->principals),
		    now, jobs[i].nonce, &jobs[i].req, &jobs[i].req_len));
	}
	*build_us = (uint64_t)(bench_mono_ns() - t0) / 1000u;
	return LETHE_OK;
}

static void *
reg_worker(void *arg)
{
	reg_run *run = arg;
	uint64_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->njobs) {
		reg_job *j = &run->jobs[i];
		int64_t t0 = bench_mono_ns();
		errno = 0;
		j->io = reg_client_exchange_addr(&run->addr, j->req, j->req_len, run->timeout_ms,
		    &j->reply, &j->reply_len);
		j->io_errno = errno;
		j->us = (uint64_t)(bench_mono_ns() - t0) / 1000u;
	}
	return NULL;
}

/* The timed part: T threads exchanging the prepared requests. */
static lethe_status
exchange_all(const reg_cfg *cfg, reg_run *run, bench_series *s)
{
	pthread_t tids[REG_BENCH_MAX_THREADS];
	uint64_t started = 0, cpu0 = bench_cpu_us();
	int64_t t0 = bench_mono_ns();
	lethe_status rc = LETHE_OK;

	for (; started < cfg->threads; started++) {
		if (pthread_create(&tids[started], NULL, reg_worker, run) != 0) {
			rc = LETHE_ERR_IO;
			break;
		}
	}
	for (uint64_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	s->elapsed_ns = bench_mono_ns() - t0;
	s->cpu_us = bench_cpu_us() - cpu0;
	return rc;
}

/* Check every reply after the run; counts by result. */
static void
check_all(const reg_material *m, reg_job *jobs, uint64_t n, bench_series *s,
    uint64_t by_result[REG_RESULT_COUNT], uint64_t *bad, uint64_t *io, uint64_t *check_us)
{
	int64_t now = (int64_t)time(NULL), t0 = bench_mono_ns();

	for (uint64_t i = 0; i < n; i++) {
		int result = REG_INTERNAL;
		if (jobs[i].io != LETHE_OK) {
			if ((*io)++ == 0)
				fprintf(stderr, "lethe-bench: exchange: %s: %s\n",
				    lethe_status_str(jobs[i].io), strerror(jobs[i].io_errno));
			continue;
		}
		if (bench_reg_check(&m->keys, jobs[i].nonce, jobs[i].reply, jobs[i].reply_len,
		    now, &result) != LETHE_OK) {
			(*bad)++;
			continue;
		}
		if (result >= 0 && result < REG_RESULT_COUNT)
			by_result[result]++;
		if (result == REG_OK) {
			s->ok++;
			hist_add(&s->hist, jobs[i].us);
		}
	}
	s->failed = n - s->ok;
	*check_us = (uint64_t)(bench_mono_ns() - t0) / 1000u;
}

static void
reg_report(const reg_cfg *cfg, const bench_series *s, const uint64_t *by_result,
    uint64_t bad, uint64_t io, uint64_t build_us, uint64_t check_us)
{
	char extra[256];

	snprintf(extra, sizeof(extra), ",\"inflight\":%" PRIu64 ",\"principals\":%" PRIu64
	    ",\"bad_replies\":%" PRIu64 ",\"io_errors\":%" PRIu64 ",\"build_us_each\":%.1f,"
	    "\"check_us_each\":%.1f", cfg->threads, cfg->principals, bad, io,
	    (double)build_us / (double)cfg->requests, (double)check_us / (double)cfg->requests);
	if (!cfg->json) {
		printf("registrations to %s, %" PRIu64 " at a time, %" PRIu64 " principals\n",
		    cfg->registrar, cfg->threads, cfg->principals);
		for (int r = 1; r < REG_RESULT_COUNT; r++)
			if (by_result[r] > 0)
				printf("  refused %-16s %" PRIu64 "\n", reg_result_str(r),
				    by_result[r]);
		if (bad > 0 || io > 0)
			printf("  bad replies %" PRIu64 ", exchanges failed %" PRIu64 "\n", bad, io);
		printf("  bench: building %.1f µs, checking a reply %.1f µs (not timed)\n",
		    (double)build_us / (double)cfg->requests,
		    (double)check_us / (double)cfg->requests);
	}
	bench_series_print(s, cfg->json, extra);
}

int
bench_reg_main(int argc, char **argv)
{
	reg_cfg cfg;
	reg_material m;
	reg_run run;
	bench_series s;
	uint64_t by_result[REG_RESULT_COUNT] = { 0 }, bad = 0, io = 0, build_us = 0, check_us = 0;
	int ex = 1;
	lethe_status rc;

	if (reg_parse(argc, argv, &cfg) != 0) {
		reg_usage(stderr);
		return 2;
	}
	memset(&run, 0, sizeof(run));
	memset(&s, 0, sizeof(s));
	s.mode = "register";
	if (reg_parse_endpoint(cfg.registrar, &run.addr) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: --registrar: a numeric HOST:PORT\n");
		return 2;
	}
	if (material_load(&cfg, &m) != LETHE_OK)
		goto cleanup;
	run.jobs = calloc(cfg.requests, sizeof(*run.jobs));
	run.njobs = cfg.requests;
	run.timeout_ms = cfg.timeout_ms;
	atomic_init(&run.next, 0);
	if (run.jobs == NULL || (rc = build_jobs(&cfg, &m, run.jobs, &build_us)) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: building the requests failed\n");
		goto cleanup;
	}
	if (exchange_all(&cfg, &run, &s) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: cannot start the threads\n");
		goto cleanup;
	}
	check_all(&m, run.jobs, run.njobs, &s, by_result, &bad, &io, &check_us);
	reg_report(&cfg, &s, by_result, bad, io, build_us, check_us);
	ex = 0;
cleanup:
	jobs_free(run.jobs, run.njobs);
	material_free(&m);
	return ex;
}
