/* The KDC's use of the crypto layer: key objects, arena-backed encrypt/decrypt. */
#include "kdc/kdc_int.h"

bool
kdc_enctype_usable(int32_t etype)
{
	return kc_enctype_supported(etype);
}

uint32_t
kdc_default_s2k_iterations(int32_t etype)
{
	const kc_enctype *et;

	if (kc_enctype_lookup(etype, &et) != LETHE_OK)
		return 0;
	return et->default_iterations;
}

lethe_status
kdc_key_object(int32_t etype, lbytes bytes, enum store_principal_kind kind, bool derive_now,
    kc_key **out)
{
	static const uint32_t user_usages[] = { KRB_KU_PA_ENC_TIMESTAMP,
		KRB_KU_AS_REP_ENC_PART };
	static const uint32_t server_usages[] = { KRB_KU_TICKET };
	const uint32_t *usages = kind == STORE_KIND_USER ? user_usages : server_usages;
	size_t n = kind == STORE_KIND_USER ? 2 : 1;
	kc_key *key = NULL;
	lethe_status rc;

	*out = NULL;
	GUARD(kc_key_new(etype, bytes, &key));
	for (size_t i = 0; i < n && derive_now; i++) {
		rc = kc_key_prederive(key, usages[i]);
		if (rc != LETHE_OK && rc != LETHE_ERR_TOO_BIG) {
			kc_key_free(key);
			return rc;
		}
	}
	*out = key;
	return LETHE_OK;
}

lethe_status
kdc_key_temp(const krb_encryption_key *in, lethe_arena *a, kc_key **out)
{
	kc_key *key = lethe_arena_alloc(a, sizeof(*key));

	*out = NULL;
	ENSURE(key != NULL, LETHE_ERR_NOMEM);
	GUARD(kc_key_init(key, in->keytype, in->keyvalue));
	*out = key;
	return LETHE_OK;
}

lethe_status
kdc_encrypt(kc_key *key, int32_t usage, lbytes plain, lethe_arena *a, lbytes *cipher)
{
	size_t len, out_len;
	uint8_t *buf;

	GUARD(kc_encrypt_len(kc_key_enctype(key), plain.len, &len));
	buf = lethe_arena_alloc(a, len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	GUARD(kc_encrypt(key, (uint32_t)usage, plain, buf, len, &out_len));
	*cipher = lbytes_make(buf, out_len);
	return LETHE_OK;
}

lethe_status
kdc_decrypt(kc_key *key, int32_t usage, lbytes cipher, lethe_arena *a, lbytes *plain)
{
	size_t out_len;
	uint8_t *buf;

	ENSURE(cipher.len > 0, LETHE_ERR_BAD_INTEGRITY);
	buf = lethe_arena_alloc(a, cipher.len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	GUARD(kc_decrypt(key, (uint32_t)usage, cipher, buf, cipher.len, &out_len));
	*plain = lbytes_make(buf, out_len);
	return LETHE_OK;
}

lethe_status
kdc_verify_checksum(kc_key *key, int32_t usage, int32_t cksumtype, lbytes data, lbytes cksum)
{
	return kc_checksum_verify(key, cksumtype, (uint32_t)usage, data, cksum);
}

lethe_status
kdc_make_checksum(kc_key *key, int32_t usage, lbytes data, lethe_arena *a, krb_checksum *out)
{
	const kc_enctype *et;
	uint8_t *buf;
	size_t len;

	GUARD(kc_enctype_lookup(kc_key_enctype(key), &et));
	buf = lethe_arena_alloc(a, KC_MAX_CKSUM_LEN);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	GUARD(kc_checksum_make(key, et->cksumtype, (uint32_t)usage, data, buf, KC_MAX_CKSUM_LEN,
	    &len));
	*out = (krb_checksum){ .cksumtype = et->cksumtype, .checksum = lbytes_make(buf, len) };
	return LETHE_OK;
}

lethe_status
kdc_random_key(int32_t etype, lethe_arena *a, krb_encryption_key *out)
{
	kc_key *key = lethe_arena_alloc(a, sizeof(*key));

	ENSURE(key != NULL, LETHE_ERR_NOMEM);
	GUARD(kc_key_generate(key, etype));
	/* The bytes stay in the arena, which its reset wipes. */
	*out = (krb_encryption_key){ .keytype = etype, .keyvalue = kc_key_bytes(key) };
	return LETHE_OK;
}
