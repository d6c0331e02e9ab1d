/* HMAC through the calling thread's EVP_MAC contexts. */
#include "crypto/crypto_int.h"

lethe_status
kc_hmac(enum kc_md_id md, const uint8_t *key, size_t key_len, lbytes a,
    lbytes b, uint8_t *out)
{
	EVP_MAC_CTX *ctx;
	size_t want = kc_md_len(md);
	size_t outl = 0;

	GUARD(kc_thread_hmac_keyed(md, key, key_len, &ctx));
	if (a.len > 0 && EVP_MAC_update(ctx, a.data, a.len) != 1)
		return LETHE_ERR_CRYPTO;
	if (b.len > 0 && EVP_MAC_update(ctx, b.data, b.len) != 1)
		return LETHE_ERR_CRYPTO;
	if (EVP_MAC_final(ctx, out, &outl, want) != 1 || outl != want)
		return LETHE_ERR_CRYPTO;
	return LETHE_OK;
}
