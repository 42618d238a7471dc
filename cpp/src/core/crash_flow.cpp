// SPDX-License-Identifier: Apache-2.0
#include "core/crash_flow.h"

#include "core/app_context.h"
#include "core/native_calls.h"
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
char g_json_tmp_path[kPathCapacity + 24];
char g_first_log_path[kPathCapacity];
constexpr uint64_t kExitHoldMs = 30000;  // how long an exit from a listener waits for the crash to end the process
char g_first_json_path[kPathCapacity];
constexpr int kMaxReportNumber = 100;  // crashagent_pid<pid>_99 at most: a full directory stops there
const char* g_failure = "";  // what the last failed report write ran into
std::atomic<int> g_other_crash_slots{0};

struct FileSinkContext {
    platform::FileHandle file;
};

// Crash context.
bool file_sink_write(void* context, const char* data, size_t len) {
    return platform::file_write(static_cast<FileSinkContext*>(context)->file, data, len);
}

// Crash context. Creates the log file under a name no earlier report uses (a container
// restarts with the same pid; its old reports must survive), starting at number first, and sets
// both report paths; *next is the number after the one taken.
platform::FileHandle create_log(CrashRecord* r, const char* dir, int first, int* next) {
    for (int n = first; (n = free_report_number(dir, r->pid, n, r->minidump_path)) >= 0; n++) {
        report_file_path(r->log_path, sizeof(r->log_path), dir, r->pid, n, ".log");
        report_file_path(r->json_path, sizeof(r->json_path), dir, r->pid, n, ".json");
        *next = n + 1;
        platform::FileHandle f = platform::file_create_exclusive(r->log_path);
        if (f != platform::kInvalidFile) return f;
        // Only a taken name is worth another number; any other failure (the directory vanished,
        // permissions) will not get better with one.
        if (!platform::file_exists(r->log_path)) return platform::kInvalidFile;
    }
    return platform::kInvalidFile;
}

enum class JsonResult { kWritten, kNoTemporaryFile, kWriteFailed };

// Crash context. Writes the JSON report to a temporary file and renames it into place, so a
// reader sees either no report or a complete one. The temporary name has a random part and is
// created exclusively without following links, so nobody can take it in advance, not even in a
// shared directory such as /tmp.
JsonResult write_json_file(const CrashRecord& r, const char* status) {
    FileSinkContext context{platform::kInvalidFile};
    for (int attempt = 0; attempt < 8 && context.file == platform::kInvalidFile; attempt++) {
        StringSink sink{g_json_tmp_path, sizeof(g_json_tmp_path), 0};
        char buffer[32];
        Writer name(buffer, sizeof(buffer), sink.sink());
        name.str(r.json_path);
        name.ch('.');
        name.hex(platform::random_u64(), 16);
        name.str(".tmp");
        name.flush();
        if (sink.length >= sizeof(g_json_tmp_path)) return JsonResult::kNoTemporaryFile;  // truncated
        context.file = platform::file_create_exclusive(g_json_tmp_path);
    }
    if (context.file == platform::kInvalidFile) return JsonResult::kNoTemporaryFile;
    Writer w(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &context});
    write_json_report(r, status, g_agent.options.timeout_ms, w);
    w.flush();
    bool closed = platform::file_close(context.file);
    if (w.failed() || !closed || !platform::file_rename(g_json_tmp_path, r.json_path)) {
        g_failure = platform::last_error_text();
        platform::file_remove(g_json_tmp_path);
        return JsonResult::kWriteFailed;
    }
    return JsonResult::kWritten;
}

// Crash context. Puts a report in dir: the log with its native part, and the JSON report
// with the given status, both complete on disk. On failure nothing of it is left in dir, and
// g_failure says what went wrong.
bool place_report(CrashRecord* r, const char* dir, const char* status, platform::FileHandle* log) {
    int next = 0;
    // A JSON report that cannot get a temporary file under one number gets one more number.
    for (int tries = 0; tries < 2; tries++) {
        *log = create_log(r, dir, next, &next);
        if (*log == platform::kInvalidFile) {
            g_failure = platform::last_error_text();
            return false;
        }
        FileSinkContext context{*log};
        Writer w(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &context});
        write_log_native(*r, w);
        w.flush();
        JsonResult json = JsonResult::kWriteFailed;
        if (w.failed()) {
            g_failure = platform::last_error_text();
        } else {
            json = write_json_file(*r, status);
            if (json == JsonResult::kWritten) return true;
            if (json == JsonResult::kNoTemporaryFile) g_failure = "no temporary file could be created";
        }
        platform::file_close(*log);
        platform::file_remove(r->log_path);
        *log = platform::kInvalidFile;
        if (json != JsonResult::kNoTemporaryFile) return false;
    }
    return false;
}

// Crash context. Moves what was placed at the given paths out of the way once the report
// stands complete elsewhere, so that one crash gives one report.
void remove_report_files(const char* log_path, const char* json_path) {
    platform::file_remove(json_path);
    platform::file_remove(log_path);
}

// Crash context.
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

