/* The KDC unit tests' in-memory realm and client side (see test_kdc_fixture.h). */
#include "test_kdc_fixture.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_ARENA_BUDGET (1u << 20)
#define T_WRITER_MAX (1u << 20)

static const int32_t t_default_etypes[] = { 18, 17, 20, 19 };

/* ------------------------------------------------------------ names */

krb_principal_name
t_name(const char *text)
{
	static char bufs[8][256];
	static lbytes comps[8][KRB_MAX_NAME_COMPONENTS];
	static unsigned next;
	unsigned i = next++ % 8;
	krb_principal_name pn = { KRB_NT_PRINCIPAL, comps[i], 0 };
	char *c, *slash;

	assert_true(strlen(text) < sizeof(bufs[i]));
	strcpy(bufs[i], text);
	c = bufs[i];
	for (;;) {
		assert_true(pn.n_components < KRB_MAX_NAME_COMPONENTS);
		slash = strchr(c, '/');
		comps[i][pn.n_components++] = lbytes_make(c, slash ? (size_t)(slash - c) : strlen(c));
		if (slash == NULL)
			break;
		c = slash + 1;
	}
	if (pn.n_components == 2 && strcmp(text, "krbtgt/" T_REALM) == 0)
		pn.name_type = KRB_NT_SRV_INST;
	return pn;
}

/* ------------------------------------------------------------ keys */

static size_t
key_len(int32_t etype)
{
	return (etype == 17 || etype == 19) ? 16 : 32;
}

static void
pattern_key(uint32_t kvno, int32_t etype, uint8_t seed, kc_key *out)
{
	uint8_t b[32];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(seed + kvno * 31u + (uint32_t)etype * 7u + i);
	assert_int_equal(kc_key_init(out, etype, lbytes_make(b, key_len(etype))), LETHE_OK);
}

void
t_tgs_key(uint32_t kvno, int32_t etype, kc_key *out)
{
	pattern_key(kvno, etype, 0x10, out);
}

void
t_service_key(int32_t etype, kc_key *out)
{
	pattern_key(T_SERVICE_KVNO, etype, 0x80, out);
}

void
t_agent_key(uint32_t kvno, int32_t etype, kc_key *out)
{
	pattern_key(kvno, etype, 0xa0, out);
}

static const char *
password_of(const char *user)
{
	if (strcmp(user, "alice") == 0)
		return T_ALICE_PW;
	if (strcmp(user, "bob") == 0)
		return T_BOB_PW;
	if (strcmp(user, "carol") == 0)
		return T_CAROL_PW;
	if (strcmp(user, "frank") == 0)
		return T_FRANK_PW;
	if (strcmp(user, T_SVR_USER) == 0)
		return T_SVR_USER_PW;
	return "other password";
}

void
t_user_key(const char *user, int32_t etype, kc_key *out)
{
	char salt[128];
	uint8_t params[4] = { T_FRANK_ITER >> 24, (T_FRANK_ITER >> 16) & 0xff,
		(T_FRANK_ITER >> 8) & 0xff, T_FRANK_ITER & 0xff };
	bool frank = strcmp(user, "frank") == 0;
	const char *pw = password_of(user);

	snprintf(salt, sizeof(salt), "%s%s", frank ? "" : T_REALM, frank ? T_FRANK_SALT : user);
	assert_int_equal(kc_string_to_key(out, etype, lbytes_make(pw, strlen(pw)),
	    lbytes_make(salt, strlen(salt)), frank ? lbytes_make(params, 4) : lbytes_make(NULL, 0)),
	    LETHE_OK);
}

/* ------------------------------------------------------------ the realm */

static void
add_key(store_principal *p, uint32_t kvno, kc_key *k)
{
	store_key *sk;
	lbytes b = kc_key_bytes(k);

	p->keys = realloc(p->keys, (p->nkeys + 1) * sizeof(*p->keys));
	assert_non_null(p->keys);
	sk = &p->keys[p->nkeys++];
	memset(sk, 0, sizeof(*sk));
	sk->kvno = kvno;
	sk->enctype = kc_key_enctype(k);
	memcpy(sk->key, b.data, b.len);
	sk->key_len = b.len;
	sk->kind = STORE_KEY_LONG_TERM;
	kc_key_clear(k);
}

