// SPDX-License-Identifier: Apache-2.0
// Crash context throughout: every function in this file may run in a fault handler.
#include "posix/modules_linux.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <initializer_list>

#include "core/writer.h"

namespace crashagent {
namespace posix {

namespace {

// Only the crash owner calls these, one at a time, so static buffers are safe.
char g_maps_chunk[16 * 1024];
char g_line[kPathCapacity + 256];

uint64_t parse_hex(const char*& p) {
    uint64_t v = 0;
    for (;; p++) {
        char c = *p;
        if (c >= '0' && c <= '9') v = v * 16 + static_cast<uint64_t>(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + static_cast<uint64_t>(c - 'a' + 10);
        else break;
    }
    return v;
}

// One maps line: "start-end perms offset dev inode   path".
void add_mapping(CrashRecord* r, const char* line) {
    const char* p = line;
    uint64_t start = parse_hex(p);
    if (*p++ != '-') return;
    uint64_t end = parse_hex(p);
    if (*p++ != ' ') return;
    bool executable = p[2] == 'x';
    p += 5;  // perms and space
    uint64_t offset = parse_hex(p);
    // Skip dev and inode to the path.
    for (int field = 0; field < 2; field++) {
        while (*p == ' ') p++;
        while (*p && *p != ' ') p++;
    }
    while (*p == ' ') p++;
    if (*p != '/' && !str_equal(p, "[vdso]")) return;
    // Deleted files are still the code that ran; keep the name as the kernel shows it.
    for (int i = r->module_count - 1; i >= 0; i--) {
        Module& m = r->modules[i];
        if (str_equal(m.path, p)) {
            if (end > m.end) m.end = end;
            if (offset == 0 && start < m.base) m.base = start;
            if (executable) m.executable = true;
            return;
        }
    }
    if (r->module_count >= kMaxModules) return;
    Module& m = r->modules[r->module_count++];
    m.base = start;  // mappings come in address order; the first is the file's start
    m.end = end;
    m.executable = executable;
    m.build_id[0] = m.pdb_name[0] = m.debug_id[0] = m.code_id[0] = '\0';
    str_copy(m.path, sizeof(m.path), p);
}

bool pread_all(int fd, void* out, size_t len, uint64_t offset) {
    char* dst = static_cast<char*>(out);
    while (len > 0) {
        ssize_t n = pread(fd, dst, len, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        dst += n;
        len -= static_cast<size_t>(n);
        offset += static_cast<uint64_t>(n);
    }
    return true;
}

Elf64_Shdr g_sections[64];
Elf64_Sym g_symbols[256];

struct SymbolHit {
    uint64_t value = 0;
    uint32_t name = 0;
    bool exact = false;
    bool found = false;
};

// Scans one symbol table for the function containing vaddr.
SymbolHit scan_symbols(int fd, const Elf64_Shdr& table, uint64_t vaddr) {
    SymbolHit best;
    if (table.sh_entsize != sizeof(Elf64_Sym)) return best;
    uint64_t count = table.sh_size / sizeof(Elf64_Sym);
    for (uint64_t i = 0; i < count && !best.exact;) {
        uint64_t n = count - i;
        if (n > sizeof(g_symbols) / sizeof(g_symbols[0])) n = sizeof(g_symbols) / sizeof(g_symbols[0]);
        if (!pread_all(fd, g_symbols, n * sizeof(Elf64_Sym), table.sh_offset + i * sizeof(Elf64_Sym))) break;
        for (uint64_t k = 0; k < n; k++) {
            const Elf64_Sym& s = g_symbols[k];
            int type = ELF64_ST_TYPE(s.st_info);
            if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || s.st_value > vaddr) continue;
            if (s.st_size > 0 && vaddr < s.st_value + s.st_size) {
                best = SymbolHit{s.st_value, s.st_name, true, true};
                break;
            }
            if (!best.found || s.st_value > best.value) best = SymbolHit{s.st_value, s.st_name, false, true};
        }
        i += n;
    }
    return best;
}

// The GNU build-id of the image mapped at base, read from memory through
// /proc/self/mem (an unmapped or unreadable page is an error there, not a fault), so it is the
// build that ran even when the file on disk was replaced since.
void read_build_id(int mem, Module* m) {
    Elf64_Ehdr eh;
    if (!pread_all(mem, &eh, sizeof(eh), m->base) || eh.e_ident[EI_MAG0] != ELFMAG0 ||
        eh.e_ident[EI_MAG1] != ELFMAG1 || eh.e_ident[EI_MAG2] != ELFMAG2 || eh.e_ident[EI_MAG3] != ELFMAG3 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64) {
        return;
    }
    Elf64_Phdr ph[64];
    if (!pread_all(mem, ph, eh.e_phnum * sizeof(Elf64_Phdr), m->base + eh.e_phoff)) return;
    // The load bias: base is where the lowest PT_LOAD (file offset 0) was mapped.
    uint64_t first_load = UINT64_MAX;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < first_load) first_load = ph[i].p_vaddr & ~uint64_t{0xfff};
    }
    if (first_load == UINT64_MAX) return;
    uint64_t bias = m->base - first_load;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_NOTE) continue;
        alignas(4) unsigned char notes[1024];
        size_t size = ph[i].p_filesz < sizeof(notes) ? ph[i].p_filesz : sizeof(notes);
        if (!pread_all(mem, notes, size, bias + ph[i].p_vaddr)) continue;
        for (size_t at = 0; at + sizeof(Elf64_Nhdr) <= size;) {
            Elf64_Nhdr nh;
            __builtin_memcpy(&nh, notes + at, sizeof(nh));
            size_t name_at = at + sizeof(nh);
            size_t desc_at = name_at + ((nh.n_namesz + 3u) & ~3u);
            size_t next = desc_at + ((nh.n_descsz + 3u) & ~3u);
            if (next > size || desc_at > size) break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && __builtin_memcmp(notes + name_at, "GNU", 4) == 0 &&
                nh.n_descsz > 0 && nh.n_descsz * 2 < sizeof(m->build_id)) {
                static const char kHex[] = "0123456789abcdef";
                for (uint32_t k = 0; k < nh.n_descsz; k++) {
                    m->build_id[2 * k] = kHex[notes[desc_at + k] >> 4];
                    m->build_id[2 * k + 1] = kHex[notes[desc_at + k] & 15];
                }
                m->build_id[2 * nh.n_descsz] = '\0';
                return;
            }
            at = next;
        }
    }
}

}  // namespace

