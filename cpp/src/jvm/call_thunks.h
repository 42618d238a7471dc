// SPDX-License-Identifier: Apache-2.0
// Entry thunks for JNI call breadcrumbs (option native-calls=). Each traced native method's entry
// point becomes a stub that records the call (core/native_calls.h) and then jumps to the original
// function with the stack and every argument register as the caller left them: no frame of the
// thunk remains, so unwinding and the crash signature see the original function alone.
#pragma once

#include <cstddef>

namespace crashagent {
namespace jvm {

// Generates every stub at once and makes them executable. False with a message when the system
// refuses executable memory; calls then run untraced.
bool call_thunks_init(char* error, size_t error_capacity);

// The stub for method (an index from native_calls_add_method) that goes on to original; null
// when the thunks are not set up or the method is out of range. Normal context.
void* call_thunk_for(int method, void* original);

// True when address is one of the stubs (a rebind passing the stub back in).
bool is_call_thunk(const void* address);

// The calling thread is ending: its ring may go to another thread.
void call_thunks_thread_end();

}  // namespace jvm
}  // namespace crashagent
