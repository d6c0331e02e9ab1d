/* The KMP server role: nonce table, nonce-first drops, retransmission, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_kmp_roles_fixture.h"

/* ------------------------------------------------------------ nonce table */

static void
test_nonce_table(void **state)
{
	kmp_nonce_table t;
	kmp_peer a, b, c;

	(void)state;
	assert_int_equal(kmp_peer_set(&a, "A", 1), LETHE_OK);
	assert_int_equal(kmp_peer_set(&b, "B", 1), LETHE_OK);
	assert_int_equal(kmp_peer_set(&c, "C", 1), LETHE_OK);
	assert_int_equal(kmp_nonce_table_init(&t, 2), LETHE_OK);
	/* 0 marks client-initiated requests: never stored. */
	assert_int_equal(kmp_nonce_put(&t, &a, 0, 100, 0), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_nonce_put(&t, &a, 0x11111111, 100, 0), LETHE_OK);
	assert_int_equal(kmp_nonce_put(&t, &b, 0x22222222, 200, 0), LETHE_OK);
	assert_int_equal(kmp_nonce_count(&t), 2);
	/* Full with live entries: refused, nothing evicted. */
	assert_int_equal(kmp_nonce_put(&t, &c, 0x33333333, 300, 50), LETHE_ERR_TOO_BIG);
	assert_int_equal(kmp_nonce_match(&t, &a, 0x11111111, 50), LETHE_OK);
	/* Wrong nonce, wrong peer, the reserved value. */
	assert_int_equal(kmp_nonce_match(&t, &a, 0x11111112, 50), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kmp_nonce_match(&t, &b, 0x11111111, 50), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kmp_nonce_match(&t, &c, 0, 50), LETHE_ERR_NOT_FOUND);
	/* Expired. */
	assert_int_equal(kmp_nonce_match(&t, &a, 0x11111111, 100), LETHE_ERR_NOT_FOUND);
	/* Its slot is reclaimed for c. */
	assert_int_equal(kmp_nonce_put(&t, &c, 0x33333333, 300, 150), LETHE_OK);
	assert_int_equal(kmp_nonce_count(&t), 2);
	/* A new nonce for b replaces the old one. */
	assert_int_equal(kmp_nonce_put(&t, &b, 0x44444444, 400, 150), LETHE_OK);
	assert_int_equal(kmp_nonce_match(&t, &b, 0x22222222, 150), LETHE_ERR_NOT_FOUND);
	/* Used once. */
	assert_int_equal(kmp_nonce_take(&t, &b, 0x44444444, 150), LETHE_OK);
	assert_int_equal(kmp_nonce_take(&t, &b, 0x44444444, 150), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kmp_nonce_count(&t), 1);
	kmp_nonce_table_free(&t);
	assert_int_equal(kmp_nonce_table_init(&t, 0), LETHE_ERR_INVALID_ARG);
}

/* The peer index alone: slots given by the caller, refusals, reuse. */
static void
test_peer_index(void **state)
{
	kmp_peer_index ix;
	kmp_peer a, b, a6, empty;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	assert_int_equal(kmp_peer_set(&a, "\x0a\x00\x00\x01\x00\x58", 6), LETHE_OK);
	assert_int_equal(kmp_peer_set(&b, "\x0a\x00\x00\x02\x00\x58", 6), LETHE_OK);
	/* Same bytes, one longer: another peer. */
	assert_int_equal(kmp_peer_set(&a6, "\x0a\x00\x00\x01\x00\x58\x00", 7), LETHE_OK);
	assert_int_equal(kmp_peer_index_init(&ix, 0), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_peer_index_init(&ix, KMP_NONCE_TABLE_MAX + 1), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_peer_index_init(&ix, 3), LETHE_OK);
	assert_int_equal(ix.nbuckets, 4);
	assert_int_equal(kmp_peer_index_find(&ix, &a), KMP_PEER_NONE);
	assert_int_equal(kmp_peer_index_add(&ix, &a, 2), LETHE_OK);
	assert_int_equal(kmp_peer_index_add(&ix, &b, 0), LETHE_OK);
	assert_int_equal(kmp_peer_index_find(&ix, &a), 2);
	assert_int_equal(kmp_peer_index_find(&ix, &b), 0);
	assert_int_equal(kmp_peer_index_find(&ix, &a6), KMP_PEER_NONE);
	assert_int_equal(kmp_peer_index_find(&ix, &empty), KMP_PEER_NONE);
	/* Taken slot, out of range, already indexed, malformed. */
	assert_int_equal(kmp_peer_index_add(&ix, &a6, 2), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_peer_index_add(&ix, &a6, 3), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_peer_index_add(&ix, &a, 1), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_peer_index_add(&ix, &empty, 1), LETHE_ERR_INVALID_ARG);
	assert_int_equal(kmp_peer_index_add(&ix, &a6, 1), LETHE_OK);
	assert_int_equal(kmp_peer_index_find(&ix, &a6), 1);
	/* Removing frees the slot and the address; unused or out of range: nothing. */
	kmp_peer_index_remove(&ix, 2);
	kmp_peer_index_remove(&ix, 2);
	kmp_peer_index_remove(&ix, 7);
	assert_int_equal(kmp_peer_index_find(&ix, &a), KMP_PEER_NONE);
	assert_int_equal(kmp_peer_index_find(&ix, &b), 0);
	assert_int_equal(kmp_peer_index_find(&ix, &a6), 1);
	assert_int_equal(kmp_peer_index_add(&ix, &a, 2), LETHE_OK);
	assert_int_equal(kmp_peer_index_find(&ix, &a), 2);
	kmp_peer_index_free(&ix);
	assert_int_equal(ix.cap, 0);
	assert_int_equal(kmp_peer_index_find(&ix, &a), KMP_PEER_NONE);
}

