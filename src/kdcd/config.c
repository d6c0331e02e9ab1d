/* lethe-kdc configuration file (documented in docs/kdc.md). */
#include "kdcd/kdcd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdc/kpasswd.h"
#include "registrar/service.h"
#include "store/store.h"

static const lethe_conf_key known_keys[] = {
	{ "store", "path" },
	{ "store", "master_key_file" },
	{ "kdc", "realm" },
	{ "kdc", "listen" },
	{ "kdc", "workers" },
	{ "kdc", "udp_max_reply" },
	{ "kdc", "tcp_max_connections" },
	{ "kdc", "tcp_max_connections_per_peer" },
	{ "kdc", "tcp_idle_timeout" },
	{ "kdc", "refresh_interval" },
	{ "kdc", "pid_file" },
	{ "kdc", "key_grace" },
	{ "kdc", "lockout_max_failures" },
	{ "kdc", "lockout_window" },
	{ "kdc", "lockout_duration" },
	{ "registrar", "listen" },
	{ "registrar", "max_connections" },
	{ "registrar", "max_connections_per_peer" },
	{ "registrar", "timeout" },
	{ "registrar", "keyreq_interval" },
	{ "registrar", "keyreq_lead" },
	{ "registrar", "max_principals_per_key" },
	{ "kpasswd", "listen" },
	{ "kpasswd", "workers" },
	{ "kpasswd", "admins" },
	{ "logging", "destination" },
	{ "logging", "level" },
	{ "logging", "requests" },
};

static void set_err(lethe_conf_error *err, const kdcd_config *cfg, unsigned line,
    const char *fmt, ...) LETHE_PRINTF(4, 5);

static void
set_err(lethe_conf_error *err, const kdcd_config *cfg, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err->line = line;
	snprintf(err->text, sizeof(err->text), "%.200s:%u: %.300s", cfg->path, line, msg);
}

/* The line of [section] key, or 0. */
static unsigned
line_of(const lethe_conf *conf, const char *section, const char *key)
{
	lethe_conf_entry e;

	for (size_t i = 0; lethe_conf_at(conf, i, &e) == LETHE_OK; i++) {
		if (strcmp(e.section, section) == 0 && strcmp(e.key, key) == 0)
			return e.line;
	}
	return 0;
}

/* dir/value when value is relative, into out. */
static lethe_status
resolve_path(const kdcd_config *cfg, const char *value, char *out, size_t cap)
{
	const char *slash = strrchr(cfg->path, '/');
	int n;

	if (value[0] == '/' || slash == NULL || store_path_is_url(value))
		n = snprintf(out, cap, "%s", value);
	else
		n = snprintf(out, cap, "%.*s/%s", (int)(slash - cfg->path), cfg->path, value);
	return (n < 0 || (size_t)n >= cap) ? LETHE_ERR_TOO_BIG : LETHE_OK;
}

