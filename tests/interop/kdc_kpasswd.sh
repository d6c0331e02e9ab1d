#!/usr/bin/env bash
# kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN KPW_TOOL: passwords against MIT's tools.
#  - MIT kpasswd changes alice's password through lethe-kdc's kpasswd service
#    (UDP, then TCP): the old password stops working, the new one works, the
#    kvno of her key (kvno alice after allow-svr) moves on
#  - a weak password is refused with the policy's text, which kpasswd prints
#  - a password of the history is refused
#  - an expired password (passwd --expire-now): MIT kinit is refused with
#    KDC_ERR_KEY_EXPIRED, asks for a new password, changes it through kpasswd
#    and gets its TGT; the old password then fails
#  - a ticket for kadmin/changepw from the TGS (not INITIAL) gets result 7
#  - set-password (0xff80) by the configured administrator works, and by
#    anyone else gets result 5 (KPW_TOOL: MIT's krb5_set_password_using_ccache)
#  - junk behind a frame header gets no UDP answer (no amplifier), a
#    KRB-ERROR over TCP
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN KPW_TOOL}
ADMIN=${2:?usage: kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN KPW_TOOL}
KPW_TOOL=${3:?usage: kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN KPW_TOOL}
REALM=LETHE.TEST
PW1='alice: first password 1'
PW2='alice: second password 2'
PW3='Third-password-3'

lethe_require_tools kinit klist kvno kpasswd kdestroy timeout grep
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$PW1"
lethe_realm_add_user root/admin 'root: admin password'
lethe_realm_add_user carol 'carol: password'
# MIT kpasswd tries TCP first, then UDP: one port serves UDP only, the other TCP.
KPW_UDP=$(lethe_free_port)
KPW_TCP=$(lethe_free_port)
lethe_kdc_start "$KDC" "[kpasswd]" \
	"listen = 127.0.0.1:$KPW_UDP/udp, 127.0.0.1:$KPW_TCP/tcp" "admins = root/admin@$REALM"
lethe_kdc_log_has "kpasswd 127.0.0.1:$KPW_UDP/udp\\(port $KPW_UDP\\) kpasswd 127.0.0.1:$KPW_TCP/tcp" ||
	lethe_die "lethe-kdc does not say it serves kpasswd: $(grep serving "$LETHE_REALM_DIR/kdc.log")"

MIT_CLIENT_KPASSWD=127.0.0.1:$KPW_UDP
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp

# kinit PRINCIPAL with PASSWORD: 0 on success, output in $S/kinit.out.
try_kinit() {
	printf '%s\n' "$2" | mit_kinit "$1" >"$S/kinit.out" 2>&1
}

# The kvno of alice's key, as the KDC reports it in a service ticket.
alice_kvno() {
	try_kinit alice "$1" || lethe_die "kinit alice: $(cat "$S/kinit.out")"
	mit_kvno "alice@$REALM" 2>&1 | sed -n 's/.*kvno = \([0-9]*\).*/\1/p'
}

# kpasswd PRINCIPAL OLD NEW: its output in $S/kpasswd.out; kpasswd's status.
run_kpasswd() {
	local rc=0
	printf '%s\n%s\n%s\n' "$2" "$3" "$3" | mit_client_run kpasswd "$1" \
		>"$S/kpasswd.out" 2>&1 || rc=$?
	lethe_log "kpasswd $1 exited $rc: $(tr '\n' ' ' <"$S/kpasswd.out")"
	[ $rc -eq 0 ] || tail -8 "$MIT_CLIENT_TRACE" >&2
	return $rc
}

# ---- change over UDP and TCP ------------------------------------------------------
lethe_realm_admin modify alice --allow-svr    # so kvno can show her key's kvno
kv1=$(alice_kvno "$PW1")
[ -n "$kv1" ] || lethe_die "no kvno for alice"
run_kpasswd alice "$PW1" "$PW2" || lethe_die "kpasswd (UDP) failed: $(cat "$S/kpasswd.out")"
grep -q "Password changed" "$S/kpasswd.out" ||
	lethe_die "kpasswd did not say the password changed: $(cat "$S/kpasswd.out")"
