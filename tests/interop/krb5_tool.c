/*
 * krb5_tool: a test helper for the Kerberos interop scripts, built on
 * Lethe's message codec (src/krb5).
 *
 *   krb5_tool decode [-t TYPE] FILE
 *	Decode one DER message (TYPE guessed from its APPLICATION tag when
 *	omitted), print its fields as "path=value" lines, then re-encode it
 *	from the fields alone (raw views cleared) and print
 *	"reencode=identical" or "reencode=DIFFERENT". Padata values,
 *	e-data and PA-TGS-REQ's AP-REQ are decoded and re-encoded too.
 *	Exit 0 when everything decoded and re-encoded byte for byte, 1 on a
 *	decode error, 2 when some re-encoding differs, 64 on usage errors.
 *   krb5_tool decrypt [-k KEYTAB] [-s DIR] AS_REQ AS_REP [TGS_REQ TGS_REP]
 *	With the client's password on stdin (salt from the AS-REP's
 *	PA-ETYPE-INFO2): decrypt and print the AS-REQ's PA-ENC-TIMESTAMP,
 *	the AS-REP enc-part (checking its nonce against the AS-REQ), then
 *	the TGS-REQ authenticator and the TGS-REP enc-part under the session
 *	key, and with KEYTAB every ticket's EncTicketPart. Exit codes as
 *	for decode; a failed decryption or a nonce mismatch is 1. With -s,
 *	each plaintext is also saved as DIR/<path>.der (mode 0600), for
 *	fuzz seeds.
 *   krb5_tool samples DIR
 *	Write Lethe's encoding of each message type, and of each type
 *	carried inside messages, with realistic field values, to
 *	DIR/<type>.der.
 *   krb5_tool types
 *	List the TYPE names.
 *   krb5_tool asreq HOST:PORT REALM CLIENT SERVER OUT
 *	Send one AS-REQ for CLIENT and SERVER (names as "a/b", in REALM)
 *	without pre-authentication to the KDC over UDP, as anyone who can
 *	reach port 88 can, and write the reply (AS-REP or KRB-ERROR) to
 *	OUT for "decode". Exit 0 when a reply came, 1 otherwise.
 *   krb5_tool send HOST:PORT IN OUT
 *	Send the bytes of file IN (a captured request, e.g. to replay it)
 *	to the KDC over UDP as they are, and write the reply to OUT. Exit 0
 *	when a reply came, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/status.h"
#include <openssl/crypto.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "der/der.h"
#include "keytab/keytab.h"
#include "krb5/krb5.h"

#define TOOL_ARENA_BUDGET ((size_t)1 << 22)
#define TOOL_MAX_INPUT ((size_t)1 << 20)
#define TOOL_MAX_OUTPUT ((size_t)1 << 20)
#define TOOL_PFX_MAX 256

#define EXIT_DECODE 1
#define EXIT_REENCODE 2
#define EXIT_USAGE 64

/* Every decoded type in one place, so the table below can hold any. */
typedef union krb_any {
	krb_kdc_req kdc_req;
	krb_kdc_rep kdc_rep;
	krb_ap_req ap_req;
	krb_ap_rep ap_rep;
	krb_error error;
	krb_safe safe;
	krb_priv priv;
	krb_ticket ticket;
	krb_enc_ticket_part enc_ticket_part;
	krb_authenticator authenticator;
	krb_enc_kdc_rep_part enc_kdc_rep_part;
	krb_enc_ap_rep_part enc_ap_rep_part;
	krb_enc_krb_priv_part enc_krb_priv_part;
	krb_pa_enc_ts_enc pa_enc_ts_enc;
	krb_etype_info2 etype_info2;
	krb_method_data method_data;
	krb_typed_data typed_data;
	krb_pa_pac_request pa_pac_request;
	krb_enc_data enc_data;
} krb_any;

typedef struct msg_kind {
	const char *name;
	int app_tag;            /* APPLICATION tag number, or -1 */
	lethe_status (*decode)(lethe_arena *a, const uint8_t *d, size_t n, krb_any *out);
	lethe_status (*encode)(der_writer *w, const krb_any *in);
	void (*print)(const char *p, lethe_arena *a, const krb_any *m);
} msg_kind;

static int decode_failures;
static int reencode_failures;

static const msg_kind *kind_by_name(const char *name);
static void usage(void);
static void decode_nested(const char *kind_name, const char *p, lethe_arena *a, lbytes data);

/* ------------------------------------------------------------- printing */

