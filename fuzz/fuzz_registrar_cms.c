/*
 * fuzz_registrar_cms: reg_verify and reg_open_keys over arbitrary bytes.
 * The first byte picks the check: verify as a RegistrationRequest,
 * RegistrationReply or KeyRequest (trusting the fixed certificate below),
 * or open as sealed keys with the fixed identity below. The key is test
 * material for this fuzzer only; the seeds in
 * corpus/fuzz_registrar_cms/ are signed with it and sealed to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/registrar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_cert_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBtDCCAVugAwIBAgIUeOhIr/XbJ2vDNApmvEEAC3aE6EUwCgYIKoZIzj0EAwIw\n"
	"JzESMBAGA1UECgwJRlVaWi5URVNUMREwDwYDVQQDDAhmdXp6IGtkYzAgFw0yNjEx\n"
	"MjMxNjU4NTBaGA8yMTI2MTAzMDE2NTg1MFowJzESMBAGA1UECgwJRlVaWi5URVNU\n"
	"MREwDwYDVQQDDAhmdXp6IGtkYzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAKd\n"
	"AH2QuVviPb4OvBf5xFzH3SKmY8hD5aexi5pnLBem5+9YOxyL068lssgrT/mKt+h2\n"
	"OBEuL8++/BHozLIIZFyjYzBhMB0GA1UdDgQWBBRV37tZzjtGwrYfDTzqqFjY29WQ\n"
	"yDAfBgNVHSMEGDAWgBRV37tZzjtGwrYfDTzqqFjY29WQyDAPBgNVHRMBAf8EBTAD\n"
	"AQH/MA4GA1UdDwEB/wQEAwIDiDAKBggqhkjOPQQDAgNHADBEAiAT6yyIqjPgdgcc\n"
	"ZEW431JKrUNG8CA3CbjY2S540VFF8AIgfNBrxou8FBHG4SzHaAPrjHqwu4DhvaFv\n"
	"3Cpn3cNvpt0=\n"
	"-----END CERTIFICATE-----\n"
	;

static const char fuzz_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4cCq/edqQ5U+AMPo\n"
	"2086ojmfjs8k+4Z0pCyxo8tz3/yhRANCAAQCnQB9kLlb4j2+DrwX+cRcx90ipmPI\n"
	"Q+WnsYuaZywXpufvWDsci9OvJbLIK0/5irfodjgRLi/PvvwR6MyyCGRc\n"
	"-----END PRIVATE KEY-----\n"
	;

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
