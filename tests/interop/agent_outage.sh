#!/usr/bin/env bash
# agent_outage.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: a KDC outage longer than
# the agent's overlap does not leave the service without tickets.
#
# lethe-agent run (rotation 16 s, overlap 2 s, no callback) registers kvno 1;
# lethe-kdc is stopped before the agent's next rotation and stays down until
# kvno 1 is 8 s past its use_until (the rotation's registration fails with
# no reply meanwhile, its backoff growing). Then lethe-kdc starts again:
#  - at once (before the agent could register), MIT kinit + kvno -k with the
#    agent's keytab get a ticket: the KDC's grace key (kvno 1, past use_until,
#    before accept_until), the ticket ending by its accept_until, and the
#    KDC logs event=key_grace;
#  - within AGENT_URGENT_RETRY + 3 s the agent has registered the new key
#    (its retries are capped at 2 s once its accepted key is near or past
#    use_until), and MIT kvno -k gets a ticket under it.
# Then, with [kdc] key_grace = no, the same request is refused
# (S_PRINCIPAL_UNKNOWN, the documented policy switch).
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_outage.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_outage.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_outage.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=host/server.lethe.test@$REALM
ALICE_PW='alice: outage'
ROTATION=16       # seconds
OVERLAP=2         # seconds
TICKET_LIFE=30    # the agent's max_ticket_life (realm max life 1 min)
PAST=8            # seconds past kvno 1's use_until when the KDC returns

lethe_require_tools kinit kvno timeout grep sed date
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
AGENT_PID=

mkdir -p "$S/realm"
LETHE_REALM_DIR=$(cd "$S/realm" && pwd)
LETHE_REALM=$REALM
LETHE_ADMIN=$ADMIN
lethe_realm_admin init --realm "$REALM" --max-life 1m
lethe_realm_add_user alice "$ALICE_PW"
lethe_agent_identity "$S/srv" "$SVC" server.lethe.test
REG_PORT=$(lethe_free_port)
KEYTAB=$S/srv/server.keytab
lethe_agent_conf "$S/srv/agent.conf" "$SVC" "$REG_PORT" "keytab = server.keytab" \
	"rotation = ${ROTATION}s" "overlap = ${OVERLAP}s" "max_ticket_life = ${TICKET_LIFE}s"
chmod 600 "$S/srv/server.key"

# Start lethe-kdc with the registrar on REG_PORT and extra [kdc] lines; the
# MIT client follows it to its new port.
start_kdc() {
	lethe_kdc_start "$KDC" "$@" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
	mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
}

# kinit alice, then kvno -k with the agent's keytab; the kvno served in $KVNO.
ticket_now() {
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 || return 1
	mit_kvno -k "$KEYTAB" "$SVC" >"$S/kvno.out" 2>&1 || return 1
	KVNO=$(sed -n 's/.*: kvno = \([0-9]*\), keytab entry valid.*/\1/p' "$S/kvno.out")
	[ -n "$KVNO" ]
}

# The agent's accepted registrations of kvno $1.
registered() {
	grep -q "event=register .*kvno=$1 result=OK" "$S/run.log"
}

start_kdc
"$AGENT" -c "$S/srv/agent.conf" run >"$S/run.log" 2>&1 &
AGENT_PID=$!
lethe_at_exit 'kill -KILL $AGENT_PID 2>/dev/null || true'
lethe_wait_until 15 "the agent to register kvno 1" registered 1 ||
	lethe_die "no registration: $(cat "$S/run.log")"
ticket_now || lethe_die "kvno before the outage: $(cat "$S/kinit.out" "$S/kvno.out")"
[ "$KVNO" = 1 ] || lethe_die "kvno $KVNO before the outage, wanted 1"
use_until=$(sed -n 's/.*event=rotate .*kvno=1 .*use_until=\([0-9]*\).*/\1/p' "$S/run.log" | head -1)
[ -n "$use_until" ] || lethe_die "no use_until in the agent's log: $(cat "$S/run.log")"

# ---- the outage -----------------------------------------------------------
lethe_kdc_stop
lethe_log "lethe-kdc stopped; kvno 1 is usable until $use_until (in $((use_until - $(date +%s))) s)"
lethe_wait_until $((use_until + PAST - $(date +%s) + 5)) "kvno 1 to be ${PAST}s past use_until" \
	eval '[ "$(date +%s)" -ge $((use_until + PAST)) ]'
registered 2 && lethe_die "kvno 2 registered while the KDC was down"
grep -q 'event=register .*kvno=2 result=NO_REPLY' "$S/run.log" ||
	lethe_die "the agent did not try kvno 2 during the outage: $(tail -5 "$S/run.log")"

# ---- the KDC returns: tickets at once, under the grace key --------------------
start_kdc
restarted=$(date +%s)
ticket_now || lethe_die "no ticket at once after the restart: $(cat "$S/kinit.out" "$S/kvno.out")
$(grep -E 'event=kdc_req .*service=host' "$LETHE_REALM_DIR/kdc.log" | tail -2)"
lethe_log "after the restart: kvno $KVNO served within $(($(date +%s) - restarted)) s"
if [ "$KVNO" = 1 ]; then
	lethe_kdc_log_has 'event=key_grace service=host/server.lethe.test@LETHE.TEST kvno=1 ' ||
		lethe_die "kvno 1 past use_until served without a key_grace line"
	end=$(mit_klist | grep -F "$SVC" | head -1)
	lethe_log "the grace ticket: $end"
fi

# ---- the agent registers within its urgent retry ------------------------------
lethe_wait_until 5 "the agent to register kvno 2 after the restart" registered 2 ||
	lethe_die "kvno 2 not registered within 5 s of the restart: $(tail -5 "$S/run.log")"
ticket_now || lethe_die "kvno after the registration: $(cat "$S/kvno.out")"
[ "$KVNO" -ge 2 ] || lethe_die "kvno $KVNO served after kvno 2 was registered"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || true
AGENT_PID=

# ---- key_grace = no: the old refusal ---------------------------------------
lethe_kdc_stop
now=$(date +%s)
last_use=$(sed -n 's/.*event=rotate .*use_until=\([0-9]*\).*/\1/p' "$S/run.log" | tail -1)
lethe_wait_until $((last_use - now + 5)) "the newest key to pass use_until" \
	eval '[ "$(date +%s)" -gt $last_use ]'
start_kdc "key_grace = no"
ticket_now && lethe_die "key_grace = no: kvno $KVNO served past use_until"
grep -q 'Server not found' "$S/kvno.out" || grep -q 'not found' "$S/kvno.out" ||
	lethe_die "key_grace = no: unexpected kvno error: $(cat "$S/kvno.out")"
lethe_kdc_log_has 'result=KDC_ERR_S_PRINCIPAL_UNKNOWN' ||
	lethe_die "key_grace = no: no S_PRINCIPAL_UNKNOWN logged"
echo "ok: tickets at once after an outage past use_until (grace key), new key within 5 s"
