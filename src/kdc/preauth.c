/* Pre-authentication: PA-ENC-TIMESTAMP (RFC 4120 §5.2.7.2) and PA-ETYPE-INFO2. */
#include <string.h>

#include "kdc/kdc_int.h"
#include "kdc/preauth_guard.h"

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

/* A wrong key: count the failure (lockout), say so. */
static int32_t
wrong_key(kdc_request *r, const kdc_principal *client)
{
	kdc_lockout_policy lo;
	uint32_t n = kdc_guard_failure(r->kdc->guard, client->name, r->now);
	char until[32];

	kdc_guard_lockout(r->kdc->guard, &lo);
	if (lo.max_failures != 0 && n >= lo.max_failures) {
		kdc_time_str(r->now + lo.duration, until, sizeof(until));
		return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
		    "the encrypted timestamp does not decrypt with the key of %s: wrong "
		    "password; %u failures: locked out until %s", client->name, (unsigned)n,
		    until);
	}
	return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
	    "the encrypted timestamp does not decrypt with the key of %s: "
	    "wrong password", client->name);
}

/*
 * Decrypt the timestamp with the client's newest key of its enctype;
 * *cipher views its ciphertext.
 */
static int32_t
open_timestamp(kdc_request *r, const kdc_principal *client, const krb_pa_data *pa,
    krb_pa_enc_ts_enc *ts, lbytes *cipher)
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
	if (rc == LETHE_ERR_BAD_INTEGRITY)
		return wrong_key(r, client);
	if (rc != LETHE_OK)
		return kdc_fail_status(r, rc, "decrypting PA-ENC-TIMESTAMP");
	if (krb_decode_pa_enc_ts_enc(r->arena, plain.data, plain.len, ts) != LETHE_OK) {
		return kdc_fail(r, KDC_ERR_PREAUTH_FAILED,
		    "the decrypted timestamp is not a valid PA-ENC-TS-ENC");
	}
	*cipher = ed.cipher;
	return 0;
}

/* Look the timestamp up in the replay cache, recording it when record is set. */
static int32_t
check_replay(kdc_request *r, const kdc_principal *client, const kdc_enc_ts *ts, bool record)
{
	if (!kdc_guard_replayed(r->kdc->guard, client->name, ts->cipher, r->now, ts->expires,
	    record))
		return 0;
	return kdc_fail(r, KRB_AP_ERR_REPEAT,
	    "replayed pre-authentication: this encrypted timestamp of %s was accepted "
	    "before; run kinit again", client->name);
}

int32_t
kdc_verify_enc_timestamp(kdc_request *r, const kdc_principal *client, kdc_enc_ts *out)
{
	const krb_pa_data *pa = krb_find_padata(&r->req.padata, KRB_PA_ENC_TIMESTAMP);
	krb_pa_enc_ts_enc ts;
	int64_t off, skew = r->policy->clock_skew;

	*out = (kdc_enc_ts){ .present = pa != NULL };
	if (pa == NULL)
		return 0;
	VERDICT(open_timestamp(r, client, pa, &ts, &out->cipher));
	off = ts.patimestamp - r->now;
	if (off > skew || off < -skew) {
		return kdc_fail(r, KRB_AP_ERR_SKEW,
		    "client's clock is %lld s %s (allowed %lld s)",
		    (long long)(off < 0 ? -off : off), off < 0 ? "behind" : "ahead",
		    (long long)skew);
	}
	/* Replayable while its time is within the skew: remembered that long. */
	out->expires = ts.patimestamp + skew;
	return check_replay(r, client, out, false);
}

int32_t
kdc_commit_enc_timestamp(kdc_request *r, const kdc_principal *client, const kdc_enc_ts *ts)
{
	if (!ts->present)
		return 0;
	/* A reply too big for UDP is retried over TCP with the same bytes (MIT). */
	if (der_written(&r->wk->out).len > r->info->max_reply)
		return 0;
	VERDICT(check_replay(r, client, ts, true));
	kdc_guard_success(r->kdc->guard, client->name);
	return 0;
}
