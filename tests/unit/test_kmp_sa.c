/* The SA test channel, and full in-memory exchanges that end in equal SAs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kmp/kmp_sa.h"
#include "test_kmp_roles_fixture.h"

static const uint8_t k16a[16] = "0123456789abcdef", k16b[16] = "fedcba9876543210";
static const uint8_t k20a[20] = "ABCDEFGHIJKLMNOPQRST", k20b[20] = "abcdefghijklmnopqrst";
static const uint8_t k24[24] = "three-des-key-24-bytes!!";
static const uint8_t secret[] = "attack at dawn, bring the keys";

static bool
contains(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return true;
	return false;
}

/* a and b: two ends of one AES-128/HMAC-SHA-1 SA. */
static void
pair_aes(kmp_sa *a, kmp_sa *b)
{
	kmp_suite s = { KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128 };

	assert_int_equal(kmp_sa_init(a, KMP_DOI_IPSEC, s, 0x1001, lbytes_make(k16a, 16),
	    lbytes_make(k20a, 20), 0x2002, lbytes_make(k16b, 16), lbytes_make(k20b, 20),
	    0, 3600, 300), LETHE_OK);
	assert_int_equal(kmp_sa_init(b, KMP_DOI_IPSEC, s, 0x2002, lbytes_make(k16b, 16),
	    lbytes_make(k20b, 20), 0x1001, lbytes_make(k16a, 16), lbytes_make(k20a, 20),
	    0, 3600, 300), LETHE_OK);
}

static void
test_suite_algs(void **state)
{
	kmp_sa_algs al;
	kmp_suite aes = { KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128 };
	kmp_suite des3 = { KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_3DES };
	kmp_suite rc5 = { KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_RC5 };
	kmp_suite snmp_des = { KMP_SNMP_AUTH_HMAC_SHA1_96, KMP_SNMP_PRIV_DES_CBC };
	kmp_suite snmp_none = { KMP_SNMP_AUTH_HMAC_MD5_96, KMP_SNMP_PRIV_NONE };

	(void)state;
	assert_int_equal(kmp_sa_suite_algs(KMP_DOI_IPSEC, aes, &al), LETHE_OK);
	assert_int_equal(al.enc_key_len, 16);
	assert_int_equal(al.auth_key_len, 20);
	assert_int_equal(kmp_sa_suite_algs(KMP_DOI_IPSEC, des3, &al), LETHE_OK);
	assert_int_equal(al.enc_key_len, 24);
	assert_int_equal(al.auth_key_len, 16);
	assert_int_equal(kmp_sa_suite_algs(KMP_DOI_SNMPV3, snmp_none, &al), LETHE_OK);
	assert_int_equal(al.enc_key_len, 0);
	assert_int_equal(kmp_sa_suite_algs(KMP_DOI_IPSEC, rc5, &al), LETHE_ERR_UNSUPPORTED);
	assert_int_equal(kmp_sa_suite_algs(KMP_DOI_SNMPV3, snmp_des, &al), LETHE_ERR_UNSUPPORTED);
	/* IPsec codes mean nothing in the SNMPv3 DOI. */
	assert_int_equal(kmp_sa_suite_algs(KMP_DOI_SNMPV3, aes, &al), LETHE_ERR_UNSUPPORTED);
}

static void
test_init_refuses(void **state)
{
	kmp_sa sa;
	kmp_suite s = { KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_AES_CBC_128 };

	(void)state;
	/* SPI 255 is reserved (RFC 4303). */
	assert_int_equal(kmp_sa_init(&sa, KMP_DOI_IPSEC, s, 255, lbytes_make(k16a, 16),
	    lbytes_make(k20a, 20), 0x2002, lbytes_make(k16b, 16), lbytes_make(k20b, 20),
	    0, 3600, 300), LETHE_ERR_INVALID_ARG);
	assert_false(sa.live);
	/* Key of the wrong length. */
	assert_int_equal(kmp_sa_init(&sa, KMP_DOI_IPSEC, s, 0x1001, lbytes_make(k24, 24),
	    lbytes_make(k20a, 20), 0x2002, lbytes_make(k16b, 16), lbytes_make(k20b, 20),
	    0, 3600, 300), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_sa_init(&sa, KMP_DOI_IPSEC, s, 0x1001, lbytes_make(k16a, 16),
	    lbytes_make(k20a, 20), 0x2002, lbytes_make(k16b, 16), lbytes_make(k20b, 20),
	    1000, 3600, 300), LETHE_OK);
	assert_int_equal(sa.expires_ms, 1000 + 3600000);
	assert_int_equal(sa.rekey_ms, 1000 + 3300000);
	kmp_sa_clear(&sa);
}

