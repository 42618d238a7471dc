// SPDX-License-Identifier: Apache-2.0
// Windows implementation of the platform facade's files, clocks, identities and the dispatcher
// hand-off. Every function marked crash context is usable from a vectored exception handler:
// plain Win32 calls on preallocated buffers, no CRT I/O, no heap.
#include <windows.h>
#include <winternl.h>

#include <stdio.h>

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
HANDLE g_progress_event = nullptr;  // dispatcher -> crashing thread: a listener finished
HANDLE g_stopped_event = nullptr;  // dispatcher -> the thread that asked it to stop
std::atomic<int> g_stop_requested{0};
}  // namespace

// --- Files without the process heap -------------------------------------------------------------
// The Win32 file functions (CreateFile, MoveFileEx, DeleteFile, GetFileAttributes) turn their DOS
// path into an NT path in a buffer from the process heap, so they block while another thread holds
// the heap's lock: one in the middle of a HeapAlloc, or one that crashed inside it. The crash path
// therefore calls ntdll's file functions directly, with NT paths built in stack buffers. They are
// looked up when the DLL loads. A relative path (which the report directory never is: it is made
// absolute at start) falls back to the Win32 functions.
namespace {

using NtCreateFileFn = NTSTATUS(NTAPI*)(HANDLE*, ACCESS_MASK, OBJECT_ATTRIBUTES*, IO_STATUS_BLOCK*, LARGE_INTEGER*,
                                        ULONG, ULONG, ULONG, ULONG, void*, ULONG);
using NtSetInformationFileFn = NTSTATUS(NTAPI*)(HANDLE, IO_STATUS_BLOCK*, void*, ULONG, FILE_INFORMATION_CLASS);
using NtQueryAttributesFileFn = NTSTATUS(NTAPI*)(OBJECT_ATTRIBUTES*, FILE_BASIC_INFORMATION*);
using RtlNtStatusToDosErrorFn = ULONG(NTAPI*)(NTSTATUS);

struct NtFileApi {
    NtCreateFileFn create;
    NtSetInformationFileFn set_information;
    NtQueryAttributesFileFn query_attributes;
    RtlNtStatusToDosErrorFn to_dos_error;
};

template <typename Fn>
Fn ntdll_function(HMODULE ntdll, const char* name) {
    return ntdll ? reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(ntdll, name))) : nullptr;
}

NtFileApi resolve_nt_file_api() {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    NtFileApi api{ntdll_function<NtCreateFileFn>(ntdll, "NtCreateFile"),
                  ntdll_function<NtSetInformationFileFn>(ntdll, "NtSetInformationFile"),
                  ntdll_function<NtQueryAttributesFileFn>(ntdll, "NtQueryAttributesFile"),
                  ntdll_function<RtlNtStatusToDosErrorFn>(ntdll, "RtlNtStatusToDosError")};
    if (!api.create || !api.set_information || !api.query_attributes || !api.to_dos_error) return NtFileApi{};
    return api;
}

// Resolved while the DLL loads (ntdll is always loaded first), long before any crash.
const NtFileApi g_nt = resolve_nt_file_api();

constexpr size_t kNtPathChars = kPathCapacity + 16;
constexpr NTSTATUS kStatusObjectNameCollision = static_cast<NTSTATUS>(0xC0000035);

// An NT path ("\??\C:\dir\file") in a caller's buffer, with the UNICODE_STRING and
// OBJECT_ATTRIBUTES that point at it.
struct NtPath {
    WCHAR chars[kNtPathChars];
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES attributes;
};

// Crash context. Builds the NT path of an absolute Win32 path: "C:\x" -> "\??\C:\x",
// "\\server\share\x" -> "\??\UNC\server\share\x", "\\?\x" and "\\.\x" -> "\??\x".
// False for relative paths and when ntdll's functions are missing.
bool to_nt_path(const char* path, NtPath* out) {
    if (!g_nt.create || !path) return false;
    WCHAR wide[kPathCapacity];
    int n = MultiByteToWideChar(AreFileApisANSI() ? CP_ACP : CP_OEMCP, 0, path, -1, wide, kPathCapacity);
    if (n <= 1) return false;
    for (int i = 0; i < n; i++) {
        if (wide[i] == L'/') wide[i] = L'\\';
    }
    const WCHAR* rest = nullptr;
    const WCHAR* prefix = L"\\??\\";
    bool drive = ((wide[0] | 0x20) >= L'a' && (wide[0] | 0x20) <= L'z') && wide[1] == L':' && wide[2] == L'\\';
    if (drive) {
        rest = wide;
    } else if (wide[0] == L'\\' && wide[1] == L'\\' && (wide[2] == L'?' || wide[2] == L'.') && wide[3] == L'\\') {
        rest = wide + 4;
    } else if (wide[0] == L'\\' && wide[1] == L'\\' && wide[2] && wide[2] != L'\\') {
        prefix = L"\\??\\UNC\\";
        rest = wide + 2;
    } else {
        return false;
    }
    size_t used = 0;
    for (const WCHAR* p = prefix; *p; p++) out->chars[used++] = *p;
    for (const WCHAR* p = rest; *p; p++) {
        if (used + 1 >= kNtPathChars) return false;
        out->chars[used++] = *p;
    }
    out->chars[used] = L'\0';
    if (used * sizeof(WCHAR) > 0xFFF0) return false;
    out->name.Buffer = out->chars;
    out->name.Length = static_cast<USHORT>(used * sizeof(WCHAR));
    out->name.MaximumLength = static_cast<USHORT>(used * sizeof(WCHAR) + sizeof(WCHAR));
    ZeroMemory(&out->attributes, sizeof(out->attributes));
    out->attributes.Length = sizeof(OBJECT_ATTRIBUTES);
    out->attributes.ObjectName = &out->name;
    out->attributes.Attributes = OBJ_CASE_INSENSITIVE;
    return true;
}

