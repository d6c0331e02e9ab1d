#!/usr/bin/env bash
# man_lint.sh PAGE...: mandoc -Tlint -Wwarning on each manual page; fails on
# any message (warning or worse) or when mandoc is missing.
set -euo pipefail
command -v mandoc >/dev/null || { echo "man_lint: mandoc not installed (scripts/deps.sh)" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: man_lint.sh PAGE..." >&2; exit 2; }
status=0
for page in "$@"; do
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || status=1
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		status=1
	fi
done
[ $status -eq 0 ] && echo "man_lint: $# pages, no warning"
exit $status
