#!/bin/bash
# test_signals.sh BUILD_DIR SOURCE_DIR [RUNS] - send SIGINT or SIGTERM at a
# random point of mount, unmount, save and clone (RUNS of each, default
# $LH_SIGNAL_RUNS or 100; mount and unmount half in host mode, half in
# LCOW), then check what must hold: the command ended promptly with 0, 130
# or 143; the state loads, is the state before the command or the one it
# leaves undisturbed, and nothing exists that it does not account for
# (tests/stress/invariant.py: mounts and loop devices in host mode, journal
# resources in LCOW; no temp file; a clone whole or not there at all).
# First, issue 18's case 9: the signal in the middle of a 100-layer host
# mount. Host mode needs root; without it only the LCOW runs are made, and
# it says so. In the style of test_crash.sh, which does the same with
# SIGKILL for the state file alone.
set -u
build=$1
src=$2
runs=${3:-${LH_SIGNAL_RUNS:-100}}
lh=$build/host/layerhost
check_py=$(cd "$(dirname "$0")" && pwd)/invariant.py
# Short paths: overlay takes one page of options, about 100 layer folders.
work=$(mktemp -d /tmp/lhs.XXXX)
passed=0
failed=0
start=$SECONDS
host=false
[ "$(id -u)" -eq 0 ] && host=true

# shellcheck source=../testkit/mounts.sh
. "$(dirname "$0")/../testkit/mounts.sh"
force_clean() { unmount_under "$work"; }
# Only in this shell: a child not yet exec'd when the signal lands (a
# command started in the background) runs the EXIT trap too.
trap '[ "$BASHPID" = "$$" ] && { force_clean; rm -rf "$work"; }' EXIT
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
cp "$src/conf/layers.ini" "$work/lcow.ini"

# Host mode: web on 20 layers for the runs, big on 100 for case 9. Every
# layer a file of its own: a loop device and a mount each.
mkdir -p "$work/tree/etc" "$work/hs/web" "$work/hs/big"
echo layer >"$work/tree/etc/layer"
truncate -s 2M "$work/one.vhd"
mkfs.ext4 -q -F -E root_owner=0:0 -d "$work/tree" "$work/one.vhd" >/dev/null
"$build/host/layerhost-vhd" footer "$work/one.vhd"
for i in $(seq 1 100); do
	mkdir -p "$work/l/$i"
	cp --sparse=always "$work/one.vhd" "$work/l/$i/layer.vhd"
done
{
	printf '[host]\njournal = host.journal\nstate = host.state\n'
	printf '[plugin.hostlayer]\nrun_root = %s/r\n' "$work"
	printf '[container.web]\nlayers = l/1'
	for i in $(seq 2 20); do printf ', l/%d' "$i"; done
	printf '\nscratch = hs/web\n[container.big]\nlayers = l/1'
	for i in $(seq 2 100); do printf ',\n  l/%d' "$i"; done
	printf '\nscratch = hs/big\n'
} >"$work/host.ini"

# use MODE: the config, state and invariant of host or lcow.
use() {
	mode=$1 ini=$work/$1.ini
	if [ "$mode" = lcow ]; then
		state=$work/example/layerhost.state
		where=(--journal "$work/example/layerhost.journal")
	else
		state=$work/host.state
		where=(--mounts-under "$work")
	fi
}
run() { "$lh" --config "$ini" "$@" >/dev/null 2>&1; }
status() { "$lh" --config "$ini" status --json >"$1" 2>/dev/null; }

# Back to nothing mounted, no state, no clone, in both modes.
reset() {
	[ -f "$work/host.state" ] && "$lh" --config "$work/host.ini" unmount --all >/dev/null 2>&1
	if grep -qF " $work/r" /proc/self/mountinfo; then
		fail "$label: unmount --all after the run left mounts"
		force_clean
	fi
	rm -rf "$work/host.state" "$work/host.state".* "$work/host.journal" \
		"$work/example/layerhost.state" "$work/example/layerhost.state".* \
		"$work/example/layerhost.journal" "$work/example/templates" "$work/clone" "$work/r"
}

