// SPDX-License-Identifier: Apache-2.0
#include "jvm/call_thunks.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <initializer_list>
#include <new>

#include "core/native_calls.h"
#include "platform.h"

namespace crashagent {
namespace jvm {

namespace {

struct ThreadState {
    ThreadRing* ring;
};
thread_local ThreadState t_state{nullptr};

// A ring for a thread's first traced call: zeroed, 64-byte aligned, never freed (the crash path
// may read it at any time; a thread that ends leaves it to the next).
void* allocate_ring(size_t size) {
    constexpr size_t kAlignment = 64;
    uint8_t* raw = new (std::nothrow) uint8_t[size + kAlignment]();
    if (!raw) return nullptr;
    return raw + (kAlignment - reinterpret_cast<uintptr_t>(raw) % kAlignment) % kAlignment;
}

// What stub i jumps through: {method index, original entry point}. Written before the stub's
// address goes to the JVM, which publishes the entry point to callers with its own barriers.
uint64_t g_stub_data[kTracedMethods][2];

constexpr size_t kStubSize = 16;
uint8_t* g_code = nullptr;     // common body, then kTracedMethods stubs
size_t g_code_size = 0;
uint8_t* g_stubs = nullptr;

}  // namespace

}  // namespace jvm
}  // namespace crashagent

// Called by the common body of the stubs, with the platform's C calling convention.
extern "C" void crashagent_record_native_call(uint64_t method, uint64_t slot0, uint64_t slot1, uint64_t slot2) {
    using namespace crashagent;
    jvm::ThreadState& s = jvm::t_state;
    if (!s.ring) s.ring = native_calls_claim_ring(platform::current_thread_id(), &jvm::allocate_ring);
    native_calls_record(s.ring, method, slot0, slot1, slot2);
}

