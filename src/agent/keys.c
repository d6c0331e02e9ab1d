/* lethe-agent: kvno allocation and fresh keys in the keytab. */
#include "agent/agent.h"
#include "base/wipe.h"

#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"

lethe_status
agent_kvno_next(const agent_state *st, const kt_keytab *kt,
    const kt_principal *principal, const char *name, uint32_t *out)
{
	uint32_t highest = agent_state_kvno(st, name);

	for (size_t i = 0; i < kt_count(kt); i++) {
		const kt_entry *e = kt_entry_at(kt, i);

		if (kt_principal_eq(&e->principal, principal) && e->kvno > highest)
			highest = e->kvno;
	}
	ENSURE(highest < UINT32_MAX, LETHE_ERR_TOO_BIG);
	*out = highest + 1;
	return LETHE_OK;
}

/* One fresh random key of enctype, added to kt. */
static lethe_status
add_one(kt_keytab *kt, const kt_principal *principal, uint32_t kvno,
    int32_t enctype, uint32_t timestamp)
{
	const kc_enctype *et = NULL;
	uint8_t random[KC_MAX_KEY_LEN * 2];
	kc_key key;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	GUARD(kc_enctype_lookup(enctype, &et));
	ENSURE(et->random_len <= sizeof(random), LETHE_ERR_UNSUPPORTED);
	GUARD_GOTO(rc, kc_random_bytes(random, et->random_len));
	GUARD_GOTO(rc, kc_random_to_key(&key, enctype,
	    lbytes_make(random, et->random_len)));
	rc = kt_add(kt, principal, kvno, enctype, timestamp, kc_key_bytes(&key));
cleanup:
	lethe_wipe(random, sizeof(random));
	kc_key_clear(&key);
	return rc;
}

lethe_status
agent_keytab_add_fresh(kt_keytab *kt, const kt_principal *principal,
    uint32_t kvno, const int32_t *enctypes, size_t nenctypes, uint32_t timestamp)
{
	ENSURE(nenctypes > 0 && nenctypes <= AGENT_MAX_ENCTYPES && kvno != 0,
	    LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < nenctypes; i++) {
		lethe_status rc = add_one(kt, principal, kvno, enctypes[i], timestamp);

		if (rc != LETHE_OK) {
			kt_remove_kvno(kt, principal, kvno, NULL);
			return rc;
		}
	}
	return LETHE_OK;
}

lethe_status
agent_keytab_load(const char *path, kt_keytab **out)
{
	lethe_status rc = kt_load(path, out);

	if (rc == LETHE_ERR_NOT_FOUND)
		rc = kt_new(out);
	return rc;
}
