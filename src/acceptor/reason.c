/* Refusal reasons: their KRB-ERROR codes and names. */
#include "acceptor/internal.h"

static const struct {
	int32_t code;
	const char *name;
} reasons[ACC_REASON_COUNT] = {
	[ACC_ACCEPTED] = { 0, "accepted" },
	[ACC_MALFORMED] = { KRB_ERR_GENERIC, "malformed" },
	[ACC_MSG_TYPE] = { KRB_AP_ERR_MSG_TYPE, "msg_type" },
	[ACC_USER_TO_USER] = { KRB_AP_ERR_METHOD, "user_to_user" },
	[ACC_NOT_US] = { KRB_AP_ERR_NOT_US, "not_us" },
	[ACC_BADKEYVER] = { KRB_AP_ERR_BADKEYVER, "badkeyver" },
	[ACC_ETYPE] = { KDC_ERR_ETYPE_NOSUPP, "etype" },
	[ACC_TICKET_INTEGRITY] = { KRB_AP_ERR_BAD_INTEGRITY, "ticket_integrity" },
	[ACC_TKT_EXPIRED] = { KRB_AP_ERR_TKT_EXPIRED, "tkt_expired" },
	[ACC_TKT_NYV] = { KRB_AP_ERR_TKT_NYV, "tkt_nyv" },
	[ACC_AUTH_INTEGRITY] = { KRB_AP_ERR_BAD_INTEGRITY, "authenticator_integrity" },
	[ACC_BADMATCH] = { KRB_AP_ERR_BADMATCH, "badmatch" },
	[ACC_SKEW] = { KRB_AP_ERR_SKEW, "skew" },
	[ACC_REPEAT] = { KRB_AP_ERR_REPEAT, "repeat" },
	[ACC_RCACHE_FULL] = { KRB_ERR_GENERIC, "rcache_full" },
	[ACC_INTERNAL] = { KRB_ERR_GENERIC, "internal" },
	[ACC_TICKET_SIGNATURE] = { KRB_AP_ERR_BAD_INTEGRITY, "ticket_signature" },
};

int32_t
acc_reason_krb_code(acc_reason reason)
{
	if ((unsigned)reason >= ACC_REASON_COUNT)
		return KRB_ERR_GENERIC;
	return reasons[reason].code;
}

const char *
acc_reason_str(acc_reason reason)
{
	if ((unsigned)reason >= ACC_REASON_COUNT)
		return "unknown";
	return reasons[reason].name;
}
