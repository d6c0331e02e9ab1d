/* libFuzzer target: the configuration parser and every typed getter. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const lethe_conf_key known[] = {
	{ NULL, "log" },
	{ "kdc", "listen" },
	{ "kdc", "workers" },
	{ "realms", NULL },
};

/* Call every getter on one entry; values are arbitrary, only safety matters. */
static void
exercise(const lethe_conf *conf, const lethe_conf_entry *e)
{
	lethe_conf_error err;
	lethe_sockaddr addrs[4];
	const char *s;
	long long v;
	size_t n;
	bool b;

	memset(&err, 0, sizeof(err));
	if (lethe_conf_get_str(conf, e->section, e->key, NULL, &s) != LETHE_OK || s != e->value)
		__builtin_trap();
	(void)lethe_conf_get_int(conf, e->section, e->key, -100, 100, 0, &v, &err);
	(void)lethe_conf_get_bool(conf, e->section, e->key, false, &b, &err);
	(void)lethe_conf_get_duration(conf, e->section, e->key, 0, 1LL << 40, 0, &v, &err);
	(void)lethe_conf_get_addrs(conf, e->section, e->key, NULL, 88, addrs, 4, &n, &err);
	if (memchr(err.text, '\0', sizeof(err.text)) == NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lethe_conf_error err;
	lethe_conf *conf = NULL;
	lethe_conf_entry e;

	memset(&err, 0, sizeof(err));
	if (lethe_conf_parse(data, size, "fuzz.conf", &conf, &err) != LETHE_OK) {
		if (conf != NULL || err.text[0] == '\0')
			__builtin_trap();       /* every failure must say why */
		return 0;
	}
	for (size_t i = 0; lethe_conf_at(conf, i, &e) == LETHE_OK; i++)
		exercise(conf, &e);
	(void)lethe_conf_check_known(conf, known, sizeof(known) / sizeof(known[0]), &err);
	lethe_conf_free(conf);
	return 0;
}
