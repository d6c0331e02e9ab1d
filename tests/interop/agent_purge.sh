#!/usr/bin/env bash
# agent_purge.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: expired temporary keys
# leave the store, bytes and all.
#
# lethe-agent run rotates host/server every 2 s (overlap 1 s, max_ticket_life
# 4 s: accept_until = creation + 7 s) for RUN_SECONDS against lethe-kdc's
# registrar, so keys expire while it runs. Meanwhile sqlite3 (read-only)
# records every temporary key's sealed blob and accept_until. After the run
# the test polls `lethe-admin audit --json` until no temporary key is in
# state "expired" (the registrar must delete them within a minute of
# accept_until), for at most PURGE_WAIT seconds after the last accept_until.
# Then, with the KDC still running (closing SQLite's last connection would
# checkpoint the WAL and hide a missing checkpoint):
#  - the audit shows no expired temporary key, and none of the recorded keys
#    whose accept_until has passed;
#  - neither realm.db nor realm.db-wal holds any byte string of their blobs
#    (secure_delete, and a WAL checkpoint that truncates the -wal file).
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"

KDC=${1:?usage: agent_purge.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: agent_purge.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: agent_purge.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=LETHE.TEST
SVC=host/server.lethe.test@$REALM
ALICE_PW='alice: purge'
ROTATION=2        # seconds
OVERLAP=1         # seconds
TICKET_LIFE=4     # seconds: the agent's max_ticket_life (realm max life 10 s)
RUN_SECONDS=30
PURGE_WAIT=70     # seconds after the last accept_until

lethe_require_tools sqlite3 python3 jq timeout grep kinit kvno
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH
AGENT_PID=

# ---- the realm (short ticket life), the server's identity, the KDC ----------
mkdir -p "$S/realm"
LETHE_REALM_DIR=$(cd "$S/realm" && pwd)
LETHE_REALM=$REALM
LETHE_ADMIN=$ADMIN
lethe_realm_admin init --realm "$REALM" --max-life 10s
lethe_realm_add_user alice "$ALICE_PW"
lethe_agent_identity "$S/srv" "$SVC" server.lethe.test
REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
lethe_agent_conf "$S/srv/agent.conf" "$SVC" "$REG_PORT" "keytab = server.keytab" \
	"rotation = ${ROTATION}s" "overlap = ${OVERLAP}s" "max_ticket_life = ${TICKET_LIFE}s"
chmod 600 "$S/srv/server.key"
DB=$LETHE_REALM_DIR/realm.db
KEYS=$S/keys.tsv     # principal kvno enctype accept_until blob-hex, one a line

# Record every temporary key in the store now (read-only: this connection
# must never checkpoint the WAL itself).
record_keys() {
	sqlite3 -batch -separator "$(printf '\t')" "file:$DB?mode=ro" \
		"SELECT p.name, k.kvno, k.enctype, k.accept_until, hex(k.key_blob)
		 FROM keys k JOIN principals p ON p.id = k.principal_id
		 WHERE k.kind = 'temporary'" >>"$KEYS" 2>"$S/sqlite.err" ||
		lethe_die "sqlite3 could not read the store: $(cat "$S/sqlite.err")"
}

# The audit as JSON in $S/audit.json.
audit_json() {
	timeout "$LETHE_ADMIN_TIMEOUT" "$ADMIN" -d "$DB" audit --json >"$S/audit.json" 2>"$S/audit.err" ||
		lethe_die "lethe-admin audit failed: $(cat "$S/audit.err")"
}

# Number of temporary keys the audit shows in state "expired".
expired_in_audit() {
	audit_json
	jq '[.principals[].keys[] | select(.kind == "temporary" and .state == "expired")] | length' \
		"$S/audit.json"
}

# ---- the agent runs; the keys are recorded ---------------------------------
"$AGENT" -c "$S/srv/agent.conf" run >"$S/run.log" 2>&1 &
AGENT_PID=$!
lethe_at_exit 'kill -KILL $AGENT_PID 2>/dev/null || true'
lethe_wait_until 15 "the agent to register kvno 1" grep -q 'event=register .*result=OK' "$S/run.log" ||
	lethe_die "no registration: $(cat "$S/run.log")"
: >"$KEYS"
end=$((SECONDS + RUN_SECONDS))
while [ "$SECONDS" -lt "$end" ]; do
	record_keys
	lethe_kdc_alive || lethe_die "lethe-kdc died: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
	kill -0 "$AGENT_PID" 2>/dev/null || lethe_die "lethe-agent died: $(tail -5 "$S/run.log")"
	sleep 0.5   # sampling period: every key lives at least 7 s in the store
done
# The realm works with the rotating service: a ticket under its newest key.
printf '%s\n' "$ALICE_PW" | mit_kinit alice >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit alice: $(cat "$S/kinit.out")"
mit_kvno "$SVC" >"$S/kvno.out" 2>&1 || lethe_die "kvno $SVC: $(cat "$S/kvno.out")"
kill -TERM "$AGENT_PID"
timeout 10 tail --pid="$AGENT_PID" -f /dev/null || lethe_die "lethe-agent ignored SIGTERM"
rc=0
wait "$AGENT_PID" || rc=$?
[ "$rc" -eq 0 ] || lethe_die "lethe-agent run exited $rc: $(tail -5 "$S/run.log")"
record_keys
sort -u "$KEYS" -o "$KEYS"
nkeys=$(wc -l <"$KEYS")
nkvnos=$(cut -f2 "$KEYS" | sort -u | wc -l)
registered=$(grep -c 'event=register .*result=OK' "$S/run.log" || true)
[ "$nkvnos" -ge 8 ] ||
	lethe_die "only $nkvnos kvnos recorded in ${RUN_SECONDS}s (rotation ${ROTATION}s): $(tail -5 "$S/run.log")"
last_accept=$(cut -f4 "$KEYS" | sort -n | tail -1)
lethe_log "recorded $nkeys temporary keys ($nkvnos kvnos, $registered registrations);" \
	"the last accept_until is $((last_accept - $(date +%s))) s from now"

# ---- the KDC purges them -------------------------------------------------------
# Poll until every recorded key's accept_until has passed and the audit shows
# no expired temporary key; give up PURGE_WAIT s after the last accept_until.
deadline=$((last_accept + PURGE_WAIT))
expired=-1
while :; do
	now=$(date +%s)
	if [ "$now" -gt "$last_accept" ]; then
		expired=$(expired_in_audit)
		[ "$expired" -ne 0 ] || break
	fi
	[ "$now" -lt "$deadline" ] || break
	lethe_kdc_alive || lethe_die "lethe-kdc died: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"
	sleep 1
done
waited=$(($(date +%s) - last_accept))
lethe_kdc_alive || lethe_die "lethe-kdc died: $(tail -5 "$LETHE_REALM_DIR/kdc.log")"

failures=()
[ "$expired" -eq 0 ] ||
	failures+=("lethe-admin audit still shows $expired temporary keys in state expired ${waited}s after the last accept_until (limit ${PURGE_WAIT}s): $(jq -c '[.principals[] | {name, keys: [.keys[] | select(.state == "expired") | .kvno]} |
			select(.keys | length > 0)]' "$S/audit.json")")

# Recorded keys (principal, kvno, enctype) the audit still lists.
audit_json
left=$(comm -12 \
	<(jq -r '.principals[] | .name as $n | .keys[] | select(.kind == "temporary") |
		"\($n)\t\(.kvno)\t\(.enctype)"' "$S/audit.json" | sort -u) \
	<(cut -f1-3 "$KEYS" | sort -u) | wc -l)
[ "$left" -eq 0 ] ||
	failures+=("$left of the $nkeys recorded expired keys are still in the store")

# Their sealed bytes in the database and WAL files.
python3 - "$KEYS" "$DB" "$DB-wal" >"$S/scan.out" 2>&1 <<'EOF' || failures+=("$(cat "$S/scan.out")")
import os, sys
keys, files = sys.argv[1], sys.argv[2:]
blobs = []
for line in open(keys):
    name, kvno, enctype, accept, blob = line.rstrip("\n").split("\t")
    blobs.append((name, kvno, enctype, bytes.fromhex(blob)))
found = []
sizes = []
for path in files:
    if not os.path.exists(path):
        sizes.append("%s absent" % os.path.basename(path))
        continue
    data = open(path, "rb").read()
    sizes.append("%s %d bytes" % (os.path.basename(path), len(data)))
    for name, kvno, enctype, blob in blobs:
        if blob in data:
            found.append("%s kvno %s enctype %s in %s" % (name, kvno, enctype, os.path.basename(path)))
print("scanned %s for %d sealed key blobs" % (", ".join(sizes), len(blobs)))
if found:
    print("%d purged key blobs are still in the files: %s" % (len(found), "; ".join(found[:6])))
    sys.exit(1)
EOF
cat "$S/scan.out"

if [ ${#failures[@]} -ne 0 ]; then
	for f in "${failures[@]}"; do
		echo "FAIL: $f" >&2
	done
	lethe_die "expired temporary keys were not purged from the store (${#failures[@]} checks failed)"
fi
lethe_kdc_stop
echo "PASS: agent_purge ($nkeys expired temporary keys gone from audit, .db and -wal)"
