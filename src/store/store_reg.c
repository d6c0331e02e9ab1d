/*
 * Schema v2 of the store: trust anchors, registration rules and policy,
 * per-service policy; schema v3's feed tables; schema v4's callback hosts
 * of rules; and the upgrade of a v1 to v4 store (v5's tables are in
 * store_policy.c). The registration transaction and the agents table are
 * in store_register.c, the change feed in store_feed.c.
 */
#include "store/store_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENCTYPES_TEXT_MAX (STORE_MAX_ENCTYPES * 12u)

/*
 * The v2 tables, one statement each (portable: PostgreSQL reads BIGINT
 * for INTEGER, BYTEA for BLOB and an identity column for reg_rules.id).
 */
static const char *const v2_tables[] = {
	"CREATE TABLE trust_anchors (\n"
	"  name TEXT PRIMARY KEY,\n"
	"  cert_pem TEXT NOT NULL,\n"
	"  added_at INTEGER NOT NULL\n"
	")",
	"CREATE TABLE reg_rules (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  identity_kind TEXT NOT NULL\n"
	"    CHECK (identity_kind IN ('subject', 'san', 'spki')),\n"
	"  identity TEXT NOT NULL,\n"
	"  pattern TEXT NOT NULL,\n"
	"  UNIQUE (identity_kind, identity, pattern)\n"
	")",
	"CREATE TABLE reg_policy (\n"
	"  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
	"  auto_enrol INTEGER NOT NULL CHECK (auto_enrol IN (0, 1)),\n"
	"  dns_services TEXT NOT NULL,\n"
	"  max_use_window INTEGER NOT NULL CHECK (max_use_window > 0),\n"
	"  tk_enctypes TEXT NOT NULL\n"
	")",
	"CREATE TABLE service_policy (\n"
	"  principal TEXT PRIMARY KEY,\n"
	"  allow_pubkey_tickets INTEGER NOT NULL\n"
	"    CHECK (allow_pubkey_tickets IN (0, 1)),\n"
	"  allow_classic_key INTEGER NOT NULL CHECK (allow_classic_key IN (0, 1))\n"
	")",
	"CREATE TABLE seen_nonces (\n"
	"  nonce BLOB PRIMARY KEY,\n"
	"  expires_at INTEGER NOT NULL\n"
	")",
	"CREATE INDEX seen_nonces_expiry ON seen_nonces (expires_at)",
	"CREATE TABLE agents (\n"
	"  principal TEXT PRIMARY KEY\n"
	"    REFERENCES principals (name) ON DELETE CASCADE,\n"
	"  callback TEXT,\n"
	"  spki_sha256 TEXT NOT NULL,\n"
	"  cert_pem TEXT,\n"
	"  last_registered_at INTEGER NOT NULL\n"
	")",
};

/*
 * The v3 tables: the change feed (principal NULL: realm-wide) and its
 * floor, the generation below which the feed was trimmed; and an index on
 * the end of temporary keys, so the maintenance finds expired ones without
 * reading every key of the realm.
 */
static const char *const v3_tables[] = {
	"CREATE TABLE changes (\n"
	"  generation INTEGER NOT NULL,\n"
	"  principal TEXT,\n"
	"  changed_at INTEGER NOT NULL\n"
	")",
	"CREATE INDEX changes_generation ON changes (generation)",
	"CREATE TABLE feed (\n"
	"  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
	"  floor_generation INTEGER NOT NULL CHECK (floor_generation >= 0)\n"
	")",
	"CREATE INDEX keys_temporary_end ON keys (accept_until) WHERE kind = 'temporary'",
};

static int64_t
now_seconds(void)
{
	return (int64_t)time(NULL);
}

/* Grow *arr (elements of size elem) so that one more fits after count. */
static lethe_status
grow(void **arr, size_t *cap, size_t count, size_t elem)
{
	size_t new_cap;
	void *bigger;

	if (count < *cap)
		return LETHE_OK;
	new_cap = *cap ? *cap * 2 : 8;
	ENSURE(new_cap > count && new_cap <= SIZE_MAX / elem, LETHE_ERR_NOMEM);
	bigger = realloc(*arr, new_cap * elem);
	ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
	memset((uint8_t *)bigger + count * elem, 0, (new_cap - count) * elem);
	*arr = bigger;
	*cap = new_cap;
	return LETHE_OK;
}

