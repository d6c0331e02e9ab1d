/* Ticket times and flags policy (RFC 4120 §3.1.3, §3.3.3), exact values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kdc/ticket.h"
#include "krb5/constants.h"
#include "store/store.h"

#define NOW INT64_C(1700000000)
#define H 3600
#define D 86400
#define INF KDC_TIME_INFINITY

static const kdc_life_limits lim10h = { 10 * H, 7 * D };

static void
test_limit_min(void **state)
{
	(void)state;
	assert_int_equal(kdc_limit_min(0, 0, 10 * H), 10 * H);
	assert_int_equal(kdc_limit_min(2 * H, 0, 10 * H), 2 * H);
	assert_int_equal(kdc_limit_min(0, 3 * H, 10 * H), 3 * H);
	assert_int_equal(kdc_limit_min(5 * H, 3 * H, 10 * H), 3 * H);
	assert_int_equal(kdc_limit_min(20 * H, 30 * H, 10 * H), 10 * H);   /* realm caps */
	assert_int_equal(kdc_limit_min(5 * H, 3 * H, 0), 0);                /* none allowed */
}

static void
test_as_times(void **state)
{
	kdc_ticket_times t;
	const char *why = NULL;

	(void)state;
	/* till 0 = infinity: the maximum life. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ 0, true, 0, false, 0 }, &lim10h,
	    true, INF, &t, &why), 0);
	assert_int_equal(t.authtime, NOW);
	assert_int_equal(t.starttime, NOW);
	assert_int_equal(t.endtime, NOW + 10 * H);
	assert_false(t.renewable);
	/* A nearer till wins. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ 0, true, NOW + H, false, 0 },
	    &lim10h, true, INF, &t, &why), 0);
	assert_int_equal(t.endtime, NOW + H);
	/* The cap (e.g. the client's expiry) wins over both. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ 0, false, 0, false, 0 },
	    &lim10h, true, NOW + 60, &t, &why), 0);
	assert_int_equal(t.endtime, NOW + 60);
	/* A till in the past, or a cap already reached: never valid. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ 0, true, NOW, false, 0 },
	    &lim10h, true, INF, &t, &why), KDC_ERR_NEVER_VALID);
	assert_non_null(why);
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ 0, false, 0, false, 0 },
	    &lim10h, true, NOW, &t, &why), KDC_ERR_NEVER_VALID);
}

static void
test_as_renewable(void **state)
{
	kdc_ticket_times t;
	const char *why;
	uint32_t renew = KRB_KDC_OPT_RENEWABLE, ok = KRB_KDC_OPT_RENEWABLE_OK;

	(void)state;
	/* RENEWABLE with rtime beyond the maximum: capped at 7 days. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ renew, true, 0, true, NOW + 30 * D },
	    &lim10h, true, INF, &t, &why), 0);
	assert_true(t.renewable);
	assert_int_equal(t.renew_till, NOW + 7 * D);
	/* RENEWABLE with rtime 0: infinity, so the maximum. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ renew, true, 0, true, 0 },
	    &lim10h, true, INF, &t, &why), 0);
	assert_int_equal(t.renew_till, NOW + 7 * D);
	/* rtime before endtime: renew_till is raised to endtime. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ renew, true, 0, true, NOW + H },
	    &lim10h, true, INF, &t, &why), 0);
	assert_int_equal(t.renew_till, t.endtime);
	/* RENEWABLE-OK: renewable up to till only when till lies beyond the life. */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ ok, true, NOW + D, false, 0 },
	    &lim10h, true, INF, &t, &why), 0);
	assert_true(t.renewable);
	assert_int_equal(t.endtime, NOW + 10 * H);
	assert_int_equal(t.renew_till, NOW + D);
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ ok, true, NOW + H, false, 0 },
	    &lim10h, true, INF, &t, &why), 0);
	assert_false(t.renewable);
	/* Not allowed by the principals, or by the realm (max_renew 0). */
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ renew, true, 0, true, 0 },
	    &lim10h, false, INF, &t, &why), 0);
	assert_false(t.renewable);
	assert_int_equal(kdc_as_times(NOW, &(kdc_time_request){ renew, true, 0, true, 0 },
	    &(kdc_life_limits){ 10 * H, 0 }, true, INF, &t, &why), 0);
	assert_false(t.renewable);
}

