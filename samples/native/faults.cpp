// SPDX-License-Identifier: Apache-2.0
// Native faults for the samples (io.github.crashagent.samples.NativeFaults): each entry point
// fails the way real JNI code does. Built on Linux only.
#include <jni.h>
#include <pthread.h>
#include <stdint.h>
#include <stdexcept>
#include <stdlib.h>
#include <string.h>

namespace {

// Read through volatiles so the compiler cannot see, and drop, the faults.
int* volatile g_null = nullptr;
volatile int g_zero = 0;

struct Order {
    int id;
    char customer[32];
};

__attribute__((noinline)) void store_order(Order* order, int id) {
    order->id = id;  // order is null: SIGSEGV
}

__attribute__((noinline)) int average(int total, int count) {
    return total / count;  // count is 0: SIGFPE
}

__attribute__((noinline)) void check_invariant(bool holds) {
    if (!holds) __builtin_trap();  // SIGILL (ud2)
}

__attribute__((noinline)) void call_callback(void (*callback)()) {
    callback();  // a dangling function pointer: SIGSEGV with the PC outside any module
}

__attribute__((noinline)) void release_twice() {
    char* volatile buffer = static_cast<char*>(malloc(64));
    free(buffer);
    free(buffer);  // glibc detects the double free and calls abort(): SIGABRT
}

__attribute__((noinline)) void parse_config(const char* text) {
    if (strlen(text) < 100) throw std::runtime_error("config too short");  // nobody catches it: std::terminate, SIGABRT
}

void* worker(void*) {
    store_order(reinterpret_cast<Order*>(g_null), 7);
    return nullptr;
}

}  // namespace

extern "C" {

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_nullWrite(JNIEnv*, jclass) {
    store_order(reinterpret_cast<Order*>(g_null), 42);
}

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_abortNow(JNIEnv*, jclass) { abort(); }

JNIEXPORT jint JNICALL Java_io_github_crashagent_samples_NativeFaults_divideByZero(JNIEnv*, jclass) {
    return average(100, g_zero);
}

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_illegalInstruction(JNIEnv*, jclass) {
    check_invariant(g_zero != 0);
}

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_badCall(JNIEnv*, jclass) {
    call_callback(reinterpret_cast<void (*)()>(static_cast<uintptr_t>(0x10 + g_zero)));
}

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_doubleFree(JNIEnv*, jclass) { release_twice(); }

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_uncaughtCppException(JNIEnv*, jclass) {
    parse_config("short");
}

JNIEXPORT void JNICALL Java_io_github_crashagent_samples_NativeFaults_crashOnOwnThread(JNIEnv*, jclass) {
    pthread_t t;
    if (pthread_create(&t, nullptr, &worker, nullptr) == 0) pthread_join(t, nullptr);
}

}  // extern "C"
