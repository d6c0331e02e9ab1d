/* Ticket times and flags policy (RFC 4120 §3.1.3, §3.3.3). */
#include "kdc/ticket.h"

#include "krb5/constants.h"
#include "store/store.h"

/* Options that only make sense in a TGS exchange. */
#define OPTS_TGS_ONLY (KRB_KDC_OPT_FORWARDED | KRB_KDC_OPT_PROXY | KRB_KDC_OPT_RENEW)

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* now + d, saturating at KDC_TIME_INFINITY (d >= 0). */
static int64_t
add_sat(int64_t now, int64_t d)
{
	if (d < 0)
		d = 0;
	if (now > 0 && d > KDC_TIME_INFINITY - now)
		return KDC_TIME_INFINITY;
	return now + d;
}

/* A requested time: absent or 0 means no limit. */
static int64_t
requested(bool has, int64_t t)
{
	return (!has || t == 0) ? KDC_TIME_INFINITY : t;
}

int64_t
kdc_limit_min(int64_t a, int64_t b, int64_t realm)
{
	int64_t m = realm;

	if (m <= 0)
		return 0;
	if (a > 0 && a < m)
		m = a;
	if (b > 0 && b < m)
		m = b;
	return m;
}

/*
 * The renew_till a request asks for (RENEWABLE, or RENEWABLE-OK when the
 * ticket would end before till), or 0 when it asks for no renewable ticket.
 */
static int64_t
wanted_renew_till(const kdc_time_request *req, int64_t till, int64_t endtime)
{
	if (req->options & KRB_KDC_OPT_RENEWABLE)
		return requested(req->has_rtime, req->rtime);
	if ((req->options & KRB_KDC_OPT_RENEWABLE_OK) && till > endtime)
		return till;
	return 0;
}

int32_t
kdc_as_times(int64_t now, const kdc_time_request *req, const kdc_life_limits *lim,
    bool renew_allowed, int64_t cap, kdc_ticket_times *out, const char **why)
{
	int64_t till = requested(req->has_till, req->till), want;

	*out = (kdc_ticket_times){ .authtime = now, .starttime = now };
	if (till <= now) {
		*why = "the requested end time (till) is not in the future";
		return KDC_ERR_NEVER_VALID;
	}
	out->endtime = min64(min64(till, add_sat(now, lim->max_life)), cap);
	if (out->endtime <= now) {
		*why = "the ticket would end before it starts";
		return KDC_ERR_NEVER_VALID;
	}
	want = wanted_renew_till(req, till, out->endtime);
	if (want != 0 && renew_allowed && lim->max_renew > 0) {
		out->renewable = true;
		out->renew_till = min64(min64(want, add_sat(now, lim->max_renew)), cap);
		if (out->renew_till < out->endtime)
			out->renew_till = out->endtime;
	}
	return 0;
}

static int32_t
tgs_renew_times(int64_t now, const kdc_tgt_times *tgt, int64_t cap, kdc_ticket_times *out,
    const char **why)
{
	int64_t life;

	if (!(tgt->flags & KRB_TKT_FLG_RENEWABLE) || !tgt->has_renew_till) {
		*why = "the ticket to renew is not renewable";
		return KDC_ERR_BADOPTION;
	}
	if (tgt->renew_till < now) {
		*why = "the ticket's renewable lifetime (renew-till) has passed";
		return KRB_AP_ERR_TKT_EXPIRED;
	}
	life = tgt->endtime > tgt->starttime ? tgt->endtime - tgt->starttime : 0;
	*out = (kdc_ticket_times){ .authtime = tgt->authtime, .starttime = now };
	out->renew_till = min64(tgt->renew_till, cap);
	out->endtime = min64(out->renew_till, add_sat(now, life));
	out->renewable = true;
	return 0;
}

int32_t
kdc_tgs_times(int64_t now, const kdc_time_request *req, const kdc_tgt_times *tgt,
    const kdc_life_limits *lim, bool renew_allowed, int64_t cap, kdc_ticket_times *out,
    const char **why)
{
	int64_t till = requested(req->has_till, req->till), want;

	if (req->options & KRB_KDC_OPT_RENEW)
		return tgs_renew_times(now, tgt, cap, out, why);
	*out = (kdc_ticket_times){ .authtime = tgt->authtime, .starttime = now };
	if (till <= now) {
		*why = "the requested end time (till) is not in the future";
		return KDC_ERR_NEVER_VALID;
	}
	out->endtime = min64(min64(till, tgt->endtime), add_sat(now, lim->max_life));
	out->endtime = min64(out->endtime, cap);
	if (out->endtime <= now) {
		*why = "the ticket would end before it starts";
		return KDC_ERR_NEVER_VALID;
	}
	want = wanted_renew_till(req, till, out->endtime);
	if (want != 0 && renew_allowed && lim->max_renew > 0 &&
	    (tgt->flags & KRB_TKT_FLG_RENEWABLE) && tgt->has_renew_till) {
		out->renewable = true;
		out->renew_till = min64(min64(want, tgt->renew_till),
		    add_sat(now, lim->max_renew));
		out->renew_till = min64(out->renew_till, cap);
		if (out->renew_till < out->endtime)
			out->renew_till = out->endtime;
	}
	return 0;
}

