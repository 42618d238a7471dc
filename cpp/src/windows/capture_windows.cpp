// SPDX-License-Identifier: Apache-2.0
// Windows crash capture: ownership decisions, stack walks, modules and export names.
// All of it runs in crash context. The stack walks use RtlLookupFunctionEntry/RtlVirtualUnwind,
// the same primitives the OS's own exception dispatcher uses while the exception is in flight.
#include "windows/capture_windows.h"

#include <atomic>
#include <cstddef>

#include "core/crash_flow.h"
#include "core/jvm_code.h"
#include "core/native_calls.h"
#include "core/native_methods.h"
#include "core/writer.h"

namespace crashagent {
namespace platform {
namespace win {

KnownModules g_known = {0, 0};

namespace {

constexpr int kMaxJudgedFrames = 4096;
constexpr int kMaxLoaderEntries = 4096;  // bounds a loader list that changes under the walk
constexpr size_t kMaxNameChars = 512;

// The x64 layout of the loader structures the walk reads (PEB_LDR_DATA, LDR_DATA_TABLE_ENTRY).
// winternl.h hides most of these fields; the layout has been stable since Windows XP x64.
constexpr uint64_t kPebLdrOffset = 0x18;
constexpr uint64_t kLdrInLoadOrderOffset = 0x10;

struct CountedWideString {
    uint16_t length;           // bytes, without the terminator
    uint16_t maximum_length;
    uint32_t padding;
    uint64_t buffer;
};

struct LoaderEntry {
    uint64_t in_load_order_next;
    uint64_t in_load_order_prev;
    uint64_t in_memory_order[2];
    uint64_t in_init_order[2];
    uint64_t dll_base;
    uint64_t entry_point;
    uint32_t size_of_image;
    uint32_t padding;
    CountedWideString full_name;
    CountedWideString base_name;
};
static_assert(offsetof(LoaderEntry, dll_base) == 0x30, "LDR_DATA_TABLE_ENTRY layout");
static_assert(offsetof(LoaderEntry, full_name) == 0x48, "LDR_DATA_TABLE_ENTRY layout");
static_assert(offsetof(LoaderEntry, base_name) == 0x58, "LDR_DATA_TABLE_ENTRY layout");

// Crash context. gs:[0x30] is the TEB's own address, gs:[0x60] the PEB's (x64). Read with inline
// assembly: gcc 12 flags mingw's __readgsqword with a false array-bounds warning.
const NT_TIB* current_tib() {
    uint64_t teb;
    __asm__("movq %%gs:0x30, %0" : "=r"(teb));
    return reinterpret_cast<const NT_TIB*>(teb);
}

// Crash context.
uint64_t current_peb() {
    uint64_t peb;
    __asm__("movq %%gs:0x60, %0" : "=r"(peb));
    return peb;
}

// Crash context. Copies memory that may be unmapped or freed meanwhile; fails instead of faulting.
bool safe_read(uint64_t address, void* out, size_t size) {
    SIZE_T got = 0;
    return ReadProcessMemory(GetCurrentProcess(), reinterpret_cast<const void*>(address), out, size, &got) &&
           got == size;
}

// Crash context. Converts UTF-16 (possibly unpaired surrogates) to UTF-8, truncating.
void utf16_to_utf8(const uint16_t* in, size_t count, char* out, size_t capacity) {
    size_t n = 0;
    auto put = [&](char c) {
        if (n + 1 < capacity) out[n++] = c;
    };
    for (size_t i = 0; i < count; i++) {
        uint32_t c = in[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < count && in[i + 1] >= 0xDC00 && in[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (in[i + 1] - 0xDC00);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        // Never split a sequence at the end of the buffer.
        size_t need = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (n + need >= capacity) break;
        if (need == 1) {
            put(static_cast<char>(c));
        } else if (need == 2) {
            put(static_cast<char>(0xC0 | (c >> 6)));
            put(static_cast<char>(0x80 | (c & 0x3F)));
        } else if (need == 3) {
            put(static_cast<char>(0xE0 | (c >> 12)));
            put(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
            put(static_cast<char>(0x80 | (c & 0x3F)));
        } else {
            put(static_cast<char>(0xF0 | (c >> 18)));
            put(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
            put(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
            put(static_cast<char>(0x80 | (c & 0x3F)));
        }
    }
    if (capacity) out[n] = '\0';
}

// Crash context.
bool read_wide_name(const CountedWideString& name, char* out, size_t capacity) {
    uint16_t wide[kMaxNameChars];
    size_t chars = name.length / 2;
    if (chars > kMaxNameChars) chars = kMaxNameChars;
    if (chars == 0 || !name.buffer || !safe_read(name.buffer, wide, chars * 2)) return false;
    utf16_to_utf8(wide, chars, out, capacity);
    return true;
}

// Walks the loader's in-load-order list without the loader lock (a thread holding it may be the
// one that crashed). Every read is a safe read and the walk is bounded, so a list that changes
// meanwhile costs at most an incomplete result. Crash context.
template <typename Visit>
void for_each_loaded_module(Visit visit) {
    uint64_t peb = current_peb();
    uint64_t ldr = 0;
    if (!safe_read(peb + kPebLdrOffset, &ldr, sizeof(ldr)) || !ldr) return;
    uint64_t head = ldr + kLdrInLoadOrderOffset;
    uint64_t link = 0;
    if (!safe_read(head, &link, sizeof(link))) return;
    for (int i = 0; i < kMaxLoaderEntries && link && link != head; i++) {
        LoaderEntry entry;
        if (!safe_read(link, &entry, sizeof(entry))) return;
        if (entry.dll_base && !visit(entry)) return;
        link = entry.in_load_order_next;
    }
}

// --- Module kinds, remembered across exceptions ---------------------------------------------------
// Finding a module's name walks the loader list with one ReadProcessMemory per entry. That is cheap
// on Windows, but under Wine every such read is a round trip to wineserver, and a library that
// catches its own faults in a loop would pay the walk for every fault (about 4 ms each). So the
// kind of a module is remembered by its base address, together with its PE header's time stamp and
// image size; a later lookup re-reads those two (one read) and uses the remembered kind only if they
// still match, so a different module loaded at the same base after an unload is walked afresh.
// Lock-free: a slot is claimed with a compare-exchange on its base and published by `ready`.

// What tells one image from another loaded later at the same base.
struct ImageIdentity {
    uint32_t nt_offset;
    uint32_t time_stamp;
    uint32_t image_size;
};

// Crash context.
bool same_image(const ImageIdentity& a, const ImageIdentity& b) {
    return a.time_stamp == b.time_stamp && a.image_size == b.image_size;
}

constexpr int kModuleKindSlots = 64;

struct ModuleKindSlot {
    std::atomic<uint64_t> base;
    std::atomic<int> ready;
    ImageIdentity identity;
    CodeKind kind;
};
ModuleKindSlot g_module_kinds[kModuleKindSlots];

// Crash context. Reads the identity of the image at base, given where its NT headers are.
bool read_image_identity(uint64_t base, uint32_t nt_offset, ImageIdentity* out) {
    uint8_t nt[0x58];  // signature, file header, optional header up to SizeOfImage
    if (!safe_read(base + nt_offset, nt, sizeof(nt))) return false;
    uint32_t signature = 0;
    __builtin_memcpy(&signature, nt, 4);
    if (signature != IMAGE_NT_SIGNATURE) return false;
    out->nt_offset = nt_offset;
    __builtin_memcpy(&out->time_stamp, nt + 4 + offsetof(IMAGE_FILE_HEADER, TimeDateStamp), 4);
    __builtin_memcpy(&out->image_size, nt + 4 + sizeof(IMAGE_FILE_HEADER) + offsetof(IMAGE_OPTIONAL_HEADER64, SizeOfImage),
                     4);
    return true;
}

// Crash context.
bool remembered_kind(uint64_t base, CodeKind* kind) {
    for (auto& slot : g_module_kinds) {
        if (slot.base.load(std::memory_order_acquire) != base || !slot.ready.load(std::memory_order_acquire)) continue;
        ImageIdentity now;
        if (!read_image_identity(base, slot.identity.nt_offset, &now) || !same_image(now, slot.identity)) return false;
        *kind = slot.kind;
        return true;
    }
    return false;
}

// Crash context.
void remember_kind(uint64_t base, CodeKind kind) {
    IMAGE_DOS_HEADER dos;
    ImageIdentity identity;
    if (!safe_read(base, &dos, sizeof(dos)) || dos.e_magic != IMAGE_DOS_SIGNATURE ||
        !read_image_identity(base, static_cast<uint32_t>(dos.e_lfanew), &identity)) {
        return;
    }
    for (auto& slot : g_module_kinds) {
        uint64_t expected = 0;
        if (!slot.base.compare_exchange_strong(expected, base, std::memory_order_acq_rel)) continue;
        slot.identity = identity;
        slot.kind = kind;
        slot.ready.store(1, std::memory_order_release);
        return;
    }
    // Every slot taken: the module is walked each time, as before.
}

// Crash context.
CodeKind classify_module(uint64_t base) {
    if (base == g_known.agent_base) return CodeKind::kAgent;
    if (base == g_known.jvm_base) return CodeKind::kJvm;
    CodeKind kind = CodeKind::kOther;
    if (remembered_kind(base, &kind)) return kind;
    char name[128];
    if (!module_base_name(base, name, sizeof(name))) return CodeKind::kOther;  // not remembered: may be loading
    if (str_equal_nocase(name, "jvm.dll")) {
        kind = CodeKind::kJvm;
    } else if (is_system_module(name)) {
        kind = CodeKind::kSystem;
    }
    remember_kind(base, kind);
    return kind;
}

// Module bases seen during one walk, so a deep stack in a few modules costs a few lookups.
struct KindCache {
    uint64_t base[8];
    CodeKind kind[8];
    int count = 0;
};

// Crash context.
CodeKind classify_cached(uint64_t pc, KindCache* cache) {
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(reinterpret_cast<const void*>(pc), &info, sizeof(info)) == 0 || info.Type != MEM_IMAGE) {
        DWORD64 image_base = 0;
        return RtlLookupFunctionEntry(pc, &image_base, nullptr) ? CodeKind::kJitCode : CodeKind::kUnknown;
    }
    uint64_t base = reinterpret_cast<uint64_t>(info.AllocationBase);
    for (int i = 0; i < cache->count; i++) {
        if (cache->base[i] == base) return cache->kind[i];
    }
    CodeKind kind = classify_module(base);
    if (cache->count < 8) {
        cache->base[cache->count] = base;
        cache->kind[cache->count] = kind;
        cache->count++;
    }
    return kind;
}

bool image_readable(uint64_t address, size_t size);

// What RtlVirtualUnwind says about a frame's language-specific exception handler.
struct FrameHandler {
    uint64_t routine;     // 0: none
    const void* data;     // the language-specific handler data
    uint64_t image_base;
    uint64_t pc;          // the frame's pc: the fault pc, or the return address
    uint64_t establisher; // the frame's establisher frame (its rsp, or frame register - offset)
    uint64_t frame_pointer_offset;  // UNWIND_INFO FrameOffset * 16 when it has a frame register
    StackBounds stack;
};

// One step up the stack. Returns false when the walk cannot go on (end of stack, a frame outside
// the stack, or code without unwind data above the fault frame). handler receives the frame's
// exception handler, the one dispatch would call. Crash context.
bool unwind_step(CONTEXT* c, StackBounds stack, bool first_frame, FrameHandler* handler) {
    uint64_t old_sp = c->Rsp;
    DWORD64 image_base = 0;
    PRUNTIME_FUNCTION entry = RtlLookupFunctionEntry(c->Rip, &image_base, nullptr);
    handler->routine = 0;
    handler->data = nullptr;
    handler->image_base = image_base;
    handler->pc = c->Rip;
    handler->establisher = 0;
    handler->frame_pointer_offset = 0;
    handler->stack = stack;
    if (entry) {
        void* handler_data = nullptr;
        DWORD64 establisher = 0;
        // UNWIND_INFO byte 3: FrameRegister (low nibble), FrameOffset (high nibble, in 16 bytes).
        uint8_t frame_byte = 0;
        uint64_t unwind_info = image_base + entry->UnwindData;
        if (image_readable(unwind_info + 3, 1)) frame_byte = *reinterpret_cast<const uint8_t*>(unwind_info + 3);
        handler->routine = reinterpret_cast<uint64_t>(RtlVirtualUnwind(
            UNW_FLAG_EHANDLER, image_base, c->Rip, entry, c, &handler_data, &establisher, nullptr));
        handler->data = handler_data;
        handler->establisher = establisher;
        if (frame_byte & 0x0F) handler->frame_pointer_offset = (frame_byte >> 4) * 16ull;
    } else {
        // Leaf function (no frame, return address on top), or a wild pc reached by a call: in
        // both cases [rsp] is the return address. Anywhere else it would be a guess.
        if (!first_frame && image_base == 0) {
            MEMORY_BASIC_INFORMATION info;
            if (VirtualQuery(reinterpret_cast<const void*>(c->Rip), &info, sizeof(info)) == 0 ||
                info.Type != MEM_IMAGE) {
                return false;
            }
        }
        if (c->Rsp < stack.low || c->Rsp + 8 > stack.high) return false;
        c->Rip = *reinterpret_cast<const DWORD64*>(c->Rsp);
        c->Rsp += 8;
    }
    if (c->Rip == 0) return false;
    return c->Rsp > old_sp && c->Rsp >= stack.low && c->Rsp < stack.high;
}

// --- Language handlers that never catch an access violation ----------------------------------------
// UNW_FLAG_EHANDLER is set for far more functions than those with a __try/__except: MSVC sets it
// for every function with a /GS cookie (__GSHandlerCheck*) and every /EHsc function with a
// destructor (__CxxFrameHandler3/4), GCC for every function with a cleanup or a try
// (__gxx_personality_seh0). Counting all of them as "may catch" would defer most crash reports to
// the process exit, after hs_err and without listeners. So the handler is identified, and only
// handlers that can catch the fault count.

enum class HandlerKind : int {
    kUnknown = 0,       // anything else: it may catch
    kCSpecific,         // __C_specific_handler: __try/__except and __try/__finally scopes
    kGsCheck,           // __GSHandlerCheck: checks the cookie, never handles
    kGsCheckSeh,        // __GSHandlerCheck_SEH: the cookie, then __C_specific_handler
    kGsCheckEh3,        // __GSHandlerCheck_EH: the cookie, then __CxxFrameHandler3
    kGsCheckEh4,        // __GSHandlerCheck_EH4: the cookie, then __CxxFrameHandler4
    kCxx3,              // __CxxFrameHandler3
    kCxx4,              // __CxxFrameHandler4
    kGcc,               // GCC's SEH personalities (libgcc's _GCC_specific_handler)
};

struct NamedHandler {
    const char* name;
    HandlerKind kind;
};
constexpr NamedHandler kNamedHandlers[] = {
    {"__C_specific_handler", HandlerKind::kCSpecific},
    {"__GSHandlerCheck", HandlerKind::kGsCheck},
    {"__GSHandlerCheck_SEH", HandlerKind::kGsCheckSeh},
    {"__GSHandlerCheck_EH", HandlerKind::kGsCheckEh3},
    {"__GSHandlerCheck_EH4", HandlerKind::kGsCheckEh4},
    {"__CxxFrameHandler3", HandlerKind::kCxx3},
    {"__CxxFrameHandler4", HandlerKind::kCxx4},
    {"__gxx_personality_seh0", HandlerKind::kGcc},
    {"__gcc_personality_seh0", HandlerKind::kGcc},
    {"_GCC_specific_handler", HandlerKind::kGcc},
};
constexpr int kNamedHandlerCount = sizeof(kNamedHandlers) / sizeof(kNamedHandlers[0]);

// Addresses of those functions in the runtime DLLs loaded at start (GetProcAddress, normal context).
constexpr int kKnownHandlerSlots = 64;
uint64_t g_known_handler_address[kKnownHandlerSlots];
HandlerKind g_known_handler_kind[kKnownHandlerSlots];
int g_known_handler_count = 0;

// Handlers identified during earlier exceptions, by address, validated by their module's identity.
constexpr int kHandlerKindSlots = 64;
struct HandlerKindSlot {
    std::atomic<uint64_t> address;
    std::atomic<int> ready;
    uint64_t module_base;
    ImageIdentity identity;
    HandlerKind kind;
};
HandlerKindSlot g_handler_kinds[kHandlerKindSlots];

// Crash context. True if [address, address + size) is committed, readable memory of a loaded image.
bool image_readable(uint64_t address, size_t size) {
    while (size > 0) {
        MEMORY_BASIC_INFORMATION info;
        if (VirtualQuery(reinterpret_cast<const void*>(address), &info, sizeof(info)) == 0) return false;
        if (info.State != MEM_COMMIT || info.Type != MEM_IMAGE || (info.Protect & (PAGE_NOACCESS | PAGE_GUARD))) {
            return false;
        }
        uint64_t end = reinterpret_cast<uint64_t>(info.BaseAddress) + info.RegionSize;
        if (end - address >= size) return true;
        size -= end - address;
        address = end;
    }
    return true;
}

// Crash context. The image base of the loaded module that contains address, or 0.
uint64_t image_base_of(uint64_t address) {
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(reinterpret_cast<const void*>(address), &info, sizeof(info)) == 0 || info.Type != MEM_IMAGE) {
        return 0;
    }
    return reinterpret_cast<uint64_t>(info.AllocationBase);
}

// Crash context. The kind of the handler that module `base` exports exactly at address.
HandlerKind exported_handler_kind(uint64_t base, uint64_t address) {
    IMAGE_DOS_HEADER dos;
    IMAGE_NT_HEADERS64 nt;
    if (!safe_read(base, &dos, sizeof(dos)) || dos.e_magic != IMAGE_DOS_SIGNATURE) return HandlerKind::kUnknown;
    if (!safe_read(base + static_cast<uint32_t>(dos.e_lfanew), &nt, sizeof(nt)) || nt.Signature != IMAGE_NT_SIGNATURE ||
        nt.OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC ||
        nt.OptionalHeader.NumberOfRvaAndSizes <= IMAGE_DIRECTORY_ENTRY_EXPORT) {
        return HandlerKind::kUnknown;
    }
    const IMAGE_DATA_DIRECTORY& dir = nt.OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    uint32_t image_size = nt.OptionalHeader.SizeOfImage;
    if (!dir.VirtualAddress || dir.Size < sizeof(IMAGE_EXPORT_DIRECTORY) || dir.VirtualAddress >= image_size ||
        !image_readable(base + dir.VirtualAddress, sizeof(IMAGE_EXPORT_DIRECTORY))) {
        return HandlerKind::kUnknown;
    }
    const auto* exports = reinterpret_cast<const IMAGE_EXPORT_DIRECTORY*>(base + dir.VirtualAddress);
    uint32_t names_count = exports->NumberOfNames;
    uint32_t functions_count = exports->NumberOfFunctions;
    if (names_count > 65536 || functions_count > 65536 ||
        !image_readable(base + exports->AddressOfFunctions, functions_count * 4ull) ||
        !image_readable(base + exports->AddressOfNames, names_count * 4ull) ||
        !image_readable(base + exports->AddressOfNameOrdinals, names_count * 2ull)) {
        return HandlerKind::kUnknown;
    }
    const auto* functions = reinterpret_cast<const uint32_t*>(base + exports->AddressOfFunctions);
    const auto* names = reinterpret_cast<const uint32_t*>(base + exports->AddressOfNames);
    const auto* ordinals = reinterpret_cast<const uint16_t*>(base + exports->AddressOfNameOrdinals);
    uint64_t rva = address - base;
    for (uint32_t i = 0; i < names_count; i++) {
        uint16_t ordinal = ordinals[i];
        if (ordinal >= functions_count || functions[ordinal] != rva) continue;
        uint32_t name_rva = names[i];
        if (name_rva >= image_size || !image_readable(base + name_rva, 32)) continue;
        const char* name = reinterpret_cast<const char*>(base + name_rva);
        for (const auto& known : kNamedHandlers) {
            if (str_equal(name, known.name)) return known.kind;
        }
    }
    return HandlerKind::kUnknown;
}

// Crash context. True if code at address starts like GCC's SEH personality routines
// (__gxx_personality_seh0, __gcc_personality_seh0, and the like of other GCC languages built the
// same way): they pass their four arguments on, with their language's personality as a fifth,
// to libgcc's _GCC_specific_handler:
//     [sub $n, %rsp]  lea p(%rip), %rax  mov %rax, m(%rsp)  call/jmp _GCC_specific_handler
// and _GCC_specific_handler compares the exception code with GCC's three codes (STATUS_GCC_THROW,
// _UNWIND, _FORCED; 0x2x474343) near its start. That is how a personality linked statically into
// a module, which no export table names, is recognised. GNAT's personality does more before the
// call (it turns access violations into Ada exceptions) and does not match.
bool looks_like_gcc_personality(uint64_t address) {
    uint8_t code[24];
    if (!image_readable(address, sizeof(code)) || !safe_read(address, code, sizeof(code))) return false;
    size_t i = 0;
    if (code[0] == 0x48 && code[1] == 0x83 && code[2] == 0xEC) i = 4;                       // sub $imm8, %rsp
    if (!(code[i] == 0x48 && code[i + 1] == 0x8D && code[i + 2] == 0x05)) return false;     // lea rel32(%rip), %rax
    i += 7;
    if (!(code[i] == 0x48 && code[i + 1] == 0x89 && code[i + 2] == 0x44 && code[i + 3] == 0x24)) return false;
    i += 5;                                                                                // mov %rax, imm8(%rsp)
    if (code[i] != 0xE8 && code[i] != 0xE9) return false;                                  // call/jmp rel32
    int32_t rel = 0;
    __builtin_memcpy(&rel, code + i + 1, 4);
    uint64_t target = address + i + 5 + static_cast<int64_t>(rel);
    uint8_t body[256];
    if (image_base_of(target) != image_base_of(address) || !image_readable(target, sizeof(body)) ||
        !safe_read(target, body, sizeof(body))) {
        return false;
    }
    int found = 0;
    for (uint8_t type = 0; type < 3; type++) {
        for (size_t k = 0; k + 4 <= sizeof(body); k++) {
            if (body[k] == 0x43 && body[k + 1] == 0x43 && body[k + 2] == 0x47 && body[k + 3] == 0x20 + type) {
                found++;
                break;
            }
        }
    }
    return found == 3;
}

// Crash context. What the handler routine at address is. Follows an import thunk
// (jmp *__imp_x(%rip)) to the function it jumps to, then looks the address up among the runtime
// functions found at start, in the export table of the module it is in, and finally by shape.
HandlerKind identify_handler(uint64_t address) {
    uint8_t thunk[7];
    if (image_readable(address, sizeof(thunk)) && safe_read(address, thunk, sizeof(thunk))) {
        size_t at = thunk[0] == 0x48 ? 1 : 0;  // rex.W jmp
        if (thunk[at] == 0xFF && thunk[at + 1] == 0x25) {
            int32_t rel = 0;
            __builtin_memcpy(&rel, thunk + at + 2, 4);
            uint64_t slot = address + at + 6 + static_cast<int64_t>(rel);
            uint64_t target = 0;
            if (safe_read(slot, &target, sizeof(target)) && target) address = target;
        }
    }
    for (int i = 0; i < g_known_handler_count; i++) {
        if (g_known_handler_address[i] == address) return g_known_handler_kind[i];
    }
    uint64_t base = image_base_of(address);
    if (!base) return HandlerKind::kUnknown;
    HandlerKind kind = exported_handler_kind(base, address);
    if (kind == HandlerKind::kUnknown && looks_like_gcc_personality(address)) kind = HandlerKind::kGcc;
    return kind;
}

// Crash context. The NT headers of the loaded image at base, read in place, or null: the caller
// knows the image is mapped (the frame being judged runs in it), and VirtualQuery confirms it.
// Unlike ReadProcessMemory, which is a wineserver round trip under Wine, this costs next to nothing.
const IMAGE_NT_HEADERS64* mapped_nt_headers(uint64_t base) {
    if (!image_readable(base, sizeof(IMAGE_DOS_HEADER))) return nullptr;
    const auto* dos = reinterpret_cast<const IMAGE_DOS_HEADER*>(base);
    if (dos->e_magic != IMAGE_DOS_SIGNATURE) return nullptr;
    uint64_t nt_address = base + static_cast<uint32_t>(dos->e_lfanew);
    if (!image_readable(nt_address, sizeof(IMAGE_NT_HEADERS64))) return nullptr;
    const auto* nt = reinterpret_cast<const IMAGE_NT_HEADERS64*>(nt_address);
    return nt->Signature == IMAGE_NT_SIGNATURE ? nt : nullptr;
}

// Crash context. The identity of the loaded image at base.
bool mapped_image_identity(uint64_t base, ImageIdentity* out) {
    const IMAGE_NT_HEADERS64* nt = mapped_nt_headers(base);
    if (!nt) return false;
    out->nt_offset = static_cast<uint32_t>(reinterpret_cast<uint64_t>(nt) - base);
    out->time_stamp = nt->FileHeader.TimeDateStamp;
    out->image_size = nt->OptionalHeader.SizeOfImage;
    return true;
}

// Crash context. identify_handler, remembered across exceptions: the export-table search is the
// costly part, and libraries that catch their own faults in a loop see the same handlers each time.
// An entry counts only while the module holding the handler is the same image (time stamp, size).
HandlerKind handler_kind(uint64_t address) {
    uint64_t base = image_base_of(address);
    ImageIdentity identity;
    if (!base || !mapped_image_identity(base, &identity)) return identify_handler(address);
    for (auto& slot : g_handler_kinds) {
        if (slot.address.load(std::memory_order_acquire) != address || !slot.ready.load(std::memory_order_acquire)) {
            continue;
        }
        if (slot.module_base == base && same_image(slot.identity, identity)) {
            return slot.kind;
        }
        break;
    }
    HandlerKind kind = identify_handler(address);
    for (auto& slot : g_handler_kinds) {
        uint64_t expected = 0;
        if (!slot.address.compare_exchange_strong(expected, address, std::memory_order_acq_rel)) continue;
        slot.module_base = base;
        slot.identity = identity;
        slot.kind = kind;
        slot.ready.store(1, std::memory_order_release);
        break;
    }
    return kind;
}

// Crash context. A C_SCOPE_TABLE (ULONG Count; {BeginAddress, EndAddress, HandlerAddress,
// JumpTarget} RVAs): a scope catches only if it covers the frame's pc and is a __try/__except
// (JumpTarget != 0; a __try/__finally has JumpTarget 0 and only runs during the unwind).
bool scope_table_may_catch(const FrameHandler& h, const void* table) {
    uint32_t count = 0;
    uint64_t at = reinterpret_cast<uint64_t>(table);
    if (!safe_read(at, &count, sizeof(count)) || count > 4096) return true;
    uint64_t rva = h.pc - h.image_base;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t scope[4];
        if (!safe_read(at + 4 + 16ull * i, scope, sizeof(scope))) return true;
        if (rva >= scope[0] && rva < scope[1] && scope[3] != 0) return true;
    }
    return false;
}

// Crash context. MSVC's C++ handlers: a function can catch an SEH exception only if it has try
// blocks and was not compiled with /EHs (synchronous exceptions: catch(...) then catches C++
// exceptions only). /EHa code with a catch(...) does catch an access violation.
bool cxx_may_catch(const FrameHandler& h, bool fh4) {
    uint32_t func_info_rva = 0;
    if (!safe_read(reinterpret_cast<uint64_t>(h.data), &func_info_rva, sizeof(func_info_rva))) return true;
    uint64_t func_info = h.image_base + func_info_rva;
    if (fh4) {
        // FuncInfo4 starts with a header byte: 0x08 unwind map, 0x10 try-block map, 0x20 /EHs.
        uint8_t header = 0;
        if (!safe_read(func_info, &header, 1)) return true;
        return (header & 0x10) && !(header & 0x20);
    }
    // FuncInfo: magic (low 29 bits), maxState, dispUnwindMap, nTryBlocks, dispTryBlockMap,
    // nIPMapEntries, dispIPToStateMap, dispUwindHelp, dispESTypeList, EHFlags (magic >= ...522).
    uint32_t f[10];
    if (!safe_read(func_info, f, sizeof(f))) return true;
    uint32_t magic = f[0] & 0x1FFFFFFF;
    if (magic < 0x19930520 || magic > 0x19930522) return true;
    if (f[3] == 0) return false;                      // no try blocks: destructors only
    return !(magic >= 0x19930522 && (f[9] & 1));      // FI_EHS_FLAG
}

// Crash context. The value of the /GS security cookie of the image at base, found through its load
// configuration directory (SecurityCookie, the address the loader randomises the cookie at), or 0
// when the image has none. Read in place, every range checked first.
uint64_t image_security_cookie(uint64_t base) {
    const IMAGE_NT_HEADERS64* nt = mapped_nt_headers(base);
    if (!nt || nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC ||
        nt->OptionalHeader.NumberOfRvaAndSizes <= IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG) {
        return 0;
    }
    const IMAGE_DATA_DIRECTORY& dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG];
    uint64_t image_size = nt->OptionalHeader.SizeOfImage;
    constexpr uint32_t kCookieEnd = offsetof(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie) + 8;
    if (!dir.VirtualAddress || dir.Size < kCookieEnd || dir.VirtualAddress + static_cast<uint64_t>(kCookieEnd) > image_size ||
        !image_readable(base + dir.VirtualAddress, kCookieEnd)) {
        return 0;
    }
    const auto* config = reinterpret_cast<const IMAGE_LOAD_CONFIG_DIRECTORY64*>(base + dir.VirtualAddress);
    uint64_t address = config->SecurityCookie;
    if (config->Size < kCookieEnd || address < base || address + 8 > base + image_size || !image_readable(address, 8)) {
        return 0;
    }
    return *reinterpret_cast<const uint64_t*>(address);
}

// Crash context. True if the GS_HANDLER_DATA at data matches the frame: the cookie slot it names,
// XORed with the frame pointer, holds the image's security cookie. That is the check MSVC's
// __GSHandlerCheckCommon makes.
bool gs_record_matches(const FrameHandler& h, uint64_t data, uint64_t cookie) {
    // CookieOffset with 3 flag bits below it; with HasAlignment, AlignedBaseOffset and Alignment.
    if (!image_readable(data, 4)) return false;
    const auto* gs = reinterpret_cast<const int32_t*>(data);
    constexpr int32_t kHasAlignment = 4;
    int32_t cookie_offset = gs[0] & ~7;
    // The cookie sits above the callee's 32-byte home area: the function calls the cookie check.
    if (cookie_offset < 32) return false;
    uint64_t frame_base = h.establisher;
    if (gs[0] & kHasAlignment) {
        if (!image_readable(data, 12)) return false;
        int64_t alignment = gs[2];
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) return false;
        frame_base = (h.establisher + static_cast<int64_t>(gs[1])) & ~static_cast<uint64_t>(alignment - 1);
    }
    uint64_t slot = frame_base + static_cast<uint64_t>(cookie_offset);
    // The slot is in a live frame above the fault, so committed, when it is inside the stack.
    if (slot < h.stack.low || slot + 8 > h.stack.high) return false;
    uint64_t stored = *reinterpret_cast<const uint64_t*>(slot);
    return (stored ^ (h.establisher + h.frame_pointer_offset)) == cookie;
}

// The /GS handlers of MSVC, recognised by their handler data rather than by name: they are always
// linked into the image whose security cookie they check, so no export table names them.
//   __GSHandlerCheck:          GS_HANDLER_DATA; only checks the cookie, never catches.
//   __GSHandlerCheck_SEH:      a C_SCOPE_TABLE, then GS_HANDLER_DATA; then __C_specific_handler.
//   __GSHandlerCheck_EH(4):    a FuncInfo RVA, then GS_HANDLER_DATA; then __CxxFrameHandler3/4.
// The second two pass the exception on only when the GS data's EHandler flag (bit 0) is set. A
// layout counts only if its GS record matches the frame, which a 64-bit random cookie makes
// certain; a frame whose cookie was overwritten (an overrun reaching the fault) is not recognised.
enum class GsShape { kNone, kPlain, kSeh, kEh };

// Crash context.
GsShape gs_frame_shape(const FrameHandler& h, bool* passes_on) {
    *passes_on = false;
    if (!h.data || !h.establisher || image_base_of(h.routine) != h.image_base) return GsShape::kNone;
    uint64_t cookie = image_security_cookie(h.image_base);
    if (!cookie) return GsShape::kNone;
    uint64_t data = reinterpret_cast<uint64_t>(h.data);
    if (!image_readable(data, 4)) return GsShape::kNone;
    // The layouts that may catch are tried first: should one ever pass for another, the frame
    // is then judged by its scope table or FuncInfo rather than called harmless.
    constexpr int32_t kEHandler = 1;
    uint32_t count = *reinterpret_cast<const uint32_t*>(data);
    uint64_t after_scopes = data + 4 + 16ull * count;
    if (count <= 4096 && image_readable(data, after_scopes + 4 - data) && gs_record_matches(h, after_scopes, cookie)) {
        *passes_on = *reinterpret_cast<const int32_t*>(after_scopes) & kEHandler;
        return GsShape::kSeh;
    }
    if (gs_record_matches(h, data + 4, cookie)) {
        *passes_on = *reinterpret_cast<const int32_t*>(data + 4) & kEHandler;
        return GsShape::kEh;
    }
    return gs_record_matches(h, data, cookie) ? GsShape::kPlain : GsShape::kNone;
}

// Crash context. True if the FuncInfo a frame's handler data names is FH3's (magic 0x1993052x);
// FH4's FuncInfo4 starts with a header byte instead.
bool func_info_is_fh3(const FrameHandler& h) {
    uint32_t rva = 0;
    uint32_t magic = 0;
    return safe_read(reinterpret_cast<uint64_t>(h.data), &rva, sizeof(rva)) &&
           safe_read(h.image_base + rva, &magic, sizeof(magic)) && (magic & 0x1FFFFFFF) >= 0x19930520 &&
           (magic & 0x1FFFFFFF) <= 0x19930522;
}

// Crash context. An unidentified handler may catch, unless its frame is one of MSVC's /GS shapes
// that cannot.
bool unknown_handler_may_catch(const FrameHandler& h) {
    bool passes_on = false;
    switch (gs_frame_shape(h, &passes_on)) {
        case GsShape::kPlain:
            return false;
        case GsShape::kSeh:
            return passes_on && scope_table_may_catch(h, h.data);
        case GsShape::kEh:
            return passes_on && cxx_may_catch(h, !func_info_is_fh3(h));
        case GsShape::kNone:
            break;
    }
    return true;
}

// Crash context. True if the frame's handler might catch the exception, so the fault cannot be
// called a crash yet.
bool handler_may_catch(const FrameHandler& h) {
    if (!h.routine) return false;
    switch (handler_kind(h.routine)) {
        case HandlerKind::kUnknown:
            return unknown_handler_may_catch(h);
        case HandlerKind::kGsCheck:
            return false;
        case HandlerKind::kCSpecific:
        case HandlerKind::kGsCheckSeh:
            return scope_table_may_catch(h, h.data);
        case HandlerKind::kCxx3:
        case HandlerKind::kGsCheckEh3:
            return cxx_may_catch(h, false);
        case HandlerKind::kCxx4:
        case HandlerKind::kGsCheckEh4:
            return cxx_may_catch(h, true);
        case HandlerKind::kGcc:
            // libgcc's _GCC_specific_handler returns ExceptionContinueSearch for every exception
            // code but GCC's own (STATUS_GCC_THROW/_UNWIND/_FORCED): "TODO: handling non-gcc
            // user-defined exceptions as foreign". So a mingw C++ catch(...) never catches an
            // access violation; the crashlib test (crash_in_cpp_try) shows it under Wine.
            return false;
    }
    return true;
}

// Crash context. Name of the export of module `base` that is closest below pc.
bool export_symbol(uint64_t base, uint64_t pc, char* out, size_t capacity, uint64_t* offset) {
    const auto* dos = reinterpret_cast<const IMAGE_DOS_HEADER*>(base);
    if (dos->e_magic != IMAGE_DOS_SIGNATURE) return false;
    const auto* nt = reinterpret_cast<const IMAGE_NT_HEADERS64*>(base + static_cast<uint32_t>(dos->e_lfanew));
    if (nt->Signature != IMAGE_NT_SIGNATURE || nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC) return false;
    if (nt->OptionalHeader.NumberOfRvaAndSizes <= IMAGE_DIRECTORY_ENTRY_EXPORT) return false;
    const IMAGE_DATA_DIRECTORY& dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (!dir.VirtualAddress || !dir.Size) return false;
    const auto* exports = reinterpret_cast<const IMAGE_EXPORT_DIRECTORY*>(base + dir.VirtualAddress);
    const auto* functions = reinterpret_cast<const uint32_t*>(base + exports->AddressOfFunctions);
    const auto* names = reinterpret_cast<const uint32_t*>(base + exports->AddressOfNames);
    const auto* ordinals = reinterpret_cast<const uint16_t*>(base + exports->AddressOfNameOrdinals);
    uint64_t rva = pc - base;
    uint32_t best_rva = 0;
    int64_t best = -1;
    for (uint32_t i = 0; i < exports->NumberOfNames; i++) {
        uint16_t ordinal = ordinals[i];
        if (ordinal >= exports->NumberOfFunctions) continue;
        uint32_t f = functions[ordinal];
        if (f >= dir.VirtualAddress && f < dir.VirtualAddress + dir.Size) continue;  // forwarder
        if (f <= rva && f >= best_rva && f != 0) {
            best_rva = f;
            best = i;
        }
    }
    if (best < 0) return false;
    str_copy(out, capacity, reinterpret_cast<const char*>(base + names[best]));
    *offset = rva - best_rva;
    return true;
}

// Crash context.
void read_registers(CrashRecord* r, const CONTEXT* c) {
    const struct {
        const char* name;
        uint64_t value;
    } regs[] = {
        {"rax", c->Rax}, {"rbx", c->Rbx}, {"rcx", c->Rcx}, {"rdx", c->Rdx}, {"rsi", c->Rsi}, {"rdi", c->Rdi},
        {"rbp", c->Rbp}, {"rsp", c->Rsp}, {"r8", c->R8},   {"r9", c->R9},   {"r10", c->R10}, {"r11", c->R11},
        {"r12", c->R12}, {"r13", c->R13}, {"r14", c->R14}, {"r15", c->R15}, {"rip", c->Rip}, {"eflags", c->EFlags},
    };
    for (const auto& reg : regs) {
        if (r->register_count >= kMaxRegisters) break;
        r->registers[r->register_count] = Register{reg.name, reg.value};
        r->register_count++;
    }
}

// Crash context. The identities symbol servers key a PE image by, from its mapped headers: the
// image's <TimeDateStamp><SizeOfImage>, and the CodeView (RSDS) record's PDB name and
// <GUID><age>. Every read is checked for readability first.
void read_pe_identity(Module* m) {
    m->pdb_name[0] = m->debug_id[0] = m->code_id[0] = '\0';
    const IMAGE_NT_HEADERS64* nt = mapped_nt_headers(m->base);
    if (!nt || nt->OptionalHeader.Magic != IMAGE_NT_OPTIONAL_HDR64_MAGIC) return;
    {
        StringSink sink{m->code_id, sizeof(m->code_id), 0};
        char buffer[24];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.hex_upper(nt->FileHeader.TimeDateStamp, 8);
        w.hex(nt->OptionalHeader.SizeOfImage);
        w.flush();
    }
    if (nt->OptionalHeader.NumberOfRvaAndSizes <= IMAGE_DIRECTORY_ENTRY_DEBUG) return;
    const IMAGE_DATA_DIRECTORY& dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_DEBUG];
    uint32_t count = dir.Size / sizeof(IMAGE_DEBUG_DIRECTORY);
    if (!dir.VirtualAddress || count == 0 || count > 32 || dir.VirtualAddress >= nt->OptionalHeader.SizeOfImage) return;
    uint64_t entries = m->base + dir.VirtualAddress;
    if (!image_readable(entries, count * sizeof(IMAGE_DEBUG_DIRECTORY))) return;
    for (uint32_t i = 0; i < count; i++) {
        const auto* d = reinterpret_cast<const IMAGE_DEBUG_DIRECTORY*>(entries) + i;
        if (d->Type != IMAGE_DEBUG_TYPE_CODEVIEW || d->SizeOfData < 24 || d->SizeOfData > 4096 || !d->AddressOfRawData ||
            d->AddressOfRawData >= nt->OptionalHeader.SizeOfImage) {
            continue;
        }
        uint64_t record = m->base + d->AddressOfRawData;
        if (!image_readable(record, d->SizeOfData)) continue;
        const auto* bytes = reinterpret_cast<const unsigned char*>(record);
        if (__builtin_memcmp(bytes, "RSDS", 4) != 0) continue;
        uint32_t data1, age;
        uint16_t data2, data3;
        __builtin_memcpy(&data1, bytes + 4, 4);
        __builtin_memcpy(&data2, bytes + 8, 2);
        __builtin_memcpy(&data3, bytes + 10, 2);
        __builtin_memcpy(&age, bytes + 20, 4);
        StringSink sink{m->debug_id, sizeof(m->debug_id), 0};
        char buffer[48];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.hex_upper(data1, 8);
        w.hex_upper(data2, 4);
        w.hex_upper(data3, 4);
        for (int k = 12; k < 20; k++) w.hex_upper(bytes[k], 2);
        w.hex_upper(age);
        w.flush();
        // The PDB name, NUL-terminated within the record.
        size_t n = 0;
        while (24 + n < d->SizeOfData && bytes[24 + n] && n + 1 < sizeof(m->pdb_name)) {
            m->pdb_name[n] = static_cast<char>(bytes[24 + n]);
            n++;
        }
        m->pdb_name[n] = '\0';
        return;
    }
}

// Crash context.
void read_modules(CrashRecord* r) {
    for_each_loaded_module([r](const LoaderEntry& entry) {
        if (r->module_count >= kMaxModules) return false;
        Module& m = r->modules[r->module_count];
        m.base = entry.dll_base;
        m.end = entry.dll_base + entry.size_of_image;
        m.executable = true;
        m.build_id[0] = '\0';  // ELF only
        if (!read_wide_name(entry.full_name, m.path, sizeof(m.path)) &&
            !read_wide_name(entry.base_name, m.path, sizeof(m.path))) {
            str_copy(m.path, sizeof(m.path), "?");
        }
        read_pe_identity(&m);
        r->module_count++;  // published after the entry is complete: a fault above leaves it out
        return true;
    });
}

// Crash context.
const char* access_kind(ULONG_PTR operation) {
    switch (operation) {
        case 0: return "read";
        case 1: return "write";
        case 8: return "execute";
    }
    return nullptr;
}

// Crash context. Exceptions in native code that HotSpot's filter resumes (see judge_exception).
bool jvm_may_resume(DWORD code, const CONTEXT* context) {
    constexpr DWORD kStandardMxcsr = 0x1F80;  // INITIAL_MXCSR: all exceptions masked
    switch (code) {
        case EXCEPTION_STACK_OVERFLOW:
            return true;
        case EXCEPTION_FLT_DENORMAL_OPERAND:
        case EXCEPTION_FLT_DIVIDE_BY_ZERO:
        case EXCEPTION_FLT_INEXACT_RESULT:
        case EXCEPTION_FLT_INVALID_OPERATION:
        case EXCEPTION_FLT_OVERFLOW:
        case EXCEPTION_FLT_STACK_CHECK:
        case EXCEPTION_FLT_UNDERFLOW:
            return context->MxCsr != kStandardMxcsr;
    }
    return false;
}

}  // namespace

// Normal context (install). The known handlers' addresses in the runtime DLLs loaded now.
void note_runtime_handlers() {
    g_known_handler_count = 0;
    const wchar_t* modules[] = {L"ntdll.dll", L"msvcrt.dll", L"ucrtbase.dll", L"vcruntime140.dll",
                                L"vcruntime140_1.dll", L"libstdc++-6.dll", L"libgcc_s_seh-1.dll"};
    for (const wchar_t* name : modules) {
        HMODULE module = GetModuleHandleW(name);
        if (!module) continue;
        for (const auto& known : kNamedHandlers) {
            auto address = reinterpret_cast<uint64_t>(reinterpret_cast<void*>(GetProcAddress(module, known.name)));
            if (!address || g_known_handler_count >= kKnownHandlerSlots) continue;
            g_known_handler_address[g_known_handler_count] = address;
            g_known_handler_kind[g_known_handler_count] = known.kind;
            g_known_handler_count++;
        }
    }
}

// Crash context.
StackBounds current_stack_bounds() {
    const NT_TIB* tib = current_tib();
    return StackBounds{reinterpret_cast<uint64_t>(tib->StackLimit), reinterpret_cast<uint64_t>(tib->StackBase)};
}

// Crash context.
bool is_ignored_code(DWORD code) {
    if ((code >> 30) != 3) return true;  // success, informational, warning
    switch (code) {
        case 0xE06D7363u:  // MSVC C++ throw
        case 0xE0434352u:  // CLR exception
        case 0xE0434F4Du:  // CLR exception (.NET 1.x)
        case 0x20474343u:  // GCC C++ throw, and its unwind/resume codes (success class anyway)
        case 0x21474343u:
        case 0x22474343u:
            return true;
    }
    return false;
}

// Crash context.
const char* exception_name(DWORD code) {
    switch (code) {
        case EXCEPTION_ACCESS_VIOLATION: return "EXCEPTION_ACCESS_VIOLATION";
        case EXCEPTION_DATATYPE_MISALIGNMENT: return "EXCEPTION_DATATYPE_MISALIGNMENT";
        case EXCEPTION_BREAKPOINT: return "EXCEPTION_BREAKPOINT";
        case EXCEPTION_SINGLE_STEP: return "EXCEPTION_SINGLE_STEP";
        case EXCEPTION_ARRAY_BOUNDS_EXCEEDED: return "EXCEPTION_ARRAY_BOUNDS_EXCEEDED";
        case EXCEPTION_FLT_DENORMAL_OPERAND: return "EXCEPTION_FLT_DENORMAL_OPERAND";
        case EXCEPTION_FLT_DIVIDE_BY_ZERO: return "EXCEPTION_FLT_DIVIDE_BY_ZERO";
        case EXCEPTION_FLT_INEXACT_RESULT: return "EXCEPTION_FLT_INEXACT_RESULT";
        case EXCEPTION_FLT_INVALID_OPERATION: return "EXCEPTION_FLT_INVALID_OPERATION";
        case EXCEPTION_FLT_OVERFLOW: return "EXCEPTION_FLT_OVERFLOW";
        case EXCEPTION_FLT_STACK_CHECK: return "EXCEPTION_FLT_STACK_CHECK";
        case EXCEPTION_FLT_UNDERFLOW: return "EXCEPTION_FLT_UNDERFLOW";
        case EXCEPTION_INT_DIVIDE_BY_ZERO: return "EXCEPTION_INT_DIVIDE_BY_ZERO";
        case EXCEPTION_INT_OVERFLOW: return "EXCEPTION_INT_OVERFLOW";
        case EXCEPTION_PRIV_INSTRUCTION: return "EXCEPTION_PRIV_INSTRUCTION";
        case EXCEPTION_IN_PAGE_ERROR: return "EXCEPTION_IN_PAGE_ERROR";
        case EXCEPTION_ILLEGAL_INSTRUCTION: return "EXCEPTION_ILLEGAL_INSTRUCTION";
        case EXCEPTION_NONCONTINUABLE_EXCEPTION: return "EXCEPTION_NONCONTINUABLE_EXCEPTION";
        case EXCEPTION_STACK_OVERFLOW: return "EXCEPTION_STACK_OVERFLOW";
        case EXCEPTION_INVALID_DISPOSITION: return "EXCEPTION_INVALID_DISPOSITION";
        case EXCEPTION_GUARD_PAGE: return "EXCEPTION_GUARD_PAGE";
        case EXCEPTION_INVALID_HANDLE: return "EXCEPTION_INVALID_HANDLE";
        case 0xC0000374u: return "STATUS_HEAP_CORRUPTION";
        case 0xC0000409u: return "STATUS_STACK_BUFFER_OVERRUN";
        case 0xC0000602u: return "STATUS_FAIL_FAST_EXCEPTION";
        case 0xE06D7363u: return "MSVC_CXX_EXCEPTION";
    }
    return "EXCEPTION";
}

// Crash context.
CodeKind classify_code(uint64_t pc) {
    KindCache cache;
    return classify_cached(pc, &cache);
}

// Crash context.
bool module_base_name(uint64_t base, char* out, size_t capacity) {
    bool found = false;
    for_each_loaded_module([&](const LoaderEntry& entry) {
        if (entry.dll_base != base) return true;
        found = read_wide_name(entry.base_name, out, capacity);
        return false;
    });
    return found;
}

// Crash context. Ownership rules (docs/windows.md, "How the agent sees a crash"):
//  - the pc in the code cache or in jvm.dll: HotSpot's (implicit null checks, polls, stack
//    banging, SafeFetch); the pc in this DLL: ours, never reported by ourselves;
//  - the pc in an OS or C runtime DLL, or at a wild address: judged by the first frame above it
//    that is none of these;
//  - a crash candidate is then in some other module. If a frame between the fault and the first
//    JVM frame has an exception handler, that handler may catch the fault (JNA's protected mode,
//    a library's own __try): the verdict is kHandled. On a thread with no JVM frame (created by
//    native code), the OS and C runtime frames at the base of the stack are the thread-start
//    wrappers whose handlers lead to the unhandled-exception filter, so they do not count;
//  - some exceptions HotSpot's own filter resumes for a thread in native code, so under a JVM frame
//    they are kHandled too (reported only if they turn out fatal):
//    - a stack overflow: the first one on a thread hits the yellow zone, which HotSpot disables,
//      and it resumes the thread "and hopes for the best" (os_windows.cpp,
//      topLevelExceptionFilter). Only an overflow into the red zone is fatal, and the two look
//      the same from here;
//    - a floating-point exception with a non-standard MXCSR: HotSpot restores MXCSR to 0x1F80
//      and resumes (Handle_FLT_Exception), so the instruction runs again with exceptions masked.
Verdict judge_exception(const EXCEPTION_RECORD* record, const CONTEXT* context, StackBounds stack) {
    if (is_ignored_code(record->ExceptionCode)) return Verdict::kNotOurs;
    CONTEXT c = *context;
    KindCache cache;
    int count = 0;
    bool reached_jvm = false;
    bool reached_end = false;
    CodeKind first_kind = CodeKind::kUnknown;  // the first frame that is neither system nor a wild pc
    bool have_first = false;
    // Handlers of the frames walked so far, except those of system frames after the last frame
    // that is not one: those count only if the walk does not end at the base of a native thread.
    bool handler = false;
    bool trailing_system_handler = false;
    // Deep enough for a stack overflow (hundreds of recursive frames) to reach the JVM frame.
    while (count < kMaxJudgedFrames) {
        CodeKind kind = classify_cached(c.Rip, &cache);
        if (kind == CodeKind::kJitCode || kind == CodeKind::kJvm) {
            reached_jvm = true;
            break;
        }
        if (kind == CodeKind::kUnknown && count > 0) break;  // no way to unwind unknown code
        if (!have_first && kind != CodeKind::kSystem && !(count == 0 && kind == CodeKind::kUnknown)) {
            first_kind = kind;
            have_first = true;
        }
        FrameHandler fh;
        bool more = unwind_step(&c, stack, count == 0, &fh);
        bool frame_handler = handler_may_catch(fh);
        if (kind == CodeKind::kSystem) {
            trailing_system_handler = trailing_system_handler || frame_handler;
        } else {
            handler = handler || frame_handler || trailing_system_handler;
            trailing_system_handler = false;
        }
        count++;
        if (!more) {
            reached_end = c.Rip == 0;
            break;
        }
    }
    if (!have_first || first_kind != CodeKind::kOther) return Verdict::kNotOurs;
    if (reached_jvm && jvm_may_resume(record->ExceptionCode, context)) return Verdict::kHandled;
    // A walk that stopped short (too deep, or at code it cannot unwind) may have missed a JVM frame.
    if (!reached_jvm && !reached_end && record->ExceptionCode == EXCEPTION_STACK_OVERFLOW) return Verdict::kHandled;

    if (reached_jvm || !reached_end) handler = handler || trailing_system_handler;
    return handler ? Verdict::kHandled : Verdict::kCrash;
}

// Crash context.
bool fault_frame_on_stack(const CONTEXT* from, StackBounds stack, uint64_t fault_rip, uint64_t fault_rsp) {
    CONTEXT c = *from;
    for (int i = 0; i < kMaxJudgedFrames; i++) {
        if (c.Rip == fault_rip && c.Rsp == fault_rsp) return true;
        FrameHandler handler;
        if (!unwind_step(&c, stack, i == 0, &handler)) return false;
    }
    return false;
}

// Crash context.
bool fault_frame_on_current_stack(uint64_t fault_rip, uint64_t fault_rsp) {
    CONTEXT c;
    RtlCaptureContext(&c);
    return fault_frame_on_stack(&c, current_stack_bounds(), fault_rip, fault_rsp);
}

// Crash context.
void capture_exception(CrashRecord* r, const EXCEPTION_RECORD* exception, const CONTEXT* context, uint64_t thread_id,
                       StackBounds stack) {
    record_reset(r);
    native_calls_mark_crash();
    DWORD code = exception->ExceptionCode;
    r->platform = "windows-x86_64";
    r->kind = exception_name(code);
    r->code = code;
    r->fault_address = reinterpret_cast<uint64_t>(exception->ExceptionAddress);
    if ((code == EXCEPTION_ACCESS_VIOLATION || code == EXCEPTION_IN_PAGE_ERROR) && exception->NumberParameters >= 2) {
        r->detail = access_kind(exception->ExceptionInformation[0]);
        r->access = r->detail;
        r->fault_address = exception->ExceptionInformation[1];
        MEMORY_BASIC_INFORMATION mbi;
        if (VirtualQuery(reinterpret_cast<const void*>(r->fault_address), &mbi, sizeof(mbi)) == sizeof(mbi)) {
            r->fault_mapped = mbi.State == MEM_COMMIT ? 1 : 0;
        }
    }
    r->pc = context->Rip;
    r->sp = context->Rsp;
    read_registers(r, context);
    r->thread_id = thread_id;
    r->java_thread = classify_java_thread(thread_id);
    read_modules(r);

    CONTEXT c = *context;
    KindCache cache;
    while (r->frame_count < kMaxNativeFrames) {
        NativeFrame& f = r->frames[r->frame_count];
        f.pc = c.Rip;
        f.module = -1;
        f.symbol[0] = '\0';
        f.symbol_offset = 0;
        r->frame_count++;
        CodeKind kind = classify_cached(c.Rip, &cache);
        // The code cache's registered unwind data only routes exceptions to HotSpot; it cannot
        // unwind a frame. The Java part of the stack comes from the dispatcher instead.
        if (kind == CodeKind::kJitCode || (kind == CodeKind::kUnknown && r->frame_count > 1)) break;
        FrameHandler handler;
        if (!unwind_step(&c, stack, r->frame_count == 1, &handler)) break;
    }

    // Callers' pcs are return addresses: look up the call instruction, one byte before.
    // Modules first: export tables are the riskiest reads, and a fault there keeps the rest.
    for (int i = 0; i < r->frame_count; i++) {
        r->frames[i].module = record_find_module(*r, i == 0 ? r->frames[i].pc : r->frames[i].pc - 1);
    }
    for (int i = 0; i < r->frame_count; i++) {
        NativeFrame& f = r->frames[i];
        uint64_t lookup = i == 0 ? f.pc : f.pc - 1;
        if (f.module < 0) continue;
        uint64_t offset = 0;
        if (export_symbol(r->modules[f.module].base, lookup, f.symbol, sizeof(f.symbol), &offset)) {
            f.symbol_offset = offset + (f.pc - lookup);
        }
    }
    native_methods_resolve(r);
    jvm_code_resolve(r);

    int pc_module = record_find_module(*r, r->pc);
    if (pc_module >= 0 && str_equal_nocase(path_basename(r->modules[pc_module].path), "jvm.dll")) r->origin = "jvm";
}

}  // namespace win
}  // namespace platform
}  // namespace crashagent
