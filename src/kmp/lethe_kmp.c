/*
 * lethe-kmp: the PacketCable key-management server and client roles over
 * UDP (default port 1293). One thread, one socket, poll(2) with the
 * engines' deadlines as timeout. Counters are logged as one key=value line
 * on SIGUSR1 and at exit. docs/kmp-roles.md has the options; -c names a
 * configuration file whose [server] or [client] section sets what the
 * flags leave unset.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/conf.h"
#include "base/log.h"
#include "base/notify.h"
#include "kmp/kmp_xfrm.h"
#include "kmp/lethe_kmp.h"
#include "registrar/registrar.h"

#define MAX_WAKE 64
#define MAX_SUITES KMP_MAX_SUITES
#define MAX_SERVICES KMP_CLI_MAX_PRINCIPALS
#define CONF_PATH_MAX 4096
#define CONF_PATHS 6            /* keytab, password_file, cert, key, kdc_cert, xfrm_out */

typedef struct opts {
	const char *role;
	const char *config;             /* -c, or NULL */
	const char *listen;
	kmp_doi doi;
	bool doi_set;                   /* by --doi */
	int verbosity;
	int64_t run_for_s;              /* 0: until SIGTERM */
	const char *xfrm_out;           /* --xfrm-out: the SA as ip-xfrm words */
	/* server */
	const char *keytab;
	const char *principal;
	const char *cert;               /* --cert/--key: opens public-key tickets */
	const char *key;
	const char *kdc_cert;           /* --kdc-cert: must have signed public-key tickets */
	const char *wake[MAX_WAKE];
	size_t nwake;
	uint32_t lifetime;
	uint32_t grace;
	bool no_ack;
	bool reestablish;
	kmp_suites suites;
	/* client */
	const char *client_principal;
	const char *password_file;
	const char *kdc;
	const char *realm;
	const char *server;
	const char *service[MAX_SERVICES];     /* the first: --initiate */
	size_t nservice;
	bool initiate;
	unsigned pings;
	bool exit_after_sa;
	/* what the configuration file's values live in, until exit */
	lethe_conf *conf;
	char paths[CONF_PATHS][CONF_PATH_MAX];
	size_t npaths;
	char lists[3][LETHE_CONF_MAX_LINE + 1];  /* wake, suites, services */
} opts;

static volatile sig_atomic_t got_usr1, got_hup, got_term;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: lethe-kmp server [-c CONFIG] -k KEYTAB -p PRINCIPAL [-l ADDR[:PORT]]\n"
	    "                 [-w CLIENT[:PORT]]...\n"
	    "                 [--doi ipsec|snmpv3] [--lifetime S] [--grace S] [--no-ack]\n"
	    "                 [--reestablish] [--suite AUTH:ENC]... [--run-for S]\n"
	    "                 [--cert PEM --key PEM --kdc-cert PEM] [--xfrm-out FILE] [-v]\n"
	    "       lethe-kmp client [-c CONFIG] -P PRINCIPAL (-k KEYTAB | --password-file F)\n"
	    "                 --kdc HOST:PORT\n"
	    "                 --realm R -s SERVER[:PORT] [-l ADDR[:PORT]] --service PRINCIPAL...\n"
	    "                 [--initiate] [--reestablish] [--ping N] [--exit-after-sa] [--doi ...]\n"
	    "                 [--run-for S] [--xfrm-out FILE] [-v]\n"
	    "CONFIG: a file whose [server] or [client] section sets what the flags do not.\n");
	exit(2);
}

static uint32_t
parse_u32(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || end == s || v > UINT32_MAX)
		usage();
	return (uint32_t)v;
}

/* One AUTH:ENC suite (hex) appended to o's; false when malformed or too many. */
static bool
try_add_suite(opts *o, const char *s)
{
	unsigned a, e;
	char tail;

	if (o->suites.count >= MAX_SUITES || sscanf(s, "%x:%x%c", &a, &e, &tail) != 2 ||
	    a > 0xff || e > 0xff)
		return false;
	o->suites.suite[o->suites.count].auth = (uint8_t)a;
	o->suites.suite[o->suites.count].enc = (uint8_t)e;
	o->suites.count++;
	return true;
}

static void
add_suite(opts *o, const char *s)
{
	if (!try_add_suite(o, s))
		usage();
}