static void
add_temporary_key(store_principal *p, uint32_t kvno, int32_t etype, int64_t use_until,
    int64_t accept_until)
{
	kc_key k;
	store_key *sk;

	t_agent_key(kvno, etype, &k);
	add_key(p, kvno, &k);
	sk = &p->keys[p->nkeys - 1];
	sk->kind = STORE_KEY_TEMPORARY;
	sk->registered_at = T_NOW - 3600;
	sk->use_until = use_until;
	sk->accept_until = accept_until;
}

static store_principal *
add_principal(store_principal **list, size_t *n, const char *name,
    enum store_principal_kind kind, uint32_t attrs)
{
	store_principal *p;

	*list = realloc(*list, (*n + 1) * sizeof(**list));
	assert_non_null(*list);
	p = &(*list)[(*n)++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	assert_non_null(p->name);
	p->kind = kind;
	p->attributes = attrs;
	return p;
}

static void
add_user(store_principal **list, size_t *n, const char *user, uint32_t attrs,
    const int32_t *etypes, size_t n_etypes)
{
	char name[128];
	store_principal *p;
	kc_key k;

	snprintf(name, sizeof(name), "%s@%s", user, T_REALM);
	p = add_principal(list, n, name, STORE_KIND_USER, attrs);
	for (size_t i = 0; i < n_etypes; i++) {
		t_user_key(user, etypes[i], &k);
		add_key(p, 1, &k);
	}
}

static void
add_services(store_principal **list, size_t *n)
{
	store_principal *p;
	kc_key k;

	p = add_principal(list, n, "krbtgt/" T_REALM "@" T_REALM, STORE_KIND_KRBTGT,
	    STORE_ATTR_DEFAULT_SERVICE);
	for (size_t i = 0; i < 4; i++) {
		t_tgs_key(T_TGS_KVNO, t_default_etypes[i], &k);
		add_key(p, T_TGS_KVNO, &k);
	}
	t_tgs_key(1, 18, &k);
	add_key(p, 1, &k);
	p = add_principal(list, n, T_SERVICE "@" T_REALM, STORE_KIND_SERVICE,
	    STORE_ATTR_DEFAULT_SERVICE | STORE_ATTR_REQUIRES_PREAUTH);
	t_service_key(18, &k);
	add_key(p, T_SERVICE_KVNO, &k);
	t_service_key(17, &k);
	add_key(p, T_SERVICE_KVNO, &k);
}

/* Services whose keys come from an agent (newest kvno first, as the store gives them). */
static void
add_agent_services(store_principal **list, size_t *n)
{
	store_principal *p;
	kc_key k;

	p = add_principal(list, n, T_AGENT_SERVICE "@" T_REALM, STORE_KIND_AGENT,
	    STORE_ATTR_DEFAULT_SERVICE);
	add_temporary_key(p, T_AGENT_KVNO, 18, T_AGENT_USE_UNTIL, T_AGENT_ACCEPT_UNTIL);
	add_temporary_key(p, T_AGENT_KVNO, 17, T_AGENT_USE_UNTIL, T_AGENT_ACCEPT_UNTIL);
	add_temporary_key(p, T_AGENT_KVNO - 1, 18, T_NOW - 60, T_NOW + 30000);
	p = add_principal(list, n, T_SHORT_SERVICE "@" T_REALM, STORE_KIND_AGENT,
	    STORE_ATTR_DEFAULT_SERVICE);
	add_temporary_key(p, 9, 18, T_NOW + 3600, T_SHORT_ACCEPT_UNTIL);
	p = add_principal(list, n, T_MIXED_SERVICE "@" T_REALM, STORE_KIND_SERVICE,
	    STORE_ATTR_DEFAULT_SERVICE);
	add_temporary_key(p, 2, 18, T_NOW - 60, T_NOW + 30000);
	t_agent_key(1, 18, &k);
	add_key(p, 1, &k);
}

/* Users as lethe-admin add-user makes them: never a ticket's server. */
#define T_USER_ATTRS (STORE_ATTR_DEFAULT_USER | STORE_ATTR_NO_SERVICE)

void
t_realm_principals(store_realm_policy *pol, store_principal **list, size_t *n)
{
	static const int32_t e18[] = { 18 }, e17[] = { 17 };
	store_principal *p;

	assert_int_equal(store_realm_policy_default(pol, T_REALM), LETHE_OK);
	*list = NULL;
	*n = 0;
	add_services(list, n);
	add_agent_services(list, n);
	add_user(list, n, "alice", T_USER_ATTRS, t_default_etypes, 4);
	add_user(list, n, "bob", T_USER_ATTRS & ~STORE_ATTR_REQUIRES_PREAUTH, e18, 1);
	add_user(list, n, "carol", T_USER_ATTRS, e17, 1);
	add_user(list, n, "dave", T_USER_ATTRS | STORE_ATTR_DISABLED, e18, 1);
	add_user(list, n, "eve", T_USER_ATTRS, e18, 1);
	(*list)[*n - 1].expires_at = T_NOW - 10;
	/* Before frank and nosvc: the snapshot tests find those two last. */
	add_user(list, n, T_SVR_USER, T_USER_ATTRS & ~STORE_ATTR_NO_SERVICE, e18, 1);
	add_user(list, n, "frank", T_USER_ATTRS, e18, 1);
	p = &(*list)[*n - 1];
	p->keys[0].salt = (uint8_t *)strdup(T_FRANK_SALT);
	p->keys[0].salt_len = strlen(T_FRANK_SALT);
	p->keys[0].s2k_iterations = T_FRANK_ITER;
	add_user(list, n, "nosvc", T_USER_ATTRS, e18, 1);
}

void
t_realm_principals_free(store_principal *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < list[i].nkeys; k++)
			free(list[i].keys[k].salt);
		free(list[i].keys);
		free(list[i].name);
	}
	free(list);
}

