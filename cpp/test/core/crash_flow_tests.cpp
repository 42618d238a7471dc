// SPDX-License-Identifier: Apache-2.0
// crash_flow.cpp over the fake platform: where a report goes, what it says when the disk fails,
// the hand-off to the dispatcher, and the crash claim between threads.
#include <doctest/doctest.h>

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crash_flow.h"
#include "core/writer.h"
#include "fake_platform.h"

using namespace crashagent;

namespace {

struct TempDirs {
    std::string root, reports, fallback;
    TempDirs() {
        char pattern[] = "/tmp/crashagent-flow-XXXXXX";
        root = mkdtemp(pattern);
        reports = root + "/reports";
        fallback = root + "/tmp";
        mkdir(reports.c_str(), 0700);
        mkdir(fallback.c_str(), 0700);
    }
    ~TempDirs() {
        std::string command = "rm -rf '" + root + "'";
        if (system(command.c_str()) != 0) MESSAGE("could not remove " << root);
    }
};

std::set<std::string> files_in(const std::string& dir) {
    std::set<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') names.insert(e->d_name);
        }
        closedir(d);
    }
    return names;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A crash as a backend fills it in, ready for report_crash.
CrashRecord* crash_in(const TempDirs& dirs) {
    fake::reset();
    fake::state().fallback_dir = dirs.fallback;
    str_copy(g_agent.report_dir, sizeof(g_agent.report_dir), dirs.reports.c_str());
    g_agent.options.timeout_ms = 5000;
    g_agent.dispatcher_available.store(0);
    g_agent.dispatcher_thread.store(0);
    g_agent.exit_during_dispatch.store(0);
    g_agent.report_done.store(0);
    CrashRecord* r = &g_record;
    record_reset(r);
    r->platform = "linux-x86_64";
    r->kind = "SIGSEGV";
    r->code = 11;
    r->pc = 0x1234;
    r->frames[0].pc = 0x1234;
    r->frames[0].module = -1;
    r->frame_count = 1;
    return r;
}

const std::string kPid = "4242";  // the fake's process id

}  // namespace

TEST_CASE("a report goes to the report directory, and a name taken by an earlier report gets the next number") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    std::ofstream(dirs.reports + "/crashagent_pid" + kPid + ".json") << "earlier";
    report_crash(r);
    CHECK(files_in(dirs.reports) == std::set<std::string>{"crashagent_pid" + kPid + ".json",
                                                          "crashagent_pid" + kPid + "_1.json",
                                                          "crashagent_pid" + kPid + "_1.log"});
    CHECK(read_file(dirs.reports + "/crashagent_pid" + kPid + ".json") == "earlier");
    std::string json = read_file(dirs.reports + "/crashagent_pid" + kPid + "_1.json");
    CHECK(json.find("\"status\": \"not_started\"") != std::string::npos);
    CHECK(json.find("\"note\": null") != std::string::npos);
    CHECK(read_file(dirs.reports + "/crashagent_pid" + kPid + "_1.log").find("end of crashagent report") !=
          std::string::npos);
    CHECK(g_agent.report_done.load() == 1);
}

TEST_CASE("one base name for a report's files: an earlier report's lone .log, .json or .dmp takes its number") {
    for (const char* earlier : {".log", ".json", ".dmp"}) {
        CAPTURE(earlier);
        TempDirs dirs;
        CrashRecord* r = crash_in(dirs);
        std::ofstream(dirs.reports + "/crashagent_pid" + kPid + earlier) << "earlier";
        CHECK(free_report_number(dirs.reports.c_str(), 4242, 0, nullptr) == 1);
        report_crash(r);
        CHECK(files_in(dirs.reports) == std::set<std::string>{"crashagent_pid" + kPid + earlier,
                                                              "crashagent_pid" + kPid + "_1.json",
                                                              "crashagent_pid" + kPid + "_1.log"});
    }
}