static void put(const char *p, const char *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Print "p.k=value". */
static void
put(const char *p, const char *k, const char *fmt, ...)
{
	va_list ap;

	printf("%s%s%s=", p, (*p && *k) ? "." : "", k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void sub(char *buf, const char *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* buf = "p." followed by the formatted name (TOOL_PFX_MAX bytes, truncated). */
static void
sub(char *buf, const char *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(buf, TOOL_PFX_MAX, "%s%s", p, *p ? "." : "");
	if (n < 0 || (size_t)n >= TOOL_PFX_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, TOOL_PFX_MAX - (size_t)n, fmt, ap);
	va_end(ap);
}

/* A string with every byte outside printable ASCII (and '\') as \xHH. */
static void
put_str(const char *p, const char *k, lbytes s)
{
	printf("%s%s%s=", p, (*p && *k) ? "." : "", k);
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.data[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
}

static void
put_hex(const char *p, const char *k, lbytes s)
{
	printf("%s%s%s=", p, (*p && *k) ? "." : "", k);
	for (size_t i = 0; i < s.len; i++)
		printf("%02x", s.data[i]);
	putchar('\n');
}

/* KerberosTime as GeneralizedTime text. */
static void
put_time(const char *p, const char *k, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm) == 0) {
		put(p, k, "%lld", (long long)t);
		return;
	}
	put(p, k, "%s", buf);
}

typedef struct flag_name {
	uint32_t bit;
	const char *name;
} flag_name;

static const flag_name kdc_option_names[] = {
	{ KRB_KDC_OPT_FORWARDABLE, "forwardable" },
	{ KRB_KDC_OPT_FORWARDED, "forwarded" },
	{ KRB_KDC_OPT_PROXIABLE, "proxiable" },
	{ KRB_KDC_OPT_PROXY, "proxy" },
	{ KRB_KDC_OPT_ALLOW_POSTDATE, "allow-postdate" },
	{ KRB_KDC_OPT_POSTDATED, "postdated" },
	{ KRB_KDC_OPT_RENEWABLE, "renewable" },
	{ KRB_KDC_OPT_CNAME_IN_ADDL_TKT, "cname-in-addl-tkt" },
	{ KRB_KDC_OPT_CANONICALIZE, "canonicalize" },
	{ KRB_KDC_OPT_REQUEST_ANONYMOUS, "request-anonymous" },
	{ KRB_KDC_OPT_DISABLE_TRANSITED_CHECK, "disable-transited-check" },
	{ KRB_KDC_OPT_RENEWABLE_OK, "renewable-ok" },
	{ KRB_KDC_OPT_ENC_TKT_IN_SKEY, "enc-tkt-in-skey" },
	{ KRB_KDC_OPT_RENEW, "renew" },
	{ KRB_KDC_OPT_VALIDATE, "validate" },
	{ 0, NULL },
};

static const flag_name ticket_flag_names[] = {
	{ KRB_TKT_FLG_FORWARDABLE, "forwardable" },
	{ KRB_TKT_FLG_FORWARDED, "forwarded" },
	{ KRB_TKT_FLG_PROXIABLE, "proxiable" },
	{ KRB_TKT_FLG_PROXY, "proxy" },
	{ KRB_TKT_FLG_MAY_POSTDATE, "may-postdate" },
	{ KRB_TKT_FLG_POSTDATED, "postdated" },
	{ KRB_TKT_FLG_INVALID, "invalid" },
	{ KRB_TKT_FLG_RENEWABLE, "renewable" },
	{ KRB_TKT_FLG_INITIAL, "initial" },
	{ KRB_TKT_FLG_PRE_AUTHENT, "pre-authent" },
	{ KRB_TKT_FLG_HW_AUTHENT, "hw-authent" },
	{ KRB_TKT_FLG_TRANSITED_POLICY_CHECKED, "transited-policy-checked" },
	{ KRB_TKT_FLG_OK_AS_DELEGATE, "ok-as-delegate" },
	{ KRB_TKT_FLG_ENC_PA_REP, "enc-pa-rep" },
	{ KRB_TKT_FLG_ANONYMOUS, "anonymous" },
	{ 0, NULL },
};

static const flag_name ap_option_names[] = {
	{ KRB_AP_OPT_USE_SESSION_KEY, "use-session-key" },
	{ KRB_AP_OPT_MUTUAL_REQUIRED, "mutual-required" },
	{ 0, NULL },
};

/* Flags as "0x%08x name,name" (unnamed bits show only in the hex). */
static void
put_flags(const char *p, const char *k, uint32_t v, const flag_name *names)
{
	printf("%s%s%s=0x%08x", p, (*p && *k) ? "." : "", k, (unsigned)v);
	const char *sep = " ";
	for (const flag_name *f = names; f->name != NULL; f++) {
		if (v & f->bit) {
			printf("%s%s", sep, f->name);
			sep = ",";
		}
	}
	putchar('\n');
}

/* Principal name as "k=comp/comp" and "k.name-type=N". */
static void
put_principal(const char *p, const char *k, const krb_principal_name *pn)
{
	char pk[TOOL_PFX_MAX];
	char text[4096];
	size_t len;

	sub(pk, p, "%s", k);
	put(pk, "name-type", "%d", (int)pn->name_type);
	if (krb_principal_unparse(pn, (lbytes){ NULL, 0 }, text, sizeof(text), &len) != LETHE_OK)
		put(p, k, "<too long: %zu components>", pn->n_components);
	else
		put(p, k, "%s", text);
}

static void
put_enc_data(const char *p, const char *k, const krb_enc_data *ed)
{
	char pk[TOOL_PFX_MAX];

	sub(pk, p, "%s", k);
	put(pk, "etype", "%d", (int)ed->etype);
	if (ed->has_kvno)
		put(pk, "kvno", "%u", (unsigned)ed->kvno);
	put(pk, "cipher-len", "%zu", ed->cipher.len);
}

/* The key value is never printed, only its type and length. */
static void
put_key(const char *p, const char *k, const krb_encryption_key *key)
{
	char pk[TOOL_PFX_MAX];

	sub(pk, p, "%s", k);
	put(pk, "keytype", "%d", (int)key->keytype);
	put(pk, "keyvalue-len", "%zu", key->keyvalue.len);
}

static void
put_checksum(const char *p, const char *k, const krb_checksum *ck)
{
	char pk[TOOL_PFX_MAX];

	sub(pk, p, "%s", k);
	put(pk, "cksumtype", "%d", (int)ck->cksumtype);
	put_hex(pk, "checksum", ck->checksum);
}

static void
put_address(const char *p, const krb_host_address *ha)
{
	put(p, "addr-type", "%d", (int)ha->addr_type);
	put_hex(p, "address", ha->address);
}

static void
put_addresses(const char *p, const char *k, const krb_host_addresses *list)
{
	char pk[TOOL_PFX_MAX];

	sub(pk, p, "%s", k);
	put(pk, "count", "%zu", list->count);
	for (size_t i = 0; i < list->count; i++) {
		sub(pk, p, "%s[%zu]", k, i);
		put_address(pk, &list->addrs[i]);
	}
}

static void
put_authdata(const char *p, const char *k, const krb_authdata *ad)
{
	char pk[TOOL_PFX_MAX];

	sub(pk, p, "%s", k);
	put(pk, "count", "%zu", ad->count);
	for (size_t i = 0; i < ad->count; i++) {
		sub(pk, p, "%s[%zu]", k, i);
		put(pk, "ad-type", "%d", (int)ad->items[i].ad_type);
		put_hex(pk, "ad-data", ad->items[i].ad_data);
	}
}

static void
put_ticket(const char *p, const krb_ticket *t)
{
	put_str(p, "realm", t->realm);
	put_principal(p, "sname", &t->sname);
	put_enc_data(p, "enc-part", &t->enc_part);
}

/* One PA-DATA; known value types are decoded and checked in turn. */
static void
put_pa_data(const char *p, lethe_arena *a, const krb_pa_data *pa)
{
	char pk[TOOL_PFX_MAX];

	put(p, "padata-type", "%d", (int)pa->padata_type);
	put(p, "padata-value-len", "%zu", pa->padata_value.len);
	switch (pa->padata_type) {
	case KRB_PA_TGS_REQ:
		sub(pk, p, "ap-req");
		decode_nested("ap-req", pk, a, pa->padata_value);
		break;
	case KRB_PA_ENC_TIMESTAMP:
		if (pa->padata_value.len == 0)
			break;      /* empty in a KRB-ERROR: "this method is supported" */
		sub(pk, p, "enc-timestamp");
		decode_nested("enc-data", pk, a, pa->padata_value);
		break;
	case KRB_PA_ETYPE_INFO2:
		sub(pk, p, "etype-info2");
		decode_nested("etype-info2", pk, a, pa->padata_value);
		break;
	case KRB_PA_PAC_REQUEST:
		sub(pk, p, "pac-request");
		decode_nested("pa-pac-request", pk, a, pa->padata_value);
		break;
	default:
		put_hex(p, "padata-value", pa->padata_value);
		break;
	}
}

static void
put_method_data(const char *p, const char *k, lethe_arena *a, const krb_method_data *md)
{
	char pk[TOOL_PFX_MAX];

	sub(pk, p, "%s", k);
	put(pk, "count", "%zu", md->count);
	for (size_t i = 0; i < md->count; i++) {
		sub(pk, p, "%s[%zu]", k, i);
		put_pa_data(pk, a, &md->items[i]);
	}
}

/* --------------------------------------------------------- the printers */

static void
print_kdc_req_body(const char *p, const krb_kdc_req_body *b)
{
	char pk[TOOL_PFX_MAX];

	put_flags(p, "kdc-options", b->kdc_options, kdc_option_names);
	if (b->has_cname)
		put_principal(p, "cname", &b->cname);
	put_str(p, "realm", b->realm);
	if (b->has_sname)
		put_principal(p, "sname", &b->sname);
	if (b->has_from)
		put_time(p, "from", b->from);
	if (b->has_till)
		put_time(p, "till", b->till);
	if (b->has_rtime)
		put_time(p, "rtime", b->rtime);
	put(p, "nonce", "%u", (unsigned)b->nonce);
	printf("%s%setype=", p, *p ? "." : "");
	for (size_t i = 0; i < b->n_etypes; i++)
		printf("%s%d", i ? "," : "", (int)b->etypes[i]);
	putchar('\n');
	if (b->addresses.count != 0)
		put_addresses(p, "addresses", &b->addresses);
	if (b->has_enc_authorization_data)
		put_enc_data(p, "enc-authorization-data", &b->enc_authorization_data);
	if (b->n_additional_tickets != 0) {
		put(p, "additional-tickets.count", "%zu", b->n_additional_tickets);
		for (size_t i = 0; i < b->n_additional_tickets; i++) {
			sub(pk, p, "additional-tickets[%zu]", i);
			put_ticket(pk, &b->additional_tickets[i]);
		}
	}
}

static void
print_kdc_req(const char *p, lethe_arena *a, const krb_any *m)
{
	char pk[TOOL_PFX_MAX];

	put(p, "msg-type", "%d", (int)m->kdc_req.msg_type);
	if (m->kdc_req.padata.count != 0)
		put_method_data(p, "padata", a, &m->kdc_req.padata);
	sub(pk, p, "req-body");
	print_kdc_req_body(pk, &m->kdc_req.body);
}

static void
print_kdc_rep(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_kdc_rep *r = &m->kdc_rep;
	char pk[TOOL_PFX_MAX];

	put(p, "msg-type", "%d", (int)r->msg_type);
	if (r->padata.count != 0)
		put_method_data(p, "padata", a, &r->padata);
	put_str(p, "crealm", r->crealm);
	put_principal(p, "cname", &r->cname);
	sub(pk, p, "ticket");
	put_ticket(pk, &r->ticket);
	put_enc_data(p, "enc-part", &r->enc_part);
}

static void
print_ticket(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put_ticket(p, &m->ticket);
}

static void
print_enc_ticket_part(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_enc_ticket_part *e = &m->enc_ticket_part;
	char pk[TOOL_PFX_MAX];

	(void)a;
	put_flags(p, "flags", e->flags, ticket_flag_names);
	put_key(p, "key", &e->key);
	put_str(p, "crealm", e->crealm);
	put_principal(p, "cname", &e->cname);
	sub(pk, p, "transited");
	put(pk, "tr-type", "%d", (int)e->transited.tr_type);
	put_hex(pk, "contents", e->transited.contents);
	put_time(p, "authtime", e->authtime);
	if (e->has_starttime)
		put_time(p, "starttime", e->starttime);
	put_time(p, "endtime", e->endtime);
	if (e->has_renew_till)
		put_time(p, "renew-till", e->renew_till);
	if (e->caddr.count != 0)
		put_addresses(p, "caddr", &e->caddr);
	if (e->authorization_data.count != 0)
		put_authdata(p, "authorization-data", &e->authorization_data);
}

static void
print_enc_kdc_rep_part(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_enc_kdc_rep_part *e = &m->enc_kdc_rep_part;
	char pk[TOOL_PFX_MAX];

	put(p, "app-tag", "%u", (unsigned)e->app_tag);
	put_key(p, "key", &e->key);
	put(p, "last-req.count", "%zu", e->last_req.count);
	for (size_t i = 0; i < e->last_req.count; i++) {
		sub(pk, p, "last-req[%zu]", i);
		put(pk, "lr-type", "%d", (int)e->last_req.items[i].lr_type);
		put_time(pk, "lr-value", e->last_req.items[i].lr_value);
	}
	put(p, "nonce", "%u", (unsigned)e->nonce);
	if (e->has_key_expiration)
		put_time(p, "key-expiration", e->key_expiration);
	put_flags(p, "flags", e->flags, ticket_flag_names);
	put_time(p, "authtime", e->authtime);
	if (e->has_starttime)
		put_time(p, "starttime", e->starttime);
	put_time(p, "endtime", e->endtime);
	if (e->has_renew_till)
		put_time(p, "renew-till", e->renew_till);
	put_str(p, "srealm", e->srealm);
	put_principal(p, "sname", &e->sname);
	if (e->caddr.count != 0)
		put_addresses(p, "caddr", &e->caddr);
	if (e->encrypted_pa_data.count != 0)
		put_method_data(p, "encrypted-pa-data", a, &e->encrypted_pa_data);
}

static void
print_ap_req(const char *p, lethe_arena *a, const krb_any *m)
{
	char pk[TOOL_PFX_MAX];

	(void)a;
	put(p, "msg-type", "%d", KRB_MSG_AP_REQ);
	put_flags(p, "ap-options", m->ap_req.ap_options, ap_option_names);
	sub(pk, p, "ticket");
	put_ticket(pk, &m->ap_req.ticket);
	put_enc_data(p, "authenticator", &m->ap_req.authenticator);
}

static void
print_authenticator(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_authenticator *au = &m->authenticator;

	(void)a;
	put_str(p, "crealm", au->crealm);
	put_principal(p, "cname", &au->cname);
	if (au->has_cksum)
		put_checksum(p, "cksum", &au->cksum);
	put(p, "cusec", "%d", (int)au->cusec);
	put_time(p, "ctime", au->ctime);
	if (au->has_subkey)
		put_key(p, "subkey", &au->subkey);
	if (au->has_seq_number)
		put(p, "seq-number", "%u", (unsigned)au->seq_number);
	if (au->authorization_data.count != 0)
		put_authdata(p, "authorization-data", &au->authorization_data);
}

static void
print_ap_rep(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put(p, "msg-type", "%d", KRB_MSG_AP_REP);
	put_enc_data(p, "enc-part", &m->ap_rep.enc_part);
}

static void
print_enc_ap_rep_part(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_enc_ap_rep_part *e = &m->enc_ap_rep_part;

	(void)a;
	put_time(p, "ctime", e->ctime);
	put(p, "cusec", "%d", (int)e->cusec);
	if (e->has_subkey)
		put_key(p, "subkey", &e->subkey);
	if (e->has_seq_number)
		put(p, "seq-number", "%u", (unsigned)e->seq_number);
}

/* e-data: METHOD-DATA when it decodes as such, else TYPED-DATA, else hex. */
static void
put_e_data(const char *p, lethe_arena *a, lbytes e_data)
{
	krb_method_data md;
	krb_typed_data td;
	char pk[TOOL_PFX_MAX];

	put(p, "e-data-len", "%zu", e_data.len);
	if (krb_decode_method_data(a, e_data.data, e_data.len, &md) == LETHE_OK) {
		sub(pk, p, "e-data");
		decode_nested("method-data", pk, a, e_data);
	} else if (krb_decode_typed_data(a, e_data.data, e_data.len, &td) == LETHE_OK) {
		put(p, "e-data.typed-data.count", "%zu", td.count);
		for (size_t i = 0; i < td.count; i++) {
			sub(pk, p, "e-data.typed-data[%zu]", i);
			put(pk, "data-type", "%d", (int)td.items[i].data_type);
			if (td.items[i].has_data_value)
				put_hex(pk, "data-value", td.items[i].data_value);
		}
	} else {
		put_hex(p, "e-data", e_data);
	}
}

static void
print_krb_error(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_error *e = &m->error;
	const char *name = krb_error_code_name(e->error_code);

	put(p, "msg-type", "%d", KRB_MSG_ERROR);
	if (e->has_ctime)
		put_time(p, "ctime", e->ctime);
	if (e->has_cusec)
		put(p, "cusec", "%d", (int)e->cusec);
	put_time(p, "stime", e->stime);
	put(p, "susec", "%d", (int)e->susec);
	put(p, "error-code", "%d", (int)e->error_code);
	put(p, "error-name", "%s", name ? name : "unknown");
	if (e->has_crealm)
		put_str(p, "crealm", e->crealm);
	if (e->has_cname)
		put_principal(p, "cname", &e->cname);
	put_str(p, "realm", e->realm);
	put_principal(p, "sname", &e->sname);
	if (e->has_e_text)
		put_str(p, "e-text", e->e_text);
	if (e->has_e_data)
		put_e_data(p, a, e->e_data);
}

static void
put_safe_body(const char *p, const krb_safe_body *b)
{
	char pk[TOOL_PFX_MAX];

	put_str(p, "user-data", b->user_data);
	if (b->has_timestamp)
		put_time(p, "timestamp", b->timestamp);
	if (b->has_usec)
		put(p, "usec", "%d", (int)b->usec);
	if (b->has_seq_number)
		put(p, "seq-number", "%u", (unsigned)b->seq_number);
	sub(pk, p, "s-address");
	put_address(pk, &b->s_address);
	if (b->has_r_address) {
		sub(pk, p, "r-address");
		put_address(pk, &b->r_address);
	}
}

static void
print_krb_safe(const char *p, lethe_arena *a, const krb_any *m)
{
	char pk[TOOL_PFX_MAX];

	(void)a;
	put(p, "msg-type", "%d", KRB_MSG_SAFE);
	sub(pk, p, "safe-body");
	put_safe_body(pk, &m->safe.body);
	put_checksum(p, "cksum", &m->safe.cksum);
}

static void
print_krb_priv(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put(p, "msg-type", "%d", KRB_MSG_PRIV);
	put_enc_data(p, "enc-part", &m->priv.enc_part);
}

static void
print_enc_krb_priv_part(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put_safe_body(p, &m->enc_krb_priv_part);
}

static void
print_pa_enc_ts_enc(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put_time(p, "patimestamp", m->pa_enc_ts_enc.patimestamp);
	if (m->pa_enc_ts_enc.has_pausec)
		put(p, "pausec", "%d", (int)m->pa_enc_ts_enc.pausec);
}

static void
print_etype_info2(const char *p, lethe_arena *a, const krb_any *m)
{
	const krb_etype_info2 *ei = &m->etype_info2;
	char pk[TOOL_PFX_MAX];

	(void)a;
	put(p, "count", "%zu", ei->count);
	for (size_t i = 0; i < ei->count; i++) {
		sub(pk, "", "%s[%zu]", p, i);
		put(pk, "etype", "%d", (int)ei->items[i].etype);
		if (ei->items[i].has_salt)
			put_str(pk, "salt", ei->items[i].salt);
		if (ei->items[i].has_s2kparams)
			put_hex(pk, "s2kparams", ei->items[i].s2kparams);
	}
}

static void
print_method_data(const char *p, lethe_arena *a, const krb_any *m)
{
	char pk[TOOL_PFX_MAX];

	put(p, "count", "%zu", m->method_data.count);
	for (size_t i = 0; i < m->method_data.count; i++) {
		sub(pk, "", "%s[%zu]", p, i);
		put_pa_data(pk, a, &m->method_data.items[i]);
	}
}

static void
print_pa_pac_request(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put(p, "include-pac", "%s", m->pa_pac_request.include_pac ? "true" : "false");
}

static void
print_enc_data(const char *p, lethe_arena *a, const krb_any *m)
{
	(void)a;
	put(p, "etype", "%d", (int)m->enc_data.etype);
	if (m->enc_data.has_kvno)
		put(p, "kvno", "%u", (unsigned)m->enc_data.kvno);
	put(p, "cipher-len", "%zu", m->enc_data.cipher.len);
}

/* ------------------------------------------------------------ the table */

#define ADAPT(name, field, dec, enc)                                            \
	static lethe_status                                                     \
	dec_##name(lethe_arena *a, const uint8_t *d, size_t n, krb_any *out)    \
	{                                                                       \
		return dec(a, d, n, &out->field);                               \
	}                                                                       \
	static lethe_status                                                     \
	enc_##name(der_writer *w, const krb_any *in)                            \
	{                                                                       \
		return enc(w, &in->field);                                      \
	}

ADAPT(as_req, kdc_req, krb_decode_as_req, krb_encode_as_req)
ADAPT(tgs_req, kdc_req, krb_decode_tgs_req, krb_encode_tgs_req)
ADAPT(as_rep, kdc_rep, krb_decode_as_rep, krb_encode_as_rep)
ADAPT(tgs_rep, kdc_rep, krb_decode_tgs_rep, krb_encode_tgs_rep)
ADAPT(ap_req, ap_req, krb_decode_ap_req, krb_encode_ap_req)
ADAPT(ap_rep, ap_rep, krb_decode_ap_rep, krb_encode_ap_rep)
ADAPT(krb_error, error, krb_decode_krb_error, krb_encode_krb_error)
ADAPT(krb_safe, safe, krb_decode_krb_safe, krb_encode_krb_safe)
ADAPT(krb_priv, priv, krb_decode_krb_priv, krb_encode_krb_priv)
ADAPT(ticket, ticket, krb_decode_ticket, krb_encode_ticket)
ADAPT(enc_ticket_part, enc_ticket_part, krb_decode_enc_ticket_part,
      krb_encode_enc_ticket_part)
ADAPT(authenticator, authenticator, krb_decode_authenticator, krb_encode_authenticator)
ADAPT(enc_kdc_rep_part, enc_kdc_rep_part, krb_decode_enc_kdc_rep_part,
      krb_encode_enc_kdc_rep_part)
ADAPT(enc_ap_rep_part, enc_ap_rep_part, krb_decode_enc_ap_rep_part,
      krb_encode_enc_ap_rep_part)
ADAPT(enc_krb_priv_part, enc_krb_priv_part, krb_decode_enc_krb_priv_part,
      krb_encode_enc_krb_priv_part)
ADAPT(pa_enc_ts_enc, pa_enc_ts_enc, krb_decode_pa_enc_ts_enc, krb_encode_pa_enc_ts_enc)
ADAPT(etype_info2, etype_info2, krb_decode_etype_info2, krb_encode_etype_info2)
ADAPT(method_data, method_data, krb_decode_method_data, krb_encode_method_data)
ADAPT(pa_pac_request, pa_pac_request, krb_decode_pa_pac_request,
      krb_encode_pa_pac_request)
ADAPT(enc_data, enc_data, krb_decode_enc_data, krb_encode_enc_data)

static const msg_kind kinds[] = {
	{ "as-req", KRB_MSG_AS_REQ, dec_as_req, enc_as_req, print_kdc_req },
	{ "as-rep", KRB_MSG_AS_REP, dec_as_rep, enc_as_rep, print_kdc_rep },
	{ "tgs-req", KRB_MSG_TGS_REQ, dec_tgs_req, enc_tgs_req, print_kdc_req },
	{ "tgs-rep", KRB_MSG_TGS_REP, dec_tgs_rep, enc_tgs_rep, print_kdc_rep },
	{ "ap-req", KRB_MSG_AP_REQ, dec_ap_req, enc_ap_req, print_ap_req },
	{ "ap-rep", KRB_MSG_AP_REP, dec_ap_rep, enc_ap_rep, print_ap_rep },
	{ "krb-safe", KRB_MSG_SAFE, dec_krb_safe, enc_krb_safe, print_krb_safe },
	{ "krb-priv", KRB_MSG_PRIV, dec_krb_priv, enc_krb_priv, print_krb_priv },
	{ "krb-error", KRB_MSG_ERROR, dec_krb_error, enc_krb_error, print_krb_error },
	{ "ticket", KRB_APP_TICKET, dec_ticket, enc_ticket, print_ticket },
	{ "authenticator", KRB_APP_AUTHENTICATOR, dec_authenticator, enc_authenticator,
	  print_authenticator },
	{ "enc-ticket-part", KRB_APP_ENC_TICKET_PART, dec_enc_ticket_part,
	  enc_enc_ticket_part, print_enc_ticket_part },
	{ "enc-as-rep-part", KRB_APP_ENC_AS_REP_PART, dec_enc_kdc_rep_part,
	  enc_enc_kdc_rep_part, print_enc_kdc_rep_part },
	{ "enc-tgs-rep-part", KRB_APP_ENC_TGS_REP_PART, dec_enc_kdc_rep_part,
	  enc_enc_kdc_rep_part, print_enc_kdc_rep_part },
	{ "enc-ap-rep-part", KRB_APP_ENC_AP_REP_PART, dec_enc_ap_rep_part,
	  enc_enc_ap_rep_part, print_enc_ap_rep_part },
	{ "enc-krb-priv-part", KRB_APP_ENC_KRB_PRIV_PART, dec_enc_krb_priv_part,
	  enc_enc_krb_priv_part, print_enc_krb_priv_part },
	{ "pa-enc-ts-enc", -1, dec_pa_enc_ts_enc, enc_pa_enc_ts_enc, print_pa_enc_ts_enc },
	{ "etype-info2", -1, dec_etype_info2, enc_etype_info2, print_etype_info2 },
	{ "method-data", -1, dec_method_data, enc_method_data, print_method_data },
	{ "pa-pac-request", -1, dec_pa_pac_request, enc_pa_pac_request,
	  print_pa_pac_request },
	{ "enc-data", -1, dec_enc_data, enc_enc_data, print_enc_data },
};

static const msg_kind *
kind_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

/* The kind whose APPLICATION tag opens data (one-byte tags only). */
static const msg_kind *
kind_by_tag(lbytes data)
{
	if (data.len == 0 || (data.data[0] & 0xe0) != 0x60)
		return NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].app_tag == (data.data[0] & 0x1f))
			return &kinds[i];
	return NULL;
}

/* ------------------------------------------------- decode and re-encode */

/* A copy of the ticket array with every raw view cleared, from arena a. */
static lethe_status
unraw_tickets(lethe_arena *a, const krb_ticket **tickets, size_t count)
{
	krb_ticket *copy;

	if (count == 0)
		return LETHE_OK;
	copy = lethe_arena_calloc(a, count, sizeof(*copy));
	ENSURE(copy != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < count; i++) {
		copy[i] = (*tickets)[i];
		copy[i].raw = (lbytes){ NULL, 0 };
	}
	*tickets = copy;
	return LETHE_OK;
}

/*
 * Clear the raw views the decoders keep (tickets, KDC-REQ-BODY,
 * KRB-SAFE-BODY), so that re-encoding exercises the encoders on every field.
 */
static lethe_status
unraw(const msg_kind *k, lethe_arena *a, krb_any *m)
{
	const lbytes none = { NULL, 0 };

	if (k->decode == dec_as_req || k->decode == dec_tgs_req) {
		m->kdc_req.body.raw = none;
		return unraw_tickets(a, &m->kdc_req.body.additional_tickets,
				     m->kdc_req.body.n_additional_tickets);
	}
	if (k->decode == dec_as_rep || k->decode == dec_tgs_rep)
		m->kdc_rep.ticket.raw = none;
	else if (k->decode == dec_ap_req)
		m->ap_req.ticket.raw = none;
	else if (k->decode == dec_ticket)
		m->ticket.raw = none;
	else if (k->decode == dec_krb_safe)
		m->safe.body.raw = none;
	return LETHE_OK;
}

/* Encode m (raw views cleared) and compare with original. */
static lethe_status
reencode(const msg_kind *k, lethe_arena *a, krb_any *m, lbytes original, bool *same)
{
	der_writer w;
	lethe_status rc;
	lbytes out;

	der_writer_init(&w, TOOL_MAX_OUTPUT);
	GUARD_GOTO(rc, unraw(k, a, m));
	GUARD_GOTO(rc, k->encode(&w, m));
	GUARD_GOTO(rc, der_writer_status(&w));
	out = der_written(&w);
	*same = lbytes_eq(out, original);
cleanup:
	der_writer_free(&w);
	return rc;
}

/*
 * Decode data as kind k; print its fields under p, then the re-encoding
 * verdict. When out is not NULL it receives the decoded fields (before the
 * raw views are cleared). False when data does not decode.
 */
static bool
decode_print(const msg_kind *k, const char *p, lethe_arena *a, lbytes data, krb_any *out)
{
	krb_any m;
	lethe_status rc;
	bool same = false;

	memset(&m, 0, sizeof(m));
	put(p, "type", "%s", k->name);
	rc = k->decode(a, data.data, data.len, &m);
	if (rc != LETHE_OK) {
		put(p, "decode-error", "%s", lethe_status_str(rc));
		decode_failures++;
		return false;
	}
	if (out != NULL)
		*out = m;
	k->print(p, a, &m);
	rc = reencode(k, a, &m, data, &same);
	if (rc != LETHE_OK) {
		put(p, "reencode", "error %s", lethe_status_str(rc));
		reencode_failures++;
	} else if (!same) {
		put(p, "reencode", "DIFFERENT");
		reencode_failures++;
	} else {
		put(p, "reencode", "identical");
	}
	return true;
}

static void
decode_nested(const char *kind_name, const char *p, lethe_arena *a, lbytes data)
{
	decode_print(kind_by_name(kind_name), p, a, data, NULL);
}

/* ------------------------------------------------------------- file I/O */

/* Read the whole file at path (at most TOOL_MAX_INPUT bytes) into *out. */
static lethe_status
read_file(const char *path, uint8_t **out, size_t *out_len)
{
	FILE *f = NULL;
	uint8_t *buf = NULL;
	size_t len;
	lethe_status rc = LETHE_OK;

	f = fopen(path, "rb");
	ENSURE_GOTO(rc, f != NULL, LETHE_ERR_IO);
	buf = malloc(TOOL_MAX_INPUT + 1);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	len = fread(buf, 1, TOOL_MAX_INPUT + 1, f);
	ENSURE_GOTO(rc, !ferror(f), LETHE_ERR_IO);
	ENSURE_GOTO(rc, len <= TOOL_MAX_INPUT, LETHE_ERR_TOO_BIG);
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

static lethe_status
write_file(const char *path, lbytes data)
{
	FILE *f;
	lethe_status rc = LETHE_OK;

	f = fopen(path, "wb");
	ENSURE(f != NULL, LETHE_ERR_IO);
	if (fwrite(data.data, 1, data.len, f) != data.len)
		rc = LETHE_ERR_IO;
	if (fclose(f) != 0)
		rc = LETHE_ERR_IO;
	return rc;
}

/* ------------------------------------------------------------- samples */

#define S_REALM "LETHE.TEST"
#define S_NOW INT64_C(1795446723)           /* 2026-11-23 11:12:03 UTC */
#define S_NONCE UINT32_C(0x2f6c9a41)

static const lbytes s_krbtgt_comps[] = { LBYTES_LIT("krbtgt"), LBYTES_LIT(S_REALM) };
static const lbytes s_service_comps[] = { LBYTES_LIT("host"), LBYTES_LIT("srv.lethe.test") };
static const lbytes s_alice_comps[] = { LBYTES_LIT("alice") };
static const krb_principal_name s_krbtgt = { KRB_NT_SRV_INST, s_krbtgt_comps, 2 };
static const krb_principal_name s_service = { KRB_NT_SRV_HST, s_service_comps, 2 };
static const krb_principal_name s_alice = { KRB_NT_PRINCIPAL, s_alice_comps, 1 };
static const int32_t s_etypes[] = { 18, 17, 20, 19 };
static const uint8_t s_ipv4_client[] = { 127, 0, 0, 1 };
static const uint8_t s_ipv4_server[] = { 127, 0, 0, 2 };
static const krb_host_address s_client_addr = { KRB_ADDR_IPV4, { s_ipv4_client, 4 } };
static const krb_host_address s_server_addr = { KRB_ADDR_IPV4, { s_ipv4_server, 4 } };

/* Filler for ciphertexts and checksums: deterministic, not secret. */
static uint8_t s_filler[1024];

static lbytes
filler(size_t len)
{
	return (lbytes){ s_filler, len < sizeof(s_filler) ? len : sizeof(s_filler) };
}

static krb_enc_data
sample_enc_data(int32_t etype, bool has_kvno, uint32_t kvno, size_t len)
{
	krb_enc_data ed = { etype, has_kvno, kvno, filler(len) };
	return ed;
}

static krb_ticket
sample_ticket(const krb_principal_name *sname, uint32_t kvno)
{
	krb_ticket t;

	memset(&t, 0, sizeof(t));
	t.realm = LBYTES_LIT(S_REALM);
	t.sname = *sname;
	t.enc_part = sample_enc_data(18, true, kvno, 222);
	return t;
}

/* Encode with fn into a fresh heap buffer owned by the writer w. */
typedef lethe_status (*sample_fn)(der_writer *w);

static lethe_status
sample_as_req(der_writer *w)
{
	krb_kdc_req req;
	krb_pa_data pa[2];
	der_writer ts;
	krb_enc_data ed = sample_enc_data(18, false, 0, 56);
	lethe_status rc;

	der_writer_init(&ts, 4096);
	GUARD_GOTO(rc, krb_encode_enc_data(&ts, &ed));
	memset(&req, 0, sizeof(req));
	pa[0] = (krb_pa_data){ KRB_PA_ENC_TIMESTAMP, der_written(&ts) };
	pa[1] = (krb_pa_data){ KRB_PA_REQ_ENC_PA_REP, { NULL, 0 } };
	req.msg_type = KRB_MSG_AS_REQ;
	req.padata = (krb_method_data){ pa, 2 };
	req.body.kdc_options = KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE |
	    KRB_KDC_OPT_CANONICALIZE | KRB_KDC_OPT_RENEWABLE_OK;
	req.body.has_cname = true;
	req.body.cname = s_alice;
	req.body.realm = LBYTES_LIT(S_REALM);
	req.body.has_sname = true;
	req.body.sname = s_krbtgt;
	req.body.has_till = true;
	req.body.till = S_NOW + 36000;
	req.body.has_rtime = true;
	req.body.rtime = S_NOW + 7 * 86400;
	req.body.nonce = S_NONCE;
	req.body.etypes = s_etypes;
	req.body.n_etypes = 4;
	req.body.addresses = (krb_host_addresses){ &s_client_addr, 1 };
	rc = krb_encode_as_req(w, &req);
cleanup:
	der_writer_free(&ts);
	return rc;
}

static lethe_status
sample_etype_info2(der_writer *w)
{
	krb_etype_info2_entry e[2];

	memset(e, 0, sizeof(e));
	e[0].etype = 18;
	e[0].has_salt = true;
	e[0].salt = LBYTES_LIT(S_REALM "alice");
	e[1].etype = 20;
	e[1].has_salt = true;
	e[1].salt = LBYTES_LIT(S_REALM "alice");
	e[1].has_s2kparams = true;
	e[1].s2kparams = (lbytes){ (const uint8_t *)"\x00\x00\x80\x00", 4 };
	return krb_encode_etype_info2(w, &(krb_etype_info2){ e, 2 });
}

static lethe_status
sample_as_rep(der_writer *w)
{
	krb_kdc_rep rep;
	krb_pa_data pa;
	der_writer ei;
	lethe_status rc;

	der_writer_init(&ei, 4096);
	GUARD_GOTO(rc, sample_etype_info2(&ei));
	memset(&rep, 0, sizeof(rep));
	pa = (krb_pa_data){ KRB_PA_ETYPE_INFO2, der_written(&ei) };
	rep.msg_type = KRB_MSG_AS_REP;
	rep.padata = (krb_method_data){ &pa, 1 };
	rep.crealm = LBYTES_LIT(S_REALM);
	rep.cname = s_alice;
	rep.ticket = sample_ticket(&s_krbtgt, 1);
	rep.enc_part = sample_enc_data(18, true, 1, 210);
	rc = krb_encode_as_rep(w, &rep);
cleanup:
	der_writer_free(&ei);
	return rc;
}

static krb_ap_req
sample_ap_req_fields(const krb_ticket *ticket, uint32_t options)
{
	krb_ap_req ap;

	memset(&ap, 0, sizeof(ap));
	ap.ap_options = options;
	ap.ticket = *ticket;
	ap.authenticator = sample_enc_data(18, false, 0, 170);
	return ap;
}

static lethe_status
sample_tgs_req(der_writer *w)
{
	krb_kdc_req req;
	krb_pa_data pa;
	krb_ticket tgt = sample_ticket(&s_krbtgt, 1);
	krb_ap_req ap = sample_ap_req_fields(&tgt, 0);
	der_writer apw;
	lethe_status rc;

	der_writer_init(&apw, 8192);
	GUARD_GOTO(rc, krb_encode_ap_req(&apw, &ap));
	memset(&req, 0, sizeof(req));
	pa = (krb_pa_data){ KRB_PA_TGS_REQ, der_written(&apw) };
	req.msg_type = KRB_MSG_TGS_REQ;
	req.padata = (krb_method_data){ &pa, 1 };
	req.body.kdc_options = KRB_KDC_OPT_FORWARDABLE | KRB_KDC_OPT_RENEWABLE |
	    KRB_KDC_OPT_CANONICALIZE;
	req.body.realm = LBYTES_LIT(S_REALM);
	req.body.has_sname = true;
	req.body.sname = s_service;
	req.body.has_till = true;
	req.body.till = S_NOW + 36000;
	req.body.nonce = S_NONCE + 1;
	req.body.etypes = s_etypes;
	req.body.n_etypes = 4;
	rc = krb_encode_tgs_req(w, &req);
cleanup:
	der_writer_free(&apw);
	return rc;
}

static lethe_status
sample_tgs_rep(der_writer *w)
{
	krb_kdc_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.msg_type = KRB_MSG_TGS_REP;
	rep.crealm = LBYTES_LIT(S_REALM);
	rep.cname = s_alice;
	rep.ticket = sample_ticket(&s_service, 3);
	rep.enc_part = sample_enc_data(18, false, 0, 200);
	return krb_encode_tgs_rep(w, &rep);
}

static lethe_status
sample_ap_req(der_writer *w)
{
	krb_ticket t = sample_ticket(&s_service, 3);
	krb_ap_req ap = sample_ap_req_fields(&t, KRB_AP_OPT_MUTUAL_REQUIRED);

	return krb_encode_ap_req(w, &ap);
}

static lethe_status
sample_ap_rep(der_writer *w)
{
	krb_ap_rep rep = { sample_enc_data(18, false, 0, 60) };

	return krb_encode_ap_rep(w, &rep);
}

static lethe_status
sample_krb_error(der_writer *w)
{
	krb_error e;
	krb_pa_data pa[3];
	der_writer ei, md;
	lethe_status rc;

	der_writer_init(&ei, 4096);
	der_writer_init(&md, 8192);
	GUARD_GOTO(rc, sample_etype_info2(&ei));
	pa[0] = (krb_pa_data){ KRB_PA_ETYPE_INFO2, der_written(&ei) };
	pa[1] = (krb_pa_data){ KRB_PA_ENC_TIMESTAMP, { NULL, 0 } };
	pa[2] = (krb_pa_data){ KRB_PA_FX_COOKIE, LBYTES_LIT("MIT1\x00\x00\x00\x01") };
	GUARD_GOTO(rc, krb_encode_method_data(&md, &(krb_method_data){ pa, 3 }));
	memset(&e, 0, sizeof(e));
	e.stime = S_NOW;
	e.susec = 123456;
	e.error_code = KDC_ERR_PREAUTH_REQUIRED;
	e.has_crealm = true;
	e.crealm = LBYTES_LIT(S_REALM);
	e.has_cname = true;
	e.cname = s_alice;
	e.realm = LBYTES_LIT(S_REALM);
	e.sname = s_krbtgt;
	e.has_e_text = true;
	e.e_text = LBYTES_LIT("Additional pre-authentication required");
	e.has_e_data = true;
	e.e_data = der_written(&md);
	rc = krb_encode_krb_error(w, &e);
cleanup:
	der_writer_free(&md);
	der_writer_free(&ei);
	return rc;
}

static lethe_status
sample_krb_safe(der_writer *w)
{
	krb_safe s;

	memset(&s, 0, sizeof(s));
	s.body.user_data = LBYTES_LIT("lethe sample message");
	s.body.has_timestamp = true;
	s.body.timestamp = S_NOW;
	s.body.has_usec = true;
	s.body.usec = 4242;
	s.body.has_seq_number = true;
	s.body.seq_number = 0x1234567;
	s.body.s_address = s_client_addr;
	s.body.has_r_address = true;
	s.body.r_address = s_server_addr;
	s.cksum = (krb_checksum){ 16, filler(12) };
	return krb_encode_krb_safe(w, &s);
}

static lethe_status
sample_krb_priv(der_writer *w)
{
	krb_priv p = { sample_enc_data(18, false, 0, 92) };

	return krb_encode_krb_priv(w, &p);
}

static const uint8_t s_key_bytes[32] = { 0 };   /* sample keys: all zero, not secret */
static const krb_encryption_key s_session_key = { 18, { s_key_bytes, 32 } };

static lethe_status
sample_ticket_only(der_writer *w)
{
	krb_ticket t = sample_ticket(&s_service, 3);

	return krb_encode_ticket(w, &t);
}

static lethe_status
sample_authenticator(der_writer *w)
{
	krb_authenticator au;

	memset(&au, 0, sizeof(au));
	au.crealm = LBYTES_LIT(S_REALM);
	au.cname = s_alice;
	au.has_cksum = true;
	au.cksum = (krb_checksum){ 16, filler(12) };
	au.cusec = 271828;
	au.ctime = S_NOW;
	au.has_subkey = true;
	au.subkey = s_session_key;
	au.has_seq_number = true;
	au.seq_number = 0x7ffffff1;
	return krb_encode_authenticator(w, &au);
}

static lethe_status
sample_enc_ticket_part(der_writer *w)
{
	krb_enc_ticket_part e;
	krb_ad_entry ad = { KRB_AD_IF_RELEVANT, LBYTES_LIT("\x30\x00") };

	memset(&e, 0, sizeof(e));
	e.flags = KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_RENEWABLE | KRB_TKT_FLG_PRE_AUTHENT;
	e.key = s_session_key;
	e.crealm = LBYTES_LIT(S_REALM);
	e.cname = s_alice;
	e.transited = (krb_transited){ KRB_TR_DOMAIN_X500_COMPRESS, { NULL, 0 } };
	e.authtime = S_NOW;
	e.has_starttime = true;
	e.starttime = S_NOW;
	e.endtime = S_NOW + 36000;
	e.has_renew_till = true;
	e.renew_till = S_NOW + 7 * 86400;
	e.caddr = (krb_host_addresses){ &s_client_addr, 1 };
	e.authorization_data = (krb_authdata){ &ad, 1 };
	return krb_encode_enc_ticket_part(w, &e);
}

static lethe_status
sample_enc_kdc_rep_part(der_writer *w, uint32_t app_tag)
{
	krb_enc_kdc_rep_part e;
	krb_last_req_entry lr = { KRB_LR_NONE, 0 };

	memset(&e, 0, sizeof(e));
	e.app_tag = app_tag;
	e.key = s_session_key;
	e.last_req = (krb_last_req){ &lr, 1 };
	e.nonce = S_NONCE;
	e.has_key_expiration = app_tag == KRB_APP_ENC_AS_REP_PART;
	e.key_expiration = S_NOW + 90 * 86400;
	e.flags = KRB_TKT_FLG_FORWARDABLE | KRB_TKT_FLG_RENEWABLE | KRB_TKT_FLG_INITIAL |
	    KRB_TKT_FLG_PRE_AUTHENT;
	e.authtime = S_NOW;
	e.has_starttime = true;
	e.starttime = S_NOW;
	e.endtime = S_NOW + 36000;
	e.has_renew_till = true;
	e.renew_till = S_NOW + 7 * 86400;
	e.srealm = LBYTES_LIT(S_REALM);
	e.sname = app_tag == KRB_APP_ENC_AS_REP_PART ? s_krbtgt : s_service;
	return krb_encode_enc_kdc_rep_part(w, &e);
}

static lethe_status
sample_enc_as_rep_part(der_writer *w)
{
	return sample_enc_kdc_rep_part(w, KRB_APP_ENC_AS_REP_PART);
}

static lethe_status
sample_enc_tgs_rep_part(der_writer *w)
{
	return sample_enc_kdc_rep_part(w, KRB_APP_ENC_TGS_REP_PART);
}

static lethe_status
sample_enc_ap_rep_part(der_writer *w)
{
	krb_enc_ap_rep_part e;

	memset(&e, 0, sizeof(e));
	e.ctime = S_NOW;
	e.cusec = 271828;
	e.has_subkey = true;
	e.subkey = s_session_key;
	e.has_seq_number = true;
	e.seq_number = 12345;
	return krb_encode_enc_ap_rep_part(w, &e);
}

static lethe_status
sample_enc_krb_priv_part(der_writer *w)
{
	krb_enc_krb_priv_part e;

	memset(&e, 0, sizeof(e));
	e.user_data = LBYTES_LIT("lethe private sample");
	e.has_timestamp = true;
	e.timestamp = S_NOW;
	e.has_usec = true;
	e.usec = 99;
	e.has_seq_number = true;
	e.seq_number = 7;
	e.s_address = s_client_addr;
	return krb_encode_enc_krb_priv_part(w, &e);
}

static lethe_status
sample_pa_enc_ts_enc(der_writer *w)
{
	krb_pa_enc_ts_enc ts = { S_NOW, true, 654321 };

	return krb_encode_pa_enc_ts_enc(w, &ts);
}

static lethe_status
sample_method_data(der_writer *w)
{
	krb_pa_data pa[2] = {
		{ KRB_PA_ENC_TIMESTAMP, { NULL, 0 } },
		{ KRB_PA_FX_COOKIE, LBYTES_LIT("MIT") },
	};

	return krb_encode_method_data(w, &(krb_method_data){ pa, 2 });
}

/* The messages first (krb5_tshark.sh checks those), then the inner types. */
static const struct {
	const char *name;
	sample_fn fn;
} samples[] = {
	{ "as-req", sample_as_req },
	{ "as-rep", sample_as_rep },
	{ "tgs-req", sample_tgs_req },
	{ "tgs-rep", sample_tgs_rep },
	{ "ap-req", sample_ap_req },
	{ "ap-rep", sample_ap_rep },
	{ "krb-error", sample_krb_error },
	{ "krb-safe", sample_krb_safe },
	{ "krb-priv", sample_krb_priv },
	{ "ticket", sample_ticket_only },
	{ "authenticator", sample_authenticator },
	{ "enc-ticket-part", sample_enc_ticket_part },
	{ "enc-as-rep-part", sample_enc_as_rep_part },
	{ "enc-tgs-rep-part", sample_enc_tgs_rep_part },
	{ "enc-ap-rep-part", sample_enc_ap_rep_part },
	{ "enc-krb-priv-part", sample_enc_krb_priv_part },
	{ "pa-enc-ts-enc", sample_pa_enc_ts_enc },
	{ "etype-info2", sample_etype_info2 },
	{ "method-data", sample_method_data },
};

static int
cmd_samples(const char *dir)
{
	char path[4096];
	der_writer w;
	lethe_status rc = LETHE_OK;

	for (size_t i = 0; i < sizeof(s_filler); i++)
		s_filler[i] = (uint8_t)(i * 151u + 7u);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]) && rc == LETHE_OK; i++) {
		der_writer_init(&w, TOOL_MAX_OUTPUT);
		rc = samples[i].fn(&w);
		if (rc == LETHE_OK)
			rc = der_writer_status(&w);
		if (rc == LETHE_OK &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s.der", dir, samples[i].name) >=
			sizeof(path))
			rc = LETHE_ERR_TOO_BIG;
		if (rc == LETHE_OK)
			rc = write_file(path, der_written(&w));
		if (rc != LETHE_OK)
			fprintf(stderr, "krb5_tool: sample %s: %s\n", samples[i].name,
				lethe_status_str(rc));
		else
			printf("%s\n", path);
		der_writer_free(&w);
	}
	return rc == LETHE_OK ? 0 : 1;
}

