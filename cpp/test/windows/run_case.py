#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs one Windows crash-zoo case under Wine and checks exit status, report contents and markers.

    run_case.py [--rounds N] <case> <wine-run.sh> <crash_host.exe> <crashagent.dll>
    run_case.py --list          (the cases, crash cases first)

Each run gets a fresh working directory, which is also the report directory. A case first runs
once without the agent (the baseline), then with it (N times with --rounds; the baseline is shared).

Crash cases must give exactly one complete report that passes schema/crash-report.schema.json,
with the expected exception, module (crashlib.dll) and offset, the JVM's hs_err marker exactly when
the baseline has one, the baseline's exit status, and an end within the case's time bound. Quiet
cases must give no report and the baseline's output and exit status.

Every agent run prints one machine-readable line for bench/soak-windows.sh:
    ZOO {"case": ..., "type": "crash"|"quiet", "ok": ..., "report_complete": ..., "hs_err": ...,
         "hs_err_expected": ..., "false_report": ..., "elapsed_ms": ..., "problem": ...}
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pe_file import pe_exports, pe_identity

ROOT = os.path.dirname(os.path.abspath(__file__))
SCHEMA_PATH = os.path.normpath(os.path.join(ROOT, "..", "..", "..", "schema", "crash-report.schema.json"))

RUN_TIMEOUT_S = 90   # a run that takes longer is a hang
BOUND_S = 10.0       # a run with the agent must end within this, unless the case says otherwise.
                     # Below the agent's own capture budget (listener timeout 5 s + 10 s), so a
                     # crash path that blocks and waits the budget out fails here.

EXCEPTION_ACCESS_VIOLATION = 0xC0000005
AV = (EXCEPTION_ACCESS_VIOLATION, "EXCEPTION_ACCESS_VIOLATION")


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def load_validator():
    try:
        import jsonschema
    except ImportError:
        print("run_case.py: the Python package jsonschema is missing; the Windows tests validate every report "
              "against schema/crash-report.schema.json with it. Install it: sudo apt-get install python3-jsonschema")
        sys.exit(2)
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