static bool
parse_doi(const char *s, kmp_doi *out)
{
	if (strcmp(s, "ipsec") == 0)
		*out = KMP_DOI_IPSEC;
	else if (strcmp(s, "snmpv3") == 0)
		*out = KMP_DOI_SNMPV3;
	else
		return false;
	return true;
}

/* ------------------------------------------------------------ configuration file */

static const lethe_conf_key known_keys[] = {
	{ "server", "listen" }, { "server", "keytab" }, { "server", "principal" },
	{ "server", "wake" }, { "server", "doi" }, { "server", "lifetime" },
	{ "server", "grace" }, { "server", "ack" }, { "server", "reestablish" },
	{ "server", "suites" }, { "server", "cert" }, { "server", "key" },
	{ "server", "kdc_cert" },	{ "server", "xfrm_out" }, { "server", "verbosity" },
	{ "client", "listen" }, { "client", "principal" }, { "client", "keytab" },
	{ "client", "password_file" }, { "client", "kdc" }, { "client", "realm" },
	{ "client", "server" }, { "client", "services" }, { "client", "initiate" },
	{ "client", "reestablish" }, { "client", "doi" }, { "client", "suites" },
	{ "client", "xfrm_out" }, { "client", "verbosity" },
};

/* Report "CONFIG:LINE: what" (no line when 0) and exit 2. */
static _Noreturn void
config_fail(const opts *o, unsigned line, const char *what)
{
	if (line != 0)
		fprintf(stderr, "lethe-kmp: %s:%u: %s\n", o->config, line, what);
	else
		fprintf(stderr, "lethe-kmp: %s: %s\n", o->config, what);
	exit(2);
}

static _Noreturn void
config_fail_err(const lethe_conf_error *err)
{
	fprintf(stderr, "lethe-kmp: %s\n", err->text);
	exit(2);
}

/* The line of [section] key, or 0. */
static unsigned
config_line(const opts *o, const char *section, const char *key)
{
	lethe_conf_entry e;

	for (size_t i = 0; lethe_conf_at(o->conf, i, &e) == LETHE_OK; i++)
		if (strcmp(e.section, section) == 0 && strcmp(e.key, key) == 0)
			return e.line;
	return 0;
}

/*
 * *dst = [section] key when *dst is unset (NULL) and the key is there;
 * with is_path, a relative path is taken from the configuration's folder.
 */
static void
config_str(opts *o, const char *section, const char *key, bool is_path, const char **dst)
{
	const char *v = NULL, *slash = strrchr(o->config, '/');
	char *path;
	char msg[200];
	int n;

	if (*dst != NULL || lethe_conf_get_str(o->conf, section, key, NULL, &v) != LETHE_OK ||
	    v == NULL || v[0] == '\0')
		return;
	if (!is_path || v[0] == '/' || slash == NULL) {
		*dst = v;
		return;
	}
	if (o->npaths == CONF_PATHS)
		config_fail(o, 0, "too many paths");       /* a section has fewer path keys */
	path = o->paths[o->npaths++];
	n = snprintf(path, CONF_PATH_MAX, "%.*s/%s", (int)(slash - o->config), o->config, v);
	if (n < 0 || n >= CONF_PATH_MAX) {
		snprintf(msg, sizeof(msg), "[%s] %s: path too long", section, key);
		config_fail(o, config_line(o, section, key), msg);
	}
	*dst = path;
}

/*
 * The items of list [section] key (commas or blanks between them), copied
 * into buf; *count items (at most cap) to items. Untouched when absent.
 */
static void
config_list(opts *o, const char *section, const char *key, char *buf, const char **items,
    size_t cap, size_t *count)
{
	const char *v = NULL;
	char *save = NULL, *item, msg[200];

	if (lethe_conf_get_str(o->conf, section, key, NULL, &v) != LETHE_OK || v == NULL)
		return;
	snprintf(buf, LETHE_CONF_MAX_LINE + 1, "%s", v);
	*count = 0;
	for (item = strtok_r(buf, ", \t", &save); item != NULL; item = strtok_r(NULL, ", \t", &save)) {
		if (*count == cap) {
			snprintf(msg, sizeof(msg), "[%s] %s: more than %zu items", section, key,
			    cap);
			config_fail(o, config_line(o, section, key), msg);
		}
		items[(*count)++] = item;
	}
}

