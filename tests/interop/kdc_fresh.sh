#!/usr/bin/env bash
# kdc_fresh.sh LETHE_KDC LETHE_ADMIN [postgresql]: read-your-writes. Every
# change lethe-admin commits is served by the very next request of an MIT
# client, with no wait in between.
#
# postgresql: the realm is in a real PostgreSQL (started here as an
# unprivileged user; lib/pg.sh) shared by two lethe-kdc; lethe-admin writes
# through the URI and the client asks KDC 2, which learns of each commit
# from PostgreSQL's NOTIFY alone (docs/kdc.md, "Read-your-writes").
#
# refresh_interval is 60 s here, so the periodic refresh cannot be what
# makes a check pass: only a KDC that sees the store move at once can.
# ITERATIONS times in a row, without any sleep, interleaved:
#  a. add-user uN, then kinit uN succeeds
#  b. passwd uN (new password), then kinit uN with the new password
#     succeeds and with the old one is refused (Password incorrect)
#  c. disable uN, then kinit uN is refused (credentials revoked)
#  d. add-service svc/hN + export-keytab, then kvno -k KEYTAB svc/hN
#     (with a TGT) gets a ticket the keytab decrypts
#  e. passwd --random svc/hN + export-keytab, then kvno -k reports kvno 2
#     and the new keytab decrypts the ticket
#  f. (postgresql) STOPPED_ROUNDS times: KDC 2 stopped (SIGSTOP), add-user
#     sN, kinit sN sent (its AS-REQ waiting in KDC 2's socket, the NOTIFY
#     in its LISTEN connection), SIGCONT:
#     kinit succeeds (the request waited for the notification's change)
# Failures are counted per kind (the first few shown); the test fails if any
# count is not zero.
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: kdc_fresh.sh LETHE_KDC LETHE_ADMIN [postgresql]}
ADMIN=${2:?usage: kdc_fresh.sh LETHE_KDC LETHE_ADMIN [postgresql]}
BACKEND=${3:-sqlite}
REALM=LETHE.TEST
ITERATIONS=${LETHE_FRESH_ITERATIONS:-100}
# On PostgreSQL each lethe-admin run costs more (a connection, a round trip per statement).
[ "$BACKEND" != postgresql ] || ITERATIONS=${LETHE_FRESH_ITERATIONS:-40}
STOPPED_ROUNDS=${LETHE_FRESH_STOPPED_ROUNDS:-10}
SHOW=3                      # failures shown in full per kind

lethe_require_tools kinit klist kvno kdestroy timeout grep sed cp
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

# Two enctypes keep the PBKDF2 work of 100 users (admin and kinit) small.
LETHE_ADMIN=$ADMIN
case $BACKEND in
sqlite)
	mkdir -p "$S/realm"
	LETHE_REALM_DIR=$(cd "$S/realm" && pwd)
	LETHE_REALM=$REALM
	lethe_realm_admin init --realm "$REALM" --enctypes "18 17"
	lethe_realm_add_user tester 'tester: fresh'
	lethe_kdc_start "$KDC" "refresh_interval = 60s"
	;;
postgresql)
	# shellcheck source=lib/pg.sh
	. "$HERE/lib/pg.sh"
	lethe_require_tools runuser ss
	lethe_pg_start
	URI=$(lethe_pg_createdb lethe_fresh)
	lethe_realm_use k1
	lethe_realm_attach "$S/k1" "$REALM" "$ADMIN" "$URI" "$S/realm.mkey"
	lethe_realm_admin init --realm "$REALM" --enctypes "18 17"
	lethe_realm_add_user tester 'tester: fresh'
	lethe_kdc_start "$KDC" "refresh_interval = 60s"
	# KDC 2, the one the client asks; lethe-admin writes through the URI.
	lethe_realm_use k2
	lethe_realm_attach "$S/k2" "$REALM" "$ADMIN" "$URI" "$S/realm.mkey"
	lethe_kdc_start "$KDC" "refresh_interval = 60s"
	;;
