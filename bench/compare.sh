#!/usr/bin/env bash
# compare.sh: measure MIT krb5kdc and lethe-kdc side by side with lethe-bench.
#
# Sets up, in a scratch directory, an MIT realm and (when lethe-admin and
# lethe-kdc are built) a Lethe realm with the same principals and enctype,
# each KDC on 127.0.0.1 at its own port with one worker per core. Then, for
# AS and TGS over UDP, it runs lethe-bench for a fixed time against each KDC,
# several runs each, and reads the KDC's CPU time (utime + stime of the
# daemon and its worker processes, from /proc) before and after every run.
# It prints a table of medians and the ratios lethe/MIT.
#
# Usage: bench/compare.sh [--build DIR] [--seconds S] [--runs N]
#                         [--inflight N] [--threads T] [--sample K]
#                         [--enctype aes256-cts-hmac-sha1-96|aes256-cts-hmac-sha384-192]
#                         [--workers W] [--shape lethe|mit] [--lethe-kdc PATH] [--keep]
# --build defaults to the first of build/*/ (outside any *asan* folder) that
# holds src/bench/lethe-bench. --shape is lethe-bench's (mit: the requests
# MIT kinit/kvno send). --lethe-kdc runs another lethe-kdc binary (an older
# build, say) against the same realm. Needs krb5kdc, kdb5_util, kadmin.local.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
PATH="$PATH:/usr/sbin"

BUILD=
SECONDS_PER_RUN=10
RUNS=3
INFLIGHT=32
THREADS=1
SAMPLE=16
ENCTYPE=aes256-cts-hmac-sha1-96
WORKERS=$(nproc)
KEEP=0
SHAPE=lethe
LKDC_ARG=
REALM=BENCH.LETHE.TEST
SERVICE=host/bench.lethe.test

die() {
	echo "compare.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--seconds) SECONDS_PER_RUN=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--inflight) INFLIGHT=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--sample) SAMPLE=$2; shift 2 ;;
	--enctype) ENCTYPE=$2; shift 2 ;;
	--workers) WORKERS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--shape) SHAPE=$2; shift 2 ;;
	--lethe-kdc) LKDC_ARG=$2; shift 2 ;;
	-h | --help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
case "$ENCTYPE" in
aes256-cts-hmac-sha1-96 | aes256-cts-hmac-sha384-192) ;;
*) die "--enctype must be aes256-cts-hmac-sha1-96 or aes256-cts-hmac-sha384-192" ;;
esac

[ -n "$BUILD" ] || BUILD=$(bench_find_build "$root")
[ -n "$BUILD" ] && [ -x "$BUILD/src/bench/lethe-bench" ] ||
	die "no lethe-bench built (give --build DIR)"
BENCH=$BUILD/src/bench/lethe-bench
CLIENT=$BUILD/src/client/lethe-client
ADMIN=$BUILD/src/admin/lethe-admin
LKDC=${LKDC_ARG:-$BUILD/src/kdcd/lethe-kdc}
for tool in krb5kdc kdb5_util kadmin.local timeout; do
	command -v "$tool" >/dev/null || die "required tool missing: $tool"
done
[ -x "$CLIENT" ] || die "lethe-client not built in $BUILD"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/lethe-compare.XXXXXX")
PIDS=()

