// SPDX-License-Identifier: Apache-2.0
// Application context and breadcrumbs: memory the agent shares with Java (CrashAgent.putContext,
// removeContext, breadcrumb), which the crash path copies into the report.
//
// Java writes each entry under a sequence word: it claims the entry by moving the word from even
// to odd with a compare-and-set, writes the fields, then stores the next even value with release.
// The crash path copies an entry only when the word was even and unchanged across the copy, so an
// entry a writer was interrupted in (by the crash, on any thread) is dropped, never shown half.
// The layout below is the contract with java-api's SharedContext.java; both read the sizes from
// the header, so changing a size here needs no change there.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crashagent {

constexpr uint32_t kContextMagic = 0x31434143;     // "CAC1" in little-endian memory
constexpr uint32_t kContextLayoutVersion = 1;

constexpr uint32_t kContextSlots = 64;             // distinct keys a process may use
constexpr uint32_t kContextKeyCapacity = 64;       // bytes of UTF-8
constexpr uint32_t kContextValueCapacity = 256;    // bytes of UTF-8
constexpr uint32_t kBreadcrumbMessageCapacity = 192;
constexpr uint32_t kBreadcrumbThreadNameCapacity = 32;
constexpr uint32_t kDefaultBreadcrumbs = 100;
constexpr uint32_t kMaxBreadcrumbs = 10000;

// Header, at offset 0 (every field native byte order).
namespace header {
constexpr size_t kMagic = 0;              // u32
constexpr size_t kVersion = 4;            // u32
constexpr size_t kContextSlots = 8;       // u32
constexpr size_t kContextSlotSize = 12;   // u32
constexpr size_t kKeyCapacity = 16;       // u32
constexpr size_t kValueCapacity = 20;     // u32
constexpr size_t kBreadcrumbs = 24;       // u32: ring entries, a power of two (0 = off), so a writer
                                          // finds its entry with a mask, not a 64-bit division
constexpr size_t kBreadcrumbSize = 28;    // u32
constexpr size_t kMessageCapacity = 32;   // u32
constexpr size_t kNameCapacity = 36;      // u32
constexpr size_t kBreadcrumbHead = 40;    // u64: ordinal of the next breadcrumb (= how many were written)
constexpr size_t kContextClaimed = 48;    // u32: context slots handed out to keys
constexpr size_t kKeysRefused = 52;       // u32: puts of a new key refused, every slot taken
constexpr size_t kContextOffset = 56;     // u32: where the context slots start
constexpr size_t kBreadcrumbOffset = 60;  // u32: where the breadcrumb ring starts
constexpr size_t kBreadcrumbsKept = 64;   // u32: how many of the newest the report keeps (breadcrumbs=)
constexpr size_t kSize = 128;
}  // namespace header

// A context slot: one key, bound to the slot for the life of the process.
namespace slot {
constexpr size_t kSequence = 0;   // u32, odd while written
constexpr size_t kKeyLength = 4;  // u16
constexpr size_t kValueLength = 6;  // u16
constexpr size_t kState = 8;      // u32: 0 never set, 1 set, 2 removed
constexpr size_t kKey = 16;
constexpr size_t kValue = kKey + kContextKeyCapacity;
constexpr size_t kSize = kValue + kContextValueCapacity;  // 336, a multiple of 8
}  // namespace slot

// A breadcrumb: entry ordinal % N of the ring.
namespace crumb {
constexpr size_t kSequence = 0;       // u32, odd while written
constexpr size_t kMessageLength = 4;  // u16
constexpr size_t kNameLength = 6;     // u16
constexpr size_t kOrdinal = 8;        // u64: the head value the writer claimed
constexpr size_t kTimeMs = 16;        // u64: wall clock, ms since the epoch
constexpr size_t kThreadId = 24;      // u64: the Java thread id
constexpr size_t kName = 32;
constexpr size_t kMessage = kName + kBreadcrumbThreadNameCapacity;
constexpr size_t kSize = kMessage + kBreadcrumbMessageCapacity;  // 256
}  // namespace crumb

// The report's copy, plain C strings (Java writes U+0000 as C0 80, so none holds a NUL).
struct ContextEntry {
    char key[kContextKeyCapacity + 1];
    char value[kContextValueCapacity + 1];
};

struct Breadcrumb {
    uint64_t ordinal;
    uint64_t time_ms;
    uint64_t thread_id;
    char thread_name[kBreadcrumbThreadNameCapacity + 1];
    char message[kBreadcrumbMessageCapacity + 1];
};

struct ContextSnapshot {
    bool taken;                       // the crash path copied the shared memory
    ContextEntry context[kContextSlots];
    int context_count;
    uint32_t keys_refused;            // putContext calls refused for a new key, the map was full
    int torn;                         // entries dropped because a writer was inside them
    Breadcrumb* breadcrumbs;          // oldest first; storage for breadcrumb_capacity entries
    uint32_t breadcrumb_capacity;     // the ring's entries (breadcrumb_ring_entries)
    uint32_t breadcrumbs_kept;        // at most this many, the newest, after a copy
    int breadcrumb_count;
    uint64_t breadcrumbs_written;     // since the start; more than capacity means the oldest are gone
};

// Ring entries for the option breadcrumbs=: the power of two at or above it (0 for 0).
uint32_t breadcrumb_ring_entries(uint32_t breadcrumbs);

// Bytes of shared memory for the option breadcrumbs=.
size_t shared_context_size(uint32_t breadcrumbs);

// Formats memory (8-byte aligned, shared_context_size bytes, zeroed) as an empty map and a ring
// that keeps the given number of breadcrumbs.
void shared_context_format(uint8_t* memory, uint32_t breadcrumbs);

// How long the copy may pause, in all, for context keys that writers are inside at the crash.
constexpr uint32_t kContextRetryPausesMs = 50;

// Copies every consistent entry of the shared memory into snapshot (whose breadcrumbs array holds
// the ring's entries). A context key a writer is inside is read again after a pause, within
// kContextRetryPausesMs for the whole copy; what is still torn then, and torn breadcrumbs, are
// dropped and counted. Bounded by the capacities, whatever the memory holds. Crash context.
void shared_context_copy(const uint8_t* memory, ContextSnapshot* snapshot);

// The agent's shared memory and the report's copy of it; null/empty until the agent set them up.
struct AppContext {
    uint8_t* memory;
    size_t size;
    ContextSnapshot snapshot;
};
extern AppContext g_app_context;

}  // namespace crashagent
