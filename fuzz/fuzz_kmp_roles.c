/*
 * fuzz_kmp_roles: the KMP server and client engines fed arbitrary
 * datagrams. Each input gets a fresh acceptor (fixed keytab: kmp/cms,
 * kvno 5, aes256), a server engine that has sent a Wake Up to the client,
 * and a client engine that answered it and waits for the AP Reply; the
 * clock is fake (the wall clock read once per input, as the client's
 * authenticators carry the real time; it moves only when the input says
 * so), random bytes for the engines come from a fixed generator. Byte 0 picks the DOI; the rest is a list of
 * operations, each op(1) len(2, big-endian) data(len):
 *   0  data to the server from the client's address
 *   1  data to the client from the server's address
 *   2  the client's genuine AP Request with data XORed in at data[0..1]
 *   3  the server's last message to the client, mutated the same way
 *   4  the client's last message to the server, mutated the same way
 *   5  data to the server from a stranger (address 10.0.0.data[0])
 *   6  the clock moves by data[0..1] ms; both engines tick
 *   7  the client starts a client-initiated exchange
 * Invariants (abort otherwise): the acceptor decrypts nothing for a
 * datagram that is not an AP Request carrying nonce 0 or the nonce of the
 * server's live Wake Up/Rekey for that address; the client tries no AP
 * Reply (refuses or accepts none) while no exchange of its own is pending.
 * Leaks are caught by libFuzzer's leak checker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "keytab/keytab.h"
#include "kmp/kmp_role.h"
#include "krb5/krb5.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SERVICE "kmp/cms.lethe.test@LETHE.TEST"
#define FZ_CLIENT "mta1@LETHE.TEST"
#define FZ_KVNO 5u
#define FZ_MAX_OPS 64u

static const uint8_t fz_service_key[32] = {
	0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed,
	0xfe, 0x0f, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
	0xdd, 0xee, 0xff, 0x01 };
static const uint8_t fz_session_key[16] = {
	0x5a, 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x0d, 0x0e };
static const uint8_t fz_srv_addr[] = { 10, 0, 0, 1 }, fz_cli_addr[] = { 10, 0, 0, 2 };

static char fz_dir[256];
static char fz_path[300];

/* One saved datagram. */
typedef struct fz_msg {
	uint8_t data[KMP_MAX_MSG_LEN];
	size_t len;
} fz_msg;

typedef struct fz {
	int64_t base_s;         /* wall clock at now_ms 0 */
	int64_t now_ms;
	uint64_t rng;
	kmp_peer srv_peer;
	kmp_peer cli_peer;
	acc_ctx *acc;
	kmp_server *srv;
	kmp_client *cli;
	kmp_doi doi;
	/* the server's live trigger nonce for cli_peer */
	uint32_t nonce;
	bool nonce_live;
	fz_msg to_cli;          /* the server's last message to the client */
	fz_msg to_srv;          /* the client's last message to the server */
	fz_msg genuine;         /* the client's first AP Request */
} fz;

static fz *fz_state;

static void
fz_clock(void *arg, int64_t *sec, int32_t *usec)
{
	fz *f = arg;

	*sec = f->base_s + f->now_ms / 1000;
	*usec = (int32_t)(f->now_ms % 1000) * 1000;
}

static int64_t
fz_unix(void *ctx)
{
	fz *f = ctx;

	return f->base_s + f->now_ms / 1000;
}

/* splitmix64: the same bytes for the same input, never all-zero for long. */
static lethe_status
fz_random(void *ctx, uint8_t *out, size_t len)
{
	fz *f = ctx;
	uint64_t z;
	size_t i;

	for (i = 0; i < len; i++) {
		z = (f->rng += UINT64_C(0x9e3779b97f4a7c15));
		z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
		z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
		out[i] = (uint8_t)(z ^ (z >> 31));
	}
	return LETHE_OK;
}

static void
fz_save(fz_msg *m, const uint8_t *msg, size_t len)
{
	if (len > sizeof(m->data))
		abort();
	memcpy(m->data, msg, len);
	m->len = len;
}

/* Server → anyone. A Wake Up or Rekey to the client makes its nonce live. */
static lethe_status
fz_send_srv(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	fz *f = ctx;
	kmp_msg m;

	if (!kmp_peer_eq(to, &f->cli_peer))
		return LETHE_OK;
	fz_save(&f->to_cli, msg, len);
	if (kmp_decode(msg, len, &m) != LETHE_OK)
		abort();        /* the server only sends what it can decode */
	if (m.kmmid == KMP_WAKE_UP || m.kmmid == KMP_REKEY) {
		f->nonce = m.kmmid == KMP_WAKE_UP ? m.u.wake_up.server_nonce :
		    m.u.rekey.server_nonce;
		if (f->nonce == KMP_NONCE_CLIENT_INITIATED)
			abort();
		f->nonce_live = true;
	}
	return LETHE_OK;
}

