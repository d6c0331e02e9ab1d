#!/usr/bin/env bash
# kmp_rotation.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_KMP: lethe-kmp
# servers that keep running while lethe-agent rotates their service key.
#  - lethe-kdc with its registrar; lethe-agent manages kmp/cms's key and the
#    keytab both lethe-kmp servers (IPsec and SNMPv3 DOI) read
#  - before the rotation (kvno 1): server-initiated and client-initiated
#    exchanges in both DOIs, each ending in SA Recovered and 3 pings
#  - `lethe-agent run --rotation 3s` registers new keys while the servers run
#  - after it: the same four exchanges (SIGHUP makes a server wake its -w
#    client again), each under a kvno the agent registered after kvno 1, as
#    the server logs and as `klist -k` shows in the keytab
#  - re-establish: a client-initiated SA of 6 s with the flag on both sides
#    is re-keyed by the client on its own when the grace period starts
#  - counters at exit: no nonce drops, every SA recovered
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"

USAGE="usage: kmp_rotation.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_KMP"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
AGENT=${3:?$USAGE}
KMP=${4:?$USAGE}
REALM=LETHE.TEST
SERVICE=kmp/cms.lethe.test@$REALM
MTA_PW='mta1: rotation test'
CLIENT_TIMEOUT=30

lethe_require_tools timeout grep sed sort tail klist
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
[ -x "$KMP" ] || lethe_die "lethe-kmp not found at $KMP"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

# ---- realm, KDC with registrar, the agent's credentials ----------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user mta1 "$MTA_PW"
printf '%s\n' "$MTA_PW" >"$S/mta1.pw"
lethe_realm_add_user mta2 'mta2: only in a keytab'
lethe_realm_admin export-keytab mta2 -k "$S/mta2.keytab"
lethe_agent_identity "$S/srv" "$SERVICE" cms.lethe.test
chmod 600 "$S/srv/server.key"
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
KEYTAB=$S/srv/state.keytab
lethe_agent_conf "$S/srv/agent.conf" "$SERVICE" "$REG_PORT" "keytab = state.keytab" \
	"max_ticket_life = 10h"

# ---- processes started here, stopped by PID -----------------------------------
PIDS=()
stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}
lethe_at_exit stop_all

# Stop PID $1 with SIGTERM; fail unless it exits 0 within 10 s.
stop_one() {
	local pid=$1 rc=0 p rest=()
	kill -TERM "$pid"
	timeout 10 tail --pid="$pid" -f /dev/null || lethe_die "pid $pid ignored SIGTERM"
	wait "$pid" || rc=$?
	for p in "${PIDS[@]}"; do
		[ "$p" = "$pid" ] || rest+=("$p")
	done
	PIDS=("${rest[@]+"${rest[@]}"}")
	[ "$rc" -eq 0 ] || lethe_die "pid $pid exited $rc"
}

# server_start VAR LOG ARGS...: a lethe-kmp server on a free port; VAR_PORT, VAR_PID.
server_start() {
	local var=$1 log=$2 port pid
	shift 2
	port=$(lethe_free_port)
	"$KMP" server -l "127.0.0.1:$port" -k "$KEYTAB" -p "$SERVICE" --run-for 150 "$@" 2>"$log" &
	pid=$!
	PIDS+=("$pid")
	printf -v "${var}_PORT" %s "$port"
	printf -v "${var}_PID" %s "$pid"
	lethe_wait_until 10 "lethe-kmp server ready" grep -q kmp_server_ready "$log" ||
		lethe_die "server did not start: $(cat "$log")"
}

# client_run LOG CLIENT_PORT SERVER_PORT ARGS...: one exchange, 3 pings, exit 0.
client_run() {
	local log=$1 cport=$2 sport=$3 rc=0
	shift 3
	timeout "$CLIENT_TIMEOUT" "$KMP" client -l "127.0.0.1:$cport" -s "127.0.0.1:$sport" \
		--kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" --ping 3 --exit-after-sa \
		--run-for 25 "$@" 2>"$log" || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "client exited $rc: $(cat "$log")"
	expect_counter "$log" replies_accepted 1
	expect_counter "$log" sa_messages_ok 3
}

