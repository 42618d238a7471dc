// SPDX-License-Identifier: Apache-2.0
// A stand-in for HotSpot's jvm.dll, built with that name. It arranges its exception handling the
// way HotSpot does on Windows x64: no vectored handler, no UEF, but a frame-based handler around
// every "Java call" (os_exception_wrapper). The handler resumes faults it owns (a SafeFetch-like
// probe), lets through what a debugger-less process ignores, and treats anything else as fatal:
// it writes an hs_err marker and exits with 1, as VMError::report_and_die does.
//
// Stack overflow is handled as HotSpot's filter does for a thread in native code: the first
// overflow is the yellow zone, which is disabled and the thread resumed ("return and hope for the
// best"); an overflow while the yellow zone is disabled is the red zone, which is fatal. The zone
// is enabled again when the native method returns to "Java" (java_call returns), as HotSpot's
// native wrapper re-guards the stack. Wine 8 raises a stack overflow only at the end of the stack,
// with about 7.5 KB left (whatever the stack guarantee), so it cannot model both zones on one
// stack: a thread that recursed through its yellow zone into the red one is modelled with
// jvm_yellow_zone_used(), which leaves the zone disabled for the next overflow.
#include <windows.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "seh_call_frame.h"

extern "C" {
__declspec(dllexport) int java_call(void (*fn)(void*), void* arg);
int java_call_guarded(void (*fn)(void*), void* arg);
__declspec(dllexport) int jvm_probe(const volatile int* address);
__declspec(dllexport) void jvm_probe_bad_address(void*);
__declspec(dllexport) void jvm_internal_crash(void*);
EXCEPTION_DISPOSITION hotspot_frame_handler(EXCEPTION_RECORD*, void*, CONTEXT*, DISPATCHER_CONTEXT*);
void jvm_probe_fault();
void jvm_probe_resume();
}

// java_call_guarded(fn, arg): calls fn(arg) inside a frame whose handler is hotspot_frame_handler.
// jvm_probe(address): reads an int; -1 if the read faults (the handler resumes after the load).
asm(R"(
    seh_call_frame java_call_guarded, hotspot_frame_handler
    .seh_endproc

    .globl jvm_probe
    .def jvm_probe; .scl 2; .type 32; .endef
jvm_probe:
    .globl jvm_probe_fault
jvm_probe_fault:
    movl (%rcx), %eax
    .globl jvm_probe_resume
jvm_probe_resume:
    ret

    # Functions defined here are exported through the linker directives section.
    .section .drectve
    .ascii " -export:jvm_probe"
    .text
)");

// Set by the JVM stand-in (jvm_standin.exe), which lives in this DLL too: runs right before hs_err.
extern "C" {
void (*jvm_before_hs_err)() = nullptr;
}

// True when the agent's JSON report is in the working directory (the stand-in uses it too).
extern "C" bool jvm_agent_report_present() {
    WIN32_FIND_DATAA found;
    HANDLE h = FindFirstFileA("crashagent_pid*.json", &found);
    if (h == INVALID_HANDLE_VALUE) return false;
    FindClose(h);
    return true;
}

namespace {

// Per thread: 0 while the yellow zone is armed, 1 after it was disabled by a stack overflow.
DWORD g_zone_tls = TLS_OUT_OF_INDEXES;

// Written with plain Win32 calls: after a stack overflow little stack is left.
void write_hs_err(DWORD code) {
    char name[64];
    std::snprintf(name, sizeof(name), "hs_err_pid%lu.log", GetCurrentProcessId());
    char text[160];
    int n = std::snprintf(text, sizeof(text), "fatal exception 0x%08lx\nagent_report_present=%d\n", code,
                          jvm_agent_report_present() ? 1 : 0);
    HANDLE f = CreateFileA(name, GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (f == INVALID_HANDLE_VALUE) return;
    DWORD written = 0;
    WriteFile(f, text, static_cast<DWORD>(n), &written, nullptr);
    CloseHandle(f);
}

}  // namespace

extern "C" EXCEPTION_DISPOSITION hotspot_frame_handler(EXCEPTION_RECORD* record, void*, CONTEXT* context,
                                                         DISPATCHER_CONTEXT*) {
    if (record->ExceptionFlags & (EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND)) return ExceptionContinueSearch;
    DWORD code = record->ExceptionCode;
    if (code == EXCEPTION_STACK_OVERFLOW && g_zone_tls != TLS_OUT_OF_INDEXES && !TlsGetValue(g_zone_tls)) {
        // Yellow zone: disable it and resume the thread.
        TlsSetValue(g_zone_tls, reinterpret_cast<void*>(1));
        return ExceptionContinueExecution;
    }
    if (record->ExceptionAddress == reinterpret_cast<void*>(&jvm_probe_fault)) {
        context->Rip = reinterpret_cast<DWORD64>(&jvm_probe_resume);
        context->Rax = static_cast<DWORD64>(-1);
        return ExceptionContinueExecution;
    }
    // Thread names, debug output and foreign C++ exceptions: resumed, as a debugger or the
    // raiser's own __except would.
    bool benign = (code >> 30) != 3 || code == 0xE06D7363u;
    if (benign && !(record->ExceptionFlags & EXCEPTION_NONCONTINUABLE)) return ExceptionContinueExecution;
    // Like VMError::report_and_die: the first fatal error reports and exits; a thread that fails
    // while it does waits for the exit instead of writing hs_err again.
    static volatile LONG reporting = 0;
    if (InterlockedExchange(&reporting, 1)) Sleep(INFINITE);
    if (jvm_before_hs_err) jvm_before_hs_err();
    write_hs_err(code);
    std::exit(1);
}

extern "C" int java_call(void (*fn)(void*), void* arg) {
    int result = java_call_guarded(fn, arg);
    if (g_zone_tls != TLS_OUT_OF_INDEXES) TlsSetValue(g_zone_tls, nullptr);  // back in "Java": re-guard
    return result;
}

extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID) {
    if (reason == DLL_PROCESS_ATTACH) g_zone_tls = TlsAlloc();
    return TRUE;
}

// The calling thread has used its yellow zone: its next stack overflow is the red zone.
extern "C" __declspec(dllexport) void jvm_yellow_zone_used() {
    if (g_zone_tls != TLS_OUT_OF_INDEXES) TlsSetValue(g_zone_tls, reinterpret_cast<void*>(1));
}

volatile uintptr_t g_null = 0;

extern "C" void jvm_probe_bad_address(void*) {
    int value = jvm_probe(reinterpret_cast<const volatile int*>(g_null + 24));
    std::printf("jvm_probe returned %d\n", value);
}

// A fault in the VM itself: HotSpot's fatal error, not a JNI crash.
extern "C" void jvm_internal_crash(void*) { *reinterpret_cast<volatile int*>(g_null) = 7; }

// Many faults the VM owns and resumes, like HotSpot's implicit null checks in a hot loop.
extern "C" __declspec(dllexport) void jvm_probe_storm(void*) {
    constexpr int kStorm = 10000;
    int resumed = 0;
    for (int i = 0; i < kStorm; i++) resumed += jvm_probe(reinterpret_cast<const volatile int*>(g_null + 8 * (i % 256))) == -1;
    std::printf("jvm_probe resumed %d of %d faults\n", resumed, kStorm);
}
