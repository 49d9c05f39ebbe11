#!/usr/bin/env python3
"""oci_fixture.py - real OCI image layouts for the import tests, built
offline with tarfile, hashlib and json (no root needed: owners, devices and
xattrs are written into the tar headers).

  oci_fixture.py full OUT         the three-layer image the tests import,
                                  every entry kind; OUT/expect.json says what
                                  the merged tree must hold
  oci_fixture.py bad CASE OUT     a layout damaged one way (see BAD_CASES)
  oci_fixture.py cases            list the bad cases
  oci_fixture.py bench OUT KIND   a one-layer layout for the benchmark
                                  (KIND: large | many), .tar and .tar.gz

Layer compression: gzip with Python's gzip module, zstd with the zstd
program (Debian's zstd package; Python has no zstd module).
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZ = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MTIME = 1700000000

# security.capability for cap_net_bind_service=ep (VFS_CAP_REVISION_2)
CAPABILITY = bytes.fromhex("0100000200040000000000000000000000000000")
LONG_NAME = "n" * 255
LONG_TARGET = "/" + "/".join(["very-long-directory-name"] * 8) + "/target"


# ---- tar building ---------------------------------------------------------

class Tar:
    """A tar in memory, PAX format, entries in the order added."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, kind, mode, uid=0, gid=0, mtime=MTIME, pax=None):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = mtime
        if pax:
            ti.pax_headers = dict(pax)
        return ti

    def file(self, name, data, mode=0o644, **kw):
        ti = self._info(name, tarfile.REGTYPE, mode, **kw)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def dir(self, name, mode=0o755, **kw):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, **kw))

    def symlink(self, name, target, **kw):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, **kw)
        ti.linkname = target
        self.tar.addfile(ti)

    def hardlink(self, name, target, **kw):
        ti = self._info(name, tarfile.LNKTYPE, 0o644, **kw)
        ti.linkname = target
        self.tar.addfile(ti)

    def device(self, name, kind, major, minor, mode=0o600, **kw):
        ti = self._info(name, kind, mode, **kw)
        ti.devmajor, ti.devminor = major, minor
        self.tar.addfile(ti)

    def sparse(self, name, size, chunks, mode=0o644):
        """A PAX 1.0 sparse member (what GNU tar --sparse --format=posix
        writes): chunks is [(offset, bytes)], the rest of size is holes."""
        amap = "%d\n" % len(chunks) + "".join("%d\n%d\n" % (o, len(d)) for o, d in chunks)
        amap = amap.encode()
        amap += b"\0" * (-len(amap) % 512)
        body = amap + b"".join(d for _, d in chunks)
        head, tail = os.path.split(name)
        ti = self._info(os.path.join(head, "GNUSparseFile.0", tail), tarfile.REGTYPE, mode,
                        pax={"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                             "GNU.sparse.name": name, "GNU.sparse.realsize": str(size)})
        ti.size = len(body)
        self.tar.addfile(ti, io.BytesIO(body))

    def raw(self):
        self.tar.close()
        return self.buf.getvalue()


# ---- layouts ---------------------------------------------------------------

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, root):
        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(os.path.join(root, "blobs", "sha256"))
        with open(os.path.join(root, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def blob(self, data, media_type):
        digest = sha(data)
        with open(os.path.join(self.root, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def json_blob(self, obj, media_type):
        return self.blob(json.dumps(obj, indent=1).encode(), media_type)

    def image(self, layers, compressions=None, docker=False, os_name="linux"):
        """layers: raw tars, base first; compressions: per layer, "", "gzip" or
        "zstd". Returns the manifest descriptor."""
        compressions = compressions or [""] * len(layers)
        descs, diff_ids = [], []
        for raw, comp in zip(layers, compressions):
            diff_ids.append(sha(raw))
            data, mt = compress(raw, comp), MT_LAYER + ("+" + comp if comp else "")
            if docker:
                mt = DOCKER_LAYER_GZ
            descs.append(self.blob(data, mt))
        config = {"architecture": "amd64", "os": os_name,
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "config": {"Cmd": ["/bin/sh"]}}
        cdesc = self.json_blob(config, DOCKER_CONFIG if docker else MT_CONFIG)
        manifest = {"schemaVersion": 2,
                    "mediaType": DOCKER_MANIFEST if docker else MT_MANIFEST,
                    "config": cdesc, "layers": descs}
        return self.json_blob(manifest, DOCKER_MANIFEST if docker else MT_MANIFEST)

    def index(self, entries):
        """entries: [(descriptor, tag or None)]."""
        manifests = []
        for desc, tag in entries:
            d = dict(desc)
            if tag:
                d["annotations"] = {"org.opencontainers.image.ref.name": tag}
            manifests.append(d)
        with open(os.path.join(self.root, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests}, f)

    def path_of(self, desc):
        return os.path.join(self.root, "blobs", "sha256", desc["digest"][7:])


def compress(raw, comp):
    if comp == "gzip":
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if comp == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, check=True,
                              stdout=subprocess.PIPE).stdout
    return raw


# ---- the full image ---------------------------------------------------------

def base_layer():
    t = Tar()
    t.dir("./")
    for d in ["etc", "usr", "usr/bin", "var", "opt", "opt/gone", "data", "dev"]:
        t.dir(d)
    t.dir("tmp", mode=0o1777)
    t.file("etc/os-release", b"NAME=base\n")
    t.file("etc/remove-me", b"whited out by layer 2\n")
    t.file("opt/gone/inside", b"the whole folder goes in layer 2\n")
    t.file("data/old1", b"hidden by the opaque folder\n")
    t.file("data/old2", b"hidden too\n")
    t.file("usr/bin/tool", b"#!/bin/sh\necho tool\n", mode=0o4755)
    t.file("usr/bin/sgid", b"sgid\n", mode=0o2755)
    t.file("usr/bin/both", b"both\n", mode=0o6711)
    t.symlink("usr/bin/sh", "tool")
    t.symlink("usr/bin/long", LONG_TARGET)
    t.symlink("usr/bin/len59", "x" * 59)
    t.symlink("usr/bin/len60", "y" * 60)
    t.hardlink("usr/bin/tool-link", "usr/bin/tool")
    t.hardlink("usr/bin/sh-link", "usr/bin/sh")  # a hard link to a symlink
    t.device("dev/null", tarfile.CHRTYPE, 1, 3, mode=0o666)
    t.device("dev/sda1", tarfile.BLKTYPE, 8, 1, mode=0o660, gid=6)
    t.device("dev/big", tarfile.CHRTYPE, 300, 70000)
    t.device("dev/fifo", tarfile.FIFOTYPE, 0, 0, mode=0o644)
    t.file("var/owned-max", b"owner 2^32-1\n", uid=4294967295, gid=4294967294)
    t.file("var/owned-high", b"owner above 16 bits\n", uid=70000, gid=70001)
    t.file("var/xattrs", b"has attributes\n",
           pax={"SCHILY.xattr.user.comment": "hello",
                "SCHILY.xattr.trusted.note": "trusted value"})
    t.file("usr/bin/ping", b"ping\n", mode=0o755,
           pax={"SCHILY.xattr.security.capability": CAPABILITY.decode("latin-1")})
    t.file("var/" + LONG_NAME, b"a 255-byte name\n")
    t.file("var/empty", b"")
    t.file("var/nanos", b"mtime with nanoseconds\n", pax={"mtime": "1700000000.123456789"})
    t.sparse("var/sparse", 16 << 20,
             [(0, b"S" * 4096), (8 << 20, b"M" * 5000), ((16 << 20) - 100, b"E" * 100)])
    # a file before its folder's own entry, and a folder made implicitly
    t.file("late/file", b"before its folder\n")
    t.dir("late", mode=0o700)
    t.file("implicit/a/b/file", b"parents made for me\n")
    # a later duplicate replaces the earlier one
    t.file("etc/dup", b"first\n")
    t.file("etc/dup", b"second, the one that stays\n")
    # a whiteout never hides an entry of its own layer, in either order
    t.file("etc/keep", b"kept despite .wh.keep\n")
    t.file("etc/.wh.keep", b"")
    t.file("etc/.wh.early", b"")
    t.file("etc/early", b"kept despite the earlier .wh.early\n")
    return t.raw()


def middle_layer():
    t = Tar()
    t.file("etc/.wh.remove-me", b"")
    t.file("opt/.wh.gone", b"")
    t.file("data/.wh..wh..opq", b"")
    t.file("data/new", b"the opaque folder's only entry\n")
    t.file("etc/os-release", b"NAME=middle\n")
    t.file("usr/bin/added", b"added by layer 2\n", mode=0o755)
    return t.raw()


def top_layer():
    t = Tar()
    t.dir("srv")
    t.file("srv/index.html", b"<h1>top</h1>\n")
    t.file("etc/motd", b"top layer\n")
    # a folder whited out and made again in the same layer shows only its new entries
    t.file("opt/.wh.again", b"")
    t.file("opt/again/fresh", b"fresh\n")
    return t.raw()


def expectations():
    """What the merged tree (overlay of the three layers) must show."""
    files = {
        "etc/os-release": ("NAME=middle\n", 0o644, 0, 0),
        "etc/dup": ("second, the one that stays\n", 0o644, 0, 0),
        "etc/keep": ("kept despite .wh.keep\n", 0o644, 0, 0),
        "etc/early": ("kept despite the earlier .wh.early\n", 0o644, 0, 0),
        "etc/motd": ("top layer\n", 0o644, 0, 0),
        "data/new": ("the opaque folder's only entry\n", 0o644, 0, 0),
        "usr/bin/tool": ("#!/bin/sh\necho tool\n", 0o4755, 0, 0),
        "usr/bin/sgid": ("sgid\n", 0o2755, 0, 0),
        "usr/bin/both": ("both\n", 0o6711, 0, 0),
        "usr/bin/added": ("added by layer 2\n", 0o755, 0, 0),
        "var/owned-max": ("owner 2^32-1\n", 0o644, 4294967295, 4294967294),
        "var/owned-high": ("owner above 16 bits\n", 0o644, 70000, 70001),
        "var/" + LONG_NAME: ("a 255-byte name\n", 0o644, 0, 0),
        "var/empty": ("", 0o644, 0, 0),
        "late/file": ("before its folder\n", 0o644, 0, 0),
        "implicit/a/b/file": ("parents made for me\n", 0o644, 0, 0),
        "srv/index.html": ("<h1>top</h1>\n", 0o644, 0, 0),
        "opt/again/fresh": ("fresh\n", 0o644, 0, 0),
    }
    return {
        "files": {k: {"data": v[0], "mode": v[1], "uid": v[2], "gid": v[3]}
                  for k, v in files.items()},
        "absent": ["etc/remove-me", "opt/gone", "data/old1", "data/old2", "etc/.wh.keep",
                   "etc/.wh.early", "etc/.wh.remove-me", "data/.wh..wh..opq"],
        "dir_only": {"data": ["new"], "opt": ["again"], "opt/again": ["fresh"]},
        "dirs": {"tmp": 0o1777, "late": 0o700, "implicit": 0o755, "implicit/a/b": 0o755},
        "symlinks": {"usr/bin/sh": "tool", "usr/bin/long": LONG_TARGET,
                     "usr/bin/len59": "x" * 59, "usr/bin/len60": "y" * 60,
                     "usr/bin/sh-link": "tool"},
        "hardlinks": [["usr/bin/tool", "usr/bin/tool-link"], ["usr/bin/sh", "usr/bin/sh-link"]],
        "devices": {"dev/null": ["c", 1, 3, 0o666], "dev/sda1": ["b", 8, 1, 0o660],
                    "dev/big": ["c", 300, 70000, 0o600]},
        "fifos": ["dev/fifo"],
        "xattrs": {"var/xattrs": {"user.comment": "hello", "trusted.note": "trusted value"},
                   "usr/bin/ping": {"security.capability": CAPABILITY.hex()}},
        "sparse": {"path": "var/sparse", "size": 16 << 20,
                   "chunks": [[0, "S", 4096], [8 << 20, "M", 5000], [(16 << 20) - 100, "E", 100]],
                   "max_allocated": 64 << 10},
        "nanos": {"path": "var/nanos", "mtime_ns": 1700000000123456789},
        "layer_whiteouts": {"1": [], "2": ["etc/remove-me", "opt/gone"], "3": ["opt/again"]},
        "layer_opaque": {"2": ["data"], "3": ["opt/again"]},
    }


def make_full(out):
    lay = Layout(out)
    layers = [base_layer(), middle_layer(), top_layer()]
    manifest = lay.image(layers, ["gzip", "zstd", ""])
    lay.index([(manifest, "v1")])
    with open(os.path.join(out, "expect.json"), "w") as f:
        json.dump(expectations(), f, indent=1)
    return lay


# ---- damaged layouts ---------------------------------------------------------

def small_layer():
    t = Tar()
    t.dir("etc")
    t.file("etc/hello", b"hello\n")
    return t.raw()


def good(out, comp=""):
    lay = Layout(out)
    manifest = lay.image([small_layer()], [comp])
    lay.index([(manifest, "v1")])
    return lay, manifest


def rewrite_manifest(lay, manifest, edit):
    """Change the manifest (and so its digest) and point index.json at it."""
    with open(lay.path_of(manifest)) as f:
        m = json.load(f)
    edit(m)
    desc = lay.json_blob(m, MT_MANIFEST)
    lay.index([(desc, "v1")])
    return desc


def layer_blob_path(lay, manifest, i=0):
    with open(lay.path_of(manifest)) as f:
        return lay.path_of(json.load(f)["layers"][i])


def tar_with(entries_fn, terminate=True):
    t = Tar()
    entries_fn(t)
    raw = t.raw()
    if not terminate:
        raw = raw.rstrip(b"\0")
        raw += b"\0" * (-len(raw) % 512)
    return raw


def image_of_tar(out, raw, comp=""):
    lay = Layout(out)
    manifest = lay.image([small_layer(), raw], ["gzip", comp])
    lay.index([(manifest, "v1")])
    return lay, manifest


def bad_no_index(out):
    lay, _ = good(out)
    os.remove(os.path.join(out, "index.json"))


def bad_index_json(out):
    good(out)
    with open(os.path.join(out, "index.json"), "w") as f:
        f.write('{"schemaVersion": 2, "manifests": [')


def bad_no_layout_file(out):
    good(out)
    os.remove(os.path.join(out, "oci-layout"))


def bad_unknown_tag(out):
    good(out)  # the test asks for a tag that is not there


def bad_manifest_missing(out):
    lay, m = good(out)
    os.remove(lay.path_of(m))


def bad_manifest_json(out):
    lay, m = good(out)
    data = b'{"schemaVersion": 2, "layers": [}'
    desc = lay.blob(data, MT_MANIFEST)
    lay.index([(desc, "v1")])


def bad_manifest_digest(out):
    lay, m = good(out)
    with open(lay.path_of(m), "r+b") as f:
        data = f.read()
        f.seek(0)
        f.write(data.replace(b'"schemaVersion": 2', b'"schemaVersion": 3'))


def bad_config_missing(out):
    lay, m = good(out)
    with open(lay.path_of(m)) as f:
        os.remove(lay.path_of(json.load(f)["config"]))


def bad_config_os(out):
    lay = Layout(out)
    manifest = lay.image([small_layer()], [""], os_name="windows")
    lay.index([(manifest, "v1")])


def bad_media_type(out):
    lay, m = good(out)
    rewrite_manifest(lay, m, lambda j: j["layers"][0].update(
        mediaType="application/vnd.oci.image.layer.v1.tar+lz4"))


def bad_layer_digest(out):
    lay, m = good(out)
    path = layer_blob_path(lay, m)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        data[600] ^= 0x20  # inside etc/hello's data: still a sound tar
        f.seek(0)
        f.write(data)


def bad_layer_size(out):
    lay, m = good(out)
    with open(layer_blob_path(lay, m), "ab") as f:
        f.write(b"\0" * 512)


def bad_diff_id(out):
    lay, m = good(out)
    with open(lay.path_of(m)) as f:
        cdesc = json.load(f)["config"]
    with open(lay.path_of(cdesc)) as f:
        config = json.load(f)
    config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
    new = lay.json_blob(config, MT_CONFIG)
    rewrite_manifest(lay, m, lambda j: j.update(config=new))


def bad_truncated_tar(out):
    raw = tar_with(lambda t: t.file("big", b"x" * 20000))
    image_of_tar(out, raw[:512 + 10000])


def bad_corrupt_tar(out):
    raw = bytearray(tar_with(lambda t: (t.file("a", b"a"), t.file("b", b"b" * 700))))
    raw[1024 + 148:1024 + 156] = b"9999999\0"  # the second header's checksum
    image_of_tar(out, bytes(raw))


def bad_corrupt_gzip(out):
    """A gzip stream damaged in the middle, its descriptor made to match:
    inflate fails, or (libarchive checks no gzip CRC) the diffID does."""
    rng, pool = text_pool(16)
    raw = tar_with(lambda t: t.file("big", blob_of(rng, pool, 1 << 18)))
    lay = Layout(out)
    data = bytearray(gzip.compress(raw, mtime=0))
    data[len(data) // 2] ^= 0xff
    desc = lay.blob(bytes(data), MT_LAYER + "+gzip")
    config = {"architecture": "amd64", "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}}
    cdesc = lay.json_blob(config, MT_CONFIG)
    mdesc = lay.json_blob({"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
                           "layers": [desc]}, MT_MANIFEST)
    lay.index([(mdesc, "v1")])


def bad_truncated_gzip(out):
    """The first half of a gzip stream, its descriptor made to match."""
    rng, pool = text_pool(17)
    raw = tar_with(lambda t: t.file("big", blob_of(rng, pool, 1 << 18)))
    lay = Layout(out)
    data = gzip.compress(raw, mtime=0)
    desc = lay.blob(data[:len(data) // 2], MT_LAYER + "+gzip")
    config = {"architecture": "amd64", "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}}
    cdesc = lay.json_blob(config, MT_CONFIG)
    mdesc = lay.json_blob({"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cdesc,
                           "layers": [desc]}, MT_MANIFEST)
    lay.index([(mdesc, "v1")])


def bad_dotdot(out):
    raw = tar_with(lambda t: t.file("etc/../../escape", b"out"))
    image_of_tar(out, raw)


def bad_absolute(out):
    t = Tar()
    t.file("etc/fine", b"fine")
    t.tar.addfile(t._info("/etc/passwd", tarfile.REGTYPE, 0o644), io.BytesIO(b""))
    image_of_tar(out, t.raw())


def bad_hardlink_missing(out):
    raw = tar_with(lambda t: t.hardlink("etc/link", "etc/nowhere"))
    image_of_tar(out, raw)


def bad_hardlink_escape(out):
    raw = tar_with(lambda t: t.hardlink("etc/link", "../outside"))
    image_of_tar(out, raw)


def bad_not_a_tar(out):
    image_of_tar(out, b"this is not a tar archive at all\n" * 40)


def bad_parent_is_file(out):
    raw = tar_with(lambda t: (t.file("f", b"a file"), t.file("f/child", b"under a file")))
    image_of_tar(out, raw, "zstd")


def ok_no_end_marker(out):
    """Ends right after the last entry's padding, no end-of-archive blocks."""
    raw = tar_with(lambda t: (t.dir("etc"), t.file("etc/last", b"last entry\n")))
    raw = raw[:512 * 3]  # dir header, file header, one block of data
    image_of_tar(out, raw, "gzip")


def ok_no_padding(out):
    """Ends right after the last data byte: no padding, no end blocks."""
    raw = tar_with(lambda t: t.file("etc/last", b"last entry\n"))
    raw = raw[:512 + len(b"last entry\n")]
    image_of_tar(out, raw)


def ok_nested_index(out):
    """index.json -> an index of platforms -> the linux/amd64 manifest."""
    lay = Layout(out)
    arm = lay.image([small_layer()], [""])
    amd = lay.image([small_layer(), tar_with(lambda t: t.file("amd64", b"yes\n"))], ["", "gzip"])
    inner = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [
        dict(arm, platform={"os": "linux", "architecture": "arm64"}),
        dict(amd, platform={"os": "linux", "architecture": "amd64"})]}
    idesc = lay.json_blob(inner, MT_INDEX)
    lay.index([(idesc, "multi")])


def ok_docker(out):
    lay = Layout(out)
    manifest = lay.image([small_layer(), tar_with(lambda t: t.file("docker", b"saved\n"))],
                         ["gzip", "gzip"], docker=True)
    lay.index([(manifest, "saved")])


def bad_nested_no_amd64(out):
    lay = Layout(out)
    arm = lay.image([small_layer()], [""])
    inner = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [
        dict(arm, platform={"os": "linux", "architecture": "arm64"})]}
    lay.index([(lay.json_blob(inner, MT_INDEX), "multi")])


def bad_second_layer(out):
    """Layer 1 is sound, layer 2 is not: layer 1 must not stay behind."""
    image_of_tar(out, tar_with(lambda t: t.hardlink("x", "missing")))


def bad_two_images(out):
    lay = Layout(out)
    a = lay.image([small_layer()], [""])
    b = lay.image([small_layer(), tar_with(lambda t: t.file("b", b"b"))], ["", ""])
    lay.index([(a, "a"), (b, "b")])


BAD_CASES = {name[4:]: fn for name, fn in globals().items() if name.startswith("bad_")}
OK_CASES = {name[3:]: fn for name, fn in globals().items() if name.startswith("ok_")}


# ---- benchmark layers ----------------------------------------------------------

def text_pool(seed):
    import random
    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    return rng, " ".join(rng.choice(words) for _ in range(300000)).encode()


def blob_of(rng, pool, n):
    out = bytearray()
    while len(out) < n:
        o = rng.randrange(0, len(pool) - 65536)
        out += pool[o:o + min(65536, n - len(out))]
    return bytes(out)


def bench_layer(kind):
    """large: 8 files of 6 MiB and 1.5k small ones (~53 MB); many: 24k
    entries, 18k of them in one folder (~55 MB of file data)."""
    rng, pool = text_pool(7)
    t = Tar()
    if kind == "large":
        t.dir("big")
        for i in range(8):
            t.file("big/file%d" % i, blob_of(rng, pool, 6 << 20))
        for d in range(15):
            t.dir("small%d" % d)
            for i in range(100):
                t.file("small%d/f%d" % (d, i), blob_of(rng, pool, rng.randint(100, 4000)))
    else:
        t.dir("huge")
        for i in range(18000):
            t.file("huge/entry-%05d.txt" % i, blob_of(rng, pool, rng.randint(200, 4400)))
        for d in range(60):
            t.dir("d%d" % d)
            for i in range(100):
                t.file("d%d/f%d" % (d, i), blob_of(rng, pool, rng.randint(200, 4400)))
    return t.raw()


def make_bench(out, kind):
    raw = bench_layer(kind)
    with open(os.path.join(out + ".tar"), "wb") as f:
        f.write(raw)
    for comp, suffix in (("", "tar"), ("gzip", "tgz")):
        lay = Layout(out + "-" + suffix)
        lay.index([(lay.image([raw], [comp]), "bench")])


def main(argv):
    if len(argv) == 3 and argv[1] == "full":
        make_full(argv[2])
    elif len(argv) == 4 and argv[1] == "bad" and argv[2] in BAD_CASES:
        BAD_CASES[argv[2]](argv[3])
    elif len(argv) == 4 and argv[1] == "ok" and argv[2] in OK_CASES:
        OK_CASES[argv[2]](argv[3])
    elif len(argv) == 2 and argv[1] == "cases":
        print(" ".join(sorted(BAD_CASES)))
    elif len(argv) == 2 and argv[1] == "okcases":
        print(" ".join(sorted(OK_CASES)))
    elif len(argv) == 4 and argv[1] == "bench" and argv[3] in ("large", "many"):
        make_bench(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
