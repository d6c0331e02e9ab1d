/*
 * MIT Kerberos realm databases as `kdb5_util dump` writes them (dump
 * format "kdb5_util load_dump version 7", MIT krb5 1.11 and later; the
 * layout is MIT's src/kadmin/dbutil/dump.c) and MIT's master key stash,
 * for `lethe-admin import-mit` (docs/store.md, "Import from MIT").
 *
 * The parser reads a whole dump held in memory, record by record, and
 * hands each principal or policy record to a callback; every field is
 * bounded, every length checked against what is left, and the first
 * malformed byte stops it with the line number and what was wrong. It
 * decrypts nothing: key data stay as MIT wrote them (encrypted in the
 * master key) until mit_key_decrypt().
 */
#ifndef LETHE_STORE_MIT_DUMP_H
#define LETHE_STORE_MIT_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"

#define MIT_DUMP_HEADER       "kdb5_util load_dump version 7"
#define MIT_MAX_NAME_LEN      4096u   /* bytes of a principal or policy name */
#define MIT_MAX_TL_DATA       64u     /* tl_data entries of one record */
#define MIT_MAX_KEY_DATA      512u    /* key_data entries of one principal */
#define MIT_MAX_DATA_LEN      65535u  /* bytes of one tl_data, key or e_data */
#define MIT_MAX_MKEYS         16u     /* master keys in a stash */

/* MIT's principal attribute bits (kdb.h). */
#define MIT_DISALLOW_POSTDATED      0x00000001u
#define MIT_DISALLOW_FORWARDABLE    0x00000002u
#define MIT_DISALLOW_TGT_BASED      0x00000004u
#define MIT_DISALLOW_RENEWABLE      0x00000008u
#define MIT_DISALLOW_PROXIABLE      0x00000010u
#define MIT_DISALLOW_DUP_SKEY       0x00000020u
#define MIT_DISALLOW_ALL_TIX        0x00000040u
#define MIT_REQUIRES_PRE_AUTH       0x00000080u
#define MIT_REQUIRES_HW_AUTH        0x00000100u
#define MIT_REQUIRES_PWCHANGE       0x00000200u
#define MIT_DISALLOW_SVR            0x00001000u
#define MIT_PWCHANGE_SERVICE        0x00002000u
#define MIT_SUPPORT_DESMD5          0x00004000u
#define MIT_NEW_PRINC               0x00008000u
#define MIT_OK_AS_DELEGATE          0x00100000u
#define MIT_OK_TO_AUTH_AS_DELEGATE  0x00200000u
#define MIT_NO_AUTH_DATA_REQUIRED   0x00400000u
#define MIT_LOCKDOWN_KEYS           0x00800000u

/* tl_data types (kdb.h) the importer looks at. */
#define MIT_TL_LAST_PWD_CHANGE  0x0001
#define MIT_TL_MOD_PRINC        0x0002
#define MIT_TL_KADM_DATA        0x0003
#define MIT_TL_MKVNO            0x0008
#define MIT_TL_ACTKVNO          0x0009
#define MIT_TL_MKEY_AUX         0x000a
#define MIT_TL_STRING_ATTRS     0x000b
#define MIT_TL_ALIAS_TARGET     0x000c

/* Salt types of key_data_type[1] (kdb.h). */
#define MIT_SALT_NORMAL     0
#define MIT_SALT_V4         1
#define MIT_SALT_NOREALM    2
#define MIT_SALT_ONLYREALM  3
#define MIT_SALT_SPECIAL    4
#define MIT_SALT_AFS3       5
#define MIT_SALT_CERTHASH   6

/* Bytes, or none (len 0, data NULL: MIT's "-1"). Borrowed from the parser. */
typedef struct mit_tl_data {
	int32_t type;
	lbytes data;
} mit_tl_data;

/*
 * One key_data: ver 1 (key only) or 2 (key and salt). type[0] is the
 * enctype and data[0] the key encrypted in the master key; type[1] the
 * salt type and data[1] the salt (ver 2 only).
 */
typedef struct mit_key_data {
	uint32_t ver;
	uint32_t kvno;
	int32_t type[2];
	lbytes data[2];
} mit_key_data;

