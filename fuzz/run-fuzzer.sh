#!/usr/bin/env bash
# run-fuzzer.sh BINARY CORPUS_DIR WORK_DIR SECONDS
# Replays the committed corpus (regressions included), then fuzzes for a
# bounded time into a scratch copy. Any crash, leak or timeout fails.
set -euo pipefail
bin=$1 corpus=$2 work=$3 seconds=$4
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
	cp "$corpus"/* "$work/corpus/"
fi
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	"$work/corpus"
