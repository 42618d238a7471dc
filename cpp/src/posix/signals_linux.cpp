// SPDX-License-Identifier: Apache-2.0
// Linux crash handlers. They sit on top of the JVM's own handlers and ask the JVM first
// (JVM_handle_linux_signal with abort_if_unrecognized = 0): everything the JVM handles itself
// (implicit null checks, safepoint polls, stack banging, SafeFetch, ...) returns at once.
// Only what the JVM does not recognise is a crash: it is reported, then handed to the saved
// JVM handler, which writes hs_err and aborts exactly as without the agent.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <unwind.h>

#include <atomic>

#include "core/crash_flow.h"
#include "core/jvm_code.h"
#include "core/native_calls.h"
#include "core/native_methods.h"
#include "core/writer.h"
#include "platform.h"
#include "posix/aarch64_fault.h"
#include "posix/modules_linux.h"

namespace crashagent {
namespace platform {

namespace {

using JvmSignalHandler = int (*)(int, siginfo_t*, void*, int);
using FindObject = int (*)(void*, void*);  // glibc 2.35+ _dl_find_object, lock-free

const int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};

JvmSignalHandler g_jvm_handler = nullptr;   // JVM_handle_linux_signal, when the JVM exports it
bool g_chained_by_libjsig = false;          // libjsig keeps the JVM's handlers; ours runs chained
const void* g_jvm_hint = nullptr;           // an address inside libjvm, from the JVMTI glue
uint64_t g_libjvm_start = 0, g_libjvm_end = 0;
FindObject g_find_object = nullptr;
struct sigaction g_saved[NSIG];
std::atomic<int> g_ours[NSIG];

// Recovery point for faults inside the crash path itself (a corrupt stack under the unwinder).
sigjmp_buf g_recover;
std::atomic<int> g_recover_armed{0};

#if defined(__aarch64__)
constexpr const char* kPlatform = "linux-aarch64";
// The kernel's signal frame holds the FP/SIMD state, and the SVE/SME state where the CPU has it:
// kilobytes more than on x86-64. Used when the kernel does not say (AT_MINSIGSTKSZ, Linux 4.18+).
constexpr uint64_t kDefaultSignalFrame = 16384;
#else
constexpr const char* kPlatform = "linux-x86_64";
constexpr uint64_t kDefaultSignalFrame = 8192;
#endif
constexpr uint64_t kMinSignalFrame = 2048;       // below any real signal frame: a bogus auxv value
constexpr uint64_t kMaxSignalFrame = 1 << 20;    // above any real one: keep the stacks' size sane
uint64_t g_signal_frame_size = kDefaultSignalFrame;  // AT_MINSIGSTKSZ when the kernel tells it
constexpr size_t kAltStackWork = 256 * 1024;  // the report and hs_err printing run on it too
size_t g_alt_stack_size = kAltStackWork + kDefaultSignalFrame;
thread_local void* t_alt_stack = nullptr;
thread_local size_t t_alt_stack_mapped = 0;
constexpr uint64_t kAbortHoldMs = 60000;  // a later abort() waits this long for the owner's hs_err

// Crash context.
const char* signal_name(int sig) {
    switch (sig) {
        case SIGSEGV: return "SIGSEGV";
        case SIGBUS: return "SIGBUS";
        case SIGILL: return "SIGILL";
        case SIGFPE: return "SIGFPE";
        case SIGABRT: return "SIGABRT";
        case SIGTRAP: return "SIGTRAP";
    }
    return "SIGNAL";
}

// Crash context.
const char* code_name(int sig, int code) {
    if (code == SI_USER) return "SI_USER";
    if (code == SI_TKILL) return "SI_TKILL";
    if (code == SI_QUEUE) return "SI_QUEUE";
    if (code == SI_KERNEL) return "SI_KERNEL";
    switch (sig) {
        case SIGSEGV:
            if (code == SEGV_MAPERR) return "SEGV_MAPERR";
            if (code == SEGV_ACCERR) return "SEGV_ACCERR";
            break;
        case SIGBUS:
            if (code == BUS_ADRALN) return "BUS_ADRALN";
            if (code == BUS_ADRERR) return "BUS_ADRERR";
            if (code == BUS_OBJERR) return "BUS_OBJERR";
            break;
        case SIGILL:
            if (code == ILL_ILLOPC) return "ILL_ILLOPC";
            if (code == ILL_ILLOPN) return "ILL_ILLOPN";
            if (code == ILL_PRVOPC) return "ILL_PRVOPC";
            break;
        case SIGTRAP:
            if (code == TRAP_BRKPT) return "TRAP_BRKPT";
            break;
        case SIGFPE:
            if (code == FPE_INTDIV) return "FPE_INTDIV";
            if (code == FPE_INTOVF) return "FPE_INTOVF";
            if (code == FPE_FLTDIV) return "FPE_FLTDIV";
            break;
    }
    return nullptr;
}

// Crash context.
uint64_t context_pc(const ucontext_t* uc) {
#if defined(__x86_64__)
    return static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

#if defined(__aarch64__)
// Crash context.
uint64_t context_esr(const ucontext_t* uc) {
    return posix::esr_from_signal_records(reinterpret_cast<const unsigned char*>(uc->uc_mcontext.__reserved),
                                          sizeof(uc->uc_mcontext.__reserved));
}
#endif

// Crash context.
void read_registers(CrashRecord* r, const ucontext_t* uc) {
#if defined(__x86_64__)
    static const struct { const char* name; int index; } kRegs[] = {
        {"rax", REG_RAX}, {"rbx", REG_RBX}, {"rcx", REG_RCX}, {"rdx", REG_RDX},
        {"rsi", REG_RSI}, {"rdi", REG_RDI}, {"rbp", REG_RBP}, {"rsp", REG_RSP},
        {"r8", REG_R8},   {"r9", REG_R9},   {"r10", REG_R10}, {"r11", REG_R11},
        {"r12", REG_R12}, {"r13", REG_R13}, {"r14", REG_R14}, {"r15", REG_R15},
        {"rip", REG_RIP}, {"eflags", REG_EFL}, {"trapno", REG_TRAPNO}, {"err", REG_ERR},
    };
    for (const auto& reg : kRegs) {
        r->registers[r->register_count++] = Register{reg.name, static_cast<uint64_t>(uc->uc_mcontext.gregs[reg.index])};
    }
    r->sp = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
    // Named as Sentry and the AAPCS64 name them: x29 is the frame pointer, x30 the link register.
    static const char* const kNames[31] = {
        "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
        "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
        "x22", "x23", "x24", "x25", "x26", "x27", "x28", "fp",  "lr",
    };
    for (int i = 0; i < 31; i++) r->registers[r->register_count++] = Register{kNames[i], uc->uc_mcontext.regs[i]};
    r->registers[r->register_count++] = Register{"sp", uc->uc_mcontext.sp};
    r->registers[r->register_count++] = Register{"pc", uc->uc_mcontext.pc};
    r->registers[r->register_count++] = Register{"pstate", uc->uc_mcontext.pstate};
    uint64_t esr = context_esr(uc);
    if (esr) r->registers[r->register_count++] = Register{"esr", esr};
    r->sp = uc->uc_mcontext.sp;
#else
    (void)r;
    (void)uc;
#endif
}

// Crash context.
void read_thread_name(CrashRecord* r) {
    char path[64];
    StringSink sink{path, sizeof(path), 0};
    char buffer[64];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str("/proc/self/task/");
    w.udec(r->thread_id);
    w.str("/comm");
    w.flush();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, r->thread_name, sizeof(r->thread_name) - 1);
    close(fd);
    if (n <= 0) n = 0;
    while (n > 0 && (r->thread_name[n - 1] == '\n' || r->thread_name[n - 1] == '\0')) n--;
    r->thread_name[n] = '\0';
}

struct UnwindState {
    CrashRecord* record;
    uint64_t fault_pc;
    bool found;
    int skipped;
};

// Crash context in practice: libgcc finds unwind tables with _dl_find_object (lock-free on
// glibc 2.35+) or dl_iterate_phdr (a recursive loader lock, never held by this thread here).
_Unwind_Reason_Code unwind_step(struct _Unwind_Context* context, void* arg) {
    UnwindState* s = static_cast<UnwindState*>(arg);
    int before_insn = 0;
    uint64_t ip = static_cast<uint64_t>(_Unwind_GetIPInfo(context, &before_insn));
    if (!s->found) {
        // Frames of this handler and the signal trampoline come first.
        if (ip != s->fault_pc) return ++s->skipped > 64 ? _URC_END_OF_STACK : _URC_NO_REASON;
        s->found = true;
        return _URC_NO_REASON;  // the fault frame is already frames[0]
    }
    CrashRecord* r = s->record;
    if (r->frame_count >= kMaxNativeFrames || ip == 0) return _URC_END_OF_STACK;
    r->frames[r->frame_count++].pc = ip;
    return _URC_NO_REASON;
}

// Crash context.
void describe_frames(CrashRecord* r) {
    for (int i = 0; i < r->frame_count; i++) {
        NativeFrame& f = r->frames[i];
        // Callers' pcs are return addresses: look up the call instruction, one byte before.
        uint64_t lookup = i == 0 ? f.pc : f.pc - 1;
        f.module = record_find_module(*r, lookup);
        f.symbol[0] = '\0';
        f.symbol_offset = 0;
        if (f.module >= 0) {
            uint64_t offset = 0;
            if (posix::find_symbol(r->modules[f.module].path, r->modules[f.module].base, lookup, f.symbol,
                                   sizeof(f.symbol), &offset)) {
                f.symbol_offset = offset + (f.pc - lookup);
            }
        }
    }
}

void fault_handler(int sig, siginfo_t* info, void* context);
bool pc_belongs_to_jvm(uint64_t pc);
bool stack_exhausted(int sig, const siginfo_t* info, const ucontext_t* uc);

// Crash context.
bool fault_handler_installed(int sig) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) return false;
    return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &fault_handler;
}

