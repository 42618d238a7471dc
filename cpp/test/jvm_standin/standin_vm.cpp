// SPDX-License-Identifier: Apache-2.0
// The JVM stand-in: loads an agent the way HotSpot does and serves the JavaVM, a JNIEnv per Java
// thread and the jvmtiEnv with the functions the agent calls, through a JVM's lifecycle: OnLoad,
// VMStart, VMInit, a native method bound and called from a "Java" thread, the Java side of
// io.github.crashagent.CrashAgent (listener registration, dispatch, outcomes), VMDeath and
// Agent_OnUnload. It exists so that the whole -agentpath: flow runs where no JVM does (Windows,
// under Wine); the same source runs on Linux next to real HotSpot to show that it serves the agent
// as HotSpot does. Every table slot it does not serve is a trap that names the function.
#include <jni.h>
#include <jvmti.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "jvm_slots.h"
#include "standin.h"

namespace standin {
namespace {

const char kUsage[] =
    "usage: jvm_standin [-agentpath:<agent library>[=<options>]] <jni library> <exported JNI function> <int argument>\n"
    "                   [--method '<pkg.Class.name(Signature)>'] [--caller '<pkg.Class.method(File.java:line)>']...\n"
    "                   [--listener <file>] [--listener-mode ok|throw|hang] [--threads <n>] [--timing]\n"
    "                   [--agent-threads-start-late] [--native-wrapper] [--context <text>]\n"
    "\n"
    "A stand-in for java + the JVM library, for running a JVMTI agent where no JVM runs. It loads\n"
    "the agent as HotSpot does (load the library, Agent_OnLoad(vm, options, NULL); a non-zero return\n"
    "prints HotSpot's message and exits with 1), posts DynamicCodeGenerated for an \"Interpreter\"\n"
    "before VMStart, VMStart and VMInit (on the main thread), CompiledMethodLoad for the first caller\n"
    "after VMInit (blobs no test frame runs in; GenerateEvents posts them again),\n"
    "ThreadStart/ThreadEnd for its Java threads and agent threads, binds the JNI function as HotSpot\n"
    "links a native method (NativeMethodBind with its address), calls it from a Java thread inside\n"
    "the JVM's exception handler with (JNIEnv*, jclass, then the int argument for each parameter),\n"
    "then posts VMDeath, calls Agent_OnUnload and waits up to 300 ms for agent threads still in\n"
    "native code, as HotSpot's exit does. A fault the JVM does not own ends the process as HotSpot's\n"
    "error handler does: hs_err_pid<pid>.log in the working directory, then exit status 1 (Windows)\n"
    "or abort (Linux).\n"
    "\n"
    "  --method           the Java method the JNI function implements; default: decoded from the\n"
    "                     Java_ name, with signature ()V\n"
    "  --caller           a Java frame below the native method, outermost last; repeat for more;\n"
    "                     default: two frames of io.github.crashagent.standin.Main\n"
    "  --listener <file>  plays the application's use of io.github.crashagent.CrashAgent: the class\n"
    "                     connects to the agent (nativeConnect) and one listener is registered; when\n"
    "                     the agent calls CrashAgent.dispatch, the arguments are decoded as\n"
    "                     NativeEventDecoder does and what a Java listener receives is written to\n"
    "                     <file>, one 'key: value' per line; outcomes go back through\n"
    "                     nativeListenerOutcome\n"
    "  --listener-mode    after writing the file, the listener returns (ok), throws\n"
    "                     IllegalStateException (throw) or never returns (hang); default ok\n"
    "  --threads <n>      calls the function on n Java threads started together (1..8); default:\n"
    "                     once, on the main thread\n"
    "  --agent-threads-start-late\n"
    "                     agent threads (RunAgentThread) start running only when VMDeath is posted\n"
    "                     or the agent's JSON report is in the working directory, as in a JVM that\n"
    "                     exits or crashes before it first schedules them\n"
    "  --native-wrapper   calls the JNI function through generated code outside any module, as\n"
    "                     HotSpot's native wrapper of a compiled native method, and posts\n"
    "                     CompiledMethodLoad for it (on Windows its unwind data is registered with\n"
    "                     RtlAddFunctionTable, as HotSpot's code cache is)\n"
    "  --context <text>   with --listener, before the call: CrashAgent.putContext(\"request\", text)\n"
    "                     and CrashAgent.breadcrumb(text), written into the agent's shared memory\n"
    "                     (nativeSharedMemory) as the Java API writes them\n"
    "  --timing           prints standin-timing lines on stderr: from the call into the native\n"
    "                     method to the first listener call and to the JVM's error handler, and the\n"
    "                     time from VMDeath to the end of the exit\n"
    "\n"
    "Exit status: as the JVM's (0 when the method returns; 1 after hs_err on Windows, abort on\n"
    "Linux); 1 when the agent fails to init; 64 for bad usage; 86 when the agent calls a JNI or JVMTI\n"
    "function the stand-in does not serve, or passes it something a JVM would reject as a misuse\n"
    "(a bad reference, a JNIEnv of another thread); the message names the function.\n";

constexpr int kUsageExit = 64;
constexpr int kUnservedExit = 86;
constexpr int kMaxThreads = 8;
constexpr uint32_t kExitWaitForNativeMs = 300;  // HotSpot's wait for threads in native at exit
const char kListenerClass[] = "io.github.crashagent.testapp.ViewListener";
const char kDispatchSignature[] =
    "([Ljava/lang/String;[J[Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/String;[I[Ljava/lang/String;)V";

[[noreturn]] void die_unserved(const char* table, const char* name) {
    std::fprintf(stderr, "jvm_standin: the agent called the %s function %s, which the stand-in does not serve\n",
                 table, name);
    std::fflush(stderr);
    std::_Exit(kUnservedExit);
}

[[noreturn]] void die(const char* what, const char* detail) {
    std::fprintf(stderr, "jvm_standin: %s%s\n", what, detail ? detail : "");
    std::fflush(stderr);
    std::_Exit(kUnservedExit);
}

// --- Traps for every slot ------------------------------------------------------------------------

enum TableId { kJni, kInvoke, kJvmti };
const char* const kTableNames[] = {"JNI", "JNI invocation", "JVMTI"};

template <int T>
struct Trap {
    template <size_t I>
    static void call() {
        const char* name = T == kJni ? kJniSlots[I] : T == kInvoke ? kInvokeSlots[I] : kJvmtiSlots[I];
        die_unserved(kTableNames[T], name);
    }
};

template <int T, size_t... I>
void fill_traps(void** slots, std::index_sequence<I...>) {
    ((slots[I] = reinterpret_cast<void*>(&Trap<T>::template call<I>)), ...);
}

constexpr size_t kJniCount = sizeof(kJniSlots) / sizeof(kJniSlots[0]);
constexpr size_t kInvokeCount = sizeof(kInvokeSlots) / sizeof(kInvokeSlots[0]);
constexpr size_t kJvmtiCount = sizeof(kJvmtiSlots) / sizeof(kJvmtiSlots[0]);
static_assert(sizeof(JNINativeInterface_) == kJniCount * sizeof(void*), "jni.h and jvm_slots.h differ");
static_assert(sizeof(JNIInvokeInterface_) == kInvokeCount * sizeof(void*), "jni.h and jvm_slots.h differ");
static_assert(sizeof(jvmtiInterface_1_) == kJvmtiCount * sizeof(void*), "jvmti.h and jvm_slots.h differ");

template <typename Table, int T, size_t N>
void trap_all(Table* table) {
    void* slots[N];
    fill_traps<T>(slots, std::make_index_sequence<N>());
    std::memcpy(static_cast<void*>(table), slots, sizeof(slots));
}

// --- Objects, classes, methods, threads ----------------------------------------------------------

constexpr uint32_t kMagic = 0x4A4F424A;  // every handle the stand-in gives out points at one of these

enum class Kind { kClass, kString, kObjectArray, kLongArray, kIntArray, kThread, kThrowable, kPlain, kDirectBuffer };

struct Class;
struct JavaThread;

struct Obj {
    uint32_t magic = kMagic;
    Kind kind;
    Class* klass = nullptr;       // what it is an instance of; for kClass, the class it mirrors
    std::string text;             // a String's value, a Thread's name, a Throwable's toString()
    std::vector<Obj*> objects;    // Object[]
    std::vector<jlong> longs;     // long[]
    std::vector<jint> ints;       // int[]
    JavaThread* thread = nullptr; // a started Thread
    void* address = nullptr;      // a direct ByteBuffer's memory
    jlong capacity = 0;           // and its size
};

struct Method {
    Class* holder;
    std::string name;
    std::string signature;
    bool is_static;
    bool is_native;
    std::vector<jvmtiLineNumberEntry> lines;
    std::atomic<void*> bound{nullptr};  // a native's address, once linked
};

struct Class {
    std::string name;         // internal form: java/lang/String
    std::string source_file;  // empty: none
    Obj* mirror = nullptr;
    std::vector<Method*> methods;
};

// A JNIEnv the agent can be handed, and the thread it belongs to.
struct EnvSlot {
    JNIEnv_ env;
    JavaThread* thread;
};

struct Frame {
    Method* method;
    jlocation location;
};

struct JavaThread {
    EnvSlot slot{};
    Obj* object = nullptr;
    std::atomic<uint64_t> os_id{0};
    std::atomic<int> in_native{0};
    std::atomic<int> terminated{0};
    std::vector<Frame> frames;  // innermost first; written before in_native is set
    Obj* pending = nullptr;     // pending Java exception
    int local_frames = 0;
    bool agent = false;
    jvmtiStartFunction agent_proc = nullptr;
    const void* agent_arg = nullptr;
    OsThread* os_thread = nullptr;
};

thread_local JavaThread* t_current = nullptr;

std::vector<Class*> g_classes;
std::vector<Method*> g_methods;
std::atomic<int> g_agent_thread_count{0};
JavaThread* g_agent_thread_slots[16];  // written by RunAgentThread, read at exit

JNINativeInterface_ g_jni_table;
JNIInvokeInterface_ g_invoke_table;
jvmtiInterface_1_ g_jvmti_table;
JavaVM_ g_vm;
_jvmtiEnv g_jvmti;

std::atomic<int> g_phase{JVMTI_PHASE_ONLOAD};
jvmtiEventCallbacks g_callbacks;
std::atomic<bool> g_enabled[JVMTI_MAX_EVENT_TYPE_VAL + 1];
jvmtiCapabilities g_capabilities;
std::atomic<long> g_jvmti_allocations{0};

void* g_jni_library = nullptr;
void* g_agent_library = nullptr;

// What the command line asked for.
struct Options {
    const char* agent_path = nullptr;
    std::string agent_file;
    std::string agent_options;
    bool agent_has_options = false;
    const char* jni_library = nullptr;
    const char* function = nullptr;
    jint argument = 0;
    std::string method;
    std::vector<std::string> callers;
    const char* listener_file = nullptr;
    std::string listener_mode = "ok";
    int threads = 1;
    bool timing = false;
    bool agent_threads_start_late = false;
    bool native_wrapper = false;
    const char* context = nullptr;
};
Options g_options;

std::atomic<int> g_vm_death_posted{0};
std::atomic<uint64_t> g_call_us{0};
std::atomic<uint64_t> g_listener_us{0};

Obj* new_obj(Kind kind, Class* klass) {
    Obj* o = new Obj;
    o->kind = kind;
    o->klass = klass;
    return o;
}

Class* find_class(const std::string& name) {
    for (Class* c : g_classes) {
        if (c->name == name) return c;
    }
    return nullptr;
}

Class* define_class(const std::string& name, const std::string& source_file) {
    if (Class* c = find_class(name)) return c;
    Class* c = new Class;
    c->name = name;
    c->source_file = source_file;
    c->mirror = new_obj(Kind::kClass, c);
    g_classes.push_back(c);
    return c;
}

Method* define_method(Class* c, const std::string& name, const std::string& signature, bool is_static, bool is_native) {
    for (Method* m : c->methods) {
        if (m->name == name && m->signature == signature) return m;
    }
    Method* m = new Method{c, name, signature, is_static, is_native, {}, {nullptr}};
    c->methods.push_back(m);
    g_methods.push_back(m);
    return m;
}

Method* find_method(Class* c, const char* name, const char* signature, bool is_static) {
    for (Method* m : c->methods) {
        if (m->name == name && m->signature == signature && m->is_static == is_static) return m;
    }
    return nullptr;
}

// --- Checks on what the agent hands in (as -Xcheck:jni would) ------------------------------------

Obj* deref(const char* function, jobject ref, Kind kind) {
    Obj* o = reinterpret_cast<Obj*>(ref);
    if (!o || o->magic != kMagic) die("bad object reference passed to ", function);
    if (o->kind != kind) die("wrong kind of object passed to ", function);
    return o;
}

Method* method_of(const char* function, jmethodID id) {
    for (Method* m : g_methods) {
        if (reinterpret_cast<jmethodID>(m) == id) return m;
    }
    die("bad jmethodID passed to ", function);
}

JavaThread* env_thread(JNIEnv* env, const char* function) {
    JavaThread* t = reinterpret_cast<EnvSlot*>(env)->thread;
    if (t != t_current) die("a JNIEnv used on another thread than its own: ", function);
    return t;
}

bool in_phase(std::initializer_list<int> phases) {
    int now = g_phase.load(std::memory_order_acquire);
    for (int p : phases) {
        if (p == now) return true;
    }
    return false;
}

void throw_new(JavaThread* t, const char* class_name, const std::string& message) {
    Obj* e = new_obj(Kind::kThrowable, define_class(class_name, ""));
    std::string dotted = class_name;
    for (char& ch : dotted) {
        if (ch == '/') ch = '.';
    }
    e->text = dotted + ": " + message;
    t->pending = e;
}

char* jvmti_copy(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    std::memcpy(p, s.c_str(), s.size() + 1);
    g_jvmti_allocations.fetch_add(1);
    return p;
}

// --- JNI mangling (JNI spec, "Resolving Native Method Names") -----------------------------------

std::string jni_mangle(const std::string& s) {
    std::string out;
    for (unsigned char ch : s) {
        if (ch == '/' || ch == '.') out += '_';
        else if (ch == '_') out += "_1";
        else if (ch == ';') out += "_2";
        else if (ch == '[') out += "_3";
        else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) out += static_cast<char>(ch);
        else {
            char buffer[8];
            std::snprintf(buffer, sizeof(buffer), "_0%04x", ch);
            out += buffer;
        }
    }
    return out;
}

// "Java_pkg_Cls_method" -> "pkg.Cls.method()V"; an overloaded name's "__<args>" part is dropped.
bool method_from_jni_name(const char* function, std::string* out) {
    const char* prefix = "Java_";
    if (std::strncmp(function, prefix, 5) != 0) return false;
    std::string dotted;
    for (const char* p = function + 5; *p; p++) {
        if (p[0] == '_' && p[1] == '_') break;
        if (p[0] == '_' && p[1] == '1') dotted += '_', p++;
        else if (p[0] == '_' && p[1] == '0' && std::strlen(p) >= 6) {
            dotted += static_cast<char>(std::strtol(std::string(p + 2, 4).c_str(), nullptr, 16));
            p += 5;
        } else if (p[0] == '_') dotted += '.';
        else dotted += *p;
    }
    if (dotted.find('.') == std::string::npos) return false;
    *out = dotted + "()V";
    return true;
}

// "pkg.Cls.name(Sig)R" -> class "pkg/Cls", name, signature.
bool split_method(const std::string& text, std::string* klass, std::string* name, std::string* signature) {
    size_t paren = text.find('(');
    if (paren == std::string::npos || text.find(')', paren) == std::string::npos) return false;
    size_t dot = text.rfind('.', paren);
    if (dot == std::string::npos || dot == 0 || dot + 1 == paren) return false;
    *klass = text.substr(0, dot);
    for (char& ch : *klass) {
        if (ch == '.') ch = '/';
    }
    *name = text.substr(dot + 1, paren - dot - 1);
    *signature = text.substr(paren);
    return true;
}

std::string simple_source_name(const std::string& internal) {
    std::string simple = internal.substr(internal.rfind('/') + 1);
    size_t nested = simple.find('$');
    if (nested != std::string::npos) simple.resize(nested);
    return simple + ".java";
}

// --- Events --------------------------------------------------------------------------------------

bool enabled(jvmtiEvent event) { return g_enabled[event].load(std::memory_order_acquire); }

jthread local_thread(JavaThread* t) { return reinterpret_cast<jthread>(t->object); }

void post_thread_start(JavaThread* t) {
    if (enabled(JVMTI_EVENT_THREAD_START) && g_callbacks.ThreadStart && in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) {
        g_callbacks.ThreadStart(&g_jvmti, &t->slot.env, local_thread(t));
    }
}

void post_thread_end(JavaThread* t) {
    if (enabled(JVMTI_EVENT_THREAD_END) && g_callbacks.ThreadEnd && in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) {
        g_callbacks.ThreadEnd(&g_jvmti, &t->slot.env, local_thread(t));
    }
}

// Code the VM "generates", as HotSpot's code cache holds it: the interpreter (DynamicCodeGenerated,
// posted in the primordial phase as HotSpot generates it) and a compiled Java method
// (CompiledMethodLoad, live phase). Nothing runs in them: they give the agent's table entries that
// no frame of a test crash lies in. Only the native wrapper (--native-wrapper) is code that runs.
struct CodeBlob {
    const char* name;       // a stub's name; null for a compiled method
    Method* method;         // a compiled method's
    const unsigned char* code;
    jint size;
    std::atomic<bool> loaded{false};
};
alignas(64) unsigned char g_interpreter_code[4096];
alignas(64) unsigned char g_compiled_code[512];
CodeBlob g_interpreter_blob{"Interpreter", nullptr, g_interpreter_code, sizeof(g_interpreter_code), {false}};
CodeBlob g_compiled_blob{nullptr, nullptr, g_compiled_code, sizeof(g_compiled_code), {false}};
// With --native-wrapper: real code the native method is called through (os_make_native_wrapper).
CodeBlob g_wrapper_blob{nullptr, nullptr, nullptr, 0, {false}};
CodeBlob* const g_code_blobs[] = {&g_interpreter_blob, &g_compiled_blob, &g_wrapper_blob};

void post_code_blob(const CodeBlob& blob) {
    if (blob.name) {
        if (enabled(JVMTI_EVENT_DYNAMIC_CODE_GENERATED) && g_callbacks.DynamicCodeGenerated) {
            g_callbacks.DynamicCodeGenerated(&g_jvmti, blob.name, blob.code, blob.size);
        }
    } else if (enabled(JVMTI_EVENT_COMPILED_METHOD_LOAD) && g_callbacks.CompiledMethodLoad &&
               in_phase({JVMTI_PHASE_LIVE})) {
        // No address-location map and no compile info, as the spec allows.
        g_callbacks.CompiledMethodLoad(&g_jvmti, reinterpret_cast<jmethodID>(blob.method), blob.size, blob.code, 0,
                                       nullptr, nullptr);
    }
}

void load_code_blob(CodeBlob* blob) {
    blob->loaded.store(true, std::memory_order_release);
    post_code_blob(*blob);
}

// A Java thread for a java.lang.Thread object; a new object named `name` when there is none.
JavaThread* new_java_thread(const std::string& name, bool agent, Obj* object = nullptr) {
    JavaThread* t = new JavaThread;
    t->slot.env.functions = &g_jni_table;
    t->slot.thread = t;
    t->agent = agent;
    if (!object) {
        object = new_obj(Kind::kThread, define_class("java/lang/Thread", "Thread.java"));
        object->text = name;
    }
    t->object = object;
    object->thread = t;
    return t;
}

void attach_current(JavaThread* t) {
    t_current = t;
    t->os_id.store(os_thread_id(), std::memory_order_release);
}

// Runs body on t as a call from Java into native code: the thread is in native meanwhile, and
// GetStackTrace sees the native method on top of the callers.
template <typename F>
void call_native(JavaThread* t, Method* m, F&& body) {
    std::vector<Frame> saved = t->frames;
    std::vector<Frame> frames;
    frames.push_back(Frame{m, -1});
    for (const Frame& f : saved) frames.push_back(f);
    t->frames = frames;
    t->in_native.store(1, std::memory_order_release);
    os_java_call([](void* p) { (*static_cast<F*>(p))(); }, &body);
    t->in_native.store(0, std::memory_order_release);
    t->frames = saved;
}

// Links a native method as HotSpot does: the class loader's libraries first, then the agent
// libraries; NativeMethodBind lets the agent see (and replace) the address. Null, with
// UnsatisfiedLinkError pending, when no library has it.
void* link_native(JavaThread* t, Method* m) {
    void* address = m->bound.load(std::memory_order_acquire);
    if (address) return address;
    std::string symbol = "Java_" + jni_mangle(m->holder->name) + "_" + jni_mangle(m->name);
    if (g_jni_library) address = os_find_symbol(g_jni_library, symbol.c_str());
    if (!address && g_agent_library) address = os_find_symbol(g_agent_library, symbol.c_str());
    if (!address) {
        std::string dotted = m->holder->name;
        for (char& ch : dotted) {
            if (ch == '/') ch = '.';
        }
        throw_new(t, "java/lang/UnsatisfiedLinkError", "'" + dotted + "." + m->name + m->signature + "'");
        return nullptr;
    }
    if (enabled(JVMTI_EVENT_NATIVE_METHOD_BIND) && g_callbacks.NativeMethodBind &&
        in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) {
        void* replaced = address;
        g_callbacks.NativeMethodBind(&g_jvmti, &t->slot.env, local_thread(t), reinterpret_cast<jmethodID>(m), address,
                                     &replaced);
        address = replaced;
    }
    m->bound.store(address, std::memory_order_release);
    return address;
}

// --- The Java side of io.github.crashagent.CrashAgent --------------------------------------------

Class* g_api = nullptr;
Method* g_native_connect = nullptr;
Method* g_native_report_directory = nullptr;
Method* g_native_listener_outcome = nullptr;
Method* g_dispatch = nullptr;
Method* g_native_shared_memory = nullptr;
bool g_listener_registered = false;

void define_api_class() {
    g_api = define_class("io/github/crashagent/CrashAgent", "CrashAgent.java");
    g_native_connect = define_method(g_api, "nativeConnect", "()Z", true, true);
    g_native_report_directory = define_method(g_api, "nativeReportDirectory", "()Ljava/lang/String;", true, true);
    define_method(g_api, "nativeFallbackDirectory", "()Ljava/lang/String;", true, true);
    g_native_listener_outcome =
        define_method(g_api, "nativeListenerOutcome", "(ILjava/lang/String;Ljava/lang/String;)V", true, true);
    g_dispatch = define_method(g_api, "dispatch", kDispatchSignature, true, false);
    g_native_shared_memory = define_method(g_api, "nativeSharedMemory", "()Ljava/nio/ByteBuffer;", true, true);
}

// CrashAgent.putContext("request", text) and CrashAgent.breadcrumb(text) as SharedContext.java
// writes them into the agent's memory (cpp/src/core/app_context.h): the slot and the ring entry
// claimed, written, then published with an even sequence word. Offsets from the memory's header.
void api_context(JavaThread* t, const std::string& text) {
    auto fn = reinterpret_cast<jobject(JNICALL*)(JNIEnv*, jclass)>(link_native(t, g_native_shared_memory));
    if (!fn) {
        t->pending = nullptr;
        return;
    }
    jobject buffer = nullptr;
    call_native(t, g_native_shared_memory, [&] { buffer = fn(&t->slot.env, reinterpret_cast<jclass>(g_api->mirror)); });
    if (!buffer) return;
    Obj* b = deref("nativeSharedMemory's result", buffer, Kind::kDirectBuffer);
    auto* m = static_cast<unsigned char*>(b->address);
    auto u32 = [&](size_t offset) { return reinterpret_cast<uint32_t*>(m + offset); };
    auto u16 = [&](size_t offset) { return reinterpret_cast<uint16_t*>(m + offset); };
    auto u64 = [&](size_t offset) { return reinterpret_cast<uint64_t*>(m + offset); };
    // putContext: the first key takes slot 0
    __atomic_fetch_add(u32(48), 1, __ATOMIC_SEQ_CST);
    size_t slot = *u32(56);
    uint32_t key_capacity = *u32(16);
    __atomic_store_n(u32(slot), 1u, __ATOMIC_SEQ_CST);
    std::memcpy(m + slot + 16, "request", 7);
    std::memcpy(m + slot + 16 + key_capacity, text.data(), text.size());
    *u16(slot + 4) = 7;
    *u16(slot + 6) = static_cast<uint16_t>(text.size());
    *u32(slot + 8) = 1;
    __atomic_store_n(u32(slot), 2u, __ATOMIC_RELEASE);
    // breadcrumb
    uint64_t ordinal = __atomic_fetch_add(u64(40), 1, __ATOMIC_SEQ_CST);
    uint32_t entries = *u32(24);
    if (entries == 0) return;
    size_t entry = *u32(60) + (ordinal & (entries - 1)) * *u32(28);
    __atomic_store_n(u32(entry), 1u, __ATOMIC_SEQ_CST);
    *u64(entry + 8) = ordinal;
    *u64(entry + 16) = static_cast<uint64_t>(std::time(nullptr)) * 1000;
    *u64(entry + 24) = 1;
    std::memcpy(m + entry + 32, "main", 4);
    std::memcpy(m + entry + 32 + *u32(36), text.data(), text.size());
    *u16(entry + 4) = static_cast<uint16_t>(text.size());
    *u16(entry + 6) = 4;
    __atomic_store_n(u32(entry), 2u, __ATOMIC_RELEASE);
}

// CrashAgent.connect(): a LinkageError (no agent) means "not active".
bool api_connect(JavaThread* t) {
    auto fn = reinterpret_cast<jboolean(JNICALL*)(JNIEnv*, jclass)>(link_native(t, g_native_connect));
    if (!fn) {
        t->pending = nullptr;
        return false;
    }
    jboolean active = JNI_FALSE;
    call_native(t, g_native_connect, [&] { active = fn(&t->slot.env, reinterpret_cast<jclass>(g_api->mirror)); });
    return active == JNI_TRUE;
}

std::string api_report_directory(JavaThread* t) {
    auto fn = reinterpret_cast<jstring(JNICALL*)(JNIEnv*, jclass)>(link_native(t, g_native_report_directory));
    if (!fn) {
        t->pending = nullptr;
        return "";
    }
    jstring dir = nullptr;
    call_native(t, g_native_report_directory,
                [&] { dir = fn(&t->slot.env, reinterpret_cast<jclass>(g_api->mirror)); });
    return dir ? deref("nativeReportDirectory's result", dir, Kind::kString)->text : "";
}

void api_listener_outcome(JavaThread* t, int index, const std::string& name, const std::string& outcome) {
    auto fn = reinterpret_cast<void(JNICALL*)(JNIEnv*, jclass, jint, jstring, jstring)>(
        link_native(t, g_native_listener_outcome));
    if (!fn) {
        t->pending = nullptr;
        return;
    }
    Obj* n = new_obj(Kind::kString, find_class("java/lang/String"));
    n->text = name;
    Obj* o = new_obj(Kind::kString, find_class("java/lang/String"));
    o->text = outcome;
    call_native(t, g_native_listener_outcome, [&] {
        fn(&t->slot.env, reinterpret_cast<jclass>(g_api->mirror), index, reinterpret_cast<jstring>(n),
           reinterpret_cast<jstring>(o));
    });
}

std::string text_at(Obj* array, size_t i) {
    Obj* s = array->objects[i];
    return s ? deref("CrashAgent.dispatch (array element)", reinterpret_cast<jobject>(s), Kind::kString)->text : "null";
}

std::string hex(jlong v) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%llx", static_cast<unsigned long long>(v));
    return buffer;
}

