#!/usr/bin/env bash
# kdc_fresh_flood.sh LETHE_KDC LETHE_ADMIN: an AS-REQ for a client name the
# store does not hold costs the KDC no more than one for a known name.
#
# A read-your-writes KDC checks whether the store moved before it answers
# "client not found"; that check must stay cheap (no store read per
# request), or a flood of made-up names becomes a cheap way to load the KDC.
# as_flood.py sends, alternately, bursts of AS-REQs without padata for
# distinct unknown names (KDC_ERR_C_PRINCIPAL_UNKNOWN, 6) and for a known
# user (KDC_ERR_PREAUTH_REQUIRED, 25), 127.0.0.1 only, bounded in count and
# time. The KDC's CPU (utime + stime of all its threads, /proc/PID/stat) is
# read around each burst; the test fails when an unknown name costs more than
# 1.5 times a known one, or when any request goes unanswered.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"

KDC=${1:?usage: kdc_fresh_flood.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: kdc_fresh_flood.sh LETHE_KDC LETHE_ADMIN}
REALM=LETHE.TEST
TOTAL=${LETHE_FLOOD_REQUESTS:-20000}   # requests of each kind
ROUNDS=4                               # bursts of each kind, alternated
PER_ROUND=$((TOTAL / ROUNDS))
BURST_SECONDS=60                       # upper bound on one burst
MAX_RATIO_X100=150                     # unknown / known CPU per request, in %

lethe_require_tools python3 timeout awk
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_add_user alice 'alice: flood'
# Per-request log lines cost the same for both kinds but dominate the CPU
# and blur the comparison: keep them off (counters are still kept).
lethe_kdc_start "$KDC" "refresh_interval = 60s" "[logging]" "requests = no"

CLK_TCK=$(getconf CLK_TCK)

# utime + stime of the KDC, all threads, in clock ticks.
kdc_ticks() {
	# Fields after the ")" of comm: state is $1, utime $12, stime $13.
	sed 's/.*) //' "/proc/$LETHE_KDC_PID/stat" | awk '{ print $12 + $13 }'
}

# burst KIND: send PER_ROUND requests of KIND (unknown|known); add the ticks
# spent by the KDC to TICKS_<KIND>; fail unless every one got its answer.
TICKS_unknown=0
TICKS_known=0
burst() {
	local kind=$1 round=$2 before after out want args
	if [ "$kind" = unknown ]; then
		args=(--unknown "nobody${round}x")
		want=6
	else
		args=(alice)
		want=25
	fi
	before=$(kdc_ticks)
	out=$(timeout $((BURST_SECONDS + 10)) python3 "$HERE/as_flood.py" "$LETHE_KDC_PORT" "$REALM" \
		"$PER_ROUND" "${args[@]}" --seconds "$BURST_SECONDS") ||
		lethe_die "$kind burst $round: not every request was answered: $out"
	after=$(kdc_ticks)
	case "$out" in
	*"codes=$want:$PER_ROUND "*) ;;
	*) lethe_die "$kind burst $round: expected $PER_ROUND replies with error $want: $out" ;;
	esac
	printf -v "TICKS_$kind" '%d' $(($(eval echo "\$TICKS_$kind") + after - before))
	echo "$kind burst $round: $out kdc_ticks=$((after - before))"
}

# Warm up (first-touch costs are not either kind's).
python3 "$HERE/as_flood.py" "$LETHE_KDC_PORT" "$REALM" 500 alice --seconds 30 >/dev/null ||
	lethe_die "warm-up burst failed"
python3 "$HERE/as_flood.py" "$LETHE_KDC_PORT" "$REALM" 500 --unknown warmup --seconds 30 >/dev/null ||
	lethe_die "warm-up burst failed"

for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		burst unknown "$round"
		burst known "$round"
	else
		burst known "$round"
		burst unknown "$round"
	fi
done
lethe_kdc_alive || lethe_die "lethe-kdc died during the flood"

# Clock ticks are coarse (10 ms): demand enough of them to compare.
[ "$TICKS_known" -ge 5 ] || TICKS_known=5
us_unknown=$((TICKS_unknown * 1000000 / CLK_TCK / TOTAL))
us_known=$((TICKS_known * 1000000 / CLK_TCK / TOTAL))
ratio=$((TICKS_unknown * 100 / TICKS_known))
echo "summary: $TOTAL requests each; KDC CPU per request: unknown name ${us_unknown} us," \
	"known name ${us_known} us; ratio ${ratio}% (limit ${MAX_RATIO_X100}%)"
[ "$ratio" -le "$MAX_RATIO_X100" ] ||
	lethe_die "an AS-REQ for an unknown name costs the KDC ${ratio}% of one for a known name" \
		"(${us_unknown} us against ${us_known} us; limit ${MAX_RATIO_X100}%)"
lethe_kdc_stop
echo "PASS: kdc_fresh_flood"
