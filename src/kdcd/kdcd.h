/* lethe-kdc: the daemon's configuration (see docs/kdc.md). */
#ifndef LETHE_KDCD_KDCD_H
#define LETHE_KDCD_KDCD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/conf.h"
#include "base/log.h"
#include "base/status.h"
#include "kdc/kdc.h"
#include "kdc/net.h"

#define KDCD_PATH_MAX 4096
#define KDCD_DEFAULT_CONF "/etc/lethe/kdc.conf"
#define KDCD_DEFAULT_LISTEN "127.0.0.1:88"
#define KDCD_DEFAULT_STORE "lethe.db"
#define KDCD_MKEY_SUFFIX ".mkey"
#define KDCD_DEFAULT_REG_LISTEN "127.0.0.1:8888"
#define KDCD_DEFAULT_REG_PORT 8888

typedef struct kdcd_config {
	char path[KDCD_PATH_MAX];           /* the file this came from */
	char realm[256];                    /* "": whatever the store holds */
	char store_path[KDCD_PATH_MAX];
	char master_key_file[KDCD_PATH_MAX];
	char pid_file[KDCD_PATH_MAX];       /* "": none */
	lethe_sockaddr udp[KDC_NET_MAX_ADDRS];
	size_t n_udp;
	lethe_sockaddr tcp[KDC_NET_MAX_ADDRS];
	size_t n_tcp;
	unsigned workers;                   /* 0: one per core */
	size_t udp_max_reply;
	unsigned tcp_max_conns;
	unsigned tcp_max_per_peer;           /* per worker; 0: no cap */
	unsigned tcp_idle_ms;
	unsigned refresh_seconds;           /* store generation check period */
	kdc_lockout_policy lockout;         /* [kdc] lockout_* */
	bool reg_enabled;                   /* [registrar] listen not empty */
	lethe_sockaddr reg_addr;
	unsigned reg_max_conns;
	unsigned reg_max_per_peer;           /* 0: no cap */
	unsigned reg_timeout_ms;            /* per connection, first byte to reply */
	unsigned keyreq_interval;           /* seconds between key requests per principal */
	int64_t keyreq_lead;                /* ask this long before use_until (seconds) */
	bool key_grace;                     /* tickets under a key past use_until */
	unsigned reg_max_principals_per_key; /* principals one signing key may register */
	lethe_sockaddr kpw_udp[KDC_NET_MAX_ADDRS]; /* [kpasswd] listen; none: off */
	size_t kpw_n_udp;
	lethe_sockaddr kpw_tcp[KDC_NET_MAX_ADDRS];
	size_t kpw_n_tcp;
	unsigned kpw_workers;
	char kpw_admins[LETHE_CONF_MAX_LINE + 1]; /* who may set any password */
	bool log_requests;
	bool log_dest_set;                  /* destination given in the file */
	enum lethe_log_dest log_dest;
	int log_level;
} kdcd_config;

/*
 * Read the configuration file at path into *cfg (defaults for what it
 * leaves out). Relative paths in it are taken from the file's directory.
 * Unknown sections or keys are errors. err says what is wrong and where.
 */
lethe_status kdcd_config_load(const char *path, kdcd_config *cfg, lethe_conf_error *err);

#endif
