#!/usr/bin/env python3
"""test_help_man.py LAYERHOST MAN_DIR PLUGIN_DIR - the man pages agree with
the program.

layerhost(8) against `layerhost --help`: the same commands with the same
arguments, the same options with the same values, the same exit statuses.
layerhost.ini(5) against the program: every key each section takes, as the
program's own "unknown key" messages list them, is documented in that
section's list, and the page documents no key the program refuses; the
same for every built plugin's [plugin.NAME] section.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

layerhost, man_dir, plugin_dir = sys.argv[1:4]
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, file=sys.stderr)


def render(page):
    """The page as text, by whichever formatter is installed."""
    env = dict(os.environ, MANWIDTH="120", LC_ALL="C.UTF-8")
    for command in (["man", "-l", page], ["mandoc", "-T", "utf8", page],
                    ["groff", "-mandoc", "-Tutf8", "-P-c", page]):
        if shutil.which(command[0]):
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            text = re.sub(r".\x08", "", out.stdout)  # overstrike bold/underline
            return text.replace("\u2212", "-").replace("\u2010", "-")
    print("SKIPPED: no man, mandoc or groff to render the page with")
    sys.exit(77)


def man_section(text, name):
    match = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+$)" % re.escape(name), text, re.M | re.S)
    if not match:
        fail("layerhost(8) has no %s section" % name)
        return ""
    return match.group(1)


def norm(synopsis):
    """'--config FILE' and '--config file', 'a|b' and 'a | b' are one thing."""
    return re.sub(r"\s+", "", synopsis).lower()


def tag_lines(section, indent):
    """The tags of a list: the text before the description column."""
    tags = []
    for line in section.splitlines():
        if re.match(r"^ {%d}\S" % indent, line):
            tags.append(re.split(r"\s{2,}", line.strip())[0])
    return tags


# ---- layerhost --help against layerhost(8) --------------------------------
help_text = subprocess.run([layerhost, "--help"], capture_output=True, text=True,
                           check=True).stdout
blocks = {}
current = None
for line in help_text.splitlines():
    if re.match(r"^[A-Z][a-z ]+:$", line):
        current = line[:-1]
        blocks[current] = []
    elif current and re.match(r"^ {2,6}\S", line):  # not a description's continuation
        blocks[current].append(re.split(r"\s{2,}", line.strip())[0])
help_commands = [norm(c) for c in blocks.get("Commands", [])]
help_options = [norm(o) for o in blocks.get("Options", [])]
if not help_commands or not help_options:
    fail("--help has no Commands: or Options: block")

page = render(os.path.join(man_dir, "layerhost.8"))
man_commands = [norm(c) for c in tag_lines(man_section(page, "COMMANDS"), 5)]
options = man_section(page, "OPTIONS")
global_part, _, command_part = options.partition("The options of the commands")
man_options = [norm(o) for o in tag_lines(global_part, 5) if o.startswith("-")]
man_command_options = [o for o in tag_lines(command_part, 5) if o.startswith("-")]

if sorted(help_commands) != sorted(man_commands):
    fail("commands differ:\n  --help:        %s\n  layerhost(8):  %s"
         % (sorted(help_commands), sorted(man_commands)))
if sorted(help_options) != sorted(man_options):
    fail("options differ:\n  --help:        %s\n  layerhost(8):  %s"
         % (sorted(help_options), sorted(man_options)))
# The commands' own options: each the man page lists is in a command's
# synopsis of --help, and each a synopsis names is listed.
help_command_opts = set(re.findall(r"--[a-z][a-z-]*", " ".join(blocks.get("Commands", []))))
man_command_opts = {re.findall(r"--[a-z][a-z-]*", o)[0] for o in man_command_options}
if help_command_opts != man_command_opts:
    fail("command options differ: --help %s, layerhost(8) %s"
         % (sorted(help_command_opts), sorted(man_command_opts)))
help_exit = set(re.findall(r"\b(\d) ", help_text.split("Exit status:")[-1]))
man_exit = set(t for t in tag_lines(man_section(page, "EXIT STATUS"), 5) if t.isdigit())
if not help_exit or help_exit != man_exit:
    fail("exit statuses differ: --help %s, layerhost(8) %s" % (sorted(help_exit), sorted(man_exit)))

# ---- the INI keys against layerhost.ini(5) --------------------------------
ini_source = open(os.path.join(man_dir, "layerhost.ini.5")).read()


def documented(section):
    """The keys the page lists in the subsection of `section`."""
    match = re.search(r"^\.Ss \\&\[%s\]\\&\n(.*?)(?=^\.Ss |^\.Sh )" % re.escape(section),
                      ini_source, re.M | re.S)
    if not match:
        fail("layerhost.ini(5) has no [%s] subsection" % section)
        return set()
    return set(re.findall(r"^\.It Cm (\S+)", match.group(1), re.M))


def taken(ini_text):
    """The keys the program says a section takes, from its refusal."""
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "probe.ini")
        with open(path, "w") as f:
            f.write(ini_text)
        out = subprocess.run([layerhost, "--config", path, "--plugin-dir", plugin_dir, "status"],
                             capture_output=True, text=True)
    match = re.search(r"unknown (?:key|role) \((?:plugin \S+ takes: )?([^)]*)\)", out.stderr)
    if out.returncode != 2 or not match:
        fail("no list of keys from %r: exit %d, %s" % (ini_text, out.returncode, out.stderr.strip()))
        return set()
    keys = match.group(1)
    return set() if keys == "no keys" else {k.strip() for k in keys.split(",")}


probes = {
    "host": "[host]\nbogus_key = 1\n",
    "uvm": "[uvm]\nbogus_key = 1\n",
    "pipeline": "[pipeline]\nbogus.role = scsi\n",
    "container.NAME": "[container.c]\nlayers = l\nscratch = s\nbogus_key = 1\n",
}
plugins = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(plugin_dir, "*.so")))
if not plugins:
    fail("no plugins in " + plugin_dir)
for name in plugins:
    probes["plugin." + name] = "[plugin.%s]\nbogus_key = 1\n" % name
for section, probe in probes.items():
    keys, listed = taken(probe), documented(section)
    if keys and keys != listed:
        fail("[%s]: the program takes %s, layerhost.ini(5) lists %s"
             % (section, sorted(keys), sorted(listed)))

if failures:
    print("%d failed" % len(failures))
    sys.exit(1)
print("layerhost(8) and --help agree: %d commands, %d options, %d command options; "
      "layerhost.ini(5) lists the keys of %d sections" % (len(help_commands), len(help_options),
                                                          len(help_command_opts), len(probes)))
