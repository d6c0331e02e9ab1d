/*
 * lethe-bench --mode kmp-sa / kmp-forged: the key-management engines in
 * one process over an in-memory wire (as the kmp tests drive them), with
 * a real acceptor (keytab, replay cache) and real tickets.
 *
 * kmp-sa: every round wakes N clients and runs each exchange to its end
 * (Wake Up or Rekey, AP Request, AP Reply, SA Recovered). SAs per second
 * count both roles' work; the server's share is timed on its own.
 *
 * kmp-forged: N clients are woken (their Wake Ups are lost), then the
 * server receives well-formed, HMAC-sealed AP Requests from those clients
 * whose nonce is wrong. Each must be dropped before any cryptography
 * (the acceptor's decrypt counters must not move). Compared with full
 * acc_verify_ap_req calls on the same kind of ticket.
 *
 * The engines get a fake monotonic clock that only moves between rounds:
 * nothing is retransmitted or expires while a round runs; wall time is
 * measured apart.
 */
#include "bench/bench_modes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "keytab/keytab.h"
#include "kmp/kmp_role.h"

#define KMP_BENCH_MAX_CLIENTS 4096u
#define KMP_BENCH_MAX_ROUNDS 100000u
#define KMP_BENCH_MAX_FORGED 100000000u
#define KMP_BENCH_POOL 1024u
#define KMP_BENCH_MSG_MAX 8192u
#define KMP_BENCH_SPI 0x4000u
#define KMP_BENCH_RCACHE (1u << 20)   /* authenticators the acceptor remembers */

typedef struct wire_msg {
	kmp_peer from, to;
	uint8_t *data;
	size_t len;
} wire_msg;

typedef struct endpoint {
	bench_kmp *b;
	kmp_peer self;
} endpoint;

struct bench_kmp {
	char dir[256];
	char keytab[300];
	kc_key service_key;
	acc_ctx *acc;
	kcl_cred cred;              /* handed out (copied) to every client */
	kmp_server *srv;
	endpoint srv_end;
	size_t nclients;
	kmp_client **cli;
	endpoint *cli_end;
	wire_msg *q;                /* the wire: FIFO, q[head..count) pending */
	size_t head, count, cap;
	int64_t now_ms;             /* the engines' clock */
	int64_t server_ns;          /* time inside the server engine */
	lethe_status wire_rc;       /* first failure to queue a message */
};

static void
peer_of(size_t k, bool server, kmp_peer *out)
{
	uint8_t a[4] = { 10, server ? 0 : 1, (uint8_t)(k >> 8), (uint8_t)k };

	(void)kmp_peer_set(out, a, sizeof(a));
}

static lethe_status
wire_send(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	endpoint *e = ctx;
	bench_kmp *b = e->b;
	wire_msg *m;

	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		wire_msg *q = realloc(b->q, cap * sizeof(*q));
		if (q == NULL) {
			b->wire_rc = LETHE_ERR_NOMEM;
			return LETHE_ERR_NOMEM;
		}
		b->q = q;
		b->cap = cap;
	}
	m = &b->q[b->count];
	m->data = malloc(len);
	if (m->data == NULL) {
		b->wire_rc = LETHE_ERR_NOMEM;
		return LETHE_ERR_NOMEM;
	}
	memcpy(m->data, msg, len);
	m->len = len;
	m->from = e->self;
	m->to = *to;
	b->count++;
	return LETHE_OK;
}

static lethe_status
wire_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	return kc_random_bytes(out, len);
}