/* "18 17" from enctypes[0..n). */
static void
enctypes_text(const int32_t *enctypes, size_t n, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		int len = snprintf(buf + off, cap - off, "%s%d", i ? " " : "",
		    (int)enctypes[i]);

		if (len < 0)
			break;
		off += (size_t)len;
	}
}

/* Parse "18 17" into 1..STORE_MAX_ENCTYPES enctypes. */
static lethe_status
enctypes_parse(const db_value *v, int32_t *enctypes, size_t *n)
{
	char buf[ENCTYPES_TEXT_MAX + 1];
	char *cur, *end;

	ENSURE(v->type == DB_TEXT && v->len <= ENCTYPES_TEXT_MAX, LETHE_ERR_FORMAT);
	memcpy(buf, v->data, v->len);
	buf[v->len] = '\0';
	*n = 0;
	for (cur = buf; *cur != '\0'; cur = end) {
		long e;

		while (*cur == ' ')
			cur++;
		if (*cur == '\0')
			break;
		ENSURE(*n < STORE_MAX_ENCTYPES, LETHE_ERR_FORMAT);
		errno = 0;
		e = strtol(cur, &end, 10);
		ENSURE(end != cur && errno == 0 && e > 0 && e <= INT16_MAX,
		    LETHE_ERR_FORMAT);
		enctypes[(*n)++] = (int32_t)e;
	}
	ENSURE(*n > 0, LETHE_ERR_FORMAT);
	return LETHE_OK;
}

static bool
enctypes_ok(const int32_t *enctypes, size_t n)
{
	if (n == 0 || n > STORE_MAX_ENCTYPES)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (enctypes[i] <= 0 || enctypes[i] > INT16_MAX)
			return false;
		for (size_t j = 0; j < i; j++)
			if (enctypes[j] == enctypes[i])
				return false;
	}
	return true;
}

/* ------------------------------------------------------------ schema */

static lethe_status
insert_reg_policy(store *s, const store_reg_policy *p, bool replace)
{
	static const char insert_sql[] =
	    "INSERT INTO reg_policy (id, auto_enrol, dns_services, "
	    "max_use_window, tk_enctypes) VALUES (1, $1, $2, $3, $4)";
	static const char update_sql[] =
	    "UPDATE reg_policy SET auto_enrol = $1, dns_services = $2, "
	    "max_use_window = $3, tk_enctypes = $4 WHERE id = 1";
	char enctypes[ENCTYPES_TEXT_MAX + 1];
	db_value params[4];
	int64_t changes = 0;

	enctypes_text(p->tk_enctypes, p->ntk_enctypes, enctypes, sizeof(enctypes));
	params[0] = db_int(p->auto_enrol ? 1 : 0);
	params[1] = db_text(p->dns_services, strlen(p->dns_services));
	params[2] = db_int(p->max_use_window);
	params[3] = db_text(enctypes, strlen(enctypes));
	GUARD(s->ops->exec(s, replace ? update_sql : insert_sql, params, 4, NULL,
	    NULL, &changes));
	if (changes != 1)
		return store_fail(s, LETHE_ERR_FORMAT, STORE_E_DATABASE,
		    "the reg_policy row is missing");
	return LETHE_OK;
}

lethe_status
store_schema_add_v2(store *s, const store_realm_policy *realm)
{
	store_reg_policy p;

	for (size_t i = 0; i < sizeof(v2_tables) / sizeof(v2_tables[0]); i++)
		GUARD(s->ops->exec(s, v2_tables[i], NULL, 0, NULL, NULL, NULL));
	GUARD(store_reg_policy_default(&p, realm));
	return insert_reg_policy(s, &p, false);
}

lethe_status
store_schema_add_v3(store *s, int64_t floor_gen)
{
	static const char floor_sql[] =
	    "INSERT INTO feed (id, floor_generation) VALUES (1, $1)";
	db_value param = db_int(floor_gen);

	for (size_t i = 0; i < sizeof(v3_tables) / sizeof(v3_tables[0]); i++)
		GUARD(s->ops->exec(s, v3_tables[i], NULL, 0, NULL, NULL, NULL));
	return s->ops->exec(s, floor_sql, &param, 1, NULL, NULL, NULL);
}

