/*
 * lethe-admin: who may register temporary keys (trust, allow, reg-policy),
 * per-service ticket policy (service-policy) and the agents table.
 */
#include "admin/admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/conf.h"
#include "registrar/registrar.h"
#include "registrar/service.h"

static int
usage_err(const char *text)
{
	admin_err("usage: %s", text);
	return ADMIN_EXIT_USAGE;
}

/* "on" / "off" into *out. */
static int
parse_on_off(const char *flag, const char *text, bool *out)
{
	if (strcmp(text, "on") == 0)
		*out = true;
	else if (strcmp(text, "off") == 0)
		*out = false;
	else {
		admin_err("%s: say on or off, not '%s'", flag, text);
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

/* Open the store, and canonicalise name into *canon when name != NULL. */
static int
open_with_name(admin_ctx *ctx, const char *name, char **canon)
{
	kt_principal p;
	int ex = admin_open_store(ctx);

	if (ex != ADMIN_EXIT_OK || name == NULL)
		return ex;
	memset(&p, 0, sizeof(p));
	ex = admin_parse_name(ctx, name, &p, canon);
	if (ex == ADMIN_EXIT_OK)
		kt_principal_clear(&p);
	return ex;
}

/* ------------------------------------------------------------ trust */

static int
trust_add(admin_ctx *ctx, const char *name, const char *file)
{
	char *pem = NULL, *ca = NULL;
	lethe_status rc;
	int ex;

	rc = admin_read_pem_file(file, &pem);
	if (rc != LETHE_OK) {
		admin_err("trust add: %s: %s", file, rc == LETHE_ERR_IO ?
		    strerror(errno) : lethe_status_str(rc));
		return ADMIN_EXIT_USAGE;
	}
	rc = admin_pem_check_ca(pem, &ca);
	free(pem);
	if (rc != LETHE_OK) {
		admin_err("trust add: %s: %s", file, rc == LETHE_ERR_INVALID_ARG ?
		    "not a CA certificate" : "no PEM certificate in it");
		return ADMIN_EXIT_USAGE;
	}
	ex = admin_open_store(ctx);
	if (ex == ADMIN_EXIT_OK) {
		rc = store_anchor_add(ctx->st, name, lbytes_make(ca, strlen(ca)));
		ex = rc == LETHE_OK ? ADMIN_EXIT_OK :
		    admin_store_fail(ctx, rc, "trust add");
	}
	if (ex == ADMIN_EXIT_OK && ctx->json) {
		printf("{\"trust_anchor\":");
		json_string(stdout, name);
		printf(",\"added\":true}\n");
	} else if (ex == ADMIN_EXIT_OK)
		printf("trust anchor %s added\n", name);
	free(ca);
	return ex;
}

static void
print_anchors(const admin_ctx *ctx, const store_anchors *al)
{
	char subject[512], t[32];

	if (ctx->json)
		printf("[");
	for (size_t i = 0; i < al->count; i++) {
		const store_anchor *a = &al->entries[i];

		admin_pem_subject(a->cert_pem, subject, sizeof(subject));
		if (!ctx->json) {
			printf("%s\t%s\tadded %s\n", a->name, subject,
			    admin_time(a->added_at, t, sizeof(t)));
			continue;
		}
		printf("%s{\"name\":", i ? "," : "");
		json_string(stdout, a->name);
		printf(",\"subject\":");
		json_string(stdout, subject);
		printf(",\"added_at\":%lld}", (long long)a->added_at);
	}
	if (ctx->json)
		printf("]\n");
}

static int
trust_list(admin_ctx *ctx)
{
	store_anchors *al = NULL;
	lethe_status rc;
	int ex = admin_open_store(ctx);

	if (ex != ADMIN_EXIT_OK)
		return ex;
	rc = store_anchor_list(ctx->st, &al);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "trust list");
	print_anchors(ctx, al);
	store_anchors_free(al);
	return ADMIN_EXIT_OK;
}

static int
trust_remove(admin_ctx *ctx, const char *name)
{
	lethe_status rc;
	int ex = admin_open_store(ctx);

	if (ex != ADMIN_EXIT_OK)
		return ex;
	rc = store_anchor_remove(ctx->st, name);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "trust remove");
	if (!ctx->json)
		printf("trust anchor %s removed\n", name);
	return ADMIN_EXIT_OK;
}

