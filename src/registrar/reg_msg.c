/*
 * DER codecs of the registration messages (docs/registration.md):
 * KeyWindow, RegistrationRequest, SealedKeys, RegistrationReply and
 * KeyRequest. Decoders are strict and bounded; encoders write backwards.
 */
#include "registrar/registrar.h"
#include "base/wipe.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "der/der.h"
#include "krb5/constants.h"
#include "krb5/krb5.h"

#define REG_ARENA_BUDGET (4u * REG_MAX_NAME_LEN + 1024u)

static const char *const result_names[REG_RESULT_COUNT] = {
	"OK", "MALFORMED", "TOO_BIG", "BAD_SIGNATURE", "UNTRUSTED",
	"CERT_EXPIRED", "WRONG_PRINCIPAL", "NOT_ALLOWED", "SKEW", "REPLAY",
	"KVNO_EXISTS", "POLICY", "SEALED_KEYS", "WRONG_REALM", "INTERNAL",
	"TRY_LATER",
};

const char *
reg_result_str(int result)
{
	if (result < 0 || result >= REG_RESULT_COUNT)
		return "UNKNOWN";
	return result_names[result];
}

void
reg_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	lethe_wipe(p, len);
	free(p);
}

void
reg_sealed_keys_clear(reg_sealed_keys *k)
{
	if (k != NULL)
		lethe_wipe(k, sizeof(*k));
}

/* ------------------------------------------------------------ helpers */

/* The wire name type of a principal with n components. */
static int32_t
wire_name_type(size_t n)
{
	return n == 2 ? KRB_NT_SRV_HST : KRB_NT_PRINCIPAL;
}

/* True when s[0..len) is well-formed UTF-8 without NUL characters. */
static bool
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Length of a NUL-terminated string held in an array of cap bytes, or cap. */
static size_t
bounded_len(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	return nul == NULL ? cap : (size_t)(nul - s);
}

/* Prepend [n] UTF8String s (NUL-terminated within cap bytes). */
static lethe_status
put_ctx_utf8(der_writer *w, unsigned n, const char *s, size_t cap)
{
	size_t len = bounded_len(s, cap);
	size_t m = der_mark(w);

	if (len == cap || !utf8_valid((const uint8_t *)s, len))
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	der_put_raw(w, s, len);
	der_wrap(w, m, DER_UTF8_STRING);
	return der_wrap(w, m, DER_CTX(n));
}

/* Read [n] UTF8String into out[0..cap) with its NUL. */
static lethe_status
read_ctx_utf8(der_reader *r, unsigned n, char *out, size_t cap)
{
	der_reader inner, str;
	lbytes v;

	GUARD(der_ctx(r, n, &inner));
	GUARD(der_read(&inner, DER_UTF8_STRING, &str));
	GUARD(der_finish(&inner));
	v = der_rest(&str);
	ENSURE(v.len < cap, LETHE_ERR_TOO_BIG);
	ENSURE(utf8_valid(v.data, v.len), LETHE_ERR_DER_VALUE);
	if (v.len != 0)
		memcpy(out, v.data, v.len);
	out[v.len] = '\0';
	return LETHE_OK;
}

/* Prepend [n] OCTET STRING (SIZE(16)). */
static lethe_status
put_ctx_nonce(der_writer *w, unsigned n, const uint8_t nonce[REG_NONCE_LEN])
{
	return der_put_ctx_octets(w, n, nonce, REG_NONCE_LEN);
}

static lethe_status
read_ctx_nonce(der_reader *r, unsigned n, uint8_t nonce[REG_NONCE_LEN])
{
	lbytes v;

	GUARD(der_ctx_octets(r, n, &v));
	ENSURE(v.len == REG_NONCE_LEN, LETHE_ERR_DER_VALUE);
	memcpy(nonce, v.data, REG_NONCE_LEN);
	return LETHE_OK;
}

/*
 * Prepend realm [realm_tag] and PrincipalName [realm_tag + 1] for the
 * canonical text principal.
 */
