// SPDX-License-Identifier: Apache-2.0
// The platform facade: what core and the JVMTI glue need from the OS. Implemented once per OS
// in cpp/src/posix/ and cpp/src/windows/; each backend is compiled only for its own OS.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/options.h"

namespace crashagent {
namespace platform {

using FileHandle = intptr_t;
constexpr FileHandle kInvalidFile = -1;

// --- Crash context: async-signal-safe (POSIX) / usable from a VEH (Windows). ---

// Creates a new file (fails if it exists, never follows a final symlink), mode 0600.
FileHandle file_create_exclusive(const char* path);
bool file_write(FileHandle file, const char* data, size_t len);
bool file_close(FileHandle file);  // false when a deferred write failed.
bool file_rename(const char* from, const char* to);  // replaces to.
void file_remove(const char* path);
bool file_exists(const char* path);
void stderr_write(const char* text);
FileHandle stderr_file();  // the process's stderr, or kInvalidFile.
// What the last failed file call above ran into, in words ("no space left on device", ...).
const char* last_error_text();
// Unpredictable bits for file names (POSIX: getrandom; Windows: a mix of counters, since reports
// go to per-user directories there).
uint64_t random_u64();
uint64_t now_ms();  // wall clock, ms since the epoch.
uint64_t monotonic_ms();
uint64_t monotonic_ns();
uint64_t process_id();
uint64_t current_thread_id();
void sleep_ms(uint32_t ms);
extern const char kPathSeparator;

// Dispatcher hand-off. The crashing thread wakes the dispatcher and waits for it, bounded.
void dispatcher_wake();
enum class DispatchWait { kDone, kProgress, kTimedOut };
// Waits for the dispatcher to finish, or to report that a listener finished.
DispatchWait dispatcher_wait(uint32_t timeout_ms);
// The dispatcher is done (also sent for it by a crashing listener, and at VMDeath).
void dispatcher_signal_done();

// A fallback directory for when the report directory fails at crash time: the temp directory
// (POSIX: $TMPDIR when it is an absolute directory, else /tmp; Windows: GetTempPath), fixed at
// resolve_report_dir so the crash path only reads it. Crash context after that.
const char* fallback_report_dir();

// --- Normal context. ---

// Prepares the hand-off channel; false with a message on failure.
bool dispatcher_channel_open(char* error, size_t error_capacity);
// Blocks the dispatcher thread until a crash wakes it; false when asked to stop (VM death) or
// when the channel failed.
bool dispatcher_wait_for_crash();
// A listener started or finished: the crashing thread puts that into the report on disk.
void dispatcher_signal_progress();
// The dispatcher's answer to a stop request; its own channel, so a crash racing VM death still
// gets its done signal.
void dispatcher_signal_stopped();
// Asks the dispatcher to return, and waits for it up to timeout_ms: HotSpot's exit waits up to
// 300 ms for every thread still in native code, which a dispatcher blocked in a read would be.
void dispatcher_request_stop(uint32_t timeout_ms);

// An address inside the JVM library (libjvm.so / jvm.dll), so the backend can find the JVM's
// signal entry point and code range even when the JVM was loaded privately.
void note_jvm_address(const void* address);

// Installs the crash handlers (signals / VEH + UEF); false with a message on failure.
bool install_crash_handlers(const Options& options, char* error, size_t error_capacity);
// Removes them, restoring what was there if it is still ours to restore.
void uninstall_crash_handlers();

// Memory for generated code, W^X: exec_memory_reserve gives read-write pages, exec_memory_seal
// makes them read-execute for good. Null / false with a message when the system refuses
// executable memory (SELinux execmem, Windows Arbitrary Code Guard).
void* exec_memory_reserve(size_t size, char* error, size_t error_capacity);
bool exec_memory_seal(void* memory, size_t size, char* error, size_t error_capacity);

// Per-thread preparation so a stack overflow can still be reported (alternate signal stack,
// stack guarantee). Called on the thread itself.
void prepare_current_thread();
void release_current_thread();

// Checks that reports can be written to dir ("" = working directory); false with a message.
bool check_report_dir(const char* dir, char* error, size_t error_capacity);
// Absolute form of the report directory, for reports and the Java API.
void resolve_report_dir(const char* dir, char* out, size_t capacity);
// Default hs_err path of this process (-XX:ErrorFile honoured where it can be read).
void expected_hs_err_path(char* out, size_t capacity);
// At the crash: where the JVM will really write hs_err, given what can be written now; empty when
// nowhere. Leaves out empty when it was (not a JVM). Crash context.
void hs_err_path_at_crash(char* out, size_t capacity);

}  // namespace platform
}  // namespace crashagent
