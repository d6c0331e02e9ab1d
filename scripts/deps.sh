#!/usr/bin/env bash
# Install, with apt-get, everything Lethe needs to build and test.
# Idempotent: installs only what is missing. Needs root on Debian 12.
set -euo pipefail

packages=(
	# build
	build-essential cmake ninja-build pkg-config clang libclang-rt-dev
	libssl-dev libsqlite3-dev libcmocka-dev libpq-dev
	# sd_notify for Type=notify units (-DLETHE_SYSTEMD=OFF builds without it)
	libsystemd-dev
	# packaging checks: manual pages (mandoc -Tlint, man for systemd-analyze)
	# and the units (systemd-analyze, systemd-sysusers, systemd-tmpfiles)
	mandoc man-db systemd
	# a real PostgreSQL server for the shared-store tests
	postgresql
	# real peers for interop tests
	krb5-user krb5-kdc krb5-admin-server krb5-gss-samples tshark
	apache2 libapache2-mod-auth-gssapi curl
	# tools the test scripts use
	python3 openssl coreutils procps iproute2 jq
	# the JDK for the Java interop test (its source launcher needs the compiler)
	openjdk-17-jdk-headless
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
