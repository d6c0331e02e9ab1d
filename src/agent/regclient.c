/*
 * lethe-agent: the registration client and the KDC's credentials.
 *
 * A RegistrationRequest is signed with the server's identity; its keys
 * are sealed to the KDC's certificate (kdc_cert). A reply counts only if
 * its signature chains to kdc_ca, its signer's public key is that of the
 * kdc_cert of the KDC asked (kdc_ca also signs server certificates, so a
 * chain alone does not make a KDC), and it is bound to the request sent:
 * its nonce, principal, kvnos and the SHA-256 of the request's bytes. An
 * unsigned RegistrationError (the KDC's answer to a request it could not
 * authenticate) is reported, never trusted: anyone on the path can send
 * one.
 */
#include "agent/agent_net.h"
#include "base/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"

static lethe_status
load_identity(const agent_config *cfg, reg_identity **id, char *err, size_t err_len)
{
	uint8_t *key = NULL, *pass = NULL;
	size_t key_len = 0, pass_len = 0;
	char *cert = NULL;
	lethe_status rc;

	if (cfg->pkcs12[0] != '\0') {
		GUARD(agent_check_secret_file(cfg->pkcs12, err, err_len));
		GUARD(agent_read_secret_file(cfg->pkcs12_password_file, &pass,
		    &pass_len, err, err_len));
		/* One line: the password, without its line end. */
		while (pass_len > 0 && (pass[pass_len - 1] == '\n' ||
		    pass[pass_len - 1] == '\r'))
			pass_len--;
		pass[pass_len] = '\0';
		rc = reg_identity_load_pkcs12(cfg->pkcs12, (const char *)pass, id);
		agent_secret_free(pass);
		if (rc != LETHE_OK)
			snprintf(err, err_len, "%s: cannot load the PKCS#12 identity "
			    "(%s)", cfg->pkcs12, lethe_status_str(rc));
		return rc;
	}
	GUARD(agent_read_secret_file(cfg->key, &key, &key_len, err, err_len));
	rc = agent_read_text_file(cfg->certificate, &cert, err, err_len);
	if (rc == LETHE_OK) {
		rc = reg_identity_from_pem(cert, strlen(cert), (const char *)key,
		    key_len, id);
		if (rc != LETHE_OK)
			snprintf(err, err_len, "%s, %s: cannot load the identity (%s): "
			    "a PEM certificate chain and its unencrypted private key "
			    "are needed", cfg->certificate, cfg->key,
			    lethe_status_str(rc));
	}
	free(cert);
	agent_secret_free(key);
	return rc;
}

lethe_status
agent_read_text_file(const char *path, char **out, char *err, size_t err_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	lethe_status rc;

	*out = NULL;
	rc = lethe_file_read(path, AGENT_SECRET_MAX_FILE, &buf, &len);
	if (rc == LETHE_ERR_IO) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return LETHE_ERR_IO;
	}
	if (rc == LETHE_ERR_NOMEM)
		return rc;
	if (rc == LETHE_OK && memchr(buf, 0, len) == NULL) {
		*out = (char *)buf;
		return LETHE_OK;
	}
	free(buf);
	snprintf(err, err_len, "%s: unreadable, over %u bytes, or not text", path,
	    AGENT_SECRET_MAX_FILE);
	return LETHE_ERR_FORMAT;
}

static lethe_status
load_kdc_certs(const agent_config *cfg, agent_net *net, char *err, size_t err_len)
{
	for (size_t k = 0; k < cfg->nkdcs; k++) {
		lethe_status rc = reg_cert_load_pem(cfg->kdcs[k].cert_path, &net->kdc_cert[k]);

		if (rc == LETHE_OK)
			rc = reg_spki_sha256_hex(net->kdc_cert[k], net->kdc_spki[k]);
		if (rc != LETHE_OK) {
			snprintf(err, err_len, "%s: cannot load the KDC certificate "
			    "(%s)", cfg->kdcs[k].cert_path, lethe_status_str(rc));
			return rc;
		}
	}
	net->nkdcs = cfg->nkdcs;
	return LETHE_OK;
}

