#!/usr/bin/env bash
# registrar_cms_allow.sh LETHE_KDC LETHE_ADMIN REG_TOOL: the registrar of a
# running lethe-kdc opens only sealed keys of exactly the shape Lethe seals
# (DESIGN §7 allow-list) — an attack from outside through the registrar port:
#  - a signed registration whose sealed keys use AES-256 key wrap WITH
#    PADDING (reg_tool -p; OpenSSL 3.0 wipes 8 bytes past a heap buffer on
#    that path's error branch) is refused SEALED_KEYS as an unrecognised
#    format, before decryption; nothing is stored
#  - the same server then registers normally (OK); the KDC keeps serving
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"

KDC=${1:?usage: registrar_cms_allow.sh LETHE_KDC LETHE_ADMIN REG_TOOL}
ADMIN=${2:?usage: registrar_cms_allow.sh LETHE_KDC LETHE_ADMIN REG_TOOL}
TOOL=${3:?usage: registrar_cms_allow.sh LETHE_KDC LETHE_ADMIN REG_TOOL}
REALM=LETHE.TEST
SERVICE=host/server.lethe.test
TOOL_TIMEOUT=30

lethe_require_tools timeout grep
[ -x "$TOOL" ] || lethe_die "reg_tool not found at $TOOL"
export LC_ALL=C TZ=UTC

lethe_scratch_dir
S=$LETHE_SCRATCH

lethe_realm_create "$S/realm" "$REALM" "$ADMIN"
lethe_realm_admin export-ca -o "$S/ca.pem"
lethe_realm_admin export-kdc-cert -o "$S/kdc.pem"
lethe_realm_admin issue-cert --principal "$SERVICE@$REALM" --key-out "$S/server.key" \
	--cert-out "$S/server.pem"
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "refresh_interval = 1h" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
LOG=$LETHE_REALM_DIR/kdc.log

# register KVNO [reg_tool options...] -> stdout
register() {
	local kvno=$1
	shift
	timeout "$TOOL_TIMEOUT" "$TOOL" register "$@" "127.0.0.1:$REG_PORT" "$S/server.pem" \
		"$S/server.key" "$S/kdc.pem" "$S/ca.pem" "$SERVICE@$REALM" "$kvno"
}

# ---- the attack: a padded key wrap ---------------------------------------------
out=$(register 7 -p) || lethe_die "reg_tool register -p failed: $out"
case "$out" in
"RESULT SEALED_KEYS nonce=echoed "*"unrecognised format"*)
	echo "ok: sealed keys with a padded key wrap refused unopened: $out" ;;
*) lethe_die "a padded key wrap was not refused as malformed: $out" ;;
esac
grep -q "event=reg_request .*principal=$SERVICE@$REALM .*result=SEALED_KEYS" "$LOG" ||
	lethe_die "no SEALED_KEYS log line: $(grep reg_request "$LOG")"
timeout 60 "$ADMIN" -d "$LETHE_REALM_DIR/realm.db" audit >"$S/audit1.out" 2>&1 ||
	lethe_die "lethe-admin audit: $(cat "$S/audit1.out")"
! grep -q " temporary " "$S/audit1.out" || lethe_die "a key was stored: $(cat "$S/audit1.out")"

# ---- legitimate traffic still works --------------------------------------------
out=$(register 7) || lethe_die "reg_tool register failed: $out"
case "$out" in
"RESULT OK nonce=echoed "*) echo "ok: the same registration sealed as Lethe seals: $out" ;;
*) lethe_die "the normal registration was refused: $out ($(tail -3 "$LOG"))" ;;
esac

lethe_kdc_stop
echo "ok: lethe-kdc stopped cleanly"
