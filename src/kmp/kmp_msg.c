/* PacketCable KMP message codec: strict bounded decoder and encoder. */
#include <string.h>

#include "der/der.h"
#include "kmp/kmp.h"

/* ------------------------------------------------------------ reading */

/* A cursor over the datagram; records why decoding stopped in *fault. */
typedef struct kmp_cursor {
	const uint8_t *p;
	size_t left;
	kmp_fault *fault;
} kmp_cursor;

static lethe_status
cur_fail(kmp_cursor *c, kmp_fault fault, lethe_status rc)
{
	*c->fault = fault;
	return rc;
}

static lethe_status
cur_take(kmp_cursor *c, size_t n, const uint8_t **out)
{
	if (n > c->left)
		return cur_fail(c, KMP_FAULT_TRUNCATED, LETHE_ERR_DER_TRUNCATED);
	*out = c->p;
	c->p += n;
	c->left -= n;
	return LETHE_OK;
}

static lethe_status
cur_u8(kmp_cursor *c, uint8_t *out)
{
	const uint8_t *b;

	GUARD(cur_take(c, 1, &b));
	*out = b[0];
	return LETHE_OK;
}

static lethe_status
cur_u32(kmp_cursor *c, uint32_t *out)
{
	const uint8_t *b;

	GUARD(cur_take(c, 4, &b));
	*out = lethe_load_be32(b);
	return LETHE_OK;
}

/* A flag byte: 0 or 1 only. */
static lethe_status
cur_flag(kmp_cursor *c, bool *out)
{
	uint8_t v;

	GUARD(cur_u8(c, &v));
	if (v > 1)
		return cur_fail(c, KMP_FAULT_FLAG, LETHE_ERR_FORMAT);
	*out = v == 1;
	return LETHE_OK;
}

/*
 * The Kerberos message must be one DER element tagged [APPLICATION app]
 * whose contents are exactly one SEQUENCE. Inner fields are not decoded.
 */
static lethe_status
krb_check(lbytes in, unsigned app, size_t *used)
{
	der_reader r, contents, seq;
	lbytes whole;

	der_reader_init(&r, in.data, in.len);
	GUARD(der_read(&r, DER_APP(app), &contents));
	GUARD(der_read(&contents, DER_SEQUENCE, &seq));
	GUARD(der_finish(&contents));
	whole = lbytes_make(in.data, in.len - der_remaining(&r));
	*used = whole.len;
	return LETHE_OK;
}

static lethe_status
cur_krb(kmp_cursor *c, unsigned app, lbytes *out)
{
	const uint8_t *b;
	size_t used = 0;
	lethe_status rc;

	rc = krb_check(lbytes_make(c->p, c->left), app, &used);
	if (rc == LETHE_ERR_DER_TRUNCATED)
		return cur_fail(c, KMP_FAULT_TRUNCATED, rc);
	if (rc != LETHE_OK)
		return cur_fail(c, KMP_FAULT_KERBEROS, rc);
	GUARD(cur_take(c, used, &b));
	*out = lbytes_make(b, used);
	return LETHE_OK;
}

static bool
principal_ok(lbytes name)
{
	size_t i;

	if (name.len == 0 || name.len > KMP_MAX_PRINCIPAL_LEN)
		return false;
	for (i = 0; i < name.len; i++)
		if (name.data[i] < 0x21 || name.data[i] > 0x7e)
			return false;
	return true;
}

/* NUL-terminated principal; the NUL is consumed but not returned. */
static lethe_status
cur_principal(kmp_cursor *c, lbytes *out)
{
	const uint8_t *nul, *b;
	size_t scan = c->left;

	if (scan > KMP_MAX_PRINCIPAL_LEN + 1)
		scan = KMP_MAX_PRINCIPAL_LEN + 1;
	nul = scan > 0 ? memchr(c->p, 0, scan) : NULL;
	if (nul == NULL)
		return cur_fail(c, KMP_FAULT_PRINCIPAL, LETHE_ERR_FORMAT);
	*out = lbytes_make(c->p, (size_t)(nul - c->p));
	if (!principal_ok(*out))
		return cur_fail(c, KMP_FAULT_PRINCIPAL, LETHE_ERR_FORMAT);
	return cur_take(c, out->len + 1, &b);
}

