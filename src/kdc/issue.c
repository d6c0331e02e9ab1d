/* Sealing tickets and reply parts: encode, encrypt, wipe the plaintext. */
#include "kdc/kdc_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "kdc/snapshot.h"
#include "registrar/registrar.h"
#include "registrar/ticket.h"

static const krb_last_req_entry last_req_none_entry = { KRB_LR_NONE, 0 };
const krb_last_req kdc_last_req_none = { &last_req_none_entry, 1 };
const krb_transited kdc_transited_none = { KRB_TR_DOMAIN_X500_COMPRESS, { NULL, 0 } };

/*
 * A public-key ticket's cipher: plain signed with the KDC credential, then
 * sealed to cert (CMS, docs/registration.md), copied into the arena. No
 * credential: LETHE_ERR_NOT_FOUND (an unsigned ticket is never issued).
 */
static lethe_status
seal_to_cert(kdc_request *r, X509 *cert, lbytes plain, lbytes *out)
{
	const reg_identity *signer = kdc_snapshot_ticket_signer(r->snap);
	uint8_t *der = NULL, *copy;
	size_t len = 0;

	if (signer == NULL) {
		log_warnx("no KDC credential to sign a public-key ticket with");
		return LETHE_ERR_NOT_FOUND;
	}
	GUARD(reg_sign_and_seal(signer, cert, REG_CT_TICKET, plain.data, plain.len, &der,
	    &len));
	copy = lethe_arena_alloc(r->arena, len);
	if (copy == NULL) {
		free(der);
		return LETHE_ERR_NOMEM;
	}
	memcpy(copy, der, len);
	free(der);
	*out = lbytes_make(copy, len);
	return LETHE_OK;
}

lethe_status
kdc_seal_ticket(kdc_request *r, const krb_enc_ticket_part *etp, const kdc_key *key,
    const krb_principal_name *sname, krb_ticket *out)
{
	der_writer *w = &r->wk->tmp;
	lethe_status rc;

	der_writer_reset(w);
	GUARD_GOTO(rc, krb_encode_enc_ticket_part(w, etp));
	*out = (krb_ticket){ .realm = r->realm, .sname = *sname };
	if (key->cert != NULL) {
		/* Sealed with the server's name: no replay to another principal of the cert. */
		GUARD_GOTO(rc, reg_ticket_bind(w, 0, r->realm, sname));
		out->enc_part = (krb_enc_data){ .etype = REG_ENCTYPE_PUBKEY_TICKET };
		rc = seal_to_cert(r, key->cert, der_written(w), &out->enc_part.cipher);
		goto cleanup;
	}
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