static const kdc_tgt_times tgt_plain = { KRB_TKT_FLG_INITIAL, NOW, NOW, NOW + 10 * H, false, 0 };
static const kdc_tgt_times tgt_renew = { KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_RENEWABLE, NOW, NOW,
	NOW + 10 * H, true, NOW + 2 * D };

static void
test_tgs_times(void **state)
{
	kdc_ticket_times t;
	const char *why;
	int64_t later = NOW + 2 * H;

	(void)state;
	/* Bounded by the TGT's end time, start now, authtime from the TGT. */
	assert_int_equal(kdc_tgs_times(later, &(kdc_time_request){ 0, true, 0, false, 0 },
	    &tgt_plain, &lim10h, true, INF, &t, &why), 0);
	assert_int_equal(t.authtime, NOW);
	assert_int_equal(t.starttime, later);
	assert_int_equal(t.endtime, NOW + 10 * H);
	/* Service limit of one hour. */
	assert_int_equal(kdc_tgs_times(later, &(kdc_time_request){ 0, true, 0, false, 0 },
	    &tgt_plain, &(kdc_life_limits){ H, 0 }, true, INF, &t, &why), 0);
	assert_int_equal(t.endtime, later + H);
	/* A temporary key's accept_until caps it. */
	assert_int_equal(kdc_tgs_times(later, &(kdc_time_request){ 0, true, 0, false, 0 },
	    &tgt_plain, &lim10h, true, later + 600, &t, &why), 0);
	assert_int_equal(t.endtime, later + 600);
	/* Renewable service ticket only from a renewable TGT, never past its renew_till. */
	assert_int_equal(kdc_tgs_times(later, &(kdc_time_request){ KRB_KDC_OPT_RENEWABLE, true, 0,
	    true, 0 }, &tgt_plain, &lim10h, true, INF, &t, &why), 0);
	assert_false(t.renewable);
	assert_int_equal(kdc_tgs_times(later, &(kdc_time_request){ KRB_KDC_OPT_RENEWABLE, true, 0,
	    true, 0 }, &tgt_renew, &lim10h, true, INF, &t, &why), 0);
	assert_true(t.renewable);
	assert_int_equal(t.renew_till, NOW + 2 * D);
	assert_int_equal(kdc_tgs_times(later, &(kdc_time_request){ 0, true, later, false, 0 },
	    &tgt_plain, &lim10h, true, INF, &t, &why), KDC_ERR_NEVER_VALID);
}

static void
test_tgs_renew(void **state)
{
	kdc_ticket_times t;
	const char *why;
	kdc_time_request rq = { KRB_KDC_OPT_RENEW, true, 0, false, 0 };

	(void)state;
	assert_int_equal(kdc_tgs_times(NOW + 9 * H, &rq, &tgt_renew, &lim10h, true, INF, &t, &why),
	    0);
	assert_int_equal(t.starttime, NOW + 9 * H);
	assert_int_equal(t.endtime, NOW + 19 * H);     /* now + the TGT's 10 h life */
	assert_int_equal(t.renew_till, NOW + 2 * D);
	assert_int_equal(t.authtime, NOW);
	assert_true(t.renewable);
	/* Near renew_till: capped by it. */
	assert_int_equal(kdc_tgs_times(NOW + 2 * D - H, &rq, &tgt_renew, &lim10h, true, INF, &t,
	    &why), 0);
	assert_int_equal(t.endtime, NOW + 2 * D);
	assert_int_equal(kdc_tgs_times(NOW + 2 * D + 1, &rq, &tgt_renew, &lim10h, true, INF, &t,
	    &why), KRB_AP_ERR_TKT_EXPIRED);
	assert_int_equal(kdc_tgs_times(NOW + H, &rq, &tgt_plain, &lim10h, true, INF, &t, &why),
	    KDC_ERR_BADOPTION);
}

