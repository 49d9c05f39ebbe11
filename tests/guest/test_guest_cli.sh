#!/bin/bash
# test_guest_cli.sh BUILD_DIR SOURCE_DIR - the bundled example in a booted
# guest, through the command line, on one VM (TCG):
#   - vm start boots the guest (conf/layers-vm.ini, TCG); mount puts the
#     example's containers in it
#     (web: two layers on VPMem, one on SCSI, a scratch the guest formats)
#   - vm exec --container web: the web layer's file, the runtime layer's
#     motd shadowing the base's
#   - a layer the guest cannot mount (not ext4) fails the mount with the
#     guest's message and leaves nothing attached on either side
#   - a file written in a container survives its unmount and remount
#   - after unmount --all nothing of the containers is mounted in the guest
#   - a guest kernel that is missing, or a guest that panics while it
#     boots, fails vm start saying so, and leaves no VM
# After every step QEMU (asked by qmp_probe.py, an independent QMP client)
# and status --json agree, and the journal says every guest request was
# delivered.
set -u
# Absolute: the INI file's relative paths are taken from its own folder.
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
lh=$build/host/layerhost
probe=$src/tests/qemu/qmp_probe.py
guest=${LH_GUEST_DIR:-$build/guest}
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIPPED: qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
	exit 77
fi
if [ -f "$guest/unavailable" ]; then
	echo "SKIPPED: no guest kernel: $(cat "$guest/unavailable")"
	exit 77
fi
if [ ! -r "$guest/vmlinux" ] || [ ! -r "$guest/initramfs.cpio" ]; then
	echo "SKIPPED: no $guest/vmlinux or initramfs.cpio (guest/mkinitramfs.sh builds them)"
	exit 77
