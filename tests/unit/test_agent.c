/* lethe-agent core: config, kvno allocation, keytab-first rotation, backoff, pruning. */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "base/log.h"
#include "registrar/registrar.h"

#define PRINC "HTTP/www.example.com@EXAMPLE.COM"
#define T0 1700000000LL

typedef struct fixture {
	char dir[256];
	char conf_path[300];
	agent_config cfg;
	/* the fake clock, random numbers and KDC */
	int64_t t;
	uint32_t rnd;
	int result;                     /* what the fake KDC answers */
	int64_t granted;
	size_t calls;
	int64_t call_times[64];
	uint32_t call_kvnos[64];
	size_t call_kdcs[64];
	bool keys_matched_keytab;       /* checked inside every call */
	bool answers_seen;
	uint8_t answers[AGENT_NONCE_LEN];
} fixture;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int64_t
fake_now(void *arg)
{
	return ((fixture *)arg)->t;
}

static uint32_t
fake_random(void *arg)
{
	return ((fixture *)arg)->rnd;
}

/* The keys handed over must already be in the keytab on disk. */
static bool
keys_in_keytab(const fixture *f, const agent_reg_input *in)
{
	kt_keytab *kt = NULL;
	bool ok = in->nkeys > 0;

	if (kt_load(f->cfg.keytab, &kt) != LETHE_OK)
		return false;
	for (size_t i = 0; ok && i < in->nkeys; i++) {
		const kt_entry *e = NULL;

		ok = kt_find(kt, in->principal, in->kvno, in->keys[i].enctype, &e) ==
		    LETHE_OK && lbytes_ct_eq(kt_buf_view(e->key), in->keys[i].key);
	}
	kt_free(kt);
	return ok;
}

