# lib.sh - what the import shell tests share (sourced, not run).
# Needs: build, src set by the caller; sets lh, fixture, work (removed at exit).
lh=$build/host/layerhost
vhd=$build/host/layerhost-vhd
fixture="python3 $src/tests/import/oci_fixture.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/lh-import-test.XXXXXX")
passed=0
failed=0
cleanups=
trap 'eval "$cleanups"; rm -rf "$work"' EXIT

at_exit() { cleanups="$1; $cleanups"; }

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

check() { # check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@"; then pass; else fail "$name"; fi
}

# run_import OUT ERR ARGS...: layerhost import ARGS, stdout and stderr to files
run_import() {
	local out=$1 err=$2
	shift 2
	"$lh" import "$@" >"$out" 2>"$err"
}

# fsck_clean IMAGE: e2fsck -fn finds nothing at all
fsck_clean() {
	e2fsck -fn "$1" >"$work/fsck.out" 2>&1 && return 0
	echo "e2fsck -fn $1:" >&2
	cat "$work/fsck.out" >&2
	return 1
}

# debugfs_has IMAGE REQUEST PATTERN: debugfs's answer to REQUEST matches PATTERN
debugfs_has() {
	debugfs -R "$2" "$1" 2>/dev/null | grep -q -- "$3" && return 0
	echo "debugfs -R '$2' $1 lacks '$3':" >&2
	debugfs -R "$2" "$1" 2>&1 | head -20 >&2
	return 1
}

# json_get FILE PYTHON-EXPR: evaluate EXPR with j the parsed JSON file
json_get() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}