static void
test_roundtrip_confidential(void **state)
{
	kmp_sa a, b;
	uint8_t wire[256], out[256];
	size_t n, m, expect;

	(void)state;
	pair_aes(&a, &b);
	assert_int_equal(kmp_sa_protected_len(&a, sizeof(secret), &expect), LETHE_OK);
	assert_int_equal(kmp_sa_protect(&a, lbytes_make(secret, sizeof(secret)), wire,
	    sizeof(wire), &n), LETHE_OK);
	assert_int_equal(n, expect);
	/* 8 header + 16 iv + 32 (31 bytes padded) + 12 icv */
	assert_int_equal(n, 8 + 16 + 32 + 12);
	assert_memory_equal(wire, "\x00\x00\x10\x01\x00\x00\x00\x01", 8);
	assert_false(contains(wire, n, "attack"));
	assert_int_equal(kmp_sa_unprotect(&b, wire, n, out, sizeof(out), &m), LETHE_OK);
	assert_int_equal(m, sizeof(secret));
	assert_memory_equal(out, secret, m);
	/* The same datagram again is a replay. */
	assert_int_equal(kmp_sa_unprotect(&b, wire, n, out, sizeof(out), &m),
	    LETHE_ERR_BAD_INTEGRITY);
	/* Reflected back to its sender: another SPI. */
	assert_int_equal(kmp_sa_unprotect(&a, wire, n, out, sizeof(out), &m),
	    LETHE_ERR_NOT_FOUND);
	kmp_sa_clear(&a);
	kmp_sa_clear(&b);
}

static void
test_tamper_and_truncate(void **state)
{
	kmp_sa a, b;
	uint8_t wire[256], out[256];
	size_t n, m, i;

	(void)state;
	pair_aes(&a, &b);
	assert_int_equal(kmp_sa_protect(&a, lbytes_make(secret, sizeof(secret)), wire,
	    sizeof(wire), &n), LETHE_OK);
	for (i = 4; i < n; i += 7) {
		wire[i] ^= 0x40;
		assert_int_not_equal(kmp_sa_unprotect(&b, wire, n, out, sizeof(out), &m),
		    LETHE_OK);
		wire[i] ^= 0x40;
	}
	assert_int_equal(kmp_sa_unprotect(&b, wire, n - 1, out, sizeof(out), &m),
	    LETHE_ERR_FORMAT);
	assert_int_equal(kmp_sa_unprotect(&b, wire, 10, out, sizeof(out), &m),
	    LETHE_ERR_FORMAT);
	/* Nothing above moved the window: the intact datagram still passes. */
	assert_int_equal(kmp_sa_unprotect(&b, wire, n, out, sizeof(out), &m), LETHE_OK);
	kmp_sa_clear(&a);
	kmp_sa_clear(&b);
}

static void
test_replay_window(void **state)
{
	kmp_sa a, b;
	uint8_t wire[70][64], out[64];
	size_t len[70], m, i;

	(void)state;
	pair_aes(&a, &b);
	for (i = 0; i < 70; i++)
		assert_int_equal(kmp_sa_protect(&a, lbytes_make("x", 1), wire[i], 64,
		    &len[i]), LETHE_OK);
	/* Deliver 70 (seq 70) first, then 7 (63 back: inside), then 6 (64 back: too old). */
	assert_int_equal(kmp_sa_unprotect(&b, wire[69], len[69], out, 64, &m), LETHE_OK);
	assert_int_equal(kmp_sa_unprotect(&b, wire[6], len[6], out, 64, &m), LETHE_OK);
	assert_int_equal(kmp_sa_unprotect(&b, wire[5], len[5], out, 64, &m),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kmp_sa_unprotect(&b, wire[6], len[6], out, 64, &m),
	    LETHE_ERR_BAD_INTEGRITY);
	assert_int_equal(kmp_sa_unprotect(&b, wire[40], len[40], out, 64, &m), LETHE_OK);
	kmp_sa_clear(&a);
	kmp_sa_clear(&b);
}

