/*
 * Kerberos messages: round trips for every message type, byte-exact
 * KDC-REQ-BODY and KRB-ERROR written out by hand, and negative cases
 * (truncation at every length, trailing bytes, wrong tags, order, missing
 * fields, caps, tolerances).
 */
#include "test_krb5_util.h"

static const lbytes user_comps[] = { LBYTES_LIT("user") };
static const lbytes tgs_comps[] = { LBYTES_LIT("krbtgt"), LBYTES_LIT("TEST.REALM") };
static const lbytes srv_comps[] = { LBYTES_LIT("host"), LBYTES_LIT("srv.test.realm") };
static const krb_principal_name user_name = { KRB_NT_PRINCIPAL, user_comps, 1 };
static const krb_principal_name tgs_name = { KRB_NT_SRV_INST, tgs_comps, 2 };
static const krb_principal_name srv_name = { KRB_NT_SRV_HST, srv_comps, 2 };

static const int32_t two_etypes[] = { 18, 17 };
static const krb_host_address two_addrs[] = {
	{ KRB_ADDR_IPV4, LBYTES_LIT("\x7f\x00\x00\x01") },
	{ KRB_ADDR_NETBIOS, LBYTES_LIT("HOST            ") },
};
static const krb_pa_data two_padata[] = {
	{ KRB_PA_ENC_TIMESTAMP, LBYTES_LIT("\x30\x03\x02\x01\x00") },
	{ KRB_PA_PAC_REQUEST, LBYTES_LIT("\x30\x05\xa0\x03\x01\x01\xff") },
};
static const krb_ad_entry one_ad[] = { { KRB_AD_IF_RELEVANT, LBYTES_LIT("\x30\x00") } };
static const krb_last_req_entry one_lr[] = { { KRB_LR_NONE, 0 } };

/* ------------------------------------------------------------ comparisons */

static void
assert_principal_equal(const krb_principal_name *got, const krb_principal_name *want)
{
	assert_int_equal(got->name_type, want->name_type);
	assert_int_equal(got->n_components, want->n_components);
	for (size_t i = 0; i < want->n_components; i++)
		assert_lbytes_equal(got->components[i], want->components[i]);
}

static void
assert_enc_data_equal(const krb_enc_data *got, const krb_enc_data *want)
{
	assert_int_equal(got->etype, want->etype);
	assert_int_equal(got->has_kvno, want->has_kvno);
	if (want->has_kvno)
		assert_int_equal(got->kvno, want->kvno);
	assert_lbytes_equal(got->cipher, want->cipher);
}

static void
assert_key_equal(const krb_encryption_key *got, const krb_encryption_key *want)
{
	assert_int_equal(got->keytype, want->keytype);
	assert_lbytes_equal(got->keyvalue, want->keyvalue);
}

static void
assert_ticket_equal(const krb_ticket *got, const krb_ticket *want)
{
	assert_lbytes_equal(got->realm, want->realm);
	assert_principal_equal(&got->sname, &want->sname);
	assert_enc_data_equal(&got->enc_part, &want->enc_part);
}

static void
assert_method_data_equal(const krb_method_data *got, const krb_method_data *want)
{
	assert_int_equal(got->count, want->count);
	for (size_t i = 0; i < want->count; i++) {
		assert_int_equal(got->items[i].padata_type, want->items[i].padata_type);
		assert_lbytes_equal(got->items[i].padata_value, want->items[i].padata_value);
	}
}

static void
assert_addresses_equal(const krb_host_addresses *got, const krb_host_addresses *want)
{
	assert_int_equal(got->count, want->count);
	for (size_t i = 0; i < want->count; i++) {
		assert_int_equal(got->addrs[i].addr_type, want->addrs[i].addr_type);
		assert_lbytes_equal(got->addrs[i].address, want->addrs[i].address);
	}
}

/* ---------------------------------------------------------------- samples */

static krb_ticket
sample_ticket(const char *cipher)
{
	krb_ticket t = { 0 };

	t.realm = LB("TEST.REALM");
	t.sname = srv_name;
	t.enc_part = (krb_enc_data){ 18, true, 3, lbytes_make(cipher, strlen(cipher)) };
	return t;
}

static krb_kdc_req_body
sample_full_body(const krb_ticket *tickets, size_t n_tickets)
{
	krb_kdc_req_body b = { 0 };

	b.kdc_options = KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_CANONICALIZE |
			KRB_KDC_OPT_ENC_TKT_IN_SKEY;
	b.has_cname = true;
	b.cname = user_name;
	b.realm = LB("TEST.REALM");
	b.has_sname = true;
	b.sname = srv_name;
	b.has_from = true;
	b.from = 1700000000;
	b.has_till = true;
	b.till = 1700086400;
	b.has_rtime = true;
	b.rtime = 1700604800;
	b.nonce = 0xfffffffeu;                 /* encoded as -2, as MIT does */
	b.etypes = two_etypes;
	b.n_etypes = 2;
	b.addresses = (krb_host_addresses){ two_addrs, 2 };
	b.has_enc_authorization_data = true;
	b.enc_authorization_data = (krb_enc_data){ 17, false, 0, LB("AUTHZ") };
	b.additional_tickets = tickets;
	b.n_additional_tickets = n_tickets;
	return b;
}

static void
assert_body_equal(const krb_kdc_req_body *got, const krb_kdc_req_body *want)
{
	assert_int_equal(got->kdc_options, want->kdc_options);
	assert_int_equal(got->has_cname, want->has_cname);
	if (want->has_cname)
		assert_principal_equal(&got->cname, &want->cname);
	assert_lbytes_equal(got->realm, want->realm);
	assert_int_equal(got->has_sname, want->has_sname);
	if (want->has_sname)
		assert_principal_equal(&got->sname, &want->sname);
	assert_int_equal(got->has_from, want->has_from);
	assert_int_equal(got->from, want->from);
	assert_int_equal(got->has_till, want->has_till);
	assert_int_equal(got->till, want->till);
	assert_int_equal(got->has_rtime, want->has_rtime);
	assert_int_equal(got->rtime, want->rtime);
	assert_int_equal(got->nonce, want->nonce);
	assert_int_equal(got->n_etypes, want->n_etypes);
	for (size_t i = 0; i < want->n_etypes; i++)
		assert_int_equal(got->etypes[i], want->etypes[i]);
	assert_addresses_equal(&got->addresses, &want->addresses);
	assert_int_equal(got->has_enc_authorization_data, want->has_enc_authorization_data);
	if (want->has_enc_authorization_data)
		assert_enc_data_equal(&got->enc_authorization_data, &want->enc_authorization_data);
	assert_int_equal(got->n_additional_tickets, want->n_additional_tickets);
	for (size_t i = 0; i < want->n_additional_tickets; i++)
		assert_ticket_equal(&got->additional_tickets[i], &want->additional_tickets[i]);
}

