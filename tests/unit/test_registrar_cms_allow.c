/*
 * The allow-list a sealed CMS passes before OpenSSL decrypts it
 * (reg_cms_allow.c, DESIGN §7): what reg_seal_bytes produces opens; a CMS
 * that differs in recipient kind, ECDH KDF, key wrap or content cipher
 * (each made here with OpenSSL's own CMS API) is refused as LETHE_ERR_FORMAT,
 * never as a failed decryption. And the fuzz finding
 * fuzz/corpus/fuzz_registrar_cms/regress-kari-wrap-pad (AES key wrap with
 * padding, whose OpenSSL 3.0 error path wipes 8 bytes past a heap buffer)
 * is refused by the fuzz target's own entry point. A SignedData likewise
 * verifies only with the digest, signature and attributes reg_sign uses.
 * This binary links the
 * OPENSSL_cleanse interposer, so under ASan a CMS that did reach that path
 * would be reported as a heap-buffer-overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "fuzz_registrar_cms_identity.h"
#include "reg_test_pki.h"
#include "registrar/reg_internal.h"
#include "registrar/registrar.h"

static rtp_pki *pki;

/* How a test CMS differs from what reg_seal_bytes makes (zero: not at all). */
typedef struct variant {
	const char *name;
	const EVP_CIPHER *(*content)(void);   /* content cipher; NULL: AES-256-GCM */
	const EVP_CIPHER *(*wrap)(void);      /* kari key wrap; NULL: OpenSSL's choice */
	const EVP_MD *(*kdf)(void);           /* kari KDF digest; NULL: SHA-256 */
	bool cofactor;                        /* cofactor ECDH instead of standard */
	int rsa_padding;                      /* ktri; 0: OAEP */
	const EVP_MD *(*oaep)(void);          /* OAEP digest; NULL: SHA-256 */
	unsigned flags;                       /* CMS_add1_recipient_cert flags added */
	const rtp_cert *second;               /* a second recipient */
} variant;

static int
setup(void **state)
{
	(void)state;
	pki = rtp_pki_new((int64_t)time(NULL));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rtp_pki_free(pki);
	return 0;
}

/* Key management parameters for ri as v says (Lethe's when v is all defaults). */
static void
set_params(CMS_RecipientInfo *ri, const variant *v)
{
	EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	EVP_CIPHER_CTX *wctx;

	assert_non_null(pctx);
	if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, v->rsa_padding != 0 ?
		    v->rsa_padding : RSA_PKCS1_OAEP_PADDING) > 0);
		if (v->rsa_padding == 0)
			assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, v->oaep != NULL ?
			    v->oaep() : EVP_sha256()) > 0);
		return;
	}
	assert_true(EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, v->kdf != NULL ? v->kdf() :
	    EVP_sha256()) > 0);
	if (v->cofactor)
		assert_true(EVP_PKEY_CTX_set_ecdh_cofactor_mode(pctx, 1) > 0);
	if (v->wrap != NULL) {
		/* A wrap cipher already set on the kari context is the one OpenSSL uses. */
		wctx = CMS_RecipientInfo_kari_get0_ctx(ri);
		assert_non_null(wctx);
		EVP_CIPHER_CTX_set_flags(wctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		assert_int_equal(EVP_EncryptInit_ex(wctx, v->wrap(), NULL, NULL, NULL), 1);
	}
}

/* Seal plain to "to" (and v->second) as reg_seal_bytes does, but for v. */
static void
seal_variant(const rtp_cert *to, const variant *v, enum reg_content_type ct,
    const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len)
{
	const rtp_cert *rcpt[2] = { to, v->second };
	CMS_ContentInfo *cms;
	CMS_RecipientInfo *ri;
	ASN1_OBJECT *oid = regi_content_type_obj(ct);
	unsigned char *der = NULL;
	BIO *bio;
	int n;

	cms = CMS_AuthEnvelopedData_create(v->content != NULL ? v->content() :
	    EVP_aes_256_gcm());
	assert_non_null(cms);
	assert_int_equal(CMS_set_detached(cms, 0), 1);
	for (size_t i = 0; i < 2 && rcpt[i] != NULL; i++) {
		ri = CMS_add1_recipient_cert(cms, rcpt[i]->cert, CMS_KEY_PARAM | v->flags);
		assert_non_null(ri);
		set_params(ri, v);
	}
	assert_int_equal(CMS_set1_eContentType(cms, oid), 1);
	bio = BIO_new_mem_buf(plain, (int)plain_len);
	assert_int_equal(CMS_final(cms, bio, NULL, CMS_BINARY), 1);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	*out = malloc((size_t)n);
	assert_non_null(*out);
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
	OPENSSL_free(der);
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	ASN1_OBJECT_free(oid);
}