void read_modules(CrashRecord* r) {
    r->module_count = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    size_t line_len = 0;
    for (;;) {
        ssize_t n = read(fd, g_maps_chunk, sizeof(g_maps_chunk));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) {
            char c = g_maps_chunk[i];
            if (c == '\n') {
                g_line[line_len] = '\0';
                add_mapping(r, g_line);
                line_len = 0;
            } else if (line_len + 1 < sizeof(g_line)) {
                g_line[line_len++] = c;
            }
        }
    }
    close(fd);
    // Data files (the CDS archive, locale files, lib/modules) are mapped too; keep code only.
    int kept = 0;
    for (int i = 0; i < r->module_count; i++) {
        if (!r->modules[i].executable) continue;
        if (kept != i) r->modules[kept] = r->modules[i];
        kept++;
    }
    r->module_count = kept;
    int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (mem < 0) return;
    for (int i = 0; i < r->module_count; i++) read_build_id(mem, &r->modules[i]);
    close(mem);
}

// Crash context.
bool find_symbol(const char* path, uint64_t base, uint64_t address, char* name, size_t capacity,
                 uint64_t* symbol_offset) {
    name[0] = '\0';
    if (path[0] != '/') return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = false;
    Elf64_Ehdr eh;
    if (pread_all(fd, &eh, sizeof(eh), 0) && eh.e_ident[EI_MAG0] == ELFMAG0 && eh.e_ident[EI_MAG1] == ELFMAG1 &&
        eh.e_ident[EI_MAG2] == ELFMAG2 && eh.e_ident[EI_MAG3] == ELFMAG3 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_phentsize == sizeof(Elf64_Phdr)) {
        // Load bias: the first PT_LOAD's page-aligned vaddr is what the file maps at base.
        uint64_t first_load = 0;
        for (uint16_t i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (!pread_all(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph))) break;
            if (ph.p_type == PT_LOAD) {
                first_load = ph.p_vaddr & ~(ph.p_align > 0 ? ph.p_align - 1 : 0);
                break;
            }
        }
        uint64_t vaddr = address - base + first_load;
        uint16_t shnum = eh.e_shnum < 64 ? eh.e_shnum : 64;
        if (shnum > 0 && pread_all(fd, g_sections, shnum * sizeof(Elf64_Shdr), eh.e_shoff)) {
            // The full symbol table names static functions too; the dynamic one survives strip.
            SymbolHit best;
            uint32_t strtab = 0;
            for (uint32_t type : {static_cast<uint32_t>(SHT_SYMTAB), static_cast<uint32_t>(SHT_DYNSYM)}) {
                for (uint16_t i = 0; i < shnum && !best.exact; i++) {
                    if (g_sections[i].sh_type != type || g_sections[i].sh_link >= shnum) continue;
                    SymbolHit hit = scan_symbols(fd, g_sections[i], vaddr);
                    if (hit.found && (!best.found || hit.exact || (!best.exact && hit.value > best.value))) {
                        best = hit;
                        strtab = g_sections[i].sh_link;
                    }
                }
                if (best.exact) break;
            }
            if (best.found) {
                const Elf64_Shdr& strings = g_sections[strtab];
                if (best.name < strings.sh_size) {
                    size_t n = capacity - 1;
                    if (n > strings.sh_size - best.name) n = strings.sh_size - best.name;
                    if (pread_all(fd, name, n, strings.sh_offset + best.name)) {
                        name[n] = '\0';
                        *symbol_offset = vaddr - best.value;
                        ok = name[0] != '\0';
                    }
                }
            }
        }
    }
    close(fd);
    if (!ok) name[0] = '\0';
    return ok;
}

}  // namespace posix
}  // namespace crashagent
