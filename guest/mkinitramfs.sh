#!/bin/sh
# guest/mkinitramfs.sh - the guest layerhost boots: a Debian kernel (as an
# ELF vmlinux for PVH boot) and an initramfs holding the agent as /init,
# the kernel modules it loads, busybox and mke2fs.
#
# Usage: guest/mkinitramfs.sh [OPTIONS] [BUILD_DIR]
#   BUILD_DIR        the CMake build tree with the agent built (default: build)
#   --out DIR        where vmlinux, initramfs.cpio and kernel.abi go
#                    (default: BUILD_DIR/guest)
#   --cache DIR      kernel pieces kept per kernel ABI name, reused by later
#                    runs (default: $LH_GUEST_CACHE, else OUT/cache)
#   --agent FILE     the agent (default: BUILD_DIR/guest/agent/layerhost-agent)
#   --if-possible    when the kernel cannot be had (no network, no apt
#                    lists), say why in OUT/unavailable and exit 0, so the
#                    guest tests skip instead of failing
#
# One-liner, from the repository: cmake -S . -B build && cmake --build build -j2 && guest/mkinitramfs.sh build
# Installed (cmake --install), the tool sits beside the installed agent, in
# the folder an installed layerhost boots its guest from: run without
# BUILD_DIR, it takes that agent and writes there.
#
# The kernel is the one Debian's linux-image-amd64 names today
# (linux-image-<abi>); it is downloaded with apt-get download, never
# installed, and only the files named below are taken out of it. Needs
# apt-get, dpkg-deb, xz, busybox (busybox-static, or downloaded), mke2fs
# (e2fsprogs) and ldd; no root.
set -eu

# In load order: each module comes after the ones it depends on (checked
# below with modinfo). crc32c_generic must be in before ext4's first mount.
MODULES="virtio_pci_modern_dev virtio_pci_legacy_dev virtio_ring virtio virtio_pci
scsi_common scsi_mod virtio_scsi crct10dif_common crc-t10dif crc64 crc64-rocksoft t10-pi
sd_mod libnvdimm nd_virtio virtio_pmem nd_btt nd_pmem crc32c_generic jbd2 mbcache crc16
ext4 overlay fuse virtiofs virtio_console"

here=$(cd "$(dirname "$0")" && pwd)
build=
out=
cache=${LH_GUEST_CACHE:-}
agent=
if_possible=false
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--agent) agent=$2; shift 2 ;;
	--if-possible) if_possible=true; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "mkinitramfs: unknown option $1 (--help)" >&2; exit 2 ;;
	*) build=$1; shift ;;
	esac
done
if [ -z "$build" ] && [ -x "$here/layerhost-agent" ]; then
	# the installed tool: the agent beside it, the guest made beside it
	out=${out:-$here}
	agent=${agent:-$here/layerhost-agent}
fi
build=${build:-$here/../build}
out=${out:-$build/guest}
cache=${cache:-$out/cache}
agent=${agent:-$build/guest/agent/layerhost-agent}

say() { echo "mkinitramfs: $*" >&2; }
die() { say "$*"; exit 1; }
# The kernel cannot be had: a reason the tests can show, or a failure.
unavailable() {
	if $if_possible; then
		mkdir -p "$out"
		echo "$*" >"$out/unavailable"
		say "$* (skipping: --if-possible)"
		exit 0
	fi
	die "$*"
}

[ -x "$agent" ] || die "$agent: the agent is not built (cmake --build $build --target layerhost-agent)"
for tool in apt-get apt-cache dpkg-deb tar xz od truncate ldd; do
	command -v $tool >/dev/null || unavailable "$tool is not installed"
done
mkdir -p "$out" "$cache"
# Absolute: the downloads run in folders of their own.
out=$(cd "$out" && pwd)
cache=$(cd "$cache" && pwd)
agent=$(cd "$(dirname "$agent")" && pwd)/$(basename "$agent")
rm -f "$out/unavailable"
tmp=$(mktemp -d "$out/.mkinitramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- the kernel ABI name: what linux-image-amd64 depends on today -------
resolve_abi() {
	abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -n 1)
	if [ -z "$abi" ]; then
		# No apt lists (never updated, or cleaned): a kernel cached
		# earlier still serves.
		abi=$(for d in "$cache"/[0-9]*-amd64; do
			[ -f "$d/.complete" ] && basename "$d"
		done | sort -V | tail -n 1)
		if [ -z "$abi" ]; then
			unavailable "apt-cache does not know linux-image-amd64 (run apt-get update)" \
				"and nothing is cached in $cache"
		fi
		say "apt-cache does not know linux-image-amd64; using the cached $abi"
	fi
	kdir=$cache/$abi
}