typedef struct mit_principal {
	const char *name;         /* NUL-terminated, MIT's unparsed form */
	size_t name_len;
	uint32_t attributes;      /* MIT_* bits */
	int32_t max_life;         /* seconds, 0: no limit of its own */
	int32_t max_renew;
	uint32_t expiration;      /* 0: never */
	uint32_t pw_expiration;   /* 0: never */
	uint32_t last_success, last_failed, fail_auth_count;
	const mit_tl_data *tl;
	size_t ntl;
	const mit_key_data *keys;
	size_t nkeys;
} mit_principal;

typedef struct mit_policy {
	const char *name;         /* NUL-terminated */
	size_t nfields;           /* numeric and text fields after the name */
} mit_policy;

enum mit_record_kind { MIT_RECORD_PRINCIPAL = 1, MIT_RECORD_POLICY };

typedef struct mit_record {
	enum mit_record_kind kind;
	size_t line;              /* 1-based line where the record starts */
	mit_principal princ;      /* kind MIT_RECORD_PRINCIPAL */
	mit_policy policy;        /* kind MIT_RECORD_POLICY */
} mit_record;

/*
 * Called once per record. rec and everything it points to are valid
 * during the call only. A status other than LETHE_OK stops the parse and
 * is returned by mit_dump_parse().
 */
typedef lethe_status (*mit_record_cb)(void *ctx, const mit_record *rec);

/* Where and why a parse stopped. */
typedef struct mit_dump_error {
	size_t line;              /* 0 when not tied to a line */
	char text[200];
} mit_dump_error;

/*
 * Parse the dump buf[0..len): the header line MIT_DUMP_HEADER, then
 * "princ" and "policy" records to the end. LETHE_ERR_FORMAT (with
 * err->line and err->text) at the first malformed record: unknown
 * header or record type, a number out of range, a length that does not
 * match its data, a missing separator, trailing bytes; LETHE_ERR_TOO_BIG
 * for a field over the bounds above; LETHE_ERR_NOMEM; or cb's status.
 * err may be NULL.
 */
lethe_status mit_dump_parse(const uint8_t *buf, size_t len, mit_record_cb cb,
    void *ctx, mit_dump_error *err);

/* A master key from a stash: its kvno and key. */
typedef struct mit_mkey {
	uint32_t kvno;
	kc_key key;
} mit_mkey;

typedef struct mit_stash {
	mit_mkey keys[MIT_MAX_MKEYS];
	size_t count;
	char realm[256];          /* of the K/M entries; "" for the old format */
} mit_stash;

/*
 * Read MIT's stash file image buf[0..len): a keytab (0x0502) whose
 * entries for "K/M@realm" are the master keys with their kvnos (realm
 * NULL: whatever one realm the K/M entries name, kept in out->realm), or the
 * old format (16-bit enctype, 32-bit length, both little-endian as MIT
 * writes them on x86, then the key; kvno 1). LETHE_ERR_FORMAT when it is
 * neither or holds no master key of realm, LETHE_ERR_ETYPE_NOSUPP when
 * the master key's enctype is not one of Lethe's (17, 18, 19, 20).
 * Wipe *out with mit_stash_clear().
 */
lethe_status mit_stash_parse(const uint8_t *buf, size_t len, const char *realm,
    mit_stash *out);

void mit_stash_clear(mit_stash *s);

/*
 * The master key kvno a principal's keys are encrypted in: its
 * KRB5_TL_MKVNO (2 bytes, little-endian), else the lowest kvno of the
 * stash, as MIT's krb5_dbe_get_mkvno(). LETHE_ERR_FORMAT for a malformed
 * MKVNO.
 */
lethe_status mit_principal_mkvno(const mit_principal *p, const mit_stash *stash,
    uint32_t *out);

/*
 * Decrypt key data kd with master key mk as MIT's
 * krb5_dbe_def_decrypt_key_data(): data[0] is a 16-bit little-endian key
 * length followed by the key encrypted with key usage 0. The key (its
 * first length bytes) goes to out[0..*out_len), out holding out_cap
 * bytes; the caller wipes it. LETHE_ERR_BAD_INTEGRITY when it does not
 * decrypt (another master key), LETHE_ERR_FORMAT for a length that does
 * not fit.
 */
lethe_status mit_key_decrypt(mit_mkey *mk, const mit_key_data *kd, uint8_t *out,
    size_t out_cap, size_t *out_len);

#endif