class Run:
    def __init__(self, case, agent, options="dir=.", program=None):
        """Runs crash_host.exe <agent> <case> <options>, or the program arguments given (the stand-in)."""
        self.dir = tempfile.mkdtemp(prefix="crashagent-win-")
        args = [WINE_RUN] + (program if program is not None else [HOST, agent, case, options])
        self.executable = os.path.basename(args[1]).lower()
        self.launch_failure = None
        self._run(case, args)
        if not self.started:
            # Wine itself failed to start the process (seen about once in 300 starts: status 1,
            # about 30 ms, no output), before any code of the program ran: the program writes its
            # start marker first thing. Nothing of the agent's ran either, so starting it again
            # hides no fault of the agent's; the failure is printed.
            self.launch_failure = f"exit status {self.rc} after {self.elapsed:.2f} s"
            print(f"{case}: Wine did not start {self.executable} ({self.launch_failure}, the program never ran); "
                  "starting it again", flush=True)
            shutil.rmtree(self.dir, ignore_errors=True)
            os.mkdir(self.dir)
            self._run(case, args)
            check(self.started, f"{case}: Wine did not start {self.executable}, twice "
                                f"({self.launch_failure}; exit status {self.rc} after {self.elapsed:.2f} s)")
        self.reports = sorted(glob.glob(os.path.join(self.dir, "crashagent_pid*.json")))
        self.logs = sorted(glob.glob(os.path.join(self.dir, "crashagent_pid*.log")))

    def _run(self, case, args):
        # Output goes to files, not pipes: a wineserver that the run starts inherits them and may
        # outlive the run.
        output = tempfile.mkdtemp(prefix="crashagent-win-out-")
        marker = os.path.join(output, "started")
        # As a Windows path: Wine's drive Z: is the Unix root.
        env = dict(os.environ, CRASHAGENT_TEST_STARTED="Z:" + marker.replace("/", "\\"))
        start = time.monotonic()
        try:
            with open(os.path.join(output, "out"), "w") as out, open(os.path.join(output, "err"), "w") as err:
                p = subprocess.run(args, cwd=self.dir, stdout=out, stderr=err, env=env, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.elapsed = time.monotonic() - start
            raise Failure(f"{case}: the process hung for {RUN_TIMEOUT_S} s")
        finally:
            self.elapsed = time.monotonic() - start
            with open(os.path.join(output, "out"), errors="replace") as f:
                self.out = f.read()
            with open(os.path.join(output, "err"), errors="replace") as f:
                self.err = f.read()
            self.started = os.path.exists(marker)
            shutil.rmtree(output, ignore_errors=True)
        self.rc = p.returncode

    def exists(self, name):
        return bool(glob.glob(os.path.join(self.dir, name)))

    def read(self, name):
        paths = glob.glob(os.path.join(self.dir, name))
        check(paths, f"{name} is missing")
        with open(paths[0], errors="replace") as f:
            return f.read()

    def report(self):
        check(len(self.reports) == 1, f"expected exactly one JSON report, found {len(self.reports)}")
        check(len(self.logs) == 1, f"expected exactly one log, found {len(self.logs)}")
        with open(self.reports[0]) as f:
            try:
                return json.load(f)
            except ValueError as e:
                raise Failure(f"the report is not valid JSON: {e}")

    def app_output(self):
        """stdout without the lines that say whether the agent is there."""
        return "".join(line for line in self.out.splitlines(True)
                       if line != "host: agent started\n" and not line.startswith(("standin: CrashAgent.",
                                                                                      "standin: exit:")))

    def lines(self, prefix):
        return [line[len(prefix):] for line in self.out.splitlines() if line.startswith(prefix)]

    def describe(self):
        lines = [f"exit status {self.rc}, {self.elapsed:.2f} s", "--- stdout", self.out, "--- stderr",
                 self.err[-4000:], "--- files", " ".join(sorted(os.listdir(self.dir)))]
        for path in self.reports[:1] + self.logs[:1]:
            with open(path, errors="replace") as f:
                lines += [f"--- {os.path.basename(path)}", f.read()[:6000]]
        return "\n".join(lines)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def basename(path):
    return (path or "").replace("\\", "/").rsplit("/", 1)[-1].lower()


def hs_err(run):
    return run.read("hs_err_pid*.log")


def check_crash_report(run, code, kind, symbol=None, detail=None):
    """The report's own checks: one report and one log, schema, exception, module and offset."""
    r = run.report()
    problems = sorted(VALIDATOR.iter_errors(r), key=lambda e: list(e.absolute_path))
    check(not problems, "the report does not match the schema: " +
          "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in problems[:5]))
    crash = r["crash"]
    check(r["platform"] == "windows-x86_64", f"platform {r['platform']}")
    check(crash["code"] == code, f"code {crash['code']:#x}, expected {code:#x}")
    check(crash["kind"] == kind, f"kind {crash['kind']}, expected {kind}")
    if detail is not None:
        check(crash["detail"] == detail, f"detail {crash['detail']}, expected {detail}")
    check(basename(crash["module"]) == "crashlib.dll", f"module {crash['module']}")
    offset = int(crash["module_offset"], 16)
    check(offset > 0, "module_offset")
    check(int(crash["module_base"], 16) + offset in [int(f["pc"], 16) for f in r["native_frames"]],
          "module_base + module_offset is no frame's pc")
    if symbol:
        check(crash["symbol"] == symbol, f"symbol {crash['symbol']}, expected {symbol}")
        # The offset must lie in that function: after its export, before the next export.
        start = CRASHLIB_EXPORTS[symbol]
        following = min([rva for rva in CRASHLIB_EXPORTS.values() if rva > start], default=start + 0x10000)
        check(start <= offset < following,
              f"module_offset {offset:#x} is outside {symbol} ({start:#x}..{following:#x})")
    frames = r["native_frames"]
    check(frames, "no native frames")
    for reg in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"] + [f"r{i}" for i in range(8, 16)] + \
            ["rip", "eflags"]:
        check(reg in r["registers"], f"register {reg} missing")
    check(int(r["registers"]["rip"], 16) == int(crash["pc"], 16), "rip is not the pc")
    # Module identities as symbol servers key them, equal to what the files say.
    for m in r["modules"]:
        if basename(m["path"]) in ("crashlib.dll", "crashagent.dll"):
            code_id, debug_id, pdb_name = pe_identity(CRASHLIB if basename(m["path"]) == "crashlib.dll" else AGENT)
            check((m["code_id"], m["debug_id"], m["pdb_name"]) == (code_id, debug_id, pdb_name),
                  f"{m['path']}: identity {(m['code_id'], m['debug_id'], m['pdb_name'])}, the file's "
                  f"{(code_id, debug_id, pdb_name)}")
            check(m["build_id"] is None, f"{m['path']}: an ELF build-id on Windows")
    check(any(basename(m["path"]) == "crashlib.dll" and m["debug_id"] for m in r["modules"]),
          "crashlib.dll (linked with a CodeView record) has no debug_id")
    names = {basename(m["path"]) for m in r["modules"]}
    for needed in ("crashlib.dll", "jvm.dll", "ntdll.dll", "kernel32.dll", run.executable):
        check(needed in names, f"module list lacks {needed}: {sorted(names)}")
    check(r["signature"] and "crashlib.dll+0x" in r["signature_text"], f"signature {r['signature_text']}")
    # The diagnosis, in plain words, agrees with the exception.
    diagnosis = crash.get("diagnosis") or ""
    check(diagnosis, "the report has no diagnosis")
    expected = {"EXCEPTION_INT_DIVIDE_BY_ZERO": "integer division by zero",
                "EXCEPTION_ILLEGAL_INSTRUCTION": "illegal instruction",
                "EXCEPTION_PRIV_INSTRUCTION": "privileged instruction",
                "EXCEPTION_STACK_OVERFLOW": "stack overflow"}.get(kind)
    if kind == "EXCEPTION_ACCESS_VIOLATION" and int(crash["fault_address"], 16) < 0x10000 and detail != "execute":
        expected = f"null pointer dereference ({crash['detail']}"
    check(diagnosis.startswith(expected or ""), f"diagnosis {diagnosis!r}, expected it to start with {expected!r}")
    with open(run.logs[0], errors="replace") as f:
        log = f.read()  # the log of this report (a case may have an earlier report beside it)
    check(f"diagnosis:     {diagnosis}" in log, "the log lacks the diagnosis")
    check(r["report"]["minidump"] is None or isinstance(r["report"]["minidump"], str), "report.minidump")
    check(f"({code:#x})" in log, "the log does not show the code in hex")
    check("end of crashagent report" in log, "the log is incomplete")
    check(not run.exists("crashagent_pid*.tmp"), "a temporary report file was left behind")
    return r


def check_no_report(run):
    check(not run.reports and not run.logs, "a report was written")


class Outcome:
    def __init__(self, case, type_):
        self.case, self.type = case, type_
        self.ok = False
        self.report_complete = False if type_ == "crash" else None
        self.hs_err = None
        self.hs_err_expected = None
        self.false_report = None
        self.elapsed = 0.0
        self.problem = None

    def summary(self):
        return "ZOO " + json.dumps({
            "case": self.case, "type": self.type, "ok": self.ok, "report_complete": self.report_complete,
            "hs_err": self.hs_err, "hs_err_expected": self.hs_err_expected, "false_report": self.false_report,
            "elapsed_ms": round(self.elapsed * 1000), "problem": self.problem})


class Context:
    """One round of a case: the shared baseline, this round's runs, the outcome."""

    def __init__(self, case, baselines, outcome):
        self.case, self.baselines, self.o = case, baselines, outcome
        self.runs = []

    def baseline(self, name=None, options="dir=."):
        key = (name or self.case, options)
        if key not in self.baselines:
            self.baselines[key] = Run(key[0], "none", options)
        return self.baselines[key]

    def go(self, name=None, options="dir=.", bound=BOUND_S):
        return self.with_agent(Run(name or self.case, AGENT, options), bound)

    def with_agent(self, run, bound):
        """Records a run with the agent in the outcome and checks its time bound."""
        self.runs.append(run)
        self.o.elapsed = max(self.o.elapsed, run.elapsed)
        self.o.hs_err = run.exists("hs_err_pid*.log")
        if self.o.type == "quiet":
            self.o.false_report = bool(run.reports or run.logs)
        check(run.elapsed <= bound, f"the run took {run.elapsed:.1f} s, more than the bound of {bound:.0f} s")
        return run

    def standin(self, arguments, agent=True, options="dir=.", bound=BOUND_S):
        """jvm_standin.exe with these arguments, with -agentpath:crashagent.dll=<options> or without
        it (the baseline, shared like the host's)."""
        program = [STANDIN] + ([f"-agentpath:{AGENT}={options}"] if agent else []) + [CRASHLIB] + arguments
        if not agent:
            key = ("standin",) + tuple(arguments)
            if key not in self.baselines:
                self.baselines[key] = Run(self.case, None, program=program)
            return self.baselines[key]
        return self.with_agent(Run(self.case, None, program=program), bound)

    def crash_report(self, run, code, kind, symbol=None, detail=None):
        r = check_crash_report(run, code, kind, symbol, detail)
        self.o.report_complete = True
        return r

    def as_without_agent(self, run, base, hs_err_expected=None):
        """Exit status, hs_err and the application's filter as in the run without the agent."""
        check(run.rc == base.rc, f"exit status {run.rc}, without the agent {base.rc}")
        self.o.hs_err_expected = base.exists("hs_err_pid*.log") if hs_err_expected is None else hs_err_expected
        check(self.o.hs_err == self.o.hs_err_expected,
              f"hs_err {'present' if self.o.hs_err else 'missing'}, expected "
              f"{'present' if self.o.hs_err_expected else 'none'}")
        if self.o.hs_err:
            check(hs_err(run).splitlines()[0] == hs_err(base).splitlines()[0], "hs_err differs")
        check(run.exists("host_uef_called.txt") == base.exists("host_uef_called.txt"),
              "the application's unhandled-exception filter ran differently")

    def quiet(self, run, base):
        check(run.rc == base.rc, f"exit status {run.rc}, without the agent {base.rc}")
        check(run.app_output() == base.app_output(),
              f"output differs from the run without the agent:\n{run.app_output()!r}\n{base.app_output()!r}")
        check_no_report(run)


def page_from_output(run, what):
    for line in run.out.splitlines():
        if line.startswith(f"{what} page "):
            return int(line.split()[-1], 16)
    raise Failure(f"the host did not print the {what} page")


# --- The cases --------------------------------------------------------------------------------------
# Each case is one row of CASES: its type, the runner for its shape, the expectations the runner
# checks (data), and for the few cases that need more, a small function with the extra checks.

class Case:
    def __init__(self, type_, runner, extra=None, **expect):
        self.type, self.runner, self.extra, self.expect = type_, runner, extra, expect


STACK_GUARANTEE = 16 * 1024  # kStackGuarantee in handlers_windows.cpp
NULL_WRITE = "io.github.crashagent.testapp.CrashNative.nullWrite(I)V"
NULL_WRITE_SYMBOL = "Java_io_github_crashagent_testapp_CrashNative_nullWrite"
NULL_WRITE_CHECKED = "io.github.crashagent.testapp.CrashNative.nullWriteChecked(III)V"
NULL_WRITE_CHECKED_SYMBOL = "Java_io_github_crashagent_testapp_CrashNative_nullWriteChecked"
STANDIN_JAVA_FRAMES = ["io.github.crashagent.standin.Main.callNative(Main.java:42)",
                       "io.github.crashagent.standin.Main.main(Main.java:17)"]


def symbols_of(r):
    return [f.get("symbol") for f in r["native_frames"]]


# Faults on a "Java" thread inside the fake JVM's frame handler: reported at first chance, then the
# JVM writes hs_err and exits 1.
#   exception: (code, kind); symbol, detail; fault: the expected fault address (a function of the
#   run) or None; first_module: the first frame's module, or None when an extra check says.
def first_chance(c, exception, symbol, detail, fault=None, first_module="crashlib.dll"):
    base = c.baseline()
    run = c.go()
    r = c.crash_report(run, *exception, symbol, detail)
    c.as_without_agent(run, base)
    check(run.rc == 1, f"exit status {run.rc}, expected 1 (the JVM's exit after hs_err)")
    check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    check(r["origin"] == "native", "origin")
    check(r["other_crashes"] == [], f"other crashes {r['other_crashes']}")
    check(r["note"] is None, f"note {r['note']}")
    if fault:
        expected = fault(run)
        check(int(r["crash"]["fault_address"], 16) == expected,
              f"fault address {r['crash']['fault_address']}, expected {expected:#x}")
    if first_module:
        frames = r["native_frames"]
        check(basename(frames[0]["module"]) == first_module, f"first frame {frames[:1]}")
    return run, r


def check_av_java(c, run, r):
    check(r["report"]["minidump"] is None, "a minidump was named without minidump=true")
    check("EXCEPTION_ACCESS_VIOLATION captured" in run.err, "no message on stderr")


def check_execute_data(c, run, r):
    check(int(r["crash"]["pc"], 16) == page_from_output(run, "data"), "the pc is not the data page")
    check(r["crash"]["pc_module"] is None, f"pc_module {r['crash']['pc_module']}")


def check_memcpy_null(c, run, r):
    check(basename(r["crash"]["pc_module"]) == "msvcrt.dll", f"pc_module {r['crash']['pc_module']}")
    check(basename(r["native_frames"][0]["module"]) == "msvcrt.dll", f"first frame {r['native_frames'][0]}")


def check_nested_java(c, run, r):
    frames, symbols = r["native_frames"], symbols_of(r)
    check("nested_java_call" in symbols, f"the outer native method is not on the stack: {symbols}")
    jvm = [i for i, f in enumerate(frames) if basename(f["module"]) == "jvm.dll"]
    outer = symbols.index("nested_java_call")
    check(any(j < outer for j in jvm) and any(j > outer for j in jvm), f"frames are not JNI -> Java -> JNI: {symbols}")


def check_cpp_try(c, run, r):
    check("caught the fault" not in run.out and "caught the fault" not in c.baseline().out,
          "mingw's catch(...) caught an access violation")
    check("crash_in_cpp_try" in symbols_of(r), f"the frame with the C++ handler is not on the stack: {symbols_of(r)}")


def on_stack(frame, what):
    def extra(c, run, r):
        check(frame in symbols_of(r), f"the {what} {frame} is not on the stack: {symbols_of(r)}")
    return extra


def output_has(text, what):
    def extra(c, run, r):
        check(text in run.out, what)
    return extra


def check_heap_locked(c, run, r):
    check("report_under_heap_lock=1" in run.read("heap_lock.txt"),
          "the report was not complete while another thread held the process heap lock")


def av_at(address, symbol="crash_av_write", detail="write"):
    return dict(exception=AV, symbol=symbol, detail=detail, fault=lambda run: address)


def av_on_page(page, symbol, detail):
    return dict(exception=AV, symbol=symbol, detail=detail, fault=lambda run: page_from_output(run, page))


# Threads that crash at once: one report, the others noted in it.
def concurrent(c, count):
    base = c.baseline()
    run = c.go()
    r = c.crash_report(run, *AV, "crash_av_write")
    c.as_without_agent(run, base)
    others = r["other_crashes"]
    check(len(others) == count - 1, f"{len(others)} other crashes noted, expected {count - 1}: {others}")
    check(all(o["code"] == EXCEPTION_ACCESS_VIOLATION for o in others), "other crash codes")
    ids = {o["thread_id"] for o in others} | {r["thread"]["id"]}
    check(len(ids) == len(others) + 1, f"thread ids {ids}: a thread was noted twice or is the owner")
    return run, r


def av_thread(c):
    base = c.baseline()
    run = c.go()
    c.crash_report(run, *AV, "crash_av_write", "write")
    c.as_without_agent(run, base)
    check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}, expected 5 (access violation)")
    check(run.exists("host_uef_called.txt"), "the previous unhandled-exception filter was not called")


def unloaded_filter(c):
    # No baseline: without the agent, Wine calls the unloaded filter and the crashing thread
    # just disappears. With it, the agent must not call that filter and the crash ends the
    # process as an access violation.
    run = c.go()
    c.o.hs_err_expected = False
    check("host: filter library unloaded" in run.out, "the filter library was not unloaded")
    check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}, expected 5")
    check(not run.exists("dll_uef_called.txt"), "the unloaded library's filter was called")
    c.crash_report(run, *AV, "crash_av_write", "write")
    check(not c.o.hs_err, "hs_err on a thread outside Java calls")