# ---- pieces of the kernel package, once per ABI -------------------------

# The ELF kernel inside a bzImage: the setup header says where the
# compressed payload is (boot protocol 2.08+), its first bytes say how it
# is compressed.
extract_vmlinux() {
	bz=$1 elf=$2
	u8() { od -An -tu1 -j "$1" -N 1 "$bz" | tr -d ' '; }
	u32() { od -An -tu4 -j "$1" -N 4 --endian=little "$bz" | tr -d ' '; }
	[ "$(od -An -c -j 514 -N 4 "$bz" | tr -d ' ')" = HdrS ] || die "$bz: not a bzImage (no HdrS)"
	setup_sects=$(u8 497)
	[ "$setup_sects" -ne 0 ] || setup_sects=4
	offset=$(( (setup_sects + 1) * 512 + $(u32 584) ))
	length=$(u32 588)
	# The build appends the uncompressed size (4 bytes) to the stream.
	magic=$(od -An -tx1 -j "$offset" -N 6 "$bz" | tr -d ' \n')
	case $magic in
	fd377a585a00*) unpack="xz -dc --single-stream" ;;
	1f8b*) unpack="gzip -dc" ;;
	28b52ffd*) unpack="zstd -dc" ;;
	*) die "$bz: compressed kernel of an unknown kind (magic $magic)" ;;
	esac
	tail -c +$((offset + 1)) "$bz" | head -c $((length - 4)) | $unpack >"$elf" ||
		die "$bz: cannot decompress its payload ($unpack)"
	[ "$(od -An -c -N 4 "$elf" | tr -d ' ')" = '177ELF' ] || die "$elf: the payload is not ELF"
}

# A signed module ends with its signature, a 12-byte descriptor and a
# 28-byte marker; dropping them spares the kernel checking each signature
# (the kernel does not require signatures).
strip_signature() {
	ko=$1
	marker="~Module signature appended~"
	size=$(wc -c <"$ko")
	[ "$(tail -c 28 "$ko" | head -c 27)" = "$marker" ] || return 0
	# shellcheck disable=SC2046 # the twelve bytes, one argument each
	set -- $(od -An -tu1 -j $((size - 40)) -N 12 "$ko")
	# signer_len $4, key_id_len $5, sig_len big-endian in $9..$12
	sig=$(( ($9 << 24) | (${10} << 16) | (${11} << 8) | ${12} ))
	truncate -s $((size - 40 - sig - $4 - $5)) "$ko"
}

# Every module's dependencies load before it.
check_order() {
	modinfo=$(command -v modinfo || command -v /sbin/modinfo || true)
	[ -n "$modinfo" ] || modinfo="$busybox modinfo"
	seen=" "
	for m in $MODULES; do
		deps=$($modinfo -F depends "$1/$m.ko" 2>/dev/null | tr ',' ' ')
		for d in $deps; do
			case "$seen" in
			*" $d "* | *" $(echo "$d" | tr _ -) "* | *" $(echo "$d" | tr - _) "*) ;;
			*) die "module $m needs $d, which is not loaded before it" ;;
			esac
		done
		seen="$seen$m "
	done
}

