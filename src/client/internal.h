/* Internal helpers of the client layer. */
#ifndef LETHE_CLIENT_INTERNAL_H
#define LETHE_CLIENT_INTERNAL_H

#include "client/client.h"

#define KCL_ARENA_BUDGET  (256u * 1024u)   /* decoding one reply */
#define KCL_WRITER_MAX    (64u * 1024u)    /* encoding one request part */

/* The etypes asked for when the caller names none. */
extern const int32_t kcl_default_etypes[4];

/* Current time: seconds since 1970 and microseconds. */
void kcl_now(int64_t *sec, int32_t *usec);

/*
 * Encrypt plain with k for usage into *out (etype set, no kvno), whose
 * cipher lives in *buf: grown as needed and reused across calls, *cap
 * its size; the caller frees *buf.
 */
lethe_status kcl_encrypt_buf(kc_key *k, uint32_t usage, lbytes plain,
			    uint8_t **buf, size_t *cap, krb_enc_data *out);

/* Heap keys (freed with kc_key_free): a copy, string-to-key, a random key. */
lethe_status kcl_key_dup(const kc_key *src, kc_key **out);
lethe_status kcl_key_from_password(int32_t etype, lbytes password, lbytes salt,
				   lbytes s2kparams, kc_key **out);
lethe_status kcl_key_random(int32_t etype, kc_key **out);

/* A heap key from a krb5 EncryptionKey (its etype supported). */
lethe_status kcl_key_from_krb(const krb_encryption_key *ek, kc_key **out);

/* Keyed checksum of data with k's mandatory checksum type, into ck (bytes in buf[0..cap)). */
lethe_status kcl_checksum(kc_key *k, uint32_t usage, lbytes data, uint8_t *buf, size_t cap,
			  krb_checksum *ck);

/* Fill cred from a decrypted, checked reply part; ticket and names copied. */
lethe_status kcl_cred_fill(kcl_cred *cred, const kcl_name *client,
			  const krb_enc_kdc_rep_part *part, const krb_ticket *ticket);

/*
 * Decrypt ed with k for usage and decode the EncKDCRepPart in it into
 * *part (views into *plain, which the caller wipes and frees with
 * kcl_free_secret(*plain, *plain_len)).
 */
lethe_status kcl_open_rep_part(kc_key *k, uint32_t usage, const krb_enc_data *ed,
			      lethe_arena *a, krb_enc_kdc_rep_part *part,
			      uint8_t **plain, size_t *plain_len);

#endif
