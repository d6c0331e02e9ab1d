/* The kc_key object: protocol key bytes plus the derived-key cache. */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* Set every cache slot empty and wipe its bytes (no concurrent users). */
static void
cache_reset(kc_key *key)
{
	for (size_t i = 0; i < KC_KEY_CACHE_SLOTS; i++) {
		atomic_init(&key->cache[i].state, 0);
		lethe_wipe(key->cache[i].bytes, sizeof(key->cache[i].bytes));
	}
}

lethe_status
kc_key_init(kc_key *key, int32_t enctype, lbytes bytes)
{
	const kc_etype_impl *e = kc_impl(enctype);

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	ENSURE(bytes.data != NULL && bytes.len == e->pub.key_len,
	    LETHE_ERR_INVALID_ARG);
	key->enctype = enctype;
	key->len = (uint32_t)bytes.len;
	lethe_wipe(key->bytes, sizeof(key->bytes));
	memcpy(key->bytes, bytes.data, bytes.len);
	cache_reset(key);
	return LETHE_OK;
}

lethe_status
kc_key_generate(kc_key *key, int32_t enctype)
{
	const kc_etype_impl *e = kc_impl(enctype);
	uint8_t seed[KC_MAX_KEY_LEN];
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	GUARD(kc_random_bytes(seed, e->pub.random_len));
	rc = kc_random_to_key(key, enctype, lbytes_make(seed, e->pub.random_len));
	lethe_wipe(seed, sizeof(seed));
	return rc;
}

lethe_status
kc_random_to_key(kc_key *key, int32_t enctype, lbytes random)
{
	const kc_etype_impl *e = kc_impl(enctype);

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	ENSURE(random.len == e->pub.random_len, LETHE_ERR_INVALID_ARG);
	/* AES: random-to-key is the identity (RFC 3962 §6, RFC 8009 §3). */
	return kc_key_init(key, enctype, random);
}

void
kc_key_copy(kc_key *dst, const kc_key *src)
{
	if (dst == src)
		return;
	if (src->enctype == 0 ||
	    kc_key_init(dst, src->enctype, lbytes_make(src->bytes, src->len)) !=
	    LETHE_OK)
		kc_key_clear(dst);
}

void
kc_key_clear(kc_key *key)
{
	if (key == NULL)
		return;
	lethe_wipe(key->bytes, sizeof(key->bytes));
	key->enctype = 0;
	key->len = 0;
	cache_reset(key);
}

lethe_status
kc_key_new(int32_t enctype, lbytes bytes, kc_key **out)
{
	kc_key *key = malloc(sizeof(*key));
	lethe_status rc;

	ENSURE(key != NULL, LETHE_ERR_NOMEM);
	rc = kc_key_init(key, enctype, bytes);
	if (rc != LETHE_OK) {
		kc_key_clear(key);
		free(key);
		return rc;
	}
	*out = key;
	return LETHE_OK;
}

void
kc_key_free(kc_key *key)
{
	if (key == NULL)
		return;
	kc_key_clear(key);
	free(key);
}

int32_t
kc_key_enctype(const kc_key *key)
{
	return key->enctype;
}

lbytes
kc_key_bytes(const kc_key *key)
{
	return lbytes_make(key->bytes, key->len);
}

lethe_status
kc_key_prederive(kc_key *key, uint32_t usage)
{
	static const uint8_t kinds[] = {
		KC_DK_ENCRYPTION, KC_DK_INTEGRITY, KC_DK_CHECKSUM,
	};
	uint8_t scratch[KC_MAX_KEY_LEN];
	const uint8_t *dk;
	size_t dk_len;
	bool all_cached = true;
	lethe_status rc = LETHE_OK;

	for (size_t i = 0; i < sizeof(kinds); i++) {
		GUARD_GOTO(rc, kc_derived_key(key, usage, kinds[i], scratch,
		    &dk, &dk_len));
		if (dk == scratch)
			all_cached = false;     /* derived, but no free slot */
	}
	if (!all_cached)
		rc = LETHE_ERR_TOO_BIG;
cleanup:
	lethe_wipe(scratch, sizeof(scratch));
	return rc;
}
