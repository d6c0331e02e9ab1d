/* Credentials and the decryption of KDC reply parts. */
#include "client/internal.h"

#include <stdlib.h>
#include <string.h>

void
kcl_cred_clear(kcl_cred *cred)
{
	if (cred == NULL)
		return;
	kcl_name_clear(&cred->client);
	kcl_name_clear(&cred->server);
	free(cred->ticket);
	kc_key_free(cred->session_key);
	memset(cred, 0, sizeof(*cred));
}

lethe_status
kcl_open_rep_part(kc_key *k, uint32_t usage, const krb_enc_data *ed, lethe_arena *a,
		  krb_enc_kdc_rep_part *part, uint8_t **plain, size_t *plain_len)
{
	uint8_t *buf;
	size_t len = 0;
	lethe_status rc;

	ENSURE(ed->etype == kc_key_enctype(k), LETHE_ERR_ETYPE_NOSUPP);
	ENSURE(ed->cipher.len > 0 && ed->cipher.len <= KCL_MAX_MESSAGE, LETHE_ERR_BAD_INTEGRITY);
	buf = malloc(ed->cipher.len);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kc_decrypt(k, usage, ed->cipher, buf, ed->cipher.len, &len));
	GUARD_GOTO(rc, krb_decode_enc_kdc_rep_part(a, buf, len, part));
	*plain = buf;
	*plain_len = len;
	buf = NULL;
cleanup:
	kcl_free_secret(buf, ed->cipher.len);
	return rc;
}

lethe_status
kcl_cred_fill(kcl_cred *cred, const kcl_name *client, const krb_enc_kdc_rep_part *part,
	      const krb_ticket *ticket)
{
	kcl_cred c = { 0 };
	lethe_status rc;

	ENSURE(ticket->raw.len > 0, LETHE_ERR_INVALID_ARG);
	GUARD_GOTO(rc, kcl_name_copy(&c.client, client));
	GUARD_GOTO(rc, kcl_name_set(&c.server, &part->sname, part->srealm));
	GUARD_GOTO(rc, kcl_key_from_krb(&part->key, &c.session_key));
	c.ticket = malloc(ticket->raw.len);
	ENSURE_GOTO(rc, c.ticket != NULL, LETHE_ERR_NOMEM);
	memcpy(c.ticket, ticket->raw.data, ticket->raw.len);
	c.ticket_len = ticket->raw.len;
	c.flags = part->flags;
	c.authtime = part->authtime;
	c.starttime = part->has_starttime ? part->starttime : part->authtime;
	c.endtime = part->endtime;
	c.renew_till = part->has_renew_till ? part->renew_till : 0;
	c.ticket_etype = ticket->enc_part.etype;
	c.ticket_kvno = ticket->enc_part.has_kvno ? ticket->enc_part.kvno : 0;
	kcl_cred_clear(cred);
	*cred = c;
	memset(&c, 0, sizeof(c));
cleanup:
	kcl_cred_clear(&c);
	return rc;
}
