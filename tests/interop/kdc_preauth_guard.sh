#!/usr/bin/env bash
# kdc_preauth_guard.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL: attacks on the AS
# exchange's pre-authentication and on ticket flags, made from outside against
# a running lethe-kdc (docs/kdc.md, "Replayed timestamps", "Lockout"):
#  (a) an eavesdropper records MIT kinit's AS-REQ with a valid encrypted
#      timestamp (a UDP relay on the path) and sends the same bytes again:
#      KRB_AP_ERR_REPEAT, no second AS-REP; a new kinit still works
#  (b) MIT kinit with a wrong password lockout_max_failures times: then the
#      right password is refused as locked out (KDC_ERR_CLIENT_REVOKED), bob is
#      not affected, and once lockout_duration (3 s) has passed kinit works
#  (c) MIT kinit -R renews the TGT: klist -f shows no I (initial) flag on the
#      renewed TGT, A (pre-authenticated) still there
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_preauth_guard.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL}
ADMIN=${2:?usage: kdc_preauth_guard.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL}
TOOL=${3:?usage: kdc_preauth_guard.sh LETHE_KDC LETHE_ADMIN KRB5_TOOL}
REALM=LETHE.TEST
ALICE_PW='alice: correct horse'
BOB_PW='bob: battery staple'
MAX_FAILURES=3
LOCKOUT=3           # seconds
STEP_TIMEOUT=30

lethe_require_tools kinit klist kdestroy timeout grep awk python3
[ -x "$TOOL" ] || lethe_die "krb5_tool not found at $TOOL"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_add_user bob "$BOB_PW"
lethe_kdc_start "$KDC" "lockout_max_failures = $MAX_FAILURES" "lockout_window = 60s" \
	"lockout_duration = ${LOCKOUT}s"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp

# kinit $1 with password $2 (extra kinit options after); output in $S/kinit.out.
kinit_as() {
	local who=$1 pw=$2
	shift 2
	printf '%s\n' "$pw" | mit_kinit "$@" "$who" >"$S/kinit.out" 2>&1
}

# ---- (a) a recorded AS-REQ sent again ------------------------------------------
mkdir -p "$S/rec"
timeout 120 python3 "$HERE/udp_record.py" "$S/relay.port" "$LETHE_KDC_PORT" "$S/rec" 100 &
RELAY_PID=$!
lethe_at_exit "kill $RELAY_PID 2>/dev/null || true"
lethe_wait_until 10 "the relay to listen" test -s "$S/relay.port" ||
	lethe_die "udp_record.py did not start"
mit_client_setup "$S/client-relay" "$REALM" 127.0.0.1 "$(cat "$S/relay.port")" udp
kinit_as alice "$ALICE_PW" || lethe_die "kinit through the relay: $(cat "$S/kinit.out")"
kill "$RELAY_PID" 2>/dev/null || true
wait "$RELAY_PID" 2>/dev/null || true
# The AS-REQ that carried PA-ENC-TIMESTAMP (padata type 2).
captured=
for f in "$S"/rec/req-*.der; do
	"$TOOL" decode "$f" >"$f.txt" 2>&1 || true
	if grep -qx 'type=as-req' "$f.txt" && grep -q 'padata-type=2$' "$f.txt"; then
		captured=$f
	fi
done
[ -n "$captured" ] || lethe_die "no AS-REQ with an encrypted timestamp was recorded: $(ls "$S/rec")"
oks_before=$(lethe_kdc_log_count 'type=AS .*client=alice@.*result=OK')
timeout "$STEP_TIMEOUT" "$TOOL" send "127.0.0.1:$LETHE_KDC_PORT" "$captured" "$S/replay.der" ||
	lethe_die "krb5_tool send: no reply to the replayed AS-REQ"
"$TOOL" decode "$S/replay.der" >"$S/replay.txt" 2>&1 || true
grep -qx 'type=as-rep' "$S/replay.txt" &&
	lethe_die "the replayed AS-REQ got an AS-REP (a reply under alice's key for an eavesdropper)"
grep -qx 'error-code=34' "$S/replay.txt" ||
	lethe_die "the replay: want KRB_AP_ERR_REPEAT (34), got: $(grep -E '^(error-code|e-text)' "$S/replay.txt")"
grep -q '^e-text=.*replayed pre-authentication' "$S/replay.txt" ||
	lethe_die "the replay's e-text: $(grep '^e-text' "$S/replay.txt")"