// Crash context. Appends the log's Java part to file; false when a write failed.
bool append_log_java(const CrashRecord& r, const char* status, platform::FileHandle file) {
    // The writer shares its buffer with write_json_file: a fresh one for each file.
    FileSinkContext context{file};
    Writer w(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &context});
    write_log_java(r, status, w);
    w.flush();
    return !w.failed();
}

// Crash context. Hands over to the dispatcher, unless there is none or this thread is the
// dispatcher, and waits for it within the budget; true when the budget ran out. Each listener
// outcome goes into the report on disk as it comes, so whatever ends the process from a listener
// (System.exit, a native exit, a crash of its own) leaves the earlier ones.
bool wait_for_listeners(CrashRecord* r, bool placed) {
    uint64_t self = platform::current_thread_id();
    if (!g_agent.dispatcher_available.load(std::memory_order_acquire) ||
        g_agent.dispatcher_thread.load(std::memory_order_acquire) == self) {
        return false;
    }
    platform::dispatcher_wake();
    uint64_t deadline = platform::monotonic_ms() + g_agent.options.timeout_ms;
    for (;;) {
        uint64_t now = platform::monotonic_ms();
        platform::DispatchWait event = now < deadline ? platform::dispatcher_wait(static_cast<uint32_t>(deadline - now))
                                                      : platform::DispatchWait::kTimedOut;
        if (event == platform::DispatchWait::kDone) return false;
        if (event == platform::DispatchWait::kTimedOut) return true;
        if (placed) write_json_file(*r, "running");  // a failure here is dealt with by the final write
    }
}

// Crash context. The final writes, after the listeners: the log's Java part and the JSON
// report with its status. When the disk filled while the listeners ran, the report written before
// them is complete but stale: the whole report goes again to the temp directory and the stale one
// is removed; failing that, it stays and the rest goes to stderr.
void finish_report(CrashRecord* r, const char* placed, platform::FileHandle log, const char* status) {
    bool log_ok = append_log_java(*r, status, log);
    if (!log_ok) g_failure = platform::last_error_text();
    log_ok = platform::file_close(log) && log_ok;
    if (log_ok && write_json_file(*r, status) == JsonResult::kWritten) return;
    str_copy(g_first_log_path, sizeof(g_first_log_path), r->log_path);
    str_copy(g_first_json_path, sizeof(g_first_json_path), r->json_path);
    const char* fallback = platform::fallback_report_dir();
    if (!str_equal(placed, fallback)) {
        record_add_note(r, "report directory ", placed, ": ", g_failure,
                        " after the listeners ran; wrote to the temp directory ", fallback, " instead");
        platform::FileHandle again = platform::kInvalidFile;
        if (place_report(r, fallback, status, &again)) {
            append_log_java(*r, status, again);
            platform::file_close(again);
            remove_report_files(g_first_log_path, g_first_json_path);
            say("the disk filled while the listeners ran; report moved to ", r->json_path);
            return;
        }
    }
    str_copy(r->log_path, sizeof(r->log_path), g_first_log_path);
    str_copy(r->json_path, sizeof(r->json_path), g_first_json_path);
    say("could not finish the report ", r->json_path, "; its listener part follows");
    append_log_java(*r, status, platform::stderr_file());
}

}  // namespace