// Crash context. NtCreateFile with the last error set as CreateFile would set it.
HANDLE nt_create(NtPath* path, ACCESS_MASK access, ULONG share, ULONG disposition, ULONG options) {
    HANDLE h = nullptr;
    IO_STATUS_BLOCK io;
    NTSTATUS status = g_nt.create(&h, access | SYNCHRONIZE | FILE_READ_ATTRIBUTES, &path->attributes, &io, nullptr,
                                  FILE_ATTRIBUTE_NORMAL, share, disposition,
                                  options | FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE |
                                      FILE_OPEN_REPARSE_POINT,
                                  nullptr, 0);
    if (status >= 0) return h;
    SetLastError(status == kStatusObjectNameCollision ? ERROR_FILE_EXISTS : g_nt.to_dos_error(status));
    return INVALID_HANDLE_VALUE;
}

}  // namespace

FileHandle file_create_exclusive(const char* path) {
    NtPath nt;
    HANDLE h = to_nt_path(path, &nt)
                   ? nt_create(&nt, FILE_GENERIC_WRITE, FILE_SHARE_READ, FILE_CREATE, 0)
                   : CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ, nullptr, CREATE_NEW,
                                 FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
    return h == INVALID_HANDLE_VALUE ? kInvalidFile : reinterpret_cast<FileHandle>(h);
}

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

// A failed flush is a write that did not reach the disk.
bool file_close(FileHandle file) {
    HANDLE h = reinterpret_cast<HANDLE>(file);
    bool flushed = FlushFileBuffers(h) != 0;
    DWORD error = flushed ? ERROR_SUCCESS : GetLastError();
    CloseHandle(h);
    if (!flushed) SetLastError(error);
    return flushed;
}

// Replaces `to`, as MoveFileEx(MOVEFILE_REPLACE_EXISTING) does; the file was
// flushed when it was closed.
bool file_rename(const char* from, const char* to) {
    NtPath source;
    NtPath target;
    if (!to_nt_path(from, &source) || !to_nt_path(to, &target)) {
        return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) != 0;
    }
    struct {
        FILE_RENAME_INFORMATION header;
        WCHAR room[kNtPathChars];
    } rename;
    rename.header.ReplaceIfExists = TRUE;
    rename.header.RootDirectory = nullptr;
    rename.header.FileNameLength = target.name.Length;
    CopyMemory(rename.header.FileName, target.chars, target.name.Length);
    HANDLE h = nt_create(&source, DELETE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN, 0);
    if (h == INVALID_HANDLE_VALUE) return false;
    IO_STATUS_BLOCK io;
    NTSTATUS status = g_nt.set_information(h, &io, &rename, sizeof(rename), FileRenameInformation);
    CloseHandle(h);
    if (status >= 0) return true;
    SetLastError(g_nt.to_dos_error(status));
    return false;
}

void file_remove(const char* path) {
    NtPath nt;
    if (!to_nt_path(path, &nt)) {
        DeleteFileA(path);
        return;
    }
    HANDLE h = nt_create(&nt, DELETE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, FILE_OPEN,
                         FILE_DELETE_ON_CLOSE);
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
}

bool file_exists(const char* path) {
    NtPath nt;
    if (!to_nt_path(path, &nt)) return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
    FILE_BASIC_INFORMATION info;
    return g_nt.query_attributes(&nt.attributes, &info) >= 0;
}

FileHandle stderr_file() {
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    return h && h != INVALID_HANDLE_VALUE ? reinterpret_cast<FileHandle>(h) : kInvalidFile;
}

