#!/usr/bin/env bash
# Lethe's main job: build, create a realm on localhost in the embedded
# SQLite store, add a user, start lethe-kdc, and print how to kinit as that
# user with MIT's tools. Everything lives in ./demo (kept between runs:
# a second run reuses the realm and restarts the KDC).
#
# Environment: LETHE_REALM (LETHE.TEST), LETHE_USER (alice),
# LETHE_PASSWORD (generated on first run, stored in demo/alice.password),
# LETHE_PORT (88).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh

realm=${LETHE_REALM:-LETHE.TEST}
user=${LETHE_USER:-alice}
port=${LETHE_PORT:-88}
demo=$here/demo

cmake -S . -B build/run -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLETHE_INTEROP=OFF >/dev/null
cmake --build build/run
admin=$here/build/run/src/admin/lethe-admin
kdc=$here/build/run/src/kdcd/lethe-kdc

mkdir -p "$demo"
chmod 0700 "$demo"
conf=$demo/kdc.conf
cat > "$conf" <<CONF
# Written by scripts/run.sh; see etc/kdc.conf.example for every key.
[store]
path = $demo/lethe.db
master_key_file = $demo/lethe.db.mkey
[kdc]
realm = $realm
listen = 127.0.0.1:$port
pid_file = $demo/kdc.pid
[logging]
destination = stderr
level = info
requests = yes
CONF

# Stop a KDC left by an earlier run.
if [ -s "$demo/kdc.pid" ] && kill -0 "$(cat "$demo/kdc.pid")" 2>/dev/null; then
	kill -TERM "$(cat "$demo/kdc.pid")"
	for _ in $(seq 50); do kill -0 "$(cat "$demo/kdc.pid")" 2>/dev/null || break; sleep 0.1; done
fi

if [ ! -f "$demo/lethe.db" ]; then
	"$admin" -c "$conf" init --realm "$realm"
fi
pwfile=$demo/$user.password
if [ ! -f "$pwfile" ]; then
	( umask 077; printf '%s\n' "${LETHE_PASSWORD:-$(openssl rand -hex 8)}" > "$pwfile" )
	"$admin" -c "$conf" add-user "$user" --password-file "$pwfile"
fi

cat > "$demo/krb5.conf" <<K5
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	$realm = {
		kdc = 127.0.0.1:$port
	}
K5

"$kdc" -c "$conf" -f > "$demo/kdc.log" 2>&1 &
kdc_pid=$!
for _ in $(seq 100); do
	[ -s "$demo/kdc.pid" ] && break
	kill -0 "$kdc_pid" 2>/dev/null || { cat "$demo/kdc.log" >&2; exit 1; }
	sleep 0.1
done
[ -s "$demo/kdc.pid" ] || { echo "lethe-kdc did not start; see $demo/kdc.log" >&2; exit 1; }

cat <<MSG

lethe-kdc serves realm $realm on 127.0.0.1:$port (pid $kdc_pid, log $demo/kdc.log).
User $user's password is in $demo/$user.password. To get a ticket with MIT's tools:

  export KRB5_CONFIG=$demo/krb5.conf
  kinit $user@$realm < $demo/$user.password && klist

Stop the KDC with: kill \$(cat $demo/kdc.pid)
MSG
