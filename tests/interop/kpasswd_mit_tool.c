/*
 * lethe-kpasswd-mit-tool CCACHE NEWPW TARGET: MIT's own set-password
 * client, krb5_set_password_using_ccache() of libkrb5.so.3 (loaded with
 * dlopen, so no MIT headers are needed to build). It takes a ticket for
 * kadmin/changepw from the TGT in CCACHE through the TGS, so the ticket is
 * not INITIAL, and sends a set-password request (0xff80) naming TARGET.
 *
 * Prints "result N: TEXT" (RFC 3244 result code and the server's text)
 * and exits 0 when the exchange took place, whatever the result; 1 when
 * it did not (MIT's error on stderr); 2 for bad arguments.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parts of MIT's ABI used here (krb5.h, stable since 1.0). */
typedef int32_t krb5_error_code;
typedef void *krb5_context;
typedef void *krb5_ccache;
typedef void *krb5_principal;
typedef struct {
	int32_t magic;
	unsigned int length;
	char *data;
} krb5_data;

typedef struct mit {
	krb5_error_code (*init_context)(krb5_context *);
	void (*free_context)(krb5_context);
	krb5_error_code (*cc_resolve)(krb5_context, const char *, krb5_ccache *);
	krb5_error_code (*cc_close)(krb5_context, krb5_ccache);
	krb5_error_code (*parse_name)(krb5_context, const char *, krb5_principal *);
	void (*free_principal)(krb5_context, krb5_principal);
	krb5_error_code (*set_password_using_ccache)(krb5_context, krb5_ccache, char *,
	    krb5_principal, int *, krb5_data *, krb5_data *);
	const char *(*get_error_message)(krb5_context, krb5_error_code);
	void (*free_data_contents)(krb5_context, krb5_data *);
} mit;

static int
load(mit *m)
{
	void *h = dlopen("libkrb5.so.3", RTLD_NOW);

	if (h == NULL) {
		fprintf(stderr, "kpasswd-mit-tool: %s\n", dlerror());
		return -1;
	}
#define SYM(field, name)                                                      \
	do {                                                                  \
		*(void **)&m->field = dlsym(h, name);                         \
		if (m->field == NULL) {                                       \
			fprintf(stderr, "kpasswd-mit-tool: no %s\n", name);   \
			return -1;                                            \
		}                                                             \
	} while (0)
	SYM(init_context, "krb5_init_context");
	SYM(free_context, "krb5_free_context");
	SYM(cc_resolve, "krb5_cc_resolve");
	SYM(cc_close, "krb5_cc_close");
	SYM(parse_name, "krb5_parse_name");
	SYM(free_principal, "krb5_free_principal");
	SYM(set_password_using_ccache, "krb5_set_password_using_ccache");
	SYM(get_error_message, "krb5_get_error_message");
	SYM(free_data_contents, "krb5_free_data_contents");
#undef SYM
	return 0;
}

int
main(int argc, char **argv)
{
	krb5_data code_str = { 0 }, text = { 0 };
	krb5_principal target = NULL;
	krb5_context ctx = NULL;
	krb5_ccache cc = NULL;
	krb5_error_code ret;
	int result = -1, ex = 1;
	mit m;

	if (argc != 4) {
		fprintf(stderr, "usage: lethe-kpasswd-mit-tool CCACHE NEWPW TARGET\n");
		return 2;
	}
	if (load(&m) != 0 || m.init_context(&ctx) != 0)
		return 1;
	ret = m.cc_resolve(ctx, argv[1], &cc);
	if (ret == 0)
		ret = m.parse_name(ctx, argv[3], &target);
	if (ret == 0)
		ret = m.set_password_using_ccache(ctx, cc, argv[2], target, &result, &code_str,
		    &text);
	if (ret != 0) {
		fprintf(stderr, "kpasswd-mit-tool: %s\n", m.get_error_message(ctx, ret));
	} else {
		printf("result %d: %.*s\n", result, (int)text.length,
		    text.data != NULL ? text.data : "");
		ex = 0;
	}
	m.free_data_contents(ctx, &code_str);
	m.free_data_contents(ctx, &text);
	if (target != NULL)
		m.free_principal(ctx, target);
	if (cc != NULL)
		m.cc_close(ctx, cc);
	m.free_context(ctx);
	return ex;
}
