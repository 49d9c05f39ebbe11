#!/bin/sh
# run.sh ORACLE.go GOLDEN_DIR WORK_DIR - rebuild the VSMBShare records with
# Go's encoding/gob and compare them byte for byte with the checked-in
# golden files (tests/golden/vsmb/share_*.gob), then have Go read the
# records in the backend's golden state blobs (state_v2.gob,
# state_template.gob) and write them back unchanged. Exit 77 (skipped)
# without Go. With LH_UPDATE_GOLDEN=1 the record golden files are rewritten
# from Go's output.
set -eu
oracle=$1 golden=$2 work=$3
if ! command -v go >/dev/null 2>&1; then
	echo "skipped: no Go toolchain (apt-get install golang-go) to rebuild the records with"
	exit 77
fi
rm -rf "$work"
mkdir -p "$work/out" "$work/cache"
# Offline and outside any module: the program uses the standard library only.
GOCACHE="$work/cache" GOPATH="$work/gopath" GOFLAGS= GO111MODULE=off GOTOOLCHAIN=local \
	go run "$oracle" "$work/out"
echo "$(go version)"
if [ "${LH_UPDATE_GOLDEN:-}" ]; then
	cp "$work"/out/share_*.gob "$golden/"
	echo "golden: wrote $(ls "$work/out" | wc -l) records from Go into $golden"
	exit 0
fi
n=0 failed=0
for f in "$work"/out/share_*.gob; do
	name=$(basename "$f")
	n=$((n + 1))
	if ! cmp "$f" "$golden/$name"; then
		echo "FAIL: $name: Go's bytes differ from the golden file"
		failed=$((failed + 1))
	fi
done
missing=$(ls "$golden"/share_*.gob | wc -l)
if [ "$missing" -ne "$n" ]; then
	echo "FAIL: $missing golden records, Go wrote $n"
	failed=$((failed + 1))
fi
for blob in state_v2.gob state_template.gob; do
	n=$((n + 1))
	if ! GOCACHE="$work/cache" GOPATH="$work/gopath" GOFLAGS= GO111MODULE=off \
		GOTOOLCHAIN=local go run "$oracle" -check "$golden/$blob"; then
		echo "FAIL: $blob: Go does not read the backend's records back to the same bytes"
		failed=$((failed + 1))
	fi
done
echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
