// SPDX-License-Identifier: Apache-2.0
// Entry points of Java native methods, recorded from JVMTI NativeMethodBind, so the crash path
// can name the Java native method that entered the crashing library. Lock-free: any thread adds,
// the crash path reads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/crash_record.h"

namespace crashagent {

// Records that the Java method `name` (Class.method(signature)) is implemented at address.
// Normal context; safe to call from several threads at once.
void native_methods_add(uint64_t address, const char* name);

// Number of entries dropped because the table was full.
uint64_t native_methods_dropped();

// Finds the outermost native frame whose function start is a bound native method and copies its
// name into record->native_method. Crash context.
void native_methods_resolve(CrashRecord* record);

// Test hook: forgets every entry. Not thread-safe.
void native_methods_clear();

}  // namespace crashagent