static void
test_3des_and_null(void **state)
{
	kmp_sa a, b;
	kmp_suite s3 = { KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_3DES };
	kmp_suite sn = { KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_NULL };
	uint8_t wire[256], out[256];
	size_t n, m;

	(void)state;
	assert_int_equal(kmp_sa_init(&a, KMP_DOI_IPSEC, s3, 0x1001, lbytes_make(k24, 24),
	    lbytes_make(k16a, 16), 0x2002, lbytes_make(k24, 24), lbytes_make(k16b, 16),
	    0, 60, 10), LETHE_OK);
	assert_int_equal(kmp_sa_init(&b, KMP_DOI_IPSEC, s3, 0x2002, lbytes_make(k24, 24),
	    lbytes_make(k16b, 16), 0x1001, lbytes_make(k24, 24), lbytes_make(k16a, 16),
	    0, 60, 10), LETHE_OK);
	assert_int_equal(kmp_sa_protect(&a, lbytes_make(secret, sizeof(secret)), wire,
	    sizeof(wire), &n), LETHE_OK);
	assert_int_equal(n, 8 + 8 + 32 + 12);
	assert_int_equal(kmp_sa_unprotect(&b, wire, n, out, sizeof(out), &m), LETHE_OK);
	assert_memory_equal(out, secret, sizeof(secret));
	kmp_sa_clear(&a);
	kmp_sa_clear(&b);
	/* ESP_NULL: integrity only, payload in clear. */
	assert_int_equal(kmp_sa_init(&a, KMP_DOI_IPSEC, sn, 0x1001, lbytes_make(NULL, 0),
	    lbytes_make(k20a, 20), 0x2002, lbytes_make(NULL, 0), lbytes_make(k20b, 20),
	    0, 60, 10), LETHE_OK);
	assert_int_equal(kmp_sa_init(&b, KMP_DOI_IPSEC, sn, 0x2002, lbytes_make(NULL, 0),
	    lbytes_make(k20b, 20), 0x1001, lbytes_make(NULL, 0), lbytes_make(k20a, 20),
	    0, 60, 10), LETHE_OK);
	assert_int_equal(kmp_sa_protect(&a, lbytes_make(secret, sizeof(secret)), wire,
	    sizeof(wire), &n), LETHE_OK);
	assert_int_equal(n, 8 + sizeof(secret) + 12);
	assert_memory_equal(wire + 8, secret, sizeof(secret));
	wire[9] ^= 1;
	assert_int_equal(kmp_sa_unprotect(&b, wire, n, out, sizeof(out), &m),
	    LETHE_ERR_BAD_INTEGRITY);
	kmp_sa_clear(&a);
	kmp_sa_clear(&b);
}

/* ---------------------------------------------- full exchanges in memory */

typedef struct duo {
	fx *f;
	kmp_server *srv;
	kmp_client *cli;
} duo;

static const uint8_t engine_srv[] = { 0x80, 0, 0x11, 0x8b, 3, 0, 1, 2, 3, 4, 5 };
static const uint8_t engine_cli[] = { 0x80, 0, 0x11, 0x8b, 3, 0, 9, 8, 7, 6, 5 };