/* A duration in seconds (1 s to UINT32_MAX s) into *dst when it is unset (0). */
static void
config_seconds(opts *o, const char *section, const char *key, uint32_t *dst)
{
	lethe_conf_error err;
	long long v;

	if (lethe_conf_get_duration(o->conf, section, key, 1, UINT32_MAX, 0, &v, &err) != LETHE_OK)
		config_fail_err(&err);
	if (*dst == 0)
		*dst = (uint32_t)v;
}

/* A yes/no key, OR-ed into *dst (a flag can only turn a setting on). */
static void
config_bool(opts *o, const char *section, const char *key, bool def, bool *dst)
{
	lethe_conf_error err;
	bool v;

	if (lethe_conf_get_bool(o->conf, section, key, def, &v, &err) != LETHE_OK)
		config_fail_err(&err);
	*dst = *dst || v;
}

/*
 * Read o->config and fill, from the section of o->role, every setting its
 * flag left unset: strings and numbers not given, lists (wake, suites,
 * services) when no flag gave an item, yes/no settings that a flag can
 * only turn on. An error in the file is reported and exits 2.
 */
static void
load_config(opts *o)
{
	const char *sec = o->role, *v = NULL, *items[MAX_WAKE];
	lethe_conf_error err = { 0 };
	bool server = strcmp(o->role, "server") == 0, ack;
	size_t n = 0;
	long long verbosity;
	char msg[200];

	if (!server && strcmp(o->role, "client") != 0)
		usage();
	if (lethe_conf_load(o->config, &o->conf, &err) != LETHE_OK) {
		if (err.text[0] == '\0')
			config_fail(o, 0, "cannot read it");
		config_fail_err(&err);
	}
	if (lethe_conf_check_known(o->conf, known_keys, sizeof(known_keys) /
	    sizeof(known_keys[0]), &err) != LETHE_OK)
		config_fail_err(&err);
	config_str(o, sec, "listen", false, &o->listen);
	config_str(o, sec, "keytab", true, &o->keytab);
	config_str(o, sec, "xfrm_out", true, &o->xfrm_out);
	if (!o->doi_set && lethe_conf_get_str(o->conf, sec, "doi", NULL, &v) == LETHE_OK &&
	    v != NULL && !parse_doi(v, &o->doi)) {
		snprintf(msg, sizeof(msg), "[%s] doi: expected ipsec or snmpv3, got '%.40s'",
		    sec, v);
		config_fail(o, config_line(o, sec, "doi"), msg);
	}
	if (o->suites.count == 0) {
		config_list(o, sec, "suites", o->lists[1], items, MAX_SUITES, &n);
		for (size_t i = 0; i < n; i++)
			if (!try_add_suite(o, items[i])) {
				snprintf(msg, sizeof(msg), "[%s] suites: '%.40s' is not AUTH:ENC "
				    "in hex", sec, items[i]);
				config_fail(o, config_line(o, sec, "suites"), msg);
			}
	}
	config_bool(o, sec, "reestablish", false, &o->reestablish);
	if (lethe_conf_get_int(o->conf, sec, "verbosity", 0, 2, 0, &verbosity, &err) != LETHE_OK)
		config_fail_err(&err);
	if (o->verbosity == 0)
		o->verbosity = (int)verbosity;
	if (server) {
		if (o->nwake == 0)
			config_list(o, sec, "wake", o->lists[0], o->wake, MAX_WAKE, &o->nwake);
		config_seconds(o, sec, "lifetime", &o->lifetime);
		config_seconds(o, sec, "grace", &o->grace);
		config_str(o, sec, "principal", false, &o->principal);
		if (lethe_conf_get_bool(o->conf, sec, "ack", true, &ack, &err) != LETHE_OK)
			config_fail_err(&err);
		o->no_ack = o->no_ack || !ack;
		config_str(o, sec, "cert", true, &o->cert);
		config_str(o, sec, "key", true, &o->key);
		config_str(o, sec, "kdc_cert", true, &o->kdc_cert);
	} else {
		config_str(o, sec, "principal", false, &o->client_principal);
		config_str(o, sec, "password_file", true, &o->password_file);
		config_str(o, sec, "kdc", false, &o->kdc);
		config_str(o, sec, "realm", false, &o->realm);
		config_str(o, sec, "server", false, &o->server);
		if (o->nservice == 0)
			config_list(o, sec, "services", o->lists[2], o->service, MAX_SERVICES,
			    &o->nservice);
		config_bool(o, sec, "initiate", false, &o->initiate);
	}
}