*) lethe_die "kdc_fresh.sh: backend '$BACKEND' is neither sqlite nor postgresql" ;;
esac
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
# One TGT, copied into a fresh cache for each kvno (kvno reuses a cached
# service ticket, which would hide the KDC's current answer).
printf '%s\n' 'tester: fresh' | mit_kinit tester >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit tester: $(cat "$S/kinit.out")"
cp "$S/client/ccache" "$S/tgt.ccache"

declare -A FAIL=([add-user]=0 [passwd]=0 [disable]=0 [add-service]=0 [rekey-service]=0)
KINDS="add-user passwd disable add-service rekey-service"

# failed KIND ITERATION TEXT: count it; show the first few.
# At most one failure per kind and iteration is counted.
declare -A FAILED_AT=()
failed() {
	local kind=$1 n=$2
	shift 2
	[ "${FAILED_AT[$kind]:-}" != "$n" ] || return 0
	FAILED_AT[$kind]=$n
	FAIL[$kind]=$((FAIL[$kind] + 1))
	if [ "${FAIL[$kind]}" -le "$SHOW" ]; then
		echo "FAILED $kind (iteration $n): $*" >&2
		echo "  KDC log: $(tail -2 "$LETHE_REALM_DIR/kdc.log" | tr '\n' ' ')" >&2
	fi
}

# kinit_with NAME PASSWORD: kinit into a throw-away cache; output in $S/k.out.
kinit_with() {
	printf '%s\n' "$2" | MIT_CLIENT_CCACHE=FILE:$S/user.ccache mit_kinit "$1" >"$S/k.out" 2>&1
}

# kvno_k KEYTAB SERVICE: a fresh copy of the TGT, then kvno -k; output in $S/v.out.
kvno_k() {
	cp "$S/tgt.ccache" "$S/svc.ccache"
	MIT_CLIENT_CCACHE=FILE:$S/svc.ccache mit_kvno -k "$1" "$2@$REALM" >"$S/v.out" 2>&1
}

admin() {
	lethe_realm_admin "$@"
}

started=$SECONDS
for n in $(seq 1 "$ITERATIONS"); do
	user=u$n
	svc=svc/h$n.lethe.test
	pw1="u$n: first"
	pw2="u$n: second"

	# a. a new user can kinit at once
	printf '%s\n' "$pw1" | admin add-user "$user" --password-stdin
	kinit_with "$user" "$pw1" ||
		failed add-user "$n" "kinit $user right after add-user: $(cat "$S/k.out")"

	# b. a new password works at once, the old one is refused at once
	printf '%s\n' "$pw2" | admin passwd "$user" --password-stdin
	kinit_with "$user" "$pw2" ||
		failed passwd "$n" "kinit $user with the new password: $(cat "$S/k.out")"
	if kinit_with "$user" "$pw1"; then
		failed passwd "$n" "kinit $user with the old password succeeded after passwd"
	elif ! grep -q 'Password incorrect' "$S/k.out"; then
		failed passwd "$n" "kinit $user with the old password: $(cat "$S/k.out")"
	fi

	# c. a disabled user is refused at once
	admin disable "$user"
	if kinit_with "$user" "$pw2"; then
		failed disable "$n" "kinit $user succeeded right after disable"
	elif ! grep -q 'revoked' "$S/k.out"; then
		failed disable "$n" "kinit $user after disable: $(cat "$S/k.out")"
	fi

	# d. a new service gets tickets at once; its keytab opens them
	admin add-service "$svc"
	admin export-keytab "$svc" -k "$S/h$n-1.keytab"
	if ! kvno_k "$S/h$n-1.keytab" "$svc"; then
		failed add-service "$n" "kvno -k $svc right after add-service: $(cat "$S/v.out")"
	elif ! grep -qx "$svc@$REALM: kvno = 1, keytab entry valid" "$S/v.out"; then
		failed add-service "$n" "kvno -k $svc: $(cat "$S/v.out")"
	fi

	# e. a new random key is used at once; the new keytab opens the ticket
	admin passwd "$svc" --random
	admin export-keytab "$svc" -k "$S/h$n-2.keytab"
	if ! kvno_k "$S/h$n-2.keytab" "$svc"; then
		failed rekey-service "$n" "kvno -k $svc right after passwd --random: $(cat "$S/v.out")"
	elif ! grep -qx "$svc@$REALM: kvno = 2, keytab entry valid" "$S/v.out"; then
		failed rekey-service "$n" "kvno -k $svc after passwd --random (want kvno 2): $(cat "$S/v.out")"
	fi