#define MANY_PEERS 10000u

/* Peer i of the many-peers tests: an IPv4 address and port, 6 bytes. */
static void
many_peer(kmp_peer *p, uint32_t i)
{
	uint8_t addr[6] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i,
		(uint8_t)(i >> 3), 0x58 };

	assert_int_equal(kmp_peer_set(p, addr, sizeof(addr)), LETHE_OK);
}

static uint32_t
many_nonce(uint32_t i)
{
	return 0x5a000000u | (i + 1);
}

/* The longest bucket chain. */
static size_t
longest_chain(const kmp_peer_index *ix)
{
	size_t b, n, best = 0;
	uint32_t i;

	for (b = 0; b < ix->nbuckets; b++) {
		n = 0;
		for (i = ix->buckets[b]; i != KMP_PEER_NONE; i = ix->next[i])
			n++;
		if (n > best)
			best = n;
	}
	return best;
}

static void
test_nonce_many_peers(void **state)
{
	kmp_nonce_table t;
	kmp_peer p, extra;
	uint32_t i;

	(void)state;
	assert_int_equal(kmp_nonce_table_init(&t, MANY_PEERS), LETHE_OK);
	/* Even peers lapse at 100, odd ones at 200. */
	for (i = 0; i < MANY_PEERS; i++) {
		many_peer(&p, i);
		assert_int_equal(kmp_nonce_put(&t, &p, many_nonce(i), i % 2 ? 200 : 100, 0),
		    LETHE_OK);
	}
	assert_int_equal(kmp_nonce_count(&t), MANY_PEERS);
	/* Spread: 10,000 keyed hashes over 16,384 buckets, no long chain. */
	assert_int_equal(t.index.nbuckets, 16384);
	assert_in_range(longest_chain(&t.index), 1, 12);
	/* Full of live nonces. */
	many_peer(&extra, MANY_PEERS);
	assert_int_equal(kmp_nonce_put(&t, &extra, 1, 300, 50), LETHE_ERR_TOO_BIG);
	assert_int_equal(kmp_nonce_count(&t), MANY_PEERS);
	for (i = 0; i < MANY_PEERS; i++) {
		many_peer(&p, i);
		assert_int_equal(kmp_nonce_match(&t, &p, many_nonce(i), 50), LETHE_OK);
		assert_int_equal(kmp_nonce_match(&t, &p, many_nonce(i) ^ 1, 50),
		    LETHE_ERR_NOT_FOUND);
		assert_int_equal(kmp_nonce_match(&t, &p, many_nonce((i + 1) % MANY_PEERS), 50),
		    LETHE_ERR_NOT_FOUND);
	}
	assert_int_equal(kmp_nonce_match(&t, &extra, many_nonce(MANY_PEERS), 50),
	    LETHE_ERR_NOT_FOUND);
	/* Expiry frees the even half, and only it. */
	kmp_nonce_expire(&t, 100);
	assert_int_equal(kmp_nonce_count(&t), MANY_PEERS / 2);
	for (i = 0; i < MANY_PEERS; i++) {
		many_peer(&p, i);
		assert_int_equal(kmp_nonce_match(&t, &p, many_nonce(i), 150),
		    i % 2 ? LETHE_OK : LETHE_ERR_NOT_FOUND);
	}
	/* Freed slots take new peers. */
	assert_int_equal(kmp_nonce_put(&t, &extra, 7, 300, 150), LETHE_OK);
	assert_int_equal(kmp_nonce_match(&t, &extra, 7, 150), LETHE_OK);
	/* Take (used once) every odd peer whose index is 1 mod 4, drop the others. */
	for (i = 1; i < MANY_PEERS; i += 2) {
		many_peer(&p, i);
		if (i % 4 == 1) {
			assert_int_equal(kmp_nonce_take(&t, &p, many_nonce(i), 150), LETHE_OK);
			assert_int_equal(kmp_nonce_take(&t, &p, many_nonce(i), 150),
			    LETHE_ERR_NOT_FOUND);
		} else {
			kmp_nonce_drop(&t, &p);
			assert_int_equal(kmp_nonce_match(&t, &p, many_nonce(i), 150),
			    LETHE_ERR_NOT_FOUND);
		}
	}
	assert_int_equal(kmp_nonce_count(&t), 1);
	assert_int_equal(kmp_nonce_match(&t, &extra, 7, 150), LETHE_OK);
	/* Every slot can be filled again. */
	for (i = 0; i < MANY_PEERS - 1; i++) {
		many_peer(&p, i);
		assert_int_equal(kmp_nonce_put(&t, &p, many_nonce(i), 400, 150), LETHE_OK);
	}
	assert_int_equal(kmp_nonce_count(&t), MANY_PEERS);
	many_peer(&p, MANY_PEERS + 1);
	assert_int_equal(kmp_nonce_put(&t, &p, 9, 400, 150), LETHE_ERR_TOO_BIG);
	/* At 300 extra lapses: a full table reclaims it for the newcomer. */
	assert_int_equal(kmp_nonce_put(&t, &p, 9, 400, 300), LETHE_OK);
	assert_int_equal(kmp_nonce_match(&t, &extra, 7, 300), LETHE_ERR_NOT_FOUND);
	assert_int_equal(kmp_nonce_match(&t, &p, 9, 300), LETHE_OK);
	kmp_nonce_table_free(&t);
}

