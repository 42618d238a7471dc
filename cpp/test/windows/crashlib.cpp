// SPDX-License-Identifier: Apache-2.0
// A "JNI-like" library that crashes in the ways the Windows tests need.
#include <windows.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "seh_call_frame.h"

#define EXPORT extern "C" __declspec(dllexport)

extern "C" {
EXPORT int guarded_call(void (*fn)(void*), void* arg);
EXPORT int declining_call(void (*fn)(void*), void* arg);
EXPORT int finally_call(void (*fn)(void*), void* arg);
EXPORT int gs_cookie_call(void (*fn)(void*), void* arg, uint64_t tamper);
EXPORT int gs_seh_finally_call(void (*fn)(void*), void* arg, uint64_t tamper);
EXPORT int gs_seh_except_call(void (*fn)(void*), void* arg, uint64_t tamper);
EXPORT int gs_eh4_call(void (*fn)(void*), void* arg, uint64_t tamper);
void finally_block(unsigned char abnormal, void* frame);
EXCEPTION_DISPOSITION catch_all_handler(EXCEPTION_RECORD*, void*, CONTEXT*, DISPATCHER_CONTEXT*);
EXCEPTION_DISPOSITION declining_handler(EXCEPTION_RECORD*, void*, CONTEXT*, DISPATCHER_CONTEXT*);
void guarded_call_resume();
}

// guarded_call(fn, arg): fn(arg) inside __try/__except(EXECUTE_HANDLER); 1 if it faulted.
// declining_call(fn, arg): fn(arg) inside a frame whose handler looks and passes (returns
// ExceptionContinueSearch), like a filter that does not recognise the fault.
asm(R"(
    seh_call_frame guarded_call, catch_all_handler
    .globl guarded_call_resume
guarded_call_resume:
    mov $1, %eax
    add $40, %rsp
    ret
    .seh_endproc

    seh_call_frame declining_call, declining_handler
    .seh_endproc

    # finally_call(fn, arg): fn(arg) inside a __try/__finally scope of __C_specific_handler (the
    # scope's JumpTarget is 0): the handler runs finally_block during an unwind, and catches nothing.
    .globl finally_call
    .def finally_call; .scl 2; .type 32; .endef
    .seh_proc finally_call
finally_call:
    sub $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    .seh_handler __C_specific_handler, @except, @unwind
    mov %rcx, %rax
    mov %rdx, %rcx
.Lfinally_begin:
    call *%rax
    nop
.Lfinally_end:
    add $40, %rsp
    ret
    .seh_handlerdata
    .long 1
    .rva .Lfinally_begin, .Lfinally_end + 1, finally_block
    .long 0
    .text
    .seh_endproc

    # gs_frame NAME: NAME(fn, arg, tamper) calls fn(arg) in a frame laid out like an MSVC /GS
    # function's: the image's security cookie XOR rsp (then XOR tamper) at 40(%rsp), and as
    # exception handler a routine no export names, as MSVC's statically linked __GSHandlerCheck*
    # are. The routine is declining_handler: like those after a good cookie check with nothing to
    # catch, it returns ExceptionContinueSearch. The caller writes the handler data (what MSVC
    # emits for the handler the frame stands for), then `.text` and `.seh_endproc`.
    .macro gs_frame name
    .globl \name
    .def \name; .scl 2; .type 32; .endef
    .seh_proc \name
\name:
    sub $56, %rsp
    .seh_stackalloc 56
    .seh_endprologue
    .seh_handler declining_handler, @except, @unwind
    mov crashlib_security_cookie(%rip), %rax
    xor %rsp, %rax
    xor %r8, %rax
    mov %rax, 40(%rsp)
    mov %rcx, %rax
    mov %rdx, %rcx
.L\name\()_begin:
    call *%rax
    nop
.L\name\()_end:
    xor %eax, %eax
    add $56, %rsp
    ret
    .seh_handlerdata
    .endm

    # __GSHandlerCheck: GS_HANDLER_DATA {CookieOffset = 40}.
    gs_frame gs_cookie_call
    .long 40
    .text
    .seh_endproc

    # __GSHandlerCheck_SEH: a scope table, then GS_HANDLER_DATA with EHandler (bit 0) set. One
    # __try/__finally scope (JumpTarget 0) around the call: nothing catches.
    gs_frame gs_seh_finally_call
    .long 1
    .rva .Lgs_seh_finally_call_begin, .Lgs_seh_finally_call_end, finally_block
    .long 0
    .long 40 + 1
    .text
    .seh_endproc

    # The same with a __try/__except(EXECUTE_HANDLER) scope around the call: it may catch.
    gs_frame gs_seh_except_call
    .long 1
    .rva .Lgs_seh_except_call_begin, .Lgs_seh_except_call_end
    .long 1
    .rva .Lgs_seh_except_call_end
    .long 40 + 1
    .text
    .seh_endproc

    # __GSHandlerCheck_EH4: the RVA of a FuncInfo4, then GS_HANDLER_DATA with EHandler set. The
    # FuncInfo4 header says: an unwind map (destructors), no try blocks.
    gs_frame gs_eh4_call
    .rva gs_eh4_func_info
    .long 40 + 1
    .text
    .seh_endproc
    .section .rdata,"dr"
gs_eh4_func_info:
    .byte 0x08, 0, 0, 0

    # The load configuration, as MSVC's CRT provides it; only SecurityCookie is filled in. The
    # build points the image's load-config data directory here (set_load_config.py).
    .section .rdata,"dr"
    .p2align 3
    .globl _load_config_used
_load_config_used:
    .long 96                        # Size: up to and including SecurityCookie
    .zero 84
    .quad crashlib_security_cookie  # SecurityCookie

    # Functions defined here are exported through the linker directives section.
    .section .drectve
    .ascii " -export:guarded_call"
    .ascii " -export:declining_call"
    .ascii " -export:finally_call"
    .ascii " -export:gs_cookie_call"
    .ascii " -export:gs_seh_finally_call"
    .ascii " -export:gs_seh_except_call"
    .ascii " -export:gs_eh4_call"
    .ascii " -export:_load_config_used,data"
    .text
)");
static_assert(offsetof(IMAGE_LOAD_CONFIG_DIRECTORY64, SecurityCookie) == 88, "_load_config_used layout");

