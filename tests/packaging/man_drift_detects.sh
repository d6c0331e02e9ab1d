#!/usr/bin/env bash
# man_drift_detects.sh MAN_DRIFT ARGS...: man_drift.py catches each kind of
# drift. Each case copies the pages, removes one thing from a copy, and
# expects man_drift.py (run with ARGS, --man pointing at the copy) to fail
# naming exactly that thing.
set -euo pipefail
checker=$1
shift
src_man=
args=()
while [ $# -gt 0 ]; do
	if [ "$1" = --man ]; then src_man=$2; shift 2; else args+=("$1"); shift; fi
done
[ -n "$src_man" ] || { echo "usage: man_drift_detects.sh MAN_DRIFT --man DIR ARGS..." >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf -- "$scratch"' EXIT

# case PAGE SED-SCRIPT EXPECTED: the edit makes the checker report EXPECTED.
case_() {
	local page=$1 edit=$2 expected=$3 out rc=0
	rm -rf "$scratch/man"
	cp -r "$src_man" "$scratch/man"
	sed -i -e "$edit" "$scratch/man/$page"
	cmp -s "$src_man/$page" "$scratch/man/$page" && { echo "edit '$edit' changed nothing in $page"; exit 1; }
	out=$(python3 "$checker" --man "$scratch/man" "${args[@]}" 2>&1) || rc=$?
	if [ $rc -ne 1 ] || ! grep -qF -- "$expected" <<<"$out"; then
		echo "not caught: $page after '$edit' (exit $rc), expected '$expected':"
		echo "$out"
		exit 1
	fi
	echo "caught: $expected"
}

# The unchanged pages pass.
python3 "$checker" --man "$src_man" "${args[@]}"
case_ lethe-admin.8 '/^\.It Cm maintain/d' 'command maintain has no'
case_ kdc.conf.5 '/^\.It Cm lockout_window /d' '[kdc] lockout_window has no'
# A key documented under the wrong section counts as missing.
case_ kdc.conf.5 's/^\.Ss \[registrar\]$/.Ss [registrar-moved]/' '[registrar] timeout has no'
case_ agent.conf.5 '/^\.It Cm callback_endpoint /d' 'agent.conf.5: callback_endpoint has no'
case_ lethe-kmp.8 '/^\.It Fl -no-ack$/d; s/^\.Op Fl -no-ack$//' 'option --no-ack'
case_ lethe-kmp.8 's/^\.It Cm doi , reestablish , suites , xfrm_out , verbosity$/.It Cm doi , reestablish , suites , verbosity/' '[client] xfrm_out has no'
case_ lethe-kdc.8 '/^\.It Fl n$/d' 'option -n'
echo "man_drift_detects: every edit was caught"