# The value of counter $2 in the last kmp_counters line of log $1.
counter() {
	grep 'event=kmp_counters' "$1" | tail -1 | sed -n "s/.* $2=\([0-9]*\).*/\1/p"
}

expect_counter() {
	local log=$1 name=$2 want=$3 got
	got=$(counter "$log" "$name")
	[ "$got" = "$want" ] || lethe_die "$name=$got, want $want in $log: $(cat "$log")"
}

# kvnos of the exchanges server log $1 accepted, one per line, in order.
accepted_kvnos() {
	sed -n 's/.*event=kmp_ap_request_accepted .* kvno=\([0-9]*\).*/\1/p' "$1"
}

# expect_exchanges LOG COUNT KVNO_TEST KIND...: the last COUNT exchanges in
# server log LOG are of the KINDs given (server-initiated, client-initiated),
# in order, and each kvno passes `[ kvno KVNO_TEST ]` (e.g. "= 1", "-ge 2").
# (No `printf | head` here: under pipefail, head leaving early can fail the
# pipeline with SIGPIPE.)
expect_exchanges() {
	local log=$1 count=$2 want_kvno=$3 kv kind line i=0
	local -a lines
	shift 3
	mapfile -t lines < <(grep 'event=kmp_ap_request_accepted' "$log" | tail -n "$count")
	[ "${#lines[@]}" = "$count" ] ||
		lethe_die "fewer than $count exchanges in $log: $(cat "$log")"
	for kind in "$@"; do
		line=${lines[$i]}
		i=$((i + 1))
		[[ "$line" == *"detail=$kind "* ]] || lethe_die "exchange not $kind: $line"
		kv=$(sed -n 's/.* kvno=\([0-9]*\).*/\1/p' <<<"$line")
		eval "[ \"$kv\" $want_kvno ]" || lethe_die "kvno $kv, want $want_kvno: $line"
	done
}

# ---- kvno 1, servers up -------------------------------------------------------
lethe_log "lethe-agent once: kvno 1"
timeout 30 "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent-once.log" 2>&1 ||
	lethe_die "lethe-agent once failed: $(cat "$S/agent-once.log")"
grep -q "kvno 1: OK" "$S/agent-once.log" || lethe_die "no kvno 1: $(cat "$S/agent-once.log")"

C_IPSEC=$(lethe_free_port)
C_SNMP=$(lethe_free_port)
server_start IPSEC "$S/srv-ipsec.log" -w "127.0.0.1:$C_IPSEC"
server_start SNMP "$S/srv-snmp.log" --doi snmpv3 -w "127.0.0.1:$C_SNMP"

exchanges() {
	local phase=$1
	lethe_log "$phase: server-initiated, IPsec"
	client_run "$S/$phase-si-ipsec.log" "$C_IPSEC" "$IPSEC_PORT" -P mta1 --password-file "$S/mta1.pw" \
		--service "$SERVICE"
	expect_counter "$S/$phase-si-ipsec.log" wakeups_received 1
	lethe_log "$phase: server-initiated, SNMPv3"
	client_run "$S/$phase-si-snmp.log" "$C_SNMP" "$SNMP_PORT" --doi snmpv3 -P mta2 -k "$S/mta2.keytab" \
		--service "$SERVICE"
	expect_counter "$S/$phase-si-snmp.log" wakeups_received 1
	lethe_log "$phase: client-initiated, IPsec"
	client_run "$S/$phase-ci-ipsec.log" "$(lethe_free_port)" "$IPSEC_PORT" -P mta2 -k "$S/mta2.keytab" \
		--initiate --service "$SERVICE"
	lethe_log "$phase: client-initiated, SNMPv3"
	client_run "$S/$phase-ci-snmp.log" "$(lethe_free_port)" "$SNMP_PORT" --doi snmpv3 \
		-P mta1 --password-file "$S/mta1.pw" --initiate --service "$SERVICE"
}

exchanges before
expect_exchanges "$S/srv-ipsec.log" 2 "= 1" server-initiated client-initiated
expect_exchanges "$S/srv-snmp.log" 2 "= 1" server-initiated client-initiated

