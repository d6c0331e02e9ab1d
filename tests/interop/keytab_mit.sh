#!/usr/bin/env bash
# keytab_mit.sh KT_TOOL: keytab files written by Lethe (through the kt_tool
# helper) are read by MIT klist, and files written by MIT ktutil are read by
# Lethe; principals, kvnos, enctypes, timestamps and key bytes must agree.
set -euo pipefail

KT_TOOL=${1:?usage: keytab_mit.sh KT_TOOL}
STEP_TIMEOUT=30         # seconds for any one command
# shellcheck source=lib/ktutil.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/ktutil.sh"

fail() {
	lethe_die "$@"
}

for tool in klist ktutil stdbuf timeout date stat diff; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "required tool missing: $tool (install it: scripts/deps.sh)"
done
[ -x "$KT_TOOL" ] || fail "kt_tool not found at $KT_TOOL"

lethe_scratch_dir
SCRATCH=$LETHE_SCRATCH

# MIT's tools read only this krb5.conf; no KDC is needed.
export KRB5_CONFIG=$SCRATCH/krb5.conf
printf '[libdefaults]\n\tdefault_realm = LETHE.TEST\n' >"$KRB5_CONFIG"
unset KRB5_KTNAME KRB5_CLIENT_KTNAME
export TZ=UTC LC_ALL=C

enctype_number() {
	case $1 in
	aes128-cts-hmac-sha1-96) echo 17 ;;
	aes256-cts-hmac-sha1-96) echo 18 ;;
	aes128-cts-hmac-sha256-128) echo 19 ;;
	aes256-cts-hmac-sha384-192) echo 20 ;;
	*) fail "unexpected enctype name '$1'" ;;
	esac
}

# A Unix time as klist -t prints it (C locale, UTC).
klist_time() {
	date -u -d "@$1" '+%m/%d/%y %H:%M:%S'
}

# klist's view of keytab FILE as "KVNO ENCTYPE TIME PRINCIPAL KEYHEX" lines.
mit_entries() {
	local file=$1 out line n=0
	local re='^ *([0-9]+) ([0-9/]+ [0-9:]+) (.+) \(([a-z0-9-]+)\)  \(0x([0-9a-f]+)\)$'
	out=$(timeout "$STEP_TIMEOUT" klist -k -t -e -K "$file") ||
		fail "klist could not read $file"
	while IFS= read -r line; do
		n=$((n + 1))
		if [ "$n" -le 3 ]; then continue; fi   # "Keytab name", titles, rule
		[[ $line =~ $re ]] || fail "unexpected klist line: $line"
		printf '%s %s %s %s %s\n' "${BASH_REMATCH[1]}" \
			"$(enctype_number "${BASH_REMATCH[4]}")" \
			"${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" "${BASH_REMATCH[5]}"
	done <<<"$out"
}

# Lethe's view of FILE in the same form.
lethe_entries() {
	local file=$1 out kvno enctype ts princ key
	out=$(timeout "$STEP_TIMEOUT" "$KT_TOOL" list "$file") ||
		fail "kt_tool could not read $file"
	[ -n "$out" ] || return 0
	while read -r kvno enctype ts princ key; do
		printf '%s %s %s %s %s\n' "$kvno" "$enctype" "$(klist_time "$ts")" \
			"$princ" "$key"
	done <<<"$out"
}

# Fail unless files A and B have the same lines in the same order.
same_lines() {
	diff -u "$1" "$2" >&2 || fail "$3"
}

# ---- 1. Lethe writes, MIT reads -------------------------------------------
LETHE_KT=$SCRATCH/lethe.keytab
cat >"$SCRATCH/lethe.in" <<'EOF'
host/server.lethe.test@LETHE.TEST 1 17 00112233445566778899aabbccddeeff 1700000000
host/server.lethe.test@LETHE.TEST 1 18 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 1700000001
HTTP/web.lethe.test@LETHE.TEST 300 19 f0e1d2c3b4a5968778695a4b3c2d1e0f 1700000002
HTTP/web.lethe.test@LETHE.TEST 300 20 5f5e5d5c5b5a595857565554535251504f4e4d4c4b4a49484746454443424140 1700000003
svc/multi/part@LETHE.TEST 255 18 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1700000004
we\@ird\/name/x@LETHE.TEST 256 17 deadbeefdeadbeefdeadbeefdeadbeef 1700000005
alice@OTHER.TEST 70000 20 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 4000000000
EOF
while read -r princ kvno enctype key ts; do
	timeout "$STEP_TIMEOUT" "$KT_TOOL" add "$LETHE_KT" "$princ" "$kvno" \
		"$enctype" "$key" "$ts" || fail "kt_tool add $princ $kvno $enctype"
	printf '%s %s %s %s %s\n' "$kvno" "$enctype" "$(klist_time "$ts")" \
		"$princ" "$key" >>"$SCRATCH/lethe.expected"
