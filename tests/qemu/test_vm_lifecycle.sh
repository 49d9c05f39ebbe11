#!/bin/bash
# test_vm_lifecycle.sh BUILD_DIR SOURCE_DIR - the state stays true across a
# QEMU VM's life, checked from outside after every step: status --json is
# held against QEMU itself by an independent QMP client (qmp_probe.py).
#   1. what lived in a stopped VM is gone with it: vm stop refuses over
#      mounted containers, --force drops them; a new VM starts empty;
#      WCOW's kept shares come back in a new VM
#   2. a VM whose record was removed is still found: commands fail naming
#      it instead of reporting removals done, vm start refuses a second
#      QEMU, vm stop ends it and its virtiofsd
#   3. QEMU killed part way through a mount: the command ends promptly, the
#      rollback completes, the state holds nothing
#   4. vm stop leaves no sockets; a dead virtiofsd is reported by status
#      and vm status
set -u
build=$1
src=$2
lh=$build/host/layerhost
probe=$src/tests/qemu/qmp_probe.py
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /usr/lib/qemu/virtiofsd ]; then
	echo "SKIPPED: qemu-system-x86_64 or /usr/lib/qemu/virtiofsd missing" \
		"(apt-get install qemu-system-x86)"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIPPED: virtiofsd needs root"
	exit 77
