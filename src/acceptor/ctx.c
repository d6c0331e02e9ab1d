/* The acceptor context: parameters, keytab reloads, clock and counters. */
#include "acceptor/internal.h"
#include "registrar/registrar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void
default_clock(void *arg, int64_t *sec, int32_t *usec)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (int64_t)ts.tv_sec;
	*usec = (int32_t)(ts.tv_nsec / 1000);
}

void
acc_now(const acc_ctx *ctx, int64_t *sec, int32_t *usec)
{
	ctx->clock(ctx->clock_arg, sec, usec);
}

/* Check the parameters that need no allocation. */
static lethe_status
params_check(const acc_params *p)
{
	ENSURE(p != NULL && p->keytab_path != NULL && p->keytab_path[0] != '\0',
	       LETHE_ERR_INVALID_ARG);
	ENSURE(p->n_servers <= ACC_MAX_SERVERS, LETHE_ERR_INVALID_ARG);
	ENSURE(p->n_servers == 0 || p->servers != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(p->skew >= 0 && p->skew <= ACC_MAX_SKEW, LETHE_ERR_INVALID_ARG);
	ENSURE(p->rcache_max_entries <= ACC_MAX_RCACHE_ENTRIES, LETHE_ERR_INVALID_ARG);
	ENSURE(p->n_pubkey_kdc_certs <= ACC_MAX_KDC_CERTS, LETHE_ERR_INVALID_ARG);
	ENSURE(p->n_pubkey_kdc_certs == 0 || p->pubkey_kdc_certs != NULL, LETHE_ERR_INVALID_ARG);
	/* Opening public-key tickets without the KDC's certificate would trust anyone. */
	ENSURE(p->pubkey_identity == NULL || p->n_pubkey_kdc_certs > 0, LETHE_ERR_INVALID_ARG);
	return LETHE_OK;
}

/* Pin the public keys of the KDC certificates public-key tickets must be signed by. */
static lethe_status
kdc_pins_make(acc_ctx *ctx, const acc_params *p)
{
	size_t i;

	if (p->n_pubkey_kdc_certs == 0)
		return LETHE_OK;
	ctx->kdc_spki = calloc(p->n_pubkey_kdc_certs, sizeof(*ctx->kdc_spki));
	ctx->kdc_pins = calloc(p->n_pubkey_kdc_certs, sizeof(*ctx->kdc_pins));
	ENSURE(ctx->kdc_spki != NULL && ctx->kdc_pins != NULL, LETHE_ERR_NOMEM);
	for (i = 0; i < p->n_pubkey_kdc_certs; i++) {
		ENSURE(p->pubkey_kdc_certs[i] != NULL, LETHE_ERR_INVALID_ARG);
		GUARD(reg_spki_sha256_hex(p->pubkey_kdc_certs[i], ctx->kdc_spki[i]));
		ctx->kdc_pins[i] = ctx->kdc_spki[i];
	}
	ctx->n_kdc_pins = p->n_pubkey_kdc_certs;
	return LETHE_OK;
}

/* Parse the accepted server names; each must carry its realm. */
static lethe_status
servers_parse(acc_ctx *ctx, const acc_params *p)
{
	size_t i;

	if (p->n_servers == 0)
		return LETHE_OK;
	ctx->servers = calloc(p->n_servers, sizeof(*ctx->servers));
	ENSURE(ctx->servers != NULL, LETHE_ERR_NOMEM);
	for (i = 0; i < p->n_servers; i++) {
		ENSURE(p->servers[i] != NULL, LETHE_ERR_INVALID_ARG);
		GUARD(kt_principal_parse(p->servers[i], strlen(p->servers[i]), NULL,
					 &ctx->servers[i]));
		ctx->n_servers++;
	}
	return LETHE_OK;
}

lethe_status
acc_ctx_new(const acc_params *p, acc_ctx **out)
{
	acc_ctx *ctx;
	lethe_status rc;

	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(params_check(p));
	ctx = calloc(1, sizeof(*ctx));
	ENSURE(ctx != NULL, LETHE_ERR_NOMEM);
	ctx->skew = p->skew != 0 ? p->skew : ACC_DEFAULT_SKEW;
	ctx->clock = p->clock != NULL ? p->clock : default_clock;
	ctx->clock_arg = p->clock_arg;
	ctx->pubkey_identity = p->pubkey_identity;
	if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
		free(ctx);
		return LETHE_ERR_NOMEM;
	}
	ctx->keytab_path = strdup(p->keytab_path);
	ENSURE_GOTO(rc, ctx->keytab_path != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, servers_parse(ctx, p));
	GUARD_GOTO(rc, kdc_pins_make(ctx, p));
	ctx->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ENSURE_GOTO(rc, ctx->sha256 != NULL, LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, acc_rcache_new(p->rcache_max_entries != 0 ? p->rcache_max_entries :
				      ACC_DEFAULT_RCACHE_ENTRIES, &ctx->rcache));
	GUARD_GOTO(rc, acc_reload_keytab(ctx, true));
	*out = ctx;
	ctx = NULL;
cleanup:
	acc_ctx_free(ctx);
	return rc;
}

