/* Sealing tickets and reply parts: encode, encrypt, wipe the plaintext. */
#include "kdc/kdc_int.h"

static const krb_last_req_entry last_req_none_entry = { KRB_LR_NONE, 0 };
const krb_last_req kdc_last_req_none = { &last_req_none_entry, 1 };
const krb_transited kdc_transited_none = { KRB_TR_DOMAIN_X500_COMPRESS, { NULL, 0 } };

lethe_status
kdc_seal_ticket(kdc_request *r, const krb_enc_ticket_part *etp, const kdc_key *key,
    const krb_principal_name *sname, krb_ticket *out)
{
	der_writer *w = &r->wk->tmp;
	lethe_status rc;

	der_writer_reset(w);
	GUARD_GOTO(rc, krb_encode_enc_ticket_part(w, etp));
	*out = (krb_ticket){ .realm = r->realm, .sname = *sname };
	out->enc_part = (krb_enc_data){ .etype = key->enctype, .has_kvno = true,
		.kvno = key->kvno };
	GUARD_GOTO(rc, kdc_encrypt(key->key, KRB_KU_TICKET, der_written(w), r->arena,
	    &out->enc_part.cipher));
cleanup:
	der_writer_reset(w);    /* wipes the plaintext, session key included */
	return rc;
}

lethe_status
kdc_seal_rep_part(kdc_request *r, const krb_enc_kdc_rep_part *part, kc_key *key,
    int32_t usage, krb_enc_data *out)
{
	der_writer *w = &r->wk->tmp;
	lethe_status rc;

	der_writer_reset(w);
	GUARD_GOTO(rc, krb_encode_enc_kdc_rep_part(w, part));
	*out = (krb_enc_data){ .etype = kc_key_enctype(key) };
	GUARD_GOTO(rc, kdc_encrypt(key, usage, der_written(w), r->arena, &out->cipher));
cleanup:
	der_writer_reset(w);
	return rc;
}
