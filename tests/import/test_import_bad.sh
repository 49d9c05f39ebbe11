#!/bin/bash
# test_import_bad.sh BUILD_DIR SOURCE_DIR - every damaged layout
# oci_fixture.py knows: exit status 1, one line naming what is at fault
# (file, blob, entry), and the store exactly as it was (here: a store that
# already holds one layer, which must stay, and nothing else; no temp file).
set -u
build=$1
src=$2
. "$src/tests/import/lib.sh"

command -v zstd >/dev/null || { echo "SKIP: the zstd program is missing (apt-get install zstd)"; exit 77; }

# CASE|REF|what the message must say (grep -E)
cases=(
	"no_layout_file|v1|not an OCI image layout: .*/oci-layout: cannot read"
	"no_index|v1|/index.json: cannot read: No such file"
	"index_json|v1|/index.json: not valid JSON \\(at byte"
	"unknown_tag|nope|has no image named 'nope' \\(tags: v1\\)"
	"two_images||lists 2 images: name one as LAYOUT:TAG \\(tags: a, b\\)"
	"manifest_missing|v1|manifest sha256:[0-9a-f]{64}: .*cannot read: No such file"
	"manifest_json|v1|manifest sha256:[0-9a-f]{64}: not valid JSON"
	"manifest_digest|v1|manifest sha256:[0-9a-f]{64}: digest mismatch: the blob hashes to sha256:"
	"config_missing|v1|config sha256:[0-9a-f]{64}: .*cannot read"
	"config_os|v1|config sha256:[0-9a-f]{64}: os is 'windows'"
	"nested_no_amd64|multi|index sha256:[0-9a-f]{64} has no linux/amd64 image \\(platforms: linux/arm64\\)"
	"media_type|v1|layer 1/1 \\(sha256:[0-9a-f]{64}\\): media type 'application/vnd.oci.image.layer.v1.tar\\+lz4' is not a layer"
	"layer_digest|v1|layer 1/1 \\(sha256:[0-9a-f]{64}\\): digest mismatch: the blob hashes to sha256:"
	"layer_size|v1|layer 1/1 \\(sha256:[0-9a-f]{64}\\): .* holds 10752 bytes, the descriptor says 10240"
	"diff_id|v1|layer 1/1 \\(sha256:[0-9a-f]{64}\\): diffID mismatch: its tar hashes to sha256:[0-9a-f]{64}, rootfs.diff_ids\\[0\\]"
	"truncated_tar|v1|layer 2/2 \\(sha256:[0-9a-f]{64}\\): entry 'big': Truncated tar archive"
	"corrupt_tar|v1|layer 2/2 \\(sha256:[0-9a-f]{64}\\): after entry 'a' \\(tar byte [0-9]+\\): Damaged tar archive"
	"not_a_tar|v1|layer 2/2 \\(sha256:[0-9a-f]{64}\\): not a readable tar"
	"corrupt_gzip|v1|layer 1/1 \\(sha256:[0-9a-f]{64}\\): (corrupt gzip data|diffID mismatch)"
	"truncated_gzip|v1|layer 1/1 \\(sha256:[0-9a-f]{64}\\): corrupt gzip data: truncated gzip input"
	"dotdot|v1|entry 'etc/../../escape': name 'etc/../../escape': '..' leads out of the layer's root"
	"absolute|v1|entry '/etc/passwd': name '/etc/passwd': absolute path"
	"hardlink_missing|v1|entry 'etc/link': hard link to 'etc/nowhere', which is not in this layer before it"
	"hardlink_escape|v1|entry 'etc/link': hard link target '../outside': '..' leads out"
	"parent_is_file|v1|layer 2/2 \\(sha256:[0-9a-f]{64}\\): entry 'f/child': 'f' is not a directory in this layer"
	"second_layer|v1|layer 2/2 \\(sha256:[0-9a-f]{64}\\): entry 'x': hard link to 'missing'"
)

# the store holds another image's layers: they must survive every failure
$fixture full "$work/other" || exit 1
store=$work/store
"$lh" import "$work/other:v1" --store "$store" --quiet >/dev/null || { echo "setup import failed"; exit 1; }
before=$(cd "$store" && find . | sort | md5sum)

for spec in "${cases[@]}"; do
	IFS='|' read -r name ref pattern <<<"$spec"
	rm -rf "$work/bad"
	$fixture bad "$name" "$work/bad" || { fail "$name: fixture"; continue; }
	"$lh" import "$work/bad${ref:+:$ref}" --store "$store" --quiet >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -Eq -- "$pattern" "$work/err" && [ "$(wc -l <"$work/err")" -eq 1 ]; then
		pass
	else
		fail "$name: exit $rc (want 1), stderr (want one line matching '$pattern'):"
		cat "$work/err" >&2
	fi
	check "$name: nothing on stdout" test ! -s "$work/out"
	check "$name: the store as it was" test "$(cd "$store" && find . | sort | md5sum)" = "$before"
	# and into a store that did not exist: it does not exist afterwards
	"$lh" import "$work/bad${ref:+:$ref}" --store "$work/fresh" --quiet >/dev/null 2>&1
	check "$name: no store made" test ! -e "$work/fresh"
done

# a layer.vhd in the store that is not one is named, not overwritten
victim=$(ls -d "$store"/*/ | head -n 1)
printf 'garbage' >"$victim/layer.vhd"
"$lh" import "$work/other:v1" --store "$store" --quiet >/dev/null 2>"$work/err"
check "damaged layer.vhd: exit 1" test $? -eq 1
check "damaged layer.vhd: named" grep -q "layer.vhd: in the store but not a fixed VHD" "$work/err"
check "damaged layer.vhd: left alone" test "$(cat "$victim/layer.vhd")" = garbage

finish