/* ------------------------------------------------------------ the KDC */

static void
fixture_clock(void *ctx, int64_t *sec, int32_t *usec)
{
	const tkdc *t = ctx;

	*sec = t->now;
	*usec = t->usec;
}

void (*tkdc_snapshot_hook)(kdc_snapshot *snap);

int
tkdc_setup(void **state)
{
	tkdc *t = calloc(1, sizeof(*t));
	store_realm_policy pol;
	store_principal *list;
	kdc_snapshot *snap;
	size_t n;

	assert_non_null(t);
	t_realm_principals(&pol, &list, &n);
	assert_int_equal(kdc_snapshot_build(&pol, list, n, 7, &snap), LETHE_OK);
	t_realm_principals_free(list, n);
	if (tkdc_snapshot_hook != NULL)
		tkdc_snapshot_hook(snap);
	assert_int_equal(kdc_new(snap, &t->k), LETHE_OK);
	kdc_set_clock(t->k, fixture_clock, t);
	kdc_set_log_requests(t->k, getenv("LETHE_TEST_KDC_LOG") != NULL);
	assert_int_equal(kdc_worker_init(t->k, 0, &t->wctx), LETHE_OK);
	lethe_arena_init(&t->arena, T_ARENA_BUDGET);
	lethe_arena_init(&t->carena, T_ARENA_BUDGET);
	t->now = T_NOW;
	t->usec = T_USEC;
	t->peer.sin_family = AF_INET;
	t->peer.sin_port = htons(40000);
	t->peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->info = (kdc_req_info){
		.transport = KDC_TRANSPORT_UDP,
		.peer = (const struct sockaddr *)&t->peer,
		.peer_len = sizeof(t->peer),
		.max_reply = 4096,
		.worker_ctx = t->wctx,
		.arena = &t->arena,
	};
	*state = t;
	return 0;
}

int
tkdc_teardown(void **state)
{
	tkdc *t = *state;

	kdc_worker_fini(t->k, 0, t->wctx);
	kdc_free(t->k);
	lethe_arena_free(&t->arena);
	lethe_arena_free(&t->carena);
	free(t);
	return 0;
}

void
tkdc_send(tkdc *t, const uint8_t *req, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	/* An exact-size copy lets ASan catch a read past the end. */
	assert_non_null(copy);
	if (len)
		memcpy(copy, req, len);
	t->rep_len = 0;
	assert_int_equal(kdc_handle(t->k, &t->info, copy, len, t->rep, T_REP_CAP, &t->rep_len),
	    LETHE_OK);
	lethe_arena_reset(&t->arena);
	lethe_arena_reset(&t->carena);
	free(copy);
}

void
tkdc_send_writer(tkdc *t, der_writer *w)
{
	lbytes b = der_written(w);

	assert_int_equal(der_writer_status(w), LETHE_OK);
	tkdc_send(t, b.data, b.len);
	der_writer_reset(w);
}