lethe_status
store_schema_add_v4(store *s)
{
	static const char sql[] = "ALTER TABLE reg_rules ADD COLUMN callbacks TEXT";

	return s->ops->exec(s, sql, NULL, 0, NULL, NULL, NULL);
}

lethe_status
store_schema_add_since_v1(store *s, const store_realm_policy *realm)
{
	GUARD(store_schema_add_v2(s, realm));
	GUARD(store_schema_add_v3(s, 0));
	GUARD(store_schema_add_v4(s));
	return store_schema_add_v5(s, false);
}

/*
 * v3's security defaults on existing principals: users are no ticket's
 * server, and every other kind requires pre-authentication.
 */
static lethe_status
migrate_attributes_v3(store *s)
{
	static const char user_sql[] =
	    "UPDATE principals SET attributes = attributes | $1 "
	    "WHERE kind = 'user'";
	static const char other_sql[] =
	    "UPDATE principals SET attributes = attributes | $1 "
	    "WHERE kind IN ('service', 'agent', 'krbtgt')";
	db_value no_service = db_int(STORE_ATTR_NO_SERVICE);
	db_value preauth = db_int(STORE_ATTR_REQUIRES_PREAUTH);

	GUARD(s->ops->exec(s, user_sql, &no_service, 1, NULL, NULL, NULL));
	return s->ops->exec(s, other_sql, &preauth, 1, NULL, NULL, NULL);
}

lethe_status
store_schema_upgrade(store *s)
{
	static const char version_sql[] = "SELECT version FROM schema_version";
	static const char gen_sql[] = "SELECT value FROM generation WHERE id = 1";
	static const char update_sql[] = "UPDATE schema_version SET version = $1";
	db_value param = db_int(STORE_SCHEMA_VERSION);
	int64_t version = -1, gen = -1;
	lethe_status rc;

	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, version_sql, NULL, 0, store_int_cb,
	    &version, NULL));
	if (version == STORE_SCHEMA_VERSION) {
		/* Another process upgraded it meanwhile. */
		rc = store_txn_end(s);
		goto cleanup;
	}
	ENSURE_GOTO(rc, version >= 1 && version < STORE_SCHEMA_VERSION, store_fail(s,
	    LETHE_ERR_FORMAT, STORE_E_DATABASE, "cannot upgrade schema version "
	    "%lld", (long long)version));
	if (version == 1)
		GUARD_GOTO(rc, store_schema_add_v2(s, &s->policy));
	if (version <= 2) {
		GUARD_GOTO(rc, s->ops->exec(s, gen_sql, NULL, 0, store_int_cb, &gen,
		    NULL));
		ENSURE_GOTO(rc, gen >= 0, store_fail(s, LETHE_ERR_FORMAT,
		    STORE_E_DATABASE, "the generation row is missing"));
		/* The feed starts empty: complete from this generation on. */
		GUARD_GOTO(rc, store_schema_add_v3(s, gen));
		GUARD_GOTO(rc, migrate_attributes_v3(s));
	}
	if (version <= 3)
		GUARD_GOTO(rc, store_schema_add_v4(s));
	GUARD_GOTO(rc, store_schema_add_v5(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, update_sql, &param, 1, NULL, NULL, NULL));
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	if (rc != LETHE_OK)
		rc = store_fail_status(s, rc, "upgrading the store to schema v5");
	return rc;
}

/* ------------------------------------------------------------ trust anchors */

