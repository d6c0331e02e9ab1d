/*
 * Kerberos message decoder fuzz target, compiled once per top-level
 * decoder (fuzz/krb5.cmake defines FUZZ_KRB5_<TYPE>).
 *
 * Each input is decoded into an arena with a budget. When it decodes:
 *   - the decoded value is encoded as is (raw views, if any, verbatim) and
 *     that encoding must decode;
 *   - with the raw views cleared, it is encoded from its fields (e1), e1
 *     must decode, and encoding that again must give e1 byte for byte.
 * Any violation, or an encoder refusing what the decoder accepted, aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "der/der.h"
#include "krb5/krb5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ARENA_BUDGET ((size_t)1 << 20)

#if defined(FUZZ_KRB5_AS_REQ)
typedef krb_kdc_req msg_t;
#define MSG_DECODE krb_decode_as_req
#define MSG_ENCODE krb_encode_as_req
#define MSG_KDC_REQ
#elif defined(FUZZ_KRB5_TGS_REQ)
typedef krb_kdc_req msg_t;
#define MSG_DECODE krb_decode_tgs_req
#define MSG_ENCODE krb_encode_tgs_req
#define MSG_KDC_REQ
#elif defined(FUZZ_KRB5_AS_REP)
typedef krb_kdc_rep msg_t;
#define MSG_DECODE krb_decode_as_rep
#define MSG_ENCODE krb_encode_as_rep
#define MSG_TICKET_FIELD ticket
#elif defined(FUZZ_KRB5_TGS_REP)
typedef krb_kdc_rep msg_t;
#define MSG_DECODE krb_decode_tgs_rep
#define MSG_ENCODE krb_encode_tgs_rep
#define MSG_TICKET_FIELD ticket
#elif defined(FUZZ_KRB5_ENC_KDC_REP_PART)
typedef krb_enc_kdc_rep_part msg_t;      /* EncASRepPart and EncTGSRepPart */
#define MSG_DECODE krb_decode_enc_kdc_rep_part
#define MSG_ENCODE krb_encode_enc_kdc_rep_part
#elif defined(FUZZ_KRB5_TICKET)
typedef krb_ticket msg_t;
#define MSG_DECODE krb_decode_ticket
#define MSG_ENCODE krb_encode_ticket
#define MSG_SELF_RAW
#elif defined(FUZZ_KRB5_ENC_TICKET_PART)
typedef krb_enc_ticket_part msg_t;
#define MSG_DECODE krb_decode_enc_ticket_part
#define MSG_ENCODE krb_encode_enc_ticket_part
#elif defined(FUZZ_KRB5_AP_REQ)
typedef krb_ap_req msg_t;
#define MSG_DECODE krb_decode_ap_req
#define MSG_ENCODE krb_encode_ap_req
#define MSG_TICKET_FIELD ticket
#elif defined(FUZZ_KRB5_AUTHENTICATOR)
typedef krb_authenticator msg_t;
#define MSG_DECODE krb_decode_authenticator
#define MSG_ENCODE krb_encode_authenticator
#elif defined(FUZZ_KRB5_AP_REP)
typedef krb_ap_rep msg_t;
#define MSG_DECODE krb_decode_ap_rep
#define MSG_ENCODE krb_encode_ap_rep
#elif defined(FUZZ_KRB5_ENC_AP_REP_PART)
typedef krb_enc_ap_rep_part msg_t;
#define MSG_DECODE krb_decode_enc_ap_rep_part
#define MSG_ENCODE krb_encode_enc_ap_rep_part
#elif defined(FUZZ_KRB5_KRB_ERROR)
typedef krb_error msg_t;
#define MSG_DECODE krb_decode_krb_error
#define MSG_ENCODE krb_encode_krb_error
#elif defined(FUZZ_KRB5_KRB_SAFE)
typedef krb_safe msg_t;
#define MSG_DECODE krb_decode_krb_safe
#define MSG_ENCODE krb_encode_krb_safe
#define MSG_SAFE_BODY
#elif defined(FUZZ_KRB5_KRB_PRIV)
typedef krb_priv msg_t;
#define MSG_DECODE krb_decode_krb_priv
#define MSG_ENCODE krb_encode_krb_priv
#elif defined(FUZZ_KRB5_ENC_KRB_PRIV_PART)
typedef krb_enc_krb_priv_part msg_t;
#define MSG_DECODE krb_decode_enc_krb_priv_part
#define MSG_ENCODE krb_encode_enc_krb_priv_part
#elif defined(FUZZ_KRB5_PA_ENC_TS_ENC)
typedef krb_pa_enc_ts_enc msg_t;
#define MSG_DECODE krb_decode_pa_enc_ts_enc
#define MSG_ENCODE krb_encode_pa_enc_ts_enc
#elif defined(FUZZ_KRB5_ETYPE_INFO2)
typedef krb_etype_info2 msg_t;
#define MSG_DECODE krb_decode_etype_info2
#define MSG_ENCODE krb_encode_etype_info2
#elif defined(FUZZ_KRB5_METHOD_DATA)
typedef krb_method_data msg_t;
#define MSG_DECODE krb_decode_method_data
#define MSG_ENCODE krb_encode_method_data
#else
#error "define one FUZZ_KRB5_<TYPE> (see fuzz/krb5.cmake)"
#endif

