/* Status codes shared by every Lethe layer. */
#ifndef LETHE_BASE_STATUS_H
#define LETHE_BASE_STATUS_H

/*
 * Every fallible function returns a lethe_status and writes its results
 * through out-parameters. LETHE_OK is zero so "if (rc)" reads naturally.
 */
typedef enum lethe_status {
	LETHE_OK = 0,
	LETHE_ERR_NOMEM,          /* allocation or arena budget exhausted */
	LETHE_ERR_INVALID_ARG,    /* caller broke a documented contract */
	LETHE_ERR_DER_TRUNCATED,  /* input ends inside an element */
	LETHE_ERR_DER_TAG,        /* unexpected or malformed tag */
	LETHE_ERR_DER_LENGTH,     /* indefinite, non-minimal or oversized length */
	LETHE_ERR_DER_DEPTH,      /* nesting deeper than DER_MAX_DEPTH */
	LETHE_ERR_DER_TRAILING,   /* bytes left after a complete element */
	LETHE_ERR_DER_VALUE,      /* content not valid for its type */
	LETHE_ERR_CRYPTO,         /* OpenSSL reported a failure */
	LETHE_ERR_BAD_INTEGRITY,  /* checksum or MAC did not verify */
	LETHE_ERR_ETYPE_NOSUPP,   /* encryption type not supported */
	LETHE_ERR_CKSUM_NOSUPP,   /* checksum type not supported */
	LETHE_ERR_IO,             /* a system call failed (see errno) */
	LETHE_ERR_FORMAT,         /* file or message format not recognised */
	LETHE_ERR_NOT_FOUND,      /* no such entry */
	LETHE_ERR_TOO_BIG,        /* input over a configured bound */
	LETHE_ERR_UNSUPPORTED,    /* well-formed but not implemented */
	LETHE_STATUS_COUNT
} lethe_status;

/* A short English description of rc, suitable for a log line or a user. */
const char *lethe_status_str(lethe_status rc);

/* Return rc from the enclosing function unless it is LETHE_OK. */
#define GUARD(expr)                                                      \
	do {                                                             \
		lethe_status guard_rc_ = (expr);                          \
		if (guard_rc_ != LETHE_OK)                               \
			return guard_rc_;                                \
	} while (0)

/* Store the status in rc and jump to the function's cleanup: label on error. */
#define GUARD_GOTO(rc, expr)                                             \
	do {                                                             \
		if (((rc) = (expr)) != LETHE_OK)                         \
			goto cleanup;                                    \
	} while (0)

/* Return err unless cond holds. */
#define ENSURE(cond, err)                                                \
	do {                                                             \
		if (!(cond))                                             \
			return (err);                                    \
	} while (0)

/* Set rc to err and jump to cleanup unless cond holds. */
#define ENSURE_GOTO(rc, cond, err)                                       \
	do {                                                             \
		if (!(cond)) {                                           \
			(rc) = (err);                                    \
			goto cleanup;                                    \
		}                                                        \
	} while (0)

#endif