static lethe_status
put_principal(der_writer *w, unsigned realm_tag, const char *principal)
{
	lethe_arena arena;
	krb_principal_name name;
	lbytes realm = { NULL, 0 };
	size_t len = bounded_len(principal, REG_MAX_NAME_LEN + 1);
	size_t m;
	lethe_status rc;

	lethe_arena_init(&arena, REG_ARENA_BUDGET);
	ENSURE_GOTO(rc, len <= REG_MAX_NAME_LEN, LETHE_ERR_INVALID_ARG);
	rc = krb_principal_parse(&arena, principal, len, realm, &name, &realm);
	if (rc == LETHE_ERR_FORMAT)
		rc = LETHE_ERR_INVALID_ARG;
	GUARD_GOTO(rc, rc);
	ENSURE_GOTO(rc, realm.len != 0, LETHE_ERR_INVALID_ARG);
	name.name_type = wire_name_type(name.n_components);
	m = der_mark(w);
	krb_encode_principal_name(w, &name);
	der_wrap(w, m, DER_CTX(realm_tag + 1));
	rc = der_put_ctx_gstring(w, realm_tag, realm.data, realm.len);
cleanup:
	lethe_arena_free(&arena);
	return der_writer_fail(w, rc);
}

/* Read realm [realm_tag] and PrincipalName [realm_tag + 1] as canonical text. */
static lethe_status
read_principal(der_reader *r, unsigned realm_tag, char out[REG_MAX_NAME_LEN + 1])
{
	lethe_arena arena;
	krb_principal_name name;
	der_reader inner;
	lbytes realm;
	size_t len;
	lethe_status rc;

	lethe_arena_init(&arena, REG_ARENA_BUDGET + REG_MAX_MESSAGE);
	GUARD_GOTO(rc, der_ctx_gstring(r, realm_tag, &realm));
	ENSURE_GOTO(rc, realm.len != 0, LETHE_ERR_DER_VALUE);
	GUARD_GOTO(rc, der_ctx(r, realm_tag + 1, &inner));
	GUARD_GOTO(rc, krb_read_principal_name(&inner, &arena, &name));
	GUARD_GOTO(rc, der_finish(&inner));
	ENSURE_GOTO(rc, name.n_components != 0, LETHE_ERR_DER_VALUE);
	ENSURE_GOTO(rc, name.name_type == wire_name_type(name.n_components),
	    LETHE_ERR_DER_VALUE);
	rc = krb_principal_unparse(&name, realm, out, REG_MAX_NAME_LEN + 1, &len);
	if (rc == LETHE_OK && memchr(out, '\0', len) != NULL)
		rc = LETHE_ERR_FORMAT;
cleanup:
	lethe_arena_free(&arena);
	return rc;
}

/* ------------------------------------------------------------ KeyWindow */

static lethe_status
put_key_window(der_writer *w, const reg_key_window *k)
{
	size_t m = der_mark(w);

	der_put_ctx_gtime(w, 3, k->accept_until);
	der_put_ctx_gtime(w, 2, k->use_until);
	der_put_ctx_int64(w, 1, k->enctype);
	der_put_ctx_uint32(w, 0, k->kvno);
	return der_wrap(w, m, DER_SEQUENCE);
}

static lethe_status
read_key_window(der_reader *r, reg_key_window *k)
{
	der_reader seq;

	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_uint32(&seq, 0, &k->kvno));
	GUARD(der_ctx_int32(&seq, 1, &k->enctype));
	GUARD(der_ctx_gtime(&seq, 2, &k->use_until));
	GUARD(der_ctx_gtime(&seq, 3, &k->accept_until));
	return der_finish(&seq);
}

/* Prepend [n] SEQUENCE OF KeyWindow. */
static lethe_status
put_ctx_windows(der_writer *w, unsigned n, const reg_key_window *k, size_t count)
{
	size_t m = der_mark(w);

	for (size_t i = count; i > 0; i--)
		put_key_window(w, &k[i - 1]);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_CTX(n));
}

/* Read the SEQUENCE OF KeyWindow inside a [n] wrapper already opened. */
static lethe_status
read_windows(der_reader *inner, reg_key_window *k, size_t *count)
{
	der_reader seq;
	size_t n = 0;

	GUARD(der_read(inner, DER_SEQUENCE, &seq));
	GUARD(der_finish(inner));
	while (!der_at_end(&seq)) {
		ENSURE(n < REG_MAX_KEYS, LETHE_ERR_TOO_BIG);
		GUARD(read_key_window(&seq, &k[n]));
		n++;
	}
	*count = n;
	return LETHE_OK;
}

/* ------------------------------------------------------------ encoding */

