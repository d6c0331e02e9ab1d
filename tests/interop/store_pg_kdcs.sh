#!/usr/bin/env bash
# store_pg_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: one realm on three
# lethe-kdc sharing one PostgreSQL database (a real server, started here as an
# unprivileged user on a unix socket; lib/pg.sh), refresh_interval 60 s so
# that only LISTEN/NOTIFY can make a change show within the bounds below:
#  - `lethe-admin init` against the URI; every KDC reads the same master key
#    file; a KDC given another master key refuses the store
#  - MIT kinit gets a TGT from KDC 1; with that one cache, kvno gets service
#    tickets from KDC 2 and from KDC 3 (krb5.conf names one KDC per step)
#  - negative: a KDC of the same realm name on a store of its own (SQLite)
#    refuses that TGT
#  - users added through lethe-admin are served by all three (MIT kinit at
#    each); the time from lethe-admin's exit to each KDC's log line applying
#    the change is printed (p50, max; negative: before the exit) and must
#    stay under PROPAGATION_MAX_MS; likewise for the agent's registrations
#  - `lethe-agent once` registers with KDC 1's registrar; KDC 2 and KDC 3
#    issue tickets under the new kvno that MIT `kvno -k` opens with the
#    agent's keytab; a second `once` (kvno 2) likewise
#  - every KDC stops cleanly (exit 0)
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

