#!/usr/bin/env bash
# registrar_kdc.sh LETHE_KDC LETHE_ADMIN REG_TOOL: the registrar of lethe-kdc
# end to end, with certificates made by lethe-admin.
#  - a server registers a temporary key (reply signed by the KDC, checked
#    against the realm CA exported by lethe-admin, nonce echoed)
#  - the snapshot is rebuilt at once (refresh_interval is 1 h here) and MIT
#    kvno gets a ticket under that key, which the server's keytab decrypts
#  - the same request again: REPLAY; the same kvno again: KVNO_EXISTS; a
#    certificate for another principal: WRONG_PRINCIPAL; the store keeps
#    only the first key (lethe-admin audit)
#  - an oversized frame gets a TOO_BIG answer; the KDC keeps serving
#  - a service whose key passed use_until: kvno fails and the KDC sends its
#    agent's callback (a python3 stub) one KeyRequest signed by the KDC
#  - one log line per registration
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: registrar_kdc.sh LETHE_KDC LETHE_ADMIN REG_TOOL}
ADMIN=${2:?usage: registrar_kdc.sh LETHE_KDC LETHE_ADMIN REG_TOOL}
TOOL=${3:?usage: registrar_kdc.sh LETHE_KDC LETHE_ADMIN REG_TOOL}
REALM=LETHE.TEST
SERVICE=host/server.lethe.test
ALICE_PW='alice: registrar test'
TOOL_TIMEOUT=30

lethe_require_tools kinit kvno klist kdestroy timeout grep head od
[ -x "$TOOL" ] || lethe_die "reg_tool not found at $TOOL"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

# ---- realm, certificates, KDC with its registrar ----------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_admin export-ca -o "$S/ca.pem"
lethe_realm_admin export-kdc-cert -o "$S/kdc.pem"
lethe_realm_admin issue-cert --principal "$SERVICE@$REALM" --key-out "$S/server.key" \
	--cert-out "$S/server.pem"
lethe_realm_admin issue-cert --principal "host/other.lethe.test@$REALM" \
	--key-out "$S/other.key" --cert-out "$S/other.pem"
REG_PORT=$(lethe_free_port)
# key_grace = no: the key request below is made by a service without a key
# in use being refused (with grace, agent_outage.sh and agent_kdc.sh).
lethe_kdc_start "$KDC" "refresh_interval = 1h" "key_grace = no" "[registrar]" \
	"listen = 127.0.0.1:$REG_PORT"
LOG=$LETHE_REALM_DIR/kdc.log
grep -q "registrar 127.0.0.1:$REG_PORT/tcp(port $REG_PORT)" "$LOG" ||
	lethe_die "lethe-kdc did not report its registrar port: $(cat "$LOG")"

# register CERT KEY PRINCIPAL KVNO [reg_tool options...] -> stdout
register() {
	local cert=$1 key=$2 principal=$3 kvno=$4
	shift 4
	timeout "$TOOL_TIMEOUT" "$TOOL" register "$@" "127.0.0.1:$REG_PORT" "$cert" "$key" \
		"$S/kdc.pem" "$S/ca.pem" "$principal" "$kvno"
}

# ---- a registration -----------------------------------------------------------
out=$(register "$S/server.pem" "$S/server.key" "$SERVICE@$REALM" 5 -s "$S/req.der" \
	-k "$S/server.keytab") ||
	lethe_die "reg_tool register failed: $out"
case "$out" in
"RESULT OK nonce=echoed "*) echo "ok: registered kvno 5: $out" ;;
*) lethe_die "registration refused: $out ($(tail -3 "$LOG"))" ;;
esac
lethe_wait_until 10 "the snapshot rebuilt after the registration" \
	grep -q 'event=snapshot reason="store changed"' "$LOG"
grep -q "event=reg_request peer=127.0.0.1:[0-9]* principal=$SERVICE@$REALM kvnos=5 result=OK signer=[0-9a-f]\{64\} usec=[0-9]*" "$LOG" ||
	lethe_die "no registration log line: $(grep reg_request "$LOG")"
echo "ok: one log line, snapshot rebuilt at once"

# ---- MIT kvno: a ticket under the temporary key ---------------------------------
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit: $(cat "$S/kinit.out")"
mit_kvno -k "$S/server.keytab" "$SERVICE" >"$S/kvno.out" 2>&1 ||
	lethe_die "kvno: $(cat "$S/kvno.out")"
grep -qx "$SERVICE@$REALM: kvno = 5, keytab entry valid" "$S/kvno.out" ||
	lethe_die "kvno output: $(cat "$S/kvno.out")"
echo "ok: MIT kvno got a ticket under kvno 5 that the server's keytab decrypts"