int
cmd_trust(admin_ctx *ctx, int argc, char **argv)
{
	static const char use[] =
	    "trust add NAME PEMFILE | trust list | trust remove NAME";

	admin_take_json(ctx, &argc, argv);
	if (argc == 4 && strcmp(argv[1], "add") == 0)
		return trust_add(ctx, argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return trust_list(ctx);
	if (argc == 3 && strcmp(argv[1], "remove") == 0)
		return trust_remove(ctx, argv[2]);
	return usage_err(use);
}

/* ------------------------------------------------------------ allow */

static void
print_rules(const admin_ctx *ctx, const store_reg_rules *rl)
{
	if (ctx->json)
		printf("[");
	for (size_t i = 0; i < rl->count; i++) {
		const store_reg_rule *r = &rl->entries[i];
		const char *kind = store_identity_kind_name(r->kind);
		const char *cur = r->callbacks != NULL ? r->callbacks : "";

		if (!ctx->json) {
			printf("%lld\t%s\t%s\t%s", (long long)r->id, kind, r->identity,
			    r->pattern);
			if (*cur != '\0')
				printf("\tcallbacks %s", cur);
			printf("\n");
			continue;
		}
		printf("%s{\"id\":%lld,\"kind\":\"%s\",\"identity\":", i ? "," : "",
		    (long long)r->id, kind);
		json_string(stdout, r->identity);
		printf(",\"pattern\":");
		json_string(stdout, r->pattern);
		printf(",\"callbacks\":[");
		for (bool first = true; *cur != '\0'; first = false) {
			char entry[STORE_CALLBACK_ENTRY_MAX];
			size_t n = strcspn(cur, " ");

			snprintf(entry, sizeof(entry), "%.*s", (int)n, cur);
			printf("%s", first ? "" : ",");
			json_string(stdout, entry);
			cur += n;
			cur += strspn(cur, " ");
		}
		printf("]}");
	}
	if (ctx->json)
		printf("]\n");
}

static int
allow_list(admin_ctx *ctx)
{
	store_reg_rules *rl = NULL;
	lethe_status rc;
	int ex = admin_open_store(ctx);

	if (ex != ADMIN_EXIT_OK)
		return ex;
	rc = store_reg_rule_list(ctx->st, &rl);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "allow list");
	print_rules(ctx, rl);
	store_reg_rules_free(rl);
	return ADMIN_EXIT_OK;
}

static int
allow_remove(admin_ctx *ctx, const char *text)
{
	char *end = NULL;
	long long id;
	lethe_status rc;
	int ex;

	errno = 0;
	id = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || id <= 0) {
		admin_err("allow remove: '%s' is not a rule id", text);
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_reg_rule_remove(ctx->st, id);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "allow remove");
	if (!ctx->json)
		printf("rule %lld removed\n", id);
	return ADMIN_EXIT_OK;
}

enum { OPT_CALLBACK = 256 };