static void
duo_start(duo *d, kmp_doi doi, bool ack)
{
	kmp_server_config sc;
	kmp_client_config cc;

	memset(&sc, 0, sizeof(sc));
	memset(&cc, 0, sizeof(cc));
	d->f = fx_new();
	assert_non_null(d->f);
	sc.principal = FX_SERVICE;
	sc.doi = doi;
	sc.ack_required = ack;
	sc.lifetime_s = 200;
	sc.grace_s = 60;
	sc.snmp.engine_id = lbytes_make(engine_srv, sizeof(engine_srv));
	sc.snmp.engine_boots = 3;
	sc.snmp.engine_time = 120;
	sc.snmp.user_name = LBYTES_LIT("CMS-Admin");
	assert_int_equal(kmp_server_new(&sc, &d->f->server_io, d->f->acc, &d->srv), LETHE_OK);
	cc.doi = doi;
	cc.server = d->f->server_peer;
	cc.principal = FX_SERVICE;
	cc.snmp.engine_id = lbytes_make(engine_cli, sizeof(engine_cli));
	cc.snmp.user_name = LBYTES_LIT("MTA-Prov-Admin");
	cc.get_cred = fx_get_cred;
	cc.get_cred_ctx = d->f;
	assert_int_equal(kmp_client_new(&cc, &d->f->client_io, &d->cli), LETHE_OK);
}

static void
duo_stop(duo *d)
{
	kmp_client_free(d->cli);
	kmp_server_free(d->srv);
	fx_free(d->f);
}

/* Both SAs exist and a datagram crosses each way; their keys are equal. */
static void
assert_sas_agree(duo *d)
{
	kmp_sa *cs = kmp_client_sa(d->cli);
	kmp_sa *ss = kmp_server_sa(d->srv, &d->f->client_peer);
	uint8_t wire[256], out[256];
	size_t n, m;

	assert_non_null(cs);
	assert_non_null(ss);
	assert_int_equal(cs->suite.auth, ss->suite.auth);
	assert_int_equal(cs->suite.enc, ss->suite.enc);
	assert_int_equal(cs->out.spi, ss->in.spi);
	assert_int_equal(cs->in.spi, ss->out.spi);
	assert_memory_equal(cs->out.auth_key, ss->in.auth_key, cs->algs.auth_key_len);
	assert_memory_equal(cs->in.auth_key, ss->out.auth_key, cs->algs.auth_key_len);
	if (cs->algs.enc_key_len > 0)
		assert_memory_equal(cs->out.enc_key, ss->in.enc_key, cs->algs.enc_key_len);
	assert_int_equal(kmp_sa_protect(cs, lbytes_make(secret, sizeof(secret)), wire,
	    sizeof(wire), &n), LETHE_OK);
	assert_int_equal(kmp_sa_unprotect(ss, wire, n, out, sizeof(out), &m), LETHE_OK);
	assert_memory_equal(out, secret, sizeof(secret));
	assert_int_equal(kmp_sa_protect(ss, LBYTES_LIT("pong"), wire, sizeof(wire), &n),
	    LETHE_OK);
	assert_int_equal(kmp_sa_unprotect(cs, wire, n, out, sizeof(out), &m), LETHE_OK);
	assert_memory_equal(out, "pong", 4);
}

static void
run_server_initiated(kmp_doi doi, bool ack)
{
	duo d;
	kmp_server_stats ss;
	kmp_client_stats cs;

	duo_start(&d, doi, ack);
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, d.f->now_ms), LETHE_OK);
	fx_pump(d.f, d.srv, d.cli);
	kmp_server_stats_get(d.srv, &ss);
	kmp_client_stats_get(d.cli, &cs);
	assert_int_equal(ss.wakeups_sent, 1);
	assert_int_equal(ss.ap_requests_accepted, 1);
	assert_int_equal(ss.sa_recovered, ack ? 1 : 0);
	assert_int_equal(ss.sas_live, 1);
	assert_int_equal(ss.dropped_nonce + ss.dropped_other, 0);
	assert_int_equal(cs.replies_accepted, 1);
	assert_int_equal(cs.sas_installed, 1);
	/* Wake Up, AP Request, AP Reply (+ SA Recovered) */
	assert_int_equal(d.f->nmsgs, ack ? 4 : 3);
	assert_sas_agree(&d);
	/* Nothing left to retransmit: the next deadline is the SA's re-key. */
	assert_int_equal(kmp_server_next_deadline(d.srv), (200 - 60) * 1000);
	duo_stop(&d);
}

