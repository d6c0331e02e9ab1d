/* KRB-ERROR [APPLICATION 30] and the names of error codes. */
#include "krb5/internal.h"

/* Fields [2] to [8]. */
static lethe_status
read_error_head(der_reader *seq, lethe_arena *a, krb_error *out)
{
	GUARD(der_ctx_gtime_opt(seq, 2, &out->ctime, &out->has_ctime));
	GUARD(krbi_ctx_usec_opt(seq, 3, &out->cusec, &out->has_cusec));
	GUARD(der_ctx_gtime(seq, 4, &out->stime));
	GUARD(krbi_ctx_usec(seq, 5, &out->susec));
	GUARD(der_ctx_int32(seq, 6, &out->error_code));
	GUARD(der_ctx_gstring_opt(seq, 7, &out->crealm, &out->has_crealm));
	return krbi_ctx_read_opt(seq, 8, a, krbi_rd_principal, &out->cname, &out->has_cname);
}

lethe_status
krb_decode_krb_error(lethe_arena *a, const uint8_t *data, size_t len, krb_error *out)
{
	der_reader r, seq;

	*out = (krb_error){ 0 };
	der_reader_init(&r, data, len);
	GUARD(krbi_open_app(&r, KRB_MSG_ERROR, &seq, NULL));
	GUARD(krbi_ctx_expect(&seq, 0, KRB_PVNO));
	GUARD(krbi_ctx_expect(&seq, 1, KRB_MSG_ERROR));
	GUARD(read_error_head(&seq, a, out));
	GUARD(der_ctx_gstring(&seq, 9, &out->realm));
	GUARD(krbi_ctx_read(&seq, 10, a, krbi_rd_principal, &out->sname));
	GUARD(der_ctx_gstring_opt(&seq, 11, &out->e_text, &out->has_e_text));
	GUARD(der_ctx_octets_opt(&seq, 12, &out->e_data, &out->has_e_data));
	GUARD(der_finish(&seq));
	return der_finish(&r);
}

lethe_status
krb_encode_krb_error(der_writer *w, const krb_error *in)
{
	size_t m = der_mark(w), mf;

	if (in->has_e_data)
		krbi_put_ctx_octets(w, 12, in->e_data);
	if (in->has_e_text)
		krbi_put_ctx_string(w, 11, in->e_text);
	mf = der_mark(w);
	krb_encode_principal_name(w, &in->sname);
	krbi_wrap_ctx(w, mf, 10);
	krbi_put_ctx_string(w, 9, in->realm);
	if (in->has_cname) {
		mf = der_mark(w);
		krb_encode_principal_name(w, &in->cname);
		krbi_wrap_ctx(w, mf, 8);
	}
	if (in->has_crealm)
		krbi_put_ctx_string(w, 7, in->crealm);
	der_put_ctx_int64(w, 6, in->error_code);
	der_put_ctx_int64(w, 5, in->susec);
	der_put_ctx_gtime(w, 4, in->stime);
	if (in->has_cusec)
		der_put_ctx_int64(w, 3, in->cusec);
	if (in->has_ctime)
		der_put_ctx_gtime(w, 2, in->ctime);
	der_put_ctx_int64(w, 1, KRB_MSG_ERROR);
	der_put_ctx_int64(w, 0, KRB_PVNO);
	der_wrap(w, m, DER_SEQUENCE);
	return der_wrap(w, m, DER_APP(KRB_MSG_ERROR));
}

struct code_name {
	int32_t code;
	const char *name;
};

