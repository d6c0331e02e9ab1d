/* Shared fixture of the KMP role tests (see the header). */
#include "test_kmp_roles_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keytab/keytab.h"
#include "krb5/krb5.h"

static lethe_status
fx_send(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len, const kmp_peer *from)
{
	fx *f = ctx;
	fx_msg *m;

	ENSURE(f->nmsgs < FX_MAX_MSGS, LETHE_ERR_TOO_BIG);
	m = &f->msgs[f->nmsgs];
	m->data = malloc(len);
	ENSURE(m->data != NULL, LETHE_ERR_NOMEM);
	memcpy(m->data, msg, len);
	m->len = len;
	m->to = *to;
	m->from = *from;
	m->at_ms = f->now_ms;
	m->delivered = false;
	f->nmsgs++;
	return LETHE_OK;
}

static lethe_status
send_from_server(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	fx *f = ctx;

	return fx_send(ctx, to, msg, len, &f->server_peer);
}

static lethe_status
send_from_client(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	fx *f = ctx;

	return fx_send(ctx, to, msg, len, &f->client_peer);
}

static lethe_status
fx_random(void *ctx, uint8_t *out, size_t len)
{
	fx *f = ctx;
	size_t n = len < f->script_len ? len : f->script_len;

	if (n > 0) {
		memcpy(out, f->script, n);
		f->script += n;
		f->script_len -= n;
	}
	return n == len ? LETHE_OK : kc_random_bytes(out + n, len - n);
}

static int64_t
fx_unix(void *ctx)
{
	fx *f = ctx;

	return f->base_s + f->now_ms / 1000;
}

static void
fx_acc_clock(void *arg, int64_t *sec, int32_t *usec)
{
	fx *f = arg;

	*sec = f->base_s + f->now_ms / 1000;
	*usec = (int32_t)(f->now_ms % 1000) * 1000;
}

static lethe_status
write_keytab(fx *f)
{
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };
	lethe_status rc;

	GUARD_GOTO(rc, kc_key_generate(&f->service_key, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96));
	GUARD_GOTO(rc, kt_new(&kt));
	GUARD_GOTO(rc, kt_principal_parse(FX_SERVICE, strlen(FX_SERVICE), NULL, &p));
	GUARD_GOTO(rc, kt_add(kt, &p, FX_KVNO, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96,
	    (uint32_t)f->base_s, kc_key_bytes(&f->service_key)));
	rc = kt_save(kt, f->keytab);
cleanup:
	kt_principal_clear(&p);
	kt_free(kt);
	return rc;
}

fx *
fx_new(void)
{
	fx *f = calloc(1, sizeof(*f));
	acc_params ap = { 0 };
	const char *tmp = getenv("TMPDIR");
	static const uint8_t srv_addr[] = { 10, 0, 0, 1 }, cli_addr[] = { 10, 0, 0, 2 };

	if (f == NULL)
		return NULL;
	snprintf(f->dir, sizeof(f->dir), "%s/kmpXXXXXX", tmp != NULL && strlen(tmp) < 40 ?
	    tmp : ".");
	if (mkdtemp(f->dir) == NULL)
		goto fail;
	snprintf(f->keytab, sizeof(f->keytab), "%s/kt", f->dir);
	f->base_s = (int64_t)time(NULL);
	f->ticket_end_offset = 3600;
	if (write_keytab(f) != LETHE_OK)
		goto fail;
	ap.keytab_path = f->keytab;
	ap.clock = fx_acc_clock;
	ap.clock_arg = f;
	if (acc_ctx_new(&ap, &f->acc) != LETHE_OK)
		goto fail;
	(void)kmp_peer_set(&f->server_peer, srv_addr, sizeof(srv_addr));
	(void)kmp_peer_set(&f->client_peer, cli_addr, sizeof(cli_addr));
	f->server_io = (kmp_io){ f, send_from_server, fx_random, fx_unix, NULL };
	f->client_io = (kmp_io){ f, send_from_client, fx_random, fx_unix, NULL };
	return f;
fail:
	fx_free(f);
	return NULL;
}

void
fx_free(fx *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nmsgs; i++)
		free(f->msgs[i].data);
	acc_ctx_free(f->acc);
	kc_key_clear(&f->service_key);
	if (f->keytab[0] != '\0')
		(void)unlink(f->keytab);
	if (f->dir[0] != '\0')
		(void)rmdir(f->dir);
	free(f);
}

