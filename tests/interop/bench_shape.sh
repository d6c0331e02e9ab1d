#!/usr/bin/env bash
# bench_shape.sh LETHE_BENCH LETHE_KDC LETHE_ADMIN: lethe-bench --shape mit
# sends the AS-REQ that MIT kinit sends and the TGS-REQ shape of the issue
# (subkey, canonicalize, MIT's etypes, no FAST), against an MIT KDC (which
# sends a PA-FX-COOKIE to echo) and against lethe-kdc (which sends none).
# Both clients are captured with dumpcap and decoded by tshark; for the
# pre-authenticated AS-REQs the padata types in order, the etypes and the
# kdc-options must be the same. Every bench reply is verified (--sample 1),
# so a TGS reply not sealed in the subkey (usage 9) would count as bad.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_realm.sh
. "$HERE/lib/mit_realm.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/capture.sh
. "$HERE/lib/capture.sh"

BENCH=${1:?usage: bench_shape.sh LETHE_BENCH LETHE_KDC LETHE_ADMIN}
KDC=${2:?usage: bench_shape.sh LETHE_BENCH LETHE_KDC LETHE_ADMIN}
ADMIN=${3:?usage: bench_shape.sh LETHE_BENCH LETHE_KDC LETHE_ADMIN}
REALM=LETHE.TEST
SERVICE=host/server.lethe.test
PW='shape: pw'
lethe_require_tools jq tshark dumpcap timeout
export LC_ALL=C TZ=UTC
lethe_scratch_dir
S=$LETHE_SCRATCH
printf '%s\n' "$PW" >"$S/alice.pw"

# "padata types|etypes|kdc-options" of each message of MSG_TYPE (10 AS-REQ,
# 12 TGS-REQ) in capture FILE at PORT, one a line.
shapes() {
	local file=$1 port=$2 msg_type=$3
	tshark -r "$file" -d "udp.port==$port,kerberos" -Y "kerberos.msg_type == $msg_type" \
		-T fields -E separator='|' -e kerberos.padata_type -e kerberos.ENCTYPE \
		-e kerberos.kdc_options 2>"$S/tshark.err" ||
		lethe_die "tshark failed: $(cat "$S/tshark.err")"
}

# Capture kinit + kvno, then lethe-bench --shape mit (AS and TGS), against
# the KDC at PORT; compare the shapes. NAME labels the files.
compare_at() {
	local name=$1 port=$2 who mode out
	for who in kinit bench; do
		lethe_capture_start "$S/$name-$who.pcapng" "udp port $port"
		if [ "$who" = kinit ]; then
			mit_client_setup "$S/client-$name" "$REALM" 127.0.0.1 "$port" udp
			printf '%s\n' "$PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
				lethe_die "kinit ($name): $(cat "$S/kinit.out")"
			mit_kvno "$SERVICE" >"$S/kvno.out" 2>&1 ||
				lethe_die "kvno ($name): $(cat "$S/kvno.out")"
		else
			for mode in as tgs; do
				out=$(timeout 120 "$BENCH" --kdc "127.0.0.1:$port" --realm "$REALM" \
					--principal alice --password-file "$S/alice.pw" --shape mit \
					--mode "$mode" --service "$SERVICE" --requests 5 --inflight 1 \
					--sample 1 --json --quiet) || lethe_die "lethe-bench $mode ($name) failed"
				[ "$(jq '.ok == 5 and .verified == 5 and .errors == 0' <<<"$out")" = true ] ||
					lethe_die "lethe-bench $mode ($name): $out"
			done
		fi
		lethe_capture_stop
	done
	# The pre-authenticated AS-REQs (those with PA-ENC-TIMESTAMP, type 2).
	shapes "$S/$name-kinit.pcapng" "$port" 10 | grep -E '(^|,)2(,|\|)' | sort -u \
		>"$S/$name-kinit.as"
	shapes "$S/$name-bench.pcapng" "$port" 10 | grep -E '(^|,)2(,|\|)' | sort -u \
		>"$S/$name-bench.as"
	[ "$(wc -l <"$S/$name-kinit.as")" = 1 ] ||
		lethe_die "$name: kinit's AS-REQ shapes: $(cat "$S/$name-kinit.as")"
	cmp -s "$S/$name-kinit.as" "$S/$name-bench.as" ||
		lethe_die "$name: kinit sent $(cat "$S/$name-kinit.as"), lethe-bench $(cat "$S/$name-bench.as")"
	lethe_log "$name AS-REQ (padata|etypes|options): $(cat "$S/$name-bench.as")"
	shapes "$S/$name-bench.pcapng" "$port" 12 | sort -u >"$S/$name-bench.tgs"
	[ "$(cat "$S/$name-bench.tgs")" = "1|18,17,20,19,16,23,25,26|00010000" ] ||
		lethe_die "$name: lethe-bench TGS-REQ shapes: $(cat "$S/$name-bench.tgs")"
	lethe_log "$name kvno's TGS-REQ: $(shapes "$S/$name-kinit.pcapng" "$port" 12 | sort -u)"
}

mit_realm_create "$S/mit" "$REALM"
mit_realm_addprinc alice "$PW" "" +requires_preauth
mit_realm_addprinc_randkey "$SERVICE"
mit_kdc_start
compare_at mit "$MIT_KDC_PORT"
grep -q '^133,2,150,149|' "$S/mit-bench.as" ||
	lethe_die "against MIT, PA-FX-COOKIE was not echoed first: $(cat "$S/mit-bench.as")"
mit_kdc_stop
unset KRB5_CONFIG KRB5_KDC_PROFILE

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice "$PW"
lethe_realm_admin add-service "$SERVICE"
lethe_kdc_start "$KDC"
compare_at lethe "$LETHE_KDC_PORT"
lethe_log "bench shapes OK"
