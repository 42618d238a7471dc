#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that every source file git tracks carries the project's SPDX line near its top.

    check_license_headers.py <repository>

Source files: C/C++ (.cpp, .h), Java, Python, shell and CMake. Without git or outside a checkout
there is nothing to list, and the check says so and is skipped (exit 77).
"""
import os
import subprocess
import sys

LINE = "SPDX-License-Identifier: Apache-2.0"
SUFFIXES = (".cpp", ".h", ".java", ".py", ".sh", ".cmake")


def is_source(path):
    return path.endswith(SUFFIXES) or os.path.basename(path) == "CMakeLists.txt" or path == ".ci/run"


def main():
    root = sys.argv[1]
    try:
        listed = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        print("check_license_headers.py: not a git checkout, nothing to check; skipped")
        return 77
    missing = []
    for path in filter(None, listed.stdout.decode().split("\0")):
        if not is_source(path) or not os.path.isfile(os.path.join(root, path)):
            continue
        with open(os.path.join(root, path), errors="replace") as f:
            head = [f.readline() for _ in range(3)]
        if not any(LINE in line for line in head):
            missing.append(path)
    if missing:
        print(f"FAIL: {len(missing)} source file(s) without '{LINE}' in their first lines:")
        print("\n".join("  " + p for p in missing))
        return 1
    print(f"PASS: every tracked source file carries '{LINE}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