TEST_CASE("a minidump placed before the report: the report takes the dump's base name, not the next one") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    std::ofstream(dirs.reports + "/crashagent_pid" + kPid + ".json") << "earlier";
    std::ofstream(dirs.reports + "/crashagent_pid" + kPid + "_1.dmp") << "earlier";
    // As the Windows backend places its dump: under the first free number, before the report.
    int n = free_report_number(dirs.reports.c_str(), 4242, 0, nullptr);
    CHECK(n == 2);
    report_file_path(r->minidump_path, sizeof(r->minidump_path), dirs.reports.c_str(), 4242, n, ".dmp");
    std::ofstream(r->minidump_path) << "MDMP";
    CHECK(free_report_number(dirs.reports.c_str(), 4242, 0, r->minidump_path) == 2);
    CHECK(free_report_number(dirs.reports.c_str(), 4242, 0, nullptr) == 3);
    report_crash(r);
    CHECK(files_in(dirs.reports) == std::set<std::string>{"crashagent_pid" + kPid + ".json",
                                                          "crashagent_pid" + kPid + "_1.dmp",
                                                          "crashagent_pid" + kPid + "_2.dmp",
                                                          "crashagent_pid" + kPid + "_2.json",
                                                          "crashagent_pid" + kPid + "_2.log"});
    CHECK(read_file(dirs.reports + "/crashagent_pid" + kPid + "_2.json").find("crashagent_pid" + kPid + "_2.dmp") !=
          std::string::npos);
}

TEST_CASE("free_report_number: every number taken gives -1, and it never starts below 0") {
    TempDirs dirs;
    for (int n = 0; n < 100; n++) {
        char path[kPathCapacity];
        report_file_path(path, sizeof(path), dirs.reports.c_str(), 4242, n, ".dmp");
        std::ofstream(path) << "x";
    }
    CHECK(free_report_number(dirs.reports.c_str(), 4242, 0, nullptr) == -1);
    CHECK(free_report_number(dirs.reports.c_str(), 4243, -5, nullptr) == 0);
    CHECK(free_report_number(dirs.reports.c_str(), 4243, 7, nullptr) == 7);
}

TEST_CASE("a full report directory: the whole report in the temp directory, nothing partial left, and why") {
    for (long long free_bytes : {0LL, 100LL, 1000LL}) {  // the whole report takes about 3 KB
        CAPTURE(free_bytes);
        TempDirs dirs;
        CrashRecord* r = crash_in(dirs);
        fake::state().full_dir = dirs.reports;
        fake::state().full_free = free_bytes;
        report_crash(r);
        CHECK(files_in(dirs.reports).empty());
        CHECK(files_in(dirs.fallback) == std::set<std::string>{"crashagent_pid" + kPid + ".json",
                                                               "crashagent_pid" + kPid + ".log"});
        std::string json = read_file(dirs.fallback + "/crashagent_pid" + kPid + ".json");
        std::string note = "report directory " + dirs.reports + ": no space left on device; wrote to the temp directory " +
                           dirs.fallback + " instead";
        CHECK(json.find(note) != std::string::npos);
        CHECK(fake::state().stderr_text.find("report: " + dirs.fallback + "/crashagent_pid" + kPid + ".json") !=
              std::string::npos);
    }
}

TEST_CASE("both directories full: no file anywhere, the log on stderr, and no report named") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    fake::state().full_dir = dirs.reports;
    fake::state().full_free = 0;
    fake::state().fallback_dir = dirs.reports;  // the temp directory is the same full one
    report_crash(r);
    CHECK(files_in(dirs.reports).empty());
    const std::string& err = fake::state().stderr_text;
    CHECK(err.find("could not write the crash report to " + dirs.reports) != std::string::npos);
    CHECK(err.find("the report follows (no space left on device)") != std::string::npos);
    CHECK(err.find("report: ") == std::string::npos);
}

