/* AES-CBC with ciphertext stealing, Kerberos variant (CS3), via EVP. */
#include "crypto/crypto_int.h"

#include <limits.h>

#include <openssl/core_names.h>

lethe_status
kc_cts(enum kc_cipher_id cipher, const uint8_t *key, bool encrypt,
    const uint8_t *in, size_t len, uint8_t *out)
{
	static const uint8_t zero_iv[KC_BLOCK_LEN];
	EVP_CIPHER_CTX *ctx;
	int outl = 0;
	int finl = 0;

	/* CTS needs one full block; one block exactly is plain CBC. */
	ENSURE(len >= KC_BLOCK_LEN, LETHE_ERR_INVALID_ARG);
	ENSURE(len <= INT_MAX, LETHE_ERR_TOO_BIG);
	GUARD(kc_thread_cts(cipher, &ctx));
	/* cipher NULL: reuse the context (and its CS3 mode), only re-key. */
	if (EVP_CipherInit_ex2(ctx, NULL, key, zero_iv, encrypt ? 1 : 0,
	    NULL) != 1)
		return LETHE_ERR_CRYPTO;
	if (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    (size_t)outl != len)
		return LETHE_ERR_CRYPTO;
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1 || finl != 0)
		return LETHE_ERR_CRYPTO;
	return LETHE_OK;
}
