// SPDX-License-Identifier: Apache-2.0
// Windows crash handlers.
//
// HotSpot on Windows x64 registers no vectored handler and no unhandled-exception filter: its
// handler is a frame-based __try/__except around every Java call and thread start. When a JNI
// library faults on a Java thread, that filter writes hs_err and exits, so a UEF never runs.
// A vectored exception handler (VEH) is the only hook that sees the fault before it.
//
// The VEH is registered FIRST (AddVectoredExceptionHandler(1, ...)). Being last would gain
// nothing (HotSpot has no VEH to go before) and would let any other first-position VEH of the
// process, e.g. another crash reporter, end the process before the agent has written its report.
// Running first costs the JVM's own faults next to nothing: the handler leaves at once for codes
// it ignores and for a pc in the code cache or jvm.dll, and it never changes the exception or its
// context; it always returns EXCEPTION_CONTINUE_SEARCH, so nothing is ever swallowed.
//
// The unhandled-exception filter (UEF) catches what reaches the end of dispatch: crashes on
// threads that native code created, and faults that a frame handler let pass. It chains to the
// filter it replaced, as a good citizen.
//
// Heavy work (stack walk for the report, module list, files, minidump) runs on a helper thread
// created in advance, so a stack overflow still gets its report; the faulting thread waits for
// it within a bound.
#include <windows.h>
#include <dbghelp.h>

#include <atomic>

#include "core/crash_flow.h"
#include "core/writer.h"
#include "platform.h"
#include "windows/capture_windows.h"