// StackTraceElement(declaringClass, methodName, fileName, lineNumber).toString()
std::string stack_element(const std::string& klass, const std::string& method, Obj* file, jint line) {
    std::string where;
    if (line == -2) where = "Native Method";
    else if (!file) where = "Unknown Source";
    else if (line >= 0) where = file->text + ":" + std::to_string(line);
    else where = file->text;
    return klass + "." + method + "(" + where + ")";
}

// CrashAgent.dispatch(...): NativeEventDecoder.decode, then every listener, each outcome handed
// to the agent as soon as it is known.
void api_dispatch(JavaThread* t, jobject text_ref, jobject numbers_ref, jobject classes_ref, jobject methods_ref,
                  jobject files_ref, jobject lines_ref, jobject native_ref) {
    const char* fn = "CrashAgent.dispatch";
    Obj* text = deref(fn, text_ref, Kind::kObjectArray);
    Obj* numbers = deref(fn, numbers_ref, Kind::kLongArray);
    Obj* classes = deref(fn, classes_ref, Kind::kObjectArray);
    Obj* methods = deref(fn, methods_ref, Kind::kObjectArray);
    Obj* files = deref(fn, files_ref, Kind::kObjectArray);
    Obj* lines = deref(fn, lines_ref, Kind::kIntArray);
    Obj* native = deref(fn, native_ref, Kind::kObjectArray);
    // NativeEventDecoder's indexes.
    enum { KIND, MODULE, SYMBOL, THREAD_NAME, NATIVE_METHOD, SIGNATURE, REPORT_FILE, ORIGIN, TEXT_COUNT };
    enum { CODE, FAULT_ADDRESS, PC, MODULE_OFFSET, TIMESTAMP, JAVA_THREAD, HAS_FAULT_ADDRESS, NUMBER_COUNT };
    if (text->objects.size() != TEXT_COUNT || numbers->longs.size() != NUMBER_COUNT) {
        throw_new(t, "java/lang/IllegalArgumentException",
                  "agent and API versions differ: " + std::to_string(text->objects.size()) + " text fields, " +
                      std::to_string(numbers->longs.size()) + " numbers");
        return;
    }
    if (classes->objects.size() != methods->objects.size() || classes->objects.size() != files->objects.size() ||
        classes->objects.size() != lines->ints.size()) {
        throw_new(t, "java/lang/ArrayIndexOutOfBoundsException", "Java frame arrays of different lengths");
        return;
    }
    if (text->objects[KIND] == nullptr) {
        throw_new(t, "java/lang/NullPointerException", "kind");
        return;
    }
    if (!g_listener_registered) return;

    std::string view;
    auto line = [&view](const char* key, const std::string& value) { view += std::string(key) + ": " + value + "\n"; };
    line("kind", text_at(text, KIND));
    line("origin", text_at(text, ORIGIN));
    line("code", std::to_string(numbers->longs[CODE]));
    line("fault_address", numbers->longs[HAS_FAULT_ADDRESS] ? "0x" + hex(numbers->longs[FAULT_ADDRESS]) : "none");
    line("pc", "0x" + hex(numbers->longs[PC]));
    line("module", text_at(text, MODULE));
    line("module_offset", "0x" + hex(numbers->longs[MODULE_OFFSET]));
    line("symbol", text_at(text, SYMBOL));
    line("thread", text_at(text, THREAD_NAME));
    line("java_thread", numbers->longs[JAVA_THREAD] != 0 ? "true" : "false");
    line("native_method", text_at(text, NATIVE_METHOD));
    for (size_t i = 0; i < classes->objects.size(); i++) {
        line("java_frame", stack_element(text_at(classes, i), text_at(methods, i), files->objects[i], lines->ints[i]));
    }
    for (size_t i = 0; i < native->objects.size(); i++) line("native_frame", text_at(native, i));
    line("signature", text_at(text, SIGNATURE));
    line("report_file", text_at(text, REPORT_FILE));
    line("timestamp", std::to_string(numbers->longs[TIMESTAMP]));

    uint64_t expected = 0;
    g_listener_us.compare_exchange_strong(expected, os_now_us());
    api_listener_outcome(t, 0, kListenerClass, "running");
    if (FILE* f = std::fopen(g_options.listener_file, "wb")) {
        std::fputs(view.c_str(), f);
        std::fclose(f);
    }
    if (g_options.listener_mode == "hang") os_hang();
    std::string outcome = g_options.listener_mode == "throw"
                              ? "threw java.lang.IllegalStateException: the listener failed on purpose"
                              : "ok";
    api_listener_outcome(t, 0, kListenerClass, outcome);
}

