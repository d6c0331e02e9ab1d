#include "base/status.h"

#include <stddef.h>

static const char *const status_text[LETHE_STATUS_COUNT] = {
	[LETHE_OK] = "success",
	[LETHE_ERR_NOMEM] = "out of memory",
	[LETHE_ERR_INVALID_ARG] = "invalid argument",
	[LETHE_ERR_DER_TRUNCATED] = "DER: input truncated",
	[LETHE_ERR_DER_TAG] = "DER: unexpected or malformed tag",
	[LETHE_ERR_DER_LENGTH] = "DER: invalid length",
	[LETHE_ERR_DER_DEPTH] = "DER: nesting too deep",
	[LETHE_ERR_DER_TRAILING] = "DER: trailing bytes after element",
	[LETHE_ERR_DER_VALUE] = "DER: invalid value for type",
	[LETHE_ERR_CRYPTO] = "cryptographic library failure",
	[LETHE_ERR_BAD_INTEGRITY] = "integrity check failed",
	[LETHE_ERR_ETYPE_NOSUPP] = "encryption type not supported",
	[LETHE_ERR_CKSUM_NOSUPP] = "checksum type not supported",
	[LETHE_ERR_IO] = "I/O error",
	[LETHE_ERR_FORMAT] = "unrecognised format",
	[LETHE_ERR_NOT_FOUND] = "not found",
	[LETHE_ERR_TOO_BIG] = "input too large",
	[LETHE_ERR_UNSUPPORTED] = "not supported",
};

const char *
lethe_status_str(lethe_status rc)
{
	if ((unsigned)rc >= LETHE_STATUS_COUNT || status_text[rc] == NULL)
		return "unknown status";
	return status_text[rc];
}