lethe_status
store_anchor_add(store *s, const char *name, lbytes cert_pem)
{
	static const char sql[] =
	    "INSERT INTO trust_anchors (name, cert_pem, added_at) "
	    "VALUES ($1, $2, $3)";
	db_value params[3];
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (!store_plain_name_ok(name, STORE_MAX_ANCHOR_NAME) || cert_pem.data == NULL ||
	    cert_pem.len == 0 || cert_pem.len > STORE_MAX_PEM_LEN ||
	    memchr(cert_pem.data, '\0', cert_pem.len) != NULL)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid trust anchor name or certificate");
	params[0] = db_text(name, strlen(name));
	params[1] = db_text((const char *)cert_pem.data, cert_pem.len);
	params[2] = db_int(now_seconds());
	GUARD_GOTO(rc, store_txn_begin(s, true));
	rc = s->ops->exec(s, sql, params, 3, NULL, NULL, NULL);
	if (rc != LETHE_OK && s->err_kind == STORE_E_EXISTS)
		rc = store_fail(s, rc, STORE_E_EXISTS,
		    "trust anchor %s already exists", name);
	GUARD_GOTO(rc, rc);
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

/* Run one DELETE; no row deleted is LETHE_ERR_NOT_FOUND with message what. */
static lethe_status
delete_one(store *s, const char *sql, db_value param, const char *what)
{
	int64_t changes = 0;
	lethe_status rc;

	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, sql, &param, 1, NULL, NULL, &changes));
	ENSURE_GOTO(rc, changes == 1, store_fail(s, LETHE_ERR_NOT_FOUND,
	    STORE_E_NOT_FOUND, "%s not found", what));
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_anchor_remove(store *s, const char *name)
{
	static const char sql[] = "DELETE FROM trust_anchors WHERE name = $1";
	char what[STORE_MAX_ANCHOR_NAME + 16];

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (!store_plain_name_ok(name, STORE_MAX_ANCHOR_NAME))
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid trust anchor name");
	snprintf(what, sizeof(what), "trust anchor %s", name);
	return delete_one(s, sql, db_text(name, strlen(name)), what);
}

void
store_anchors_free(store_anchors *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->entries[i].name);
		free(list->entries[i].cert_pem);
	}
	free(list->entries);
	free(list);
}

typedef struct anchor_builder {
	store_anchors *list;
	size_t cap;
} anchor_builder;

static lethe_status
anchor_row(void *ctx, const db_value *c, size_t n)
{
	anchor_builder *b = ctx;
	store_anchor *a;

	ENSURE(n == 3 && c[2].type == DB_INT, LETHE_ERR_FORMAT);
	GUARD(grow((void **)&b->list->entries, &b->cap, b->list->count,
	    sizeof(*a)));
	a = &b->list->entries[b->list->count++];
	GUARD(store_text_dup(&c[0], STORE_MAX_ANCHOR_NAME, &a->name));
	GUARD(store_text_dup(&c[1], STORE_MAX_PEM_LEN, &a->cert_pem));
	a->cert_pem_len = c[1].len;
	a->added_at = c[2].i;
	return LETHE_OK;
}

