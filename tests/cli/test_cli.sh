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
	"$lh" "$@" >"$work/out" 2>"$work/err"
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

# Usage and configuration errors: exit 2, a message naming the culprit.
expect_exit 2 "config FILE is required" status
expect_exit 2 "unknown command 'frobnicate'" --config "$ini" frobnicate
expect_exit 2 "unmount takes container names or --all" --config "$ini" unmount
expect_exit 2 "declares no \[container.nope\]" --config "$ini" mount nope
printf '[host]\ndriver = journal\nbogus = 1\n' >"$work/bad.ini"
expect_exit 2 "bad.ini:3: \[host\] bogus: unknown key" --config "$work/bad.ini" status
printf '[uvm]\nos = linux\n[plugin.scsi]\ncontrollers = 9\n' >"$work/range.ini"
expect_exit 2 "range.ini:4: \[plugin.scsi\] controllers: 9 is out of range" \
	--config "$work/range.ini" status
printf '[uvm]\nos = linux\n[plugin.scsi]\nlunz = 9\n' >"$work/key.ini"
expect_exit 2 "key.ini:4: \[plugin.scsi\] lunz: unknown key" --config "$work/key.ini" status
printf '[uvm]\nos = linux\n[pipeline]\nlcow.layers = nosuch\n' >"$work/plugin.ini"
expect_exit 2 "plugin 'nosuch' not found" --config "$work/plugin.ini" status
check "--help tells the commands" sh -c "'$lh' --help | grep -q 'clone --template NAME'"
check "--version" sh -c "'$lh' --version | grep -q 'layerhost'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