// Crash context: reads the thread's last error only.
const char* last_error_text() {
    switch (GetLastError()) {
        case ERROR_DISK_FULL:
        case ERROR_HANDLE_DISK_FULL: return "no space left on device";
        case ERROR_ACCESS_DENIED: return "access denied";
        case ERROR_WRITE_PROTECT: return "the medium is write-protected";
        case ERROR_PATH_NOT_FOUND:
        case ERROR_FILE_NOT_FOUND: return "no such file or directory";
        case ERROR_FILE_EXISTS:
        case ERROR_ALREADY_EXISTS: return "the name is taken";
        case ERROR_SHARING_VIOLATION: return "the file is in use";
    }
    return "the system call failed";
}

// No system random source here: bcrypt may load DLLs, which the loader lock held
// by a crashing thread can block. Reports go to per-user directories on Windows, so the name
// only has to differ, not to resist guessing.
uint64_t random_u64() {
    static std::atomic<uint64_t> counter{0};
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    uint64_t value = static_cast<uint64_t>(now.QuadPart) ^ (static_cast<uint64_t>(GetCurrentProcessId()) << 32) ^
                     (static_cast<uint64_t>(GetCurrentThreadId()) << 16) ^
                     (counter.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed));
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
    return value ^ (value >> 31);
}

void stderr_write(const char* text) {
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    if (h && h != INVALID_HANDLE_VALUE) {
        DWORD written = 0;
        WriteFile(h, text, static_cast<DWORD>(str_length(text)), &written, nullptr);
    }
}

uint64_t now_ms() {
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    uint64_t t = (static_cast<uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
    return (t - 116444736000000000ull) / 10000;  // 100 ns since 1601 -> ms since 1970
}

// Crash context.
uint64_t monotonic_ms() { return GetTickCount64(); }

// Crash context.
uint64_t monotonic_ns() {
    LARGE_INTEGER count, frequency;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&frequency);
    uint64_t f = static_cast<uint64_t>(frequency.QuadPart);
    uint64_t c = static_cast<uint64_t>(count.QuadPart);
    return f ? c / f * 1000000000ull + c % f * 1000000000ull / f : 0;
}

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
    g_stopped_event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    g_progress_event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    if (g_wake_event && g_done_event && g_stopped_event && g_progress_event) return true;
    str_copy(error, capacity, "crashagent: cannot create the dispatcher events");
    return false;
}

// A "done" left over from a dispatch that the previous (released) crash stopped
// waiting for must not end the wait for this one.
void dispatcher_wake() {
    ResetEvent(g_done_event);
    ResetEvent(g_progress_event);
    SetEvent(g_wake_event);
}

// Done comes first when both are set.
DispatchWait dispatcher_wait(uint32_t timeout_ms) {
    HANDLE events[2] = {g_done_event, g_progress_event};
    DWORD r = WaitForMultipleObjects(2, events, FALSE, timeout_ms);
    if (r == WAIT_OBJECT_0) return DispatchWait::kDone;
    if (r == WAIT_OBJECT_0 + 1) return DispatchWait::kProgress;
    return DispatchWait::kTimedOut;
}

bool dispatcher_wait_for_crash() {
    return WaitForSingleObject(g_wake_event, INFINITE) == WAIT_OBJECT_0 && !g_stop_requested.load(std::memory_order_acquire);
}

void dispatcher_signal_done() { SetEvent(g_done_event); }

void dispatcher_signal_progress() { SetEvent(g_progress_event); }

void dispatcher_signal_stopped() { SetEvent(g_stopped_event); }

void dispatcher_request_stop(uint32_t timeout_ms) {
    if (!g_wake_event) return;
    g_stop_requested.store(1, std::memory_order_release);
    SetEvent(g_wake_event);
    WaitForSingleObject(g_stopped_event, timeout_ms);
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
    fallback_report_dir();  // computed now: GetTempPath may allocate, and crash context must not
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

// Crash context. The path named at startup; Windows HotSpot's fallbacks are not predicted.
void hs_err_path_at_crash(char*, size_t) {}

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

void* exec_memory_reserve(size_t size, char* error, size_t error_capacity) {
    void* p = VirtualAlloc(nullptr, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (p) return p;
    snprintf(error, error_capacity, "VirtualAlloc of %zu bytes failed (error %lu)", size,
             static_cast<unsigned long>(GetLastError()));
    return nullptr;
}

bool exec_memory_seal(void* memory, size_t size, char* error, size_t error_capacity) {
    DWORD old = 0;
    // Arbitrary Code Guard refuses exactly this.
    if (VirtualProtect(memory, size, PAGE_EXECUTE_READ, &old)) {
        FlushInstructionCache(GetCurrentProcess(), memory, size);
        return true;
    }
    snprintf(error, error_capacity, "VirtualProtect(PAGE_EXECUTE_READ) failed (error %lu)",
             static_cast<unsigned long>(GetLastError()));
    return false;
}

}  // namespace platform
}  // namespace crashagent