[ "$(lethe_kdc_log_count 'type=AS .*client=alice@.*result=OK')" = "$oks_before" ] ||
	lethe_die "the KDC logged another AS-REP for alice"
lethe_kdc_log_has 'type=AS .*client=alice@.*result=KRB_AP_ERR_REPEAT' ||
	lethe_die "no KRB_AP_ERR_REPEAT in the KDC log"
# The legitimate user is not hindered: a new kinit makes a new timestamp.
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
kinit_as alice "$ALICE_PW" || lethe_die "kinit alice after the replay: $(cat "$S/kinit.out")"
echo "ok: a recorded AS-REQ sent again gets KRB_AP_ERR_REPEAT; kinit still works"

# ---- (b) wrong passwords, then lockout ------------------------------------------
for i in $(seq 1 "$MAX_FAILURES"); do
	kinit_as alice "wrong password $i" && lethe_die "kinit with a wrong password succeeded"
	grep -q 'Password incorrect\|Preauthentication failed' "$S/kinit.out" ||
		lethe_die "wrong password $i: MIT said: $(cat "$S/kinit.out")"
done
[ "$(lethe_kdc_log_count 'client=alice@.*result=KDC_ERR_PREAUTH_FAILED')" -ge "$MAX_FAILURES" ] ||
	lethe_die "the KDC did not see $MAX_FAILURES failures: $(grep 'client=alice' "$LETHE_REALM_DIR/kdc.log" | tail -5)"
locked_at=$SECONDS
kinit_as alice "$ALICE_PW" && lethe_die "the right password was accepted while alice is locked out"
grep -q "revoked" "$S/kinit.out" || lethe_die "locked kinit: MIT said: $(cat "$S/kinit.out")"
lethe_kdc_log_has "client=alice@$REALM .*result=KDC_ERR_CLIENT_REVOKED reason=\"alice@$REALM is locked out after $MAX_FAILURES failed pre-authentications until " ||
	lethe_die "no lockout in the KDC log: $(grep 'client=alice' "$LETHE_REALM_DIR/kdc.log" | tail -2)"
# Another principal is not affected.
kinit_as bob "$BOB_PW" || lethe_die "kinit bob while alice is locked out: $(cat "$S/kinit.out")"
# Once the lockout has passed, the right password works again.
lethe_wait_until $((LOCKOUT + 10)) "alice's lockout to end" kinit_as alice "$ALICE_PW" ||
	lethe_die "kinit alice after the lockout: $(cat "$S/kinit.out")"
[ $((SECONDS - locked_at)) -ge $((LOCKOUT - 1)) ] ||
	lethe_die "the lockout ended after $((SECONDS - locked_at)) s, before ${LOCKOUT} s"
echo "ok: $MAX_FAILURES wrong passwords lock alice out (right password refused, bob unaffected) for ${LOCKOUT} s"

# ---- (c) kinit -R: the renewed TGT is not initial -----------------------------------
mit_kdestroy
kinit_as alice "$ALICE_PW" -r 2d -l 1h || lethe_die "kinit -r: $(cat "$S/kinit.out")"
mit_klist -f >"$S/klist.out" 2>&1 || lethe_die "klist: $(cat "$S/klist.out")"
tgt_flags() {
	awk -v tgt="krbtgt/$REALM@$REALM" '$0 ~ tgt { found = 1; next }
		found && /Flags:/ { sub(/.*Flags: */, ""); print; exit }' "$S/klist.out"
}
case $(tgt_flags) in
*I*A* | *A*I*) ;;
*) lethe_die "the AS TGT lacks I or A: $(cat "$S/klist.out")" ;;
esac
mit_kinit -R >"$S/renew.out" 2>&1 || lethe_die "kinit -R: $(cat "$S/renew.out")"
lethe_kdc_log_has "type=TGS .*service=krbtgt/$REALM@$REALM .*result=OK" ||
	lethe_die "no renewal in the KDC log"
mit_klist -f >"$S/klist.out" 2>&1 || lethe_die "klist: $(cat "$S/klist.out")"
flags=$(tgt_flags)
case $flags in
*I*) lethe_die "the renewed TGT still has the I (initial) flag: $flags" ;;
esac
case $flags in
*R*A*) ;;
*) lethe_die "the renewed TGT lost R or A: $flags" ;;
esac
echo "ok: kinit -R gives a TGT without the I flag ($flags)"

lethe_kdc_stop
echo "PASS: kdc_preauth_guard"
