/*
 * PacketCable Kerberized key management (KMP): message codec.
 *
 * API: ready
 *
 * Six messages, two domains of interpretation (DOI), UDP port 1293, one
 * message per datagram, no length field: boundaries come from fixed
 * sizes, count bytes, the principal's NUL and the DER length of the
 * embedded Kerberos message. Integers are big-endian. Every message starts
 * with KMMID, DOI, version (0x10 = 1.0); the 20-byte HMAC, where present,
 * is the last field. docs/kmp.md has the layouts and Lethe's decisions on
 * the open items of the wire notes.
 *
 * Decoded messages hold views (lbytes) into the caller's buffer: keep the
 * buffer alive while the message is used. Nothing here allocates.
 */
#ifndef LETHE_KMP_KMP_H
#define LETHE_KMP_KMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"

#define KMP_PORT                1293
#define KMP_VERSION             0x10    /* 1.0: major high nibble, minor low */
#define KMP_HEADER_LEN          3
#define KMP_HMAC_LEN            20      /* HMAC-SHA-1 */
#define KMP_NONCE_LEN           4
#define KMP_TIMESTAMP_LEN       13      /* "YYMMDDhhmmssZ" */
#define KMP_MAX_MSG_LEN         65507u  /* largest UDP/IPv4 payload */
#define KMP_MAX_SUITES          32u     /* ciphersuites in one list */
#define KMP_MAX_PRINCIPAL_LEN   255u    /* principal bytes, NUL excluded */
#define KMP_ENGINE_ID_MIN       5u      /* RFC 3411 SnmpEngineID SIZE(5..32) */
#define KMP_ENGINE_ID_MAX       32u
#define KMP_USER_NAME_MIN       1u      /* RFC 3414 usmUserName SIZE(1..32) */
#define KMP_USER_NAME_MAX       32u

/*
 * Server nonce reserved for a client-initiated AP Request (no Wake Up
 * before it). A server never puts it in a Wake Up or Rekey.
 */
#define KMP_NONCE_CLIENT_INITIATED 0u

/* Key management message IDs. */
typedef enum kmp_kmmid {
	KMP_WAKE_UP = 0x01,
	KMP_AP_REQUEST = 0x02,
	KMP_AP_REPLY = 0x03,
	KMP_SA_RECOVERED = 0x04,
	KMP_REKEY = 0x05,               /* IPsec DOI only */
	KMP_ERROR_REPLY = 0x06
} kmp_kmmid;

/* Domains of interpretation. */
typedef enum kmp_doi {
	KMP_DOI_IPSEC = 0x01,
	KMP_DOI_SNMPV3 = 0x02
} kmp_doi;

/* IPsec DOI ciphersuite codes (RFC 2407): byte 1 auth, byte 2 transform. */
#define KMP_IPSEC_AUTH_HMAC_MD5_96      0x01
#define KMP_IPSEC_AUTH_HMAC_SHA1_96     0x02
#define KMP_IPSEC_ENC_3DES              0x03
#define KMP_IPSEC_ENC_RC5               0x04
#define KMP_IPSEC_ENC_IDEA              0x05
#define KMP_IPSEC_ENC_CAST              0x06
#define KMP_IPSEC_ENC_BLOWFISH          0x07
#define KMP_IPSEC_ENC_NULL              0x0b
#define KMP_IPSEC_ENC_AES_CBC_128       0x0c

/* SNMPv3 DOI ciphersuite codes: byte 1 USM auth, byte 2 USM privacy. */
#define KMP_SNMP_AUTH_HMAC_MD5_96       0x21
#define KMP_SNMP_AUTH_HMAC_SHA1_96      0x22
#define KMP_SNMP_PRIV_NONE              0x20
#define KMP_SNMP_PRIV_DES_CBC           0x21

