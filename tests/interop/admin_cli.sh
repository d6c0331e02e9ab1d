#!/usr/bin/env bash
# admin_cli.sh LETHE_ADMIN: lethe-admin end to end. A realm is made, users
# and services added, shown, listed and exported; MIT klist reads the
# exported keytabs, and the keys of a password user equal those MIT ktutil
# derives from the same password and salt. The registration commands (trust,
# allow, reg-policy, service-policy, agents, audit, export-ca, export-kdc-cert,
# issue-cert) and maintain are checked, and a v1 store is upgraded at open. Misuse gives
# the documented exit codes (2 usage, 3 not found, 4 exists, 5 store/master key, 1 other).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/ktutil.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ktutil.sh"

ADMIN=${1:?usage: admin_cli.sh LETHE_ADMIN}
STEP_TIMEOUT=30         # seconds for any one command
REALM=LETHE.TEST
ENCTYPES="aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128"

lethe_require_tools klist ktutil python3 openssl timeout stdbuf stat grep sort
[ -x "$ADMIN" ] || lethe_die "lethe-admin not found at $ADMIN"

lethe_scratch_dir
S=$LETHE_SCRATCH

# MIT's tools read only this krb5.conf; no KDC is needed.
export KRB5_CONFIG=$S/krb5.conf
printf '[libdefaults]\n\tdefault_realm = %s\n' "$REALM" >"$KRB5_CONFIG"
unset KRB5_KTNAME KRB5_CLIENT_KTNAME
export LC_ALL=C TZ=UTC

DB=$S/realm.db
MKEY=$S/realm.db.mkey

# Run lethe-admin on the scratch store; stdout to $S/out, stderr to $S/err.
# Prints nothing; returns lethe-admin's exit code.
adm() {
	local rc=0
	timeout "$STEP_TIMEOUT" "$ADMIN" -d "$DB" "$@" >"$S/out" 2>"$S/err" || rc=$?
	return $rc
}

# adm that must succeed.
adm_ok() {
	adm "$@" || lethe_die "lethe-admin $* failed ($?): $(cat "$S/err")"
}

# adm that must exit with code $1.
adm_exit() {
	local want=$1 rc=0
	shift
	adm "$@" </dev/null || rc=$?
	[ "$rc" -eq "$want" ] ||
		lethe_die "lethe-admin $* exited $rc, want $want; stderr: $(cat "$S/err")"
	[ "$want" -eq 0 ] || [ -s "$S/err" ] ||
		lethe_die "lethe-admin $* failed without a message on stderr"
}

# Evaluate a Python expression over the JSON in $S/out (bound to j).
json_check() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("JSON check failed: " + sys.argv[2] + "\n" + json.dumps(j, indent=1))' \
		"$S/out" "$1" || lethe_die "JSON check failed: $1"
}

# klist's view of keytab $1 as sorted "KVNO PRINCIPAL (ENCTYPE) (0xKEY)" lines.
klist_keys() {
	timeout "$STEP_TIMEOUT" klist -k -e -K "$1" >"$S/klist.out" ||
		lethe_die "klist cannot read $1"
	tail -n +4 "$S/klist.out" | sed 's/^ *//; s/  */ /g' | sort
}

# MIT's keys for principal $1, kvno $2, password $3, every realm enctype, into keytab $4.
mit_password_keytab() {
	local princ=$1 kvno=$2 pw=$3 kt=$4 e
	for e in $ENCTYPES; do
		printf 'addent -password -p %s -k %s -e %s\n%s\n' "$princ" "$kvno" "$e" "$pw"
	done >"$S/ktutil.in"
	printf 'wkt %s\n' "$kt" >>"$S/ktutil.in"
	rm -f "$S/ktutil.log"
	ktutil_run "$S/ktutil.log" <"$S/ktutil.in"
}

mode_of() {
	stat -c %a "$1"
}

# ---- init -------------------------------------------------------------------
adm_ok --json init --realm "$REALM" --kdc-host kdc.lethe.test
json_check 'j["realm"] == "LETHE.TEST" and j["enctypes"] == [18, 17, 20, 19] and
 j["master_key_created"] is True and j["krbtgt"] == "krbtgt/LETHE.TEST@LETHE.TEST" and
 j["kvno"] == 1 and j["max_life"] == 36000 and j["max_renew"] == 604800 and
 j["clock_skew"] == 300 and "krbtgt/LETHE.TEST@LETHE.TEST" in j["kdc_certificate"]["subject"]'
