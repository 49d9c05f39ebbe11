#!/bin/bash
# test_cli.sh BUILD_DIR SOURCE_DIR - layerhost's command line end to end on
# a copy of the bundled example: mount, status, plan, unmount in separate
# invocations, twice; exit codes; error messages; a balanced journal.
set -u
build=$1
src=$2
lh=$build/host/layerhost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name" >&2
	fi
}

expect_exit() { # expect_exit CODE PATTERN ARGS...: exit code and stderr pattern
	local want=$1 pattern=$2 got
	shift 2
	timeout 60 "$lh" "$@" >"$work/out" 2>"$work/err"
	got=$?
	if [ "$got" -eq "$want" ] && grep -q -- "$pattern" "$work/err"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: layerhost $* -> exit $got (want $want), stderr:" >&2
		cat "$work/err" >&2
	fi
}

cp "$src/conf/layers.ini" "$work/layers.ini"
"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
ini=$work/layers.ini
journal=$work/example/layerhost.journal

for round in 1 2; do
	check "mount round $round" "$lh" --config "$ini"
	check "status shows two containers" \
		sh -c "'$lh' --config '$ini' status --json | grep -c '\"kind\":' | grep -qx 2"
	check "the second layer went to vpmem and the third to scsi" \
		sh -c "'$lh' --config '$ini' status | grep -q 'layer 3 *scsi'"
	expect_exit 1 "already mounted" --config "$ini" mount web
	check "unmount round $round" "$lh" --config "$ini" unmount --all
	check "nothing mounted" sh -c "'$lh' --config '$ini' status | grep -q '^0 container'"
done

# Every Add in the journal has its Remove: the UVM is as it started.
check "journal balanced" python3 - "$journal" <<'PY'
import json, sys, collections
count = collections.Counter()
for line in open(sys.argv[1]):
    req = json.loads(line)["request"]
    if "ResourcePath" in req:
        key = req["ResourcePath"] + "#" + str((req.get("Settings") or {}).get("Name", ""))
        kind = req["RequestType"]
    else:
        g = req["GuestRequest"]
        key = g["ResourceType"] + ":" + g["Settings"]["ContainerRootPath"]
        kind = g["RequestType"]
    count[key] += {"Add": 1, "Remove": -1}.get(kind, 0)
bad = {k: v for k, v in count.items() if v}
if bad:
    print("unbalanced:", bad)
    sys.exit(1)
PY
check "journal sequence numbers are 1..N" python3 -c "
import json,sys
seqs=[json.loads(l)['seq'] for l in open('$journal')]
sys.exit(0 if seqs==list(range(1,len(seqs)+1)) else 1)"

# plan prints requests and changes nothing.
lines=$(wc -l <"$journal")
check "plan prints the requests" sh -c "'$lh' --config '$ini' plan web | grep -q CombinedLayers"
check "plan leaves the journal alone" test "$(wc -l <"$journal")" -eq "$lines"
check "plan leaves the state alone" sh -c "'$lh' --config '$ini' status | grep -q '^0 container'"

# Save, restore in a new process, and the journal still balances after
# the restored containers are unmounted.
check "mount for save" "$lh" --config "$ini" mount web worker
check "save" sh -c "'$lh' --config '$ini' save | grep -q 'saved UVM example-uvm'"
check "restore prints what the state holds" \
	sh -c "'$lh' --config '$ini' restore | grep -q '^2 container'"
check "unmount the restored containers" "$lh" --config "$ini" unmount --all

# A template: the UVM takes no more mounts; a clone of it does.
check "mount for the template" "$lh" --config "$ini" mount web
check "save as template" "$lh" --config "$ini" save --template base
expect_exit 1 "saved as template 'base'" --config "$ini" mount worker
check "clone the template" "$lh" --config "$ini" clone --template base --id clone1 \
	--scratch-dir "$work/clone1"
check "the clone's document lists the template" \
	grep -q '"TemplateSystemId":[[:space:]]*"example-uvm"' "$work/clone1/clone1.json"
check "the clone's writable scratch is a copy" \
	cmp -s "$work/example/scratch/web/sandbox.vhdx" \
	"$(find "$work/clone1" -name sandbox.vhdx | head -n 1)"
check "the clone takes mounts" "$lh" --config "$ini" --uvm-id clone1 \
	--state "$work/clone1/layerhost.state" mount worker
check "the clone holds both containers" sh -c "'$lh' --config '$ini' --uvm-id clone1 \
	--state '$work/clone1/layerhost.state' status | grep -q '^2 container'"
check "the clone unmounts" "$lh" --config "$ini" --uvm-id clone1 \
	--state "$work/clone1/layerhost.state" unmount --all