/* Run the body encoder into a fresh writer and hand the bytes over. */
typedef lethe_status (*encode_fn)(der_writer *w, const void *in);

static lethe_status
encode_with(encode_fn fn, const void *in, uint8_t **out, size_t *out_len)
{
	der_writer w;
	lethe_status rc;

	*out = NULL;
	*out_len = 0;
	der_writer_init(&w, REG_MAX_MESSAGE);
	fn(&w, in);
	rc = der_writer_status(&w);
	if (rc == LETHE_OK)
		rc = der_writer_take(&w, out, out_len);
	der_writer_free(&w);
	return rc;
}

static lethe_status
encode_request(der_writer *w, const void *arg)
{
	const reg_request *in = arg;
	size_t m = der_mark(w);

	if (in->nkeys == 0 || in->nkeys > REG_MAX_KEYS || in->sealed_keys.len == 0 ||
	    in->sealed_keys.data == NULL)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	der_put_ctx_octets(w, 7, in->sealed_keys.data, in->sealed_keys.len);
	put_ctx_windows(w, 6, in->keys, in->nkeys);
	if (in->has_callback)
		put_ctx_utf8(w, 5, in->callback, sizeof(in->callback));
	if (in->has_answers)
		put_ctx_nonce(w, 4, in->answers);
	der_put_ctx_gtime(w, 3, in->timestamp);
	put_ctx_nonce(w, 2, in->nonce);
	put_principal(w, 0, in->principal);
	return der_wrap(w, m, DER_SEQUENCE);
}

/* Prepend [n] RequestBinding of in. */
static lethe_status
put_ctx_binding(der_writer *w, unsigned n, const reg_reply *in)
{
	size_t m = der_mark(w), mk;

	if (in->nkvnos == 0 || in->nkvnos > REG_MAX_KEYS)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	der_put_ctx_octets(w, 3, in->request_sha256, REG_DIGEST_LEN);
	mk = der_mark(w);
	for (size_t i = in->nkvnos; i > 0; i--)
		der_put_uint32(w, in->kvnos[i - 1]);
	der_wrap(w, mk, DER_SEQUENCE);
	der_wrap(w, mk, DER_CTX(2));
	put_principal(w, 0, in->principal);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_CTX(n));
}

static lethe_status
encode_reply(der_writer *w, const void *arg)
{
	const reg_reply *in = arg;
	size_t m = der_mark(w);

	if (in->has_granted ? in->ngranted > REG_MAX_KEYS : in->ngranted != 0)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	if (in->has_binding)
		put_ctx_binding(w, 5, in);
	if (in->has_granted)
		put_ctx_windows(w, 4, in->granted, in->ngranted);
	der_put_ctx_gtime(w, 3, in->server_time);
	put_ctx_utf8(w, 2, in->text, sizeof(in->text));
	der_put_ctx_int64(w, 1, in->result);
	put_ctx_nonce(w, 0, in->nonce);
	return der_wrap(w, m, DER_SEQUENCE);
}

static lethe_status
encode_key_request(der_writer *w, const void *arg)
{
	const reg_key_request *in = arg;
	size_t m = der_mark(w);

	der_put_ctx_gtime(w, 3, in->timestamp);
	put_ctx_nonce(w, 2, in->nonce);
	put_principal(w, 0, in->principal);
	return der_wrap(w, m, DER_SEQUENCE);
}

static lethe_status
encode_sealed_keys(der_writer *w, const void *arg)
{
	const reg_sealed_keys *in = arg;
	size_t m = der_mark(w);

	if (in->nkeys == 0 || in->nkeys > REG_MAX_KEYS)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	for (size_t i = in->nkeys; i > 0; i--) {
		const reg_sealed_key *k = &in->keys[i - 1];
		size_t mk = der_mark(w);

		if (k->key_len == 0 || k->key_len > REG_MAX_KEY_LEN)
			return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
		der_put_ctx_octets(w, 2, k->key, k->key_len);
		der_put_ctx_int64(w, 1, k->enctype);
		der_put_ctx_uint32(w, 0, k->kvno);
		der_wrap(w, mk, DER_SEQUENCE);
	}
	return der_wrap(w, m, DER_SEQUENCE);
}

lethe_status
reg_request_encode(const reg_request *in, uint8_t **out, size_t *out_len)
{
	return encode_with(encode_request, in, out, out_len);
}