// Crash context. A fault just below the interrupted stack pointer means the thread's stack is
// exhausted: the kernel could only deliver this signal because the agent gave the thread an
// alternate signal stack.
bool stack_exhausted(int sig, const siginfo_t* info, const ucontext_t* uc) {
    if (sig != SIGSEGV || !info || !uc) return false;
#if defined(__x86_64__)
    uint64_t sp = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
    uint64_t sp = uc->uc_mcontext.sp;
#else
    uint64_t sp = 0;
#endif
    // The kernel builds the signal frame below the 128-byte red zone; if the faulting page lies
    // where that frame would go, delivery on the thread's own stack was impossible.
    uint64_t addr = reinterpret_cast<uint64_t>(info->si_addr);
    uint64_t frame = 128 + g_signal_frame_size + 4096;
    return sp != 0 && addr < sp + 256 && addr + frame >= sp;
}

// Crash context. Fills the record from the signal and the context, then reports.
void capture_and_report(int sig, siginfo_t* info, ucontext_t* uc, uint64_t thread_id) {
    CrashRecord* r = &g_record;
    record_reset(r);
    native_calls_mark_crash();
    r->platform = kPlatform;
    r->kind = signal_name(sig);
    r->detail = info ? code_name(sig, info->si_code) : nullptr;
    r->code = static_cast<uint64_t>(sig);
    r->fault_address = info ? reinterpret_cast<uint64_t>(info->si_addr) : 0;
    bool sent = info && info->si_code <= 0;  // SI_USER, SI_TKILL, SI_QUEUE, ...: sent, not a fault
    if (sent) {
        // si_addr then overlays the sender's pid and uid: there is no fault address.
        r->has_fault_address = false;
        r->fault_address = 0;
        r->sender_pid = info->si_pid;
        r->sender_uid = info->si_uid;
    }
    r->thread_id = thread_id;
    r->java_thread = classify_java_thread(thread_id);
    if (uc) {
        r->pc = context_pc(uc);
        read_registers(r, uc);
#if defined(__x86_64__)
        // A page fault's error code: bit 1 a write, bit 4 an instruction fetch.
        if (sig == SIGSEGV && !sent && uc->uc_mcontext.gregs[REG_TRAPNO] == 14) {
            uint64_t err = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_ERR]);
            r->access = (err & 16) ? "execute" : (err & 2) ? "write" : "read";
        }
