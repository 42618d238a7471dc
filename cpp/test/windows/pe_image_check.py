#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks windows/pe_image on real modules: what it reads from each DLL, loaded under Wine
(pe_image_tests.exe --identity), must be what the file on disk says (pe_file.py): the identity
symbol servers key it by, the load configuration's security cookie, and every named export, each
found again as the nearest export at its own address.

    pe_image_check.py <wine-run.sh> <pe_image_tests.exe> <dll>...
"""
import os
import struct
import subprocess
import sys
import tempfile

from pe_file import PeFile, pe_identity

IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG = 10
SECURITY_COOKIE_OFFSET = 0x58  # IMAGE_LOAD_CONFIG_DIRECTORY64.SecurityCookie


def windows_path(path):
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def expected_cookie_rva(path):
    pe = PeFile(path)
    rva, size = pe.directory(IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG)
    if not rva or size < SECURITY_COOKIE_OFFSET + 8:
        return None
    image_base = struct.unpack_from("<Q", pe.data, pe.optional + 24)[0]
    return struct.unpack_from("<Q", pe.data, pe.offset(rva) + SECURITY_COOKIE_OFFSET)[0] - image_base


def parse(output):
    modules, current = [], None
    for line in output.replace("\r", "").splitlines():
        key, _, value = line.partition(" ")
        if key == "module":
            current = {"exports": {}}
            modules.append(current)
        elif key == "export":
            rva, name, _, nearest, offset = value.split(" ")
            current["exports"][name] = (int(rva, 16), nearest, int(offset, 16))
        elif current is not None:
            current[key] = value
    return modules


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 64
    wine_run, tests, dlls = sys.argv[1], sys.argv[2], sys.argv[3:]
    # Output goes to a file, not a pipe: a wineserver that the run starts inherits it and may
    # outlive the run.
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.run([wine_run, tests, "--identity"] + [windows_path(d) for d in dlls],
                           stdout=out, stderr=subprocess.STDOUT, timeout=90)
        out.seek(0)
        output = out.read()
    modules = parse(output)
    problems = []
    if p.returncode != 0 or len(modules) != len(dlls):
        problems.append(f"pe_image_tests.exe --identity: exit status {p.returncode}, {len(modules)} modules\n{output}")
    for dll, found in zip(dlls, modules):
        name = os.path.basename(dll)
        code_id, debug_id, pdb_name = pe_identity(dll)
        expected = {"valid": "1", "code_id": code_id, "debug_id": debug_id or "-", "pdb_name": pdb_name or "-"}
        cookie = expected_cookie_rva(dll)
        expected["cookie_rva"] = f"{cookie:x}" if cookie is not None else "-"
        for key, value in expected.items():
            if found.get(key) != value:
                problems.append(f"{name}: {key} {found.get(key)!r}, the file says {value!r}")
        exports = PeFile(dll).exports()
        if set(found["exports"]) != set(exports):
            problems.append(f"{name}: exports {sorted(set(found['exports']) ^ set(exports))} differ from the file's")
        for export, (rva, nearest, offset) in found["exports"].items():
            if exports.get(export) != rva:
                problems.append(f"{name}: {export} at {rva:#x}, the file says {exports.get(export)}")
            if offset != 0 or exports.get(nearest) != rva:
                problems.append(f"{name}: the nearest export at {export}'s address is {nearest}+{offset:#x}")
        print(f"{name}: code_id {found.get('code_id')}, debug_id {found.get('debug_id')}, "
              f"cookie_rva {found.get('cookie_rva')}, {len(found['exports'])} exports")
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
