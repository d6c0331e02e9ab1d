#!/usr/bin/env bash
# kmp_attack.sh LETHE_KDC LETHE_ADMIN LETHE_KMP: lethe-kmp attacked from
# outside by an independent peer (kmp_peer.py), with a real lethe-kdc.
#  1. spoofed Wake Ups to a live `lethe-kmp client` from its server's
#     address: naming krbtgt, a user, another service, or carrying the
#     reserved nonce 0; the right principal from another address; a second
#     Wake Up during an exchange. None is acted on (no ticket fetched, no AP
#     Request), each is counted; the genuine one is answered.
#  2. a lost SA Recovered: a relay between a live server and client drops
#     it; the server drops the pending SA after 5 s and keeps the old one
#     (its --xfrm-out file still holds the first SA's SPIs and keys).
#  3. a real AP Request captured under an old nonce, replayed, and
#     thousands with random nonces (from the woken address and from one
#     never woken) to a live `lethe-kmp server`: nothing comes back, every
#     one is a nonce drop and the acceptor decrypts nothing; the genuine
#     client then still completes its exchange.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/kmp.sh
. "$HERE/lib/kmp.sh"

USAGE="usage: kmp_attack.sh LETHE_KDC LETHE_ADMIN LETHE_KMP"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
KMP=${3:?$USAGE}
REALM=LETHE.TEST
SERVICE=kmp/cms.lethe.test@$REALM
MTA_PW='mta1: under attack'
FLOOD=1500              # random-nonce AP Requests from each of two addresses
RUN_TIMEOUT=40

lethe_require_tools timeout grep sed kill python3 cmp
[ -x "$KMP" ] || lethe_die "lethe-kmp not found at $KMP"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
PEER=(python3 "$HERE/kmp_peer.py")

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user mta1 "$MTA_PW"
printf '%s\n' "$MTA_PW" >"$S/mta1.pw"
lethe_realm_admin add-service "${SERVICE%@*}"
lethe_realm_admin add-service host/other.lethe.test
lethe_realm_admin export-keytab "${SERVICE%@*}" -k "$S/cms.keytab"
lethe_kdc_start "$KDC"
lethe_at_exit kmp_stop_all

# A client in the background: client_bg LOG CLIENT_PORT SERVER_PORT ARGS...; pid in CLIENT_PID.
client_bg() {
	local log=$1 cport=$2 sport=$3
	shift 3
	"$KMP" client -l "127.0.0.1:$cport" -s "127.0.0.1:$sport" --kdc "127.0.0.1:$LETHE_KDC_PORT" \
		--realm "$REALM" -P mta1 --password-file "$S/mta1.pw" --service "$SERVICE" \
		--run-for "$RUN_TIMEOUT" "$@" 2>"$log" &
	CLIENT_PID=$!
	KMP_PIDS+=("$CLIENT_PID")
	lethe_wait_until 10 "lethe-kmp client ready" grep -q kmp_client_ready "$log" ||
		lethe_die "client did not start: $(cat "$log")"
}

# Wait for the background client to exit 0 (--exit-after-sa).
client_wait() {
	kmp_wait_one "$CLIENT_PID"
	[ "$WAITED_RC" -eq 0 ] || lethe_die "client exited $WAITED_RC: $(cat "$1")"
}

# ---- 1. spoofed Wake Ups to a live client ---------------------------------------
lethe_log "spoofed Wake Ups to lethe-kmp client"
CPORT=$(lethe_free_port)
FAKE_SERVER=$(lethe_free_port)
client_bg "$S/spoof-client.log" "$CPORT" "$FAKE_SERVER"
timeout "$RUN_TIMEOUT" "${PEER[@]}" spoof "$CPORT" "$FAKE_SERVER" "$SERVICE" "$REALM" \
	>"$S/spoof.out" 2>&1 || lethe_die "spoof: $(cat "$S/spoof.out") client: $(cat "$S/spoof-client.log")"
