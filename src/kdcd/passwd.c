/* lethe-kdc: applying kpasswd changes to the store (see kdcd/passwd.h). */
#include "kdcd/passwd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/wipe.h"

struct kdcd_passwd {
	pthread_mutex_t mu;         /* one change at a time: a store handle is one thread's */
	store *st;
	kdcd_passwd_changed_fn changed;
	void *changed_ctx;
};

lethe_status
kdcd_passwd_new(store *st, kdcd_passwd_changed_fn changed, void *ctx, kdcd_passwd **out)
{
	kdcd_passwd *p;

	*out = NULL;
	ENSURE(st != NULL, LETHE_ERR_INVALID_ARG);
	p = calloc(1, sizeof(*p));
	ENSURE(p != NULL, LETHE_ERR_NOMEM);
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return LETHE_ERR_NOMEM;
	}
	p->st = st;
	p->changed = changed;
	p->changed_ctx = ctx;
	*out = p;
	return LETHE_OK;
}

void
kdcd_passwd_free(kdcd_passwd *p)
{
	if (p == NULL)
		return;
	store_close(p->st);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Store keys from pw under the target's policy; a KDC_KPASSWD_* result and text. */
static uint16_t
apply_locked(kdcd_passwd *p, const kdc_password_change *c, const char *pw, char *text,
    size_t cap)
{
	enum store_pw_verdict verdict = STORE_PW_OK;
	uint32_t kvno = 0;
	lethe_status rc;

	rc = store_principal_set_password(p->st, c->target, pw, &kvno, &verdict, text, cap);
	if (rc == LETHE_OK && verdict != STORE_PW_OK)
		return KDC_KPASSWD_SOFTERROR;
	if (rc == LETHE_OK) {
		snprintf(text, cap, "Password changed");
		log_info("kpasswd: %s %s the password of %s (kvno %u)", c->client,
		    c->by_admin ? "set" : "changed", c->target, (unsigned)kvno);
		return KDC_KPASSWD_SUCCESS;
	}
	switch (store_error_kind(p->st)) {
	case STORE_E_NOT_FOUND:
		snprintf(text, cap, "Principal %s does not exist", c->target);
		return KDC_KPASSWD_HARDERROR;
	case STORE_E_INVALID:
		snprintf(text, cap, "%s is not a user: its keys are not a password", c->target);
		return KDC_KPASSWD_ACCESSDENIED;
	default:
		snprintf(text, cap, "The new password could not be stored");
		log_warnx("kpasswd: %s: %s", c->target, store_errmsg(p->st));
		return KDC_KPASSWD_HARDERROR;
	}
}

uint16_t
kdcd_passwd_apply(void *ctx, const kdc_password_change *c, char *text, size_t cap)
{
	kdcd_passwd *p = ctx;
	char pw[KDC_KPASSWD_PASSWORD_MAX + 1];
	uint16_t result;

	if (c->password.len >= sizeof(pw)) {
		snprintf(text, cap, "The password is too long");
		return KDC_KPASSWD_SOFTERROR;
	}
	memcpy(pw, c->password.data, c->password.len);
	pw[c->password.len] = '\0';
	pthread_mutex_lock(&p->mu);
	result = apply_locked(p, c, pw, text, cap);
	pthread_mutex_unlock(&p->mu);
	lethe_wipe(pw, sizeof(pw));
	if (result == KDC_KPASSWD_SUCCESS && p->changed != NULL)
		p->changed(p->changed_ctx);
	return result;
}