[ "$(mode_of "$DB")" = 600 ] || lethe_die "store mode is $(mode_of "$DB"), want 600"
[ "$(mode_of "$MKEY")" = 600 ] || lethe_die "master key mode is $(mode_of "$MKEY"), want 600"
grep -qxE '[0-9a-f]{64}' "$MKEY" || lethe_die "master key file is not 64 hex digits"
python3 - "$DB" <<'EOF' || lethe_die "store is not in WAL mode or lacks its tables"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
assert {"schema_version", "realm", "generation", "principals", "keys", "credentials"} <= tables, tables
assert db.execute("SELECT count(*) FROM credentials").fetchone()[0] == 2
EOF
# The certificates: the KDC's verifies to the realm CA; no private key in clear.
python3 - "$DB" "$S" <<'EOF' || lethe_die "cannot read the certificates from the store"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = dict(db.execute("SELECT name, cert_pem FROM credentials").fetchall())
open(sys.argv[2] + "/ca.pem", "w").write(rows["realm-ca"])
open(sys.argv[2] + "/kdc-chain.pem", "w").write(rows["kdc"])
for (blob,) in db.execute("SELECT key_blob FROM credentials"):
    assert b"PRIVATE KEY" not in blob and len(blob) > 100
EOF
timeout "$STEP_TIMEOUT" openssl verify -CAfile "$S/ca.pem" "$S/kdc-chain.pem" >/dev/null ||
	lethe_die "the KDC certificate does not verify to the realm CA"
timeout "$STEP_TIMEOUT" openssl x509 -in "$S/kdc-chain.pem" -noout -text >"$S/kdc.txt"
for want in 'DNS:kdc.lethe.test' 'Signing KDC Response' 'CA:FALSE' 'ASN1 OID: prime256v1' \
	'CN = krbtgt/LETHE.TEST@LETHE.TEST'; do
	grep -qF "$want" "$S/kdc.txt" || lethe_die "KDC certificate lacks '$want'"
done
# id-pkinit-san (1.3.6.1.5.2.2) holding KRB5PrincipalName krbtgt/LETHE.TEST@LETHE.TEST.
timeout "$STEP_TIMEOUT" openssl x509 -in "$S/kdc-chain.pem" -outform DER |
	openssl asn1parse -inform DER >"$S/kdc.asn1"
grep -qi '06062B0601050202A031302FA00C1B0A4C455448452E54455354A11F301DA003020102A1163014' \
	"$S/kdc.asn1" || lethe_die "KDC certificate lacks the PKINIT SAN for krbtgt"
grep -qi 'A11630141B066B72627467741B0A4C455448452E54455354' "$S/kdc.asn1" ||
	lethe_die "KDC certificate's PKINIT SAN does not name krbtgt/LETHE.TEST"
timeout "$STEP_TIMEOUT" openssl x509 -in "$S/ca.pem" -noout -text >"$S/ca.txt"
grep -qF 'CA:TRUE' "$S/ca.txt" || lethe_die "the realm CA is not a CA"
adm_exit 4 init --realm "$REALM"
echo "ok: init made a 0600 WAL store, a 0600 master key, krbtgt and certificates"

# ---- add-user, show, list ---------------------------------------------------
PW='correct horse battery staple'
printf '%s\n' "$PW" | adm_ok add-user alice --password-stdin
adm_exit 4 add-user alice --password-stdin
adm_ok show alice
for want in 'principal: alice@LETHE.TEST' 'kind: user' 'keys: 4'; do
	grep -qxF "$want" "$S/out" || lethe_die "show: no line '$want' in: $(cat "$S/out")"
done
grep -q '^attributes:.* requires_preauth' "$S/out" || lethe_die "show: no requires_preauth"
grep -q '^attributes:.* no_service' "$S/out" || lethe_die "show: a user without no_service"
grep -qx 'allow_svr: no' "$S/out" || lethe_die "show: no 'allow_svr: no' line in: $(cat "$S/out")"
for e in 18 17 20 19; do
	grep -q "^  kvno 1 enctype $e .* long-term salt default" "$S/out" ||
		lethe_die "show: no kvno 1 enctype $e line in: $(cat "$S/out")"
done
cp "$S/out" "$S/show.txt"
adm_ok --json show alice
cp "$S/out" "$S/show.json"
json_check 'j["name"] == "alice@LETHE.TEST" and j["kind"] == "user" and
 "requires_preauth" in j["attributes"] and "disabled" not in j["attributes"] and
 "no_service" in j["attributes"] and j["allow_svr"] is False and
 [(k["kvno"], k["enctype"], k["kind"]) for k in j["keys"]] ==
 [(1, 18, "long-term"), (1, 17, "long-term"), (1, 20, "long-term"), (1, 19, "long-term")] and
 all(set(k) == {"kvno", "enctype", "enctype_name", "kind", "salt", "s2k_iterations",
   "registered_at", "use_until", "accept_until", "registered_by"} for k in j["keys"])'