TEST_CASE("no temporary name for the JSON report: the next number, then the temp directory") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    fake::state().taken_tmp_dir = dirs.reports;
    report_crash(r);
    CHECK(files_in(dirs.reports).empty());  // neither number left a log without its JSON
    std::string json = read_file(dirs.fallback + "/crashagent_pid" + kPid + ".json");
    CHECK(json.find("no temporary file could be created; wrote to the temp directory") != std::string::npos);
}

TEST_CASE("each listener outcome is on disk when the dispatcher reports progress") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    g_agent.dispatcher_available.store(1);
    g_agent.dispatcher_thread.store(1);  // not this thread
    using W = platform::DispatchWait;
    fake::state().dispatch_script = {W::kProgress, W::kProgress, W::kDone};
    std::string json_path = dirs.reports + "/crashagent_pid" + kPid + ".json";
    std::vector<std::string> seen;  // the report on disk at each wait
    fake::state().on_dispatch_wait = [&] {
        seen.push_back(read_file(json_path));
        int wait = fake::state().dispatch_waits;
        ListenerOutcome& l = r->listeners[0];
        if (wait == 1) {
            r->dispatch_state.store(static_cast<int>(DispatchState::kRunning));
            str_copy(l.name, sizeof(l.name), "app.FirstListener");
            l.state.store(static_cast<int>(ListenerState::kRunning));
        } else if (wait == 2) {
            str_copy(l.outcome, sizeof(l.outcome), "ok");
            l.state.store(static_cast<int>(ListenerState::kDone));
        } else {
            r->dispatch_state.store(static_cast<int>(DispatchState::kComplete));
        }
    };
    report_crash(r);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].find("\"status\": \"pending\"") != std::string::npos);
    CHECK(seen[1].find("\"status\": \"running\"") != std::string::npos);
    CHECK(seen[1].find("{\"name\": \"app.FirstListener\", \"outcome\": \"did not finish\"}") != std::string::npos);
    CHECK(seen[2].find("{\"name\": \"app.FirstListener\", \"outcome\": \"ok\"}") != std::string::npos);
    std::string final_json = read_file(json_path);
    CHECK(final_json.find("\"status\": \"complete\"") != std::string::npos);
    CHECK(final_json.find("{\"name\": \"app.FirstListener\", \"outcome\": \"ok\"}") != std::string::npos);
}

TEST_CASE("a disk that fills while the listeners run: the whole report moves, the first one goes") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    g_agent.dispatcher_available.store(1);
    g_agent.dispatcher_thread.store(1);
    fake::state().on_dispatch_wait = [&] {
        fake::state().full_dir = dirs.reports;
        fake::state().full_free = 0;
        r->dispatch_state.store(static_cast<int>(DispatchState::kComplete));
    };
    report_crash(r);
    CHECK(files_in(dirs.reports).empty());
    std::string json = read_file(dirs.fallback + "/crashagent_pid" + kPid + ".json");
    CHECK(json.find("\"status\": \"complete\"") != std::string::npos);
    CHECK(json.find("no space left on device after the listeners ran; wrote to the temp directory") !=
          std::string::npos);
    CHECK(read_file(dirs.fallback + "/crashagent_pid" + kPid + ".log").find("end of crashagent report") !=
          std::string::npos);
}

TEST_CASE("an exit during the dispatch: the running listener is marked, the report says interrupted") {
    TempDirs dirs;
    CrashRecord* r = crash_in(dirs);
    g_agent.dispatcher_available.store(1);
    g_agent.dispatcher_thread.store(1);
    g_agent.crashing_thread.store(platform::current_thread_id());
    fake::state().on_dispatch_wait = [&] {
        r->dispatch_state.store(static_cast<int>(DispatchState::kRunning));
        ListenerOutcome& l = r->listeners[0];
        str_copy(l.name, sizeof(l.name), "app.ExitingListener");
        l.state.store(static_cast<int>(ListenerState::kRunning));
        // VMDeath, from the listener's System.exit (its waits run on the virtual clock).
        fake::state().on_dispatch_wait = nullptr;
        exit_during_dispatch();
    };
    report_crash(r);
    std::string json = read_file(dirs.reports + "/crashagent_pid" + kPid + ".json");
    CHECK(json.find("\"status\": \"interrupted\"") != std::string::npos);
    CHECK(json.find("\"outcome\": \"did not finish: the JVM began to exit while it ran (System.exit or Runtime.halt)\"") !=
          std::string::npos);
    CHECK(json.find("the JVM began to exit while listener 1 (app.ExitingListener) ran") != std::string::npos);
    release_crash_claim();
}

