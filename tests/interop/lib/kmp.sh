# kmp.sh: helpers of the lethe-kmp interop scripts (sourced after
# kdc_lib.sh): processes started in the background and stopped by PID,
# and the counters lethe-kmp logs (event=kmp_counters) on SIGUSR1 and at exit.
#
#	"$KMP" server ... 2>"$log" & KMP_PIDS+=("$!")
#	lethe_at_exit kmp_stop_all

if [ -n "${LETHE_INTEROP_KMP_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_KMP_SH=1

KMP_PIDS=()
KMP_WAIT_SECS=${KMP_WAIT_SECS:-40}

# Stop every PID still on the list (SIGTERM, then SIGKILL after 10 s).
kmp_stop_all() {
	local pid
	for pid in "${KMP_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${KMP_PIDS[@]}"; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	KMP_PIDS=()
}

# Take PID $1 off the list.
kmp_forget_pid() {
	local p rest=()
	for p in "${KMP_PIDS[@]}"; do
		[ "$p" = "$1" ] || rest+=("$p")
	done
	KMP_PIDS=("${rest[@]+"${rest[@]}"}")
}

# Stop PID $1 with SIGTERM; fail unless it exits 0 within 10 s.
kmp_stop_one() {
	local pid=$1 rc=0
	kill -TERM "$pid"
	timeout 10 tail --pid="$pid" -f /dev/null || lethe_die "pid $pid ignored SIGTERM"
	wait "$pid" || rc=$?
	kmp_forget_pid "$pid"
	[ "$rc" -eq 0 ] || lethe_die "pid $pid exited $rc"
}

# Wait (at most KMP_WAIT_SECS) for PID $1 to exit by itself; status in WAITED_RC.
kmp_wait_one() {
	WAITED_RC=0
	timeout "$KMP_WAIT_SECS" tail --pid="$1" -f /dev/null || true
	wait "$1" || WAITED_RC=$?
	kmp_forget_pid "$1"
}

# The value of counter $2 in the last kmp_counters line of log $1.
kmp_counter() {
	grep 'event=kmp_counters' "$1" | tail -1 | sed -n "s/.* $2=\([0-9]*\).*/\1/p"
}

kmp_expect_counter() {
	local log=$1 name=$2 want=$3 got
	got=$(kmp_counter "$log" "$name")
	[ "$got" = "$want" ] || lethe_die "$name=$got, want $want in $log: $(cat "$log")"
}
