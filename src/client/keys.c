/* The client's use of the crypto layer: heap keys, buffers, nonces, time. */
#include "base/wipe.h"
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

const int32_t kcl_default_etypes[4] = {
	KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96, KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96,
	KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192, KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128,
};

void
kcl_now(int64_t *sec, int32_t *usec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (int64_t)ts.tv_sec;
	*usec = (int32_t)(ts.tv_nsec / 1000);
}

lethe_status
kcl_nonce(uint32_t *out)
{
	uint8_t b[4];

	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(RAND_bytes(b, sizeof(b)) == 1, LETHE_ERR_CRYPTO);
	*out = lethe_load_be32(b) & 0x7fffffffu;
	return LETHE_OK;
}

void
kcl_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	lethe_wipe(p, len);
	free(p);
}

lethe_status
kcl_key_dup(const kc_key *src, kc_key **out)
{
	ENSURE(src != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	return kc_key_new(kc_key_enctype(src), kc_key_bytes(src), out);
}

lethe_status
kcl_key_from_password(int32_t etype, lbytes password, lbytes salt, lbytes s2kparams,
		      kc_key **out)
{
	kc_key tmp;
	lethe_status rc;

	memset(&tmp, 0, sizeof(tmp));
	rc = kc_string_to_key(&tmp, etype, password, salt, s2kparams);
	if (rc == LETHE_OK)
		rc = kc_key_new(etype, kc_key_bytes(&tmp), out);
	kc_key_clear(&tmp);
	return rc;
}

lethe_status
kcl_key_random(int32_t etype, kc_key **out)
{
	kc_key tmp;
	lethe_status rc;

	memset(&tmp, 0, sizeof(tmp));
	rc = kc_key_generate(&tmp, etype);
	if (rc == LETHE_OK)
		rc = kc_key_new(etype, kc_key_bytes(&tmp), out);
	kc_key_clear(&tmp);
	return rc;
}

lethe_status
kcl_key_from_krb(const krb_encryption_key *ek, kc_key **out)
{
	ENSURE(kc_enctype_supported(ek->keytype), LETHE_ERR_ETYPE_NOSUPP);
	return kc_key_new(ek->keytype, ek->keyvalue, out);
}

lethe_status
kcl_encrypt_buf(kc_key *k, uint32_t usage, lbytes plain, uint8_t **buf, size_t *cap,
		krb_enc_data *out)
{
	size_t need, len;

	GUARD(kc_encrypt_len(kc_key_enctype(k), plain.len, &need));
	if (*cap < need) {
		uint8_t *nb = realloc(*buf, need);
		ENSURE(nb != NULL, LETHE_ERR_NOMEM);
		*buf = nb;
		*cap = need;
	}
	GUARD(kc_encrypt(k, usage, plain, *buf, *cap, &len));
	*out = (krb_enc_data){ .etype = kc_key_enctype(k), .cipher = lbytes_make(*buf, len) };
	return LETHE_OK;
}

lethe_status
kcl_checksum(kc_key *k, uint32_t usage, lbytes data, uint8_t *buf, size_t cap,
	     krb_checksum *ck)
{
	const kc_enctype *et;
	size_t len;

	GUARD(kc_enctype_lookup(kc_key_enctype(k), &et));
	GUARD(kc_checksum_make(k, et->cksumtype, usage, data, buf, cap, &len));
	*ck = (krb_checksum){ .cksumtype = et->cksumtype, .checksum = lbytes_make(buf, len) };
	return LETHE_OK;
}
