#!/bin/bash
# test_import_mount.sh BUILD_DIR SOURCE_DIR - as root: the imported layers
# loop-mounted (read-only, noload, the VHD footer cut off) and stacked in an
# overlay, as the guest stacks them: check_tree.py checks the merged tree
# against what the tar said (whiteouts hide the lower file and folder, the
# opaque folder shows only its own entries, owners, modes, xattrs, links,
# holes, contents). Then layerhost itself, in host mode ([uvm] os = none),
# mounts the imported image from a config, and the same check runs on its
# rootfs.
set -u
build=$1
src=$2
. "$src/tests/import/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: mounting needs root"; exit 77; }
command -v zstd >/dev/null || { echo "SKIP: the zstd program is missing (apt-get install zstd)"; exit 77; }
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || { echo "SKIP: no overlay filesystem in this kernel"; exit 77; }
[ -e /dev/loop-control ] || { echo "SKIP: no loop devices (/dev/loop-control)"; exit 77; }

$fixture full "$work/full" || exit 1
store=$work/store
run_import "$work/out.json" "$work/err" "$work/full:v1" --store "$store" --json --scratch ||
	{ cat "$work/err"; echo "import failed"; exit 1; }
mapfile -t folders < <(json_get "$work/out.json" '"\n".join(j["layers"])')

# ---- by hand: loop devices and an overlay ------------------------------------
lower=
for i in "${!folders[@]}"; do
	f=${folders[$i]}/layer.vhd
	mkdir -p "$work/l$i"
	dev=$(losetup -f --show -r --sizelimit $(($(stat -c %s "$f") - 512)) "$f") ||
		{ echo "SKIP: losetup failed"; exit 77; }
	at_exit "losetup -d $dev 2>/dev/null"
	check "layer $i mounts ro,noload" mount -t ext4 -o ro,noload "$dev" "$work/l$i"
	at_exit "umount '$work/l$i' 2>/dev/null"
	lower=$work/l$i${lower:+:$lower} # topmost first
done
mkdir -p "$work/merged"
check "overlay mounts" mount -t overlay overlay -o "lowerdir=$lower" "$work/merged"
at_exit "umount '$work/merged' 2>/dev/null"
check "merged tree as the tars say" python3 "$src/tests/import/check_tree.py" "$work/merged" \
	"$work/full/expect.json"
umount "$work/merged"

# ---- layerhost in host mode, from a config -----------------------------------
"$lh" import "$work/full:v1" --store "$store" --quiet >"$work/section.ini"
mkdir -p "$store/scratch/v1"
{
	printf '[host]\ndriver = null\nstate = %s\n' "$work/layerhost.state"
	printf '[uvm]\nid = host\nos = none\n'
	printf '[plugin.hostlayer]\nrun_root = %s\n' "$work/run"
	cat "$work/section.ini"
	printf 'mount_path = %s\n' "$work/rootfs"
} >"$work/host.ini"
check "host mode: mount" "$lh" --config "$work/host.ini" mount v1
at_exit "'$lh' --config '$work/host.ini' unmount --all >/dev/null 2>&1"
check "host mode: the rootfs as the tars say" python3 "$src/tests/import/check_tree.py" \
	"$work/rootfs" "$work/full/expect.json"
check "host mode: writes go to the scratch" sh -c "echo new > '$work/rootfs/etc/written' &&
	test -f '$store/scratch/v1/upper/etc/written'"
rm -f "$work/rootfs/etc/written"
check "host mode: unmount" "$lh" --config "$work/host.ini" unmount --all

finish
