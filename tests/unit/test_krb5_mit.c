/*
 * Decoding real MIT Kerberos 1.20 traffic (tests/unit/data/krb5, see its
 * README): every field checked against tshark's reading, and re-encoding
 * from the decoded fields must give MIT's bytes back exactly.
 */
#include "test_krb5_util.h"

static const int32_t mit_etypes[] = { 18, 17, 20, 19, 16, 23, 25, 26 };

#define TILL_20261124144418 INT64_C(1795531458)
#define RTIME_20261125144418 INT64_C(1795617858)
#define STIME_20261123144418 INT64_C(1795445058)

static void
assert_name(const krb_principal_name *pn, int32_t type, const char *c0, const char *c1)
{
	assert_int_equal(pn->name_type, type);
	assert_int_equal(pn->n_components, c1 ? 2 : 1);
	assert_lbytes_str(pn->components[0], c0);
	if (c1)
		assert_lbytes_str(pn->components[1], c1);
}

static void
assert_mit_etypes(const krb_kdc_req_body *b)
{
	assert_int_equal(b->n_etypes, sizeof(mit_etypes) / sizeof(mit_etypes[0]));
	for (size_t i = 0; i < b->n_etypes; i++)
		assert_int_equal(b->etypes[i], mit_etypes[i]);
}

static lethe_status
dec_as_req(lethe_arena *a, const uint8_t *d, size_t n, void *o)
{
	return krb_decode_as_req(a, d, n, o);
}

static lethe_status
dec_tgs_req(lethe_arena *a, const uint8_t *d, size_t n, void *o)
{
	return krb_decode_tgs_req(a, d, n, o);
}

static lethe_status
dec_kdc_rep(lethe_arena *a, const uint8_t *d, size_t n, void *o)
{
	return krb_decode_kdc_rep(a, d, n, o);
}

static lethe_status
dec_krb_error(lethe_arena *a, const uint8_t *d, size_t n, void *o)
{
	return krb_decode_krb_error(a, d, n, o);
}

/* Clear every raw view so that the encoders work from the fields alone. */
static void
clear_raw_req(krb_kdc_req *req)
{
	req->body.raw = (lbytes){ NULL, 0 };
	for (size_t i = 0; i < req->body.n_additional_tickets; i++)
		((krb_ticket *)req->body.additional_tickets)[i].raw = (lbytes){ NULL, 0 };
}

static void
test_mit_as_req(void **state)
{
	size_t len;
	uint8_t *data = load_fixture("mit_as_req.bin", &len);
	lethe_arena a;
	krb_kdc_req req;
	der_writer w;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_as_req(&a, data, len, &req), LETHE_OK);
	assert_int_equal(req.msg_type, KRB_MSG_AS_REQ);
	assert_int_equal(req.padata.count, 2);
	assert_int_equal(req.padata.items[0].padata_type, KRB_PA_AS_FRESHNESS);
	assert_int_equal(req.padata.items[0].padata_value.len, 0);
	assert_int_equal(req.padata.items[1].padata_type, KRB_PA_REQ_ENC_PA_REP);
	assert_int_equal(req.padata.items[1].padata_value.len, 0);

	const krb_kdc_req_body *b = &req.body;
	assert_int_equal(b->kdc_options, KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE);
	assert_true(b->has_cname);
	assert_name(&b->cname, KRB_NT_PRINCIPAL, "user", NULL);
	assert_lbytes_str(b->realm, "TEST.REALM");
	assert_true(b->has_sname);
	assert_name(&b->sname, KRB_NT_SRV_INST, "krbtgt", "TEST.REALM");
	assert_false(b->has_from);
	assert_true(b->has_till);
	assert_int_equal(b->till, TILL_20261124144418);
	assert_true(b->has_rtime);
	assert_int_equal(b->rtime, RTIME_20261125144418);
	assert_int_equal(b->nonce, 1185886891u);
	assert_mit_etypes(b);
	assert_int_equal(b->addresses.count, 0);
	assert_false(b->has_enc_authorization_data);
	assert_int_equal(b->n_additional_tickets, 0);
	/* The body is the last field: its raw view ends with the message. */
	assert_int_equal(b->raw.data[0], 0x30);
	assert_ptr_equal(b->raw.data + b->raw.len, data + len);

	der_writer_init(&w, WRITER_MAX);
	clear_raw_req(&req);
	assert_int_equal(krb_encode_as_req(&w, &req), LETHE_OK);
	assert_written(&w, data, len);
	der_writer_free(&w);
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_as_req, data, len);
	free(data);
}

