/*
 * The request handler as a whole: what is dropped, what gets
 * KRB_ERR_GENERIC, the UDP size limit, counters, and snapshot swaps while
 * workers run.
 */
#include "test_kdc_fixture.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define W_MAX (1u << 20)

/* An AS-REQ for alice with a valid encrypted timestamp, in a heap buffer. */
/* n AS-REQs of alice, each with its own encrypted timestamp (not replays). */
static uint8_t **
alice_as_reqs(size_t n, size_t *lens)
{
	uint8_t **out = calloc(n, sizeof(*out));
	der_writer w;
	kc_key key;

	assert_non_null(out);
	der_writer_init(&w, W_MAX);
	t_user_key("alice", 18, &key);
	for (size_t i = 0; i < n; i++) {
		t_encode_as_req(&(t_as_req){ .client = "alice", .nonce = 3, .ts_key = &key }, &w);
		assert_int_equal(der_writer_take(&w, &out[i], &lens[i]), LETHE_OK);
	}
	kc_key_clear(&key);
	der_writer_free(&w);
	return out;
}

static void
free_reqs(uint8_t **reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(reqs[i]);
	free(reqs);
}

static uint8_t *
alice_as_req(size_t *len)
{
	der_writer w;
	kc_key key;
	uint8_t *out;

	der_writer_init(&w, W_MAX);
	t_user_key("alice", 18, &key);
	t_encode_as_req(&(t_as_req){ .client = "alice", .nonce = 3, .ts_key = &key }, &w);
	kc_key_clear(&key);
	assert_int_equal(der_writer_take(&w, &out, len), LETHE_OK);
	der_writer_free(&w);
	return out;
}

static uint8_t *
alice_tgs_req(tkdc *t, size_t *len)
{
	der_writer w;
	t_tgt tgt;
	uint8_t *out;

	t_get_tgt(t, 0, 0, &tgt);
	der_writer_init(&w, W_MAX);
	t_encode_tgs_req(&(t_tgs_req){ .tgt = &tgt, .nonce = 11 }, &w);
	assert_int_equal(der_writer_take(&w, &out, len), LETHE_OK);
	der_writer_free(&w);
	return out;
}

/* The reply must be empty or decode as one of the KDC's messages. */
static int
reply_kind(tkdc *t)
{
	krb_kdc_rep rep;
	krb_error e;

	if (t->rep_len == 0)
		return 0;
	if (krb_decode_krb_error(&t->carena, t->rep, t->rep_len, &e) == LETHE_OK)
		return KRB_MSG_ERROR;
	if (krb_decode_as_rep(&t->carena, t->rep, t->rep_len, &rep) == LETHE_OK)
		return KRB_MSG_AS_REP;
	if (krb_decode_tgs_rep(&t->carena, t->rep, t->rep_len, &rep) == LETHE_OK)
		return KRB_MSG_TGS_REP;
	fail_msg("a reply of %zu bytes that is no Kerberos message", t->rep_len);
	return -1;
}

static void
test_garbage_dropped(void **state)
{
	static const uint8_t ap_req[] = { 0x6e, 0x03, 0x02, 0x01, 0x05 };
	static const uint8_t krb_err[] = { 0x7e, 0x03, 0x02, 0x01, 0x05 };
	static const uint8_t http[] = "GET / HTTP/1.0\r\n\r\n";
	static const uint8_t zero[] = { 0x00 };
	tkdc *t = *state;

	tkdc_send(t, NULL, 0);
	assert_int_equal(t->rep_len, 0);
	tkdc_send(t, zero, sizeof(zero));
	assert_int_equal(t->rep_len, 0);
	tkdc_send(t, http, sizeof(http) - 1);
	assert_int_equal(t->rep_len, 0);
	tkdc_send(t, ap_req, sizeof(ap_req));    /* not for a KDC */
	assert_int_equal(t->rep_len, 0);
	tkdc_send(t, krb_err, sizeof(krb_err));  /* never answer an error */
	assert_int_equal(t->rep_len, 0);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_OTHER, KDC_RESULT_DROPPED), 5);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KRB_ERR_GENERIC), 0);
}

/*
 * Every proper prefix of a request, and one with a trailing byte, does not
 * decode: no answer at all (a KRB-ERROR would amplify a spoofed datagram).
 */
static void
test_truncated_requests(void **state)
{
	tkdc *t = *state;
	size_t as_len, tgs_len;
	uint8_t *as = alice_as_req(&as_len), *tgs = alice_tgs_req(t, &tgs_len), *longer;

	for (size_t n = 1; n < as_len; n++) {
		tkdc_send(t, as, n);
		assert_int_equal(t->rep_len, 0);
	}
	for (size_t n = 1; n < tgs_len; n++) {
		tkdc_send(t, tgs, n);
		assert_int_equal(t->rep_len, 0);
	}
	longer = malloc(as_len + 1);
	assert_non_null(longer);
	memcpy(longer, as, as_len);
	longer[as_len] = 0;
	tkdc_send(t, longer, as_len + 1);
	assert_int_equal(t->rep_len, 0);
	tkdc_send(t, as, as_len);
	assert_int_equal(reply_kind(t), KRB_MSG_AS_REP);
	tkdc_send(t, tgs, tgs_len);
	assert_int_equal(reply_kind(t), KRB_MSG_TGS_REP);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KDC_RESULT_DROPPED), as_len);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_TGS, KDC_RESULT_DROPPED), tgs_len - 1);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KRB_ERR_GENERIC), 0);
	free(longer);
	free(as);
	free(tgs);
}

