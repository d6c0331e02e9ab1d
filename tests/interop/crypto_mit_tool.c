/*
 * lethe-crypto-mit-check: cross-checks src/crypto against MIT Kerberos's
 * own crypto library (libk5crypto.so.3, loaded with dlopen so that no MIT
 * development headers are needed). For each enctype and many random keys,
 * usages and messages: Lethe encrypts / MIT decrypts, MIT encrypts /
 * Lethe decrypts, and checksums, PRF and KRB-FX-CF2 must be identical.
 * Exit status 0 only when every check passed.
 *
 * The few MIT types below are copied from krb5.h (stable public ABI).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "crypto/crypto.h"

typedef int32_t krb5_error_code;
typedef int32_t krb5_magic;
typedef int32_t krb5_enctype;
typedef int32_t krb5_keyusage;
typedef int32_t krb5_cksumtype;
typedef unsigned int krb5_boolean;
typedef void *krb5_context;

typedef struct { krb5_magic magic; unsigned int length; char *data; } mit_data;
typedef struct {
	krb5_magic magic;
	krb5_enctype enctype;
	unsigned int length;
	uint8_t *contents;
} mit_keyblock;
typedef struct {
	krb5_magic magic;
	krb5_enctype enctype;
	unsigned int kvno;
	mit_data ciphertext;
} mit_enc_data;
typedef struct {
	krb5_magic magic;
	krb5_cksumtype checksum_type;
	unsigned int length;
	uint8_t *contents;
} mit_checksum;

static struct {
	krb5_error_code (*encrypt)(krb5_context, const mit_keyblock *,
	    krb5_keyusage, const mit_data *, const mit_data *, mit_enc_data *);
	krb5_error_code (*decrypt)(krb5_context, const mit_keyblock *,
	    krb5_keyusage, const mit_data *, const mit_enc_data *, mit_data *);
	krb5_error_code (*encrypt_length)(krb5_context, krb5_enctype, size_t,
	    size_t *);
	krb5_error_code (*make_checksum)(krb5_context, krb5_cksumtype,
	    const mit_keyblock *, krb5_keyusage, const mit_data *, mit_checksum *);
	krb5_error_code (*verify_checksum)(krb5_context, const mit_keyblock *,
	    krb5_keyusage, const mit_data *, const mit_checksum *, krb5_boolean *);
	krb5_error_code (*prf)(krb5_context, const mit_keyblock *, mit_data *,
	    mit_data *);
	krb5_error_code (*cf2)(krb5_context, const mit_keyblock *, const char *,
	    const mit_keyblock *, const char *, mit_keyblock **);
} mit;

#define TRIALS 40
#define MAX_MSG 200

static int failures;

static void
fail(const char *what, int32_t enctype, int trial)
{
	fprintf(stderr, "FAIL %s: enctype %d trial %d\n", what, enctype, trial);
	failures++;
}

static int
load_mit(void)
{
	void *h = dlopen("libk5crypto.so.3", RTLD_NOW);

	if (h == NULL) {
		fprintf(stderr, "cannot load MIT libk5crypto.so.3: %s\n", dlerror());
		return -1;
	}
	*(void **)&mit.encrypt = dlsym(h, "krb5_c_encrypt");
	*(void **)&mit.decrypt = dlsym(h, "krb5_c_decrypt");
	*(void **)&mit.encrypt_length = dlsym(h, "krb5_c_encrypt_length");
	*(void **)&mit.make_checksum = dlsym(h, "krb5_c_make_checksum");
	*(void **)&mit.verify_checksum = dlsym(h, "krb5_c_verify_checksum");
	*(void **)&mit.prf = dlsym(h, "krb5_c_prf");
	*(void **)&mit.cf2 = dlsym(h, "krb5_c_fx_cf2_simple");
	if (mit.encrypt == NULL || mit.decrypt == NULL ||
	    mit.encrypt_length == NULL || mit.make_checksum == NULL ||
	    mit.verify_checksum == NULL || mit.prf == NULL || mit.cf2 == NULL) {
		fprintf(stderr, "MIT libk5crypto lacks a needed symbol\n");
		return -1;
	}
	return 0;
}

static mit_keyblock
mit_key(kc_key *key)
{
	lbytes b = kc_key_bytes(key);

	return (mit_keyblock){ 0, kc_key_enctype(key), (unsigned int)b.len,
	    (uint8_t *)b.data };
}

/* Lethe encrypts, MIT decrypts; then MIT encrypts, Lethe decrypts. */
static void
check_encryption(kc_key *key, uint32_t usage, const uint8_t *msg, size_t len,
    int trial)
{
	mit_keyblock kb = mit_key(key);
	uint8_t cipher[MAX_MSG + 64], plain[MAX_MSG + 64];
	size_t n = 0, plain_len = 0, mit_len = 0;
	mit_data in, out;
	mit_enc_data enc;

	if (kc_encrypt(key, usage, lbytes_make(msg, len), cipher, sizeof(cipher),
	    &n) != LETHE_OK) {
		fail("lethe encrypt", kb.enctype, trial);
		return;
	}
	enc = (mit_enc_data){ 0, kb.enctype, 0, { 0, (unsigned int)n,
	    (char *)cipher } };
	out = (mit_data){ 0, sizeof(plain), (char *)plain };
	if (mit.decrypt(NULL, &kb, (krb5_keyusage)usage, NULL, &enc, &out) != 0 ||
	    out.length != len || memcmp(plain, msg, len) != 0)
		fail("MIT decrypts Lethe ciphertext", kb.enctype, trial);

	if (mit.encrypt_length(NULL, kb.enctype, len, &mit_len) != 0 ||
	    kc_encrypt_len(kb.enctype, len, &n) != LETHE_OK || mit_len != n) {
		fail("encrypt length", kb.enctype, trial);
		return;
	}
	in = (mit_data){ 0, (unsigned int)len, (char *)msg };
	enc.ciphertext = (mit_data){ 0, (unsigned int)mit_len, (char *)cipher };
	if (mit.encrypt(NULL, &kb, (krb5_keyusage)usage, NULL, &in, &enc) != 0) {
		fail("MIT encrypt", kb.enctype, trial);
		return;
	}
	if (kc_decrypt(key, usage, lbytes_make(cipher, enc.ciphertext.length),
	    plain, sizeof(plain), &plain_len) != LETHE_OK || plain_len != len ||
	    memcmp(plain, msg, len) != 0)
		fail("Lethe decrypts MIT ciphertext", kb.enctype, trial);
	/* And MIT's ciphertext under another usage must not verify. */
	if (kc_decrypt(key, usage + 1, lbytes_make(cipher, enc.ciphertext.length),
	    plain, sizeof(plain), &plain_len) != LETHE_ERR_BAD_INTEGRITY)
		fail("wrong usage accepted", kb.enctype, trial);
}

