#!/usr/bin/env bash
# store_pg_failover.sh LETHE_KDC LETHE_ADMIN REG_TOOL: a PostgreSQL primary
# and a synchronous streaming standby (pg_basebackup -R,
# synchronous_standby_names = '*'; real servers started here as an
# unprivileged user, lib/pg.sh). lethe-admin and two lethe-kdc use one
# multi-host URI (host=primary,standby target_session_attrs=read-write).
#  - a stream of registrations (reg_tool, one new kvno each, alternating
#    between the two registrars) and a stream of MIT kvno for a classic
#    service (a TGT fetched before, each KDC in turn) run in the background
#  - kill -9 of the primary in mid-stream; the registrations are refused
#    (signed TRY_LATER) or unanswered; `pg_ctl promote` of the standby
#  - every kvno that reg_tool saw accepted (a signed OK) is on the new
#    primary (lethe-admin show --json through the URI)
#  - without a restart both KDCs reconnect through the URI, registrations
#    are accepted again, and both issue tickets under the newest kvno,
#    which MIT `kvno -k` opens with the key reg_tool registered
#  - MIT kvno of the classic service never failed, at either KDC
# It prints what a KDC did during the failover (bench/README.md,
# "PostgreSQL failover"): requests answered, registrations refused, the
# time from the kill and from the promotion to the first accepted one.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/pg.sh
. "$HERE/lib/pg.sh"

USAGE="usage: store_pg_failover.sh LETHE_KDC LETHE_ADMIN REG_TOOL"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
TOOL=${3:?$USAGE}
REALM=FAILOVER.LETHE.TEST
HTTP=HTTP/www.failover.test@$REALM
SVC=host/svc.failover.test@$REALM
ALICE_PW='alice: the primary dies'
BEFORE_KILL=8           # registrations accepted before the kill
AFTER_RESUME=4          # ... and after the first one accepted on the new primary
MAX_KVNO=200            # the stream stops here at the latest (256 keys a principal)
TIMEOUT=120

lethe_require_tools kinit klist kvno kdestroy timeout grep sed runuser jq
export LC_ALL=C TZ=UTC
[ -x "$TOOL" ] || lethe_die "reg_tool not found at $TOOL"

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_pg_start
lethe_pg_createdb lethe_realm >/dev/null
lethe_pg_standby_start
URI=$(lethe_pg_multi_uri lethe_realm)
MKEY=$S/realm.mkey
lethe_log "store URI: $URI"

declare -A KDC_PORT=() REG_PORT=() KDC_PID=()
lethe_realm_use k1
lethe_realm_attach "$S/k1" "$REALM" "$ADMIN" "$URI" "$MKEY"
lethe_realm_admin init --realm "$REALM"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_admin add-service "$SVC"
lethe_agent_identity "$S/srv" "$HTTP" www.failover.test
chmod 600 "$S/srv/server.key"
[ "$(lethe_pg_standby_sql lethe_realm "SELECT kind FROM principals WHERE name = 'alice@$REALM'")" = user ] ||
	lethe_die "the standby does not hold the realm"

start_kdc() {
	lethe_realm_use "$1"
	lethe_realm_attach "$S/$1" "$REALM" "$ADMIN" "$URI" "$MKEY"
	REG_PORT[$1]=$(lethe_free_port)
	lethe_kdc_start "$KDC" "refresh_interval = 1" "[registrar]" "listen = 127.0.0.1:${REG_PORT[$1]}"
	KDC_PORT[$1]=$LETHE_KDC_PORT
	KDC_PID[$1]=$LETHE_KDC_PID
}
start_kdc k1
start_kdc k2

