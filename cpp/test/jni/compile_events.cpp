// SPDX-License-Identifier: Apache-2.0
// A readiness handshake for tests that need the agent to know a method's compiled code before
// they crash in it. HotSpot posts CompiledMethodLoad late, from its service thread, to each JVMTI
// environment in the order they were created. An environment made here, after the agent's, sees
// the event only once the agent's callback has returned, so seeing it here means the agent has it.
#include <jni.h>
#include <jvmti.h>
#include <string.h>
#include <time.h>

#include <atomic>

namespace {

char g_watched[256];
std::atomic<int> g_seen{0};

void JNICALL on_compiled_method_load(jvmtiEnv* jvmti, jmethodID method, jint, const void*, jint,
                                     const jvmtiAddrLocationMap*, const void*) {
    char* name = nullptr;
    if (jvmti->GetMethodName(method, &name, nullptr, nullptr) != JVMTI_ERROR_NONE) return;
    if (strcmp(name, g_watched) == 0) g_seen.store(1, std::memory_order_release);
    jvmti->Deallocate(reinterpret_cast<unsigned char*>(name));
}

}  // namespace

extern "C" {

// Starts watching for the compiled code of methods with this name; false if JVMTI refused.
JNIEXPORT jboolean JNICALL Java_io_github_crashagent_testapp_CrashNative_watchCompiledMethod(JNIEnv* env, jclass,
                                                                                             jstring name) {
    const char* text = env->GetStringUTFChars(name, nullptr);
    if (!text) return JNI_FALSE;
    strncpy(g_watched, text, sizeof(g_watched) - 1);
    env->ReleaseStringUTFChars(name, text);
    JavaVM* vm = nullptr;
    jvmtiEnv* jvmti = nullptr;
    if (env->GetJavaVM(&vm) != JNI_OK || vm->GetEnv(reinterpret_cast<void**>(&jvmti), JVMTI_VERSION_1_2) != JNI_OK) {
        return JNI_FALSE;
    }
    jvmtiCapabilities caps;
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_compiled_method_load_events = 1;
    jvmtiEventCallbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.CompiledMethodLoad = &on_compiled_method_load;
    return jvmti->AddCapabilities(&caps) == JVMTI_ERROR_NONE &&
           jvmti->SetEventCallbacks(&callbacks, sizeof(callbacks)) == JVMTI_ERROR_NONE &&
           jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_COMPILED_METHOD_LOAD, nullptr) == JVMTI_ERROR_NONE;
}

// Waits up to timeout_ms for the watched method's CompiledMethodLoad; true once it came.
JNIEXPORT jboolean JNICALL Java_io_github_crashagent_testapp_CrashNative_awaitCompiledMethod(JNIEnv*, jclass,
                                                                                             jlong timeout_ms) {
    for (jlong waited = 0; !g_seen.load(std::memory_order_acquire); waited++) {
        if (waited >= timeout_ms) return JNI_FALSE;
        timespec one_ms{0, 1000000};
        nanosleep(&one_ms, nullptr);
    }
    return JNI_TRUE;
}

}  // extern "C"
