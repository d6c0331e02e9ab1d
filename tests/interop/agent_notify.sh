#!/usr/bin/env bash
# agent_notify.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: `lethe-agent run` speaks
# systemd's sd_notify protocol (Type=notify unit). A python listener plays
# systemd on the socket NOTIFY_SOCKET names and checks:
#  - READY=1 comes once, from the agent's pid, with its key-request
#    listener already bound; the agent then registers with lethe-kdc;
#  - SIGHUP gives RELOADING=1 then READY=1 once the reread is done; a
#    reload that fails (a configuration that does not parse) also ends with
#    READY=1, the running configuration kept;
#  - SIGTERM gives STOPPING=1, the last message, and exit 0.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"

KDC=${1:?usage: agent_notify.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_notify.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_notify.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
HTTP=HTTP/www.lethe.test@$REALM

lethe_require_tools python3 grep
export LC_ALL=C
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_agent_identity "$S/srv" "$HTTP" www.lethe.test
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"

CB_PORT=$(lethe_free_port)
conf() {
	lethe_agent_conf "$S/srv/agent.conf" "$HTTP" "$REG_PORT" "keytab = server.keytab" \
		"callback = 127.0.0.1:$CB_PORT" "$@"
}
conf "rotation = 1h"

NOTIFY_LOG=$S/notify.log
: >"$NOTIFY_LOG"
python3 "$HERE/notify_listen.py" "$S/notify.sock" "$NOTIFY_LOG" "$CB_PORT/tcp" &
LISTENER=$!
lethe_at_exit "kill $LISTENER 2>/dev/null || true"
lethe_wait_until 30 "the notify socket" test -S "$S/notify.sock"

NOTIFY_SOCKET=$S/notify.sock "$AGENT" -c "$S/srv/agent.conf" run 2>"$S/agent.log" &
AGENT_PID=$!
lethe_at_exit "kill $AGENT_PID 2>/dev/null || true"

count() { grep -c -- "$1" "$NOTIFY_LOG" || true; }
lethe_wait_until 60 "READY=1 from lethe-agent" grep -q 'READY=1' "$NOTIFY_LOG" ||
	lethe_die "no READY=1; agent log: $(cat "$S/agent.log")"
line=$(grep 'READY=1' "$NOTIFY_LOG")
[[ $line == "pid=$AGENT_PID "* ]] || lethe_die "READY=1 not from the agent's pid $AGENT_PID: $line"
[[ $line == *"port_bound=yes" ]] ||
	lethe_die "READY=1 before the key-request listener was bound: $line"
lethe_wait_until 60 "the agent's registration" grep -q 'event=register .*result=OK' "$S/agent.log" ||
	lethe_die "no registration: $(cat "$S/agent.log")"
[ "$(count .)" -eq 1 ] || lethe_die "more than READY=1 before any signal: $(cat "$NOTIFY_LOG")"
lethe_log "READY=1 from the agent with its listener bound; it registered"

# A good reload (a new rotation period).
conf "rotation = 2h"
kill -HUP "$AGENT_PID"
lethe_wait_until 60 "READY=1 after SIGHUP" eval '[ "$(count READY=1)" -ge 2 ]'
mapfile -t lines <"$NOTIFY_LOG"
[ "${#lines[@]}" -eq 3 ] || lethe_die "expected 3 messages: $(cat "$NOTIFY_LOG")"
[[ ${lines[1]} == "pid=$AGENT_PID RELOADING=1"* ]] || lethe_die "no RELOADING=1 first: ${lines[1]}"
[[ ${lines[2]} == "pid=$AGENT_PID READY=1"* ]] || lethe_die "no READY=1 after it: ${lines[2]}"
grep -q 'event=reload' "$S/agent.log" || lethe_die "the agent did not reread"
! grep -q 'event=reload result=failed' "$S/agent.log" || lethe_die "the good reload failed"

# A failed reload still ends with READY=1 (the old configuration runs on).
echo "no_such_key = 1" >>"$S/srv/agent.conf"
kill -HUP "$AGENT_PID"
lethe_wait_until 60 "READY=1 after the failed reload" eval '[ "$(count READY=1)" -ge 3 ]'
[ "$(count RELOADING=1)" -eq 2 ] || lethe_die "expected two RELOADING=1: $(cat "$NOTIFY_LOG")"
grep -q 'no_such_key' "$S/agent.log" || lethe_die "the bad configuration was not reported"
kill -0 "$AGENT_PID" || lethe_die "the agent died on a bad configuration"
lethe_log "SIGHUP: RELOADING=1 then READY=1, for a good and a failed reload"

kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
[ $rc -eq 0 ] || lethe_die "lethe-agent exited $rc after SIGTERM: $(tail -5 "$S/agent.log")"
lethe_wait_until 30 "STOPPING=1" grep -q 'STOPPING=1' "$NOTIFY_LOG"
wait "$LISTENER" || lethe_die "the listener exited $?"
mapfile -t lines <"$NOTIFY_LOG"
[[ ${lines[-1]} == "pid=$AGENT_PID STOPPING=1"* ]] || lethe_die "STOPPING=1 not last: $(cat "$NOTIFY_LOG")"
lethe_log "agent_notify: READY=1 once running, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 at exit"