def capture_fault(c):
    # The crashing library points its own export-name table at unmapped memory first. The capture
    # reads export tables with every range checked, so it does not fault on it: a complete report,
    # before hs_err, with the frames' modules and no export names from that table.
    base = c.baseline()
    run = c.go()
    r = check_crash_report(run, *AV)
    c.o.report_complete = True
    c.as_without_agent(run, base)
    check(r["note"] is None, f"note {r['note']}")
    check(basename(r["native_frames"][1]["module"]) == "jvm.dll", "frames after the fault lost their modules")
    check(r["crash"]["symbol"] is None, f"symbol {r['crash']['symbol']} from an export table outside the image")
    check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")


def reported_at_exit(c):
    # A frame whose handler may catch the fault (one that declines it; a /GS frame whose cookie
    # does not match, so it cannot be told from one; a /GS frame with a __try/__except around
    # the call): the report waits for the process exit.
    base = c.baseline()
    run = c.go()
    c.crash_report(run, *AV, "crash_av_write")
    c.as_without_agent(run, base)
    check("agent_report_present=0" in hs_err(run), "reported at first chance despite a frame handler")
    r = run.report()
    check("process exited" in (r["note"] or ""), f"note {r['note']}")


def declined_thread(c):
    base = c.baseline()
    run = c.go()
    r = c.crash_report(run, *AV, "crash_av_write")
    c.as_without_agent(run, base)
    check(run.rc == 5, f"exit status {run.rc}")
    check("unhandled-exception filter" in (r["note"] or ""), f"note {r['note']}")
    check(run.exists("host_uef_called.txt"), "the previous unhandled-exception filter was not called")


