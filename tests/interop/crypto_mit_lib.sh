#!/usr/bin/env bash
# crypto_mit_lib.sh CHECK_TOOL
# Runs lethe-crypto-mit-check, which loads MIT's libk5crypto.so.3 and
# compares encryption (both directions), checksums, PRF and KRB-FX-CF2
# with Lethe's for all four AES enctypes. Fails if MIT's library is absent.
set -euo pipefail

tool=${1:?usage: crypto_mit_lib.sh CHECK_TOOL}
if ! command -v timeout >/dev/null 2>&1 || [ ! -x "$tool" ]; then
	echo "crypto_mit_lib: timeout or $tool missing" >&2
	exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A private, empty configuration: the system krb5.conf is never read.
: >"$scratch/krb5.conf"
export KRB5_CONFIG="$scratch/krb5.conf"
timeout 120 "$tool"