printf 'secret\n' | adm_ok add-user bob --password-stdin --no-preauth
adm_ok --json show bob
json_check '"requires_preauth" not in j["attributes"]'
adm_ok --json list
json_check 'j == [{"name": "alice@LETHE.TEST", "kind": "user"},
 {"name": "bob@LETHE.TEST", "kind": "user"},
 {"name": "kadmin/changepw@LETHE.TEST", "kind": "service"},
 {"name": "krbtgt/LETHE.TEST@LETHE.TEST", "kind": "krbtgt"}]'
echo "ok: add-user, show (text and JSON) and list --json"

# On a terminal the password is asked twice, without echo (python3 pty).
python3 - "$ADMIN" "$DB" <<'EOF' || lethe_die "add-user with a terminal prompt failed"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-d", sys.argv[2], "add-user", "tty-user"])
seen = b""
def wait_for(text, limit=20):
    global seen
    end = time.time() + limit
    while text not in seen:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            sys.exit("timed out waiting for %r; got %r" % (text, seen))
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            chunk = b""
        if not chunk:
            sys.exit("lethe-admin closed the terminal; got %r" % seen)
        seen += chunk
wait_for(b"Password: ")
os.write(fd, b"Tty pass 1\n")
wait_for(b"Password again: ")
os.write(fd, b"Tty pass 1\n")
wait_for(b"added tty-user@LETHE.TEST")
_, status = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit("exit status %d: %r" % (status, seen))
if b"Tty pass" in seen:
    sys.exit("the password was echoed: %r" % seen)
EOF
adm_ok delete tty-user
echo "ok: add-user asks twice on a terminal, without echo"

# ---- keys equal MIT's for the same password and salt --------------------------
adm_ok export-keytab alice -k "$S/alice.keytab"
[ "$(mode_of "$S/alice.keytab")" = 600 ] || lethe_die "keytab mode is not 600"
mit_password_keytab alice@LETHE.TEST 1 "$PW" "$S/mit-alice.keytab"
klist_keys "$S/alice.keytab" >"$S/alice.lethe"
klist_keys "$S/mit-alice.keytab" >"$S/alice.mit"
[ "$(wc -l <"$S/alice.lethe")" -eq 4 ] || lethe_die "want 4 keys: $(cat "$S/alice.lethe")"
diff -u "$S/alice.mit" "$S/alice.lethe" >&2 ||
	lethe_die "Lethe's password keys differ from MIT ktutil's"
