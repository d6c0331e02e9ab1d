/*
 * The messages of lethe-bench: fresh AS-REQs (new nonce, new encrypted
 * timestamp) or TGS-REQs (new nonce, new authenticator) from pre-derived
 * keys and reused encoders, and the checks of their replies.
 */
#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define NONCE_POOL 1024u   /* random bytes fetched at once */

const int32_t bench_mit_etypes[8] = { 18, 17, 20, 19, 16, 23, 25, 26 };

struct bench_engine {
	const bench_shared *sh;
	enum bench_mode mode;
	kcl_as_ctx as;               /* this thread's copy: names and key */
	kcl_tgs_ctx tgs;
	kcl_tgs_params tgs_params;
	der_writer w;                /* the request */
	kcl_cred cred;               /* what a verified reply gave; reused */
	uint8_t pool[NONCE_POOL];
	size_t pool_pos;
};

lethe_status
bench_engine_new(const bench_shared *sh, bench_engine **out)
{
	bench_engine *e = calloc(1, sizeof(*e));
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_NOMEM);
	e->sh = sh;
	e->mode = sh->cfg->mode;
	e->pool_pos = NONCE_POOL;
	der_writer_init(&e->w, KCL_MAX_MESSAGE);
	kcl_tgs_ctx_init(&e->tgs);
	e->tgs_params.server = &sh->service;
	if (sh->cfg->shape == BENCH_SHAPE_MIT) {
		e->tgs_params.etypes = bench_mit_etypes;
		e->tgs_params.n_etypes = sizeof(bench_mit_etypes) / sizeof(bench_mit_etypes[0]);
		e->tgs_params.kdc_options = KRB_KDC_OPT_CANONICALIZE;
		e->tgs_params.use_subkey = true;
	}
	GUARD_GOTO(rc, kcl_as_clone(&e->as, sh->as));
	*out = e;
	e = NULL;
cleanup:
	bench_engine_free(e);
	return rc;
}

void
bench_engine_free(bench_engine *e)
{
	if (e == NULL)
		return;
	kcl_as_free(&e->as);
	kcl_tgs_ctx_free(&e->tgs);
	der_writer_free(&e->w);
	kcl_cred_clear(&e->cred);
	free(e);
}

/* A 31-bit nonce from the engine's pool of RAND_bytes output. */
static lethe_status
next_nonce(bench_engine *e, uint32_t *out)
{
	if (e->pool_pos + 4 > NONCE_POOL) {
		ENSURE(RAND_bytes(e->pool, sizeof(e->pool)) == 1, LETHE_ERR_CRYPTO);
		e->pool_pos = 0;
	}
	const uint8_t *b = e->pool + e->pool_pos;
	*out = lethe_load_be32(b) & 0x7fffffffu;
	e->pool_pos += 4;
	return LETHE_OK;
}

lethe_status
bench_engine_build(bench_engine *e, bench_req_state *st, lbytes *req)
{
	uint32_t nonce;

	GUARD(next_nonce(e, &nonce));
	st->nonce = nonce;
	der_writer_reset(&e->w);
	if (e->mode == BENCH_AS)
		GUARD(kcl_as_build(&e->as, nonce, &e->w));
	else
		GUARD(kcl_tgs_build(&e->tgs, e->sh->tgt, &e->tgs_params, nonce, &st->tgs, &e->w));
	*req = der_written(&e->w);
	return LETHE_OK;
}

lethe_status
bench_engine_check(bench_engine *e, const bench_req_state *st, const uint8_t *rep,
		   size_t len, bool verify, int32_t *krb_code)
{
	kcl_error err = { 0 };
	bool again = false;
	lethe_status rc;

	*krb_code = 0;
	if (e->mode == BENCH_AS && verify)
		rc = kcl_as_process(&e->as, rep, len, st->nonce, &e->cred, &again, &err);
	else if (e->mode == BENCH_AS)
		rc = kcl_as_check(&e->as, rep, len, &err);
	else if (verify)
		rc = kcl_tgs_process(&e->tgs, e->sh->tgt, &e->tgs_params, &st->tgs, rep, len,
				     &e->cred, &err);
	else
		rc = kcl_tgs_check(&e->tgs, e->sh->tgt, &e->tgs_params, rep, len, &err);
	if (rc == LETHE_OK && again)
		rc = KCL_ERR_KDC_REFUSED;    /* PREAUTH_REQUIRED though the key is known */
	*krb_code = err.code;
	return rc;
}