/* ------------------------------------------------------------- decrypt */

#define TOOL_MAX_PLAINS 16
#define TOOL_MAX_PASSWORD 1024

/*
 * State of "krb5_tool decrypt": decrypted plaintexts stay alive (decoded
 * views point into them) until the end, then are wiped.
 */
typedef struct decrypt_ctx {
	lethe_arena arena;
	kt_keytab *keytab;              /* NULL without -k */
	const char *save_dir;           /* -s: where plaintexts are saved, or NULL */
	uint8_t *plain[TOOL_MAX_PLAINS];
	size_t plain_cap[TOOL_MAX_PLAINS];
	size_t n_plain;
	int failures;                   /* decryptions failed, nonces differing */
} decrypt_ctx;

static void
decrypt_ctx_free(decrypt_ctx *c)
{
	for (size_t i = 0; i < c->n_plain; i++) {
		OPENSSL_cleanse(c->plain[i], c->plain_cap[i]);
		free(c->plain[i]);
	}
	c->n_plain = 0;
	kt_free(c->keytab);
	c->keytab = NULL;
	lethe_arena_free(&c->arena);
}

/* Decrypt ed with key for usage; *plain views a buffer c keeps. */
static lethe_status
open_enc_data(decrypt_ctx *c, kc_key *key, uint32_t usage, const krb_enc_data *ed,
	      lbytes *plain)
{
	uint8_t *buf;
	size_t cap = ed->cipher.len ? ed->cipher.len : 1, len = 0;
	lethe_status rc;

	ENSURE(ed->etype == kc_key_enctype(key), LETHE_ERR_ETYPE_NOSUPP);
	ENSURE(c->n_plain < TOOL_MAX_PLAINS, LETHE_ERR_TOO_BIG);
	buf = malloc(cap);
	ENSURE(buf != NULL, LETHE_ERR_NOMEM);
	c->plain[c->n_plain] = buf;
	c->plain_cap[c->n_plain] = cap;
	c->n_plain++;
	rc = kc_decrypt(key, usage, ed->cipher, buf, cap, &len);
	if (rc == LETHE_OK)
		*plain = lbytes_make(buf, len);
	return rc;
}

