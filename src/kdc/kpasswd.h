/*
 * The kpasswd service (RFC 3244, as MIT's kadmind answers it): a user
 * changes their own password with a ticket for kadmin/changepw@REALM got
 * from the AS exchange (INITIAL), and an administrator named in the
 * configuration sets another principal's password (protocol 0xff80).
 *
 *	kdc_set_kpasswd(k, apply_password, ctx, "admin/admin@REALM");
 *	cfg.handler = kdc_kpasswd_handle; cfg.handler_ctx = k;   // a second kdc_net
 *	cfg.worker_init = kdc_worker_init; cfg.worker_fini = kdc_worker_fini;
 *
 * A request is the RFC 3244 frame: length (2 bytes), version (1 or
 * 0xff80), AP-REQ length, AP-REQ, KRB-PRIV (on TCP inside the usual 4-byte
 * length prefix). The AP-REQ is checked against the snapshot's keys of
 * kadmin/changepw and its authenticator goes through the KDC's replay
 * cache; the KRB-PRIV is opened with the authenticator's subkey. The
 * answer is the frame with the AP-REP and a KRB-PRIV under the subkey
 * whose data is a result code (KDC_KPASSWD_*) and a text the user reads,
 * or, when the AP-REQ cannot be trusted, a KRB-ERROR whose e-data holds
 * them. A request that is not a frame at all gets no answer.
 */
#ifndef LETHE_KDC_KPASSWD_H
#define LETHE_KDC_KPASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "der/der.h"
#include "kdc/kdc.h"
#include "krb5/types.h"

#define KDC_KPASSWD_PORT 464
#define KDC_KPASSWD_VERSION_CHANGE 0x0001u
#define KDC_KPASSWD_VERSION_SET 0xff80u
#define KDC_KPASSWD_SERVICE "kadmin"
#define KDC_KPASSWD_INSTANCE "changepw"
#define KDC_KPASSWD_TEXT_MAX 256        /* bytes of the result text */
#define KDC_KPASSWD_PASSWORD_MAX 1024   /* longest new password accepted */

/* Result codes (RFC 3244 §2, and 7 of MIT). */
enum kdc_kpasswd_result {
	KDC_KPASSWD_SUCCESS = 0,
	KDC_KPASSWD_MALFORMED = 1,
	KDC_KPASSWD_HARDERROR = 2,
	KDC_KPASSWD_AUTHERROR = 3,
	KDC_KPASSWD_SOFTERROR = 4,      /* the password policy refused it */
	KDC_KPASSWD_ACCESSDENIED = 5,
	KDC_KPASSWD_BAD_VERSION = 6,
	KDC_KPASSWD_INITIAL_FLAG_NEEDED = 7,
};

/* The parts of a request frame; views into the request. */
typedef struct kdc_kpasswd_frame {
	uint16_t version;
	lbytes ap_req;
	lbytes priv;
} kdc_kpasswd_frame;

/*
 * Split msg[0..len) into its parts. LETHE_ERR_FORMAT when the length field
 * is not len, or the AP-REQ length leaves no KRB-PRIV (the version is not
 * checked here).
 */
lethe_status kdc_kpasswd_parse_frame(const uint8_t *msg, size_t len, kdc_kpasswd_frame *out);

/* ChangePasswdData (RFC 3244 §2): the user data of a 0xff80 request. */
typedef struct kdc_kpasswd_setpw {
	lbytes newpasswd;
	bool has_targname;
	krb_principal_name targname;
	bool has_targrealm;
	lbytes targrealm;
} kdc_kpasswd_setpw;

/* Decode ChangePasswdData from data into out (name parts in a). */
lethe_status kdc_kpasswd_decode_setpw(lethe_arena *a, lbytes data, kdc_kpasswd_setpw *out);

/* Prepend ChangePasswdData to w (clients and tests). */
lethe_status kdc_kpasswd_encode_setpw(der_writer *w, const kdc_kpasswd_setpw *in);

/* One password change, as decided by the protocol. */
typedef struct kdc_password_change {
	const char *client;       /* canonical name of the ticket's client */
	const char *target;       /* canonical name whose password changes */
	bool by_admin;            /* an administrator sets another's password */
	lbytes password;          /* secret: the new password, not NUL-terminated */
} kdc_password_change;

/*
 * Apply c (policy checks, new keys): a KDC_KPASSWD_* result, with the
 * text the user reads in text[0..cap) ("" for none). Called from a
 * kpasswd worker thread; may block on the store. It must not keep the
 * password.
 */
typedef uint16_t (*kdc_password_fn)(void *ctx, const kdc_password_change *c, char *text,
    size_t cap);

/*
 * Install the hook that changes passwords and the administrators who may
 * set any password (canonical names separated by spaces or commas; NULL
 * or "" for none). Without a hook every request gets HARDERROR. Call
 * before any kpasswd worker runs.
 */
lethe_status kdc_set_kpasswd(kdc *k, kdc_password_fn fn, void *ctx, const char *admins);

/*
 * The kpasswd request handler (kdc_handler_fn of kdc/net.h; ctx is the
 * kdc), for a kdc_net of its own with kdc_worker_init / kdc_worker_fini.
 */
lethe_status kdc_kpasswd_handle(void *ctx, const kdc_req_info *info, const uint8_t *req,
    size_t req_len, uint8_t *rep, size_t rep_cap, size_t *rep_len);

#endif
