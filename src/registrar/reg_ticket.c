/* The sealed content of a public-key ticket: EncTicketPart bound to its server. */
#include "registrar/ticket.h"

#include "krb5/krb5.h"

lethe_status
reg_ticket_bind(der_writer *w, size_t mark, lbytes realm, const krb_principal_name *sname)
{
	size_t m;

	der_wrap(w, mark, DER_CTX(2));
	m = der_mark(w);
	krb_encode_principal_name(w, sname);
	der_wrap(w, m, DER_CTX(1));
	der_put_ctx_gstring(w, 0, realm.data, realm.len);
	return der_wrap(w, mark, DER_SEQUENCE);
}

lethe_status
reg_ticket_unbind(const uint8_t *plain, size_t len, lbytes realm,
    const krb_principal_name *sname, lethe_arena *arena, lbytes *enc_part)
{
	der_reader r, seq, inner;
	krb_principal_name name;
	lbytes sealed_realm;

	der_reader_init(&r, plain, len);
	GUARD(der_read(&r, DER_SEQUENCE, &seq));
	GUARD(der_finish(&r));
	GUARD(der_ctx_gstring(&seq, 0, &sealed_realm));
	GUARD(der_ctx(&seq, 1, &inner));
	GUARD(krb_read_principal_name(&inner, arena, &name));
	GUARD(der_finish(&inner));
	GUARD(der_ctx(&seq, 2, &inner));
	*enc_part = der_rest(&inner);
	GUARD(der_finish(&seq));
	ENSURE(krb_principal_realm_eq(&name, sealed_realm, sname, realm),
	    LETHE_ERR_BAD_INTEGRITY);
	return LETHE_OK;
}
