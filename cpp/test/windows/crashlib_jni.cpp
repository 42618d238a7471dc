// SPDX-License-Identifier: Apache-2.0
// crashlib.dll's JNI entry points, for jvm_standin.exe: the native methods of
// io.github.crashagent.testapp.CrashNative, each a way of crashing (or not) that the Windows
// stand-in cases need. The int argument is the JNI method's one parameter.
#include <windows.h>
#include <jni.h>

#include <cstdint>
#include <cstdio>

extern "C" {
void crash_on_new_thread(void*);
void fault_and_catch(void*);
void raise_benign_exceptions(void*);
void throw_and_catch(void*);
}

namespace {

volatile uintptr_t g_field_of_null = 16;  // read at run time: no constant bad pointer for the compiler to see
volatile LONG g_threads_expected = 0;
volatile LONG g_faulted = 0;
HANDLE g_all_faulted = nullptr;
INIT_ONCE g_barrier_once = INIT_ONCE_STATIC_INIT;

// Registered in front of every other vectored handler (the agent's too): holds each faulting
// thread until all the expected ones have faulted, so that they reach the agent together.
LONG CALLBACK fault_barrier(EXCEPTION_POINTERS* pointers) {
    if (pointers->ExceptionRecord->ExceptionCode != EXCEPTION_ACCESS_VIOLATION) return EXCEPTION_CONTINUE_SEARCH;
    if (InterlockedIncrement(&g_faulted) == g_threads_expected) SetEvent(g_all_faulted);
    WaitForSingleObject(g_all_faulted, 10000);
    return EXCEPTION_CONTINUE_SEARCH;
}

BOOL CALLBACK install_barrier(INIT_ONCE*, void*, void**) {
    g_all_faulted = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    AddVectoredExceptionHandler(1, &fault_barrier);
    return TRUE;
}

}  // namespace

extern "C" {

// Writes through the address it is given (16: a null pointer's field).
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_nullWrite(JNIEnv*, jclass, jint address) {
    *reinterpret_cast<volatile int*>(static_cast<uintptr_t>(address)) = 1;
}

// Every one of `threads` callers faults at address 16, released together once all have faulted.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_nullWriteTogether(JNIEnv*, jclass, jint threads) {
    InterlockedCompareExchange(&g_threads_expected, threads, 0);
    InitOnceExecuteOnce(&g_barrier_once, &install_barrier, nullptr, nullptr);
    *reinterpret_cast<volatile int*>(g_field_of_null) = 2;
}

// Crashes on a thread the library creates itself, outside any Java call.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_crashOnOwnThread(JNIEnv*, jclass, jint) {
    crash_on_new_thread(nullptr);
}

// First-chance exceptions that are all handled: thread naming, debug output, C++ throws.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_benignExceptions(JNIEnv*, jclass, jint) {
    raise_benign_exceptions(nullptr);
    throw_and_catch(nullptr);
}

// An access violation the library catches with its own SEH frame.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_faultAndCatch(JNIEnv*, jclass, jint) {
    fault_and_catch(nullptr);
}

// Writes through address a when all three arguments arrived equal, else through address 1: the
// fault address shows whether an entry thunk in front of it (native-calls=) passed them through.
// The third arrives on the stack on Win64.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_nullWriteChecked(JNIEnv*, jclass, jint a, jint b,
                                                                                     jint c) {
    uintptr_t address = a == b && b == c ? static_cast<uintptr_t>(a) : 1;
    *reinterpret_cast<volatile int*>(address) = 1;
}

// Returns its argument: a native method that does nothing wrong.
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_identity(JNIEnv*, jclass, jint value) {
    return value;
}

}  // extern "C"
