/*
 * lethe-admin import-mit: an MIT Kerberos realm (kdb5_util dump and the
 * master key stash) into a fresh Lethe store, keys re-sealed under
 * Lethe's master key. The mapping is in docs/store.md ("Import from MIT").
 */
#include "admin/admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/wipe.h"
#include "crypto/crypto.h"
#include "store/mit_dump.h"

#define IMPORT_MAX_DUMP   ((size_t)4 << 30)   /* bytes of a dump file */
#define IMPORT_MAX_STASH  65536u              /* bytes of a stash file */

/* MIT flags with no Lethe attribute, named as kadmin names them. */
static const struct {
	uint32_t bit;
	const char *name;
} unmapped_flags[] = {
	{ MIT_DISALLOW_TGT_BASED, "-allow_tgs_req" },
	{ MIT_DISALLOW_DUP_SKEY, "-allow_dup_skey" },
	{ MIT_REQUIRES_HW_AUTH, "+requires_hwauth" },
	{ MIT_REQUIRES_PWCHANGE, "+needchange" },
	{ MIT_PWCHANGE_SERVICE, "+password_changing_service" },
	{ MIT_SUPPORT_DESMD5, "+support_desmd5" },
	{ MIT_NEW_PRINC, "new_princ" },
	{ MIT_OK_TO_AUTH_AS_DELEGATE, "+ok_to_auth_as_delegate" },
	{ MIT_NO_AUTH_DATA_REQUIRED, "+no_auth_data_required" },
	{ MIT_LOCKDOWN_KEYS, "+lockdown_keys" },
};

#define MAPPED_FLAGS                                                         \
	(MIT_DISALLOW_POSTDATED | MIT_DISALLOW_FORWARDABLE |                 \
	 MIT_DISALLOW_RENEWABLE | MIT_DISALLOW_PROXIABLE |                   \
	 MIT_DISALLOW_ALL_TIX | MIT_REQUIRES_PRE_AUTH | MIT_DISALLOW_SVR |   \
	 MIT_OK_AS_DELEGATE)

/* The import in progress. */
typedef struct importer {
	const char *realm;
	bool keep_mit_flags;
	mit_stash stash;
	store_principal *list;    /* what goes into the store */
	size_t count, cap;
	char *notes;              /* the report, one line per principal noted */
	size_t notes_len;
	FILE *out;                /* open_memstream on notes */
	bool has_tgt;
	size_t users, services, tgts, keys, skipped, policies, noted;
	size_t defaults_svr, defaults_preauth, times_dropped;
	char err[512];            /* why the import stopped */
} importer;

/* Read the whole file at path (at most max bytes) into *buf, *len; NOT_FOUND when absent. */
static lethe_status
read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	lethe_status rc = lethe_file_read(path, max, buf, len);

	return rc == LETHE_ERR_IO && errno == ENOENT ? LETHE_ERR_NOT_FOUND : rc;
}

/*
 * The kind of an MIT principal: krbtgt/X → krbtgt; MIT's own services
 * (kadmin/..., kiprop/...) and names of two or more components whose last
 * one looks like a host (has a dot, or is "localhost") → service;
 * anything else → user.
 */
static enum store_principal_kind
infer_kind(const kt_principal *p)
{
	const kt_buf *first = &p->components[0], *last;

	if (p->ncomponents == 2 && first->len == 6 &&
	    memcmp(first->data, "krbtgt", 6) == 0)
		return STORE_KIND_KRBTGT;
	if (p->ncomponents < 2)
		return STORE_KIND_USER;
	if ((first->len == 6 && memcmp(first->data, "kadmin", 6) == 0) ||
	    (first->len == 6 && memcmp(first->data, "kiprop", 6) == 0))
		return STORE_KIND_SERVICE;
	last = &p->components[p->ncomponents - 1];
	if ((last->len > 0 && memchr(last->data, '.', last->len) != NULL) ||
	    (last->len == 9 && memcmp(last->data, "localhost", 9) == 0))
		return STORE_KIND_SERVICE;
	return STORE_KIND_USER;
}

