// SPDX-License-Identifier: Apache-2.0
// LD_PRELOAD library for the tests: directories whose file system is full, and names someone
// else took. Chosen over a real small tmpfs because it needs neither root nor mount rights, and
// puts the failure at an exact byte count.
//   CRASHAGENT_FULL_DIRS=<dir>[:<dir>...]  writes to files in these directories share
//   CRASHAGENT_FULL_FREE=<bytes>           this many bytes (default 0), then fail with ENOSPC,
//                                          with a short write at the edge, as a full tmpfs does
//   CRASHAGENT_FULL_TRIGGER=<file>         no bytes at all once this file exists
//   CRASHAGENT_TAKEN_TMP=1                 every exclusive create of a *.tmp in those
//                                          directories fails with EEXIST
//   CRASHAGENT_DENY_EXEC=1                 mprotect(PROT_EXEC) called from the agent library
//                                          fails with EACCES, as under SELinux deny_execmem
//                                          (only the agent's: the JVM's own calls go through)
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace {

std::atomic<long long> g_free{-1};  // -1 until read from the environment

// True when path lies directly in one of the full directories.
bool in_full_dir(const char* path) {
    const char* dirs = getenv("CRASHAGENT_FULL_DIRS");
    if (!dirs || !path) return false;
    const char* slash = strrchr(path, '/');
    if (!slash) return false;
    size_t dir_len = static_cast<size_t>(slash - path);
    for (const char* p = dirs; *p;) {
        const char* end = strchr(p, ':');
        size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
        if (len == dir_len && strncmp(p, path, len) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

bool fd_in_full_dir(int fd) {
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    char path[4096];
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0) return false;
    path[n] = '\0';
    return in_full_dir(path);
}

using WriteFn = ssize_t (*)(int, const void*, size_t);
using OpenFn = int (*)(const char*, int, ...);

}  // namespace

extern "C" __attribute__((visibility("default"))) ssize_t write(int fd, const void* data, size_t len) {
    static WriteFn real = reinterpret_cast<WriteFn>(dlsym(RTLD_NEXT, "write"));
    if (fd > 2 && fd_in_full_dir(fd)) {
        long long free_bytes = g_free.load();
        if (free_bytes < 0) {
            const char* text = getenv("CRASHAGENT_FULL_FREE");
            long long initial = text ? atoll(text) : 0;
            g_free.compare_exchange_strong(free_bytes, initial);
            free_bytes = g_free.load();
        }
        const char* trigger = getenv("CRASHAGENT_FULL_TRIGGER");
        struct stat st;
        if (trigger && stat(trigger, &st) == 0) free_bytes = 0;
        if (free_bytes <= 0) {
            errno = ENOSPC;
            return -1;
        }
        if (static_cast<long long>(len) > free_bytes) len = static_cast<size_t>(free_bytes);
        g_free.fetch_sub(static_cast<long long>(len));
    }
    return real(fd, data, len);
}

extern "C" __attribute__((visibility("default"))) int open(const char* path, int flags, ...) {
    static OpenFn real = reinterpret_cast<OpenFn>(dlsym(RTLD_NEXT, "open"));
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list args;
        va_start(args, flags);
        mode = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    const char* taken = getenv("CRASHAGENT_TAKEN_TMP");
    size_t len = strlen(path);
    if (taken && taken[0] == '1' && (flags & O_EXCL) && len > 4 && strcmp(path + len - 4, ".tmp") == 0 &&
        in_full_dir(path)) {
        errno = EEXIST;
        return -1;
    }
    return real(path, flags, mode);
}

using MprotectFn = int (*)(void*, size_t, int);

extern "C" __attribute__((visibility("default"))) int mprotect(void* address, size_t len, int prot) {
    static MprotectFn real = reinterpret_cast<MprotectFn>(dlsym(RTLD_NEXT, "mprotect"));
    const char* deny = getenv("CRASHAGENT_DENY_EXEC");
    if (deny && deny[0] == '1' && (prot & PROT_EXEC)) {
        Dl_info caller;
        if (dladdr(__builtin_return_address(0), &caller) && caller.dli_fname &&
            strstr(caller.dli_fname, "libcrashagent")) {
            errno = EACCES;
            return -1;
        }
    }
    return real(address, len, prot);
}
