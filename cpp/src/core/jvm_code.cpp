// SPDX-License-Identifier: Apache-2.0
#include "core/jvm_code.h"

#include <atomic>

#include "core/writer.h"

namespace crashagent {

namespace {

constexpr size_t kNameWords = kJvmCodeNameCapacity / 8;
static_assert(kJvmCodeNameCapacity % 8 == 0, "names are stored in whole 8-byte words");
static_assert(kJvmCodeTextCapacity >= sizeof("native wrapper for ") + kJvmCodeNameCapacity,
              "a frame's text holds the longest prefix and name");

// An entry's tag: a generation count (bits 2 and up, advanced each time the slot is claimed) and
// the state (bits 0-1). Readers use it as a sequence lock: the fields are theirs only if the tag
// read before them is live and the tag read after them is the same, so a slot that was killed and
// reused meanwhile is never mistaken for its old or a half-written new entry.
enum State : uint32_t { kFree = 0, kWriting = 1, kLive = 2, kDead = 3 };

constexpr uint32_t state_of(uint32_t tag) { return tag & 3u; }
constexpr uint32_t with_state(uint32_t tag, State s) { return (tag & ~3u) | s; }

struct Entry {
    std::atomic<uint32_t> tag;
    std::atomic<uint32_t> kind;
    std::atomic<uint64_t> start;
    std::atomic<uint64_t> end;
    std::atomic<uint64_t> stamp;              // order of addition: the newer of two equal ranges wins
    std::atomic<uint64_t> name[kNameWords];   // NUL-terminated, 8 bytes a word
};

Entry g_entries[kJvmCodeCapacity];
std::atomic<int> g_used{0};       // slots handed out so far; readers scan [0, g_used)
std::atomic<int> g_dead{0};       // dead entries: slots a new entry can reuse
std::atomic<int> g_live{0};
std::atomic<int> g_cursor{0};     // where the search for a dead slot goes on
std::atomic<int> g_replay{0};
std::atomic<uint64_t> g_stamp{0};
std::atomic<uint64_t> g_dropped{0};

struct Snapshot {
    uint32_t kind;
    uint64_t start;
    uint64_t end;
    uint64_t stamp;
};

// Crash context.
int used_slots() {
    int used = g_used.load(std::memory_order_acquire);
    return used < kJvmCodeCapacity ? used : kJvmCodeCapacity;
}

// Crash context. Reads a live entry's range; name, when given, gets its name. False when the
// slot holds no live entry or changed while it was read.
bool read_entry(const Entry& e, uint32_t* tag_out, Snapshot* s, char* name) {
    uint32_t tag = e.tag.load(std::memory_order_acquire);
    if (state_of(tag) != kLive) return false;
    s->kind = e.kind.load(std::memory_order_relaxed);
    s->start = e.start.load(std::memory_order_relaxed);
    s->end = e.end.load(std::memory_order_relaxed);
    s->stamp = e.stamp.load(std::memory_order_relaxed);
    if (name) {
        for (size_t w = 0; w < kNameWords; w++) {
            uint64_t word = e.name[w].load(std::memory_order_relaxed);
            for (size_t b = 0; b < 8; b++) name[w * 8 + b] = static_cast<char>((word >> (8 * b)) & 0xff);
        }
        name[kJvmCodeNameCapacity - 1] = '\0';
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (e.tag.load(std::memory_order_relaxed) != tag) return false;
    if (tag_out) *tag_out = tag;
    return true;
}

// Normal context. A slot for a new entry, claimed (state kWriting), or -1 when the table is full.
int claim_slot(uint32_t* tag_out) {
    if (g_dead.load(std::memory_order_acquire) > 0) {
        int used = used_slots();
        int start = used ? g_cursor.load(std::memory_order_relaxed) % used : 0;
        for (int n = 0; n < used; n++) {
            int i = (start + n) % used;
            Entry& e = g_entries[i];
            uint32_t tag = e.tag.load(std::memory_order_acquire);
            if (state_of(tag) != kDead) continue;
            uint32_t claimed = with_state(tag + 4u, kWriting);
            if (e.tag.compare_exchange_strong(tag, claimed, std::memory_order_acq_rel)) {
                g_dead.fetch_sub(1, std::memory_order_acq_rel);
                g_cursor.store(i + 1, std::memory_order_relaxed);
                *tag_out = claimed;
                return i;
            }
        }
    }
    int used = g_used.load(std::memory_order_acquire);
    while (used < kJvmCodeCapacity) {
        if (g_used.compare_exchange_weak(used, used + 1, std::memory_order_acq_rel)) {
            Entry& e = g_entries[used];
            uint32_t tag = e.tag.load(std::memory_order_relaxed);  // kFree: nobody else has this slot
            uint32_t claimed = with_state(tag + 4u, kWriting);
            e.tag.store(claimed, std::memory_order_relaxed);
            *tag_out = claimed;
            return used;
        }
    }
    return -1;
}

// Crash context. A cheap first look: whether slot i may hold a live entry starting at start,
// or (with any_start) a live entry at all. read_entry has the last word.
bool may_match(int i, uint64_t start, bool any_start) {
    const Entry& e = g_entries[i];
    if (state_of(e.tag.load(std::memory_order_relaxed)) != kLive) return false;
    return any_start || e.start.load(std::memory_order_relaxed) == start;
}

// Normal context. True if a live entry already has this kind and range.
bool already_live(uint32_t kind, uint64_t start, uint64_t end) {
    int used = used_slots();
    for (int i = 0; i < used; i++) {
        if (!may_match(i, start, false)) continue;
        Snapshot s;
        if (read_entry(g_entries[i], nullptr, &s, nullptr) && s.kind == kind && s.start == start && s.end == end) {
            return true;
        }
    }
    return false;
}

}  // namespace

void jvm_code_add(JvmCodeKind kind, uint64_t start, uint64_t size, const char* name) {
    if (start == 0 || size == 0 || start + size < start) return;
    uint32_t k = static_cast<uint32_t>(kind);
    if (g_replay.load(std::memory_order_acquire) > 0 && already_live(k, start, start + size)) return;
    uint32_t tag = 0;
    int slot = claim_slot(&tag);
    if (slot < 0) {
        g_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    Entry& e = g_entries[slot];
    // The claim above is the sequence lock's first store; readers that see any field written
    // below also see the slot is no longer the entry they started reading.
    std::atomic_thread_fence(std::memory_order_release);
    e.kind.store(k, std::memory_order_relaxed);
    e.start.store(start, std::memory_order_relaxed);
    e.end.store(start + size, std::memory_order_relaxed);
    e.stamp.store(g_stamp.fetch_add(1, std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    bool ended = !name;
    for (size_t w = 0; w < kNameWords; w++) {
        uint64_t word = 0;
        for (size_t b = 0; b < 8; b++) {
            size_t at = w * 8 + b;
            if (!ended && (at + 1 == kJvmCodeNameCapacity || name[at] == '\0')) ended = true;
            if (!ended) word |= static_cast<uint64_t>(static_cast<unsigned char>(name[at])) << (8 * b);
        }
        e.name[w].store(word, std::memory_order_relaxed);
    }
    e.tag.store(with_state(tag, kLive), std::memory_order_release);
    g_live.fetch_add(1, std::memory_order_relaxed);
}

void jvm_code_remove(uint64_t start) {
    int used = used_slots();
    for (int i = 0; i < used; i++) {
        if (!may_match(i, start, false)) continue;
        Entry& e = g_entries[i];
        Snapshot s;
        uint32_t tag = 0;
        if (!read_entry(e, &tag, &s, nullptr) || s.start != start) continue;
        if (s.kind != static_cast<uint32_t>(JvmCodeKind::kCompiled) &&
            s.kind != static_cast<uint32_t>(JvmCodeKind::kNativeWrapper)) {
            continue;
        }
        // Only this very entry: a slot reused meanwhile has another generation in its tag.
        if (e.tag.compare_exchange_strong(tag, with_state(tag, kDead), std::memory_order_acq_rel)) {
            g_live.fetch_sub(1, std::memory_order_relaxed);
            g_dead.fetch_add(1, std::memory_order_acq_rel);
        }
    }
}

void jvm_code_begin_replay() { g_replay.fetch_add(1, std::memory_order_acq_rel); }

void jvm_code_end_replay() { g_replay.fetch_sub(1, std::memory_order_acq_rel); }

uint64_t jvm_code_dropped() { return g_dropped.load(std::memory_order_relaxed); }

int jvm_code_live_count() { return g_live.load(std::memory_order_relaxed); }

bool jvm_code_describe(uint64_t address, char* out, size_t capacity) {
    if (capacity == 0) return false;
    out[0] = '\0';
    bool found = false;
    Snapshot best{};
    char best_name[kJvmCodeNameCapacity];
    char name[kJvmCodeNameCapacity];
    int used = used_slots();
    for (int i = 0; i < used; i++) {
        const Entry& e = g_entries[i];
        // A cheap look first; read_entry checks it again under the sequence lock.
        if (state_of(e.tag.load(std::memory_order_acquire)) != kLive) continue;
        uint64_t start = e.start.load(std::memory_order_relaxed);
        uint64_t end = e.end.load(std::memory_order_relaxed);
        if (address < start || address >= end) continue;
        Snapshot s;
        if (!read_entry(e, nullptr, &s, name) || address < s.start || address >= s.end) continue;
        if (found) {
            uint64_t size = s.end - s.start, best_size = best.end - best.start;
            if (size > best_size || (size == best_size && s.stamp < best.stamp)) continue;
        }
        found = true;
        best = s;
        str_copy(best_name, sizeof(best_name), name);
    }
    if (!found) return false;
    StringSink sink{out, capacity, 0};
    char buffer[32];
    Writer w(buffer, sizeof(buffer), sink.sink());
    if (best.kind == static_cast<uint32_t>(JvmCodeKind::kCompiled)) w.str("compiled ");
    if (best.kind == static_cast<uint32_t>(JvmCodeKind::kNativeWrapper)) w.str("native wrapper for ");
    w.str(best_name[0] ? best_name : "(unnamed)");
    w.flush();
    return true;
}

bool jvm_code_contains(uint64_t address) {
    int used = used_slots();
    for (int i = 0; i < used; i++) {
        if (!may_match(i, 0, true)) continue;
        Snapshot s;
        if (read_entry(g_entries[i], nullptr, &s, nullptr) && address >= s.start && address < s.end) return true;
    }
    return false;
}

void jvm_code_resolve(CrashRecord* r) {
    for (int i = 0; i < r->frame_count; i++) {
        NativeFrame& f = r->frames[i];
        f.jvm_code[0] = '\0';
        if (f.module >= 0) continue;
        jvm_code_describe(i == 0 ? f.pc : f.pc - 1, f.jvm_code, sizeof(f.jvm_code));
    }
    r->jvm_code_dropped = jvm_code_dropped();
}

void jvm_code_clear() {
    for (Entry& e : g_entries) e.tag.store(kFree, std::memory_order_relaxed);
    g_used.store(0, std::memory_order_relaxed);
    g_dead.store(0, std::memory_order_relaxed);
    g_live.store(0, std::memory_order_relaxed);
    g_cursor.store(0, std::memory_order_relaxed);
    g_replay.store(0, std::memory_order_relaxed);
    g_dropped.store(0, std::memory_order_relaxed);
}

}  // namespace crashagent
