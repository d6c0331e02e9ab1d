#!/usr/bin/env bash
# store_pg_migrate.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT: `lethe-admin migrate
# --to postgresql://...` moves an SQLite realm into a real PostgreSQL (started
# here as an unprivileged user; lib/pg.sh) and nothing is lost:
#  - the SQLite realm has users, a service with two kvnos and its keytabs, a
#    temporary key registered by lethe-agent through the registrar, a trust
#    anchor, an allow rule, a changed registration policy and a service policy
#  - after the migration lethe-kdc serves the URI: MIT kinit with the old
#    passwords, kvno -k with the old keytab, the agent's service gets tickets
#    under its registered kvno that its keytab opens
#  - list, show of every principal, trust list, allow list, reg-policy,
#    service-policy, agents (--json) against the URI equal the SQLite output
#  - the copy takes writes: a user added through the URI (new row ids past
#    the copied ones) can kinit; the agent registers its next kvno with the
#    registrar of the KDC on PostgreSQL
#  - migrate into a database that is not empty (the same target again, and a
#    database holding one unrelated table) is refused with exit 4 and a
#    message, and neither database changes
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=kdc_lib.sh
. "$HERE/kdc_lib.sh"
# shellcheck source=lib/mit_client.sh
. "$HERE/lib/mit_client.sh"
# shellcheck source=lib/agent.sh
. "$HERE/lib/agent.sh"
# shellcheck source=lib/pg.sh
. "$HERE/lib/pg.sh"

