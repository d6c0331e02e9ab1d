#!/usr/bin/env bash
# agent_rotation.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: MIT gss-client ->
# gss-server, the server reading the keytab of `lethe-agent run` (rotation 4 s,
# max_ticket_life 30 s), across three rotations:
#  - each round's fresh ticket is under a kvno the agent registered, higher
#    than the last round's (MIT kvno), and gss-server accepts it
#  - a copy of the cache holding a ticket from before a rotation is still
#    accepted after it, with no new TGS request (the old ticket was used)
#  - the keytab, read by MIT's klist -k, holds the old and the new kvno
#  - kvno 1 leaves the keytab once its accept_until has passed
#  - `lethe-admin audit --json`: no long-term service key in the store
#  - the agent stops on SIGTERM with exit 0, having logged no failure
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_rotation.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_rotation.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_rotation.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=host/server.lethe.test@$REALM
GSS_NAME=host@server.lethe.test
ALICE_PW='alice: rotation'
ROTATION=4                  # seconds
MAX_LIFE=30                 # seconds: max_ticket_life in the agent's config
ROUNDS=3

lethe_require_tools kinit klist kvno kdestroy gss-server gss-client jq timeout grep sed
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
AGENT_PID=
GSS_PID=

# ---- the realm, the server's identity, the KDC -------------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
lethe_agent_identity "$S/srv" "$SVC" server.lethe.test
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
KEYTAB=$S/srv/server.keytab
lethe_agent_conf "$S/srv/agent.conf" "$SVC" "$REG_PORT" "keytab = server.keytab" \
	"rotation = ${ROTATION}s" "overlap = 1s" "max_ticket_life = ${MAX_LIFE}s"

# ---- helpers -------------------------------------------------------------------

# The highest kvno the agent logged as registered (0 if none).
registered_kvno() {
	{ grep -o 'event=register .* kvno=[0-9]* result=OK' "$S/run.log" || true; } |
		sed 's/.* kvno=\([0-9]*\) result=OK/\1/' | sort -n | tail -1 | grep . || echo 0
}

# Succeed once the agent registered a kvno above $1.
registered_above() {
	[ "$(registered_kvno)" -gt "$1" ]
}

# Number of TGS requests for the service in the KDC log.
tgs_count() {
	lethe_kdc_log_count "type=TGS .*service=$SVC"
}

# gss-client to gss-server with credential cache $1 sending message $2;
# fail unless the server printed the message and the client verified it.
gss_round() {
	local ccache=$1 msg=$2
	timeout "$MIT_CLIENT_TIMEOUT" env KRB5_CONFIG="$MIT_CLIENT_CONF" \
		KRB5CCNAME="FILE:$ccache" KRB5_TRACE="$S/gss-client.trace" \
		gss-client -port "$GSS_PORT" 127.0.0.1 "$GSS_NAME" "$msg" \
		>"$S/gss-client.out" 2>&1 ||
		lethe_die "gss-client ($msg) failed: $(cat "$S/gss-client.out"); server: $(tail -5 "$S/gss-server.out")"
	grep -q "Signature verified" "$S/gss-client.out" ||
		lethe_die "gss-client ($msg) did not verify the signature: $(cat "$S/gss-client.out")"
	lethe_wait_until 10 "gss-server to print '$msg'" grep -qF "$msg" "$S/gss-server.out" ||
		lethe_die "gss-server did not receive '$msg': $(cat "$S/gss-server.out")"
}

# kvnos of the service in the keytab, as MIT's klist -k reads them, one a line.
keytab_kvnos() {
	mit_client_run klist -k "$KEYTAB" >"$S/klist-k.out" 2>&1 ||
		lethe_die "klist -k: $(cat "$S/klist-k.out")"
	awk -v svc="$SVC" '$2 == svc { print $1 }' "$S/klist-k.out" | sort -n -u
}

# ---- the agent runs; gss-server reads its keytab ------------------------------
chmod 600 "$S/srv/server.key"
"$AGENT" -c "$S/srv/agent.conf" run >"$S/run.log" 2>&1 &
AGENT_PID=$!
lethe_at_exit 'kill -KILL $AGENT_PID 2>/dev/null || true'
lethe_wait_until 15 "the agent to register kvno 1" registered_above 0 ||
	lethe_die "no registration: $(cat "$S/run.log")"
[ "$(stat -c %a "$KEYTAB")" = 600 ] || lethe_die "keytab mode is not 600"

GSS_PORT=$(lethe_free_port)
timeout 150 env KRB5_CONFIG="$MIT_CLIENT_CONF" gss-server -port "$GSS_PORT" \
	-keytab "$KEYTAB" "$GSS_NAME" >"$S/gss-server.out" 2>&1 &