lethe_status
reg_reply_encode(const reg_reply *in, uint8_t **out, size_t *out_len)
{
	return encode_with(encode_reply, in, out, out_len);
}

lethe_status
reg_key_request_encode(const reg_key_request *in, uint8_t **out, size_t *out_len)
{
	return encode_with(encode_key_request, in, out, out_len);
}

lethe_status
reg_sealed_keys_encode(const reg_sealed_keys *in, uint8_t **out, size_t *out_len)
{
	return encode_with(encode_sealed_keys, in, out, out_len);
}

/* ------------------------------------------------------------ decoding */

static lethe_status
decode_request_body(der_reader *seq, reg_request *out)
{
	der_reader inner;
	bool present;

	GUARD(read_principal(seq, 0, out->principal));
	GUARD(read_ctx_nonce(seq, 2, out->nonce));
	GUARD(der_ctx_gtime(seq, 3, &out->timestamp));
	if (der_next_is(seq, DER_CTX(4))) {
		GUARD(read_ctx_nonce(seq, 4, out->answers));
		out->has_answers = true;
	}
	if (der_next_is(seq, DER_CTX(5))) {
		GUARD(read_ctx_utf8(seq, 5, out->callback, sizeof(out->callback)));
		out->has_callback = true;
	}
	GUARD(der_ctx_opt(seq, 6, &inner, &present));
	ENSURE(present, LETHE_ERR_DER_TAG);
	GUARD(read_windows(&inner, out->keys, &out->nkeys));
	ENSURE(out->nkeys != 0, LETHE_ERR_DER_VALUE);
	GUARD(der_ctx_octets(seq, 7, &out->sealed_keys));
	ENSURE(out->sealed_keys.len != 0, LETHE_ERR_DER_VALUE);
	return der_finish(seq);
}

/* Read the RequestBinding inside a [n] wrapper already opened. */
static lethe_status
read_binding(der_reader *inner, reg_reply *out)
{
	der_reader seq, kv, list;
	lbytes digest;

	GUARD(der_read(inner, DER_SEQUENCE, &seq));
	GUARD(der_finish(inner));
	GUARD(read_principal(&seq, 0, out->principal));
	GUARD(der_ctx(&seq, 2, &kv));
	GUARD(der_read(&kv, DER_SEQUENCE, &list));
	GUARD(der_finish(&kv));
	while (!der_at_end(&list)) {
		ENSURE(out->nkvnos < REG_MAX_KEYS, LETHE_ERR_TOO_BIG);
		GUARD(der_read_uint32(&list, &out->kvnos[out->nkvnos]));
		out->nkvnos++;
	}
	ENSURE(out->nkvnos != 0, LETHE_ERR_DER_VALUE);
	GUARD(der_ctx_octets(&seq, 3, &digest));
	ENSURE(digest.len == REG_DIGEST_LEN, LETHE_ERR_DER_VALUE);
	memcpy(out->request_sha256, digest.data, REG_DIGEST_LEN);
	return der_finish(&seq);
}

static lethe_status
decode_reply_body(der_reader *seq, reg_reply *out)
{
	der_reader inner;

	GUARD(read_ctx_nonce(seq, 0, out->nonce));
	GUARD(der_ctx_int32(seq, 1, &out->result));
	GUARD(read_ctx_utf8(seq, 2, out->text, sizeof(out->text)));
	GUARD(der_ctx_gtime(seq, 3, &out->server_time));
	GUARD(der_ctx_opt(seq, 4, &inner, &out->has_granted));
	if (out->has_granted)
		GUARD(read_windows(&inner, out->granted, &out->ngranted));
	GUARD(der_ctx_opt(seq, 5, &inner, &out->has_binding));
	if (out->has_binding)
		GUARD(read_binding(&inner, out));
	return der_finish(seq);
}

static lethe_status
decode_key_request_body(der_reader *seq, reg_key_request *out)
{
	GUARD(read_principal(seq, 0, out->principal));
	GUARD(read_ctx_nonce(seq, 2, out->nonce));
	GUARD(der_ctx_gtime(seq, 3, &out->timestamp));
	return der_finish(seq);
}

