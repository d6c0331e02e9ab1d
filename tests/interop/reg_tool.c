/*
 * reg_tool: a minimal registering server for the registrar interop test.
 *
 *   reg_tool register [-u SECONDS] [-c CALLBACK] [-s SAVE] [-k KEYTAB] [-p]
 *            HOST:PORT CERT KEY KDC_CERT CA_CERT PRINCIPAL KVNO
 *	Register one random aes256-cts-hmac-sha1-96 key under KVNO for
 *	PRINCIPAL (used for SECONDS, default an hour, accepted ten hours
 *	more), signed with CERT/KEY and sealed to KDC_CERT, with callback
 *	endpoint CALLBACK ("host:port"); SAVE keeps the request's bytes,
 *	KEYTAB receives the key (written before the request is sent).
 *	-p seals the keys as Lethe does but with AES-256 key wrap WITH
 *	PADDING (id-aes256-wrap-pad), a CMS Lethe never makes.
 *   reg_tool resend HOST:PORT FILE CA_CERT
 *	Send the saved request bytes again.
 *   reg_tool keyreq FILE CA_CERT
 *	Check a KeyRequest (DER CMS, as received) against CA_CERT and print
 *	"KEYREQUEST <principal> <timestamp>".
 *   reg_tool mitm PORT_FILE HOST:PORT CERT KEY KDC_CERT CA_CERT PRINCIPAL KVNO
 *	A man in the middle holding a valid registrant certificate: listen on
 *	127.0.0.1 (port written to PORT_FILE), take one agent's request, read
 *	its nonce without checking anything, register PRINCIPAL/KVNO for
 *	itself with CERT/KEY under that nonce at HOST:PORT, and hand the
 *	KDC's signed reply to the agent. Prints "MITM relayed <bytes>".
 *
 * register and resend check the reply's signature against CA_CERT and
 * print "RESULT <name> nonce=<echoed|zero|other> <text>", or for an
 * unsigned RegistrationError "UNSIGNED <name> <bytes>"; they exit 0 when
 * a verified reply or an unsigned error came back, 1 otherwise.
 */
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "keytab/keytab.h"
#include "registrar/registrar.h"

#include "cms_wrap_pad.h"

#define TIMEOUT_MS 10000u

static int
usage(void)
{
	fprintf(stderr, "usage: reg_tool register [-u SECONDS] [-c CALLBACK] [-s SAVE] "
	    "[-k KEYTAB] [-p]\n                HOST:PORT CERT KEY KDC_CERT CA_CERT PRINCIPAL KVNO\n"
	    "       reg_tool resend HOST:PORT FILE CA_CERT\n"
	    "       reg_tool keyreq FILE CA_CERT\n"
	    "       reg_tool mitm PORT_FILE HOST:PORT CERT KEY KDC_CERT CA_CERT PRINCIPAL KVNO\n");
	return 2;
}

static int
save_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	int ok = fp != NULL && fwrite(data, 1, len, fp) == len;

	if (fp != NULL && fclose(fp) != 0)
		ok = 0;
	return ok ? 0 : 1;
}

static int
load_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = malloc(REG_MAX_MESSAGE + 1);
	size_t n = 0;

	if (fp == NULL || buf == NULL) {
		if (fp != NULL)
			fclose(fp);
		free(buf);
		return 1;
	}
	n = fread(buf, 1, REG_MAX_MESSAGE + 1, fp);
	fclose(fp);
	*data = buf;
	*len = n;
	return n > 0 && n <= REG_MAX_MESSAGE ? 0 : 1;
}