namespace crashagent {
namespace jvm {

namespace {

#if defined(__x86_64__)
struct Code {
    uint8_t* p;
    void bytes(std::initializer_list<uint8_t> list) {
        for (uint8_t b : list) *p++ = b;
    }
    void u64(uint64_t v) {
        memcpy(p, &v, 8);
        p += 8;
    }
    void u32(uint32_t v) {
        memcpy(p, &v, 4);
        p += 4;
    }
};

// The body every stub jumps to, with r11 pointing at the stub's {method, original}. It saves the
// argument registers (integer and vector) and r11, calls the recorder, restores them all and
// jumps to the original through [r11 + 8], so the original runs with its caller's return address
// on top of the stack, as if called directly. r10 and r11 carry no arguments on either ABI.
void emit_common(Code& c) {
#if defined(_WIN32)
    // Win64: arguments in rcx, rdx, r8, r9, xmm0-3, then the stack above 32 bytes of shadow space.
    c.bytes({0x4C, 0x8B, 0x54, 0x24, 0x28});            // mov r10, [rsp+40]: the 5th argument (3rd slot)
    c.bytes({0x41, 0x53, 0x51, 0x52, 0x41, 0x50, 0x41, 0x51, 0x50});  // push r11, rcx, rdx, r8, r9, rax
    c.bytes({0x48, 0x83, 0xEC, 0x68});                  // sub rsp, 104: xmm0-3, shadow space, alignment
    for (int i = 0; i < 4; i++) c.bytes({0xF3, 0x0F, 0x7F, static_cast<uint8_t>(0x44 | i << 3), 0x24,
                                         static_cast<uint8_t>(0x20 + 16 * i)});  // movdqu [rsp+32+16i], xmmi
    c.bytes({0x49, 0x8B, 0x0B});                        // mov rcx, [r11]: method
    c.bytes({0x4C, 0x89, 0xC2});                        // mov rdx, r8
    c.bytes({0x4D, 0x89, 0xC8});                        // mov r8, r9
    c.bytes({0x4D, 0x89, 0xD1});                        // mov r9, r10
    c.bytes({0x48, 0xB8});                              // mov rax, recorder
    c.u64(reinterpret_cast<uint64_t>(&crashagent_record_native_call));
    c.bytes({0xFF, 0xD0});                              // call rax
    for (int i = 0; i < 4; i++) c.bytes({0xF3, 0x0F, 0x6F, static_cast<uint8_t>(0x44 | i << 3), 0x24,
                                         static_cast<uint8_t>(0x20 + 16 * i)});  // movdqu xmmi, [rsp+32+16i]
    c.bytes({0x48, 0x83, 0xC4, 0x68});                  // add rsp, 104
    c.bytes({0x58, 0x41, 0x59, 0x41, 0x58, 0x5A, 0x59, 0x41, 0x5B});  // pop rax, r9, r8, rdx, rcx, r11
#else
    // SysV: arguments in rdi, rsi, rdx, rcx, r8, r9, xmm0-7; al holds the vector count of a
    // variadic call.
    c.bytes({0x41, 0x53, 0x57, 0x56, 0x52, 0x51, 0x41, 0x50, 0x41, 0x51, 0x50});  // push r11, rdi, rsi, rdx, rcx, r8, r9, rax
    c.bytes({0x48, 0x81, 0xEC, 0x88, 0x00, 0x00, 0x00}); // sub rsp, 136: xmm0-7 and alignment
    for (int i = 0; i < 8; i++) c.bytes({0xF3, 0x0F, 0x7F, static_cast<uint8_t>(0x44 | i << 3), 0x24,
                                         static_cast<uint8_t>(16 * i)});  // movdqu [rsp+16i], xmmi
    c.bytes({0x49, 0x8B, 0x3B});                        // mov rdi, [r11]: method
    c.bytes({0x48, 0x89, 0xD6});                        // mov rsi, rdx
    c.bytes({0x48, 0x89, 0xCA});                        // mov rdx, rcx
    c.bytes({0x4C, 0x89, 0xC1});                        // mov rcx, r8
    c.bytes({0x48, 0xB8});                              // mov rax, recorder
    c.u64(reinterpret_cast<uint64_t>(&crashagent_record_native_call));
    c.bytes({0xFF, 0xD0});                              // call rax
    for (int i = 0; i < 8; i++) c.bytes({0xF3, 0x0F, 0x6F, static_cast<uint8_t>(0x44 | i << 3), 0x24,
                                         static_cast<uint8_t>(16 * i)});  // movdqu xmmi, [rsp+16i]
    c.bytes({0x48, 0x81, 0xC4, 0x88, 0x00, 0x00, 0x00}); // add rsp, 136
    c.bytes({0x58, 0x41, 0x59, 0x41, 0x58, 0x59, 0x5A, 0x5E, 0x5F, 0x41, 0x5B});  // pop rax, r9, r8, rcx, rdx, rsi, rdi, r11
#endif
    c.bytes({0x41, 0xFF, 0x63, 0x08});                  // jmp [r11+8]
}
#elif defined(__aarch64__)
// AArch64 (AAPCS64): arguments in x0-x7 and v0-v7, x8 the indirect result address, x30 the return
// address. x16 and x17 (IP0/IP1) carry no argument: x16 holds the stub's {method, original}, x17
// the branch targets. sp stays 16-byte aligned.
struct Code {
    uint32_t* p;
    void op(uint32_t instruction) { *p++ = instruction; }
};

constexpr uint32_t kSp = 31;
uint32_t stp_x(uint32_t t, uint32_t t2, int offset) { return 0xA9000000 | (static_cast<uint32_t>(offset / 8) << 15) | (t2 << 10) | (kSp << 5) | t; }
uint32_t ldp_x(uint32_t t, uint32_t t2, int offset) { return 0xA9400000 | (static_cast<uint32_t>(offset / 8) << 15) | (t2 << 10) | (kSp << 5) | t; }
uint32_t stp_q(uint32_t t, uint32_t t2, int offset) { return 0xAD000000 | (static_cast<uint32_t>(offset / 16) << 15) | (t2 << 10) | (kSp << 5) | t; }
uint32_t ldp_q(uint32_t t, uint32_t t2, int offset) { return 0xAD400000 | (static_cast<uint32_t>(offset / 16) << 15) | (t2 << 10) | (kSp << 5) | t; }
uint32_t mov_x(uint32_t d, uint32_t m) { return 0xAA0003E0 | (m << 16) | d; }  // orr xd, xzr, xm
uint32_t ldr_x(uint32_t t, uint32_t n, int offset) { return 0xF9400000 | (static_cast<uint32_t>(offset / 8) << 10) | (n << 5) | t; }

constexpr int kFrame = 224;  // x0-x8, x16, x30 (96 bytes with padding), q0-q7 (128 bytes)

void emit_common(Code& c) {
    c.op(0xD1000000 | (kFrame << 10) | (kSp << 5) | kSp);  // sub sp, sp, #224
    c.op(stp_x(0, 1, 0));
    c.op(stp_x(2, 3, 16));
    c.op(stp_x(4, 5, 32));
    c.op(stp_x(6, 7, 48));
    c.op(stp_x(8, 16, 64));
    c.op(stp_x(30, 30, 80));                             // x30 (twice: one pair, 16 bytes)
    for (uint32_t i = 0; i < 8; i += 2) c.op(stp_q(i, i + 1, 96 + 16 * static_cast<int>(i)));
    c.op(mov_x(1, 2));                                   // the argument slots: x2, x3, x4
    c.op(mov_x(2, 3));
    c.op(mov_x(3, 4));
    c.op(ldr_x(0, 16, 0));                               // method
    uint32_t* literal_load = c.p;
    c.op(0);                                             // ldr x17, recorder (patched below)
    c.op(0xD63F0000 | (17 << 5));                        // blr x17
    for (uint32_t i = 0; i < 8; i += 2) c.op(ldp_q(i, i + 1, 96 + 16 * static_cast<int>(i)));
    c.op(ldp_x(30, 17, 80));                             // x30 (x17 is scratch)
    c.op(ldp_x(8, 16, 64));
    c.op(ldp_x(6, 7, 48));
    c.op(ldp_x(4, 5, 32));
    c.op(ldp_x(2, 3, 16));
    c.op(ldp_x(0, 1, 0));
    c.op(0x91000000 | (kFrame << 10) | (kSp << 5) | kSp);  // add sp, sp, #224
    c.op(ldr_x(17, 16, 8));                              // the original
    c.op(0xD61F0000 | (17 << 5));                        // br x17
    if (reinterpret_cast<uintptr_t>(c.p) % 8) c.op(0xD503201F);  // nop: the literal 8-byte aligned
    uint32_t words = static_cast<uint32_t>(c.p - literal_load);
    *literal_load = 0x58000000 | (words << 5) | 17;     // ldr x17, <literal>
    uint64_t recorder = reinterpret_cast<uint64_t>(&crashagent_record_native_call);
    memcpy(c.p, &recorder, 8);
    c.p += 2;
}
#endif

}  // namespace

bool call_thunks_init(char* error, size_t error_capacity) {
#if defined(__x86_64__)
    constexpr size_t kCommonSize = 256;
    size_t size = kCommonSize + kTracedMethods * kStubSize;
    uint8_t* code = static_cast<uint8_t*>(platform::exec_memory_reserve(size, error, error_capacity));
    if (!code) return false;
    Code c{code};
    emit_common(c);
    uint8_t* stubs = code + kCommonSize;
    for (size_t i = 0; i < kTracedMethods; i++) {
        Code s{stubs + i * kStubSize};
        s.bytes({0x49, 0xBB});                          // mov r11, &g_stub_data[i]
        s.u64(reinterpret_cast<uint64_t>(&g_stub_data[i]));
        s.bytes({0xE9});                                // jmp common
        s.u32(static_cast<uint32_t>(code - (s.p + 4)));
        s.bytes({0xCC});                                // int3: never reached
    }
    if (!platform::exec_memory_seal(code, size, error, error_capacity)) return false;
    g_code = code;
    g_code_size = size;
    g_stubs = stubs;
    return true;
#elif defined(__aarch64__)
    constexpr size_t kCommonSize = 256;
    size_t size = kCommonSize + kTracedMethods * kStubSize;
    uint8_t* code = static_cast<uint8_t*>(platform::exec_memory_reserve(size, error, error_capacity));
    if (!code) return false;
    Code c{reinterpret_cast<uint32_t*>(code)};
    emit_common(c);
    uint8_t* stubs = code + kCommonSize;
    for (size_t i = 0; i < kTracedMethods; i++) {
        Code s{reinterpret_cast<uint32_t*>(stubs + i * kStubSize)};
        s.op(0x58000000 | (2 << 5) | 16);               // ldr x16, <literal at +8>: &g_stub_data[i]
        int64_t words = (reinterpret_cast<int64_t>(code) - reinterpret_cast<int64_t>(s.p)) / 4;
        s.op(0x14000000 | (static_cast<uint32_t>(words) & 0x3FFFFFF));  // b common
        uint64_t data = reinterpret_cast<uint64_t>(&g_stub_data[i]);
        memcpy(s.p, &data, 8);
    }
    if (!platform::exec_memory_seal(code, size, error, error_capacity)) return false;
    // The data cache to the point of unification, then the instruction cache: AArch64 does not
    // keep them coherent for code written as data.
    __builtin___clear_cache(reinterpret_cast<char*>(code), reinterpret_cast<char*>(code + size));
    g_code = code;
    g_code_size = size;
    g_stubs = stubs;
    return true;
#else
    snprintf(error, error_capacity, "no entry thunks for this CPU");
    return false;
#endif
}

void* call_thunk_for(int method, void* original) {
    if (!g_stubs || method < 0 || static_cast<size_t>(method) >= kTracedMethods) return nullptr;
    g_stub_data[method][0] = static_cast<uint64_t>(method);
    g_stub_data[method][1] = reinterpret_cast<uint64_t>(original);
    std::atomic_thread_fence(std::memory_order_release);
    return g_stubs + static_cast<size_t>(method) * kStubSize;
}

bool is_call_thunk(const void* address) {
    const uint8_t* a = static_cast<const uint8_t*>(address);
    return g_code && a >= g_code && a < g_code + g_code_size;
}

void call_thunks_thread_end() {
    ThreadState& s = t_state;
    s.ring = native_calls_release_ring(s.ring);
}

}  // namespace jvm
}  // namespace crashagent