static void
test_mit_preauth_required(void **state)
{
	size_t len;
	uint8_t *data = load_fixture("mit_krb_error_preauth.bin", &len);
	lethe_arena a;
	krb_error e;
	krb_method_data md;
	krb_etype_info2 ei2;
	der_writer w;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_krb_error(&a, data, len, &e), LETHE_OK);
	assert_false(e.has_ctime);
	assert_false(e.has_cusec);
	assert_int_equal(e.stime, STIME_20261123144418);
	assert_int_equal(e.susec, 230008);
	assert_int_equal(e.error_code, KDC_ERR_PREAUTH_REQUIRED);
	assert_true(e.has_crealm);
	assert_lbytes_str(e.crealm, "TEST.REALM");
	assert_true(e.has_cname);
	assert_name(&e.cname, KRB_NT_PRINCIPAL, "user", NULL);
	assert_lbytes_str(e.realm, "TEST.REALM");
	assert_name(&e.sname, KRB_NT_SRV_INST, "krbtgt", "TEST.REALM");
	assert_true(e.has_e_text);
	assert_lbytes_str(e.e_text, "NEEDED_PREAUTH");
	assert_true(e.has_e_data);

	assert_int_equal(krb_decode_method_data(&a, e.e_data.data, e.e_data.len, &md), LETHE_OK);
	assert_int_equal(md.count, 4);
	assert_int_equal(md.items[0].padata_type, KRB_PA_FX_FAST);
	assert_int_equal(md.items[0].padata_value.len, 0);
	assert_int_equal(md.items[1].padata_type, KRB_PA_ETYPE_INFO2);
	assert_int_equal(md.items[2].padata_type, KRB_PA_ENC_TIMESTAMP);
	assert_int_equal(md.items[2].padata_value.len, 0);
	assert_int_equal(md.items[3].padata_type, KRB_PA_FX_COOKIE);
	assert_lbytes_str(md.items[3].padata_value, "MIT");

	const krb_pa_data *pa = krb_find_padata(&md, KRB_PA_ETYPE_INFO2);
	assert_ptr_equal(pa, &md.items[1]);
	assert_int_equal(krb_decode_etype_info2(&a, pa->padata_value.data, pa->padata_value.len,
						&ei2), LETHE_OK);
	assert_int_equal(ei2.count, 1);
	assert_int_equal(ei2.items[0].etype, 18);
	assert_true(ei2.items[0].has_salt);
	assert_lbytes_str(ei2.items[0].salt, "TEST.REALMuser");
	assert_false(ei2.items[0].has_s2kparams);

	/* Our encoders reproduce MIT's e-data and KRB-ERROR exactly. */
	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_etype_info2(&w, &ei2), LETHE_OK);
	assert_written(&w, pa->padata_value.data, pa->padata_value.len);
	der_writer_reset(&w);
	assert_int_equal(krb_encode_method_data(&w, &md), LETHE_OK);
	assert_written(&w, e.e_data.data, e.e_data.len);
	der_writer_reset(&w);
	assert_int_equal(krb_encode_krb_error(&w, &e), LETHE_OK);
	assert_written(&w, data, len);
	der_writer_free(&w);
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_krb_error, data, len);
	free(data);
}

