// SPDX-License-Identifier: Apache-2.0
// A JVMTI agent for bench/jit-events.sh that shows where the cost of naming JVM code goes. It
// enables the same events as the crash agent (cpp/src/jvm/agent.cpp) and does the same work in
// them: the same JVMTI calls and the same table (cpp/src/core/jvm_code.cpp). It prints, on stderr:
//   - the events posted before VMInit and the time of the GenerateEvents replay at VMInit;
//   - at VMDeath: the events, the table's live and dropped entries, the CPU time of the
//     CompiledMethodLoad callbacks, the CPU time of HotSpot's "Service Thread" (which posts the
//     load and unload events), and a replay of everything as an attach would do it.
// With the option "off" it enables no code events: the Service Thread's CPU time without them.
// bench/jit-events.sh builds it:
//   g++ -std=c++17 -shared -fPIC -O2 -Icpp/src -I$JAVA_HOME/include -I$JAVA_HOME/include/linux
//       -o libjvmcodeprobe.so bench/jvm-code-probe.cpp cpp/src/core/jvm_code.cpp cpp/src/core/writer.cpp
#include <dirent.h>
#include <jvmti.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "core/jvm_code.h"

using namespace crashagent;

namespace {

jvmtiEnv* g_jvmti;
bool g_off;
std::atomic<long> g_loads{0}, g_stubs{0}, g_unloads{0}, g_load_ns{0};

double now_ms() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

long thread_cpu_ns() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

void dotted(char* s) {
    size_t n = strlen(s);
    if (n >= 2 && s[0] == 'L' && s[n - 1] == ';') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
    for (char* p = s; *p; p++) {
        if (*p == '/') *p = '.';
    }
}

void JNICALL on_load(jvmtiEnv* jvmti, jmethodID method, jint size, const void* address, jint,
                     const jvmtiAddrLocationMap*, const void*) {
    long start = thread_cpu_ns();
    char* name = nullptr;
    char* signature = nullptr;
    char* klass = nullptr;
    jclass holder = nullptr;
    char full[256] = "(unnamed method)";
    if (jvmti->GetMethodName(method, &name, &signature, nullptr) == JVMTI_ERROR_NONE &&
        jvmti->GetMethodDeclaringClass(method, &holder) == JVMTI_ERROR_NONE &&
        jvmti->GetClassSignature(holder, &klass, nullptr) == JVMTI_ERROR_NONE) {
        dotted(klass);
        snprintf(full, sizeof(full), "%s.%s%s", klass, name, signature);
    }
    jvmti->Deallocate(reinterpret_cast<unsigned char*>(name));
    jvmti->Deallocate(reinterpret_cast<unsigned char*>(signature));
    jvmti->Deallocate(reinterpret_cast<unsigned char*>(klass));
    jboolean is_native = JNI_FALSE;
    jvmti->IsMethodNative(method, &is_native);
    jvm_code_add(is_native ? JvmCodeKind::kNativeWrapper : JvmCodeKind::kCompiled, reinterpret_cast<uint64_t>(address),
                 static_cast<uint64_t>(size), full);
    g_load_ns += thread_cpu_ns() - start;
    g_loads++;
}

void JNICALL on_unload(jvmtiEnv*, jmethodID, const void* address) {
    jvm_code_remove(reinterpret_cast<uint64_t>(address));
    g_unloads++;
}

void JNICALL on_stub(jvmtiEnv*, const char* name, const void* address, jint length) {
    jvm_code_add(JvmCodeKind::kStub, reinterpret_cast<uint64_t>(address), static_cast<uint64_t>(length), name);
    g_stubs++;
}

void replay(const char* when) {
    long loads = g_loads, stubs = g_stubs, ns = g_load_ns;
    double t0 = now_ms();
    jvm_code_begin_replay();
    g_jvmti->GenerateEvents(JVMTI_EVENT_DYNAMIC_CODE_GENERATED);
    double t1 = now_ms();
    g_jvmti->GenerateEvents(JVMTI_EVENT_COMPILED_METHOD_LOAD);
    jvm_code_end_replay();
    double t2 = now_ms();
    fprintf(stderr,
            "probe: %s replay: DynamicCodeGenerated %.2f ms (%ld events), CompiledMethodLoad %.2f ms (%ld events, "
            "%.2f ms of it in the callbacks)\n",
            when, t1 - t0, g_stubs - stubs, t2 - t1, g_loads - loads, (g_load_ns - ns) / 1e6);
}

// CPU time of HotSpot's Service Thread, from /proc.
long service_thread_cpu_ms() {
    DIR* tasks = opendir("/proc/self/task");
    if (!tasks) return -1;
    long result = -1;
    while (dirent* e = readdir(tasks)) {
        if (e->d_name[0] == '.') continue;
        char path[300], comm[64] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE* f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof(comm), f)) comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "Service Thread", 14) != 0) continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f) continue;
        char stat[1024] = "";
        if (!fgets(stat, sizeof(stat), f)) stat[0] = '\0';
        fclose(f);
        char* fields = strrchr(stat, ')');
        unsigned long user = 0, system = 0;
        // Fields 14 and 15 (utime, stime) after "pid (comm)".
        if (fields && sscanf(fields + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &user, &system) == 2) {
            result = static_cast<long>((user + system) * 1000 / sysconf(_SC_CLK_TCK));
        }
    }
    closedir(tasks);
    return result;
}

