// SPDX-License-Identifier: Apache-2.0
// The crash record: filled in place by the crashing thread (native part) and by the dispatcher
// (Java part). Preallocated, so the crash path allocates nothing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/app_context.h"
#include "core/native_calls.h"
#include "core/options.h"

namespace crashagent {

constexpr int kMaxNativeFrames = 64;
constexpr int kMaxModules = 512;
constexpr int kMaxRegisters = 40;  // aarch64: x0-x28, fp, lr, sp, pc, pstate, esr
constexpr int kMaxJavaFrames = 64;
constexpr int kMaxListeners = 16;
constexpr int kMaxOtherCrashes = 16;
constexpr size_t kSymbolCapacity = 256;
constexpr size_t kNameCapacity = 256;
constexpr size_t kJvmCodeTextCapacity = 160;

// Version of the JSON report schema (schema/crash-report.schema.json).
constexpr int kReportSchemaVersion = 2;

constexpr size_t kBuildIdCapacity = 65;  // up to 32 bytes as hex; GNU ld writes 20 (SHA-1)

struct Module {
    uint64_t base;   // load address (start of the mapping at file offset 0)
    uint64_t end;    // end of the highest mapping of this file
    bool executable; // some mapping of it is executable (code, not data)
    char path[kPathCapacity];
    char build_id[kBuildIdCapacity];  // ELF: the GNU build-id, lowercase hex; empty when none
    // PE, as symbol servers key them: the CodeView record's PDB name, and <GUID><age> for the
    // PDB; <TimeDateStamp %08X><SizeOfImage %x> for the image itself. Empty when unknown.
    char pdb_name[260];
    char debug_id[48];
    char code_id[24];
};

struct NativeFrame {
    uint64_t pc;
    int module;                       // index into CrashRecord::modules, or -1
    uint64_t symbol_offset;           // pc - symbol start, valid when symbol is not empty
    char symbol[kSymbolCapacity];
    // For a frame outside any module: what JVM-generated code it is in ("compiled pkg.C.m()V",
    // "native wrapper for pkg.C.m()V", "Interpreter", ...), empty when unknown (core/jvm_code.h).
    char jvm_code[kJvmCodeTextCapacity];
};

struct Register {
    const char* name;                 // static string
    uint64_t value;
};

struct JavaFrame {
    char class_name[kNameCapacity];
    char method[kNameCapacity];
    char file[kNameCapacity];
    int line;                         // -1 unknown, -2 native method
};

enum class ListenerState : int { kEmpty = 0, kRunning = 1, kDone = 2 };

struct ListenerOutcome {
    std::atomic<int> state;           // ListenerState; stored with release after the text
    char name[kNameCapacity];
    char outcome[512];
};

// Where the dispatch to Java listeners stands; the crashing thread reads it with acquire.
enum class DispatchState : int {
    kNotStarted = 0,   // no dispatcher (not a JVM, or before VMInit)
    kRunning = 1,
    kComplete = 2,
};

struct OtherCrash {
    std::atomic<uint64_t> thread_id;
    std::atomic<uint64_t> code;
};

struct CrashRecord {
    // What happened.
    const char* platform;             // "linux-x86_64", "linux-aarch64", "windows-x86_64"
    const char* kind;                 // "SIGSEGV", "EXCEPTION_ACCESS_VIOLATION"
    const char* detail;               // "SEGV_MAPERR", "write", ... may be null
    uint64_t code;                    // signal number or exception code
    uint64_t fault_address;
    bool has_fault_address;           // false for a signal sent by a process: no address faulted
    const char* access;               // "read", "write", "execute" when the platform knows; else null
    int fault_mapped;                 // the fault address was mapped: 1 yes, 0 no, -1 unknown
    bool stack_overflow;              // the thread ran out of stack
    char diagnosis[256];              // one sentence in plain words (record_diagnose)
    int64_t sender_pid;               // who sent the signal (kill, tgkill, sigqueue, abort), or -1
    int64_t sender_uid;               // that process's real uid, or -1
    uint64_t pc;
    uint64_t sp;
    uint64_t timestamp_ms;
    uint64_t pid;
    const char* origin;               // "native" (JNI or library code), "jvm" (JVM fatal error),
                                      // "external" (a signal another process sent)

