// The JVM stand-in's Windows half. It lives in the test jvm.dll, next to fake_jvm.cpp's HotSpot-like
// frame handler, which it uses for every Java call and thread start as HotSpot uses its
// os_exception_wrapper and thread-start __try/__except.
#include <windows.h>

#include <cstdio>

#include "standin.h"

extern "C" int java_call(void (*fn)(void*), void* arg);  // fake_jvm.cpp
extern "C" void (*jvm_before_hs_err)();                 // fake_jvm.cpp

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

uint64_t os_thread_id() { return GetCurrentThreadId(); }

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
