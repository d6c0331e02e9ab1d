/*
 * fuzz_registrar_msg: the registration message decoders over arbitrary
 * bytes. The first byte picks the decoder (RegistrationRequest,
 * RegistrationReply, KeyRequest, SealedKeys); the rest is its DER. What
 * decodes must encode back to exactly the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/registrar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_or_abort(lethe_status rc, uint8_t *der, size_t len, const uint8_t *in, size_t in_len)
{
	if (rc != LETHE_OK || len != in_len || memcmp(der, in, len) != 0)
		abort();
	reg_free_secret(der, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reg_request req;
	reg_reply rep;
	reg_key_request kr;
	reg_sealed_keys sk;
	uint8_t *der = NULL;
	size_t len = 0;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (reg_request_decode(data + 1, size - 1, &req) == LETHE_OK)
			same_or_abort(reg_request_encode(&req, &der, &len), der, len,
			    data + 1, size - 1);
		break;
	case 1:
		if (reg_reply_decode(data + 1, size - 1, &rep) == LETHE_OK)
			same_or_abort(reg_reply_encode(&rep, &der, &len), der, len,
			    data + 1, size - 1);
		break;
	case 2:
		if (reg_key_request_decode(data + 1, size - 1, &kr) == LETHE_OK)
			same_or_abort(reg_key_request_encode(&kr, &der, &len), der, len,
			    data + 1, size - 1);
		break;
	default:
		if (reg_sealed_keys_decode(data + 1, size - 1, &sk) == LETHE_OK) {
			same_or_abort(reg_sealed_keys_encode(&sk, &der, &len), der, len,
			    data + 1, size - 1);
			reg_sealed_keys_clear(&sk);
		}
		break;
	}
	return 0;
}