/* Two tables draw different hash keys. */
static void
test_nonce_hash_key_random(void **state)
{
	kmp_nonce_table a, b;

	(void)state;
	assert_int_equal(kmp_nonce_table_init(&a, 8), LETHE_OK);
	assert_int_equal(kmp_nonce_table_init(&b, 8), LETHE_OK);
	assert_memory_not_equal(a.index.hash_key, b.index.hash_key, sizeof(a.index.hash_key));
	kmp_nonce_table_free(&a);
	kmp_nonce_table_free(&b);
}

/*
 * Every entry in one chain: with an all-zero hash key, addresses whose
 * first four bytes are zero hash alike (NH multiplies word 0 by word 1).
 */
static void
test_nonce_collisions(void **state)
{
	enum { N = 64 };
	kmp_nonce_table t;
	kmp_peer p[N], q;
	size_t heads = 0, b;
	uint32_t i;

	(void)state;
	assert_int_equal(kmp_nonce_table_init(&t, N), LETHE_OK);
	memset(t.index.hash_key, 0, sizeof(t.index.hash_key));
	t.index.hash_len_key = 0;
	for (i = 0; i < N; i++) {
		uint8_t addr[8] = { 0, 0, 0, 0, (uint8_t)i, 1, 2, 3 };

		assert_int_equal(kmp_peer_set(&p[i], addr, sizeof(addr)), LETHE_OK);
		assert_int_equal(kmp_nonce_put(&t, &p[i], 1000 + i, 100 + (i % 3), 0), LETHE_OK);
	}
	for (b = 0; b < t.index.nbuckets; b++)
		heads += t.index.buckets[b] != KMP_PEER_NONE;
	assert_int_equal(heads, 1);
	assert_int_equal(longest_chain(&t.index), N);
	/* Same length, same bucket, not in the table. */
	{
		uint8_t addr[8] = { 0, 0, 0, 0, N, 1, 2, 3 };
		assert_int_equal(kmp_peer_set(&q, addr, sizeof(addr)), LETHE_OK);
	}
	assert_int_equal(kmp_nonce_match(&t, &q, 1000 + N, 0), LETHE_ERR_NOT_FOUND);
	for (i = 0; i < N; i++) {
		assert_int_equal(kmp_nonce_match(&t, &p[i], 1000 + i, 0), LETHE_OK);
		assert_int_equal(kmp_nonce_match(&t, &p[i], 1001 + i, 0), LETHE_ERR_NOT_FOUND);
	}
	/* Unlink from the head, the middle and the tail of the chain. */
	kmp_nonce_drop(&t, &p[N - 1]);
	kmp_nonce_drop(&t, &p[N / 2]);
	kmp_nonce_drop(&t, &p[0]);
	assert_int_equal(kmp_nonce_count(&t), N - 3);
	assert_int_equal(longest_chain(&t.index), N - 3);
	/* Expiry at 100 unlinks every third one still there (i % 3 == 0). */
	kmp_nonce_expire(&t, 100);
	for (i = 0; i < N; i++) {
		bool live = i != 0 && i != N / 2 && i != N - 1 && i % 3 != 0;
		assert_int_equal(kmp_nonce_match(&t, &p[i], 1000 + i, 100),
		    live ? LETHE_OK : LETHE_ERR_NOT_FOUND);
	}
	assert_int_equal(longest_chain(&t.index), kmp_nonce_count(&t));
	/* Removed entries come back, in the same chain. */
	assert_int_equal(kmp_nonce_put(&t, &p[0], 5, 500, 100), LETHE_OK);
	assert_int_equal(kmp_nonce_put(&t, &q, 6, 500, 100), LETHE_OK);
	assert_int_equal(kmp_nonce_match(&t, &p[0], 5, 100), LETHE_OK);
	assert_int_equal(kmp_nonce_match(&t, &q, 6, 100), LETHE_OK);
	assert_int_equal(longest_chain(&t.index), kmp_nonce_count(&t));
	kmp_nonce_table_free(&t);
}

