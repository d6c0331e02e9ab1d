/* lethe-agent: the configuration file. */
#include "agent/agent.h"
#include "base/wipe.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "crypto/crypto.h"

#define MAX_DURATION (366LL * 86400LL)

static const lethe_conf_key known_keys[] = {
	{ "", "principal" }, { "", "certificate" }, { "", "key" },
	{ "", "pkcs12" }, { "", "pkcs12_password_file" }, { "", "kdc_ca" },
	{ "", "kdc" }, { "", "kdc_cert" }, { "", "keytab" }, { "", "state_dir" },
	{ "", "rotation" }, { "", "overlap" }, { "", "max_ticket_life" },
	{ "", "enctypes" }, { "", "callback" }, { "", "callback_endpoint" },
	{ "", "callback_max_connections" }, { "", "callback_max_connections_per_peer" },
	{ "", "verbosity" }, { "", "keytab_owner" },
};

static void LETHE_PRINTF(3, 4)
set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* Copy src into dst[cap]; false when it does not fit or is empty. */
static bool
copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len == 0 || len >= cap)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

/* A path from the file: relative ones from the directory of source. */
static bool
resolve_path(const char *source, const char *value, char *dst, size_t cap)
{
	const char *slash = strrchr(source, '/');
	int n;

	if (value[0] == '/' || slash == NULL)
		return copy_str(dst, cap, value, strlen(value));
	n = snprintf(dst, cap, "%.*s/%s", (int)(slash - source), source, value);
	return n > 0 && (size_t)n < cap;
}