int32_t
tkdc_error(tkdc *t, krb_error *err)
{
	assert_true(t->rep_len > 0);
	assert_int_equal(krb_decode_krb_error(&t->carena, t->rep, t->rep_len, err), LETHE_OK);
	return err->error_code;
}

bool
t_etext_has(const krb_error *e, const char *needle)
{
	char buf[512];

	if (!e->has_e_text || e->e_text.len >= sizeof(buf))
		return false;
	memcpy(buf, e->e_text.data, e->e_text.len);
	buf[e->e_text.len] = '\0';
	return strstr(buf, needle) != NULL;
}

/* ------------------------------------------------------------ encoding helpers */

/* Move what w holds to a heap buffer (freed by the caller), resetting w. */
static lbytes
take(der_writer *w)
{
	uint8_t *p;
	size_t len;

	assert_int_equal(der_writer_take(w, &p, &len), LETHE_OK);
	return lbytes_make(p, len);
}

static void
drop(lbytes b)
{
	free((void *)b.data);
}

static lbytes
encrypt_heap(kc_key *key, uint32_t usage, lbytes plain)
{
	size_t len, out_len;
	uint8_t *buf;

	assert_int_equal(kc_encrypt_len(kc_key_enctype(key), plain.len, &len), LETHE_OK);
	buf = malloc(len);
	assert_non_null(buf);
	assert_int_equal(kc_encrypt(key, usage, plain, buf, len, &out_len), LETHE_OK);
	return lbytes_make(buf, out_len);
}

static lbytes
enc_timestamp_padata(kc_key *key, int64_t when)
{
	der_writer w;
	krb_pa_enc_ts_enc ts = { .patimestamp = when, .has_pausec = true, .pausec = 4242 };
	krb_enc_data ed = { .etype = kc_key_enctype(key) };
	lbytes plain, value;

	der_writer_init(&w, T_WRITER_MAX);
	krb_encode_pa_enc_ts_enc(&w, &ts);
	plain = take(&w);
	ed.cipher = encrypt_heap(key, KRB_KU_PA_ENC_TIMESTAMP, plain);
	krb_encode_enc_data(&w, &ed);
	value = take(&w);
	drop(plain);
	drop(ed.cipher);
	der_writer_free(&w);
	return value;
}

static krb_principal_name
service_name(const char *service)
{
	return service ? t_name(service) : t_name("krbtgt/" T_REALM);
}

void
t_encode_as_req(const t_as_req *in, der_writer *w)
{
	const char *realm = in->realm ? in->realm : T_REALM;
	krb_pa_data pa[2] = { { .padata_type = KRB_PA_ENC_TIMESTAMP },
		{ .padata_type = KRB_PA_REQ_ENC_PA_REP } };
	size_t npa = 0;
	krb_kdc_req req = {
		.msg_type = KRB_MSG_AS_REQ,
		.body = {
			.kdc_options = in->options,
			.has_cname = true, .cname = t_name(in->client),
			.realm = lbytes_make(realm, strlen(realm)),
			.has_sname = true, .sname = service_name(in->service),
			.has_till = true, .till = in->till ? in->till : T_NOW + 86400,
			.has_rtime = in->rtime != 0, .rtime = in->rtime,
			.nonce = in->nonce,
			.etypes = in->etypes ? in->etypes : t_default_etypes,
			.n_etypes = in->etypes ? in->n_etypes : 4,
		},
	};

	if (in->ts_key != NULL) {
		pa[0].padata_value = enc_timestamp_padata(in->ts_key,
		    in->ts_time ? in->ts_time : T_NOW);
		npa = 1;
	}
	if (in->enc_pa_rep)
		pa[npa++] = (krb_pa_data){ .padata_type = KRB_PA_REQ_ENC_PA_REP };
	req.padata = (krb_method_data){ pa, npa };
	assert_int_equal(krb_encode_as_req(w, &req), LETHE_OK);
	if (in->ts_key != NULL)
		drop(pa[0].padata_value);
}

/* ------------------------------------------------------------ replies */

