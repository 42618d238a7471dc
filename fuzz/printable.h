// SPDX-License-Identifier: Apache-2.0
// For the fuzz targets' failure messages: an input shown with its bytes, whatever they are.
#pragma once

#include <cstdio>
#include <string>

inline std::string printable(const std::string& s) {
    std::string out;
    char hex[8];
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            snprintf(hex, sizeof(hex), "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}
