/*
 * lethe-agent: the state files in state_dir, as tab-separated text.
 *
 *	keys:       lethe-agent-keys 1
 *	            kvno <kvno> <principal>
 *	            key <kvno> <created> <use_until> <accept_until> <principal>
 *	kdc-<name>: lethe-agent-kdc 1
 *	            kdc <name>
 *	            reg <kvno> <done> <ok_kvno> <result> <failures> <last_attempt>
 *	                <last_ok> <next_attempt> <principal> <text>
 *
 * Principals are in MIT's escaped form, which has no tab or newline.
 */
#include "agent/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"

#define KEYS_MAGIC "lethe-agent-keys\t1"
#define KDC_MAGIC "lethe-agent-kdc\t1"
#define MAX_FIELDS 12

/* A growable text buffer; ok turns false on overflow or ENOMEM. */
typedef struct text_buf {
	char *data;
	size_t len, cap;
	bool ok;
} text_buf;

static void LETHE_PRINTF(2, 3)
tb_printf(text_buf *tb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!tb->ok)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(tb->data + tb->len, tb->cap - tb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			tb->ok = false;
			return;
		}
		if ((size_t)n < tb->cap - tb->len) {
			tb->len += (size_t)n;
			return;
		}
		size_t ncap = tb->cap * 2 + (size_t)n + 1;
		char *nd;
		if (ncap > AGENT_STATE_MAX_FILE || (nd = realloc(tb->data, ncap)) == NULL) {
			tb->ok = false;
			return;
		}
		tb->data = nd;
		tb->cap = ncap;
	}
}

static lethe_status
tb_init(text_buf *tb)
{
	tb->cap = 4096;
	tb->len = 0;
	tb->data = malloc(tb->cap);
	tb->ok = tb->data != NULL;
	return tb->ok ? LETHE_OK : LETHE_ERR_NOMEM;
}

/* path = state_dir/name */
static lethe_status
state_path(const agent_config *cfg, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", cfg->state_dir, name);

	ENSURE(n > 0 && (size_t)n < cap, LETHE_ERR_TOO_BIG);
	return LETHE_OK;
}