#define CODE(c) { c, #c }
static const struct code_name code_names[] = {
	CODE(KDC_ERR_NONE), CODE(KDC_ERR_NAME_EXP), CODE(KDC_ERR_SERVICE_EXP),
	CODE(KDC_ERR_BAD_PVNO), CODE(KDC_ERR_C_OLD_MAST_KVNO), CODE(KDC_ERR_S_OLD_MAST_KVNO),
	CODE(KDC_ERR_C_PRINCIPAL_UNKNOWN), CODE(KDC_ERR_S_PRINCIPAL_UNKNOWN),
	CODE(KDC_ERR_PRINCIPAL_NOT_UNIQUE), CODE(KDC_ERR_NULL_KEY), CODE(KDC_ERR_CANNOT_POSTDATE),
	CODE(KDC_ERR_NEVER_VALID), CODE(KDC_ERR_POLICY), CODE(KDC_ERR_BADOPTION),
	CODE(KDC_ERR_ETYPE_NOSUPP), CODE(KDC_ERR_SUMTYPE_NOSUPP), CODE(KDC_ERR_PADATA_TYPE_NOSUPP),
	CODE(KDC_ERR_TRTYPE_NOSUPP), CODE(KDC_ERR_CLIENT_REVOKED), CODE(KDC_ERR_SERVICE_REVOKED),
	CODE(KDC_ERR_TGT_REVOKED), CODE(KDC_ERR_CLIENT_NOTYET), CODE(KDC_ERR_SERVICE_NOTYET),
	CODE(KDC_ERR_KEY_EXPIRED), CODE(KDC_ERR_PREAUTH_FAILED), CODE(KDC_ERR_PREAUTH_REQUIRED),
	CODE(KDC_ERR_SERVER_NOMATCH), CODE(KDC_ERR_MUST_USE_USER2USER),
	CODE(KDC_ERR_PATH_NOT_ACCEPTED), CODE(KDC_ERR_SVC_UNAVAILABLE),
	CODE(KRB_AP_ERR_BAD_INTEGRITY), CODE(KRB_AP_ERR_TKT_EXPIRED), CODE(KRB_AP_ERR_TKT_NYV),
	CODE(KRB_AP_ERR_REPEAT), CODE(KRB_AP_ERR_NOT_US), CODE(KRB_AP_ERR_BADMATCH),
	CODE(KRB_AP_ERR_SKEW), CODE(KRB_AP_ERR_BADADDR), CODE(KRB_AP_ERR_BADVERSION),
	CODE(KRB_AP_ERR_MSG_TYPE), CODE(KRB_AP_ERR_MODIFIED), CODE(KRB_AP_ERR_BADORDER),
	CODE(KRB_AP_ERR_BADKEYVER), CODE(KRB_AP_ERR_NOKEY), CODE(KRB_AP_ERR_MUT_FAIL),
	CODE(KRB_AP_ERR_BADDIRECTION), CODE(KRB_AP_ERR_METHOD), CODE(KRB_AP_ERR_BADSEQ),
	CODE(KRB_AP_ERR_INAPP_CKSUM), CODE(KRB_AP_PATH_NOT_ACCEPTED),
	CODE(KRB_ERR_RESPONSE_TOO_BIG), CODE(KRB_ERR_GENERIC), CODE(KRB_ERR_FIELD_TOOLONG),
	CODE(KDC_ERROR_CLIENT_NOT_TRUSTED), CODE(KDC_ERROR_KDC_NOT_TRUSTED),
	CODE(KDC_ERROR_INVALID_SIG), CODE(KDC_ERR_KEY_TOO_WEAK),
	CODE(KDC_ERR_CERTIFICATE_MISMATCH), CODE(KRB_AP_ERR_NO_TGT), CODE(KDC_ERR_WRONG_REALM),
	CODE(KRB_AP_ERR_USER_TO_USER_REQUIRED), CODE(KDC_ERR_CANT_VERIFY_CERTIFICATE),
	CODE(KDC_ERR_INVALID_CERTIFICATE), CODE(KDC_ERR_REVOKED_CERTIFICATE),
	CODE(KDC_ERR_REVOCATION_STATUS_UNKNOWN), CODE(KDC_ERR_REVOCATION_STATUS_UNAVAILABLE),
	CODE(KDC_ERR_CLIENT_NAME_MISMATCH), CODE(KDC_ERR_KDC_NAME_MISMATCH),
	CODE(KDC_ERR_PREAUTH_EXPIRED), CODE(KDC_ERR_MORE_PREAUTH_DATA_REQUIRED),
	CODE(KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET), CODE(KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS),
};
#undef CODE

const char *
krb_error_code_name(int32_t code)
{
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++) {
		if (code_names[i].code == code)
			return code_names[i].name;
	}
	return NULL;
}
