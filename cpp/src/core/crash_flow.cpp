// SPDX-License-Identifier: Apache-2.0
#include "core/crash_flow.h"

#include "core/report.h"
#include "core/thread_registry.h"
#include "core/writer.h"
#include "platform.h"

namespace crashagent {

AgentState g_agent;
CrashRecord g_record;

namespace {

// Only the thread that owns the crash uses these, so they need no synchronisation.
char g_write_buffer[64 * 1024];
char g_json_tmp_path[kPathCapacity + 16];
std::atomic<int> g_other_crash_slots{0};

struct FileSinkContext {
    platform::FileHandle file;
};

// Async-signal-safe.
bool file_sink_write(void* context, const char* data, size_t len) {
    return platform::file_write(static_cast<FileSinkContext*>(context)->file, data, len);
}

// Async-signal-safe. Builds <dir>/crashagent_pid<pid>[_<n>]<ext>.
void build_path(char* out, size_t capacity, const char* dir, uint64_t pid, int n, const char* ext) {
    StringSink sink{out, capacity, 0};
    char buffer[64];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str(dir);
    w.ch(platform::kPathSeparator);
    w.str("crashagent_pid");
    w.udec(pid);
    if (n > 0) {
        w.ch('_');
        w.udec(static_cast<uint64_t>(n));
    }
    w.str(ext);
    w.flush();
}

// Async-signal-safe. Creates the log file under a name no earlier report uses (a container
// restarts with the same pid; its old reports must survive), and sets both report paths.
platform::FileHandle create_log(CrashRecord* r, const char* dir) {
    for (int n = 0; n < 100; n++) {
        build_path(r->log_path, sizeof(r->log_path), dir, r->pid, n, ".log");
        build_path(r->json_path, sizeof(r->json_path), dir, r->pid, n, ".json");
        if (platform::file_exists(r->json_path)) continue;  // an earlier report's pair
        platform::FileHandle f = platform::file_create_exclusive(r->log_path);
        if (f != platform::kInvalidFile) return f;
        // Only a taken name is worth another number; any other failure (the directory vanished,
        // permissions) will not get better with one.
        if (!platform::file_exists(r->log_path)) return platform::kInvalidFile;
    }
    return platform::kInvalidFile;
}

// Async-signal-safe. Writes the JSON report to a temporary file and renames it into place, so a
// reader sees either no report or a complete one.
bool write_json_file(const CrashRecord& r, const char* status) {
    StringSink sink{g_json_tmp_path, sizeof(g_json_tmp_path), 0};
    char buffer[32];
    Writer name(buffer, sizeof(buffer), sink.sink());
    name.str(r.json_path);
    name.str(".tmp");
    name.flush();
    platform::file_remove(g_json_tmp_path);
    FileSinkContext context{platform::file_create_exclusive(g_json_tmp_path)};
    if (context.file == platform::kInvalidFile) return false;
    Writer w(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &context});
    write_json_report(r, status, g_agent.options.timeout_ms, w);
    w.flush();
    platform::file_close(context.file);
    if (w.failed() || !platform::file_rename(g_json_tmp_path, r.json_path)) {
        platform::file_remove(g_json_tmp_path);
        return false;
    }
    return true;
}

// Async-signal-safe.
void say(const char* a, const char* b = nullptr, const char* c = nullptr) {
    char line[kPathCapacity * 2 + 128];
    StringSink sink{line, sizeof(line), 0};
    char buffer[128];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str("crashagent: ");
    w.str(a);
    w.str(b);
    w.str(c);
    w.ch('\n');
    w.flush();
    platform::stderr_write(line);
}

}  // namespace

// Async-signal-safe.
CrashClaim claim_crash(uint64_t thread_id, uint64_t code) {
    uint64_t expected = 0;
    if (g_agent.crashing_thread.compare_exchange_strong(expected, thread_id, std::memory_order_acq_rel)) {
        g_agent.claim_time_ms.store(platform::monotonic_ms(), std::memory_order_release);
        return CrashClaim::kFirst;
    }
    if (expected == thread_id) return CrashClaim::kRecursive;
    // Slots fill in any order; readers skip one whose thread id is not written yet.
    int slot = g_other_crash_slots.fetch_add(1, std::memory_order_acq_rel);
    if (slot < kMaxOtherCrashes) {
        g_record.other_crashes[slot].code.store(code, std::memory_order_relaxed);
        g_record.other_crashes[slot].thread_id.store(thread_id, std::memory_order_release);
        g_record.other_crash_count.fetch_add(1, std::memory_order_release);
    }
    if (thread_id == g_agent.dispatcher_thread.load(std::memory_order_acquire)) return CrashClaim::kDispatcher;
    return CrashClaim::kOther;
}

