#!/usr/bin/env python3
"""Runs one Windows crash case under Wine and checks exit status, report contents and markers.

    run_case.py <case> <wine-run.sh> <crash_host.exe> <crashagent.dll>

Each run gets a fresh working directory, which is also the report directory. Where the expected
behaviour is "as without the agent", the case runs a second time with no agent and compares.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

CASE, WINE_RUN, HOST, AGENT = sys.argv[1:5]
RUN_TIMEOUT_S = 90

EXCEPTION_ACCESS_VIOLATION = 0xC0000005


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Run:
    def __init__(self, agent, case, options="dir=."):
        self.dir = tempfile.mkdtemp(prefix="crashagent-win-")
        args = [WINE_RUN, HOST, agent, case, options]
        try:
            p = subprocess.run(args, cwd=self.dir, capture_output=True, text=True, errors="replace",
                               timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise Failure(f"{case}: the process hung for {RUN_TIMEOUT_S} s")
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.reports = sorted(glob.glob(os.path.join(self.dir, "crashagent_pid*.json")))
        self.logs = sorted(glob.glob(os.path.join(self.dir, "crashagent_pid*.log")))

    def exists(self, name):
        return bool(glob.glob(os.path.join(self.dir, name)))

    def read(self, name):
        paths = glob.glob(os.path.join(self.dir, name))
        check(paths, f"{name} is missing")
        with open(paths[0], errors="replace") as f:
            return f.read()

    def report(self):
        check(len(self.reports) == 1, f"expected exactly one JSON report, found {len(self.reports)}")
        with open(self.reports[0]) as f:
            return json.load(f)

    def describe(self):
        lines = [f"exit status {self.rc}", "--- stdout", self.out, "--- stderr", self.err[-4000:],
                 "--- files", " ".join(sorted(os.listdir(self.dir)))]
        for path in self.reports[:1] + self.logs[:1]:
            with open(path, errors="replace") as f:
                lines += [f"--- {os.path.basename(path)}", f.read()[:6000]]
        return "\n".join(lines)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def basename(path):
    return (path or "").replace("\\", "/").rsplit("/", 1)[-1].lower()


def check_crash_report(run, code, kind, symbol=None, detail=None):
    r = run.report()
    crash = r["crash"]
    check(r["schema"] == "crashagent-report", "schema")
    check(r["platform"] == "windows-x86_64", f"platform {r['platform']}")
    check(crash["code"] == code, f"code {crash['code']:#x}, expected {code:#x}")
    check(crash["kind"] == kind, f"kind {crash['kind']}, expected {kind}")
    if detail is not None:
        check(crash["detail"] == detail, f"detail {crash['detail']}, expected {detail}")
    check(basename(crash["module"]) == "crashlib.dll", f"module {crash['module']}")
    check(crash["module_offset"] and int(crash["module_offset"], 16) > 0, "module_offset")
    if symbol:
        check(crash["symbol"] == symbol, f"symbol {crash['symbol']}, expected {symbol}")
    frames = r["native_frames"]
    check(frames and basename(frames[0]["module"]) in ("crashlib.dll",), f"first frame {frames[:1]}")
    for reg in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"] + [f"r{i}" for i in range(8, 16)] + \
            ["rip", "eflags"]:
        check(reg in r["registers"], f"register {reg} missing")
    check(int(r["registers"]["rip"], 16) == int(crash["pc"], 16), "rip is not the pc")
    names = {basename(m["path"]) for m in r["modules"]}
    for needed in ("crashlib.dll", "jvm.dll", "ntdll.dll", "kernel32.dll", "crash_host.exe"):
        check(needed in names, f"module list lacks {needed}: {sorted(names)}")
    check(r["signature"] and "crashlib.dll+0x" in r["signature_text"], f"signature {r['signature_text']}")
    check(r["report"]["minidump"] is None or isinstance(r["report"]["minidump"], str), "report.minidump")
    log = run.read("crashagent_pid*.log")
    check(f"({code:#x})" in log, "the log does not show the code in hex")
    check("end of crashagent report" in log, "the log is incomplete")
    check(not run.exists("crashagent_pid*.tmp"), "a temporary report file was left behind")
    return r


def check_no_report(run):
    check(not run.reports and not run.logs, "a report was written")


def hs_err(run):
    return run.read("hs_err_pid*.log")


FAULTS = {
    "illegal_instruction": (0xC000001D, "EXCEPTION_ILLEGAL_INSTRUCTION", "crash_illegal_instruction"),
    "divide_by_zero": (0xC0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO", "crash_divide_by_zero"),
    "privileged_instruction": (0xC0000096, "EXCEPTION_PRIV_INSTRUCTION", "crash_privileged_instruction"),
    "stack_overflow": (0xC00000FD, "EXCEPTION_STACK_OVERFLOW", None),
}


def run_case(case, runs):
    def go(agent=AGENT, name=case, options="dir=."):
        run = Run(agent, name, options)
        runs.append(run)
        return run

    if case == "av_java":
        run = go()
        check(run.rc == 1, f"exit status {run.rc}, expected 1 (the JVM's exit after hs_err)")
        r = check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write", "write")
        check(int(r["crash"]["fault_address"], 16) == 16, f"fault address {r['crash']['fault_address']}")
        check(r["origin"] == "native", "origin")
        check(r["report"]["minidump"] is None, "a minidump was named without minidump=true")
        check(r["other_crashes"] == [], "other crashes")
        check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
        check("EXCEPTION_ACCESS_VIOLATION captured" in run.err, "no message on stderr")
    elif case == "av_thread":
        base = go(agent="none")
        run = go()
        check(run.rc == base.rc, f"exit status {run.rc}, without the agent {base.rc}")
        check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}, expected 5 (access violation)")
        check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write", "write")
        check(base.exists("host_uef_called.txt"), "without the agent the host's filter was not called")
        check(run.exists("host_uef_called.txt"), "the previous unhandled-exception filter was not called")
        check(not run.exists("hs_err_pid*.log"), "hs_err on a thread outside Java calls")
    elif case == "caught":
        run = go()
        check(run.rc == 0, f"exit status {run.rc}")
        check("caught=1" in run.out and "host: continued" in run.out, "the process did not go on")
        check_no_report(run)
    elif case == "benign":
        run = go()
        check(run.rc == 0, f"exit status {run.rc}")
        check("benign exceptions resumed" in run.out and "C++ caught 42" in run.out and "host: continued" in run.out,
              "the process did not go on")
        check_no_report(run)
    elif case == "jvm_handled":
        run = go()
        check(run.rc == 0, f"exit status {run.rc}")
        check("jvm_probe returned -1" in run.out and "host: continued" in run.out, "the probe was not resumed")
        check_no_report(run)
    elif case == "jvm_fatal":
        run = go()
        check(run.rc == 1, f"exit status {run.rc}")
        hs_err(run)
        check_no_report(run)
    elif case == "unloaded_filter":
        run = go()
        check("host: filter library unloaded" in run.out, "the filter library was not unloaded")
        check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}, expected 5")
        check(not run.exists("dll_uef_called.txt"), "the unloaded library's filter was called")
        check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write", "write")
    elif case == "four_threads":
        run = go()
        check(run.rc == 1, f"exit status {run.rc}")
        r = check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write")
        others = r["other_crashes"]
        check(len(others) == 3, f"{len(others)} other crashes noted, expected 3: {others}")
        check(all(o["code"] == EXCEPTION_ACCESS_VIOLATION for o in others), "other crash codes")
        ids = {o["thread_id"] for o in others} | {r["thread"]["id"]}
        check(len(ids) == len(others) + 1, f"thread ids {ids}: a thread was noted twice or is the owner")
        hs_err(run)
    elif case in FAULTS:
        code, kind, symbol = FAULTS[case]
        run = go()
        check(run.rc == 1, f"exit status {run.rc}, expected 1")
        check_crash_report(run, code, kind, symbol)
        check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    elif case == "stop_then_crash":
        base = go(agent="none")
        run = go()
        check(run.rc == base.rc == 1, f"exit status {run.rc}, without the agent {base.rc}")
        check_no_report(run)
        check(hs_err(run).splitlines()[0] == hs_err(base).splitlines()[0], "hs_err differs")
        check(run.exists("host_uef_called.txt") == base.exists("host_uef_called.txt"), "filter calls differ")
    elif case == "capture_fault":
        # The agent's own capture faults (a corrupt export table): no recursion, no second crash
        # of the process; the report still comes, with what was captured, before hs_err.
        run = go()
        check(run.rc == 1, f"exit status {run.rc}, expected 1")
        r = check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION")
        check("capture faulted" in (r["note"] or ""), f"note {r['note']}")
        check(basename(r["native_frames"][1]["module"]) == "jvm.dll", "frames after the fault lost their modules")
        check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    elif case == "declined_java":
        run = go()
        check(run.rc == 1, f"exit status {run.rc}")
        check("agent_report_present=0" in hs_err(run), "reported at first chance despite a frame handler")
        r = check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write")
        check("process exited" in (r["note"] or ""), f"note {r['note']}")
    elif case == "declined_thread":
        base = go(agent="none")
        run = go()
        check(run.rc == base.rc == 5, f"exit status {run.rc}, without the agent {base.rc}")
        r = check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write")
        check("unhandled-exception filter" in (r["note"] or ""), f"note {r['note']}")
        check(run.exists("host_uef_called.txt"), "the previous unhandled-exception filter was not called")
    elif case == "minidump":
        run = go(name="av_java", options="dir=.,minidump=true")
        check(run.rc == 1, f"exit status {run.rc}")
        r = check_crash_report(run, EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION", "crash_av_write")
        dump = r["report"]["minidump"]
        check(dump and basename(dump).endswith(".dmp"), f"report.minidump {dump}")
        path = os.path.join(run.dir, basename(dump))
        check(os.path.exists(path), f"{dump} does not exist")
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            check(f.read(4) == b"MDMP", "not a minidump")
        check("minidump:" in run.read("crashagent_pid*.log"), "the log does not name the minidump")
        print(f"minidump size: {size} bytes")
    else:
        raise Failure(f"unknown case {case}")


def main():
    runs = []
    try:
        run_case(CASE, runs)
    except Failure as e:
        print(f"FAIL: {CASE}: {e}")
        for run in runs:
            print(run.describe())
        return 1
    finally:
        for run in runs:
            if "KEEP" not in os.environ:
                run.cleanup()
    print(f"PASS: {CASE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
