#!/bin/sh
# Install what layerhost needs to build and test on Debian 12, if missing.
# Usage: .ci/deps.sh [extra packages...]
set -eu
pkgs="cmake make gcc pkg-config libltdl-dev libinih-dev libcjson-dev libcunit1-dev
zlib1g-dev e2fsprogs qemu-utils python3 libarchive-dev libext2fs-dev comerr-dev libssl-dev
zstd $*"
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
