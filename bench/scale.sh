#!/usr/bin/env bash
# scale.sh: what realm size costs lethe-kdc (start-up, memory, applying a
# change) beside MIT krb5kdc (kdb5_util load, memory, kadmin.local change).
#
# For each size N (default 10, 10000 and 100000 principals; a tenth of them
# services, the rest users, aes256 + aes128 random keys):
#  Lethe: lethe-admin init, `lethe-bench --mode populate` (one transaction
#   per 5000 principals), a registrar identity as in bench/reg.sh; lethe-kdc
#   start-up (the kernel's process start time, 10 ms ticks, to the log's
#   "serving realm" line, ms), VmRSS/VmHWM after start; idle CPU over --idle seconds;
#   --changes admin changes (passwd --random on a service, disable / enable
#   on a user, one lethe-admin run each): the usec= of the KDC's apply log
#   lines (median, p90) and the KDC's CPU per change (all threads, ns from
#   /proc/PID/task/*/schedstat, minus the idle rate), the refresher thread's
#   alone; then --registrations registrations (lethe-bench --mode register):
#   registrations/s, KDC CPU per registration (registrar + apply) and the
#   refresher thread's CPU per registration (the apply alone).
#  MIT: kdb5_util create, one principal with -randkey (aes256 + aes128),
#   kdb5_util dump, its line copied N times under other names, kdb5_util
#   load (timed); a copy checked (getprinc, ktadd -norandkey, kinit -k);
#   krb5kdc VmRSS after start; --changes kadmin.local changes (cpw -randkey,
#   modprinc -allow_tix / +allow_tix), each one's wall time; a disabled copy
#   refused by krb5kdc at once and accepted again after +allow_tix.
# One result line per size and side on stdout, progress on stderr.
#
# --store postgresql: the Lethe side on a private PostgreSQL server
#  (tests/interop/lib/pg.sh: initdb and pg_ctl in the scratch folder, unix
#  socket, fsync off), one database per size; result lines "lethe-pg N=...".
#  Give --no-mit with it (the MIT side does not depend on the store).
#
# Usage: bench/scale.sh [--build DIR] [--sizes "10 10000 100000"]
#                       [--changes K] [--registrations R] [--idle S]
#                       [--store sqlite|postgresql] [--no-mit] [--keep]
# --build defaults to the first of build/*/ (outside any *asan* folder) that
# holds src/bench/lethe-bench. Needs lethe-admin and lethe-kdc built there,
# jq, and for MIT krb5kdc, kdb5_util, kadmin.local, kinit (krb5-kdc,
# krb5-admin-server, krb5-user).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# A realm of 100000 principals takes a while to load.
LETHE_KDC_START_TIMEOUT=${LETHE_KDC_START_TIMEOUT:-600}
# shellcheck source=../tests/interop/kdc_lib.sh
. "$root/tests/interop/kdc_lib.sh"
# shellcheck source=../tests/interop/lib/mit_realm.sh
. "$root/tests/interop/lib/mit_realm.sh"

BUILD=
SIZES="10 10000 100000"
CHANGES=50
REGS=200
IDLE=35
MIT=1
STORE=sqlite
REALM=BENCH.LETHE.TEST
HOST=reg.bench.lethe.test
ENCTYPES=aes256-cts-hmac-sha1-96,aes128-cts-hmac-sha1-96

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--changes) CHANGES=$2; shift 2 ;;
	--registrations) REGS=$2; shift 2 ;;
	--idle) IDLE=$2; shift 2 ;;
	--no-mit) MIT=0; shift ;;
	--store) STORE=$2; shift 2 ;;
	--keep) LETHE_KEEP_SCRATCH=1; shift ;;
	-h | --help) sed -n '2,37p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) lethe_die "unknown argument: $1" ;;
	esac
done
for v in $SIZES $CHANGES $REGS $IDLE; do
	case "$v" in '' | *[!0-9]*) lethe_die "not a number: $v" ;; esac
done
[ "$CHANGES" -ge 4 ] || lethe_die "--changes: at least 4"