/* Append one --callback value, canonical, to list (cap bytes, blank-separated). */
static int
add_callback(const char *text, char *list, size_t cap)
{
	char host[STORE_CALLBACK_HOST_MAX];
	size_t off = strlen(list);
	uint16_t port = 0;
	int n;

	if (store_callback_parse(text, host, &port) != LETHE_OK) {
		admin_err("allow --callback: '%s' is not a numeric address with an optional "
		    "port (192.0.2.7, 192.0.2.7:8888, [2001:db8::7]:8888); the KDC never "
		    "resolves a callback's name", text);
		return ADMIN_EXIT_USAGE;
	}
	n = port != 0 ? snprintf(list + off, cap - off, "%s%s:%u", off ? " " : "", host,
	    (unsigned)port) : snprintf(list + off, cap - off, "%s%s", off ? " " : "", host);
	if (n < 0 || (size_t)n >= cap - off) {
		admin_err("allow --callback: at most %u callback hosts per rule",
		    STORE_MAX_RULE_CALLBACKS);
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

static int
allow_add(admin_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, STORE_ID_SUBJECT },
		{ "san", required_argument, NULL, STORE_ID_SAN },
		{ "spki", required_argument, NULL, STORE_ID_SPKI },
		{ "callback", required_argument, NULL, OPT_CALLBACK },
		{ NULL, 0, NULL, 0 },
	};
	static const char use[] = "allow --subject DN | --san TYPE:VALUE | --spki HEX "
	    "[--callback HOST[:PORT]]... PATTERN (one identity)";
	char callbacks[STORE_MAX_RULE_CALLBACKS_LEN];
	enum store_identity_kind kind = 0;
	const char *identity = NULL;
	int64_t id = 0;
	lethe_status rc;
	int c, ex;

	callbacks[0] = '\0';
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_CALLBACK) {
			if ((ex = add_callback(optarg, callbacks, sizeof(callbacks))) !=
			    ADMIN_EXIT_OK)
				return ex;
			continue;
		}
		if (c < STORE_ID_SUBJECT || c > STORE_ID_SPKI || identity != NULL)
			return usage_err(use);
		kind = (enum store_identity_kind)c;
		identity = optarg;
	}
	if (identity == NULL || optind + 1 != argc)
		return usage_err(use);
	if (kind == STORE_ID_SAN && !reg_san_identity_typed(identity)) {
		admin_err("allow --san: write the SAN's type and value, TYPE:VALUE "
		    "(dns:host.example, principal:svc/host@REALM, email:, uri:, ip:), "
		    "not '%s'", identity);
		return ADMIN_EXIT_USAGE;
	}
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_reg_rule_add_callbacks(ctx->st, kind, identity, argv[optind],
	    callbacks, &id);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "allow");
	if (ctx->json)
		printf("{\"id\":%lld}\n", (long long)id);
	else if (callbacks[0] != '\0')
		printf("rule %lld: %s may register for %s, callbacks to %s\n",
		    (long long)id, identity, argv[optind], callbacks);
	else
		printf("rule %lld: %s may register for %s\n", (long long)id,
		    identity, argv[optind]);
	return ADMIN_EXIT_OK;
}

int
cmd_allow(admin_ctx *ctx, int argc, char **argv)
{
	admin_take_json(ctx, &argc, argv);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return allow_list(ctx);
	if (argc == 3 && strcmp(argv[1], "remove") == 0)
		return allow_remove(ctx, argv[2]);
	return allow_add(ctx, argc, argv);
}

/* ------------------------------------------------------------ reg-policy */

static void
print_reg_policy(const admin_ctx *ctx, const store_reg_policy *p)
{
	if (!ctx->json) {
		printf("auto-enrol: %s\ndns-services: %s\nmax-use-window: %llds\n"
		    "enctypes:", p->auto_enrol ? "on" : "off", p->dns_services,
		    (long long)p->max_use_window);
		for (size_t i = 0; i < p->ntk_enctypes; i++)
			printf(" %d", (int)p->tk_enctypes[i]);
		printf("\n");
		return;
	}
	printf("{\"auto_enrol\":%s,\"dns_services\":", p->auto_enrol ? "true" :
	    "false");
	json_string(stdout, p->dns_services);
	printf(",\"max_use_window\":%lld,\"enctypes\":[",
	    (long long)p->max_use_window);
	for (size_t i = 0; i < p->ntk_enctypes; i++)
		printf("%s%d", i ? "," : "", (int)p->tk_enctypes[i]);
	printf("]}\n");
}

enum { OPT_AUTO = 256, OPT_DNS, OPT_WINDOW, OPT_ENCTYPES };