# ---- refusals --------------------------------------------------------------------
out=$(timeout "$TOOL_TIMEOUT" "$TOOL" resend "127.0.0.1:$REG_PORT" "$S/req.der" "$S/ca.pem") ||
	lethe_die "reg_tool resend failed: $out"
case "$out" in "RESULT REPLAY "*) ;; *) lethe_die "replayed request: $out" ;; esac
out=$(register "$S/server.pem" "$S/server.key" "$SERVICE@$REALM" 5) || lethe_die "reg_tool failed: $out"
case "$out" in "RESULT KVNO_EXISTS nonce=echoed "*) ;; *) lethe_die "kvno reused: $out" ;; esac
out=$(register "$S/other.pem" "$S/other.key" "$SERVICE@$REALM" 6) || lethe_die "reg_tool failed: $out"
case "$out" in
"RESULT WRONG_PRINCIPAL nonce=echoed "*) ;;
*) lethe_die "certificate of another principal: $out" ;;
esac
echo "ok: replay, reused kvno and another principal's certificate refused"

# An oversized length is answered TOO_BIG before any body is read.
exec 3<>"/dev/tcp/127.0.0.1/$REG_PORT"
printf '\x00\x01\x00\x01' >&3
timeout 10 head -c 4 <&3 >"$S/toobig.hdr" || lethe_die "no answer to an oversized frame"
exec 3<&- 3>&-
[ "$(od -An -tx1 "$S/toobig.hdr" | tr -d ' \n' | cut -c1-4)" = 0000 ] ||
	lethe_die "the answer to an oversized frame is not a frame"
grep -q 'result=TOO_BIG' "$LOG" || lethe_die "no TOO_BIG log line"
echo "ok: oversized frame refused"

# The store holds the one temporary key of the first registration.
timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit >"$S/audit.out" 2>&1 ||
	lethe_die "lethe-admin audit: $(cat "$S/audit.out")"
grep -qx "$SERVICE@$REALM (agent)" "$S/audit.out" || lethe_die "audit: $(cat "$S/audit.out")"
[ "$(grep -c " temporary " "$S/audit.out")" -eq 1 ] &&
	grep -q "^  kvno 5 enctype 18 temporary current .* by [0-9a-f]\{64\}$" "$S/audit.out" ||
	lethe_die "audit: $(cat "$S/audit.out")"
[ "$(grep -c 'event=reg_request.* result=OK' "$LOG")" -eq 1 ] || lethe_die "more than one registration stored"
# ---- a key request to the agent of a service without a key in use ------------------
AGENT_SVC=host/agent.lethe.test
lethe_realm_admin issue-cert --principal "$AGENT_SVC@$REALM" --key-out "$S/agent.key" \
	--cert-out "$S/agent.pem"
timeout 60 python3 -c '
import socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(50)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.settimeout(10)
def read(n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            sys.exit("short frame")
        b += x
    return b
n = struct.unpack(">I", read(4))[0]
with open(sys.argv[2] + ".tmp", "wb") as f:
    f.write(read(n))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
' "$S/agent.port" "$S/keyreq.der" &
AGENT_PID=$!
lethe_at_exit "kill $AGENT_PID 2>/dev/null || true"
lethe_wait_until 10 "the agent stub to listen" test -s "$S/agent.port"
out=$(register "$S/agent.pem" "$S/agent.key" "$AGENT_SVC@$REALM" 1 -u 2 \
	-c "127.0.0.1:$(cat "$S/agent.port")") || lethe_die "reg_tool failed: $out"
case "$out" in "RESULT OK "*) ;; *) lethe_die "agent registration: $out" ;; esac
sleep 3     # past use_until
! mit_kvno "$AGENT_SVC" >"$S/kvno2.out" 2>&1 || lethe_die "kvno worked without a key in use"
lethe_wait_until 10 "the KeyRequest at the agent" test -s "$S/keyreq.der"
out=$(timeout "$TOOL_TIMEOUT" "$TOOL" keyreq "$S/keyreq.der" "$S/ca.pem") ||
	lethe_die "the agent got no valid KeyRequest: $out"
case "$out" in
"KEYREQUEST $AGENT_SVC@$REALM "*) ;;
*) lethe_die "KeyRequest: $out" ;;
esac
wait "$AGENT_PID" || lethe_die "the agent stub failed"
grep -q "event=reg_keyreq principal=$AGENT_SVC@$REALM callback=127.0.0.1:[0-9]* result=sent" \
	"$LOG" || lethe_die "no key request log line: $(grep reg_keyreq "$LOG")"
echo "ok: a KeyRequest signed by the KDC reached the agent's callback"

lethe_kdc_stop
echo "ok: lethe-kdc stopped cleanly"
