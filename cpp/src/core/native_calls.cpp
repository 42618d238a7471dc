// SPDX-License-Identifier: Apache-2.0
#include "core/native_calls.h"

#include <atomic>
#include <new>

#include "core/writer.h"
#include "platform.h"

namespace crashagent {

NativeCallSnapshot g_native_call_snapshot;

namespace {

// A cycle counter: cheaper than a clock_gettime, and no system call even where the vDSO cannot
// serve the clock. The crash path turns ticks into ns with the clock base below and a second pair
// of readings at the crash.
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

}  // namespace

struct alignas(64) ThreadRing {
    std::atomic<uint64_t> claimed;   // 1 while a thread owns it, 0 when free for another
    std::atomic<uint64_t> thread_id; // the thread that writes (or last wrote) it
    std::atomic<uint64_t> head;      // ordinal of the next entry; only the owner writes
    Entry entries[kRingCalls];
};

namespace {

std::atomic<ThreadRing*> g_rings[kCallThreads];
// Where the calls of a thread that found no ring go: written, never read.
ThreadRing g_overflow_ring;

}  // namespace

size_t native_calls_ring_size() { return sizeof(ThreadRing); }

ThreadRing* native_calls_claim_ring(uint64_t thread_id, void* (*allocate)(size_t size)) {
    uint32_t count = 0;
    while (count < kCallThreads && g_rings[count].load(std::memory_order_acquire)) count++;
    if (count >= kKeptRings) {
        // Enough rings for the process's recent history: reuse the free one whose last call is
        // the oldest, so what threads that ended did last stays in the report longest.
        ThreadRing* oldest = nullptr;
        uint64_t oldest_ticks = ~0ull;
        for (uint32_t i = 0; i < count; i++) {
            ThreadRing* ring = g_rings[i].load(std::memory_order_acquire);
            if (ring->claimed.load(std::memory_order_relaxed) != 0) continue;
            uint64_t head = ring->head.load(std::memory_order_relaxed);
            uint64_t last = head ? ring->entries[(head - 1) % kRingCalls].ticks.load(std::memory_order_relaxed) : 0;
            if (last < oldest_ticks) oldest = ring, oldest_ticks = last;
        }
        uint64_t free = 0;
        if (oldest && oldest->claimed.compare_exchange_strong(free, 1, std::memory_order_acquire)) {
            // Its entries must not show as this thread's. The crash path may read meanwhile; the
            // new thread id goes in after the reset.
            for (Entry& e : oldest->entries) e.sequence.store(0, std::memory_order_relaxed);
            oldest->head.store(0, std::memory_order_relaxed);
            oldest->thread_id.store(thread_id, std::memory_order_release);
            return oldest;
        }
    }
    void* memory = count < kCallThreads && allocate ? allocate(sizeof(ThreadRing)) : nullptr;
    if (!memory) return &g_overflow_ring;
    ThreadRing* fresh = new (memory) ThreadRing();
    fresh->claimed.store(1, std::memory_order_relaxed);
    fresh->thread_id.store(thread_id, std::memory_order_relaxed);
    // Rings are only ever added, in slot order; another thread may take a slot first.
    for (uint32_t i = count; i < kCallThreads; i++) {
        ThreadRing* empty = nullptr;
        if (g_rings[i].compare_exchange_strong(empty, fresh, std::memory_order_acq_rel)) return fresh;
    }
    return &g_overflow_ring;  // the memory stays unused; core frees nothing
}

namespace {

struct Clock {
    bool known;
    uint64_t now_ticks;
    uint64_t ns_since_base;
    uint64_t ticks_since_base;
};

// Crash context.
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

struct RawCall {
    uint64_t method;
    uint64_t ticks;
    uint64_t slots[kCallArgs];
};

// Copies entry ordinal of a ring; false when it is not complete and unchanged (counted in torn) or
// already overwritten by a newer call (a thread that goes on running; not counted).
// Crash context.
bool read_entry(const Entry& e, uint64_t ordinal, RawCall* out, int* torn) {
    uint64_t before = e.sequence.load(std::memory_order_acquire);
    if (before > 2 * ordinal + 2) return false;
    if (before != 2 * ordinal + 2) {
        (*torn)++;
        return false;
    }
    out->method = e.method.load(std::memory_order_relaxed);
    out->ticks = e.ticks.load(std::memory_order_relaxed);
    for (int i = 0; i < kCallArgs; i++) out->slots[i] = e.slots[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    uint64_t after = e.sequence.load(std::memory_order_relaxed);
    if (after != before) {
        if (after < 2 * ordinal + 2 || (after & 1)) (*torn)++;
        return false;
    }
    return out->method < g_method_count.load(std::memory_order_acquire);
}

// Crash context.
void to_call(const RawCall& raw, uint64_t thread_id, const Clock& clock, NativeCall* out) {
    out->method = static_cast<uint32_t>(raw.method);
    out->thread_id = thread_id;
    out->time_ns = relative_ns(clock, raw.ticks);
    for (int i = 0; i < kCallArgs; i++) out->slots[i] = raw.slots[i];
}

// The merge's state per ring, preallocated: the crash path allocates nothing.
struct MergeCursor {
    const ThreadRing* ring;
    uint64_t thread_id;
    uint64_t next;       // the ordinal below which the next candidate is looked for
    uint64_t floor;      // the oldest ordinal the ring still holds
    bool has;
    RawCall candidate;
};
MergeCursor g_merge[kCallThreads];

// Moves the cursor to the ring's next older whole entry. Crash context.
void merge_advance(MergeCursor* c, int* torn) {
    c->has = false;
    while (c->next > c->floor) {
        c->next--;
        if (read_entry(c->ring->entries[c->next % kRingCalls], c->next, &c->candidate, torn)) {
            c->has = true;
            return;
        }
    }
}

bool is_integer_type(char c) {
    return c == 'I' || c == 'J' || c == 'Z' || c == 'B' || c == 'C' || c == 'S' || c == 'L' || c == '[';
}

}  // namespace

void native_calls_record(ThreadRing* ring, uint64_t method, uint64_t slot0, uint64_t slot1, uint64_t slot2) {
    uint64_t now = ticks();
    uint64_t ordinal = ring->head.load(std::memory_order_relaxed);
    Entry& e = ring->entries[ordinal % kRingCalls];
    e.sequence.store(2 * ordinal + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    e.method.store(method, std::memory_order_relaxed);
    e.ticks.store(now, std::memory_order_relaxed);
    e.slots[0].store(slot0, std::memory_order_relaxed);
    e.slots[1].store(slot1, std::memory_order_relaxed);
    e.slots[2].store(slot2, std::memory_order_relaxed);
    e.sequence.store(2 * ordinal + 2, std::memory_order_release);
    ring->head.store(ordinal + 1, std::memory_order_release);
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
    if (ring && ring != &g_overflow_ring) ring->claimed.store(0, std::memory_order_release);
    return &g_overflow_ring;
}

void native_calls_mark_crash() {
    g_crash_ticks = ticks();
    g_crash_ns = platform::monotonic_ns();
}

void native_calls_copy(uint64_t thread_id, NativeCallSnapshot* s) {
    s->thread_count = 0;
    s->process_count = 0;
    s->torn = 0;
    s->recorded = 0;
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

    // The crashing thread's ring: the one it holds (a ring a thread that ended left keeps that
    // thread's id, which the system may have given to this one since).
    uint32_t rings = 0;
    while (rings < kCallThreads && g_rings[rings].load(std::memory_order_acquire)) rings++;
    for (uint32_t i = 0; i < rings; i++) {
        const ThreadRing* ring = g_rings[i].load(std::memory_order_acquire);
        if (ring->claimed.load(std::memory_order_acquire) != 1 ||
            ring->thread_id.load(std::memory_order_acquire) != thread_id) {
            continue;
        }
        s->thread_has_ring = true;
        uint64_t head = ring->head.load(std::memory_order_acquire);
        uint64_t first = head > kThreadCalls ? head - kThreadCalls : 0;
        for (uint64_t o = first; o < head; o++) {
            RawCall raw;
            if (read_entry(ring->entries[o % kRingCalls], o, &raw, &s->torn)) {
                to_call(raw, thread_id, clock, &s->thread_calls[s->thread_count++]);
            }
        }
        break;
    }

    // The process's last calls: every ring's newest entries, merged by time from the newest down.
    // Each ring holds its thread's last 256, so the process's last 256 are all among them.
    for (uint32_t i = 0; i < rings; i++) {
        MergeCursor& c = g_merge[i];
        c.ring = g_rings[i].load(std::memory_order_acquire);
        c.thread_id = c.ring->thread_id.load(std::memory_order_acquire);
        uint64_t head = c.ring->head.load(std::memory_order_acquire);
        s->recorded += head;
        c.next = head;
        c.floor = head > kRingCalls ? head - kRingCalls : 0;
        int ignored = 0;  // the crashing thread's torn entries are counted above already
        merge_advance(&c, c.thread_id == thread_id ? &ignored : &s->torn);
    }
    int slot = static_cast<int>(kProcessCalls);
    while (slot > 0) {
        MergeCursor* newest = nullptr;
        for (uint32_t i = 0; i < rings; i++) {
            if (g_merge[i].has && (!newest || g_merge[i].candidate.ticks > newest->candidate.ticks)) newest = &g_merge[i];
        }
        if (!newest) break;
        to_call(newest->candidate, newest->thread_id, clock, &s->process_calls[--slot]);
        int ignored = 0;
        merge_advance(newest, newest->thread_id == thread_id ? &ignored : &s->torn);
    }
    s->process_count = static_cast<int>(kProcessCalls) - slot;
    for (int i = 0; i < s->process_count; i++) s->process_calls[i] = s->process_calls[slot + i];
    s->taken = true;
}

const TracedMethod* native_calls_method(uint32_t index) {
    return index < g_method_count.load(std::memory_order_acquire) ? &g_methods[index] : nullptr;
}

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
    g_crash_ticks = 0;
    g_crash_ns = 0;
    // Rings of earlier tests are forgotten, not freed: the tests' allocator leaks them on purpose.
    for (std::atomic<ThreadRing*>& slot : g_rings) slot.store(nullptr);
    g_native_call_snapshot.taken = false;
}

}  // namespace crashagent
