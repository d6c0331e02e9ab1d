#!/usr/bin/env bash
# kmp_capture.sh LETHE_KDC LETHE_ADMIN LETHE_KMP: a live capture of lethe-kmp
# server and client exchanging keys over loopback (server-initiated, IPsec
# and SNMPv3 DOIs; client-initiated), decoded by tshark's pktc and kerberos
# dissectors: every key-management datagram is PKTC, the four messages of
# each exchange appear in order, the Kerberos AP-REQ and AP-REP inside
# decode, and there is no malformed packet and no expert item.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/capture.sh
. "$HERE/lib/capture.sh"

KDC=${1:?usage: kmp_capture.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
ADMIN=${2:?usage: kmp_capture.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
KMP=${3:?usage: kmp_capture.sh LETHE_KDC LETHE_ADMIN LETHE_KMP}
REALM=LETHE.TEST
SERVICE=kmp/cms.lethe.test@$REALM
MTA_PW='mta1: captured'
RUN_TIMEOUT=30

lethe_require_tools tshark dumpcap timeout grep sed kill
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

SERVER_PORT=$(lethe_free_port)
CLIENT_PORTS=()
lethe_capture_start "$S/kmp.pcapng" "udp port $SERVER_PORT"

SERVER_PID=
server_kill() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	timeout 10 tail --pid="$SERVER_PID" -f /dev/null 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}
lethe_at_exit server_kill

# One exchange: exchange DOI [server args] -- [client args]
exchange() {
	local doi=$1 cport log rc=0
	shift
	local sargs=() cargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	cargs=("$@")
	cport=$(lethe_free_port)
	CLIENT_PORTS+=("$cport")
	log=$S/server.$cport.log
	"$KMP" server -l "127.0.0.1:$SERVER_PORT" -k "$S/cms.keytab" -p "$SERVICE" --doi "$doi" \
		--lifetime 600 --grace 60 --run-for 60 "${sargs[@]/@CPORT@/$cport}" 2>"$log" &
	SERVER_PID=$!
	lethe_wait_until 10 "lethe-kmp server ready" grep -q kmp_server_ready "$log" ||
		lethe_die "server did not start: $(cat "$log")"
	timeout "$RUN_TIMEOUT" "$KMP" client -l "127.0.0.1:$cport" -s "127.0.0.1:$SERVER_PORT" \
		--kdc "127.0.0.1:$LETHE_KDC_PORT" --realm "$REALM" --doi "$doi" --ping 0 \
		--exit-after-sa --run-for 25 -P mta1 --password-file "$S/mta1.pw" "${cargs[@]}" \
		2>"$S/client.$cport.log" || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "client exited $rc: $(cat "$S/client.$cport.log")"
	lethe_wait_until 10 "SA Recovered at the server" grep -q 'event=kmp_sa' "$log" ||
		lethe_die "no SA at the server: $(cat "$log")"
	server_kill
}

lethe_log "server-initiated, IPsec"
exchange ipsec -w "127.0.0.1:@CPORT@" -- --service "$SERVICE"
lethe_log "server-initiated, SNMPv3"
exchange snmpv3 -w "127.0.0.1:@CPORT@" -- --service "$SERVICE"
lethe_log "client-initiated, IPsec"
exchange ipsec -- --initiate --service "$SERVICE"
lethe_capture_stop

decode=(-r "$S/kmp.pcapng" -d "udp.port==$SERVER_PORT,pktc")
tshark "${decode[@]}" -Y "udp.port==$SERVER_PORT" >"$S/summary.all" 2>"$S/tshark.err" ||
	lethe_die "tshark failed: $(cat "$S/tshark.err")"
grep '→' "$S/summary.all" >"$S/summary.txt" || true
cat "$S/summary.txt" >&2
frames=$(grep -c . "$S/summary.txt")
pktc=$(grep -c ' PKTC ' "$S/summary.txt" || true)
[ "$frames" -ge 11 ] || lethe_die "only $frames frames captured, want at least 11"
[ "$pktc" -eq "$frames" ] || lethe_die "$pktc of $frames frames dissected as PKTC"
! grep -qi 'malformed' "$S/summary.txt" || lethe_die "malformed packets in the capture"
# Each exchange's messages, in order (a retransmitted Wake Up counted once:
# the server may wake the client before the client listens).
seq=$(sed -n 's/.* PKTC [0-9]* \(Wake Up\|AP Request\|AP Reply\|Security Parameter Recovered\) (\([A-Za-z0-9]*\)).*/\1 (\2)/p' "$S/summary.txt" | uniq | tr '\n' ';')
want='Wake Up (IPsec);AP Request (IPsec);AP Reply (IPsec);Security Parameter Recovered (IPsec);'
want+='Wake Up (SNMPv3);AP Request (SNMPv3);AP Reply (SNMPv3);Security Parameter Recovered (SNMPv3);'
want+='AP Request (IPsec);AP Reply (IPsec);Security Parameter Recovered (IPsec);'
[ "$seq" = "$want" ] || lethe_die "message sequence: $seq; want $want"
echo "ok: $frames frames, all PKTC, in order"

tshark "${decode[@]}" -V -Y "udp.port==$SERVER_PORT" >"$S/detail.txt" 2>&1 ||
	lethe_die "tshark -V failed"
[ "$(grep -c 'msg-type: krb-ap-req' "$S/detail.txt" || true)" -eq 3 ] ||
	lethe_die "the three AP-REQs did not decode as Kerberos"
[ "$(grep -c 'msg-type: krb-ap-rep' "$S/detail.txt" || true)" -eq 3 ] ||
	lethe_die "the three AP-REPs did not decode as Kerberos"
grep -q "Server Principal Name: kmp/cms.lethe.test@$REALM\|kmp/cms.lethe.test" "$S/detail.txt" ||
	lethe_die "the Wake Up's server principal is not shown"
tshark "${decode[@]}" -q -z expert -Y "udp.port==$SERVER_PORT" >"$S/expert.txt" 2>&1 ||
	lethe_die "tshark -z expert failed"
! grep -Eq 'Errors|Warns|Malformed' "$S/expert.txt" ||
	lethe_die "expert items: $(cat "$S/expert.txt")"
echo "ok: Kerberos inside decodes; no expert item"

lethe_kdc_stop
echo "PASS kmp_capture"
