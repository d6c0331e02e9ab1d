#!/usr/bin/env bash
# kdc_tshark.sh LETHE_KDC LETHE_ADMIN: capture MIT clients talking to
# lethe-kdc (AS with pre-authentication, TGS, renewal, a wrong password, an
# unknown client, UDP and TCP) and require tshark's Kerberos dissector to
# decode every packet: no malformed packet, no expert error, and each
# expected message type present.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/capture.sh
. "$HERE/lib/capture.sh"

KDC=${1:?usage: kdc_tshark.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: kdc_tshark.sh LETHE_KDC LETHE_ADMIN}
REALM=LETHE.TEST
SERVICE=host/server.lethe.test
PW='tshark: pw'

lethe_require_tools kinit kvno tshark dumpcap timeout grep
export LC_ALL=C TZ=UTC
lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$PW"
lethe_realm_admin add-service "$SERVICE"
lethe_kdc_start "$KDC"
CAP=$S/kdc.pcapng
lethe_capture_start "$CAP" "port $LETHE_KDC_PORT"

for transport in udp tcp; do
	mit_client_setup "$S/client-$transport" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" "$transport"
	printf '%s\n' "$PW" | mit_kinit -r 1d alice >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit over $transport: $(cat "$S/kinit.out")"
	mit_kvno "$SERVICE" >"$S/kvno.out" 2>&1 || lethe_die "kvno: $(cat "$S/kvno.out")"
	mit_kinit -R >"$S/renew.out" 2>&1 || lethe_die "kinit -R: $(cat "$S/renew.out")"
	printf 'wrong\n' | mit_kinit alice >/dev/null 2>&1 && lethe_die "a wrong password was accepted"
	printf 'x\n' | mit_kinit nobody >/dev/null 2>&1 && lethe_die "an unknown client got a ticket"
	mit_kdestroy
done
sleep 0.5
lethe_capture_stop

# Decode with the Kerberos dissector on the KDC's port.
tshark -r "$CAP" -o "kerberos.desegment:TRUE" -d "udp.port==$LETHE_KDC_PORT,kerberos" \
	-d "tcp.port==$LETHE_KDC_PORT,kerberos" -V >"$S/decoded.txt" 2>"$S/tshark.err" ||
	lethe_die "tshark failed: $(cat "$S/tshark.err")"
if grep -n -i -E "malformed|\[Expert Info \(Error" "$S/decoded.txt" >"$S/bad.txt"; then
	lethe_die "tshark reports malformed packets or expert errors: $(head -20 "$S/bad.txt")"
fi

# Every expected message, over each transport.
tshark -r "$CAP" -d "udp.port==$LETHE_KDC_PORT,kerberos" -d "tcp.port==$LETHE_KDC_PORT,kerberos" \
	-Y kerberos -T fields -e frame.protocols -e kerberos.msg_type -e kerberos.error_code \
	>"$S/fields.txt" 2>"$S/tshark.err" || lethe_die "tshark failed: $(cat "$S/tshark.err")"
# Lines are "protocols<TAB>msg-types<TAB>error-code"; a TGS-REQ also shows
# the AP-REQ it carries (12,14).
for transport in udp tcp; do
	for want in '	10	$' '	11	$' '	12,14	$' '	13	$' '	30	25$' '	30	24$' '	30	6$'; do
		grep ":$transport:" "$S/fields.txt" | grep -qE -- "$want" ||
			lethe_die "no Kerberos message (msg-type, error-code) '$want' over $transport in the capture: $(cat "$S/fields.txt")"
	done
done
# 14 per transport: AS-REQ, PREAUTH_REQUIRED, AS-REQ, AS-REP, TGS-REQ, TGS-REP,
# the renewal TGS-REQ and TGS-REP, then the wrong password and the unknown
# client, each an AS-REQ, PREAUTH_REQUIRED or not, and their errors.
total=$(grep -c . "$S/fields.txt")
[ "$total" -ge 28 ] || lethe_die "only $total Kerberos packets decoded"
echo "ok: tshark decoded $total Kerberos packets from lethe-kdc with no malformed packet"
