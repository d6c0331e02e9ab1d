/*
 * lethe-kdc's side of the kpasswd service: the hook (kdc_password_fn of
 * kdc/kpasswd.h) that checks a new password against the realm's policy
 * and stores its keys, through a store handle of its own.
 */
#ifndef LETHE_KDCD_PASSWD_H
#define LETHE_KDCD_PASSWD_H

#include "base/status.h"
#include "kdc/kpasswd.h"
#include "store/store.h"

typedef struct kdcd_passwd kdcd_passwd;

/* Called after a change is committed (e.g. to wake the refresher). */
typedef void (*kdcd_passwd_changed_fn)(void *ctx);

/* A hook owning st (closed by kdcd_passwd_free); changed may be NULL. */
lethe_status kdcd_passwd_new(store *st, kdcd_passwd_changed_fn changed, void *ctx,
    kdcd_passwd **out);

/* Close the store and free p. NULL is allowed. No call may be in flight. */
void kdcd_passwd_free(kdcd_passwd *p);

/* The kdc_password_fn; ctx is the kdcd_passwd. Serialised inside. */
uint16_t kdcd_passwd_apply(void *ctx, const kdc_password_change *c, char *text, size_t cap);

#endif
