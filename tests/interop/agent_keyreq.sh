#!/usr/bin/env bash
# agent_keyreq.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: key requests before a
# service runs out of keys, and on an operator's demand.
#
# lethe-kdc runs with [registrar] keyreq_lead = 2h (longer than the agent's
# rotation 1h + overlap 10m), so the newest key always ends "soon":
#  - MIT kvno gets a ticket under kvno 1 (still in use) and the KDC sends
#    the agent a key request at once (before use_until); the agent rotates
#    (key_request=yes) and registers kvno 2 carrying the request's nonce,
#    which the registrar logs key_request=answered; kvno then serves kvno 2;
#  - `lethe-admin request-key` sends the agent a key request signed with the
#    KDC's credential: kvno 3 is registered (key_request=unknown at the
#    registrar: the nonce was not its own, and the claim grants nothing);
#  - request-key for a service without an agent callback exits 3.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_keyreq.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_keyreq.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_keyreq.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=host/server.lethe.test@$REALM
ALICE_PW='alice: keyreq'

lethe_require_tools kinit kvno timeout grep sed
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
AGENT_PID=

mkdir -p "$S/realm"
LETHE_REALM_DIR=$(cd "$S/realm" && pwd)
LETHE_REALM=$REALM
LETHE_ADMIN=$ADMIN
lethe_realm_admin init --realm "$REALM"
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_admin add-service host/classic.lethe.test
lethe_agent_identity "$S/srv" "$SVC" server.lethe.test
REG_PORT=$(lethe_free_port)
CB_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT" "keyreq_interval = 1s" \
	"keyreq_lead = 2h"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
lethe_agent_conf "$S/srv/agent.conf" "$SVC" "$REG_PORT" "keytab = server.keytab" \
	"callback = 127.0.0.1:$CB_PORT"
chmod 600 "$S/srv/server.key"

registered() {
	grep -q "event=register .*kvno=$1 result=OK" "$S/run.log"
}

# The kvno of a fresh ticket for SVC, checked against the agent's keytab.
ticket_kvno() {
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit alice failed: $(cat "$S/kinit.out")"
	mit_kvno -k "$S/srv/server.keytab" "$SVC" >"$S/kvno.out" 2>&1 ||
		lethe_die "kvno -k: $(cat "$S/kvno.out")"
	sed -n 's/.*: kvno = \([0-9]*\), keytab entry valid.*/\1/p' "$S/kvno.out"
}

"$AGENT" -c "$S/srv/agent.conf" run >"$S/run.log" 2>&1 &
AGENT_PID=$!
lethe_at_exit 'kill -KILL $AGENT_PID 2>/dev/null || true'
lethe_wait_until 15 "the agent to register kvno 1" registered 1 ||
	lethe_die "no registration: $(cat "$S/run.log")"

# ---- the lead: a key request while kvno 1 is still in use ----------------------
[ "$(ticket_kvno)" = 1 ] || lethe_die "the first ticket is not under kvno 1"
lethe_wait_until 15 "the agent to answer the KDC's key request" registered 2 ||
	lethe_die "no key request answered before use_until: $(cat "$S/run.log")
$(grep reg_keyreq "$LETHE_REALM_DIR/kdc.log")"
grep -q 'event=key_request .*result=accepted' "$S/run.log" ||
	lethe_die "no accepted key request: $(cat "$S/run.log")"
grep -q 'event=rotate .*kvno=2 .*key_request=yes' "$S/run.log" ||
	lethe_die "kvno 2 was not made for the key request"
lethe_kdc_log_has 'event=reg_keyreq principal=host/server.lethe.test@LETHE.TEST .*result=sent' ||
	lethe_die "the KDC logged no key request sent"
lethe_kdc_log_has 'event=reg_request .*kvnos=2(,2)* result=OK .*key_request=answered' ||
	lethe_die "the registrar did not match the answer: $(grep -E "reg_request|reg_keyreq" "$LETHE_REALM_DIR/kdc.log")"
[ "$(ticket_kvno)" -ge 2 ] || lethe_die "the ticket is not under the new key"

# ---- lethe-admin request-key ---------------------------------------------------
before=$(grep -c 'event=key_request .*result=accepted' "$S/run.log")
timeout 20 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" request-key "$SVC" >"$S/rk.out" 2>&1 ||
	lethe_die "request-key failed: $(cat "$S/rk.out")"
grep -q "sent to 127.0.0.1:$CB_PORT" "$S/rk.out" || lethe_die "request-key said: $(cat "$S/rk.out")"
lethe_wait_until 15 "the agent to answer lethe-admin's key request" \
	eval "[ \$(grep -c 'event=key_request .*result=accepted' '$S/run.log') -gt $before ]"
newest=$(sed -n 's/.*event=rotate .*kvno=\([0-9]*\) .*key_request=yes.*/\1/p' "$S/run.log" | tail -1)
lethe_wait_until 15 "kvno $newest registered" registered "$newest" ||
	lethe_die "no registration after request-key: $(tail -5 "$S/run.log")"
lethe_kdc_log_has "event=reg_request .*kvnos=$newest(,$newest)* result=OK .*key_request=(unknown|answered)" ||
	lethe_die "no answering registration logged for kvno $newest"

# ---- request-key for a service without an agent ------------------------------
rc=0
timeout 20 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" request-key host/classic.lethe.test \
	>"$S/rk2.out" 2>&1 || rc=$?
[ "$rc" = 3 ] || lethe_die "request-key without an agent exited $rc: $(cat "$S/rk2.out")"
echo "ok: key requests before use_until (lead) and by lethe-admin request-key answered"
