// SPDX-License-Identifier: Apache-2.0
// Which frame-based exception handlers may catch an exception: the language handlers MSVC and GCC
// put in unwind data, told apart by name (exports, the runtime DLLs) or by shape (statically linked
// /GS handlers, GCC personalities), and their handler data read to see whether the frame can catch.
// Crash context throughout, except note_runtime_handlers.
#include "windows/seh_handlers.h"

#include <atomic>
#include <cstddef>

#include "core/writer.h"
#include "windows/pe_image.h"

namespace crashagent {
namespace platform {
namespace win {

namespace {

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

// Handlers identified during earlier exceptions, by address, valid while their module is the same image.
constexpr int kHandlerKindSlots = 64;
ImageCache<HandlerKind, kHandlerKindSlots> g_handler_kinds;

// Crash context. The kind of the handler that module `base` exports exactly at address.
// Every name exported at that address counts: one function may have several.
HandlerKind exported_handler_kind(uint64_t base, uint64_t address) {
    PeImage image = PeImage::loaded(base);
    HandlerKind kind = HandlerKind::kUnknown;
    for_each_named_export(image, [&](uint32_t function_rva, uint32_t name_rva) {
        char name[40];  // longer than every known name: a longer export cannot match one
        if (function_rva != address - base || !image.read_string(name_rva, name, sizeof(name))) return true;
        for (const auto& known : kNamedHandlers) {
            if (str_equal(name, known.name)) kind = known.kind;
        }
        return kind == HandlerKind::kUnknown;
    });
    return kind;
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

// Crash context. identify_handler, remembered across exceptions: the export-table search is the
// costly part, and libraries that catch their own faults in a loop see the same handlers each time.
// An entry counts only while the module holding the handler is the same image (time stamp, size).
HandlerKind handler_kind(uint64_t address) {
    uint64_t base = image_base_of(address);
    if (!base) return identify_handler(address);
    PeImage image = PeImage::loaded(base);
    if (!image.valid()) return identify_handler(address);
    HandlerKind kind = HandlerKind::kUnknown;
    if (g_handler_kinds.find(address, base, image.identity(), &kind)) return kind;
    kind = identify_handler(address);
    g_handler_kinds.remember(address, base, image.identity(), kind);
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

// Crash context. The value of the /GS security cookie of the image at base (the loader randomises
// it at the address the load configuration names), or 0 when the image has none.
uint64_t image_security_cookie(uint64_t base) {
    PeImage image = PeImage::loaded(base);
    uint64_t rva = 0;
    uint64_t cookie = 0;
    if (!pe_security_cookie_rva(image, &rva) || !image.read(rva, &cookie, sizeof(cookie))) return 0;
    return cookie;
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

// True if the frame's handler might catch the exception, so the fault cannot be
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

}  // namespace win
}  // namespace platform
}  // namespace crashagent
