#!/bin/bash
# test_host_mode.sh BUILD_DIR SOURCE_DIR - host mode ([uvm] os = none) from
# the command line, where a mistake costs the user's files or mounts: a
# scratch that is not layerhost's, a mount path that is a mount point of
# the user's, two containers on one scratch, a layer mount still in use at
# unmount, two state files on one run root. Needs root; exits 77 without.
set -u
build=$1
src=$2
lh=$build/host/layerhost
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIPPED: host-mode mounts need root (CAP_SYS_ADMIN)"
	exit 77
fi
work=$(mktemp -d)
passed=0
failed=0
sleeper=

# shellcheck source=../testkit/mounts.sh
. "$(dirname "$0")/../testkit/mounts.sh"
cleanup() {
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	unmount_under "$work"
	rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@" >/dev/null; then
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
		echo "FAIL: layerhost $* -> exit $got (want $want, '$pattern'), stderr:" >&2
		cat "$work/err" >&2
	fi
}

# The type of the topmost mount at $1, or nothing.
top_fstype() { awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' /proc/self/mountinfo; }
ours_mounted() { grep -F " $work" /proc/self/mountinfo | grep -vc " $work/user-mnt " ; }

"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
layers="example/layers/base, example/layers/runtime, example/layers/web"

# host_ini FILE RUN_ROOT then [container.NAME] sections on stdin.
host_ini() {
	{
		printf '[host]\njournal = %s.journal\nstate = %s.state\nlock_timeout_ms = 2000\n' \
			"$(basename "$1" .ini)" "$(basename "$1" .ini)"
		printf '[plugin.hostlayer]\nrun_root = %s\n' "$2"
		cat
	} >"$1"
}

# 3. A scratch folder must be layerhost's own: empty or made by it, never
# a system folder (the kernel empties <scratch>/work/work).
mkdir -p "$work/theirs/work/work" "$work/mine"
echo keep >"$work/theirs/work/work/precious"
echo x >"$work/theirs/settings.conf"
host_ini "$work/s3.ini" "$work/run" <<INI
[container.c]
layers = $layers
scratch = theirs
INI
expect_exit 1 "scratch folder .*theirs is not layerhost's" --config "$work/s3.ini" mount
check "3: their work/work is untouched" grep -qx keep "$work/theirs/work/work/precious"
if grep -qx keep "$work/theirs/work/work/precious" 2>/dev/null; then
	for sys in / /etc; do
		sed "s|^scratch = .*|scratch = $sys|" "$work/s3.ini" >"$work/sys.ini"
		expect_exit 1 "is a system folder" --config "$work/sys.ini" mount
	done
	check "3: nothing made in / or /etc" test ! -e /upper -a ! -e /etc/upper -a ! -e /etc/work
else
	failed=$((failed + 1))
	echo "FAIL: 3: not trying / and /etc: a foreign scratch was taken" >&2
fi
sed "s|^scratch = .*|scratch = mine|" "$work/s3.ini" >"$work/mine.ini"
check "3: an empty scratch is taken" "$lh" --config "$work/mine.ini" mount
check "3: and taken again" sh -c "'$lh' --config '$work/mine.ini' unmount --all >/dev/null &&
	'$lh' --config '$work/mine.ini' mount >/dev/null &&
	'$lh' --config '$work/mine.ini' unmount --all >/dev/null"

# 4. The overlay unmounted by hand over a mount point of the user's: unmount
# leaves the user's filesystem alone.
mkdir -p "$work/user-mnt" "$work/s4"
mount -t tmpfs user "$work/user-mnt"
host_ini "$work/s4.ini" "$work/run" <<INI
[container.c]
layers = $layers
scratch = s4
mount_path = user-mnt
INI
check "4: mount on the user's mount point" "$lh" --config "$work/s4.ini" mount
check "4: the overlay is on top" test "$(top_fstype "$work/user-mnt")" = overlay
umount "$work/user-mnt"
check "4: unmount --all" "$lh" --config "$work/s4.ini" unmount --all
check "4: the user's tmpfs is still mounted" test "$(top_fstype "$work/user-mnt")" = tmpfs
umount "$work/user-mnt"

# 5. Two containers on one scratch would share upper/ and work/.
mkdir -p "$work/s5"
host_ini "$work/s5.ini" "$work/run" <<INI
[container.a]
layers = $layers
scratch = s5
[container.b]
layers = example/layers/base
scratch = s5
INI
expect_exit 1 "scratch folder .*s5 is the scratch of container a" --config "$work/s5.ini" mount a b
check "5: a mount is all or nothing" sh -c "'$lh' --config '$work/s5.ini' status | grep -q '^0 container'"
check "5: a alone mounts" "$lh" --config "$work/s5.ini" mount a
expect_exit 1 "scratch folder .*s5 is the scratch of container a" --config "$work/s5.ini" mount b
check "5: unmount a" "$lh" --config "$work/s5.ini" unmount --all

# 7. A layer mount still in use at unmount: the unmount fails naming it and
# forgets nothing; once it is free, unmount again finishes.
mkdir -p "$work/s7"
host_ini "$work/s7.ini" "$work/run" <<INI
[container.web]
layers = $layers
scratch = s7
INI
check "7: mount" "$lh" --config "$work/s7.ini" mount
layer_dir=$(find "$work/run/layers" -mindepth 1 -maxdepth 1 | head -n 1)
(cd "$layer_dir" && exec sleep 60) &
sleeper=$!
sleep 0.2
expect_exit 1 "$layer_dir" --config "$work/s7.ini" unmount web
expect_exit 1 "$layer_dir" --config "$work/s7.ini" unmount web
check "7: the state still holds web" sh -c "'$lh' --config '$work/s7.ini' status | grep -q '^1 container'"
kill "$sleeper"
wait "$sleeper" 2>/dev/null
sleeper=
check "7: unmount finishes once the layer is free" "$lh" --config "$work/s7.ini" unmount web
check "7: nothing of web is mounted" test "$(ours_mounted)" -eq 0
check "7: no loop device left" sh -c "! grep -qF '$work' /sys/block/loop*/loop/backing_file 2>/dev/null"

# 8. Two state files on one run root would stack their layer mounts.
mkdir -p "$work/s8a" "$work/s8b"
host_ini "$work/s8a.ini" "$work/run" <<INI
[container.a]
layers = $layers
scratch = s8a
INI
host_ini "$work/s8b.ini" "$work/run" <<INI
[container.b]
layers = $layers
scratch = s8b
INI
check "8: the first state mounts" "$lh" --config "$work/s8a.ini" mount
expect_exit 1 "run_root $work/run holds .* which this state did not mount" \
	--config "$work/s8b.ini" mount
check "8: the first state's mounts are intact" test "$(ours_mounted)" -eq 4
check "8: the first state unmounts" "$lh" --config "$work/s8a.ini" unmount --all
check "8: the second may use the run root now" sh -c "'$lh' --config '$work/s8b.ini' mount >/dev/null &&
	'$lh' --config '$work/s8b.ini' unmount --all >/dev/null"
check "nothing of ours is mounted at the end" test "$(ours_mounted)" -eq 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
