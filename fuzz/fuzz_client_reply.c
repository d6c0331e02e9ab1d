/*
 * Client reply processing fed arbitrary KDC and server answers: the first
 * input byte picks AS (password path or known-key path), TGS or AP-REP
 * processing. Nothing may crash, leak or leave a half-filled credential.
 */
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char client_name[] = "user@TEST.REALM";
static const uint8_t key_bytes[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static void
require_empty(const kcl_cred *cred)
{
	if (cred->ticket != NULL || cred->session_key != NULL)
		abort();
}

static void
fuzz_as(const uint8_t *rep, size_t len, bool with_password)
{
	kcl_as_params params = { .client = client_name, .realm = "TEST.REALM" };
	kcl_as_ctx ctx;
	kcl_cred cred;
	kcl_error err;
	kc_key key;
	bool again = false;

	memset(&cred, 0, sizeof(cred));
	memset(&err, 0, sizeof(err));
	if (kcl_as_init(&ctx, &params) != LETHE_OK)
		abort();
	if (with_password) {
		if (kcl_as_set_password(&ctx, LBYTES_LIT("password")) != LETHE_OK)
			abort();
	} else {
		if (kc_key_init(&key, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96,
		    lbytes_make(key_bytes, 32)) != LETHE_OK)
			abort();
		if (kcl_as_set_key(&ctx, &key) != LETHE_OK)
			abort();
		kc_key_clear(&key);
	}
	if (kcl_as_process(&ctx, rep, len, 12345, &cred, &again, &err) != LETHE_OK)
		require_empty(&cred);
	kcl_cred_clear(&cred);
	(void)kcl_as_check(&ctx, rep, len, &err);
	kcl_as_free(&ctx);
}

static void
fuzz_tgs_and_ap(const uint8_t *rep, size_t len, bool tgs)
{
	kcl_cred tgt, cred;
	kcl_error err;
	kcl_name server;

	memset(&tgt, 0, sizeof(tgt));
	memset(&cred, 0, sizeof(cred));
	memset(&err, 0, sizeof(err));
	memset(&server, 0, sizeof(server));
	if (kcl_name_parse(&tgt.client, client_name, NULL) != LETHE_OK ||
	    kcl_name_parse(&tgt.server, "krbtgt/TEST.REALM@TEST.REALM", NULL) != LETHE_OK ||
	    kcl_name_parse(&server, "host/a.test@TEST.REALM", NULL) != LETHE_OK ||
	    kc_key_new(KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96, lbytes_make(key_bytes, 32),
	    &tgt.session_key) != LETHE_OK)
		abort();
	if (tgs) {
		kcl_tgs_params params = { .server = &server };
		kcl_tgs_state st = { .nonce = 12345, .subkey = NULL };
		kcl_tgs_ctx tc;
		kcl_tgs_ctx_init(&tc);
		if (kcl_tgs_process(&tc, &tgt, &params, &st, rep, len, &cred, &err) != LETHE_OK)
			require_empty(&cred);
		(void)kcl_tgs_check(&tc, &tgt, &params, rep, len, &err);
		kcl_tgs_ctx_free(&tc);
	} else {
		kcl_ap_state st = { .ctime = 1795443867, .cusec = 42, .subkey = NULL };
		kcl_ap_rep_info info;
		memset(&info, 0, sizeof(info));
		if (kcl_ap_rep_verify(&tgt, &st, rep, len, &info, &err) == LETHE_OK)
			kc_key_free(info.subkey);
	}
	kcl_cred_clear(&cred);
	kcl_cred_clear(&tgt);
	kcl_name_clear(&server);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_as(data + 1, size - 1, true);
		break;
	case 1:
		fuzz_as(data + 1, size - 1, false);
		break;
	case 2:
		fuzz_tgs_and_ap(data + 1, size - 1, true);
		break;
	default:
		fuzz_tgs_and_ap(data + 1, size - 1, false);
		break;
	}
	return 0;
}