static int64_t
wire_unix(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

/* Forget every pending message. */
static void
wire_drop(bench_kmp *b)
{
	for (size_t i = b->head; i < b->count; i++)
		free(b->q[i].data);
	b->head = b->count = 0;
}

/* Deliver pending messages (and the ones they cause) until the wire is quiet. */
static void
wire_pump(bench_kmp *b)
{
	while (b->head < b->count) {
		wire_msg m = b->q[b->head++];
		const uint8_t *a = m.to.addr;
		if (kmp_peer_eq(&m.to, &b->srv_end.self)) {
			int64_t t0 = bench_mono_ns();
			kmp_server_receive(b->srv, &m.from, m.data, m.len, b->now_ms);
			b->server_ns += bench_mono_ns() - t0;
		} else if (m.to.len == 4 && a[1] == 1 &&
		    ((size_t)a[2] << 8 | a[3]) < b->nclients) {
			kmp_client_receive(b->cli[(size_t)a[2] << 8 | a[3]], &m.from, m.data,
			    m.len, b->now_ms);
		}
		free(m.data);
	}
	b->head = b->count = 0;
}

static lethe_status
get_cred(void *ctx, const char *principal, bool refresh, kcl_cred *cred)
{
	bench_kmp *b = ctx;

	(void)refresh;
	ENSURE(strcmp(principal, BENCH_SERVICE) == 0, LETHE_ERR_NOT_FOUND);
	return bench_cred_copy(&b->cred, cred);
}

/* Keytab with a fresh service key, the acceptor, the ticket clients use. */
static lethe_status
kmp_keys(bench_kmp *b, const char *tmpdir, size_t rcache)
{
	bench_ticket_spec spec = { .client = BENCH_CLIENT, .service = BENCH_SERVICE,
	    .kvno = BENCH_TK_KVNO, .session_enctype = 18, .now = (int64_t)time(NULL),
	    .life = 10 * 3600 };
	kt_keytab *kt = NULL;
	kt_principal p;
	acc_params ap;
	lethe_status rc;

	memset(&p, 0, sizeof(p));
	ENSURE(strlen(tmpdir) < 200, LETHE_ERR_INVALID_ARG);
	snprintf(b->dir, sizeof(b->dir), "%s/lethe-bench.XXXXXX", tmpdir);
	if (mkdtemp(b->dir) == NULL) {
		b->dir[0] = '\0';
		return LETHE_ERR_IO;
	}
	snprintf(b->keytab, sizeof(b->keytab), "%s/kmp.keytab", b->dir);
	GUARD_GOTO(rc, kc_key_generate(&b->service_key, 18));
	GUARD_GOTO(rc, kt_new(&kt));
	GUARD_GOTO(rc, kt_principal_parse(BENCH_SERVICE, strlen(BENCH_SERVICE), NULL, &p));
	GUARD_GOTO(rc, kt_add(kt, &p, BENCH_TK_KVNO, 18, 0, kc_key_bytes(&b->service_key)));
	GUARD_GOTO(rc, kt_save(kt, b->keytab));
	spec.service_key = &b->service_key;
	GUARD_GOTO(rc, bench_ticket_make(&spec, &b->cred));
	memset(&ap, 0, sizeof(ap));
	ap.keytab_path = b->keytab;
	ap.rcache_max_entries = rcache;
	rc = acc_ctx_new(&ap, &b->acc);
cleanup:
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

static lethe_status
kmp_engines(bench_kmp *b)
{
	kmp_server_config sc;
	kmp_client_config cc;
	kmp_io io = { NULL, wire_send, wire_random, wire_unix, NULL };

	memset(&sc, 0, sizeof(sc));
	sc.principal = BENCH_SERVICE;
	sc.doi = KMP_DOI_IPSEC;
	sc.ack_required = true;
	sc.max_clients = b->nclients;
	b->srv_end = (endpoint){ b, { 0 } };
	peer_of(0, true, &b->srv_end.self);
	io.ctx = &b->srv_end;
	GUARD(kmp_server_new(&sc, &io, b->acc, &b->srv));
	for (size_t k = 0; k < b->nclients; k++) {
		memset(&cc, 0, sizeof(cc));
		cc.doi = KMP_DOI_IPSEC;
		cc.server = b->srv_end.self;
		cc.principal = BENCH_SERVICE;
		cc.get_cred = get_cred;
		cc.get_cred_ctx = b;
		b->cli_end[k].b = b;
		peer_of(k, false, &b->cli_end[k].self);
		io.ctx = &b->cli_end[k];
		GUARD(kmp_client_new(&cc, &io, &b->cli[k]));
	}
	return LETHE_OK;
}

lethe_status
bench_kmp_new(size_t nclients, const char *tmpdir, bench_kmp **out)
{
	bench_kmp *b = calloc(1, sizeof(*b));
	lethe_status rc;

	ENSURE_GOTO(rc, b != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, nclients >= 1 && nclients <= KMP_BENCH_MAX_CLIENTS,
	    LETHE_ERR_INVALID_ARG);
	if (tmpdir == NULL)
		tmpdir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	b->nclients = nclients;
	b->cli = calloc(nclients, sizeof(*b->cli));
	b->cli_end = calloc(nclients, sizeof(*b->cli_end));
	ENSURE_GOTO(rc, b->cli != NULL && b->cli_end != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kmp_keys(b, tmpdir, KMP_BENCH_RCACHE));
	GUARD_GOTO(rc, kmp_engines(b));
	*out = b;
	b = NULL;
cleanup:
	bench_kmp_free(b);
	return rc;
}

void
bench_kmp_free(bench_kmp *b)
{
	if (b == NULL)
		return;
	wire_drop(b);
	free(b->q);
	for (size_t k = 0; b->cli != NULL && k < b->nclients; k++)
		kmp_client_free(b->cli[k]);
	free(b->cli);
	free(b->cli_end);
	kmp_server_free(b->srv);
	acc_ctx_free(b->acc);
	kcl_cred_clear(&b->cred);
	kc_key_clear(&b->service_key);
	if (b->keytab[0] != '\0')
		(void)unlink(b->keytab);
	if (b->dir[0] != '\0')
		(void)rmdir(b->dir);
	free(b);
}

void
bench_kmp_server_stats(const bench_kmp *b, uint64_t *accepted, uint64_t *dropped_nonce,
    uint64_t *dropped_other)
{
	kmp_server_stats st;

	kmp_server_stats_get(b->srv, &st);
	*accepted = st.sa_recovered;
	*dropped_nonce = st.dropped_nonce;
	*dropped_other = st.dropped_other;
}

/* Wake every client (the Wake Ups or Rekeys wait on the wire). */
static lethe_status
wake_all(bench_kmp *b)
{
	for (size_t k = 0; k < b->nclients; k++) {
		int64_t t0 = bench_mono_ns();
		lethe_status rc = kmp_server_wake(b->srv, &b->cli_end[k].self, b->now_ms);
		b->server_ns += bench_mono_ns() - t0;
		GUARD(rc);
	}
	return b->wire_rc;
}

lethe_status
bench_kmp_sa_run(bench_kmp *b, uint64_t rounds, bench_series *s, int64_t *server_ns)
{
	kmp_server_stats st0, st1;
	uint64_t cpu0 = bench_cpu_us();
	int64_t t0 = bench_mono_ns();

	memset(s, 0, sizeof(*s));
	s->mode = "kmp-sa";
	b->server_ns = 0;
	kmp_server_stats_get(b->srv, &st0);
	for (uint64_t r = 0; r < rounds; r++) {
		b->now_ms += 10;
		GUARD(wake_all(b));
		wire_pump(b);
		GUARD(b->wire_rc);
	}
	s->elapsed_ns = bench_mono_ns() - t0;
	s->cpu_us = bench_cpu_us() - cpu0;
	kmp_server_stats_get(b->srv, &st1);
	s->ok = st1.sa_recovered - st0.sa_recovered;
	s->failed = rounds * b->nclients - s->ok;
	*server_ns = b->server_ns;
	return LETHE_OK;
}

/* The nonce the server sent to client k (from the Wake Up or Rekey on the wire). */
static lethe_status
sent_nonce(const bench_kmp *b, size_t k, uint32_t *nonce)
{
	for (size_t i = b->head; i < b->count; i++) {
		kmp_msg m;
		if (!kmp_peer_eq(&b->q[i].to, &b->cli_end[k].self) ||
		    kmp_decode(b->q[i].data, b->q[i].len, &m) != LETHE_OK)
			continue;
		if (m.kmmid == KMP_WAKE_UP)
			*nonce = m.u.wake_up.server_nonce;
		else if (m.kmmid == KMP_REKEY)
			*nonce = m.u.rekey.server_nonce;
		else
			continue;
		return LETHE_OK;
	}
	return LETHE_ERR_NOT_FOUND;
}

/* An AP Request as a client would send it, with server nonce `nonce`. */
static lethe_status
forge(const bench_kmp *b, uint32_t nonce, der_writer *w, uint8_t *out, size_t *len)
{
	kcl_ap_params p = { .ap_options = KRB_AP_OPT_MUTUAL_REQUIRED, .has_seq_number = true,
	    .seq_number = 0x5eed };
	kcl_ap_state st = { 0 };
	kmp_hmac_key key;
	kmp_msg m;
	lethe_status rc;

	der_writer_reset(w);
	GUARD(kcl_ap_req_build(&b->cred, &p, &st, w));
	kcl_ap_state_clear(&st);
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_AP_REQUEST;
	m.doi = KMP_DOI_IPSEC;
	m.u.ap_request.ap_req = der_written(w);
	m.u.ap_request.server_nonce = nonce;
	m.u.ap_request.asd.spi = KMP_BENCH_SPI;
	m.u.ap_request.suites.count = 1;
	m.u.ap_request.suites.suite[0] = (kmp_suite){ KMP_IPSEC_AUTH_HMAC_SHA1_96,
	    KMP_IPSEC_ENC_AES_CBC_128 };
	GUARD(kmp_encode(&m, out, KMP_BENCH_MSG_MAX, len));
	GUARD(kmp_hmac_key_derive(b->cred.session_key, KMP_HMAC_AP_REQUEST, &key));
	rc = kmp_hmac_seal(&key, out, *len);
	kmp_hmac_key_clear(&key);
	return rc;
}

/* A pool of forged requests: pool[i] from client i % N, nonce never the one sent. */
static lethe_status
forge_pool(bench_kmp *b, size_t n, uint8_t (*pool)[KMP_BENCH_MSG_MAX], size_t *lens)
{
	der_writer w;
	lethe_status rc = LETHE_OK;

	der_writer_init(&w, KMP_BENCH_MSG_MAX);
	for (size_t i = 0; i < n; i++) {
		uint32_t sent = 0, delta = 0, wrong;
		GUARD_GOTO(rc, sent_nonce(b, i % b->nclients, &sent));
		do {
			GUARD_GOTO(rc, kc_random_bytes((uint8_t *)&delta, sizeof(delta)));
			wrong = sent + delta;
		} while (delta == 0 || wrong == KMP_NONCE_CLIENT_INITIATED);
		GUARD_GOTO(rc, forge(b, wrong, &w, pool[i], &lens[i]));
	}
cleanup:
	der_writer_free(&w);
	return rc;
}

static uint64_t
acc_decrypts(acc_ctx *acc)
{
	acc_stats st;

	acc_stats_get(acc, &st);
	return st.ticket_decrypts + st.authenticator_decrypts;
}

lethe_status
bench_kmp_forged_run(bench_kmp *b, uint64_t n, bench_series *s, uint64_t *decrypts)
{
	size_t npool = b->nclients < KMP_BENCH_POOL ? KMP_BENCH_POOL - KMP_BENCH_POOL %
	    b->nclients : b->nclients;
	uint8_t (*pool)[KMP_BENCH_MSG_MAX] = malloc(npool * sizeof(*pool));
	size_t *lens = calloc(npool, sizeof(*lens));
	kmp_server_stats st0, st1;
	uint64_t dec0, cpu0;
	int64_t t0;
	lethe_status rc;

	memset(s, 0, sizeof(*s));
	s->mode = "kmp-forged";
	ENSURE_GOTO(rc, pool != NULL && lens != NULL, LETHE_ERR_NOMEM);
	b->now_ms += 10;
	GUARD_GOTO(rc, wake_all(b));
	GUARD_GOTO(rc, forge_pool(b, npool, pool, lens));
	wire_drop(b);               /* the Wake Ups are lost */
	kmp_server_stats_get(b->srv, &st0);
	dec0 = acc_decrypts(b->acc);
	cpu0 = bench_cpu_us();
	t0 = bench_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		size_t j = (size_t)(i % npool);
		kmp_server_receive(b->srv, &b->cli_end[j % b->nclients].self, pool[j], lens[j],
		    b->now_ms);
	}
	s->elapsed_ns = bench_mono_ns() - t0;
	s->cpu_us = bench_cpu_us() - cpu0;
	kmp_server_stats_get(b->srv, &st1);
	*decrypts = acc_decrypts(b->acc) - dec0;
	s->ok = st1.dropped_nonce - st0.dropped_nonce;
	s->failed = n - s->ok;
	wire_drop(b);
cleanup:
	free(pool);
	free(lens);
	return rc;
}

/* ------------------------------------------------------------ the modes */

#define KMP_BENCH_MAX_RUNS 15u

typedef struct kmp_cfg {
	bool forged;
	uint64_t clients, rounds, requests, verify_requests, runs;
	bool json;
	bool log;                   /* keep the engines' event lines (info) */
} kmp_cfg;

static void
kmp_usage(FILE *f)
{
	fprintf(f,
	    "usage: lethe-bench --mode kmp-sa [--clients N] [--rounds R] [--runs K]\n"
	    "                   [--json] [--log]\n"
	    "       lethe-bench --mode kmp-forged [--clients N] [--requests M]\n"
	    "                   [--verify-requests V] [--runs K] [--json] [--log]\n"
	    "  kmp-sa: R rounds (default 20) each waking N clients (default 100) and\n"
	    "  running every exchange to SA Recovered; SAs per second.\n"
	    "  kmp-forged: M AP Requests with a wrong nonce (default 1000000) from N woken\n"
	    "  clients, against V full AP-REQ verifications (default 20000); the ratio.\n"
	    "  K runs each (default 3), medians. The engines log warnings only, unless\n"
	    "  --log (one line per exchange step, as lethe-kmp writes them).\n");
}

static int
kmp_parse(int argc, char **argv, kmp_cfg *cfg)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "clients", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "requests", required_argument, NULL, 'n' },
		{ "verify-requests", required_argument, NULL, 'v' },
		{ "runs", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "log", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ok = true;
	int id;

	*cfg = (kmp_cfg){ .clients = 100, .rounds = 20, .requests = 1000000,
	    .verify_requests = 20000, .runs = 3 };
	optind = 1;
	while ((id = getopt_long(argc, argv, "", opts, NULL)) != -1 && ok) {
		switch (id) {
		case 'm': cfg->forged = strcmp(optarg, "kmp-forged") == 0; break;
		case 'c': ok = bench_parse_u64(optarg, 1, KMP_BENCH_MAX_CLIENTS, &cfg->clients); break;
		case 'r': ok = bench_parse_u64(optarg, 1, KMP_BENCH_MAX_ROUNDS, &cfg->rounds); break;
		case 'n': ok = bench_parse_u64(optarg, 1, KMP_BENCH_MAX_FORGED, &cfg->requests); break;
		case 'v': ok = bench_parse_u64(optarg, 1, 1000000, &cfg->verify_requests); break;
		case 'k': ok = bench_parse_u64(optarg, 1, KMP_BENCH_MAX_RUNS, &cfg->runs); break;
		case 'j': cfg->json = true; break;
		case 'l': cfg->log = true; break;
		case 'h': kmp_usage(stdout); exit(0);
		default: ok = false; break;
		}
	}
	/* Every SA's authenticator stays in the replay cache. */
	if (ok && !cfg->forged && cfg->clients * cfg->rounds * cfg->runs > KMP_BENCH_RCACHE) {
		fprintf(stderr, "lethe-bench: --clients × --rounds × --runs over %u\n",
		    KMP_BENCH_RCACHE);
		ok = false;
	}
	return ok && optind == argc ? 0 : 2;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
kmp_sa_measure(const kmp_cfg *cfg)
{
	double per_s[KMP_BENCH_MAX_RUNS], srv_us[KMP_BENCH_MAX_RUNS], ps, su;
	bench_kmp *b = NULL;
	lethe_status rc;

	if ((rc = bench_kmp_new((size_t)cfg->clients, NULL, &b)) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: kmp set-up: %s\n", lethe_status_str(rc));
		return 1;
	}
	for (uint64_t r = 0; r < cfg->runs; r++) {
		bench_series s;
		int64_t server_ns = 0;
		char extra[128];
		if ((rc = bench_kmp_sa_run(b, cfg->rounds, &s, &server_ns)) != LETHE_OK ||
		    s.failed > 0) {
			fprintf(stderr, "lethe-bench: kmp-sa: %s, %llu exchanges unfinished\n",
			    lethe_status_str(rc), (unsigned long long)s.failed);
			bench_kmp_free(b);
			return 1;
		}
		per_s[r] = bench_series_rate(&s);
		srv_us[r] = s.ok ? (double)server_ns / 1e3 / (double)s.ok : 0;
		snprintf(extra, sizeof(extra), ",\"clients\":%llu,\"server_us_each\":%.2f",
		    (unsigned long long)cfg->clients, srv_us[r]);
		bench_series_print(&s, cfg->json, extra);
		if (!cfg->json)
			printf("               server engine %.2f µs per SA\n", srv_us[r]);
	}
	ps = median_of(per_s, (size_t)cfg->runs);
	su = median_of(srv_us, (size_t)cfg->runs);
	if (cfg->json)
		printf("{\"mode\":\"kmp-sa\",\"runs\":%llu,\"clients\":%llu,\"sa_per_s\":%.1f,"
		       "\"server_us_each\":%.2f}\n", (unsigned long long)cfg->runs,
		       (unsigned long long)cfg->clients, ps, su);
	else
		printf("median of %llu runs, %llu clients: %.0f SAs/s (both roles, %.1f µs per "
		       "SA), server engine %.1f µs per SA\n", (unsigned long long)cfg->runs,
		       (unsigned long long)cfg->clients, ps, 1e6 / ps, su);
	bench_kmp_free(b);
	return 0;
}

/* µs of CPU per good operation. */
static double
cpu_each(const bench_series *s)
{
	return s->ok > 0 ? (double)s->cpu_us / (double)s->ok : 0;
}

/* One forged run and one verify run: wall and CPU µs each of both, in us[0..4). */
static int
kmp_forged_once(const kmp_cfg *cfg, bench_kmp *b, bench_verify_fx *fx, double us[4])
{
	bench_series s, v;
	uint64_t decrypts = 0;
	acc_reason why;
	lethe_status rc;

	rc = bench_kmp_forged_run(b, cfg->requests, &s, &decrypts);
	if (rc != LETHE_OK || s.failed > 0 || decrypts > 0) {
		fprintf(stderr, "lethe-bench: kmp-forged: %s, %llu not dropped by the nonce "
		    "check, %llu decryptions\n", lethe_status_str(rc),
		    (unsigned long long)s.failed, (unsigned long long)decrypts);
		return 1;
	}
	bench_series_print(&s, cfg->json, ",\"decrypts\":0");
	rc = bench_verify_run(fx->acc, fx, BENCH_TICKET_TK, cfg->verify_requests, &v, &why);
	if (rc != LETHE_OK || v.failed > 0) {
		fprintf(stderr, "lethe-bench: verify: %s (%s)\n", lethe_status_str(rc),
		    acc_reason_str(why));
		return 1;
	}
	bench_series_print(&v, cfg->json, NULL);
	us[0] = bench_series_us_each(&s);
	us[1] = bench_series_us_each(&v);
	us[2] = cpu_each(&s);
	us[3] = cpu_each(&v);
	return 0;
}

static int
kmp_forged_measure(const kmp_cfg *cfg)
{
	double us[4][KMP_BENCH_MAX_RUNS], one[4], med[4];
	bench_kmp *b = NULL;
	bench_verify_fx *fx = NULL;
	lethe_status rc;
	int ex = 1;

	if ((rc = bench_kmp_new((size_t)cfg->clients, NULL, &b)) != LETHE_OK ||
	    (rc = bench_verify_fx_new(NULL, 18, (size_t)(cfg->verify_requests * cfg->runs + 16),
	    NULL, &fx)) != LETHE_OK) {
		fprintf(stderr, "lethe-bench: kmp set-up: %s\n", lethe_status_str(rc));
		goto cleanup;
	}
	for (uint64_t r = 0; r < cfg->runs; r++) {
		if (kmp_forged_once(cfg, b, fx, one) != 0)
			goto cleanup;
		for (int i = 0; i < 4; i++)
			us[i][r] = one[i];
	}
	for (int i = 0; i < 4; i++)
		med[i] = median_of(us[i], (size_t)cfg->runs);
	if (cfg->json)
		printf("{\"mode\":\"kmp-forged\",\"runs\":%llu,\"clients\":%llu,"
		       "\"forged_us_each\":%.4f,\"verify_us_each\":%.3f,\"ratio\":%.1f,"
		       "\"forged_cpu_us_each\":%.4f,\"verify_cpu_us_each\":%.3f,"
		       "\"cpu_ratio\":%.1f}\n", (unsigned long long)cfg->runs,
		       (unsigned long long)cfg->clients, med[0], med[1], med[1] / med[0], med[2],
		       med[3], med[3] / med[2]);
	else
		printf("median of %llu runs: forged AP Request dropped in %.3f µs (%.0f/s, cpu "
		       "%.3f µs), full AP-REQ verification %.2f µs (%.0f/s, cpu %.2f µs): a "
		       "forgery costs 1/%.0f of a verification (cpu 1/%.0f)\n",
		       (unsigned long long)cfg->runs, med[0], 1e6 / med[0], med[2], med[1],
		       1e6 / med[1], med[3], med[1] / med[0], med[3] / med[2]);
	ex = 0;
cleanup:
	bench_verify_fx_free(fx);
	bench_kmp_free(b);
	return ex;
}

int
bench_kmp_main(int argc, char **argv)
{
	kmp_cfg cfg;

	if (kmp_parse(argc, argv, &cfg) != 0) {
		kmp_usage(stderr);
		return 2;
	}
	log_init("lethe-bench", LETHE_LOG_STDERR, cfg.log ? LETHE_LOG_INFO : LETHE_LOG_WARN);
	return cfg.forged ? kmp_forged_measure(&cfg) : kmp_sa_measure(&cfg);
}