#elif defined(__aarch64__)
        if ((sig == SIGSEGV || sig == SIGBUS) && !sent) r->access = posix::esr_access(context_esr(uc));
#endif
    }
    if (sig == SIGSEGV && info && !sent) r->fault_mapped = info->si_code == SEGV_ACCERR ? 1 : info->si_code == SEGV_MAPERR ? 0 : -1;
    if (sig == SIGSEGV && info && info->si_code == SI_KERNEL) {
        // A general-protection fault (a non-canonical address): the CPU does not say which
        // address, and si_addr is 0, which must not read as a null pointer.
        r->has_fault_address = false;
        r->fault_address = 0;
    }
    read_thread_name(r);
    platform::hs_err_path_at_crash(r->hs_err_path, sizeof(r->hs_err_path));
    posix::read_modules(r);

    r->frames[0].pc = r->pc;
    r->frame_count = 1;
    g_recover_armed.store(1, std::memory_order_release);
    if (sigsetjmp(g_recover, 1) == 0) {
        UnwindState state{r, r->pc, false, 0};
        _Unwind_Backtrace(&unwind_step, &state);
    } else {
        record_add_note(r, "native stack walk faulted; frames are partial");
    }
    if (r->frame_count == 1 && record_find_module(*r, r->pc) < 0 && !jvm_code_contains(r->pc) && r->sp) {
        // A call through a bad pointer lands outside any module, where no unwind tables exist;
        // the caller's return address is still on top of the stack. (Not so in JVM-generated
        // code, which is real code: what is on top of its stack is data.)
        if (sigsetjmp(g_recover, 1) == 0) {
#if defined(__aarch64__)
            uint64_t return_address = uc ? uc->uc_mcontext.regs[30] : 0;  // a call (blr) leaves it in lr
#else
            uint64_t return_address = *reinterpret_cast<const uint64_t*>(r->sp);
#endif
            if (record_find_module(*r, return_address) >= 0) r->frames[r->frame_count++].pc = return_address;
        }
    }
    g_recover_armed.store(0, std::memory_order_release);
    describe_frames(r);
    native_methods_resolve(r);
    jvm_code_resolve(r);

    if (stack_exhausted(sig, info, uc)) {
        r->no_hs_err = true;
        r->stack_overflow = true;
        record_add_note(r, "native stack overflow: without the agent's alternate signal stack the kernel kills the process "
                 "with SIGSEGV and no hs_err, so after this report the agent lets exactly that happen");
    }
    int pc_module = record_find_module(*r, r->pc);
    if (sent && static_cast<uint64_t>(info->si_pid) != static_cast<uint64_t>(getpid())) {
        // kill -SEGV from another process: nothing in this process failed. (abort() and raise()
        // send to their own process: those stay crashes of it.)
        r->origin = "external";
        char pid_text[24];
        StringSink pid_sink{pid_text, sizeof(pid_text), 0};
        char buffer[24];
        Writer w(buffer, sizeof(buffer), pid_sink.sink());
        w.dec(info->si_pid);
        w.flush();
        record_add_note(r, "signal sent by process ", pid_text,
                        " (kill or sigqueue): not a fault of this process; the frames show what it interrupted");
    } else if (sig == SIGABRT && !fault_handler_installed(SIGSEGV)) {
        r->origin = "jvm";  // VMError replaced the handlers: this is the JVM's own fatal error
    } else if (pc_module >= 0 && str_equal(path_basename(r->modules[pc_module].path), "libjvm.so")) {
        r->origin = "jvm";
    }
    // HotSpot handles no SIGABRT: an abort() outside its own fatal-error path (JNI code, glibc's
    // heap checks, std::terminate, -Xcheck:jni's fatal errors) ends the process with no hs_err.
    if (sig == SIGABRT && !str_equal(r->origin, "jvm")) r->no_hs_err = true;
    if (sig == SIGTRAP) r->no_hs_err = true;  // no JVM handler behind it either
    report_crash(r);
}

