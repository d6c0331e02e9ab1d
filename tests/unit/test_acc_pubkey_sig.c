/*
 * The acceptor requires the KDC's signature inside a public-key ticket
 * (docs/registration.md, "Public-key tickets"): signed by the configured
 * KDC certificate -> accepted; sealed unsigned, signed by another key, or
 * signed content altered afterwards -> ACC_TICKET_SIGNATURE, counted. The
 * tickets are made here, around the fixture's session key, the way the
 * KDC makes them, except for the one thing each test changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "acceptor/acceptor.h"
#include "bench/bench_modes.h"
#include "krb5/krb5.h"
#include "registrar/registrar.h"
#include "registrar/ticket.h"

enum seal_mode {
	SEAL_SIGNED,        /* as the KDC: signed by fx->kdc, then sealed */
	SEAL_UNSIGNED,      /* sealed to the service certificate only */
	SEAL_OTHER_SIGNER,  /* signed by a key that is not the KDC's */
	SEAL_TAMPERED,      /* signed by fx->kdc, one byte of the content changed after */
};

/* Flip the last byte of plain inside the SignedData der (the eContent). */
static void
tamper_content(uint8_t *der, size_t len, lbytes plain)
{
	for (size_t i = 0; i + plain.len <= len; i++) {
		if (memcmp(der + i, plain.data, plain.len) == 0) {
			der[i + plain.len - 1] ^= 0x01;
			return;
		}
	}
	fail_msg("the signed content is not inside the SignedData");
}

/* Replace fx's public-key ticket by one sealed as mode says (same session key). */
static void
remake_ticket(bench_verify_fx *fx, enum seal_mode mode)
{
	kcl_cred *c = &fx->cred[BENCH_TICKET_PUBKEY];
	X509 *cert = reg_identity_cert(fx->identity);
	krb_enc_ticket_part tp;
	krb_principal_name sname = kcl_name_principal(&c->server);
	krb_ticket t;
	reg_identity *other = NULL;
	uint8_t *signed_der = NULL, *cms = NULL;
	size_t signed_len = 0, cms_len = 0;
	der_writer w, out;
	lbytes plain;

	memset(&tp, 0, sizeof(tp));
	der_writer_init(&w, 65536);
	der_writer_init(&out, 65536);
	tp.key.keytype = kc_key_enctype(c->session_key);
	tp.key.keyvalue = kc_key_bytes(c->session_key);
	tp.crealm = c->client.realm;
	tp.cname = kcl_name_principal(&c->client);
	tp.transited.tr_type = KRB_TR_DOMAIN_X500_COMPRESS;
	tp.authtime = (int64_t)time(NULL) - 60;
	tp.endtime = tp.authtime + 3600;
	assert_int_equal(krb_encode_enc_ticket_part(&w, &tp), LETHE_OK);
	assert_int_equal(reg_ticket_bind(&w, 0, c->server.realm, &sname), LETHE_OK);
	plain = der_written(&w);
	switch (mode) {
	case SEAL_UNSIGNED:
		assert_int_equal(reg_seal_bytes(cert, REG_CT_TICKET, plain.data, plain.len, &cms,
		    &cms_len), LETHE_OK);
		break;
	case SEAL_OTHER_SIGNER:
		assert_int_equal(bench_identity_generate("not the KDC", &other), LETHE_OK);
		assert_int_equal(reg_sign_and_seal(other, cert, REG_CT_TICKET, plain.data,
		    plain.len, &cms, &cms_len), LETHE_OK);
		break;
	case SEAL_SIGNED:
	case SEAL_TAMPERED:
		assert_int_equal(reg_sign(fx->kdc, REG_CT_TICKET, plain.data, plain.len,
		    &signed_der, &signed_len), LETHE_OK);
		if (mode == SEAL_TAMPERED)
			tamper_content(signed_der, signed_len, plain);
		assert_int_equal(reg_seal_bytes(cert, REG_CT_TICKET, signed_der, signed_len,
		    &cms, &cms_len), LETHE_OK);
		break;
	}
	memset(&t, 0, sizeof(t));
	t.realm = c->server.realm;
	t.sname = sname;
	t.enc_part.etype = REG_ENCTYPE_PUBKEY_TICKET;
	t.enc_part.cipher = lbytes_make(cms, cms_len);
	assert_int_equal(krb_encode_ticket(&out, &t), LETHE_OK);
	free(c->ticket);
	assert_int_equal(der_writer_take(&out, &c->ticket, &c->ticket_len), LETHE_OK);
	reg_free_secret(signed_der, signed_len);
	free(cms);
	reg_identity_free(other);
	der_writer_free(&w);
	der_writer_free(&out);
}

/* Present fx's public-key ticket twice: want_ok accepted, else refused for why. */
static void
present(bench_verify_fx *fx, bool want_ok, acc_reason want_why, uint64_t want_sig_refused)
{
	bench_series s;
	acc_reason why;
	acc_stats st;

	assert_int_equal(bench_verify_run(fx->acc, fx, BENCH_TICKET_PUBKEY, 2, &s, &why),
	    LETHE_OK);
	assert_int_equal(s.ok, want_ok ? 2 : 0);
	assert_int_equal(s.failed, want_ok ? 0 : 2);
	if (!want_ok)
		assert_int_equal(why, want_why);
	acc_stats_get(fx->acc, &st);
	assert_int_equal(st.pubkey_signature_refused, want_sig_refused);
}

static void
test_signed_accepted(void **state)
{
	bench_verify_fx *fx = NULL;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	present(fx, true, ACC_ACCEPTED, 0);          /* bench_ticket_make's, signed */
	remake_ticket(fx, SEAL_SIGNED);
	present(fx, true, ACC_ACCEPTED, 0);
	bench_verify_fx_free(fx);
}

static void
test_unsigned_refused(void **state)
{
	bench_verify_fx *fx = NULL;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	remake_ticket(fx, SEAL_UNSIGNED);
	present(fx, false, ACC_TICKET_SIGNATURE, 2);
	bench_verify_fx_free(fx);
}

static void
test_other_signer_refused(void **state)
{
	bench_verify_fx *fx = NULL;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	remake_ticket(fx, SEAL_OTHER_SIGNER);
	present(fx, false, ACC_TICKET_SIGNATURE, 2);
	bench_verify_fx_free(fx);
}

static void
test_tampered_refused(void **state)
{
	bench_verify_fx *fx = NULL;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	remake_ticket(fx, SEAL_TAMPERED);
	present(fx, false, ACC_TICKET_SIGNATURE, 2);
	bench_verify_fx_free(fx);
}

/* An acceptor that opens public-key tickets needs a KDC certificate. */
static void
test_identity_without_kdc_cert(void **state)
{
	bench_verify_fx *fx = NULL;
	acc_params ap;
	acc_ctx *acc = NULL;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	memset(&ap, 0, sizeof(ap));
	ap.keytab_path = fx->keytab;
	ap.pubkey_identity = fx->identity;
	assert_int_equal(acc_ctx_new(&ap, &acc), LETHE_ERR_INVALID_ARG);
	assert_null(acc);
	bench_verify_fx_free(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_accepted),
		cmocka_unit_test(test_unsigned_refused),
		cmocka_unit_test(test_other_signer_refused),
		cmocka_unit_test(test_tampered_refused),
		cmocka_unit_test(test_identity_without_kdc_cert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
