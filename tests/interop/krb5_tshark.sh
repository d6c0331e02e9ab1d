#!/usr/bin/env bash
# krb5_tshark.sh KRB5_TOOL: Lethe's encoding of every Kerberos message type
# (krb5_tool samples), wrapped in a UDP datagram to or from port 88, must be
# dissected by tshark as the expected message type, with no "Malformed"
# packet and no expert error. A truncated sample is run through the same
# check first, which must reject it (so the check itself can fail).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

KRB5_TOOL=${1:?usage: krb5_tshark.sh KRB5_TOOL}
[ -x "$KRB5_TOOL" ] || lethe_die "krb5_tool not found at $KRB5_TOOL"
lethe_require_tools tshark text2pcap od head stat timeout
export LC_ALL=C

lethe_scratch_dir
work=$LETHE_SCRATCH
mkdir "$work/samples"
timeout 30 "$KRB5_TOOL" samples "$work/samples" >"$work/samples.list" ||
	lethe_die "krb5_tool samples failed"

# tshark_check NAME DER_FILE MSG_TYPE TSHARK_NAME req|rep
# Succeeds when tshark dissects DER_FILE, sent to (req) or from (rep) port
# 88, as Kerberos message MSG_TYPE with no malformed part and no expert error.
# Prints the reasons and tshark's reading when it does not.
tshark_check() {
	local name=$1 der=$2 type=$3 tname=$4 direction=$5 ports problems=()
	# text2pcap reads "offset byte byte ..." lines, as od -Ax -tx1 prints them.
	od -Ax -tx1 -v "$der" >"$work/$name.hex"
	if [ "$direction" = req ]; then ports=50088,88; else ports=88,50088; fi
	timeout 30 text2pcap -q -u "$ports" "$work/$name.hex" "$work/$name.pcap" \
		>"$work/$name.t2p" 2>&1 ||
		lethe_die "text2pcap failed for $name: $(cat "$work/$name.t2p")"
	timeout 60 tshark -n -V -r "$work/$name.pcap" >"$work/$name.txt" 2>"$work/$name.err" ||
		lethe_die "tshark failed on $name: $(cat "$work/$name.err")"
	timeout 60 tshark -n -q -r "$work/$name.pcap" -z expert,error \
		>"$work/$name.expert" 2>&1 || lethe_die "tshark -z expert failed on $name"

	grep -q '^Kerberos' "$work/$name.txt" || problems+=("no Kerberos layer")
	grep -q "^ *msg-type: $tname ($type)\$" "$work/$name.txt" ||
		problems+=("not dissected as $tname ($type)")
	grep -qi 'malformed' "$work/$name.txt" && problems+=("malformed packet")
	grep -q 'Expert Info (Error' "$work/$name.txt" && problems+=("expert error")
	grep -Eq '^ *Errors \([0-9]+\)' "$work/$name.expert" &&
		problems+=("expert error (-z expert)")
	if [ ${#problems[@]} -ne 0 ]; then
		sed -n '/^Kerberos/,$p' "$work/$name.txt"
		cat "$work/$name.expert"
		echo "$name: ${problems[*]}"
		return 1
	fi
	return 0
}

# The check must reject a message cut short.
head -c 150 "$work/samples/krb-error.der" >"$work/truncated.der"
if tshark_check truncated "$work/truncated.der" 30 krb-error rep >"$work/truncated.why"; then
	lethe_die "control: tshark_check accepted a truncated KRB-ERROR"
fi
grep -q 'malformed packet' "$work/truncated.why" ||
	lethe_die "control: truncated KRB-ERROR rejected for another reason: $(tail -1 "$work/truncated.why")"
echo "ok: control: a truncated KRB-ERROR is reported malformed"

# name  msg-type  tshark's name  direction (req: to port 88, rep: from it)
expected=(
	"as-req    10 krb-as-req  req"
	"as-rep    11 krb-as-rep  rep"
	"tgs-req   12 krb-tgs-req req"
	"tgs-rep   13 krb-tgs-rep rep"
	"ap-req    14 krb-ap-req  req"
	"ap-rep    15 krb-ap-rep  rep"
	"krb-safe  20 krb-safe    req"
	"krb-priv  21 krb-priv    req"
	"krb-error 30 krb-error   rep"
)

failures=0
for line in "${expected[@]}"; do
	read -r name type tname direction <<<"$line"
	der=$work/samples/$name.der
	[ -s "$der" ] || lethe_die "krb5_tool wrote no $name sample"

	# Lethe must read back what it wrote before tshark gets to judge it.
	if ! timeout 30 "$KRB5_TOOL" decode "$der" >"$work/$name.lethe" 2>&1 ||
		! grep -qx "msg-type=$type" "$work/$name.lethe"; then
		cat "$work/$name.lethe" >&2
		echo "FAIL: $name: krb5_tool does not decode its own sample" >&2
		failures=$((failures + 1))
		continue
	fi
	if tshark_check "$name" "$der" "$type" "$tname" "$direction" >"$work/$name.why"; then
		echo "ok: $name ($(stat -c %s "$der") bytes) dissected by tshark as $tname ($type)"
	else
		cat "$work/$name.why" >&2
		echo "FAIL: $name" >&2
		failures=$((failures + 1))
	fi
done

[ "$failures" -eq 0 ] || lethe_die "$failures of ${#expected[@]} samples rejected by tshark"
echo "PASS: tshark dissects all ${#expected[@]} Lethe message encodings cleanly"
