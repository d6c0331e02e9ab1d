/*
 * Keyed checksums 15, 16 (RFC 3962) and 19, 20 (RFC 8009): the HMAC of
 * the data under Kc for the usage, truncated to the checksum length.
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <string.h>

#include <openssl/crypto.h>

/* The full HMAC of data under Kc; *ct_out is the checksum type used. */
static lethe_status
checksum_full(kc_key *key, int32_t cksumtype, uint32_t usage, lbytes data,
    uint8_t full[EVP_MAX_MD_SIZE], const kc_cksumtype **ct_out)
{
	const kc_etype_impl *e = kc_impl(key->enctype);
	const kc_cksumtype *ct;
	uint8_t scratch[KC_MAX_KEY_LEN];
	const uint8_t *kc;
	size_t kc_len;
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(kc_cksumtype_lookup(cksumtype, &ct));
	/* A keyed checksum type belongs to one enctype (RFC 3961 §4). */
	ENSURE(ct->enctype == key->enctype, LETHE_ERR_CKSUM_NOSUPP);
	GUARD_GOTO(rc, kc_derived_key(key, usage, KC_DK_CHECKSUM, scratch,
	    &kc, &kc_len));
	GUARD_GOTO(rc, kc_hmac(e->md, kc, kc_len, data, lbytes_make(NULL, 0),
	    full));
	*ct_out = ct;
cleanup:
	lethe_wipe(scratch, sizeof(scratch));
	return rc;
}

lethe_status
kc_checksum_make(kc_key *key, int32_t cksumtype, uint32_t usage, lbytes data,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	const kc_cksumtype *ct;
	lethe_status rc;

	GUARD_GOTO(rc, checksum_full(key, cksumtype, usage, data, full, &ct));
	ENSURE_GOTO(rc, out != NULL && out_cap >= ct->len,
	    LETHE_ERR_INVALID_ARG);
	memcpy(out, full, ct->len);
	*out_len = ct->len;
cleanup:
	lethe_wipe(full, sizeof(full));
	return rc;
}

lethe_status
kc_checksum_verify(kc_key *key, int32_t cksumtype, uint32_t usage, lbytes data,
    lbytes cksum)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	const kc_cksumtype *ct;
	lethe_status rc;

	GUARD_GOTO(rc, checksum_full(key, cksumtype, usage, data, full, &ct));
	ENSURE_GOTO(rc, cksum.len == ct->len, LETHE_ERR_BAD_INTEGRITY);
	if (CRYPTO_memcmp(full, cksum.data, ct->len) != 0)
		rc = LETHE_ERR_BAD_INTEGRITY;
cleanup:
	lethe_wipe(full, sizeof(full));
	return rc;
}
