// SPDX-License-Identifier: Apache-2.0
#include "core/native_calls.h"

#include <atomic>

#include "core/writer.h"
#include "platform.h"

namespace crashagent {

NativeCallSnapshot g_native_call_snapshot;

namespace {

// A cycle counter: a few ns to read, where a clock_gettime costs about 20. The crash path turns
// ticks into ns with the clock base below and a second pair of readings at the crash.
inline uint64_t ticks() {
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (static_cast<uint64_t>(hi) << 32) | lo;
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

struct Entry {
    std::atomic<uint64_t> sequence;  // 2 * ordinal + 1 while written, 2 * ordinal + 2 when complete
    std::atomic<uint64_t> method;
    std::atomic<uint64_t> thread_id;
    std::atomic<uint64_t> ticks;
    std::atomic<uint64_t> slots[kCallArgs];
};

std::atomic<bool> g_enabled{false};
uint64_t g_base_ticks = 0;
uint64_t g_base_ns = 0;
// The clock when the crashing thread entered the handler: what call times are relative to.
uint64_t g_crash_ticks = 0;
uint64_t g_crash_ns = 0;

TracedMethod g_methods[kTracedMethods];
std::atomic<uint32_t> g_method_count{0};

alignas(64) std::atomic<uint64_t> g_process_head{0};
Entry g_process_ring[kProcessCalls];

}  // namespace

struct alignas(64) ThreadRing {
    std::atomic<uint64_t> owner;     // thread id, 0 = free
    std::atomic<uint64_t> head;      // ordinal of the next entry; only the owner writes
    Entry entries[kThreadCalls];
};

namespace {

ThreadRing g_thread_rings[kCallThreads];
// Where the calls of a thread that found every ring taken go: written, never read.
ThreadRing g_overflow_ring;

}  // namespace

ThreadRing* native_calls_claim_ring(uint64_t thread_id) {
    for (ThreadRing& ring : g_thread_rings) {
        uint64_t free = 0;
        if (ring.owner.load(std::memory_order_relaxed) == 0 &&
            ring.owner.compare_exchange_strong(free, ~0ull, std::memory_order_acquire)) {
            // A ring a dead thread used: its entries must not show as this thread's.
            for (Entry& e : ring.entries) e.sequence.store(0, std::memory_order_relaxed);
            ring.head.store(0, std::memory_order_relaxed);
            ring.owner.store(thread_id, std::memory_order_release);
            return &ring;
        }
    }
    return &g_overflow_ring;
}

namespace {

inline void write_entry(Entry& e, uint64_t ordinal, uint64_t method, uint64_t thread_id, uint64_t now,
                        uint64_t s0, uint64_t s1, uint64_t s2) {
    e.sequence.store(2 * ordinal + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    e.method.store(method, std::memory_order_relaxed);
    e.thread_id.store(thread_id, std::memory_order_relaxed);
    e.ticks.store(now, std::memory_order_relaxed);
    e.slots[0].store(s0, std::memory_order_relaxed);
    e.slots[1].store(s1, std::memory_order_relaxed);
    e.slots[2].store(s2, std::memory_order_relaxed);
    e.sequence.store(2 * ordinal + 2, std::memory_order_release);
}

struct Clock {
    bool known;
    uint64_t now_ticks;
    uint64_t ns_since_base;
    uint64_t ticks_since_base;
};

// Async-signal-safe.
int64_t relative_ns(const Clock& c, uint64_t t) {
    if (!c.known) return 0;
    // Ticks to ns by the rate seen between the base and the crash. In double: inline SSE code,
    // where 128-bit integer division would call into libgcc.
    bool before = t <= c.now_ticks;
    uint64_t delta = before ? c.now_ticks - t : t - c.now_ticks;
    double ns = static_cast<double>(delta) * static_cast<double>(c.ns_since_base) /
                static_cast<double>(c.ticks_since_base);
    int64_t v = ns >= 9.0e18 ? INT64_C(9000000000000000000) : static_cast<int64_t>(ns);
    return before ? -v : v;
}

// Copies entry ordinal of a ring; false (and counts it) when it is not complete and unchanged.
// Async-signal-safe.
bool copy_entry(const Entry& e, uint64_t ordinal, const Clock& clock, NativeCall* out, int* torn) {
    uint64_t before = e.sequence.load(std::memory_order_acquire);
    if (before > 2 * ordinal + 2) return false;  // overwritten by a newer call: out of the window
    if (before != 2 * ordinal + 2) {
        (*torn)++;  // claimed, not yet complete
        return false;
    }
    uint64_t method = e.method.load(std::memory_order_relaxed);
    out->thread_id = e.thread_id.load(std::memory_order_relaxed);
    uint64_t t = e.ticks.load(std::memory_order_relaxed);
    for (int i = 0; i < kCallArgs; i++) out->slots[i] = e.slots[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (e.sequence.load(std::memory_order_relaxed) != before) {
        (*torn)++;
        return false;
    }
    if (method >= g_method_count.load(std::memory_order_acquire)) return false;
    out->method = static_cast<uint32_t>(method);
    out->time_ns = relative_ns(clock, t);
    return true;
}

bool is_integer_type(char c) {
    return c == 'I' || c == 'J' || c == 'Z' || c == 'B' || c == 'C' || c == 'S' || c == 'L' || c == '[';
}

}  // namespace

void native_calls_record(ThreadRing* ring, uint64_t thread_id, uint64_t method, uint64_t slot0, uint64_t slot1,
                         uint64_t slot2) {
    uint64_t now = ticks();
    uint64_t own = ring->head.load(std::memory_order_relaxed);
    write_entry(ring->entries[own % kThreadCalls], own, method, thread_id, now, slot0, slot1, slot2);
    ring->head.store(own + 1, std::memory_order_release);
    uint64_t ordinal = g_process_head.fetch_add(1, std::memory_order_relaxed);
    write_entry(g_process_ring[ordinal % kProcessCalls], ordinal, method, thread_id, now, slot0, slot1, slot2);
}

void native_calls_enable() {
    g_base_ns = platform::monotonic_ns();
    g_base_ticks = ticks();
    g_enabled.store(true, std::memory_order_release);
}

bool native_calls_enabled() { return g_enabled.load(std::memory_order_acquire); }

int native_calls_add_method(const char* name, bool win64) {
    uint32_t index = g_method_count.load(std::memory_order_relaxed);
    if (index >= kTracedMethods) return -1;
    TracedMethod& m = g_methods[index];
    str_copy(m.name, sizeof(m.name), name);
    for (int i = 0; i < kCallArgs; i++) m.arg_type[i] = 0, m.arg_slot[i] = 0;
    // Which registers the first Java arguments arrive in. SysV hands out integer registers to
    // integer arguments only, floats take their own; Win64 gives argument n the n-th register of
    // either kind, so a float there uses up the slot.
    const char* p = name;
    while (*p && *p != '(') p++;
    if (*p == '(') p++;
    int position = 0, integers = 0, recorded = 0;
    while (*p && *p != ')' && recorded < kCallArgs) {
        char type = *p;
        bool array = false;
        while (*p == '[') p++, array = true;
        if (*p == 'L') {
            while (*p && *p != ';') p++;
        }
        if (*p) p++;
        if (array) type = 'L';
        if (type == '[') type = 'L';
        int slot = win64 ? position : integers;
        if (is_integer_type(type)) {
            if (slot < kCallArgs) {
                m.arg_type[recorded] = type;
                m.arg_slot[recorded] = static_cast<uint8_t>(slot);
                recorded++;
            }
            integers++;
        }
        position++;
        if (win64 ? position >= kCallArgs : integers >= kCallArgs) break;
    }
    g_method_count.store(index + 1, std::memory_order_release);
    return static_cast<int>(index);
}

ThreadRing* native_calls_release_ring(ThreadRing* ring) {
    if (ring && ring != &g_overflow_ring) ring->owner.store(0, std::memory_order_release);
    return &g_overflow_ring;
}

// Async-signal-safe.
void native_calls_mark_crash() {
    g_crash_ticks = ticks();
    g_crash_ns = platform::monotonic_ns();
}

// Async-signal-safe.
void native_calls_copy(uint64_t thread_id, NativeCallSnapshot* s) {
    s->thread_count = 0;
    s->process_count = 0;
    s->torn = 0;
    s->thread_has_ring = false;
    Clock clock{false, 0, 0, 0};
    clock.now_ticks = g_crash_ticks ? g_crash_ticks : ticks();
    uint64_t now_ns = g_crash_ticks ? g_crash_ns : platform::monotonic_ns();
    if (clock.now_ticks > g_base_ticks && now_ns > g_base_ns) {
        clock.known = true;
        clock.ticks_since_base = clock.now_ticks - g_base_ticks;
        clock.ns_since_base = now_ns - g_base_ns;
    }
    s->times_known = clock.known;
    for (ThreadRing& ring : g_thread_rings) {
        if (ring.owner.load(std::memory_order_acquire) != thread_id) continue;
        s->thread_has_ring = true;
        uint64_t head = ring.head.load(std::memory_order_acquire);
        uint64_t first = head > kThreadCalls ? head - kThreadCalls : 0;
        for (uint64_t o = first; o < head; o++) {
            if (copy_entry(ring.entries[o % kThreadCalls], o, clock, &s->thread_calls[s->thread_count], &s->torn)) {
                s->thread_count++;
            }
        }
        break;
    }
    uint64_t head = g_process_head.load(std::memory_order_acquire);
    s->recorded = head;
    uint64_t first = head > kProcessCalls ? head - kProcessCalls : 0;
    for (uint64_t o = first; o < head; o++) {
        if (copy_entry(g_process_ring[o % kProcessCalls], o, clock, &s->process_calls[s->process_count], &s->torn)) {
            s->process_count++;
        }
    }
    s->taken = true;
}

// Async-signal-safe.
const TracedMethod* native_calls_method(uint32_t index) {
    return index < g_method_count.load(std::memory_order_acquire) ? &g_methods[index] : nullptr;
}

// Async-signal-safe.
bool native_call_argument(const TracedMethod& m, const NativeCall& c, int i, int64_t* out) {
    uint64_t v = c.slots[m.arg_slot[i] < kCallArgs ? m.arg_slot[i] : 0];
    switch (m.arg_type[i]) {
        case 'I': *out = static_cast<int32_t>(static_cast<uint32_t>(v)); return true;
        case 'J': *out = static_cast<int64_t>(v); return true;
        case 'S': *out = static_cast<int16_t>(static_cast<uint16_t>(v)); return true;
        case 'B': *out = static_cast<int8_t>(static_cast<uint8_t>(v)); return true;
        case 'C': *out = static_cast<uint16_t>(v); return true;
        case 'Z': *out = static_cast<uint8_t>(v) ? 1 : 0; return true;
        default: return false;
    }
}

bool native_calls_match(const char* patterns, const char* class_name) {
    if (!patterns || !*patterns) return false;
    if (str_equal(patterns, "all")) return true;
    const char* p = patterns;
    while (*p) {
        const char* end = p;
        while (*end && *end != ';') end++;
        if (end > p) {
            const char* c = class_name;
            const char* q = p;
            while (q < end && *c) {
                char a = *q == '/' ? '.' : *q;
                char b = *c == '/' ? '.' : *c;
                if (a != b) break;
                q++, c++;
            }
            if (q == end) return true;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

void native_calls_reset() {
    g_enabled.store(false);
    g_method_count.store(0);
    g_process_head.store(0);
    g_crash_ticks = 0;
    g_crash_ns = 0;
    for (Entry& e : g_process_ring) e.sequence.store(0);
    for (ThreadRing& r : g_thread_rings) {
        r.owner.store(0);
        r.head.store(0);
        for (Entry& e : r.entries) e.sequence.store(0);
    }
    g_native_call_snapshot.taken = false;
}

}  // namespace crashagent
