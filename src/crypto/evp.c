/*
 * OpenSSL algorithms, fetched once per process, and EVP contexts kept per
 * thread so that the hot path allocates nothing.
 *
 * Per-thread contexts hang off a pthread key whose destructor frees them
 * at thread exit; they are also linked in a registry so they stay
 * reachable (no false leak reports for threads that never exit, such as
 * the main thread).
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define KC_HMAC_SETS    32      /* keyed HMAC contexts per thread: 32 sets of 2 */
#define KC_HMAC_WAYS    2       /* (the code below assumes 2) */
#define KC_HMAC_KEY_MAX 48      /* longer keys are not kept (none in Kerberos) */

/* An HMAC context keyed with key (a copy, to check a lookup against). */
typedef struct kc_hmac_slot {
	EVP_MAC_CTX *ctx;       /* digest md set; keyed when key_len > 0 */
	enum kc_md_id md;
	size_t key_len;
	uint8_t key[KC_HMAC_KEY_MAX];
} kc_hmac_slot;

typedef struct kc_thread_ctx {
	kc_hmac_slot keyed[KC_HMAC_SETS][KC_HMAC_WAYS];
	uint8_t victim[KC_HMAC_SETS];   /* the way a miss replaces next */
	EVP_CIPHER_CTX *cts[KC_CIPHER_COUNT];
	EVP_MAC_CTX *hmac[KC_MD_COUNT];
	EVP_KDF_CTX *krb5kdf[KC_CIPHER_COUNT];
	struct kc_thread_ctx *prev;
	struct kc_thread_ctx *next;
} kc_thread_ctx;

static kc_algs algs;
static lethe_status algs_status = LETHE_ERR_CRYPTO;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static kc_thread_ctx *registry;

static const char *const cts_names[KC_CIPHER_COUNT] = {
	"AES-128-CBC-CTS", "AES-256-CBC-CTS",
};
static const char *const cbc_names[KC_CIPHER_COUNT] = {
	"AES-128-CBC", "AES-256-CBC",
};
static const char *const md_names[KC_MD_COUNT] = {
	"SHA1", "SHA2-256", "SHA2-384",
};
static const size_t md_lens[KC_MD_COUNT] = { 20, 32, 48 };

const char *
kc_md_name(enum kc_md_id md)
{
	return md_names[md];
}

const char *
kc_cbc_name(enum kc_cipher_id cipher)
{
	return cbc_names[cipher];
}

size_t
kc_md_len(enum kc_md_id md)
{
	return md_lens[md];
}

static void thread_ctx_destroy(void *p);

static void
fetch_all(void)
{
	for (int i = 0; i < KC_CIPHER_COUNT; i++) {
		algs.cts[i] = EVP_CIPHER_fetch(NULL, cts_names[i], NULL);
		if (algs.cts[i] == NULL)
			return;
	}
	for (int i = 0; i < KC_MD_COUNT; i++) {
		algs.md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
		if (algs.md[i] == NULL)
			return;
	}
	algs.hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	algs.krb5kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_KRB5KDF, NULL);
	algs.kbkdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_KBKDF, NULL);
	algs.pbkdf2 = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_PBKDF2, NULL);
	if (algs.hmac == NULL || algs.krb5kdf == NULL || algs.kbkdf == NULL ||
	    algs.pbkdf2 == NULL)
		return;
	if (pthread_key_create(&thread_key, thread_ctx_destroy) != 0)
		return;
	algs_status = LETHE_OK;
}

lethe_status
kc_algs_get(const kc_algs **out)
{
	if (pthread_once(&algs_once, fetch_all) != 0)
		return LETHE_ERR_CRYPTO;
	GUARD(algs_status);
	*out = &algs;
	return LETHE_OK;
}

lethe_status
kc_init(void)
{
	const kc_algs *a;

	return kc_algs_get(&a);
}

static void
registry_add(kc_thread_ctx *t)
{
	pthread_mutex_lock(&registry_lock);
	t->prev = NULL;
	t->next = registry;
	if (registry != NULL)
		registry->prev = t;
	registry = t;
	pthread_mutex_unlock(&registry_lock);
}

static void
registry_remove(kc_thread_ctx *t)
{
	pthread_mutex_lock(&registry_lock);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		registry = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&registry_lock);
}

static void
thread_ctx_destroy(void *p)
{
	kc_thread_ctx *t = p;

	if (t == NULL)
		return;
	registry_remove(t);
	for (int i = 0; i < KC_CIPHER_COUNT; i++)
		EVP_CIPHER_CTX_free(t->cts[i]);   /* wipes the key schedule */
	for (int i = 0; i < KC_MD_COUNT; i++)
		EVP_MAC_CTX_free(t->hmac[i]);
	for (int i = 0; i < KC_CIPHER_COUNT; i++)
		EVP_KDF_CTX_free(t->krb5kdf[i]);  /* wipes the last key */
	for (int i = 0; i < KC_HMAC_SETS; i++)
		for (int w = 0; w < KC_HMAC_WAYS; w++)
			EVP_MAC_CTX_free(t->keyed[i][w].ctx);
	lethe_wipe(t->keyed, sizeof(t->keyed));
	free(t);
}

void
kc_thread_cleanup(void)
{
	const kc_algs *a;
	kc_thread_ctx *t;

	if (kc_algs_get(&a) != LETHE_OK)
		return;
	t = pthread_getspecific(thread_key);
	if (t == NULL)
		return;
	pthread_setspecific(thread_key, NULL);
	thread_ctx_destroy(t);
}

