/*
 * Keytab files in MIT's FILE format, version 0x502.
 *
 * A kt_keytab is an in-memory list of entries (principal, timestamp, kvno,
 * enctype, key). It is read whole from a file or a buffer, changed in
 * memory, and written back whole and atomically (temp file, fsync, rename,
 * fsync of the directory). Key bytes are owned by the keytab and wiped
 * when an entry is removed or the keytab freed. Nothing here logs.
 *
 * Layout (all integers big-endian):
 *	0x05 0x02
 *	{ int32 record length; record }...   negative length: hole, skipped;
 *	                                     zero length: end of the entries
 *	record = uint16 ncomponents, data realm, data component...,
 *	         uint32 name_type, uint32 timestamp, uint8 kvno,
 *	         uint16 enctype, data key, [uint32 kvno], [ignored bytes]
 *	data   = uint16 length, bytes
 * The optional 32-bit kvno is read when four bytes remain in the record
 * and used when non-zero. Version 0x501 (host byte order) is refused.
 */
#ifndef LETHE_KEYTAB_KEYTAB_H
#define LETHE_KEYTAB_KEYTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/bytes.h"
#include "base/status.h"

#define KT_MAX_FILE_SIZE  (16u * 1024u * 1024u) /* bytes in a keytab file */
#define KT_MAX_COMPONENTS 32u                   /* name components per principal */
#define KT_MAX_NAME_LEN   1024u                 /* bytes in a realm or component */
#define KT_MAX_KEY_LEN    256u                  /* bytes in a key */

#define KT_NT_PRINCIPAL   1                     /* KRB5_NT_PRINCIPAL */

/* Bytes owned by their holder; data is NULL only when len is 0. */
typedef struct kt_buf {
	uint8_t *data;
	size_t len;
} kt_buf;

/* A principal name. Components may be empty; the realm may not. */
typedef struct kt_principal {
	kt_buf realm;
	kt_buf *components;
	size_t ncomponents;
	int32_t name_type;
} kt_principal;

/* One keytab entry. key is secret. */
typedef struct kt_entry {
	kt_principal principal;
	uint32_t timestamp;
	uint32_t kvno;
	int32_t enctype;
	kt_buf key;
} kt_entry;

typedef struct kt_keytab kt_keytab;

/* A borrowed view of b. */
static inline lbytes
kt_buf_view(kt_buf b)
{
	return lbytes_make(b.data, b.len);
}

/* ---- principals ---- */

/*
 * Fill *out with copies of realm and components. The realm must be
 * non-empty, 1..KT_MAX_COMPONENTS components, each name at most
 * KT_MAX_NAME_LEN bytes. On error *out is left empty.
 */
lethe_status kt_principal_init(kt_principal *out, lbytes realm,
    const lbytes *components, size_t ncomponents, int32_t name_type);

/* Fill *out with a deep copy of *in. */
lethe_status kt_principal_copy(kt_principal *out, const kt_principal *in);

/* Free what *p owns and leave it empty. Safe on an empty principal. */
void kt_principal_clear(kt_principal *p);

/* Same realm and components (name types are not compared, as in MIT). */
bool kt_principal_eq(const kt_principal *a, const kt_principal *b);

/*
 * Parse text[0..text_len) in MIT's string form, "comp1/comp2@REALM", with
 * its escapes \/ \@ \\ \n \t \b \0 (a backslash before any other character
 * stands for that character). Without "@REALM", default_realm is used, or
 * LETHE_ERR_FORMAT is returned when it is NULL. The name type is
 * KT_NT_PRINCIPAL. Raw NUL bytes, a trailing backslash, '/' or '@' in the
 * realm and an empty realm are LETHE_ERR_FORMAT.
 */
lethe_status kt_principal_parse(const char *text, size_t text_len,
    const char *default_realm, kt_principal *out);

/*
 * Write p in MIT's string form (escaping '/', '@', '\\', NUL, '\n', '\t'
 * and '\b' in components and realm) to a NUL-terminated string *out,
 * which the caller releases with free().
 */
lethe_status kt_principal_unparse(const kt_principal *p, char **out);

/* ---- the keytab ---- */

/* A new empty keytab in *out; release it with kt_free(). */
lethe_status kt_new(kt_keytab **out);

