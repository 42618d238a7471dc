// SPDX-License-Identifier: Apache-2.0
#include "core/app_context.h"

#include "platform.h"

#include <atomic>

namespace crashagent {

AppContext g_app_context;

namespace {

void store_u32(uint8_t* p, uint32_t v) { *reinterpret_cast<uint32_t*>(p) = v; }

// Crash context. Loads a word that Java writers change concurrently: an atomic load, so the
// compiler reads it once, where the code says.
uint32_t load_u32(const uint8_t* p) { return __atomic_load_n(reinterpret_cast<const uint32_t*>(p), __ATOMIC_RELAXED); }

// Crash context.
uint32_t load_u32_acquire(const uint8_t* p) {
    return __atomic_load_n(reinterpret_cast<const uint32_t*>(p), __ATOMIC_ACQUIRE);
}

// Crash context.
uint64_t load_u64(const uint8_t* p) { return __atomic_load_n(reinterpret_cast<const uint64_t*>(p), __ATOMIC_RELAXED); }

// Crash context.
uint16_t load_u16(const uint8_t* p) { return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), __ATOMIC_RELAXED); }

// Crash context. Copies up to length bytes (at most capacity) and terminates; the bytes may
// change under the copy, which the sequence check afterwards catches.
void copy_text(char* out, const uint8_t* in, uint32_t length, uint32_t capacity) {
    if (length > capacity) length = capacity;
    uint32_t n = 0;
    for (; n < length; n++) {
        char c = static_cast<char>(__atomic_load_n(in + n, __ATOMIC_RELAXED));
        if (c == '\0') break;  // never from Java's encoder; a C string ends here anyway
        out[n] = c;
    }
    out[n] = '\0';
}

// Crash context. Reads the sequence word before an entry is copied: the value to recheck, or
// false when a writer is inside the entry.
bool begin_read(const uint8_t* entry, uint32_t* sequence) {
    *sequence = load_u32_acquire(entry);
    return (*sequence & 1u) == 0;
}

// Crash context. True when no writer entered the entry since begin_read: the copy is whole.
bool end_read(const uint8_t* entry, uint32_t sequence) {
    std::atomic_thread_fence(std::memory_order_acquire);
    return load_u32(entry) == sequence;
}

