// SPDX-License-Identifier: Apache-2.0
// The crash path's copy of the context and breadcrumbs (core/app_context.h): whole entries are
// kept, torn ones dropped, and nothing in the memory can make the copy read or write out of bounds.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/app_context.h"
#include "core/crash_record.h"
#include "core/report.h"

using namespace crashagent;

namespace {

// The shared memory and the copy's storage, as the agent sets them up.
struct Shared {
    std::vector<uint64_t> words;  // 8-byte aligned
    std::vector<Breadcrumb> copies;
    ContextSnapshot snapshot{};
    uint32_t capacity;

    explicit Shared(uint32_t breadcrumbs)
        : words(shared_context_size(breadcrumbs) / 8 + 1),
          copies(breadcrumb_ring_entries(breadcrumbs) ? breadcrumb_ring_entries(breadcrumbs) : 1),
          capacity(breadcrumb_ring_entries(breadcrumbs)) {
        shared_context_format(memory(), breadcrumbs);
        snapshot.breadcrumbs = copies.data();
        snapshot.breadcrumb_capacity = capacity;
    }
    uint8_t* memory() { return reinterpret_cast<uint8_t*>(words.data()); }
    uint8_t* slot(uint32_t i) { return memory() + header::kSize + i * slot::kSize; }
    uint8_t* crumb(uint64_t ordinal) {
        return memory() + header::kSize + kContextSlots * slot::kSize + (ordinal % capacity) * crumb::kSize;
    }
    const ContextSnapshot& copy() {
        shared_context_copy(memory(), &snapshot);
        return snapshot;
    }
};

uint32_t* u32(uint8_t* p) { return reinterpret_cast<uint32_t*>(p); }

// What SharedContext.java does for a put, in C++: claim by odd, write, publish even.
void put(Shared& s, uint32_t index, const std::string& key, const std::string& value, uint32_t state = 1) {
    uint8_t* e = s.slot(index);
    uint32_t sequence = __atomic_load_n(u32(e), __ATOMIC_ACQUIRE);
    __atomic_store_n(u32(e), sequence + 1, __ATOMIC_SEQ_CST);
    memcpy(e + slot::kKey, key.data(), key.size());
    memcpy(e + slot::kValue, value.data(), value.size());
    *reinterpret_cast<uint16_t*>(e + slot::kKeyLength) = static_cast<uint16_t>(key.size());
    *reinterpret_cast<uint16_t*>(e + slot::kValueLength) = static_cast<uint16_t>(value.size());
    *u32(e + slot::kState) = state;
    __atomic_store_n(u32(e), sequence + 2, __ATOMIC_RELEASE);
}

// A breadcrumb the way SharedContext.java writes one: claim an ordinal, then the entry.
uint64_t breadcrumb(Shared& s, const std::string& message, uint64_t thread = 7) {
    uint64_t ordinal = __atomic_fetch_add(reinterpret_cast<uint64_t*>(s.memory() + header::kBreadcrumbHead), 1,
                                          __ATOMIC_SEQ_CST);
    uint8_t* e = s.crumb(ordinal);
    uint32_t sequence = __atomic_load_n(u32(e), __ATOMIC_ACQUIRE);
    if ((sequence & 1) || !__atomic_compare_exchange_n(u32(e), &sequence, sequence + 1, false, __ATOMIC_SEQ_CST,
                                                       __ATOMIC_SEQ_CST)) {
        return ordinal;
    }
    *reinterpret_cast<uint64_t*>(e + crumb::kOrdinal) = ordinal;
    *reinterpret_cast<uint64_t*>(e + crumb::kTimeMs) = 1000 + ordinal;
    *reinterpret_cast<uint64_t*>(e + crumb::kThreadId) = thread;
    memcpy(e + crumb::kName, "main", 4);
    *reinterpret_cast<uint16_t*>(e + crumb::kNameLength) = 4;
    memcpy(e + crumb::kMessage, message.data(), message.size());
    *reinterpret_cast<uint16_t*>(e + crumb::kMessageLength) = static_cast<uint16_t>(message.size());
    __atomic_store_n(u32(e), sequence + 2, __ATOMIC_RELEASE);
    return ordinal;
}

// The message a writer puts for ordinal n: its own number, repeated, so a mix of two is visible.
std::string payload(uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out = digits + ":";
    while (out.size() + digits.size() + 1 <= kBreadcrumbMessageCapacity - 8) out += digits + ",";
    return out;
}

}  // namespace

