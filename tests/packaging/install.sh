# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source it
# install.sh - sourced by the packaging tests: install the build into a
# fresh temp prefix, the way an operator does, and name what went where.
#
#   source install.sh BUILD SOURCE BINDIR LIBDIR INCLUDEDIR MANDIR PLUGINDIR
#                     COMPLETIONDIR UNITDIR CONFIGURED_BINDIR
#
# The directories are the build's (GNUInstallDirs and the packaging
# folders), relative to the prefix or absolute. Sets $prefix and $work,
# installs, and defines installed REL (the path of REL in the install),
# check NAME CMD... and finish.
build=$1
src=$2
bindir=$3
libdir=$4
includedir=$5
mandir=$6
plugindir=$7
completiondir=$8
unitdir=$9
configured_bindir=${10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
passed=0
failed=0

# A folder given absolute lies outside any prefix: such an install goes
# under DESTDIR, so that the test never writes outside its temp folder.
destdir=
for dir in "$bindir" "$libdir" "$includedir" "$mandir" "$completiondir" "$unitdir"; do
	case $dir in /*) destdir=$work/dest ;; esac
done

installed() { # installed REL_OR_ABS: where the install put it
	case $1 in
	/*) printf '%s%s\n' "$destdir" "$1" ;;
	*) printf '%s%s/%s\n' "$destdir" "$prefix" "$1" ;;
	esac
}

check() { # check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $name" >&2
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if ! DESTDIR=$destdir cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then
	echo "FAIL: cmake --install $build --prefix $prefix:" >&2
	cat "$work/install.log" >&2
	exit 1
fi