GSS_PID=$!
lethe_at_exit 'kill -TERM $GSS_PID 2>/dev/null || true'
lethe_wait_until 10 "gss-server to listen" lethe_port_in_use "$GSS_PORT" ||
	lethe_die "gss-server did not start: $(cat "$S/gss-server.out")"

# ---- three rounds, each across a rotation --------------------------------------
last=0
for round in $(seq 1 "$ROUNDS"); do
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit alice: $(cat "$S/kinit.out")"
	mit_kvno "$SVC" >"$S/kvno.out" 2>&1 || lethe_die "kvno $SVC: $(cat "$S/kvno.out")"
	kv=$(sed -n 's/.*kvno = \([0-9]*\).*/\1/p' "$S/kvno.out")
	[ -n "$kv" ] && [ "$kv" -gt "$last" ] ||
		lethe_die "round $round: fresh ticket kvno '$kv', not above $last: $(cat "$S/kvno.out")"
	grep -q "event=register .* kvno=$kv result=OK" "$S/run.log" ||
		lethe_die "round $round: kvno $kv was never registered: $(cat "$S/run.log")"
	mit_klist -e >"$S/klist.out" 2>&1 || lethe_die "klist -e: $(cat "$S/klist.out")"
	grep -A1 "$SVC" "$S/klist.out" | grep -q 'Etype (skey, tkt): .*, aes256-cts-hmac-sha1-96' ||
		lethe_die "round $round: the ticket is not aes256 for the service: $(cat "$S/klist.out")"
	lethe_log "round $round: fresh ticket under kvno $kv"
	cp "$S/client/ccache" "$S/old-$kv.ccache"
	gss_round "$S/client/ccache" "fresh ticket round $round kvno $kv"

	lethe_wait_until $((3 * ROTATION)) "a rotation past kvno $kv" registered_above "$kv" ||
		lethe_die "no rotation past kvno $kv: $(tail -5 "$S/run.log")"
	new=$(registered_kvno)
	keytab_kvnos >"$S/kvnos"
	grep -qx "$kv" "$S/kvnos" && grep -qx "$new" "$S/kvnos" ||
		lethe_die "round $round: keytab lacks kvno $kv or $new: $(cat "$S/klist-k.out")"
	before=$(tgs_count)
	gss_round "$S/old-$kv.ccache" "old ticket round $round kvno $kv after kvno $new"
	[ "$(tgs_count)" = "$before" ] ||
		lethe_die "round $round: the client asked for a new ticket instead of using the old one"
	lethe_log "round $round: the kvno $kv ticket is accepted after kvno $new was registered"
	last=$kv
done

# ---- pruning, the store's audit, a clean stop -----------------------------------
lethe_wait_until $((MAX_LIFE + 3 * ROTATION)) "kvno 1 to be pruned" \
	grep -q 'event=prune .*kvno=1 ' "$S/run.log" ||
	lethe_die "kvno 1 was not pruned: $(tail -5 "$S/run.log")"
! keytab_kvnos | grep -qx 1 || lethe_die "kvno 1 is still in the keytab: $(cat "$S/klist-k.out")"
keytab_kvnos | grep -qx "$(registered_kvno)" ||
	lethe_die "the newest kvno is not in the keytab: $(cat "$S/klist-k.out")"

out=$(timeout "$LETHE_ADMIN_TIMEOUT" "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit --json) ||
	lethe_die "lethe-admin audit failed"
[ "$(jq -r '.long_term_service_keys_present' <<<"$out")" = false ] ||
	lethe_die "audit reports long-term service keys: $out"
[ "$(jq -r '.agent_long_term_present' <<<"$out")" = false ] ||
	lethe_die "audit reports a long-term key for an agent-managed service: $out"
jq -e --arg p "$SVC" '.agent_principals | index($p) != null' <<<"$out" >/dev/null ||
	lethe_die "audit does not list $SVC as agent-managed: $out"

kill -TERM "$AGENT_PID"
timeout 10 tail --pid="$AGENT_PID" -f /dev/null || lethe_die "lethe-agent ignored SIGTERM"
rc=0
wait "$AGENT_PID" || rc=$?
[ "$rc" -eq 0 ] || lethe_die "lethe-agent run exited $rc: $(cat "$S/run.log")"
if grep -Eq 'NO_REPLY|BAD_REPLY|refused|error=' "$S/run.log"; then
	lethe_die "the agent logged a failure: $(cat "$S/run.log")"
fi
kill -TERM "$GSS_PID" 2>/dev/null || true
wait "$GSS_PID" 2>/dev/null || true
lethe_kdc_stop
lethe_log "PASS agent_rotation"
