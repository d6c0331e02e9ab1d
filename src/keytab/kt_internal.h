/* Internals shared by the keytab sources; not part of the public API. */
#ifndef LETHE_KEYTAB_KT_INTERNAL_H
#define LETHE_KEYTAB_KT_INTERNAL_H

#include "keytab/keytab.h"

struct kt_keytab {
	kt_entry *entries;
	size_t count;
	size_t cap;
};

/* Copy src into a new owned *out (NULL data when src is empty). */
lethe_status kt_buf_copy(kt_buf *out, lbytes src);

/* Free b's bytes, wiping them first when wipe is true. */
void kt_buf_release(kt_buf *b, bool wipe);

/* Free what *e owns (wiping the key) and leave it empty. */
void kt_entry_clear(kt_entry *e);

/* Append *e, taking what it owns on success (*e is left empty). */
lethe_status kt_append_owned(kt_keytab *kt, kt_entry *e);

#endif