lethe_status
store_anchor_list(store *s, store_anchors **out)
{
	static const char sql[] =
	    "SELECT name, cert_pem, added_at FROM trust_anchors ORDER BY name";
	anchor_builder b = { 0 };
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	b.list = calloc(1, sizeof(*b.list));
	ENSURE(b.list != NULL, LETHE_ERR_NOMEM);
	rc = s->ops->exec(s, sql, NULL, 0, anchor_row, &b, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	*out = b.list;
	b.list = NULL;
cleanup:
	store_anchors_free(b.list);
	return rc;
}

/* ------------------------------------------------------------ rules */

const char *
store_identity_kind_name(enum store_identity_kind kind)
{
	switch (kind) {
	case STORE_ID_SUBJECT:
		return "subject";
	case STORE_ID_SAN:
		return "san";
	case STORE_ID_SPKI:
		return "spki";
	}
	return NULL;
}

lethe_status
store_identity_kind_parse(const char *text, enum store_identity_kind *out)
{
	ENSURE(text != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	for (int k = STORE_ID_SUBJECT; k <= STORE_ID_SPKI; k++) {
		if (strcmp(text, store_identity_kind_name(
		    (enum store_identity_kind)k)) == 0) {
			*out = (enum store_identity_kind)k;
			return LETHE_OK;
		}
	}
	return LETHE_ERR_INVALID_ARG;
}

bool
store_pattern_match(const char *pattern, const char *principal)
{
	if (store_bounded_len(pattern, STORE_MAX_PATTERN_LEN) == 0 ||
	    store_bounded_len(principal, STORE_MAX_NAME_LEN) == 0)
		return false;
	return fnmatch(pattern, principal, 0) == 0;
}

/* 1..max bytes without control characters. */
static bool
printable_ok(const char *text, size_t max)
{
	size_t len = store_bounded_len(text, max);

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return false;
	return true;
}

/* Exactly STORE_SPKI_HEX_LEN hex digits; copied in lower case to out. */
static bool
spki_hex_normalise(const char *text, char out[STORE_SPKI_HEX_LEN + 1])
{
	if (text == NULL || strnlen(text, STORE_SPKI_HEX_LEN + 1) !=
	    STORE_SPKI_HEX_LEN)
		return false;
	for (size_t i = 0; i < STORE_SPKI_HEX_LEN; i++) {
		char c = text[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[i] = c;
	}
	out[STORE_SPKI_HEX_LEN] = '\0';
	return true;
}

/* Decimal 1..65535, digits only. */
static bool
port_parse(const char *text, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(text);

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

lethe_status
store_callback_parse(const char *text, char host[STORE_CALLBACK_HOST_MAX],
    uint16_t *port)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char addr[STORE_CALLBACK_HOST_MAX];
	const char *port_text = NULL, *close;
	uint8_t a[16];
	size_t n;

	ENSURE(text != NULL && host != NULL && port != NULL, LETHE_ERR_INVALID_ARG);
	*port = 0;
	host[0] = '\0';
	n = strnlen(text, STORE_CALLBACK_ENTRY_MAX);
	ENSURE(n > 0 && n < STORE_CALLBACK_ENTRY_MAX, LETHE_ERR_FORMAT);
	if (text[0] == '[') {
		close = strchr(text, ']');
		ENSURE(close != NULL && (size_t)(close - text - 1) < sizeof(addr),
		    LETHE_ERR_FORMAT);
		memcpy(addr, text + 1, (size_t)(close - text - 1));
		addr[close - text - 1] = '\0';
		ENSURE(close[1] == '\0' || close[1] == ':', LETHE_ERR_FORMAT);
		port_text = close[1] == ':' ? close + 2 : NULL;
		ENSURE(inet_pton(AF_INET6, addr, a) == 1, LETHE_ERR_FORMAT);
	} else if (strchr(text, ':') != strrchr(text, ':')) {
		/* Two colons or more: a bare IPv6 address, no port. */
		ENSURE(inet_pton(AF_INET6, text, a) == 1, LETHE_ERR_FORMAT);
	} else {
		const char *colon = strchr(text, ':');
		size_t alen = colon != NULL ? (size_t)(colon - text) : n;

		ENSURE(alen < sizeof(addr), LETHE_ERR_FORMAT);
		memcpy(addr, text, alen);
		addr[alen] = '\0';
		port_text = colon != NULL ? colon + 1 : NULL;
		ENSURE(inet_pton(AF_INET, addr, a + 12) == 1, LETHE_ERR_FORMAT);
		memcpy(a, mapped, sizeof(mapped));
	}
	if (port_text != NULL)
		ENSURE(port_parse(port_text, port), LETHE_ERR_FORMAT);
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		ENSURE(inet_ntop(AF_INET, a + 12, host, STORE_CALLBACK_HOST_MAX) != NULL,
		    LETHE_ERR_FORMAT);
		return LETHE_OK;
	}
	host[0] = '[';
	ENSURE(inet_ntop(AF_INET6, a, host + 1, STORE_CALLBACK_HOST_MAX - 2) != NULL,
	    LETHE_ERR_FORMAT);
	n = strlen(host);
	host[n] = ']';
	host[n + 1] = '\0';
	return LETHE_OK;
}

bool
store_callbacks_permit(const char *callbacks, const char *host, uint16_t port)
{
	char entry[STORE_CALLBACK_ENTRY_MAX], ehost[STORE_CALLBACK_HOST_MAX];
	const char *cur = callbacks;
	uint16_t eport;

	while (cur != NULL && *cur != '\0') {
		size_t n = strcspn(cur, " ");

		if (n > 0 && n < sizeof(entry)) {
			memcpy(entry, cur, n);
			entry[n] = '\0';
			if (store_callback_parse(entry, ehost, &eport) == LETHE_OK &&
			    strcmp(ehost, host) == 0 && (eport == 0 || eport == port))
				return true;
		}
		cur += n;
		cur += strspn(cur, " ");
	}
	return false;
}

/* True when the blank-separated list holds word. */
static bool
list_has(const char *list, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *cur = list; *cur != '\0'; cur += strspn(cur, " ")) {
		size_t n = strcspn(cur, " ");

		if (n == wlen && memcmp(cur, word, n) == 0)
			return true;
		cur += n;
	}
	return false;
}

/*
 * The canonical list of a rule's callbacks (blank-separated entries) into
 * out (cap bytes): each entry canonical, duplicates dropped; "" for none.
 */
static bool
callbacks_canonical(const char *text, char *out, size_t cap)
{
	char entry[STORE_CALLBACK_ENTRY_MAX], host[STORE_CALLBACK_HOST_MAX];
	char canon[STORE_CALLBACK_ENTRY_MAX + 2];
	const char *cur = text;
	size_t off = 0, count = 0;
	uint16_t port;

	out[0] = '\0';
	while (cur != NULL && *cur != '\0') {
		size_t n;

		cur += strspn(cur, " \t");
		n = strcspn(cur, " \t");
		if (n == 0)
			break;
		if (n >= sizeof(entry))
			return false;
		memcpy(entry, cur, n);
		entry[n] = '\0';
		cur += n;
		if (store_callback_parse(entry, host, &port) != LETHE_OK)
			return false;
		if (port != 0)
			snprintf(canon, sizeof(canon), "%s:%u", host, (unsigned)port);
		else
			snprintf(canon, sizeof(canon), "%s", host);
		if (list_has(out, canon))
			continue;       /* the same entry again */
		if (++count > STORE_MAX_RULE_CALLBACKS ||
		    off + strlen(canon) + 2 > cap)
			return false;
		off += (size_t)snprintf(out + off, cap - off, "%s%s", off ? " " : "",
		    canon);
	}
	return true;
}

lethe_status
store_reg_rule_add(store *s, enum store_identity_kind kind, const char *identity,
    const char *pattern, int64_t *id)
{
	return store_reg_rule_add_callbacks(s, kind, identity, pattern, NULL, id);
}

lethe_status
store_reg_rule_add_callbacks(store *s, enum store_identity_kind kind,
    const char *identity, const char *pattern, const char *callbacks, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO reg_rules (identity_kind, identity, pattern, callbacks) "
	    "VALUES ($1, $2, $3, $4) RETURNING id";
	char spki[STORE_SPKI_HEX_LEN + 1];
	char cbs[STORE_MAX_RULE_CALLBACKS_LEN];
	const char *kind_name = store_identity_kind_name(kind);
	db_value params[4];
	int64_t new_id = 0;
	lethe_status rc;

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (kind_name == NULL || !printable_ok(identity, STORE_MAX_IDENTITY_LEN) ||
	    !printable_ok(pattern, STORE_MAX_PATTERN_LEN) ||
	    (kind == STORE_ID_SPKI && !spki_hex_normalise(identity, spki)))
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid rule: identity kind, identity or pattern");
	if (!callbacks_canonical(callbacks, cbs, sizeof(cbs)))
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid rule: callbacks must be at most %u numeric addresses, "
		    "each with an optional port", STORE_MAX_RULE_CALLBACKS);
	if (kind == STORE_ID_SPKI)
		identity = spki;
	params[0] = db_text(kind_name, strlen(kind_name));
	params[1] = db_text(identity, strlen(identity));
	params[2] = db_text(pattern, strlen(pattern));
	params[3] = cbs[0] != '\0' ? db_text(cbs, strlen(cbs)) : db_null();
	GUARD_GOTO(rc, store_txn_begin(s, true));
	rc = s->ops->exec(s, sql, params, 4, store_int_cb, &new_id, NULL);
	if (rc != LETHE_OK && s->err_kind == STORE_E_EXISTS)
		rc = store_fail(s, rc, STORE_E_EXISTS, "the same rule exists");
	GUARD_GOTO(rc, rc);
	ENSURE_GOTO(rc, new_id > 0, store_fail(s, LETHE_ERR_FORMAT,
	    STORE_E_DATABASE, "no id for the new rule"));
	store_note_change(s, NULL);
	GUARD_GOTO(rc, store_txn_commit(s));
	if (id != NULL)
		*id = new_id;
cleanup:
	store_txn_abort(s);
	return rc;
}

