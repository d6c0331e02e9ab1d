#!/usr/bin/env bash
# store_pg_run.sh TEST_BINARY: run the PostgreSQL backend's unit tests
# against a real server started here (tests/interop/lib/pg.sh). Exit 77
# (skipped) when no PostgreSQL server is installed; scripts/deps.sh installs it.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=../interop/lib/common.sh
. "$HERE/../interop/lib/common.sh"
# shellcheck source=../interop/lib/pg.sh
. "$HERE/../interop/lib/pg.sh"
BIN=${1:?usage: store_pg_run.sh TEST_BINARY}
if ! lethe_pg_bindir >/dev/null; then
	echo "SKIP: no PostgreSQL server (initdb, pg_ctl) installed; run scripts/deps.sh" >&2
	exit 77
fi
lethe_pg_start
LETHE_TEST_PG_URI=$(lethe_pg_uri postgres) "$BIN"