/* Start or continue the note line of principal name. */
static void
note(importer *im, const char *name, bool *started, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
note(importer *im, const char *name, bool *started, const char *fmt, ...)
{
	va_list ap;

	if (!*started) {
		fprintf(im->out, "%s:", name);
		*started = true;
		im->noted++;
	} else {
		fputc(';', im->out);
	}
	fputc(' ', im->out);
	va_start(ap, fmt);
	vfprintf(im->out, fmt, ap);
	va_end(ap);
}

/* Lethe attributes for MIT's; what has no equivalent is noted. */
static uint32_t
map_attributes(importer *im, const mit_principal *mp,
    enum store_principal_kind kind, const char *name, bool *noted)
{
	uint32_t mit = mp->attributes;
	uint32_t a = STORE_ATTR_ALLOW_FORWARDABLE | STORE_ATTR_ALLOW_RENEWABLE |
	    STORE_ATTR_ALLOW_PROXIABLE | STORE_ATTR_ALLOW_POSTDATED;
	uint32_t rest = mit & ~MAPPED_FLAGS;

	if (mit & MIT_DISALLOW_POSTDATED)
		a &= ~STORE_ATTR_ALLOW_POSTDATED;
	if (mit & MIT_DISALLOW_FORWARDABLE)
		a &= ~STORE_ATTR_ALLOW_FORWARDABLE;
	if (mit & MIT_DISALLOW_RENEWABLE)
		a &= ~STORE_ATTR_ALLOW_RENEWABLE;
	if (mit & MIT_DISALLOW_PROXIABLE)
		a &= ~STORE_ATTR_ALLOW_PROXIABLE;
	if (mit & MIT_DISALLOW_ALL_TIX)
		a |= STORE_ATTR_DISABLED;
	if (mit & MIT_REQUIRES_PRE_AUTH)
		a |= STORE_ATTR_REQUIRES_PREAUTH;
	if (mit & MIT_DISALLOW_SVR)
		a |= STORE_ATTR_NO_SERVICE;
	if (mit & MIT_OK_AS_DELEGATE)
		a |= STORE_ATTR_OK_AS_DELEGATE;
	for (size_t i = 0; i < sizeof(unmapped_flags) / sizeof(unmapped_flags[0]); i++)
		if (rest & unmapped_flags[i].bit) {
			note(im, name, noted, "flag %s not carried",
			    unmapped_flags[i].name);
			rest &= ~unmapped_flags[i].bit;
		}
	if (rest != 0)
		note(im, name, noted, "unknown flags 0x%x not carried", rest);
	if (im->keep_mit_flags || kind == STORE_KIND_KRBTGT)
		return a;
	/* Lethe's safer defaults (docs/store.md); --keep-mit-flags keeps MIT's. */
	if (!(mit & MIT_REQUIRES_PRE_AUTH)) {
		a |= STORE_ATTR_REQUIRES_PREAUTH;
		note(im, name, noted, "requires_preauth added (Lethe's default)");
		im->defaults_preauth++;
	}
	if (kind == STORE_KIND_USER && !(mit & MIT_DISALLOW_SVR)) {
		a |= STORE_ATTR_NO_SERVICE;
		note(im, name, noted, "no_service added (Lethe's default for users; "
		    "MIT let it be a ticket's server)");
		im->defaults_svr++;
	}
	return a;
}

/* The policy name and password history in MIT's KRB5_TL_KADM_DATA (XDR). */
static void
note_kadm_data(importer *im, lbytes d, const char *name, bool *noted)
{
	size_t size, off, pad, nold;

	/* int version, u_int size, size bytes (NUL-terminated), padded to 4. */
	if (d.len < 8)
		return;
	size = (size_t)lethe_load_be32(d.data + 4);
	if (size > d.len - 8)
		return;
	if (size > 0 && d.data[8 + size - 1] == '\0')
		note(im, name, noted, "policy \"%s\" not carried",
		    (const char *)d.data + 8);
	/* aux_attributes, old_key_next, admin_history_kvno, old_keys count. */
	pad = (4 - size % 4) % 4;
	off = 8 + size + pad + 12;
	if (off > d.len || d.len - off < 4)
		return;
	nold = (size_t)lethe_load_be32(d.data + off);
	if (nold > 0)
		note(im, name, noted, "password history (%zu entries) not carried",
		    nold);
}

static void
note_tl_data(importer *im, const mit_principal *mp, const char *name, bool *noted)
{
	bool times = false;

	for (size_t i = 0; i < mp->ntl; i++) {
		switch (mp->tl[i].type) {
		case MIT_TL_LAST_PWD_CHANGE:
		case MIT_TL_MOD_PRINC:
			times = true;   /* counted in the summary */
			break;
		case MIT_TL_MKVNO:
			break;          /* used to decrypt */
		case MIT_TL_KADM_DATA:
			note_kadm_data(im, mp->tl[i].data, name, noted);
			break;
		case MIT_TL_STRING_ATTRS:
			note(im, name, noted, "string attributes not carried");
			break;
		default:
			note(im, name, noted, "tl_data type %d not carried",
			    (int)mp->tl[i].type);
			break;
		}
	}
	if (times)
		im->times_dropped++;
	if (mp->pw_expiration != 0) {
		char buf[40];

		note(im, name, noted, "password expiry %s not carried",
		    admin_time(mp->pw_expiration, buf, sizeof(buf)));
	}
	if (mp->fail_auth_count != 0)
		note(im, name, noted, "lockout counter (%u failures) not carried",
		    mp->fail_auth_count);
}

/*
 * The Lethe salt of a key of MIT salt type type and data: NULL for the
 * default; *carried false when Lethe cannot represent it.
 */
static lethe_status
map_salt(const kt_principal *kp, const mit_key_data *kd, store_key *k,
    bool *carried)
{
	size_t len = 0;
	uint8_t *w;

	*carried = true;
	k->salt = NULL;
	k->salt_len = 0;
	if (kd->ver < 2 || kd->type[1] == MIT_SALT_NORMAL)
		return LETHE_OK;
	switch (kd->type[1]) {
	case MIT_SALT_NOREALM:
		for (size_t i = 0; i < kp->ncomponents; i++)
			len += kp->components[i].len;
		break;
	case MIT_SALT_ONLYREALM:
		len = kp->realm.len;
		break;
	case MIT_SALT_SPECIAL:
		len = kd->data[1].len;
		break;
	default:
		*carried = false;
		return LETHE_OK;
	}
	if (len == 0 || len > STORE_MAX_SALT_LEN) {
		*carried = false;   /* an empty salt reads back as the default */
		return LETHE_OK;
	}
	k->salt = w = malloc(len);
	ENSURE(w != NULL, LETHE_ERR_NOMEM);
	k->salt_len = len;
	if (kd->type[1] == MIT_SALT_SPECIAL) {
		memcpy(w, kd->data[1].data, len);
	} else if (kd->type[1] == MIT_SALT_ONLYREALM) {
		memcpy(w, kp->realm.data, len);
	} else {
		for (size_t i = 0; i < kp->ncomponents; i++) {
			if (kp->components[i].len > 0)
				memcpy(w, kp->components[i].data, kp->components[i].len);
			w += kp->components[i].len;
		}
	}
	return LETHE_OK;
}

/* Decrypt and add MIT's keys of mp to p. */
static lethe_status
map_keys(importer *im, const mit_principal *mp, const kt_principal *kp,
    store_principal *p, bool *noted)
{
	mit_mkey *mk = NULL;
	uint32_t mkvno = 0;
	lethe_status rc;

	if (mp->nkeys == 0)
		return LETHE_OK;
	if (mit_principal_mkvno(mp, &im->stash, &mkvno) != LETHE_OK) {
		snprintf(im->err, sizeof(im->err), "%s: malformed master key "
		    "version (KRB5_TL_MKVNO)", p->name);
		return LETHE_ERR_FORMAT;
	}
	for (size_t i = 0; i < im->stash.count; i++)
		if (im->stash.keys[i].kvno == mkvno)
			mk = &im->stash.keys[i];
	if (mk == NULL) {
		snprintf(im->err, sizeof(im->err), "%s: its keys are encrypted in "
		    "master key kvno %u, which the stash does not hold (run "
		    "kdb5_util update_princ_encryption, or stash that key)",
		    p->name, mkvno);
		return LETHE_ERR_NOT_FOUND;
	}
	if (mp->nkeys > STORE_MAX_KEYS) {
		snprintf(im->err, sizeof(im->err), "%s: %zu keys, over Lethe's %u",
		    p->name, mp->nkeys, STORE_MAX_KEYS);
		return LETHE_ERR_TOO_BIG;
	}
	p->keys = calloc(mp->nkeys, sizeof(*p->keys));
	ENSURE(p->keys != NULL, LETHE_ERR_NOMEM);
	for (size_t i = 0; i < mp->nkeys; i++) {
		const mit_key_data *kd = &mp->keys[i];
		store_key *k = &p->keys[p->nkeys];
		const kc_enctype *et = NULL;
		bool carried, dup = false;

		if (kc_enctype_lookup(kd->type[0], &et) != LETHE_OK) {
			note(im, p->name, noted, "kvno %u enctype %d not carried "
			    "(Lethe has AES only: 17 18 19 20)", kd->kvno,
			    (int)kd->type[0]);
			continue;
		}
		for (size_t j = 0; j < p->nkeys; j++)
			dup = dup || (p->keys[j].kvno == kd->kvno &&
			    p->keys[j].enctype == kd->type[0]);
		if (dup) {
			note(im, p->name, noted, "kvno %u enctype %d twice: the "
			    "second not carried", kd->kvno, (int)kd->type[0]);
			continue;
		}
		GUARD(map_salt(kp, kd, k, &carried));
		if (!carried) {
			note(im, p->name, noted, "kvno %u enctype %d not carried: "
			    "salt type %d has no Lethe equivalent", kd->kvno,
			    (int)kd->type[0], (int)kd->type[1]);
			continue;
		}
		rc = mit_key_decrypt(mk, kd, k->key, sizeof(k->key), &k->key_len);
		if (rc == LETHE_OK && k->key_len != et->key_len)
			rc = LETHE_ERR_FORMAT;
		if (rc != LETHE_OK) {
			free(k->salt);
			lethe_wipe(k, sizeof(*k));
			snprintf(im->err, sizeof(im->err), "%s: kvno %u enctype %d "
			    "does not decrypt with master key kvno %u (%s): the "
			    "stash of another realm or database?", p->name,
			    kd->kvno, (int)kd->type[0], mkvno, lethe_status_str(rc));
			return LETHE_ERR_BAD_INTEGRITY;
		}
		k->kvno = kd->kvno;
		k->enctype = kd->type[0];
		k->kind = STORE_KEY_LONG_TERM;
		p->nkeys++;
	}
	if (p->nkeys == 0)
		note(im, p->name, noted, "no key Lethe can use");
	im->keys += p->nkeys;
	return LETHE_OK;
}

/* Room for one more principal in im->list. */
static lethe_status
grow(importer *im)
{
	store_principal *bigger;
	size_t cap;

	if (im->count < im->cap)
		return LETHE_OK;
	cap = im->cap ? im->cap * 2 : 64;
	bigger = realloc(im->list, cap * sizeof(*bigger));
	ENSURE(bigger != NULL, LETHE_ERR_NOMEM);
	im->list = bigger;
	im->cap = cap;
	return LETHE_OK;
}

static bool
is_named(const kt_principal *kp, const char *c0, const char *c1)
{
	return kp->ncomponents == 2 && kp->components[0].len == strlen(c0) &&
	    memcmp(kp->components[0].data, c0, strlen(c0)) == 0 &&
	    kp->components[1].len == strlen(c1) &&
	    memcmp(kp->components[1].data, c1, strlen(c1)) == 0;
}

/* One principal record of the dump into im->list. */
static lethe_status
import_principal(importer *im, const mit_principal *mp)
{
	kt_principal kp = { 0 };
	store_principal *p;
	char *canon = NULL;
	bool noted = false;
	lethe_status rc;

	rc = kt_principal_parse(mp->name, mp->name_len, NULL, &kp);
	if (rc == LETHE_OK)
		rc = kt_principal_unparse(&kp, &canon);
	if (rc != LETHE_OK) {
		snprintf(im->err, sizeof(im->err), "principal \"%.200s\": not a "
		    "principal name", mp->name);
		goto cleanup;
	}
	if (kp.realm.len != strlen(im->realm) ||
	    memcmp(kp.realm.data, im->realm, kp.realm.len) != 0) {
		snprintf(im->err, sizeof(im->err), "principal %.300s is not of the "
		    "store's realm %s: import into a store made for the dump's "
		    "realm", canon, im->realm);
		rc = LETHE_ERR_INVALID_ARG;
		goto cleanup;
	}
	if (is_named(&kp, "K", "M")) {
		note(im, canon, &noted, "MIT's master key principal, not carried "
		    "(Lethe has its own master key)");
		im->skipped++;
		goto cleanup;
	}
	for (size_t i = 0; i < mp->ntl; i++)
		if (mp->tl[i].type == MIT_TL_ALIAS_TARGET) {
			note(im, canon, &noted, "an alias, not carried");
			im->skipped++;
			goto cleanup;
		}
	if (mp->max_life < 0 || mp->max_renew < 0) {
		snprintf(im->err, sizeof(im->err), "%s: negative max_life or "
		    "max_renewable_life", canon);
		rc = LETHE_ERR_FORMAT;
		goto cleanup;
	}
	GUARD_GOTO(rc, grow(im));
	p = &im->list[im->count];
	*p = (store_principal){ .name = canon, .kind = infer_kind(&kp),
		.max_life = mp->max_life, .max_renew = mp->max_renew,
		.expires_at = mp->expiration };
	canon = NULL;
	im->count++;
	p->attributes = map_attributes(im, mp, p->kind, p->name, &noted);
	note_tl_data(im, mp, p->name, &noted);
	GUARD_GOTO(rc, map_keys(im, mp, &kp, p, &noted));
	if (p->kind == STORE_KIND_KRBTGT) {
		im->tgts++;
		im->has_tgt = im->has_tgt || is_named(&kp, "krbtgt", im->realm);
	} else if (p->kind == STORE_KIND_SERVICE) {
		im->services++;
	} else {
		im->users++;
	}
cleanup:
	if (noted)
		fputc('\n', im->out);
	free(canon);
	kt_principal_clear(&kp);
	return rc;
}

static lethe_status
record_cb(void *ctx, const mit_record *rec)
{
	importer *im = ctx;

	if (rec->kind == MIT_RECORD_POLICY) {
		fprintf(im->out, "policy %s: not carried (Lethe has no password "
		    "policies here)\n", rec->policy.name);
		im->policies++;
		return LETHE_OK;
	}
	return import_principal(im, &rec->princ);
}

static void
importer_free(importer *im)
{
	for (size_t i = 0; i < im->count; i++) {
		store_principal *p = &im->list[i];

		for (size_t j = 0; j < p->nkeys; j++) {
			free(p->keys[j].salt);
			lethe_wipe(&p->keys[j], sizeof(p->keys[j]));
		}
		free(p->keys);
		free(p->name);
	}
	free(im->list);
	mit_stash_clear(&im->stash);
	if (im->out != NULL)
		fclose(im->out);
	free(im->notes);
}

static int
parse_opts(int argc, char **argv, const char **dump, const char **stash,
    bool *keep)
{
	static const struct option opts[] = {
		{ "stash", required_argument, NULL, 's' },
		{ "keep-mit-flags", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (c == 's') {
			*stash = optarg;
		} else if (c == 'K') {
			*keep = true;
		} else {
			admin_err("%s: unknown option", argv[0]);
			return ADMIN_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || *stash == NULL) {
		admin_err("usage: import-mit DUMP --stash FILE [--keep-mit-flags]");
		return ADMIN_EXIT_USAGE;
	}
	*dump = argv[optind];
	return ADMIN_EXIT_OK;
}

/* Read the stash into im->stash. Returns an exit code. */
static int
load_stash(importer *im, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	lethe_status rc = read_file(path, IMPORT_MAX_STASH, &buf, &len);

	if (rc != LETHE_OK) {
		admin_err("%s: cannot read the stash (%s)", path, lethe_status_str(rc));
		return rc == LETHE_ERR_NOT_FOUND ? ADMIN_EXIT_NOT_FOUND : ADMIN_EXIT_OTHER;
	}
	rc = mit_stash_parse(buf, len, NULL, &im->stash);
	lethe_wipe(buf, len);
	free(buf);
	if (rc == LETHE_ERR_ETYPE_NOSUPP) {
		admin_err("%s: the master key's enctype is not one Lethe has (17 18 "
		    "19 20): add an AES master key with kdb5_util add_mkey, "
		    "use_mkey and update_princ_encryption first", path);
		return ADMIN_EXIT_OTHER;
	}
	if (rc != LETHE_OK) {
		admin_err("%s: not an MIT master key stash (%s)", path,
		    lethe_status_str(rc));
		return ADMIN_EXIT_OTHER;
	}
	if (im->stash.realm[0] != '\0' && strcmp(im->stash.realm, im->realm) != 0) {
		admin_err("%s: the master key of realm %s, not of the store's realm "
		    "%s: import into a store made for the dump's realm", path,
		    im->stash.realm, im->realm);
		return ADMIN_EXIT_USAGE;
	}
	return ADMIN_EXIT_OK;
}

int
cmd_import_mit(admin_ctx *ctx, int argc, char **argv)
{
	const char *dump_path = NULL, *stash_path = NULL;
	importer im = { 0 };
	mit_dump_error perr;
	uint8_t *dump = NULL;
	size_t dump_len = 0;
	lethe_status rc;
	int ex;

	ex = parse_opts(argc, argv, &dump_path, &stash_path, &im.keep_mit_flags);
	if (ex != ADMIN_EXIT_OK)
		return ex;
	ex = admin_open_store(ctx);
	if (ex != ADMIN_EXIT_OK)
		return ex;
	im.realm = ctx->policy.realm;
	im.out = open_memstream(&im.notes, &im.notes_len);
	if (im.out == NULL) {
		admin_err("out of memory");
		return ADMIN_EXIT_OTHER;
	}
	ex = load_stash(&im, stash_path);
	if (ex != ADMIN_EXIT_OK)
		goto cleanup;
	rc = read_file(dump_path, IMPORT_MAX_DUMP, &dump, &dump_len);
	if (rc != LETHE_OK) {
		admin_err("%s: cannot read the dump (%s)", dump_path,
		    lethe_status_str(rc));
		ex = rc == LETHE_ERR_NOT_FOUND ? ADMIN_EXIT_NOT_FOUND : ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	rc = mit_dump_parse(dump, dump_len, record_cb, &im, &perr);
	if (rc != LETHE_OK) {
		if (im.err[0] != '\0')
			admin_err("%s: %s", dump_path, im.err);
		else if (perr.text[0] != '\0')
			admin_err("%s:%zu: %s", dump_path, perr.line, perr.text);
		else
			admin_err("%s: %s", dump_path, lethe_status_str(rc));
		/* import_principal's refusal of another realm's name. */
		ex = rc == LETHE_ERR_INVALID_ARG ? ADMIN_EXIT_USAGE : ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	if (!im.has_tgt) {
		admin_err("%s: no krbtgt/%s@%s in the dump: not a dump of realm %s",
		    dump_path, im.realm, im.realm, im.realm);
		ex = ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	rc = store_principal_import_fresh(ctx->st, im.list, im.count);
	if (rc != LETHE_OK) {
		ex = admin_store_fail(ctx, rc, "import");
		goto cleanup;
	}
	if (fflush(im.out) != 0) {
		admin_err("out of memory");
		ex = ADMIN_EXIT_OTHER;
		goto cleanup;
	}
	fwrite(im.notes, 1, im.notes_len, stdout);
	printf("imported %zu principals (%zu users, %zu services, %zu krbtgt) "
	    "with %zu keys from %s into realm %s\n", im.count, im.users,
	    im.services, im.tgts, im.keys, dump_path, im.realm);
	printf("not carried: %zu principals skipped, %zu policies; "
	    "%zu principals had notes above\n", im.skipped, im.policies, im.noted);
	if (!im.keep_mit_flags)
		printf("Lethe's defaults added: requires_preauth to %zu principals, "
		    "no_service to %zu users (--keep-mit-flags keeps MIT's)\n",
		    im.defaults_preauth, im.defaults_svr);
	if (im.times_dropped > 0)
		printf("%zu principals' last password change and modification "
		    "times not carried: the import time stands for both\n",
		    im.times_dropped);
cleanup:
	if (dump != NULL) {
		lethe_wipe(dump, dump_len);
		free(dump);
	}
	importer_free(&im);
	return ex;
}
