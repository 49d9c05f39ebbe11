#!/bin/bash
# test_refusals.sh BUILD_DIR SOURCE_DIR - issue 18's bad input, each case
# reproduced end to end: what layerhost must refuse (naming the culprit and
# changing nothing), and what it must get right (a clone's own disks). Each
# check names its case number.
set -u
build=$1
src=$2
lh=$build/host/layerhost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

check() { # check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@" >/dev/null; then ok; else bad "$name"; fi
}

expect_exit() { # expect_exit CODE PATTERN ARGS...: exit code and stderr pattern
	local want=$1 pattern=$2 got
	shift 2
	"$lh" "$@" >"$work/out" 2>"$work/err"
	got=$?
	if [ "$got" -eq "$want" ] && LC_ALL=C grep -a -q -- "$pattern" "$work/err"; then
		ok
	else
		bad "layerhost $* -> exit $got (want $want, /$pattern/), stderr:"
		cat "$work/err" >&2
	fi
}

"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
layers=$work/example/layers
lcow() { # lcow NAME: an LCOW config in $work/NAME.ini with its own state
	cat >"$work/$1.ini" <<INI
[host]
journal = $1.journal
state = $1/layerhost.state
[uvm]
id = $1-uvm
os = linux
[plugin.vpmem]
multi_mapping = false
[container.web]
layers = example/layers/base, example/layers/runtime, example/layers/web
scratch = example/scratch/web
[container.worker]
layers = example/layers/base, example/layers/runtime, example/layers/worker
scratch = example/scratch/worker
INI
	mkdir -p "$work/$1"
}
json_ok() { python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])] if sys.argv[2]=="lines" else json.load(open(sys.argv[1]))' "$@"; }

# 1. A clone into the template UVM's own state folder must not write over
# the template UVM's state.
lcow c1
ini=$work/c1.ini
check "1: mount" "$lh" --config "$ini" mount web
check "1: save as template" "$lh" --config "$ini" save --template base
cp "$work/c1/layerhost.state" "$work/c1.before"
expect_exit 1 "layerhost.state exists: a clone writes only files it creates" \
	--config "$ini" clone --template base --id c2 --scratch-dir "$work/c1"
check "1: the template UVM's state is untouched" cmp -s "$work/c1.before" "$work/c1/layerhost.state"
check "1: status is still of the template UVM" sh -c "'$lh' --config '$ini' status | grep -q 'c1-uvm'"
check "1: the failed clone left no document" test ! -e "$work/c1/c2.json"

# 2. A clone's containers use the clone's copies of the scratch disks, in
# its records and after an unmount and a new mount.
check "2: clone" "$lh" --config "$ini" clone --template base --id cl --scratch-dir "$work/cl"
clone=(--config "$ini" --uvm-id cl --state "$work/cl/layerhost.state")
"$lh" "${clone[@]}" status --json >"$work/cl.status"
check "2: status of the clone lists the clone's scratch" python3 - "$work/cl.status" "$work/cl" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
paths = [c["scratch"]["host_path"] for c in st["containers"]]
sys.exit(0 if paths and all(p.startswith(sys.argv[2] + "/") for p in paths) else 1)
PY
check "2: the clone unmounts" "$lh" "${clone[@]}" unmount --all
check "2: the clone mounts web again" "$lh" "${clone[@]}" mount web
tail -n 1 "$work/c1.journal" >/dev/null
check "2: the journal's last SCSI attach for the clone is its copy" python3 - \
	"$work/c1.journal" "$work/cl" "$work/example/scratch/web/sandbox.vhdx" <<'PY'
import json, sys
paths = []
for line in open(sys.argv[1]):
    rec = json.loads(line)
    req = rec["request"]
    if rec["uvm"] == "cl" and req.get("RequestType") == "Add" and "Scsi" in req.get("ResourcePath", ""):
        paths.append(req["Settings"]["Path"])
ok = paths and paths[-1].startswith(sys.argv[2] + "/") and sys.argv[3] not in paths
sys.exit(0 if ok else 1)
PY
check "2: status after the new mount lists the clone's scratch" sh -c \
	"'$lh' ${clone[*]} status --json | grep '\"host_path\"' | grep sandbox.vhdx | grep -vq '$work/example'"

# 25. Saving template base again is refused without --force.
cp "$work/c1/templates/base.state" "$work/base.before"
expect_exit 1 "template 'base' exists" --config "$ini" save --template base
check "25: template base is untouched" cmp -s "$work/base.before" "$work/c1/templates/base.state"
check "25: --force replaces it" "$lh" --config "$ini" save --template base --force
expect_exit 2 "--force goes with save --template" --config "$ini" save --force

# Also: an unknown template is named, with those that exist.
expect_exit 1 "no template 'nosuch'.*templates saved in .*: base" --config "$ini" clone \
	--template nosuch --id c3 --scratch-dir "$work/c3"
check "an unknown template leaves no lock behind" test ! -e "$work/c1/templates/nosuch.state.lock"

# 23. mount c1 c3 c4 with c3 mounted changes nothing.
lcow m
ini=$work/m.ini
cat >>"$ini" <<INI
[container.third]
layers = example/layers/base
scratch = example/scratch/worker
INI
check "23: mount worker" "$lh" --config "$ini" mount worker
expect_exit 1 "container worker is already mounted" --config "$ini" mount web worker third
check "23: web was not mounted" sh -c "'$lh' --config '$ini' status | grep -q '^1 container'"
expect_exit 2 "container web is named twice" --config "$ini" mount web web
check "23: still one container" sh -c "'$lh' --config '$ini' status | grep -q '^1 container'"
check "23: unmount" "$lh" --config "$ini" unmount --all

