#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The agent's dispatcher thread and the JVM's life, through the JVM stand-in on Linux:

- a JVM that exits with the dispatcher idle: when the exit waits for threads in native code
  (HotSpot: up to 300 ms), the dispatcher has returned already, also when it was not yet scheduled
  at VMDeath; nothing is written and the JVMTI memory it was given is returned;
- a JVM that crashes in JNI code before the dispatcher thread was first scheduled: the crashing
  thread's hand-off still reaches it, and the listener runs.

    late_dispatcher.py <jvm_standin> <libcrashagent.so> <libcrashtest.so>
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile


def run(args):
    work = tempfile.mkdtemp(prefix="crashagent-late-dispatcher-")
    p = subprocess.run(args, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return work, p.returncode, p.stdout


def fail(what, output):
    print(f"FAIL: {what}\n{output}")
    sys.exit(1)


def main():
    standin, agent, library = sys.argv[1:4]
    for late in ([], ["--agent-threads-start-late"]):
        mode = "scheduled late" if late else "scheduled at once"
        work, rc, out = run([standin, f"-agentpath:{agent}=dir=.", library,
                             "Java_io_github_crashagent_testapp_CrashNative_add", "1",
                             "--method", "io.github.crashagent.testapp.CrashNative.add(II)I"] + late)
        files = os.listdir(work)
        shutil.rmtree(work, ignore_errors=True)
        if rc != 0:
            fail(f"idle exit, {mode}: exit status {rc}", out)
        if "standin: exit: all 1 agent thread(s) had returned\n" not in out:
            fail(f"idle exit, {mode}: the dispatcher was still in native code at the exit", out)
        if "standin: exit: JVMTI memory not deallocated: 0 block(s)\n" not in out:
            fail(f"idle exit, {mode}: JVMTI memory was not deallocated", out)
        if files:
            fail(f"idle exit, {mode}: files were written: {files}", out)

    work, rc, out = run([standin, f"-agentpath:{agent}=dir=.", library,
                         "Java_io_github_crashagent_testapp_CrashNative_nullWrite", "0", "--listener", "view.txt",
                         "--agent-threads-start-late"])
    try:
        reports = glob.glob(os.path.join(work, "crashagent_pid*.json"))
        if len(reports) != 1:
            fail(f"crash before the dispatcher ran: {len(reports)} reports, exit status {rc}", out)
        with open(reports[0]) as f:
            report = json.load(f)
        if report["dispatch"]["status"] != "complete" or \
                [l["outcome"] for l in report["listeners"]] != ["ok"] or \
                not os.path.exists(os.path.join(work, "view.txt")):
            fail(f"crash before the dispatcher ran: dispatch {report['dispatch']}, listeners {report['listeners']}, "
                 f"files {sorted(os.listdir(work))}", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS: the dispatcher serves a crash and leaves at the exit, scheduled at once and scheduled late")
    return 0


if __name__ == "__main__":
    sys.exit(main())