[ -n "$BUILD" ] || BUILD=$(bench_find_build "$root")
[ -n "$BUILD" ] && [ -x "$BUILD/src/bench/lethe-bench" ] ||
	lethe_die "no lethe-bench built (give --build DIR)"
BENCH=$BUILD/src/bench/lethe-bench
ADMIN=$BUILD/src/admin/lethe-admin
KDC=$BUILD/src/kdcd/lethe-kdc
lethe_require_tools jq timeout awk
[ "$MIT" = 0 ] || lethe_require_tools krb5kdc kdb5_util kadmin.local kinit
case $STORE in
sqlite) SIDE=lethe ;;
postgresql)
	SIDE=lethe-pg
	# shellcheck source=../tests/interop/lib/pg.sh
	. "$root/tests/interop/lib/pg.sh"
	[ "$(id -u)" -ne 0 ] || lethe_require_tools runuser
	;;
*) lethe_die "--store: sqlite or postgresql" ;;
esac

# ---- measuring helpers ------------------------------------------------------

# CPU time of every thread of process $1 so far, in ns (schedstat's first field).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# "tid ns" for each thread of process $1.
thread_ns() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)"
	done
}

# The thread that spent the most between the thread_ns lists in files $1 and $2.
busiest_thread() {
	awk 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d > best) { best = d; t = $1 } }
		END { print t }' "$1" "$2"
}

# ns spent by thread $1 between the thread_ns lists in files $2 and $3.
thread_delta() {
	awk -v t="$1" 'NR == FNR { if ($1 == t) a = $2; next } $1 == t { printf "%.0f\n", $2 - a }' "$2" "$3"
}

# A line of /proc/$1/status in kB.
status_kb() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

now_s() {
	echo "$EPOCHREALTIME"
}

# Seconds since 1970 of a log line's leading ISO timestamp (ms).
log_ts() {
	date -u -d "$(cut -d' ' -f1 <<<"$1")" +%s.%N
}

# Median and p90 (nearest rank) of the numbers on stdin: "median p90 count".
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - 0"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		i = int(NR * 0.9 + 0.999999); if (i < 1) i = 1
		print m, v[i], NR }'
}

calc() {
	awk "BEGIN { printf \"%.${2:-1}f\n\", $1 }"
}

# The generation of the KDC's newest snapshot line in its log.
kdc_generation() {
	grep 'event=snapshot' "$LETHE_REALM_DIR/kdc.log" | tail -1 |
		sed -n 's/.*generation=\([0-9]*\).*/\1/p'
}

# Wait (bounded) until the KDC serves generation $1 or later.
wait_generation() {
	local want=$1 deadline=$((SECONDS + 120)) g
	while :; do
		g=$(kdc_generation)
		[ -n "$g" ] && [ "$g" -ge "$want" ] && return 0
		[ "$SECONDS" -lt "$deadline" ] || lethe_die "lethe-kdc did not reach generation $want (at ${g:-?})"
		sleep 0.05
	done
}

# usec= of the "store changed" apply lines after line $1 of the KDC log.
apply_usecs() {
	tail -n +"$(($1 + 1))" "$LETHE_REALM_DIR/kdc.log" |
		grep 'event=snapshot reason="store changed' |
		sed -n 's/.*usec=\([0-9]*\).*/\1/p'
}

log_lines() {
	wc -l <"$LETHE_REALM_DIR/kdc.log"
}

# When process $1 started, in seconds since 1970 (the kernel's start time,
# clock ticks since boot, plus the boot time).
proc_start_s() {
	local hz btime ticks
	hz=$(getconf CLK_TCK)
	btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
	ticks=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f20)
	calc "$btime + $ticks / $hz" 3
}

# Start lethe-kdc with the registrar on $REG_PORT; sets START_S (process
# start to "serving realm") and LOAD_S (to the snapshot's "start" line).
kdc_launch() {
	local t0 line
	REG_PORT=$(lethe_free_port)
	lethe_kdc_start "$KDC" "refresh_interval = 60" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
	t0=$(proc_start_s "$LETHE_KDC_PID")
	line=$(grep -m1 'serving realm' "$LETHE_REALM_DIR/kdc.log")
	START_S=$(calc "$(log_ts "$line") - $t0" 3)
	line=$(grep -m1 'reason=start' "$LETHE_REALM_DIR/kdc.log")
	LOAD_S=$(calc "$(log_ts "$line") - $t0" 3)
}