# show never prints key bytes.
while read -r _ _ _ key; do
	hex=${key#(0x}
	hex=${hex%)}
	[ ${#hex} -ge 32 ] || lethe_die "unexpected klist key field: $key"
	if grep -qi "$hex" "$S/show.txt" "$S/show.json"; then
		lethe_die "show printed key bytes"
	fi
done <"$S/alice.lethe"
if grep -qiE '[0-9a-f]{32}' "$S/show.txt" "$S/show.json"; then
	lethe_die "show printed a long hex string"
fi
echo "ok: alice's four keys equal MIT's string-to-key; show prints no key bytes"

# ---- passwd keeps the previous kvno; export merges --------------------------------
PW2='tr0ub4dor&3'
printf '%s\n' "$PW2" | adm_ok --json passwd alice --password-stdin
json_check 'j["kvno"] == 2'
adm_ok export-keytab alice -k "$S/alice.keytab"
klist_keys "$S/alice.keytab" >"$S/alice2.lethe"
[ "$(grep -c '^1 alice@' "$S/alice2.lethe")" -eq 4 ] &&
	[ "$(grep -c '^2 alice@' "$S/alice2.lethe")" -eq 4 ] ||
	lethe_die "keytab after passwd should hold kvnos 1 and 2: $(cat "$S/alice2.lethe")"
grep '^1 ' "$S/alice2.lethe" | diff -u "$S/alice.mit" - >&2 ||
	lethe_die "kvno 1 keys changed after passwd"
mit_password_keytab alice@LETHE.TEST 2 "$PW2" "$S/mit-alice2.keytab"
klist_keys "$S/mit-alice2.keytab" >"$S/alice2.mit"
grep '^2 ' "$S/alice2.lethe" | diff -u "$S/alice2.mit" - >&2 ||
	lethe_die "kvno 2 keys differ from MIT's for the new password"
printf 'third\n' | adm_ok passwd alice --password-stdin
adm_ok --json show alice
json_check 'sorted({k["kvno"] for k in j["keys"]}) == [2, 3]'
echo "ok: passwd makes kvno 2 then 3, keeping one previous kvno; export merges"

# ---- add-service, export-keytab, MIT klist ------------------------------------
adm_ok add-service host/srv.lethe.test
adm_ok --json show host/srv.lethe.test
json_check 'j["kind"] == "service" and len(j["keys"]) == 4 and
 "requires_preauth" in j["attributes"] and "no_service" not in j["attributes"] and
 j["allow_svr"] is True'
adm_ok export-keytab host/srv.lethe.test -k "$S/srv.keytab"
klist_keys "$S/srv.keytab" >"$S/srv.lethe"
for e in $ENCTYPES; do
	grep -q "^1 host/srv.lethe.test@LETHE.TEST ($e) (0x[0-9a-f]*)$" "$S/srv.lethe" ||
		lethe_die "klist: no kvno 1 $e key for host/srv: $(cat "$S/srv.lethe")"
done
[ "$(wc -l <"$S/srv.lethe")" -eq 4 ] || lethe_die "want 4 service keys"
if compgen -G "$S/.*.tmp" >/dev/null; then lethe_die "a temp file was left behind"; fi
echo "ok: add-service and export-keytab; MIT klist reads kvno 1 with the four enctypes"

# ---- disable, enable, delete -----------------------------------------------------
adm_ok disable bob
adm_ok --json show bob
json_check '"disabled" in j["attributes"]'
adm_ok enable bob
adm_ok --json show bob
json_check '"disabled" not in j["attributes"]'
adm_ok delete bob
adm_exit 3 show bob
echo "ok: disable, enable, delete"

# ---- modify: allow_svr (a user as a ticket's server), requires_preauth ----------
adm_ok modify alice --allow-svr
grep -qx 'modified alice@LETHE.TEST (allow_svr: yes, requires_preauth: yes, policy: none)' "$S/out" ||
	lethe_die "modify --allow-svr printed: $(cat "$S/out")"
adm_ok show alice
grep -qx 'allow_svr: yes' "$S/out" || lethe_die "show after --allow-svr: $(cat "$S/out")"
adm_ok --json modify alice --no-allow-svr --no-requires-preauth
json_check 'j == {"principal": "alice@LETHE.TEST", "allow_svr": False, "requires_preauth": False,
 "policy": None}'
adm_ok --json show alice
json_check 'j["allow_svr"] is False and "no_service" in j["attributes"] and
 "requires_preauth" not in j["attributes"]'
adm_ok modify alice --requires-preauth
adm_ok --json show alice
json_check '"requires_preauth" in j["attributes"] and j["allow_svr"] is False'
printf 'svc
' | adm_ok add-user carol --password-stdin --allow-svr
adm_ok --json show carol
json_check 'j["allow_svr"] is True and "no_service" not in j["attributes"] and
 "requires_preauth" in j["attributes"]'
adm_ok delete carol
adm_exit 2 modify alice
adm_exit 2 modify alice --allow-svr --no-allow-svr
adm_exit 2 modify alice --password-stdin --allow-svr
adm_exit 2 add-service host/x.lethe.test --allow-svr
adm_exit 3 modify nobody --allow-svr
adm_exit 1 modify krbtgt/LETHE.TEST --no-allow-svr
echo "ok: modify --[no-]allow-svr and --[no-]requires-preauth; add-user --allow-svr; show says allow_svr"

# ---- password policies ---------------------------------------------------------------
# adm_exit with standard input passed through (a password).
adm_exit_in() {
	local want=$1 rc=0
	shift
	adm "$@" || rc=$?
	[ "$rc" -eq "$want" ] ||
		lethe_die "lethe-admin $* exited $rc, want $want; stderr: $(cat "$S/err")"
}

adm_ok policy add strict --min-length 12 --min-classes 3 --history 2 --max-age 90d
grep -qx 'added strict: min_length 12, min_classes 3, history 2, max_age 7776000 s, principals 0' \
	"$S/out" || lethe_die "policy add printed: $(cat "$S/out")"
adm_exit 4 policy add strict
adm_exit 2 policy add bad --min-classes 6
adm_exit 2 policy add bad --max-age soon
adm_exit 2 policy modify strict
adm_exit 3 policy modify nope --history 1
adm_exit 3 policy show nope
printf 'Short-1\n' | adm_exit_in 1 add-user dave --password-stdin --policy strict
grep -q "Password is too short: the policy asks for at least 12 characters" "$S/err" ||
	lethe_die "add-user did not say why: $(cat "$S/err")"
printf 'Long-Enough-Pw-1\n' | adm_exit_in 3 add-user dave --password-stdin --policy nope
printf 'Long-Enough-Pw-1\n' | adm_ok add-user dave --password-stdin --policy strict
adm_ok --json show dave
json_check 'j["policy"] == "strict" and
 7776000 - 60 <= j["password_expires_at"] - j["password_changed_at"] <= 7776000'
adm_ok show dave
grep -qx 'policy: strict' "$S/out" || lethe_die "show has no policy line: $(cat "$S/out")"
grep -q '^password expires: 20' "$S/out" || lethe_die "show has no expiry: $(cat "$S/out")"
printf 'Long-Enough-Pw-2\n' | adm_ok passwd dave --password-stdin
printf 'Long-Enough-Pw-2\n' | adm_exit_in 1 passwd dave --password-stdin
grep -q "Cannot reuse password" "$S/err" || lethe_die "passwd did not refuse a reuse: $(cat "$S/err")"
adm_exit 4 policy delete strict
adm_ok passwd dave --expire-now
adm_ok show dave
grep -q '^password expires: .*(expired)$' "$S/out" || lethe_die "not expired: $(cat "$S/out")"
adm_ok policy modify strict --max-age 0 --history 0
adm_ok --json policy show strict
json_check 'j == {"name": "strict", "min_length": 12, "min_classes": 3, "history": 0,
 "max_age": 0, "principals": 1}'
