/* kmp_xfrm: an IPsec SA as `ip xfrm state add` words, exact text per suite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kmp/kmp_xfrm.h"

/* Keys 00 01 02 ... (enc) and a0 a1 a2 ... (auth), both directions told apart by +0x10. */
static uint8_t enc_in[24], enc_out[24], auth_in[20], auth_out[20];

static void
fill_keys(void)
{
	size_t i;

	for (i = 0; i < 24; i++) {
		enc_in[i] = (uint8_t)i;
		enc_out[i] = (uint8_t)(0x10 + i);
	}
	for (i = 0; i < 20; i++) {
		auth_in[i] = (uint8_t)(0xa0 + i);
		auth_out[i] = (uint8_t)(0xb0 + i);
	}
}

static void
make_sa(kmp_sa *sa, kmp_doi doi, uint8_t auth, uint8_t enc)
{
	kmp_suite s = { auth, enc };
	kmp_sa_algs a;

	fill_keys();
	assert_int_equal(kmp_sa_suite_algs(doi, s, &a), LETHE_OK);
	assert_int_equal(kmp_sa_init(sa, doi, s,
	    0x0000abcd, lbytes_make(enc_out, a.enc_key_len), lbytes_make(auth_out, a.auth_key_len),
	    0x12345678, lbytes_make(enc_in, a.enc_key_len), lbytes_make(auth_in, a.auth_key_len),
	    0, 3600, 300), LETHE_OK);
}

static void
expect_text(uint8_t auth, uint8_t enc, const char *want)
{
	kmp_sa sa;
	char buf[KMP_XFRM_MAX_TEXT];
	size_t n = 0;

	make_sa(&sa, KMP_DOI_IPSEC, auth, enc);
	assert_int_equal(kmp_xfrm_format(&sa, "10.77.0.2:1293", buf, sizeof(buf), &n), LETHE_OK);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	kmp_sa_clear(&sa);
}

static void
test_sha1_aes(void **state)
{
	(void)state;
	expect_text(KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128,
	    "# lethe-kmp SA for ip xfrm (ESP); secret\n"
	    "suite 02:0c\n"
	    "peer 10.77.0.2:1293\n"
	    "in spi 0x12345678 enc cbc(aes) 0x000102030405060708090a0b0c0d0e0f"
	    " auth-trunc hmac(sha1) 0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3 96\n"
	    "out spi 0x0000abcd enc cbc(aes) 0x101112131415161718191a1b1c1d1e1f"
	    " auth-trunc hmac(sha1) 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3 96\n");
}

static void
test_md5_3des(void **state)
{
	(void)state;
	expect_text(KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_3DES,
	    "# lethe-kmp SA for ip xfrm (ESP); secret\n"
	    "suite 01:03\n"
	    "peer 10.77.0.2:1293\n"
	    "in spi 0x12345678 enc cbc(des3_ede)"
	    " 0x000102030405060708090a0b0c0d0e0f1011121314151617"
	    " auth-trunc hmac(md5) 0xa0a1a2a3a4a5a6a7a8a9aaabacadaeaf 96\n"
	    "out spi 0x0000abcd enc cbc(des3_ede)"
	    " 0x101112131415161718191a1b1c1d1e1f2021222324252627"
	    " auth-trunc hmac(md5) 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 96\n");
}

static void
test_sha1_3des_md5_aes_null(void **state)
{
	(void)state;
	expect_text(KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_3DES,
	    "# lethe-kmp SA for ip xfrm (ESP); secret\n"
	    "suite 02:03\n"
	    "peer 10.77.0.2:1293\n"
	    "in spi 0x12345678 enc cbc(des3_ede)"
	    " 0x000102030405060708090a0b0c0d0e0f1011121314151617"
	    " auth-trunc hmac(sha1) 0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3 96\n"
	    "out spi 0x0000abcd enc cbc(des3_ede)"
	    " 0x101112131415161718191a1b1c1d1e1f2021222324252627"
	    " auth-trunc hmac(sha1) 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3 96\n");
	expect_text(KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_AES_CBC_128,
	    "# lethe-kmp SA for ip xfrm (ESP); secret\n"
	    "suite 01:0c\n"
	    "peer 10.77.0.2:1293\n"
	    "in spi 0x12345678 enc cbc(aes) 0x000102030405060708090a0b0c0d0e0f"
	    " auth-trunc hmac(md5) 0xa0a1a2a3a4a5a6a7a8a9aaabacadaeaf 96\n"
	    "out spi 0x0000abcd enc cbc(aes) 0x101112131415161718191a1b1c1d1e1f"
	    " auth-trunc hmac(md5) 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 96\n");
	expect_text(KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_NULL,
	    "# lethe-kmp SA for ip xfrm (ESP); secret\n"
	    "suite 02:0b\n"
	    "peer 10.77.0.2:1293\n"
	    "in spi 0x12345678 enc ecb(cipher_null) \"\""
	    " auth-trunc hmac(sha1) 0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3 96\n"
	    "out spi 0x0000abcd enc ecb(cipher_null) \"\""
	    " auth-trunc hmac(sha1) 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3 96\n");
}