KDC=${1:?usage: store_pg_migrate.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
ADMIN=${2:?usage: store_pg_migrate.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
AGENT=${3:?usage: store_pg_migrate.sh LETHE_KDC LETHE_ADMIN LETHE_AGENT}
REALM=MIG.LETHE.TEST
SVC=host/svc.mig.test@$REALM
HTTP=HTTP/www.mig.test@$REALM
AGENT_TIMEOUT=30

lethe_require_tools kinit klist kvno kdestroy openssl timeout grep sed cmp runuser
export LC_ALL=C TZ=UTC
[ -x "$AGENT" ] || lethe_die "lethe-agent not found at $AGENT"

lethe_scratch_dir
S=$LETHE_SCRATCH

# ---- an SQLite realm with something in every table ---------------------------------
lethe_realm_use sq
lethe_realm_create "$S/sq" "$REALM" "$ADMIN"
DB=$LETHE_REALM_DIR/realm.db
MKEY=$DB.mkey
declare -A PW=([alice]='alice: moved to PostgreSQL' [bob]='bob: moved too')
for u in alice bob; do
	lethe_realm_add_user "$u" "${PW[$u]}"
done
lethe_realm_admin disable bob
lethe_realm_admin enable bob
lethe_realm_admin add-service "$SVC"
lethe_realm_admin export-keytab "$SVC" -k "$S/svc-1.keytab"
lethe_realm_admin passwd "$SVC" --random
lethe_realm_admin export-keytab "$SVC" -k "$S/svc-2.keytab"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=Other CA" -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign -keyout "$S/other-ca.key" \
	-out "$S/other-ca.pem" >/dev/null 2>&1 || lethe_die "openssl: no CA certificate"
lethe_realm_admin trust add other-ca "$S/other-ca.pem"
lethe_realm_admin allow --san dns:app.mig.test "HTTP/app.mig.test@$REALM"
lethe_realm_admin reg-policy --max-use-window 2h
lethe_realm_admin service-policy "$SVC" --classic-key on
lethe_agent_identity "$S/srv" "$HTTP" www.mig.test

REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "refresh_interval = 60" "[registrar]" "listen = 127.0.0.1:$REG_PORT"
lethe_agent_conf "$S/srv/agent.conf" "$HTTP" "$REG_PORT" "keytab = server.keytab" \
	"max_ticket_life = 10h"
chmod 600 "$S/srv/server.key"

# agent_once WANT: lethe-agent once registers kvno WANT.
agent_once() {
	local rc=0
	timeout "$AGENT_TIMEOUT" "$AGENT" -c "$S/srv/agent.conf" once >"$S/agent.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || lethe_die "lethe-agent once exited $rc: $(cat "$S/agent.out")"
	grep -q "kvno $1: OK" "$S/agent.out" ||
		lethe_die "once did not register kvno $1: $(cat "$S/agent.out")"
}
lethe_log "lethe-agent registers a temporary key (kvno 1) with the SQLite realm"
agent_once 1
lethe_kdc_stop

# ---- lethe-admin against either store -----------------------------------------------
# adm_at STORE ARGS...: lethe-admin on STORE with the realm's master key file.
adm_at() {
	timeout "$LETHE_ADMIN_TIMEOUT" "$ADMIN" -d "$1" --master-key-file "$MKEY" "${@:2}"
}

# dump STORE FILE: everything lethe-admin shows of the realm, into FILE.
dump() {
	local store=$1 out=$2 p
	{
		adm_at "$store" --json list
		adm_at "$store" list
		while read -r p; do
			adm_at "$store" --json show "$p"
			adm_at "$store" show "$p"
		done < <(adm_at "$DB" list | awk '{print $1}' | grep '@')
		adm_at "$store" --json trust list
		adm_at "$store" --json allow list
		adm_at "$store" reg-policy
		adm_at "$store" service-policy "$SVC"
		adm_at "$store" service-policy "$HTTP"
		adm_at "$store" --json agents
	} >"$out" 2>&1 || lethe_die "lethe-admin on $store failed: $(tail -3 "$out")"
}
dump "$DB" "$S/sqlite.dump"
grep -q "alice@$REALM" "$S/sqlite.dump" || lethe_die "list shows no alice: $(head "$S/sqlite.dump")"
grep -q "other-ca" "$S/sqlite.dump" || lethe_die "no trust anchor in the dump"
grep -q "app.mig.test" "$S/sqlite.dump" || lethe_die "no allow rule in the dump"
GEN=$(adm_at "$DB" --json maintain | sed -n 's/.*"generation":\([0-9]*\).*/\1/p')
[ -n "$GEN" ] || lethe_die "no generation from maintain"

# ---- the migration --------------------------------------------------------------------
lethe_pg_start
URI=$(lethe_pg_createdb lethe_realm)
lethe_log "migrate the SQLite realm (generation $GEN) into an empty PostgreSQL database"
adm_at "$DB" --json migrate --to "$URI" >"$S/migrate.json" 2>&1 ||
	lethe_die "migrate failed: $(cat "$S/migrate.json")"
grep -q "\"generation\":$GEN," "$S/migrate.json" ||
	lethe_die "migrate did not keep generation $GEN: $(cat "$S/migrate.json")"
for t in realm principals keys credentials trust_anchors reg_rules reg_policy \
	service_policy agents changes feed generation schema_version; do
	grep -q "\"$t\":[1-9]" "$S/migrate.json" ||
		lethe_die "migrate copied no row of $t: $(cat "$S/migrate.json")"
done
[ "$(lethe_pg_sql lethe_realm "SELECT value FROM generation")" = "$GEN" ] ||
	lethe_die "the PostgreSQL generation is not $GEN"
[ "$(lethe_pg_sql lethe_realm "SELECT count(*) FROM keys WHERE kind = 'temporary'")" -ge 1 ] ||
	lethe_die "the agent's temporary key did not move"

lethe_log "lethe-admin shows the same realm on the URI as on the SQLite file"
dump "$URI" "$S/pg.dump"
cmp -s "$S/sqlite.dump" "$S/pg.dump" ||
	lethe_die "lethe-admin output differs after migrate: $(diff "$S/sqlite.dump" "$S/pg.dump" | head -20)"

# ---- a KDC on PostgreSQL serves the old secrets -----------------------------------------
lethe_realm_use pg
lethe_realm_attach "$S/pg" "$REALM" "$ADMIN" "$URI" "$MKEY"
PG_REG_PORT=$(lethe_free_port)
lethe_kdc_start "$KDC" "refresh_interval = 60" "[registrar]" "listen = 127.0.0.1:$PG_REG_PORT"
mit_client_setup "$S/client" "$REALM" 127.0.0.1 "$LETHE_KDC_PORT" udp
for u in alice bob; do
	printf '%s\n' "${PW[$u]}" | mit_kinit "$u" >"$S/kinit.out" 2>&1 ||
		lethe_die "kinit $u with the password set before the migration: $(cat "$S/kinit.out")"
done
mit_kvno -k "$S/svc-2.keytab" "$SVC" >"$S/kvno.out" 2>&1 &&
	grep -qx "$SVC: kvno = 2, keytab entry valid" "$S/kvno.out" ||
	lethe_die "kvno -k with the keytab exported before the migration: $(cat "$S/kvno.out")"
mit_kvno -k "$S/srv/server.keytab" "$HTTP" >"$S/kvno.out" 2>&1 &&
	grep -qx "$HTTP: kvno = 1, keytab entry valid" "$S/kvno.out" ||
	lethe_die "the agent's service under its registered kvno 1: $(cat "$S/kvno.out")"
# Negative: the keytab of the replaced kvno does not open the ticket.
if mit_kvno -k "$S/svc-1.keytab" "$SVC" >"$S/kvno.out" 2>&1; then
	lethe_die "kvno -k with the kvno 1 keytab opened a kvno 2 ticket: $(cat "$S/kvno.out")"
fi

lethe_log "the copy takes writes: a new user, the agent's next kvno"
printf '%s\n' 'carol: after the move' | lethe_realm_admin add-user carol --password-stdin
printf '%s\n' 'carol: after the move' | mit_kinit carol >"$S/kinit.out" 2>&1 ||
	lethe_die "kinit carol, added after the migration: $(cat "$S/kinit.out")"
sed -i "s/^kdc = .*/kdc = 127.0.0.1:$PG_REG_PORT/" "$S/srv/agent.conf"
agent_once 2
deadline=$((SECONDS + 30))
until mit_kvno -k "$S/srv/server.keytab" "$HTTP" >"$S/kvno.out" 2>&1 &&
	grep -qx "$HTTP: kvno = 2, keytab entry valid" "$S/kvno.out"; do
	[ "$SECONDS" -lt "$deadline" ] || lethe_die "kvno 2 never served: $(cat "$S/kvno.out")"
	mit_kdestroy >/dev/null 2>&1 || true
	printf '%s\n' "${PW[alice]}" | mit_kinit alice >/dev/null 2>&1
	sleep 0.1
done
lethe_kdc_stop

# ---- a target that is not empty is refused and left alone -------------------------------
# snapshot DBNAME: each table of the database with its row count and a hash of its rows.
snapshot() {
	local t
	for t in $(lethe_pg_sql "$1" "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"); do
		echo "$t=$(lethe_pg_sql "$1" "SELECT count(*) || ':' ||
			coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM \"$t\" x")"
	done
}
# refused DBNAME: migrate into it exits 4 with the message; it does not change.
refused() {
	local before after rc=0
	before=$(snapshot "$1")
	adm_at "$DB" migrate --to "$(lethe_pg_uri "$1")" >"$S/refused.out" 2>&1 || rc=$?
	[ "$rc" -eq 4 ] || lethe_die "migrate into non-empty $1 exited $rc: $(cat "$S/refused.out")"
	grep -q "not empty" "$S/refused.out" ||
		lethe_die "no clear message for non-empty $1: $(cat "$S/refused.out")"
	after=$(snapshot "$1")
	[ "$before" = "$after" ] || lethe_die "a refused migrate changed $1: '$before' -> '$after'"
}
lethe_log "migrate into the migrated database again, and into one holding another table: refused"
refused lethe_realm
lethe_pg_createdb other >/dev/null
lethe_pg_sql other "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x')" >/dev/null
refused other
[ "$(snapshot other | sed 's/:.*//')" = "notes=1" ] || lethe_die "database other changed: $(snapshot other)"
lethe_log "OK"
