/*
 * kmp_tool: writes a complete PacketCable KMP exchange, IPsec and SNMPv3
 * DOI, one file per message, for kmp_tshark.sh.
 *
 *	kmp_tool exchange DIR
 *
 * The Kerberos parts are real: an AP-REQ built by src/client with a test
 * session key (its ticket's enc-part is placeholder ciphertext under a test
 * service key), an AP-REP whose EncAPRepPart carries a fresh subkey, and a
 * KRB-ERROR. Every HMAC is keyed as docs/kmp.md says. Before writing, the
 * tool plays the receiving side of each message: decode, verify the HMAC,
 * recover the subkey from the AP-REP with kcl_ap_rep_verify, and check
 * that both sides derive the same SA keys. Prints one line per file:
 * "FILE KMMID DOI". Exit status 0 only when every check passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "client/client.h"
#include "der/der.h"
#include "kmp/kmp.h"
#include "kmp/kmp_kdf.h"
#include "krb5/krb5.h"

#define REALM "EXAMPLE.NET"
#define MSG_MAX 4096

typedef struct exchange {
	const char *dir;
	int count;              /* files written */
	kcl_cred cred;          /* client's ticket and session key */
	kc_key subkey;          /* server's AP-REP subkey */
	kc_key service_key;
} exchange;

static lethe_status
write_msg(exchange *x, const char *name, const uint8_t *msg, size_t len)
{
	char path[4096];
	kmp_msg m;
	FILE *f;

	GUARD(kmp_decode(msg, len, &m));
	snprintf(path, sizeof(path), "%s/%02d-%s.bin", x->dir, ++x->count, name);
	f = fopen(path, "wb");
	ENSURE(f != NULL, LETHE_ERR_IO);
	if (fwrite(msg, 1, len, f) != len) {
		fclose(f);
		return LETHE_ERR_IO;
	}
	ENSURE(fclose(f) == 0, LETHE_ERR_IO);
	printf("%s %s %s\n", path, kmp_kmmid_name(m.kmmid),
	    kmp_doi_name(m.doi));
	return LETHE_OK;
}

/* Encode msg, seal it with a key of its usage derived from base, check it
 * verifies on the receiving side (own decode and verify), write it. */
static lethe_status
emit(exchange *x, const char *name, const kmp_msg *msg, kc_key *base)
{
	uint8_t buf[MSG_MAX];
	kmp_hmac_key key;
	kmp_hmac_usage usage;
	size_t len = 0;
	lethe_status rc;

	memset(&key, 0, sizeof(key));
	GUARD(kmp_encode(msg, buf, sizeof(buf), &len));
	if (kmp_has_hmac(msg->kmmid)) {
		GUARD(kmp_hmac_usage_for(msg->kmmid, &usage));
		GUARD_GOTO(rc, kmp_hmac_key_derive(base, usage, &key));
		GUARD_GOTO(rc, kmp_hmac_seal(&key, buf, len));
		GUARD_GOTO(rc, kmp_hmac_verify(&key, buf, len));
		buf[len - 1] ^= 1;
		ENSURE_GOTO(rc, kmp_hmac_verify(&key, buf, len) ==
		    LETHE_ERR_BAD_INTEGRITY, LETHE_ERR_INVALID_ARG);
		buf[len - 1] ^= 1;
	}
	rc = write_msg(x, name, buf, len);
cleanup:
	kmp_hmac_key_clear(&key);
	return rc;
}

static lethe_status
principal(const char *service, const char *host, lbytes comps[2],
    krb_principal_name *out)
{
	comps[0] = lbytes_make(service, strlen(service));
	comps[1] = lbytes_make(host, strlen(host));
	out->name_type = KRB_NT_SRV_INST;
	out->components = comps;
	out->n_components = 2;
	return LETHE_OK;
}