static void
fake_register(void *arg, const agent_kdc *kdc, const agent_reg_input *in,
    agent_reg_output *out)
{
	fixture *f = arg;

	if (f->calls < 64) {
		f->call_times[f->calls] = f->t;
		f->call_kvnos[f->calls] = in->kvno;
		f->call_kdcs[f->calls] = SIZE_MAX;
		for (size_t k = 0; k < f->cfg.nkdcs; k++)
			if (strcmp(kdc->name, f->cfg.kdcs[k].name) == 0)
				f->call_kdcs[f->calls] = k;
	}
	f->calls++;
	f->keys_matched_keytab = keys_in_keytab(f, in);
	f->answers_seen = in->answers != NULL;
	if (in->answers != NULL)
		memcpy(f->answers, in->answers, AGENT_NONCE_LEN);
	out->result = f->result;
	out->granted_accept_until = f->granted;
	snprintf(out->text, sizeof(out->text), "fake %d", f->result);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static const char base_conf[] =
    "principal = " PRINC "\n"
    "certificate = server.pem\n"
    "key = server.key\n"
    "kdc_ca = ca.pem\n"
    "kdc = 127.0.0.1:7001, 127.0.0.1:7002\n"
    "kdc_cert = kdc.pem\n"
    "keytab = server.keytab\n"
    "state_dir = state\n"
    "rotation = 100s\n"
    "overlap = 10s\n"
    "max_ticket_life = 50s\n";

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char err[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/lethe-agent-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->conf_path, sizeof(f->conf_path), "%s/agent.conf", f->dir);
	write_file(f->conf_path, base_conf, 0644);
	assert_int_equal(agent_config_load(f->conf_path, &f->cfg, err, sizeof(err)),
	    LETHE_OK);
	f->t = T0;
	f->result = AGENT_RESULT_OK;
	log_init("test_agent", LETHE_LOG_STDERR, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
open_agent(fixture *f, agent *a)
{
	agent_env env = { fake_now, fake_random, fake_register, f };

	assert_int_equal(agent_open(a, &f->cfg, &env), LETHE_OK);
}

/* kvnos of PRINC in the keytab, ascending, in out[]; returns how many entries. */
static size_t
keytab_kvnos(const fixture *f, uint32_t *out, size_t cap)
{
	kt_keytab *kt = NULL;
	size_t n = 0;

	if (kt_load(f->cfg.keytab, &kt) == LETHE_ERR_NOT_FOUND)
		return 0;
	assert_non_null(kt);
	for (size_t i = 0; i < kt_count(kt) && n < cap; i++)
		out[n++] = kt_entry_at(kt, i)->kvno;
	kt_free(kt);
	return n;
}

/* ---- configuration ---- */

static void
test_config_defaults(void **state)
{
	static const char text[] =
	    "principal = host/a.example.com@EXAMPLE.COM HTTP/a.example.com@EXAMPLE.COM\n"
	    "pkcs12 = id.p12\npkcs12_password_file = id.pass\n"
	    "kdc_ca = ca.pem\nkdc = 127.0.0.1:7001\nkdc_cert = kdc.pem\n"
	    "keytab = krb5.keytab\n";
	agent_config cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(agent_config_parse(text, sizeof(text) - 1, "etc/agent.conf",
	    &cfg, err, sizeof(err)), LETHE_OK);
	assert_int_equal(cfg.nprincipals, 2);
	assert_string_equal(cfg.principals[1], "HTTP/a.example.com@EXAMPLE.COM");
	assert_int_equal(cfg.rotation, 3600);
	assert_int_equal(cfg.overlap, 600);
	assert_int_equal(cfg.max_ticket_life, 36000);
	assert_int_equal(cfg.nenctypes, 2);
	assert_int_equal(cfg.enctypes[0], 18);
	assert_int_equal(cfg.enctypes[1], 17);
	assert_string_equal(cfg.keytab, "etc/krb5.keytab");
	assert_string_equal(cfg.kdcs[0].cert_path, "etc/kdc.pem");
	assert_string_equal(cfg.state_dir, "/var/lib/lethe-agent");
	assert_false(cfg.have_callback);
	assert_true(cfg.keytab_uid == KT_OWNER_KEEP);
	assert_true(cfg.keytab_gid == KT_GROUP_KEEP);
}

/* keytab_owner = value: the uid and gid parsed from it. */
static void
expect_owner(const char *value, uid_t uid, gid_t gid)
{
	char text[1024], err[512] = "";
	agent_config cfg;

	snprintf(text, sizeof(text), "principal = a@R\ncertificate = c\nkey = k\n"
	    "kdc_ca = ca\nkdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\n"
	    "keytab_owner = %s\n", value);
	if (agent_config_parse(text, strlen(text), "a.conf", &cfg, err,
	    sizeof(err)) != LETHE_OK)
		fail_msg("keytab_owner = %s: %s", value, err);
	assert_int_equal(cfg.keytab_uid, uid);
	assert_int_equal(cfg.keytab_gid, gid);
}

static void
test_config_keytab_owner(void **state)
{
	(void)state;
	expect_owner("root", 0, KT_GROUP_KEEP);
	expect_owner("root:root", 0, 0);
	expect_owner("4242:4343", 4242, 4343);
	expect_owner(":4343", KT_OWNER_KEEP, 4343);
	expect_owner("0:root", 0, 0);
	expect_owner("", KT_OWNER_KEEP, KT_GROUP_KEEP);
}

static void
expect_config_error(const char *text, const char *want)
{
	agent_config cfg;
	char err[512] = "";

	assert_int_not_equal(agent_config_parse(text, strlen(text), "a.conf", &cfg,
	    err, sizeof(err)), LETHE_OK);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not say '%s'", err, want);
}

static void
test_config_errors(void **state)
{
	(void)state;
	expect_config_error("certificate = c\nkey = k\nkdc_ca = ca\nkdc = 127.0.0.1:1\n"
	    "kdc_cert = k\nkeytab = kt\n", "principal is required");
	expect_config_error("principal = a@R\ncertificate = c\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\n", "key is required");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\n", "kdc_ca is required");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkeytab = kt\n", "kdc_cert is required");
	expect_config_error("principal = noreal\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\n", "@REALM");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\nenctypes = 18 23\n",
	    "'23' is not a supported");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1\nkdc_cert = k\nkeytab = kt\n", "numeric host:port");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3\nkdc_cert = a, b\n"
	    "keytab = kt\n", "2 certificates for 3 KDCs");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\nrotate = 1h\n", "rotate");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\nrotation = soon\n",
	    "rotation");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\npkcs12 = p\n"
	    "pkcs12_password_file = q\nkdc_ca = ca\nkdc = 127.0.0.1:1\nkdc_cert = k\n"
	    "keytab = kt\n", "not both");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\n"
	    "keytab_owner = no-such-user-lethe\n", "no user 'no-such-user-lethe'");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\n"
	    "keytab_owner = root:no-such-group-lethe\n", "no group 'no-such-group-lethe'");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\nkeytab_owner = root:\n",
	    "is not USER, USER:GROUP or :GROUP");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\nkeytab_owner = :\n",
	    "is not USER, USER:GROUP or :GROUP");
	expect_config_error("principal = a@R\ncertificate = c\nkey = k\nkdc_ca = ca\n"
	    "kdc = 127.0.0.1:1\nkdc_cert = k\nkeytab = kt\nkeytab_owner = 12x\n",
	    "no user '12x'");
}