/* Apply the flags of reg-policy to *p; *changed when any was given. */
static int
reg_policy_flags(int argc, char **argv, store_reg_policy *p, bool *changed)
{
	static const struct option opts[] = {
		{ "auto-enrol", required_argument, NULL, OPT_AUTO },
		{ "dns-services", required_argument, NULL, OPT_DNS },
		{ "max-use-window", required_argument, NULL, OPT_WINDOW },
		{ "enctypes", required_argument, NULL, OPT_ENCTYPES },
		{ NULL, 0, NULL, 0 },
	};
	store_realm_policy tmp;
	int c, ex = ADMIN_EXIT_OK;

	while (ex == ADMIN_EXIT_OK &&
	    (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		*changed = true;
		if (c == OPT_AUTO)
			ex = parse_on_off("--auto-enrol", optarg, &p->auto_enrol);
		else if (c == OPT_DNS && strlen(optarg) <= STORE_MAX_DNS_SERVICES)
			snprintf(p->dns_services, sizeof(p->dns_services), "%s",
			    optarg);
		else if (c == OPT_WINDOW && admin_parse_duration(optarg,
		    &p->max_use_window) == LETHE_OK && p->max_use_window > 0)
			continue;
		else if (c == OPT_ENCTYPES && admin_parse_enctypes(optarg,
		    &tmp) == LETHE_OK) {
			memcpy(p->tk_enctypes, tmp.enctypes, sizeof(p->tk_enctypes));
			p->ntk_enctypes = tmp.nenctypes;
		} else
			ex = usage_err("reg-policy [--auto-enrol on|off] "
			    "[--dns-services \"host HTTP\"] [--max-use-window DUR] "
			    "[--enctypes LIST]");
	}
	if (ex == ADMIN_EXIT_OK && optind != argc)
		ex = usage_err("reg-policy takes no argument besides its flags");
	return ex;
}

int
cmd_reg_policy(admin_ctx *ctx, int argc, char **argv)
{
	store_reg_policy p;
	bool changed = false;
	lethe_status rc;
	int ex;

	admin_take_json(ctx, &argc, argv);
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_reg_policy_get(ctx->st, &p);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "reg-policy");
	if ((ex = reg_policy_flags(argc, argv, &p, &changed)) != ADMIN_EXIT_OK)
		return ex;
	if (changed && (rc = store_reg_policy_set(ctx->st, &p)) != LETHE_OK)
		return admin_store_fail(ctx, rc, "reg-policy");
	print_reg_policy(ctx, &p);
	return ADMIN_EXIT_OK;
}

/* ------------------------------------------------------------ service-policy */

enum { OPT_PUBKEY = 256, OPT_CLASSIC };

