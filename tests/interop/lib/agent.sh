# agent.sh: a server's identity issued by the realm CA, and a lethe-agent
# configuration, for interop scripts (sourced after kdc_lib.sh, which gives
# lethe_realm_admin).
#
#	lethe_agent_identity "$S/srv" "$principal" "$dns_name"
#	lethe_agent_conf "$S/srv/agent.conf" "$principal" "$registrar_port" \
#		"keytab = server.keytab" "rotation = 4s"

if [ -n "${LETHE_INTEROP_AGENT_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_AGENT_SH=1

# In DIR: server.pem and server.key (0600) for PRINCIPAL with DNS name DNS,
# signed by the realm CA; ca.pem (the realm CA) and kdc.pem (the KDC's
# certificate) for checking the KDC's replies.
lethe_agent_identity() {
	local dir=$1 principal=$2 dns=$3
	mkdir -p "$dir"
	lethe_realm_admin issue-cert --principal "$principal" --dns "$dns" \
		--key-out "$dir/server.key" --cert-out "$dir/server.pem"
	lethe_realm_admin export-ca -o "$dir/ca.pem"
	lethe_realm_admin export-kdc-cert -o "$dir/kdc.pem"
}

# Write FILE, an agent configuration for PRINCIPAL registering with the
# registrar on 127.0.0.1:PORT with the identity of lethe_agent_identity (in
# FILE's folder) and its state in "state"; extra "key = value" lines follow.
lethe_agent_conf() {
	local file=$1 principal=$2 port=$3 line
	shift 3
	{
		echo "principal = $principal"
		echo "certificate = server.pem"
		echo "key = server.key"
		echo "kdc_ca = ca.pem"
		echo "kdc = 127.0.0.1:$port"
		echo "kdc_cert = kdc.pem"
		echo "state_dir = state"
		for line in "$@"; do
			echo "$line"
		done
	} >"$file"
}