// --- JNI -----------------------------------------------------------------------------------------

jclass JNICALL jni_find_class(JNIEnv* env, const char* name) {
    JavaThread* t = env_thread(env, "FindClass");
    Class* c = name ? find_class(name) : nullptr;
    if (!c) {
        throw_new(t, "java/lang/NoClassDefFoundError", name ? name : "null");
        return nullptr;
    }
    return reinterpret_cast<jclass>(c->mirror);
}

jboolean JNICALL jni_exception_check(JNIEnv* env) {
    return env_thread(env, "ExceptionCheck")->pending ? JNI_TRUE : JNI_FALSE;
}

void JNICALL jni_exception_clear(JNIEnv* env) { env_thread(env, "ExceptionClear")->pending = nullptr; }

void JNICALL jni_exception_describe(JNIEnv* env) {
    JavaThread* t = env_thread(env, "ExceptionDescribe");
    if (t->pending) {
        std::fprintf(stderr, "Exception in thread \"%s\" %s\n", t->object->text.c_str(), t->pending->text.c_str());
        t->pending = nullptr;
    }
}

jobject JNICALL jni_new_global_ref(JNIEnv* env, jobject ref) {
    env_thread(env, "NewGlobalRef");
    if (ref) deref("NewGlobalRef", ref, reinterpret_cast<Obj*>(ref)->kind);
    return ref;
}