done <"$SCRATCH/lethe.in"
# An entry added and removed again must not be seen by MIT.
timeout "$STEP_TIMEOUT" "$KT_TOOL" add "$LETHE_KT" gone/x@LETHE.TEST 9 17 \
	11111111111111111111111111111111 1700000009 || fail "kt_tool add gone"
timeout "$STEP_TIMEOUT" "$KT_TOOL" remove "$LETHE_KT" gone/x@LETHE.TEST 9 ||
	fail "kt_tool remove gone"

[ "$(stat -c %a "$LETHE_KT")" = 600 ] || fail "Lethe's keytab is not mode 0600"
if compgen -G "$SCRATCH/.*.tmp" >/dev/null; then fail "a temp file was left behind"; fi
mit_entries "$LETHE_KT" >"$SCRATCH/lethe.mit"
[ "$(wc -l <"$SCRATCH/lethe.mit")" -eq 7 ] || fail "klist saw $(wc -l <"$SCRATCH/lethe.mit") entries, want 7"
same_lines "$SCRATCH/lethe.expected" "$SCRATCH/lethe.mit" \
	"MIT klist does not read Lethe's keytab as written"
echo "ok: MIT klist reads the keytab Lethe wrote (7 entries, kvnos up to 70000)"

# ---- 2. MIT writes, Lethe reads -------------------------------------------
MIT_KT=$SCRATCH/mit.keytab
ktutil_run "$SCRATCH/ktutil.log" <<EOF
addent -password -p host/mit.lethe.test@LETHE.TEST -k 2 -e aes256-cts-hmac-sha1-96
correct horse battery staple
addent -password -p host/mit.lethe.test@LETHE.TEST -k 2 -e aes128-cts-hmac-sha256-128
correct horse battery staple
addent -key -p HTTP/mit.lethe.test@LETHE.TEST -k 300 -e aes128-cts-hmac-sha1-96
8899aabbccddeeff0011223344556677
addent -key -p HTTP/mit.lethe.test@LETHE.TEST -k 301 -e aes256-cts-hmac-sha384-192
303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f
addent -key -p odd\\/name\\@x/y@LETHE.TEST -k 5 -e aes256-cts-hmac-sha1-96
c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf
wkt $MIT_KT
EOF
[ -s "$MIT_KT" ] || fail "ktutil wrote no keytab; output: $(cat "$SCRATCH/ktutil.log")"
mit_entries "$MIT_KT" >"$SCRATCH/mit.mit"
lethe_entries "$MIT_KT" >"$SCRATCH/mit.lethe"
[ "$(wc -l <"$SCRATCH/mit.mit")" -eq 5 ] || fail "klist saw $(wc -l <"$SCRATCH/mit.mit") entries, want 5"
same_lines "$SCRATCH/mit.mit" "$SCRATCH/mit.lethe" \
	"Lethe does not read MIT's keytab as klist does"
# The keys given in hex must come back exactly, not merely agree.
for want in \
	"300 17 HTTP/mit.lethe.test@LETHE.TEST 8899aabbccddeeff0011223344556677" \
	"301 20 HTTP/mit.lethe.test@LETHE.TEST 303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f" \
	"5 18 odd\\/name\\@x/y@LETHE.TEST c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"; do
	found=
	while read -r kvno enctype _ _ princ key; do
		if [ "$kvno $enctype $princ $key" = "$want" ]; then found=1; fi
	done <"$SCRATCH/mit.lethe"
	[ -n "$found" ] || fail "Lethe did not read entry: $want"
done
echo "ok: Lethe reads the keytab MIT ktutil wrote (5 entries, password and hex keys)"

# ---- 3. Lethe extends MIT's file, MIT reads it ----------------------------
timeout "$STEP_TIMEOUT" "$KT_TOOL" add "$MIT_KT" added/by@LETHE.TEST 4096 19 \
	00000000000000000000000000000001 1700000100 || fail "kt_tool add to MIT's keytab"
cp "$SCRATCH/mit.mit" "$SCRATCH/extended.expected"
printf '4096 19 %s added/by@LETHE.TEST 00000000000000000000000000000001\n' \
	"$(klist_time 1700000100)" >>"$SCRATCH/extended.expected"
mit_entries "$MIT_KT" >"$SCRATCH/extended.mit"
same_lines "$SCRATCH/extended.expected" "$SCRATCH/extended.mit" \
	"MIT klist does not read MIT's keytab after Lethe added to it"
echo "ok: MIT klist reads MIT's keytab after Lethe rewrote it"
