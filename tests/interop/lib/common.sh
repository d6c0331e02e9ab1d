# common.sh: helpers shared by Lethe's interop scripts (sourced, bash only).
#
# Every script that sources this runs with `set -euo pipefail`, works in a
# scratch directory made by lethe_scratch_dir, and registers what it starts
# with lethe_at_exit so the EXIT trap undoes it, last registered first.

if [ -n "${LETHE_INTEROP_COMMON_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_COMMON_SH=1

# Print a failure line to stderr and exit 1.
lethe_die() {
	echo "FAIL: $*" >&2
	LETHE_DIED=1
	exit 1
}

# Say where `set -e` stopped a script: without it a failing command inside a
# function or a command substitution ends the test with no word of why.
# The ERR trap only notes the place (a failure the caller handles also
# fires it); the EXIT trap prints it when the script ends in failure without
# lethe_die having said why.
LETHE_LAST_ERR=
LETHE_DIED=
lethe_on_err() {
	LETHE_LAST_ERR="exit $1 at ${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]} in ${FUNCNAME[1]:-main}: $2"
}
trap 'lethe_on_err $? "$BASH_COMMAND"' ERR
set -o errtrace

# Print a progress line to stderr.
lethe_log() {
	echo "== $*" >&2
}

# Fail (never skip) unless every named program is on PATH (or /usr/sbin).
lethe_require_tools() {
	local tool missing=()
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	if [ ${#missing[@]} -ne 0 ]; then
		lethe_die "required tools missing: ${missing[*]} (install them: scripts/deps.sh)"
	fi
}

# MIT's daemons and admin tools live in /usr/sbin, which a non-root PATH may lack.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH="$PATH:/usr/sbin" ;;
esac

LETHE_EXIT_HOOKS=()

# Register a command (one string, run with eval) for the EXIT trap.
lethe_at_exit() {
	LETHE_EXIT_HOOKS+=("$1")
}

lethe_run_exit_hooks() {
	local rc=$? i
	set +e
	if [ "$rc" -ne 0 ] && [ -z "$LETHE_DIED" ] && [ -n "$LETHE_LAST_ERR" ]; then
		echo "FAIL: set -e stopped the script: $LETHE_LAST_ERR" >&2
	fi
	for ((i = ${#LETHE_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${LETHE_EXIT_HOOKS[$i]}"
	done
	LETHE_EXIT_HOOKS=()
	return $rc
}
trap lethe_run_exit_hooks EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Make a scratch directory under mktemp -d (removed at exit) in $LETHE_SCRATCH.
# Set LETHE_KEEP_SCRATCH=1 to keep it for debugging. Call it directly (not in
# $(...)) so the hook lands in this shell: lethe_scratch_dir; dir=$LETHE_SCRATCH
lethe_scratch_dir() {
	LETHE_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/lethe-interop.XXXXXX")
	if [ "${LETHE_KEEP_SCRATCH:-0}" = 1 ]; then
		lethe_at_exit "echo 'kept scratch dir: $LETHE_SCRATCH' >&2"
	else
		lethe_at_exit "rm -rf -- '$LETHE_SCRATCH'"
	fi
}

# Poll `cmd...` every 0.1 s until it succeeds; fail after `secs` seconds.
# Usage: lethe_wait_until SECS DESCRIPTION cmd [args...]
lethe_wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "timed out after ${secs}s waiting for: $what" >&2
			return 1
		fi
		sleep 0.1
	done
}

# True when some socket (TCP or UDP, v4 or v6) is bound to local port $1.
lethe_port_in_use() {
	local hex f
	hex=$(printf '%04X' "$1")
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		[ -r "$f" ] || continue
		if awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 }
			END { exit !found }' "$f"; then
			return 0
		fi
	done
	return 1
}

# Print a random high port free for both TCP and UDP at the time of the call.
# Callers must still cope with losing a race for it (retry on bind failure).
lethe_free_port() {
	local port tries
	for ((tries = 0; tries < 200; tries++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! lethe_port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	lethe_die "no free port found"
}

# Write the bytes spelled by the hex string $1 (no separators) to file $2.
lethe_hex_to_file() {
	local hex=$1 out=$2
	case "$hex" in
	*[!0-9a-fA-F]*) lethe_die "not a hex string: ${hex:0:40}..." ;;
	esac
	[ $((${#hex} % 2)) -eq 0 ] || lethe_die "odd-length hex string"
	# printf %b turns each \xHH into one byte, NUL included.
	printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')" >"$out"
}

# Print the contents of file $1 as one lowercase hex string.
lethe_file_to_hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}
