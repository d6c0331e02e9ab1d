/*
 * Kerberos V5 protocol numbers: message types, error codes, pre-authentication
 * data types, key usages, name and address types, flag bits.
 * Sources: RFC 4120 §5 and §7.5, RFC 6806, RFC 6112, RFC 6113, RFC 6111, MS-KILE.
 */
#ifndef LETHE_KRB5_CONSTANTS_H
#define LETHE_KRB5_CONSTANTS_H

#include <stdint.h>

#define KRB_PVNO 5

/* Message types (RFC 4120 §7.5.7); also the APPLICATION tag of each message. */
#define KRB_MSG_AS_REQ    10
#define KRB_MSG_AS_REP    11
#define KRB_MSG_TGS_REQ   12
#define KRB_MSG_TGS_REP   13
#define KRB_MSG_AP_REQ    14
#define KRB_MSG_AP_REP    15
#define KRB_MSG_SAFE      20
#define KRB_MSG_PRIV      21
#define KRB_MSG_CRED      22
#define KRB_MSG_ERROR     30

/* APPLICATION tag numbers of the non-message types. */
#define KRB_APP_TICKET          1
#define KRB_APP_AUTHENTICATOR   2
#define KRB_APP_ENC_TICKET_PART 3
#define KRB_APP_ENC_AS_REP_PART 25
#define KRB_APP_ENC_TGS_REP_PART 26
#define KRB_APP_ENC_AP_REP_PART 27
#define KRB_APP_ENC_KRB_PRIV_PART 28

/* Name types (RFC 4120 §6.2, RFC 6111). */
#define KRB_NT_UNKNOWN        0
#define KRB_NT_PRINCIPAL      1
#define KRB_NT_SRV_INST       2
#define KRB_NT_SRV_HST        3
#define KRB_NT_SRV_XHST       4
#define KRB_NT_UID            5
#define KRB_NT_X500_PRINCIPAL 6
#define KRB_NT_SMTP_NAME      7
#define KRB_NT_ENTERPRISE     10
#define KRB_NT_WELLKNOWN      11

/* Host address types (RFC 4120 §7.5.3). */
#define KRB_ADDR_IPV4        2
#define KRB_ADDR_DIRECTIONAL 3
#define KRB_ADDR_CHAOSNET    5
#define KRB_ADDR_XNS         6
#define KRB_ADDR_ISO         7
#define KRB_ADDR_DECNET      12
#define KRB_ADDR_APPLETALK   16
#define KRB_ADDR_NETBIOS     20
#define KRB_ADDR_IPV6        24

/* Pre-authentication and typed data types (RFC 4120 §7.5.2, RFC 6113, RFC 6806). */
#define KRB_PA_TGS_REQ              1
#define KRB_PA_ENC_TIMESTAMP        2
#define KRB_PA_PW_SALT              3
#define KRB_PA_ENC_UNIX_TIME        5
#define KRB_PA_SANDIA_SECUREID      6
#define KRB_PA_SESAME               7
#define KRB_PA_OSF_DCE              8
#define KRB_PA_CYBERSAFE_SECUREID   9
#define KRB_PA_AFS3_SALT            10
#define KRB_PA_ETYPE_INFO           11
#define KRB_PA_SAM_CHALLENGE        12
#define KRB_PA_SAM_RESPONSE         13
#define KRB_PA_PK_AS_REQ_OLD        14
#define KRB_PA_PK_AS_REP_OLD        15
#define KRB_PA_PK_AS_REQ            16
#define KRB_PA_PK_AS_REP            17
#define KRB_PA_ETYPE_INFO2          19
#define KRB_PA_USE_SPECIFIED_KVNO   20
#define KRB_PA_SAM_REDIRECT         21
#define KRB_PA_GET_FROM_TYPED_DATA  22
#define KRB_TD_PADATA               22
#define KRB_PA_SAM_ETYPE_INFO       23
#define KRB_PA_ALT_PRINC            24
#define KRB_PA_SAM_CHALLENGE2       30
#define KRB_PA_SAM_RESPONSE2        31
#define KRB_PA_EXTRA_TGT            41
#define KRB_TD_PKINIT_CMS_CERTIFICATES 101
#define KRB_TD_KRB_PRINCIPAL        102
#define KRB_TD_KRB_REALM            103
#define KRB_TD_TRUSTED_CERTIFIERS   104
#define KRB_TD_CERTIFICATE_INDEX    105
#define KRB_TD_APP_DEFINED_ERROR    106
#define KRB_TD_REQ_NONCE            107
#define KRB_TD_REQ_SEQ              108
#define KRB_PA_PAC_REQUEST          128
#define KRB_PA_FOR_USER             129
#define KRB_PA_FX_COOKIE            133
#define KRB_PA_FX_FAST              136
#define KRB_PA_FX_ERROR             137
#define KRB_PA_ENCRYPTED_CHALLENGE  138
#define KRB_PA_REQ_ENC_PA_REP       149
#define KRB_PA_AS_FRESHNESS         150
#define KRB_PA_SPAKE                151
#define KRB_PA_PAC_OPTIONS          167