void JNICALL jni_delete_global_ref(JNIEnv* env, jobject ref) {
    env_thread(env, "DeleteGlobalRef");
    if (ref) deref("DeleteGlobalRef", ref, reinterpret_cast<Obj*>(ref)->kind);
}

void JNICALL jni_delete_local_ref(JNIEnv* env, jobject ref) {
    env_thread(env, "DeleteLocalRef");
    if (ref) deref("DeleteLocalRef", ref, reinterpret_cast<Obj*>(ref)->kind);
}

jboolean JNICALL jni_is_same_object(JNIEnv* env, jobject a, jobject b) {
    env_thread(env, "IsSameObject");
    return a == b ? JNI_TRUE : JNI_FALSE;
}

jint JNICALL jni_push_local_frame(JNIEnv* env, jint capacity) {
    JavaThread* t = env_thread(env, "PushLocalFrame");
    if (capacity <= 0) die("PushLocalFrame with a capacity that is not positive", nullptr);
    t->local_frames++;
    return JNI_OK;
}

jobject JNICALL jni_pop_local_frame(JNIEnv* env, jobject result) {
    JavaThread* t = env_thread(env, "PopLocalFrame");
    if (t->local_frames == 0) die("PopLocalFrame without PushLocalFrame", nullptr);
    t->local_frames--;
    return result;
}

jmethodID get_method(JNIEnv* env, jclass klass, const char* name, const char* signature, bool is_static,
                     const char* function) {
    JavaThread* t = env_thread(env, function);
    Class* c = deref(function, klass, Kind::kClass)->klass;
    Method* m = name && signature ? find_method(c, name, signature, is_static) : nullptr;
    if (!m) {
        throw_new(t, "java/lang/NoSuchMethodError", std::string(name ? name : "null") + (signature ? signature : ""));
        return nullptr;
    }
    return reinterpret_cast<jmethodID>(m);
}

jmethodID JNICALL jni_get_method_id(JNIEnv* env, jclass klass, const char* name, const char* signature) {
    return get_method(env, klass, name, signature, false, "GetMethodID");
}

jmethodID JNICALL jni_get_static_method_id(JNIEnv* env, jclass klass, const char* name, const char* signature) {
    return get_method(env, klass, name, signature, true, "GetStaticMethodID");
}

// new Thread(String): the one constructor the agent calls.
jobject new_object(JNIEnv* env, jclass klass, jmethodID id, va_list args, const char* function) {
    env_thread(env, function);
    Class* c = deref(function, klass, Kind::kClass)->klass;
    Method* m = method_of(function, id);
    if (c->name != "java/lang/Thread" || m->name != "<init>" || m->signature != "(Ljava/lang/String;)V") {
        die("NewObject is served for new Thread(String) only; it was asked for ", (c->name + "." + m->name).c_str());
    }
    jobject name = va_arg(args, jobject);
    Obj* thread = new_obj(Kind::kThread, c);
    thread->text = name ? deref(function, name, Kind::kString)->text : "null";
    return reinterpret_cast<jobject>(thread);
}

jobject JNICALL jni_new_object(JNIEnv* env, jclass klass, jmethodID id, ...) {
    va_list args;
    va_start(args, id);
    jobject result = new_object(env, klass, id, args, "NewObject");
    va_end(args);
    return result;
}

jobject JNICALL jni_new_object_v(JNIEnv* env, jclass klass, jmethodID id, va_list args) {
    return new_object(env, klass, id, args, "NewObjectV");
}

jstring JNICALL jni_new_string_utf(JNIEnv* env, const char* utf) {
    env_thread(env, "NewStringUTF");
    if (!utf) return nullptr;
    Obj* s = new_obj(Kind::kString, find_class("java/lang/String"));
    s->text = utf;
    return reinterpret_cast<jstring>(s);
}

const char* JNICALL jni_get_string_utf_chars(JNIEnv* env, jstring s, jboolean* is_copy) {
    env_thread(env, "GetStringUTFChars");
    Obj* o = deref("GetStringUTFChars", s, Kind::kString);
    char* copy = static_cast<char*>(std::malloc(o->text.size() + 1));
    std::memcpy(copy, o->text.c_str(), o->text.size() + 1);
    if (is_copy) *is_copy = JNI_TRUE;
    return copy;
}

void JNICALL jni_release_string_utf_chars(JNIEnv* env, jstring s, const char* chars) {
    env_thread(env, "ReleaseStringUTFChars");
    deref("ReleaseStringUTFChars", s, Kind::kString);
    std::free(const_cast<char*>(chars));
}

