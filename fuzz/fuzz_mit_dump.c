/*
 * fuzz_mit_dump: mit_dump_parse and mit_stash_parse over arbitrary bytes
 * (lethe-admin import-mit reads both from files an operator hands it).
 * Every record handed to the callback must stay within its bounds: each
 * byte of names, tl_data and key data is read (ASan catches overreads),
 * counts respect the limits, and every key data goes through
 * mit_key_decrypt under a fixed master key, which may fail but not crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/mit_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void
touch(lbytes b)
{
	for (size_t i = 0; i < b.len; i++)
		sink ^= b.data[i];
}

static lethe_status
record_cb(void *ctx, const mit_record *rec)
{
	mit_mkey *mk = ctx;
	const mit_principal *p = &rec->princ;
	uint8_t key[64];
	size_t key_len;

	if (rec->kind == MIT_RECORD_POLICY) {
		if (rec->policy.name == NULL || rec->policy.name[0] == '\0')
			abort();
		touch(lbytes_make(rec->policy.name, strlen(rec->policy.name)));
		return LETHE_OK;
	}
	if (rec->kind != MIT_RECORD_PRINCIPAL || p->name == NULL ||
	    strlen(p->name) != p->name_len || p->ntl > MIT_MAX_TL_DATA ||
	    p->nkeys > MIT_MAX_KEY_DATA)
		abort();
	for (size_t i = 0; i < p->ntl; i++)
		touch(p->tl[i].data);
	for (size_t i = 0; i < p->nkeys; i++) {
		const mit_key_data *kd = &p->keys[i];

		if (kd->ver < 1 || kd->ver > 2)
			abort();
		for (uint32_t j = 0; j < kd->ver; j++)
			touch(kd->data[j]);
		if (mit_key_decrypt(mk, kd, key, sizeof(key), &key_len) == LETHE_OK &&
		    (key_len == 0 || key_len > sizeof(key)))
			abort();
	}
	return LETHE_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mkey_bytes[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static int ready;
	mit_mkey mk;
	mit_stash stash;
	uint8_t *copy;

	if (!ready) {
		if (kc_init() != LETHE_OK)
			abort();
		ready = 1;
	}
	memset(&mk, 0, sizeof(mk));
	if (kc_key_init(&mk.key, 18, lbytes_make(mkey_bytes, 32)) != LETHE_OK)
		abort();
	/* An exact-size copy: a read past the end is an ASan report. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	(void)mit_dump_parse(copy, size, record_cb, &mk, NULL);
	if (mit_stash_parse(copy, size, NULL, &stash) == LETHE_OK) {
		if (stash.count == 0 || stash.count > MIT_MAX_MKEYS)
			abort();
		mit_stash_clear(&stash);
	}
	kc_key_clear(&mk.key);
	free(copy);
	return 0;
}
