// SPDX-License-Identifier: Apache-2.0
// LD_PRELOAD library for the tests: every TCP listening socket of the process binds to the
// loopback address instead of all interfaces. The debuginfod of Debian bookworm (elfutils 0.188)
// has no option for its listen address and opens one dual-stack socket on [::], so without this
// a test server would be reachable from the network. An IPv6 socket gets ::ffff:127.0.0.1, which
// (dual-stack) takes IPv4 connections to 127.0.0.1 and nothing else.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

namespace {
using BindFn = int (*)(int, const struct sockaddr*, socklen_t);
}  // namespace

extern "C" __attribute__((visibility("default"))) int bind(int fd, const struct sockaddr* addr, socklen_t len) {
    static BindFn real = reinterpret_cast<BindFn>(dlsym(RTLD_NEXT, "bind"));
    if (addr != nullptr && addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        sockaddr_in loopback;
        memcpy(&loopback, addr, sizeof(loopback));
        loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return real(fd, reinterpret_cast<const sockaddr*>(&loopback), sizeof(loopback));
    }
    if (addr != nullptr && addr->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        sockaddr_in6 loopback;
        memcpy(&loopback, addr, sizeof(loopback));
        inet_pton(AF_INET6, "::ffff:127.0.0.1", &loopback.sin6_addr);
        return real(fd, reinterpret_cast<const sockaddr*>(&loopback), sizeof(loopback));
    }
    return real(fd, addr, len);
}