static void
test_secret_file_mode(void **state)
{
	fixture *f = *state;
	char path[AGENT_PATH_MAX + 16], err[512] = "";
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/server.key", f->dir);
	write_file(path, "secret\n", 0644);
	assert_int_equal(agent_check_secret_file(path, err, sizeof(err)),
	    LETHE_ERR_INVALID_ARG);
	assert_non_null(strstr(err, "mode 0644"));
	assert_int_equal(agent_read_secret_file(path, &buf, &len, err, sizeof(err)),
	    LETHE_ERR_INVALID_ARG);
	assert_null(buf);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(agent_check_secret_file(path, err, sizeof(err)),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(agent_check_secret_file(path, err, sizeof(err)), LETHE_OK);
	assert_int_equal(agent_read_secret_file(path, &buf, &len, err, sizeof(err)),
	    LETHE_OK);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "secret\n", 7);
	agent_secret_free(buf);
	snprintf(path, sizeof(path), "%s/absent.key", f->dir);
	assert_int_equal(agent_check_secret_file(path, err, sizeof(err)), LETHE_ERR_IO);
}

/* ---- kvno allocation ---- */

static void
test_kvno_never_reused(void **state)
{
	fixture *f = *state;
	uint32_t kvno = 0, kvnos[16];
	size_t removed = 0;
	agent a;

	open_agent(f, &a);
	assert_int_equal(agent_rotate(&a, 0, NULL, SIZE_MAX, &kvno), LETHE_OK);
	assert_int_equal(kvno, 1);
	f->t += 100;
	assert_int_equal(agent_rotate(&a, 0, NULL, SIZE_MAX, &kvno), LETHE_OK);
	assert_int_equal(kvno, 2);
	/* every key expires and is pruned: the keytab is empty */
	f->t += 1000;
	assert_int_equal(agent_prune(&a, &removed), LETHE_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 0);
	agent_close(&a);
	/* a restart still remembers kvno 2 */
	open_agent(f, &a);
	assert_int_equal(agent_rotate(&a, 0, NULL, SIZE_MAX, &kvno), LETHE_OK);
	assert_int_equal(kvno, 3);
	agent_close(&a);
}

static void
test_kvno_above_keytab(void **state)
{
	fixture *f = *state;
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	uint8_t key[32] = { 1 };
	uint32_t kvno = 0, kvnos[16];
	agent a;

	/* a classic key with kvno 7 is in the keytab; the state knows nothing */
	assert_int_equal(kt_principal_parse(PRINC, strlen(PRINC), NULL, &p), LETHE_OK);
	assert_int_equal(kt_new(&kt), LETHE_OK);
	assert_int_equal(kt_add(kt, &p, 7, 18, 1, lbytes_make(key, 32)), LETHE_OK);
	assert_int_equal(kt_save(kt, f->cfg.keytab), LETHE_OK);
	kt_free(kt);
	kt_principal_clear(&p);
	open_agent(f, &a);
	assert_int_equal(agent_rotate(&a, 0, NULL, SIZE_MAX, &kvno), LETHE_OK);
	assert_int_equal(kvno, 8);
	/* pruning long after leaves the key the agent did not make */
	f->t += 100000;
	assert_int_equal(agent_prune(&a, NULL), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 1);
	assert_int_equal(kvnos[0], 7);
	agent_close(&a);
}

/* ---- keytab first ---- */