static const uint8_t zeros[8];

static lethe_status
zero_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	memset(out, 0, len);
	return LETHE_OK;
}

static void
test_nonce_fresh_never_zero(void **state)
{
	fx *f = fx_new();
	kmp_io io;
	uint32_t n = 0;

	(void)state;
	assert_non_null(f);
	/* The first draw is 0: redrawn. */
	f->script = zeros;
	f->script_len = 4;
	assert_int_equal(kmp_nonce_fresh(&f->server_io, &n), LETHE_OK);
	assert_int_not_equal(n, 0);
	/* A source stuck at 0 is an error, not a 0 nonce. */
	io = f->server_io;
	io.random = zero_random;
	assert_int_equal(kmp_nonce_fresh(&io, &n), LETHE_ERR_CRYPTO);
	fx_free(f);
}

/* ------------------------------------------------------------ server */

typedef struct srv_fixture {
	fx *f;
	kmp_server *srv;
} srv_fixture;

static int
setup(void **state)
{
	srv_fixture *s = calloc(1, sizeof(*s));
	kmp_server_config sc;

	memset(&sc, 0, sizeof(sc));
	s->f = fx_new();
	assert_non_null(s->f);
	sc.principal = FX_SERVICE;
	sc.doi = KMP_DOI_IPSEC;
	sc.ack_required = true;
	sc.ci_rate = 1;
	sc.ci_burst = 2;
	assert_int_equal(kmp_server_new(&sc, &s->f->server_io, s->f->acc, &s->srv), LETHE_OK);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	srv_fixture *s = *state;

	kmp_server_free(s->srv);
	fx_free(s->f);
	free(s);
	return 0;
}

