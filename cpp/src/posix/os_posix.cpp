// SPDX-License-Identifier: Apache-2.0
// POSIX implementation of the platform facade's files, clocks and identities.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <initializer_list>

#include "core/writer.h"
#include "platform.h"

namespace crashagent {
namespace platform {

const char kPathSeparator = '/';

FileHandle file_create_exclusive(const char* path) {
    int fd;
    do {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? kInvalidFile : static_cast<FileHandle>(fd);
}

bool file_write(FileHandle file, const char* data, size_t len) {
    while (len > 0) {
        ssize_t n = write(static_cast<int>(file), data, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

// Crash context. close can report a write that failed late (NFS, quotas); EINTR leaves the
// descriptor closed on Linux, so it is not retried.
bool file_close(FileHandle file) { return close(static_cast<int>(file)) == 0 || errno == EINTR; }

// Crash context.
bool file_rename(const char* from, const char* to) { return rename(from, to) == 0; }

// Crash context.
void file_remove(const char* path) { unlink(path); }

// lstat: a dangling symlink counts as taken too.
bool file_exists(const char* path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

// Crash context.
void stderr_write(const char* text) { file_write(2, text, str_length(text)); }

// Crash context.
FileHandle stderr_file() { return 2; }

// Crash context: reads errno only.
const char* last_error_text() {
    switch (errno) {
        case ENOSPC: return "no space left on device";
        case EDQUOT: return "disk quota exceeded";
        case EFBIG: return "file too large";
        case EROFS: return "read-only file system";
        case EACCES:
        case EPERM: return "permission denied";
        case ENOENT: return "no such file or directory";
        case EEXIST: return "the name is taken";
        case ELOOP: return "the name is a symbolic link";
        case EIO: return "input/output error";
        case EMFILE:
        case ENFILE: return "too many open files";
    }
    return "the system call failed";
}

// Crash context: getrandom is a system call; without it (old kernels, seccomp), a mix of
// clocks and identities, which still differs between runs and between processes.
uint64_t random_u64() {
    uint64_t value = 0;
#ifdef SYS_getrandom
    if (syscall(SYS_getrandom, &value, sizeof(value), 1 /* GRND_NONBLOCK */) == sizeof(value)) return value;
#endif
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    value = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 30) ^
            (static_cast<uint64_t>(getpid()) << 40) ^ reinterpret_cast<uintptr_t>(&ts);
    // splitmix64's finaliser spreads the bits
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
    return value ^ (value >> 31);
}

uint64_t now_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t monotonic_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t monotonic_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Crash context.
uint64_t process_id() { return static_cast<uint64_t>(getpid()); }

// Crash context.
uint64_t current_thread_id() { return static_cast<uint64_t>(syscall(SYS_gettid)); }

void sleep_ms(uint32_t ms) {
    struct timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool check_report_dir(const char* dir, char* error, size_t capacity) {
    const char* d = (dir && *dir) ? dir : ".";
    struct stat st;
    const char* problem = nullptr;
    if (stat(d, &st) != 0) {
        problem = strerror(errno);
    } else if (!S_ISDIR(st.st_mode)) {
        problem = "not a directory";
    } else if (access(d, W_OK | X_OK) != 0) {
        problem = strerror(errno);
    }
    if (!problem) return true;
    format_report_dir_error(d, problem, error, capacity);
    return false;
}

void resolve_report_dir(const char* dir, char* out, size_t capacity) {
    const char* d = (dir && *dir) ? dir : ".";
    char* resolved = realpath(d, nullptr);
    str_copy(out, capacity, resolved ? resolved : d);
    free(resolved);
    size_t n = str_length(out);
    while (n > 1 && out[n - 1] == '/') out[--n] = '\0';
    fallback_report_dir();  // fixed now: getenv and realpath are not for crash context
}

// Crash context once resolve_report_dir has run (crashagent_start runs it before the handlers
// go in): then it only returns the buffer.
const char* fallback_report_dir() {
    static char temp[kPathCapacity];
    if (!temp[0]) {
        const char* env = getenv("TMPDIR");
        char* resolved = env && env[0] == '/' ? realpath(env, nullptr) : nullptr;
        struct stat st;
        bool usable = resolved && stat(resolved, &st) == 0 && S_ISDIR(st.st_mode) && str_length(resolved) < sizeof(temp);
        str_copy(temp, sizeof(temp), usable ? resolved : "/tmp");
        free(resolved);
    }
    return temp;
}

namespace {

// Finds -XX:ErrorFile=... in a NUL- or space-separated argument list; the last one wins, as in
// HotSpot's own parsing.
// Launcher options whose value is the next argument; any other argument not starting with '-'
// is the main class (or follows -jar / -m), after which come the application's own arguments.
bool takes_value(const char* arg, size_t len) {
    static const char* const kWithValue[] = {"-cp", "-classpath", "--class-path", "-p", "--module-path",
                                             "--upgrade-module-path", "--add-modules", "--add-exports",
                                             "--add-opens", "--add-reads", "--patch-module", "--limit-modules"};
    for (const char* option : kWithValue) {
        if (strlen(option) == len && memcmp(arg, option, len) == 0) return true;
    }
    return false;
}

const char* find_error_file(const char* begin, const char* end, char separator, bool command_line, char* out,
                            size_t capacity) {
    static const char kFlag[] = "-XX:ErrorFile=";
    const char* found = nullptr;
    const char* p = begin;
    bool first = command_line;  // argv[0] is the launcher itself
    bool value_next = false;
    while (p < end) {
        const char* q = p;
        while (q < end && *q != separator && *q != '\0') q++;
        size_t len = static_cast<size_t>(q - p);
        if (command_line && !first) {
            if (value_next) {
                value_next = false;
            } else if (len == 0) {
            } else if (p[0] != '-' || (len == 4 && memcmp(p, "-jar", 4) == 0) ||
                       (len == 2 && memcmp(p, "-m", 2) == 0) || (len == 8 && memcmp(p, "--module", 8) == 0)) {
                break;  // the application's arguments start here
            } else if (takes_value(p, len)) {
                value_next = true;
            }
        }
        first = false;
        if (len > sizeof(kFlag) - 1 && memcmp(p, kFlag, sizeof(kFlag) - 1) == 0) {
            size_t n = len - (sizeof(kFlag) - 1);
            if (n >= capacity) n = capacity - 1;
            memcpy(out, p + sizeof(kFlag) - 1, n);
            out[n] = '\0';
            found = out;
        }
        p = q + 1;
    }
    return found;
}

}  // namespace

namespace {
char g_error_file[kPathCapacity];  // -XX:ErrorFile expanded at startup, or empty

// Crash context. HotSpot creates hs_err with O_EXCL in a directory it can write: true when
// path's directory takes it and the name is free.
bool hs_err_would_go_to(const char* path) {
    char dir[kPathCapacity];
    str_copy(dir, sizeof(dir), path);
    char* slash = nullptr;
    for (char* p = dir; *p; p++) {
        if (*p == '/') slash = p;
    }
    if (!slash) return false;
    if (slash == dir) slash[1] = '\0'; else *slash = '\0';
    struct stat st;
    return access(dir, W_OK | X_OK) == 0 && lstat(path, &st) != 0;
}
}  // namespace

// VMError::prepare_log_file's order: -XX:ErrorFile, then hs_err_pid<pid>.log in
// the working directory at the time of the crash, then in /tmp; none when no place takes it
// (HotSpot then prints the report to stdout only).
void hs_err_path_at_crash(char* out, size_t capacity) {
    if (!out[0]) return;  // not a JVM
    char candidate[kPathCapacity];
    if (g_error_file[0] && hs_err_would_go_to(g_error_file)) {
        str_copy(out, capacity, g_error_file);
        return;
    }
    char cwd[kPathCapacity];
    long n = syscall(SYS_getcwd, cwd, sizeof(cwd));
    const char* dirs[2] = {n > 0 ? cwd : nullptr, "/tmp"};
    for (const char* dir : dirs) {
        if (!dir) continue;
        StringSink sink{candidate, sizeof(candidate), 0};
        char buffer[64];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.str(dir);
        w.str("/hs_err_pid");
        w.udec(process_id());
        w.str(".log");
        w.flush();
        if (hs_err_would_go_to(candidate)) {
            str_copy(out, capacity, candidate);
            return;
        }
    }
    out[0] = '\0';
}

void expected_hs_err_path(char* out, size_t capacity) {
    char pattern[kPathCapacity] = {0};
    bool have = false;
    // HotSpot reads JAVA_TOOL_OPTIONS, then the command line, then _JAVA_OPTIONS; the last wins.
    // (JDK_JAVA_OPTIONS is expanded into the command line by the launcher.)
    const char* tool = getenv("JAVA_TOOL_OPTIONS");
    if (tool && find_error_file(tool, tool + strlen(tool), ' ', false, pattern, sizeof(pattern))) have = true;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        static char cmdline[64 * 1024];
        ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        close(fd);
        if (n > 0 && find_error_file(cmdline, cmdline + n, '\0', true, pattern, sizeof(pattern))) have = true;
    }
    const char* late = getenv("_JAVA_OPTIONS");
    if (late && find_error_file(late, late + strlen(late), ' ', false, pattern, sizeof(pattern))) have = true;
    StringSink sink{out, capacity, 0};
    char buffer[128];
    Writer w(buffer, sizeof(buffer), sink.sink());
    if (!have) {
        char cwd[kPathCapacity];
        w.str(getcwd(cwd, sizeof(cwd)) ? cwd : ".");
        w.str("/hs_err_pid");
        w.udec(process_id());
        w.str(".log");
        w.flush();
        return;
    }
    if (pattern[0] != '/') {
        char cwd[kPathCapacity];
        if (getcwd(cwd, sizeof(cwd))) {
            w.str(cwd);
            w.ch('/');
        }
    }
    for (const char* p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            w.udec(process_id());
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            w.ch('%');
            p++;
        } else {
            w.ch(*p);
        }
    }
    w.flush();
    str_copy(g_error_file, sizeof(g_error_file), out);
}

void* exec_memory_reserve(size_t size, char* error, size_t error_capacity) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) return p;
    snprintf(error, error_capacity, "mmap of %zu bytes failed: %s", size, strerror(errno));
    return nullptr;
}

bool exec_memory_seal(void* memory, size_t size, char* error, size_t error_capacity) {
    if (mprotect(memory, size, PROT_READ | PROT_EXEC) == 0) return true;
    // SELinux's execmem (deny_execmem) refuses exactly this.
    snprintf(error, error_capacity, "mprotect(PROT_READ|PROT_EXEC) failed: %s", strerror(errno));
    return false;
}

}  // namespace platform
}  // namespace crashagent