static void
test_dir_text_and_no_peer(void **state)
{
	kmp_sa sa;
	char buf[KMP_XFRM_MAX_TEXT];
	size_t n = 0;

	(void)state;
	make_sa(&sa, KMP_DOI_IPSEC, KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_AES_CBC_128);
	assert_int_equal(kmp_xfrm_dir_text(&sa, &sa.out, buf, sizeof(buf), &n), LETHE_OK);
	assert_string_equal(buf, "spi 0x0000abcd enc cbc(aes) 0x101112131415161718191a1b1c1d1e1f"
	    " auth-trunc hmac(md5) 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 96");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(kmp_xfrm_format(&sa, NULL, buf, sizeof(buf), &n), LETHE_OK);
	assert_null(strstr(buf, "peer"));
	assert_non_null(strstr(buf, "\nin spi 0x12345678 "));
	kmp_sa_clear(&sa);
}

/* Short buffers, an SNMPv3 SA, a dead SA: refused, nothing half-written. */
static void
test_refusals(void **state)
{
	kmp_sa sa;
	char buf[KMP_XFRM_MAX_TEXT];
	size_t n = 0, full = 0, cap;

	(void)state;
	make_sa(&sa, KMP_DOI_IPSEC, KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_3DES);
	assert_int_equal(kmp_xfrm_format(&sa, "p", buf, sizeof(buf), &full), LETHE_OK);
	for (cap = 1; cap <= full; cap++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(kmp_xfrm_format(&sa, "p", buf, cap, &n), LETHE_ERR_TOO_BIG);
		assert_int_equal(buf[0], '\0');
		assert_null(memchr(buf, '1', cap));     /* no key digits left */
	}
	assert_int_equal(kmp_xfrm_format(&sa, "p", buf, full + 1, &n), LETHE_OK);
	assert_int_equal(n, full);
	assert_int_equal(kmp_xfrm_dir_text(&sa, &sa.in, buf, 20, &n), LETHE_ERR_TOO_BIG);
	assert_int_equal(kmp_xfrm_format(&sa, "p", buf, 0, &n), LETHE_ERR_TOO_BIG);
	kmp_sa_clear(&sa);
	assert_int_equal(kmp_xfrm_format(&sa, "p", buf, sizeof(buf), &n), LETHE_ERR_INVALID_ARG);

	make_sa(&sa, KMP_DOI_SNMPV3, KMP_SNMP_AUTH_HMAC_SHA1_96, KMP_SNMP_PRIV_NONE);
	assert_int_equal(kmp_xfrm_format(&sa, "p", buf, sizeof(buf), &n), LETHE_ERR_UNSUPPORTED);
	assert_int_equal(kmp_xfrm_dir_text(&sa, &sa.in, buf, sizeof(buf), &n),
	    LETHE_ERR_UNSUPPORTED);
	assert_int_equal(kmp_xfrm_write(&sa, "p", "unused"), LETHE_ERR_UNSUPPORTED);
	kmp_sa_clear(&sa);
}

/* kmp_xfrm_write: a 0600 file with exactly kmp_xfrm_format's text; replaced. */
static void
test_write_file(void **state)
{
	char dir[] = "/tmp/test_kmp_xfrm.XXXXXX", path[64], want[KMP_XFRM_MAX_TEXT];
	char got[KMP_XFRM_MAX_TEXT + 8];
	kmp_sa sa;
	struct stat st;
	FILE *f;
	size_t n = 0, r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sa.xfrm", dir);
	make_sa(&sa, KMP_DOI_IPSEC, KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_3DES);
	assert_int_equal(kmp_xfrm_write(&sa, "x", path), LETHE_OK);
	kmp_sa_clear(&sa);
	make_sa(&sa, KMP_DOI_IPSEC, KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128);
	assert_int_equal(kmp_xfrm_write(&sa, "y", path), LETHE_OK);
	assert_int_equal(kmp_xfrm_format(&sa, "y", want, sizeof(want), &n), LETHE_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	r = fread(got, 1, sizeof(got), f);
	fclose(f);
	assert_int_equal(r, n);
	assert_memory_equal(got, want, n);
	kmp_sa_clear(&sa);
	assert_int_equal(kmp_xfrm_write(&sa, "y", path), LETHE_ERR_INVALID_ARG);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_aes),
		cmocka_unit_test(test_md5_3des),
		cmocka_unit_test(test_sha1_3des_md5_aes_null),
		cmocka_unit_test(test_dir_text_and_no_peer),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_write_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
