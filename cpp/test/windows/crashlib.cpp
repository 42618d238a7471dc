// A "JNI-like" library that crashes in the ways the Windows tests need.
#include <windows.h>

#include <cstdint>
#include <cstdio>

#define EXPORT extern "C" __declspec(dllexport)

extern "C" {
EXPORT int guarded_call(void (*fn)(void*), void* arg);
EXPORT int declining_call(void (*fn)(void*), void* arg);
EXCEPTION_DISPOSITION catch_all_handler(EXCEPTION_RECORD*, void*, CONTEXT*, DISPATCHER_CONTEXT*);
EXCEPTION_DISPOSITION declining_handler(EXCEPTION_RECORD*, void*, CONTEXT*, DISPATCHER_CONTEXT*);
void guarded_call_resume();
}

// guarded_call(fn, arg): fn(arg) inside __try/__except(EXECUTE_HANDLER); 1 if it faulted.
// declining_call(fn, arg): fn(arg) inside a frame whose handler looks and passes (returns
// ExceptionContinueSearch), like a filter that does not recognise the fault.
asm(R"(
    .text
    .globl guarded_call
    .def guarded_call; .scl 2; .type 32; .endef
    .seh_proc guarded_call
guarded_call:
    sub $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    .seh_handler catch_all_handler, @except
    mov %rcx, %rax
    mov %rdx, %rcx
    call *%rax
    nop
    xor %eax, %eax
    add $40, %rsp
    ret
    .globl guarded_call_resume
guarded_call_resume:
    mov $1, %eax
    add $40, %rsp
    ret
    .seh_endproc

    .globl declining_call
    .def declining_call; .scl 2; .type 32; .endef
    .seh_proc declining_call
declining_call:
    sub $40, %rsp
    .seh_stackalloc 40
    .seh_endprologue
    .seh_handler declining_handler, @except
    mov %rcx, %rax
    mov %rdx, %rcx
    call *%rax
    nop
    xor %eax, %eax
    add $40, %rsp
    ret
    .seh_endproc

    # Functions defined here are exported through the linker directives section.
    .section .drectve
    .ascii " -export:guarded_call"
    .ascii " -export:declining_call"
    .text
)");

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
