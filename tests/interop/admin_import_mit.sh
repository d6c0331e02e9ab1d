#!/usr/bin/env bash
# admin_import_mit.sh LETHE_KDC LETHE_ADMIN: a realm made with MIT's
# kadmin.local (users with passwords, special and norealm salts, services
# with keytabs and several kvnos, -allow_tix, -allow_svr, +requires_preauth,
# max life, max renew, expiry and password expiry)
# is dumped with kdb5_util and imported by `lethe-admin import-mit`; then
# lethe-kdc serves it to unmodified MIT clients:
#   - kinit with the passwords set under MIT works (every salt kind);
#   - kvno -k with the keytabs MIT's ktadd wrote accepts Lethe's tickets;
#   - a TGT that MIT's krb5kdc issued before the move gets service tickets
#     from lethe-kdc's TGS;
#   - a principal MIT had disabled (-allow_tix) is refused;
#   - the output lists what was not carried; a second import, an import
#     into a realm of another name and a wrong stash are refused.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/mit_realm.sh
. "$HERE/lib/mit_realm.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"

KDC=${1:?usage: admin_import_mit.sh LETHE_KDC LETHE_ADMIN}
ADMIN=${2:?usage: admin_import_mit.sh LETHE_KDC LETHE_ADMIN}
[ -x "$KDC" ] || lethe_die "not executable: $KDC"
[ -x "$ADMIN" ] || lethe_die "not executable: $ADMIN"
lethe_require_tools krb5kdc kdb5_util kadmin.local kinit kvno klist grep

REALM=LETHE.TEST
SVC=host/svc.lethe.test
WEB=HTTP/web.lethe.test
lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_log "an MIT realm made with kadmin.local"
mit_realm_create "$S/mit" "$REALM"
AES1="aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
mit_realm_addprinc alice 'alice one' "$AES1" +requires_preauth
# Two password changes that keep the old keys: kvnos 1, 2 and 3.
mit_realm_kadmin "cpw -keepold -e aes256-cts-hmac-sha1-96:normal -pw \"alice two\" alice" >/dev/null
mit_realm_kadmin "cpw -keepold -e aes256-cts-hmac-sha1-96:normal,aes256-cts-hmac-sha384-192:normal -pw \"alice three\" alice" >/dev/null
mit_realm_addprinc carol 'carol pw' "$AES1"
mit_realm_addprinc dave 'dave pw' "$AES1" -allow_tix
mit_realm_addprinc erin 'erin pw' "$AES1" -allow_svr +requires_preauth
mit_realm_kadmin "modprinc -maxlife \"5 hours\" -maxrenewlife \"2 days\" -expire \"2030-01-01 00:00:00 UTC\" -pwexpire \"2031-01-01 00:00:00 UTC\" erin" >/dev/null
mit_realm_kadmin "addprinc -e aes256-cts-hmac-sha1-96:special -pw \"frank pw\" frank" >/dev/null
mit_realm_kadmin "addprinc -e aes256-cts-hmac-sha1-96:norealm -pw \"gina pw\" gina" >/dev/null
mit_realm_addprinc_randkey "$SVC" "$AES1"
# Each ktadd makes new random keys under the next kvno and appends them to
# the keytab: the keytab ends with kvnos 2 and 3, the database with 3.
mit_realm_kadmin "ktadd -k $S/svc.keytab -e aes256-cts-hmac-sha1-96:normal $SVC" >/dev/null
mit_realm_kadmin "ktadd -k $S/svc.keytab -e aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal $SVC" >/dev/null
mit_realm_addprinc_randkey "$WEB" "aes256-cts-hmac-sha384-192" +ok_as_delegate
mit_realm_ktadd "$WEB" "$S/web.keytab"
mit_realm_kadmin "addpol -minlength 8 strict" >/dev/null
mit_realm_kadmin "modprinc -policy strict carol" >/dev/null
klist -k "$S/svc.keytab" | grep -q " 2 $SVC@$REALM" || lethe_die "svc.keytab lacks kvno 2"
klist -k "$S/svc.keytab" | grep -q " 3 $SVC@$REALM" || lethe_die "svc.keytab lacks kvno 3"

lethe_log "a TGT from MIT's krb5kdc before the move"
mit_kdc_start
mit_client_setup "$S/before" "$REALM" 127.0.0.1 "$MIT_KDC_PORT" udp
printf 'alice three\n' | mit_kinit alice >"$S/kinit-mit.out" 2>&1 ||
	lethe_die "kinit at MIT's KDC: $(cat "$S/kinit-mit.out")"
mit_kvno -k "$S/svc.keytab" "$SVC" >"$S/kvno-mit.out" 2>&1 ||
	lethe_die "kvno at MIT's KDC: $(cat "$S/kvno-mit.out")"