/* The EncryptedData of the ticket: EncTicketPart under the service key. */
static lethe_status
seal_ticket(fx *f, kc_key *session, const kcl_name *client, der_writer *w,
    uint8_t **cipher, size_t *cipher_len)
{
	krb_enc_ticket_part tp;
	size_t cap;
	lethe_status rc;

	memset(&tp, 0, sizeof(tp));
	tp.key.keytype = kc_key_enctype(session);
	tp.key.keyvalue = kc_key_bytes(session);
	tp.crealm = client->realm;
	tp.cname = kcl_name_principal(client);
	tp.authtime = f->base_s;
	tp.endtime = f->base_s + f->ticket_end_offset;
	GUARD(krb_encode_enc_ticket_part(w, &tp));
	GUARD(kc_encrypt_len(kc_key_enctype(&f->service_key), der_written(w).len, &cap));
	*cipher = malloc(cap);
	ENSURE(*cipher != NULL, LETHE_ERR_NOMEM);
	rc = kc_encrypt(&f->service_key, KRB_KU_TICKET, der_written(w), *cipher, cap,
	    cipher_len);
	return rc;
}

lethe_status
fx_make_cred(fx *f, kcl_cred *out)
{
	kc_key session;
	krb_ticket t;
	der_writer w;
	uint8_t *cipher = NULL;
	size_t cipher_len = 0;
	lethe_status rc;

	memset(out, 0, sizeof(*out));
	memset(&session, 0, sizeof(session));
	memset(&t, 0, sizeof(t));
	der_writer_init(&w, 65536);
	GUARD_GOTO(rc, kcl_name_parse(&out->client, FX_CLIENT, NULL));
	GUARD_GOTO(rc, kcl_name_parse(&out->server, FX_SERVICE, NULL));
	GUARD_GOTO(rc, kc_key_generate(&session, KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96));
	GUARD_GOTO(rc, seal_ticket(f, &session, &out->client, &w, &cipher, &cipher_len));
	der_writer_reset(&w);
	t.realm = out->server.realm;
	t.sname = kcl_name_principal(&out->server);
	t.enc_part.etype = kc_key_enctype(&f->service_key);
	t.enc_part.has_kvno = true;
	t.enc_part.kvno = FX_KVNO;
	t.enc_part.cipher = lbytes_make(cipher, cipher_len);
	GUARD_GOTO(rc, krb_encode_ticket(&w, &t));
	GUARD_GOTO(rc, der_writer_take(&w, &out->ticket, &out->ticket_len));
	GUARD_GOTO(rc, kc_key_new(kc_key_enctype(&session), kc_key_bytes(&session),
	    &out->session_key));
	out->authtime = f->base_s;
	out->starttime = f->base_s;
	out->endtime = f->base_s + f->ticket_end_offset;
	out->ticket_etype = t.enc_part.etype;
	out->ticket_kvno = FX_KVNO;
	f->creds_issued++;
cleanup:
	free(cipher);
	der_writer_free(&w);
	kc_key_clear(&session);
	if (rc != LETHE_OK)
		kcl_cred_clear(out);
	return rc;
}

lethe_status
fx_get_cred(void *ctx, const char *principal, bool refresh, kcl_cred *cred)
{
	(void)refresh;
	ENSURE(strcmp(principal, FX_SERVICE) == 0, LETHE_ERR_NOT_FOUND);
	return fx_make_cred(ctx, cred);
}

fx_msg *
fx_next_to(fx *f, const kmp_peer *peer)
{
	size_t i;

	for (i = 0; i < f->nmsgs; i++)
		if (!f->msgs[i].delivered && kmp_peer_eq(&f->msgs[i].to, peer))
			return &f->msgs[i];
	return NULL;
}

size_t
fx_count_to(const fx *f, const kmp_peer *peer)
{
	size_t i, n = 0;

	for (i = 0; i < f->nmsgs; i++)
		if (kmp_peer_eq(&f->msgs[i].to, peer))
			n++;
	return n;
}

fx_msg *
fx_nth_to(fx *f, const kmp_peer *peer, size_t nth)
{
	size_t i;

	for (i = 0; i < f->nmsgs; i++)
		if (kmp_peer_eq(&f->msgs[i].to, peer) && nth-- == 0)
			return &f->msgs[i];
	return NULL;
}

void
fx_pump(fx *f, kmp_server *srv, kmp_client *cli)
{
	size_t i;
	bool moved = true;

	while (moved) {
		moved = false;
		for (i = 0; i < f->nmsgs; i++) {
			fx_msg *m = &f->msgs[i];
			if (m->delivered)
				continue;
			m->delivered = true;
			moved = true;
			if (srv != NULL && kmp_peer_eq(&m->to, &f->server_peer))
				kmp_server_receive(srv, &m->from, m->data, m->len, f->now_ms);
			else if (cli != NULL && kmp_peer_eq(&m->to, &f->client_peer))
				kmp_client_receive(cli, &m->from, m->data, m->len, f->now_ms);
		}
	}
}

uint64_t
fx_decrypts(fx *f)
{
	acc_stats st;

	acc_stats_get(f->acc, &st);
	return st.ticket_decrypts + st.authenticator_decrypts;
}
