/*
 * lethe-bench: service tickets made without a KDC (a temporary-key ticket
 * and a public-key ticket, as lethe-kdc seals them) and a throw-away
 * service identity, for the local modes.
 */
#include "base/wipe.h"
#include "bench/bench_modes.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "krb5/krb5.h"
#include "registrar/ticket.h"

#define TICKET_WRITER_MAX 65536u

/* The ticket's enc-part cipher: plain encrypted with key, or signed and sealed to cert. */
static lethe_status
seal_part(const bench_ticket_spec *spec, lbytes plain, uint8_t **cipher, size_t *cipher_len)
{
	size_t cap;

	if (spec->service_key == NULL)
		return reg_sign_and_seal(spec->kdc_signer, spec->cert, REG_CT_TICKET, plain.data,
		    plain.len, cipher, cipher_len);
	GUARD(kc_encrypt_len(kc_key_enctype(spec->service_key), plain.len, &cap));
	*cipher = malloc(cap);
	ENSURE(*cipher != NULL, LETHE_ERR_NOMEM);
	return kc_encrypt(spec->service_key, KRB_KU_TICKET, plain, *cipher, cap, cipher_len);
}

/* Encode the Ticket for out's names around cipher. */
static lethe_status
encode_ticket(const bench_ticket_spec *spec, kcl_cred *out, lbytes cipher, der_writer *w)
{
	krb_ticket t;

	memset(&t, 0, sizeof(t));
	t.realm = out->server.realm;
	t.sname = kcl_name_principal(&out->server);
	t.enc_part.cipher = cipher;
	if (spec->service_key != NULL) {
		t.enc_part.etype = kc_key_enctype(spec->service_key);
		t.enc_part.has_kvno = true;
		t.enc_part.kvno = spec->kvno;
	} else {
		t.enc_part.etype = REG_ENCTYPE_PUBKEY_TICKET;
	}
	der_writer_reset(w);
	GUARD(krb_encode_ticket(w, &t));
	out->ticket_etype = t.enc_part.etype;
	out->ticket_kvno = t.enc_part.kvno;
	return der_writer_take(w, &out->ticket, &out->ticket_len);
}

lethe_status
bench_ticket_make(const bench_ticket_spec *spec, kcl_cred *out)
{
	krb_enc_ticket_part tp;
	kc_key session;
	der_writer w;
	uint8_t *cipher = NULL;
	size_t cipher_len = 0;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	memset(&session, 0, sizeof(session));
	memset(&tp, 0, sizeof(tp));
	ENSURE(spec->service_key != NULL || (spec->cert != NULL && spec->kdc_signer != NULL),
	    LETHE_ERR_INVALID_ARG);
	der_writer_init(&w, TICKET_WRITER_MAX);
	GUARD_GOTO(rc, kcl_name_parse(&out->client, spec->client, NULL));
	GUARD_GOTO(rc, kcl_name_parse(&out->server, spec->service, NULL));
	GUARD_GOTO(rc, kc_key_generate(&session, spec->session_enctype));
	tp.key.keytype = kc_key_enctype(&session);
	tp.key.keyvalue = kc_key_bytes(&session);
	tp.crealm = out->client.realm;
	tp.cname = kcl_name_principal(&out->client);
	tp.authtime = spec->now - 60;
	tp.endtime = spec->now + spec->life;
	GUARD_GOTO(rc, krb_encode_enc_ticket_part(&w, &tp));
	if (spec->service_key == NULL) {
		krb_principal_name sname = kcl_name_principal(&out->server);

		GUARD_GOTO(rc, reg_ticket_bind(&w, 0, out->server.realm, &sname));
	}
	GUARD_GOTO(rc, seal_part(spec, der_written(&w), &cipher, &cipher_len));
	GUARD_GOTO(rc, encode_ticket(spec, out, lbytes_make(cipher, cipher_len), &w));
	GUARD_GOTO(rc, kc_key_new(kc_key_enctype(&session), kc_key_bytes(&session),
	    &out->session_key));
	out->authtime = tp.authtime;
	out->starttime = tp.authtime;
	out->endtime = tp.endtime;
cleanup:
	free(cipher);
	der_writer_free(&w);        /* wipes the plaintext with the session key */
	kc_key_clear(&session);
	if (rc != LETHE_OK)
		kcl_cred_clear(out);
	return rc;
}

lethe_status
bench_cred_copy(const kcl_cred *in, kcl_cred *out)
{
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	GUARD_GOTO(rc, kcl_name_copy(&out->client, &in->client));
	GUARD_GOTO(rc, kcl_name_copy(&out->server, &in->server));
	out->ticket = malloc(in->ticket_len);
	ENSURE_GOTO(rc, out->ticket != NULL, LETHE_ERR_NOMEM);
	memcpy(out->ticket, in->ticket, in->ticket_len);
	out->ticket_len = in->ticket_len;
	GUARD_GOTO(rc, kc_key_new(kc_key_enctype(in->session_key),
	    kc_key_bytes(in->session_key), &out->session_key));
	out->flags = in->flags;
	out->authtime = in->authtime;
	out->starttime = in->starttime;
	out->endtime = in->endtime;
	out->renew_till = in->renew_till;
	out->ticket_etype = in->ticket_etype;
	out->ticket_kvno = in->ticket_kvno;
cleanup:
	if (rc != LETHE_OK)
		kcl_cred_clear(out);
	return rc;
}

/* A self-signed certificate for key named cn, valid from now - 1 h for a day. */
static lethe_status
self_signed(EVP_PKEY *key, const char *cn, X509 **out)
{
	X509 *cert = X509_new();
	X509_NAME *name;
	lethe_status rc = LETHE_ERR_CRYPTO;

	if (cert == NULL)
		return LETHE_ERR_NOMEM;
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600) == NULL ||
	    X509_set_pubkey(cert, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	    -1, -1, 0) != 1 || X509_set_issuer_name(cert, name) != 1 ||
	    X509_sign(cert, key, EVP_sha256()) <= 0)
		goto cleanup;
	*out = cert;
	cert = NULL;
	rc = LETHE_OK;
cleanup:
	X509_free(cert);
	return rc;
}

/* key as unencrypted PKCS#8 PEM in a memory BIO. */
static lethe_status
key_pem(EVP_PKEY *key, BIO **out)
{
	BIO *bio = BIO_new(BIO_s_mem());

	ENSURE(bio != NULL, LETHE_ERR_NOMEM);
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return LETHE_ERR_CRYPTO;
	}
	*out = bio;
	return LETHE_OK;
}

lethe_status
bench_identity_generate(const char *cn, reg_identity **out)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cert = NULL;
	BIO *kbio = NULL;
	char *cpem = NULL, *kdata = NULL;
	size_t cpem_len = 0;
	long klen = 0;
	lethe_status rc;

	ENSURE(key != NULL, LETHE_ERR_CRYPTO);
	GUARD_GOTO(rc, self_signed(key, cn, &cert));
	GUARD_GOTO(rc, reg_cert_to_pem(cert, &cpem, &cpem_len));
	GUARD_GOTO(rc, key_pem(key, &kbio));
	klen = BIO_get_mem_data(kbio, &kdata);
	ENSURE_GOTO(rc, klen > 0, LETHE_ERR_CRYPTO);
	rc = reg_identity_from_pem(cpem, cpem_len, kdata, (size_t)klen, out);
cleanup:
	if (kdata != NULL && klen > 0)
		lethe_wipe(kdata, (size_t)klen);
	BIO_free(kbio);
	free(cpem);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}