adm_ok --json modify dave --no-policy
json_check 'j["policy"] is None'
adm_ok policy delete strict
adm_ok --json policy list
json_check 'j == []'
adm_ok delete dave
echo "ok: policy add/modify/show/list/delete, --policy, passwd honours the policy and --expire-now"

# ---- master key from stdin, configuration file ------------------------------------
timeout "$STEP_TIMEOUT" "$ADMIN" -d "$DB" --master-key-stdin list <"$MKEY" >"$S/out" ||
	lethe_die "--master-key-stdin with the right key failed"
grep -q '^alice@LETHE.TEST	user$' "$S/out" || lethe_die "list: no alice line"
printf '[store]\npath = %s\nmaster_key_file = %s\n' "$DB" "$MKEY" >"$S/lethe.conf"
timeout "$STEP_TIMEOUT" "$ADMIN" -c "$S/lethe.conf" list >"$S/out" ||
	lethe_die "list with a configuration file failed"
grep -q '^host/srv.lethe.test@LETHE.TEST	service$' "$S/out" || lethe_die "config list"
# Relative paths in a configuration file are taken from the file's directory.
mkdir -p "$S/confdir"
cp "$DB" "$S/confdir/rel.db"
cp "$MKEY" "$S/confdir/rel.mkey"
printf '[store]\npath = rel.db\nmaster_key_file = rel.mkey\n' >"$S/confdir/rel.conf"
(cd / && timeout "$STEP_TIMEOUT" "$ADMIN" -c "$S/confdir/rel.conf" list) >"$S/out" ||
	lethe_die "list with relative paths in a configuration file, run from /, failed"
grep -q '^alice@LETHE.TEST	user$' "$S/out" || lethe_die "relative config list: no alice line"
printf '[store]\npaht = x\n' >"$S/bad.conf"
rc=0
timeout "$STEP_TIMEOUT" "$ADMIN" -c "$S/bad.conf" list >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lethe_die "unknown config key: exit $rc, want 2"
echo "ok: master key on stdin and store paths from a configuration file"

# ---- misuse: documented exit codes -------------------------------------------------
adm_exit 2 frobnicate
adm_exit 2
adm_exit 2 add-user
adm_exit 2 show
adm_exit 2 show a b
adm_exit 2 export-keytab alice
adm_exit 2 add-user alice@OTHER.REALM --password-stdin
adm_exit 2 --bogus-flag list
adm_exit 2 add-user carol          # no password source and no terminal
adm_exit 3 show nobody
adm_exit 3 delete nobody
adm_exit 3 disable nobody
adm_exit 3 passwd nobody --random
adm_exit 3 export-keytab nobody -k "$S/nobody.keytab"
[ ! -e "$S/nobody.keytab" ] || lethe_die "a keytab was written for nobody"
adm_exit 4 add-service host/srv.lethe.test
adm_exit 1 delete "krbtgt/$REALM"
rc=0
printf '%064d\n' 7 | timeout "$STEP_TIMEOUT" "$ADMIN" -d "$DB" --master-key-stdin \
	list >/dev/null 2>"$S/err" || rc=$?
[ "$rc" -eq 5 ] || lethe_die "wrong master key: exit $rc, want 5"
grep -q 'wrong master key' "$S/err" || lethe_die "wrong master key: message: $(cat "$S/err")"
rc=0
timeout "$STEP_TIMEOUT" "$ADMIN" -d "$S/none.db" list >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 5 ] || lethe_die "missing store: exit $rc, want 5"
rc=0
timeout "$STEP_TIMEOUT" "$ADMIN" -d "$S/new.db" init --realm X.TEST --max-life 10y \
	>/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lethe_die "bad --max-life: exit $rc, want 2"
rc=0
timeout "$STEP_TIMEOUT" "$ADMIN" -d "$S/new.db" init --realm X.TEST --enctypes "18 23" \
	>/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lethe_die "unsupported enctype: exit $rc, want 2"
