#!/usr/bin/env bash
# store_pg_outage.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT REG_TOOL: two lethe-kdc
# of one realm sharing one PostgreSQL database (a real server started here
# as an unprivileged user; lib/pg.sh), each with a registrar:
#  - re-registration: one lethe-agent lists both registrars; `once` is OK at
#    both (the second stores nothing: the same kvno and key again), one set
#    of key rows exists; a forged re-registration (reg_tool, the agent's own
#    certificate, a random key) under that kvno is refused KVNO_EXISTS and
#    the stored keys are unchanged
#  - outage: `pg_ctl stop -m immediate`; each KDC logs the store as
#    unavailable once; MIT kinit and kvno keep working at both KDCs (from
#    their snapshots); a registration is refused with a signed TRY_LATER
#    (reg_tool checks the KDC's signature); `lethe-agent once` makes kvno 2
#    and is refused TRY_LATER by both
#  - `lethe-agent run`, started during the outage, retries; PostgreSQL is
#    started again; without a KDC restart (same pids) both KDCs log the
#    store back, the agent's kvno 2 lands at both, and both KDCs issue
#    tickets under kvno 2 that MIT `kvno -k` opens with the agent's keytab
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

USAGE="usage: store_pg_outage.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT REG_TOOL"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
AGENT=${3:?$USAGE}
TOOL=${4:?$USAGE}
REALM=OUTAGE.LETHE.TEST
HTTP=HTTP/www.outage.test@$REALM
ALICE_PW='alice: the database is down'
TIMEOUT=60

lethe_require_tools kinit klist kvno kdestroy timeout grep sed runuser sha256sum
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
[ -x "$TOOL" ] || lethe_die "reg_tool not found at $TOOL"

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_pg_start
URI=$(lethe_pg_createdb lethe_realm)
MKEY=$S/realm.mkey

declare -A KDC_PORT=() REG_PORT=() KDC_PID=()
lethe_realm_use k1
lethe_realm_attach "$S/k1" "$REALM" "$ADMIN" "$URI" "$MKEY"
lethe_realm_admin init --realm "$REALM"
lethe_realm_add_user alice "$ALICE_PW"
lethe_agent_identity "$S/srv" "$HTTP" www.outage.test

# start_kdc NAME: a KDC with a registrar on the shared store; the
# generation is polled every second besides NOTIFY.
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

lethe_agent_conf "$S/srv/agent.conf" "$HTTP" "${REG_PORT[k1]}" "keytab = server.keytab" \
	"max_ticket_life = 10h" "rotation = 1h"
sed -i "s/^kdc = .*/kdc = 127.0.0.1:${REG_PORT[k1]}, 127.0.0.1:${REG_PORT[k2]}/" "$S/srv/agent.conf"
chmod 600 "$S/srv/server.key"

# agent_once RC: `lethe-agent once` must exit RC; output in $S/agent.out.
agent_once() {
	local rc=0
	timeout "$TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 || rc=$?
	[ "$rc" -eq "$1" ] || lethe_die "lethe-agent once exited $rc, not $1: $(cat "$S/agent.out")"
}

# once_said NAME KVNO RESULT: the last `once` reported RESULT at KDC NAME.
once_said() {
	grep -q "kdc 127.0.0.1:${REG_PORT[$1]} $HTTP kvno $2: $3" "$S/agent.out" ||
		lethe_die "once did not report kvno $2 $3 at $1: $(cat "$S/agent.out")"
}

# forge NAME KVNO: reg_tool registers a random key under KVNO at NAME's
# registrar with the agent's certificate; prints reg_tool's RESULT line.
forge() {
	timeout "$TIMEOUT" "$TOOL" register "127.0.0.1:${REG_PORT[$1]}" "$S/srv/server.pem" \
		"$S/srv/server.key" "$S/srv/kdc.pem" "$S/srv/ca.pem" "$HTTP" "$2" 2>&1 || true
}

# The key rows of the service: kvno, enctype and a hash of the sealed blob.
key_rows() {
	lethe_pg_sql lethe_realm "SELECT k.kvno, k.enctype, md5(k.key_blob) FROM keys k JOIN \
principals p ON p.id = k.principal_id WHERE p.name = '$HTTP' ORDER BY 1, 2"
}

# client_at NAME: MIT clients ask KDC NAME only (UDP), cache $S/ccache-NAME.
client_at() {
	mit_client_setup "$S/client-$1" "$REALM" 127.0.0.1 "${KDC_PORT[$1]}" udp
	MIT_CLIENT_CCACHE=FILE:$S/ccache-$1
}

# tickets_at NAME: kinit alice and kvno HTTP at KDC NAME alone; prints the kvno.
tickets_at() {
	client_at "$1"
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit-$1.out" 2>&1 ||
		lethe_die "kinit alice at $1: $(cat "$S/kinit-$1.out")"
	mit_kvno "$HTTP" >"$S/kvno-$1.out" 2>&1 ||
		lethe_die "kvno $HTTP at $1: $(cat "$S/kvno-$1.out")"
	sed -n 's/.*kvno = \([0-9]*\).*/\1/p' "$S/kvno-$1.out"
}

