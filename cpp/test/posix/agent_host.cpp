// SPDX-License-Identifier: Apache-2.0
// Loads the agent library like a non-JVM host would and drives it from the command line:
//   agent_host <library> start <options>      start, stop, exit 0 (or the start code)
//   agent_host <library> crash <options>      start, then write through a null pointer
//   agent_host <library> stop-crash <options> start, stop, then write through a null pointer
//   agent_host <library> crash-no-malloc <options>  crash with every allocation forbidden
//   agent_host <library> crash-after-earlier-reports <options>  leave reports of an earlier
//       process with this pid in the working directory, then crash
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

// This executable interposes the allocator for the whole process, the agent included. In the
// crash-no-malloc mode any allocation after the fault means the crash path is not
// async-signal-safe: the process then exits with 97 instead of dying by the signal.
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void __libc_free(void*);

static std::atomic<bool> g_allocation_forbidden{false};

static void check_allocation(const char* what) {
    if (!g_allocation_forbidden.load()) return;
    static const char prefix[] = "ALLOCATION IN CRASH PATH: ";
    ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
    ignored = write(2, what, strlen(what));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(97);
}

extern "C" void* malloc(size_t n) {
    check_allocation("malloc");
    return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) {
    check_allocation("calloc");
    return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, size_t n) {
    check_allocation("realloc");
    return __libc_realloc(p, n);
}
extern "C" void free(void* p) {
    check_allocation("free");
    __libc_free(p);
}

using StartFn = int (*)(const char*);
using StopFn = void (*)();

// Read through a volatile so the compiler cannot prove the store faults and drop it.
int* volatile g_null = nullptr;

__attribute__((noinline)) static void write_null(int value) {
    *g_null = value;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: agent_host <library> start|crash|stop-crash <options>\n");
        return 64;
    }
    void* lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 65;
    }
    StartFn start = reinterpret_cast<StartFn>(dlsym(lib, "crashagent_start"));
    StopFn stop = reinterpret_cast<StopFn>(dlsym(lib, "crashagent_stop"));
    if (!start || !stop) {
        fprintf(stderr, "crashagent_start/crashagent_stop are not exported\n");
        return 66;
    }
    int rc = start(argv[3]);
    printf("start=%d\n", rc);
    fflush(stdout);
    if (rc != 0) return rc;
    if (strcmp(argv[2], "crash") == 0) write_null(42);
    if (strcmp(argv[2], "crash-after-earlier-reports") == 0) {
        // Names an earlier process with this pid left behind (run in the report directory).
        char name[64];
        for (const char* suffix : {".log", "_1.log", "_1.json"}) {
            snprintf(name, sizeof(name), "crashagent_pid%d%s", static_cast<int>(getpid()), suffix);
            FILE* f = fopen(name, "w");
            if (!f) return 67;
            fputs("earlier", f);
            fclose(f);
        }
        write_null(42);
    }
    if (strcmp(argv[2], "crash-no-malloc") == 0) {
        g_allocation_forbidden.store(true);
        write_null(42);
    }
    if (strcmp(argv[2], "stop-crash") == 0) {
        stop();
        write_null(42);
    }
    stop();
    return 0;
}
