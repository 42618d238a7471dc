// SPDX-License-Identifier: Apache-2.0
// Agent options: -agentpath:<lib>=dir=<path>,timeout=<ms>,minidump=<bool>,breadcrumbs=<n>,
//              native-calls=<all|prefix;prefix...>
#pragma once

#include <cstddef>
#include <cstdint>

namespace crashagent {

constexpr size_t kPathCapacity = 1024;

struct Options {
    char dir[kPathCapacity] = {0};     // empty means the working directory
    uint32_t timeout_ms = 5000;        // budget for the Java dispatch (listeners)
    bool minidump = false;             // Windows only: write a minidump next to the report
    uint32_t breadcrumbs = 100;        // CrashAgent.breadcrumb ring size, 0 = off (core/app_context.h)
    char native_calls[kPathCapacity] = {0};  // "all" or ';'-separated class/package prefixes; empty = off
};

// The option names and their allowed values, as shown in error messages and the README.
extern const char* const kOptionsHelp;

// Parses a comma-separated option string (null or empty means defaults). On error returns
// false and writes a message naming the option and its allowed values into error.
bool parse_options(const char* text, Options* out, char* error, size_t error_capacity);

// The message for a report directory that cannot be used, naming the option.
void format_report_dir_error(const char* dir, const char* problem, char* error, size_t error_capacity);

}  // namespace crashagent
