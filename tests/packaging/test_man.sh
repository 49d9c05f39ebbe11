#!/bin/bash
# test_man.sh - the installed man pages: man(1) finds each by name under the
# prefix and renders it with no warning (man -l through groff, groff -ww,
# and mandoc's linter when mandoc is installed); each has its sections.
set -u
# shellcheck source=tests/packaging/install.sh
source "$(dirname "$0")/install.sh"
if [ -n "${LH_NO_MAN-}" ]; then
	echo "SKIPPED: built with LH_MAN=OFF, no man pages to check"
	exit 77
fi
for tool in man groff; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIPPED: $tool is not installed (.ci/deps.sh installs man-db and groff-base)"
		exit 77
	fi
done
command -v mandoc >/dev/null || echo "NOTE: mandoc is not installed: its lint is not run (.ci/deps.sh installs it)"

MANPATH=$(installed "$mandir")
export MANPATH
export MANWIDTH=80 LC_ALL=C.UTF-8
for entry in 8:layerhost 8:layerhost-vhd 5:layerhost.ini 7:layerhost-backend; do
	section=${entry%%:*}
	name=${entry#*:}
	page=$(installed "$mandir/man$section/$name.$section")
	check "man -w finds $name($section) under the prefix" \
		test "$(man -w "$section" "$name" 2>/dev/null)" = "$page"
	man --warnings=w -l "$page" >"$work/out" 2>"$work/err"
	check "man -l $name.$section renders without warnings" test ! -s "$work/err"
	[ -s "$work/err" ] && cat "$work/err" >&2
	check "$name.$section has NAME, DESCRIPTION and SEE ALSO" sh -c \
		"grep -q '^NAME' '$work/out' && grep -q '^DESCRIPTION' '$work/out' &&
		 grep -q '^SEE ALSO' '$work/out'"
	groff -ww -z -mandoc "$page" 2>"$work/err"
	check "groff -ww -z $name.$section is clean" test ! -s "$work/err"
	[ -s "$work/err" ] && cat "$work/err" >&2
	if command -v mandoc >/dev/null; then
		# Warnings and worse; style notes (a referenced page not installed
		# on this machine) are not the page's fault.
		mandoc -T lint -W warning "$page" >"$work/err" 2>&1
		check "mandoc -T lint $name.$section is clean" test ! -s "$work/err"
		[ -s "$work/err" ] && cat "$work/err" >&2
	fi
done

page=$(installed "$mandir/man8/layerhost.8")
out=$(man -l "$page" 2>/dev/null)
for heading in SYNOPSIS COMMANDS OPTIONS 'JSON OUTPUT' ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES; do
	check "layerhost(8) has $heading" grep -q "^$heading\$" <<<"$out"
done
check "layerhost(8) shows the systemd usage" grep -q 'systemctl enable --now layerhost@' <<<"$out"
out=$(man -l "$(installed "$mandir/man5/layerhost.ini.5")" 2>/dev/null)
for heading in '\[host\]' '\[uvm\]' '\[pipeline\]' '\[plugin.NAME\]' '\[plugin.scsi\]' \
	'\[plugin.vpmem\]' '\[plugin.vsmb\]' '\[plugin.hostlayer\]' '\[container.NAME\]'; do
	check "layerhost.ini(5) has $heading" grep -q "^   $heading\$" <<<"$out"
done
check "layerhost.ini(5) gives the line length" grep -Eq 'at most [0-9]+ characters' <<<"$out"
finish
