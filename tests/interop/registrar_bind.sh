#!/usr/bin/env bash
# registrar_bind.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT REG_TOOL: attacks on the
# binding of registrations, from outside, against lethe-kdc's registrar and
# lethe-agent.
#  - a man in the middle holding a valid registrant certificate answers an
#    agent with the KDC's signed OK to his own request under the agent's
#    nonce: the agent refuses it (BAD_REPLY), and succeeds when direct
#  - a garbage frame gets a short unsigned error, no SignedData
#  - a callback naming another host (127.0.0.2) is refused, and nothing
#    connects there when the key runs out and tickets are asked for
#  - with an allow rule naming that host and port (lethe-admin allow
#    --callback), the same callback is accepted (another port still is not),
#    and the KDC's key request reaches a listener there
#  - case variants of a host name create no principal; one key registers
#    for at most max_principals_per_key principals
#  - lethe-admin refuses a SAN rule without its type; a typed one matches its
#    type only
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

USAGE="usage: registrar_bind.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT REG_TOOL"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
AGENT=${3:?$USAGE}
TOOL=${4:?$USAGE}
REALM=LETHE.TEST
ALICE_PW='alice: binding test'
TOOL_TIMEOUT=30

lethe_require_tools kinit kvno timeout grep python3 openssl sha256sum
[ -x "$TOOL" ] || lethe_die "reg_tool not found at $TOOL"
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_agent_identity "$S/srv" "host/victim.lethe.test@$REALM" victim.lethe.test
lethe_realm_admin issue-cert --principal "host/mallory.lethe.test@$REALM" \
	--dns mallory.lethe.test --key-out "$S/mallory.key" --cert-out "$S/mallory.pem"
REG_PORT=$(lethe_free_port)
# key_grace off: a key past use_until gets no ticket, so the KDC decides on a
# key request (the callback check below needs that path).
lethe_kdc_start "$KDC" "refresh_interval = 1s" "key_grace = no" "[registrar]" \
	"listen = 127.0.0.1:$REG_PORT" "max_principals_per_key = 3"
LOG=$LETHE_REALM_DIR/kdc.log
CA=$S/srv/ca.pem
KDC_CERT=$S/srv/kdc.pem

# register CERT KEY PRINCIPAL KVNO [reg_tool options...] -> stdout
register() {
	local cert=$1 key=$2 principal=$3 kvno=$4
	shift 4
	timeout "$TOOL_TIMEOUT" "$TOOL" register "$@" "127.0.0.1:$REG_PORT" "$cert" "$key" \
		"$KDC_CERT" "$CA" "$principal" "$kvno"
}

# ---- a reply to another request, relayed by a man in the middle ---------------
rm -f "$S/mitm.port"
timeout "$TOOL_TIMEOUT" "$TOOL" mitm "$S/mitm.port" "127.0.0.1:$REG_PORT" "$S/mallory.pem" \
	"$S/mallory.key" "$KDC_CERT" "$CA" "host/mallory.lethe.test@$REALM" 1 >"$S/mitm.out" 2>&1 &
MITM_PID=$!
lethe_at_exit "kill $MITM_PID 2>/dev/null || true"
lethe_wait_until 10 "the man in the middle to listen" test -s "$S/mitm.port"
lethe_agent_conf "$S/srv/mitm.conf" "host/victim.lethe.test@$REALM" "$(cat "$S/mitm.port")" \
	"keytab = service.keytab"
if timeout "$TOOL_TIMEOUT" "$AGENT" -c "$S/srv/mitm.conf" once >"$S/agent.out" 2>&1; then
	lethe_die "the agent took a reply to another request: $(cat "$S/agent.out")"
fi
wait "$MITM_PID" || lethe_die "the man in the middle failed: $(cat "$S/mitm.out")"
grep -q "event=reg_request .*principal=host/mallory.lethe.test@$REALM kvnos=1 result=OK" \
	"$LOG" || lethe_die "the man in the middle got no OK from the KDC: $(grep reg_request "$LOG")"
grep -q "not bound to this request" "$S/agent.out" ||
	lethe_die "the agent did not say why: $(cat "$S/agent.out")"
echo "ok: the KDC's OK to another request, relayed under the agent's nonce, is refused"
# The same agent, direct: registered.
lethe_agent_conf "$S/srv/agent.conf" "host/victim.lethe.test@$REALM" "$REG_PORT" \
	"keytab = service.keytab"