/* Save a plaintext (it may hold keys) as DIR/<name>.der, mode 0600, new file. */
static lethe_status
save_plain(const char *dir, const char *name, lbytes plain)
{
	char path[4096];
	int fd;
	lethe_status rc = LETHE_OK;

	ENSURE((size_t)snprintf(path, sizeof(path), "%s/%s.der", dir, name) < sizeof(path),
	       LETHE_ERR_TOO_BIG);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	if (write(fd, plain.data, plain.len) != (ssize_t)plain.len)
		rc = LETHE_ERR_IO;
	if (close(fd) != 0)
		rc = LETHE_ERR_IO;
	return rc;
}

/*
 * Decrypt ed for usage and print the plaintext decoded as kind_name under p
 * ("p.decrypt=ok" first). Counts a failure on any error.
 */
static bool
open_and_print(decrypt_ctx *c, const char *p, kc_key *key, uint32_t usage,
	       const krb_enc_data *ed, const char *kind_name, krb_any *out)
{
	lbytes plain;
	lethe_status rc;

	rc = open_enc_data(c, key, usage, ed, &plain);
	if (rc != LETHE_OK) {
		put(p, "decrypt", "FAILED %s", lethe_status_str(rc));
		c->failures++;
		return false;
	}
	put(p, "decrypt", "ok");
	if (c->save_dir != NULL && save_plain(c->save_dir, p, plain) != LETHE_OK) {
		put(p, "save", "FAILED");
		c->failures++;
	}
	return decode_print(kind_by_name(kind_name), p, &c->arena, plain, out);
}

