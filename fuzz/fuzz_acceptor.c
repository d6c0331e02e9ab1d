/*
 * The acceptor fed arbitrary input, with a fixed keytab (host/srv@LETHE.TEST,
 * kvno 3, aes256) and a fixed clock. The first byte picks what the rest is:
 *   0  a whole AP-REQ, verified as received;
 *   1  the plaintext of a ticket, sealed here with the keytab key and sent
 *      with a valid authenticator under the fixed session key;
 *   2  the plaintext of an authenticator, sealed here with the session key
 *      of a valid fixed ticket;
 *   3  the content of a public-key ticket's CMS (what the KDC-signature
 *      check reads: a SignedData when the KDC made it), sealed here to the
 *      fixed identity of fuzz_registrar_cms, with a valid authenticator;
 *   4  a PubkeyTicketContent, signed here by that identity (which the
 *      acceptor trusts as the KDC's) and sealed to it, so the checks after
 *      the signature are reached too.
 * So the checks after each decryption are reached with arbitrary content.
 * An accepted request also gets an AP-REP and a KRB-ERROR built. Nothing
 * may crash or leak, and a refused result must hold no key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acceptor/acceptor.h"
#include "keytab/keytab.h"
#include "registrar/registrar.h"

#include "fuzz_registrar_cms_identity.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW INT64_C(1700000000)
#define FZ_REALM "LETHE.TEST"
#define FZ_SERVER "host/srv.lethe.test@" FZ_REALM
#define FZ_ET18 KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96
#define FZ_WRITER_MAX (1u << 20)

static const uint8_t fz_service_key[32] = {
	0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed,
	0xfe, 0x0f, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
	0xdd, 0xee, 0xff, 0x01 };
static const uint8_t fz_session_key[32] = {
	0x5a, 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a,
	0x1b, 0x1c, 0x1d, 0x1e };
static const lbytes fz_srv_comps[] = { LBYTES_LIT("host"), LBYTES_LIT("srv.lethe.test") };
static const lbytes fz_alice_comps[] = { LBYTES_LIT("alice") };
static const krb_principal_name fz_srv = { KRB_NT_SRV_HST, fz_srv_comps, 2 };
static const krb_principal_name fz_alice = { KRB_NT_PRINCIPAL, fz_alice_comps, 1 };

static char fz_dir[256];
static char fz_path[300];
static reg_identity *fz_identity;   /* the service's, and trusted as the KDC's */

static void
fz_clock(void *arg, int64_t *sec, int32_t *usec)
{
	(void)arg;
	*sec = FZ_NOW;
	*usec = 0;
}

static void
fz_cleanup(void)
{
	unlink(fz_path);
	rmdir(fz_dir);
}

static void
fz_write_keytab(void)
{
	const char *tmp = getenv("TMPDIR");
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };

	snprintf(fz_dir, sizeof(fz_dir), "%s/lethe-fuzz-acc-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(fz_dir) == NULL)
		abort();
	snprintf(fz_path, sizeof(fz_path), "%s/keytab", fz_dir);
	if (kt_new(&kt) != LETHE_OK ||
	    kt_principal_parse(FZ_SERVER, strlen(FZ_SERVER), NULL, &p) != LETHE_OK ||
	    kt_add(kt, &p, 3, FZ_ET18, 1, lbytes_make(fz_service_key, 32)) != LETHE_OK ||
	    kt_save(kt, fz_path) != LETHE_OK)
		abort();
	kt_principal_clear(&p);
	kt_free(kt);
	atexit(fz_cleanup);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_write_keytab();
	if (reg_identity_from_pem(fuzz_cert_pem, sizeof(fuzz_cert_pem) - 1, fuzz_key_pem,
	    sizeof(fuzz_key_pem) - 1, &fz_identity) != LETHE_OK)
		abort();
	return 0;
}

/* Seal plain with key for usage into ed (cipher in a heap buffer returned). */
static uint8_t *
fz_seal(const uint8_t key_bytes[32], uint32_t usage, lbytes plain, krb_enc_data *ed)
{
	kc_key key;
	size_t cap = 0, len = 0;
	uint8_t *buf;

	if (kc_key_init(&key, FZ_ET18, lbytes_make(key_bytes, 32)) != LETHE_OK ||
	    kc_encrypt_len(FZ_ET18, plain.len, &cap) != LETHE_OK || (buf = malloc(cap)) == NULL)
		abort();
	if (kc_encrypt(&key, usage, plain, buf, cap, &len) != LETHE_OK)
		abort();
	kc_key_clear(&key);
	*ed = (krb_enc_data){ .etype = FZ_ET18, .has_kvno = true, .kvno = 3,
			      .cipher = lbytes_make(buf, len) };
	return buf;
}

/* Encode a valid EncTicketPart (session key fz_session_key) into w. */
static void
fz_ticket_plain(der_writer *w)
{
	krb_enc_ticket_part part = {
		.flags = 0x40000000u, .key = { FZ_ET18, { fz_session_key, 32 } },
		.crealm = LBYTES_LIT(FZ_REALM), .cname = fz_alice,
		.authtime = FZ_NOW - 60, .endtime = FZ_NOW + 3600,
	};

	if (krb_encode_enc_ticket_part(w, &part) != LETHE_OK)
		abort();
}