    // Where: the frame that decides module and signature.
    int crash_frame;                  // index into frames of the first frame outside system modules

    // Thread.
    uint64_t thread_id;
    char thread_name[kNameCapacity];
    int java_thread;                  // 1 yes, 0 no, -1 unknown
    char thread_state[64];            // "in native", "in Java", ... from the dispatcher

    Register registers[kMaxRegisters];
    int register_count;
    NativeFrame frames[kMaxNativeFrames];
    int frame_count;
    Module modules[kMaxModules];
    int module_count;
    uint64_t jvm_code_dropped;        // JVM code blobs left unnamed because the agent's table was full

    char native_method[kNameCapacity * 2];   // Java native method that entered the crashing library
    char jvm_version[kNameCapacity];
    char hs_err_path[kPathCapacity];  // where the JVM will write hs_err, from startup
    bool no_hs_err;                   // this crash gets none (abort(): HotSpot handles no SIGABRT)
    char signature[32];
    char signature_text[kSymbolCapacity * 4];

    // Report files (also handed to listeners).
    char json_path[kPathCapacity];
    char log_path[kPathCapacity];
    char minidump_path[kPathCapacity];   // Windows minidump written for this crash, or empty
    const char* report_dir;              // the configured directory, also when the files had to go elsewhere
    char note[512];                   // anything the reader should know (fallback dir, ...)

    // The application's context and breadcrumbs as the crash found them, or null when the agent
    // shares no memory with Java (not a JVM); copied by report_crash before the first write.
    const ContextSnapshot* app_context;
    // The JNI calls recorded for native-calls=, or null when the option is off; copied with
    // app_context.
    const NativeCallSnapshot* native_calls;

    // Java part, published by the dispatcher.
    std::atomic<int> dispatch_state;         // DispatchState
    std::atomic<int> java_info_ready;        // java_thread_name and thread_state are written
    char java_thread_name[kNameCapacity];
    std::atomic<int> java_frame_count;       // -1 until published
    std::atomic<int> java_note_ready;        // java_note is written
    char java_note[256];                     // why there is no Java stack, when there is none
    char java_native_method[kNameCapacity * 2];  // from the Java stack; published with java_frame_count
    JavaFrame java_frames[kMaxJavaFrames];
    ListenerOutcome listeners[kMaxListeners];

    // Other threads that crashed while this one was being reported.
    OtherCrash other_crashes[kMaxOtherCrashes];
    std::atomic<int> other_crash_count;
};

// Resets the record before it is filled. Crash context.
void record_reset(CrashRecord* record);

// The Java native method that entered the library: found from the native frames by the crashing
// thread, else from the Java stack by the dispatcher; null when neither knows. Crash context.
const char* record_native_method(const CrashRecord& record);

// The dispatcher's note on the Java stack, once published; else null. Crash context.
const char* record_java_note(const CrashRecord& record);

// Appends to the record's note, "; " between notes; truncates at its capacity. Crash context.
void record_add_note(CrashRecord* record, const char* a, const char* b = nullptr, const char* c = nullptr,
                     const char* d = nullptr, const char* e = nullptr, const char* f = nullptr,
                     const char* g = nullptr);

// Index of the module containing address, or -1. Crash context.
int record_find_module(const CrashRecord& record, uint64_t address);

// True for modules of the C runtime and the OS (libc, ntdll, ...). Crash context.
bool is_system_module(const char* path);

// True for the JVM library (libjvm.so, jvm.dll). Crash context.
bool is_jvm_module(const char* path);

// Writes diagnosis: what happened, in one sentence of plain words, from what the record already
// knows (kind and detail, fault address and access, whether it was mapped, the module it falls
// in, the sender of a signal, stack overflow). Call after record_compute_signature. Crash context.
void record_diagnose(CrashRecord* record);

// Picks crash_frame and computes signature/signature_text from the native frames and the
// native method. Crash context.
void record_compute_signature(CrashRecord* record);

}  // namespace crashagent
