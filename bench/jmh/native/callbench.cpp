// SPDX-License-Identifier: Apache-2.0
// The trivial native method NativeCallsBench calls in a loop (bench/native-calls-bench.sh builds it).
#include <jni.h>

extern "C" JNIEXPORT jint JNICALL Java_io_github_crashagent_bench_NativeCallsBench_add(JNIEnv*, jclass, jint a,
                                                                                      jint b) {
    return a + b;
}
