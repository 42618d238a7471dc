// SPDX-License-Identifier: Apache-2.0
// Dispatcher hand-off over two pipes: a write() is the only async-signal-safe way to wake a
// thread, and poll() gives the crashing thread its bounded wait.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <atomic>

#include "core/writer.h"
#include "platform.h"

namespace crashagent {
namespace platform {

namespace {
int g_wake[2] = {-1, -1};   // crashing thread -> dispatcher: kCrash or kStop
int g_done[2] = {-1, -1};   // dispatcher -> crashing thread
int g_stopped[2] = {-1, -1};  // dispatcher -> the thread that asked it to stop
constexpr char kCrash = 1;
constexpr char kStop = 2;
constexpr char kProgress = 3;

// Crash context.
void send(int fd, char c) {
    while (write(fd, &c, 1) < 0 && errno == EINTR) {
    }
}
}  // namespace

bool dispatcher_channel_open(char* error, size_t capacity) {
    if (g_wake[0] >= 0) return true;
    if (pipe2(g_wake, O_CLOEXEC) != 0 || pipe2(g_done, O_CLOEXEC) != 0 || pipe2(g_stopped, O_CLOEXEC) != 0) {
        StringSink sink{error, capacity, 0};
        char buffer[64];
        Writer w(buffer, sizeof(buffer), sink.sink());
        w.str("crashagent: cannot create the dispatcher pipes: ");
        w.str(strerror(errno));
        w.flush();
        return false;
    }
    return true;
}


namespace {

// Crash context. Waits up to timeout_ms for one byte on fd; the byte, or -1.
int wait_byte(int fd, uint32_t timeout_ms) {
    uint64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        uint64_t now = monotonic_ms();
        if (now > deadline) return -1;  // a timeout of 0 still polls once
        struct pollfd p{fd, POLLIN, 0};
        int r = poll(&p, 1, static_cast<int>(deadline - now));
        if (r > 0) {
            char c;
            return read(fd, &c, 1) == 1 ? c : -1;
        }
        if (r == 0) return -1;
        if (errno != EINTR) return -1;
    }
}

}  // namespace

// What a dispatch that an earlier (released) crash stopped waiting for left in
// the done pipe must not end the wait for this one.
void dispatcher_wake() {
    while (wait_byte(g_done[0], 0) >= 0) {
    }
    send(g_wake[1], kCrash);
}

DispatchWait dispatcher_wait(uint32_t timeout_ms) {
    int c = wait_byte(g_done[0], timeout_ms);
    return c < 0 ? DispatchWait::kTimedOut : c == kProgress ? DispatchWait::kProgress : DispatchWait::kDone;
}

bool dispatcher_wait_for_crash() {
    char c;
    for (;;) {
        ssize_t n = read(g_wake[0], &c, 1);
        if (n == 1) return c == kCrash;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

void dispatcher_signal_done() { send(g_done[1], kCrash); }

void dispatcher_signal_progress() { send(g_done[1], kProgress); }

void dispatcher_signal_stopped() { send(g_stopped[1], kStop); }

void dispatcher_request_stop(uint32_t timeout_ms) {
    if (g_wake[1] < 0) return;
    send(g_wake[1], kStop);
    wait_byte(g_stopped[0], timeout_ms);
}

}  // namespace platform
}  // namespace crashagent
