// SPDX-License-Identifier: Apache-2.0
// Text (agent log) and JSON renderings of a crash record. Crash context.
#pragma once

#include "core/crash_record.h"
#include "core/writer.h"

namespace crashagent {

// dispatch_status: "pending" (first write, before the listeners), "complete", "timed_out",
// "not_started" (no JVM dispatcher). Crash context.
void write_json_report(const CrashRecord& record, const char* dispatch_status, uint32_t timeout_ms, Writer& out);

// The native part of the agent log, written before the listeners run. Crash context.
void write_log_native(const CrashRecord& record, Writer& out);

// The Java part of the agent log, appended after the dispatch. Crash context.
void write_log_java(const CrashRecord& record, const char* dispatch_status, Writer& out);

// One native frame as "module+0xoffset (symbol+0xoffset)"; a frame in JVM-generated code as
// "[JVM code: <name>]", and one in neither as "?+0x<pc>". Crash context.
void write_frame_text(const CrashRecord& record, const NativeFrame& frame, Writer& out);

// Name of the dispatch state as the report spells it; timed_out when still running. Crash context.
const char* dispatch_status_name(const CrashRecord& record, bool waited_out);

}  // namespace crashagent