/* The file name of KDC k: "kdc-" and its name with odd bytes as '_'. */
static lethe_status
kdc_file_name(const agent_kdc *kdc, char *out, size_t cap)
{
	size_t n = strlen(kdc->name);

	ENSURE(n + 5 <= cap, LETHE_ERR_TOO_BIG);
	memcpy(out, "kdc-", 4);
	for (size_t i = 0; i < n; i++) {
		char c = kdc->name[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-';
		out[4 + i] = plain ? c : '_';
	}
	out[4 + n] = '\0';
	return LETHE_OK;
}

/* Read a whole state file; NOT_FOUND when absent. */
static lethe_status
read_file(const char *path, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	lethe_status rc = LETHE_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? LETHE_ERR_NOT_FOUND : LETHE_ERR_IO;
	buf = malloc(AGENT_STATE_MAX_FILE + 1);
	ENSURE_GOTO(rc, buf != NULL, LETHE_ERR_NOMEM);
	while (len <= AGENT_STATE_MAX_FILE &&
	    (n = read(fd, buf + len, AGENT_STATE_MAX_FILE + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		ENSURE_GOTO(rc, n > 0, LETHE_ERR_IO);
		len += (size_t)n;
	}
	ENSURE_GOTO(rc, len <= AGENT_STATE_MAX_FILE, LETHE_ERR_TOO_BIG);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

/* Split line (modified) at tabs into at most max fields; the last keeps the rest. */
static size_t
split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;

	fields[n++] = line;
	while (n < max) {
		char *tab = strchr(fields[n - 1], '\t');
		if (tab == NULL)
			break;
		*tab = '\0';
		fields[n++] = tab + 1;
	}
	return n;
}

static bool
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool
parse_u32(const char *s, uint32_t *out)
{
	int64_t v;

	if (!parse_i64(s, 0, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool
parse_name(const char *s, char *dst)
{
	size_t n = strlen(s);

	if (n == 0 || n >= AGENT_NAME_MAX || strchr(s, '\t') != NULL)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

static lethe_status
keys_line(agent_state *st, char *line)
{
	char *f[MAX_FIELDS];
	size_t n = split_fields(line, f, 6);
	agent_key_rec rec;
	uint32_t kvno;

	memset(&rec, 0, sizeof(rec));
	if (n == 3 && strcmp(f[0], "kvno") == 0) {
		ENSURE(parse_u32(f[1], &kvno) && parse_name(f[2], rec.principal),
		    LETHE_ERR_FORMAT);
		return agent_state_set_kvno(st, rec.principal, kvno);
	}
	ENSURE(n == 6 && strcmp(f[0], "key") == 0, LETHE_ERR_FORMAT);
	ENSURE(parse_u32(f[1], &rec.kvno) &&
	    parse_i64(f[2], 0, INT64_MAX, &rec.created) &&
	    parse_i64(f[3], 0, INT64_MAX, &rec.use_until) &&
	    parse_i64(f[4], 0, INT64_MAX, &rec.accept_until) &&
	    parse_name(f[5], rec.principal), LETHE_ERR_FORMAT);
	return agent_state_add_key(st, &rec);
}

/* Apply each line after the magic first line. */
static lethe_status
parse_lines(char *text, const char *magic, lethe_status (*fn)(void *, char *),
    void *arg)
{
	char *line = text, *nl;
	bool first = true;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		ENSURE(nl != NULL, LETHE_ERR_FORMAT);
		*nl = '\0';
		if (first)
			ENSURE(strcmp(line, magic) == 0, LETHE_ERR_FORMAT);
		else
			GUARD(fn(arg, line));
		first = false;
		line = nl + 1;
	}
	return first ? LETHE_ERR_FORMAT : LETHE_OK;
}

static lethe_status
keys_line_cb(void *arg, char *line)
{
	return keys_line(arg, line);
}

typedef struct kdc_parse {
	const agent_config *cfg;
	agent_state *st;
	size_t k;
	bool named;
	bool ours;              /* the file names KDC k */
} kdc_parse;

static lethe_status
reg_fields(agent_reg_rec *r, char **f)
{
	int64_t done, result;

	ENSURE(parse_u32(f[1], &r->kvno) && parse_i64(f[2], 0, 1, &done) &&
	    parse_u32(f[3], &r->ok_kvno) && parse_i64(f[4], -100, 100000, &result) &&
	    parse_u32(f[5], &r->failures) &&
	    parse_i64(f[6], 0, INT64_MAX, &r->last_attempt) &&
	    parse_i64(f[7], 0, INT64_MAX, &r->last_ok) &&
	    parse_i64(f[8], 0, INT64_MAX, &r->next_attempt) &&
	    strlen(f[10]) < AGENT_TEXT_MAX, LETHE_ERR_FORMAT);
	r->done = done != 0;
	r->result = (int)result;
	memcpy(r->text, f[10], strlen(f[10]) + 1);
	return LETHE_OK;
}

static lethe_status
kdc_line_cb(void *arg, char *line)
{
	kdc_parse *kp = arg;
	char *f[MAX_FIELDS];
	size_t n = split_fields(line, f, 11);
	agent_reg_rec rec;

	if (n == 2 && strcmp(f[0], "kdc") == 0) {
		ENSURE(!kp->named, LETHE_ERR_FORMAT);
		kp->named = true;
		kp->ours = kp->k < kp->cfg->nkdcs &&
		    strcmp(f[1], kp->cfg->kdcs[kp->k].name) == 0;
		return LETHE_OK;
	}
	ENSURE(n == 11 && strcmp(f[0], "reg") == 0 && kp->named, LETHE_ERR_FORMAT);
	memset(&rec, 0, sizeof(rec));
	GUARD(reg_fields(&rec, f));
	/* A file of another KDC whose name maps to the same file: not ours. */
	for (size_t p = 0; kp->ours && p < kp->cfg->nprincipals; p++) {
		if (strcmp(kp->cfg->principals[p], f[9]) == 0)
			kp->st->reg[kp->k][p] = rec;
	}
	return LETHE_OK;
}

static void
reg_reset(agent_reg_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->result = AGENT_RESULT_NONE;
}

void
agent_state_init(agent_state *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t k = 0; k < AGENT_MAX_KDCS; k++)
		for (size_t p = 0; p < AGENT_MAX_PRINCIPALS; p++)
			reg_reset(&st->reg[k][p]);
}

/* Parse a copy of buf[0..len), which must hold no NUL, with fn. */
static lethe_status
parse_buffer(const uint8_t *buf, size_t len, const char *magic,
    lethe_status (*fn)(void *, char *), void *arg)
{
	char *text;
	lethe_status rc;

	ENSURE(len <= AGENT_STATE_MAX_FILE, LETHE_ERR_TOO_BIG);
	ENSURE(len == 0 || memchr(buf, 0, len) == NULL, LETHE_ERR_FORMAT);
	text = malloc(len + 1);
	ENSURE(text != NULL, LETHE_ERR_NOMEM);
	if (len > 0)
		memcpy(text, buf, len);
	text[len] = '\0';
	rc = parse_lines(text, magic, fn, arg);
	free(text);
	return rc;
}

lethe_status
agent_state_parse_keys(const uint8_t *buf, size_t len, agent_state *st)
{
	return parse_buffer(buf, len, KEYS_MAGIC, keys_line_cb, st);
}

lethe_status
agent_state_parse_kdc(const uint8_t *buf, size_t len, const agent_config *cfg,
    size_t k, agent_state *st)
{
	kdc_parse kp = { cfg, st, k, false, false };

	ENSURE(k < AGENT_MAX_KDCS, LETHE_ERR_INVALID_ARG);
	return parse_buffer(buf, len, KDC_MAGIC, kdc_line_cb, &kp);
}

/* Parse the file name in state_dir with fn (kdc k); a missing file is fine. */
static lethe_status
load_one(const agent_config *cfg, const char *name, size_t k, agent_state *st)
{
	char path[AGENT_PATH_MAX + AGENT_NAME_MAX + 16];
	char *text = NULL;
	size_t len = 0;
	lethe_status rc;

	GUARD(state_path(cfg, name, path, sizeof(path)));
	rc = read_file(path, &text, &len);
	if (rc == LETHE_ERR_NOT_FOUND)
		return LETHE_OK;
	if (rc == LETHE_OK && k == SIZE_MAX)
		rc = agent_state_parse_keys((const uint8_t *)text, len, st);
	else if (rc == LETHE_OK)
		rc = agent_state_parse_kdc((const uint8_t *)text, len, cfg, k, st);
	free(text);
	return rc;
}

lethe_status
agent_state_load(const agent_config *cfg, agent_state *st)
{
	char name[AGENT_NAME_MAX + 8];
	lethe_status rc;

	agent_state_init(st);
	rc = load_one(cfg, "keys", SIZE_MAX, st);
	for (size_t k = 0; rc == LETHE_OK && k < cfg->nkdcs; k++) {
		rc = kdc_file_name(&cfg->kdcs[k], name, sizeof(name));
		if (rc == LETHE_OK)
			rc = load_one(cfg, name, k, st);
	}
	if (rc != LETHE_OK)
		agent_state_free(st);
	return rc;
}

/* Create state_dir (mode 0700) if it is missing. */
static lethe_status
ensure_dir(const agent_config *cfg)
{
	if (mkdir(cfg->state_dir, 0700) == 0 || errno == EEXIST)
		return LETHE_OK;
	return LETHE_ERR_IO;
}

static lethe_status
write_text(const agent_config *cfg, const char *name, text_buf *tb)
{
	char path[AGENT_PATH_MAX + AGENT_NAME_MAX + 16];

	ENSURE(tb->ok, LETHE_ERR_NOMEM);
	GUARD(state_path(cfg, name, path, sizeof(path)));
	GUARD(ensure_dir(cfg));
	return lethe_file_write_secret(path, (const uint8_t *)tb->data, tb->len, true);
}

lethe_status
agent_state_save_keys(const agent_config *cfg, const agent_state *st)
{
	text_buf tb;
	lethe_status rc;

	GUARD(tb_init(&tb));
	tb_printf(&tb, "%s\n", KEYS_MAGIC);
	for (size_t i = 0; i < st->nkvnos; i++)
		tb_printf(&tb, "kvno\t%" PRIu32 "\t%s\n", st->kvnos[i].kvno,
		    st->kvnos[i].principal);
	for (size_t i = 0; i < st->nkeys; i++) {
		const agent_key_rec *r = &st->keys[i];
		tb_printf(&tb, "key\t%" PRIu32 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64
		    "\t%s\n", r->kvno, r->created, r->use_until, r->accept_until,
		    r->principal);
	}
	rc = write_text(cfg, "keys", &tb);
	free(tb.data);
	return rc;
}

/* text with tabs, newlines and other control bytes as spaces. */
static void
clean_text(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < cap; i++)
		out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? ' ' : in[i];
	out[i] = '\0';
}

lethe_status
agent_state_save_kdc(const agent_config *cfg, const agent_state *st, size_t k)
{
	char name[AGENT_NAME_MAX + 8], text[AGENT_TEXT_MAX];
	text_buf tb;
	lethe_status rc;

	ENSURE(k < cfg->nkdcs, LETHE_ERR_INVALID_ARG);
	GUARD(kdc_file_name(&cfg->kdcs[k], name, sizeof(name)));
	GUARD(tb_init(&tb));
	tb_printf(&tb, "%s\nkdc\t%s\n", KDC_MAGIC, cfg->kdcs[k].name);
	for (size_t p = 0; p < cfg->nprincipals; p++) {
		const agent_reg_rec *r = &st->reg[k][p];

		clean_text(r->text, text, sizeof(text));
		tb_printf(&tb, "reg\t%" PRIu32 "\t%d\t%" PRIu32 "\t%d\t%" PRIu32
		    "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\t%s\n", r->kvno,
		    r->done ? 1 : 0, r->ok_kvno, r->result, r->failures,
		    r->last_attempt, r->last_ok, r->next_attempt,
		    cfg->principals[p], text);
	}
	rc = write_text(cfg, name, &tb);
	free(tb.data);
	return rc;
}

void
agent_state_free(agent_state *st)
{
	free(st->kvnos);
	free(st->keys);
	st->kvnos = NULL;
	st->keys = NULL;
	st->nkvnos = st->nkeys = st->keys_cap = 0;
}

uint32_t
agent_state_kvno(const agent_state *st, const char *principal)
{
	for (size_t i = 0; i < st->nkvnos; i++)
		if (strcmp(st->kvnos[i].principal, principal) == 0)
			return st->kvnos[i].kvno;
	return 0;
}

lethe_status
agent_state_set_kvno(agent_state *st, const char *principal, uint32_t kvno)
{
	size_t len = strlen(principal);
	agent_kvno_rec *grown;

	ENSURE(len > 0 && len < AGENT_NAME_MAX, LETHE_ERR_INVALID_ARG);
	for (size_t i = 0; i < st->nkvnos; i++) {
		if (strcmp(st->kvnos[i].principal, principal) == 0) {
			if (kvno > st->kvnos[i].kvno)
				st->kvnos[i].kvno = kvno;
			return LETHE_OK;
		}
	}
	ENSURE(st->nkvnos < AGENT_MAX_KEY_RECORDS, LETHE_ERR_TOO_BIG);
	grown = realloc(st->kvnos, (st->nkvnos + 1) * sizeof(*grown));
	ENSURE(grown != NULL, LETHE_ERR_NOMEM);
	st->kvnos = grown;
	memcpy(grown[st->nkvnos].principal, principal, len + 1);
	grown[st->nkvnos++].kvno = kvno;
	return LETHE_OK;
}

lethe_status
agent_state_add_key(agent_state *st, const agent_key_rec *rec)
{
	ENSURE(agent_state_find_key(st, rec->principal, rec->kvno) == NULL,
	    LETHE_ERR_INVALID_ARG);
	if (st->nkeys == st->keys_cap) {
		size_t ncap = st->keys_cap ? st->keys_cap * 2 : 16;
		agent_key_rec *grown;

		ENSURE(st->nkeys < AGENT_MAX_KEY_RECORDS, LETHE_ERR_TOO_BIG);
		grown = realloc(st->keys, ncap * sizeof(*grown));
		ENSURE(grown != NULL, LETHE_ERR_NOMEM);
		st->keys = grown;
		st->keys_cap = ncap;
	}
	st->keys[st->nkeys++] = *rec;
	/* A key's kvno is a kvno used, whatever the "kvno" lines say. */
	return agent_state_set_kvno(st, rec->principal, rec->kvno);
}

agent_key_rec *
agent_state_find_key(agent_state *st, const char *principal, uint32_t kvno)
{
	for (size_t i = 0; i < st->nkeys; i++)
		if (st->keys[i].kvno == kvno &&
		    strcmp(st->keys[i].principal, principal) == 0)
			return &st->keys[i];
	return NULL;
}

lethe_status
agent_state_lock(const agent_config *cfg, int *fd_out)
{
	char path[AGENT_PATH_MAX + 64];
	int fd;

	*fd_out = -1;
	GUARD(state_path(cfg, "lock", path, sizeof(path)));
	GUARD(ensure_dir(cfg));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	ENSURE(fd >= 0, LETHE_ERR_IO);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return saved == EWOULDBLOCK ? LETHE_ERR_INVALID_ARG : LETHE_ERR_IO;
	}
	*fd_out = fd;
	return LETHE_OK;
}
