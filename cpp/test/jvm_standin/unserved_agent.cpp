// SPDX-License-Identifier: Apache-2.0
// A test agent that calls what the JVM stand-in does not serve, to show that it stops and names the
// function instead of letting the call pass: option "jvmti" calls GetAllThreads in Agent_OnLoad,
// option "jni" calls GetVersion at VMInit.
#include <jni.h>
#include <jvmti.h>

#include <cstring>

namespace {
void JNICALL on_vm_init(jvmtiEnv*, JNIEnv* jni, jthread) { jni->GetVersion(); }
}  // namespace

extern "C" JNIEXPORT jint JNICALL Agent_OnLoad(JavaVM* vm, char* options, void*) {
    jvmtiEnv* jvmti = nullptr;
    if (vm->GetEnv(reinterpret_cast<void**>(&jvmti), JVMTI_VERSION_1_2) != JNI_OK) return JNI_ERR;
    if (options && std::strcmp(options, "jvmti") == 0) {
        jint count = 0;
        jthread* threads = nullptr;
        jvmti->GetAllThreads(&count, &threads);
    } else if (options && std::strcmp(options, "jni") == 0) {
        jvmtiEventCallbacks callbacks;
        std::memset(&callbacks, 0, sizeof(callbacks));
        callbacks.VMInit = &on_vm_init;
        jvmti->SetEventCallbacks(&callbacks, sizeof(callbacks));
        jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, nullptr);
    }
    return JNI_OK;
}
