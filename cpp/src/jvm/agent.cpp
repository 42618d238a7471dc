// SPDX-License-Identifier: Apache-2.0
// Agent entry points: Agent_OnLoad/OnAttach/OnUnload for JVMs, crashagent_start/stop for any
// host process, and the JVMTI events that keep the thread and native-method tables.
#include "jvm/agent.h"

#include <stdio.h>
#include <string.h>

#include <atomic>
#include <new>

#include "core/app_context.h"
#include "core/crash_flow.h"
#include "core/jvm_code.h"
#include "core/native_calls.h"
#include "core/native_methods.h"
#include "core/thread_registry.h"
#include "core/writer.h"
#include "jvm/call_thunks.h"
#include "platform.h"

using namespace crashagent;

namespace crashagent {
namespace jvm {

jvmtiEnv* g_jvmti = nullptr;

namespace {

bool g_started = false;

void replay_code_events();

void register_thread(JNIEnv* jni, jthread thread) {
    platform::prepare_current_thread();
    if (thread && jni) thread_registry_add(platform::current_thread_id(), jni->NewGlobalRef(thread));
}

void JNICALL on_vm_init(jvmtiEnv* jvmti, JNIEnv* jni, jthread thread) {
    register_thread(jni, thread);
    char* name = nullptr;
    char* version = nullptr;
    jvmti->GetSystemProperty("java.vm.name", &name);
    jvmti->GetSystemProperty("java.runtime.version", &version);
    if (!version) jvmti->GetSystemProperty("java.vm.version", &version);
    StringSink sink{g_record.jvm_version, sizeof(g_record.jvm_version), 0};
    char buffer[64];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str(name ? name : "JVM");
    w.ch(' ');
    w.str(version ? version : "(unknown version)");
    w.flush();
    if (name) jvmti->Deallocate(reinterpret_cast<unsigned char*>(name));
    if (version) jvmti->Deallocate(reinterpret_cast<unsigned char*>(version));
    start_dispatcher(jni);
    replay_code_events();
}

void JNICALL on_vm_death(jvmtiEnv*, JNIEnv*) {
    exit_during_dispatch();
    stop_dispatcher();
}

void JNICALL on_thread_start(jvmtiEnv*, JNIEnv* jni, jthread thread) { register_thread(jni, thread); }

void JNICALL on_thread_end(jvmtiEnv*, JNIEnv* jni, jthread) {
    call_thunks_thread_end();
    void* handle = thread_registry_remove(platform::current_thread_id());
    if (handle && jni) jni->DeleteGlobalRef(static_cast<jobject>(handle));
    platform::release_current_thread();
}

// Writes "pkg.Class.method(signature)" into out; false if the JVM could not name the method.
bool method_text(jvmtiEnv* jvmti, jmethodID method, char* out, size_t capacity) {
    char* name = nullptr;
    char* signature = nullptr;
    char* class_signature = nullptr;
    jclass holder = nullptr;
    bool named = false;
    if (jvmti->GetMethodName(method, &name, &signature, nullptr) == JVMTI_ERROR_NONE &&
        jvmti->GetMethodDeclaringClass(method, &holder) == JVMTI_ERROR_NONE &&
        jvmti->GetClassSignature(holder, &class_signature, nullptr) == JVMTI_ERROR_NONE) {
        char class_name[kNameCapacity];
        java_class_name(class_name, sizeof(class_name), class_signature);
        // A name longer than out is cut, as every name in the report is.
        named = snprintf(out, capacity, "%s.%s%s", class_name, name, signature) >= 0;
    }
    if (name) jvmti->Deallocate(reinterpret_cast<unsigned char*>(name));
    if (signature) jvmti->Deallocate(reinterpret_cast<unsigned char*>(signature));
    if (class_signature) jvmti->Deallocate(reinterpret_cast<unsigned char*>(class_signature));
    return named;
}

// Binds run on any thread at once; adding a traced method and handing out its stub go one at a time.
std::atomic_flag g_trace_lock = ATOMIC_FLAG_INIT;
bool g_trace_full_said = false;

// Puts the entry thunk of a method that native-calls= selects in front of address.
void trace_native_method(const char* full, void* address, void** new_address_ptr) {
    if (!new_address_ptr || is_call_thunk(address)) return;
    char class_name[kNameCapacity];
    // The class is everything before the last '.' ahead of the signature.
    size_t end = 0, last_dot = 0;
    while (full[end] && full[end] != '(') {
        if (full[end] == '.') last_dot = end;
        end++;
    }
    str_copy(class_name, last_dot + 1 < sizeof(class_name) ? last_dot + 1 : sizeof(class_name), full);
    if (!native_calls_match(g_agent.options.native_calls, class_name)) return;
    while (g_trace_lock.test_and_set(std::memory_order_acquire)) {
    }
#if defined(_WIN32)
    int index = native_calls_add_method(full, true);
#else
    int index = native_calls_add_method(full, false);
#endif
    void* thunk = index >= 0 ? call_thunk_for(index, address) : nullptr;
    bool say_full = index < 0 && !g_trace_full_said;
    if (say_full) g_trace_full_said = true;
    g_trace_lock.clear(std::memory_order_release);
    if (thunk) *new_address_ptr = thunk;
    if (say_full) {
        fprintf(stderr, "crashagent: option 'native-calls': more than %u native methods match; %s and later ones "
                        "run untraced\n", kTracedMethods, full);
    }
}

void JNICALL on_native_method_bind(jvmtiEnv* jvmti, JNIEnv*, jthread, jmethodID method, void* address,
                                   void** new_address_ptr) {
    jvmtiPhase phase;
    if (jvmti->GetPhase(&phase) != JVMTI_ERROR_NONE || (phase != JVMTI_PHASE_START && phase != JVMTI_PHASE_LIVE)) return;
    char full[kNameCapacity];
    if (!method_text(jvmti, method, full, sizeof(full))) return;
    // The original address: the crash path names the method from the frame of the function
    // itself, which is where a traced call is by the time it can crash.
    native_methods_add(reinterpret_cast<uint64_t>(address), full);
    if (native_calls_enabled()) trace_native_method(full, address, new_address_ptr);
}

// A Java method was compiled, or a native method got its wrapper (HotSpot posts both; the wrapper
// is the code between compiled or interpreted callers and the JNI function).
void JNICALL on_compiled_method_load(jvmtiEnv* jvmti, jmethodID method, jint code_size, const void* code_addr, jint,
                                     const jvmtiAddrLocationMap*, const void*) {
    char full[kNameCapacity];
    if (!method_text(jvmti, method, full, sizeof(full))) snprintf(full, sizeof(full), "(unnamed method)");
    jboolean is_native = JNI_FALSE;
    jvmti->IsMethodNative(method, &is_native);
    jvm_code_add(is_native ? JvmCodeKind::kNativeWrapper : JvmCodeKind::kCompiled,
                 reinterpret_cast<uint64_t>(code_addr), static_cast<uint64_t>(code_size), full);
}

void JNICALL on_compiled_method_unload(jvmtiEnv*, jmethodID, const void* code_addr) {
    jvm_code_remove(reinterpret_cast<uint64_t>(code_addr));
}

// Stubs, adapters, the interpreter. Also posted in the primordial phase, before VMStart.
void JNICALL on_dynamic_code_generated(jvmtiEnv*, const char* name, const void* address, jint length) {
    jvm_code_add(JvmCodeKind::kStub, reinterpret_cast<uint64_t>(address), static_cast<uint64_t>(length), name);
}

bool g_compiled_method_events = false;

// Asks the JVM to post again the code it already has: at VMInit, the methods compiled before the
// live phase (HotSpot drops their CompiledMethodLoad) and the blobs it creates without an event
// (the JNI fast field accessors, the signature handlers); on attach, everything. Entries posted
// both ways are kept once.
void replay_code_events() {
    jvm_code_begin_replay();
    jvmtiError error = g_jvmti->GenerateEvents(JVMTI_EVENT_DYNAMIC_CODE_GENERATED);
    if (error != JVMTI_ERROR_NONE) {
        fprintf(stderr, "crashagent: JVMTI GenerateEvents(DynamicCodeGenerated) failed (error %d): some frames in "
                        "JVM stubs will not be named\n", static_cast<int>(error));
    }
    if (g_compiled_method_events) {
        error = g_jvmti->GenerateEvents(JVMTI_EVENT_COMPILED_METHOD_LOAD);
        if (error != JVMTI_ERROR_NONE) {
            fprintf(stderr, "crashagent: JVMTI GenerateEvents(CompiledMethodLoad) failed (error %d): some frames in "
                            "compiled Java code will not be named\n", static_cast<int>(error));
        }
    }
    jvm_code_end_replay();
}

bool add_capability(const jvmtiCapabilities& caps, const char* name, const char* consequence) {
    jvmtiError error = g_jvmti->AddCapabilities(&caps);
    if (error != JVMTI_ERROR_NONE) {
        fprintf(stderr, "crashagent: JVMTI capability %s unavailable (error %d): %s\n", name, static_cast<int>(error),
                consequence);
    }
    return error == JVMTI_ERROR_NONE;
}

jint setup_jvmti(JavaVM* vm, bool live) {
    if (vm->GetEnv(reinterpret_cast<void**>(&g_jvmti), JVMTI_VERSION_1_2) != JNI_OK || !g_jvmti) {
        fprintf(stderr, "crashagent: this JVM offers no JVMTI 1.2 environment; the agent is not loaded\n");
        return JNI_ERR;
    }
    // Each capability on its own, so one the JVM refuses does not cost the others; reports still
    // work without any of them.
    jvmtiCapabilities caps;
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_native_method_bind_events = 1;
    add_capability(caps, "can_generate_native_method_bind_events", "reports will not name the Java native method");
    memset(&caps, 0, sizeof(caps));
    caps.can_get_source_file_name = 1;
    caps.can_get_line_numbers = 1;
    add_capability(caps, "can_get_source_file_name/can_get_line_numbers", "Java frames will lack file and line");
    memset(&caps, 0, sizeof(caps));
    caps.can_generate_compiled_method_load_events = 1;
    g_compiled_method_events = add_capability(caps, "can_generate_compiled_method_load_events",
                                              "native frames in JIT-compiled code will not be named");
    if (!live) {
        // The JVM starts Reference Handler and Finalizer while still in the primordial phase
        // unless the start phase begins early; only then do they get ThreadStart (Java info,
        // altstack). Only to be had at OnLoad.
        memset(&caps, 0, sizeof(caps));
        caps.can_generate_early_vmstart = 1;
        add_capability(caps, "can_generate_early_vmstart",
                       "crashes on threads the JVM starts before VMInit (Finalizer) will lack Java details");
    }
    jvmtiEventCallbacks callbacks;
    memset(&callbacks, 0, sizeof(callbacks));
    callbacks.VMInit = &on_vm_init;
    callbacks.VMDeath = &on_vm_death;
    callbacks.ThreadStart = &on_thread_start;
    callbacks.ThreadEnd = &on_thread_end;
    callbacks.NativeMethodBind = &on_native_method_bind;
    callbacks.CompiledMethodLoad = &on_compiled_method_load;
    callbacks.CompiledMethodUnload = &on_compiled_method_unload;
    callbacks.DynamicCodeGenerated = &on_dynamic_code_generated;
    g_jvmti->SetEventCallbacks(&callbacks, sizeof(callbacks));
    if (!live) g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_VM_INIT, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_VM_DEATH, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_THREAD_START, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_THREAD_END, nullptr);
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_NATIVE_METHOD_BIND, nullptr);
    // Names for frames in the code cache. Enabled at OnLoad, the stubs and the interpreter come as
    // the JVM generates them, before the code cache is first used.
    g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_DYNAMIC_CODE_GENERATED, nullptr);
    if (g_compiled_method_events) {
        g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_COMPILED_METHOD_LOAD, nullptr);
        g_jvmti->SetEventNotificationMode(JVMTI_ENABLE, JVMTI_EVENT_COMPILED_METHOD_UNLOAD, nullptr);
    }
    if (live) replay_code_events();
    return JNI_OK;
}

