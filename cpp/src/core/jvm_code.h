// SPDX-License-Identifier: Apache-2.0
// Names of the code the JVM generates at run time, so a native frame in the JVM's code cache can
// say what it is: JIT-compiled Java methods and native wrappers (JVMTI CompiledMethodLoad and
// CompiledMethodUnload) and stubs, adapters and the interpreter (JVMTI DynamicCodeGenerated).
//
// A bounded, preallocated, lock-free table of address range -> short name. JVMTI event threads
// add and remove entries; the crash path reads it. Unloaded methods leave dead entries whose slots
// later entries reuse. When every slot is taken, a new entry is dropped and counted, never
// allocated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/crash_record.h"

namespace crashagent {

enum class JvmCodeKind : uint32_t {
    kStub = 1,           // DynamicCodeGenerated: named by the JVM ("Interpreter", "call_stub", ...)
    kCompiled = 2,       // CompiledMethodLoad of a Java method
    kNativeWrapper = 3,  // CompiledMethodLoad of a native method: the JVM's wrapper around its JNI call
};

// Slots in the table, and the longest name kept (longer ones are cut).
constexpr int kJvmCodeCapacity = 16384;
constexpr size_t kJvmCodeNameCapacity = 128;

// Records that [start, start + size) is code of this kind. name is the blob name for a stub and
// "pkg.Class.method(signature)" for a method. Normal context; safe from several threads at once.
void jvm_code_add(JvmCodeKind kind, uint64_t start, uint64_t size, const char* name);

// The compiled method or native wrapper at start was unloaded. Normal context.
void jvm_code_remove(uint64_t start);

// While a replay runs (JVMTI GenerateEvents, which posts again what was already posted), an
// added entry whose kind and range a live entry already has is skipped. Normal context.
void jvm_code_begin_replay();
void jvm_code_end_replay();

// Entries dropped because the table was full.
uint64_t jvm_code_dropped();

// Live entries, for tests and diagnostics.
int jvm_code_live_count();

// Writes what the code at address is into out ("compiled pkg.C.m()V", "native wrapper for
// pkg.C.m()V", "Interpreter"); false, with out empty, when no live entry holds it. The narrowest
// live entry holding the address wins, then the newest: a stub inside a larger blob is named as
// the stub, and code placed where an older blob was freed is named as the new code.
// Crash context and bounded: one pass over the table.
bool jvm_code_describe(uint64_t address, char* out, size_t capacity);

// True if a live entry holds address. Crash context and bounded.
bool jvm_code_contains(uint64_t address);

// Names every frame outside any module that lies in known JVM code (NativeFrame::jvm_code) and
// notes the table's dropped count in the record. Callers' pcs are return addresses, so for frames
// after the first the address looked up is pc - 1. Crash context.
void jvm_code_resolve(CrashRecord* record);

// Test hook: forgets every entry. Not thread-safe.
void jvm_code_clear();

}  // namespace crashagent
