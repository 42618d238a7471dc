// SPDX-License-Identifier: Apache-2.0
// The JNI call rings (core/native_calls.h): order, the crashing thread's own ring, torn entries,
// argument layout per ABI, pattern matching.
#include <doctest/doctest.h>

#include <string>
#include <thread>

#include "core/native_calls.h"
#include "platform.h"

using namespace crashagent;

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
    ThreadRing* mine = native_calls_claim_ring(me);
    for (uint64_t i = 0; i < 40; i++) native_calls_record(mine, me, static_cast<uint64_t>(i % 2 ? b : a), i, 0, 0);
    uint64_t other_id = 0;
    std::thread other([&] {
        other_id = platform::current_thread_id();
        ThreadRing* ring = native_calls_claim_ring(other_id);
        native_calls_record(ring, other_id, static_cast<uint64_t>(a), 1000, 0, 0);
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

    // A thread with no ring: only the process ring.
    native_calls_copy(other_id + 1000000, s);
    CHECK_FALSE(s->thread_has_ring);
    CHECK(s->thread_count == 0);
    delete s;
    native_calls_release_ring(mine);
}

TEST_CASE("native calls: a released ring shows nothing of its last thread") {
    native_calls_reset();
    native_calls_enable();
    int a = native_calls_add_method("a.B.one(I)V", false);
    ThreadRing* r = native_calls_claim_ring(111);
    native_calls_record(r, 111, static_cast<uint64_t>(a), 1, 0, 0);
    ThreadRing* after = native_calls_release_ring(r);
    CHECK(after != r);
    // Calls after the thread's end go to the process ring only.
    native_calls_record(after, 111, static_cast<uint64_t>(a), 2, 0, 0);
    ThreadRing* again = native_calls_claim_ring(222);
    CHECK(again == r);
    NativeCallSnapshot* s = new NativeCallSnapshot();
    native_calls_copy(222, s);
    CHECK(s->thread_has_ring);
    CHECK(s->thread_count == 0);
    native_calls_copy(111, s);
    CHECK_FALSE(s->thread_has_ring);
    REQUIRE(s->process_count == 2);
    CHECK(s->process_calls[1].slots[0] == 2);
    delete s;
}