# ---- rotation while the servers run ------------------------------------------
lethe_log "lethe-agent run --rotation 3s"
"$AGENT" -c "$S/srv/agent.conf" --rotation 3s run >"$S/agent-run.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
lethe_wait_until 20 "the agent to register kvno 2" \
	grep -q 'event=register .*kvno=2 result=OK' "$S/agent-run.log" ||
	lethe_die "no kvno 2: $(cat "$S/agent-run.log")"

# ---- after it: Wake Up again (SIGHUP), then the same exchanges ------------------
kill -HUP "$IPSEC_PID" "$SNMP_PID"
exchanges after
expect_exchanges "$S/srv-ipsec.log" 2 "-ge 2" server-initiated client-initiated
expect_exchanges "$S/srv-snmp.log" 2 "-ge 2" server-initiated client-initiated
stop_one "$AGENT_PID"
if grep -Eq 'NO_REPLY|BAD_REPLY|refused' "$S/agent-run.log"; then
	lethe_die "the agent logged a failure: $(cat "$S/agent-run.log")"
fi
# Every kvno used after the rotation is one the agent registered and one the
# keytab holds (klist -k reads the agent's keytab).
klist -k "$KEYTAB" >"$S/klist.out" 2>&1 || lethe_die "klist -k: $(cat "$S/klist.out")"
for kv in $(accepted_kvnos "$S/srv-ipsec.log"; accepted_kvnos "$S/srv-snmp.log"); do
	[ "$kv" = 1 ] && continue
	grep -q "event=register .*kvno=$kv result=OK" "$S/agent-run.log" ||
		lethe_die "kvno $kv was not registered by the agent: $(cat "$S/agent-run.log")"
	grep -Eq "^ *$kv +$SERVICE\$" "$S/klist.out" ||
		lethe_die "kvno $kv not in the keytab: $(cat "$S/klist.out")"
done

# ---- re-establish: the client re-keys its SA on its own ------------------------
lethe_log "re-establish: a 6 s SA re-keyed by the client"
server_start RE "$S/srv-re.log" --reestablish --lifetime 6 --grace 3
rc=0
timeout "$CLIENT_TIMEOUT" "$KMP" client -l "127.0.0.1:$(lethe_free_port)" -s "127.0.0.1:$RE_PORT" \
	--kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" -P mta1 --password-file "$S/mta1.pw" \
	--initiate --service "$SERVICE" --reestablish --run-for 9 2>"$S/re-client.log" || rc=$?
[ "$rc" -eq 0 ] || lethe_die "re-establish client exited $rc: $(cat "$S/re-client.log")"
got=$(counter "$S/re-client.log" reestablishes)
[ "${got:-0}" -ge 2 ] || lethe_die "reestablishes=$got, want >= 2: $(cat "$S/re-client.log")"
[ "$(counter "$S/re-client.log" sas_installed)" -ge 3 ] ||
	lethe_die "the client did not re-key: $(cat "$S/re-client.log")"
stop_one "$RE_PID"
[ "$(counter "$S/srv-re.log" ap_requests_accepted)" -ge 3 ] ||
	lethe_die "server did not see the re-keyings: $(cat "$S/srv-re.log")"
expect_counter "$S/srv-re.log" wakeups_sent 0
[ "$(grep -c 'event=kmp_ap_request_accepted .*detail=client-initiated .*reestablish=1' \
	"$S/srv-re.log")" -ge 3 ] || lethe_die "re-establish not agreed: $(cat "$S/srv-re.log")"

# ---- counters at exit -----------------------------------------------------------
stop_one "$IPSEC_PID"
stop_one "$SNMP_PID"
for log in "$S/srv-ipsec.log" "$S/srv-snmp.log"; do
	expect_counter "$log" ap_requests_accepted 4
	expect_counter "$log" sa_recovered 4
	expect_counter "$log" sa_messages_ok 12
	expect_counter "$log" wakeups_sent 2
	expect_counter "$log" dropped_nonce 0
	expect_counter "$log" dropped_other 0
done
lethe_kdc_stop
lethe_log "kmp_rotation: all checks passed"
