# capture.sh: record loopback traffic with dumpcap (tshark's capture engine).
#
#	lethe_capture_start "$dir/kdc.pcapng" "port $port"
#	... traffic ...
#	lethe_capture_stop               # flushes and closes the file
#
# Capture needs root or CAP_NET_RAW/CAP_NET_ADMIN on dumpcap; when it is not
# possible the script fails with dumpcap's own message, never skips.

if [ -n "${LETHE_INTEROP_CAPTURE_SH:-}" ]; then
	return 0
fi
LETHE_INTEROP_CAPTURE_SH=1
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LETHE_CAPTURE_TIMEOUT=${LETHE_CAPTURE_TIMEOUT:-20}   # seconds
LETHE_CAPTURE_PID=

# Count the packets already written to pcap file $1 (0 if none or unreadable).
lethe_capture_count() {
	{ tshark -r "$1" -T fields -e frame.number 2>/dev/null || true; } | grep -c . || true
}

# True once probe datagrams sent to 127.0.0.1:$2 show up in file $1.
lethe_capture_probe_seen() {
	echo lethe-capture-probe >"/dev/udp/127.0.0.1/$2" 2>/dev/null || true
	[ "$(lethe_capture_count "$1")" -gt 0 ]
}

# Start capturing loopback traffic matching the BPF FILTER into FILE (pcapng)
# and return only once packets really reach the file: dumpcap also records
# UDP probes sent to a free port, so they appear in FILE as well (harmless:
# no port of interest). Stopped at exit. Sets LETHE_CAPTURE_PID.
lethe_capture_start() {
	local file=$1 filter=$2 probe_port iface=${LETHE_CAPTURE_IFACE:-lo}
	lethe_require_tools dumpcap tshark timeout
	[ -z "$LETHE_CAPTURE_PID" ] || lethe_die "lethe_capture_start: a capture is running"
	probe_port=$(lethe_free_port)
	LETHE_CAPTURE_FILE=$file
	LETHE_CAPTURE_LOG=$file.dumpcap.log
	dumpcap -q -i "$iface" -f "($filter) or (udp port $probe_port)" \
		-w "$file" >"$LETHE_CAPTURE_LOG" 2>&1 &
	LETHE_CAPTURE_PID=$!
	lethe_at_exit lethe_capture_stop
	local deadline=$((SECONDS + LETHE_CAPTURE_TIMEOUT))
	until lethe_capture_probe_seen "$file" "$probe_port"; do
		if ! kill -0 "$LETHE_CAPTURE_PID" 2>/dev/null; then
			cat "$LETHE_CAPTURE_LOG" >&2 || true
			LETHE_CAPTURE_PID=
			lethe_die "dumpcap could not capture on '$iface' (needs root or CAP_NET_RAW; see above)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			cat "$LETHE_CAPTURE_LOG" >&2 || true
			lethe_die "dumpcap recorded nothing on '$iface' within ${LETHE_CAPTURE_TIMEOUT}s"
		fi
		sleep 0.2
	done
	lethe_log "capturing on $iface ($filter) into $file, dumpcap pid $LETHE_CAPTURE_PID"
}

# Stop the capture (SIGINT lets dumpcap write out and close the file) and
# wait, bounded, for it to exit. Safe to call twice.
lethe_capture_stop() {
	local pid=$LETHE_CAPTURE_PID
	[ -n "$pid" ] || return 0
	LETHE_CAPTURE_PID=
	# Give the kernel a moment to hand the last packets to dumpcap.
	sleep 0.3
	kill -INT "$pid" 2>/dev/null || true
	if ! lethe_wait_until 10 "dumpcap pid $pid to exit" \
		eval "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}