// Crash context. The signal's default action from now on, so that a re-executed fault or a
// re-raised signal ends the process as it would have without the agent.
void reset_to_default(int sig) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    g_ours[sig].store(0, std::memory_order_relaxed);
}

// Crash context. Hands the signal to what was installed before us. For SIG_DFL the default
// action must happen: a fault re-executes and dies once we return, anything sent is re-raised.
void chain_to_saved(int sig, siginfo_t* info, void* uc) {
    const struct sigaction& old = g_saved[sig];
    if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction) {
        old.sa_sigaction(sig, info, uc);
        return;
    }
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
        old.sa_handler(sig);
        return;
    }
    reset_to_default(sig);
    if (sig == SIGABRT || !info || info->si_code <= 0) raise(sig);
}

struct SignalCrash {
    int sig;
    siginfo_t* info;
    ucontext_t* uc;
    uint64_t thread_id;
};

// Crash context. The owner's capture, for handle_claimed_crash.
void capture_signal_crash(void* context) {
    auto* crash = static_cast<SignalCrash*>(context);
    capture_and_report(crash->sig, crash->info, crash->uc, crash->thread_id);
}

// Crash context. Decides who reports; everyone chains afterwards.
void on_crash(int sig, siginfo_t* info, ucontext_t* uc) {
    // A fault inside the crash path must reach this handler again (and its recovery point): a
    // synchronous signal that arrives blocked kills the process outright. HotSpot's handler
    // unblocks them on JDK 16+, but not the fallback path nor a non-JVM host.
    sigset_t error_signals;
    sigemptyset(&error_signals);
    for (int s : kFaultSignals) sigaddset(&error_signals, s);
    pthread_sigmask(SIG_UNBLOCK, &error_signals, nullptr);

    uint64_t self = current_thread_id();
    SignalCrash crash{sig, info, uc, self};
    CrashClaim claim = handle_claimed_crash(claim_crash(self, static_cast<uint64_t>(sig)), capture_signal_crash, &crash);
    // A fault inside this thread's own crash path goes back to its recovery point; one after the
    // report (e.g. in the JVM's handler) is just passed on.
    if (claim == CrashClaim::kRecursive && g_recover_armed.load(std::memory_order_acquire)) siglongjmp(g_recover, 1);
    if (sig == SIGABRT && self != g_agent.crashing_thread.load(std::memory_order_acquire)) {
        // No JVM handler stands behind SIGABRT to serialise crashes as HotSpot does for faults:
        // re-raising now would kill the process while the owner's hs_err is still being written.
        uint64_t deadline = monotonic_ms() + kAbortHoldMs;
        while (monotonic_ms() < deadline) sleep_ms(50);
    }
}

