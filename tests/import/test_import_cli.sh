#!/bin/bash
# test_import_cli.sh BUILD_DIR SOURCE_DIR - `layerhost import` end to end on
# real OCI layouts oci_fixture.py builds (three layers: gzip, zstd, plain;
# every entry kind): exit codes, the INI and JSON it prints, the store it
# fills, each image clean under e2fsck -fn and as the tar said under
# debugfs, a second import that converts nothing, the layouts containerd
# and skopeo make (nested index, Docker media types, tars without end
# blocks). Needs no root; test_import_mount.sh mounts what this checks.
set -u
build=$1
src=$2
. "$src/tests/import/lib.sh"

command -v zstd >/dev/null || { echo "SKIP: the zstd program is missing (apt-get install zstd)"; exit 77; }
command -v debugfs >/dev/null || { echo "SKIP: debugfs is missing (apt-get install e2fsprogs)"; exit 77; }

$fixture full "$work/full" || exit 1
store=$work/store

# ---- the full image --------------------------------------------------------
check "import exits 0" run_import "$work/out.json" "$work/err" "$work/full:v1" --store "$store" --json
cat "$work/err"
check "three layers" test "$(json_get "$work/out.json" 'len(j["layers"])')" = 3
check "all converted" test "$(json_get "$work/out.json" 'all(l["converted"] for l in j["layer_details"])')" = True
check "name from the tag" test "$(json_get "$work/out.json" 'j["name"]')" = v1
mapfile -t folders < <(json_get "$work/out.json" '"\n".join(j["layers"])')
l1=${folders[0]}/layer.vhd
l2=${folders[1]}/layer.vhd
l3=${folders[2]}/layer.vhd
check "folders are diffIDs, base first" test "$(basename "${folders[0]}")" = \
	"$(json_get "$work/out.json" 'j["layer_details"][0]["diff_id"][7:]')"
for l in "$l1" "$l2" "$l3"; do
	check "$l: a fixed VHD" sh -c "'$vhd' probe '$l' | grep -q vhd-fixed"
	check "$l: e2fsck -fn clean" fsck_clean "$l"
	check "$l: read-only feature" debugfs_has "$l" "stats" "read-only"
done
check "nothing but layer.vhd in a layer folder" test "$(ls -A "${folders[0]}")" = layer.vhd
check "no temp file left" test -z "$(find "$store" -name '.*tmp*')"

# layer 1: every entry kind, as debugfs reads it
check "setuid kept" debugfs_has "$l1" "stat /usr/bin/tool" "Mode:  04755"
check "setgid kept" debugfs_has "$l1" "stat /usr/bin/sgid" "Mode:  02755"
check "sticky kept" debugfs_has "$l1" "stat /tmp" "Mode:  01777"
check "hard link: two names" debugfs_has "$l1" "stat /usr/bin/tool-link" "Links: 2"
check "hard link to a symlink" debugfs_has "$l1" "stat /usr/bin/sh-link" "Type: symlink"
check "short symlink inline" debugfs_has "$l1" "stat /usr/bin/len59" "Fast link dest"
check "60-byte symlink in a block" debugfs_has "$l1" "stat /usr/bin/len60" "EXTENTS"
check "long symlink" debugfs_has "$l1" "stat /usr/bin/long" "Size: 207"
check "char device" debugfs_has "$l1" "stat /dev/null" "major/minor number: 01:03"
check "block device" debugfs_has "$l1" "stat /dev/sda1" "Type: block special"
check "device numbers beyond 8 bits" debugfs_has "$l1" "stat /dev/big" "major/minor number: 300:70000"
check "FIFO" debugfs_has "$l1" "stat /dev/fifo" "Type: FIFO"
check "uid and gid 2^32-1, 2^32-2" debugfs_has "$l1" "stat /var/owned-max" "User:    -1   Group:    -2"
check "uid above 16 bits" debugfs_has "$l1" "stat /var/owned-high" "User: 70000   Group: 70001"
check "user xattr" debugfs_has "$l1" "ea_get /var/xattrs user.comment" "hello"
check "trusted xattr" debugfs_has "$l1" "ea_get /var/xattrs trusted.note" "trusted value"
check "security.capability" debugfs_has "$l1" "ea_list /usr/bin/ping" "security.capability (20)"
check "255-byte name" debugfs_has "$l1" "ls /var" "$(printf 'n%.0s' $(seq 255))"
check "sparse: 16 MiB in 4 blocks" debugfs_has "$l1" "stat /var/sparse" "Size: 16777216"
check "sparse: holes kept" debugfs_has "$l1" "stat /var/sparse" "Blockcount: 32"
check "later duplicate wins" sh -c "debugfs -R 'cat /etc/dup' '$l1' 2>/dev/null | grep -qx 'second, the one that stays'"
check "own-layer whiteout ignored" debugfs_has "$l1" "stat /etc/keep" "Type: regular"
check "own-layer earlier whiteout ignored" debugfs_has "$l1" "stat /etc/early" "Type: regular"
check "no whiteout named in layer 1" sh -c "! debugfs -R 'ls /etc' '$l1' 2>/dev/null | grep -q wh"
check "folder after its file" debugfs_has "$l1" "stat /late" "Mode:  0700"
check "implicit parents" debugfs_has "$l1" "stat /implicit/a/b" "Type: directory"
check "nanoseconds" debugfs_has "$l1" "stat /var/nanos" "mtime: 0x6553f100:1d6f3454"
# layer 2: whiteouts and an opaque folder
check "whiteout: char 0:0" debugfs_has "$l2" "stat /etc/remove-me" "major/minor number: 00:00"
check "whiteout: mode 0000" debugfs_has "$l2" "stat /etc/remove-me" "Mode:  0000"
check "folder whiteout" debugfs_has "$l2" "stat /opt/gone" "Type: character special"
check "opaque folder" debugfs_has "$l2" "ea_get /data trusted.overlay.opaque" '"y"'
check "the opaque marker is not a file" sh -c "! debugfs -R 'ls /data' '$l2' 2>/dev/null | grep -q wh"
# layer 3: whited out and made again in one layer
check "whited-out folder made again is opaque" debugfs_has "$l3" "ea_get /opt/again trusted.overlay.opaque" '"y"'

