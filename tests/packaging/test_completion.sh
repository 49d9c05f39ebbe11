#!/bin/bash
# test_completion.sh - the installed bash completion: it parses (bash -n),
# and driven as bash drives it (COMP_WORDS, COMP_CWORD) it offers the
# commands, the options and their values, the example's containers and
# the saved templates; bash-completion finds and loads it from the prefix.
set -u
# shellcheck source=tests/packaging/install.sh
source "$(dirname "$0")/install.sh"
file=$(installed "$completiondir/layerhost")
check "bash -n on the completion" bash -n "$file"

# A template to offer: a copy of the example, mounted and saved as one.
cp "$src/conf/layers.ini" "$work/layers.ini"
if "$src/conf/make-example.sh" "$build" "$work/example" >"$work/example.log" 2>&1 &&
	"$build/host/layerhost" --config "$work/layers.ini" mount web >/dev/null &&
	"$build/host/layerhost" --config "$work/layers.ini" save --template base >/dev/null; then
	:
else
	echo "FAIL: could not make a template to complete" >&2
	cat "$work/example.log" >&2
	failed=$((failed + 1))
fi

# What the completion offers for a line; the last word is the one under
# the cursor. Run in a clean bash, from the source folder (conf/layers.ini).
offered() { # offered [--bash-completion] WORD...
	local preload=
	if [ "$1" = --bash-completion ]; then
		preload='source /usr/share/bash-completion/bash_completion; __load_completion layerhost'
		shift
	else
		preload="source '$file'"
	fi
	# bash-completion looks in $XDG_DATA_DIRS/bash-completion/completions
	# (by default /usr/local/share and /usr/share: the prefixes /usr/local
	# and /usr); here the temp prefix's.
	(cd "$src" && XDG_DATA_DIRS=${file%/bash-completion/completions/layerhost} bash --norc --noprofile -c '
		'"$preload"'
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		_layerhost layerhost "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' bash "$@")
}

expect() { # expect "WANTED" [--bash-completion] WORD...
	local want=$1 got
	shift
	got=$(offered "$@")
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: completing '$*': got '$got', want '$want'" >&2
	fi
}

expect "web worker" layerhost --config conf/layers.ini mount ""
expect "worker" layerhost --config conf/layers.ini mount web ""
expect "web worker" layerhost --config = conf/layers.ini unmount ""
expect "web worker" layerhost -c conf/layers.ini plan w
expect "clone mount plan restore save status unmount vm" layerhost --config conf/layers.ini ""
expect "mount" layerhost --config conf/layers.ini mo
expect "exec start status stop" layerhost --config conf/layers.ini vm ""
expect "" layerhost --config conf/layers.ini vm start ""
expect "--force" layerhost --config conf/layers.ini vm stop --f
expect "--config --container" layerhost --config conf/layers.ini vm exec --co
expect "web worker" layerhost --config conf/layers.ini vm exec --container ""
expect "" layerhost --config conf/layers.ini vm exec --container web -- c
expect "" layerhost --config conf/layers.ini vm exec -- ls --c
expect "debug error info warn" layerhost --log-level ""
expect "warn" layerhost --log-level = w
expect "--all" layerhost --config conf/layers.ini unmount --a
expect "--scratch-dir --state" layerhost --config conf/layers.ini clone --s
expect "--state" layerhost --config conf/layers.ini status --s
expect "base" layerhost --config "$work/layers.ini" clone --template ""
expect "base" layerhost --config "$work/layers.ini" --state "$work/example/layerhost.state" \
	save --template b
expect "" layerhost --config conf/layers.ini clone --id ""
expect "conf/layers-vm.ini conf/layers.ini" layerhost --config conf/lay

if [[ $file != */bash-completion/completions/layerhost ]]; then
	echo "NOTE: the completion is not in a bash-completion/completions folder" \
		"(LH_BASH_COMPLETION_DIR=$completiondir): loading through bash-completion not checked"
elif [ -r /usr/share/bash-completion/bash_completion ]; then
	# bash-completion finds the file in the prefix and loads it on demand.
	expect "web worker" --bash-completion layerhost --config conf/layers.ini mount ""
	expect "conf/layers-vm.ini conf/layers.ini" --bash-completion layerhost --config conf/lay
else
	echo "NOTE: bash-completion is not installed: loading through it not checked" \
		"(.ci/deps.sh installs it)"
fi
finish
