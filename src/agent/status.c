/* lethe-agent: the status report (text or JSON). */
#include "agent/agent.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* s as a JSON string. */
static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* t as "YYYY-MM-DDTHH:MM:SSZ", or "-" for 0. */
static const char *
time_text(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

static void
print_key(FILE *out, bool json, bool first, const char *name, const kt_entry *e,
    const agent_key_rec *r)
{
	char b1[32], b2[32], b3[32];

	if (json) {
		fprintf(out, "%s\n    {\"principal\": ", first ? "" : ",");
		json_str(out, name);
		fprintf(out, ", \"kvno\": %" PRIu32 ", \"enctype\": %" PRId32
		    ", \"managed\": %s", e->kvno, e->enctype, r ? "true" : "false");
		if (r != NULL)
			fprintf(out, ", \"created\": %" PRId64 ", \"use_until\": %" PRId64
			    ", \"accept_until\": %" PRId64, r->created, r->use_until,
			    r->accept_until);
		fputc('}', out);
		return;
	}
	if (r == NULL)
		fprintf(out, "  %s kvno %" PRIu32 " enctype %" PRId32 " (not made by "
		    "the agent: left alone)\n", name, e->kvno, e->enctype);
	else
		fprintf(out, "  %s kvno %" PRIu32 " enctype %" PRId32 " created %s "
		    "use_until %s accept_until %s\n", name, e->kvno, e->enctype,
		    time_text(r->created, b1, sizeof(b1)),
		    time_text(r->use_until, b2, sizeof(b2)),
		    time_text(r->accept_until, b3, sizeof(b3)));
}

static lethe_status
print_keys(FILE *out, bool json, const agent_config *cfg, agent_state *st)
{
	kt_keytab *kt = NULL;
	lethe_status rc = agent_keytab_load(cfg->keytab, &kt);

	if (rc != LETHE_OK)
		return rc;
	if (!json)
		fprintf(out, "keytab %s: %zu keys\n", cfg->keytab, kt_count(kt));
	for (size_t i = 0; i < kt_count(kt); i++) {
		const kt_entry *e = kt_entry_at(kt, i);
		char *name = NULL;

		if (kt_principal_unparse(&e->principal, &name) != LETHE_OK) {
			rc = LETHE_ERR_NOMEM;
			break;
		}
		print_key(out, json, i == 0, name, e,
		    agent_state_find_key(st, name, e->kvno));
		free(name);
	}
	kt_free(kt);
	return rc;
}

static void
print_reg(FILE *out, bool json, bool first, const agent_config *cfg, size_t k,
    size_t p, const agent_reg_rec *r)
{
	char b1[32], b2[32], b3[32];

	if (json) {
		fprintf(out, "%s\n    {\"kdc\": ", first ? "" : ",");
		json_str(out, cfg->kdcs[k].name);
		fprintf(out, ", \"principal\": ");
		json_str(out, cfg->principals[p]);
		fprintf(out, ", \"kvno\": %" PRIu32 ", \"registered\": %s, "
		    "\"registered_kvno\": %" PRIu32 ", \"result\": %d, "
		    "\"result_name\": \"%s\", \"text\": ", r->kvno,
		    r->done ? "true" : "false", r->ok_kvno, r->result,
		    agent_result_name(r->result));
		json_str(out, r->text);
		fprintf(out, ", \"failures\": %" PRIu32 ", \"last_attempt\": %" PRId64
		    ", \"last_success\": %" PRId64 ", \"next_attempt\": %" PRId64 "}",
		    r->failures, r->last_attempt, r->last_ok,
		    r->done ? 0 : r->next_attempt);
		return;
	}
	fprintf(out, "  kdc %s %s: kvno %" PRIu32 " %s; last %s (%s) at %s; last "
	    "success kvno %" PRIu32 " at %s", cfg->kdcs[k].name, cfg->principals[p],
	    r->kvno, r->done ? "registered" : "pending", agent_result_name(r->result),
	    r->text, time_text(r->last_attempt, b1, sizeof(b1)), r->ok_kvno,
	    time_text(r->last_ok, b2, sizeof(b2)));
	if (!r->done && r->kvno != 0)
		fprintf(out, "; %" PRIu32 " failures, next attempt %s", r->failures,
		    time_text(r->next_attempt, b3, sizeof(b3)));
	fputc('\n', out);
}

lethe_status
agent_status_print(const agent_config *cfg, bool json, FILE *out)
{
	agent_state st;
	lethe_status rc;
	bool first = true;

	GUARD(agent_state_load(cfg, &st));
	if (json)
		fprintf(out, "{\"now\": %lld, \"keytab\": ", (long long)time(NULL));
	if (json) {
		json_str(out, cfg->keytab);
		fprintf(out, ",\n  \"keys\": [");
	}
	rc = print_keys(out, json, cfg, &st);
	if (rc == LETHE_OK) {
		fprintf(out, json ? "],\n  \"registrations\": [" : "registrations:\n");
		for (size_t k = 0; k < cfg->nkdcs; k++)
			for (size_t p = 0; p < cfg->nprincipals; p++, first = false)
				print_reg(out, json, first, cfg, k, p, &st.reg[k][p]);
		if (json)
			fprintf(out, "]}\n");
	}
	agent_state_free(&st);
	return rc;
}