# Stop one daemon: TERM, then KILL after 10 s; its worker processes too.
stop_daemon() {
	local pid=$1 kids i
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" $kids 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop_daemon "$pid"
	done
	if [ "$KEEP" = 1 ]; then
		echo "kept $scratch" >&2
	else
		rm -rf -- "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A TCP and UDP port free on loopback now.
free_port() {
	local port hex
	for _ in $(seq 200); do
		port=$((20000 + RANDOM % 40000))
		hex=$(printf ':%04X ' "$port")
		if ! cat /proc/net/tcp /proc/net/udp /proc/net/tcp6 /proc/net/udp6 2>/dev/null |
			grep -q "$hex"; then
			echo "$port"
			return
		fi
	done
	die "no free port"
}

# CPU time (clock ticks) of a daemon and its direct children (MIT's workers).
cpu_ticks() {
	local pid=$1 total=0 p fields
	for p in "$pid" $(ps -o pid= --ppid "$pid" 2>/dev/null); do
		[ -r "/proc/$p/stat" ] || continue
		# Fields after the ")" of the command name: utime is the 12th, stime the 13th.
		fields=$(sed 's/^.*) //' "/proc/$p/stat")
		set -- $fields
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}

# Wait (at most 30 s) until the KDC at port issues a TGT to alice.
wait_kdc() {
	local port=$1 pid=$2 what=$3
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || die "$what exited at start (see $scratch)"
		if timeout 5 "$CLIENT" --kdc "127.0.0.1:$port" --realm "$REALM" --principal alice \
			--password-file "$scratch/alice.pw" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	die "$what did not answer within 30 s"
}

printf 'bench password %s\n' "$RANDOM$RANDOM" >"$scratch/alice.pw"
PASSWORD=$(cat "$scratch/alice.pw")

# ------------------------------------------------------------- MIT realm
start_mit() {
	local d=$scratch/mit
	MIT_PORT=$(free_port)
	mkdir -p "$d"
	cat >"$d/kdc.conf" <<CONF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$MIT_PORT
	kdc_tcp_listen = 127.0.0.1:$MIT_PORT
[realms]
	$REALM = {
		database_name = $d/principal
		key_stash_file = $d/stash
		acl_file = $d/kadm5.acl
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes = $ENCTYPE:normal
		default_principal_flags = +preauth
		max_life = 10h
		max_renewable_life = 7d
	}
[dbmodules]
	$REALM = {
		disable_last_success = true
		disable_lockout = true
	}
[logging]
	kdc = FILE:$d/kdc.log
	default = FILE:$d/krb5lib.log
CONF
	cat >"$d/krb5.conf" <<CONF
[libdefaults]
	default_realm = $REALM
[realms]
	$REALM = {
		kdc = 127.0.0.1:$MIT_PORT
	}
CONF
	: >"$d/kadm5.acl"
	export KRB5_CONFIG=$d/krb5.conf KRB5_KDC_PROFILE=$d/kdc.conf
	timeout 60 kdb5_util create -s -r "$REALM" -P "master-$RANDOM$RANDOM" >"$d/setup.log" 2>&1 ||
		die "kdb5_util create failed: $(cat "$d/setup.log")"
	timeout 60 kadmin.local -r "$REALM" -q "addprinc -pw \"$PASSWORD\" alice" >>"$d/setup.log" 2>&1 ||
		die "addprinc alice failed"
	timeout 60 kadmin.local -r "$REALM" -q "addprinc -randkey $SERVICE" >>"$d/setup.log" 2>&1 ||
		die "addprinc $SERVICE failed"
	krb5kdc -n -w "$WORKERS" -r "$REALM" >"$d/krb5kdc.out" 2>&1 &
	MIT_PID=$!
	PIDS+=("$MIT_PID")
	wait_kdc "$MIT_PORT" "$MIT_PID" "krb5kdc"
	unset KRB5_CONFIG KRB5_KDC_PROFILE
}

# ----------------------------------------------------------- Lethe realm
start_lethe() {
	local d=$scratch/lethe store
	LETHE_PORT=$(free_port)
	mkdir -p "$d"
	store=$d/lethe.db
	timeout 60 "$ADMIN" -d "$store" init --realm "$REALM" --enctypes "$ENCTYPE" \
		--max-life 10h --max-renew 7d >"$d/setup.log" 2>&1 ||
		{ LETHE_WHY="lethe-admin init failed: $(tail -3 "$d/setup.log")"; return 1; }
	timeout 60 "$ADMIN" -d "$store" add-user alice --password-file "$scratch/alice.pw" \
		>>"$d/setup.log" 2>&1 || { LETHE_WHY="lethe-admin add-user failed"; return 1; }
	timeout 60 "$ADMIN" -d "$store" add-service "$SERVICE" >>"$d/setup.log" 2>&1 ||
		{ LETHE_WHY="lethe-admin add-service failed"; return 1; }
	cat >"$d/kdc.conf" <<CONF
[store]
path = $store
[kdc]
realm = $REALM
listen = 127.0.0.1:$LETHE_PORT
workers = $WORKERS
[registrar]
listen =
[logging]
destination = stderr
level = info
requests = true
CONF
	"$LKDC" -f -c "$d/kdc.conf" >"$d/kdc.out" 2>>"$d/kdc.log" &
	LETHE_PID=$!
	PIDS+=("$LETHE_PID")
	wait_kdc "$LETHE_PORT" "$LETHE_PID" "lethe-kdc"
}

# ----------------------------------------------------------- measuring
# One run: prints "rps p50 p99 kdc_cpu_us_per_req errors bench_cpu_us_per_req".
measure() {
	local port=$1 pid=$2 mode=$3 out c0 c1 ok tck
	local args=(--kdc "127.0.0.1:$port" --realm "$REALM" --principal alice
		--password-file "$scratch/alice.pw" --mode "$mode" --inflight "$INFLIGHT"
		--threads "$THREADS" --sample "$SAMPLE" --seconds "$SECONDS_PER_RUN" --shape "$SHAPE"
		--json --quiet)
	[ "$mode" = tgs ] && args+=(--service "$SERVICE")
	tck=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$pid")
	out=$(timeout $((SECONDS_PER_RUN + 60)) "$BENCH" "${args[@]}") ||
		die "lethe-bench failed against port $port"
	c1=$(cpu_ticks "$pid")
	# Both KDCs log one line per request (appending); keep the files small.
	: >"$scratch/mit/kdc.log"
	[ ! -f "$scratch/lethe/kdc.log" ] || : >"$scratch/lethe/kdc.log"
	field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$out"; }
	ok=$(field ok)
	[ -n "$ok" ] && [ "$ok" -gt 0 ] || die "no replies from port $port: $out"
	echo "$(field rps) $(field p50_us) $(field p99_us)" \
		"$(awk -v c=$((c1 - c0)) -v t="$tck" -v n="$ok" 'BEGIN { printf "%.1f", c / t * 1e6 / n }')" \
		"$(field errors)" "$(field client_cpu_us_per_req)"
}

# Median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Medians (and the error sum) of the runs in RUNS_<name>_<mode>: sets
# R_<name>_<mode>_{rps,p50,p99,cpu,bcpu} and R_<name>_<mode>_err.
summarize() {
	local name=$1 mode=$2 col list fields=(rps p50 p99 cpu err bcpu)
	list="RUNS_${name}_${mode}[@]"
	for col in 1 2 3 4 6; do
		printf -v "R_${name}_${mode}_${fields[col - 1]}" '%s' \
			"$(printf '%s\n' "${!list}" | awk -v c="$col" '{ print $c }' | median)"
	done
	printf -v "R_${name}_${mode}_err" '%s' \
		"$(printf '%s\n' "${!list}" | awk '{ s += $5 } END { print s }')"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" >&2
echo "settings: $ENCTYPE, UDP, ${SECONDS_PER_RUN}s x $RUNS runs, $INFLIGHT in flight," \
	"$THREADS bench thread(s), verify 1/$SAMPLE, $WORKERS KDC workers, $SHAPE shape" >&2
start_mit
KDCS=(mit)
LETHE_WHY=
if [ -x "$ADMIN" ] && [ -x "$LKDC" ]; then
	if start_lethe; then
		KDCS+=(lethe)
	else
		echo "lethe-kdc not measured: $LETHE_WHY" >&2
	fi
else
	LETHE_WHY="lethe-admin or lethe-kdc not built in $BUILD"
	echo "lethe-kdc not measured: $LETHE_WHY; measuring MIT only" >&2
fi

# Runs alternate between the KDCs, so that load from elsewhere hits both alike.
for mode in as tgs; do
	for ((i = 1; i <= RUNS; i++)); do
		for name in "${KDCS[@]}"; do
			if [ "$name" = mit ]; then
				r=$(measure "$MIT_PORT" "$MIT_PID" "$mode")
			else
				r=$(measure "$LETHE_PORT" "$LETHE_PID" "$mode")
			fi
			echo "  $name $mode run $i: $r" >&2
			eval "RUNS_${name}_${mode}+=(\"\$r\")"
		done
	done
	for name in "${KDCS[@]}"; do
		summarize "$name" "$mode"
	done
done

get() { local v="R_$1_$2_$3"; echo "${!v}"; }
printf '\n%-6s %-4s %10s %8s %8s %15s %7s %17s\n' KDC mode "req/s" "p50 µs" "p99 µs" \
	"KDC CPU µs/req" errors "bench CPU µs/req"
for mode in as tgs; do
	for name in "${KDCS[@]}"; do
		printf '%-6s %-4s %10s %8s %8s %15s %7s %17s\n' "$name" "$mode" \
			"$(get "$name" "$mode" rps)" "$(get "$name" "$mode" p50)" \
			"$(get "$name" "$mode" p99)" "$(get "$name" "$mode" cpu)" \
			"$(get "$name" "$mode" err)" "$(get "$name" "$mode" bcpu)"
	done
done
if [ ${#KDCS[@]} -eq 2 ]; then
	echo
	for mode in as tgs; do
		awk -v m="$mode" -v lr="$(get lethe "$mode" rps)" -v mr="$(get mit "$mode" rps)" \
			-v lc="$(get lethe "$mode" cpu)" -v mc="$(get mit "$mode" cpu)" \
			'BEGIN { printf "lethe/MIT %s: req/s x%.2f, CPU per request x%.2f\n", m,
				lr / mr, lc / mc }'
	done
else
	echo
	echo "lethe/MIT: not measured ($LETHE_WHY)"
fi
echo "(medians of $RUNS runs of ${SECONDS_PER_RUN}s; errors summed over the runs)"
