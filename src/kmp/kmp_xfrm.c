/* An IPsec-DOI KMP SA as `ip xfrm state add` words (see kmp_xfrm.h). */
#include "kmp/kmp_xfrm.h"
#include "base/wipe.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/file.h"

/* A bounded text buffer; an overflow sticks. */
typedef struct xbuf {
	char *p;
	size_t cap;
	size_t len;
	bool overflow;
} xbuf;

static void
xbuf_str(xbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* " 0x" and the hex of key[0..len). */
static void
xbuf_hex(xbuf *b, const uint8_t *key, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	xbuf_str(b, " 0x");
	if (b->overflow || len > (b->cap - b->len - 1) / 2) {
		b->overflow = true;
		return;
	}
	for (i = 0; i < len; i++) {
		b->p[b->len++] = digits[key[i] >> 4];
		b->p[b->len++] = digits[key[i] & 0x0f];
	}
	b->p[b->len] = '\0';
}

static const char *
cipher_name(enum kmp_sa_cipher c)
{
	switch (c) {
	case KMP_SA_CIPHER_AES128_CBC:
		return "cbc(aes)";
	case KMP_SA_CIPHER_3DES_CBC:
		return "cbc(des3_ede)";
	case KMP_SA_CIPHER_NULL:
		break;
	}
	return "ecb(cipher_null)";
}

static const char *
mac_name(enum kmp_sa_mac m)
{
	return m == KMP_SA_MAC_HMAC_MD5_96 ? "hmac(md5)" : "hmac(sha1)";
}

/* Append direction d's words to b. */
static void
xbuf_dir(xbuf *b, const kmp_sa *sa, const kmp_sa_dir *d)
{
	char spi[24];

	snprintf(spi, sizeof(spi), "spi 0x%08x", (unsigned)d->spi);
	xbuf_str(b, spi);
	xbuf_str(b, " enc ");
	xbuf_str(b, cipher_name(sa->algs.cipher));
	if (sa->algs.enc_key_len == 0)
		xbuf_str(b, " \"\"");
	else
		xbuf_hex(b, d->enc_key, sa->algs.enc_key_len);
	xbuf_str(b, " auth-trunc ");
	xbuf_str(b, mac_name(sa->algs.mac));
	xbuf_hex(b, d->auth_key, sa->algs.auth_key_len);
	xbuf_str(b, " 96");
}

/* Wipe b's text and report an overflow as LETHE_ERR_TOO_BIG. */
static lethe_status
xbuf_finish(xbuf *b, size_t *out_len)
{
	if (b->overflow) {
		lethe_wipe(b->p, b->cap);
		b->p[0] = '\0';
		return LETHE_ERR_TOO_BIG;
	}
	*out_len = b->len;
	return LETHE_OK;
}

lethe_status
kmp_xfrm_dir_text(const kmp_sa *sa, const kmp_sa_dir *d, char *buf, size_t cap,
    size_t *out_len)
{
	xbuf b = { buf, cap, 0, false };

	ENSURE(cap > 0, LETHE_ERR_TOO_BIG);
	ENSURE(sa->doi == KMP_DOI_IPSEC, LETHE_ERR_UNSUPPORTED);
	buf[0] = '\0';
	xbuf_dir(&b, sa, d);
	return xbuf_finish(&b, out_len);
}

lethe_status
kmp_xfrm_format(const kmp_sa *sa, const char *peer, char *buf, size_t cap,
    size_t *out_len)
{
	xbuf b = { buf, cap, 0, false };
	char suite[32];

	ENSURE(cap > 0, LETHE_ERR_TOO_BIG);
	ENSURE(sa->live, LETHE_ERR_INVALID_ARG);
	ENSURE(sa->doi == KMP_DOI_IPSEC, LETHE_ERR_UNSUPPORTED);
	buf[0] = '\0';
	snprintf(suite, sizeof(suite), "suite %02x:%02x\n", sa->suite.auth, sa->suite.enc);
	xbuf_str(&b, "# lethe-kmp SA for ip xfrm (ESP); secret\n");
	xbuf_str(&b, suite);
	if (peer != NULL) {
		xbuf_str(&b, "peer ");
		xbuf_str(&b, peer);
		xbuf_str(&b, "\n");
	}
	xbuf_str(&b, "in ");
	xbuf_dir(&b, sa, &sa->in);
	xbuf_str(&b, "\nout ");
	xbuf_dir(&b, sa, &sa->out);
	xbuf_str(&b, "\n");
	return xbuf_finish(&b, out_len);
}

lethe_status
kmp_xfrm_write(const kmp_sa *sa, const char *peer, const char *path)
{
	char text[KMP_XFRM_MAX_TEXT];
	size_t len = 0;
	lethe_status rc;

	GUARD_GOTO(rc, kmp_xfrm_format(sa, peer, text, sizeof(text), &len));
	rc = lethe_file_write_secret(path, (const uint8_t *)text, len, true);
cleanup:
	lethe_wipe(text, sizeof(text));
	return rc;
}
