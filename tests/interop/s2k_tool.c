/*
 * lethe-s2k-tool: string-to-key for the interop test. Reads the password
 * (one line) from stdin and prints the key in lowercase hex.
 *   lethe-s2k-tool ENCTYPE-NAME REALM COMPONENT...   default salt
 *   lethe-s2k-tool -s SALT ENCTYPE-NAME              explicit salt
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"

#define MAX_PASSWORD 1024
#define MAX_COMPONENTS 16
#define MAX_SALT 4096

static int
usage(void)
{
	fprintf(stderr, "usage: lethe-s2k-tool ENCTYPE REALM COMPONENT...\n"
	    "       lethe-s2k-tool -s SALT ENCTYPE\n");
	return 2;
}

/* Read one line from stdin without its newline. */
static int
read_password(char *buf, size_t cap, size_t *len)
{
	size_t n;

	if (fgets(buf, (int)cap, stdin) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	*len = n;
	return 0;
}

static int
build_salt(int argc, char **argv, uint8_t *salt, size_t *salt_len,
    const char **etype_name)
{
	lbytes comps[MAX_COMPONENTS];
	int ncomps;

	if (argc == 4 && strcmp(argv[1], "-s") == 0) {
		size_t n = strlen(argv[2]);
		if (n > MAX_SALT)
			return -1;
		memcpy(salt, argv[2], n);
		*salt_len = n;
		*etype_name = argv[3];
		return 0;
	}
	if (argc < 4 || argc - 3 > MAX_COMPONENTS)
		return -1;
	ncomps = argc - 3;
	for (int i = 0; i < ncomps; i++)
		comps[i] = lbytes_make(argv[3 + i], strlen(argv[3 + i]));
	*etype_name = argv[1];
	if (kc_salt_default(lbytes_make(argv[2], strlen(argv[2])), comps,
	    (size_t)ncomps, salt, MAX_SALT, salt_len) != LETHE_OK)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t salt[MAX_SALT];
	char password[MAX_PASSWORD + 2];
	const kc_enctype *et;
	const char *etype_name = NULL;
	size_t salt_len = 0, pw_len = 0;
	lethe_status rc;
	kc_key key;
	lbytes kb;

	if (build_salt(argc, argv, salt, &salt_len, &etype_name) != 0)
		return usage();
	if (kc_enctype_lookup_name(etype_name, &et) != LETHE_OK) {
		fprintf(stderr, "lethe-s2k-tool: unknown enctype %s\n", etype_name);
		return 2;
	}
	if (read_password(password, sizeof(password), &pw_len) != 0) {
		fprintf(stderr, "lethe-s2k-tool: no password on stdin\n");
		return 2;
	}
	rc = kc_string_to_key(&key, et->number, lbytes_make(password, pw_len),
	    lbytes_make(salt, salt_len), lbytes_make(NULL, 0));
	OPENSSL_cleanse(password, sizeof(password));
	if (rc != LETHE_OK) {
		fprintf(stderr, "lethe-s2k-tool: %s\n", lethe_status_str(rc));
		return 1;
	}
	kb = kc_key_bytes(&key);
	for (size_t i = 0; i < kb.len; i++)
		printf("%02x", kb.data[i]);
	printf("\n");
	kc_key_clear(&key);
	kc_thread_cleanup();
	return 0;
}