done
elapsed=$((SECONDS - started))

# Bytes waiting in the UDP sockets of the KDC's port (its workers'), from ss.
# Unread bytes on one of the KDC's store connections (PostgreSQL over a
# unix socket or TCP): the NOTIFY has reached it.
notify_queued() {
	ss -Hxtnp 2>/dev/null | awk -v p="pid=$LETHE_KDC_PID," 'index($0, p) && $3 > 0 { f = 1 }
		END { exit !f }'
}

udp_queued() {
	[ "$(ss -Hunl "sport = :$LETHE_KDC_PORT" | awk '{ q += $2 } END { print q + 0 }')" -gt 0 ]
}

# PostgreSQL only: a KDC that is not running when the change and the
# request arrive (stopped with SIGSTOP, as a loaded host may deschedule
# it): the notification waits on its LISTEN socket, kinit's AS-REQ on its
# UDP socket. On SIGCONT the worker must not answer before the refresher
# has applied the change (the LISTEN socket's unread bytes move the
# stamp); answering at once, it would say "unknown principal".
if [ "$BACKEND" = postgresql ]; then
	FAIL[stopped-kdc]=0
	KINDS="$KINDS stopped-kdc"
	# Stop KDC 2 at a moment it holds no advisory lock: stopped inside its
	# maintenance transaction, it would keep every writer waiting.
	stop_kdc_unlocked() {
		local tries held
		for ((tries = 0; tries < 100; tries++)); do
			kill -STOP "$LETHE_KDC_PID"
			held=$(lethe_pg_sql lethe_fresh "SELECT count(*) FROM pg_locks \
				WHERE locktype = 'advisory' AND granted")
			[ "$held" != 0 ] || return 0
			kill -CONT "$LETHE_KDC_PID"
			sleep 0.2
		done
		lethe_die "an advisory lock stayed held for 20 s"
	}
	for n in $(seq 1 "$STOPPED_ROUNDS"); do
		stop_kdc_unlocked
		printf '%s\n' "s$n: pw" | admin add-user "s$n" --password-stdin
		kinit_with "s$n" "s$n: pw" &
		kinit_pid=$!
		rc=0
		lethe_wait_until 30 "kinit's AS-REQ to wait at the stopped KDC" udp_queued || rc=$?
		# PostgreSQL's listening backend sends the NOTIFY on its own time
		# (that delay is the propagation bound docs/kdc.md gives); what is
		# tested is that a request arriving after it waits for the change.
		[ "$rc" -ne 0 ] ||
			lethe_wait_until 30 "the NOTIFY to reach the stopped KDC" notify_queued || rc=$?
		kill -CONT "$LETHE_KDC_PID"
		[ "$rc" -eq 0 ] || lethe_die "kinit's AS-REQ or the NOTIFY never reached the KDC's sockets"
		wait "$kinit_pid" ||
			failed stopped-kdc "$n" "kinit s$n at a KDC resumed after add-user: $(cat "$S/k.out")"
	done
fi

lethe_kdc_alive || lethe_die "lethe-kdc died: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
total=0
line="kdc_fresh: $ITERATIONS iterations in ${elapsed}s, failures:"
for kind in $KINDS; do
	rounds=$ITERATIONS
	[ "$kind" != stopped-kdc ] || rounds=$STOPPED_ROUNDS
	echo "failures $kind: ${FAIL[$kind]} of $rounds"
	line="$line $kind=${FAIL[$kind]}"
	total=$((total + FAIL[$kind]))
done
echo "$line total=$total"
[ "$total" -eq 0 ] ||
	lethe_die "$total changes were not served by the next request" \
		"(refresh_interval 60 s: the KDC did not see the store move)"
lethe_kdc_stop
if [ "$BACKEND" = postgresql ]; then
	lethe_realm_use k1
	lethe_kdc_stop
fi
echo "PASS: kdc_fresh ($BACKEND)"