static lethe_status
fz_send_cli(void *ctx, const kmp_peer *to, const uint8_t *msg, size_t len)
{
	fz *f = ctx;

	if (!kmp_peer_eq(to, &f->srv_peer))
		abort();        /* the client talks to its server only */
	fz_save(&f->to_srv, msg, len);
	return LETHE_OK;
}

/* A ticket for FZ_SERVICE under the fixed keys (kmp_get_cred_fn). */
static lethe_status
fz_get_cred(void *ctx, const char *principal, bool refresh, kcl_cred *out)
{
	kc_key service, session;
	krb_enc_ticket_part tp;
	krb_ticket t;
	der_writer w;
	uint8_t *cipher = NULL;
	size_t cap = 0, cipher_len = 0;
	lethe_status rc;

	fz *f = ctx;

	(void)refresh;
	memset(&service, 0, sizeof(service));
	memset(&session, 0, sizeof(session));
	memset(&tp, 0, sizeof(tp));
	memset(&t, 0, sizeof(t));
	der_writer_init(&w, 65536);
	ENSURE_GOTO(rc, strcmp(principal, FZ_SERVICE) == 0, LETHE_ERR_NOT_FOUND);
	GUARD_GOTO(rc, kc_key_init(&service, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96,
	    lbytes_make(fz_service_key, sizeof(fz_service_key))));
	GUARD_GOTO(rc, kc_key_init(&session, KC_ENCTYPE_AES128_CTS_HMAC_SHA1_96,
	    lbytes_make(fz_session_key, sizeof(fz_session_key))));
	GUARD_GOTO(rc, kcl_name_parse(&out->client, FZ_CLIENT, NULL));
	GUARD_GOTO(rc, kcl_name_parse(&out->server, FZ_SERVICE, NULL));
	tp.key.keytype = kc_key_enctype(&session);
	tp.key.keyvalue = kc_key_bytes(&session);
	tp.crealm = out->client.realm;
	tp.cname = kcl_name_principal(&out->client);
	tp.authtime = f->base_s;
	tp.endtime = f->base_s + 36000;
	GUARD_GOTO(rc, krb_encode_enc_ticket_part(&w, &tp));
	GUARD_GOTO(rc, kc_encrypt_len(kc_key_enctype(&service), der_written(&w).len, &cap));
	cipher = malloc(cap);
	ENSURE_GOTO(rc, cipher != NULL, LETHE_ERR_NOMEM);
	GUARD_GOTO(rc, kc_encrypt(&service, KRB_KU_TICKET, der_written(&w), cipher, cap,
	    &cipher_len));
	der_writer_reset(&w);
	t.realm = out->server.realm;
	t.sname = kcl_name_principal(&out->server);
	t.enc_part.etype = kc_key_enctype(&service);
	t.enc_part.has_kvno = true;
	t.enc_part.kvno = FZ_KVNO;
	t.enc_part.cipher = lbytes_make(cipher, cipher_len);
	GUARD_GOTO(rc, krb_encode_ticket(&w, &t));
	GUARD_GOTO(rc, der_writer_take(&w, &out->ticket, &out->ticket_len));
	GUARD_GOTO(rc, kc_key_new(kc_key_enctype(&session), kc_key_bytes(&session),
	    &out->session_key));
	out->authtime = f->base_s;
	out->starttime = f->base_s;
	out->endtime = f->base_s + 36000;
	out->ticket_etype = t.enc_part.etype;
	out->ticket_kvno = FZ_KVNO;
cleanup:
	free(cipher);
	der_writer_free(&w);
	kc_key_clear(&service);
	kc_key_clear(&session);
	if (rc != LETHE_OK)
		kcl_cred_clear(out);
	return rc;
}

