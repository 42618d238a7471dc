// SPDX-License-Identifier: Apache-2.0
#include "core/thread_registry.h"

#include <atomic>

namespace crashagent {

namespace {

constexpr int kSlots = 8192;

struct Slot {
    std::atomic<uint64_t> thread_id;   // 0 = free
    std::atomic<void*> handle;
};

Slot g_slots[kSlots];

}  // namespace

void thread_registry_add(uint64_t thread_id, void* handle) {
    // Open addressing; a thread id is added once, by its own thread.
    for (int probe = 0; probe < kSlots; probe++) {
        Slot& s = g_slots[(thread_id + static_cast<uint64_t>(probe)) % kSlots];
        uint64_t expected = 0;
        if (s.thread_id.load(std::memory_order_relaxed) == 0 &&
            s.thread_id.compare_exchange_strong(expected, UINT64_MAX, std::memory_order_acq_rel)) {
            s.handle.store(handle, std::memory_order_relaxed);
            s.thread_id.store(thread_id, std::memory_order_release);
            return;
        }
    }
    // Table full (over 8192 live Java threads): the thread is reported as a non-Java thread.
}

void* thread_registry_remove(uint64_t thread_id) {
    for (Slot& s : g_slots) {
        if (s.thread_id.load(std::memory_order_acquire) == thread_id) {
            void* handle = s.handle.exchange(nullptr, std::memory_order_acq_rel);
            s.thread_id.store(0, std::memory_order_release);
            return handle;
        }
    }
    return nullptr;
}

// Scans every slot: freed slots leave gaps in probe runs, and a full scan
// costs microseconds, paid only on a crash.
void* thread_registry_find(uint64_t thread_id) {
    for (Slot& s : g_slots) {
        if (s.thread_id.load(std::memory_order_acquire) == thread_id) return s.handle.load(std::memory_order_acquire);
    }
    return nullptr;
}

}  // namespace crashagent