[ ! -e "$S/new.db" ] && [ ! -e "$S/new.db.mkey" ] ||
	lethe_die "a refused init left files behind"
echo "ok: misuse exits 2 (usage), 3 (not found), 4 (exists), 5 (store), 1 (other)"

# ---- init --import-cert/--import-key ---------------------------------------------
for n in 1 2; do
	timeout "$STEP_TIMEOUT" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$S/imp$n.key" -out "$S/imp$n.pem" -days 30 \
		-subj "/CN=imported kdc $n" >/dev/null 2>&1 || lethe_die "openssl req failed"
done
rc=0
timeout "$STEP_TIMEOUT" "$ADMIN" -d "$S/imp.db" init --realm IMP.TEST \
	--import-cert "$S/imp1.pem" --import-key "$S/imp2.key" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || lethe_die "mismatched imported key: exit $rc, want 2"
[ ! -e "$S/imp.db" ] && [ ! -e "$S/imp.db.mkey" ] ||
	lethe_die "a refused import left files behind"
timeout "$STEP_TIMEOUT" "$ADMIN" -d "$S/imp.db" --json init --realm IMP.TEST \
	--import-cert "$S/imp1.pem" --import-key "$S/imp1.key" >"$S/out" ||
	lethe_die "init with an imported certificate failed"
json_check 'j["kdc_certificate"]["imported"] is True and
 j["kdc_certificate"]["subject"] == "CN=imported kdc 1"'
python3 - "$S/imp.db" "$S/imp1.pem" <<'EOF' || lethe_die "imported certificate not stored as given"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = dict(db.execute("SELECT name, cert_pem FROM credentials").fetchall())
assert set(rows) == {"kdc"}, rows.keys()
assert rows["kdc"] == open(sys.argv[2]).read()
EOF
echo "ok: init imports a matching certificate and key, refuses a mismatched pair"

# ---- temporary-key registration: trust, allow, policies, audit, certificates ----
adm_ok --json trust list
json_check 'len(j) == 1 and j[0]["name"] == "realm-ca" and
 j[0]["subject"] == "CN=Lethe realm CA '"$REALM"',O='"$REALM"'"'
adm_ok export-ca -o "$S/tk-realm-ca.pem"
adm_ok export-kdc-cert -o "$S/tk-kdc-chain.pem"
[ "$(grep -c 'BEGIN CERTIFICATE' "$S/tk-kdc-chain.pem")" -eq 2 ] ||
	lethe_die "export-kdc-cert did not write the KDC certificate and the CA"
timeout "$STEP_TIMEOUT" openssl verify -CAfile "$S/tk-realm-ca.pem" "$S/tk-kdc-chain.pem" \
	>/dev/null || lethe_die "the exported KDC certificate does not chain to the realm CA"
adm_exit 4 export-ca -o "$S/tk-realm-ca.pem"
adm_exit 2 export-ca

adm_ok issue-cert --principal HTTP/www.lethe.test --dns www.lethe.test --days 30 \
	--key-out "$S/tk-www.key" --cert-out "$S/tk-www.pem"
[ "$(mode_of "$S/tk-www.key")" = 600 ] || lethe_die "issued key file is not mode 0600"
timeout "$STEP_TIMEOUT" openssl x509 -in "$S/tk-www.pem" -noout -text >"$S/tk-x509.txt" ||
	lethe_die "openssl cannot read the issued certificate"
grep -q 'othername: *1\.3\.6\.1\.5\.2\.2' "$S/tk-x509.txt" ||
	lethe_die "no id-pkinit-san otherName in the issued certificate"
grep -q 'DNS:www\.lethe\.test' "$S/tk-x509.txt" || lethe_die "no DNS SAN in the issued certificate"
grep -q 'PKINIT Client Auth, TLS Web Client Authentication' "$S/tk-x509.txt" ||
	lethe_die "issued certificate lacks EKU id-pkinit-KPClientAuth + clientAuth"
grep -A1 'Key Usage: critical' "$S/tk-x509.txt" | grep -q 'Digital Signature' ||
	lethe_die "issued certificate lacks key usage digitalSignature"
timeout "$STEP_TIMEOUT" openssl verify -CAfile "$S/tk-realm-ca.pem" "$S/tk-www.pem" >/dev/null ||
	lethe_die "issued certificate does not chain to the realm CA"
