// SPDX-License-Identifier: Apache-2.0
// JVMTI glue shared between the agent entry points and the dispatcher. The same code on every
// platform, so the Linux JVM tests cover what Windows runs too.
#pragma once

#include <jni.h>
#include <jvmti.h>

namespace crashagent {
namespace jvm {

extern jvmtiEnv* g_jvmti;

// Starts the dispatcher agent thread (at VMInit or on attach).
void start_dispatcher(JNIEnv* jni);

// Lets the dispatcher thread return at VM death.
void stop_dispatcher();

// Called by CrashAgent.nativeConnect: the class whose static dispatch() runs the listeners.
void set_api_class(JNIEnv* jni, jclass api_class);

// On attach to a running JVM: an API class initialized before the agent came could not connect
// (its natives were missing then); adopt it, so the listeners it already holds run.
void adopt_initialized_api_class(JNIEnv* jni);

}  // namespace jvm
}  // namespace crashagent
