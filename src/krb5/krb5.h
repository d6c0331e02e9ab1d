/*
 * Kerberos V5 messages: DER encoders and decoders (RFC 4120 §5).
 *
 * Decoding. krb_decode_<type>(arena, data, len, out) decodes one complete
 * <type> from data[0..len): the whole input must be consumed
 * (LETHE_ERR_DER_TRAILING otherwise). Tags are checked strictly and in
 * order; the tolerances real peers need are documented in types.h and at
 * each function. Strings and octets in *out are views into data; arrays are
 * allocated from arena (LETHE_ERR_NOMEM when its budget is exhausted,
 * LETHE_ERR_TOO_BIG when a SEQUENCE OF exceeds its KRB_MAX_* cap). On error
 * *out is unspecified; arena memory is reclaimed by the arena's reset.
 * Every decoder takes an arena for a uniform API; those of types without a
 * SEQUENCE OF never use it and accept NULL.
 * krb_read_<type>(r, arena, out) reads one <type> from the cursor r, for
 * types embedded in other structures (r advances past it).
 *
 * Encoding. krb_encode_<type>(w, in) PREPENDS one complete DER encoding of
 * <type> to the writer w (which writes backwards; see der/der.h), so it
 * serves both for whole messages and for fields of larger structures. The
 * output is DER and matches MIT krb5 for the same values. Errors are also
 * sticky in w. Arrays with count != 0 must have a non-NULL pointer.
 */
#ifndef LETHE_KRB5_KRB5_H
#define LETHE_KRB5_KRB5_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/status.h"
#include "der/der.h"
#include "krb5/constants.h"
#include "krb5/types.h"

/* ------------------------------------------------------------ small types */

lethe_status krb_read_principal_name(der_reader *r, lethe_arena *a, krb_principal_name *out);
lethe_status krb_decode_principal_name(lethe_arena *a, const uint8_t *data, size_t len,
				       krb_principal_name *out);
lethe_status krb_encode_principal_name(der_writer *w, const krb_principal_name *in);

lethe_status krb_read_host_address(der_reader *r, lethe_arena *a, krb_host_address *out);
lethe_status krb_decode_host_address(lethe_arena *a, const uint8_t *data, size_t len,
				    krb_host_address *out);
lethe_status krb_encode_host_address(der_writer *w, const krb_host_address *in);
lethe_status krb_read_host_addresses(der_reader *r, lethe_arena *a, krb_host_addresses *out);
lethe_status krb_decode_host_addresses(lethe_arena *a, const uint8_t *data, size_t len,
				       krb_host_addresses *out);
lethe_status krb_encode_host_addresses(der_writer *w, const krb_host_addresses *in);

lethe_status krb_read_encryption_key(der_reader *r, lethe_arena *a, krb_encryption_key *out);
lethe_status krb_decode_encryption_key(lethe_arena *a, const uint8_t *data, size_t len,
				       krb_encryption_key *out);
lethe_status krb_encode_encryption_key(der_writer *w, const krb_encryption_key *in);

/* kvno: accepted from INT32_MIN to UINT32_MAX, stored as uint32_t. */
lethe_status krb_read_enc_data(der_reader *r, lethe_arena *a, krb_enc_data *out);
lethe_status krb_decode_enc_data(lethe_arena *a, const uint8_t *data, size_t len,
				 krb_enc_data *out);
lethe_status krb_encode_enc_data(der_writer *w, const krb_enc_data *in);

lethe_status krb_read_checksum(der_reader *r, lethe_arena *a, krb_checksum *out);
lethe_status krb_decode_checksum(lethe_arena *a, const uint8_t *data, size_t len,
				 krb_checksum *out);
lethe_status krb_encode_checksum(der_writer *w, const krb_checksum *in);

lethe_status krb_read_authdata(der_reader *r, lethe_arena *a, krb_authdata *out);
/* Also decodes the contents of AD-IF-RELEVANT. */
lethe_status krb_decode_authdata(lethe_arena *a, const uint8_t *data, size_t len,
				 krb_authdata *out);
lethe_status krb_encode_authdata(der_writer *w, const krb_authdata *in);

lethe_status krb_read_transited(der_reader *r, lethe_arena *a, krb_transited *out);
lethe_status krb_decode_transited(lethe_arena *a, const uint8_t *data, size_t len,
				 krb_transited *out);
lethe_status krb_encode_transited(der_writer *w, const krb_transited *in);

lethe_status krb_read_last_req(der_reader *r, lethe_arena *a, krb_last_req *out);
lethe_status krb_decode_last_req(lethe_arena *a, const uint8_t *data, size_t len,
				krb_last_req *out);
lethe_status krb_encode_last_req(der_writer *w, const krb_last_req *in);

/* ---------------------------------------------------------------- padata */

lethe_status krb_read_pa_data(der_reader *r, lethe_arena *a, krb_pa_data *out);
lethe_status krb_decode_pa_data(lethe_arena *a, const uint8_t *data, size_t len,
			       krb_pa_data *out);