int
cmd_service_policy(admin_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey-tickets", required_argument, NULL, OPT_PUBKEY },
		{ "classic-key", required_argument, NULL, OPT_CLASSIC },
		{ NULL, 0, NULL, 0 },
	};
	static const char use[] =
	    "service-policy NAME [--pubkey-tickets on|off] [--classic-key on|off]";
	int set_pubkey = -1, set_classic = -1, c, ex = ADMIN_EXIT_OK;
	store_service_policy p;
	char *name = NULL;
	bool v = false;
	lethe_status rc;

	admin_take_json(ctx, &argc, argv);
	while (ex == ADMIN_EXIT_OK &&
	    (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != OPT_PUBKEY && c != OPT_CLASSIC)
			return usage_err(use);
		ex = parse_on_off(c == OPT_PUBKEY ? "--pubkey-tickets" :
		    "--classic-key", optarg, &v);
		if (ex == ADMIN_EXIT_OK && c == OPT_PUBKEY)
			set_pubkey = v;
		else if (ex == ADMIN_EXIT_OK)
			set_classic = v;
	}
	if (ex != ADMIN_EXIT_OK)
		return ex;
	if (optind + 1 != argc)
		return usage_err(use);
	if ((ex = open_with_name(ctx, argv[optind], &name)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_service_policy_get(ctx->st, name, &p);
	if (rc == LETHE_OK && (set_pubkey >= 0 || set_classic >= 0)) {
		if (set_pubkey >= 0)
			p.allow_pubkey_tickets = set_pubkey;
		if (set_classic >= 0)
			p.allow_classic_key = set_classic;
		rc = store_service_policy_set(ctx->st, name, &p);
		p.configured = true;
	}
	if (rc != LETHE_OK)
		ex = admin_store_fail(ctx, rc, "service-policy");
	else if (ctx->json) {
		printf("{\"principal\":");
		json_string(stdout, name);
		printf(",\"pubkey_tickets\":%s,\"classic_key\":%s,\"configured\":%s}\n",
		    p.allow_pubkey_tickets ? "true" : "false",
		    p.allow_classic_key ? "true" : "false",
		    p.configured ? "true" : "false");
	} else
		printf("%s: pubkey-tickets %s, classic-key %s%s\n", name,
		    p.allow_pubkey_tickets ? "on" : "off",
		    p.allow_classic_key ? "on" : "off",
		    p.configured ? "" : " (defaults)");
	free(name);
	return ex;
}

/* ------------------------------------------------------------ request-key */

#define ADMIN_KEYREQ_TIMEOUT_MS 5000u

/*
 * request-key NAME: send NAME's agent a KeyRequest now, signed with the
 * KDC's credential from the store, to the callback of its agents row
 * (what lethe-kdc's registrar sends when a service runs out of keys).
 * The agent answers by registering a fresh key with the KDC.
 */
int
cmd_request_key(admin_ctx *ctx, int argc, char **argv)
{
	reg_service *svc = NULL;
	lethe_sockaddr dest;
	uint8_t *msg = NULL;
	size_t len = 0;
	char *name = NULL, where[64];
	lethe_status rc;
	int ex;

	if (argc != 2)
		return usage_err("request-key NAME");
	if ((ex = open_with_name(ctx, argv[1], &name)) != ADMIN_EXIT_OK)
		return ex;
	rc = reg_service_new(ctx->st, &svc);
	ctx->st = NULL;                 /* the service took the store over */
	if (rc == LETHE_OK)
		rc = reg_service_key_request(svc, name, (int64_t)time(NULL), &msg, &len, &dest);
	if (rc != LETHE_OK) {
		admin_err("request-key %s: %s", name, rc == LETHE_ERR_NOT_FOUND ?
		    "no agent with a callback registered for it (or no kdc credential)" :
		    rc == LETHE_ERR_FORMAT ? "its agent's callback is not host:port" :
		    lethe_status_str(rc));
		ex = rc == LETHE_ERR_NOT_FOUND ? ADMIN_EXIT_NOT_FOUND : ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	lethe_sockaddr_str((const struct sockaddr *)&dest.ss, dest.len, where, sizeof(where));
	rc = reg_send_oneway(&dest, msg, len, ADMIN_KEYREQ_TIMEOUT_MS);
	if (rc != LETHE_OK) {
		admin_err("request-key %s: cannot deliver to %s: %s", name, where,
		    lethe_status_str(rc));
		ex = ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	printf("key request for %s sent to %s\n", name, where);
cleanup:
	free(msg);
	reg_service_free(svc);
	free(name);
	return ex;
}

/* ------------------------------------------------------------ agents */

int
cmd_agents(admin_ctx *ctx, int argc, char **argv)
{
	store_agents *al = NULL;
	char t[32];
	lethe_status rc;
	int ex;

	admin_take_json(ctx, &argc, argv);
	if (argc != 1)
		return usage_err("agents [--json]");
	if ((ex = admin_open_store(ctx)) != ADMIN_EXIT_OK)
		return ex;
	rc = store_agent_list(ctx->st, &al);
	if (rc != LETHE_OK)
		return admin_store_fail(ctx, rc, "agents");
	if (ctx->json)
		printf("[");
	for (size_t i = 0; i < al->count; i++) {
		const store_agent *a = &al->entries[i];

		if (!ctx->json) {
			printf("%s\tcallback %s\tspki %s\tlast %s\n", a->principal,
			    a->callback != NULL ? a->callback : "-",
			    a->spki_sha256, admin_time(a->last_registered_at, t,
			    sizeof(t)));
			continue;
		}
		printf("%s{\"principal\":", i ? "," : "");
		json_string(stdout, a->principal);
		printf(",\"callback\":");
		if (a->callback != NULL)
			json_string(stdout, a->callback);
		else
			printf("null");
		printf(",\"spki_sha256\":\"%s\",\"last_registered_at\":%lld}",
		    a->spki_sha256, (long long)a->last_registered_at);
	}
	if (ctx->json)
		printf("]\n");
	store_agents_free(al);
	return ADMIN_EXIT_OK;
}