/* Single-byte corruptions anywhere: a reply, an error or silence; never a crash. */
static void
test_mutations(void **state)
{
	static const uint8_t values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	tkdc *t = *state;
	size_t lens[2];
	uint8_t *reqs[2];

	reqs[0] = alice_as_req(&lens[0]);
	reqs[1] = alice_tgs_req(t, &lens[1]);
	for (size_t r = 0; r < 2; r++) {
		for (size_t i = 0; i < lens[r]; i++) {
			uint8_t saved = reqs[r][i];
			for (size_t v = 0; v < sizeof(values); v++) {
				reqs[r][i] = values[v];
				tkdc_send(t, reqs[r], lens[r]);
				assert_true(reply_kind(t) >= 0);
			}
			reqs[r][i] = saved;
		}
		free(reqs[r]);
	}
}

static void
test_udp_too_big(void **state)
{
	tkdc *t = *state;
	size_t len;
	uint8_t *as = alice_as_req(&len);
	krb_error e;

	t->info.max_reply = 300;
	tkdc_send(t, as, len);
	assert_int_equal(tkdc_error(t, &e), KRB_ERR_RESPONSE_TOO_BIG);
	assert_true(e.has_e_text);
	assert_true(t->rep_len <= 300);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KRB_ERR_RESPONSE_TOO_BIG), 1);
	/* A small reply still fits: PREAUTH_REQUIRED with its hints. */
	{
		der_writer w;
		der_writer_init(&w, W_MAX);
		t_encode_as_req(&(t_as_req){ .client = "alice" }, &w);
		tkdc_send_writer(t, &w);
		der_writer_free(&w);
		assert_int_equal(tkdc_error(t, &e), KDC_ERR_PREAUTH_REQUIRED);
	}
	/* Over TCP the same limit is a hard one: KRB_ERR_GENERIC, never 52. */
	t->info.transport = KDC_TRANSPORT_TCP;
	tkdc_send(t, as, len);
	assert_int_equal(tkdc_error(t, &e), KRB_ERR_GENERIC);
	t->info.max_reply = 65536;
	tkdc_send(t, as, len);
	assert_int_equal(reply_kind(t), KRB_MSG_AS_REP);
	/* Smaller than any KRB-ERROR: nothing is sent. */
	t->info.transport = KDC_TRANSPORT_UDP;
	t->info.max_reply = 20;
	tkdc_send(t, as, len);
	assert_int_equal(t->rep_len, 0);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KDC_RESULT_DROPPED), 1);
	free(as);
}

static void
test_counters(void **state)
{
	tkdc *t = *state;
	size_t len;
	uint8_t *as = alice_as_req(&len), *tgs;

	tkdc_send(t, as, len);
	tkdc_send(t, as, len);          /* the same timestamp again: a replay */
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KRB_AP_ERR_REPEAT), 1);
	free(as);
	as = alice_as_req(&len);
	tkdc_send(t, as, len);
	tgs = alice_tgs_req(t, &len);   /* one more AS exchange inside */
	tkdc_send(t, tgs, len);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, 0), 3);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_TGS, 0), 1);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_TGS, KRB_ERR_GENERIC), 0);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_TYPE_COUNT, 0), 0);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KDC_RESULT_SLOTS), 0);
	assert_string_equal(kdc_req_type_name(KDC_REQ_TGS), "TGS");
	free(as);
	free(tgs);
}

static void
test_needs_worker_ctx(void **state)
{
	tkdc *t = *state;
	kdc_req_info info = t->info;
	size_t rep_len = 99;
	uint8_t req[] = { 0x6a, 0x00 };

	info.worker_ctx = NULL;
	assert_int_equal(kdc_handle(t->k, &info, req, sizeof(req), t->rep, T_REP_CAP, &rep_len),
	    LETHE_ERR_INVALID_ARG);
	assert_int_equal(rep_len, 0);
}

/* A snapshot without alice, generation 8. */
static kdc_snapshot *
snapshot_without_alice(void)
{
	store_realm_policy pol;
	store_principal *list;
	kdc_snapshot *snap;
	size_t n;

	t_realm_principals(&pol, &list, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].name, "alice@" T_REALM) == 0)
			list[i].name[0] = 'A';
	}
	assert_int_equal(kdc_snapshot_build(&pol, list, n, 8, &snap), LETHE_OK);
	t_realm_principals_free(list, n);
	return snap;
}