def stack_use(c, pending):
    # The stack below the faulting rsp that exception dispatch and the agent's VEH use, painted
    # and measured by the host's own handlers around the agent's: a crash reported at first
    # chance (the capture runs on the helper thread) and one kept pending (a frame handler).
    base = c.baseline()
    run = c.go()
    r = c.crash_report(run, *AV, "crash_av_write", "write")
    if pending:
        check("process exited" in (r["note"] or ""), f"note {r['note']}")
    c.as_without_agent(run, base)

    def used(r):
        for line in r.out.splitlines():
            if line.startswith("stack below the fault: "):
                return int(line.split()[-2])
        raise Failure("the host did not measure the stack")
    total, dispatch = used(run), used(base)
    print(f"stack below the faulting rsp: {total} bytes with the agent, {dispatch} without; "
          f"the agent's VEH: {total - dispatch} bytes")
    check(total <= STACK_GUARANTEE // 2,
          f"{total} bytes below the fault: more than half the agent's stack guarantee ({STACK_GUARANTEE})")


def stack_overflow(c):
    # Unbounded recursion on a "Java" thread, into the red zone: fatal for the JVM. A stack
    # overflow under a JVM frame is not reported at first chance (the JVM resumes the yellow
    # zone), so the report comes at the exit, after hs_err, written on the agent's own stack.
    base = c.baseline()
    run = c.go()
    r = c.crash_report(run, 0xC00000FD, "EXCEPTION_STACK_OVERFLOW")
    c.as_without_agent(run, base)
    check(run.rc == 1, f"exit status {run.rc}")
    check("agent_report_present=0" in hs_err(run), "reported at first chance, before the JVM's verdict")
    check("stack overflow" in (r["note"] or ""), f"note {r['note']}")
    check(basename(r["native_frames"][0]["module"]) == "crashlib.dll", "first frame")
    check(len(r["native_frames"]) > 1, "only one native frame")