# set_up COMMANDS: reset, then run each command (one a line). In LCOW
# everything is in files: the first time they are kept, then put back.
set_up() {
	local cmd snap=$work/snap/$label
	reset
	if [ "$mode" = lcow ] && [ -d "$snap" ]; then
		cp -a "$snap/." "$work/example/"
		return
	fi
	while IFS= read -r cmd; do
		# shellcheck disable=SC2086
		[ -n "$cmd" ] && { run $cmd || fail "$label: setup '$cmd' failed"; }
	done <<<"$1"
	if [ "$mode" = lcow ]; then
		mkdir -p "$snap"
		for f in "$state" "$work/example/layerhost.journal" "$work/example/templates"; do
			[ -e "$f" ] && cp -a "$f" "$snap/"
		done
	fi
}

# reference LABEL MODE SETUP OP: the state before and after OP run
# undisturbed, and how long it takes (microseconds), in $work/LABEL.*.
reference() {
	local label=$1 t0
	use "$2"
	set_up "$3"
	status "$work/$label.before"
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	run $4 || fail "$label: '$4' fails undisturbed"
	echo $(( ($(date +%s%N) - t0) / 1000 )) >"$work/$label.took"
	status "$work/$label.after"
}

# interrupt LABEL MODE SETUP OP SIGNAL DELAY_US: run OP after SETUP, send
# SIGNAL DELAY_US in, then check. Returns 0 when everything held.
interrupt() {
	local label=$1 op=$4 sig=$5 delay=$6 pid rc waited=0 which why
	use "$2"
	set_up "$3"
	cp "$state" "$work/before.state" 2>/dev/null || rm -f "$work/before.state"
	# as a command run in the foreground would: the signal not ignored
	# shellcheck disable=SC2086
	env --default-signal=INT,TERM "$lh" --config "$ini" $op >/dev/null 2>"$work/err" &
	pid=$!
	sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
	# still ours (pids are reused, and fast on a busy machine)?
	grep -qa layerhost "/proc/$pid/cmdline" 2>/dev/null && kill -s "$sig" "$pid" 2>/dev/null
	# bounded: a command must end soon after the signal
	while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 3000 ]; do
		sleep 0.02
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		fail "$label: still running 60 s after SIG$sig (${delay}us in)"
		return 1
	fi
	wait "$pid"
	rc=$?
	case $rc in
	0 | 130 | 143) ;;
	*) fail "$label: SIG$sig ${delay}us in: exit $rc: $(head -c 300 "$work/err")"; return 1 ;;
	esac
	if ! status "$work/now.json"; then
		fail "$label: SIG$sig ${delay}us in: the state does not load"
		return 1
	fi
	which=$(python3 "$check_py" "$work/now.json" "$work/$label.before" "$work/$label.after" \
		"${where[@]}") || { fail "$label: SIG$sig ${delay}us in (exit $rc): $which"; return 1; }
	why=$(find "$work" -name '*.tmp.*' | head -n 3)
	[ -z "$why" ] || { fail "$label: SIG$sig ${delay}us in: temp files left: $why"; return 1; }
	if [ "$label" = clone ]; then
		cmp -s "$state" "$work/before.state" ||
			{ fail "clone: SIG$sig ${delay}us in: the template UVM's state changed"; return 1; }
		# the clone whole, or nothing of it
		if [ -e "$work/clone" ]; then
			"$lh" --config "$ini" --uvm-id c1 --state "$work/clone/layerhost.state" \
				status >/dev/null 2>&1 && [ -f "$work/clone/c1.json" ] ||
				{ fail "clone: SIG$sig ${delay}us in: half a clone"; return 1; }
			which=after
		else
			which=before
		fi
	fi
	passed=$((passed + 1))
	eval "${label//-/_}_$which=\$(( \${${label//-/_}_$which:-0} + 1 ))"
	return 0
}