KDC=${1:?usage: store_pg_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: store_pg_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: store_pg_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=PG.LETHE.TEST
SVC=host/svc.pg.test@$REALM
HTTP=HTTP/www.pg.test@$REALM
ALICE_PW='alice: one realm, three KDCs'
USERS=10                    # users added to measure propagation
PROPAGATION_MAX_MS=5000     # far below refresh_interval (60 s)
AGENT_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy timeout grep sed sort runuser
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_pg_start
URI=$(lethe_pg_createdb lethe_realm)
MKEY=$S/realm.mkey

# ---- one store, three KDCs -------------------------------------------------------
declare -A KDC_PORT=() REG_PORT=()
lethe_realm_use k1
lethe_realm_attach "$S/k1" "$REALM" "$ADMIN" "$URI" "$MKEY"
lethe_realm_admin init --realm "$REALM"
[ "$(stat -c %a "$MKEY")" = 600 ] || lethe_die "the master key file is not 0600"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_admin add-service "$SVC"
lethe_agent_identity "$S/srv" "$HTTP" www.pg.test
[ "$(lethe_pg_sql lethe_realm "SELECT kind FROM principals WHERE name = 'alice@$REALM'")" = user ] ||
	lethe_die "the PostgreSQL database does not hold the realm's principals"

# start_kdc NAME [extra kdc.conf lines]: a KDC on the shared store.
start_kdc() {
	local name=$1
	shift
	lethe_realm_use "$name"
	lethe_realm_attach "$S/$name" "$REALM" "$ADMIN" "$URI" "$MKEY"
	lethe_kdc_start "$KDC" "refresh_interval = 60" "$@"
	KDC_PORT[$name]=$LETHE_KDC_PORT
}
REG_PORT[k1]=$(lethe_free_port)
start_kdc k1 "[registrar]" "listen = 127.0.0.1:${REG_PORT[k1]}"
start_kdc k2
start_kdc k3

lethe_log "a KDC with another master key refuses the shared store"
head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$S/wrong.mkey"
echo >>"$S/wrong.mkey"
chmod 600 "$S/wrong.mkey"
sed "s#^master_key_file = .*#master_key_file = $S/wrong.mkey#" "$S/k3/kdc.conf" >"$S/wrong.conf"
if "$KDC" -n -c "$S/wrong.conf" >"$S/wrong.out" 2>&1; then
	lethe_die "lethe-kdc -n accepted a wrong master key: $(cat "$S/wrong.out")"
fi
grep -q "wrong master key" "$S/wrong.out" || lethe_die "no 'wrong master key': $(cat "$S/wrong.out")"

# client_use NAME: MIT clients ask KDC NAME only, with cache $S/ccache.
client_use() {
	mit_client_setup "$S/client-$1" "$REALM" 127.0.0.1 "${KDC_PORT[$1]}" udp
	MIT_CLIENT_CCACHE=FILE:$S/ccache
}

# kvno_at NAME SERVICE: kvno at KDC NAME only with a copy of the TGT in
# $S/tgt.ccache (no service ticket cached from an earlier step); prints the kvno.
kvno_at() {
	client_use "$1"
	cp "$S/tgt.ccache" "$S/ccache"
	mit_kvno "$2" >"$S/kvno.out" 2>&1 || return 1
	sed -n 's/.*kvno = \([0-9]*\).*/\1/p' "$S/kvno.out"
}

# ---- a TGT from one KDC, service tickets from the others ----------------------------
lethe_log "kinit at KDC 1; kvno at KDC 2 and at KDC 3"
client_use k1
printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit alice at KDC 1: $(cat "$S/kinit.out")"
cp "$S/ccache" "$S/tgt.ccache"
for k in k2 k3; do
	kv=$(kvno_at "$k" "$SVC") || lethe_die "kvno at $k with KDC 1's TGT: $(cat "$S/kvno.out")"
	[ "$kv" = 1 ] || lethe_die "kvno at $k: kvno '$kv', not 1"
	lethe_realm_use "$k"
	lethe_kdc_log_has "type=TGS .*service=$SVC" || lethe_die "$k logged no TGS for $SVC"
done

lethe_log "negative: a KDC of the same realm on a store of its own refuses that TGT"
lethe_realm_use solo
lethe_realm_create "$S/solo" "$REALM" "$ADMIN"
lethe_realm_admin add-service "$SVC"
lethe_kdc_start "$KDC"
KDC_PORT[solo]=$LETHE_KDC_PORT
if kvno_at solo "$SVC" >/dev/null; then
	lethe_die "a KDC with its own store accepted KDC 1's TGT"
fi
lethe_kdc_stop

# ---- changes through lethe-admin reach every KDC ----------------------------------
ms_now() { date +%s%3N; }

# kinit_ok NAME USER PW: one kinit at KDC NAME into a cache of its own.
kinit_ok() {
	mit_client_setup "$S/client-$1" "$REALM" 127.0.0.1 "${KDC_PORT[$1]}" udp
	MIT_CLIENT_CCACHE=FILE:$S/ccache-$1
	printf '%s\n' "$3" | mit_kinit "$2" >/dev/null 2>&1
}

# Fail unless `kinit_ok NAME USER PW` works within 30 s (polled every 20 ms).
wait_kinit() {
	local name=$1 user=$2 pw=$3 deadline=$((SECONDS + 30))
	until kinit_ok "$name" "$user" "$pw"; do
		[ "$SECONDS" -lt "$deadline" ] || lethe_die "$user never served by $name"
		sleep 0.02
	done
}

# applied_ms NAME GEN: the time (ms since the epoch) KDC NAME logged
# applying generation GEN; waits for the line (30 s at most).
applied_ms() {
	local line
	lethe_realm_use "$1"
	lethe_wait_until 30 "$1 to apply generation $2" \
		lethe_kdc_log_has "event=snapshot reason=\"store changed\".* generation=$2 " ||
		lethe_die "$1 never applied generation $2"
	line=$(grep -Em1 -- "event=snapshot reason=\"store changed\".* generation=$2 " \
		"$LETHE_REALM_DIR/kdc.log")
	date -d "${line%% *}" +%s%3N
}

# p50 and max of the numbers in file $1.
p50_max() {
	local n
	sort -n "$1" >"$1.sorted"
	n=$(wc -l <"$1.sorted")
	echo "p50 $(sed -n "$(((n + 1) / 2))p" "$1.sorted") ms, max $(tail -1 "$1.sorted") ms ($n samples)"
}

# Record in file $1, for each KDC named after it, the ms from $T0 to its
# log line applying generation $GEN; fail past PROPAGATION_MAX_MS.
record_applied() {
	local file=$1 k ms
	shift
	for k in "$@"; do
		ms=$(($(applied_ms "$k" "$GEN") - T0))
		echo "$ms" >>"$file"
		[ "$ms" -le "$PROPAGATION_MAX_MS" ] ||
			lethe_die "$k applied generation $GEN ${ms} ms late (refresh_interval is 60 s: NOTIFY not followed?)"
	done
}

lethe_log "$USERS users added through lethe-admin; each served by all three KDCs"
: >"$S/applied"
for ((i = 1; i <= USERS; i++)); do
	lethe_realm_use k1
	lethe_realm_add_user "user$i" "pw of user $i"
	T0=$(ms_now)
	GEN=$(lethe_pg_sql lethe_realm "SELECT value FROM generation")
	record_applied "$S/applied" k1 k2 k3
	for k in k3 k2 k1; do
		wait_kinit "$k" "user$i" "pw of user $i"
	done
done
# Negative: applied before lethe-admin had exited (it commits, then exits).
lethe_log "change applied by a KDC, ms after lethe-admin's exit: $(p50_max "$S/applied")"

# ---- an agent registers with KDC 1; KDC 2 and KDC 3 serve its key ---------------------
lethe_agent_conf "$S/srv/agent.conf" "$HTTP" "${REG_PORT[k1]}" "keytab = server.keytab" \
	"max_ticket_life = 10h"
chmod 600 "$S/srv/server.key"
: >"$S/reg-latency"
for want in 1 2; do
	lethe_log "lethe-agent once at KDC 1's registrar: kvno $want served by KDC 2 and KDC 3"
	rc=0
	timeout "$AGENT_TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "lethe-agent once exited $rc: $(cat "$S/agent.out")"
	grep -q "kvno $want: OK" "$S/agent.out" || lethe_die "once did not register kvno $want: $(cat "$S/agent.out")"
	T0=$(ms_now)
	GEN=$(lethe_pg_sql lethe_realm "SELECT value FROM generation")
	record_applied "$S/reg-latency" k2 k3
	for k in k3 k2; do
		deadline=$((SECONDS + 30))
		until [ "$(kvno_at "$k" "$HTTP" || true)" = "$want" ]; do
			[ "$SECONDS" -lt "$deadline" ] ||
				lethe_die "$k never issued kvno $want: $(cat "$S/kvno.out")"
			sleep 0.02
		done
		mit_kvno -k "$S/srv/server.keytab" "$HTTP" >"$S/kvnok.out" 2>&1 &&
			grep -q 'keytab entry valid' "$S/kvnok.out" ||
			lethe_die "kvno -k: the ticket from $k does not open with the agent's keytab: $(cat "$S/kvnok.out")"
	done
done
lethe_log "registration applied by the other KDCs, ms after lethe-agent's exit: $(p50_max "$S/reg-latency")"

for k in k1 k2 k3; do
	lethe_realm_use "$k"
	lethe_kdc_log_has 'event=snapshot reason="store changed"' ||
		lethe_die "$k never applied a change from the shared store"
	lethe_kdc_stop
done
lethe_log "OK"