static void
decrypt_arena(tkdc *t, kc_key *key, uint32_t usage, lbytes cipher, lbytes *plain)
{
	uint8_t *buf = lethe_arena_alloc(&t->carena, cipher.len + 1);
	size_t len;

	assert_non_null(buf);
	assert_int_equal(kc_decrypt(key, usage, cipher, buf, cipher.len + 1, &len), LETHE_OK);
	*plain = lbytes_make(buf, len);
}

void
t_open_rep(tkdc *t, int32_t msg_type, kc_key *reply_key, uint32_t usage, kc_key *ticket_key,
    t_rep *out)
{
	lbytes plain;

	memset(out, 0, sizeof(*out));
	assert_true(t->rep_len > 0);
	if (t->rep[0] == 0x7e) {
		krb_error e;
		tkdc_error(t, &e);
		fail_msg("KRB-ERROR %d: %.*s", (int)e.error_code, (int)e.e_text.len,
		    (const char *)e.e_text.data);
	}
	if (msg_type == KRB_MSG_AS_REP)
		assert_int_equal(krb_decode_as_rep(&t->carena, t->rep, t->rep_len, &out->rep), LETHE_OK);
	else
		assert_int_equal(krb_decode_tgs_rep(&t->carena, t->rep, t->rep_len, &out->rep), LETHE_OK);
	decrypt_arena(t, reply_key, usage, out->rep.enc_part.cipher, &plain);
	assert_int_equal(krb_decode_enc_kdc_rep_part(&t->carena, plain.data, plain.len, &out->part),
	    LETHE_OK);
	if (ticket_key == NULL)
		return;
	decrypt_arena(t, ticket_key, KRB_KU_TICKET, out->rep.ticket.enc_part.cipher, &plain);
	assert_int_equal(krb_decode_enc_ticket_part(&t->carena, plain.data, plain.len,
	    &out->ticket), LETHE_OK);
}

void
t_get_tgt(tkdc *t, uint32_t options, int64_t rtime, t_tgt *out)
{
	der_writer w;
	kc_key key;
	t_rep rep;

	memset(out, 0, sizeof(*out));
	der_writer_init(&w, T_WRITER_MAX);
	t_user_key("alice", 18, &key);
	t_encode_as_req(&(t_as_req){ .client = "alice", .options = options, .rtime = rtime,
	    .nonce = 99, .ts_key = &key }, &w);
	tkdc_send_writer(t, &w);
	der_writer_free(&w);
	t_open_rep(t, KRB_MSG_AS_REP, &key, KRB_KU_AS_REP_ENC_PART, NULL, &rep);
	assert_true(rep.rep.ticket.raw.len <= sizeof(out->ticket));
	memcpy(out->ticket, rep.rep.ticket.raw.data, rep.rep.ticket.raw.len);
	out->ticket_len = rep.rep.ticket.raw.len;
	assert_int_equal(kc_key_init(&out->session, rep.part.key.keytype, rep.part.key.keyvalue),
	    LETHE_OK);
	out->endtime = rep.part.endtime;
	out->flags = rep.part.flags;
	kc_key_clear(&key);
}

/* ------------------------------------------------------------ TGS-REQ */

static lbytes
encode_body(const krb_kdc_req_body *body)
{
	der_writer w;
	lbytes b;

	der_writer_init(&w, T_WRITER_MAX);
	assert_int_equal(krb_encode_kdc_req_body(&w, body), LETHE_OK);
	b = take(&w);
	der_writer_free(&w);
	return b;
}

static lbytes
enc_authdata(const t_tgs_req *in, kc_key *session)
{
	der_writer w;
	lbytes plain, cipher;

	der_writer_init(&w, T_WRITER_MAX);
	assert_int_equal(krb_encode_authdata(&w, in->authdata), LETHE_OK);
	plain = take(&w);
	der_writer_free(&w);
	cipher = in->subkey ? encrypt_heap(in->subkey, KRB_KU_TGS_REQ_AUTHDATA_SUBKEY, plain) :
	    encrypt_heap(session, KRB_KU_TGS_REQ_AUTHDATA_SESSKEY, plain);
	drop(plain);
	return cipher;
}

