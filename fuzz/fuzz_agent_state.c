/*
 * lethe-agent's state files: the first input byte picks the parser ("keys"
 * or a KDC file), the rest is the file. Parsing never reads past the
 * input, and what parses keeps the invariants the agent relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const agent_config *
fuzz_config(void)
{
	static agent_config cfg;
	static int ready;

	if (!ready) {
		static const char text[] =
		    "principal = HTTP/a.example@EXAMPLE.COM host/a.example@EXAMPLE.COM\n"
		    "certificate = c\nkey = k\nkdc_ca = ca\nkdc = 127.0.0.1:8888\n"
		    "kdc_cert = kdc\nkeytab = kt\n";
		if (agent_config_parse(text, sizeof(text) - 1, "fuzz.conf", &cfg,
		    NULL, 0) != LETHE_OK)
			abort();
		ready = 1;
	}
	return &cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const agent_config *cfg = fuzz_config();
	agent_state st;

	if (size < 1)
		return 0;
	agent_state_init(&st);
	if (data[0] & 1) {
		if (agent_state_parse_kdc(data + 1, size - 1, cfg, 0, &st) == LETHE_OK &&
		    (strlen(st.reg[0][0].text) >= AGENT_TEXT_MAX ||
		    strlen(st.reg[0][1].text) >= AGENT_TEXT_MAX))
			abort();        /* texts stay within their arrays */
	} else if (agent_state_parse_keys(data + 1, size - 1, &st) == LETHE_OK) {
		for (size_t i = 0; i < st.nkeys; i++)
			if (agent_state_kvno(&st, st.keys[i].principal) < st.keys[i].kvno)
				abort();        /* every key's kvno counts as used */
	}
	agent_state_free(&st);
	return 0;
}
