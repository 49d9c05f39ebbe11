#!/bin/bash
# test_json_vm.sh BUILD [SOURCE] - vm start, vm status and vm stop with --json
# on a real (paused) QEMU: one JSON document each on stdout.
set -u
build=$1
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIPPED: qemu-system-x86_64 missing (.ci/deps.sh installs qemu-system-x86)"
	exit 77
fi
work=$(mktemp -d)
# shellcheck source=tests/output/json_check.sh
source "$(dirname "$0")/json_check.sh"
ini=$work/vm.ini
cat >"$ini" <<INI
[host]
driver = qemu
journal_fsync = never
[uvm]
id = json-vm
os = linux
guest = none
memory = 128M
[plugin.vpmem]
multi_mapping = false
max_devices = 2
INI
# Whatever happens, no QEMU outlives the test: stopped by layerhost, or,
# should that fail, by the pid QEMU wrote.
cleanup() {
	if ! "$lh" --config "$ini" vm stop >/dev/null 2>&1 && [ -s "$work/run/json-vm.pid" ]; then
		kill "$(cat "$work/run/json-vm.pid")" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

json "vm start" "uvm vm" --config "$ini" --json vm start
json "vm status" "uvm running pid qmp layout pending_removal" --config "$ini" --json vm status
json "mount on the VM (no containers)" "containers" --config "$ini" --json mount
json "vm stop" "uvm vm" --config "$ini" --json vm stop
if "$lh" --config "$ini" vm start >"$work/out" 2>&1 && grep -qx 'uvm json-vm: started' "$work/out"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "FAIL: vm start without --json:" >&2
	cat "$work/out" >&2
fi
finish
