#!/usr/bin/env python3
"""test_backend_page.py BACKEND_H PAGE - layerhost-backend(7) documents the
ABI the header defines: every member of every struct in its subsection
(".Ss ... struct NAME"), and for the versioned tables (lh_backend,
lh_host_services, lh_gob_codec, lh_option) each member marked with the ABI
version that added it (".It Va member Pq vN"), as the header's "end of
ABI vN" comments place it.
"""
import re
import sys

header_path, page_path = sys.argv[1:3]
header = open(header_path).read()
page = open(page_path).read()
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, file=sys.stderr)


def members(struct):
    """[(name, abi version)] of `struct NAME { ... };` in the header."""
    match = re.search(r"^struct %s \{\n(.*?)^\};" % struct, header, re.M | re.S)
    if not match:
        fail("backend.h has no struct " + struct)
        return []
    version, found = 1, []
    # Split at the version markers first, then drop the other comments.
    for part in re.split(r"(/\*[^*]*end of ABI v\d.*?\*/)", match.group(1), flags=re.S):
        marker = re.search(r"end of ABI v(\d)", part)
        if marker and part.startswith("/*"):
            version = int(marker.group(1)) + 1
            continue
        body = re.sub(r"/\*.*?\*/", "", part, flags=re.S)
        body = re.sub(r"__attribute__\s*\(\(.*?\)\)", "", body, flags=re.S)
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if pointer:
                found.append((pointer.group(1), version))
                continue
            decl = re.sub(r"\[[^]]*\]", "", decl)
            first, *rest = decl.split(",")
            for part_name in [first] + rest:
                found.append((re.findall(r"\w+", part_name)[-1], version))
    return found


versioned = ["lh_backend", "lh_host_services", "lh_gob_codec", "lh_option"]
plain = ["lh_attach_request", "lh_attach_result", "lh_attachment_info", "lh_uvm_info",
         "lh_vm_needs", "lh_clone_request", "lh_disk_info", "lh_error"]
checked = 0
for struct in versioned + plain:
    section = re.search(r"^\.Ss [^\n]*struct %s\n(.*?)(?=^\.Ss |^\.Sh )" % struct, page,
                        re.M | re.S)
    if not section:
        fail("layerhost-backend(7) has no subsection for struct " + struct)
        continue
    items = dict(re.findall(r"^\.It Va (\w+)(?: Pq v(\d))?$", section.group(1), re.M))
    declared = members(struct)
    for name, version in declared:
        checked += 1
        if name not in items:
            fail("struct %s: member %s is not documented" % (struct, name))
        elif struct in versioned and items[name] != str(version):
            fail("struct %s: %s is marked v%s, the header adds it in v%d"
                 % (struct, name, items[name] or "?", version))
    for name in set(items) - {n for n, _ in declared}:
        fail("struct %s: the page documents %s, which the header does not have" % (struct, name))

if failures:
    print("%d failed" % len(failures))
    sys.exit(1)
print("layerhost-backend(7) documents all %d members of %d structs, with their ABI versions"
      % (checked, len(versioned + plain)))
