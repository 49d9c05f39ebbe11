#!/bin/bash
# test_faults.sh BUILD_DIR SOURCE_DIR - make each write of a command fail in
# turn, as SQLite's fault-injecting VFS does: every write and flush that
# mount, unmount, save, save --template and clone make (journal lines, the
# state, the template, the clone's copies, state and document, folders),
# with ENOSPC and with EIO. After each, the state must load, be the state
# before the command or the one it leaves when nothing fails, and nothing
# may exist that it does not account for: no journal resource, mount or
# loop device it does not record, no temp file, no half a template or
# clone (tests/stress/invariant.py). Host mode needs root; without it only
# the LCOW half runs, and says so.
set -u
build=$1
src=$2
lh=$build/host/layerhost
shim=$build/tests/stress/lh_faultinject.so
check_py=$(cd "$(dirname "$0")" && pwd)/invariant.py
work=$(mktemp -d)
passed=0
failed=0
start=$(date +%s)

# shellcheck source=../testkit/mounts.sh
. "$(dirname "$0")/../testkit/mounts.sh"
force_clean() { unmount_under "$work"; }
cleanup() { force_clean; rm -rf "$work"; }
trap '[ "$BASHPID" = "$$" ] && cleanup' EXIT
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

[ -f "$shim" ] || { echo "no $shim (build the lh_faultinject target)"; exit 1; }
"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
cp "$src/conf/layers.ini" "$work/lcow.ini"
mkdir -p "$work/hs/web" "$work/hs/worker"
cat >"$work/host.ini" <<INI
[host]
journal = host.journal
state = host.state
[plugin.hostlayer]
run_root = $work/run
[container.web]
layers = example/layers/base, example/layers/runtime, example/layers/web
scratch = hs/web
[container.worker]
layers = example/layers/base, example/layers/runtime, example/layers/worker
scratch = hs/worker
INI

# The program under a fault: the shim first (an ASan runtime may come
# after it), the fault at call $1 (a number, or CALL:TEXT for the first
# CALL on a path holding TEXT) with errno $2.
faulted() {
	local at=$1 code=$2 match=
	shift 2
	case $at in *:*) match=$at at=0 ;; esac
	ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0 \
		LD_PRELOAD=$shim LH_FAULT_AT=$at LH_FAULT_MATCH=$match LH_FAULT_ERRNO=$code \
		LH_FAULT_LOG=$work/fault.log "$lh" "$@"
}

# Scenario parameters, set by scenario(): the config, the state, what to
# set up, the command, and what else to check.
ini= state= setup= op= extra= snapped=
stale=()
scenario() { # scenario NAME MODE SETUP OP [EXTRA]
	name=$1 mode=$2 setup=$3 op=$4 extra=${5:-}
	ini=$work/$mode.ini
	if [ "$mode" = lcow ]; then
		state=$work/example/layerhost.state journal=$work/example/layerhost.journal
		where=(--journal "$journal")
	else
		state=$work/host.state journal=$work/host.journal
		where=(--mounts-under "$work")
	fi
	# An unmount releases what it can, and a failed save of it leaves the
	# state before: run again, it must finish (checked after each run).
	stale=()
	case $op in unmount*) stale=(--stale-ok --partial-ok) ;; esac
	snapped=
}

run() { "$lh" --config "$ini" "$@" >/dev/null 2>&1; }