/* The long-term key of a ticket's service from the keytab, by kvno and etype. */
static lethe_status
ticket_key(decrypt_ctx *c, const krb_ticket *t, kc_key *key)
{
	kt_principal princ;
	const kt_entry *e;
	lethe_status rc;

	memset(&princ, 0, sizeof(princ));
	GUARD(kt_principal_init(&princ, t->realm, t->sname.components, t->sname.n_components,
				t->sname.name_type));
	GUARD_GOTO(rc, kt_find(c->keytab, &princ, t->enc_part.has_kvno ? t->enc_part.kvno : 0,
			       t->enc_part.etype, &e));
	GUARD_GOTO(rc, kc_key_init(key, e->enctype, kt_buf_view(e->key)));
cleanup:
	kt_principal_clear(&princ);
	return rc;
}

/* With a keytab, decrypt and print a ticket's EncTicketPart (key usage 2). */
static void
open_ticket(decrypt_ctx *c, const char *p, const krb_ticket *t)
{
	kc_key key;
	lethe_status rc;

	if (c->keytab == NULL)
		return;
	memset(&key, 0, sizeof(key));
	rc = ticket_key(c, t, &key);
	if (rc != LETHE_OK) {
		put(p, "decrypt", "FAILED no key in keytab: %s", lethe_status_str(rc));
		c->failures++;
		return;
	}
	open_and_print(c, p, &key, KRB_KU_TICKET, &t->enc_part, "enc-ticket-part", NULL);
	kc_key_clear(&key);
}

