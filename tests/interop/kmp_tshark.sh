#!/usr/bin/env bash
# kmp_tshark.sh KMP_TOOL: a full PacketCable KMP exchange in both DOIs,
# encoded by Lethe (kmp_tool exchange: real AP-REQ / AP-REP / KRB-ERROR,
# keyed HMACs), wrapped as UDP port 1293 datagrams, must be dissected by
# tshark's pktc and kerberos dissectors as the expected messages, with no
# "Malformed" packet, no expert item and no bytes left over. Two broken
# messages are run through the same check first and must be rejected.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

KMP_TOOL=${1:?usage: kmp_tshark.sh KMP_TOOL}
[ -x "$KMP_TOOL" ] || lethe_die "kmp_tool not found at $KMP_TOOL"
lethe_require_tools tshark text2pcap od head stat tail timeout
export LC_ALL=C

lethe_scratch_dir
work=$LETHE_SCRATCH
mkdir "$work/msgs"
timeout 30 "$KMP_TOOL" exchange "$work/msgs" >"$work/msgs.list" ||
	lethe_die "kmp_tool exchange failed"

# to_pcap PCAP FILE...: one UDP 1293 -> 1293 datagram per file.
to_pcap() {
	local pcap=$1 f
	shift
	for f in "$@"; do
		od -Ax -tx1 -v "$f"
	done >"$pcap.hex"
	timeout 30 text2pcap -q -u 1293,1293 "$pcap.hex" "$pcap" >"$pcap.t2p" 2>&1 ||
		lethe_die "text2pcap failed: $(cat "$pcap.t2p")"
}

# clean PCAP: succeeds when tshark finds nothing wrong in any frame; prints
# the reasons otherwise.
clean() {
	local pcap=$1 problems=()
	timeout 60 tshark -n -r "$pcap" -d udp.port==1293,pktc -V >"$pcap.txt" 2>"$pcap.err" ||
		lethe_die "tshark failed on $pcap: $(cat "$pcap.err")"
	timeout 60 tshark -n -q -r "$pcap" -d udp.port==1293,pktc -z expert \
		>"$pcap.expert" 2>"$pcap.err" || lethe_die "tshark -z expert failed on $pcap"
	grep -qi 'malformed' "$pcap.txt" && problems+=("malformed packet")
	grep -q 'Expert Info' "$pcap.txt" && problems+=("expert info")
	grep -Eq '^(Errors|Warns|Warnings|Notes|Chats|Comments) \(' "$pcap.expert" &&
		problems+=("expert items (-z expert)")
	# A layer after PacketCable means bytes the dissector did not consume.
	grep -Eq '^Data \(' "$pcap.txt" && problems+=("undissected bytes")
	if [ ${#problems[@]} -ne 0 ]; then
		echo "${problems[*]}"
		return 1
	fi
	return 0
}

# Controls: a Wake Up without its NUL must be reported malformed, an
# SNMPv3 Rekey at least as an expert item ("Unknown KMMID").
rekey=$(ls "$work"/msgs/*-ipsec-rekey.bin)
wake=$(ls "$work"/msgs/*-ipsec-wake-up.bin)
cp "$rekey" "$work/snmp-rekey.bin"
printf '\002' | dd of="$work/snmp-rekey.bin" bs=1 seek=1 conv=notrunc status=none
head -c $(($(stat -c %s "$wake") - 1)) "$wake" >"$work/no-nul.bin"
for control in "no-nul malformed" "snmp-rekey expert"; do
	read -r bad reason <<<"$control"
	to_pcap "$work/$bad.pcap" "$work/$bad.bin"
	if clean "$work/$bad.pcap" >"$work/$bad.why"; then
		lethe_die "control: tshark check accepted $bad"
	fi
	grep -q "$reason" "$work/$bad.why" ||
		lethe_die "control: $bad rejected for another reason: $(cat "$work/$bad.why")"
	echo "ok: control: $bad is rejected ($(cat "$work/$bad.why"))"
done

# The exchange, in the order kmp_tool wrote it.
mapfile -t files < <(cut -d' ' -f1 "$work/msgs.list")
[ ${#files[@]} -eq 11 ] || lethe_die "kmp_tool wrote ${#files[@]} messages, not 11"
to_pcap "$work/kmp.pcap" "${files[@]}"
if ! clean "$work/kmp.pcap" >"$work/kmp.why"; then
	cat "$work/kmp.pcap.txt" "$work/kmp.pcap.expert" >&2
	lethe_die "tshark: $(cat "$work/kmp.why")"
fi
echo "ok: ${#files[@]} messages, no malformed packet, no expert item"

# Every frame's summary line names the message Lethe meant to send.
timeout 60 tshark -n -r "$work/kmp.pcap" -d udp.port==1293,pktc \
	-T fields -e _ws.col.Info >"$work/info.txt" 2>/dev/null ||
	lethe_die "tshark -T fields failed"
expected=(
	"Wake Up (IPsec)"
	"AP Request (IPsec)"
	"AP Reply (IPsec)"
	"Security Parameter Recovered (IPsec)"
	"Rekey (IPsec)"
	"KRB Error: KRB5KRB_AP_ERR_SKEW"
	"Wake Up (SNMPv3)"
	"AP Request (SNMPv3)"
	"AP Reply (SNMPv3)"
	"Security Parameter Recovered (SNMPv3)"
	"KRB Error: KRB5KRB_AP_ERR_SKEW"
)
mapfile -t got <"$work/info.txt"
for i in "${!expected[@]}"; do
	[ "${got[$i]:-}" = "${expected[$i]}" ] ||
		lethe_die "frame $((i + 1)): tshark says '${got[$i]:-}', expected '${expected[$i]}'"
done
echo "ok: tshark names all ${#expected[@]} messages as sent"

# Field values, as tshark reads them.
fields=(
	"Server Nonce: 0x1a2b3c4d"
	"IPsec Security Parameter Index: 0x0000c001"
	"IPsec Security Parameter Index: 0x0000b001"
	"IPsec Security Parameter Index: 0x0000b002"
	"List of Ciphersuites (1): HMAC-SHA-1-96/AES-128"
	"Security Parameter Lifetime: 7 days"
	"Grace Period: 600"
	"ACK Required Flag: True"
	"SNMPv3 Engine ID: 8000118b03001018000002"
	"SNMPv3 USM User Name: MTA-Prov-Admin"
	"Server Kerberos Principal Identifier: cms/cms1.example.net@EXAMPLE.NET"
	"msg-type: krb-ap-req (14)"
	"msg-type: krb-ap-rep (15)"
	"msg-type: krb-error (30)"
)
for f in "${fields[@]}"; do
	grep -qF "$f" "$work/kmp.pcap.txt" || lethe_die "tshark does not show '$f'"
done
# The HMAC tshark shows for the IPsec AP Reply is the last 20 bytes sent.
reply=$(ls "$work"/msgs/*-ipsec-ap-reply.bin)
mac=$(tail -c 20 "$reply" | od -An -tx1 -v | tr -d ' \n')
grep -q "SHA-1 HMAC: $mac\$" "$work/kmp.pcap.txt" ||
	lethe_die "tshark does not show the AP Reply HMAC $mac"
echo "PASS: tshark dissects Lethe's IPsec and SNMPv3 KMP exchanges cleanly"
