#!/usr/bin/env bash
# agent_apache.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: curl --negotiate ->
# Apache mod_auth_gssapi for HTTP/localhost, Apache reading the keytab of
# `lethe-agent run` (rotation 4 s, max_ticket_life 30 s) at each request:
#  - the agent gives every new keytab file to keytab_owner (www-data, whom
#    Apache's children run as, when root; else the current user), mode 0600
#  - 401 without a ticket; then, across three rotations, a fresh ticket
#    under a higher kvno each round gets 200 as alice
#  - a cache holding a ticket from before a rotation still gets 200 after
#    it, with no new TGS request (the old ticket was used)
#  - `lethe-admin audit --json`: no long-term service key in the store
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/apache.sh
. "$HERE/lib/apache.sh"

KDC=${1:?usage: agent_apache.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_apache.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_apache.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=HTTP/localhost@$REALM
ALICE_PW='alice: apache rotation'
ROTATION=4                  # seconds
ROUNDS=3

lethe_require_tools kinit klist kvno kdestroy apache2 curl jq timeout grep sed stat
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
if [ "$(id -u)" -eq 0 ]; then
	OWNER=www-data          # apache.sh runs the children as www-data
else
	OWNER=$(id -un)
fi

lethe_scratch_dir
S=$LETHE_SCRATCH
AGENT_PID=

# ---- the realm, the server's identity, the KDC -------------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
mkdir -p "$S/srv/kt"
lethe_agent_identity "$S/srv" "$SVC" localhost
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
CCACHE=$MIT_CLIENT_CCACHE
KEYTAB=$S/srv/kt/http.keytab
lethe_agent_conf "$S/srv/agent.conf" "$SVC" "$REG_PORT" "keytab = kt/http.keytab" \
	"keytab_owner = $OWNER" "rotation = ${ROTATION}s" "overlap = 1s" "max_ticket_life = 30s"

# ---- helpers -------------------------------------------------------------------

# The highest kvno the agent logged as registered (0 if none).
registered_kvno() {
	{ grep -o 'event=register .* kvno=[0-9]* result=OK' "$S/run.log" || true; } |
		sed 's/.* kvno=\([0-9]*\) result=OK/\1/' | sort -n | tail -1 | grep . || echo 0
}

registered_above() {
	[ "$(registered_kvno)" -gt "$1" ]
}

tgs_count() {
	lethe_kdc_log_count "type=TGS .*service=$SVC"
}

# The keytab is a 0600 file of $OWNER.
keytab_owned() {
	[ "$(stat -c '%U %a' "$KEYTAB")" = "$OWNER 600" ] ||
		lethe_die "keytab is $(stat -c '%U %a' "$KEYTAB"), want $OWNER 600"
}

# curl --negotiate with cache $1: fail unless 200, the page, alice in the log.
get_page() {
	local ccache=$1 what=$2 code
	MIT_CLIENT_CCACHE=FILE:$ccache
	code=$(apache_negotiate "$S/page.out")
	MIT_CLIENT_CCACHE=$CCACHE
	[ "$code" = 200 ] ||
		lethe_die "$what: HTTP $code, want 200: $(cat "$S/page.out.err" 2>/dev/null); $(tail -5 "$APACHE_DIR/error.log")"
	grep -q 'hello from apache' "$S/page.out" || lethe_die "$what: page: $(cat "$S/page.out")"
	[ "$(apache_last_user)" = "alice@$REALM" ] ||
		lethe_die "$what: access log names '$(apache_last_user)', want alice@$REALM"
}

# ---- the agent runs; Apache reads its keytab -----------------------------------
chmod 600 "$S/srv/server.key"
"$AGENT" -c "$S/srv/agent.conf" run >"$S/run.log" 2>&1 &
AGENT_PID=$!
lethe_at_exit 'kill -KILL $AGENT_PID 2>/dev/null || true'
lethe_wait_until 15 "the agent to register kvno 1" registered_above 0 ||
	lethe_die "no registration: $(cat "$S/run.log")"
keytab_owned
apache_start "$S/apache" "$KEYTAB"

code=$(apache_negotiate "$S/anon.out")
[ "$code" = 401 ] || lethe_die "without a ticket: HTTP $code, want 401"
lethe_log "401 without a ticket"

# ---- three rounds, each across a rotation ---------------------------------------
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
	cp "$S/client/ccache" "$S/old-$kv.ccache"
	get_page "$S/client/ccache" "round $round, fresh ticket (kvno $kv)"
	lethe_log "round $round: 200 as alice with a fresh ticket under kvno $kv"

	lethe_wait_until $((3 * ROTATION)) "a rotation past kvno $kv" registered_above "$kv" ||
		lethe_die "no rotation past kvno $kv: $(tail -5 "$S/run.log")"
	keytab_owned                # a file the rotation wrote, not apache.sh
	before=$(tgs_count)
	get_page "$S/old-$kv.ccache" "round $round, old ticket (kvno $kv) after kvno $(registered_kvno)"
	[ "$(tgs_count)" = "$before" ] ||
		lethe_die "round $round: curl asked for a new ticket instead of using the old one"
	lethe_log "round $round: the kvno $kv ticket gets 200 after kvno $(registered_kvno)"
	last=$kv
done

# ---- the store's audit, a clean stop ----------------------------------------------
out=$(timeout "$LETHE_ADMIN_TIMEOUT" "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit --json) ||
	lethe_die "lethe-admin audit failed"
[ "$(jq -r '.long_term_service_keys_present' <<<"$out")" = false ] ||
	lethe_die "audit reports long-term service keys: $out"
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
apache_kill
lethe_kdc_stop
lethe_log "PASS agent_apache"