/* Why kmp_decode refused a message (finer than the lethe_status). */
typedef enum kmp_fault {
	KMP_FAULT_NONE = 0,
	KMP_FAULT_TRUNCATED,    /* ends inside a field          DER_TRUNCATED */
	KMP_FAULT_TRAILING,     /* bytes after the last field   DER_TRAILING */
	KMP_FAULT_TOO_BIG,      /* over KMP_MAX_MSG_LEN         TOO_BIG */
	KMP_FAULT_KMMID,        /* unknown message ID           UNSUPPORTED */
	KMP_FAULT_DOI,          /* unknown DOI                  UNSUPPORTED */
	KMP_FAULT_VERSION,      /* version other than 0x10      UNSUPPORTED */
	KMP_FAULT_DOI_MESSAGE,  /* message not defined for DOI (SNMPv3 Rekey) UNSUPPORTED */
	KMP_FAULT_KERBEROS,     /* embedded message not one DER element with
	                           the right outer tag          DER_* status */
	KMP_FAULT_PRINCIPAL,    /* no NUL, empty, too long, non-printable FORMAT */
	KMP_FAULT_SUITES,       /* count 0, > KMP_MAX_SUITES, or != 1 in AP Reply
	                           FORMAT (TOO_BIG above KMP_MAX_SUITES) */
	KMP_FAULT_ASD,          /* SNMPv3 engine ID / user name length  FORMAT */
	KMP_FAULT_FLAG,         /* flag byte other than 0 or 1  FORMAT */
	KMP_FAULT_TIMESTAMP     /* not YYMMDDhhmmssZ or not a valid date FORMAT */
} kmp_fault;

/* One ciphersuite entry: (authentication, encryption/privacy). */
typedef struct kmp_suite {
	uint8_t auth;
	uint8_t enc;
} kmp_suite;

/* A ciphersuite list, sender's preference order; 1 <= count <= KMP_MAX_SUITES. */
typedef struct kmp_suites {
	uint8_t count;
	kmp_suite suite[KMP_MAX_SUITES];
} kmp_suites;

/* SNMPv3 application-specific data (the sender's own USM engine values). */
typedef struct kmp_snmp_asd {
	lbytes engine_id;       /* KMP_ENGINE_ID_MIN..MAX bytes */
	uint32_t engine_boots;
	uint32_t engine_time;
	lbytes user_name;       /* KMP_USER_NAME_MIN..MAX bytes, no NUL */
} kmp_snmp_asd;

/*
 * Application-specific data. The message's DOI selects the member:
 * IPsec uses spi (the sender's own inbound SA), SNMPv3 uses snmp.
 */
typedef struct kmp_asd {
	uint32_t spi;
	kmp_snmp_asd snmp;
} kmp_asd;

/* 0x01 Wake Up, server -> client. */
typedef struct kmp_wake_up {
	uint32_t server_nonce;
	lbytes principal;       /* "service/host@REALM", NUL not included */
} kmp_wake_up;

/* 0x02 AP Request, client -> server. */
typedef struct kmp_ap_request {
	lbytes ap_req;          /* complete DER KRB_AP_REQ, [APPLICATION 14] */
	uint32_t server_nonce;  /* from Wake Up/Rekey, or KMP_NONCE_CLIENT_INITIATED */
	kmp_asd asd;
	kmp_suites suites;      /* what the client supports */
	bool reestablish;
	uint8_t hmac[KMP_HMAC_LEN];
} kmp_ap_request;

/* 0x03 AP Reply, server -> client. */
typedef struct kmp_ap_reply {
	lbytes ap_rep;          /* complete DER KRB_AP_REP, [APPLICATION 15] */
	kmp_asd asd;
	kmp_suite suite;        /* the selected suite (list of one on the wire) */
	uint32_t lifetime;      /* security parameter lifetime, seconds */
	uint32_t grace_period;  /* seconds */
	bool reestablish;
	bool ack_required;
	uint8_t hmac[KMP_HMAC_LEN];
} kmp_ap_reply;

/* 0x04 Security Parameter Recovered, client -> server. */
typedef struct kmp_sa_recovered {
	uint8_t hmac[KMP_HMAC_LEN];
} kmp_sa_recovered;

/* 0x05 Rekey, server -> client, IPsec only. */
typedef struct kmp_rekey {
	uint32_t server_nonce;
	lbytes principal;       /* NUL not included */
	int64_t timestamp;      /* seconds since 1970, UTC, years 1950..2049 */
	uint32_t spi;           /* server's inbound SPI */
	kmp_suites suites;
	uint32_t lifetime;
	uint32_t grace_period;
	bool reestablish;
	uint8_t hmac[KMP_HMAC_LEN];
} kmp_rekey;