static void
fz_cleanup(void)
{
	unlink(fz_path);
	rmdir(fz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	kt_keytab *kt = NULL;
	kt_principal p = { 0 };

	(void)argc;
	(void)argv;
	log_init("fuzz_kmp_roles", LETHE_LOG_STDERR, LETHE_LOG_WARN);
	snprintf(fz_dir, sizeof(fz_dir), "%s/lethe-fuzz-kmp-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(fz_dir) == NULL)
		abort();
	snprintf(fz_path, sizeof(fz_path), "%s/keytab", fz_dir);
	if (kt_new(&kt) != LETHE_OK ||
	    kt_principal_parse(FZ_SERVICE, strlen(FZ_SERVICE), NULL, &p) != LETHE_OK ||
	    kt_add(kt, &p, FZ_KVNO, KC_ENCTYPE_AES256_CTS_HMAC_SHA1_96, 1,
	    lbytes_make(fz_service_key, sizeof(fz_service_key))) != LETHE_OK ||
	    kt_save(kt, fz_path) != LETHE_OK)
		abort();
	kt_principal_clear(&p);
	kt_free(kt);
	atexit(fz_cleanup);
	fz_state = calloc(1, sizeof(*fz_state));
	if (fz_state == NULL)
		abort();
	return 0;
}

static uint64_t
fz_decrypts(fz *f)
{
	acc_stats st;

	acc_stats_get(f->acc, &st);
	return st.ticket_decrypts + st.authenticator_decrypts;
}

/* Server engine with a Wake Up out, client engine waiting for the AP Reply. */
static void
fz_setup(fz *f, kmp_doi doi)
{
	static const uint8_t engine_id[] = { 0x80, 0x00, 0x1f, 0x88, 0x04, 'f', 'z' };
	const char *servers[1] = { FZ_SERVICE };
	acc_params ap = { 0 };
	kmp_server_config sc;
	kmp_client_config cc;
	kmp_io sio, cio;

	memset(f, 0, sizeof(*f));
	f->base_s = (int64_t)time(NULL);
	f->doi = doi;
	f->now_ms = 1000;
	(void)kmp_peer_set(&f->srv_peer, fz_srv_addr, sizeof(fz_srv_addr));
	(void)kmp_peer_set(&f->cli_peer, fz_cli_addr, sizeof(fz_cli_addr));
	ap.keytab_path = fz_path;
	ap.servers = servers;
	ap.n_servers = 1;
	ap.clock = fz_clock;
	ap.clock_arg = f;
	if (acc_ctx_new(&ap, &f->acc) != LETHE_OK)
		abort();
	sio = (kmp_io){ f, fz_send_srv, fz_random, fz_unix, NULL };
	cio = (kmp_io){ f, fz_send_cli, fz_random, fz_unix, NULL };
	memset(&sc, 0, sizeof(sc));
	sc.principal = FZ_SERVICE;
	sc.doi = doi;
	sc.lifetime_s = 60;
	sc.grace_s = 20;
	sc.ack_required = true;
	sc.reestablish = true;
	sc.max_clients = 4;
	sc.snmp.engine_id = lbytes_make(engine_id, sizeof(engine_id));
	sc.snmp.user_name = LBYTES_LIT("fuzz");
	memset(&cc, 0, sizeof(cc));
	cc.doi = doi;
	cc.server = f->srv_peer;
	cc.principal = FZ_SERVICE;
	cc.reestablish = true;
	cc.snmp = sc.snmp;
	cc.get_cred = fz_get_cred;
	cc.get_cred_ctx = f;
	if (kmp_server_new(&sc, &sio, f->acc, &f->srv) != LETHE_OK ||
	    kmp_client_new(&cc, &cio, &f->cli) != LETHE_OK ||
	    kmp_server_wake(f->srv, &f->cli_peer, f->now_ms) != LETHE_OK || !f->nonce_live)
		abort();
	kmp_client_receive(f->cli, &f->srv_peer, f->to_cli.data, f->to_cli.len, f->now_ms);
	if (!kmp_client_busy(f->cli) || f->to_srv.len == 0)
		abort();
	f->genuine = f->to_srv;
}

static void
fz_teardown(fz *f)
{
	kmp_client_free(f->cli);
	kmp_server_free(f->srv);
	acc_ctx_free(f->acc);
	f->cli = NULL;
	f->srv = NULL;
	f->acc = NULL;
}

/* Did the nonce rule allow the acceptor to run on msg from peer? */
static bool
fz_crypto_allowed(const fz *f, const kmp_peer *peer, const uint8_t *msg, size_t len)
{
	kmp_msg m;

	if (kmp_decode(msg, len, &m) != LETHE_OK || m.kmmid != KMP_AP_REQUEST ||
	    m.doi != f->doi)
		return false;
	if (m.u.ap_request.server_nonce == KMP_NONCE_CLIENT_INITIATED)
		return true;
	return f->nonce_live && m.u.ap_request.server_nonce == f->nonce &&
	    kmp_peer_eq(peer, &f->cli_peer);
}

static void
fz_to_server(fz *f, const kmp_peer *peer, const uint8_t *msg, size_t len)
{
	kmp_server_stats before, after;
	uint64_t decrypts = fz_decrypts(f);
	kmp_msg m;

	kmp_server_stats_get(f->srv, &before);
	kmp_server_receive(f->srv, peer, msg, len, f->now_ms);
	kmp_server_stats_get(f->srv, &after);
	if (fz_decrypts(f) != decrypts && !fz_crypto_allowed(f, peer, msg, len))
		abort();        /* decrypted without a matching nonce */
	/* An accepted server-initiated request consumes the nonce. */
	if (after.ap_requests_accepted != before.ap_requests_accepted &&
	    kmp_decode(msg, len, &m) == LETHE_OK && m.kmmid == KMP_AP_REQUEST &&
	    m.u.ap_request.server_nonce != KMP_NONCE_CLIENT_INITIATED)
		f->nonce_live = false;
}

static void
fz_to_client(fz *f, const uint8_t *msg, size_t len)
{
	kmp_client_stats before, after;
	bool busy = kmp_client_busy(f->cli);

	kmp_client_stats_get(f->cli, &before);
	kmp_client_receive(f->cli, &f->srv_peer, msg, len, f->now_ms);
	kmp_client_stats_get(f->cli, &after);
	if (!busy && (after.replies_accepted != before.replies_accepted ||
	    after.replies_refused != before.replies_refused))
		abort();        /* tried an AP Reply with no exchange pending */
}

static void
fz_tick(fz *f, uint32_t ms)
{
	kmp_server_stats before, after;

	f->now_ms += ms;
	kmp_server_stats_get(f->srv, &before);
	kmp_server_tick(f->srv, f->now_ms);
	kmp_server_stats_get(f->srv, &after);
	if (after.wakeups_given_up != before.wakeups_given_up)
		f->nonce_live = false;
	kmp_client_tick(f->cli, f->now_ms);
	if (kmp_server_next_deadline(f->srv) < f->now_ms ||
	    kmp_client_next_deadline(f->cli) < f->now_ms)
		abort();        /* a deadline left in the past: the loop would spin */
}

/* saved XOR data, data[0..1] the offset (mod the length). */
static size_t
fz_mutate(const fz_msg *src, const uint8_t *d, size_t n, uint8_t *out)
{
	size_t off, i;

	memcpy(out, src->data, src->len);
	if (src->len == 0 || n < 2)
		return src->len;
	off = ((size_t)d[0] << 8 | d[1]) % src->len;
	for (i = 2; i < n && off < src->len; i++, off++)
		out[off] ^= d[i];
	return src->len;
}

static void
fz_op(fz *f, uint8_t op, const uint8_t *d, size_t n)
{
	static uint8_t buf[KMP_MAX_MSG_LEN];
	kmp_peer stranger;
	uint8_t addr[4] = { 10, 0, 0, 0 };
	size_t len;

	switch (op % 8) {
	case 0:
		fz_to_server(f, &f->cli_peer, d, n);
		break;
	case 1:
		fz_to_client(f, d, n);
		break;
	case 2:
		len = fz_mutate(&f->genuine, d, n, buf);
		fz_to_server(f, &f->cli_peer, buf, len);
		break;
	case 3:
		len = fz_mutate(&f->to_cli, d, n, buf);
		fz_to_client(f, buf, len);
		break;
	case 4:
		len = fz_mutate(&f->to_srv, d, n, buf);
		fz_to_server(f, &f->cli_peer, buf, len);
		break;
	case 5:
		addr[3] = n > 0 ? d[0] : 3;
		(void)kmp_peer_set(&stranger, addr, sizeof(addr));
		fz_to_server(f, &stranger, d, n);
		break;
	case 6:
		fz_tick(f, n >= 2 ? (uint32_t)d[0] << 8 | d[1] : 1000);
		break;
	default:
		(void)kmp_client_start(f->cli, f->now_ms);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz *f = fz_state;
	size_t pos = 1, ops = 0, n;
	uint8_t op;

	if (size < 1)
		return 0;
	fz_setup(f, (data[0] & 1) != 0 ? KMP_DOI_SNMPV3 : KMP_DOI_IPSEC);
	while (pos + 3 <= size && ops++ < FZ_MAX_OPS) {
		op = data[pos];
		n = (size_t)data[pos + 1] << 8 | data[pos + 2];
		pos += 3;
		if (n > size - pos)
			n = size - pos;
		fz_op(f, op, data + pos, n);
		pos += n;
	}
	fz_teardown(f);
	return 0;
}
