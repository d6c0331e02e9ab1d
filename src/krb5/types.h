/*
 * Kerberos V5 message types (RFC 4120 §5) as C structures.
 *
 * Conventions:
 * - Byte and character strings are lbytes VIEWS: after decoding they point
 *   into the input buffer (or into the arena for parsed principal names), so
 *   the input must outlive the structure.
 * - SEQUENCE OF fields are (pointer, count) pairs; decoders allocate the
 *   array from the caller's arena, bounded by the KRB_MAX_* caps below.
 *   An optional SEQUENCE OF is encoded only when its count is non-zero.
 * - Optional scalar and string fields carry a has_<field> flag.
 * - KerberosTime is seconds since 1970 (int64_t); Microseconds are 0..999999.
 * - KerberosFlags (KDCOptions, TicketFlags, APOptions) are uint32_t with
 *   bit 0 as the most significant bit; see KRB_FLAG() in constants.h.
 * - UInt32 fields (nonce, kvno, seq-number) are decoded from the whole
 *   int32 and uint32 range, as some peers send negative numbers, and stored
 *   as uint32_t. kvno and seq-number are encoded as the non-negative
 *   INTEGER; nonce is encoded as MIT does, as a signed 32-bit INTEGER (a
 *   value of 2^31 or more comes out negative), which MIT's decoder needs.
 */
#ifndef LETHE_KRB5_TYPES_H
#define LETHE_KRB5_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"

/* Caps on the element count of each SEQUENCE OF a decoder accepts. */
#define KRB_MAX_NAME_COMPONENTS 10
#define KRB_MAX_ETYPES          64
#define KRB_MAX_PADATA          64
#define KRB_MAX_ADDRESSES       32
#define KRB_MAX_AUTHDATA        64
#define KRB_MAX_TICKETS         8    /* additional-tickets */
#define KRB_MAX_LAST_REQ        16
#define KRB_MAX_ETYPE_INFO2     64
#define KRB_MAX_TYPED_DATA      64

/* PrincipalName; the realm travels beside it. */
typedef struct krb_principal_name {
	int32_t name_type;
	const lbytes *components;   /* KerberosString each */
	size_t n_components;
} krb_principal_name;

typedef struct krb_host_address {
	int32_t addr_type;
	lbytes address;
} krb_host_address;

typedef struct krb_host_addresses {
	const krb_host_address *addrs;
	size_t count;
} krb_host_addresses;

/* EncryptionKey. keyvalue is secret: wipe the buffer it points into. */
typedef struct krb_encryption_key {
	int32_t keytype;
	lbytes keyvalue;
} krb_encryption_key;

typedef struct krb_enc_data {
	int32_t etype;
	bool has_kvno;
	uint32_t kvno;
	lbytes cipher;
} krb_enc_data;

typedef struct krb_checksum {
	int32_t cksumtype;
	lbytes checksum;
} krb_checksum;

/* PA-DATA, and TYPED-DATA elements (data-value optional there). */
typedef struct krb_pa_data {
	int32_t padata_type;
	lbytes padata_value;
} krb_pa_data;

/* METHOD-DATA / SEQUENCE OF PA-DATA. */
typedef struct krb_method_data {
	const krb_pa_data *items;
	size_t count;
} krb_method_data;

typedef struct krb_typed_data_entry {
	int32_t data_type;
	bool has_data_value;
	lbytes data_value;
} krb_typed_data_entry;

/* TYPED-DATA ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { [0] Int32, [1] OCTET STRING OPTIONAL } */
typedef struct krb_typed_data {
	const krb_typed_data_entry *items;
	size_t count;
} krb_typed_data;

/* PA-ENC-TS-ENC */
typedef struct krb_pa_enc_ts_enc {
	int64_t patimestamp;
	bool has_pausec;
	int32_t pausec;
} krb_pa_enc_ts_enc;

/* ETYPE-INFO2-ENTRY */
typedef struct krb_etype_info2_entry {
	int32_t etype;
	bool has_salt;
	lbytes salt;                /* KerberosString */
	bool has_s2kparams;
	lbytes s2kparams;
} krb_etype_info2_entry;

