/*
 * Kerberos small types: byte-exact known answers written out by hand,
 * round trips, tolerances and negative cases; principal name helpers.
 */
#include "test_krb5_util.h"

static const lbytes user_comps[] = { LBYTES_LIT("user") };
static const lbytes tgs_comps[] = { LBYTES_LIT("krbtgt"), LBYTES_LIT("TEST.REALM") };
static const krb_principal_name user_name = { KRB_NT_PRINCIPAL, user_comps, 1 };
static const krb_principal_name tgs_name = { KRB_NT_SRV_INST, tgs_comps, 2 };

/* PrincipalName { NT-PRINCIPAL, "user" } */
static const uint8_t user_der[] = {
	0x30, 0x0f, 0xa0, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x08, 0x30, 0x06,
	0x1b, 0x04, 'u', 's', 'e', 'r',
};

/* PrincipalName { NT-SRV-INST, "krbtgt", "TEST.REALM" } */
static const uint8_t tgs_der[] = {
	0x30, 0x1d, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x16, 0x30, 0x14,
	0x1b, 0x06, 'k', 'r', 'b', 't', 'g', 't',
	0x1b, 0x0a, 'T', 'E', 'S', 'T', '.', 'R', 'E', 'A', 'L', 'M',
};

/* ---------------------------------------------------------- PrincipalName */

static void
test_principal_known_answer(void **state)
{
	der_writer w;
	lethe_arena a;
	krb_principal_name pn;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_principal_name(&w, &user_name), LETHE_OK);
	assert_written(&w, user_der, sizeof(user_der));
	der_writer_reset(&w);
	assert_int_equal(krb_encode_principal_name(&w, &tgs_name), LETHE_OK);
	assert_written(&w, tgs_der, sizeof(tgs_der));
	der_writer_free(&w);

	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_decode_principal_name(&a, tgs_der, sizeof(tgs_der), &pn), LETHE_OK);
	assert_int_equal(pn.name_type, KRB_NT_SRV_INST);
	assert_int_equal(pn.n_components, 2);
	assert_lbytes_str(pn.components[0], "krbtgt");
	assert_lbytes_str(pn.components[1], "TEST.REALM");
	/* Zero copy: the views point into the input. */
	assert_ptr_equal(pn.components[0].data, tgs_der + 13);
	lethe_arena_free(&a);
}

static lethe_status
dec_principal(lethe_arena *a, const uint8_t *d, size_t n, void *o)
{
	return krb_decode_principal_name(a, d, n, o);
}

static void
test_principal_negative(void **state)
{
	lethe_arena a;
	krb_principal_name pn;
	(void)state;

	check_truncations_and_trailing(dec_principal, tgs_der, sizeof(tgs_der));
	check_mutations(dec_principal, tgs_der, sizeof(tgs_der));
	lethe_arena_init(&a, ARENA_BUDGET);
	/* [1] before [0] */
	static const uint8_t swapped[] = {
		0x30, 0x0f, 0xa1, 0x08, 0x30, 0x06, 0x1b, 0x04, 'u', 's', 'e', 'r',
		0xa0, 0x03, 0x02, 0x01, 0x01,
	};
	assert_int_equal(krb_decode_principal_name(&a, swapped, sizeof(swapped), &pn),
			 LETHE_ERR_DER_TAG);
	/* name-string missing */
	static const uint8_t no_names[] = { 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x01 };
	assert_int_equal(krb_decode_principal_name(&a, no_names, sizeof(no_names), &pn),
			 LETHE_ERR_DER_TRUNCATED);
	/* component as OCTET STRING instead of GeneralString */
	uint8_t octets[sizeof(user_der)];
	memcpy(octets, user_der, sizeof(user_der));
	octets[11] = 0x04;
	assert_int_equal(krb_decode_principal_name(&a, octets, sizeof(octets), &pn),
			 LETHE_ERR_DER_TAG);
	/* wrong outer tag (SET) */
	memcpy(octets, user_der, sizeof(user_der));
	octets[0] = 0x31;
	assert_int_equal(krb_decode_principal_name(&a, octets, sizeof(octets), &pn),
			 LETHE_ERR_DER_TAG);
	/* a reader already near the depth bound */
	der_reader r;
	der_reader_init(&r, tgs_der, sizeof(tgs_der));
	r.depth = DER_MAX_DEPTH - 2;
	assert_int_equal(krb_read_principal_name(&r, &a, &pn), LETHE_ERR_DER_DEPTH);
	lethe_arena_free(&a);
}

