/*
 * lethe-kdc: the KDC daemon. Reads its configuration, opens the store,
 * builds the snapshot, binds the sockets, then serves until SIGTERM.
 * A refresher thread rebuilds the snapshot when the store's generation
 * changes (checked every refresh_interval) and on SIGHUP, which also
 * rereads the configuration. The registrar thread (src/registrar/service.h),
 * when [registrar] listen is set, takes registrations on its own port with
 * its own store handle, wakes the refresher after each one, and sends the
 * key requests the KDC workers queue. The kpasswd service, when
 * [kpasswd] listen is set, runs a second network loop in a thread of its
 * own, whose workers answer from the same snapshot and store password
 * changes through their own store handle (kdcd/passwd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/notify.h"
#include "base/wait.h"
#include "crypto/crypto.h"
#include "kdc/kdc.h"
#include "kdc/kpasswd.h"
#include "kdcd/kdcd.h"
#include "kdcd/passwd.h"
#include "kdcd/watch.h"
#include "registrar/service.h"
#include "store/store.h"

#define EXIT_USAGE 2
#define FRESH_WAIT_MS      2000  /* longest a request waits for a change to be applied */
#define TAIL_POLL_MS       2     /* after a write seen with no commit yet, look again
                                    after 2 ms, then twice as long each time ... */
#define TAIL_MS            100   /* ... for this long */
#define MAINTAIN_SECONDS   30    /* expired keys leave the store within a minute */
#define APPLY_MAX_CHANGES  1024  /* more principals changed at once: a full load */

typedef struct kdcd {
	kdcd_config cfg;
	bool foreground;
	bool check_only;
	long workers_flag;          /* -w, or -1 */
	const char *pid_flag;       /* -p, or NULL */
	store *st;                  /* used by the refresher only, once it runs */
	kdc *k;
	kdc_net *net;
	pthread_mutex_t mu;
	int wake_fd;                /* eventfd: the refresher has something to do */
	bool stop;                  /* under mu */
	bool reload;                /* under mu */
	bool refresh_now;           /* under mu: the registrar stored keys */
	kdcd_watch *watch;          /* commits by any process: stamp and inotify */
	_Atomic uint64_t applied_stamp; /* the watch stamp the snapshot in use covers */
	pthread_mutex_t fresh_mu;
	pthread_cond_t fresh_cv;
	uint64_t fresh_wanted;      /* under fresh_mu: checks asked for by workers */
	uint64_t fresh_done;        /* under fresh_mu: asked-for checks completed */
	reg_service *reg_svc;       /* NULL: no registrar */
	reg_keyreq *keyreq;
	reg_listener *reg;
	kdcd_passwd *passwd;        /* NULL: no kpasswd service */
	kdc_net *kpw_net;
	uint64_t generation;        /* of the snapshot in use */
	uint64_t store_lost_us;     /* refresher: when the store became unreachable, or 0 */
	char realm[STORE_MAX_REALM_LEN + 1];
	bool pid_written;
} kdcd;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: lethe-kdc [-c CONFIG] [-f] [-n] [-w WORKERS] [-p PIDFILE]\n"
	    "  -c CONFIG   configuration file (default " KDCD_DEFAULT_CONF ")\n"
	    "  -f          stay in the foreground (log to stderr unless configured)\n"
	    "  -n          check the configuration and the store, then exit (logs to stderr)\n"
	    "  -w WORKERS  worker threads (default: [kdc] workers, else one per core)\n"
	    "  -p PIDFILE  write the process id there (overrides [kdc] pid_file)\n");
}

