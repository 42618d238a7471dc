// SPDX-License-Identifier: Apache-2.0
// The dispatcher: a JVMTI agent thread, started at VMInit, that sleeps until a crash wakes it.
// It is the only code that touches Java after a crash: it reads the crashing thread's Java stack
// and runs the listeners through CrashAgent.dispatch(). The crashing thread waits for it within
// the timeout budget, so nothing here can delay the JVM's own crash handling for longer.
#include <stdio.h>
#include <string.h>

#include <atomic>

#include "core/app_context.h"
#include "core/native_calls.h"
#include "core/crash_flow.h"
#include "core/report.h"
#include "core/thread_registry.h"
#include "core/writer.h"
#include "jvm/agent.h"
#include "platform.h"

namespace crashagent {
namespace jvm {

namespace {

// The Java API class and its dispatch method, published together once and never released: the
// dispatcher may be using them at any time.
struct ApiEntry {
    jclass api_class;
    jmethodID dispatch;
};
std::atomic<ApiEntry*> g_api{nullptr};
std::atomic<int> g_dispatcher_started{0};

// Text/number slots of CrashAgent.dispatch(); NativeEventDecoder.java uses the same order.
enum TextField { kKind, kModule, kSymbol, kThreadName, kNativeMethod, kSignature, kReportFile, kOrigin, kTextCount };
enum NumberField { kCode, kFaultAddress, kPc, kModuleOffset, kTimestamp, kJavaThread, kHasFaultAddress, kNumberCount };

void deallocate(void* p) {
    if (p) g_jvmti->Deallocate(static_cast<unsigned char*>(p));
}

// Writes the note, then publishes it: the crashing thread may read the record at any moment.
void publish_java_note(CrashRecord* r, const char* note) {
    str_copy(r->java_note, sizeof(r->java_note), note);
    r->java_note_ready.store(1, std::memory_order_release);
}

void describe_state(jint state, char* out, size_t capacity) {
    const char* s = "unknown";
    if (state & JVMTI_THREAD_STATE_IN_NATIVE) s = "in native";
    else if (state & JVMTI_THREAD_STATE_BLOCKED_ON_MONITOR_ENTER) s = "blocked";
    else if (state & JVMTI_THREAD_STATE_WAITING) s = "waiting";
    else if (state & JVMTI_THREAD_STATE_RUNNABLE) s = "in Java or VM";
    str_copy(out, capacity, s);
}

void fill_java_frame(JNIEnv* jni, jmethodID method, jlocation location, JavaFrame* f) {
    f->class_name[0] = f->method[0] = f->file[0] = '\0';
    f->line = -1;
    char* name = nullptr;
    char* class_signature = nullptr;
    char* file = nullptr;
    jclass holder = nullptr;
    if (g_jvmti->GetMethodName(method, &name, nullptr, nullptr) == JVMTI_ERROR_NONE) {
        str_copy(f->method, sizeof(f->method), name);
    }
    if (g_jvmti->GetMethodDeclaringClass(method, &holder) == JVMTI_ERROR_NONE &&
        g_jvmti->GetClassSignature(holder, &class_signature, nullptr) == JVMTI_ERROR_NONE) {
        java_class_name(f->class_name, sizeof(f->class_name), class_signature);
        if (g_jvmti->GetSourceFileName(holder, &file) == JVMTI_ERROR_NONE) str_copy(f->file, sizeof(f->file), file);
    }
    jboolean is_native = JNI_FALSE;
    g_jvmti->IsMethodNative(method, &is_native);
    if (is_native) {
        f->line = -2;
    } else {
        jint entries = 0;
        jvmtiLineNumberEntry* table = nullptr;
        if (g_jvmti->GetLineNumberTable(method, &entries, &table) == JVMTI_ERROR_NONE) {
            for (jint i = 0; i < entries; i++) {
                if (table[i].start_location <= location) f->line = table[i].line_number;
            }
            deallocate(table);
        }
    }
    deallocate(name);
    deallocate(class_signature);
    deallocate(file);
    if (holder) jni->DeleteLocalRef(holder);
}

// Reads the crashing thread's name, state and Java stack into the record. GetStackTrace on a
// thread in native code is done by this thread (the requester) through a handshake; a thread
// that faulted in Java or VM state would never complete it, so its stack is not asked for.
void collect_java_side(JNIEnv* jni, CrashRecord* r, jthread thread) {
    jvmtiThreadInfo info;
    memset(&info, 0, sizeof(info));
    if (g_jvmti->GetThreadInfo(thread, &info) == JVMTI_ERROR_NONE) {
        if (info.name) str_copy(r->java_thread_name, sizeof(r->java_thread_name), info.name);
        deallocate(info.name);
        if (info.thread_group) jni->DeleteLocalRef(info.thread_group);
        if (info.context_class_loader) jni->DeleteLocalRef(info.context_class_loader);
    }
    jint state = 0;
    g_jvmti->GetThreadState(thread, &state);
    describe_state(state, r->thread_state, sizeof(r->thread_state));
    r->java_info_ready.store(1, std::memory_order_release);

    if (!(state & JVMTI_THREAD_STATE_IN_NATIVE)) {
        publish_java_note(r, "the thread was not in native code; its Java stack cannot be read safely");
        return;
    }
    jvmtiFrameInfo frames[kMaxJavaFrames];
    jint count = 0;
    if (g_jvmti->GetStackTrace(thread, 0, kMaxJavaFrames, frames, &count) != JVMTI_ERROR_NONE) {
        publish_java_note(r, "GetStackTrace failed");
        return;
    }
    for (jint i = 0; i < count; i++) fill_java_frame(jni, frames[i].method, frames[i].location, &r->java_frames[i]);
    char* signature = nullptr;
    if (!r->native_method[0] && count > 0 && r->java_frames[0].line == -2 &&
        g_jvmti->GetMethodName(frames[0].method, nullptr, &signature, nullptr) == JVMTI_ERROR_NONE) {
        // The native frames did not reach the JNI entry (deep recursion, stripped library):
        // the top Java frame is the native method that entered the library.
        snprintf(r->java_native_method, sizeof(r->java_native_method), "%s.%s%s", r->java_frames[0].class_name,
                 r->java_frames[0].method, signature);
    }
    deallocate(signature);
    r->java_frame_count.store(count, std::memory_order_release);
}

jstring text_or_null(JNIEnv* jni, const char* s) { return (s && *s) ? jni->NewStringUTF(s) : nullptr; }

jobjectArray string_array(JNIEnv* jni, jclass string_class, int n) { return jni->NewObjectArray(n, string_class, nullptr); }

void set_text(JNIEnv* jni, jobjectArray array, int index, const char* s) {
    if (!array || jni->ExceptionCheck()) return;
    jstring v = text_or_null(jni, s);
    jni->SetObjectArrayElement(array, index, v);
    if (v) jni->DeleteLocalRef(v);
}

// Calls CrashAgent.dispatch(...), which runs every listener and reports each outcome back through
// CrashAgent.nativeListenerOutcome.
void run_listeners(JNIEnv* jni, const CrashRecord& r) {
    ApiEntry* entry = g_api.load(std::memory_order_acquire);
    if (!entry) return;  // the application never used the Java API: no listeners
    jclass api = entry->api_class;
    jmethodID dispatch = entry->dispatch;
    if (jni->PushLocalFrame(64 + 4 * kMaxJavaFrames) != 0) return;
    jclass string_class = jni->FindClass("java/lang/String");
    if (!string_class) {
        jni->ExceptionClear();
        jni->PopLocalFrame(nullptr);
        return;
    }
    jobjectArray text = string_array(jni, string_class, kTextCount);
    const NativeFrame* crash = r.crash_frame >= 0 ? &r.frames[r.crash_frame] : nullptr;
    const Module* module = crash && crash->module >= 0 ? &r.modules[crash->module] : nullptr;
    set_text(jni, text, kKind, r.kind);
    set_text(jni, text, kModule, module ? module->path : nullptr);
    set_text(jni, text, kSymbol, crash ? crash->symbol : nullptr);
    set_text(jni, text, kThreadName, r.java_thread_name[0] ? r.java_thread_name : r.thread_name);
    set_text(jni, text, kNativeMethod, record_native_method(r));
    set_text(jni, text, kSignature, r.signature);
    set_text(jni, text, kReportFile, r.json_path[0] ? r.json_path : nullptr);
    set_text(jni, text, kOrigin, r.origin);

    jlong numbers[kNumberCount];
    numbers[kCode] = static_cast<jlong>(r.code);
    numbers[kFaultAddress] = static_cast<jlong>(r.fault_address);
    numbers[kPc] = static_cast<jlong>(r.pc);
    numbers[kModuleOffset] = module ? static_cast<jlong>(crash->pc - module->base) : 0;
    numbers[kTimestamp] = static_cast<jlong>(r.timestamp_ms);
    numbers[kJavaThread] = r.java_thread == 1 ? 1 : 0;
    numbers[kHasFaultAddress] = r.has_fault_address ? 1 : 0;
    jlongArray number_array = jni->NewLongArray(kNumberCount);
    if (number_array) jni->SetLongArrayRegion(number_array, 0, kNumberCount, numbers);

    int java_count = r.java_frame_count.load(std::memory_order_acquire);
    if (java_count < 0) java_count = 0;
    jobjectArray classes = string_array(jni, string_class, java_count);
    jobjectArray methods = string_array(jni, string_class, java_count);
    jobjectArray files = string_array(jni, string_class, java_count);
    jintArray lines = jni->NewIntArray(java_count);
    for (int i = 0; i < java_count; i++) {
        const JavaFrame& f = r.java_frames[i];
        set_text(jni, classes, i, f.class_name[0] ? f.class_name : "?");
        set_text(jni, methods, i, f.method[0] ? f.method : "?");
        set_text(jni, files, i, f.file);
        jint line = f.line;
        if (lines) jni->SetIntArrayRegion(lines, i, 1, &line);
    }
    jobjectArray native_frames = string_array(jni, string_class, r.frame_count);
    for (int i = 0; i < r.frame_count; i++) {
        char line[kPathCapacity];
        StringSink sink{line, sizeof(line), 0};
        char buffer[128];
        Writer w(buffer, sizeof(buffer), sink.sink());
        write_frame_text(r, r.frames[i], w);
        w.flush();
        set_text(jni, native_frames, i, line);
    }
    // Any failed allocation above left an exception pending and a null array: no call then.
    if (!jni->ExceptionCheck() && text && number_array && classes && methods && files && lines && native_frames) {
        jni->CallStaticVoidMethod(api, dispatch, text, number_array, classes, methods, files, lines, native_frames);
    }
    if (jni->ExceptionCheck()) {
        jni->ExceptionDescribe();
        jni->ExceptionClear();
    }
    jni->PopLocalFrame(nullptr);
}

void JNICALL dispatcher_main(jvmtiEnv*, JNIEnv* jni, void*) {
    platform::prepare_current_thread();
    g_agent.dispatcher_thread.store(platform::current_thread_id(), std::memory_order_release);
    // Usually one crash ends the process. On Windows a claimed crash may turn out not to be fatal
    // (a handler after the agent's resumed it); the claim is then released, and the next crash
    // needs the dispatcher again. So it waits for crashes until the VM dies.
    for (;;) {
        if (!platform::dispatcher_wait_for_crash()) {
            // VM death: leave native code so HotSpot's exit does not wait for this thread.
            g_agent.dispatcher_available.store(0, std::memory_order_release);
            platform::dispatcher_signal_stopped();
            return;
        }

        CrashRecord* r = &g_record;
        r->dispatch_state.store(static_cast<int>(DispatchState::kRunning), std::memory_order_release);
        uint64_t crashing = g_agent.crashing_thread.load(std::memory_order_acquire);
        jthread thread = static_cast<jthread>(thread_registry_find(crashing));
        if (thread) {
            collect_java_side(jni, r, thread);
        } else {
            publish_java_note(r, r->java_thread < 0
                                     ? "the crashing thread is older than the agent, which was attached to a running "
                                       "JVM; whether it is a Java thread is unknown"
                                     : "the crashing thread is not a Java thread");
        }
        run_listeners(jni, *r);
        r->dispatch_state.store(static_cast<int>(DispatchState::kComplete), std::memory_order_release);
        platform::dispatcher_signal_done();
    }
}

}  // namespace

void start_dispatcher(JNIEnv* jni) {
    int expected = 0;
    if (!g_dispatcher_started.compare_exchange_strong(expected, 1)) return;
    jclass thread_class = jni->FindClass("java/lang/Thread");
    jmethodID init = thread_class ? jni->GetMethodID(thread_class, "<init>", "(Ljava/lang/String;)V") : nullptr;
    jstring name = jni->NewStringUTF("crashagent dispatcher");
    jobject thread = init && name ? jni->NewObject(thread_class, init, name) : nullptr;
    if (!thread || g_jvmti->RunAgentThread(thread, &dispatcher_main, nullptr, JVMTI_THREAD_MAX_PRIORITY) != JVMTI_ERROR_NONE) {
        if (jni->ExceptionCheck()) jni->ExceptionClear();
        fprintf(stderr, "crashagent: could not start the dispatcher thread; crashes are still reported, without Java stacks or listeners\n");
        return;
    }
    g_agent.dispatcher_available.store(1, std::memory_order_release);
}

void stop_dispatcher() {
    // In a JVM that dies right after VMInit the thread may not have reached its wait yet. The stop
    // request stays in the channel, so it returns as soon as it gets there, instead of blocking in
    // native code through HotSpot's exit.
    if (!g_agent.dispatcher_available.load(std::memory_order_acquire)) return;
    // A crash in progress owns the dispatcher; the JVM is dying anyway.
    if (g_agent.crashing_thread.load(std::memory_order_acquire) != 0) return;
    platform::dispatcher_request_stop(200);
}

void set_api_class(JNIEnv* jni, jclass api_class) {
    ApiEntry* current = g_api.load(std::memory_order_acquire);
    if (current) {
        if (!jni->IsSameObject(current->api_class, api_class)) {
            fprintf(stderr, "crashagent: io.github.crashagent.CrashAgent was loaded by a second class loader; only the "
                            "listeners of the first one will run\n");
        }
        return;
    }
    jmethodID dispatch = jni->GetStaticMethodID(api_class, "dispatch",
        "([Ljava/lang/String;[J[Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/String;[I[Ljava/lang/String;)V");
    if (!dispatch) {
        jni->ExceptionClear();
        fprintf(stderr, "crashagent: io.github.crashagent.CrashAgent has no matching dispatch method; the agent and API versions differ\n");
        return;
    }
    ApiEntry* entry = new ApiEntry{static_cast<jclass>(jni->NewGlobalRef(api_class)), dispatch};
    ApiEntry* expected = nullptr;
    if (!g_api.compare_exchange_strong(expected, entry, std::memory_order_acq_rel)) {
        jni->DeleteGlobalRef(entry->api_class);  // another thread connected first
        delete entry;
    }
}

}  // namespace jvm
}  // namespace crashagent

