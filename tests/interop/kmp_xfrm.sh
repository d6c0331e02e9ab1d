#!/usr/bin/env bash
# kmp_xfrm.sh LETHE_KDC LETHE_ADMIN LETHE_KMP: the --xfrm-out files of a live
# lethe-kmp server and client, for every IPsec suite lethe-kmp runs.
#  - one client-initiated exchange per suite (--suite on both sides), a
#    ping over the SA, then both files
#  - each file: mode 0600, the suite, the peer's address, an `in` and an
#    `out` line with the ip-xfrm names and key lengths of that suite
#  - one side's `in` line is the other side's `out` line, and the reverse
# Installing them with `ip xfrm` needs root and a kernel with ESP: not here.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/kmp.sh
. "$HERE/lib/kmp.sh"

USAGE="usage: kmp_xfrm.sh LETHE_KDC LETHE_ADMIN LETHE_KMP"
KDC=${1:?$USAGE}
ADMIN=${2:?$USAGE}
KMP=${3:?$USAGE}
REALM=LETHE.TEST
SERVICE=kmp/cms.lethe.test@$REALM
MTA_PW='mta1: xfrm files'
RUN_TIMEOUT=30

lethe_require_tools timeout grep sed stat kill
[ -x "$KMP" ] || lethe_die "lethe-kmp not found at $KMP"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user mta1 "$MTA_PW"
printf '%s\n' "$MTA_PW" >"$S/mta1.pw"
lethe_realm_admin add-service "${SERVICE%@*}"
lethe_realm_admin export-keytab "${SERVICE%@*}" -k "$S/cms.keytab"
lethe_kdc_start "$KDC"
lethe_at_exit kmp_stop_all

# suite (auth:enc, hex) -> "ENC-NAME ENC-HEX-DIGITS AUTH-NAME AUTH-HEX-DIGITS",
# the names as extended regexes.
declare -A WANT=(
	[02:0c]='cbc\(aes\) 32 hmac\(sha1\) 40'
	[02:03]='cbc\(des3_ede\) 48 hmac\(sha1\) 40'
	[02:0b]='ecb\(cipher_null\) 0 hmac\(sha1\) 40'
	[01:0c]='cbc\(aes\) 32 hmac\(md5\) 32'
	[01:03]='cbc\(des3_ede\) 48 hmac\(md5\) 32'
	[01:0b]='ecb\(cipher_null\) 0 hmac\(md5\) 32'
)

# check_file FILE SUITE PEER: the file's shape for SUITE with PEER.
check_file() {
	local file=$1 suite=$2 peer=$3 enc n auth m key dir re
	read -r enc n auth m <<<"${WANT[$suite]}"
	[ "$(stat -c %a "$file")" = 600 ] || lethe_die "$file: mode $(stat -c %a "$file")"
	[ "$(sed -n 1p "$file")" = "# lethe-kmp SA for ip xfrm (ESP); secret" ] ||
		lethe_die "$file: header: $(cat "$file")"
	[ "$(sed -n 2p "$file")" = "suite $suite" ] || lethe_die "$file: suite: $(cat "$file")"
	[ "$(sed -n 3p "$file")" = "peer $peer" ] || lethe_die "$file: peer: $(cat "$file")"
	if [ "$n" -eq 0 ]; then
		key='""'
	else
		key="0x[0-9a-f]{$n}"
	fi
	for dir in in out; do
		re="^$dir spi 0x[0-9a-f]{8} enc $enc $key auth-trunc $auth 0x[0-9a-f]{$m} 96\$"
		[ "$(grep -Ec "$re" "$file")" = 1 ] || lethe_die "$file: no $dir line like $re: $(cat "$file")"
	done
	[ "$(wc -l <"$file")" -eq 5 ] || lethe_die "$file: not 5 lines: $(cat "$file")"
}

for suite in "${!WANT[@]}"; do
	lethe_log "suite $suite"
	tag=${suite/:/-}
	SPORT=$(lethe_free_port)
	CPORT=$(lethe_free_port)
	"$KMP" server -l "127.0.0.1:$SPORT" -k "$S/cms.keytab" -p "$SERVICE" --suite "$suite" \
		--run-for 60 --xfrm-out "$S/srv.$tag" 2>"$S/srv.$tag.log" &
	SERVER_PID=$!
	KMP_PIDS+=("$SERVER_PID")
	lethe_wait_until 10 "lethe-kmp server ready" grep -q kmp_server_ready "$S/srv.$tag.log" ||
		lethe_die "server did not start: $(cat "$S/srv.$tag.log")"
	rc=0
	timeout "$RUN_TIMEOUT" "$KMP" client -l "127.0.0.1:$CPORT" -s "127.0.0.1:$SPORT" \
		--kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" -P mta1 --password-file "$S/mta1.pw" \
		--service "$SERVICE" --initiate --suite "$suite" --ping 1 --exit-after-sa --run-for 25 \
		--xfrm-out "$S/cli.$tag" 2>"$S/cli.$tag.log" || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "client exited $rc: $(cat "$S/cli.$tag.log")"
	lethe_wait_until 10 "the server's file" grep -q 'event=kmp_xfrm_written' "$S/srv.$tag.log" ||
		lethe_die "server wrote no file: $(cat "$S/srv.$tag.log")"
	kmp_stop_one "$SERVER_PID"
	check_file "$S/srv.$tag" "$suite" "127.0.0.1:$CPORT"
	check_file "$S/cli.$tag" "$suite" "127.0.0.1:$SPORT"
	[ "$(sed -n 's/^in //p' "$S/srv.$tag")" = "$(sed -n 's/^out //p' "$S/cli.$tag")" ] ||
		lethe_die "suite $suite: server in != client out"
	[ "$(sed -n 's/^out //p' "$S/srv.$tag")" = "$(sed -n 's/^in //p' "$S/cli.$tag")" ] ||
		lethe_die "suite $suite: server out != client in"
	[ "$(sed -n 's/^in //p' "$S/srv.$tag")" != "$(sed -n 's/^out //p' "$S/srv.$tag")" ] ||
		lethe_die "suite $suite: both directions alike"
	kmp_expect_counter "$S/cli.$tag.log" sa_messages_ok 1
	echo "ok: suite $suite: both files 0600, one side's in is the other's out"
done

lethe_kdc_stop
lethe_log "kmp_xfrm: all checks passed"
