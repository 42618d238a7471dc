// SPDX-License-Identifier: Apache-2.0
// The JVM stand-in's Windows half. It lives in the test jvm.dll, next to fake_jvm.cpp's HotSpot-like
// frame handler, which it uses for every Java call and thread start as HotSpot uses its
// os_exception_wrapper and thread-start __try/__except.
#include <windows.h>

#include <cstdio>
#include <cstring>

#include "standin.h"

extern "C" int java_call(void (*fn)(void*), void* arg);  // fake_jvm.cpp
extern "C" void (*jvm_before_hs_err)();                 // fake_jvm.cpp
extern "C" bool jvm_agent_report_present();             // fake_jvm.cpp

namespace standin {

struct OsThread {
    HANDLE handle;
    Body body;
    void* arg;
};

namespace {
DWORD WINAPI thread_start(void* p) {
    OsThread* t = static_cast<OsThread*>(p);
    java_call(t->body, t->arg);
    return 0;
}
}  // namespace

OsThread* os_start_thread(Body body, void* arg) {
    OsThread* t = new OsThread{nullptr, body, arg};
    t->handle = CreateThread(nullptr, 0, &thread_start, t, 0, nullptr);
    if (!t->handle) {
        delete t;
        return nullptr;
    }
    return t;
}

bool os_join_thread(OsThread* thread, uint32_t timeout_ms) {
    return WaitForSingleObject(thread->handle, timeout_ms == 0xFFFFFFFFu ? INFINITE : timeout_ms) == WAIT_OBJECT_0;
}

void os_java_call(Body body, void* arg) { java_call(body, arg); }

// HotSpot on Windows x64 has no process-wide handler: its frame handler around each Java call and
// thread start is all there is, and that is in place already.
void os_install_jvm_handlers(void (*before_hs_err)()) { jvm_before_hs_err = before_hs_err; }

// sub rsp, 0x28 / mov rax, <target> / call rax / add rsp, 0x28 / ret. 0x28 keeps the stack 16-byte
// aligned at the call and, on Windows, leaves the callee its 32 bytes of home space.
const unsigned char kWrapperCode[] = {0x48, 0x83, 0xEC, 0x28, 0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0xFF, 0xD0, 0x48, 0x83, 0xC4, 0x28, 0xC3};
constexpr size_t kWrapperTarget = 6;  // where the target address goes

void* os_make_native_wrapper(void* target, uint32_t* size) {
    constexpr size_t kUnwindInfo = 64, kFunctionTable = 128, kPage = 4096;
    auto* code = static_cast<unsigned char*>(VirtualAlloc(nullptr, kPage, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
    if (!code) return nullptr;
    std::memcpy(code, kWrapperCode, sizeof(kWrapperCode));
    std::memcpy(code + kWrapperTarget, &target, sizeof(target));
    // UNWIND_INFO: version 1, no handler, a 4-byte prolog with one code: UWOP_ALLOC_SMALL (2) of
    // 4 * 8 + 8 = 0x28 bytes, at offset 4.
    const unsigned char unwind[] = {1, 4, 1, 0, 4, (4 << 4) | 2, 0, 0};
    std::memcpy(code + kUnwindInfo, unwind, sizeof(unwind));
    auto* function = reinterpret_cast<RUNTIME_FUNCTION*>(code + kFunctionTable);
    function->BeginAddress = 0;
    function->EndAddress = sizeof(kWrapperCode);
    function->UnwindData = kUnwindInfo;
    DWORD old = 0;
    if (!VirtualProtect(code, kPage, PAGE_EXECUTE_READ, &old) || !FlushInstructionCache(GetCurrentProcess(), code, kPage) ||
        !RtlAddFunctionTable(function, 1, reinterpret_cast<DWORD64>(code))) {
        return nullptr;
    }
    *size = sizeof(kWrapperCode);
    return code;
}

uint64_t os_thread_id() { return GetCurrentThreadId(); }

bool os_agent_report_present() { return jvm_agent_report_present(); }

void* os_load_library(const char* path, char* error, size_t capacity) {
    HMODULE m = LoadLibraryA(path);
    if (!m) std::snprintf(error, capacity, "LoadLibrary failed with error %lu", GetLastError());
    return reinterpret_cast<void*>(m);
}

void* os_find_symbol(void* library, const char* name) {
    return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(library), name));
}

uint64_t os_now_us() {
    static LARGE_INTEGER frequency = [] {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        return f;
    }();
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    return static_cast<uint64_t>(now.QuadPart / frequency.QuadPart * 1000000 +
                                 now.QuadPart % frequency.QuadPart * 1000000 / frequency.QuadPart);
}

void os_hang() {
    for (;;) Sleep(INFINITE);
}

}  // namespace standin
