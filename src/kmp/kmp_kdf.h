/*
 * PacketCable KMP: message HMAC keys and security-association keys.
 *
 * API: ready
 *
 * The spec's own derivation (J.170 §9.6) could not be read, so Lethe uses
 * the fallback of the wire notes (§9.4), documented in docs/kmp.md: every
 * key is RFC 6113 PRF+ (built on the RFC 3961 PRF of the Kerberos key's
 * enctype) of a distinct label:
 *
 *	key = PRF+(base, label || 0x00 || context)[0 .. key length)
 *
 * where context is empty for the HMAC keys and the two bytes of the
 * selected ciphersuite for the SA keys. Base keys:
 *	AP Request HMAC     ticket session key  (client -> server)
 *	AP Reply HMAC       AP-REP subkey       (server -> client)
 *	SA Recovered HMAC   AP-REP subkey       (client -> server)
 *	Rekey HMAC          AP-REP subkey of the exchange that set up the
 *	                    SA being rekeyed    (server -> client)
 *	IPsec and SNMPv3 SA keys                AP-REP subkey
 * Message HMACs are HMAC-SHA-1 (EVP_MAC) over kmp_hmac_range(), compared
 * in constant time. All key structs are secret: clear them after use.
 */
#ifndef LETHE_KMP_KMP_KDF_H
#define LETHE_KMP_KMP_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "kmp/kmp.h"

#define KMP_HMAC_KEY_LEN        20      /* every message HMAC key */
#define KMP_IPSEC_ENC_KEY_MAX   24      /* ESP_3DES */
#define KMP_IPSEC_AUTH_KEY_MAX  20      /* HMAC-SHA-1-96 */
#define KMP_SNMP_AUTH_KEY_MAX   20      /* USM HMAC-SHA-96 */
#define KMP_SNMP_PRIV_KEY_MAX   16      /* USM CBC-DES: DES key, pre-IV */

/* PRF+ labels, one per key and direction (ASCII, no NUL on the wire). */
#define KMP_LABEL_AP_REQUEST_HMAC       "lethe-kmp ap-request hmac"
#define KMP_LABEL_AP_REPLY_HMAC         "lethe-kmp ap-reply hmac"
#define KMP_LABEL_SA_RECOVERED_HMAC     "lethe-kmp sa-recovered hmac"
#define KMP_LABEL_REKEY_HMAC            "lethe-kmp rekey hmac"
#define KMP_LABEL_IPSEC_CLIENT_IN_ENC   "lethe-kmp ipsec client-inbound enc"
#define KMP_LABEL_IPSEC_CLIENT_IN_AUTH  "lethe-kmp ipsec client-inbound auth"
#define KMP_LABEL_IPSEC_SERVER_IN_ENC   "lethe-kmp ipsec server-inbound enc"
#define KMP_LABEL_IPSEC_SERVER_IN_AUTH  "lethe-kmp ipsec server-inbound auth"
#define KMP_LABEL_SNMP_AUTH             "lethe-kmp snmpv3 auth"
#define KMP_LABEL_SNMP_PRIV             "lethe-kmp snmpv3 priv"

/* Which message an HMAC key authenticates (one key per message type). */
typedef enum kmp_hmac_usage {
	KMP_HMAC_AP_REQUEST = 1,
	KMP_HMAC_AP_REPLY,
	KMP_HMAC_SA_RECOVERED,
	KMP_HMAC_REKEY
} kmp_hmac_usage;

/* A message HMAC key; usage ties it to one KMMID. Secret. */
typedef struct kmp_hmac_key {
	kmp_hmac_usage usage;
	uint8_t bytes[KMP_HMAC_KEY_LEN];
} kmp_hmac_key;

/* Keys protecting one direction of ESP traffic. */
typedef struct kmp_ipsec_dir_keys {
	uint8_t enc[KMP_IPSEC_ENC_KEY_MAX];     /* enc_len bytes used */
	uint8_t auth[KMP_IPSEC_AUTH_KEY_MAX];   /* auth_len bytes used */
} kmp_ipsec_dir_keys;