/* Wipe every key and free the keytab. NULL is allowed. */
void kt_free(kt_keytab *kt);

/* Number of entries. */
size_t kt_count(const kt_keytab *kt);

/*
 * The entry at index (0 ≤ index < kt_count, in file order), or NULL.
 * The pointer is valid until the keytab is next changed or freed.
 */
const kt_entry *kt_entry_at(const kt_keytab *kt, size_t index);

/*
 * Append an entry with copies of principal and key. The enctype must be a
 * non-zero 16-bit signed value and the key 1..KT_MAX_KEY_LEN bytes;
 * an entry with the same principal, kvno and enctype must not exist
 * (LETHE_ERR_INVALID_ARG).
 */
lethe_status kt_add(kt_keytab *kt, const kt_principal *principal,
    uint32_t kvno, int32_t enctype, uint32_t timestamp, lbytes key);

/*
 * Find the entry of principal with this kvno and enctype. kvno 0 means the
 * highest kvno among the entries that match the rest; enctype 0 means any
 * enctype (the first matching entry in file order wins). Returns
 * LETHE_ERR_NOT_FOUND when nothing matches. *out follows kt_entry_at().
 */
lethe_status kt_find(const kt_keytab *kt, const kt_principal *principal,
    uint32_t kvno, int32_t enctype, const kt_entry **out);

/*
 * Remove (and wipe) every entry of principal with exactly this kvno.
 * *removed (may be NULL) receives how many were removed, possibly 0.
 */
lethe_status kt_remove_kvno(kt_keytab *kt, const kt_principal *principal,
    uint32_t kvno, size_t *removed);

/* Remove (and wipe) every entry of principal whose kvno is below min_kvno. */
lethe_status kt_remove_below(kt_keytab *kt, const kt_principal *principal,
    uint32_t min_kvno, size_t *removed);

/* Every field equal, including the name type; keys compared in constant time. */
bool kt_entry_eq(const kt_entry *a, const kt_entry *b);

/* ---- encoding and files ---- */

/*
 * Parse a whole keytab image. Every length is checked against the record
 * and every record against the buffer; holes are skipped. Errors:
 * LETHE_ERR_TOO_BIG (over KT_MAX_FILE_SIZE or a KT_MAX_* bound),
 * LETHE_ERR_UNSUPPORTED (version 0x501), LETHE_ERR_FORMAT (anything else).
 */
lethe_status kt_parse(const uint8_t *buf, size_t len, kt_keytab **out);

/*
 * Encode kt as a version 0x502 image without holes, every record carrying
 * the 32-bit kvno (the 8-bit kvno is the kvno if below 256, else 0).
 * *out holds keys: release it with kt_image_free().
 */
lethe_status kt_serialize(const kt_keytab *kt, uint8_t **out, size_t *out_len);

/* Wipe and free an image from kt_serialize(). NULL is allowed. */
void kt_image_free(uint8_t *image, size_t len);

/*
 * Read and parse the keytab at path. LETHE_ERR_NOT_FOUND when the file
 * does not exist, LETHE_ERR_IO for other system errors or a non-regular
 * file, otherwise as kt_parse().
 */
lethe_status kt_load(const char *path, kt_keytab **out);

/*
 * Write kt to path atomically: a new mode-0600 temp file in the same
 * directory (O_CREAT|O_EXCL|O_NOFOLLOW), write, fsync, rename over path,
 * fsync the directory. On failure before the rename the old file is
 * untouched and the temp file removed. A symlink at path is replaced,
 * not followed.
 */
lethe_status kt_save(const kt_keytab *kt, const char *path);

/* An owner or group that kt_save_owned() leaves as the process makes it. */
#define KT_OWNER_KEEP ((uid_t)-1)
#define KT_GROUP_KEEP ((gid_t)-1)

/*
 * As kt_save(), but the temp file is given owner uid and group gid
 * (fchown; KT_OWNER_KEEP / KT_GROUP_KEEP leave either alone) and mode 0600
 * before the rename, so the new keytab never appears with another owner.
 * A chown the process may not make (EPERM) is LETHE_ERR_IO, the old file
 * untouched.
 */
lethe_status kt_save_owned(const kt_keytab *kt, const char *path, uid_t uid,
    gid_t gid);

#endif
