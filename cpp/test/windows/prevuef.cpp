// SPDX-License-Identifier: Apache-2.0
// A library that installs an unhandled-exception filter and is later unloaded.
#include <windows.h>

namespace {
LONG WINAPI library_filter(EXCEPTION_POINTERS*) {
    HANDLE f = CreateFileA("dll_uef_called.txt", GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                           nullptr);
    if (f != INVALID_HANDLE_VALUE) CloseHandle(f);
    return EXCEPTION_CONTINUE_SEARCH;
}
}  // namespace

extern "C" __declspec(dllexport) void install_filter() { SetUnhandledExceptionFilter(&library_filter); }