// Async-signal-safe.
int classify_java_thread(uint64_t thread_id) {
    if (thread_registry_find(thread_id)) return 1;
    return g_agent.attached_late.load(std::memory_order_acquire) ? -1 : 0;
}

// Async-signal-safe.
void report_crash(CrashRecord* r) {
    r->pid = platform::process_id();
    r->timestamp_ms = platform::now_ms();
    record_compute_signature(r);

    const char* dir = g_agent.report_dir;
    r->report_dir = dir;
    platform::FileHandle log = create_log(r, dir);
    if (log == platform::kInvalidFile) {
        // The configured directory failed at crash time (removed, full, permissions changed):
        // write where hs_err would fall back to rather than lose the report.
        StringSink note{r->note, sizeof(r->note), 0};
        char buffer[64];
        Writer w(buffer, sizeof(buffer), note.sink());
        w.str("report directory ");
        w.str(dir);
        w.str(" was not writable; wrote to ");
        w.str(platform::fallback_report_dir());
        w.flush();
        log = create_log(r, platform::fallback_report_dir());
    }

    FileSinkContext log_context{log};
    Writer log_writer(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &log_context});
    if (log != platform::kInvalidFile) {
        write_log_native(*r, log_writer);
        log_writer.flush();
    }
    bool json_ok = write_json_file(*r, "pending");
    if (log == platform::kInvalidFile && !json_ok) {
        say("could not write the crash report to ", dir, " nor to the fallback directory");
    } else {
        say(r->kind, " captured; report: ", r->json_path);
    }

    // Hand over to the dispatcher, unless there is none or this thread is the dispatcher.
    bool waited_out = false;
    uint64_t self = platform::current_thread_id();
    if (g_agent.dispatcher_available.load(std::memory_order_acquire) &&
        g_agent.dispatcher_thread.load(std::memory_order_acquire) != self) {
        platform::dispatcher_wake();
        waited_out = !platform::dispatcher_wait_done(g_agent.options.timeout_ms);
    }
    const char* status = dispatch_status_name(*r, waited_out);

    if (log != platform::kInvalidFile) {
        // The writer shares its buffer with write_json_file: start a fresh one on the same file.
        Writer tail(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &log_context});
        write_log_java(*r, status, tail);
        tail.flush();
        platform::file_close(log);
    }
    write_json_file(*r, status);
    g_agent.report_done.store(1, std::memory_order_release);
}

// Async-signal-safe.
void mark_owner_chaining() { g_agent.owner_chaining.store(1, std::memory_order_release); }

// Async-signal-safe.
void release_crash_claim() {
    for (auto& other : g_record.other_crashes) other.thread_id.store(0, std::memory_order_relaxed);
    g_record.other_crash_count.store(0, std::memory_order_release);
    g_other_crash_slots.store(0, std::memory_order_release);
    g_agent.report_done.store(0, std::memory_order_release);
    g_agent.owner_chaining.store(0, std::memory_order_release);
    g_agent.claim_time_ms.store(0, std::memory_order_release);
    g_agent.crashing_thread.store(0, std::memory_order_release);  // last: from here on a new claim may start
}

// Async-signal-safe.
bool wait_for_crash_owner(uint32_t extra_ms) {
    // What the owner may take: reading modules and symbols, then the dispatch budget.
    constexpr uint64_t kCaptureAllowanceMs = 10000;
    uint64_t claimed = g_agent.claim_time_ms.load(std::memory_order_acquire);
    if (claimed == 0) claimed = platform::monotonic_ms();
    uint64_t deadline = claimed + kCaptureAllowanceMs + g_agent.options.timeout_ms + extra_ms;
    while (!g_agent.owner_chaining.load(std::memory_order_acquire)) {
        if (platform::monotonic_ms() >= deadline) return false;
        platform::sleep_ms(5);
    }
    return true;
}

}  // namespace crashagent