typedef struct krb_etype_info2 {
	const krb_etype_info2_entry *items;
	size_t count;
} krb_etype_info2;

/* KERB-PA-PAC-REQUEST (MS-KILE) */
typedef struct krb_pa_pac_request {
	bool include_pac;
} krb_pa_pac_request;

/* AuthorizationData element. */
typedef struct krb_ad_entry {
	int32_t ad_type;
	lbytes ad_data;
} krb_ad_entry;

typedef struct krb_authdata {
	const krb_ad_entry *items;
	size_t count;
} krb_authdata;

typedef struct krb_transited {
	int32_t tr_type;
	lbytes contents;
} krb_transited;

typedef struct krb_last_req_entry {
	int32_t lr_type;
	int64_t lr_value;           /* KerberosTime */
} krb_last_req_entry;

typedef struct krb_last_req {
	const krb_last_req_entry *items;
	size_t count;
} krb_last_req;

/*
 * Ticket [APPLICATION 1]. raw is the complete encoding as received (set by
 * the decoder); when raw.len != 0 the encoders emit raw verbatim and ignore
 * the other fields, so a received ticket is passed on byte for byte. Clear
 * raw to encode from the fields.
 */
typedef struct krb_ticket {
	lbytes realm;
	krb_principal_name sname;
	krb_enc_data enc_part;
	lbytes raw;
} krb_ticket;

/* EncTicketPart [APPLICATION 3] */
typedef struct krb_enc_ticket_part {
	uint32_t flags;             /* KRB_TKT_FLG_* */
	krb_encryption_key key;
	lbytes crealm;
	krb_principal_name cname;
	krb_transited transited;
	int64_t authtime;
	bool has_starttime;
	int64_t starttime;
	int64_t endtime;
	bool has_renew_till;
	int64_t renew_till;
	krb_host_addresses caddr;   /* optional: encoded when count != 0 */
	krb_authdata authorization_data;  /* optional: encoded when count != 0 */
} krb_enc_ticket_part;

/*
 * KDC-REQ-BODY. raw is the complete encoding as received (the TGS
 * authenticator checksum covers it); like krb_ticket.raw, when non-empty the
 * encoders emit it verbatim.
 */
typedef struct krb_kdc_req_body {
	uint32_t kdc_options;       /* KRB_KDC_OPT_* */
	bool has_cname;
	krb_principal_name cname;
	lbytes realm;
	bool has_sname;
	krb_principal_name sname;
	bool has_from;
	int64_t from;
	bool has_till;              /* required by RFC 4120 (set it); absent from some peers */
	int64_t till;
	bool has_rtime;
	int64_t rtime;
	uint32_t nonce;
	const int32_t *etypes;      /* in the client's order of preference */
	size_t n_etypes;
	krb_host_addresses addresses;     /* optional: encoded when count != 0 */
	bool has_enc_authorization_data;
	krb_enc_data enc_authorization_data;
	const krb_ticket *additional_tickets;  /* optional: encoded when count != 0 */
	size_t n_additional_tickets;
	lbytes raw;
} krb_kdc_req_body;

/* AS-REQ [APPLICATION 10] and TGS-REQ [APPLICATION 12]. */
typedef struct krb_kdc_req {
	int32_t msg_type;           /* KRB_MSG_AS_REQ or KRB_MSG_TGS_REQ */
	krb_method_data padata;     /* optional: encoded when count != 0 */
	krb_kdc_req_body body;
} krb_kdc_req;

/* AS-REP [APPLICATION 11] and TGS-REP [APPLICATION 13]. */
typedef struct krb_kdc_rep {
	int32_t msg_type;           /* KRB_MSG_AS_REP or KRB_MSG_TGS_REP */
	krb_method_data padata;     /* optional: encoded when count != 0 */
	lbytes crealm;
	krb_principal_name cname;
	krb_ticket ticket;
	krb_enc_data enc_part;
} krb_kdc_rep;

