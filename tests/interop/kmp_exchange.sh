#!/usr/bin/env bash
# kmp_exchange.sh LETHE_KDC LETHE_ADMIN LETHE_KMP: lethe-kmp server and client
# over loopback UDP, with tickets from a real lethe-kdc.
#  - server-initiated (Wake Up) in the IPsec DOI, client with a password;
#    the keytab appears only after the server started (it re-reads it)
#  - server-initiated in the SNMPv3 DOI, client with a keytab
#  - client-initiated (reserved nonce) with the server in wait mode
#  - each time: SA Recovered, then 3 protected pings/pongs over the SA test
#    channel prove both sides hold the same keys
#  - forged datagrams are counted as drops; counters on SIGUSR1 and at exit
# The server key rotated by lethe-agent in the middle comes with lethe-agent.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"

KDC=${1:?usage: kmp_exchange.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
ADMIN=${2:?usage: kmp_exchange.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
KMP=${3:?usage: kmp_exchange.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
REALM=LETHE.TEST
SERVICE=kmp/cms.lethe.test@$REALM
MTA_PW='mta1: a password'
RUN_TIMEOUT=30

lethe_require_tools timeout grep sed kill
[ -x "$KMP" ] || lethe_die "lethe-kmp not found at $KMP"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user mta1 "$MTA_PW"
printf '%s\n' "$MTA_PW" >"$S/mta1.pw"
lethe_realm_add_user mta2 'mta2: only in a keytab'
lethe_realm_admin export-keytab mta2 -k "$S/mta2.keytab"
lethe_realm_admin add-service "${SERVICE%@*}"
lethe_kdc_start "$KDC"

SERVER_PID=
server_kill() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	timeout 10 tail --pid="$SERVER_PID" -f /dev/null 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}
lethe_at_exit server_kill

# Start the server: server_start LOG ARGS...
server_start() {
	local log=$1
	shift
	SERVER_PORT=$(lethe_free_port)
	"$KMP" server -l "127.0.0.1:$SERVER_PORT" -k "$S/cms.keytab" -p "$SERVICE" \
		--lifetime 600 --grace 60 --run-for 120 "$@" 2>"$log" &
	SERVER_PID=$!
	lethe_wait_until 10 "lethe-kmp server ready" grep -q kmp_server_ready "$log" ||
		lethe_die "server did not start: $(cat "$log")"
}

# Stop the server (SIGTERM; it logs its counters and exits 0).
server_stop() {
	local rc=0
	kill -TERM "$SERVER_PID"
	timeout 10 tail --pid="$SERVER_PID" -f /dev/null || lethe_die "server ignored SIGTERM"
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	[ "$rc" -eq 0 ] || lethe_die "server exited $rc"
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

# Run a client to completion: client_run LOG PORT ARGS...
client_run() {
	local log=$1 port=$2 rc=0
	shift 2
	timeout "$RUN_TIMEOUT" "$KMP" client -l "127.0.0.1:$port" -s "127.0.0.1:$SERVER_PORT" \
		--kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" --ping 3 --exit-after-sa \
		--run-for 25 "$@" 2>"$log" || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "client exited $rc: $(cat "$log")"
}

# ---- 1. server-initiated, IPsec, password; keytab exported after start ----
lethe_log "server-initiated exchange, IPsec DOI"
CPORT=$(lethe_free_port)
server_start "$S/srv1.log" -w "127.0.0.1:$CPORT"
# The keytab does not exist yet: the first Wake Ups go out all the same, and
# the acceptor picks the key up when the first ticket names it.
lethe_realm_admin export-keytab "${SERVICE%@*}" -k "$S/cms.keytab"
client_run "$S/cli1.log" "$CPORT" -P mta1 --password-file "$S/mta1.pw" --service "$SERVICE"
grep -q 'event=kmp_sa_installed' "$S/cli1.log" || lethe_die "no SA at the client"
expect_counter "$S/cli1.log" replies_accepted 1
expect_counter "$S/cli1.log" sa_messages_ok 3
expect_counter "$S/cli1.log" wakeups_received 1
# A forged datagram and a truncated one: counted as drops, never answered.
printf '\x02\x01\x10\x6e\x01\x00' >/dev/udp/127.0.0.1/"$SERVER_PORT"
printf 'garbage' >/dev/udp/127.0.0.1/"$SERVER_PORT"
usr1_dropped() {
	kill -USR1 "$SERVER_PID"
	sleep 0.2
	[ "$(counter "$S/srv1.log" dropped_other)" = 2 ]
}
lethe_wait_until 10 "counters after SIGUSR1" usr1_dropped ||
	lethe_die "forged datagrams not counted: $(cat "$S/srv1.log")"
server_stop
expect_counter "$S/srv1.log" wakeups_sent 1
expect_counter "$S/srv1.log" ap_requests_accepted 1
expect_counter "$S/srv1.log" sa_recovered 1
expect_counter "$S/srv1.log" sas_live 1
expect_counter "$S/srv1.log" sa_messages_ok 3
expect_counter "$S/srv1.log" dropped_nonce 0
grep -q 'event=kmp_ap_request_accepted .*detail=server-initiated' "$S/srv1.log" ||
	lethe_die "no exchange logged: $(cat "$S/srv1.log")"
grep -q 'event=kmp_sa_message payload="ping 3"' "$S/srv1.log" ||
	lethe_die "no ping decrypted at the server"

# ---- 2. server-initiated, SNMPv3, client key from a keytab -----------------
lethe_log "server-initiated exchange, SNMPv3 DOI"
CPORT=$(lethe_free_port)
server_start "$S/srv2.log" --doi snmpv3 -w "127.0.0.1:$CPORT"
client_run "$S/cli2.log" "$CPORT" --doi snmpv3 -P mta2 -k "$S/mta2.keytab" \
	--service "$SERVICE"
expect_counter "$S/cli2.log" replies_accepted 1
expect_counter "$S/cli2.log" sa_messages_ok 3
server_stop
expect_counter "$S/srv2.log" ap_requests_accepted 1
expect_counter "$S/srv2.log" sa_recovered 1
expect_counter "$S/srv2.log" sa_messages_ok 3

# ---- 3. client-initiated, server waiting ------------------------------------
lethe_log "client-initiated exchange"
CPORT=$(lethe_free_port)
server_start "$S/srv3.log"
client_run "$S/cli3.log" "$CPORT" -P mta1 --password-file "$S/mta1.pw" \
	--initiate --service "$SERVICE"
expect_counter "$S/cli3.log" replies_accepted 1
expect_counter "$S/cli3.log" wakeups_received 0
server_stop
expect_counter "$S/srv3.log" wakeups_sent 0
expect_counter "$S/srv3.log" ap_requests_accepted 1
expect_counter "$S/srv3.log" sa_messages_ok 3
grep -q 'detail=client-initiated' "$S/srv3.log" || lethe_die "not logged as client-initiated"

# ---- 4. a client that never answers: the server retransmits, then gives up --
lethe_log "Wake Up back-off against a silent client"
CPORT=$(lethe_free_port)
server_start "$S/srv4.log" -w "127.0.0.1:$CPORT"
# 1 + 2 + 4 + 8 + 8 s: give-up after 23 s.
lethe_wait_until 40 "the server to give up" \
	grep -q 'event=kmp_wakeup_gave_up' "$S/srv4.log" ||
	lethe_die "no give-up: $(cat "$S/srv4.log")"
server_stop
expect_counter "$S/srv4.log" wakeups_sent 1
expect_counter "$S/srv4.log" wakeup_retransmits 4
expect_counter "$S/srv4.log" wakeups_given_up 1

lethe_kdc_stop
lethe_log "kmp_exchange: all checks passed"