/* A name of n components "c", encoded; returns the DER length. */
static size_t
encode_n_components(der_writer *w, size_t n)
{
	lbytes comps[KRB_MAX_NAME_COMPONENTS + 1];
	krb_principal_name pn = { KRB_NT_PRINCIPAL, comps, n };

	for (size_t i = 0; i < n; i++)
		comps[i] = LB("c");
	der_writer_reset(w);
	assert_int_equal(krb_encode_principal_name(w, &pn), LETHE_OK);
	return der_written(w).len;
}

static void
test_principal_component_cap(void **state)
{
	der_writer w;
	lethe_arena a;
	krb_principal_name pn;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	size_t len = encode_n_components(&w, KRB_MAX_NAME_COMPONENTS);
	assert_int_equal(krb_decode_principal_name(&a, der_written(&w).data, len, &pn), LETHE_OK);
	assert_int_equal(pn.n_components, KRB_MAX_NAME_COMPONENTS);
	len = encode_n_components(&w, KRB_MAX_NAME_COMPONENTS + 1);
	assert_int_equal(krb_decode_principal_name(&a, der_written(&w).data, len, &pn),
			 LETHE_ERR_TOO_BIG);
	/* An arena too small for the component array. */
	lethe_arena tiny;
	lethe_arena_init(&tiny, 8);
	assert_int_equal(krb_decode_principal_name(&tiny, tgs_der, sizeof(tgs_der), &pn),
			 LETHE_ERR_NOMEM);
	lethe_arena_free(&tiny);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* -------------------------------------------------------- EncryptedData */

/* EncryptedData { etype 18, kvno 2, cipher 01 02 03 } */
static const uint8_t enc_data_der[] = {
	0x30, 0x11, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa1, 0x03, 0x02, 0x01, 0x02,
	0xa2, 0x05, 0x04, 0x03, 0x01, 0x02, 0x03,
};

static lethe_status
dec_enc_data(lethe_arena *a, const uint8_t *d, size_t n, void *o)
{
	return krb_decode_enc_data(a, d, n, o);
}

static void
test_enc_data_known_answer(void **state)
{
	der_writer w;
	krb_enc_data ed = { 18, true, 2, lbytes_make(BYTES(1, 2, 3), 3) };
	krb_enc_data got;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	assert_int_equal(krb_encode_enc_data(&w, &ed), LETHE_OK);
	assert_written(&w, enc_data_der, sizeof(enc_data_der));

	assert_int_equal(krb_decode_enc_data(NULL, enc_data_der, sizeof(enc_data_der), &got),
			 LETHE_OK);
	assert_int_equal(got.etype, 18);
	assert_true(got.has_kvno);
	assert_int_equal(got.kvno, 2);
	assert_lbytes_equal(got.cipher, ed.cipher);

	/* kvno absent, negative etype, kvno 2^31 as a positive INTEGER */
	static const uint8_t no_kvno[] = {
		0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x80, 0xa2, 0x05, 0x04, 0x03, 0x01, 0x02, 0x03,
	};
	ed = (krb_enc_data){ -128, false, 0, lbytes_make(BYTES(1, 2, 3), 3) };
	der_writer_reset(&w);
	krb_encode_enc_data(&w, &ed);
	assert_written(&w, no_kvno, sizeof(no_kvno));
	assert_int_equal(krb_decode_enc_data(NULL, no_kvno, sizeof(no_kvno), &got), LETHE_OK);
	assert_int_equal(got.etype, -128);
	assert_false(got.has_kvno);

	static const uint8_t big_kvno[] = {
		0x30, 0x13, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa1, 0x07, 0x02, 0x05, 0x00, 0x80, 0x00,
		0x00, 0x00, 0xa2, 0x03, 0x04, 0x01, 0xaa,
	};
	ed = (krb_enc_data){ 18, true, 0x80000000u, lbytes_make(BYTES(0xaa), 1) };
	der_writer_reset(&w);
	krb_encode_enc_data(&w, &ed);
	assert_written(&w, big_kvno, sizeof(big_kvno));
	der_writer_free(&w);

	/* A negative kvno (old peers) is accepted and wraps to uint32. */
	static const uint8_t neg_kvno[] = {
		0x30, 0x0f, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa1, 0x03, 0x02, 0x01, 0xff,
		0xa2, 0x03, 0x04, 0x01, 0xaa,
	};
	assert_int_equal(krb_decode_enc_data(NULL, neg_kvno, sizeof(neg_kvno), &got), LETHE_OK);
	assert_int_equal(got.kvno, 0xffffffffu);
	/* ... but not a value beyond 32 bits. */
	static const uint8_t huge_kvno[] = {
		0x30, 0x13, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa1, 0x07, 0x02, 0x05, 0x01, 0x00, 0x00,
		0x00, 0x00, 0xa2, 0x03, 0x04, 0x01, 0xaa,
	};
	assert_int_equal(krb_decode_enc_data(NULL, huge_kvno, sizeof(huge_kvno), &got),
			 LETHE_ERR_DER_VALUE);
	/* cipher missing */
	static const uint8_t no_cipher[] = {
		0x30, 0x0a, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa1, 0x03, 0x02, 0x01, 0x02,
	};
	assert_int_equal(krb_decode_enc_data(NULL, no_cipher, sizeof(no_cipher), &got),
			 LETHE_ERR_DER_TRUNCATED);
	check_truncations_and_trailing(dec_enc_data, enc_data_der, sizeof(enc_data_der));
	check_mutations(dec_enc_data, enc_data_der, sizeof(enc_data_der));
}

/* --------------------------------------------- other small types, round trip */

static void
test_small_types_round_trip(void **state)
{
	der_writer w, w2;
	lethe_arena a;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	der_writer_init(&w2, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	/* EncryptionKey */
	krb_encryption_key key = { 17, lbytes_make(BYTES(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
							 13, 14, 15), 16) }, key2;
	krb_encode_encryption_key(&w, &key);
	static const uint8_t key_der[] = {
		0x30, 0x19, 0xa0, 0x03, 0x02, 0x01, 0x11, 0xa1, 0x12, 0x04, 0x10,
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	};
	assert_written(&w, key_der, sizeof(key_der));
	assert_int_equal(krb_decode_encryption_key(NULL, key_der, sizeof(key_der), &key2),
			 LETHE_OK);
	assert_int_equal(key2.keytype, 17);
	assert_lbytes_equal(key2.keyvalue, key.keyvalue);

	/* Checksum */
	krb_checksum ck = { 16, lbytes_make(BYTES(9, 8, 7), 3) }, ck2;
	der_writer_reset(&w);
	krb_encode_checksum(&w, &ck);
	static const uint8_t ck_der[] = {
		0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x10, 0xa1, 0x05, 0x04, 0x03, 9, 8, 7,
	};
	assert_written(&w, ck_der, sizeof(ck_der));
	assert_int_equal(krb_decode_checksum(NULL, ck_der, sizeof(ck_der), &ck2), LETHE_OK);
	assert_int_equal(ck2.cksumtype, 16);
	assert_lbytes_equal(ck2.checksum, ck.checksum);

	/* HostAddresses */
	krb_host_address addrs[] = {
		{ KRB_ADDR_IPV4, lbytes_make(BYTES(127, 0, 0, 1), 4) },
		{ KRB_ADDR_IPV6, lbytes_make(BYTES(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 16) },
	};
	krb_host_addresses ha = { addrs, 2 }, ha2;
	der_writer_reset(&w);
	krb_encode_host_addresses(&w, &ha);
	static const uint8_t ha_der[] = {
		0x30, 0x2a,
		0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x06, 0x04, 0x04, 127, 0, 0, 1,
		0x30, 0x19, 0xa0, 0x03, 0x02, 0x01, 0x18, 0xa1, 0x12, 0x04, 0x10,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	assert_written(&w, ha_der, sizeof(ha_der));
	assert_int_equal(krb_decode_host_addresses(&a, ha_der, sizeof(ha_der), &ha2), LETHE_OK);
	assert_int_equal(ha2.count, 2);
	assert_int_equal(ha2.addrs[1].addr_type, KRB_ADDR_IPV6);
	assert_lbytes_equal(ha2.addrs[1].address, addrs[1].address);
	krb_host_address one;
	assert_int_equal(krb_decode_host_address(NULL, ha_der + 2, 15, &one), LETHE_OK);
	assert_int_equal(one.addr_type, KRB_ADDR_IPV4);

	/* AuthorizationData, including an empty one */
	krb_ad_entry ads[] = { { KRB_AD_IF_RELEVANT, lbytes_make(BYTES(0x30, 0x00), 2) },
			       { KRB_AD_WIN2K_PAC, lbytes_make(BYTES(1), 1) } };
	krb_authdata ad = { ads, 2 }, ad2;
	der_writer_reset(&w);
	krb_encode_authdata(&w, &ad);
	assert_int_equal(krb_decode_authdata(&a, der_written(&w).data, der_written(&w).len, &ad2),
			 LETHE_OK);
	assert_int_equal(ad2.count, 2);
	assert_int_equal(ad2.items[1].ad_type, KRB_AD_WIN2K_PAC);
	assert_lbytes_equal(ad2.items[0].ad_data, ads[0].ad_data);
	krb_encode_authdata(&w2, &ad2);
	assert_written(&w2, der_written(&w).data, der_written(&w).len);
	assert_int_equal(krb_decode_authdata(&a, BYTES(0x30, 0x00), 2, &ad2), LETHE_OK);
	assert_int_equal(ad2.count, 0);
	assert_null(ad2.items);

	/* TransitedEncoding */
	krb_transited tr = { KRB_TR_DOMAIN_X500_COMPRESS, LB("") }, tr2;
	der_writer_reset(&w);
	krb_encode_transited(&w, &tr);
	static const uint8_t tr_der[] = {
		0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x01, 0xa1, 0x02, 0x04, 0x00,
	};
	assert_written(&w, tr_der, sizeof(tr_der));
	assert_int_equal(krb_decode_transited(NULL, tr_der, sizeof(tr_der), &tr2), LETHE_OK);
	assert_int_equal(tr2.tr_type, 1);
	assert_int_equal(tr2.contents.len, 0);

	/* LastReq */
	krb_last_req_entry lrs[] = { { KRB_LR_NONE, 0 }, { -KRB_LR_PW_EXPTIME, 1700000000 } };
	krb_last_req lr = { lrs, 2 }, lr2;
	der_writer_reset(&w);
	krb_encode_last_req(&w, &lr);
	static const uint8_t lr_der[] = {
		0x30, 0x34,
		0x30, 0x18, 0xa0, 0x03, 0x02, 0x01, 0x00, 0xa1, 0x11, 0x18, 0x0f,
		'1', '9', '7', '0', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z',
		0x30, 0x18, 0xa0, 0x03, 0x02, 0x01, 0xfa, 0xa1, 0x11, 0x18, 0x0f,
		'2', '0', '2', '3', '1', '1', '1', '4', '2', '2', '1', '3', '2', '0', 'Z',
	};
	assert_written(&w, lr_der, sizeof(lr_der));
	assert_int_equal(krb_decode_last_req(&a, lr_der, sizeof(lr_der), &lr2), LETHE_OK);
	assert_int_equal(lr2.count, 2);
	assert_int_equal(lr2.items[1].lr_type, -6);
	assert_int_equal(lr2.items[1].lr_value, 1700000000);

	/* A caller's broken contract becomes a sticky writer error. */
	krb_authdata bad = { NULL, 1 };
	der_writer_reset(&w);
	assert_int_equal(krb_encode_authdata(&w, &bad), LETHE_ERR_INVALID_ARG);
	assert_int_equal(der_writer_status(&w), LETHE_ERR_INVALID_ARG);

	lethe_arena_free(&a);
	der_writer_free(&w);
	der_writer_free(&w2);
}

/* -------------------------------------------------------------- padata */

static void
test_padata_types(void **state)
{
	der_writer w;
	lethe_arena a;
	(void)state;

	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);

	/* PA-ENC-TS-ENC with and without pausec */
	krb_pa_enc_ts_enc ts = { 1700000000, true, 999999 }, ts2;
	krb_encode_pa_enc_ts_enc(&w, &ts);
	static const uint8_t ts_der[] = {
		0x30, 0x1a, 0xa0, 0x11, 0x18, 0x0f,
		'2', '0', '2', '3', '1', '1', '1', '4', '2', '2', '1', '3', '2', '0', 'Z',
		0xa1, 0x05, 0x02, 0x03, 0x0f, 0x42, 0x3f,
	};
	assert_written(&w, ts_der, sizeof(ts_der));
	assert_int_equal(krb_decode_pa_enc_ts_enc(NULL, ts_der, sizeof(ts_der), &ts2), LETHE_OK);
	assert_int_equal(ts2.patimestamp, 1700000000);
	assert_true(ts2.has_pausec);
	assert_int_equal(ts2.pausec, 999999);
	assert_int_equal(krb_decode_pa_enc_ts_enc(NULL, ts_der, sizeof(ts_der) - 7, &ts2),
			 LETHE_ERR_DER_TRUNCATED);
	uint8_t ts_short[sizeof(ts_der) - 7];
	memcpy(ts_short, ts_der, sizeof(ts_short));
	ts_short[1] = 0x13;
	assert_int_equal(krb_decode_pa_enc_ts_enc(NULL, ts_short, sizeof(ts_short), &ts2),
			 LETHE_OK);
	assert_false(ts2.has_pausec);
	/* Microseconds out of range */
	uint8_t ts_bad[sizeof(ts_der)];
	memcpy(ts_bad, ts_der, sizeof(ts_der));
	ts_bad[sizeof(ts_der) - 1] = 0x40;   /* 1000000 */
	assert_int_equal(krb_decode_pa_enc_ts_enc(NULL, ts_bad, sizeof(ts_bad), &ts2),
			 LETHE_ERR_DER_VALUE);

	/* ETYPE-INFO2 as MIT's KDC sends it */
	static const uint8_t ei2_der[] = {
		0x30, 0x19, 0x30, 0x17, 0xa0, 0x03, 0x02, 0x01, 0x12, 0xa1, 0x10, 0x1b, 0x0e,
		'T', 'E', 'S', 'T', '.', 'R', 'E', 'A', 'L', 'M', 'u', 's', 'e', 'r',
	};
	krb_etype_info2 ei2;
	assert_int_equal(krb_decode_etype_info2(&a, ei2_der, sizeof(ei2_der), &ei2), LETHE_OK);
	assert_int_equal(ei2.count, 1);
	assert_int_equal(ei2.items[0].etype, 18);
	assert_true(ei2.items[0].has_salt);
	assert_lbytes_str(ei2.items[0].salt, "TEST.REALMuser");
	assert_false(ei2.items[0].has_s2kparams);
	der_writer_reset(&w);
	krb_encode_etype_info2(&w, &ei2);
	assert_written(&w, ei2_der, sizeof(ei2_der));
	/* with s2kparams and without salt */
	krb_etype_info2_entry e2[] = {
		{ 17, false, LB(""), true, lbytes_make(BYTES(0, 0, 0x10, 0), 4) },
		{ 19, true, LB("S"), false, LB("") },
	};
	krb_etype_info2 in2 = { e2, 2 };
	der_writer_reset(&w);
	krb_encode_etype_info2(&w, &in2);
	assert_int_equal(krb_decode_etype_info2(&a, der_written(&w).data, der_written(&w).len, &ei2),
			 LETHE_OK);
	assert_int_equal(ei2.count, 2);
	assert_false(ei2.items[0].has_salt);
	assert_true(ei2.items[0].has_s2kparams);
	assert_lbytes_equal(ei2.items[0].s2kparams, e2[0].s2kparams);
	assert_lbytes_str(ei2.items[1].salt, "S");
	/* salt as OCTET STRING is refused (KerberosString is GeneralString) */
	uint8_t ei2_bad[sizeof(ei2_der)];
	memcpy(ei2_bad, ei2_der, sizeof(ei2_der));
	ei2_bad[11] = 0x04;
	assert_int_equal(krb_decode_etype_info2(&a, ei2_bad, sizeof(ei2_bad), &ei2),
			 LETHE_ERR_DER_TAG);

	/* KERB-PA-PAC-REQUEST */
	static const uint8_t pac_true[] = { 0x30, 0x05, 0xa0, 0x03, 0x01, 0x01, 0xff };
	krb_pa_pac_request pac = { true };
	der_writer_reset(&w);
	krb_encode_pa_pac_request(&w, &pac);
	assert_written(&w, pac_true, sizeof(pac_true));
	pac.include_pac = true;
	static const uint8_t pac_false[] = { 0x30, 0x05, 0xa0, 0x03, 0x01, 0x01, 0x00 };
	assert_int_equal(krb_decode_pa_pac_request(NULL, pac_false, sizeof(pac_false), &pac),
			 LETHE_OK);
	assert_false(pac.include_pac);
	static const uint8_t pac_bad[] = { 0x30, 0x05, 0xa0, 0x03, 0x01, 0x01, 0x01 };
	assert_int_equal(krb_decode_pa_pac_request(NULL, pac_bad, sizeof(pac_bad), &pac),
			 LETHE_ERR_DER_VALUE);

	/* METHOD-DATA, find, TYPED-DATA */
	krb_pa_data pas[] = { { KRB_PA_ENC_TIMESTAMP, LB("") },
			      { KRB_PA_ETYPE_INFO2, lbytes_make(ei2_der, sizeof(ei2_der)) } };
	krb_method_data md = { pas, 2 }, md2;
	der_writer_reset(&w);
	krb_encode_method_data(&w, &md);
	assert_int_equal(krb_decode_method_data(&a, der_written(&w).data, der_written(&w).len, &md2),
			 LETHE_OK);
	assert_int_equal(md2.count, 2);
	assert_non_null(krb_find_padata(&md2, KRB_PA_ETYPE_INFO2));
	assert_lbytes_equal(krb_find_padata(&md2, KRB_PA_ETYPE_INFO2)->padata_value,
			    pas[1].padata_value);
	assert_null(krb_find_padata(&md2, KRB_PA_PAC_REQUEST));
	static const uint8_t pa_der[] = {
		0x30, 0x09, 0xa1, 0x03, 0x02, 0x01, 0x02, 0xa2, 0x02, 0x04, 0x00,
	};
	krb_pa_data pd;
	assert_int_equal(krb_decode_pa_data(NULL, pa_der, sizeof(pa_der), &pd), LETHE_OK);
	assert_int_equal(pd.padata_type, 2);
	/* PA-DATA's first tag is [1]; [0] is refused. */
	static const uint8_t pa_tag0[] = {
		0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa2, 0x02, 0x04, 0x00,
	};
	assert_int_equal(krb_decode_pa_data(NULL, pa_tag0, sizeof(pa_tag0), &pd),
			 LETHE_ERR_DER_TAG);

	krb_typed_data_entry tds[] = { { KRB_TD_REQ_NONCE, true, LB("xy") }, { 5, false, LB("") } };
	krb_typed_data td = { tds, 2 }, td2;
	static const uint8_t td_der[] = {
		0x30, 0x14,
		0x30, 0x0b, 0xa0, 0x03, 0x02, 0x01, 0x6b, 0xa1, 0x04, 0x04, 0x02, 'x', 'y',
		0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x05,
	};
	der_writer_reset(&w);
	krb_encode_typed_data(&w, &td);
	assert_written(&w, td_der, sizeof(td_der));
	assert_int_equal(krb_decode_typed_data(&a, td_der, sizeof(td_der), &td2), LETHE_OK);
	assert_int_equal(td2.count, 2);
	assert_true(td2.items[0].has_data_value);
	assert_false(td2.items[1].has_data_value);
	assert_int_equal(td2.items[1].data_type, 5);

	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* Encode n PA-DATA entries and check the cap. */
static void
test_padata_cap(void **state)
{
	krb_pa_data pas[KRB_MAX_PADATA + 1];
	der_writer w;
	lethe_arena a;
	krb_method_data md;
	(void)state;

	for (size_t i = 0; i < KRB_MAX_PADATA + 1; i++)
		pas[i] = (krb_pa_data){ (int32_t)i, LB("") };
	der_writer_init(&w, WRITER_MAX);
	lethe_arena_init(&a, ARENA_BUDGET);
	md = (krb_method_data){ pas, KRB_MAX_PADATA };
	krb_encode_method_data(&w, &md);
	assert_int_equal(krb_decode_method_data(&a, der_written(&w).data, der_written(&w).len, &md),
			 LETHE_OK);
	assert_int_equal(md.count, KRB_MAX_PADATA);
	assert_int_equal(md.items[63].padata_type, 63);
	der_writer_reset(&w);
	md = (krb_method_data){ pas, KRB_MAX_PADATA + 1 };
	krb_encode_method_data(&w, &md);
	assert_int_equal(krb_decode_method_data(&a, der_written(&w).data, der_written(&w).len, &md),
			 LETHE_ERR_TOO_BIG);
	lethe_arena_free(&a);
	der_writer_free(&w);
}

/* ---------------------------------------------------------- principal text */

static void
test_principal_parse(void **state)
{
	lethe_arena a;
	krb_principal_name pn;
	lbytes realm;
	(void)state;

	lethe_arena_init(&a, ARENA_BUDGET);
	const char *s = "user@TEST.REALM";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB("DEF"), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.name_type, KRB_NT_PRINCIPAL);
	assert_int_equal(pn.n_components, 1);
	assert_lbytes_str(pn.components[0], "user");
	assert_lbytes_str(realm, "TEST.REALM");
	assert_true(krb_principal_eq(&pn, &user_name));

	s = "krbtgt/TEST.REALM";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB("DEF"), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.name_type, KRB_NT_SRV_INST);
	assert_lbytes_str(realm, "DEF");
	assert_true(krb_principal_realm_eq(&pn, LB("DEF"), &tgs_name, LB("DEF")));
	assert_false(krb_principal_realm_eq(&pn, LB("DEF"), &tgs_name, LB("TEST.REALM")));

	s = "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB(""), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.name_type, KRB_NT_WELLKNOWN);
	assert_lbytes_str(realm, "WELLKNOWN:ANONYMOUS");

	s = "host/srv.test.realm@TEST.REALM";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB(""), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.name_type, KRB_NT_PRINCIPAL);
	assert_int_equal(pn.n_components, 2);
	assert_lbytes_str(pn.components[1], "srv.test.realm");

	/* Escapes; '/' is literal inside the realm. */
	s = "a\\/b/c\\@d/e\\\\f\\n\\t\\b\\0\\x@R/X\\@Y";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB(""), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.n_components, 3);
	assert_lbytes_str(pn.components[0], "a/b");
	assert_lbytes_str(pn.components[1], "c@d");
	assert_lbytes_equal(pn.components[2], lbytes_make("e\\f\n\t\b\0x", 8));
	assert_lbytes_str(realm, "R/X@Y");

	/* Empty components are kept. */
	s = "a//b";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB("R"), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.n_components, 3);
	assert_int_equal(pn.components[1].len, 0);

	static const char *const bad[] = {
		"", "@R", "a@", "a\\", "a@b@c", "a@R\\", "a/b/c/d/e/f/g/h/i/j/k@R",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(krb_principal_parse(&a, bad[i], strlen(bad[i]), LB("R"), &pn,
						     &realm), LETHE_ERR_FORMAT);
	}
	assert_int_equal(krb_principal_parse(&a, "a\0b", 3, LB("R"), &pn, &realm),
			 LETHE_ERR_FORMAT);
	s = "a/b/c/d/e/f/g/h/i/j@R";
	assert_int_equal(krb_principal_parse(&a, s, strlen(s), LB(""), &pn, &realm), LETHE_OK);
	assert_int_equal(pn.n_components, 10);
	lethe_arena_free(&a);
}

