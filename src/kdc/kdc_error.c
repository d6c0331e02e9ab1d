/* Refusals: recording the verdict and encoding the KRB-ERROR. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kdc/kdc_int.h"

int32_t
kdc_fail(kdc_request *r, int32_t code, const char *fmt, ...)
{
	va_list ap;

	r->error = code;
	va_start(ap, fmt);
	vsnprintf(r->e_text, sizeof(r->e_text), fmt, ap);
	va_end(ap);
	return code;
}

int32_t
kdc_fail_status(kdc_request *r, lethe_status rc, const char *what)
{
	return kdc_fail(r, KRB_ERR_GENERIC, "internal error while %s: %s", what,
	    lethe_status_str(rc));
}

void
kdc_name_str(const krb_principal_name *name, lbytes realm, char *buf, size_t cap)
{
	size_t len;

	if (cap == 0)
		return;
	if (krb_principal_unparse(name, realm, buf, cap, &len) != LETHE_OK)
		snprintf(buf, cap, "(name too long)");
}

lethe_status
kdc_encode_error(const kdc_request *r, der_writer *w)
{
	lbytes tgs_comps[2] = { LBYTES_LIT("krbtgt"), r->realm };
	krb_error e = {
		.stime = r->now,
		.susec = r->usec,
		.error_code = r->error,
		.realm = r->realm,
		.sname = { KRB_NT_SRV_INST, tgs_comps, 2 },
	};

	if (r->has_sname)
		e.sname = r->sname;
	if (r->has_cname) {
		e.has_cname = true;
		e.cname = r->cname;
		e.has_crealm = true;
		e.crealm = r->crealm;
	}
	if (r->e_text[0] != '\0') {
		e.has_e_text = true;
		e.e_text = lbytes_make(r->e_text, strlen(r->e_text));
	}
	if (r->has_e_data) {
		e.has_e_data = true;
		e.e_data = r->e_data;
	}
	return krb_encode_krb_error(w, &e);
}

void
kdc_time_str(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)t);
}
