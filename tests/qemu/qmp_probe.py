#!/usr/bin/env python3
"""qmp_probe.py - an independent look at a running QEMU, to hold layerhost's
`status --json` against what the VM really holds.

    qmp_probe.py agree CONTROL_SOCKET STATUS_JSON VM_STATUS_JSON
        exit 0 when every SCSI disk, pmem device and share the status lists
        is in QEMU at its place, read-only as listed, on its file, and QEMU
        holds nothing else of layerhost's (pmem devices awaiting removal,
        which `vm status` lists, excepted); else print each difference.
    qmp_probe.py devices CONTROL_SOCKET
        print the layerhost devices QEMU holds, one per line.

It speaks QMP itself (no layerhost code), over the VM's control monitor.
"""
import json
import socket
import sys


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError("%s: %s" % (name, reply["error"]["desc"]))
            return reply["return"]


def qemu_devices(q):
    """layerhost's devices in QEMU: {id: properties}."""
    found = {}
    peripherals = {p["name"] for p in q.cmd("qom-list", path="/machine/peripheral")}
    blocks = {b.get("qdev", ""): b for b in q.cmd("query-block")}
    for name in sorted(peripherals):
        if name.startswith("disk"):
            path = "/machine/peripheral/" + name
            b = blocks.get(name) or blocks.get(path + "/virtio-backend") or {}
            inserted = b.get("inserted", {})
            image = inserted.get("image", {})
            while image.get("backing-image"):
                image = image["backing-image"]
            found[name] = {
                "lun": q.cmd("qom-get", path=path, property="lun"),
                "ro": inserted.get("ro"),
                "file": inserted.get("file") or image.get("filename"),
            }
        elif name.startswith("fs-"):
            found[name] = {"tag": q.cmd("qom-get", path="/machine/peripheral/" + name,
                                        property="tag")}
    for dev in q.cmd("query-memory-devices"):
        data = dev.get("data", {})
        if dev.get("type") == "virtio-pmem" and data.get("id", "").startswith("pmem"):
            found[data["id"]] = {"size": data.get("size")}
    return found


def file_of(qemu_file):
    """query-block's file may be json:{...} for a format over a protocol."""
    if qemu_file and qemu_file.startswith("json:"):
        inner = json.loads(qemu_file[5:])
        return inner.get("file", {}).get("filename", qemu_file)
    return qemu_file


def agree(control, status_path, vm_status_path):
    with open(status_path) as f:
        status = json.load(f)
    with open(vm_status_path) as f:
        vm_status = json.load(f)
    q = Qmp(control)
    qemu = qemu_devices(q)
    expected = {}
    problems = []
    for backend in status.get("backends", []):
        for a in backend.get("attachments", []):
            loc = a["location"]
            if backend["name"] == "scsi":
                c, l = loc.split(":")
                expected["disk%s-%s" % (c, l)] = a
            elif backend["name"] == "vpmem":
                expected["pmem" + loc[1:].split("@")[0]] = a
            elif backend["name"] == "vsmb":
                expected["fs-" + loc] = a
    for n in vm_status.get("pending_removal", []):
        expected.setdefault("pmem" + n, {"pending": True})
    for dev, a in expected.items():
        got = qemu.get(dev)
        if got is None:
            problems.append("%s: listed by layerhost (%s), not in QEMU" %
                            (dev, a.get("host_path", "awaiting removal")))
            continue
        if dev.startswith("disk"):
            if got["ro"] != a["read_only"]:
                problems.append("%s: read-only %s in QEMU, %s in status" %
                                (dev, got["ro"], a["read_only"]))
            if file_of(got["file"]) != a["host_path"]:
                problems.append("%s: file %s in QEMU, %s in status" %
                                (dev, got["file"], a["host_path"]))
            if str(got["lun"]) != dev.split("-")[1]:
                problems.append("%s: at LUN %s" % (dev, got["lun"]))
        if dev.startswith("fs-") and got["tag"] != dev[3:]:
            problems.append("%s: tag %s" % (dev, got["tag"]))
    for dev in qemu:
        if dev not in expected:
            problems.append("%s: in QEMU, not listed by layerhost" % dev)
    for p in problems:
        print(p)
    return 0 if not problems else 1


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "agree":
        return agree(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) == 3 and sys.argv[1] == "devices":
        for dev, props in sorted(qemu_devices(Qmp(sys.argv[2])).items()):
            print(dev, json.dumps(props, sort_keys=True))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
