#!/usr/bin/env python3
"""check_tree.py ROOT EXPECT.json - check a merged tree (the overlay of the
imported layers, mounted) against what oci_fixture.py put in the image.
Prints one line per failed check; exit status 1 if any failed."""
import json
import os
import stat
import sys

root, expect = sys.argv[1], json.load(open(sys.argv[2]))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def p(rel):
    return os.path.join(root, rel)


for rel, want in expect["files"].items():
    try:
        st = os.lstat(p(rel))
        with open(p(rel), "rb") as f:
            data = f.read()
    except OSError as e:
        check(False, "%s: %s" % (rel, e))
        continue
    check(stat.S_ISREG(st.st_mode), "%s: not a regular file" % rel)
    check(data == want["data"].encode(), "%s: content %r" % (rel, data[:60]))
    check(stat.S_IMODE(st.st_mode) == want["mode"],
          "%s: mode %o, want %o" % (rel, stat.S_IMODE(st.st_mode), want["mode"]))
    # uid 2^32-1 is (uid_t)-1, which the kernel shows as the overflow uid:
    # the test checks it with debugfs instead
    if want["uid"] != 4294967295:
        check(st.st_uid == want["uid"], "%s: uid %d, want %d" % (rel, st.st_uid, want["uid"]))
    check(st.st_gid == want["gid"], "%s: gid %d, want %d" % (rel, st.st_gid, want["gid"]))

for rel in expect["absent"]:
    check(not os.path.lexists(p(rel)), "%s: should be hidden, is there" % rel)

for rel, names in expect["dir_only"].items():
    got = sorted(os.listdir(p(rel))) if os.path.isdir(p(rel)) else None
    check(got == sorted(names), "%s: holds %s, want only %s" % (rel, got, sorted(names)))

for rel, mode in expect["dirs"].items():
    st = os.lstat(p(rel)) if os.path.lexists(p(rel)) else None
    check(st is not None and stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == mode,
          "%s: want a folder of mode %o, got %s" % (rel, mode,
                                                    oct(st.st_mode) if st else "nothing"))

for rel, target in expect["symlinks"].items():
    got = os.readlink(p(rel)) if os.path.islink(p(rel)) else None
    check(got == target, "%s: symlink to %r, want %r" % (rel, got, target))

for a, b in expect["hardlinks"]:
    sa, sb = os.lstat(p(a)), os.lstat(p(b))
    check(sa.st_ino == sb.st_ino and sa.st_nlink == 2,
          "%s and %s: not one inode with two links (%d/%d, %d links)" % (
              a, b, sa.st_ino, sb.st_ino, sa.st_nlink))

for rel, (kind, major, minor, mode) in expect["devices"].items():
    st = os.lstat(p(rel))
    is_kind = stat.S_ISCHR(st.st_mode) if kind == "c" else stat.S_ISBLK(st.st_mode)
    check(is_kind and os.major(st.st_rdev) == major and os.minor(st.st_rdev) == minor and
          stat.S_IMODE(st.st_mode) == mode,
          "%s: want %s %d:%d mode %o, got mode %o dev %d:%d" % (
              rel, kind, major, minor, mode, st.st_mode, os.major(st.st_rdev),
              os.minor(st.st_rdev)))

for rel in expect["fifos"]:
    check(stat.S_ISFIFO(os.lstat(p(rel)).st_mode), "%s: not a FIFO" % rel)

for rel, attrs in expect["xattrs"].items():
    for name, value in attrs.items():
        try:
            got = os.getxattr(p(rel), name, follow_symlinks=False)
        except OSError as e:
            got = str(e).encode()
        want = bytes.fromhex(value) if name == "security.capability" else value.encode()
        check(got == want, "%s: xattr %s = %r, want %r" % (rel, name, got, want))

sp = expect["sparse"]
st = os.stat(p(sp["path"]))
check(st.st_size == sp["size"], "%s: size %d, want %d" % (sp["path"], st.st_size, sp["size"]))
check(st.st_blocks * 512 <= sp["max_allocated"],
      "%s: %d bytes allocated, a sparse file needs at most %d" % (
          sp["path"], st.st_blocks * 512, sp["max_allocated"]))
with open(p(sp["path"]), "rb") as f:
    for off, ch, n in sp["chunks"]:
        f.seek(off)
        check(f.read(n) == ch.encode() * n, "%s: data at %d" % (sp["path"], off))
    for hole in (8192, (4 << 20), (12 << 20)):
        f.seek(hole)
        check(f.read(4096) == b"\0" * 4096, "%s: hole at %d is not zeros" % (sp["path"], hole))

nano = expect["nanos"]
got = os.lstat(p(nano["path"])).st_mtime_ns
check(got == nano["mtime_ns"], "%s: mtime %d ns, want %d" % (nano["path"], got, nano["mtime_ns"]))

for f in failures:
    print("FAIL:", f)
print("%d checks failed" % len(failures) if failures else "merged tree as expected")
sys.exit(1 if failures else 0)
