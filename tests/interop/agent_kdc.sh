#!/usr/bin/env bash
# agent_kdc.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: lethe-agent against
# lethe-kdc's registrar, with MIT clients checking the tickets.
#  - `once` registers kvno 1, then kvno 2; MIT kvno gets tickets under them
#    and `kvno -k` decrypts them with the agent's keytab
#  - `status --json`: keys and windows, the last registration per KDC
#  - a second, dead KDC: `once` exits 1 naming it; the new key stays in the keytab
#  - refusals: a principal the certificate does not name (WRONG_PRINCIPAL); a
#    kdc_cert that is not the KDC's, so the reply's signer is not believed
#  - a key file readable by others is refused (exit 3)
#  - a key request: every temporary key expired, `run` listening; the KDC
#    asks, the agent registers a new key, the next ticket uses it
#  - `run` rotates on its own and stops on SIGTERM with exit 0
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_kdc.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_kdc.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_kdc.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
HTTP=HTTP/www.lethe.test@$REALM
HOST=host/www.lethe.test@$REALM
ALICE_PW='alice: agent test'
AGENT_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy jq timeout grep
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
AGENT_PID=

# ---- the realm and the server's credentials ---------------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
mkdir -p "$S/srv"
lethe_realm_admin issue-cert --principal "$HTTP" --dns www.lethe.test \
	--key-out "$S/srv/server.key" --cert-out "$S/srv/server.pem"
lethe_realm_admin export-ca -o "$S/srv/ca.pem"
lethe_realm_admin export-kdc-cert -o "$S/srv/kdc.pem"
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp

# agent_conf FILE PRINCIPAL STATE KDCS CERTS [extra lines...]
agent_conf() {
	local file=$1 principal=$2 state=$3 kdcs=$4 certs=$5 line
	shift 5
	{
		echo "principal = $principal"
		echo "certificate = server.pem"
		echo "key = server.key"
		echo "kdc_ca = ca.pem"
		echo "kdc = $kdcs"
		echo "kdc_cert = $certs"
		echo "keytab = $state.keytab"
		echo "state_dir = $state"
		echo "max_ticket_life = 10h"
		for line in "$@"; do
			echo "$line"
		done
	} >"$S/srv/$file"
}

# Run lethe-agent with config $1 and arguments; output in $S/agent.out.
agent() {
	local conf=$1
	shift
	timeout "$AGENT_TIMEOUT" "$AGENT" -c "$S/srv/$conf" "$@" >"$S/agent.out" 2>&1
}

# Fail unless lethe-agent with config $1 and arguments exits $2.
agent_expect() {
	local conf=$1 want=$2 rc=0
	shift 2
	agent "$conf" "$@" || rc=$?
	[ "$rc" -eq "$want" ] ||
		lethe_die "lethe-agent $* exited $rc, not $want: $(cat "$S/agent.out")"
}

# jq expression $2 over `status --json` of config $1.
status_q() {
	agent_expect "$1" 0 status --json
	grep -v '^[0-9-]*T[0-9:.]*Z lethe-agent:' "$S/agent.out" | jq -r "$2"
}

# kinit alice afresh, then kvno SERVICE: print the kvno MIT reports.
ticket_kvno() {
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit alice failed: $(cat "$S/kinit.out")"
	mit_kvno "$1" 2>&1 | sed -n 's/.*kvno = \([0-9]*\).*/\1/p'
}

# kvno -k KEYTAB SERVICE: the ticket in the cache decrypts with the keytab.
keytab_opens() {
	mit_kvno -k "$1" "$2" >"$S/kvnok.out" 2>&1 && grep -q 'keytab entry valid' "$S/kvnok.out"
}

# ---- once, twice -------------------------------------------------------------
agent_conf a.conf "$HTTP" a "127.0.0.1:$REG_PORT" kdc.pem
chmod 600 "$S/srv/server.key"
lethe_log "once: kvno 1"
agent_expect a.conf 0 once
grep -q "kdc 127.0.0.1:$REG_PORT $HTTP kvno 1: OK" "$S/agent.out" ||
	lethe_die "once did not report kvno 1 OK: $(cat "$S/agent.out")"
[ "$(stat -c %a "$S/srv/a.keytab")" = 600 ] || lethe_die "keytab mode is not 600"
[ "$(ticket_kvno "$HTTP")" = 1 ] || lethe_die "the ticket is not under kvno 1"
keytab_opens "$S/srv/a.keytab" "$HTTP" || lethe_die "kvno -k: $(cat "$S/kvnok.out")"

lethe_log "once: kvno 2; the ticket moves to it, kvno 1 stays in the keytab"
agent_expect a.conf 0 once
[ "$(ticket_kvno "$HTTP")" = 2 ] || lethe_die "the ticket is not under kvno 2"
keytab_opens "$S/srv/a.keytab" "$HTTP" || lethe_die "kvno -k: $(cat "$S/kvnok.out")"
[ "$(status_q a.conf '[.keys[] | select(.managed) | .kvno] | sort | join(",")')" = "1,1,2,2" ] ||
	lethe_die "status keys: $(cat "$S/agent.out")"
[ "$(status_q a.conf '.registrations[0] | "\(.registered) \(.registered_kvno) \(.result_name)"')" = \
	"true 2 OK" ] || lethe_die "status registrations: $(cat "$S/agent.out")"
[ "$(status_q a.conf '.keys[0] | .accept_until - .use_until')" = 36000 ] ||
	lethe_die "accept_until is not use_until + 10h"

