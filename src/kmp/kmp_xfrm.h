/*
 * An IPsec-DOI KMP SA in the words of `ip xfrm state add` (ESP), so that
 * the SA can be installed in the Linux kernel. The text, one direction a
 * line, is (keys in lower-case hex, secret):
 *
 *	# lethe-kmp SA for ip xfrm (ESP); secret
 *	suite AA:EE
 *	peer HOST:PORT                         (when given)
 *	in spi 0x<8 hex> enc <alg> <key> auth-trunc <alg> 0x<hex> 96
 *	out spi 0x<8 hex> enc <alg> <key> auth-trunc <alg> 0x<hex> 96
 *
 * "in" is what this side receives with (its own SPI, as it announced it),
 * "out" what it sends with (the peer's SPI). The words after the direction
 * go between "proto esp" and "mode" of `ip xfrm state add`. Algorithms:
 * AES-128-CBC "cbc(aes)", 3DES-CBC "cbc(des3_ede)", ESP_NULL
 * "ecb(cipher_null) \"\"" (an empty key, shell-quoted); HMAC-SHA-1-96
 * "hmac(sha1)", HMAC-MD5-96 "hmac(md5)", both truncated to 96 bits.
 */
#ifndef LETHE_KMP_KMP_XFRM_H
#define LETHE_KMP_KMP_XFRM_H

#include <stddef.h>

#include "base/status.h"
#include "kmp/kmp_sa.h"

#define KMP_XFRM_MAX_TEXT 768u  /* kmp_xfrm_format never needs more */

/*
 * The ip-xfrm words of one direction d of sa ("spi 0x... enc ... auth-trunc
 * ... 96"), NUL-terminated in buf. LETHE_ERR_UNSUPPORTED for an SNMPv3 SA,
 * LETHE_ERR_TOO_BIG when cap is short (buf then holds no key bytes).
 */
lethe_status kmp_xfrm_dir_text(const kmp_sa *sa, const kmp_sa_dir *d, char *buf,
    size_t cap, size_t *out_len);

/*
 * The whole text above for the live IPsec SA sa; peer (may be NULL) is a
 * name for the other side. LETHE_ERR_INVALID_ARG for an SA that is not
 * live, LETHE_ERR_UNSUPPORTED for SNMPv3, LETHE_ERR_TOO_BIG when cap is
 * short (buf is then wiped).
 */
lethe_status kmp_xfrm_format(const kmp_sa *sa, const char *peer, char *buf,
    size_t cap, size_t *out_len);

/*
 * Write kmp_xfrm_format's text to path atomically as a 0600 file
 * (replacing it); the key text is wiped from memory afterwards.
 */
lethe_status kmp_xfrm_write(const kmp_sa *sa, const char *peer, const char *path);

#endif