lethe_status krb_encode_pa_data(der_writer *w, const krb_pa_data *in);

/* METHOD-DATA (SEQUENCE OF PA-DATA): padata lists and KRB-ERROR e-data. */
lethe_status krb_read_method_data(der_reader *r, lethe_arena *a, krb_method_data *out);
lethe_status krb_decode_method_data(lethe_arena *a, const uint8_t *data, size_t len,
				    krb_method_data *out);
lethe_status krb_encode_method_data(der_writer *w, const krb_method_data *in);

/* TYPED-DATA (KRB-ERROR e-data of some errors, RFC 4120 §5.9.1). */
lethe_status krb_decode_typed_data(lethe_arena *a, const uint8_t *data, size_t len,
				   krb_typed_data *out);
lethe_status krb_encode_typed_data(der_writer *w, const krb_typed_data *in);

/* PA-ENC-TS-ENC: the plaintext of the PA-ENC-TIMESTAMP EncryptedData. */
lethe_status krb_decode_pa_enc_ts_enc(lethe_arena *a, const uint8_t *data, size_t len,
				      krb_pa_enc_ts_enc *out);
lethe_status krb_encode_pa_enc_ts_enc(der_writer *w, const krb_pa_enc_ts_enc *in);

/* ETYPE-INFO2: the value of PA-ETYPE-INFO2. */
lethe_status krb_decode_etype_info2(lethe_arena *a, const uint8_t *data, size_t len,
				    krb_etype_info2 *out);
lethe_status krb_encode_etype_info2(der_writer *w, const krb_etype_info2 *in);

/* KERB-PA-PAC-REQUEST: the value of PA-PAC-REQUEST. */
lethe_status krb_decode_pa_pac_request(lethe_arena *a, const uint8_t *data, size_t len,
				       krb_pa_pac_request *out);
lethe_status krb_encode_pa_pac_request(der_writer *w, const krb_pa_pac_request *in);

/* The first element of list with padata_type type, or NULL. */
const krb_pa_data *krb_find_padata(const krb_method_data *list, int32_t type);

/* --------------------------------------------------------------- tickets */

/* Sets out->raw to the complete Ticket encoding. */
lethe_status krb_read_ticket(der_reader *r, lethe_arena *a, krb_ticket *out);
lethe_status krb_decode_ticket(lethe_arena *a, const uint8_t *data, size_t len,
			       krb_ticket *out);
lethe_status krb_encode_ticket(der_writer *w, const krb_ticket *in);

lethe_status krb_decode_enc_ticket_part(lethe_arena *a, const uint8_t *data, size_t len,
					krb_enc_ticket_part *out);
lethe_status krb_encode_enc_ticket_part(der_writer *w, const krb_enc_ticket_part *in);

/* ----------------------------------------------------------- KDC-REQ/REP */

/* Sets out->raw to the complete KDC-REQ-BODY encoding. nonce: see types.h. */
lethe_status krb_read_kdc_req_body(der_reader *r, lethe_arena *a, krb_kdc_req_body *out);
lethe_status krb_decode_kdc_req_body(lethe_arena *a, const uint8_t *data, size_t len,
				     krb_kdc_req_body *out);
lethe_status krb_encode_kdc_req_body(der_writer *w, const krb_kdc_req_body *in);

/*
 * AS-REQ / TGS-REQ. The decoders check the APPLICATION tag, pvno 5 and that
 * msg-type matches the tag; krb_decode_kdc_req accepts either message and
 * sets out->msg_type. krb_encode_as_req / _tgs_req write the message they
 * are named for whatever in->msg_type holds; krb_encode_kdc_req writes the
 * one in->msg_type names (LETHE_ERR_INVALID_ARG for any other value).
 */
lethe_status krb_decode_as_req(lethe_arena *a, const uint8_t *data, size_t len,
			       krb_kdc_req *out);
lethe_status krb_decode_tgs_req(lethe_arena *a, const uint8_t *data, size_t len,
				krb_kdc_req *out);
lethe_status krb_decode_kdc_req(lethe_arena *a, const uint8_t *data, size_t len,
				krb_kdc_req *out);
lethe_status krb_encode_as_req(der_writer *w, const krb_kdc_req *in);
lethe_status krb_encode_tgs_req(der_writer *w, const krb_kdc_req *in);
lethe_status krb_encode_kdc_req(der_writer *w, const krb_kdc_req *in);

/* AS-REP / TGS-REP, on the same pattern as the requests. */
lethe_status krb_decode_as_rep(lethe_arena *a, const uint8_t *data, size_t len,
			       krb_kdc_rep *out);
lethe_status krb_decode_tgs_rep(lethe_arena *a, const uint8_t *data, size_t len,
				krb_kdc_rep *out);
lethe_status krb_decode_kdc_rep(lethe_arena *a, const uint8_t *data, size_t len,
				krb_kdc_rep *out);