/* Sealed keys (one AES-256 key) for v to "to", opened with id: the status. */
static lethe_status
open_variant(const rtp_cert *to, const variant *v, const rtp_cert *id_cert)
{
	reg_sealed_keys keys, back;
	reg_identity *id = rtp_identity(id_cert);
	uint8_t *plain = NULL, *der = NULL;
	size_t plain_len = 0, len = 0;
	lethe_status rc;

	memset(&keys, 0, sizeof(keys));
	keys.nkeys = 1;
	keys.keys[0] = (reg_sealed_key){ 4, 18, { 0 }, 32 };
	memset(keys.keys[0].key, 0x3c, 32);
	assert_int_equal(reg_sealed_keys_encode(&keys, &plain, &plain_len), LETHE_OK);
	seal_variant(to, v, REG_CT_SEALED_KEYS, plain, plain_len, &der, &len);
	rc = reg_open_keys(der, len, id, &back);
	if (rc == LETHE_OK) {
		assert_int_equal(back.nkeys, 1);
		assert_memory_equal(back.keys[0].key, keys.keys[0].key, 32);
	}
	reg_sealed_keys_clear(&back);
	reg_free_secret(plain, plain_len);
	free(der);
	reg_identity_free(id);
	return rc;
}

/* What Lethe seals, made through this test's builder, opens: EC and RSA. */
static void
test_lethe_shape_opens(void **state)
{
	static const variant lethe = { .name = "as reg_seal_bytes" };
	reg_sealed_keys keys, back;
	reg_identity *id = rtp_identity(&pki->kdc);
	uint8_t *der = NULL;
	size_t len = 0;
	const char *why = "unset";

	(void)state;
	assert_int_equal(open_variant(&pki->kdc, &lethe, &pki->kdc), LETHE_OK);
	assert_int_equal(open_variant(&pki->kdc_rsa, &lethe, &pki->kdc_rsa), LETHE_OK);
	/* And reg_seal_keys' own output passes the allow-list itself. */
	memset(&keys, 0, sizeof(keys));
	keys.nkeys = 1;
	keys.keys[0] = (reg_sealed_key){ 1, 17, { 7 }, 16 };
	assert_int_equal(reg_seal_keys(pki->kdc.cert, &keys, &der, &len), LETHE_OK);
	assert_int_equal(regi_sealed_allowed(der, len, pki->kdc.key, &why), LETHE_OK);
	assert_null(why);
	assert_int_equal(reg_open_keys(der, len, id, &back), LETHE_OK);
	reg_sealed_keys_clear(&back);
	free(der);
	reg_identity_free(id);
}

/* Every variant an EC identity (the KDC's) must refuse as malformed. */
static void
test_ec_variants_refused(void **state)
{
	static const variant refused[] = {
		{ .name = "AES-256 key wrap with padding", .wrap = EVP_aes_256_wrap_pad },
		{ .name = "AES-128 key wrap with padding", .wrap = EVP_aes_128_wrap_pad },
		{ .name = "AES-128 key wrap", .wrap = EVP_aes_128_wrap },
		{ .name = "AES-192 key wrap", .wrap = EVP_aes_192_wrap },
		{ .name = "X9.63 KDF with SHA-384", .kdf = EVP_sha384 },
		{ .name = "X9.63 KDF with SHA-1", .kdf = EVP_sha1 },
		{ .name = "cofactor ECDH", .cofactor = true },
		{ .name = "AES-128-GCM content", .content = EVP_aes_128_gcm },
		{ .name = "AES-192-GCM content, AES-256 wrap", .content = EVP_aes_192_gcm,
		  .wrap = EVP_aes_256_wrap },
		{ .name = "recipient by subjectKeyIdentifier", .flags = CMS_USE_KEYID },
	};
	static const variant lethe = { .name = "as reg_seal_bytes" };
	variant two = { .name = "two recipients" };

	(void)state;
	two.second = &pki->server_san;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		print_message("refused: %s\n", refused[i].name);
		assert_int_equal(open_variant(&pki->kdc, &refused[i], &pki->kdc),
		    LETHE_ERR_FORMAT);
	}
	assert_int_equal(open_variant(&pki->kdc, &two, &pki->kdc), LETHE_ERR_FORMAT);
	/* A key transport (ktri) recipient is not for an EC identity. */
	assert_int_equal(open_variant(&pki->kdc_rsa, &lethe, &pki->kdc), LETHE_ERR_FORMAT);
}

