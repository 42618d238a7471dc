// SPDX-License-Identifier: Apache-2.0
// The crash zoo: one JNI entry per fault kind, thread kind and race the reliability suite covers
// (io.github.crashagent.testapp.Zoo). Built with -O0 so every fault stays where it is written.
#include <errno.h>
#include <fcntl.h>
#include <jni.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

namespace {

// Read through volatiles so the compiler cannot see the fault coming and drop or rewrite it.
char* volatile g_null_pointer = nullptr;
char* volatile g_wild_pointer = reinterpret_cast<char*>(0xdead0000beefULL);
volatile int g_zero = 0;
void* volatile g_freed = nullptr;

__attribute__((noinline)) int read_null() { return *g_null_pointer; }

__attribute__((noinline)) void write_wild() { *g_wild_pointer = 1; }

__attribute__((noinline)) void write_read_only() {
    char* page = static_cast<char*>(mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    page[16] = 1;
}

__attribute__((noinline)) void execute_data() {
    char* page = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    page[0] = static_cast<char>(0xc3);  // ret: would return if the page were executable
    reinterpret_cast<void (*)()>(page)();
}

__attribute__((noinline)) void illegal_instruction() { __builtin_trap(); }

__attribute__((noinline)) int divide_by_zero() { return 42 / g_zero; }

__attribute__((noinline)) void double_free() {
    g_freed = malloc(64);
    free(g_freed);
    free(g_freed);  // glibc detects it and aborts
}

__attribute__((noinline)) void throw_uncaught() { throw std::runtime_error("nobody catches this"); }

// An exclusive load from an address that is not 8-byte aligned: SIGBUS (BUS_ADRALN) on aarch64,
// where plain loads and stores may be misaligned but exclusives and atomics may not. Other
// CPUs have no such fault: -1.
__attribute__((noinline)) long misaligned_exclusive() {
#if defined(__aarch64__)
    alignas(16) static char buffer[32];
    long value;
    __asm__ volatile("ldxr %0, [%1]" : "=r"(value) : "r"(buffer + 1) : "memory");
    return value;
#else
    return -1;
#endif
}

// Maps a two-page file, truncates it, then reads the vanished page: SIGBUS.
__attribute__((noinline)) int bus_error() {
    char path[] = "/tmp/crashzoo-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (fd < 0 || ftruncate(fd, 8192) != 0) return -1;
    volatile char* map = static_cast<volatile char*>(mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0));
    if (ftruncate(fd, 0) != 0) return -1;
    return map[4096];
}

volatile size_t g_copy_size = 32;  // not a constant, so the copy stays a call into libc

__attribute__((noinline)) void memcpy_to_null() {
    char source[64] = "copied into nowhere";
    memcpy(g_null_pointer, source, g_copy_size);
}

JavaVM* g_vm = nullptr;

void* attached_thread_crashes(void*) {
    JNIEnv* env = nullptr;
    JavaVMAttachArgs args{JNI_VERSION_1_8, const_cast<char*>("zoo-attached"), nullptr};
    if (g_vm->AttachCurrentThread(reinterpret_cast<void**>(&env), &args) != JNI_OK) return nullptr;
    read_null();
    return nullptr;
}

std::atomic<bool> g_hammering{false};

// Keeps glibc's allocator busy (and its arena locks taken, time and again) on another thread.
void* malloc_hammer(void*) {
    g_hammering = true;
    unsigned size = 16;
    for (;;) {
        void* blocks[64];
        for (auto& b : blocks) {
            b = malloc(size);
            size = size * 7 % 70000 + 16;
        }
        for (auto& b : blocks) free(b);
    }
    return nullptr;
}

// A library that handles its own faults: probes an unmapped address under a temporary
// SIGSEGV handler installed after the agent, recovers with siglongjmp, restores the old handler.
sigjmp_buf g_probe_jump;

void probe_handler(int, siginfo_t*, void*) { siglongjmp(g_probe_jump, 1); }

}  // namespace

extern "C" {

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
    g_vm = vm;
    return JNI_VERSION_1_8;
}

JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_Zoo_nullRead(JNIEnv*, jclass) { return read_null(); }
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_wildPointer(JNIEnv*, jclass) { write_wild(); }
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_writeReadOnly(JNIEnv*, jclass) { write_read_only(); }
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_executeData(JNIEnv*, jclass) { execute_data(); }
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_illegalInstruction(JNIEnv*, jclass) { illegal_instruction(); }
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_Zoo_divideByZero(JNIEnv*, jclass) { return divide_by_zero(); }
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_doubleFree(JNIEnv*, jclass) { double_free(); }
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_uncaughtCppException(JNIEnv*, jclass) { throw_uncaught(); }
JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_Zoo_busError(JNIEnv*, jclass) { return bus_error(); }
JNIEXPORT jlong JNICALL Java_io_github_crashagent_testapp_Zoo_misalignedExclusive(JNIEnv*, jclass) {
    return misaligned_exclusive();
}
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_memcpyToNull(JNIEnv*, jclass) { memcpy_to_null(); }

JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_crashOnAttachedThread(JNIEnv*, jclass) {
    pthread_t t;
    if (pthread_create(&t, nullptr, &attached_thread_crashes, nullptr) == 0) pthread_join(t, nullptr);
}

// JNI -> Java -> JNI: runs the Runnable, which calls back into this library.
JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_callJava(JNIEnv* env, jclass, jobject runnable) {
    jclass type = env->GetObjectClass(runnable);
    jmethodID run = env->GetMethodID(type, "run", "()V");
    env->CallVoidMethod(runnable, run);
}

JNIEXPORT void JNICALL Java_io_github_crashagent_testapp_Zoo_startMallocHammer(JNIEnv*, jclass) {
    pthread_t t;
    if (pthread_create(&t, nullptr, &malloc_hammer, nullptr) == 0) pthread_detach(t);
    while (!g_hammering) sched_yield();
}

JNIEXPORT jint JNICALL Java_io_github_crashagent_testapp_Zoo_probeWithOwnHandler(JNIEnv*, jclass, jint probes) {
    struct sigaction mine, previous;
    memset(&mine, 0, sizeof(mine));
    mine.sa_sigaction = &probe_handler;
    mine.sa_flags = SA_SIGINFO;
    sigemptyset(&mine.sa_mask);
    sigaction(SIGSEGV, &mine, &previous);
    jint recovered = 0;
    for (jint i = 0; i < probes; i++) {
        if (sigsetjmp(g_probe_jump, 1) == 0) {
            read_null();
        } else {
            recovered++;
        }
    }
    sigaction(SIGSEGV, &previous, nullptr);
    return recovered;
}

}  // extern "C"
