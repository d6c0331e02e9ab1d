/*
 * Fuzz kc_decrypt and kc_checksum_verify with attacker-chosen bytes.
 * Input: byte 0 picks the enctype (17..20), byte 1 the key usage, the
 * rest is the ciphertext (and, split at the end, data|checksum). Keys are
 * fixed so that seeds can hold valid ciphertexts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kc_key keys[4];

static void
keys_init(void)
{
	static int ready;
	uint8_t bytes[KC_MAX_KEY_LEN];

	if (ready)
		return;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(0xA0 + i);
	for (int i = 0; i < 4; i++) {
		const kc_enctype *e;
		if (kc_enctype_lookup(17 + i, &e) != LETHE_OK ||
		    kc_key_init(&keys[i], 17 + i, lbytes_make(bytes,
		    e->key_len)) != LETHE_OK)
			abort();
	}
	ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kc_enctype *e;
	kc_key *key;
	uint32_t usage;
	lbytes cipher;
	uint8_t *out;
	size_t out_len = 0;

	keys_init();
	if (size < 2)
		return 0;
	key = &keys[data[0] % 4];
	usage = data[1];
	if (kc_enctype_lookup(kc_key_enctype(key), &e) != LETHE_OK)
		abort();
	/* Exact-size copies so that any over-read is caught. */
	cipher = lbytes_make(data + 2, size - 2);
	out = malloc(cipher.len > 0 ? cipher.len : 1);
	if (out == NULL)
		return 0;
	if (kc_decrypt(key, usage, cipher, out, cipher.len, &out_len) ==
	    LETHE_OK) {
		if (out_len + KC_CONFOUNDER_LEN + e->mac_len != cipher.len)
			abort();
	}
	if (cipher.len >= e->mac_len) {
		size_t dlen = cipher.len - e->mac_len;
		(void)kc_checksum_verify(key, e->cksumtype, usage,
		    lbytes_make(cipher.data, dlen),
		    lbytes_make(cipher.data + dlen, e->mac_len));
	}
	free(out);
	return 0;
}