static void
test_as_flags(void **state)
{
	kdc_flag_policy both = { STORE_ATTR_DEFAULT_USER, STORE_ATTR_DEFAULT_SERVICE, true };
	kdc_flag_policy no_fwd = { STORE_ATTR_DEFAULT_USER & ~STORE_ATTR_ALLOW_FORWARDABLE,
		STORE_ATTR_DEFAULT_SERVICE | STORE_ATTR_OK_AS_DELEGATE, true };
	kdc_ticket_times rt = { .renewable = true }, nr = { .renewable = false };
	uint32_t f, fp = KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_PROXIABLE;
	const char *why;

	(void)state;
	assert_int_equal(kdc_as_flags(fp, &both, true, &rt, &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT |
	    KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_PROXIABLE | KRB_TKT_FLG_RENEWABLE);
	assert_int_equal(kdc_as_flags(fp, &no_fwd, false, &nr, &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PROXIABLE |
	    KRB_TKT_FLG_OK_AS_DELEGATE);
	assert_int_equal(kdc_as_flags(KRB_KDC_OPT_POSTDATED, &both, true, &nr, &f, &why),
	    KDC_ERR_BADOPTION);
	assert_int_equal(f, 0);
	assert_int_equal(kdc_as_flags(KRB_KDC_OPT_PROXY, &both, true, &nr, &f, &why),
	    KDC_ERR_BADOPTION);
	assert_int_equal(kdc_as_flags(KRB_KDC_OPT_REQUEST_ANONYMOUS, &both, true, &nr, &f, &why),
	    KDC_ERR_BADOPTION);
	/* Unknown option bits are ignored (RFC 4120 §5.4.1). */
	assert_int_equal(kdc_as_flags(KRB_FLAG(20), &both, true, &nr, &f, &why), 0);
}

static void
test_tgs_flags(void **state)
{
	kdc_flag_policy svc = { 0, STORE_ATTR_DEFAULT_SERVICE, false };
	kdc_flag_policy tgs = { 0, STORE_ATTR_DEFAULT_SERVICE, true };
	kdc_ticket_times nr = { .renewable = false };
	uint32_t tgt = KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_FORWARDABLE |
	    KRB_TKT_FLG_PROXIABLE | KRB_TKT_FLG_RENEWABLE;
	uint32_t f;
	const char *why;

	(void)state;
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_FORWARDABLE, tgt, &svc, &nr, &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_FORWARDABLE);
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_FORWARDABLE, KRB_TKT_FLG_PRE_AUTHENT, &svc, &nr,
	    &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_PRE_AUTHENT);   /* silently not forwardable */
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_FORWARDED, tgt, &svc, &nr, &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_FORWARDED);
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_FORWARDED, KRB_TKT_FLG_PRE_AUTHENT, &svc, &nr,
	    &f, &why), KDC_ERR_BADOPTION);
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_PROXY, tgt, &svc, &nr, &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_PROXY);
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_PROXY, tgt, &tgs, &nr, &f, &why),
	    KDC_ERR_BADOPTION);
	/* A forwarded TGT makes forwarded tickets. */
	assert_int_equal(kdc_tgs_flags(0, KRB_TKT_FLG_FORWARDED, &svc, &nr, &f, &why), 0);
	assert_int_equal(f, KRB_TKT_FLG_FORWARDED);
	/* RENEW keeps the TGT's flags, without INVALID and INITIAL (AS tickets only). */
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_RENEW, tgt | KRB_TKT_FLG_INVALID, &tgs, &nr, &f,
	    &why), 0);
	assert_int_equal(f, tgt & ~KRB_TKT_FLG_INITIAL);
	assert_true(f & KRB_TKT_FLG_PRE_AUTHENT);
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_VALIDATE, tgt, &tgs, &nr, &f, &why),
	    KDC_ERR_BADOPTION);
	assert_int_equal(kdc_tgs_flags(KRB_KDC_OPT_CNAME_IN_ADDL_TKT, tgt, &svc, &nr, &f, &why),
	    KDC_ERR_BADOPTION);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_min),
		cmocka_unit_test(test_as_times),
		cmocka_unit_test(test_as_renewable),
		cmocka_unit_test(test_tgs_times),
		cmocka_unit_test(test_tgs_renew),
		cmocka_unit_test(test_as_flags),
		cmocka_unit_test(test_tgs_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