/* Authorization data types (RFC 4120 §7.5.4). */
#define KRB_AD_IF_RELEVANT     1
#define KRB_AD_INTENDED_FOR_SERVER 2
#define KRB_AD_INTENDED_FOR_APPLICATION_CLASS 3
#define KRB_AD_KDC_ISSUED      4
#define KRB_AD_AND_OR          5
#define KRB_AD_MANDATORY_TICKET_EXTENSIONS 6
#define KRB_AD_IN_TICKET_EXTENSIONS 7
#define KRB_AD_MANDATORY_FOR_KDC 8
#define KRB_AD_WIN2K_PAC       128

/* Transited encoding types (RFC 4120 §7.5.5). */
#define KRB_TR_DOMAIN_X500_COMPRESS 1

/* Key usage numbers (RFC 4120 §7.5.1, RFC 6113 §5.4.2, RFC 6806 §11). */
#define KRB_KU_PA_ENC_TIMESTAMP         1
#define KRB_KU_TICKET                   2
#define KRB_KU_AS_REP_ENC_PART          3
#define KRB_KU_TGS_REQ_AUTHDATA_SESSKEY 4
#define KRB_KU_TGS_REQ_AUTHDATA_SUBKEY  5
#define KRB_KU_TGS_REQ_AUTH_CKSUM       6
#define KRB_KU_TGS_REQ_AUTH             7
#define KRB_KU_TGS_REP_ENC_PART_SESSKEY 8
#define KRB_KU_TGS_REP_ENC_PART_SUBKEY  9
#define KRB_KU_AP_REQ_AUTH_CKSUM        10
#define KRB_KU_AP_REQ_AUTH              11
#define KRB_KU_AP_REP_ENC_PART          12
#define KRB_KU_KRB_PRIV_ENC_PART        13
#define KRB_KU_KRB_CRED_ENC_PART        14
#define KRB_KU_KRB_SAFE_CKSUM           15
#define KRB_KU_AD_KDC_ISSUED_CKSUM      19
#define KRB_KU_GSS_ACCEPTOR_SEAL        22
#define KRB_KU_GSS_ACCEPTOR_SIGN        23
#define KRB_KU_GSS_INITIATOR_SEAL       24
#define KRB_KU_GSS_INITIATOR_SIGN       25
#define KRB_KU_FAST_REQ_CHKSUM          50
#define KRB_KU_FAST_ENC                 51
#define KRB_KU_FAST_REP                 52
#define KRB_KU_FAST_FINISHED            53
#define KRB_KU_ENC_CHALLENGE_CLIENT     54
#define KRB_KU_ENC_CHALLENGE_KDC        55
#define KRB_KU_AS_REQ                   56   /* PA-REQ-ENC-PA-REP checksum */

/* Last request types (RFC 4120 §5.4.2); negative values apply to the client only. */
#define KRB_LR_NONE             0
#define KRB_LR_INITIAL_TGT      1
#define KRB_LR_INITIAL          2
#define KRB_LR_ISSUE_USE_TGT    3
#define KRB_LR_RENEWAL          4
#define KRB_LR_REQUEST          5
#define KRB_LR_PW_EXPTIME       6
#define KRB_LR_ACCT_EXPTIME     7