TEST_CASE("app context: whole entries are copied, removed and never-set keys are left out") {
    Shared s(8);
    put(s, 0, "request", "r-1");
    put(s, 1, "user", "alice");
    put(s, 2, "gone", "x", 2);
    put(s, 0, "request", "r-2");  // a later put of the same key
    for (int i = 0; i < 3; i++) breadcrumb(s, "step " + std::to_string(i));

    const ContextSnapshot& c = s.copy();
    REQUIRE(c.taken);
    REQUIRE(c.context_count == 2);
    CHECK(std::string(c.context[0].key) == "request");
    CHECK(std::string(c.context[0].value) == "r-2");
    CHECK(std::string(c.context[1].value) == "alice");
    REQUIRE(c.breadcrumb_count == 3);
    CHECK(std::string(c.breadcrumbs[2].message) == "step 2");
    CHECK(c.breadcrumbs[2].time_ms == 1002);
    CHECK(std::string(c.breadcrumbs[0].thread_name) == "main");
    CHECK(c.breadcrumbs_written == 3);
    CHECK(c.torn == 0);
}

TEST_CASE("app context: an entry a writer is inside (odd sequence) is dropped and counted") {
    Shared s(4);
    put(s, 0, "request", "r-1");
    breadcrumb(s, "whole");
    breadcrumb(s, "interrupted");
    __atomic_store_n(u32(s.slot(0)), 3u, __ATOMIC_RELEASE);  // a put began and never finished
    __atomic_store_n(u32(s.crumb(1)), 3u, __ATOMIC_RELEASE);

    const ContextSnapshot& c = s.copy();
    CHECK(c.context_count == 0);
    REQUIRE(c.breadcrumb_count == 1);
    CHECK(std::string(c.breadcrumbs[0].message) == "whole");
    CHECK(c.torn == 2);
}

TEST_CASE("app context: the ring keeps the newest, oldest first, after it went round") {
    CHECK(breadcrumb_ring_entries(0) == 0);
    CHECK(breadcrumb_ring_entries(1) == 1);
    CHECK(breadcrumb_ring_entries(100) == 128);
    CHECK(breadcrumb_ring_entries(10000) == 16384);
    Shared s(5);  // a ring of 8, of which the report keeps the newest 5
    CHECK(s.capacity == 8);
    for (int i = 0; i < 13; i++) breadcrumb(s, "m" + std::to_string(i));
    const ContextSnapshot& c = s.copy();
    REQUIRE(c.breadcrumb_count == 5);
    for (int i = 0; i < 5; i++) CHECK(std::string(c.breadcrumbs[i].message) == "m" + std::to_string(8 + i));
    CHECK(c.breadcrumbs_written == 13);
}

TEST_CASE("app context: lengths and capacities in the memory cannot make the copy overrun") {
    Shared s(2);
    put(s, 0, std::string(kContextKeyCapacity, 'k'), std::string(kContextValueCapacity, 'v'));
    *reinterpret_cast<uint16_t*>(s.slot(0) + slot::kKeyLength) = 0xFFFF;
    *reinterpret_cast<uint16_t*>(s.slot(0) + slot::kValueLength) = 0xFFFF;
    breadcrumb(s, std::string(kBreadcrumbMessageCapacity, 'm'));
    *reinterpret_cast<uint16_t*>(s.crumb(0) + crumb::kMessageLength) = 0xFFFF;
    *reinterpret_cast<uint16_t*>(s.crumb(0) + crumb::kNameLength) = 0xFFFF;
    // A ring larger than the copy's storage, and an entry whose ordinal is not its place.
    *u32(s.memory() + header::kBreadcrumbs) = 1000000;
    const ContextSnapshot& c = s.copy();
    REQUIRE(c.context_count == 1);
    CHECK(strlen(c.context[0].key) == kContextKeyCapacity);
    CHECK(strlen(c.context[0].value) == kContextValueCapacity);
    REQUIRE(c.breadcrumb_count == 1);
    CHECK(strlen(c.breadcrumbs[0].message) == kBreadcrumbMessageCapacity);

    *u32(s.memory() + header::kBreadcrumbs) = 2;
    *reinterpret_cast<uint64_t*>(s.crumb(0) + crumb::kOrdinal) = 1;  // slot 0 claims ordinal 1
    CHECK(s.copy().breadcrumb_count == 0);

    *u32(s.memory() + header::kMagic) = 0;  // not the layout the copy knows
    CHECK_FALSE(s.copy().taken);
    shared_context_copy(nullptr, &s.snapshot);
    CHECK_FALSE(s.snapshot.taken);
}

