/*
 * lethe-bench --mode verify: the acceptor's cost for a ticket under a
 * temporary key (RFC 3961 decryption) and for a public-key ticket (CMS
 * AuthEnvelopedData opened with the service's private key). Local: the
 * tickets are made once with liblethe, as lethe-kdc seals them, then
 * acc_verify_ap_req runs on fresh authenticators. Only the verify calls
 * are timed; the AP-REQs are built in batches between them.
 */
#include "bench/bench_modes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keytab/keytab.h"

#define VERIFY_BATCH 256u
#define VERIFY_REQ_MAX 16384u
#define VERIFY_LIFE (10 * 3600)
#define VERIFY_MAX_REQUESTS 4000000u
#define VERIFY_MAX_RUNS 15u

static const char *const kind_name[2] = { "verify-tk", "verify-pubkey" };

/* A keytab at path holding key for BENCH_SERVICE under BENCH_TK_KVNO. */
static lethe_status
write_keytab(const char *path, const kc_key *key)
{
	kt_keytab *kt = NULL;
	kt_principal p;
	lethe_status rc;

	memset(&p, 0, sizeof(p));
	GUARD_GOTO(rc, kt_new(&kt));
	GUARD_GOTO(rc, kt_principal_parse(BENCH_SERVICE, strlen(BENCH_SERVICE), NULL, &p));
	GUARD_GOTO(rc, kt_add(kt, &p, BENCH_TK_KVNO, kc_key_enctype(key), 0, kc_key_bytes(key)));
	rc = kt_save(kt, path);
cleanup:
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

static lethe_status
make_creds(bench_verify_fx *fx, int32_t enctype)
{
	bench_ticket_spec spec = {
		.client = BENCH_CLIENT, .service = BENCH_SERVICE, .kvno = BENCH_TK_KVNO,
		.session_enctype = enctype, .now = (int64_t)time(NULL), .life = VERIFY_LIFE,
	};

	spec.service_key = &fx->tk;
	GUARD(bench_ticket_make(&spec, &fx->cred[BENCH_TICKET_TK]));
	spec.service_key = NULL;
	spec.cert = reg_identity_cert(fx->identity);
	spec.kdc_signer = fx->kdc;
	return bench_ticket_make(&spec, &fx->cred[BENCH_TICKET_PUBKEY]);
}

lethe_status
bench_verify_fx_new(reg_identity *identity, int32_t tk_enctype, size_t rcache,
    const char *tmpdir, bench_verify_fx **out)
{
	bench_verify_fx *fx = calloc(1, sizeof(*fx));
	const char *servers[1] = { BENCH_SERVICE };
	X509 *kdc_cert;
	acc_params ap;
	lethe_status rc;

	ENSURE_GOTO(rc, fx != NULL, LETHE_ERR_NOMEM);
	if (tmpdir == NULL)
		tmpdir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	ENSURE_GOTO(rc, strlen(tmpdir) < 200, LETHE_ERR_INVALID_ARG);
	snprintf(fx->dir, sizeof(fx->dir), "%s/lethe-bench.XXXXXX", tmpdir);
	if (mkdtemp(fx->dir) == NULL) {
		fx->dir[0] = '\0';
		rc = LETHE_ERR_IO;
		goto cleanup;
	}
	snprintf(fx->keytab, sizeof(fx->keytab), "%s/tk.keytab", fx->dir);
	GUARD_GOTO(rc, kc_key_generate(&fx->tk, tk_enctype));
	GUARD_GOTO(rc, write_keytab(fx->keytab, &fx->tk));
	if (identity == NULL)
		GUARD_GOTO(rc, bench_identity_generate("bench/server.lethe.test", &identity));
	fx->identity = identity;
	identity = NULL;
	GUARD_GOTO(rc, bench_identity_generate("bench KDC", &fx->kdc));
	kdc_cert = reg_identity_cert(fx->kdc);
	GUARD_GOTO(rc, make_creds(fx, tk_enctype));
	memset(&ap, 0, sizeof(ap));
	ap.keytab_path = fx->keytab;
	ap.servers = servers;
	ap.n_servers = 1;
	ap.rcache_max_entries = rcache;
	ap.pubkey_identity = fx->identity;
	ap.pubkey_kdc_certs = &kdc_cert;
	ap.n_pubkey_kdc_certs = 1;
	GUARD_GOTO(rc, acc_ctx_new(&ap, &fx->acc));
	*out = fx;
	fx = NULL;
cleanup:
	reg_identity_free(identity);
	bench_verify_fx_free(fx);
	return rc;
}

void
bench_verify_fx_free(bench_verify_fx *fx)
{
	if (fx == NULL)
		return;
	acc_ctx_free(fx->acc);
	kcl_cred_clear(&fx->cred[0]);
	kcl_cred_clear(&fx->cred[1]);
	reg_identity_free(fx->identity);
	reg_identity_free(fx->kdc);
	kc_key_clear(&fx->tk);
	if (fx->keytab[0] != '\0')
		(void)unlink(fx->keytab);
	if (fx->dir[0] != '\0')
		(void)rmdir(fx->dir);
	free(fx);
}

lethe_status
bench_verify_ap_req(const bench_verify_fx *fx, enum bench_ticket_kind kind, der_writer *w)
{
	kcl_ap_params p;
	kcl_ap_state st;
	lethe_status rc;

	memset(&p, 0, sizeof(p));
	memset(&st, 0, sizeof(st));
	der_writer_reset(w);
	rc = kcl_ap_req_build(&fx->cred[kind], &p, &st, w);
	kcl_ap_state_clear(&st);
	return rc;
}

/* A batch of n fresh AP-REQs of kind into reqs[i], lens[i] (len each at most cap). */
static lethe_status
build_batch(const bench_verify_fx *fx, enum bench_ticket_kind kind, size_t n, der_writer *w,
    uint8_t (*reqs)[VERIFY_REQ_MAX], size_t *lens)
{
	for (size_t i = 0; i < n; i++) {
		lbytes req;
		GUARD(bench_verify_ap_req(fx, kind, w));
		req = der_written(w);
		ENSURE(req.len <= VERIFY_REQ_MAX, LETHE_ERR_TOO_BIG);
		memcpy(reqs[i], req.data, req.len);
		lens[i] = req.len;
	}
	return LETHE_OK;
}

/* Verify reqs[0..n) one by one, timing each call. */
static void
verify_batch(acc_ctx *acc, uint8_t (*reqs)[VERIFY_REQ_MAX], const size_t *lens, size_t n,
    bench_series *s, acc_reason *last_refusal)
{
	uint64_t cpu0 = bench_cpu_us();

	for (size_t i = 0; i < n; i++) {
		acc_verified v;
		acc_error err;
		int64_t t0 = bench_mono_ns(), t1;

		(void)acc_verify_ap_req(acc, reqs[i], lens[i], &v, &err);
		t1 = bench_mono_ns();
		acc_verified_clear(&v);
		s->elapsed_ns += t1 - t0;
		if (err.reason == ACC_ACCEPTED) {
			s->ok++;
			hist_add(&s->hist, (uint64_t)(t1 - t0) / 1000u);
		} else {
			s->failed++;
			*last_refusal = err.reason;
		}
	}
	s->cpu_us += bench_cpu_us() - cpu0;
}

lethe_status
bench_verify_run(acc_ctx *acc, const bench_verify_fx *fx, enum bench_ticket_kind kind,
    uint64_t n, bench_series *s, acc_reason *last_refusal)
{
	uint8_t (*reqs)[VERIFY_REQ_MAX] = malloc(VERIFY_BATCH * sizeof(*reqs));
	size_t lens[VERIFY_BATCH];
	der_writer w;
	lethe_status rc = LETHE_OK;

	memset(s, 0, sizeof(*s));
	s->mode = kind_name[kind];
	*last_refusal = ACC_ACCEPTED;
	ENSURE(reqs != NULL, LETHE_ERR_NOMEM);
	der_writer_init(&w, VERIFY_REQ_MAX);
	while (n > 0) {
		size_t batch = n < VERIFY_BATCH ? (size_t)n : VERIFY_BATCH;
		GUARD_GOTO(rc, build_batch(fx, kind, batch, &w, reqs, lens));
		verify_batch(acc, reqs, lens, batch, s, last_refusal);
		n -= batch;
	}
cleanup:
	der_writer_free(&w);
	free(reqs);
	return rc;
}

/* ------------------------------------------------------------ the mode */

typedef struct verify_cfg {
	uint64_t requests;
	uint64_t runs;
	int32_t enctype;
	const char *cert, *key;
	bool json;
} verify_cfg;

static void
verify_usage(FILE *f)
{
	fprintf(f,
	    "usage: lethe-bench --mode verify [--requests N] [--runs R] [--enctype E]\n"
	    "                   [--cert PEM --key PEM] [--json]\n"
	    "  acc_verify_ap_req on fresh authenticators: a ticket under a temporary\n"
	    "  key (enctype E, default 18) and a public-key ticket sealed to the\n"
	    "  service certificate (--cert/--key, default a P-256 key made now);\n"
	    "  R runs (default 3) of N verifications (default 20000) each, alternated;\n"
	    "  medians and the ratio public-key / temporary key.\n");
}

static int
verify_parse(int argc, char **argv, verify_cfg *cfg)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "requests", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },
		{ "enctype", required_argument, NULL, 'e' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int id;

	*cfg = (verify_cfg){ .requests = 20000, .runs = 3, .enctype = 18 };
	optind = 1;
	while ((id = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (id) {
		case 'm': break;
		case 'n':
			if (!bench_parse_u64(optarg, 1, VERIFY_MAX_REQUESTS, &cfg->requests))
				return 2;
			break;
		case 'r':
			if (!bench_parse_u64(optarg, 1, VERIFY_MAX_RUNS, &cfg->runs))
				return 2;
			break;
		case 'e':
			if (!bench_parse_u64(optarg, 17, 20, &v))
				return 2;
			cfg->enctype = (int32_t)v;
			break;
		case 'c': cfg->cert = optarg; break;
		case 'k': cfg->key = optarg; break;
		case 'j': cfg->json = true; break;
		case 'h': verify_usage(stdout); exit(0);
		default: return 2;
		}
	}
	if (optind != argc || (cfg->cert == NULL) != (cfg->key == NULL))
		return 2;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* µs of CPU per good operation. */
static double
cpu_each(const bench_series *s)
{
	return s->ok > 0 ? (double)s->cpu_us / (double)s->ok : 0;
}

/*
 * R alternated runs of both kinds; prints each run and the medians of
 * the wall time and of the CPU time per verification (on a shared
 * machine the CPU figure is the steadier one).
 */
static int
verify_measure(const verify_cfg *cfg, bench_verify_fx *fx)
{
	double us[2][VERIFY_MAX_RUNS], cpu[2][VERIFY_MAX_RUNS];
	double med[2], medc[2];

	for (uint64_t r = 0; r < cfg->runs; r++) {
		for (int kind = 0; kind < 2; kind++) {
			bench_series s;
			acc_reason why;
			lethe_status rc = bench_verify_run(fx->acc, fx, (enum bench_ticket_kind)kind,
			    cfg->requests, &s, &why);
			if (rc != LETHE_OK || s.failed > 0) {
				fprintf(stderr, "lethe-bench: verify: %s, %llu refused (last: %s)\n",
				    lethe_status_str(rc), (unsigned long long)s.failed,
				    acc_reason_str(why));
				return 1;
			}
			bench_series_print(&s, cfg->json, NULL);
			us[kind][r] = bench_series_us_each(&s);
			cpu[kind][r] = cpu_each(&s);
		}
	}
	for (int kind = 0; kind < 2; kind++) {
		med[kind] = median(us[kind], (size_t)cfg->runs);
		medc[kind] = median(cpu[kind], (size_t)cfg->runs);
	}
	if (cfg->json)
		printf("{\"mode\":\"verify\",\"runs\":%llu,\"tk_us_each\":%.3f,"
		       "\"pubkey_us_each\":%.3f,\"ratio\":%.2f,\"tk_cpu_us_each\":%.3f,"
		       "\"pubkey_cpu_us_each\":%.3f,\"cpu_ratio\":%.2f}\n",
		       (unsigned long long)cfg->runs, med[0], med[1], med[1] / med[0], medc[0],
		       medc[1], medc[1] / medc[0]);
	else
		printf("median of %llu runs: temporary key %.2f µs (%.0f/s, cpu %.2f µs), "
		       "public key %.2f µs (%.0f/s, cpu %.2f µs); public key / temporary key "
		       "= %.1f (cpu %.1f)\n", (unsigned long long)cfg->runs, med[0],
		       1e6 / med[0], medc[0], med[1], 1e6 / med[1], medc[1], med[1] / med[0],
		       medc[1] / medc[0]);
	return 0;
}

int
bench_verify_main(int argc, char **argv)
{
	verify_cfg cfg;
	reg_identity *id = NULL;
	bench_verify_fx *fx = NULL;
	uint64_t total;
	lethe_status rc;
	int ex;

	if (verify_parse(argc, argv, &cfg) != 0) {
		verify_usage(stderr);
		return 2;
	}
	if (cfg.cert != NULL && (rc = reg_identity_load_pem(cfg.cert, cfg.key, &id))) {
		fprintf(stderr, "lethe-bench: --cert/--key: %s\n", lethe_status_str(rc));
		return 1;
	}
	/* The replay cache holds every authenticator of every run. */
	total = cfg.requests * cfg.runs * 2 + 16;
	if (total > ACC_MAX_RCACHE_ENTRIES) {
		fprintf(stderr, "lethe-bench: --requests × --runs × 2 over the replay cache's "
		    "%u entries\n", ACC_MAX_RCACHE_ENTRIES);
		reg_identity_free(id);
		return 2;
	}
	rc = bench_verify_fx_new(id, cfg.enctype, (size_t)total, NULL, &fx);
	if (rc != LETHE_OK) {
		fprintf(stderr, "lethe-bench: verify set-up: %s\n", lethe_status_str(rc));
		return 1;
	}
	ex = verify_measure(&cfg, fx);
	bench_verify_fx_free(fx);
	return ex;
}
