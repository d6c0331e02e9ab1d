#!/usr/bin/env bash
# dos.sh MODE LETHE_KDC LETHE_ADMIN LETHE_AGENT: unauthenticated resource
# exhaustion against the running programs, with legitimate traffic during
# each flood (floods bounded in count and time, on 127.0.0.x only).
#  udp        datagrams that do not decode as a KDC-REQ get no answer at all
#             (no reflection or amplification); MIT kinit over UDP still
#             works, and a well-formed AS-REQ for an unknown client still
#             gets its precise KRB-ERROR
#  kdc_tcp    600 TCP connections that each sent 1 byte of the length prefix
#             (more than the 2 workers x 256 slots); MIT kinit over TCP
#             (udp_preference_limit = 1) still gets its ticket at once
#  registrar  200 idle connections to the registrar (from 127.0.0.1 through
#             127.0.0.10: per-peer caps and the full table both act);
#             `lethe-agent once` still registers at once
#  agent      6 idle sockets to lethe-agent's KeyRequest port; the KDC's key
#             request still reaches it, and the fresh key is registered, at
#             once (it used to wait 5 s per idle socket, one at a time)
# All test traffic comes from 127.0.0.x, legitimate clients from 127.0.0.1
# too: the newcomer takes the slot of the longest-waiting connection, so
# the legitimate client gets in even from the attacker's own address.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"

MODE=${1:?usage: dos.sh udp|kdc_tcp|registrar|agent LETHE_KDC LETHE_ADMIN LETHE_AGENT}
KDC=${2:?usage: dos.sh MODE LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${3:?usage: dos.sh MODE LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${4:?usage: dos.sh MODE LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
HOST=host/www.lethe.test@$REALM
ALICE_PW='alice: dos test'
TOOL=$HERE/dos_tool.py
# Legitimate operations must finish well inside the floods' effect (a full
# table used to refuse them for the whole timeout; idle sockets delayed a
# key request by 5 s each).
QUICK=4

lethe_require_tools kinit kvno klist kdestroy python3 timeout grep
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
FLOOD_PID=
AGENT_PID=
lethe_at_exit 'kill -TERM $FLOOD_PID $AGENT_PID 2>/dev/null || true'

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"

# flood PORT COUNT [dos_tool options...]: hold the connections in the
# background until stop_flood; returns once all were tried.
flood() {
	local port=$1 count=$2
	shift 2
	rm -f "$S/flood.ready"
	python3 "$TOOL" hold "$port" "$count" "$S/flood.ready" --seconds 60 "$@" &
	FLOOD_PID=$!
	lethe_wait_until 30 "$count connections to port $port" test -s "$S/flood.ready" ||
		lethe_die "the flood did not get going"
	lethe_log "flood on $port: $(cat "$S/flood.ready")"
}

stop_flood() {
	kill -TERM "$FLOOD_PID" 2>/dev/null || true
	wait "$FLOOD_PID" 2>/dev/null || true
	FLOOD_PID=
}

# kinit alice, within QUICK seconds.
kinit_quick() {
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | MIT_CLIENT_TIMEOUT=$QUICK mit_kinit alice >"$S/kinit.out" 2>&1
}

case "$MODE" in
udp)
	lethe_kdc_start "$KDC"
	mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
	lethe_log "datagrams that do not decode: no answer"
	python3 "$TOOL" udp-silence "$LETHE_KDC_PORT" >"$S/udp.out" 2>&1 ||
		lethe_die "the KDC answered garbage: $(cat "$S/udp.out")"
	lethe_kdc_log_has 'type=AS result=DROPPED reason="malformed AS-REQ' ||
		lethe_die "no log line for the dropped AS-REQ: $(cat "$LETHE_REALM_DIR/kdc.log")"
	lethe_log "MIT kinit over UDP"
	kinit_quick || lethe_die "kinit over UDP failed: $(cat "$S/kinit.out")"
	lethe_log "a well-formed AS-REQ that fails a check keeps its KRB-ERROR"
	mit_kdestroy
	if printf 'x\n' | mit_kinit nobody >"$S/kinit.out" 2>&1; then
		lethe_die "kinit nobody succeeded"
	fi
	grep -q 'not found in Kerberos database' "$S/kinit.out" ||
		lethe_die "no CLIENT_UNKNOWN error: $(cat "$S/kinit.out")"
	;;
kdc_tcp)
	lethe_kdc_start "$KDC"
	# udp_preference_limit = 1: TCP first. MIT falls back to UDP when TCP
	# fails, so the trace must show every answer coming over TCP.
	mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" tcp
	kinit_quick || lethe_die "kinit over TCP failed before the flood: $(cat "$S/kinit.out")"
	flood "$LETHE_KDC_PORT" 600 --send 1 --from 127.0.0.1,127.0.0.2,127.0.0.3
	lethe_log "MIT kinit over TCP during the flood"
	: >"$MIT_CLIENT_TRACE"
	kinit_quick || lethe_die "kinit over TCP failed during the flood: $(cat "$S/kinit.out")"
	mit_klist | grep -q "krbtgt/$REALM@$REALM" || lethe_die "no TGT in the cache"
	grep -q 'Received answer .* from stream' "$MIT_CLIENT_TRACE" &&
		! grep -q 'from dgram' "$MIT_CLIENT_TRACE" ||
		lethe_die "the ticket did not come over TCP: $(cat "$MIT_CLIENT_TRACE")"
	stop_flood
	;;
registrar)
	REG_PORT=$(lethe_free_port)
	# A long registrar timeout: the flood cannot simply wait it out.
	lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT" "timeout = 30s"
	lethe_agent_identity "$S/srv" "$HOST" www.lethe.test
	chmod 600 "$S/srv/server.key"
	lethe_agent_conf "$S/srv/agent.conf" "$HOST" "$REG_PORT" "keytab = server.keytab"
	flood "$REG_PORT" 200 --from "$(echo 127.0.0.{1..10} | tr ' ' ,)"
	lethe_log "lethe-agent once during the flood"
	rc=0
	timeout "$QUICK" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "lethe-agent once exited $rc: $(cat "$S/agent.out")"
	grep -q "$HOST kvno 1: OK" "$S/agent.out" ||
		lethe_die "no registration: $(cat "$S/agent.out")"
	stop_flood
	;;
