#!/bin/sh
# Install the project into a scratch prefix, build demo.c out of tree with
# nothing but the installed header and layerhost-backend.pc, and drive the
# result with the in-tree driver program.
# Usage: run.sh BUILD_DIR LIBDIR DEMO_C DRIVER
set -eu
build=$1 libdir=$2 demo=$3 driver=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lh-outoftree-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0

cmake --install "$build" --prefix "$tmp" >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	echo "run.sh: cmake --install $build failed (is the whole project built?)" >&2
	exit 1
}
pcdir=$tmp/$libdir/pkgconfig
if [ ! -f "$pcdir/layerhost-backend.pc" ]; then
	echo "run.sh: layerhost-backend.pc not installed in $pcdir; installed:" >&2
	find "$tmp" -name '*.pc' >&2
	exit 1
fi
[ -f "$tmp/include/layerhost/backend.h" ] || {
	echo "run.sh: backend.h not installed under $tmp/include/layerhost" >&2
	exit 1
}

cflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags layerhost-backend)
echo "run.sh: pkg-config --cflags layerhost-backend: $cflags"
# The include folder must be the installed one, wherever the prefix went:
# a packager's DESTDIR / --prefix install must not break third-party builds.
incdir=$(printf '%s\n' $cflags | sed -n 's/^-I//p' | head -n 1)
if [ -z "$incdir" ] || [ "$(realpath "$incdir")" != "$(realpath "$tmp/include")" ]; then
	echo "run.sh: FAIL: layerhost-backend.pc does not point at the prefix it was" \
		"installed to ($tmp): Cflags are '$cflags'" >&2
	exit 1
fi

# The same source three times: against the installed header, and against the
# frozen ABI v2 and v1 headers beside this script (plugins built for them).
lh=$build/host/layerhost
frozen=$(dirname "$0")
mkdir -p "$tmp/l1" "$tmp/s1"
: >"$tmp/l1/layer.vhd"
: >"$tmp/s1/sandbox.vhdx"
for abi in v3 v2 v1; do
	plugins=$tmp/plugins-$abi
	mkdir -p "$plugins"
	if [ "$abi" != v3 ]; then
		cc -I"$frozen/abi-$abi" -fvisibility=hidden -shared -fPIC -o "$plugins/demo.so" "$demo"
	else
		# shellcheck disable=SC2086 # cflags is a list of flags
		cc $cflags -shared -fPIC -o "$plugins/demo.so" "$demo"
	fi
	chmod 0755 "$plugins/demo.so"

	# Exactly one exported symbol: the entry point.
	exported=$(nm -D --defined-only "$plugins/demo.so" | awk '$2 ~ /^[TDBR]$/ {print $3}')
	if [ "$exported" != "layerhost_backend_entry" ]; then
		echo "run.sh: FAIL: demo.so ($abi) exports '$exported', want only" \
			"layerhost_backend_entry" >&2
		status=1
	fi

	"$driver" "$plugins" "${abi#v}" || status=1

	# The real host drives it too: the demo serves every LCOW role.
	rm -f "$tmp/layerhost.journal" "$tmp/layerhost.state"
	cat >"$tmp/demo.ini" <<INI
[host]
plugin_dir = $plugins
[uvm]
os = linux
[pipeline]
lcow.layers = demo
lcow.scratch = demo
[container.c1]
layers = l1
scratch = s1
INI
	if ! "$lh" --config "$tmp/demo.ini" mount c1 >"$tmp/mount.out" 2>&1 ||
		! grep -q "layer 1 *demo" "$tmp/mount.out" ||
		! "$lh" --config "$tmp/demo.ini" unmount c1 >/dev/null 2>&1 ||
		[ "$(grep -c '"Add"' "$tmp/layerhost.journal")" -ne \
			"$(grep -c '"Remove"' "$tmp/layerhost.journal")" ]; then
		echo "run.sh: FAIL: layerhost did not mount and unmount through the demo" \
			"plugin built for ABI $abi" >&2
		cat "$tmp/mount.out" "$tmp/layerhost.journal" >&2
		status=1
	fi
	echo "run.sh: demo plugin built for ABI $abi: loaded, driven, mounted and unmounted"
done
exit $status