/*
 * The client's key from password: the salt and s2kparams of the AS-REP's
 * PA-ETYPE-INFO2 entry for the reply's enctype, else the default salt.
 */
static lethe_status
user_key(decrypt_ctx *c, const krb_kdc_rep *rep, lbytes password, kc_key *key)
{
	const krb_pa_data *pa = krb_find_padata(&rep->padata, KRB_PA_ETYPE_INFO2);
	krb_etype_info2 info;
	lbytes salt = { NULL, 0 }, params = { NULL, 0 };
	uint8_t *salt_buf;
	size_t salt_len = 0;
	bool found = false;

	if (pa != NULL) {
		GUARD(krb_decode_etype_info2(&c->arena, pa->padata_value.data,
					     pa->padata_value.len, &info));
		for (size_t i = 0; i < info.count && !found; i++) {
			if (info.items[i].etype != rep->enc_part.etype)
				continue;
			found = true;
			if (info.items[i].has_salt)
				salt = info.items[i].salt;
			if (info.items[i].has_s2kparams)
				params = info.items[i].s2kparams;
		}
	}
	if (!found) {
		(void)kc_salt_default(rep->crealm, rep->cname.components,
				      rep->cname.n_components, NULL, 0, &salt_len);
		salt_buf = lethe_arena_alloc(&c->arena, salt_len ? salt_len : 1);
		ENSURE(salt_buf != NULL, LETHE_ERR_NOMEM);
		GUARD(kc_salt_default(rep->crealm, rep->cname.components,
				      rep->cname.n_components, salt_buf, salt_len, &salt_len));
		salt = lbytes_make(salt_buf, salt_len);
	}
	put_str("as-rep", "salt", salt);
	return kc_string_to_key(key, rep->enc_part.etype, password, salt, params);
}

