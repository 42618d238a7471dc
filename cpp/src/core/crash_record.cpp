// SPDX-License-Identifier: Apache-2.0
// Crash context throughout: every function in this file may run in a fault handler.
#include "core/crash_record.h"

#include "core/writer.h"

namespace crashagent {

namespace {

// Runtime and OS modules: a frame in one of them is not where a bug lives, so the signature and
// the reported module skip them (a crash in memcpy is grouped by its caller).
// Linux names match up to ".so" (libstdc++.so.6.0.30 is libstdc++); glibc before 2.34 also
// names its files with the version (libc-2.31.so, ld-2.31.so), matched by kVersionedGlibc.
const char* const kSystemModules[] = {
    // Linux
    "libc.so", "libm.so", "libpthread.so", "libdl.so", "ld-linux-x86-64.so",
    "libstdc++.so", "libgcc_s.so", "linux-vdso.so", "[vdso]",
    // Windows
    "ntdll.dll", "kernel32.dll", "kernelbase.dll", "msvcrt.dll", "ucrtbase.dll",
    "vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll",
};

const char* const kVersionedGlibc[] = {"libc-", "libm-", "libpthread-", "libdl-", "librt-", "ld-"};

// "libc-2.31.so": a stem, a version starting with a digit, ".so" at the end.
bool versioned_glibc(const char* base) {
    size_t n = str_length(base);
    if (n < 4 || !str_equal(base + n - 3, ".so")) return false;
    for (const char* stem : kVersionedGlibc) {
        size_t k = str_length(stem);
        if (str_starts_with(base, stem) && base[k] >= '0' && base[k] <= '9') return true;
    }
    return false;
}

}  // namespace

void record_reset(CrashRecord* r) {
    r->platform = nullptr;
    r->kind = nullptr;
    r->detail = nullptr;
    r->code = r->fault_address = r->pc = r->sp = r->timestamp_ms = r->pid = 0;
    r->origin = "native";
    r->has_fault_address = true;
    r->access = nullptr;
    r->fault_mapped = -1;
    r->stack_overflow = false;
    r->diagnosis[0] = '\0';
    r->no_hs_err = false;
    r->sender_pid = r->sender_uid = -1;
    r->crash_frame = -1;
    r->thread_id = 0;
    r->thread_name[0] = '\0';
    r->java_thread = -1;
    r->thread_state[0] = '\0';
    r->register_count = 0;
    r->frame_count = 0;
    r->module_count = 0;
    r->jvm_code_dropped = 0;
    r->native_method[0] = '\0';
    r->signature[0] = '\0';
    r->signature_text[0] = '\0';
    r->json_path[0] = '\0';
    r->log_path[0] = '\0';
    r->minidump_path[0] = '\0';
    r->note[0] = '\0';
    r->app_context = nullptr;
    r->native_calls = nullptr;
    r->java_note[0] = '\0';
    r->java_note_ready.store(0, std::memory_order_relaxed);
    r->java_native_method[0] = '\0';
    r->dispatch_state.store(static_cast<int>(DispatchState::kNotStarted), std::memory_order_relaxed);
    r->java_frame_count.store(-1, std::memory_order_relaxed);
    r->java_info_ready.store(0, std::memory_order_relaxed);
    r->java_thread_name[0] = '\0';
    for (auto& l : r->listeners) l.state.store(static_cast<int>(ListenerState::kEmpty), std::memory_order_relaxed);
    // Kept: jvm_version and hs_err_path (filled at startup), and other_crashes, which threads that
    // lost the claim may already have written before the owner got here.
}

const char* record_native_method(const CrashRecord& r) {
    if (r.native_method[0]) return r.native_method;
    if (r.java_frame_count.load(std::memory_order_acquire) >= 0 && r.java_native_method[0]) return r.java_native_method;
    return nullptr;
}

const char* record_java_note(const CrashRecord& r) {
    return r.java_note_ready.load(std::memory_order_acquire) && r.java_note[0] ? r.java_note : nullptr;
}

int record_find_module(const CrashRecord& r, uint64_t address) {
    for (int i = 0; i < r.module_count; i++) {
        if (address >= r.modules[i].base && address < r.modules[i].end) return i;
    }
    return -1;
}

bool is_system_module(const char* path) {
    const char* base = path_basename(path);
    if (!base) return false;
    if (versioned_glibc(base)) return true;
    for (const char* name : kSystemModules) {
        if (str_equal_nocase(base, name)) return true;
        // "libc.so" also matches "libc.so.6", not "libc.so_other" or "libcrypto.so".
        size_t n = str_length(name);
        if (n > 3 && str_equal(name + n - 3, ".so") && str_starts_with(base, name) && base[n] == '.') return true;
    }
    return false;
}

bool is_jvm_module(const char* path) {
    const char* base = path_basename(path);
    return base && (str_equal(base, "libjvm.so") || str_equal_nocase(base, "jvm.dll"));
}

// FNV-1a, 64 bit: stable across runs and platforms.
static uint64_t fnv1a(const char* s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= static_cast<unsigned char>(*s);
        h *= 0x100000001b3ull;
    }
    return h;
}