/* Send req, verify the reply against ca_path, print it. */
static int
exchange(const char *endpoint, const uint8_t *req, size_t req_len, const char *ca_path,
    const uint8_t *nonce)
{
	static const uint8_t zeros[REG_NONCE_LEN];
	X509_STORE *anchors = NULL;
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	reg_verified v;
	enum reg_result verdict;
	reg_reply rep;
	reg_trust trust;
	int32_t unsigned_result;
	lethe_status rc;
	int ex = 1;

	memset(&v, 0, sizeof(v));
	rc = reg_client_exchange(endpoint, req, req_len, TIMEOUT_MS, &reply, &reply_len);
	if (rc != LETHE_OK) {
		fprintf(stderr, "reg_tool: exchange with %s: %s\n", endpoint, lethe_status_str(rc));
		goto cleanup;
	}
	if (reg_trust_add_file(&anchors, ca_path) != LETHE_OK) {
		fprintf(stderr, "reg_tool: cannot read %s\n", ca_path);
		goto cleanup;
	}
	if (reg_error_decode(reply, reply_len, &unsigned_result) == LETHE_OK) {
		printf("UNSIGNED %s %zu\n", reg_result_str(unsigned_result), reply_len);
		ex = 0;
		goto cleanup;
	}
	trust = (reg_trust){ anchors, NULL, 0 };
	rc = reg_verify(reply, reply_len, REG_CT_REPLY, &trust, (int64_t)time(NULL), &v, &verdict);
	if (rc != LETHE_OK || verdict != REG_OK ||
	    reg_reply_decode(v.content, v.content_len, &rep) != LETHE_OK) {
		fprintf(stderr, "reg_tool: the reply does not verify against %s (%s)\n", ca_path,
		    reg_result_str(verdict));
		goto cleanup;
	}
	printf("RESULT %s nonce=%s %s\n", reg_result_str(rep.result),
	    nonce != NULL && memcmp(rep.nonce, nonce, REG_NONCE_LEN) == 0 ? "echoed" :
	    memcmp(rep.nonce, zeros, REG_NONCE_LEN) == 0 ? "zero" : "other", rep.text);
	ex = 0;
cleanup:
	reg_verified_clear(&v);
	X509_STORE_free(anchors);
	free(reply);
	return ex;
}

/* Write key to a new keytab at path for principal. */
static int
write_keytab(const char *path, const char *principal, const reg_sealed_key *key)
{
	kt_keytab *kt = NULL;
	kt_principal p;
	int ex = 1;

	memset(&p, 0, sizeof(p));
	if (kt_principal_parse(principal, strlen(principal), NULL, &p) == LETHE_OK &&
	    kt_new(&kt) == LETHE_OK &&
	    kt_add(kt, &p, key->kvno, key->enctype, (uint32_t)time(NULL),
	    (lbytes){ key->key, key->key_len }) == LETHE_OK &&
	    kt_save(kt, path) == LETHE_OK)
		ex = 0;
	kt_free(kt);
	kt_principal_clear(&p);
	if (ex != 0)
		fprintf(stderr, "reg_tool: cannot write the keytab %s\n", path);
	return ex;
}

typedef struct reg_opts {
	long use_seconds;
	const char *callback;
	const char *save;
	const char *keytab;
	const uint8_t *nonce;   /* NULL: a fresh one */
	bool wrap_pad;          /* -p */
	char **args;            /* HOST:PORT CERT KEY KDC_CERT CA_CERT PRINCIPAL KVNO */
} reg_opts;

/* keys sealed to kdc as reg_seal_keys does, but with a padded key wrap (cms_wrap_pad.h). */
static lethe_status
seal_wrap_pad(X509 *kdc, const reg_sealed_keys *keys, uint8_t **out, size_t *out_len)
{
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	lethe_status rc;

	GUARD(reg_sealed_keys_encode(keys, &plain, &plain_len));
	rc = cms_seal_wrap_pad(kdc, REG_CT_SEALED_KEYS, plain, plain_len, out, out_len);
	reg_free_secret(plain, plain_len);
	return rc;
}

