/* lethe-agent: command line, `once`, `status` and the `run` loop. */
#include "agent/agent_net.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/notify.h"
#include "base/wait.h"
#include "crypto/crypto.h"

#define DEFAULT_CONFIG "/etc/lethe/agent.conf"
#define MAX_SLEEP_S 60          /* wake at least this often (clock changes) */

static const char usage_text[] =
    "usage: lethe-agent [-c CONFIG] [-v] [--rotation DUR] [--json] run|once|status\n"
    "  run     rotate every rotation period, register, prune, answer key requests;\n"
    "          SIGTERM stops, SIGHUP rereads the configuration\n"
    "  once    one rotation and one registration with every KDC\n"
    "  status  keys in the keytab and the last registration per KDC\n"
    "CONFIG defaults to " DEFAULT_CONFIG ". Exit codes: 0 ok, 1 a KDC did not\n"
    "accept, 2 usage or configuration error, 3 identity, keytab or state error.\n";

typedef struct options {
	const char *config;
	const char *command;
	bool json;
	int verbose;
	long long rotation;     /* 0: from the file */
} options;

static volatile sig_atomic_t got_term, got_hup;
static int lock_fd = -1;       /* held while the process lives */

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static int
usage(void)
{
	fputs(usage_text, stderr);
	return AGENT_EXIT_USAGE;
}

enum { OPT_ROTATION = 256, OPT_JSON, OPT_HELP };

static int
parse_options(int argc, char **argv, options *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "rotation", required_argument, NULL, OPT_ROTATION },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case OPT_ROTATION:
			if (!lethe_conf_parse_duration(optarg, &o->rotation) ||
			    o->rotation < 1) {
				fprintf(stderr, "lethe-agent: --rotation: '%s' is not a "
				    "duration of at least 1s\n", optarg);
				return AGENT_EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			o->json = true;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	o->command = argv[optind];
	if (strcmp(o->command, "run") != 0 && strcmp(o->command, "once") != 0 &&
	    strcmp(o->command, "status") != 0)
		return usage();
	return AGENT_EXIT_OK;
}

static int
load_config(const options *o, agent_config *cfg)
{
	char err[600];

	if (agent_config_load(o->config, cfg, err, sizeof(err)) != LETHE_OK) {
		log_warnx("%s", err);
		return AGENT_EXIT_USAGE;
	}
	if (o->rotation > 0)
		cfg->rotation = o->rotation;
	return AGENT_EXIT_OK;
}

/* The identity and KDC credentials, then the core over them. */
static int
start(const agent_config *cfg, agent_net *net, agent *a)
{
	agent_env env = agent_env_system();
	char err[600];
	lethe_status rc;

	if (lock_fd < 0 && (rc = agent_state_lock(cfg, &lock_fd)) != LETHE_OK) {
		if (rc == LETHE_ERR_INVALID_ARG)
			log_warnx("%s/lock: another lethe-agent uses this state_dir",
			    cfg->state_dir);
		else
			log_warn("%s/lock", cfg->state_dir);
		return AGENT_EXIT_LOCAL;
	}
	if (agent_net_open(cfg, net, err, sizeof(err)) != LETHE_OK) {
		log_warnx("%s", err);
		return AGENT_EXIT_LOCAL;
	}
	env.register_keys = agent_net_register;
	env.arg = net;
	rc = agent_open(a, cfg, &env);
	if (rc != LETHE_OK) {
		log_warnx("state in %s: %s", cfg->state_dir, lethe_status_str(rc));
		agent_net_close(net);
		return AGENT_EXIT_LOCAL;
	}
	return AGENT_EXIT_OK;
}