/* A Ticket for service/host whose enc-part is placeholder ciphertext. */
static lethe_status
make_ticket(exchange *x, const char *service, const char *host)
{
	static const char filler[] = "placeholder EncTicketPart";
	uint8_t cipher[256];
	size_t cipher_len = 0;
	krb_ticket t;
	lbytes comps[2];
	der_writer w;
	lethe_status rc;

	memset(&t, 0, sizeof(t));
	GUARD(principal(service, host, comps, &t.sname));
	GUARD(kc_encrypt(&x->service_key, KRB_KU_TICKET, LBYTES_LIT(filler),
	    cipher, sizeof(cipher), &cipher_len));
	t.realm = LBYTES_LIT(REALM);
	t.enc_part.etype = kc_key_enctype(&x->service_key);
	t.enc_part.has_kvno = true;
	t.enc_part.kvno = 3;
	t.enc_part.cipher = lbytes_make(cipher, cipher_len);
	der_writer_init(&w, MSG_MAX);
	GUARD_GOTO(rc, krb_encode_ticket(&w, &t));
	GUARD_GOTO(rc, der_writer_take(&w, &x->cred.ticket, &x->cred.ticket_len));
cleanup:
	der_writer_free(&w);
	return rc;
}

/* Client side: credential for service/host with a fixed session key. */
static lethe_status
make_cred(exchange *x, const char *service, const char *host)
{
	static const uint8_t session[16] = { 0x5e, 0x55, 0x10, 0x4e, 0x6b,
	    0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74 };
	char server[256];

	kcl_cred_clear(&x->cred);
	snprintf(server, sizeof(server), "%s/%s@%s", service, host, REALM);
	GUARD(kcl_name_parse(&x->cred.client, "mta1/mta1.example.net@" REALM,
	    NULL));
	GUARD(kcl_name_parse(&x->cred.server, server, NULL));
	GUARD(kc_key_new(KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96,
	    lbytes_make(session, sizeof(session)), &x->cred.session_key));
	x->cred.ticket_etype = kc_key_enctype(&x->service_key);
	x->cred.ticket_kvno = 3;
	return make_ticket(x, service, host);
}

/* Server side: AP-REP answering st, carrying x->subkey. */
static lethe_status
make_ap_rep(exchange *x, const kcl_ap_state *st, der_writer *out)
{
	uint8_t cipher[512];
	size_t cipher_len = 0;
	krb_enc_ap_rep_part part;
	krb_ap_rep rep;
	der_writer w;
	lethe_status rc;

	memset(&part, 0, sizeof(part));
	memset(&rep, 0, sizeof(rep));
	part.ctime = st->ctime;
	part.cusec = st->cusec;
	part.has_subkey = true;
	part.subkey.keytype = kc_key_enctype(&x->subkey);
	part.subkey.keyvalue = kc_key_bytes(&x->subkey);
	part.has_seq_number = true;
	part.seq_number = 0x12345678;
	der_writer_init(&w, MSG_MAX);
	GUARD_GOTO(rc, krb_encode_enc_ap_rep_part(&w, &part));
	GUARD_GOTO(rc, kc_encrypt(x->cred.session_key, KRB_KU_AP_REP_ENC_PART,
	    der_written(&w), cipher, sizeof(cipher), &cipher_len));
	rep.enc_part.etype = kc_key_enctype(x->cred.session_key);
	rep.enc_part.cipher = lbytes_make(cipher, cipher_len);
	GUARD_GOTO(rc, krb_encode_ap_rep(out, &rep));
cleanup:
	der_writer_free(&w);
	OPENSSL_cleanse(cipher, sizeof(cipher));
	return rc;
}

static lethe_status
make_krb_error(const char *service, const char *host, der_writer *out)
{
	krb_error e;
	lbytes comps[2];

	memset(&e, 0, sizeof(e));
	e.stime = (int64_t)time(NULL);
	e.error_code = KRB_AP_ERR_SKEW;
	e.realm = LBYTES_LIT(REALM);
	GUARD(principal(service, host, comps, &e.sname));
	return krb_encode_krb_error(out, &e);
}

