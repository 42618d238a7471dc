// SPDX-License-Identifier: Apache-2.0
// Unit tests of the platform-independent core.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/crash_record.h"
#include "core/jvm_code.h"
#include "core/native_methods.h"
#include "core/options.h"
#include "core/report.h"
#include "core/thread_registry.h"
#include "core/writer.h"

using namespace crashagent;

namespace {

struct Captured {
    std::string text;
    static bool write(void* context, const char* data, size_t len) {
        static_cast<Captured*>(context)->text.append(data, len);
        return true;
    }
};

template <typename F>
std::string render(F f) {
    Captured out;
    char buffer[7];  // tiny on purpose: every write crosses a flush
    Writer w(buffer, sizeof(buffer), Sink{&Captured::write, &out});
    f(w);
    w.flush();
    return out.text;
}

CrashRecord& fresh_record() {
    static CrashRecord r;
    record_reset(&r);
    r.jvm_version[0] = '\0';
    r.hs_err_path[0] = '\0';
    return r;
}

int add_module(CrashRecord& r, const char* path, uint64_t base, uint64_t end) {
    Module& m = r.modules[r.module_count];
    m.build_id[0] = m.pdb_name[0] = m.debug_id[0] = m.code_id[0] = '\0';
    m.base = base;
    m.end = end;
    str_copy(m.path, sizeof(m.path), path);
    return r.module_count++;
}

void add_frame(CrashRecord& r, uint64_t pc, const char* symbol = "", uint64_t symbol_offset = 0) {
    NativeFrame& f = r.frames[r.frame_count++];
    f.pc = pc;
    f.module = record_find_module(r, pc);
    str_copy(f.symbol, sizeof(f.symbol), symbol);
    f.symbol_offset = symbol_offset;
    f.jvm_code[0] = '\0';
}

std::string describe(uint64_t address) {
    char out[kJvmCodeTextCapacity];
    bool found = jvm_code_describe(address, out, sizeof(out));
    CHECK(found == (out[0] != '\0'));
    return out;
}

}  // namespace

TEST_CASE("writer formats numbers and escapes JSON") {
    CHECK(render([](Writer& w) { w.udec(0); }) == "0");
    CHECK(render([](Writer& w) { w.dec(-42); }) == "-42");
    CHECK(render([](Writer& w) { w.udec(18446744073709551615ull); }) == "18446744073709551615");
    CHECK(render([](Writer& w) { w.dec(INT64_MIN); }) == "-9223372036854775808");
    CHECK(render([](Writer& w) { w.hex(0xdeadbeef); }) == "deadbeef");
    CHECK(render([](Writer& w) { w.hex(0x1f, 4); }) == "001f");
    CHECK(render([](Writer& w) { w.json_string("a\"b\\c\nd\x01"); }) == "\"a\\\"b\\\\c\\nd\\u0001\"");
    CHECK(render([](Writer& w) { w.json_string(nullptr); }) == "null");
}

