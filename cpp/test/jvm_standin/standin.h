// SPDX-License-Identifier: Apache-2.0
// The JVM stand-in's two halves: the VM (standin_vm.cpp, the same on every OS) and what it needs
// from the OS and from the JVM's own error handling (standin_os_windows.cpp, standin_os_posix.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace standin {

using Body = void (*)(void*);
struct OsThread;

// Starts a thread that runs body(arg) inside the JVM's thread-start handler (HotSpot wraps every
// thread it starts in its exception handler).
OsThread* os_start_thread(Body body, void* arg);
// True if the thread ended within timeout_ms.
bool os_join_thread(OsThread* thread, uint32_t timeout_ms);
// A call from "Java" into native code, inside the JVM's handler (os_exception_wrapper on Windows;
// on Linux the JVM's signal handler covers every thread).
void os_java_call(Body body, void* arg);
// Installs the JVM's own fatal-error handling, as HotSpot does before it loads agents. The hook
// runs right before hs_err is written.
void os_install_jvm_handlers(void (*before_hs_err)());
// Generated code for a native method, as HotSpot's native wrapper is once the method is compiled:
// a thunk outside any module that calls target with its caller's register arguments (the first
// four on Windows, six on Linux). On Windows its unwind data is registered with
// RtlAddFunctionTable, as HotSpot registers its code cache. Null on failure.
void* os_make_native_wrapper(void* target, uint32_t* size);
uint64_t os_thread_id();
// True when the agent's JSON report (crashagent_pid*.json) is in the working directory.
bool os_agent_report_present();
void* os_load_library(const char* path, char* error, size_t capacity);
void* os_find_symbol(void* library, const char* name);
uint64_t os_now_us();
[[noreturn]] void os_hang();

}  // namespace standin

#ifdef _WIN32
#define STANDIN_EXPORT __declspec(dllexport)
#else
#define STANDIN_EXPORT __attribute__((visibility("default")))
#endif

// The entry point the launcher calls, like java.exe calling JNI_CreateJavaVM in jvm.dll.
extern "C" STANDIN_EXPORT int standin_main(int argc, char** argv);