static void
parse_opts(int argc, char **argv, opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "keytab", required_argument, NULL, 'k' },
		{ "principal", required_argument, NULL, 'p' },
		{ "client-principal", required_argument, NULL, 'P' },
		{ "wake", required_argument, NULL, 'w' },
		{ "server", required_argument, NULL, 's' },
		{ "doi", required_argument, NULL, 'D' },
		{ "lifetime", required_argument, NULL, 'L' },
		{ "grace", required_argument, NULL, 'G' },
		{ "no-ack", no_argument, NULL, 'N' },
		{ "reestablish", no_argument, NULL, 'E' },
		{ "suite", required_argument, NULL, 'S' },
		{ "password-file", required_argument, NULL, 'F' },
		{ "kdc", required_argument, NULL, 'K' },
		{ "realm", required_argument, NULL, 'R' },
		{ "service", required_argument, NULL, 'V' },
		{ "initiate", no_argument, NULL, 'I' },
		{ "ping", required_argument, NULL, 'n' },
		{ "exit-after-sa", no_argument, NULL, 'X' },
		{ "run-for", required_argument, NULL, 'T' },
		{ "xfrm-out", required_argument, NULL, 'x' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'Y' },
		{ "kdc-cert", required_argument, NULL, 'Z' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->doi = KMP_DOI_IPSEC;
	if (argc < 2)
		usage();
	o->role = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:l:k:p:P:w:s:v", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'k': o->keytab = optarg; break;
		case 'p': o->principal = optarg; break;
		case 'P': o->client_principal = optarg; break;
		case 'w':
			if (o->nwake >= MAX_WAKE)
				usage();
			o->wake[o->nwake++] = optarg;
			break;
		case 's': o->server = optarg; break;
		case 'D':
			if (!parse_doi(optarg, &o->doi))
				usage();
			o->doi_set = true;
			break;
		case 'L': o->lifetime = parse_u32(optarg); break;
		case 'G': o->grace = parse_u32(optarg); break;
		case 'N': o->no_ack = true; break;
		case 'E': o->reestablish = true; break;
		case 'S': add_suite(o, optarg); break;
		case 'F': o->password_file = optarg; break;
		case 'K': o->kdc = optarg; break;
		case 'R': o->realm = optarg; break;
		case 'V':
			if (o->nservice >= MAX_SERVICES)
				usage();
			o->service[o->nservice++] = optarg;
			break;
		case 'C': o->cert = optarg; break;
		case 'Y': o->key = optarg; break;
		case 'Z': o->kdc_cert = optarg; break;
		case 'I': o->initiate = true; break;
		case 'n': o->pings = parse_u32(optarg); break;
		case 'X': o->exit_after_sa = true; break;
		case 'T': o->run_for_s = parse_u32(optarg); break;
		case 'x': o->xfrm_out = optarg; break;
		case 'v': o->verbosity++; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (o->config != NULL)
		load_config(o);
	if (o->xfrm_out != NULL && o->doi != KMP_DOI_IPSEC)
		usage();
}

/* SNMPv3 engine data of this program (RFC 3411 text format, enterprise 8072). */
static const uint8_t snmp_engine_id[] = { 0x80, 0x00, 0x1f, 0x88, 0x04,
	'l', 'e', 't', 'h', 'e' };

static kmp_snmp_asd
snmp_asd(void)
{
	kmp_snmp_asd a;

	memset(&a, 0, sizeof(a));
	a.engine_id = lbytes_make(snmp_engine_id, sizeof(snmp_engine_id));
	a.engine_boots = 1;
	a.engine_time = 0;
	a.user_name = LBYTES_LIT("lethe-kmp");
	return a;
}

/* ------------------------------------------------------------ loop */

typedef struct loop {
	int fd;
	kmp_io io;
	kmp_server *srv;
	acc_ctx *acc;                   /* server role: the acceptor it uses */
	kmp_client *cli;
	const opts *o;
	kmp_peer server_peer;           /* client role */
	kmp_peer wake[MAX_WAKE];        /* server role: the -w clients */
	size_t nwake;
	uint64_t sa_msgs_ok;
	uint64_t sa_msgs_bad;
	unsigned pings_sent;
	unsigned pongs_ok;
	bool done;
	uint32_t xfrm_in_spi;           /* the SA last written to --xfrm-out */
	uint32_t xfrm_out_spi;
	int64_t xfrm_established_ms;
} loop;