def resumed_then_crash(c):
    # The host's own VEH, after the agent's, resumes the first fault: the agent has reported it
    # already (its VEH runs first and cannot know). The thread goes on and really crashes: that
    # crash must get its own complete, first-chance report, with nothing left of the first.
    base = c.baseline()
    run = c.go()
    check("app_probe returned -1" in run.out, f"the first fault was not resumed: {run.out!r}")
    check(len(run.reports) == 2 and len(run.logs) == 2,
          f"expected two reports (the resumed fault, then the crash), found {len(run.reports)}")
    first, last = run.reports, run.logs
    run.reports, run.logs = [p for p in first if p.endswith("_1.json")], [p for p in last if p.endswith("_1.log")]
    r = c.crash_report(run, *AV, "crash_av_write", "write")
    run.reports, run.logs = first, last
    c.as_without_agent(run, base)
    check(run.rc == 1, f"exit status {run.rc}")
    check(int(r["crash"]["fault_address"], 16) == 0x10, f"fault address {r['crash']['fault_address']}")
    check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    check(r["other_crashes"] == [], f"other crashes {r['other_crashes']}")
    check(r["note"] is None, f"note {r['note']}")


def minidump(c):
    base = c.baseline(name="av_java")
    run = c.go(name="av_java", options="dir=.,minidump=true", bound=30)
    r = c.crash_report(run, *AV, "crash_av_write")
    c.as_without_agent(run, base)
    dump = r["report"]["minidump"]
    check(dump and basename(dump).endswith(".dmp"), f"report.minidump {dump}")
    path = os.path.join(run.dir, basename(dump))
    check(os.path.exists(path), f"{dump} does not exist")
    # One base name for the report's files.
    report_base = basename(r["report"]["json"])[:-len(".json")]
    check(basename(dump) == report_base + ".dmp", f"the minidump {basename(dump)} is not named as its report "
                                                  f"{report_base}")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        check(f.read(4) == b"MDMP", "not a minidump")
    check("minidump:" in run.read("crashagent_pid*.log"), "the log does not name the minidump")
    print(f"minidump size: {size} bytes")


def thread_guarantee(c):
    # The agent's stack guarantee on threads created after it started: 16 KB on a usual stack,
    # none on a small one (where it would take too large a share).
    base = c.baseline()
    run = c.go()
    check(run.rc == base.rc == 0, f"exit status {run.rc}")
    check_no_report(run)
    # Wine gives every thread at least a 1 MB reserve, so the small one is small on Windows only.
    lines = [line for line in run.out.splitlines() if line.startswith("reserve ")]
    check(len(lines) == 2, f"the host did not print both threads: {run.out!r}")
    for line in lines:
        actual_kb = int(line.split("actual ")[1].split()[0])
        guarantee = int(line.split("stack guarantee ")[1].split()[0])
        expected = STACK_GUARANTEE if actual_kb * 1024 >= 16 * STACK_GUARANTEE else 0
        check(guarantee == expected, f"{line}: expected a guarantee of {expected} bytes")


# No report may come. output: what the run must show (with "host: continued"), or None.
def quiet(c, output=None):
    base = c.baseline()
    run = c.go()
    c.o.false_report = bool(run.reports or run.logs)
    c.quiet(run, base)
    if output:
        check(output in run.out and "host: continued" in run.out, f"the process did not go on: {run.out!r}")
    return run, base


def check_jvm_fatal(c, run, base):
    check(run.rc == 1 and run.exists("hs_err_pid*.log"), "the JVM's own fatal error did not end it")


def check_stop_then_crash(c, run, base):
    check(run.rc == 1, f"exit status {run.rc}")
    check(hs_err(run).splitlines()[0] == hs_err(base).splitlines()[0], "hs_err differs")
    check(run.exists("host_uef_called.txt") == base.exists("host_uef_called.txt"), "filter calls differ")


def read_view(run):
    """The listener's view.txt: key -> value, java_frame and native_frame as lists."""
    view = {"java_frame": [], "native_frame": []}
    for line in run.read("view.txt").splitlines():
        key, _, value = line.partition(": ")
        if key in ("java_frame", "native_frame"):
            view[key].append(value)
        else:
            view[key] = value
    return view


def java_frame_text(f):
    """A report's Java frame as StackTraceElement.toString() prints it."""
    where = "Native Method" if f["line"] == -2 else f"{f['file']}:{f['line']}"
    return f"{f['class']}.{f['method']}({where})"


def check_view_matches_report(view, r):
    """What the listener received is what the report says."""
    crash = r["crash"]
    expected = {"kind": crash["kind"], "origin": r["origin"], "code": str(crash["code"]),
                "fault_address": crash["fault_address"] or "none", "module": crash["module"],
                "module_offset": crash["module_offset"], "symbol": crash["symbol"] or "null",
                "thread": r["thread"]["name"] or "null", "java_thread": "true" if r["thread"]["java"] else "false",
                "native_method": r["native_method"] or "null", "signature": r["signature"],
                "report_file": r["report"]["json"]}
    for key, value in expected.items():
        check(view.get(key) == value, f"the listener got {key}={view.get(key)!r}, the report says {value!r}")
    frames = [java_frame_text(f) for f in r["java_stack"] or []]
    check(view["java_frame"] == frames, f"the listener's Java frames {view['java_frame']}, the report's {frames}")
    check(len(view["native_frame"]) == len(r["native_frames"]), "the listener's native frames")


def check_jvm_code_frames(run, r, view, wrapped):
    """Frames in the stand-in's generated code are named; no other frame is, and none is in the signature."""
    frames = r["native_frames"]
    check(r["jvm"]["code_blobs_dropped"] == 0, f"jvm {r['jvm']}")
    named = [f["jvm_code"] for f in frames if f["jvm_code"] is not None]
    if not wrapped:
        check(named == [], f"frames named as JVM code: {named}")
        return
    wrapper = "native wrapper for " + NULL_WRITE
    last = frames[-1]
    check(last["module"] is None and last["jvm_code"] == wrapper, f"the last frame {last}, expected the wrapper")
    check(named == [wrapper], f"frames named as JVM code: {named}")
    check(all(basename(f["module"]) == "crashlib.dll" for f in frames[:-1]),
          f"frames below the wrapper: {[f['module'] for f in frames[:-1]]}")
    check(view["native_frame"][-1] == f"[JVM code: {wrapper}]", f"the listener's frames {view['native_frame']}")
    check(f"[JVM code: {wrapper}]" in run.read("crashagent_pid*.log"), "the log does not name the wrapper")
    parts = r["signature_text"].split("|")
    check(parts[-1] == "java:" + NULL_WRITE and all(p.startswith("crashlib.dll+0x") for p in parts[:-1]),
          f"signature_text {r['signature_text']}")