timeout 60 kdb5_util dump "$S/realm.dump" || lethe_die "kdb5_util dump failed"
mit_kdc_stop
head -1 "$S/realm.dump" | grep -qx 'kdb5_util load_dump version 7' ||
	lethe_die "unexpected dump header: $(head -1 "$S/realm.dump")"

lethe_log "import into a fresh Lethe realm"
lethe_realm_create "$S/lethe" "$REALM" "$ADMIN"
STORE=(-d "$LETHE_REALM_DIR/realm.db")
"$ADMIN" "${STORE[@]}" import-mit "$S/realm.dump" --stash "$MIT_REALM_DIR/stash" \
	>"$S/import.out" 2>"$S/import.err" ||
	lethe_die "import-mit failed: $(cat "$S/import.out" "$S/import.err")"
cat "$S/import.out"
expect_out() {
	grep -qF -- "$1" "$S/import.out" || lethe_die "import output lacks \"$1\""
}
expect_out "imported 11 principals (6 users, 4 services, 1 krbtgt)"
expect_out "K/M@$REALM: MIT's master key principal, not carried"
expect_out "carol@$REALM: requires_preauth added (Lethe's default); no_service added"
expect_out 'policy "strict" not carried'
expect_out "policy strict: not carried"
expect_out "kadmin/changepw@$REALM: flag -allow_tgs_req not carried; flag +password_changing_service not carried"
if grep -q "^erin@$REALM:.*no_service added" "$S/import.out"; then
	lethe_die "erin had -allow_svr: no_service is MIT's, not a default added"
fi

"$ADMIN" "${STORE[@]}" show alice >"$S/alice.show"
grep -q '^  kvno 3 enctype 20 ' "$S/alice.show" || lethe_die "alice lacks kvno 3: $(cat "$S/alice.show")"
grep -q '^  kvno 1 enctype 17 ' "$S/alice.show" || lethe_die "alice lacks kvno 1: $(cat "$S/alice.show")"
expect_out "erin@$REALM: password expiry 2031-01-01T00:00:00Z not carried"
"$ADMIN" "${STORE[@]}" show erin >"$S/erin.show"
for want in 'max life: 18000 s' 'max renew: 172800 s' 'expires: 2030-01-01T00:00:00Z'; do
	grep -qx "$want" "$S/erin.show" || lethe_die "erin: no '$want': $(cat "$S/erin.show")"
done
"$ADMIN" "${STORE[@]}" show dave | grep -q '^attributes:.* disabled' ||
	lethe_die "dave (-allow_tix) is not disabled"
"$ADMIN" "${STORE[@]}" show "$WEB" | grep -q '^attributes:.* ok_as_delegate' ||
	lethe_die "$WEB lost ok_as_delegate"
"$ADMIN" "${STORE[@]}" show frank | grep -q 'salt special' ||
	lethe_die "frank's special salt was not kept"
"$ADMIN" "${STORE[@]}" show gina | grep -q 'salt special' ||
	lethe_die "gina's norealm salt was not kept"

lethe_log "a second import is refused (the store is no longer fresh)"
rc=0
"$ADMIN" "${STORE[@]}" import-mit "$S/realm.dump" --stash "$MIT_REALM_DIR/stash" \
	>"$S/again.out" 2>&1 || rc=$?
[ "$rc" -eq 4 ] || lethe_die "second import: exit $rc, not 4: $(cat "$S/again.out")"
grep -q 'an import needs a fresh realm' "$S/again.out" || lethe_die "$(cat "$S/again.out")"

lethe_log "an import into a realm of another name is refused"
"$ADMIN" -d "$S/other.db" init --realm OTHER.TEST >/dev/null
rc=0
"$ADMIN" -d "$S/other.db" import-mit "$S/realm.dump" --stash "$MIT_REALM_DIR/stash" \
	>"$S/other.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lethe_die "the import into OTHER.TEST: exit $rc, not 2"
grep -q "not of the store's realm OTHER.TEST" "$S/other.out" || lethe_die "$(cat "$S/other.out")"
# The old stash format names no realm: then the dump's names are checked.
printf '\x12\x00\x20\x00\x00\x00' >"$S/old.stash"
head -c 32 /dev/zero >>"$S/old.stash"
rc=0
"$ADMIN" -d "$S/other.db" import-mit "$S/realm.dump" --stash "$S/old.stash" \
	>"$S/other.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lethe_die "the import into OTHER.TEST (old stash): exit $rc, not 2"
grep -q "is not of the store's realm OTHER.TEST" "$S/other.out" || lethe_die "$(cat "$S/other.out")"
"$ADMIN" -d "$S/other.db" list | grep -q '^alice' && lethe_die "OTHER.TEST got alice"

