// Windows implementation of the platform facade's files, clocks, identities and the dispatcher
// hand-off. Every function marked crash context is usable from a vectored exception handler:
// plain Win32 calls on preallocated buffers, no CRT I/O, no heap.
#include <windows.h>

#include <atomic>

#include "core/crash_flow.h"
#include "core/writer.h"
#include "platform.h"

namespace crashagent {
namespace platform {

const char kPathSeparator = '\\';

namespace {
HANDLE g_wake_event = nullptr;   // crashing thread -> dispatcher
HANDLE g_done_event = nullptr;   // dispatcher -> crashing thread (or the stopper)
std::atomic<int> g_stop_requested{0};
}  // namespace

// Crash context.
FileHandle file_create_exclusive(const char* path) {
    HANDLE h = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ, nullptr, CREATE_NEW,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
    return h == INVALID_HANDLE_VALUE ? kInvalidFile : reinterpret_cast<FileHandle>(h);
}

// Crash context.
bool file_write(FileHandle file, const char* data, size_t len) {
    HANDLE h = reinterpret_cast<HANDLE>(file);
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : static_cast<DWORD>(len);
        DWORD written = 0;
        if (!WriteFile(h, data, chunk, &written, nullptr) || written == 0) return false;
        data += written;
        len -= written;
    }
    return true;
}

// Crash context.
void file_close(FileHandle file) {
    HANDLE h = reinterpret_cast<HANDLE>(file);
    FlushFileBuffers(h);
    CloseHandle(h);
}

// Crash context.
bool file_rename(const char* from, const char* to) {
    return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) != 0;
}

// Crash context.
void file_remove(const char* path) { DeleteFileA(path); }

// Crash context.
bool file_exists(const char* path) { return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES; }

// Crash context.
void stderr_write(const char* text) {
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    if (h && h != INVALID_HANDLE_VALUE) {
        DWORD written = 0;
        WriteFile(h, text, static_cast<DWORD>(str_length(text)), &written, nullptr);
    }
}

// Crash context.
uint64_t now_ms() {
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    uint64_t t = (static_cast<uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
    return (t - 116444736000000000ull) / 10000;  // 100 ns since 1601 -> ms since 1970
}

// Crash context.
uint64_t monotonic_ms() { return GetTickCount64(); }

// Crash context.
uint64_t process_id() { return GetCurrentProcessId(); }

// Crash context.
uint64_t current_thread_id() { return GetCurrentThreadId(); }

// Crash context.
void sleep_ms(uint32_t ms) { Sleep(ms); }

bool dispatcher_channel_open(char* error, size_t capacity) {
    if (g_wake_event) return true;
    g_wake_event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    g_done_event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    if (g_wake_event && g_done_event) return true;
    str_copy(error, capacity, "crashagent: cannot create the dispatcher events");
    return false;
}

// Crash context.
void dispatcher_wake() { SetEvent(g_wake_event); }

// Crash context.
bool dispatcher_wait_done(uint32_t timeout_ms) { return WaitForSingleObject(g_done_event, timeout_ms) == WAIT_OBJECT_0; }

bool dispatcher_wait_for_crash() {
    return WaitForSingleObject(g_wake_event, INFINITE) == WAIT_OBJECT_0 && !g_stop_requested.load(std::memory_order_acquire);
}

void dispatcher_signal_done() { SetEvent(g_done_event); }

void dispatcher_request_stop(uint32_t timeout_ms) {
    if (!g_wake_event) return;
    g_stop_requested.store(1, std::memory_order_release);
    SetEvent(g_wake_event);
    dispatcher_wait_done(timeout_ms);
}

bool check_report_dir(const char* dir, char* error, size_t capacity) {
    const char* d = (dir && *dir) ? dir : ".";
    DWORD attributes = GetFileAttributesA(d);
    const char* problem = nullptr;
    if (attributes == INVALID_FILE_ATTRIBUTES) {
        problem = "it does not exist";
    } else if (!(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
        problem = "not a directory";
    } else {
        // Creating a file is the only reliable writability test on Windows (ACLs).
        char probe[kPathCapacity + 64];
        StringSink sink{probe, sizeof(probe), 0};
        char buffer[64];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.str(d);
        w.str("\\crashagent_probe_");
        w.udec(GetCurrentProcessId());
        w.str(".tmp");
        w.flush();
        HANDLE h = CreateFileA(probe, GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                               FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, nullptr);
        if (h == INVALID_HANDLE_VALUE) problem = "it is not writable";
        else CloseHandle(h);
    }
    if (!problem) return true;
    format_report_dir_error(d, problem, error, capacity);
    return false;
}

void resolve_report_dir(const char* dir, char* out, size_t capacity) {
    const char* d = (dir && *dir) ? dir : ".";
    DWORD n = GetFullPathNameA(d, static_cast<DWORD>(capacity), out, nullptr);
    if (n == 0 || n >= capacity) str_copy(out, capacity, d);
    size_t len = str_length(out);
    while (len > 3 && (out[len - 1] == '\\' || out[len - 1] == '/')) out[--len] = '\0';
}

const char* fallback_report_dir() {
    static char temp[MAX_PATH + 1];
    if (!temp[0]) {
        DWORD n = GetTempPathA(sizeof(temp), temp);
        if (n == 0 || n > MAX_PATH) str_copy(temp, sizeof(temp), ".");
        size_t len = str_length(temp);
        if (len > 3 && temp[len - 1] == '\\') temp[len - 1] = '\0';
    }
    return temp;
}

void expected_hs_err_path(char* out, size_t capacity) {
    char cwd[kPathCapacity];
    DWORD n = GetCurrentDirectoryA(sizeof(cwd), cwd);
    StringSink sink{out, capacity, 0};
    char buffer[64];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str(n > 0 && n < sizeof(cwd) ? cwd : ".");
    w.str("\\hs_err_pid");
    w.udec(GetCurrentProcessId());
    w.str(".log");
    w.flush();
}

}  // namespace platform
}  // namespace crashagent