machine() {
	echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- Lethe ------------------------------------------------------------------

# One size: prints "lethe N=... key=value ..." (lethe-pg N=... on PostgreSQL) on stdout.
lethe_size() {
	local n=$1 svc users pop i j ns0 ns1 t0 t1 idle_rate idle_s ref_idle g0 l0 cpu ref a b
	local start load rss hwm out
	svc=$((n / 10 > 0 ? n / 10 : 1))
	users=$((n - svc))
	local store mkey
	if [ "$STORE" = postgresql ]; then
		store=$(lethe_pg_createdb "lethe_$n")
		mkey=$S/lethe-$n.mkey
		lethe_realm_attach "$S/lethe-$n" "$REALM" "$ADMIN" "$store" "$mkey"
	else
		LETHE_REALM_DIR=$S/lethe-$n
		LETHE_REALM=$REALM
		LETHE_ADMIN=$ADMIN
		mkdir -p "$LETHE_REALM_DIR"
		store=$LETHE_REALM_DIR/realm.db
		mkey=$store.mkey
	fi
	lethe_realm_admin init --realm "$REALM" --enctypes "$ENCTYPES"
	pop=$("$BENCH" --mode populate --store "$store" --master-key-file "$mkey" \
		--count "$n" --services "$svc" --json)
	echo "$SIDE N=$n: populated in $(jq -r .seconds <<<"$pop") s ($(jq -r .transactions <<<"$pop") transactions)" >&2
	lethe_realm_admin issue-cert --principal "bench/$HOST@$REALM" --dns "$HOST" \
		--key-out "$LETHE_REALM_DIR/server.key" --cert-out "$LETHE_REALM_DIR/server.pem"
	lethe_realm_admin allow --san "DNS:$HOST" "bench/*@$REALM"
	lethe_realm_admin export-ca -o "$LETHE_REALM_DIR/ca.pem"
	lethe_realm_admin export-kdc-cert -o "$LETHE_REALM_DIR/kdc.pem"
	sync

	kdc_launch
	start=$START_S
	load=$LOAD_S
	rss=$(status_kb "$LETHE_KDC_PID" VmRSS)
	hwm=$(status_kb "$LETHE_KDC_PID" VmHWM)
	echo "$SIDE N=$n: start-up $start s (snapshot loaded at $load s), VmRSS $rss kB, VmHWM $hwm kB" >&2

	# Idle baseline (the refresher runs the store's maintenance every 30 s).
	thread_ns "$LETHE_KDC_PID" >"$S/idle0"
	t0=$(now_s); ns0=$(cpu_ns "$LETHE_KDC_PID")
	sleep "$IDLE"
	ns1=$(cpu_ns "$LETHE_KDC_PID"); t1=$(now_s)
	thread_ns "$LETHE_KDC_PID" >"$S/idle1"
	idle_rate=$(calc "($ns1 - $ns0) / ($t1 - $t0)" 0)
	idle_s=$(calc "$t1 - $t0" 3)

	# Admin changes: passwd --random on a service, disable then enable a user.
	g0=$(kdc_generation)
	l0=$(log_lines)
	thread_ns "$LETHE_KDC_PID" >"$S/threads0"
	t0=$(now_s); ns0=$(cpu_ns "$LETHE_KDC_PID")
	for ((i = 0; i < CHANGES; i++)); do
		j=$((i / 4))
		case $((i % 4)) in
		0 | 2) lethe_realm_admin passwd --random "host/u$(((i / 2) % svc)).bench.lethe.test@$REALM" ;;
		1) lethe_realm_admin disable "u$((j % users))@$REALM" ;;
		3) lethe_realm_admin enable "u$((j % users))@$REALM" ;;
		esac
	done
	wait_generation $((g0 + CHANGES))
	ns1=$(cpu_ns "$LETHE_KDC_PID"); t1=$(now_s)
	thread_ns "$LETHE_KDC_PID" >"$S/threads1"
	REFRESHER=$(busiest_thread "$S/threads0" "$S/threads1")
	ref_idle=$(calc "$(thread_delta "$REFRESHER" "$S/idle0" "$S/idle1") / $idle_s" 0)
	cpu=$(calc "(($ns1 - $ns0) - $idle_rate * ($t1 - $t0)) / $CHANGES / 1000" 0)
	ref=$(calc "($(thread_delta "$REFRESHER" "$S/threads0" "$S/threads1") - $ref_idle * ($t1 - $t0)) / $CHANGES / 1000" 0)
	read -r a b j <<<"$(apply_usecs "$l0" | stats)"
	echo "$SIDE N=$n: $CHANGES admin changes in $j applies: apply usec median $a p90 $b, KDC CPU $cpu µs/change (idle-corrected), refresher thread $ref µs/change (idle-corrected)" >&2
	out="$SIDE N=$n start_s=$start load_s=$load rss_kb=$rss hwm_kb=$hwm idle_cpu_us_per_s=$(calc "$idle_rate / 1000" 0) idle_refresher_us_per_s=$(calc "$ref_idle / 1000" 0)"
	out="$out admin_applies=$j admin_apply_usec_median=$a admin_apply_usec_p90=$b admin_kdc_cpu_us=$cpu admin_refresher_cpu_us=$ref"

	# Registrations through the registrar.
	g0=$(kdc_generation)
	l0=$(log_lines)
	thread_ns "$LETHE_KDC_PID" >"$S/threads0"
	t0=$(now_s); ns0=$(cpu_ns "$LETHE_KDC_PID")
	timeout 600 "$BENCH" --mode register --registrar "127.0.0.1:$REG_PORT" \
		--realm "$REALM" --cert "$LETHE_REALM_DIR/server.pem" --key "$LETHE_REALM_DIR/server.key" \
		--kdc-cert "$LETHE_REALM_DIR/kdc.pem" --kdc-ca "$LETHE_REALM_DIR/ca.pem" \
		--requests "$REGS" --principals 16 --json >"$S/reg.json" ||
		lethe_die "lethe-bench --mode register failed: $(cat "$S/reg.json")"
	wait_generation $((g0 + REGS))
	ns1=$(cpu_ns "$LETHE_KDC_PID"); t1=$(now_s)
	thread_ns "$LETHE_KDC_PID" >"$S/threads1"
	pop=$(jq -c 'select(.mode == "register")' "$S/reg.json")
	[ "$(jq -r .failed <<<"$pop")" = 0 ] || lethe_die "registrations refused: $pop"
	cpu=$(calc "(($ns1 - $ns0) - $idle_rate * ($t1 - $t0)) / $REGS / 1000" 0)
	ref=$(calc "($(thread_delta "$REFRESHER" "$S/threads0" "$S/threads1") - $ref_idle * ($t1 - $t0)) / $REGS / 1000" 0)
	read -r a b j <<<"$(apply_usecs "$l0" | stats)"
	echo "$SIDE N=$n: $REGS registrations, $(jq -r '.per_s' <<<"$pop") /s, in $j applies: apply usec median $a p90 $b, KDC CPU $cpu µs/registration, refresher thread $ref µs/registration (idle-corrected)" >&2
	out="$out reg_per_s=$(jq -r '.per_s' <<<"$pop") reg_applies=$j reg_apply_usec_median=$a reg_apply_usec_p90=$b reg_kdc_cpu_us=$cpu reg_refresher_cpu_us=$ref"
	grep -q 'level=warn\|WARN' "$LETHE_REALM_DIR/kdc.log" &&
		echo "$SIDE N=$n: warnings in the KDC log: $(grep -c 'WARN\|level=warn' "$LETHE_REALM_DIR/kdc.log")" >&2
	lethe_kdc_stop
	echo "$out"
	rm -rf "$LETHE_REALM_DIR"
	[ "$STORE" != postgresql ] || lethe_pg_sql postgres "DROP DATABASE lethe_$n" >/dev/null
}

