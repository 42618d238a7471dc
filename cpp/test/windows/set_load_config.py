#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Points a test DLL's load configuration directory at its exported _load_config_used.

    set_load_config.py <dll>

MSVC's linker fills that data directory from the _load_config_used symbol; GNU ld does not, so the
build of crashlib.dll does it here. Through it the loader finds (and randomises) the image's /GS
security cookie, and the agent finds the cookie to recognise /GS frames. The size written is the
structure's own Size field.
"""
import struct
import sys

from pe_file import PeFile

IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG = 10


def main(path):
    pe = PeFile(path)
    rva = pe.exports().get("_load_config_used")
    if rva is None:
        sys.exit(f"set_load_config.py: {path} exports no _load_config_used")
    size = struct.unpack_from("<I", pe.data, pe.offset(rva))[0]
    pe.set_directory(IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG, rva, size)
    pe.save()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