/* The next item of a list separated by commas and blanks. */
static bool
next_item(const char **cursor, const char **item, size_t *len)
{
	const char *p = *cursor;

	while (*p == ',' || isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return false;
	*item = p;
	while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
		p++;
	*len = (size_t)(p - *item);
	*cursor = p;
	return true;
}

/* An optional path key. */
static lethe_status
get_path(const lethe_conf *conf, const char *source, const char *key, char *dst,
    char *err, size_t err_len)
{
	const char *v = NULL;

	dst[0] = '\0';
	GUARD(lethe_conf_get_str(conf, NULL, key, NULL, &v));
	if (v == NULL || v[0] == '\0')
		return LETHE_OK;
	if (!resolve_path(source, v, dst, AGENT_PATH_MAX)) {
		set_err(err, err_len, "%s: %s: path too long", source, key);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

static lethe_status
parse_principals(const char *source, const char *list, agent_config *cfg,
    char *err, size_t err_len)
{
	const char *item;
	size_t len;
	kt_principal p = { 0 };
	char *canon = NULL;

	while (next_item(&list, &item, &len)) {
		if (cfg->nprincipals == AGENT_MAX_PRINCIPALS) {
			set_err(err, err_len, "%s: principal: more than %d principals",
			    source, AGENT_MAX_PRINCIPALS);
			return LETHE_ERR_FORMAT;
		}
		if (kt_principal_parse(item, len, NULL, &p) != LETHE_OK ||
		    kt_principal_unparse(&p, &canon) != LETHE_OK ||
		    !copy_str(cfg->principals[cfg->nprincipals], AGENT_NAME_MAX,
		    canon, strlen(canon))) {
			kt_principal_clear(&p);
			free(canon);
			set_err(err, err_len, "%s: principal: '%.*s' is not a "
			    "principal name with @REALM", source, (int)len, item);
			return LETHE_ERR_FORMAT;
		}
		kt_principal_clear(&p);
		free(canon);
		canon = NULL;
		for (size_t i = 0; i < cfg->nprincipals; i++) {
			if (strcmp(cfg->principals[i], cfg->principals[cfg->nprincipals]) == 0) {
				set_err(err, err_len, "%s: principal: %s listed twice",
				    source, cfg->principals[i]);
				return LETHE_ERR_FORMAT;
			}
		}
		cfg->nprincipals++;
	}
	return LETHE_OK;
}

/* One address "host:port" with a numeric host and a non-zero port. */
static bool
parse_addr(const char *item, size_t len, char *name, lethe_sockaddr *addr)
{
	size_t n = 0;
	uint16_t port;

	if (!copy_str(name, AGENT_NAME_MAX, item, len) ||
	    lethe_conf_parse_addrs(name, 0, addr, 1, &n, NULL) != LETHE_OK || n != 1)
		return false;
	if (addr->ss.ss_family == AF_INET)
		port = ((const struct sockaddr_in *)&addr->ss)->sin_port;
	else
		port = ((const struct sockaddr_in6 *)&addr->ss)->sin6_port;
	return ntohs(port) != 0;
}

static lethe_status
parse_kdcs(const lethe_conf *conf, const char *source, agent_config *cfg,
    char *err, size_t err_len)
{
	const char *list = NULL, *item, *certs = NULL;
	char path[AGENT_PATH_MAX];
	size_t len, ncerts = 0;

	GUARD(lethe_conf_get_str(conf, NULL, "kdc", "", &list));
	while (next_item(&list, &item, &len)) {
		if (cfg->nkdcs == AGENT_MAX_KDCS) {
			set_err(err, err_len, "%s: kdc: more than %d KDCs", source,
			    AGENT_MAX_KDCS);
			return LETHE_ERR_FORMAT;
		}
		if (!parse_addr(item, len, cfg->kdcs[cfg->nkdcs].name,
		    &cfg->kdcs[cfg->nkdcs].addr)) {
			set_err(err, err_len, "%s: kdc: '%.*s' is not a numeric "
			    "host:port", source, (int)len, item);
			return LETHE_ERR_FORMAT;
		}
		cfg->nkdcs++;
	}
	GUARD(lethe_conf_get_str(conf, NULL, "kdc_cert", "", &certs));
	while (next_item(&certs, &item, &len)) {
		char one[AGENT_PATH_MAX];

		if (ncerts == cfg->nkdcs || !copy_str(one, sizeof(one), item, len) ||
		    !resolve_path(source, one, path, sizeof(path))) {
			set_err(err, err_len, "%s: kdc_cert: give one certificate, "
			    "or one per kdc in the same order", source);
			return LETHE_ERR_FORMAT;
		}
		memcpy(cfg->kdcs[ncerts++].cert_path, path, sizeof(path));
	}
	if (cfg->nkdcs == 0 || ncerts == 0) {
		set_err(err, err_len, "%s: %s is required", source,
		    cfg->nkdcs == 0 ? "kdc" : "kdc_cert");
		return LETHE_ERR_FORMAT;
	}
	if (ncerts != 1 && ncerts != cfg->nkdcs) {
		set_err(err, err_len, "%s: kdc_cert: %zu certificates for %zu KDCs",
		    source, ncerts, cfg->nkdcs);
		return LETHE_ERR_FORMAT;
	}
	for (size_t k = ncerts; k < cfg->nkdcs; k++)
		memcpy(cfg->kdcs[k].cert_path, cfg->kdcs[0].cert_path, AGENT_PATH_MAX);
	return LETHE_OK;
}

static lethe_status
parse_enctypes(const char *source, const char *list, agent_config *cfg,
    char *err, size_t err_len)
{
	const char *item;
	size_t len;

	cfg->nenctypes = 0;
	while (next_item(&list, &item, &len)) {
		char word[64];
		const kc_enctype *et = NULL;
		char *end;
		long n;

		if (!copy_str(word, sizeof(word), item, len))
			goto bad;
		errno = 0;
		n = strtol(word, &end, 10);
		if (*end == '\0' && errno == 0) {
			if (n < INT32_MIN || n > INT32_MAX ||
			    kc_enctype_lookup((int32_t)n, &et) != LETHE_OK)
				goto bad;
		} else if (kc_enctype_lookup_name(word, &et) != LETHE_OK) {
			goto bad;
		}
		for (size_t i = 0; i < cfg->nenctypes; i++)
			if (cfg->enctypes[i] == et->number)
				goto bad;
		if (cfg->nenctypes == AGENT_MAX_ENCTYPES)
			goto bad;
		cfg->enctypes[cfg->nenctypes++] = et->number;
		continue;
bad:
		set_err(err, err_len, "%s: enctypes: '%.*s' is not a supported "
		    "enctype (17, 18, 19, 20), or is repeated", source, (int)len, item);
		return LETHE_ERR_FORMAT;
	}
	if (cfg->nenctypes == 0) {
		set_err(err, err_len, "%s: enctypes: empty", source);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

static lethe_status
get_durations(const lethe_conf *conf, agent_config *cfg, lethe_conf_error *ce)
{
	long long v;

	GUARD(lethe_conf_get_duration(conf, NULL, "rotation", 1, MAX_DURATION,
	    AGENT_DEFAULT_ROTATION, &v, ce));
	cfg->rotation = v;
	GUARD(lethe_conf_get_duration(conf, NULL, "overlap", 0, MAX_DURATION,
	    AGENT_DEFAULT_OVERLAP, &v, ce));
	cfg->overlap = v;
	GUARD(lethe_conf_get_duration(conf, NULL, "max_ticket_life", 1, MAX_DURATION,
	    AGENT_DEFAULT_MAX_TICKET_LIFE, &v, ce));
	cfg->max_ticket_life = v;
	GUARD(lethe_conf_get_int(conf, NULL, "verbosity", 0, 2, 1, &v, ce));
	cfg->verbosity = (int)v;
	GUARD(lethe_conf_get_int(conf, NULL, "callback_max_connections", 1, 1024,
	    AGENT_DEFAULT_CALLBACK_CONNS, &v, ce));
	cfg->callback_max_conns = (unsigned)v;
	GUARD(lethe_conf_get_int(conf, NULL, "callback_max_connections_per_peer", 0, 1024,
	    AGENT_DEFAULT_CALLBACK_PER_PEER, &v, ce));
	cfg->callback_max_per_peer = (unsigned)v;
	return LETHE_OK;
}

/* Exactly one identity: certificate + key, or pkcs12 + its password file. */
static lethe_status
check_identity(const char *source, const agent_config *cfg, char *err, size_t err_len)
{
	bool pem = cfg->certificate[0] != '\0' || cfg->key[0] != '\0';
	bool p12 = cfg->pkcs12[0] != '\0' || cfg->pkcs12_password_file[0] != '\0';

	if (pem && p12) {
		set_err(err, err_len, "%s: give certificate and key, or pkcs12 and "
		    "pkcs12_password_file, not both", source);
		return LETHE_ERR_FORMAT;
	}
	if (pem && (cfg->certificate[0] == '\0' || cfg->key[0] == '\0')) {
		set_err(err, err_len, "%s: %s is required with %s", source,
		    cfg->key[0] == '\0' ? "key" : "certificate",
		    cfg->key[0] == '\0' ? "certificate" : "key");
		return LETHE_ERR_FORMAT;
	}
	if (p12 && (cfg->pkcs12[0] == '\0' || cfg->pkcs12_password_file[0] == '\0')) {
		set_err(err, err_len, "%s: pkcs12 and pkcs12_password_file go "
		    "together", source);
		return LETHE_ERR_FORMAT;
	}
	if (!pem && !p12) {
		set_err(err, err_len, "%s: certificate and key (or pkcs12) are "
		    "required", source);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
}

static lethe_status
get_callback(const lethe_conf *conf, const char *source, agent_config *cfg,
    char *err, size_t err_len)
{
	const char *v = NULL, *adv = NULL;

	GUARD(lethe_conf_get_str(conf, NULL, "callback", "", &v));
	GUARD(lethe_conf_get_str(conf, NULL, "callback_endpoint", "", &adv));
	if (v[0] == '\0') {
		if (adv[0] != '\0') {
			set_err(err, err_len, "%s: callback_endpoint needs callback",
			    source);
			return LETHE_ERR_FORMAT;
		}
		return LETHE_OK;
	}
	if (!parse_addr(v, strlen(v), cfg->callback, &cfg->callback_addr)) {
		set_err(err, err_len, "%s: callback: '%s' is not a numeric host:port",
		    source, v);
		return LETHE_ERR_FORMAT;
	}
	if (adv[0] == '\0')
		adv = v;
	if (!copy_str(cfg->callback_endpoint, AGENT_NAME_MAX, adv, strlen(adv))) {
		set_err(err, err_len, "%s: callback_endpoint too long", source);
		return LETHE_ERR_FORMAT;
	}
	cfg->have_callback = true;
	return LETHE_OK;
}

/* A decimal id below (id_t)-1 in text; false for anything else. */
static bool
parse_id(const char *text, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	*out = strtoul(text, &end, 10);
	return errno == 0 && *end == '\0' && *out < (unsigned long)(uid_t)-1 &&
	    *out < (unsigned long)(gid_t)-1;
}

/* USER (a name or a number) into *uid; false when there is none. */
static bool
lookup_user(const char *user, uid_t *uid)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	unsigned long id;

	if (parse_id(user, &id)) {
		*uid = (uid_t)id;
		return true;
	}
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
		return false;
	*uid = found->pw_uid;
	return true;
}

/* GROUP (a name or a number) into *gid; false when there is none. */
static bool
lookup_group(const char *group, gid_t *gid)
{
	struct group gr, *found = NULL;
	char buf[4096];
	unsigned long id;

	if (parse_id(group, &id)) {
		*gid = (gid_t)id;
		return true;
	}
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &found) != 0 || found == NULL)
		return false;
	*gid = found->gr_gid;
	return true;
}

/* keytab_owner = USER[:GROUP] or :GROUP; empty or absent: unchanged. */
static lethe_status
get_keytab_owner(const lethe_conf *conf, const char *source, agent_config *cfg,
    char *err, size_t err_len)
{
	const char *v = NULL, *colon;
	char user[AGENT_NAME_MAX] = "", group[AGENT_NAME_MAX] = "";

	cfg->keytab_uid = KT_OWNER_KEEP;
	cfg->keytab_gid = KT_GROUP_KEEP;
	GUARD(lethe_conf_get_str(conf, NULL, "keytab_owner", "", &v));
	if (v[0] == '\0')
		return LETHE_OK;
	colon = strchr(v, ':');
	if (colon == NULL) {
		if (!copy_str(user, sizeof(user), v, strlen(v)))
			goto bad;
	} else if ((colon > v && !copy_str(user, sizeof(user), v,
	    (size_t)(colon - v))) ||
	    !copy_str(group, sizeof(group), colon + 1, strlen(colon + 1))) {
		goto bad;
	}
	if (user[0] != '\0' && !lookup_user(user, &cfg->keytab_uid)) {
		set_err(err, err_len, "%s: keytab_owner: no user '%s'", source, user);
		return LETHE_ERR_FORMAT;
	}
	if (group[0] != '\0' && !lookup_group(group, &cfg->keytab_gid)) {
		set_err(err, err_len, "%s: keytab_owner: no group '%s'", source, group);
		return LETHE_ERR_FORMAT;
	}
	return LETHE_OK;
bad:
	set_err(err, err_len, "%s: keytab_owner: '%s' is not USER, USER:GROUP "
	    "or :GROUP", source, v);
	return LETHE_ERR_FORMAT;
}

static lethe_status
get_paths(const lethe_conf *conf, const char *source, agent_config *cfg,
    char *err, size_t err_len)
{
	GUARD(get_path(conf, source, "certificate", cfg->certificate, err, err_len));
	GUARD(get_path(conf, source, "key", cfg->key, err, err_len));
	GUARD(get_path(conf, source, "pkcs12", cfg->pkcs12, err, err_len));
	GUARD(get_path(conf, source, "pkcs12_password_file",
	    cfg->pkcs12_password_file, err, err_len));
	GUARD(get_path(conf, source, "kdc_ca", cfg->kdc_ca, err, err_len));
	GUARD(get_path(conf, source, "keytab", cfg->keytab, err, err_len));
	GUARD(get_path(conf, source, "state_dir", cfg->state_dir, err, err_len));
	if (cfg->state_dir[0] == '\0')
		copy_str(cfg->state_dir, AGENT_PATH_MAX, "/var/lib/lethe-agent",
		    strlen("/var/lib/lethe-agent"));
	if (cfg->kdc_ca[0] == '\0' || cfg->keytab[0] == '\0') {
		set_err(err, err_len, "%s: %s is required", source,
		    cfg->kdc_ca[0] == '\0' ? "kdc_ca" : "keytab");
		return LETHE_ERR_FORMAT;
	}
	return check_identity(source, cfg, err, err_len);
}

static lethe_status
fill_config(const lethe_conf *conf, const char *source, agent_config *cfg,
    char *err, size_t err_len)
{
	lethe_conf_error ce;
	const char *v = NULL;
	lethe_status rc;

	ce.text[0] = '\0';
	rc = lethe_conf_check_known(conf, known_keys,
	    sizeof(known_keys) / sizeof(known_keys[0]), &ce);
	if (rc == LETHE_OK)
		rc = get_durations(conf, cfg, &ce);
	if (rc != LETHE_OK) {
		set_err(err, err_len, "%s", ce.text);
		return rc;
	}
	GUARD(lethe_conf_get_str(conf, NULL, "principal", "", &v));
	GUARD(parse_principals(source, v, cfg, err, err_len));
	if (cfg->nprincipals == 0) {
		set_err(err, err_len, "%s: principal is required", source);
		return LETHE_ERR_FORMAT;
	}
	GUARD(lethe_conf_get_str(conf, NULL, "enctypes", "18 17", &v));
	GUARD(parse_enctypes(source, v, cfg, err, err_len));
	GUARD(parse_kdcs(conf, source, cfg, err, err_len));
	GUARD(get_callback(conf, source, cfg, err, err_len));
	GUARD(get_keytab_owner(conf, source, cfg, err, err_len));
	return get_paths(conf, source, cfg, err, err_len);
}

lethe_status
agent_config_parse(const char *text, size_t len, const char *source,
    agent_config *cfg, char *err, size_t err_len)
{
	lethe_conf *conf = NULL;
	lethe_conf_error ce;
	lethe_status rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = lethe_conf_parse((const uint8_t *)text, len, source, &conf, &ce);
	if (rc != LETHE_OK) {
		set_err(err, err_len, "%s", ce.text);
		return rc;
	}
	rc = fill_config(conf, source, cfg, err, err_len);
	lethe_conf_free(conf);
	return rc;
}

lethe_status
agent_config_load(const char *path, agent_config *cfg, char *err, size_t err_len)
{
	lethe_conf *conf = NULL;
	lethe_conf_error ce;
	lethe_status rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = lethe_conf_load(path, &conf, &ce);
	if (rc != LETHE_OK) {
		set_err(err, err_len, "%s", ce.text[0] ? ce.text : path);
		return rc;
	}
	rc = fill_config(conf, path, cfg, err, err_len);
	lethe_conf_free(conf);
	return rc;
}

/* Mode and owner of an open secret file. */
static lethe_status
check_fd(int fd, const char *path, char *err, size_t err_len)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		set_err(err, err_len, "%s: %s", path, strerror(errno));
		return LETHE_ERR_IO;
	}
	if (!S_ISREG(sb.st_mode)) {
		set_err(err, err_len, "%s: not a regular file", path);
		return LETHE_ERR_IO;
	}
	if ((sb.st_mode & 077) != 0) {
		set_err(err, err_len, "%s: mode %04o lets others at a secret; "
		    "refusing it (chmod 600 %s)", path,
		    (unsigned)(sb.st_mode & 07777), path);
		return LETHE_ERR_INVALID_ARG;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		set_err(err, err_len, "%s: owned by uid %u, neither us nor root; "
		    "refusing it", path, (unsigned)sb.st_uid);
		return LETHE_ERR_INVALID_ARG;
	}
	if (sb.st_size < 0 || (uint64_t)sb.st_size > AGENT_SECRET_MAX_FILE) {
		set_err(err, err_len, "%s: larger than %u bytes", path,
		    AGENT_SECRET_MAX_FILE);
		return LETHE_ERR_TOO_BIG;
	}
	return LETHE_OK;
}

lethe_status
agent_check_secret_file(const char *path, char *err, size_t err_len)
{
	lethe_status rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		set_err(err, err_len, "%s: %s", path, strerror(errno));
		return LETHE_ERR_IO;
	}
	rc = check_fd(fd, path, err, err_len);
	close(fd);
	return rc;
}

