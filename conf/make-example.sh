#!/bin/sh
# Build the bundled example's layers next to conf/layers.ini: small real
# ext4 images with VHD footers (LCOW layers), unpacked copies of the same
# trees (host mode, WCOW shares), and VHDX scratch disks.
#
# Usage: conf/make-example.sh [BUILD_DIR [OUT_DIR]]
#   BUILD_DIR: where layerhost was built (default: build)
#   OUT_DIR:   where the example goes (default: conf/example, which
#              conf/layers.ini names)
# Needs: mkfs.ext4 (e2fsprogs), qemu-img (qemu-utils), and the built
# layerhost-vhd from BUILD_DIR.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
vhd=$build/host/layerhost-vhd
out=${2:-$here/example}

[ -x "$vhd" ] || { echo "make-example: $vhd not built (cmake --build $build)" >&2; exit 2; }
command -v mkfs.ext4 >/dev/null || { echo "make-example: mkfs.ext4 missing (apt-get install e2fsprogs)" >&2; exit 2; }
command -v qemu-img >/dev/null || { echo "make-example: qemu-img missing (apt-get install qemu-utils)" >&2; exit 2; }

rm -rf "$out"
# vm/: layers-vm.ini's state, journal and run folder.
mkdir -p "$out/layers" "$out/scratch" "$out/vm"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

# layer NAME: files written by the caller into $tree/NAME become
# layers/NAME/layer.vhd (8 MiB ext4 + footer) and layers/NAME/layer/.
layer() {
	name=$1
	dir=$out/layers/$name
	mkdir -p "$dir"
	truncate -s 8M "$dir/layer.vhd"
	mkfs.ext4 -q -F -E root_owner=0:0 -d "$tree/$name" "$dir/layer.vhd" >/dev/null
	"$vhd" footer "$dir/layer.vhd"
	cp -a "$tree/$name" "$dir/layer"
}

mkdir -p "$tree/base/etc" "$tree/runtime/etc" "$tree/runtime/usr/lib" "$tree/web/srv" \
	"$tree/worker/opt"
echo "example base layer" > "$tree/base/etc/os-release"
echo "base" > "$tree/base/etc/motd"
echo "runtime 1.0" > "$tree/runtime/usr/lib/runtime.txt"
echo "runtime 1.0" > "$tree/runtime/etc/motd" # shadows the base layer's
echo "<h1>hello from the web layer</h1>" > "$tree/web/srv/index.html"
echo "worker job" > "$tree/worker/opt/job.txt"
for name in base runtime web worker; do layer "$name"; done

for c in web worker; do
	mkdir -p "$out/scratch/$c"
	qemu-img create -q -f vhdx "$out/scratch/$c/sandbox.vhdx" 64M
done
echo "example layers in $out"
