#!/usr/bin/env bash
# agent_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_CLIENT: what happens
# to a service whose agent stopped past use_until (DESIGN §2).
#  - while its temporary key is in use: tickets under it (kvno 1), which
#    liblethe's acceptor takes with the agent's keytab;
#  - past use_until, with public-key tickets allowed and the classic key
#    forbidden: tickets sealed to the service's certificate (enctype -19540,
#    no kvno), which the acceptor opens with the service's private key only;
#  - with public-key tickets forbidden too: no ticket, and an e-text that
#    says the service has no current key;
#  - the agent back: a fresh key (kvno 2), tickets under it again;
#  - audit: no long-term service key.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"

KDC=${1:?usage: agent_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_CLIENT}
ADMIN=${2:?usage: agent_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_CLIENT}
AGENT=${3:?usage: agent_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_CLIENT}
CLIENT=${4:?usage: agent_pubkey.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT LETHE_CLIENT}
REALM=LETHE.TEST
SVC=HTTP/pk.lethe.test
ALICE_PW='alice: public keys'
ROTATION=4            # seconds; the key's use_until is registration + 4 s
TOOL_TIMEOUT=30

lethe_require_tools jq timeout grep sed
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
[ -x "$CLIENT" ] || lethe_die "lethe-client not found at $CLIENT"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$ALICE_PW"
printf '%s\n' "$ALICE_PW" >"$S/alice.pw"
lethe_agent_identity "$S/srv" "$SVC@$REALM" pk.lethe.test
lethe_realm_admin service-policy "$SVC" --pubkey-tickets on --classic-key off
REG_PORT=$(lethe_free_port)
# key_grace = no: once public-key tickets are forbidden too, no ticket at all
# (with grace the key past use_until would serve until its accept_until).
lethe_kdc_start "$KDC" "refresh_interval = 1s" "key_grace = no" "[registrar]" \
	"listen = 127.0.0.1:$REG_PORT"

lethe_agent_conf "$S/srv/agent.conf" "$SVC@$REALM" "$REG_PORT" "keytab = service.keytab" \
	"rotation = ${ROTATION}s" "overlap = 0s" "max_ticket_life = 1h"

agent_once() {
	timeout "$TOOL_TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 ||
		lethe_die "lethe-agent once: $(cat "$S/agent.out")"
}

# lethe-client as alice for $SVC; extra options follow. Output in $S/client.out.
client() {
	timeout "$TOOL_TIMEOUT" "$CLIENT" --kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" \
		--principal alice --password-file "$S/alice.pw" --service "$SVC" "$@" \
		>"$S/client.out" 2>"$S/client.err"
}

# ---- the temporary key in use ------------------------------------------------
agent_once
registered=$SECONDS
client --keytab "$S/srv/service.keytab" ||
	lethe_die "ticket under the temporary key: $(cat "$S/client.out" "$S/client.err")"
grep -q '^service_ticket .* ticket_etype=18 ticket_kvno=1 ' "$S/client.out" ||
	lethe_die "want a ticket under kvno 1: $(cat "$S/client.out")"
grep -q '^accept result=ok ticket_etype=18 kvno=1 ' "$S/client.out" ||
	lethe_die "the acceptor did not take it: $(cat "$S/client.out")"
echo "ok: ticket under the temporary key kvno 1"

# ---- past use_until: a public-key ticket ------------------------------------
sleep $((ROTATION + 1 - (SECONDS - registered) > 0 ? ROTATION + 1 - (SECONDS - registered) : 0))
client --keytab "$S/srv/service.keytab" --cert "$S/srv/server.pem" --key "$S/srv/server.key" \
	--kdc-cert "$S/srv/kdc.pem" ||
	lethe_die "public-key ticket: $(cat "$S/client.out" "$S/client.err")"
grep -q '^service_ticket .* ticket_etype=-19540 ticket_kvno=0 ' "$S/client.out" ||
	lethe_die "want a public-key ticket: $(cat "$S/client.out")"
grep -q '^accept result=ok ticket_etype=-19540 kvno=0 ' "$S/client.out" ||
	lethe_die "the acceptor did not open it: $(cat "$S/client.out")"
if client --keytab "$S/srv/service.keytab"; then
	lethe_die "a public-key ticket was accepted without the private key"
fi
grep -q 'public-key ticket, but no private key is configured' "$S/client.err" ||
	lethe_die "unexpected refusal: $(cat "$S/client.err")"
lethe_kdc_log_has "type=TGS .*service=$SVC@$REALM .*ticket_etype=-19540 .*result=OK" ||
	lethe_die "the KDC logged no public-key ticket"
echo "ok: past use_until, a public-key ticket that only the private key opens"

# ---- public-key tickets forbidden as well: none ------------------------------
lethe_realm_admin service-policy "$SVC" --pubkey-tickets off
no_ticket() {
	! client && grep -q 'has no current key' "$S/client.err"
}
lethe_wait_until 15 "the KDC to refuse tickets for $SVC" no_ticket ||
	lethe_die "tickets still issued: $(cat "$S/client.out" "$S/client.err")"
echo "ok: no key in use and nothing allowed: $(sed 's/.*(KRB-ERROR/(KRB-ERROR/' "$S/client.err")"

# ---- the agent back: a fresh key ------------------------------------------------
agent_once
client --keytab "$S/srv/service.keytab" ||
	lethe_die "ticket after the agent came back: $(cat "$S/client.out" "$S/client.err")"
grep -q '^accept result=ok ticket_etype=18 kvno=2 ' "$S/client.out" ||
	lethe_die "want kvno 2 after re-registration: $(cat "$S/client.out")"
echo "ok: the agent registered kvno 2 and tickets use it"

timeout "$TOOL_TIMEOUT" "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit --json >"$S/audit.json" ||
	lethe_die "audit failed"
[ "$(jq -r .long_term_service_keys_present "$S/audit.json")" = false ] ||
	lethe_die "audit reports long-term service keys: $(cat "$S/audit.json")"
echo "ok: audit: no long-term service key"

lethe_kdc_stop
echo "PASS agent_pubkey"