timeout "$TOOL_TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 ||
	lethe_die "lethe-agent once, direct: $(cat "$S/agent.out")"
echo "ok: the agent registers when nobody is in the middle"

# ---- garbage gets a short unsigned error ----------------------------------------
python3 - "$REG_PORT" >"$S/garbage.out" <<'PY' || lethe_die "garbage frame: $(cat "$S/garbage.out")"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(struct.pack(">I", 4) + b"\x30\x02\x05\x00")
data = b""
while True:
    x = s.recv(65536)
    if not x:
        break
    data += x
print(len(data), data.hex())
PY
read -r glen ghex <"$S/garbage.out"
[ "$glen" -le 16 ] || lethe_die "a 4-byte garbage frame got $glen bytes back: $ghex"
case "$ghex" in *2a864886f70d010702*) lethe_die "the answer holds a SignedData: $ghex" ;; esac
[ "$ghex" = "000000073005a003020101" ] || lethe_die "not an unsigned MALFORMED error: $ghex"
echo "ok: a 4-byte garbage frame gets a $glen-byte unsigned MALFORMED error"
# A signed request from a certificate of no trust anchor: unsigned too.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=stranger \
	-days 1 -keyout "$S/stranger.key" -out "$S/stranger.pem" >/dev/null 2>&1 ||
	lethe_die "openssl req failed"
out=$(register "$S/stranger.pem" "$S/stranger.key" "host/victim.lethe.test@$REALM" 9) ||
	lethe_die "reg_tool: $out"
case "$out" in
"UNSIGNED UNTRUSTED 7") echo "ok: a request from an untrusted certificate: $out" ;;
*) lethe_die "a request from an untrusted certificate: $out" ;;
esac

# ---- a callback on another host --------------------------------------------------
CB_PORT=$(lethe_free_port)
python3 - "$CB_PORT" "$S/cb" <<'PY' &
import socket, sys, os
s = socket.socket()
s.bind(("127.0.0.2", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(60)
try:
    c, _ = s.accept()
    open(sys.argv[2] + ".connected", "w").close()
except socket.timeout:
    pass
PY
CB_PID=$!
lethe_at_exit "kill $CB_PID 2>/dev/null || true"
lethe_wait_until 10 "the listener on 127.0.0.2" test -e "$S/cb.ready"
lethe_realm_admin issue-cert --principal "host/cb.lethe.test@$REALM" --key-out "$S/cb.key" \
	--cert-out "$S/cb.pem"
out=$(register "$S/cb.pem" "$S/cb.key" "host/cb.lethe.test@$REALM" 1 -u 2 \
	-c "127.0.0.2:$CB_PORT") || lethe_die "reg_tool: $out"
case "$out" in
"RESULT POLICY nonce=echoed callback 127.0.0.2:$CB_PORT is not on the address"*) ;;
*) lethe_die "a callback on another host: $out" ;;
esac
# Even so, a key past use_until and a ticket asked for: nothing connects there.
out=$(register "$S/cb.pem" "$S/cb.key" "host/cb.lethe.test@$REALM" 2 -u 2) ||
	lethe_die "reg_tool: $out"
case "$out" in "RESULT OK "*) ;; *) lethe_die "registration without callback: $out" ;; esac
sleep 3     # past use_until
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit: $(cat "$S/kinit.out")"
! mit_kvno "host/cb.lethe.test" >"$S/kvno.out" 2>&1 || lethe_die "kvno worked without a key"
lethe_wait_until 10 "the KDC's key request decision" \
	grep -q "event=reg_keyreq principal=host/cb.lethe.test@$REALM " "$LOG"
[ ! -e "$S/cb.connected" ] || lethe_die "the KDC connected to 127.0.0.2"
echo "ok: a callback on another host is refused and never called"

# ---- a callback on another host, named by an allow rule ------------------------------
CBOK=host/cbok.lethe.test@$REALM
CB2_PORT=$(lethe_free_port)
python3 - "$CB2_PORT" "$S/cb2" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.2", int(sys.argv[1])))
s.listen(4)
open(sys.argv[2] + ".ready", "w").close()
s.settimeout(120)
try:
    c, peer = s.accept()
    c.settimeout(30)
    data = b""
    while True:
        x = c.recv(65536)
        if not x:
            break
        data += x
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write("%s %d %s\n" % (peer[0], len(data), data[:4].hex()))
    import os
    os.rename(sys.argv[2] + ".tmp", sys.argv[2] + ".got")