/* Every variant an RSA identity must refuse as malformed. */
static void
test_rsa_variants_refused(void **state)
{
	static const variant refused[] = {
		{ .name = "RSA PKCS#1 v1.5", .rsa_padding = RSA_PKCS1_PADDING },
		{ .name = "RSA-OAEP with SHA-1", .oaep = EVP_sha1 },
		{ .name = "RSA-OAEP with SHA-512", .oaep = EVP_sha512 },
		{ .name = "AES-128-GCM content", .content = EVP_aes_128_gcm },
	};
	static const variant lethe = { .name = "as reg_seal_bytes" };

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		print_message("refused: %s\n", refused[i].name);
		assert_int_equal(open_variant(&pki->kdc_rsa, &refused[i], &pki->kdc_rsa),
		    LETHE_ERR_FORMAT);
	}
	/* A key agreement recipient is not for an RSA identity. */
	assert_int_equal(open_variant(&pki->kdc, &lethe, &pki->kdc_rsa), LETHE_ERR_FORMAT);
}

/* A public-key ticket (the acceptor's reg_open_bytes) with a padded key wrap. */
static void
test_ticket_wrap_pad_refused(void **state)
{
	static const variant pad = { .name = "AES-256 key wrap with padding",
		.wrap = EVP_aes_256_wrap_pad };
	static const uint8_t plain[] = "a ticket's EncTicketPart";
	reg_identity *id = rtp_identity(&pki->server_san);
	uint8_t *der = NULL, *out = NULL;
	size_t len = 0, out_len = 0;

	(void)state;
	seal_variant(&pki->server_san, &pad, REG_CT_TICKET, plain, sizeof(plain), &der, &len);
	assert_int_equal(reg_open_bytes(der, len, REG_CT_TICKET, id, &out, &out_len),
	    LETHE_ERR_FORMAT);
	assert_null(out);
	free(der);
	reg_identity_free(id);
}