static void
test_keytab_first(void **state)
{
	fixture *f = *state;
	uint32_t kvnos[16];
	size_t failed = 0;
	agent a;

	f->result = AGENT_RESULT_NO_REPLY;
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);
	/* both KDCs were asked, each time with keys already on disk */
	assert_int_equal(f->calls, 2);
	assert_true(f->keys_matched_keytab);
	assert_int_equal(f->call_kvnos[0], 1);
	assert_int_equal(f->call_kdcs[1], 1);
	/* the failure leaves the new key (18 and 17) in the keytab */
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 2);
	assert_int_equal(kvnos[0], 1);
	assert_int_equal(kvnos[1], 1);
	assert_false(a.st.reg[0][0].done);
	assert_int_equal(a.st.reg[0][0].result, AGENT_RESULT_NO_REPLY);
	assert_int_equal(a.st.reg[0][0].failures, 1);
	/* a forced retry for which the KDC answers */
	f->result = AGENT_RESULT_OK;
	assert_int_equal(agent_register_due(&a, true, &failed), LETHE_OK);
	assert_int_equal(failed, 0);
	assert_true(a.st.reg[1][0].done);
	assert_int_equal(a.st.reg[1][0].ok_kvno, 1);
	agent_close(&a);
	/* the result survives a restart */
	open_agent(f, &a);
	assert_true(a.st.reg[1][0].done);
	assert_int_equal(a.st.reg[1][0].result, AGENT_RESULT_OK);
	assert_string_equal(a.st.reg[1][0].text, "fake 0");
	agent_close(&a);
}

static void
test_register_refused_then_exists(void **state)
{
	fixture *f = *state;
	size_t failed = 0;
	agent a;

	open_agent(f, &a);
	assert_int_equal(agent_rotate(&a, 0, NULL, SIZE_MAX, NULL), LETHE_OK);
	/* KVNO_EXISTS on a first attempt is a refusal... */
	f->result = REG_KVNO_EXISTS;
	assert_int_equal(agent_register_due(&a, true, &failed), LETHE_OK);
	assert_int_equal(failed, 2);
	assert_false(a.st.reg[0][0].done);
	/* ...but after a lost reply it means our request got through */
	f->result = AGENT_RESULT_NO_REPLY;
	assert_int_equal(agent_register_due(&a, true, &failed), LETHE_OK);
	f->result = REG_KVNO_EXISTS;
	assert_int_equal(agent_register_due(&a, true, &failed), LETHE_OK);
	assert_int_equal(failed, 0);
	assert_true(a.st.reg[0][0].done);
	assert_int_equal(a.st.reg[0][0].result, AGENT_RESULT_OK);
	agent_close(&a);
}

/* ---- backoff ---- */

static void
test_backoff_values(void **state)
{
	static const int64_t want[] = { 1, 2, 4, 8, 16, 32, 64, 100, 100, 100 };

	(void)state;
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(agent_backoff(i + 1, 100, 0), want[i]);
	assert_int_equal(agent_backoff(UINT32_MAX, 3600, 0), 3600);
	/* jitter takes off at most half */
	for (uint32_t r = 0; r < 200; r++) {
		int64_t d = agent_backoff(5, 100, r * 7919u);
		assert_true(d >= 8 && d <= 16);
	}
	assert_int_equal(agent_backoff(5, 100, 8), 8);
	assert_int_equal(agent_backoff(1, 100, 12345), 1);
}

/*
 * Run 8 steps from the first wake-up on, failing with result; the calls'
 * times (from T0) and kvnos must be want[] and kvno.
 */
static void
run_failing_steps(fixture *f, agent *a, int result, const int64_t *want, uint32_t kvno)
{
	size_t first = f->calls;

	f->result = result;
	for (size_t i = 0; i < 8; i++) {
		f->t = agent_next_wakeup(a);
		assert_int_equal(agent_step(a), LETHE_OK);
	}
	assert_int_equal(f->calls - first, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(f->call_times[first + i] - T0, want[i]);
		assert_int_equal(f->call_kvnos[first + i], kvno);
	}
}

/*
 * A KDC that stops answering: the retries of the next key double while
 * the accepted key has time left, and once it is within overlap/2 of its
 * use_until (T0+160-30) come every AGENT_URGENT_RETRY seconds, so a KDC
 * that comes back gets the key within them.
 */
