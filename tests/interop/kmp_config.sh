#!/usr/bin/env bash
# kmp_config.sh LETHE_KDC LETHE_ADMIN LETHE_KMP: lethe-kmp -c reads a
# configuration file, [server] for the server and [client] for the client,
# and flags override it.
#  - one file for both roles, relative paths (keytab, password file) taken
#    from its folder; the server's listen address in the file is overridden
#    by -l (the file's port stays free); its wake list, the SNMPv3 DOI and
#    the client's principal, password, KDC, server and services come from
#    the file: the server wakes the client, the exchange completes and the
#    pings come back;
#  - an unknown key, a bad doi or suite, a bad duration: exit 2 naming the line;
#  - etc/kmp.conf.example sets up a server.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/kmp.sh
. "$HERE/lib/kmp.sh"

KDC=${1:?usage: kmp_config.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
ADMIN=${2:?usage: kmp_config.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
KMP=${3:?usage: kmp_config.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
REALM=LETHE.TEST
SERVICE=kmp/cms.lethe.test@$REALM
MTA_PW='mta1: from a file'

lethe_require_tools timeout grep sed kill
[ -x "$KMP" ] || lethe_die "lethe-kmp not found at $KMP"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user mta1 "$MTA_PW"
lethe_realm_admin add-service "${SERVICE%@*}"
mkdir -p "$S/etc"
lethe_realm_admin export-keytab "$SERVICE" -k "$S/etc/cms.keytab"
printf '%s\n' "$MTA_PW" >"$S/etc/mta1.pw"
lethe_kdc_start "$KDC"
lethe_at_exit kmp_stop_all

FILE_PORT=$(lethe_free_port)
SERVER_PORT=$(lethe_free_port)
CPORT=$(lethe_free_port)
cat >"$S/etc/kmp.conf" <<CONF
[server]
listen = 127.0.0.1:$FILE_PORT
keytab = cms.keytab
principal = $SERVICE
wake = 127.0.0.1:$CPORT
doi = snmpv3
lifetime = 10m
grace = 1m

[client]
listen = 127.0.0.1:$CPORT
principal = mta1
password_file = mta1.pw
kdc = 127.0.0.1:$LETHE_KDC_PORT
realm = $REALM
server = 127.0.0.1:$SERVER_PORT
services = $SERVICE
doi = snmpv3
CONF

# The client listens first: the server's Wake Up goes out at its start.
(cd / && timeout 60 "$KMP" client -c "$S/etc/kmp.conf" --ping 3 --exit-after-sa \
	--run-for 40 2>"$S/cli.log") &
CLIENT_PID=$!
KMP_PIDS+=("$CLIENT_PID")
lethe_wait_until 10 "lethe-kmp client ready" grep -q kmp_client_ready "$S/cli.log" ||
	lethe_die "client did not start: $(cat "$S/cli.log")"
(cd / && exec "$KMP" server -c "$S/etc/kmp.conf" -l "127.0.0.1:$SERVER_PORT" \
	--run-for 120 2>"$S/srv.log") &
SERVER_PID=$!
KMP_PIDS+=("$SERVER_PID")
lethe_wait_until 10 "lethe-kmp server ready" grep -q kmp_server_ready "$S/srv.log" ||
	lethe_die "server did not start: $(cat "$S/srv.log")"
grep -q 'kmp_server_ready principal=kmp/cms.lethe.test@LETHE.TEST doi=SNMPv3' "$S/srv.log" ||
	lethe_die "the server did not take principal and doi from the file: $(cat "$S/srv.log")"
! lethe_port_in_use "$FILE_PORT" || lethe_die "-l did not override the file's listen"

kmp_wait_one "$CLIENT_PID"
[ "$WAITED_RC" -eq 0 ] || lethe_die "client exited $WAITED_RC: $(cat "$S/cli.log")"
kmp_expect_counter "$S/cli.log" wakeups_received 1
kmp_expect_counter "$S/cli.log" replies_accepted 1
kmp_stop_one "$SERVER_PID"
kmp_expect_counter "$S/srv.log" wakeups_sent 1
kmp_expect_counter "$S/srv.log" ap_requests_accepted 1
kmp_expect_counter "$S/srv.log" sa_messages_ok 3
lethe_log "server and client from one file: woken, SA made, pings answered"

# Errors in the file: exit 2, naming the line.
bad() {
	local want=$1 out rc=0
	shift
	printf '%s\n' "$@" >"$S/etc/bad.conf"
	out=$(timeout 30 "$KMP" server -c "$S/etc/bad.conf" -k "$S/etc/cms.keytab" \
		-p "$SERVICE" -l "127.0.0.1:$FILE_PORT" --run-for 1 2>&1) || rc=$?
	[ "$rc" -eq 2 ] && grep -qF -- "$want" <<<"$out" ||
		lethe_die "bad.conf ($*): exit $rc, expected 2 and '$want': $out"
}
bad 'bad.conf:2' '[server]' 'no_such_key = 1'
bad 'bad.conf:3' '[server]' 'listen = 127.0.0.1:1' 'doi = ipsec6'
bad 'bad.conf:2' '[server]' 'suites = 2:c 2:zz'
bad 'bad.conf:2' '[server]' 'lifetime = soon'
bad 'bad.conf:1' 'wake = 127.0.0.1'

# The shipped example is a valid server configuration.
example=${LETHE_SOURCE_DIR:?}/etc/kmp.conf.example
rc=0
out=$(timeout 30 "$KMP" server -c "$example" -l "127.0.0.1:$FILE_PORT" --run-for 1 2>&1) || rc=$?
[ "$rc" -eq 0 ] && grep -q 'kmp_server_ready principal=kmp/cms.example.com@EXAMPLE.COM doi=IPsec' <<<"$out" ||
	lethe_die "etc/kmp.conf.example: exit $rc: $out"
lethe_log "kmp_config: file, flags over it, errors by line, the example"
