#!/bin/bash
# test_crash.sh BUILD_DIR SOURCE_DIR [RUNS] - kill layerhost with SIGKILL at
# random points of mount, unmount and save, then check the state file still
# loads and is byte for byte the state before the command or the state the
# command leaves when it runs to the end: never torn, never lost.
set -u
build=$1
src=$2
runs=${3:-200}
lh=$build/host/layerhost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
as_before=0
as_after=0

cp "$src/conf/layers.ini" "$work/layers.ini"
"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
ini=$work/layers.ini
state=$work/example/layerhost.state
run() { "$lh" --config "$ini" "$@" >/dev/null 2>&1; }

# The command to interrupt next, valid in the current state.
next_op() {
	case $(( $1 % 5 )) in
	0) echo "mount web" ;;
	1) echo "mount worker" ;;
	2) echo "save" ;;
	3) echo "unmount web" ;;
	4) echo "unmount worker" ;;
	esac
}

snapshot() { if [ -f "$state" ]; then cp "$state" "$1"; else rm -f "$1"; fi; }
restore() { if [ -f "$1" ]; then cp "$1" "$state"; else rm -f "$state"; fi; }
same() { if [ -f "$1" ]; then cmp -s "$1" "$state"; else [ ! -f "$state" ]; fi; }

for i in $(seq 1 "$runs"); do
	op=$(next_op "$i")
	snapshot "$work/before"
	# The state the command leaves when nothing stops it.
	start=$(date +%s%N)
	# shellcheck disable=SC2086
	run $op
	took=$(( ($(date +%s%N) - start) / 1000 ))
	snapshot "$work/after"
	restore "$work/before"
	# Again, killed somewhere between its start and a little past its end.
	delay=$(( RANDOM % (took + took / 4 + 1) ))
	# shellcheck disable=SC2086
	"$lh" --config "$ini" $op >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%06d' "$delay")"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if ! run status; then
		echo "FAIL: run $i ($op, killed after ${delay}us): the state does not load" >&2
		"$lh" --config "$ini" status >&2
		failed=$((failed + 1))
		restore "$work/before"
	elif same "$work/before"; then
		passed=$((passed + 1))
		as_before=$((as_before + 1))
	elif same "$work/after"; then
		passed=$((passed + 1))
		as_after=$((as_after + 1))
	else
		echo "FAIL: run $i ($op, killed after ${delay}us): the state is neither before nor after" >&2
		failed=$((failed + 1))
		restore "$work/before"
	fi
done
leftovers=$(find "$work/example" -name 'layerhost.state.tmp.*' | wc -l)
echo "crash consistency: $runs kills of mount/unmount/save: $as_before left the state as" \
	"before, $as_after as after; $leftovers temp file(s) left by kills"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
