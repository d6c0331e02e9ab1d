/* AS exchange: AS-REQ with encrypted timestamp, AS-REP processing. */
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* AS-REQ answered by PREAUTH_REQUIRED, then AS-REQ with PA-ENC-TIMESTAMP. */
#define KCL_MAX_ROUNDS 2

static lethe_status
copy_etypes(int32_t *dst, size_t *n_dst, const int32_t *src, size_t n_src)
{
	if (src == NULL || n_src == 0) {
		src = kcl_default_etypes;
		n_src = sizeof(kcl_default_etypes) / sizeof(kcl_default_etypes[0]);
	}
	ENSURE(n_src <= KCL_MAX_ETYPES, LETHE_ERR_INVALID_ARG);
	memcpy(dst, src, n_src * sizeof(*src));
	*n_dst = n_src;
	return LETHE_OK;
}

lethe_status
kcl_as_init(kcl_as_ctx *ctx, const kcl_as_params *p)
{
	lethe_status rc;

	ENSURE(ctx != NULL, LETHE_ERR_INVALID_ARG);
	memset(ctx, 0, sizeof(*ctx));
	ENSURE(p != NULL && p->client != NULL && p->realm != NULL, LETHE_ERR_INVALID_ARG);
	der_writer_init(&ctx->ts_writer, 256);
	der_writer_init(&ctx->pa_writer, 1024);
	lethe_arena_init(&ctx->arena, KCL_ARENA_BUDGET);
	GUARD_GOTO(rc, kcl_name_parse(&ctx->client, p->client, p->realm));
	if (p->server != NULL)
		GUARD_GOTO(rc, kcl_name_parse(&ctx->server, p->server, p->realm));
	else
		GUARD_GOTO(rc, kcl_name_krbtgt(&ctx->server, ctx->client.realm));
	GUARD_GOTO(rc, copy_etypes(ctx->etypes, &ctx->n_etypes, p->etypes, p->n_etypes));
	ctx->kdc_options = p->kdc_options ? p->kdc_options :
			   KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE_OK;
	ctx->lifetime = p->lifetime > 0 ? p->lifetime : KCL_DEFAULT_LIFETIME;
	ctx->renew_life = p->renew_life > 0 ? p->renew_life : 0;
	ctx->mit_padata = p->mit_padata;
	if (ctx->renew_life > 0)
		ctx->kdc_options |= KRB_KDC_OPT_RENEWABLE;
cleanup:
	if (rc != LETHE_OK)
		kcl_as_free(ctx);
	return rc;
}