/* Refuse the options this KDC never honours, with a reason. */
static int32_t
check_never(uint32_t options, const char **why)
{
	if (options & (KRB_KDC_OPT_ALLOW_POSTDATE | KRB_KDC_OPT_POSTDATED | KRB_KDC_OPT_VALIDATE)) {
		*why = "postdated tickets are not supported (options allow-postdate, postdated, validate)";
		return KDC_ERR_BADOPTION;
	}
	if (options & KRB_KDC_OPT_ENC_TKT_IN_SKEY) {
		*why = "user-to-user tickets (enc-tkt-in-skey) are not supported";
		return KDC_ERR_BADOPTION;
	}
	if (options & KRB_KDC_OPT_CNAME_IN_ADDL_TKT) {
		*why = "constrained delegation (cname-in-addl-tkt) is not supported";
		return KDC_ERR_BADOPTION;
	}
	if (options & KRB_KDC_OPT_REQUEST_ANONYMOUS) {
		*why = "anonymous tickets are not supported";
		return KDC_ERR_BADOPTION;
	}
	return 0;
}

static bool
both_allow(const kdc_flag_policy *pol, uint32_t attr)
{
	return (pol->client_attrs & attr) && (pol->server_attrs & attr);
}

int32_t
kdc_as_flags(uint32_t options, const kdc_flag_policy *pol, bool preauthenticated,
    const kdc_ticket_times *times, uint32_t *flags, const char **why)
{
	uint32_t f = KRB_TKT_FLG_INITIAL;
	int32_t code;

	*flags = 0;
	if ((code = check_never(options, why)) != 0)
		return code;
	if (options & OPTS_TGS_ONLY) {
		*why = "forwarded, proxy and renew belong in a TGS request, not an AS request";
		return KDC_ERR_BADOPTION;
	}
	if (preauthenticated)
		f |= KRB_TKT_FLG_PRE_AUTHENT;
	if ((options & KRB_KDC_OPT_FORWARDABLE) && both_allow(pol, STORE_ATTR_ALLOW_FORWARDABLE))
		f |= KRB_TKT_FLG_FORWARDABLE;
	if ((options & KRB_KDC_OPT_PROXIABLE) && both_allow(pol, STORE_ATTR_ALLOW_PROXIABLE))
		f |= KRB_TKT_FLG_PROXIABLE;
	if (times->renewable)
		f |= KRB_TKT_FLG_RENEWABLE;
	if (pol->server_attrs & STORE_ATTR_OK_AS_DELEGATE)
		f |= KRB_TKT_FLG_OK_AS_DELEGATE;
	*flags = f;
	return 0;
}

static int32_t
tgs_forward_proxy(uint32_t options, uint32_t tgt_flags, const kdc_flag_policy *pol,
    uint32_t *f, const char **why)
{
	if (options & KRB_KDC_OPT_FORWARDED) {
		if (!(tgt_flags & KRB_TKT_FLG_FORWARDABLE)) {
			*why = "forwarded was asked but the TGT is not forwardable";
			return KDC_ERR_BADOPTION;
		}
		*f |= KRB_TKT_FLG_FORWARDED;
	}
	if (options & KRB_KDC_OPT_PROXY) {
		if (!(tgt_flags & KRB_TKT_FLG_PROXIABLE)) {
			*why = "proxy was asked but the TGT is not proxiable";
			return KDC_ERR_BADOPTION;
		}
		if (pol->server_is_tgs) {
			*why = "a proxy ticket cannot be a TGT";
			return KDC_ERR_BADOPTION;
		}
		*f |= KRB_TKT_FLG_PROXY;
	}
	return 0;
}

int32_t
kdc_tgs_flags(uint32_t options, uint32_t tgt_flags, const kdc_flag_policy *pol,
    const kdc_ticket_times *times, uint32_t *flags, const char **why)
{
	uint32_t f;
	int32_t code;

	*flags = 0;
	if ((code = check_never(options, why)) != 0)
		return code;
	/* INITIAL marks AS tickets only (RFC 4120 §2.1, §5.3): a renewal drops it. */
	if (options & KRB_KDC_OPT_RENEW) {
		*flags = tgt_flags & ~(KRB_TKT_FLG_INVALID | KRB_TKT_FLG_INITIAL);
		return 0;
	}
	f = tgt_flags & (KRB_TKT_FLG_PRE_AUTHENT | KRB_TKT_FLG_HW_AUTHENT | KRB_TKT_FLG_FORWARDED);
	if ((code = tgs_forward_proxy(options, tgt_flags, pol, &f, why)) != 0)
		return code;
	if ((options & KRB_KDC_OPT_FORWARDABLE) && (tgt_flags & KRB_TKT_FLG_FORWARDABLE) &&
	    (pol->server_attrs & STORE_ATTR_ALLOW_FORWARDABLE))
		f |= KRB_TKT_FLG_FORWARDABLE;
	if ((options & KRB_KDC_OPT_PROXIABLE) && (tgt_flags & KRB_TKT_FLG_PROXIABLE) &&
	    (pol->server_attrs & STORE_ATTR_ALLOW_PROXIABLE))
		f |= KRB_TKT_FLG_PROXIABLE;
	if (times->renewable)
		f |= KRB_TKT_FLG_RENEWABLE;
	if (pol->server_attrs & STORE_ATTR_OK_AS_DELEGATE)
		f |= KRB_TKT_FLG_OK_AS_DELEGATE;
	*flags = f;
	return 0;
}
