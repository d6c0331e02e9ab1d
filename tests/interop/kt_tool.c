/*
 * kt_tool: a test helper that drives src/keytab from the interop scripts.
 * It prints key bytes on purpose (the scripts compare them with MIT's
 * klist -K); it is a test program, never installed.
 *
 *	kt_tool add FILE PRINCIPAL KVNO ENCTYPE KEYHEX TIMESTAMP
 *	kt_tool remove FILE PRINCIPAL KVNO
 *	kt_tool list FILE
 *
 * add loads FILE (or starts empty when it does not exist), adds one entry
 * and saves atomically. list prints one line per entry:
 *	KVNO ENCTYPE TIMESTAMP PRINCIPAL KEYHEX
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keytab/keytab.h"

/* Parse a decimal unsigned value up to max. */
static lethe_status
parse_uint(const char *s, uintmax_t max, uintmax_t *out)
{
	char *end = NULL;
	uintmax_t v;

	ENSURE(s[0] >= '0' && s[0] <= '9', LETHE_ERR_INVALID_ARG);
	errno = 0;
	v = strtoumax(s, &end, 10);
	ENSURE(errno == 0 && *end == '\0' && v <= max, LETHE_ERR_INVALID_ARG);
	*out = v;
	return LETHE_OK;
}

/* The value of one lowercase or uppercase hex digit, or -1. */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex into key (cap bytes); *len receives the length. */
static lethe_status
parse_hex(const char *hex, uint8_t *key, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	ENSURE(n % 2 == 0 && n / 2 <= cap, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		ENSURE(hi >= 0 && lo >= 0, LETHE_ERR_INVALID_ARG);
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return LETHE_OK;
}

/* Load path, or an empty keytab when it does not exist. */
static lethe_status
load_or_new(const char *path, kt_keytab **kt)
{
	lethe_status rc = kt_load(path, kt);

	if (rc == LETHE_ERR_NOT_FOUND)
		rc = kt_new(kt);
	return rc;
}

static lethe_status
cmd_add(char **argv)
{
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	uint8_t key[KT_MAX_KEY_LEN];
	size_t key_len = 0;
	uintmax_t kvno, enctype, timestamp;
	lethe_status rc = LETHE_OK;

	GUARD_GOTO(rc, parse_uint(argv[3], UINT32_MAX, &kvno));
	GUARD_GOTO(rc, parse_uint(argv[4], INT16_MAX, &enctype));
	GUARD_GOTO(rc, parse_hex(argv[5], key, sizeof(key), &key_len));
	GUARD_GOTO(rc, parse_uint(argv[6], UINT32_MAX, &timestamp));
	GUARD_GOTO(rc, kt_principal_parse(argv[2], strlen(argv[2]), NULL, &p));
	GUARD_GOTO(rc, load_or_new(argv[1], &kt));
	GUARD_GOTO(rc, kt_add(kt, &p, (uint32_t)kvno, (int32_t)enctype,
	    (uint32_t)timestamp, lbytes_make(key, key_len)));
	GUARD_GOTO(rc, kt_save(kt, argv[1]));
cleanup:
	OPENSSL_cleanse(key, sizeof(key));
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

static lethe_status
cmd_remove(char **argv)
{
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	uintmax_t kvno;
	size_t removed = 0;
	lethe_status rc = LETHE_OK;

	GUARD_GOTO(rc, parse_uint(argv[3], UINT32_MAX, &kvno));
	GUARD_GOTO(rc, kt_principal_parse(argv[2], strlen(argv[2]), NULL, &p));
	GUARD_GOTO(rc, kt_load(argv[1], &kt));
	GUARD_GOTO(rc, kt_remove_kvno(kt, &p, (uint32_t)kvno, &removed));
	ENSURE_GOTO(rc, removed > 0, LETHE_ERR_NOT_FOUND);
	GUARD_GOTO(rc, kt_save(kt, argv[1]));
cleanup:
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

static lethe_status
print_entry(const kt_entry *e)
{
	char *name = NULL;

	GUARD(kt_principal_unparse(&e->principal, &name));
	printf("%" PRIu32 " %" PRId32 " %" PRIu32 " %s ", e->kvno, e->enctype,
	    e->timestamp, name);
	for (size_t i = 0; i < e->key.len; i++)
		printf("%02x", e->key.data[i]);
	printf("\n");
	free(name);
	return LETHE_OK;
}

static lethe_status
cmd_list(char **argv)
{
	kt_keytab *kt = NULL;
	lethe_status rc = LETHE_OK;

	GUARD_GOTO(rc, kt_load(argv[1], &kt));
	for (size_t i = 0; i < kt_count(kt); i++)
		GUARD_GOTO(rc, print_entry(kt_entry_at(kt, i)));
	ENSURE_GOTO(rc, fflush(stdout) == 0, LETHE_ERR_IO);
cleanup:
	kt_free(kt);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: kt_tool add FILE PRINCIPAL KVNO ENCTYPE KEYHEX TIMESTAMP\n"
	    "       kt_tool remove FILE PRINCIPAL KVNO\n"
	    "       kt_tool list FILE\n");
	return 2;
}

int
main(int argc, char **argv)
{
	lethe_status rc;

	if (argc == 8 && strcmp(argv[1], "add") == 0)
		rc = cmd_add(argv + 1);
	else if (argc == 5 && strcmp(argv[1], "remove") == 0)
		rc = cmd_remove(argv + 1);
	else if (argc == 3 && strcmp(argv[1], "list") == 0)
		rc = cmd_list(argv + 1);
	else
		return usage();
	if (rc != LETHE_OK) {
		fprintf(stderr, "kt_tool %s: %s\n", argv[1], lethe_status_str(rc));
		return 1;
	}
	return 0;
}
