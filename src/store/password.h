/*
 * Password keys and password policy, shared by lethe-admin and the KDC's
 * kpasswd service, so a password set either way gives the same keys.
 */
#ifndef LETHE_STORE_PASSWORD_H
#define LETHE_STORE_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "keytab/keytab.h"
#include "store/store.h"

/*
 * One key per enctype of pol (its order), all with kvno: from password
 * and p's default salt (realm then components, RFC 4120 §4), or random
 * when password is NULL. keys has room for STORE_MAX_ENCTYPES; *nkeys
 * receives how many were made. On failure nothing secret is left in keys.
 */
lethe_status store_password_keys(const store_realm_policy *pol, const kt_principal *p,
    const char *password, uint32_t kvno, store_key *keys, size_t *nkeys);

#endif
