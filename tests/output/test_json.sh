#!/bin/bash
# test_json.sh BUILD SOURCE - with --json every command that reports prints
# one JSON document on stdout and nothing else there (human text and log
# lines go to stderr): mount, status, plan, unmount, save, save --template,
# restore, clone, and the clone's own commands.
set -u
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/output/json_check.sh
source "$(dirname "$0")/json_check.sh"

cp "$src/conf/layers.ini" "$work/layers.ini"
"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
ini=$work/layers.ini

json "plan" "host requests" --config "$ini" --json plan
# --log-level info: the pipeline's fallback lines go to stderr, not into
# the document.
json "mount" "containers" --config "$ini" --json --log-level info mount
grep -q "pipeline: info:" "$work/err" || { failed=$((failed + 1)); echo "FAIL: no info line on stderr" >&2; }
json "status" "uvm backends containers" --config "$ini" --json status
json "unmount" "uvm backends containers unmounted" --config "$ini" --json unmount worker
python3 -c "import json,sys; sys.exit(json.load(open('$work/out'))['unmounted'] != ['worker'])" ||
	{ failed=$((failed + 1)); echo "FAIL: unmount's document does not name worker" >&2; }
json "save" "uvm state" --config "$ini" --json save
json "restore" "uvm backends containers" --config "$ini" --json restore
json "save --template" "uvm state template template_file" --config "$ini" --json save --template base
json "clone" "template uvm state document" --config "$ini" --json clone --template base \
	--id clone1 --scratch-dir "$work/clone1"
clone=(--config "$ini" --uvm-id clone1 --state "$work/clone1/layerhost.state")
json "mount on the clone" "containers" "${clone[@]}" --json mount worker
json "status of the clone" "uvm backends containers" "${clone[@]}" --json status
json "unmount --all on the clone" "unmounted" "${clone[@]}" --json unmount --all
json "unmount --all" "unmounted" --config "$ini" --json unmount --all

# Without --json the same commands print text, not JSON.
"$lh" --config "$ini" save >"$work/out" 2>&1
if grep -q '^saved UVM example-uvm to ' "$work/out"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "FAIL: save without --json:" >&2
	cat "$work/out" >&2
fi

# A failure: the error on stderr, stdout empty.
"$lh" --config "$ini" --json mount nosuch >"$work/out" 2>"$work/err"
if [ "$?" -eq 2 ] && grep -q "declares no \[container.nosuch\]" "$work/err" &&
	python3 -c "import json,sys; json.loads(open('$work/out').read() or 'null')"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "FAIL: a failed --json mount" >&2
fi
finish