lethe_status
store_reg_rule_remove(store *s, int64_t id)
{
	static const char sql[] = "DELETE FROM reg_rules WHERE id = $1";
	char what[48];

	ENSURE(s != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (id <= 0)
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid rule id");
	snprintf(what, sizeof(what), "rule %lld", (long long)id);
	return delete_one(s, sql, db_int(id), what);
}

void
store_reg_rules_free(store_reg_rules *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->entries[i].identity);
		free(list->entries[i].pattern);
		free(list->entries[i].callbacks);
	}
	free(list->entries);
	free(list);
}

typedef struct rule_builder {
	store_reg_rules *list;
	size_t cap;
} rule_builder;

static lethe_status
identity_kind_from_column(const db_value *v, enum store_identity_kind *out)
{
	char buf[16];

	ENSURE(v->type == DB_TEXT && v->len < sizeof(buf), LETHE_ERR_FORMAT);
	memcpy(buf, v->data, v->len);
	buf[v->len] = '\0';
	return store_identity_kind_parse(buf, out) == LETHE_OK ? LETHE_OK :
	    LETHE_ERR_FORMAT;
}

static lethe_status
rule_row(void *ctx, const db_value *c, size_t n)
{
	rule_builder *b = ctx;
	store_reg_rule *r;

	ENSURE(n == 5 && c[0].type == DB_INT && c[0].i > 0, LETHE_ERR_FORMAT);
	GUARD(grow((void **)&b->list->entries, &b->cap, b->list->count,
	    sizeof(*r)));
	r = &b->list->entries[b->list->count++];
	r->id = c[0].i;
	GUARD(identity_kind_from_column(&c[1], &r->kind));
	GUARD(store_text_dup(&c[2], STORE_MAX_IDENTITY_LEN, &r->identity));
	GUARD(store_text_dup(&c[3], STORE_MAX_PATTERN_LEN, &r->pattern));
	if (c[4].type == DB_NULL)
		return LETHE_OK;
	return store_text_dup(&c[4], STORE_MAX_RULE_CALLBACKS_LEN, &r->callbacks);
}

