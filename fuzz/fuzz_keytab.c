/*
 * fuzz_keytab: kt_parse over arbitrary bytes. When parsing succeeds, the
 * keytab must serialize, parse back to equal entries and serialize again to
 * the same bytes; every principal must survive unparse/parse; and kt_find
 * must find every entry by its own principal, kvno and enctype.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keytab/keytab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_principal(const kt_principal *p)
{
	kt_principal back;
	char *text = NULL;

	if (kt_principal_unparse(p, &text) != LETHE_OK)
		abort();
	if (kt_principal_parse(text, strlen(text), NULL, &back) != LETHE_OK)
		abort();
	if (!kt_principal_eq(p, &back))
		abort();
	kt_principal_clear(&back);
	free(text);
}

static void
check_find(const kt_keytab *kt, const kt_entry *e)
{
	const kt_entry *found = NULL;

	if (kt_find(kt, &e->principal, e->kvno, e->enctype, &found) != LETHE_OK)
		abort();
	/* 0 is a wildcard to kt_find, and files may hold kvno or enctype 0. */
	if (!kt_principal_eq(&found->principal, &e->principal) ||
	    (e->enctype != 0 && found->enctype != e->enctype) ||
	    (e->kvno != 0 && found->kvno != e->kvno))
		abort();
}

static void
check_round_trip(const kt_keytab *kt)
{
	kt_keytab *back = NULL;
	uint8_t *image = NULL, *image2 = NULL;
	size_t len = 0, len2 = 0;

	if (kt_serialize(kt, &image, &len) != LETHE_OK)
		abort();
	if (kt_parse(image, len, &back) != LETHE_OK)
		abort();
	if (kt_count(back) != kt_count(kt))
		abort();
	for (size_t i = 0; i < kt_count(kt); i++) {
		const kt_entry *e = kt_entry_at(kt, i);

		if (!kt_entry_eq(e, kt_entry_at(back, i)))
			abort();
		check_principal(&e->principal);
		check_find(kt, e);
	}
	if (kt_serialize(back, &image2, &len2) != LETHE_OK)
		abort();
	if (len2 != len || memcmp(image, image2, len) != 0)
		abort();
	kt_image_free(image, len);
	kt_image_free(image2, len2);
	kt_free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kt_keytab *kt = NULL;

	if (kt_parse(data, size, &kt) != LETHE_OK) {
		if (kt != NULL)
			abort();
		return 0;
	}
	check_round_trip(kt);
	kt_free(kt);
	return 0;
}
