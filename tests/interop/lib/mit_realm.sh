# mit_realm.sh: a scratch MIT Kerberos realm (krb5kdc) on 127.0.0.1 at a
# free high port, UDP and TCP, in a folder of its own with its own krb5.conf
# and kdc.conf. Only the KDC side lives here; mit_client.sh drives clients.
#
#	lethe_scratch_dir
#	mit_realm_create "$LETHE_SCRATCH/kdc" LETHE.TEST
#	mit_realm_addprinc alice 'pass word' aes256-cts-hmac-sha1-96
#	mit_kdc_start                     # sets MIT_KDC_PORT
#	...
#	mit_kdc_stop                      # also done at exit

if [ -n "${LETHE_INTEROP_MIT_REALM_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_MIT_REALM_SH=1
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The four AES enctypes of RFC 3962 and RFC 8009.
MIT_AES_ENCTYPES="aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128"
MIT_KDC_START_TIMEOUT=${MIT_KDC_START_TIMEOUT:-20}   # seconds
MIT_KDC_PID=

# Write kdc.conf and krb5.conf for the realm at port $MIT_KDC_PORT.
mit_realm_write_conf() {
	local et supported=
	for et in $MIT_AES_ENCTYPES; do
		supported="$supported $et:normal"
	done
	cat >"$MIT_REALM_DIR/kdc.conf" <<CONF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$MIT_KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$MIT_KDC_PORT
[realms]
	$MIT_REALM = {
		database_name = $MIT_REALM_DIR/principal
		key_stash_file = $MIT_REALM_DIR/stash
		acl_file = $MIT_REALM_DIR/kadm5.acl
		kdc_listen = 127.0.0.1:$MIT_KDC_PORT
		kdc_tcp_listen = 127.0.0.1:$MIT_KDC_PORT
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes =$supported
		max_life = 10h
		max_renewable_life = 7d
	}
[logging]
	kdc = FILE:$MIT_REALM_DIR/kdc.log
	admin_server = FILE:$MIT_REALM_DIR/kadmin.log
	default = FILE:$MIT_REALM_DIR/krb5lib.log
CONF
	cat >"$MIT_REALM_DIR/krb5.conf" <<CONF
[libdefaults]
	default_realm = $MIT_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
[realms]
	$MIT_REALM = {
		kdc = 127.0.0.1:$MIT_KDC_PORT
	}
CONF
}

# Create realm REALM (default LETHE.TEST) with its database in DIR.
# Exports KRB5_CONFIG and KRB5_KDC_PROFILE for MIT's admin tools; sets
# MIT_REALM, MIT_REALM_DIR and MIT_KDC_PORT.
mit_realm_create() {
	local dir=$1 realm=${2:-LETHE.TEST}
	lethe_require_tools krb5kdc kdb5_util kadmin.local timeout
	mkdir -p "$dir"
	MIT_REALM_DIR=$(cd "$dir" && pwd)
	MIT_REALM=$realm
	MIT_KDC_PORT=$(lethe_free_port)
	: >"$MIT_REALM_DIR/kadm5.acl"
	mit_realm_write_conf
	export KRB5_CONFIG=$MIT_REALM_DIR/krb5.conf
	export KRB5_KDC_PROFILE=$MIT_REALM_DIR/kdc.conf
	# The master password guards only this throw-away database.
	timeout 60 kdb5_util create -s -r "$MIT_REALM" -P "lethe-master-$$-$RANDOM" \
		>"$MIT_REALM_DIR/kdb5_util.log" 2>&1 ||
		{ cat "$MIT_REALM_DIR/kdb5_util.log" >&2; lethe_die "kdb5_util create failed"; }
}

# Run one kadmin.local query against the realm and print its output; fail
# with the output on error. kadmin.local -q exits 0 after most failures and
# reports them on stderr, so anything on stderr but the "no policy" notice
# counts as a failure.
mit_realm_kadmin() {
	local query=$1 rc=0
	timeout 60 kadmin.local -r "$MIT_REALM" -q "$query" \
		>"$MIT_REALM_DIR/kadmin.out" 2>"$MIT_REALM_DIR/kadmin.err" || rc=$?
	if [ $rc -ne 0 ] || grep -qv '^No policy specified for .*; defaulting to no policy$' \
		"$MIT_REALM_DIR/kadmin.err"; then
		cat "$MIT_REALM_DIR/kadmin.out" "$MIT_REALM_DIR/kadmin.err" >&2
		lethe_die "kadmin.local failed (exit $rc): $query"
	fi
	grep -v '^Authenticating as principal ' "$MIT_REALM_DIR/kadmin.out" || true
}

# Enctype list in kadmin's -e syntax: "et:normal,et:normal".
mit_keysalts() {
	local et out=
	for et in $1; do
		out="${out:+$out,}$et:normal"
	done
	echo "$out"
}

# Add principal NAME with PASSWORD and keys for ENCTYPES (space separated,
# default: the four AES enctypes). Extra addprinc options may follow.
# The password is a throw-away test password; it appears on kadmin's command line.
mit_realm_addprinc() {
	local name=$1 password=$2 enctypes=${3:-$MIT_AES_ENCTYPES}
	shift 3 2>/dev/null || shift $#
	case "$password" in
	*\"*) lethe_die "mit_realm_addprinc: password must not contain a double quote" ;;
	esac
	mit_realm_kadmin "addprinc $* -e $(mit_keysalts "$enctypes") -pw \"$password\" $name" >/dev/null
}

# Add principal NAME with random keys for ENCTYPES (a service, say).
mit_realm_addprinc_randkey() {
	local name=$1 enctypes=${2:-$MIT_AES_ENCTYPES}
	shift 2 2>/dev/null || shift $#
	mit_realm_kadmin "addprinc $* -e $(mit_keysalts "$enctypes") -randkey $name" >/dev/null
}

# Fail unless principal NAME has a key of each enctype in ENCTYPES
# (kadmin ignores enctypes it does not know, so check what it made).
mit_realm_check_keys() {
	local name=$1 enctypes=${2:-$MIT_AES_ENCTYPES} et info
	info=$(mit_realm_kadmin "getprinc $name")
	for et in $enctypes; do
		# A here-string, not a pipe: grep -q may exit before printf has
		# written everything, and pipefail would count the SIGPIPE.
		grep -q "^Key: vno [0-9]*, $et\$" <<<"$info" ||
			lethe_die "principal $name has no $et key: $info"
	done
}

# Export NAME's current keys to keytab file KEYTAB (without changing them).
mit_realm_ktadd() {
	mit_realm_kadmin "ktadd -k $2 -norandkey $1" >/dev/null
}

mit_kdc_alive() {
	[ -n "$MIT_KDC_PID" ] && kill -0 "$MIT_KDC_PID" 2>/dev/null
}

# True once krb5kdc has logged that it serves and accepts TCP connections.
mit_kdc_ready() {
	mit_kdc_alive || return 2
	grep -q 'commencing operation' "$MIT_REALM_DIR/kdc.log" 2>/dev/null || return 1
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MIT_KDC_PORT" 2>/dev/null
}

# Wait (bounded) until the KDC answers; return 1 if it died meanwhile.
mit_kdc_wait_ready() {
	local deadline=$((SECONDS + MIT_KDC_START_TIMEOUT)) rc
	while :; do
		rc=0
		mit_kdc_ready || rc=$?
		[ $rc -eq 0 ] && return 0
		[ $rc -eq 2 ] && return 1
		if [ "$SECONDS" -ge "$deadline" ]; then
			lethe_die "krb5kdc did not answer within ${MIT_KDC_START_TIMEOUT}s (log: $MIT_REALM_DIR/kdc.log)"
		fi
		sleep 0.1
	done
}

# Start krb5kdc -n in the background; stopped at exit. If the port was taken
# meanwhile, pick another one and retry. Sets MIT_KDC_PID and MIT_KDC_PORT.
mit_kdc_start() {
	local attempt
	[ -z "$MIT_KDC_PID" ] || lethe_die "mit_kdc_start: krb5kdc already running"
	for attempt in 1 2 3 4 5; do
		: >"$MIT_REALM_DIR/kdc.log"
		krb5kdc -n -r "$MIT_REALM" >"$MIT_REALM_DIR/krb5kdc.out" 2>&1 &
		MIT_KDC_PID=$!
		if [ "$attempt" = 1 ]; then
			lethe_at_exit mit_kdc_stop
		fi
		if mit_kdc_wait_ready; then
			lethe_log "MIT krb5kdc pid $MIT_KDC_PID serves $MIT_REALM on 127.0.0.1:$MIT_KDC_PORT (udp, tcp)"
			return 0
		fi
		wait "$MIT_KDC_PID" 2>/dev/null || true
		MIT_KDC_PID=
		echo "krb5kdc exited at start (attempt $attempt):" >&2
		cat "$MIT_REALM_DIR/krb5kdc.out" "$MIT_REALM_DIR/kdc.log" >&2 || true
		MIT_KDC_PORT=$(lethe_free_port)
		mit_realm_write_conf
	done
	lethe_die "krb5kdc would not start"
}

# Stop krb5kdc (TERM, then KILL after 10 s) and reap it. Safe to call twice.
mit_kdc_stop() {
	local pid=$MIT_KDC_PID
	[ -n "$pid" ] || return 0
	MIT_KDC_PID=
	kill -TERM "$pid" 2>/dev/null || true
	if ! lethe_wait_until 10 "krb5kdc pid $pid to exit" \
		eval "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}