static lethe_status
cur_timestamp(kmp_cursor *c, int64_t *out)
{
	const uint8_t *b;

	GUARD(cur_take(c, KMP_TIMESTAMP_LEN, &b));
	if (kmp_timestamp_parse(b, out) != LETHE_OK)
		return cur_fail(c, KMP_FAULT_TIMESTAMP, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

static lethe_status
cur_suites(kmp_cursor *c, kmp_suites *out)
{
	const uint8_t *b;
	uint8_t n, i;

	GUARD(cur_u8(c, &n));
	if (n == 0)
		return cur_fail(c, KMP_FAULT_SUITES, LETHE_ERR_FORMAT);
	GUARD(cur_take(c, 2 * (size_t)n, &b));
	if (n > KMP_MAX_SUITES)
		return cur_fail(c, KMP_FAULT_SUITES, LETHE_ERR_TOO_BIG);
	out->count = n;
	for (i = 0; i < n; i++) {
		out->suite[i].auth = b[2 * i];
		out->suite[i].enc = b[2 * i + 1];
	}
	return LETHE_OK;
}

/* Length-prefixed (one byte) string of min..max bytes. */
static lethe_status
cur_short_string(kmp_cursor *c, size_t min, size_t max, lbytes *out)
{
	const uint8_t *b;
	uint8_t n;

	GUARD(cur_u8(c, &n));
	GUARD(cur_take(c, n, &b));
	if (n < min || n > max)
		return cur_fail(c, KMP_FAULT_ASD, LETHE_ERR_FORMAT);
	*out = lbytes_make(b, n);
	return LETHE_OK;
}

/* RFC 3414: snmpEngineBoots and snmpEngineTime are 0..2147483647. */
static lethe_status
cur_engine_u31(kmp_cursor *c, uint32_t *out)
{
	GUARD(cur_u32(c, out));
	if (*out > 0x7fffffffu)
		return cur_fail(c, KMP_FAULT_ASD, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

/* IPsec SPI: 0 is never sent and 1..255 are reserved (RFC 4303 §2.1). */
static lethe_status
cur_spi(kmp_cursor *c, uint32_t *out)
{
	GUARD(cur_u32(c, out));
	if (*out < 256)
		return cur_fail(c, KMP_FAULT_ASD, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

static lethe_status
cur_asd(kmp_cursor *c, kmp_doi doi, kmp_asd *out)
{
	if (doi == KMP_DOI_IPSEC)
		return cur_spi(c, &out->spi);
	GUARD(cur_short_string(c, KMP_ENGINE_ID_MIN, KMP_ENGINE_ID_MAX,
	    &out->snmp.engine_id));
	GUARD(cur_engine_u31(c, &out->snmp.engine_boots));
	GUARD(cur_engine_u31(c, &out->snmp.engine_time));
	return cur_short_string(c, KMP_USER_NAME_MIN, KMP_USER_NAME_MAX,
	    &out->snmp.user_name);
}

static lethe_status
cur_hmac(kmp_cursor *c, uint8_t out[KMP_HMAC_LEN])
{
	const uint8_t *b;

	GUARD(cur_take(c, KMP_HMAC_LEN, &b));
	memcpy(out, b, KMP_HMAC_LEN);
	return LETHE_OK;
}

static lethe_status
dec_wake_up(kmp_cursor *c, kmp_wake_up *m)
{
	GUARD(cur_u32(c, &m->server_nonce));
	return cur_principal(c, &m->principal);
}

static lethe_status
dec_ap_request(kmp_cursor *c, kmp_doi doi, kmp_ap_request *m)
{
	GUARD(cur_krb(c, 14, &m->ap_req));
	GUARD(cur_u32(c, &m->server_nonce));
	GUARD(cur_asd(c, doi, &m->asd));
	GUARD(cur_suites(c, &m->suites));
	GUARD(cur_flag(c, &m->reestablish));
	return cur_hmac(c, m->hmac);
}

static lethe_status
dec_ap_reply(kmp_cursor *c, kmp_doi doi, kmp_ap_reply *m)
{
	kmp_suites suites;

	GUARD(cur_krb(c, 15, &m->ap_rep));
	GUARD(cur_asd(c, doi, &m->asd));
	GUARD(cur_suites(c, &suites));
	if (suites.count != 1)
		return cur_fail(c, KMP_FAULT_SUITES, LETHE_ERR_FORMAT);
	m->suite = suites.suite[0];
	GUARD(cur_u32(c, &m->lifetime));
	GUARD(cur_u32(c, &m->grace_period));
	GUARD(cur_flag(c, &m->reestablish));
	GUARD(cur_flag(c, &m->ack_required));
	return cur_hmac(c, m->hmac);
}

static lethe_status
dec_rekey(kmp_cursor *c, kmp_rekey *m)
{
	GUARD(cur_u32(c, &m->server_nonce));
	GUARD(cur_principal(c, &m->principal));
	GUARD(cur_timestamp(c, &m->timestamp));
	GUARD(cur_spi(c, &m->spi));
	GUARD(cur_suites(c, &m->suites));
	GUARD(cur_u32(c, &m->lifetime));
	GUARD(cur_u32(c, &m->grace_period));
	GUARD(cur_flag(c, &m->reestablish));
	return cur_hmac(c, m->hmac);
}

static lethe_status
dec_header(kmp_cursor *c, kmp_msg *out)
{
	const uint8_t *h;

	GUARD(cur_take(c, KMP_HEADER_LEN, &h));
	if (h[0] < KMP_WAKE_UP || h[0] > KMP_ERROR_REPLY)
		return cur_fail(c, KMP_FAULT_KMMID, LETHE_ERR_UNSUPPORTED);
	if (h[1] != KMP_DOI_IPSEC && h[1] != KMP_DOI_SNMPV3)
		return cur_fail(c, KMP_FAULT_DOI, LETHE_ERR_UNSUPPORTED);
	if (h[2] != KMP_VERSION)
		return cur_fail(c, KMP_FAULT_VERSION, LETHE_ERR_UNSUPPORTED);
	if (h[0] == KMP_REKEY && h[1] != KMP_DOI_IPSEC)
		return cur_fail(c, KMP_FAULT_DOI_MESSAGE, LETHE_ERR_UNSUPPORTED);
	out->kmmid = (kmp_kmmid)h[0];
	out->doi = (kmp_doi)h[1];
	out->version = h[2];
	return LETHE_OK;
}

static lethe_status
dec_body(kmp_cursor *c, kmp_msg *out)
{
	switch (out->kmmid) {
	case KMP_WAKE_UP:
		return dec_wake_up(c, &out->u.wake_up);
	case KMP_AP_REQUEST:
		return dec_ap_request(c, out->doi, &out->u.ap_request);
	case KMP_AP_REPLY:
		return dec_ap_reply(c, out->doi, &out->u.ap_reply);
	case KMP_SA_RECOVERED:
		return cur_hmac(c, out->u.sa_recovered.hmac);
	case KMP_REKEY:
		return dec_rekey(c, &out->u.rekey);
	case KMP_ERROR_REPLY:
		return cur_krb(c, 30, &out->u.error_reply.krb_error);
	}
	return cur_fail(c, KMP_FAULT_KMMID, LETHE_ERR_UNSUPPORTED);
}

lethe_status
kmp_decode(const uint8_t *buf, size_t len, kmp_msg *out)
{
	kmp_cursor c;

	if (out == NULL || (buf == NULL && len > 0))
		return LETHE_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	c.p = buf;
	c.left = len;
	c.fault = &out->fault;
	if (len > KMP_MAX_MSG_LEN)
		return cur_fail(&c, KMP_FAULT_TOO_BIG, LETHE_ERR_TOO_BIG);
	GUARD(dec_header(&c, out));
	GUARD(dec_body(&c, out));
	if (c.left != 0)
		return cur_fail(&c, KMP_FAULT_TRAILING, LETHE_ERR_DER_TRAILING);
	return LETHE_OK;
}

/* ------------------------------------------------------------ writing */

/* Output sink; with out == NULL it only counts (kmp_encoded_len). */
typedef struct kmp_sink {
	uint8_t *out;
	size_t cap;
	size_t len;
} kmp_sink;

static lethe_status
put_bytes(kmp_sink *s, const void *data, size_t n)
{
	if (n > KMP_MAX_MSG_LEN - s->len)
		return LETHE_ERR_TOO_BIG;
	if (s->out != NULL) {
		if (n > s->cap - s->len)
			return LETHE_ERR_TOO_BIG;
		if (n > 0)
			memcpy(s->out + s->len, data, n);
	}
	s->len += n;
	return LETHE_OK;
}

static lethe_status
put_u8(kmp_sink *s, uint8_t v)
{
	return put_bytes(s, &v, 1);
}

static lethe_status
put_u32(kmp_sink *s, uint32_t v)
{
	uint8_t b[4];

	lethe_store_be32(b, v);
	return put_bytes(s, b, sizeof(b));
}

static lethe_status
put_krb(kmp_sink *s, lbytes krb, unsigned app)
{
	size_t used = 0;

	ENSURE(krb.data != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(krb_check(krb, app, &used) == LETHE_OK && used == krb.len,
	    LETHE_ERR_INVALID_ARG);
	return put_bytes(s, krb.data, krb.len);
}

static lethe_status
put_principal(kmp_sink *s, lbytes name)
{
	ENSURE(name.data != NULL && principal_ok(name), LETHE_ERR_INVALID_ARG);
	GUARD(put_bytes(s, name.data, name.len));
	return put_u8(s, 0);
}

static lethe_status
put_short_string(kmp_sink *s, lbytes str, size_t min, size_t max)
{
	ENSURE(str.len >= min && str.len <= max && str.data != NULL,
	    LETHE_ERR_INVALID_ARG);
	GUARD(put_u8(s, (uint8_t)str.len));
	return put_bytes(s, str.data, str.len);
}

static lethe_status
put_asd(kmp_sink *s, kmp_doi doi, const kmp_asd *asd)
{
	const kmp_snmp_asd *snmp = &asd->snmp;

	if (doi == KMP_DOI_IPSEC) {
		ENSURE(asd->spi >= 256, LETHE_ERR_INVALID_ARG);
		return put_u32(s, asd->spi);
	}
	ENSURE(snmp->engine_boots <= 0x7fffffffu &&
	    snmp->engine_time <= 0x7fffffffu, LETHE_ERR_INVALID_ARG);
	GUARD(put_short_string(s, snmp->engine_id, KMP_ENGINE_ID_MIN,
	    KMP_ENGINE_ID_MAX));
	GUARD(put_u32(s, snmp->engine_boots));
	GUARD(put_u32(s, snmp->engine_time));
	return put_short_string(s, snmp->user_name, KMP_USER_NAME_MIN,
	    KMP_USER_NAME_MAX);
}

static lethe_status
put_suites(kmp_sink *s, const kmp_suite *suite, size_t count)
{
	size_t i;

	ENSURE(count >= 1 && count <= KMP_MAX_SUITES, LETHE_ERR_INVALID_ARG);
	GUARD(put_u8(s, (uint8_t)count));
	for (i = 0; i < count; i++) {
		GUARD(put_u8(s, suite[i].auth));
		GUARD(put_u8(s, suite[i].enc));
	}
	return LETHE_OK;
}

static lethe_status
enc_ap_request(kmp_sink *s, kmp_doi doi, const kmp_ap_request *m)
{
	GUARD(put_krb(s, m->ap_req, 14));
	GUARD(put_u32(s, m->server_nonce));
	GUARD(put_asd(s, doi, &m->asd));
	GUARD(put_suites(s, m->suites.suite, m->suites.count));
	GUARD(put_u8(s, m->reestablish ? 1 : 0));
	return put_bytes(s, m->hmac, KMP_HMAC_LEN);
}

static lethe_status
enc_ap_reply(kmp_sink *s, kmp_doi doi, const kmp_ap_reply *m)
{
	GUARD(put_krb(s, m->ap_rep, 15));
	GUARD(put_asd(s, doi, &m->asd));
	GUARD(put_suites(s, &m->suite, 1));
	GUARD(put_u32(s, m->lifetime));
	GUARD(put_u32(s, m->grace_period));
	GUARD(put_u8(s, m->reestablish ? 1 : 0));
	GUARD(put_u8(s, m->ack_required ? 1 : 0));
	return put_bytes(s, m->hmac, KMP_HMAC_LEN);
}

static lethe_status
enc_rekey(kmp_sink *s, const kmp_rekey *m)
{
	uint8_t stamp[KMP_TIMESTAMP_LEN];

	ENSURE(m->spi >= 256, LETHE_ERR_INVALID_ARG);
	ENSURE(kmp_timestamp_format(m->timestamp, stamp) == LETHE_OK,
	    LETHE_ERR_INVALID_ARG);
	GUARD(put_u32(s, m->server_nonce));
	GUARD(put_principal(s, m->principal));
	GUARD(put_bytes(s, stamp, sizeof(stamp)));
	GUARD(put_u32(s, m->spi));
	GUARD(put_suites(s, m->suites.suite, m->suites.count));
	GUARD(put_u32(s, m->lifetime));
	GUARD(put_u32(s, m->grace_period));
	GUARD(put_u8(s, m->reestablish ? 1 : 0));
	return put_bytes(s, m->hmac, KMP_HMAC_LEN);
}

static lethe_status
enc_body(kmp_sink *s, const kmp_msg *msg)
{
	switch (msg->kmmid) {
	case KMP_WAKE_UP:
		GUARD(put_u32(s, msg->u.wake_up.server_nonce));
		return put_principal(s, msg->u.wake_up.principal);
	case KMP_AP_REQUEST:
		return enc_ap_request(s, msg->doi, &msg->u.ap_request);
	case KMP_AP_REPLY:
		return enc_ap_reply(s, msg->doi, &msg->u.ap_reply);
	case KMP_SA_RECOVERED:
		return put_bytes(s, msg->u.sa_recovered.hmac, KMP_HMAC_LEN);
	case KMP_REKEY:
		return enc_rekey(s, &msg->u.rekey);
	case KMP_ERROR_REPLY:
		return put_krb(s, msg->u.error_reply.krb_error, 30);
	}
	return LETHE_ERR_INVALID_ARG;
}

static lethe_status
enc_msg(kmp_sink *s, const kmp_msg *msg)
{
	ENSURE(msg != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(msg->doi == KMP_DOI_IPSEC || msg->doi == KMP_DOI_SNMPV3,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(msg->kmmid != KMP_REKEY || msg->doi == KMP_DOI_IPSEC,
	    LETHE_ERR_INVALID_ARG);
	GUARD(put_u8(s, (uint8_t)msg->kmmid));
	GUARD(put_u8(s, (uint8_t)msg->doi));
	GUARD(put_u8(s, KMP_VERSION));
	return enc_body(s, msg);
}

lethe_status
kmp_encoded_len(const kmp_msg *msg, size_t *out_len)
{
	kmp_sink s = { NULL, 0, 0 };

	ENSURE(out_len != NULL, LETHE_ERR_INVALID_ARG);
	GUARD(enc_msg(&s, msg));
	*out_len = s.len;
	return LETHE_OK;
}

lethe_status
kmp_encode(const kmp_msg *msg, uint8_t *out, size_t out_cap, size_t *out_len)
{
	kmp_sink s = { out, out_cap, 0 };
	size_t need;

	ENSURE(out != NULL && out_len != NULL, LETHE_ERR_INVALID_ARG);
	/* Validate and size first so that a failure leaves out untouched. */
	GUARD(kmp_encoded_len(msg, &need));
	ENSURE(need <= out_cap, LETHE_ERR_TOO_BIG);
	GUARD(enc_msg(&s, msg));
	*out_len = s.len;
	return LETHE_OK;
}

/* ------------------------------------------------------------ HMAC range */

bool
kmp_has_hmac(kmp_kmmid kmmid)
{
	return kmmid == KMP_AP_REQUEST || kmmid == KMP_AP_REPLY ||
	    kmmid == KMP_SA_RECOVERED || kmmid == KMP_REKEY;
}

lethe_status
kmp_hmac_range(const uint8_t *buf, size_t len, lbytes *covered, lbytes *mac)
{
	ENSURE(buf != NULL && covered != NULL && mac != NULL,
	    LETHE_ERR_INVALID_ARG);
	ENSURE(len >= 1, LETHE_ERR_DER_TRUNCATED);
	ENSURE(kmp_has_hmac((kmp_kmmid)buf[0]), LETHE_ERR_UNSUPPORTED);
	ENSURE(len >= KMP_HEADER_LEN + KMP_HMAC_LEN, LETHE_ERR_DER_TRUNCATED);
	*covered = lbytes_make(buf, len - KMP_HMAC_LEN);
	*mac = lbytes_make(buf + len - KMP_HMAC_LEN, KMP_HMAC_LEN);
	return LETHE_OK;
}

/* ------------------------------------------------------------ timestamp */

#define KMP_TS_MIN (-631152000LL)       /* 1950-01-01T00:00:00Z */
#define KMP_TS_MAX 2524607999LL         /* 2049-12-31T23:59:59Z */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

static void
put2(uint8_t *out, unsigned v)
{
	out[0] = (uint8_t)('0' + v / 10);
	out[1] = (uint8_t)('0' + v % 10);
}

lethe_status
kmp_timestamp_format(int64_t unix_time, uint8_t out[KMP_TIMESTAMP_LEN])
{
	int64_t days, secs, year;
	unsigned month, day;

	ENSURE(out != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(unix_time >= KMP_TS_MIN && unix_time <= KMP_TS_MAX,
	    LETHE_ERR_INVALID_ARG);
	days = unix_time >= 0 ? unix_time / 86400 : -((-unix_time + 86399) / 86400);
	secs = unix_time - days * 86400;
	civil_from_days(days, &year, &month, &day);
	put2(out, (unsigned)(year % 100));
	put2(out + 2, month);
	put2(out + 4, day);
	put2(out + 6, (unsigned)(secs / 3600));
	put2(out + 8, (unsigned)(secs / 60 % 60));
	put2(out + 10, (unsigned)(secs % 60));
	out[12] = 'Z';
	return LETHE_OK;
}

static bool
get2(const uint8_t *in, unsigned *v)
{
	if (in[0] < '0' || in[0] > '9' || in[1] < '0' || in[1] > '9')
		return false;
	*v = (unsigned)(in[0] - '0') * 10 + (unsigned)(in[1] - '0');
	return true;
}

lethe_status
kmp_timestamp_parse(const uint8_t in[KMP_TIMESTAMP_LEN], int64_t *unix_time)
{
	unsigned yy, mo, dd, hh, mi, ss;
	int64_t year;

	ENSURE(in != NULL && unix_time != NULL, LETHE_ERR_INVALID_ARG);
	ENSURE(get2(in, &yy) && get2(in + 2, &mo) && get2(in + 4, &dd) &&
	    get2(in + 6, &hh) && get2(in + 8, &mi) && get2(in + 10, &ss) &&
	    in[12] == 'Z', LETHE_ERR_FORMAT);
	year = yy >= 50 ? 1900 + yy : 2000 + yy;
	ENSURE(mo >= 1 && mo <= 12 && dd >= 1 &&
	    dd <= days_in_month(year, mo) && hh <= 23 && mi <= 59 && ss <= 59,
	    LETHE_ERR_FORMAT);
	*unix_time = days_from_civil(year, mo, dd) * 86400 +
	    (int64_t)hh * 3600 + (int64_t)mi * 60 + ss;
	return LETHE_OK;
}

/* ------------------------------------------------------------ names */

const char *
kmp_kmmid_name(kmp_kmmid kmmid)
{
	switch (kmmid) {
	case KMP_WAKE_UP:
		return "Wake Up";
	case KMP_AP_REQUEST:
		return "AP Request";
	case KMP_AP_REPLY:
		return "AP Reply";
	case KMP_SA_RECOVERED:
		return "SA Recovered";
	case KMP_REKEY:
		return "Rekey";
	case KMP_ERROR_REPLY:
		return "Error Reply";
	}
	return "unknown";
}

const char *
kmp_doi_name(kmp_doi doi)
{
	switch (doi) {
	case KMP_DOI_IPSEC:
		return "IPsec";
	case KMP_DOI_SNMPV3:
		return "SNMPv3";
	}
	return "unknown";
}

const char *
kmp_fault_name(kmp_fault fault)
{
	static const char *const names[] = {
		[KMP_FAULT_NONE] = "none",
		[KMP_FAULT_TRUNCATED] = "truncated",
		[KMP_FAULT_TRAILING] = "trailing bytes",
		[KMP_FAULT_TOO_BIG] = "message too big",
		[KMP_FAULT_KMMID] = "unknown message ID",
		[KMP_FAULT_DOI] = "unknown DOI",
		[KMP_FAULT_VERSION] = "unsupported version",
		[KMP_FAULT_DOI_MESSAGE] = "message not defined for this DOI",
		[KMP_FAULT_KERBEROS] = "bad embedded Kerberos message",
		[KMP_FAULT_PRINCIPAL] = "bad server principal",
		[KMP_FAULT_SUITES] = "bad ciphersuite list",
		[KMP_FAULT_ASD] = "bad application-specific data",
		[KMP_FAULT_FLAG] = "flag not 0 or 1",
		[KMP_FAULT_TIMESTAMP] = "bad timestamp",
	};

	if ((size_t)fault >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[fault];
}
