/* Ticket [APPLICATION 1] and EncTicketPart [APPLICATION 3]. */
#include "krb5/internal.h"

/* ----------------------------------------------------------------- Ticket */

lethe_status
krb_read_ticket(der_reader *r, lethe_arena *a, krb_ticket *out)
{
	der_reader seq;

	GUARD(krbi_open_app(r, KRB_APP_TICKET, &seq, &out->raw));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(der_ctx_gstring(&seq, 1, &out->realm));
	GUARD(krbi_ctx_read(&seq, 2, a, krbi_rd_principal, &out->sname));
	GUARD(krbi_ctx_read(&seq, 3, a, krbi_rd_enc_data, &out->enc_part));
	return der_finish(&seq);
}

lethe_status
krb_decode_ticket(lethe_arena *a, const uint8_t *data, size_t len, krb_ticket *out)
{
	der_reader r;

	der_reader_init(&r, data, len);
	GUARD(krb_read_ticket(&r, a, out));
	return der_finish(&r);
}

lethe_status
krb_encode_ticket(der_writer *w, const krb_ticket *in)
{
	size_t m = der_mark(w), mf;

	if (in->raw.len != 0)
		return der_put_raw(w, in->raw.data, in->raw.len);
	mf = der_mark(w);
	krb_encode_enc_data(w, &in->enc_part);
	krbi_wrap_ctx(w, mf, 3);
	mf = der_mark(w);
	krb_encode_principal_name(w, &in->sname);
	krbi_wrap_ctx(w, mf, 2);
	krbi_put_ctx_string(w, 1, in->realm);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_APP_TICKET));
}

/* ---------------------------------------------------------- EncTicketPart */

lethe_status
krb_decode_enc_ticket_part(lethe_arena *a, const uint8_t *data, size_t len,
			   krb_enc_ticket_part *out)
{
	der_reader r, seq;
	bool present;

	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_APP_ENC_TICKET_PART, &seq, NULL));
	GUARD(krbi_ctx_flags(&seq, 0, &out->flags));
	GUARD(krbi_ctx_read(&seq, 1, a, krbi_rd_encryption_key, &out->key));
	GUARD(der_ctx_gstring(&seq, 2, &out->crealm));
	GUARD(krbi_ctx_read(&seq, 3, a, krbi_rd_principal, &out->cname));
	GUARD(krbi_ctx_read(&seq, 4, a, krbi_rd_transited, &out->transited));
	GUARD(der_ctx_gtime(&seq, 5, &out->authtime));
	out->starttime = 0;
	GUARD(der_ctx_gtime_opt(&seq, 6, &out->starttime, &out->has_starttime));
	GUARD(der_ctx_gtime(&seq, 7, &out->endtime));
	out->renew_till = 0;
	GUARD(der_ctx_gtime_opt(&seq, 8, &out->renew_till, &out->has_renew_till));
	out->caddr = (krb_host_addresses){ NULL, 0 };
	GUARD(krbi_ctx_read_opt(&seq, 9, a, krbi_rd_host_addresses, &out->caddr, &present));
	out->authorization_data = (krb_authdata){ NULL, 0 };
	GUARD(krbi_ctx_read_opt(&seq, 10, a, krbi_rd_authdata, &out->authorization_data,
				&present));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_enc_ticket_part(der_writer *w, const krb_enc_ticket_part *in)
{
	size_t m = der_mark(w), mf;

	if (in->authorization_data.count != 0) {
		mf = der_mark(w);
		krb_encode_authdata(w, &in->authorization_data);
		krbi_wrap_ctx(w, mf, 10);
	}
	if (in->caddr.count != 0) {
		mf = der_mark(w);
		krb_encode_host_addresses(w, &in->caddr);
		krbi_wrap_ctx(w, mf, 9);
	}
	if (in->has_renew_till)
		der_put_ctx_gtime(w, 8, in->renew_till);
	der_put_ctx_gtime(w, 7, in->endtime);
	if (in->has_starttime)
		der_put_ctx_gtime(w, 6, in->starttime);
	der_put_ctx_gtime(w, 5, in->authtime);
	mf = der_mark(w);
	krb_encode_transited(w, &in->transited);
	krbi_wrap_ctx(w, mf, 4);
	mf = der_mark(w);
	krb_encode_principal_name(w, &in->cname);
	krbi_wrap_ctx(w, mf, 3);
	krbi_put_ctx_string(w, 2, in->crealm);
	mf = der_mark(w);
	krb_encode_encryption_key(w, &in->key);
	krbi_wrap_ctx(w, mf, 1);
	der_put_ctx_bits32(w, 0, in->flags);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_APP_ENC_TICKET_PART));
}