/* -------------------------------------------------- decoder adapters */

#define ADAPT(name)                                                           \
	static lethe_status dec_##name(lethe_arena *a, const uint8_t *d, size_t n, void *o) \
	{                                                                     \
		return krb_decode_##name(a, d, n, o);                         \
	}
ADAPT(ticket)
ADAPT(enc_ticket_part)
ADAPT(kdc_req_body)
ADAPT(as_req)
ADAPT(tgs_req)
ADAPT(kdc_req)
ADAPT(as_rep)
ADAPT(tgs_rep)
ADAPT(enc_kdc_rep_part)
ADAPT(ap_req)
ADAPT(authenticator)
ADAPT(ap_rep)
ADAPT(enc_ap_rep_part)
ADAPT(krb_error)
ADAPT(krb_safe)
ADAPT(krb_priv)
ADAPT(enc_krb_priv_part)
ADAPT(method_data)
ADAPT(etype_info2)
ADAPT(authdata)
ADAPT(last_req)
ADAPT(host_addresses)
ADAPT(typed_data)
ADAPT(pa_enc_ts_enc)
ADAPT(pa_pac_request)
#undef ADAPT

static void
check_negative(any_decoder dec, const der_writer *w)
{
	lbytes enc = der_written(w);

	check_truncations_and_trailing(dec, enc.data, enc.len);
	check_mutations(dec, enc.data, enc.len);
}

/* Offset of the first occurrence of needle in hay; fails the test if absent. */
static size_t
find_bytes(const uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; i + n <= hay_len; i++) {
		if (memcmp(hay + i, needle, n) == 0)
			return i;
	}
	fail_msg("pattern not found");
	return 0;
}

static const uint8_t pvno_field[] = { 0xa0, 0x03, 0x02, 0x01, 0x05 };
static const uint8_t req_pvno_field[] = { 0xa1, 0x03, 0x02, 0x01, 0x05 };

/* Copy of the writer's content (the writer's view moves on reuse). */
static uint8_t *
take_copy(const der_writer *w, size_t *len)
{
	lbytes v = der_written(w);

	assert_int_equal(der_writer_status(w), LETHE_OK);
	*len = v.len;
	return exact_copy(v.data, v.len);
}

/* --------------------------------------------------------- KDC-REQ-BODY KAT */

static const uint8_t body_der[] = {
	0x30, 0x70,
	/* [0] kdc-options forwardable, renewable, renewable-ok */
	0xa0, 0x07, 0x03, 0x05, 0x00, 0x40, 0x80, 0x00, 0x10,
	/* [1] cname */
	0xa1, 0x11, 0x30, 0x0f, 0xa0, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x08, 0x30, 0x06,
	0x1b, 0x04, 'u', 's', 'e', 'r',
	/* [2] realm */
	0xa2, 0x0c, 0x1b, 0x0a, 'T', 'E', 'S', 'T', '.', 'R', 'E', 'A', 'L', 'M',
	/* [3] sname */
	0xa3, 0x1f, 0x30, 0x1d, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x16, 0x30, 0x14,
	0x1b, 0x06, 'k', 'r', 'b', 't', 'g', 't',
	0x1b, 0x0a, 'T', 'E', 'S', 'T', '.', 'R', 'E', 'A', 'L', 'M',
	/* [5] till */
	0xa5, 0x11, 0x18, 0x0f, '2', '0', '2', '3', '1', '1', '1', '4', '2', '2', '1', '3',
	'2', '0', 'Z',
	/* [7] nonce */
	0xa7, 0x06, 0x02, 0x04, 0x12, 0x34, 0x56, 0x78,
	/* [8] etype */
	0xa8, 0x08, 0x30, 0x06, 0x02, 0x01, 0x12, 0x02, 0x01, 0x11,
};

/* Offsets and lengths of the fields of body_der, after the 2-byte header. */
enum { F0 = 2, L0 = 9, F1 = F0 + L0, L1 = 19, F2 = F1 + L1, L2 = 14, F3 = F2 + L2, L3 = 33,
       F5 = F3 + L3, L5 = 19, F7 = F5 + L5, L7 = 8, F8 = F7 + L7, L8 = 10 };

/* body_der with the given field segments in the given order and a fresh header. */
static size_t
splice_body(uint8_t *out, const size_t *offs, const size_t *lens, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy(out + 2 + len, body_der + offs[i], lens[i]);
		len += lens[i];
	}
	assert_true(len < 128);
	out[0] = 0x30;
	out[1] = (uint8_t)len;
	return len + 2;
}

static void
test_kdc_req_body_known_answer(void **state)
{
	der_writer w;
	lethe_arena a;
	krb_kdc_req_body b = { 0 }, got;
	(void)state;

	b.kdc_options = KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE | KRB_KDC_OPT_RENEWABLE_OK;
	b.has_cname = true;
	b.cname = user_name;
	b.realm = LB("TEST.REALM");
	b.has_sname = true;
	b.sname = tgs_name;
	b.has_till = true;
	b.till = 1700000000;
	b.nonce = 0x12345678;
	b.etypes = two_etypes;
	b.n_etypes = 2;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_kdc_req_body(&w, &b), LETHE_OK);
	assert_written(&w, body_der, sizeof(body_der));
	der_writer_free(&w);

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_kdc_req_body(&a, body_der, sizeof(body_der), &got), LETHE_OK);
	assert_body_equal(&got, &b);
	assert_ptr_equal(got.raw.data, body_der);
	assert_int_equal(got.raw.len, sizeof(body_der));
	lethe_arena_free(&a);
	check_truncations_and_trailing(dec_kdc_req_body, body_der, sizeof(body_der));
	check_mutations(dec_kdc_req_body, body_der, sizeof(body_der));
}