# ---- a second import converts nothing ---------------------------------------
stamp=$(stat -c %i:%Y "$l1")
check "re-import exits 0" run_import "$work/out2.ini" "$work/err2" "$work/full:v1" --store "$store"
check "re-import: every layer in the store already" test "$(grep -c 'in the store already' "$work/err2")" = 3
check "re-import: layer untouched" test "$(stat -c %i:%Y "$l1")" = "$stamp"
check "INI: the section" grep -qx '\[container.v1\]' "$work/out2.ini"
check "INI: base first" grep -q "^layers = ${folders[0]},\$" "$work/out2.ini"
check "INI: then the others" grep -q "^    ${folders[2]}\$" "$work/out2.ini"
check "INI: scratch" grep -q "^scratch = $store/scratch/v1\$" "$work/out2.ini"
check "--quiet: nothing on stderr" sh -c "'$lh' import '$work/full:v1' --store '$store' --quiet 2>&1 >/dev/null | wc -c | grep -qx 0"
check "--name" sh -c "'$lh' import '$work/full' --store '$store' --name web --quiet | grep -qx '\[container.web\]'"

if command -v qemu-img >/dev/null; then
	check "--scratch" run_import "$work/out3.ini" "$work/err3" "$work/full:v1" --store "$store" --scratch --quiet
	check "--scratch: a VHDX" sh -c "qemu-img info '$store/scratch/v1/sandbox.vhdx' | grep -q 'file format: vhdx'"
	check "--scratch: probed as VHDX" sh -c "'$vhd' probe '$store/scratch/v1/sandbox.vhdx' | grep -q vhdx"
	# an LCOW UVM (journal driver) mounts the imported image: VPMem, then SCSI
	{
		printf '[host]\njournal = %s\nstate = %s\n' "$work/lcow.journal" "$work/lcow.state"
		printf '[uvm]\nid = u\nos = linux\n[plugin.vpmem]\nmax_devices = 2\n'
		cat "$work/out3.ini"
	} >"$work/lcow.ini"
	check "LCOW: mount" sh -c "'$lh' --config '$work/lcow.ini' mount v1 >'$work/lcow.out'"
	check "LCOW: two layers on VPMem" test "$(grep -c '"ResourcePath":"VirtualMachine/Devices/VirtualPMem/Devices/' "$work/lcow.journal")" -ge 2
	check "LCOW: the third on SCSI" grep -q "${folders[2]}/layer.vhd" "$work/lcow.journal"
	check "LCOW: unmount" "$lh" --config "$work/lcow.ini" unmount --all
else
	echo "note: qemu-img missing, --scratch not tested"
fi

# ---- what containerd's and skopeo's layouts hold ----------------------------
okstore=$work/okstore
for case in nested_index:multi docker:saved no_end_marker:v1 no_padding:v1; do
	name=${case%%:*}
	$fixture ok "$name" "$work/ok-$name" || exit 1
	check "$name: imports" run_import "$work/ok.json" "$work/ok.err" "$work/ok-$name:${case#*:}" --store "$okstore" --json
	for f in $(json_get "$work/ok.json" '" ".join(j["layers"])'); do
		check "$name: $f clean" fsck_clean "$f/layer.vhd"
	done
	case $name in
	nested_index)
		check "nested index: the amd64 image" test "$(json_get "$work/ok.json" 'len(j["layers"])')" = 2 ;;
	no_end_marker | no_padding)
		check "$name: warned" grep -q "without end-of-archive blocks; accepted" "$work/ok.err"
		last=$(json_get "$work/ok.json" 'j["layers"][-1]')
		check "$name: the last entry is there" debugfs_has "$last/layer.vhd" "cat /etc/last" "last entry" ;;
	esac
done

# ---- usage -------------------------------------------------------------------
"$lh" import "$work/full:v1" >/dev/null 2>"$work/err"
check "no --store: exit 2" test $? -eq 2
check "no --store: says so" grep -q -- "--store DIR is required" "$work/err"
"$lh" import --store "$store" >/dev/null 2>"$work/err"
check "no image: exit 2" test $? -eq 2
"$lh" import "$work/full" --store "$store" --name -bad >/dev/null 2>"$work/err"
check "bad --name: exit 2" test $? -eq 2
check "import --help" sh -c "'$lh' import --help | grep -q 'OCI_LAYOUT\[:REF\]'"
check "layerhost --help names import" sh -c "'$lh' --help | grep -q 'layerhost import'"

finish
