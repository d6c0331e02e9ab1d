#!/usr/bin/env bash
# kmp_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_KMP: a lethe-kmp
# server whose agent stopped past use_until (DESIGN §2).
#  - lethe-agent registers kmp/cms once (use_until 4 s later) and stops;
#    the KDC policy allows public-key tickets for it and forbids the
#    classic key (lethe-admin service-policy)
#  - past use_until, lethe-kmp client gets a public-key ticket (the KDC
#    logs ticket_etype=-19540)
#  - a server without --cert/--key refuses it (KRB-ERROR, no SA)
#  - a server with the agent's certificate and key (--cert/--key) opens it:
#    the exchange completes (kvno=0 logged) and pings cross the SA, both
#    server-initiated and client-initiated
#  - an attack from outside on that server's CMS path (acc_cms_tool): a
#    public-key ticket whose CMS wraps its key with id-aes256-wrap-pad
#    (OpenSSL 3.0 writes past a heap buffer there) is refused unopened, the
#    allow-list's reason logged; the server keeps serving a real exchange
#  - --cert/--key without --kdc-cert: lethe-kmp refuses to start
#  - forged public-key tickets from outside (acc_cms_tool forge): one for
#    mallory sealed with only the server's (public) certificate, and one
#    also signed by a self-made EC key that is not the KDC's, are refused
#    (no AP Reply, the reason logged and counted); the genuine ticket above
#    is the KDC-signed one
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/kmp.sh
. "$HERE/lib/kmp.sh"

USAGE="usage: kmp_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_KMP ACC_CMS_TOOL"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
AGENT=${3:?$USAGE}
KMP=${4:?$USAGE}
CMS_TOOL=${5:?$USAGE}
REALM=LETHE.TEST
HOST=cms.lethe.test
SERVICE=kmp/$HOST@$REALM
MTA_PW='mta1: public-key tickets'
ROTATION=4              # seconds; use_until is registration + 4 s
RUN_TIMEOUT=30

lethe_require_tools timeout grep sed kill
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
[ -x "$KMP" ] || lethe_die "lethe-kmp not found at $KMP"
[ -x "$CMS_TOOL" ] || lethe_die "acc_cms_tool not found at $CMS_TOOL"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user mta1 "$MTA_PW"
printf '%s\n' "$MTA_PW" >"$S/mta1.pw"
lethe_agent_identity "$S/srv" "$SERVICE" "$HOST"
lethe_realm_admin service-policy "${SERVICE%@*}" --pubkey-tickets on --classic-key off
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "refresh_interval = 1s" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
lethe_at_exit kmp_stop_all
lethe_agent_conf "$S/srv/agent.conf" "$SERVICE" "$REG_PORT" "keytab = service.keytab" \
	"rotation = ${ROTATION}s" "overlap = 0s" "max_ticket_life = 1h"
KEYTAB=$S/srv/service.keytab

timeout "$RUN_TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 ||
	lethe_die "lethe-agent once: $(cat "$S/agent.out")"
registered=$SECONDS
[ -s "$KEYTAB" ] || lethe_die "no keytab from the agent"
# The agent is stopped; wait until its key is past use_until.
sleep $((ROTATION + 1 - (SECONDS - registered) > 0 ? ROTATION + 1 - (SECONDS - registered) : 0))

# server_start LOG ARGS...: SERVER_PORT, SERVER_PID.
server_start() {
	local log=$1
	shift
	SERVER_PORT=$(lethe_free_port)
	"$KMP" server -l "127.0.0.1:$SERVER_PORT" -k "$KEYTAB" -p "$SERVICE" --run-for 60 "$@" 2>"$log" &
	SERVER_PID=$!
	KMP_PIDS+=("$SERVER_PID")
	lethe_wait_until 10 "lethe-kmp server ready" grep -q kmp_server_ready "$log" ||
		lethe_die "server did not start: $(cat "$log")"
}

# client_run LOG CLIENT_PORT ARGS...: status in CLIENT_RC.
client_run() {
	local log=$1 cport=$2
	shift 2
	CLIENT_RC=0
	timeout "$RUN_TIMEOUT" "$KMP" client -l "127.0.0.1:$cport" -s "127.0.0.1:$SERVER_PORT" \
		--kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" -P mta1 --password-file "$S/mta1.pw" \
		--service "$SERVICE" --ping 3 --exit-after-sa "$@" 2>"$log" || CLIENT_RC=$?
}