/*
 * KerberosFlags: bit n of the ASN.1 BIT STRING is (0x80000000 >> n) in the
 * uint32_t the codec uses (bit 0 is the most significant bit).
 */
#define KRB_FLAG(n) (UINT32_C(0x80000000) >> (n))

/* KDCOptions (RFC 4120 §5.4.1, RFC 6806, RFC 6112, MS-SFU). */
#define KRB_KDC_OPT_RESERVED               KRB_FLAG(0)
#define KRB_KDC_OPT_FORWARDABLE            KRB_FLAG(1)
#define KRB_KDC_OPT_FORWARDED              KRB_FLAG(2)
#define KRB_KDC_OPT_PROXIABLE              KRB_FLAG(3)
#define KRB_KDC_OPT_PROXY                  KRB_FLAG(4)
#define KRB_KDC_OPT_ALLOW_POSTDATE         KRB_FLAG(5)
#define KRB_KDC_OPT_POSTDATED              KRB_FLAG(6)
#define KRB_KDC_OPT_RENEWABLE              KRB_FLAG(8)
#define KRB_KDC_OPT_OPT_HARDWARE_AUTH      KRB_FLAG(11)
#define KRB_KDC_OPT_CNAME_IN_ADDL_TKT      KRB_FLAG(14)
#define KRB_KDC_OPT_CANONICALIZE           KRB_FLAG(15)
#define KRB_KDC_OPT_REQUEST_ANONYMOUS      KRB_FLAG(16)
#define KRB_KDC_OPT_DISABLE_TRANSITED_CHECK KRB_FLAG(26)
#define KRB_KDC_OPT_RENEWABLE_OK           KRB_FLAG(27)
#define KRB_KDC_OPT_ENC_TKT_IN_SKEY        KRB_FLAG(28)
#define KRB_KDC_OPT_RENEW                  KRB_FLAG(30)
#define KRB_KDC_OPT_VALIDATE               KRB_FLAG(31)

/* TicketFlags (RFC 4120 §5.3, RFC 6806, RFC 6112). */
#define KRB_TKT_FLG_RESERVED               KRB_FLAG(0)
#define KRB_TKT_FLG_FORWARDABLE            KRB_FLAG(1)
#define KRB_TKT_FLG_FORWARDED              KRB_FLAG(2)
#define KRB_TKT_FLG_PROXIABLE              KRB_FLAG(3)
#define KRB_TKT_FLG_PROXY                  KRB_FLAG(4)
#define KRB_TKT_FLG_MAY_POSTDATE           KRB_FLAG(5)
#define KRB_TKT_FLG_POSTDATED              KRB_FLAG(6)
#define KRB_TKT_FLG_INVALID                KRB_FLAG(7)
#define KRB_TKT_FLG_RENEWABLE              KRB_FLAG(8)
#define KRB_TKT_FLG_INITIAL                KRB_FLAG(9)
#define KRB_TKT_FLG_PRE_AUTHENT            KRB_FLAG(10)
#define KRB_TKT_FLG_HW_AUTHENT             KRB_FLAG(11)
#define KRB_TKT_FLG_TRANSITED_POLICY_CHECKED KRB_FLAG(12)
#define KRB_TKT_FLG_OK_AS_DELEGATE         KRB_FLAG(13)
#define KRB_TKT_FLG_ENC_PA_REP             KRB_FLAG(15)
#define KRB_TKT_FLG_ANONYMOUS              KRB_FLAG(16)

/* APOptions (RFC 4120 §5.5.1). */
#define KRB_AP_OPT_RESERVED        KRB_FLAG(0)
#define KRB_AP_OPT_USE_SESSION_KEY KRB_FLAG(1)
#define KRB_AP_OPT_MUTUAL_REQUIRED KRB_FLAG(2)

