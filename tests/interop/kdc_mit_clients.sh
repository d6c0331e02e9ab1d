#!/usr/bin/env bash
# kdc_mit_clients.sh LETHE_KDC LETHE_ADMIN: unmodified MIT Kerberos clients
# against lethe-kdc, in a realm made by lethe-admin.
#  - kinit with a password for each of the four AES enctypes, over UDP and TCP
#  - klist -f flags (F P R I A, T on TGS tickets), kvno, kinit -R (no I after it)
#  - MIT's messages for a wrong password and an unknown client
#  - a reply over the UDP limit: KRB_ERR_RESPONSE_TOO_BIG, then MIT retries on TCP
#  - a principal added while the KDC runs is served after the snapshot refresh
#  - SIGHUP reload, SIGTERM shutdown (exit 0, pid file removed)
#  - gss-client / gss-server round trip with a keytab from lethe-admin
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_mit_clients.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: kdc_mit_clients.sh LETHE_KDC LETHE_ADMIN}
REALM=LETHE.TEST
SERVICE=host/server.lethe.test
ALICE_PW='alice: correct horse'
ENCTYPES="aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128"
GSS_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy gss-server gss-client timeout grep sed
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

# ---- the realm --------------------------------------------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_add_user bob 'bob: no preauth' --no-preauth
lethe_realm_admin add-service "$SERVICE"
lethe_realm_admin export-keytab "$SERVICE" -k "$S/server.keytab"
lethe_kdc_start "$KDC"

# The log line of the last request of type $1 (AS or TGS).
last_req() {
	grep "event=kdc_req .*type=$1 " "$LETHE_REALM_DIR/kdc.log" | tail -1
}

# kinit alice with her password; fail with the trace on error.
kinit_alice() {
	printf '%s\n' "$ALICE_PW" | mit_kinit "$@" alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit $* alice failed: $(cat "$S/kinit.out"); trace: $(tail -20 "$MIT_CLIENT_TRACE")"
}

# klist -f -e into $S/klist.out.
klist_fe() {
	mit_klist -f -e >"$S/klist.out" 2>&1 || lethe_die "klist failed: $(cat "$S/klist.out")"
}

# The "Flags:" of the ticket for service $1 in $S/klist.out.
flags_of() {
	awk -v svc="$1@$REALM" '$0 ~ svc { found = 1; next }
		found && /Flags:/ { sub(/.*Flags: */, ""); print; exit }' "$S/klist.out"
}

# The "Etype (skey, tkt)" of the ticket for service $1 in $S/klist.out.
etypes_of() {
	awk -v svc="$1@$REALM" '$0 ~ svc { found = 1; next }
		found && /Etype/ { sub(/.*Etype \(skey, tkt\): */, ""); sub(/ +$/, ""); print; exit }' "$S/klist.out"
}

enctype_number() {
	case $1 in
	aes128-cts-hmac-sha1-96) echo 17 ;;
	aes256-cts-hmac-sha1-96) echo 18 ;;
	aes128-cts-hmac-sha256-128) echo 19 ;;
	aes256-cts-hmac-sha384-192) echo 20 ;;
	esac
}

# ---- kinit for each enctype, over UDP and over TCP ---------------------------
for transport in udp tcp; do
	for et in $ENCTYPES; do
		mit_client_setup "$S/client-$transport-$et" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" \
			"$transport" "default_tkt_enctypes = $et" "default_tgs_enctypes = $et" \
			"permitted_enctypes = $et"
		kinit_alice
		last_req AS | grep -q "transport=$transport .*reply_etype=$(enctype_number "$et") .*result=OK" ||
			lethe_die "no $transport AS exchange with reply etype $et in the KDC log: $(last_req AS)"
		klist_fe
		got=$(etypes_of "krbtgt/$REALM")
		[ "$got" = "$et, aes256-cts-hmac-sha1-96" ] ||
			lethe_die "$transport $et: TGT etypes '$got', want '$et, aes256-cts-hmac-sha1-96'"
		mit_kvno "$SERVICE" >"$S/kvno.out" 2>&1 || lethe_die "kvno ($transport, $et): $(cat "$S/kvno.out")"
		grep -qx "$SERVICE@$REALM: kvno = 1" "$S/kvno.out" ||
			lethe_die "kvno output: $(cat "$S/kvno.out")"
		last_req TGS | grep -q "transport=$transport .*session_etype=$(enctype_number "$et") .*result=OK" ||
			lethe_die "no $transport TGS exchange with session etype $et: $(last_req TGS)"
		echo "ok: kinit and kvno with $et over $transport"
	done
done

