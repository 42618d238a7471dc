// SPDX-License-Identifier: Apache-2.0
// JNI call breadcrumbs (option native-calls=): the entry thunk of each traced native method calls
// the recorder (jvm/call_thunks.cpp), which appends the call to the calling thread's ring. Each
// ring has one writer, its thread, so recording takes no atomic read-modify-write. The crash path
// copies the crashing thread's last calls, and merges every ring's newest entries by time into
// the process's last calls.
//
// Every entry is written under a sequence word, as app_context.h's breadcrumbs are: odd while its
// thread writes it. The crash path keeps an entry only when the word was even and unchanged
// across the copy, so an entry the crash interrupted (or a running thread is rewriting) is
// dropped, never shown half.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crashagent {

constexpr uint32_t kThreadCalls = 32;     // what the report keeps of the crashing thread's calls
constexpr uint32_t kProcessCalls = 256;   // what the report keeps of every thread's calls
constexpr uint32_t kRingCalls = 256;      // entries of a thread's ring: enough for the process's last 256
constexpr uint32_t kCallThreads = 1024;   // rings at most; a thread beyond finds none and is not recorded
constexpr uint32_t kKeptRings = 64;       // rings kept for threads that ended before one is reused
constexpr uint32_t kTracedMethods = 4096; // methods that get a thunk; later ones run untraced
constexpr int kCallArgs = 3;              // integer arguments recorded after JNIEnv* and jclass/jobject
constexpr size_t kCallMethodNameCapacity = 200;

// How one recorded argument is shown: 0 not recorded, else its Java type: 'I', 'J', 'Z', 'B',
// 'C', 'S', or 'L' for a reference (shown as a handle, never dereferenced).
struct TracedMethod {
    char name[kCallMethodNameCapacity];
    char arg_type[kCallArgs];
    uint8_t arg_slot[kCallArgs];    // which recorded slot holds argument i
};

struct NativeCall {
    uint32_t method;                // index into the traced methods
    uint64_t thread_id;
    int64_t time_ns;                // relative to the crash (negative: before it)
    uint64_t slots[kCallArgs];
};

struct NativeCallSnapshot {
    bool taken;                     // the option is on and the crash path copied the rings
    NativeCall thread_calls[kThreadCalls];   // the crashing thread's, oldest first
    int thread_count;
    bool thread_has_ring;           // false: the thread made no traced call (or got no ring)
    NativeCall process_calls[kProcessCalls];  // every thread's, oldest first
    int process_count;
    uint64_t recorded;              // calls recorded in the rings the copy read (a reused ring starts again)
    int torn;                       // entries dropped because a writer was inside them
    bool times_known;               // the clock base was set; else time_ns is 0
};

// A thread's ring. The recorder (jvm/call_thunks.cpp) keeps the calling thread's in a
// thread_local, which core may not use (TLS access can allocate).
struct ThreadRing;

// Bytes of a ring, for the allocator below.
size_t native_calls_ring_size();

// Claims a ring for the thread: a new one from allocate (zeroed, 64-byte aligned memory of
// native_calls_ring_size bytes, never freed: the crash path may read it any time) while fewer than
// kKeptRings exist, or when none is free; else the free one a thread that ended left longest ago.
// When allocation fails or kCallThreads rings exist, one that is written but never read. Normal
// context.
ThreadRing* native_calls_claim_ring(uint64_t thread_id, void* (*allocate)(size_t size));
// The ring's thread is ending: the ring may go to another thread; its calls stay in the process's
// view until one claims it. Returns the ring that is never
// read, for whatever calls the thread still makes on its way out: claiming a ring then would keep
// it from later threads for good. Normal context.
ThreadRing* native_calls_release_ring(ThreadRing* ring);

// Records one call of method into the thread's ring, with the raw argument slots (x86-64 SysV:
// rdx, rcx, r8; aarch64: x2, x3, x4; Win64: r8, r9, the first stack argument). Called by the
// ring's thread only. Normal context (the traced method's caller); no lock, no atomic
// read-modify-write.
void native_calls_record(ThreadRing* ring, uint64_t method, uint64_t slot0, uint64_t slot1, uint64_t slot2);

// Turns recording on and sets the clock base. Normal context.
void native_calls_enable();
bool native_calls_enabled();

// Registers a traced method; name is "pkg.Class.method(signature)". Returns its index, or -1 when
// the table is full. Normal context; one thread at a time (JVMTI serializes nothing, so the caller
// locks).
int native_calls_add_method(const char* name, bool win64);

// The crash happened now: call times in the report are relative to this moment. Called by the
// crashing thread first thing in the handler, before the capture's slower work. Crash context.
void native_calls_mark_crash();

// Copies the rings into snapshot: the thread thread_id's calls and the process's. Crash context.
void native_calls_copy(uint64_t thread_id, NativeCallSnapshot* snapshot);

// The method's name and argument layout, or null for an index never handed out. Crash context.
const TracedMethod* native_calls_method(uint32_t index);

// Argument i of call c as its Java type holds it; false for a reference (only a handle, not shown).
// Crash context.
bool native_call_argument(const TracedMethod& m, const NativeCall& c, int i, int64_t* out);

// True when name (pkg.Class.method(sig) or pkg/Class...) matches patterns: "all", or ';'-separated
// class or package prefixes in either dot or slash form.
bool native_calls_match(const char* patterns, const char* class_name);

// The report's copy; taken is false until the crash path filled it.
extern NativeCallSnapshot g_native_call_snapshot;

// Test hook: forgets every method, ring and entry. Not thread-safe.
void native_calls_reset();

}  // namespace crashagent