lethe_status krb_encode_as_rep(der_writer *w, const krb_kdc_rep *in);
lethe_status krb_encode_tgs_rep(der_writer *w, const krb_kdc_rep *in);
lethe_status krb_encode_kdc_rep(der_writer *w, const krb_kdc_rep *in);

/*
 * EncASRepPart / EncTGSRepPart: the decoder accepts [APPLICATION 25] or [26]
 * and records the tag in out->app_tag. The encoders write tag 25 or 26 as
 * named; krb_encode_enc_kdc_rep_part writes in->app_tag (25 or 26).
 */
lethe_status krb_decode_enc_kdc_rep_part(lethe_arena *a, const uint8_t *data, size_t len,
					 krb_enc_kdc_rep_part *out);
lethe_status krb_encode_enc_as_rep_part(der_writer *w, const krb_enc_kdc_rep_part *in);
lethe_status krb_encode_enc_tgs_rep_part(der_writer *w, const krb_enc_kdc_rep_part *in);
lethe_status krb_encode_enc_kdc_rep_part(der_writer *w, const krb_enc_kdc_rep_part *in);

/* -------------------------------------------------------------- AP-REQ/REP */

/* AP-REQ; also the value of PA-TGS-REQ. out->ticket.raw is set. */
lethe_status krb_decode_ap_req(lethe_arena *a, const uint8_t *data, size_t len,
			       krb_ap_req *out);
lethe_status krb_encode_ap_req(der_writer *w, const krb_ap_req *in);

lethe_status krb_decode_authenticator(lethe_arena *a, const uint8_t *data, size_t len,
				      krb_authenticator *out);
lethe_status krb_encode_authenticator(der_writer *w, const krb_authenticator *in);

lethe_status krb_decode_ap_rep(lethe_arena *a, const uint8_t *data, size_t len,
			       krb_ap_rep *out);
lethe_status krb_encode_ap_rep(der_writer *w, const krb_ap_rep *in);

lethe_status krb_decode_enc_ap_rep_part(lethe_arena *a, const uint8_t *data, size_t len,
					krb_enc_ap_rep_part *out);
lethe_status krb_encode_enc_ap_rep_part(der_writer *w, const krb_enc_ap_rep_part *in);

/* --------------------------------------------------------------- KRB-ERROR */

/* e_data stays raw; decode it with krb_decode_method_data or _typed_data. */
lethe_status krb_decode_krb_error(lethe_arena *a, const uint8_t *data, size_t len,
				  krb_error *out);
lethe_status krb_encode_krb_error(der_writer *w, const krb_error *in);

/* ------------------------------------------------------- KRB-SAFE / KRB-PRIV */

/* out->body.raw is set to the KRB-SAFE-BODY encoding. */
lethe_status krb_decode_krb_safe(lethe_arena *a, const uint8_t *data, size_t len,
				 krb_safe *out);
lethe_status krb_encode_krb_safe(der_writer *w, const krb_safe *in);

lethe_status krb_decode_krb_priv(lethe_arena *a, const uint8_t *data, size_t len,
				 krb_priv *out);
lethe_status krb_encode_krb_priv(der_writer *w, const krb_priv *in);

lethe_status krb_decode_enc_krb_priv_part(lethe_arena *a, const uint8_t *data, size_t len,
					  krb_enc_krb_priv_part *out);
lethe_status krb_encode_enc_krb_priv_part(der_writer *w, const krb_enc_krb_priv_part *in);

/* -------------------------------------------------------------- principals */

/* Equal names: same components, byte for byte; name-type ignored (RFC 4120 §6.2). */
bool krb_principal_eq(const krb_principal_name *a, const krb_principal_name *b);

/* Equal names in equal realms. */
bool krb_principal_realm_eq(const krb_principal_name *a, lbytes realm_a,
			    const krb_principal_name *b, lbytes realm_b);

/*
 * Parse "comp/comp@REALM" with MIT's escapes (\/ \@ \\ \n \t \b \0, and
 * \c = c otherwise). Without an '@', *realm is set to default_realm (which
 * may be empty). Components and realm are copied into arena. The name type
 * is inferred as MIT does: krbtgt/X is KRB_NT_SRV_INST, WELLKNOWN/... is
 * KRB_NT_WELLKNOWN, anything else KRB_NT_PRINCIPAL. LETHE_ERR_FORMAT for an
 * empty name, an unescaped '@' in the realm, a trailing '\', an empty
 * realm after '@', or more than KRB_MAX_NAME_COMPONENTS components.
 */
lethe_status krb_principal_parse(lethe_arena *a, const char *text, size_t len,
				 lbytes default_realm, krb_principal_name *name,
				 lbytes *realm);

/*
 * Write "comp/comp@REALM" (realm omitted when realm.len == 0) with MIT's
 * escapes, NUL-terminated, into buf[0..cap). *out_len receives the length
 * without the NUL. LETHE_ERR_TOO_BIG when cap is too small (buf is then "").
 */
lethe_status krb_principal_unparse(const krb_principal_name *name, lbytes realm,
				   char *buf, size_t cap, size_t *out_len);

#endif
