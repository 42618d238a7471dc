// SPDX-License-Identifier: Apache-2.0
// jvm_standin: the launcher half of the JVM stand-in, like java with its JVM library. It loads the
// VM library from its own directory (jvm.dll on Windows, libjvm.so on Linux) and hands it the
// command line; see standin_vm.cpp for what the VM does.
#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>
#endif

#include <cstdio>
#include <cstring>

#include "../started_marker.h"

int main(int argc, char** argv) {
    mark_started();
    char path[4096];
#ifdef _WIN32
    DWORD n = GetModuleFileNameA(nullptr, path, sizeof(path));
    char* slash = n > 0 && n < sizeof(path) ? std::strrchr(path, '\\') : nullptr;
    const char* library = "jvm.dll";
#else
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n > 0) path[n] = '\0';
    char* slash = n > 0 ? std::strrchr(path, '/') : nullptr;
    const char* library = "libjvm.so";
#endif
    if (!slash || std::strlen(library) + 1 >= sizeof(path) - static_cast<size_t>(slash + 1 - path)) {
        std::fprintf(stderr, "jvm_standin: cannot tell where the launcher is\n");
        return 1;
    }
    std::strcpy(slash + 1, library);
    using Main = int (*)(int, char**);
#ifdef _WIN32
    HMODULE vm = LoadLibraryA(path);
    Main standin_main = vm ? reinterpret_cast<Main>(reinterpret_cast<void*>(GetProcAddress(vm, "standin_main"))) : nullptr;
#else
    // As the java launcher loads libjvm: RTLD_NOW | RTLD_GLOBAL.
    void* vm = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    Main standin_main = vm ? reinterpret_cast<Main>(dlsym(vm, "standin_main")) : nullptr;
#endif
    if (!standin_main) {
        std::fprintf(stderr, "jvm_standin: cannot load the VM library %s\n", path);
        return 1;
    }
    return standin_main(argc, argv);
}