TEST_CASE("JSON strings are valid UTF-8, and bytes that are not UTF-8 can be had back") {
    // Valid UTF-8 passes through unchanged.
    CHECK(render([](Writer& w) { w.json_string("\xd0\x9e\xd0\xb1 \xe2\x82\xac \xf0\x9f\x98\x80"); }) ==
          "\"\xd0\x9e\xd0\xb1 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    // A name cut in the middle of a character (comm names are cut at 15 bytes): each byte that is
    // not UTF-8 becomes U+DC00 + byte (surrogateescape), so it can be had back.
    CHECK(render([](Writer& w) { w.json_string("ab\xd0"); }) == "\"ab\\udcd0\"");
    CHECK(render([](Writer& w) { w.json_string("\xe2\x82"); }) == "\"\\udce2\\udc82\"");
    // Bytes that are never UTF-8, overlong forms and lone surrogates; a Latin-1 file name.
    CHECK(render([](Writer& w) { w.json_string("\xff\xc1\xbf"); }) == "\"\\udcff\\udcc1\\udcbf\"");
    CHECK(render([](Writer& w) { w.json_string("\xed\xa0\x80x"); }) == "\"\\udced\\udca0\\udc80x\"");
    CHECK(render([](Writer& w) { w.json_string("/data/caf\xe9/lib.so"); }) == "\"/data/caf\\udce9/lib.so\"");
    // JVMTI's modified UTF-8: the two-byte NUL and a surrogate pair (U+1F600).
    CHECK(render([](Writer& w) { w.json_string("a\xc0\x80" "b"); }) == "\"a\\u0000b\"");
    CHECK(render([](Writer& w) { w.json_string("\xed\xa0\xbd\xed\xb8\x80"); }) == "\"\\ud83d\\ude00\"");
}

TEST_CASE("string sink truncates and terminates") {
    char out[5];
    StringSink sink{out, sizeof(out), 0};
    char buffer[3];
    Writer w(buffer, sizeof(buffer), sink.sink());
    w.str("abcdefgh");
    w.flush();
    CHECK(std::string(out) == "abcd");
}

TEST_CASE("path helpers") {
    CHECK(std::string(path_basename("/usr/lib/libc.so.6")) == "libc.so.6");
    CHECK(std::string(path_basename("C:\\Windows\\System32\\ntdll.dll")) == "ntdll.dll");
    CHECK(is_system_module("/lib/x86_64-linux-gnu/libc.so.6"));
    CHECK(is_system_module("C:\\windows\\system32\\KERNELBASE.dll"));
    CHECK(is_system_module("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"));
    CHECK(is_system_module("/usr/lib/x86_64-linux-gnu/libc.so.6"));
    CHECK_FALSE(is_system_module("/opt/app/libcrashtest.so"));
    CHECK_FALSE(is_system_module("/usr/lib/libcrypto.so.3"));
    CHECK_FALSE(is_system_module("/opt/libc.so_other"));
    CHECK(is_system_module("/lib/x86_64-linux-gnu/libc-2.31.so"));
    CHECK(is_system_module("/lib64/ld-2.28.so"));
    CHECK_FALSE(is_system_module("/opt/app/libcrashtest-2.so.1"));
    CHECK_FALSE(is_system_module("/opt/app/ld-helper.so"));
}

TEST_CASE("options: defaults") {
    Options o;
    char error[512];
    REQUIRE(parse_options(nullptr, &o, error, sizeof(error)));
    CHECK(o.dir[0] == '\0');
    CHECK(o.timeout_ms == 5000);
    CHECK_FALSE(o.minidump);
    CHECK(o.breadcrumbs == 100);
    CHECK(o.native_calls[0] == '\0');
    REQUIRE(parse_options("", &o, error, sizeof(error)));
}

TEST_CASE("options: native-calls= takes all or ';'-separated prefixes, and says so otherwise") {
    Options o;
    char error[512];
    REQUIRE(parse_options("native-calls=all", &o, error, sizeof(error)));
    CHECK(std::string(o.native_calls) == "all");
    REQUIRE(parse_options("native-calls=com.example.;org/lib/Native$Inner;", &o, error, sizeof(error)));
    CHECK(std::string(o.native_calls) == "com.example.;org/lib/Native$Inner;");
    for (const char* bad : {"native-calls=", "native-calls=;", "native-calls=all;com.x", "native-calls=com.x;all",
                            "native-calls=com x", "native-calls=com.*"}) {
        CHECK_FALSE(parse_options(bad, &o, error, sizeof(error)));
        CHECK_MESSAGE(std::string(error).find("option 'native-calls'") != std::string::npos, error);
        CHECK_MESSAGE(std::string(error).find("allowed: all, or class or package prefixes separated by ';'") !=
                          std::string::npos, error);
    }
    CHECK_FALSE(parse_options("native-calls=all,native-calls=all", &o, error, sizeof(error)));
    CHECK(std::string(error).find("option 'native-calls' is given twice") != std::string::npos);
}

TEST_CASE("options: breadcrumbs= takes 0 to 10000, and says so otherwise") {
    Options o;
    char error[512];
    REQUIRE(parse_options("breadcrumbs=0", &o, error, sizeof(error)));
    CHECK(o.breadcrumbs == 0);
    REQUIRE(parse_options("breadcrumbs=10000", &o, error, sizeof(error)));
    CHECK(o.breadcrumbs == 10000);
    for (const char* bad : {"breadcrumbs=10001", "breadcrumbs=-1", "breadcrumbs=", "breadcrumbs=lots", "breadcrumbs=1e3"}) {
        CHECK_FALSE(parse_options(bad, &o, error, sizeof(error)));
        CHECK_MESSAGE(std::string(error).find("option 'breadcrumbs' has value '") != std::string::npos, error);
        CHECK_MESSAGE(std::string(error).find("allowed: a whole number from 0 (off) to 10000 (default 100)") !=
                          std::string::npos, error);
    }
    CHECK_FALSE(parse_options("breadcrumbs=1,breadcrumbs=2", &o, error, sizeof(error)));
    CHECK(std::string(error).find("option 'breadcrumbs' is given twice") != std::string::npos);
}

TEST_CASE("options: values") {
    Options o;
    char error[512];
    REQUIRE(parse_options("dir=/tmp/crashes,timeout=250,minidump=true,", &o, error, sizeof(error)));
    CHECK(std::string(o.dir) == "/tmp/crashes");
    CHECK(o.timeout_ms == 250);
    CHECK(o.minidump);
    REQUIRE(parse_options("dir=C:\\crashes", &o, error, sizeof(error)));
    CHECK(std::string(o.dir) == "C:\\crashes");
}

TEST_CASE("options: errors name the option and the allowed values") {
    Options o;
    char error[512];
    CHECK_FALSE(parse_options("colour=red", &o, error, sizeof(error)));
    CHECK(std::string(error).find("unknown option 'colour'") != std::string::npos);
    CHECK(std::string(error).find("timeout=") != std::string::npos);

    CHECK_FALSE(parse_options("timeout=soon", &o, error, sizeof(error)));
    CHECK(std::string(error).find("'timeout'") != std::string::npos);
    CHECK(std::string(error).find("0 to 600000") != std::string::npos);

    CHECK_FALSE(parse_options("timeout=600001", &o, error, sizeof(error)));
    CHECK_FALSE(parse_options("timeout=", &o, error, sizeof(error)));
    CHECK_FALSE(parse_options("minidump=maybe", &o, error, sizeof(error)));
    CHECK(std::string(error).find("true or false") != std::string::npos);
    CHECK_FALSE(parse_options("dir=", &o, error, sizeof(error)));
    CHECK_FALSE(parse_options("verbose", &o, error, sizeof(error)));
    CHECK(std::string(error).find("'verbose' has no value") != std::string::npos);
}

TEST_CASE("options: a value too long names its own option") {
    Options o;
    char error[512];
    CHECK_FALSE(parse_options(("timeout=" + std::string(2000, '1')).c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option 'timeout' is too long: over 1055 characters");
    CHECK_FALSE(parse_options(("dir=/" + std::string(2000, 'd')).c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option 'dir' is too long: over 1055 characters");
    CHECK_FALSE(parse_options(("timeout=5,dir=/" + std::string(2000, 'd')).c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error).find("option 'dir' is too long") != std::string::npos);
    CHECK_FALSE(parse_options(std::string(2000, 'k').c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error).find("an option name is too long ('kkkk") != std::string::npos);
    CHECK(std::string(error).find("...'); allowed options: dir=") != std::string::npos);
}

TEST_CASE("options: a comma or a percent sign in dir= is written %2C or %25") {
    Options o;
    char error[512];
    REQUIRE(parse_options("dir=/data/a%2Cb%2cc,timeout=10", &o, error, sizeof(error)));
    CHECK(std::string(o.dir) == "/data/a,b,c");
    CHECK(o.timeout_ms == 10);
    REQUIRE(parse_options("dir=/data/100%25/x%2", &o, error, sizeof(error)));
    CHECK(std::string(o.dir) == "/data/100%/x%2");
}

TEST_CASE("options: a dir= path too long for the agent is refused, never cut") {
    Options o;
    char error[512];
    const std::string longest = "/" + std::string(kPathCapacity - 2, 'd');
    REQUIRE(parse_options(("dir=" + longest).c_str(), &o, error, sizeof(error)));
    CHECK(std::string(o.dir) == longest);
    CHECK_FALSE(parse_options(("dir=" + longest + "d,timeout=1").c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option 'dir' is too long: over 1023 characters");
    // Counted as decoded: %2C is one character.
    const std::string almost = "/" + std::string(kPathCapacity - 4, 'd');
    REQUIRE(parse_options(("dir=" + almost + "%2C%2C").c_str(), &o, error, sizeof(error)));
    CHECK(std::string(o.dir) == almost + ",,");
    CHECK_FALSE(parse_options(("dir=" + almost + "%2C%2C%2C").c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error).find("option 'dir' is too long") != std::string::npos);
}

TEST_CASE("options: each option at most once") {
    Options o;
    char error[512];
    CHECK_FALSE(parse_options("timeout=100,dir=/tmp,timeout=200", &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option 'timeout' is given twice; give each option once");
    CHECK_FALSE(parse_options("dir=/a,dir=/b", &o, error, sizeof(error)));
    CHECK(std::string(error).find("option 'dir' is given twice") != std::string::npos);
    CHECK_FALSE(parse_options("minidump=true,minidump=false", &o, error, sizeof(error)));
    REQUIRE(parse_options("dir=/a,timeout=1,minidump=false", &o, error, sizeof(error)));
}

TEST_CASE("options: a long name or value is quoted cut, and the message keeps the allowed values") {
    Options o;
    char error[1024];  // as much as the agent gives
    const std::string help = kOptionsHelp;
    CHECK_FALSE(parse_options(std::string(1000, 'v').c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option '" + std::string(64, 'v') + "...' has no value; allowed options: " + help);
    CHECK_FALSE(parse_options(std::string(64, 'v').c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option '" + std::string(64, 'v') + "' has no value; allowed options: " + help);
    CHECK_FALSE(parse_options((std::string(1000, 'k') + "=1").c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: unknown option '" + std::string(64, 'k') + "...'; allowed options: " + help);
    CHECK_FALSE(parse_options(("timeout=" + std::string(1000, '9')).c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option 'timeout' has value '" + std::string(64, '9') +
                                    "...'; allowed: a whole number of milliseconds from 0 to 600000 (default 5000)");
    CHECK_FALSE(parse_options(("minidump=" + std::string(1000, 'y')).c_str(), &o, error, sizeof(error)));
    CHECK(std::string(error) == "crashagent: option 'minidump' has value '" + std::string(64, 'y') +
                                    "...'; allowed: true or false (default false)");
}

TEST_CASE("options: an error buffer of size 0 is neither read nor written") {
    // The 0-byte buffer sits right before an inaccessible page: any access to it crashes the test.
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* map = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(map != MAP_FAILED);
    char* pages = static_cast<char*>(map);
    REQUIRE(mprotect(pages + page, page, PROT_NONE) == 0);
    char* error = pages + page;
    Options o;
    CHECK_FALSE(parse_options(("timeout=" + std::string(2000, '1')).c_str(), &o, error, 0));
    CHECK_FALSE(parse_options("colour=red", &o, error, 0));
    format_report_dir_error("/nonexistent", "No such file or directory", error, 0);
    munmap(map, 2 * page);
}

TEST_CASE("signature skips system frames and is stable") {
    CrashRecord& r = fresh_record();
    r.kind = "SIGSEGV";
    add_module(r, "/lib/x86_64-linux-gnu/libc.so.6", 0x7000, 0x9000);
    add_module(r, "/opt/app/libcrashtest.so", 0x1000, 0x3000);
    add_frame(r, 0x7100, "memcpy", 0x10);
    add_frame(r, 0x1234, "helper", 4);
    add_frame(r, 0x1500, "Java_Crash_run", 8);
    str_copy(r.native_method, sizeof(r.native_method), "app.Crash.run()V");
    record_compute_signature(&r);
    CHECK(r.crash_frame == 1);
    CHECK(std::string(r.signature_text) == "libcrashtest.so+0x234|libcrashtest.so+0x500|java:app.Crash.run()V");
    CHECK(std::strlen(r.signature) == 16);
    std::string first = r.signature;

    // Same code at another load address: same signature.
    CrashRecord& again = fresh_record();
    again.kind = "SIGSEGV";
    add_module(again, "/usr/lib/libc.so.6", 0x17000, 0x19000);
    add_module(again, "/other/path/libcrashtest.so", 0x51000, 0x53000);
    add_frame(again, 0x17100);
    add_frame(again, 0x51234);
    add_frame(again, 0x51500);
    str_copy(again.native_method, sizeof(again.native_method), "app.Crash.run()V");
    record_compute_signature(&again);
    CHECK(first == again.signature);
}

TEST_CASE("signature leaves out frames outside any module (JIT code)") {
    CrashRecord& r = fresh_record();
    r.kind = "SIGSEGV";
    add_module(r, "/opt/app/libcrashtest.so", 0x1000, 0x3000);
    add_frame(r, 0x1234);
    add_frame(r, 0x7fb5389455da);  // compiled Java code: address differs every run
    add_frame(r, 0x1300);
    record_compute_signature(&r);
    CHECK(std::string(r.signature_text) == "libcrashtest.so+0x234|libcrashtest.so+0x300");
}

TEST_CASE("native method is the outermost frame starting at a bound entry") {
    native_methods_clear();
    CrashRecord& r = fresh_record();
    add_module(r, "/opt/app/libcrashtest.so", 0x1000, 0x3000);
    native_methods_add(0x1400, "app.Crash.inner()V");
    native_methods_add(0x1800, "app.Crash.outer()V");
    add_frame(r, 0x1420, "inner", 0x20);
    add_frame(r, 0x1810, "outer", 0x10);
    add_frame(r, 0x1900, "not_bound", 0x10);
    native_methods_resolve(&r);
    CHECK(std::string(r.native_method) == "app.Crash.outer()V");

    CrashRecord& none = fresh_record();
    add_module(none, "/opt/app/libcrashtest.so", 0x1000, 0x3000);
    add_frame(none, 0x1420, "thread_main", 0x10);  // starts at 0x1410: not a bound method
    native_methods_resolve(&none);
    CHECK(std::string(none.native_method).empty());
}

TEST_CASE("thread registry") {
    int a = 1, b = 2;
    thread_registry_add(100, &a);
    thread_registry_add(8292, &b);  // same slot modulo the table size
    CHECK(thread_registry_find(100) == &a);
    CHECK(thread_registry_find(8292) == &b);
    CHECK(thread_registry_remove(100) == &a);
    CHECK(thread_registry_find(100) == nullptr);
    CHECK(thread_registry_find(8292) == &b);
    CHECK(thread_registry_remove(8292) == &b);
    CHECK(thread_registry_find(4242) == nullptr);
}

TEST_CASE("JSON report holds what docs/report-format.md describes") {
    CrashRecord& r = fresh_record();
    r.platform = "linux-x86_64";
    r.kind = "SIGSEGV";
    r.detail = "SEGV_MAPERR";
    r.code = 11;
    r.pc = 0x1234;
    r.thread_id = 77;
    str_copy(r.thread_name, sizeof(r.thread_name), "main");
    add_module(r, "/opt/app/lib\"quoted\".so", 0x1000, 0x3000);
    add_frame(r, 0x1234, "Java_Crash_run", 4);
    r.registers[r.register_count++] = Register{"rip", 0x1234};
    str_copy(r.hs_err_path, sizeof(r.hs_err_path), "/work/hs_err_pid1.log");
    record_compute_signature(&r);
    r.java_frame_count.store(1);
    str_copy(r.java_frames[0].class_name, kNameCapacity, "app.Crash");
    str_copy(r.java_frames[0].method, kNameCapacity, "run");
    r.java_frames[0].line = -2;
    str_copy(r.listeners[0].name, kNameCapacity, "app.L");
    str_copy(r.listeners[0].outcome, 512, "ok");
    r.listeners[0].state.store(static_cast<int>(ListenerState::kDone));
    str_copy(r.listeners[1].name, kNameCapacity, "app.Hangs");
    r.listeners[1].state.store(static_cast<int>(ListenerState::kRunning));

    std::string json = render([&](Writer& w) { write_json_report(r, "timed_out", 5000, w); });
    for (const char* expected : {
             "\"schema_version\": 2", "\"kind\": \"SIGSEGV\"", "\"detail\": \"SEGV_MAPERR\"",
             "\"module\": \"/opt/app/lib\\\"quoted\\\".so\"", "\"module_offset\": \"0x234\"",
             "\"symbol\": \"Java_Crash_run\"", "\"name\": \"main\"", "\"java_stack\": [",
             "\"method\": \"run\"", "\"rip\": \"0x1234\"", "\"hs_err\": \"/work/hs_err_pid1.log\"",
             "\"status\": \"timed_out\"", "\"outcome\": \"ok\"", "\"outcome\": \"did not finish\"",
             "\"signature\": \"", "\"minidump\": null"}) {
        CHECK_MESSAGE(json.find(expected) != std::string::npos, expected);
    }
    std::string log = render([&](Writer& w) {
        write_log_native(r, w);
        write_log_java(r, "timed_out", w);
    });
    CHECK(log.find("kind:          SIGSEGV (SEGV_MAPERR)") != std::string::npos);
    CHECK(log.find("at app.Crash.run(Native Method)") != std::string::npos);
    CHECK(log.find("app.Hangs: did not finish") != std::string::npos);
}

TEST_CASE("a crash noted before the owner resets the record stays noted") {
    // claim_crash notes a concurrent crash as soon as the owner has claimed; the owner resets the
    // record only afterwards, when it starts filling it in.
    static CrashRecord r;
    r.other_crashes[0].thread_id.store(202);
    r.other_crashes[0].code.store(11);
    r.other_crash_count.store(1);
    record_reset(&r);
    CHECK(r.other_crash_count.load() == 1);
    CHECK(r.other_crashes[0].thread_id.load() == 202);
}

TEST_CASE("JVM code: each kind is named, and unloaded methods are forgotten") {
    jvm_code_clear();
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x1000, "Interpreter");
    jvm_code_add(JvmCodeKind::kCompiled, 0x20000, 0x200, "app.Hot.loop(I)J");
    jvm_code_add(JvmCodeKind::kNativeWrapper, 0x30000, 0x180, "app.Crash.run()V");
    CHECK(describe(0x10000) == "Interpreter");
    CHECK(describe(0x10fff) == "Interpreter");
    CHECK(describe(0x11000) == "");
    CHECK(describe(0x0ffff) == "");
    CHECK(describe(0x20100) == "compiled app.Hot.loop(I)J");
    CHECK(describe(0x30000) == "native wrapper for app.Crash.run()V");
    CHECK(jvm_code_live_count() == 3);
    CHECK(jvm_code_contains(0x30010));
    CHECK_FALSE(jvm_code_contains(0x40000));

    jvm_code_remove(0x20000);
    CHECK(describe(0x20100) == "");
    CHECK(jvm_code_live_count() == 2);
    jvm_code_remove(0x10000);  // stubs have no unload event: an address match is not enough
    CHECK(describe(0x10000) == "Interpreter");
    jvm_code_remove(0x30000);
    CHECK(describe(0x30000) == "");
    CHECK(jvm_code_dropped() == 0);
}

TEST_CASE("JVM code: the narrowest entry wins, then the newest") {
    jvm_code_clear();
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x8000, "StubRoutines (1)");
    jvm_code_add(JvmCodeKind::kStub, 0x10400, 0x40, "call_stub");
    CHECK(describe(0x10410) == "call_stub");
    CHECK(describe(0x10500) == "StubRoutines (1)");
    // A method compiled where an older blob of the same size was.
    jvm_code_add(JvmCodeKind::kStub, 0x40000, 0x100, "old buffer");
    jvm_code_add(JvmCodeKind::kCompiled, 0x40000, 0x100, "app.New.m()V");
    CHECK(describe(0x40080) == "compiled app.New.m()V");
}

TEST_CASE("JVM code: a replay keeps what was posted already, once") {
    jvm_code_clear();
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x200, "I2C/C2I adapters(0xbb)");
    jvm_code_begin_replay();
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x200, "I2C/C2I adapters");
    jvm_code_add(JvmCodeKind::kStub, 0x20000, 0xf0, "jni_fast_GetIntField");
    jvm_code_end_replay();
    CHECK(jvm_code_live_count() == 2);
    CHECK(describe(0x10000) == "I2C/C2I adapters(0xbb)");
    CHECK(describe(0x20010) == "jni_fast_GetIntField");
    // Outside a replay an equal range is a new entry (a method compiled again at the same place).
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x200, "again");
    CHECK(jvm_code_live_count() == 3);
}

TEST_CASE("JVM code: long names are cut, empty and wrapped ranges are ignored") {
    jvm_code_clear();
    std::string name = "app." + std::string(300, 'x') + ".m()V";
    jvm_code_add(JvmCodeKind::kNativeWrapper, 0x10000, 0x100, name.c_str());
    std::string text = describe(0x10000);
    CHECK(text == "native wrapper for " + name.substr(0, kJvmCodeNameCapacity - 1));
    jvm_code_add(JvmCodeKind::kStub, 0x20000, 0, "empty");
    jvm_code_add(JvmCodeKind::kStub, 0, 0x100, "at zero");
    jvm_code_add(JvmCodeKind::kStub, UINT64_MAX - 0x10, 0x100, "wraps");
    CHECK(jvm_code_live_count() == 1);
    jvm_code_add(JvmCodeKind::kStub, 0x30000, 0x10, nullptr);
    CHECK(describe(0x30000) == "(unnamed)");
}

TEST_CASE("JVM code: a full table drops and counts, and unloads make room again") {
    jvm_code_clear();
    for (int i = 0; i < kJvmCodeCapacity; i++) {
        jvm_code_add(JvmCodeKind::kCompiled, 0x100000 + 0x100ull * static_cast<uint64_t>(i), 0x100, "app.M.m()V");
    }
    CHECK(jvm_code_dropped() == 0);
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x100, "too many");
    CHECK(jvm_code_dropped() == 1);
    CHECK(describe(0x10000) == "");
    jvm_code_remove(0x100000 + 0x100ull * 77);
    CHECK(describe(0x100000 + 0x100ull * 77) == "");
    jvm_code_add(JvmCodeKind::kStub, 0x10000, 0x100, "fits now");
    CHECK(describe(0x10000) == "fits now");
    CHECK(jvm_code_dropped() == 1);
    CHECK(jvm_code_live_count() == kJvmCodeCapacity);
}

TEST_CASE("JVM code: frames outside modules are named, callers by their call instruction") {
    jvm_code_clear();
    jvm_code_add(JvmCodeKind::kNativeWrapper, 0x50000, 0x100, "app.Crash.run()V");
    jvm_code_add(JvmCodeKind::kStub, 0x50100, 0x100, "Interpreter");
    CrashRecord& r = fresh_record();
    r.kind = "SIGSEGV";
    add_module(r, "/opt/app/libcrashtest.so", 0x1000, 0x3000);
    add_frame(r, 0x1234, "write_through_null", 4);
    add_frame(r, 0x1500, "Java_app_Crash_run", 8);
    add_frame(r, 0x50100);  // return address right after the wrapper's call: the wrapper's
    add_frame(r, 0x7000);   // in nothing known
    str_copy(r.native_method, sizeof(r.native_method), "app.Crash.run()V");
    jvm_code_resolve(&r);
    CHECK(std::string(r.frames[0].jvm_code).empty());
    CHECK(std::string(r.frames[2].jvm_code) == "native wrapper for app.Crash.run()V");
    CHECK(std::string(r.frames[3].jvm_code).empty());
    CHECK(r.jvm_code_dropped == 0);

    record_compute_signature(&r);
    CHECK(std::string(r.signature_text) ==
          "libcrashtest.so+0x234|libcrashtest.so+0x500|java:app.Crash.run()V");

    CHECK(render([&](Writer& w) { write_frame_text(r, r.frames[2], w); }) ==
          "[JVM code: native wrapper for app.Crash.run()V]");
    CHECK(render([&](Writer& w) { write_frame_text(r, r.frames[3], w); }) == "?+0x7000");
    std::string json = render([&](Writer& w) { write_json_report(r, "pending", 5000, w); });
    CHECK(json.find("\"jvm_code\": \"native wrapper for app.Crash.run()V\"}") != std::string::npos);
    CHECK(json.find("\"symbol_offset\": \"0x4\", \"jvm_code\": null}") != std::string::npos);
    CHECK(json.find("\"code_blobs_dropped\": 0}") != std::string::npos);
    std::string log = render([&](Writer& w) { write_log_native(r, w); });
    CHECK(log.find("#2 pc=0x0000000000050100 [JVM code: native wrapper for app.Crash.run()V]\n") != std::string::npos);
    CHECK(log.find("#3 pc=0x0000000000007000 ?+0x7000\n") != std::string::npos);
    CHECK(log.find("were not recorded") == std::string::npos);

    // The first frame is looked up at the pc itself: a fault at the first byte after a blob is
    // not in it.
    CrashRecord& after = fresh_record();
    add_frame(after, 0x50200);
    jvm_code_resolve(&after);
    CHECK(std::string(after.frames[0].jvm_code).empty());
}

TEST_CASE("JVM code: a crash in compiled code names it in the log header, and a full table is said") {
    jvm_code_clear();
    jvm_code_add(JvmCodeKind::kCompiled, 0x60000, 0x400, "app.Hot.read(Ljava/nio/ByteBuffer;)J");
    CrashRecord& r = fresh_record();
    r.kind = "SIGSEGV";
    r.pc = 0x60010;
    add_frame(r, 0x60010);
    jvm_code_resolve(&r);
    r.jvm_code_dropped = 12;
    record_compute_signature(&r);
    CHECK(std::string(r.signature_text) == "SIGSEGV");
    std::string log = render([&](Writer& w) { write_log_native(r, w); });
    CHECK(log.find("\njvm code:      compiled app.Hot.read(Ljava/nio/ByteBuffer;)J\n") != std::string::npos);
    CHECK(log.find("(12 blobs of JVM code were not recorded") != std::string::npos);
    std::string json = render([&](Writer& w) { write_json_report(r, "pending", 5000, w); });
    CHECK(json.find("\"code_blobs_dropped\": 12}") != std::string::npos);
}

TEST_CASE("JVM code: readers never see a torn entry while slots are reused") {
    jvm_code_clear();
    // A writer keeps adding an entry over one range, each time with another name (a single
    // letter repeated), and unloading it, so the slot is rewritten under the reader. Whatever the
    // reader finds must be one whole name, never words of two. (Without the sequence lock's second
    // look at the tag this fails in most runs.)
    constexpr uint64_t kStart = 0x100000;
    std::atomic<bool> stop{false};
    std::atomic<long> torn{0};
    std::atomic<long> found{0};
    auto writer = [&](char first) {
        std::string names[8];
        for (int c = 0; c < 8; c++) names[c] = std::string(kJvmCodeNameCapacity - 1, static_cast<char>(first + c));
        for (int round = 0; round < 400000; round++) {
            jvm_code_add(JvmCodeKind::kCompiled, kStart, 0x800, names[round % 8].c_str());
            jvm_code_remove(kStart);
        }
    };
    std::thread reader([&] {
        char out[kJvmCodeTextCapacity];
        const std::string prefix = "compiled ";
        while (!stop.load()) {
            if (!jvm_code_describe(kStart + 0x10, out, sizeof(out))) continue;
            found.fetch_add(1);
            std::string text(out);
            std::string name = text.substr(prefix.size());
            bool whole = text.compare(0, prefix.size(), prefix) == 0 && name.size() == kJvmCodeNameCapacity - 1 &&
                         name.find_first_not_of(name[0]) == std::string::npos;
            if (!whole) torn.fetch_add(1);
        }
    });
    std::thread a(writer, 'a');
    a.join();
    stop.store(true);
    reader.join();
    CHECK(torn.load() == 0);
    CHECK(jvm_code_live_count() == 0);
    CHECK(jvm_code_dropped() == 0);
    MESSAGE("entries read while slots were reused: " << found.load());
}

TEST_CASE("the diagnosis says in plain words what happened") {
    auto diagnose = [](auto setup) {
        CrashRecord& r = fresh_record();
        r.kind = "SIGSEGV";
        add_module(r, "/opt/app/libfoo.so", 0x10000, 0x20000);
        add_frame(r, 0x11000, "leaf");
        setup(r);
        record_compute_signature(&r);
        record_diagnose(&r);
        return std::string(r.diagnosis);
    };
    CHECK(diagnose([](CrashRecord& r) {
              r.fault_address = 0x10;
              r.access = "write";
          }) == "null pointer dereference (write at address 0x10, offset 16 from null)");
    CHECK(diagnose([](CrashRecord& r) { r.fault_address = 0; }) == "null pointer dereference");
    CHECK(diagnose([](CrashRecord& r) {
              r.fault_address = 0x15000;
              r.access = "write";
              r.fault_mapped = 1;
          }) == "write to read-only memory at 0x15000 in libfoo.so");
    CHECK(diagnose([](CrashRecord& r) {
              r.fault_address = 0xdead0000;
              r.detail = "SEGV_MAPERR";
              r.fault_mapped = 0;
          }) == "access to unmapped memory at 0xdead0000 (a wild or dangling pointer)");
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "EXCEPTION_ACCESS_VIOLATION";
              r.fault_address = r.pc = 0x15000;
              r.access = "execute";
              r.fault_mapped = 1;
          }) == "execution of non-executable memory at 0x15000 in libfoo.so");
    CHECK(diagnose([](CrashRecord& r) {
              r.fault_address = r.pc = 0x41414141;
              r.access = "execute";
              r.fault_mapped = 0;
          }) == "call or jump to unmapped address 0x41414141 (a bad function pointer or a corrupted return address)");
    CHECK(diagnose([](CrashRecord& r) {
              r.stack_overflow = true;
              str_copy(r.thread_name, sizeof(r.thread_name), "worker-1");
          }) == "stack overflow: thread worker-1 ran out of stack (deep or unbounded recursion, or a large local array)");
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "SIGABRT";
              r.has_fault_address = false;
              r.sender_pid = 7;
          }) == "abort() called by libfoo.so (SIGABRT)");
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "SIGABRT";
              str_copy(r.frames[0].symbol, sizeof(r.frames[0].symbol), "_ZSt9terminatev");
          }) == "uncaught C++ exception (std::terminate) in libfoo.so");
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "SIGABRT";
              r.origin = "jvm";
              str_copy(r.native_method, sizeof(r.native_method), "app.Db.serialize()V");
          }) == "the JVM aborted the process (a fatal error inside the VM, such as a -Xcheck:jni check) while "
                "app.Db.serialize()V was running");
    CHECK(diagnose([](CrashRecord& r) {
              r.origin = "external";
              r.has_fault_address = false;
              r.sender_pid = 1234;
              r.sender_uid = 1000;
          }) == "signal SIGSEGV sent by process 1234 (uid 1000): nothing in this process faulted");
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "SIGFPE";
              r.detail = "FPE_INTDIV";
          }) == "integer division by zero");
    CHECK(diagnose([](CrashRecord& r) { r.kind = "EXCEPTION_INT_DIVIDE_BY_ZERO"; }) == "integer division by zero");
    CHECK(diagnose([](CrashRecord& r) { r.kind = "SIGILL"; }).rfind("illegal instruction", 0) == 0);
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "SIGTRAP";
              r.detail = "TRAP_BRKPT";
          }) == "breakpoint trap (a brk instruction, such as __builtin_trap or a check the compiler placed)");
    CHECK(diagnose([](CrashRecord& r) {
              r.kind = "SIGBUS";
              r.detail = "BUS_ADRERR";
              r.fault_address = 0x7f0000001000;
          }) == "access to a mapped file beyond its end, or to memory the system could not provide at 0x7f0000001000");
    CHECK(diagnose([](CrashRecord& r) {
              r.fault_address = 0x15000;
              r.has_fault_address = false;
              r.sender_pid = 99;
          }).find(", raised by the process itself") != std::string::npos);
}