lethe_status
agent_read_secret_file(const char *path, uint8_t **out, size_t *out_len,
    char *err, size_t err_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t n;
	lethe_status rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	*out_len = 0;
	if (fd < 0) {
		set_err(err, err_len, "%s: %s", path, strerror(errno));
		return LETHE_ERR_IO;
	}
	GUARD_GOTO(rc, check_fd(fd, path, err, err_len));
	buf = malloc(AGENT_SECRET_MAX_FILE + 1);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	while (len <= AGENT_SECRET_MAX_FILE &&
	    (n = read(fd, buf + len, AGENT_SECRET_MAX_FILE + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, err_len, "%s: %s", path, strerror(errno));
			rc = LETHE_ERR_IO;
			goto cleanup;
		}
		len += (size_t)n;
	}
	if (len > AGENT_SECRET_MAX_FILE) {
		set_err(err, err_len, "%s: larger than %u bytes", path,
		    AGENT_SECRET_MAX_FILE);
		rc = LETHE_ERR_TOO_BIG;
		goto cleanup;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	agent_secret_free(buf);
	close(fd);
	return rc;
}

void
agent_secret_free(uint8_t *buf)
{
	if (buf == NULL)
		return;
	lethe_wipe(buf, AGENT_SECRET_MAX_FILE + 1);
	free(buf);
}
