# vm_agree.sh - sourced by the shell tests that drive a real QEMU: check
# that what layerhost reports is what QEMU holds. The caller provides $lh
# (the program), $probe (tests/qemu/qmp_probe.py, an independent QMP
# client), $work (its scratch folder) and the functions pass and fail.

# vm_agree CONFIG CONTROL WHAT: status --json and vm status --json of
# CONFIG match QEMU, asked on its control socket CONTROL; WHAT names the
# step in a failure.
vm_agree() {
	local config=$1 control=$2 what=$3
	"$lh" --config "$config" status --json >"$work/status.json" 2>/dev/null &&
		"$lh" --config "$config" vm status --json >"$work/vm.json" 2>/dev/null ||
		{ fail "$what: status"; return; }
	if python3 "$probe" agree "$control" "$work/status.json" "$work/vm.json" \
		>"$work/agree" 2>&1; then
		pass
	else
		fail "$what: layerhost and QEMU disagree:"
		cat "$work/agree" >&2
	fi
}