static lethe_status
thread_ctx_get(const kc_algs **a, kc_thread_ctx **out)
{
	kc_thread_ctx *t;

	GUARD(kc_algs_get(a));
	t = pthread_getspecific(thread_key);
	if (t == NULL) {
		t = calloc(1, sizeof(*t));
		ENSURE(t != NULL, LETHE_ERR_NOMEM);
		if (pthread_setspecific(thread_key, t) != 0) {
			free(t);
			return LETHE_ERR_NOMEM;
		}
		registry_add(t);
	}
	*out = t;
	return LETHE_OK;
}

/* This thread's context for cipher, bound to its EVP_CIPHER on first use. */
lethe_status
kc_thread_cts(enum kc_cipher_id cipher, EVP_CIPHER_CTX **out)
{
	const kc_algs *a;
	kc_thread_ctx *t;
	EVP_CIPHER_CTX *ctx;

	GUARD(thread_ctx_get(&a, &t));
	if (t->cts[cipher] == NULL) {
		ctx = EVP_CIPHER_CTX_new();
		ENSURE(ctx != NULL, LETHE_ERR_NOMEM);
		/* Kerberos CTS (CS3) is set once here and kept across re-keys. */
		char mode[] = OSSL_CIPHER_CTS_MODE_CS3;
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_CIPHER_PARAM_CTS_MODE, mode, 0),
			OSSL_PARAM_construct_end(),
		};
		if (EVP_CipherInit_ex2(ctx, a->cts[cipher], NULL, NULL, 1,
		    params) != 1) {
			EVP_CIPHER_CTX_free(ctx);
			return LETHE_ERR_CRYPTO;
		}
		t->cts[cipher] = ctx;
	}
	*out = t->cts[cipher];
	return LETHE_OK;
}

/* A new HMAC context with md's digest set. */
static lethe_status
new_hmac_ctx(const kc_algs *a, enum kc_md_id md, EVP_MAC_CTX **out)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(a->hmac);
	OSSL_PARAM params[2];

	ENSURE(ctx != NULL, LETHE_ERR_NOMEM);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)md_names[md], 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return LETHE_ERR_CRYPTO;
	}
	*out = ctx;
	return LETHE_OK;
}

/* This thread's HMAC context for md, with its digest set on first use. */
lethe_status
kc_thread_hmac(enum kc_md_id md, EVP_MAC_CTX **out)
{
	const kc_algs *a;
	kc_thread_ctx *t;

	GUARD(thread_ctx_get(&a, &t));
	if (t->hmac[md] == NULL)
		GUARD(new_hmac_ctx(a, md, &t->hmac[md]));
	*out = t->hmac[md];
	return LETHE_OK;
}

lethe_status
kc_thread_hmac_keyed(enum kc_md_id md, const uint8_t *key, size_t key_len,
    EVP_MAC_CTX **out)
{
	const kc_algs *a;
	kc_thread_ctx *t;
	kc_hmac_slot *s;
	uintptr_t addr = (uintptr_t)key;
	size_t set;

	if (key_len == 0 || key_len > KC_HMAC_KEY_MAX) {
		GUARD(kc_thread_hmac(md, out));
		return EVP_MAC_init(*out, key, key_len, NULL) == 1 ? LETHE_OK : LETHE_ERR_CRYPTO;
	}
	GUARD(thread_ctx_get(&a, &t));
	/* Fibonacci hashing of the address picks the set */
	set = (size_t)(((uint64_t)addr * UINT64_C(0x9E3779B97F4A7C15)) >> 59);
	for (size_t w = 0; w < KC_HMAC_WAYS; w++) {
		s = &t->keyed[set][w];
		if (s->ctx != NULL && s->md == md && s->key_len == key_len &&
		    CRYPTO_memcmp(s->key, key, key_len) == 0) {
			/* the same key: restart without hashing the key pads again */
			ENSURE(EVP_MAC_init(s->ctx, NULL, 0, NULL) == 1, LETHE_ERR_CRYPTO);
			t->victim[set] = (uint8_t)(w ^ 1);
			*out = s->ctx;
			return LETHE_OK;
		}
	}
	s = &t->keyed[set][t->victim[set]];
	t->victim[set] ^= 1;
	s->key_len = 0;                 /* matches nothing until keyed below */
	lethe_wipe(s->key, sizeof(s->key));
	if (s->ctx == NULL || s->md != md) {
		EVP_MAC_CTX_free(s->ctx);
		s->ctx = NULL;
		GUARD(new_hmac_ctx(a, md, &s->ctx));
		s->md = md;
	}
	ENSURE(EVP_MAC_init(s->ctx, key, key_len, NULL) == 1, LETHE_ERR_CRYPTO);
	memcpy(s->key, key, key_len);
	s->key_len = key_len;
	*out = s->ctx;
	return LETHE_OK;
}

/*
 * This thread's KRB5KDF context for cipher, its CBC cipher set on first
 * use: OpenSSL fetches the cipher by name whenever the parameter is given,
 * so it is given once here, not per derivation.
 */
lethe_status
kc_thread_krb5kdf(enum kc_cipher_id cipher, EVP_KDF_CTX **out)
{
	const kc_algs *a;
	kc_thread_ctx *t;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[2];

	GUARD(thread_ctx_get(&a, &t));
	if (t->krb5kdf[cipher] == NULL) {
		ctx = EVP_KDF_CTX_new(a->krb5kdf);
		ENSURE(ctx != NULL, LETHE_ERR_NOMEM);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CIPHER,
		    (char *)cbc_names[cipher], 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_KDF_CTX_set_params(ctx, params) != 1) {
			EVP_KDF_CTX_free(ctx);
			return LETHE_ERR_CRYPTO;
		}
		t->krb5kdf[cipher] = ctx;
	}
	*out = t->krb5kdf[cipher];
	return LETHE_OK;
}