expect_exit 1 "not of UVM 'clone1'" --config "$ini" --uvm-id clone1 status

# WCOW: the same layers as folders shared over VSMB, scratch on SCSI.
cat >"$work/wcow.ini" <<INI
[host]
journal = wcow.journal
state = wcow.state
[uvm]
id = wcow-uvm
os = windows
no_direct_map = true
[container.app]
layers = example/layers/base, example/layers/runtime, example/layers/web
scratch = example/scratch/web
INI
check "wcow mount" sh -c "'$lh' --config '$work/wcow.ini' mount | grep -q 'layer 3 *vsmb *s3'"
check "wcow unmount in a new process" "$lh" --config "$work/wcow.ini" unmount app
check "wcow journal balanced" test "$(grep -c '"Add"' "$work/wcow.journal")" -eq \
	"$(grep -c '"Remove"' "$work/wcow.journal")"

# Host mode: real overlay mounts of the example's layer.vhd images.
if [ "$(id -u)" -eq 0 ]; then
	cat >"$work/host.ini" <<INI
[host]
journal = host.journal
state = host.state
[plugin.hostlayer]
run_root = $work/run
[container.web]
layers = example/layers/base, example/layers/runtime, example/layers/web
scratch = hostscratch
INI
	mkdir -p "$work/hostscratch"
	check "host mount" "$lh" --config "$work/host.ini" mount
	check "the top layer's file is in the rootfs" test -f "$work/run/web/rootfs/srv/index.html"
	check "the runtime layer shadows the base's motd" \
		grep -qx "runtime 1.0" "$work/run/web/rootfs/etc/motd"
	check "host unmount in a new process" "$lh" --config "$work/host.ini" unmount web
	check "nothing of ours is mounted" sh -c "! grep -q '$work' /proc/self/mountinfo"
else
	echo "SKIPPED: host-mode mounts need root (CAP_SYS_ADMIN)"
fi

# Usage and configuration errors: exit 2, a message naming the culprit.
expect_exit 2 "config FILE is required" status
expect_exit 2 "unknown command 'frobnicate'" --config "$ini" frobnicate
expect_exit 2 "unmount takes container names or --all" --config "$ini" unmount
expect_exit 2 "declares no \[container.nope\]" --config "$ini" mount nope
# vm exec: a command is needed, --container goes with it alone, and a
# driver without a guest has nothing to run it in.
expect_exit 2 "vm exec needs a command" --config "$ini" vm exec
expect_exit 2 "\-\-container goes with vm exec, not mount" --config "$ini" --container web mount
expect_exit 2 "\-\-container: '-x' is not a valid container id" --config "$ini" vm exec \
	--container=-x -- true
expect_exit 2 "driver 'journal' runs no guest to run commands in" --config "$ini" vm exec -- true
expect_exit 1 "container nope is not mounted in UVM example-uvm" --config "$ini" vm exec \
	--container nope -- true
printf '[host]\ndriver = journal\nbogus = 1\n' >"$work/bad.ini"
expect_exit 2 "bad.ini:3: \[host\] bogus: unknown key" --config "$work/bad.ini" status
printf '[uvm]\nos = linux\n[plugin.scsi]\ncontrollers = 9\n' >"$work/range.ini"
expect_exit 2 "range.ini:4: \[plugin.scsi\] controllers: 9 is out of range" \
	--config "$work/range.ini" status
printf '[uvm]\nos = linux\n[plugin.scsi]\nlunz = 9\n' >"$work/key.ini"
expect_exit 2 "key.ini:4: \[plugin.scsi\] lunz: unknown key" --config "$work/key.ini" status
printf '[uvm]\nos = linux\n[pipeline]\nlcow.layers = nosuch\n' >"$work/plugin.ini"
expect_exit 2 "plugin 'nosuch' not found" --config "$work/plugin.ini" status
# Files that must be regular: reading or filling a FIFO would wait for good.
mkfifo "$work/fifo.ini" "$work/fifo.journal" "$work/fifo.state"
expect_exit 2 "fifo.ini: the config file is not a regular file (a FIFO)" --config "$work/fifo.ini" status
printf '[host]\njournal = fifo.journal\njournal_fsync = never\n[uvm]\nos = linux\n' >"$work/fj.ini"
expect_exit 2 "fifo.journal: journal is not a regular file (a FIFO)" --config "$work/fj.ini" mount
printf '[host]\nstate = fifo.state\n[uvm]\nos = linux\n' >"$work/fs.ini"
expect_exit 1 "fifo.state: not a state file (not a regular file)" --config "$work/fs.ini" status
check "--help tells the commands" sh -c "'$lh' --help | grep -q 'clone --template NAME'"
check "--version" sh -c "'$lh' --version | grep -q 'layerhost'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