namespace crashagent {
namespace platform {

namespace {

using win::StackBounds;
using win::Verdict;

// Stack kept free for exception handling on every thread the agent knows about
// (SetThreadStackGuarantee): after a stack overflow, that is all the handlers have. The heavy work
// runs on the helper thread (capture, report, minidump) or, at process exit, on a stack of the
// agent's own, so the faulting thread needs room only for the exception dispatch and the agent's
// VEH: the stack_use tests measure 5.1 KB below the faulting rsp under Wine 8, of which the agent's
// VEH takes about 1.9 KB (the rest is Wine's dispatch, whose context record is smaller than
// Windows' with AVX-512 state). 16 KB leaves room for that. The guarantee is taken from the
// thread's own stack, so threads with a small reserve keep the system's default instead.
constexpr ULONG kStackGuarantee = 16 * 1024;
constexpr uint64_t kMinReserveForGuarantee = 16 * kStackGuarantee;  // 256 KB: at most 1/16 of the stack
constexpr DWORD kHelperStackSize = 1024 * 1024;
constexpr uint32_t kMinidumpBudgetMs = 20000;  // bound for MiniDumpWriteDump
constexpr uint32_t kHelperSlackMs = 10000;     // capture and files, beyond the listener budget
constexpr uint32_t kConcurrentCrashWaitMs = 500;  // for threads still judging their own fault
constexpr uint32_t kConcurrentCrashQuietMs = 20;  // ... until none has been for this long

PVOID g_veh = nullptr;
PVOID g_continue_handler = nullptr;
LPTOP_LEVEL_EXCEPTION_FILTER g_previous_filter = nullptr;
std::atomic<int> g_filter_installed{0};
const void* g_jvm_hint = nullptr;

LONG CALLBACK vectored_handler(EXCEPTION_POINTERS* pointers);
LONG WINAPI unhandled_filter(EXCEPTION_POINTERS* pointers);

// Threads in the VEH that are still walking their stack to decide about their fault. The crash
// owner lets them finish (bounded) before it writes the report, so that threads that crashed at
// the same moment are noted in it rather than after it.
std::atomic<int> g_judging{0};

// --- Re-entrancy guard --------------------------------------------------------------------------
// Threads currently inside one of the agent's handlers. A fault inside a handler re-enters the
// VEH on the same thread; that nested call sees the thread here and steps aside, so the nested
// exception goes on to the next handler instead of recursing.
constexpr int kGuardSlots = 128;
std::atomic<uint64_t> g_inside[kGuardSlots];

class HandlerGuard {
public:
    // Crash context.
    explicit HandlerGuard(uint64_t thread_id) {
        for (auto& slot : g_inside) {
            if (slot.load(std::memory_order_acquire) == thread_id) return;  // nested: not entered
        }
        for (auto& slot : g_inside) {
            uint64_t expected = 0;
            if (slot.compare_exchange_strong(expected, thread_id, std::memory_order_acq_rel)) {
                slot_ = &slot;
                return;
            }
        }
    }
    // Crash context.
    ~HandlerGuard() {
        if (slot_) slot_->store(0, std::memory_order_release);
    }
    bool entered() const { return slot_ != nullptr; }

private:
    std::atomic<uint64_t>* slot_ = nullptr;
};

// --- A claimed crash that was not fatal ---------------------------------------------------------
// The exception a claimed crash came from, so that the claim can be given up if the owning thread
// goes on after it: a vectored handler registered after the agent's, or HotSpot's filter for an
// exception the agent could not foresee, may resume it. Kept: the faulting frame (rip, rsp) and
// the EXCEPTION_RECORD's address for this dispatch.
std::atomic<uint64_t> g_claim_rip{0};
std::atomic<uint64_t> g_claim_rsp{0};
std::atomic<uint64_t> g_claim_record{0};

// Crash context. Called on the owning thread: if the claimed exception's faulting frame is no
// longer on this thread's stack, the thread went on after it and the crash was not fatal.
void release_claim_if_resumed(uint64_t self) {
    if (g_agent.crashing_thread.load(std::memory_order_acquire) != self) return;
    if (!g_agent.owner_chaining.load(std::memory_order_acquire)) return;  // still handling it
    if (win::fault_frame_on_current_stack(g_claim_rip.load(std::memory_order_acquire),
                                          g_claim_rsp.load(std::memory_order_acquire))) {
        return;  // still being dispatched (a nested exception, or the UEF)
    }
    g_claim_record.store(0, std::memory_order_release);
    release_crash_claim();
}

// Crash context. Windows calls vectored continue handlers when a handler resumes an exception
// (EXCEPTION_CONTINUE_EXECUTION). Wine never calls them; there the owner's next exception, or its
// exit, releases the claim (release_claim_if_resumed, release_current_thread).
LONG CALLBACK continue_handler(EXCEPTION_POINTERS* pointers) {
    uint64_t self = GetCurrentThreadId();
    if (g_agent.crashing_thread.load(std::memory_order_acquire) == self &&
        g_agent.owner_chaining.load(std::memory_order_acquire) &&
        g_claim_record.load(std::memory_order_acquire) == reinterpret_cast<uint64_t>(pointers->ExceptionRecord)) {
        g_claim_record.store(0, std::memory_order_release);
        release_crash_claim();
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

// --- Faults a frame handler may still catch ------------------------------------------------------
// When a frame handler sits between the fault and the JVM, the fault is remembered, not reported.
// If the exception then reaches the UEF, or the process exits while it is still being dispatched
// (HotSpot's filter wrote hs_err and called exit), it is reported then.
constexpr int kPendingSlots = 32;

struct PendingFault {
    std::atomic<uint64_t> thread_id;   // 0 = free
    std::atomic<int> ready;
    uint64_t record;                   // EXCEPTION_RECORD*, valid while the dispatch is on the stack
    uint64_t context;                  // CONTEXT*, likewise
    uint64_t rip;
    uint64_t rsp;
    DWORD code;
};
PendingFault g_pending[kPendingSlots];
std::atomic<unsigned> g_pending_evict{0};

// Crash context.
PendingFault* find_pending(uint64_t thread_id) {
    for (auto& p : g_pending) {
        if (p.thread_id.load(std::memory_order_acquire) == thread_id) return &p;
    }
    return nullptr;
}

// Crash context.
void remember_pending(uint64_t thread_id, const EXCEPTION_POINTERS* pointers) {
    PendingFault* slot = find_pending(thread_id);
    for (int i = 0; !slot && i < kPendingSlots; i++) {
        uint64_t expected = 0;
        if (g_pending[i].thread_id.compare_exchange_strong(expected, thread_id, std::memory_order_acq_rel)) {
            slot = &g_pending[i];
        }
    }
    if (!slot) {
        // Every slot taken (threads that went on after their handler caught the fault): reuse the
        // oldest. The exit check validates a slot against the live stack, so a torn one never
        // produces a report.
        slot = &g_pending[g_pending_evict.fetch_add(1, std::memory_order_relaxed) % kPendingSlots];
        slot->thread_id.store(thread_id, std::memory_order_release);
    }
    slot->ready.store(0, std::memory_order_release);
    slot->record = reinterpret_cast<uint64_t>(pointers->ExceptionRecord);
    slot->context = reinterpret_cast<uint64_t>(pointers->ContextRecord);
    slot->rip = pointers->ContextRecord->Rip;
    slot->rsp = pointers->ContextRecord->Rsp;
    slot->code = pointers->ExceptionRecord->ExceptionCode;
    slot->ready.store(1, std::memory_order_release);
}

// Crash context.
void forget_pending(uint64_t thread_id) {
    PendingFault* slot = find_pending(thread_id);
    if (!slot) return;
    slot->ready.store(0, std::memory_order_release);
    slot->thread_id.store(0, std::memory_order_release);
}

// --- Helper threads ------------------------------------------------------------------------------
// The capture helper does the capture and the report for the faulting thread, on a stack of its
// own. The minidump helper runs MiniDumpWriteDump, which must never run on the faulting thread
// and may hang (it takes the loader lock): the capture helper waits for it within a bound.
// Both have a resume point: a fault on them is turned into "give up and go on" instead of a
// second crash of the process.

struct CaptureRequest {
    EXCEPTION_POINTERS* pointers;
    uint64_t thread_id;
    StackBounds stack;
    const char* note;
};

enum HelperPhase : int { kIdle = 0, kCapturing = 1, kReporting = 2 };

struct Helper {
    HANDLE go = nullptr;
    HANDLE done = nullptr;
    std::atomic<uint64_t> thread_id{0};
    std::atomic<int> phase{kIdle};
    uint64_t resume_sp = 0;
};

Helper g_capture;
Helper g_dump;
CaptureRequest g_request;

using MiniDumpWriteDumpFn = BOOL(WINAPI*)(HANDLE, DWORD, HANDLE, MINIDUMP_TYPE, PMINIDUMP_EXCEPTION_INFORMATION,
                                          PMINIDUMP_USER_STREAM_INFORMATION, PMINIDUMP_CALLBACK_INFORMATION);
MiniDumpWriteDumpFn g_minidump_write = nullptr;
HANDLE g_dump_file = INVALID_HANDLE_VALUE;
std::atomic<int> g_dump_ok{0};
char g_dump_path[kPathCapacity];

// Crash context.
uint32_t capture_budget_ms() {
    return g_agent.options.timeout_ms + kHelperSlackMs + (g_minidump_write ? kMinidumpBudgetMs : 0);
}

// Crash context. Creates <dir>\crashagent_pid<pid>[_<n>].dmp under the first number no report
// file takes; the report written after it then gets the same base name.
HANDLE create_dump_file(const char* dir) {
    for (int n = 0; (n = free_report_number(dir, process_id(), n, nullptr)) >= 0; n++) {
        report_file_path(g_dump_path, sizeof(g_dump_path), dir, process_id(), n, ".dmp");
        FileHandle f = file_create_exclusive(g_dump_path);
        if (f != kInvalidFile) return reinterpret_cast<HANDLE>(f);
        if (GetLastError() != ERROR_FILE_EXISTS && GetLastError() != ERROR_ALREADY_EXISTS) break;
    }
    g_dump_path[0] = '\0';
    return INVALID_HANDLE_VALUE;
}

// Crash context (minidump helper thread). dbghelp allocates and takes the loader lock, which is
// why it runs here and never on the faulting thread, and why its caller waits with a bound.
[[noreturn]] void dump_loop() {
    for (;;) {
        WaitForSingleObject(g_dump.go, INFINITE);
        g_dump.phase.store(kCapturing, std::memory_order_release);
        MINIDUMP_EXCEPTION_INFORMATION exception;
        exception.ThreadId = static_cast<DWORD>(g_request.thread_id);
        exception.ExceptionPointers = g_request.pointers;
        exception.ClientPointers = FALSE;
        BOOL ok = g_minidump_write(GetCurrentProcess(), GetCurrentProcessId(), g_dump_file, MiniDumpNormal, &exception,
                                   nullptr, nullptr);
        g_dump_ok.store(ok ? 1 : 0, std::memory_order_release);
        g_dump.phase.store(kIdle, std::memory_order_release);
        SetEvent(g_dump.done);
    }
}

// Crash context. Where the minidump helper resumes after a fault in MiniDumpWriteDump.
[[noreturn]] void dump_resume_after_fault() {
    g_dump_ok.store(0, std::memory_order_release);
    g_dump.phase.store(kIdle, std::memory_order_release);
    SetEvent(g_dump.done);
    dump_loop();
}

// Crash context (capture helper). Writes the minidump through the minidump helper, bounded.
void write_minidump(CrashRecord* r) {
    if (!g_minidump_write || !g_dump.thread_id.load(std::memory_order_acquire)) return;
    HANDLE file = create_dump_file(g_agent.report_dir);
    if (file == INVALID_HANDLE_VALUE) file = create_dump_file(fallback_report_dir());
    if (file == INVALID_HANDLE_VALUE) {
        record_add_note(r, "minidump: could not create the .dmp file");
        return;
    }
    g_dump_file = file;
    g_dump_ok.store(0, std::memory_order_release);
    SetEvent(g_dump.go);
    bool finished = WaitForSingleObject(g_dump.done, kMinidumpBudgetMs) == WAIT_OBJECT_0;
    if (finished && g_dump_ok.load(std::memory_order_acquire)) {
        CloseHandle(file);
        str_copy(r->minidump_path, sizeof(r->minidump_path), g_dump_path);
        return;
    }
    // A late MiniDumpWriteDump would still write into the handle: leave it open then.
    if (finished) {
        CloseHandle(file);
        DeleteFileA(g_dump_path);
    }
    record_add_note(r, finished ? "minidump: MiniDumpWriteDump failed" : "minidump: MiniDumpWriteDump did not finish in time");
}

// Crash context. Capture, minidump, report: the whole job for one crash.
void capture_and_report(const CaptureRequest& q, Helper* helper) {
    if (helper) helper->phase.store(kCapturing, std::memory_order_release);
    win::capture_exception(&g_record, q.pointers->ExceptionRecord, q.pointers->ContextRecord, q.thread_id, q.stack);
    if (q.note) record_add_note(&g_record, q.note);
    write_minidump(&g_record);
    // Let threads that faulted at the same moment finish deciding, so they are noted in the report.
    uint64_t start = monotonic_ms();
    uint64_t quiet_since = start;
    for (uint64_t now = start; now - start < kConcurrentCrashWaitMs; now = monotonic_ms()) {
        if (g_judging.load(std::memory_order_acquire) > 0) {
            quiet_since = now;
        } else if (now - quiet_since >= kConcurrentCrashQuietMs) {
            break;
        }
        Sleep(1);
    }
    if (helper) helper->phase.store(kReporting, std::memory_order_release);
    report_crash(&g_record);
}

// Crash context (capture helper thread).
[[noreturn]] void capture_loop() {
    for (;;) {
        WaitForSingleObject(g_capture.go, INFINITE);
        capture_and_report(g_request, &g_capture);
        g_capture.phase.store(kIdle, std::memory_order_release);
        SetEvent(g_capture.done);
    }
}

// Crash context. Where the capture helper resumes after a fault: a fault while capturing (a
// corrupt stack or module) still gets the report with what was captured; a fault while writing
// the report gives up.
[[noreturn]] void capture_resume_after_fault() {
    if (g_capture.phase.load(std::memory_order_acquire) == kCapturing) {
        g_capture.phase.store(kReporting, std::memory_order_release);
        record_add_note(&g_record, "the capture faulted; native frames or modules may be incomplete");
        report_crash(&g_record);
    }
    g_capture.phase.store(kIdle, std::memory_order_release);
    SetEvent(g_capture.done);
    capture_loop();
}

DWORD WINAPI capture_main(void*) {
    g_capture.resume_sp = (win::current_stack_bounds().high - 4096) & ~static_cast<uint64_t>(15);
    g_capture.thread_id.store(GetCurrentThreadId(), std::memory_order_release);
    capture_loop();
}

DWORD WINAPI dump_main(void*) {
    g_dump.resume_sp = (win::current_stack_bounds().high - 4096) & ~static_cast<uint64_t>(15);
    g_dump.thread_id.store(GetCurrentThreadId(), std::memory_order_release);
    dump_loop();
}

// Crash context. Sends a faulting helper to its resume point: like a longjmp to the top of its
// own stack, with a zero return address so that nothing unwinds past it.
LONG resume_helper(Helper* helper, CONTEXT* context, void (*resume)()) {
    uint64_t sp = helper->resume_sp - 8;
    *reinterpret_cast<uint64_t*>(sp) = 0;
    context->Rsp = sp;
    context->Rip = reinterpret_cast<uint64_t>(resume);
    return EXCEPTION_CONTINUE_EXECUTION;
}

bool start_helper(Helper* helper, LPTHREAD_START_ROUTINE main) {
    if (helper->go) return true;
    helper->go = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    helper->done = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    if (!helper->go || !helper->done) return false;
    HANDLE thread = CreateThread(nullptr, kHelperStackSize, main, nullptr, STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr);
    if (!thread) return false;
    CloseHandle(thread);
    // The helper publishes its id before it waits; until then requests run inline.
    for (int i = 0; i < 200 && !helper->thread_id.load(std::memory_order_acquire); i++) Sleep(1);
    return true;
}

// Crash context. Runs capture and report for the faulting thread, on the helper when there is
// one, and waits for it within the budget.
void capture_for(EXCEPTION_POINTERS* pointers, uint64_t thread_id, StackBounds stack, const char* note) {
    g_request = CaptureRequest{pointers, thread_id, stack, note};
    if (g_capture.thread_id.load(std::memory_order_acquire) && g_capture.thread_id.load() != thread_id) {
        SetEvent(g_capture.go);
        WaitForSingleObject(g_capture.done, capture_budget_ms());
        return;
    }
    capture_and_report(g_request, nullptr);
}

struct ExceptionCrash {
    EXCEPTION_POINTERS* pointers;
    uint64_t thread_id;
    StackBounds stack;
    const char* note;
};

// Crash context. The owner's capture, for handle_claimed_crash.
void capture_exception_crash(void* context) {
    auto* crash = static_cast<ExceptionCrash*>(context);
    g_claim_rip.store(crash->pointers->ContextRecord->Rip, std::memory_order_release);
    g_claim_rsp.store(crash->pointers->ContextRecord->Rsp, std::memory_order_release);
    g_claim_record.store(reinterpret_cast<uint64_t>(crash->pointers->ExceptionRecord), std::memory_order_release);
    capture_for(crash->pointers, crash->thread_id, crash->stack, crash->note);
}

// Crash context. Handles a crash this thread has just decided on; judging says whether the
// thread is counted in g_judging until it has claimed.
void on_crash(EXCEPTION_POINTERS* pointers, uint64_t thread_id, StackBounds stack, const char* note, bool judging) {
    CrashClaim claim = claim_crash(thread_id, pointers->ExceptionRecord->ExceptionCode);
    // Counted until claimed, so the owner waits for this thread's crash to be noted.
    if (judging) g_judging.fetch_sub(1, std::memory_order_acq_rel);
    // A recursive claim is a crash already reported (e.g. at first chance, now in the UEF): it is
    // just passed on.
    ExceptionCrash crash{pointers, thread_id, stack, note};
    handle_claimed_crash(claim, capture_exception_crash, &crash);
}

// Crash context.
LONG CALLBACK vectored_handler(EXCEPTION_POINTERS* pointers) {
    if (!g_agent.installed.load(std::memory_order_acquire)) return EXCEPTION_CONTINUE_SEARCH;
    const EXCEPTION_RECORD* record = pointers->ExceptionRecord;
    if (win::is_ignored_code(record->ExceptionCode)) return EXCEPTION_CONTINUE_SEARCH;
    uint64_t self = GetCurrentThreadId();

    if (self == g_capture.thread_id.load(std::memory_order_acquire) &&
        g_capture.phase.load(std::memory_order_acquire) != kIdle) {
        return resume_helper(&g_capture, pointers->ContextRecord, &capture_resume_after_fault);
    }

    HandlerGuard guard(self);
    if (!guard.entered()) return EXCEPTION_CONTINUE_SEARCH;
    release_claim_if_resumed(self);

    // The JVM's own faults leave here, before any walk: implicit null checks, polls and stack
    // banging in the code cache, SafeFetch and the like in jvm.dll.
    g_judging.fetch_add(1, std::memory_order_acq_rel);
    win::CodeKind kind = win::classify_code(pointers->ContextRecord->Rip);
    if (kind == win::CodeKind::kJitCode || kind == win::CodeKind::kJvm || kind == win::CodeKind::kAgent) {
        g_judging.fetch_sub(1, std::memory_order_acq_rel);
        return EXCEPTION_CONTINUE_SEARCH;
    }
    StackBounds stack = win::current_stack_bounds();
    Verdict verdict = win::judge_exception(record, pointers->ContextRecord, stack);
    if (verdict == Verdict::kCrash && self != g_dump.thread_id.load(std::memory_order_acquire)) {
        on_crash(pointers, self, stack, nullptr, true);
        return EXCEPTION_CONTINUE_SEARCH;
    }
    g_judging.fetch_sub(1, std::memory_order_acq_rel);

    if (self == g_dump.thread_id.load(std::memory_order_acquire) &&
        g_dump.phase.load(std::memory_order_acquire) != kIdle) {
        // dbghelp may probe memory under its own handlers; anything else would end the process.
        if (verdict == Verdict::kHandled) return EXCEPTION_CONTINUE_SEARCH;
        return resume_helper(&g_dump, pointers->ContextRecord, &dump_resume_after_fault);
    }

    if (verdict == Verdict::kHandled) remember_pending(self, pointers);
    return EXCEPTION_CONTINUE_SEARCH;
}

// Crash context. Calls the filter this one replaced, unless its module is gone.
LONG call_previous_filter(EXCEPTION_POINTERS* pointers) {
    LPTOP_LEVEL_EXCEPTION_FILTER previous = g_previous_filter;
    if (!previous) return EXCEPTION_CONTINUE_SEARCH;  // so WER (or the debugger) still runs
    HMODULE module = nullptr;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            reinterpret_cast<LPCWSTR>(previous), &module)) {
        return EXCEPTION_CONTINUE_SEARCH;
    }
    return previous(pointers);
}

// Crash context. Everything that reaches this filter is unhandled and ends the process, so it is
// reported unless the VEH already did.
LONG WINAPI unhandled_filter(EXCEPTION_POINTERS* pointers) {
    uint64_t self = GetCurrentThreadId();
    if (g_agent.installed.load(std::memory_order_acquire) && pointers && pointers->ExceptionRecord) {
        HandlerGuard guard(self);
        if (guard.entered()) {
            release_claim_if_resumed(self);
            const char* note = find_pending(self)
                                   ? "a frame handler on the stack let the exception pass; reported by the "
                                     "unhandled-exception filter"
                                   : nullptr;
            on_crash(pointers, self, win::current_stack_bounds(), note, false);
            forget_pending(self);
        }
    }
    return call_previous_filter(pointers);
}

// --- The report at process exit ------------------------------------------------------------------
// It runs on the exiting thread, which is often the one whose exception is pending: after a stack
// overflow, a few KB of its stack are left (Wine 8 leaves about 7.5 KB whatever the guarantee), and
// the exception dispatch, the JVM's fatal-error code and the exit have used most of them. So the
// report runs on a stack of its own, like a signal handler on an alternate stack: the agent
// switches rsp to g_exit_stack, and the TEB's stack bounds with it, for the report's duration.
alignas(16) char g_exit_stack[256 * 1024];
CONTEXT g_exit_context;        // where the exiting thread was when it switched
StackBounds g_exit_thread_stack;
PendingFault* g_exit_slot = nullptr;

extern "C" void crashagent_call_on_stack(void (*fn)(), void* top);
// crashagent_call_on_stack(fn, top): calls fn() with rsp at top; rbp keeps the caller's rsp, and
// the unwind data says so, so a walk (or a dispatch) from fn still finds the caller's frames.
asm(R"(
    .text
    .globl crashagent_call_on_stack
    .def crashagent_call_on_stack; .scl 2; .type 32; .endef
    .seh_proc crashagent_call_on_stack
crashagent_call_on_stack:
    push %rbp
    .seh_pushreg %rbp
    mov %rsp, %rbp
    .seh_setframe %rbp, 0
    .seh_endprologue
    mov %rdx, %rsp
    sub $32, %rsp
    call *%rcx
    nop
    mov %rbp, %rsp
    pop %rbp
    ret
    .seh_endproc
)");

// Crash context, on g_exit_stack (see report_pending_at_exit).
void report_pending_on_exit_stack() {
    uint64_t self = GetCurrentThreadId();
    PendingFault* slot = g_exit_slot;
    if (!win::fault_frame_on_stack(&g_exit_context, g_exit_thread_stack, slot->rip, slot->rsp)) return;
    auto* record = reinterpret_cast<EXCEPTION_RECORD*>(slot->record);
    auto* context = reinterpret_cast<CONTEXT*>(slot->context);
    if (record->ExceptionCode != slot->code || context->Rip != slot->rip || context->Rsp != slot->rsp) return;
    // The dispatcher and the helpers ended with the other threads.
    g_agent.dispatcher_available.store(0, std::memory_order_release);
    g_capture.thread_id.store(0, std::memory_order_release);
    g_minidump_write = nullptr;
    EXCEPTION_POINTERS pointers{record, context};
    on_crash(&pointers, self, g_exit_thread_stack,
             record->ExceptionCode == EXCEPTION_STACK_OVERFLOW
                 ? "a stack overflow in native code under a JVM frame, which the JVM resumes the first time (yellow "
                   "zone), so it was not reported at first chance; reported when the process exited while the "
                   "exception was still being dispatched"
                 : "a frame handler on the stack could have caught the fault, so it was not reported at first "
                   "chance; reported when the process exited while the exception was still being dispatched",
             false);
}

// Crash context (DLL_PROCESS_DETACH at process exit, loader lock held, other threads gone).
// Reports a remembered fault if the process is exiting while that exception is still being
// dispatched on this thread: a frame handler did not take it and HotSpot's filter (or another
// one) ended the process. A fault that was caught is no longer on the stack and is not reported.
void report_pending_at_exit() {
    uint64_t self = GetCurrentThreadId();
    PendingFault* slot = find_pending(self);
    if (!slot || !slot->ready.load(std::memory_order_acquire)) return;
    HandlerGuard guard(self);
    if (!guard.entered()) return;
    g_exit_slot = slot;
    g_exit_thread_stack = win::current_stack_bounds();
    RtlCaptureContext(&g_exit_context);
    NT_TIB* tib = win::current_teb();
    void* base = tib->StackBase;
    void* limit = tib->StackLimit;
    char* top = g_exit_stack + sizeof(g_exit_stack);
    tib->StackBase = top;
    tib->StackLimit = g_exit_stack;
    crashagent_call_on_stack(&report_pending_on_exit_stack, top);
    tib->StackLimit = limit;
    tib->StackBase = base;
}

}  // namespace

void note_jvm_address(const void* address) { g_jvm_hint = address; }

bool install_crash_handlers(const Options& options, char* error, size_t capacity) {
    HMODULE self = nullptr;
    // Pinned: the VEH and the UEF point into this DLL, and other code may still call the UEF
    // after a FreeLibrary.
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                       reinterpret_cast<LPCWSTR>(&vectored_handler), &self);
    win::g_known.agent_base = reinterpret_cast<uint64_t>(self);
    HMODULE jvm = nullptr;
    if (g_jvm_hint) {
        GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           static_cast<LPCWSTR>(g_jvm_hint), &jvm);
    }
    if (!jvm) jvm = GetModuleHandleW(L"jvm.dll");
    win::g_known.jvm_base = reinterpret_cast<uint64_t>(jvm);
    win::note_runtime_handlers();

