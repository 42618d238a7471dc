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
#include "windows/pe_image.h"

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

// Crash context. gs:[0x60] is the PEB's address (x64); see current_teb.
uint64_t current_peb() {
    uint64_t peb;
    __asm__("movq %%gs:0x60, %0" : "=r"(peb));
    return peb;
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
// kind of a module is remembered by its base address, for the image there (ImageCache: its PE
// header's time stamp and image size, read in place); a different module loaded at the same base
// after an unload is walked afresh.

constexpr int kModuleKindSlots = 64;
ImageCache<CodeKind, kModuleKindSlots> g_module_kinds;

// Crash context.
CodeKind classify_module(uint64_t base) {
    if (base == g_known.agent_base) return CodeKind::kAgent;
    if (base == g_known.jvm_base) return CodeKind::kJvm;
    CodeKind kind = CodeKind::kOther;
    PeImage image = PeImage::loaded(base);
    if (image.valid() && g_module_kinds.find(base, base, image.identity(), &kind)) return kind;
    char name[128];
    if (!module_base_name(base, name, sizeof(name))) return CodeKind::kOther;  // not remembered: may be loading
    if (str_equal_nocase(name, "jvm.dll")) {
        kind = CodeKind::kJvm;
    } else if (is_system_module(name)) {
        kind = CodeKind::kSystem;
    }
    if (image.valid()) g_module_kinds.remember(base, base, image.identity(), kind);
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

// Crash context. The identities symbol servers key a PE image by, from its mapped headers.
void read_pe_identity(Module* m) {
    PeModuleIdentity id;
    pe_module_identity(PeImage::loaded(m->base), &id);
    str_copy(m->code_id, sizeof(m->code_id), id.code_id);
    str_copy(m->debug_id, sizeof(m->debug_id), id.debug_id);
    str_copy(m->pdb_name, sizeof(m->pdb_name), id.pdb_name);
}

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

NT_TIB* current_teb() {
    // gs:[0x30] is the TEB's own address (x64). Inline assembly: gcc 12 flags mingw's
    // __readgsqword with a false array-bounds warning.
    uint64_t teb;
    __asm__("movq %%gs:0x30, %0" : "=r"(teb));
    return reinterpret_cast<NT_TIB*>(teb);
}

StackBounds current_stack_bounds() {
    const NT_TIB* tib = current_teb();
    return StackBounds{reinterpret_cast<uint64_t>(tib->StackLimit), reinterpret_cast<uint64_t>(tib->StackBase)};
}

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

CodeKind classify_code(uint64_t pc) {
    KindCache cache;
    return classify_cached(pc, &cache);
}

bool module_base_name(uint64_t base, char* out, size_t capacity) {
    bool found = false;
    for_each_loaded_module([&](const LoaderEntry& entry) {
        if (entry.dll_base != base) return true;
        found = read_wide_name(entry.base_name, out, capacity);
        return false;
    });
    return found;
}

// Ownership rules (docs/windows.md, "How the agent sees a crash"):
// - the pc in the code cache or in jvm.dll: HotSpot's (implicit null checks, polls, stack
// banging, SafeFetch); the pc in this DLL: ours, never reported by ourselves;
// - the pc in an OS or C runtime DLL, or at a wild address: judged by the first frame above it
// that is none of these;
// - a crash candidate is then in some other module. If a frame between the fault and the first
// JVM frame has an exception handler, that handler may catch the fault (JNA's protected mode,
// a library's own __try): the verdict is kHandled. On a thread with no JVM frame (created by
// native code), the OS and C runtime frames at the base of the stack are the thread-start
// wrappers whose handlers lead to the unhandled-exception filter, so they do not count;
// - some exceptions HotSpot's own filter resumes for a thread in native code, so under a JVM frame
// they are kHandled too (reported only if they turn out fatal):
// - a stack overflow: the first one on a thread hits the yellow zone, which HotSpot disables,
// and it resumes the thread "and hopes for the best" (os_windows.cpp,
// topLevelExceptionFilter). Only an overflow into the red zone is fatal, and the two look
// the same from here;
// - a floating-point exception with a non-standard MXCSR: HotSpot restores MXCSR to 0x1F80
// and resumes (Handle_FLT_Exception), so the instruction runs again with exceptions masked.
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

bool fault_frame_on_stack(const CONTEXT* from, StackBounds stack, uint64_t fault_rip, uint64_t fault_rsp) {
    CONTEXT c = *from;
    for (int i = 0; i < kMaxJudgedFrames; i++) {
        if (c.Rip == fault_rip && c.Rsp == fault_rsp) return true;
        FrameHandler handler;
        if (!unwind_step(&c, stack, i == 0, &handler)) return false;
    }
    return false;
}

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
        PeImage image = PeImage::loaded(r->modules[f.module].base);
        if (pe_nearest_export(image, lookup - image.base(), f.symbol, sizeof(f.symbol), &offset)) {
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
