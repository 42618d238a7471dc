// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: parse_options (cpp/src/core/options.cpp), the -agentpath:...=<options> parser.
// The input is the option string (cut at its first NUL, as the JVM hands it over). A model of the
// documented contract (README "Options", options.h) parses it too. Properties, beyond ASan and
// UBSan finding nothing:
//   1. the parser accepts exactly what the model accepts, with the model's values: dir decoded
//      (%2C or %2c is a comma, %25 a percent sign) and never cut, timeout 0..600000, minidump
//      true/yes/1 or false/no/0, breadcrumbs 0..10000, native-calls all or ';'-separated class
//      name prefixes (at least one, shorter than 1024 bytes), each option at most once, defaults
//      for the others;
//   2. a rejection's message, in the 1024 bytes the agent gives it, starts "crashagent: ", names
//      the option (the unknown or valueless name quoted, at least its first 16 bytes) and says
//      what is wrong, and is whole: it ends with the allowed values or the way out;
//   3. a smaller error buffer (0 to 63 bytes) changes nothing but cuts the message, which stays
//      terminated inside it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/options.h"
#include "printable.h"

using crashagent::kOptionsHelp;
using crashagent::kPathCapacity;
using crashagent::Options;
using crashagent::parse_options;

namespace {

constexpr size_t kAgentErrorCapacity = 1024;  // cpp/src/jvm/agent.cpp gives the parser this much
constexpr size_t kItemLimit = kPathCapacity + 31;  // longest key=value between commas

struct Expected {
    bool ok = true;
    std::string dir;
    uint32_t timeout_ms = 5000;
    bool minidump = false;
    uint32_t breadcrumbs = 100;
    std::string native_calls;
    std::string key;      // the option the error must name
    std::string phrase;   // what the error must say
    std::string ending;   // how the whole error ends
};

[[noreturn]] void fail(const char* what, const std::string& input, const std::string& detail) {
    fprintf(stderr, "options property violated: %s\n  input: \"%s\"\n  %s\n", what, printable(input).c_str(),
            printable(detail).c_str());
    abort();
}

Expected reject(const std::string& key, const std::string& phrase, const std::string& ending) {
    Expected e;
    e.ok = false;
    e.key = key;
    e.phrase = phrase;
    e.ending = ending;
    return e;
}

// The contract, written from the README's table and options.h rather than from options.cpp.
Expected model(const std::string& text) {
    Expected e;
    bool seen_dir = false, seen_timeout = false, seen_minidump = false, seen_breadcrumbs = false,
         seen_native_calls = false;
    const std::string calls_ending = "(for example com.example.;org.lib.Native)";
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(start, comma - start);
        start = comma + 1;
        if (item.size() > kItemLimit) {
            std::string name = item.substr(0, item.find('='));
            return reject(name, "too long", name.size() < item.size() && name.size() <= 36 ? " characters" : kOptionsHelp);
        }
        if (item.empty()) continue;
        size_t eq = item.find('=');
        if (eq == std::string::npos) return reject(item, "has no value", kOptionsHelp);
        std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        if (key == "dir") {
            if (seen_dir) return reject(key, "is given twice", "give each option once");
            seen_dir = true;
            if (value.empty()) return reject(key, "is empty", "for the working directory");
            std::string dir;
            for (size_t i = 0; i < value.size(); i++) {
                if (value.compare(i, 3, "%2C") == 0 || value.compare(i, 3, "%2c") == 0) {
                    dir += ',';
                    i += 2;
                } else if (value.compare(i, 3, "%25") == 0) {
                    dir += '%';
                    i += 2;
                } else {
                    dir += value[i];
                }
            }
            // A path that does not fit Options::dir must be refused, never cut to another path.
            if (dir.size() >= kPathCapacity) return reject(key, "too long", " characters");
            e.dir = dir;
        } else if (key == "timeout") {
            if (seen_timeout) return reject(key, "is given twice", "give each option once");
            seen_timeout = true;
            bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
            size_t first = value.find_first_not_of('0');
            std::string significant = first == std::string::npos ? "0" : value.substr(first);
            if (!digits || significant.size() > 6 || std::stoul(significant) > 600000) {
                return reject(key, "has value", "(default 5000)");
            }
            e.timeout_ms = static_cast<uint32_t>(std::stoul(significant));
        } else if (key == "minidump") {
            if (seen_minidump) return reject(key, "is given twice", "give each option once");
            seen_minidump = true;
            if (value == "true" || value == "yes" || value == "1") {
                e.minidump = true;
            } else if (value == "false" || value == "no" || value == "0") {
                e.minidump = false;
            } else {
                return reject(key, "has value", "(default false)");
            }
        } else if (key == "breadcrumbs") {
            if (seen_breadcrumbs) return reject(key, "is given twice", "give each option once");
            seen_breadcrumbs = true;
            bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
            size_t first = value.find_first_not_of('0');
            std::string significant = first == std::string::npos ? "0" : value.substr(first);
            if (!digits || significant.size() > 5 || std::stoul(significant) > 10000) {
                return reject(key, "has value", "(default 100)");
            }
            e.breadcrumbs = static_cast<uint32_t>(std::stoul(significant));
        } else if (key == "native-calls") {
            if (seen_native_calls) return reject(key, "is given twice", "give each option once");
            seen_native_calls = true;
            if (value.empty()) return reject(key, "is empty", calls_ending);
            bool any = false;
            size_t from = 0;
            while (from < value.size()) {
                size_t semicolon = value.find(';', from);
                if (semicolon == std::string::npos) semicolon = value.size();
                std::string prefix = value.substr(from, semicolon - from);
                // 'all' stands alone: with prefixes, or followed by ';', it is a mistake.
                if (prefix == "all" && (from != 0 || semicolon != value.size())) {
                    return reject(key, "cannot be combined", calls_ending);
                }
                for (char ch : prefix) {
                    unsigned char u = static_cast<unsigned char>(ch);
                    bool name = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
                                u == '$' || u == '.' || u == '/' || u >= 0x80;
                    if (!name) return reject(key, "with a character that is not in a class name", calls_ending);
                }
                if (!prefix.empty()) any = true;
                from = semicolon + 1;
            }
            if (!any) return reject(key, "with no prefix", calls_ending);
            if (value.size() >= kPathCapacity) return reject(key, "is too long", calls_ending);
            e.native_calls = value;
        } else {
            return reject(key, "unknown option", kOptionsHelp);
        }
    }
    return e;
}