// Crash context. Handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE.
void fault_handler(int sig, siginfo_t* info, void* context) {
    int saved_errno = errno;
    if (!g_chained_by_libjsig) {
        if (g_jvm_handler) {
            if (g_jvm_handler(sig, info, context, 0)) {
                errno = saved_errno;
                return;
            }
        } else if (g_jvm_hint && context) {
            // No JVM_handle_linux_signal: judge by where the pc is.
            if (pc_belongs_to_jvm(context_pc(static_cast<ucontext_t*>(context)))) {
                chain_to_saved(sig, info, context);
                errno = saved_errno;
                return;
            }
        }
    }
    if (g_agent.installed.load(std::memory_order_acquire)) {
        on_crash(sig, info, static_cast<ucontext_t*>(context));
    }
    if (stack_exhausted(sig, info, static_cast<ucontext_t*>(context))) {
        // Keep the outcome the process would have had without the agent: killed by SIGSEGV.
        reset_to_default(sig);
        errno = saved_errno;
        return;
    }
    if (g_chained_by_libjsig) {
        // The JVM called us as its chained handler and will treat the signal as handled when we
        // return. Unchain, so the re-executed fault reaches the JVM's fatal error path.
        reset_to_default(sig);
    } else {
        chain_to_saved(sig, info, context);
    }
    errno = saved_errno;
}

// Crash context. HotSpot installs no SIGABRT handler: abort() in JNI code, glibc heap
// corruption and std::terminate end here. HotSpot's own abort after hs_err is recognised by the
// report already being written (or by its error handler having replaced ours).
void abort_handler(int sig, siginfo_t* info, void* context) {
    if (g_agent.installed.load(std::memory_order_acquire) && !g_agent.report_done.load(std::memory_order_acquire)) {
        on_crash(sig, info, static_cast<ucontext_t*>(context));
    }
    chain_to_saved(sig, info, context);
}

#if defined(__aarch64__)
// Crash context. aarch64 only: gcc compiles __builtin_trap() (and -fsanitize=...-trap checks)
// to brk, which the kernel delivers as SIGTRAP/TRAP_BRKPT; HotSpot handles no SIGTRAP, so the
// process dies with no hs_err. A brk the thread executed is reported; the re-executed brk then
// ends the process as without the agent. A debugger sees its breakpoints through ptrace before
// any handler runs, so they never get here.
void trap_handler(int sig, siginfo_t* info, void* context) {
    if (info && info->si_code == TRAP_BRKPT && g_agent.installed.load(std::memory_order_acquire) &&
        !g_agent.report_done.load(std::memory_order_acquire)) {
        on_crash(sig, info, static_cast<ucontext_t*>(context));
    }
    chain_to_saved(sig, info, context);
}
#endif