// Crash context.
void record_add_note(CrashRecord* r, const char* a, const char* b, const char* c, const char* d, const char* e,
                     const char* f, const char* g) {
    size_t used = str_length(r->note);
    StringSink note{r->note, sizeof(r->note), used};
    char buffer[64];
    Writer w(buffer, sizeof(buffer), note.sink());
    if (used) w.str("; ");
    w.str(a);
    w.str(b);
    w.str(c);
    w.str(d);
    w.str(e);
    w.str(f);
    w.str(g);
    w.flush();
}

void record_diagnose(CrashRecord* r) {
    StringSink sink{r->diagnosis, sizeof(r->diagnosis), 0};
    char buffer[64];
    Writer w(buffer, sizeof(buffer), sink.sink());
    const char* kind = r->kind ? r->kind : "";
    const char* detail = r->detail ? r->detail : "";
    auto address = [&w](uint64_t a) {
        w.str("0x");
        w.hex(a);
    };
    auto in_module = [&w, r](uint64_t a) {
        int m = record_find_module(*r, a);
        if (m < 0) return;
        w.str(" in ");
        w.str(path_basename(r->modules[m].path));
    };
    const NativeFrame* crash = r->crash_frame >= 0 ? &r->frames[r->crash_frame] : nullptr;
    bool terminate = false;
    for (int i = 0; i < r->frame_count && i < 12; i++) {
        const char* s = r->frames[i].symbol;
        for (const char* p = s; *p && !terminate; p++) terminate = str_starts_with(p, "terminate");
    }
    bool access_fault = str_equal(kind, "SIGSEGV") || str_equal(kind, "EXCEPTION_ACCESS_VIOLATION") ||
                        str_equal(kind, "EXCEPTION_IN_PAGE_ERROR");
    if (str_equal(r->origin, "external")) {
        w.str("signal ");
        w.str(kind);
        w.str(" sent by process ");
        w.dec(r->sender_pid);
        w.str(" (uid ");
        w.dec(r->sender_uid);
        w.str("): nothing in this process faulted");
    } else if (r->stack_overflow || str_equal(kind, "EXCEPTION_STACK_OVERFLOW")) {
        w.str("stack overflow: thread ");
        w.str(r->thread_name[0] ? r->thread_name : "?");
        w.str(" ran out of stack (deep or unbounded recursion, or a large local array)");
    } else if (str_equal(kind, "SIGABRT")) {
        // The JVM between abort() and the library: the JVM stopped the process (a failed JNI
        // check, a guarantee), not the library itself.
        bool jvm_aborted = str_equal(r->origin, "jvm");
        for (int i = 0; crash && i < r->crash_frame && !jvm_aborted; i++) {
            int m = r->frames[i].module;
            jvm_aborted = m >= 0 && is_jvm_module(r->modules[m].path);
        }
        if (jvm_aborted) {
            w.str("the JVM aborted the process (a fatal error inside the VM, such as a -Xcheck:jni check)");
            if (r->native_method[0]) {
                w.str(" while ");
                w.str(r->native_method);
                w.str(" was running");
            }
        } else if (terminate) {
            w.str("uncaught C++ exception (std::terminate)");
            if (crash && crash->module >= 0) {
                w.str(" in ");
                w.str(path_basename(r->modules[crash->module].path));
            }
        } else {
            w.str("abort() called");
            if (crash && crash->module >= 0) {
                w.str(" by ");
                w.str(path_basename(r->modules[crash->module].path));
            }
            w.str(" (SIGABRT)");
        }
    } else if (access_fault && !r->has_fault_address && r->sender_pid < 0) {
        w.str("access through a wild pointer (a non-canonical address; the CPU does not say which)");
    } else if (access_fault && r->has_fault_address) {
        uint64_t a = r->fault_address;
        if (str_equal(r->access, "execute") || (a == r->pc && a != 0)) {
            if (r->fault_mapped == 0) {
                w.str("call or jump to unmapped address ");
                address(a);
                w.str(" (a bad function pointer or a corrupted return address)");
            } else {
                w.str("execution of non-executable memory at ");
                address(a);
                in_module(a);
            }
        } else if (a < 0x10000) {
            w.str("null pointer dereference");
            if (r->access) {
                w.str(" (");
                w.str(r->access);
                if (a) {
                    w.str(" at address ");
                    address(a);
                    w.str(", offset ");
                    w.udec(a);
                    w.str(" from null");
                }
                w.ch(')');
            } else if (a) {
                w.str(" (address ");
                address(a);
                w.str(", offset ");
                w.udec(a);
                w.str(" from null)");
            }
        } else if (str_equal(r->access, "write") && r->fault_mapped == 1) {
            w.str("write to read-only memory at ");
            address(a);
            in_module(a);
        } else if (r->fault_mapped == 0 || str_equal(detail, "SEGV_MAPERR")) {
            w.str("access to unmapped memory at ");
            address(a);
            w.str(" (a wild or dangling pointer)");
        } else {
            w.str("access to protected memory at ");
            address(a);
            in_module(a);
        }
    } else if (str_equal(kind, "SIGBUS")) {
        if (str_equal(detail, "BUS_ADRALN")) {
            w.str("misaligned memory access");
        } else {
            w.str("access to a mapped file beyond its end, or to memory the system could not provide");
        }
        if (r->has_fault_address) {
            w.str(" at ");
            address(r->fault_address);
        }
    } else if (str_equal(detail, "FPE_INTDIV") || str_equal(kind, "EXCEPTION_INT_DIVIDE_BY_ZERO")) {
        w.str("integer division by zero");
    } else if (str_equal(detail, "FPE_INTOVF") || str_equal(kind, "EXCEPTION_INT_OVERFLOW")) {
        w.str("integer overflow in a division (INT_MIN / -1)");
    } else if (str_equal(kind, "SIGTRAP")) {
        // aarch64: __builtin_trap() and compiler-placed checks are brk instructions.
        w.str("breakpoint trap (a brk instruction, such as __builtin_trap or a check the compiler placed)");
    } else if (str_equal(kind, "SIGILL") || str_equal(kind, "EXCEPTION_ILLEGAL_INSTRUCTION")) {
        w.str("illegal instruction (a trap the compiler placed, such as __builtin_trap, or code for another CPU)");
    } else if (str_equal(kind, "EXCEPTION_PRIV_INSTRUCTION")) {
        w.str("privileged instruction executed in user mode");
    } else {
        w.str(kind);
        if (*detail) {
            w.str(" (");
            w.str(detail);
            w.ch(')');
        }
    }
    if (r->has_fault_address == false && r->sender_pid >= 0 && !str_equal(r->origin, "external") &&
        !str_equal(kind, "SIGABRT")) {
        w.str(", raised by the process itself");
    }
    w.flush();
}