# The otherName id-pkinit-san holds KRB5PrincipalName
# { realm [0] LETHE.TEST, principalName [1] { NT-PRINCIPAL, HTTP/www.lethe.test } }.
want=$(python3 -c 'import sys
def tlv(tag, body): return bytes([tag, len(body)]) + body
gs = lambda s: tlv(0x1b, s.encode())
name = tlv(0x30, tlv(0xa0, tlv(0x02, b"\x01")) +
           tlv(0xa1, tlv(0x30, gs("HTTP") + gs("www.lethe.test"))))
kpn = tlv(0x30, tlv(0xa0, gs(sys.argv[1])) + tlv(0xa1, name))
print("06062B0601050202" + tlv(0xa0, kpn).hex().upper())' "$REALM")
timeout "$STEP_TIMEOUT" openssl x509 -in "$S/tk-www.pem" -outform DER |
	openssl asn1parse -inform DER >"$S/tk-asn1.txt"
grep -qi "$want" "$S/tk-asn1.txt" ||
	lethe_die "the id-pkinit-san does not name HTTP/www.lethe.test@$REALM"
adm_exit 4 issue-cert --principal HTTP/www.lethe.test --key-out "$S/tk-www.key" \
	--cert-out "$S/tk-www2.pem"
adm_exit 2 issue-cert --principal HTTP/x@OTHER.REALM --key-out "$S/tk-x.key" --cert-out "$S/tk-x.pem"
adm_exit 2 issue-cert --principal HTTP/x --days 0 --key-out "$S/tk-x.key" --cert-out "$S/tk-x.pem"
[ ! -e "$S/tk-x.key" ] || lethe_die "a refused issue-cert wrote a key"
echo "ok: export-ca, export-kdc-cert and issue-cert (SAN, EKU, chain) work"

adm_exit 2 trust add other "$S/tk-www.pem"          # not a CA
adm_exit 2 trust add other "$S/tk-nonexistent.pem"
adm_exit 4 trust add realm-ca "$S/tk-realm-ca.pem"
adm_ok trust add second-ca "$S/tk-realm-ca.pem"
adm_ok --json trust list
json_check '[a["name"] for a in j] == ["realm-ca", "second-ca"]'
adm_ok trust remove second-ca
adm_exit 3 trust remove second-ca
adm_exit 2 trust frobnicate

SPKI=00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF
adm_ok --json allow --spki "$SPKI" 'HTTP/*@'"$REALM"
json_check 'j["id"] == 1'
adm_ok allow --subject "CN=www.lethe.test,O=Example" 'HTTP/www.lethe.test@'"$REALM"
adm_exit 2 allow --san www.lethe.test 'host/www.lethe.test@'"$REALM"
grep -q 'TYPE:VALUE' "$S/err" || lethe_die "a bare --san value: $(cat "$S/err")"
adm_ok allow --san dns:www.lethe.test --callback 192.0.2.7 --callback '[2001:DB8::7]:8888' \
	'host/www.lethe.test@'"$REALM"
adm_exit 4 allow --san dns:www.lethe.test --callback 192.0.2.7 --callback '[2001:DB8::7]:8888' \
	'host/www.lethe.test@'"$REALM"
adm_exit 2 allow --san dns:www.lethe.test --callback www.lethe.test 'host/*'
adm_exit 2 allow --spki 0011 '*'
adm_exit 2 allow --san a --spki "$SPKI" '*'
adm_exit 2 allow --san a
adm_ok allow list --json
json_check '[(r["id"], r["kind"]) for r in j] == [(1, "spki"), (2, "subject"), (3, "san")] and
 j[0]["identity"] == "'"${SPKI,,}"'" and j[2]["pattern"] == "host/www.lethe.test@'"$REALM"'" and
 j[0]["callbacks"] == [] and j[2]["callbacks"] == ["192.0.2.7", "[2001:db8::7]:8888"]'
adm_ok allow list
grep -q "	callbacks 192.0.2.7 \\[2001:db8::7\\]:8888$" "$S/out" ||
	lethe_die "allow list shows no callbacks: $(cat "$S/out")"
adm_ok allow remove 2
adm_exit 3 allow remove 2
adm_exit 2 allow remove two
echo "ok: trust and allow add, list and remove, with exit codes 2, 3, 4"

adm_ok --json reg-policy
json_check 'j == {"auto_enrol": True, "dns_services": "host HTTP",
 "max_use_window": 86400, "enctypes": [18, 17, 20, 19]}'
adm_ok reg-policy --auto-enrol off --dns-services "host HTTP ldap" --max-use-window 2h
grep -qx 'auto-enrol: off' "$S/out" || lethe_die "reg-policy did not show the change"
adm_ok reg-policy --json
json_check 'j["auto_enrol"] is False and j["dns_services"] == "host HTTP ldap" and
 j["max_use_window"] == 7200'
adm_exit 2 reg-policy --auto-enrol maybe
adm_exit 2 reg-policy --max-use-window 0
adm_exit 2 reg-policy --dns-services 'host;rm'
adm_ok --json reg-policy
json_check 'j["max_use_window"] == 7200 and j["dns_services"] == "host HTTP ldap"'