// Normal context. Range of libjvm's mappings, for the fallback check.
void find_libjvm_range(const char* path) {
    FILE* maps = fopen("/proc/self/maps", "re");
    if (!maps) return;
    char line[kPathCapacity + 128];
    while (fgets(line, sizeof(line), maps)) {
        unsigned long start = 0, end = 0;
        char mapped[kPathCapacity];
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %1023s", &start, &end, mapped) == 3 && strcmp(mapped, path) == 0) {
            if (!g_libjvm_start || start < g_libjvm_start) g_libjvm_start = start;
            if (end > g_libjvm_end) g_libjvm_end = end;
        }
    }
    fclose(maps);
}

void find_libjvm() {
    // Test hook: exercise the fallback used on JVMs that do not export JVM_handle_linux_signal.
    bool force_fallback = getenv("CRASHAGENT_TEST_NO_JVM_HANDLER") != nullptr;
    if (!force_fallback) {
        g_jvm_handler = reinterpret_cast<JvmSignalHandler>(dlsym(RTLD_DEFAULT, "JVM_handle_linux_signal"));
    }
    Dl_info info;
    if (g_jvm_hint && dladdr(g_jvm_hint, &info) && info.dli_fname) {
        // An embedding application may have loaded libjvm with RTLD_LOCAL.
        if (!g_jvm_handler && !force_fallback) {
            void* lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
            if (lib) {
                g_jvm_handler = reinterpret_cast<JvmSignalHandler>(dlsym(lib, "JVM_handle_linux_signal"));
                dlclose(lib);
            }
        }
        if (!g_jvm_handler) find_libjvm_range(info.dli_fname);
    }
    if (!g_jvm_handler) {
        g_find_object = reinterpret_cast<FindObject>(dlsym(RTLD_DEFAULT, "_dl_find_object"));
    }
}

// Normal context. True when the installed action is the JVM's own (its handler lives in libjvm).
bool handled_by_jvm(const struct sigaction& action) {
    if (!(action.sa_flags & SA_SIGINFO) || !action.sa_sigaction) return false;
    Dl_info handler, jvm;
    return dladdr(reinterpret_cast<const void*>(action.sa_sigaction), &handler) &&
           dladdr(reinterpret_cast<const void*>(g_jvm_handler), &jvm) && handler.dli_fbase == jvm.dli_fbase;
}

// Crash context. Fallback when the JVM cannot be asked: a pc in libjvm, or in code that no
// loaded file holds (the code cache, stubs), belongs to the JVM.
bool pc_belongs_to_jvm(uint64_t pc) {
    if (pc >= g_libjvm_start && pc < g_libjvm_end) return true;
    if (g_find_object) {
        alignas(16) unsigned char result[256];  // larger than any glibc's struct dl_find_object
        return g_find_object(reinterpret_cast<void*>(pc), result) != 0;
    }
    Dl_info info;  // dladdr takes the loader's recursive lock; only reached on old glibc
    return dladdr(reinterpret_cast<void*>(pc), &info) == 0;
}

}  // namespace

void note_jvm_address(const void* address) { g_jvm_hint = address; }