# --- Case 9: a signal in the middle of a 100-layer host mount -------------------

if $host; then
	label=big
	reference big host "" "mount big"
	took=$(cat "$work/big.took")
	ok=0
	for i in 1 2 3 4 5 6; do
		sig=INT
		[ $((i % 2)) -eq 0 ] && sig=TERM
		# from a fifth into the mount to four fifths: layer mounts under way
		interrupt big host "" "mount big" "$sig" $((took / 5 + RANDOM * took * 3 / 5 / 32768)) &&
			ok=$((ok + 1))
	done
	reset
	[ "$ok" -eq 6 ] &&
		echo "case 9: SIGINT/SIGTERM inside a 100-layer host mount (${took}us): 6 of 6 left" \
			"nothing the state does not record (before ${big_before:-0}, after ${big_after:-0})"
fi

# --- A wait for the state lock ends at once ---------------------------------------

label=lock
use lcow
reset
flock -o "$state.lock" sleep 5 & # -o: the lock is flock's own, gone with it
holder=$!
sleep 0.3
env --default-signal=INT "$lh" --config "$ini" mount web >/dev/null 2>"$work/err" &
pid=$!
sleep 0.3
t0=$(date +%s%N)
kill -INT "$pid"
wait "$pid"
rc=$?
waited=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
if [ "$rc" -eq 130 ] && [ "$waited" -lt 2000 ] && [ ! -e "$state" ] &&
	grep -q "interrupted while waiting for the state lock" "$work/err"; then
	passed=$((passed + 1))
	echo "lock: SIGINT while waiting for the state lock: exit 130 after ${waited}ms, nothing done"
else
	fail "lock: SIGINT while waiting for the state lock: exit $rc after ${waited}ms: $(cat "$work/err")"
fi

# --- RUNS of each --------------------------------------------------------------

lcow_mounted=$'mount web worker'
ops=(mount unmount save clone)
declare -A setup=([mount]="" [unmount]="mount web" [save]="$lcow_mounted" \
	[clone]=$'mount web\nsave --template base')
declare -A command=([mount]="mount web" [unmount]="unmount --all" [save]="save" \
	[clone]="clone --template base --id c1 --scratch-dir $work/clone")
modes() { # the modes an op runs in
	case $1 in
	mount | unmount) $host && echo "host lcow" || echo lcow ;;
	*) echo lcow ;;
	esac
}
for op in "${ops[@]}"; do
	for m in $(modes "$op"); do
		label=$op-$m
		[ "$op" = save ] || [ "$op" = clone ] && label=$op
		reference "$label" "$m" "${setup[$op]}" "${command[$op]}"
	done
done
for op in "${ops[@]}"; do
	read -r -a ms <<<"$(modes "$op")"
	for i in $(seq 1 "$runs"); do
		m=${ms[$((i % ${#ms[@]}))]}
		label=$op-$m
		[ "$op" = save ] || [ "$op" = clone ] && label=$op
		took=$(cat "$work/$label.took")
		sig=INT
		[ $((i % 2)) -eq 0 ] && sig=TERM
		# anywhere from the start to a little past the end
		interrupt "$label" "$m" "${setup[$op]}" "${command[$op]}" "$sig" \
			$((RANDOM * (took + took / 4 + 1) / 32768))
	done
	for m in "${ms[@]}"; do
		label=$op-$m
		[ "$op" = save ] || [ "$op" = clone ] && label=$op
		v=${label//-/_}
		b=${v}_before a=${v}_after
		echo "$label: took $(cat "$work/$label.took")us undisturbed; interrupted runs left" \
			"the state as before ${!b:-0}, as after ${!a:-0}"
	done
done
reset
$host || echo "SKIPPED: host mode (real mounts) needs root; the LCOW runs were made"
echo "signals: $((passed + failed)) interrupted runs, $((SECONDS - start))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