static void
test_kdc_req_body_order_and_tolerance(void **state)
{
	uint8_t buf[160];
	size_t n;
	lethe_arena a;
	krb_kdc_req_body got;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	/* realm [2] before cname [1] */
	n = splice_body(buf, (size_t[]){ F0, F2, F1, F3, F5, F7, F8 },
			(size_t[]){ L0, L2, L1, L3, L5, L7, L8 }, 7);
	assert_int_equal(krb_decode_kdc_req_body(&a, buf, n, &got), LETHE_ERR_DER_TAG);
	/* nonce [7] missing */
	n = splice_body(buf, (size_t[]){ F0, F1, F2, F3, F5, F8 },
			(size_t[]){ L0, L1, L2, L3, L5, L8 }, 6);
	assert_int_equal(krb_decode_kdc_req_body(&a, buf, n, &got), LETHE_ERR_DER_TAG);
	/* realm [2] missing */
	n = splice_body(buf, (size_t[]){ F0, F1, F3, F5, F7, F8 },
			(size_t[]){ L0, L1, L3, L5, L7, L8 }, 6);
	assert_int_equal(krb_decode_kdc_req_body(&a, buf, n, &got), LETHE_ERR_DER_TAG);
	/* etype [8] missing */
	n = splice_body(buf, (size_t[]){ F0, F1, F2, F3, F5, F7 },
			(size_t[]){ L0, L1, L2, L3, L5, L7 }, 6);
	assert_int_equal(krb_decode_kdc_req_body(&a, buf, n, &got), LETHE_ERR_DER_TRUNCATED);
	/* a field twice */
	n = splice_body(buf, (size_t[]){ F0, F1, F2, F3, F5, F7, F8, F8 },
			(size_t[]){ L0, L1, L2, L3, L5, L7, L8, L8 }, 8);
	assert_int_equal(krb_decode_kdc_req_body(&a, buf, n, &got), LETHE_ERR_DER_TRAILING);
	/* till [5] absent: tolerated (optional in Heimdal's module) */
	n = splice_body(buf, (size_t[]){ F0, F1, F2, F3, F7, F8 },
			(size_t[]){ L0, L1, L2, L3, L7, L8 }, 6);
	assert_int_equal(krb_decode_kdc_req_body(&a, buf, n, &got), LETHE_OK);
	assert_false(got.has_till);
	assert_int_equal(got.nonce, 0x12345678);
	assert_true(got.has_cname && got.has_sname);
	assert_false(got.has_from || got.has_rtime || got.has_enc_authorization_data);
	assert_int_equal(got.addresses.count, 0);
	assert_int_equal(got.n_additional_tickets, 0);

	/* KerberosFlags of 8 and of 40 bits */
	static const uint8_t opt8[] = { 0xa0, 0x04, 0x03, 0x02, 0x00, 0x40 };
	static const uint8_t opt40[] = { 0xa0, 0x08, 0x03, 0x06, 0x00, 0x40, 0x80, 0x00, 0x10, 0xff };
	uint8_t *ext = malloc(256);
	assert_non_null(ext);
	memcpy(ext, body_der, sizeof(body_der));
	memcpy(buf, opt8, sizeof(opt8));
	memcpy(buf + sizeof(opt8), body_der + F1, sizeof(body_der) - F1);
	memcpy(ext + 2, buf, sizeof(opt8) + sizeof(body_der) - F1);
	ext[1] = (uint8_t)(sizeof(opt8) + sizeof(body_der) - F1);
	assert_int_equal(krb_decode_kdc_req_body(&a, ext, ext[1] + 2u, &got), LETHE_OK);
	assert_int_equal(got.kdc_options, KRB_KDC_OPT_FORWARDABLE);
	memcpy(ext + 2, opt40, sizeof(opt40));
	memcpy(ext + 2 + sizeof(opt40), body_der + F1, sizeof(body_der) - F1);
	ext[1] = (uint8_t)(sizeof(opt40) + sizeof(body_der) - F1);
	assert_int_equal(krb_decode_kdc_req_body(&a, ext, ext[1] + 2u, &got), LETHE_OK);
	assert_int_equal(got.kdc_options, 0x40800010u);

	/* A negative nonce is accepted and stored as uint32. */
	static const uint8_t neg_nonce[] = { 0xa7, 0x03, 0x02, 0x01, 0xff };
	memcpy(ext, body_der, F7);
	memcpy(ext + F7, neg_nonce, sizeof(neg_nonce));
	memcpy(ext + F7 + sizeof(neg_nonce), body_der + F8, L8);
	ext[1] = (uint8_t)(F7 - 2 + sizeof(neg_nonce) + L8);
	assert_int_equal(krb_decode_kdc_req_body(&a, ext, ext[1] + 2u, &got), LETHE_OK);
	assert_int_equal(got.nonce, 0xffffffffu);
	/* A nonce of 2^32 is not. */
	static const uint8_t big_nonce[] = { 0xa7, 0x07, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00 };
	memcpy(ext + F7, big_nonce, sizeof(big_nonce));
	memcpy(ext + F7 + sizeof(big_nonce), body_der + F8, L8);
	ext[1] = (uint8_t)(F7 - 2 + sizeof(big_nonce) + L8);
	assert_int_equal(krb_decode_kdc_req_body(&a, ext, ext[1] + 2u, &got), LETHE_ERR_DER_VALUE);
	free(ext);
	lethe_arena_free(&a);
}

