// SPDX-License-Identifier: Apache-2.0
// What every platform's handler does once it has decided a fault is a crash: claim it, write the
// native report, hand over to the dispatcher within the budget, then finish the report.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/crash_record.h"
#include "core/options.h"

namespace crashagent {

struct AgentState {
    Options options;
    char report_dir[kPathCapacity];               // absolute, without trailing separator
    std::atomic<int> installed{0};                // handlers are in place
    std::atomic<uint64_t> crashing_thread{0};     // thread that owns the crash, 0 = none
    std::atomic<int> report_done{0};              // the final report is on disk
    std::atomic<uint64_t> dispatcher_thread{0};   // dispatcher's thread id, 0 = none
    // A dispatcher thread exists and will serve a wake: set once RunAgentThread started it (it may
    // not have reached its wait yet: a wake stays in the channel until it does), cleared when it
    // stops at VM death.
    std::atomic<int> dispatcher_available{0};
    std::atomic<uint64_t> claim_time_ms{0};       // monotonic time the owner claimed the crash
    std::atomic<int> owner_chaining{0};           // the owner is handing its crash to the JVM
    std::atomic<int> attached_late{0};            // threads older than the agent are not registered
    std::atomic<int> exit_during_dispatch{0};     // the JVM began to exit while the listeners ran
};

extern AgentState g_agent;
extern CrashRecord g_record;

enum class CrashClaim {
    kFirst,        // this thread owns the crash: capture and report it
    kRecursive,    // this thread faulted again inside its own crash handling
    kDispatcher,   // the dispatcher (a listener) crashed while the report was in progress
    kOther,        // another thread owns the crash; this one was noted
};

// How threads that lost the claim wait, on every platform: for the owner to reach the JVM's
// handler (beyond the owner's own allowance, see wait_for_crash_owner), then a little longer so
// that the JVM's handler has taken the owner's crash before a later one arrives.
constexpr uint32_t kOtherCrashWaitMs = 2000;
constexpr uint32_t kAfterOwnerChainsMs = 200;

// Crash context.
CrashClaim claim_crash(uint64_t thread_id, uint64_t code);

// The crash policy, once for every platform, after the backend has claimed: the owner captures
// (capture fills the record from the OS event and calls report_crash) and marks that it now hands
// the crash on; a thread that lost the claim waits until the owner has handed its crash to the JVM,
// so that the process dies of the first crash and hs_err is about it; a crashing listener releases
// the owner first. A recursive fault does nothing here: the backend decides (Linux jumps back into
// the crash path it interrupted). Returns claim. Crash context.
using CrashCapture = void (*)(void* context);
CrashClaim handle_claimed_crash(CrashClaim claim, CrashCapture capture, void* context);

// Every report file's name, in one place: <dir><separator>crashagent_pid<pid>[_<n>]<ext> (.log,
// .json, .dmp; n > 0 for a name an earlier report took). Crash context.
void report_file_path(char* out, size_t capacity, const char* dir, uint64_t pid, int n, const char* ext);

// The files of one report share a base name. Returns the first number n >= first (below 100) under
// which no report file (.log, .json or .dmp) exists in dir, but for own, a file this crash placed
// already (its minidump, which is written before the report; null if none). -1 if every number is
// taken. The minidump takes the first free number, then the report finds the same one.
// Crash context.
int free_report_number(const char* dir, uint64_t pid, int first, const char* own);

// 1 if the thread is a registered Java thread, 0 if it is not a Java thread, -1 if that is unknown
// (the agent was attached late and the thread may be an older Java thread). Crash context.
int classify_java_thread(uint64_t thread_id);

// Called by the owning thread after the platform filled the record (kind, addresses, thread,
// registers, modules, frames). Computes the signature, writes the native report, runs the
// dispatch within the budget and writes the final report. Crash context.
void report_crash(CrashRecord* record);

// VMDeath (normal context, any thread): when it comes while the listeners run, a listener (or
// another thread) called System.exit or Runtime.halt. Marks the listener that was running, has
// the crashing thread write the report now with every outcome so far, and waits for that report,
// bounded, so that it is on disk before the JVM exits.
void exit_during_dispatch();

// Called by the owner right before it hands its crash to the JVM or the OS. Crash context.
void mark_owner_chaining();

// Gives up the claim of a crash that turned out not to be fatal: the owning thread went on after
// its exception (a handler resumed it). Resets the claim and the shared parts of the record that
// threads losing the claim write, so that a later crash gets a complete report of its own.
// Crash context; call it only when the owner is known to be past its crash handling.
void release_crash_claim();

// For threads that lost the claim: waits until the owner hands its crash on, so the process dies
// with the first crash and hs_err describes it. Bounded from the owner's claim by the capture
// allowance, the dispatch budget and extra_ms. Returns true if the owner got that far.
// Crash context.
bool wait_for_crash_owner(uint32_t extra_ms);

}  // namespace crashagent