/* 0x06 Error Reply. */
typedef struct kmp_error_reply {
	lbytes krb_error;       /* complete DER KRB_ERROR, [APPLICATION 30] */
} kmp_error_reply;

/* Any message: kmmid selects the member of u. */
typedef struct kmp_msg {
	kmp_kmmid kmmid;
	kmp_doi doi;
	uint8_t version;        /* always KMP_VERSION once decoded */
	kmp_fault fault;        /* set by kmp_decode; KMP_FAULT_NONE on success */
	union {
		kmp_wake_up wake_up;
		kmp_ap_request ap_request;
		kmp_ap_reply ap_reply;
		kmp_sa_recovered sa_recovered;
		kmp_rekey rekey;
		kmp_error_reply error_reply;
	} u;
} kmp_msg;

/*
 * Decode one datagram strictly: exact field sizes, no trailing bytes,
 * known KMMID and DOI, version 0x10, principal NUL present, flags 0 or 1,
 * Rekey only with the IPsec DOI, embedded Kerberos message one DER element
 * with its outer tag. On success *out holds views into buf. On failure
 * out->fault says why (see kmp_fault for the matching status) and the rest
 * of *out is unspecified.
 */
lethe_status kmp_decode(const uint8_t *buf, size_t len, kmp_msg *out);

/*
 * Exact encoded size of msg (the same checks as kmp_encode, nothing
 * written). LETHE_ERR_INVALID_ARG when msg breaks a rule kmp_decode
 * enforces (bad DOI for the message, missing Kerberos bytes, a count or
 * length out of range, a principal holding a NUL, timestamp out of range);
 * LETHE_ERR_TOO_BIG when the message would exceed KMP_MAX_MSG_LEN.
 */
lethe_status kmp_encoded_len(const kmp_msg *msg, size_t *out_len);

/*
 * Encode msg into out[0..out_cap); *out_len is the size written. The
 * version byte is always KMP_VERSION (msg->version is ignored) and the
 * HMAC field is copied from msg: seal the result afterwards with
 * kmp_hmac_seal (kmp_kdf.h). LETHE_ERR_TOO_BIG when out_cap is too small.
 * The Kerberos views are copied as they are, after the same DER check the
 * decoder makes.
 */
lethe_status kmp_encode(const kmp_msg *msg, uint8_t *out, size_t out_cap,
    size_t *out_len);

/* True when messages with this KMMID carry an HMAC (AP Request, AP Reply,
 * SA Recovered, Rekey). */
bool kmp_has_hmac(kmp_kmmid kmmid);

/*
 * The bytes an HMAC covers in an encoded message: *covered = buf[0 ..
 * len - 20) (from the KMMID up to, not including, the HMAC field) and
 * *mac = the last 20 bytes. Only the first byte (KMMID) and len are
 * examined: decode the message first. LETHE_ERR_UNSUPPORTED for Wake Up,
 * Error Reply or an unknown KMMID, LETHE_ERR_DER_TRUNCATED when len is
 * below header + HMAC.
 */
lethe_status kmp_hmac_range(const uint8_t *buf, size_t len, lbytes *covered,
    lbytes *mac);

/*
 * Rekey timestamp: format unix_time as "YYMMDDhhmmssZ" (UTC) into out.
 * LETHE_ERR_INVALID_ARG outside 1950-01-01 .. 2049-12-31 23:59:59.
 */
lethe_status kmp_timestamp_format(int64_t unix_time,
    uint8_t out[KMP_TIMESTAMP_LEN]);

/* Parse "YYMMDDhhmmssZ" (YY 50..99 -> 19YY, 00..49 -> 20YY); LETHE_ERR_FORMAT
 * on anything else, including impossible dates. */
lethe_status kmp_timestamp_parse(const uint8_t in[KMP_TIMESTAMP_LEN],
    int64_t *unix_time);

/* Static English names for logs; "unknown" for values outside the enums. */
const char *kmp_kmmid_name(kmp_kmmid kmmid);
const char *kmp_doi_name(kmp_doi doi);
const char *kmp_fault_name(kmp_fault fault);

#endif