adm_ok --json service-policy HTTP/www.lethe.test
json_check 'j["pubkey_tickets"] is False and j["classic_key"] is True and
 j["configured"] is False'
adm_ok service-policy HTTP/www.lethe.test --pubkey-tickets on --classic-key off
adm_ok --json service-policy HTTP/www.lethe.test
json_check 'j == {"principal": "HTTP/www.lethe.test@'"$REALM"'", "pubkey_tickets": True,
 "classic_key": False, "configured": True}'
adm_exit 2 service-policy HTTP/www.lethe.test --classic-key yes
adm_exit 2 service-policy HTTP/x@OTHER.REALM
echo "ok: reg-policy and service-policy show and change, refuse bad values"

adm_ok --json agents
json_check 'j == []'
adm_ok audit
grep -Eq '^long-term service keys: [1-9][0-9]*$' "$S/out" ||
	lethe_die "audit does not count the long-term service keys"
adm_ok audit --json
# kadmin/changepw is the KDC's own service (kpasswd), not counted.
json_check 'j["long_term_service_keys_present"] is True and
 j["long_term_service_keys"] == sum(1 for p in j["principals"] if p["kind"] == "service"
   and not p["name"].startswith("kadmin/changepw@")
   for k in p["keys"] if k["kind"] == "long-term") and
 sorted(j["long_term_service_principals"]) == sorted(p["name"] for p in j["principals"]
   if p["kind"] == "service" and p["keys"] and not p["name"].startswith("kadmin/changepw@")) and
 j["agent_principals"] == [] and j["agent_long_term_present"] is False and
 all("key" not in k and "keyvalue" not in k for p in j["principals"] for k in p["keys"])'
n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["long_term_service_keys"])' "$S/out")
adm_ok audit
grep -qx "long-term service keys: $n" "$S/out" || lethe_die "audit text and JSON disagree"
echo "ok: agents and audit (long-term service keys: $n)"

# maintain: an expired temporary key (a row copied in, never decrypted by
# audit or maintain) leaves the store; audit shows no expired key after.
python3 - "$DB" <<'PYEOF' || lethe_die "cannot add an expired temporary key"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("""INSERT INTO keys (principal_id, kvno, enctype, key_blob, kind,
 registered_at, use_until, accept_until, registered_by)
 SELECT principal_id, 900, enctype, key_blob, 'temporary', 1, 2, 3, 'test'
 FROM keys WHERE kind = 'long-term' LIMIT 1""")
db.commit()
PYEOF
adm_ok audit --json
json_check 'any(k["state"] == "expired" for p in j["principals"] for k in p["keys"])'
adm_ok maintain --json
json_check 'j["keys_deleted"] == 1 and j["principals_touched"] == 1 and
 j["checkpointed"] is True and j["checkpoint_busy"] is False'
adm_ok maintain
grep -qx 'expired temporary keys deleted: 0 (of 0 principals)' "$S/out" ||
	lethe_die "maintain deleted something twice: $(cat "$S/out")"
adm_exit 2 maintain extra
adm_ok audit --json
json_check 'all(k["state"] != "expired" for p in j["principals"] for k in p["keys"])'
echo "ok: maintain deletes expired temporary keys; audit shows none after"

# A v1 store (the schema before registration) is upgraded in place at open.
python3 - "$DB" <<'PYEOF' || lethe_die "cannot make a v1 store"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA foreign_keys = ON")
db.executescript("""BEGIN; DROP TABLE password_history; DROP TABLE password_policies;
DELETE FROM principals WHERE name = 'kadmin/changepw@LETHE.TEST';
ALTER TABLE principals DROP COLUMN policy;
ALTER TABLE principals DROP COLUMN password_expires_at;
DROP TABLE changes; DROP TABLE feed; DROP INDEX keys_temporary_end;
DROP TABLE agents; DROP TABLE seen_nonces;
DROP TABLE service_policy; DROP TABLE reg_policy; DROP TABLE reg_rules;
DROP TABLE trust_anchors; UPDATE schema_version SET version = 1; COMMIT;""")
PYEOF
adm_ok --json reg-policy
json_check 'j["auto_enrol"] is True and j["max_use_window"] == 86400'
adm_ok --json trust list
json_check 'j == []'
[ "$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT version FROM schema_version").fetchone()[0])' \
	"$DB")" = 5 ] || lethe_die "the v1 store was not upgraded to schema 5"
adm_ok audit
adm_ok --json show kadmin/changepw
json_check 'j["kind"] == "service" and len(j["keys"]) == 4'
echo "ok: a v1 store is upgraded to schema 5 at open, kadmin/changepw made"

echo "admin_cli: every check passed"
