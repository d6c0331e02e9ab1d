#!/usr/bin/env bash
# agent_two_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: one lethe-agent, two
# lethe-kdc for the same realm name, each with its own store made by its own
# `lethe-admin init` (own master key, CA and KDC certificate):
#  - before KDC 2 trusts KDC 1's CA (which issued the server's certificate),
#    `once` is accepted by KDC 1 and refused by KDC 2 (UNTRUSTED in its
#    log, an unsigned refusal at the agent), exit 1
#  - after `trust add`, `once` registers the next kvno with both (kdc_cert
#    per KDC, kdc_ca holding both CAs); MIT clients, one krb5.conf per KDC,
#    get tickets under that kvno from each, and one gss-server reading the
#    agent's keytab accepts both
#  - after another `once`, a ticket from KDC 1 from before it is still
#    accepted, and fresh tickets from both carry the new kvno
#  - kdc_cert in the wrong order: neither KDC accepts (exit 1)
#  - `lethe-admin audit --json` on each store: no long-term service key,
#    the service agent-managed; `agents` on each store names it
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_two_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_two_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_two_kdcs.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=host/server.lethe.test@$REALM
GSS_NAME=host@server.lethe.test
ALICE_PW='alice: two KDCs'
AGENT_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy gss-server gss-client jq timeout grep sed cmp
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
GSS_PID=
mkdir -p "$S/srv"

# ---- two stores, two KDCs -------------------------------------------------------
# new_realm NAME: a store of its own in $S/NAME, alice in it, its CA and KDC
# certificate exported to $S/srv/ca-NAME.pem and kdc-NAME.pem, its KDC with a
# registrar; REG_PORT[NAME] and KDC_PORT[NAME] are set.
declare -A REG_PORT=() KDC_PORT=()
new_realm() {
	local name=$1 reg
	lethe_realm_use "$name"
	lethe_realm_create "$S/$name" "$REALM" "$ADMIN"
	lethe_realm_add_user alice "$ALICE_PW"
	lethe_realm_admin export-ca -o "$S/srv/ca-$name.pem"
	lethe_realm_admin export-kdc-cert -o "$S/srv/kdc-$name.pem"
	reg=$(lethe_free_port)
	lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$reg"
	REG_PORT[$name]=$reg
	KDC_PORT[$name]=$LETHE_KDC_PORT
}
new_realm one
lethe_realm_use one
lethe_realm_admin issue-cert --principal "$SVC" --dns server.lethe.test \
	--key-out "$S/srv/server.key" --cert-out "$S/srv/server.pem"
new_realm two
[ "${REG_PORT[one]}" != "${REG_PORT[two]}" ] || lethe_die "both registrars on one port"
cmp -s "$S/srv/ca-one.pem" "$S/srv/ca-two.pem" && lethe_die "the two stores share a CA"
cmp -s "$S/srv/kdc-one.pem" "$S/srv/kdc-two.pem" && lethe_die "the two stores share a KDC certificate"
for f in "$S/one"/*; do
	case "$f" in
	*/realm.db* | */kdc.*) continue ;;
	esac
	[ -f "$S/two/${f##*/}" ] || lethe_die "store two has no ${f##*/}"
	cmp -s "$f" "$S/two/${f##*/}" && lethe_die "the two stores share ${f##*/}"
done
cat "$S/srv/ca-one.pem" "$S/srv/ca-two.pem" >"$S/srv/cas.pem"

# client_use NAME: MIT clients talk to KDC NAME, with their own krb5.conf and cache.
client_use() {
	mit_client_setup "$S/client-$1" "$REALM" 127.0.0.1 "${KDC_PORT[$1]}" udp
}

# ---- the agent ---------------------------------------------------------------------
# agent_conf FILE KDC_CERTS: both registrars, in order one, two.
agent_conf() {
	cat >"$S/srv/$1" <<CONF
principal = $SVC
certificate = server.pem
key = server.key
kdc_ca = cas.pem
kdc = 127.0.0.1:${REG_PORT[one]}, 127.0.0.1:${REG_PORT[two]}
kdc_cert = $2
keytab = ${1%.conf}.keytab
state_dir = ${1%.conf}.state
max_ticket_life = 10h
CONF
}

# Fail unless `lethe-agent -c CONF once` exits $2; output in $S/agent.out.
agent_once() {
	local rc=0
	timeout "$AGENT_TIMEOUT" "$AGENT" -c "$S/srv/$1" once >"$S/agent.out" 2>&1 || rc=$?
	[ "$rc" -eq "$2" ] || lethe_die "lethe-agent once exited $rc, not $2: $(cat "$S/agent.out")"
}

# Fail unless the last `once` reported RESULT for KDC NAME and kvno.
once_said() {
	grep -q "kdc 127.0.0.1:${REG_PORT[$1]} $SVC kvno $2: $3" "$S/agent.out" ||
		lethe_die "once did not report kvno $2 $3 at KDC $1: $(cat "$S/agent.out")"
}

# With the current client: kinit alice afresh, kvno SVC; print the kvno.
fresh_kvno() {
	mit_kdestroy
	printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit alice at $MIT_CLIENT_PORT: $(cat "$S/kinit.out")"
	mit_kvno "$SVC" >"$S/kvno.out" 2>&1 || lethe_die "kvno: $(cat "$S/kvno.out")"
	sed -n 's/.*kvno = \([0-9]*\).*/\1/p' "$S/kvno.out"
}

