/* Pre-authentication: PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2) and PA-ETYPE-INFO2. */
#include <string.h>

#include "kdc/kdc_int.h"

lethe_status
kdc_etype_info2(kdc_request *r, const kdc_key *key, lbytes *out)
{
	der_writer *w = &r->wk->tmp;
	krb_etype_info2_entry e = {
		.etype = key->enctype,
		.has_salt = true,
		.salt = key->salt,
		.has_s2kparams = key->has_s2kparams,
		.s2kparams = lbytes_make(key->s2kparams, sizeof(key->s2kparams)),
	};
	krb_etype_info2 info = { &e, 1 };

	der_writer_reset(w);
	GUARD(krb_encode_etype_info2(w, &info));
	return kdc_take(r, w, out);
}

lethe_status
kdc_preauth_edata(kdc_request *r, const kdc_key *key, lbytes *out)
{
	der_writer *w = &r->wk->tmp;
	krb_pa_data pa[2] = {
		{ .padata_type = KRB_PA_ETYPE_INFO2 },
		{ .padata_type = KRB_PA_ENC_TIMESTAMP, .padata_value = { NULL, 0 } },
	};
	krb_method_data md = { pa, 2 };

	GUARD(kdc_etype_info2(r, key, &pa[0].padata_value));
	der_writer_reset(w);
	GUARD(krb_encode_method_data(w, &md));
	return kdc_take(r, w, out);
}

/* Decrypt the timestamp with the client's newest key of its enctype. */
static int32_t
open_timestamp(kdc_request *r, const kdc_principal *client, const krb_pa_data *pa,
    krb_pa_enc_ts_enc *ts)
{
	krb_enc_data ed;
	const kdc_key *key;
	lbytes plain;
	lethe_status rc;

	rc = krb_decode_enc_data(r->arena, pa->padata_value.data, pa->padata_value.len, &ed);
	if (rc != LETHE_OK) {
		return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
		    "PA-ENC-TIMESTAMP is not a valid EncryptedData");
	}
	/* Only the current password counts, whatever kvno the client names. */
	key = kdc_usable_key(r, client, ed.etype);
	if (key == NULL) {
		return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
		    "the encrypted timestamp uses enctype %d, of which %s has no usable key",
		    (int)ed.etype, client->name);
	}
	rc = kdc_decrypt(key->key, KRB_KU_PA_ENC_TIMESTAMP, ed.cipher, r->arena, &plain);
	if (rc == LETHE_ERR_BAD_INTEGRITY) {
		return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
		    "the encrypted timestamp does not decrypt with the key of %s: "
		    "wrong password", client->name);
	}
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "decrypting PA-ENC-TIMESTAMP");
	if (krb_decode_pa_enc_ts_enc(r->arena, plain.data, plain.len, ts) != LETHE_OK) {
		return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
		    "the decrypted timestamp is not a valid PA-ENC-TS-ENC");
	}
	return 0;
}

int32_t
kdc_verify_enc_timestamp(kdc_request *r, const kdc_principal *client, bool *present)
{
	const krb_pa_data *pa = krb_find_padata(&r->req.padata, KRB_PA_ENC_TIMESTAMP);
	krb_pa_enc_ts_enc ts;
	int64_t off, skew = r->policy->clock_skew;

	*present = pa != NULL;
	if (pa == NULL)
		return 0;
	VERDICT(open_timestamp(r, client, pa, &ts));
	off = ts.patimestamp - r->now;
	if (off > skew || off < -skew) {
		return kdc_fail(r, KRB_AP_ERR_SKEW,
		    "client's clock is %lld s %s (allowed %lld s)",
		    (long long)(off < 0 ? -off : off), off < 0 ? "behind" : "ahead",
		    (long long)skew);
	}
	return 0;
}
