// Loads the agent library like a non-JVM host would and drives it from the command line:
//   agent_host <library> start <options>      start, stop, exit 0 (or the start code)
//   agent_host <library> crash <options>      start, then write through a null pointer
//   agent_host <library> stop-crash <options> start, stop, then write through a null pointer
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

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
    if (strcmp(argv[2], "stop-crash") == 0) {
        stop();
        write_null(42);
    }
    stop();
    return 0;
}