void report_file_path(char* out, size_t capacity, const char* dir, uint64_t pid, int n, const char* ext) {
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

int free_report_number(const char* dir, uint64_t pid, int first, const char* own) {
    static const char* const kExtensions[] = {".log", ".json", ".dmp"};
    char path[kPathCapacity];
    for (int n = first < 0 ? 0 : first; n < kMaxReportNumber; n++) {
        bool taken = false;
        for (const char* ext : kExtensions) {
            report_file_path(path, sizeof(path), dir, pid, n, ext);
            if (platform::file_exists(path) && !(own && str_equal(path, own))) {
                taken = true;
                break;
            }
        }
        if (!taken) return n;
    }
    return -1;
}

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

int classify_java_thread(uint64_t thread_id) {
    if (thread_registry_find(thread_id)) return 1;
    return g_agent.attached_late.load(std::memory_order_acquire) ? -1 : 0;
}

void report_crash(CrashRecord* r) {
    r->pid = platform::process_id();
    r->timestamp_ms = platform::now_ms();
    // First, before the writes below give the application's threads time to go on: the context
    // and breadcrumbs as they were at the crash.
    if (g_app_context.memory) {
        shared_context_copy(g_app_context.memory, &g_app_context.snapshot);
        r->app_context = &g_app_context.snapshot;
    }
    if (native_calls_enabled()) {
        native_calls_copy(r->thread_id, &g_native_call_snapshot);
        r->native_calls = &g_native_call_snapshot;
    }
    record_compute_signature(r);
    record_diagnose(r);

    const char* dir = g_agent.report_dir;
    const char* fallback = platform::fallback_report_dir();
    r->report_dir = dir;
    // Where the report stands, complete: the configured directory, else the temp directory
    // (where hs_err falls back to as well), else nowhere and the log goes to stderr, which
    // service managers collect.
    platform::FileHandle log = platform::kInvalidFile;
    const char* placed = nullptr;
    if (place_report(r, dir, "pending", &log)) {
        placed = dir;
    } else if (!str_equal(dir, fallback)) {
        size_t note_length = str_length(r->note);
        const char* first_failure = g_failure;
        record_add_note(r, "report directory ", dir, ": ", first_failure, "; wrote to the temp directory ", fallback,
                        " instead");
        if (place_report(r, fallback, "pending", &log)) {
            placed = fallback;
        } else {
            r->note[note_length] = '\0';
            record_add_note(r, "report directory ", dir, ": ", first_failure);
        }
    }
    if (placed) {
        say(r->kind, " captured; report: ", r->json_path);
    } else {
        r->json_path[0] = '\0';
        r->log_path[0] = '\0';
        say("could not write the crash report to ", dir, str_equal(dir, fallback) ? nullptr : " nor to the temp directory");
        say("the report follows (", g_failure, ")");
        FileSinkContext err_context{platform::stderr_file()};
        Writer err(g_write_buffer, sizeof(g_write_buffer), Sink{&file_sink_write, &err_context});
        write_log_native(*r, err);
        err.flush();
    }

    bool waited_out = wait_for_listeners(r, placed != nullptr);
    bool exited = g_agent.exit_during_dispatch.load(std::memory_order_acquire) != 0;
    const char* status = exited ? "interrupted" : dispatch_status_name(*r, waited_out);
    if (placed) {
        finish_report(r, placed, log, status);
    } else {
        append_log_java(*r, status, platform::stderr_file());
    }
    g_agent.report_done.store(1, std::memory_order_release);
}

void exit_during_dispatch() {
    if (g_agent.crashing_thread.load(std::memory_order_acquire) == 0) return;
    if (g_record.dispatch_state.load(std::memory_order_acquire) != static_cast<int>(DispatchState::kRunning)) return;
    if (g_agent.exit_during_dispatch.exchange(1, std::memory_order_acq_rel)) return;
    for (int i = 0; i < kMaxListeners; i++) {
        ListenerOutcome& l = g_record.listeners[i];
        if (l.state.load(std::memory_order_acquire) != static_cast<int>(ListenerState::kRunning)) continue;
        str_copy(l.outcome, sizeof(l.outcome),
                 "did not finish: the JVM began to exit while it ran (System.exit or Runtime.halt)");
        l.state.store(static_cast<int>(ListenerState::kDone), std::memory_order_release);
        char number[16];
        StringSink sink{number, sizeof(number), 0};
        char buffer[16];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.udec(static_cast<uint64_t>(i + 1));
        w.flush();
        record_add_note(&g_record, "the JVM began to exit while listener ", number, " (", l.name,
                        ") ran; later listeners did not run, and the exit status is the one given to exit");
    }
    platform::dispatcher_signal_done();
    // The crashing thread writes the report now; the JVM must not be gone before it is on disk.
    uint64_t deadline = platform::monotonic_ms() + 5000;
    while (!g_agent.report_done.load(std::memory_order_acquire) && platform::monotonic_ms() < deadline) {
        platform::sleep_ms(5);
    }
    // Then the exit waits: the crash ends the process as it would without the agent (hs_err, the
    // core dump, its exit status), not the listener's exit. The JVM's crash handling kills the
    // process during this wait; should it not (it hangs), the exit goes on after a while.
    deadline = platform::monotonic_ms() + kExitHoldMs;
    while (platform::monotonic_ms() < deadline) platform::sleep_ms(20);
}

// Crash context.
CrashClaim handle_claimed_crash(CrashClaim claim, CrashCapture capture, void* context) {
    switch (claim) {
        case CrashClaim::kFirst:
            capture(context);
            mark_owner_chaining();
            break;
        case CrashClaim::kRecursive:
            break;
        case CrashClaim::kDispatcher:
            // A listener crashed: release the owner now instead of at the end of its budget.
            platform::dispatcher_signal_done();
            [[fallthrough]];
        case CrashClaim::kOther:
            // Let the owner reach the JVM's error handler first, so hs_err is about its crash; the
            // JVM then holds every later one.
            if (wait_for_crash_owner(kOtherCrashWaitMs)) platform::sleep_ms(kAfterOwnerChainsMs);
            break;
    }
    return claim;
}

void mark_owner_chaining() { g_agent.owner_chaining.store(1, std::memory_order_release); }

void release_crash_claim() {
    for (auto& other : g_record.other_crashes) other.thread_id.store(0, std::memory_order_relaxed);
    g_record.other_crash_count.store(0, std::memory_order_release);
    g_other_crash_slots.store(0, std::memory_order_release);
    g_agent.report_done.store(0, std::memory_order_release);
    g_agent.owner_chaining.store(0, std::memory_order_release);
    g_agent.claim_time_ms.store(0, std::memory_order_release);
    g_agent.crashing_thread.store(0, std::memory_order_release);  // last: from here on a new claim may start
}

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
