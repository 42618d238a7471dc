// SPDX-License-Identifier: Apache-2.0
// Crash context throughout: every function in this file may run in a fault handler.
#include "core/report.h"

#include "core/jvm_code.h"
#include "core/native_calls.h"

namespace crashagent {

namespace {

const char* const kAgentVersion = CRASHAGENT_VERSION;  // Maven's project.version, through CMake

void hex_string(Writer& w, uint64_t v) {
    w.str("\"0x");
    w.hex(v);
    w.ch('"');
}

// Crash context.
const char* or_null(const char* s) { return (s && *s) ? s : nullptr; }

const char* module_path(const CrashRecord& r, int index) {
    return index >= 0 && index < r.module_count ? r.modules[index].path : nullptr;
}

void log_frame(const CrashRecord& r, const NativeFrame& f, int index, Writer& w) {
    w.str("  #");
    w.dec(index);
    w.str(" pc=0x");
    w.hex(f.pc, 16);
    w.ch(' ');
    write_frame_text(r, f, w);
    w.ch('\n');
}

// True when an earlier entry of the copy has the same key (two class loaders'
// copies of the API can bind one key to two slots): the report keeps the first.
bool duplicate_key(const ContextSnapshot& c, int index) {
    for (int i = 0; i < index; i++) {
        if (str_equal(c.context[i].key, c.context[index].key)) return true;
    }
    return false;
}

// Application text on one log line: control characters and U+0000 become '?'.
void log_text(Writer& w, const char* s) {
    for (; *s; s++) {
        unsigned char c = static_cast<unsigned char>(*s);
        if (c == 0xC0 && static_cast<unsigned char>(s[1]) == 0x80) {  // U+0000 as Java's encoder writes it
            w.ch('?');
            s++;
        } else {
            w.ch(c < 0x20 || c == 0x7f ? '?' : *s);
        }
    }
}

void json_app_context(const CrashRecord& r, Writer& w) {
    const ContextSnapshot* c = r.app_context;
    w.str(",\n  \"context\": ");
    if (!c || !c->taken) {
        w.str("null,\n  \"breadcrumbs\": null");
        return;
    }
    w.ch('{');
    int written = 0;
    for (int i = 0; i < c->context_count; i++) {
        if (duplicate_key(*c, i)) continue;
        w.str(written++ ? ",\n    " : "\n    ");
        w.json_string(c->context[i].key);
        w.str(": ");
        w.json_string(c->context[i].value);
    }
    w.str(written ? "\n  }" : "}");
    w.str(",\n  \"breadcrumbs\": [");
    for (int i = 0; i < c->breadcrumb_count; i++) {
        const Breadcrumb& b = c->breadcrumbs[i];
        w.str(i ? ",\n    " : "\n    ");
        w.str("{\"time_ms\": ");
        w.udec(b.time_ms);
        w.str(", \"java_thread_id\": ");
        w.udec(b.thread_id);
        w.str(", \"thread\": ");
        w.json_string(b.thread_name);
        w.str(", \"message\": ");
        w.json_string(b.message);
        w.ch('}');
    }
    w.str(c->breadcrumb_count ? "\n  ]" : "]");
    w.str(",\n  \"context_stats\": {\"breadcrumbs_written\": ");
    w.udec(c->breadcrumbs_written);
    w.str(", \"keys_refused\": ");
    w.udec(c->keys_refused);
    w.str(", \"torn_entries\": ");
    w.dec(c->torn);
    w.ch('}');
}

// The end of a log section copied from memory other threads write: how many entries were left
// out because a thread was writing them, then a blank line.
void log_torn(int torn, Writer& w) {
    if (torn) {
        w.str("  (");
        w.dec(torn);
        w.str(" entries were being written at the crash and were left out)\n");
    }
    w.ch('\n');
}

void log_app_context(const CrashRecord& r, Writer& w) {
    const ContextSnapshot* c = r.app_context;
    if (!c || !c->taken) return;
    w.str("context:\n");
    int written = 0;
    for (int i = 0; i < c->context_count; i++) {
        if (duplicate_key(*c, i)) continue;
        written++;
        w.str("  ");
        log_text(w, c->context[i].key);
        w.str(" = ");
        log_text(w, c->context[i].value);
        w.ch('\n');
    }
    if (!written) w.str("  (none)\n");
    if (c->keys_refused) {
        w.str("  (");
        w.udec(c->keys_refused);
        w.str(" puts of new keys were refused: the map holds 64 keys)\n");
    }
    w.str("\nbreadcrumbs (oldest first, ms relative to the crash):\n");
    for (int i = 0; i < c->breadcrumb_count; i++) {
        const Breadcrumb& b = c->breadcrumbs[i];
        w.str("  ");
        if (b.time_ms <= r.timestamp_ms) {
            w.ch('-');
            w.udec(r.timestamp_ms - b.time_ms);
        } else {
            w.ch('+');
            w.udec(b.time_ms - r.timestamp_ms);
        }
        w.str(" ms [");
        log_text(w, b.thread_name);
        w.str(" #");
        w.udec(b.thread_id);
        w.str("] ");
        log_text(w, b.message);
        w.ch('\n');
    }
    if (!c->breadcrumb_count) w.str("  (none)\n");
    if (c->breadcrumbs_written > c->breadcrumbs_kept) {
        w.str("  (");
        w.udec(c->breadcrumbs_written);
        w.str(" written since the start; the report keeps the last ");
        w.udec(c->breadcrumbs_kept);
        w.str(")\n");
    }
    log_torn(c->torn, w);
}

// A call's recorded arguments, comma-separated; a reference argument, whose handle is not shown,
// as reference.
void call_arguments(const TracedMethod* m, const NativeCall& c, const char* reference, Writer& w) {
    for (int i = 0; m && i < kCallArgs && m->arg_type[i]; i++) {
        int64_t v;
        w.str(i ? ", " : "");
        if (native_call_argument(*m, c, i, &v)) {
            w.dec(v);
        } else {
            w.str(reference);
        }
    }
}

void json_native_call(const NativeCall& c, bool with_thread, Writer& w) {
    const TracedMethod* m = native_calls_method(c.method);
    w.str("{\"method\": ");
    w.json_string(m ? m->name : nullptr);
    if (with_thread) {
        w.str(", \"thread_id\": ");
        w.udec(c.thread_id);
    }
    w.str(", \"time_ns\": ");
    w.dec(c.time_ns);
    w.str(", \"args\": [");
    call_arguments(m, c, "null", w);
    w.str("]}");
}

void json_native_calls(const CrashRecord& r, Writer& w) {
    const NativeCallSnapshot* n = r.native_calls;
    w.str(",\n  \"native_calls\": ");
    if (!n || !n->taken) {
        w.str("null");
        return;
    }
    w.str("{\n    \"thread\": [");
    for (int i = 0; i < n->thread_count; i++) {
        w.str(i ? ",\n      " : "\n      ");
        json_native_call(n->thread_calls[i], false, w);
    }
    w.str(n->thread_count ? "\n    ]" : "]");
    w.str(",\n    \"process\": [");
    for (int i = 0; i < n->process_count; i++) {
        w.str(i ? ",\n      " : "\n      ");
        json_native_call(n->process_calls[i], true, w);
    }
    w.str(n->process_count ? "\n    ]" : "]");
    w.str(",\n    \"recorded\": ");
    w.udec(n->recorded);
    w.str(", \"torn_entries\": ");
    w.dec(n->torn);
    w.str(", \"times_known\": ");
    w.str(n->times_known ? "true" : "false");
    w.str("\n  }");
}

// Time relative to the crash, in microseconds with three decimals.
void log_call_time(int64_t ns, Writer& w) {
    uint64_t magnitude = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
    w.ch(ns < 0 ? '-' : '+');
    w.udec(magnitude / 1000);
    w.ch('.');
    uint64_t fraction = magnitude % 1000;
    if (fraction < 100) w.ch('0');
    if (fraction < 10) w.ch('0');
    w.udec(fraction);
    w.str(" us ");
}

void log_native_call(const NativeCall& c, bool with_thread, Writer& w) {
    const TracedMethod* m = native_calls_method(c.method);
    w.str("  ");
    log_call_time(c.time_ns, w);
    if (with_thread) {
        w.str("[tid ");
        w.udec(c.thread_id);
        w.str("] ");
    }
    log_text(w, m ? m->name : "(unknown method)");
    w.str(" (");
    call_arguments(m, c, "ref", w);
    w.str(")\n");
}

void log_native_calls(const CrashRecord& r, Writer& w) {
    const NativeCallSnapshot* n = r.native_calls;
    if (!n || !n->taken) return;
    const char* unit = n->times_known ? "" : " (times unknown on this CPU)";
    w.str("native calls of the crashing thread (oldest first, time relative to the crash)");
    w.str(unit);
    w.str(":\n");
    for (int i = 0; i < n->thread_count; i++) log_native_call(n->thread_calls[i], false, w);
    if (!n->thread_count) w.str("  (none)\n");
    w.str("\nnative calls of the process (oldest first, the last ");
    w.udec(kProcessCalls);
    w.str(" across threads):\n");
    for (int i = 0; i < n->process_count; i++) log_native_call(n->process_calls[i], true, w);
    if (!n->process_count) w.str("  (none)\n");
    if (n->recorded > kProcessCalls) {
        w.str("  (");
        w.udec(n->recorded);
        w.str(" calls recorded since the start)\n");
    }
    log_torn(n->torn, w);
}

}  // namespace

void write_frame_text(const CrashRecord& r, const NativeFrame& f, Writer& w) {
    const char* path = module_path(r, f.module);
    if (path) {
        w.str(path_basename(path));
        w.str("+0x");
        w.hex(f.pc - r.modules[f.module].base);
    } else if (f.jvm_code[0]) {
        w.str("[JVM code: ");
        w.str(f.jvm_code);
        w.ch(']');
    } else {
        w.str("?+0x");
        w.hex(f.pc);
    }
    if (f.symbol[0]) {
        w.str(" (");
        w.str(f.symbol);
        w.str("+0x");
        w.hex(f.symbol_offset);
        w.ch(')');
    }
}

const char* dispatch_status_name(const CrashRecord& r, bool waited_out) {
    switch (static_cast<DispatchState>(r.dispatch_state.load(std::memory_order_acquire))) {
        case DispatchState::kComplete: return "complete";
        case DispatchState::kRunning: return waited_out ? "timed_out" : "running";
        case DispatchState::kNotStarted: break;
    }
    return waited_out ? "timed_out" : "not_started";
}

void write_json_report(const CrashRecord& r, const char* dispatch_status, uint32_t timeout_ms, Writer& w) {
    const NativeFrame* crash = r.crash_frame >= 0 ? &r.frames[r.crash_frame] : nullptr;
    int crash_module = record_find_module(r, r.pc);
    if (crash && crash->module >= 0) crash_module = crash->module;

    w.str("{\n  \"schema\": \"crashagent-report\",\n  \"schema_version\": ");
    w.dec(kReportSchemaVersion);
    w.str(",\n  \"agent_version\": ");
    w.json_string(kAgentVersion);
    w.str(",\n  \"timestamp_ms\": ");
    w.udec(r.timestamp_ms);
    w.str(",\n  \"pid\": ");
    w.udec(r.pid);
    w.str(",\n  \"platform\": ");
    w.json_string(r.platform);
    w.str(",\n  \"origin\": ");
    w.json_string(r.origin);

    w.str(",\n  \"crash\": {\n    \"kind\": ");
    w.json_string(r.kind);
    w.str(",\n    \"detail\": ");
    w.json_string(or_null(r.detail));
    w.str(",\n    \"code\": ");
    w.udec(r.code);
    w.str(",\n    \"fault_address\": ");
    if (r.has_fault_address) hex_string(w, r.fault_address); else w.str("null");
    w.str(",\n    \"sender_pid\": ");
    if (r.sender_pid >= 0) w.dec(r.sender_pid); else w.str("null");
    w.str(",\n    \"sender_uid\": ");
    if (r.sender_uid >= 0) w.dec(r.sender_uid); else w.str("null");
    w.str(",\n    \"pc\": ");
    hex_string(w, r.pc);
    w.str(",\n    \"module\": ");
    w.json_string(module_path(r, crash_module));
    w.str(",\n    \"module_base\": ");
    if (crash_module >= 0) hex_string(w, r.modules[crash_module].base); else w.str("null");
    w.str(",\n    \"module_offset\": ");
    if (crash_module >= 0) {
        uint64_t pc = crash ? crash->pc : r.pc;
        hex_string(w, pc - r.modules[crash_module].base);
    } else {
        w.str("null");
    }
    w.str(",\n    \"symbol\": ");
    w.json_string(crash ? or_null(crash->symbol) : nullptr);
    w.str(",\n    \"diagnosis\": ");
    w.json_string(or_null(r.diagnosis));
    w.str(",\n    \"pc_module\": ");
    w.json_string(module_path(r, record_find_module(r, r.pc)));
    w.str("\n  }");

    w.str(",\n  \"thread\": {\n    \"id\": ");
    w.udec(r.thread_id);
    bool java_info = r.java_info_ready.load(std::memory_order_acquire) != 0;
    w.str(",\n    \"name\": ");
    w.json_string(java_info && r.java_thread_name[0] ? r.java_thread_name : or_null(r.thread_name));
    w.str(",\n    \"native_name\": ");
    w.json_string(or_null(r.thread_name));
    w.str(",\n    \"java\": ");
    w.str(r.java_thread < 0 ? "null" : (r.java_thread ? "true" : "false"));
    w.str(",\n    \"state\": ");
    w.json_string(java_info ? or_null(r.thread_state) : nullptr);
    w.str("\n  }");

    w.str(",\n  \"native_method\": ");
    w.json_string(record_native_method(r));

    int java_count = r.java_frame_count.load(std::memory_order_acquire);
    w.str(",\n  \"java_stack\": ");
    if (java_count < 0) {
        w.str("null");
    } else {
        w.ch('[');
        for (int i = 0; i < java_count && i < kMaxJavaFrames; i++) {
            const JavaFrame& f = r.java_frames[i];
            w.str(i ? ",\n    " : "\n    ");
            w.str("{\"class\": ");
            w.json_string(f.class_name);
            w.str(", \"method\": ");
            w.json_string(f.method);
            w.str(", \"file\": ");
            w.json_string(or_null(f.file));
            w.str(", \"line\": ");
            w.dec(f.line);
            w.ch('}');
        }
        w.str(java_count ? "\n  ]" : "]");
    }
    w.str(",\n  \"java_stack_note\": ");
    w.json_string(record_java_note(r));

    w.str(",\n  \"native_frames\": [");
    for (int i = 0; i < r.frame_count; i++) {
        const NativeFrame& f = r.frames[i];
        w.str(i ? ",\n    " : "\n    ");
        w.str("{\"pc\": ");
        hex_string(w, f.pc);
        w.str(", \"module\": ");
        w.json_string(module_path(r, f.module));
        w.str(", \"module_index\": ");
        if (f.module >= 0) w.dec(f.module); else w.str("null");
        w.str(", \"offset\": ");
        if (f.module >= 0) hex_string(w, f.pc - r.modules[f.module].base); else w.str("null");
        w.str(", \"symbol\": ");
        w.json_string(or_null(f.symbol));
        w.str(", \"symbol_offset\": ");
        if (f.symbol[0]) hex_string(w, f.symbol_offset); else w.str("null");
        w.str(", \"jvm_code\": ");
        w.json_string(f.module < 0 ? or_null(f.jvm_code) : nullptr);
        w.ch('}');
    }
    w.str(r.frame_count ? "\n  ]" : "]");

    w.str(",\n  \"registers\": {");
    for (int i = 0; i < r.register_count; i++) {
        w.str(i ? ", " : "\n    ");
        w.json_string(r.registers[i].name);
        w.str(": ");
        hex_string(w, r.registers[i].value);
    }
    w.str(r.register_count ? "\n  }" : "}");

    w.str(",\n  \"modules\": [");
    for (int i = 0; i < r.module_count; i++) {
        w.str(i ? ",\n    " : "\n    ");
        w.str("{\"path\": ");
        w.json_string(r.modules[i].path);
        w.str(", \"base\": ");
        hex_string(w, r.modules[i].base);
        w.str(", \"end\": ");
        hex_string(w, r.modules[i].end);
        w.str(", \"build_id\": ");
        w.json_string(or_null(r.modules[i].build_id));
        w.str(", \"pdb_name\": ");
        w.json_string(or_null(r.modules[i].pdb_name));
        w.str(", \"debug_id\": ");
        w.json_string(or_null(r.modules[i].debug_id));
        w.str(", \"code_id\": ");
        w.json_string(or_null(r.modules[i].code_id));
        w.ch('}');
    }
    w.str(r.module_count ? "\n  ]" : "]");

    w.str(",\n  \"jvm\": {\"version\": ");
    w.json_string(or_null(r.jvm_version));
    w.str(", \"hs_err\": ");
    w.json_string(r.no_hs_err ? nullptr : or_null(r.hs_err_path));
    w.str(", \"code_blobs_dropped\": ");
    w.udec(r.jvm_code_dropped);
    w.ch('}');

    w.str(",\n  \"signature\": ");
    w.json_string(r.signature);
    w.str(",\n  \"signature_text\": ");
    w.json_string(r.signature_text);

    w.str(",\n  \"dispatch\": {\"status\": ");
    w.json_string(dispatch_status);
    w.str(", \"timeout_ms\": ");
    w.udec(timeout_ms);
    w.ch('}');

    w.str(",\n  \"listeners\": [");
    int written = 0;
    for (int i = 0; i < kMaxListeners; i++) {
        const ListenerOutcome& l = r.listeners[i];
        int state = l.state.load(std::memory_order_acquire);
        if (state == static_cast<int>(ListenerState::kEmpty)) continue;
        w.str(written++ ? ",\n    " : "\n    ");
        w.str("{\"name\": ");
        w.json_string(l.name);
        w.str(", \"outcome\": ");
        w.json_string(state == static_cast<int>(ListenerState::kDone) ? l.outcome : "did not finish");
        w.ch('}');
    }
    w.str(written ? "\n  ]" : "]");

    int others = r.other_crash_count.load(std::memory_order_acquire);
    w.str(",\n  \"other_crashes\": [");
    int listed = 0;
    for (int i = 0; i < kMaxOtherCrashes && listed < others; i++) {
        uint64_t id = r.other_crashes[i].thread_id.load(std::memory_order_acquire);
        if (id == 0) continue;  // claimed, not written yet
        w.str(listed++ ? ", " : "");
        w.str("{\"thread_id\": ");
        w.udec(id);
        w.str(", \"code\": ");
        w.udec(r.other_crashes[i].code.load(std::memory_order_relaxed));
        w.ch('}');
    }
    w.str("]");

    json_app_context(r, w);
    json_native_calls(r, w);

    w.str(",\n  \"report\": {\"directory\": ");
    w.json_string(or_null(r.report_dir));
    w.str(", \"json\": ");
    w.json_string(r.json_path);
    w.str(", \"log\": ");
    w.json_string(r.log_path);
    w.str(", \"minidump\": ");
    w.json_string(or_null(r.minidump_path));
    w.ch('}');
    w.str(",\n  \"note\": ");
    w.json_string(or_null(r.note));
    w.str("\n}\n");
}

void write_log_native(const CrashRecord& r, Writer& w) {
    const NativeFrame* crash = r.crash_frame >= 0 ? &r.frames[r.crash_frame] : nullptr;
    w.str("crashagent: native crash report\n");
    w.str("================================\n");
    w.str("kind:          ");
    w.str(r.kind);
    if (r.detail && *r.detail) {
        w.str(" (");
        w.str(r.detail);
        w.ch(')');
    }
    w.str("\ncode:          ");
    w.udec(r.code);
    w.str(" (0x");
    w.hex(r.code);
    w.str(")\nfault address: ");
    if (r.has_fault_address) {
        w.str("0x");
        w.hex(r.fault_address, 16);
    } else {
        w.str("none");
    }
    if (r.sender_pid >= 0) {
        w.str("\nsent by:       process ");
        w.dec(r.sender_pid);
        w.str(" (uid ");
        w.dec(r.sender_uid);
        w.str(str_equal(r.origin, "external") ? ")" : ", this process)");
    }
    w.str("\npc:            0x");
    w.hex(r.pc, 16);
    w.str("\norigin:        ");
    w.str(r.origin);
    if (r.diagnosis[0]) {
        w.str("\ndiagnosis:     ");
        w.str(r.diagnosis);
    }
    if (crash && crash->module >= 0) {
        w.str("\nmodule:        ");
        w.str(r.modules[crash->module].path);
        w.str(" +0x");
        w.hex(crash->pc - r.modules[crash->module].base);
        if (crash->symbol[0]) {
            w.str(" (");
            w.str(crash->symbol);
            w.str("+0x");
            w.hex(crash->symbol_offset);
            w.ch(')');
        }
    } else if (crash && crash->jvm_code[0]) {
        w.str("\njvm code:      ");
        w.str(crash->jvm_code);
    }
    w.str("\nthread:        ");
    w.udec(r.thread_id);
    w.str(" \"");
    w.str(r.thread_name);
    w.str("\"\nnative method: ");
    w.str(r.native_method[0] ? r.native_method : "(unknown)");
    w.str("\nsignature:     ");
    w.str(r.signature);
    w.str("  ");
    w.str(r.signature_text);
    w.str("\npid:           ");
    w.udec(r.pid);
    w.str("\ntime (ms):     ");
    w.udec(r.timestamp_ms);
    w.str("\njvm:           ");
    w.str(r.jvm_version[0] ? r.jvm_version : "(unknown)");
    w.str("\nhs_err:        ");
    w.str(r.hs_err_path[0] && !r.no_hs_err ? r.hs_err_path : "(none expected)");
    w.str("\njson report:   ");
    w.str(r.json_path);
    if (r.minidump_path[0]) {
        w.str("\nminidump:      ");
        w.str(r.minidump_path);
    }
    if (r.note[0]) {
        w.str("\nnote:          ");
        w.str(r.note);
    }
    w.str("\n\nnative frames:\n");
    for (int i = 0; i < r.frame_count; i++) log_frame(r, r.frames[i], i, w);
    if (r.jvm_code_dropped) {
        w.str("  (");
        w.udec(r.jvm_code_dropped);
        w.str(" blobs of JVM code were not recorded: the agent's table of ");
        w.dec(kJvmCodeCapacity);
        w.str(" was full, so frames in them may show no name)\n");
    }
    w.ch('\n');
    log_app_context(r, w);
    log_native_calls(r, w);
    w.str("registers:\n");
    for (int i = 0; i < r.register_count; i++) {
        w.str("  ");
        w.str(r.registers[i].name);
        w.str("=0x");
        w.hex(r.registers[i].value, 16);
        w.ch((i % 4 == 3 || i + 1 == r.register_count) ? '\n' : ' ');
    }
    w.str("\nmodules:\n");
    for (int i = 0; i < r.module_count; i++) {
        w.str("  0x");
        w.hex(r.modules[i].base, 16);
        w.str("-0x");
        w.hex(r.modules[i].end, 16);
        w.ch(' ');
        w.str(r.modules[i].path);
        if (r.modules[i].build_id[0]) {
            w.str(" build-id ");
            w.str(r.modules[i].build_id);
        }
        if (r.modules[i].code_id[0]) {
            w.str(" code-id ");
            w.str(r.modules[i].code_id);
        }
        if (r.modules[i].debug_id[0]) {
            w.str(" debug-id ");
            w.str(r.modules[i].debug_id);
        }
        w.ch('\n');
    }
    w.ch('\n');
}

void write_log_java(const CrashRecord& r, const char* dispatch_status, Writer& w) {
    bool java_info = r.java_info_ready.load(std::memory_order_acquire) != 0;
    w.str("java thread:   ");
    w.str(r.java_thread < 0 ? "unknown" : (r.java_thread ? "yes" : "no"));
    if (java_info && r.java_thread_name[0]) {
        w.str(" \"");
        w.str(r.java_thread_name);
        w.ch('"');
    }
    if (java_info && r.thread_state[0]) {
        w.str(", ");
        w.str(r.thread_state);
    }
    if (!r.native_method[0] && record_native_method(r)) {
        w.str("\nnative method: ");
        w.str(record_native_method(r));
        w.str(" (the top Java frame)");
    }
    w.str("\njava stack:\n");
    int count = r.java_frame_count.load(std::memory_order_acquire);
    if (count < 0) {
        w.str("  (none: ");
        const char* note = record_java_note(r);
        w.str(note ? note : "not collected");
        w.str(")\n");
    }
    for (int i = 0; i < count && i < kMaxJavaFrames; i++) {
        const JavaFrame& f = r.java_frames[i];
        w.str("  at ");
        w.str(f.class_name);
        w.ch('.');
        w.str(f.method);
        w.ch('(');
        if (f.line == -2) {
            w.str("Native Method");
        } else {
            w.str(f.file[0] ? f.file : "Unknown Source");
            if (f.line >= 0) {
                w.ch(':');
                w.dec(f.line);
            }
        }
        w.str(")\n");
    }
    w.str("\nlisteners (dispatch ");
    w.str(dispatch_status);
    w.str("):\n");
    bool any = false;
    for (const ListenerOutcome& l : r.listeners) {
        int state = l.state.load(std::memory_order_acquire);
        if (state == static_cast<int>(ListenerState::kEmpty)) continue;
        any = true;
        w.str("  ");
        w.str(l.name);
        w.str(": ");
        w.str(state == static_cast<int>(ListenerState::kDone) ? l.outcome : "did not finish");
        w.ch('\n');
    }
    if (!any) w.str("  (none ran)\n");
    int others = r.other_crash_count.load(std::memory_order_acquire);
    if (others > 0) {
        w.str("\nother threads that crashed meanwhile:\n");
        for (int i = 0; i < kMaxOtherCrashes; i++) {
            uint64_t id = r.other_crashes[i].thread_id.load(std::memory_order_acquire);
            if (id == 0) continue;
            w.str("  thread ");
            w.udec(id);
            w.str(" code ");
            w.udec(r.other_crashes[i].code.load(std::memory_order_relaxed));
            w.ch('\n');
        }
    }
    w.str("\nend of crashagent report\n");
}

}  // namespace crashagent
