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


# Faults on a "Java" thread inside the fake JVM's frame handler: reported at first chance, then the
# JVM writes hs_err and exits 1. (code and kind, symbol, detail, expected fault address or None)
FIRST_CHANCE = {
    "av_java": (AV, "crash_av_write", "write", lambda run: 0x10),
    "null_read": (AV, "crash_null_read", "read", lambda run: 0),
    # 0xdead0000beef has bit 47 set: not canonical on x86-64, so the CPU raises a general protection
    # fault instead of a page fault, which Windows reports as a read at 0xffffffffffffffff.
    "wild_pointer": (AV, "crash_wild_pointer", "read", lambda run: 0xFFFFFFFFFFFFFFFF),
    "write_read_only": (AV, "crash_write_read_only", "write", lambda run: page_from_output(run, "read-only")),
    "execute_data": (AV, "crash_execute_data", "execute", lambda run: page_from_output(run, "data")),
    "memcpy_null": (AV, "crash_memcpy_null", "write", lambda run: 0),
    "nested_java": (AV, "crash_av_write", "write", lambda run: 0x10),
    "heap_locked": (AV, "crash_av_write", "write", lambda run: 0x10),
    # Under a frame whose handler is GCC's C++ personality (a try/catch(...) with a destructor),
    # which never catches an access violation: reported at first chance all the same.
    "cpp_try": (AV, "crash_av_write", "write", lambda run: 0x10),
    # Under a __try/__finally frame of __C_specific_handler, which catches nothing.
    "seh_finally": (AV, "crash_av_write", "write", lambda run: 0x10),
    # Under MSVC-style /GS frames, whose statically linked handlers no export names: one that
    # only checks the cookie, one with a __try/__finally behind it, one with C++ destructors.
    "gs_cookie": (AV, "crash_av_write", "write", lambda run: 0x10),
    "gs_seh_finally": (AV, "crash_av_write", "write", lambda run: 0x10),
    "gs_eh4": (AV, "crash_av_write", "write", lambda run: 0x10),
    # A stack overflow the JVM resumed (yellow zone), then a real crash on the same thread.
    "overflow_then_crash": (AV, "crash_av_write", "write", lambda run: 0x10),
    "illegal_instruction": ((0xC000001D, "EXCEPTION_ILLEGAL_INSTRUCTION"), "crash_illegal_instruction", None, None),
    "divide_by_zero": ((0xC0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO"), "crash_divide_by_zero", None, None),
    "privileged_instruction": ((0xC0000096, "EXCEPTION_PRIV_INSTRUCTION"), "crash_privileged_instruction", None,
                               None),
}

STACK_GUARANTEE = 16 * 1024  # kStackGuarantee in handlers_windows.cpp

CONCURRENT = {"four_threads": 4, "eight_threads": 8}

# No report may come: (output the run must show, or None)
QUIET = {
    "caught": "caught=1\n",
    "benign": "benign exceptions resumed\n",
    "jvm_handled": "jvm_probe returned -1\n",
    "jvm_fatal": None,
    "stop_then_crash": None,
    "jvm_fault_storm": "jvm_probe resumed 10000 of 10000 faults\n",
    "throw_storm": "C++ caught 10000 throws, sum 420000\n",
    "seh_catch_storm": "SEH caught 10000 of 10000 faults\n",
    "deep_recursion": "recursion returned past a stack overflow\n",
}

# Through jvm_standin.exe, the JVM stand-in: the whole -agentpath: flow with the Java half (JVMTI
# events, the dispatcher thread, CrashAgent's natives, a listener). Each case's arguments after the
# JNI library; the listener writes what it received to view.txt.
NULL_WRITE = "io.github.crashagent.testapp.CrashNative.nullWrite(I)V"
NULL_WRITE_CHECKED = "io.github.crashagent.testapp.CrashNative.nullWriteChecked(III)V"
STANDIN_CRASH = {
    "standin_java": ["Java_io_github_crashagent_testapp_CrashNative_nullWrite", "16", "--method", NULL_WRITE,
                     "--listener", "view.txt"],
    "standin_thread": ["Java_io_github_crashagent_testapp_CrashNative_crashOnOwnThread", "0", "--listener",
                       "view.txt"],
    "standin_listener_throws": ["Java_io_github_crashagent_testapp_CrashNative_nullWrite", "16", "--method", NULL_WRITE,
                                "--listener", "view.txt", "--listener-mode", "throw"],
    "standin_listener_hangs": ["Java_io_github_crashagent_testapp_CrashNative_nullWrite", "16", "--method", NULL_WRITE,
                               "--listener", "view.txt", "--listener-mode", "hang"],
    # The JVM crashes before it first schedules the agent's dispatcher thread.
    "standin_crash_before_dispatcher": ["Java_io_github_crashagent_testapp_CrashNative_nullWrite", "16", "--method",
                                        NULL_WRITE, "--listener", "view.txt", "--agent-threads-start-late"],
    "standin_two_threads": ["Java_io_github_crashagent_testapp_CrashNative_nullWriteTogether", "2", "--threads", "2",
                            "--listener", "view.txt"],
    # Called through a native wrapper in generated code, registered as HotSpot registers its code
    # cache: the walk ends there, and the frame is named from CompiledMethodLoad.
    "standin_native_wrapper": ["Java_io_github_crashagent_testapp_CrashNative_nullWrite", "16", "--method", NULL_WRITE,
                               "--listener", "view.txt", "--native-wrapper"],
    # native-calls=: the call is recorded by an entry thunk (Win64), arguments in r8, r9 and on the stack.
    "standin_native_calls": ["Java_io_github_crashagent_testapp_CrashNative_nullWriteChecked", "16", "--method",
                             NULL_WRITE_CHECKED, "--listener", "view.txt"],
    # CrashAgent.putContext and breadcrumb through the agent's shared memory before the crash.
    "standin_context": ["Java_io_github_crashagent_testapp_CrashNative_nullWrite", "16", "--method", NULL_WRITE,
                        "--listener", "view.txt", "--context", "req-42"],
}
STANDIN_QUIET = {
    "standin_benign": (["Java_io_github_crashagent_testapp_CrashNative_benignExceptions", "0", "--listener",
                        "view.txt"], "benign exceptions resumed\n"),
    "standin_caught": (["Java_io_github_crashagent_testapp_CrashNative_faultAndCatch", "0", "--listener", "view.txt"],
                       "caught=1\n"),
    "standin_idle_exit": (["Java_io_github_crashagent_testapp_CrashNative_identity", "7", "--method",
                           "io.github.crashagent.testapp.CrashNative.identity(I)I", "--listener", "view.txt"],
                          "returned 7\n"),
    # The JVM exits before it first schedules the agent's dispatcher thread.
    "standin_exit_before_dispatcher": (["Java_io_github_crashagent_testapp_CrashNative_identity", "7", "--method",
                                        "io.github.crashagent.testapp.CrashNative.identity(I)I", "--listener",
                                        "view.txt", "--agent-threads-start-late"], "returned 7\n"),
}
STANDIN_JAVA_FRAMES = ["io.github.crashagent.standin.Main.callNative(Main.java:42)",
                       "io.github.crashagent.standin.Main.main(Main.java:17)"]

CRASH_CASES = list(FIRST_CHANCE) + list(CONCURRENT) + list(STANDIN_CRASH) + [
    "av_thread", "unloaded_filter", "capture_fault", "declined_java", "gs_cookie_mismatch", "gs_seh_except",
    "declined_thread", "minidump", "resumed_then_crash", "stack_overflow", "stack_use", "stack_use_pending"]
CASES = CRASH_CASES + list(QUIET) + list(STANDIN_QUIET) + ["thread_guarantee", "standin_agent_fails"]


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


def run_standin_crash(c):
    case = c.case
    arguments = STANDIN_CRASH[case]
    options = {"standin_listener_hangs": "dir=.,timeout=1000",
               "standin_native_calls": "dir=.,native-calls=io.github.crashagent.testapp.;other.Prefix"}.get(case, "dir=.")
    base = c.standin(arguments, agent=False)
    run = c.standin(arguments, options=options)
    r = c.crash_report(run, *AV, "Java_io_github_crashagent_testapp_CrashNative_nullWrite" if case in (
        "standin_java", "standin_listener_throws", "standin_listener_hangs", "standin_native_wrapper",
        "standin_crash_before_dispatcher", "standin_context") else
        "Java_io_github_crashagent_testapp_CrashNative_nullWriteChecked" if case == "standin_native_calls" else None,
        "write")
    if case == "standin_native_calls":
        calls = r["native_calls"]
        expected = [{"method": NULL_WRITE_CHECKED, "args": [16, 16, 16]}]
        check([{"method": x["method"], "args": x["args"]} for x in calls["thread"]] == expected, f"native_calls {calls}")
        check(calls["process"][0]["thread_id"] == r["thread"]["id"] and len(calls["process"]) == 1,
              f"native_calls {calls}")
        check(calls["thread"][0]["time_ns"] <= 0 and calls["recorded"] == 1 and calls["torn_entries"] == 0,
              f"native_calls {calls}")
        check(r["native_method"] == NULL_WRITE_CHECKED, f"native_method {r['native_method']}")
        check(f" us {NULL_WRITE_CHECKED} (16, 16, 16)\n" in run.read("crashagent_pid*.log"), "the log has no native calls")
        # The same signature as without the thunk: it left no frame behind.
        plain = c.standin(arguments, options="dir=.")
        check(plain.report()["signature"] == r["signature"], f"signature {r['signature']}, without native-calls "
              f"{plain.report()['signature']}")
        check(plain.report()["native_calls"] is None, "native_calls without the option")
    else:
        check(r.get("native_calls") is None, f"native_calls {r.get('native_calls')}")
    c.as_without_agent(run, base)
    check(not base.exists("view.txt"), "the listener was called without the agent")
    check(run.lines("standin: CrashAgent.isActive() = ") == ["true"], "the API did not connect to the agent")
    check(run.lines("standin: CrashAgent.reportDirectory() = ") == [r["report"]["directory"]],
          f"CrashAgent.reportDirectory() {run.lines('standin: CrashAgent.reportDirectory() = ')}, "
          f"the report's {r['report']['directory']}")
    check(int(r["crash"]["fault_address"], 16) == 16, f"fault address {r['crash']['fault_address']}")
    check_jvm_code_frames(run, r, read_view(run), case == "standin_native_wrapper")
    # The listener ran (it writes its view first, whatever its mode) and got what the report says.
    view = read_view(run)
    check_view_matches_report(view, r)
    listeners = [(l["name"], l["outcome"]) for l in r["listeners"]]
    outcome = {"standin_listener_throws": "threw java.lang.IllegalStateException: the listener failed on purpose",
               "standin_listener_hangs": "did not finish"}.get(case, "ok")
    check(listeners == [("io.github.crashagent.testapp.ViewListener", outcome)], f"listeners {listeners}")
    status = "timed_out" if case == "standin_listener_hangs" else "complete"
    check(r["dispatch"]["status"] == status, f"dispatch {r['dispatch']}")
    if case == "standin_context":
        check(r["context"] == {"request": "req-42"}, f"context {r['context']}")
        crumbs = [(b["thread"], b["java_thread_id"], b["message"]) for b in r["breadcrumbs"]]
        check(crumbs == [("main", 1, "req-42")], f"breadcrumbs {r['breadcrumbs']}")
        check(r["context_stats"] == {"breadcrumbs_written": 1, "keys_refused": 0, "torn_entries": 0},
              f"context_stats {r['context_stats']}")
        check("  request = req-42\n" in run.read("crashagent_pid*.log"), "the log has no context")
    else:
        check(r["context"] == {} and r["breadcrumbs"] == [], f"context {r['context']}, {r['breadcrumbs']}")
    if case == "standin_thread":
        # A thread of the library's own: no Java stack, but the listener still runs.
        check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}")
        check(r["thread"]["java"] is False, f"thread {r['thread']}")
        check(r["java_stack"] is None, f"java_stack {r['java_stack']}")
        check("not a Java thread" in (r["java_stack_note"] or ""), f"java_stack_note {r['java_stack_note']}")
        check(r["native_method"] is None, f"native_method {r['native_method']}")
        check(not c.o.hs_err, "hs_err for a thread outside Java calls")
        return
    check(run.rc == 1, f"exit status {run.rc}, expected 1 (the JVM's exit after hs_err)")
    check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    check(r["thread"]["java"] is True and r["thread"]["state"] == "in native", f"thread {r['thread']}")
    check(r["java_stack_note"] is None, f"java_stack_note {r['java_stack_note']}")
    if case == "standin_two_threads":
        check(r["native_method"] == "io.github.crashagent.testapp.CrashNative.nullWriteTogether()V",
              f"native_method {r['native_method']}")
        check(r["thread"]["name"] in ("worker-1", "worker-2"), f"thread {r['thread']}")
        others = r["other_crashes"]
        check(len(others) == 1 and others[0]["code"] == EXCEPTION_ACCESS_VIOLATION
              and others[0]["thread_id"] != r["thread"]["id"], f"other crashes {others}")
        native = "io.github.crashagent.testapp.CrashNative.nullWriteTogether(Native Method)"
    else:
        method = NULL_WRITE_CHECKED if case == "standin_native_calls" else NULL_WRITE
        check(r["thread"]["name"] == "main", f"thread {r['thread']}")
        check(r["native_method"] == method, f"native_method {r['native_method']}")
        check(r["other_crashes"] == [], f"other crashes {r['other_crashes']}")
        native = method.split("(")[0] + "(Native Method)"
    check(view["java_frame"] == [native] + STANDIN_JAVA_FRAMES, f"Java frames {view['java_frame']}")


def run_case(c):
    case = c.case
    if case in FIRST_CHANCE:
        (code, kind), symbol, detail, fault = FIRST_CHANCE[case]
        base = c.baseline()
        run = c.go()
        r = c.crash_report(run, code, kind, symbol, detail)
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
        frames = r["native_frames"]
        if case == "av_java":
            check(r["report"]["minidump"] is None, "a minidump was named without minidump=true")
            check("EXCEPTION_ACCESS_VIOLATION captured" in run.err, "no message on stderr")
        elif case == "execute_data":
            check(int(r["crash"]["pc"], 16) == fault(run), "the pc is not the data page")
            check(r["crash"]["pc_module"] is None, f"pc_module {r['crash']['pc_module']}")
        elif case == "memcpy_null":
            check(basename(r["crash"]["pc_module"]) == "msvcrt.dll", f"pc_module {r['crash']['pc_module']}")
            check(basename(frames[0]["module"]) == "msvcrt.dll", f"first frame {frames[0]}")
        elif case == "nested_java":
            symbols = [f.get("symbol") for f in frames]
            check("nested_java_call" in symbols, f"the outer native method is not on the stack: {symbols}")
            jvm = [i for i, f in enumerate(frames) if basename(f["module"]) == "jvm.dll"]
            outer = symbols.index("nested_java_call")
            check(any(j < outer for j in jvm) and any(j > outer for j in jvm),
                  f"frames are not JNI -> Java -> JNI: {symbols}")
        elif case == "cpp_try":
            check("caught the fault" not in run.out and "caught the fault" not in c.baseline().out,
                  "mingw's catch(...) caught an access violation")
            symbols = [f.get("symbol") for f in frames]
            check("crash_in_cpp_try" in symbols, f"the frame with the C++ handler is not on the stack: {symbols}")
        elif case in ("gs_cookie", "gs_seh_finally", "gs_eh4"):
            frame = {"gs_cookie": "gs_cookie_call", "gs_seh_finally": "gs_seh_finally_call",
                     "gs_eh4": "gs_eh4_call"}[case]
            symbols = [f.get("symbol") for f in frames]
            check(frame in symbols, f"the /GS frame {frame} is not on the stack: {symbols}")
        elif case == "overflow_then_crash":
            check("recursion returned past a stack overflow" in run.out, "the recursion did not return")
        elif case == "heap_locked":
            check("report_under_heap_lock=1" in run.read("heap_lock.txt"),
                  "the report was not complete while another thread held the process heap lock")
        if case not in ("execute_data", "memcpy_null"):
            check(basename(frames[0]["module"]) == "crashlib.dll", f"first frame {frames[:1]}")
    elif case in CONCURRENT:
        count = CONCURRENT[case]
        base = c.baseline()
        run = c.go()
        r = c.crash_report(run, *AV, "crash_av_write")
        c.as_without_agent(run, base)
        others = r["other_crashes"]
        check(len(others) == count - 1, f"{len(others)} other crashes noted, expected {count - 1}: {others}")
        check(all(o["code"] == EXCEPTION_ACCESS_VIOLATION for o in others), "other crash codes")
        ids = {o["thread_id"] for o in others} | {r["thread"]["id"]}
        check(len(ids) == len(others) + 1, f"thread ids {ids}: a thread was noted twice or is the owner")
    elif case == "av_thread":
        base = c.baseline()
        run = c.go()
        c.crash_report(run, *AV, "crash_av_write", "write")
        c.as_without_agent(run, base)
        check(run.rc == EXCEPTION_ACCESS_VIOLATION & 0xFF, f"exit status {run.rc}, expected 5 (access violation)")
        check(run.exists("host_uef_called.txt"), "the previous unhandled-exception filter was not called")
    elif case == "unloaded_filter":
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
    elif case == "capture_fault":
        # The agent's own capture faults (a corrupt export table): no recursion, no second crash
        # of the process; the report still comes, with what was captured, before hs_err.
        base = c.baseline()
        run = c.go()
        r = check_crash_report(run, *AV)
        c.o.report_complete = True
        c.as_without_agent(run, base)
        check("capture faulted" in (r["note"] or ""), f"note {r['note']}")
        check(basename(r["native_frames"][1]["module"]) == "jvm.dll", "frames after the fault lost their modules")
        check("agent_report_present=1" in hs_err(run), "the report was not on disk before hs_err was written")
    elif case in ("declined_java", "gs_cookie_mismatch", "gs_seh_except"):
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
    elif case == "declined_thread":
        base = c.baseline()
        run = c.go()
        r = c.crash_report(run, *AV, "crash_av_write")
        c.as_without_agent(run, base)
        check(run.rc == 5, f"exit status {run.rc}")
        check("unhandled-exception filter" in (r["note"] or ""), f"note {r['note']}")
        check(run.exists("host_uef_called.txt"), "the previous unhandled-exception filter was not called")
    elif case in ("stack_use", "stack_use_pending"):
        # The stack below the faulting rsp that exception dispatch and the agent's VEH use, painted
        # and measured by the host's own handlers around the agent's: a crash reported at first
        # chance (the capture runs on the helper thread) and one kept pending (a frame handler).
        base = c.baseline()
        run = c.go()
        if case == "stack_use":
            c.crash_report(run, *AV, "crash_av_write", "write")
        else:
            r = c.crash_report(run, *AV, "crash_av_write", "write")
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
    elif case == "stack_overflow":
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
    elif case == "resumed_then_crash":
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
    elif case == "minidump":
        base = c.baseline(name="av_java")
        run = c.go(name="av_java", options="dir=.,minidump=true", bound=30)
        r = c.crash_report(run, *AV, "crash_av_write")
        c.as_without_agent(run, base)
        dump = r["report"]["minidump"]
        check(dump and basename(dump).endswith(".dmp"), f"report.minidump {dump}")
        path = os.path.join(run.dir, basename(dump))
        check(os.path.exists(path), f"{dump} does not exist")
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            check(f.read(4) == b"MDMP", "not a minidump")
        check("minidump:" in run.read("crashagent_pid*.log"), "the log does not name the minidump")
        print(f"minidump size: {size} bytes")
    elif case == "thread_guarantee":
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
    elif case in STANDIN_CRASH:
        run_standin_crash(c)
    elif case in STANDIN_QUIET:
        arguments, expected = STANDIN_QUIET[case]
        base = c.standin(arguments, agent=False)
        run = c.standin(arguments)
        c.quiet(run, base)
        check(expected in run.out, f"the process did not go on: {run.out!r}")
        check(not run.exists("view.txt"), "the listener was called")
        check(run.lines("standin: CrashAgent.isActive() = ") == ["true"], "the API did not connect to the agent")
        # VM exit with the dispatcher idle: it leaves native code when asked at VMDeath, so HotSpot's
        # exit never has to wait its 300 ms for it, and the JVMTI memory it was given is returned.
        check(run.lines("standin: exit: ") == ["all 1 agent thread(s) had returned",
                                              "JVMTI memory not deallocated: 0 block(s)"],
              f"the exit: {run.lines('standin: exit: ')}")
        check(sorted(os.listdir(run.dir)) == [], f"files were written: {sorted(os.listdir(run.dir))}")
    elif case == "standin_agent_fails":
        # A bad option: Agent_OnLoad fails, and the JVM stops as HotSpot does.
        run = c.standin(["Java_io_github_crashagent_testapp_CrashNative_identity", "7"], options="dir=.,timeout=soon")
        check(run.rc == 1, f"exit status {run.rc}")
        check("Error occurred during initialization of VM\nagent library failed to init: " in run.err,
              f"no HotSpot message: {run.err!r}")
        check("option 'timeout' has value 'soon'" in run.err and "600000" in run.err, f"the agent's message: {run.err!r}")
        check(run.out == "", f"the application ran: {run.out!r}")
    elif case in QUIET:
        base = c.baseline()
        run = c.go()
        c.o.false_report = bool(run.reports or run.logs)
        c.quiet(run, base)
        expected = QUIET[case]
        if expected:
            check(expected in run.out and "host: continued" in run.out, f"the process did not go on: {run.out!r}")
        if case == "jvm_fatal":
            check(run.rc == 1 and run.exists("hs_err_pid*.log"), "the JVM's own fatal error did not end it")
        elif case == "stop_then_crash":
            check(run.rc == 1, f"exit status {run.rc}")
            check(hs_err(run).splitlines()[0] == hs_err(base).splitlines()[0], "hs_err differs")
            check(run.exists("host_uef_called.txt") == base.exists("host_uef_called.txt"), "filter calls differ")
    else:
        raise Failure(f"unknown case {case}")
    c.o.ok = True


def main():
    global WINE_RUN, HOST, AGENT, VALIDATOR, CRASHLIB_EXPORTS, STANDIN, CRASHLIB
    args = sys.argv[1:]
    if args == ["--list"]:
        print("\n".join(CASES))
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
        print(f"run_case.py: unknown case {case}; the cases are: {' '.join(CASES)}")
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
