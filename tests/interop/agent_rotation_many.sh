#!/usr/bin/env bash
# agent_rotation_many.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: one service
# rotated ROTATIONS times (default 1000: the kvno passes 255 and the 8-bit
# keytab field) while the realm keeps working.
#  - `lethe-agent --rotation 1s once` in a loop (overlap 5 s, max_ticket_life
#    2 s, enctype 18): each run registers the next kvno, accepted by
#    lethe-kdc's registrar; the last one `--rotation 1h`, so its key stays in use
#  - every CHECK_EVERY rotations, with refresh_interval 60 s and no sleep:
#    `lethe-admin add-user` then kinit of that user succeeds, `lethe-admin
#    passwd alice` then kinit alice with the new password succeeds
#    (read-your-writes; failures counted), and MIT `kvno -k KEYTAB`
#    gets a ticket for the service under a registered kvno, not older than
#    the last check's, that the agent's keytab decrypts
#  - at the end MIT kvno reports the newest kvno (> 255), MIT klist -k shows
#    it in the agent's keytab (the 32-bit kvno trailer: the 8-bit field would
#    say kvno mod 256), and kvno -k verifies the ticket with that keytab
# About 0.1 s per rotation on 2 cores (agent start, CMS signature and
# sealing, the registrar's checks and store transaction, the snapshot
# change): ~2 minutes for 1000; several times that under ASan. The time is
# logged, not asserted (speed is lethe-bench's business).
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_rotation_many.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_rotation_many.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_rotation_many.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=host/server.lethe.test@$REALM
ROTATIONS=${LETHE_ROTATIONS:-1000}
CHECK_EVERY=100
AGENT_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy timeout grep sed awk cp
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"
[ "$ROTATIONS" -gt 256 ] || lethe_die "LETHE_ROTATIONS must exceed 256 (the point of the test)"

lethe_scratch_dir
S=$LETHE_SCRATCH

# ---- the realm, the server's identity, the KDC ----------------------------------
lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
ALICE_PW='alice: 0'
lethe_realm_add_user alice "$ALICE_PW"
lethe_realm_add_user tester 'tester: many'
lethe_agent_identity "$S/srv" "$SVC" server.lethe.test
chmod 600 "$S/srv/server.key"
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "refresh_interval = 60s" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
KEYTAB=$S/srv/server.keytab
lethe_agent_conf "$S/srv/agent.conf" "$SVC" "$REG_PORT" "keytab = server.keytab" \
	"overlap = 5s" "max_ticket_life = 2s" "enctypes = 18" "verbosity = 0"
printf '%s\n' 'tester: many' | mit_kinit tester >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit tester: $(cat "$S/kinit.out")"
cp "$S/client/ccache" "$S/tgt.ccache"

# once ROTATION KVNO: one rotation and registration; fail unless kvno KVNO is OK.
once() {
	local rotation=$1 kvno=$2 rc=0
	timeout "$AGENT_TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" --rotation "$rotation" once \
		>"$S/once.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && grep -q "kdc 127.0.0.1:$REG_PORT $SVC kvno $kvno: OK" "$S/once.out" ||
		lethe_die "rotation $kvno: lethe-agent once exited $rc: $(grep -v '^[0-9-]*T' "$S/once.out");" \
			"the KDC said: $(grep -v 'event=kdc_req\|event=reg_request .*result=OK\|event=snapshot' \
				"$LETHE_REALM_DIR/kdc.log" | tail -4)"
	! lethe_kdc_log_has 'snapshot not rebuilt' ||
		lethe_die "rotation $kvno: the KDC stopped following the store:" \
			"$(grep -B1 'snapshot not rebuilt' "$LETHE_REALM_DIR/kdc.log" | head -2)"
}

# kvno_k: a fresh copy of the TGT, then MIT kvno -k with the agent's keytab;
# prints the kvno of the ticket; fails unless the keytab decrypted it.
kvno_k() {
	cp "$S/tgt.ccache" "$S/svc.ccache"
	MIT_CLIENT_CCACHE=FILE:$S/svc.ccache mit_kvno -k "$KEYTAB" "$SVC" >"$S/kvno.out" 2>&1 ||
		return 1
	grep -q "keytab entry valid" "$S/kvno.out" || return 1
	sed -n 's/.*: kvno = \([0-9]*\), keytab entry valid.*/\1/p' "$S/kvno.out"
}

