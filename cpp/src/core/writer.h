// SPDX-License-Identifier: Apache-2.0
// Formatting into a fixed buffer that drains into a sink. Crash context: no allocation,
// no locale, no stdio; used by the crash path on every platform.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crashagent {

struct Sink {
    // Writes len bytes; returns false on failure. Must itself be async-signal-safe.
    bool (*write)(void* context, const char* data, size_t len);
    void* context;
};

class Writer {
public:
    Writer(char* buffer, size_t capacity, Sink sink);

    void raw(const char* data, size_t len);
    void str(const char* s);            // null is written as nothing
    void ch(char c);
    void dec(int64_t v);
    void udec(uint64_t v);
    void hex(uint64_t v, int min_digits = 1);  // lowercase, no prefix
    void hex_upper(uint64_t v, int min_digits = 1);  // uppercase, as symbol servers key PE images
    void json_string(const char* s);    // quoted and escaped; null becomes JSON null
    void flush();
    bool failed() const { return failed_; }

private:
    void hex_digits(uint64_t v, int min_digits, const char* digits);
    char* buffer_;
    size_t capacity_;
    size_t length_ = 0;
    Sink sink_;
    bool failed_ = false;
};

// A sink that fills a caller's buffer and truncates; for building strings. Crash context.
struct StringSink {
    char* out;
    size_t capacity;
    size_t length;
    static bool write(void* context, const char* data, size_t len);
    Sink sink() { return Sink{&StringSink::write, this}; }
};

// Bounded string helpers, async-signal-safe.
size_t str_length(const char* s);
void str_copy(char* dst, size_t capacity, const char* src);
bool str_equal(const char* a, const char* b);  // null equals only null
bool str_equal_nocase(const char* a, const char* b);
bool str_starts_with(const char* s, const char* prefix);
const char* path_basename(const char* path);
// A JVM class signature ("Lpkg/Name;") as a Java name ("pkg.Name"), cut to capacity; anything
// else (a primitive or array signature) is copied with '/' turned into '.'.
void java_class_name(char* out, size_t capacity, const char* signature);

}  // namespace crashagent