lethe_status
agent_net_open(const agent_config *cfg, agent_net *net, char *err, size_t err_len)
{
	lethe_status rc;

	memset(net, 0, sizeof(*net));
	net->timeout_ms = REG_DEFAULT_TIMEOUT_MS;
	GUARD_GOTO(rc, load_identity(cfg, &net->id, err, err_len));
	rc = reg_trust_add_file(&net->kdc_ca, cfg->kdc_ca);
	if (rc != LETHE_OK) {
		snprintf(err, err_len, "%s: cannot load the KDC trust anchors (%s)",
		    cfg->kdc_ca, lethe_status_str(rc));
		goto cleanup;
	}
	GUARD_GOTO(rc, load_kdc_certs(cfg, net, err, err_len));
	memcpy(net->kdcs, cfg->kdcs, sizeof(net->kdcs));
cleanup:
	if (rc != LETHE_OK)
		agent_net_close(net);
	return rc;
}

void
agent_net_close(agent_net *net)
{
	reg_identity_free(net->id);
	X509_STORE_free(net->kdc_ca);
	for (size_t k = 0; k < AGENT_MAX_KDCS; k++)
		X509_free(net->kdc_cert[k]);
	memset(net, 0, sizeof(*net));
}

ssize_t
agent_net_kdc_by_spki(const agent_net *net, const char *spki)
{
	for (size_t k = 0; k < net->nkdcs; k++)
		if (strcmp(net->kdc_spki[k], spki) == 0)
			return (ssize_t)k;
	return -1;
}

/* The DER of a signed RegistrationRequest for in; *nonce receives its nonce. */
static lethe_status
build_request(const agent_net *net, size_t k, const agent_reg_input *in,
    uint8_t nonce[REG_NONCE_LEN], uint8_t **out, size_t *out_len)
{
	reg_sealed_keys sk;
	reg_request req;
	uint8_t *sealed = NULL, *der = NULL;
	size_t sealed_len = 0, der_len = 0;
	lethe_status rc;

	memset(&sk, 0, sizeof(sk));
	memset(&req, 0, sizeof(req));
	ENSURE(in->nkeys > 0 && in->nkeys <= REG_MAX_KEYS &&
	    strlen(in->principal_name) <= REG_MAX_NAME_LEN, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < in->nkeys; i++) {
		ENSURE_GOTO(rc, in->keys[i].key.len <= REG_MAX_KEY_LEN,
		    LETHE_ERR_INVALID_ARG);
		sk.keys[i].kvno = in->kvno;
		sk.keys[i].enctype = in->keys[i].enctype;
		memcpy(sk.keys[i].key, in->keys[i].key.data, in->keys[i].key.len);
		sk.keys[i].key_len = in->keys[i].key.len;
		req.keys[i] = (reg_key_window){ in->kvno, in->keys[i].enctype,
		    in->use_until, in->accept_until };
	}
	sk.nkeys = req.nkeys = in->nkeys;
	GUARD_GOTO(rc, reg_seal_keys(net->kdc_cert[k], &sk, &sealed, &sealed_len));
	memcpy(req.principal, in->principal_name, strlen(in->principal_name) + 1);
	GUARD_GOTO(rc, kc_random_bytes(req.nonce, REG_NONCE_LEN));
	req.timestamp = (int64_t)time(NULL);
	if (in->answers != NULL) {
		req.has_answers = true;
		memcpy(req.answers, in->answers, REG_NONCE_LEN);
	}
	if (in->callback != NULL) {
		ENSURE_GOTO(rc, strlen(in->callback) <= REG_MAX_CALLBACK_LEN,
		    LETHE_ERR_INVALID_ARG);
		req.has_callback = true;
		memcpy(req.callback, in->callback, strlen(in->callback) + 1);
	}
	req.sealed_keys = lbytes_make(sealed, sealed_len);
	GUARD_GOTO(rc, reg_request_encode(&req, &der, &der_len));
	GUARD_GOTO(rc, reg_sign(net->id, REG_CT_REQUEST, der, der_len, out, out_len));
	memcpy(nonce, req.nonce, REG_NONCE_LEN);
cleanup:
	reg_sealed_keys_clear(&sk);
	free(sealed);
	free(der);
	return rc;
}

/* Does the reply's binding name exactly the request sent (req bytes, in)? */
static bool
reply_bound(const reg_reply *reply, const agent_reg_input *in, const uint8_t *req,
    size_t req_len)
{
	uint8_t digest[REG_DIGEST_LEN];

	if (!reply->has_binding || strcmp(reply->principal, in->principal_name) != 0 ||
	    reply->nkvnos != in->nkeys ||
	    reg_request_digest(req, req_len, digest) != LETHE_OK ||
	    CRYPTO_memcmp(digest, reply->request_sha256, REG_DIGEST_LEN) != 0)
		return false;
	for (size_t i = 0; i < reply->nkvnos; i++)
		if (reply->kvnos[i] != in->kvno)
			return false;
	return true;
}

