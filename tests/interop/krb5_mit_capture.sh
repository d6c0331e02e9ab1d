#!/usr/bin/env bash
# krb5_mit_capture.sh KRB5_TOOL: real MIT Kerberos traffic, decoded by Lethe.
#
# An MIT krb5kdc serves a scratch realm LETHE.TEST on 127.0.0.1 (UDP and
# TCP). While dumpcap records the KDC's port, MIT clients run: kinit over
# UDP, kinit over TCP, kvno for a service, kinit -R, kinit with a wrong
# password, kinit for an unknown principal, and one kinit per AES enctype.
# Every Kerberos message is cut out of the capture and decoded with
# Lethe's decoders (krb5_tool decode), which must:
#   - decode it, and re-encode it from the decoded fields to the same bytes;
#   - read the fields the script knows: message types in order, error codes
#     25 / 24 / 6, client name, realms, server names, KDC options, etypes;
# and with the password (string-to-key from the ETYPE-INFO2 salt) and a
# keytab of krbtgt and the service, Lethe's crypto must open every
# encrypted part (krb5_tool decrypt): PA-ENC-TIMESTAMP, the AS-REP's
# EncASRepPart (nonce equal to the AS-REQ's), tickets' EncTicketPart, the
# TGS authenticator, the FAST reply and the TGS-REP's EncTGSRepPart.
#
# LETHE_KRB5_SEED_DIR=dir (optional) keeps every message and plaintext
# there, to refresh the fuzz seeds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/mit_realm.sh"
. "$here/lib/mit_client.sh"
. "$here/lib/capture.sh"

KRB5_TOOL=${1:?usage: krb5_mit_capture.sh KRB5_TOOL}
[ -x "$KRB5_TOOL" ] || lethe_die "krb5_tool not found at $KRB5_TOOL"
lethe_require_tools tshark dumpcap krb5kdc kdb5_util kadmin.local kinit kvno klist \
	od sed awk head stat timeout
export LC_ALL=C TZ=UTC

REALM=LETHE.TEST
USER=alice
PASSWORD='Lethe alice 7 pw'      # throw-away password of a scratch realm
SERVICE=host/srv.lethe.test
UNKNOWN=nobody
TGS=krbtgt/$REALM

lethe_scratch_dir
work=$LETHE_SCRATCH
failures=0

fail_check() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# ------------------------------------------------------------ the realm

mit_realm_create "$work/kdc" "$REALM"
for et in $MIT_AES_ENCTYPES; do
	grep -q "supported_enctypes =.* $et:normal" "$KRB5_KDC_PROFILE" ||
		lethe_die "kdc.conf supported_enctypes lacks $et"
done
mit_realm_kadmin "modprinc -maxrenewlife \"7 days\" $TGS" >/dev/null
mit_realm_addprinc "$USER" "$PASSWORD" "$MIT_AES_ENCTYPES" +requires_preauth \
	-maxrenewlife '"7 days"'
mit_realm_addprinc_randkey "$SERVICE" "$MIT_AES_ENCTYPES"
mit_realm_check_keys "$USER"
mit_realm_check_keys "$SERVICE"
# The keys of krbtgt and the service, so that Lethe can open tickets.
mit_realm_ktadd "$TGS" "$work/tickets.keytab"
mit_realm_ktadd "$SERVICE" "$work/tickets.keytab"
mit_kdc_start

mit_client_setup "$work/client" "$REALM" 127.0.0.1 "$MIT_KDC_PORT" udp \
	"forwardable = true"

# ------------------------------------------------------------ capturing

