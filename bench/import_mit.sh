#!/usr/bin/env bash
# import_mit.sh: how long `lethe-admin import-mit` takes for a realm of N
# MIT principals (default 100000).
#
# The dump is made from real lines: kdb5_util create -s, kadmin.local adds
# a user (password, +requires_preauth) and a service (-randkey), both with
# aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96 keys, kdb5_util dump;
# then the user's line is copied under the names uK@R and the service's
# under host/uK.bench.lethe.test@R (a tenth of N), field 3 the name's
# length, field 7 the name (MIT's key data are sealed under the master key
# without the name, so every copy decrypts). The K/M and krbtgt lines stay.
# Each run: a fresh store (lethe-admin init, not timed), then import-mit
# timed with /usr/bin/time (wall, user + system CPU, peak RSS). One line per
# run and the medians on stdout, progress on stderr.
#
# Usage: bench/import_mit.sh [--build DIR] [--count N] [--runs R] [--keep]
# --build defaults to the first of build/*/ (outside any *asan* folder)
# holding src/bench/lethe-bench; lethe-admin must be built there. Needs
# kdb5_util and kadmin.local (krb5-kdc, krb5-admin-server) and /usr/bin/time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=../tests/interop/lib/mit_realm.sh
. "$root/tests/interop/lib/mit_realm.sh"

BUILD=
COUNT=100000
RUNS=3
KEEP=0
REALM=BENCH.LETHE.TEST
ENCTYPES=aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--count) COUNT=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: bench/import_mit.sh [--build DIR] [--count N] [--runs R] [--keep]" >&2; exit 2 ;;
	esac
done
[ -n "$BUILD" ] || BUILD=$(bench_find_build "$root")
ADMIN=$BUILD/src/admin/lethe-admin
[ -x "$ADMIN" ] || lethe_die "no lethe-admin in '$BUILD' (build first, or --build DIR)"
[ -x /usr/bin/time ] || lethe_die "/usr/bin/time is missing (Debian package time)"
lethe_require_tools kdb5_util kadmin.local awk

if [ "$KEEP" = 1 ]; then
	S=$(mktemp -d /tmp/lethe-import-bench.XXXXXX)
	echo "keeping $S" >&2
else
	lethe_scratch_dir
	S=$LETHE_SCRATCH
fi

echo "an MIT realm with a user and a service" >&2
mit_realm_create "$S/mit" "$REALM"
mit_realm_kadmin "addprinc +requires_preauth -e $ENCTYPES -pw \"user pw\" tmpluser" >/dev/null
mit_realm_kadmin "addprinc -e $ENCTYPES -randkey host/tmpl.bench.lethe.test" >/dev/null
kdb5_util dump "$S/dump0"

svc=$((COUNT / 10))
echo "a dump of $COUNT principals ($svc services) from those lines" >&2
awk -F'\t' -v OFS='\t' -v n="$COUNT" -v svc="$svc" -v realm="$REALM" '
	$1 == "princ" && $7 == "tmpluser@" realm {
		for (k = 0; k < n - svc; k++) {
			$7 = "u" k "@" realm; $3 = length($7); print
		}
		next
	}
	$1 == "princ" && $7 == "host/tmpl.bench.lethe.test@" realm {
		for (k = 0; k < svc; k++) {
			$7 = "host/u" k ".bench.lethe.test@" realm; $3 = length($7); print
		}
		next
	}
	{ print }' "$S/dump0" >"$S/dump"
lines=$(grep -c '^princ' "$S/dump")
echo "dump: $lines principal records, $(stat -c %s "$S/dump") bytes" >&2

walls=()
cpus=()
for run in $(seq 1 "$RUNS"); do
	rm -f "$S/realm.db" "$S/realm.db-wal" "$S/realm.db-shm" "$S/realm.db.mkey"
	"$ADMIN" -d "$S/realm.db" init --realm "$REALM" >/dev/null
	sync
	/usr/bin/time -f '%e %U %S %M' -o "$S/time" \
		"$ADMIN" -d "$S/realm.db" import-mit "$S/dump" --stash "$MIT_REALM_DIR/stash" \
		>"$S/import.out" 2>"$S/import.err" ||
		lethe_die "import-mit failed: $(tail -5 "$S/import.err")"
	# MIT adds kadmin/admin and kadmin/changepw (services) and K/M (skipped).
	grep -q "^imported $((COUNT + 3)) principals ($((COUNT - svc)) users, $((svc + 2)) services, 1 krbtgt)" \
		"$S/import.out" || lethe_die "unexpected import output: $(tail -5 "$S/import.out")"
	read -r wall user sys rss <"$S/time"
	cpu=$(awk "BEGIN { printf \"%.2f\", $user + $sys }")
	walls+=("$wall")
	cpus+=("$cpu")
	echo "run $run: n=$COUNT wall_s=$wall cpu_s=$cpu max_rss_kb=$rss store_bytes=$(stat -c %s "$S/realm.db")"
done
wall_med=$(printf '%s\n' "${walls[@]}" | bench_median)
cpu_med=$(printf '%s\n' "${cpus[@]}" | bench_median)
echo "median: n=$COUNT runs=$RUNS wall_s=$wall_med cpu_s=$cpu_med principals_per_s=$(awk "BEGIN { printf \"%.0f\", $COUNT / $wall_med }")"
