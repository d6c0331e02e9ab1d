#!/usr/bin/env bash
# kdc_apache.sh LETHE_KDC LETHE_ADMIN: curl --negotiate against Apache
# mod_auth_gssapi, with tickets from lethe-kdc and the service's classic key
# exported by lethe-admin: 401 without a ticket, 200 and the user's name in
# the access log with one, over the service ticket MIT's GSSAPI asked for.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/apache.sh
. "$HERE/lib/apache.sh"

KDC=${1:?usage: kdc_apache.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: kdc_apache.sh LETHE_KDC LETHE_ADMIN}
REALM=LETHE.TEST
ALICE_PW='alice: apache'

lethe_require_tools kinit klist apache2 curl timeout grep awk
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_admin add-service HTTP/localhost
mkdir -p "$S/keys"
lethe_realm_admin export-keytab HTTP/localhost -k "$S/keys/http.keytab"
lethe_kdc_start "$KDC"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
apache_start "$S/apache" "$S/keys/http.keytab"

code=$(apache_negotiate "$S/anon.out")
[ "$code" = 401 ] || lethe_die "without a ticket: HTTP $code, want 401"
echo "ok: 401 without a ticket"

printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit alice: $(cat "$S/kinit.out")"
code=$(apache_negotiate "$S/page.out")
[ "$code" = 200 ] || lethe_die "with a ticket: HTTP $code, want 200: $(cat "$S/page.out.err" 2>/dev/null); $(tail -5 "$APACHE_DIR/error.log")"
grep -q 'hello from apache' "$S/page.out" || lethe_die "unexpected page: $(cat "$S/page.out")"
user=$(apache_last_user)
[ "$user" = "alice@$REALM" ] || lethe_die "access log names '$user', want alice@$REALM"
mit_klist >"$S/klist.out" 2>&1 || lethe_die "klist: $(cat "$S/klist.out")"
grep -q "HTTP/localhost@$REALM" "$S/klist.out" ||
	lethe_die "no service ticket for HTTP/localhost in the cache: $(cat "$S/klist.out")"
lethe_kdc_log_has "type=TGS .*service=HTTP/localhost@$REALM .*result=OK" ||
	lethe_die "lethe-kdc logged no TGS for HTTP/localhost"
echo "ok: curl --negotiate gets 200 as alice@$REALM"

lethe_kdc_stop
echo "PASS kdc_apache"
