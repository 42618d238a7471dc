// SPDX-License-Identifier: Apache-2.0
// Native faults for the Java tests: each entry point crashes in a known way.
#include <jni.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

namespace {

// Read through a volatile so the compiler cannot prove the store faults and drop it.
int* volatile g_null = nullptr;

__attribute__((noinline)) void write_through_null(int value) {
    *g_null = value;
}

std::atomic<int> g_entered{0};

// Deep enough frames that the recursion runs into the guard pages quickly; -O0 keeps them.
__attribute__((noinline)) int recurse(int depth) {
    volatile char frame[512];
    frame[0] = static_cast<char>(depth);
    if (depth < 0) return 0;  // never: depth only grows, until the stack is gone
    return recurse(depth + 1) + frame[0];
}

void* thread_that_crashes(void*) {
    write_through_null(7);
    return nullptr;
}

}  // namespace

extern "C" {

JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_nullWrite(JNIEnv*, jclass) {
    write_through_null(1);
}

// Returns unless crash is true, then writes through null: called many times first, the method
// gets compiled (HotSpot's native wrapper) before the call that crashes.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_nullWriteWhen(JNIEnv*, jclass, jboolean crash) {
    if (crash) write_through_null(3);
}

// A direct buffer over memory that is not mapped, as a library hands out after freeing what it
// points at: reading it from compiled Java code faults in the JIT's code.
JNIEXPORT jobject JNICALL Java_io_github_crashagent_testapp_CrashNative_bufferOverUnmappedMemory(JNIEnv* env, jclass) {
    // 64 TiB: canonical user space, far from where Linux maps the heap, the libraries and the stacks.
    return env->NewDirectByteBuffer(reinterpret_cast<void*>(uintptr_t{1} << 46), 4096);
}

JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_abortNow(JNIEnv*, jclass) { abort(); }

// A JNI call with a wrong argument: a class where a string belongs. Under -Xcheck:jni the JVM
// stops the process with "FATAL ERROR in native method" (an abort inside libjvm).
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_badJniCall(JNIEnv* env, jclass cls) {
    const char* chars = env->GetStringUTFChars(reinterpret_cast<jstring>(cls), nullptr);
    return chars ? static_cast<jint>(chars[0]) : -1;
}

// Crashes on a thread the library creates itself, which the JVM does not know.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_crashOnOwnThread(JNIEnv*, jclass) {
    pthread_t t;
    if (pthread_create(&t, nullptr, &thread_that_crashes, nullptr) == 0) pthread_join(t, nullptr);
}

// Counts the threads that reached the fault, so a test can wait until all of them crashed.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_nullWriteCounted(JNIEnv*, jclass) {
    g_entered.fetch_add(1);
    write_through_null(2);
}

JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_enteredCount(JNIEnv*, jclass) {
    return g_entered.load();
}

JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_recurseForever(JNIEnv*, jclass) {
    return recurse(0);
}

// Returns normally: lets tests prove the library loads and its calls work.
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_add(JNIEnv*, jclass, jint a, jint b) {
    return a + b;
}

// Trivial calls with integer arguments, for the native-calls= breadcrumbs.
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_callA(JNIEnv*, jclass, jint x) { return x + 1; }

JNIEXPORT jlong JNICALL Java_io_github_crashagent_testapp_CrashNative_callB(JNIEnv*, jclass, jlong a, jint b,
                                                                           jboolean c) {
    return a * 10 + b + (c ? 1 : 0);
}

// Integer and floating-point arguments in registers and on the stack: what a thunk in front of it
// must pass through untouched.
JNIEXPORT jdouble JNICALL Java_io_github_crashagent_testapp_CrashNative_mix(JNIEnv*, jclass, jint a, jdouble b, jlong c,
                                                                           jfloat d, jint e, jint f, jint g, jdouble h,
                                                                           jshort i, jbyte j) {
    return a + b * 10 + static_cast<double>(c) * 100 + d * 1000 + e * 1e4 + f * 1e5 + g * 1e6 + h * 1e7 + i * 1e8 +
           j * 1e9;
}

}  // extern "C"