// The /GS cookie, at MSVC's default value, which the loader replaces with a random one.
extern "C" {
uint64_t crashlib_security_cookie = 0x00002B992DDFA232ull;
}

extern "C" EXCEPTION_DISPOSITION catch_all_handler(EXCEPTION_RECORD* record, void* frame, CONTEXT*,
                                                     DISPATCHER_CONTEXT* dispatch) {
    if (record->ExceptionFlags & (EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND)) return ExceptionContinueSearch;
    RtlUnwindEx(frame, reinterpret_cast<void*>(&guarded_call_resume), record, reinterpret_cast<void*>(1),
                dispatch->ContextRecord, dispatch->HistoryTable);
    return ExceptionContinueSearch;  // not reached
}

extern "C" EXCEPTION_DISPOSITION declining_handler(EXCEPTION_RECORD*, void*, CONTEXT*, DISPATCHER_CONTEXT*) {
    return ExceptionContinueSearch;
}

extern "C" void finally_block(unsigned char, void*) { std::printf("finally ran\n"); }

volatile int g_zero = 0;
volatile int g_forever = 1;
volatile uintptr_t g_bad_address = 16;  // read at run time, so the compiler sees no constant bad pointer

EXPORT void crash_av_write(void*) { *reinterpret_cast<volatile int*>(g_bad_address) = 1; }

EXPORT void crash_illegal_instruction(void*) { __asm__ volatile("ud2"); }

// Written as idiv, because the compiler turns a division of a constant into compares.
EXPORT void crash_divide_by_zero(void*) {
    int divisor = g_zero;
    __asm__ volatile("mov $1, %%eax\n\tcltd\n\tidivl %0" : : "r"(divisor) : "eax", "edx", "cc");
}

EXPORT void crash_privileged_instruction(void*) { __asm__ volatile("hlt"); }

