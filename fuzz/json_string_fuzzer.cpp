// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: Writer::json_string (cpp/src/core/writer.cpp), the escaping behind every string
// in a JSON report. The input is the C string to write (cut at its first NUL, as the writer sees
// it). Properties, beyond ASan and UBSan finding nothing:
//   1. the output is one JSON string (RFC 8259): quoted, no raw control character, only the
//      escapes \" \\ \n \r \t \u00XX (below U+0020 and U+007F), \u0000, surrogate pairs and
//      \udc80..\udcff, and raw bytes that are strictly valid UTF-8;
//   2. decoded, it gives back exactly the input as the writer documents it: valid UTF-8 unchanged;
//      modified UTF-8's C0 80 as U+0000 and its surrogate pairs (ED A0-AF xx ED B0-BF xx) as the
//      character they encode; every other byte that does not start a valid sequence as
//      U+DC00 + the byte (surrogateescape), so decoding gives back the very byte;
//   3. the output does not depend on the size of the writer's buffer (every flush boundary).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/writer.h"
#include "printable.h"

using crashagent::Sink;
using crashagent::Writer;

namespace {

struct Captured {
    std::string text;
    static bool write(void* context, const char* data, size_t len) {
        static_cast<Captured*>(context)->text.append(data, len);
        return true;
    }
};

std::string render(const char* s, size_t capacity) {
    Captured out;
    std::string buffer(capacity, '\0');
    Writer w(&buffer[0], capacity, Sink{&Captured::write, &out});
    w.json_string(s);
    w.flush();
    return out.text;
}

[[noreturn]] void fail(const char* what, const std::string& input, const std::string& output) {
    fprintf(stderr, "json_string property violated: %s\n  input:  \"%s\"\n  output: \"%s\"\n", what,
            printable(input).c_str(), printable(output).c_str());
    abort();
}

void append_utf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
        *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        *out += static_cast<char>(0xC0 | (cp >> 6));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out += static_cast<char>(0xE0 | (cp >> 12));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        *out += static_cast<char>(0xF0 | (cp >> 18));
        *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes one sequence at s[i] by the lead byte's length and the code point's value (a different
// method from the writer's byte-range tables). Returns its length, or 0 when it is not strictly
// valid UTF-8: cut, overlong, a surrogate or above U+10FFFF. Sets *code_point, even for a
// surrogate, so that the caller can recognise modified UTF-8.
size_t decode_utf8(const std::string& s, size_t i, uint32_t* code_point, bool* surrogate = nullptr) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
        *code_point = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cp = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; k++) {
        unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (d & 0x3Fu);
    }
    *code_point = cp;
    bool is_surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    if (surrogate) *surrogate = is_surrogate && n == 3;
    if (cp < min || cp > 0x10FFFF || is_surrogate) return 0;
    return n;
}

// What the output must decode to, from the writer's documented handling of its input.
std::string expected_decoding(const std::string& in) {
    std::string out;
    size_t i = 0;
    while (i < in.size()) {
        uint32_t cp = 0;
        bool surrogate = false;
        if (static_cast<unsigned char>(in[i]) == 0xC0 && i + 1 < in.size() &&
            static_cast<unsigned char>(in[i + 1]) == 0x80) {
            out += '\0';  // modified UTF-8's NUL
            i += 2;
            continue;
        }
        size_t n = decode_utf8(in, i, &cp, &surrogate);
        if (n == 0 && surrogate && cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= in.size()) {
            uint32_t low = 0;
            bool low_surrogate = false;
            decode_utf8(in, i + 3, &low, &low_surrogate);
            if (low_surrogate && low >= 0xDC00 && low <= 0xDFFF) {
                append_utf8(&out, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
                i += 6;
                continue;
            }
        }
        if (n == 0) {
            out += in[i];  // escaped as U+DC00 + byte: the byte comes back
            i += 1;
            continue;
        }
        out.append(in, i, n);
        i += n;
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool read_u_escape(const std::string& s, size_t i, uint32_t* unit) {
    // s[i] is the backslash of \uXXXX.
    if (i + 6 > s.size() || s[i + 1] != 'u') return false;
    uint32_t v = 0;
    for (size_t k = 2; k < 6; k++) {
        int h = hex_value(s[i + k]);
        if (h < 0) return false;
        v = (v << 4) | static_cast<uint32_t>(h);
    }
    *unit = v;
    return true;
}

// Decodes one JSON string strictly, checking property 1 on the way; fails on anything else.
std::string decode_json_string(const std::string& input, const std::string& json) {
    if (json.size() < 2 || json.front() != '"' || json.back() != '"') fail("not quoted", input, json);
    const std::string body = json.substr(1, json.size() - 2);
    std::string out;
    size_t i = 0;
    while (i < body.size()) {
        unsigned char c = static_cast<unsigned char>(body[i]);
        if (c == '"') fail("an unescaped quote inside the string", input, json);
        if (c < 0x20) fail("a raw control character", input, json);
        if (c == 0x7f) fail("a raw DEL (the writer escapes it)", input, json);
        if (c != '\\') {
            uint32_t cp;
            size_t n = decode_utf8(body, i, &cp);
            if (n == 0) fail("raw bytes that are not valid UTF-8", input, json);
            out.append(body, i, n);
            i += n;
            continue;
        }
        if (i + 1 >= body.size()) fail("a lone backslash at the end", input, json);
        char e = body[i + 1];
        switch (e) {
            case '"': out += '"'; i += 2; continue;
            case '\\': out += '\\'; i += 2; continue;
            case 'n': out += '\n'; i += 2; continue;
            case 'r': out += '\r'; i += 2; continue;
            case 't': out += '\t'; i += 2; continue;
            case 'u': break;
            default: fail("an escape the writer does not use (or invalid JSON)", input, json);
        }
        uint32_t unit;
        if (!read_u_escape(body, i, &unit)) fail("a malformed \\u escape", input, json);
        if (unit >= 0xDC80 && unit <= 0xDCFF) {
            out += static_cast<char>(unit - 0xDC00);  // an escaped byte (surrogateescape)
            i += 6;
            continue;
        }
        if (unit >= 0xDC00 && unit <= 0xDFFF) fail("a low surrogate without a high one", input, json);
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            uint32_t low;
            if (!read_u_escape(body, i + 6, &low) || low < 0xDC00 || low > 0xDFFF) {
                fail("a high surrogate without a low one", input, json);
            }
            append_utf8(&out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
            i += 12;
            continue;
        }
        if (!(unit < 0x20 || unit == 0x7f)) {
            fail("a \\u escape of a character that could be written as it is", input, json);
        }
        append_utf8(&out, unit);
        i += 6;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The writer takes a C string: what it sees ends at the first NUL.
    std::string input(reinterpret_cast<const char*>(data), size);
    input = input.substr(0, input.find('\0'));

    const std::string json = render(input.c_str(), 4096);
    // A buffer of 1 to 16 bytes puts a flush inside escapes and multi-byte sequences.
    const std::string small = render(input.c_str(), 1 + size % 16);
    if (small != json) fail("the output depends on the writer's buffer size", input, small + "\" vs \"" + json);

    const std::string decoded = decode_json_string(input, json);
    if (decoded != expected_decoding(input)) {
        fail("the output does not decode to the input (as documented for invalid UTF-8)", input, json);
    }
    return 0;
}