bool ends_with(const std::string& s, const std::string& end) {
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    text = text.substr(0, text.find('\0'));
    const Expected want = model(text);

    Options got;
    char error[kAgentErrorCapacity];
    memset(error, 'x', sizeof(error));
    const bool ok = parse_options(text.c_str(), &got, error, sizeof(error));
    if (!memchr(error, '\0', sizeof(error))) fail("the error is not terminated", text, "");
    const std::string message = error;

    if (ok != want.ok) {
        fail(ok ? "accepted what the contract rejects" : "rejected what the contract accepts", text,
             ok ? "expected an error about '" + want.key + "' (" + want.phrase + ")" : "error: " + message);
    }
    if (ok) {
        if (!message.empty()) fail("an error message on success", text, message);
        if (got.timeout_ms > 600000) fail("timeout out of range", text, std::to_string(got.timeout_ms));
        if (got.timeout_ms != want.timeout_ms) fail("wrong timeout", text, std::to_string(got.timeout_ms));
        if (got.minidump != want.minidump) fail("wrong minidump", text, got.minidump ? "true" : "false");
        if (got.breadcrumbs != want.breadcrumbs) fail("wrong breadcrumbs", text, std::to_string(got.breadcrumbs));
        if (!memchr(got.native_calls, '\0', sizeof(got.native_calls))) fail("native-calls is not terminated", text, "");
        if (std::string(got.native_calls) != want.native_calls) {
            fail("wrong native-calls", text, "got '" + std::string(got.native_calls) + "'");
        }
        if (!memchr(got.dir, '\0', sizeof(got.dir))) fail("dir is not terminated", text, "");
        if (std::string(got.dir) != want.dir) fail("wrong dir", text, "got dir '" + std::string(got.dir) + "'");
    } else {
        if (message.rfind("crashagent: ", 0) != 0) fail("the error does not start 'crashagent: '", text, message);
        if (message.find("'" + want.key.substr(0, 16)) == std::string::npos) {
            fail("the error does not name the option", text, "'" + want.key + "' not in: " + message);
        }
        if (message.find(want.phrase) == std::string::npos) {
            fail("the error does not say what is wrong", text, "'" + want.phrase + "' not in: " + message);
        }
        if (!ends_with(message, want.ending)) {
            fail("the error is cut or does not end with the allowed values", text, message);
        }
    }

    // Any error buffer, however small: the same result, the message cut and terminated inside it.
    const size_t capacity = size % 64;
    std::unique_ptr<char[]> small(new char[capacity]);  // ASan catches a write past it, even at 0
    Options again;
    if (parse_options(text.c_str(), &again, small.get(), capacity) != ok) fail("result depends on the error buffer", text, "");
    if (capacity > 0) {
        if (!memchr(small.get(), '\0', capacity)) fail("a small error buffer is not terminated", text, "");
        if (message.compare(0, strlen(small.get()), small.get()) != 0) fail("a small error buffer differs", text, small.get());
    }
    if (ok && (again.timeout_ms != got.timeout_ms || again.minidump != got.minidump ||
               again.breadcrumbs != got.breadcrumbs || strcmp(again.dir, got.dir) != 0 ||
               strcmp(again.native_calls, got.native_calls) != 0)) {
        fail("values depend on the error buffer", text, "");
    }
    return 0;
}
