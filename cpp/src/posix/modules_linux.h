// SPDX-License-Identifier: Apache-2.0
// Loaded modules and symbols on Linux, read from /proc/self/maps and the ELF files themselves
// with open/pread only, so they work inside a signal handler.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/crash_record.h"

namespace crashagent {
namespace posix {

// Fills record->modules from /proc/self/maps. Crash context.
void read_modules(CrashRecord* record);

// Nearest symbol at or below address in module (a file mapped at base). Returns false when the
// file has no symbol table covering it. Crash context.
bool find_symbol(const char* path, uint64_t base, uint64_t address, char* name, size_t capacity,
                 uint64_t* symbol_offset);

}  // namespace posix
}  // namespace crashagent
