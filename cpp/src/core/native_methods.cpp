// SPDX-License-Identifier: Apache-2.0
#include "core/native_methods.h"

#include <atomic>

#include "core/writer.h"

namespace crashagent {

namespace {

constexpr int kCapacity = 4096;

struct Entry {
    std::atomic<uint64_t> address;   // 0 until name is written (release)
    char name[kNameCapacity];
};

Entry g_entries[kCapacity];
std::atomic<int> g_count{0};
std::atomic<uint64_t> g_dropped{0};

// Crash context.
const char* lookup(uint64_t address) {
    int n = g_count.load(std::memory_order_acquire);
    if (n > kCapacity) n = kCapacity;
    // Newest first: a re-bound method (RegisterNatives again) wins over its old address.
    for (int i = n - 1; i >= 0; i--) {
        if (g_entries[i].address.load(std::memory_order_acquire) == address) return g_entries[i].name;
    }
    return nullptr;
}

}  // namespace

void native_methods_add(uint64_t address, const char* name) {
    if (address == 0) return;
    int slot = g_count.fetch_add(1, std::memory_order_acq_rel);
    if (slot >= kCapacity) {
        g_count.store(kCapacity, std::memory_order_release);
        g_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    str_copy(g_entries[slot].name, sizeof(g_entries[slot].name), name);
    g_entries[slot].address.store(address, std::memory_order_release);
}

uint64_t native_methods_dropped() { return g_dropped.load(std::memory_order_relaxed); }

void native_methods_resolve(CrashRecord* r) {
    for (int i = r->frame_count - 1; i >= 0; i--) {
        const NativeFrame& f = r->frames[i];
        if (!f.symbol[0]) continue;
        const char* name = lookup(f.pc - f.symbol_offset);
        if (name) {
            str_copy(r->native_method, sizeof(r->native_method), name);
            return;
        }
    }
}

void native_methods_clear() {
    for (auto& e : g_entries) e.address.store(0, std::memory_order_relaxed);
    g_count.store(0, std::memory_order_relaxed);
    g_dropped.store(0, std::memory_order_relaxed);
}

}  // namespace crashagent
