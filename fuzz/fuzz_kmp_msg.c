/*
 * fuzz_kmp_msg: kmp_decode over arbitrary bytes. The codec is canonical,
 * so when decoding succeeds, kmp_encoded_len must equal the input size and
 * kmp_encode must reproduce the input byte for byte; messages with an
 * HMAC must have a covered range ending 20 bytes before the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmp/kmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lbytes covered, mac;
	size_t need = 0, got = 0;
	uint8_t *out;
	kmp_msg m;

	if (kmp_decode(data, size, &m) != LETHE_OK) {
		if (m.fault == KMP_FAULT_NONE)
			abort();
		return 0;
	}
	if (m.fault != KMP_FAULT_NONE || m.version != KMP_VERSION)
		abort();
	if (kmp_encoded_len(&m, &need) != LETHE_OK || need != size)
		abort();
	out = malloc(size);
	if (out == NULL)
		abort();
	if (kmp_encode(&m, out, size, &got) != LETHE_OK || got != size ||
	    memcmp(out, data, size) != 0)
		abort();
	free(out);
	if (kmp_has_hmac(m.kmmid)) {
		if (kmp_hmac_range(data, size, &covered, &mac) != LETHE_OK ||
		    covered.len + KMP_HMAC_LEN != size || mac.len != KMP_HMAC_LEN)
			abort();
	} else if (kmp_hmac_range(data, size, &covered, &mac) !=
	    LETHE_ERR_UNSUPPORTED) {
		abort();
	}
	return 0;
}