# kinit_with NAME PASSWORD into a throw-away cache; output in $S/k.out.
kinit_with() {
	printf '%s\n' "$2" | MIT_CLIENT_CCACHE=FILE:$S/user.ccache mit_kinit "$1" >"$S/k.out" 2>&1
}

RYW_FAIL=0
RYW_CHECKS=0
ryw_failed() {
	RYW_FAIL=$((RYW_FAIL + 1))
	[ "$RYW_FAIL" -gt 3 ] || echo "FAILED read-your-writes: $*" >&2
}

# ---- the rotations -----------------------------------------------------------------
started=$SECONDS
last_seen=0
for k in $(seq 1 $((ROTATIONS - 1))); do
	once 1s "$k"
	[ $((k % CHECK_EVERY)) -eq 0 ] || continue

	# the service first, while the key just registered is in use (1 s + 5 s
	# overlap: slow builds spend longer than that on the admin steps below)
	kv=$(kvno_k) || lethe_die "rotation $k: kvno -k $SVC: $(cat "$S/kvno.out")"
	[ "$kv" -ge "$last_seen" ] && [ "$kv" -le "$k" ] ||
		lethe_die "rotation $k: the ticket is under kvno $kv (last check $last_seen, newest $k)"
	last_seen=$kv

	# lethe-admin changes, each served by the next request
	printf '%s\n' "u$k: pw" | lethe_realm_admin add-user "u$k" --password-stdin
	RYW_CHECKS=$((RYW_CHECKS + 1))
	kinit_with "u$k" "u$k: pw" || ryw_failed "rotation $k: kinit u$k right after add-user: $(cat "$S/k.out")"
	ALICE_PW="alice: $k"
	printf '%s\n' "$ALICE_PW" | lethe_realm_admin passwd alice --password-stdin
	RYW_CHECKS=$((RYW_CHECKS + 1))
	kinit_with alice "$ALICE_PW" ||
		ryw_failed "rotation $k: kinit alice right after passwd: $(cat "$S/k.out")"

	lethe_log "rotation $k after $((SECONDS - started))s: ticket kvno $kv; kinit after" \
		"add-user/passwd: $RYW_FAIL failures so far"
done
# The last key stays in use for an hour.
once 1h "$ROTATIONS"
elapsed=$((SECONDS - started))
lethe_log "$ROTATIONS rotations in ${elapsed}s"
lethe_kdc_alive || lethe_die "lethe-kdc died: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"

# ---- the newest kvno, end to end ---------------------------------------------------
newest_served() {
	[ "$(kvno_k)" = "$ROTATIONS" ]
}
lethe_wait_until 10 "MIT kvno to report kvno $ROTATIONS" newest_served ||
	lethe_die "MIT kvno -k: want kvno $ROTATIONS, verified by the keytab: $(cat "$S/kvno.out")"
mit_client_run klist -k "$KEYTAB" >"$S/klist-k.out" 2>&1 || lethe_die "klist -k: $(cat "$S/klist-k.out")"
kvnos=$(awk -v svc="$SVC" '$2 == svc { print $1 }' "$S/klist-k.out" | sort -n -u | tr '\n' ' ')
case " $kvnos" in
*" $ROTATIONS "*) ;;
*) lethe_die "MIT klist -k does not show kvno $ROTATIONS (32-bit trailer?): kvnos $kvnos" ;;
esac
if awk -v svc="$SVC" '$2 == svc && $1 < 256 { bad = 1 } END { exit !bad }' "$S/klist-k.out"; then
	lethe_die "MIT klist -k shows kvnos below 256 after $ROTATIONS rotations: $kvnos"
fi
set -- $kvnos
echo "ok: kvno $ROTATIONS is served, in the keytab (MIT klist -k: $# kvnos, $1 to ${!#}) and opens the ticket"

echo "summary: $ROTATIONS rotations in ${elapsed}s; read-your-writes failures $RYW_FAIL of $RYW_CHECKS"
[ "$RYW_FAIL" -eq 0 ] ||
	lethe_die "$RYW_FAIL of $RYW_CHECKS lethe-admin changes were not served by the next kinit" \
		"(refresh_interval 60 s) while the service rotated"
lethe_kdc_stop
echo "PASS: agent_rotation_many"
