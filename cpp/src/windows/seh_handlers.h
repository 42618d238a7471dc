// SPDX-License-Identifier: Apache-2.0
// Frame-based exception handlers (SEH, C++ and GCC personalities) between a fault and the JVM:
// which of them may catch the exception.
#pragma once

#include <cstdint>

namespace crashagent {
namespace platform {
namespace win {

// The stack of the faulting thread, from its TEB; walks never leave it.
struct StackBounds {
    uint64_t low;
    uint64_t high;
};

// What RtlVirtualUnwind says about a frame's language-specific exception handler.
struct FrameHandler {
    uint64_t routine;     // 0: none
    const void* data;     // the language-specific handler data
    uint64_t image_base;
    uint64_t pc;          // the frame's pc: the fault pc, or the return address
    uint64_t establisher; // the frame's establisher frame (its rsp, or frame register - offset)
    uint64_t frame_pointer_offset;  // UNWIND_INFO FrameOffset * 16 when it has a frame register
    StackBounds stack;
};

// Normal context, at install: notes where the runtime DLLs loaded now have their language handlers
// (__C_specific_handler, __CxxFrameHandler3/4, GCC's personalities), so that frames using them
// can be judged by what those handlers can catch. Modules loaded later are read at crash time.
void note_runtime_handlers();

// True if the frame's handler might catch the exception, so the fault cannot be called a crash
// yet. UNW_FLAG_EHANDLER is set for far more functions than those with a __try/__except (every
// /GS cookie, every destructor), so the handler is identified and its data read. Crash context.
bool handler_may_catch(const FrameHandler& h);

}  // namespace win
}  // namespace platform
}  // namespace crashagent
