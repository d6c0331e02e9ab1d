# kdc_lib.sh: a scratch Lethe realm (made by lethe-admin) served by lethe-kdc
# on a free loopback port, for interop scripts (sourced, bash only).
#
#	lethe_scratch_dir
#	lethe_realm_create "$LETHE_SCRATCH/realm" LETHE.TEST "$ADMIN"
#	lethe_realm_admin add-service host/server.lethe.test
#	lethe_kdc_start "$KDC"            # sets LETHE_KDC_PORT; stopped at exit
#	...
#	lethe_kdc_stop                    # SIGTERM, bounded wait, exit status checked
#
# Several realms and KDCs side by side: lethe_realm_use NAME before each one's
# lethe_realm_create / lethe_kdc_start, and again to switch between them; the
# functions above act on the realm in use. Every KDC started is stopped at exit.
#
#	lethe_realm_use one; lethe_realm_create "$S/one" LETHE.TEST "$ADMIN"; ...
#	lethe_realm_use two; lethe_realm_create "$S/two" LETHE.TEST "$ADMIN"; ...
#	lethe_realm_use one; lethe_realm_admin audit --json

if [ -n "${LETHE_INTEROP_KDC_LIB_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_KDC_LIB_SH=1
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

LETHE_KDC_START_TIMEOUT=${LETHE_KDC_START_TIMEOUT:-20}   # seconds
LETHE_KDC_STOP_TIMEOUT=${LETHE_KDC_STOP_TIMEOUT:-10}     # seconds
LETHE_ADMIN_TIMEOUT=${LETHE_ADMIN_TIMEOUT:-60}           # seconds per lethe-admin run
LETHE_KDC_PID=

# Create realm REALM in DIR with lethe-admin ADMIN (store DIR/realm.db).
lethe_realm_create() {
	local dir=$1 realm=$2 admin=$3
	[ -x "$admin" ] || lethe_die "lethe-admin not found at $admin"
	mkdir -p "$dir"
	LETHE_REALM_DIR=$(cd "$dir" && pwd)
	LETHE_REALM=$realm
	LETHE_ADMIN=$admin
	LETHE_REALM_STORE=
	LETHE_REALM_MKEY=
	lethe_realm_admin init --realm "$realm"
}

# Use the shared store STORE (a PostgreSQL URI) with master key file MKEY
# for realm REALM, KDC files in DIR; no init (run lethe_realm_admin init
# once for the first KDC of the realm).
lethe_realm_attach() {
	local dir=$1 realm=$2 admin=$3
	[ -x "$admin" ] || lethe_die "lethe-admin not found at $admin"
	mkdir -p "$dir"
	LETHE_REALM_DIR=$(cd "$dir" && pwd)
	LETHE_REALM=$realm
	LETHE_ADMIN=$admin
	LETHE_REALM_STORE=$4
	LETHE_REALM_MKEY=$5
}

# lethe-admin's global options for the realm's store.
lethe_realm_store_args() {
	if [ -n "${LETHE_REALM_STORE:-}" ]; then
		printf '%s\n' -d "$LETHE_REALM_STORE" --master-key-file "$LETHE_REALM_MKEY"
	else
		printf '%s\n' -d "$LETHE_REALM_DIR/realm.db"
	fi
}

# Run lethe-admin on the realm's store; fail with its output on error.
# Standard input passes through (for --password-stdin).
lethe_realm_admin() {
	local out rc=0 args
	mapfile -t args < <(lethe_realm_store_args)
	out=$(timeout "$LETHE_ADMIN_TIMEOUT" "$LETHE_ADMIN" "${args[@]}" "$@" 2>&1) ||
		rc=$?
	[ "$rc" -eq 0 ] || lethe_die "lethe-admin $* exited $rc: $out"
}

# Add user NAME with PASSWORD (extra add-user options may follow).
lethe_realm_add_user() {
	local name=$1 password=$2
	shift 2
	printf '%s\n' "$password" | lethe_realm_admin add-user "$name" --password-stdin "$@"
}

# Write DIR/kdc.conf for port $LETHE_KDC_PORT; extra "[kdc]" lines may follow.
lethe_kdc_write_conf() {
	local line
	{
		echo "[store]"
		if [ -n "${LETHE_REALM_STORE:-}" ]; then
			echo "path = $LETHE_REALM_STORE"
			echo "master_key_file = $LETHE_REALM_MKEY"
		else
			echo "path = realm.db"
		fi
		echo "[kdc]"
		echo "realm = $LETHE_REALM"
		echo "listen = 127.0.0.1:$LETHE_KDC_PORT"
		echo "workers = 2"
		echo "pid_file = kdc.pid"
		for line in "$@"; do
			echo "$line"
		done
		# The registrar stays off unless the caller configures it (a fixed
		# default port would clash between tests running side by side).
		case " $* " in
		*"[registrar]"*) ;;
		*) echo "[registrar]"; echo "listen =" ;;
		esac
		echo "[logging]"
		echo "destination = stderr"
		echo "level = info"
	} >"$LETHE_REALM_DIR/kdc.conf"
}

lethe_kdc_alive() {
	[ -n "$LETHE_KDC_PID" ] && kill -0 "$LETHE_KDC_PID" 2>/dev/null
}

# 0 once the KDC logged that it serves and its TCP port accepts; 2 if it died.
lethe_kdc_ready() {
	lethe_kdc_alive || return 2
	grep -q 'serving realm' "$LETHE_REALM_DIR/kdc.log" 2>/dev/null || return 1
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$LETHE_KDC_PORT" 2>/dev/null
}