/* Check the reply der to the request req and fill out from it. */
static void
check_reply(const agent_net *net, size_t k, const agent_reg_input *in,
    const uint8_t nonce[REG_NONCE_LEN], const uint8_t *req, size_t req_len,
    const uint8_t *der, size_t len, agent_reg_output *out)
{
	reg_trust trust = { net->kdc_ca, NULL, 0 };
	reg_verified v;
	reg_reply reply;
	enum reg_result verdict = REG_INTERNAL;
	int32_t unsigned_result;

	memset(&v, 0, sizeof(v));
	out->result = AGENT_RESULT_BAD_REPLY;
	if (reg_error_decode(der, len, &unsigned_result) == LETHE_OK) {
		snprintf(out->text, sizeof(out->text), "unsigned refusal %s: the "
		    "registrar could not authenticate the request (its log says "
		    "why), or someone on the path answered", reg_result_str(unsigned_result));
		return;
	}
	if (reg_verify(der, len, REG_CT_REPLY, &trust, (int64_t)time(NULL), &v,
	    &verdict) != LETHE_OK || verdict != REG_OK) {
		snprintf(out->text, sizeof(out->text), "reply refused: %s against "
		    "kdc_ca", reg_result_str(verdict));
		goto cleanup;
	}
	if (strcmp(v.signer_spki, net->kdc_spki[k]) != 0) {
		snprintf(out->text, sizeof(out->text), "reply signed by a key that "
		    "is not the kdc_cert of this KDC (spki %s)", v.signer_spki);
		goto cleanup;
	}
	if (reg_reply_decode(v.content, v.content_len, &reply) != LETHE_OK) {
		snprintf(out->text, sizeof(out->text), "reply content malformed");
		goto cleanup;
	}
	if (CRYPTO_memcmp(reply.nonce, nonce, REG_NONCE_LEN) != 0) {
		snprintf(out->text, sizeof(out->text), "reply nonce is not ours");
		goto cleanup;
	}
	if (!reply_bound(&reply, in, req, req_len)) {
		snprintf(out->text, sizeof(out->text), "reply is not bound to this "
		    "request (principal, kvnos, request digest)");
		goto cleanup;
	}
	out->result = reply.result;
	snprintf(out->text, sizeof(out->text), "%s", reply.text);
	for (size_t i = 0; reply.has_granted && i < reply.ngranted; i++)
		if (reply.granted[i].kvno == in->kvno &&
		    reply.granted[i].accept_until > out->granted_accept_until)
			out->granted_accept_until = reply.granted[i].accept_until;
cleanup:
	reg_verified_clear(&v);
}

void
agent_net_register(void *arg, const agent_kdc *kdc, const agent_reg_input *in,
    agent_reg_output *out)
{
	agent_net *net = arg;
	uint8_t nonce[REG_NONCE_LEN], *req = NULL, *reply = NULL;
	size_t req_len = 0, reply_len = 0, k;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < net->nkdcs; k++)
		if (strcmp(net->kdcs[k].name, kdc->name) == 0)
			break;
	out->result = AGENT_RESULT_LOCAL;
	if (k == net->nkdcs) {
		snprintf(out->text, sizeof(out->text), "unknown kdc");
		return;
	}
	rc = build_request(net, k, in, nonce, &req, &req_len);
	if (rc != LETHE_OK) {
		snprintf(out->text, sizeof(out->text), "cannot build the request: %s",
		    lethe_status_str(rc));
		return;
	}
	errno = 0;
	rc = reg_client_exchange_addr(&kdc->addr, req, req_len, net->timeout_ms,
	    &reply, &reply_len);
	if (rc != LETHE_OK) {
		out->result = AGENT_RESULT_NO_REPLY;
		snprintf(out->text, sizeof(out->text), "%s%s%s", lethe_status_str(rc),
		    errno ? ": " : "", errno ? strerror(errno) : "");
	} else {
		check_reply(net, k, in, nonce, req, req_len, reply, reply_len, out);
	}
	free(req);
	free(reply);
}