lethe_log "a stash of another MIT realm of the same name is refused, nothing written"
mkdir -p "$S/mit2"
(
	mit_realm_create "$S/mit2" "$REALM"
)
"$ADMIN" -d "$S/fresh.db" init --realm "$REALM" >/dev/null
rc=0
"$ADMIN" -d "$S/fresh.db" import-mit "$S/realm.dump" --stash "$S/mit2/stash" \
	>"$S/wrong.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || lethe_die "an import with another realm's stash succeeded"
grep -q 'does not decrypt with master key' "$S/wrong.out" || lethe_die "$(cat "$S/wrong.out")"
"$ADMIN" -d "$S/fresh.db" list >"$S/fresh.list"
# What init made (krbtgt and kadmin/changepw), nothing more.
[ "$(cut -f1 "$S/fresh.list" | sort | tr '\n' ' ')" = "kadmin/changepw@$REALM krbtgt/$REALM@$REALM " ] ||
	lethe_die "the failed import left principals: $(cat "$S/fresh.list")"

lethe_log "--keep-mit-flags keeps MIT's service and pre-authentication flags"
"$ADMIN" -d "$S/keep.db" init --realm "$REALM" >/dev/null
"$ADMIN" -d "$S/keep.db" import-mit "$S/realm.dump" --stash "$MIT_REALM_DIR/stash" \
	--keep-mit-flags >"$S/keep.out" 2>&1 || lethe_die "import --keep-mit-flags: $(cat "$S/keep.out")"
grep -q 'added' "$S/keep.out" && lethe_die "--keep-mit-flags still added defaults: $(cat "$S/keep.out")"
"$ADMIN" -d "$S/keep.db" show carol >"$S/carol.show"
grep -q '^allow_svr: yes' "$S/carol.show" || lethe_die "carol lost MIT's allow_svr: $(cat "$S/carol.show")"
grep -q '^attributes:.*requires_preauth' "$S/carol.show" && lethe_die "carol got requires_preauth"
"$ADMIN" -d "$S/keep.db" show erin | grep -q '^allow_svr: no' || lethe_die "erin lost -allow_svr"

lethe_log "lethe-kdc serves the imported realm"
lethe_kdc_start "$KDC"
mit_client_setup "$S/after" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
kinit_ok() {
	: >"$MIT_CLIENT_TRACE"
	printf '%s\n' "$2" | mit_kinit "$1" >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit $1 at lethe-kdc: $(cat "$S/kinit.out")"
}
kinit_ok frank 'frank pw'       # special salt
kinit_ok gina 'gina pw'         # norealm salt
kinit_ok carol 'carol pw'       # no preauth under MIT: Lethe asks for it
grep -q 'Additional pre-authentication required' "$MIT_CLIENT_TRACE" ||
	lethe_die "lethe-kdc asked carol for no pre-authentication: $(cat "$MIT_CLIENT_TRACE")"
kinit_ok alice 'alice three'
mit_kvno -k "$S/svc.keytab" "$SVC" >"$S/kvno.out" 2>&1 ||
	lethe_die "MIT's svc.keytab does not accept lethe-kdc's ticket: $(cat "$S/kvno.out")"
grep -q "kvno = 3, keytab entry valid" "$S/kvno.out" || lethe_die "$(cat "$S/kvno.out")"
mit_kvno -k "$S/web.keytab" "$WEB" >"$S/kvno.out" 2>&1 ||
	lethe_die "MIT's web.keytab does not accept lethe-kdc's ticket: $(cat "$S/kvno.out")"

lethe_log "the TGT MIT's krb5kdc issued is accepted by lethe-kdc's TGS"
mit_client_setup "$S/before" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
before=$(lethe_kdc_log_count "type=TGS .*service=$WEB")
mit_kvno -k "$S/web.keytab" "$WEB" >"$S/kvno-old.out" 2>&1 ||
	lethe_die "the MIT TGT got no ticket from lethe-kdc: $(cat "$S/kvno-old.out")"
grep -q "keytab entry valid" "$S/kvno-old.out" || lethe_die "$(cat "$S/kvno-old.out")"
[ "$(lethe_kdc_log_count "type=TGS .*service=$WEB")" -gt "$before" ] || lethe_die "lethe-kdc logged no TGS request"

lethe_log "a principal MIT had disabled is refused"
rc=0
printf 'dave pw\n' | mit_kinit dave >"$S/dave.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || lethe_die "dave (-allow_tix) got a TGT"
grep -qi 'revoked\|disabled' "$S/dave.out" || lethe_die "dave refused for another reason: $(cat "$S/dave.out")"

lethe_kdc_stop
lethe_log "admin_import_mit: all checks passed"