/* A well-formed, correctly sealed AP Request for nonce (fresh authenticator). */
static size_t
make_ap_request(fx *f, uint32_t nonce, uint8_t *out, size_t cap)
{
	kcl_cred cred;
	kcl_ap_params p = { 0 };
	kcl_ap_state st = { 0 };
	kmp_hmac_key key;
	der_writer w;
	kmp_msg m;
	size_t len = 0;

	assert_int_equal(fx_make_cred(f, &cred), LETHE_OK);
	der_writer_init(&w, 65536);
	p.ap_options = KRB_AP_OPT_MUTUAL_REQUIRED;
	p.has_seq_number = true;
	p.seq_number = 0x5eed;
	assert_int_equal(kcl_ap_req_build(&cred, &p, &st, &w), LETHE_OK);
	memset(&m, 0, sizeof(m));
	m.kmmid = KMP_AP_REQUEST;
	m.doi = KMP_DOI_IPSEC;
	m.u.ap_request.ap_req = der_written(&w);
	m.u.ap_request.server_nonce = nonce;
	m.u.ap_request.asd.spi = 0x1234;
	m.u.ap_request.suites.count = 1;
	m.u.ap_request.suites.suite[0] = (kmp_suite){ KMP_IPSEC_AUTH_HMAC_SHA1_96,
	    KMP_IPSEC_ENC_AES_CBC_128 };
	assert_int_equal(kmp_encode(&m, out, cap, &len), LETHE_OK);
	assert_int_equal(kmp_hmac_key_derive(cred.session_key, KMP_HMAC_AP_REQUEST, &key),
	    LETHE_OK);
	assert_int_equal(kmp_hmac_seal(&key, out, len), LETHE_OK);
	kmp_hmac_key_clear(&key);
	kcl_ap_state_clear(&st);
	der_writer_free(&w);
	kcl_cred_clear(&cred);
	return len;
}

/* Wake the client; return the nonce of the Wake Up sent. */
static uint32_t
wake(srv_fixture *s)
{
	fx_msg *wu;
	kmp_msg m;

	assert_int_equal(kmp_server_wake(s->srv, &s->f->client_peer, s->f->now_ms), LETHE_OK);
	wu = fx_next_to(s->f, &s->f->client_peer);
	assert_non_null(wu);
	wu->delivered = true;
	assert_int_equal(kmp_decode(wu->data, wu->len, &m), LETHE_OK);
	assert_int_equal(m.kmmid, KMP_WAKE_UP);
	assert_int_equal(m.u.wake_up.principal.len, strlen(FX_SERVICE));
	assert_memory_equal(m.u.wake_up.principal.data, FX_SERVICE, strlen(FX_SERVICE));
	assert_int_not_equal(m.u.wake_up.server_nonce, KMP_NONCE_CLIENT_INITIATED);
	return m.u.wake_up.server_nonce;
}

static void
test_wake_up_scripted_nonce(void **state)
{
	srv_fixture *s = *state;
	static const uint8_t script[] = { 0, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe };

	/* A 0 draw is skipped: the Wake Up carries the next one. */
	s->f->script = script;
	s->f->script_len = sizeof(script);
	assert_int_equal(wake(s), 0xcafebabe);
}

/* Retransmission with back-off on the fake clock: 1, 2, 4, 8, 8 s, then give up. */
static void
test_wake_up_backoff(void **state)
{
	srv_fixture *s = *state;
	static const int64_t at[] = { 0, 1000, 3000, 7000, 15000 };
	kmp_server_stats st;
	uint8_t req[4096];
	size_t i, len;
	uint32_t nonce = wake(s);

	for (i = 1; i < 5; i++) {
		s->f->now_ms = at[i] - 1;
		kmp_server_tick(s->srv, s->f->now_ms);
		assert_int_equal(fx_count_to(s->f, &s->f->client_peer), i);
		assert_int_equal(kmp_server_next_deadline(s->srv), at[i]);
		s->f->now_ms = at[i];
		kmp_server_tick(s->srv, s->f->now_ms);
		assert_int_equal(fx_count_to(s->f, &s->f->client_peer), i + 1);
		/* the same bytes, the same nonce */
		assert_int_equal(fx_nth_to(s->f, &s->f->client_peer, i)->len,
		    fx_nth_to(s->f, &s->f->client_peer, 0)->len);
		assert_memory_equal(fx_nth_to(s->f, &s->f->client_peer, i)->data,
		    fx_nth_to(s->f, &s->f->client_peer, 0)->data,
		    fx_nth_to(s->f, &s->f->client_peer, 0)->len);
	}
	assert_int_equal(kmp_server_next_deadline(s->srv), 15000 + 8000);
	s->f->now_ms = 23000;
	kmp_server_tick(s->srv, s->f->now_ms);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.wakeups_sent, 1);
	assert_int_equal(st.wakeup_retransmits, 4);
	assert_int_equal(st.wakeups_given_up, 1);
	assert_int_equal(fx_count_to(s->f, &s->f->client_peer), 5);
	assert_int_equal(kmp_server_next_deadline(s->srv), INT64_MAX);
	/* The nonce lapsed with the give-up: a late AP Request costs nothing. */
	len = make_ap_request(s->f, nonce, req, sizeof(req));
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, s->f->now_ms);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.dropped_nonce, 1);
	assert_int_equal(fx_decrypts(s->f), 0);
}