static void
test_principal_unparse(void **state)
{
	char buf[64];
	size_t len;
	lethe_arena a;
	krb_principal_name pn;
	lbytes realm;
	(void)state;

	assert_int_equal(krb_principal_unparse(&tgs_name, LB("TEST.REALM"), buf, sizeof(buf), &len),
			 LETHE_OK);
	assert_string_equal(buf, "krbtgt/TEST.REALM@TEST.REALM");
	assert_int_equal(len, 28);
	assert_int_equal(krb_principal_unparse(&user_name, LB(""), buf, sizeof(buf), &len),
			 LETHE_OK);
	assert_string_equal(buf, "user");

	lbytes comps[] = { LB("a/b"), LB("c@d"), lbytes_make("e\\f\n\t\b\0x", 8) };
	krb_principal_name odd = { KRB_NT_PRINCIPAL, comps, 3 };
	const char *want = "a\\/b/c\\@d/e\\\\f\\n\\t\\b\\0x@R\\/X\\@Y";
	assert_int_equal(krb_principal_unparse(&odd, LB("R/X@Y"), buf, sizeof(buf), &len), LETHE_OK);
	assert_string_equal(buf, want);
	assert_int_equal(len, strlen(want));

	/* Text form round trip. */
	lethe_arena_init(&a, ARENA_BUDGET);
	assert_int_equal(krb_principal_parse(&a, buf, len, LB(""), &pn, &realm), LETHE_OK);
	assert_true(krb_principal_realm_eq(&pn, realm, &odd, LB("R/X@Y")));
	lethe_arena_free(&a);

	/* Exactly enough room, then one byte short. */
	assert_int_equal(krb_principal_unparse(&user_name, LB("R"), buf, 7, &len), LETHE_OK);
	assert_string_equal(buf, "user@R");
	assert_int_equal(krb_principal_unparse(&user_name, LB("R"), buf, 6, &len),
			 LETHE_ERR_TOO_BIG);
	assert_string_equal(buf, "");
	assert_int_equal(krb_principal_unparse(&user_name, LB("R"), buf, 0, &len),
			 LETHE_ERR_INVALID_ARG);
}