/* The client recovers the subkey from the AP-REP; SA keys must agree. */
static lethe_status
check_agreement(exchange *x, const kcl_ap_state *st, lbytes ap_rep,
    kmp_doi doi, kmp_suite suite)
{
	kcl_ap_rep_info info;
	kmp_ipsec_keys a, b;
	kmp_snmp_keys sa, sb;
	lethe_status rc;

	memset(&info, 0, sizeof(info));
	GUARD(kcl_ap_rep_verify(&x->cred, st, ap_rep.data, ap_rep.len, &info,
	    NULL));
	ENSURE_GOTO(rc, info.subkey != NULL, LETHE_ERR_FORMAT);
	if (doi == KMP_DOI_IPSEC) {
		GUARD_GOTO(rc, kmp_ipsec_keys_derive(info.subkey, suite, &a));
		GUARD_GOTO(rc, kmp_ipsec_keys_derive(&x->subkey, suite, &b));
		rc = CRYPTO_memcmp(&a, &b, sizeof(a)) == 0 ? LETHE_OK :
		    LETHE_ERR_BAD_INTEGRITY;
	} else {
		GUARD_GOTO(rc, kmp_snmp_keys_derive(info.subkey, suite, &sa));
		GUARD_GOTO(rc, kmp_snmp_keys_derive(&x->subkey, suite, &sb));
		rc = CRYPTO_memcmp(&sa, &sb, sizeof(sa)) == 0 ? LETHE_OK :
		    LETHE_ERR_BAD_INTEGRITY;
	}
cleanup:
	kmp_ipsec_keys_clear(&a);
	kmp_ipsec_keys_clear(&b);
	kmp_snmp_keys_clear(&sa);
	kmp_snmp_keys_clear(&sb);
	kc_key_free(info.subkey);
	return rc;
}

