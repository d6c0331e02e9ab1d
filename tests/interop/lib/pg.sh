# pg.sh: a real, private PostgreSQL server for a test (sourced, bash only;
# needs common.sh). No mock: initdb and pg_ctl from Debian's postgresql
# packages (scripts/deps.sh), run as an unprivileged user (nobody when the
# test runs as root) in a scratch directory of its own, listening only on a
# unix socket in that directory, stopped by PID at exit.
#
#   lethe_pg_bindir || skip-or-fail   # is a server installed?
#   lethe_pg_start                    # sets LETHE_PG_DIR, LETHE_PG_PID
#   uri=$(lethe_pg_createdb NAME)     # a new empty database: its libpq URI

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
	lethe_pg_as "$bin/pg_ctl" -D "$LETHE_PG_DIR/data" -l "$LETHE_PG_DIR/server.log" -w \
		-t 60 -o "-k $LETHE_PG_DIR -p $LETHE_PG_PORT -c listen_addresses= -c fsync=off" \
		start >/dev/null 2>&1 ||
		lethe_die "the PostgreSQL server did not start: $(tail -5 "$LETHE_PG_DIR/server.log")"
	LETHE_PG_PID=$(head -1 "$LETHE_PG_DIR/data/postmaster.pid")
	lethe_at_exit "lethe_pg_stop"
	lethe_log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') pid $LETHE_PG_PID on $LETHE_PG_DIR port $LETHE_PG_PORT"
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