except socket.timeout:
    pass
PY
CB2_PID=$!
lethe_at_exit "kill $CB2_PID 2>/dev/null || true"
lethe_wait_until 10 "the second listener on 127.0.0.2" test -e "$S/cb2.ready"
lethe_realm_admin issue-cert --principal "$CBOK" --key-out "$S/cbok.key" --cert-out "$S/cbok.pem"
out=$(register "$S/cbok.pem" "$S/cbok.key" "$CBOK" 1 -u 2 -c "127.0.0.2:$CB2_PORT") ||
	lethe_die "reg_tool: $out"
case "$out" in
"RESULT POLICY nonce=echoed callback 127.0.0.2:$CB2_PORT is not on the address"*) ;;
*) lethe_die "a callback on another host, before the rule: $out" ;;
esac
echo "ok: without a rule, a callback on 127.0.0.2 is refused"
lethe_realm_admin allow --san "pkinit:$CBOK" --callback "127.0.0.2:$CB2_PORT" \
	--callback 127.0.0.2:$CB2_PORT "$CBOK" >/dev/null
timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" allow list --json >"$S/rules.json" 2>&1 ||
	lethe_die "allow list: $(cat "$S/rules.json")"
grep -q "\"pattern\":\"$CBOK\",\"callbacks\":\[\"127.0.0.2:$CB2_PORT\"\]" "$S/rules.json" ||
	lethe_die "allow list --json does not show the callback once: $(cat "$S/rules.json")"
timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" allow list >"$S/rules.txt" 2>&1 ||
	lethe_die "allow list: $(cat "$S/rules.txt")"
grep -q "$CBOK	callbacks 127.0.0.2:$CB2_PORT\$" "$S/rules.txt" ||
	lethe_die "allow list does not show the callback: $(cat "$S/rules.txt")"
for bad in cb.example.com 127.0.0.2:0 127.0.0.2:99999 '[::1' 300.0.0.1; do
	if timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" allow --san "pkinit:$CBOK" \
		--callback "$bad" "$CBOK" >"$S/badcb.out" 2>&1; then
		lethe_die "lethe-admin took --callback $bad"
	fi
	grep -q "numeric address" "$S/badcb.out" || lethe_die "--callback $bad: $(cat "$S/badcb.out")"
done
echo "ok: lethe-admin stores a rule's callback canonical and once, refuses names and bad ports"
lethe_wait_until 10 "the callback rule to be served" sh -c "
	timeout $TOOL_TIMEOUT '$TOOL' register -u 2 -c 127.0.0.2:$CB2_PORT 127.0.0.1:$REG_PORT \
	'$S/cbok.pem' '$S/cbok.key' '$KDC_CERT' '$CA' '$CBOK' 1 | grep -q '^RESULT OK '"
registered=$SECONDS
OTHER_PORT=$(lethe_free_port)
out=$(register "$S/cbok.pem" "$S/cbok.key" "$CBOK" 5 -c "127.0.0.2:$OTHER_PORT") ||
	lethe_die "reg_tool: $out"
case "$out" in
"RESULT POLICY nonce=echoed callback 127.0.0.2:$OTHER_PORT is not on the address"*) ;;
*) lethe_die "a port the rule does not name: $out" ;;
esac
# Another principal the rule does not cover, same host: refused.
out=$(register "$S/cb.pem" "$S/cb.key" "host/cb.lethe.test@$REALM" 5 -c "127.0.0.2:$CB2_PORT") ||
	lethe_die "reg_tool: $out"
