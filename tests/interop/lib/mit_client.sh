# mit_client.sh: drive MIT Kerberos client tools (kinit, kvno, klist) against
# any KDC at host:port, with their own krb5.conf and credential cache in a
# folder of their own. Needs nothing from mit_realm.sh, so it serves tests
# that point MIT clients at Lethe's KDC as well.
#
#	mit_client_setup "$dir/client" LETHE.TEST 127.0.0.1 "$port" udp
#	printf '%s\n' "$password" | mit_kinit alice
#	mit_kvno host/server.lethe.test
#	mit_klist

if [ -n "${LETHE_INTEROP_MIT_CLIENT_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_MIT_CLIENT_SH=1
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MIT_CLIENT_TIMEOUT=${MIT_CLIENT_TIMEOUT:-30}   # seconds per client command

# Prepare client state in DIR for REALM served at HOST:PORT (with
# MIT_CLIENT_KPASSWD=host:port set, kpasswd goes there).
# TRANSPORT is udp (default: UDP first, TCP for large messages) or tcp
# (udp_preference_limit = 1, so every request goes over TCP).
# Extra libdefaults lines may follow as further arguments.
mit_client_setup() {
	local dir=$1 realm=$2 host=$3 port=$4 transport=${5:-udp}
	shift 4
	if [ $# -gt 0 ]; then shift; fi
	lethe_require_tools kinit kvno klist kdestroy
	mkdir -p "$dir"
	MIT_CLIENT_DIR=$dir
	MIT_CLIENT_REALM=$realm
	MIT_CLIENT_HOST=$host
	MIT_CLIENT_PORT=$port
	MIT_CLIENT_CONF=$dir/krb5.conf
	MIT_CLIENT_CCACHE=FILE:$dir/ccache
	MIT_CLIENT_TRACE=$dir/trace.log
	MIT_CLIENT_EXTRA=("$@")
	mit_client_transport "$transport"
}

# Rewrite the client's krb5.conf for TRANSPORT (udp or tcp).
mit_client_transport() {
	local transport=$1 limit line
	case "$transport" in
	udp) limit=1465 ;;       # MIT's default: UDP unless the message is big
	tcp) limit=1 ;;          # every message is "big": TCP only
	*) lethe_die "mit_client_transport: unknown transport '$transport'" ;;
	esac
	{
		echo "[libdefaults]"
		echo "	default_realm = $MIT_CLIENT_REALM"
		echo "	dns_lookup_kdc = false"
		echo "	dns_lookup_realm = false"
		echo "	dns_canonicalize_hostname = false"
		echo "	rdns = false"
		echo "	udp_preference_limit = $limit"
		echo "	kdc_timeout = 3000"
		echo "	max_retries = 2"
		echo "	default_ccache_name = $MIT_CLIENT_CCACHE"
		for line in "${MIT_CLIENT_EXTRA[@]}"; do
			echo "	$line"
		done
		echo "[realms]"
		echo "	$MIT_CLIENT_REALM = {"
		echo "		kdc = $MIT_CLIENT_HOST:$MIT_CLIENT_PORT"
		if [ -n "${MIT_CLIENT_KPASSWD:-}" ]; then
			echo "		kpasswd_server = $MIT_CLIENT_KPASSWD"
		fi
		echo "	}"
		echo "[domain_realm]"
	} >"$MIT_CLIENT_CONF"
}

# Run an MIT client program with the client's config, cache and trace file,
# bounded by MIT_CLIENT_TIMEOUT. Standard input passes through.
mit_client_run() {
	[ -n "${MIT_CLIENT_CONF:-}" ] || lethe_die "mit_client_setup was not called"
	timeout "$MIT_CLIENT_TIMEOUT" env \
		KRB5_CONFIG="$MIT_CLIENT_CONF" \
		KRB5CCNAME="$MIT_CLIENT_CCACHE" \
		KRB5_TRACE="$MIT_CLIENT_TRACE" \
		"$@"
}

# kinit [options...] PRINCIPAL, the password read from this function's stdin.
mit_kinit() {
	mit_client_run kinit "$@"
}

# kvno [options...] SERVICE... with the cached TGT.
mit_kvno() {
	mit_client_run kvno "$@"
}

# klist [options...] of the client's cache.
mit_klist() {
	mit_client_run klist "$@"
}

# Destroy the client's credential cache.
mit_kdestroy() {
	mit_client_run kdestroy -q 2>/dev/null || true
}
