// Windows test host. Arranges its handlers the way a JVM process has them (a previous UEF of the
// application, then jvm.dll with its frame handler around Java calls), optionally starts the
// agent, and runs one crash case in the JNI-like crashlib.dll.
//   crash_host <crashagent.dll | none> <case> [agent options]
#include <windows.h>

#include <cstdio>
#include <cstring>

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
constexpr LONG kCrashThreads = 4;
LONG g_faulted = 0;
HANDLE g_all_faulted = nullptr;
volatile LONG g_released = 0;

// Registered in front of the agent's VEH for the four-thread case: holds every faulting thread
// until all four have faulted, then lets them on to the agent together (the last one waits until
// the others are awake).
LONG CALLBACK fault_barrier(EXCEPTION_POINTERS* pointers) {
    if (pointers->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) return EXCEPTION_CONTINUE_SEARCH;
    if (InterlockedIncrement(&g_faulted) == kCrashThreads) {
        SetEvent(g_all_faulted);
        for (int i = 0; i < 10000 && g_released < kCrashThreads - 1; i++) Sleep(1);
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

DWORD WINAPI java_thread_crash(void*) {
    if (InterlockedIncrement(&g_ready) == kCrashThreads) SetEvent(g_all_ready);
    // Spin rather than wait on an event: waiters are released one by one, spinners at once.
    while (!g_go) YieldProcessor();
    java("crash_av_write");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
        g_all_ready = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        g_all_faulted = CreateEventA(nullptr, TRUE, FALSE, nullptr);
        AddVectoredExceptionHandler(1, &fault_barrier);
        HANDLE threads[kCrashThreads];
        for (auto& t : threads) t = CreateThread(nullptr, 0, &java_thread_crash, nullptr, 0, nullptr);
        WaitForSingleObject(g_all_ready, INFINITE);  // every thread is at the starting line
        InterlockedExchange(&g_go, 1);
        WaitForMultipleObjects(kCrashThreads, threads, TRUE, INFINITE);
    } else if (std::strcmp(test, "illegal_instruction") == 0) {
        java("crash_illegal_instruction");
    } else if (std::strcmp(test, "divide_by_zero") == 0) {
        java("crash_divide_by_zero");
    } else if (std::strcmp(test, "privileged_instruction") == 0) {
        java("crash_privileged_instruction");
    } else if (std::strcmp(test, "stack_overflow") == 0) {
        java("crash_stack_overflow");
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