static void
test_backoff_schedule(void **state)
{
	fixture *f = *state;
	static const int64_t want[] = { 100, 101, 103, 107, 115, 130, 132, 134 };
	agent a;

	f->cfg.nkdcs = 1;
	f->cfg.overlap = 60;
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);     /* kvno 1 accepted */
	run_failing_steps(f, &a, AGENT_RESULT_NO_REPLY, want, 2);
	assert_int_equal(a.st.reg[0][0].failures, 8);
	assert_int_equal(a.st.reg[0][0].ok_kvno, 1);
	/* the KDC is back: the next attempt (2 s on) registers kvno 2 */
	f->result = AGENT_RESULT_OK;
	f->t = agent_next_wakeup(&a);
	assert_int_equal(f->t - T0, 136);
	assert_int_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(a.st.reg[0][0].ok_kvno, 2);
	agent_close(&a);
}

/* Urgent but refused by the KDC (signed): every AGENT_URGENT_RETRY_REFUSED s. */
static void
test_backoff_urgent_refused(void **state)
{
	fixture *f = *state;
	static const int64_t want[] = { 100, 101, 103, 107, 115, 130, 160, 190 };
	agent a;

	f->cfg.nkdcs = 1;
	f->cfg.overlap = 60;
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);
	run_failing_steps(f, &a, 7 /* NOT_ALLOWED */, want, 2);
	agent_close(&a);
}

/* Nothing ever accepted (the service has no key at the KDC): urgent at once. */
static void
test_backoff_never_registered(void **state)
{
	fixture *f = *state;
	static const int64_t want[] = { 1, 3, 5, 7, 9, 11, 13, 15 };
	agent a;

	f->cfg.nkdcs = 1;
	f->result = AGENT_RESULT_NO_REPLY;
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);     /* at T0: no reply */
	run_failing_steps(f, &a, AGENT_RESULT_NO_REPLY, want, 1);
	/* the first key is still in the keytab though never registered */
	assert_non_null(agent_state_find_key(&a.st, PRINC, 1));
	agent_close(&a);
}

/* agent_retry_at's rules on their own. */
static void
test_retry_at_values(void **state)
{
	fixture *f = *state;
	agent_key_rec acc = { .use_until = T0 + 600 };

	f->cfg.rotation = 3600;
	f->cfg.overlap = 600;
	assert_int_equal(agent_urgent_from(&f->cfg, &acc), T0 + 300);
	assert_int_equal(agent_urgent_from(&f->cfg, NULL), INT64_MIN);
	/* before urgent: the backoff, but never past urgent */
	assert_int_equal(agent_retry_at(&f->cfg, 3, AGENT_RESULT_NO_REPLY, T0, T0 + 300, 0),
	    T0 + 4);
	assert_int_equal(agent_retry_at(&f->cfg, 12, AGENT_RESULT_NO_REPLY, T0, T0 + 300, 0),
	    T0 + 300);
	/* from urgent on: capped, whatever the failures */
	assert_int_equal(agent_retry_at(&f->cfg, 40, AGENT_RESULT_NO_REPLY, T0 + 300,
	    T0 + 300, 0), T0 + 300 + AGENT_URGENT_RETRY);
	assert_int_equal(agent_retry_at(&f->cfg, 40, REG_INTERNAL, T0 + 900, T0 + 300, 0),
	    T0 + 900 + AGENT_URGENT_RETRY);
	assert_int_equal(agent_retry_at(&f->cfg, 40, REG_TRY_LATER, T0 + 900, T0 + 300, 0),
	    T0 + 900 + AGENT_URGENT_RETRY);
	assert_string_equal(agent_result_name(REG_TRY_LATER), "TRY_LATER");
	assert_string_equal(agent_result_name(REG_KVNO_EXISTS), "KVNO_EXISTS");
	assert_string_equal(agent_result_name(AGENT_RESULT_NO_REPLY), "NO_REPLY");
	assert_string_equal(agent_result_name(REG_RESULT_COUNT), "UNKNOWN");
	assert_string_equal(agent_result_name(-5), "UNKNOWN");
	assert_int_equal(agent_retry_at(&f->cfg, 40, REG_SKEW, T0 + 900, T0 + 300, 0),
	    T0 + 900 + AGENT_URGENT_RETRY_REFUSED);
	/* jitter still applies: between half the cap and the cap */
	for (uint32_t r = 0; r < 50; r++) {
		int64_t at = agent_retry_at(&f->cfg, 40, AGENT_RESULT_NO_REPLY, T0, T0, r);
		assert_true(at >= T0 + 1 && at <= T0 + AGENT_URGENT_RETRY);
	}
	/* a rotation shorter than the urgent cap stays the cap */
	f->cfg.rotation = 1;
	assert_int_equal(agent_retry_at(&f->cfg, 40, 8, T0, T0, 0), T0 + 1);
}

