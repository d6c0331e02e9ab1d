/*
 * Ticket times and flags policy (RFC 4120 §3.1.3 for AS, §3.3.3 for TGS).
 *
 * Pure functions of their inputs: no clock, no snapshot, no allocation.
 * Each returns a Kerberos error code (0 when the ticket may be issued)
 * and, on refusal, points *why at a static sentence for the e-text.
 * Times are seconds since 1970; KDC_TIME_INFINITY stands for "no limit"
 * (a till or rtime of 0, or an absent one).
 */
#ifndef LETHE_KDC_TICKET_H
#define LETHE_KDC_TICKET_H

#include <stdbool.h>
#include <stdint.h>

#define KDC_TIME_INFINITY INT64_MAX

/* The lifetime limits that apply to one ticket, each > 0 except max_renew. */
typedef struct kdc_life_limits {
	int64_t max_life;       /* longest endtime - starttime */
	int64_t max_renew;      /* longest renew_till - starttime; 0: none */
} kdc_life_limits;

/* What a request asked for. */
typedef struct kdc_time_request {
	uint32_t options;       /* KRB_KDC_OPT_* */
	bool has_till;
	int64_t till;
	bool has_rtime;
	int64_t rtime;
} kdc_time_request;

/* The times of a ticket to issue. starttime is always set (= authtime or now). */
typedef struct kdc_ticket_times {
	int64_t authtime;
	int64_t starttime;
	int64_t endtime;
	bool renewable;         /* set KRB_TKT_FLG_RENEWABLE and renew_till */
	int64_t renew_till;
} kdc_ticket_times;

/* The principal attributes that bear on flags (STORE_ATTR_* bits). */
typedef struct kdc_flag_policy {
	uint32_t client_attrs;  /* 0 in a TGS exchange (the TGT carries them) */
	uint32_t server_attrs;
	bool server_is_tgs;     /* the ticket is for a krbtgt/ principal */
} kdc_flag_policy;

/*
 * The effective limit of two principals under the realm's: the realm's
 * value lowered by a or b when they are non-zero (0 there means "the
 * realm's"). A realm value of 0 (none allowed) gives 0.
 */
int64_t kdc_limit_min(int64_t a, int64_t b, int64_t realm);

/*
 * AS exchange times (no postdating): starttime = authtime = now;
 * endtime = min(till, now + lim->max_life); renewable when RENEWABLE was
 * asked (or RENEWABLE-OK and till lies beyond that endtime), renewal is
 * allowed and lim->max_renew > 0, with renew_till = min(rtime (till for
 * RENEWABLE-OK), now + max_renew), never below endtime. cap
 * (KDC_TIME_INFINITY for none) bounds endtime and renew_till, e.g. by the
 * client's expiry. KDC_ERR_NEVER_VALID when till is not after now or the
 * ticket would end at once.
 */
int32_t kdc_as_times(int64_t now, const kdc_time_request *req, const kdc_life_limits *lim,
    bool renew_allowed, int64_t cap, kdc_ticket_times *out, const char **why);

/* The times of a TGT as needed for TGS decisions. */
typedef struct kdc_tgt_times {
	uint32_t flags;         /* KRB_TKT_FLG_* of the TGT */
	int64_t authtime;
	int64_t starttime;      /* authtime when the TGT has none */
	int64_t endtime;
	bool has_renew_till;
	int64_t renew_till;
} kdc_tgt_times;

/*
 * TGS exchange times. Without RENEW: starttime = now, endtime =
 * min(till, tgt endtime, now + lim->max_life, cap), renewable as in the
 * AS exchange but only from a renewable TGT and never past its
 * renew_till. With RENEW (RFC 4120 §3.3.3.1): the TGT must be renewable
 * (KDC_ERR_BADOPTION) and its renew_till not passed
 * (KRB_AP_ERR_TKT_EXPIRED); endtime = min(renew_till, now + the TGT's
 * lifetime), renew_till unchanged. cap (KDC_TIME_INFINITY for none) bounds
 * endtime and renew_till, e.g. by a temporary key's accept_until.
 */
int32_t kdc_tgs_times(int64_t now, const kdc_time_request *req, const kdc_tgt_times *tgt,
    const kdc_life_limits *lim, bool renew_allowed, int64_t cap, kdc_ticket_times *out,
    const char **why);

/*
 * AS ticket flags: INITIAL, PRE_AUTHENT when pre-authenticated,
 * FORWARDABLE / PROXIABLE when asked and both principals allow it (else
 * silently left out, as MIT does), RENEWABLE from *times, OK_AS_DELEGATE
 * from the server. Options an AS exchange cannot honour give
 * KDC_ERR_BADOPTION: FORWARDED, PROXY, ALLOW_POSTDATE, POSTDATED, RENEW,
 * VALIDATE, ENC_TKT_IN_SKEY, CNAME_IN_ADDL_TKT, REQUEST_ANONYMOUS.
 */
int32_t kdc_as_flags(uint32_t options, const kdc_flag_policy *pol, bool preauthenticated,
    const kdc_ticket_times *times, uint32_t *flags, const char **why);

/*
 * TGS ticket flags from the TGT's flags. RENEW: the TGT's flags without
 * INVALID and INITIAL (only the AS exchange sets INITIAL, RFC 4120 §2.1;
 * MIT keeps it). Otherwise PRE_AUTHENT, HW_AUTHENT and FORWARDED are inherited;
 * FORWARDABLE / PROXIABLE when asked and the TGT has them; FORWARDED and
 * PROXY need the TGT's FORWARDABLE / PROXIABLE (KDC_ERR_BADOPTION
 * otherwise; PROXY is refused for a TGS); RENEWABLE from *times;
 * OK_AS_DELEGATE from the server. BADOPTION for ALLOW_POSTDATE,
 * POSTDATED, VALIDATE, ENC_TKT_IN_SKEY and CNAME_IN_ADDL_TKT.
 */
int32_t kdc_tgs_flags(uint32_t options, uint32_t tgt_flags, const kdc_flag_policy *pol,
    const kdc_ticket_times *times, uint32_t *flags, const char **why);

#endif
