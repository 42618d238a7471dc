// SPDX-License-Identifier: Apache-2.0
// Crash context throughout: every function in this file may run in a fault handler.
#include "core/writer.h"

namespace crashagent {

Writer::Writer(char* buffer, size_t capacity, Sink sink)
    : buffer_(buffer), capacity_(capacity), sink_(sink) {}

void Writer::flush() {
    if (length_ > 0 && !failed_) {
        if (!sink_.write(sink_.context, buffer_, length_)) failed_ = true;
    }
    length_ = 0;
}

void Writer::raw(const char* data, size_t len) {
    while (len > 0) {
        if (length_ == capacity_) flush();
        size_t room = capacity_ - length_;
        size_t n = len < room ? len : room;
        for (size_t i = 0; i < n; i++) buffer_[length_ + i] = data[i];
        length_ += n;
        data += n;
        len -= n;
    }
}

void Writer::str(const char* s) {
    if (s) raw(s, str_length(s));
}

// Crash context.
void Writer::ch(char c) { raw(&c, 1); }

void Writer::udec(uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    raw(tmp + sizeof(tmp) - n, static_cast<size_t>(n));
}

void Writer::dec(int64_t v) {
    if (v < 0) {
        ch('-');
        udec(static_cast<uint64_t>(0) - static_cast<uint64_t>(v));
    } else {
        udec(static_cast<uint64_t>(v));
    }
}

// Crash context.
void Writer::hex(uint64_t v, int min_digits) { hex_digits(v, min_digits, "0123456789abcdef"); }

// Crash context.
void Writer::hex_upper(uint64_t v, int min_digits) { hex_digits(v, min_digits, "0123456789ABCDEF"); }

void Writer::hex_digits(uint64_t v, int min_digits, const char* digits) {
    char tmp[16];
    int n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = digits[v & 0xf];
        v >>= 4;
    } while (v != 0 && n < 16);
    while (n < min_digits && n < 16) tmp[sizeof(tmp) - 1 - n++] = '0';
    raw(tmp + sizeof(tmp) - n, static_cast<size_t>(n));
}

namespace {

// Crash context.
bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the valid UTF-8 sequence at p (1 to 4), or 0 when it is not valid:
// overlong forms, surrogates, code points above U+10FFFF and cut sequences are all invalid.
int utf8_sequence(const unsigned char* p) {
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) return continuation(p[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && continuation(p[2]) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && continuation(p[2]) && continuation(p[3]) ? 4 : 0;
    }
    return 0;
}

// A surrogate encoded on its own in three bytes (CESU-8, as JVMTI's modified
// UTF-8 encodes characters above U+FFFF); returns the UTF-16 unit or 0.
unsigned surrogate_unit(const unsigned char* p) {
    if (p[0] != 0xED || p[1] < 0xA0 || p[1] > 0xBF || !continuation(p[2])) return 0;
    return 0xD000u | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
}

}  // namespace

// Escapes per RFC 8259 and always produces valid UTF-8: strings come from the
// OS (any bytes), from JVMTI (modified UTF-8) or were cut at a buffer's end. Modified UTF-8's
// two-byte NUL and surrogate pairs become \u escapes; any other invalid byte becomes U+FFFD.
void Writer::json_string(const char* s) {
    if (!s) {
        str("null");
        return;
    }
    ch('"');
    const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
    while (*p) {
        unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
                case '"': str("\\\""); break;
                case '\\': str("\\\\"); break;
                case '\n': str("\\n"); break;
                case '\r': str("\\r"); break;
                case '\t': str("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x7f) {
                        str("\\u00");
                        hex(c, 2);
                    } else {
                        ch(static_cast<char>(c));
                    }
            }
            p++;
            continue;
        }
        if (c == 0xC0 && p[1] == 0x80) {
            str("\\u0000");
            p += 2;
            continue;
        }
        unsigned high = surrogate_unit(p);
        if (high >= 0xD800 && high <= 0xDBFF) {
            unsigned low = surrogate_unit(p + 3);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                str("\\u");
                hex(high, 4);
                str("\\u");
                hex(low, 4);
                p += 6;
                continue;
            }
        }
        int n = utf8_sequence(p);
        if (n == 0) {
            // A byte that is not UTF-8 (a file name in another encoding, a name cut mid-character)
            // becomes U+DC80..U+DCFF, Python's surrogateescape: the bytes can be had back
            // (path.encode("utf-8", "surrogateescape")), where U+FFFD would lose them.
            str("\\udc");
            hex(c, 2);
            p++;
            continue;
        }
        raw(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
        p += n;
    }
    ch('"');
}

bool StringSink::write(void* context, const char* data, size_t len) {
    StringSink* self = static_cast<StringSink*>(context);
    if (self->capacity == 0) return true;
    for (size_t i = 0; i < len && self->length + 1 < self->capacity; i++) {
        self->out[self->length++] = data[i];
    }
    self->out[self->length] = '\0';
    return true;
}

size_t str_length(const char* s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

// Always terminates dst when capacity > 0.
void java_class_name(char* out, size_t capacity, const char* signature) {
    if (capacity == 0) return;
    size_t n = str_length(signature);
    if (n >= 2 && signature[0] == 'L' && signature[n - 1] == ';') {
        signature++;
        n -= 2;
    }
    size_t i = 0;
    for (; i < n && i + 1 < capacity; i++) out[i] = signature[i] == '/' ? '.' : signature[i];
    out[i] = '\0';
}

void str_copy(char* dst, size_t capacity, const char* src) {
    if (capacity == 0) return;
    size_t i = 0;
    if (src) {
        for (; src[i] && i + 1 < capacity; i++) dst[i] = src[i];
    }
    dst[i] = '\0';
}

bool str_equal(const char* a, const char* b) {
    if (!a || !b) return a == b;  // record fields such as detail and access may be null
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

// Crash context.
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool str_equal_nocase(const char* a, const char* b) {
    while (*a && lower(*a) == lower(*b)) {
        a++;
        b++;
    }
    return lower(*a) == lower(*b);
}

bool str_starts_with(const char* s, const char* prefix) {
    while (*prefix) {
        if (*s++ != *prefix++) return false;
    }
    return true;
}

// Accepts both separators so Windows paths work on any host.
const char* path_basename(const char* path) {
    if (!path) return nullptr;
    const char* base = path;
    for (const char* p = path; *p; p++) {
        if (*p == '/' || *p == '\\') base = p + 1;
    }
    return base;
}

}  // namespace crashagent
