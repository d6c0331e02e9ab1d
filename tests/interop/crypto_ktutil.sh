#!/usr/bin/env bash
# crypto_ktutil.sh S2K_TOOL
# Cross-checks Lethe's string-to-key with MIT Kerberos: for each enctype
# and principal, MIT ktutil derives a key from a password into a keytab,
# klist -K prints it, and lethe-s2k-tool derives it from the same password
# and salt. Any difference fails the test; a missing tool fails it too.
set -euo pipefail

tool=${1:?usage: crypto_ktutil.sh S2K_TOOL}
for t in ktutil klist timeout "$tool"; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "crypto_ktutil: required tool not found: $t" >&2
		exit 1
	fi
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A private, empty configuration: the system krb5.conf is never read.
: >"$scratch/krb5.conf"
export KRB5_CONFIG="$scratch/krb5.conf"
export KRB5_KDC_PROFILE="$scratch/kdc.conf"
export LC_ALL=C

enctypes=(aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96
	aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha384-192)
checks=0

# mit_key PRINCIPAL ENCTYPE PASSWORD [SALT]: the key MIT derives, in hex.
mit_key() {
	local princ=$1 enctype=$2 password=$3 salt=${4:-}
	local kt="$scratch/kt.$checks" extra=""
	[ -n "$salt" ] && extra=" -s $salt"
	printf 'addent -password -p %s -k 1 -e %s%s\n%s\nwkt %s\nquit\n' \
		"$princ" "$enctype" "$extra" "$password" "$kt" |
		timeout 30 ktutil >"$scratch/ktutil.out" 2>&1
	timeout 30 klist -k -K -e -t "$kt" |
		sed -n 's/.*(0x\([0-9a-f]*\)).*/\1/p'
	rm -f "$kt"
}

# check LABEL MIT-KEY LETHE-KEY
check() {
	local label=$1 mit=$2 ours=$3
	checks=$((checks + 1))
	if [ -z "$mit" ] || [ "$mit" != "$ours" ]; then
		echo "FAIL $label: MIT '$mit' Lethe '$ours'" >&2
		cat "$scratch/ktutil.out" >&2
		exit 1
	fi
	echo "ok   $label $mit"
}

gclef=$(printf '\xf0\x9d\x84\x9e')
for enctype in "${enctypes[@]}"; do
	# One component, default salt EXAMPLE.COMuser.
	pw='correct horse battery staple'
	mit=$(mit_key user@EXAMPLE.COM "$enctype" "$pw")
	ours=$(printf '%s\n' "$pw" | timeout 30 "$tool" "$enctype" EXAMPLE.COM user)
	check "$enctype user@EXAMPLE.COM" "$mit" "$ours"

	# Two components, default salt EXAMPLE.COMhostserver.example.com.
	pw="p${gclef}ss-w0rd"
	mit=$(mit_key host/server.example.com@EXAMPLE.COM "$enctype" "$pw")
	ours=$(printf '%s\n' "$pw" |
		timeout 30 "$tool" "$enctype" EXAMPLE.COM host server.example.com)
	check "$enctype host/server.example.com@EXAMPLE.COM" "$mit" "$ours"

	# Explicit salt (ktutil -s) that is not the principal's default.
	pw='password'
	mit=$(mit_key user@EXAMPLE.COM "$enctype" "$pw" ATHENA.MIT.EDUraeburn)
	ours=$(printf '%s\n' "$pw" |
		timeout 30 "$tool" -s ATHENA.MIT.EDUraeburn "$enctype")
	check "$enctype salt ATHENA.MIT.EDUraeburn" "$mit" "$ours"
done

echo "crypto_ktutil: $checks keys identical to MIT Kerberos"
