/* lethe-kmp: pieces shared by the program's files (not part of liblethe). */
#ifndef LETHE_KMP_LETHE_KMP_H
#define LETHE_KMP_LETHE_KMP_H

#include <stdbool.h>
#include <stdint.h>

#include <sys/socket.h>

#include "client/client.h"
#include "kmp/kmp_role.h"

#define LKMP_TEST_CHANNEL_TAG 0xecu  /* first byte of an SA test-channel datagram */

/* How the client gets tickets: its own key (keytab or password) and the KDC. */
typedef struct lkmp_creds {
	kcl_kdc kdc;
	kcl_as_ctx as;
	kcl_cred tgt;
	bool have_tgt;
} lkmp_creds;

/*
 * Prepare AS state for principal in realm with the key from keytab_path
 * or the password in password_file (first line). Exactly one of them.
 */
lethe_status lkmp_creds_init(lkmp_creds *c, const char *kdc, const char *realm,
    const char *principal, const char *keytab_path, const char *password_file);
void lkmp_creds_free(lkmp_creds *c);

/* kmp_get_cred_fn: a TGT (once, or again on refresh) then a service ticket. */
lethe_status lkmp_get_cred(void *ctx, const char *principal, bool refresh,
    kcl_cred *cred);

/* "host:port" / "[v6]:port" / "host" (port 1293) into a sockaddr and a kmp_peer. */
lethe_status lkmp_addr_parse(const char *text, struct sockaddr_storage *ss,
    socklen_t *len);
lethe_status lkmp_peer_from(const struct sockaddr_storage *ss, socklen_t len,
    kmp_peer *out);

/* A UDP socket bound to text; fd in *out. */
lethe_status lkmp_udp_bind(const char *text, int *out);

/* kmp_io callbacks over the UDP socket whose fd is *(int *)ctx. */
lethe_status lkmp_udp_send(void *ctx, const kmp_peer *to, const uint8_t *msg,
    size_t len);
lethe_status lkmp_random(void *ctx, uint8_t *out, size_t len);
int64_t lkmp_unix_time(void *ctx);
void lkmp_peer_name(void *ctx, const kmp_peer *peer, char *buf, size_t cap);

/* Monotonic milliseconds. */
int64_t lkmp_now_ms(void);

#endif
