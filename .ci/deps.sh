#!/bin/sh
# Install what layerhost needs to build and run every test on Debian 12, if
# missing, so the README's test command is CI's test command.
# Usage: .ci/deps.sh [extra packages...]
set -eu
# Build: the compiler, CMake and the libraries. Tests: CUnit, the tools the
# example's layers are made with (e2fsprogs, qemu-utils), QEMU for the qemu
# driver's tests, and what the packaging tests check the installed files
# with (man-db and groff for the man pages, mandoc's linter, bash-completion,
# systemd's unit verifier), and Go (golang-go: Go's own encoding/gob rebuilds
# the VSMB share records' golden files, tests/vsmb/oracle).
pkgs="cmake make gcc pkg-config libltdl-dev libinih-dev libcjson-dev libcunit1-dev
zlib1g-dev e2fsprogs qemu-utils qemu-system-x86 python3 busybox-static
man-db groff-base mandoc bash-completion systemd golang-go
libarchive-dev libext2fs-dev comerr-dev libssl-dev zstd $*"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