# Start lethe-kdc KDC in the foreground (in the background of this shell) on a
# free port, with extra [kdc] lines for kdc.conf. Retries on a lost port race.
lethe_kdc_start() {
	local kdc=$1 attempt rc deadline
	shift
	[ -x "$kdc" ] || lethe_die "lethe-kdc not found at $kdc"
	[ -z "$LETHE_KDC_PID" ] || lethe_die "lethe_kdc_start: lethe-kdc already running"
	for attempt in 1 2 3 4 5; do
		LETHE_KDC_PORT=$(lethe_free_port)
		lethe_kdc_write_conf "$@"
		: >"$LETHE_REALM_DIR/kdc.log"
		"$kdc" -f -c "$LETHE_REALM_DIR/kdc.conf" 2>>"$LETHE_REALM_DIR/kdc.log" &
		LETHE_KDC_PID=$!
		if [ -z "${LETHE_KDC_HOOKED:-}" ]; then
			LETHE_KDC_HOOKED=1
			lethe_at_exit lethe_kdc_kill
		fi
		deadline=$((SECONDS + LETHE_KDC_START_TIMEOUT))
		while :; do
			rc=0
			lethe_kdc_ready || rc=$?
			[ $rc -eq 0 ] && {
				lethe_log "lethe-kdc pid $LETHE_KDC_PID serves $LETHE_REALM on 127.0.0.1:$LETHE_KDC_PORT"
				return 0
			}
			[ $rc -eq 2 ] && break
			[ "$SECONDS" -lt "$deadline" ] ||
				lethe_die "lethe-kdc did not answer within ${LETHE_KDC_START_TIMEOUT}s: $(cat "$LETHE_REALM_DIR/kdc.log")"
			sleep 0.1
		done
		wait "$LETHE_KDC_PID" 2>/dev/null || true
		LETHE_KDC_PID=
		echo "lethe-kdc exited at start (attempt $attempt):" >&2
		cat "$LETHE_REALM_DIR/kdc.log" >&2
	done
	lethe_die "lethe-kdc would not start"
}

# Stop lethe-kdc with SIGTERM; fail unless it exits 0 within the timeout.
lethe_kdc_stop() {
	local pid=$LETHE_KDC_PID rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! lethe_wait_until "$LETHE_KDC_STOP_TIMEOUT" "lethe-kdc pid $pid to exit" \
		eval "! kill -0 $pid 2>/dev/null"; then
		lethe_kdc_kill
		lethe_die "lethe-kdc ignored SIGTERM"
	fi
	wait "$pid" || rc=$?
	LETHE_KDC_PID=
	[ "$rc" -eq 0 ] || lethe_die "lethe-kdc exited $rc after SIGTERM: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
}

# At exit: TERM, then KILL; never fails.
lethe_kdc_kill() {
	local pid=$LETHE_KDC_PID
	[ -n "$pid" ] || return 0
	LETHE_KDC_PID=
	kill -TERM "$pid" 2>/dev/null || true
	if ! lethe_wait_until "$LETHE_KDC_STOP_TIMEOUT" "lethe-kdc pid $pid to exit" \
		eval "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# Succeed once the KDC log has a line matching the extended regex $1.
lethe_kdc_log_has() {
	grep -Eq -- "$1" "$LETHE_REALM_DIR/kdc.log"
}

# Number of KDC log lines matching the extended regex $1.
lethe_kdc_log_count() {
	grep -Ec -- "$1" "$LETHE_REALM_DIR/kdc.log" || true
}

# ---- several realms -----------------------------------------------------------

# The variables that make up one realm and its KDC.
LETHE_REALM_VARS=(LETHE_REALM_DIR LETHE_REALM LETHE_ADMIN LETHE_KDC_PID LETHE_KDC_PORT
	LETHE_REALM_STORE LETHE_REALM_MKEY)
declare -gA LETHE_REALM_SAVED=()
LETHE_REALM_NAME=

# Keep the realm in use under its name.
lethe_realm_save_current() {
	local v
	[ -n "$LETHE_REALM_NAME" ] || return 0
	for v in "${LETHE_REALM_VARS[@]}"; do
		LETHE_REALM_SAVED[$LETHE_REALM_NAME.$v]=${!v-}
	done
}

# Make realm NAME the one the functions above act on (a new NAME starts
# empty: no realm, no KDC). The realm in use before is kept under its name.
lethe_realm_use() {
	local name=$1 v
	case "$name" in
	'' | *[!A-Za-z0-9_-]*) lethe_die "lethe_realm_use: bad name '$name'" ;;
	esac
	lethe_realm_save_current
	for v in "${LETHE_REALM_VARS[@]}"; do
		printf -v "$v" '%s' "${LETHE_REALM_SAVED[$name.$v]-}"
	done
	LETHE_REALM_NAME=$name
	if [ -z "${LETHE_REALM_USE_HOOKED:-}" ]; then
		LETHE_REALM_USE_HOOKED=1
		lethe_at_exit lethe_kdc_kill_every
	fi
}

# At exit: lethe_kdc_kill for every named realm; never fails.
lethe_kdc_kill_every() {
	local key name
	lethe_realm_save_current
	for key in "${!LETHE_REALM_SAVED[@]}"; do
		case "$key" in
		*.LETHE_KDC_PID) ;;
		*) continue ;;
		esac
		name=${key%.LETHE_KDC_PID}
		LETHE_KDC_PID=${LETHE_REALM_SAVED[$key]}
		lethe_kdc_kill
		LETHE_REALM_SAVED[$key]=
		[ "$name" != "$LETHE_REALM_NAME" ] || LETHE_KDC_PID=
	done
}