    prepare_current_thread();
    if (!start_helper(&g_capture, &capture_main)) {
        stderr_write("crashagent: could not start the capture thread; crashes are captured on the faulting thread\n");
    }
    if (options.minidump && !g_minidump_write) {
        // Loaded at run time, so the DLL imports only what every Windows has; from System32 only,
        // so that a dbghelp.dll in the application's directory is never picked up.
        HMODULE dbghelp = LoadLibraryExW(L"dbghelp.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
        auto write = dbghelp ? reinterpret_cast<MiniDumpWriteDumpFn>(
                                   reinterpret_cast<void*>(GetProcAddress(dbghelp, "MiniDumpWriteDump")))
                             : nullptr;
        if (write && start_helper(&g_dump, &dump_main)) {
            g_minidump_write = write;
        } else {
            stderr_write("crashagent: minidump=true, but dbghelp.dll's MiniDumpWriteDump is not available; "
                         "reports are written without minidumps\n");
        }
    }

    g_veh = AddVectoredExceptionHandler(1, &vectored_handler);
    if (!g_veh) {
        str_copy(error, capacity, "crashagent: AddVectoredExceptionHandler failed");
        return false;
    }
    g_continue_handler = AddVectoredContinueHandler(1, &continue_handler);
    g_previous_filter = SetUnhandledExceptionFilter(&unhandled_filter);
    g_filter_installed.store(1, std::memory_order_release);
    g_agent.installed.store(1, std::memory_order_release);
    return true;
}

void uninstall_crash_handlers() {
    g_agent.installed.store(0, std::memory_order_release);
    // The VEH first: from here on no new crash handling starts.
    if (g_veh) RemoveVectoredExceptionHandler(g_veh);
    g_veh = nullptr;
    if (g_continue_handler) RemoveVectoredContinueHandler(g_continue_handler);
    g_continue_handler = nullptr;
    if (g_filter_installed.exchange(0, std::memory_order_acq_rel)) {
        // Put the previous filter back only if ours is still the current one; whoever installed
        // a filter on top of ours keeps theirs (and may still chain to ours: the DLL is pinned).
        LPTOP_LEVEL_EXCEPTION_FILTER current = SetUnhandledExceptionFilter(g_previous_filter);
        if (current != &unhandled_filter) SetUnhandledExceptionFilter(current);
    }
}

void prepare_current_thread() {
    auto teb = reinterpret_cast<uint64_t>(win::current_teb());
    uint64_t deallocation_stack = *reinterpret_cast<const uint64_t*>(teb + 0x1478);  // TEB.DeallocationStack (x64)
    uint64_t base = win::current_stack_bounds().high;
    if (deallocation_stack == 0 || base - deallocation_stack < kMinReserveForGuarantee) return;
    ULONG guarantee = kStackGuarantee;
    SetThreadStackGuarantee(&guarantee);
}

void release_current_thread() {
    uint64_t self = GetCurrentThreadId();
    forget_pending(self);
    // A thread that owns a crash and ends normally went on after it: the crash was not fatal.
    if (g_agent.crashing_thread.load(std::memory_order_acquire) == self &&
        g_agent.owner_chaining.load(std::memory_order_acquire)) {
        g_claim_record.store(0, std::memory_order_release);
        release_crash_claim();
    }
}

}  // namespace platform
}  // namespace crashagent

// Threads created after the agent started (including those of JNI libraries) get the stack
// guarantee here; a remembered fault is finalised at process exit.
extern "C" BOOL WINAPI DllMain(HINSTANCE, DWORD reason, LPVOID reserved) {
    using namespace crashagent;
    switch (reason) {
        case DLL_THREAD_ATTACH:
            if (g_agent.installed.load(std::memory_order_acquire)) platform::prepare_current_thread();
            break;
        case DLL_THREAD_DETACH:
            platform::release_current_thread();
            break;
        case DLL_PROCESS_DETACH:
            // reserved is non-null when the process is exiting (not a FreeLibrary).
            if (reserved && g_agent.installed.load(std::memory_order_acquire)) platform::report_pending_at_exit();
            break;
    }
    return TRUE;
}
