#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the crash-context rule on the core library: whatever crashagent_core calls outside itself
must be safe in a signal handler or a vectored exception handler.

    check_crash_context.py <nm> <libcrashagent_core.a> <cpp/src/platform.h>

Allowed: the few C library functions the compiler itself emits or that are async-signal-safe by
any reading (memcpy, memset, memmove, strlen), and the platform functions platform.h declares in
its crash-context section. Anything else (malloc, snprintf, a lock, a normal-context platform
function) fails the check and is named.
"""
import re
import subprocess
import sys

LIBC = {"memcpy", "memset", "memmove", "strlen"}
# Symbols of the toolchain, not calls: the GOT on ELF, the stack protector's check.
TOOLCHAIN = {"_GLOBAL_OFFSET_TABLE_", "__stack_chk_fail", "__stack_chk_guard"}
# aarch64: gcc's outline atomics (-moutline-atomics, on by default), the std::atomic operations
# themselves: libgcc's lock-free helpers that pick LSE instructions or an LL/SC loop.
OUTLINE_ATOMICS = re.compile(r"__aarch64_(cas|swp|ldadd|ldclr|ldeor|ldset)(1|2|4|8|16)_(relax|acq|rel|acq_rel)")


def crash_context_platform_functions(header):
    """Names declared between platform.h's '--- Crash context' and '--- Normal context' banners."""
    text = open(header).read()
    start = text.index("// --- Crash context")
    end = text.index("// --- Normal context")
    names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", text[start:end]))
    return {n for n in names if n not in {"if", "return", "sizeof"}}


def symbols(nm, archive, which):
    out = subprocess.run([nm, "-C", which, archive], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        parts = line.split(None, 2) if which == "--defined-only" else line.split(None, 1)
        if not parts or line.endswith(":"):
            continue
        name = parts[-1]
        found.add(name.split("(")[0].strip())
    return found


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 64
    nm, archive, header = sys.argv[1:]
    allowed_platform = crash_context_platform_functions(header)
    defined = symbols(nm, archive, "--defined-only")
    problems = []
    for name in sorted(symbols(nm, archive, "--undefined-only") - defined):
        if name in LIBC or name in TOOLCHAIN or OUTLINE_ATOMICS.fullmatch(name):
            continue
        if name.startswith("crashagent::platform::"):
            function = name[len("crashagent::platform::"):]
            if function in allowed_platform or function == "kPathSeparator":
                continue
            problems.append(f"{name}: a platform function outside platform.h's crash-context section")
            continue
        problems.append(f"{name}: not on the allow-list of calls safe in crash context")
    if problems:
        print(f"check_crash_context.py: {archive} calls outside the crash-context rule:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"check_crash_context.py: {archive}: every outside call is allowed "
          f"({len(allowed_platform)} crash-context platform functions, {sorted(LIBC)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