# Through jvm_standin.exe, the JVM stand-in: the whole -agentpath: flow with the Java half (JVMTI
# events, the dispatcher thread, CrashAgent's natives, a listener). arguments: after the JNI
# library; the listener writes what it received to view.txt. symbol: the crash's export name, if
# it is named; listener: the listener's outcome; status: the dispatch's; wrapped: called through
# a native wrapper in generated code.
def standin_crash(c, arguments, symbol=None, options="dir=.", listener="ok", status="complete", wrapped=False,
                  context=None):
    base = c.standin(arguments, agent=False)
    run = c.standin(arguments, options=options)
    r = c.crash_report(run, *AV, symbol, "write")
    c.as_without_agent(run, base)
    check(not base.exists("view.txt"), "the listener was called without the agent")
    check(run.lines("standin: CrashAgent.isActive() = ") == ["true"], "the API did not connect to the agent")
    check(run.lines("standin: CrashAgent.reportDirectory() = ") == [r["report"]["directory"]],
          f"CrashAgent.reportDirectory() {run.lines('standin: CrashAgent.reportDirectory() = ')}, "
          f"the report's {r['report']['directory']}")
    check(int(r["crash"]["fault_address"], 16) == 16, f"fault address {r['crash']['fault_address']}")
    check_jvm_code_frames(run, r, read_view(run), wrapped)
    # The listener ran (it writes its view first, whatever its mode) and got what the report says.
    view = read_view(run)
    check_view_matches_report(view, r)
    listeners = [(l["name"], l["outcome"]) for l in r["listeners"]]
    check(listeners == [("io.github.crashagent.testapp.ViewListener", listener)], f"listeners {listeners}")
    check(r["dispatch"]["status"] == status, f"dispatch {r['dispatch']}")
    if context:
        # CrashAgent.putContext("request", context) and breadcrumb(context), before the crash.
        check(r["context"] == {"request": context}, f"context {r['context']}")
        crumbs = [(b["thread"], b["java_thread_id"], b["message"]) for b in r["breadcrumbs"]]
        check(crumbs == [("main", 1, context)], f"breadcrumbs {r['breadcrumbs']}")
        check(r["context_stats"] == {"breadcrumbs_written": 1, "keys_refused": 0, "torn_entries": 0},
              f"context_stats {r['context_stats']}")
        check(f"  request = {context}\n" in run.read("crashagent_pid*.log"), "the log has no context")
    else:
        check(r["context"] == {} and r["breadcrumbs"] == [], f"context {r['context']}, {r['breadcrumbs']}")
    if "native-calls=" not in options:
        check(r["native_calls"] is None, f"native_calls {r['native_calls']}")
    return run, r, view


def standin_java_thread(c, run, r, view, native_method=NULL_WRITE, thread="main", other_crashes=0):
    """A crash on the stand-in's Java thread: the JVM's exit after hs_err, the Java stack."""
    check(run.rc == 1, f"exit status {run.rc}, expected 1 (the JVM's exit after hs_err)")
    check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    check(r["thread"]["java"] is True and r["thread"]["state"] == "in native", f"thread {r['thread']}")
    check(r["java_stack_note"] is None, f"java_stack_note {r['java_stack_note']}")
    check(r["native_method"] == native_method, f"native_method {r['native_method']}")
    if other_crashes:
        check(r["thread"]["name"] in ("worker-1", "worker-2"), f"thread {r['thread']}")
        others = r["other_crashes"]
        check(len(others) == other_crashes and all(o["code"] == EXCEPTION_ACCESS_VIOLATION
                                                   and o["thread_id"] != r["thread"]["id"] for o in others),
              f"other crashes {others}")
    else:
        check(r["thread"]["name"] == thread, f"thread {r['thread']}")
        check(r["other_crashes"] == [], f"other crashes {r['other_crashes']}")
    name, _, signature = native_method.rpartition("(")
    native = f"{name}(Native Method)"
    check(view["java_frame"] == [native] + STANDIN_JAVA_FRAMES, f"Java frames {view['java_frame']}")


def standin_native_calls(c, run, r, view):
    """native-calls=: the entry thunk (Win64) recorded the call, with the arguments in r8, r9 and on
    the stack; the function faults at 16 only when all three arrived intact."""
    standin_java_thread(c, run, r, view, NULL_WRITE_CHECKED)
    calls = r["native_calls"]
    check([{"method": x["method"], "args": x["args"]} for x in calls["thread"]] ==
          [{"method": NULL_WRITE_CHECKED, "args": [16, 16, 16]}], f"native_calls {calls}")
    check(len(calls["process"]) == 1 and calls["process"][0]["thread_id"] == r["thread"]["id"], f"native_calls {calls}")
    check(calls["thread"][0]["time_ns"] <= 0 and calls["recorded"] == 1 and calls["torn_entries"] == 0,
          f"native_calls {calls}")
    check(f" us {NULL_WRITE_CHECKED} (16, 16, 16)\n" in run.read("crashagent_pid*.log"), "the log has no native calls")
    # The same signature as without the thunk: it left no frame behind.
    plain = c.standin(native_calls_arguments(), options="dir=.").report()
    check(plain["signature"] == r["signature"], f"signature {r['signature']}, without native-calls {plain['signature']}")
    check(plain["native_calls"] is None, "native_calls without the option")


def native_calls_arguments():
    return [NULL_WRITE_CHECKED_SYMBOL, "16", "--method", NULL_WRITE_CHECKED, "--listener", "view.txt"]


def standin_two_threads(c, run, r, view):
    standin_java_thread(c, run, r, view, "io.github.crashagent.testapp.CrashNative.nullWriteTogether()V",
                        other_crashes=1)


def standin_own_thread(c, run, r, view):
    # A thread of the library's own: no Java stack, but the listener still runs.
    check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}")
    check(r["thread"]["java"] is False, f"thread {r['thread']}")
    check(r["java_stack"] is None, f"java_stack {r['java_stack']}")
    check("not a Java thread" in (r["java_stack_note"] or ""), f"java_stack_note {r['java_stack_note']}")
    check(r["native_method"] is None, f"native_method {r['native_method']}")
    check(not c.o.hs_err, "hs_err for a thread outside Java calls")


