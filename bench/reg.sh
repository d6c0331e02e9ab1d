#!/usr/bin/env bash
# reg.sh: measure lethe-kdc's registrar with `lethe-bench --mode register`.
#
# In a scratch directory (removed at exit) it makes a realm with lethe-admin,
# a server certificate (issue-cert) whose DNS SAN a rule allows to register
# keys for bench/*, and starts lethe-kdc with its registrar on a free
# loopback port. Then it runs lethe-bench --runs times and reads the KDC's
# CPU time (utime + stime from /proc) around each run: registrations per
# second, latency p50/p99 and KDC CPU µs per registration, medians of the
# runs. --strace adds one run under `strace -c -f` of the KDC (system
# call time: fsync, fdatasync, pwrite...), --perf one under `perf record`
# (where the KDC's CPU goes: libcrypto, libsqlite3, kernel).
#
# Usage: bench/reg.sh [--build DIR] [--requests N] [--runs R] [--inflight T]
#                     [--principals P] [--strace] [--perf] [--keep]
# --build defaults to the first of build/*/ (outside any *asan* folder) that
# holds src/bench/lethe-bench. Needs lethe-admin and lethe-kdc built there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../tests/interop/kdc_lib.sh
. "$root/tests/interop/kdc_lib.sh"

BUILD=
REQUESTS=2000
RUNS=3
INFLIGHT=1
PRINCIPALS=16
STRACE=0
PERF=0
REALM=BENCH.LETHE.TEST
HOST=reg.bench.lethe.test

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--requests) REQUESTS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--inflight) INFLIGHT=$2; shift 2 ;;
	--principals) PRINCIPALS=$2; shift 2 ;;
	--strace) STRACE=1; shift ;;
	--perf) PERF=1; shift ;;
	--keep) LETHE_KEEP_SCRATCH=1; shift ;;
	-h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) lethe_die "unknown argument: $1" ;;
	esac
done

[ -n "$BUILD" ] || BUILD=$(bench_find_build "$root")
[ -n "$BUILD" ] && [ -x "$BUILD/src/bench/lethe-bench" ] ||
	lethe_die "no lethe-bench built (give --build DIR)"
BENCH=$BUILD/src/bench/lethe-bench
ADMIN=$BUILD/src/admin/lethe-admin
KDC=$BUILD/src/kdcd/lethe-kdc
lethe_require_tools jq timeout
[ "$STRACE" = 0 ] || lethe_require_tools strace
[ "$PERF" = 0 ] || lethe_require_tools perf

# CPU time of a process in clock ticks (utime + stime of all its threads).
cpu_ticks() {
	local fields
	fields=$(sed 's/^.*) //' "/proc/$1/stat")
	# shellcheck disable=SC2086
	set -- $fields
	echo $((${12} + ${13}))
}

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_admin issue-cert --principal "bench/$HOST@$REALM" --dns "$HOST" \
	--key-out "$S/server.key" --cert-out "$S/server.pem"
lethe_realm_admin allow --san "DNS:$HOST" "bench/*@$REALM"
lethe_realm_admin export-ca -o "$S/ca.pem"
lethe_realm_admin export-kdc-cert -o "$S/kdc.pem"
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
PID=$LETHE_KDC_PID
HZ=$(getconf CLK_TCK)

# One lethe-bench run; its JSON line on stdout.
bench_run() {
	timeout 600 "$BENCH" --mode register --registrar "127.0.0.1:$REG_PORT" \
		--realm "$REALM" --cert "$S/server.pem" --key "$S/server.key" \
		--kdc-cert "$S/kdc.pem" --kdc-ca "$S/ca.pem" --requests "$REQUESTS" \
		--inflight "$INFLIGHT" --principals "$PRINCIPALS" --json
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "store: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?'), $REQUESTS registrations × $RUNS runs, $INFLIGHT in flight, $PRINCIPALS principals per run" >&2
: >"$S/runs"
for run in $(seq "$RUNS"); do
	before=$(cpu_ticks "$PID")
	bench_run >"$S/run.json" || lethe_die "lethe-bench failed: $(cat "$S/run.json")"
	after=$(cpu_ticks "$PID")
	line=$(jq -c 'select(.mode == "register")' "$S/run.json")
	[ "$(jq -r '.failed' <<<"$line")" = 0 ] || lethe_die "run $run: refusals or bad replies: $line"
	kdc_us=$(jq -r --argjson t $((after - before)) --argjson hz "$HZ" \
		'$t * 1e6 / $hz / .ok' <<<"$line")
	jq -r --arg kdc "$kdc_us" --arg run "$run" \
		'"run \($run): \(.per_s | floor) reg/s, p50 \(.p50_us) µs, p99 \(.p99_us) µs, KDC CPU \($kdc | tonumber | floor) µs/reg, bench build \(.build_us_each) µs + check \(.check_us_each) µs (untimed)"' \
		<<<"$line" >&2
	echo "$(jq -r '.per_s' <<<"$line") $(jq -r '.p50_us' <<<"$line") $(jq -r '.p99_us' <<<"$line") $kdc_us" >>"$S/runs"
done
printf 'median of %s runs: %.0f registrations/s, p50 %s µs, p99 %s µs, KDC CPU %.0f µs per registration\n' \
	"$RUNS" "$(cut -d' ' -f1 "$S/runs" | bench_median)" "$(cut -d' ' -f2 "$S/runs" | bench_median)" \
	"$(cut -d' ' -f3 "$S/runs" | bench_median)" "$(cut -d' ' -f4 "$S/runs" | bench_median)"

if [ "$STRACE" = 1 ]; then
	strace -c -f -p "$PID" -o "$S/strace.txt" &
	STRACE_PID=$!
	sleep 1
	bench_run >/dev/null
	kill -INT "$STRACE_PID"
	wait "$STRACE_PID" || true
	echo "--- strace -c -f of lethe-kdc during one run ($REQUESTS registrations):"
	head -15 "$S/strace.txt"
fi
if [ "$PERF" = 1 ]; then
	perf record -F 499 --call-graph dwarf,16384 -p "$PID" -o "$S/perf.data" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 1
	bench_run >/dev/null
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || true
	echo "--- perf: lethe-kdc samples by shared object during one run:"
	perf report -i "$S/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -12
	echo "--- lethe-kdc functions, with what they call (children):"
	perf report -i "$S/perf.data" --stdio --children --sort sym -g none 2>/dev/null |
		grep -E '\[\.\] (reg_|kdc_|store_|sqlite3_step|fdatasync|kc_|acc_)' | head -30
fi
lethe_kdc_stop
