#!/bin/bash
# test_unit.sh - the installed systemd unit template layerhost@.service:
# a oneshot that stays active, mounts at start and unmounts everything at
# stop, one configuration per instance; `systemd-analyze verify` finds
# nothing to say about it, its man pages included.
set -u
# shellcheck source=tests/packaging/install.sh
source "$(dirname "$0")/install.sh"
unit=$(installed "$unitdir/layerhost@.service")
check "the unit template is installed" test -s "$unit"

# The unit names the program by the configured (absolute) path; this install
# went elsewhere.
exe="$configured_bindir/layerhost"
has() { grep -Eq "$1" "$unit"; }
check "Type=oneshot" has '^Type=oneshot$'
check "RemainAfterExit=yes" has '^RemainAfterExit=yes$'
check "mount on start, one configuration per instance" \
	has "^ExecStart=$exe --config /.*/layerhost/%i\\.ini mount\$"
check "unmount --all on stop" has "^ExecStop=$exe --config /.*/layerhost/%i\\.ini unmount --all\$"
check "a state folder per instance" has '^StateDirectory=layerhost/%i$'
check "documented by the man pages" has '^Documentation=man:layerhost\(8\) man:layerhost.ini\(5\)$'
check "enabled into multi-user.target" has '^WantedBy=multi-user.target$'

if ! command -v systemd-analyze >/dev/null; then
	echo "SKIPPED: systemd-analyze is not installed (the systemd package; .ci/deps.sh installs it):" \
		"$passed checks passed, the unit was not verified"
	[ "$failed" -eq 0 ] || exit 1
	exit 77
fi
# verify checks that ExecStart's program exists and that man(1) finds the
# Documentation= pages: point both at this install.
mkdir -p "$work/units"
sed "s|$configured_bindir/layerhost|$(installed "$bindir/layerhost")|g" "$unit" \
	>"$work/units/layerhost@.service"
man=yes
[ -n "${LH_NO_MAN-}" ] && man=no # built without the pages
if MANPATH=$(installed "$mandir") systemd-analyze verify --man="$man" "$work/units/layerhost@.service" \
	>"$work/verify" 2>&1 && [ ! -s "$work/verify" ]; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "FAIL: systemd-analyze verify layerhost@.service:" >&2
	cat "$work/verify" >&2
fi
finish