/* The fuzz finding, through the fuzz target's entry point and the allow-list. */
static void
test_regress_kari_wrap_pad(void **state)
{
	const char *path = FUZZ_CORPUS_DIR "/fuzz_registrar_cms/regress-kari-wrap-pad";
	reg_identity *id = NULL;
	reg_sealed_keys sk;
	EVP_PKEY *key;
	BIO *bio;
	uint8_t buf[4096];
	size_t len;
	const char *why = NULL;
	FILE *f;

	(void)state;
	f = fopen(path, "rb");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(len > 1 && len < sizeof(buf));
	/* First byte 3: fuzz_registrar_cms opens the rest as sealed keys. */
	assert_int_equal(buf[0] % 4, 3);
	assert_int_equal(reg_identity_from_pem(fuzz_cert_pem, strlen(fuzz_cert_pem),
	    fuzz_key_pem, strlen(fuzz_key_pem), &id), LETHE_OK);
	/* FORMAT, not BAD_INTEGRITY: refused before CMS_decrypt was called. */
	assert_int_equal(reg_open_keys(buf + 1, len - 1, id, &sk), LETHE_ERR_FORMAT);
	assert_int_equal(sk.nkeys, 0);
	bio = BIO_new_mem_buf(fuzz_key_pem, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(key);
	assert_int_equal(regi_sealed_allowed(buf + 1, len - 1, key, &why), LETHE_ERR_FORMAT);
	assert_non_null(why);
	assert_non_null(strstr(why, "id-aes256-wrap"));
	EVP_PKEY_free(key);
	BIO_free(bio);
	reg_identity_free(id);
}

/* Truncations and trailing bytes of a good CMS never pass the allow-list. */
static void
test_allow_list_exact(void **state)
{
	reg_sealed_keys keys;
	uint8_t *der = NULL, *longer;
	size_t len = 0;
	const char *why;

	(void)state;
	memset(&keys, 0, sizeof(keys));
	keys.nkeys = 1;
	keys.keys[0] = (reg_sealed_key){ 1, 17, { 7 }, 16 };
	assert_int_equal(reg_seal_keys(pki->kdc.cert, &keys, &der, &len), LETHE_OK);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(regi_sealed_allowed(der, cut, pki->kdc.key, &why),
		    LETHE_ERR_FORMAT);
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(regi_sealed_allowed(longer, len + 1, pki->kdc.key, &why),
	    LETHE_ERR_FORMAT);
	free(longer);
	free(der);
}

/* How a test SignedData differs from what reg_sign makes (zero: not at all). */
typedef struct sig_variant {
	const char *name;
	const EVP_MD *(*md)(void);            /* NULL: SHA-256 */
	unsigned flags;                       /* CMS_add1_signer flags added */
	bool pss;                             /* RSA-PSS instead of PKCS#1 v1.5 */
} sig_variant;

/* A RegistrationRequest signed by c as reg_sign does, but for v: the verdict. */
static enum reg_result
verify_variant(const rtp_cert *c, const sig_variant *v)
{
	static const uint8_t content[] = "a registration request";
	const unsigned flags = CMS_BINARY | CMS_NOSMIMECAP;
	ASN1_OBJECT *oid = regi_content_type_obj(REG_CT_REQUEST);
	X509_STORE *anchors = rtp_store(&pki->ca);
	reg_trust trust = { anchors, NULL, 0 };
	enum reg_result result = REG_INTERNAL;
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	unsigned char *der = NULL;
	reg_verified rv;
	BIO *bio;
	int n;

	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL);
	assert_non_null(cms);
	assert_int_equal(CMS_set1_eContentType(cms, oid), 1);
	si = CMS_add1_signer(cms, c->cert, c->key, v->md != NULL ? v->md() : EVP_sha256(),
	    flags | v->flags | (v->pss ? CMS_KEY_PARAM : 0));
	assert_non_null(si);
	if (v->pss)
		assert_true(EVP_PKEY_CTX_set_rsa_padding(CMS_SignerInfo_get0_pkey_ctx(si),
		    RSA_PKCS1_PSS_PADDING) > 0);
	bio = BIO_new_mem_buf(content, sizeof(content));
	assert_int_equal(CMS_final(cms, bio, NULL, flags), 1);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);
	assert_int_equal(reg_verify(der, (size_t)n, REG_CT_REQUEST, &trust, pki->now, &rv,
	    &result), LETHE_OK);
	reg_verified_clear(&rv);
	OPENSSL_free(der);
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	X509_STORE_free(anchors);
	ASN1_OBJECT_free(oid);
	return result;
}

/* reg_sign's shape verifies; other digests, PSS, no attributes, SKI: MALFORMED. */
static void
test_signed_variants(void **state)
{
	static const sig_variant lethe = { .name = "as reg_sign" };
	static const sig_variant refused_ec[] = {
		{ .name = "SHA-384 digest", .md = EVP_sha384 },
		{ .name = "SHA-1 digest", .md = EVP_sha1 },
		{ .name = "no signed attributes", .flags = CMS_NOATTR },
		{ .name = "signer by subjectKeyIdentifier", .flags = CMS_USE_KEYID },
	};
	static const sig_variant refused_rsa[] = {
		{ .name = "RSA-PSS", .pss = true },
		{ .name = "SHA-512 digest", .md = EVP_sha512 },
	};

	(void)state;
	assert_int_equal(verify_variant(&pki->server_san, &lethe), REG_OK);
	assert_int_equal(verify_variant(&pki->server_dns, &lethe), REG_OK);
	for (size_t i = 0; i < sizeof(refused_ec) / sizeof(refused_ec[0]); i++) {
		print_message("refused: EC %s\n", refused_ec[i].name);
		assert_int_equal(verify_variant(&pki->server_san, &refused_ec[i]), REG_MALFORMED);
	}
	for (size_t i = 0; i < sizeof(refused_rsa) / sizeof(refused_rsa[0]); i++) {
		print_message("refused: RSA %s\n", refused_rsa[i].name);
		assert_int_equal(verify_variant(&pki->server_dns, &refused_rsa[i]),
		    REG_MALFORMED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lethe_shape_opens),
		cmocka_unit_test(test_ec_variants_refused),
		cmocka_unit_test(test_rsa_variants_refused),
		cmocka_unit_test(test_ticket_wrap_pad_refused),
		cmocka_unit_test(test_regress_kari_wrap_pad),
		cmocka_unit_test(test_allow_list_exact),
		cmocka_unit_test(test_signed_variants),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