cat "$S/spoof.out"
kmp_stop_one "$CLIENT_PID"
kmp_expect_counter "$S/spoof-client.log" triggers_refused 4
kmp_expect_counter "$S/spoof-client.log" dropped 1
busy=$(kmp_counter "$S/spoof-client.log" triggers_busy)
[ "${busy:-0}" -ge 1 ] || lethe_die "triggers_busy=$busy: $(cat "$S/spoof-client.log")"
kmp_expect_counter "$S/spoof-client.log" ap_requests_sent 2
# The KDC saw tickets asked for the configured service only.
for name in "krbtgt/$REALM@$REALM" "mta1@$REALM" "host/other.lethe.test@$REALM"; do
	! lethe_kdc_log_has "type=TGS .*service=$name " ||
		lethe_die "the client asked the KDC for a ticket to $name"
done
lethe_kdc_log_has "type=TGS .*service=$SERVICE .*result=OK" ||
	lethe_die "no ticket for $SERVICE at the KDC"
echo "ok: no ticket for krbtgt, a user or another service; triggers_refused=4 triggers_busy=$busy"

# ---- 2. a lost SA Recovered, through a relay ------------------------------------
lethe_log "lost SA Recovered: the server keeps the old SA"
SPORT=$(lethe_free_port)
RPORT=$(lethe_free_port)
CPORT=$(lethe_free_port)
: >"$S/relay.log"
relay_start() {
	"${PEER[@]}" relay "$RPORT" "$SPORT" "$CPORT" "$S/relay.log" "$@" 2>>"$S/relay.err" &
	RELAY_PID=$!
	KMP_PIDS+=("$RELAY_PID")
}
# The client must listen before the server's first Wake Up goes out.
relay_start
client_bg "$S/c1.log" "$CPORT" "$RPORT" --exit-after-sa --ping 0 --xfrm-out "$S/c1.xfrm"
"$KMP" server -l "127.0.0.1:$SPORT" -k "$S/cms.keytab" -p "$SERVICE" -w "127.0.0.1:$RPORT" \
	--lifetime 600 --grace 60 --run-for 150 --xfrm-out "$S/srv.xfrm" 2>"$S/srv.log" &
SERVER_PID=$!
KMP_PIDS+=("$SERVER_PID")
client_wait "$S/c1.log"
lethe_wait_until 10 "SA 1 at the server" grep -q 'event=kmp_sa_recovered' "$S/srv.log" ||
	lethe_die "no SA Recovered at the server: $(cat "$S/srv.log")"
cp "$S/srv.xfrm" "$S/srv.xfrm.1"
# Second exchange: SA Recovered dropped by the relay.
kmp_stop_one "$RELAY_PID"
relay_start --drop-kmmid 4
client_bg "$S/c2.log" "$CPORT" "$RPORT" --exit-after-sa --ping 0 --xfrm-out "$S/c2.xfrm"
kill -HUP "$SERVER_PID"
client_wait "$S/c2.log"
grep -q '^drop 4 ' "$S/relay.log" || lethe_die "the relay dropped no SA Recovered"
lethe_wait_until 15 "the server to give up on SA Recovered" \
	grep -q 'event=kmp_no_sa_recovered' "$S/srv.log" ||
	lethe_die "pending SA not dropped: $(cat "$S/srv.log")"
cmp -s "$S/srv.xfrm" "$S/srv.xfrm.1" || lethe_die "the server's SA changed without SA Recovered"
# The server's SA is the first client's (its in line is c1's out line), not c2's.
srv_in=$(sed -n 's/^in //p' "$S/srv.xfrm")
[ "$srv_in" = "$(sed -n 's/^out //p' "$S/c1.xfrm")" ] || lethe_die "server SA is not SA 1"
[ "$srv_in" != "$(sed -n 's/^out //p' "$S/c2.xfrm")" ] || lethe_die "server SA is SA 2"
echo "ok: SA Recovered lost: pending SA dropped, the first SA kept"

