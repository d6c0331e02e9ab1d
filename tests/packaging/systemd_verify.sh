#!/usr/bin/env bash
# systemd_verify.sh BUILD_DIR: install the build into a scratch root
# (cmake --install --prefix ROOT/usr) and check what a package would ship:
#  - the programs, manual pages, examples, units, sysusers and tmpfiles files
#    are there, and each unit's ExecStart names the installed program;
#  - systemd-analyze verify passes on each unit with no message at all (it
#    also runs man(1) for Documentation=, here against the installed pages);
#  - systemd-analyze security --offline keeps each unit's exposure at or
#    below its level today (lethe-kdc 1.4, lethe-agent 2.2, lethe-kmp 1.2),
#    so a weakened sandbox fails;
#  - systemd-sysusers makes the lethe user in the scratch root, and
#    systemd-tmpfiles then makes the folders with their owners and modes.
# Needs no running systemd (works in a container).
set -euo pipefail
build=${1:?usage: systemd_verify.sh BUILD_DIR}
for tool in cmake systemd-analyze systemd-sysusers systemd-tmpfiles man stat; do
	command -v "$tool" >/dev/null || { echo "systemd_verify: $tool missing (scripts/deps.sh)" >&2; exit 1; }
done
root=$(mktemp -d)
trap 'rm -rf -- "$root"' EXIT
fail() { echo "systemd_verify: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$root/usr" >"$root/install.log" ||
	fail "cmake --install failed: $(cat "$root/install.log")"
units=$root/usr/lib/systemd/system
for f in sbin/lethe-kdc sbin/lethe-admin sbin/lethe-agent sbin/lethe-kmp \
	share/man/man8/lethe-kdc.8 share/man/man8/lethe-admin.8 \
	share/man/man8/lethe-agent.8 share/man/man8/lethe-kmp.8 \
	share/man/man5/kdc.conf.5 share/man/man5/agent.conf.5 \
	share/doc/lethe/examples/kdc.conf.example share/doc/lethe/examples/agent.conf.example \
	share/doc/lethe/examples/kmp.conf.example \
	lib/systemd/system/lethe-kdc.service lib/systemd/system/lethe-agent.service \
	lib/systemd/system/lethe-kmp.service lib/sysusers.d/lethe.conf lib/tmpfiles.d/lethe.conf; do
	[ -e "$root/usr/$f" ] || fail "not installed: $f"
done

declare -A max_exposure=([lethe-kdc]=14 [lethe-agent]=22 [lethe-kmp]=12)   # tenths
for name in lethe-kdc lethe-agent lethe-kmp; do
	unit=$units/$name.service
	grep -q "^ExecStart=$root/usr/sbin/$name " "$unit" ||
		fail "$name.service: ExecStart does not name the installed program: $(grep ^ExecStart= "$unit")"
	rc=0
	out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$unit" 2>&1) || rc=$?
	[ $rc -eq 0 ] && [ -z "$out" ] || fail "verify $name.service (exit $rc): $out"
	rc=0
	out=$(systemd-analyze security --offline=true --no-pager \
		--threshold="${max_exposure[$name]}" "$unit" 2>&1) || rc=$?
	[ $rc -eq 0 ] || fail "$name.service is more exposed than ${max_exposure[$name]}/100: $(grep -E '✗|Overall' <<<"$out")"
	echo "$name.service: verified; $(grep 'Overall exposure' <<<"$out")"
done

# sysusers and tmpfiles, applied to the scratch root (empty user database).
mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
out=$(systemd-sysusers --root="$root" 2>&1) || fail "systemd-sysusers failed: $out"
entry=$(grep '^lethe:' "$root/etc/passwd") || fail "systemd-sysusers made no lethe user"
uid=$(cut -d: -f3 <<<"$entry")
gid=$(cut -d: -f4 <<<"$entry")
systemd-tmpfiles --root="$root" --create >/dev/null || fail "systemd-tmpfiles failed"
want() {
	local got
	got=$(stat -c '%a %u %g' "$root$1")
	[ "$got" = "$2" ] || fail "$1: mode, uid, gid $got, expected $2"
}
want /etc/lethe "750 0 $gid"
want /etc/lethe/keytabs "755 0 0"
want /var/lib/lethe "700 $uid $gid"
want /var/lib/lethe-agent "700 0 0"
echo "systemd_verify: units, man pages, sysusers and tmpfiles check out"
