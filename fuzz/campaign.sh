#!/usr/bin/env bash
# campaign.sh BUILD_DIR SECONDS OUT_DIR TARGET...
# A long fuzz campaign: each TARGET (a binary in BUILD_DIR/fuzz) runs for
# SECONDS under nice -n 19, at most two at a time, starting from a scratch
# copy of its committed corpus (fuzz/corpus/TARGET). Per target, OUT_DIR
# keeps the log, crash artifacts and the grown corpus (OUT_DIR/TARGET/corpus);
# OUT_DIR/summary.tsv gets: target, execs, seconds, crashes, corpus files.
# Merging new inputs back into fuzz/corpus is a separate, deliberate step
# (see fuzz/README.md). FORK=0 runs a target in one process (no restart per
# job: better for targets whose inputs are slow, e.g. fuzz_kmp_roles), which
# stops at the first crash.
set -euo pipefail
build=$1 seconds=$2 out=$3
shift 3
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
summary=$out/summary.tsv
[ -f "$summary" ] || printf 'target\texecs\tseconds\tcrashes\tcorpus_files\n' >"$summary"

run_one() {
	local t=$1 w=$out/$1
	rm -rf "$w" && mkdir -p "$w/corpus" "$w/artifacts"
	if [ -d "$src/corpus/$t" ]; then cp "$src/corpus/$t"/* "$w/corpus/" 2>/dev/null || true; fi
	local start=$SECONDS
	# -fork=1 keeps going after a crash, so one finding does not end the run.
	local fork=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
	[ "${FORK:-1}" = 1 ] || fork=()
	nice -n 19 "$build/fuzz/$t" "${fork[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$w/artifacts/" -print_final_stats=1 \
		"$w/corpus" >"$w/log" 2>&1 || true
	local execs crashes files
	# One process prints its total; fork mode only its last "#N" status line.
	execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$w/log" | tail -1)
	[ -n "$execs" ] || execs=$(grep -o '^#[0-9][0-9]*' "$w/log" | tail -1 | tr -d '#')
	crashes=$(find "$w/artifacts" -type f | wc -l)
	files=$(find "$w/corpus" -type f | wc -l)
	printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "$((SECONDS - start))" \
		"$crashes" "$files" >>"$summary"
}

for t in "$@"; do
	while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
	run_one "$t" &
done
wait
cat "$summary"
