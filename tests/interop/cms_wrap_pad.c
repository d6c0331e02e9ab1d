/* cms_seal_wrap_pad (cms_wrap_pad.h). */
#include "cms_wrap_pad.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/evp.h>

lethe_status
cms_seal_wrap_pad(X509 *recipient, enum reg_content_type ct, const uint8_t *plain,
    size_t plain_len, uint8_t **out, size_t *out_len)
{
	CMS_ContentInfo *cms = CMS_AuthEnvelopedData_create(EVP_aes_256_gcm());
	ASN1_OBJECT *oid = OBJ_txt2obj(reg_content_type_oid(ct), 1);
	CMS_RecipientInfo *ri = NULL;
	EVP_CIPHER_CTX *wctx;
	unsigned char *der = NULL;
	BIO *bio = NULL;
	int n = 0;
	lethe_status rc = LETHE_ERR_CRYPTO;

	if (cms == NULL || oid == NULL || CMS_set_detached(cms, 0) != 1)
		goto cleanup;
	ri = CMS_add1_recipient_cert(cms, recipient, CMS_KEY_PARAM);
	wctx = ri != NULL ? CMS_RecipientInfo_kari_get0_ctx(ri) : NULL;
	if (wctx == NULL || EVP_PKEY_CTX_set_ecdh_kdf_md(CMS_RecipientInfo_get0_pkey_ctx(ri),
	    EVP_sha256()) <= 0)
		goto cleanup;
	/* A wrap cipher already set on the kari context is the one OpenSSL uses. */
	EVP_CIPHER_CTX_set_flags(wctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	bio = BIO_new_mem_buf(plain, (int)plain_len);
	if (EVP_EncryptInit_ex(wctx, EVP_aes_256_wrap_pad(), NULL, NULL, NULL) != 1 ||
	    CMS_set1_eContentType(cms, oid) != 1 || bio == NULL ||
	    CMS_final(cms, bio, NULL, CMS_BINARY) != 1 ||
	    (n = i2d_CMS_ContentInfo(cms, &der)) <= 0 || (*out = malloc((size_t)n)) == NULL)
		goto cleanup;
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
	rc = LETHE_OK;
cleanup:
	OPENSSL_free(der);
	BIO_free(bio);
	ASN1_OBJECT_free(oid);
	CMS_ContentInfo_free(cms);
	return rc;
}
