#!/usr/bin/env bash
# kdc_notify.sh LETHE_KDC LETHE_ADMIN: lethe-kdc speaks systemd's sd_notify
# protocol (Type=notify units). A python listener plays systemd on a socket
# named by NOTIFY_SOCKET, as the unit would, and checks:
#  - READY=1 comes from the KDC's own pid (NotifyAccess=main), once: when
#    it arrives the KDC's UDP and TCP ports are bound, and an MIT kinit sent
#    right after it gets a TGT;
#  - SIGHUP gives RELOADING=1 and then READY=1 again, after the reread;
#  - SIGTERM gives STOPPING=1, the last message.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_notify.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: kdc_notify.sh LETHE_KDC LETHE_ADMIN}
REALM=LETHE.TEST
PASSWORD='notify: alice'

lethe_require_tools python3 kinit klist grep
export LC_ALL=C

lethe_scratch_dir
S=$LETHE_SCRATCH
mkdir -p "$S/realm"
LETHE_REALM_DIR=$(cd "$S/realm" && pwd)
LETHE_REALM=$REALM
LETHE_ADMIN=$ADMIN
lethe_realm_admin init --realm "$REALM" --enctypes "18 17"
lethe_realm_add_user alice "$PASSWORD"

# lethe_kdc_start picks the port; the listener must know it first, so the
# port is chosen here and the KDC's configuration written for it.
NOTIFY_LOG=$S/notify.log
: >"$NOTIFY_LOG"
LETHE_KDC_PORT=$(lethe_free_port)
lethe_kdc_write_conf
python3 "$HERE/notify_listen.py" "$S/notify.sock" "$NOTIFY_LOG" "$LETHE_KDC_PORT" &
LISTENER=$!
lethe_at_exit "kill $LISTENER 2>/dev/null || true"
lethe_wait_until 30 "the notify socket" test -S "$S/notify.sock"

NOTIFY_SOCKET=$S/notify.sock "$KDC" -f -c "$LETHE_REALM_DIR/kdc.conf" \
	2>>"$LETHE_REALM_DIR/kdc.log" &
LETHE_KDC_PID=$!
lethe_at_exit lethe_kdc_kill

count() { grep -c -- "$1" "$NOTIFY_LOG" || true; }
lethe_wait_until 60 "READY=1 from lethe-kdc" grep -q 'READY=1' "$NOTIFY_LOG" ||
	lethe_die "no READY=1; kdc.log: $(cat "$LETHE_REALM_DIR/kdc.log")"

mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
printf '%s\n' "$PASSWORD" | mit_kinit alice ||
	lethe_die "kinit right after READY=1 failed"
lethe_log "kinit after READY=1: ok"

line=$(grep 'READY=1' "$NOTIFY_LOG")
[[ $line == "pid=$LETHE_KDC_PID "* ]] ||
	lethe_die "READY=1 not from the KDC's pid $LETHE_KDC_PID: $line"
[[ $line == *"port_bound=yes" ]] ||
	lethe_die "READY=1 came before the KDC's sockets were bound: $line"
grep -q 'serving realm' "$LETHE_REALM_DIR/kdc.log" ||
	lethe_die "READY=1 before the KDC logged that it serves"
[ "$(count 'RELOADING=1')" -eq 0 ] || lethe_die "RELOADING=1 before any SIGHUP"

kill -HUP "$LETHE_KDC_PID"
lethe_wait_until 60 "READY=1 after SIGHUP" eval '[ "$(count READY=1)" -ge 2 ]'
mapfile -t lines <"$NOTIFY_LOG"
[ "${#lines[@]}" -eq 3 ] || lethe_die "expected 3 messages by now: $(cat "$NOTIFY_LOG")"
[[ ${lines[1]} == "pid=$LETHE_KDC_PID "*RELOADING=1*MONOTONIC_USEC=* ]] ||
	lethe_die "SIGHUP: no RELOADING=1 first: ${lines[1]}"
[[ ${lines[2]} == "pid=$LETHE_KDC_PID READY=1"* ]] ||
	lethe_die "SIGHUP: no READY=1 after RELOADING=1: ${lines[2]}"
lethe_kdc_log_has 'SIGHUP: rereading' || lethe_die "the KDC did not reread"
printf '%s\n' "$PASSWORD" | mit_kinit alice || lethe_die "kinit after the reload failed"
lethe_log "SIGHUP: RELOADING=1, READY=1; kinit ok"

kdc_pid=$LETHE_KDC_PID
lethe_kdc_stop
lethe_wait_until 30 "STOPPING=1" grep -q 'STOPPING=1' "$NOTIFY_LOG"
wait "$LISTENER" || lethe_die "the listener exited $?"
mapfile -t lines <"$NOTIFY_LOG"
[ "${#lines[@]}" -eq 4 ] && [[ ${lines[3]} == "pid=$kdc_pid STOPPING=1"* ]] ||
	lethe_die "expected STOPPING=1 last: $(cat "$NOTIFY_LOG")"
lethe_log "kdc_notify: READY=1 once serving, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 at exit"