// The memory CrashAgent.putContext and breadcrumb write into, and the crash's copy of it; both
// live as long as the process. The copy is made in crash context, so its storage is allocated here.
bool setup_app_context(uint32_t breadcrumbs) {
    size_t size = shared_context_size(breadcrumbs);
    constexpr size_t kAlignment = 64;  // Java's VarHandle atomics need aligned addresses
    uint8_t* raw = new (std::nothrow) uint8_t[size + kAlignment]();
    uint32_t entries = breadcrumb_ring_entries(breadcrumbs);
    Breadcrumb* copies = entries ? new (std::nothrow) Breadcrumb[entries] : nullptr;
    if (!raw || (entries && !copies)) {
        delete[] raw;
        delete[] copies;
        return false;
    }
    uint8_t* memory = raw + (kAlignment - reinterpret_cast<uintptr_t>(raw) % kAlignment) % kAlignment;
    shared_context_format(memory, breadcrumbs);
    g_app_context.snapshot.breadcrumbs = copies;
    g_app_context.snapshot.breadcrumb_capacity = entries;
    g_app_context.size = size;
    g_app_context.memory = memory;
    return true;
}

int start(const char* options) {
    char error[1024];
    Options parsed;
    if (!parse_options(options, &parsed, error, sizeof(error))) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    if (g_started) {
        fprintf(stderr, "crashagent: already started; options '%s' ignored\n", options ? options : "");
        return 0;
    }
    if (!platform::check_report_dir(parsed.dir, error, sizeof(error))) {
        // A directory the user gave must work, or the JVM does not start.
        if (parsed.dir[0]) {
            fprintf(stderr, "%s\n", error);
            return 2;
        }
        // No dir=: a service started in a working directory it cannot write (often /) still gets
        // its reports, in the temp directory, where they also go when the report directory fails
        // at crash time.
        const char* temp = platform::fallback_report_dir();
        char temp_error[1024];
        if (!platform::check_report_dir(temp, temp_error, sizeof(temp_error))) {
            fprintf(stderr, "%s\n%s\ncrashagent: give dir= a writable directory\n", error, temp_error);
            return 2;
        }
        fprintf(stderr, "crashagent: warning: no dir= given and the working directory cannot take reports (%s); "
                        "they go to the temp directory %s instead; give dir= to choose\n", error, temp);
        str_copy(parsed.dir, sizeof(parsed.dir), temp);
    }
    g_agent.options = parsed;
    if (!setup_app_context(parsed.breadcrumbs)) {
        fprintf(stderr, "crashagent: no memory for the context and %u breadcrumbs (option 'breadcrumbs'); "
                        "reports will have neither\n", parsed.breadcrumbs);
    }
    if (parsed.native_calls[0]) {
        char thunk_error[256];
        if (call_thunks_init(thunk_error, sizeof(thunk_error))) {
            native_calls_enable();
        } else {
            fprintf(stderr, "crashagent: option 'native-calls': cannot make the call thunks (%s); "
                            "native calls are not recorded\n", thunk_error);
        }
    }
    platform::resolve_report_dir(parsed.dir, g_agent.report_dir, sizeof(g_agent.report_dir));
    if (strlen(g_agent.report_dir) > kPathCapacity - 64) {
        // Report names must fit next to it: crashagent_pid<pid>_<n>.json.tmp.
        fprintf(stderr, "crashagent: option 'dir': the directory path '%s' is longer than %zu characters\n",
                g_agent.report_dir, kPathCapacity - 64);
        return 2;
    }
    if (!platform::dispatcher_channel_open(error, sizeof(error)) ||
        !platform::install_crash_handlers(parsed, error, sizeof(error))) {
        fprintf(stderr, "%s\n", error);
        return 3;
    }
    g_started = true;
    return 0;
}