/*
 * EncASRepPart [APPLICATION 25] / EncTGSRepPart [APPLICATION 26]; MIT uses
 * 26 for both, so the decoder accepts either and records it in app_tag.
 */
typedef struct krb_enc_kdc_rep_part {
	uint32_t app_tag;           /* 25 or 26, as seen by the decoder */
	krb_encryption_key key;
	krb_last_req last_req;      /* MIT clients need >= 1 entry: {KRB_LR_NONE, 0} */
	uint32_t nonce;
	bool has_key_expiration;
	int64_t key_expiration;
	uint32_t flags;             /* KRB_TKT_FLG_* */
	int64_t authtime;
	bool has_starttime;
	int64_t starttime;
	int64_t endtime;
	bool has_renew_till;
	int64_t renew_till;
	lbytes srealm;
	krb_principal_name sname;
	krb_host_addresses caddr;   /* optional: encoded when count != 0 */
	krb_method_data encrypted_pa_data;  /* [12] RFC 6806; encoded when count != 0 */
} krb_enc_kdc_rep_part;

/* AP-REQ [APPLICATION 14] */
typedef struct krb_ap_req {
	uint32_t ap_options;        /* KRB_AP_OPT_* */
	krb_ticket ticket;
	krb_enc_data authenticator;
} krb_ap_req;

/* Authenticator [APPLICATION 2] */
typedef struct krb_authenticator {
	lbytes crealm;
	krb_principal_name cname;
	bool has_cksum;
	krb_checksum cksum;
	int32_t cusec;
	int64_t ctime;
	bool has_subkey;
	krb_encryption_key subkey;
	bool has_seq_number;
	uint32_t seq_number;
	krb_authdata authorization_data;  /* optional: encoded when count != 0 */
} krb_authenticator;

/* AP-REP [APPLICATION 15] */
typedef struct krb_ap_rep {
	krb_enc_data enc_part;
} krb_ap_rep;

/* EncAPRepPart [APPLICATION 27] */
typedef struct krb_enc_ap_rep_part {
	int64_t ctime;
	int32_t cusec;
	bool has_subkey;
	krb_encryption_key subkey;
	bool has_seq_number;
	uint32_t seq_number;
} krb_enc_ap_rep_part;

/* KRB-ERROR [APPLICATION 30]; e_data is raw (see krb_decode_method_data). */
typedef struct krb_error {
	bool has_ctime;
	int64_t ctime;
	bool has_cusec;
	int32_t cusec;
	int64_t stime;
	int32_t susec;
	int32_t error_code;
	bool has_crealm;
	lbytes crealm;
	bool has_cname;
	krb_principal_name cname;
	lbytes realm;
	krb_principal_name sname;
	bool has_e_text;
	lbytes e_text;
	bool has_e_data;
	lbytes e_data;
} krb_error;

/*
 * KRB-SAFE-BODY; also the content of EncKrbPrivPart [APPLICATION 28], which
 * has the same fields. raw is the body's encoding as received (the KRB-SAFE
 * checksum covers it); encoders emit it verbatim when non-empty.
 */
typedef struct krb_safe_body {
	lbytes user_data;
	bool has_timestamp;
	int64_t timestamp;
	bool has_usec;
	int32_t usec;
	bool has_seq_number;
	uint32_t seq_number;
	krb_host_address s_address;
	bool has_r_address;
	krb_host_address r_address;
	lbytes raw;
} krb_safe_body;

/* KRB-SAFE [APPLICATION 20] */
typedef struct krb_safe {
	krb_safe_body body;
	krb_checksum cksum;
} krb_safe;

/* KRB-PRIV [APPLICATION 21] */
typedef struct krb_priv {
	krb_enc_data enc_part;
} krb_priv;

/* EncKrbPrivPart [APPLICATION 28]: same fields as KRB-SAFE-BODY (raw unused). */
typedef krb_safe_body krb_enc_krb_priv_part;

#endif