static int
parse_args(kdcd *d, int argc, char **argv, const char **conf_path)
{
	int c;
	char *end;

	*conf_path = KDCD_DEFAULT_CONF;
	d->workers_flag = -1;
	while ((c = getopt(argc, argv, "c:fnw:p:h")) != -1) {
		switch (c) {
		case 'c':
			*conf_path = optarg;
			break;
		case 'f':
			d->foreground = true;
			break;
		case 'n':
			d->check_only = true;
			break;
		case 'w':
			errno = 0;
			d->workers_flag = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || d->workers_flag < 1 ||
			    d->workers_flag > KDC_NET_MAX_WORKERS) {
				fprintf(stderr, "lethe-kdc: -w: expected 1 to %d\n",
				    KDC_NET_MAX_WORKERS);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			d->pid_flag = optarg;
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------ store and snapshot */

static lethe_status
open_store(const kdcd_config *cfg, store **out)
{
	store_master_key mk;
	char msg[256] = "";
	lethe_status rc;

	rc = store_master_key_load(cfg->master_key_file, &mk);
	if (rc != LETHE_OK) {
		log_warnx("master key file %s: %s", cfg->master_key_file, lethe_status_str(rc));
		return rc;
	}
	rc = store_open(cfg->store_path, &mk, out, msg, sizeof(msg), NULL);
	store_master_key_wipe(&mk);
	if (rc != LETHE_OK)
		log_warnx("store %s: %s (%s)", cfg->store_path, lethe_status_str(rc), msg);
	return rc;
}

/* Build a snapshot of the store and check the realm against the configuration. */
static lethe_status
build_snapshot(kdcd *d, kdc_snapshot **out)
{
	kdc_snapshot *snap = NULL;
	const char *realm;
	lethe_status rc;

	rc = kdc_snapshot_load(d->st, &snap);
	if (rc != LETHE_OK) {
		log_warnx("reading the store %s: %s (%s)", d->cfg.store_path, lethe_status_str(rc),
		    store_errmsg(d->st));
		return rc;
	}
	realm = kdc_snapshot_policy(snap)->realm;
	if (d->cfg.realm[0] != '\0' && strcmp(d->cfg.realm, realm) != 0) {
		log_warnx("the store holds realm %s, the configuration says %s", realm,
		    d->cfg.realm);
		kdc_snapshot_free(snap);
		return LETHE_ERR_INVALID_ARG;
	}
	if (kdc_snapshot_tgs(snap) == NULL)
		log_warnx("realm %s has no krbtgt/%s principal: TGS requests will fail", realm, realm);
	*out = snap;
	return LETHE_OK;
}

static void
log_snapshot(const kdc_snapshot *snap, const char *why)
{
	log_event ev;

	log_event_begin(&ev, "snapshot");
	log_event_str(&ev, "reason", why);
	log_event_str(&ev, "realm", kdc_snapshot_policy(snap)->realm);
	log_event_uint(&ev, "generation", kdc_snapshot_generation(snap));
	log_event_uint(&ev, "principals", kdc_snapshot_count(snap));
	log_event_uint(&ev, "skipped", kdc_snapshot_skipped(snap));
	log_event_emit(&ev, LETHE_LOG_INFO);
}

static void
refresh_snapshot(kdcd *d, const char *why)
{
	kdc_snapshot *snap;

	if (build_snapshot(d, &snap) != LETHE_OK) {
		log_warnx("snapshot not rebuilt; still serving generation %llu",
		    (unsigned long long)d->generation);
		return;
	}
	d->generation = kdc_snapshot_generation(snap);
	log_snapshot(snap, why);
	kdc_swap_snapshot(d->k, snap);
}

/*
 * Bring the snapshot up to the store: the principals the change feed names
 * are read again (a full load when the feed does not suffice). One
 * principal that cannot be read keeps its previous state; the others are
 * served. False when the store could not be read at all.
 */
static bool
apply_changes(kdcd *d)
{
	kdc_snapshot *snap = NULL;
	kdc_snapshot_apply_stats st;
	uint64_t t0 = lethe_now_us();
	log_event ev;
	lethe_status rc;

	rc = kdc_snapshot_apply(d->st, kdc_current_snapshot(d->k), APPLY_MAX_CHANGES, &snap,
	    &st);
	if (rc != LETHE_OK && store_error_kind(d->st) == STORE_E_UNAVAILABLE) {
		/* Said once: the store reconnects with a backoff, requests go on. */
		if (d->store_lost_us == 0) {
			d->store_lost_us = t0;
			log_warnx("store unavailable (%s): answering from the snapshot of "
			    "generation %llu; registrations are refused with TRY_LATER; "
			    "reconnecting", store_errmsg(d->st), (unsigned long long)d->generation);
		}
		return false;
	}
	if (rc != LETHE_OK) {
		log_warnx("reading the store's changes: %s (%s); still serving generation %llu",
		    lethe_status_str(rc), store_errmsg(d->st), (unsigned long long)d->generation);
		return false;
	}
	if (d->store_lost_us != 0) {
		log_info("store available again after %llu ms: catching up from generation %llu",
		    (unsigned long long)((t0 - d->store_lost_us) / 1000),
		    (unsigned long long)d->generation);
		d->store_lost_us = 0;
	}
	if (snap == NULL)
		return true;
	if (strcmp(kdc_snapshot_policy(snap)->realm, d->realm) != 0) {
		log_warnx("the store now holds realm %s, not %s; not served",
		    kdc_snapshot_policy(snap)->realm, d->realm);
		kdc_snapshot_free(snap);
		return false;
	}
	d->generation = kdc_snapshot_generation(snap);
	kdc_swap_snapshot(d->k, snap);
	log_event_begin(&ev, "snapshot");
	log_event_str(&ev, "reason", st.full ? "store changed (full load)" : "store changed");
	log_event_uint(&ev, "generation", d->generation);
	log_event_uint(&ev, "principals", kdc_snapshot_count(kdc_current_snapshot(d->k)));
	log_event_uint(&ev, "read", st.replaced);
	log_event_uint(&ev, "removed", st.removed);
	log_event_uint(&ev, "failed", st.failed);
	log_event_uint(&ev, "usec", lethe_now_us() - t0);
	log_event_emit(&ev, st.failed != 0 ? LETHE_LOG_WARN : LETHE_LOG_INFO);
	return true;
}

/*
 * One freshness check: note which waiting workers it answers, read the
 * stamp, then the store (so every commit the stamp covers is read), and
 * publish. Refresher thread only.
 */
static void
check_store(kdcd *d, bool full, const char *why)
{
	uint64_t answers, stamp;

	pthread_mutex_lock(&d->fresh_mu);
	answers = d->fresh_wanted;
	pthread_mutex_unlock(&d->fresh_mu);
	stamp = kdcd_watch_stamp(d->watch);
	if (full)
		refresh_snapshot(d, why);
	else
		(void)apply_changes(d);
	/* Even after a failure: requests go on from the snapshot in use, logged above. */
	atomic_store_explicit(&d->applied_stamp, stamp, memory_order_release);
	pthread_mutex_lock(&d->fresh_mu);
	d->fresh_done = answers;
	pthread_cond_broadcast(&d->fresh_cv);
	pthread_mutex_unlock(&d->fresh_mu);
}

static void
wake_refresher(kdcd *d)
{
	uint64_t one = 1;

	if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("waking the refresher");
}

/*
 * The freshness hook of every request (kdc_fresh_fn): a few loads when
 * nothing changed (SQLite), one poll() of the LISTEN socket (PostgreSQL).
 */
static void
request_fresh(void *ctx)
{
	kdcd *d = ctx;
	uint64_t stamp = kdcd_watch_stamp(d->watch), mine;
	struct timespec until;

	if (stamp == 0 ||
	    stamp == atomic_load_explicit(&d->applied_stamp, memory_order_acquire))
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += FRESH_WAIT_MS / 1000;
	until.tv_nsec += (long)(FRESH_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->fresh_mu);
	mine = ++d->fresh_wanted;
	wake_refresher(d);
	while (d->fresh_done < mine &&
	    pthread_cond_timedwait(&d->fresh_cv, &d->fresh_mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&d->fresh_mu);
}

/* Delete expired temporary keys and what else has expired; the change is applied next. */
static void
maintain_store(kdcd *d)
{
	store_maint_report rep;
	log_event ev;

	if (store_maintain(d->st, time(NULL), &rep) != LETHE_OK) {
		log_warnx("store maintenance: %s", store_errmsg(d->st));
		return;
	}
	if (rep.keys_deleted == 0 && rep.nonces_deleted == 0 && rep.changes_trimmed == 0)
		return;
	log_event_begin(&ev, "maintenance");
	log_event_uint(&ev, "expired_keys_deleted", rep.keys_deleted);
	log_event_uint(&ev, "principals", rep.principals_touched);
	log_event_uint(&ev, "nonces_deleted", rep.nonces_deleted);
	log_event_uint(&ev, "changes_trimmed", rep.changes_trimmed);
	if (rep.keys_deleted != 0)
		log_event_str(&ev, "checkpoint", rep.checkpointed ? "done" : "busy");
	log_event_emit(&ev, LETHE_LOG_INFO);
}

/* ------------------------------------------------------------ reload (SIGHUP) */

static bool
net_settings_differ(const kdcd_config *a, const kdcd_config *b)
{
	return a->n_udp != b->n_udp || a->n_tcp != b->n_tcp ||
	    memcmp(a->udp, b->udp, sizeof(a->udp[0]) * a->n_udp) != 0 ||
	    memcmp(a->tcp, b->tcp, sizeof(a->tcp[0]) * a->n_tcp) != 0 ||
	    a->workers != b->workers || a->udp_max_reply != b->udp_max_reply ||
	    a->tcp_max_conns != b->tcp_max_conns || a->tcp_max_per_peer != b->tcp_max_per_peer ||
	    a->tcp_idle_ms != b->tcp_idle_ms;
}

static bool
registrar_settings_differ(const kdcd_config *a, const kdcd_config *b)
{
	return a->reg_enabled != b->reg_enabled ||
	    (a->reg_enabled && (a->reg_addr.len != b->reg_addr.len ||
	    memcmp(&a->reg_addr.ss, &b->reg_addr.ss, a->reg_addr.len) != 0)) ||
	    a->reg_max_conns != b->reg_max_conns || a->reg_max_per_peer != b->reg_max_per_peer ||
	    a->reg_timeout_ms != b->reg_timeout_ms ||
	    a->keyreq_interval != b->keyreq_interval || a->keyreq_lead != b->keyreq_lead ||
	    a->reg_max_principals_per_key != b->reg_max_principals_per_key;
}

/* Reread the configuration; apply what can change without a restart. */
static void
reload_config(kdcd *d)
{
	kdcd_config nc;
	lethe_conf_error err;
	store *st;

	if (kdcd_config_load(d->cfg.path, &nc, &err) != LETHE_OK) {
		log_warnx("reload: %s; keeping the running configuration", err.text);
		return;
	}
	if (net_settings_differ(&d->cfg, &nc))
		log_warnx("reload: listen, workers and connection limits change only on restart");
	if (registrar_settings_differ(&d->cfg, &nc))
		log_warnx("reload: the [registrar] section changes only on restart");
	if (d->cfg.key_grace != nc.key_grace)
		log_warnx("reload: [kdc] key_grace changes only on restart");
	if (d->cfg.kpw_n_udp != nc.kpw_n_udp || d->cfg.kpw_n_tcp != nc.kpw_n_tcp ||
	    memcmp(d->cfg.kpw_udp, nc.kpw_udp, sizeof(nc.kpw_udp[0]) * nc.kpw_n_udp) != 0 ||
	    memcmp(d->cfg.kpw_tcp, nc.kpw_tcp, sizeof(nc.kpw_tcp[0]) * nc.kpw_n_tcp) != 0 ||
	    d->cfg.kpw_workers != nc.kpw_workers || strcmp(d->cfg.kpw_admins, nc.kpw_admins) != 0)
		log_warnx("reload: the [kpasswd] section changes only on restart");
	log_set_verbosity(nc.log_level);
	kdc_set_log_requests(d->k, nc.log_requests);
	kdc_set_lockout(d->k, &nc.lockout);
	d->cfg.lockout = nc.lockout;
	d->cfg.log_level = nc.log_level;
	d->cfg.log_requests = nc.log_requests;
	d->cfg.refresh_seconds = nc.refresh_seconds;
	memcpy(d->cfg.realm, nc.realm, sizeof(d->cfg.realm));
	if (strcmp(nc.store_path, d->cfg.store_path) == 0 &&
	    strcmp(nc.master_key_file, d->cfg.master_key_file) == 0)
		return;
	if (d->reg_svc != NULL)
		log_warnx("reload: the registrar keeps the store it opened until a restart");
	if (open_store(&nc, &st) != LETHE_OK) {
		log_warnx("reload: keeping the store %s", d->cfg.store_path);
		return;
	}
	kdcd_watch_attach(d->watch, st);
	store_close(d->st);
	d->st = st;
	memcpy(d->cfg.store_path, nc.store_path, sizeof(d->cfg.store_path));
	memcpy(d->cfg.master_key_file, nc.master_key_file, sizeof(d->cfg.master_key_file));
}

static void
on_sighup(void *ctx)
{
	kdcd *d = ctx;

	pthread_mutex_lock(&d->mu);
	d->reload = true;
	pthread_mutex_unlock(&d->mu);
	wake_refresher(d);
}

/* The registrar stored keys: rebuild the snapshot now (registrar thread). */
static void
on_registered(void *ctx)
{
	kdcd *d = ctx;

	pthread_mutex_lock(&d->mu);
	d->refresh_now = true;
	pthread_mutex_unlock(&d->mu);
	wake_refresher(d);
}

/* ------------------------------------------------------------ the refresher */

/*
 * The refresher thread: applies the store's changes when the watch sees a
 * write, a worker asks, the registrar stored keys, or refresh_interval
 * passes (the safety net); rebuilds everything on SIGHUP; runs the store's
 * maintenance every MAINTAIN_SECONDS.
 */
static void *
refresher(void *arg)
{
	kdcd *d = arg;
	struct pollfd pfd[2] = { { .fd = d->wake_fd, .events = POLLIN },
		{ .fd = kdcd_watch_fd(d->watch), .events = POLLIN } };
	uint64_t next_check = lethe_now_us() + d->cfg.refresh_seconds * 1000000ull;
	uint64_t next_maint = lethe_now_us(), tail_until = 0, now, counter, stamp;
	bool stop = false, reload, stored, wrote, asked;
	int timeout_ms, tail_ms = TAIL_POLL_MS;

	while (!stop) {
		now = lethe_now_us();
		if (now >= next_maint) {
			maintain_store(d);
			next_maint = now + MAINTAIN_SECONDS * 1000000ull;
		}
		timeout_ms = now < next_check ? (int)((next_check - now + 999) / 1000) : 0;
		if (tail_until > now && timeout_ms > tail_ms)
			timeout_ms = tail_ms;
		if (timeout_ms > (int)((next_maint - now) / 1000) + 1)
			timeout_ms = (int)((next_maint - now) / 1000) + 1;
		pfd[1].fd = kdcd_watch_fd(d->watch);  /* a PostgreSQL LISTEN may reconnect */
		if (poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
			log_warn("refresher: poll");
		if (read(d->wake_fd, &counter, sizeof(counter)) < 0 && errno != EAGAIN)
			log_warn("refresher: eventfd");
		wrote = kdcd_watch_drain(d->watch);
		pthread_mutex_lock(&d->mu);
		stop = d->stop;
		reload = d->reload;
		stored = d->refresh_now;
		d->reload = false;
		d->refresh_now = false;
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		now = lethe_now_us();
		if (reload) {
			log_info("SIGHUP: rereading %s and the store", d->cfg.path);
			(void)lethe_notify(LETHE_NOTIFY_RELOADING, "rereading the configuration");
			reload_config(d);
			check_store(d, true, "SIGHUP");
			(void)lethe_notify(LETHE_NOTIFY_READY, "serving");
		} else {
			/*
			 * A write may be seen before its commit: look again a little
			 * later, backing off (a writer's run sends many events; a
			 * request never depends on this, it checks the stamp itself).
			 */
			if (wrote) {
				tail_until = now + TAIL_MS * 1000ull;
				tail_ms = TAIL_POLL_MS;
			} else if (tail_ms < TAIL_MS)
				tail_ms *= 2;
			/* A worker waits for a check (its stamp moved, and may move back). */
			pthread_mutex_lock(&d->fresh_mu);
			asked = d->fresh_wanted != d->fresh_done;
			pthread_mutex_unlock(&d->fresh_mu);
			stamp = kdcd_watch_stamp(d->watch);
			if (stored || asked || now >= next_check || stamp == 0 ||
			    stamp != atomic_load_explicit(&d->applied_stamp, memory_order_relaxed))
				check_store(d, false, NULL);
		}
		if (now >= next_check)
			next_check = now + d->cfg.refresh_seconds * 1000000ull;
	}
	kc_thread_cleanup();
	return NULL;
}

static lethe_status
start_refresher(kdcd *d, pthread_t *tid)
{
	pthread_condattr_t ca;
	int err;

	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->wake_fd < 0)
		return LETHE_ERR_IO;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	err = pthread_cond_init(&d->fresh_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (err != 0) {
		close(d->wake_fd);
		return LETHE_ERR_NOMEM;
	}
	kdc_set_freshness(d->k, request_fresh, d);
	if (pthread_create(tid, NULL, refresher, d) != 0) {
		pthread_cond_destroy(&d->fresh_cv);
		close(d->wake_fd);
		return LETHE_ERR_NOMEM;
	}
	return LETHE_OK;
}

static void
stop_refresher(kdcd *d, pthread_t tid)
{
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_mutex_unlock(&d->mu);
	wake_refresher(d);
	pthread_join(tid, NULL);
	/* Workers have stopped: nobody waits on fresh_cv any more. */
	pthread_cond_destroy(&d->fresh_cv);
	close(d->wake_fd);
}

/* ------------------------------------------------------------ process */

/* Write the pid file atomically: temp file in the same directory, rename. */
static lethe_status
write_pid_file(const char *path)
{
	char tmp[KDCD_PATH_MAX + 16], line[32];
	int fd, n;

	ENSURE(snprintf(tmp, sizeof(tmp), "%s.tmp", path) < (int)sizeof(tmp), LETHE_ERR_TOO_BIG);
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	if (write(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return LETHE_ERR_IO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return LETHE_ERR_IO;
	}
	return LETHE_OK;
}

static void
log_listening(const kdcd *d)
{
	char addr[80], line[LETHE_LOG_LINE_MAX];
	size_t used = 0;
	uint16_t port;

	line[0] = '\0';
	for (int t = 0; t < 2; t++) {
		const lethe_sockaddr *a = t == 0 ? d->cfg.udp : d->cfg.tcp;
		size_t n = t == 0 ? d->cfg.n_udp : d->cfg.n_tcp;
		for (size_t i = 0; i < n && used < sizeof(line); i++) {
			lethe_sockaddr_str((const struct sockaddr *)&a[i].ss, a[i].len, addr,
			    sizeof(addr));
			if (kdc_net_local_port(d->net, t == 0 ? KDC_TRANSPORT_UDP : KDC_TRANSPORT_TCP,
			    i, &port) != LETHE_OK)
				port = 0;
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s/%s(port %u)",
			    used ? " " : "", addr, t == 0 ? "udp" : "tcp", (unsigned)port);
		}
	}
	for (int t = 0; d->kpw_net != NULL && t < 2; t++) {
		const lethe_sockaddr *a = t == 0 ? d->cfg.kpw_udp : d->cfg.kpw_tcp;
		size_t n = t == 0 ? d->cfg.kpw_n_udp : d->cfg.kpw_n_tcp;
		for (size_t i = 0; i < n && used < sizeof(line); i++) {
			lethe_sockaddr_str((const struct sockaddr *)&a[i].ss, a[i].len, addr,
			    sizeof(addr));
			if (kdc_net_local_port(d->kpw_net, t == 0 ? KDC_TRANSPORT_UDP :
			    KDC_TRANSPORT_TCP, i, &port) != LETHE_OK)
				port = 0;
			used += (size_t)snprintf(line + used, sizeof(line) - used,
			    " kpasswd %s/%s(port %u)", addr, t == 0 ? "udp" : "tcp", (unsigned)port);
		}
	}
	if (d->reg != NULL && used < sizeof(line)) {
		lethe_sockaddr_str((const struct sockaddr *)&d->cfg.reg_addr.ss, d->cfg.reg_addr.len,
		    addr, sizeof(addr));
		snprintf(line + used, sizeof(line) - used, " registrar %s/tcp(port %u)", addr,
		    (unsigned)reg_listener_port(d->reg));
	}
	log_info("serving realm %s on %s with %u workers", d->realm, line,
	    kdc_net_worker_count(d->net));
}

/* A network loop's settings: the addresses given, the [kdc] limits, handler. */
static void
net_config(const kdcd *d, const lethe_sockaddr *udp, size_t n_udp, const lethe_sockaddr *tcp,
    size_t n_tcp, unsigned workers, kdc_handler_fn handler, kdc_net_config *nc)
{
	kdc_net_config_defaults(nc);
	memcpy(nc->udp, udp, sizeof(nc->udp));
	nc->n_udp = n_udp;
	memcpy(nc->tcp, tcp, sizeof(nc->tcp));
	nc->n_tcp = n_tcp;
	nc->workers = workers;
	nc->udp_max_reply = d->cfg.udp_max_reply;
	nc->tcp_max_conns = d->cfg.tcp_max_conns;
	nc->tcp_max_per_peer = d->cfg.tcp_max_per_peer;
	nc->tcp_idle_ms = d->cfg.tcp_idle_ms;
	nc->handler = handler;
	nc->handler_ctx = d->k;
	nc->worker_init = kdc_worker_init;
	nc->worker_fini = kdc_worker_fini;
}

static lethe_status
make_net(kdcd *d)
{
	kdc_net_config nc;

	net_config(d, d->cfg.udp, d->cfg.n_udp, d->cfg.tcp, d->cfg.n_tcp, d->cfg.workers,
	    kdc_handle, &nc);
	nc.reload = on_sighup;
	nc.reload_ctx = d;
	return kdc_net_new(&nc, &d->net);
}

/* The kpasswd service's sockets (none when [kpasswd] listen is empty). */
static lethe_status
make_kpw_net(kdcd *d)
{
	kdc_net_config nc;

	if (d->passwd == NULL)
		return LETHE_OK;
	net_config(d, d->cfg.kpw_udp, d->cfg.kpw_n_udp, d->cfg.kpw_tcp, d->cfg.kpw_n_tcp,
	    d->cfg.kpw_workers, kdc_kpasswd_handle, &nc);
	nc.handle_signals = false;      /* the KDC's loop takes them */
	return kdc_net_new(&nc, &d->kpw_net);
}

static void *
kpw_thread(void *arg)
{
	kdcd *d = arg;

	if (kdc_net_run(d->kpw_net) != LETHE_OK)
		log_warnx("kpasswd: the network loop stopped on an error");
	kc_thread_cleanup();
	return NULL;
}

static int
load_config(kdcd *d, const char *path)
{
	lethe_conf_error err;

	if (kdcd_config_load(path, &d->cfg, &err) != LETHE_OK) {
		fprintf(stderr, "lethe-kdc: %s\n", err.text);
		return 1;
	}
	if (d->workers_flag > 0)
		d->cfg.workers = (unsigned)d->workers_flag;
	if (d->pid_flag != NULL)
		snprintf(d->cfg.pid_file, sizeof(d->cfg.pid_file), "%s", d->pid_flag);
	if (d->check_only)
		d->cfg.log_dest = LETHE_LOG_STDERR;     /* a person is waiting for the verdict */
	else if (!d->cfg.log_dest_set)
		d->cfg.log_dest = d->foreground ? LETHE_LOG_STDERR : LETHE_LOG_SYSLOG;
	/* Until it detaches, the daemon reports start-up errors on stderr too. */
	log_init("lethe-kdc", d->foreground ? d->cfg.log_dest : LETHE_LOG_STDERR,
	    d->cfg.log_level);
	return 0;
}

/* The registrar's service (own store handle) and the key-request queue. */
static int
prepare_registrar(kdcd *d)
{
	store *st;
	lethe_status rc;

	if (!d->cfg.reg_enabled)
		return 0;
	if (open_store(&d->cfg, &st) != LETHE_OK)
		return 1;
	rc = reg_service_new(st, &d->reg_svc);
	if (rc != LETHE_OK) {
		log_warnx("registrar: %s%s", lethe_status_str(rc), rc == LETHE_ERR_NOT_FOUND ?
		    " (the store holds no \"kdc\" credential: run lethe-admin init)" : "");
		return 1;
	}
	reg_service_set_max_principals_per_key(d->reg_svc, d->cfg.reg_max_principals_per_key);
	if (reg_keyreq_new(d->cfg.keyreq_interval, &d->keyreq) != LETHE_OK) {
		log_warnx("registrar: cannot make the key-request queue");
		return 1;
	}
	kdc_set_key_request(d->k, reg_keyreq_send, d->keyreq);
	return 0;
}

/* Bind the registrar's port (before the daemon detaches). */
static int
make_registrar(kdcd *d)
{
	reg_listen_config rc;

	if (d->reg_svc == NULL)
		return 0;
	reg_listen_config_defaults(&rc);
	rc.addr = d->cfg.reg_addr;
	rc.max_conns = d->cfg.reg_max_conns;
	rc.max_per_peer = d->cfg.reg_max_per_peer;
	rc.timeout_ms = d->cfg.reg_timeout_ms;
	rc.svc = d->reg_svc;
	rc.keyreq = d->keyreq;
	rc.on_stored = on_registered;
	rc.on_stored_ctx = d;
	if (reg_listener_new(&rc, &d->reg) != LETHE_OK) {
		log_warn("registrar: cannot listen");
		return 1;
	}
	return 0;
}

/* The kpasswd hook (own store handle), when [kpasswd] listen is set. */
static int
prepare_kpasswd(kdcd *d)
{
	store *st;

	if (d->cfg.kpw_n_udp + d->cfg.kpw_n_tcp == 0)
		return 0;
	if (open_store(&d->cfg, &st) != LETHE_OK)
		return 1;
	if (kdcd_passwd_new(st, on_registered, d, &d->passwd) != LETHE_OK) {
		store_close(st);
		log_warnx("kpasswd: out of memory");
		return 1;
	}
	if (kdc_set_kpasswd(d->k, kdcd_passwd_apply, d->passwd, d->cfg.kpw_admins) !=
	    LETHE_OK) {
		log_warnx("kpasswd: out of memory");
		return 1;
	}
	return 0;
}

/* Store, snapshot, KDC: everything but the network. */
static int
prepare(kdcd *d)
{
	kdc_snapshot *snap;

	if (kc_init() != LETHE_OK) {
		log_warnx("the crypto library would not initialise");
		return 1;
	}
	if (open_store(&d->cfg, &d->st) != LETHE_OK ||
	    kdcd_watch_open(d->cfg.store_path, &d->watch) != LETHE_OK)
		return 1;
	kdcd_watch_attach(d->watch, d->st);
	/* The stamp before the read: the snapshot covers every commit it does. */
	atomic_store(&d->applied_stamp, kdcd_watch_stamp(d->watch));
	if (build_snapshot(d, &snap) != LETHE_OK)
		return 1;
	d->generation = kdc_snapshot_generation(snap);
	snprintf(d->realm, sizeof(d->realm), "%s", kdc_snapshot_policy(snap)->realm);
	log_snapshot(snap, "start");
	if (kdc_new(snap, &d->k) != LETHE_OK) {
		kdc_snapshot_free(snap);
		log_warnx("out of memory");
		return 1;
	}
	kdc_set_log_requests(d->k, d->cfg.log_requests);
	kdc_set_key_policy(d->k, d->cfg.keyreq_lead, d->cfg.key_grace);
	kdc_set_lockout(d->k, &d->cfg.lockout);
	if (prepare_kpasswd(d) != 0)
		return 1;
	return prepare_registrar(d);
}

static int
serve(kdcd *d)
{
	pthread_t tid, kpw_tid;
	sigset_t set;
	lethe_status rc;

	if (make_net(d) != LETHE_OK) {
		log_warn("cannot set up the sockets");
		return 1;
	}
	if (make_kpw_net(d) != LETHE_OK) {
		log_warn("kpasswd: cannot set up the sockets");
		return 1;
	}
	if (make_registrar(d) != 0)
		return 1;
	if (!d->foreground) {
		if (daemon(0, 0) != 0) {
			log_warn("daemon");
			return 1;
		}
		log_init("lethe-kdc", d->cfg.log_dest, d->cfg.log_level);
	}
	if (d->cfg.pid_file[0] != '\0') {
		if (write_pid_file(d->cfg.pid_file) != LETHE_OK) {
			log_warn("pid file %s", d->cfg.pid_file);
			return 1;
		}
		d->pid_written = true;
	}
	log_listening(d);
	/* The signals kdc_net_run takes must be blocked in every thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (start_refresher(d, &tid) != LETHE_OK) {
		log_warnx("cannot start the refresher thread");
		return 1;
	}
	if (d->reg != NULL && reg_listener_start(d->reg) != LETHE_OK) {
		log_warnx("cannot start the registrar thread");
		stop_refresher(d, tid);
		return 1;
	}
	if (d->kpw_net != NULL && pthread_create(&kpw_tid, NULL, kpw_thread, d) != 0) {
		log_warnx("cannot start the kpasswd thread");
		reg_listener_stop(d->reg);
		stop_refresher(d, tid);
		return 1;
	}
	/* The sockets are bound and the snapshot loaded: requests queue until a worker runs. */
	(void)lethe_notify(LETHE_NOTIFY_READY, "serving");
	rc = kdc_net_run(d->net);
	(void)lethe_notify(LETHE_NOTIFY_STOPPING, "stopping");
	if (d->kpw_net != NULL) {
		kdc_net_stop(d->kpw_net);
		pthread_join(kpw_tid, NULL);
	}
	reg_listener_stop(d->reg);
	stop_refresher(d, tid);
	kdc_log_counters(d->k);
	if (rc != LETHE_OK) {
		log_warnx("network loop: %s", lethe_status_str(rc));
		return 1;
	}
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	kdcd d;
	const char *conf_path;
	int ex;

	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.mu, NULL);
	pthread_mutex_init(&d.fresh_mu, NULL);
	if ((ex = parse_args(&d, argc, argv, &conf_path)) != 0)
		return ex;
	if ((ex = load_config(&d, conf_path)) != 0)
		return ex;
	ex = prepare(&d);
	if (ex == 0 && d.check_only)
		log_info("configuration %s and store %s are usable", d.cfg.path, d.cfg.store_path);
	else if (ex == 0)
		ex = serve(&d);
	if (d.pid_written)
		unlink(d.cfg.pid_file);
	reg_listener_free(d.reg);
	kdc_net_free(d.kpw_net);
	kdc_net_free(d.net);
	kdc_free(d.k);
	reg_service_free(d.reg_svc);
	kdcd_passwd_free(d.passwd);
	reg_keyreq_free(d.keyreq);
	store_close(d.st);
	kdcd_watch_close(d.watch);
	pthread_mutex_destroy(&d.fresh_mu);
	pthread_mutex_destroy(&d.mu);
	return ex;
}
