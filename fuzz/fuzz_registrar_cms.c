/*
 * fuzz_registrar_cms: reg_verify and reg_open_keys over arbitrary bytes.
 * The first byte picks the check: verify as a RegistrationRequest,
 * RegistrationReply or KeyRequest (trusting the fixed certificate of
 * fuzz_registrar_cms_identity.h), or open as sealed keys with that
 * identity. regress-* seeds are past findings (fuzz/README.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_registrar_cms_identity.h"
#include "registrar/registrar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static reg_identity *identity;
static X509_STORE *anchors;

static void
init_once(void)
{
	if (identity != NULL)
		return;
	if (reg_identity_from_pem(fuzz_cert_pem, strlen(fuzz_cert_pem), fuzz_key_pem,
	    strlen(fuzz_key_pem), &identity) != LETHE_OK ||
	    reg_trust_add_pem(&anchors, fuzz_cert_pem, strlen(fuzz_cert_pem)) != LETHE_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum reg_content_type types[3] = { REG_CT_REQUEST, REG_CT_REPLY,
		REG_CT_KEY_REQUEST };
	reg_trust trust = { NULL, NULL, 0 };
	reg_verified v;
	reg_sealed_keys sk;
	enum reg_result result;
	uint8_t *peeked = NULL;
	size_t peeked_len = 0;

	if (size < 1)
		return 0;
	init_once();
	trust.anchors = anchors;
	if (data[0] % 4 == 3) {
		if (reg_open_keys(data + 1, size - 1, identity, &sk) == LETHE_OK &&
		    (sk.nkeys == 0 || sk.nkeys > REG_MAX_KEYS))
			abort();
		reg_sealed_keys_clear(&sk);
		return 0;
	}
	/* 1.9e9: a fixed time inside the certificate's validity. */
	if (reg_verify(data + 1, size - 1, types[data[0] % 4], &trust, 1900000000, &v,
	    &result) == LETHE_OK && result == REG_OK) {
		if (v.signer == NULL || v.content == NULL)
			abort();
		reg_verified_clear(&v);
	}
	/* The unverified peek the registrar uses to echo a refused nonce. */
	if (reg_peek_content(data + 1, size - 1, types[data[0] % 4], &peeked,
	    &peeked_len) == LETHE_OK && (peeked == NULL || peeked_len == 0))
		abort();
	free(peeked);
	return 0;
}