static void
check_nonce(decrypt_ctx *c, const char *p, uint32_t got, uint32_t want)
{
	if (got == want) {
		put(p, "nonce-match", "yes");
	} else {
		put(p, "nonce-match", "NO (%u, request had %u)", (unsigned)got, (unsigned)want);
		c->failures++;
	}
}

/* Decode a whole message file as kind_name into *m; buf receives the bytes. */
static bool
load_message(decrypt_ctx *c, const char *path, const char *kind_name, uint8_t **buf,
	     krb_any *m)
{
	size_t len = 0;
	lethe_status rc;

	rc = read_file(path, buf, &len);
	if (rc == LETHE_OK)
		rc = kind_by_name(kind_name)->decode(&c->arena, *buf, len, m);
	if (rc != LETHE_OK) {
		fprintf(stderr, "krb5_tool: %s: %s\n", path, lethe_status_str(rc));
		return false;
	}
	return true;
}

/* The AS exchange: PA-ENC-TIMESTAMP, the AS-REP enc-part, and the TGT. */
static bool
decrypt_as(decrypt_ctx *c, const krb_kdc_req *req, const krb_kdc_rep *rep, lbytes password,
	   krb_enc_kdc_rep_part *enc_rep)
{
	const krb_pa_data *pa = krb_find_padata(&req->padata, KRB_PA_ENC_TIMESTAMP);
	krb_enc_data ts;
	krb_any m;
	kc_key key;
	lethe_status rc;
	bool ok = false;

	memset(&key, 0, sizeof(key));
	rc = user_key(c, rep, password, &key);
	if (rc != LETHE_OK) {
		put("as-rep", "string-to-key", "FAILED %s", lethe_status_str(rc));
		c->failures++;
		return false;
	}
	if (pa != NULL && krb_decode_enc_data(&c->arena, pa->padata_value.data,
					      pa->padata_value.len, &ts) == LETHE_OK)
		open_and_print(c, "as-req.pa-enc-timestamp", &key, KRB_KU_PA_ENC_TIMESTAMP, &ts,
			       "pa-enc-ts-enc", NULL);
	if (open_and_print(c, "as-rep.enc-part", &key, KRB_KU_AS_REP_ENC_PART, &rep->enc_part,
			   "enc-as-rep-part", &m)) {
		check_nonce(c, "as-rep.enc-part", m.enc_kdc_rep_part.nonce, req->body.nonce);
		*enc_rep = m.enc_kdc_rep_part;
		ok = true;
	}
	open_ticket(c, "as-rep.ticket.enc-part", &rep->ticket);
	kc_key_clear(&key);
	return ok;
}

/*
 * RFC 6113 FAST reply of a TGS exchange. src/krb5 has no FAST types yet,
 * so PA-FX-FAST-REPLY and KrbFastResponse are read here with the DER
 * reader:
 *	PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep }
 *	KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData }
 *	KrbFastResponse ::= SEQUENCE { padata [0] SEQUENCE OF PA-DATA,
 *		strengthen-key [1] EncryptionKey OPTIONAL,
 *		finished [2] KrbFastFinished OPTIONAL, nonce [3] UInt32 }
 */
static lethe_status
read_fast_armored_rep(lethe_arena *a, lbytes value, krb_enc_data *enc_fast_rep)
{
	der_reader r, choice, seq, field;

	der_reader_init(&r, value.data, value.len);
	GUARD(der_ctx(&r, 0, &choice));
	GUARD(der_finish(&r));
	GUARD(der_read(&choice, DER_SEQUENCE, &seq));
	GUARD(der_finish(&choice));
	GUARD(der_ctx(&seq, 0, &field));
	GUARD(krb_read_enc_data(&field, a, enc_fast_rep));
	GUARD(der_finish(&field));
	return der_finish(&seq);
}

typedef struct fast_response {
	krb_method_data padata;
	bool has_strengthen_key;
	krb_encryption_key strengthen_key;
	bool has_finished;
	int64_t nonce;
} fast_response;

static lethe_status
read_fast_response(lethe_arena *a, lbytes plain, fast_response *out)
{
	der_reader r, seq, field;

	memset(out, 0, sizeof(*out));
	der_reader_init(&r, plain.data, plain.len);
	GUARD(der_read(&r, DER_SEQUENCE, &seq));
	GUARD(der_finish(&r));
	GUARD(der_ctx(&seq, 0, &field));
	GUARD(krb_read_method_data(&field, a, &out->padata));
	GUARD(der_finish(&field));
	GUARD(der_ctx_opt(&seq, 1, &field, &out->has_strengthen_key));
	if (out->has_strengthen_key) {
		GUARD(krb_read_encryption_key(&field, a, &out->strengthen_key));
		GUARD(der_finish(&field));
	}
	GUARD(der_ctx_opt(&seq, 2, &field, &out->has_finished));
	GUARD(der_ctx_int64(&seq, 3, &out->nonce));
	return der_finish(&seq);
}

/*
 * When the TGS-REP carries PA-FX-FAST, open it with the implicit TGS armor
 * key KRB-FX-CF2(subkey, session key, "subkeyarmor", "ticketarmor") (key
 * usage 52), print the KrbFastResponse, and when it holds a strengthen-key
 * replace *reply_key by KRB-FX-CF2(strengthen-key, reply key,
 * "strengthenkey", "replykey") (RFC 6113 §5.4.3).
 */
static void
open_fast_reply(decrypt_ctx *c, const krb_kdc_rep *rep, uint32_t req_nonce, kc_key *subkey,
		kc_key *session, kc_key *reply_key)
{
	const krb_pa_data *pa = krb_find_padata(&rep->padata, KRB_PA_FX_FAST);
	const char *p = "tgs-rep.fast";
	krb_enc_data ed;
	fast_response fr;
	kc_key armor, strengthen, strengthened;
	lbytes plain;
	lethe_status rc;

	if (pa == NULL || pa->padata_value.len == 0)
		return;
	memset(&armor, 0, sizeof(armor));
	memset(&strengthen, 0, sizeof(strengthen));
	memset(&strengthened, 0, sizeof(strengthened));
	GUARD_GOTO(rc, kc_key_enctype(subkey) != 0 ? LETHE_OK : LETHE_ERR_NOT_FOUND);
	GUARD_GOTO(rc, kc_cf2(subkey, LBYTES_LIT("subkeyarmor"), session,
			      LBYTES_LIT("ticketarmor"), &armor));
	GUARD_GOTO(rc, read_fast_armored_rep(&c->arena, pa->padata_value, &ed));
	GUARD_GOTO(rc, open_enc_data(c, &armor, KRB_KU_FAST_REP, &ed, &plain));
	GUARD_GOTO(rc, read_fast_response(&c->arena, plain, &fr));
	put(p, "decrypt", "ok");
	put(p, "padata.count", "%zu", fr.padata.count);
	put(p, "finished", "%s", fr.has_finished ? "present" : "absent");
	put(p, "nonce", "%lld", (long long)fr.nonce);
	check_nonce(c, p, (uint32_t)fr.nonce, req_nonce);
	if (fr.has_strengthen_key) {
		put_key(p, "strengthen-key", &fr.strengthen_key);
		GUARD_GOTO(rc, kc_key_init(&strengthen, fr.strengthen_key.keytype,
					   fr.strengthen_key.keyvalue));
		GUARD_GOTO(rc, kc_cf2(&strengthen, LBYTES_LIT("strengthenkey"), reply_key,
				      LBYTES_LIT("replykey"), &strengthened));
		kc_key_clear(reply_key);
		kc_key_copy(reply_key, &strengthened);
	}
cleanup:
	if (rc != LETHE_OK) {
		put(p, "decrypt", "FAILED %s", lethe_status_str(rc));
		c->failures++;
	}
	kc_key_clear(&strengthened);
	kc_key_clear(&strengthen);
	kc_key_clear(&armor);
}

/*
 * The TGS exchange under the session key of the AS-REP: the PA-TGS-REQ
 * authenticator (usage 7), then the TGS-REP enc-part under the
 * authenticator's subkey (usage 9) or else the session key (usage 8),
 * strengthened first when the reply is FAST-armoured.
 */