bool install_crash_handlers(const Options& options, char* error, size_t capacity) {
    (void)error;
    (void)capacity;
    if (options.minidump) {
        stderr_write("crashagent: minidump=true has no effect on Linux; the kernel's core dump covers it "
                     "(ulimit -c, core_pattern)\n");
    }
    find_libjvm();
    if (uint64_t size = getauxval(AT_MINSIGSTKSZ)) {
        g_signal_frame_size = size < kMinSignalFrame ? kMinSignalFrame : size > kMaxSignalFrame ? kMaxSignalFrame : size;
    }
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    g_alt_stack_size = (kAltStackWork + g_signal_frame_size + page - 1) / page * page;
    g_chained_by_libjsig = g_jvm_handler && dlsym(RTLD_DEFAULT, "JVM_get_signal_action") != nullptr;

    struct sigaction ours;
    memset(&ours, 0, sizeof(ours));
    ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    // As HotSpot does: block everything but the synchronous error signals while handling.
    sigfillset(&ours.sa_mask);
    for (int sig : kFaultSignals) sigdelset(&ours.sa_mask, sig);
    sigdelset(&ours.sa_mask, SIGABRT);

    ours.sa_sigaction = &fault_handler;
    for (int sig : kFaultSignals) {
        struct sigaction current;
        sigaction(sig, nullptr, &current);
        if (!g_chained_by_libjsig && g_jvm_handler && !handled_by_jvm(current)) {
            // Someone installed a handler on top of the JVM's (a late attach after a profiler or a
            // runtime using guard pages). The JVM cannot judge that handler's faults, so the agent
            // would report them: stay out of this signal instead.
            Dl_info owner;
            const void* handler = (current.sa_flags & SA_SIGINFO) ? reinterpret_cast<const void*>(current.sa_sigaction)
                                                                  : reinterpret_cast<const void*>(current.sa_handler);
            fprintf(stderr, "crashagent: %s is handled by %s, not by the JVM; the agent does not report %s crashes\n",
                    signal_name(sig), dladdr(handler, &owner) && owner.dli_fname ? owner.dli_fname : "another handler",
                    signal_name(sig));
            continue;
        }
        sigaction(sig, &ours, &g_saved[sig]);
        g_ours[sig].store(1, std::memory_order_release);
    }
    struct sigaction abort_action = ours;
    abort_action.sa_sigaction = &abort_handler;
    sigaction(SIGABRT, &abort_action, &g_saved[SIGABRT]);
    g_ours[SIGABRT].store(1, std::memory_order_release);
#if defined(__aarch64__)
    struct sigaction trap_current;
    if (sigaction(SIGTRAP, nullptr, &trap_current) == 0 && !(trap_current.sa_flags & SA_SIGINFO) &&
        trap_current.sa_handler == SIG_DFL) {
        // Only when nobody handles SIGTRAP: a runtime or tool that does keeps it.
        struct sigaction trap_action = ours;
        trap_action.sa_sigaction = &trap_handler;
        sigaction(SIGTRAP, &trap_action, &g_saved[SIGTRAP]);
        g_ours[SIGTRAP].store(1, std::memory_order_release);
    }
#endif

    g_agent.installed.store(1, std::memory_order_release);
    if (g_chained_by_libjsig) {
        stderr_write("crashagent: libjsig is loaded, so the JVM keeps its signal handlers and calls the agent "
                     "only for faults it does not recognise; crashes are still reported.\n");
    }
    return true;
}

void uninstall_crash_handlers() {
    g_agent.installed.store(0, std::memory_order_release);
    auto restore = [](int sig, void (*mine)(int, siginfo_t*, void*)) {
        struct sigaction current;
        if (!g_ours[sig].load(std::memory_order_acquire)) return;
        // Put the old handler back only if ours is still the one installed; someone who
        // installed on top of us keeps theirs.
        if (sigaction(sig, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == mine) {
            sigaction(sig, &g_saved[sig], nullptr);
        }
        g_ours[sig].store(0, std::memory_order_release);
    };
    for (int sig : kFaultSignals) restore(sig, &fault_handler);
    restore(SIGABRT, &abort_handler);
#if defined(__aarch64__)
    restore(SIGTRAP, &trap_handler);
#endif
}

void prepare_current_thread() {
    stack_t current;
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // has one
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t size = g_alt_stack_size;
    void* mem = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return;
    mprotect(mem, page, PROT_NONE);  // guard page: an overflow of the handler itself faults cleanly
    stack_t alt;
    alt.ss_sp = static_cast<char*>(mem) + page;
    alt.ss_size = size;
    alt.ss_flags = 0;
    if (sigaltstack(&alt, nullptr) != 0) {
        munmap(mem, size + page);
        return;
    }
    t_alt_stack = mem;
    t_alt_stack_mapped = size + page;
}

void release_current_thread() {
    if (!t_alt_stack) return;
    stack_t off;
    memset(&off, 0, sizeof(off));
    off.ss_flags = SS_DISABLE;
    if (sigaltstack(&off, nullptr) == 0) {
        munmap(t_alt_stack, t_alt_stack_mapped);
    }
    t_alt_stack = nullptr;
    t_alt_stack_mapped = 0;
}

}  // namespace platform
}  // namespace crashagent
