# ktutil.sh: drive MIT ktutil one line at a time (sourced, bash only).
#
#	printf 'addent -password -p u@R -k 1 -e aes256-cts-hmac-sha1-96\npw\nwkt f\n' |
#		ktutil_run "$dir/ktutil.log"
#
# ktutil's prompts flush their input, so typed-ahead lines would be lost:
# each line is sent only once ktutil prompts for it. Its key prompt is stuck
# in a stdio buffer unless run under stdbuf -o0.

if [ -n "${LETHE_INTEROP_KTUTIL_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_KTUTIL_SH=1
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KTUTIL_STEP_TIMEOUT=${KTUTIL_STEP_TIMEOUT:-30}     # seconds for one ktutil run
KTUTIL_PROMPT_TIMEOUT=${KTUTIL_PROMPT_TIMEOUT:-20} # seconds to wait for a prompt
KTUTIL_CHILD=
lethe_at_exit 'if [ -n "$KTUTIL_CHILD" ]; then kill "$KTUTIL_CHILD" 2>/dev/null || true; fi'

# Read ktutil's output from fd $1 until its next prompt: "ktutil:  ", a key
# prompt "... (hex): " or a password prompt "Password for ...: "; log to $2.
ktutil_wait_prompt() {
	local out_fd=$1 log=$2 buf='' c
	while IFS= read -r -d '' -n 1 -t "$KTUTIL_PROMPT_TIMEOUT" c <&"$out_fd"; do
		buf+=${c:-$'\n'}
		case $buf in
		*'ktutil:  ' | *'(hex): ' | *'Password for '*': ')
			printf '%s' "$buf" >>"$log"
			return 0
			;;
		esac
	done
	printf '%s' "$buf" >>"$log"
	lethe_die "no ktutil prompt; its output: $(cat "$log")"
}

# Feed ktutil the lines of stdin, each once it prompts; its output goes to log
# $1. Fails on a non-zero exit or an error message from ktutil.
ktutil_run() {
	local log=$1 line in_fd out_fd
	lethe_require_tools ktutil stdbuf timeout
	coproc KTUTIL { exec timeout "$KTUTIL_STEP_TIMEOUT" stdbuf -o0 ktutil 2>&1; }
	KTUTIL_CHILD=$KTUTIL_PID     # bash unsets KTUTIL_PID when it exits
	exec {in_fd}>&"${KTUTIL[1]}" {out_fd}<&"${KTUTIL[0]}"
	ktutil_wait_prompt "$out_fd" "$log"
	while IFS= read -r line; do
		printf '%s\n' "$line" >&"$in_fd"
		ktutil_wait_prompt "$out_fd" "$log"
	done
	printf 'quit\n' >&"$in_fd"
	exec {in_fd}>&-
	cat <&"$out_fd" >>"$log"
	exec {out_fd}<&-
	wait "$KTUTIL_CHILD" || lethe_die "ktutil failed; output: $(cat "$log")"
	KTUTIL_CHILD=
	if grep -qiE 'error|invalid|unknown|while ' "$log"; then
		lethe_die "ktutil reported an error: $(cat "$log")"
	fi
}
