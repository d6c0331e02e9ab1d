/*
 * For the interop attack tools (reg_tool -p, acc_cms_tool): a CMS Lethe
 * never makes, to check that the allow-lists refuse it unopened.
 */
#ifndef LETHE_TESTS_INTEROP_CMS_WRAP_PAD_H
#define LETHE_TESTS_INTEROP_CMS_WRAP_PAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "registrar/registrar.h"

/*
 * plain sealed to recipient (an EC certificate) as reg_seal_bytes seals it
 * (AuthEnvelopedData, AES-256-GCM, ECDH X9.63 SHA-256, content type ct)
 * but with the content key wrapped by id-aes256-wrap-pad, the key wrap on
 * whose error path OpenSSL 3.0 writes past a heap buffer. *out is freed
 * by the caller. LETHE_ERR_CRYPTO when OpenSSL refuses.
 */
lethe_status cms_seal_wrap_pad(X509 *recipient, enum reg_content_type ct,
    const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len);

#endif
