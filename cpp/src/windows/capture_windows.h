// SPDX-License-Identifier: Apache-2.0
// Windows crash capture: deciding whether an exception is a crash the agent owns, and filling the
// crash record from it. Everything here runs in crash context (inside the VEH/UEF or on the
// agent's helper thread): no heap, no CRT I/O, no locks of our own; memory that may have gone away
// (the loader list) is read with ReadProcessMemory, which fails instead of faulting.
#pragma once

#include <windows.h>

#include <cstddef>
#include <cstdint>

#include "core/crash_record.h"
#include "windows/seh_handlers.h"

namespace crashagent {
namespace platform {
namespace win {

// Where a code address lives, as far as crash ownership is concerned.
enum class CodeKind {
    kUnknown,    // no module and no unwind data: a wild pc
    kJitCode,    // no module, but registered unwind data (RtlAddFunctionTable): the JVM's code cache
    kJvm,        // jvm.dll
    kAgent,      // this DLL
    kSystem,     // OS or C runtime DLL (ntdll, kernel32, msvcrt, ucrtbase, ...)
    kOther,      // any other module: JNI libraries, the application
};

// Filled once at install time (before the handlers exist), read in crash context.
struct KnownModules {
    uint64_t agent_base;
    uint64_t jvm_base;   // 0 when no jvm.dll is loaded (a plain host process)
};
extern KnownModules g_known;

// Crash context.
StackBounds current_stack_bounds();

// The current thread's TEB, which starts with its NT_TIB (x64: TEB.DeallocationStack at 0x1478).
// Crash context.
NT_TIB* current_teb();

// Exception codes no handler of ours looks at: success, informational and warning classes
// (thread naming, debug print, guard page, breakpoint, single step) and the language exceptions
// of C++ (MSVC, GCC) and the CLR, which their runtimes raise and catch as normal control flow.
// Crash context.
bool is_ignored_code(DWORD code);

// "EXCEPTION_ACCESS_VIOLATION", ... or "EXCEPTION" for codes without a well-known name.
// Crash context.
const char* exception_name(DWORD code);

// Crash context.
CodeKind classify_code(uint64_t pc);

enum class Verdict {
    kNotOurs,    // the JVM's, the agent's, or a code we ignore: pass it on untouched
    kHandled,    // a frame handler sits between the fault and the JVM: it may catch the fault
    kCrash,      // nobody but the JVM (or the unhandled-exception path) will see it: a crash
};

// Decides what an exception is by walking the faulting thread's frames with
// RtlLookupFunctionEntry/RtlVirtualUnwind, from the fault to the first JVM frame (or the end of
// the stack). The ownership rules are in handlers_windows.cpp. Crash context.
Verdict judge_exception(const EXCEPTION_RECORD* record, const CONTEXT* context, StackBounds stack);

// True if a frame of the current thread's stack is the frame that raised the exception with
// this context, i.e. the exception is still being dispatched on this thread (a filter or the
// process exit runs on top of it). Crash context.
bool fault_frame_on_current_stack(uint64_t fault_rip, uint64_t fault_rsp);

// The same, walking up from a context captured on the thread whose stack that is. Crash context.
bool fault_frame_on_stack(const CONTEXT* from, StackBounds stack, uint64_t fault_rip, uint64_t fault_rsp);

// Fills the record: exception, registers, modules, native frames with export names. The thread
// whose context this is may be another one (the helper thread captures for the faulting one).
// Crash context.
void capture_exception(CrashRecord* record, const EXCEPTION_RECORD* exception, const CONTEXT* context,
                       uint64_t thread_id, StackBounds stack);

// Module base name (UTF-8) for a loaded module's base address, from the loader list. Crash context.
bool module_base_name(uint64_t base, char* out, size_t capacity);

}  // namespace win
}  // namespace platform
}  // namespace crashagent
