# pg.sh: a real, private PostgreSQL server for a test (sourced, bash only;
# needs common.sh). No mock: initdb and pg_ctl from Debian's postgresql
# packages (scripts/deps.sh), run as an unprivileged user (nobody when the
# test runs as root) in a scratch directory of its own, listening only on a
# unix socket in that directory, stopped by PID at exit.
#
#   lethe_pg_bindir || skip-or-fail   # is a server installed?
#   lethe_pg_start                    # sets LETHE_PG_DIR, LETHE_PG_PID
#   uri=$(lethe_pg_createdb NAME)     # a new empty database: its libpq URI
#   lethe_pg_down; lethe_pg_up        # pg_ctl stop -m immediate; start again
#   lethe_pg_standby_start            # a synchronous streaming standby
#   lethe_pg_multi_uri NAME           # URI naming both, read-write wanted
#   lethe_pg_kill_primary; lethe_pg_promote

# Print the directory holding initdb and pg_ctl (newest version); false if none.
lethe_pg_bindir() {
	local d best=""
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
	done
	if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 &&
		command -v pg_ctl >/dev/null 2>&1; then
		best=$(dirname "$(command -v initdb)")
	fi
	[ -n "$best" ] || return 1
	echo "$best"
}

# Run a command as the server's user.
lethe_pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$LETHE_PG_USER" -- "$@"
	else
		"$@"
	fi
}

# Start the server; its directory and the server process go at exit.
lethe_pg_start() {
	local bin
	bin=$(lethe_pg_bindir) || lethe_die "no PostgreSQL server (initdb, pg_ctl): run scripts/deps.sh"
	LETHE_PG_BIN=$bin
	LETHE_PG_USER=$(id -un)
	[ "$(id -u)" -ne 0 ] || LETHE_PG_USER=nobody
	LETHE_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lethe-pg.XXXXXX")
	lethe_at_exit "rm -rf -- '$LETHE_PG_DIR'"
	chmod 0700 "$LETHE_PG_DIR"
	[ "$(id -u)" -ne 0 ] || chown "$LETHE_PG_USER" "$LETHE_PG_DIR"
	LETHE_PG_PORT=$(lethe_free_port)
	lethe_pg_as "$bin/initdb" -D "$LETHE_PG_DIR/data" --auth=trust --no-locale \
		-E UTF8 -U "$LETHE_PG_USER" >"$LETHE_PG_DIR/initdb.log" 2>&1 ||
		lethe_die "initdb failed: $(tail -5 "$LETHE_PG_DIR/initdb.log")"
	lethe_pg_ctl_start data "$LETHE_PG_PORT" server.log
	LETHE_PG_PID=$(head -1 "$LETHE_PG_DIR/data/postmaster.pid")
	lethe_at_exit "lethe_pg_stop"
	lethe_log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') pid $LETHE_PG_PID on $LETHE_PG_DIR port $LETHE_PG_PORT"
}

# pg_ctl start the cluster in $LETHE_PG_DIR/DATA on PORT (unix socket in
# $LETHE_PG_DIR only), logging to $LETHE_PG_DIR/LOG; waits until it is up.
lethe_pg_ctl_start() {
	local data=$1 port=$2 log=$3
	lethe_pg_as "$LETHE_PG_BIN/pg_ctl" -D "$LETHE_PG_DIR/$data" -l "$LETHE_PG_DIR/$log" -w \
		-t 60 -o "-k $LETHE_PG_DIR -p $port -c listen_addresses= -c fsync=off" \
		start >/dev/null 2>&1 ||
		lethe_die "the PostgreSQL server in $data did not start: $(tail -5 "$LETHE_PG_DIR/$log")"
}

# An outage: stop the server at once (pg_ctl stop -m immediate, as a crash).
lethe_pg_down() {
	lethe_pg_as "$LETHE_PG_BIN/pg_ctl" -D "$LETHE_PG_DIR/data" -m immediate -w -t 60 \
		stop >/dev/null 2>&1 || lethe_die "pg_ctl stop -m immediate failed"
	LETHE_PG_PID=
}

# The end of the outage: the same server, same port, started again.
lethe_pg_up() {
	lethe_pg_ctl_start data "$LETHE_PG_PORT" server.log
	LETHE_PG_PID=$(head -1 "$LETHE_PG_DIR/data/postmaster.pid")
}