/* A request for one fresh aes256 key; *nonce receives its nonce. */
static int
build_request(const reg_opts *o, uint8_t nonce[REG_NONCE_LEN], uint8_t **der, size_t *der_len)
{
	const char *cert = o->args[1], *key = o->args[2], *kdc_cert = o->args[3];
	const char *principal = o->args[5], *kvno = o->args[6];
	reg_identity *id = NULL;
	X509 *kdc = NULL;
	reg_sealed_keys sealed;
	reg_request r;
	uint8_t *sealed_der = NULL, *content = NULL;
	size_t sealed_len = 0, content_len = 0;
	int64_t now = (int64_t)time(NULL);
	int ex = 1;

	memset(&sealed, 0, sizeof(sealed));
	memset(&r, 0, sizeof(r));
	if (reg_identity_load_pem(cert, key, &id) != LETHE_OK ||
	    reg_cert_load_pem(kdc_cert, &kdc) != LETHE_OK) {
		fprintf(stderr, "reg_tool: cannot load %s/%s or %s\n", cert, key, kdc_cert);
		goto cleanup;
	}
	snprintf(r.principal, sizeof(r.principal), "%s", principal);
	r.timestamp = now;
	r.keys[0] = (reg_key_window){ (uint32_t)strtoul(kvno, NULL, 10), 18,
	    now + o->use_seconds, now + o->use_seconds + 10 * 3600 };
	if (o->callback != NULL) {
		r.has_callback = true;
		snprintf(r.callback, sizeof(r.callback), "%s", o->callback);
	}
	r.nkeys = 1;
	sealed.keys[0] = (reg_sealed_key){ .kvno = r.keys[0].kvno, .enctype = 18, .key_len = 32 };
	sealed.nkeys = 1;
	if (o->nonce != NULL)
		memcpy(r.nonce, o->nonce, REG_NONCE_LEN);
	else if (RAND_bytes(r.nonce, sizeof(r.nonce)) != 1)
		goto cleanup;
	if (
	    RAND_bytes(sealed.keys[0].key, 32) != 1 ||
	    (o->wrap_pad ? seal_wrap_pad(kdc, &sealed, &sealed_der, &sealed_len) :
	    reg_seal_keys(kdc, &sealed, &sealed_der, &sealed_len)) != LETHE_OK)
		goto cleanup;
	r.sealed_keys = (lbytes){ sealed_der, sealed_len };
	if (reg_request_encode(&r, &content, &content_len) != LETHE_OK ||
	    reg_sign(id, REG_CT_REQUEST, content, content_len, der, der_len) != LETHE_OK)
		goto cleanup;
	if (o->keytab != NULL && write_keytab(o->keytab, r.principal, &sealed.keys[0]) != 0)
		goto cleanup;
	memcpy(nonce, r.nonce, REG_NONCE_LEN);
	ex = 0;
cleanup:
	if (ex != 0)
		fprintf(stderr, "reg_tool: cannot build the request\n");
	reg_sealed_keys_clear(&sealed);
	reg_identity_free(id);
	X509_free(kdc);
	free(sealed_der);
	free(content);
	return ex;
}

