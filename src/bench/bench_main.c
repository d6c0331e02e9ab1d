/*
 * lethe-bench: a Kerberos load generator. It speaks standard Kerberos
 * (AS with encrypted timestamp, TGS with a TGT), so it measures any KDC.
 */
#include "base/wipe.h"
#include "bench/bench.h"
#include "bench/bench_modes.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include <openssl/crypto.h>

#define PASSWORD_MAX 1024
#define MIT_TICKET_LIFETIME 86400   /* kinit's default: ticket_lifetime 1 day */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: lethe-bench --kdc HOST:PORT --realm R --principal P --password-file F\n"
	    "                   [--mode as|tgs] [--service S] [--transport udp|tcp]\n"
	    "                   [--inflight N] [--requests N | --seconds S] [--threads T]\n"
	    "                   [--sample K] [--timeout-ms MS] [--shape lethe|mit]\n"
	    "                   [--json] [--quiet]\n"
	    "       lethe-bench --mode register|verify|kmp-sa|kmp-forged|populate|propagate --help\n"
	    "  --mode as      AS-REQ with PA-ENC-TIMESTAMP (default)\n"
	    "  --mode tgs     TGS-REQ for --service (default krbtgt/REALM) with one TGT\n"
	    "  --inflight N   requests in flight at once (default 16), split over threads\n"
	    "  --sample K     decrypt and verify every K-th reply fully (default 1: all)\n"
	    "  --seconds S    run for S seconds (default 5); replies still due at the end\n"
	    "                 are not counted\n"
	    "  --requests N   send N requests (retries after a loss count), then stop\n"
	    "  --timeout-ms   a request unanswered this long counts as lost (default 2000)\n"
	    "  --shape mit    send what MIT kinit/kvno send (PA-FX-COOKIE, PA-AS-FRESHNESS,\n"
	    "                 PA-REQ-ENC-PA-REP, 8 etypes; TGS subkey, canonicalize);\n"
	    "                 default lethe: PA-ENC-TIMESTAMP alone, 4 etypes, no subkey\n"
	    "  --json         print one JSON line with the results\n");
}

/* Parse an unsigned decimal in [min, max]. */
static bool
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

enum opt_id {
	OPT_KDC = 256, OPT_REALM, OPT_PRINCIPAL, OPT_PWFILE, OPT_MODE, OPT_SERVICE,
	OPT_TRANSPORT, OPT_INFLIGHT, OPT_REQUESTS, OPT_SECONDS, OPT_THREADS,
	OPT_SAMPLE, OPT_TIMEOUT, OPT_JSON, OPT_QUIET, OPT_HELP, OPT_SHAPE,
};

static const struct option long_opts[] = {
	{ "kdc", required_argument, NULL, OPT_KDC },
	{ "realm", required_argument, NULL, OPT_REALM },
	{ "principal", required_argument, NULL, OPT_PRINCIPAL },
	{ "password-file", required_argument, NULL, OPT_PWFILE },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "transport", required_argument, NULL, OPT_TRANSPORT },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "shape", required_argument, NULL, OPT_SHAPE },
	{ NULL, 0, NULL, 0 },
};

/* Apply one option; false on a bad value. */
static bool
apply_opt(bench_cfg *cfg, int id, const char *arg, const char **kdc, const char **transport)
{
	uint64_t v;

	switch (id) {
	case OPT_KDC: *kdc = arg; return true;
	case OPT_REALM: cfg->realm = arg; return true;
	case OPT_PRINCIPAL: cfg->principal = arg; return true;
	case OPT_PWFILE: cfg->password_file = arg; return true;
	case OPT_SERVICE: cfg->service = arg; return true;
	case OPT_TRANSPORT: *transport = arg; return true;
	case OPT_JSON: cfg->json = true; return true;
	case OPT_QUIET: cfg->quiet = true; return true;
	case OPT_MODE:
		if (strcmp(arg, "as") == 0)
			cfg->mode = BENCH_AS;
		else if (strcmp(arg, "tgs") == 0)
			cfg->mode = BENCH_TGS;
		else
			return false;
		return true;
	case OPT_SHAPE:
		if (strcmp(arg, "lethe") == 0)
			cfg->shape = BENCH_SHAPE_LETHE;
		else if (strcmp(arg, "mit") == 0)
			cfg->shape = BENCH_SHAPE_MIT;
		else
			return false;
		return true;
	case OPT_INFLIGHT:
		if (!parse_u64(arg, 1, BENCH_MAX_INFLIGHT, &v))
			return false;
		cfg->inflight = (unsigned)v;
		return true;
	case OPT_THREADS:
		if (!parse_u64(arg, 1, BENCH_MAX_THREADS, &v))
			return false;
		cfg->threads = (unsigned)v;
		return true;
	case OPT_SAMPLE:
		if (!parse_u64(arg, 1, UINT32_MAX, &v))
			return false;
		cfg->sample = (unsigned)v;
		return true;
	case OPT_TIMEOUT:
		if (!parse_u64(arg, 1, 600000, &v))
			return false;
		cfg->timeout_ms = (int)v;
		return true;
	case OPT_REQUESTS:
		return parse_u64(arg, 1, UINT64_MAX / 2, &cfg->requests);
	case OPT_SECONDS: {
		char *end;
		errno = 0;
		cfg->seconds = strtod(arg, &end);
		return errno == 0 && end != arg && *end == '\0' && cfg->seconds > 0 &&
		       cfg->seconds <= 86400;
	}
	default:
		return false;
	}
}