# ---- MIT --------------------------------------------------------------------

# One size: prints "mit N=... key=value ..." on stdout.
mit_size() {
	local n=$1 svc t0 t1 load rss i j u q times a b c
	svc=$((n / 10 > 0 ? n / 10 : 1))
	mit_realm_create "$S/mit-$n" "$REALM"
	mit_realm_kadmin "addprinc -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal -randkey tmpl" >/dev/null
	kdb5_util dump "$MIT_REALM_DIR/dump0"
	# princ lines: field 3 is the name's length, field 7 the name.
	awk -F'\t' -v OFS='\t' -v n="$n" -v svc="$svc" -v realm="$REALM" '
		BEGIN { tmpl = "tmpl@" realm }
		$1 == "princ" && $7 == tmpl {
			for (k = 0; k < n; k++) {
				name = k < n - svc ? "u" k "@" realm : "host/u" (k - n + svc) ".bench.lethe.test@" realm
				$7 = name; $3 = length(name); print
			}
			next
		}
		{ print }' "$MIT_REALM_DIR/dump0" >"$MIT_REALM_DIR/dump1"
	sync
	t0=$(now_s)
	kdb5_util load "$MIT_REALM_DIR/dump1"
	t1=$(now_s)
	load=$(calc "$t1 - $t0" 3)
	u="u$((n - svc - 1))@$REALM"
	mit_realm_check_keys "$u" "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
	mit_realm_ktadd "$u" "$MIT_REALM_DIR/u.keytab"
	mit_kdc_start
	rss=$(status_kb "$MIT_KDC_PID" VmRSS)
	export KRB5CCNAME=FILE:$MIT_REALM_DIR/ccache
	timeout 30 kinit -k -t "$MIT_REALM_DIR/u.keytab" "$u" ||
		lethe_die "kinit -k of the loaded copy $u failed"
	echo "mit N=$n: kdb5_util load $load s, krb5kdc VmRSS $rss kB, kinit -k $u works" >&2

	: >"$S/mit_times"
	for ((i = 0; i < CHANGES; i++)); do
		j=$((i / 4))
		case $((i % 4)) in
		0 | 2) q="cpw -randkey host/u$(((i / 2) % svc)).bench.lethe.test@$REALM" ;;
		1) q="modprinc -allow_tix u$((j % (n - svc)))@$REALM" ;;
		3) q="modprinc +allow_tix u$((j % (n - svc)))@$REALM" ;;
		esac
		t0=$(now_s)
		mit_realm_kadmin "$q" >/dev/null
		t1=$(now_s)
		calc "($t1 - $t0) * 1000" 2 >>"$S/mit_times"
	done
	read -r a b c <<<"$(stats <"$S/mit_times")"
	# The change is seen by the very next request: disabled, then allowed.
	mit_realm_kadmin "modprinc -allow_tix $u" >/dev/null
	! timeout 30 kinit -k -t "$MIT_REALM_DIR/u.keytab" "$u" 2>/dev/null ||
		lethe_die "krb5kdc still issued a TGT to $u after -allow_tix"
	mit_realm_kadmin "modprinc +allow_tix $u" >/dev/null
	timeout 30 kinit -k -t "$MIT_REALM_DIR/u.keytab" "$u" ||
		lethe_die "kinit -k of $u failed after +allow_tix"
	echo "mit N=$n: $c kadmin.local changes: median $a ms, p90 $b ms each; served by the next request" >&2
	mit_kdc_stop
	echo "mit N=$n load_s=$load rss_kb=$rss kadmin_ms_median=$a kadmin_ms_p90=$b"
	rm -rf "$MIT_REALM_DIR"
}

# ---- the run ------------------------------------------------------------------

lethe_scratch_dir
S=$LETHE_SCRATCH
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(machine)" >&2
echo "# sizes $SIZES, $CHANGES changes, $REGS registrations, store $STORE, build $BUILD" >&2
[ "$STORE" != postgresql ] || lethe_pg_start
for n in $SIZES; do
	lethe_size "$n"
	[ "$MIT" = 0 ] || mit_size "$n"
done
echo "# done $(date -u +%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