# ---- without the private key: refused -------------------------------------------
lethe_log "server without --cert/--key: public-key ticket refused"
server_start "$S/srv0.log"
client_run "$S/cli0.log" "$(lethe_free_port)" --initiate --run-for 3
[ "$CLIENT_RC" -ne 0 ] || lethe_die "an SA without the private key: $(cat "$S/cli0.log")"
grep -q 'event=kmp_ap_req_refused .*detail=etype' "$S/srv0.log" ||
	lethe_die "no enctype refusal logged: $(cat "$S/srv0.log")"
kmp_stop_one "$SERVER_PID"
kmp_expect_counter "$S/srv0.log" ap_requests_accepted 0
[ "$(kmp_counter "$S/srv0.log" error_replies)" -ge 1 ] ||
	lethe_die "no Error Reply: $(cat "$S/srv0.log")"
lethe_kdc_log_has "type=TGS .*service=$SERVICE .*ticket_etype=-19540 .*result=OK" ||
	lethe_die "the KDC issued no public-key ticket: $(cat "$LETHE_REALM_DIR/kdc.log")"
echo "ok: public-key ticket issued past use_until; refused without the private key"

# ---- with the agent's certificate and key ----------------------------------------
lethe_log "server with --cert/--key: client-initiated and server-initiated"
CPORT=$(lethe_free_port)
server_start "$S/srv1.log" --cert "$S/srv/server.pem" --key "$S/srv/server.key" \
	--kdc-cert "$S/srv/kdc.pem" \
	-w "127.0.0.1:$CPORT"
grep -q 'pubkey_tickets=yes' "$S/srv1.log" || lethe_die "server has no identity"
client_run "$S/cli1.log" "$CPORT" --run-for 25
[ "$CLIENT_RC" -eq 0 ] || lethe_die "server-initiated: client exited $CLIENT_RC: $(cat "$S/cli1.log")"
client_run "$S/cli2.log" "$(lethe_free_port)" --initiate --run-for 25
[ "$CLIENT_RC" -eq 0 ] || lethe_die "client-initiated: client exited $CLIENT_RC: $(cat "$S/cli2.log")"
kmp_expect_counter "$S/cli1.log" sa_messages_ok 3
kmp_expect_counter "$S/cli2.log" sa_messages_ok 3
kmp_stop_one "$SERVER_PID"
[ "$(grep -c 'event=kmp_ap_request_accepted .*kvno=0 ' "$S/srv1.log")" -eq 2 ] ||
	lethe_die "want two exchanges under public-key tickets (kvno=0): $(cat "$S/srv1.log")"
kmp_expect_counter "$S/srv1.log" sa_recovered 2
kmp_expect_counter "$S/srv1.log" sa_messages_ok 6
echo "ok: lethe-kmp server opened public-key tickets with the agent's key; SAs and pings"

# ---- an attack on the CMS path: a padded key wrap ---------------------------------
lethe_log "server with --cert/--key: a ticket sealed with id-aes256-wrap-pad"
# -v: the acceptor's CMS allow-list logs why it refused at debug level.
server_start "$S/srv3.log" --cert "$S/srv/server.pem" --key "$S/srv/server.key" \
	--kdc-cert "$S/srv/kdc.pem" -v
out=$(timeout "$RUN_TIMEOUT" "$CMS_TOOL" "127.0.0.1:$SERVER_PORT" "$S/srv/server.pem" \
	"$SERVICE") || lethe_die "acc_cms_tool failed: $out"
lethe_wait_until 10 "the server's refusal" grep -q 'event=kmp_ap_req_refused' "$S/srv3.log"
grep -q 'event=kmp_ap_req_refused .*detail=malformed' "$S/srv3.log" ||
	lethe_die "the padded key wrap was not refused as malformed: $(cat "$S/srv3.log")"
grep -q 'sealed CMS refused before decryption: key agreement is not dhSinglePass-stdDH-sha256kdf with id-aes256-wrap' \
	"$S/srv3.log" || lethe_die "no allow-list refusal logged: $(cat "$S/srv3.log")"
