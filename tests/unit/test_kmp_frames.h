/*
 * Hex helpers and the sample capture's frames for the KMP codec and KDF
 * tests (header-only: each test includes it once, after cmocka.h).
 */
#ifndef LETHE_TEST_KMP_FRAMES_H
#define LETHE_TEST_KMP_FRAMES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FRAME_MAX 1024

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Decode the hex digits of hex (other characters skipped) into out[cap]. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex != '\0'; hex++) {
		int v = hexval(*hex);

		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

/* UDP payload of frame `number` (1..10) of the spec's sample capture. */
static size_t
load_frame(int number, uint8_t *out)
{
	const char *dir = getenv("LETHE_TEST_DATA");
	char path[4096], text[4 * FRAME_MAX];
	size_t got;
	FILE *f;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/kmp_frame%02d.hex", dir, number);
	f = fopen(path, "r");
	assert_non_null(f);
	got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[got] = '\0';
	return unhex(text, out, FRAME_MAX);
}

#endif