/* The acceptor's decryption counters: proof that drops cost no crypto. */
static void
log_acc_stats(loop *l, log_event *ev)
{
	acc_stats a;

	acc_stats_get(l->acc, &a);
	log_event_uint(ev, "ticket_decrypts", a.ticket_decrypts);
	log_event_uint(ev, "authenticator_decrypts", a.authenticator_decrypts);
	log_event_uint(ev, "pubkey_signature_refused", a.pubkey_signature_refused);
}

static void
log_counters(loop *l)
{
	log_event ev;

	log_event_begin(&ev, "kmp_counters");
	if (l->srv != NULL) {
		kmp_server_stats s;
		kmp_server_stats_get(l->srv, &s);
		log_event_str(&ev, "role", "server");
		log_event_uint(&ev, "wakeups_sent", s.wakeups_sent);
		log_event_uint(&ev, "wakeup_retransmits", s.wakeup_retransmits);
		log_event_uint(&ev, "wakeups_given_up", s.wakeups_given_up);
		log_event_uint(&ev, "ap_requests_accepted", s.ap_requests_accepted);
		log_event_uint(&ev, "dropped_nonce", s.dropped_nonce);
		log_event_uint(&ev, "dropped_rate", s.dropped_rate);
		log_event_uint(&ev, "dropped_other", s.dropped_other);
		log_event_uint(&ev, "error_replies", s.error_replies);
		log_event_uint(&ev, "duplicates_resent", s.duplicates_resent);
		log_event_uint(&ev, "sa_recovered", s.sa_recovered);
		log_event_uint(&ev, "sas_live", s.sas_live);
		log_event_uint(&ev, "rekeys", s.rekeys);
		log_acc_stats(l, &ev);
	} else {
		kmp_client_stats s;
		kmp_client_stats_get(l->cli, &s);
		log_event_str(&ev, "role", "client");
		log_event_uint(&ev, "wakeups_received", s.wakeups_received);
		log_event_uint(&ev, "rekeys_received", s.rekeys_received);
		log_event_uint(&ev, "ap_requests_sent", s.ap_requests_sent);
		log_event_uint(&ev, "retransmits", s.retransmits);
		log_event_uint(&ev, "replies_accepted", s.replies_accepted);
		log_event_uint(&ev, "replies_late", s.replies_late);
		log_event_uint(&ev, "replies_refused", s.replies_refused);
		log_event_uint(&ev, "error_replies", s.error_replies);
		log_event_uint(&ev, "gave_up", s.gave_up);
		log_event_uint(&ev, "sas_installed", s.sas_installed);
		log_event_uint(&ev, "reestablishes", s.reestablishes);
		log_event_uint(&ev, "dropped", s.dropped);
		log_event_uint(&ev, "triggers_refused", s.triggers_refused);
		log_event_uint(&ev, "triggers_busy", s.triggers_busy);
	}
	log_event_uint(&ev, "sa_messages_ok", l->sa_msgs_ok);
	log_event_uint(&ev, "sa_messages_bad", l->sa_msgs_bad);
	log_event_emit(&ev, LETHE_LOG_WARN);
}

/* Send payload over sa on the test channel (tag byte, then the protected datagram). */
static void
channel_send(loop *l, kmp_sa *sa, const kmp_peer *to, lbytes payload)
{
	uint8_t out[1 + KMP_SA_MAX_PAYLOAD + KMP_SA_MAX_OVERHEAD];
	size_t n;

	out[0] = LKMP_TEST_CHANNEL_TAG;
	if (kmp_sa_protect(sa, payload, out + 1, sizeof(out) - 1, &n) == LETHE_OK)
		(void)lkmp_udp_send(&l->fd, to, out, n + 1);
}