EXPORT void crash_stack_overflow(void* depth) {
    volatile char frame[4096];
    frame[0] = static_cast<char>(reinterpret_cast<uintptr_t>(depth));
    if (g_forever) crash_stack_overflow(static_cast<char*>(depth) + 1);
    frame[1] = frame[0];  // keeps the call from becoming a jump
}

// Points this DLL's export-name table at unmapped memory, then crashes: the agent's symbol lookup
// faults while it captures the crash, inside its own handling.
EXPORT void crash_with_broken_exports(void*) {
    HMODULE self = nullptr;
    GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       reinterpret_cast<LPCSTR>(&crash_with_broken_exports), &self);
    auto base = reinterpret_cast<uint8_t*>(self);
    auto nt = reinterpret_cast<IMAGE_NT_HEADERS64*>(base + reinterpret_cast<IMAGE_DOS_HEADER*>(base)->e_lfanew);
    auto exports = reinterpret_cast<IMAGE_EXPORT_DIRECTORY*>(
        base + nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT].VirtualAddress);
    DWORD old = 0;
    VirtualProtect(exports, sizeof(*exports), PAGE_READWRITE, &old);
    exports->AddressOfNames = 0x7FFF0000u;
    crash_av_write(nullptr);
}

namespace {
DWORD WINAPI av_thread(void*) {
    crash_av_write(nullptr);
    return 0;
}
DWORD WINAPI declined_thread(void*) {
    declining_call(&crash_av_write, nullptr);
    return 0;
}
void run_thread_and_wait(LPTHREAD_START_ROUTINE body) {
    HANDLE thread = CreateThread(nullptr, 0, body, nullptr, 0, nullptr);
    WaitForSingleObject(thread, INFINITE);  // the crash ends the process before this returns
}
}  // namespace

// A thread of the library's own, outside any "Java call".
EXPORT void crash_on_new_thread(void*) { run_thread_and_wait(&av_thread); }
EXPORT void crash_declined_on_new_thread(void*) { run_thread_and_wait(&declined_thread); }

EXPORT void crash_declined(void*) { declining_call(&crash_av_write, nullptr); }

EXPORT void fault_and_catch(void*) {
    int caught = guarded_call(&crash_av_write, nullptr);
    std::printf("caught=%d\n", caught);
}

// First-chance exceptions that are handled: none of them is a crash. No frame here has a
// handler of its own (no C++ try), so only the exception code keeps them from being reported
// when jvm.dll's frame handler resumes them.
EXPORT void raise_benign_exceptions(void*) {
    struct {
        DWORD type;
        LPCSTR name;
        DWORD thread_id;
        DWORD flags;
    } thread_name = {0x1000, "worker", static_cast<DWORD>(-1), 0};
    RaiseException(0x406D1388, 0, sizeof(thread_name) / sizeof(ULONG_PTR),
                   reinterpret_cast<const ULONG_PTR*>(&thread_name));
    const char text[] = "debug output\n";
    ULONG_PTR print_args[2] = {sizeof(text), reinterpret_cast<ULONG_PTR>(text)};
    RaiseException(0x40010006, 0, 2, print_args);   // DBG_PRINTEXCEPTION_C
    RaiseException(0xE06D7363, 0, 0, nullptr);      // MSVC C++ exception code
    std::printf("benign exceptions resumed\n");
}

// A C++ throw caught a frame further up (GCC raises it as SEH exception 0x20474343).
__attribute__((noinline)) static void throw_int() { throw 42; }

EXPORT void throw_and_catch(void*) {
    int caught = 0;
    try {
        throw_int();
    } catch (int value) {
        caught = value;
    }
    std::printf("C++ caught %d\n", caught);
}

// --- The crash zoo ------------------------------------------------------------------------------
// More fault kinds for run_case.py. Every bad address is read at run time, so the compiler sees
// no constant bad pointer and cannot turn the access into a trap of its own.

volatile uintptr_t g_null = 0;
volatile uintptr_t g_wild = 0xdead0000beefull;  // canonical, user range, never mapped

EXPORT void crash_null_read(void*) {
    int value = *reinterpret_cast<volatile int*>(g_null);
    std::printf("read %d\n", value);  // not reached
}

EXPORT void crash_wild_pointer(void*) { *reinterpret_cast<volatile int*>(g_wild) = 1; }

