// SPDX-License-Identifier: Apache-2.0
// platform.h for the unit tests of crash_flow.cpp: real files under the test's directories, with
// knobs for what goes wrong (a full directory, taken temporary names), a scripted dispatcher and a
// virtual clock, so that waits and budgets cost no time.
#pragma once

#include <deque>
#include <functional>
#include <string>

#include "platform.h"

namespace crashagent {
namespace fake {

struct Platform {
    std::string fallback_dir;
    std::string full_dir;               // writes to files directly in it share full_free bytes
    long long full_free = -1;           // -1: not full
    std::string taken_tmp_dir;          // every *.tmp created exclusively there fails (EEXIST)
    std::deque<platform::DispatchWait> dispatch_script;  // what dispatcher_wait returns; then kDone
    std::function<void()> on_dispatch_wait;              // runs at each wait, before it returns
    int dispatch_waits = 0;
    int wakes = 0;
    std::string stderr_text;
    uint64_t clock_ms = 1000;           // monotonic_ms; sleep_ms and timed-out waits advance it
};

// The fake's state; reset() before each test.
Platform& state();
void reset();

}  // namespace fake
}  // namespace crashagent
