#!/bin/bash
# test_journal_prefix.sh BUILD SOURCE - under systemd (JOURNAL_STREAM naming
# the device and inode of stderr) every line layerhost writes to stderr
# starts with its sd-daemon priority: <3> errors, <4> warnings, <6> info,
# <7> debug; messages, log lines and usage hints alike. Elsewhere (no
# JOURNAL_STREAM, or one naming another stream) the lines are plain.
set -u
build=$1
src=$2
lh=$build/host/layerhost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

cp "$src/conf/layers.ini" "$work/layers.ini"
"$src/conf/make-example.sh" "$build" "$work/example" >/dev/null || { echo "make-example failed"; exit 1; }
printf '[uvm]\nos = linux\n' >"$work/empty.ini"

# journal_run FILE ARGS...: run layerhost with stderr appended to FILE and
# JOURNAL_STREAM naming FILE, as systemd names its journal socket.
journal_run() {
	local file=$1
	shift
	touch "$file"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$file") "$lh" "$@" >/dev/null 2>>"$file"
}

expect_line() { # expect_line NAME FILE REGEX: some line of FILE matches
	if grep -Eq -- "$3" "$2"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1: no line matching '$3' in:" >&2
		cat "$2" >&2
	fi
}

every_line() { # every_line NAME FILE REGEX: every line of FILE matches
	if [ -s "$2" ] && ! grep -Evq -- "$3" "$2"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1: a line not matching '$3' (or none) in:" >&2
		cat "$2" >&2
	fi
}

j=$work/journal
journal_run "$j" --config "$work/layers.ini" --log-level debug mount
journal_run "$j" --config "$work/layers.ini" mount web
journal_run "$j" --config "$work/empty.ini" --plugin-dir "$build/plugins" mount
journal_run "$j" --config "$work/layers.ini" --bogus
journal_run "$j" --config "$work/layers.ini" unmount --all
every_line "every stderr line has a priority" "$j" '^<[3467]>'
expect_line "an error is <3>" "$j" "^<3>layerhost: container web is already mounted$"
expect_line "a usage error is <3>" "$j" "^<3>layerhost: unknown option '--bogus'$"
expect_line "the hint below a usage error is <3> too" "$j" "^<3>Try 'layerhost --help'\\.$"
expect_line "a warning is <4>" "$j" "^<4>layerhost: .*empty.ini declares no containers$"
expect_line "an info log line is <6>" "$j" '^<6>pipeline: info: '
expect_line "a debug log line is <7>" "$j" '^<7>scsi: debug: '

# Not the journal: plain lines.
p=$work/plain
"$lh" --config "$work/layers.ini" --bogus 2>"$p"
JOURNAL_STREAM=1:1 "$lh" --config "$work/layers.ini" --bogus 2>>"$p"
touch "$work/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$work/other") "$lh" --config "$work/layers.ini" --bogus 2>>"$p"
JOURNAL_STREAM=garbage "$lh" --config "$work/layers.ini" --bogus 2>>"$p"
every_line "no prefix without the journal" "$p" "^(layerhost: unknown option '--bogus'|Try 'layerhost --help'\\.)$"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