static void
decrypt_tgs(decrypt_ctx *c, const krb_kdc_req *req, const krb_kdc_rep *rep,
	    const krb_encryption_key *session)
{
	const krb_pa_data *pa = krb_find_padata(&req->padata, KRB_PA_TGS_REQ);
	krb_ap_req ap;
	krb_any auth;
	krb_any m;
	kc_key skey, subkey;
	kc_key *reply_key = &skey;
	uint32_t usage = KRB_KU_TGS_REP_ENC_PART_SESSKEY;

	memset(&skey, 0, sizeof(skey));
	memset(&subkey, 0, sizeof(subkey));
	if (pa == NULL || krb_decode_ap_req(&c->arena, pa->padata_value.data,
					    pa->padata_value.len, &ap) != LETHE_OK ||
	    kc_key_init(&skey, session->keytype, session->keyvalue) != LETHE_OK) {
		put("tgs-req", "pa-tgs-req", "FAILED no AP-REQ or unusable session key");
		c->failures++;
		return;
	}
	open_ticket(c, "tgs-req.ap-req.ticket.enc-part", &ap.ticket);
	if (open_and_print(c, "tgs-req.ap-req.authenticator", &skey, KRB_KU_TGS_REQ_AUTH,
			   &ap.authenticator, "authenticator", &auth) &&
	    auth.authenticator.has_subkey) {
		if (kc_key_init(&subkey, auth.authenticator.subkey.keytype,
				auth.authenticator.subkey.keyvalue) == LETHE_OK) {
			reply_key = &subkey;
			usage = KRB_KU_TGS_REP_ENC_PART_SUBKEY;
		}
	}
	open_fast_reply(c, rep, req->body.nonce, &subkey, &skey, reply_key);
	put("tgs-rep.enc-part", "key-usage", "%u", (unsigned)usage);
	if (open_and_print(c, "tgs-rep.enc-part", reply_key, usage, &rep->enc_part,
			   "enc-tgs-rep-part", &m))
		check_nonce(c, "tgs-rep.enc-part", m.enc_kdc_rep_part.nonce, req->body.nonce);
	open_ticket(c, "tgs-rep.ticket.enc-part", &rep->ticket);
	kc_key_clear(&subkey);
	kc_key_clear(&skey);
}

/* Read one line (the password) from stdin, without its newline. */
static bool
read_password(char *buf, size_t cap, size_t *len)
{
	if (fgets(buf, (int)cap, stdin) == NULL)
		return false;
	*len = strcspn(buf, "\r\n");
	buf[*len] = '\0';
	return true;
}

/*
 * krb5_tool decrypt [-k KEYTAB] [-s DIR] AS_REQ AS_REP [TGS_REQ TGS_REP], the
 * client's password on stdin: open every encrypted part it has keys for
 * and print each plaintext as "decode" would. Exit 0 when every part
 * decrypted, decoded, re-encoded identically and every nonce matched.
 */
static int
cmd_decrypt(int argc, char **argv)
{
	decrypt_ctx c;
	uint8_t *bufs[4] = { NULL, NULL, NULL, NULL };
	krb_any as_req, as_rep, tgs_req, tgs_rep;
	krb_enc_kdc_rep_part enc_as;
	char password[TOOL_MAX_PASSWORD];
	size_t password_len = 0;
	int i = 0, rc = EXIT_DECODE;
	lethe_status st;

	memset(&c, 0, sizeof(c));
	lethe_arena_init(&c.arena, TOOL_ARENA_BUDGET);
	for (; argc - i >= 2 && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-s") == 0) {
			c.save_dir = argv[i + 1];
		} else if (strcmp(argv[i], "-k") == 0 && c.keytab == NULL) {
			st = kt_load(argv[i + 1], &c.keytab);
			if (st != LETHE_OK) {
				fprintf(stderr, "krb5_tool: %s: %s\n", argv[i + 1],
					lethe_status_str(st));
				goto cleanup;
			}
		} else {
			break;
		}
	}
	if (argc - i != 2 && argc - i != 4) {
		usage();
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (!read_password(password, sizeof(password), &password_len)) {
		fprintf(stderr, "krb5_tool: no password on stdin\n");
		goto cleanup;
	}
	if (!load_message(&c, argv[i], "as-req", &bufs[0], &as_req) ||
	    !load_message(&c, argv[i + 1], "as-rep", &bufs[1], &as_rep))
		goto cleanup;
	if (decrypt_as(&c, &as_req.kdc_req, &as_rep.kdc_rep,
		       lbytes_make(password, password_len), &enc_as) && argc - i == 4) {
		if (!load_message(&c, argv[i + 2], "tgs-req", &bufs[2], &tgs_req) ||
		    !load_message(&c, argv[i + 3], "tgs-rep", &bufs[3], &tgs_rep))
			goto cleanup;
		decrypt_tgs(&c, &tgs_req.kdc_req, &tgs_rep.kdc_rep, &enc_as.key);
	}
	if (c.failures != 0 || decode_failures != 0)
		rc = EXIT_DECODE;
	else
		rc = reencode_failures != 0 ? EXIT_REENCODE : 0;
cleanup:
	OPENSSL_cleanse(password, sizeof(password));
	decrypt_ctx_free(&c);
	for (size_t j = 0; j < 4; j++)
		free(bufs[j]);
	return rc;
}

/* --------------------------------------------------------------- main */

static void
usage(void)
{
	fprintf(stderr, "usage: krb5_tool decode [-t TYPE] FILE\n"
			"       krb5_tool decrypt [-k KEYTAB] [-s DIR] AS_REQ AS_REP [TGS_REQ TGS_REP]"
			"  (password on stdin)\n"
			"       krb5_tool samples DIR\n"
			"       krb5_tool types\n"
			"       krb5_tool asreq HOST:PORT REALM CLIENT SERVER OUT\n"
			"       krb5_tool send HOST:PORT IN OUT\n");
}

/* send HOST:PORT IN OUT: the bytes of IN to the KDC, unchanged; its reply to OUT. */
static int
cmd_send(char **argv)
{
	kcl_kdc kdc;
	uint8_t *req = NULL, *rep = NULL;
	size_t req_len = 0, rep_len = 0;
	lethe_status rc;

	rc = kcl_kdc_parse(argv[0], &kdc);
	if (rc == LETHE_OK)
		rc = read_file(argv[1], &req, &req_len);
	if (rc == LETHE_OK)
		rc = kcl_exchange(&kdc, req, req_len, &rep, &rep_len);
	if (rc == LETHE_OK)
		rc = write_file(argv[2], lbytes_make(rep, rep_len));
	if (rc != LETHE_OK)
		fprintf(stderr, "krb5_tool send: %s\n", lethe_status_str(rc));
	free(req);
	free(rep);
	return rc == LETHE_OK ? 0 : EXIT_DECODE;
}

/* asreq HOST:PORT REALM CLIENT SERVER OUT: one AS-REQ without padata (no key is ever set). */
static int
cmd_asreq(char **argv)
{
	kcl_as_params p = { .client = argv[2], .realm = argv[1], .server = argv[3] };
	kcl_as_ctx ctx;
	kcl_kdc kdc;
	der_writer w;
	lbytes req;
	uint8_t *rep = NULL, nonce[4];
	size_t rep_len = 0;
	lethe_status rc;

	der_writer_init(&w, TOOL_MAX_OUTPUT);
	rc = kcl_kdc_parse(argv[0], &kdc);
	if (rc == LETHE_OK)
		rc = kc_random_bytes(nonce, sizeof(nonce));
	if (rc == LETHE_OK)
		rc = kcl_as_init(&ctx, &p);
	if (rc != LETHE_OK) {
		fprintf(stderr, "krb5_tool asreq: %s\n", lethe_status_str(rc));
		der_writer_free(&w);
		return EXIT_DECODE;
	}
	rc = kcl_as_build(&ctx, ((uint32_t)nonce[0] << 24 | (uint32_t)nonce[1] << 16 |
	    (uint32_t)nonce[2] << 8 | nonce[3]) & 0x7fffffffu, &w);
	if (rc == LETHE_OK) {
		req = der_written(&w);
		rc = kcl_exchange(&kdc, req.data, req.len, &rep, &rep_len);
	}
	if (rc == LETHE_OK)
		rc = write_file(argv[4], lbytes_make(rep, rep_len));
	if (rc != LETHE_OK)
		fprintf(stderr, "krb5_tool asreq: %s\n", lethe_status_str(rc));
	free(rep);
	kcl_as_free(&ctx);
	der_writer_free(&w);
	return rc == LETHE_OK ? 0 : EXIT_DECODE;
}

static int
cmd_decode(const char *type, const char *path)
{
	const msg_kind *k;
	lethe_arena arena;
	uint8_t *buf = NULL;
	size_t len = 0;
	lethe_status rc;

	rc = read_file(path, &buf, &len);
	if (rc != LETHE_OK) {
		fprintf(stderr, "krb5_tool: %s: %s (%s)\n", path, lethe_status_str(rc),
			strerror(errno));
		return EXIT_DECODE;
	}
	k = type ? kind_by_name(type) : kind_by_tag(lbytes_make(buf, len));
	if (k == NULL) {
		fprintf(stderr, "krb5_tool: %s: %s\n", path,
			type ? "unknown type (see: krb5_tool types)" :
			       "no known APPLICATION tag; give -t TYPE");
		free(buf);
		return type ? EXIT_USAGE : EXIT_DECODE;
	}
	lethe_arena_init(&arena, TOOL_ARENA_BUDGET);
	decode_print(k, "", &arena, lbytes_make(buf, len), NULL);
	lethe_arena_free(&arena);
	free(buf);
	if (decode_failures != 0)
		return EXIT_DECODE;
	return reencode_failures != 0 ? EXIT_REENCODE : 0;
}


int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "decode") == 0)
		return cmd_decode(NULL, argv[2]);
	if (argc == 5 && strcmp(argv[1], "decode") == 0 && strcmp(argv[2], "-t") == 0)
		return cmd_decode(argv[3], argv[4]);
	if (argc >= 2 && strcmp(argv[1], "decrypt") == 0)
		return cmd_decrypt(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "samples") == 0)
		return cmd_samples(argv[2]);
	if (argc == 7 && strcmp(argv[1], "asreq") == 0)
		return cmd_asreq(argv + 2);
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return cmd_send(argv + 2);
	if (argc == 2 && strcmp(argv[1], "types") == 0) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			printf("%s\n", kinds[i].name);
		return 0;
	}
	usage();
	return EXIT_USAGE;
}