static lethe_status
read_sealed_key(der_reader *r, reg_sealed_key *k)
{
	der_reader seq;
	lbytes v;

	GUARD(der_read(r, DER_SEQUENCE, &seq));
	GUARD(der_ctx_uint32(&seq, 0, &k->kvno));
	GUARD(der_ctx_int32(&seq, 1, &k->enctype));
	GUARD(der_ctx_octets(&seq, 2, &v));
	ENSURE(v.len != 0, LETHE_ERR_DER_VALUE);
	ENSURE(v.len <= REG_MAX_KEY_LEN, LETHE_ERR_TOO_BIG);
	memcpy(k->key, v.data, v.len);
	k->key_len = v.len;
	return der_finish(&seq);
}

static lethe_status
decode_sealed_keys_body(der_reader *seq, reg_sealed_keys *out)
{
	while (!der_at_end(seq)) {
		ENSURE(out->nkeys < REG_MAX_KEYS, LETHE_ERR_TOO_BIG);
		GUARD(read_sealed_key(seq, &out->keys[out->nkeys]));
		out->nkeys++;
	}
	ENSURE(out->nkeys != 0, LETHE_ERR_DER_VALUE);
	return LETHE_OK;
}

/* Open the outer SEQUENCE of der[0..len), which must be all of the input. */
static lethe_status
open_outer(const uint8_t *der, size_t len, der_reader *seq)
{
	der_reader r;

	ENSURE(der != NULL || len == 0, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= REG_MAX_MESSAGE, LETHE_ERR_TOO_BIG);
	der_reader_init(&r, der, len);
	GUARD(der_read(&r, DER_SEQUENCE, seq));
	return der_finish(&r);
}

lethe_status
reg_request_decode(const uint8_t *der, size_t len, reg_request *out)
{
	der_reader seq;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	rc = open_outer(der, len, &seq);
	if (rc == LETHE_OK)
		rc = decode_request_body(&seq, out);
	if (rc != LETHE_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

lethe_status
reg_reply_decode(const uint8_t *der, size_t len, reg_reply *out)
{
	der_reader seq;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	rc = open_outer(der, len, &seq);
	if (rc == LETHE_OK)
		rc = decode_reply_body(&seq, out);
	if (rc != LETHE_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

lethe_status
reg_key_request_decode(const uint8_t *der, size_t len, reg_key_request *out)
{
	der_reader seq;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	rc = open_outer(der, len, &seq);
	if (rc == LETHE_OK)
		rc = decode_key_request_body(&seq, out);
	if (rc != LETHE_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

lethe_status
reg_sealed_keys_decode(const uint8_t *der, size_t len, reg_sealed_keys *out)
{
	der_reader seq;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	rc = open_outer(der, len, &seq);
	if (rc == LETHE_OK)
		rc = decode_sealed_keys_body(&seq, out);
	if (rc != LETHE_OK)
		reg_sealed_keys_clear(out);
	return rc;
}

/* ------------------------------------------------------------ unsigned errors */

static lethe_status
encode_error(der_writer *w, const void *arg)
{
	const int32_t *result = arg;
	size_t m = der_mark(w);

	if (*result <= REG_OK || *result >= REG_RESULT_COUNT)
		return der_writer_fail(w, LETHE_ERR_INVALID_ARG);
	der_put_ctx_int64(w, 0, *result);
	return der_wrap(w, m, DER_SEQUENCE);
}

lethe_status
reg_error_encode(int32_t result, uint8_t **out, size_t *out_len)
{
	return encode_with(encode_error, &result, out, out_len);
}

lethe_status
reg_error_decode(const uint8_t *der, size_t len, int32_t *result)
{
	der_reader seq;

	*result = REG_OK;
	ENSURE(len <= REG_ERROR_MAX_LEN, LETHE_ERR_TOO_BIG);
	GUARD(open_outer(der, len, &seq));
	GUARD(der_ctx_int32(&seq, 0, result));
	GUARD(der_finish(&seq));
	ENSURE(*result > REG_OK && *result < REG_RESULT_COUNT, LETHE_ERR_DER_VALUE);
	return LETHE_OK;
}

lethe_status
reg_request_digest(const uint8_t *der, size_t len, uint8_t out[REG_DIGEST_LEN])
{
	unsigned int n = 0;

	ENSURE(der != NULL || len == 0, LETHE_ERR_INVALID_ARG);
	ENSURE(EVP_Digest(der, len, out, &n, EVP_sha256(), NULL) == 1 && n == REG_DIGEST_LEN,
	    LETHE_ERR_CRYPTO);
	return LETHE_OK;
}
