// SPDX-License-Identifier: Apache-2.0
#include "fake_platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <random>

namespace crashagent {

namespace {
std::mutex g_lock;
std::map<int, std::string> g_open_paths;  // fd -> path, for the full directory

std::string directory_of(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool ends_with(const std::string& s, const char* suffix) {
    size_t n = strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
}  // namespace

namespace fake {
Platform& state() {
    static Platform p;
    return p;
}
void reset() { state() = Platform{}; }
}  // namespace fake

namespace platform {

const char kPathSeparator = '/';

FileHandle file_create_exclusive(const char* path) {
    fake::Platform& p = fake::state();
    if (!p.taken_tmp_dir.empty() && directory_of(path) == p.taken_tmp_dir && ends_with(path, ".tmp")) {
        errno = EEXIST;
        return kInvalidFile;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return kInvalidFile;
    std::lock_guard<std::mutex> hold(g_lock);
    g_open_paths[fd] = path;
    return fd;
}

bool file_write(FileHandle file, const char* data, size_t len) {
    fake::Platform& p = fake::state();
    {
        std::lock_guard<std::mutex> hold(g_lock);
        auto it = g_open_paths.find(static_cast<int>(file));
        if (p.full_free >= 0 && it != g_open_paths.end() && directory_of(it->second) == p.full_dir) {
            // A full file system: a short write at the edge, then ENOSPC.
            size_t room = static_cast<size_t>(p.full_free);
            size_t n = len < room ? len : room;
            if (n > 0 && write(static_cast<int>(file), data, n) != static_cast<ssize_t>(n)) return false;
            p.full_free -= static_cast<long long>(n);
            if (n < len) {
                errno = ENOSPC;
                return false;
            }
            return true;
        }
    }
    return write(static_cast<int>(file), data, len) == static_cast<ssize_t>(len);
}

bool file_close(FileHandle file) {
    std::lock_guard<std::mutex> hold(g_lock);
    g_open_paths.erase(static_cast<int>(file));
    return close(static_cast<int>(file)) == 0;
}

bool file_rename(const char* from, const char* to) { return rename(from, to) == 0; }
void file_remove(const char* path) { unlink(path); }
bool file_exists(const char* path) {
    struct stat st;
    return lstat(path, &st) == 0;
}
void stderr_write(const char* text) { fake::state().stderr_text += text; }
FileHandle stderr_file() { return kInvalidFile; }  // the log text on stderr: see stderr_text

const char* last_error_text() {
    switch (errno) {
        case ENOSPC: return "no space left on device";
        case EEXIST: return "the name is taken";
        case ENOENT: return "no such file or directory";
    }
    return "the system call failed";
}

uint64_t random_u64() {
    static std::mt19937_64 bits{std::random_device{}()};
    return bits();
}
uint64_t now_ms() { return 1796000000000ull; }
uint64_t monotonic_ms() { return fake::state().clock_ms; }
uint64_t monotonic_ns() { return fake::state().clock_ms * 1000000ull; }
uint64_t process_id() { return 4242; }
uint64_t current_thread_id() { return static_cast<uint64_t>(syscall(SYS_gettid)); }
void sleep_ms(uint32_t ms) { fake::state().clock_ms += ms; }

void dispatcher_wake() { fake::state().wakes++; }

DispatchWait dispatcher_wait(uint32_t timeout_ms) {
    fake::Platform& p = fake::state();
    p.dispatch_waits++;
    if (p.on_dispatch_wait) p.on_dispatch_wait();
    if (p.dispatch_script.empty()) return DispatchWait::kDone;
    DispatchWait next = p.dispatch_script.front();
    p.dispatch_script.pop_front();
    if (next == DispatchWait::kTimedOut) p.clock_ms += timeout_ms;
    return next;
}

void dispatcher_signal_done() { fake::state().dispatch_script.push_front(DispatchWait::kDone); }

const char* fallback_report_dir() { return fake::state().fallback_dir.c_str(); }

}  // namespace platform
}  // namespace crashagent