// The signature is made of the top three frames outside system modules and
// JIT code (module basename + offset, like a Watson bucket) and the Java native method that
// entered the library, so the same bug groups together across machines running the same build.
void record_compute_signature(CrashRecord* r) {
    StringSink sink{r->signature_text, sizeof(r->signature_text), 0};
    char buffer[128];
    Writer w(buffer, sizeof(buffer), sink.sink());
    r->crash_frame = -1;
    int used = 0;
    // The JVM's own frames are left out too, as long as another module is on the stack: a JNI
    // library that fails a -Xcheck:jni check (or passes a bad handle) crashes inside the JVM, and
    // JVM offsets change with every JDK build. Above the library the JVM again (its call stub)
    // ends the walk: what called the JVM (the launcher) is not where the bug is. A crash with
    // JVM frames only keeps them.
    for (int pass = 0; pass < 2 && used == 0; pass++) {
        for (int i = 0; i < r->frame_count && used < 3; i++) {
            const NativeFrame& f = r->frames[i];
            // Frames outside any module (JIT code, stubs) have no stable address: leave them out.
            if (f.module < 0) continue;
            const char* path = r->modules[f.module].path;
            if (pass == 0 && is_jvm_module(path)) {
                if (used) break;
                continue;
            }
            if (is_system_module(path)) continue;
            if (r->crash_frame < 0) r->crash_frame = i;
            if (used++) w.ch('|');
            w.str(path_basename(path));
            w.str("+0x");
            w.hex(f.pc - r->modules[f.module].base);
        }
    }
    if (r->crash_frame < 0 && r->frame_count > 0) r->crash_frame = 0;
    if (r->native_method[0]) {
        if (used) w.ch('|');
        w.str("java:");
        w.str(r->native_method);
    }
    if (used == 0 && !r->native_method[0]) {
        w.str(r->kind);
    }
    w.flush();
    if (str_equal(r->origin, "external")) {
        // A signal another process sent says nothing about the code it interrupted: such
        // reports group by the signal alone, apart from every real crash.
        sink.length = 0;
        Writer e(buffer, sizeof(buffer), sink.sink());
        e.str("external:");
        e.str(r->kind);
        e.flush();
    }

    StringSink sig{r->signature, sizeof(r->signature), 0};
    char buf2[32];
    Writer s(buf2, sizeof(buf2), sig.sink());
    s.hex(fnv1a(r->signature_text), 16);
    s.flush();
}

}  // namespace crashagent