/*
 * The two SAs of one IPsec-DOI exchange. client_inbound protects
 * server -> client traffic (SPI from the AP Request ASD), server_inbound
 * client -> server traffic (SPI from the AP Reply / Rekey ASD). Secret.
 */
typedef struct kmp_ipsec_keys {
	kmp_suite suite;
	size_t enc_len;
	size_t auth_len;
	kmp_ipsec_dir_keys client_inbound;
	kmp_ipsec_dir_keys server_inbound;
} kmp_ipsec_keys;

/* Localized USM keys for the user named in the ASD (no password-to-key). */
typedef struct kmp_snmp_keys {
	kmp_suite suite;
	size_t auth_len;
	size_t priv_len;                        /* 0 for no privacy */
	uint8_t auth_key[KMP_SNMP_AUTH_KEY_MAX];
	uint8_t priv_key[KMP_SNMP_PRIV_KEY_MAX];
} kmp_snmp_keys;

/* The HMAC usage for a KMMID; LETHE_ERR_UNSUPPORTED for Wake Up, Error Reply. */
lethe_status kmp_hmac_usage_for(kmp_kmmid kmmid, kmp_hmac_usage *out);

/*
 * Derive the HMAC key for usage from base (the ticket session key for
 * KMP_HMAC_AP_REQUEST, else the AP-REP subkey; see above).
 */
lethe_status kmp_hmac_key_derive(kc_key *base, kmp_hmac_usage usage,
    kmp_hmac_key *out);

/* Wipe key (lethe_wipe). */
void kmp_hmac_key_clear(kmp_hmac_key *key);

/* HMAC-SHA-1 of data under key into out[0..20). */
lethe_status kmp_hmac_compute(const kmp_hmac_key *key, lbytes data,
    uint8_t out[KMP_HMAC_LEN]);

/*
 * Compute the HMAC of an encoded message (kmp_hmac_range) and write it
 * into its last 20 bytes. LETHE_ERR_INVALID_ARG when key's usage does not
 * match the message's KMMID; kmp_hmac_range's errors otherwise.
 */
lethe_status kmp_hmac_seal(const kmp_hmac_key *key, uint8_t *msg, size_t len);

/*
 * LETHE_OK when the last 20 bytes of msg are the HMAC of the covered range
 * (constant-time compare), LETHE_ERR_BAD_INTEGRITY when not.
 * LETHE_ERR_INVALID_ARG when key's usage does not match the KMMID.
 */
lethe_status kmp_hmac_verify(const kmp_hmac_key *key, const uint8_t *msg,
    size_t len);

/*
 * Key lengths of an IPsec-DOI suite: ESP_3DES 24, ESP_AES (128) 16,
 * ESP_NULL 0; HMAC-MD5-96 16, HMAC-SHA-1-96 20. LETHE_ERR_UNSUPPORTED for
 * any other code (RC5, IDEA, CAST, Blowfish, unknown).
 */
lethe_status kmp_ipsec_suite_key_lens(kmp_suite suite, size_t *enc_len,
    size_t *auth_len);

/* Key lengths of an SNMPv3-DOI suite: auth MD5 16, SHA 20; priv none 0,
 * DES 16. LETHE_ERR_UNSUPPORTED for any other code. */
lethe_status kmp_snmp_suite_key_lens(kmp_suite suite, size_t *auth_len,
    size_t *priv_len);

/* Both IPsec SAs' keys for suite from the AP-REP subkey. Unused bytes are 0. */
lethe_status kmp_ipsec_keys_derive(kc_key *subkey, kmp_suite suite,
    kmp_ipsec_keys *out);

/* Wipe keys. */
void kmp_ipsec_keys_clear(kmp_ipsec_keys *keys);

/* USM authKey and privKey for suite from the AP-REP subkey. Unused bytes are 0. */
lethe_status kmp_snmp_keys_derive(kc_key *subkey, kmp_suite suite,
    kmp_snmp_keys *out);

/* Wipe keys. */
void kmp_snmp_keys_clear(kmp_snmp_keys *keys);

#endif