# ---- flags, renewal --------------------------------------------------------
mit_client_setup "$S/client-flags" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
kinit_alice -f -p -r 2d -l 1h
klist_fe
[ "$(flags_of "krbtgt/$REALM")" = FPRIA ] ||
	lethe_die "TGT flags '$(flags_of "krbtgt/$REALM")', want FPRIA: $(cat "$S/klist.out")"
mit_kvno "$SERVICE" >/dev/null 2>&1 || lethe_die "kvno with a forwardable TGT failed"
klist_fe
[ "$(flags_of "$SERVICE")" = FPRAT ] ||
	lethe_die "service ticket flags '$(flags_of "$SERVICE")', want FPRAT: $(cat "$S/klist.out")"
expires_before=$(grep -A0 "krbtgt/$REALM@$REALM" "$S/klist.out" | awk '{ print $3, $4 }')
sleep 1.1
mit_kinit -R >"$S/renew.out" 2>&1 || lethe_die "kinit -R: $(cat "$S/renew.out")"
last_req TGS | grep -q "service=krbtgt/$REALM@$REALM .*result=OK" ||
	lethe_die "no renewal in the KDC log: $(last_req TGS)"
klist_fe
# Only the AS exchange makes initial tickets: no I after a renewal.
[ "$(flags_of "krbtgt/$REALM")" = FPRAT ] ||
	lethe_die "renewed TGT flags '$(flags_of "krbtgt/$REALM")', want FPRAT"
expires_after=$(grep -A0 "krbtgt/$REALM@$REALM" "$S/klist.out" | awk '{ print $3, $4 }')
[ "$expires_before" != "$expires_after" ] || lethe_die "kinit -R did not move the end time"
echo "ok: klist -f shows FPRIA / FPRAT, kinit -R renews (FPRAT)"

# kinit -C (canonicalize, RFC 6806) is accepted.
kinit_alice -C
# A client without pre-authentication gets a TGT without the A flag.
printf '%s\n' 'bob: no preauth' | mit_kinit bob >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit bob: $(cat "$S/kinit.out")"
klist_fe
[ "$(flags_of "krbtgt/$REALM")" = RI ] || lethe_die "bob's TGT flags '$(flags_of "krbtgt/$REALM")', want RI"
echo "ok: no-preauth client"

# ---- MIT's messages for refusals --------------------------------------------
rc=0
printf 'not the password\n' | mit_kinit alice >"$S/wrong.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || lethe_die "kinit with a wrong password succeeded"
grep -q "Password incorrect while getting initial credentials" "$S/wrong.out" ||
	lethe_die "wrong password: MIT said: $(cat "$S/wrong.out")"
last_req AS | grep -q "result=KDC_ERR_PREAUTH_FAILED" || lethe_die "no PREAUTH_FAILED logged"
rc=0
printf 'x\n' | mit_kinit nobody >"$S/unknown.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || lethe_die "kinit of an unknown principal succeeded"
grep -q "Client 'nobody@$REALM' not found in Kerberos database" "$S/unknown.out" ||
	lethe_die "unknown client: MIT said: $(cat "$S/unknown.out")"
rc=0
mit_kvno host/nowhere.lethe.test >"$S/unknown.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || lethe_die "kvno of an unknown service succeeded"
grep -q "Server host/nowhere.lethe.test@$REALM not found in Kerberos database" "$S/unknown.out" ||
	lethe_die "unknown service: MIT said: $(cat "$S/unknown.out")"
echo "ok: wrong password, unknown client and unknown service give MIT's messages"

# ---- GSS-API round trip with a keytab from lethe-admin ---------------------
kinit_alice
GSS_PORT=$(lethe_free_port)
timeout "$GSS_TIMEOUT" env KRB5_CONFIG="$MIT_CLIENT_CONF" gss-server -port "$GSS_PORT" -once \
	-keytab "$S/server.keytab" "host@server.lethe.test" >"$S/gss-server.out" 2>&1 &
GSS_PID=$!
lethe_at_exit "kill $GSS_PID 2>/dev/null || true"
# Poll the socket table, not the port: -once serves the first connection only.
lethe_wait_until 10 "gss-server to listen" lethe_port_in_use "$GSS_PORT" ||
	lethe_die "gss-server did not start: $(cat "$S/gss-server.out")"
mit_client_run gss-client -port "$GSS_PORT" 127.0.0.1 "host@server.lethe.test" \
	"hello from lethe" >"$S/gss-client.out" 2>&1 ||
	lethe_die "gss-client failed: $(cat "$S/gss-client.out")"
