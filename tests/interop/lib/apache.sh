# apache.sh: Apache httpd with mod_auth_gssapi (Debian's apache2 and
# libapache2-mod-auth-gssapi) on a free loopback port, protecting one page
# with GSSAPI/Negotiate and reading its keytab at each request, so a keytab
# that lethe-agent rotates is seen without a restart (sourced, bash only).
#
#	apache_start "$dir/apache" "$keytab"    # sets APACHE_PORT; stopped at exit
#	apache_negotiate "$out"                 # curl --negotiate; the HTTP status
#	apache_last_user                        # user of the last access-log line

if [ -n "${LETHE_INTEROP_APACHE_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_APACHE_SH=1
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
APACHE_START_TIMEOUT=${APACHE_START_TIMEOUT:-20}   # seconds
APACHE_CURL_TIMEOUT=${APACHE_CURL_TIMEOUT:-20}     # seconds per request
APACHE_PID=

# Write DIR/httpd.conf serving DIR/htdocs on $APACHE_PORT with KEYTAB.
apache_write_conf() {
	local dir=$1 keytab=$2 mod
	for mod in mpm_event authn_core authz_core authz_user auth_gssapi; do
		[ -f "$APACHE_MODULES/mod_$mod.so" ] ||
			lethe_die "Apache module mod_$mod.so missing (install apache2 and libapache2-mod-auth-gssapi: scripts/deps.sh)"
	done
	cat >"$dir/httpd.conf" <<CONF
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:$APACHE_PORT
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error.log"
LogLevel info auth_gssapi:debug
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authn_core_module $APACHE_MODULES/mod_authn_core.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule authz_user_module $APACHE_MODULES/mod_authz_user.so
LoadModule auth_gssapi_module $APACHE_MODULES/mod_auth_gssapi.so
$(apache_user_lines)
DocumentRoot "$dir/htdocs"
LogFormat "%u %>s %r" lethe
CustomLog "$dir/access.log" lethe
<Location />
	AuthType GSSAPI
	AuthName "Lethe"
	GssapiCredStore keytab:$keytab
	GssapiAllowedMech krb5
	GssapiBasicAuth Off
	Require valid-user
</Location>
CONF
}

# As root, the children run as www-data (Apache refuses root), which must
# read the keytab: apache_start hands it the keytab's folder.
apache_user_lines() {
	if [ "$(id -u)" -eq 0 ]; then
		echo "User www-data"
		echo "Group www-data"
	fi
}

apache_alive() {
	[ -n "$APACHE_PID" ] && kill -0 "$APACHE_PID" 2>/dev/null
}

apache_kill() {
	if apache_alive; then
		kill "$APACHE_PID" 2>/dev/null || true
		timeout 10 tail --pid="$APACHE_PID" -f /dev/null 2>/dev/null || kill -9 "$APACHE_PID" 2>/dev/null
	fi
	APACHE_PID=
}

# Start Apache in DIR with KEYTAB (a file that may be replaced later).
apache_start() {
	local dir=$1 keytab=$2 deadline
	lethe_require_tools apache2 curl
	mkdir -p "$dir/htdocs"
	echo "hello from apache" >"$dir/htdocs/index.html"
	APACHE_DIR=$(cd "$dir" && pwd)
	APACHE_PORT=$(lethe_free_port)
	apache_write_conf "$APACHE_DIR" "$keytab"
	if [ "$(id -u)" -eq 0 ]; then
		# The scratch folder (mktemp: 0700) must be traversable by www-data.
		[ -z "${LETHE_SCRATCH:-}" ] || chmod 0711 "$LETHE_SCRATCH"
		chown www-data:www-data "$(dirname "$keytab")" "$keytab" 2>/dev/null || true
		chmod 0755 "$APACHE_DIR" "$APACHE_DIR/htdocs"
	fi
	apache2 -f "$APACHE_DIR/httpd.conf" -DFOREGROUND >"$APACHE_DIR/stdout.log" 2>&1 &
	APACHE_PID=$!
	lethe_at_exit apache_kill
	deadline=$((SECONDS + APACHE_START_TIMEOUT))
	until timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$APACHE_PORT" 2>/dev/null; do
		apache_alive || lethe_die "apache2 exited: $(cat "$APACHE_DIR/stdout.log" "$APACHE_DIR/error.log" 2>/dev/null)"
		[ "$SECONDS" -lt "$deadline" ] || lethe_die "apache2 did not listen within ${APACHE_START_TIMEOUT}s"
		sleep 0.1
	done
	lethe_log "apache2 pid $APACHE_PID on 127.0.0.1:$APACHE_PORT"
}

# curl --negotiate to http://localhost:$APACHE_PORT/ with the MIT client's
# config and cache (mit_client.sh); prints the HTTP status, body into OUT.
apache_negotiate() {
	local out=$1
	mit_client_run curl -sS --max-time "$APACHE_CURL_TIMEOUT" --negotiate -u : \
		-o "$out" -w '%{http_code}' "http://localhost:$APACHE_PORT/index.html" 2>>"$out.err" || true
}

# The authenticated user of the last access-log line ("-" when none).
apache_last_user() {
	tail -1 "$APACHE_DIR/access.log" 2>/dev/null | awk '{ print $1 }'
}