TEST_CASE("app context: copies taken while writers run never hold a torn entry") {
    Shared s(16);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> writes{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 3; t++) {
        writers.emplace_back([&, t] {
            for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); n++) {
                uint64_t ordinal = __atomic_load_n(reinterpret_cast<uint64_t*>(s.memory() + header::kBreadcrumbHead),
                                                   __ATOMIC_RELAXED);
                std::string text = payload(ordinal * 3 + static_cast<uint64_t>(t));
                breadcrumb(s, text, static_cast<uint64_t>(t));
                if (t == 0) put(s, 0, "k", payload(n));  // one writer per key, as the Java side guarantees
                writes.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    while (writes.load() < 1000) std::this_thread::yield();  // readiness: the writers are in their loops
    int copies = 0, kept = 0, torn = 0;
    for (; copies < 20000; copies++) {
        const ContextSnapshot& c = s.copy();
        torn += c.torn;
        for (int i = 0; i < c.breadcrumb_count; i++) {
            std::string m = c.breadcrumbs[i].message;
            std::string n = m.substr(0, m.find(':'));
            REQUIRE_MESSAGE(m == payload(std::stoull(n)), m);
            if (i > 0) REQUIRE(c.breadcrumbs[i - 1].ordinal < c.breadcrumbs[i].ordinal);
            kept++;
        }
        if (c.context_count) {
            std::string v = c.context[0].value;
            REQUIRE_MESSAGE(v == payload(std::stoull(v.substr(0, v.find(':')))), v);
        }
    }
    stop = true;
    for (std::thread& t : writers) t.join();
    MESSAGE(copies << " copies, " << kept << " whole breadcrumbs, " << torn << " torn entries dropped");
    CHECK(kept > 0);
}

TEST_CASE("app context: the report and the log carry it; without shared memory the JSON says null") {
    static CrashRecord r;
    record_reset(&r);
    r.platform = "linux-x86_64";
    r.kind = "SIGSEGV";
    r.timestamp_ms = 1010;
    Shared s(4);
    put(s, 0, "request", "r\"1\"");
    put(s, 1, "nul", std::string("a\xC0\x80" "b"));
    breadcrumb(s, "line\nbreak");
    r.app_context = &s.copy();

    std::string json, log;
    struct Out {
        static bool write(void* context, const char* data, size_t len) {
            static_cast<std::string*>(context)->append(data, len);
            return true;
        }
    };
    char buffer[64];
    {
        Writer w(buffer, sizeof(buffer), Sink{&Out::write, &json});
        write_json_report(r, "complete", 5000, w);
        w.flush();
    }
    {
        Writer w(buffer, sizeof(buffer), Sink{&Out::write, &log});
        write_log_native(r, w);
        w.flush();
    }
    CHECK(json.find("\"context\": {\n    \"request\": \"r\\\"1\\\"\",\n    \"nul\": \"a\\u0000b\"\n  }") != std::string::npos);
    CHECK(json.find("{\"time_ms\": 1000, \"java_thread_id\": 7, \"thread\": \"main\", \"message\": \"line\\nbreak\"}") !=
          std::string::npos);
    CHECK(json.find("\"context_stats\": {\"breadcrumbs_written\": 1, \"keys_refused\": 0, \"torn_entries\": 0}") !=
          std::string::npos);
    CHECK(log.find("context:\n  request = r\"1\"\n  nul = a?b\n") != std::string::npos);
    CHECK(log.find("  -10 ms [main #7] line?break\n") != std::string::npos);

    r.app_context = nullptr;
    json.clear();
    Writer w(buffer, sizeof(buffer), Sink{&Out::write, &json});
    write_json_report(r, "complete", 5000, w);
    w.flush();
    CHECK(json.find("\"context\": null,\n  \"breadcrumbs\": null") != std::string::npos);
}
