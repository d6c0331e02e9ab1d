#!/usr/bin/env bash
# instr.sh: lethe-kdc's instructions per request, counted by callgrind.
#
# Wall-clock figures move with the load of a shared machine; instruction
# counts do not. This runs lethe-kdc (one worker, request logging on, to a
# file) under valgrind --tool=callgrind in a scratch realm, zeroes the
# counters once the KDC answers, sends a fixed number of requests with
# lethe-bench, dumps the counters and prints instructions per request
# (user space only: system calls count as the instructions that make them).
#
# With --syscalls it runs lethe-kdc natively instead, attaches strace -c to
# all its threads once it answers and prints system calls per request.
#
# Usage: bench/instr.sh [--build DIR] [--kdc PATH] [--mode as|tgs]
#                       [--shape lethe|mit] [--requests N] [--syscalls] [--keep]
# --kdc runs another lethe-kdc binary (say an older build) with the same
# realm tools. Needs valgrind (callgrind_control), or strace for --syscalls.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

BUILD=
KDC_BIN=
MODE=as
SHAPE=lethe
REQUESTS=2000
KEEP=0
SYSCALLS=0
REALM=BENCH.LETHE.TEST
SERVICE=host/bench.lethe.test

die() {
	echo "instr.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--kdc) KDC_BIN=$2; shift 2 ;;
	--mode) MODE=$2; shift 2 ;;
	--shape) SHAPE=$2; shift 2 ;;
	--requests) REQUESTS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--syscalls) SYSCALLS=1; shift ;;
	-h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
[ -n "$BUILD" ] || BUILD=$(bench_find_build "$root")
[ -n "$BUILD" ] && [ -x "$BUILD/src/bench/lethe-bench" ] || die "no lethe-bench built (give --build DIR)"
BENCH=$BUILD/src/bench/lethe-bench
CLIENT=$BUILD/src/client/lethe-client
ADMIN=$BUILD/src/admin/lethe-admin
[ -n "$KDC_BIN" ] || KDC_BIN=$BUILD/src/kdcd/lethe-kdc
tools="valgrind callgrind_control timeout"
[ "$SYSCALLS" = 0 ] || tools="strace timeout"
for tool in $tools; do
	command -v "$tool" >/dev/null || die "required tool missing: $tool"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/lethe-instr.XXXXXX")
KDC_PID=
STRACE_PID=
cleanup() {
	if [ -n "$STRACE_PID" ]; then
		kill -INT "$STRACE_PID" 2>/dev/null || true
		wait "$STRACE_PID" 2>/dev/null || true
	fi
	if [ -n "$KDC_PID" ]; then
		kill -TERM "$KDC_PID" 2>/dev/null || true
		wait "$KDC_PID" 2>/dev/null || true
	fi
	if [ "$KEEP" = 1 ]; then echo "kept $scratch" >&2; else rm -rf -- "$scratch"; fi
}
trap cleanup EXIT

port=
for _ in $(seq 200); do
	port=$((20000 + RANDOM % 40000))
	hex=$(printf ':%04X ' "$port")
	cat /proc/net/udp /proc/net/tcp 2>/dev/null | grep -q "$hex" || break
done

printf 'bench password %s\n' "$RANDOM$RANDOM" >"$scratch/alice.pw"
store=$scratch/lethe.db
timeout 60 "$ADMIN" -d "$store" init --realm "$REALM" --enctypes aes256-cts-hmac-sha1-96 \
	--max-life 10h --max-renew 7d >"$scratch/setup.log" 2>&1 || die "lethe-admin init failed"
timeout 60 "$ADMIN" -d "$store" add-user alice --password-file "$scratch/alice.pw" \
	>>"$scratch/setup.log" 2>&1 || die "add-user failed"
timeout 60 "$ADMIN" -d "$store" add-service "$SERVICE" >>"$scratch/setup.log" 2>&1 ||
	die "add-service failed"
cat >"$scratch/kdc.conf" <<CONF
[store]
path = $store
[kdc]
realm = $REALM
listen = 127.0.0.1:$port
workers = 1
[registrar]
listen =
[logging]
destination = stderr
level = info
requests = true
CONF
run=(valgrind --tool=callgrind --callgrind-out-file="$scratch/cg.out")
[ "$SYSCALLS" = 0 ] || run=()
"${run[@]}" "$KDC_BIN" -f -c "$scratch/kdc.conf" >"$scratch/kdc.out" 2>"$scratch/kdc.log" &
KDC_PID=$!
ready=0
for _ in $(seq 600); do
	kill -0 "$KDC_PID" 2>/dev/null || die "lethe-kdc exited at start (see $scratch)"
	if timeout 30 "$CLIENT" --kdc "127.0.0.1:$port" --realm "$REALM" --principal alice \
		--password-file "$scratch/alice.pw" >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.5
done
[ "$ready" = 1 ] || die "lethe-kdc did not answer under valgrind"

args=(--kdc "127.0.0.1:$port" --realm "$REALM" --principal alice
	--password-file "$scratch/alice.pw" --mode "$MODE" --shape "$SHAPE"
	--requests "$REQUESTS" --inflight 4 --sample 16 --timeout-ms 30000 --json --quiet)
[ "$MODE" = tgs ] && args+=(--service "$SERVICE")
if [ "$SYSCALLS" = 1 ]; then
	tids=()
	for t in /proc/"$KDC_PID"/task/*; do tids+=(-p "${t##*/}"); done
	strace -c -f -o "$scratch/strace.out" "${tids[@]}" 2>"$scratch/strace.err" &
	STRACE_PID=$!
	sleep 2         # attached
	out=$(timeout 3600 "$BENCH" "${args[@]}") || die "lethe-bench failed"
	kill -INT "$STRACE_PID"
	wait "$STRACE_PID" 2>/dev/null || true
	STRACE_PID=
	ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$out")
	requests=$((ok + 2))
	echo "mode $MODE shape $SHAPE: $ok replies; system calls per request:"
	awk -v n="$requests" '$NF ~ /^[a-z_0-9]+$/ && $(NF-1) ~ /^[0-9]+$/ && $NF != "total" {
		calls = ($(NF-2) ~ /^[0-9]+$/ && NF == 6) ? $(NF-2) : $(NF-1)
		printf "  %-16s %.3f\n", $NF, calls / n }' "$scratch/strace.out"
	exit 0
fi
callgrind_control -z "$KDC_PID" >/dev/null 2>&1
out=$(timeout 3600 "$BENCH" "${args[@]}") || die "lethe-bench failed"
callgrind_control -d "$KDC_PID" >/dev/null 2>&1
ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<<"$out")
errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$out")
# The dump after zeroing: the newest cg.out.N; its "summary:" is the instruction count.
dump=$(ls -t "$scratch"/cg.out.* | head -1)
total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dump" | head -1)
[ -n "$total" ] && [ -n "$ok" ] && [ "$ok" -gt 0 ] || die "no count (see $scratch)"
# The bench's own set-up (a PREAUTH_REQUIRED and an AS exchange) is counted too.
requests=$((ok + 2))
echo "mode $MODE shape $SHAPE: $ok replies ($errors errors), $total instructions," \
	"$((total / requests)) per request"
