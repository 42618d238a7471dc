# SPDX-License-Identifier: Apache-2.0
"""Reading and patching PE32+ files (the Windows test DLLs) for the Windows test scripts."""
import struct


class PeFile:
    """A PE32+ image file in memory: its sections, data directories and exports."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        pe = struct.unpack_from("<I", self.data, 0x3C)[0]
        optional_magic = struct.unpack_from("<H", self.data, pe + 24)[0]
        if self.data[pe:pe + 4] != b"PE\0\0" or optional_magic != 0x20B:
            raise ValueError(f"{path} is not a PE32+ file")
        self.sections = struct.unpack_from("<H", self.data, pe + 6)[0]
        optional_size = struct.unpack_from("<H", self.data, pe + 20)[0]
        self.optional = pe + 24
        self.section_table = self.optional + optional_size

    def directory_offset(self, index):
        """File offset of data directory entry `index` (RVA, size) in the optional header."""
        return self.optional + 112 + 8 * index

    def directory(self, index):
        return struct.unpack_from("<II", self.data, self.directory_offset(index))

    def offset(self, rva):
        for i in range(self.sections):
            s = self.section_table + 40 * i
            size, address, raw_size, raw = struct.unpack_from("<IIII", self.data, s + 8)
            if address <= rva < address + max(size, raw_size):
                return rva - address + raw
        raise ValueError(f"rva {rva:#x} is in no section")

    def cstring(self, rva):
        o = self.offset(rva)
        return self.data[o:self.data.index(b"\0", o)].decode()

    def exports(self):
        """{name: rva} of the exported functions and data, read from the export directory."""
        export_rva = self.directory(0)[0]
        d = self.offset(export_rva)
        count_functions, count_names, functions, names, ordinals = struct.unpack_from("<IIIII", self.data, d + 20)
        result = {}
        for i in range(count_names):
            name = self.cstring(struct.unpack_from("<I", self.data, self.offset(names) + 4 * i)[0])
            ordinal = struct.unpack_from("<H", self.data, self.offset(ordinals) + 2 * i)[0]
            result[name] = struct.unpack_from("<I", self.data, self.offset(functions) + 4 * ordinal)[0]
        return result

    def set_directory(self, index, rva, size):
        struct.pack_into("<II", self.data, self.directory_offset(index), rva, size)

    def save(self):
        with open(self.path, "wb") as f:
            f.write(self.data)


def pe_exports(path):
    """{name: rva} of a PE file's exports."""
    return PeFile(path).exports()


def pe_identity(path):
    """(code_id, debug_id, pdb_name) as symbol servers key the image, read from the file: the
    reports' modules[] must say the same. debug_id and pdb_name are None without a CodeView record."""
    pe = PeFile(path)
    coff = pe.optional - 20
    time_stamp = struct.unpack_from("<I", pe.data, coff + 4)[0]
    image_size = struct.unpack_from("<I", pe.data, pe.optional + 56)[0]
    code_id = f"{time_stamp:08X}{image_size:x}"
    rva, size = pe.directory(6)
    if not rva:
        return code_id, None, None
    base = pe.offset(rva)
    for i in range(size // 28):
        kind, data_size, data_rva = struct.unpack_from("<III", pe.data, base + 28 * i + 12)
        if kind != 2 or data_size < 24:
            continue
        o = pe.offset(data_rva)
        if pe.data[o:o + 4] != b"RSDS":
            continue
        d1, d2, d3 = struct.unpack_from("<IHH", pe.data, o + 4)
        d4 = bytes(pe.data[o + 12:o + 20])
        age = struct.unpack_from("<I", pe.data, o + 20)[0]
        name = bytes(pe.data[o + 24:o + data_size]).split(b"\0")[0].decode()
        return code_id, f"{d1:08X}{d2:04X}{d3:04X}{d4.hex().upper()}{age:X}", name or None
    return code_id, None, None