/*
 * Clear the raw views the decoders record (tickets, KDC-REQ-BODY,
 * KRB-SAFE-BODY) so that encoding works from the fields alone.
 */
static void
clear_raw(lethe_arena *a, msg_t *m)
{
	(void)a;
#if defined(MSG_KDC_REQ)
	m->body.raw = (lbytes){ NULL, 0 };
	if (m->body.n_additional_tickets != 0) {
		krb_ticket *copy = lethe_arena_calloc(a, m->body.n_additional_tickets,
						      sizeof(*copy));
		if (copy == NULL)
			abort();    /* the decoder allocated as much from this arena */
		for (size_t i = 0; i < m->body.n_additional_tickets; i++) {
			copy[i] = m->body.additional_tickets[i];
			copy[i].raw = (lbytes){ NULL, 0 };
		}
		m->body.additional_tickets = copy;
	}
#elif defined(MSG_TICKET_FIELD)
	m->MSG_TICKET_FIELD.raw = (lbytes){ NULL, 0 };
#elif defined(MSG_SELF_RAW)
	m->raw = (lbytes){ NULL, 0 };
#elif defined(MSG_SAFE_BODY)
	m->body.raw = (lbytes){ NULL, 0 };
#else
	(void)m;
#endif
}

/* Encode m into w; abort if the encoder refuses a value the decoder gave. */
static lbytes
encode_or_abort(der_writer *w, const msg_t *m)
{
	if (MSG_ENCODE(w, m) != LETHE_OK || der_writer_status(w) != LETHE_OK)
		abort();
	return der_written(w);
}

/* Decode enc (an encoding made by the encoder) into *m or abort. */
static void
decode_or_abort(lethe_arena *a, lbytes enc, msg_t *m)
{
	if (MSG_DECODE(a, enc.data, enc.len, m) != LETHE_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lethe_arena arena, arena2;
	der_writer w0, w1, w2;
	msg_t m, again;
	lbytes e0, e1, e2;
	/* Encodings may grow (a 0-bit BIT STRING comes back with 32 bits). */
	size_t max_out;

	if (size > ((size_t)1 << 24))
		return 0;
	max_out = 16 * size + 4096;
	lethe_arena_init(&arena, FUZZ_ARENA_BUDGET);
	lethe_arena_init(&arena2, FUZZ_ARENA_BUDGET);
	der_writer_init(&w0, max_out);
	der_writer_init(&w1, max_out);
	der_writer_init(&w2, max_out);
	memset(&m, 0, sizeof(m));
	if (MSG_DECODE(&arena, data, size, &m) != LETHE_OK)
		goto done;

	/* As decoded, raw views verbatim. */
	e0 = encode_or_abort(&w0, &m);
	decode_or_abort(&arena2, e0, &again);
	lethe_arena_reset(&arena2);

	/* From the fields: e1 must decode and encode to itself. */
	clear_raw(&arena, &m);
	e1 = encode_or_abort(&w1, &m);
	memset(&again, 0, sizeof(again));
	decode_or_abort(&arena2, e1, &again);
	clear_raw(&arena2, &again);
	e2 = encode_or_abort(&w2, &again);
	if (!lbytes_eq(e1, e2))
		abort();
done:
	der_writer_free(&w2);
	der_writer_free(&w1);
	der_writer_free(&w0);
	lethe_arena_free(&arena2);
	lethe_arena_free(&arena);
	return 0;
}