static void
test_principal_eq(void **state)
{
	lbytes c1[] = { LB("krbtgt"), LB("TEST.REALM") };
	lbytes c2[] = { LB("krbtgt"), LB("TEST.REALMX") };
	krb_principal_name a = { KRB_NT_PRINCIPAL, c1, 2 };   /* name type differs */
	krb_principal_name b = { KRB_NT_SRV_INST, c2, 2 };
	krb_principal_name c = { KRB_NT_SRV_INST, c1, 1 };
	(void)state;

	assert_true(krb_principal_eq(&a, &tgs_name));
	assert_false(krb_principal_eq(&b, &tgs_name));
	assert_false(krb_principal_eq(&c, &tgs_name));
}

static void
test_error_code_names(void **state)
{
	(void)state;
	assert_string_equal(krb_error_code_name(KDC_ERR_PREAUTH_REQUIRED), "KDC_ERR_PREAUTH_REQUIRED");
	assert_string_equal(krb_error_code_name(KRB_AP_ERR_SKEW), "KRB_AP_ERR_SKEW");
	assert_string_equal(krb_error_code_name(52), "KRB_ERR_RESPONSE_TOO_BIG");
	assert_string_equal(krb_error_code_name(68), "KDC_ERR_WRONG_REALM");
	assert_null(krb_error_code_name(30));
	assert_null(krb_error_code_name(-1));
	assert_int_equal(KRB_KDC_OPT_CANONICALIZE, 0x00010000u);
	assert_int_equal(KRB_KDC_OPT_FORWARDABLE, 0x40000000u);
	assert_int_equal(KRB_KDC_OPT_RENEWABLE_OK, 0x00000010u);
	assert_int_equal(KRB_TKT_FLG_PRE_AUTHENT, 0x00200000u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_known_answer),
		cmocka_unit_test(test_principal_negative),
		cmocka_unit_test(test_principal_component_cap),
		cmocka_unit_test(test_enc_data_known_answer),
		cmocka_unit_test(test_small_types_round_trip),
		cmocka_unit_test(test_padata_types),
		cmocka_unit_test(test_padata_cap),
		cmocka_unit_test(test_principal_parse),
		cmocka_unit_test(test_principal_unparse),
		cmocka_unit_test(test_principal_eq),
		cmocka_unit_test(test_error_code_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