lethe_status
store_reg_rule_list(store *s, store_reg_rules **out)
{
	static const char sql[] =
	    "SELECT id, identity_kind, identity, pattern, callbacks FROM reg_rules "
	    "ORDER BY id";
	rule_builder b = { 0 };
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	*out = NULL;
	store_clear_error(s);
	b.list = calloc(1, sizeof(*b.list));
	ENSURE(b.list != NULL, LETHE_ERR_NOMEM);
	rc = s->ops->exec(s, sql, NULL, 0, rule_row, &b, NULL);
	GUARD_GOTO(rc, store_collect_status(s, rc));
	*out = b.list;
	b.list = NULL;
cleanup:
	store_reg_rules_free(b.list);
	return rc;
}

/* ------------------------------------------------------------ reg policy */

lethe_status
store_reg_policy_default(store_reg_policy *p, const store_realm_policy *realm)
{
	ENSURE(p != NULL && realm != NULL && realm->nenctypes > 0 &&
	    realm->nenctypes <= STORE_MAX_ENCTYPES, LETHE_ERR_INVALID_ARG);
	memset(p, 0, sizeof(*p));
	p->auto_enrol = true;
	memcpy(p->dns_services, STORE_DEFAULT_DNS_SERVICES,
	    sizeof(STORE_DEFAULT_DNS_SERVICES));
	p->max_use_window = STORE_DEFAULT_MAX_USE_WINDOW;
	memcpy(p->tk_enctypes, realm->enctypes,
	    realm->nenctypes * sizeof(realm->enctypes[0]));
	p->ntk_enctypes = realm->nenctypes;
	return LETHE_OK;
}

/* Space-separated words of [A-Za-z0-9_.-]; may be empty. */
static bool
dns_services_ok(const char *text)
{
	size_t len = strnlen(text, STORE_MAX_DNS_SERVICES + 1);

	if (len > STORE_MAX_DNS_SERVICES)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-' || c == ' '))
			return false;
	}
	return true;
}

static bool
reg_policy_ok(const store_reg_policy *p)
{
	return dns_services_ok(p->dns_services) && p->max_use_window > 0 &&
	    enctypes_ok(p->tk_enctypes, p->ntk_enctypes);
}

static lethe_status
reg_policy_row(void *ctx, const db_value *c, size_t n)
{
	store_reg_policy *p = ctx;

	ENSURE(n == 4 && c[0].type == DB_INT && c[2].type == DB_INT &&
	    c[2].i > 0 && c[1].type == DB_TEXT &&
	    c[1].len <= STORE_MAX_DNS_SERVICES, LETHE_ERR_FORMAT);
	p->auto_enrol = c[0].i != 0;
	memcpy(p->dns_services, c[1].data, c[1].len);
	p->dns_services[c[1].len] = '\0';
	p->max_use_window = c[2].i;
	GUARD(enctypes_parse(&c[3], p->tk_enctypes, &p->ntk_enctypes));
	ENSURE(reg_policy_ok(p), LETHE_ERR_FORMAT);
	return LETHE_OK;
}