/* Encode a valid Authenticator with a subkey and a seq-number into w. */
static void
fz_auth_plain(der_writer *w)
{
	krb_authenticator au = {
		.crealm = LBYTES_LIT(FZ_REALM), .cname = fz_alice, .ctime = FZ_NOW, .cusec = 7,
		.has_subkey = true, .subkey = { FZ_ET18, { fz_service_key, 32 } },
		.has_seq_number = true, .seq_number = 99,
	};

	if (krb_encode_authenticator(w, &au) != LETHE_OK)
		abort();
}

/* An AP-REQ from a ticket plaintext and an authenticator plaintext, into w. */
static void
fz_ap_req(lbytes ticket_plain, lbytes auth_plain, der_writer *w)
{
	krb_ap_req ap = { .ap_options = 0x20000000u };
	uint8_t *tc, *ac;

	ap.ticket.realm = LBYTES_LIT(FZ_REALM);
	ap.ticket.sname = fz_srv;
	tc = fz_seal(fz_service_key, 2, ticket_plain, &ap.ticket.enc_part);
	ac = fz_seal(fz_session_key, 11, auth_plain, &ap.authenticator);
	ap.authenticator.has_kvno = false;
	if (krb_encode_ap_req(w, &ap) != LETHE_OK)
		abort();
	free(tc);
	free(ac);
}

/*
 * An AP-REQ whose ticket is public-key: content (signed first when sign)
 * sealed to the fixed identity, with the valid authenticator, into w.
 */
static void
fz_pubkey_ap_req(lbytes content, bool sign, der_writer *w)
{
	krb_ap_req ap = { .ap_options = 0x20000000u };
	der_writer auth;
	uint8_t *cms = NULL, *ac;
	size_t cms_len = 0;
	lethe_status rc;

	if (content.len == 0)
		return;             /* nothing to seal: an empty request */
	if (sign)
		rc = reg_sign_and_seal(fz_identity, reg_identity_cert(fz_identity),
		    REG_CT_TICKET, content.data, content.len, &cms, &cms_len);
	else
		rc = reg_seal_bytes(reg_identity_cert(fz_identity), REG_CT_TICKET,
		    content.data, content.len, &cms, &cms_len);
	if (rc == LETHE_ERR_TOO_BIG)
		return;
	if (rc != LETHE_OK)
		abort();
	der_writer_init(&auth, FZ_WRITER_MAX);
	fz_auth_plain(&auth);
	ap.ticket.realm = LBYTES_LIT(FZ_REALM);
	ap.ticket.sname = fz_srv;
	ap.ticket.enc_part = (krb_enc_data){ .etype = REG_ENCTYPE_PUBKEY_TICKET,
		.cipher = lbytes_make(cms, cms_len) };
	ac = fz_seal(fz_session_key, 11, der_written(&auth), &ap.authenticator);
	ap.authenticator.has_kvno = false;
	if (krb_encode_ap_req(w, &ap) != LETHE_OK)
		abort();
	free(ac);
	free(cms);
	der_writer_free(&auth);
}

static void
fz_answer(acc_ctx *ctx, const acc_verified *v, const acc_error *err, lethe_status rc)
{
	der_writer w;
	uint32_t seq = 5;

	der_writer_init(&w, FZ_WRITER_MAX);
	if (rc == LETHE_OK) {
		if (v->session_key == NULL || err->reason != ACC_ACCEPTED)
			abort();
		if (acc_ap_rep_build(ctx, v, v->subkey, &seq, &w) != LETHE_OK)
			abort();
		(void)acc_verify_cksum(v, LBYTES_LIT("x"));
	} else if (v->session_key != NULL || v->subkey != NULL ||
		   err->reason == ACC_ACCEPTED) {
		abort();
	}
	der_writer_reset(&w);
	(void)acc_krb_error_build(ctx, v, err->code, err->text, &w);
	der_writer_free(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *kdc_cert = reg_identity_cert(fz_identity);
	acc_params p = { .keytab_path = fz_path, .rcache_max_entries = 16,
			 .clock = fz_clock, .pubkey_identity = fz_identity,
			 .pubkey_kdc_certs = &kdc_cert, .n_pubkey_kdc_certs = 1 };
	der_writer fixed, req;
	acc_ctx *ctx = NULL;
	acc_verified v;
	acc_error err;
	lbytes in, msg;
	lethe_status rc;

	if (size < 1)
		return 0;
	in = lbytes_make(data + 1, size - 1);
	if (acc_ctx_new(&p, &ctx) != LETHE_OK)
		abort();
	der_writer_init(&fixed, FZ_WRITER_MAX);
	der_writer_init(&req, FZ_WRITER_MAX);
	switch (data[0] % 5) {
	case 0:
		msg = in;
		break;
	case 1:
		fz_auth_plain(&fixed);
		fz_ap_req(in, der_written(&fixed), &req);
		msg = der_written(&req);
		break;
	case 2:
		fz_ticket_plain(&fixed);
		fz_ap_req(der_written(&fixed), in, &req);
		msg = der_written(&req);
		break;
	default:
		fz_pubkey_ap_req(in, data[0] % 5 == 4, &req);
		msg = der_written(&req);
		break;
	}
	rc = acc_verify_ap_req(ctx, msg.data, msg.len, &v, &err);
	fz_answer(ctx, &v, &err, rc);
	acc_verified_clear(&v);
	der_writer_free(&fixed);
	der_writer_free(&req);
	acc_ctx_free(ctx);
	return 0;
}