[ "$out" = "NO REPLY" ] || lethe_die "the attack got an answer: $out"
echo "ok: a public-key ticket with a padded key wrap is refused unopened, no answer"
# The same server then serves a real client.
client_run "$S/cli3.log" "$(lethe_free_port)" --initiate --run-for 25
[ "$CLIENT_RC" -eq 0 ] || lethe_die "after the attack: client exited $CLIENT_RC: $(cat "$S/cli3.log")"
kmp_expect_counter "$S/cli3.log" sa_messages_ok 3
kill -0 "$SERVER_PID" 2>/dev/null || lethe_die "the server died: $(cat "$S/srv3.log")"
kmp_stop_one "$SERVER_PID"
kmp_expect_counter "$S/srv3.log" ap_requests_accepted 1
kmp_expect_counter "$S/srv3.log" dropped_other 1
kmp_expect_counter "$S/srv3.log" error_replies 0
[ "$(grep -c 'event=kmp_ap_req_refused' "$S/srv3.log")" -eq 1 ] ||
	lethe_die "want one refusal: $(cat "$S/srv3.log")"
echo "ok: the server refused the attack and then completed a real exchange"

# ---- forged public-key tickets: the KDC's signature is required ------------------
lethe_log "server with --cert/--key but no --kdc-cert: refused at start-up"
rc=0
timeout "$RUN_TIMEOUT" "$KMP" server -l "127.0.0.1:$(lethe_free_port)" -k "$KEYTAB" \
	-p "$SERVICE" --run-for 5 --cert "$S/srv/server.pem" --key "$S/srv/server.key" \
	2>"$S/srv_nokdc.log" || rc=$?
[ "$rc" -eq 2 ] || lethe_die "want exit 2 without --kdc-cert, got $rc: $(cat "$S/srv_nokdc.log")"
grep -q 'need --kdc-cert' "$S/srv_nokdc.log" ||
	lethe_die "no clear message without --kdc-cert: $(cat "$S/srv_nokdc.log")"
echo "ok: --cert/--key without --kdc-cert is refused at start-up"

lethe_log "server with --cert/--key: forged public-key tickets for mallory"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=not the KDC" -keyout "$S/mallory.key" -out "$S/mallory.pem" \
	>"$S/openssl.out" 2>&1 || lethe_die "openssl req: $(cat "$S/openssl.out")"
server_start "$S/srv4.log" --cert "$S/srv/server.pem" --key "$S/srv/server.key" \
	--kdc-cert "$S/srv/kdc.pem" -v
out=$(timeout "$RUN_TIMEOUT" "$CMS_TOOL" "127.0.0.1:$SERVER_PORT" "$S/srv/server.pem" \
	"$SERVICE" forge) || lethe_die "acc_cms_tool forge failed: $out"
[ "$out" = "NO REPLY" ] || lethe_die "a ticket sealed with the certificate alone got an answer: $out"
lethe_wait_until 10 "the server's refusal" grep -q 'event=kmp_ap_req_refused' "$S/srv4.log"
grep -q 'event=kmp_ap_req_refused .*detail=ticket_signature' "$S/srv4.log" ||
	lethe_die "the unsigned ticket was not refused for its signature: $(cat "$S/srv4.log")"
grep -q 'public-key ticket is not signed' "$S/srv4.log" ||
	lethe_die "no reason logged for the unsigned ticket: $(cat "$S/srv4.log")"
echo "ok: a public-key ticket sealed with the certificate alone is refused, no answer"
out=$(timeout "$RUN_TIMEOUT" "$CMS_TOOL" "127.0.0.1:$SERVER_PORT" "$S/srv/server.pem" \
	"$SERVICE" forge "$S/mallory.pem" "$S/mallory.key") ||
	lethe_die "acc_cms_tool forge (signed) failed: $out"
[ "$out" = "NO REPLY" ] || lethe_die "a ticket signed by another key got an answer: $out"
lethe_wait_until 10 "the second refusal" \
	eval '[ "$(grep -c "event=kmp_ap_req_refused" "$S/srv4.log")" -ge 2 ]'
grep -q 'public-key ticket signed by spki [0-9a-f]*, which is no configured KDC certificate' \
	"$S/srv4.log" || lethe_die "no reason logged for the wrong signer: $(cat "$S/srv4.log")"
kill -0 "$SERVER_PID" 2>/dev/null || lethe_die "the server died: $(cat "$S/srv4.log")"
kmp_stop_one "$SERVER_PID"
kmp_expect_counter "$S/srv4.log" ap_requests_accepted 0
kmp_expect_counter "$S/srv4.log" pubkey_signature_refused 2
grep -q 'event=kmp_ap_request_accepted' "$S/srv4.log" &&
	lethe_die "a forged ticket was accepted: $(cat "$S/srv4.log")"
echo "ok: a public-key ticket signed by a key that is not the KDC's is refused, no answer"

lethe_kdc_stop
lethe_log "kmp_pubkey: all checks passed"