case "$out" in
"RESULT POLICY nonce=echoed callback 127.0.0.2:$CB2_PORT is not on the address"*) ;;
*) lethe_die "a principal the rule does not cover: $out" ;;
esac
echo "ok: with the rule, the callback is accepted; another port or principal is not"
# Past use_until, a ticket asked for: the KDC's key request goes to 127.0.0.2.
sleep $((3 - (SECONDS - registered) > 0 ? 3 - (SECONDS - registered) : 0))
! mit_kvno "host/cbok.lethe.test" >"$S/kvno2.out" 2>&1 || lethe_die "kvno worked without a key"
lethe_wait_until 30 "the key request at 127.0.0.2:$CB2_PORT" test -e "$S/cb2.got"
read -r cb_from cb_len cb_head <"$S/cb2.got"
[ "$cb_len" -gt 4 ] || lethe_die "the callback listener got $cb_len bytes"
[ "$((16#$cb_head))" -eq $((cb_len - 4)) ] ||
	lethe_die "not one length-prefixed frame: $cb_len bytes, prefix $cb_head"
lethe_wait_until 10 "the KDC's key request log" \
	grep -q "event=reg_keyreq principal=$CBOK callback=127.0.0.2:$CB2_PORT result=sent" "$LOG"
echo "ok: the KDC's key request reached the allowed callback ($cb_len bytes from $cb_from)"

# ---- host name spellings and the cap per key ---------------------------------------
for spelling in host/VICTIM.lethe.test host/victim.lethe.test. host/Victim.Lethe.Test; do
	out=$(register "$S/srv/server.pem" "$S/srv/server.key" "$spelling@$REALM" 3) ||
		lethe_die "reg_tool: $out"
	case "$out" in
	"RESULT WRONG_PRINCIPAL "*) ;;
	*) lethe_die "$spelling: $out" ;;
	esac
done
timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit >"$S/audit.out" 2>&1 ||
	lethe_die "audit: $(cat "$S/audit.out")"
[ "$(grep -ci "^host/victim.lethe.test" "$S/audit.out")" -eq 1 ] ||
	lethe_die "spellings made principals: $(cat "$S/audit.out")"
echo "ok: case and trailing-dot spellings of a host name make no principal"
SPKI=$(openssl x509 -in "$S/mallory.pem" -noout -pubkey | openssl pkey -pubin -outform DER |
	sha256sum | cut -c1-64)
lethe_realm_admin allow --spki "$SPKI" "host/*@$REALM" >/dev/null
for n in 2 3 4; do
	out=$(register "$S/mallory.pem" "$S/mallory.key" "host/m$n.lethe.test@$REALM" 1) ||
		lethe_die "reg_tool: $out"
	case "$n:$out" in
	[23]":RESULT OK "*) ;;
	"4:RESULT POLICY "*"max_principals_per_key = 3"*) ;;
	*) lethe_die "principal $n of one key: $out" ;;
	esac
done
echo "ok: one key registers for at most 3 principals (max_principals_per_key)"

# ---- a SAN rule of the wrong type ----------------------------------------------------
lethe_realm_admin issue-cert --principal "host/san.lethe.test@$REALM" --key-out "$S/san.key" \
	--cert-out "$S/san.pem"
# A bare value (no SAN type) is refused by lethe-admin; nothing is stored.
for bare in "host/san.lethe.test@$REALM" san.lethe.test "dns:" "fax:san.lethe.test"; do
	if timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" allow --san "$bare" \
		"host/other-san.lethe.test@$REALM" >"$S/bare.out" 2>&1; then
		lethe_die "lethe-admin took --san $bare"
	fi
	grep -q "TYPE:VALUE" "$S/bare.out" || lethe_die "--san $bare: $(cat "$S/bare.out")"
done
out=$(register "$S/san.pem" "$S/san.key" "host/other-san.lethe.test@$REALM" 1) ||
	lethe_die "reg_tool: $out"
case "$out" in "RESULT WRONG_PRINCIPAL "*) ;; *) lethe_die "no rule yet: $out" ;; esac
lethe_realm_admin allow --san "pkinit:host/san.lethe.test@$REALM" \
	"host/other-san.lethe.test@$REALM" >/dev/null
lethe_wait_until 10 "the typed rule to be served" sh -c "
	timeout $TOOL_TIMEOUT '$TOOL' register 127.0.0.1:$REG_PORT '$S/san.pem' '$S/san.key' \
	'$KDC_CERT' '$CA' 'host/other-san.lethe.test@$REALM' 2 | grep -q '^RESULT OK '"
echo "ok: lethe-admin refuses a SAN rule without its type; the typed rule matches"

lethe_kdc_stop
echo "ok: lethe-kdc stopped cleanly"