static int
cmd_register(int argc, char **argv)
{
	reg_opts o = { 3600, NULL, NULL, NULL, NULL, false, NULL };
	uint8_t nonce[REG_NONCE_LEN], *der = NULL;
	size_t der_len = 0;
	int c, ex;

	while ((c = getopt(argc, argv, "u:c:s:k:p")) != -1) {
		switch (c) {
		case 'u':
			o.use_seconds = strtol(optarg, NULL, 10);
			break;
		case 'c':
			o.callback = optarg;
			break;
		case 's':
			o.save = optarg;
			break;
		case 'k':
			o.keytab = optarg;
			break;
		case 'p':
			o.wrap_pad = true;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 7 || o.use_seconds <= 0)
		return usage();
	o.args = argv + optind;
	ex = build_request(&o, nonce, &der, &der_len);
	if (ex == 0 && o.save != NULL)
		ex = save_file(o.save, der, der_len);
	if (ex == 0)
		ex = exchange(o.args[0], der, der_len, o.args[4], nonce);
	free(der);
	return ex;
}

static int
cmd_keyreq(const char *path, const char *ca_path)
{
	X509_STORE *anchors = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	reg_verified v;
	enum reg_result verdict = REG_MALFORMED;
	reg_key_request kr;
	reg_trust trust;
	int ex = 1;

	memset(&v, 0, sizeof(v));
	if (load_file(path, &der, &der_len) != 0 ||
	    reg_trust_add_file(&anchors, ca_path) != LETHE_OK)
		goto cleanup;
	trust = (reg_trust){ anchors, NULL, 0 };
	if (reg_verify(der, der_len, REG_CT_KEY_REQUEST, &trust, (int64_t)time(NULL), &v,
	    &verdict) != LETHE_OK || verdict != REG_OK ||
	    reg_key_request_decode(v.content, v.content_len, &kr) != LETHE_OK)
		goto cleanup;
	printf("KEYREQUEST %s %lld\n", kr.principal, (long long)kr.timestamp);
	ex = 0;
cleanup:
	if (ex != 0)
		fprintf(stderr, "reg_tool: %s is not a KeyRequest signed under %s (%s)\n", path,
		    ca_path, reg_result_str(verdict));
	reg_verified_clear(&v);
	X509_STORE_free(anchors);
	free(der);
	return ex;
}

/* A listening socket on 127.0.0.1, its port written to port_file. */
static int
listen_local(const char *port_file)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char text[16];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(text, sizeof(text), "%u", (unsigned)ntohs(sin.sin_port));
	if (save_file(port_file, (const uint8_t *)text, strlen(text)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
cmd_mitm(char **argv)
{
	reg_opts o = { 3600, NULL, NULL, NULL, NULL, false, NULL };
	uint8_t nonce[REG_NONCE_LEN], *victim = NULL, *content = NULL, *der = NULL;
	uint8_t *reply = NULL;
	size_t victim_len = 0, content_len = 0, der_len = 0, reply_len = 0;
	struct pollfd pfd;
	reg_request req;
	int lfd, c = -1, ex = 1;

	lfd = listen_local(argv[0]);
	if (lfd < 0)
		return 1;
	pfd = (struct pollfd){ lfd, POLLIN, 0 };
	if (poll(&pfd, 1, 30000) != 1 || (c = accept(lfd, NULL, NULL)) < 0 ||
	    reg_read_frame(c, REG_MAX_MESSAGE, TIMEOUT_MS, &victim, &victim_len) != LETHE_OK ||
	    reg_peek_content(victim, victim_len, REG_CT_REQUEST, &content, &content_len) !=
	    LETHE_OK || reg_request_decode(content, content_len, &req) != LETHE_OK) {
		fprintf(stderr, "reg_tool: no request from the agent\n");
		goto cleanup;
	}
	memcpy(nonce, req.nonce, REG_NONCE_LEN);
	o.nonce = nonce;
	o.args = argv + 1;
	if (build_request(&o, nonce, &der, &der_len) != 0 ||
	    reg_client_exchange(argv[1], der, der_len, TIMEOUT_MS, &reply, &reply_len) !=
	    LETHE_OK || reg_write_frame(c, reply, reply_len, TIMEOUT_MS) != LETHE_OK) {
		fprintf(stderr, "reg_tool: the relay failed\n");
		goto cleanup;
	}
	printf("MITM relayed %zu\n", reply_len);
	ex = 0;
cleanup:
	if (c >= 0)
		close(c);
	close(lfd);
	free(victim);
	free(content);
	free(der);
	free(reply);
	return ex;
}

int
main(int argc, char **argv)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	int ex;

	if (argc >= 2 && strcmp(argv[1], "register") == 0)
		return cmd_register(argc - 1, argv + 1);
	if (argc == 4 && strcmp(argv[1], "keyreq") == 0)
		return cmd_keyreq(argv[2], argv[3]);
	if (argc == 10 && strcmp(argv[1], "mitm") == 0)
		return cmd_mitm(argv + 2);
	if (argc != 5 || strcmp(argv[1], "resend") != 0)
		return usage();
	ex = load_file(argv[3], &der, &der_len);
	if (ex == 0)
		ex = exchange(argv[2], der, der_len, argv[4], NULL);
	free(der);
	return ex;
}