/* Wrong nonce, or no Wake Up at all: dropped and counted, no decryption, no reply. */
static void
test_wrong_nonce_no_crypto(void **state)
{
	srv_fixture *s = *state;
	kmp_server_stats st;
	kmp_peer stranger;
	uint8_t req[4096];
	size_t len, sent;
	uint32_t nonce = wake(s);

	assert_int_equal(kmp_peer_set(&stranger, "\x0a\x00\x00\x09", 4), LETHE_OK);
	sent = s->f->nmsgs;
	len = make_ap_request(s->f, nonce ^ 1, req, sizeof(req));
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 0);
	/* the right nonce from another address */
	len = make_ap_request(s->f, nonce, req, sizeof(req));
	kmp_server_receive(s->srv, &stranger, req, len, 0);
	/* no Wake Up was ever sent to this peer */
	len = make_ap_request(s->f, 0x01020304, req, sizeof(req));
	kmp_server_receive(s->srv, &stranger, req, len, 0);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.dropped_nonce, 3);
	assert_int_equal(st.ap_requests_accepted, 0);
	assert_int_equal(fx_decrypts(s->f), 0);
	assert_int_equal(s->f->nmsgs, sent);
	/* The good one still works afterwards (the nonce was not consumed). */
	len = make_ap_request(s->f, nonce, req, sizeof(req));
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 0);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.ap_requests_accepted, 1);
	assert_int_equal(fx_decrypts(s->f), 2);
	assert_int_equal(s->f->nmsgs, sent + 1);
}

/* Truncated, oversized, trailing bytes, garbage: dropped before any crypto. */
static void
test_malformed_no_crypto(void **state)
{
	srv_fixture *s = *state;
	kmp_server_stats st;
	uint8_t req[4096], *big;
	size_t len, cut;
	uint32_t nonce = wake(s);

	len = make_ap_request(s->f, nonce, req, sizeof(req));
	for (cut = 0; cut < len; cut += 13)
		kmp_server_receive(s->srv, &s->f->client_peer, req, cut, 0);
	big = calloc(1, KMP_MAX_MSG_LEN + 1);
	assert_non_null(big);
	memcpy(big, req, len);
	kmp_server_receive(s->srv, &s->f->client_peer, big, len + 1, 0);
	kmp_server_receive(s->srv, &s->f->client_peer, big, KMP_MAX_MSG_LEN + 1, 0);
	free(big);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.dropped_other, (len + 12) / 13 + 2);
	assert_int_equal(st.dropped_nonce, 0);
	assert_int_equal(fx_decrypts(s->f), 0);
}

/* A broken HMAC costs the Kerberos check but gets no answer. */
static void
test_bad_hmac_dropped(void **state)
{
	srv_fixture *s = *state;
	kmp_server_stats st;
	uint8_t req[4096];
	size_t len, sent;
	uint32_t nonce = wake(s);

	sent = s->f->nmsgs;
	len = make_ap_request(s->f, nonce, req, sizeof(req));
	req[len - 1] ^= 0x80;
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 0);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.dropped_other, 1);
	assert_int_equal(st.ap_requests_accepted, 0);
	assert_int_equal(s->f->nmsgs, sent);
}

/* Duplicates get the cached AP Reply; a replay after a new Wake Up is a nonce drop. */
static void
test_duplicate_and_replay(void **state)
{
	srv_fixture *s = *state;
	kmp_server_stats st;
	uint8_t req[4096];
	size_t len;
	uint64_t decrypts;
	fx_msg *r1, *r2;
	uint32_t nonce = wake(s);

	len = make_ap_request(s->f, nonce, req, sizeof(req));
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 0);
	decrypts = fx_decrypts(s->f);
	assert_int_equal(decrypts, 2);
	r1 = fx_next_to(s->f, &s->f->client_peer);
	assert_non_null(r1);
	r1->delivered = true;
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 10);
	r2 = fx_next_to(s->f, &s->f->client_peer);
	assert_non_null(r2);
	r2->delivered = true;
	assert_int_equal(r1->len, r2->len);
	assert_memory_equal(r1->data, r2->data, r1->len);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.duplicates_resent, 1);
	assert_int_equal(st.ap_requests_accepted, 1);
	assert_int_equal(fx_decrypts(s->f), decrypts);
	/* A new Wake Up: the old AP Request replayed now matches nothing. */
	(void)wake(s);
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 20);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.dropped_nonce, 1);
	assert_int_equal(fx_decrypts(s->f), decrypts);
}