static void
test_mit_as_req_enc_timestamp(void **state)
{
	size_t len;
	uint8_t *data = load_fixture("mit_as_req_enc_ts.bin", &len);
	lethe_arena a;
	krb_kdc_req req;
	krb_enc_data ts;
	der_writer w;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_kdc_req(&a, data, len, &req), LETHE_OK);
	assert_int_equal(req.msg_type, KRB_MSG_AS_REQ);
	assert_int_equal(req.padata.count, 4);
	assert_int_equal(req.padata.items[0].padata_type, KRB_PA_FX_COOKIE);
	assert_lbytes_str(req.padata.items[0].padata_value, "MIT");
	assert_int_equal(req.padata.items[1].padata_type, KRB_PA_ENC_TIMESTAMP);
	assert_int_equal(req.padata.items[2].padata_type, KRB_PA_AS_FRESHNESS);
	assert_int_equal(req.padata.items[3].padata_type, KRB_PA_REQ_ENC_PA_REP);
	const krb_pa_data *pa = krb_find_padata(&req.padata, KRB_PA_ENC_TIMESTAMP);
	assert_int_equal(krb_decode_enc_data(&a, pa->padata_value.data, pa->padata_value.len, &ts),
			 LETHE_OK);
	assert_int_equal(ts.etype, 18);
	assert_false(ts.has_kvno);
	assert_int_equal(ts.cipher.len, 56);
	assert_int_equal(ts.cipher.data[0], 0x0c);
	assert_int_equal(ts.cipher.data[1], 0x83);

	assert_int_equal(req.body.kdc_options, KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE);
	assert_name(&req.body.cname, KRB_NT_PRINCIPAL, "user", NULL);
	assert_int_equal(req.body.till, TILL_20261124144418);
	assert_int_equal(req.body.rtime, RTIME_20261125144418);
	assert_int_equal(req.body.nonce, 1244742341u);
	assert_mit_etypes(&req.body);

	der_writer_init(&w, WRITER_MAX);
	clear_raw_req(&req);
	assert_int_equal(krb_encode_kdc_req(&w, &req), LETHE_OK);
	assert_written(&w, data, len);
	der_writer_free(&w);
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_as_req, data, len);
	free(data);
}

static void
test_mit_as_rep(void **state)
{
	size_t len;
	uint8_t *data = load_fixture("mit_as_rep.bin", &len);
	lethe_arena a;
	krb_kdc_rep rep;
	krb_etype_info2 ei2;
	der_writer w;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_as_rep(&a, data, len, &rep), LETHE_OK);
	assert_int_equal(rep.msg_type, KRB_MSG_AS_REP);
	assert_int_equal(rep.padata.count, 1);
	assert_int_equal(rep.padata.items[0].padata_type, KRB_PA_ETYPE_INFO2);
	assert_int_equal(krb_decode_etype_info2(&a, rep.padata.items[0].padata_value.data,
						rep.padata.items[0].padata_value.len, &ei2),
			 LETHE_OK);
	assert_lbytes_str(ei2.items[0].salt, "TEST.REALMuser");
	assert_lbytes_str(rep.crealm, "TEST.REALM");
	assert_name(&rep.cname, KRB_NT_PRINCIPAL, "user", NULL);
	assert_lbytes_str(rep.ticket.realm, "TEST.REALM");
	assert_name(&rep.ticket.sname, KRB_NT_SRV_INST, "krbtgt", "TEST.REALM");
	assert_int_equal(rep.ticket.enc_part.etype, 18);
	assert_true(rep.ticket.enc_part.has_kvno);
	assert_int_equal(rep.ticket.enc_part.kvno, 1);
	assert_int_equal(rep.ticket.enc_part.cipher.data[0], 0xcc);
	assert_int_equal(rep.ticket.raw.data[0], 0x61);
	assert_int_equal(rep.enc_part.etype, 18);
	assert_false(rep.enc_part.has_kvno);
	assert_int_equal(rep.enc_part.cipher.data[0], 0xd8);

	der_writer_init(&w, WRITER_MAX);
	rep.ticket.raw = (lbytes){ NULL, 0 };
	assert_int_equal(krb_encode_as_rep(&w, &rep), LETHE_OK);
	assert_written(&w, data, len);
	der_writer_free(&w);
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_kdc_rep, data, len);
	free(data);
}

