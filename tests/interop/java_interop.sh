#!/usr/bin/env bash
# java_interop.sh LETHE_KDC LETHE_ADMIN JAVA_SOURCE: the JDK's own Kerberos
# (sun.security.krb5 behind JAAS Krb5LoginModule and GSS-API) against
# lethe-kdc: a keytab whose kvno is past 255 (only in the 32-bit kvno field)
# is read by the JDK, alice logs in with her password (AS with
# pre-authentication), asks a ticket for the service (TGS) and the service,
# logged in from the keytab, accepts it and unwraps a sealed message.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: java_interop.sh LETHE_KDC LETHE_ADMIN JAVA_SOURCE}
ADMIN=${2:?usage: java_interop.sh LETHE_KDC LETHE_ADMIN JAVA_SOURCE}
JAVA_SRC=${3:?usage: java_interop.sh LETHE_KDC LETHE_ADMIN JAVA_SOURCE}
REALM=LETHE.TEST
SERVICE=HTTP/java.lethe.test
ALICE_PW='alice: java'
KVNO=300

lethe_require_tools java klist timeout grep
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_admin add-service "$SERVICE"
# kvno 1 from add-service, then one more per new random key.
for _ in $(seq 2 "$KVNO"); do
	lethe_realm_admin passwd "$SERVICE" --random
done
mkdir -p "$S/keys"
lethe_realm_admin export-keytab "$SERVICE" -k "$S/keys/http.keytab"
lethe_kdc_start "$KDC"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp

# MIT's reader sees the same kvno: the two readers agree on the file.
KRB5_CONFIG="$MIT_CLIENT_CONF" klist -k "$S/keys/http.keytab" >"$S/klist.out" 2>&1 ||
	lethe_die "klist -k: $(cat "$S/klist.out")"
grep -Eq "^ *$KVNO +$SERVICE@$REALM" "$S/klist.out" ||
	lethe_die "MIT klist -k does not list kvno $KVNO: $(cat "$S/klist.out")"
echo "ok: MIT klist -k lists kvno $KVNO"

out=$S/java.out
if ! timeout 120 java -Djava.security.krb5.conf="$MIT_CLIENT_CONF" \
	-Dsun.security.krb5.disableReferrals=true \
	"$JAVA_SRC" "$S/keys/http.keytab" "$SERVICE@$REALM" "$KVNO" "alice@$REALM" \
	"$ALICE_PW" >"$out" 2>&1; then
	cat "$out" >&2
	tail -20 "$LETHE_REALM_DIR/kdc.log" >&2
	lethe_die "the JDK could not use lethe-kdc"
fi
cat "$out"
grep -q "ok: JDK acceptor accepted alice@$REALM with kvno $KVNO" "$out" ||
	lethe_die "the JDK run did not reach the acceptor"
lethe_kdc_log_has "type=AS client=alice@$REALM .*result=OK" ||
	lethe_die "lethe-kdc logged no AS exchange for the JDK client"
lethe_kdc_log_has "type=TGS client=alice@$REALM service=$SERVICE@$REALM .*result=OK" ||
	lethe_die "lethe-kdc logged no TGS exchange for $SERVICE"

lethe_kdc_stop
echo "PASS java_interop"
