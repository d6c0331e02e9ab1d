#!/usr/bin/env bash
# kdc_log_batch.sh LETHE_KDC LETHE_ADMIN LETHE_BENCH: batched request lines
# lose nothing. lethe-bench keeps 32 AS requests in flight while lethe-kdc
# is stopped with SIGTERM in the middle of the load; afterwards the log
# must hold exactly as many "result=OK" AS lines as the KDC's own counter
# (logged at shutdown) says it answered, at least as many as the bench
# received, and every line of the log must be whole (one timestamped
# prefix each: no batch cut into another).
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"

KDC=${1:?usage: kdc_log_batch.sh LETHE_KDC LETHE_ADMIN LETHE_BENCH}
ADMIN=${2:?usage: kdc_log_batch.sh LETHE_KDC LETHE_ADMIN LETHE_BENCH}
BENCH=${3:?usage: kdc_log_batch.sh LETHE_KDC LETHE_ADMIN LETHE_BENCH}
REALM=LETHE.TEST
PW='batch: pw'
lethe_require_tools jq timeout
lethe_scratch_dir
S=$LETHE_SCRATCH
printf '%s\n' "$PW" >"$S/alice.pw"

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$PW"
lethe_kdc_start "$KDC"
LOG=$LETHE_REALM_DIR/kdc.log

timeout 600 "$BENCH" --kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" --principal alice \
	--password-file "$S/alice.pw" --mode as --inflight 32 --seconds 20 --timeout-ms 1000 \
	--json --quiet >"$S/bench.json" 2>"$S/bench.err" &
BENCH_PID=$!
lethe_wait_until 300 "1000 AS requests logged" \
	eval '[ "$(lethe_kdc_log_count "event=kdc_req .* type=AS .* result=OK ")" -ge 1000 ]' ||
	lethe_die "fewer than 1000 AS requests logged: $(tail -3 "$LOG")"
kill -0 "$BENCH_PID" 2>/dev/null || lethe_die "lethe-bench ended before the KDC was stopped"
lethe_kdc_stop                  # SIGTERM while the load runs
wait "$BENCH_PID" || lethe_die "lethe-bench failed: $(cat "$S/bench.err")"

counted=$(sed -n 's/.*event=kdc_counter type=AS result=OK count=\([0-9]*\).*/\1/p' "$LOG")
[ -n "$counted" ] || lethe_die "no kdc_counter line for AS OK: $(tail -5 "$LOG")"
logged=$(lethe_kdc_log_count "event=kdc_req .* type=AS .* result=OK ")
received=$(jq .ok "$S/bench.json")
lethe_log "AS answered (counter) $counted, logged $logged, received by the bench $received"
[ "$logged" = "$counted" ] || lethe_die "$counted AS requests answered but $logged logged"
[ "$logged" -ge "$received" ] || lethe_die "the bench received $received replies, $logged logged"
bad=$(grep -Evc '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z lethe-kdc: [^ ]' "$LOG" || true)
[ "$bad" = 0 ] || lethe_die "$bad log lines are not whole: $(grep -Ev '^[0-9]{4}-' "$LOG" | head -3)"
[ "$(grep -Ec 'Z lethe-kdc: .*Z lethe-kdc: ' "$LOG" || true)" = 0 ] ||
	lethe_die "a line holds two prefixes (lines interleaved)"
lethe_log "batched request lines OK"
