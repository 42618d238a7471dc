#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Shows that the JVM stand-in serves the agent as HotSpot does: the same JNI crash, once in a real
JVM and once in the stand-in, both with libcrashagent.so and a listener, must give the listener the
same view and the report the same Java-side fields.

    fidelity.py <jvm_standin> <libcrashagent.so> <libcrashtest.so>

The real JVM is $JAVA_HOME/bin/java (else java on the PATH), running
io.github.crashagent.testapp.ViewApp from $CRASHAGENT_TEST_CLASSPATH: the agent module's test
classes and the crashagent-api classes, nothing else. Maven sets both (cpp/build-native.sh test);
without the class path the test says so and is skipped (exit 77).

What differs by design is left out: the pid and times, absolute addresses, the native frames below
the JNI function (HotSpot's interpreter against the stand-in's libjvm.so) and so the signature,
and the JVM's name. The stand-in is given HotSpot's Java caller frames (--caller), so what is
compared for the Java stack is how the agent reads it through JVMTI: the native method, classes,
methods, source files and line numbers.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def read_view(path):
    view = {"java_frame": [], "native_frame": []}
    with open(path) as f:
        for line in f.read().splitlines():
            key, _, value = line.partition(": ")
            if key in view:
                view[key].append(value)
            else:
                view[key] = value
    return view


def run(args, cwd):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    reports = glob.glob(os.path.join(cwd, "crashagent_pid*.json"))
    if len(reports) != 1 or not os.path.exists(os.path.join(cwd, "view.txt")):
        print(f"FAIL: {args[0]} left {sorted(os.listdir(cwd))}, exit status {p.returncode}:\n{p.stdout}")
        sys.exit(1)
    with open(reports[0]) as f:
        return p.returncode, json.load(f), read_view(os.path.join(cwd, "view.txt")), p.stdout


def java_side(report):
    """The report's fields that come from JVMTI and the Java API, and the crash they are about."""
    crash = report["crash"]
    return {
        "crash.kind": crash["kind"], "crash.code": crash["code"], "crash.module": crash["module"],
        "crash.module_offset": crash["module_offset"], "crash.symbol": crash["symbol"],
        "thread.name": report["thread"]["name"], "thread.java": report["thread"]["java"],
        "thread.state": report["thread"]["state"], "native_method": report["native_method"],
        "java_stack": report["java_stack"], "java_stack_note": report["java_stack_note"],
        "dispatch.status": report["dispatch"]["status"], "listeners": report["listeners"],
        "other_crashes": report["other_crashes"], "origin": report["origin"],
    }


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 64
    standin, agent, crashtest = (os.path.abspath(a) for a in sys.argv[1:])
    classpath = os.environ.get("CRASHAGENT_TEST_CLASSPATH")
    if not classpath:
        print("fidelity.py: CRASHAGENT_TEST_CLASSPATH is not set: this check needs the Java test classes, which "
              "Maven builds (mvn verify sets it); skipped")
        return SKIP
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    hotspot_dir = tempfile.mkdtemp(prefix="crashagent-fidelity-hotspot-")
    standin_dir = tempfile.mkdtemp(prefix="crashagent-fidelity-standin-")
    try:
        hotspot_rc, hotspot, hotspot_view, _ = run(
            [java, f"-agentpath:{agent}=dir={hotspot_dir}", f"-Dcrashagent.testLibrary={crashtest}", "-cp",
             classpath, "io.github.crashagent.testapp.ViewApp", os.path.join(hotspot_dir, "view.txt")],
            hotspot_dir)
        callers = []
        for frame in hotspot_view["java_frame"][1:]:
            callers += ["--caller", frame]
        standin_rc, standin_report, standin_view, standin_out = run(
            [standin, f"-agentpath:{agent}=dir={standin_dir}", crashtest,
             "Java_io_github_crashagent_testapp_CrashNative_nullWrite", "0", "--listener",
             os.path.join(standin_dir, "view.txt")] + callers, standin_dir)

        problems = []
        compared = 0
        for key in ("kind", "origin", "code", "fault_address", "module", "module_offset", "symbol", "thread", "java_thread",
                    "native_method", "java_frame"):
            compared += 1
            if hotspot_view.get(key) != standin_view.get(key):
                problems.append(f"listener {key}: HotSpot {hotspot_view.get(key)!r}, stand-in {standin_view.get(key)!r}")
        for key, value in java_side(hotspot).items():
            compared += 1
            if java_side(standin_report)[key] != value:
                problems.append(f"report {key}: HotSpot {value!r}, stand-in {java_side(standin_report)[key]!r}")
        compared += 1
        if hotspot_rc != standin_rc:
            problems.append(f"exit status: HotSpot {hotspot_rc}, stand-in {standin_rc}")
        for name, directory in (("HotSpot", hotspot_dir), ("stand-in", standin_dir)):
            compared += 1
            if not glob.glob(os.path.join(directory, "hs_err_pid*.log")):
                problems.append(f"{name} wrote no hs_err")
        for view, report, name in ((hotspot_view, hotspot, "HotSpot"), (standin_view, standin_report, "stand-in")):
            compared += 1
            if view.get("report_file") != report["report"]["json"]:
                problems.append(f"{name}: the listener's report file {view.get('report_file')} is not the report")
        if problems:
            print("FAIL: the stand-in and HotSpot differ:\n  " + "\n  ".join(problems))
            print(f"--- stand-in output:\n{standin_out}")
            return 1
        print(f"PASS: {compared} fields agree between HotSpot ({hotspot['jvm']['version']}) and the stand-in: "
              f"{hotspot_view['native_method']}, {len(hotspot_view['java_frame'])} Java frames, "
              f"listener {hotspot['listeners'][0]['outcome']}, dispatch {hotspot['dispatch']['status']}, "
              f"exit status {hotspot_rc}")
        return 0
    finally:
        if "KEEP" not in os.environ:
            shutil.rmtree(hotspot_dir, ignore_errors=True)
            shutil.rmtree(standin_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