# gss-client to gss-server with cache $1 and message $2.
gss_round() {
	local ccache=$1 msg=$2
	timeout "$MIT_CLIENT_TIMEOUT" env KRB5_CONFIG="$MIT_CLIENT_CONF" \
		KRB5CCNAME="FILE:$ccache" gss-client -port "$GSS_PORT" 127.0.0.1 \
		"$GSS_NAME" "$msg" >"$S/gss-client.out" 2>&1 ||
		lethe_die "gss-client ($msg) failed: $(cat "$S/gss-client.out"); server: $(tail -5 "$S/gss-server.out")"
	grep -q "Signature verified" "$S/gss-client.out" ||
		lethe_die "gss-client ($msg): no verified signature: $(cat "$S/gss-client.out")"
	lethe_wait_until 10 "gss-server to print '$msg'" grep -qF "$msg" "$S/gss-server.out" ||
		lethe_die "gss-server did not receive '$msg': $(cat "$S/gss-server.out")"
}

# TGS requests for the service in KDC NAME's log.
tgs_count() {
	lethe_realm_use "$1"
	lethe_kdc_log_count "type=TGS .*service=$SVC"
}

chmod 600 "$S/srv/server.key"
agent_conf a.conf "kdc-one.pem, kdc-two.pem"

lethe_log "KDC 2 does not trust KDC 1's CA yet: UNTRUSTED there, OK at KDC 1"
agent_once a.conf 1
once_said one 1 OK
# The refusal comes before the request is trusted: an unsigned error with the
# code only (nothing unauthenticated gets a signature), reported as BAD_REPLY.
once_said two 1 "BAD_REPLY unsigned refusal UNTRUSTED"
lethe_realm_use two
lethe_kdc_log_has 'event=reg_request .*result=UNTRUSTED' ||
	lethe_die "KDC 2 did not log UNTRUSTED: $(grep reg_request "$LETHE_REALM_DIR/kdc.log")"

lethe_realm_use two
lethe_realm_admin trust add realm-one "$S/srv/ca-one.pem"
lethe_log "after trust add: kvno 2 registered with both"
agent_once a.conf 0
once_said one 2 OK
once_said two 2 OK

GSS_PORT=$(lethe_free_port)
client_use one
timeout 120 env KRB5_CONFIG="$MIT_CLIENT_CONF" gss-server -port "$GSS_PORT" \
	-keytab "$S/srv/a.keytab" "$GSS_NAME" >"$S/gss-server.out" 2>&1 &
GSS_PID=$!
lethe_at_exit 'kill -TERM $GSS_PID 2>/dev/null || true'
lethe_wait_until 10 "gss-server to listen" lethe_port_in_use "$GSS_PORT" ||
	lethe_die "gss-server did not start: $(cat "$S/gss-server.out")"

for name in one two; do
	client_use "$name"
	[ "$(fresh_kvno)" = 2 ] || lethe_die "KDC $name: the ticket is not under kvno 2: $(cat "$S/kvno.out")"
	[ "$(tgs_count "$name")" = 1 ] || lethe_die "KDC $name did not issue the ticket"
	cp "$S/client-$name/ccache" "$S/old-$name.ccache"
	gss_round "$S/client-$name/ccache" "ticket from KDC $name kvno 2"
	lethe_log "KDC $name: ticket under kvno 2 accepted by gss-server"
done

lethe_log "kvno 3 at both; the kvno 2 tickets of both KDCs still accepted"
agent_once a.conf 0
once_said one 3 OK
once_said two 3 OK
for name in one two; do
	client_use "$name"
	before=$(tgs_count "$name")
	gss_round "$S/old-$name.ccache" "old ticket from KDC $name kvno 2"
	[ "$(tgs_count "$name")" = "$before" ] ||
		lethe_die "KDC $name: the client asked for a new ticket instead of the old one"
	[ "$(fresh_kvno)" = 3 ] || lethe_die "KDC $name: the ticket is not under kvno 3: $(cat "$S/kvno.out")"
	gss_round "$S/client-$name/ccache" "ticket from KDC $name kvno 3"
done

lethe_log "kdc_cert in the wrong order: neither KDC accepts"
agent_conf b.conf "kdc-two.pem, kdc-one.pem"
agent_once b.conf 1
for name in one two; do
	once_said "$name" 1 "BAD_REPLY reply signed by a key that is not the kdc_cert of this KDC"
done

for name in one two; do
	lethe_realm_use "$name"
	out=$(timeout "$LETHE_ADMIN_TIMEOUT" "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit --json) ||
		lethe_die "lethe-admin audit ($name) failed"
	[ "$(jq -r '.long_term_service_keys_present' <<<"$out")" = false ] ||
		lethe_die "store $name: audit reports long-term service keys: $out"
	jq -e --arg p "$SVC" '.agent_principals | index($p) != null' <<<"$out" >/dev/null ||
		lethe_die "store $name: audit does not list $SVC as agent-managed: $out"
	out=$(timeout "$LETHE_ADMIN_TIMEOUT" "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" agents) ||
		lethe_die "lethe-admin agents ($name) failed"
	grep -qF "$SVC" <<<"$out" || lethe_die "store $name: agents does not name $SVC: $out"
done

kill -TERM "$GSS_PID" 2>/dev/null || true
wait "$GSS_PID" 2>/dev/null || true
lethe_realm_use one
lethe_kdc_stop
lethe_realm_use two
lethe_kdc_stop
lethe_log "PASS agent_two_kdcs"