void JNICALL on_vm_init(jvmtiEnv*, JNIEnv*, jthread) {
    fprintf(stderr, "probe: before VMInit: %ld DynamicCodeGenerated, %ld CompiledMethodLoad\n", g_stubs.load(),
            g_loads.load());
    replay("VMInit");
}

void JNICALL on_vm_death(jvmtiEnv*, JNIEnv*) {
    long service = service_thread_cpu_ms();
    if (g_off) {
        fprintf(stderr, "probe: code events off: Service Thread cpu %ld ms\n", service);
        return;
    }
    long loads = g_loads;
    fprintf(stderr,
            "probe: at VMDeath: %ld DynamicCodeGenerated, %ld CompiledMethodLoad, %ld CompiledMethodUnload; table: %d "
            "live, %llu dropped; CompiledMethodLoad callbacks %.1f ms cpu (%.1f us each); Service Thread cpu %ld ms\n",
            g_stubs.load(), loads, g_unloads.load(), jvm_code_live_count(),
            static_cast<unsigned long long>(jvm_code_dropped()), g_load_ns / 1e6, loads ? g_load_ns / 1e3 / loads : 0.0,
            service);
    replay("attach-like");
}

}  // namespace

extern "C" JNIEXPORT jint JNICALL Agent_OnLoad(JavaVM* vm, char* options, void*) {
    if (vm->GetEnv(reinterpret_cast<void**>(&g_jvmti), JVMTI_VERSION_1_2) != JNI_OK) return JNI_ERR;
    g_off = options && strcmp(options, "off") == 0;
    jvmtiCapabilities caps;
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_compiled_method_load_events = 1;
    g_jvmti->AddCapabilities(&caps);
    jvmtiEventCallbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.VMInit = &on_vm_init;
    callbacks.VMDeath = &on_vm_death;
    callbacks.CompiledMethodLoad = &on_load;
    callbacks.CompiledMethodUnload = &on_unload;
    callbacks.DynamicCodeGenerated = &on_stub;
    g_jvmti->SetEventCallbacks(&callbacks, sizeof(callbacks));
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_VM_DEATH, nullptr);
    if (g_off) return JNI_OK;
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_DYNAMIC_CODE_GENERATED, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_COMPILED_METHOD_LOAD, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_COMPILED_METHOD_UNLOAD, nullptr);
    return JNI_OK;
}