/* ---- the keytab's owner ---- */

/* The keytab is a 0600 file of uid and gid. */
static void
assert_keytab_owned(const fixture *f, uid_t uid, gid_t gid)
{
	struct stat st;

	assert_int_equal(lstat(f->cfg.keytab, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static void
test_keytab_owner(void **state)
{
	fixture *f = *state;
	bool root = geteuid() == 0;
	uid_t uid = root ? 4242 : geteuid();
	gid_t gid = root ? 4343 : getegid();
	uint32_t kvnos[16];
	agent a;

	f->cfg.keytab_uid = uid;
	f->cfg.keytab_gid = gid;
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);             /* kvno 1 */
	assert_keytab_owned(f, uid, gid);
	assert_true(f->keys_matched_keytab);
	f->t = T0 + 100;
	assert_int_equal(agent_step(&a), LETHE_OK);             /* kvno 2 */
	assert_keytab_owned(f, uid, gid);
	f->t = T0 + 160;                                        /* prune kvno 1 */
	assert_int_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 2);
	assert_int_equal(kvnos[0], 2);
	assert_keytab_owned(f, uid, gid);
	agent_close(&a);
}

/* An owner the process may not give the keytab: the rotation fails before
 * any KDC hears of the key. As root every chown succeeds, so root checks
 * the refusal of an unwritable keytab folder instead. */
static void
test_keytab_owner_refused(void **state)
{
	fixture *f = *state;
	uint32_t kvnos[16];
	char dir[600];
	agent a;

	if (geteuid() == 0) {
		snprintf(dir, sizeof(dir), "%s/nodir", f->dir);
		snprintf(f->cfg.keytab, sizeof(f->cfg.keytab), "%s/server.keytab", dir);
		f->cfg.keytab_uid = 4242;
	} else {
		f->cfg.keytab_uid = 0;
	}
	open_agent(f, &a);
	assert_int_not_equal(agent_rotate(&a, 0, NULL, SIZE_MAX, NULL), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 0);
	assert_null(agent_state_find_key(&a.st, PRINC, 1));
	assert_int_equal(f->calls, 0);
	assert_int_equal(a.st.reg[0][0].kvno, 0);
	agent_close(&a);
}

/* ---- pruning ---- */

static void
test_prune_after_accept_until(void **state)
{
	fixture *f = *state;
	uint32_t kvnos[16];
	agent a;

	/* rotation 100 + overlap 10 = use 110; + max life 50 = accept 160 */
	f->result = AGENT_RESULT_NO_REPLY;      /* every KDC down */
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(agent_state_find_key(&a.st, PRINC, 1)->accept_until, T0 + 160);
	f->t = T0 + 100;
	assert_int_equal(agent_step(&a), LETHE_OK);     /* kvno 2 */
	f->t = T0 + 159;
	assert_int_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 4);
	assert_true(agent_next_wakeup(&a) <= T0 + 160);
	f->t = T0 + 160;
	assert_int_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 2);
	assert_int_equal(kvnos[0], 2);
	assert_int_equal(kvnos[1], 2);
	assert_null(agent_state_find_key(&a.st, PRINC, 1));
	agent_close(&a);
}

static void
test_prune_keeps_granted_window(void **state)
{
	fixture *f = *state;
	uint32_t kvnos[16];
	agent a;

	/* a KDC granted a longer accept_until: the key stays until then */
	f->granted = T0 + 500;
	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(agent_state_find_key(&a.st, PRINC, 1)->accept_until, T0 + 500);
	f->t = T0 + 499;
	assert_int_equal(agent_prune(&a, NULL), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 2);
	f->t = T0 + 500;
	assert_int_equal(agent_prune(&a, NULL), LETHE_OK);
	assert_int_equal(keytab_kvnos(f, kvnos, 16), 0);
	agent_close(&a);
}

