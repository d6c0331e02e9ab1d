/*
 * An OPENSSL_cleanse that AddressSanitizer can see, for fuzz targets and
 * sanitizer test binaries only (never in liblethe or a shipped program).
 * Defined in the executable, it interposes libcrypto's assembly version for
 * OpenSSL's own calls too, so a wipe past a heap buffer anywhere (e.g.
 * CRYPTO_128_unwrap_pad in OpenSSL 3.0, which cleanses inlen bytes of an
 * inlen - 8 byte buffer) is reported where it happens.
 */
#include <openssl/crypto.h>

#include "base/wipe.h"

void
OPENSSL_cleanse(void *ptr, size_t len)
{
	lethe_wipe_checked(ptr, len);
}
