// SPDX-License-Identifier: Apache-2.0
// The JNI call rings (core/native_calls.h): order, the crashing thread's own ring, torn entries,
// argument layout per ABI, pattern matching.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <string.h>

#include <string>
#include <atomic>
#include <thread>

#include "core/native_calls.h"
#include "platform.h"

using namespace crashagent;

namespace {

// Rings for the tests, leaked: native_calls_reset forgets them.
void* allocate(size_t size) {
    void* p = nullptr;
    if (posix_memalign(&p, 64, size) != 0) return nullptr;
    memset(p, 0, size);
    return p;
}

}  // namespace

TEST_CASE("native calls: patterns match class prefixes in dot or slash form") {
    CHECK(native_calls_match("all", "java.lang.Object"));
    CHECK(native_calls_match("com.example.", "com.example.Foo"));
    CHECK(native_calls_match("com/example/", "com.example.Foo"));
    CHECK(native_calls_match("org.x;com.example.Foo", "com.example.Foo$Inner"));
    CHECK_FALSE(native_calls_match("com.example.", "com.other.Foo"));
    CHECK_FALSE(native_calls_match("", "com.example.Foo"));
    CHECK_FALSE(native_calls_match(";", "com.example.Foo"));
}

TEST_CASE("native calls: argument slots follow the ABI") {
    native_calls_reset();
    // (IDJ): SysV gives I and J the first two integer registers, the double goes to xmm0.
    int m = native_calls_add_method("a.B.f(IDJ)V", false);
    const TracedMethod* t = native_calls_method(static_cast<uint32_t>(m));
    REQUIRE(t);
    CHECK(t->arg_type[0] == 'I');
    CHECK(t->arg_slot[0] == 0);
    CHECK(t->arg_type[1] == 'J');
    CHECK(t->arg_slot[1] == 1);
    CHECK(t->arg_type[2] == 0);
    // Win64: position decides, so J is in the third slot and the double used up the second.
    m = native_calls_add_method("a.B.f(IDJ)V", true);
    t = native_calls_method(static_cast<uint32_t>(m));
    CHECK(t->arg_type[0] == 'I');
    CHECK(t->arg_slot[0] == 0);
    CHECK(t->arg_type[1] == 'J');
    CHECK(t->arg_slot[1] == 2);
    m = native_calls_add_method("a.B.g([ILjava/lang/String;Z)V", false);
    t = native_calls_method(static_cast<uint32_t>(m));
    CHECK(std::string(t->arg_type, 3) == "LLZ");
    CHECK(native_calls_method(999) == nullptr);
}

TEST_CASE("native calls: the crashing thread's ring and the process ring, oldest first") {
    native_calls_reset();
    native_calls_enable();
    int a = native_calls_add_method("a.B.one(I)V", false);
    int b = native_calls_add_method("a.B.two(J)V", false);
    uint64_t me = platform::current_thread_id();
    ThreadRing* mine = native_calls_claim_ring(me, &allocate);
    for (uint64_t i = 0; i < 40; i++) native_calls_record(mine, static_cast<uint64_t>(i % 2 ? b : a), i, 0, 0);
    uint64_t other_id = 0;
    std::thread other([&] {
        other_id = platform::current_thread_id();
        ThreadRing* ring = native_calls_claim_ring(other_id, &allocate);
        native_calls_record(ring, static_cast<uint64_t>(a), 1000, 0, 0);
        native_calls_release_ring(ring);  // the thread ends: its calls stay in the process's view
    });
    other.join();
    NativeCallSnapshot* s = new NativeCallSnapshot();
    native_calls_copy(me, s);
    CHECK(s->taken);
    CHECK(s->thread_has_ring);
    REQUIRE(s->thread_count == 32);
    CHECK(s->thread_calls[0].slots[0] == 8);   // the last 32 of 40
    CHECK(s->thread_calls[31].slots[0] == 39);
    CHECK(s->thread_calls[31].method == static_cast<uint32_t>(b));
    CHECK(s->thread_calls[31].time_ns <= 0);
    CHECK(s->thread_calls[0].time_ns <= s->thread_calls[31].time_ns);
    REQUIRE(s->process_count == 41);
    CHECK(s->process_calls[40].thread_id == other_id);
    CHECK(s->process_calls[40].slots[0] == 1000);
    CHECK(s->recorded == 41);
    CHECK(s->torn == 0);
    for (int i = 1; i < s->process_count; i++) CHECK(s->process_calls[i - 1].time_ns <= s->process_calls[i].time_ns);

    // A thread with no ring: only the process ring.
    native_calls_copy(other_id + 1000000, s);
    CHECK_FALSE(s->thread_has_ring);
    CHECK(s->thread_count == 0);
    delete s;
    native_calls_release_ring(mine);
}

