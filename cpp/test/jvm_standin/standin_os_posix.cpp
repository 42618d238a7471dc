// SPDX-License-Identifier: Apache-2.0
// The JVM stand-in's Linux half: threads, libraries, and HotSpot's way of handling a fatal signal.
// HotSpot installs its SIGSEGV, SIGBUS, SIGILL and SIGFPE handlers before it loads agents, and
// exports JVM_handle_linux_signal for code that handles signals itself (the agent asks it first).
// A fault it does not own ends in hs_err and abort().
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "standin.h"

namespace standin {

struct OsThread {
    pthread_t thread;
    Body body;
    void* arg;
};

namespace {

void (*g_before_hs_err)() = nullptr;

void* thread_start(void* p) {
    OsThread* t = static_cast<OsThread*>(p);
    t->body(t->arg);
    return nullptr;
}

bool agent_report_present() {
    DIR* dir = opendir(".");
    if (!dir) return false;
    bool found = false;
    while (dirent* e = readdir(dir)) {
        size_t n = std::strlen(e->d_name);
        if (std::strncmp(e->d_name, "crashagent_pid", 14) == 0 && n > 5 && std::strcmp(e->d_name + n - 5, ".json") == 0) {
            found = true;
        }
    }
    closedir(dir);
    return found;
}

// Like VMError::report_and_die: the first fatal error writes hs_err and aborts.
[[noreturn]] void report_and_die(int sig) {
    static volatile sig_atomic_t reporting = 0;
    if (reporting) {
        for (;;) pause();
    }
    reporting = 1;
    if (g_before_hs_err) g_before_hs_err();
    char name[64];
    std::snprintf(name, sizeof(name), "hs_err_pid%d.log", static_cast<int>(getpid()));
    char text[128];
    int n = std::snprintf(text, sizeof(text), "fatal signal %d\nagent_report_present=%d\n", sig,
                          agent_report_present() ? 1 : 0);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t ignored = write(fd, text, static_cast<size_t>(n));
        (void)ignored;
        close(fd);
    }
    abort();
}

void jvm_signal_handler(int sig, siginfo_t* info, void* context);

}  // namespace
}  // namespace standin

// Nothing is the stand-in's own fault to resume: every fault is either a crash (abort_if_unrecognized
// set: report and die) or not recognised (false).
extern "C" STANDIN_EXPORT int JVM_handle_linux_signal(int sig, siginfo_t*, void*, int abort_if_unrecognized) {
    if (abort_if_unrecognized) standin::report_and_die(sig);
    return 0;
}

namespace standin {
namespace {
void jvm_signal_handler(int sig, siginfo_t* info, void* context) { JVM_handle_linux_signal(sig, info, context, 1); }
}  // namespace

OsThread* os_start_thread(Body body, void* arg) {
    OsThread* t = new OsThread{pthread_t(), body, arg};
    if (pthread_create(&t->thread, nullptr, &thread_start, t) != 0) {
        delete t;
        return nullptr;
    }
    return t;
}

bool os_join_thread(OsThread* thread, uint32_t timeout_ms) {
    if (timeout_ms == 0xFFFFFFFFu) return pthread_join(thread->thread, nullptr) == 0;
    timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += static_cast<long>(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(thread->thread, nullptr, &deadline) == 0;
}

void os_java_call(Body body, void* arg) { body(arg); }

void os_install_jvm_handlers(void (*before_hs_err)()) {
    g_before_hs_err = before_hs_err;
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = &jvm_signal_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) sigaction(sig, &action, nullptr);
}

// sub rsp, 0x28 / mov rax, <target> / call rax / add rsp, 0x28 / ret. 0x28 keeps the stack 16-byte
// aligned at the call and, on Windows, leaves the callee its 32 bytes of home space.
const unsigned char kWrapperCode[] = {0x48, 0x83, 0xEC, 0x28, 0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0xFF, 0xD0, 0x48, 0x83, 0xC4, 0x28, 0xC3};
constexpr size_t kWrapperTarget = 6;  // where the target address goes

void* os_make_native_wrapper(void* target, uint32_t* size) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* mem = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    auto* code = static_cast<unsigned char*>(mem);
    std::memcpy(code, kWrapperCode, sizeof(kWrapperCode));
    std::memcpy(code + kWrapperTarget, &target, sizeof(target));
    if (mprotect(mem, page, PROT_READ | PROT_EXEC) != 0) return nullptr;
    *size = sizeof(kWrapperCode);
    return mem;
}

bool os_agent_report_present() { return agent_report_present(); }

uint64_t os_thread_id() { return static_cast<uint64_t>(syscall(SYS_gettid)); }

void* os_load_library(const char* path, char* error, size_t capacity) {
    void* handle = dlopen(path, RTLD_LAZY);
    if (!handle) std::snprintf(error, capacity, "%s", dlerror());
    return handle;
}

void* os_find_symbol(void* library, const char* name) { return dlsym(library, name); }

uint64_t os_now_us() {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000ull + static_cast<uint64_t>(now.tv_nsec) / 1000ull;
}

void os_hang() {
    for (;;) pause();
}

}  // namespace standin
