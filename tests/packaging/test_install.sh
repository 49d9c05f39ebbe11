#!/bin/bash
# test_install.sh - `cmake --install BUILD --prefix P` puts every file where
# Debian's layout (GNUInstallDirs) and the tools that read them expect it:
# programs, plugins, the SDK header and its pkg-config file, the man pages,
# the bash completion, the systemd unit template, the guest's agent and
# the tool that packs it.
set -u
# shellcheck source=tests/packaging/install.sh
source "$(dirname "$0")/install.sh"

for f in "$bindir/layerhost" "$bindir/layerhost-vhd"; do
	check "$f is an executable" test -x "$(installed "$f")"
done
for p in hostlayer scsi vpmem vsmb; do
	check "plugin $p in $plugindir" test -f "$(installed "$plugindir/$p.so")"
	check "plugin $p is not group- or world-writable (the loader refuses those)" \
		test -z "$(find "$(installed "$plugindir/$p.so")" -perm /022)"
done
# The guest's agent and the tool that packs it, where an installed
# layerhost looks for its guest; run there, the tool finds the agent
# beside it (its --help is all that runs here: the kernel is a download).
guestdir=$libdir/layerhost/guest
check "the guest agent in $guestdir" test -x "$(installed "$guestdir/layerhost-agent")"
check "the guest agent is linked statically (the guest has no libraries)" sh -c \
	"! readelf -l '$(installed "$guestdir/layerhost-agent")' | grep -q INTERP"
check "mkinitramfs.sh in $guestdir, and it runs" sh -c \
	"'$(installed "$guestdir/mkinitramfs.sh")' --help | grep -q 'Installed (cmake --install)'"
check "the SDK header in $includedir/layerhost" test -f "$(installed "$includedir/layerhost/backend.h")"
pc=$(installed "$libdir/pkgconfig/layerhost-backend.pc")
check "layerhost-backend.pc in $libdir/pkgconfig" test -f "$pc"
cflags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags layerhost-backend)
incdir=${cflags#-I}
incdir=${incdir%% *}
check "pkg-config's -I is the installed include folder" test "$incdir" -ef "$(installed "$includedir")"
check "pkg-config names the installed plugin folder" sh -c \
	"test \"\$(PKG_CONFIG_PATH='$(dirname "$pc")' pkg-config --variable=plugindir layerhost-backend)\" \
	 -ef '$(installed "$plugindir")'"
for page in man8/layerhost.8 man8/layerhost-vhd.8 man5/layerhost.ini.5 man7/layerhost-backend.7; do
	if [ -n "${LH_NO_MAN-}" ]; then
		break
	fi
	check "man page $mandir/$page" test -s "$(installed "$mandir/$page")"
done
check "bash completion in $completiondir" test -s "$(installed "$completiondir/layerhost")"
check "systemd unit template in $unitdir" test -s "$(installed "$unitdir/layerhost@.service")"

# The folders are those the packages' pkg-config files report, taken
# relative to their prefix (what the build configured from them).
if pkg-config --exists bash-completion 2>/dev/null; then
	want=$(pkg-config --define-variable=prefix=/P --define-variable=datadir=/P/share \
		--variable=completionsdir bash-completion)
	check "the completion folder is bash-completion's ($want under the prefix)" \
		test "/P/$completiondir" = "$want"
else
	echo "NOTE: bash-completion.pc absent: the completion folder is the fallback $completiondir"
fi
if pkg-config --exists systemd 2>/dev/null; then
	want=$(pkg-config --define-variable=prefix=/P --define-variable=root_prefix=/P \
		--define-variable=rootprefix=/P --variable=systemdsystemunitdir systemd)
	check "the unit folder is systemd's ($want under the prefix)" test "/P/$unitdir" = "$want"
else
	echo "NOTE: systemd.pc absent: the unit folder is the fallback $unitdir"
fi

# The installed program runs and finds the installed plugins (no build tree
# beside it): the bundled example's plan.
cp "$src/conf/layers.ini" "$work/layers.ini"
if "$src/conf/make-example.sh" "$build" "$work/example" >"$work/example.log" 2>&1; then
	check "the installed layerhost plans the example with the installed plugins (--plugin-dir: the default is the configured prefix)" sh -c \
		"'$(installed "$bindir/layerhost")' --config '$work/layers.ini' \
		 --plugin-dir '$(installed "$plugindir")' plan web | grep -q CombinedLayers"
else
	failed=$((failed + 1))
	echo "FAIL: conf/make-example.sh:" >&2
	cat "$work/example.log" >&2
fi
finish