using namespace crashagent;

extern "C" {

JNIEXPORT jboolean JNICALL Java_io_github_crashagent_CrashAgent_nativeConnect(JNIEnv* jni, jclass api_class) {
    jvm::set_api_class(jni, api_class);
    return g_agent.installed.load(std::memory_order_acquire) ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT jstring JNICALL Java_io_github_crashagent_CrashAgent_nativeReportDirectory(JNIEnv* jni, jclass) {
    return jni->NewStringUTF(g_agent.report_dir);
}

JNIEXPORT jstring JNICALL Java_io_github_crashagent_CrashAgent_nativeFallbackDirectory(JNIEnv* jni, jclass) {
    return jni->NewStringUTF(platform::fallback_report_dir());
}

JNIEXPORT void JNICALL Java_io_github_crashagent_CrashAgent_nativeListenerOutcome(JNIEnv* jni, jclass, jint index,
                                                                                 jstring name, jstring outcome) {
    if (index < 0 || index >= kMaxListeners) return;
    ListenerOutcome& l = g_record.listeners[index];
    const char* n = name ? jni->GetStringUTFChars(name, nullptr) : nullptr;
    const char* o = outcome ? jni->GetStringUTFChars(outcome, nullptr) : nullptr;
    bool running = o && strcmp(o, "running") == 0;
    if (running) {
        str_copy(l.name, sizeof(l.name), n ? n : "?");
        l.state.store(static_cast<int>(ListenerState::kRunning), std::memory_order_release);
    } else {
        str_copy(l.outcome, sizeof(l.outcome), o ? o : "?");
        l.state.store(static_cast<int>(ListenerState::kDone), std::memory_order_release);
    }
    // Whatever ends the process from a listener, the report on disk says which one was running.
    platform::dispatcher_signal_progress();
    if (n) jni->ReleaseStringUTFChars(name, n);
    if (o) jni->ReleaseStringUTFChars(outcome, o);
}

// The memory CrashAgent.putContext and breadcrumb write into, as a direct buffer; null when the
// agent has none (no memory at startup).
JNIEXPORT jobject JNICALL Java_io_github_crashagent_CrashAgent_nativeSharedMemory(JNIEnv* jni, jclass) {
    if (!g_app_context.memory) return nullptr;
    return jni->NewDirectByteBuffer(g_app_context.memory, static_cast<jlong>(g_app_context.size));
}

// The context and breadcrumbs the crash copied, for the listeners' CrashEvent: {byte[][] texts,
// long[] numbers}. texts: key, value for each context entry, then thread name, message for each
// breadcrumb, as UTF-8; numbers: the entry count, the breadcrumb count, then time and Java thread
// id for each breadcrumb. Null when the crash copied nothing.
JNIEXPORT jobjectArray JNICALL Java_io_github_crashagent_CrashAgent_nativeCrashContext(JNIEnv* jni, jclass) {
    const ContextSnapshot* c = g_record.app_context;
    if (!c || !c->taken) return nullptr;
    jclass bytes_class = jni->FindClass("[B");
    jclass object_class = jni->FindClass("java/lang/Object");
    if (!bytes_class || !object_class) return nullptr;
    jsize text_count = 2 * (c->context_count + c->breadcrumb_count);
    jobjectArray texts = jni->NewObjectArray(text_count, bytes_class, nullptr);
    jlongArray numbers = jni->NewLongArray(2 + 2 * c->breadcrumb_count);
    jobjectArray result = jni->NewObjectArray(2, object_class, nullptr);
    if (!texts || !numbers || !result) return nullptr;
    jsize at = 0;
    auto add = [&](const char* s) {
        jsize n = static_cast<jsize>(strlen(s));
        jbyteArray b = jni->NewByteArray(n);
        if (!b) return;
        jni->SetByteArrayRegion(b, 0, n, reinterpret_cast<const jbyte*>(s));
        jni->SetObjectArrayElement(texts, at++, b);
        jni->DeleteLocalRef(b);
    };
    for (int i = 0; i < c->context_count; i++) {
        add(c->context[i].key);
        add(c->context[i].value);
    }
    jlong counts[2] = {c->context_count, c->breadcrumb_count};
    jni->SetLongArrayRegion(numbers, 0, 2, counts);
    for (int i = 0; i < c->breadcrumb_count; i++) {
        const Breadcrumb& b = c->breadcrumbs[i];
        add(b.thread_name);
        add(b.message);
        jlong values[2] = {static_cast<jlong>(b.time_ms), static_cast<jlong>(b.thread_id)};
        jni->SetLongArrayRegion(numbers, 2 + 2 * i, 2, values);
    }
    if (jni->ExceptionCheck()) return nullptr;
    jni->SetObjectArrayElement(result, 0, texts);
    jni->SetObjectArrayElement(result, 1, numbers);
    return result;
}

// The JNI calls the crash copied (native-calls=), for the listeners' CrashEvent: {String[]
// methods, long[] numbers}. methods: one per call, the crashing thread's then the process's;
// numbers: the two counts, then for each call its thread id, time in ns, argument count, a mask of
// the arguments that are references, and three argument values. Null without the option.
JNIEXPORT jobjectArray JNICALL Java_io_github_crashagent_CrashAgent_nativeCrashCalls(JNIEnv* jni, jclass) {
    const NativeCallSnapshot* n = g_record.native_calls;
    if (!n || !n->taken) return nullptr;
    jclass string_class = jni->FindClass("java/lang/String");
    jclass object_class = jni->FindClass("java/lang/Object");
    if (!string_class || !object_class) return nullptr;
    constexpr int kPerCall = 7;
    jsize total = n->thread_count + n->process_count;
    jobjectArray methods = jni->NewObjectArray(total, string_class, nullptr);
    jlongArray numbers = jni->NewLongArray(2 + kPerCall * total);
    jobjectArray result = jni->NewObjectArray(2, object_class, nullptr);
    if (!methods || !numbers || !result) return nullptr;
    jlong counts[2] = {n->thread_count, n->process_count};
    jni->SetLongArrayRegion(numbers, 0, 2, counts);
    for (jsize i = 0; i < total; i++) {
        const NativeCall& c = i < n->thread_count ? n->thread_calls[i] : n->process_calls[i - n->thread_count];
        const TracedMethod* m = native_calls_method(c.method);
        jlong values[kPerCall] = {static_cast<jlong>(c.thread_id), c.time_ns, 0, 0, 0, 0, 0};
        for (int a = 0; m && a < kCallArgs && m->arg_type[a]; a++) {
            int64_t v = 0;
            values[2]++;
            if (native_call_argument(*m, c, a, &v)) {
                values[4 + a] = v;
            } else {
                values[3] |= jlong{1} << a;
            }
        }
        jni->SetLongArrayRegion(numbers, 2 + kPerCall * i, kPerCall, values);
        if (m) {
            jstring name = jni->NewStringUTF(m->name);
            if (!name) return nullptr;
            jni->SetObjectArrayElement(methods, i, name);
            jni->DeleteLocalRef(name);
        }
    }
    if (jni->ExceptionCheck()) return nullptr;
    jni->SetObjectArrayElement(result, 0, methods);
    jni->SetObjectArrayElement(result, 1, numbers);
    return result;
}

}  // extern "C"
