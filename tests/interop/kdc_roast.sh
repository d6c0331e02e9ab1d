#!/usr/bin/env bash
# kdc_roast.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL: the offline password-cracking
# attacks, made from outside against a running lethe-kdc; each must find
# nothing encrypted under a password key (docs/kdc.md, "Who may be a client,
# who a server").
#  (a) a raw AS-REQ as krbtgt/REALM (no key needed) for user bob: KDC_ERR_POLICY
#  (b) a raw AS-REQ without pre-authentication as a service, and as a user
#      without requires_preauth, for bob: KDC_ERR_S_PRINCIPAL_UNKNOWN; as the
#      service for its TGT: PREAUTH_REQUIRED, so no AS-REP under its key
#  (c) MIT kvno bob as alice (Kerberoasting): "Server not found in Kerberos
#      database"
#  (d) after lethe-admin modify --allow-svr bob, kvno bob works; the raw
#      requests of (a) and (b) still get nothing
#  and MIT kinit -k -t KEYTAB host/... still gets a TGT, pre-authenticated.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_roast.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL}
ADMIN=${2:?usage: kdc_roast.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL}
TOOL=${3:?usage: kdc_roast.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL}
REALM=LETHE.TEST
SERVICE=host/server.lethe.test
ALICE_PW='alice: correct horse'
STEP_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy timeout grep python3
[ -x "$TOOL" ] || lethe_die "krb5_tool not found at $TOOL"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

# ---- the realm --------------------------------------------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_add_user bob 'bob: the target'
lethe_realm_add_user carol 'carol: no preauth' --no-preauth
lethe_realm_admin add-service "$SERVICE"
# The service pre-authenticates whatever lethe-admin's or the store's default.
lethe_realm_admin modify "$SERVICE" --requires-preauth
lethe_realm_admin export-keytab "$SERVICE" -k "$S/server.keytab"
lethe_kdc_start "$KDC"

# One AS-REQ without padata for client $1 and server $2; its reply decoded
# into $S/rep.txt ("path=value" lines).
raw_as() {
	rm -f "$S/rep.der"
	timeout "$STEP_TIMEOUT" "$TOOL" asreq "127.0.0.1:$LETHE_KDC_PORT" "$REALM" "$1" "$2" \
		"$S/rep.der" || lethe_die "krb5_tool asreq $1 -> $2: no reply"
	timeout "$STEP_TIMEOUT" "$TOOL" decode "$S/rep.der" >"$S/rep.txt" ||
		lethe_die "the reply to $1 -> $2 does not decode: $(cat "$S/rep.txt")"
}

# raw_as $1 $2 must be refused with error code $3 and an e-text holding $4.
raw_as_refused() {
	local client=$1 server=$2 code=$3 text=$4
	raw_as "$client" "$server"
	grep -qx 'type=as-rep' "$S/rep.txt" &&
		lethe_die "$client -> $server: an AS-REP (ticket under $server's key): $(cat "$S/rep.txt")"
	grep -qx "error-code=$code" "$S/rep.txt" ||
		lethe_die "$client -> $server: want error $code, got: $(grep -E '^(error|e-text)' "$S/rep.txt")"
	grep -q "^e-text=.*$text" "$S/rep.txt" ||
		lethe_die "$client -> $server: e-text lacks '$text': $(grep '^e-text' "$S/rep.txt")"
}

# The attacks by raw AS-REQ, made before and after bob is allowed as a server.
raw_attacks() {
	# (a) krbtgt as the client: refused by name, whoever the server is.
	raw_as_refused "krbtgt/$REALM" bob 12 "krbtgt/$REALM@$REALM cannot be a client"
	raw_as_refused "krbtgt/$REALM" "krbtgt/$REALM" 12 "cannot be a client"
	# (b) a client that needs no key of the asker's: no ticket for a user ...
	raw_as_refused "$SERVICE" bob "$1" "$2"
	raw_as_refused carol bob "$1" "$2"
	# ... and the service's own AS-REP only after pre-authentication.
	raw_as_refused "$SERVICE" "krbtgt/$REALM" 25 ""
}