static void
test_kdc_req_body_caps(void **state)
{
	int32_t etypes[KRB_MAX_ETYPES + 1];
	krb_ticket tickets[KRB_MAX_TICKETS + 1];
	der_writer w;
	lethe_arena a;
	krb_kdc_req_body b, got;
	(void)state;

	for (size_t i = 0; i < KRB_MAX_ETYPES + 1; i++)
		etypes[i] = (int32_t)i;
	for (size_t i = 0; i < KRB_MAX_TICKETS + 1; i++)
		tickets[i] = sample_ticket("C");
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	b = sample_full_body(tickets, KRB_MAX_TICKETS);
	b.etypes = etypes;
	b.n_etypes = KRB_MAX_ETYPES;
	krb_encode_kdc_req_body(&w, &b);
	assert_int_equal(krb_decode_kdc_req_body(&a, der_written(&w).data, der_written(&w).len,
						 &got), LETHE_OK);
	assert_int_equal(got.n_etypes, KRB_MAX_ETYPES);
	assert_int_equal(got.n_additional_tickets, KRB_MAX_TICKETS);

	b.n_etypes = KRB_MAX_ETYPES + 1;
	der_writer_reset(&w);
	krb_encode_kdc_req_body(&w, &b);
	assert_int_equal(krb_decode_kdc_req_body(&a, der_written(&w).data, der_written(&w).len,
						 &got), LETHE_ERR_TOO_BIG);

	b.n_etypes = 2;
	b.n_additional_tickets = KRB_MAX_TICKETS + 1;
	der_writer_reset(&w);
	krb_encode_kdc_req_body(&w, &b);
	assert_int_equal(krb_decode_kdc_req_body(&a, der_written(&w).data, der_written(&w).len,
						 &got), LETHE_ERR_TOO_BIG);

	/* The arena budget bounds what a request may allocate. */
	lethe_arena tiny;
	lethe_arena_init(&tiny, 256);
	b.n_additional_tickets = KRB_MAX_TICKETS;
	der_writer_reset(&w);
	krb_encode_kdc_req_body(&w, &b);
	assert_int_equal(krb_decode_kdc_req_body(&tiny, der_written(&w).data, der_written(&w).len,
						 &got), LETHE_ERR_NOMEM);
	lethe_arena_free(&tiny);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* ------------------------------------------------------------- KDC-REQ */

static void
test_kdc_req_round_trip(void **state)
{
	krb_ticket tickets[2] = { sample_ticket("FIRST"), sample_ticket("SECOND") };
	krb_kdc_req req = { 0 }, got;
	der_writer w;
	lethe_arena a;
	uint8_t *enc;
	size_t len;
	(void)state;

	req.padata = (krb_method_data){ two_padata, 2 };
	req.body = sample_full_body(tickets, 2);
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	for (int tgs = 0; tgs < 2; tgs++) {
		der_writer_reset(&w);
		if (tgs)
			assert_int_equal(krb_encode_tgs_req(&w, &req), LETHE_OK);
		else
			assert_int_equal(krb_encode_as_req(&w, &req), LETHE_OK);
		enc = take_copy(&w, &len);
		assert_int_equal(enc[0], tgs ? 0x6c : 0x6a);
		if (tgs)
			assert_int_equal(krb_decode_tgs_req(&a, enc, len, &got), LETHE_OK);
		else
			assert_int_equal(krb_decode_as_req(&a, enc, len, &got), LETHE_OK);
		assert_int_equal(got.msg_type, tgs ? KRB_MSG_TGS_REQ : KRB_MSG_AS_REQ);
		assert_method_data_equal(&got.padata, &req.padata);
		assert_body_equal(&got.body, &req.body);
		/* raw views of the body and of each ticket, inside the input */
		assert_true(got.body.raw.data > enc && got.body.raw.data + got.body.raw.len == enc + len);
		assert_int_equal(got.body.raw.data[0], 0x30);
		der_writer_reset(&w);
		krb_encode_ticket(&w, &tickets[1]);
		assert_lbytes_equal(got.body.additional_tickets[1].raw, der_written(&w));

		/* The wrong decoder refuses; the generic one picks the right type. */
		if (tgs)
			assert_int_equal(krb_decode_as_req(&a, enc, len, &got), LETHE_ERR_DER_TAG);
		else
			assert_int_equal(krb_decode_tgs_req(&a, enc, len, &got), LETHE_ERR_DER_TAG);
		assert_int_equal(krb_decode_kdc_req(&a, enc, len, &got), LETHE_OK);
		assert_int_equal(got.msg_type, tgs ? KRB_MSG_TGS_REQ : KRB_MSG_AS_REQ);

		/* Re-encode: from raw views, then from the fields alone. */
		der_writer_reset(&w);
		krb_encode_kdc_req(&w, &got);
		assert_written(&w, enc, len);
		got.body.raw = (lbytes){ NULL, 0 };
		for (size_t i = 0; i < got.body.n_additional_tickets; i++)
			((krb_ticket *)got.body.additional_tickets)[i].raw = (lbytes){ NULL, 0 };
		der_writer_reset(&w);
		krb_encode_kdc_req(&w, &got);
		assert_written(&w, enc, len);

		check_negative(tgs ? dec_tgs_req : dec_as_req, &w);
		check_truncations_and_trailing(dec_kdc_req, enc, len);

		/* Tag of a TGS-REQ on an AS-REQ body: msg-type disagrees. */
		enc[0] = tgs ? 0x6a : 0x6c;
		assert_int_equal(krb_decode_kdc_req(&a, enc, len, &got), LETHE_ERR_DER_VALUE);
		/* Any other application tag. */
		enc[0] = 0x6b;
		assert_int_equal(krb_decode_kdc_req(&a, enc, len, &got), LETHE_ERR_DER_TAG);
		free(enc);
		lethe_arena_reset(&a);
	}
	/* pvno 4 */
	der_writer_reset(&w);
	krb_encode_as_req(&w, &req);
	enc = take_copy(&w, &len);
	enc[find_bytes(enc, len, req_pvno_field, sizeof(req_pvno_field)) + 4] = 0x04;
	assert_int_equal(krb_decode_as_req(&a, enc, len, &got), LETHE_ERR_DER_VALUE);
	free(enc);
	/* msg_type must name a request for the generic encoder. */
	req.msg_type = KRB_MSG_AS_REP;
	der_writer_reset(&w);
	assert_int_equal(krb_encode_kdc_req(&w, &req), LETHE_ERR_INVALID_ARG);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* ------------------------------------------------------------- KDC-REP */

static void
test_kdc_rep_round_trip(void **state)
{
	krb_kdc_rep rep = { 0 }, got;
	der_writer w;
	lethe_arena a;
	uint8_t *enc;
	size_t len;
	(void)state;

	rep.padata = (krb_method_data){ two_padata, 1 };
	rep.crealm = LB("TEST.REALM");
	rep.cname = user_name;
	rep.ticket = sample_ticket("TICKET-CIPHER");
	rep.enc_part = (krb_enc_data){ 18, false, 0, LB("REPLY-CIPHER") };
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	for (int tgs = 0; tgs < 2; tgs++) {
		der_writer_reset(&w);
		rep.msg_type = tgs ? KRB_MSG_TGS_REP : KRB_MSG_AS_REP;
		assert_int_equal(tgs ? krb_encode_tgs_rep(&w, &rep) : krb_encode_as_rep(&w, &rep),
				 LETHE_OK);
		enc = take_copy(&w, &len);
		assert_int_equal(enc[0], tgs ? 0x6d : 0x6b);
		assert_int_equal(tgs ? krb_decode_tgs_rep(&a, enc, len, &got)
				     : krb_decode_as_rep(&a, enc, len, &got), LETHE_OK);
		assert_int_equal(got.msg_type, rep.msg_type);
		assert_method_data_equal(&got.padata, &rep.padata);
		assert_lbytes_equal(got.crealm, rep.crealm);
		assert_principal_equal(&got.cname, &rep.cname);
		assert_ticket_equal(&got.ticket, &rep.ticket);
		assert_enc_data_equal(&got.enc_part, &rep.enc_part);
		assert_int_equal(krb_decode_kdc_rep(&a, enc, len, &got), LETHE_OK);
		assert_int_equal(got.msg_type, rep.msg_type);
		got.ticket.raw = (lbytes){ NULL, 0 };
		der_writer_reset(&w);
		krb_encode_kdc_rep(&w, &got);
		assert_written(&w, enc, len);
		check_negative(tgs ? dec_tgs_rep : dec_as_rep, &w);
		assert_int_equal(tgs ? krb_decode_as_rep(&a, enc, len, &got)
				     : krb_decode_tgs_rep(&a, enc, len, &got), LETHE_ERR_DER_TAG);
		free(enc);
		lethe_arena_reset(&a);
	}
	/* no padata */
	rep.padata.count = 0;
	der_writer_reset(&w);
	krb_encode_as_rep(&w, &rep);
	assert_int_equal(krb_decode_as_rep(&a, der_written(&w).data, der_written(&w).len, &got),
			 LETHE_OK);
	assert_int_equal(got.padata.count, 0);
	rep.msg_type = KRB_MSG_ERROR;
	assert_int_equal(krb_encode_kdc_rep(&w, &rep), LETHE_ERR_INVALID_ARG);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* ------------------------------------------------------- EncKDCRepPart */

static krb_enc_kdc_rep_part
sample_rep_part(void)
{
	krb_enc_kdc_rep_part p = { 0 };

	p.key = (krb_encryption_key){ 18, LB("0123456789abcdef0123456789abcdef") };
	p.last_req = (krb_last_req){ one_lr, 1 };
	p.nonce = 0x80000001u;                 /* encoded negative, as MIT does */
	p.has_key_expiration = true;
	p.key_expiration = 1800000000;
	p.flags = KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_ENC_PA_REP;
	p.authtime = 1700000000;
	p.has_starttime = true;
	p.starttime = 1700000001;
	p.endtime = 1700086400;
	p.has_renew_till = true;
	p.renew_till = 1700604800;
	p.srealm = LB("TEST.REALM");
	p.sname = tgs_name;
	p.caddr = (krb_host_addresses){ two_addrs, 1 };
	p.encrypted_pa_data = (krb_method_data){ two_padata, 2 };
	return p;
}

static void
test_enc_kdc_rep_part(void **state)
{
	krb_enc_kdc_rep_part p = sample_rep_part(), got;
	der_writer w;
	lethe_arena a;
	uint8_t *enc;
	size_t len;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	for (int tag = 25; tag <= 26; tag++) {
		der_writer_reset(&w);
		assert_int_equal(tag == 25 ? krb_encode_enc_as_rep_part(&w, &p)
					   : krb_encode_enc_tgs_rep_part(&w, &p), LETHE_OK);
		enc = take_copy(&w, &len);
		assert_int_equal(enc[0], 0x60 | tag);
		assert_int_equal(krb_decode_enc_kdc_rep_part(&a, enc, len, &got), LETHE_OK);
		assert_int_equal(got.app_tag, tag);
		assert_key_equal(&got.key, &p.key);
		assert_int_equal(got.last_req.count, 1);
		assert_int_equal(got.last_req.items[0].lr_type, 0);
		assert_int_equal(got.nonce, p.nonce);
		assert_true(got.has_key_expiration);
		assert_int_equal(got.key_expiration, p.key_expiration);
		assert_int_equal(got.flags, p.flags);
		assert_int_equal(got.authtime, p.authtime);
		assert_true(got.has_starttime);
		assert_int_equal(got.starttime, p.starttime);
		assert_int_equal(got.endtime, p.endtime);
		assert_true(got.has_renew_till);
		assert_int_equal(got.renew_till, p.renew_till);
		assert_lbytes_equal(got.srealm, p.srealm);
		assert_principal_equal(&got.sname, &p.sname);
		assert_addresses_equal(&got.caddr, &p.caddr);
		assert_method_data_equal(&got.encrypted_pa_data, &p.encrypted_pa_data);
		der_writer_reset(&w);
		krb_encode_enc_kdc_rep_part(&w, &got);
		assert_written(&w, enc, len);
		check_negative(dec_enc_kdc_rep_part, &w);
		enc[0] = 0x7b;    /* [APPLICATION 27] */
		assert_int_equal(krb_decode_enc_kdc_rep_part(&a, enc, len, &got), LETHE_ERR_DER_TAG);
		free(enc);
	}
	/* The nonce goes out as MIT's signed 32-bit INTEGER: a2 06 02 04 80 00 00 01. */
	static const uint8_t nonce_field[] = { 0xa2, 0x06, 0x02, 0x04, 0x80, 0x00, 0x00, 0x01 };
	der_writer_reset(&w);
	krb_encode_enc_as_rep_part(&w, &p);
	lbytes v = der_written(&w);
	(void)find_bytes(v.data, v.len, nonce_field, sizeof(nonce_field));

	/* minimal: no optional fields */
	p = (krb_enc_kdc_rep_part){ 0 };
	p.key = (krb_encryption_key){ 17, LB("0123456789abcdef") };
	p.last_req = (krb_last_req){ one_lr, 1 };
	p.nonce = 7;
	p.srealm = LB("R");
	p.sname = tgs_name;
	der_writer_reset(&w);
	krb_encode_enc_tgs_rep_part(&w, &p);
	assert_int_equal(krb_decode_enc_kdc_rep_part(&a, der_written(&w).data, der_written(&w).len,
						     &got), LETHE_OK);
	assert_false(got.has_key_expiration || got.has_starttime || got.has_renew_till);
	assert_int_equal(got.caddr.count, 0);
	assert_int_equal(got.encrypted_pa_data.count, 0);
	p.app_tag = 24;
	assert_int_equal(krb_encode_enc_kdc_rep_part(&w, &p), LETHE_ERR_INVALID_ARG);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* -------------------------------------------------- Ticket, EncTicketPart */

static void
test_ticket_and_enc_ticket_part(void **state)
{
	krb_ticket t = sample_ticket("CIPHER"), tgot;
	krb_enc_ticket_part p = { 0 }, got;
	der_writer w;
	lethe_arena a;
	uint8_t *enc;
	size_t len;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	krb_encode_ticket(&w, &t);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x61);
	assert_int_equal(krb_decode_ticket(&a, enc, len, &tgot), LETHE_OK);
	assert_ticket_equal(&tgot, &t);
	assert_ptr_equal(tgot.raw.data, enc);
	assert_int_equal(tgot.raw.len, len);
	check_negative(dec_ticket, &w);
	/* tkt-vno 4 */
	enc[find_bytes(enc, len, pvno_field, sizeof(pvno_field)) + 4] = 0x04;
	assert_int_equal(krb_decode_ticket(&a, enc, len, &tgot), LETHE_ERR_DER_VALUE);
	free(enc);

	p.flags = KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_RENEWABLE | KRB_TKT_FLG_INITIAL;
	p.key = (krb_encryption_key){ 18, LB("0123456789abcdef0123456789abcdef") };
	p.crealm = LB("TEST.REALM");
	p.cname = user_name;
	p.transited = (krb_transited){ KRB_TR_DOMAIN_X500_COMPRESS, LB("") };
	p.authtime = 1700000000;
	p.has_starttime = true;
	p.starttime = 1700000000;
	p.endtime = 1700086400;
	p.has_renew_till = true;
	p.renew_till = 1700604800;
	p.caddr = (krb_host_addresses){ two_addrs, 2 };
	p.authorization_data = (krb_authdata){ one_ad, 1 };
	der_writer_reset(&w);
	krb_encode_enc_ticket_part(&w, &p);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x63);
	assert_int_equal(krb_decode_enc_ticket_part(&a, enc, len, &got), LETHE_OK);
	assert_int_equal(got.flags, p.flags);
	assert_key_equal(&got.key, &p.key);
	assert_lbytes_equal(got.crealm, p.crealm);
	assert_principal_equal(&got.cname, &p.cname);
	assert_int_equal(got.transited.tr_type, 1);
	assert_int_equal(got.authtime, p.authtime);
	assert_true(got.has_starttime && got.has_renew_till);
	assert_int_equal(got.endtime, p.endtime);
	assert_int_equal(got.renew_till, p.renew_till);
	assert_addresses_equal(&got.caddr, &p.caddr);
	assert_int_equal(got.authorization_data.count, 1);
	assert_lbytes_equal(got.authorization_data.items[0].ad_data, one_ad[0].ad_data);
	der_writer_reset(&w);
	krb_encode_enc_ticket_part(&w, &got);
	assert_written(&w, enc, len);
	check_negative(dec_enc_ticket_part, &w);
	free(enc);

	/* Without the optional fields. */
	p.has_starttime = p.has_renew_till = false;
	p.caddr.count = 0;
	p.authorization_data.count = 0;
	der_writer_reset(&w);
	krb_encode_enc_ticket_part(&w, &p);
	assert_int_equal(krb_decode_enc_ticket_part(&a, der_written(&w).data, der_written(&w).len,
						    &got), LETHE_OK);
	assert_false(got.has_starttime || got.has_renew_till);
	assert_int_equal(got.caddr.count + got.authorization_data.count, 0);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* -------------------------------------------------------------- AP exchange */

static void
test_ap_messages(void **state)
{
	krb_ap_req req = { 0 }, rgot;
	krb_authenticator au = { 0 }, agot;
	krb_ap_rep rep = { 0 }, pgot;
	krb_enc_ap_rep_part part = { 0 }, egot;
	der_writer w;
	lethe_arena a;
	uint8_t *enc;
	size_t len;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	req.ap_options = KRB_AP_OPT_MUTUAL_REQUIRED;
	req.ticket = sample_ticket("TKT");
	req.authenticator = (krb_enc_data){ 18, true, 0, LB("AUTH") };
	krb_encode_ap_req(&w, &req);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x6e);
	assert_int_equal(krb_decode_ap_req(&a, enc, len, &rgot), LETHE_OK);
	assert_int_equal(rgot.ap_options, KRB_AP_OPT_MUTUAL_REQUIRED);
	assert_ticket_equal(&rgot.ticket, &req.ticket);
	assert_enc_data_equal(&rgot.authenticator, &req.authenticator);
	der_writer_reset(&w);
	krb_encode_ticket(&w, &req.ticket);
	assert_lbytes_equal(rgot.ticket.raw, der_written(&w));
	der_writer_reset(&w);
	krb_encode_ap_req(&w, &rgot);
	assert_written(&w, enc, len);
	check_negative(dec_ap_req, &w);
	enc[0] = 0x6f;
	assert_int_equal(krb_decode_ap_req(&a, enc, len, &rgot), LETHE_ERR_DER_TAG);
	free(enc);

	au.crealm = LB("TEST.REALM");
	au.cname = user_name;
	au.has_cksum = true;
	au.cksum = (krb_checksum){ 16, LB("123456789012") };
	au.cusec = 123456;
	au.ctime = 1700000000;
	au.has_subkey = true;
	au.subkey = (krb_encryption_key){ 17, LB("0123456789abcdef") };
	au.has_seq_number = true;
	au.seq_number = 0xdeadbeefu;
	au.authorization_data = (krb_authdata){ one_ad, 1 };
	der_writer_reset(&w);
	krb_encode_authenticator(&w, &au);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x62);
	assert_int_equal(krb_decode_authenticator(&a, enc, len, &agot), LETHE_OK);
	assert_lbytes_equal(agot.crealm, au.crealm);
	assert_principal_equal(&agot.cname, &au.cname);
	assert_true(agot.has_cksum);
	assert_int_equal(agot.cksum.cksumtype, 16);
	assert_lbytes_equal(agot.cksum.checksum, au.cksum.checksum);
	assert_int_equal(agot.cusec, 123456);
	assert_int_equal(agot.ctime, 1700000000);
	assert_true(agot.has_subkey);
	assert_key_equal(&agot.subkey, &au.subkey);
	assert_true(agot.has_seq_number);
	assert_int_equal(agot.seq_number, 0xdeadbeefu);
	assert_int_equal(agot.authorization_data.count, 1);
	der_writer_reset(&w);
	krb_encode_authenticator(&w, &agot);
	assert_written(&w, enc, len);
	check_negative(dec_authenticator, &w);
	free(enc);
	au.has_cksum = au.has_subkey = au.has_seq_number = false;
	au.authorization_data.count = 0;
	der_writer_reset(&w);
	krb_encode_authenticator(&w, &au);
	assert_int_equal(krb_decode_authenticator(&a, der_written(&w).data, der_written(&w).len,
						  &agot), LETHE_OK);
	assert_false(agot.has_cksum || agot.has_subkey || agot.has_seq_number);

	rep.enc_part = (krb_enc_data){ 18, false, 0, LB("REP") };
	der_writer_reset(&w);
	krb_encode_ap_rep(&w, &rep);
	static const uint8_t ap_rep_der[] = {
		0x6f, 0x1c, 0x30, 0x1a, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x0f,
		0xa2, 0x0e, 0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa2, 0x05, 0x04, 0x03,
		'R', 'E', 'P',
	};
	assert_written(&w, ap_rep_der, sizeof(ap_rep_der));
	assert_int_equal(krb_decode_ap_rep(NULL, ap_rep_der, sizeof(ap_rep_der), &pgot), LETHE_OK);
	assert_enc_data_equal(&pgot.enc_part, &rep.enc_part);
	check_negative(dec_ap_rep, &w);
	/* msg-type 14 inside an AP-REP */
	uint8_t bad[sizeof(ap_rep_der)];
	memcpy(bad, ap_rep_der, sizeof(bad));
	bad[13] = 0x0e;
	assert_int_equal(krb_decode_ap_rep(NULL, bad, sizeof(bad), &pgot), LETHE_ERR_DER_VALUE);

	part.ctime = 1700000000;
	part.cusec = 5;
	part.has_subkey = true;
	part.subkey = (krb_encryption_key){ 18, LB("k") };
	part.has_seq_number = true;
	part.seq_number = 1;
	der_writer_reset(&w);
	krb_encode_enc_ap_rep_part(&w, &part);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x7b);
	assert_int_equal(krb_decode_enc_ap_rep_part(NULL, enc, len, &egot), LETHE_OK);
	assert_int_equal(egot.ctime, part.ctime);
	assert_int_equal(egot.cusec, 5);
	assert_key_equal(&egot.subkey, &part.subkey);
	assert_int_equal(egot.seq_number, 1);
	der_writer_reset(&w);
	krb_encode_enc_ap_rep_part(&w, &egot);
	assert_written(&w, enc, len);
	check_negative(dec_enc_ap_rep_part, &w);
	free(enc);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* --------------------------------------------------------- KRB-ERROR KAT */

static const uint8_t error_der[] = {
	0x7e, 0x7d, 0x30, 0x7b,
	0xa0, 0x03, 0x02, 0x01, 0x05,
	0xa1, 0x03, 0x02, 0x01, 0x1e,
	0xa4, 0x11, 0x18, 0x0f, '2', '0', '2', '3', '1', '1', '1', '4', '2', '2', '1', '3',
	'2', '0', 'Z',
	0xa5, 0x05, 0x02, 0x03, 0x01, 0xe2, 0x40,
	0xa6, 0x03, 0x02, 0x01, 0x19,
	0xa9, 0x0c, 0x1b, 0x0a, 'T', 'E', 'S', 'T', '.', 'R', 'E', 'A', 'L', 'M',
	0xaa, 0x1f, 0x30, 0x1d, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x16, 0x30, 0x14,
	0x1b, 0x06, 'k', 'r', 'b', 't', 'g', 't',
	0x1b, 0x0a, 'T', 'E', 'S', 'T', '.', 'R', 'E', 'A', 'L', 'M',
	0xab, 0x10, 0x1b, 0x0e, 'N', 'E', 'E', 'D', 'E', 'D', '_', 'P', 'R', 'E', 'A', 'U',
	'T', 'H',
	0xac, 0x0f, 0x04, 0x0d,
	0x30, 0x0b, 0x30, 0x09, 0xa1, 0x03, 0x02, 0x01, 0x02, 0xa2, 0x02, 0x04, 0x00,
};

static void
test_krb_error_known_answer(void **state)
{
	krb_error e = { 0 }, got;
	krb_pa_data pa = { KRB_PA_ENC_TIMESTAMP, LB("") };
	krb_method_data md = { &pa, 1 }, mgot;
	der_writer w, wd;
	lethe_arena a;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	der_writer_init(&wd, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_encode_method_data(&wd, &md), LETHE_OK);
	e.stime = 1700000000;
	e.susec = 123456;
	e.error_code = KDC_ERR_PREAUTH_REQUIRED;
	e.realm = LB("TEST.REALM");
	e.sname = tgs_name;
	e.has_e_text = true;
	e.e_text = LB("NEEDED_PREAUTH");
	e.has_e_data = true;
	e.e_data = der_written(&wd);
	assert_int_equal(krb_encode_krb_error(&w, &e), LETHE_OK);
	assert_written(&w, error_der, sizeof(error_der));

	assert_int_equal(krb_decode_krb_error(&a, error_der, sizeof(error_der), &got), LETHE_OK);
	assert_false(got.has_ctime || got.has_cusec || got.has_crealm || got.has_cname);
	assert_int_equal(got.stime, 1700000000);
	assert_int_equal(got.susec, 123456);
	assert_int_equal(got.error_code, 25);
	assert_lbytes_str(got.realm, "TEST.REALM");
	assert_principal_equal(&got.sname, &tgs_name);
	assert_true(got.has_e_text);
	assert_lbytes_str(got.e_text, "NEEDED_PREAUTH");
	assert_true(got.has_e_data);
	assert_int_equal(krb_decode_method_data(&a, got.e_data.data, got.e_data.len, &mgot),
			 LETHE_OK);
	assert_int_equal(mgot.count, 1);
	assert_int_equal(mgot.items[0].padata_type, KRB_PA_ENC_TIMESTAMP);
	check_truncations_and_trailing(dec_krb_error, error_der, sizeof(error_der));
	check_mutations(dec_krb_error, error_der, sizeof(error_der));

	/* every optional field */
	e.has_ctime = true;
	e.ctime = 1700000001;
	e.has_cusec = true;
	e.cusec = 7;
	e.has_crealm = true;
	e.crealm = LB("OTHER");
	e.has_cname = true;
	e.cname = user_name;
	e.error_code = KRB_AP_ERR_SKEW;
	der_writer_reset(&w);
	krb_encode_krb_error(&w, &e);
	assert_int_equal(krb_decode_krb_error(&a, der_written(&w).data, der_written(&w).len, &got),
			 LETHE_OK);
	assert_true(got.has_ctime && got.has_cusec && got.has_crealm && got.has_cname);
	assert_int_equal(got.ctime, 1700000001);
	assert_int_equal(got.cusec, 7);
	assert_lbytes_str(got.crealm, "OTHER");
	assert_principal_equal(&got.cname, &user_name);
	assert_int_equal(got.error_code, 37);
	der_writer_reset(&wd);
	krb_encode_krb_error(&wd, &got);
	assert_written(&wd, der_written(&w).data, der_written(&w).len);
	check_negative(dec_krb_error, &w);

	/* msg-type 31 */
	uint8_t bad[sizeof(error_der)];
	memcpy(bad, error_der, sizeof(bad));
	bad[13] = 0x1f;
	assert_int_equal(krb_decode_krb_error(&a, bad, sizeof(bad), &got), LETHE_ERR_DER_VALUE);
	/* susec out of range (1000000 = 0x0f4240) */
	memcpy(bad, error_der, sizeof(bad));
	bad[37] = 0x0f;
	bad[38] = 0x42;
	assert_int_equal(krb_decode_krb_error(&a, bad, sizeof(bad), &got), LETHE_ERR_DER_VALUE);
	lethe_arena_free(&a);
	der_writer_free(&w);
	der_writer_free(&wd);
}

/* ------------------------------------------------------- KRB-SAFE / KRB-PRIV */

static void
test_safe_priv(void **state)
{
	krb_safe s = { 0 }, sgot;
	krb_priv p = { 0 }, pgot;
	krb_enc_krb_priv_part e = { 0 }, egot;
	der_writer w, w2;
	lethe_arena a;
	uint8_t *enc;
	size_t len;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	der_writer_init(&w2, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	s.body.user_data = LB("hello");
	s.body.has_timestamp = true;
	s.body.timestamp = 1700000000;
	s.body.has_usec = true;
	s.body.usec = 42;
	s.body.has_seq_number = true;
	s.body.seq_number = 99;
	s.body.s_address = two_addrs[0];
	s.body.has_r_address = true;
	s.body.r_address = two_addrs[1];
	s.cksum = (krb_checksum){ 16, LB("MAC") };
	krb_encode_krb_safe(&w, &s);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x74);
	assert_int_equal(krb_decode_krb_safe(NULL, enc, len, &sgot), LETHE_OK);
	assert_lbytes_str(sgot.body.user_data, "hello");
	assert_int_equal(sgot.body.timestamp, 1700000000);
	assert_int_equal(sgot.body.usec, 42);
	assert_int_equal(sgot.body.seq_number, 99);
	assert_int_equal(sgot.body.s_address.addr_type, KRB_ADDR_IPV4);
	assert_true(sgot.body.has_r_address);
	assert_int_equal(sgot.body.r_address.addr_type, KRB_ADDR_NETBIOS);
	assert_lbytes_str(sgot.cksum.checksum, "MAC");
	/* the checksum covers body.raw: a SEQUENCE inside the input */
	assert_int_equal(sgot.body.raw.data[0], 0x30);
	assert_true(sgot.body.raw.data > enc && sgot.body.raw.data < enc + len);
	krb_encode_krb_safe(&w2, &sgot);
	assert_written(&w2, enc, len);
	sgot.body.raw = (lbytes){ NULL, 0 };
	der_writer_reset(&w2);
	krb_encode_krb_safe(&w2, &sgot);
	assert_written(&w2, enc, len);
	check_negative(dec_krb_safe, &w);
	free(enc);

	p.enc_part = (krb_enc_data){ 18, false, 0, LB("PRIV") };
	der_writer_reset(&w);
	krb_encode_krb_priv(&w, &p);
	static const uint8_t priv_der[] = {
		0x75, 0x1d, 0x30, 0x1b, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x15,
		0xa3, 0x0f, 0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa2, 0x06, 0x04, 0x04,
		'P', 'R', 'I', 'V',
	};
	assert_written(&w, priv_der, sizeof(priv_der));
	assert_int_equal(krb_decode_krb_priv(NULL, priv_der, sizeof(priv_der), &pgot), LETHE_OK);
	assert_enc_data_equal(&pgot.enc_part, &p.enc_part);
	check_negative(dec_krb_priv, &w);
	uint8_t bad[sizeof(priv_der)];
	memcpy(bad, priv_der, sizeof(bad));
	bad[14] = 0xa2;   /* enc-part under [2] instead of [3] */
	assert_int_equal(krb_decode_krb_priv(NULL, bad, sizeof(bad), &pgot), LETHE_ERR_DER_TAG);

	e.user_data = LB("");
	e.s_address = two_addrs[0];
	der_writer_reset(&w);
	krb_encode_enc_krb_priv_part(&w, &e);
	enc = take_copy(&w, &len);
	assert_int_equal(enc[0], 0x7c);
	assert_int_equal(krb_decode_enc_krb_priv_part(NULL, enc, len, &egot), LETHE_OK);
	assert_int_equal(egot.user_data.len, 0);
	assert_false(egot.has_timestamp || egot.has_usec || egot.has_seq_number ||
		     egot.has_r_address);
	assert_int_equal(egot.s_address.addr_type, KRB_ADDR_IPV4);
	der_writer_reset(&w);
	krb_encode_enc_krb_priv_part(&w, &egot);
	assert_written(&w, enc, len);
	check_negative(dec_enc_krb_priv_part, &w);
	free(enc);
	lethe_arena_free(&a);
	der_writer_free(&w);
	der_writer_free(&w2);
}

/* Truncation and mutation of the list and padata types. */
static void
test_list_types_negative(void **state)
{
	der_writer w;
	krb_etype_info2_entry ei[] = { { 18, true, LB("SALT"), true, LB("\x00\x00\x10\x00") } };
	krb_etype_info2 ei2 = { ei, 1 };
	krb_typed_data_entry td[] = { { 1, true, LB("x") } };
	krb_typed_data tdl = { td, 1 };
	krb_pa_enc_ts_enc ts = { 1700000000, true, 1 };
	krb_pa_pac_request pac = { true };
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	krb_encode_method_data(&w, &(krb_method_data){ two_padata, 2 });
	check_negative(dec_method_data, &w);
	der_writer_reset(&w);
	krb_encode_etype_info2(&w, &ei2);
	check_negative(dec_etype_info2, &w);
	der_writer_reset(&w);
	krb_encode_authdata(&w, &(krb_authdata){ one_ad, 1 });
	check_negative(dec_authdata, &w);
	der_writer_reset(&w);
	krb_encode_last_req(&w, &(krb_last_req){ one_lr, 1 });
	check_negative(dec_last_req, &w);
	der_writer_reset(&w);
	krb_encode_host_addresses(&w, &(krb_host_addresses){ two_addrs, 2 });
	check_negative(dec_host_addresses, &w);
	der_writer_reset(&w);
	krb_encode_typed_data(&w, &tdl);
	check_negative(dec_typed_data, &w);
	der_writer_reset(&w);
	krb_encode_pa_enc_ts_enc(&w, &ts);
	check_negative(dec_pa_enc_ts_enc, &w);
	der_writer_reset(&w);
	krb_encode_pa_pac_request(&w, &pac);
	check_negative(dec_pa_pac_request, &w);
	der_writer_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdc_req_body_known_answer),
		cmocka_unit_test(test_kdc_req_body_order_and_tolerance),
		cmocka_unit_test(test_kdc_req_body_caps),
		cmocka_unit_test(test_kdc_req_round_trip),
		cmocka_unit_test(test_kdc_rep_round_trip),
		cmocka_unit_test(test_enc_kdc_rep_part),
		cmocka_unit_test(test_ticket_and_enc_ticket_part),
		cmocka_unit_test(test_ap_messages),
		cmocka_unit_test(test_krb_error_known_answer),
		cmocka_unit_test(test_safe_priv),
		cmocka_unit_test(test_list_types_negative),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
