// SPDX-License-Identifier: Apache-2.0
// Loads crashagent.dll like a non-JVM host, checks the C entry points and the option errors.
#include <windows.h>

#include <cstdio>
#include <cstring>

using StartFn = int (*)(const char*);
using StopFn = void (*)();

int main(int argc, char** argv) {
    if (argc < 2) {
        std::printf("usage: smoke_host <crashagent.dll>\n");
        return 64;
    }
    HMODULE lib = LoadLibraryA(argv[1]);
    if (!lib) {
        std::printf("smoke: FAIL LoadLibrary error %lu\n", GetLastError());
        return 1;
    }
    auto start = reinterpret_cast<StartFn>(reinterpret_cast<void*>(GetProcAddress(lib, "crashagent_start")));
    auto stop = reinterpret_cast<StopFn>(reinterpret_cast<void*>(GetProcAddress(lib, "crashagent_stop")));
    if (!start || !stop) {
        std::printf("smoke: FAIL crashagent_start/crashagent_stop are not exported\n");
        return 1;
    }
    if (start("colour=red") == 0) {
        std::printf("smoke: FAIL an unknown option was accepted\n");
        return 1;
    }
    if (start("dir=Z:\\no\\such\\dir\\crashagent") == 0) {
        std::printf("smoke: FAIL a missing report directory was accepted\n");
        return 1;
    }
    if (start("dir=.,timeout=100") != 0) {
        std::printf("smoke: FAIL crashagent_start returned non-zero for valid options\n");
        return 1;
    }
    stop();
    std::printf("smoke: PASS\n");
    return 0;
}