static void
channel_receive(loop *l, const kmp_peer *from, const uint8_t *msg, size_t len)
{
	kmp_sa *sa = l->srv != NULL ? kmp_server_sa(l->srv, from) : kmp_client_sa(l->cli);
	uint8_t plain[KMP_SA_MAX_PAYLOAD + 32];
	char reply[64];
	size_t n;
	log_event ev;

	if (sa == NULL || kmp_sa_unprotect(sa, msg + 1, len - 1, plain,
	    sizeof(plain), &n) != LETHE_OK) {
		l->sa_msgs_bad++;
		return;
	}
	l->sa_msgs_ok++;
	log_event_begin(&ev, "kmp_sa_message");
	log_event_mem(&ev, "payload", plain, n);
	log_event_emit(&ev, LETHE_LOG_INFO);
	if (l->srv != NULL && n > 5 && memcmp(plain, "ping ", 5) == 0) {
		int m = snprintf(reply, sizeof(reply), "pong %.*s", (int)(n - 5 > 32 ? 32 : n - 5),
		    (const char *)plain + 5);
		channel_send(l, sa, from, lbytes_make(reply, (size_t)m));
	} else if (l->cli != NULL && n > 5 && memcmp(plain, "pong ", 5) == 0) {
		l->pongs_ok++;
	}
}

static void
client_progress(loop *l)
{
	kmp_sa *sa = kmp_client_sa(l->cli);
	char msg[32];
	int n;

	if (sa == NULL)
		return;
	while (l->pings_sent < l->o->pings) {
		n = snprintf(msg, sizeof(msg), "ping %u", l->pings_sent + 1);
		channel_send(l, sa, &l->server_peer, lbytes_make(msg, (size_t)n));
		l->pings_sent++;
	}
	if (l->o->exit_after_sa && l->pongs_ok >= l->o->pings)
		l->done = true;
}

/*
 * --xfrm-out: write sa (with peer) when it is live and not the one written
 * last (SPIs and establishment time tell SAs apart). A failed write is
 * logged and retried at the next check.
 */
static void
xfrm_check(loop *l, const kmp_sa *sa, const kmp_peer *peer)
{
	char name[80];
	lethe_status rc;

	if (l->o->xfrm_out == NULL || sa == NULL || !sa->live)
		return;
	if (sa->in.spi == l->xfrm_in_spi && sa->out.spi == l->xfrm_out_spi &&
	    sa->established_ms == l->xfrm_established_ms)
		return;
	lkmp_peer_name(NULL, peer, name, sizeof(name));
	if ((rc = kmp_xfrm_write(sa, name, l->o->xfrm_out)) != LETHE_OK) {
		log_warnx("event=kmp_xfrm_write_failed path=%s error=%s",
		    l->o->xfrm_out, lethe_status_str(rc));
		return;
	}
	l->xfrm_in_spi = sa->in.spi;
	l->xfrm_out_spi = sa->out.spi;
	l->xfrm_established_ms = sa->established_ms;
	log_info("event=kmp_xfrm_written path=%s peer=%s spi_in=0x%08x spi_out=0x%08x",
	    l->o->xfrm_out, name, (unsigned)sa->in.spi, (unsigned)sa->out.spi);
}

/* One datagram; false when none was waiting. */
static bool
receive_one(loop *l, int64_t now)
{
	uint8_t buf[KMP_MAX_MSG_LEN + 1];
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	kmp_peer from;
	ssize_t n;

	n = recvfrom(l->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &slen);
	if (n < 0)
		return false;
	if (n == 0 || lkmp_peer_from(&ss, slen, &from) != LETHE_OK)
		return true;
	if (buf[0] == LKMP_TEST_CHANNEL_TAG)
		channel_receive(l, &from, buf, (size_t)n);
	else if (l->srv != NULL) {
		kmp_server_receive(l->srv, &from, buf, (size_t)n, now);
		xfrm_check(l, kmp_server_sa(l->srv, &from), &from);
	} else {
		kmp_client_receive(l->cli, &from, buf, (size_t)n, now);
		xfrm_check(l, kmp_client_sa(l->cli), &l->server_peer);
	}
	return true;
}

/* SIGHUP (server): wake every -w client again, with a Wake Up. */
static void
rewake(loop *l)
{
	size_t i;

	for (i = 0; l->srv != NULL && i < l->nwake; i++)
		if (kmp_server_wake_up(l->srv, &l->wake[i], lkmp_now_ms()) != LETHE_OK)
			log_warnx("event=kmp_rewake_failed");
}