TEST_CASE("one thread owns a crash; the others are noted, and a released claim can be taken again") {
    release_crash_claim();
    constexpr int kThreads = 8;
    std::atomic<int> ready{0};
    std::atomic<int> first{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; i++) {
        threads.emplace_back([&] {
            ready.fetch_add(1);
            while (ready.load() < kThreads) {
            }
            CrashClaim claim = claim_crash(platform::current_thread_id(), 11);
            (claim == CrashClaim::kFirst ? first : other).fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    CHECK(first.load() == 1);
    CHECK(other.load() == kThreads - 1);
    CHECK(g_record.other_crash_count.load() == kThreads - 1);
    release_crash_claim();
    CHECK(g_record.other_crash_count.load() == 0);
    CHECK(claim_crash(platform::current_thread_id(), 11) == CrashClaim::kFirst);
    CHECK(claim_crash(platform::current_thread_id(), 11) == CrashClaim::kRecursive);
    release_crash_claim();
}

namespace {
int g_captures = 0;
void count_capture(void*) { g_captures++; }
}  // namespace

TEST_CASE("the claim policy: the owner captures then hands on; the others wait for that, and a crashing listener releases the owner") {
    TempDirs dirs;
    crash_in(dirs);
    release_crash_claim();
    g_captures = 0;
    g_agent.options.timeout_ms = 5000;

    // The owner captures once and then marks that it hands its crash on.
    CHECK(handle_claimed_crash(claim_crash(1, 11), count_capture, nullptr) == CrashClaim::kFirst);
    CHECK(g_captures == 1);
    CHECK(g_agent.owner_chaining.load() == 1);

    // The same thread faulting again captures nothing and leaves the rest to its backend.
    CHECK(handle_claimed_crash(claim_crash(1, 11), count_capture, nullptr) == CrashClaim::kRecursive);
    CHECK(g_captures == 1);

    // Another thread, once the owner hands on: it lets the JVM take the owner's crash first.
    uint64_t before = fake::state().clock_ms;
    CHECK(handle_claimed_crash(claim_crash(2, 11), count_capture, nullptr) == CrashClaim::kOther);
    CHECK(fake::state().clock_ms - before == kAfterOwnerChainsMs);
    CHECK(g_captures == 1);

    // An owner that never hands on: the other thread waits out the owner's whole allowance (capture,
    // budget, kOtherCrashWaitMs) from the claim, then goes on without the extra wait.
    release_crash_claim();
    REQUIRE(claim_crash(1, 11) == CrashClaim::kFirst);
    uint64_t claimed = g_agent.claim_time_ms.load();
    CHECK(handle_claimed_crash(claim_crash(2, 11), count_capture, nullptr) == CrashClaim::kOther);
    uint64_t waited = fake::state().clock_ms - claimed;
    CHECK(waited >= g_agent.options.timeout_ms + kOtherCrashWaitMs);
    CHECK(waited < g_agent.options.timeout_ms + kOtherCrashWaitMs + 10000 + kAfterOwnerChainsMs);
    CHECK(g_captures == 1);

    // The dispatcher crashing: the owner is told its dispatch is done before this thread waits.
    g_agent.dispatcher_thread.store(3);
    fake::state().dispatch_script.clear();
    handle_claimed_crash(claim_crash(3, 11), count_capture, nullptr);
    REQUIRE(!fake::state().dispatch_script.empty());
    CHECK(fake::state().dispatch_script.front() == platform::DispatchWait::kDone);
    g_agent.dispatcher_thread.store(0);
    release_crash_claim();
}