# ---- the streams -------------------------------------------------------------------
# Registrations: "MS KVNO KDC RESULT" per attempt in $S/reg.stream (RESULT is
# reg_tool's verified result name, or NONE when no verified reply came).
touch "$S/go"
(
	kvno=0
	while [ -e "$S/go" ] && [ "$kvno" -lt "$MAX_KVNO" ]; do
		kvno=$((kvno + 1))
		k=k$((kvno % 2 + 1))
		out=$(timeout 30 "$TOOL" register -k "$S/kt.$kvno" "127.0.0.1:${REG_PORT[$k]}" \
			"$S/srv/server.pem" "$S/srv/server.key" "$S/srv/kdc.pem" "$S/srv/ca.pem" \
			"$HTTP" "$kvno" 2>&1 || true)
		case "$out" in
		"RESULT "*" nonce=echoed"*) res=$(echo "$out" | awk '{print $2}') ;;
		*) res=NONE ;;
		esac
		echo "$(date +%s%3N) $kvno $k $res" >>"$S/reg.stream"
	done
) &
REG_LOOP=$!
lethe_at_exit "rm -f '$S/go'; kill $REG_LOOP 2>/dev/null || true"

# MIT kvno of the classic service with one TGT, each KDC in turn:
# "MS KDC ok|fail" per attempt in $S/kvno.stream.
for k in k1 k2; do
	mit_client_setup "$S/client-$k" "$REALM" 127.0.0.1 "${KDC_PORT[$k]}" udp
	MIT_CLIENT_CCACHE=FILE:$S/tgt-$k
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit at $k: $(cat "$S/kinit.out")"
done
(
	n=0
	while [ -e "$S/go" ]; do
		n=$((n + 1))
		k=k$((n % 2 + 1))
		mit_client_setup "$S/client-$k" "$REALM" 127.0.0.1 "${KDC_PORT[$k]}" udp
		cp "$S/tgt-$k" "$S/svc-$k"
		MIT_CLIENT_CCACHE=FILE:$S/svc-$k
		if mit_kvno "$SVC" >"$S/kvno-loop-$k.out" 2>&1; then r=ok; else r=fail; fi
		echo "$(date +%s%3N) $k $r" >>"$S/kvno.stream"
		sleep 0.05
	done
) &
KVNO_LOOP=$!
lethe_at_exit "kill $KVNO_LOOP 2>/dev/null || true"

ok_count() { grep -c ' OK$' "$S/reg.stream" 2>/dev/null || true; }

lethe_wait_until "$TIMEOUT" "$BEFORE_KILL registrations accepted" \
	eval "[ \"\$(ok_count)\" -ge $BEFORE_KILL ]" ||
	lethe_die "the stream did not get going: $(cat "$S/reg.stream" 2>/dev/null)"

# ---- kill -9 the primary, promote the standby ------------------------------------------
lethe_log "kill -9 of the primary in mid-stream"
T_KILL=$(date +%s%3N)
lethe_pg_kill_primary
lines_since() { awk -v t="$1" '$1 >= t' "$S/reg.stream"; }
lethe_wait_until "$TIMEOUT" "registrations refused after the kill" \
	eval "[ \"\$(lines_since $T_KILL | grep -vc ' OK$' || true)\" -ge 2 ]" ||
	lethe_die "no registration refused after the kill: $(lines_since "$T_KILL")"
lethe_log "pg_ctl promote of the standby"
T_PROMOTE=$(date +%s%3N)
lethe_pg_promote
T_PROMOTED=$(date +%s%3N)
lethe_wait_until "$TIMEOUT" "$AFTER_RESUME registrations accepted on the new primary" \
	eval "[ \"\$(lines_since $T_PROMOTE | grep -c ' OK$' || true)\" -ge $AFTER_RESUME ]" ||
	lethe_die "registrations never resumed: $(lines_since "$T_KILL")"
rm -f "$S/go"
wait "$REG_LOOP" || true
wait "$KVNO_LOOP" || true

# ---- nothing acknowledged was lost ---------------------------------------------------
awk '$4 == "OK" {print $2}' "$S/reg.stream" | sort -n >"$S/accepted"
lethe_realm_use k1
mapfile -t store_args < <(lethe_realm_store_args)
"$ADMIN" "${store_args[@]}" --json show "$HTTP" >"$S/show.json" ||
	lethe_die "lethe-admin show through the multi-host URI failed"
