/*
 * A KMP security association and Lethe's SA test channel.
 *
 * An SA is a pair of directional key sets agreed through a KMP exchange
 * (IPsec DOI: the client's and the server's inbound SA, named by their
 * SPIs; SNMPv3 DOI: the USM keys, used the same way). The test channel
 * protects datagrams with the SA's suite so that two peers can prove they
 * hold the same keys. It is NOT IPsec ESP and nothing installs it in the
 * kernel; docs/kmp-roles.md gives the format:
 *
 *	spi(4) | seq(4) | iv | CBC ciphertext (PKCS#7 padded) | icv(12)
 *
 * encrypt-then-MAC, icv = HMAC (SHA-1 or MD5, per the suite) truncated to
 * 96 bits over spi..ciphertext; the receiver checks the replay window,
 * then the icv (constant time), then decrypts, then advances a 64-entry
 * sliding window (RFC 4303 Appendix A2.1). With a NULL transform (IPsec
 * ESP_NULL, SNMPv3 no privacy) there is no iv and the payload is in clear:
 * integrity only. SNMPv3 CBC-DES is refused (OpenSSL 3 keeps single DES
 * in the legacy provider, which Lethe does not load).
 */
#ifndef LETHE_KMP_KMP_SA_H
#define LETHE_KMP_KMP_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "kmp/kmp.h"

#define KMP_SA_MAX_ENC_KEY      24u     /* 3DES */
#define KMP_SA_MAX_AUTH_KEY     20u     /* HMAC-SHA-1 */
#define KMP_SA_ICV_LEN          12u     /* HMAC-*-96 */
#define KMP_SA_HEADER_LEN       8u      /* spi, seq */
#define KMP_SA_MAX_IV           16u
#define KMP_SA_WINDOW           64u     /* replay window, in packets */
#define KMP_SA_MAX_PAYLOAD      8192u   /* largest plaintext protected */
#define KMP_SA_SNMP_TO_SERVER   0x534e0001u /* SNMPv3 test-channel SPIs */
#define KMP_SA_SNMP_TO_CLIENT   0x534e0002u
#define KMP_SA_MAX_OVERHEAD     (KMP_SA_HEADER_LEN + 2 * KMP_SA_MAX_IV + KMP_SA_ICV_LEN)

enum kmp_sa_cipher { KMP_SA_CIPHER_NULL, KMP_SA_CIPHER_AES128_CBC, KMP_SA_CIPHER_3DES_CBC };
enum kmp_sa_mac { KMP_SA_MAC_HMAC_SHA1_96, KMP_SA_MAC_HMAC_MD5_96 };

/* What a suite needs: key lengths and algorithms. */
typedef struct kmp_sa_algs {
	enum kmp_sa_cipher cipher;
	enum kmp_sa_mac mac;
	size_t enc_key_len;             /* 0 for a NULL transform */
	size_t auth_key_len;
} kmp_sa_algs;

/* One direction: its SPI and keys (secret). */
typedef struct kmp_sa_dir {
	uint32_t spi;
	uint8_t enc_key[KMP_SA_MAX_ENC_KEY];
	uint8_t auth_key[KMP_SA_MAX_AUTH_KEY];
} kmp_sa_dir;

/* An installed SA as one side sees it. Fields are private except times. */
typedef struct kmp_sa {
	kmp_doi doi;
	kmp_suite suite;
	kmp_sa_algs algs;
	kmp_sa_dir out;                 /* what we send with (peer's inbound SPI) */
	kmp_sa_dir in;                  /* what we receive with (our inbound SPI) */
	uint32_t out_seq;               /* last sequence number sent */
	uint32_t in_top;                /* highest sequence number accepted */
	uint64_t in_bitmap;             /* bit i: in_top - i was accepted */
	int64_t established_ms;
	int64_t expires_ms;             /* established + lifetime */
	int64_t rekey_ms;               /* expires - grace: start re-keying */
	bool live;
} kmp_sa;

/*
 * The key lengths and algorithms of suite in doi. LETHE_ERR_UNSUPPORTED
 * for a suite the test channel cannot run (RC5, IDEA, CAST, Blowfish,
 * SNMPv3 DES, unknown codes).
 */
lethe_status kmp_sa_suite_algs(kmp_doi doi, kmp_suite suite, kmp_sa_algs *out);

/* True when kmp_sa_suite_algs accepts suite. */
bool kmp_sa_suite_supported(kmp_doi doi, kmp_suite suite);

/*
 * Install *sa from the keys of both directions. out_enc/out_auth and
 * in_enc/in_auth must have the suite's lengths (LETHE_ERR_INVALID_ARG
 * otherwise; an SPI of 0..255 is refused too). Times in ms on the caller's
 * clock: the SA expires at now + lifetime_s and wants a re-key at
 * expiry - grace_s (at now when grace >= lifetime).
 */
lethe_status kmp_sa_init(kmp_sa *sa, kmp_doi doi, kmp_suite suite,
    uint32_t out_spi, lbytes out_enc, lbytes out_auth,
    uint32_t in_spi, lbytes in_enc, lbytes in_auth,
    int64_t now_ms, uint32_t lifetime_s, uint32_t grace_s);

/* Wipe the SA's keys; it is then not live. */
void kmp_sa_clear(kmp_sa *sa);

/* Bytes kmp_sa_protect writes for plain_len bytes of payload. */
lethe_status kmp_sa_protected_len(const kmp_sa *sa, size_t plain_len, size_t *out_len);

/*
 * Protect plain (at most KMP_SA_MAX_PAYLOAD bytes) under the outbound
 * direction with the next sequence number and a random iv. LETHE_ERR_TOO_BIG
 * when out_cap is short or the sequence number space is used up (re-key).
 */
lethe_status kmp_sa_protect(kmp_sa *sa, lbytes plain, uint8_t *out,
    size_t out_cap, size_t *out_len);

/*
 * Check and decrypt msg under the inbound direction. LETHE_ERR_NOT_FOUND
 * for another SPI, LETHE_ERR_BAD_INTEGRITY for a replayed or too old
 * sequence number or a wrong icv (nothing decrypted then), LETHE_ERR_FORMAT
 * for a malformed message or padding. The window moves only on success.
 */
lethe_status kmp_sa_unprotect(kmp_sa *sa, const uint8_t *msg, size_t len,
    uint8_t *out, size_t out_cap, size_t *out_len);

enum kmp_side { KMP_SIDE_CLIENT, KMP_SIDE_SERVER };

/*
 * Install the SA that side holds after an exchange, from the keys derived
 * from the AP-REP subkey. IPsec: the client's inbound SA (client_spi) is
 * the server's outbound one and vice versa. SNMPv3: one key set for both
 * directions, told apart by two fixed test-channel SPIs.
 */
lethe_status kmp_sa_install(kmp_sa *sa, enum kmp_side side, kmp_doi doi,
    kmp_suite suite, kc_key *subkey, uint32_t client_spi, uint32_t server_spi,
    int64_t now_ms, uint32_t lifetime_s, uint32_t grace_s);

#endif