TEST_CASE("native calls: the process's last 256 across threads, though one thread made most of them") {
    native_calls_reset();
    native_calls_enable();
    int a = native_calls_add_method("a.B.one(I)V", false);
    ThreadRing* busy = native_calls_claim_ring(1, &allocate);
    ThreadRing* quiet = native_calls_claim_ring(2, &allocate);
    native_calls_record(quiet, static_cast<uint64_t>(a), 5000, 0, 0);
    for (uint64_t i = 0; i < 1000; i++) native_calls_record(busy, static_cast<uint64_t>(a), i, 0, 0);
    native_calls_record(quiet, static_cast<uint64_t>(a), 5001, 0, 0);
    NativeCallSnapshot* s = new NativeCallSnapshot();
    native_calls_copy(2, s);
    REQUIRE(s->process_count == 256);
    CHECK(s->process_calls[255].slots[0] == 5001);
    CHECK(s->process_calls[255].thread_id == 2);
    CHECK(s->process_calls[0].slots[0] == 745);  // busy's 745..999, then quiet's last
    CHECK(s->process_calls[254].slots[0] == 999);
    REQUIRE(s->thread_count == 2);
    CHECK(s->thread_calls[0].slots[0] == 5000);
    CHECK(s->recorded == 1002);
    delete s;
}

TEST_CASE("native calls: copies taken while a thread records never hold a mixed entry") {
    native_calls_reset();
    native_calls_enable();
    int a = native_calls_add_method("a.B.one(JJJ)V", false);
    std::atomic<bool> stop{false};
    std::atomic<bool> started{false};
    std::thread writer([&] {
        ThreadRing* r = native_calls_claim_ring(99, &allocate);
        for (uint64_t i = 1; !stop.load(std::memory_order_relaxed); i++) {
            native_calls_record(r, static_cast<uint64_t>(a), i, i * 3, ~i);
            if (i == 1000) started.store(true);
        }
    });
    while (!started.load()) {
    }
    NativeCallSnapshot* s = new NativeCallSnapshot();
    int mixed = 0, copied = 0;
    for (int round = 0; round < 20000; round++) {
        native_calls_copy(1, s);
        for (int i = 0; i < s->process_count; i++) {
            const NativeCall& c = s->process_calls[i];
            if (c.slots[1] != c.slots[0] * 3 || c.slots[2] != ~c.slots[0]) mixed++;
            if (i && c.slots[0] <= s->process_calls[i - 1].slots[0]) mixed++;
        }
        copied += s->process_count;
    }
    stop.store(true);
    writer.join();
    CHECK(mixed == 0);
    CHECK(copied > 0);
    delete s;
}

TEST_CASE("native calls: a ring a thread left keeps its calls for the process until another thread claims it") {
    // Rings are reused once kKeptRings exist: fill up to that many with threads that ended.
    native_calls_reset();
    native_calls_enable();
    int a = native_calls_add_method("a.B.one(I)V", false);
    ThreadRing* r = native_calls_claim_ring(111, &allocate);
    native_calls_record(r, static_cast<uint64_t>(a), 1, 0, 0);
    ThreadRing* after = native_calls_release_ring(r);
    CHECK(after != r);
    // Calls after the thread's end are not recorded anywhere the report reads.
    native_calls_record(after, static_cast<uint64_t>(a), 2, 0, 0);
    NativeCallSnapshot* s = new NativeCallSnapshot();
    native_calls_copy(111, s);
    CHECK_FALSE(s->thread_has_ring);
    REQUIRE(s->process_count == 1);
    CHECK(s->process_calls[0].slots[0] == 1);
    CHECK(s->process_calls[0].thread_id == 111);
    // Below kKeptRings a new thread gets a new ring: the ended thread's calls stay.
    ThreadRing* second = native_calls_claim_ring(222, &allocate);
    CHECK(second != r);
    native_calls_copy(222, s);
    CHECK(s->process_count == 1);
    native_calls_release_ring(second);
    for (uint64_t t = 0; t < kKeptRings - 2; t++) {
        ThreadRing* ended = native_calls_claim_ring(1000 + t, &allocate);
        native_calls_record(ended, static_cast<uint64_t>(a), 1000 + t, 0, 0);
        native_calls_release_ring(ended);
    }
    // Now the free ring whose last call is the oldest goes to the next thread: r (222's has no call).
    ThreadRing* again = native_calls_claim_ring(333, &allocate);
    CHECK(again == second);
    again = native_calls_claim_ring(222, &allocate);
    CHECK(again == r);
    native_calls_copy(222, s);
    CHECK(s->thread_has_ring);
    CHECK(s->thread_count == 0);
    CHECK(s->process_count == static_cast<int>(kKeptRings) - 2);  // 111's call is gone with its ring
    delete s;
}