static int
cmd_once(const agent_config *cfg)
{
	agent_net net;
	agent a;
	size_t failed = 0;
	int ex = start(cfg, &net, &a);

	if (ex != AGENT_EXIT_OK)
		return ex;
	for (size_t p = 0; p < cfg->nprincipals && ex == AGENT_EXIT_OK; p++) {
		lethe_status rc = agent_rotate(&a, p, NULL, SIZE_MAX, NULL);
		if (rc != LETHE_OK) {
			log_warnx("%s: cannot rotate (keytab %s, state %s): %s",
			    cfg->principals[p], cfg->keytab, cfg->state_dir,
			    lethe_status_str(rc));
			ex = AGENT_EXIT_LOCAL;
		}
	}
	if (ex == AGENT_EXIT_OK) {
		(void)agent_register_due(&a, true, &failed);
		for (size_t k = 0; k < cfg->nkdcs; k++)
			for (size_t p = 0; p < cfg->nprincipals; p++) {
				const agent_reg_rec *r = &a.st.reg[k][p];
				printf("kdc %s %s kvno %u: %s %s\n", cfg->kdcs[k].name,
				    cfg->principals[p], (unsigned)r->kvno,
				    agent_result_name(r->result), r->text);
			}
		if (agent_prune(&a, NULL) != LETHE_OK)
			log_warnx("cannot prune expired keys from %s", cfg->keytab);
		ex = failed == 0 ? AGENT_EXIT_OK : AGENT_EXIT_REGISTRATION;
	}
	agent_close(&a);
	agent_net_close(&net);
	return ex;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;      /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* What serve_key_request needs. */
typedef struct keyreq_ctx {
	agent *a;
	agent_net *net;
	agent_keyreq_cache *cache;
} keyreq_ctx;

/* An agent_keyreq_frame_fn: check one KeyRequest, rotate at once and register. */
static void
serve_key_request(void *arg, const uint8_t *msg, size_t len, const char *peer,
    const char *frame_why)
{
	keyreq_ctx *k = arg;
	agent *a = k->a;
	char why[400] = "";
	agent_keyreq kr;
	log_event ev;
	lethe_status rc = LETHE_ERR_FORMAT;

	if (msg != NULL)
		rc = agent_keyreq_check(&a->cfg, k->net, k->cache, msg, len,
		    (int64_t)time(NULL), &kr, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "cannot read a frame: %s", frame_why);
	log_event_begin(&ev, "key_request");
	log_event_str(&ev, "peer", peer);
	if (rc != LETHE_OK) {
		log_event_str(&ev, "result", "refused");
		log_event_str(&ev, "why", why);
		log_event_emit(&ev, LETHE_LOG_WARN);
		return;
	}
	log_event_str(&ev, "result", "accepted");
	log_event_str(&ev, "principal", a->cfg.principals[kr.principal]);
	log_event_str(&ev, "kdc", kr.kdc == SIZE_MAX ? "*" : a->cfg.kdcs[kr.kdc].name);
	log_event_emit(&ev, LETHE_LOG_INFO);
	if (agent_rotate(a, kr.principal, kr.nonce, kr.kdc, NULL) == LETHE_OK)
		(void)agent_register_due(a, false, NULL);
}

/* Listen on cfg's callback (if any) into srv; false (logged) when it cannot. */
static bool
open_listener(const agent_config *cfg, agent_keyreq_srv *srv)
{
	int lfd = -1;

	memset(srv, 0, sizeof(*srv));
	srv->lfd = -1;
	if (!cfg->have_callback)
		return true;
	if (agent_listen(&cfg->callback_addr, &lfd) != LETHE_OK) {
		log_warn("cannot listen on %s", cfg->callback);
		return false;
	}
	if (agent_keyreq_srv_init(srv, lfd, cfg->callback_max_conns, cfg->callback_max_per_peer,
	    AGENT_KEYREQ_TIMEOUT_MS) != LETHE_OK) {
		log_warnx("cannot set up the listener on %s", cfg->callback);
		return false;
	}
	return true;
}

/* Reread the configuration; keep the old one when the new one fails. */
static void
reload(const options *o, agent *a, agent_net *net, agent_keyreq_srv *srv)
{
	agent_config cfg;
	agent_net nnet;
	agent na;

	log_info("event=reload config=%s", o->config);
	if (load_config(o, &cfg) != AGENT_EXIT_OK)
		return;
	if (strcmp(cfg.state_dir, a->cfg.state_dir) != 0) {
		log_warnx("event=reload result=failed: state_dir changes only on "
		    "restart; keeping the old configuration");
		return;
	}
	if (start(&cfg, &nnet, &na) != AGENT_EXIT_OK) {
		log_warnx("event=reload result=failed: keeping the old "
		    "configuration");
		return;
	}
	agent_close(a);
	agent_net_close(net);
	*net = nnet;
	*a = na;
	a->env.arg = net;
	agent_keyreq_srv_close(srv);
	(void)open_listener(&cfg, srv);
}

static int
cmd_run(const options *o, const agent_config *cfg)
{
	agent_keyreq_cache cache;
	agent_keyreq_srv srv = { .lfd = -1 };
	struct pollfd *pfds = NULL;
	agent_net net;
	agent a;
	keyreq_ctx k = { &a, &net, &cache };
	int ex = start(cfg, &net, &a);

	if (ex != AGENT_EXIT_OK)
		return ex;
	a.env.arg = &net;
	memset(&cache, 0, sizeof(cache));
	if (!open_listener(cfg, &srv)) {
		ex = AGENT_EXIT_LOCAL;
		goto cleanup;
	}
	install_signals();
	log_info("event=start principals=%zu kdcs=%zu rotation=%lld callback=%s",
	    cfg->nprincipals, cfg->nkdcs, (long long)cfg->rotation,
	    cfg->have_callback ? cfg->callback : "none");
	(void)lethe_notify(LETHE_NOTIFY_READY, "running");
	while (!got_term) {
		lethe_status step_rc;
		int64_t wait;
		nfds_t n = 0;
		int conn_wait;

		if (got_hup) {
			got_hup = 0;
			(void)lethe_notify(LETHE_NOTIFY_RELOADING, "rereading the configuration");
			reload(o, &a, &net, &srv);
			(void)lethe_notify(LETHE_NOTIFY_READY, "running");
		}
		step_rc = agent_step(&a);
		wait = agent_next_wakeup(&a) - (int64_t)time(NULL);
		wait = wait < 0 ? 0 : wait > MAX_SLEEP_S ? MAX_SLEEP_S : wait;
		if (step_rc != LETHE_OK && wait == 0)
			wait = 1;       /* never spin on a failure */
		wait *= 1000;
		if (srv.lfd >= 0) {
			/* the listener's size may change on reload: room for this one */
			struct pollfd *grown = realloc(pfds, (1 + (size_t)srv.max_conns) *
			    sizeof(*pfds));
			if (grown == NULL) {
				log_warnx("out of memory");
				ex = AGENT_EXIT_LOCAL;
				break;
			}
			pfds = grown;
			n = agent_keyreq_srv_pollfds(&srv, pfds);
			conn_wait = agent_keyreq_srv_timeout(&srv, lethe_now_ms());
			if (conn_wait >= 0 && conn_wait < wait)
				wait = conn_wait;
		}
		(void)poll(pfds, n, (int)wait);     /* EINTR: revents stay 0 */
		if (srv.lfd >= 0)   /* events, then deadlines */
			agent_keyreq_srv_serve(&srv, pfds, lethe_now_ms(), serve_key_request, &k);
	}
	log_info("event=stop");
	(void)lethe_notify(LETHE_NOTIFY_STOPPING, "stopping");
cleanup:
	agent_keyreq_srv_close(&srv);
	free(pfds);
	agent_close(&a);
	agent_net_close(&net);
	return ex;
}

int
main(int argc, char **argv)
{
	options o;
	agent_config cfg;
	int ex = parse_options(argc, argv, &o);

	if (ex != AGENT_EXIT_OK)
		return ex;
	log_init("lethe-agent", LETHE_LOG_STDERR, 1 + o.verbose);
	if ((ex = load_config(&o, &cfg)) != AGENT_EXIT_OK)
		return ex;
	if (o.verbose == 0)
		log_set_verbosity(cfg.verbosity);
	if (strcmp(o.command, "status") == 0) {
		lethe_status rc = agent_status_print(&cfg, o.json, stdout);
		if (rc != LETHE_OK) {
			log_warnx("status of %s / %s: %s", cfg.keytab, cfg.state_dir,
			    lethe_status_str(rc));
			return AGENT_EXIT_LOCAL;
		}
		return fflush(stdout) == 0 ? AGENT_EXIT_OK : AGENT_EXIT_LOCAL;
	}
	if (kc_init() != LETHE_OK) {
		log_warnx("crypto initialisation failed");
		return AGENT_EXIT_LOCAL;
	}
	if (strcmp(o.command, "once") == 0)
		return cmd_once(&cfg);
	return cmd_run(&o, &cfg);
}
