/* lethe-agent: rotation, the registration schedule and pruning. */
#include "agent/agent.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "registrar/registrar.h"

/*
 * The name of an agent result: one of AGENT_RESULT_* below zero, otherwise
 * the registrar's reg_result name ("UNKNOWN" when out of range).
 */
const char *
agent_result_name(int result)
{
	switch (result) {
	case AGENT_RESULT_NONE:
		return "NONE";
	case AGENT_RESULT_NO_REPLY:
		return "NO_REPLY";
	case AGENT_RESULT_BAD_REPLY:
		return "BAD_REPLY";
	case AGENT_RESULT_LOCAL:
		return "LOCAL";
	default:
		return reg_result_str(result);
	}
}

static int64_t
system_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static uint32_t
system_random(void *arg)
{
	uint8_t b[4] = { 0 };

	(void)arg;
	if (kc_random_bytes(b, sizeof(b)) != LETHE_OK)
		return 0;
	return lethe_load_be32(b);
}

agent_env
agent_env_system(void)
{
	agent_env env = { system_now, system_random, NULL, NULL };

	return env;
}

int64_t
agent_backoff(uint32_t failures, int64_t cap, uint32_t rnd)
{
	int64_t delay = 1;

	if (cap < 1)
		cap = 1;
	for (uint32_t i = 1; i < failures && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	return delay - (int64_t)(rnd % (uint64_t)(delay / 2 + 1));
}

static int64_t
now(const agent *a)
{
	return a->env.now(a->env.arg);
}

/* The record of the newest key of principal p, or NULL. */
static const agent_key_rec *
newest_key(const agent *a, size_t p)
{
	const agent_key_rec *best = NULL;

	for (size_t i = 0; i < a->st.nkeys; i++) {
		const agent_key_rec *r = &a->st.keys[i];

		if (strcmp(r->principal, a->cfg.principals[p]) == 0 &&
		    (best == NULL || r->kvno > best->kvno))
			best = r;
	}
	return best;
}

/* Point every registration of p at its newest key; pending ones are due now. */
static void
sync_registrations(agent *a, int64_t t)
{
	for (size_t p = 0; p < a->cfg.nprincipals; p++) {
		const agent_key_rec *nk = newest_key(a, p);

		for (size_t k = 0; k < a->cfg.nkdcs; k++) {
			agent_reg_rec *r = &a->st.reg[k][p];

			if (nk == NULL)
				continue;
			if (r->kvno != nk->kvno) {
				r->kvno = nk->kvno;
				r->done = r->ok_kvno == nk->kvno;
			}
			if (!r->done)
				r->next_attempt = t;
		}
	}
}

lethe_status
agent_open(agent *a, const agent_config *cfg, const agent_env *env)
{
	lethe_status rc;

	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	a->env = *env;
	ENSURE(a->env.now != NULL && a->env.random != NULL &&
	    a->env.register_keys != NULL, LETHE_ERR_INVALID_ARG);
	for (size_t p = 0; p < cfg->nprincipals; p++) {
		rc = kt_principal_parse(cfg->principals[p], strlen(cfg->principals[p]),
		    NULL, &a->principals[p]);
		if (rc != LETHE_OK) {
			agent_close(a);
			return rc;
		}
	}
	rc = agent_state_load(cfg, &a->st);
	if (rc != LETHE_OK) {
		agent_close(a);
		return rc;
	}
	sync_registrations(a, now(a));
	return LETHE_OK;
}

void
agent_close(agent *a)
{
	for (size_t p = 0; p < AGENT_MAX_PRINCIPALS; p++)
		kt_principal_clear(&a->principals[p]);
	agent_state_free(&a->st);
}

/* Forget the record of (principal, kvno) in memory. */
static void
drop_key_rec(agent_state *st, const char *principal, uint32_t kvno)
{
	for (size_t i = 0; i < st->nkeys; i++) {
		if (st->keys[i].kvno == kvno &&
		    strcmp(st->keys[i].principal, principal) == 0) {
			st->keys[i] = st->keys[st->nkeys - 1];
			st->nkeys--;
			return;
		}
	}
}

static void
log_rotation(const agent *a, size_t p, const agent_key_rec *rec, bool answers)
{
	log_event ev;
	char list[64] = "";
	size_t used = 0;

	for (size_t i = 0; i < a->cfg.nenctypes && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%d",
		    i ? "," : "", (int)a->cfg.enctypes[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	log_event_begin(&ev, "rotate");
	log_event_str(&ev, "principal", a->cfg.principals[p]);
	log_event_uint(&ev, "kvno", rec->kvno);
	log_event_str(&ev, "enctypes", list);
	log_event_int(&ev, "use_until", rec->use_until);
	log_event_int(&ev, "accept_until", rec->accept_until);
	log_event_str(&ev, "key_request", answers ? "yes" : "no");
	log_event_emit(&ev, LETHE_LOG_INFO);
}

/* Record the key, then write it to the keytab; undo the record on failure. */
static lethe_status
write_new_key(agent *a, size_t p, const agent_key_rec *rec)
{
	kt_keytab *kt = NULL;
	lethe_status rc;

	GUARD(agent_state_add_key(&a->st, rec));
	GUARD_GOTO(rc, agent_state_save_keys(&a->cfg, &a->st));
	GUARD_GOTO(rc, agent_keytab_load(a->cfg.keytab, &kt));
	GUARD_GOTO(rc, agent_keytab_add_fresh(kt, &a->principals[p], rec->kvno,
	    a->cfg.enctypes, a->cfg.nenctypes, (uint32_t)rec->created));
	rc = kt_save_owned(kt, a->cfg.keytab, a->cfg.keytab_uid,
	    a->cfg.keytab_gid);
cleanup:
	kt_free(kt);
	if (rc != LETHE_OK) {
		/* The kvno stays used; only the windows are forgotten. */
		drop_key_rec(&a->st, rec->principal, rec->kvno);
		(void)agent_state_save_keys(&a->cfg, &a->st);
	}
	return rc;
}

lethe_status
agent_rotate(agent *a, size_t p, const uint8_t *answers, size_t kdc_from,
    uint32_t *kvno_out)
{
	agent_key_rec rec;
	kt_keytab *kt = NULL;
	int64_t t = now(a);
	lethe_status rc;

	ENSURE(p < a->cfg.nprincipals && t >= 0, LETHE_ERR_INVALID_ARG);
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.principal, a->cfg.principals[p], sizeof(rec.principal));
	GUARD(agent_keytab_load(a->cfg.keytab, &kt));
	rc = agent_kvno_next(&a->st, kt, &a->principals[p], rec.principal, &rec.kvno);
	kt_free(kt);
	GUARD(rc);
	rec.created = t;
	rec.use_until = t + a->cfg.rotation + a->cfg.overlap;
	rec.accept_until = rec.use_until + a->cfg.max_ticket_life;
	GUARD(write_new_key(a, p, &rec));
	for (size_t k = 0; k < a->cfg.nkdcs; k++) {
		agent_reg_rec *r = &a->st.reg[k][p];

		r->kvno = rec.kvno;
		r->done = false;
		r->uncertain = false;
		r->next_attempt = t;
		if (answers != NULL && (kdc_from == SIZE_MAX || kdc_from == k)) {
			memcpy(r->answers, answers, AGENT_NONCE_LEN);
			r->have_answers = true;
		}
	}
	a->rotate_failures[p] = 0;
	a->rotate_after[p] = 0;
	log_rotation(a, p, &rec, answers != NULL);
	if (kvno_out != NULL)
		*kvno_out = rec.kvno;
	return LETHE_OK;
}

/* The keys of (p, kvno) from the keytab at hand, borrowed into in. */
static lethe_status
collect_keys(const agent *a, size_t p, uint32_t kvno, const kt_keytab *kt,
    agent_reg_input *in)
{
	in->nkeys = 0;
	for (size_t i = 0; i < a->cfg.nenctypes; i++) {
		const kt_entry *e = NULL;

		if (kt_find(kt, &a->principals[p], kvno, a->cfg.enctypes[i], &e) !=
		    LETHE_OK)
			continue;
		in->keys[in->nkeys].enctype = e->enctype;
		in->keys[in->nkeys].key = kt_buf_view(e->key);
		in->nkeys++;
	}
	return in->nkeys > 0 ? LETHE_OK : LETHE_ERR_NOT_FOUND;
}

static void
log_registration(const agent *a, size_t k, size_t p, const agent_reg_rec *r)
{
	log_event ev;

	log_event_begin(&ev, "register");
	log_event_str(&ev, "kdc", a->cfg.kdcs[k].name);
	log_event_str(&ev, "principal", a->cfg.principals[p]);
	log_event_uint(&ev, "kvno", r->kvno);
	log_event_str(&ev, "result", agent_result_name(r->result));
	log_event_int(&ev, "code", r->result);
	log_event_str(&ev, "text", r->text);
	log_event_uint(&ev, "failures", r->failures);
	if (!r->done)
		log_event_int(&ev, "next_attempt", r->next_attempt);
	log_event_emit(&ev, r->done ? LETHE_LOG_INFO : LETHE_LOG_WARN);
}

/* Ask the register function; out describes every outcome. */
static void
call_register(agent *a, size_t k, size_t p, agent_key_rec *kr, agent_reg_output *out)
{
	agent_reg_rec *r = &a->st.reg[k][p];
	agent_reg_input in;
	kt_keytab *kt = NULL;

	memset(&in, 0, sizeof(in));
	memset(out, 0, sizeof(*out));
	out->result = AGENT_RESULT_LOCAL;
	if (kr == NULL) {
		snprintf(out->text, sizeof(out->text), "no record of kvno %u",
		    (unsigned)r->kvno);
		return;
	}
	if (agent_keytab_load(a->cfg.keytab, &kt) != LETHE_OK ||
	    collect_keys(a, p, r->kvno, kt, &in) != LETHE_OK) {
		snprintf(out->text, sizeof(out->text), "keys of kvno %u not in the "
		    "keytab", (unsigned)r->kvno);
		kt_free(kt);
		return;
	}
	in.principal = &a->principals[p];
	in.principal_name = a->cfg.principals[p];
	in.kvno = r->kvno;
	in.use_until = kr->use_until;
	in.accept_until = kr->accept_until;
	in.answers = r->have_answers ? r->answers : NULL;
	in.callback = a->cfg.have_callback ? a->cfg.callback_endpoint : NULL;
	a->env.register_keys(a->env.arg, &a->cfg.kdcs[k], &in, out);
	kt_free(kt);    /* wipes the keys */
}

static void
record_success(agent *a, agent_reg_rec *r, agent_key_rec *kr,
    const agent_reg_output *out, int64_t t)
{
	r->done = true;
	r->uncertain = false;
	r->have_answers = false;
	r->ok_kvno = r->kvno;
	r->failures = 0;
	r->last_ok = t;
	r->next_attempt = 0;
	/* A KDC may use the key as long as it granted: keep it that long. */
	if (kr != NULL && out->granted_accept_until > kr->accept_until) {
		kr->accept_until = out->granted_accept_until;
		if (agent_state_save_keys(&a->cfg, &a->st) != LETHE_OK)
			log_warnx("cannot write %s/keys", a->cfg.state_dir);
	}
}

int64_t
agent_urgent_from(const agent_config *cfg, const agent_key_rec *accepted)
{
	if (accepted == NULL)
		return INT64_MIN;
	return accepted->use_until - cfg->overlap / 2;
}

/*
 * When the registration of p at KDC k becomes urgent: the KDC's newest
 * accepted key of ours ends soon (agent_urgent_from); a key already pruned
 * or none ever accepted: now.
 */
static int64_t
urgent_from(agent *a, size_t k, size_t p)
{
	const agent_reg_rec *r = &a->st.reg[k][p];

	return agent_urgent_from(&a->cfg, r->ok_kvno == 0 ? NULL :
	    agent_state_find_key(&a->st, a->cfg.principals[p], r->ok_kvno));
}

int64_t
agent_retry_at(const agent_config *cfg, uint32_t failures, int result, int64_t t,
    int64_t urgent, uint32_t rnd)
{
	int64_t cap = cfg->rotation, at;

	if (t >= urgent)
		cap = result == AGENT_RESULT_NO_REPLY || result == REG_INTERNAL ||
		    result == REG_TRY_LATER ? AGENT_URGENT_RETRY :
		    AGENT_URGENT_RETRY_REFUSED;
	if (cap > cfg->rotation)
		cap = cfg->rotation;
	at = t + agent_backoff(failures, cap, rnd);
	/* A backoff begun early never sleeps past the moment it turns urgent. */
	if (t < urgent && at > urgent)
		at = urgent;
	return at;
}

static void
record_failure(agent *a, size_t k, size_t p, const agent_reg_output *out, int64_t t)
{
	agent_reg_rec *r = &a->st.reg[k][p];

	/* The request may have been stored though we saw no good reply. */
	if (out->result == AGENT_RESULT_NO_REPLY || out->result == AGENT_RESULT_BAD_REPLY)
		r->uncertain = true;
	if (r->failures < UINT32_MAX)
		r->failures++;
	r->next_attempt = agent_retry_at(&a->cfg, r->failures, out->result, t,
	    urgent_from(a, k, p), a->env.random(a->env.arg));
}

/* One attempt for KDC k and principal p. True when it succeeded. */
static bool
attempt(agent *a, size_t k, size_t p)
{
	agent_reg_rec *r = &a->st.reg[k][p];
	agent_key_rec *kr = agent_state_find_key(&a->st, a->cfg.principals[p], r->kvno);
	agent_reg_output out;
	int64_t t = now(a);

	call_register(a, k, p, kr, &out);
	out.text[sizeof(out.text) - 1] = '\0';
	/* Our earlier request got through though its reply was lost. */
	if (out.result == REG_KVNO_EXISTS && r->uncertain) {
		out.result = AGENT_RESULT_OK;
		snprintf(out.text, sizeof(out.text), "already registered "
		    "(an earlier reply was lost)");
	}
	r->last_attempt = t;
	r->result = out.result;
	memcpy(r->text, out.text, sizeof(r->text));
	if (out.result == AGENT_RESULT_OK)
		record_success(a, r, kr, &out, t);
	else
		record_failure(a, k, p, &out, t);
	if (agent_state_save_kdc(&a->cfg, &a->st, k) != LETHE_OK)
		log_warnx("cannot write the state of kdc %s in %s", a->cfg.kdcs[k].name,
		    a->cfg.state_dir);
	log_registration(a, k, p, r);
	return r->done;
}

lethe_status
agent_register_due(agent *a, bool force, size_t *failed)
{
	size_t nfailed = 0;

	for (size_t k = 0; k < a->cfg.nkdcs; k++) {
		for (size_t p = 0; p < a->cfg.nprincipals; p++) {
			agent_reg_rec *r = &a->st.reg[k][p];

			if (r->done || r->kvno == 0 ||
			    (!force && r->next_attempt > now(a)))
				continue;
			if (!attempt(a, k, p))
				nfailed++;
		}
	}
	if (failed != NULL)
		*failed = nfailed;
	return LETHE_OK;
}

/* Remove expired keys of the state from kt; how many kvnos in *n. */
static lethe_status
prune_keytab(agent *a, int64_t t, kt_keytab *kt, size_t *n)
{
	kt_principal pr = { 0 };

	*n = 0;
	for (size_t i = 0; i < a->st.nkeys; i++) {
		const agent_key_rec *r = &a->st.keys[i];

		if (r->accept_until > t)
			continue;
		GUARD(kt_principal_parse(r->principal, strlen(r->principal), NULL, &pr));
		lethe_status rc = kt_remove_kvno(kt, &pr, r->kvno, NULL);
		kt_principal_clear(&pr);
		GUARD(rc);
		(*n)++;
	}
	return LETHE_OK;
}

static void
log_prune(const agent_key_rec *r)
{
	log_event ev;

	log_event_begin(&ev, "prune");
	log_event_str(&ev, "principal", r->principal);
	log_event_uint(&ev, "kvno", r->kvno);
	log_event_int(&ev, "accept_until", r->accept_until);
	log_event_emit(&ev, LETHE_LOG_INFO);
}

lethe_status
agent_prune(agent *a, size_t *removed)
{
	kt_keytab *kt = NULL;
	int64_t t = now(a);
	size_t n = 0;
	lethe_status rc;

	if (removed != NULL)
		*removed = 0;
	GUARD(agent_keytab_load(a->cfg.keytab, &kt));
	GUARD_GOTO(rc, prune_keytab(a, t, kt, &n));
	if (n == 0)
		goto cleanup;
	/* Keytab first: a key forgotten by the state but left in the keytab
	 * would never be pruned. The kvno lines keep every kvno used. */
	GUARD_GOTO(rc, kt_save_owned(kt, a->cfg.keytab, a->cfg.keytab_uid,
	    a->cfg.keytab_gid));
	for (size_t i = a->st.nkeys; i-- > 0;) {
		if (a->st.keys[i].accept_until <= t) {
			log_prune(&a->st.keys[i]);
			a->st.keys[i] = a->st.keys[a->st.nkeys - 1];
			a->st.nkeys--;
		}
	}
	GUARD_GOTO(rc, agent_state_save_keys(&a->cfg, &a->st));
	if (removed != NULL)
		*removed = n;
cleanup:
	kt_free(kt);
	return rc;
}

/* True when principal p needs a new key at t. */
static bool
rotation_due(const agent *a, size_t p, int64_t t)
{
	const agent_key_rec *nk = newest_key(a, p);

	if (a->rotate_after[p] > t)
		return false;
	/* A clock set back by more than a period also rotates. */
	return nk == NULL || nk->created + a->cfg.rotation <= t ||
	    nk->created > t + a->cfg.rotation;
}

lethe_status
agent_step(agent *a)
{
	lethe_status first = LETHE_OK, rc;
	int64_t t = now(a);

	for (size_t p = 0; p < a->cfg.nprincipals; p++) {
		if (!rotation_due(a, p, t))
			continue;
		rc = agent_rotate(a, p, NULL, SIZE_MAX, NULL);
		if (rc == LETHE_OK)
			continue;
		log_warnx("event=rotate principal=%s error=\"%s\"",
		    a->cfg.principals[p], lethe_status_str(rc));
		if (a->rotate_failures[p] < UINT32_MAX)
			a->rotate_failures[p]++;
		a->rotate_after[p] = t + agent_backoff(a->rotate_failures[p],
		    a->cfg.rotation, a->env.random(a->env.arg));
		if (first == LETHE_OK)
			first = rc;
	}
	GUARD(agent_register_due(a, false, NULL));
	if (a->prune_after > t)
		return first;
	rc = agent_prune(a, NULL);
	if (rc != LETHE_OK) {
		log_warnx("event=prune error=\"%s\"", lethe_status_str(rc));
		if (a->prune_failures < UINT32_MAX)
			a->prune_failures++;
		a->prune_after = t + agent_backoff(a->prune_failures, a->cfg.rotation,
		    a->env.random(a->env.arg));
		if (first == LETHE_OK)
			first = rc;
	} else {
		a->prune_failures = 0;
		a->prune_after = 0;
	}
	return first;
}

int64_t
agent_next_wakeup(const agent *a)
{
	int64_t next = INT64_MAX;

	for (size_t p = 0; p < a->cfg.nprincipals; p++) {
		const agent_key_rec *nk = newest_key(a, p);
		int64_t due = nk == NULL ? 0 : nk->created + a->cfg.rotation;

		if (a->rotate_after[p] > due)
			due = a->rotate_after[p];
		if (due < next)
			next = due;
		for (size_t k = 0; k < a->cfg.nkdcs; k++) {
			const agent_reg_rec *r = &a->st.reg[k][p];

			if (!r->done && r->kvno != 0 && r->next_attempt < next)
				next = r->next_attempt;
		}
	}
	for (size_t i = 0; i < a->st.nkeys; i++) {
		int64_t due = a->st.keys[i].accept_until;

		if (a->prune_after > due)
			due = a->prune_after;
		if (due < next)
			next = due;
	}
	return next;
}