fi
work=$(mktemp -d)
cleanup() {
	for c in "$work"/*.ini; do "$lh" --config "$c" vm stop --force >/dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

run() { # run CONFIG ARGS...: layerhost, output in $work/out and $work/err
	local config=$1
	shift
	"$lh" --config "$config" "$@" >"$work/out" 2>"$work/err"
}

expect() { # expect CODE PATTERN CONFIG ARGS...: exit code and stderr pattern
	local want=$1 pattern=$2 got
	shift 2
	run "$@"
	got=$?
	if [ "$got" -eq "$want" ] && grep -q -- "$pattern" "$work/err"; then
		pass
	else
		fail "layerhost $* -> exit $got (want $want, stderr matching '$pattern'):"
		cat "$work/err" "$work/out" >&2
	fi
}

ok() { # ok CONFIG ARGS...: the command succeeds
	if run "$@"; then pass; else fail "layerhost $*:"; cat "$work/err" >&2; fi
}

# shellcheck source=../testkit/vm_agree.sh
. "$src/tests/testkit/vm_agree.sh"
agree() { # agree CONFIG WHAT: status --json and vm status --json match QEMU
	vm_agree "$1" "$work/run/$(sed -n 's/^id = //p' "$1").control" "$2"
}

alive() { # alive PID: a running process (a zombie init has not reaped is gone)
	[ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" | grep -q '^[ZX]'
}

held() { # held CONFIG: containers and attachments the state lists
	"$lh" --config "$1" status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(len(s["containers"]), sum(len(b["attachments"]) for b in s["backends"]))'
}

"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null ||
	{ echo "make-example failed"; exit 1; }
# Ten more scratch disks for the kill loop's containers.
for i in $(seq 0 9); do
	mkdir -p "$work/example/scratch/k$i"
	qemu-img create -q -f vhdx "$work/example/scratch/k$i/sandbox.vhdx" 64M
done

cat >"$work/lcow.ini" <<INI
[host]
driver = qemu
run_dir = run
journal = lcow.journal
state = lcow.state
journal_fsync = never
[uvm]
id = life
os = linux
; devices without a guest: a paused VM, native PCIe hotplug
guest = none
memory = 256M
[pipeline]
lcow.layers = vpmem, scsi
lcow.scratch = scsi
[plugin.vpmem]
max_devices = 2
multi_mapping = false
[container.web]
layers = example/layers/base, example/layers/runtime, example/layers/web
scratch = example/scratch/web
[container.worker]
layers = example/layers/base, example/layers/runtime, example/layers/worker
scratch = example/scratch/worker
INI
for i in $(seq 0 9); do
	printf '[container.k%d]\nlayers = example/layers/base, example/layers/web\nscratch = example/scratch/k%d\n' \
		"$i" "$i" >>"$work/lcow.ini"
done
cat >"$work/wcow.ini" <<INI
[host]
driver = qemu
run_dir = run
journal = wcow.journal
state = wcow.state
journal_fsync = never
[uvm]
id = wlife
os = windows
memory = 256M
[container.c1]
layers = example/layers/base/layer, example/layers/runtime/layer
scratch = example/scratch/web
INI
lcow=$work/lcow.ini
wcow=$work/wcow.ini

# ---- 1. what lived in a VM goes with it ------------------------------------
ok "$lcow" vm start
agree "$lcow" "a fresh VM"
ok "$lcow" mount web
agree "$lcow" "web mounted"
expect 1 "holds 1 mounted container(s) (web)" "$lcow" vm stop
agree "$lcow" "a refused vm stop changes nothing"
expect 0 "are dropped from the state" "$lcow" vm stop --force
[ "$(held "$lcow")" = "0 0" ] && pass || fail "vm stop --force left $(held "$lcow") in the state"
ok "$lcow" vm start
ok "$lcow" mount worker
agree "$lcow" "worker mounted in the second VM"
grep -q '"p0"' "$work/status.json" && pass || fail "the second VM's first layer is not on p0"

# A VM that dies: the next command finds the state empty, like the VM.
dead=$(cat "$work/run/life.pid")
kill -9 "$dead"
while alive "$dead"; do sleep 0.01; done
[ "$(held "$lcow")" = "0 0" ] && pass || fail "a dead VM's attachments are still listed"
ok "$lcow" vm stop
ok "$lcow" vm start

# ---- 2. a VM whose record was removed ---------------------------------------
ok "$lcow" mount web
qemu_pid=$(cat "$work/run/life.pid")
rm "$work/run/life.vm"
expect 1 "record .* is missing" "$lcow" unmount web
[ "$(held "$lcow" | cut -d' ' -f1)" = 1 ] && pass ||
	fail "a failed unmount over an unrecorded VM dropped the container"
expect 1 "already running (pid $qemu_pid, by its pidfile" "$lcow" vm start
alive "$qemu_pid" && pass || fail "vm start harmed the running QEMU"
expect 0 "found by its pidfile" "$lcow" vm stop --force
sleep 0.2
alive "$qemu_pid" && fail "vm stop left QEMU $qemu_pid running" || pass
[ "$(held "$lcow")" = "0 0" ] && pass || fail "the stopped VM's containers are still listed"

# ---- 3. QEMU killed part way through a mount --------------------------------
runs=${LH_KILL_RUNS:-12}
for r in $(seq 1 "$runs"); do
	ok "$lcow" vm start
	pid=$(cat "$work/run/life.pid")
	delay=$(awk -v r="$r" -v n="$runs" 'BEGIN { printf "%.3f", 0.02 + 0.3 * r / n }')
	start=$(date +%s%N)
	"$lh" --config "$lcow" mount k0 k1 k2 k3 k4 k5 k6 k7 k8 k9 \
		>"$work/out" 2>"$work/err" &
	mounter=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$mounter"
	code=$?
	while alive "$pid"; do sleep 0.01; done
	took=$((($(date +%s%N) - start) / 1000000))
	if grep -q "rollback incomplete" "$work/err"; then
		fail "run $r (kill after ${delay}s): rollback incomplete:"
		cat "$work/err" >&2
	elif [ "$took" -gt 8000 ]; then
		fail "run $r: the mount took ${took} ms after QEMU died"
	elif [ "$(held "$lcow")" != "0 0" ]; then
		# Mounted or not, what the dead VM held is not held.
		fail "run $r (kill after ${delay}s, exit $code): the state holds $(held "$lcow")"
		"$lh" --config "$lcow" status >&2
	else
		pass
	fi
	ok "$lcow" vm stop --force
done

# ---- 4. sockets, and a dead virtiofsd ---------------------------------------
ok "$wcow" vm start
ok "$wcow" mount c1
agree "$wcow" "c1's shares"
ls "$work/run"/wlife-fs-*.sock >/dev/null 2>&1 && pass || fail "no share sockets while mounted"
daemon=$(python3 -c '
import json, sys
shares = json.load(open(sys.argv[1]))["driver"]["shares"]
print(min(s["pid"] for s in shares.values()))' "$work/run/wlife.vm")
kill -9 "$daemon"
sleep 0.3
ok "$wcow" vm status
grep -q "problem: share .*virtiofsd (pid $daemon) is gone" "$work/out" && pass ||
	{ fail "vm status does not report the dead virtiofsd"; cat "$work/out" >&2; }
ok "$wcow" status
grep -q "problem: share" "$work/out" && pass || fail "status does not report the dead virtiofsd"
ok "$wcow" unmount --all
# WCOW keeps its direct-mapped shares after unmount; a new VM has none of
# them, and the next mount plugs them again.
ok "$wcow" vm stop
ls "$work/run"/wlife-fs-*.sock >/dev/null 2>&1 && fail "vm stop left share sockets" || pass
pgrep -f "socket-path=$work/run/wlife-fs-" >/dev/null && fail "vm stop left a virtiofsd" || pass
ok "$wcow" vm start
agree "$wcow" "a new VM, nothing kept from the old one"
ok "$wcow" mount c1
agree "$wcow" "c1 mounted in the new VM"
ok "$wcow" unmount --all
ok "$wcow" vm stop

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