# Back to nothing: the host's mounts released, every file of a run gone.
reset() {
	if [ "$mode" = host ]; then
		[ -f "$state" ] && run unmount --all
		if grep -qF " $work/run" /proc/self/mountinfo; then
			fail "$name: unmount --all after the run left mounts under $work/run"
			force_clean
		fi
	fi
	rm -rf "$state" "$state".* "$journal" "$(dirname "$state")/templates" "$work/clone" \
		"$work/run" "$work/hs/web"/* "$work/hs/web"/.layerhost-scratch \
		"$work/hs/worker"/* "$work/hs/worker"/.layerhost-scratch
}

# Reset, set up, note the state before. In LCOW everything is in files:
# set up once, then put the files back.
prepare() {
	local cmd sdir
	sdir=$(dirname "$state")
	reset
	if [ -n "$snapped" ]; then
		cp -a "$work/snap/." "$sdir/"
		return
	fi
	while IFS= read -r cmd; do
		# shellcheck disable=SC2086
		[ -n "$cmd" ] && { run $cmd || fail "$name: setup '$cmd' failed"; }
	done <<<"$setup"
	"$lh" --config "$ini" status --json >"$work/before.json" 2>/dev/null
	cp "$state" "$work/before.state" 2>/dev/null || rm -f "$work/before.state"
	[ -f "$sdir/templates/base.state" ] && cp "$sdir/templates/base.state" "$work/before.template"
	if [ "$mode" = lcow ]; then
		rm -rf "$work/snap" && mkdir "$work/snap"
		for f in "$state" "$journal" "$sdir/templates"; do
			[ -e "$f" ] && cp -a "$f" "$work/snap/"
		done
		snapped=1
	fi
}

# What else must hold for this scenario, after exit status $1.
extra_checks() {
	local code=$1 which=$2 tdir
	tdir=$(dirname "$state")/templates
	case $extra in
	template)
		if [ "$which" = after ]; then
			[ -f "$tdir/base.state" ] || { echo "the state is a template's, but no template file"; return 1; }
			"$lh" --config "$ini" --state "$tdir/base.state" status >/dev/null 2>&1 ||
				{ echo "the template file does not load"; return 1; }
		elif [ -e "$tdir" ]; then
			echo "the state is not a template's, but $tdir is there"; return 1
		fi ;;
	clone)
		cmp -s "$state" "$work/before.state" || { echo "the template UVM's state changed"; return 1; }
		cmp -s "$tdir/base.state" "$work/before.template" || { echo "the template changed"; return 1; }
		if [ "$code" -eq 0 ]; then
			"$lh" --config "$ini" --uvm-id c1 --state "$work/clone/layerhost.state" status \
				>/dev/null 2>&1 || { echo "the clone's state does not load"; return 1; }
			[ -f "$work/clone/c1.json" ] || { echo "the clone has no document"; return 1; }
		elif [ -e "$work/clone" ]; then
			echo "a failed clone left $(find "$work/clone" | wc -l) entries in $work/clone"
			return 1
		fi ;;
	esac
	if find "$work" -name '*.tmp.*' | grep -q .; then
		echo "temp files left: $(find "$work" -name '*.tmp.*' | tr '\n' ' ')"; return 1
	fi
}

# check AT ERRNO: run the command with call AT failing, then the invariant.
check() {
	local at=$1 code=$2 rc which status
	rm -f "$work/fault.log"
	# shellcheck disable=SC2086
	faulted "$at" "$code" --config "$ini" $op >/dev/null 2>"$work/err"
	rc=$?
	status=$("$lh" --config "$ini" status --json 2>&1 >"$work/now.json")
	if [ $? -ne 0 ]; then
		fail "$name: fault at $(failed_call), errno $code: the state does not load: $status"
		return 1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		fail "$name: fault at $(failed_call), errno $code: exit $rc: $(head -c 300 "$work/err")"
		return 1
	fi
	which=$(python3 "$check_py" "$work/now.json" "$work/before.json" "$work/after.json" \
		"${where[@]}" "${stale[@]}") ||
		{ fail "$name: fault at $(failed_call), errno $code (exit $rc): $which"; return 1; }
	local why
	why=$(extra_checks "$rc" "$which") ||
		{ fail "$name: fault at $(failed_call), errno $code (exit $rc): $why"; return 1; }
	# What an unmount left undone, the same unmount finishes.
	if [ ${#stale[@]} -gt 0 ] && [ "$which" != after ]; then
		# shellcheck disable=SC2086
		run $op
		"$lh" --config "$ini" status --json >"$work/now.json" 2>/dev/null
		why=$(python3 "$check_py" "$work/now.json" "$work/after.json" "$work/after.json" \
			"${where[@]}") ||
			{ fail "$name: fault at $(failed_call), errno $code: run again: $why"; return 1; }
	fi
	passed=$((passed + 1))
	case $which in
	before) as_before=$((as_before + 1)) ;;
	after) as_after=$((as_after + 1)) ;;
	*) as_partial=$((as_partial + 1)) ;;
	esac
	return 0
}
failed_call() { sed -n 's/^failed //p' "$work/fault.log" 2>/dev/null | head -n 1; }

total_points=0 total_runs=0
sweep() {
	local t0=$SECONDS
	as_before=0 as_after=0 as_partial=0
	prepare
	# Undisturbed, counting: what the command leaves, and its calls.
	rm -f "$work/fault.log"
	# shellcheck disable=SC2086
	LH_FAULT_TRACE=1 faulted 0 0 --config "$ini" $op >/dev/null 2>&1 ||
		fail "$name: '$op' fails undisturbed"
	cp "$work/fault.log" "$work/trace.log"
	points=$(sed -n 's/^calls //p' "$work/trace.log")
	"$lh" --config "$ini" status --json >"$work/after.json" 2>/dev/null
	for at in $(seq 1 "$points"); do
		for code in 28 5; do # ENOSPC, EIO
			prepare
			check "$at" "$code"
			total_runs=$((total_runs + 1))
		done
	done
	total_points=$((total_points + points))
	echo "$name: $points writes, $((points * 2)) faulted runs: the state as before" \
		"$as_before, as after $as_after, part released (then finished) $as_partial;" \
		"$((SECONDS - t0))s"
}

# --- The issue's reproductions, named -------------------------------------------

# Case 10: the state's save fails after a mount: everything the mount did is
# rolled back, and the message names the step that failed.
repro_save_after_mount() {
	prepare
	if ! check "write:$(basename "$state").tmp." 28; then
		fail "case 10 ($name): a failed save after mount left what the state does not record"
	elif ! grep -q "cannot save the state (write): No space left on device" "$work/err"; then
		fail "case 10 ($name): the message does not name the write: $(cat "$work/err")"
	else
		echo "case 10 ($name): the state's write failing after a mount rolls the mount back"
	fi
}

# Case 11: the clone's own state fails to be written: no copy is left behind,
# and the clone tried again succeeds.
repro_clone_state() {
	prepare
	check "write:clone/layerhost.state.tmp." 28 ||
		fail "case 11: a clone whose state fails leaves files behind"
	if ! run clone --template base --id c1 --scratch-dir "$work/clone"; then
		fail "case 11: the clone tried again fails: $("$lh" --config "$ini" clone \
			--template base --id c1 --scratch-dir "$work/clone" 2>&1)"
	else
		echo "case 11: a clone whose state fails to be written leaves nothing; again, it succeeds"
	fi
}

scenario lcow-mount lcow "" "mount web worker"
sweep
repro_save_after_mount
scenario lcow-unmount lcow "mount web worker" "unmount --all"
sweep
scenario lcow-save lcow "mount web" "save"
sweep
scenario lcow-template lcow "mount web" "save --template base" template
sweep
scenario lcow-clone lcow $'mount web\nsave --template base' \
	"clone --template base --id c1 --scratch-dir $work/clone" clone
sweep
repro_clone_state
if [ "$(id -u)" -eq 0 ]; then
	scenario host-mount host "" "mount web worker"
	sweep
	repro_save_after_mount
	scenario host-unmount host "mount web worker" "unmount --all"
	sweep
	scenario host-save host "mount web" "save"
	sweep
	reset
else
	echo "SKIPPED: host mode (real mounts) needs root; the LCOW half ran"
fi

echo "fault injection: $total_points writes, $total_runs faulted runs, $(( $(date +%s) - start ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