static void
test_mit_tgs_req(void **state)
{
	size_t len, rep_len;
	uint8_t *data = load_fixture("mit_tgs_req.bin", &len);
	uint8_t *as_rep = load_fixture("mit_as_rep.bin", &rep_len);
	lethe_arena a;
	krb_kdc_req req;
	krb_kdc_rep rep;
	krb_ap_req ap;
	der_writer w;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_tgs_req(&a, data, len, &req), LETHE_OK);
	assert_int_equal(req.msg_type, KRB_MSG_TGS_REQ);
	assert_int_equal(req.padata.count, 2);
	assert_int_equal(req.padata.items[0].padata_type, KRB_PA_TGS_REQ);
	assert_int_equal(req.padata.items[1].padata_type, KRB_PA_FX_FAST);

	const krb_kdc_req_body *b = &req.body;
	assert_int_equal(b->kdc_options, KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE |
					 KRB_KDC_OPT_CANONICALIZE);
	assert_false(b->has_cname);
	assert_lbytes_str(b->realm, "TEST.REALM");
	assert_name(&b->sname, KRB_NT_PRINCIPAL, "host", "srv.test.realm");
	assert_true(b->has_till);
	assert_int_equal(b->till, TILL_20261124144418);
	assert_false(b->has_rtime);
	assert_int_equal(b->nonce, 1571068827u);
	assert_mit_etypes(b);
	assert_ptr_equal(b->raw.data + b->raw.len, data + len);

	/* PA-TGS-REQ carries an AP-REQ whose ticket is the TGT of the AS-REP. */
	const krb_pa_data *pa = krb_find_padata(&req.padata, KRB_PA_TGS_REQ);
	assert_int_equal(krb_decode_ap_req(&a, pa->padata_value.data, pa->padata_value.len, &ap),
			 LETHE_OK);
	assert_int_equal(ap.ap_options, 0);
	assert_name(&ap.ticket.sname, KRB_NT_SRV_INST, "krbtgt", "TEST.REALM");
	assert_int_equal(ap.ticket.enc_part.kvno, 1);
	assert_int_equal(ap.authenticator.etype, 18);
	assert_false(ap.authenticator.has_kvno);
	assert_int_equal(krb_decode_as_rep(&a, as_rep, rep_len, &rep), LETHE_OK);
	assert_lbytes_equal(ap.ticket.raw, rep.ticket.raw);

	der_writer_init(&w, WRITER_MAX);
	ap.ticket.raw = (lbytes){ NULL, 0 };
	assert_int_equal(krb_encode_ap_req(&w, &ap), LETHE_OK);
	assert_written(&w, pa->padata_value.data, pa->padata_value.len);
	der_writer_reset(&w);
	clear_raw_req(&req);
	assert_int_equal(krb_encode_tgs_req(&w, &req), LETHE_OK);
	assert_written(&w, data, len);
	der_writer_free(&w);
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_tgs_req, data, len);
	free(as_rep);
	free(data);
}

static void
test_mit_tgs_rep(void **state)
{
	size_t len;
	uint8_t *data = load_fixture("mit_tgs_rep.bin", &len);
	lethe_arena a;
	krb_kdc_rep rep;
	der_writer w;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_kdc_rep(&a, data, len, &rep), LETHE_OK);
	assert_int_equal(rep.msg_type, KRB_MSG_TGS_REP);
	assert_int_equal(rep.padata.count, 1);
	assert_int_equal(rep.padata.items[0].padata_type, KRB_PA_FX_FAST);
	assert_lbytes_str(rep.crealm, "TEST.REALM");
	assert_name(&rep.cname, KRB_NT_PRINCIPAL, "user", NULL);
	assert_name(&rep.ticket.sname, KRB_NT_PRINCIPAL, "host", "srv.test.realm");
	assert_int_equal(rep.ticket.enc_part.kvno, 1);
	assert_int_equal(rep.ticket.enc_part.cipher.data[0], 0x0a);
	assert_int_equal(rep.enc_part.etype, 18);
	assert_int_equal(rep.enc_part.cipher.data[0], 0x2e);
	assert_int_equal(krb_decode_as_rep(&a, data, len, &rep), LETHE_ERR_DER_TAG);

	assert_int_equal(krb_decode_tgs_rep(&a, data, len, &rep), LETHE_OK);
	der_writer_init(&w, WRITER_MAX);
	rep.ticket.raw = (lbytes){ NULL, 0 };
	assert_int_equal(krb_encode_tgs_rep(&w, &rep), LETHE_OK);
	assert_written(&w, data, len);
	der_writer_free(&w);
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_kdc_rep, data, len);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mit_as_req),
		cmocka_unit_test(test_mit_preauth_required),
		cmocka_unit_test(test_mit_as_req_enc_timestamp),
		cmocka_unit_test(test_mit_as_rep),
		cmocka_unit_test(test_mit_tgs_req),
		cmocka_unit_test(test_mit_tgs_rep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
