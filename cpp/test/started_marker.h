// SPDX-License-Identifier: Apache-2.0
// The test programs' proof that they ran. A runner that sets CRASHAGENT_TEST_STARTED to a path
// can tell a program that failed from a program that never started (Wine can fail to start a
// process, exit status 1, before any of the program's code runs).
#pragma once

#include <cstdio>
#include <cstdlib>

inline void mark_started() {
    const char* path = std::getenv("CRASHAGENT_TEST_STARTED");
    if (!path || !*path) return;
    if (std::FILE* f = std::fopen(path, "w")) std::fclose(f);
}