void stop() {
    if (!g_started) return;
    platform::uninstall_crash_handlers();
    g_started = false;
}

}  // namespace

void adopt_initialized_api_class(JNIEnv* jni) {
    jint count = 0;
    jclass* classes = nullptr;
    if (g_jvmti->GetLoadedClasses(&count, &classes) != JVMTI_ERROR_NONE) return;
    for (jint i = 0; i < count; i++) {
        char* signature = nullptr;
        jint status = 0;
        // Only initialized ones: initializing the class connects it by itself, and initializing
        // it from here would run application class loading on the attach thread.
        if (g_jvmti->GetClassSignature(classes[i], &signature, nullptr) == JVMTI_ERROR_NONE &&
            strcmp(signature, "Lio/github/crashagent/CrashAgent;") == 0 &&
            g_jvmti->GetClassStatus(classes[i], &status) == JVMTI_ERROR_NONE &&
            (status & JVMTI_CLASS_STATUS_INITIALIZED)) {
            set_api_class(jni, classes[i]);
        }
        if (signature) g_jvmti->Deallocate(reinterpret_cast<unsigned char*>(signature));
        jni->DeleteLocalRef(classes[i]);
    }
    g_jvmti->Deallocate(reinterpret_cast<unsigned char*>(classes));
}

namespace {

jint load(JavaVM* vm, char* options, bool live) {
    platform::note_jvm_address(reinterpret_cast<const void*>(vm->functions->GetEnv));
    bool already = g_started;
    // Threads of a running JVM get no ThreadStart: a crash on one of them cannot be told apart
    // from one on a thread the JVM does not know. Set before the handlers go in.
    if (live && !already) g_agent.attached_late.store(1, std::memory_order_release);
    if (start(options) != 0) return JNI_ERR;
    if (already) return JNI_OK;  // a second -agentpath or attach: one JVMTI environment is enough
    platform::expected_hs_err_path(g_record.hs_err_path, sizeof(g_record.hs_err_path));
    return setup_jvmti(vm, live);
}

}  // namespace
}  // namespace jvm
}  // namespace crashagent

extern "C" {

// Starts crash reporting in any process. Returns 0 on success; on a bad option prints a message
// naming it and returns non-zero.
JNIEXPORT int crashagent_start(const char* options) { return jvm::start(options); }

// Removes the crash handlers, restoring the previous ones where they are still ours to restore.
JNIEXPORT void crashagent_stop(void) { jvm::stop(); }

JNIEXPORT jint JNICALL Agent_OnLoad(JavaVM* vm, char* options, void*) { return jvm::load(vm, options, false); }

JNIEXPORT jint JNICALL Agent_OnAttach(JavaVM* vm, char* options, void*) {
    jint rc = jvm::load(vm, options, true);
    if (rc != JNI_OK) return rc;
    JNIEnv* jni = nullptr;
    if (vm->GetEnv(reinterpret_cast<void**>(&jni), JNI_VERSION_1_6) == JNI_OK) {
        jvm::adopt_initialized_api_class(jni);
        jvm::start_dispatcher(jni);
    }
    return JNI_OK;
}

JNIEXPORT void JNICALL Agent_OnUnload(JavaVM*) { jvm::stop(); }

}  // extern "C"
