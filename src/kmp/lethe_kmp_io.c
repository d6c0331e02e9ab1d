/* lethe-kmp: UDP, clocks, and the client's tickets from a KDC. */
#include "kmp/lethe_kmp.h"
#include "base/wipe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/conf.h"
#include "keytab/keytab.h"

lethe_status
lkmp_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	kcl_kdc k;
	char buf[300];
	const char *colon = strrchr(text, ':');
	const char *bracket = strrchr(text, ']');
	int n;

	/* kcl_kdc_parse defaults to port 88: give it KMP's default instead. */
	if (colon == NULL || (bracket != NULL && colon < bracket) ||
	    (bracket == NULL && strchr(text, ':') != colon))
		n = snprintf(buf, sizeof(buf), "%s:%d", text, KMP_PORT);
	else
		n = snprintf(buf, sizeof(buf), "%s", text);
	ENSURE(n > 0 && (size_t)n < sizeof(buf), LETHE_ERR_INVALID_ARG);
	GUARD(kcl_kdc_parse(buf, &k));
	*ss = k.addr;
	*len = k.addr_len;
	return LETHE_OK;
}

lethe_status
lkmp_peer_from(const struct sockaddr_storage *ss, socklen_t len, kmp_peer *out)
{
	return kmp_peer_set(out, ss, len);
}

lethe_status
lkmp_udp_bind(const char *text, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	GUARD(lkmp_addr_parse(text, &ss, &len));
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return LETHE_ERR_IO;
	}
	*out = fd;
	return LETHE_OK;
}

lethe_status
lkmp_udp_send(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n;

	n = sendto(fd, msg, len, 0, (const struct sockaddr *)to->addr, to->len);
	ENSURE(n >= 0 && (size_t)n == len, LETHE_ERR_IO);
	return LETHE_OK;
}

lethe_status
lkmp_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	return kc_random_bytes(out, len);
}

int64_t
lkmp_unix_time(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

int64_t
lkmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
lkmp_peer_name(void *ctx, const kmp_peer *peer, char *buf, size_t cap)
{
	struct sockaddr_storage ss;

	(void)ctx;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, peer->addr, peer->len);
	lethe_sockaddr_str((const struct sockaddr *)&ss, peer->len, buf, cap);
}

/* ------------------------------------------------------------ tickets */

static lethe_status
load_keytab_key(const char *path, const char *principal, const char *realm,
    kc_key *key)
{
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	const kt_entry *e;
	lethe_status rc;

	GUARD_GOTO(rc, kt_load(path, &kt));
	GUARD_GOTO(rc, kt_principal_parse(principal, strlen(principal), realm, &p));
	GUARD_GOTO(rc, kt_find(kt, &p, 0, 0, &e));
	rc = kc_key_init(key, e->enctype, kt_buf_view(e->key));
cleanup:
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

static lethe_status
read_password(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	bool ok;

	ENSURE(f != NULL, LETHE_ERR_IO);
	ok = fgets(buf, (int)cap, f) != NULL;
	fclose(f);
	ENSURE(ok, LETHE_ERR_IO);
	buf[strcspn(buf, "\r\n")] = '\0';
	return LETHE_OK;
}

lethe_status
lkmp_creds_init(lkmp_creds *c, const char *kdc, const char *realm,
    const char *principal, const char *keytab_path, const char *password_file)
{
	kcl_as_params p = { 0 };
	char password[KCL_MAX_PASSWORD + 2];
	kc_key key;
	lethe_status rc;

	memset(c, 0, sizeof(*c));
	memset(&key, 0, sizeof(key));
	ENSURE((keytab_path == NULL) != (password_file == NULL), LETHE_ERR_INVALID_ARG);
	GUARD(kcl_kdc_parse(kdc, &c->kdc));
	p.client = principal;
	p.realm = realm;
	GUARD(kcl_as_init(&c->as, &p));
	if (keytab_path != NULL) {
		GUARD_GOTO(rc, load_keytab_key(keytab_path, principal, realm, &key));
		rc = kcl_as_set_key(&c->as, &key);
	} else {
		GUARD_GOTO(rc, read_password(password_file, password, sizeof(password)));
		rc = kcl_as_set_password(&c->as, lbytes_make(password, strlen(password)));
	}
cleanup:
	lethe_wipe(password, sizeof(password));
	kc_key_clear(&key);
	if (rc != LETHE_OK)
		kcl_as_free(&c->as);
	return rc;
}

void
lkmp_creds_free(lkmp_creds *c)
{
	kcl_cred_clear(&c->tgt);
	kcl_as_free(&c->as);
	memset(c, 0, sizeof(*c));
}

lethe_status
lkmp_get_cred(void *ctx, const char *principal, bool refresh, kcl_cred *cred)
{
	lkmp_creds *c = ctx;
	kcl_tgs_params tp = { 0 };
	kcl_name server = { 0 };
	kcl_error err = { 0 };
	lethe_status rc;

	if (!c->have_tgt || refresh || c->tgt.endtime <= (int64_t)time(NULL) + 60) {
		kcl_cred_clear(&c->tgt);
		c->have_tgt = false;
		GUARD(kcl_get_tgt(&c->as, &c->kdc, &c->tgt, &err));
		c->have_tgt = true;
	}
	GUARD(kcl_name_parse(&server, principal, NULL));
	tp.server = &server;
	rc = kcl_get_service_ticket(&c->kdc, &c->tgt, &tp, cred, &err);
	kcl_name_clear(&server);
	return rc;
}