# ---- a dead second KDC ---------------------------------------------------------
DEAD_PORT=$(lethe_free_port)
agent_conf a.conf "$HTTP" a "127.0.0.1:$REG_PORT, 127.0.0.1:$DEAD_PORT" kdc.pem
lethe_log "once with a dead KDC: exit 1, kvno 3 kept"
agent_expect a.conf 1 once
grep -q "kdc 127.0.0.1:$DEAD_PORT $HTTP kvno 3: NO_REPLY" "$S/agent.out" ||
	lethe_die "once did not name the dead KDC: $(cat "$S/agent.out")"
[ "$(status_q a.conf '[.keys[] | select(.kvno == 3)] | length')" = 2 ] ||
	lethe_die "kvno 3 is not in the keytab"
[ "$(ticket_kvno "$HTTP")" = 3 ] || lethe_die "the live KDC did not take kvno 3"

# ---- refusals ------------------------------------------------------------------
lethe_log "a principal the certificate does not name: WRONG_PRINCIPAL"
agent_conf c.conf "HTTP/other.lethe.test@$REALM" c "127.0.0.1:$REG_PORT" kdc.pem
agent_expect c.conf 1 once
grep -q "kvno 1: WRONG_PRINCIPAL" "$S/agent.out" ||
	lethe_die "no WRONG_PRINCIPAL: $(cat "$S/agent.out")"
lethe_log "kdc_cert that is not the KDC's: its reply is not believed"
agent_conf d.conf "$HTTP" d "127.0.0.1:$REG_PORT" ca.pem
agent_expect d.conf 1 once
grep -q "kvno 1: BAD_REPLY reply signed by a key that is not the kdc_cert" "$S/agent.out" ||
	lethe_die "no BAD_REPLY: $(cat "$S/agent.out")"

# ---- a key file others may read --------------------------------------------------
chmod 644 "$S/srv/server.key"
agent_expect a.conf 3 once
grep -q 'server.key: mode 0644' "$S/agent.out" || lethe_die "no mode message: $(cat "$S/agent.out")"
chmod 600 "$S/srv/server.key"

# ---- a key request --------------------------------------------------------------
CB_PORT=$(lethe_free_port)
agent_conf b.conf "$HOST" b "127.0.0.1:$REG_PORT" kdc.pem "overlap = 0s" \
	"callback = 127.0.0.1:$CB_PORT"
lethe_log "key request: kvno 1 usable for 2 s only"
agent_expect b.conf 0 --rotation 2s once
sleep 3
"$AGENT" -c "$S/srv/b.conf" --rotation 1h run >"$S/run.log" 2>&1 &
AGENT_PID=$!
lethe_at_exit 'kill -KILL $AGENT_PID 2>/dev/null || true'
lethe_wait_until 10 "lethe-agent listening on $CB_PORT" \
	grep -q 'event=start' "$S/run.log"
mit_kdestroy
printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 || lethe_die "kinit failed"
# Past use_until, before accept_until: the grace key (kvno 1) serves the
# ticket meanwhile ([kdc] key_grace, docs/kdc.md), and the key request goes.
mit_kvno "$HOST" >"$S/kvno.out" 2>&1 ||
	lethe_die "no ticket under the grace key: $(cat "$S/kvno.out")"
grep -q 'kvno = 1$' "$S/kvno.out" || lethe_die "not the grace key kvno 1: $(cat "$S/kvno.out")"
lethe_kdc_log_has 'event=key_grace .*kvno=1 ' || lethe_die "no key_grace line for kvno 1"
lethe_wait_until 15 "the agent to answer the key request" \
	grep -q 'event=register .*kvno=2 result=OK' "$S/run.log"
grep -q 'event=key_request .*result=accepted' "$S/run.log" ||
	lethe_die "no accepted key request: $(cat "$S/run.log")"
grep -q 'event=rotate .*kvno=2 .*key_request=yes' "$S/run.log" ||
	lethe_die "the rotation did not answer the key request: $(cat "$S/run.log")"
[ "$(ticket_kvno "$HOST")" = 2 ] || lethe_die "the ticket is not under kvno 2"
keytab_opens "$S/srv/b.keytab" "$HOST" || lethe_die "kvno -k: $(cat "$S/kvnok.out")"
kill -TERM "$AGENT_PID"
rc=0
timeout 10 tail --pid="$AGENT_PID" -f /dev/null || lethe_die "lethe-agent ignored SIGTERM"
wait "$AGENT_PID" || rc=$?
[ "$rc" -eq 0 ] || lethe_die "lethe-agent run exited $rc: $(cat "$S/run.log")"

# ---- run rotates on its own -------------------------------------------------------
lethe_log "run --rotation 1s rotates and registers"
"$AGENT" -c "$S/srv/b.conf" --rotation 1s run >"$S/run2.log" 2>&1 &
AGENT_PID=$!
lethe_wait_until 15 "two rotations by run" \
	eval "[ \$(grep -c 'event=register .*result=OK' '$S/run2.log') -ge 2 ]"
kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
[ "$rc" -eq 0 ] || lethe_die "lethe-agent run exited $rc: $(cat "$S/run2.log")"
grep -q 'event=stop' "$S/run2.log" || lethe_die "no stop line"
if grep -Eq 'NO_REPLY|BAD_REPLY|refused' "$S/run2.log"; then
	lethe_die "run logged a failure: $(cat "$S/run2.log")"
fi
lethe_kdc_stop
lethe_log "PASS"
