// Native faults for the Java tests: each entry point crashes in a known way.
#include <jni.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

namespace {

// Read through a volatile so the compiler cannot prove the store faults and drop it.
int* volatile g_null = nullptr;

__attribute__((noinline)) void write_through_null(int value) {
    *g_null = value;
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

JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_abortNow(JNIEnv*, jclass) { abort(); }

// Crashes on a thread the library creates itself, which the JVM does not know.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_CrashNative_crashOnOwnThread(JNIEnv*, jclass) {
    pthread_t t;
    if (pthread_create(&t, nullptr, &thread_that_crashes, nullptr) == 0) pthread_join(t, nullptr);
}

// Returns normally: lets tests prove the library loads and its calls work.
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_CrashNative_add(JNIEnv*, jclass, jint a, jint b) {
    return a + b;
}

}  // extern "C"