static lethe_status
get_path(const lethe_conf *conf, kdcd_config *cfg, const char *section, const char *key,
    const char *def, char *out, lethe_conf_error *err)
{
	const char *v;

	GUARD(lethe_conf_get_str(conf, section, key, def, &v));
	if (v == NULL || v[0] == '\0') {
		out[0] = '\0';
		return LETHE_OK;
	}
	if (resolve_path(cfg, v, out, KDCD_PATH_MAX) != LETHE_OK) {
		set_err(err, cfg, line_of(conf, section, key), "[%s] %s: path too long", section,
		    key);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

/* Where one listen key puts its addresses. */
typedef struct listen_dest {
	const char *section;
	uint16_t port;              /* when an item names none */
	lethe_sockaddr *udp;
	size_t *n_udp;
	lethe_sockaddr *tcp;
	size_t *n_tcp;
} listen_dest;

/* One listen item: "addr[:port][/udp|/tcp]". */
static lethe_status
add_listen_item(const kdcd_config *cfg, const listen_dest *d, char *item, unsigned line,
    lethe_conf_error *err)
{
	bool udp = true, tcp = true;
	size_t len = strlen(item), n = 0;
	lethe_sockaddr addr;
	lethe_conf_error aerr = { 0 };
	lethe_status rc;

	if (len > 4 && strcmp(item + len - 4, "/udp") == 0) {
		tcp = false;
		item[len - 4] = '\0';
	} else if (len > 4 && strcmp(item + len - 4, "/tcp") == 0) {
		udp = false;
		item[len - 4] = '\0';
	}
	rc = lethe_conf_parse_addrs(item, d->port, &addr, 1, &n, &aerr);
	if (rc != LETHE_OK || n != 1) {
		set_err(err, cfg, line, "[%s] listen: '%s': %s", d->section, item,
		    rc != LETHE_OK ? aerr.text : "expected one address per item");
		return LETHE_ERR_FORMAT;
	}
	if ((udp && *d->n_udp == KDC_NET_MAX_ADDRS) || (tcp && *d->n_tcp == KDC_NET_MAX_ADDRS)) {
		set_err(err, cfg, line, "[%s] listen: more than %d addresses per transport",
		    d->section, KDC_NET_MAX_ADDRS);
		return LETHE_ERR_FORMAT;
	}
	if (udp)
		d->udp[(*d->n_udp)++] = addr;
	if (tcp)
		d->tcp[(*d->n_tcp)++] = addr;
	return LETHE_OK;
}

/* [section] listen: comma-separated items; def when absent. */
static lethe_status
get_listen(const lethe_conf *conf, const kdcd_config *cfg, const listen_dest *d,
    const char *def, lethe_conf_error *err)
{
	const char *v;
	char list[LETHE_CONF_MAX_LINE + 1], *save = NULL, *item;
	unsigned line = line_of(conf, d->section, "listen");

	GUARD(lethe_conf_get_str(conf, d->section, "listen", def, &v));
	snprintf(list, sizeof(list), "%s", v);
	*d->n_udp = *d->n_tcp = 0;
	for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ' || *item == '\t')
			item++;
		for (size_t l = strlen(item); l > 0 && (item[l - 1] == ' ' || item[l - 1] == '\t'); l--)
			item[l - 1] = '\0';
		if (*item == '\0')
			continue;
		GUARD(add_listen_item(cfg, d, item, line, err));
	}
	return LETHE_OK;
}

/* [kdc] listen: at least one address. */
static lethe_status
get_kdc_listen(const lethe_conf *conf, kdcd_config *cfg, lethe_conf_error *err)
{
	listen_dest d = { "kdc", 88, cfg->udp, &cfg->n_udp, cfg->tcp, &cfg->n_tcp };

	GUARD(get_listen(conf, cfg, &d, KDCD_DEFAULT_LISTEN, err));
	if (cfg->n_udp + cfg->n_tcp == 0) {
		set_err(err, cfg, line_of(conf, "kdc", "listen"), "[kdc] listen: no address");
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

/* [kpasswd]: its addresses (none: no kpasswd service), workers and administrators. */
static lethe_status
get_kpasswd(const lethe_conf *conf, kdcd_config *cfg, lethe_conf_error *err)
{
	listen_dest d = { "kpasswd", KDC_KPASSWD_PORT, cfg->kpw_udp, &cfg->kpw_n_udp,
		cfg->kpw_tcp, &cfg->kpw_n_tcp };
	const char *v;
	long long n;

	GUARD(get_listen(conf, cfg, &d, "", err));
	GUARD(lethe_conf_get_int(conf, "kpasswd", "workers", 1, 16, 1, &n, err));
	cfg->kpw_workers = (unsigned)n;
	GUARD(lethe_conf_get_str(conf, "kpasswd", "admins", "", &v));
	if (strlen(v) >= sizeof(cfg->kpw_admins)) {
		set_err(err, cfg, line_of(conf, "kpasswd", "admins"), "[kpasswd] admins: too long");
		return LETHE_ERR_FORMAT;
	}
	snprintf(cfg->kpw_admins, sizeof(cfg->kpw_admins), "%s", v);
	return LETHE_OK;
}

static lethe_status
get_logging(const lethe_conf *conf, kdcd_config *cfg, lethe_conf_error *err)
{
	const char *v;

	GUARD(lethe_conf_get_str(conf, "logging", "destination", NULL, &v));
	if (v != NULL) {
		cfg->log_dest_set = true;
		if (strcmp(v, "stderr") == 0) {
			cfg->log_dest = LETHE_LOG_STDERR;
		} else if (strcmp(v, "syslog") == 0) {
			cfg->log_dest = LETHE_LOG_SYSLOG;
		} else {
			set_err(err, cfg, line_of(conf, "logging", "destination"),
			    "[logging] destination: expected stderr or syslog, got '%s'", v);
			return LETHE_ERR_FORMAT;
		}
	}
	GUARD(lethe_conf_get_str(conf, "logging", "level", "info", &v));
	if (strcmp(v, "warn") == 0) {
		cfg->log_level = LETHE_LOG_WARN;
	} else if (strcmp(v, "info") == 0) {
		cfg->log_level = LETHE_LOG_INFO;
	} else if (strcmp(v, "debug") == 0) {
		cfg->log_level = LETHE_LOG_DEBUG;
	} else {
		set_err(err, cfg, line_of(conf, "logging", "level"),
		    "[logging] level: expected warn, info or debug, got '%s'", v);
		return LETHE_ERR_FORMAT;
	}
	return lethe_conf_get_bool(conf, "logging", "requests", true, &cfg->log_requests, err);
}

static lethe_status
get_numbers(const lethe_conf *conf, kdcd_config *cfg, lethe_conf_error *err)
{
	long long v;

	GUARD(lethe_conf_get_int(conf, "kdc", "workers", 0, KDC_NET_MAX_WORKERS, 0, &v, err));
	cfg->workers = (unsigned)v;
	GUARD(lethe_conf_get_int(conf, "kdc", "udp_max_reply", 512, 65507, 4096, &v, err));
	cfg->udp_max_reply = (size_t)v;
	GUARD(lethe_conf_get_int(conf, "kdc", "tcp_max_connections", 1, 1 << 20, 256, &v, err));
	cfg->tcp_max_conns = (unsigned)v;
	GUARD(lethe_conf_get_int(conf, "kdc", "tcp_max_connections_per_peer", 0, 1 << 20, 32, &v,
	    err));
	cfg->tcp_max_per_peer = (unsigned)v;
	GUARD(lethe_conf_get_duration(conf, "kdc", "tcp_idle_timeout", 1, 3600, 30, &v, err));
	cfg->tcp_idle_ms = (unsigned)v * 1000u;
	GUARD(lethe_conf_get_duration(conf, "kdc", "refresh_interval", 1, 3600, 1, &v, err));
	cfg->refresh_seconds = (unsigned)v;
	GUARD(lethe_conf_get_int(conf, "kdc", "lockout_max_failures", 0, 1000,
	    KDC_LOCKOUT_DEFAULT_MAX_FAILURES, &v, err));
	cfg->lockout.max_failures = (uint32_t)v;
	GUARD(lethe_conf_get_duration(conf, "kdc", "lockout_window", 0, 86400,
	    KDC_LOCKOUT_DEFAULT_WINDOW, &v, err));
	cfg->lockout.window = v;
	GUARD(lethe_conf_get_duration(conf, "kdc", "lockout_duration", 1, 86400,
	    KDC_LOCKOUT_DEFAULT_DURATION, &v, err));
	cfg->lockout.duration = v;
	return LETHE_OK;
}

/* [registrar]: one address (empty: no registrar) and its limits. */
static lethe_status
get_registrar(const lethe_conf *conf, kdcd_config *cfg, lethe_conf_error *err)
{
	long long v;
	size_t n = 0;

	GUARD(lethe_conf_get_addrs(conf, "registrar", "listen", KDCD_DEFAULT_REG_LISTEN,
	    KDCD_DEFAULT_REG_PORT, &cfg->reg_addr, 1, &n, err));
	cfg->reg_enabled = n == 1;
	GUARD(lethe_conf_get_int(conf, "registrar", "max_connections", 1, 4096, 64, &v, err));
	cfg->reg_max_conns = (unsigned)v;
	GUARD(lethe_conf_get_int(conf, "registrar", "max_connections_per_peer", 0, 4096, 8, &v,
	    err));
	cfg->reg_max_per_peer = (unsigned)v;
	GUARD(lethe_conf_get_duration(conf, "registrar", "timeout", 1, 300, 5, &v, err));
	cfg->reg_timeout_ms = (unsigned)v * 1000u;
	GUARD(lethe_conf_get_duration(conf, "registrar", "keyreq_interval", 1, 86400, 30, &v,
	    err));
	cfg->keyreq_interval = (unsigned)v;
	GUARD(lethe_conf_get_duration(conf, "registrar", "keyreq_lead", 0, 86400,
	    KDC_DEFAULT_KEYREQ_LEAD, &v, err));
	cfg->keyreq_lead = v;
	GUARD(lethe_conf_get_int(conf, "registrar", "max_principals_per_key", 1, 1000000,
	    REG_DEFAULT_MAX_PRINCIPALS_PER_KEY, &v, err));
	cfg->reg_max_principals_per_key = (unsigned)v;
	return lethe_conf_get_bool(conf, "kdc", "key_grace", true, &cfg->key_grace, err);
}

static lethe_status
get_all(const lethe_conf *conf, kdcd_config *cfg, lethe_conf_error *err)
{
	const char *v;
	char def_mkey[KDCD_PATH_MAX];

	GUARD(lethe_conf_check_known(conf, known_keys, sizeof(known_keys) / sizeof(known_keys[0]),
	    err));
	GUARD(lethe_conf_get_str(conf, "kdc", "realm", "", &v));
	if (strlen(v) >= sizeof(cfg->realm)) {
		set_err(err, cfg, line_of(conf, "kdc", "realm"), "[kdc] realm: too long");
		return LETHE_ERR_FORMAT;
	}
	snprintf(cfg->realm, sizeof(cfg->realm), "%s", v);
	GUARD(get_path(conf, cfg, "store", "path", KDCD_DEFAULT_STORE, cfg->store_path, err));
	if (cfg->store_path[0] == '\0') {
		set_err(err, cfg, line_of(conf, "store", "path"), "[store] path: empty");
		return LETHE_ERR_FORMAT;
	}
	GUARD(lethe_conf_get_str(conf, "store", "path", KDCD_DEFAULT_STORE, &v));
	if (store_path_is_url(v) && (lethe_conf_get_str(conf, "store", "master_key_file",
	    NULL, &v) != LETHE_OK || v == NULL)) {
		/* No file to put it beside: every KDC of the realm holds a copy. */
		set_err(err, cfg, line_of(conf, "store", "path"),
		    "[store] path is a PostgreSQL URI: set [store] master_key_file");
		return LETHE_ERR_FORMAT;
	}
	GUARD(lethe_conf_get_str(conf, "store", "path", KDCD_DEFAULT_STORE, &v));
	if ((size_t)snprintf(def_mkey, sizeof(def_mkey), "%s%s", v, KDCD_MKEY_SUFFIX) >=
	    sizeof(def_mkey))
		return LETHE_ERR_TOO_BIG;
	GUARD(get_path(conf, cfg, "store", "master_key_file", def_mkey, cfg->master_key_file,
	    err));
	GUARD(get_path(conf, cfg, "kdc", "pid_file", "", cfg->pid_file, err));
	GUARD(get_kdc_listen(conf, cfg, err));
	GUARD(get_kpasswd(conf, cfg, err));
	GUARD(get_numbers(conf, cfg, err));
	GUARD(get_registrar(conf, cfg, err));
	return get_logging(conf, cfg, err);
}

lethe_status
kdcd_config_load(const char *path, kdcd_config *cfg, lethe_conf_error *err)
{
	lethe_conf *conf = NULL;
	lethe_status rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(err, 0, sizeof(*err));
	if (snprintf(cfg->path, sizeof(cfg->path), "%s", path) >= (int)sizeof(cfg->path)) {
		snprintf(err->text, sizeof(err->text), "%.200s...: path too long", path);
		return LETHE_ERR_TOO_BIG;
	}
	rc = lethe_conf_load(path, &conf, err);
	if (rc != LETHE_OK) {
		if (err->text[0] == '\0')
			snprintf(err->text, sizeof(err->text), "%.400s: %s", path, lethe_status_str(rc));
		return rc;
	}
	rc = get_all(conf, cfg, err);
	lethe_conf_free(conf);
	return rc;
}
