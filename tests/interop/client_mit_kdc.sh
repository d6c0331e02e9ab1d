#!/usr/bin/env bash
# Lethe's client library and lethe-bench against MIT's krb5kdc on loopback:
# a TGT from a password (pre-authentication required), a service ticket that
# decrypts with the service key MIT exported to a keytab, MIT's error codes
# reported as such, and two-second lethe-bench runs (AS and TGS) with no error.
#
# Usage: client_mit_kdc.sh LETHE_CLIENT LETHE_BENCH
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/mit_realm.sh"

CLIENT=${1:?usage: client_mit_kdc.sh LETHE_CLIENT LETHE_BENCH}
BENCH=${2:?usage: client_mit_kdc.sh LETHE_CLIENT LETHE_BENCH}
[ -x "$CLIENT" ] || lethe_die "not executable: $CLIENT"
[ -x "$BENCH" ] || lethe_die "not executable: $BENCH"
lethe_require_tools krb5kdc kdb5_util kadmin.local timeout grep sed

REALM=LETHE.TEST
SERVICE=host/svc.lethe.test
lethe_scratch_dir
dir=$LETHE_SCRATCH
mit_realm_create "$dir/kdc" "$REALM"
mit_realm_addprinc alice 'correct horse' aes256-cts-hmac-sha1-96 +requires_preauth
mit_realm_addprinc carol 'battery staple' aes256-cts-hmac-sha384-192 +requires_preauth
mit_realm_addprinc_randkey "$SERVICE" "aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192"
mit_realm_ktadd "$SERVICE" "$dir/svc.keytab"
mit_kdc_start
KDC=127.0.0.1:$MIT_KDC_PORT
printf 'correct horse\n' >"$dir/alice.pw"
printf 'battery staple\n' >"$dir/carol.pw"
printf 'wrong horse\n' >"$dir/wrong.pw"

# Run lethe-client; its output goes to $dir/out, its stderr to $dir/err.
run_client() {
	timeout 60 "$CLIENT" --kdc "$KDC" --realm "$REALM" "$@" >"$dir/out" 2>"$dir/err"
}

expect_ticket() {
	local who=$1 etype=$2
	grep -q "^tgt client=$who@$REALM server=krbtgt/$REALM@$REALM " "$dir/out" ||
		lethe_die "no TGT for $who: $(cat "$dir/out" "$dir/err")"
	grep -q "^client_key etype=$etype\$" "$dir/out" ||
		lethe_die "$who's key is not of etype $etype: $(cat "$dir/out")"
	grep -q "^service_ticket client=$who@$REALM server=$SERVICE@$REALM " "$dir/out" ||
		lethe_die "no service ticket for $who: $(cat "$dir/out")"
	grep -q '^accept result=ok ' "$dir/out" ||
		lethe_die "the acceptor did not take the service ticket with the keytab: $(cat "$dir/out")"
}

lethe_log "TGT and service ticket over UDP (aes256-cts-hmac-sha1-96)"
run_client --principal alice --password-file "$dir/alice.pw" --service "$SERVICE" \
	--keytab "$dir/svc.keytab" || lethe_die "lethe-client failed: $(cat "$dir/err")"
expect_ticket alice 18
grep -q "^accept result=ok ticket_etype=18 " "$dir/out" || lethe_die "service ticket not etype 18"

lethe_log "the same over TCP, with a TGS subkey"
run_client --principal alice --password-file "$dir/alice.pw" --service "$SERVICE" \
	--keytab "$dir/svc.keytab" --transport tcp --subkey ||
	lethe_die "lethe-client over TCP failed: $(cat "$dir/err")"
expect_ticket alice 18

lethe_log "aes256-cts-hmac-sha384-192 client key (RFC 8009 string-to-key, MIT salt)"
run_client --principal carol --password-file "$dir/carol.pw" --service "$SERVICE" \
	--keytab "$dir/svc.keytab" || lethe_die "lethe-client (carol) failed: $(cat "$dir/err")"
expect_ticket carol 20

lethe_log "MIT's refusals come back as KRB-ERROR codes"
if run_client --principal alice --password-file "$dir/wrong.pw"; then
	lethe_die "a wrong password got a TGT"
fi
grep -q 'KRB-ERROR 24 KDC_ERR_PREAUTH_FAILED' "$dir/err" ||
	lethe_die "wrong password not reported as PREAUTH_FAILED: $(cat "$dir/err")"
if run_client --principal nobody --password-file "$dir/alice.pw"; then
	lethe_die "an unknown principal got a TGT"
fi
grep -q 'KRB-ERROR 6 KDC_ERR_C_PRINCIPAL_UNKNOWN' "$dir/err" ||
	lethe_die "unknown client not reported: $(cat "$dir/err")"
if run_client --principal alice --password-file "$dir/alice.pw" --service host/none.lethe.test; then
	lethe_die "an unknown service got a ticket"
fi
grep -q 'KRB-ERROR 7 KDC_ERR_S_PRINCIPAL_UNKNOWN' "$dir/err" ||
	lethe_die "unknown service not reported: $(cat "$dir/err")"

# The value of a numeric field of lethe-bench's JSON line.
json_field() {
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$dir/bench.json"
}

# Run lethe-bench with the given extra arguments; require replies and no error.
bench_ok() {
	local what=$1 ok errors verified
	shift
	timeout 60 "$BENCH" --kdc "$KDC" --realm "$REALM" --principal alice \
		--password-file "$dir/alice.pw" --inflight 8 --json --quiet "$@" \
		>"$dir/bench.json" 2>"$dir/bench.err" ||
		lethe_die "lethe-bench $what failed: $(cat "$dir/bench.err")"
	ok=$(json_field ok)
	errors=$(json_field errors)
	verified=$(json_field verified)
	[ -n "$ok" ] && [ -n "$errors" ] || lethe_die "no JSON from lethe-bench: $(cat "$dir/bench.json")"
	[ "$ok" -gt 0 ] || lethe_die "lethe-bench $what: no reply"
	[ "$errors" -eq 0 ] || lethe_die "lethe-bench $what: $errors errors: $(cat "$dir/bench.json")"
	[ "$verified" -gt 0 ] || lethe_die "lethe-bench $what: nothing verified"
	lethe_log "lethe-bench $what: $ok replies, $verified verified, $(json_field rps) req/s"
}

bench_ok "AS/UDP" --mode as --seconds 2
bench_ok "TGS/UDP" --mode tgs --service "$SERVICE" --seconds 2 --sample 4
bench_ok "AS/TCP" --mode as --transport tcp --seconds 1 --threads 2
bench_ok "TGS/UDP 500 requests" --mode tgs --requests 500
[ "$(json_field ok)" -eq 500 ] || lethe_die "--requests 500 gave $(json_field ok) replies"

lethe_log "client_mit_kdc: all checks passed"
