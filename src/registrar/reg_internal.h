/* Helpers shared by the files of the registration protocol library. */
#ifndef LETHE_REGISTRAR_REG_INTERNAL_H
#define LETHE_REGISTRAR_REG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/evp.h>

#include "registrar/registrar.h"

#define REGI_MAX_FILE (4u * REG_MAX_MESSAGE)   /* PEM or PKCS#12 file bound */

/* A new ASN1_OBJECT for ct (caller ASN1_OBJECT_free's it), or NULL. */
ASN1_OBJECT *regi_content_type_obj(enum reg_content_type ct);

/*
 * The DESIGN §7 allow-list for a sealed CMS, before OpenSSL decrypts it:
 * der[0..len) (a DER-exact ContentInfo) must be exactly the
 * AuthEnvelopedData reg_seal_bytes produces for key's type (EC: one kari
 * recipient, dhSinglePass-stdDH-sha256kdf, id-aes256-wrap; RSA: one ktri
 * recipient, RSAES-OAEP SHA-256) with AES-256-GCM content. Else
 * LETHE_ERR_FORMAT and *why (static text) names the first mismatch.
 */
lethe_status regi_sealed_allowed(const uint8_t *der, size_t len, EVP_PKEY *key,
    const char **why);

/*
 * The allow-list for a SignedData's one signer, before CMS_verify: named by
 * issuer and serial, digest SHA-256, signature ecdsa-with-SHA256 for an EC
 * signer key or PKCS#1 v1.5 for RSA (as reg_sign makes them), signed
 * attributes present and no unsigned ones. Else LETHE_ERR_FORMAT, *why set.
 */
lethe_status regi_signed_allowed(CMS_SignerInfo *si, X509 *signer, const char **why);

#endif