# 20. The same layer twice is refused, naming it.
lcow dup
cat >>"$work/dup.ini" <<INI
[container.twice]
layers = example/layers/base, example/layers/runtime, example/layers/base/.
scratch = example/scratch/web
INI
expect_exit 1 "container twice: layer 3 (.*layers/base/.) is layer 1 again" \
	--config "$work/dup.ini" mount twice
expect_exit 1 "is layer 1 again" --config "$work/dup.ini" plan twice

# 6. WCOW: / and /etc are not layers to share with the guest.
cat >"$work/wcow.ini" <<INI
[host]
journal = wcow.journal
state = wcow.state
[uvm]
id = wcow-uvm
os = windows
[container.root]
layers = /, /etc
scratch = example/scratch/web
[container.etc]
layers = example/layers/base, /etc
scratch = example/scratch/web
INI
expect_exit 1 "container root: layer 1: / is a system folder of the host" \
	--config "$work/wcow.ini" mount root
expect_exit 1 "container etc: layer 2: /etc is a system folder" --config "$work/wcow.ini" plan etc
check "6: no share was requested" test ! -s "$work/wcow.journal"

# 19. A path that is not UTF-8 is refused where it is written, so the
# journal, plan and --json stay JSON.
odd_layer=$(printf '%s/lay\xff' "$work")
cp -r "$layers/base" "$odd_layer"
printf '[uvm]\nos = linux\n[container.x]\nlayers = %s\nscratch = %s\n' "$odd_layer" \
	"$work/example/scratch/web" >"$work/utf.ini"
expect_exit 2 "utf.ini:4: .*not valid UTF-8" --config "$work/utf.ini" plan x
check "19: plan printed JSON or nothing" sh -c "[ ! -s '$work/out' ] || python3 -c \"import json,sys; json.load(open(sys.argv[1]))\" '$work/out'"
mkdir -p "$work/odd"
lcow u
ln -s "$(printf '%s/odd/\xfe.vhdx' "$work")" "$work/odd/sandbox.vhdx"
cp "$work/example/scratch/worker/sandbox.vhdx" "$(printf '%s/odd/\xfe.vhdx' "$work")"
cat >>"$work/u.ini" <<INI
[container.odd]
layers = example/layers/base
scratch = odd
INI
expect_exit 1 "leads to a path that is not valid UTF-8" --config "$work/u.ini" --json mount odd
check "19: --json output is JSON" json_ok "$work/out" whole
check "19: the journal is JSON lines" sh -c "[ ! -e '$work/u.journal' ] || python3 -c \"import json,sys; [json.loads(l) for l in open(sys.argv[1])]\" '$work/u.journal'"

bad_dir=$(printf '%s/clone\xff' "$work")
expect_exit 2 "^layerhost: --scratch-dir: the path is not valid UTF-8" --config "$work/u.ini" \
	clone --template t --id c9 --scratch-dir "$bad_dir"
check "19: no clone folder was made" test ! -e "$bad_dir"
expect_exit 2 "^layerhost: --uvm-id: .* is not a valid id" --config "$work/u.ini" \
	--uvm-id "$(printf 'u\xff')" status

# 24. A state file that is a symlink is refused, and stays a symlink.
lcow sl
mv "$work/sl" "$work/sl-real"
mkdir -p "$work/sl"
"$lh" --config "$work/sl.ini" --state "$work/sl-real/real.state" save >/dev/null
ln -s "$work/sl-real/real.state" "$work/sl/layerhost.state"
expect_exit 1 "the state file is a symlink" --config "$work/sl.ini" mount web
check "24: the state path is still a symlink" test -L "$work/sl/layerhost.state"

# 22. Host mode has no VM to save as a template.
cat >"$work/host.ini" <<INI
[host]
journal = host.journal
state = host.state
[plugin.hostlayer]
run_root = $work/run
INI
expect_exit 2 "cannot be saved as a template" --config "$work/host.ini" save --template t
check "22: no template was written" test ! -e "$work/templates/t.state"

# Also: option errors say "layerhost:", not the program's path.
expect_exit 2 "^layerhost: unknown option '--bogus'" --config "$ini" --bogus status
expect_exit 2 "^layerhost: option '--state' needs an argument" --config "$ini" status --state
check "--help says where relative command-line paths are taken from" \
	sh -c "'$lh' --help | grep -q 'taken from the current folder'"
check "--help tells --force" sh -c "'$lh' --help | grep -q -- '--force'"

# Also: a UTF-8 byte order mark before the first section.
printf '\xef\xbb\xbf[host]\njournal = bom.journal\nstate = bom.state\n' >"$work/bom.ini"
check "a byte order mark is accepted" "$lh" --config "$work/bom.ini" status

# Also: a host-mode scratch on a read-only filesystem is named as such.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$work/ro" && mount -t tmpfs -o ro tmpfs "$work/ro" 2>/dev/null; then
	cat >>"$work/host.ini" <<INI
[container.web]
layers = example/layers/base
scratch = ro
INI
	expect_exit 1 "scratch folder .*/ro is on a read-only filesystem" --config "$work/host.ini" mount web
	umount "$work/ro"
else
	echo "SKIPPED: a read-only filesystem needs root (mount -t tmpfs -o ro)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