TEST_CASE("str_equal takes null: it equals only null") {
    CHECK(str_equal(nullptr, nullptr));
    CHECK_FALSE(str_equal(nullptr, "write"));
    CHECK_FALSE(str_equal("write", nullptr));
    CHECK(str_equal("write", "write"));
}

TEST_CASE("a general-protection fault is a wild pointer, not a null pointer") {
    CrashRecord& r = fresh_record();
    r.kind = "SIGSEGV";
    r.detail = "SI_KERNEL";
    r.has_fault_address = false;  // as the Linux backend records it: si_addr is 0 then
    record_compute_signature(&r);
    record_diagnose(&r);
    CHECK(std::string(r.diagnosis) == "access through a wild pointer (a non-canonical address; the CPU does not say which)");
}

TEST_CASE("the signature blames the JNI library, not the JVM frames a failed JNI check runs in") {
    CrashRecord& r = fresh_record();
    r.kind = "SIGABRT";
    add_module(r, "/lib/x86_64-linux-gnu/libc.so.6", 0x1000, 0x2000);
    add_module(r, "/usr/lib/jvm/java-17/lib/server/libjvm.so", 0x10000, 0x90000);
    add_module(r, "/tmp/libsqlitejdbc.so", 0xa0000, 0xb0000);
    add_module(r, "/usr/lib/jvm/java-17/lib/libjli.so", 0xc0000, 0xd0000);
    add_frame(r, 0x1100);   // abort
    add_frame(r, 0x12000);  // the JVM's fatal error path
    add_frame(r, 0x13000);  // checked_jni_...
    add_frame(r, 0xa1234);  // the JNI library
    add_frame(r, 0xa2000);
    add_frame(r, 0x14000);  // call stub
    add_frame(r, 0xc1000);  // the launcher
    str_copy(r.native_method, sizeof(r.native_method), "org.sqlite.core.NativeDB.serialize(Ljava/lang/String;)[B");
    record_compute_signature(&r);
    CHECK(std::string(r.signature_text) ==
          "libsqlitejdbc.so+0x1234|libsqlitejdbc.so+0x2000|java:org.sqlite.core.NativeDB.serialize(Ljava/lang/String;)[B");
    CHECK(r.crash_frame == 3);

    // A crash with the JVM's frames only (a JVM bug) keeps them.
    CrashRecord& jvm = fresh_record();
    jvm.kind = "SIGSEGV";
    add_module(jvm, "/usr/lib/jvm/java-17/lib/server/libjvm.so", 0x10000, 0x90000);
    add_frame(jvm, 0x12000);
    add_frame(jvm, 0x13000);
    record_compute_signature(&jvm);
    CHECK(std::string(jvm.signature_text) == "libjvm.so+0x2000|libjvm.so+0x3000");
}