/* Client-initiated requests: token bucket (burst 2, 1/s) before any crypto. */
static void
test_client_initiated_rate(void **state)
{
	srv_fixture *s = *state;
	kmp_server_stats st;
	uint8_t req[4096];
	size_t len, i;

	for (i = 0; i < 3; i++) {
		len = make_ap_request(s->f, KMP_NONCE_CLIENT_INITIATED, req, sizeof(req));
		kmp_server_receive(s->srv, &s->f->client_peer, req, len, 0);
	}
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.ap_requests_accepted, 2);
	assert_int_equal(st.dropped_rate, 1);
	assert_int_equal(fx_decrypts(s->f), 4);
	/* One second later one more token. */
	len = make_ap_request(s->f, KMP_NONCE_CLIENT_INITIATED, req, sizeof(req));
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 1000);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.ap_requests_accepted, 3);
}

/* An expired ticket under a valid nonce: Error Reply with KRB_AP_ERR_TKT_EXPIRED. */
static void
test_error_reply_expired(void **state)
{
	srv_fixture *s = *state;
	kmp_server_stats st;
	lethe_arena a;
	krb_error e;
	kmp_msg m;
	uint8_t req[4096];
	size_t len;
	fx_msg *er;
	uint32_t nonce = wake(s);

	s->f->ticket_end_offset = -1000;
	len = make_ap_request(s->f, nonce, req, sizeof(req));
	kmp_server_receive(s->srv, &s->f->client_peer, req, len, 0);
	er = fx_next_to(s->f, &s->f->client_peer);
	assert_non_null(er);
	assert_int_equal(kmp_decode(er->data, er->len, &m), LETHE_OK);
	assert_int_equal(m.kmmid, KMP_ERROR_REPLY);
	lethe_arena_init(&a, 4096);
	assert_int_equal(krb_decode_krb_error(&a, m.u.error_reply.krb_error.data,
	    m.u.error_reply.krb_error.len, &e), LETHE_OK);
	assert_int_equal(e.error_code, KRB_AP_ERR_TKT_EXPIRED);
	lethe_arena_free(&a);
	kmp_server_stats_get(s->srv, &st);
	assert_int_equal(st.error_replies, 1);
	assert_int_equal(st.ap_requests_accepted, 0);
}

static void
test_config_refused(void **state)
{
	fx *f = fx_new();
	kmp_server_config sc;
	kmp_server *srv = NULL;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	sc.doi = KMP_DOI_IPSEC;
	assert_int_equal(kmp_server_new(&sc, &f->server_io, f->acc, &srv), LETHE_ERR_INVALID_ARG);
	sc.principal = FX_SERVICE;
	sc.lifetime_s = 100;
	sc.grace_s = 100;
	assert_int_equal(kmp_server_new(&sc, &f->server_io, f->acc, &srv), LETHE_ERR_INVALID_ARG);
	sc.grace_s = 10;
	sc.offered.count = 1;
	sc.offered.suite[0] = (kmp_suite){ KMP_IPSEC_AUTH_HMAC_SHA1_96, KMP_IPSEC_ENC_IDEA };
	assert_int_equal(kmp_server_new(&sc, &f->server_io, f->acc, &srv), LETHE_ERR_INVALID_ARG);
	assert_null(srv);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_table),
		cmocka_unit_test(test_peer_index),
		cmocka_unit_test(test_nonce_many_peers),
		cmocka_unit_test(test_nonce_hash_key_random),
		cmocka_unit_test(test_nonce_collisions),
		cmocka_unit_test(test_nonce_fresh_never_zero),
		cmocka_unit_test_setup_teardown(test_wake_up_scripted_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_up_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_nonce_no_crypto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_no_crypto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_hmac_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_initiated_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_reply_expired, setup, teardown),
		cmocka_unit_test(test_config_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