static lbytes
make_authenticator(const t_tgs_req *in, kc_key *session, lbytes body)
{
	const kc_enctype *et;
	uint8_t ck[KC_MAX_CKSUM_LEN];
	size_t ck_len;
	der_writer w;
	lbytes plain, cipher, sub = { NULL, 0 };
	krb_authenticator a = {
		.crealm = LBYTES_LIT(T_REALM),
		.cname = t_name(in->auth_client ? in->auth_client : "alice"),
		.cusec = 77,
		.ctime = in->ctime ? in->ctime : T_NOW,
	};

	assert_int_equal(kc_enctype_lookup(kc_key_enctype(session), &et), LETHE_OK);
	a.cksum.cksumtype = in->cksumtype ? in->cksumtype : et->cksumtype;
	if (in->cksumtype == 0 || in->cksumtype == et->cksumtype) {
		assert_int_equal(kc_checksum_make(session, a.cksum.cksumtype,
		    KRB_KU_TGS_REQ_AUTH_CKSUM, body, ck, sizeof(ck), &ck_len), LETHE_OK);
	} else {
		memset(ck, 0x5a, 16);
		ck_len = 16;
	}
	if (in->corrupt_cksum)
		ck[0] ^= 0x01;
	a.cksum.checksum = lbytes_make(ck, ck_len);
	a.has_cksum = !in->no_cksum;
	if (in->subkey != NULL) {
		sub = kc_key_bytes(in->subkey);
		a.has_subkey = true;
		a.subkey = (krb_encryption_key){ kc_key_enctype(in->subkey), sub };
	}
	der_writer_init(&w, T_WRITER_MAX);
	assert_int_equal(krb_encode_authenticator(&w, &a), LETHE_OK);
	plain = take(&w);
	der_writer_free(&w);
	cipher = encrypt_heap(session, KRB_KU_TGS_REQ_AUTH, plain);
	drop(plain);
	return cipher;
}

static lbytes
make_ap_req(const t_tgs_req *in, kc_key *session, lbytes body)
{
	lethe_arena a;
	der_writer w;
	krb_ap_req ap = { 0 };
	lbytes out;

	lethe_arena_init(&a, T_ARENA_BUDGET);
	assert_int_equal(krb_decode_ticket(&a, in->tgt->ticket, in->tgt->ticket_len, &ap.ticket),
	    LETHE_OK);
	ap.authenticator.etype = kc_key_enctype(session);
	ap.authenticator.cipher = make_authenticator(in, session, body);
	der_writer_init(&w, T_WRITER_MAX);
	assert_int_equal(krb_encode_ap_req(&w, &ap), LETHE_OK);
	out = take(&w);
	der_writer_free(&w);
	drop(ap.authenticator.cipher);
	lethe_arena_free(&a);
	return out;
}

void
t_encode_tgs_req(const t_tgs_req *in, der_writer *w)
{
	static const int32_t etypes[] = { 18, 17, 20, 19 };
	const char *realm = in->realm ? in->realm : T_REALM;
	kc_key *session = (kc_key *)&in->tgt->session;
	krb_pa_data pa = { .padata_type = KRB_PA_TGS_REQ };
	krb_kdc_req req = {
		.msg_type = KRB_MSG_TGS_REQ,
		.body = {
			.kdc_options = in->options,
			.realm = lbytes_make(realm, strlen(realm)),
			.has_sname = true,
			.sname = in->service ? t_name(in->service) : t_name(T_SERVICE),
			.has_till = true, .till = in->till ? in->till : T_NOW + 86400,
			.nonce = in->nonce,
			.etypes = etypes, .n_etypes = 4,
		},
	};

	if (in->authdata != NULL) {
		req.body.has_enc_authorization_data = true;
		req.body.enc_authorization_data.etype =
		    kc_key_enctype(in->subkey ? in->subkey : session);
		req.body.enc_authorization_data.cipher = enc_authdata(in, session);
	}
	req.body.raw = encode_body(&req.body);
	pa.padata_value = make_ap_req(in, session, req.body.raw);
	if (!in->no_pa_tgs_req)
		req.padata = (krb_method_data){ &pa, 1 };
	assert_int_equal(krb_encode_tgs_req(w, &req), LETHE_OK);
	drop(pa.padata_value);
	drop(req.body.raw);
	if (in->authdata != NULL)
		drop(req.body.enc_authorization_data.cipher);
}

void
tkdc_send_tgs(tkdc *t, const t_tgs_req *in)
{
	der_writer w;

	der_writer_init(&w, 1u << 20);
	t_encode_tgs_req(in, &w);
	tkdc_send_writer(t, &w);
	der_writer_free(&w);
}