# Download and unpack the kernel package of $abi into $kdir; 1 when the
# download fails.
fetch_kernel() {
	say "kernel $abi: downloading linux-image-$abi (not installed)"
	rm -rf "$tmp/deb" "$tmp/x"
	mkdir -p "$tmp/deb" "$tmp/x"
	(cd "$tmp/deb" && apt-get download -q "linux-image-$abi" >/dev/null 2>"$tmp/apt.err") ||
		return 1
	patterns="./boot/vmlinuz-$abi ./boot/config-$abi"
	for m in $MODULES; do patterns="$patterns */$m.ko"; done
	# shellcheck disable=SC2086
	dpkg-deb --fsys-tarfile "$tmp"/deb/*.deb | tar -x -C "$tmp/x" --wildcards $patterns ||
		die "linux-image-$abi: cannot extract the kernel and modules"
	grep -q '^CONFIG_PVH=y' "$tmp/x/boot/config-$abi" ||
		die "kernel $abi is built without CONFIG_PVH: it cannot boot as an ELF"
	mkdir -p "$tmp/k/modules"
	extract_vmlinux "$tmp/x/boot/vmlinuz-$abi" "$tmp/k/vmlinux"
	cp "$tmp/x/boot/config-$abi" "$tmp/k/config"
	for m in $MODULES; do
		f=$(find "$tmp/x/lib/modules/$abi" -name "$m.ko")
		if [ -z "$f" ] || [ "$(echo "$f" | wc -l)" -ne 1 ]; then
			die "linux-image-$abi has no single $m.ko"
		fi
		cp "$f" "$tmp/k/modules/$m.ko"
		strip_signature "$tmp/k/modules/$m.ko"
	done
	check_order "$tmp/k/modules"
	rm -rf "$kdir"
	mv "$tmp/k" "$kdir"
	touch "$kdir/.complete"
}

# ---- busybox: the installed busybox-static, or its package --------------
find_busybox() {
	bb=$(command -v busybox || true)
	if [ -n "$bb" ] && ldd "$bb" 2>&1 | grep -q 'not a dynamic executable'; then
		echo "$bb"
		return
	fi
	if [ ! -x "$cache/busybox/busybox" ]; then
		say "busybox-static is not installed: downloading it"
		mkdir -p "$tmp/bb" "$cache/busybox"
		(cd "$tmp/bb" && apt-get download -q busybox-static >/dev/null 2>&1) ||
			unavailable "busybox-static is not installed and cannot be downloaded"
		dpkg-deb --fsys-tarfile "$tmp"/bb/*.deb | tar -x -C "$tmp/bb" ./bin/busybox
		mv "$tmp/bb/bin/busybox" "$cache/busybox/busybox"
	fi
	echo "$cache/busybox/busybox"
}

busybox=$(find_busybox)
resolve_abi
if [ -f "$kdir/.complete" ]; then
	say "kernel $abi: cached in $kdir"
elif ! fetch_kernel; then
	# An ABI leaves the archive with the next security update: fresh
	# lists (root only) name the current one.
	why=$(tail -n 1 "$tmp/apt.err")
	if [ "$(id -u)" -eq 0 ] && apt-get update -qq >/dev/null 2>&1; then
		resolve_abi
		[ -f "$kdir/.complete" ] || fetch_kernel ||
			unavailable "apt-get download linux-image-$abi failed: $(tail -n 1 "$tmp/apt.err")"
	else
		unavailable "apt-get download linux-image-$abi failed: $why"
	fi
fi

# ---- the initramfs --------------------------------------------------------
root=$tmp/root
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/lib "$root"/lib64 \
	"$root"/etc/layerhost "$root"/lib/modules "$root"/dev "$root"/proc "$root"/sys \
	"$root"/run "$root"/tmp "$root"/mnt "$root"/root
cp "$agent" "$root/init"
chmod 0755 "$root/init"
cp "$busybox" "$root/bin/busybox"
# The applets, except mke2fs/mkfs.ext2 (ext2 only: the real mke2fs is in
# /sbin) and init (the agent is init).
for applet in $("$busybox" --list); do
	case $applet in mke2fs | mkfs.ext2 | init | linuxrc | busybox) continue ;; esac
	ln -s busybox "$root/bin/$applet"
done
# mke2fs with the libraries it links, for a blank scratch disk (ext4).
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)
[ -x "$mke2fs" ] || die "mke2fs is not installed (apt-get install e2fsprogs)"
cp "$mke2fs" "$root/sbin/mke2fs"
for lib in $(ldd "$mke2fs" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
	case $lib in
	*/ld-linux*) cp -L "$lib" "$root/lib64/$(basename "$lib")" ;;
	*) cp -L "$lib" "$root/lib/$(basename "$lib")" ;;
	esac
done
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"
for m in $MODULES; do
	cp "$kdir/modules/$m.ko" "$root/lib/modules/$m.ko"
	echo "$m" >>"$root/etc/layerhost/modules"
done
echo "$abi" >"$root/etc/layerhost/kernel"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) \
	>"$tmp/initramfs.cpio" || die "cannot write the cpio archive"
mv "$tmp/initramfs.cpio" "$out/initramfs.cpio"
ln -f "$kdir/vmlinux" "$out/vmlinux" 2>/dev/null || cp "$kdir/vmlinux" "$out/vmlinux"
echo "$abi" >"$out/kernel.abi"
say "kernel $abi: $out/vmlinux ($(($(wc -c <"$out/vmlinux") / 1024)) KiB)," \
	"$out/initramfs.cpio ($(($(wc -c <"$out/initramfs.cpio") / 1024)) KiB)"