# extract_messages PCAP DIR: one file per Kerberos message, DIR/NN.der, and
# DIR/list with "NN transport msg-type-by-tshark" lines, in capture order.
# TCP payloads must hold exactly one length-prefixed message.
extract_messages() {
	local pcap=$1 out=$2 n=0 frame type udp tcp hex len transport
	local payloads kerberos retransmitted=0
	# The KDC is not on port 88: tell tshark what the port carries.
	local decode_as=(-d "udp.port==$MIT_KDC_PORT,kerberos" -d "tcp.port==$MIT_KDC_PORT,kerberos")
	mkdir -p "$out"
	: >"$out/list"
	tshark -n -r "$pcap" "${decode_as[@]}" -Y kerberos -T fields -E separator=, -E occurrence=f \
		-e frame.number -e kerberos.msg_type -e udp.payload -e tcp.payload \
		>"$out/fields" 2>"$out/tshark.err" ||
		lethe_die "tshark could not read $pcap: $(cat "$out/tshark.err")"
	while IFS=, read -r frame type udp tcp; do
		n=$((n + 1))
		if [ -n "$udp" ]; then
			transport=udp hex=$udp
		else
			transport=tcp
			len=$((16#${tcp:0:8}))
			hex=${tcp:8}
			[ $((${#hex} / 2)) -eq "$len" ] ||
				lethe_die "frame $frame: TCP record length $len, payload $((${#hex} / 2)) bytes"
		fi
		# A busy machine makes MIT clients resend over UDP, and krb5kdc
		# answers a resent request from its lookaside cache: drop exact
		# copies of an earlier message (distinct requests differ in
		# their nonce, distinct replies in their ciphertext).
		if grep -qxF "$hex" "$out/seen" 2>/dev/null; then
			echo "note: frame $frame repeats an earlier message (retransmission), ignored" >&2
			n=$((n - 1))
			retransmitted=$((retransmitted + 1))
			continue
		fi
		printf '%s\n' "$hex" >>"$out/seen"
		lethe_hex_to_file "$hex" "$(printf '%s/%02d.der' "$out" "$n")"
		printf '%02d %s %s %s\n' "$n" "$transport" "$type" "$frame" >>"$out/list"
	done <"$out/fields"
	# Every datagram and every TCP segment with data must have been a message.
	payloads=$(tshark -n -r "$pcap" -T fields -e frame.number \
		-Y "udp.port == $MIT_KDC_PORT || (tcp.port == $MIT_KDC_PORT && tcp.len > 0)" | grep -c . || true)
	kerberos=$(($(grep -c . "$out/list" || true) + retransmitted))
	[ "$payloads" -eq "$kerberos" ] ||
		lethe_die "$pcap: $payloads payloads on the KDC port but $kerberos Kerberos messages"
}

# run_step NAME EXPECT_RC cmd...: capture the KDC port while cmd runs, then
# extract the messages into $work/NAME/.
run_step() {
	local name=$1 expect_rc=$2 rc=0
	shift 2
	lethe_log "step $name"
	lethe_capture_start "$work/$name.pcapng" "port $MIT_KDC_PORT"
	"$@" >"$work/$name.out" 2>&1 || rc=$?
	lethe_capture_stop
	if [ "$expect_rc" = 0 ] && [ $rc -ne 0 ]; then
		cat "$work/$name.out" >&2
		lethe_die "step $name: command failed (exit $rc)"
	fi
	if [ "$expect_rc" = fail ] && [ $rc -eq 0 ]; then
		cat "$work/$name.out" >&2
		lethe_die "step $name: command succeeded, it should have failed"
	fi
	extract_messages "$work/$name.pcapng" "$work/$name"
}

kinit_password() {        # kinit_password PASSWORD [kinit args...]
	local password=$1
	shift
	printf '%s\n' "$password" | mit_kinit "$@"
}

# ------------------------------------------------------------ checking

# msg STEP N: the path of message N (1-based) of a step.
msg() {
	printf '%s/%s/%02d.der' "$work" "$1" "$2"
}

# decode_step STEP TRANSPORT TYPES...: each message decodes with Lethe,
# re-encodes to the same bytes, went over TRANSPORT and has the expected
# msg-type; TYPES are msg-types, "30:N" a KRB-ERROR with error-code N.
decode_step() {
	local step=$1 transport=$2 i=0 n got_n type code want tr tstype frame
	local before=$failures
	shift 2
	local types=("$@")
	got_n=$(grep -c . "$work/$step/list" || true)
	if [ "$got_n" -ne $# ]; then
		fail_check "$step: $got_n messages captured, expected $# ($*)"
		tshark -n -r "$work/$step.pcapng" -d "udp.port==$MIT_KDC_PORT,kerberos" \
			-d "tcp.port==$MIT_KDC_PORT,kerberos" >&2 2>/dev/null || true
		cat "$work/$step.out" >&2
		return
	fi
	while read -r n tr tstype frame; do
		want=${types[$i]}
		i=$((i + 1))
		type=${want%%:*}
		code=${want#*:}
		local der=$work/$step/$n.der txt=$work/$step/$n.txt rc=0
		timeout 30 "$KRB5_TOOL" decode "$der" >"$txt" 2>&1 || rc=$?
		if [ $rc -ne 0 ]; then
			cat "$txt" >&2
			fail_check "$step message $n (frame $frame): krb5_tool decode exit $rc"
			continue
		fi
		[ "$tr" = "$transport" ] ||
			fail_check "$step message $n: sent over $tr, expected $transport"
		[ "$tstype" = "$type" ] ||
			fail_check "$step message $n: tshark reads msg-type $tstype, expected $type"
		expect "$step" "$n" "msg-type=$type" "reencode=identical"
		if [ "$code" != "$want" ]; then
			expect "$step" "$n" "error-code=$code"
		fi
	done <"$work/$step/list"
	[ "$failures" -ne "$before" ] || echo "ok: $step: $# messages over $transport decoded and re-encoded identically ($*)"
}

# expect STEP N "key=value"...: the decoded message has each line exactly.
expect() {
	local step=$1 n=$2 line txt
	txt=$(printf '%s/%s/%02d.txt' "$work" "$step" "$((10#$n))")
	shift 2
	for line in "$@"; do
		grep -qxF -- "$line" "$txt" ||
			fail_check "$step message $n: no line '$line' in $(basename "$txt"): $(grep -F -- "${line%%=*}=" "$txt" | head -3 | tr '\n' ' ')"
	done
}

# expect_absent STEP N "key"...: the decoded message has no such field.
expect_absent() {
	local step=$1 n=$2 key txt
	txt=$(printf '%s/%s/%02d.txt' "$work" "$step" "$((10#$n))")
	shift 2
	for key in "$@"; do
		! grep -q -- "^$key=" "$txt" || fail_check "$step message $n: unexpected $key"
	done
}

# The exchanges every kinit with preauth goes through.
check_as_exchange() {
	local step=$1 transport=$2 etype=$3
	decode_step "$step" "$transport" 10 30:25 10 11
	expect "$step" 1 "req-body.cname=$USER" "req-body.cname.name-type=1" \
		"req-body.realm=$REALM" "req-body.sname=$TGS" "req-body.sname.name-type=2"
	expect_absent "$step" 1 "padata[0].enc-timestamp.etype"
	expect "$step" 2 "error-name=KDC_ERR_PREAUTH_REQUIRED" "realm=$REALM" "sname=$TGS" \
		"cname=$USER" "e-data.reencode=identical"
	grep -q '^e-data\[[0-9]*\]\.padata-type=19$' "$work/$step/02.txt" ||
		fail_check "$step: PREAUTH_REQUIRED error without PA-ETYPE-INFO2"
	grep -q '^e-data\[[0-9]*\]\.padata-type=2$' "$work/$step/02.txt" ||
		fail_check "$step: PREAUTH_REQUIRED error without PA-ENC-TIMESTAMP"
	expect "$step" 3 "req-body.cname=$USER" "req-body.realm=$REALM" "req-body.sname=$TGS"
	grep -q "^padata\[[0-9]*\]\.enc-timestamp\.etype=$etype\$" "$work/$step/03.txt" ||
		fail_check "$step: second AS-REQ without PA-ENC-TIMESTAMP of etype $etype"
	expect "$step" 4 "crealm=$REALM" "cname=$USER" "ticket.realm=$REALM" \
		"ticket.sname=$TGS" "enc-part.etype=$etype"
	# The nonce of the reply is checked once decrypted (check_decrypt).
}

# check_decrypt NAME AS_STEP [TGS_STEP]: open the encrypted parts with Lethe.
check_decrypt() {
	local name=$1 as=$2 tgs=${3:-} out=$work/$1.decrypt rc=0 save=()
	local args=("$(msg "$as" 3)" "$(msg "$as" 4)")
	[ -z "$tgs" ] || args+=("$(msg "$tgs" 1)" "$(msg "$tgs" 2)")
	if [ -n "${LETHE_KRB5_SEED_DIR:-}" ]; then
		mkdir -p "$LETHE_KRB5_SEED_DIR/$name"
		save=(-s "$LETHE_KRB5_SEED_DIR/$name")
	fi
	printf '%s\n' "$PASSWORD" |
		timeout 60 "$KRB5_TOOL" decrypt -k "$work/tickets.keytab" "${save[@]}" "${args[@]}" \
			>"$out" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		cat "$out" >&2
		fail_check "$name: krb5_tool decrypt exit $rc"
		return
	fi
	local want=(
		"as-req.pa-enc-timestamp.decrypt=ok"
		"as-req.pa-enc-timestamp.reencode=identical"
		"as-rep.enc-part.decrypt=ok"
		"as-rep.enc-part.app-tag=26"
		"as-rep.enc-part.srealm=$REALM"
		"as-rep.enc-part.sname=$TGS"
		"as-rep.enc-part.reencode=identical"
		"as-rep.enc-part.nonce-match=yes"
		"as-rep.ticket.enc-part.decrypt=ok"
		"as-rep.ticket.enc-part.cname=$USER"
		"as-rep.ticket.enc-part.crealm=$REALM"
		"as-rep.ticket.enc-part.reencode=identical"
	)
	if [ -n "$tgs" ]; then
		want+=(
			"tgs-req.ap-req.ticket.enc-part.decrypt=ok"
			"tgs-req.ap-req.ticket.enc-part.cname=$USER"
			"tgs-req.ap-req.authenticator.decrypt=ok"
			"tgs-req.ap-req.authenticator.cname=$USER"
			"tgs-req.ap-req.authenticator.reencode=identical"
			"tgs-rep.enc-part.decrypt=ok"
			"tgs-rep.enc-part.reencode=identical"
			"tgs-rep.enc-part.nonce-match=yes"
			"tgs-rep.ticket.enc-part.decrypt=ok"
			"tgs-rep.ticket.enc-part.cname=$USER"
			"tgs-rep.ticket.enc-part.reencode=identical"
		)
	fi
	local line before=$failures
	for line in "${want[@]}"; do
		grep -qxF -- "$line" "$out" || fail_check "$name: no line '$line' in decrypt output"
	done
	[ "$failures" -ne "$before" ] ||
		echo "ok: $name: Lethe opened every encrypted part ($(grep -c '\.decrypt=ok$' "$out") parts)"
}

# ------------------------------------------------------------ the steps

run_step kinit_udp 0 kinit_password "$PASSWORD" -r 2d "$USER"
check_as_exchange kinit_udp udp 18
expect kinit_udp 1 "req-body.kdc-options=0x40800000 forwardable,renewable"
check_decrypt kinit_udp_decrypt kinit_udp

# Controls: the checks above can fail. A truncated AS-REP must not decode,
# and the wrong password must not open the AS exchange.
as_rep=$(msg kinit_udp 4)
head -c "$(($(stat -c %s "$as_rep") - 1))" "$as_rep" >"$work/truncated.der"
rc=0
timeout 30 "$KRB5_TOOL" decode "$work/truncated.der" >"$work/truncated.txt" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q '^decode-error=' "$work/truncated.txt" ||
	fail_check "control: a truncated AS-REP decoded (exit $rc)"
rc=0
printf 'not the password\n' | timeout 60 "$KRB5_TOOL" decrypt "$(msg kinit_udp 3)" "$as_rep" \
	>"$work/wrong.txt" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q '^as-rep.enc-part.decrypt=FAILED' "$work/wrong.txt" ||
	fail_check "control: the wrong password opened the AS-REP (exit $rc)"
echo "ok: controls: truncated AS-REP refused, wrong password refused"

mit_client_transport tcp
run_step kinit_tcp 0 kinit_password "$PASSWORD" -r 2d "$USER"
check_as_exchange kinit_tcp tcp 18
check_decrypt kinit_tcp_decrypt kinit_tcp

mit_client_transport udp
run_step kvno 0 mit_kvno "$SERVICE"
decode_step kvno udp 12 13
expect kvno 1 "req-body.realm=$REALM" "req-body.sname=$SERVICE" \
	"padata[0].padata-type=1" "padata[0].ap-req.ticket.sname=$TGS" \
	"padata[0].ap-req.ticket.realm=$REALM" "padata[0].ap-req.reencode=identical"
expect_absent kvno 1 "req-body.cname"
expect kvno 2 "crealm=$REALM" "cname=$USER" "ticket.sname=$SERVICE" "ticket.realm=$REALM"
check_decrypt kvno_decrypt kinit_tcp kvno

run_step renew 0 mit_kinit -R
decode_step renew udp 12 13
grep -q '^req-body.kdc-options=0x[0-9a-f]* .*renew\($\|,\)' "$work/renew/01.txt" ||
	fail_check "renew: TGS-REQ without the renew option: $(grep kdc-options "$work/renew/01.txt")"
expect renew 1 "req-body.sname=$TGS" "padata[0].ap-req.ticket.sname=$TGS"
expect renew 2 "cname=$USER" "ticket.sname=$TGS"
check_decrypt renew_decrypt kinit_tcp renew

run_step wrong_password fail kinit_password "not the password" "$USER"
decode_step wrong_password udp 10 30:25 10 30:24
expect wrong_password 4 "error-name=KDC_ERR_PREAUTH_FAILED" "realm=$REALM" "sname=$TGS"

run_step unknown fail kinit_password "whatever" "$UNKNOWN"
decode_step unknown udp 10 30:6
expect unknown 1 "req-body.cname=$UNKNOWN"
expect unknown 2 "error-name=KDC_ERR_C_PRINCIPAL_UNKNOWN" "realm=$REALM"

# One kinit per enctype: Lethe's string-to-key must match MIT's for each.
for et in $MIT_AES_ENCTYPES; do
	case $et in
	aes128-cts-hmac-sha1-96) num=17 ;;
	aes256-cts-hmac-sha1-96) num=18 ;;
	aes128-cts-hmac-sha256-128) num=19 ;;
	aes256-cts-hmac-sha384-192) num=20 ;;
	esac
	mit_client_setup "$work/client-$num" "$REALM" 127.0.0.1 "$MIT_KDC_PORT" udp \
		"default_tkt_enctypes = $et"
	run_step "kinit_etype$num" 0 kinit_password "$PASSWORD" "$USER"
	check_as_exchange "kinit_etype$num" udp "$num"
	expect "kinit_etype$num" 1 "req-body.etype=$num"
	check_decrypt "kinit_etype${num}_decrypt" "kinit_etype$num"
done

if [ -n "${LETHE_KRB5_SEED_DIR:-}" ]; then
	for d in "$work"/*/list; do
		step=$(basename "$(dirname "$d")")
		mkdir -p "$LETHE_KRB5_SEED_DIR/$step"
		cp "$(dirname "$d")"/*.der "$LETHE_KRB5_SEED_DIR/$step/"
	done
fi

[ "$failures" -eq 0 ] || lethe_die "$failures checks failed"
echo "PASS: every MIT message decoded, matched and re-encoded byte for byte; every encrypted part opened"