jobjectArray JNICALL jni_new_object_array(JNIEnv* env, jsize length, jclass element, jobject initial) {
    JavaThread* t = env_thread(env, "NewObjectArray");
    deref("NewObjectArray", element, Kind::kClass);
    if (length < 0) {
        throw_new(t, "java/lang/NegativeArraySizeException", std::to_string(length));
        return nullptr;
    }
    Obj* a = new_obj(Kind::kObjectArray, nullptr);
    a->objects.assign(static_cast<size_t>(length), reinterpret_cast<Obj*>(initial));
    return reinterpret_cast<jobjectArray>(a);
}

void JNICALL jni_set_object_array_element(JNIEnv* env, jobjectArray array, jsize index, jobject value) {
    JavaThread* t = env_thread(env, "SetObjectArrayElement");
    Obj* a = deref("SetObjectArrayElement", array, Kind::kObjectArray);
    if (index < 0 || static_cast<size_t>(index) >= a->objects.size()) {
        throw_new(t, "java/lang/ArrayIndexOutOfBoundsException", std::to_string(index));
        return;
    }
    if (value) deref("SetObjectArrayElement (value)", value, reinterpret_cast<Obj*>(value)->kind);
    a->objects[static_cast<size_t>(index)] = reinterpret_cast<Obj*>(value);
}

jobject JNICALL jni_new_direct_byte_buffer(JNIEnv* env, void* address, jlong capacity) {
    env_thread(env, "NewDirectByteBuffer");
    if (!address || capacity < 0) die("NewDirectByteBuffer with no memory", nullptr);
    Obj* b = new_obj(Kind::kDirectBuffer, define_class("java/nio/DirectByteBuffer", "DirectByteBuffer.java"));
    b->address = address;
    b->capacity = capacity;
    return reinterpret_cast<jobject>(b);
}

jlongArray JNICALL jni_new_long_array(JNIEnv* env, jsize length) {
    env_thread(env, "NewLongArray");
    Obj* a = new_obj(Kind::kLongArray, nullptr);
    a->longs.assign(static_cast<size_t>(length < 0 ? 0 : length), 0);
    return reinterpret_cast<jlongArray>(a);
}

jintArray JNICALL jni_new_int_array(JNIEnv* env, jsize length) {
    env_thread(env, "NewIntArray");
    Obj* a = new_obj(Kind::kIntArray, nullptr);
    a->ints.assign(static_cast<size_t>(length < 0 ? 0 : length), 0);
    return reinterpret_cast<jintArray>(a);
}

template <typename T>
void set_region(JNIEnv* env, std::vector<T>& into, jsize start, jsize length, const T* from, const char* function) {
    JavaThread* t = env_thread(env, function);
    if (start < 0 || length < 0 || static_cast<size_t>(start) + static_cast<size_t>(length) > into.size()) {
        throw_new(t, "java/lang/ArrayIndexOutOfBoundsException", std::to_string(start));
        return;
    }
    for (jsize i = 0; i < length; i++) into[static_cast<size_t>(start + i)] = from[i];
}

void JNICALL jni_set_long_array_region(JNIEnv* env, jlongArray array, jsize start, jsize length, const jlong* from) {
    set_region(env, deref("SetLongArrayRegion", array, Kind::kLongArray)->longs, start, length, from,
               "SetLongArrayRegion");
}

void JNICALL jni_set_int_array_region(JNIEnv* env, jintArray array, jsize start, jsize length, const jint* from) {
    set_region(env, deref("SetIntArrayRegion", array, Kind::kIntArray)->ints, start, length, from,
               "SetIntArrayRegion");
}

// CrashAgent.dispatch(...): the one static method the agent calls.
void call_static_void(JNIEnv* env, jclass klass, jmethodID id, va_list args, const char* function) {
    JavaThread* t = env_thread(env, function);
    deref(function, klass, Kind::kClass);
    Method* m = method_of(function, id);
    if (m != g_dispatch) die("CallStaticVoidMethod is served for CrashAgent.dispatch only; it was asked for ", m->name.c_str());
    if (t->pending) die("CallStaticVoidMethod with an exception pending", nullptr);
    struct Call {
        JavaThread* t;
        jobject a[7];
    } call;
    call.t = t;
    for (jobject& arg : call.a) arg = va_arg(args, jobject);
    // A JNI call into Java runs inside the JVM's handler, like any Java call.
    os_java_call([](void* p) {
        Call* c = static_cast<Call*>(p);
        api_dispatch(c->t, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5], c->a[6]);
    }, &call);
}

void JNICALL jni_call_static_void_method(JNIEnv* env, jclass klass, jmethodID id, ...) {
    va_list args;
    va_start(args, id);
    call_static_void(env, klass, id, args, "CallStaticVoidMethod");
    va_end(args);
}

void JNICALL jni_call_static_void_method_v(JNIEnv* env, jclass klass, jmethodID id, va_list args) {
    call_static_void(env, klass, id, args, "CallStaticVoidMethodV");
}

// --- JNI invocation ------------------------------------------------------------------------------

jint JNICALL vm_get_env(JavaVM*, void** penv, jint version) {
    if (version == JVMTI_VERSION_1_2 || version == JVMTI_VERSION_1_1 || version == JVMTI_VERSION_1_0 ||
        version == JVMTI_VERSION) {
        *penv = &g_jvmti;
        return JNI_OK;
    }
    if (version < JNI_VERSION_1_1 || version > JNI_VERSION_10) {
        *penv = nullptr;
        return JNI_EVERSION;
    }
    if (!t_current) {
        *penv = nullptr;
        return JNI_EDETACHED;
    }
    *penv = &t_current->slot.env;
    return JNI_OK;
}

// --- JVMTI ---------------------------------------------------------------------------------------

// What the stand-in can give: enough for the events and queries it serves.
jvmtiCapabilities potential_capabilities(bool onload) {
    jvmtiCapabilities c;
    std::memset(&c, 0, sizeof(c));
    c.can_generate_native_method_bind_events = 1;
    c.can_get_source_file_name = 1;
    c.can_get_line_numbers = 1;
    c.can_generate_compiled_method_load_events = 1;
    if (onload) c.can_generate_early_vmstart = 1;
    return c;
}