jq -r '.keys[].kvno' "$S/show.json" | sort -n >"$S/stored"
# comm wants the order sort gives by default, not sort -n (10 before 9).
missing=$(comm -23 <(sort "$S/accepted") <(sort "$S/stored"))
[ -z "$missing" ] || lethe_die "accepted but not on the new primary: kvno $missing"
[ "$(lethe_pg_standby_sql lethe_realm "SELECT pg_is_in_recovery()")" = f ] ||
	lethe_die "the standby was not promoted"
lethe_log "$(wc -l <"$S/accepted") registrations accepted, all on the new primary"

# ---- both KDCs serve the newest kvno ----------------------------------------------------
NEWEST=$(tail -1 "$S/accepted")
for k in k1 k2; do
	lethe_realm_use "$k"
	[ "$LETHE_KDC_PID" = "${KDC_PID[$k]}" ] && kill -0 "$LETHE_KDC_PID" ||
		lethe_die "$k is not the KDC started before the failover"
	mit_client_setup "$S/client-$k" "$REALM" 127.0.0.1 "${KDC_PORT[$k]}" udp
	deadline=$((SECONDS + TIMEOUT))
	while :; do
		cp "$S/tgt-$k" "$S/new-$k"
		MIT_CLIENT_CCACHE=FILE:$S/new-$k
		mit_kvno "$HTTP" >"$S/kvno-new.out" 2>&1 || true
		[ "$(sed -n 's/.*kvno = \([0-9]*\).*/\1/p' "$S/kvno-new.out")" = "$NEWEST" ] && break
		[ "$SECONDS" -lt "$deadline" ] ||
			lethe_die "$k never issued kvno $NEWEST: $(cat "$S/kvno-new.out")"
		sleep 0.2
	done
	mit_kvno -k "$S/kt.$NEWEST" "$HTTP" >"$S/kvnok.out" 2>&1 &&
		grep -q 'keytab entry valid' "$S/kvnok.out" ||
		lethe_die "kvno -k: the ticket from $k does not open with kvno $NEWEST's key: $(cat "$S/kvnok.out")"
done

# ---- MIT kvno throughout ------------------------------------------------------------------
answered=$(awk -v t="$T_KILL" '$1 >= t && $3 == "ok"' "$S/kvno.stream" | wc -l)
failed=$(grep -c ' fail$' "$S/kvno.stream" || true)
[ "$failed" -eq 0 ] || lethe_die "MIT kvno failed $failed times: $(grep ' fail$' "$S/kvno.stream" | head -3)"
[ "$answered" -gt 0 ] || lethe_die "no MIT kvno ran during the failover"

# ---- what a KDC did during the failover --------------------------------------------------
# The primary's orphaned backends may commit (and replicate) for a moment
# after the kill: the outage starts at the first refusal.
t_down=$(lines_since "$T_KILL" | awk '$4 != "OK" {print $1; exit}')
first_ok=$(lines_since "$t_down" | awk '$4 == "OK" {print $1; exit}')
refused=$(lines_since "$t_down" | awk -v t="$first_ok" '$1 < t' | wc -l)
by_result=$(lines_since "$t_down" | awk -v t="$first_ok" '$1 < t {print $4}' |
	sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')
lethe_log "failover: MIT kvno answered $answered times from the kill to the end, failed $failed"
lethe_log "failover: first refusal $((t_down - T_KILL)) ms after the kill; refused until the first accepted: $refused (${by_result%, })"
lethe_log "failover: pg_ctl promote took $((T_PROMOTED - T_PROMOTE)) ms; first registration accepted $((first_ok - T_PROMOTED)) ms after it returned, $((first_ok - t_down)) ms after the first refusal"
for k in k1 k2; do
	lethe_realm_use "$k"
	line=$(grep -E "store available again after [0-9]+ ms" "$S/$k/kdc.log" | tail -1 || true)
	[ -n "$line" ] || lethe_die "$k never logged the store back: $(tail -5 "$S/$k/kdc.log")"
	lethe_log "failover: $k: ${line#*lethe-kdc: }"
	lethe_kdc_stop
done
lethe_log "OK"