/* Error codes (RFC 4120 §7.5.9, RFC 6113 §5.5). */
#define KDC_ERR_NONE                          0
#define KDC_ERR_NAME_EXP                      1
#define KDC_ERR_SERVICE_EXP                   2
#define KDC_ERR_BAD_PVNO                      3
#define KDC_ERR_C_OLD_MAST_KVNO               4
#define KDC_ERR_S_OLD_MAST_KVNO               5
#define KDC_ERR_C_PRINCIPAL_UNKNOWN           6
#define KDC_ERR_S_PRINCIPAL_UNKNOWN           7
#define KDC_ERR_PRINCIPAL_NOT_UNIQUE          8
#define KDC_ERR_NULL_KEY                      9
#define KDC_ERR_CANNOT_POSTDATE               10
#define KDC_ERR_NEVER_VALID                   11
#define KDC_ERR_POLICY                        12
#define KDC_ERR_BADOPTION                     13
#define KDC_ERR_ETYPE_NOSUPP                  14
#define KDC_ERR_SUMTYPE_NOSUPP                15
#define KDC_ERR_PADATA_TYPE_NOSUPP            16
#define KDC_ERR_TRTYPE_NOSUPP                 17
#define KDC_ERR_CLIENT_REVOKED                18
#define KDC_ERR_SERVICE_REVOKED               19
#define KDC_ERR_TGT_REVOKED                   20
#define KDC_ERR_CLIENT_NOTYET                 21
#define KDC_ERR_SERVICE_NOTYET                22
#define KDC_ERR_KEY_EXPIRED                   23
#define KDC_ERR_PREAUTH_FAILED                24
#define KDC_ERR_PREAUTH_REQUIRED              25
#define KDC_ERR_SERVER_NOMATCH                26
#define KDC_ERR_MUST_USE_USER2USER            27
#define KDC_ERR_PATH_NOT_ACCEPTED             28
#define KDC_ERR_SVC_UNAVAILABLE               29
#define KRB_AP_ERR_BAD_INTEGRITY              31
#define KRB_AP_ERR_TKT_EXPIRED                32
#define KRB_AP_ERR_TKT_NYV                    33
#define KRB_AP_ERR_REPEAT                     34
#define KRB_AP_ERR_NOT_US                     35
#define KRB_AP_ERR_BADMATCH                   36
#define KRB_AP_ERR_SKEW                       37
#define KRB_AP_ERR_BADADDR                    38
#define KRB_AP_ERR_BADVERSION                 39
#define KRB_AP_ERR_MSG_TYPE                   40
#define KRB_AP_ERR_MODIFIED                   41
#define KRB_AP_ERR_BADORDER                   42
#define KRB_AP_ERR_BADKEYVER                  44
#define KRB_AP_ERR_NOKEY                      45
#define KRB_AP_ERR_MUT_FAIL                   46
#define KRB_AP_ERR_BADDIRECTION               47
#define KRB_AP_ERR_METHOD                     48
#define KRB_AP_ERR_BADSEQ                     49
#define KRB_AP_ERR_INAPP_CKSUM                50
#define KRB_AP_PATH_NOT_ACCEPTED              51
#define KRB_ERR_RESPONSE_TOO_BIG              52
#define KRB_ERR_GENERIC                       60
#define KRB_ERR_FIELD_TOOLONG                 61
#define KDC_ERROR_CLIENT_NOT_TRUSTED          62
#define KDC_ERROR_KDC_NOT_TRUSTED             63
#define KDC_ERROR_INVALID_SIG                 64
#define KDC_ERR_KEY_TOO_WEAK                  65
#define KDC_ERR_CERTIFICATE_MISMATCH          66
#define KRB_AP_ERR_NO_TGT                     67
#define KDC_ERR_WRONG_REALM                   68
#define KRB_AP_ERR_USER_TO_USER_REQUIRED      69
#define KDC_ERR_CANT_VERIFY_CERTIFICATE       70
#define KDC_ERR_INVALID_CERTIFICATE           71
#define KDC_ERR_REVOKED_CERTIFICATE           72
#define KDC_ERR_REVOCATION_STATUS_UNKNOWN     73
#define KDC_ERR_REVOCATION_STATUS_UNAVAILABLE 74
#define KDC_ERR_CLIENT_NAME_MISMATCH          75
#define KDC_ERR_KDC_NAME_MISMATCH             76
#define KDC_ERR_PREAUTH_EXPIRED               90
#define KDC_ERR_MORE_PREAUTH_DATA_REQUIRED    91
#define KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET 92
#define KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS 93

/* The RFC name of an error code ("KDC_ERR_PREAUTH_REQUIRED"), or NULL if unknown. */
const char *krb_error_code_name(int32_t code);

#endif
