/*
 * libFuzzer target: a registration's callback and a rule's callback hosts
 * (store_callback_parse, store_callbacks_permit), as the registrar reads
 * them from a request. Properties: a parsed host is canonical (parsing it
 * again gives itself, without a port) and a list naming it permits it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[STORE_MAX_CALLBACK_LEN + 1], host[STORE_CALLBACK_HOST_MAX];
	char again[STORE_CALLBACK_HOST_MAX], list[2 * STORE_CALLBACK_ENTRY_MAX + 2];
	uint16_t port = 0, port2 = 1;

	if (size > STORE_MAX_CALLBACK_LEN)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* The input as a rule's list, against an arbitrary host. */
	(void)store_callbacks_permit(text, "192.0.2.7", 8888);
	if (store_callback_parse(text, host, &port) != LETHE_OK)
		return 0;
	if (store_callback_parse(host, again, &port2) != LETHE_OK ||
	    strcmp(host, again) != 0 || port2 != 0)
		__builtin_trap();
	snprintf(list, sizeof(list), "198.51.100.1 %s", host);
	if (!store_callbacks_permit(list, host, port == 0 ? 1 : port))
		__builtin_trap();
	return 0;
}