static void
test_key_request_answer(void **state)
{
	fixture *f = *state;
	uint8_t nonce[AGENT_NONCE_LEN];
	agent a;

	memset(nonce, 0xA5, sizeof(nonce));
	open_agent(f, &a);
	assert_int_equal(agent_rotate(&a, 0, nonce, 1, NULL), LETHE_OK);
	assert_int_equal(agent_register_due(&a, false, NULL), LETHE_OK);
	assert_int_equal(f->calls, 2);
	/* only KDC 1, which asked, gets the nonce (it was the last call) */
	assert_int_equal(f->call_kdcs[1], 1);
	assert_true(f->answers_seen);
	assert_memory_equal(f->answers, nonce, sizeof(nonce));
	assert_false(a.st.reg[1][0].have_answers);
	agent_close(&a);
}

static void
test_corrupt_state_refused(void **state)
{
	fixture *f = *state;
	char path[AGENT_PATH_MAX + 16];
	agent_env env = { fake_now, fake_random, fake_register, f };
	agent a;

	assert_int_equal(mkdir(f->cfg.state_dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/keys", f->cfg.state_dir);
	write_file(path, "lethe-agent-keys\t1\nkvno\tlots\t" PRINC "\n", 0600);
	assert_int_equal(agent_open(&a, &f->cfg, &env), LETHE_ERR_FORMAT);
	write_file(path, "something else\n", 0600);
	assert_int_equal(agent_open(&a, &f->cfg, &env), LETHE_ERR_FORMAT);
	write_file(path, "lethe-agent-keys\t1\nkvno\t41\t" PRINC "\n", 0600);
	assert_int_equal(agent_open(&a, &f->cfg, &env), LETHE_OK);
	assert_int_equal(agent_state_kvno(&a.st, PRINC), 41);
	agent_close(&a);
}

static void
test_failures_back_off(void **state)
{
	fixture *f = *state;
	agent a;

	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);
	/* the keytab becomes unreadable once every key has expired */
	write_file(f->cfg.keytab, "not a keytab", 0600);
	f->t = T0 + 1000;
	assert_int_not_equal(agent_step(&a), LETHE_OK);
	/* rotation and pruning wait before trying again: no busy loop */
	assert_int_equal(agent_next_wakeup(&a), T0 + 1001);
	f->t = T0 + 1001;
	assert_int_not_equal(agent_step(&a), LETHE_OK);
	assert_int_equal(agent_next_wakeup(&a), T0 + 1003);
	/* the key record is kept until it can be pruned */
	assert_non_null(agent_state_find_key(&a.st, PRINC, 1));
	agent_close(&a);
}

static void
test_status_json(void **state)
{
	fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	agent a;

	open_agent(f, &a);
	assert_int_equal(agent_step(&a), LETHE_OK);
	agent_close(&a);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(agent_status_print(&f->cfg, true, out), LETHE_OK);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(text, "\"kvno\": 1, \"enctype\": 18, \"managed\": true, "
	    "\"created\": 1700000000, \"use_until\": 1700000110, "
	    "\"accept_until\": 1700000160}"));
	assert_non_null(strstr(text, "{\"kdc\": \"127.0.0.1:7002\", \"principal\": "
	    "\"" PRINC "\", \"kvno\": 1, \"registered\": true, \"registered_kvno\": 1, "
	    "\"result\": 0, \"result_name\": \"OK\", \"text\": \"fake 0\""));
	assert_int_equal(text[len - 2], '}');
	free(text);
}

static void
test_state_lock(void **state)
{
	fixture *f = *state;
	int fd1 = -1, fd2 = -1;

	assert_int_equal(agent_state_lock(&f->cfg, &fd1), LETHE_OK);
	/* flock locks belong to the open file: a second open conflicts */
	assert_int_equal(agent_state_lock(&f->cfg, &fd2), LETHE_ERR_INVALID_ARG);
	assert_int_equal(fd2, -1);
	close(fd1);
	assert_int_equal(agent_state_lock(&f->cfg, &fd2), LETHE_OK);
	close(fd2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_keytab_owner),
		cmocka_unit_test(test_backoff_values),
		cmocka_unit_test_setup_teardown(test_secret_file_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvno_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kvno_above_keytab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keytab_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keytab_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keytab_owner_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_register_refused_then_exists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backoff_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_urgent_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_never_registered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_at_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_after_accept_until, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_granted_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_request_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failures_back_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
