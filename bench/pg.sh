#!/usr/bin/env bash
# pg.sh: one realm on a PostgreSQL store shared by two lethe-kdc: how long a
# registration at KDC 1 takes to be served by KDC 2, and registrations/s.
#
# A private PostgreSQL server (tests/interop/lib/pg.sh: initdb and pg_ctl in
# a scratch folder, unix socket only, fsync off as in the tests), `lethe-admin
# init` on its URI, a server identity allowed to register bench/* (as
# bench/reg.sh), a user; KDC 1 with its registrar, KDC 2 without, both with
# refresh_interval = 60 (only NOTIFY makes a change show quickly).
#  - propagation: lethe-bench --mode propagate, --samples registrations of
#    kvno 1..N at KDC 1's registrar; after each reply, TGS-REQs to KDC 2
#    until a ticket under the new kvno comes (p50, p90, p99, max per run)
#  - registrations/s: lethe-bench --mode register at KDC 1's registrar,
#    --requests per run, one at a time (reg/s, p50, p99)
# --runs runs of each; the medians over the runs are printed last.
#
# Usage: bench/pg.sh [--build DIR] [--samples N] [--requests N] [--runs R] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../tests/interop/kdc_lib.sh
. "$root/tests/interop/kdc_lib.sh"
# shellcheck source=../tests/interop/lib/pg.sh
. "$root/tests/interop/lib/pg.sh"

BUILD=
SAMPLES=200
REQUESTS=500
RUNS=3
REALM=BENCH.LETHE.TEST
HOST=reg.bench.lethe.test
USER_PW='bench: propagation'

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--samples) SAMPLES=$2; shift 2 ;;
	--requests) REQUESTS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--keep) LETHE_KEEP_SCRATCH=1; shift ;;
	-h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) lethe_die "unknown argument: $1" ;;
	esac
done
for v in $SAMPLES $REQUESTS $RUNS; do
	case "$v" in '' | *[!0-9]*) lethe_die "not a number: $v" ;; esac
done

[ -n "$BUILD" ] || BUILD=$(bench_find_build "$root")
[ -n "$BUILD" ] && [ -x "$BUILD/src/bench/lethe-bench" ] ||
	lethe_die "no lethe-bench built (give --build DIR)"
BENCH=$BUILD/src/bench/lethe-bench
ADMIN=$BUILD/src/admin/lethe-admin
KDC=$BUILD/src/kdcd/lethe-kdc
lethe_require_tools jq timeout
[ "$(id -u)" -ne 0 ] || lethe_require_tools runuser

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_pg_start
URI=$(lethe_pg_createdb lethe_bench)
lethe_realm_use k1
lethe_realm_attach "$S/k1" "$REALM" "$ADMIN" "$URI" "$S/realm.mkey"
lethe_realm_admin init --realm "$REALM"
lethe_realm_admin issue-cert --principal "bench/$HOST@$REALM" --dns "$HOST" \
	--key-out "$S/server.key" --cert-out "$S/server.pem"
lethe_realm_admin allow --san "DNS:$HOST" "bench/*@$REALM"
lethe_realm_admin export-ca -o "$S/ca.pem"
lethe_realm_admin export-kdc-cert -o "$S/kdc.pem"
lethe_realm_add_user bencher "$USER_PW"
printf '%s\n' "$USER_PW" >"$S/password"
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "refresh_interval = 60" "[registrar]" "listen = 127.0.0.1:$REG_PORT" \
	"max_principals_per_key = 100000"
lethe_realm_use k2
lethe_realm_attach "$S/k2" "$REALM" "$ADMIN" "$URI" "$S/realm.mkey"
lethe_kdc_start "$KDC" "refresh_interval = 60"
K2_PORT=$LETHE_KDC_PORT

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "store: PostgreSQL $("$LETHE_PG_BIN/postgres" --version | awk '{print $3}') (local socket, fsync off); $SAMPLES samples and $REQUESTS registrations × $RUNS runs" >&2
common=(--registrar "127.0.0.1:$REG_PORT" --realm "$REALM" --cert "$S/server.pem"
	--key "$S/server.key" --kdc-cert "$S/kdc.pem" --kdc-ca "$S/ca.pem" --json)
: >"$S/prop"
: >"$S/reg"
for run in $(seq "$RUNS"); do
	timeout 900 "$BENCH" --mode propagate "${common[@]}" --kdc "127.0.0.1:$K2_PORT" \
		--client "bencher@$REALM" --password-file "$S/password" --samples "$SAMPLES" \
		--prefix bench >"$S/run.json" || lethe_die "propagate failed: $(cat "$S/run.json")"
	line=$(jq -c 'select(.mode == "propagate")' "$S/run.json")
	jq -r --arg run "$run" '"run \($run): propagation p50 \(.p50_us) µs, p90 \(.p90_us) µs, p99 \(.p99_us) µs, max \(.max_us) µs, \(.tgs_per_sample) TGS-REQs per sample"' <<<"$line" >&2
	jq -r '"\(.p50_us) \(.p90_us) \(.p99_us) \(.max_us)"' <<<"$line" >>"$S/prop"
	timeout 900 "$BENCH" --mode register "${common[@]}" --requests "$REQUESTS" \
		--inflight 1 --principals 16 >"$S/run.json" ||
		lethe_die "register failed: $(cat "$S/run.json")"
	line=$(jq -c 'select(.mode == "register")' "$S/run.json")
	[ "$(jq -r '.failed' <<<"$line")" = 0 ] || lethe_die "run $run: refusals or bad replies: $(cat "$S/run.json")"
	jq -r --arg run "$run" '"run \($run): \(.per_s | floor) registrations/s, p50 \(.p50_us) µs, p99 \(.p99_us) µs"' <<<"$line" >&2
	jq -r '"\(.per_s) \(.p50_us) \(.p99_us)"' <<<"$line" >>"$S/reg"
done
printf 'median of %s runs: propagation KDC 1 registrar -> KDC 2 ticket p50 %s µs, p90 %s µs, p99 %s µs, max %s µs (%s samples each)\n' \
	"$RUNS" "$(cut -d' ' -f1 "$S/prop" | bench_median)" "$(cut -d' ' -f2 "$S/prop" | bench_median)" \
	"$(cut -d' ' -f3 "$S/prop" | bench_median)" "$(cut -d' ' -f4 "$S/prop" | bench_median)" "$SAMPLES"
printf 'median of %s runs: %.0f registrations/s, p50 %s µs, p99 %s µs\n' "$RUNS" \
	"$(cut -d' ' -f1 "$S/reg" | bench_median)" "$(cut -d' ' -f2 "$S/reg" | bench_median)" \
	"$(cut -d' ' -f3 "$S/reg" | bench_median)"
lethe_kdc_stop
lethe_realm_use k1
lethe_kdc_stop