// The page's address, so that run_case.py can compare it with the report's fault address.
static void print_page(const char* what, void* page) { std::printf("%s page %p\n", what, page); }

EXPORT void crash_write_read_only(void*) {
    void* page = VirtualAlloc(nullptr, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    DWORD old = 0;
    if (!page || !VirtualProtect(page, 4096, PAGE_READONLY, &old)) {
        std::printf("crashlib: VirtualAlloc/VirtualProtect failed\n");
        return;
    }
    print_page("read-only", page);
    *static_cast<volatile int*>(page) = 1;
}

// Calls into a data page (PAGE_READWRITE) that holds a `ret`: with NX, the call faults with an
// access violation whose ExceptionInformation[0] is 8 (execute).
EXPORT void crash_execute_data(void*) {
    auto* page = static_cast<unsigned char*>(VirtualAlloc(nullptr, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
    if (!page) {
        std::printf("crashlib: VirtualAlloc failed\n");
        return;
    }
    page[0] = 0xC3;  // ret
    print_page("data", page);
    auto fn = reinterpret_cast<void (*)()>(page);
    fn();
    std::printf("executed data\n");  // reached only without NX
}

// A fault inside msvcrt's memcpy, called from here: the pc is in msvcrt.dll, the crash is this
// library's. Taken from msvcrt's export table, so that the compiler cannot inline the copy.
EXPORT void crash_memcpy_null(void*) {
    using Memcpy = void* (*)(void*, const void*, size_t);
    auto copy = reinterpret_cast<Memcpy>(
        reinterpret_cast<void*>(GetProcAddress(GetModuleHandleA("msvcrt.dll"), "memcpy")));
    if (!copy) {
        std::printf("crashlib: msvcrt!memcpy not found\n");
        return;
    }
    static char source[256] = "payload";
    copy(reinterpret_cast<void*>(g_null), source, sizeof(source));
    std::printf("copied\n");  // not reached; keeps the call from becoming a tail jump out of this frame
}

// JNI -> "Java" -> JNI: this native method calls back into the JVM (java_call of jvm.dll, as a
// Java upcall would), and the native method that call reaches crashes.
EXPORT void nested_java_call(void*) {
    using JavaCall = int (*)(void (*)(void*), void*);
    auto java_call = reinterpret_cast<JavaCall>(
        reinterpret_cast<void*>(GetProcAddress(GetModuleHandleA("jvm.dll"), "java_call")));
    if (!java_call) {
        std::printf("crashlib: jvm.dll!java_call not found\n");
        return;
    }
    java_call(&crash_av_write, nullptr);
    std::printf("nested call returned\n");  // not reached
}

// Quiet storms: first-chance exceptions that are all handled. None may be reported.
constexpr int kStorm = 10000;

// C++ throws, each caught a frame further up (GCC raises them as SEH exception 0x20474343).
EXPORT void throw_storm(void*) {
    long sum = 0;
    for (int i = 0; i < kStorm; i++) {
        try {
            throw_int();
        } catch (int value) {
            sum += value;
        }
    }
    std::printf("C++ caught %d throws, sum %ld\n", kStorm, sum);
}

// Access violations this library catches itself with its own SEH frame (guarded_call).
EXPORT void seh_catch_storm(void*) {
    int caught = 0;
    for (int i = 0; i < kStorm; i++) caught += guarded_call(&crash_av_write, nullptr);
    std::printf("SEH caught %d of %d faults\n", caught, kStorm);
}

// --- Stack overflows the JVM resumes ------------------------------------------------------------
// Recurses until the stack overflows (the thread's stack limit then drops to the page above the
// reservation's last one), goes a few small frames deeper, and returns. Under HotSpot (and the
// test jvm.dll) the overflow hits the yellow zone, which is resumed for a thread in native code:
// a deep but finite recursion is no crash. Wine 8 raises the overflow with about 7.5 KB of stack
// left whatever the thread's stack guarantee, so the frames after it are small.
namespace {
bool stack_overflowed() {
    uintptr_t teb_address;
    __asm__("movq %%gs:0x30, %0" : "=r"(teb_address));  // NtCurrentTeb(), without gcc 12's false bounds warning
    auto* teb = reinterpret_cast<const uint8_t*>(teb_address);
    auto* tib = reinterpret_cast<const NT_TIB*>(teb);
    uintptr_t deallocation_stack = 0;
    __builtin_memcpy(&deallocation_stack, teb + 0x1478, sizeof(deallocation_stack));  // TEB.DeallocationStack (x64)
    return reinterpret_cast<uintptr_t>(tib->StackLimit) < deallocation_stack + 2 * 4096;
}

__attribute__((noinline)) int small_frames(int count) {
    volatile char frame[256];
    frame[0] = static_cast<char>(count);
    int depth = count > 0 ? small_frames(count - 1) : 0;
    return depth + frame[0] * 0 + 1;  // keeps the call from becoming a jump
}

__attribute__((noinline)) int recurse_until_overflow(int depth) {
    volatile char frame[4096];
    frame[0] = static_cast<char>(depth);
    int more = stack_overflowed() ? small_frames(4) : recurse_until_overflow(depth + 1);
    return more + frame[0] * 0 + 1;
}
}  // namespace

EXPORT void recurse_past_overflow(void*) {
    recurse_until_overflow(0);
    std::printf("recursion returned past a stack overflow\n");
}

// --- A fault that some other handler resumes ------------------------------------------------------
// app_probe(address) reads an int; the host's own vectored handler, registered after the agent's,
// resumes a fault there at app_probe_resume with -1 (like a library that probes memory through a
// VEH). The agent's VEH runs first and cannot know that.
extern "C" {
EXPORT int app_probe(const volatile int* address);
}
asm(R"(
    .text
    .globl app_probe
    .def app_probe; .scl 2; .type 32; .endef
app_probe:
    .globl app_probe_fault
app_probe_fault:
    movl (%rcx), %eax
    .globl app_probe_resume
app_probe_resume:
    ret
    .section .drectve
    .ascii " -export:app_probe"
    .ascii " -export:app_probe_fault"
    .ascii " -export:app_probe_resume"
    .text
)");

// A fault that the host's handler resumes, then a real crash on the same thread.
EXPORT void probe_then_crash(void*) {
    int value = app_probe(reinterpret_cast<const volatile int*>(g_null + 32));
    std::printf("app_probe returned %d\n", value);
    void (*volatile crash)(void*) = &crash_av_write;  // a call, not inlined: the report names crash_av_write
    crash(nullptr);
}

// --- Frames with language handlers that do not catch an access violation ---------------------------
// A C++ try/catch(...) with a destructor in scope: GCC gives the function __gxx_personality_seh0
// as its exception handler, which only ever handles GCC's own exception codes.
namespace {
struct Cleanup {
    ~Cleanup() { std::printf("cleanup ran\n"); }
};
}  // namespace

EXPORT void crash_in_cpp_try(void*) {
    try {
        Cleanup cleanup;
        void (*volatile crash)(void*) = &crash_av_write;
        crash(nullptr);
    } catch (...) {
        std::printf("C++ catch(...) caught the fault\n");
    }
}

// A fault under a __try/__finally frame (__C_specific_handler with a termination scope only).
EXPORT void crash_in_seh_finally(void*) { finally_call(&crash_av_write, nullptr); }

// A fault under a /GS frame, whose handler only checks the cookie; and the same frame with a
// cookie that does not match, which the agent cannot tell from a frame that may catch the fault.
EXPORT void crash_in_gs_frame(void*) { gs_cookie_call(&crash_av_write, nullptr, 0); }
EXPORT void crash_in_gs_frame_tampered(void*) { gs_cookie_call(&crash_av_write, nullptr, 1); }

// Faults under the /GS frames with a handler behind the cookie: a __try/__finally and a C++
// function without try blocks catch nothing; a __try/__except may catch.
EXPORT void crash_in_gs_seh_finally(void*) { gs_seh_finally_call(&crash_av_write, nullptr, 0); }
EXPORT void crash_in_gs_seh_except(void*) { gs_seh_except_call(&crash_av_write, nullptr, 0); }
EXPORT void crash_in_gs_eh4(void*) { gs_eh4_call(&crash_av_write, nullptr, 0); }
