/*
 * Encryption for a key usage. Both profiles encrypt confounder|plaintext
 * with AES-CBC-CTS under Ke and a zero IV, then append a truncated HMAC
 * under Ki:
 *   17/18 (RFC 3961 simplified profile): HMAC-SHA1 over the plaintext,
 *         so decryption must decrypt first, then verify;
 *   19/20 (RFC 8009): HMAC-SHA2 over IV|ciphertext, verified BEFORE
 *         anything is decrypted.
 */
#include "base/wipe.h"
#include "crypto/crypto_int.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static const uint8_t zero_iv[KC_BLOCK_LEN];

/* The truncated HMAC of a|b under Ki for usage, into mac (mac_len bytes). */
static lethe_status
integrity_mac(kc_key *key, const kc_etype_impl *e, uint32_t usage, lbytes a,
    lbytes b, uint8_t *mac)
{
	uint8_t scratch[KC_MAX_KEY_LEN];
	uint8_t full[EVP_MAX_MD_SIZE];
	const uint8_t *ki;
	size_t ki_len;
	lethe_status rc;

	GUARD_GOTO(rc, kc_derived_key(key, usage, KC_DK_INTEGRITY, scratch,
	    &ki, &ki_len));
	GUARD_GOTO(rc, kc_hmac(e->md, ki, ki_len, a, b, full));
	memcpy(mac, full, e->pub.mac_len);
cleanup:
	lethe_wipe(scratch, sizeof(scratch));
	lethe_wipe(full, sizeof(full));
	return rc;
}

/* Compare the expected MAC of a|b with received, in constant time. */
static lethe_status
integrity_check(kc_key *key, const kc_etype_impl *e, uint32_t usage, lbytes a,
    lbytes b, const uint8_t *received)
{
	uint8_t mac[KC_MAX_MAC_LEN];
	lethe_status rc;

	GUARD_GOTO(rc, integrity_mac(key, e, usage, a, b, mac));
	if (CRYPTO_memcmp(mac, received, e->pub.mac_len) != 0)
		rc = LETHE_ERR_BAD_INTEGRITY;
cleanup:
	lethe_wipe(mac, sizeof(mac));
	return rc;
}

/* CTS under Ke for usage, in to out (same length, may be in place). */
static lethe_status
cts_with_ke(kc_key *key, const kc_etype_impl *e, uint32_t usage, bool encrypt,
    const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t scratch[KC_MAX_KEY_LEN];
	const uint8_t *ke;
	size_t ke_len;
	lethe_status rc;

	GUARD_GOTO(rc, kc_derived_key(key, usage, KC_DK_ENCRYPTION, scratch,
	    &ke, &ke_len));
	rc = kc_cts(e->cipher, ke, encrypt, in, len, out);
cleanup:
	lethe_wipe(scratch, sizeof(scratch));
	return rc;
}

lethe_status
kc_encrypt_with_confounder(kc_key *key, uint32_t usage, lbytes confounder,
    lbytes plain, uint8_t *out, size_t out_cap, size_t *out_len)
{
	const kc_etype_impl *e = kc_impl(key->enctype);
	size_t total;
	size_t n;
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(confounder.len == KC_CONFOUNDER_LEN, LETHE_ERR_INVALID_ARG);
	ENSURE(plain.len <= INT_MAX - KC_CONFOUNDER_LEN, LETHE_ERR_TOO_BIG);
	GUARD(kc_encrypt_len(key->enctype, plain.len, &total));
	ENSURE(out != NULL && out_cap >= total, LETHE_ERR_INVALID_ARG);
	n = KC_CONFOUNDER_LEN + plain.len;
	memcpy(out, confounder.data, KC_CONFOUNDER_LEN);
	if (plain.len > 0)
		memcpy(out + KC_CONFOUNDER_LEN, plain.data, plain.len);
	if (!e->sha2) {
		GUARD_GOTO(rc, integrity_mac(key, e, usage, lbytes_make(out, n),
		    lbytes_make(NULL, 0), out + n));
		GUARD_GOTO(rc, cts_with_ke(key, e, usage, true, out, n, out));
	} else {
		GUARD_GOTO(rc, cts_with_ke(key, e, usage, true, out, n, out));
		GUARD_GOTO(rc, integrity_mac(key, e, usage,
		    lbytes_make(zero_iv, sizeof(zero_iv)), lbytes_make(out, n),
		    out + n));
	}
	*out_len = total;
cleanup:
	if (rc != LETHE_OK)
		lethe_wipe(out, total);
	return rc;
}

lethe_status
kc_encrypt(kc_key *key, uint32_t usage, lbytes plain, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t confounder[KC_CONFOUNDER_LEN];
	lethe_status rc;

	GUARD(kc_random_bytes(confounder, sizeof(confounder)));
	rc = kc_encrypt_with_confounder(key, usage,
	    lbytes_make(confounder, sizeof(confounder)), plain, out, out_cap,
	    out_len);
	lethe_wipe(confounder, sizeof(confounder));
	return rc;
}

lethe_status
kc_decrypt(kc_key *key, uint32_t usage, lbytes cipher, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	const kc_etype_impl *e = kc_impl(key->enctype);
	const uint8_t *received;
	size_t n;
	lethe_status rc;

	ENSURE(e != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(cipher.len >= KC_CONFOUNDER_LEN + e->pub.mac_len,
	    LETHE_ERR_BAD_INTEGRITY);
	n = cipher.len - e->pub.mac_len;
	ENSURE(n <= INT_MAX, LETHE_ERR_TOO_BIG);
	ENSURE(out != NULL && out_cap >= n, LETHE_ERR_INVALID_ARG);
	received = cipher.data + n;
	if (e->sha2) {
		GUARD_GOTO(rc, integrity_check(key, e, usage,
		    lbytes_make(zero_iv, sizeof(zero_iv)),
		    lbytes_make(cipher.data, n), received));
		GUARD_GOTO(rc, cts_with_ke(key, e, usage, false, cipher.data, n,
		    out));
	} else {
		GUARD_GOTO(rc, cts_with_ke(key, e, usage, false, cipher.data, n,
		    out));
		GUARD_GOTO(rc, integrity_check(key, e, usage,
		    lbytes_make(out, n), lbytes_make(NULL, 0), received));
	}
	/* Drop the confounder: move the plaintext down, wipe the tail. */
	memmove(out, out + KC_CONFOUNDER_LEN, n - KC_CONFOUNDER_LEN);
	lethe_wipe(out + n - KC_CONFOUNDER_LEN, KC_CONFOUNDER_LEN);
	*out_len = n - KC_CONFOUNDER_LEN;
cleanup:
	if (rc != LETHE_OK)
		lethe_wipe(out, n);
	return rc;
}