void
acc_ctx_free(acc_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	acc_keyset_release(ctx->keys);
	acc_rcache_free(ctx->rcache);
	EVP_MD_free(ctx->sha256);
	for (i = 0; i < ctx->n_servers; i++)
		kt_principal_clear(&ctx->servers[i]);
	free(ctx->servers);
	free(ctx->keytab_path);
	free(ctx->kdc_spki);
	free(ctx->kdc_pins);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

/* True when st describes another file, or the same file changed, than last read. */
static bool
file_changed(const acc_ctx *ctx, const struct stat *st, bool missing)
{
	if (!ctx->have_identity)
		return true;
	if (missing || ctx->file_missing)
		return missing != ctx->file_missing;
	return st->st_dev != ctx->dev || st->st_ino != ctx->ino || st->st_size != ctx->size ||
	       st->st_mtim.tv_sec != ctx->mtime.tv_sec ||
	       st->st_mtim.tv_nsec != ctx->mtime.tv_nsec;
}

static void
identity_set(acc_ctx *ctx, const struct stat *st, bool missing)
{
	ctx->have_identity = true;
	ctx->file_missing = missing;
	if (missing)
		return;
	ctx->dev = st->st_dev;
	ctx->ino = st->st_ino;
	ctx->size = st->st_size;
	ctx->mtime = st->st_mtim;
}

/*
 * With ctx->lock held: stat the keytab and re-read it if it changed (or
 * force). The file is stat()ed before it is read, so a replacement racing
 * the read is seen at the next check.
 */
static lethe_status
reload_locked(acc_ctx *ctx, bool force)
{
	struct stat st;
	bool missing = false;
	acc_keyset *ks = NULL, *old;

	if (stat(ctx->keytab_path, &st) != 0) {
		ENSURE(errno == ENOENT, LETHE_ERR_IO);
		missing = true;
	}
	if (!force && !file_changed(ctx, &st, missing))
		return LETHE_OK;
	GUARD(acc_keyset_load(ctx->keytab_path, &ks));
	identity_set(ctx, &st, missing);
	old = ctx->keys;
	ctx->keys = ks;
	acc_keyset_release(old);
	atomic_fetch_add(&ctx->n_keytab_loads, 1);
	return LETHE_OK;
}

lethe_status
acc_reload_keytab(acc_ctx *ctx, bool force)
{
	int64_t now;
	int32_t usec;
	lethe_status rc;

	ENSURE(ctx != NULL, LETHE_ERR_INVALID_ARG);
	acc_now(ctx, &now, &usec);
	pthread_mutex_lock(&ctx->lock);
	ctx->last_check = now;
	rc = reload_locked(ctx, force);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

lethe_status
acc_keys_acquire(acc_ctx *ctx, bool check_now, acc_keyset **out)
{
	int64_t now;
	int32_t usec;
	lethe_status rc = LETHE_OK;

	acc_now(ctx, &now, &usec);
	pthread_mutex_lock(&ctx->lock);
	if (check_now || now != ctx->last_check) {
		ctx->last_check = now;
		rc = reload_locked(ctx, false);
	}
	/* A failed re-read keeps the previous keys, which stay usable. */
	if (ctx->keys != NULL) {
		atomic_fetch_add(&ctx->keys->refs, 1);
		rc = LETHE_OK;
	}
	*out = ctx->keys;
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

void
acc_stats_get(acc_ctx *ctx, acc_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ctx == NULL)
		return;
	out->ticket_decrypts = atomic_load(&ctx->n_ticket_decrypts);
	out->authenticator_decrypts = atomic_load(&ctx->n_auth_decrypts);
	out->accepted = atomic_load(&ctx->n_accepted);
	out->refused = atomic_load(&ctx->n_refused);
	out->replays = atomic_load(&ctx->n_replays);
	out->rcache_full = atomic_load(&ctx->n_rcache_full);
	out->pubkey_signature_refused = atomic_load(&ctx->n_pubkey_sig_refused);
	out->keytab_loads = atomic_load(&ctx->n_keytab_loads);
	out->rcache_entries = acc_rcache_count(ctx->rcache);
}
