/* Enctype and checksum type tables, lookups and length helpers. */
#include "crypto/crypto_int.h"

#include <stdint.h>
#include <strings.h>

static const kc_etype_impl etypes[] = {
	{
		.pub = {
			.number = KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96,
			.name = "aes128-cts-hmac-sha1-96",
			.key_len = 16, .random_len = 16, .mac_len = 12,
			.prf_len = 16,
			.cksumtype = KC_CKSUMTYPE_HMAC_SHA1_96_AES128,
			.default_iterations = 4096,
		},
		.cipher = KC_CIPHER_AES128, .md = KC_MD_SHA1, .sha2 = false,
		.ki_len = 16,
	},
	{
		.pub = {
			.number = KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96,
			.name = "aes256-cts-hmac-sha1-96",
			.key_len = 32, .random_len = 32, .mac_len = 12,
			.prf_len = 16,
			.cksumtype = KC_CKSUMTYPE_HMAC_SHA1_96_AES256,
			.default_iterations = 4096,
		},
		.cipher = KC_CIPHER_AES256, .md = KC_MD_SHA1, .sha2 = false,
		.ki_len = 32,
	},
	{
		.pub = {
			.number = KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128,
			.name = "aes128-cts-hmac-sha256-128",
			.key_len = 16, .random_len = 16, .mac_len = 16,
			.prf_len = 32,
			.cksumtype = KC_CKSUMTYPE_HMAC_SHA256_128_AES128,
			.default_iterations = 32768,
		},
		.cipher = KC_CIPHER_AES128, .md = KC_MD_SHA256, .sha2 = true,
		.ki_len = 16,
	},
	{
		.pub = {
			.number = KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192,
			.name = "aes256-cts-hmac-sha384-192",
			.key_len = 32, .random_len = 32, .mac_len = 24,
			.prf_len = 48,
			.cksumtype = KC_CKSUMTYPE_HMAC_SHA384_192_AES256,
			.default_iterations = 32768,
		},
		.cipher = KC_CIPHER_AES256, .md = KC_MD_SHA384, .sha2 = true,
		.ki_len = 24,
	},
};

#define NETYPES (sizeof(etypes) / sizeof(etypes[0]))

/* MIT's alternative names. */
static const struct {
	const char *alias;
	int32_t number;
} aliases[] = {
	{ "aes128-cts", KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96 },
	{ "aes128-sha1", KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96 },
	{ "aes256-cts", KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96 },
	{ "aes256-sha1", KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96 },
	{ "aes128-sha2", KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128 },
	{ "aes256-sha2", KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192 },
};

static const kc_cksumtype cksumtypes[] = {
	{ KC_CKSUMTYPE_HMAC_SHA1_96_AES128, "hmac-sha1-96-aes128",
	  KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96, 12 },
	{ KC_CKSUMTYPE_HMAC_SHA1_96_AES256, "hmac-sha1-96-aes256",
	  KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96, 12 },
	{ KC_CKSUMTYPE_HMAC_SHA256_128_AES128, "hmac-sha256-128-aes128",
	  KC_ENCTYPE_AES128_CTS_HMAC_SHA256_128, 16 },
	{ KC_CKSUMTYPE_HMAC_SHA384_192_AES256, "hmac-sha384-192-aes256",
	  KC_ENCTYPE_AES256_CTS_HMAC_SHA384_192, 24 },
};

const kc_etype_impl *
kc_impl(int32_t number)
{
	for (size_t i = 0; i < NETYPES; i++) {
		if (etypes[i].pub.number == number)
			return &etypes[i];
	}
	return NULL;
}

lethe_status
kc_enctype_lookup(int32_t number, const kc_enctype **out)
{
	const kc_etype_impl *e = kc_impl(number);

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	*out = &e->pub;
	return LETHE_OK;
}

lethe_status
kc_enctype_lookup_name(const char *name, const kc_enctype **out)
{
	ENSURE(name != NULL, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < NETYPES; i++) {
		if (strcasecmp(etypes[i].pub.name, name) == 0) {
			*out = &etypes[i].pub;
			return LETHE_OK;
		}
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(aliases[i].alias, name) == 0)
			return kc_enctype_lookup(aliases[i].number, out);
	}
	return LETHE_ERR_ETYPE_NOSUPP;
}

bool
kc_enctype_supported(int32_t number)
{
	return kc_impl(number) != NULL;
}

lethe_status
kc_cksumtype_lookup(int32_t number, const kc_cksumtype **out)
{
	for (size_t i = 0; i < sizeof(cksumtypes) / sizeof(cksumtypes[0]); i++) {
		if (cksumtypes[i].number == number) {
			*out = &cksumtypes[i];
			return LETHE_OK;
		}
	}
	return LETHE_ERR_CKSUM_NOSUPP;
}

lethe_status
kc_encrypt_len(int32_t enctype, size_t plain_len, size_t *cipher_len)
{
	const kc_etype_impl *e = kc_impl(enctype);
	size_t overhead;

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	overhead = KC_CONFOUNDER_LEN + e->pub.mac_len;
	ENSURE(plain_len <= SIZE_MAX - overhead, LETHE_ERR_TOO_BIG);
	*cipher_len = plain_len + overhead;
	return LETHE_OK;
}

lethe_status
kc_plain_len(int32_t enctype, size_t cipher_len, size_t *plain_len)
{
	const kc_etype_impl *e = kc_impl(enctype);
	size_t overhead;

	ENSURE(e != NULL, LETHE_ERR_ETYPE_NOSUPP);
	overhead = KC_CONFOUNDER_LEN + e->pub.mac_len;
	ENSURE(cipher_len >= overhead, LETHE_ERR_BAD_INTEGRITY);
	*plain_len = cipher_len - overhead;
	return LETHE_OK;
}