static int
run_loop(loop *l)
{
	int64_t start = lkmp_now_ms(), now, next;
	struct pollfd pfd;
	int timeout;

	(void)lethe_notify(LETHE_NOTIFY_READY, l->srv != NULL ? "server" : "client");
	while (!got_term && !l->done) {
		now = lkmp_now_ms();
		if (l->o->run_for_s > 0 && now - start >= l->o->run_for_s * 1000)
			break;
		next = l->srv != NULL ? kmp_server_next_deadline(l->srv) :
		    kmp_client_next_deadline(l->cli);
		timeout = next - now > 1000 ? 1000 : (next <= now ? 0 : (int)(next - now));
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Drain what is queued (bounded), then run the timers. */
		if (poll(&pfd, 1, timeout) > 0)
			for (int i = 0; i < 64 && receive_one(l, lkmp_now_ms()); i++)
				continue;
		now = lkmp_now_ms();
		if (l->srv != NULL)
			kmp_server_tick(l->srv, now);
		else {
			kmp_client_tick(l->cli, now);
			client_progress(l);
		}
		if (got_usr1) {
			got_usr1 = 0;
			log_counters(l);
		}
		if (got_hup) {
			got_hup = 0;
			rewake(l);
		}
	}
	(void)lethe_notify(LETHE_NOTIFY_STOPPING, NULL);
	log_counters(l);
	return l->o->exit_after_sa && !l->done ? 1 : 0;
}

static void
fail(const char *what, lethe_status rc)
{
	fatalx("%s: %s", what, lethe_status_str(rc));
}

/* Every certificate of the PEM file path (at most ACC_MAX_KDC_CERTS) into out[0..*n). */
static lethe_status
load_kdc_certs(const char *path, X509 **out, size_t *n)
{
	X509_STORE *store = NULL;
	STACK_OF(X509) *all = NULL;
	lethe_status rc;

	*n = 0;
	GUARD(reg_trust_add_file(&store, path));
	all = X509_STORE_get1_all_certs(store);
	ENSURE_GOTO(rc, all != NULL, LETHE_ERR_NOMEM);
	ENSURE_GOTO(rc, sk_X509_num(all) > 0 && sk_X509_num(all) <= (int)ACC_MAX_KDC_CERTS,
	    LETHE_ERR_FORMAT);
	for (int i = 0; i < sk_X509_num(all); i++) {
		ENSURE_GOTO(rc, X509_up_ref(sk_X509_value(all, i)) == 1, LETHE_ERR_CRYPTO);
		out[(*n)++] = sk_X509_value(all, i);
	}
	rc = LETHE_OK;
cleanup:
	sk_X509_pop_free(all, X509_free);
	X509_STORE_free(store);
	return rc;
}

static int
run_server(const opts *o, loop *l)
{
	kmp_server_config sc;
	acc_params ap = { 0 };
	acc_ctx *acc = NULL;
	reg_identity *id = NULL;
	X509 *kdc_certs[ACC_MAX_KDC_CERTS];
	size_t nkdc_certs = 0;
	const char *servers[1];
	struct sockaddr_storage ss;
	socklen_t slen;
	kmp_peer peer;
	size_t i;
	lethe_status rc;
	int ex;

	if (o->keytab == NULL || o->principal == NULL || (o->cert == NULL) != (o->key == NULL))
		usage();
	if (o->cert != NULL && o->kdc_cert == NULL) {
		fprintf(stderr, "lethe-kmp: --cert/--key need --kdc-cert PEM (lethe-admin "
		    "export-kdc-cert): public-key tickets are used only when the KDC signed them\n");
		exit(2);
	}
	if (o->cert == NULL && o->kdc_cert != NULL) {
		fprintf(stderr, "lethe-kmp: --kdc-cert without --cert/--key\n");
		exit(2);
	}
	/* The identity lethe-agent registers with opens public-key tickets. */
	if (o->cert != NULL && (rc = reg_identity_load_pem(o->cert, o->key, &id)) != LETHE_OK)
		fail("--cert/--key", rc);
	if (o->kdc_cert != NULL && (rc = load_kdc_certs(o->kdc_cert, kdc_certs,
	    &nkdc_certs)) != LETHE_OK)
		fail("--kdc-cert", rc);
	servers[0] = o->principal;
	ap.keytab_path = o->keytab;
	ap.servers = servers;
	ap.n_servers = 1;
	ap.pubkey_identity = id;
	ap.pubkey_kdc_certs = kdc_certs;
	ap.n_pubkey_kdc_certs = nkdc_certs;
	rc = acc_ctx_new(&ap, &acc);
	for (i = 0; i < nkdc_certs; i++)
		X509_free(kdc_certs[i]);
	if (rc != LETHE_OK)
		fail("acceptor", rc);
	l->acc = acc;
	memset(&sc, 0, sizeof(sc));
	sc.principal = o->principal;
	sc.doi = o->doi;
	sc.offered = o->suites;
	sc.lifetime_s = o->lifetime;
	sc.grace_s = o->grace;
	sc.ack_required = !o->no_ack;
	sc.reestablish = o->reestablish;
	sc.snmp = snmp_asd();
	if ((rc = kmp_server_new(&sc, &l->io, acc, &l->srv)) != LETHE_OK)
		fail("server configuration", rc);
	for (i = 0; i < o->nwake; i++) {
		if ((rc = lkmp_addr_parse(o->wake[i], &ss, &slen)) != LETHE_OK ||
		    (rc = lkmp_peer_from(&ss, slen, &peer)) != LETHE_OK ||
		    (rc = kmp_server_wake(l->srv, &peer, lkmp_now_ms())) != LETHE_OK)
			fail(o->wake[i], rc);
		l->wake[l->nwake++] = peer;
	}
	log_info("event=kmp_server_ready principal=%s doi=%s pubkey_tickets=%s kdc_certs=%zu",
	    o->principal, kmp_doi_name(o->doi), id != NULL ? "yes" : "no", nkdc_certs);
	ex = run_loop(l);
	kmp_server_free(l->srv);
	acc_ctx_free(acc);
	reg_identity_free(id);
	return ex;
}