// Crash context. Heap sort: in place, bounded, no recursion.
void sift_down(Breadcrumb* a, int root, int count) {
    for (;;) {
        int child = 2 * root + 1;
        if (child >= count) return;
        if (child + 1 < count && a[child + 1].ordinal > a[child].ordinal) child++;
        if (a[root].ordinal >= a[child].ordinal) return;
        Breadcrumb t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

// Crash context. Oldest first.
void sort_by_ordinal(Breadcrumb* a, int count) {
    for (int i = count / 2 - 1; i >= 0; i--) sift_down(a, i, count);
    for (int end = count - 1; end > 0; end--) {
        Breadcrumb t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

}  // namespace

uint32_t breadcrumb_ring_entries(uint32_t breadcrumbs) {
    uint32_t entries = breadcrumbs ? 1 : 0;
    while (entries && entries < breadcrumbs) entries <<= 1;
    return entries;
}

size_t shared_context_size(uint32_t breadcrumbs) {
    return header::kSize + kContextSlots * slot::kSize +
           static_cast<size_t>(breadcrumb_ring_entries(breadcrumbs)) * crumb::kSize;
}

void shared_context_format(uint8_t* memory, uint32_t breadcrumbs) {
    store_u32(memory + header::kMagic, kContextMagic);
    store_u32(memory + header::kVersion, kContextLayoutVersion);
    store_u32(memory + header::kContextSlots, kContextSlots);
    store_u32(memory + header::kContextSlotSize, static_cast<uint32_t>(slot::kSize));
    store_u32(memory + header::kKeyCapacity, kContextKeyCapacity);
    store_u32(memory + header::kValueCapacity, kContextValueCapacity);
    store_u32(memory + header::kBreadcrumbs, breadcrumb_ring_entries(breadcrumbs));
    store_u32(memory + header::kBreadcrumbsKept, breadcrumbs);
    store_u32(memory + header::kBreadcrumbSize, static_cast<uint32_t>(crumb::kSize));
    store_u32(memory + header::kMessageCapacity, kBreadcrumbMessageCapacity);
    store_u32(memory + header::kNameCapacity, kBreadcrumbThreadNameCapacity);
    store_u32(memory + header::kContextOffset, static_cast<uint32_t>(header::kSize));
    store_u32(memory + header::kBreadcrumbOffset, static_cast<uint32_t>(header::kSize + kContextSlots * slot::kSize));
}

void shared_context_copy(const uint8_t* memory, ContextSnapshot* s) {
    s->context_count = 0;
    s->breadcrumb_count = 0;
    s->torn = 0;
    s->keys_refused = 0;
    s->breadcrumbs_written = 0;
    s->breadcrumbs_kept = 0;
    s->taken = false;
    if (!memory || load_u32(memory + header::kMagic) != kContextMagic) return;
    s->taken = true;
    s->keys_refused = load_u32(memory + header::kKeysRefused);

    const uint8_t* slots = memory + header::kSize;
    // A key is the application's current state, not history: a slot a writer is inside is read
    // again after a pause (the writer, on another thread, finishes in well under a millisecond
    // unless it was descheduled), within one budget for the whole copy.
    uint32_t pauses_left = kContextRetryPausesMs;
    for (uint32_t i = 0; i < kContextSlots; i++) {
        const uint8_t* e = slots + i * slot::kSize;
        for (;;) {
            uint32_t sequence;
            bool whole = begin_read(e, &sequence);
            if (whole && sequence == 0) break;  // never written
            uint32_t state = 0;
            ContextEntry& out = s->context[s->context_count];
            if (whole) {
                state = load_u32(e + slot::kState);
                copy_text(out.key, e + slot::kKey, load_u16(e + slot::kKeyLength), kContextKeyCapacity);
                copy_text(out.value, e + slot::kValue, load_u16(e + slot::kValueLength), kContextValueCapacity);
                whole = end_read(e, sequence);
            }
            if (whole) {
                if (state == 1 && out.key[0]) s->context_count++;
                break;
            }
            if (pauses_left == 0) {
                s->torn++;
                break;
            }
            pauses_left--;
            platform::sleep_ms(1);
        }
    }

    uint32_t capacity = load_u32(memory + header::kBreadcrumbs);
    if (capacity > s->breadcrumb_capacity) capacity = s->breadcrumb_capacity;  // never beyond the copy's storage
    if (capacity == 0 || !s->breadcrumbs) return;
    const uint8_t* ring = slots + kContextSlots * slot::kSize;
    s->breadcrumbs_written = __atomic_load_n(reinterpret_cast<const uint64_t*>(memory + header::kBreadcrumbHead),
                                             __ATOMIC_ACQUIRE);
    // Every entry that is whole, whatever its age: in a busy process the writers may go round the
    // ring while it is copied, and an entry they replaced meanwhile is newer, not wrong.
    for (uint32_t i = 0; i < capacity; i++) {
        const uint8_t* e = ring + static_cast<size_t>(i) * crumb::kSize;
        uint32_t sequence;
        if (!begin_read(e, &sequence)) {
            s->torn++;
            continue;
        }
        if (sequence == 0) continue;  // never written
        Breadcrumb& out = s->breadcrumbs[s->breadcrumb_count];
        out.ordinal = load_u64(e + crumb::kOrdinal);
        out.time_ms = load_u64(e + crumb::kTimeMs);
        out.thread_id = load_u64(e + crumb::kThreadId);
        copy_text(out.thread_name, e + crumb::kName, load_u16(e + crumb::kNameLength), kBreadcrumbThreadNameCapacity);
        copy_text(out.message, e + crumb::kMessage, load_u16(e + crumb::kMessageLength), kBreadcrumbMessageCapacity);
        if (!end_read(e, sequence)) {
            s->torn++;
            continue;
        }
        if (out.ordinal % capacity != i) continue;  // not this ring's entry: memory nobody should have written
        s->breadcrumb_count++;
    }
    sort_by_ordinal(s->breadcrumbs, s->breadcrumb_count);
    uint32_t kept = load_u32(memory + header::kBreadcrumbsKept);
    s->breadcrumbs_kept = kept < capacity ? kept : capacity;
    if (static_cast<uint32_t>(s->breadcrumb_count) > s->breadcrumbs_kept) {
        // The ring is larger than asked for (a power of two): the oldest go.
        int drop = s->breadcrumb_count - static_cast<int>(s->breadcrumbs_kept);
        for (int i = 0; i + drop < s->breadcrumb_count; i++) s->breadcrumbs[i] = s->breadcrumbs[i + drop];
        s->breadcrumb_count -= drop;
    }
}

}  // namespace crashagent