static void
check_checksum(kc_key *key, uint32_t usage, const uint8_t *msg, size_t len,
    int trial)
{
	mit_keyblock kb = mit_key(key);
	const kc_enctype *e;
	uint8_t sum[KC_MAX_CKSUM_LEN];
	size_t n = 0;
	mit_data in = { 0, (unsigned int)len, (char *)msg };
	mit_checksum ck = { 0, 0, 0, NULL };
	krb5_boolean valid = 0;

	if (kc_enctype_lookup(kb.enctype, &e) != LETHE_OK ||
	    kc_checksum_make(key, e->cksumtype, usage, lbytes_make(msg, len), sum,
	    sizeof(sum), &n) != LETHE_OK ||
	    mit.make_checksum(NULL, e->cksumtype, &kb, (krb5_keyusage)usage, &in,
	    &ck) != 0) {
		fail("checksum make", kb.enctype, trial);
		return;
	}
	if (ck.length != n || memcmp(ck.contents, sum, n) != 0)
		fail("checksum bytes differ", kb.enctype, trial);
	if (mit.verify_checksum(NULL, &kb, (krb5_keyusage)usage, &in, &ck,
	    &valid) != 0 || !valid)
		fail("MIT verifies Lethe checksum", kb.enctype, trial);
	free(ck.contents);
}

static void
check_prf_cf2(kc_key *key, kc_key *key2, const uint8_t *msg, size_t len,
    int trial)
{
	mit_keyblock kb = mit_key(key), kb2 = mit_key(key2);
	uint8_t ours[KC_MAX_PRF_LEN], theirs[KC_MAX_PRF_LEN];
	size_t n = 0;
	mit_data in = { 0, (unsigned int)len, (char *)msg };
	mit_data out;
	mit_keyblock *mit_cf2 = NULL;
	kc_key cf2;

	if (kc_prf(key, lbytes_make(msg, len), ours, sizeof(ours), &n) !=
	    LETHE_OK) {
		fail("lethe prf", kb.enctype, trial);
		return;
	}
	out = (mit_data){ 0, (unsigned int)n, (char *)theirs };
	if (mit.prf(NULL, &kb, &in, &out) != 0 || memcmp(ours, theirs, n) != 0)
		fail("PRF differs", kb.enctype, trial);

	if (kc_cf2(key, LBYTES_LIT("pepper one"), key2, LBYTES_LIT("pepper two"),
	    &cf2) != LETHE_OK ||
	    mit.cf2(NULL, &kb, "pepper one", &kb2, "pepper two", &mit_cf2) != 0) {
		fail("cf2", kb.enctype, trial);
		return;
	}
	if (mit_cf2->enctype != kc_key_enctype(&cf2) ||
	    mit_cf2->length != kc_key_bytes(&cf2).len ||
	    memcmp(mit_cf2->contents, kc_key_bytes(&cf2).data,
	    mit_cf2->length) != 0)
		fail("CF2 differs", kb.enctype, trial);
	free(mit_cf2->contents);
	free(mit_cf2);
	kc_key_clear(&cf2);
}

int
main(void)
{
	static const int32_t enctypes[] = { 17, 18, 19, 20 };
	uint8_t msg[MAX_MSG], rnd[4];
	int checks = 0;

	if (load_mit() != 0)
		return 1;
	for (size_t k = 0; k < 4; k++) {
		for (int trial = 0; trial < TRIALS; trial++) {
			kc_key key, key2;
			size_t len;
			uint32_t usage;
			if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
			    RAND_bytes(msg, sizeof(msg)) != 1 ||
			    kc_key_generate(&key, enctypes[k]) != LETHE_OK ||
			    kc_key_generate(&key2, enctypes[(k + (size_t)trial) % 4]) !=
			    LETHE_OK)
				return 1;
			len = (size_t)(rnd[0] | rnd[1] << 8) % (MAX_MSG + 1);
			usage = 1 + rnd[2] % 64;
			check_encryption(&key, usage, msg, len, trial);
			check_checksum(&key, usage, msg, len, trial);
			check_prf_cf2(&key, &key2, msg, len, trial);
			checks++;
			kc_key_clear(&key);
			kc_key_clear(&key2);
		}
	}
	kc_thread_cleanup();
	if (failures != 0) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("crypto-mit-check: %d trials x (2 encryptions, checksum, PRF, "
	    "CF2) identical to MIT libk5crypto\n", checks);
	return 0;
}