# ---- 3. replayed and random-nonce AP Requests to the live server ---------------
lethe_log "AP Request replay and random-nonce flood against lethe-kmp server"
# A new Wake Up (the relay logs it): the captured AP Request's nonce is old now.
wakeups() { grep -c '^s2c 1 ' "$S/relay.log" || true; }
n=$(wakeups)
kill -HUP "$SERVER_PID"
lethe_wait_until 10 "the new Wake Up" eval '[ "$(wakeups)" -gt "$n" ]' ||
	lethe_die "no Wake Up after SIGHUP: $(cat "$S/srv.log")"
kmp_stop_one "$RELAY_PID"
usr1_line() {   # SIGUSR1, then wait for one more kmp_counters line
	local before
	before=$(grep -c 'event=kmp_counters' "$S/srv.log" || true)
	kill -USR1 "$SERVER_PID"
	lethe_wait_until 10 "counters" eval \
		'[ "$(grep -c "event=kmp_counters" "$S/srv.log")" -gt "$before" ]'
}
usr1_line
drops0=$(kmp_counter "$S/srv.log" dropped_nonce)
tdec0=$(kmp_counter "$S/srv.log" ticket_decrypts)
adec0=$(kmp_counter "$S/srv.log" authenticator_decrypts)
[ -n "$tdec0" ] && [ -n "$adec0" ] || lethe_die "no decryption counters: $(cat "$S/srv.log")"
# From the relay's (woken) address, and from one never woken.
rm -f "$S/flood.done"
"${PEER[@]}" flood "$SPORT" "$RPORT" "$S/relay.log" "$FLOOD" "$S/flood.done" \
	>"$S/flood.out" 2>&1 &
FLOOD_PID=$!
KMP_PIDS+=("$FLOOD_PID")
lethe_wait_until 60 "the flood sent" grep -q '^sent=' "$S/flood.out" ||
	lethe_die "flood: $(cat "$S/flood.out")"
sent=$(sed -n 's/^sent=//p' "$S/flood.out")
[ "$sent" -eq $((2 * FLOOD + 1)) ] || lethe_die "sent=$sent"
all_dropped() {
	usr1_line
	[ "$(kmp_counter "$S/srv.log" dropped_nonce)" -ge $((drops0 + sent)) ]
}
lethe_wait_until 30 "every flooded AP Request counted" all_dropped ||
	lethe_die "dropped_nonce=$(kmp_counter "$S/srv.log" dropped_nonce), want $((drops0 + sent))"
touch "$S/flood.done"
kmp_wait_one "$FLOOD_PID"
cat "$S/flood.out"
[ "$WAITED_RC" -eq 0 ] || lethe_die "flood check failed"
kmp_expect_counter "$S/srv.log" dropped_nonce $((drops0 + sent))
kmp_expect_counter "$S/srv.log" ticket_decrypts "$tdec0"
kmp_expect_counter "$S/srv.log" authenticator_decrypts "$adec0"
kmp_expect_counter "$S/srv.log" dropped_other 0
echo "ok: $sent AP Requests (1 replay, $((sent - 1)) random nonces): $sent nonce drops, 0 decryptions, no reply"

# The genuine client still completes under the outstanding Wake Up.
relay_start
client_bg "$S/c3.log" "$CPORT" "$RPORT" --exit-after-sa --ping 2
client_wait "$S/c3.log"
kmp_expect_counter "$S/c3.log" sa_messages_ok 2
kmp_stop_one "$SERVER_PID"
kmp_expect_counter "$S/srv.log" ap_requests_accepted 3
kmp_expect_counter "$S/srv.log" sa_recovered 2
echo "ok: the genuine client completes its exchange after the flood"

kmp_stop_all
lethe_kdc_stop
lethe_log "kmp_attack: all checks passed"