fi
work=$(mktemp -d)
ini=$work/layers.ini
cleanup() {
	"$lh" --config "$ini" vm stop --force >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

ok() { # ok ARGS...: layerhost succeeds; output in $work/out, $work/err
	if "$lh" --config "$ini" "$@" >"$work/out" 2>"$work/err"; then
		pass
	else
		fail "layerhost $*:"
		cat "$work/err" >&2
	fi
}

prints() { # prints WANTED ARGS...: layerhost succeeds and prints exactly WANTED
	local want=$1
	shift
	if "$lh" --config "$ini" "$@" >"$work/out" 2>"$work/err" &&
		[ "$(cat "$work/out")" = "$want" ]; then
		pass
	else
		fail "layerhost $*: printed '$(cat "$work/out")', want '$want':"
		cat "$work/err" >&2
	fi
}

# shellcheck source=../testkit/vm_agree.sh
. "$src/tests/testkit/vm_agree.sh"
agree() { # agree WHAT: status --json and vm status --json match QEMU
	vm_agree "$ini" "$work/example/vm/run/example-vm.control" "$1"
}

mounts() { # the guest's /proc/mounts
	"$lh" --config "$ini" vm exec -- cat /proc/mounts 2>"$work/err"
}

"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
# A layer that is not ext4, for a container the guest cannot mount.
mkdir -p "$work/example/layers/junk" "$work/example/scratch/bad"
head -c 4M /dev/urandom >"$work/example/layers/junk/layer.vhd"
"$build/host/layerhost-vhd" footer "$work/example/layers/junk/layer.vhd"
qemu-img create -q -f vhdx "$work/example/scratch/bad/sandbox.vhdx" 64M
# The example's real-VM configuration, with the guest this build made and
# TCG forced (a nested KVM may not boot a stock kernel).
sed -e 's/^; accel = tcg .*/accel = tcg/' -e "s|^; guest = .*|guest = $guest|" \
	"$src/conf/layers-vm.ini" >"$ini"
grep -qx "accel = tcg" "$ini" && grep -qx "guest = $guest" "$ini" ||
	{ echo "conf/layers-vm.ini no longer has the accel and guest lines this test sets"; exit 1; }
cat >>"$ini" <<'INI'

[container.bad]
layers = example/layers/base, example/layers/junk
scratch = example/scratch/bad
INI

# A guest that is not there, or that does not come up: vm start says why
# (the file and the key; the console's panic) and leaves no VM behind.
sed "s|^guest = .*|guest = $work/noguest|" "$ini" >"$work/noguest.ini"
"$lh" --config "$work/noguest.ini" vm start >"$work/out" 2>"$work/err"
code=$?
if [ $code -eq 2 ] && grep -q "$work/noguest/vmlinux: guest kernel (from \[uvm\] guest of .*noguest.ini): No such file or directory; build it with .guest/mkinitramfs.sh BUILD_DIR., or set \[uvm\] guest = none" "$work/err"; then
	pass
else
	fail "vm start without a guest kernel -> exit $code:"
	cat "$work/err" >&2
fi
sed 's|^os = linux|os = linux\nkernel_cmdline = console=ttyS0 quiet panic=-1 rdinit=/bin/false|' \
	"$ini" >"$work/panic.ini"
"$lh" --config "$work/panic.ini" vm start >"$work/out" 2>"$work/err"
code=$?
if [ $code -eq 1 ] && grep -q "the guest's kernel panicked while booting: Kernel panic - not syncing: Attempted to kill init" "$work/err"; then
	pass
else
	fail "vm start of a guest whose init fails -> exit $code:"
	cat "$work/err" >&2
fi
[ ! -e "$work/example/vm/run/example-vm.vm" ] && pass || fail "a failed vm start left a record"
pid=$(cat "$work/example/vm/run/example-vm.pid" 2>/dev/null)
[ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" &&
	fail "a failed vm start left QEMU $pid running" || pass

start=$(date +%s%N)
ok vm start
echo "vm start: $((($(date +%s%N) - start) / 1000000)) ms" >&2
ok vm status --json
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["running"] and s["guest"]["ping"]["generation"] == 0 and not s["problems"] else 1)
' "$work/out" && pass || { fail "vm status after vm start:"; cat "$work/out" >&2; }
agree "a fresh VM"

ok mount web worker
agree "web and worker mounted"
# web: base and runtime on VPMem, the web layer on SCSI.
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
web = [c for c in s["containers"] if c["id"] == "web"][0]
sys.exit(0 if [l["backend"] for l in web["layers"]] == ["vpmem", "vpmem", "scsi"] else 1)
' "$work/status.json" && pass || fail "web's layers are not vpmem, vpmem, scsi"
prints "<h1>hello from the web layer</h1>" vm exec --container web -- cat /srv/index.html
prints "runtime 1.0" vm exec --container web -- cat /etc/motd
prints "worker job" vm exec --container worker -- cat /opt/job.txt
mounts >"$work/mounts"
grep -q ' /run/layers/p0 ' "$work/mounts" && grep -q ' /run/mounts/m0 ' "$work/mounts" &&
	grep -q ' /run/gcs/c/web/rootfs overlay ' "$work/mounts" && pass ||
	{ fail "the guest's mounts lack web's:"; cat "$work/mounts" >&2; }
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
guest = [l.get("guest") for l in lines if "GuestRequest" in l["request"]]
sys.exit(0 if guest and all(g == "delivered" for g in guest) else 1)
' "$work/example/vm/layerhost.journal" && pass || fail "a guest request was not delivered"

# The guest cannot mount the junk layer: the mount fails with the guest's
# words; QEMU and the state hold what they held before.
"$lh" --config "$ini" mount bad >"$work/out" 2>"$work/err"
code=$?
if [ $code -eq 1 ] && grep -q "container bad: layer 2: scsi: UVM 'example-vm': Add VirtualMachine/Devices/Scsi/0/Attachments/.*: guest: mount /dev/sd.*no ext4 filesystem" "$work/err"; then
	pass
else
	fail "mount bad -> exit $code:"
	cat "$work/err" >&2
fi
agree "after the failed mount"
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if sorted(c["id"] for c in s["containers"]) == ["web", "worker"] else 1)
' "$work/status.json" && pass || fail "the failed mount left a container"
mounts | grep -q 'bad' && fail "the failed mount left something mounted in the guest" || pass

# A file written in web lands in its scratch and survives a remount.
ok vm exec --container web -- sh -c 'echo kept > /note.txt && sync'
ok unmount --all
agree "all unmounted"
mounts >"$work/mounts"
if grep -E ' /run/(gcs|mounts|layers)' "$work/mounts"; then
	fail "unmount --all left mounts in the guest (above)"
else
	pass
fi
ok mount web
agree "web mounted again"
prints "kept" vm exec --container web -- cat /note.txt
prints "runtime 1.0" vm exec --container web -- cat /etc/motd
ok unmount web
mounts | grep -E ' /run/(gcs|mounts|layers)' && fail "unmount web left mounts in the guest" || pass
ok vm stop
"$lh" --config "$ini" vm status >"$work/out" 2>&1 && fail "vm status finds the stopped VM" || pass

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