# output: what the run must show.
def standin_quiet(c, arguments, output):
    base = c.standin(arguments, agent=False)
    run = c.standin(arguments)
    c.quiet(run, base)
    check(output in run.out, f"the process did not go on: {run.out!r}")
    check(not run.exists("view.txt"), "the listener was called")
    check(run.lines("standin: CrashAgent.isActive() = ") == ["true"], "the API did not connect to the agent")
    # VM exit with the dispatcher idle: it leaves native code when asked at VMDeath, so HotSpot's
    # exit never has to wait its 300 ms for it, and the JVMTI memory it was given is returned.
    check(run.lines("standin: exit: ") == ["all 1 agent thread(s) had returned",
                                          "JVMTI memory not deallocated: 0 block(s)"],
          f"the exit: {run.lines('standin: exit: ')}")
    check(sorted(os.listdir(run.dir)) == [], f"files were written: {sorted(os.listdir(run.dir))}")
    return run, base


def standin_agent_fails(c):
    # A bad option: Agent_OnLoad fails, and the JVM stops as HotSpot does.
    run = c.standin(["Java_io_github_crashagent_testapp_CrashNative_identity", "7"], options="dir=.,timeout=soon")
    check(run.rc == 1, f"exit status {run.rc}")
    check("Error occurred during initialization of VM\nagent library failed to init: " in run.err,
          f"no HotSpot message: {run.err!r}")
    check("option 'timeout' has value 'soon'" in run.err and "600000" in run.err, f"the agent's message: {run.err!r}")
    check(run.out == "", f"the application ran: {run.out!r}")


def null_write(*more):
    return [NULL_WRITE_SYMBOL, "16", "--method", NULL_WRITE, "--listener", "view.txt"] + list(more)


IDENTITY = ["Java_io_github_crashagent_testapp_CrashNative_identity", "7", "--method",
            "io.github.crashagent.testapp.CrashNative.identity(I)I", "--listener", "view.txt"]