! try_kinit alice "$PW1" || lethe_die "the old password still works after kpasswd"
kv2=$(alice_kvno "$PW2")
[ "$kv2" -eq $((kv1 + 1)) ] || lethe_die "kvno went from $kv1 to $kv2, not up by one"
lethe_kdc_log_has "event=kpasswd_req .*transport=udp .*client=alice@$REALM .*result=0" ||
	lethe_die "no kpasswd log line for the UDP change"

MIT_CLIENT_KPASSWD=127.0.0.1:$KPW_TCP
mit_client_transport udp
run_kpasswd alice "$PW2" "$PW3" || lethe_die "kpasswd (TCP) failed: $(cat "$S/kpasswd.out")"
lethe_kdc_log_has "event=kpasswd_req .*transport=tcp .*client=alice@$REALM .*result=0" ||
	lethe_die "no kpasswd log line for the TCP change"
kv3=$(alice_kvno "$PW3")
[ "$kv3" -eq $((kv2 + 1)) ] || lethe_die "kvno went from $kv2 to $kv3 over TCP"

lethe_log "kpasswd changes work over UDP and TCP (kvno $kv1 -> $kv2 -> $kv3)"

# ---- policy: a weak password, then the history -----------------------------------
lethe_realm_admin policy add strict --min-length 12 --min-classes 3 --history 2
lethe_realm_admin modify alice --policy strict
! run_kpasswd alice "$PW3" 'short1A!' || lethe_die "kpasswd accepted a password the policy refuses"
grep -q "Password is too short: the policy asks for at least 12 characters" "$S/kpasswd.out" ||
	lethe_die "kpasswd did not print the policy's text: $(cat "$S/kpasswd.out")"
! run_kpasswd alice "$PW3" 'only lower case letters' ||
	lethe_die "kpasswd accepted too few character classes"
grep -q "enough character classes" "$S/kpasswd.out" ||
	lethe_die "kpasswd did not print the classes text: $(cat "$S/kpasswd.out")"
try_kinit alice "$PW3" || lethe_die "a refused change broke the password: $(cat "$S/kinit.out")"
PW4='Fourth-Password-4'
PW5='Fifth-Password-5'
run_kpasswd alice "$PW3" "$PW4" || lethe_die "kpasswd refused a good password"
! run_kpasswd alice "$PW4" "$PW4" || lethe_die "kpasswd accepted the current password again"
grep -q "Cannot reuse password" "$S/kpasswd.out" ||
	lethe_die "kpasswd did not print the history text: $(cat "$S/kpasswd.out")"
run_kpasswd alice "$PW4" "$PW5" || lethe_die "kpasswd refused a new password"
! run_kpasswd alice "$PW5" "$PW4" || lethe_die "kpasswd accepted a password of the history"
lethe_log "the policy refuses short, one-class and remembered passwords; kpasswd prints why"

# ---- an expired password: kinit changes it through kpasswd --------------------------
PW6='Sixth-Password-6'
lethe_realm_admin passwd --expire-now alice
! try_kinit alice "$PW5" || lethe_die "kinit with an expired password got a TGT without a change"
lethe_kdc_log_has "type=AS client=alice@$REALM service=krbtgt/$REALM@$REALM .*result=KDC_ERR_KEY_EXPIRED" ||
	lethe_die "no KDC_ERR_KEY_EXPIRED for the expired password"
printf '%s\n%s\n%s\n' "$PW5" "$PW6" "$PW6" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit did not change the expired password: $(cat "$S/kinit.out"); trace: $(tail -15 "$MIT_CLIENT_TRACE")"
grep -qi "password expired" "$S/kinit.out" ||
	lethe_die "kinit did not say the password expired: $(cat "$S/kinit.out")"
mit_klist >"$S/klist.out" 2>&1 || lethe_die "no TGT after the change: $(cat "$S/klist.out")"
grep -q "krbtgt/$REALM@$REALM" "$S/klist.out" || lethe_die "no TGT in the cache: $(cat "$S/klist.out")"
! try_kinit alice "$PW5" || lethe_die "the expired password still works after the change"
try_kinit alice "$PW6" || lethe_die "the new password does not work: $(cat "$S/kinit.out")"
lethe_log "an expired password: KDC_ERR_KEY_EXPIRED, kinit changed it through kpasswd and got its TGT"