# ---- the same key registered with both KDCs ----------------------------------------
lethe_log "one agent, two KDCs of one store: kvno 1 OK at both, one set of rows"
agent_once 0
once_said k1 1 OK
once_said k2 1 OK
for k in k1 k2; do
	lethe_realm_use "$k"
	lethe_kdc_log_has "event=reg_request .*principal=$HTTP kvnos=1(,1)* result=OK" ||
		lethe_die "$k logged no OK registration of kvno 1: $(grep reg_request "$S/$k/kdc.log")"
done
key_rows >"$S/rows.1"
[ "$(cut -d'|' -f1 "$S/rows.1" | sort -u)" = 1 ] ||
	lethe_die "the store holds other kvnos than 1: $(cat "$S/rows.1")"
[ "$(wc -l <"$S/rows.1")" -eq "$(cut -d'|' -f2 "$S/rows.1" | sort -u | wc -l)" ] ||
	lethe_die "kvno 1 stored twice: $(cat "$S/rows.1")"

lethe_log "a forged re-registration under kvno 1 (another key) is refused"
for k in k2 k1; do
	out=$(forge "$k" 1)
	case "$out" in
	"RESULT KVNO_EXISTS nonce=echoed"*) ;;
	*) lethe_die "forged kvno 1 at $k: $out" ;;
	esac
done
key_rows >"$S/rows.2"
cmp -s "$S/rows.1" "$S/rows.2" || lethe_die "the forged request changed the key rows"
for k in k1 k2; do
	[ "$(tickets_at "$k")" = 1 ] || lethe_die "$k did not issue kvno 1: $(cat "$S/kvno-$k.out")"
done

# ---- PostgreSQL down ------------------------------------------------------------------
lethe_log "pg_ctl stop -m immediate: the KDCs answer from their snapshots"
lethe_pg_down
for k in k1 k2; do
	lethe_realm_use "$k"
	lethe_wait_until "$TIMEOUT" "$k to notice the outage" \
		lethe_kdc_log_has "store unavailable .*answering from the snapshot" ||
		lethe_die "$k logged no outage: $(tail -5 "$S/$k/kdc.log")"
done
for k in k1 k2; do
	[ "$(tickets_at "$k")" = 1 ] ||
		lethe_die "$k did not issue kvno 1 during the outage: $(cat "$S/kvno-$k.out")"
done

lethe_log "a registration during the outage: a signed TRY_LATER"
out=$(forge k1 9)
case "$out" in
"RESULT TRY_LATER nonce=echoed"*) ;;
*) lethe_die "registration during the outage: $out" ;;
esac
agent_once 1
once_said k1 2 TRY_LATER
once_said k2 2 TRY_LATER

lethe_log "lethe-agent run retries; PostgreSQL comes back"
"$AGENT" -c "$S/srv/agent.conf" run >"$S/run.log" 2>&1 &
RUN_PID=$!
lethe_at_exit "kill $RUN_PID 2>/dev/null || true"
lethe_wait_until "$TIMEOUT" "the agent to be refused again" \
	eval "[ \"\$(grep -c 'event=register .*kvno=2 result=TRY_LATER' '$S/run.log')\" -ge 2 ]" ||
	lethe_die "lethe-agent run did not retry: $(cat "$S/run.log")"
lethe_pg_up
for k in k1 k2; do
	lethe_wait_until "$TIMEOUT" "kvno 2 registered at $k" \
		grep -q "event=register kdc=127.0.0.1:${REG_PORT[$k]} .*kvno=2 result=OK" "$S/run.log" ||
		lethe_die "kvno 2 never landed at $k: $(cat "$S/run.log")"
done
for k in k1 k2; do
	lethe_realm_use "$k"
	kill -0 "${KDC_PID[$k]}" 2>/dev/null && [ "$LETHE_KDC_PID" = "${KDC_PID[$k]}" ] ||
		lethe_die "$k is not the KDC started before the outage"
	lethe_wait_until "$TIMEOUT" "$k to reconnect" \
		lethe_kdc_log_has "store available again after [0-9]+ ms" ||
		lethe_die "$k never logged the store back: $(tail -5 "$S/$k/kdc.log")"
	deadline=$((SECONDS + TIMEOUT))
	until [ "$(tickets_at "$k")" = 2 ]; do
		[ "$SECONDS" -lt "$deadline" ] || lethe_die "$k never issued kvno 2: $(cat "$S/kvno-$k.out")"
		sleep 0.2
	done
	client_at "$k"      # tickets_at ran in a subshell: its cache is on disk
	mit_kvno -k "$S/srv/server.keytab" "$HTTP" >"$S/kvnok.out" 2>&1 &&
		grep -q 'keytab entry valid' "$S/kvnok.out" ||
		lethe_die "kvno -k: the ticket from $k does not open with the agent's keytab: $(cat "$S/kvnok.out")"
done
kill -TERM "$RUN_PID"
wait "$RUN_PID" || lethe_die "lethe-agent run did not stop cleanly: $(tail -5 "$S/run.log")"
for k in k1 k2; do
	lethe_realm_use "$k"
	lethe_kdc_stop
done
lethe_log "OK"
