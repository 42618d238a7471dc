// SPDX-License-Identifier: Apache-2.0
// Windows test host. Arranges its handlers the way a JVM process has them (a previous UEF of the
// application, then jvm.dll with its frame handler around Java calls), optionally starts the
// agent, and runs one crash case in the JNI-like crashlib.dll.
//   crash_host <crashagent.dll | none> <case> [agent options]
#include <windows.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "../started_marker.h"

namespace {

using Body = void (*)(void*);
using JavaCall = int (*)(Body, void*);
using StartFn = int (*)(const char*);
using StopFn = void (*)();

HMODULE g_jvm = nullptr;
HMODULE g_crashlib = nullptr;
JavaCall g_java_call = nullptr;
volatile LONG g_go = 0;
LONG g_ready = 0;
HANDLE g_all_ready = nullptr;
constexpr LONG kMaxCrashThreads = 8;
LONG g_crash_threads = 4;  // how many threads fault at once (four_threads, eight_threads)
LONG g_faulted = 0;
HANDLE g_all_faulted = nullptr;
volatile LONG g_released = 0;

// Registered in front of the agent's VEH for the concurrent cases: holds every faulting thread
// until all of them have faulted, then lets them on to the agent together (the last one waits
// until the others are awake).
LONG CALLBACK fault_barrier(EXCEPTION_POINTERS* pointers) {
    if (pointers->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) return EXCEPTION_CONTINUE_SEARCH;
    if (InterlockedIncrement(&g_faulted) == g_crash_threads) {
        SetEvent(g_all_faulted);
        for (int i = 0; i < 10000 && g_released < g_crash_threads - 1; i++) Sleep(1);
    } else {
        WaitForSingleObject(g_all_faulted, 10000);
        InterlockedIncrement(&g_released);
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

[[noreturn]] void fail(const char* what) {
    std::printf("host: FAIL %s (error %lu)\n", what, GetLastError());
    std::fflush(stdout);
    ExitProcess(70);
}

template <typename T>
T symbol(HMODULE module, const char* name) {
    void* p = reinterpret_cast<void*>(GetProcAddress(module, name));
    if (!p) fail(name);
    return reinterpret_cast<T>(p);
}

HMODULE load_beside_host(const char* name) {
    char path[MAX_PATH];
    DWORD n = GetModuleFileNameA(nullptr, path, sizeof(path));
    char* slash = std::strrchr(path, '\\');
    if (n == 0 || !slash) fail("GetModuleFileName");
    std::snprintf(slash + 1, sizeof(path) - static_cast<size_t>(slash + 1 - path), "%s", name);
    HMODULE m = LoadLibraryA(path);
    if (!m) fail(name);
    return m;
}

LONG WINAPI host_filter(EXCEPTION_POINTERS*) {
    HANDLE f = CreateFileA("host_uef_called.txt", GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                           nullptr);
    if (f != INVALID_HANDLE_VALUE) CloseHandle(f);
    return EXCEPTION_CONTINUE_SEARCH;
}

void java(const char* name) { g_java_call(symbol<Body>(g_crashlib, name), nullptr); }

// Runs a storm of handled faults and prints its duration on stderr (stdout is compared with the
// run without the agent) for bench/veh-storm.sh.
template <typename F>
void timed_storm(F storm) {
    LARGE_INTEGER frequency, start, end;
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&start);
    storm();
    QueryPerformanceCounter(&end);
    std::fprintf(stderr, "storm_us=%lld\n", (end.QuadPart - start.QuadPart) * 1000000LL / frequency.QuadPart);
}

// Inside a "Java call": the yellow zone is already used, then the native code overflows.
void use_yellow_zone_then_overflow(void*) {
    symbol<void (*)()>(g_jvm, "jvm_yellow_zone_used")();
    symbol<Body>(g_crashlib, "crash_stack_overflow")(nullptr);
}

DWORD WINAPI java_thread_crash(void*) {
    if (InterlockedIncrement(&g_ready) == g_crash_threads) SetEvent(g_all_ready);
    // Spin rather than wait on an event: waiters are released one by one, spinners at once.
    while (!g_go) YieldProcessor();
    java("crash_av_write");
    return 0;
}

void crash_at_once(LONG count) {
    g_crash_threads = count;
    g_all_ready = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    g_all_faulted = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    AddVectoredExceptionHandler(1, &fault_barrier);
    HANDLE threads[kMaxCrashThreads];
    for (LONG i = 0; i < count; i++) threads[i] = CreateThread(nullptr, 0, &java_thread_crash, nullptr, 0, nullptr);
    WaitForSingleObject(g_all_ready, INFINITE);  // every thread is at the starting line
    InterlockedExchange(&g_go, 1);
    WaitForMultipleObjects(static_cast<DWORD>(count), threads, TRUE, INFINITE);
}

// --- A crash while another thread holds the process heap's lock ---------------------------------
// A helper thread takes HeapLock(GetProcessHeap()) and keeps it. The crash then runs through the
// agent's VEH; a vectored handler registered last (so it runs after the agent's has returned, and
// before the JVM's frame handler) checks, without touching the heap, that the agent's report files
// exist, and only then lets the helper unlock: the JVM's hs_err writer allocates.
using NtQueryAttributesFileFn = LONG(NTAPI*)(void* object_attributes, void* basic_information);
NtQueryAttributesFileFn g_query_attributes = nullptr;
HANDLE g_heap_locked = nullptr;
HANDLE g_heap_release = nullptr;
HANDLE g_heap_unlocked = nullptr;
volatile LONG g_heap_checked = 0;
int g_report_under_lock = 0;
WCHAR g_report_paths[2][MAX_PATH + 64];

DWORD WINAPI hold_heap_lock(void*) {
    HeapLock(GetProcessHeap());
    SetEvent(g_heap_locked);
    WaitForSingleObject(g_heap_release, INFINITE);
    HeapUnlock(GetProcessHeap());
    SetEvent(g_heap_unlocked);
    return 0;
}

// Heap-free: NtQueryAttributesFile on NT paths made before the crash.
bool exists_without_heap(WCHAR* nt_path) {
    struct {
        USHORT length;
        USHORT maximum_length;
        PWSTR buffer;
    } name = {static_cast<USHORT>(lstrlenW(nt_path) * 2), static_cast<USHORT>(lstrlenW(nt_path) * 2 + 2), nt_path};
    struct {
        ULONG length;
        HANDLE root;
        void* name;
        ULONG attributes;
        void* security_descriptor;
        void* security_qos;
    } attributes = {sizeof(attributes), nullptr, &name, 0x40 /* OBJ_CASE_INSENSITIVE */, nullptr, nullptr};
    LARGE_INTEGER basic[5];  // FILE_BASIC_INFORMATION: four times and the attributes
    return g_query_attributes(&attributes, basic) >= 0;
}

LONG CALLBACK check_report_then_unlock(EXCEPTION_POINTERS* pointers) {
    if (pointers->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) return EXCEPTION_CONTINUE_SEARCH;
    if (InterlockedExchange(&g_heap_checked, 1)) return EXCEPTION_CONTINUE_SEARCH;
    g_report_under_lock = exists_without_heap(g_report_paths[0]) && exists_without_heap(g_report_paths[1]);
    SetEvent(g_heap_release);
    WaitForSingleObject(g_heap_unlocked, INFINITE);
    char text[64];
    int n = std::snprintf(text, sizeof(text), "report_under_heap_lock=%d\n", g_report_under_lock);
    HANDLE f = CreateFileA("heap_lock.txt", GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (f != INVALID_HANDLE_VALUE) {
        DWORD written = 0;
        WriteFile(f, text, static_cast<DWORD>(n), &written, nullptr);
        CloseHandle(f);
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

void crash_with_heap_locked() {
    g_query_attributes = reinterpret_cast<NtQueryAttributesFileFn>(
        reinterpret_cast<void*>(GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtQueryAttributesFile")));
    if (!g_query_attributes) fail("NtQueryAttributesFile");
    WCHAR cwd[MAX_PATH];
    DWORD n = GetCurrentDirectoryW(MAX_PATH, cwd);
    if (n == 0 || n >= MAX_PATH) fail("GetCurrentDirectory");
    if (cwd[n - 1] == L'\\') cwd[--n] = 0;
    const char* extensions[2] = {"json", "log"};
    for (int i = 0; i < 2; i++) {
        wsprintfW(g_report_paths[i], L"\\??\\%s\\crashagent_pid%lu.%S", cwd, GetCurrentProcessId(), extensions[i]);
    }
    Body crash = symbol<Body>(g_crashlib, "crash_av_write");
    g_heap_locked = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    g_heap_release = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    g_heap_unlocked = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    AddVectoredExceptionHandler(0, &check_report_then_unlock);
    CreateThread(nullptr, 0, &hold_heap_lock, nullptr, 0, nullptr);
    WaitForSingleObject(g_heap_locked, INFINITE);
    g_java_call(crash, nullptr);  // nothing between the lock and the crash allocates
}

// The application's own vectored handler, registered after the agent's: it resumes a fault at
// crashlib's app_probe (once), the way a library that probes memory through a VEH would.
LONG CALLBACK resume_app_probe(EXCEPTION_POINTERS* pointers) {
    static volatile LONG resumed = 0;
    auto fault = reinterpret_cast<DWORD64>(GetProcAddress(g_crashlib, "app_probe_fault"));
    if (pointers->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || pointers->ContextRecord->Rip != fault ||
        InterlockedExchange(&resumed, 1)) {
        return EXCEPTION_CONTINUE_SEARCH;
    }
    pointers->ContextRecord->Rip = reinterpret_cast<DWORD64>(GetProcAddress(g_crashlib, "app_probe_resume"));
    pointers->ContextRecord->Rax = static_cast<DWORD64>(-1);
    return EXCEPTION_CONTINUE_EXECUTION;
}

// --- How much stack the agent's VEH takes ---------------------------------------------------------
// A vectored handler registered before the agent's paints the stack below itself; one registered
// after it finds the lowest word the agent's handler changed, and prints the distance from the
// faulting rsp: what exception dispatch plus the agent's VEH need below a fault. That is what the
// stack guarantee must leave after a stack overflow.
constexpr uint64_t kPaint = 0x5AFE5AFE5AFE5AFEull;
constexpr uint64_t kPaintDepth = 96 * 1024;
uint64_t g_paint_low = 0;
uint64_t g_paint_high = 0;

__attribute__((noinline)) uint64_t current_sp() {
    return reinterpret_cast<uint64_t>(__builtin_frame_address(0));
}

LONG CALLBACK paint_below(EXCEPTION_POINTERS* pointers) {
    if (pointers->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || g_paint_high) {
        return EXCEPTION_CONTINUE_SEARCH;
    }
    g_paint_high = (current_sp() - 1024) & ~static_cast<uint64_t>(7);
    g_paint_low = pointers->ContextRecord->Rsp - kPaintDepth;
    // From the top down, so that the stack grows page by page as it would.
    for (uint64_t at = g_paint_high; at >= g_paint_low; at -= 8) *reinterpret_cast<volatile uint64_t*>(at) = kPaint;
    return EXCEPTION_CONTINUE_SEARCH;
}

LONG CALLBACK measure_above(EXCEPTION_POINTERS* pointers) {
    static volatile LONG done = 0;
    if (!g_paint_high || InterlockedExchange(&done, 1)) return EXCEPTION_CONTINUE_SEARCH;
    uint64_t lowest = g_paint_high;
    for (uint64_t at = g_paint_low; at < g_paint_high; at += 8) {
        if (*reinterpret_cast<volatile uint64_t*>(at) != kPaint) {
            lowest = at;
            break;
        }
    }
    std::printf("stack below the fault: %llu bytes\n",
                static_cast<unsigned long long>(pointers->ContextRecord->Rsp - lowest));
    return EXCEPTION_CONTINUE_SEARCH;
}

// The stack guarantee of threads created after the agent started (DLL_THREAD_ATTACH), read from the
// TEB (GuaranteedStackBytes), for a small and a usual stack reserve.
DWORD WINAPI print_guarantee(void* reserve) {
    uint64_t teb;
    __asm__("movq %%gs:0x30, %0" : "=r"(teb));
    uint64_t stack_base = *reinterpret_cast<const uint64_t*>(teb + 0x08);
    uint64_t deallocation_stack = *reinterpret_cast<const uint64_t*>(teb + 0x1478);
    std::printf("reserve %llu KB (actual %llu KB): stack guarantee %lu bytes\n",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(reserve) / 1024),
                static_cast<unsigned long long>((stack_base - deallocation_stack) / 1024),
                *reinterpret_cast<const ULONG*>(teb + 0x1748));
    return 0;
}

void print_thread_guarantees() {
    const SIZE_T reserves[] = {128 * 1024, 1024 * 1024};
    for (SIZE_T reserve : reserves) {
        HANDLE thread = CreateThread(nullptr, reserve, &print_guarantee, reinterpret_cast<void*>(reserve),
                                     STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
        WaitForSingleObject(thread, INFINITE);
        CloseHandle(thread);
    }
}

void measure_stack_use(const char* body) {
    AddVectoredExceptionHandler(1, &paint_below);     // before the agent's
    AddVectoredExceptionHandler(0, &measure_above);   // after it
    java(body);
}

}  // namespace

int main(int argc, char** argv) {
    mark_started();
    if (argc < 3) {
        std::printf("usage: crash_host <crashagent.dll|none> <case> [options]\n");
        return 64;
    }
    const char* agent_path = argv[1];
    const char* test = argv[2];
    const char* options = argc > 3 ? argv[3] : "dir=.";
    setvbuf(stdout, nullptr, _IONBF, 0);

    // The application's own filter, installed before the agent: the agent must chain to it.
    SetUnhandledExceptionFilter(&host_filter);
    HMODULE filter_lib = nullptr;
    if (std::strcmp(test, "unloaded_filter") == 0) {
        filter_lib = load_beside_host("prevuef.dll");
        symbol<void (*)()>(filter_lib, "install_filter")();
    }

    g_jvm = load_beside_host("jvm.dll");
    g_java_call = symbol<JavaCall>(g_jvm, "java_call");

    StopFn stop = nullptr;
    if (std::strcmp(agent_path, "none") != 0) {
        HMODULE agent = LoadLibraryA(agent_path);
        if (!agent) fail("LoadLibrary(crashagent)");
        stop = symbol<StopFn>(agent, "crashagent_stop");
        if (symbol<StartFn>(agent, "crashagent_start")(options) != 0) fail("crashagent_start");
        std::printf("host: agent started\n");
    }
    if (filter_lib) {
        FreeLibrary(filter_lib);
        std::printf("host: filter library unloaded\n");
    }
    g_crashlib = load_beside_host("crashlib.dll");

    if (std::strcmp(test, "av_java") == 0) {
        java("crash_av_write");
    } else if (std::strcmp(test, "av_thread") == 0 || std::strcmp(test, "unloaded_filter") == 0) {
        symbol<Body>(g_crashlib, "crash_on_new_thread")(nullptr);
    } else if (std::strcmp(test, "caught") == 0) {
        java("fault_and_catch");
    } else if (std::strcmp(test, "benign") == 0) {
        java("raise_benign_exceptions");
        java("throw_and_catch");
    } else if (std::strcmp(test, "jvm_handled") == 0) {
        g_java_call(symbol<Body>(g_jvm, "jvm_probe_bad_address"), nullptr);
    } else if (std::strcmp(test, "jvm_fatal") == 0) {
        g_java_call(symbol<Body>(g_jvm, "jvm_internal_crash"), nullptr);
    } else if (std::strcmp(test, "four_threads") == 0) {
        crash_at_once(4);
    } else if (std::strcmp(test, "eight_threads") == 0) {
        crash_at_once(8);
    } else if (std::strcmp(test, "heap_locked") == 0) {
        crash_with_heap_locked();
    } else if (std::strcmp(test, "null_read") == 0) {
        java("crash_null_read");
    } else if (std::strcmp(test, "wild_pointer") == 0) {
        java("crash_wild_pointer");
    } else if (std::strcmp(test, "write_read_only") == 0) {
        java("crash_write_read_only");
    } else if (std::strcmp(test, "execute_data") == 0) {
        java("crash_execute_data");
    } else if (std::strcmp(test, "memcpy_null") == 0) {
        java("crash_memcpy_null");
    } else if (std::strcmp(test, "nested_java") == 0) {
        java("nested_java_call");
    } else if (std::strcmp(test, "jvm_fault_storm") == 0) {
        timed_storm([] { g_java_call(symbol<Body>(g_jvm, "jvm_probe_storm"), nullptr); });
    } else if (std::strcmp(test, "throw_storm") == 0) {
        timed_storm([] { java("throw_storm"); });
    } else if (std::strcmp(test, "seh_catch_storm") == 0) {
        timed_storm([] { java("seh_catch_storm"); });
    } else if (std::strcmp(test, "illegal_instruction") == 0) {
        java("crash_illegal_instruction");
    } else if (std::strcmp(test, "divide_by_zero") == 0) {
        java("crash_divide_by_zero");
    } else if (std::strcmp(test, "privileged_instruction") == 0) {
        java("crash_privileged_instruction");
    } else if (std::strcmp(test, "stack_overflow") == 0) {
        // Unbounded recursion: under HotSpot it passes the yellow zone (resumed) and ends in the
        // red zone (fatal). Wine gives one overflow per stack, so this one is the red zone.
        g_java_call(&use_yellow_zone_then_overflow, nullptr);
    } else if (std::strcmp(test, "thread_guarantee") == 0) {
        print_thread_guarantees();
    } else if (std::strcmp(test, "stack_use") == 0) {
        measure_stack_use("crash_av_write");
    } else if (std::strcmp(test, "stack_use_pending") == 0) {
        measure_stack_use("crash_declined");
    } else if (std::strcmp(test, "seh_finally") == 0) {
        java("crash_in_seh_finally");
    } else if (std::strcmp(test, "cpp_try") == 0) {
        java("crash_in_cpp_try");
    } else if (std::strcmp(test, "gs_cookie") == 0) {
        java("crash_in_gs_frame");
    } else if (std::strcmp(test, "gs_cookie_mismatch") == 0) {
        java("crash_in_gs_frame_tampered");
    } else if (std::strcmp(test, "gs_seh_finally") == 0) {
        java("crash_in_gs_seh_finally");
    } else if (std::strcmp(test, "gs_seh_except") == 0) {
        java("crash_in_gs_seh_except");
    } else if (std::strcmp(test, "gs_eh4") == 0) {
        java("crash_in_gs_eh4");
    } else if (std::strcmp(test, "deep_recursion") == 0) {
        java("recurse_past_overflow");
    } else if (std::strcmp(test, "overflow_then_crash") == 0) {
        java("recurse_past_overflow");
        java("crash_av_write");
    } else if (std::strcmp(test, "resumed_then_crash") == 0) {
        AddVectoredExceptionHandler(0, &resume_app_probe);
        java("probe_then_crash");
    } else if (std::strcmp(test, "stop_then_crash") == 0) {
        if (stop) stop();
        java("crash_av_write");
    } else if (std::strcmp(test, "capture_fault") == 0) {
        java("crash_with_broken_exports");
    } else if (std::strcmp(test, "declined_java") == 0) {
        java("crash_declined");
    } else if (std::strcmp(test, "declined_thread") == 0) {
        symbol<Body>(g_crashlib, "crash_declined_on_new_thread")(nullptr);
    } else {
        std::printf("host: unknown case %s\n", test);
        return 64;
    }
    std::printf("host: continued\n");
    return 0;
}