/* Wake Up, AP Request, AP Reply, SA Recovered (+ Rekey for IPsec), Error Reply. */
static lethe_status
run_doi(exchange *x, kmp_doi doi, const char *service, const char *host,
    kmp_suite suite)
{
	const char *tag = doi == KMP_DOI_IPSEC ? "ipsec" : "snmp";
	char principal_text[256], name[64];
	kcl_ap_params p;
	kcl_ap_state st;
	der_writer req, rep, err;
	kmp_msg m;
	lethe_status rc;

	memset(&st, 0, sizeof(st));
	memset(&p, 0, sizeof(p));
	der_writer_init(&req, MSG_MAX);
	der_writer_init(&rep, MSG_MAX);
	der_writer_init(&err, MSG_MAX);
	snprintf(principal_text, sizeof(principal_text), "%s/%s@%s", service,
	    host, REALM);
	GUARD_GOTO(rc, make_cred(x, service, host));
	GUARD_GOTO(rc, kc_key_generate(&x->subkey,
	    KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96));

	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_WAKE_UP;
	m.doi = doi;
	m.u.wake_up.server_nonce = 0x1a2b3c4d;
	m.u.wake_up.principal = lbytes_make(principal_text,
	    strlen(principal_text));
	snprintf(name, sizeof(name), "%s-wake-up", tag);
	GUARD_GOTO(rc, emit(x, name, &m, NULL));

	p.ap_options = KRB_AP_OPT_MUTUAL_REQUIRED;
	p.has_seq_number = true;
	p.seq_number = 0x0badcafe;
	GUARD_GOTO(rc, kcl_ap_req_build(&x->cred, &p, &st, &req));
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_AP_REQUEST;
	m.doi = doi;
	m.u.ap_request.ap_req = der_written(&req);
	m.u.ap_request.server_nonce = 0x1a2b3c4d;
	m.u.ap_request.asd.spi = 0x0000c001;
	m.u.ap_request.asd.snmp.engine_id = LBYTES_LIT(
	    "\x80\x00\x11\x8b\x03\x00\x10\x18\x00\x00\x02");
	m.u.ap_request.asd.snmp.engine_boots = 3;
	m.u.ap_request.asd.snmp.engine_time = 120;
	m.u.ap_request.asd.snmp.user_name = LBYTES_LIT("MTA-Prov-Admin");
	m.u.ap_request.suites.count = 2;
	m.u.ap_request.suites.suite[0] = suite;
	m.u.ap_request.suites.suite[1] = doi == KMP_DOI_IPSEC ?
	    (kmp_suite){ KMP_IPSEC_AUTH_HMAC_MD5_96, KMP_IPSEC_ENC_3DES } :
	    (kmp_suite){ KMP_SNMP_AUTH_HMAC_MD5_96, KMP_SNMP_PRIV_NONE };
	m.u.ap_request.reestablish = true;
	snprintf(name, sizeof(name), "%s-ap-request", tag);
	GUARD_GOTO(rc, emit(x, name, &m, x->cred.session_key));

	GUARD_GOTO(rc, make_ap_rep(x, &st, &rep));
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_AP_REPLY;
	m.doi = doi;
	m.u.ap_reply.ap_rep = der_written(&rep);
	m.u.ap_reply.asd.spi = 0x0000b001;
	m.u.ap_reply.asd.snmp.engine_id = LBYTES_LIT("\x80\x00\x11\x8b\x04prov1");
	m.u.ap_reply.asd.snmp.engine_boots = 1;
	m.u.ap_reply.asd.snmp.engine_time = 4000;
	m.u.ap_reply.asd.snmp.user_name = LBYTES_LIT("MTA-Prov-Admin");
	m.u.ap_reply.suite = suite;
	m.u.ap_reply.lifetime = 604800;
	m.u.ap_reply.grace_period = 600;
	m.u.ap_reply.reestablish = true;
	m.u.ap_reply.ack_required = true;
	snprintf(name, sizeof(name), "%s-ap-reply", tag);
	GUARD_GOTO(rc, emit(x, name, &m, &x->subkey));
	GUARD_GOTO(rc, check_agreement(x, &st, der_written(&rep), doi, suite));

	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_SA_RECOVERED;
	m.doi = doi;
	snprintf(name, sizeof(name), "%s-sa-recovered", tag);
	GUARD_GOTO(rc, emit(x, name, &m, &x->subkey));

	if (doi == KMP_DOI_IPSEC) {
		memset(&m, 0, sizeof(m));
		m.kmmid = KMP_REKEY;
		m.doi = doi;
		m.u.rekey.server_nonce = 0x5e6f7081;
		m.u.rekey.principal = lbytes_make(principal_text,
		    strlen(principal_text));
		m.u.rekey.timestamp = (int64_t)time(NULL);
		m.u.rekey.spi = 0x0000b002;
		m.u.rekey.suites.count = 1;
		m.u.rekey.suites.suite[0] = suite;
		m.u.rekey.lifetime = 604800;
		m.u.rekey.grace_period = 600;
		GUARD_GOTO(rc, emit(x, "ipsec-rekey", &m, &x->subkey));
	}

	GUARD_GOTO(rc, make_krb_error(service, host, &err));
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_ERROR_REPLY;
	m.doi = doi;
	m.u.error_reply.krb_error = der_written(&err);
	snprintf(name, sizeof(name), "%s-error-reply", tag);
	rc = emit(x, name, &m, NULL);
cleanup:
	kcl_ap_state_clear(&st);
	der_writer_free(&req);
	der_writer_free(&rep);
	der_writer_free(&err);
	kc_key_clear(&x->subkey);
	return rc;
}

int
main(int argc, char **argv)
{
	exchange x;
	lethe_status rc;

	if (argc != 3 || strcmp(argv[1], "exchange") != 0) {
		fprintf(stderr, "usage: kmp_tool exchange DIR\n");
		return 2;
	}
	memset(&x, 0, sizeof(x));
	x.dir = argv[2];
	rc = kc_key_generate(&x.service_key, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96);
	if (rc == LETHE_OK)
		rc = run_doi(&x, KMP_DOI_IPSEC, "cms", "cms1.example.net",
		    (kmp_suite){ KMP_IPSEC_AUTH_HMAC_SHA1_96,
		    KMP_IPSEC_ENC_AES_CBC_128 });
	if (rc == LETHE_OK)
		rc = run_doi(&x, KMP_DOI_SNMPV3, "mtaprovsrvr",
		    "prov1.example.net", (kmp_suite){ KMP_SNMP_AUTH_HMAC_SHA1_96,
		    KMP_SNMP_PRIV_DES_CBC });
	kcl_cred_clear(&x.cred);
	kc_key_clear(&x.service_key);
	if (rc != LETHE_OK) {
		fprintf(stderr, "kmp_tool: %s\n", lethe_status_str(rc));
		return 1;
	}
	return 0;
}