# ---- max_age: kinit warns before the password expires ---------------------------------
lethe_realm_admin policy modify strict --max-age 2d
try_kinit alice "$PW6" || lethe_die "kinit alice: $(cat "$S/kinit.out")"
grep -q "Warning: Your password will expire" "$S/kinit.out" ||
	lethe_die "kinit did not warn of the expiry (LastReq, key-expiration): $(cat "$S/kinit.out")"
lethe_realm_admin policy modify strict --max-age 0
lethe_log "key-expiration and LastReq make kinit warn before the password expires"

# ---- MIT's set-password client: TGS tickets, administrators --------------------------
# kpw_tool PRINCIPAL PASSWORD NEWPW TARGET: kinit, then the tool; its line in $S/tool.out.
kpw_tool() {
	local who=$1 pw=$2
	shift 2
	try_kinit "$who" "$pw" || lethe_die "kinit $who: $(cat "$S/kinit.out")"
	mit_client_run "$KPW_TOOL" "$MIT_CLIENT_CCACHE" "$@" >"$S/tool.out" 2>&1 ||
		lethe_die "the MIT set-password client failed: $(cat "$S/tool.out"); trace: $(tail -15 "$MIT_CLIENT_TRACE")"
	lethe_log "set-password client as $who: $(cat "$S/tool.out")"
}

PW7='Seventh-Password-7'
kpw_tool alice "$PW6" "$PW7" "alice@$REALM"
grep -q "^result 7: Ticket must be derived from a password" "$S/tool.out" ||
	lethe_die "a TGS ticket for kadmin/changepw was not refused with result 7: $(cat "$S/tool.out")"
try_kinit alice "$PW6" || lethe_die "a refused request changed alice's password"
kpw_tool carol 'carol: password' "$PW7" "alice@$REALM"
grep -q "^result 5:" "$S/tool.out" ||
	lethe_die "carol set alice's password: $(cat "$S/tool.out")"
kpw_tool root/admin 'root: admin password' "$PW7" "alice@$REALM"
grep -q "^result 0:" "$S/tool.out" || lethe_die "the administrator's set-password failed"
lethe_kdc_log_has "event=kpasswd_req .*version=65408 client=root/admin@$REALM target=alice@$REALM result=0" ||
	lethe_die "no set-password log line"
try_kinit alice "$PW7" || lethe_die "the password the administrator set does not work"
! try_kinit alice "$PW6" || lethe_die "the old password works after set-password"
kpw_tool root/admin 'root: admin password' 'x' "alice@$REALM"
grep -q "^result 4: Password is too short" "$S/tool.out" ||
	lethe_die "an administrator's weak password was not refused by the policy"
kpw_tool root/admin 'root: admin password' "$PW7" "krbtgt/$REALM@$REALM"
grep -q "^result 5:" "$S/tool.out" || lethe_die "set-password of krbtgt was not refused"
lethe_log "non-INITIAL tickets get 7, set-password works for the administrator only (5 else)"

# ---- from outside: junk behind a frame header earns no UDP amplification -------------
python3 - "$KPW_UDP" "$KPW_TCP" <<'PYEOF' || lethe_die "the kpasswd service answered junk wrongly"
import socket, struct, sys
udp_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
junk = bytes([0, 8, 0, 1, 0, 1, 0x30, 0])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.sendto(junk, ("127.0.0.1", udp_port))
try:
    data = u.recv(65536)
    sys.exit("UDP: %d bytes answered an 8-byte junk frame" % len(data))
except socket.timeout:
    pass
t = socket.create_connection(("127.0.0.1", tcp_port), timeout=30)
t.sendall(struct.pack(">I", len(junk)) + junk)
n = struct.unpack(">I", t.recv(4))[0]
rep = b""
while len(rep) < n:
    rep += t.recv(n - len(rep))
# length, version 1, no AP-REP, a KRB-ERROR ([APPLICATION 30]) carrying result 1
if rep[2:6] != b"\x00\x01\x00\x00" or rep[6] != 0x7e:
    sys.exit("TCP: not a KRB-ERROR frame: " + rep.hex())
PYEOF
lethe_log "junk frames: no UDP answer, a KRB-ERROR over TCP"

lethe_kdc_stop
lethe_log "kdc_kpasswd: all checks passed"
