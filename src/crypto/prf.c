/*
 * Pseudo-random function (RFC 3962 §5.3, RFC 8009 §5), PRF+ and
 * KRB-FX-CF2 (RFC 6113 §5.1).
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <string.h>

#include <openssl/crypto.h>

static const uint8_t no_bytes[1];

/* RFC 3962: E(DK(key, "prf"), truncate16(SHA-1(input))), zero IV. */
static lethe_status
prf_sha1(kc_key *key, const kc_etype_impl *e, lbytes input, uint8_t *out)
{
	const kc_algs *a;
	uint8_t digest[EVP_MAX_MD_SIZE];
	uint8_t scratch[KC_MAX_KEY_LEN];
	unsigned int digest_len = 0;
	const uint8_t *dk;
	size_t dk_len;
	lethe_status rc;

	GUARD(kc_algs_get(&a));
	ENSURE_GOTO(rc, EVP_Digest(input.len > 0 ? input.data : no_bytes,
	    input.len, digest, &digest_len, a->md[KC_MD_SHA1], NULL) == 1,
	    LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, kc_derived_key(key, 0, KC_DK_PRF, scratch, &dk,
	    &dk_len));
	/* One block: CTS is plain CBC, i.e. AES of the block (zero IV). */
	rc = kc_cts(e->cipher, dk, true, digest, KC_BLOCK_LEN, out);
cleanup:
	lethe_wipe(scratch, sizeof(scratch));
	lethe_wipe(digest, sizeof(digest));
	return rc;
}

lethe_status
kc_prf(kc_key *key, lbytes input, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	const kc_etype_impl *e = kc_impl(key->enctype);

	ENSURE(e != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(out != NULL && out_cap >= e->pub.prf_len, LETHE_ERR_INVALID_ARG);
	if (e->sha2) {
		/* RFC 8009: KDF-HMAC-SHA2(key, "prf", input, 256 or 384). */
		GUARD(kc_kdf_hmac_sha2(e->md, key->bytes, key->len,
		    LBYTES_LIT("prf"), input, out, e->pub.prf_len));
	} else {
		GUARD(prf_sha1(key, e, input, out));
	}
	*out_len = e->pub.prf_len;
	return LETHE_OK;
}

lethe_status
kc_prf_plus(kc_key *key, lbytes input, uint8_t *out, size_t out_len)
{
	const kc_etype_impl *e = kc_impl(key->enctype);
	uint8_t msg[1 + KC_MAX_PEPPER_LEN];
	uint8_t block[KC_MAX_PRF_LEN];
	size_t block_len;
	size_t done = 0;
	lethe_status rc = LETHE_OK;

	ENSURE(e != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(input.len <= KC_MAX_PEPPER_LEN, LETHE_ERR_TOO_BIG);
	ENSURE(out_len <= 255 * e->pub.prf_len, LETHE_ERR_TOO_BIG);
	ENSURE(out != NULL || out_len == 0, LETHE_ERR_INVALID_ARG);
	if (input.len > 0)
		memcpy(msg + 1, input.data, input.len);
	for (unsigned int counter = 1; done < out_len; counter++) {
		size_t take;

		msg[0] = (uint8_t)counter;
		GUARD_GOTO(rc, kc_prf(key, lbytes_make(msg, 1 + input.len),
		    block, sizeof(block), &block_len));
		take = out_len - done < block_len ? out_len - done : block_len;
		memcpy(out + done, block, take);
		done += take;
	}
cleanup:
	lethe_wipe(block, sizeof(block));
	lethe_wipe(msg, sizeof(msg));
	return rc;
}

lethe_status
kc_cf2(kc_key *key1, lbytes pepper1, kc_key *key2, lbytes pepper2, kc_key *out)
{
	const kc_etype_impl *e1 = kc_impl(key1->enctype);
	uint8_t a[KC_MAX_KEY_LEN];
	uint8_t b[KC_MAX_KEY_LEN];
	size_t len;
	lethe_status rc;

	ENSURE(e1 != NULL && kc_impl(key2->enctype) != NULL,
	    LETHE_ERR_INVALID_ARG);
	len = e1->pub.random_len;
	GUARD_GOTO(rc, kc_prf_plus(key1, pepper1, a, len));
	GUARD_GOTO(rc, kc_prf_plus(key2, pepper2, b, len));
	for (size_t i = 0; i < len; i++)
		a[i] ^= b[i];
	rc = kc_random_to_key(out, e1->pub.number, lbytes_make(a, len));
cleanup:
	lethe_wipe(a, sizeof(a));
	lethe_wipe(b, sizeof(b));
	return rc;
}