CASES = {
    "av_java": Case("crash", first_chance, check_av_java, **av_at(0x10)),
    "null_read": Case("crash", first_chance, **av_at(0, "crash_null_read", "read")),
    # 0xdead0000beef has bit 47 set: not canonical on x86-64, so the CPU raises a general protection
    # fault instead of a page fault, which Windows reports as a read at 0xffffffffffffffff.
    "wild_pointer": Case("crash", first_chance, **av_at(0xFFFFFFFFFFFFFFFF, "crash_wild_pointer", "read")),
    "write_read_only": Case("crash", first_chance, **av_on_page("read-only", "crash_write_read_only", "write")),
    "execute_data": Case("crash", first_chance, check_execute_data, first_module=None,
                         **av_on_page("data", "crash_execute_data", "execute")),
    "memcpy_null": Case("crash", first_chance, check_memcpy_null, first_module=None,
                        **av_at(0, "crash_memcpy_null", "write")),
    "nested_java": Case("crash", first_chance, check_nested_java, **av_at(0x10)),
    "heap_locked": Case("crash", first_chance, check_heap_locked, **av_at(0x10)),
    # Under a frame whose handler is GCC's C++ personality (a try/catch(...) with a destructor),
    # which never catches an access violation: reported at first chance all the same.
    "cpp_try": Case("crash", first_chance, check_cpp_try, **av_at(0x10)),
    # Under a __try/__finally frame of __C_specific_handler, which catches nothing.
    "seh_finally": Case("crash", first_chance, **av_at(0x10)),
    # Under MSVC-style /GS frames, whose statically linked handlers no export names: one that
    # only checks the cookie, one with a __try/__finally behind it, one with C++ destructors.
    "gs_cookie": Case("crash", first_chance, on_stack("gs_cookie_call", "/GS frame"), **av_at(0x10)),
    "gs_seh_finally": Case("crash", first_chance, on_stack("gs_seh_finally_call", "/GS frame"), **av_at(0x10)),
    "gs_eh4": Case("crash", first_chance, on_stack("gs_eh4_call", "/GS frame"), **av_at(0x10)),
    # A stack overflow the JVM resumed (yellow zone), then a real crash on the same thread.
    "overflow_then_crash": Case("crash", first_chance,
                                output_has("recursion returned past a stack overflow", "the recursion did not return"),
                                **av_at(0x10)),
    "illegal_instruction": Case("crash", first_chance, exception=(0xC000001D, "EXCEPTION_ILLEGAL_INSTRUCTION"),
                                symbol="crash_illegal_instruction", detail=None),
    "divide_by_zero": Case("crash", first_chance, exception=(0xC0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO"),
                           symbol="crash_divide_by_zero", detail=None),
    "privileged_instruction": Case("crash", first_chance, exception=(0xC0000096, "EXCEPTION_PRIV_INSTRUCTION"),
                                   symbol="crash_privileged_instruction", detail=None),
    "four_threads": Case("crash", concurrent, count=4),
    "eight_threads": Case("crash", concurrent, count=8),
    "standin_java": Case("crash", standin_crash, standin_java_thread, arguments=null_write(), symbol=NULL_WRITE_SYMBOL),
    "standin_thread": Case("crash", standin_crash, standin_own_thread,
                           arguments=["Java_io_github_crashagent_testapp_CrashNative_crashOnOwnThread", "0",
                                      "--listener", "view.txt"]),
    "standin_listener_throws": Case(
        "crash", standin_crash, standin_java_thread, arguments=null_write("--listener-mode", "throw"),
        symbol=NULL_WRITE_SYMBOL, listener="threw java.lang.IllegalStateException: the listener failed on purpose"),
    "standin_listener_hangs": Case(
        "crash", standin_crash, standin_java_thread, arguments=null_write("--listener-mode", "hang"),
        symbol=NULL_WRITE_SYMBOL, options="dir=.,timeout=1000", listener="did not finish", status="timed_out"),
    # The JVM crashes before it first schedules the agent's dispatcher thread.
    "standin_crash_before_dispatcher": Case("crash", standin_crash, standin_java_thread,
                                            arguments=null_write("--agent-threads-start-late"),
                                            symbol=NULL_WRITE_SYMBOL),
    "standin_two_threads": Case("crash", standin_crash, standin_two_threads,
                                arguments=["Java_io_github_crashagent_testapp_CrashNative_nullWriteTogether", "2",
                                           "--threads", "2", "--listener", "view.txt"]),
    # Called through a native wrapper in generated code, registered as HotSpot registers its code
    # cache: the walk ends there, and the frame is named from CompiledMethodLoad.
    "standin_native_wrapper": Case("crash", standin_crash, standin_java_thread,
                                   arguments=null_write("--native-wrapper"), symbol=NULL_WRITE_SYMBOL, wrapped=True),
    # native-calls=: the call is recorded by an entry thunk (Win64), arguments in r8, r9 and on the stack.
    "standin_native_calls": Case("crash", standin_crash, standin_native_calls, arguments=native_calls_arguments(),
                                 symbol=NULL_WRITE_CHECKED_SYMBOL,
                                 options="dir=.,native-calls=io.github.crashagent.testapp.;other.Prefix"),
    # CrashAgent.putContext and breadcrumb through the agent's shared memory before the crash.
    "standin_context": Case("crash", standin_crash, standin_java_thread, arguments=null_write("--context", "req-42"),
                            symbol=NULL_WRITE_SYMBOL, context="req-42"),
    "av_thread": Case("crash", av_thread),
    "unloaded_filter": Case("crash", unloaded_filter),
    "capture_fault": Case("crash", capture_fault),
    "declined_java": Case("crash", reported_at_exit),
    "gs_cookie_mismatch": Case("crash", reported_at_exit),
    "gs_seh_except": Case("crash", reported_at_exit),
    "declined_thread": Case("crash", declined_thread),
    "minidump": Case("crash", minidump),
    "resumed_then_crash": Case("crash", resumed_then_crash),
    "stack_overflow": Case("crash", stack_overflow),
    "stack_use": Case("crash", stack_use, pending=False),
    "stack_use_pending": Case("crash", stack_use, pending=True),
    "caught": Case("quiet", quiet, output="caught=1\n"),
    "benign": Case("quiet", quiet, output="benign exceptions resumed\n"),
    "jvm_handled": Case("quiet", quiet, output="jvm_probe returned -1\n"),
    "jvm_fatal": Case("quiet", quiet, check_jvm_fatal),
    "stop_then_crash": Case("quiet", quiet, check_stop_then_crash),
    "jvm_fault_storm": Case("quiet", quiet, output="jvm_probe resumed 10000 of 10000 faults\n"),
    "throw_storm": Case("quiet", quiet, output="C++ caught 10000 throws, sum 420000\n"),
    "seh_catch_storm": Case("quiet", quiet, output="SEH caught 10000 of 10000 faults\n"),
    "deep_recursion": Case("quiet", quiet, output="recursion returned past a stack overflow\n"),
    "standin_benign": Case("quiet", standin_quiet,
                           arguments=["Java_io_github_crashagent_testapp_CrashNative_benignExceptions", "0",
                                      "--listener", "view.txt"], output="benign exceptions resumed\n"),
    "standin_caught": Case("quiet", standin_quiet,
                           arguments=["Java_io_github_crashagent_testapp_CrashNative_faultAndCatch", "0",
                                      "--listener", "view.txt"], output="caught=1\n"),
    "standin_idle_exit": Case("quiet", standin_quiet, arguments=IDENTITY, output="returned 7\n"),
    # The JVM exits before it first schedules the agent's dispatcher thread.
    "standin_exit_before_dispatcher": Case("quiet", standin_quiet, arguments=IDENTITY + ["--agent-threads-start-late"],
                                           output="returned 7\n"),
    "thread_guarantee": Case("quiet", thread_guarantee),
    "standin_agent_fails": Case("quiet", standin_agent_fails),
}
CRASH_CASES = [name for name, case in CASES.items() if case.type == "crash"]
# Crash cases first, as --list prints them.
CASE_NAMES = CRASH_CASES + [name for name, case in CASES.items() if case.type == "quiet"]


def run_case(c):
    case = CASES[c.case]
    result = case.runner(c, **case.expect)
    if case.extra:
        case.extra(c, *result)
    c.o.ok = True


def main():
    global WINE_RUN, HOST, AGENT, VALIDATOR, CRASHLIB_EXPORTS, STANDIN, CRASHLIB
    args = sys.argv[1:]
    if args == ["--list"]:
        print("\n".join(CASE_NAMES))
        return 0
    rounds = 1
    if args[:1] == ["--rounds"]:
        rounds, args = int(args[1]), args[2:]
    if len(args) != 4:
        print(__doc__)
        return 64
    case = args[0]
    WINE_RUN, HOST, AGENT = (os.path.abspath(a) if a != "none" else a for a in args[1:])
    if case not in CASES:
        print(f"run_case.py: unknown case {case}; the cases are: {' '.join(CASE_NAMES)}")
        return 64
    VALIDATOR = load_validator()
    CRASHLIB = os.path.join(os.path.dirname(HOST), "crashlib.dll")
    STANDIN = os.path.join(os.path.dirname(HOST), "jvm_standin.exe")
    CRASHLIB_EXPORTS = pe_exports(CRASHLIB)
    # Keeps wineserver up between this case's runs (it otherwise starts afresh for each, ~2 s).
    subprocess.run([WINE_RUN, "--linger", "15"], timeout=60)
    baselines = {}
    failed = 0
    try:
        for i in range(rounds):
            o = Outcome(case, "crash" if case in CRASH_CASES else "quiet")
            c = Context(case, baselines, o)
            try:
                run_case(c)
            except Failure as e:
                o.problem = str(e)
                failed += 1
                print(f"FAIL: {case}" + (f" (round {i + 1})" if rounds > 1 else "") + f": {e}")
                for run in list(baselines.values()) + c.runs:
                    print(run.describe())
            finally:
                for run in c.runs:
                    if "KEEP" not in os.environ:
                        run.cleanup()
            print(o.summary(), flush=True)
    finally:
        for run in baselines.values():
            if "KEEP" not in os.environ:
                run.cleanup()
    if failed:
        return 1
    print(f"PASS: {case}" + (f" ({rounds} rounds)" if rounds > 1 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