/* Fill cfg from argv; exit with usage on error. */
static void
parse_args(int argc, char **argv, bench_cfg *cfg)
{
	const char *kdc = NULL, *transport = "udp";
	int id;

	*cfg = (bench_cfg){ .mode = BENCH_AS, .inflight = 16, .threads = 1, .sample = 1,
			    .seconds = 5, .timeout_ms = 2000 };
	while ((id = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (id == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		if (id == '?' || !apply_opt(cfg, id, optarg, &kdc, &transport)) {
			if (id != '?')
				fprintf(stderr, "lethe-bench: bad value for --%s: %s\n",
					long_opts[id - OPT_KDC].name, optarg);
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || kdc == NULL || cfg->realm == NULL || cfg->principal == NULL ||
	    cfg->password_file == NULL) {
		usage(stderr);
		exit(2);
	}
	if (kcl_kdc_parse(kdc, &cfg->kdc) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: cannot resolve --kdc %s\n", kdc);
		exit(2);
	}
	if (strcmp(transport, "udp") == 0) {
		cfg->kdc.transport = KCL_TRANSPORT_UDP;
	} else if (strcmp(transport, "tcp") == 0) {
		cfg->kdc.transport = KCL_TRANSPORT_TCP;
	} else {
		fprintf(stderr, "lethe-bench: --transport is udp or tcp\n");
		exit(2);
	}
	if (cfg->threads > cfg->inflight)
		cfg->threads = cfg->inflight;
}

static void
fail(const char *what, lethe_status rc, const kcl_error *err)
{
	fprintf(stderr, "lethe-bench: %s: %s", what, lethe_status_str(rc));
	if (err != NULL && err->code != 0) {
		const char *name = krb_error_code_name(err->code);
		fprintf(stderr, " (KRB-ERROR %d %s%s%s)", err->code, name ? name : "?",
			err->text[0] ? ": " : "", err->text);
	}
	fputc('\n', stderr);
	exit(1);
}

/*
 * Before the run: derive the user's key (one PREAUTH_REQUIRED round trip,
 * then an AS exchange that proves the password), and in TGS mode keep the
 * TGT it returns.
 */
static void
setup(const bench_cfg *cfg, bench_shared *sh)
{
	char password[PASSWORD_MAX];
	size_t pw_len = 0;
	kcl_as_params p = { 0 };
	kcl_error err = { 0 };
	lethe_status rc;

	sh->cfg = cfg;
	sh->as = calloc(1, sizeof(*sh->as));
	sh->tgt = calloc(1, sizeof(*sh->tgt));
	if (sh->as == NULL || sh->tgt == NULL)
		fail("set-up", LETHE_ERR_NOMEM, NULL);
	if ((rc = bench_read_password(cfg->password_file, password, sizeof(password), &pw_len)))
		fail("reading --password-file", rc, NULL);
	p.client = cfg->principal;
	p.realm = cfg->realm;
	if (cfg->shape == BENCH_SHAPE_MIT) {
		p.etypes = bench_mit_etypes;
		p.n_etypes = sizeof(bench_mit_etypes) / sizeof(bench_mit_etypes[0]);
		p.kdc_options = KRB_KDC_OPT_RENEWABLE_OK;
		p.lifetime = MIT_TICKET_LIFETIME;
		p.mit_padata = true;
	}
	if ((rc = kcl_as_init(sh->as, &p)))
		fail("principal", rc, NULL);
	rc = kcl_as_set_password(sh->as, lbytes_make(password, pw_len));
	lethe_wipe(password, sizeof(password));
	if (rc)
		fail("password", rc, NULL);
	if ((rc = kcl_get_tgt(sh->as, &cfg->kdc, sh->tgt, &err)))
		fail("initial AS exchange", rc, &err);
	if (cfg->mode == BENCH_TGS) {
		char def[300];
		snprintf(def, sizeof(def), "krbtgt/%s@%s", cfg->realm, cfg->realm);
		if ((rc = kcl_name_parse(&sh->service, cfg->service ? cfg->service : def,
					cfg->realm)))
			fail("--service", rc, NULL);
	}
}

static void
merge_stats(bench_stats *dst, const bench_stats *src)
{
	hist_merge(&dst->hist, &src->hist);
	dst->ok += src->ok;
	dst->verified += src->verified;
	dst->krb_errors += src->krb_errors;
	dst->bad += src->bad;
	dst->timeouts += src->timeouts;
	dst->io_errors += src->io_errors;
	dst->sent += src->sent;
	for (size_t i = 0; i <= BENCH_ERR_CODES; i++)
		dst->by_code[i] += src->by_code[i];
}

/* Client CPU time (user + system) of this process, in µs. */
static uint64_t
self_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
}

typedef struct bench_result {
	bench_stats total;
	double elapsed_s;
	uint64_t client_cpu_us;
} bench_result;

static void
print_errors(FILE *f, const bench_stats *t, bool json)
{
	bool first = true;

	for (size_t i = 0; i <= BENCH_ERR_CODES; i++) {
		if (t->by_code[i] == 0)
			continue;
		if (json)
			fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
				i == BENCH_ERR_CODES ? "other" : (krb_error_code_name((int32_t)i) ?
				krb_error_code_name((int32_t)i) : "unknown"), t->by_code[i]);
		else
			fprintf(f, "  KRB-ERROR %-36s %" PRIu64 "\n",
				i == BENCH_ERR_CODES ? "other" : (krb_error_code_name((int32_t)i) ?
				krb_error_code_name((int32_t)i) : "unknown"), t->by_code[i]);
		first = false;
	}
}

static void
report(const bench_cfg *cfg, const bench_result *r)
{
	const bench_stats *t = &r->total;
	double rps = r->elapsed_s > 0 ? (double)t->ok / r->elapsed_s : 0;
	uint64_t errors = t->krb_errors + t->bad + t->timeouts + t->io_errors;
	double cpu_per_req = t->ok ? (double)r->client_cpu_us / (double)t->ok : 0;
	const char *mode = cfg->mode == BENCH_AS ? "as" : "tgs";
	const char *tr = cfg->kdc.transport == KCL_TRANSPORT_TCP ? "tcp" : "udp";

	if (!cfg->quiet) {
		printf("mode %s over %s, %u in flight, %u thread(s), verify 1/%u\n",
		       mode, tr, cfg->inflight, cfg->threads, cfg->sample);
		printf("replies ok   %" PRIu64 " in %.3f s = %.0f req/s (%" PRIu64 " verified)\n",
		       t->ok, r->elapsed_s, rps, t->verified);
		printf("latency µs   p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64
		       "  max %" PRIu64 "\n", hist_percentile(&t->hist, 50),
		       hist_percentile(&t->hist, 90), hist_percentile(&t->hist, 99),
		       t->hist.max_us);
		printf("errors       %" PRIu64 " (krb %" PRIu64 ", bad %" PRIu64 ", timeouts %"
		       PRIu64 ", io %" PRIu64 ")\n", errors, t->krb_errors, t->bad,
		       t->timeouts, t->io_errors);
		print_errors(stdout, t, false);
		printf("client cpu   %.1f µs/request\n", cpu_per_req);
	}
	if (cfg->json) {
		printf("{\"mode\":\"%s\",\"transport\":\"%s\",\"inflight\":%u,\"threads\":%u,"
		       "\"sample\":%u,\"ok\":%" PRIu64 ",\"verified\":%" PRIu64 ",\"sent\":%"
		       PRIu64 ",\"seconds\":%.6f,\"rps\":%.1f,\"p50_us\":%" PRIu64
		       ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"max_us\":%" PRIu64
		       ",\"errors\":%" PRIu64 ",\"krb_errors\":%" PRIu64 ",\"bad\":%" PRIu64
		       ",\"timeouts\":%" PRIu64 ",\"io_errors\":%" PRIu64
		       ",\"client_cpu_us_per_req\":%.2f,\"error_codes\":{",
		       mode, tr, cfg->inflight, cfg->threads, cfg->sample, t->ok, t->verified,
		       t->sent, r->elapsed_s, rps, hist_percentile(&t->hist, 50),
		       hist_percentile(&t->hist, 90), hist_percentile(&t->hist, 99),
		       t->hist.max_us, errors, t->krb_errors, t->bad, t->timeouts,
		       t->io_errors, cpu_per_req);
		print_errors(stdout, t, true);
		printf("}}\n");
	}
	fflush(stdout);
}

/* Run the workers and collect their results. */
static lethe_status
run(const bench_cfg *cfg, const bench_shared *sh, bench_result *res)
{
	bench_run state = { .shared = sh };
	bench_worker *workers = calloc(cfg->threads, sizeof(*workers));
	pthread_t *tids = calloc(cfg->threads, sizeof(*tids));
	uint64_t cpu0 = self_cpu_us();
	int64_t start = bench_now_ns(), last = start;
	lethe_status rc = LETHE_OK;
	unsigned started = 0;

	atomic_init(&state.issued, 0);
	atomic_init(&state.stop, false);
	ENSURE_GOTO(rc, workers != NULL && tids != NULL, LETHE_ERR_NOMEM);
	state.end_ns = start + (int64_t)(cfg->seconds * 1e9);
	for (unsigned i = 0; i < cfg->threads; i++) {
		workers[i].run = &state;
		workers[i].slots = cfg->inflight / cfg->threads +
				   (i < cfg->inflight % cfg->threads ? 1u : 0u);
		ENSURE_GOTO(rc, pthread_create(&tids[i], NULL, bench_worker_main, &workers[i]) == 0,
			    LETHE_ERR_IO);
		started++;
	}
cleanup:
	for (unsigned i = 0; i < started; i++) {
		pthread_join(tids[i], NULL);
		if (workers[i].rc != LETHE_OK && rc == LETHE_OK)
			rc = workers[i].rc;
		merge_stats(&res->total, &workers[i].stats);
		if (workers[i].last_reply_ns > last)
			last = workers[i].last_reply_ns;
	}
	if (cfg->requests == 0)
		last = state.end_ns;
	res->elapsed_s = (double)(last - start) / 1e9;
	res->client_cpu_us = self_cpu_us() - cpu0;
	free(workers);
	free(tids);
	return rc;
}

/* The --mode value in argv ("--mode X" or "--mode=X"), or NULL. */
static const char *
mode_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--mode=", 7) == 0)
			return argv[i] + 7;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	bench_cfg cfg;
	bench_shared sh = { 0 };
	bench_result *res;
	const char *mode = mode_arg(argc, argv);
	lethe_status rc;

	if (mode != NULL && strcmp(mode, "register") == 0)
		return bench_reg_main(argc, argv);
	if (mode != NULL && strcmp(mode, "verify") == 0)
		return bench_verify_main(argc, argv);
	if (mode != NULL && (strcmp(mode, "kmp-sa") == 0 || strcmp(mode, "kmp-forged") == 0))
		return bench_kmp_main(argc, argv);
	if (mode != NULL && strcmp(mode, "populate") == 0)
		return bench_populate_main(argc, argv);
	if (mode != NULL && strcmp(mode, "propagate") == 0)
		return bench_prop_main(argc, argv);
	res = calloc(1, sizeof(*res));
	parse_args(argc, argv, &cfg);
	if (res == NULL)
		fail("set-up", LETHE_ERR_NOMEM, NULL);
	setup(&cfg, &sh);
	if ((rc = run(&cfg, &sh, res)) != LETHE_OK)
		fail("run", rc, NULL);
	report(&cfg, res);
	kcl_as_free(sh.as);
	kcl_cred_clear(sh.tgt);
	kcl_name_clear(&sh.service);
	free(sh.as);
	free(sh.tgt);
	free(res);
	return 0;
}