static int
run_client(const opts *o, loop *l)
{
	kmp_client_config cc;
	lkmp_creds creds;
	struct sockaddr_storage ss;
	socklen_t slen;
	lethe_status rc;
	int ex;

	if (o->client_principal == NULL || o->kdc == NULL || o->realm == NULL ||
	    o->server == NULL || (o->keytab == NULL) == (o->password_file == NULL) ||
	    o->nservice == 0 || o->cert != NULL || o->key != NULL)
		usage();
	if ((rc = lkmp_creds_init(&creds, o->kdc, o->realm, o->client_principal,
	    o->keytab, o->password_file)) != LETHE_OK)
		fail("client credentials", rc);
	if ((rc = lkmp_addr_parse(o->server, &ss, &slen)) != LETHE_OK ||
	    (rc = lkmp_peer_from(&ss, slen, &l->server_peer)) != LETHE_OK)
		fail(o->server, rc);
	memset(&cc, 0, sizeof(cc));
	cc.doi = o->doi;
	cc.server = l->server_peer;
	cc.principal = o->service[0];
	cc.also_principals = o->service + 1;
	cc.n_also_principals = o->nservice - 1;
	cc.suites = o->suites;
	cc.reestablish = o->reestablish;
	cc.snmp = snmp_asd();
	cc.get_cred = lkmp_get_cred;
	cc.get_cred_ctx = &creds;
	if ((rc = kmp_client_new(&cc, &l->io, &l->cli)) != LETHE_OK)
		fail("client configuration", rc);
	if (o->initiate && (rc = kmp_client_start(l->cli, lkmp_now_ms())) != LETHE_OK)
		fail("client-initiated exchange", rc);
	log_info("event=kmp_client_ready principal=%s doi=%s", o->client_principal,
	    kmp_doi_name(o->doi));
	ex = run_loop(l);
	kmp_client_free(l->cli);
	lkmp_creds_free(&creds);
	return ex;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	opts o;
	loop l;
	lethe_status rc;
	int ex;

	parse_opts(argc, argv, &o);
	log_init("lethe-kmp", LETHE_LOG_STDERR, LETHE_LOG_INFO + o.verbosity);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&l, 0, sizeof(l));
	l.o = &o;
	if ((rc = lkmp_udp_bind(o.listen != NULL ? o.listen : "0.0.0.0", &l.fd)) != LETHE_OK)
		fatal("listen on %s", o.listen != NULL ? o.listen : "0.0.0.0");
	l.io = (kmp_io){ &l.fd, lkmp_udp_send, lkmp_random, lkmp_unix_time, lkmp_peer_name };
	if (strcmp(o.role, "server") == 0)
		ex = run_server(&o, &l);
	else if (strcmp(o.role, "client") == 0)
		ex = run_client(&o, &l);
	else
		usage();
	lethe_conf_free(o.conf);
	return ex;
}
