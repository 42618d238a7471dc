// SPDX-License-Identifier: Apache-2.0
// OS thread id -> JVM thread handle, for the threads the JVM told us about (JVMTI ThreadStart,
// VMInit). Lock-free so the crash path can ask "is this a Java thread?" and the dispatcher can
// find the jthread of the crashing thread.
#pragma once

#include <cstdint>

namespace crashagent {

// Normal context; called on the thread itself. handle is an opaque JNI global reference.
void thread_registry_add(uint64_t thread_id, void* handle);
// Returns the handle that was registered (for the caller to release), or null.
void* thread_registry_remove(uint64_t thread_id);
// Crash context.
void* thread_registry_find(uint64_t thread_id);

}  // namespace crashagent