lethe_status
store_reg_policy_get(store *s, store_reg_policy *out)
{
	static const char sql[] =
	    "SELECT auto_enrol, dns_services, max_use_window, tk_enctypes "
	    "FROM reg_policy WHERE id = 1";
	store_reg_policy p;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	memset(&p, 0, sizeof(p));
	rc = s->ops->exec(s, sql, NULL, 0, reg_policy_row, &p, NULL);
	if (rc == LETHE_OK && p.max_use_window == 0)
		rc = LETHE_ERR_FORMAT;
	if (rc == LETHE_ERR_FORMAT)
		return store_fail(s, rc, STORE_E_DATABASE,
		    "the reg_policy row is missing or damaged");
	GUARD(store_collect_status(s, rc));
	*out = p;
	return LETHE_OK;
}

lethe_status
store_reg_policy_set(store *s, const store_reg_policy *p)
{
	lethe_status rc;

	ENSURE(s != NULL && p != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	if (!reg_policy_ok(p))
		return store_fail(s, LETHE_ERR_INVALID_ARG, STORE_E_INVALID,
		    "invalid registration policy");
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, insert_reg_policy(s, p, true));
	store_note_change(s, NULL);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}

bool
store_reg_policy_dns_service(const store_reg_policy *p, const char *svc)
{
	size_t svc_len;
	const char *cur;

	if (p == NULL || svc == NULL || (svc_len = strlen(svc)) == 0)
		return false;
	for (cur = p->dns_services; *cur != '\0';) {
		size_t word = strcspn(cur, " ");

		if (word == svc_len && memcmp(cur, svc, svc_len) == 0)
			return true;
		cur += word;
		cur += strspn(cur, " ");
	}
	return false;
}

/* ------------------------------------------------------------ service policy */

static lethe_status
service_policy_row(void *ctx, const db_value *c, size_t n)
{
	store_service_policy *p = ctx;

	ENSURE(n == 2 && c[0].type == DB_INT && c[1].type == DB_INT,
	    LETHE_ERR_FORMAT);
	p->allow_pubkey_tickets = c[0].i != 0;
	p->allow_classic_key = c[1].i != 0;
	p->configured = true;
	return LETHE_OK;
}

lethe_status
store_service_policy_get(store *s, const char *principal,
    store_service_policy *out)
{
	static const char sql[] =
	    "SELECT allow_pubkey_tickets, allow_classic_key FROM service_policy "
	    "WHERE principal = $1";
	store_service_policy p = {
		.allow_pubkey_tickets = STORE_DEFAULT_PUBKEY_TICKETS,
		.allow_classic_key = STORE_DEFAULT_CLASSIC_KEY,
	};
	db_value param;
	lethe_status rc;

	ENSURE(s != NULL && out != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, principal));
	param = db_text(principal, strlen(principal));
	rc = s->ops->exec(s, sql, &param, 1, service_policy_row, &p, NULL);
	GUARD(store_collect_status(s, rc));
	*out = p;
	return LETHE_OK;
}

lethe_status
store_service_policy_set(store *s, const char *principal,
    const store_service_policy *p)
{
	static const char sql[] =
	    "INSERT INTO service_policy (principal, allow_pubkey_tickets, "
	    "allow_classic_key) VALUES ($1, $2, $3) ON CONFLICT (principal) "
	    "DO UPDATE SET allow_pubkey_tickets = excluded.allow_pubkey_tickets, "
	    "allow_classic_key = excluded.allow_classic_key";
	db_value params[3];
	lethe_status rc;

	ENSURE(s != NULL && p != NULL, LETHE_ERR_INVALID_ARG);
	store_clear_error(s);
	GUARD(store_check_name(s, principal));
	params[0] = db_text(principal, strlen(principal));
	params[1] = db_int(p->allow_pubkey_tickets ? 1 : 0);
	params[2] = db_int(p->allow_classic_key ? 1 : 0);
	GUARD_GOTO(rc, store_txn_begin(s, true));
	GUARD_GOTO(rc, s->ops->exec(s, sql, params, 3, NULL, NULL, NULL));
	store_note_change(s, principal);
	rc = store_txn_commit(s);
cleanup:
	store_txn_abort(s);
	return rc;
}