/* Keep a copy of a PA-FX-COOKIE value to echo (an empty one is kept too). */
static lethe_status
set_cookie(kcl_as_ctx *ctx, lbytes value)
{
	uint8_t *copy;

	ENSURE(value.len <= KCL_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	copy = malloc(value.len ? value.len : 1);
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	if (value.len)
		memcpy(copy, value.data, value.len);
	free(ctx->cookie);
	ctx->cookie = copy;
	ctx->cookie_len = value.len;
	return LETHE_OK;
}

lethe_status
kcl_as_clone(kcl_as_ctx *dst, const kcl_as_ctx *src)
{
	lethe_status rc;

	ENSURE(dst != NULL && src != NULL, LETHE_ERR_INVALID_ARG);
	memset(dst, 0, sizeof(*dst));
	der_writer_init(&dst->ts_writer, 256);
	der_writer_init(&dst->pa_writer, 1024);
	lethe_arena_init(&dst->arena, KCL_ARENA_BUDGET);
	GUARD_GOTO(rc, kcl_name_copy(&dst->client, &src->client));
	GUARD_GOTO(rc, kcl_name_copy(&dst->server, &src->server));
	memcpy(dst->etypes, src->etypes, sizeof(dst->etypes));
	dst->n_etypes = src->n_etypes;
	dst->kdc_options = src->kdc_options;
	dst->lifetime = src->lifetime;
	dst->renew_life = src->renew_life;
	dst->mit_padata = src->mit_padata;
	if (src->cookie != NULL)
		GUARD_GOTO(rc, set_cookie(dst, lbytes_make(src->cookie, src->cookie_len)));
	if (src->key != NULL)
		GUARD_GOTO(rc, kcl_key_dup(src->key, &dst->key));
	if (src->password != NULL)
		GUARD_GOTO(rc, kcl_as_set_password(dst, lbytes_make(src->password,
								   src->password_len)));
cleanup:
	if (rc != LETHE_OK)
		kcl_as_free(dst);
	return rc;
}

static void
forget_password(kcl_as_ctx *ctx)
{
	kcl_free_secret(ctx->password, ctx->password_len);
	ctx->password = NULL;
	ctx->password_len = 0;
}

lethe_status
kcl_as_set_password(kcl_as_ctx *ctx, lbytes password)
{
	uint8_t *copy;

	ENSURE(ctx != NULL && password.len <= KCL_MAX_PASSWORD, LETHE_ERR_INVALID_ARG);
	copy = malloc(password.len ? password.len : 1);
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	if (password.len)
		memcpy(copy, password.data, password.len);
	forget_password(ctx);
	kc_key_free(ctx->key);
	ctx->key = NULL;
	ctx->password = copy;
	ctx->password_len = password.len;
	return LETHE_OK;
}

lethe_status
kcl_as_set_key(kcl_as_ctx *ctx, const kc_key *key)
{
	kc_key *copy = NULL;

	ENSURE(ctx != NULL && key != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(kcl_key_dup(key, &copy));
	forget_password(ctx);
	kc_key_free(ctx->key);
	ctx->key = copy;
	return LETHE_OK;
}

void
kcl_as_free(kcl_as_ctx *ctx)
{
	if (ctx == NULL)
		return;
	forget_password(ctx);
	kc_key_free(ctx->key);
	kcl_name_clear(&ctx->client);
	kcl_name_clear(&ctx->server);
	der_writer_free(&ctx->ts_writer);
	der_writer_free(&ctx->pa_writer);
	free(ctx->ts_cipher);
	free(ctx->cookie);
	lethe_arena_free(&ctx->arena);
	memset(ctx, 0, sizeof(*ctx));
}

/* Prepend PA-ENC-TIMESTAMP's EncryptedData, made from the current time, to w. */
static lethe_status
put_enc_timestamp(kcl_as_ctx *ctx, der_writer *w)
{
	krb_pa_enc_ts_enc ts = { .has_pausec = true };
	krb_enc_data ed;

	kcl_now(&ts.patimestamp, &ts.pausec);
	der_writer_reset(&ctx->ts_writer);
	GUARD(krb_encode_pa_enc_ts_enc(&ctx->ts_writer, &ts));
	GUARD(kcl_encrypt_buf(ctx->key, KRB_KU_PA_ENC_TIMESTAMP, der_written(&ctx->ts_writer),
			     &ctx->ts_cipher, &ctx->ts_cipher_cap, &ed));
	return krb_encode_enc_data(w, &ed);
}

lethe_status
kcl_as_build(kcl_as_ctx *ctx, uint32_t nonce, der_writer *w)
{
	krb_kdc_req req = { .msg_type = KRB_MSG_AS_REQ };
	krb_kdc_req_body *b = &req.body;
	krb_pa_data pa[4];
	size_t n_pa = 0;
	int64_t now;
	int32_t usec;

	ENSURE(ctx != NULL && w != NULL, LETHE_ERR_INVALID_ARG);
	kcl_now(&now, &usec);
	b->kdc_options = ctx->kdc_options;
	b->has_cname = true;
	b->cname = kcl_name_principal(&ctx->client);
	b->realm = ctx->client.realm;
	b->has_sname = true;
	b->sname = kcl_name_principal(&ctx->server);
	b->has_till = true;
	b->till = now + ctx->lifetime;
	b->has_rtime = ctx->renew_life > 0;
	b->rtime = now + ctx->renew_life;
	b->nonce = nonce;
	b->etypes = ctx->etypes;
	b->n_etypes = ctx->n_etypes;
	if (ctx->key != NULL) {
		der_writer_reset(&ctx->pa_writer);
		GUARD(put_enc_timestamp(ctx, &ctx->pa_writer));
		if (ctx->mit_padata && ctx->cookie != NULL)
			pa[n_pa++] = (krb_pa_data){ .padata_type = KRB_PA_FX_COOKIE,
				.padata_value = lbytes_make(ctx->cookie, ctx->cookie_len) };
		pa[n_pa++] = (krb_pa_data){ .padata_type = KRB_PA_ENC_TIMESTAMP,
					    .padata_value = der_written(&ctx->pa_writer) };
		if (ctx->mit_padata) {
			pa[n_pa++] = (krb_pa_data){ .padata_type = KRB_PA_AS_FRESHNESS };
			pa[n_pa++] = (krb_pa_data){ .padata_type = KRB_PA_REQ_ENC_PA_REP };
		}
		req.padata.items = pa;
		req.padata.count = n_pa;
	}
	return krb_encode_as_req(w, &req);
}

/* The default salt of n (crypto's kc_salt_default) in a heap buffer. */
static lethe_status
default_salt(const kcl_name *n, uint8_t **out, size_t *out_len)
{
	size_t len = 0;
	uint8_t *buf;
	lethe_status rc;

	rc = kc_salt_default(n->realm, n->comps, n->n_comps, NULL, 0, &len);
	ENSURE(rc == LETHE_OK || rc == LETHE_ERR_TOO_BIG, rc);
	buf = malloc(len ? len : 1);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	rc = kc_salt_default(n->realm, n->comps, n->n_comps, buf, len ? len : 1, &len);
	if (rc != LETHE_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = len;
	return LETHE_OK;
}

static bool
etype_offered(const kcl_as_ctx *ctx, int32_t etype)
{
	for (size_t i = 0; i < ctx->n_etypes; i++)
		if (ctx->etypes[i] == etype)
			return kc_enctype_supported(etype);
	return false;
}

/* The first PA-ETYPE-INFO2 entry of md for an etype we asked for, or NULL. */
static const krb_etype_info2_entry *
pick_etype_info(kcl_as_ctx *ctx, const krb_method_data *md, lethe_status *rc)
{
	const krb_pa_data *pa = krb_find_padata(md, KRB_PA_ETYPE_INFO2);
	krb_etype_info2 info;

	*rc = LETHE_OK;
	if (pa == NULL)
		return NULL;
	*rc = krb_decode_etype_info2(&ctx->arena, pa->padata_value.data, pa->padata_value.len,
				     &info);
	if (*rc != LETHE_OK)
		return NULL;
	for (size_t i = 0; i < info.count; i++)
		if (etype_offered(ctx, info.items[i].etype))
			return &info.items[i];
	*rc = LETHE_ERR_ETYPE_NOSUPP;
	return NULL;
}

/*
 * Derive the client's key from the password, with the first usable
 * PA-ETYPE-INFO2 entry of md, or with etype and the default salt when md
 * has none (etype 0: then there must be an entry).
 */
static lethe_status
derive_key(kcl_as_ctx *ctx, const krb_method_data *md, int32_t etype)
{
	const krb_etype_info2_entry *e;
	uint8_t *salt_buf = NULL;
	size_t salt_len = 0;
	lbytes salt, params = { 0 };
	lethe_status rc;

	ENSURE(ctx->password != NULL, LETHE_ERR_INVALID_ARG);   /* neither password nor key */
	e = pick_etype_info(ctx, md, &rc);
	GUARD(rc);
	if (e != NULL) {
		etype = e->etype;
		if (e->has_s2kparams)
			params = e->s2kparams;
	}
	ENSURE(etype != 0, LETHE_ERR_FORMAT);
	ENSURE(etype_offered(ctx, etype), LETHE_ERR_ETYPE_NOSUPP);
	if (e != NULL && e->has_salt) {
		salt = e->salt;
	} else {
		GUARD(default_salt(&ctx->client, &salt_buf, &salt_len));
		salt = lbytes_make(salt_buf, salt_len);
	}
	rc = kcl_key_from_password(etype, lbytes_make(ctx->password, ctx->password_len), salt,
				  params, &ctx->key);
	free(salt_buf);
	if (rc == LETHE_OK)
		forget_password(ctx);
	return rc;
}

/* A KRB-ERROR: learn the key from PREAUTH_REQUIRED, or report the error. */
static lethe_status
as_error(kcl_as_ctx *ctx, const uint8_t *rep, size_t len, bool *again, kcl_error *err)
{
	krb_error e;
	krb_method_data md;
	const krb_pa_data *cookie;

	GUARD(krb_decode_krb_error(&ctx->arena, rep, len, &e));
	kcl_error_set(err, &e);
	if (e.error_code != KDC_ERR_PREAUTH_REQUIRED || ctx->key != NULL)
		return kcl_status_for_krb_error(e.error_code);
	ENSURE(e.has_e_data, LETHE_ERR_FORMAT);
	GUARD(krb_decode_method_data(&ctx->arena, e.e_data.data, e.e_data.len, &md));
	GUARD(derive_key(ctx, &md, 0));
	cookie = krb_find_padata(&md, KRB_PA_FX_COOKIE);
	if (cookie != NULL)
		GUARD(set_cookie(ctx, cookie->padata_value));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	*again = true;
	return LETHE_OK;
}

/* True when the reply names the server asked for (any name in its realm if canonicalizing). */
static bool
server_matches(const kcl_name *asked, uint32_t options, const krb_principal_name *name,
	       lbytes realm)
{
	if (options & KRB_KDC_OPT_CANONICALIZE)
		return lbytes_eq(asked->realm, realm);
	return kcl_name_matches(asked, name, realm);
}

static lethe_status
as_reply(kcl_as_ctx *ctx, const uint8_t *rep, size_t len, uint32_t nonce, kcl_cred *cred)
{
	krb_kdc_rep r;
	krb_enc_kdc_rep_part part;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	lethe_status rc;

	GUARD(krb_decode_as_rep(&ctx->arena, rep, len, &r));
	ENSURE(kcl_name_matches(&ctx->client, &r.cname, r.crealm), KCL_ERR_REPLY_MISMATCH);
	if (ctx->key == NULL)
		GUARD(derive_key(ctx, &r.padata, r.enc_part.etype));
	ENSURE(r.enc_part.etype == kc_key_enctype(ctx->key), LETHE_ERR_ETYPE_NOSUPP);
	GUARD(kcl_open_rep_part(ctx->key, KRB_KU_AS_REP_ENC_PART, &r.enc_part, &ctx->arena,
			       &part, &plain, &plain_len));
	ENSURE_GOTO(rc, part.nonce == nonce, KCL_ERR_REPLY_MISMATCH);
	ENSURE_GOTO(rc, server_matches(&ctx->server, ctx->kdc_options, &part.sname, part.srealm),
		    KCL_ERR_REPLY_MISMATCH);
	ENSURE_GOTO(rc, krb_principal_realm_eq(&part.sname, part.srealm, &r.ticket.sname,
					       r.ticket.realm), KCL_ERR_REPLY_MISMATCH);
	rc = kcl_cred_fill(cred, &ctx->client, &part, &r.ticket);
cleanup:
	kcl_free_secret(plain, plain_len);
	return rc;
}

lethe_status
kcl_as_process(kcl_as_ctx *ctx, const uint8_t *rep, size_t len, uint32_t nonce,
	      kcl_cred *cred, bool *again, kcl_error *err)
{
	ENSURE(ctx != NULL && rep != NULL && cred != NULL && again != NULL,
	       LETHE_ERR_INVALID_ARG);
	*again = false;
	lethe_arena_reset(&ctx->arena);
	if (len > 0 && rep[0] == 0x7e)
		return as_error(ctx, rep, len, again, err);
	return as_reply(ctx, rep, len, nonce, cred);
}

lethe_status
kcl_as_check(kcl_as_ctx *ctx, const uint8_t *rep, size_t len, kcl_error *err)
{
	krb_kdc_rep r;

	ENSURE(ctx != NULL && rep != NULL && ctx->key != NULL, LETHE_ERR_INVALID_ARG);
	lethe_arena_reset(&ctx->arena);
	if (len > 0 && rep[0] == 0x7e) {
		lethe_status rc = kcl_check_krb_error(rep, len, err);
		return rc != LETHE_OK ? rc : LETHE_ERR_FORMAT;
	}
	GUARD(krb_decode_as_rep(&ctx->arena, rep, len, &r));
	ENSURE(kcl_name_matches(&ctx->client, &r.cname, r.crealm), KCL_ERR_REPLY_MISMATCH);
	ENSURE(server_matches(&ctx->server, ctx->kdc_options, &r.ticket.sname, r.ticket.realm),
	       KCL_ERR_REPLY_MISMATCH);
	ENSURE(r.enc_part.etype == kc_key_enctype(ctx->key), LETHE_ERR_ETYPE_NOSUPP);
	return LETHE_OK;
}

lethe_status
kcl_get_tgt(kcl_as_ctx *ctx, const kcl_kdc *kdc, kcl_cred *cred, kcl_error *err)
{
	der_writer w;
	uint8_t *rep = NULL;
	size_t rep_len = 0;
	lethe_status rc = KCL_ERR_KDC_REFUSED;

	ENSURE(ctx != NULL && kdc != NULL && cred != NULL, LETHE_ERR_INVALID_ARG);
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	der_writer_init(&w, KCL_MAX_MESSAGE);
	for (int round = 0; round < KCL_MAX_ROUNDS; round++) {
		uint32_t nonce;
		bool again = false;
		lbytes req;

		GUARD_GOTO(rc, kcl_nonce(&nonce));
		der_writer_reset(&w);
		GUARD_GOTO(rc, kcl_as_build(ctx, nonce, &w));
		req = der_written(&w);
		GUARD_GOTO(rc, kcl_exchange(kdc, req.data, req.len, &rep, &rep_len));
		rc = kcl_as_process(ctx, rep, rep_len, nonce, cred, &again, err);
		free(rep);
		rep = NULL;
		if (rc != LETHE_OK || !again)
			goto cleanup;
		rc = KCL_ERR_KDC_REFUSED;   /* if the rounds run out */
	}
cleanup:
	der_writer_free(&w);
	return rc;
}