# A streaming standby of the server (pg_basebackup -R) on its own port,
# made synchronous (synchronous_standby_names = '*'): a commit returns once
# the standby has it. Sets LETHE_PG_STANDBY_PORT and LETHE_PG_STANDBY_PID;
# stopped at exit.
lethe_pg_standby_start() {
	LETHE_PG_STANDBY_PORT=$(lethe_free_port)
	lethe_pg_as "$LETHE_PG_BIN/pg_basebackup" -h "$LETHE_PG_DIR" -p "$LETHE_PG_PORT" \
		-U "$LETHE_PG_USER" -D "$LETHE_PG_DIR/standby" -R -X stream \
		>"$LETHE_PG_DIR/basebackup.log" 2>&1 ||
		lethe_die "pg_basebackup failed: $(tail -5 "$LETHE_PG_DIR/basebackup.log")"
	lethe_pg_ctl_start standby "$LETHE_PG_STANDBY_PORT" standby.log
	LETHE_PG_STANDBY_PID=$(head -1 "$LETHE_PG_DIR/standby/postmaster.pid")
	lethe_at_exit "lethe_pg_standby_stop"
	lethe_pg_sql postgres "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
	lethe_pg_sql postgres "SELECT pg_reload_conf()" >/dev/null
	lethe_wait_until 60 "the standby to stream synchronously" eval \
		"[ \"\$(lethe_pg_sql postgres \"SELECT sync_state FROM pg_stat_replication\")\" = sync ]" ||
		lethe_die "the standby never became synchronous: $(tail -5 "$LETHE_PG_DIR/standby.log")"
	lethe_log "synchronous standby pid $LETHE_PG_STANDBY_PID port $LETHE_PG_STANDBY_PORT"
}

# kill -9 the primary's postmaster (its backends exit when they notice).
lethe_pg_kill_primary() {
	kill -KILL "$LETHE_PG_PID"
	lethe_wait_until 30 "the primary to die" eval "! kill -0 $LETHE_PG_PID 2>/dev/null" ||
		lethe_die "the primary survived kill -9"
	LETHE_PG_PID=
}

# Promote the standby (pg_ctl promote, waiting until it takes writes).
lethe_pg_promote() {
	lethe_pg_as "$LETHE_PG_BIN/pg_ctl" -D "$LETHE_PG_DIR/standby" -w -t 60 promote \
		>/dev/null 2>&1 || lethe_die "pg_ctl promote failed: $(tail -5 "$LETHE_PG_DIR/standby.log")"
}

lethe_pg_standby_stop() {
	[ -n "${LETHE_PG_STANDBY_PID:-}" ] || return 0
	kill -QUIT "$LETHE_PG_STANDBY_PID" 2>/dev/null || true
	lethe_wait_until 10 "the standby to stop" eval "! kill -0 $LETHE_PG_STANDBY_PID 2>/dev/null" ||
		kill -KILL "$LETHE_PG_STANDBY_PID" 2>/dev/null || true
	LETHE_PG_STANDBY_PID=
}

# The URI of database $1 naming the primary and then the standby, asking
# for the one that takes writes (libpq tries them in order).
lethe_pg_multi_uri() {
	echo "postgresql:///$1?host=$LETHE_PG_DIR,$LETHE_PG_DIR&port=$LETHE_PG_PORT,$LETHE_PG_STANDBY_PORT&user=$LETHE_PG_USER&target_session_attrs=read-write"
}

# Run SQL $2 in database $1 on the standby.
lethe_pg_standby_sql() {
	"$LETHE_PG_BIN/psql" -q -X -At -v ON_ERROR_STOP=1 \
		"postgresql:///$1?host=$LETHE_PG_DIR&port=$LETHE_PG_STANDBY_PORT&user=$LETHE_PG_USER" -c "$2"
}

# Stop the server by its PID (immediate shutdown), waiting at most 10 s.
lethe_pg_stop() {
	[ -n "${LETHE_PG_PID:-}" ] || return 0
	kill -QUIT "$LETHE_PG_PID" 2>/dev/null || true
	lethe_wait_until 10 "PostgreSQL to stop" eval "! kill -0 $LETHE_PG_PID 2>/dev/null" ||
		kill -KILL "$LETHE_PG_PID" 2>/dev/null || true
	LETHE_PG_PID=
}

# The libpq URI of database $1 on the test server.
lethe_pg_uri() {
	echo "postgresql:///$1?host=$LETHE_PG_DIR&port=$LETHE_PG_PORT&user=$LETHE_PG_USER"
}

# Create an empty database $1; print its URI.
lethe_pg_createdb() {
	"$LETHE_PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 "$(lethe_pg_uri postgres)" \
		-c "CREATE DATABASE \"$1\"" >/dev/null || lethe_die "cannot create database $1"
	lethe_pg_uri "$1"
}

# Run SQL $2 in database $1 (psql -At: unaligned rows, no header).
lethe_pg_sql() {
	"$LETHE_PG_BIN/psql" -q -X -At -v ON_ERROR_STOP=1 "$(lethe_pg_uri "$1")" -c "$2"
}
