#!/usr/bin/env bash
# bench_smoke.sh LETHE_BENCH: a few requests of each lethe-bench mode that
# needs no MIT KDC, checking results, not speed:
#  - register: bench/reg.sh (a realm by lethe-admin, lethe-kdc's registrar)
#    with 20 registrations, 2 in flight; every reply verified and OK
#  - verify: both ticket kinds accepted, nothing refused
#  - kmp-sa: every exchange ends in an SA; kmp-forged: every forgery dropped
#    by the nonce check, no decryption
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

BENCH=${1:?usage: bench_smoke.sh LETHE_BENCH}
: "${LETHE_BUILD_DIR:?}" "${LETHE_SOURCE_DIR:?}"
lethe_require_tools jq timeout
[ -x "$BENCH" ] || lethe_die "lethe-bench not found at $BENCH"
lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_log "register: 20 registrations through bench/reg.sh"
timeout 300 bash "$LETHE_SOURCE_DIR/bench/reg.sh" --build "$LETHE_BUILD_DIR" \
	--requests 20 --runs 1 --inflight 2 --principals 4 >"$S/reg.out" 2>&1 ||
	lethe_die "reg.sh failed: $(cat "$S/reg.out")"
grep -Eq '^median of 1 runs: [1-9][0-9]* registrations/s' "$S/reg.out" ||
	lethe_die "no registration figure: $(cat "$S/reg.out")"

lethe_log "verify: 50 of each ticket kind"
timeout 120 "$BENCH" --mode verify --requests 50 --runs 1 --json >"$S/verify.json" ||
	lethe_die "verify failed: $(cat "$S/verify.json")"
[ "$(jq -s '[.[] | select(.mode == "verify-tk" or .mode == "verify-pubkey") |
	select(.ok == 50 and .failed == 0)] | length' "$S/verify.json")" = 2 ] ||
	lethe_die "verify: $(cat "$S/verify.json")"

lethe_log "kmp-sa: 5 clients, 2 rounds"
timeout 120 "$BENCH" --mode kmp-sa --clients 5 --rounds 2 --runs 1 --json >"$S/sa.json" ||
	lethe_die "kmp-sa failed: $(cat "$S/sa.json")"
[ "$(jq -s '[.[] | select(.mode == "kmp-sa" and .ok == 10 and .failed == 0)] | length' \
	"$S/sa.json")" = 1 ] || lethe_die "kmp-sa: $(cat "$S/sa.json")"

lethe_log "kmp-forged: 1000 forgeries, 50 verifications"
timeout 120 "$BENCH" --mode kmp-forged --clients 5 --requests 1000 --verify-requests 50 \
	--runs 1 --json >"$S/forged.json" || lethe_die "kmp-forged failed: $(cat "$S/forged.json")"
[ "$(jq -s '[.[] | select(.mode == "kmp-forged" and .ok == 1000 and .failed == 0 and
	.decrypts == 0)] | length' "$S/forged.json")" = 1 ] ||
	lethe_die "kmp-forged: $(cat "$S/forged.json")"

lethe_log "a bad option is a usage error (exit 2)"
rc=0
"$BENCH" --mode verify --requests 0 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || lethe_die "--requests 0 exited $rc, not 2"
lethe_log "bench smoke OK"
