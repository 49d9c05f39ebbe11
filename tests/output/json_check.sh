# shellcheck shell=bash disable=SC2154 # build and work: the sourcing script's
# json_check.sh - sourced by the output tests: run layerhost, check that
# stdout holds exactly one JSON document with the given keys.
lh=$build/host/layerhost
passed=0
failed=0

# json NAME KEYS ARGS...: `layerhost ARGS` exits 0 and prints one JSON
# object on stdout holding every key of KEYS (space-separated; "" for any).
json() {
	local name=$1 keys=$2 rc
	shift 2
	"$lh" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" -eq 0 ] && python3 - "$work/out" $keys <<'PY'; then
import json, sys
text = open(sys.argv[1]).read()
try:
    doc = json.loads(text)  # one document: anything after it is an error
except ValueError as e:
    print("not one JSON document: %s\n%s" % (e, text[:2000]), file=sys.stderr)
    sys.exit(1)
missing = [k for k in sys.argv[2:] if not isinstance(doc, dict) or k not in doc]
if missing:
    print("missing keys %s in %s" % (missing, text[:2000]), file=sys.stderr)
    sys.exit(1)
PY
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name: layerhost $* (exit $rc); stderr:" >&2
		cat "$work/err" >&2
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
