#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What registering a crash listener adds to a JVM's startup, without and with the agent loaded.
#   bench/startup.sh [rounds=21]
# Variants, each a whole JVM run timed from start to exit (monotonic clock, ns):
#   a  bench/startup/OneLine.java      prints one line
#   b  bench/startup/OneListener.java  CrashAgent.addListener(one listener), then prints the line
# both once without and once with -agentpath:libcrashagent.so, plus, for reference, b with a lambda
# listener (bench/startup/OneLambdaListener.java). The class path is a jar of those mains and the
# crashagent-api jar, nothing else: no Jackson. Every round runs every variant once, in an order
# that rotates from round to round, after one warm-up round that is not counted. Prints the median
# of each variant, the median over rounds of b - a (paired: same round, same machine state), the
# ratio of the medians b / a, and what loading the agent itself costs (a with agent - a without);
# the same for the CPU time of the JVM (user + sys), which a busy machine disturbs less.
# Then the classes a and b load (-Xlog:class+load), which no busy machine disturbs, and the names
# of those b adds. Progress (each round's wall times) goes to stderr.
# Needs the API jar and the agent built first:
#   mvn -B -q -DskipTests -Dcrashagent.windows=false -pl java-api,agent -am package
# Uses $JAVA_HOME/bin/java and javac when JAVA_HOME is set, else those on the PATH; and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-21}
build="mvn -B -q -DskipTests -Dcrashagent.windows=false -pl java-api,agent -am package"
agent="$root/agent/target/native/linux-x86_64/libcrashagent.so"
api=$(ls "$root"/java-api/target/crashagent-api-*.jar 2>/dev/null | grep -v -e '-sources' -e '-javadoc' | head -1 || true)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
javac=${JAVA_HOME:+$JAVA_HOME/bin/}javac
jar=${JAVA_HOME:+$JAVA_HOME/bin/}jar
[ -f "$agent" ] || { echo "no $agent: build it with: $build" >&2; exit 1; }
[ -n "$api" ] || { echo "no crashagent-api jar in $root/java-api/target: build it with: $build" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed to time the runs" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/classes" "$work/reports"
"$javac" -d "$work/classes" -cp "$api" "$root"/bench/startup/*.java
# A jar, as applications ship: the JDK's jar reading is then loaded in every variant, and b pays
# only for opening one more jar, not for the first one.
"$jar" --create --file "$work/bench.jar" -C "$work/classes" .

echo "java: $("$java" -version 2>&1 | head -1)"
echo "class path: bench.jar (the mains) and $(basename "$api"), no Jackson"
python3 - "$java" "$agent" "$work/bench.jar:$api" "$work/reports" "$rounds" <<'PY'
import os, statistics, subprocess, sys, time

java, agent, class_path, reports, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
variants = [  # name, main class, with agent
    ("a", "OneLine", False), ("b", "OneListener", False), ("lambda", "OneLambdaListener", False),
    ("a+agent", "OneLine", True), ("b+agent", "OneListener", True), ("lambda+agent", "OneLambdaListener", True),
]

def run(main, with_agent):
    """Wall time (monotonic) and CPU time (user + sys of the JVM), both in ns."""
    command = [java] + (["-agentpath:%s=dir=%s" % (agent, reports)] if with_agent else []) + ["-cp", class_path, main]
    out, err = os.path.join(reports, "stdout"), os.path.join(reports, "stderr")
    with open(out, "wb") as o, open(err, "wb") as e:
        start = time.monotonic_ns()
        p = subprocess.Popen(command, stdout=o, stderr=e, cwd=reports)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic_ns() - start
    exit_code = os.waitstatus_to_exitcode(status)
    with open(out, "rb") as o, open(err, "rb") as e:
        stdout, stderr = o.read(), e.read()
    if exit_code != 0 or stdout != b"started\n" or stderr:
        sys.exit("FAIL: %s exited %d\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(command), exit_code, stdout.decode(errors="replace"), stderr.decode(errors="replace")))
    return wall, round((usage.ru_utime + usage.ru_stime) * 1e9)

wall = {name: [] for name, _, _ in variants}
cpu = {name: [] for name, _, _ in variants}
load_before = os.getloadavg()[0]
for r in range(rounds + 1):
    order = variants[r % len(variants):] + variants[:r % len(variants)]
    for name, main, with_agent in order:
        w, c = run(main, with_agent)
        if r > 0:  # round 0 warms the page cache; not counted
            wall[name].append(w)
            cpu[name].append(c)
    if r > 0:
        print("round %d: %s" % (r, ", ".join("%s %.1f" % (n, wall[n][-1] / 1e6) for n, _, _ in variants)),
              file=sys.stderr)
if any(f.startswith("crashagent_pid") for f in os.listdir(reports)):
    sys.exit("FAIL: the agent reported a crash during the benchmark")

def table(title, times):
    ms = lambda ns: ns / 1e6
    med = {n: statistics.median(v) for n, v in times.items()}
    paired = lambda x, y: statistics.median(b - a for a, b in zip(times[x], times[y]))
    print(title)
    print("  %-38s %15s %15s" % ("", "without agent", "with agent"))
    print("  %-38s %12.1f ms %12.1f ms" % ("a: print one line", ms(med["a"]), ms(med["a+agent"])))
    print("  %-38s %12.1f ms %12.1f ms" % ("b: add a listener, then print", ms(med["b"]), ms(med["b+agent"])))
    print("  %-38s %+12.1f ms %+12.1f ms" % ("delta b - a (median of paired runs)", ms(paired("a", "b")),
                                             ms(paired("a+agent", "b+agent"))))
    print("  %-38s %15.3f %15.3f" % ("ratio b / a (of the medians)", med["b"] / med["a"], med["b+agent"] / med["a+agent"]))
    print("  loading the agent itself (a with - a without, paired): %+.1f ms, ratio %.3f"
          % (ms(paired("a", "a+agent")), med["a+agent"] / med["a"]))
    print("  for reference, a lambda listener instead (lambda - a, paired): %+.1f ms without agent, %+.1f ms with"
          % (ms(paired("a", "lambda")), ms(paired("a+agent", "lambda+agent"))))

def classes(main, with_agent):
    """The classes a run loads, from -Xlog:class+load: a count that no busy machine disturbs."""
    log = os.path.join(reports, "classes.log")
    command = [java] + (["-agentpath:%s=dir=%s" % (agent, reports)] if with_agent else []) + [
        "-Xlog:class+load:file=" + log, "-cp", class_path, main]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd=reports)
    with open(log) as f:
        return {line.split()[1] for line in f if "class,load" in line}

print("%d rounds, each running the %d variants once in rotating order; load average %.1f before, %.1f after"
      % (rounds, len(variants), load_before, os.getloadavg()[0]))
table("wall time per JVM run, median:", wall)
table("CPU time (user + sys) per JVM run, median; steadier than wall time on a busy machine:", cpu)
a, b = classes("OneLine", False), classes("OneListener", False)
print("classes loaded without agent: a %d, b %d; b also loads: %s" % (
    len(a), len(b), ", ".join(sorted(b - a - {"OneListener"}))))
print("classes loaded with agent: a %d, b %d" % (len(classes("OneLine", True)), len(classes("OneListener", True))))
PY