TEST_CASE("an abort from inside the JVM, above a JNI library, is the JVM's") {
    CrashRecord& r = fresh_record();
    r.kind = "SIGABRT";
    add_module(r, "/lib/x86_64-linux-gnu/libc.so.6", 0x1000, 0x2000);
    add_module(r, "/usr/lib/jvm/java-17/lib/server/libjvm.so", 0x10000, 0x90000);
    add_module(r, "/tmp/libsqlitejdbc.so", 0xa0000, 0xb0000);
    add_frame(r, 0x1100);
    add_frame(r, 0x12000);
    add_frame(r, 0xa1234);
    str_copy(r.native_method, sizeof(r.native_method), "org.sqlite.core.NativeDB.serialize()[B");
    record_compute_signature(&r);
    record_diagnose(&r);
    CHECK(std::string(r.diagnosis) == "the JVM aborted the process (a fatal error inside the VM, such as a -Xcheck:jni "
                                      "check) while org.sqlite.core.NativeDB.serialize()[B was running");
}

TEST_CASE("java_class_name turns a class signature into a Java name, cut to the capacity") {
    char out[20];
    java_class_name(out, sizeof(out), "Ljava/lang/String;");
    CHECK(std::string(out) == "java.lang.String");
    java_class_name(out, sizeof(out), "Lio/github/crashagent/CrashAgent;");
    CHECK(std::string(out) == "io.github.crashagen");  // 19 characters and the terminator
    java_class_name(out, sizeof(out), "[Ljava/lang/Object;");
    CHECK(std::string(out) == "[Ljava.lang.Object;");
    java_class_name(out, sizeof(out), "I");
    CHECK(std::string(out) == "I");
    java_class_name(out, sizeof(out), "");
    CHECK(std::string(out).empty());
}
