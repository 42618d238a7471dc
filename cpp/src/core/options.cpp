// SPDX-License-Identifier: Apache-2.0
#include "core/options.h"

#include "core/app_context.h"
#include "core/writer.h"

namespace crashagent {

const char* const kOptionsHelp =
    "dir=<directory for reports, default: working directory>, "
    "timeout=<listener budget in milliseconds, 0..600000, default: 5000>, "
    "minidump=<true|false, Windows only, default: false>, "
    "breadcrumbs=<how many CrashAgent.breadcrumb messages the report keeps, 0..10000, default: 100>, "
    "native-calls=<all, or class or package prefixes separated by ';', whose JNI calls the report lists; "
    "default: off>";

namespace {

constexpr uint32_t kMaxTimeoutMs = 600000;

struct ErrorOut {
    char* out;
    size_t capacity;
};

void fail(ErrorOut e, const char* a, const char* b = nullptr, const char* c = nullptr,
          const char* d = nullptr) {
    StringSink sink{e.out, e.capacity, 0};
    char buffer[256];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str("crashagent: ");
    w.str(a);
    w.str(b);
    w.str(c);
    w.str(d);
    w.flush();
}

bool parse_bool(const char* v, bool* out) {
    if (str_equal(v, "true") || str_equal(v, "yes") || str_equal(v, "1")) {
        *out = true;
        return true;
    }
    if (str_equal(v, "false") || str_equal(v, "no") || str_equal(v, "0")) {
        *out = false;
        return true;
    }
    return false;
}

// The key of an option that is too long to copy: its name, cut to what fits a message.
void too_long(ErrorOut e, const char* item, size_t len, size_t limit) {
    char key[40];
    size_t n = 0;
    while (n < len && item[n] != '=' && n + 4 < sizeof(key)) {
        key[n] = item[n];
        n++;
    }
    bool cut = n < len && item[n] != '=';
    if (cut) key[n++] = '.', key[n++] = '.', key[n++] = '.';
    key[n] = '\0';
    char number[24];
    StringSink sink{number, sizeof(number), 0};
    char buffer[24];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.udec(limit);
    w.flush();
    if (cut) {
        fail(e, "an option name is too long ('", key, "'); allowed options: ", kOptionsHelp);
    } else {
        fail(e, "option '", key, "' is too long: over ", number);
        StringSink more{e.out, e.capacity, e.capacity ? str_length(e.out) : 0};
        Writer m(buffer, sizeof(buffer), more.sink());
        m.str(" characters");
        m.flush();
    }
}

// A key or value as a message quotes it: its first 64 bytes, then "...", so that the message
// still has room for what is wrong and the allowed values.
struct Quoted {
    char text[64 + 4];
    explicit Quoted(const char* s) {
        size_t n = 0;
        while (s[n] && n < 64) {
            text[n] = s[n];
            n++;
        }
        if (s[n]) text[n++] = '.', text[n++] = '.', text[n++] = '.';
        text[n] = '\0';
    }
};

bool parse_uint(const char* v, uint32_t max, uint32_t* out) {
    if (!*v) return false;
    uint64_t n = 0;
    for (const char* p = v; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        n = n * 10 + static_cast<uint64_t>(*p - '0');
        if (n > max) return false;
    }
    *out = static_cast<uint32_t>(n);
    return true;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
           c == '.' || c == '/' || static_cast<unsigned char>(c) >= 0x80;
}

// native-calls=all, or prefixes of Java class names (dots or slashes) separated by ';'.
bool parse_native_calls(ErrorOut err, const char* value, char* out, size_t capacity) {
    static const char* const kAllowed =
        "; allowed: all, or class or package prefixes separated by ';' (for example com.example.;org.lib.Native)";
    if (!*value) {
        fail(err, "option 'native-calls' is empty", kAllowed);
        return false;
    }
    bool any = false;
    for (const char* p = value; *p;) {
        const char* end = p;
        while (*end && *end != ';') end++;
        bool all = end - p == 3 && p[0] == 'a' && p[1] == 'l' && p[2] == 'l';
        if (all && (p != value || *end)) {
            fail(err, "option 'native-calls' has value '", Quoted(value).text,
                 "': 'all' cannot be combined with prefixes", kAllowed);
            return false;
        }
        for (const char* q = p; q < end; q++) {
            if (!is_name_char(*q)) {
                fail(err, "option 'native-calls' has value '", Quoted(value).text, "', with a character that is not in a class name",
                     kAllowed);
                return false;
            }
        }
        if (end > p) any = true;
        p = *end ? end + 1 : end;
    }
    if (!any) {
        fail(err, "option 'native-calls' has value '", Quoted(value).text, "', with no prefix", kAllowed);
        return false;
    }
    if (str_length(value) >= capacity) {
        fail(err, "option 'native-calls' is too long", kAllowed);
        return false;
    }
    str_copy(out, capacity, value);
    return true;
}

}  // namespace

bool parse_options(const char* text, Options* out, char* error, size_t error_capacity) {
    ErrorOut err{error, error_capacity};
    if (error_capacity) error[0] = '\0';
    *out = Options();
    if (!text) return true;

    // Each option at most once: a second value would silently win over the first.
    bool seen_dir = false, seen_timeout = false, seen_minidump = false, seen_breadcrumbs = false,
         seen_native_calls = false;
    const char* p = text;
    while (*p) {
        const char* end = p;
        while (*end && *end != ',') end++;
        char item[kPathCapacity + 32];
        size_t len = static_cast<size_t>(end - p);
        if (len >= sizeof(item)) {
            too_long(err, p, len, sizeof(item) - 1);
            return false;
        }
        for (size_t i = 0; i < len; i++) item[i] = p[i];
        item[len] = '\0';
        p = *end ? end + 1 : end;
        if (len == 0) continue;  // tolerate "a=1,,b=2" and a trailing comma

        char* eq = item;
        while (*eq && *eq != '=') eq++;
        if (!*eq) {
            fail(err, "option '", Quoted(item).text, "' has no value; allowed options: ", kOptionsHelp);
            return false;
        }
        *eq = '\0';
        const char* key = item;
        const char* value = eq + 1;
        bool* seen = str_equal(key, "dir") ? &seen_dir : str_equal(key, "timeout") ? &seen_timeout
                   : str_equal(key, "minidump") ? &seen_minidump
                   : str_equal(key, "breadcrumbs") ? &seen_breadcrumbs
                   : str_equal(key, "native-calls") ? &seen_native_calls : nullptr;
        if (seen && *seen) {
            fail(err, "option '", key, "' is given twice; give each option once");
            return false;
        }
        if (seen) *seen = true;

        if (str_equal(key, "dir")) {
            if (!*value) {
                fail(err, "option 'dir' is empty; give a directory, or leave dir out for the working directory");
                return false;
            }
            // Options are split at commas, so a comma in the path is written %2C (and % as %25).
            size_t n = 0;
            const char* v = value;
            for (; *v && n + 1 < sizeof(out->dir); v++) {
                if (v[0] == '%' && v[1] == '2' && (v[2] == 'C' || v[2] == 'c')) {
                    out->dir[n++] = ',';
                    v += 2;
                } else if (v[0] == '%' && v[1] == '2' && v[2] == '5') {
                    out->dir[n++] = '%';
                    v += 2;
                } else {
                    out->dir[n++] = *v;
                }
            }
            out->dir[n] = '\0';
            if (*v) {  // a path cut to fit would be another directory
                too_long(err, "dir=", 4, sizeof(out->dir) - 1);
                return false;
            }
        } else if (str_equal(key, "timeout")) {
            if (!parse_uint(value, kMaxTimeoutMs, &out->timeout_ms)) {
                fail(err, "option 'timeout' has value '", Quoted(value).text,
                     "'; allowed: a whole number of milliseconds from 0 to 600000 (default 5000)");
                return false;
            }
        } else if (str_equal(key, "minidump")) {
            if (!parse_bool(value, &out->minidump)) {
                fail(err, "option 'minidump' has value '", Quoted(value).text, "'; allowed: true or false (default false)");
                return false;
            }
        } else if (str_equal(key, "breadcrumbs")) {
            if (!parse_uint(value, kMaxBreadcrumbs, &out->breadcrumbs)) {
                fail(err, "option 'breadcrumbs' has value '", Quoted(value).text,
                     "'; allowed: a whole number from 0 (off) to 10000 (default 100)");
                return false;
            }
        } else if (str_equal(key, "native-calls")) {
            if (!parse_native_calls(err, value, out->native_calls, sizeof(out->native_calls))) return false;
        } else {
            fail(err, "unknown option '", Quoted(key).text, "'; allowed options: ", kOptionsHelp);
            return false;
        }
    }
    return true;
}

void format_report_dir_error(const char* dir, const char* problem, char* error, size_t error_capacity) {
    fail(ErrorOut{error, error_capacity}, "option 'dir': report directory '", dir, "' is not usable: ", problem);
    StringSink sink{error, error_capacity, error_capacity ? str_length(error) : 0};
    char buffer[128];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str("; give an existing writable directory, or leave dir out for the working directory");
    w.flush();
}

}  // namespace crashagent