agent)
	REG_PORT=$(lethe_free_port)
	CB_PORT=$(lethe_free_port)
	# key_grace off: the service must be refused once kvno 1 is past use_until,
	# so that the KDC sends the key request this flood tries to delay.
	lethe_kdc_start "$KDC" "key_grace = no" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
	mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
	lethe_agent_identity "$S/srv" "$HOST" www.lethe.test
	chmod 600 "$S/srv/server.key"
	lethe_agent_conf "$S/srv/agent.conf" "$HOST" "$REG_PORT" "keytab = server.keytab" \
		"overlap = 0s" "max_ticket_life = 10h" "callback = 127.0.0.1:$CB_PORT"
	lethe_log "kvno 1 usable for 2 s only"
	timeout 30 "$AGENT" -c "$S/srv/agent.conf" --rotation 2s once >"$S/agent.out" 2>&1 ||
		lethe_die "lethe-agent once failed: $(cat "$S/agent.out")"
	"$AGENT" -c "$S/srv/agent.conf" --rotation 1h run >"$S/run.log" 2>&1 &
	AGENT_PID=$!
	lethe_wait_until 10 "lethe-agent listening on $CB_PORT" grep -q 'event=start' "$S/run.log" ||
		lethe_die "lethe-agent did not start: $(cat "$S/run.log")"
	sleep 3         # use_until of kvno 1 passes (2 s rotation, no overlap): a time, not a state
	flood "$CB_PORT" 6 --from 127.0.0.1
	kinit_quick || lethe_die "kinit failed: $(cat "$S/kinit.out")"
	if mit_kvno "$HOST" >"$S/kvno.out" 2>&1; then
		lethe_die "a ticket was issued under an expired key: $(cat "$S/kvno.out")"
	fi
	lethe_log "the key request reaches the agent through the idle sockets"
	lethe_wait_until "$QUICK" "the agent to answer the key request" \
		grep -q 'event=register .*kvno=2 result=OK' "$S/run.log" ||
		lethe_die "no fresh key within ${QUICK}s: $(cat "$S/run.log")"
	grep -q 'event=key_request .*result=accepted' "$S/run.log" ||
		lethe_die "no accepted key request: $(cat "$S/run.log")"
	stop_flood
	kill -TERM "$AGENT_PID"
	rc=0
	wait "$AGENT_PID" || rc=$?
	AGENT_PID=
	[ "$rc" -eq 0 ] || lethe_die "lethe-agent run exited $rc: $(cat "$S/run.log")"
	;;
*)
	lethe_die "unknown mode $MODE"
	;;
esac
lethe_kdc_alive || lethe_die "lethe-kdc died: $(cat "$LETHE_REALM_DIR/kdc.log")"
lethe_kdc_stop
lethe_log "PASS"