wait "$GSS_PID" || lethe_die "gss-server failed: $(cat "$S/gss-server.out")"
grep -q 'hello from lethe' "$S/gss-server.out" ||
	lethe_die "gss-server did not receive the message: $(cat "$S/gss-server.out")"
grep -q "Signature verified" "$S/gss-client.out" ||
	lethe_die "gss-client did not verify the signature: $(cat "$S/gss-client.out")"
echo "ok: gss-client / gss-server round trip"

# ---- the snapshot follows the store; SIGHUP ---------------------------------
lethe_realm_add_user carol 'carol: late'
lethe_wait_until 10 "the KDC to see the new generation" \
	lethe_kdc_log_has 'event=snapshot reason="store changed"' ||
	lethe_die "no snapshot refresh after adding carol: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
printf '%s\n' 'carol: late' | mit_kinit carol >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit carol after the refresh: $(cat "$S/kinit.out")"
kill -HUP "$LETHE_KDC_PID"
lethe_wait_until 10 "the KDC to reload on SIGHUP" lethe_kdc_log_has 'event=snapshot reason=SIGHUP' ||
	lethe_die "no reload after SIGHUP: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
kinit_alice
echo "ok: a principal added at run time is served; SIGHUP reloads"

# ---- SIGTERM ------------------------------------------------------------------
[ -s "$LETHE_REALM_DIR/kdc.pid" ] || lethe_die "no pid file"
[ "$(cat "$LETHE_REALM_DIR/kdc.pid")" = "$LETHE_KDC_PID" ] || lethe_die "pid file holds the wrong pid"
lethe_kdc_stop
[ ! -e "$LETHE_REALM_DIR/kdc.pid" ] || lethe_die "pid file left behind"
lethe_kdc_log_has 'event=kdc_counter type=AS result=OK count=[0-9]+' ||
	lethe_die "no counters logged at shutdown"
echo "ok: SIGTERM stops the KDC cleanly"

# ---- a reply over the UDP limit: MIT retries over TCP ----------------------
lethe_kdc_start "$KDC" "udp_max_reply = 512"
mit_client_setup "$S/client-big" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
kinit_alice
lethe_kdc_log_has 'transport=udp type=AS .*result=KRB_ERR_RESPONSE_TOO_BIG' ||
	lethe_die "no RESPONSE_TOO_BIG over UDP: $(cat "$LETHE_REALM_DIR/kdc.log")"
last_req AS | grep -q 'transport=tcp .*result=OK' ||
	lethe_die "MIT did not retry over TCP: $(last_req AS)"
lethe_kdc_stop
echo "ok: KRB_ERR_RESPONSE_TOO_BIG over UDP, then TCP"

# ---- check mode, a bad configuration, a detached daemon --------------------
timeout 30 "$KDC" -n -c "$LETHE_REALM_DIR/kdc.conf" 2>"$S/check.out" ||
	lethe_die "lethe-kdc -n failed: $(cat "$S/check.out")"
printf '[kdc]\nlisten = 127.0.0.1:1\nbogus = 1\n' >"$S/bad.conf"
rc=0
timeout 30 "$KDC" -n -c "$S/bad.conf" 2>"$S/bad.out" || rc=$?
[ "$rc" -eq 1 ] || lethe_die "lethe-kdc accepted an unknown key (exit $rc)"
grep -q 'bad.conf:3: .*bogus' "$S/bad.out" || lethe_die "bad configuration: $(cat "$S/bad.out")"
LETHE_KDC_PORT=$(lethe_free_port)
lethe_kdc_write_conf
rm -f "$LETHE_REALM_DIR/kdc.pid"
timeout 30 "$KDC" -c "$LETHE_REALM_DIR/kdc.conf" || lethe_die "lethe-kdc (detached) failed to start"
lethe_wait_until 10 "the detached daemon's pid file" test -s "$LETHE_REALM_DIR/kdc.pid" ||
	lethe_die "no pid file from the detached daemon"
DAEMON_PID=$(cat "$LETHE_REALM_DIR/kdc.pid")
lethe_at_exit "kill -KILL $DAEMON_PID 2>/dev/null || true"
mit_client_setup "$S/client-daemon" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" tcp
kinit_alice
kill -TERM "$DAEMON_PID"
lethe_wait_until 10 "the detached daemon to exit" eval "! kill -0 $DAEMON_PID 2>/dev/null" ||
	lethe_die "the detached daemon ignored SIGTERM"
[ ! -e "$LETHE_REALM_DIR/kdc.pid" ] || lethe_die "the detached daemon left its pid file"
echo "ok: -n checks, a bad key is reported with its line, a detached daemon serves and stops"
echo "PASS: kdc_mit_clients"