jvmtiError JNICALL ti_add_capabilities(jvmtiEnv*, const jvmtiCapabilities* wanted) {
    if (!in_phase({JVMTI_PHASE_ONLOAD, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!wanted) return JVMTI_ERROR_NULL_POINTER;
    jvmtiCapabilities potential = potential_capabilities(in_phase({JVMTI_PHASE_ONLOAD}));
    const unsigned char* w = reinterpret_cast<const unsigned char*>(wanted);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(&potential);
    for (size_t i = 0; i < sizeof(jvmtiCapabilities); i++) {
        if (w[i] & ~p[i]) return JVMTI_ERROR_NOT_AVAILABLE;
    }
    unsigned char* have = reinterpret_cast<unsigned char*>(&g_capabilities);
    for (size_t i = 0; i < sizeof(jvmtiCapabilities); i++) have[i] |= w[i];
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_set_event_callbacks(jvmtiEnv*, const jvmtiEventCallbacks* callbacks, jint size) {
    if (!in_phase({JVMTI_PHASE_ONLOAD, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (size < 0) return JVMTI_ERROR_ILLEGAL_ARGUMENT;
    std::memset(&g_callbacks, 0, sizeof(g_callbacks));
    if (callbacks) std::memcpy(&g_callbacks, callbacks, static_cast<size_t>(size) < sizeof(g_callbacks) ? size : sizeof(g_callbacks));
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_set_event_notification_mode(jvmtiEnv*, jvmtiEventMode mode, jvmtiEvent event, jthread thread,
                                                  ...) {
    if (!in_phase({JVMTI_PHASE_ONLOAD, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (event < JVMTI_MIN_EVENT_TYPE_VAL || event > JVMTI_MAX_EVENT_TYPE_VAL) return JVMTI_ERROR_INVALID_EVENT_TYPE;
    if (mode != JVMTI_ENABLE && mode != JVMTI_DISABLE) return JVMTI_ERROR_ILLEGAL_ARGUMENT;
    if (thread) die("SetEventNotificationMode for one thread is not served", nullptr);
    if (event == JVMTI_EVENT_NATIVE_METHOD_BIND && !g_capabilities.can_generate_native_method_bind_events) {
        return JVMTI_ERROR_MUST_POSSESS_CAPABILITY;
    }
    if ((event == JVMTI_EVENT_COMPILED_METHOD_LOAD || event == JVMTI_EVENT_COMPILED_METHOD_UNLOAD) &&
        !g_capabilities.can_generate_compiled_method_load_events) {
        return JVMTI_ERROR_MUST_POSSESS_CAPABILITY;
    }
    g_enabled[event].store(mode == JVMTI_ENABLE, std::memory_order_release);
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_phase(jvmtiEnv*, jvmtiPhase* phase) {
    if (!phase) return JVMTI_ERROR_NULL_POINTER;
    *phase = static_cast<jvmtiPhase>(g_phase.load(std::memory_order_acquire));
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_system_property(jvmtiEnv*, const char* property, char** value) {
    if (!in_phase({JVMTI_PHASE_ONLOAD, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!property || !value) return JVMTI_ERROR_NULL_POINTER;
    std::string p = property;
    if (p == "java.vm.name") *value = jvmti_copy("crashagent JVM stand-in");
    else if (p == "java.runtime.version" || p == "java.vm.version") *value = jvmti_copy("17-standin");
    else return JVMTI_ERROR_NOT_AVAILABLE;
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_allocate(jvmtiEnv*, jlong size, unsigned char** mem) {
    if (!mem) return JVMTI_ERROR_NULL_POINTER;
    if (size < 0) return JVMTI_ERROR_ILLEGAL_ARGUMENT;
    *mem = size == 0 ? nullptr : static_cast<unsigned char*>(std::malloc(static_cast<size_t>(size)));
    if (*mem) g_jvmti_allocations.fetch_add(1);
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_deallocate(jvmtiEnv*, unsigned char* mem) {
    if (mem) {
        g_jvmti_allocations.fetch_sub(1);
        std::free(mem);
    }
    return JVMTI_ERROR_NONE;
}

// GenerateEvents: posts again, on the calling thread, the compiled methods or the generated code
// there is now.
jvmtiError JNICALL ti_generate_events(jvmtiEnv*, jvmtiEvent event) {
    if (!in_phase({JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (event != JVMTI_EVENT_COMPILED_METHOD_LOAD && event != JVMTI_EVENT_DYNAMIC_CODE_GENERATED) {
        return JVMTI_ERROR_ILLEGAL_ARGUMENT;
    }
    if (event == JVMTI_EVENT_COMPILED_METHOD_LOAD && !g_capabilities.can_generate_compiled_method_load_events) {
        return JVMTI_ERROR_MUST_POSSESS_CAPABILITY;
    }
    for (const CodeBlob* blob : g_code_blobs) {
        bool stub = blob->name != nullptr;
        if (blob->loaded.load(std::memory_order_acquire) && stub == (event == JVMTI_EVENT_DYNAMIC_CODE_GENERATED)) {
            post_code_blob(*blob);
        }
    }
    return JVMTI_ERROR_NONE;
}

void agent_thread_main(void* p) {
    JavaThread* t = static_cast<JavaThread*>(p);
    if (g_options.agent_threads_start_late) {
        // The report on disk: the crashing thread has reached its hand-off to the dispatcher.
        while (!g_vm_death_posted.load(std::memory_order_acquire) && !os_agent_report_present()) {
        }
    }
    attach_current(t);
    post_thread_start(t);
    t->in_native.store(1, std::memory_order_release);  // an agent thread runs native code throughout
    t->agent_proc(&g_jvmti, &t->slot.env, const_cast<void*>(t->agent_arg));
    t->in_native.store(0, std::memory_order_release);
    post_thread_end(t);
    t->terminated.store(1, std::memory_order_release);
}

jvmtiError JNICALL ti_run_agent_thread(jvmtiEnv*, jthread thread, jvmtiStartFunction proc, const void* arg,
                                       jint priority) {
    if (!in_phase({JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!proc) return JVMTI_ERROR_NULL_POINTER;
    if (priority < JVMTI_THREAD_MIN_PRIORITY || priority > JVMTI_THREAD_MAX_PRIORITY) return JVMTI_ERROR_INVALID_PRIORITY;
    Obj* o = reinterpret_cast<Obj*>(thread);
    if (!o || o->magic != kMagic || o->kind != Kind::kThread || o->thread) return JVMTI_ERROR_INVALID_THREAD;
    JavaThread* t = new_java_thread(o->text, true, o);
    t->agent_proc = proc;
    t->agent_arg = arg;
    int slot = g_agent_thread_count.fetch_add(1);
    if (slot >= static_cast<int>(sizeof(g_agent_thread_slots) / sizeof(g_agent_thread_slots[0]))) {
        die("too many agent threads", nullptr);
    }
    g_agent_thread_slots[slot] = t;
    t->os_thread = os_start_thread(&agent_thread_main, t);
    return t->os_thread ? JVMTI_ERROR_NONE : JVMTI_ERROR_INTERNAL;
}

JavaThread* thread_of(jthread thread, jvmtiError* error) {
    if (!thread) {
        if (!t_current) *error = JVMTI_ERROR_UNATTACHED_THREAD;
        return t_current;
    }
    Obj* o = reinterpret_cast<Obj*>(thread);
    if (o->magic != kMagic || o->kind != Kind::kThread) {
        *error = JVMTI_ERROR_INVALID_THREAD;
        return nullptr;
    }
    return o->thread;  // null for a Thread that was never started
}

jvmtiError JNICALL ti_get_thread_info(jvmtiEnv*, jthread thread, jvmtiThreadInfo* info) {
    if (!in_phase({JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!info) return JVMTI_ERROR_NULL_POINTER;
    jvmtiError error = JVMTI_ERROR_NONE;
    JavaThread* t = thread_of(thread, &error);
    if (error != JVMTI_ERROR_NONE) return error;
    Obj* o = thread ? reinterpret_cast<Obj*>(thread) : t->object;
    info->name = jvmti_copy(o->text);
    info->priority = t && t->agent ? JVMTI_THREAD_MAX_PRIORITY : JVMTI_THREAD_NORM_PRIORITY;
    info->is_daemon = t && t->agent ? JNI_TRUE : JNI_FALSE;
    Obj* group = new_obj(Kind::kPlain, define_class("java/lang/ThreadGroup", "ThreadGroup.java"));
    group->text = t && t->agent ? "system" : "main";
    info->thread_group = reinterpret_cast<jthreadGroup>(group);
    info->context_class_loader = nullptr;
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_thread_state(jvmtiEnv*, jthread thread, jint* state) {
    if (!in_phase({JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!state) return JVMTI_ERROR_NULL_POINTER;
    jvmtiError error = JVMTI_ERROR_NONE;
    JavaThread* t = thread_of(thread, &error);
    if (error != JVMTI_ERROR_NONE) return error;
    if (!t) *state = 0;  // new, not started
    else if (t->terminated.load(std::memory_order_acquire)) *state = JVMTI_THREAD_STATE_TERMINATED;
    else if (t->in_native.load(std::memory_order_acquire)) {
        *state = JVMTI_THREAD_STATE_ALIVE | JVMTI_THREAD_STATE_RUNNABLE | JVMTI_THREAD_STATE_IN_NATIVE;
    } else {
        *state = JVMTI_THREAD_STATE_ALIVE | JVMTI_THREAD_STATE_RUNNABLE;
    }
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_stack_trace(jvmtiEnv*, jthread thread, jint start_depth, jint max_count,
                                      jvmtiFrameInfo* frames, jint* count) {
    if (!in_phase({JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!frames || !count) return JVMTI_ERROR_NULL_POINTER;
    if (max_count < 0) return JVMTI_ERROR_ILLEGAL_ARGUMENT;
    jvmtiError error = JVMTI_ERROR_NONE;
    JavaThread* t = thread_of(thread, &error);
    if (error != JVMTI_ERROR_NONE) return error;
    if (!t || t->terminated.load(std::memory_order_acquire)) return JVMTI_ERROR_THREAD_NOT_ALIVE;
    // Another thread's frames are read only while it is in native code, when they stand still.
    if (t != t_current && !t->in_native.load(std::memory_order_acquire)) {
        die("GetStackTrace of a thread that is not in native code is not served", nullptr);
    }
    jint size = static_cast<jint>(t->frames.size());
    jint start = start_depth >= 0 ? start_depth : size + start_depth;
    if (start < 0 || (start >= size && !(start == 0 && size == 0))) return JVMTI_ERROR_ILLEGAL_ARGUMENT;
    jint n = 0;
    for (jint i = start; i < size && n < max_count; i++, n++) {
        frames[n].method = reinterpret_cast<jmethodID>(t->frames[static_cast<size_t>(i)].method);
        frames[n].location = t->frames[static_cast<size_t>(i)].location;
    }
    *count = n;
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_method_name(jvmtiEnv*, jmethodID id, char** name, char** signature, char** generic) {
    if (!in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    Method* m = method_of("GetMethodName", id);
    if (name) *name = jvmti_copy(m->name);
    if (signature) *signature = jvmti_copy(m->signature);
    if (generic) *generic = nullptr;
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_method_declaring_class(jvmtiEnv*, jmethodID id, jclass* klass) {
    if (!in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!klass) return JVMTI_ERROR_NULL_POINTER;
    *klass = reinterpret_cast<jclass>(method_of("GetMethodDeclaringClass", id)->holder->mirror);
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_is_method_native(jvmtiEnv*, jmethodID id, jboolean* is_native) {
    if (!in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!is_native) return JVMTI_ERROR_NULL_POINTER;
    *is_native = method_of("IsMethodNative", id)->is_native ? JNI_TRUE : JNI_FALSE;
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_line_number_table(jvmtiEnv* env, jmethodID id, jint* count, jvmtiLineNumberEntry** table) {
    if (!in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!g_capabilities.can_get_line_numbers) return JVMTI_ERROR_MUST_POSSESS_CAPABILITY;
    if (!count || !table) return JVMTI_ERROR_NULL_POINTER;
    Method* m = method_of("GetLineNumberTable", id);
    if (m->is_native) return JVMTI_ERROR_NATIVE_METHOD;
    if (m->lines.empty()) return JVMTI_ERROR_ABSENT_INFORMATION;
    unsigned char* memory = nullptr;
    ti_allocate(env, static_cast<jlong>(m->lines.size() * sizeof(jvmtiLineNumberEntry)), &memory);
    std::memcpy(memory, m->lines.data(), m->lines.size() * sizeof(jvmtiLineNumberEntry));
    *table = reinterpret_cast<jvmtiLineNumberEntry*>(memory);
    *count = static_cast<jint>(m->lines.size());
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_class_signature(jvmtiEnv*, jclass klass, char** signature, char** generic) {
    if (!in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    Class* c = deref("GetClassSignature", klass, Kind::kClass)->klass;
    if (signature) *signature = jvmti_copy("L" + c->name + ";");
    if (generic) *generic = nullptr;
    return JVMTI_ERROR_NONE;
}

jvmtiError JNICALL ti_get_source_file_name(jvmtiEnv*, jclass klass, char** name) {
    if (!in_phase({JVMTI_PHASE_START, JVMTI_PHASE_LIVE})) return JVMTI_ERROR_WRONG_PHASE;
    if (!g_capabilities.can_get_source_file_name) return JVMTI_ERROR_MUST_POSSESS_CAPABILITY;
    if (!name) return JVMTI_ERROR_NULL_POINTER;
    Class* c = deref("GetSourceFileName", klass, Kind::kClass)->klass;
    if (c->source_file.empty()) return JVMTI_ERROR_ABSENT_INFORMATION;
    *name = jvmti_copy(c->source_file);
    return JVMTI_ERROR_NONE;
}

void build_tables() {
    trap_all<JNINativeInterface_, kJni, kJniCount>(&g_jni_table);
    trap_all<JNIInvokeInterface_, kInvoke, kInvokeCount>(&g_invoke_table);
    trap_all<jvmtiInterface_1_, kJvmti, kJvmtiCount>(&g_jvmti_table);

    g_jni_table.FindClass = &jni_find_class;
    g_jni_table.ExceptionCheck = &jni_exception_check;
    g_jni_table.ExceptionClear = &jni_exception_clear;
    g_jni_table.ExceptionDescribe = &jni_exception_describe;
    g_jni_table.NewGlobalRef = &jni_new_global_ref;
    g_jni_table.DeleteGlobalRef = &jni_delete_global_ref;
    g_jni_table.DeleteLocalRef = &jni_delete_local_ref;
    g_jni_table.IsSameObject = &jni_is_same_object;
    g_jni_table.PushLocalFrame = &jni_push_local_frame;
    g_jni_table.PopLocalFrame = &jni_pop_local_frame;
    g_jni_table.GetMethodID = &jni_get_method_id;
    g_jni_table.GetStaticMethodID = &jni_get_static_method_id;
    g_jni_table.NewObject = &jni_new_object;
    g_jni_table.NewObjectV = &jni_new_object_v;
    g_jni_table.NewStringUTF = &jni_new_string_utf;
    g_jni_table.GetStringUTFChars = &jni_get_string_utf_chars;
    g_jni_table.ReleaseStringUTFChars = &jni_release_string_utf_chars;
    g_jni_table.NewObjectArray = &jni_new_object_array;
    g_jni_table.SetObjectArrayElement = &jni_set_object_array_element;
    g_jni_table.NewLongArray = &jni_new_long_array;
    g_jni_table.NewDirectByteBuffer = &jni_new_direct_byte_buffer;
    g_jni_table.SetLongArrayRegion = &jni_set_long_array_region;
    g_jni_table.NewIntArray = &jni_new_int_array;
    g_jni_table.SetIntArrayRegion = &jni_set_int_array_region;
    g_jni_table.CallStaticVoidMethod = &jni_call_static_void_method;
    g_jni_table.CallStaticVoidMethodV = &jni_call_static_void_method_v;

    g_invoke_table.GetEnv = &vm_get_env;

    g_jvmti_table.AddCapabilities = &ti_add_capabilities;
    g_jvmti_table.SetEventCallbacks = &ti_set_event_callbacks;
    g_jvmti_table.SetEventNotificationMode = &ti_set_event_notification_mode;
    g_jvmti_table.GetPhase = &ti_get_phase;
    g_jvmti_table.GetSystemProperty = &ti_get_system_property;
    g_jvmti_table.Allocate = &ti_allocate;
    g_jvmti_table.Deallocate = &ti_deallocate;
    g_jvmti_table.RunAgentThread = &ti_run_agent_thread;
    g_jvmti_table.GetThreadInfo = &ti_get_thread_info;
    g_jvmti_table.GetThreadState = &ti_get_thread_state;
    g_jvmti_table.GetStackTrace = &ti_get_stack_trace;
    g_jvmti_table.GetMethodName = &ti_get_method_name;
    g_jvmti_table.GetMethodDeclaringClass = &ti_get_method_declaring_class;
    g_jvmti_table.IsMethodNative = &ti_is_method_native;
    g_jvmti_table.GetLineNumberTable = &ti_get_line_number_table;
    g_jvmti_table.GetClassSignature = &ti_get_class_signature;
    g_jvmti_table.GetSourceFileName = &ti_get_source_file_name;
    g_jvmti_table.GenerateEvents = &ti_generate_events;

    g_vm.functions = &g_invoke_table;
    g_jvmti.functions = &g_jvmti_table;
}

// --- Command line --------------------------------------------------------------------------------

[[noreturn]] void usage_error(const char* what, const char* detail) {
    std::fprintf(stderr, "jvm_standin: %s%s\n\n%s", what, detail ? detail : "", kUsage);
    std::exit(kUsageExit);
}

// "pkg.Class.method(File.java:12)" -> a frame of a Java method with that line.
Frame caller_frame(const std::string& text) {
    size_t paren = text.find('(');
    size_t colon = text.rfind(':');
    if (paren == std::string::npos || colon == std::string::npos || colon < paren || text.back() != ')') {
        usage_error("--caller wants 'pkg.Class.method(File.java:line)', not: ", text.c_str());
    }
    std::string klass, name, signature;
    if (!split_method(text.substr(0, paren) + "()V", &klass, &name, &signature)) {
        usage_error("--caller wants 'pkg.Class.method(File.java:line)', not: ", text.c_str());
    }
    std::string file = text.substr(paren + 1, colon - paren - 1);
    int line = std::atoi(text.substr(colon + 1).c_str());
    if (line <= 0) usage_error("--caller: the line must be a positive number: ", text.c_str());
    Class* c = define_class(klass, file);
    // A method of this name per caller line: frames of one method at two lines stay apart.
    Method* m = define_method(c, name, "([Ljava/lang/String;)V", true, false);
    // Two table entries, so the agent has to pick the right one for the frame's location.
    m->lines = {{0, line > 1 ? line - 1 : line}, {4, line}};
    return Frame{m, 7};
}

void parse(int argc, char** argv) {
    std::vector<const char*> positional;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&](const char* option) -> const char* {
            if (i + 1 >= argc) usage_error("missing value for ", option);
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a.rfind("-agentpath:", 0) == 0) {
            g_options.agent_path = argv[i];
            std::string rest = a.substr(11);
            size_t eq = rest.find('=');
            g_options.agent_file = rest.substr(0, eq);
            if (eq != std::string::npos) {
                g_options.agent_options = rest.substr(eq + 1);
                g_options.agent_has_options = true;
            }
        } else if (a == "--method") {
            g_options.method = value("--method");
        } else if (a == "--caller") {
            g_options.callers.push_back(value("--caller"));
        } else if (a == "--listener") {
            g_options.listener_file = value("--listener");
        } else if (a == "--context") {
            g_options.context = value("--context");
        } else if (a == "--listener-mode") {
            g_options.listener_mode = value("--listener-mode");
            if (g_options.listener_mode != "ok" && g_options.listener_mode != "throw" && g_options.listener_mode != "hang") {
                usage_error("--listener-mode must be ok, throw or hang, not: ", g_options.listener_mode.c_str());
            }
        } else if (a == "--threads") {
            g_options.threads = std::atoi(value("--threads"));
            if (g_options.threads < 1 || g_options.threads > kMaxThreads) usage_error("--threads must be 1..8", nullptr);
        } else if (a == "--timing") {
            g_options.timing = true;
        } else if (a == "--agent-threads-start-late") {
            g_options.agent_threads_start_late = true;
        } else if (a == "--native-wrapper") {
            g_options.native_wrapper = true;
        } else if (a.rfind("--", 0) == 0) {
            usage_error("unknown option ", argv[i]);
        } else {
            positional.push_back(argv[i]);
        }
    }
    if (positional.size() != 3) usage_error("expected <jni library> <exported JNI function> <int argument>", nullptr);
    g_options.jni_library = positional[0];
    g_options.function = positional[1];
    char* end = nullptr;
    long argument = std::strtol(positional[2], &end, 0);
    if (!*positional[2] || *end) usage_error("the int argument is not a number: ", positional[2]);
    g_options.argument = static_cast<jint>(argument);
    if (g_options.method.empty() && !method_from_jni_name(g_options.function, &g_options.method)) {
        usage_error("cannot derive the Java method from the function name; give --method for ", g_options.function);
    }
}

// --- The VM's life -------------------------------------------------------------------------------

[[noreturn]] void vm_init_error(const std::string& message) {
    // HotSpot's vm_exit_during_initialization.
    std::fprintf(stderr, "Error occurred during initialization of VM\n%s\n", message.c_str());
    std::fflush(stderr);
    std::exit(1);
}

void print_timing_before_hs_err() {
    if (!g_options.timing) return;
    uint64_t now = os_now_us();
    uint64_t call = g_call_us.load();
    uint64_t listener = g_listener_us.load();
    char line[160];
    int n = std::snprintf(line, sizeof(line), "standin-timing: fault_to_listener_us=%lld fault_to_hs_err_us=%lld\n",
                          listener ? static_cast<long long>(listener - call) : -1LL,
                          call ? static_cast<long long>(now - call) : -1LL);
    if (n > 0) std::fwrite(line, 1, static_cast<size_t>(n), stderr);
    std::fflush(stderr);
}

struct NativeCall {
    JavaThread* thread;
    Method* method;
    void* address;
    std::atomic<int>* ready;
    std::atomic<int>* go;
};

void call_bound_native(NativeCall* c) {
    JavaThread* t = c->thread;
    // The int argument goes to every parameter (up to four); a function with fewer ignores the
    // rest, as the x86-64 calling conventions let it.
    using Fn = jint(JNICALL*)(JNIEnv*, jclass, jint, jint, jint, jint);
    Fn fn = reinterpret_cast<Fn>(c->address);
    jint a = g_options.argument;
    jint result = 0;
    call_native(t, c->method, [&] {
        uint64_t expected = 0;
        g_call_us.compare_exchange_strong(expected, os_now_us());
        result = fn(&t->slot.env, reinterpret_cast<jclass>(c->method->holder->mirror), a, a, a, a);
    });
    if (t->pending) {
        std::printf("Exception in thread \"%s\" %s\n", t->object->text.c_str(), t->pending->text.c_str());
        t->pending = nullptr;
    } else if (c->method->signature.back() == 'V') {
        std::printf("standin: %s returned\n", g_options.method.c_str());
    } else {
        std::printf("standin: %s returned %d\n", g_options.method.c_str(), static_cast<int>(result));
    }
    std::fflush(stdout);
}

void java_worker(void* p) {
    NativeCall* c = static_cast<NativeCall*>(p);
    attach_current(c->thread);
    post_thread_start(c->thread);
    c->ready->fetch_add(1);
    while (!c->go->load(std::memory_order_acquire)) {
    }
    call_bound_native(c);
    post_thread_end(c->thread);
    c->thread->terminated.store(1, std::memory_order_release);
}

int run() {
    build_tables();
    define_class("java/lang/Object", "Object.java");
    define_class("java/lang/String", "String.java");
    Class* thread_class = define_class("java/lang/Thread", "Thread.java");
    define_method(thread_class, "<init>", "(Ljava/lang/String;)V", false, false);

    std::string klass, name, signature;
    if (!split_method(g_options.method, &klass, &name, &signature)) {
        usage_error("--method wants 'pkg.Class.name(Signature)', not: ", g_options.method.c_str());
    }
    Class* native_class = define_class(klass, simple_source_name(klass));
    Method* native_method = define_method(native_class, name, signature, true, true);
    std::vector<Frame> callers;
    if (g_options.callers.empty()) {
        g_options.callers = {"io.github.crashagent.standin.Main.callNative(Main.java:42)",
                             "io.github.crashagent.standin.Main.main(Main.java:17)"};
    }
    for (const std::string& c : g_options.callers) callers.push_back(caller_frame(c));
    if (g_options.listener_file) define_api_class();

    // HotSpot installs its own handlers before it loads agents.
    os_install_jvm_handlers(&print_timing_before_hs_err);

    JavaThread* main_thread = new_java_thread("main", false);
    attach_current(main_thread);
    main_thread->frames = callers;

    // -agentpath: load, Agent_OnLoad(vm, options, NULL) in the OnLoad phase.
    if (g_options.agent_path) {
        char error[512] = "";
        g_agent_library = os_load_library(g_options.agent_file.c_str(), error, sizeof(error));
        if (!g_agent_library) {
            vm_init_error("Could not find agent library " + g_options.agent_file + " in absolute path, with error: " +
                          error);
        }
        using OnLoad = jint(JNICALL*)(JavaVM*, char*, void*);
        OnLoad on_load = reinterpret_cast<OnLoad>(os_find_symbol(g_agent_library, "Agent_OnLoad"));
        if (!on_load) vm_init_error("Could not find Agent_OnLoad function in the agent library: " + g_options.agent_file);
        if (on_load(&g_vm, g_options.agent_has_options ? &g_options.agent_options[0] : nullptr, nullptr) != JNI_OK) {
            vm_init_error("agent library failed to init: " + g_options.agent_file);
        }
    }

    // Before VMStart HotSpot generates its stubs and the interpreter.
    g_phase.store(JVMTI_PHASE_PRIMORDIAL, std::memory_order_release);
    load_code_blob(&g_interpreter_blob);
    g_phase.store(JVMTI_PHASE_START, std::memory_order_release);
    if (enabled(JVMTI_EVENT_VM_START) && g_callbacks.VMStart) g_callbacks.VMStart(&g_jvmti, &main_thread->slot.env);
    g_phase.store(JVMTI_PHASE_LIVE, std::memory_order_release);
    if (enabled(JVMTI_EVENT_VM_INIT) && g_callbacks.VMInit) {
        g_callbacks.VMInit(&g_jvmti, &main_thread->slot.env, local_thread(main_thread));
    }
    // The JIT's first method, compiled after VMInit.
    g_compiled_blob.method = callers.front().method;
    load_code_blob(&g_compiled_blob);

    // The application: System.loadLibrary, then (with --listener) CrashAgent's use.
    char error[512] = "";
    g_jni_library = os_load_library(g_options.jni_library, error, sizeof(error));
    if (!g_jni_library) {
        std::printf("Exception in thread \"main\" java.lang.UnsatisfiedLinkError: %s: %s\n", g_options.jni_library, error);
        return 1;
    }
    if (g_options.listener_file) {
        bool active = api_connect(main_thread);  // CrashAgent.<clinit>
        g_listener_registered = true;            // CrashAgent.addListener
        std::printf("standin: CrashAgent.isActive() = %s\n", active ? "true" : "false");
        if (active) std::printf("standin: CrashAgent.reportDirectory() = %s\n", api_report_directory(main_thread).c_str());
        if (g_options.context) api_context(main_thread, g_options.context);
        std::fflush(stdout);
    }

    void* address = os_find_symbol(g_jni_library, g_options.function);
    if (!address) {
        std::printf("Exception in thread \"main\" java.lang.UnsatisfiedLinkError: %s has no %s\n", g_options.jni_library,
                    g_options.function);
        return 1;
    }
    // Linking: as HotSpot does on the first call, with NativeMethodBind on the calling thread.
    native_method->bound.store(address, std::memory_order_release);
    if (enabled(JVMTI_EVENT_NATIVE_METHOD_BIND) && g_callbacks.NativeMethodBind) {
        void* replaced = address;
        g_callbacks.NativeMethodBind(&g_jvmti, &main_thread->slot.env, local_thread(main_thread),
                                     reinterpret_cast<jmethodID>(native_method), address, &replaced);
        address = replaced;
    }
    if (g_options.native_wrapper) {
        // The method was called often enough to be compiled: from now on its callers go through
        // the wrapper.
        uint32_t size = 0;
        void* wrapper = os_make_native_wrapper(address, &size);
        if (!wrapper) die("could not generate the native wrapper", nullptr);
        g_wrapper_blob.method = native_method;
        g_wrapper_blob.code = static_cast<const unsigned char*>(wrapper);
        g_wrapper_blob.size = static_cast<jint>(size);
        load_code_blob(&g_wrapper_blob);
        address = wrapper;
    }

    std::atomic<int> ready{0};
    std::atomic<int> go{0};
    if (g_options.threads == 1) {
        NativeCall call{main_thread, native_method, address, &ready, &go};
        call_bound_native(&call);
    } else {
        std::vector<NativeCall> calls(static_cast<size_t>(g_options.threads));
        std::vector<OsThread*> workers;
        for (int i = 0; i < g_options.threads; i++) {
            JavaThread* t = new_java_thread("worker-" + std::to_string(i + 1), false);
            t->frames = callers;
            calls[static_cast<size_t>(i)] = NativeCall{t, native_method, address, &ready, &go};
            workers.push_back(os_start_thread(&java_worker, &calls[static_cast<size_t>(i)]));
        }
        while (ready.load() < g_options.threads) {
        }
        go.store(1, std::memory_order_release);
        for (OsThread* w : workers) os_join_thread(w, 0xFFFFFFFFu);
    }

    // DestroyJavaVM: the main thread ends, VMDeath, Agent_OnUnload, then the wait for threads
    // still in native code.
    post_thread_end(main_thread);
    uint64_t exit_start = os_now_us();
    g_vm_death_posted.store(1, std::memory_order_release);
    if (enabled(JVMTI_EVENT_VM_DEATH) && g_callbacks.VMDeath) g_callbacks.VMDeath(&g_jvmti, &main_thread->slot.env);
    g_phase.store(JVMTI_PHASE_DEAD, std::memory_order_release);
    if (g_agent_library) {
        using OnUnload = void(JNICALL*)(JavaVM*);
        if (OnUnload on_unload = reinterpret_cast<OnUnload>(os_find_symbol(g_agent_library, "Agent_OnUnload"))) {
            on_unload(&g_vm);
        }
    }
    int threads = g_agent_thread_count.load();
    int still_in_native = 0;
    uint64_t deadline = exit_start + kExitWaitForNativeMs * 1000ull;
    for (int i = 0; i < threads; i++) {
        uint64_t now = os_now_us();
        uint32_t left = now < deadline ? static_cast<uint32_t>((deadline - now + 999) / 1000) : 0;
        if (!os_join_thread(g_agent_thread_slots[i]->os_thread, left)) still_in_native++;
    }
    uint64_t exit_us = os_now_us() - exit_start;
    if (still_in_native) {
        std::printf("standin: exit: waited out %u ms for %d agent thread(s) still in native code\n",
                    kExitWaitForNativeMs, still_in_native);
    } else {
        std::printf("standin: exit: all %d agent thread(s) had returned\n", threads);
    }
    std::printf("standin: exit: JVMTI memory not deallocated: %ld block(s)\n", g_jvmti_allocations.load());
    if (g_options.timing) std::fprintf(stderr, "standin-timing: exit_us=%llu\n", static_cast<unsigned long long>(exit_us));
    std::fflush(stdout);
    std::fflush(stderr);
    return 0;
}

}  // namespace
}  // namespace standin

extern "C" int standin_main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IONBF, 0);
    standin::parse(argc, argv);
    return standin::run();
}
