/*
 * lethe-bench's registrar, verify and key-management modes: behaviour,
 * never timing. The register mode's requests are accepted by a real
 * reg_service over a temporary store, and its reply check refuses a
 * wrong nonce, a wrong signer and a changed byte; the verify mode's
 * tickets verify with the right keys only; the kmp modes establish every
 * SA, and drop every forged AP Request without one decryption.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "bench/bench_modes.h"
#include "registrar/service.h"
#include "reg_test_pki.h"
#include "store/store.h"

static rtp_pki *pki;

/* ------------------------------------------------------------ register */

typedef struct reg_fx {
	char dir[256];
	char db[300];
	store_master_key mk;
	store *st;                      /* the test's own handle */
	reg_service *svc;
	reg_identity *server;
	X509_STORE *ca;
	bench_reg_keys keys;
	int64_t now;
} reg_fx;

static int
reg_setup(void **state)
{
	reg_fx *f = calloc(1, sizeof(*f));
	store_realm_policy p;
	store *svc_st = NULL;
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	f->now = (int64_t)time(NULL);
	snprintf(f->dir, sizeof(f->dir), "%s/lethe-benchreg.XXXXXX", tmp != NULL &&
	    strlen(tmp) < 200 ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	assert_int_equal(store_master_key_generate(&f->mk), LETHE_OK);
	assert_int_equal(store_realm_policy_default(&p, RTP_REALM), LETHE_OK);
	assert_int_equal(store_create(f->db, &f->mk, &p, &f->st, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(store_credential_put(f->st, STORE_CRED_KDC,
	    lbytes_make(pki->kdc.cert_pem, strlen(pki->kdc.cert_pem)),
	    lbytes_make(pki->kdc.key_pem, strlen(pki->kdc.key_pem)), f->now + 86400), LETHE_OK);
	assert_int_equal(store_anchor_add(f->st, "realm-ca", lbytes_make(pki->ca.cert_pem,
	    strlen(pki->ca.cert_pem))), LETHE_OK);
	assert_int_equal(store_open(f->db, &f->mk, &svc_st, NULL, 0, NULL), LETHE_OK);
	assert_int_equal(reg_service_new(svc_st, &f->svc), LETHE_OK);
	f->server = rtp_identity(&pki->server_san);
	f->ca = rtp_store(&pki->ca);
	f->keys = (bench_reg_keys){ f->server, pki->kdc.cert, f->ca, 18, 3600, 3600 };
	*state = f;
	return 0;
}

static int
reg_teardown(void **state)
{
	reg_fx *f = *state;
	char cmd[400];

	reg_service_free(f->svc);
	store_close(f->st);
	reg_identity_free(f->server);
	X509_STORE_free(f->ca);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Build a request with keys, hand it to the service; the reply. */
static void
register_once(reg_fx *f, const bench_reg_keys *keys, uint32_t kvno,
    uint8_t nonce[REG_NONCE_LEN], uint8_t **reply, size_t *reply_len, reg_outcome *o)
{
	uint8_t *req = NULL;
	size_t req_len = 0;

	assert_int_equal(bench_reg_build(keys, RTP_PRINCIPAL, kvno, f->now, nonce, &req,
	    &req_len), LETHE_OK);
	assert_int_equal(reg_service_handle(f->svc, "test", req, req_len, f->now, reply,
	    reply_len, o), LETHE_OK);
	free(req);
}

static void
test_register_accepted(void **state)
{
	reg_fx *f = *state;
	uint8_t nonce[REG_NONCE_LEN], other[REG_NONCE_LEN], *reply = NULL;
	size_t reply_len = 0;
	reg_outcome o;
	store_principal *p = NULL;
	int result = -1;

	register_once(f, &f->keys, 1, nonce, &reply, &reply_len, &o);
	assert_int_equal(o.result, REG_OK);
	assert_true(o.stored);
	assert_int_equal(bench_reg_check(&f->keys, nonce, reply, reply_len, f->now, &result),
	    LETHE_OK);
	assert_int_equal(result, REG_OK);
	/* The key is in the store: kvno 1, aes256, 32 bytes, the windows asked for. */
	assert_int_equal(store_principal_get(f->st, RTP_PRINCIPAL, &p), LETHE_OK);
	assert_int_equal(p->nkeys, 1);
	assert_int_equal(p->keys[0].kvno, 1);
	assert_int_equal(p->keys[0].enctype, 18);
	assert_int_equal(p->keys[0].key_len, 32);
	assert_int_equal(p->keys[0].use_until, f->now + 3600);
	assert_int_equal(p->keys[0].accept_until, f->now + 7200);
	store_principal_free(p);

	/* Not our nonce. */
	memcpy(other, nonce, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(bench_reg_check(&f->keys, other, reply, reply_len, f->now, &result),
	    LETHE_ERR_NOT_FOUND);
	free(reply);
}

static void
test_register_fresh_kvno_needed(void **state)
{
	reg_fx *f = *state;
	uint8_t nonce[REG_NONCE_LEN], *reply = NULL;
	size_t reply_len = 0;
	reg_outcome o;
	int result = -1;

	register_once(f, &f->keys, 5, nonce, &reply, &reply_len, &o);
	assert_int_equal(o.result, REG_OK);
	free(reply);
	register_once(f, &f->keys, 5, nonce, &reply, &reply_len, &o);
	assert_int_equal(o.result, REG_KVNO_EXISTS);
	/* The refusal is signed too: the check passes and reports it. */
	assert_int_equal(bench_reg_check(&f->keys, nonce, reply, reply_len, f->now, &result),
	    LETHE_OK);
	assert_int_equal(result, REG_KVNO_EXISTS);
	free(reply);
}

static void
test_register_reply_signer(void **state)
{
	reg_fx *f = *state;
	uint8_t nonce[REG_NONCE_LEN], *reply = NULL;
	size_t reply_len = 0;
	reg_outcome o;
	bench_reg_keys wrong = f->keys;
	int result = -1;

	register_once(f, &f->keys, 2, nonce, &reply, &reply_len, &o);
	assert_int_equal(o.result, REG_OK);
	/* A chain to the CA is not enough: the signer must be the KDC certificate. */
	wrong.kdc_cert = pki->other.cert;
	assert_int_equal(bench_reg_check(&wrong, nonce, reply, reply_len, f->now, &result),
	    LETHE_ERR_BAD_INTEGRITY);
	/* A changed byte in the signed content. */
	reply[reply_len / 2] ^= 0x01;
	assert_int_not_equal(bench_reg_check(&f->keys, nonce, reply, reply_len, f->now,
	    &result), LETHE_OK);
	free(reply);
}

static void
test_register_sealed_to_other(void **state)
{
	reg_fx *f = *state;
	uint8_t nonce[REG_NONCE_LEN], *reply = NULL;
	size_t reply_len = 0;
	reg_outcome o;
	bench_reg_keys sealed_wrong = f->keys;
	int result = -1;

	/* Keys sealed to a certificate that is not the KDC's do not open there. */
	sealed_wrong.kdc_cert = pki->kdc_rsa.cert;
	register_once(f, &sealed_wrong, 3, nonce, &reply, &reply_len, &o);
	assert_int_equal(o.result, REG_SEALED_KEYS);
	assert_false(o.stored);
	assert_int_equal(bench_reg_check(&f->keys, nonce, reply, reply_len, f->now, &result),
	    LETHE_OK);
	assert_int_equal(result, REG_SEALED_KEYS);
	free(reply);
}

/* ------------------------------------------------------------ verify */

static void
test_verify_both_tickets(void **state)
{
	bench_verify_fx *fx = NULL;
	bench_series s;
	acc_reason why;
	acc_stats st;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	assert_int_equal(fx->cred[BENCH_TICKET_TK].ticket_etype, 18);
	assert_int_equal(fx->cred[BENCH_TICKET_TK].ticket_kvno, BENCH_TK_KVNO);
	assert_int_equal(fx->cred[BENCH_TICKET_PUBKEY].ticket_etype, REG_ENCTYPE_PUBKEY_TICKET);
	assert_int_equal(bench_verify_run(fx->acc, fx, BENCH_TICKET_TK, 7, &s, &why), LETHE_OK);
	assert_int_equal(s.ok, 7);
	assert_int_equal(s.failed, 0);
	assert_int_equal(s.hist.count, 7);
	assert_int_equal(bench_verify_run(fx->acc, fx, BENCH_TICKET_PUBKEY, 5, &s, &why),
	    LETHE_OK);
	assert_int_equal(s.ok, 5);
	assert_int_equal(s.failed, 0);
	acc_stats_get(fx->acc, &st);
	assert_int_equal(st.accepted, 12);
	assert_int_equal(st.ticket_decrypts, 12);
	assert_int_equal(st.rcache_entries, 12);
	bench_verify_fx_free(fx);
}

static void
test_verify_wrong_key_refused(void **state)
{
	bench_verify_fx *fx = NULL, *other = NULL;
	bench_series s;
	acc_reason why;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &other), LETHE_OK);
	/* Another temporary key under the same kvno, another service key pair. */
	assert_int_equal(bench_verify_run(other->acc, fx, BENCH_TICKET_TK, 3, &s, &why),
	    LETHE_OK);
	assert_int_equal(s.ok, 0);
	assert_int_equal(s.failed, 3);
	assert_int_equal(why, ACC_TICKET_INTEGRITY);
	assert_int_equal(bench_verify_run(other->acc, fx, BENCH_TICKET_PUBKEY, 3, &s, &why),
	    LETHE_OK);
	assert_int_equal(s.ok, 0);
	assert_int_equal(s.failed, 3);
	assert_int_equal(why, ACC_TICKET_INTEGRITY);
	bench_verify_fx_free(other);
	bench_verify_fx_free(fx);
}

/*
 * A public-key ticket made for another principal of the same certificate,
 * its clear sname rewritten to the acceptor's: refused (the sealed sname
 * differs), where an unbound ticket would open with the shared key.
 */
static void
test_verify_pubkey_other_principal(void **state)
{
	bench_verify_fx *fx = NULL;
	bench_ticket_spec spec;
	kcl_cred other;
	krb_ticket t, mine;
	lethe_arena arena;
	der_writer w;
	bench_series s;
	acc_reason why;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	spec = (bench_ticket_spec){ BENCH_CLIENT, "bench/other.lethe.test@LETHE.TEST", NULL, 0,
		reg_identity_cert(fx->identity), 18, (int64_t)time(NULL), 3600, fx->kdc };
	assert_int_equal(bench_ticket_make(&spec, &other), LETHE_OK);
	lethe_arena_init(&arena, 65536);
	assert_int_equal(krb_decode_ticket(&arena, other.ticket, other.ticket_len, &t), LETHE_OK);
	assert_int_equal(krb_decode_ticket(&arena, fx->cred[BENCH_TICKET_PUBKEY].ticket,
	    fx->cred[BENCH_TICKET_PUBKEY].ticket_len, &mine), LETHE_OK);
	t.sname = mine.sname;
	t.raw = lbytes_make(NULL, 0);      /* encode the fields, not the bytes received */
	der_writer_init(&w, 65536);
	assert_int_equal(krb_encode_ticket(&w, &t), LETHE_OK);
	free(other.ticket);
	assert_int_equal(der_writer_take(&w, &other.ticket, &other.ticket_len), LETHE_OK);
	der_writer_free(&w);
	lethe_arena_free(&arena);
	kcl_cred_clear(&fx->cred[BENCH_TICKET_PUBKEY]);
	fx->cred[BENCH_TICKET_PUBKEY] = other;
	assert_int_equal(bench_verify_run(fx->acc, fx, BENCH_TICKET_PUBKEY, 2, &s, &why),
	    LETHE_OK);
	assert_int_equal(s.ok, 0);
	assert_int_equal(s.failed, 2);
	assert_int_equal(why, ACC_NOT_US);
	bench_verify_fx_free(fx);
}

static void
test_verify_replay_refused(void **state)
{
	bench_verify_fx *fx = NULL;
	der_writer w;
	acc_verified v;
	acc_error err;
	lbytes req;

	(void)state;
	assert_int_equal(bench_verify_fx_new(NULL, 18, 100, NULL, &fx), LETHE_OK);
	der_writer_init(&w, 65536);
	assert_int_equal(bench_verify_ap_req(fx, BENCH_TICKET_TK, &w), LETHE_OK);
	req = der_written(&w);
	assert_int_equal(acc_verify_ap_req(fx->acc, req.data, req.len, &v, &err), LETHE_OK);
	assert_int_equal(err.reason, ACC_ACCEPTED);
	acc_verified_clear(&v);
	/* The same authenticator again: the loop must build a fresh one each time. */
	assert_int_not_equal(acc_verify_ap_req(fx->acc, req.data, req.len, &v, &err), LETHE_OK);
	assert_int_equal(err.reason, ACC_REPEAT);
	acc_verified_clear(&v);
	der_writer_free(&w);
	bench_verify_fx_free(fx);
}

/* ------------------------------------------------------------ kmp */

static void
test_kmp_sa_every_client(void **state)
{
	bench_kmp *b = NULL;
	bench_series s;
	int64_t server_ns = 0;
	uint64_t accepted, dropped_nonce, dropped_other;

	(void)state;
	assert_int_equal(bench_kmp_new(3, NULL, &b), LETHE_OK);
	/* Round 1: Wake Ups; round 2: Rekeys (an SA exists). */
	assert_int_equal(bench_kmp_sa_run(b, 2, &s, &server_ns), LETHE_OK);
	assert_int_equal(s.ok, 6);
	assert_int_equal(s.failed, 0);
	assert_true(server_ns > 0);
	bench_kmp_server_stats(b, &accepted, &dropped_nonce, &dropped_other);
	assert_int_equal(accepted, 6);
	assert_int_equal(dropped_nonce, 0);
	assert_int_equal(dropped_other, 0);
	bench_kmp_free(b);
	assert_int_equal(bench_kmp_new(0, NULL, &b), LETHE_ERR_INVALID_ARG);
}

static void
test_kmp_forged_no_crypto(void **state)
{
	bench_kmp *b = NULL;
	bench_series s;
	int64_t server_ns = 0;
	uint64_t decrypts = 99, accepted, dropped_nonce, dropped_other;

	(void)state;
	assert_int_equal(bench_kmp_new(3, NULL, &b), LETHE_OK);
	assert_int_equal(bench_kmp_forged_run(b, 2000, &s, &decrypts), LETHE_OK);
	assert_int_equal(s.ok, 2000);
	assert_int_equal(s.failed, 0);
	assert_int_equal(decrypts, 0);
	bench_kmp_server_stats(b, &accepted, &dropped_nonce, &dropped_other);
	assert_int_equal(accepted, 0);
	assert_int_equal(dropped_nonce, 2000);
	assert_int_equal(dropped_other, 0);
	/* The forgeries burnt nothing: the same clients still get their SAs. */
	assert_int_equal(bench_kmp_sa_run(b, 1, &s, &server_ns), LETHE_OK);
	assert_int_equal(s.ok, 3);
	bench_kmp_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_accepted, reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_fresh_kvno_needed, reg_setup,
		    reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_reply_signer, reg_setup,
		    reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_sealed_to_other, reg_setup,
		    reg_teardown),
		cmocka_unit_test(test_verify_both_tickets),
		cmocka_unit_test(test_verify_wrong_key_refused),
		cmocka_unit_test(test_verify_pubkey_other_principal),
		cmocka_unit_test(test_verify_replay_refused),
		cmocka_unit_test(test_kmp_sa_every_client),
		cmocka_unit_test(test_kmp_forged_no_crypto),
	};
	int rc;

	log_init("test_bench_modes", LETHE_LOG_STDERR, LETHE_LOG_WARN);
	pki = rtp_pki_new((int64_t)time(NULL));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rtp_pki_free(pki);
	return rc;
}