# (a), (b) while bob is an ordinary user.
raw_attacks 7 "bob@$REALM is a user, not a service"
lethe_kdc_log_has 'type=AS .*result=OK' &&
	lethe_die "an AS exchange succeeded: $(grep 'type=AS .*result=OK' "$LETHE_REALM_DIR/kdc.log")"
echo "ok: raw AS-REQs as krbtgt, a service or a no-preauth user get nothing under a password key"

# ---- (c) Kerberoasting a user with MIT kvno -----------------------------------
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit alice: $(cat "$S/kinit.out")"
for target in bob alice; do
	rc=0
	mit_kvno "$target@$REALM" >"$S/kvno.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || lethe_die "kvno $target@$REALM succeeded: $(cat "$S/kvno.out")"
	grep -q "Server $target@$REALM not found in Kerberos database" "$S/kvno.out" ||
		lethe_die "kvno $target: MIT said: $(cat "$S/kvno.out")"
done
mit_klist >"$S/klist.out" 2>&1 || lethe_die "klist: $(cat "$S/klist.out")"
grep -q "bob@$REALM" "$S/klist.out" && lethe_die "a ticket for bob is cached: $(cat "$S/klist.out")"
echo "ok: MIT kvno bob as alice: Server not found in Kerberos database"

# ---- (d) an administrator allows bob as a server --------------------------------
lethe_realm_admin modify bob --allow-svr
lethe_wait_until 10 "the KDC to see bob allowed" \
	lethe_kdc_log_has 'event=snapshot reason="store changed"' ||
	lethe_die "no snapshot refresh after modify: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
mit_kvno "bob@$REALM" >"$S/kvno.out" 2>&1 || lethe_die "kvno bob once allowed: $(cat "$S/kvno.out")"
grep -qx "bob@$REALM: kvno = 1" "$S/kvno.out" || lethe_die "kvno bob printed: $(cat "$S/kvno.out")"
# Pre-authentication still keeps bob's ticket from the service without its key;
# krbtgt is still no client.
raw_as_refused "krbtgt/$REALM" bob 12 "cannot be a client"
raw_as_refused "$SERVICE" bob 25 ""
echo "ok: after modify --allow-svr bob, kvno bob works; krbtgt and the service still get nothing"

# ---- MIT kinit -k with the service's keytab ---------------------------------------
mit_kdestroy
mit_kinit -k -t "$S/server.keytab" "$SERVICE@$REALM" >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit -k $SERVICE: $(cat "$S/kinit.out"); trace: $(tail -20 "$MIT_CLIENT_TRACE")"
mit_klist -f >"$S/klist.out" 2>&1 || lethe_die "klist: $(cat "$S/klist.out")"
grep -q "Default principal: $SERVICE@$REALM" "$S/klist.out" ||
	lethe_die "kinit -k: no TGT for $SERVICE: $(cat "$S/klist.out")"
awk '/krbtgt\// { found = 1; next } found && /Flags:/ { print; exit }' "$S/klist.out" |
	grep -q 'Flags: .*A' || lethe_die "the service's TGT is not pre-authenticated: $(cat "$S/klist.out")"
grep "type=AS .*client=$SERVICE@$REALM" "$LETHE_REALM_DIR/kdc.log" | tail -2 >"$S/as.log"
grep -q 'result=KDC_ERR_PREAUTH_REQUIRED' "$S/as.log" && grep -q 'result=OK' "$S/as.log" ||
	lethe_die "kinit -k: want PREAUTH_REQUIRED then OK in the log: $(cat "$S/as.log")"
echo "ok: MIT kinit -k -t keytab $SERVICE pre-authenticates and gets a TGT"

lethe_kdc_stop
echo "PASS: kdc_roast"