static void
test_exchange_ipsec(void **state)
{
	(void)state;
	run_server_initiated(KMP_DOI_IPSEC, true);
	run_server_initiated(KMP_DOI_IPSEC, false);
}

static void
test_exchange_snmpv3(void **state)
{
	(void)state;
	run_server_initiated(KMP_DOI_SNMPV3, true);
}

static void
test_exchange_client_initiated(void **state)
{
	duo d;
	kmp_server_stats ss;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, true);
	assert_int_equal(kmp_client_start(d.cli, 0), LETHE_OK);
	fx_pump(d.f, d.srv, d.cli);
	kmp_server_stats_get(d.srv, &ss);
	assert_int_equal(ss.ap_requests_accepted, 1);
	assert_int_equal(ss.sa_recovered, 1);
	assert_false(kmp_client_busy(d.cli));
	assert_sas_agree(&d);
	duo_stop(&d);
}

/* At lifetime - grace the server sends an authenticated Rekey; a new SA follows. */
static void
test_rekey_before_grace(void **state)
{
	duo d;
	kmp_server_stats ss;
	kmp_client_stats cs;
	kmp_msg m;
	fx_msg *rk;
	uint32_t old_spi;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, true);
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, 0), LETHE_OK);
	fx_pump(d.f, d.srv, d.cli);
	old_spi = kmp_client_sa(d.cli)->out.spi;
	d.f->now_ms = (200 - 60) * 1000 - 1;
	kmp_server_tick(d.srv, d.f->now_ms);
	assert_null(fx_next_to(d.f, &d.f->client_peer));
	d.f->now_ms++;
	kmp_server_tick(d.srv, d.f->now_ms);
	rk = fx_next_to(d.f, &d.f->client_peer);
	assert_non_null(rk);
	assert_int_equal(kmp_decode(rk->data, rk->len, &m), LETHE_OK);
	assert_int_equal(m.kmmid, KMP_REKEY);
	assert_int_not_equal(m.u.rekey.server_nonce, 0);
	fx_pump(d.f, d.srv, d.cli);
	kmp_server_stats_get(d.srv, &ss);
	kmp_client_stats_get(d.cli, &cs);
	assert_int_equal(ss.rekeys, 1);
	assert_int_equal(cs.rekeys_received, 1);
	assert_int_equal(ss.ap_requests_accepted, 2);
	assert_int_equal(ss.sas_live, 1);
	assert_int_equal(kmp_client_sa(d.cli)->out.spi, m.u.rekey.spi);
	assert_int_not_equal(kmp_client_sa(d.cli)->out.spi, old_spi);
	assert_sas_agree(&d);
	duo_stop(&d);
}

/* A Rekey with a broken HMAC is ignored by the client. */
static void
test_rekey_forged(void **state)
{
	duo d;
	kmp_client_stats cs;
	fx_msg *rk;

	(void)state;
	duo_start(&d, KMP_DOI_IPSEC, true);
	assert_int_equal(kmp_server_wake(d.srv, &d.f->client_peer, 0), LETHE_OK);
	fx_pump(d.f, d.srv, d.cli);
	d.f->now_ms = (200 - 60) * 1000;
	kmp_server_tick(d.srv, d.f->now_ms);
	rk = fx_next_to(d.f, &d.f->client_peer);
	assert_non_null(rk);
	rk->data[rk->len - 1] ^= 1;
	fx_pump(d.f, NULL, d.cli);
	kmp_client_stats_get(d.cli, &cs);
	assert_int_equal(cs.rekeys_received, 0);
	assert_int_equal(cs.dropped, 1);
	assert_false(kmp_client_busy(d.cli));
	duo_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_algs),
		cmocka_unit_test(test_init_refuses),
		cmocka_unit_test(test_roundtrip_confidential),
		cmocka_unit_test(test_tamper_and_truncate),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_3des_and_null),
		cmocka_unit_test(test_exchange_ipsec),
		cmocka_unit_test(test_exchange_snmpv3),
		cmocka_unit_test(test_exchange_client_initiated),
		cmocka_unit_test(test_rekey_before_grace),
		cmocka_unit_test(test_rekey_forged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