static void
test_swap(void **state)
{
	tkdc *t = *state;
	size_t len;
	uint8_t *as = alice_as_req(&len);
	krb_error e;

	assert_int_equal(kdc_current_generation(t->k), 7);
	tkdc_send(t, as, len);
	assert_int_equal(reply_kind(t), KRB_MSG_AS_REP);
	kdc_swap_snapshot(t->k, snapshot_without_alice());
	assert_int_equal(kdc_current_generation(t->k), 8);
	tkdc_send(t, as, len);
	assert_int_equal(tkdc_error(t, &e), KDC_ERR_C_PRINCIPAL_UNKNOWN);
	free(as);
}

/* Workers hammering the KDC while snapshots are swapped under them. */
typedef struct hammer {
	tkdc *t;
	const uint8_t *req;
	size_t len;
	atomic_int *bad;
	atomic_bool *stop;
	unsigned long done;
} hammer;

static void *
hammer_run(void *arg)
{
	hammer *h = arg;
	void *wctx;
	lethe_arena arena;
	kdc_req_info info = h->t->info;
	uint8_t *rep = malloc(T_REP_CAP);
	size_t rep_len;

	lethe_arena_init(&arena, 1u << 20);
	if (rep == NULL || kdc_worker_init(h->t->k, 1, &wctx) != LETHE_OK) {
		atomic_fetch_add(h->bad, 1);
		free(rep);
		return NULL;
	}
	info.worker_ctx = wctx;
	info.arena = &arena;
	while (!atomic_load(h->stop) || h->done < 20) {
		if (kdc_handle(h->t->k, &info, h->req, h->len, rep, T_REP_CAP, &rep_len) != LETHE_OK ||
		    rep_len == 0 || (rep[0] != 0x6b && rep[0] != 0x7e))
			atomic_fetch_add(h->bad, 1);
		lethe_arena_reset(&arena);
		h->done++;
	}
	kdc_worker_fini(h->t->k, 1, wctx);
	lethe_arena_free(&arena);
	free(rep);
	return NULL;
}

static void
test_swap_under_load(void **state)
{
	tkdc *t = *state;
	atomic_int bad = 0;
	atomic_bool stop = false;
	hammer h[2];
	pthread_t tid[2];
	size_t len;
	uint8_t *as = alice_as_req(&len);

	for (int i = 0; i < 2; i++) {
		h[i] = (hammer){ t, as, len, &bad, &stop, 0 };
		assert_int_equal(pthread_create(&tid[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 30; i++) {
		store_realm_policy pol;
		store_principal *list;
		kdc_snapshot *snap;
		size_t n;

		t_realm_principals(&pol, &list, &n);
		assert_int_equal(kdc_snapshot_build(&pol, list, n, 100 + (uint64_t)i, &snap),
		    LETHE_OK);
		t_realm_principals_free(list, n);
		kdc_swap_snapshot(t->k, i % 3 == 2 ? snapshot_without_alice() : snap);
		if (i % 3 == 2)
			kdc_snapshot_free(snap);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	assert_int_equal(atomic_load(&bad), 0);
	assert_true(h[0].done >= 20 && h[1].done >= 20);
	free(as);
}

/*
 * Once warm, requests do not grow the heap: the bytes in use after 300
 * more AS and TGS exchanges (replies and errors) are the same. Measured
 * with glibc's mallinfo2, which sanitizer builds do not feed (the check
 * then compares zeros).
 */
static void
test_heap_steady(void **state)
{
	tkdc *t = *state;
	size_t as_lens[400], tgs_len, bad_len;
	uint8_t **as = alice_as_reqs(400, as_lens), *tgs = alice_tgs_req(t, &tgs_len);
	uint8_t *bad = alice_as_req(&bad_len);
	size_t before;

	bad[bad_len - 3] ^= 0x01;       /* an error path too */
	for (int i = 0; i < 100; i++) {
		tkdc_send(t, as[i], as_lens[i]);
		tkdc_send(t, tgs, tgs_len);
		tkdc_send(t, bad, bad_len);
		tkdc_send(t, as[i], as_lens[i]);     /* a replay */
	}
	before = mallinfo2().uordblks;
	for (int i = 100; i < 400; i++) {
		tkdc_send(t, as[i], as_lens[i]);
		tkdc_send(t, tgs, tgs_len);
		tkdc_send(t, bad, bad_len);
		tkdc_send(t, as[i], as_lens[i]);
	}
	assert_int_equal(mallinfo2().uordblks, before);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_TGS, 0), 400);
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, 0), 401);   /* + alice_tgs_req's */
	assert_int_equal(kdc_counter(t->k, KDC_REQ_AS, KRB_AP_ERR_REPEAT), 400);
	free_reqs(as, 400);
	free(tgs);
	free(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_garbage_dropped, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_requests, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_mutations, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_udp_too_big, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_counters, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_needs_worker_ctx, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_swap, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_swap_under_load, tkdc_setup, tkdc_teardown),
		cmocka_unit_test_setup_teardown(test_heap_steady, tkdc_setup, tkdc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
