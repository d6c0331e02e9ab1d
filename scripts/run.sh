#!/usr/bin/env bash
# Lethe's main job: build, create a realm on localhost in the embedded
# SQLite store, add a user, start lethe-kdc with its registrar, start
# lethe-agent for a service (it makes a temporary key, writes it to the
# service's keytab and registers it with the KDC, signed with a certificate
# the realm CA issued), and print how to kinit as the user and get a ticket
# for the service with MIT's tools. Everything lives in ./demo (kept between
# runs: a second run reuses the realm and restarts the daemons).
#
# Environment: LETHE_REALM (LETHE.TEST), LETHE_USER (alice),
# LETHE_PASSWORD (generated on first run, stored in demo/alice.password),
# LETHE_PORT (88), LETHE_REGISTRAR_PORT (8888), LETHE_SERVICE
# (host/localhost), LETHE_ROTATION (1h).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh

realm=${LETHE_REALM:-LETHE.TEST}
user=${LETHE_USER:-alice}
port=${LETHE_PORT:-88}
reg_port=${LETHE_REGISTRAR_PORT:-8888}
service=${LETHE_SERVICE:-host/localhost}
rotation=${LETHE_ROTATION:-1h}
demo=$here/demo

cmake -S . -B build/run -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLETHE_INTEROP=OFF >/dev/null
cmake --build build/run
admin=$here/build/run/src/admin/lethe-admin
kdc=$here/build/run/src/kdcd/lethe-kdc
agent=$here/build/run/src/agent/lethe-agent

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
[registrar]
listen = 127.0.0.1:$reg_port
[logging]
destination = stderr
level = info
requests = yes
CONF

# Stop the daemons an earlier run left.
stop_pidfile() {
	local pidfile=$1
	if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		kill -TERM "$(cat "$pidfile")"
		for _ in $(seq 50); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$pidfile"
}
stop_pidfile "$demo/agent.pid"
stop_pidfile "$demo/kdc.pid"

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

# The service's agent: a certificate from the realm CA naming the service,
# the KDC's certificate and the CA to check the KDC's replies with.
svc_dir=$demo/agent
mkdir -p "$svc_dir"
chmod 0700 "$svc_dir"
[ -f "$svc_dir/server.pem" ] ||
	"$admin" -c "$conf" issue-cert --principal "$service@$realm" --dns "${service#*/}" \
		--key-out "$svc_dir/server.key" --cert-out "$svc_dir/server.pem"
[ -f "$svc_dir/ca.pem" ] || "$admin" -c "$conf" export-ca -o "$svc_dir/ca.pem"
[ -f "$svc_dir/kdc.pem" ] || "$admin" -c "$conf" export-kdc-cert -o "$svc_dir/kdc.pem"
cat > "$svc_dir/agent.conf" <<ACONF
# Written by scripts/run.sh; see etc/agent.conf.example for every key.
principal = $service@$realm
certificate = $svc_dir/server.pem
key = $svc_dir/server.key
kdc_ca = $svc_dir/ca.pem
kdc = 127.0.0.1:$reg_port
kdc_cert = $svc_dir/kdc.pem
keytab = $svc_dir/service.keytab
state_dir = $svc_dir/state
rotation = $rotation
ACONF
"$agent" -c "$svc_dir/agent.conf" once > "$demo/agent.log" 2>&1 ||
	{ cat "$demo/agent.log" >&2; echo "lethe-agent could not register a key; see $demo/agent.log" >&2; exit 1; }
"$agent" -c "$svc_dir/agent.conf" run >> "$demo/agent.log" 2>&1 &
agent_pid=$!
echo "$agent_pid" > "$demo/agent.pid"

cat <<MSG

lethe-kdc serves realm $realm on 127.0.0.1:$port (pid $kdc_pid, log $demo/kdc.log),
its registrar on 127.0.0.1:$reg_port. lethe-agent (pid $agent_pid, log $demo/agent.log)
keeps a temporary key for $service@$realm in $svc_dir/service.keytab, rotated
every $rotation and registered with the KDC, which holds no long-term key for it.

User $user's password is in $demo/$user.password. With MIT's tools:

  export KRB5_CONFIG=$demo/krb5.conf
  kinit $user@$realm < $demo/$user.password && klist
  kvno $service@$realm              # a ticket under the agent's temporary key
  kvno -k $svc_dir/service.keytab $service@$realm
  $agent -c $svc_dir/agent.conf status
  $admin -c $conf audit            # no long-term service key

Stop with: kill \$(cat $demo/agent.pid) \$(cat $demo/kdc.pid)
MSG
