#!/bin/sh
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# in their own build folder and run each for N seconds (default 60).
# Needs the Debian packages clang and libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes), plus the project's usual build dependencies.
# Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]
set -eu
seconds=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-${TMPDIR:-/tmp}/layerhost-fuzz}
jobs=${LH_FUZZ_JOBS:-2}

command -v clang >/dev/null || {
	echo "run.sh: clang not found: apt-get install -y --no-install-recommends clang libclang-rt-14-dev" >&2
	exit 2
}
targets="gob vhd_footer vhdx config state qmp tar agent_json"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DLH_FUZZ=ON \
	-DLH_SANITIZE=address,undefined -DBUILD_TESTING=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# The targets and the plugins the state target loads.
cmake --build "$build" -j"$jobs" --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) \
	scsi vpmem

status=0
for target in $targets; do
	# New inputs go to a scratch corpus; the committed seeds stay as they are.
	work=$build/corpus-$target
	mkdir -p "$work" "$build/artifacts-$target"
	echo "run.sh: fuzz_$target for ${seconds}s"
	if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$build/artifacts-$target/" -max_len=4096 \
		"$work" "$src/tests/fuzz/corpus/$target"; then
		echo "run.sh: fuzz_$target found a failure; reproducer in $build/artifacts-$target/" >&2
		status=1
	fi
done
exit $status
