#!/usr/bin/env python3
"""invariant.py - what must hold after a command was interrupted or one of
its writes failed: the state loads (the caller ran `status --json`), it is
the state before the command or the one the command leaves when nothing
stops it, and nothing exists that the state does not account for.

  invariant.py STATUS BEFORE AFTER [--journal FILE] [--mounts-under DIR]
               [--stale-ok]

STATUS, BEFORE, AFTER: `layerhost status --json` now, before the command,
and after it ran undisturbed. Compared without what differs between two
runs of the same command (mount counters, handles, loop device numbers,
plugin paths).

--journal FILE: every resource the journal leaves added (its last request
was an Add) is one the state records, and the other way round.
--mounts-under DIR: every mount and loop device under DIR is one the state
records (host mode), and the other way round.
--stale-ok: the state may be the one before the command and still record
what the command released (an unmount whose save failed: the next unmount
finishes it), but never the other way.
--partial-ok: the state may be neither, if it accounts for everything: an
unmount releases what it can and records what it could not (the caller
then checks that the command run again finishes the job).

Prints "before", "after" or "partial"; exits 1 with the reasons otherwise.
"""
import glob
import json
import re
import sys

DROP = {"handle", "mount_counter", "file"}


def normalize(node):
    if isinstance(node, dict):
        return {k: normalize(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [normalize(v) for v in node]
    if isinstance(node, str):
        return re.sub(r"^loop[0-9]+$", "loop", node)
    return node


def state_resources(status):
    """Journal keys of what the state holds in a UVM."""
    keys = set()
    for backend in status.get("backends", []):
        for a in backend.get("attachments", []):
            loc = a.get("location", "")
            m = re.fullmatch(r"([0-9]+):([0-9]+)", loc)
            if backend["name"] == "scsi" and m:
                keys.add("VirtualMachine/Devices/Scsi/%s/Attachments/%s" % m.groups())
            m = re.fullmatch(r"p([0-9]+)", loc)
            if backend["name"] == "vpmem" and m:
                keys.add("VirtualMachine/Devices/VirtualPMem/Devices/%s" % m.group(1))
    for c in status.get("containers", []):
        if c.get("combined"):
            keys.add("CombinedLayers:" + c["rootfs"])
    return keys


def journal_resources(path):
    """Keys whose last request in the journal is an Add."""
    live = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.endswith("\n"):
                raise ValueError("%s:%d: a line without its end" % (path, n))
            req = json.loads(line)["request"]
            if "ResourcePath" in req:
                key, kind = req["ResourcePath"], req.get("RequestType")
            elif req.get("GuestRequest", {}).get("ResourceType") == "CombinedLayers":
                g = req["GuestRequest"]
                key, kind = "CombinedLayers:" + g["Settings"]["ContainerRootPath"], g["RequestType"]
            else:
                continue
            if kind in ("Add", "Remove"):
                live[key] = kind == "Add"
    return {k for k, added in live.items() if added}


def host_state_mounts(status):
    mounts, loops = set(), []
    for backend in status.get("backends", []):
        for a in backend.get("attachments", []):
            if a.get("note") == "layer mount":
                mounts.add(a["uvm_path"])
                loops.append(a["host_path"])
            elif a.get("note") == "overlay":
                mounts.add(a["uvm_path"])
    return mounts, sorted(loops)


def host_real_mounts(under):
    mounts, loops = set(), []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4].replace("\\040", " ")
            if target.startswith(under + "/"):
                mounts.add(target)
    for name in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            with open(name) as f:
                backing = f.read().strip()
        except OSError:
            continue
        if backing.startswith(under + "/"):
            loops.append(backing)
    return mounts, sorted(loops)


def compare(what, recorded, real, stale_ok, problems):
    extra = real - recorded
    if extra:
        problems.append("%s not in the state: %s" % (what, sorted(extra)))
    missing = recorded - real
    if missing and not stale_ok:
        problems.append("the state records %s that do not exist: %s" % (what, sorted(missing)))


def main(argv):
    args, opts = [], {}
    it = iter(argv)
    for a in it:
        if a in ("--journal", "--mounts-under"):
            opts[a] = next(it)
        elif a in ("--stale-ok", "--partial-ok"):
            opts[a] = True
        else:
            args.append(a)
    status, before, after = (json.load(open(p)) for p in args)
    problems = []
    now = normalize(status)
    which = "before" if now == normalize(before) else "after" if now == normalize(after) else None
    if which is None and opts.get("--partial-ok"):
        which = "partial"
    if which is None:
        problems.append("the state is neither the one before nor the one after")
    stale_ok = bool(opts.get("--stale-ok")) and which == "before"
    if "--journal" in opts:
        try:
            compare("journal resources", state_resources(status),
                    journal_resources(opts["--journal"]), stale_ok, problems)
        except (OSError, ValueError) as e:
            problems.append("journal: %s" % e)
    if "--mounts-under" in opts:
        rec_m, rec_l = host_state_mounts(status)
        real_m, real_l = host_real_mounts(opts["--mounts-under"])
        compare("mounts", rec_m, real_m, stale_ok, problems)
        if real_l != rec_l and not (stale_ok and set(real_l) <= set(rec_l)):
            problems.append("loop devices %s, the state records %s" % (real_l, rec_l))
    if problems:
        print("; ".join(problems))
        return 1
    print(which)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
